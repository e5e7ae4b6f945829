/*
 * fs/write.c - the FUSE operations that change things: writes and saves of
 * attribute files, scratch files for editors, and the refusals of what
 * cannot be changed.
 *
 * A JSON attribute commits once, when its writer is done (flush, fsync, or
 * a rename of a scratch file over it); single-value files act at the
 * write.  A refused save fails the call that committed it, is logged once
 * and is kept in .clerkfs/errors; the written bytes stay in the handle, and
 * nothing happens at release.
 */
#include "fs/ops.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "api/json.h"
#include "api/log.h"
#include "fs/create.h"
#include "fs/names.h"
#include "fs/notify.h"
#include "fs/save.h"
#include "fs/scratch.h"

#define DOCUMENT_MAX (16u << 20)

static int pending_commit(struct clerkfs *fs, struct node *node);
static void pending_release(struct clerkfs *fs, struct node *node);

/* Files whose writes act at once: banned, locked, a member's role. */
static bool acts_at_write(const struct node *node)
{
	return save_at_write(node) || node->kind == NODE_MEMBER;
}

/* Logs a refusal of name in dir (or of node itself when name is NULL). */
static int refuse(struct clerkfs *fs, const struct node *node,
		  const char *name, int err, const char *why)
{
	char *path = nodes_path(fs, node);
	char *full = name ? g_strdup_printf("%s%s%s", path,
					    strcmp(path, "/") ? "/" : "",
					    name)
			  : g_strdup(path);

	fs_refuse(fs, full, err, why);
	g_free(full);
	g_free(path);
	return err;
}

/*
 * After a save that failed but may have been applied, the kernel forgets
 * what it cached of the object too (the save dropped it from the cache),
 * except skip, the inode an operation in progress holds.
 */
static void forget_if_unknown(struct clerkfs *fs, const char *id, int err,
			      fuse_ino_t skip)
{
	if (save_outcome_unknown(err))
		notify_object(fs, id, skip);
}

static void mark_dirty(struct clerkfs *fs, struct open_file *fh, bool dirty)
{
	g_mutex_lock(&fs->dirty_lock);
	if (dirty)
		g_hash_table_insert(fs->dirty, &fh->node->ino, fh);
	else if (g_hash_table_lookup(fs->dirty, &fh->node->ino) == fh)
		g_hash_table_remove(fs->dirty, &fh->node->ino);
	g_mutex_unlock(&fs->dirty_lock);
}

/* The object a JSON attribute shows, copied, for comparing a save. */
static cJSON *object_copy(struct clerkfs *fs, const struct node *node)
{
	struct cache_entry *entry;
	cJSON *copy;
	int ret = node->kind == NODE_ORG_FILE
			  ? objects_org(&fs->objects, node->id, &entry)
			  : objects_user(&fs->objects, node->id, &entry);

	if (ret < 0)
		return NULL;
	copy = cJSON_Duplicate(entry->json, true);
	cache_unref(fs->cache, entry);
	return copy;
}

static int open_scratch(struct clerkfs *fs, struct node *node,
			struct fuse_file_info *fi, struct open_file *fh)
{
	fh->scratch = scratch_find(fs, node->id, node->sub);
	if (!fh->scratch)
		return -ENOENT;
	if ((fi->flags & O_TRUNC) && (fi->flags & O_ACCMODE) != O_RDONLY)
		return scratch_truncate(fs, fh->scratch, 0);
	return 0;
}

/* A JSON attribute opened for writing starts from its current bytes. */
static int open_document(struct clerkfs *fs, struct node *node,
			 struct fuse_file_info *fi, struct open_file *fh)
{
	int ret = tree_read(fs, node, &fh->content);

	if (ret < 0)
		return ret;
	if (fi->flags & O_TRUNC)
		g_string_truncate(fh->content, 0);
	fh->base = object_copy(fs, node);
	return fh->base ? 0 : -EIO;
}

static int open_attribute(struct clerkfs *fs, struct node *node,
			  struct fuse_file_info *fi, struct open_file *fh)
{
	if (fs->opts.read_only)
		return -EROFS;
	if (!tree_is_writable(node))
		return -EACCES;
	fh->writing = true;
	if (acts_at_write(node)) {
		fh->content = g_string_new(NULL);
		return 0;
	}
	if (node->kind == NODE_EMAIL) {
		int ret = tree_read(fs, node, &fh->content);

		if (ret == 0 && (fi->flags & O_TRUNC))
			g_string_truncate(fh->content, 0);
		return ret;
	}
	return open_document(fs, node, fi, fh);
}

static int open_pending(struct clerkfs *fs, struct node *node,
			struct fuse_file_info *fi, struct open_file *fh)
{
	int ret = open_scratch(fs, node, fi, fh);

	fh->pending = ret == 0;
	return ret;
}

int write_open(struct clerkfs *fs, struct node *node,
	       struct fuse_file_info *fi)
{
	struct open_file *fh = g_new0(struct open_file, 1);
	int ret;

