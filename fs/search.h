/*
 * fs/search.h - search directories: every Find of the Backend API as
 * generated files (DESIGN.md, "Search directories").
 *
 * Nodes: NODE_SEARCH_RES is search/<resource>/ (id: "users", "orgs" or
 * "sessions"); NODE_SEARCH_QUERY is a query directory under it (id: the
 * resource, sub: the query string as named); NODE_SEARCH_FILE is a result
 * file (id: the resource, sub: the query string, "" for no filter, attr:
 * which file).
 *
 * The tree (fs/tree.c) and the FUSE glue (fs/ops.c) call these for those
 * kinds only.  All return 0 or a negative errno.
 */
#ifndef CLERKFS_FS_SEARCH_H
#define CLERKFS_FS_SEARCH_H

#include <sys/types.h>

#include "fs/fs.h"

struct search_file;	/* an open result file */

/* The search state of a mount; set up before the session starts. */
void search_init(struct clerkfs *fs);
void search_release(struct clerkfs *fs);

int search_lookup(struct clerkfs *fs, const struct node *dir,
		  const char *name, struct node_spec *spec);
int search_list(struct clerkfs *fs, const struct node *dir,
		GPtrArray *entries);
/* Attributes of a query directory or a result file. */
int search_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
		double *ttl);

/* mkdir and rmdir of a query directory in dir (a NODE_SEARCH_RES). */
int search_mkdir(struct clerkfs *fs, const struct node *dir,
		 const char *name, struct node_spec *spec);
int search_rmdir(struct clerkfs *fs, const struct node *dir,
		 const char *name);

/*
 * Opens a result file: *direct_io tells whether the kernel must read it
 * without its page cache (results.ndjson, streamed).  The handle is freed
 * by search_close.
 */
int search_open(struct clerkfs *fs, const struct node *node,
		struct search_file **out, bool *direct_io);
/* Reads up to size bytes at off into buf; returns the count or -errno. */
ssize_t search_read(struct search_file *file, char *buf, size_t size,
		    off_t off);
void search_close(struct search_file *file);

/*
 * Names the thread that sent the request being served (the FUSE request's
 * pid), or 0 after it.  The FUSE glue sets it around a lookup: the kernel
 * answers EEXIST to mkdir of any name that lookup resolves, and every
 * valid query name resolves, so search_lookup answers "absent" for a query
 * not yet made when its caller is inside mkdir(2), and the kernel then
 * calls search_mkdir.  Thread-local.
 */
void search_set_caller(pid_t tid);

#endif
