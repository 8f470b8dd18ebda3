/*
 * log.h - one-line log records on stderr.
 *
 * Only main, the HTTP layer, the loader and the writer's error path log;
 * library code returns errors.  Safe from any thread (one fprintf a line).
 */
#ifndef SEULA_LOG_H
#define SEULA_LOG_H

#include <seula/plugin.h>
#include <stdarg.h>
#include <stdio.h>

struct seula_logger {
	enum seula_log_level level; /* records above it are skipped */
	FILE *out;                  /* stderr unless a test says otherwise */
};

void seula_log(const struct seula_logger *log, enum seula_log_level level,
               const char *tag, const char *fmt, ...) SEULA_PRINTF(4, 5);
void seula_logv(const struct seula_logger *log, enum seula_log_level level,
                const char *tag, const char *fmt, va_list ap);

/* "error", "warn", "info", "debug" or -1. */
int seula_log_level_parse(const char *name);

#endif
