/*
 * notes.c - dated notes on a site's statistics (see notes.h).
 */
#include "notes.h"

#include "date.h"
#include "label.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* A note's body is a date and 200 characters: anything larger is not
 * one. */
#define BODY_MAX 4096

static int reply(const struct seula_host *h, struct seula_http *http,
                 int status, json_t *body)
{
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	json_decref(body);
	if (!text)
		return SEULA_ENOMEM;
	int rc = h->http_reply(http, status, "application/json", text,
	                       strlen(text));
	free(text);
	return rc;
}

/* The site of the path, or NULL after a 404. */
static const char *site_of(const struct seula_host *h, struct seula_http *http)
{
	const char *site = h->http_param(http, "site");
	if (!site || h->site_known(h, site) == 0) {
		h->http_error(http, 404, "unknown_site",
		              "no such site in the config");
		return NULL;
	}
	return site;
}

static json_t *iso_time(int64_t ms)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	char buf[32];
	if (!gmtime_r(&t, &tm) ||
	    !strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(buf);
}

/* The row (id, day, text, by_name, created_at) as the API gives it;
 * who added it only when `by` (a staff name is a person's). */
static json_t *note_json(sqlite3_stmt *st, bool by)
{
	json_t *o = json_pack("{s:I, s:s, s:s, s:o}", "id",
	                      (json_int_t)sqlite3_column_int64(st, 0), "date",
	                      (const char *)sqlite3_column_text(st, 1), "text",
	                      (const char *)sqlite3_column_text(st, 2),
	                      "created", iso_time(sqlite3_column_int64(st, 4)));
	if (o && by &&
	    json_object_set_new(o, "by",
	                        json_string((const char *)sqlite3_column_text(
	                                st, 3))) != 0) {
		json_decref(o);
		return NULL;
	}
	return o;
}

/* ---- GET ------------------------------------------------------------- */

/* Query parameter `name`, a day or absent, into *out (fallback when
 * absent); false after a 400. */
static bool day_param(const struct seula_host *h, struct seula_http *http,
                      const char *name, const char *fallback, char out[11])
{
	const char *s = h->http_query(http, name);
	int64_t day;
	if (!s || !*s) {
		snprintf(out, 11, "%s", fallback);
		return true;
	}
	if (!seula_date_parse(s, &day)) {
		char msg[64];
		snprintf(msg, sizeof(msg), "%s is a date, YYYY-MM-DD", name);
		h->http_error(http, 400, "invalid_date", msg);
		return false;
	}
	seula_date_format(day, out, 11);
	return true;
}

int analytics_notes_list(const struct seula_host *h, struct seula_http *http)
{
	const char *site = site_of(h, http);
	char from[11], to[11];
	if (!site || !day_param(h, http, "from", "0000-00-00", from) ||
	    !day_param(h, http, "to", "9999-99-99", to))
		return SEULA_OK;
	sqlite3 *db = h->http_db(http);
	sqlite3_stmt *st = NULL;
	if (!db || sqlite3_prepare_v2(db,
	                              "SELECT id, day, text, by_name, "
	                              "created_at FROM analytics_annotations "
	                              "WHERE site = ?1 AND day >= ?2 AND day "
	                              "<= ?3 ORDER BY day, id",
	                              -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, to, -1, SQLITE_STATIC);
	json_t *list = json_array();
	/* A key reads aggregates: not who in the team wrote what. */
	bool by = !(h->abi_minor >= 12 && h->http_api_key(http));
	int step;
	while (list && (step = sqlite3_step(st)) == SQLITE_ROW)
		if (json_array_append_new(list, note_json(st, by)) != 0) {
			json_decref(list);
			list = NULL;
		}
	bool ok = list && step == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!ok) {
		json_decref(list);
		return list ? SEULA_EIO : SEULA_ENOMEM;
	}
	return reply(h, http, 200,
	             json_pack("{s:s, s:o}", "site", site, "results", list));
}

/* ---- POST ------------------------------------------------------------ */

static bool is_json(const struct seula_host *h, const struct seula_http *http)
{
	const char *ct = h->http_header(http, "Content-Type");
	size_t n = strlen("application/json");
	return ct && strncasecmp(ct, "application/json", n) == 0 &&
	       (ct[n] == '\0' || ct[n] == ';' || ct[n] == ' ');
}

