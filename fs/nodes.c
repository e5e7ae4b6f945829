/*
 * fs/nodes.c - the inode table.
 *
 * A node lives while the kernel remembers it (nlookup > 0) or an operation
 * holds it (refs).  The root is inode 1 and never goes.  A name looked up
 * again keeps its inode unless it now stands for another object (an alias
 * that moved), in which case the name gets a new node.
 */
#include "fs/fs.h"

#include <string.h>

static struct node *node_new(fuse_ino_t ino, fuse_ino_t parent,
			     const char *name, const struct node_spec *spec)
{
	struct node *node = g_new0(struct node, 1);

	node->ino = ino;
	node->parent = parent;
	node->refs = 1;
	node->kind = spec->kind;
	node->attr = spec->attr;
	node->name = g_strdup(name);
	node->id = g_strdup(spec->id);
	node->sub = g_strdup(spec->sub);
	return node;
}

static void node_free(struct node *node)
{
	g_free(node->name);
	g_free(node->id);
	g_free(node->sub);
	g_free(node);
}

void node_spec_clear(struct node_spec *spec)
{
	g_free(spec->id);
	g_free(spec->sub);
	spec->id = spec->sub = NULL;
}

static char *name_key(fuse_ino_t parent, const char *name)
{
	return g_strdup_printf("%lu/%s", (unsigned long)parent, name);
}

void nodes_init(struct clerkfs *fs)
{
	struct node_spec root = { .kind = NODE_ROOT };
	struct node *node = node_new(FUSE_ROOT_ID, FUSE_ROOT_ID, "", &root);

	g_mutex_init(&fs->nodes_lock);
	fs->by_ino = g_hash_table_new(g_int64_hash, g_int64_equal);
	fs->by_name = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    NULL);
	fs->by_id = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					  (GDestroyNotify)g_ptr_array_unref);
	fs->next_ino = FUSE_ROOT_ID + 1;
	node->nlookup = 1;
	g_hash_table_insert(fs->by_ino, &node->ino, node);
}

void nodes_release(struct clerkfs *fs)
{
	GHashTableIter it;
	gpointer value;

	g_hash_table_iter_init(&it, fs->by_ino);
	while (g_hash_table_iter_next(&it, NULL, &value))
		node_free(value);
	g_hash_table_destroy(fs->by_ino);
	g_hash_table_destroy(fs->by_name);
	g_hash_table_destroy(fs->by_id);
	g_mutex_clear(&fs->nodes_lock);
}

struct node *nodes_get(struct clerkfs *fs, fuse_ino_t ino)
{
	struct node *node;

	g_mutex_lock(&fs->nodes_lock);
	node = g_hash_table_lookup(fs->by_ino, &ino);
	if (node)
		node->refs++;
	g_mutex_unlock(&fs->nodes_lock);
	return node;
}

void nodes_put(struct clerkfs *fs, struct node *node)
{
	bool gone;

	if (!node)
		return;
	g_mutex_lock(&fs->nodes_lock);
	gone = --node->refs == 0;
	g_mutex_unlock(&fs->nodes_lock);
	if (gone)
		node_free(node);
}

static bool same_object(const struct node *node, const struct node_spec *s)
{
	return node->kind == s->kind && node->attr == s->attr &&
	       g_strcmp0(node->id, s->id) == 0 &&
	       g_strcmp0(node->sub, s->sub) == 0;
}

static void index_add(struct clerkfs *fs, struct node *node)
{
	GPtrArray *list;

	if (!node->id)
		return;
	list = g_hash_table_lookup(fs->by_id, node->id);
	if (!list) {
		list = g_ptr_array_new();
		g_hash_table_insert(fs->by_id, g_strdup(node->id), list);
	}
	g_ptr_array_add(list, node);
}

static void index_remove(struct clerkfs *fs, struct node *node)
{
	GPtrArray *list = node->id ? g_hash_table_lookup(fs->by_id, node->id)
				   : NULL;

	if (!list)
		return;
	g_ptr_array_remove_fast(list, node);
	if (list->len == 0)
		g_hash_table_remove(fs->by_id, node->id);
}

/* Removes node from the name index (it stays reachable by inode). */
static void unname(struct clerkfs *fs, struct node *node)
{
	char *key = name_key(node->parent, node->name);

	if (g_hash_table_lookup(fs->by_name, key) == node)
		g_hash_table_remove(fs->by_name, key);
	g_free(key);
}

