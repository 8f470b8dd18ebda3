/*
 * csvread.h - CSV (RFC 4180) records with the line each starts on, through
 * libcsv: quoted fields with commas, quotes and newlines, CRLF or LF, a
 * leading UTF-8 BOM, and ';' as the separator when the first line has no
 * ',' but a ';' (what spreadsheets write in locales with a decimal comma).
 *
 * Pure code, no host: unit tested in tests/unit/test_customers.c.
 */
#ifndef SEULA_CUSTOMERS_CSVREAD_H
#define SEULA_CUSTOMERS_CSVREAD_H

#include <stddef.h>

/* One record; everything borrowed for the callback's duration.  Fields are
 * NUL-terminated and may contain NUL bytes (lens[] says how long). */
struct cust_csv_record {
	size_t line; /* 1-based physical line of the record's first byte */
	size_t n;    /* number of fields */
	char *const *fields;
	const size_t *lens;
};

/* Returns 0 to go on, nonzero to stop (cust_csv_read then returns it). */
typedef int (*cust_csv_fn)(void *arg, const struct cust_csv_record *rec);

/* Calls fn for every record of data (len bytes), the header included.
 * Returns 0; the callback's nonzero value; -1 with *bad_line and a static
 * reason in *why when the CSV is malformed (a stray or unclosed quote); -2
 * when out of memory. */
int cust_csv_read(const char *data, size_t len, cust_csv_fn fn, void *arg,
                  size_t *bad_line, const char **why);

#endif
