/*
 * fs/ops.c - the FUSE low-level operations of the read side, and the table
 * of all operations (the write side is fs/write.c).
 *
 * Each operation reads in the same steps: find the node, ask the tree,
 * reply.  Errors from below are negative errno values, replied as they are.
 */
#include "fs/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/statvfs.h>

#include "api/log.h"
#include "fs/scratch.h"
#include "fs/search.h"

/* An open directory: its entries when opened. */
struct open_dir {
	GPtrArray *entries;
};

static void fs_init(void *userdata, struct fuse_conn_info *conn)
{
	if (conn->capable & FUSE_CAP_AUTO_INVAL_DATA)
		conn->want |= FUSE_CAP_AUTO_INVAL_DATA;
	if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC)
		conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
	/* Parallel lookups in one directory (see fs/handshake.h). */
	if (conn->capable & FUSE_CAP_PARALLEL_DIROPS)
		conn->want |= FUSE_CAP_PARALLEL_DIROPS;
	/*
	 * READDIRPLUS hands out the attributes the cache already holds, so
	 * that ls -l, find and grep -r need no lookup per entry; the kernel
	 * asks for it only while its entries get looked up.
	 */
	if (conn->capable & FUSE_CAP_READDIRPLUS_AUTO)
		conn->want |= FUSE_CAP_READDIRPLUS | FUSE_CAP_READDIRPLUS_AUTO;
	else
		conn->want &= ~FUSE_CAP_READDIRPLUS;
}

int ops_refuse(struct clerkfs *fs, int err)
{
	return fs->opts.read_only ? -EROFS : err;
}

int ops_attr(struct clerkfs *fs, const struct node *node, struct stat *st,
	     double *ttl)
{
	struct open_file *fh;
	int ret = tree_attr(fs, node, st, ttl);

	if (ret < 0)
		return ret;
	/* Read-only shows as such: ls -l and test -w need not try. */
	if (fs->opts.read_only && !S_ISLNK(st->st_mode))
		st->st_mode &= ~(mode_t)0222;
	g_mutex_lock(&fs->dirty_lock);
	fh = g_hash_table_lookup(fs->dirty, &node->ino);
	if (fh) {
		st->st_size = (off_t)fh->content->len;
		st->st_blocks = (st->st_size + 511) / 512;
		*ttl = 0;
	}
	g_mutex_unlock(&fs->dirty_lock);
	return 0;
}

/*
 * Directories whose names another directory's change can make or take:
 * an email address added in email_addresses/ names its user in users/,
 * a membership changed in members/ shows in users/<id>/organizations/.
 * The kernel keeps no entry of theirs, positive or negative, and asks
 * again at each use; clerkfs's own cache answers without a request.
 */
static bool names_change_elsewhere(enum node_kind dir_kind)
{
	return dir_kind == NODE_USERS || dir_kind == NODE_ORGS ||
	       dir_kind == NODE_USER_ORGS;
}

static void reply_missing(fuse_req_t req, struct clerkfs *fs,
			  enum node_kind dir_kind)
{
	struct fuse_entry_param e;

	memset(&e, 0, sizeof(e));
	/* A change abandoned after sending may yet make the name. */
	if (cache_unsettled(fs->cache) || names_change_elsewhere(dir_kind))
		e.entry_timeout = 0;
	else
		e.entry_timeout = fs->opts.negative_ttl;
	fuse_reply_entry(req, &e);
}

/*
 * An alias directory (users/<email>, orgs/<slug>, ...): the kernel asks
 * again at every use, which costs no request while the alias is cached,
 * so that a name its object gave up stops resolving at once.
 */
static bool is_alias(const struct node *node)
{
	return (node->kind == NODE_USER || node->kind == NODE_ORG) &&
	       node->id && strcmp(node->name, node->id) != 0;
}

/* Whether the kernel must ask again at each use of this entry. */
static bool entry_is_volatile(const struct node *node)
{
	return is_alias(node) || node->kind == NODE_USER_ORG_LINK;
}

static enum node_kind dir_kind_of(struct clerkfs *fs, fuse_ino_t ino)
{
	struct node *dir = nodes_get(fs, ino);
	enum node_kind kind = dir ? dir->kind : NODE_ROOT;

