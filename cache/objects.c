/*
 * cache/objects.c - fetching Clerk objects through the cache; see
 * objects.h.
 */
#include "cache/objects.h"

#include <errno.h>
#include <string.h>

#include "api/json.h"
#include "api/log.h"

void objects_init(struct objects *o, struct api *api, struct cache *cache,
		  int page_size)
{
	o->api = api;
	o->cache = cache;
	o->page_size = page_size;
	o->page_workers = 4;
	g_mutex_init(&o->order_lock);
	o->order = g_ptr_array_new_with_free_func(g_free);
	o->position = g_hash_table_new(g_str_hash, g_str_equal);
	g_mutex_init(&o->batch_lock);
	g_cond_init(&o->batch_done);
	o->fetching = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					    NULL);
}

void objects_release(struct objects *o)
{
	if (!o->order)
		return;
	g_hash_table_destroy(o->position);
	g_ptr_array_free(o->order, TRUE);
	g_mutex_clear(&o->order_lock);
	g_hash_table_destroy(o->fetching);
	g_cond_clear(&o->batch_done);
	g_mutex_clear(&o->batch_lock);
	o->order = NULL;
}

/* ---- listings ---------------------------------------------------------- */

/*
 * Lists are newest first, so objects created while pages are fetched by
 * offset shift the later pages: an object repeats, and an older one falls
 * between two pages.  The pager notes every id it hands out; when the
 * ids repeat or do not add up to the total known at the start, the
 * listing is taken again in a way that creation cannot shift (relist).
 */
enum relist {
	RELIST_CURSOR,		/* starting_after=<last id>: GET /users */
	RELIST_OLDEST_FIRST,	/* order_by=+created_at: new ones come last */
	RELIST_OFFSET,		/* the caller chose the order: offsets again */
};

struct pager {
	struct objects *o;
	const char *path, *route, *query;
	objects_page_fn on_page;
	void *ctx;

	GMutex lock;
	int next;		/* next page a worker takes */
	int last;		/* pages below this are fetched by workers */
	int last_count;		/* items on page last - 1 */
	int err;
	bool envelope;		/* {data, total_count} rather than an array */
	GHashTable *seen;	/* ids handed out, owned */
	int repeats;		/* ids handed out twice */
	int anonymous;		/* items without an id */
};

/* The items of a page, detached from the reply: a bare array or .data. */
static cJSON *page_items(cJSON *reply, int *total)
{
	cJSON *items;

	if (cJSON_IsArray(reply))
		return reply;
	items = cJSON_DetachItemFromObjectCaseSensitive(reply, "data");
	*total = (int)json_int(reply, "total_count", -1);
	cJSON_Delete(reply);
	return items && cJSON_IsArray(items) ? items : NULL;
}

/* Notes the ids of a page; *last (when not NULL) gets its last id. */
static void note_items(struct pager *p, const cJSON *items, char **last)
{
	const cJSON *item;
	const char *id = NULL;

	g_mutex_lock(&p->lock);
	cJSON_ArrayForEach(item, items) {
		id = json_str(item, "id");
		if (!id)
			p->anonymous++;
		else if (!g_hash_table_add(p->seen, g_strdup(id)))
			p->repeats++;
	}
	g_mutex_unlock(&p->lock);
	if (last)
		*last = g_strdup(id);
}

/*
 * Fetches one page with the paging parameters `paging` ("offset=500")
 * and hands it to the callback as page number `page`; returns how many
 * items it held, or a negative errno.  *last, when not NULL, gets the
 * page's last id (the caller frees it; NULL for an empty page).
 */
static int fetch_page_at(struct pager *p, int page, const char *paging,
			 int *total, char **last)
{
	GString *q = g_string_new(p->query ? p->query : "");
	struct api_call call = {
		.method = "GET", .path = p->path, .route = p->route,
		.deadline = api_deadline(p->o->api),
	};
	cJSON *items;
	int ret, n;

	g_string_append_printf(q, "%slimit=%d&%s", q->len ? "&" : "",
			       p->o->page_size, paging);
	call.query = q->str;
	ret = api_call(p->o->api, &call);
	g_string_free(q, TRUE);
	if (ret < 0)
		return ret;

	if (page == 0)
		p->envelope = !cJSON_IsArray(call.reply);
	items = page_items(call.reply, total);
	if (!items) {
		log_warning("GET %s: the reply holds no list", p->route);
		return -EIO;
	}
	n = cJSON_GetArraySize(items);
	note_items(p, items, last);
	p->on_page(p->ctx, page, items);
	return n;
}

