/*
 * dsrutil.c - deadline arithmetic and the export's CSV (see dsrutil.h).
 */
#include "dsrutil.h"

#include "date.h"
#include "zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static bool leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int month_days(int y, int m)
{
	static const int days[12] = {31, 28, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};
	return m == 2 && leap(y) ? 29 : days[m - 1];
}

static bool parse_date(const char *s, int *y, int *m, int *d)
{
	if (!s || strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (int i = 0; i < 10; i++)
		if (i != 4 && i != 7 && (s[i] < '0' || s[i] > '9'))
			return false;
	*y = atoi(s);
	*m = atoi(s + 5);
	*d = atoi(s + 8);
	return *y >= 1 && *m >= 1 && *m <= 12 && *d >= 1 &&
	       *d <= month_days(*y, *m);
}

int dsr_add_months(const char *date, int months, char out[11])
{
	int y, m, d;
	if (!parse_date(date, &y, &m, &d) || months < 0 || months > 1200)
		return -1;
	int total = (m - 1) + months;
	y += total / 12;
	m = total % 12 + 1;
	if (y > 9999)
		return -1;
	int last = month_days(y, m);
	snprintf(out, 11, "%04d-%02d-%02d", y, m, d > last ? last : d);
	return 0;
}

int dsr_days_between(const char *from, const char *to, int64_t *days)
{
	int y1, m1, d1, y2, m2, d2;
	if (!parse_date(from, &y1, &m1, &d1) || !parse_date(to, &y2, &m2, &d2))
		return -1;
	*days = seula_days_from_civil(y2, m2, d2) -
	        seula_days_from_civil(y1, m1, d1);
	return 0;
}

void dsr_day_of(const char *zone, int64_t ms, char out[11])
{
	seula_zone_date(zone, ms, out);
}

bool dsr_name_ok(const char *name)
{
	size_t n = name ? strlen(name) : 0;
	if (n == 0 || n > 64)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((name[i] >= 'a' && name[i] <= 'z') ||
		      (name[i] >= '0' && name[i] <= '9') || name[i] == '_'))
			return false;
	return true;
}

static int cell(FILE *f, const json_t *v)
{
	char *owned = NULL;
	const char *s;
	bool guard = false;
	if (!v || json_is_null(v)) {
		s = "";
	} else if (json_is_string(v)) {
		s = json_string_value(v);
		guard = s[0] && strchr("=+-@\t\r", s[0]);
	} else {
		/* Numbers, booleans, and nested values as compact JSON. */
		owned = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		if (!owned)
			return -1;
		s = owned;
	}
	bool quote = guard || strpbrk(s, ",\"\r\n") != NULL;
	int rc = 0;
	if (quote && fputc('"', f) == EOF)
		rc = -1;
	if (guard && fputc('\'', f) == EOF)
		rc = -1;
	for (const char *p = s; rc == 0 && *p; p++)
		if ((*p == '"' && quote && fputc('"', f) == EOF) ||
		    fputc(*p, f) == EOF)
			rc = -1;
	if (rc == 0 && quote && fputc('"', f) == EOF)
		rc = -1;
	free(owned);
	return rc;
}

int dsr_csv(const json_t *rows, char **out, size_t *len)
{
	*out = NULL;
	*len = 0;
	if (!json_is_array(rows))
		return -1;
	/* The header: every key, in the order first seen. */
	json_t *keys = json_array();
	json_t *seen = json_object();
	size_t i;
	json_t *row;
	int rc = keys && seen ? 0 : -1;
	json_array_foreach(rows, i, row)
	{
		if (!json_is_object(row)) {
			rc = -1;
			break;
		}
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)row, k, v)
		{
			if (json_object_get(seen, k))
				continue;
			json_object_set_new(seen, k, json_true());
			json_array_append_new(keys, json_string(k));
		}
	}
	char *buf = NULL;
	size_t n = 0;
	FILE *f = rc == 0 ? open_memstream(&buf, &n) : NULL;
	if (!f)
		rc = -1;
	size_t k;
	json_t *key;
	json_array_foreach(keys, k, key)
	{
		if (rc == 0 && ((k && fputc(',', f) == EOF) || cell(f, key)))
			rc = -1;
	}
	/* No rows, no columns: an empty file rather than an empty record. */
	if (rc == 0 && json_array_size(keys) && fputs("\r\n", f) == EOF)
		rc = -1;
	json_array_foreach(rows, i, row)
	{
		json_array_foreach(keys, k, key)
		{
			if (rc == 0 &&
			    ((k && fputc(',', f) == EOF) ||
			     cell(f, json_object_get(row,
			                             json_string_value(key)))))
				rc = -1;
		}
		if (rc == 0 && fputs("\r\n", f) == EOF)
			rc = -1;
	}
	if (f && fclose(f) != 0)
		rc = -1;
	json_decref(keys);
	json_decref(seen);
	if (rc != 0) {
		free(buf);
		return -1;
	}
	*out = buf;
	*len = n;
	return 0;
}
