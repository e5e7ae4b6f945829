/*
 * fs/scratch.c - in-memory scratch files; see scratch.h.
 */
#include "fs/scratch.h"

#include <errno.h>
#include <string.h>
#include <time.h>

struct scratch {
	int refs;		/* the table's and the open files' */
	char *dir;
	char *name;
	GString *data;
	mode_t mode;
	uid_t uid;
	gid_t gid;
	struct timespec mtime;
};

struct scratch_state {
	GMutex lock;
	GHashTable *files;	/* "dir\n name" -> struct scratch* */
	size_t bytes;
};

static struct scratch_state *state(struct clerkfs *fs)
{
	return fs->scratch;
}

static char *file_key(const char *dir, const char *name)
{
	return g_strconcat(dir, "\n", name, NULL);
}

static void unref_locked(struct scratch_state *st, struct scratch *s)
{
	if (--s->refs > 0)
		return;
	st->bytes -= s->data->len;
	g_string_free(s->data, TRUE);
	g_free(s->dir);
	g_free(s->name);
	g_free(s);
}

static void drop_table_ref(gpointer data, gpointer user_data)
{
	unref_locked(user_data, data);
}

void scratch_init(struct clerkfs *fs)
{
	struct scratch_state *st = g_new0(struct scratch_state, 1);

	g_mutex_init(&st->lock);
	st->files = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  NULL);
	fs->scratch = st;
}

void scratch_release(struct clerkfs *fs)
{
	struct scratch_state *st = state(fs);
	GList *files;

	if (!st)
		return;
	files = g_hash_table_get_values(st->files);
	g_list_foreach(files, drop_table_ref, st);
	g_list_free(files);
	g_hash_table_destroy(st->files);
	g_mutex_clear(&st->lock);
	g_free(st);
	fs->scratch = NULL;
}

char *scratch_dir_key(const struct node *dir)
{
	switch (dir->kind) {
	case NODE_USER:
		return g_strconcat("user/", dir->id, NULL);
	case NODE_ORG:
		return g_strconcat("org/", dir->id, NULL);
	case NODE_MEMBERS_ORG:
		return g_strconcat("members/", dir->id, NULL);
	default:
		return NULL;
	}
}

static void touch(struct scratch *s)
{
	clock_gettime(CLOCK_REALTIME, &s->mtime);
}

int scratch_create(struct clerkfs *fs, const char *dir, const char *name,
		   mode_t mode, struct scratch **out)
{
	struct scratch_state *st = state(fs);
	char *key = file_key(dir, name);
	struct scratch *s;

	g_mutex_lock(&st->lock);
	if (g_hash_table_contains(st->files, key)) {
		g_mutex_unlock(&st->lock);
		g_free(key);
		return -EEXIST;
	}
	s = g_new0(struct scratch, 1);
	s->refs = out ? 2 : 1;
	s->dir = g_strdup(dir);
	s->name = g_strdup(name);
	s->data = g_string_new(NULL);
	s->mode = mode & 07777;
	s->uid = fs->uid;
	s->gid = fs->gid;
	touch(s);
	g_hash_table_insert(st->files, key, s);
	g_mutex_unlock(&st->lock);
	if (out)
		*out = s;
	return 0;
}

struct scratch *scratch_find(struct clerkfs *fs, const char *dir,
			     const char *name)
{
	struct scratch_state *st = state(fs);
	char *key = file_key(dir, name);
	struct scratch *s;

	g_mutex_lock(&st->lock);
	s = g_hash_table_lookup(st->files, key);
	if (s)
		s->refs++;
	g_mutex_unlock(&st->lock);
	g_free(key);
	return s;
}

void scratch_put(struct clerkfs *fs, struct scratch *s)
{
	struct scratch_state *st = state(fs);

	if (!s)
		return;
	g_mutex_lock(&st->lock);
	unref_locked(st, s);
	g_mutex_unlock(&st->lock);
}

int scratch_remove(struct clerkfs *fs, const char *dir, const char *name)
{
	struct scratch_state *st = state(fs);
	char *key = file_key(dir, name);
	struct scratch *s;

	g_mutex_lock(&st->lock);
	s = g_hash_table_lookup(st->files, key);
	if (s) {
		g_hash_table_remove(st->files, key);
		unref_locked(st, s);
	}
	g_mutex_unlock(&st->lock);
	g_free(key);
	return s ? 0 : -ENOENT;
}

int scratch_rename(struct clerkfs *fs, const char *dir, const char *name,
		   const char *newname)
{
	struct scratch_state *st = state(fs);
	char *key = file_key(dir, name), *newkey = file_key(dir, newname);
	struct scratch *s, *old;

	g_mutex_lock(&st->lock);
	s = g_hash_table_lookup(st->files, key);
	if (s) {
		old = g_hash_table_lookup(st->files, newkey);
		if (old) {
			g_hash_table_remove(st->files, newkey);
			unref_locked(st, old);
		}
		g_hash_table_steal(st->files, key);
		g_free(s->name);
		s->name = g_strdup(newname);
		g_hash_table_insert(st->files, newkey, s);
		newkey = NULL;
	}
	g_mutex_unlock(&st->lock);
	g_free(key);
	g_free(newkey);
	return s ? 0 : -ENOENT;
}

