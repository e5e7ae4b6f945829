/*
 * Unit tests of api/limiter.c: never more than max starts in any window.
 */
#include <errno.h>
#include <glib.h>

#include "api/limiter.h"

/* Reserves n starts from t0 on and returns them. */
static double *reserve_all(struct limiter *lim, int n, double t0)
{
	double *starts = g_new(double, n);

	for (int i = 0; i < n; i++)
		g_assert_cmpint(limiter_reserve(lim, t0, 1e9, &starts[i]), ==,
				0);
	return starts;
}

static void test_sliding_window(void)
{
	struct limiter lim;
	double *starts;
	int n = 350;

	limiter_init(&lim, 100, 10);
	starts = reserve_all(&lim, n, 1000);
	/* The first 100 start at once, then each waits out the window. */
	g_assert_cmpfloat(starts[99], ==, 1000);
	g_assert_cmpfloat(starts[100], >=, 1010);
	for (int i = 0; i < n; i++) {
		int in_window = 0;

		for (int j = 0; j < n; j++)
			if (starts[j] >= starts[i] && starts[j] < starts[i] + 10)
				in_window++;
		g_assert_cmpint(in_window, <=, 100);
	}
	g_free(starts);
	limiter_release(&lim);
}

static void test_deadline(void)
{
	struct limiter lim;
	double start;

	limiter_init(&lim, 2, 10);
	g_assert_cmpint(limiter_reserve(&lim, 0, 1, &start), ==, 0);
	g_assert_cmpint(limiter_reserve(&lim, 0, 1, &start), ==, 0);
	g_assert_cmpint(limiter_reserve(&lim, 0, 1, &start), ==, -ETIMEDOUT);
	/* A refused reservation takes no place. */
	g_assert_cmpint(limiter_reserve(&lim, 0, 20, &start), ==, 0);
	g_assert_cmpfloat(start, >=, 10);
	limiter_release(&lim);
}

static void test_pause(void)
{
	struct limiter lim;
	double start;

	limiter_init(&lim, 100, 10);
	limiter_pause(&lim, 50);
	g_assert_cmpint(limiter_reserve(&lim, 40, 100, &start), ==, 0);
	g_assert_cmpfloat(start, ==, 50);
	g_assert_cmpint(limiter_reserve(&lim, 40, 45, &start), ==, -ETIMEDOUT);
	limiter_release(&lim);
}

/* Requests held by a pause leave it one by one, not all at once. */
static void test_pause_spreads_the_release(void)
{
	struct limiter lim;
	double start[5], later;

	limiter_init(&lim, 100, 10);
	limiter_pause(&lim, 50);
	for (int i = 0; i < 5; i++)
		g_assert_cmpint(limiter_reserve(&lim, 40 + i * 0.01, 100,
						&start[i]), ==, 0);
	g_assert_cmpfloat(start[0], ==, 50);
	for (int i = 1; i < 5; i++)
		g_assert_cmpfloat(start[i] - start[i - 1], >=, 0.1 - 1e-9);
	/* Once the queue has drained, a request starts at once again. */
	g_assert_cmpint(limiter_reserve(&lim, 60, 100, &later), ==, 0);
	g_assert_cmpfloat(later, ==, 60);
	g_assert_cmpint(limiter_reserve(&lim, 60, 100, &later), ==, 0);
	g_assert_cmpfloat(later, ==, 60);
	limiter_release(&lim);
}

int main(int argc, char **argv)
{
	g_test_init(&argc, &argv, NULL);
	g_test_add_func("/limiter/sliding-window", test_sliding_window);
	g_test_add_func("/limiter/deadline", test_deadline);
	g_test_add_func("/limiter/pause", test_pause);
	g_test_add_func("/limiter/pause-spreads-the-release",
			test_pause_spreads_the_release);
	return g_test_run();
}
