/*
 * cache/cache.c - reference-counted TTL cache with LRU eviction and
 * single-flight fetches; see cache.h.
 */
#include "cache/cache.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <glib.h>

#include "api/limiter.h"

#define ENTRY_OVERHEAD 160

struct cache {
	GMutex lock;
	GCond fetched;
	double ttl, negative_ttl;
	size_t max_bytes;

	GHashTable *entries;	/* key -> struct cache_entry* */
	GQueue lru;		/* most recently used at the head */
	GHashTable *in_flight;	/* keys being fetched */
	GHashTable *written;	/* key -> epoch of its last write */
	GHashTable *unsettled;	/* prefix -> double* until; owns both */
	uint64_t epoch;

	struct cache_stats stats;
};

struct cache *cache_new(double ttl, double negative_ttl, size_t max_bytes)
{
	struct cache *cache = g_new0(struct cache, 1);

	g_mutex_init(&cache->lock);
	g_cond_init(&cache->fetched);
	cache->ttl = ttl;
	cache->negative_ttl = negative_ttl;
	cache->max_bytes = max_bytes;
	cache->entries = g_hash_table_new(g_str_hash, g_str_equal);
	g_queue_init(&cache->lru);
	cache->in_flight = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, NULL);
	cache->written = g_hash_table_new_full(g_str_hash, g_str_equal,
					       g_free, NULL);
	cache->unsettled = g_hash_table_new_full(g_str_hash, g_str_equal,
						 g_free, g_free);
	cache->epoch = 1;
	return cache;
}

static void entry_free(struct cache_entry *entry)
{
	cJSON_Delete((cJSON *)entry->json);
	g_free(entry->key);
	g_free(entry);
}

/* Drops the cache's own reference; the lock is held. */
static void entry_unlink(struct cache *cache, struct cache_entry *entry)
{
	g_hash_table_remove(cache->entries, entry->key);
	g_queue_delete_link(&cache->lru, entry->lru);
	entry->lru = NULL;
	cache->stats.bytes -= entry->bytes;
	cache->stats.entries--;
	if (--entry->refs == 0)
		entry_free(entry);
}

void cache_free(struct cache *cache)
{
	while (cache->lru.head)
		entry_unlink(cache, cache->lru.head->data);
	g_hash_table_destroy(cache->entries);
	g_hash_table_destroy(cache->in_flight);
	g_hash_table_destroy(cache->written);
	g_hash_table_destroy(cache->unsettled);
	g_cond_clear(&cache->fetched);
	g_mutex_clear(&cache->lock);
	g_free(cache);
}

/*
 * What malloc really takes for n bytes: glibc rounds each request up, with
 * its header, to 16 bytes and at least 32.  A user's tree is mostly small
 * strings and nodes, so counting only the bytes asked for would let the
 * cache grow to about 1.6 times its budget.
 */
static size_t heap_bytes(size_t n)
{
	size_t chunk = (n + sizeof(size_t) + 15) & ~(size_t)15;

	return chunk < 32 ? 32 : chunk;
}

static size_t string_bytes(const char *s)
{
	return s ? heap_bytes(strlen(s) + 1) : 0;
}

/* This item and its children, not its siblings. */
static size_t item_bytes(const cJSON *item)
{
	size_t bytes = heap_bytes(sizeof(cJSON)) + string_bytes(item->string) +
		       string_bytes(item->valuestring);

	for (const cJSON *child = item->child; child; child = child->next)
		bytes += item_bytes(child);
	return bytes;
}

size_t cache_json_bytes(const cJSON *json)
{
	return json ? item_bytes(json) : 0;
}

/* Evicts least recently used entries past the budget; lock held. */
static void evict(struct cache *cache)
{
	while (cache->stats.bytes > cache->max_bytes && cache->lru.tail) {
		entry_unlink(cache, cache->lru.tail->data);
		cache->stats.evictions++;
	}
}

/* A live entry for key, moved to the front, or NULL; lock held. */
static struct cache_entry *find_fresh(struct cache *cache, const char *key)
{
	struct cache_entry *entry = g_hash_table_lookup(cache->entries, key);

	if (!entry)
		return NULL;
	if (entry->expires <= limiter_now()) {
		entry_unlink(cache, entry);
		return NULL;
	}
	g_queue_unlink(&cache->lru, entry->lru);
	g_queue_push_head_link(&cache->lru, entry->lru);
	return entry;
}

