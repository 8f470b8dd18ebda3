/*
 * zone.h - IANA time zones (through ICU's calendar), for what is counted by
 * the reader's local day: the analytics plugin's reports and the core's
 * consent statistics.  Compiled into both.
 *
 * Days are date.h's, times UTC seconds.  A struct seula_zone holds an ICU
 * calendar, which is not thread-safe: one per thread of use, opened and
 * closed by its user.
 */
#ifndef SEULA_ZONE_H
#define SEULA_ZONE_H

#include "date.h"

#include <stdbool.h>
#include <stdint.h>

struct seula_zone {
	void *cal; /* an ICU UCalendar */
	bool utc;  /* no offset, never: every day is a UTC day */
};

/* Open the IANA zone `name` ("Europe/Helsinki", "UTC"); false for a name
 * ICU does not know as a system zone, with nothing to close. */
bool seula_zone_open(struct seula_zone *z, const char *name);
void seula_zone_close(struct seula_zone *z);

/* UTC seconds of the local midnight that starts `day`. */
int64_t seula_zone_midnight(struct seula_zone *z, int64_t day);

/* UTC seconds of the time the clock reads `secs` (0 or more) seconds past
 * midnight on local `day`: 15:00 of a day of 23 or 25 hours is still
 * 15:00, not 15 hours after its midnight.  A time the clocks skip is
 * read as after the change, one they pass twice as its first. */
int64_t seula_zone_at(struct seula_zone *z, int64_t day, int64_t secs);

/* What the local clock reads at UTC seconds t, as seconds since
 * 1970-01-01 00:00 of that clock (day * 86400 + seconds into the day). */
int64_t seula_zone_wall(struct seula_zone *z, int64_t t);

/* The local day and hour of UTC seconds t. */
void seula_zone_local(struct seula_zone *z, int64_t t, int64_t *day, int *hour);

/* The date ("YYYY-MM-DD") in zone `name` at UTC milliseconds ms; a name
 * that is not a system zone counts as UTC.  Opens and closes a calendar
 * of its own, so any thread may call it; for a day now and then, not in
 * a loop. */
void seula_zone_date(const char *name, int64_t ms, char out[11]);

#endif