/* Fetches page number `page` by offset. */
static int fetch_page(struct pager *p, int page, int *total)
{
	char *paging = g_strdup_printf("offset=%d", page * p->o->page_size);
	int n = fetch_page_at(p, page, paging, total, NULL);

	g_free(paging);
	return n;
}

static gpointer page_worker(gpointer data)
{
	struct pager *p = data;
	int total, page, ret;

	for (;;) {
		g_mutex_lock(&p->lock);
		page = p->err ? p->last : p->next++;
		g_mutex_unlock(&p->lock);
		if (page >= p->last)
			return NULL;
		ret = fetch_page(p, page, &total);
		g_mutex_lock(&p->lock);
		if (ret < 0)
			p->err = ret;
		else if (page == p->last - 1)
			p->last_count = ret;
		g_mutex_unlock(&p->lock);
	}
}

/* Fetches pages [1, last) with up to page_workers threads. */
static int fetch_parallel(struct pager *p, int last)
{
	int workers = MIN(p->o->page_workers, last - 1);
	GThread *threads[16];

	if (workers > 16)
		workers = 16;
	p->next = 1;
	p->last = last;
	for (int i = 0; i < workers; i++)
		threads[i] = g_thread_new("clerkfs-pager", page_worker, p);
	for (int i = 0; i < workers; i++)
		g_thread_join(threads[i]);
	return p->err;
}

static int count_total(struct objects *o, const char *count_path,
		       const char *query)
{
	struct api_call call = {
		.method = "GET", .path = count_path, .route = count_path,
		.query = query, .deadline = api_deadline(o->api),
	};
	int ret = api_call(o->api, &call);
	int total;

	if (ret < 0)
		return ret;
	total = (int)json_int(call.reply, "total_count", -1);
	cJSON_Delete(call.reply);
	return total < 0 ? -EIO : total;
}

/*
 * Whether a listing may go on past its first `pages` pages, the last of
 * which held n items.  A short page is the end.  With a known total, full
 * pages that reach it exactly are the end too (one more request would only
 * bring an empty page); full pages that go beyond it mean more came while
 * paging, since offsets shift when objects are created meanwhile.  What
 * shifted pages missed, relist() brings.
 */
static bool may_have_more(int n, int pages, int page_size, int total)
{
	if (n != page_size)
		return false;
	return total < 0 || (long)pages * page_size != total;
}

/* Whether the offset pages disagree with each other or with the total. */
static bool pages_shifted(struct pager *p, int total)
{
	int distinct = (int)g_hash_table_size(p->seen) + p->anonymous;

	return p->repeats > 0 || (total >= 0 && distinct != total);
}

static enum relist relist_kind(const struct pager *p)
{
	if (p->query && (g_str_has_prefix(p->query, "order_by=") ||
			 strstr(p->query, "&order_by=")))
		return RELIST_OFFSET;
	if (p->envelope)
		return RELIST_OLDEST_FIRST;
	if (strcmp(p->route, "/users") == 0)
		return RELIST_CURSOR;
	return RELIST_OFFSET;
}

/* The paging parameters of the relist's k-th page after *after. */
static char *relist_paging(struct objects *o, enum relist kind, int k,
			   const char *after)
{
	char *escaped, *paging;

	switch (kind) {
	case RELIST_CURSOR:
		if (!after)
			return g_strdup("offset=0");
		escaped = api_escape(after);
		paging = g_strconcat("starting_after=", escaped, NULL);
		g_free(escaped);
		return paging;
	case RELIST_OLDEST_FIRST:
		return g_strdup_printf("order_by=%%2Bcreated_at&offset=%d",
				       k * o->page_size);
	default:
		return g_strdup_printf("offset=%d", k * o->page_size);
	}
}

/*
 * Lists again, one page after another, handing pages out from page
 * number `page` on: the callbacks see the objects again and keep the
 * first of each id.  Returns the number of the page after the last.
 */
