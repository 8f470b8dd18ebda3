/*
 * event.h - struct seula_event, one per hit, and its fields.
 *
 * An event lives in the arena of the request (or import batch) that made it;
 * every string it holds is a copy in that arena.  The full client IP is held
 * inline so that seula_event_wipe_ip() really erases it.
 */
#ifndef SEULA_EVENT_H
#define SEULA_EVENT_H

#include "arena.h"

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEULA_EVENT_MAX_HEADERS 12
#define SEULA_FIELD_MAX_BYTES 4096  /* longest string field */
#define SEULA_HEADER_MAX_BYTES 1024 /* longer captured headers are cut */

struct seula_event_header {
	const char *name; /* static, canonical case */
	const char *value;
};

struct seula_event {
	struct seula_arena *arena;
	const char *str[SEULA_FIELD_COUNT_];
	int64_t num[SEULA_FIELD_COUNT_];
	uint64_t has_num; /* bit per field */
	struct seula_ip ip;
	bool has_ip;
	struct seula_event_header headers[SEULA_EVENT_MAX_HEADERS];
	size_t n_headers;
	int64_t row_id; /* set by the store after insert */
};

/* The request headers kept with an event, NULL-terminated. */
extern const char *const seula_event_captured_headers[];

/* A zeroed event in `arena`; NULL when the arena is full. */
struct seula_event *seula_event_new(struct seula_arena *arena);

bool seula_field_is_int(enum seula_field f);
/* Column name of a field in the events table (a name for the fields not
 * stored too). */
const char *seula_field_column(enum seula_field f);
/* Whether the events table has a column for it: not the raw user agent
 * (the enrich stage's input) nor a plugin's identity pseudonym. */
bool seula_field_is_stored(enum seula_field f);
/* Fields plugins may not set. */
bool seula_field_is_readonly(enum seula_field f);

/* Core setters: no read-only check.  Strings are validated (UTF-8, no NUL,
 * at most SEULA_FIELD_MAX_BYTES) and copied into the event's arena. */
int seula_event_set_str(struct seula_event *ev, enum seula_field f,
                        const char *value, size_t len);
int seula_event_set_int(struct seula_event *ev, enum seula_field f,
                        int64_t value);
int seula_event_clear(struct seula_event *ev, enum seula_field f);
const char *seula_event_str(const struct seula_event *ev, enum seula_field f);
int seula_event_int(const struct seula_event *ev, enum seula_field f,
                    int64_t *out);

void seula_event_set_ip(struct seula_event *ev, const struct seula_ip *ip);
const struct seula_ip *seula_event_ip(const struct seula_event *ev);
void seula_event_wipe_ip(struct seula_event *ev);

/* Keep a captured header: only names from seula_event_captured_headers, cut
 * at SEULA_HEADER_MAX_BYTES, every byte outside printable ASCII made '?'. */
int seula_event_add_header(struct seula_event *ev, const char *name,
                           const char *value);
const char *seula_event_header(const struct seula_event *ev, const char *name);

/* True when s[0..len) is well-formed UTF-8 with no NUL and no C0 control
 * other than tab. */
bool seula_text_valid(const char *s, size_t len);

#endif