	nodes_put(fs, dir);
	return kind;
}

/*
 * Fills e for the child name of parent that spec describes: 0 with its
 * node added (one lookup the kernel now holds), or a negative errno with
 * nothing added.
 */
static int fill_entry(struct clerkfs *fs, fuse_ino_t parent,
		      const char *name, const struct node_spec *spec,
		      struct fuse_entry_param *e)
{
	struct node *child = nodes_add(fs, parent, name, spec);
	double ttl = 0;
	int ret = ops_attr(fs, child, &e->attr, &ttl);

	if (ret < 0) {
		nodes_forget(fs, child->ino, 1);
	} else {
		e->ino = child->ino;
		e->attr_timeout = ttl;
		e->entry_timeout = entry_is_volatile(child) ? 0 : ttl;
	}
	nodes_put(fs, child);
	return ret;
}

void ops_reply_entry(fuse_req_t req, struct clerkfs *fs, fuse_ino_t parent,
		     const char *name, const struct node_spec *spec)
{
	struct fuse_entry_param e;
	int ret;

	memset(&e, 0, sizeof(e));
	ret = fill_entry(fs, parent, name, spec, &e);
	if (ret == -ENOENT)
		reply_missing(req, fs, dir_kind_of(fs, parent));
	else if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_entry(req, &e);
}

static void fs_lookup(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	struct node_spec spec;
	enum node_kind kind;
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	/* A search query resolves on lookup, except for its own mkdir. */
	search_set_caller(fuse_req_ctx(req)->pid);
	ret = tree_lookup(fs, dir, name, &spec);
	search_set_caller(0);
	kind = dir->kind;
	nodes_put(fs, dir);

	if (ret == -ENOENT)
		reply_missing(req, fs, kind);
	else if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		ops_reply_entry(req, fs, parent, name, &spec);
	node_spec_clear(&spec);
}

static void fs_forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup)
{
	nodes_forget(fs_of(req), ino, nlookup);
	fuse_reply_none(req);
}

static void fs_forget_multi(fuse_req_t req, size_t count,
			    struct fuse_forget_data *forgets)
{
	for (size_t i = 0; i < count; i++)
		nodes_forget(fs_of(req), forgets[i].ino, forgets[i].nlookup);
	fuse_reply_none(req);
}

void ops_reply_attr(fuse_req_t req, struct clerkfs *fs, fuse_ino_t ino)
{
	struct node *node = nodes_get(fs, ino);
	struct stat st;
	double ttl = 0;
	int ret = node ? ops_attr(fs, node, &st, &ttl) : -ESTALE;

	nodes_put(fs, node);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_attr(req, &st, ttl);
}

static void fs_getattr(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	ops_reply_attr(req, fs_of(req), ino);
}

static void fs_readlink(fuse_req_t req, fuse_ino_t ino)
{
	struct clerkfs *fs = fs_of(req);
	struct node *node = nodes_get(fs, ino);
	char *target = NULL;
	int ret = node ? tree_readlink(fs, node, &target) : -ESTALE;

	nodes_put(fs, node);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_readlink(req, target);
	g_free(target);
}

static void fs_opendir(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct clerkfs *fs = fs_of(req);
	struct node *node = nodes_get(fs, ino);
	struct open_dir *dh;
	int ret;

	if (!node) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	dh = g_new0(struct open_dir, 1);
	dh->entries = g_ptr_array_new_with_free_func(dir_entry_free);
	ret = tree_list(fs, node, dh->entries);
	nodes_put(fs, node);
	if (ret < 0) {
		g_ptr_array_free(dh->entries, TRUE);
		g_free(dh);
		fuse_reply_err(req, -ret);
		return;
	}
	fi->fh = (uint64_t)(uintptr_t)dh;
	fuse_reply_open(req, fi);
}

/*
 * Adds one entry to buf; returns false when it does not fit.  Tools skip
 * entries whose inode number is 0, so a name not looked up yet gets a
 * stand-in number; lookup gives the real one.
 */
