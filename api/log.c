/*
 * api/log.c - see log.h.
 */
#include "api/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <syslog.h>

static bool log_to_syslog;
static bool log_debug_on;

void log_setup(bool to_syslog, bool debug)
{
	log_to_syslog = to_syslog;
	log_debug_on = debug;
	if (to_syslog)
		openlog("clerkfs", LOG_PID, LOG_DAEMON);
}

static int syslog_priority(enum log_level level)
{
	switch (level) {
	case LOG_LEVEL_ERROR:
		return LOG_ERR;
	case LOG_LEVEL_WARNING:
		return LOG_WARNING;
	case LOG_LEVEL_INFO:
		return LOG_INFO;
	default:
		return LOG_DEBUG;
	}
}

void log_msg(enum log_level level, const char *fmt, ...)
{
	static const char *const names[] = { "error", "warning", "info",
					     "debug" };
	va_list ap;

	if (level == LOG_LEVEL_DEBUG && !log_debug_on)
		return;
	va_start(ap, fmt);
	if (log_to_syslog) {
		vsyslog(syslog_priority(level), fmt, ap);
	} else {
		flockfile(stderr);
		fprintf(stderr, "clerkfs: %s: ", names[level]);
		vfprintf(stderr, fmt, ap);
		fputc('\n', stderr);
		funlockfile(stderr);
	}
	va_end(ap);
}
