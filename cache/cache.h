/*
 * cache/cache.h - the object cache shared by every FUSE thread.
 *
 * Entries map a key ("user/user_2x", "list/users") to an immutable cJSON
 * tree, or to a remembered 404.  Entries are reference counted: a reader
 * holds a reference while it uses the tree, and eviction or replacement
 * never frees a tree under a reader.  Entries live cache_ttl seconds (404s
 * negative_ttl seconds); the least recently used are evicted first when the
 * estimated size passes the budget.
 *
 * cache_get() fetches through the cache with one request in flight per
 * key: threads that want a key being fetched wait for that fetch.  Writes
 * call cache_put() or cache_drop(), which advance the key's write epoch, so
 * a fetch that started before the write cannot put the older object back.
 */
#ifndef CLERKFS_CACHE_CACHE_H
#define CLERKFS_CACHE_CACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <cjson/cJSON.h>

struct cache_entry {
	int refs;		/* guarded by the cache's lock */
	char *key;
	const cJSON *json;	/* NULL for a remembered 404 */
	int err;		/* 0, or -ENOENT */
	double stored;		/* limiter_now() when stored */
	double expires;
	size_t bytes;		/* estimated memory */
	void *lru;		/* the cache's list link; private */
};

struct cache_stats {
	unsigned long hits, misses, waits, evictions;
	size_t bytes, entries;
};

struct cache;

/*
 * Fills *json with a newly fetched tree (ownership passes to the cache) and
 * returns 0, or returns a negative errno.  since is the epoch the fetch
 * started in, for storing other keys the reply also holds (cache_put).
 */
typedef int (*cache_fetch_fn)(void *ctx, uint64_t since, cJSON **json);

struct cache *cache_new(double ttl, double negative_ttl, size_t max_bytes);
void cache_free(struct cache *cache);

/*
 * Returns 0 with a referenced entry in *out (release with cache_unref), or
 * a negative errno: a remembered or fresh 404 is -ENOENT, other failures
 * come from fetch and are not remembered.  fetch may be NULL to only look.
 */
int cache_get(struct cache *cache, const char *key, cache_fetch_fn fetch,
	      void *ctx, struct cache_entry **out);

/*
 * While set on the calling thread, cache_get() never fetches: a key that is
 * not cached answers -EWOULDBLOCK at once.  For work that is worth doing
 * only when it costs no request (attributes handed out with a listing).
 */
void cache_set_only_cached(bool on);

/*
 * Whether key holds a live entry (an object or a remembered 404).  Unlike
 * cache_get, it is not a use: the entry keeps its place in the LRU order.
 */
bool cache_has(struct cache *cache, const char *key);

/* The current write epoch, to pass as since to cache_put. */
uint64_t cache_epoch(struct cache *cache);

/*
 * Stores json (ownership passes to the cache) under key, unless the key was
 * written after since; a write passes since = 0 to force the store and
 * advance the epoch.  Returns nothing: the cache may refuse silently.
 */
void cache_put(struct cache *cache, const char *key, cJSON *json,
	       uint64_t since, bool is_write);

/* Remembers key as missing (a 404) for the negative TTL. */
void cache_put_missing(struct cache *cache, const char *key, uint64_t since);

/* Forgets key and advances its write epoch. */
void cache_drop(struct cache *cache, const char *key);

/* Forgets every key starting with prefix (lists affected by a write). */
void cache_drop_prefix(struct cache *cache, const char *prefix);

/*
 * Forgets every key starting with prefix and, until the time until
 * (limiter_now() seconds), stores them with no time to live: a change
 * whose request went out and was abandoned may still land at the server,
 * so each read meanwhile asks the API.
 */
void cache_unsettle(struct cache *cache, const char *prefix, double until);
/* Whether some prefix is unsettled now: a 404 is then not remembered. */
bool cache_unsettled(struct cache *cache);

void cache_unref(struct cache *cache, struct cache_entry *entry);

/* Seconds the entry has left to live (0 when expired). */
double cache_entry_ttl(const struct cache_entry *entry);

void cache_get_stats(struct cache *cache, struct cache_stats *stats);

/* Parses "256M", "64K", "1G" or bytes; 0 on a malformed value. */
size_t cache_parse_size(const char *text);

/* Estimated bytes a tree takes in memory. */
size_t cache_json_bytes(const cJSON *json);

#endif
