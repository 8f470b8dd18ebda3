/*
 * csvread.c - CSV records with line numbers, on libcsv (see csvread.h).
 *
 * libcsv reports fields and record ends but no positions, so the data is
 * fed one physical line at a time: every callback then knows the line it
 * fires on, and a record's first line is that of its first field's end
 * less the newlines inside that field.
 */
#include "csvread.h"

#include <csv.h>
#include <stdlib.h>
#include <string.h>

struct reader {
	cust_csv_fn fn;
	void *arg;
	size_t line; /* the line being fed */
	size_t start;
	size_t after; /* the line after the last record's end */
	char **fields;
	size_t *lens;
	size_t n, cap;
	int stop; /* the callback's verdict, or -2 */
};

static size_t newlines(const char *s, size_t len)
{
	size_t n = 0;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '\n';
	return n;
}

static void on_field(void *data, size_t len, void *arg)
{
	struct reader *r = arg;
	if (r->stop)
		return;
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		char **f = realloc(r->fields, cap * sizeof(*f));
		if (f)
			r->fields = f;
		size_t *l = f ? realloc(r->lens, cap * sizeof(*l)) : NULL;
		if (!f || !l) {
			r->stop = -2;
			return;
		}
		r->lens = l;
		r->cap = cap;
	}
	char *copy = malloc(len + 1);
	if (!copy) {
		r->stop = -2;
		return;
	}
	if (len)
		memcpy(copy, data, len);
	copy[len] = '\0';
	if (r->n == 0)
		r->start = r->line - newlines(copy, len);
	r->fields[r->n] = copy;
	r->lens[r->n++] = len;
}

static void drop_fields(struct reader *r)
{
	for (size_t i = 0; i < r->n; i++)
		free(r->fields[i]);
	r->n = 0;
}

static void on_record(int c, void *arg)
{
	(void)c;
	struct reader *r = arg;
	if (!r->stop && r->n) {
		struct cust_csv_record rec = {r->start, r->n, r->fields,
		                              r->lens};
		r->stop = r->fn(r->arg, &rec);
	}
	drop_fields(r);
	r->after = r->line + (c == '\n' || c == '\r');
}

int cust_csv_read(const char *data, size_t len, cust_csv_fn fn, void *arg,
                  size_t *bad_line, const char **why)
{
	struct csv_parser p;
	if (csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL) != 0)
		return -2;
	if (len >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		data += 3, len -= 3;
	const char *eol = memchr(data, '\n', len);
	size_t first = eol ? (size_t)(eol - data) : len;
	if (!memchr(data, ',', first) && memchr(data, ';', first))
		csv_set_delim(&p, ';');
	struct reader r = {.fn = fn, .arg = arg, .line = 1, .after = 1};
	size_t off = 0;
	int rc = 0;
	while (off < len && !r.stop) {
		const char *nl = memchr(data + off, '\n', len - off);
		size_t n = nl ? (size_t)(nl - (data + off)) + 1 : len - off;
		if (csv_parse(&p, data + off, n, on_field, on_record, &r) !=
		    n) {
			rc = csv_error(&p) == CSV_EPARSE ? -1 : -2;
			break;
		}
		off += n;
		if (nl)
			r.line++;
	}
	if (rc == 0 && !r.stop && csv_fini(&p, on_field, on_record, &r) != 0)
		rc = csv_error(&p) == CSV_EPARSE ? -1 : -2;
	if (rc == -1) {
		*bad_line = r.n ? r.start : r.after;
		*why = "malformed CSV: a quote inside an unquoted field, or a "
		       "quoted field that never closes";
	}
	if (rc == 0)
		rc = r.stop;
	drop_fields(&r);
	free(r.fields);
	free(r.lens);
	csv_free(&p);
	return rc;
}
