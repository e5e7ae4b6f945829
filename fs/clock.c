/*
 * fs/clock.c - file times of users whose lock counts down or has ended.
 *
 * One record per user seen counting down, dropped once the user's
 * updated_at passes the time it holds; an instance has few locked users.
 */
#include <time.h>

#include "api/json.h"
#include "api/limiter.h"
#include "fs/clock.h"

struct lock_clock {
	long long shown_ms;	/* the latest time shown for this user */
	bool ended;		/* the countdown was seen ending */
};

void clock_init(struct clerkfs *fs)
{
	g_mutex_init(&fs->clocks_lock);
	fs->clocks = g_hash_table_new_full(g_str_hash, g_str_equal, g_free,
					   g_free);
}

void clock_release(struct clerkfs *fs)
{
	g_hash_table_destroy(fs->clocks);
	g_mutex_clear(&fs->clocks_lock);
}

/* The wall-clock ms at which the cache stored entry. */
static long long stored_ms(const struct cache_entry *entry)
{
	struct timespec now;
	double age = limiter_now() - entry->stored;

	clock_gettime(CLOCK_REALTIME, &now);
	return (long long)((now.tv_sec + now.tv_nsec / 1e9 - age) * 1000);
}

/* The user's record, made when missing; fs->clocks_lock held. */
static struct lock_clock *clock_of(struct clerkfs *fs, const char *id)
{
	struct lock_clock *c = g_hash_table_lookup(fs->clocks, id);

	if (!c) {
		c = g_new0(struct lock_clock, 1);
		g_hash_table_insert(fs->clocks, g_strdup(id), c);
	}
	return c;
}

/* The time while the lock counts down: that of the fetch. */
static long long counting(struct clerkfs *fs, const char *id,
			  long long updated, const struct cache_entry *user)
{
	struct lock_clock *c = clock_of(fs, id);

	c->shown_ms = MAX(c->shown_ms, MAX(updated, stored_ms(user)));
	c->ended = false;
	return c->shown_ms;
}

/* The time once the lock has ended, or updated_at if it moved past. */
static long long settled(struct clerkfs *fs, const char *id,
			 long long updated, const struct cache_entry *user)
{
	struct lock_clock *c = g_hash_table_lookup(fs->clocks, id);

	if (!c)
		return updated;
	if (updated > c->shown_ms) {
		g_hash_table_remove(fs->clocks, id);
		return updated;
	}
	if (!c->ended) {
		c->shown_ms = MAX(c->shown_ms + 1, stored_ms(user));
		c->ended = true;
	}
	return c->shown_ms;
}

long long clock_user_mtime(struct clerkfs *fs, const struct cache_entry *user)
{
	const char *id = json_str(user->json, "id");
	long long updated = json_int(user->json, "updated_at", 0);
	long long ms;

	if (!id)
		return updated;
	g_mutex_lock(&fs->clocks_lock);
	if (!json_is_null(user->json, "lockout_expires_in_seconds"))
		ms = counting(fs, id, updated, user);
	else
		ms = settled(fs, id, updated, user);
	g_mutex_unlock(&fs->clocks_lock);
	return ms;
}
