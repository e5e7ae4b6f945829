/*
 * fs/create.h - creating and deleting Clerk objects through the tree
 * (DESIGN.md's operation table): users, organizations, members, email
 * addresses and sessions.
 *
 * Each function returns 0 or a negative errno and, on failure, writes in
 * why (SAVE_WHY_MAX bytes) a sentence a person can act on.  A create whose
 * outcome is unknown (the connection dropped after sending) is looked up
 * by its unique key and sent again only if absent; without a unique key it
 * fails with EIO and is never sent again.  After a change the cache holds
 * the API's reply and forgets the lists the change affects.
 */
#ifndef CLERKFS_FS_CREATE_H
#define CLERKFS_FS_CREATE_H

#include "fs/fs.h"

/* What a file created in a collection directory will become. */
enum pending_kind {
	PENDING_NONE,
	PENDING_USER,		/* users/<name>.json: the body of a new user */
	PENDING_ORG,		/* orgs/<name>.json */
	PENDING_SESSION,	/* sessions/<user>/<any name> */
	PENDING_EMAIL,		/* email_addresses/<user>/<address> */
	PENDING_MEMBER,		/* members/<org>/<user id> */
};

/* mkdir users/<email or +phone>: a user with that identifier. */
int create_user_named(struct clerkfs *fs, const char *name, char **id,
		      char *why);
/* mkdir orgs/<slug>: an organization of that name and slug. */
int create_org_named(struct clerkfs *fs, const char *name, char **id,
		     char *why);

/*
 * Commits a pending file.  owner is the user (sessions, email addresses)
 * or organization (members) of its directory, name its file name, text the
 * bytes written (may be empty).  *new_id, when not NULL, gets the id of
 * what was made (the email address's idn_ id); the caller frees it.
 */
int create_pending(struct clerkfs *fs, enum pending_kind kind,
		   const char *owner, const char *name, const char *text,
		   size_t len, char **new_id, char *why);

/* echo ROLE > members/<org>/<user>: the role of an existing member. */
int create_member_role(struct clerkfs *fs, const char *org,
		       const char *user, const char *text, size_t len,
		       char *why);

/* Saves an email address file: its verified and primary values. */
int create_email_update(struct clerkfs *fs, const char *user,
			const char *idn, const char *text, size_t len,
			char *why);

int delete_user(struct clerkfs *fs, const char *id, char *why);
int delete_org(struct clerkfs *fs, const char *id, char *why);
int delete_member(struct clerkfs *fs, const char *org, const char *user,
		  char *why);
int delete_email(struct clerkfs *fs, const char *user, const char *idn,
		 char *why);
/* Revokes an active or pending session (ENOENT for any other). */
int revoke_session(struct clerkfs *fs, const char *id, char *why);

#endif