static int relist(struct pager *p, int page)
{
	enum relist kind = relist_kind(p);
	char *after = NULL, *paging, *last;
	int total, n;

	log_debug("GET %s: objects came or went while paging; listing again",
		  p->route);
	for (int k = 0;; k++) {
		paging = relist_paging(p->o, kind, k, after);
		last = NULL;
		n = fetch_page_at(p, page++, paging, &total, &last);
		g_free(paging);
		g_free(after);
		after = last;
		if (n < p->o->page_size || (kind == RELIST_CURSOR && !after))
			break;
	}
	g_free(after);
	return n < 0 ? n : page;
}

int objects_list(struct objects *o, const char *path, const char *route,
		 const char *query, const char *count_path,
		 objects_page_fn on_page, void *ctx)
{
	struct pager p = {
		.o = o, .path = path, .route = route, .query = query,
		.on_page = on_page, .ctx = ctx,
	};
	int total = -1, first_total, n, page, ret = 0;

	g_mutex_init(&p.lock);
	p.seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	n = fetch_page(&p, 0, &total);
	page = 1;
	if (n == o->page_size && total < 0 && count_path)
		total = count_total(o, count_path, query);
	first_total = total;
	if (n == o->page_size && total > n) {
		int pages = (total + o->page_size - 1) / o->page_size;

		ret = fetch_parallel(&p, pages);
		page = pages;
		n = ret < 0 ? ret : p.last_count;
	}
	while (ret == 0 && may_have_more(n, page, o->page_size, total)) {
		n = fetch_page(&p, page++, &total);
		if (n < 0)
			ret = n;
	}
	if (n < 0)
		ret = n;
	if (ret == 0 && pages_shifted(&p, first_total))
		page = relist(&p, page);
	g_hash_table_destroy(p.seen);
	g_mutex_clear(&p.lock);
	return ret < 0 ? ret : page;
}

/* ---- collecting ids from pages ----------------------------------------- */

struct id_pages {
	struct objects *o;
	uint64_t since;
	const char *kind;	/* "user" or "org": the object keys */
	GMutex lock;
	GPtrArray *pages;	/* page -> GPtrArray of ids */
};

static void store_object(struct objects *o, const char *kind, cJSON *obj,
			 uint64_t since)
{
	const char *id = json_str(obj, "id");
	char *key;

	if (!id) {
		cJSON_Delete(obj);
		return;
	}
	key = g_strdup_printf("%s/%s", kind, id);
	cache_put(o->cache, key, obj, since, false);
	g_free(key);
}

static void collect_ids(void *ctx, int page, cJSON *items)
{
	struct id_pages *ip = ctx;
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	cJSON *item;

	while ((item = cJSON_DetachItemViaPointer(items, items->child))) {
		const char *id = json_str(item, "id");

		if (id)
			g_ptr_array_add(ids, g_strdup(id));
		store_object(ip->o, ip->kind, item, ip->since);
	}
	cJSON_Delete(items);

	g_mutex_lock(&ip->lock);
	if ((guint)page >= ip->pages->len)
		g_ptr_array_set_size(ip->pages, page + 1);
	ip->pages->pdata[page] = ids;
	g_mutex_unlock(&ip->lock);
}

/* Joins the pages' ids in order, without duplicates, as a JSON array. */
static cJSON *join_ids(GPtrArray *pages)
{
	GHashTable *seen = g_hash_table_new(g_str_hash, g_str_equal);
	cJSON *all = cJSON_CreateArray();

	for (guint i = 0; i < pages->len; i++) {
		GPtrArray *ids = pages->pdata[i];

		for (guint j = 0; ids && j < ids->len; j++) {
			if (!g_hash_table_add(seen, ids->pdata[j]))
				continue;
			cJSON_AddItemToArray(all,
					     cJSON_CreateString(ids->pdata[j]));
		}
	}
	g_hash_table_destroy(seen);
	return all;
}

static void free_id_page(gpointer ids)
{
	if (ids)
		g_ptr_array_free(ids, TRUE);
}

static int list_ids(struct objects *o, const char *kind, const char *path,
		    const char *count_path, uint64_t since, cJSON **json)
{
	struct id_pages ip = { .o = o, .since = since, .kind = kind };
	int ret;

	g_mutex_init(&ip.lock);
	ip.pages = g_ptr_array_new_with_free_func(free_id_page);
	ret = objects_list(o, path, path, NULL, count_path, collect_ids, &ip);
	if (ret >= 0)
		*json = join_ids(ip.pages);
	g_ptr_array_free(ip.pages, TRUE);
	g_mutex_clear(&ip.lock);
	return ret < 0 ? ret : 0;
}

