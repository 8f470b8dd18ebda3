/*
 * zone.c - calendar days and time zones (see zone.h).
 */
#include "zone.h"

#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <unicode/ucal.h>
#include <unicode/ustring.h>

/* Howard Hinnant's algorithms: plain arithmetic no library offers for
 * int64 days. */
int64_t seula_days_from_civil(int64_t y, int m, int d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

void seula_civil_from_days(int64_t z, int *y, int *m, int *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	*d = (int)(doy - (153 * mp + 2) / 5 + 1);
	*m = (int)(mp < 10 ? mp + 3 : mp - 9);
	*y = (int)(yoe + era * 400 + (*m <= 2));
}

bool seula_date_parse(const char *s, int64_t *day)
{
	int y, m, d;
	char tail;
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3)
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !isdigit((unsigned char)s[i]))
			return false;
	if (y < 1970 || y > 9999 || m < 1 || m > 12 || d < 1)
		return false;
	static const int mdays[] = {31, 28, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	if (d > mdays[m - 1] + (m == 2 && leap))
		return false;
	*day = seula_days_from_civil(y, m, d);
	return true;
}

void seula_date_format(int64_t day, char *buf, size_t len)
{
	int y, m, d;
	seula_civil_from_days(day, &y, &m, &d);
	snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

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
	int32_t dst = ucal_getDSTSavings(id, &st);
	int32_t raw = ucal_get(z->cal, UCAL_ZONE_OFFSET, &st);
	z->utc = U_SUCCESS(st) && dst == 0 && raw == 0;
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
	int y, m, d;
	seula_civil_from_days(day, &y, &m, &d);
	UErrorCode st = U_ZERO_ERROR;
	ucal_clear(z->cal);
	ucal_setDateTime(z->cal, y, m - 1, d, 0, 0, 0, &st);
	UDate ms = ucal_getMillis(z->cal, &st);
	return (int64_t)floor(ms / 1000.0);
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
