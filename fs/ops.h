/*
 * fs/ops.h - what the FUSE operations of fs/ops.c and fs/write.c share:
 * open files and the small steps every operation starts with.
 */
#ifndef CLERKFS_FS_OPS_H
#define CLERKFS_FS_OPS_H

#include "fs/fs.h"

struct scratch;
struct search_file;

/*
 * An open file.  Exactly one of content (an attribute), scratch or search
 * is set.  A read-only open holds the bytes it showed when opened; an open
 * for writing holds the writer's bytes, and the object as the open found
 * it (base), against which a save is compared.
 */
struct open_file {
	GMutex lock;
	struct node *node;		/* referenced */
	GString *content;
	struct scratch *scratch;	/* referenced */
	struct search_file *search;
	cJSON *base;
	bool writing;			/* opened for writing an attribute */
	bool dirty;			/* changed since opened or saved */
	bool pending;			/* a file that creates an object */
	int refused;			/* errno of a save refused for good */
};

static inline bool ops_interrupted(void *req)
{
	return fuse_req_interrupted(req);
}

/*
 * The mount of a request.  Every operation starts with it, and so also
 * makes the requests it sends give up with EINTR when the caller is
 * interrupted (Ctrl-C) while they wait.
 */
static inline struct clerkfs *fs_of(fuse_req_t req)
{
	api_set_interrupt(ops_interrupted, req);
	return fuse_req_userdata(req);
}

static inline struct open_file *open_file_of(struct fuse_file_info *fi)
{
	return (struct open_file *)(uintptr_t)fi->fh;
}

/* A change refused: EROFS on a read-only mount, else err. */
int ops_refuse(struct clerkfs *fs, int err);

/* Replies to a lookup-like request with the entry of a new child. */
void ops_reply_entry(fuse_req_t req, struct clerkfs *fs, fuse_ino_t parent,
		     const char *name, const struct node_spec *spec);

/* Replies with the attributes of ino, or the error getting them. */
void ops_reply_attr(fuse_req_t req, struct clerkfs *fs, fuse_ino_t ino);

/* Fills st for node, with the size of unsaved bytes when there are. */
int ops_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
	     double *ttl);

/* ---- fs/write.c ---- */
int write_open(struct clerkfs *fs, struct node *node,
	       struct fuse_file_info *fi);
void write_release(struct clerkfs *fs, struct open_file *fh);

void write_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi);
void write_op_flush(fuse_req_t req, fuse_ino_t ino,
		    struct fuse_file_info *fi);
void write_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi);
void write_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi);
void write_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi);
void write_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev);
void write_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name);
void write_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags);
/* mkdir and rmdir of users and organizations (fs/write.c). */
int write_mkdir(struct clerkfs *fs, struct node *dir, const char *name,
		struct node_spec *spec);
int write_rmdir(struct clerkfs *fs, struct node *dir, const char *name);
/* Refuses a link or symbolic link in dir, saying where to go instead. */
int write_refuse_link(struct clerkfs *fs, struct node *dir, const char *name);
void write_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname);

#endif