static bool written_since(struct cache *cache, const char *key,
			  uint64_t since)
{
	gpointer epoch = g_hash_table_lookup(cache->written, key);

	return epoch && (uint64_t)GPOINTER_TO_SIZE(epoch) > since;
}

static void mark_written(struct cache *cache, const char *key)
{
	cache->epoch++;
	g_hash_table_insert(cache->written, g_strdup(key),
			    GSIZE_TO_POINTER(cache->epoch));
}

/* Whether key (any key when NULL) is under an unsettled prefix; lock held. */
static bool is_unsettled(struct cache *cache, const char *key)
{
	GHashTableIter it;
	gpointer prefix, until;
	double now = limiter_now();
	bool found = false;

	g_hash_table_iter_init(&it, cache->unsettled);
	while (g_hash_table_iter_next(&it, &prefix, &until)) {
		if (*(double *)until <= now)
			g_hash_table_iter_remove(&it);
		else if (!key || g_str_has_prefix(key, prefix))
			found = true;
	}
	return found;
}

/*
 * Links a new entry in place of any old one and returns it, with a
 * reference for the caller when hold is set; lock held.
 */
static struct cache_entry *insert(struct cache *cache, const char *key,
				  cJSON *json, int err, double ttl, bool hold)
{
	struct cache_entry *old = g_hash_table_lookup(cache->entries, key);
	struct cache_entry *entry = g_new0(struct cache_entry, 1);

	if (old)
		entry_unlink(cache, old);
	entry->refs = 1;
	entry->key = g_strdup(key);
	entry->json = json;
	entry->err = err;
	entry->stored = limiter_now();
	entry->expires = entry->stored + (is_unsettled(cache, key) ? 0 : ttl);
	entry->bytes = ENTRY_OVERHEAD + strlen(key) + cache_json_bytes(json);
	g_queue_push_head(&cache->lru, entry);
	entry->lru = cache->lru.head;
	g_hash_table_insert(cache->entries, entry->key, entry);
	cache->stats.bytes += entry->bytes;
	cache->stats.entries++;
	if (hold)
		entry->refs++;
	evict(cache);
	return entry;
}

uint64_t cache_epoch(struct cache *cache)
{
	uint64_t epoch;

	g_mutex_lock(&cache->lock);
	epoch = cache->epoch;
	g_mutex_unlock(&cache->lock);
	return epoch;
}

void cache_put(struct cache *cache, const char *key, cJSON *json,
	       uint64_t since, bool is_write)
{
	g_mutex_lock(&cache->lock);
	if (is_write)
		mark_written(cache, key);
	if (!is_write && written_since(cache, key, since))
		cJSON_Delete(json);
	else
		insert(cache, key, json, 0, cache->ttl, false);
	g_mutex_unlock(&cache->lock);
}

void cache_put_missing(struct cache *cache, const char *key, uint64_t since)
{
	g_mutex_lock(&cache->lock);
	if (!written_since(cache, key, since) && cache->negative_ttl > 0)
		insert(cache, key, NULL, -ENOENT, cache->negative_ttl, false);
	g_mutex_unlock(&cache->lock);
}

void cache_drop(struct cache *cache, const char *key)
{
	struct cache_entry *entry;

	g_mutex_lock(&cache->lock);
	mark_written(cache, key);
	entry = g_hash_table_lookup(cache->entries, key);
	if (entry)
		entry_unlink(cache, entry);
	g_mutex_unlock(&cache->lock);
}

void cache_drop_prefix(struct cache *cache, const char *prefix)
{
	GList *link, *next;

	g_mutex_lock(&cache->lock);
	for (link = cache->lru.head; link; link = next) {
		struct cache_entry *entry = link->data;

		next = link->next;
		if (g_str_has_prefix(entry->key, prefix)) {
			mark_written(cache, entry->key);
			entry_unlink(cache, entry);
		}
	}
	g_mutex_unlock(&cache->lock);
}

void cache_unsettle(struct cache *cache, const char *prefix, double until)
{
	double *at = g_new(double, 1);
	double *old;

	*at = until;
	g_mutex_lock(&cache->lock);
	old = g_hash_table_lookup(cache->unsettled, prefix);
	if (old && *old > until)
		*at = *old;
	g_hash_table_insert(cache->unsettled, g_strdup(prefix), at);
	g_mutex_unlock(&cache->lock);
	cache_drop_prefix(cache, prefix);
}