/* The body's date and text, or false after a 4xx. */
static bool read_note(const struct seula_host *h, struct seula_http *http,
                      json_t **body, int64_t *day, const char **text)
{
	*body = NULL;
	size_t len = 0;
	const char *raw = h->http_body(http, &len);
	if (!is_json(h, http)) {
		h->http_error(http, 415, "unsupported_media_type",
		              "send application/json");
		return false;
	}
	if (len > BODY_MAX) {
		h->http_error(http, 413, "body_too_large",
		              "a note's body is at most 4096 bytes");
		return false;
	}
	json_error_t jerr;
	*body = json_loadb(raw ? raw : "", len, JSON_REJECT_DUPLICATES, &jerr);
	if (!json_is_object(*body)) {
		h->http_error(http, 400, "invalid_json",
		              "the body is one JSON object");
		return false;
	}
	const char *k;
	json_t *v;
	json_object_foreach(*body, k, v)
	{
		if (strcmp(k, "date") != 0 && strcmp(k, "text") != 0) {
			h->http_error(http, 400, "unknown_field",
			              "a note has a date and a text, nothing "
			              "else");
			return false;
		}
	}
	const char *date = json_string_value(json_object_get(*body, "date"));
	if (!date || !seula_date_parse(date, day)) {
		h->http_error(http, 400, "invalid_date",
		              "date is a day, YYYY-MM-DD");
		return false;
	}
	*text = json_string_value(json_object_get(*body, "text"));
	if (!seula_label_ok(*text, ANALYTICS_NOTE_CHARS)) {
		h->http_error(http, 400, "invalid_text",
		              "text is 1 to 200 characters, not blank, "
		              "without control characters");
		return false;
	}
	return true;
}

static int count_notes(sqlite3 *db, const char *site, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM analytics_annotations "
	                       "WHERE site = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
	*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int analytics_notes_add(const struct seula_host *h, struct seula_http *http)
{
	const char *site = site_of(h, http);
	json_t *body = NULL;
	int64_t day, held = 0;
	const char *text;
	int rc = SEULA_OK;
	if (!site || !read_note(h, http, &body, &day, &text))
		goto out;
	sqlite3 *db = h->http_db(http);
	if (!db) {
		rc = SEULA_EIO;
		goto out;
	}
	if ((rc = count_notes(db, site, &held)) != SEULA_OK)
		goto out;
	if (held >= ANALYTICS_NOTES_MAX) {
		h->http_error(http, 409, "too_many_annotations",
		              "a site has at most 1000 notes: remove one "
		              "first");
		goto out;
	}
	char date[11];
	seula_date_format(day, date, sizeof(date));
	const char *by = h->http_user(http);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO analytics_annotations (site, day, "
	                       "text, by_name, created_at) VALUES (?, ?, ?, "
	                       "?, ?) RETURNING id, day, text, by_name, "
	                       "created_at",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = SEULA_EIO;
		goto out;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, date, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, text, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, by ? by : "", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, h->now_ms(h));
	json_t *note =
	        sqlite3_step(st) == SQLITE_ROW ? note_json(st, true) : NULL;
	/* RETURNING's row is out; the statement still has to finish. */
	bool done = note && sqlite3_step(st) == SQLITE_DONE;
	sqlite3_finalize(st);
	if (!done) {
		json_decref(note);
		rc = SEULA_EIO;
		goto out;
	}
	char detail[160];
	snprintf(detail, sizeof(detail),
	         "annotation %lld of site %s on %s added",
	         (long long)json_integer_value(json_object_get(note, "id")),
	         site, date);
	if ((rc = h->http_audit(http, "change", NULL, detail)) != SEULA_OK) {
		json_decref(note);
		goto out;
	}
	rc = reply(h, http, 201, note);
out:
	json_decref(body);
	return rc;
}

/* ---- DELETE ---------------------------------------------------------- */

int analytics_notes_remove(const struct seula_host *h, struct seula_http *http)
{
	const char *site = site_of(h, http);
	if (!site)
		return SEULA_OK;
	const char *id = h->http_param(http, "id");
	char *end = NULL;
	long long n =
	        id && *id >= '1' && *id <= '9' ? strtoll(id, &end, 10) : 0;
	if (n <= 0 || !end || *end || strlen(id) > 18)
		return h->http_error(http, 404, "not_found",
		                     "no such note of the site");
	sqlite3 *db = h->http_db(http);
	sqlite3_stmt *st = NULL;
	if (!db || sqlite3_prepare_v2(db,
	                              "DELETE FROM analytics_annotations "
	                              "WHERE site = ? AND id = ? RETURNING "
	                              "day",
	                              -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, n);
	char day[11] = "";
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		snprintf(day, sizeof(day), "%s",
		         (const char *)sqlite3_column_text(st, 0));
		step = sqlite3_step(st);
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return SEULA_EIO;
	if (!day[0])
		return h->http_error(http, 404, "not_found",
		                     "no such note of the site");
	char detail[160];
	snprintf(detail, sizeof(detail),
	         "annotation %lld of site %s on %s removed", n, site, day);
	int rc = h->http_audit(http, "change", NULL, detail);
	return rc != SEULA_OK ? rc : h->http_reply(http, 204, NULL, NULL, 0);
}
