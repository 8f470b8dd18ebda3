/*
 * cust_retention.c - customers past their retention (see cust_retention.h).
 */
#include "cust_retention.h"
#include "zone.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int cust_retention_modifier(const char *spec, char *modifier, size_t len)
{
	if (!spec || *spec < '1' || *spec > '9')
		return -1;
	char *end = NULL;
	long n = strtol(spec, &end, 10);
	if (!end || end[0] == '\0' || end[1] != '\0')
		return -1;
	if (*end == 'y' && n <= 100)
		return snprintf(modifier, len, "-%ld years", n) < (int)len ? 0
		                                                           : -1;
	if (*end == 'd' && n <= 36500)
		return snprintf(modifier, len, "-%ld days", n) < (int)len ? 0
		                                                          : -1;
	return -1;
}

/* A growing comma list; false when out of memory. */
struct list {
	char *s;
	size_t len, cap;
};

static bool list_add(struct list *l, const char *item)
{
	size_t n = strlen(item) + 1;
	if (l->len + n + 1 > l->cap) {
		size_t cap = (l->cap ? l->cap * 2 : 64) + n;
		char *g = realloc(l->s, cap);
		if (!g)
			return false;
		l->s = g;
		l->cap = cap;
	}
	if (l->len)
		l->s[l->len++] = ',';
	memcpy(l->s + l->len, item, n);
	l->len += n - 1;
	return true;
}

static int count_of(sqlite3 *db, const char *sql, int64_t id, int64_t *out)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = sqlite3_step(st) == SQLITE_ROW ? 0 : -1;
	*out += sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