	g_mutex_init(&fh->lock);
	fh->node = node;
	if (node->kind == NODE_SCRATCH)
		ret = open_scratch(fs, node, fi, fh);
	else if (node->kind == NODE_PENDING)
		ret = open_pending(fs, node, fi, fh);
	else
		ret = open_attribute(fs, node, fi, fh);
	if (ret < 0) {
		fh->node = NULL;
		write_release(fs, fh);
		if (fh->content)
			g_string_free(fh->content, TRUE);
		g_mutex_clear(&fh->lock);
		g_free(fh);
		return ret;
	}
	g_atomic_int_inc(&node->refs);	/* the handle's reference */
	fi->fh = (uint64_t)(uintptr_t)fh;
	fi->direct_io = 1;
	return 0;
}

void write_release(struct clerkfs *fs, struct open_file *fh)
{
	if (fh->node && fh->pending)
		pending_release(fs, fh->node);
	if (fh->node && fh->writing)
		mark_dirty(fs, fh, false);
	cJSON_Delete(fh->base);
	fh->base = NULL;
	if (fh->scratch)
		scratch_put(fs, fh->scratch);
	fh->scratch = NULL;
	if (fh->node)
		nodes_put(fs, fh->node);
	fh->node = NULL;
}

/* ---- files that create objects -------------------------------------------- */

static enum pending_kind pending_kind_of(const char *key, const char **owner)
{
	static const struct {
		const char *prefix;
		enum pending_kind kind;
	} kinds[] = {
		{ "new-user", PENDING_USER },
		{ "new-org", PENDING_ORG },
		{ "new-session/", PENDING_SESSION },
		{ "new-email/", PENDING_EMAIL },
		{ "new-member/", PENDING_MEMBER },
	};

	for (size_t i = 0; i < G_N_ELEMENTS(kinds); i++) {
		if (!g_str_has_prefix(key, kinds[i].prefix))
			continue;
		*owner = strchr(key, '/') ? strchr(key, '/') + 1 : NULL;
		return kinds[i].kind;
	}
	return PENDING_NONE;
}

/*
 * What the pending file's name stands for once its object exists: the
 * member or email address file it becomes; others leave the tree.
 */
static void pending_done(struct clerkfs *fs, struct node *node,
			 enum pending_kind kind, const char *owner,
			 const char *new_id, int ret)
{
	struct node_spec spec = { 0 };

	scratch_remove(fs, node->id, node->sub);
	if (ret == 0 && kind == PENDING_MEMBER) {
		spec.kind = NODE_MEMBER;
		spec.sub = (char *)node->sub;
	} else if (ret == 0 && kind == PENDING_EMAIL && new_id) {
		spec.kind = NODE_EMAIL;
		spec.sub = (char *)new_id;
	} else if (ret == 0 && kind == PENDING_SESSION && new_id) {
		/* The file stands for the new session until it is named. */
		spec.kind = NODE_SESSION;
		spec.id = (char *)new_id;
		spec.sub = (char *)owner;
		nodes_rebind(fs, node->ino, node->parent, node->sub, &spec);
		notify_entry(fs, node->parent, node->sub);
		return;
	} else {
		notify_entry(fs, node->parent, node->sub);
		return;
	}
	spec.id = (char *)owner;
	nodes_rebind(fs, node->ino, node->parent, node->sub, &spec);
	notify_object(fs, owner, 0);
}

/*
 * Sends the create a pending file stands for, once: the file's bytes are
 * its body (or role).  Afterwards the file is gone or has become the
 * object's file, whatever the outcome.
 */
static int pending_commit(struct clerkfs *fs, struct node *node)
{
	struct scratch *s = scratch_find(fs, node->id, node->sub);
	char why[SAVE_WHY_MAX] = "";
	const char *owner = NULL;
	enum pending_kind kind = pending_kind_of(node->id, &owner);
	char *new_id = NULL;
	GString *text;
	int ret;

	if (!s)
		return 0;	/* committed already */
	text = scratch_content(fs, s);
	scratch_put(fs, s);
	ret = create_pending(fs, kind, owner, node->sub, text->str, text->len,
			     &new_id, why);
	g_string_free(text, TRUE);
	pending_done(fs, node, kind, owner, new_id, ret);
	g_free(new_id);
	if (ret < 0)
		return refuse(fs, node, NULL, ret, why);
	return 0;
}

/*
 * A pending file that was never written: members, email addresses and
 * sessions are created with their defaults (touch); a user or
 * organization needs a body, so nothing is sent.
 */
static int pending_empty(struct clerkfs *fs, struct node *node)
{
	const char *owner;
	enum pending_kind kind = pending_kind_of(node->id, &owner);
	struct scratch *s = scratch_find(fs, node->id, node->sub);

	if (!s)
		return 0;
	scratch_put(fs, s);
	if (kind == PENDING_USER || kind == PENDING_ORG) {
		scratch_remove(fs, node->id, node->sub);
		notify_entry(fs, node->parent, node->sub);
		return 0;
	}
	return pending_commit(fs, node);
}

/* Release: what no flush committed (the kernel drops its errors). */
static void pending_release(struct clerkfs *fs, struct node *node)
{
	pending_empty(fs, node);
}

/*
 * Whether one /proc/<pid>/fdinfo file names inode ino: 1 or 0, or
 * -ENOTSUP when the kernel does not say (before Linux 5.14).
 */
static int fdinfo_has_ino(const char *path, fuse_ino_t ino)
{
	char *text = NULL, *line;
	int found = 0;

	if (!g_file_get_contents(path, &text, NULL, NULL))
		return 0;	/* closed meanwhile */
	line = strstr(text, "\nino:");
	if (line)
		found = g_ascii_strtoull(line + 5, NULL, 10) == ino;
	else
		found = -ENOTSUP;
	g_free(text);
	return found;
}