static bool add_dirent(fuse_req_t req, GString *buf, size_t size,
		       const char *name, mode_t type, off_t next,
		       fuse_ino_t ino)
{
	struct stat st = { .st_mode = type, .st_ino = ino ? ino : UINT32_MAX };
	size_t need = fuse_add_direntry(req, NULL, 0, name, NULL, 0);

	if (buf->len + need > size)
		return false;
	g_string_set_size(buf, buf->len + need);
	fuse_add_direntry(req, buf->str + buf->len - need, need, name, &st,
			  next);
	return true;
}

static void fs_readdir(fuse_req_t req, fuse_ino_t ino, size_t size,
		       off_t off, struct fuse_file_info *fi)
{
	struct open_dir *dh = (struct open_dir *)(uintptr_t)fi->fh;
	GString *buf = g_string_sized_new(size);
	guint total = dh->entries->len + 2;

	for (off_t i = off; i < (off_t)total; i++) {
		const char *name = i == 0 ? "." : i == 1 ? ".." : NULL;
		mode_t type = S_IFDIR;
		fuse_ino_t child = ino;

		if (!name) {
			struct dir_entry *entry = dh->entries->pdata[i - 2];

			name = entry->name;
			type = entry->type;
			child = nodes_ino_of(fs_of(req), ino, name);
		}
		if (!add_dirent(req, buf, size, name, type, i + 1, child))
			break;
	}
	fuse_reply_buf(req, buf->str, buf->len);
	g_string_free(buf, TRUE);
}

/*
 * Whether a READDIRPLUS of dir hands out its entries' attributes: in the
 * collections, where ls -l, find and grep -r would otherwise look up
 * every object, and whose objects a listing has just cached.  Not in an
 * object's own directory, whose few files are cheaper to look up one by
 * one when asked, nor in search directories, whose result files run a
 * search when stat'ed.
 */
static bool plus_gives_attrs(const struct node *dir)
{
	switch (dir->kind) {
	case NODE_USERS:
	case NODE_ORGS:
	case NODE_MEMBERS:
	case NODE_MEMBERS_ORG:
	case NODE_EMAILS:
	case NODE_EMAILS_USER:
	case NODE_SESSIONS:
	case NODE_SESSIONS_USER:
	case NODE_USER_ORGS:
		return true;
	default:
		return false;
	}
}

/*
 * What a lookup of name would answer, but only from the cache: 0 with the
 * entry's node added (one lookup the kernel now holds) and e filled, or a
 * negative errno, with nothing added.
 */
static int lookup_cached(struct clerkfs *fs, struct node *dir,
			 const char *name, struct fuse_entry_param *e)
{
	struct node_spec spec;
	int ret;

	cache_set_only_cached(true);
	ret = tree_lookup(fs, dir, name, &spec);
	if (ret == 0)
		ret = fill_entry(fs, dir->ino, name, &spec, e);
	cache_set_only_cached(false);
	node_spec_clear(&spec);
	return ret;
}

/*
 * Adds one READDIRPLUS entry to buf, with its attributes when the cache
 * holds them (the kernel then skips the lookup), else as a bare name that
 * the kernel looks up as after a plain readdir.  Returns false when it
 * does not fit; nothing is then added or held.
 */
static bool add_dirent_plus(fuse_req_t req, struct node *dir, GString *buf,
			    size_t size, const struct dir_entry *entry,
			    off_t next)
{
	struct clerkfs *fs = fs_of(req);
	struct fuse_entry_param e;
	size_t need = fuse_add_direntry_plus(req, NULL, 0, entry->name, NULL,
					     0);

	if (buf->len + need > size)
		return false;
	memset(&e, 0, sizeof(e));
	if (!plus_gives_attrs(dir) ||
	    lookup_cached(fs, dir, entry->name, &e) < 0) {
		memset(&e, 0, sizeof(e));
		e.attr.st_mode = entry->type;
		e.attr.st_ino = nodes_ino_of(fs, dir->ino, entry->name);
		if (!e.attr.st_ino)
			e.attr.st_ino = UINT32_MAX;
	}
	g_string_set_size(buf, buf->len + need);
	fuse_add_direntry_plus(req, buf->str + buf->len - need, need,
			       entry->name, &e, next);
	return true;
}

