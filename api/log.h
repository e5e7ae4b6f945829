/*
 * api/log.h - clerkfs's log: stderr in the foreground, syslog otherwise.
 *
 * One line per event, saying what failed first and quoting its subject.
 * The secret key is never passed here.  log_debug lines appear only with
 * -d.  The log is the one piece of process-wide state in clerkfs.
 */
#ifndef CLERKFS_API_LOG_H
#define CLERKFS_API_LOG_H

#include <stdbool.h>

enum log_level { LOG_LEVEL_ERROR, LOG_LEVEL_WARNING, LOG_LEVEL_INFO,
		 LOG_LEVEL_DEBUG };

/* to_syslog: once the daemon is in the background. */
void log_setup(bool to_syslog, bool debug);

void log_msg(enum log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define log_error(...) log_msg(LOG_LEVEL_ERROR, __VA_ARGS__)
#define log_warning(...) log_msg(LOG_LEVEL_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_LEVEL_DEBUG, __VA_ARGS__)

#endif