/* Keeps the listing's order for reading ahead; ids is the listing. */
static void remember_order(struct objects *o, const cJSON *ids)
{
	GPtrArray *order = g_ptr_array_new_with_free_func(g_free);
	GHashTable *position = g_hash_table_new(g_str_hash, g_str_equal);
	const cJSON *item;

	cJSON_ArrayForEach(item, ids) {
		char *id = g_strdup(cJSON_GetStringValue(item));

		g_ptr_array_add(order, id);
		g_hash_table_insert(position, id,
				    GUINT_TO_POINTER(order->len));
	}
	g_mutex_lock(&o->order_lock);
	g_hash_table_destroy(o->position);
	g_ptr_array_free(o->order, TRUE);
	o->order = order;
	o->position = position;
	g_mutex_unlock(&o->order_lock);
}

static int fetch_user_ids(void *ctx, uint64_t since, cJSON **json)
{
	int ret = list_ids(ctx, "user", "/users", "/users/count", since, json);

	if (ret == 0)
		remember_order(ctx, *json);
	return ret;
}

int objects_user_ids(struct objects *o, struct cache_entry **out)
{
	return cache_get(o->cache, "users", fetch_user_ids, o, out);
}

static int fetch_org_ids(void *ctx, uint64_t since, cJSON **json)
{
	return list_ids(ctx, "org", "/organizations", NULL, since, json);
}

int objects_org_ids(struct objects *o, struct cache_entry **out)
{
	return cache_get(o->cache, "orgs", fetch_org_ids, o, out);
}

/* ---- single objects ---------------------------------------------------- */

struct single {
	struct objects *o;
	const char *path;
	const char *route;
};

static int fetch_single(void *ctx, uint64_t since, cJSON **json)
{
	struct single *s = ctx;
	struct api_call call = {
		.method = "GET", .path = s->path, .route = s->route,
		.deadline = api_deadline(s->o->api),
	};
	int ret = api_call(s->o->api, &call);

	if (ret == 0)
		*json = call.reply;
	return ret;
}

static int get_single(struct objects *o, const char *key,
		      const char *collection, const char *id,
		      const char *route, struct cache_entry **out)
{
	char *escaped = api_escape(id);
	char *path = g_strdup_printf("/%s/%s", collection, escaped);
	struct single s = { .o = o, .path = path, .route = route };
	int ret = cache_get(o->cache, key, fetch_single, &s, out);

	g_free(path);
	g_free(escaped);
	return ret;
}

/*
 * Reading ahead.  A profile missing from the cache (evicted, when the
 * instance has more users than cache_max holds) is most often one of many
 * read in listing order, as grep -r or ls -l do: one GET /users with the
 * user_id filter brings it with the next users listed that the cache
 * lacks, a hundred users for the price of one request.
 */
#define USER_BATCH 100		/* user_id values one GET /users takes */

/*
 * Ids listed after id in users/ that the cache lacks and no fetch in
 * flight brings, USER_BATCH - 1 at most; batch_lock held.
 */
static GPtrArray *ids_after(struct objects *o, const char *id)
{
	GPtrArray *ids = g_ptr_array_new_with_free_func(g_free);
	guint at;

	g_mutex_lock(&o->order_lock);
	at = GPOINTER_TO_UINT(g_hash_table_lookup(o->position, id));
	for (; at > 0 && at < o->order->len && ids->len < USER_BATCH - 1;
	     at++) {
		const char *other = o->order->pdata[at];
		char *key = g_strconcat("user/", other, NULL);

		if (!g_hash_table_contains(o->fetching, other) &&
		    !cache_has(o->cache, key))
			g_ptr_array_add(ids, g_strdup(other));
		g_free(key);
	}
	g_mutex_unlock(&o->order_lock);
	return ids;
}

struct user_fetch {
	struct objects *o;
	const char *id;
};

