/*
 * dsrutil.h - the pure parts of the data subject rights (dsr.c): deadline
 * arithmetic and the export's CSV.  No host, no database; unit tested in
 * tests/unit/test_dsr.c.
 *
 * Deadlines.  A request is answered within one month of its receipt,
 * extendable by two further months (GDPR art. 12(3)).  A period in months
 * ends on the same day of the month that many months later, or on the
 * month's last day when it has no such day (Regulation 1182/71 art. 3:
 * received 31 January, due 28 or 29 February).  Extensions count from the
 * receipt, not from the previous deadline, so 31 January extended by two
 * months is due 30 April, never 28 April.
 */
#ifndef CUST_DSRUTIL_H
#define CUST_DSRUTIL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The longest extension, in months. */
#define DSR_MAX_EXTENSION_MONTHS 2

/* `date` (YYYY-MM-DD) plus `months` calendar months (0-1200) into out;
 * 0, or -1 when date is not a real day. */
int dsr_add_months(const char *date, int months, char out[11]);

/* Days from `from` to `to` (both YYYY-MM-DD; negative when to is
 * earlier); 0, or -1 when either is not a real day. */
int dsr_days_between(const char *from, const char *to, int64_t *days);

/* The day of `ms` (ms since the epoch) in IANA zone `zone` as
 * YYYY-MM-DD (zone.h's seula_zone_date(): an unknown zone is UTC). */
void dsr_day_of(const char *zone, int64_t ms, char out[11]);

/* One CSV (RFC 4180, CRLF, UTF-8) of `rows`, an array of flat objects: the
 * header is every key in the order first seen; null is an empty cell, a
 * number or boolean its JSON text, an object or array its compact JSON, a
 * string itself, but one a spreadsheet would run as a formula (=, +, -,
 * @, tab, CR first) gets an apostrophe in front, as the labels do.  No
 * rows: an empty text.
 * *out is malloc'd (the caller frees it).  0, or -1 when out of memory or
 * `rows` is not an array of objects. */
int dsr_csv(const json_t *rows, char **out, size_t *len);

/* Whether `name` is a file-name-safe part ([a-z0-9_], 1-64 bytes): the
 * export names each CSV after its component and table. */
bool dsr_name_ok(const char *name);

#endif
