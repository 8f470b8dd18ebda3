/*
 * labels.h - postal labels for direct mail from the customer register:
 * CSV, or a PDF of A4 sheets of 3 x 8 labels (libharu, with a TrueType
 * font so that any UTF-8 name renders).
 *
 * Shared by the customers plugin (GET /api/labels) and the core's
 * `seula labels` command: both compile this file, so the two can never
 * choose different people.  Who is left out: everyone restricted, everyone
 * who objected to publication (mailing lists) or to direct marketing, and
 * everyone without a full postal address (street, postal code, city).
 *
 * Threads: any; each call has its own state.  Rendering reads the
 * customers table through the caller's connection (read-only is enough);
 * recording writes customer_label_exports (customers plugin, migration 4).
 */
#ifndef SEULA_CUSTOMERS_LABELS_H
#define SEULA_CUSTOMERS_LABELS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* The plugin's label settings.  They are the first member of the
 * customers plugin's config struct, so the CLI reads them from the loaded
 * plugin's config without knowing the rest of it. */
struct seula_labels_settings {
	const char *font;         /* a TrueType file */
	const char *home_country; /* ISO 3166-1 alpha-2: no country line */
	/* The register's retention ("10y") and the zone of its days: a
	 * person past it is kept only for a legal hold, not for mail. */
	const char *retention;
	const char *timezone;
};

enum seula_labels_format { SEULA_LABELS_CSV, SEULA_LABELS_PDF };

/* The labels of everyone who may get direct mail (not restricted, no
 * objection, an address, not past retention) as of now_ms.  On success returns
 * 0 (SEULA_OK) with *out a malloc'd buffer of *len bytes the caller frees and
 * *persons the number of labels; else a negative SEULA_E* code with a reason in
 * err. */
int seula_labels_render(sqlite3 *db, const struct seula_labels_settings *s,
                        enum seula_labels_format format, int64_t now_ms,
                        char **out, size_t *len, size_t *persons, char *err,
                        size_t errlen);

/* Record, for everyone seula_labels_render() chose, that their address
 * went out on labels: a row each in customer_label_exports (staff, via
 * what, the format, now_ms), which their access export shows.  Call it in
 * the same transaction as the rendering, so both see the same people;
 * *persons is the rows written, and *ids (malloc'd, the caller frees;
 * NULL when none) their customer ids as seula_labels_id_list() gives
 * them, for the audit entry's subject.  SEULA_OK, or SEULA_EIO with
 * err. */
int seula_labels_record(sqlite3 *db, const struct seula_labels_settings *s,
                        const char *staff, const char *via,
                        enum seula_labels_format format, int64_t now_ms,
                        size_t *persons, char **ids, char *err, size_t errlen);

/* An audit subject's list of ids (core/audit.h): id after id, ascending,
 * a run of consecutive ones as a range, "3,17-42,50".  Add each with
 * seula_labels_id_add(); seula_labels_id_end() gives the list (malloc'd,
 * the caller frees; NULL when no id was added) or NULL and SEULA_ENOMEM
 * in *rc. */
struct seula_labels_ids {
	sqlite3_str *text;
	int64_t first, last;
	size_t n;
};
void seula_labels_id_add(struct seula_labels_ids *l, int64_t id);
char *seula_labels_id_end(struct seula_labels_ids *l, int *rc);

/* One text cell of the labels' (and the finance export's) dialect:
 * always quoted, CRLF after the last cell of a row, and a cell a
 * spreadsheet would run as a formula (=, +, -, @ first) prefixed with '.
 * Returns 0 or EOF. */
int seula_labels_csv_cell(FILE *out, const char *s, bool last);

/* A number cell of that dialect: the integer as it is, unquoted and
 * unguarded, so that a credit (-300) is read as a number, not as the text
 * '-300.  Returns 0 or EOF. */
int seula_labels_csv_int(FILE *out, int64_t v, bool last);

/* The sheet: A4 portrait, 3 columns by 8 rows of 70 x 37.125 mm. */
#define SEULA_LABELS_COLUMNS 3
#define SEULA_LABELS_ROWS 8

#endif