/*
 * Whether the closing process still holds the file through another
 * descriptor, as a shell does between its dup2 and the command's write:
 * 1 or 0, or a negative errno when /proc does not tell.  The descriptor
 * being closed has already left the process's table.
 */
static int held_elsewhere(pid_t pid, fuse_ino_t ino)
{
	char *dir_path = g_strdup_printf("/proc/%d/fdinfo", (int)pid);
	GDir *dir = pid > 0 ? g_dir_open(dir_path, 0, NULL) : NULL;
	const char *fd;
	int ret = dir ? 0 : -ESRCH;

	while (dir && ret == 0 && (fd = g_dir_read_name(dir))) {
		char *path = g_build_filename(dir_path, fd, NULL);

		ret = fdinfo_has_ino(path, ino);
		g_free(path);
	}
	if (dir)
		g_dir_close(dir);
	g_free(dir_path);
	return ret;
}

/*
 * A flush of a pending file nothing was written to commits it when the
 * closing process holds it no more: cp /dev/null, touch, open and close.
 * A shell's redirection flushes once before the command writes, and then
 * still holds the file.  When /proc does not tell, release commits.
 */
static int flush_pending(struct clerkfs *fs, struct open_file *fh,
			 pid_t pid)
{
	if (fh->dirty)
		return pending_commit(fs, fh->node);
	if (held_elsewhere(pid, fh->node->ino) != 0)
		return 0;
	return pending_empty(fs, fh->node);
}

/* A member file acts at its write; other pending files keep the bytes. */
static int write_pending(struct clerkfs *fs, struct open_file *fh,
			 const char *buf, size_t size, off_t off)
{
	const char *owner;
	enum pending_kind kind = pending_kind_of(fh->node->id, &owner);
	struct scratch *s = scratch_find(fs, fh->node->id, fh->node->sub);
	char why[SAVE_WHY_MAX] = "";
	ssize_t n;
	int ret;

	if (kind != PENDING_MEMBER) {
		if (!s)
			return -ENOENT;
		n = scratch_write(fs, s, buf, size, off);
		scratch_put(fs, s);
		fh->dirty = n >= 0;
		return n < 0 ? (int)n : 0;
	}
	if (s) {
		scratch_truncate(fs, s, 0);
		scratch_write(fs, s, buf, size, 0);
		scratch_put(fs, s);
		return pending_commit(fs, fh->node);
	}
	ret = create_member_role(fs, owner, fh->node->sub, buf, size, why);
	return ret < 0 ? refuse(fs, fh->node, NULL, ret, why) : 0;
}

/* ---- write, flush, fsync -------------------------------------------------- */

/* Failures that the same bytes may overcome at the next flush. */
static bool is_transient(int err)
{
	return err == -EIO || err == -EAGAIN || err == -ETIMEDOUT;
}

/*
 * Saves the handle's bytes when they changed; 0 or the errno of the
 * refusal, which is logged.  Bytes refused for good (a 4xx, invalid JSON)
 * are not sent again until they change; after a transient failure the
 * next flush tries again.  The handle's lock is held.
 */
static int commit(struct clerkfs *fs, struct open_file *fh, pid_t pid)
{
	char why[SAVE_WHY_MAX] = "";
	int ret;

	if (fh->pending)
		return flush_pending(fs, fh, pid);
	if (!fh->writing || !fh->dirty)
		return 0;
	if (fh->refused)
		return fh->refused;	/* the same bytes, refused already */
	if (fh->node->kind == NODE_EMAIL)
		ret = create_email_update(fs, fh->node->id, fh->node->sub,
					  fh->content->str, fh->content->len,
					  why);
	else
		ret = save_json(fs, fh->node, fh->content->str,
				fh->content->len, fh->base, why);
	if (ret < 0 && !is_transient(ret))
		fh->refused = ret;
	if (ret < 0) {
		forget_if_unknown(fs, fh->node->id, ret, 0);
		return refuse(fs, fh->node, NULL, ret, why);
	}

	fh->dirty = false;
	mark_dirty(fs, fh, false);
	cJSON_Delete(fh->base);
	fh->base = object_copy(fs, fh->node);
	notify_object(fs, fh->node->id, 0);
	return 0;
}

static bool all_space(const char *buf, size_t size)
{
	for (size_t i = 0; i < size; i++)
		if (!g_ascii_isspace(buf[i]))
			return false;
	return true;
}

/*
 * A value acts at its write; white space written after it (printf
 * 'true\n\n' in two writes) ends it and changes nothing.
 */
static int write_value(struct clerkfs *fs, struct open_file *fh,
		       const char *buf, size_t size, off_t off)
{
	char why[SAVE_WHY_MAX] = "";
	int ret;

	if (off > 0 && all_space(buf, size))
		return 0;
	if (fh->node->kind == NODE_MEMBER)
		ret = create_member_role(fs, fh->node->id, fh->node->sub, buf,
					 size, why);
	else
		ret = save_value(fs, fh->node, buf, size, why);
	if (ret < 0) {
		forget_if_unknown(fs, fh->node->id, ret, fh->node->ino);
		return refuse(fs, fh->node, NULL, ret, why);
	}
	notify_object(fs, fh->node->id, fh->node->ino);
	return 0;
}