/* GET /users?user_id=id&user_id=...: id and the users read ahead. */
static int fetch_user_batch(struct user_fetch *f, GPtrArray *ahead,
			    uint64_t since, cJSON **json)
{
	GString *q = g_string_new(NULL);
	struct api_call call = {
		.method = "GET", .path = "/users", .route = "/users",
		.deadline = api_deadline(f->o->api),
	};
	cJSON *user;
	int ret;

	api_query_add(q, "user_id", f->id);
	for (guint i = 0; i < ahead->len; i++)
		api_query_add(q, "user_id", ahead->pdata[i]);
	g_string_append_printf(q, "&limit=%d", USER_BATCH);
	call.query = q->str;
	ret = api_call(f->o->api, &call);
	g_string_free(q, TRUE);
	if (ret < 0)
		return ret;
	while ((user = cJSON_DetachItemFromArray(call.reply, 0))) {
		if (!*json && g_strcmp0(json_str(user, "id"), f->id) == 0)
			*json = user;
		else
			store_object(f->o, "user", user, since);
	}
	cJSON_Delete(call.reply);
	return *json ? 0 : -ENOENT;
}

/* GET /users/{user_id}: id alone. */
static int fetch_user_alone(struct user_fetch *f, uint64_t since,
			    cJSON **json)
{
	char *escaped = api_escape(f->id);
	char *path = g_strconcat("/users/", escaped, NULL);
	struct single s = { .o = f->o, .path = path,
			    .route = "/users/{user_id}" };
	int ret = fetch_single(&s, since, json);

	g_free(path);
	g_free(escaped);
	return ret;
}

/* A copy of what the cache holds for user id, in *json. */
static int copy_cached_user(struct objects *o, const char *id, cJSON **json)
{
	char *key = g_strconcat("user/", id, NULL);
	struct cache_entry *entry;
	int ret = cache_get(o->cache, key, NULL, NULL, &entry);

	g_free(key);
	if (ret < 0)
		return ret;
	*json = cJSON_Duplicate(entry->json, true);
	cache_unref(o->cache, entry);
	return *json ? 0 : -ENOMEM;
}

/*
 * Waits while a fetch in flight brings id (another thread's batch);
 * returns whether it waited.  batch_lock held.
 */
static bool wait_for_batch(struct objects *o, const char *id)
{
	bool waited = false;

	while (g_hash_table_contains(o->fetching, id)) {
		g_cond_wait(&o->batch_done, &o->batch_lock);
		waited = true;
	}
	return waited;
}

/*
 * Claims id and the users to read ahead with it (returned; the caller
 * frees them and passes them to release_batch), unless a batch in flight
 * brought id meanwhile: then *json holds a copy and NULL is returned.
 */
static GPtrArray *claim_batch(struct objects *o, const char *id,
			      cJSON **json)
{
	GPtrArray *ahead;

	g_mutex_lock(&o->batch_lock);
	while (wait_for_batch(o, id)) {
		g_mutex_unlock(&o->batch_lock);
		if (copy_cached_user(o, id, json) == 0)
			return NULL;
		g_mutex_lock(&o->batch_lock);
	}
	ahead = ids_after(o, id);
	g_hash_table_add(o->fetching, g_strdup(id));
	for (guint i = 0; i < ahead->len; i++)
		g_hash_table_add(o->fetching, g_strdup(ahead->pdata[i]));
	g_mutex_unlock(&o->batch_lock);
	return ahead;
}

/* Lets the threads waiting for a batch look at the cache. */
static void release_batch(struct objects *o, const char *id,
			  GPtrArray *ahead)
{
	g_mutex_lock(&o->batch_lock);
	g_hash_table_remove(o->fetching, id);
	for (guint i = 0; i < ahead->len; i++)
		g_hash_table_remove(o->fetching, ahead->pdata[i]);
	g_cond_broadcast(&o->batch_done);
	g_mutex_unlock(&o->batch_lock);
}

static int fetch_user(void *ctx, uint64_t since, cJSON **json)
{
	struct user_fetch *f = ctx;
	GPtrArray *ahead = claim_batch(f->o, f->id, json);
	int ret;

	if (!ahead)
		return 0;
	if (ahead->len > 0)
		ret = fetch_user_batch(f, ahead, since, json);
	else
		ret = fetch_user_alone(f, since, json);
	release_batch(f->o, f->id, ahead);
	g_ptr_array_free(ahead, TRUE);
	return ret;
}

int objects_user(struct objects *o, const char *id, struct cache_entry **out)
{
	char *key = g_strdup_printf("user/%s", id);
	struct user_fetch f = { .o = o, .id = id };
	int ret = cache_get(o->cache, key, fetch_user, &f, out);

	g_free(key);
	return ret;
}

