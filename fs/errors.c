/*
 * fs/errors.c - refusals a person can read in .clerkfs/errors, and the
 * figures of .clerkfs/stats.
 */
#include "fs/fs.h"

#include <errno.h>
#include <string.h>
#include <time.h>

#include "api/log.h"

#define ERRORS_KEPT 100

/* "ENOENT" for ENOENT: the name a person can search for. */
static const char *errno_name(int err)
{
	const char *name = strerrorname_np(err);

	return name ? name : "error";
}

void fs_refuse(struct clerkfs *fs, const char *path, int err,
	       const char *reason)
{
	char stamp[32];
	struct tm tm;
	time_t now = time(NULL);
	char *line;

	if (err < 0)
		err = -err;
	gmtime_r(&now, &tm);
	strftime(stamp, sizeof(stamp), "%Y-%m-%dT%H:%M:%SZ", &tm);
	line = g_strdup_printf("%s %s: %s (%s): %s", stamp, path,
			       strerror(err), errno_name(err), reason);
	log_error("%s: %s (%s): %s", path, strerror(err), errno_name(err),
		  reason);

	g_mutex_lock(&fs->errors_lock);
	g_queue_push_tail(&fs->errors, line);
	while (g_queue_get_length(&fs->errors) > ERRORS_KEPT)
		g_free(g_queue_pop_head(&fs->errors));
	g_mutex_unlock(&fs->errors_lock);
}

void fs_errors_format(struct clerkfs *fs, GString *out)
{
	g_mutex_lock(&fs->errors_lock);
	for (GList *l = fs->errors.head; l; l = l->next)
		g_string_append_printf(out, "%s\n", (char *)l->data);
	g_mutex_unlock(&fs->errors_lock);
}

void fs_stats_format(struct clerkfs *fs, GString *out)
{
	struct cache_stats cs;

	api_stats_format(fs->api, out);
	cache_get_stats(fs->cache, &cs);
	g_string_append_printf(out, "cache_hits\t%lu\n", cs.hits);
	g_string_append_printf(out, "cache_misses\t%lu\n", cs.misses);
	g_string_append_printf(out, "cache_waits\t%lu\n", cs.waits);
	g_string_append_printf(out, "cache_evictions\t%lu\n", cs.evictions);
	g_string_append_printf(out, "cache_entries\t%zu\n", cs.entries);
	g_string_append_printf(out, "cache_bytes\t%zu\n", cs.bytes);
	g_string_append_printf(out, "cache_max\t%zu\n", fs->opts.cache_max);
}
