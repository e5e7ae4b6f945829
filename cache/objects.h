/*
 * cache/objects.h - Clerk objects through the cache.
 *
 * Each function returns a referenced cache entry (release it with
 * cache_unref) holding what the API said, fetching it when the cache has
 * nothing fresh: one request in flight per key, list pages filling the
 * cache of every object in them.  Listings page at page_size (500, the
 * API's maximum) and fetch pages in parallel when the total is known.
 *
 * Keys: "user/<id>", "org/<id>", "session/<id>", "users" (array of ids,
 * newest first), "orgs" (array of ids), "user-orgs" (object: user id ->
 * array of organization ids, from one paged instance-wide membership
 * listing), "members/<org id>" (array of memberships), "sessions/<user id>"
 * (array of sessions), "alias/<kind>/<value>" (a string: the id).
 */
#ifndef CLERKFS_CACHE_OBJECTS_H
#define CLERKFS_CACHE_OBJECTS_H

#include "api/api.h"
#include "cache/cache.h"

struct objects {
	struct api *api;
	struct cache *cache;
	int page_size;
	int page_workers;	/* pages fetched at once */

	/*
	 * The order of the last users listing, kept past the cache's TTL
	 * and budget: it only tells which users to read ahead (objects.c).
	 */
	GMutex order_lock;
	GPtrArray *order;	/* user ids, owned */
	GHashTable *position;	/* id (borrowed from order) -> index + 1 */

	/*
	 * Users being fetched, alone or in a batch: a thread that wants one
	 * waits for that fetch, and a new batch leaves them out.
	 */
	GMutex batch_lock;
	GCond batch_done;	/* ids left fetching */
	GHashTable *fetching;	/* user ids, owned */
};

void objects_init(struct objects *o, struct api *api, struct cache *cache,
		  int page_size);
void objects_release(struct objects *o);

enum alias_kind {
	ALIAS_EMAIL,
	ALIAS_PHONE,
	ALIAS_USERNAME,
	ALIAS_SLUG,
};

int objects_user(struct objects *o, const char *id, struct cache_entry **out);
int objects_user_ids(struct objects *o, struct cache_entry **out);
int objects_org(struct objects *o, const char *id, struct cache_entry **out);
int objects_org_ids(struct objects *o, struct cache_entry **out);
int objects_user_orgs(struct objects *o, struct cache_entry **out);
int objects_org_members(struct objects *o, const char *org_id,
			struct cache_entry **out);
int objects_user_sessions(struct objects *o, const char *user_id,
			  struct cache_entry **out);
int objects_session(struct objects *o, const char *id,
		    struct cache_entry **out);

/*
 * Resolves an alias (an email address, a phone number, a username, or an
 * organization slug) to the object's id.  Returns 0 with a newly allocated
 * id in *id (the caller frees it), or a negative errno (-ENOENT when no
 * object has it).
 */
int objects_resolve(struct objects *o, enum alias_kind kind,
		    const char *value, char **id);

/*
 * Pages through a listing at path (a bare array, or Clerk's {data,
 * total_count} envelope), handing each page to on_page in any order with
 * its page number.  count_path, when not NULL, gives the total for bare
 * arrays (e.g. "/users/count"), so the remaining pages can be fetched in
 * parallel.  query holds the listing's filters (without limit and offset).
 * When objects were created or deleted while pages were fetched (ids
 * repeat, or do not add up to the total), the listing is taken once more
 * page after page (by cursor on /users, oldest first on envelopes, by
 * offset when the query orders it) and handed out as further pages: a
 * page may repeat ids of earlier ones, so on_page keeps the first of
 * each.  Returns the number of pages or a negative errno.
 */
typedef void (*objects_page_fn)(void *ctx, int page, cJSON *items);
int objects_list(struct objects *o, const char *path, const char *route,
		 const char *query, const char *count_path,
		 objects_page_fn on_page, void *ctx);

#endif