struct node *nodes_add(struct clerkfs *fs, fuse_ino_t parent,
		       const char *name, const struct node_spec *spec)
{
	char *key = name_key(parent, name);
	struct node *node;

	g_mutex_lock(&fs->nodes_lock);
	node = g_hash_table_lookup(fs->by_name, key);
	if (node && !same_object(node, spec)) {
		unname(fs, node);
		node = NULL;
	}
	if (!node) {
		node = node_new(fs->next_ino++, parent, name, spec);
		g_hash_table_insert(fs->by_ino, &node->ino, node);
		g_hash_table_insert(fs->by_name, g_strdup(key), node);
		index_add(fs, node);
	}
	node->nlookup++;
	node->refs++;
	g_mutex_unlock(&fs->nodes_lock);
	g_free(key);
	return node;
}

void nodes_forget(struct clerkfs *fs, fuse_ino_t ino, uint64_t n)
{
	struct node *node;
	bool gone = false;

	g_mutex_lock(&fs->nodes_lock);
	node = g_hash_table_lookup(fs->by_ino, &ino);
	if (node && ino != FUSE_ROOT_ID) {
		node->nlookup = n >= node->nlookup ? 0 : node->nlookup - n;
		if (node->nlookup == 0) {
			unname(fs, node);
			index_remove(fs, node);
			g_hash_table_remove(fs->by_ino, &ino);
			gone = --node->refs == 0;
		}
	}
	g_mutex_unlock(&fs->nodes_lock);
	if (gone)
		node_free(node);
}

void nodes_rebind(struct clerkfs *fs, fuse_ino_t ino, fuse_ino_t parent,
		  const char *name, const struct node_spec *spec)
{
	struct node *old, *node;
	char *key = name_key(parent, name);
	bool gone = false;

	g_mutex_lock(&fs->nodes_lock);
	old = g_hash_table_lookup(fs->by_ino, &ino);
	if (old) {
		node = node_new(ino, parent, name, spec);
		node->nlookup = old->nlookup;
		unname(fs, old);
		index_remove(fs, old);
		g_hash_table_replace(fs->by_ino, &node->ino, node);
		g_hash_table_replace(fs->by_name, g_strdup(key), node);
		index_add(fs, node);
		gone = --old->refs == 0;
	}
	g_mutex_unlock(&fs->nodes_lock);
	if (gone)
		node_free(old);
	g_free(key);
}

GArray *nodes_of_object(struct clerkfs *fs, const char *id)
{
	GArray *inos = g_array_new(FALSE, FALSE, sizeof(fuse_ino_t));
	GPtrArray *list;

	g_mutex_lock(&fs->nodes_lock);
	list = g_hash_table_lookup(fs->by_id, id);
	for (guint i = 0; list && i < list->len; i++) {
		struct node *node = list->pdata[i];

		g_array_append_val(inos, node->ino);
	}
	g_mutex_unlock(&fs->nodes_lock);
	return inos;
}

fuse_ino_t nodes_ino_of(struct clerkfs *fs, fuse_ino_t parent,
			const char *name)
{
	char *key = name_key(parent, name);
	struct node *node;
	fuse_ino_t ino;

	g_mutex_lock(&fs->nodes_lock);
	node = g_hash_table_lookup(fs->by_name, key);
	ino = node ? node->ino : 0;
	g_mutex_unlock(&fs->nodes_lock);
	g_free(key);
	return ino;
}

void nodes_unname(struct clerkfs *fs, fuse_ino_t parent, const char *name)
{
	char *key = name_key(parent, name);
	struct node *node;

	g_mutex_lock(&fs->nodes_lock);
	node = g_hash_table_lookup(fs->by_name, key);
	if (node)
		unname(fs, node);
	g_mutex_unlock(&fs->nodes_lock);
	g_free(key);
}

char *nodes_path(struct clerkfs *fs, const struct node *node)
{
	GPtrArray *parts = g_ptr_array_new();
	GString *path = g_string_new(NULL);
	const struct node *at = node;

	g_mutex_lock(&fs->nodes_lock);
	while (at && at->ino != FUSE_ROOT_ID) {
		g_ptr_array_add(parts, at->name);
		at = g_hash_table_lookup(fs->by_ino, &at->parent);
	}
	for (guint i = parts->len; i > 0; i--)
		g_string_append_printf(path, "/%s",
				       (char *)parts->pdata[i - 1]);
	g_mutex_unlock(&fs->nodes_lock);
	g_ptr_array_free(parts, TRUE);
	if (path->len == 0)
		g_string_append_c(path, '/');
	return g_string_free(path, FALSE);
}
