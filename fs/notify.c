/*
 * fs/notify.c - kernel cache invalidation; see notify.h.
 */
#include "fs/notify.h"

#include <string.h>

#include "api/json.h"

struct entry_note {
	fuse_ino_t parent;
	char *name;		/* NULL tells the thread to stop */
};

struct notify_state {
	GAsyncQueue *queue;
	GThread *thread;
};

static gpointer entry_worker(gpointer data)
{
	struct clerkfs *fs = data;
	struct notify_state *st = fs->notify;

	for (;;) {
		struct entry_note *note = g_async_queue_pop(st->queue);

		if (!note->name) {
			g_free(note);
			return NULL;
		}
		fuse_lowlevel_notify_inval_entry(fs->se, note->parent,
						 note->name,
						 strlen(note->name));
		g_free(note->name);
		g_free(note);
	}
}

void notify_start(struct clerkfs *fs)
{
	struct notify_state *st = g_new0(struct notify_state, 1);

	st->queue = g_async_queue_new();
	fs->notify = st;
	st->thread = g_thread_new("clerkfs-notify", entry_worker, fs);
}

void notify_stop(struct clerkfs *fs)
{
	struct notify_state *st = fs->notify;

	if (!st)
		return;
	g_async_queue_push(st->queue, g_new0(struct entry_note, 1));
	g_thread_join(st->thread);
	g_async_queue_unref(st->queue);
	g_free(st);
	fs->notify = NULL;
}

void notify_object(struct clerkfs *fs, const char *id, fuse_ino_t skip)
{
	GArray *inos;

	if (!fs->se || !id)
		return;
	inos = nodes_of_object(fs, id);
	for (guint i = 0; i < inos->len; i++) {
		fuse_ino_t ino = g_array_index(inos, fuse_ino_t, i);

		if (ino != skip)
			fuse_lowlevel_notify_inval_inode(fs->se, ino, 0, 0);
	}
	g_array_free(inos, TRUE);
}

void notify_entry(struct clerkfs *fs, fuse_ino_t parent, const char *name)
{
	struct entry_note *note;

	if (!fs->notify)
		return;
	note = g_new(struct entry_note, 1);
	note->parent = parent;
	note->name = g_strdup(name);
	g_async_queue_push(fs->notify->queue, note);
}

/* Each item's field of a list in obj, e.g. every email_address. */
static void notify_each(struct clerkfs *fs, fuse_ino_t dir, const cJSON *obj,
			const char *list, const char *field)
{
	const cJSON *item;

	cJSON_ArrayForEach(item,
			   cJSON_GetObjectItemCaseSensitive(obj, list)) {
		const char *name = json_str(item, field);

		if (name)
			notify_entry(fs, dir, name);
	}
}

void notify_names(struct clerkfs *fs, const cJSON *obj)
{
	bool is_org = g_strcmp0(json_str(obj, "object"), "organization") == 0;
	fuse_ino_t dir = nodes_ino_of(fs, FUSE_ROOT_ID,
				      is_org ? "orgs" : "users");
	const char *name;

	if (!dir)
		return;		/* never looked up: nothing is cached */
	if ((name = json_str(obj, "id")))
		notify_entry(fs, dir, name);
	if (is_org) {
		if ((name = json_str(obj, "slug")))
			notify_entry(fs, dir, name);
		return;
	}
	if ((name = json_str(obj, "username")))
		notify_entry(fs, dir, name);
	notify_each(fs, dir, obj, "email_addresses", "email_address");
	notify_each(fs, dir, obj, "phone_numbers", "phone_number");
}
