/*
 * zone.c - time zones through ICU (see zone.h).
 */
#include "zone.h"

#include <math.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

bool seula_zone_open(struct seula_zone *z, const char *name)
{
	z->cal = NULL;
	if (!name || !*name || strlen(name) > 64)
		return false;
	UChar id[80], canon[80];
	u_uastrncpy(id, name, 79);
	id[79] = 0;
	UErrorCode st = U_ZERO_ERROR;
	UBool system = 0;
	/* ICU opens any id, unknown ones as GMT: only a system zone is one. */
	ucal_getCanonicalTimeZoneID(id, -1, canon, 80, &system, &st);
	if (U_FAILURE(st) || !system)
		return false;
	z->cal = ucal_open(id, -1, "en_US_POSIX", UCAL_GREGORIAN, &st);
	if (U_FAILURE(st)) {
		z->cal = NULL;
		return false;
	}
	/* A wall time the clocks pass twice (midnight in Havana when they
	 * go back) is its first: ICU takes the last by default, and a day
	 * then began an hour after the one seula_zone_local() puts in it. */
	ucal_setAttribute(z->cal, UCAL_REPEATED_WALL_TIME, UCAL_WALLTIME_FIRST);
	int32_t dst = ucal_getDSTSavings(id, &st);
	int32_t raw = ucal_get(z->cal, UCAL_ZONE_OFFSET, &st);
	z->utc = U_SUCCESS(st) && dst == 0 && raw == 0;
	/* Nor ever another offset: Africa/Sao_Tome is UTC now but was UTC+1
	 * in 2018, and its days of then are not UTC days. */
	UDate when;
	UErrorCode tst = U_ZERO_ERROR;
	if (z->utc &&
	    (ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_PREVIOUS,
	                                    &when, &tst) ||
	     ucal_getTimeZoneTransitionDate(z->cal, UCAL_TZ_TRANSITION_NEXT,
	                                    &when, &tst)))
		z->utc = false;
	return true;
}

void seula_zone_close(struct seula_zone *z)
{
	if (z->cal)
		ucal_close(z->cal);
	z->cal = NULL;
}

int64_t seula_zone_midnight(struct seula_zone *z, int64_t day)
{
	return seula_zone_at(z, day, 0);
}

int64_t seula_zone_at(struct seula_zone *z, int64_t day, int64_t secs)
{
	int y, m, d;
	day += secs / 86400;
	secs %= 86400;
	seula_civil_from_days(day, &y, &m, &d);
	UErrorCode st = U_ZERO_ERROR;
	ucal_clear(z->cal);
	ucal_setDateTime(z->cal, y, m - 1, d, (int32_t)(secs / 3600),
	                 (int32_t)(secs / 60 % 60), (int32_t)(secs % 60), &st);
	UDate ms = ucal_getMillis(z->cal, &st);
	return (int64_t)floor(ms / 1000.0);
}

int64_t seula_zone_wall(struct seula_zone *z, int64_t t)
{
	UErrorCode st = U_ZERO_ERROR;
	ucal_setMillis(z->cal, (UDate)t * 1000.0, &st);
	int32_t off = ucal_get(z->cal, UCAL_ZONE_OFFSET, &st) +
	              ucal_get(z->cal, UCAL_DST_OFFSET, &st);
	return t + off / 1000;
}

void seula_zone_date(const char *name, int64_t ms, char out[11])
{
	int64_t day = seula_floor_div(ms, 86400000);
	struct seula_zone z;
	if (seula_zone_open(&z, name)) {
		int hour;
		seula_zone_local(&z, seula_floor_div(ms, 1000), &day, &hour);
		seula_zone_close(&z);
	}
	seula_date_format(day, out, 11);
}

void seula_zone_local(struct seula_zone *z, int64_t t, int64_t *day, int *hour)
{
	UErrorCode st = U_ZERO_ERROR;
	ucal_setMillis(z->cal, (UDate)t * 1000.0, &st);
	int y = ucal_get(z->cal, UCAL_YEAR, &st);
	if (ucal_get(z->cal, UCAL_ERA, &st) == 0)
		y = 1 - y;
	int m = ucal_get(z->cal, UCAL_MONTH, &st) + 1;
	int d = ucal_get(z->cal, UCAL_DATE, &st);
	*hour = ucal_get(z->cal, UCAL_HOUR_OF_DAY, &st);
	*day = seula_days_from_civil(y, m, d);
}