/* Puts the bytes into the writer's buffer; the lock is held. */
static int write_buffer(struct clerkfs *fs, struct open_file *fh,
			const char *buf, size_t size, off_t off)
{
	size_t end = (size_t)off + size;

	if (end > DOCUMENT_MAX)
		return -EFBIG;
	if (end > fh->content->len) {
		size_t old = fh->content->len;

		g_string_set_size(fh->content, end);
		memset(fh->content->str + old, 0, end - old);
	}
	memcpy(fh->content->str + off, buf, size);
	fh->dirty = true;
	fh->refused = 0;
	mark_dirty(fs, fh, true);
	return 0;
}

void write_op_write(fuse_req_t req, fuse_ino_t ino, const char *buf,
		    size_t size, off_t off, struct fuse_file_info *fi)
{
	struct clerkfs *fs = fs_of(req);
	struct open_file *fh = open_file_of(fi);
	ssize_t ret;

	if (fh->pending) {
		g_mutex_lock(&fh->lock);
		ret = write_pending(fs, fh, buf, size, off);
		g_mutex_unlock(&fh->lock);
	} else if (fh->scratch) {
		ret = scratch_write(fs, fh->scratch, buf, size, off);
	} else if (!fh->writing) {
		ret = -EBADF;
	} else {
		g_mutex_lock(&fh->lock);
		if (acts_at_write(fh->node))
			ret = write_value(fs, fh, buf, size, off);
		else
			ret = write_buffer(fs, fh, buf, size, off);
		g_mutex_unlock(&fh->lock);
	}
	if (ret < 0)
		fuse_reply_err(req, (int)-ret);
	else
		fuse_reply_write(req, size);
}

void write_op_flush(fuse_req_t req, fuse_ino_t ino, struct fuse_file_info *fi)
{
	struct open_file *fh = open_file_of(fi);
	int ret;

	g_mutex_lock(&fh->lock);
	ret = commit(fs_of(req), fh, fuse_req_ctx(req)->pid);
	g_mutex_unlock(&fh->lock);
	fuse_reply_err(req, -ret);
}

void write_op_fsync(fuse_req_t req, fuse_ino_t ino, int datasync,
		    struct fuse_file_info *fi)
{
	write_op_flush(req, ino, fi);
}

/* ---- setattr --------------------------------------------------------------- */

/* A size change through a handle opened for writing. */
static int truncate_buffer(struct clerkfs *fs, struct open_file *fh,
			   off_t size)
{
	int ret = 0;

	g_mutex_lock(&fh->lock);
	if ((size_t)size > DOCUMENT_MAX) {
		ret = -EFBIG;
	} else if ((size_t)size < fh->content->len) {
		g_string_truncate(fh->content, (gsize)size);
	} else if ((size_t)size > fh->content->len) {
		size_t old = fh->content->len;

		g_string_set_size(fh->content, (gsize)size);
		memset(fh->content->str + old, 0, (size_t)size - old);
	}
	if (ret == 0) {
		fh->dirty = true;
		fh->refused = 0;
		mark_dirty(fs, fh, true);
	}
	g_mutex_unlock(&fh->lock);
	return ret;
}

/* truncate(2) on a path: a save of the shortened bytes, at once. */
static int truncate_path(struct clerkfs *fs, struct node *node, off_t size)
{
	char why[SAVE_WHY_MAX] = "";
	GString *content = NULL;
	int ret;

	if (save_at_write(node) || (node->kind != NODE_USER_FILE &&
				    node->kind != NODE_ORG_FILE))
		return -EPERM;
	if ((size_t)size > DOCUMENT_MAX)
		return -EFBIG;
	ret = tree_read(fs, node, &content);
	if (ret < 0)
		return ret;
	/* As on a local file: cut, or grown with zero bytes. */
	if ((size_t)size > content->len) {
		size_t old = content->len;

		g_string_set_size(content, (gsize)size);
		memset(content->str + old, 0, (size_t)size - old);
	} else {
		g_string_set_size(content, (gsize)size);
	}
	ret = save_json(fs, node, content->str, content->len, NULL, why);
	g_string_free(content, TRUE);
	if (ret < 0) {
		forget_if_unknown(fs, node->id, ret, node->ino);
		return refuse(fs, node, NULL, ret, why);
	}
	notify_object(fs, node->id, node->ino);
	return 0;
}

static int setattr_scratch(struct clerkfs *fs, struct node *node,
			   struct stat *attr, int to_set)
{
	struct scratch *s = scratch_find(fs, node->id, node->sub);
	int ret = 0;

	if (!s)
		return -ENOENT;
	if (to_set & FUSE_SET_ATTR_SIZE)
		ret = scratch_truncate(fs, s, attr->st_size);
	scratch_setattr(fs, s, attr, to_set);
	scratch_put(fs, s);
	return ret;
}

/* touch of a new member, email address or session creates it. */
static int setattr_pending(struct clerkfs *fs, struct node *node,
			   struct stat *attr, int to_set)
{
	const char *owner;
	enum pending_kind kind = pending_kind_of(node->id, &owner);
	int times = FUSE_SET_ATTR_ATIME | FUSE_SET_ATTR_MTIME |
		    FUSE_SET_ATTR_ATIME_NOW | FUSE_SET_ATTR_MTIME_NOW;

