/*
 * cli_report.c - `seula report`: the marketing report of a site and a
 * period (see cli_report.h).
 *
 * Every figure comes from the analytics plugin's own report code (query.c,
 * compiled into this binary too) and the consent statistics from the
 * consent module, so the report, the dashboard and the API cannot
 * disagree.  The database is read through a read-only connection; the
 * run's audit entry, as the API writes one for every report, goes in
 * through a second one before any of it is shown.  The HTML is one file with
 * nothing fetched: its CSS, the data and uPlot (the dashboard's chart
 * library, installed from npm) are inline; without JavaScript the tables
 * and their bars still show.
 */
#include "cli_report.h"

#include "audit.h"
#include "cli_setup.h"
#include "config.h"
#include "consent.h"
#include "db.h"
#include "event.h"
#include "funnel.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "outfile.h"
#include "query.h"
#include "secret.h"
#include "zone.h"

#include <errno.h>
#include <event2/http.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/uloc.h>
#include <unicode/ustring.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: seula report --config FILE --site SITE [--from "
	        "YYYY-MM-DD] [--to YYYY-MM-DD]\n"
	        "                    [--tz ZONE] [--format json|csv|html] "
	        "[--limit N] [--filter F] [--db PATH] [-o FILE]\n"
	        "  the site's report for the period (default: the last 30 "
	        "days): summary with\n"
	        "  the previous period (none before 1970), visits over time "
	        "(by the hour for\n"
	        "  one day), top pages, sources, campaigns, countries, "
	        "devices, content\n"
	        "  groups, goals, configured funnels and consent rates; to "
	        "standard output "
	        "without -o (a\n"
	        "  file is replaced only by a whole report)\n"
	        "  --filter: as the API's (country==FI;utm_campaign==spring); "
	        "with a goal\n"
	        "  (goal==Signup) the summary has its conversion_rate\n"
	        "  --limit: rows in each table (10)\n");
}

/* The tables of a report: title, breakdown dimension. */
static const struct {
	const char *key, *title, *dimension;
} tables[] = {
        {"pages", "Top pages", "page"},
        {"entry_pages", "Entry pages", "entry_page"},
        {"sources", "Sources", "source"},
        {"channels", "Channels", "channel"},
        {"campaigns", "Campaigns", "utm_campaign"},
        {"countries", "Countries", "country"},
        {"devices", "Devices", "device"},
        {"browsers", "Browsers", "browser"},
};
#define N_TABLES (sizeof(tables) / sizeof(tables[0]))

struct report_args {
	const char *site, *from, *to, *tz, *limit, *filter;
	int64_t now_ms; /* the run's "now": today, and where the chart ends */
	const struct analytics_funnels *funnels; /* the plugin's config's */
	/* The plugin's config's: content_group== in --filter. */
	const struct analytics_content_groups *groups;
	const char *funnel;      /* the one an ANALYTICS_FUNNEL run reports */
	int64_t visit_timeout_s; /* the plugin's config's */
};

static int run_one(sqlite3 *db, enum analytics_report_kind kind,
                   const struct report_args *a,
                   const struct analytics_goals *goals, const char *dimension,
                   const char *interval, const char *compare, json_t **out,
                   char *err, size_t errlen)
{
	struct analytics_request rq = {
	        .site = a->site,
	        .from = a->from,
	        .to = a->to,
	        .tz = a->tz,
	        .compare = compare,
	        .metric = "visitors,visits,pageviews",
	        .interval = interval,
	        .dimension = dimension,
	        .limit = a->limit,
	        .filter = a->filter,
	        .now_ms = a->now_ms,
	        .goals = goals,
	        .content_groups = a->groups,
	        .funnel = kind == ANALYTICS_FUNNEL ? a->funnel : NULL,
	        .funnels = a->funnels,
	        .visit_timeout_s = a->visit_timeout_s,
	};
	return analytics_report(db, kind, &rq, out, err, errlen) == ANALYTICS_OK
	               ? SEULA_OK
	               : SEULA_EINVAL;
}

/* The site's notes on its statistics (plugins/analytics/notes.h) of the
 * days [f, t] into r's "annotations": date and text (not who in the team
 * wrote it: a report is mailed on).  None on a database the plugin's
 * migration 15 has not reached yet (a new binary before its server). */
static int notes_of(sqlite3 *db, const char *site, int64_t f, int64_t t,
                    json_t *r, char *err, size_t errlen)
{
	char from[11], to[11];
	seula_date_format(f, from, sizeof(from));
	seula_date_format(t, to, sizeof(to));
	sqlite3_stmt *st = NULL;
	json_t *list = json_array();
	int step = SQLITE_ERROR;
	if (list && sqlite3_table_column_metadata(
	                    db, NULL, "analytics_annotations", "id", NULL, NULL,
	                    NULL, NULL, NULL) != SQLITE_OK) {
		json_object_set_new(r, "annotations", list);
		return SEULA_OK;
	}
	if (list && sqlite3_prepare_v2(db,
	                               "SELECT day, text FROM "
	                               "analytics_annotations WHERE site = ? "
	                               "AND day >= ? AND day <= ? ORDER BY "
	                               "day, id",
	                               -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			json_array_append_new(
			        list,
			        json_pack("{s:s, s:s}", "date",
			                  (const char *)sqlite3_column_text(st,
			                                                    0),
			                  "text",
			                  (const char *)sqlite3_column_text(
			                          st, 1)));
	}
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "annotations: %s",
		         list ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_finalize(st);
		json_decref(list);
		return SEULA_EIO;
	}
	sqlite3_finalize(st);
	json_object_set_new(r, "annotations", list);
	return SEULA_OK;
}

/* The report as one JSON object. */

/* The weeks or months of `rows` the period holds only part of (the first
 * of a period begun mid-week, the last of one ended mid-month), each
 * {date, days_in_period, days}: fewer days, not fewer visitors, which the
 * HTML says.  A list of its own, so the rows keep one shape (the CSV's
 * columns are the first row's). */
