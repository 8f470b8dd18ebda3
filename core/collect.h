/*
 * collect.h - turn a collect request (JSON body or GET query) into validated
 * events.
 *
 * Pure: no I/O, no globals; the fuzz target drives it directly.  A request is
 * all or nothing: if any event in it is bad, no event is made and `err` says
 * which one and why.
 */
#ifndef SEULA_COLLECT_H
#define SEULA_COLLECT_H

#include "arena.h"
#include "config.h"
#include "event.h"

#include <stddef.h>
#include <stdint.h>

/* Wire limits of one event. */
#define SEULA_URL_MAX 2048       /* a URL as stored */
#define SEULA_URL_INPUT_MAX 8192 /* as sent: its query may go */
#define SEULA_TITLE_MAX 1024
#define SEULA_NAME_MAX 128
#define SEULA_PROPS_MAX 30
#define SEULA_PROP_KEY_MAX 64
#define SEULA_PROP_VALUE_MAX 512
#define SEULA_UTM_MAX 256
#define SEULA_ENGAGEMENT_MAX_MS 86400000

struct seula_collect_error {
	int status;       /* HTTP status to answer */
	const char *code; /* machine-readable, static */
	char message[256];
};

struct seula_collect_request {
	const struct seula_config *cfg;
	const char *origin; /* Origin header, or NULL */
	struct seula_ip client_ip;
	int64_t now_ms;
	/* Captured request headers (see seula_event_captured_headers). */
	const struct seula_event_header *headers;
	size_t n_headers;
};

struct seula_collect_result {
	struct seula_event **events; /* in the arena */
	size_t n_events;
};

/* Parse a JSON body: one event object or an array of them. */
int seula_collect_parse_json(const struct seula_collect_request *req,
                             const char *body, size_t len,
                             struct seula_arena *arena,
                             struct seula_collect_result *out,
                             struct seula_collect_error *err);

/* Parse the query string of GET /api/collect (one event). */
int seula_collect_parse_query(const struct seula_collect_request *req,
                              const char *query, struct seula_arena *arena,
                              struct seula_collect_result *out,
                              struct seula_collect_error *err);

/* The page URL and the referrer kept as the collect path keeps them (path,
 * utm_* into their fields, only keep_query parameters, no fragment; the
 * referrer without its query): `seula import-log` builds its page views
 * with these so imported and collected URLs are alike. */
int seula_collect_take_url(struct seula_event *ev,
                           const struct seula_site *site, const char *url,
                           size_t len, struct seula_collect_error *err);
int seula_collect_take_referrer(struct seula_event *ev, const char *ref,
                                size_t len, struct seula_collect_error *err);

/* True when `origin` ("scheme://host[:port]") may send for `site`. */
bool seula_collect_origin_allowed(const struct seula_site *site,
                                  const char *origin);

#endif