int cust_retention_run(sqlite3 *db, const char *spec, const char *zone,
                       int64_t now_ms, bool dry_run, int64_t limit,
                       struct cust_retention_result *out, char *err,
                       size_t errlen)
{
	memset(out, 0, sizeof(*out));
	char modifier[32], today[11];
	if (cust_retention_modifier(spec, modifier, sizeof(modifier)) != 0) {
		snprintf(err, errlen, "retention '%s': not Ny or Nd",
		         spec ? spec : "");
		return -1;
	}
	seula_zone_date(zone, now_ms, today);
	/* The holds as GET /api/customers/{id} derives them, and a data
	 * subject request not yet answered: the person is waiting for it,
	 * made as the customer or under a visitor id since linked to them. */
	static const char find_sql[] =
	        "SELECT c.id, EXISTS (SELECT 1 FROM customer_orders o WHERE "
	        "o.customer_id = c.id AND o.invoice_status = 'open'), EXISTS "
	        "(SELECT 1 FROM customer_orders o WHERE o.customer_id = c.id "
	        "AND o.invoice_status = 'collection'), c.active_contact, "
	        "coalesce(c.statutory_retention_until >= ?1, 0), EXISTS "
	        "(SELECT 1 FROM customer_dsr_requests r WHERE r.customer_id = "
	        "c.id AND r.status = 'open') OR EXISTS (SELECT 1 FROM "
	        "customer_dsr_requests r JOIN customer_links l ON "
	        "l.visitor_id = r.visitor_id WHERE l.customer_id = c.id AND "
	        "r.status = 'open') FROM customers c "
	        "WHERE " CUST_RELATIONSHIP_ENDED_SQL
	        " < date(?1, ?2) ORDER BY c.id";
	static const char *const hold_names[] = {
	        "open_invoice", "debt_collection", "active_contact",
	        "statutory_retention", "open_request"};
	enum { N_HOLDS = sizeof(hold_names) / sizeof(*hold_names) };
	sqlite3_stmt *find = NULL, *del = NULL, *unverify = NULL,
	             *undated = NULL;
	struct list ids = {0}, held = {0}, late = {0};
	int rc = -1, step;
	/* Collected first: deleting under a running scan of the same table
	 * is undefined in SQLite. */
	int64_t *due = NULL;
	size_t n_due = 0, cap = 0;
	if (sqlite3_prepare_v2(db, find_sql, -1, &find, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM customers WHERE id = ?", -1,
	                       &del, NULL) != SQLITE_OK ||
	    /* The requests stay, the record of having answered; how the
	     * person was identified (free text: a document's number, a
	     * birth date) goes with the person. */
	    sqlite3_prepare_v2(db,
	                       "UPDATE customer_dsr_requests SET verification "
	                       "= '' WHERE customer_id = ?",
	                       -1, &unverify, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(find, 1, today, -1, SQLITE_STATIC);
	sqlite3_bind_text(find, 2, modifier, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(find)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(find, 0);
		char item[160];
		size_t k = (size_t)snprintf(item, sizeof(item), "%lld",
		                            (long long)id);
		bool hold = false;
		for (int h = 0; h < N_HOLDS; h++) {
			if (!sqlite3_column_int(find, 1 + h))
				continue;
			k += (size_t)snprintf(item + k, sizeof(item) - k,
			                      "%s%s", hold ? " " : " (",
			                      hold_names[h]);
			hold = true;
		}
		if (hold) {
			snprintf(item + k, sizeof(item) - k, ")");
			out->held++;
			if (!list_add(&held, item))
				goto oom;
			continue;
		}
		if (out->customers >= limit) {
			out->more = true;
			continue;
		}
		if (n_due == cap) {
			cap = cap ? cap * 2 : 64;
			int64_t *g = realloc(due, cap * sizeof(*due));
			if (!g)
				goto oom;
			due = g;
		}
		due[n_due++] = id;
		out->customers++;
		if (!list_add(&ids, item))
			goto oom;
	}
	if (step != SQLITE_DONE)
		goto fail;
	/* The last sign of the relationship: an order, its start, a change
	 * of the record.  Not an anonymised record (nothing names the person
	 * in it), nor one the law keeps anyway. */
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT c.id FROM customers c WHERE c.relationship_end IS "
	            "NULL AND c.active_contact = 0 AND coalesce("
	            "c.first_name, c.last_name, c.organisation, c.email, "
	            "c.street, c.phone, c.website) IS NOT NULL AND "
	            "coalesce(c.statutory_retention_until >= ?1, 0) = 0 AND "
	            "max(coalesce((SELECT "
	            "max(o.date) FROM customer_orders o WHERE o.customer_id = "
	            "c.id), ''), coalesce(c.relationship_start, ''), "
	            "date(c.updated_at / 1000, 'unixepoch')) < date(?1, ?2) "
	            "ORDER BY c.id",
	            -1, &undated, NULL) != SQLITE_OK)
		goto fail;
	sqlite3_bind_text(undated, 1, today, -1, SQLITE_STATIC);
	sqlite3_bind_text(undated, 2, modifier, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(undated)) == SQLITE_ROW) {
		char item[24];
		snprintf(item, sizeof(item), "%lld",
		         (long long)sqlite3_column_int64(undated, 0));
		out->undated++;
		if (!list_add(&late, item))
			goto oom;
	}
	if (step != SQLITE_DONE)
		goto fail;
	for (size_t i = 0; i < n_due; i++) {
		if (count_of(db,
		             "SELECT count(*) FROM customer_orders WHERE "
		             "customer_id = ?",
		             due[i], &out->orders) != 0 ||
		    count_of(db,
		             "SELECT count(*) FROM customer_links WHERE "
		             "customer_id = ?",
		             due[i], &out->links) != 0)
			goto fail;
		if (dry_run)
			continue;
		sqlite3_reset(del);
		sqlite3_bind_int64(del, 1, due[i]);
		sqlite3_reset(unverify);
		sqlite3_bind_int64(unverify, 1, due[i]);
		if (sqlite3_step(del) != SQLITE_DONE ||
		    sqlite3_step(unverify) != SQLITE_DONE)
			goto fail;
	}
	out->ids = ids.s ? ids.s : strdup("");
	out->held_ids = held.s ? held.s : strdup("");
	out->undated_ids = late.s ? late.s : strdup("");
	ids.s = held.s = late.s = NULL;
	rc = out->ids && out->held_ids && out->undated_ids ? 0 : -1;
	if (rc)
		snprintf(err, errlen, "customer retention: out of memory");
	goto out;
oom:
	snprintf(err, errlen, "customer retention: out of memory");
	goto out;
fail:
	snprintf(err, errlen, "customer retention: %s", sqlite3_errmsg(db));
out:
	free(due);
	if (rc)
		cust_retention_result_free(out);
	free(ids.s);
	free(held.s);
	free(late.s);
	sqlite3_finalize(find);
	sqlite3_finalize(undated);
	sqlite3_finalize(del);
	sqlite3_finalize(unverify);
	return rc;
}

void cust_retention_result_free(struct cust_retention_result *r)
{
	free(r->ids);
	free(r->held_ids);
	free(r->undated_ids);
	r->ids = r->held_ids = r->undated_ids = NULL;
}