	if ((to_set & times) && kind != PENDING_USER && kind != PENDING_ORG)
		return pending_commit(fs, node);
	return setattr_scratch(fs, node, attr, to_set);
}

/* chmod and chown to the values a file has succeed; others do not. */
static int check_owner_mode(struct clerkfs *fs, struct node *node,
			    struct stat *attr, int to_set)
{
	struct stat now;
	double ttl;
	int ret = ops_attr(fs, node, &now, &ttl);

	if (ret < 0)
		return ret;
	if ((to_set & FUSE_SET_ATTR_MODE) &&
	    (attr->st_mode & 07777) != (now.st_mode & 07777))
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_UID) && attr->st_uid != now.st_uid)
		return -EPERM;
	if ((to_set & FUSE_SET_ATTR_GID) && attr->st_gid != now.st_gid)
		return -EPERM;
	return 0;
}

static int setattr_node(struct clerkfs *fs, struct node *node,
			struct stat *attr, int to_set,
			struct fuse_file_info *fi)
{
	struct open_file *fh = fi ? open_file_of(fi) : NULL;
	int ret;

	if (node->kind == NODE_PENDING)
		return setattr_pending(fs, node, attr, to_set);
	if (node->kind == NODE_SCRATCH)
		return setattr_scratch(fs, node, attr, to_set);
	ret = check_owner_mode(fs, node, attr, to_set);
	if (ret < 0 || !(to_set & FUSE_SET_ATTR_SIZE))
		return ret;
	if (fs->opts.read_only)
		return -EROFS;
	/*
	 * banned, locked and a role act at the write, so the ftruncate that
	 * vim sends before rewriting one in place is not a change.
	 */
	if (fh && fh->writing && acts_at_write(node))
		return 0;
	if (fh && fh->writing)
		return truncate_buffer(fs, fh, attr->st_size);
	return truncate_path(fs, node, attr->st_size);
}

void write_op_setattr(fuse_req_t req, fuse_ino_t ino, struct stat *attr,
		      int to_set, struct fuse_file_info *fi)
{
	struct clerkfs *fs = fs_of(req);
	struct node *node = nodes_get(fs, ino);
	int ret;

	if (!node) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	ret = setattr_node(fs, node, attr, to_set, fi);
	nodes_put(fs, node);
	/* A pending file may have become its object meanwhile. */
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		ops_reply_attr(req, fs, ino);
}

/* ---- creating and removing scratch files ----------------------------------- */

/*
 * Keeps a new file name under key (a scratch directory's, or a pending
 * one's) and fills spec with a node of that kind; key passes to spec.
 */
static int create_kept(struct clerkfs *fs, char *key, const char *name,
		       mode_t mode, enum node_kind kind,
		       struct node_spec *spec)
{
	int ret = key ? scratch_create(fs, key, name, mode, NULL) : -EPERM;

	if (ret < 0) {
		g_free(key);
		return ret;
	}
	spec->kind = kind;
	spec->id = key;
	spec->sub = g_strdup(name);
	return 0;
}

/* Why name cannot create an object in dir, or NULL when it can. */
static const char *pending_refusal(struct clerkfs *fs, struct node *dir,
				   const char *name, int *err)
{
	*err = -EINVAL;
	switch (dir->kind) {
	case NODE_USERS:
	case NODE_ORGS:
		*err = -EPERM;
		return g_str_has_suffix(name, ".json") ? NULL
			: "only NAME.json files (the new object's JSON) and "
			  "directories can be created here";
	case NODE_SESSIONS_USER:
		*err = -EOPNOTSUPP;
		return api_is_production(fs->api)
			? "sessions can be created only on development "
			  "instances" : NULL;
	case NODE_EMAILS_USER:
		*err = -EACCES;
		return names_is_email(name) ? NULL
			: "the file name must be the new email address";
	default:
		*err = -EPERM;
		return "files cannot be created here";
	}
}

/* Directories where any file created is a new object. */
static bool makes_objects(enum node_kind kind)
{
	return kind == NODE_SESSIONS_USER || kind == NODE_EMAILS_USER;
}

/*
 * What may be created in dir under name: a file that creates an object,
 * a scratch file in an object directory, or nothing.
 */
static int create_in(struct clerkfs *fs, struct node *dir, const char *name,
		     mode_t mode, struct node_spec *spec)
{
	const char *why;
	int err;

	if (fs->opts.read_only)
		return -EROFS;
	if (dir->kind == NODE_MEMBERS_ORG && names_is_id(name, "user_"))
		return create_kept(fs, tree_pending_key(dir), name, 0600,
				   NODE_PENDING, spec);
	if (scratch_dir_key_kind(dir->kind))
		return create_kept(fs, scratch_dir_key(dir), name, mode,
				   NODE_SCRATCH, spec);
	if (makes_objects(dir->kind) && names_is_editor_file(name))
		return -EACCES;	/* an editor's helper: no log, no object */
	why = pending_refusal(fs, dir, name, &err);
	if (why)
		return refuse(fs, dir, name, err, why);
	return create_kept(fs, tree_pending_key(dir), name, 0600,
			   NODE_PENDING, spec);
}