/* "." and "..": the kernel fills in their attributes itself. */
static bool add_dot_plus(fuse_req_t req, GString *buf, size_t size,
			 const char *name, fuse_ino_t ino, off_t next)
{
	struct fuse_entry_param e = { .attr.st_mode = S_IFDIR,
				      .attr.st_ino = ino };
	size_t need = fuse_add_direntry_plus(req, NULL, 0, name, NULL, 0);

	if (buf->len + need > size)
		return false;
	g_string_set_size(buf, buf->len + need);
	fuse_add_direntry_plus(req, buf->str + buf->len - need, need, name,
			       &e, next);
	return true;
}

static void fs_readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size,
			   off_t off, struct fuse_file_info *fi)
{
	struct open_dir *dh = (struct open_dir *)(uintptr_t)fi->fh;
	struct node *dir = nodes_get(fs_of(req), ino);
	GString *buf = g_string_sized_new(size);
	guint total = dh->entries->len + 2;
	bool fits = true;

	if (!dir) {
		g_string_free(buf, TRUE);
		fuse_reply_err(req, ESTALE);
		return;
	}
	for (off_t i = off; fits && i < (off_t)total; i++) {
		if (i < 2)
			fits = add_dot_plus(req, buf, size, i ? ".." : ".",
					    ino, i + 1);
		else
			fits = add_dirent_plus(req, dir, buf, size,
					       dh->entries->pdata[i - 2],
					       i + 1);
	}
	nodes_put(fs_of(req), dir);
	fuse_reply_buf(req, buf->str, buf->len);
	g_string_free(buf, TRUE);
}

static void fs_releasedir(fuse_req_t req, fuse_ino_t ino,
			  struct fuse_file_info *fi)
{
	struct open_dir *dh = (struct open_dir *)(uintptr_t)fi->fh;

	g_ptr_array_free(dh->entries, TRUE);
	g_free(dh);
	fuse_reply_err(req, 0);
}

static int open_search(struct clerkfs *fs, struct node *node,
		       struct fuse_file_info *fi)
{
	struct open_file *fh = g_new0(struct open_file, 1);
	bool direct_io = false;
	int ret = search_open(fs, node, &fh->search, &direct_io);

	if (ret < 0) {
		g_free(fh);
		return ret;
	}
	g_mutex_init(&fh->lock);
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = direct_io;
	fi->keep_cache = 0;
	fi->noflush = 1;	/* nothing to commit at close */
	return 0;
}

/* A read-only open: the bytes the file shows now. */
static int open_reader(struct clerkfs *fs, struct node *node,
		       struct fuse_file_info *fi)
{
	struct open_file *fh;
	GString *content = NULL;
	int ret = tree_read(fs, node, &content);

	if (ret < 0)
		return ret;
	fh = g_new0(struct open_file, 1);
	g_mutex_init(&fh->lock);
	fh->content = content;
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = node->kind == NODE_META_FILE;
	fi->keep_cache = !fi->direct_io;
	fi->noflush = 1;	/* nothing to commit at close */
	return 0;
}

static bool wants_write(const struct fuse_file_info *fi)
{
	return (fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC);
}

static void fs_open(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct clerkfs *fs = fs_of(req);
	struct node *node = nodes_get(fs, ino);
	int ret;

	if (!node) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (node->kind == NODE_SCRATCH || node->kind == NODE_PENDING ||
	    wants_write(fi))
		ret = write_open(fs, node, fi);
	else if (node->kind == NODE_SEARCH_FILE)
		ret = open_search(fs, node, fi);
	else
		ret = open_reader(fs, node, fi);
	nodes_put(fs, node);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		fuse_reply_open(req, fi);
}

static void read_search(fuse_req_t req, struct search_file *file,
			size_t size, off_t off)
{
	char *buf = g_malloc(size);
	ssize_t n = search_read(file, buf, size, off);

	if (n < 0)
		fuse_reply_err(req, (int)-n);
	else
		fuse_reply_buf(req, buf, (size_t)n);
	g_free(buf);
}

static void read_scratch(fuse_req_t req, struct scratch *s, size_t size,
			 off_t off)
{
	char *buf = g_malloc(size);
	ssize_t n = scratch_read(fs_of(req), s, buf, size, off);

	fuse_reply_buf(req, buf, n > 0 ? (size_t)n : 0);
	g_free(buf);
}

static void fs_read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t off,
		    struct fuse_file_info *fi)
{
	struct open_file *fh = open_file_of(fi);
	char *slice;
	size_t len;

