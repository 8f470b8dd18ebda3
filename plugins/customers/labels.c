/*
 * labels.c - postal labels as CSV or as a PDF of label sheets (labels.h).
 */
#include "labels.h"

#include "cust_retention.h"
#include "fields.h"
#include "zone.h"

#include <csv.h>
#include <hpdf.h>
#include <inttypes.h>
#include <seula/plugin.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The selection lives here and only here (see labels.h): the rendering
 * and the record of who was on the labels use the same condition. */
/* Past retention (:today and the :keep modifier, as cust_retention.c
 * reckons it), a person is kept only for a legal hold's purpose. */
#define LABELS_WHERE                                                           \
	"restricted = 0 AND objects_publication = 0 AND "                      \
	"objects_direct_marketing = 0 AND street IS NOT NULL AND "             \
	"postal_code IS NOT NULL AND city IS NOT NULL AND NOT "                \
	"coalesce(" CUST_RELATIONSHIP_ENDED_SQL " < date(:today, :keep), 0)"
static const char select_sql[] =
        "SELECT organisation, first_name, last_name, street, postal_code, "
        "city, country FROM customers c WHERE " LABELS_WHERE
        " ORDER BY country, postal_code, last_name, first_name, id";
static const char record_sql[] =
        "INSERT INTO customer_label_exports (customer_id, staff_name, via, "
        "format, exported_at) SELECT id, ?1, ?2, ?3, ?4 FROM customers c "
        "WHERE " LABELS_WHERE;

struct label {
	char *lines[5];
	size_t n;
	char *cells[6]; /* organisation, name, street, postal_code, city,
	                   country */
};

static void label_free(struct label *l)
{
	for (size_t i = 0; i < 5; i++)
		free(l->lines[i]);
	for (size_t i = 0; i < 6; i++)
		free(l->cells[i]);
}

static char *dup_or_null(const char *s)
{
	return s ? strdup(s) : NULL;
}

/* The address as the post wants it: organisation, name, street, postal
 * code and city, and the country in capitals when it is abroad. */
static int label_make(sqlite3_stmt *st, const struct seula_labels_settings *s,
                      struct label *l)
{
	const char *org = (const char *)sqlite3_column_text(st, 0);
	const char *first = (const char *)sqlite3_column_text(st, 1);
	const char *last = (const char *)sqlite3_column_text(st, 2);
	const char *street = (const char *)sqlite3_column_text(st, 3);
	const char *postal = (const char *)sqlite3_column_text(st, 4);
	const char *city = (const char *)sqlite3_column_text(st, 5);
	const char *country = (const char *)sqlite3_column_text(st, 6);
	char *name = NULL, *place = NULL;
	memset(l, 0, sizeof(*l));
	if (first || last) {
		if (asprintf(&name, "%s%s%s", first ? first : "",
		             first && last ? " " : "", last ? last : "") < 0)
			return SEULA_ENOMEM;
	}
	if (asprintf(&place, "%s %s", postal, city) < 0) {
		free(name);
		return SEULA_ENOMEM;
	}
	if (org)
		l->lines[l->n++] = strdup(org);
	if (name)
		l->lines[l->n++] = strdup(name);
	l->lines[l->n++] = strdup(street);
	l->lines[l->n++] = place;
	if (country &&
	    (!s->home_country || strcmp(country, s->home_country) != 0)) {
		const char *cname = cust_country_name(country);
		char *up = strdup(cname ? cname : country);
		/* Capitals for the ASCII letters; the few names with other
		 * letters keep them as they are. */
		for (char *p = up; p && *p; p++)
			if (*p >= 'a' && *p <= 'z')
				*p = (char)(*p - 'a' + 'A');
		l->lines[l->n++] = up;
	}
	l->cells[0] = dup_or_null(org);
	l->cells[1] = name;
	l->cells[2] = dup_or_null(street);
	l->cells[3] = dup_or_null(postal);
	l->cells[4] = dup_or_null(city);
	l->cells[5] = dup_or_null(country);
	for (size_t i = 0; i < l->n; i++)
		if (!l->lines[i])
			return SEULA_ENOMEM;
	return SEULA_OK;
}

