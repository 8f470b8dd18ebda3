/*
 * subject.c - data subject rights across the core and every plugin (see
 * subject.h).
 */
#include "subject.h"

#include "consent.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static void iso_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* One row as a flat object, named by its columns. */
static json_t *row_object(sqlite3_stmt *st)
{
	json_t *o = json_object();
	for (int i = 0; o && i < sqlite3_column_count(st); i++) {
		json_t *v;
		switch (sqlite3_column_type(st, i)) {
		case SQLITE_INTEGER:
			v = json_integer(sqlite3_column_int64(st, i));
			break;
		case SQLITE_FLOAT:
			v = json_real(sqlite3_column_double(st, i));
			break;
		case SQLITE_TEXT:
			v = json_stringn(
			        (const char *)sqlite3_column_text(st, i),
			        (size_t)sqlite3_column_bytes(st, i));
			break;
		default: v = json_null(); break;
		}
		json_object_set_new(o, sqlite3_column_name(st, i), v);
	}
	return o;
}

/* Run `sql` once per visitor id (bound as ?1), appending its rows to
 * `rows` (when not NULL) and adding its changes to *changes. */
static int per_visitor(sqlite3 *db, const char *sql,
                       const struct seula_subject *who, json_t *rows,
                       int64_t *changes, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	int step = SQLITE_DONE;
	for (size_t i = 0; i < who->n_visitor_ids; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, who->visitor_ids[i], -1,
		                  SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW)
			if (rows)
				json_array_append_new(rows, row_object(st));
		if (step != SQLITE_DONE)
			break;
		if (changes)
			*changes += sqlite3_changes64(db);
	}
	if (step != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

int seula_subject_audit_bind(sqlite3_stmt *st, const unsigned char *key,
                             const struct seula_subject *who)
{
	/* Their visitor ids, as entries before the pseudonym named them, and
	 * as the audit log names them now. */
	json_t *ids = json_array();
	for (size_t i = 0; ids && i < who->n_visitor_ids; i++) {
		char pseudonym[SEULA_AUDIT_VISITOR_MAX];
		seula_consent_audit_visitor(key, who->visitor_ids[i],
		                            pseudonym);
		if (json_array_append_new(ids,
		                          json_string(who->visitor_ids[i])) ||
		    json_array_append_new(ids, json_string(pseudonym))) {
			json_decref(ids);
			ids = NULL;
		}
	}
	char *ids_text = ids ? json_dumps(ids, JSON_COMPACT) : NULL;
	json_decref(ids);
	if (!ids_text)
		return SEULA_ENOMEM;
	int bad =
	        sqlite3_bind_text(st,
	                          sqlite3_bind_parameter_index(st, ":subject"),
	                          who->audit_subject, -1, SQLITE_TRANSIENT) ||
	        sqlite3_bind_text(st,
	                          sqlite3_bind_parameter_index(st, ":visitors"),
	                          ids_text, -1, SQLITE_TRANSIENT) ||
	        sqlite3_bind_int64(
	                st, sqlite3_bind_parameter_index(st, ":customer"),
	                who->customer_id);
	free(ids_text);
	return bad ? SEULA_EIO : SEULA_OK;
}

int seula_subject_customer_visitors(sqlite3 *db, int64_t customer_id,
                                    char ***out, size_t *n)
{
	*out = NULL;
	*n = 0;
	/* SQLITE_ERROR: the schema was read, and has no such table. */
	int has = sqlite3_table_column_metadata(
	        db, NULL, "customer_links", NULL, NULL, NULL, NULL, NULL, NULL);
	if (has == SQLITE_ERROR)
		return SEULA_OK;
	sqlite3_stmt *st = NULL;
	if (has != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT DISTINCT visitor_id FROM customer_links "
	                       "WHERE customer_id = ? AND visitor_id IS NOT "
	                       "NULL ORDER BY visitor_id",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, customer_id);
	char **ids = NULL;
	size_t count = 0;
	int rc = SEULA_OK, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *v = (const char *)sqlite3_column_text(st, 0);
		char **more = realloc(ids, (count + 1) * sizeof(*more));
		if (more)
			ids = more;
		char *vid = more && v ? strdup(v) : NULL;
		if (!vid) {
			rc = SEULA_ENOMEM;
			break;
		}
		ids[count++] = vid;
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	sqlite3_finalize(st);
	if (rc != SEULA_OK) {
		seula_subject_visitors_free(ids, count);
		return rc;
	}
	*out = ids;
	*n = count;
	return SEULA_OK;
}

void seula_subject_visitors_free(char **ids, size_t n)
{
	for (size_t i = 0; ids && i < n; i++)
		free(ids[i]);
	free(ids);
}

/* The audit entries about the person (SEULA_SUBJECT_AUDIT_MATCH), a list
 * that names them given as their id alone: the others it names are not
 * theirs to read.  Who read it, when, how; the staff member's own address
 * is theirs, not the person's, and stays out. */
static int audit_rows(sqlite3 *db, const unsigned char *key,
                      const struct seula_subject *who, json_t *rows,
                      int64_t *count, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, ts, staff_name, action, route, CASE "
	                       "WHEN subject <> :subject AND "
	                       "seula_subject_has(subject, :subject) THEN "
	                       ":subject ELSE subject END AS subject, "
	                       "outcome, detail FROM audit_log "
	                       "WHERE " SEULA_SUBJECT_AUDIT_MATCH
	                       " ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "audit log: %s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	int rc = seula_subject_audit_bind(st, key, who);
	if (rc != SEULA_OK) {
		snprintf(err, errlen, "audit log: %s",
		         rc == SEULA_ENOMEM ? "out of memory"
		                            : sqlite3_errmsg(db));
		sqlite3_finalize(st);
		return rc;
	}
	int step;
	*count = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		(*count)++;
		if (!rows)
			continue;
		char ts[32];
		iso_time(sqlite3_column_int64(st, 1), ts);
		json_t *o = row_object(st);
		json_object_set_new(o, "ts", json_string(ts));
		json_array_append_new(rows, o);
	}
	if (step != SQLITE_DONE)
		snprintf(err, errlen, "audit log: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

static int core_access(sqlite3 *db, const unsigned char *key,
                       const struct seula_subject *who, json_t *o, char *err,
                       size_t errlen)
{
	json_t *events = json_array(), *records = json_array(),
	       *state = json_array(), *audit = json_array();
	json_object_set_new(o, "events", events);
	json_object_set_new(o, "consent_records", records);
	json_object_set_new(o, "consent_state", state);
	json_object_set_new(o, "audit_log", audit);
	/* Every column, the kind and the time as a person reads them (the
	 * stored codes and epoch milliseconds mean nothing to them). */
	int rc = per_visitor(
	        db,
	        "SELECT id, site, CASE type WHEN 1 THEN 'pageview' WHEN 2 "
	        "THEN 'event' WHEN 3 THEN 'engagement' ELSE type END AS type, "
	        "strftime('%Y-%m-%dT%H:%M:%fZ', ts / 1000.0, 'unixepoch') AS "
	        "time, url, hostname, path, referrer, title, language, name, "
	        "props, visitor_id, utm_source, utm_medium, utm_campaign, "
	        "utm_term, utm_content, ip_anon, country, region, city, "
	        "browser, browser_version, os, os_version, device, "
	        "referrer_source, referrer_name, screen_width, screen_height, "
	        "engagement_ms, visitor_hash, bot FROM events WHERE "
	        "visitor_id = ?1 ORDER BY ts, id",
	        who, events, NULL, err, errlen);
	for (size_t i = 0; rc == SEULA_OK && i < who->n_visitor_ids; i++)
		rc = seula_consent_subject_export(db, who->visitor_ids[i],
		                                  records, err, errlen);
	if (rc == SEULA_OK)
		rc = per_visitor(db,
		                 "SELECT visitor_id, site, analytics, "
		                 "marketing, personalization, "
		                 "strftime('%Y-%m-%dT%H:%M:%SZ', valid_until / "
		                 "1000, 'unixepoch') AS valid_until, receipt "
		                 "FROM consent_visitors WHERE visitor_id = ?1",
		                 who, state, NULL, err, errlen);
	int64_t n;
	if (rc == SEULA_OK)
		rc = audit_rows(db, key, who, audit, &n, err, errlen);
	return rc;
}

static int core_erase(sqlite3 *db, const unsigned char *key,
                      enum seula_subject_op op, const struct seula_subject *who,
                      json_t *o, char *err, size_t errlen)
{
	int64_t events = 0, records = 0, kept = 0;
	/* Counted first: erasure takes the visitor ids off the consent
	 * records, which find the entries about their receipts. */
	int rc = audit_rows(db, key, who, NULL, &kept, err, errlen);
	/* Anonymised, an event is one more cookieless page view. */
	if (rc == SEULA_OK)
		rc = per_visitor(
		        db,
		        op == SEULA_SUBJECT_ERASE
		                ? "DELETE FROM events WHERE visitor_id = ?1"
		                : "UPDATE events SET visitor_id = NULL "
		                  "WHERE visitor_id = ?1",
		        who, NULL, &events, err, errlen);
	for (size_t i = 0; rc == SEULA_OK && i < who->n_visitor_ids; i++) {
		int64_t n = 0;
		rc = seula_consent_subject_erase(db, key, who->visitor_ids[i],
		                                 who->now_ms, &n, err, errlen);
		records += n;
	}
	if (rc == SEULA_OK) {
		json_object_set_new(o,
		                    op == SEULA_SUBJECT_ERASE
		                            ? "events_deleted"
		                            : "events_anonymised",
		                    json_integer(events));
		json_object_set_new(o, "consent_records_pseudonymised",
		                    json_integer(records));
		json_object_set_new(o, "audit_entries_kept",
		                    json_integer(kept));
	}
	return rc;
}

int seula_subject_core(sqlite3 *db, const unsigned char *key,
                       enum seula_subject_op op,
                       const struct seula_subject *who, json_t **out, char *err,
                       size_t errlen)
{
	*out = NULL;
	if (!who || who->size < sizeof(struct seula_subject) ||
	    !who->audit_subject || (who->n_visitor_ids && !who->visitor_ids)) {
		snprintf(err, errlen, "the subject is incomplete");
		return SEULA_EINVAL;
	}
	json_t *o = json_object();
	if (!o)
		return SEULA_ENOMEM;
	int rc;
	switch (op) {
	case SEULA_SUBJECT_ACCESS:
		rc = core_access(db, key, who, o, err, errlen);
		break;
	case SEULA_SUBJECT_ERASE:
	case SEULA_SUBJECT_ANONYMISE:
		if (!key) {
			snprintf(err, errlen,
			         "erasure needs the server's key to sign the "
			         "consent records it clears");
			rc = SEULA_EINVAL;
			break;
		}
		rc = core_erase(db, key, op, who, o, err, errlen);
		break;
	default:
		snprintf(err, errlen, "unknown subject operation %d", (int)op);
		rc = SEULA_EINVAL;
	}
	if (rc != SEULA_OK) {
		json_decref(o);
		return rc;
	}
	*out = o;
	return SEULA_OK;
}

int seula_subject_run(const struct seula_plugins *plugins,
                      const unsigned char *key, sqlite3 *db,
                      enum seula_subject_op op, const struct seula_subject *who,
                      json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	json_t *all = json_object(), *part = NULL;
	char e[512] = "";
	int rc = seula_subject_core(db, key, op, who, &part, e, sizeof(e));
	if (rc != SEULA_OK) {
		snprintf(err, errlen, "core: %s", e[0] ? e : "failed");
		json_decref(all);
		return rc;
	}
	json_object_set_new(all, "core", part);
	for (size_t i = 0; plugins && i < plugins->n; i++) {
		const struct seula_loaded_plugin *p = &plugins->list[i];
		if (!p->desc.subject || !p->initialised)
			continue;
		char *text = NULL, *msg = NULL;
		rc = p->desc.subject(p->instance, db, op, who, &text, &msg);
		json_error_t jerr;
		part = rc == SEULA_OK && text ? json_loads(text, 0, &jerr)
		                              : json_object();
		if (rc != SEULA_OK)
			snprintf(err, errlen, "%s: %s", p->desc.name,
			         msg ? msg : "the subject hook failed");
		else if (!json_is_object(part)) {
			snprintf(err, errlen,
			         "%s: the subject hook's answer is not a JSON "
			         "object",
			         p->desc.name);
			rc = SEULA_EINVAL;
		}
		free(text);
		free(msg);
		if (rc != SEULA_OK) {
			json_decref(part);
			json_decref(all);
			return rc;
		}
		json_object_set_new(all, p->desc.name, part);
	}
	*out = all;
	return SEULA_OK;
}
