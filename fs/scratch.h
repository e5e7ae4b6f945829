/*
 * fs/scratch.h - scratch files: what editors and in-place tools leave next
 * to the file they save (vim's swap, probe and backup files, nano's lock,
 * sed's temporary file).  They live in memory inside object directories,
 * never reach the API, count against a total budget (ENOSPC past it), and
 * vanish at unmount.  A scratch file is named by its directory's key
 * ("user/<id>", "org/<id>", "members/<org id>") and its name.
 */
#ifndef CLERKFS_FS_SCRATCH_H
#define CLERKFS_FS_SCRATCH_H

#include "fs/fs.h"

#define SCRATCH_BUDGET (64u << 20)

struct scratch;

void scratch_init(struct clerkfs *fs);
void scratch_release(struct clerkfs *fs);

/* The scratch key of an object directory node, or NULL; caller frees. */
char *scratch_dir_key(const struct node *dir);

/*
 * Creates an empty scratch file; -EEXIST when there is one.  Returns it
 * referenced in *out when out is not NULL.
 */
int scratch_create(struct clerkfs *fs, const char *dir, const char *name,
		   mode_t mode, struct scratch **out);
/* The scratch file, referenced, or NULL. */
struct scratch *scratch_find(struct clerkfs *fs, const char *dir,
			     const char *name);
void scratch_put(struct clerkfs *fs, struct scratch *s);
int scratch_remove(struct clerkfs *fs, const char *dir, const char *name);
/* Renames within a directory, replacing any scratch file at newname. */
int scratch_rename(struct clerkfs *fs, const char *dir, const char *name,
		   const char *newname);
/* Creates or replaces name with a copy of bytes. */
int scratch_store(struct clerkfs *fs, const char *dir, const char *name,
		  const char *bytes, size_t len);
/* Appends the directory's scratch names as regular files. */
void scratch_list(struct clerkfs *fs, const char *dir, GPtrArray *entries);

/* The bytes that scratch files hold, out of SCRATCH_BUDGET. */
size_t scratch_used(struct clerkfs *fs);

/* Reading, writing and attributes of a referenced scratch file. */
ssize_t scratch_read(struct clerkfs *fs, struct scratch *s, char *buf,
		     size_t size, off_t off);
ssize_t scratch_write(struct clerkfs *fs, struct scratch *s,
		      const char *buf, size_t size, off_t off);
int scratch_truncate(struct clerkfs *fs, struct scratch *s, off_t size);
/* A copy of the content; caller frees. */
GString *scratch_content(struct clerkfs *fs, struct scratch *s);
void scratch_stat(struct clerkfs *fs, struct scratch *s, struct stat *st);
/* Applies chmod, chown and times from a setattr. */
void scratch_setattr(struct clerkfs *fs, struct scratch *s,
		     const struct stat *attr, int to_set);

#endif