/* Opens the node just made for a create. */
static void reply_created(fuse_req_t req, struct clerkfs *fs,
			  fuse_ino_t parent, const char *name,
			  const struct node_spec *spec,
			  struct fuse_file_info *fi)
{
	struct node *child = nodes_add(fs, parent, name, spec);
	struct fuse_entry_param e;
	double ttl = 0;
	int ret;

	memset(&e, 0, sizeof(e));
	ret = ops_attr(fs, child, &e.attr, &ttl);
	if (ret == 0)
		ret = write_open(fs, child, fi);
	if (ret < 0) {
		nodes_forget(fs, child->ino, 1);
		nodes_put(fs, child);
		fuse_reply_err(req, -ret);
		return;
	}
	e.ino = child->ino;
	e.attr_timeout = ttl;
	e.entry_timeout = ttl;
	nodes_put(fs, child);
	fuse_reply_create(req, &e, fi);
}

void write_op_create(fuse_req_t req, fuse_ino_t parent, const char *name,
		     mode_t mode, struct fuse_file_info *fi)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	struct node_spec spec = { 0 };
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	ret = create_in(fs, dir, name, mode, &spec);
	nodes_put(fs, dir);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		reply_created(req, fs, parent, name, &spec, fi);
	node_spec_clear(&spec);
}

void write_op_mknod(fuse_req_t req, fuse_ino_t parent, const char *name,
		    mode_t mode, dev_t rdev)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	struct node_spec spec = { 0 };
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	ret = S_ISREG(mode) ? create_in(fs, dir, name, mode, &spec) : -EPERM;
	nodes_put(fs, dir);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		ops_reply_entry(req, fs, parent, name, &spec);
	node_spec_clear(&spec);
}

/* rm of a member, an email address or a session: delete or revoke it. */
static int unlink_object(struct clerkfs *fs, struct node *dir,
			 const char *name)
{
	char why[SAVE_WHY_MAX] = "";
	struct node_spec spec;
	int ret = tree_lookup(fs, dir, name, &spec);

	if (ret < 0)
		return ret;
	if (spec.kind == NODE_MEMBER)
		ret = delete_member(fs, spec.id, spec.sub, why);
	else if (spec.kind == NODE_EMAIL)
		ret = delete_email(fs, spec.id, spec.sub, why);
	else if (spec.kind == NODE_SESSION)
		ret = revoke_session(fs, spec.id, why);
	else
		ret = 1;
	if (ret == 0) {
		notify_object(fs, spec.kind == NODE_SESSION ? spec.sub
							    : spec.id, 0);
		nodes_unname(fs, dir->ino, name);
	}
	node_spec_clear(&spec);
	if (ret < 0 && ret != -ENOENT)
		return refuse(fs, dir, name, ret, why);
	return ret;
}

static int unlink_in(struct clerkfs *fs, struct node *dir, const char *name)
{
	char *key = scratch_dir_key(dir);
	char *pending = tree_pending_key(dir);
	int ret = key ? scratch_remove(fs, key, name) : -ENOENT;

	if (ret < 0 && pending)
		ret = scratch_remove(fs, pending, name);
	g_free(key);
	g_free(pending);
	if (ret == 0 || fs->opts.read_only)
		return ret == 0 ? 0 : -EROFS;
	ret = unlink_object(fs, dir, name);
	if (ret <= 0)
		return ret;
	if (dir->kind == NODE_USER_ORGS)
		return refuse(fs, dir, name, -EPERM, "memberships are "
			      "changed in members/<org id>/, not here");
	return refuse(fs, dir, name, -EPERM, "attribute files and links "
		      "cannot be removed");
}

void write_op_unlink(fuse_req_t req, fuse_ino_t parent, const char *name)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	ret = unlink_in(fs, dir, name);
	nodes_put(fs, dir);
	fuse_reply_err(req, -ret);
}

/* ---- rename and link ----------------------------------------------------- */

static bool is_document(const struct node_spec *spec)
{
	return (spec->kind == NODE_USER_FILE || spec->kind == NODE_ORG_FILE) &&
	       spec->attr != ATTR_BANNED && spec->attr != ATTR_LOCKED;
}

/*
 * Saves content to the file to names: a JSON attribute, banned or locked,
 * or a member's role file, which adds the member when it is new.
 */
static int save_renamed(struct clerkfs *fs, const struct node_spec *to,
			bool exists, const GString *content, char *why)
{
	struct node target = { .kind = to->kind, .attr = to->attr,
			       .id = to->id };

	if (to->kind == NODE_MEMBER && !exists)
		return create_pending(fs, PENDING_MEMBER, to->id, to->sub,
				      content->str, content->len, NULL, why);
	if (to->kind == NODE_MEMBER)
		return create_member_role(fs, to->id, to->sub, content->str,
					  content->len, why);
	if (save_at_write(&target))
		return save_value(fs, &target, content->str, content->len,
				  why);
	return save_json(fs, &target, content->str, content->len, NULL, why);
}

static bool is_replaceable(const struct node_spec *to)
{
	struct node target = { .kind = to->kind, .attr = to->attr };

	return is_document(to) || save_at_write(&target) ||
	       to->kind == NODE_MEMBER;
}

/*
 * rename(scratch, attribute or role file): the scratch content is saved
 * to it; exists is false for the role file of a member the rename adds.
 */
