/*
 * fs/notify.h - telling the kernel that what it cached is no longer so.
 *
 * After a change made through clerkfs, every inode that shows the changed
 * object is invalidated at once (read-your-writes through every path and
 * alias).  Directory entries are invalidated from a thread of their own:
 * the kernel takes the parent directory's lock for that, and an operation
 * in that directory may hold it.
 */
#ifndef CLERKFS_FS_NOTIFY_H
#define CLERKFS_FS_NOTIFY_H

#include "fs/fs.h"

void notify_start(struct clerkfs *fs);
void notify_stop(struct clerkfs *fs);

/*
 * Invalidates the attributes and cached data of every inode about object
 * id, except skip (the inode an operation in progress holds; 0 for none).
 */
void notify_object(struct clerkfs *fs, const char *id, fuse_ino_t skip);

/* Queues the invalidation of name in parent. */
void notify_entry(struct clerkfs *fs, fuse_ino_t parent, const char *name);

/*
 * Queues the invalidation of every name in users/ (or orgs/) that answers
 * to the user (or organization) obj: its id, email addresses, phone
 * numbers and username (or slug).  A name looked up and not found before
 * the object was made or renamed then finds it at once.
 */
void notify_names(struct clerkfs *fs, const cJSON *obj);

#endif
