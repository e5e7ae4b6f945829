/*
 * fs/clock.h - the modification time of a user's files, kept moving
 * forward whenever their bytes change.
 *
 * A user's files take the time of Clerk's updated_at, except around a
 * lock: while it counts down (lockout_expires_in_seconds) the bytes change
 * at every fetch, and when it ends by itself the user reads unlocked with
 * updated_at unchanged.  The clock shows the fetch time meanwhile, and
 * remembers the time the end was first seen until updated_at passes it,
 * so that the time never goes back.
 */
#ifndef CLERKFS_FS_CLOCK_H
#define CLERKFS_FS_CLOCK_H

#include "fs/fs.h"

void clock_init(struct clerkfs *fs);
void clock_release(struct clerkfs *fs);

/*
 * The time, in ms since the epoch, of the files that show user entry
 * (a cached user object, borrowed for the call).
 */
long long clock_user_mtime(struct clerkfs *fs, const struct cache_entry *user);

#endif