bool cache_unsettled(struct cache *cache)
{
	bool any;

	g_mutex_lock(&cache->lock);
	any = is_unsettled(cache, NULL);
	g_mutex_unlock(&cache->lock);
	return any;
}

void cache_unref(struct cache *cache, struct cache_entry *entry)
{
	if (!entry)
		return;
	g_mutex_lock(&cache->lock);
	if (--entry->refs == 0)
		entry_free(entry);
	g_mutex_unlock(&cache->lock);
}

double cache_entry_ttl(const struct cache_entry *entry)
{
	double left = entry->expires - limiter_now();

	return left > 0 ? left : 0;
}

/* Hands out a reference to a found entry; lock held. */
static int take(struct cache_entry *entry, struct cache_entry **out)
{
	if (entry->err)
		return entry->err;
	entry->refs++;
	*out = entry;
	return 0;
}

/*
 * Runs fetch without the lock and stores what it brings, returning 0 with a
 * referenced entry in *out, 1 when a write overtook the fetch (look
 * again), or a negative errno; lock held.
 */
static int fetch_locked(struct cache *cache, const char *key,
			cache_fetch_fn fetch, void *ctx,
			struct cache_entry **out)
{
	uint64_t since = cache->epoch;
	cJSON *json = NULL;
	int ret;

	g_hash_table_add(cache->in_flight, g_strdup(key));
	cache->stats.misses++;
	g_mutex_unlock(&cache->lock);
	ret = fetch(ctx, since, &json);
	g_mutex_lock(&cache->lock);
	g_hash_table_remove(cache->in_flight, key);
	g_cond_broadcast(&cache->fetched);

	if (ret == 0 && written_since(cache, key, since)) {
		cJSON_Delete(json);
		return 1;
	}
	if (ret == 0)
		*out = insert(cache, key, json, 0, cache->ttl, true);
	else if (ret == -ENOENT && !written_since(cache, key, since) &&
		 cache->negative_ttl > 0)
		insert(cache, key, NULL, -ENOENT, cache->negative_ttl, false);
	return ret;
}

static __thread bool only_cached;

void cache_set_only_cached(bool on)
{
	only_cached = on;
}

int cache_get(struct cache *cache, const char *key, cache_fetch_fn fetch,
	      void *ctx, struct cache_entry **out)
{
	struct cache_entry *entry;
	int ret;

	*out = NULL;
	g_mutex_lock(&cache->lock);
	for (;;) {
		entry = find_fresh(cache, key);
		if (entry) {
			cache->stats.hits++;
			ret = take(entry, out);
			break;
		}
		if (!fetch) {
			ret = -ENOENT;
			break;
		}
		if (only_cached) {
			ret = -EWOULDBLOCK;
			break;
		}
		if (g_hash_table_contains(cache->in_flight, key)) {
			cache->stats.waits++;
			g_cond_wait(&cache->fetched, &cache->lock);
			continue;
		}
		ret = fetch_locked(cache, key, fetch, ctx, out);
		if (ret <= 0)
			break;
	}
	g_mutex_unlock(&cache->lock);
	return ret;
}

bool cache_has(struct cache *cache, const char *key)
{
	struct cache_entry *entry;
	bool live;

	g_mutex_lock(&cache->lock);
	entry = g_hash_table_lookup(cache->entries, key);
	live = entry && entry->expires > limiter_now();
	g_mutex_unlock(&cache->lock);
	return live;
}

void cache_get_stats(struct cache *cache, struct cache_stats *stats)
{
	g_mutex_lock(&cache->lock);
	*stats = cache->stats;
	g_mutex_unlock(&cache->lock);
}

size_t cache_parse_size(const char *text)
{
	char *end;
	unsigned long long n = strtoull(text, &end, 10);

	if (end == text)
		return 0;
	switch (g_ascii_toupper(*end)) {
	case 'K':
		n <<= 10;
		end++;
		break;
	case 'M':
		n <<= 20;
		end++;
		break;
	case 'G':
		n <<= 30;
		end++;
		break;
	}
	if (*end == 'B' || *end == 'b')
		end++;
	return *end ? 0 : (size_t)n;
}
