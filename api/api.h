/*
 * api/api.h - the Clerk Backend API client.
 *
 * One struct api per mount, shared by every FUSE thread.  Each thread keeps
 * its own libcurl easy handle; all of them share one connection pool, so
 * connections are reused across threads.  Every request goes through the
 * sliding-window limiter (and the user-creation limiter for POST /users),
 * carries the bearer key and Clerk-API-Version, and is retried as DESIGN.md
 * says: idempotent requests on 429, 5xx and connection failures, a POST only
 * on 429 or when nothing was sent.  Replies are parsed with api/json.h, so
 * numbers keep their digits.
 *
 * HTTP statuses become errno values here and nowhere else.
 */
#ifndef CLERKFS_API_API_H
#define CLERKFS_API_API_H

#include <stdbool.h>
#include <stddef.h>
#include <cjson/cJSON.h>
#include <glib.h>

#include "api/limiter.h"

#define CLERK_API_VERSION "2026-05-12"

struct api_config {
	const char *base_url;	/* e.g. "https://api.clerk.com/v1" */
	const char *key;	/* the secret key; never logged */
	double timeout;		/* each operation's deadline, seconds */
	double connect_timeout;	/* seconds */
	int rate_max;		/* requests per rate_window */
	double rate_window;
	int create_max;		/* user creations per create_window */
	double create_window;
};

struct api_stats {
	unsigned long requests;
	unsigned long retries;
	unsigned long rate_limited;	/* 429 answers received */
	unsigned long failures;
	GHashTable *by_route;		/* "GET /users/{user_id}" -> count */
};

struct api;

/*
 * One request and its outcome.  The caller fills the first part; api_call
 * fills the second.  path is relative to the base URL and already
 * percent-encoded ("/users/user_2x"); query is a query string without '?'
 * or NULL; route is the path template used for statistics.
 */
struct api_call {
	const char *method;
	const char *path;
	const char *query;
	const char *route;
	const cJSON *body;
	bool creates_user;	/* also counts against the creation limit */
	bool reported;		/* the caller logs a failure: no warning */
	bool silent;		/* ...and a refused key too: no line at all */
	double deadline;	/* limiter_now() seconds */

	long status;		/* last HTTP status, 0 when none */
	cJSON *reply;		/* parsed 2xx body; the caller frees it */
	bool maybe_applied;	/* a POST whose outcome is unknown */
	bool sent;		/* a request went out, even if abandoned */
	char error[640];	/* why it failed, for a person to read */
};

/*
 * Creates a client.  cfg's strings are copied.  Returns NULL when libcurl
 * cannot be set up.  Free with api_free.
 */
struct api *api_new(const struct api_config *cfg);
void api_free(struct api *api);

/*
 * Sends call, waiting for the limiter and retrying as allowed until the
 * deadline.  Returns 0 with call->reply set, or a negative errno with
 * call->error saying why (Clerk's message and trace id where it gave them).
 */
int api_call(struct api *api, struct api_call *call);

/*
 * The calling thread's requests stop waiting, and end with -EINTR, when
 * interrupted(arg) returns true (the caller pressed Ctrl-C).  The check
 * stays set for the thread until replaced; NULL clears it.
 */
typedef bool (*api_interrupted_fn)(void *arg);
void api_set_interrupt(api_interrupted_fn interrupted, void *arg);

/* A deadline timeout seconds from now, from the client's configuration. */
double api_deadline(const struct api *api);

/* Writes a summary of the statistics into out (for .clerkfs/stats). */
void api_stats_format(struct api *api, GString *out);

/* The host name of the base URL (the mount's fsname). */
const char *api_host(const struct api *api);

/* true for a production instance (an sk_live_ key). */
bool api_is_production(const struct api *api);

/*
 * The errno for an HTTP status and Clerk error code, as DESIGN.md's table
 * says.  method decides between EEXIST and EBUSY for 409.
 */
int api_status_errno(long status, const char *code, const char *method);

/*
 * Appends to q a query parameter with its value percent-encoded, preceded
 * by '&' when q is not empty.
 */
void api_query_add(GString *q, const char *key, const char *value);

/* Returns a newly allocated percent-encoding of s (all but unreserved). */
char *api_escape(const char *s);

#endif
