/*
 * fs/search.c - search directories (being written).
 */
#include "fs/search.h"

#include <errno.h>

void search_init(struct clerkfs *fs) { }
void search_release(struct clerkfs *fs) { }
int search_lookup(struct clerkfs *fs, const struct node *dir,
		  const char *name, struct node_spec *spec) { return -ENOENT; }
int search_list(struct clerkfs *fs, const struct node *dir,
		GPtrArray *entries) { return 0; }
int search_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
		double *ttl) { return -ENOENT; }
int search_mkdir(struct clerkfs *fs, const struct node *dir,
		 const char *name, struct node_spec *spec) { return -EPERM; }
int search_rmdir(struct clerkfs *fs, const struct node *dir,
		 const char *name) { return -EPERM; }
int search_open(struct clerkfs *fs, const struct node *node,
		struct search_file **out, bool *direct_io) { return -ENOENT; }
ssize_t search_read(struct search_file *file, char *buf, size_t size,
		    off_t off) { return -EIO; }
void search_close(struct search_file *file) { }