int seula_labels_csv_cell(FILE *out, const char *s, bool last)
{
	if (!s)
		s = "";
	/* A cell a spreadsheet would run as a formula is written as text:
	 * the apostrophe goes inside the quotes, as part of the value. */
	if (s[0] && strchr("=+-@\t\r", s[0])) {
		char *guarded = NULL;
		if (asprintf(&guarded, "'%s", s) < 0)
			return EOF;
		int rc = csv_fwrite(out, guarded, strlen(guarded));
		free(guarded);
		if (rc != 0)
			return EOF;
	} else if (csv_fwrite(out, s, strlen(s)) != 0) {
		return EOF;
	}
	return fputs(last ? "\r\n" : ",", out) == EOF ? EOF : 0;
}

int seula_labels_csv_int(FILE *out, int64_t v, bool last)
{
	/* Only digits and a leading minus: nothing for a spreadsheet to run,
	 * and a guard would turn the number into text. */
	if (fprintf(out, "%" PRId64 "%s", v, last ? "\r\n" : ",") < 0)
		return EOF;
	return 0;
}

/* ---- PDF ---------------------------------------------------------------- */

struct pdf_error {
	HPDF_STATUS status, detail;
};

static void on_hpdf_error(HPDF_STATUS status, HPDF_STATUS detail, void *arg)
{
	struct pdf_error *e = arg;
	/* The first error is the cause; the rest follow from it. */
	if (!e->status) {
		e->status = status;
		e->detail = detail;
	}
}

#define MM (72.0f / 25.4f)

/* Shortens `text` at a character boundary until it fits `width`. */
static void fit(HPDF_Page page, char *text, float width)
{
	size_t n = strlen(text);
	while (n > 0 && HPDF_Page_TextWidth(page, text) > width) {
		do
			n--;
		while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80);
		text[n] = '\0';
	}
}

static int pdf_render(const struct seula_labels_settings *s,
                      struct label *labels, size_t n, char **out, size_t *len,
                      char *err, size_t errlen)
{
	struct pdf_error e = {0};
	HPDF_Doc pdf = HPDF_New(on_hpdf_error, &e);
	if (!pdf)
		return SEULA_ENOMEM;
	HPDF_SetCompressionMode(pdf, HPDF_COMP_ALL);
	HPDF_UseUTFEncodings(pdf);
	HPDF_SetCurrentEncoder(pdf, "UTF-8");
	const char *font_name =
	        HPDF_LoadTTFontFromFile(pdf, s->font, HPDF_TRUE);
	HPDF_Font font =
	        font_name ? HPDF_GetFont(pdf, font_name, "UTF-8") : NULL;
	if (!font) {
		snprintf(err, errlen,
		         "label font %s: cannot be loaded (libharu error "
		         "0x%04lx)",
		         s->font, (unsigned long)e.status);
		HPDF_Free(pdf);
		return SEULA_EIO;
	}
	const float size = 10.0f, leading = 12.0f;
	const float w = 210.0f / SEULA_LABELS_COLUMNS * MM;
	const float h = 297.0f / SEULA_LABELS_ROWS * MM;
	const float pad = 6.0f * MM;
	const size_t per_page = SEULA_LABELS_COLUMNS * SEULA_LABELS_ROWS;
	size_t pages = n ? (n + per_page - 1) / per_page : 1;
	for (size_t p = 0; p < pages && !e.status; p++) {
		HPDF_Page page = HPDF_AddPage(pdf);
		HPDF_Page_SetSize(page, HPDF_PAGE_SIZE_A4, HPDF_PAGE_PORTRAIT);
		HPDF_Page_SetFontAndSize(page, font, size);
		float top = HPDF_Page_GetHeight(page);
		for (size_t i = p * per_page; i < n && i < (p + 1) * per_page;
		     i++) {
			size_t k = i % per_page;
			float x = (float)(k % SEULA_LABELS_COLUMNS) * w + pad;
			float y0 = top - (float)(k / SEULA_LABELS_COLUMNS) * h;
			/* The block of lines centred in the label. */
			float block = (float)labels[i].n * leading;
			float y = y0 - (h - block) / 2 - size;
			HPDF_Page_BeginText(page);
			for (size_t j = 0; j < labels[i].n; j++) {
				fit(page, labels[i].lines[j], w - 2 * pad);
				HPDF_Page_TextOut(page, x, y,
				                  labels[i].lines[j]);
				y -= leading;
			}
			HPDF_Page_EndText(page);
		}
	}
	if (!e.status)
		HPDF_SaveToStream(pdf);
	HPDF_UINT32 size_out = e.status ? 0 : HPDF_GetStreamSize(pdf);
	char *buf = e.status ? NULL : malloc(size_out ? size_out : 1);
	if (buf) {
		HPDF_UINT32 got = size_out;
		HPDF_STATUS r =
		        HPDF_ReadFromStream(pdf, (HPDF_BYTE *)buf, &got);
		if ((r != HPDF_OK && r != HPDF_STREAM_EOF) || got != size_out) {
			free(buf);
			buf = NULL;
		}
	}
	if (!buf) {
		snprintf(err, errlen,
		         "the label PDF failed (libharu error 0x%04lx, "
		         "detail %lu)",
		         (unsigned long)e.status, (unsigned long)e.detail);
		HPDF_Free(pdf);
		return e.status ? SEULA_EIO : SEULA_ENOMEM;
	}
	HPDF_Free(pdf);
	*out = buf;
	*len = size_out;
	return SEULA_OK;
}