static int rename_over(struct clerkfs *fs, struct node *dir,
		       const struct node_spec *from, const char *name,
		       const struct node_spec *to, bool exists,
		       const char *newname)
{
	char why[SAVE_WHY_MAX] = "";
	struct scratch *s = scratch_find(fs, from->id, from->sub);
	fuse_ino_t ino;
	GString *content;
	int ret;

	if (!s)
		return -ENOENT;
	if (!is_replaceable(to)) {
		scratch_put(fs, s);
		return refuse(fs, dir, newname, -EPERM, "only JSON attribute "
			      "files, flags and role files can be replaced");
	}
	content = scratch_content(fs, s);
	scratch_put(fs, s);
	ret = save_renamed(fs, to, exists, content, why);
	g_string_free(content, TRUE);
	if (ret < 0) {
		forget_if_unknown(fs, to->id, ret, 0);
		/* mv reads EINVAL as "into a subdirectory of itself". */
		return refuse(fs, dir, newname, ret == -EINVAL ? -EIO : ret,
			      why);
	}

	scratch_remove(fs, from->id, from->sub);
	ino = nodes_ino_of(fs, dir->ino, name);
	if (ino)
		nodes_rebind(fs, ino, dir->ino, newname, to);
	notify_object(fs, to->id, 0);
	return 0;
}

/* A user id in members/<org>/ names a member, never a scratch file. */
static bool is_member_name(const struct node *dir, const char *name)
{
	return dir->kind == NODE_MEMBERS_ORG && names_is_id(name, "user_");
}

/*
 * A user id that is not yet a member names, in members/<org>/, the member
 * that a rename over it adds: fills to with its role file.
 */
static bool new_member(const struct node *dir, const char *newname,
		       struct node_spec *to)
{
	if (!is_member_name(dir, newname))
		return false;
	to->kind = NODE_MEMBER;
	to->id = g_strdup(dir->id);
	to->sub = g_strdup(newname);
	return true;
}

/*
 * Files that a rename or link to a new name copies into a scratch file,
 * leaving them in place: JSON attributes and role files, whose editors
 * keep a backup that way.  Refusing a role file's rename would make vim
 * remove the membership and create it again.
 */
static bool copies_to_scratch(const struct node *dir, enum node_kind kind,
			      const char *newname)
{
	if (is_member_name(dir, newname))
		return false;
	return kind == NODE_USER_FILE || kind == NODE_ORG_FILE ||
	       kind == NODE_MEMBER || kind == NODE_SCRATCH;
}

/* rename(attribute, new name): a copy of it as a scratch file. */
static int rename_copy(struct clerkfs *fs, struct node *dir,
		       const char *name, const struct node_spec *from,
		       const char *newname)
{
	struct node source = { .kind = from->kind, .attr = from->attr,
			       .id = from->id, .sub = from->sub };
	char *key = scratch_dir_key(dir);
	GString *content = NULL;
	int ret = tree_read(fs, &source, &content);

	if (ret == 0)
		ret = scratch_store(fs, key, newname, content->str,
				    content->len);
	if (content)
		g_string_free(content, TRUE);
	g_free(key);
	/* The kernel moved the attribute's entry; show both names anew. */
	notify_entry(fs, dir->ino, name);
	notify_entry(fs, dir->ino, newname);
	return ret;
}

static int rename_in(struct clerkfs *fs, struct node *dir, const char *name,
		     const char *newname)
{
	struct node_spec from, to;
	bool exists, adds;
	int ret;

	ret = tree_lookup(fs, dir, name, &from);
	if (ret < 0)
		return ret;
	ret = tree_lookup(fs, dir, newname, &to);
	if (ret < 0 && ret != -ENOENT) {
		node_spec_clear(&from);
		return ret;
	}
	exists = ret == 0;
	adds = !exists && from.kind == NODE_SCRATCH &&
	       new_member(dir, newname, &to);
	if (from.kind == NODE_SCRATCH && ((!exists && !adds) ||
					  (exists && to.kind == NODE_SCRATCH)))
		ret = scratch_rename(fs, from.id, from.sub, newname);
	else if (from.kind == NODE_SCRATCH)
		ret = rename_over(fs, dir, &from, name, &to, exists, newname);
	else if (!exists && copies_to_scratch(dir, from.kind, newname))
		ret = rename_copy(fs, dir, name, &from, newname);
	else
		ret = refuse(fs, dir, name, -EPERM, "attribute files and "
			     "links cannot be renamed or replaced");
	node_spec_clear(&from);
	node_spec_clear(&to);	/* zeroed by a lookup that found nothing */
	return ret;
}

void write_op_rename(fuse_req_t req, fuse_ino_t parent, const char *name,
		     fuse_ino_t newparent, const char *newname,
		     unsigned int flags)
{
	struct clerkfs *fs = fs_of(req);
	struct node *dir = nodes_get(fs, parent);
	int ret;

	if (!dir) {
		fuse_reply_err(req, ESTALE);
		return;
	}
	if (fs->opts.read_only)
		ret = -EROFS;
	else if (flags & RENAME_EXCHANGE)
		ret = -EINVAL;
	else if (parent != newparent)
		ret = -EXDEV;
	else if (!scratch_dir_key_kind(dir->kind))
		ret = refuse(fs, dir, name, -EPERM, "nothing can be renamed "
			     "here");
	else
		ret = rename_in(fs, dir, name, newname);
	nodes_put(fs, dir);
	fuse_reply_err(req, -ret);
}

