/*
 * zone.h - calendar days and IANA time zones (through ICU's calendar), for
 * what is counted by the reader's local day: the analytics plugin's reports
 * and the core's consent statistics.  Compiled into both.
 *
 * A day is a count of days since 1970-01-01 (proleptic Gregorian), a time
 * is UTC seconds.  A struct seula_zone holds an ICU calendar, which is not
 * thread-safe: one per thread of use, opened and closed by its user.
 */
#ifndef SEULA_ZONE_H
#define SEULA_ZONE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

int64_t seula_days_from_civil(int64_t y, int m, int d);
void seula_civil_from_days(int64_t day, int *y, int *m, int *d);

/* "YYYY-MM-DD", a real date of the years 1970-9999, into *day. */
bool seula_date_parse(const char *s, int64_t *day);
/* The day as "YYYY-MM-DD" into buf (11 bytes). */
void seula_date_format(int64_t day, char *buf, size_t len);

struct seula_zone {
	void *cal; /* an ICU UCalendar */
	bool utc;  /* no offset all year, no daylight saving time */
};

/* Open the IANA zone `name` ("Europe/Helsinki", "UTC"); false for a name
 * ICU does not know as a system zone, with nothing to close. */
bool seula_zone_open(struct seula_zone *z, const char *name);
void seula_zone_close(struct seula_zone *z);

/* UTC seconds of the local midnight that starts `day`. */
int64_t seula_zone_midnight(struct seula_zone *z, int64_t day);

/* The local day and hour of UTC seconds t. */
void seula_zone_local(struct seula_zone *z, int64_t t, int64_t *day, int *hour);

#endif