/* ---- both -----------------------------------------------------------------
 */

static int csv_render(struct label *labels, size_t n, char **out, size_t *len)
{
	static const char *const header[6] = {"organisation", "name",
	                                      "street",       "postal_code",
	                                      "city",         "country"};
	FILE *f = open_memstream(out, len);
	if (!f)
		return SEULA_ENOMEM;
	int bad = 0;
	for (size_t c = 0; c < 6; c++)
		bad |= seula_labels_csv_cell(f, header[c], c == 5);
	for (size_t i = 0; i < n; i++)
		for (size_t c = 0; c < 6; c++)
			bad |= seula_labels_csv_cell(f, labels[i].cells[c],
			                             c == 5);
	if (fclose(f) != 0 || bad) {
		free(*out);
		*out = NULL;
		return SEULA_ENOMEM;
	}
	return SEULA_OK;
}

/* Bind :today and :keep of LABELS_WHERE; false: `s` has no valid
 * retention. */
static bool bind_retention(sqlite3_stmt *st,
                           const struct seula_labels_settings *s,
                           int64_t now_ms)
{
	char today[11], keep[32];
	if (cust_retention_modifier(s->retention, keep, sizeof(keep)) != 0)
		return false;
	seula_zone_date(s->timezone, now_ms, today);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), today,
	                  -1, SQLITE_TRANSIENT);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":keep"), keep,
	                  -1, SQLITE_TRANSIENT);
	return true;
}

int seula_labels_render(sqlite3 *db, const struct seula_labels_settings *s,
                        enum seula_labels_format format, int64_t now_ms,
                        char **out, size_t *len, size_t *persons, char *err,
                        size_t errlen)
{
	*out = NULL;
	*len = 0;
	*persons = 0;
	if (errlen)
		err[0] = '\0';
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, select_sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen,
		         "no customer register in this database (%s); the "
		         "customers plugin creates it",
		         sqlite3_errmsg(db));
		return SEULA_ENOTFOUND;
	}
	if (!bind_retention(st, s, now_ms)) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "retention '%s': not Ny or Nd",
		         s->retention ? s->retention : "");
		return SEULA_EINVAL;
	}
	struct label *labels = NULL;
	size_t n = 0, cap = 0;
	int rc = SEULA_OK, step;
	while (rc == SEULA_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			struct label *more =
			        realloc(labels, cap * sizeof(*labels));
			if (!more) {
				rc = SEULA_ENOMEM;
				break;
			}
			labels = more;
		}
		rc = label_make(st, s, &labels[n]);
		n++;
	}
	if (rc == SEULA_OK && step != SQLITE_DONE) {
		snprintf(err, errlen, "reading the register: %s",
		         sqlite3_errmsg(db));
		rc = SEULA_EIO;
	}
	sqlite3_finalize(st);
	if (rc == SEULA_OK)
		rc = format == SEULA_LABELS_PDF
		             ? pdf_render(s, labels, n, out, len, err, errlen)
		             : csv_render(labels, n, out, len);
	if (rc == SEULA_ENOMEM && !err[0])
		snprintf(err, errlen, "out of memory");
	if (rc == SEULA_OK)
		*persons = n;
	for (size_t i = 0; i < n; i++)
		label_free(&labels[i]);
	free(labels);
	return rc;
}