static json_t *partial_buckets(const json_t *rows, const char *interval,
                               int64_t from, int64_t to)
{
	json_t *out = json_array();
	bool week = strcmp(interval, "week") == 0;
	if (!out || (!week && strcmp(interval, "month") != 0))
		return out;
	size_t i;
	const json_t *row;
	json_array_foreach(rows, i, row)
	{
		int64_t start;
		const char *date =
		        json_string_value(json_object_get(row, "date"));
		if (!date || !seula_date_parse(date, &start))
			continue;
		int64_t end = start + 7;
		if (!week) {
			int y, m, d;
			seula_civil_from_days(start, &y, &m, &d);
			end = m == 12 ? seula_days_from_civil(y + 1, 1, 1)
			              : seula_days_from_civil(y, m + 1, 1);
		}
		int64_t in = (end < to + 1 ? end : to + 1) -
		             (start > from ? start : from);
		if (in < end - start)
			json_array_append_new(
			        out,
			        json_pack("{s:s,s:I,s:I}", "date", date,
			                  "days_in_period", (json_int_t)in,
			                  "days", (json_int_t)(end - start)));
	}
	return out;
}
static int build(sqlite3 *db, const struct seula_consent *consent,
                 const struct report_args *a,
                 const struct analytics_goals *goals, json_t **out, char *err,
                 size_t errlen)
{
	json_t *sum = NULL;
	int rc = run_one(db, ANALYTICS_SUMMARY, a, goals, NULL, NULL,
	                 "previous_period", &sum, err, errlen);
	/* A period the API takes whose previous one it refuses begins too
	 * near 1970 to have one: the report goes without the comparison. */
	char alone_err[256];
	if (rc != SEULA_OK &&
	    run_one(db, ANALYTICS_SUMMARY, a, goals, NULL, NULL, NULL, &sum,
	            alone_err, sizeof(alone_err)) == SEULA_OK) {
		rc = SEULA_OK;
		err[0] = '\0';
	}
	if (rc != SEULA_OK)
		return rc;
	json_t *r = json_pack("{s:O,s:O,s:O,s:O,s:O,s:O}", "site",
	                      json_object_get(sum, "site"), "from",
	                      json_object_get(sum, "from"), "to",
	                      json_object_get(sum, "to"), "tz",
	                      json_object_get(sum, "tz"), "filters",
	                      json_object_get(sum, "filters"), "summary",
	                      json_object_get(sum, "results"));
	json_t *cmp = json_object_get(sum, "comparison");
	json_t *prev = cmp ? json_pack("{s:O,s:O,s:O}", "from",
	                               json_object_get(cmp, "from"), "to",
	                               json_object_get(cmp, "to"), "summary",
	                               json_object_get(cmp, "results"))
	                   : json_null();
	/* A period still running is compared as far into the last one. */
	if (cmp && json_object_get(cmp, "until"))
		json_object_set(prev, "until", json_object_get(cmp, "until"));
	json_object_set_new(r, "comparison", prev);
	/* Hours for a day (one point a day would make no chart), days for
	 * up to three months, then weeks, then months. */
	int64_t f = 0, t = 0; /* the summary's own dates: they parse */
	seula_date_parse(json_string_value(json_object_get(sum, "from")), &f);
	seula_date_parse(json_string_value(json_object_get(sum, "to")), &t);
	int64_t days = t - f + 1;
	const char *interval = days <= 1     ? "hour"
	                       : days <= 92  ? "day"
	                       : days <= 740 ? "week"
	                                     : "month";
	json_decref(sum);

	json_t *part = NULL;
	rc = run_one(db, ANALYTICS_TIMESERIES, a, goals, NULL, interval, NULL,
	             &part, err, errlen);
	if (rc == SEULA_OK) {
		json_object_set(r, "interval",
		                json_object_get(part, "interval"));
		json_object_set(r, "timeseries",
		                json_object_get(part, "results"));
		json_object_set_new(
		        r, "partial",
		        partial_buckets(json_object_get(part, "results"),
		                        interval, f, t));
		json_decref(part);
	}
	for (size_t i = 0; rc == SEULA_OK && i < N_TABLES; i++) {
		rc = run_one(db, ANALYTICS_BREAKDOWN, a, goals,
		             tables[i].dimension, NULL, NULL, &part, err,
		             errlen);
		if (rc == SEULA_OK) {
			json_object_set(r, tables[i].key,
			                json_object_get(part, "results"));
			json_decref(part);
		}
	}
	/* The site's content groups as the other tables (a group unread
	 * has zeros); an empty list, read off nothing, for a site without
	 * groups, which the CSV and HTML leave out. */
	if (rc == SEULA_OK)
		rc = run_one(db, ANALYTICS_BREAKDOWN, a, goals, "content_group",
		             NULL, NULL, &part, err, errlen);
	if (rc == SEULA_OK) {
		json_object_set(r, "content_groups",
		                json_object_get(part, "results"));
		json_decref(part);
	}
	if (rc == SEULA_OK)
		rc = run_one(db, ANALYTICS_GOALS, a, goals, NULL, NULL, NULL,
		             &part, err, errlen);
	if (rc == SEULA_OK) {
		json_object_set(r, "goals", json_object_get(part, "results"));
		json_decref(part);
	}
	/* The site's configured funnels, each as the API reports it but for
	 * what the report says once (site, days, zone, filters). */
	json_t *funnels = json_array();
	if (!funnels && rc == SEULA_OK) {
		snprintf(err, errlen, "out of memory");
		rc = SEULA_ENOMEM;
	}
	for (size_t i = 0; rc == SEULA_OK && a->funnels && i < a->funnels->n;
	     i++) {
		if (strcmp(a->funnels->list[i].site, a->site) != 0)
			continue;
		struct report_args fa = *a;
		fa.funnel = a->funnels->list[i].name;
		rc = run_one(db, ANALYTICS_FUNNEL, &fa, goals, NULL, NULL, NULL,
		             &part, err, errlen);
		if (rc == SEULA_OK) {
			static const char *const said[] = {"site", "from", "to",
			                                   "tz", "filters"};
			for (size_t k = 0; k < sizeof(said) / sizeof(*said);
			     k++)
				json_object_del(part, said[k]);
			json_array_append_new(funnels, part);
		}
	}
	json_object_set_new(r, "funnels", funnels);
	if (rc == SEULA_OK)
		rc = notes_of(db, a->site, f, t, r, err, errlen);
	/* Consent rates over the same local days. */
	json_t *cs = NULL;
	if (rc == SEULA_OK && seula_consent_stats(consent, db, a->site, f, t,
	                                          a->tz, &cs) == SEULA_OK) {
		json_object_set(r, "consent", json_object_get(cs, "totals"));
		json_decref(cs);
	} else if (rc == SEULA_OK) {
		json_object_set_new(r, "consent", json_null());
	}
	if (rc != SEULA_OK) {
		json_decref(r);
		return rc;
	}
	*out = r;
	return SEULA_OK;
}

/* ---- CSV: one table after another, each under its title ------------------ */

/* The run's audit entry, by "cli:USER", in a transaction of its own on a
 * writable connection: as the API's, action "read" when the filter reads
 * event properties, else "statistics"; the detail names the site, the
 * days and the filter's conditions without their values.  The key is the
 * server's, never made here (a key beside another --db would sign an
 * entry its chain cannot verify). */
