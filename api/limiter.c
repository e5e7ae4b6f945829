/*
 * api/limiter.c - sliding-window reservations; see limiter.h.
 */
#include "api/limiter.h"

#include <errno.h>
#include <time.h>

/* Reserve a little more than the window, so that the server, which sees a
 * request a moment after it starts, never counts one too many. */
#define LIMITER_MARGIN 0.05

void limiter_init(struct limiter *lim, int max, double window)
{
	g_mutex_init(&lim->lock);
	lim->max = max < 1 ? 1 : max;
	lim->window = window;
	lim->starts = g_new0(double, lim->max);
	for (int i = 0; i < lim->max; i++)
		lim->starts[i] = -1e9;
	lim->next = 0;
	lim->paused_until = 0;
	lim->resume_next = 0;
	lim->waits = 0;
}

void limiter_release(struct limiter *lim)
{
	g_free(lim->starts);
	lim->starts = NULL;
	g_mutex_clear(&lim->lock);
}

double limiter_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * The earliest start for a request asking at now; call with the lock held.
 * While the requests a pause held are being let go, each starts window /
 * max after the one before: the server has just said that we went too
 * fast, and would refuse them again if they all came at once.
 */
static double earliest_start(const struct limiter *lim, double now)
{
	double earliest = lim->starts[lim->next] + lim->window +
			  LIMITER_MARGIN;

	if (earliest < now)
		earliest = now;
	if (earliest < lim->paused_until)
		earliest = lim->paused_until;
	if (earliest < lim->resume_next)
		earliest = lim->resume_next;
	return earliest;
}

int limiter_reserve(struct limiter *lim, double now, double deadline,
		    double *start)
{
	double earliest;
	int ret = 0;

	g_mutex_lock(&lim->lock);
	earliest = earliest_start(lim, now);

	if (earliest > deadline) {
		ret = -ETIMEDOUT;
	} else {
		lim->starts[lim->next] = earliest;
		lim->next = (lim->next + 1) % lim->max;
		if (earliest > now)
			lim->waits++;
		/* The queue left by a pause ends at the first idle moment. */
		if (lim->resume_next > 0 && earliest <= lim->resume_next)
			lim->resume_next = earliest + lim->window / lim->max;
		else
			lim->resume_next = 0;
		*start = earliest;
	}
	g_mutex_unlock(&lim->lock);
	return ret;
}

void limiter_pause(struct limiter *lim, double until)
{
	g_mutex_lock(&lim->lock);
	if (until > lim->paused_until) {
		lim->paused_until = until;
		lim->resume_next = until;
	}
	g_mutex_unlock(&lim->lock);
}
