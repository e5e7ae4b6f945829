/*
 * Unit tests of cache/cache.c and the errno mapping of api/errors.c.
 */
#include <errno.h>
#include <glib.h>

#include "api/api.h"
#include "api/json.h"
#include "cache/cache.h"

static int fetches;

static int fetch_value(void *ctx, uint64_t since, cJSON **json)
{
	fetches++;
	*json = json_parse(ctx, strlen(ctx), NULL);
	return 0;
}

static int fetch_missing(void *ctx, uint64_t since, cJSON **json)
{
	fetches++;
	return -ENOENT;
}

static int fetch_broken(void *ctx, uint64_t since, cJSON **json)
{
	fetches++;
	return -EIO;
}

static void test_hit_after_fetch(void)
{
	struct cache *cache = cache_new(30, 5, 1 << 20);
	struct cache_entry *e;

	fetches = 0;
	g_assert_cmpint(cache_get(cache, "user/a", fetch_value, "{\"a\":1}",
				  &e), ==, 0);
	g_assert_cmpint(json_int(e->json, "a", 0), ==, 1);
	cache_unref(cache, e);
	g_assert_cmpint(cache_get(cache, "user/a", fetch_value, "{}", &e), ==,
			0);
	g_assert_cmpint(fetches, ==, 1);
	cache_unref(cache, e);
	cache_free(cache);
}

static void test_negative_and_transient(void)
{
	struct cache *cache = cache_new(30, 5, 1 << 20);
	struct cache_entry *e;

	fetches = 0;
	g_assert_cmpint(cache_get(cache, "k", fetch_missing, NULL, &e), ==,
			-ENOENT);
	g_assert_cmpint(cache_get(cache, "k", fetch_missing, NULL, &e), ==,
			-ENOENT);
	g_assert_cmpint(fetches, ==, 1);
	/* A transient failure is never remembered. */
	g_assert_cmpint(cache_get(cache, "t", fetch_broken, NULL, &e), ==,
			-EIO);
	g_assert_cmpint(cache_get(cache, "t", fetch_broken, NULL, &e), ==,
			-EIO);
	g_assert_cmpint(fetches, ==, 3);
	cache_free(cache);
}

static void test_write_wins_over_fetch(void)
{
	struct cache *cache = cache_new(30, 5, 1 << 20);
	uint64_t since = cache_epoch(cache);
	struct cache_entry *e;

	cache_put(cache, "user/a", json_parse("{\"v\":2}", 7, NULL), 0, true);
	/* A fetch that began before the write cannot put the old back. */
	cache_put(cache, "user/a", json_parse("{\"v\":1}", 7, NULL), since,
		  false);
	g_assert_cmpint(cache_get(cache, "user/a", NULL, NULL, &e), ==, 0);
	g_assert_cmpint(json_int(e->json, "v", 0), ==, 2);
	cache_unref(cache, e);
	cache_free(cache);
}

static void test_lru_budget(void)
{
	struct cache *cache = cache_new(30, 5, 4096);
	struct cache_entry *e, *held;
	struct cache_stats st;
	char key[32];

	g_assert_cmpint(cache_get(cache, "first", fetch_value, "[1,2,3]",
				  &held), ==, 0);
	for (int i = 0; i < 200; i++) {
		g_snprintf(key, sizeof(key), "k%d", i);
		g_assert_cmpint(cache_get(cache, key, fetch_value,
					  "{\"a\":\"bbbbbbbbbbbbbbbb\"}", &e),
				==, 0);
		cache_unref(cache, e);
	}
	cache_get_stats(cache, &st);
	g_assert_cmpuint(st.bytes, <=, 4096);
	g_assert_cmpuint(st.evictions, >, 0);
	/* An evicted entry stays valid for its holder. */
	g_assert_cmpint(cJSON_GetArraySize(held->json), ==, 3);
	cache_unref(cache, held);
	cache_free(cache);
}

/* Whether key is cached, without fetching it. */
static bool cached(struct cache *cache, const char *key)
{
	struct cache_entry *e;
	int ret = cache_get(cache, key, NULL, NULL, &e);

	cache_unref(cache, e);
	return ret == 0;
}