static int audit_run(const struct seula_config *cfg, const json_t *report,
                     const char *filter, char *err, size_t errlen)
{
	const struct passwd *pw = getpwuid(geteuid());
	char actor[80], keys[800], detail[1000];
	snprintf(actor, sizeof(actor), "cli:%s", pw ? pw->pw_name : "unknown");
	analytics_filter_keys(filter, keys, sizeof(keys));
	const char *site = json_string_value(json_object_get(report, "site"));
	const char *from = json_string_value(json_object_get(report, "from"));
	const char *to = json_string_value(json_object_get(report, "to"));
	int n = snprintf(detail, sizeof(detail), "report of site %s, %s to %s",
	                 site ? site : "?", from ? from : "?", to ? to : "?");
	if (*keys && n >= 0 && (size_t)n < sizeof(detail))
		snprintf(detail + n, sizeof(detail) - (size_t)n, ", filter %s",
		         keys);
	for (char *c = detail; *c; c++) /* the log takes no control bytes */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	unsigned char key[SEULA_SECRET_BYTES];
	int rc = seula_secret_load(cfg->secret_file, key, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	sqlite3 *db = NULL;
	rc = seula_db_open(&db, cfg->db, false, false,
	                   cfg->synchronous == SEULA_SYNC_FULL, err, errlen);
	bool begun = false;
	if (rc == SEULA_OK) {
		rc = seula_db_exec(db, "BEGIN IMMEDIATE", err, errlen);
		begun = rc == SEULA_OK;
	}
	struct seula_audit_entry e = {
	        .ts_ms = seula_clock_ms(),
	        .staff_name = actor,
	        .action = analytics_filter_reads_props(filter) ? "read"
	                                                       : "statistics",
	        .route = "command line: seula report",
	        .outcome = "ok",
	        .detail = detail,
	};
	if (rc == SEULA_OK)
		rc = seula_audit_append(db, key, &e, err, errlen);
	if (begun)
		rc = rc == SEULA_OK
		             ? seula_db_exec(db, "COMMIT", err, errlen)
		             : (seula_db_exec(db, "ROLLBACK", NULL, 0), rc);
	sodium_memzero(key, sizeof(key));
	seula_db_close(db);
	return rc;
}

/* One CSV cell: quoted, and a leading = + - @ defused as the API's
 * exports do (a spreadsheet would run it). */
static void csv_cell(FILE *f, const char *s, bool last)
{
	fputc('"', f);
	if (s && strchr("=+-@\t\r", *s) && *s)
		fputc('\'', f);
	for (const char *p = s ? s : ""; *p; p++) {
		if (*p == '"')
			fputc('"', f);
		fputc(*p, f);
	}
	fputs(last ? "\"\r\n" : "\",", f);
}

/* A table of a report of `kind` (a breakdown's by `dimension`, else
 * NULL). */
static void csv_section(FILE *f, const char *title, const json_t *rows,
                        enum analytics_report_kind kind, const char *dimension)
{
	json_t *wrap = json_pack("{s:O}", "results", rows);
	if (wrap && dimension)
		json_object_set_new(wrap, "dimension", json_string(dimension));
	char *csv = analytics_report_csv(wrap, kind);
	json_decref(wrap);
	/* A funnel's title holds its configured name, quotes and all. */
	if (strpbrk(title, "\",\r\n") || (*title && strchr("=+-@\t", *title)))
		csv_cell(f, title, true);
	else
		fprintf(f, "%s\r\n", title);
	if (csv)
		fputs(csv, f);
	fputs("\r\n", f);
	free(csv);
}

/* The report's filters as the API's text ("country==FI;goal==Signup"). */
static void filter_text(const json_t *filters, char *out, size_t cap)
{
	size_t n = 0, k;
	const json_t *c;
	out[0] = '\0';
	json_array_foreach(filters, k, c)
	{
		int w = snprintf(
		        out + n, cap - n, "%s%s%s%s", k ? ";" : "",
		        json_string_value(json_object_get(c, "dimension")),
		        json_string_value(json_object_get(c, "op")),
		        json_string_value(json_object_get(c, "value")));
		if (w < 0 || (size_t)w >= cap - n) {
			out[n] = '\0';
			break;
		}
		n += (size_t)w;
	}
}

static void write_csv(FILE *f, const json_t *r)
{
	/* What the tables are of: the site, the days, the filter, the
	 * period compared with. */
	const json_t *cmp = json_object_get(r, "comparison");
	char filter[9000]; /* a filter is 8192 bytes at most */
	filter_text(json_object_get(r, "filters"), filter, sizeof(filter));
	fputs("Report\r\nsite,from,to,tz,filter,previous_from,previous_to,"
	      "previous_until\r\n",
	      f);
	csv_cell(f, json_string_value(json_object_get(r, "site")), false);
	csv_cell(f, json_string_value(json_object_get(r, "from")), false);
	csv_cell(f, json_string_value(json_object_get(r, "to")), false);
	csv_cell(f, json_string_value(json_object_get(r, "tz")), false);
	csv_cell(f, filter, false);
	csv_cell(f, json_string_value(json_object_get(cmp, "from")), false);
	csv_cell(f, json_string_value(json_object_get(cmp, "to")), false);
	csv_cell(f, json_string_value(json_object_get(cmp, "until")), true);
	fputs("\r\n", f);
	csv_section(f, "Summary", json_object_get(r, "summary"),
	            ANALYTICS_SUMMARY, NULL);
	if (json_is_object(cmp))
		csv_section(f, "Previous period",
		            json_object_get(cmp, "summary"), ANALYTICS_SUMMARY,
		            NULL);
	csv_section(f, "Visits", json_object_get(r, "timeseries"),
	            ANALYTICS_TIMESERIES, NULL);
	for (size_t i = 0; i < N_TABLES; i++)
		csv_section(f, tables[i].title,
		            json_object_get(r, tables[i].key),
		            ANALYTICS_BREAKDOWN, tables[i].dimension);
	if (json_array_size(json_object_get(r, "content_groups")))
		csv_section(f, "Content groups",
		            json_object_get(r, "content_groups"),
		            ANALYTICS_BREAKDOWN, "content_group");
	csv_section(f, "Goals", json_object_get(r, "goals"), ANALYTICS_GOALS,
	            NULL);
	size_t i;
	const json_t *fn;
	json_array_foreach(json_object_get(r, "funnels"), i, fn)
	{
		char title[96];
		snprintf(title, sizeof(title), "Funnel %s",
		         json_string_value(json_object_get(fn, "funnel")));
		csv_section(f, title, json_object_get(fn, "results"),
		            ANALYTICS_FUNNEL, NULL);
	}
	const json_t *notes = json_object_get(r, "annotations");
	if (json_array_size(notes)) {
		fputs("Notes\r\ndate,text\r\n", f);
		const json_t *nt;
		json_array_foreach(notes, i, nt)
		{
			csv_cell(f,
			         json_string_value(json_object_get(nt, "date")),
			         false);
			csv_cell(f,
			         json_string_value(json_object_get(nt, "text")),
			         true);
		}
		fputs("\r\n", f);
	}
	const json_t *c = json_object_get(r, "consent");
	if (json_is_object(c)) {
		json_t *flat = json_object();
		const char *k;
		json_t *v;
		json_object_foreach((json_t *)c, k, v)
		{
			if (json_is_integer(v))
				json_object_set(flat, k, v);
		}
		json_object_foreach(json_object_get(c, "opt_in_rate"), k, v)
		{
			/* In percent, as bounce_rate and the dashboard's CSV
			 * give rates; the JSON keeps the API's fraction. */
			char key[64];
			snprintf(key, sizeof(key), "opt_in_%s", k);
			json_object_set_new(
			        flat, key,
			        json_is_number(v)
			                ? json_real(
			                          round(1000 *
			                                json_number_value(v)) /
			                          10)
			                : json_null());
		}
		csv_section(f, "Consent", flat, ANALYTICS_SUMMARY, NULL);
		json_decref(flat);
	}
}

/* ---- HTML ---------------------------------------------------------------- */

/* The length of the bidirectional formatting character at s (U+061C,
 * U+200E-U+200F, U+202A-U+202E, U+2066-U+2069), or 0: inside a value
 * such a character turns the text after it around ("Trojan Source"), so
 * that a path or a campaign reads as another. */
static size_t bidi_control(const char *s)
{
	const unsigned char *u = (const unsigned char *)s;
	if (u[0] == 0xd8 && u[1] == 0x9c)
		return 2;
	if (u[0] != 0xe2 || !u[1] || !u[2])
		return 0;
	if (u[1] == 0x80 &&
	    ((u[2] >= 0x8e && u[2] <= 0x8f) || (u[2] >= 0xaa && u[2] <= 0xae)))
		return 3;
	if (u[1] == 0x81 && u[2] >= 0xa6 && u[2] <= 0xa9)
		return 3;
	return 0;
}

/* HTML text; a bidirectional control shows as its code point. */
static void esc(FILE *f, const char *s)
{
	for (; s && *s; s++) {
		size_t bidi = bidi_control(s);
		if (bidi) {
			const unsigned char *u = (const unsigned char *)s;
			unsigned cp = bidi == 2
			                      ? 0x061c
			                      : (unsigned)(u[0] & 0x0f) << 12 |
			                                (unsigned)(u[1] & 0x3f)
			                                        << 6 |
			                                (u[2] & 0x3f);
			fprintf(f, "&lt;U+%04X&gt;", cp);
			s += bidi - 1;
			continue;
		}
		switch (*s) {
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '&': fputs("&amp;", f); break;
		case '"': fputs("&quot;", f); break;
		case '\'': fputs("&#39;", f); break;
		default: fputc(*s, f);
		}
	}
}

/* A page's path (page, entry_page, exit_page), kept percent-encoded as the
 * browser sent it, is shown as a person reads it (/käyttäjä/, not
 * /k%C3%A4ytt%C3%A4j%C3%A4/), as the dashboard shows it, when its decoding
 * is text: well-formed UTF-8 without control characters (C0, DEL, C1);
 * else as stored.  Other values, and the JSON and CSV, stay as stored. */
static bool page_dimension(const char *dimension)
{
	return dimension && (strcmp(dimension, "page") == 0 ||
	                     strcmp(dimension, "entry_page") == 0 ||
	                     strcmp(dimension, "exit_page") == 0);
}

static bool readable(const char *s, size_t len)
{
	if (!seula_text_valid(s, len) || memchr(s, '\t', len))
		return false;
	for (size_t i = 0; i + 1 < len; i++) /* U+0080 to U+009F */
		if ((unsigned char)s[i] == 0xc2 &&
		    (unsigned char)s[i + 1] >= 0x80 &&
		    (unsigned char)s[i + 1] <= 0x9f)
			return false;
	return true;
}

static void esc_value(FILE *f, const char *dimension, const char *s)
{
	char *dec = NULL;
	size_t n = 0;
	/* A path's "+" is a plus, not a space. */
	if (s && page_dimension(dimension) && strchr(s, '%'))
		dec = evhttp_uridecode(s, 0, &n);
	esc(f, dec && readable(dec, n) ? dec : s);
	free(dec);
}

/* A count for reading, its digits in groups of three with commas
 * ("14,505"), as the dashboard writes counts (en-US); the JSON and the
 * CSV keep plain numbers. */
static void fmt_count(char *buf, size_t len, long long v)
{
	char digits[32];
	int n = snprintf(digits, sizeof(digits), "%lld", v);
	size_t o = 0, lead = digits[0] == '-';
	for (int i = 0; i < n && o + 1 < len; i++) {
		size_t left = (size_t)(n - i); /* digits from here on */
		if ((size_t)i > lead && left % 3 == 0 && o + 2 < len)
			buf[o++] = ',';
		buf[o++] = digits[i];
	}
	buf[o] = '\0';
}

static void fmt_metric(char *buf, size_t len, const char *metric,
                       const json_t *v)
{
	if (!v || json_is_null(v)) {
		snprintf(buf, len, "–");
	} else if (strcmp(metric, "bounce_rate") == 0 ||
	           strcmp(metric, "conversion_rate") == 0 ||
	           strcmp(metric, "dropoff_rate") == 0) {
		snprintf(buf, len, "%.1f %%", json_number_value(v));
	} else if (strcmp(metric, "visit_duration") == 0) {
		int s = (int)(json_number_value(v) + 0.5);
		snprintf(buf, len, "%dm %02ds", s / 60, s % 60);
	} else if (json_is_real(v)) {
		snprintf(buf, len, "%.2f", json_real_value(v));
	} else {
		fmt_count(buf, len, (long long)json_integer_value(v));
	}
}

/* A summary's metric, NULL for a rate per visit of a period without
 * visits (the API's 0 there would read as measured). */
static const json_t *per_visit(const json_t *sum, const char *metric)
{
	bool rate = strcmp(metric, "views_per_visit") == 0 ||
	            strcmp(metric, "bounce_rate") == 0 ||
	            strcmp(metric, "visit_duration") == 0;
	if (rate && json_integer_value(json_object_get(sum, "visits")) == 0)
		return NULL;
	return json_object_get(sum, metric);
}

static const char *const card_metrics[][2] = {
        {"visitors", "Unique visitors"},
        {"visits", "Visits"},
        {"pageviews", "Page views"},
        {"views_per_visit", "Views per visit"},
        {"bounce_rate", "Bounce rate"},
        {"visit_duration", "Visit duration"},
        {"events", "Events"},
        {"conversion_rate", "Conversion rate"}, /* with a goal filter */
};

/* A country's English name for its ISO 3166 code (FI: Finland), from
 * ICU's data; false for anything else. */
static bool country_name(const char *code, char *out, size_t cap)
{
	if (strlen(code) != 2 || code[0] < 'A' || code[0] > 'Z' ||
	    code[1] < 'A' || code[1] > 'Z')
		return false;
	char locale[8];
	snprintf(locale, sizeof(locale), "und_%s", code);
	UChar name[64];
	UErrorCode e = U_ZERO_ERROR;
	int32_t n = uloc_getDisplayCountry(locale, "en", name, 64, &e);
	if (U_FAILURE(e) || n <= 0 || n >= 64)
		return false;
	/* ICU answers with the code itself when it has no name. */
	int32_t len = 0;
	u_strToUTF8(out, (int32_t)cap, &len, name, n, &e);
	return U_SUCCESS(e) && len > 0 && (size_t)len < cap &&
	       strcmp(out, code) != 0;
}

/* A table's first heading, in words rather than the API's key. */
static const char *dimension_label(const char *dimension)
{
	static const char *const labels[][2] = {{"page", "Page"},
	                                        {"entry_page", "Entry page"},
	                                        {"source", "Source"},
	                                        {"channel", "Channel"},
	                                        {"utm_campaign", "Campaign"},
	                                        {"country", "Country"},
	                                        {"device", "Device"},
	                                        {"browser", "Browser"},
	                                        {"goal", "Goal"},
	                                        {"name", "Step"},
	                                        {"date", "Date"}};
	for (size_t i = 0; i < sizeof(labels) / sizeof(*labels); i++)
		if (strcmp(labels[i][0], dimension) == 0)
			return labels[i][1];
	return dimension;
}

/* A table of rows, each a dimension value's metrics cols (the first also
 * drawn as a bar); note, when not NULL, is said under it. */
static void html_table(FILE *f, const char *title, const char *dimension,
                       const json_t *rows, const char *const *cols,
                       const char *const *heads, size_t n_cols,
                       const char *note)
{
	fprintf(f, "<section><h2>");
	esc(f, title);
	fprintf(f, "</h2>");
	if (!json_array_size(rows)) {
		fprintf(f, "<p class=\"none\">No data in this period.</p>");
		if (note) {
			fprintf(f, "<p class=\"none\">");
			esc(f, note);
			fprintf(f, "</p>");
		}
		fprintf(f, "</section>\n");
		return;
	}
	double max = 1;
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		double v = json_number_value(json_object_get(row, cols[0]));
		if (v > max)
			max = v;
	}
	fprintf(f, "<table><thead><tr><th scope=\"col\">");
	esc(f, dimension_label(dimension));
	for (size_t c = 0; c < n_cols; c++) {
		fprintf(f, "</th><th scope=\"col\" class=\"num\">");
		esc(f, heads[c]);
	}
	fprintf(f, "</th></tr></thead><tbody>\n");
	json_array_foreach(rows, i, row)
	{
		const json_t *key = json_object_get(row, dimension);
		char keybuf[32];
		const char *ks = json_string_value(key);
		if (!ks) {
			snprintf(keybuf, sizeof(keybuf), "%lld",
			         (long long)json_integer_value(key));
			ks = keybuf;
		}
		double pct = 100.0 *
		             json_number_value(json_object_get(row, cols[0])) /
		             max;
		fprintf(f,
		        "<tr><th scope=\"row\"><span class=\"bar\" "
		        "style=\"width:%.1f%%\"></span><span class=\"key\">",
		        pct);
		char name[128];
		if (strcmp(dimension, "country") == 0 &&
		    country_name(ks, name, sizeof(name))) {
			esc(f, name);
			fprintf(f, " (");
			esc(f, ks);
			fprintf(f, ")");
		} else {
			esc_value(f, dimension, ks);
		}
		fprintf(f, "</span></th>");
		for (size_t c = 0; c < n_cols; c++) {
			char buf[64];
			fmt_metric(buf, sizeof(buf), cols[c],
			           json_object_get(row, cols[c]));
			fprintf(f, "<td class=\"num\">%s</td>", buf);
		}
		fprintf(f, "</tr>\n");
	}
	fprintf(f, "</tbody></table>");
	if (note) {
		fprintf(f, "<p class=\"none\">");
		esc(f, note);
		fprintf(f, "</p>");
	}
	fprintf(f, "</section>\n");
}