	if (fh->search) {
		read_search(req, fh->search, size, off);
		return;
	}
	if (fh->scratch) {
		read_scratch(req, fh->scratch, size, off);
		return;
	}
	/*
	 * Copy, then reply unlocked: once the reply is sent the kernel may
	 * release the handle at once, from another thread.
	 */
	g_mutex_lock(&fh->lock);
	len = fh->content->len;
	len = (size_t)off < len ? MIN(size, len - (size_t)off) : 0;
	slice = g_memdup2(fh->content->str + (len ? off : 0), len);
	g_mutex_unlock(&fh->lock);
	fuse_reply_buf(req, slice, len);
	g_free(slice);
}

static void fs_release(fuse_req_t req, fuse_ino_t ino,
		       struct fuse_file_info *fi)
{
	struct open_file *fh = open_file_of(fi);

	write_release(fs_of(req), fh);
	if (fh->search)
		search_close(fh->search);
	if (fh->content)
		g_string_free(fh->content, TRUE);
	g_mutex_clear(&fh->lock);
	g_free(fh);
	fuse_reply_err(req, 0);
}

/*
 * df: the space is what the scratch files have left of their budget; the
 * inodes are as many as the cache holds, plus a large free count, since
 * objects take no room of their own (df -i must not look full).
 */
#define STATFS_FREE_INODES 1000000

static void fs_statfs(fuse_req_t req, fuse_ino_t ino)
{
	struct clerkfs *fs = fs_of(req);
	struct cache_stats cs;
	struct statvfs sv;
	size_t used = scratch_used(fs);

	cache_get_stats(fs->cache, &cs);
	memset(&sv, 0, sizeof(sv));
	sv.f_bsize = 4096;
	sv.f_frsize = 4096;
	sv.f_blocks = SCRATCH_BUDGET / 4096;
	sv.f_bfree = used >= SCRATCH_BUDGET ? 0
		     : (SCRATCH_BUDGET - used) / 4096;
	sv.f_bavail = sv.f_bfree;
	sv.f_files = cs.entries + STATFS_FREE_INODES;
	sv.f_ffree = STATFS_FREE_INODES;
	sv.f_favail = STATFS_FREE_INODES;
	sv.f_namemax = 255;
	fuse_reply_statfs(req, &sv);
}

static void fs_mkdir(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	struct node_spec spec = { 0 };
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (dir->kind == NODE_SEARCH_RES)
		ret = search_mkdir(fs, dir, name, &spec);
	else
		ret = write_mkdir(fs, dir, name, &spec);
	nodes_put(fs, dir);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		ops_reply_entry(req, fs, parent, name, &spec);
	node_spec_clear(&spec);
}

static void fs_rmdir(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (dir->kind == NODE_SEARCH_RES)
		ret = search_rmdir(fs, dir, name);
	else
		ret = write_rmdir(fs, dir, name);
	nodes_put(fs, dir);
	fuse_reply_err(req, -ret);
}

static void fs_symlink(fuse_req_t req, const char *link, fuse_ino_t parent,
		       const char *name)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	int ret = dir ? write_refuse_link(fs, dir, name) : -ESTALE;

	nodes_put(fs, dir);
	fuse_reply_err(req, -ret);
}

const struct fuse_lowlevel_ops fs_ops = {
	.init = fs_init,
	.lookup = fs_lookup,
	.forget = fs_forget,
	.forget_multi = fs_forget_multi,
	.getattr = fs_getattr,
	.setattr = write_op_setattr,
	.readlink = fs_readlink,
	.mknod = write_op_mknod,
	.mkdir = fs_mkdir,
	.unlink = write_op_unlink,
	.rmdir = fs_rmdir,
	.symlink = fs_symlink,
	.rename = write_op_rename,
	.link = write_op_link,
	.open = fs_open,
	.read = fs_read,
	.write = write_op_write,
	.flush = write_op_flush,
	.release = fs_release,
	.fsync = write_op_fsync,
	.opendir = fs_opendir,
	.readdir = fs_readdir,
	.readdirplus = fs_readdirplus,
	.releasedir = fs_releasedir,
	.statfs = fs_statfs,
	.create = write_op_create,
};
