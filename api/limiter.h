/*
 * api/limiter.h - the sliding-window rate limiter.
 *
 * Clerk counts requests per instance in a window (100 per 10 s on
 * development instances).  The limiter guarantees that no more than `max`
 * requests start in any `window` seconds, by reserving a start time for each
 * request: the earliest moment at which the request `max` places back has
 * left the window.  Reservations are handed out in order, so waiting
 * requests are served first come, first served.  A 429 pauses every request
 * until the time its Retry-After names; the requests held by a pause then
 * start one by one, window / max seconds apart, rather than all in the
 * instant the pause ends.
 *
 * Times are seconds on the monotonic clock (see limiter_now()).
 */
#ifndef CLERKFS_API_LIMITER_H
#define CLERKFS_API_LIMITER_H

#include <glib.h>

struct limiter {
	GMutex lock;
	int max;		/* requests allowed in any window */
	double window;		/* seconds */
	double *starts;		/* ring of the last `max` start times */
	int next;		/* ring slot the next reservation overwrites */
	double paused_until;	/* no start before this (429) */
	double resume_next;	/* after a pause, the next start; 0: none */
	unsigned long waits;	/* reservations that had to wait */
};

/* Sets up a limiter of max requests per window seconds; max >= 1. */
void limiter_init(struct limiter *lim, int max, double window);
void limiter_release(struct limiter *lim);

/* Seconds on the monotonic clock. */
double limiter_now(void);

/*
 * Reserves the earliest start time at or after now, and returns it in
 * *start.  Returns 0, or -ETIMEDOUT (reserving nothing) when that time
 * would be after deadline.  Does not sleep: the caller waits until *start.
 */
int limiter_reserve(struct limiter *lim, double now, double deadline,
		    double *start);

/* No request may start before until (a 429's Retry-After). */
void limiter_pause(struct limiter *lim, double until);

#endif