/* uPlot, from where setup puts it for the dashboard, else node_modules. */
static char *read_uplot(const struct seula_config *cfg, const char *name)
{
	char path[4096];
	const char *roots[] = {cfg->web_root, "web", NULL};
	for (int i = 0; i < 3; i++) {
		if (i < 2 && !roots[i])
			continue;
		if (i < 2)
			snprintf(path, sizeof(path), "%s/vendor/uplot/%s",
			         roots[i], name);
		else
			snprintf(path, sizeof(path),
			         "node_modules/uplot/dist/%s", name);
		FILE *f = fopen(path, "rb");
		if (!f)
			continue;
		char *buf = NULL;
		size_t len = 0;
		FILE *m = open_memstream(&buf, &len);
		char chunk[65536];
		size_t n;
		while (m && (n = fread(chunk, 1, sizeof(chunk), f)) > 0)
			fwrite(chunk, 1, n, m);
		fclose(f);
		if (m)
			fclose(m);
		return buf;
	}
	return NULL;
}

/* JSON inside a <script>: "</" would end it. */
static void script_json(FILE *f, const json_t *v)
{
	char *text = json_dumps(v, JSON_COMPACT);
	for (const char *p = text; p && *p; p++) {
		if (p[0] == '<' && p[1] == '/')
			fputs("<\\", f);
		else
			fputc(*p, f);
	}
	free(text);
}

