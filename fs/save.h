/*
 * fs/save.h - turning what a writer saved into Backend API calls
 * (DESIGN.md, "What each operation does" and "When a write takes effect").
 *
 * Each function returns 0 or a negative errno, and on failure writes into
 * why a sentence a person can act on (the parse error with its line and
 * column, the field that cannot be written, Clerk's message and trace id).
 * On success the cache holds the object as the API returned it; after a
 * failure that may have been applied (save_outcome_unknown) the cache no
 * longer holds the object, so the next read fetches the remote truth.
 */
#ifndef CLERKFS_FS_SAVE_H
#define CLERKFS_FS_SAVE_H

#include "fs/fs.h"

#define SAVE_WHY_MAX 1024

/*
 * Commits the text of a JSON attribute file (profile.json,
 * organization.json, a metadata file).  base is the object as the
 * writer's open found it (may be NULL): profile.json and organization.json
 * send only the fields that differ from it.
 */
int save_json(struct clerkfs *fs, const struct node *node, const char *text,
	      size_t len, const cJSON *base, char *why);

/*
 * Commits a single-value file at its write: "true"/"false" to banned and
 * locked.  Trailing white space is ignored.
 */
int save_value(struct clerkfs *fs, const struct node *node, const char *text,
	       size_t len, char *why);

/*
 * Whether a save that failed with err may have been applied anyway: the
 * connection dropped, the server failed (5xx), or the deadline passed
 * while a request was out.
 */
bool save_outcome_unknown(int err);

/* Whether the node is a file whose save happens at write (sysfs-like). */
bool save_at_write(const struct node *node);

#endif
