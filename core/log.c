/*
 * log.c - one-line log records: "2026-11-25T06:00:00.123Z info core: text".
 */
#include "log.h"

#include <string.h>
#include <sys/time.h>
#include <time.h>

static const char *const level_names[] = {"error", "warn", "info", "debug"};

int seula_log_level_parse(const char *name)
{
	for (int i = 0; i < 4; i++)
		if (strcmp(name, level_names[i]) == 0)
			return i;
	return -1;
}

void seula_logv(const struct seula_logger *log, enum seula_log_level level,
                const char *tag, const char *fmt, va_list ap)
{
	if (!log || level > log->level || level < 0)
		return;
	struct timeval tv;
	gettimeofday(&tv, NULL);
	struct tm tm;
	gmtime_r(&tv.tv_sec, &tm);
	char msg[2048];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	FILE *out = log->out ? log->out : stderr;
	fprintf(out, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %s %s: %s\n",
	        tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
	        tm.tm_min, tm.tm_sec, (long)(tv.tv_usec / 1000),
	        level_names[level], tag ? tag : "core", msg);
}

void seula_log(const struct seula_logger *log, enum seula_log_level level,
               const char *tag, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	seula_logv(log, level, tag, fmt, ap);
	va_end(ap);
}