/* The start of the bucket (the report's local hour) that UTC milliseconds
 * ms fall in, as the chart's wall-clock seconds: hours, days, weeks and
 * months that start later are still to come. */
static int64_t chart_now(const char *tz, int64_t ms)
{
	struct seula_zone z;
	if (!seula_zone_open(&z, tz && *tz ? tz : "UTC"))
		return seula_floor_div(ms, 3600000) * 3600;
	int64_t day;
	int hour;
	seula_zone_local(&z, seula_floor_div(ms, 1000), &day, &hour);
	seula_zone_close(&z);
	return day * 86400 + (int64_t)hour * 3600;
}

static void write_html(FILE *f, const json_t *r, const char *uplot_js,
                       const char *uplot_css, int64_t now_ms)
{
	const char *site = json_string_value(json_object_get(r, "site"));
	const char *from = json_string_value(json_object_get(r, "from"));
	const char *to = json_string_value(json_object_get(r, "to"));
	fprintf(f, "<!doctype html>\n<html lang=\"en\"><head><meta "
	           "charset=\"utf-8\">\n<meta name=\"viewport\" "
	           "content=\"width=device-width, initial-scale=1\">\n<title>");
	esc(f, site);
	fprintf(f, " – ");
	esc(f, from);
	fprintf(f, " to ");
	esc(f, to);
	fprintf(f,
	        "</title>\n<style>\n"
	        "body{font:15px/1.45 system-ui,sans-serif;color:#1d2430;"
	        "margin:0 auto;max-width:60rem;padding:1.5rem}\n"
	        "h1{font-size:1.5rem;margin:0}h2{font-size:1.1rem;margin:"
	        "1.8rem 0 .5rem}.period{color:#4a5568;margin:.2rem 0 1rem}\n"
	        ".cards{display:grid;grid-template-columns:repeat(auto-fill,"
	        "minmax(9rem,1fr));gap:.6rem}.card{border:1px solid #d5dae1;"
	        "border-radius:6px;padding:.6rem .8rem}.card b{display:block;"
	        "font-size:1.35rem}.card small{color:#4a5568}\n"
	        /* The numbers' columns as wide as their heading or their
	         * widest value, on one line (width:1%% shrinks them to it);
	         * the first takes the rest, where a long value (a path
	         * without a break point) wraps anywhere rather than widen
	         * the table over its neighbour. */
	        "table{border-collapse:collapse;width:100%%}"
	        "th,td{padding:.3rem .4rem;border-bottom:1px solid #e6e9ee;"
	        "text-align:left;overflow-wrap:anywhere;word-break:break-word}"
	        "thead th{font-size:.85rem;overflow-wrap:normal;word-break:"
	        "normal}.num{width:1%%;white-space:nowrap;text-align:right;"
	        "font-variant-numeric:tabular-nums}\n"
	        "@media (max-width:30rem){body{padding:.75rem}table{font-size:"
	        ".875rem}th,td{padding:.25rem .2rem}thead th{font-size:"
	        ".75rem}}\n"
	        "tbody th{position:relative;font-weight:400}.bar{position:"
	        "absolute;left:0;top:.2rem;bottom:.2rem;background:#dbe7ff;"
	        "z-index:-1;border-radius:3px}.key{position:relative}\n"
	        ".none,.note{color:#4a5568}.grid{display:grid;grid-template-"
	        "columns:"
	        "repeat(auto-fit,minmax(min(26rem,100%%),1fr));gap:0 2rem}"
	        ".grid>section{min-width:0}\n"
	        "footer{margin-top:2rem;color:#4a5568;font-size:.85rem}\n"
	        "</style>\n");
	if (uplot_css)
		fprintf(f, "<style>%s</style>\n", uplot_css);
	fprintf(f, "</head><body>\n<header><h1>");
	esc(f, site);
	fprintf(f, "</h1><p class=\"period\">");
	esc(f, from);
	fprintf(f, " – ");
	esc(f, to);
	fprintf(f, " (");
	esc(f, json_string_value(json_object_get(r, "tz")));
	fprintf(f, ")");
	/* None for a period that begins too near 1970 to have one. */
	const json_t *cmp = json_object_get(r, "comparison");
	if (json_is_object(cmp)) {
		fprintf(f, ", compared with ");
		esc(f, json_string_value(json_object_get(cmp, "from")));
		fprintf(f, " – ");
		esc(f, json_string_value(json_object_get(cmp, "to")));
		const char *until =
		        json_string_value(json_object_get(cmp, "until"));
		if (until) {
			fprintf(f, " until ");
			esc(f, until);
		}
	}
	fprintf(f, "</p>");
	const json_t *filters = json_object_get(r, "filters");
	if (json_array_size(filters)) {
		fprintf(f, "<p class=\"period\">Only the visits where ");
		size_t i;
		const json_t *c;
		json_array_foreach(filters, i, c)
		{
			if (i)
				fprintf(f, " and ");
			esc(f,
			    json_string_value(json_object_get(c, "dimension")));
			fprintf(f, " %s ",
			        strcmp(json_string_value(
			                       json_object_get(c, "op")),
			               "!=") == 0
			                ? "is not"
			                : "is");
			esc_value(
			        f,
			        json_string_value(
			                json_object_get(c, "dimension")),
			        json_string_value(json_object_get(c, "value")));
		}
		fprintf(f, " (the consent rates are the site's)</p>");
	}
	fprintf(f, "</header>\n<section class=\"cards\" "
	           "aria-label=\"Summary\">\n");
	const json_t *sum = json_object_get(r, "summary");
	const json_t *prev = json_object_get(cmp, "summary");
	for (size_t i = 0; i < sizeof(card_metrics) / sizeof(*card_metrics);
	     i++) {
		if (!json_object_get(sum, card_metrics[i][0]))
			continue; /* conversion_rate: only with a goal filter */
		char now[64], before[64];
		fmt_metric(now, sizeof(now), card_metrics[i][0],
		           per_visit(sum, card_metrics[i][0]));
		fmt_metric(before, sizeof(before), card_metrics[i][0],
		           per_visit(prev, card_metrics[i][0]));
		fprintf(f, "<div class=\"card\"><small>%s</small><b>%s</b>",
		        card_metrics[i][1], now);
		if (json_is_object(cmp))
			fprintf(f, "<small>before: %s</small>", before);
		fprintf(f, "</div>\n");
	}
	fprintf(f, "</section>\n");

	/* The chart, when uPlot could be inlined; the table always. */
	const json_t *ts = json_object_get(r, "timeseries");
	fprintf(f, "<section><h2>Visitors and page views per ");
	esc(f, json_string_value(json_object_get(r, "interval")));
	fprintf(f, "</h2>");
	if (uplot_js) {
		fprintf(f,
		        "<div id=\"chart\" role=\"img\" aria-label=\"Visitors "
		        "and page views over the period\"></div>\n<script>");
		fputs(uplot_js, f);
		fprintf(f, "</script>\n<script>const rows=");
		script_json(f, ts);
		fprintf(f, ";\nconst partial=");
		script_json(f, json_object_get(r, "partial"));
		/* hour, day, week or month: letters, safe in quotes. */
		const char *iv =
		        json_string_value(json_object_get(r, "interval"));
		fprintf(f, ";\nconst iv='%s'",
		        iv && strspn(iv, "abcdefghijklmnopqrstuvwxyz") ==
		                                strlen(iv)
		                ? iv
		                : "day");
		/* What is still to come is no zero: the lines stop at the
		 * bucket the report was made in, as the dashboard's do. */
		fprintf(f,
		        ";\nconst now=%lld;\nconst t=rows.map(r=>Date.parse("
		        "r.date.length>10?r.date.replace(' "
		        "','T')+':00Z':r.date+'T00:00:00Z')/1000)"
		        ";\nconst "
		        "upToNow=k=>rows.map((r,i)=>t[i]>now?null:r[k])"
		        /* A bucket the period holds only part of, and the
		         * one the report was made in (not over: a day begun
		         * is no fall), hang off their whole neighbours by a
		         * dashed line, as on the dashboard. */
		        ";\nconst "
		        "endOf=i=>i+1<t.length?t[i+1]:iv==='hour'?t[i]+"
		        "3600:iv==='day'?t[i]+86400:iv==='week'?t[i]+604800:"
		        "Date.UTC(new Date(t[i]*1e3).getUTCFullYear(),new Date("
		        "t[i]*1e3).getUTCMonth()+1,1)/1e3"
		        ";\nconst cur=t.reduce((a,x,i)=>x<=now?i:a,-1)"
		        ";\nconst "
		        "cut=rows.map((r,i)=>(partial||[]).some(p=>p.date"
		        "===r.date)||(i===cur&&now<endOf(i)))"
		        ";\nconst near=i=>cut[i]||cut[i-1]||cut[i+1]"
		        ";\nconst whole=k=>upToNow(k).map((v,i)=>cut[i]?null:v)"
		        ";\nconst part=k=>upToNow(k).map((v,i)=>near(i)?v:null)"
		        ";\nconst S=[{},{label:'Visitors',stroke:'#2f6fdf',"
		        "width:2},{label:'Page "
		        "views',stroke:'#9aa5b1',width:1}]"
		        ";\nconst D=[t,whole('visitors'),whole('pageviews')]"
		        ";\nif(cut.some(x=>x)){S.push({label:'Visitors, part',"
		        "stroke:'#2f6fdf',width:2,dash:[4,4]},{label:'Page "
		        "views,"
		        " part',stroke:'#9aa5b1',width:1,dash:[4,4]});"
		        "D.push(part('visitors'),part('pageviews'))}"
		        ";\nnew uPlot({width:Math.min(900,document.body."
		        "clientWidth-40),height:260,tzDate:s=>uPlot.tzDate("
		        "new Date(s*1e3),'Etc/UTC'),series:S,axes:[{},{}],"
		        "scales:{x:{time:true}}},D,"
		        "document.getElementById('chart'));\n</script>\n",
		        (long long)chart_now(
		                json_string_value(json_object_get(r, "tz")),
		                now_ms));
	}
	static const char *const ts_cols[] = {"visitors", "visits",
	                                      "pageviews"};
	static const char *const ts_heads[] = {"Visitors", "Visits",
	                                       "Page views"};
	/* Said in words too, for the table and those who do not see the
	 * chart. */
	size_t ti;
	const json_t *tr;
	bool said = false;
	json_array_foreach(json_object_get(r, "partial"), ti, tr)
	{
		const json_t *in = json_object_get(tr, "days_in_period");
		fprintf(f, "%s", said ? "; " : "<p class=\"note\">Dashed: ");
		fprintf(f, "the %s of ",
		        json_string_value(json_object_get(r, "interval")));
		esc(f, json_string_value(json_object_get(tr, "date")));
		fprintf(f, " has %lld of its %lld days in the period",
		        (long long)json_integer_value(in),
		        (long long)json_integer_value(
		                json_object_get(tr, "days")));
		said = true;
	}
	if (said)
		fprintf(f, ": fewer days, not fewer visitors.</p>\n");
	fprintf(f, "</section>\n<details><summary>The numbers</summary>");
	html_table(f, "", "date", ts, ts_cols, ts_heads, 3, NULL);
	fprintf(f, "</details>\n<div class=\"grid\">\n");

	static const char *const cols[] = {"visitors", "visits", "pageviews",
	                                   "bounce_rate"};
	static const char *const heads[] = {"Visitors", "Visits", "Views",
	                                    "Bounce"};
	for (size_t i = 0; i < N_TABLES; i++)
		html_table(f, tables[i].title, tables[i].dimension,
		           json_object_get(r, tables[i].key), cols, heads, 4,
		           NULL);
	if (json_array_size(json_object_get(r, "content_groups")))
		html_table(f, "Content groups", "content_group",
		           json_object_get(r, "content_groups"), cols, heads, 4,
		           NULL);
	static const char *const gcols[] = {"visitors", "events",
	                                    "conversion_rate"};
	static const char *const gheads[] = {"Converted", "Completions",
	                                     "Conversion"};
	html_table(f, "Goals", "goal", json_object_get(r, "goals"), gcols,
	           gheads, 3, NULL);
	static const char *const fcols[] = {"visits", "visitors",
	                                    "conversion_rate", "dropoff",
	                                    "dropoff_rate"};
	static const char *const fheads[] = {"Visits", "Visitors", "Conversion",
	                                     "Drop-off", "Drop-off rate"};
	size_t fi;
	const json_t *fn;
	json_array_foreach(json_object_get(r, "funnels"), fi, fn)
	{
		char title[96];
		snprintf(title, sizeof(title), "Funnel %s",
		         json_string_value(json_object_get(fn, "funnel")));
		/* As the dashboard says it: a funnel reads the raw events,
		 * which retention deletes before the rollups. */
		json_int_t missed = json_integer_value(
		        json_object_get(fn, "uncovered_visits"));
		const char *since =
		        json_string_value(json_object_get(fn, "covered_from"));
		char note[160];
		if (missed > 0 && since)
			snprintf(note, sizeof(note),
			         "%lld earlier visits are not counted: the raw "
			         "events cover visits from %s on.",
			         (long long)missed, since);
		else if (missed > 0)
			snprintf(note, sizeof(note),
			         "%lld visits are not counted: none of their "
			         "raw events is kept.",
			         (long long)missed);
		html_table(f, title, "name", json_object_get(fn, "results"),
		           fcols, fheads, 5, missed > 0 ? note : NULL);
	}
	fprintf(f, "</div>\n");
	const json_t *notes = json_object_get(r, "annotations");
	if (json_array_size(notes)) {
		fprintf(f, "<section><h2>Notes</h2><ul class=\"notes\">");
		const json_t *nt;
		json_array_foreach(notes, fi, nt)
		{
			fprintf(f, "<li><strong>");
			esc(f, json_string_value(json_object_get(nt, "date")));
			fprintf(f, "</strong> ");
			esc(f, json_string_value(json_object_get(nt, "text")));
			fprintf(f, "</li>");
		}
		fprintf(f, "</ul></section>\n");
	}
	fprintf(f, "<section><h2>Consent</h2>");
	const json_t *c = json_object_get(r, "consent");
	if (json_is_object(c)) {
		static const char *const counts[] = {
		        "shown",        "choices", "accepted_all",
		        "rejected_all", "custom",  "withdrawn"};
		char n[6][32];
		for (size_t i = 0; i < 6; i++)
			fmt_count(n[i], sizeof(n[i]),
			          (long long)json_integer_value(
			                  json_object_get(c, counts[i])));
		fprintf(f,
		        "<p>Banner shown %s times; %s choices: %s accepted "
		        "all, %s rejected all, %s chose, %s withdrew.</p>"
		        "<table><thead><tr><th scope=\"col\">Category</th><th "
		        "scope=\"col\" class=\"num\">Opt-in rate</th></tr>"
		        "</thead><tbody>",
		        n[0], n[1], n[2], n[3], n[4], n[5]);
		const char *k;
		json_t *v;
		json_object_foreach(json_object_get(c, "opt_in_rate"), k, v)
		{
			fprintf(f, "<tr><th scope=\"row\">");
			esc(f, k);
			if (json_is_number(v))
				fprintf(f,
				        "</th><td class=\"num\">%.1f "
				        "%%</td></tr>",
				        100 * json_number_value(v));
			else
				fprintf(f,
				        "</th><td class=\"num\">–</td></tr>");
		}
		fprintf(f, "</tbody></table>");
	} else {
		fprintf(f, "<p class=\"none\">The site has no consent "
		           "configuration.</p>");
	}
	fprintf(f, "</section>\n<footer>Made by Seula from anonymous, "
	           "aggregated statistics: no visitor can be identified from "
	           "this report.</footer>\n</body></html>\n");
}