static void id_flush(struct seula_labels_ids *l)
{
	if (!l->n)
		return;
	if (sqlite3_str_length(l->text))
		sqlite3_str_appendchar(l->text, 1, ',');
	if (l->first == l->last)
		sqlite3_str_appendf(l->text, "%lld", (long long)l->first);
	else
		sqlite3_str_appendf(l->text, "%lld-%lld", (long long)l->first,
		                    (long long)l->last);
}

void seula_labels_id_add(struct seula_labels_ids *l, int64_t id)
{
	if (!l->text)
		l->text = sqlite3_str_new(NULL);
	if (l->n && id == l->last + 1) {
		l->last = id;
		return;
	}
	id_flush(l);
	l->first = l->last = id;
	l->n++;
}

char *seula_labels_id_end(struct seula_labels_ids *l, int *rc)
{
	*rc = SEULA_OK;
	if (!l->text)
		return NULL;
	id_flush(l);
	if (sqlite3_str_errcode(l->text) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(l->text));
		*rc = SEULA_ENOMEM;
		return NULL;
	}
	char *text = sqlite3_str_finish(l->text);
	char *out = text ? strdup(text) : NULL;
	sqlite3_free(text);
	if (!out)
		*rc = SEULA_ENOMEM;
	return out;
}

int seula_labels_record(sqlite3 *db, const struct seula_labels_settings *s,
                        const char *staff, const char *via,
                        enum seula_labels_format format, int64_t now_ms,
                        size_t *persons, char **ids, char *err, size_t errlen)
{
	*persons = 0;
	*ids = NULL;
	sqlite3_stmt *st = NULL;
	int step = SQLITE_ERROR;
	/* The rows written after this one are the export's persons. */
	int64_t before = -1;
	if (sqlite3_prepare_v2(db,
	                       "SELECT coalesce(max(id), 0) FROM "
	                       "customer_label_exports",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		before = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	st = NULL;
	if (before >= 0 &&
	    sqlite3_prepare_v2(db, record_sql, -1, &st, NULL) == SQLITE_OK &&
	    bind_retention(st, s, now_ms)) {
		sqlite3_bind_text(st, 1, staff, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, via, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3,
		                  format == SEULA_LABELS_PDF ? "pdf" : "csv",
		                  -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now_ms);
		step = sqlite3_step(st);
	}
	if (step == SQLITE_DONE)
		*persons = (size_t)sqlite3_changes(db);
	sqlite3_finalize(st);
	st = NULL;
	/* Who they were, for the audit entry's subject. */
	struct seula_labels_ids list = {0};
	if (step == SQLITE_DONE &&
	    sqlite3_prepare_v2(db,
	                       "SELECT customer_id FROM customer_label_exports "
	                       "WHERE id > ?1 ORDER BY customer_id",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, before);
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			seula_labels_id_add(&list, sqlite3_column_int64(st, 0));
	} else if (step == SQLITE_DONE) {
		step = SQLITE_ERROR;
	}
	int rc = SEULA_OK;
	char *text = seula_labels_id_end(&list, &rc);
	if (step != SQLITE_DONE || rc != SEULA_OK) {
		snprintf(err, errlen, "recording the labels' persons: %s",
		         rc != SEULA_OK ? "out of memory" : sqlite3_errmsg(db));
		free(text);
		sqlite3_finalize(st);
		return rc != SEULA_OK ? rc : SEULA_EIO;
	}
	sqlite3_finalize(st);
	*ids = text;
	return SEULA_OK;
}