int objects_org(struct objects *o, const char *id, struct cache_entry **out)
{
	char *key = g_strdup_printf("org/%s", id);
	int ret = get_single(o, key, "organizations", id,
			     "/organizations/{organization_id}", out);

	g_free(key);
	return ret;
}

int objects_session(struct objects *o, const char *id,
		    struct cache_entry **out)
{
	char *key = g_strdup_printf("session/%s", id);
	int ret = get_single(o, key, "sessions", id,
			     "/sessions/{session_id}", out);

	g_free(key);
	return ret;
}

/* ---- collections gathered whole ----------------------------------------- */

struct gather {
	GMutex lock;
	GPtrArray *pages;	/* page -> cJSON array */
};

static void gather_page(void *ctx, int page, cJSON *items)
{
	struct gather *g = ctx;

	g_mutex_lock(&g->lock);
	if ((guint)page >= g->pages->len)
		g_ptr_array_set_size(g->pages, page + 1);
	g->pages->pdata[page] = items;
	g_mutex_unlock(&g->lock);
}

/* Joins gathered pages in order into one array, dropping repeated ids. */
static cJSON *join_items(GPtrArray *pages)
{
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	cJSON *all = cJSON_CreateArray();

	for (guint i = 0; i < pages->len; i++) {
		cJSON *items = pages->pdata[i], *item;

		while (items && (item = cJSON_DetachItemViaPointer(
					 items, items->child))) {
			const char *id = json_str(item, "id");

			if (id && !g_hash_table_add(seen, g_strdup(id)))
				cJSON_Delete(item);
			else
				cJSON_AddItemToArray(all, item);
		}
		cJSON_Delete(items);
	}
	g_hash_table_destroy(seen);
	return all;
}

/* Gathers every item of a listing into one array in *json. */
static int gather_all(struct objects *o, const char *path, const char *route,
		      const char *query, cJSON **json)
{
	struct gather g;
	int ret;

	g_mutex_init(&g.lock);
	g.pages = g_ptr_array_new();
	ret = objects_list(o, path, route, query, NULL, gather_page, &g);
	if (ret >= 0) {
		*json = join_items(g.pages);
	} else {
		for (guint i = 0; i < g.pages->len; i++)
			cJSON_Delete(g.pages->pdata[i]);
	}
	g_ptr_array_free(g.pages, TRUE);
	g_mutex_clear(&g.lock);
	return ret < 0 ? ret : 0;
}

/* Maps each user id to the organization ids of its memberships. */
static cJSON *index_user_orgs(const cJSON *memberships)
{
	cJSON *index = cJSON_CreateObject();
	const cJSON *m;

	cJSON_ArrayForEach(m, memberships) {
		const cJSON *org = cJSON_GetObjectItemCaseSensitive(
			m, "organization");
		const cJSON *user = cJSON_GetObjectItemCaseSensitive(
			m, "public_user_data");
		const char *org_id = json_str(org, "id");
		const char *user_id = json_str(user, "user_id");
		cJSON *list;

		if (!org_id || !user_id)
			continue;
		list = cJSON_GetObjectItemCaseSensitive(index, user_id);
		if (!list)
			list = cJSON_AddArrayToObject(index, user_id);
		cJSON_AddItemToArray(list, cJSON_CreateString(org_id));
	}
	return index;
}

static int fetch_user_orgs(void *ctx, uint64_t since, cJSON **json)
{
	cJSON *all = NULL;
	int ret = gather_all(ctx, "/organization_memberships",
			     "/organization_memberships", NULL, &all);

	if (ret < 0)
		return ret;
	*json = index_user_orgs(all);
	cJSON_Delete(all);
	return 0;
}

int objects_user_orgs(struct objects *o, struct cache_entry **out)
{
	return cache_get(o->cache, "user-orgs", fetch_user_orgs, o, out);
}

struct keyed {
	struct objects *o;
	const char *id;
};

static int fetch_members(void *ctx, uint64_t since, cJSON **json)
{
	struct keyed *k = ctx;
	char *escaped = api_escape(k->id);
	char *path = g_strdup_printf("/organizations/%s/memberships", escaped);
	int ret = gather_all(k->o, path,
			     "/organizations/{organization_id}/memberships",
			     NULL, json);

	g_free(path);
	g_free(escaped);
	return ret;
}