int scratch_store(struct clerkfs *fs, const char *dir, const char *name,
		  const char *bytes, size_t len)
{
	struct scratch *s = scratch_find(fs, dir, name);
	ssize_t n;

	if (!s && scratch_create(fs, dir, name, 0600, &s) < 0)
		return -EEXIST;
	scratch_truncate(fs, s, 0);
	n = scratch_write(fs, s, bytes, len, 0);
	scratch_put(fs, s);
	return n < 0 ? (int)n : 0;
}

void scratch_list(struct clerkfs *fs, const char *dir, GPtrArray *entries)
{
	struct scratch_state *st = state(fs);
	GHashTableIter it;
	gpointer value;

	g_mutex_lock(&st->lock);
	g_hash_table_iter_init(&it, st->files);
	while (g_hash_table_iter_next(&it, NULL, &value)) {
		struct scratch *s = value;
		struct dir_entry *entry;

		if (strcmp(s->dir, dir) != 0)
			continue;
		entry = g_new(struct dir_entry, 1);
		entry->name = g_strdup(s->name);
		entry->type = S_IFREG;
		g_ptr_array_add(entries, entry);
	}
	g_mutex_unlock(&st->lock);
}

ssize_t scratch_read(struct clerkfs *fs, struct scratch *s, char *buf,
		     size_t size, off_t off)
{
	struct scratch_state *st = state(fs);
	size_t n = 0;

	g_mutex_lock(&st->lock);
	if ((size_t)off < s->data->len) {
		n = MIN(size, s->data->len - (size_t)off);
		memcpy(buf, s->data->str + off, n);
	}
	g_mutex_unlock(&st->lock);
	return (ssize_t)n;
}

/* Resizes the data within the budget; lock held. */
static int resize(struct scratch_state *st, struct scratch *s, size_t len)
{
	size_t old = s->data->len;

	if (len > old && st->bytes + (len - old) > SCRATCH_BUDGET)
		return -ENOSPC;
	g_string_set_size(s->data, len);
	if (len > old)
		memset(s->data->str + old, 0, len - old);
	st->bytes = st->bytes - old + len;
	return 0;
}

ssize_t scratch_write(struct clerkfs *fs, struct scratch *s,
		      const char *buf, size_t size, off_t off)
{
	struct scratch_state *st = state(fs);
	size_t end = (size_t)off + size;
	int ret = 0;

	g_mutex_lock(&st->lock);
	if (end > s->data->len)
		ret = resize(st, s, end);
	if (ret == 0) {
		memcpy(s->data->str + off, buf, size);
		touch(s);
	}
	g_mutex_unlock(&st->lock);
	return ret < 0 ? ret : (ssize_t)size;
}

int scratch_truncate(struct clerkfs *fs, struct scratch *s, off_t size)
{
	struct scratch_state *st = state(fs);
	int ret;

	g_mutex_lock(&st->lock);
	ret = resize(st, s, (size_t)size);
	if (ret == 0)
		touch(s);
	g_mutex_unlock(&st->lock);
	return ret;
}

GString *scratch_content(struct clerkfs *fs, struct scratch *s)
{
	struct scratch_state *st = state(fs);
	GString *copy;

	g_mutex_lock(&st->lock);
	copy = g_string_new_len(s->data->str, (gssize)s->data->len);
	g_mutex_unlock(&st->lock);
	return copy;
}

size_t scratch_used(struct clerkfs *fs)
{
	struct scratch_state *st = state(fs);
	size_t used;

	g_mutex_lock(&st->lock);
	used = st->bytes;
	g_mutex_unlock(&st->lock);
	return used;
}

void scratch_stat(struct clerkfs *fs, struct scratch *s, struct stat *st)
{
	struct scratch_state *ss = state(fs);

	g_mutex_lock(&ss->lock);
	st->st_mode = S_IFREG | s->mode;
	st->st_nlink = 1;
	st->st_uid = s->uid;
	st->st_gid = s->gid;
	st->st_size = (off_t)s->data->len;
	st->st_blocks = (st->st_size + 511) / 512;
	st->st_mtim = s->mtime;
	st->st_ctim = s->mtime;
	st->st_atim = s->mtime;
	g_mutex_unlock(&ss->lock);
}

static struct timespec now_or(const struct timespec *given, bool now)
{
	struct timespec ts;

	if (!now)
		return *given;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts;
}

void scratch_setattr(struct clerkfs *fs, struct scratch *s,
		     const struct stat *attr, int to_set)
{
	struct scratch_state *st = state(fs);

	g_mutex_lock(&st->lock);
	if (to_set & FUSE_SET_ATTR_MODE)
		s->mode = attr->st_mode & 07777;
	if (to_set & FUSE_SET_ATTR_UID)
		s->uid = attr->st_uid;
	if (to_set & FUSE_SET_ATTR_GID)
		s->gid = attr->st_gid;
	if (to_set & (FUSE_SET_ATTR_MTIME | FUSE_SET_ATTR_MTIME_NOW))
		s->mtime = now_or(&attr->st_mtim,
				  to_set & FUSE_SET_ATTR_MTIME_NOW);
	g_mutex_unlock(&st->lock);
}