static size_t entry_size(void)
{
	struct cache *probe = cache_new(30, 5, 1 << 20);
	struct cache_entry *e;
	struct cache_stats st;

	cache_get(probe, "A", fetch_value, "{}", &e);
	cache_unref(probe, e);
	cache_get_stats(probe, &st);
	cache_free(probe);
	return st.bytes;
}

static void test_lru_keeps_what_was_touched(void)
{
	/* Room for three entries of the same size, not four. */
	struct cache *cache = cache_new(30, 5, 3 * entry_size() + 1);
	struct cache_entry *e;
	struct cache_stats st;

	for (const char *k = "ABC"; *k; k++) {
		char key[2] = { *k, 0 };

		cache_get(cache, key, fetch_value, "{}", &e);
		cache_unref(cache, e);
	}
	/* A was stored first but used last: B is now the oldest. */
	g_assert_cmpint(cache_get(cache, "A", NULL, NULL, &e), ==, 0);
	cache_unref(cache, e);
	cache_get(cache, "D", fetch_value, "{}", &e);
	cache_unref(cache, e);

	cache_get_stats(cache, &st);
	g_assert_cmpuint(st.evictions, ==, 1);
	g_assert_true(cached(cache, "A"));
	g_assert_false(cached(cache, "B"));
	g_assert_true(cached(cache, "C"));
	g_assert_true(cached(cache, "D"));
	cache_free(cache);
}

static void test_parse_size(void)
{
	g_assert_cmpuint(cache_parse_size("256M"), ==, 256u << 20);
	g_assert_cmpuint(cache_parse_size("64K"), ==, 64u << 10);
	g_assert_cmpuint(cache_parse_size("1G"), ==, 1u << 30);
	g_assert_cmpuint(cache_parse_size("1000"), ==, 1000);
	g_assert_cmpuint(cache_parse_size("12Q"), ==, 0);
	g_assert_cmpuint(cache_parse_size(""), ==, 0);
}

static void test_errno_mapping(void)
{
	g_assert_cmpint(api_status_errno(404, NULL, "GET"), ==, -ENOENT);
	g_assert_cmpint(api_status_errno(401, NULL, "GET"), ==, -EACCES);
	g_assert_cmpint(api_status_errno(403, NULL, "GET"), ==, -EACCES);
	g_assert_cmpint(api_status_errno(402, NULL, "GET"), ==, -EOPNOTSUPP);
	g_assert_cmpint(api_status_errno(409, NULL, "POST"), ==, -EEXIST);
	g_assert_cmpint(api_status_errno(409, NULL, "DELETE"), ==, -EBUSY);
	g_assert_cmpint(api_status_errno(422, "form_identifier_exists",
					 "POST"), ==, -EEXIST);
	g_assert_cmpint(api_status_errno(422, "form_param_invalid", "PATCH"),
			==, -EINVAL);
	g_assert_cmpint(api_status_errno(400, NULL, "PUT"), ==, -EINVAL);
	g_assert_cmpint(api_status_errno(429, NULL, "GET"), ==, -EAGAIN);
	g_assert_cmpint(api_status_errno(502, NULL, "GET"), ==, -EIO);
}

static void test_escape(void)
{
	GString *q = g_string_new(NULL);
	char *e = api_escape("a b+c@d/é");

	g_assert_cmpstr(e, ==, "a%20b%2Bc%40d%2F%C3%A9");
	api_query_add(q, "email_address", "x+1@example.com");
	api_query_add(q, "limit", "500");
	g_assert_cmpstr(q->str, ==, "email_address=x%2B1%40example.com&limit=500");
	g_free(e);
	g_string_free(q, TRUE);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/cache/hit-after-fetch", test_hit_after_fetch);
	g_test_add_func("/cache/negative-and-transient",
			test_negative_and_transient);
	g_test_add_func("/cache/write-wins", test_write_wins_over_fetch);
	g_test_add_func("/cache/lru-budget", test_lru_budget);
	g_test_add_func("/cache/lru-keeps-touched",
			test_lru_keeps_what_was_touched);
	g_test_add_func("/cache/parse-size", test_parse_size);
	g_test_add_func("/api/errno", test_errno_mapping);
	g_test_add_func("/api/escape", test_escape);
	return g_test_run();
}