/* The report in `format` to f (errors are f's, for the caller to see). */
static void write_report(FILE *f, const char *format, const json_t *report,
                         const struct seula_config *cfg, int64_t now_ms)
{
	if (strcmp(format, "json") == 0) {
		json_dumpf(report, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10));
		fputc('\n', f);
	} else if (strcmp(format, "csv") == 0) {
		write_csv(f, report);
	} else {
		char *js = read_uplot(cfg, "uPlot.iife.min.js");
		char *css = read_uplot(cfg, "uPlot.min.css");
		if (!js)
			fprintf(stderr,
			        "seula: uPlot not found (run "
			        "contrib/setup.sh): the report has tables "
			        "but no chart\n");
		write_html(f, report, js, css, now_ms);
		free(js);
		free(css);
	}
}

int seula_cli_report(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"db", required_argument, NULL, 'd'},
	        {"site", required_argument, NULL, 's'},
	        {"from", required_argument, NULL, 'F'},
	        {"to", required_argument, NULL, 'T'},
	        {"tz", required_argument, NULL, 'z'},
	        {"format", required_argument, NULL, 'f'},
	        {"limit", required_argument, NULL, 'n'},
	        {"filter", required_argument, NULL, 'L'},
	        {"output", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *db_path = NULL, *format = "json",
	           *output = NULL;
	struct report_args a = {.limit = "10"};
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': db_path = optarg; break;
		case 's': a.site = optarg; break;
		case 'F': a.from = optarg; break;
		case 'T': a.to = optarg; break;
		case 'z': a.tz = optarg; break;
		case 'f': format = optarg; break;
		case 'n': a.limit = optarg; break;
		case 'L': a.filter = optarg; break;
		/* "-": standard output, as without -o. */
		case 'o': output = strcmp(optarg, "-") ? optarg : NULL; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *wrong =
	        !config && !(config = seula_config_default_path())
	                ? "--config is required (or SEULA_CONFIG, or "
	                  "/etc/seula/seula.ini)"
	        : !a.site        ? "--site is required"
	        : optind != argc ? "unexpected arguments after the options"
	        : strcmp(format, "json") != 0 && strcmp(format, "csv") != 0 &&
	                        strcmp(format, "html") != 0
	                ? "--format must be json, csv or html"
	                : NULL;
	if (wrong) {
		fprintf(stderr, "seula report: %s\n\n", wrong);
		usage(stderr);
		return 2;
	}
	char err[1024] = "";
	char *db_override = NULL;
	if (db_path && asprintf(&db_override, "server.db=%s", db_path) < 0)
		return 1;
	const char *overrides[2] = {db_override, NULL};
	struct seula_cli_setup setup;
	struct seula_consent *consent = NULL;
	sqlite3 *db = NULL;
	json_t *report = NULL;
	int status = 1;
	int rc = seula_cli_setup_load(&setup, config, overrides, SEULA_LOG_WARN,
	                              err, sizeof(err));
	const struct seula_loaded_plugin *p =
	        rc == SEULA_OK ? seula_plugins_find(&setup.plugins, "analytics")
	                       : NULL;
	if (rc == SEULA_OK && !p) {
		snprintf(err, sizeof(err),
		         "the config does not load the analytics plugin");
		rc = SEULA_ENOTFOUND;
	}
	const struct seula_site *site =
	        rc == SEULA_OK ? seula_config_site(&setup.cfg, a.site) : NULL;
	if (rc == SEULA_OK && !site) {
		snprintf(err, sizeof(err), "no site \"%s\" in the config",
		         a.site);
		rc = SEULA_ENOTFOUND;
	}
	/* The site's zone unless --tz names one; else UTC. */
	if (!a.tz || !*a.tz) /* as the API's empty tz= */
		a.tz = site && site->timezone && *site->timezone
		               ? site->timezone
		               : "UTC";
	struct analytics_goals goals = {0};
	if (rc == SEULA_OK &&
	    analytics_goals_parse(
	            ((const struct analytics_config *)p->config)->goals, &goals,
	            err, sizeof(err)) != 0)
		rc = SEULA_EINVAL;
	struct analytics_funnels funnels = {0};
	if (rc == SEULA_OK &&
	    analytics_funnels_parse(
	            ((const struct analytics_config *)p->config)->funnels,
	            &funnels, err, sizeof(err)) != 0)
		rc = SEULA_EINVAL;
	a.funnels = &funnels;
	struct analytics_content_groups groups = {0};
	if (rc == SEULA_OK &&
	    analytics_content_groups_parse(
	            ((const struct analytics_config *)p->config)
	                    ->content_groups,
	            &groups, err, sizeof(err)) != 0)
		rc = SEULA_EINVAL;
	a.groups = &groups;
	if (p)
		a.visit_timeout_s = ((const struct analytics_config *)p->config)
		                            ->visit_timeout_s;
	if (rc == SEULA_OK)
		rc = seula_consent_new(&consent, &setup.cfg, &setup.plugins,
		                       NULL, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_db_open(&db, setup.cfg.db, true, false, 0, err,
		                   sizeof(err));
	/* A database the server has not started on yet. */
	if (rc == SEULA_OK && sqlite3_table_column_metadata(
	                              db, NULL, "analytics_visits", "id", NULL,
	                              NULL, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, sizeof(err),
		         "%s has no analytics tables: run seula migrate (or "
		         "start the server on it) first",
		         setup.cfg.db);
		rc = SEULA_ENOTFOUND;
	}
	if (rc == SEULA_OK && analytics_sql_register(db) != SQLITE_OK) {
		snprintf(err, sizeof(err), "%s", sqlite3_errmsg(db));
		rc = SEULA_EIO;
	}
	a.now_ms = seula_clock_ms();
	if (rc == SEULA_OK)
		rc = build(db, consent, &a, &goals, &report, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = audit_run(&setup.cfg, report, a.filter, err, sizeof(err));
	/* -o FILE: written whole or not at all (a full disk leaves the last
	 * report as it was). */
	struct seula_outfile out = {.f = stdout};
	if (rc == SEULA_OK && output)
		rc = seula_outfile_open(&out, output, &setup.cfg, err,
		                        sizeof(err));
	if (rc == SEULA_OK) {
		write_report(out.f, format, report, &setup.cfg, a.now_ms);
		rc = seula_outfile_commit(&out, err, sizeof(err));
		if (rc == SEULA_OK)
			status = 0;
	}
	seula_outfile_close(&out);
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", err[0] ? err : "report failed");
	json_decref(report);
	analytics_funnels_free(&funnels);
	analytics_content_groups_free(&groups);
	analytics_goals_free(&goals);
	seula_db_close(db);
	seula_consent_free(consent);
	seula_cli_setup_free(&setup);
	free(db_override);
	return status;
}
