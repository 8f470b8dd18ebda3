/*
 * audit.c - the keyed hash chain of the audit log.
 *
 * MAC(row) = BLAKE2b-256 keyed with the server secret over: the previous
 * row's MAC (zeros for the first), the row id, then each field with a
 * presence byte and a length, so that NULL, "" and shifted fields all hash
 * differently.  Ids are consecutive from 1, so a deleted row leaves a gap;
 * the head (last id and MAC, itself MACed) shows a cut tail.
 */
#include "audit.h"
#include "chain.h"
#include "db.h"

#include <seula/plugin.h>

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#define MAC_BYTES SEULA_MAC_BYTES

static void row_mac(const unsigned char *key, const unsigned char *prev,
                    int64_t id, const struct seula_audit_entry *e,
                    unsigned char out[MAC_BYTES])
{
	crypto_generichash_state st;
	seula_chain_begin(&st, key, "audit/1");
	crypto_generichash_update(&st, prev, MAC_BYTES);
	seula_chain_int(&st, id);
	seula_chain_int(&st, e->ts_ms);
	seula_chain_int(&st, e->staff_id);
	seula_chain_text(&st, e->staff_name);
	seula_chain_text(&st, e->ip_anon);
	seula_chain_text(&st, e->action);
	seula_chain_text(&st, e->route);
	seula_chain_text(&st, e->subject);
	seula_chain_text(&st, e->outcome);
	seula_chain_text(&st, e->detail);
	seula_chain_end(&st, out);
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

int seula_audit_append(sqlite3 *db, const unsigned char key[SEULA_SECRET_BYTES],
                       const struct seula_audit_entry *e, char *err,
                       size_t errlen)
{
	unsigned char prev[MAC_BYTES] = {0}, mac[MAC_BYTES];
	int64_t id = 1;
	sqlite3_stmt *last = NULL, *ins = NULL;
	int rc = SEULA_EIO;
	/* The previous MAC is read in this transaction, never cached: the
	 * CLI appends too. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, mac FROM audit_log ORDER BY id DESC "
	                       "LIMIT 1",
	                       -1, &last, NULL) != SQLITE_OK)
		goto out;
	int step = sqlite3_step(last);
	if (step == SQLITE_ROW) {
		id = sqlite3_column_int64(last, 0) + 1;
		if (sqlite3_column_bytes(last, 1) != MAC_BYTES)
			goto out;
		memcpy(prev, sqlite3_column_blob(last, 1), MAC_BYTES);
	} else if (step != SQLITE_DONE) {
		goto out;
	}
	row_mac(key, prev, id, e, mac);
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO audit_log (id, ts, staff_id, "
	            "staff_name, ip_anon, action, route, subject, "
	            "outcome, detail, prev_mac, mac) VALUES (?, ?, ?, "
	            "?, ?, ?, ?, ?, ?, ?, ?, ?)",
	            -1, &ins, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(ins, 1, id);
	sqlite3_bind_int64(ins, 2, e->ts_ms);
	if (e->staff_id)
		sqlite3_bind_int64(ins, 3, e->staff_id);
	else
		sqlite3_bind_null(ins, 3);
	bind_text(ins, 4, e->staff_name);
	bind_text(ins, 5, e->ip_anon);
	bind_text(ins, 6, e->action);
	bind_text(ins, 7, e->route);
	bind_text(ins, 8, e->subject);
	bind_text(ins, 9, e->outcome);
	bind_text(ins, 10, e->detail);
	sqlite3_bind_blob(ins, 11, prev, MAC_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 12, mac, MAC_BYTES, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE)
		goto out;
	char e2[200];
	if (seula_chain_head_set(db, key, "audit", id, mac, e2, sizeof(e2)) ==
	    SEULA_OK)
		rc = SEULA_OK;
out:
	if (rc != SEULA_OK)
		snprintf(err, errlen, "audit log: %s", sqlite3_errmsg(db));
	sqlite3_finalize(last);
	sqlite3_finalize(ins);
	return rc;
}

static const char *col_text(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

int seula_audit_verify(sqlite3 *db, const unsigned char key[SEULA_SECRET_BYTES],
                       struct seula_chain_report *r)
{
	memset(r, 0, sizeof(r[0]));
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, ts, staff_id, staff_name, ip_anon, "
	                       "action, route, subject, outcome, detail, "
	                       "prev_mac, mac FROM audit_log ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(r->why, sizeof(r->why), "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	unsigned char prev[MAC_BYTES] = {0}, mac[MAC_BYTES];
	int64_t expect = 1;
	int rc = SEULA_OK, step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		struct seula_audit_entry e = {
		        .ts_ms = sqlite3_column_int64(st, 1),
		        .staff_id = sqlite3_column_int64(st, 2),
		        .staff_name = col_text(st, 3),
		        .ip_anon = col_text(st, 4),
		        .action = col_text(st, 5),
		        .route = col_text(st, 6),
		        .subject = col_text(st, 7),
		        .outcome = col_text(st, 8),
		        .detail = col_text(st, 9),
		};
		if (id != expect) {
			char why[96];
			snprintf(why, sizeof(why),
			         "row %lld is missing (the next row is %lld)",
			         (long long)expect, (long long)id);
			rc = seula_chain_broken(r, expect, why);
			break;
		}
		if (sqlite3_column_bytes(st, 10) != MAC_BYTES ||
		    sqlite3_column_bytes(st, 11) != MAC_BYTES ||
		    sodium_memcmp(sqlite3_column_blob(st, 10), prev,
		                  MAC_BYTES)) {
			rc = seula_chain_broken(
			        r, id,
			        "its link to the previous row is broken");
			break;
		}
		/* The MAC covers each text up to its first NUL, as written
		 * (never with one); the rest of an edited value would go
		 * unseen here, yet a search (staff_name = ?) compares every
		 * byte: "ada\0x" hides an entry from ?staff=ada. */
		bool nul = false;
		for (int i = 3; i <= 9; i++) {
			const char *t = col_text(st, i);
			nul |= t &&
			       (size_t)sqlite3_column_bytes(st, i) != strlen(t);
		}
		if (nul) {
			rc = seula_chain_broken(r, id,
			                        "a field holds a NUL byte");
			break;
		}
		row_mac(key, prev, id, &e, mac);
		if (sodium_memcmp(sqlite3_column_blob(st, 11), mac,
		                  MAC_BYTES)) {
			rc = seula_chain_broken(
			        r, id, "its content does not match its MAC");
			break;
		}
		memcpy(prev, mac, MAC_BYTES);
		r->rows++;
		expect++;
	}
	sqlite3_finalize(st);
	if (rc != SEULA_OK)
		return rc;
	if (step != SQLITE_DONE) {
		snprintf(r->why, sizeof(r->why), "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	/* The head: the last row the log had, MACed, so a cut tail shows. */
	bool found;
	int64_t last;
	unsigned char hmac[MAC_BYTES];
	char why[128];
	int hrc = seula_chain_head_get(db, key, "audit", &found, &last, hmac,
	                               why, sizeof(why));
	if (hrc == SEULA_EIO) {
		snprintf(r->why, sizeof(r->why), "%s", why);
		return SEULA_EIO;
	}
	if (hrc != SEULA_OK)
		rc = seula_chain_broken(r, last, why);
	else if (found && last != r->rows)
		rc = seula_chain_broken(r, r->rows + 1,
		                        last > r->rows
		                                ? "rows at the end are missing"
		                                : "rows follow the head");
	else if (found && r->rows && sodium_memcmp(hmac, prev, MAC_BYTES))
		rc = seula_chain_broken(r, last,
		                        "the head names another last row");
	else if (!found && r->rows)
		rc = seula_chain_broken(r, 1, "the head is missing");
	else if (!found) {
		/* An empty log with no head is a new database's, or one
		 * wiped whole with its head: adding a staff account is
		 * audited, so accounts tell the two apart. */
		int64_t staff = 0;
		if (seula_db_int(db, "SELECT count(*) FROM staff", &staff,
		                 r->why, sizeof(r->why)) != SEULA_OK)
			return SEULA_EIO;
		if (staff > 0) {
			char w[128];
			snprintf(
			        w, sizeof(w),
			        "the log and its head are gone, yet %lld staff "
			        "accounts exist (adding each was audited)",
			        (long long)staff);
			rc = seula_chain_broken(r, 1, w);
		}
	}
	if (r->rows)
		sodium_bin2hex(r->head, sizeof(r->head), prev, MAC_BYTES);
	return rc;
}

/* A decimal number of n bytes at s as ids are written: no sign, no
 * leading zero, no more than 18 digits ("007" is no id, so it matches
 * only an element "007", as it would before ranges). */
static bool number(const char *s, size_t n, int64_t *out)
{
	if (n == 0 || n > 18 || (n > 1 && s[0] == '0'))
		return false;
	int64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

bool seula_audit_subject_has(const char *subject, const char *id)
{
	if (!subject || !id || !*id)
		return false;
	if (strcmp(subject, id) == 0) /* a whole list finds its entry too */
		return true;
	size_t idn = strlen(id);
	int64_t want = 0;
	bool numeric = number(id, idn, &want);
	for (const char *p = subject;;) {
		size_t n = strcspn(p, ",");
		if (n == idn && memcmp(p, id, n) == 0)
			return true;
		const char *dash = memchr(p, '-', n);
		int64_t lo, hi;
		if (numeric && dash && number(p, (size_t)(dash - p), &lo) &&
		    number(dash + 1, n - (size_t)(dash - p) - 1, &hi) &&
		    lo <= want && want <= hi)
			return true;
		if (!p[n])
			return false;
		p += n + 1;
	}
}

static void subject_has_sql(sqlite3_context *ctx, int argc,
                            sqlite3_value **argv)
{
	(void)argc;
	sqlite3_result_int(ctx,
	                   seula_audit_subject_has(
	                           (const char *)sqlite3_value_text(argv[0]),
	                           (const char *)sqlite3_value_text(argv[1])));
}

int seula_audit_sql_register(sqlite3 *db)
{
	return sqlite3_create_function_v2(
	               db, "seula_subject_has", 2,
	               SQLITE_UTF8 | SQLITE_DETERMINISTIC | SQLITE_INNOCUOUS,
	               NULL, subject_has_sql, NULL, NULL, NULL) == SQLITE_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}