int write_refuse_link(struct clerkfs *fs, struct node *dir, const char *name)
{
	if (fs->opts.read_only)
		return -EROFS;
	if (dir->kind == NODE_USER_ORGS)
		return refuse(fs, dir, name, -EPERM, "memberships are "
			      "changed in members/<org id>/, not here");
	return refuse(fs, dir, name, -EPERM, "links cannot be made here");
}

/* link(file, new name): a copy as a scratch file, as rename_copy. */
static int link_copy(struct clerkfs *fs, struct node *node,
		     struct node *dir, const char *newname,
		     struct node_spec *spec)
{
	char *key = copies_to_scratch(dir, node->kind, newname)
			    ? scratch_dir_key(dir) : NULL;
	GString *content = NULL;
	int ret = -EPERM;

	if (key && node->kind == NODE_SCRATCH) {
		struct scratch *s = scratch_find(fs, node->id, node->sub);

		content = s ? scratch_content(fs, s) : NULL;
		scratch_put(fs, s);
		ret = content ? 0 : -ENOENT;
	} else if (key) {
		ret = tree_read(fs, node, &content);
	}
	if (ret == 0)
		ret = scratch_store(fs, key, newname, content->str,
				    content->len);
	if (ret == 0) {
		spec->kind = NODE_SCRATCH;
		spec->id = key;
		spec->sub = g_strdup(newname);
		key = NULL;
	}
	if (content)
		g_string_free(content, TRUE);
	g_free(key);
	return ret;
}

void write_op_link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t newparent,
		   const char *newname)
{
	struct clerkfs *fs = fs_of(req);
	struct node *node = nodes_get(fs, ino);
	struct node *dir = nodes_get(fs, newparent);
	struct node_spec spec = { 0 };
	int ret;

	if (!node || !dir)
		ret = -ESTALE;
	else if (fs->opts.read_only)
		ret = -EROFS;
	else if (!scratch_dir_key_kind(dir->kind))
		ret = write_refuse_link(fs, dir, newname);
	else
		ret = link_copy(fs, node, dir, newname, &spec);
	nodes_put(fs, node);
	nodes_put(fs, dir);
	if (ret < 0)
		fuse_reply_err(req, -ret);
	else
		ops_reply_entry(req, fs, newparent, newname, &spec);
	node_spec_clear(&spec);
}

/* ---- mkdir and rmdir of users and organizations ----------------------------- */

int write_mkdir(struct clerkfs *fs, struct node *dir, const char *name,
		struct node_spec *spec)
{
	char why[SAVE_WHY_MAX] = "";
	char *id = NULL;
	int ret;

	if (fs->opts.read_only)
		return -EROFS;
	if (dir->kind == NODE_USERS)
		ret = create_user_named(fs, name, &id, why);
	else if (dir->kind == NODE_ORGS)
		ret = create_org_named(fs, name, &id, why);
	else
		return refuse(fs, dir, name, -EPERM, "directories cannot be "
			      "created here");
	if (ret < 0 && save_outcome_unknown(ret))
		notify_entry(fs, dir->ino, name);	/* it may exist now */
	if (ret < 0)
		return refuse(fs, dir, name, ret, why);
	spec->kind = dir->kind == NODE_USERS ? NODE_USER : NODE_ORG;
	spec->id = id;
	return 0;
}

/* Every name that showed the deleted object is forgotten by the kernel. */
static void forget_object(struct clerkfs *fs, const char *id)
{
	GArray *inos = nodes_of_object(fs, id);

	for (guint i = 0; i < inos->len; i++) {
		struct node *node = nodes_get(fs, g_array_index(inos,
							fuse_ino_t, i));

		if (node && (node->kind == NODE_USER || node->kind == NODE_ORG ||
			     node->kind == NODE_EMAILS_USER ||
			     node->kind == NODE_SESSIONS_USER ||
			     node->kind == NODE_MEMBERS_ORG)) {
			nodes_unname(fs, node->parent, node->name);
			notify_entry(fs, node->parent, node->name);
		}
		nodes_put(fs, node);
	}
	g_array_free(inos, TRUE);
}

int write_rmdir(struct clerkfs *fs, struct node *dir, const char *name)
{
	char why[SAVE_WHY_MAX] = "";
	struct node_spec spec;
	int ret;

	if (fs->opts.read_only)
		return -EROFS;
	if (dir->kind != NODE_USERS && dir->kind != NODE_ORGS)
		return refuse(fs, dir, name, -EPERM, "only users and "
			      "organizations can be deleted with rmdir");
	ret = tree_lookup(fs, dir, name, &spec);
	if (ret < 0)
		return ret;
	if (!fs->opts.allow_delete) {
		node_spec_clear(&spec);
		return refuse(fs, dir, name, -EPERM, "deleting is turned off: "
			      "mount with -o allow_delete to delete users and "
			      "organizations with rmdir");
	}
	if (spec.kind == NODE_USER)
		ret = delete_user(fs, spec.id, why);
	else
		ret = delete_org(fs, spec.id, why);
	if (ret == 0)
		forget_object(fs, spec.id);
	else
		ret = refuse(fs, dir, name, ret, why);
	node_spec_clear(&spec);
	return ret;
}
