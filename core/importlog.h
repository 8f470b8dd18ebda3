/*
 * importlog.h - web server access log lines: parsing and which of them are
 * page views.
 *
 * Pure: no I/O, no globals, no allocation; the unit tests and the fuzz
 * target drive it directly.  `seula import-log` (cli_import.c) reads the
 * file, calls these on every line and sends the page views through the
 * pipeline and the store.
 *
 * Formats (Apache's names; nginx's default "combined" is the same):
 *   common          %h %l %u %t "%r" %>s %b
 *   combined        %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-agent}i"
 *   vhost_combined  %v:%p %h %l %u %t "%r" %>s %O "%{Referer}i"
 *                   "%{User-Agent}i"
 * Whatever follows the last field (nginx configs often append
 * $http_x_forwarded_for or timings) is ignored.  Quoted fields are
 * unescaped as both servers escape them: Apache writes \" and \\, nginx
 * \x22 and \x5C; \xHH becomes the byte.
 */
#ifndef SEULA_IMPORTLOG_H
#define SEULA_IMPORTLOG_H

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Longer lines are bad lines: no server writes one for a real request
 * (nginx and Apache refuse request lines of 8 KiB). */
#define SEULA_LOG_LINE_MAX 16384

enum seula_log_format {
	SEULA_LOG_COMBINED = 0,
	SEULA_LOG_COMMON = 1,
	SEULA_LOG_VHOST_COMBINED = 2,
};

/* Why a line is not a log line; 0 when it is. */
enum seula_log_error {
	SEULA_LOG_OK = 0,
	SEULA_LOG_E_EMPTY,      /* nothing but white space */
	SEULA_LOG_E_TOO_LONG,   /* over SEULA_LOG_LINE_MAX */
	SEULA_LOG_E_VHOST,      /* vhost_combined: no "host:port" field */
	SEULA_LOG_E_ADDRESS,    /* the client is not an IPv4/IPv6 address */
	SEULA_LOG_E_FIELDS,     /* ident or user field missing */
	SEULA_LOG_E_TIME,       /* no [dd/Mon/yyyy:HH:MM:SS +hhmm] */
	SEULA_LOG_E_REQUEST,    /* request field not a closed quoted string */
	SEULA_LOG_E_STATUS,     /* status not three digits */
	SEULA_LOG_E_BYTES,      /* size neither digits nor "-" */
	SEULA_LOG_E_REFERRER,   /* combined: referrer missing or unclosed */
	SEULA_LOG_E_USER_AGENT, /* combined: user agent missing or unclosed */
	SEULA_LOG_E_NUL,        /* a NUL byte: no server writes one */
	SEULA_LOG_E_COUNT_
};

/* One parsed line.  Strings point into the caller's line buffer, which the
 * parser unescapes and NUL-terminates in place; NULL means "-" or absent. */
struct seula_log_line {
	const char *vhost; /* vhost_combined: host without the port */
	struct seula_ip ip;
	int64_t time_ms;     /* ms since the epoch, UTC */
	const char *request; /* the request line as logged, unescaped */
	/* When the request line is "METHOD TARGET[ PROTOCOL]": */
	const char *method;
	const char *target; /* "/path?query" as sent, still %-encoded */
	int status;
	int64_t bytes; /* -1: "-" */
	const char *referrer;
	const char *user_agent;
};

/* "combined", "common" or "vhost_combined"; false for anything else. */
bool seula_log_format_parse(const char *name, enum seula_log_format *out);
const char *seula_log_format_name(enum seula_log_format fmt);

/* Parse line[0..len) (no newline; a trailing CR is ignored).  line[len]
 * must be writable: the parser NUL-terminates fields in place.  Returns
 * SEULA_LOG_OK or the first problem found. */
enum seula_log_error seula_log_parse(char *line, size_t len,
                                     enum seula_log_format fmt,
                                     struct seula_log_line *out);
/* One or two words for an error, e.g. "timestamp". */
const char *seula_log_error_name(enum seula_log_error e);

/* What a well-formed line is to the importer. */
enum seula_log_kind {
	SEULA_LOG_PAGEVIEW = 0,
	SEULA_LOG_SKIP_METHOD, /* not GET (HEAD, POST, ...) or no request */
	SEULA_LOG_SKIP_STATUS, /* not 2xx or 304; 204 and 206 neither */
	SEULA_LOG_SKIP_ASSET,  /* a static file: styles, scripts, images,
	                          fonts, media, downloads, feeds, robots.txt,
	                          /.well-known/ */
	SEULA_LOG_SKIP_TARGET, /* the target is not an origin-form path */
	SEULA_LOG_KIND_COUNT_
};

/* Page view or the reason it is not one (method, status and target only;
 * host, age and URL checks need the config and are the importer's). */
enum seula_log_kind seula_log_classify(const struct seula_log_line *l);

#endif