int objects_org_members(struct objects *o, const char *org_id,
			struct cache_entry **out)
{
	struct keyed k = { .o = o, .id = org_id };
	char *key = g_strdup_printf("members/%s", org_id);
	int ret = cache_get(o->cache, key, fetch_members, &k, out);

	g_free(key);
	return ret;
}

static int fetch_sessions(void *ctx, uint64_t since, cJSON **json)
{
	struct keyed *k = ctx;
	GString *q = g_string_new(NULL);
	int ret;

	api_query_add(q, "user_id", k->id);
	ret = gather_all(k->o, "/sessions", "/sessions", q->str, json);
	g_string_free(q, TRUE);
	return ret;
}

int objects_user_sessions(struct objects *o, const char *user_id,
			  struct cache_entry **out)
{
	struct keyed k = { .o = o, .id = user_id };
	char *key = g_strdup_printf("sessions/%s", user_id);
	int ret = cache_get(o->cache, key, fetch_sessions, &k, out);

	g_free(key);
	return ret;
}

/* ---- aliases ------------------------------------------------------------ */

struct alias {
	struct objects *o;
	enum alias_kind kind;
	const char *value;
};

static const char *const alias_params[] = {
	[ALIAS_EMAIL] = "email_address",
	[ALIAS_PHONE] = "phone_number",
	[ALIAS_USERNAME] = "username",
	[ALIAS_SLUG] = NULL,
};

/* Looks a user up by one identifier: GET /users?<param>=value&limit=1. */
static int fetch_user_alias(struct alias *a, uint64_t since, cJSON **json)
{
	GString *q = g_string_new(NULL);
	struct api_call call = {
		.method = "GET", .path = "/users", .route = "/users",
		.deadline = api_deadline(a->o->api),
	};
	cJSON *user;
	int ret;

	api_query_add(q, alias_params[a->kind], a->value);
	g_string_append(q, "&limit=1");
	call.query = q->str;
	ret = api_call(a->o->api, &call);
	g_string_free(q, TRUE);
	if (ret < 0)
		return ret;

	user = cJSON_DetachItemFromArray(call.reply, 0);
	cJSON_Delete(call.reply);
	if (!user || !json_str(user, "id")) {
		cJSON_Delete(user);
		return -ENOENT;
	}
	*json = cJSON_CreateString(json_str(user, "id"));
	store_object(a->o, "user", user, since);
	return 0;
}

/*
 * GET /organizations/{slug} answers to a slug as well as an id.  The
 * organization is kept under its id only: an "org/<slug>" entry would go
 * stale at the next write, and a 404 remembered for it would hide an
 * organization created with that slug.
 */
static int fetch_org_slug(struct alias *a, uint64_t since, cJSON **json)
{
	char *escaped = api_escape(a->value);
	char *path = g_strconcat("/organizations/", escaped, NULL);
	struct single s = { .o = a->o, .path = path,
			    .route = "/organizations/{organization_id}" };
	cJSON *org = NULL;
	int ret = fetch_single(&s, since, &org);

	g_free(path);
	g_free(escaped);
	if (ret < 0)
		return ret;
	if (!json_str(org, "id")) {
		cJSON_Delete(org);
		return -EIO;
	}
	*json = cJSON_CreateString(json_str(org, "id"));
	store_object(a->o, "org", org, since);
	return 0;
}

static int fetch_alias(void *ctx, uint64_t since, cJSON **json)
{
	struct alias *a = ctx;

	if (a->kind == ALIAS_SLUG)
		return fetch_org_slug(a, since, json);
	return fetch_user_alias(a, since, json);
}

int objects_resolve(struct objects *o, enum alias_kind kind,
		    const char *value, char **id)
{
	static const char *const kinds[] = { "email", "phone", "username",
					     "slug" };
	struct alias a = { .o = o, .kind = kind, .value = value };
	char *folded = kind == ALIAS_EMAIL ? g_utf8_strdown(value, -1)
					   : g_strdup(value);
	char *key = g_strdup_printf("alias/%s/%s", kinds[kind], folded);
	struct cache_entry *entry;
	int ret = cache_get(o->cache, key, fetch_alias, &a, &entry);

	if (ret == 0) {
		*id = g_strdup(cJSON_GetStringValue(entry->json));
		cache_unref(o->cache, entry);
		ret = *id ? 0 : -EIO;
	}
	g_free(key);
	g_free(folded);
	return ret;
}
