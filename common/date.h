/*
 * date.h - calendar days: a day is a count of days since 1970-01-01 in the
 * proleptic Gregorian calendar, free of any time zone.  Compiled into the
 * core and into the plugins that count days (analytics, customers).
 */
#ifndef SEULA_DATE_H
#define SEULA_DATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* a / b rounded down, not toward zero: the day of a time before 1970 (or
 * an hour before midnight UTC) is the one before.  b must not be 0. */
int64_t seula_floor_div(int64_t a, int64_t b);

int64_t seula_days_from_civil(int64_t y, int m, int d);
void seula_civil_from_days(int64_t day, int *y, int *m, int *d);

/* "YYYY-MM-DD", a real date of the years 1970-9999, into *day. */
bool seula_date_parse(const char *s, int64_t *day);
/* The day as "YYYY-MM-DD" into buf (11 bytes). */
void seula_date_format(int64_t day, char *buf, size_t len);

#endif
