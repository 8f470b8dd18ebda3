/*
 * linkage.c - identify events, visitor links, segment reports and the
 * register's retention task (see linkage.h).
 */
#include "linkage.h"

#include "cust_retention.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define KEY_BYTES crypto_generichash_KEYBYTES
#define HASH_BYTES 32
#define DAY_MS 86400000LL
/* A visit ends after 30 minutes without an event (as the analytics
 * plugin's default, Plausible and Google Analytics). */
#define VISIT_GAP_MS (30 * 60 * 1000LL)
/* Emails hashed per task run, and customers deleted per retention run:
 * bounded so the writer is never held long; the next run goes on. */
#define HASHES_PER_TASK 10000
#define RETENTION_PER_RUN 1000

struct cust_link {
	const struct seula_host *host;
	const struct cust_link_settings *cfg;
	/* Written by the start task before any loop thread runs, read-only
	 * afterwards. */
	unsigned char key[KEY_BYTES];
	bool have_key;
	char *conversions; /* JSON array of the names, or NULL: every one */
};

int cust_link_new(const struct seula_host *host,
                  const struct cust_link_settings *cfg, struct cust_link **out,
                  char **errmsg)
{
	char modifier[32];
	*out = NULL;
	if (cust_retention_modifier(cfg->retention, modifier,
	                            sizeof(modifier)) != 0) {
		*errmsg = host->mprintf("retention '%s': give years (10y, at "
		                        "most 100y) or days (3650d)",
		                        cfg->retention);
		return SEULA_EINVAL;
	}
	if (sodium_init() < 0) {
		*errmsg = host->mprintf("libsodium cannot start");
		return SEULA_EIO;
	}
	struct cust_link *l = calloc(1, sizeof(*l));
	if (!l)
		return SEULA_ENOMEM;
	l->host = host;
	l->cfg = cfg;
	if (cfg->conversions && cfg->conversions[0]) {
		json_t *a = json_array();
		for (size_t i = 0; cfg->conversions[i]; i++)
			json_array_append_new(a,
			                      json_string(cfg->conversions[i]));
		l->conversions = json_dumps(a, JSON_COMPACT);
		json_decref(a);
		if (!l->conversions) {
			free(l);
			return SEULA_ENOMEM;
		}
	}
	*out = l;
	return SEULA_OK;
}

void cust_link_free(struct cust_link *l)
{
	if (!l)
		return;
	sodium_memzero(l->key, sizeof(l->key));
	free(l->conversions);
	free(l);
}

/* ---- the keyed hash -------------------------------------------------- */

bool cust_email_normalise(const char *s, size_t len, char out[CUST_EMAIL_MAX],
                          size_t *out_len)
{
	if (!s)
		return false;
	while (len && (*s == ' ' || *s == '\t'))
		s++, len--;
	while (len && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len < 3 || len > CUST_EMAIL_MAX || !memchr(s, '@', len))
		return false;
	for (size_t i = 0; i < len; i++)
		out[i] = s[i] >= 'A' && s[i] <= 'Z' ? (char)(s[i] - 'A' + 'a')
		                                    : s[i];
	*out_len = len;
	return true;
}

/* BLAKE2b keyed with the link key over the address as
 * cust_email_normalise() leaves it.  false when it is no address or there
 * is no key yet. */
static bool email_hash(const struct cust_link *l, const char *s, size_t len,
                       unsigned char out[HASH_BYTES])
{
	char buf[CUST_EMAIL_MAX];
	size_t n;
	if (!l->have_key || !cust_email_normalise(s, len, buf, &n))
		return false;
	crypto_generichash(out, HASH_BYTES, (const unsigned char *)buf, n,
	                   l->key, sizeof(l->key));
	sodium_memzero(buf, n);
	return true;
}

/* Hash the emails of up to `limit` customers that have no hash yet (new,
 * or their email changed: a trigger clears it).  Customers without an
 * address get an empty blob, so they are not looked at again. */
static int fill_hashes(struct cust_link *l, sqlite3 *db, int64_t limit,
                       int64_t *done)
{
	enum { CHUNK = 256 };
	*done = 0;
	if (!l->have_key)
		return SEULA_OK;
	sqlite3_stmt *sel = NULL, *up = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, email FROM customers WHERE "
	                       "link_hash IS NULL LIMIT ?",
	                       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(
	            db, "UPDATE customers SET link_hash = ? WHERE id = ?", -1,
	            &up, NULL) != SQLITE_OK)
		goto out;
	for (;;) {
		int64_t ids[CHUNK];
		unsigned char hashes[CHUNK][HASH_BYTES];
		bool has[CHUNK];
		size_t n = 0;
		int step;
		sqlite3_reset(sel);
		sqlite3_bind_int64(sel, 1, CHUNK);
		while (n < CHUNK && (step = sqlite3_step(sel)) == SQLITE_ROW) {
			ids[n] = sqlite3_column_int64(sel, 0);
			const char *e =
			        (const char *)sqlite3_column_text(sel, 1);
			has[n] = email_hash(
			        l, e, (size_t)sqlite3_column_bytes(sel, 1),
			        hashes[n]);
			n++;
		}
		sqlite3_reset(sel);
		for (size_t i = 0; i < n; i++) {
			sqlite3_reset(up);
			if (has[i])
				sqlite3_bind_blob(up, 1, hashes[i], HASH_BYTES,
				                  SQLITE_STATIC);
			else
				sqlite3_bind_zeroblob(up, 1, 0);
			sqlite3_bind_int64(up, 2, ids[i]);
			if (sqlite3_step(up) != SQLITE_DONE)
				goto out;
		}
		*done += (int64_t)n;
		if (n < CHUNK || *done >= limit)
			break;
	}
	rc = SEULA_OK;
out:
	sqlite3_finalize(sel);
	sqlite3_finalize(up);
	return rc;
}

int cust_link_find_email(struct cust_link *l, sqlite3 *db, const char *email,
                         int64_t except, int64_t *found)
{
	*found = 0;
	char want[CUST_EMAIL_MAX];
	size_t want_len;
	if (!email ||
	    !cust_email_normalise(email, strlen(email), want, &want_len))
		return SEULA_OK;
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO, step;
	int64_t done;
	unsigned char hash[HASH_BYTES];
	if (l->have_key) {
		/* By the index, as an identify event finds its customer. */
		if (fill_hashes(l, db, INT64_MAX, &done) != SEULA_OK ||
		    !email_hash(l, email, strlen(email), hash) ||
		    sqlite3_prepare_v2(db,
		                       "SELECT id FROM customers WHERE "
		                       "link_hash = ?1 AND id <> ?2 ORDER BY "
		                       "id LIMIT 1",
		                       -1, &st, NULL) != SQLITE_OK)
			goto out;
		sqlite3_bind_blob(st, 1, hash, HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, except);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW)
			*found = sqlite3_column_int64(st, 0);
		rc = step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK
		                                               : SEULA_EIO;
		goto out;
	}
	/* No key yet (before the start task): every address compared. */
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, email FROM customers WHERE email "
	                       "IS NOT NULL AND id <> ? ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, except);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		char have[CUST_EMAIL_MAX];
		size_t have_len;
		bool same = cust_email_normalise(
		                    (const char *)sqlite3_column_text(st, 1),
		                    (size_t)sqlite3_column_bytes(st, 1), have,
		                    &have_len) &&
		            have_len == want_len &&
		            memcmp(have, want, want_len) == 0;
		sodium_memzero(have, sizeof(have));
		if (same) {
			*found = sqlite3_column_int64(st, 0);
			break;
		}
	}
	rc = step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
out:
	sodium_memzero(want, sizeof(want));
	sqlite3_finalize(st);
	return rc;
}

int cust_link_key_task(struct cust_link *l, sqlite3 *db, int64_t now_ms,
                       char **errmsg)
{
	(void)now_ms;
	const struct seula_host *h = l->host;
	if (!l->have_key) {
		sqlite3_stmt *st = NULL;
		int rc = SEULA_EIO;
		if (sqlite3_prepare_v2(db,
		                       "SELECT key FROM customer_link_key "
		                       "WHERE id = 1",
		                       -1, &st, NULL) != SQLITE_OK)
			goto key_out;
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == KEY_BYTES) {
			memcpy(l->key, sqlite3_column_blob(st, 0), KEY_BYTES);
			rc = SEULA_OK;
		} else if (step == SQLITE_DONE) {
			sqlite3_finalize(st);
			h->random_bytes(h, l->key, KEY_BYTES);
			if (sqlite3_prepare_v2(db,
			                       "INSERT INTO customer_link_key "
			                       "(id, key) VALUES (1, ?)",
			                       -1, &st, NULL) != SQLITE_OK) {
				st = NULL;
				goto key_out;
			}
			sqlite3_bind_blob(st, 1, l->key, KEY_BYTES,
			                  SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = SEULA_OK;
		}
	key_out:
		sqlite3_finalize(st);
		if (rc != SEULA_OK) {
			*errmsg = h->mprintf("the link key: %s",
			                     sqlite3_errmsg(db));
			return rc;
		}
		l->have_key = true;
	}
	int64_t done = 0;
	if (fill_hashes(l, db, HASHES_PER_TASK, &done) != SEULA_OK) {
		*errmsg = h->mprintf("email hashes: %s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	if (done)
		h->log(h, SEULA_LOG_DEBUG, "link: %lld email hashes computed",
		       (long long)done);
	return SEULA_OK;
}

/* ---- the loop: the address never reaches the store ------------------ */

/* `exact`: the name as cust_link_on_event() leaves it; else in any case,
 * as a site may send it ("Identify"). */
static bool is_identify_named(const struct seula_host *h,
                              const struct seula_event *ev, bool exact)
{
	int64_t type = 0;
	const char *name = h->event_str(ev, SEULA_FIELD_NAME);
	return h->event_int(ev, SEULA_FIELD_TYPE, &type) == SEULA_OK &&
	       type == SEULA_EVENT_CUSTOM && name &&
	       (exact ? strcmp(name, CUST_IDENTIFY_EVENT)
	              : strcasecmp(name, CUST_IDENTIFY_EVENT)) == 0;
}

static bool is_identify(const struct seula_host *h,
                        const struct seula_event *ev)
{
	return is_identify_named(h, ev, true);
}

/* The address: the string under a key that is "email" in any case
 * ("Email"), NULL when there is none, or several that differ (whose the
 * visit is would be a guess).  Every such key is taken out of `o`,
 * whatever its value. */
static json_t *take_email(json_t *o)
{
	json_t *email = NULL;
	bool differ = false;
	const char *key;
	json_t *v;
	void *tmp;
	json_object_foreach_safe(o, tmp, key, v)
	{
		if (strcasecmp(key, CUST_IDENTIFY_PROP) != 0)
			continue;
		if (!json_is_string(v))
			differ = true;
		else if (!email)
			email = json_incref(v);
		else if (!json_equal(email, v))
			differ = true;
		json_object_del(o, key);
	}
	if (differ) {
		json_decref(email);
		email = NULL;
	}
	return email;
}

enum seula_verdict cust_link_on_event(struct cust_link *l,
                                      struct seula_event *ev)
{
	const struct seula_host *h = l->host;
	if (!is_identify_named(h, ev, false))
		return SEULA_KEEP;
	/* One name from here on, so that every later stage and report
	 * knows the event for what it is. */
	if (!is_identify(h, ev) &&
	    h->event_set_str(ev, SEULA_FIELD_NAME, CUST_IDENTIFY_EVENT,
	                     strlen(CUST_IDENTIFY_EVENT)) != SEULA_OK)
		return SEULA_ERROR;
	const char *props = h->event_str(ev, SEULA_FIELD_PROPS);
	if (!props)
		return SEULA_KEEP;
	json_t *o = json_loads(props, 0, NULL);
	if (!json_is_object(o)) {
		/* Collect wrote it; unreadable, it cannot be checked, so none
		 * of it is kept. */
		json_decref(o);
		return h->event_clear(ev, SEULA_FIELD_PROPS) == SEULA_OK
		               ? SEULA_KEEP
		               : SEULA_ERROR;
	}
	json_t *email = take_email(o);
	unsigned char hash[HASH_BYTES];
	char hex[2 * HASH_BYTES + 1] = "";
	if (email && email_hash(l, json_string_value(email),
	                        json_string_length(email), hash))
		sodium_bin2hex(hex, sizeof(hex), hash, sizeof(hash));
	json_decref(email);
	/* The pseudonym goes in a field of its own, which nothing stores: in
	 * props the analytics plugin kept it with the event's other
	 * properties, for visitors of every consent. */
	int rc = *hex ? h->event_set_str(ev, SEULA_FIELD_IDENTITY, hex,
	                                 strlen(hex))
	              : h->event_clear(ev, SEULA_FIELD_IDENTITY);
	size_t left = json_object_size(o);
	char *text = left ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS |
	                                          JSON_ENSURE_ASCII)
	                  : NULL;
	json_decref(o);
	if (rc == SEULA_OK)
		rc = left && !text ? SEULA_ENOMEM
		     : text ? h->event_set_str(ev, SEULA_FIELD_PROPS, text,
		                               strlen(text))
		            : h->event_clear(ev, SEULA_FIELD_PROPS);
	free(text);
	/* An address that could not be taken out must not be stored. */
	return rc == SEULA_OK ? SEULA_KEEP : SEULA_ERROR;
}

/* ---- the writer: link under consent ---------------------------------- */

struct batch {
	struct cust_link *l;
	sqlite3 *db;
	sqlite3_stmt *consent, *find, *insert, *shared, *other, *unlink, *mark;
	bool filled;
	int64_t now;
	int64_t linked, known, no_visitor, no_consent, no_customer, refused,
	        unlinked, in_shared;
};

static int prepare(sqlite3 *db, sqlite3_stmt **st, const char *sql)
{
	if (*st)
		return SEULA_OK;
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

/* 1 when the visitor id is one that two customers identified as (now or
 * before), 0 when not, -1 on error.  A visitor id linked to customer A
 * that identifies as a registered customer B who is not A becomes shared:
 * A's link goes, and it is never linked again while its events remain
 * (cust_link_retention_task), so neither's access export nor erasure
 * reaches the other's visits.  This takes links away only, so it needs no
 * consent: a visitor who withdrew still unlinks. */
static int shared_visitor(struct batch *b, const char *vid,
                          const unsigned char hash[HASH_BYTES])
{
	if (prepare(b->db, &b->shared,
	            "SELECT 1 FROM customer_link_shared WHERE visitor_id = "
	            "?") != SEULA_OK ||
	    prepare(b->db, &b->other,
	            "SELECT 1 FROM customer_links l WHERE l.visitor_id = ?1 "
	            "AND EXISTS (SELECT 1 FROM customers WHERE link_hash = ?2) "
	            "AND NOT EXISTS (SELECT 1 FROM customers c WHERE c.id = "
	            "l.customer_id AND c.link_hash = ?2) LIMIT 1") !=
	            SEULA_OK ||
	    prepare(b->db, &b->unlink,
	            "DELETE FROM customer_links WHERE visitor_id = ?") !=
	            SEULA_OK ||
	    prepare(b->db, &b->mark,
	            "INSERT INTO customer_link_shared (visitor_id, since) "
	            "VALUES (?, ?) ON CONFLICT DO NOTHING") != SEULA_OK)
		return -1;
	sqlite3_reset(b->shared);
	sqlite3_bind_text(b->shared, 1, vid, -1, SQLITE_STATIC);
	int step = sqlite3_step(b->shared);
	if (step != SQLITE_DONE)
		return step == SQLITE_ROW ? 1 : -1;
	sqlite3_reset(b->other);
	sqlite3_bind_text(b->other, 1, vid, -1, SQLITE_STATIC);
	sqlite3_bind_blob(b->other, 2, hash, HASH_BYTES, SQLITE_STATIC);
	step = sqlite3_step(b->other);
	if (step != SQLITE_ROW)
		return step == SQLITE_DONE ? 0 : -1;
	sqlite3_reset(b->unlink);
	sqlite3_bind_text(b->unlink, 1, vid, -1, SQLITE_STATIC);
	sqlite3_reset(b->mark);
	sqlite3_bind_text(b->mark, 1, vid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->mark, 2, b->now);
	if (sqlite3_step(b->unlink) != SQLITE_DONE ||
	    sqlite3_step(b->mark) != SQLITE_DONE)
		return -1;
	b->unlinked++;
	return 1;
}

static int link_one(struct batch *b, const struct seula_event *ev,
                    const unsigned char hash[HASH_BYTES])
{
	const struct seula_host *h = b->l->host;
	const char *vid = h->event_str(ev, SEULA_FIELD_VISITOR_ID);
	const char *site = h->event_str(ev, SEULA_FIELD_SITE);
	if (!vid) {
		/* No analytics consent (the gate took the id away), or the
		 * tracker was told none. */
		b->no_visitor++;
		return SEULA_OK;
	}
	if (!b->filled) {
		int64_t done;
		if (fill_hashes(b->l, b->db, INT64_MAX, &done) != SEULA_OK)
			return SEULA_EIO;
		b->filled = true;
	}
	int shared = shared_visitor(b, vid, hash);
	if (shared < 0)
		return SEULA_EIO;
	if (shared) {
		b->in_shared++;
		return SEULA_OK;
	}
	if (prepare(b->db, &b->consent,
	            "SELECT marketing, personalization, receipt FROM "
	            "consent_visitors WHERE visitor_id = ?1 AND site = ?2 AND "
	            "valid_until > ?3 AND (marketing = 1 OR personalization "
	            "= 1)") != SEULA_OK ||
	    prepare(b->db, &b->find,
	            "SELECT id, restricted, objects_profiling FROM customers "
	            "WHERE link_hash = ? LIMIT 2") != SEULA_OK ||
	    prepare(b->db, &b->insert,
	            "INSERT INTO customer_links (customer_id, visitor_id, "
	            "site, receipt, categories, linked_at) VALUES (?, ?, ?, "
	            "?, ?, ?) ON CONFLICT (customer_id, visitor_id) DO "
	            "NOTHING") != SEULA_OK)
		return SEULA_EIO;
	sqlite3_reset(b->consent);
	sqlite3_bind_text(b->consent, 1, vid, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->consent, 2, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->consent, 3, b->now);
	int step = sqlite3_step(b->consent);
	if (step == SQLITE_DONE) {
		b->no_consent++;
		return SEULA_OK;
	}
	if (step != SQLITE_ROW)
		return SEULA_EIO;
	/* Sec-GPC: 1 on this request (or DNT: 1 where the site counts it)
	 * objects to marketing whatever the visitor once chose, as a
	 * consent record with it is taken. */
	bool marketing = sqlite3_column_int(b->consent, 0) == 1 &&
	                 h->event_objects_to_marketing(h, ev) != 1;
	bool personalization = sqlite3_column_int(b->consent, 1) == 1;
	if (!marketing && !personalization) {
		b->no_consent++;
		return SEULA_OK;
	}
	const char *categories = marketing && personalization
	                                 ? "marketing,personalization"
	                         : marketing ? "marketing"
	                                     : "personalization";
	sqlite3_reset(b->find);
	sqlite3_bind_blob(b->find, 1, hash, HASH_BYTES, SQLITE_STATIC);
	int64_t customer = 0;
	int matches = 0;
	bool objects = false;
	while ((step = sqlite3_step(b->find)) == SQLITE_ROW) {
		matches++;
		customer = sqlite3_column_int64(b->find, 0);
		objects = sqlite3_column_int(b->find, 1) ||
		          sqlite3_column_int(b->find, 2);
	}
	if (step != SQLITE_DONE)
		return SEULA_EIO;
	/* Two customers with one address: whose visits these are is not
	 * known, so neither gets them. */
	if (matches != 1) {
		b->no_customer++;
		return SEULA_OK;
	}
	if (objects) {
		b->refused++;
		return SEULA_OK;
	}
	sqlite3_reset(b->insert);
	sqlite3_bind_int64(b->insert, 1, customer);
	sqlite3_bind_text(b->insert, 2, vid, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->insert, 3, site, -1, SQLITE_STATIC);
	sqlite3_bind_text(b->insert, 4,
	                  (const char *)sqlite3_column_text(b->consent, 2), -1,
	                  SQLITE_TRANSIENT);
	sqlite3_bind_text(b->insert, 5, categories, -1, SQLITE_STATIC);
	sqlite3_bind_int64(b->insert, 6, b->now);
	if (sqlite3_step(b->insert) != SQLITE_DONE)
		return SEULA_EIO;
	if (sqlite3_changes(b->db))
		b->linked++;
	else
		b->known++;
	return SEULA_OK;
}

int cust_link_on_batch(struct cust_link *l, sqlite3 *db,
                       struct seula_event *const *events, size_t n,
                       char **errmsg)
{
	const struct seula_host *h = l->host;
	struct batch b = {.l = l, .db = db, .now = h->now_ms(h)};
	int rc = SEULA_OK;
	for (size_t i = 0; i < n && rc == SEULA_OK; i++) {
		const struct seula_event *ev = events[i];
		const char *hex;
		if (!is_identify(h, ev) ||
		    !(hex = h->event_str(ev, SEULA_FIELD_IDENTITY)))
			continue;
		unsigned char hash[HASH_BYTES];
		size_t len = 0;
		if (sodium_hex2bin(hash, sizeof(hash), hex, strlen(hex), NULL,
		                   &len, NULL) == 0 &&
		    len == HASH_BYTES)
			rc = link_one(&b, ev, hash);
	}
	if (rc != SEULA_OK) {
		*errmsg = h->mprintf("visitor links: %s", sqlite3_errmsg(db));
		goto out;
	}
	/* A person's linked visits just became fewer: on record. */
	if (b.unlinked)
		h->log(h, SEULA_LOG_INFO,
		       "identify: %lld visitor ids identified as a second "
		       "customer, their links removed",
		       (long long)b.unlinked);
	if (b.linked + b.known + b.no_visitor + b.no_consent + b.no_customer +
	    b.refused + b.in_shared)
		h->log(h, SEULA_LOG_DEBUG,
		       "identify: %lld linked, %lld already linked, %lld "
		       "without a visitor id, %lld without consent, %lld "
		       "without one customer, %lld restricted or objecting, "
		       "%lld of a visitor id two customers share (%lld "
		       "unlinked now)",
		       (long long)b.linked, (long long)b.known,
		       (long long)b.no_visitor, (long long)b.no_consent,
		       (long long)b.no_customer, (long long)b.refused,
		       (long long)b.in_shared, (long long)b.unlinked);
out:
	sqlite3_finalize(b.consent);
	sqlite3_finalize(b.find);
	sqlite3_finalize(b.insert);
	sqlite3_finalize(b.shared);
	sqlite3_finalize(b.other);
	sqlite3_finalize(b.unlink);
	sqlite3_finalize(b.mark);
	return rc;
}

/* ---- retention ------------------------------------------------------- */

/* Run the one statement `sql`; *changed: the rows it changed. */
static int run_changes(sqlite3 *db, const char *sql, int64_t *changed)
{
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_DONE) {
		*changed = sqlite3_changes64(db);
		rc = SEULA_OK;
	}
	sqlite3_finalize(st);
	return rc;
}

/* A shared visitor id is kept only while it has events whose owner is
 * unknown; after that there is nothing to keep apart. */
static const char forget_shared_sql[] =
        "DELETE FROM customer_link_shared WHERE NOT EXISTS (SELECT 1 FROM "
        "events e WHERE e.visitor_id = customer_link_shared.visitor_id)";

/* A visitor's answered request (dsr.h) keeps their visitor id, so that its
 * export can be fetched again, only while something is held under the id:
 * once their events, consent records and consent state are gone by their
 * own retention, the id goes too, with how they were identified, as a
 * deleted customer's verification does.  The audit log's name for it
 * (visitor_subject) stays, the record of the answer. */
static const char forget_visitor_requests_sql[] =
        "UPDATE customer_dsr_requests SET visitor_id = NULL, verification "
        "= '' WHERE visitor_id IS NOT NULL AND status <> 'open' AND NOT "
        "EXISTS (SELECT 1 FROM events e WHERE e.visitor_id = "
        "customer_dsr_requests.visitor_id) AND NOT EXISTS (SELECT 1 FROM "
        "consent_records c WHERE c.visitor_id = "
        "customer_dsr_requests.visitor_id) AND NOT EXISTS (SELECT 1 FROM "
        "consent_visitors v WHERE v.visitor_id = "
        "customer_dsr_requests.visitor_id)";

int cust_link_retention_task(struct cust_link *l, sqlite3 *db, int64_t now_ms,
                             char **errmsg)
{
	const struct seula_host *h = l->host;
	struct cust_retention_result r;
	char err[256];
	if (cust_retention_run(db, l->cfg->retention, l->cfg->timezone, now_ms,
	                       false, RETENTION_PER_RUN, &r, err,
	                       sizeof(err)) != 0) {
		*errmsg = h->mprintf("%s", err);
		return SEULA_EIO;
	}
	static const struct {
		const char *sql, *what;
	} forgets[] = {
	        {forget_shared_sql, "shared visitor ids without events"},
	        {forget_visitor_requests_sql,
	         "answered visitor requests' visitor ids (nothing is held "
	         "under them any more)"},
	};
	for (size_t i = 0; i < sizeof(forgets) / sizeof(forgets[0]); i++) {
		int64_t forgotten = 0;
		if (run_changes(db, forgets[i].sql, &forgotten) != SEULA_OK) {
			*errmsg =
			        h->mprintf("forgetting %s: %s", forgets[i].what,
			                   sqlite3_errmsg(db));
			cust_retention_result_free(&r);
			return SEULA_EIO;
		}
		if (forgotten)
			h->log(h, SEULA_LOG_INFO,
			       "retention: %lld %s forgotten",
			       (long long)forgotten, forgets[i].what);
	}
	/* The ids are the register's own numbers, never names; a long list
	 * is cut in the log (the CLI's dry run prints it whole). */
	h->log(h, SEULA_LOG_INFO,
	       "retention (%s after the relationship ends): %lld customers "
	       "deleted [%.400s%s] with %lld orders and %lld visitor links; "
	       "%lld past retention kept by a legal hold [%.400s%s]%s",
	       l->cfg->retention, (long long)r.customers, r.ids,
	       strlen(r.ids) > 400 ? "..." : "", (long long)r.orders,
	       (long long)r.links, (long long)r.held, r.held_ids,
	       strlen(r.held_ids) > 400 ? "..." : "",
	       r.more ? "; more next run" : "");
	if (r.undated)
		h->log(h, SEULA_LOG_WARN,
		       "retention: %lld customers have no relationship_end and "
		       "nothing for %s (no order, start, change or active "
		       "contact) [%.400s%s]: set when their relationship "
		       "ended, "
		       "or they are kept for ever",
		       (long long)r.undated, l->cfg->retention, r.undated_ids,
		       strlen(r.undated_ids) > 400 ? "..." : "");
	cust_retention_result_free(&r);
	return SEULA_OK;
}

/* ---- segment reports ------------------------------------------------- */

static bool parse_day(const char *s, int64_t *ms)
{
	int y, m, d;
	char tail;
	if (!s || strlen(s) != 10 ||
	    sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || y < 1970 ||
	    y > 9999 || m < 1 || m > 12 || d < 1 || d > 31)
		return false;
	struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d};
	time_t t = timegm(&tm);
	if (tm.tm_mday != d || tm.tm_mon != m - 1)
		return false; /* 2026-02-30 */
	*ms = (int64_t)t * 1000;
	return true;
}

static void day_text(int64_t ms, char out[11])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 11, "%Y-%m-%d", &tm);
}

/* Linked visitors whose consent still allows marketing (the segments are
 * for targeting it: personalization alone does not), linked with it (not
 * under Sec-GPC), of customers who neither are restricted nor object to
 * profiling or direct marketing; their events in [from, to);
 * groups below k distinct customers (with events in the period) become
 * "(other)"; a visit is a run of one visitor's events without a gap of
 * VISIT_GAP_MS.  An event of a visitor linked to two customers of one
 * group counts once. */
static const char segments_sql[] =
        "WITH lv AS (SELECT DISTINCT l.visitor_id, l.customer_id, "
        "  nullif(trim(CASE WHEN ?1 = 'organisation' THEN c.organisation "
        "  ELSE c.segment END), '') AS grp FROM customer_links l "
        "  JOIN customers c ON c.id = l.customer_id "
        "  JOIN consent_visitors v ON v.visitor_id = l.visitor_id "
        "  WHERE c.restricted = 0 AND c.objects_profiling = 0 "
        "  AND c.objects_direct_marketing = 0 "
        "  AND v.marketing = 1 AND instr(',' || l.categories || ',', "
        "  ',marketing,') > 0 "
        "  AND v.valid_until > ?2), "
        "ev AS (SELECT lv.grp, lv.customer_id, e.id, e.visitor_id, e.ts, "
        "  e.type, e.name FROM lv JOIN events e ON e.visitor_id = "
        "  lv.visitor_id WHERE e.ts >= ?3 AND e.ts < ?4 "
        "  AND (?5 IS NULL OR e.site = ?5) AND coalesce(e.bot, 0) = 0), "
        "sizes AS (SELECT grp, count(DISTINCT customer_id) AS n FROM ev "
        "  GROUP BY grp), "
        "m AS (SELECT CASE WHEN s.n >= ?6 AND ev.grp IS NOT NULL THEN ev.grp "
        "  ELSE '(other)' END AS g, ev.* FROM ev JOIN sizes s "
        "  ON s.grp IS ev.grp), "
        "d AS (SELECT DISTINCT g, id, visitor_id, ts, type, name FROM m), "
        "w AS (SELECT g, visitor_id, type, name, CASE WHEN ts - lag(ts) "
        "  OVER (PARTITION BY g, visitor_id ORDER BY ts, id) < ?7 THEN 0 "
        "  ELSE 1 END AS start FROM d) "
        "SELECT g, (SELECT count(DISTINCT customer_id) FROM m "
        "  WHERE m.g = w.g), count(DISTINCT visitor_id), sum(start), "
        "  sum(type = 1), sum(type = 2 AND name <> '" CUST_IDENTIFY_EVENT
        "' AND (?8 IS NULL OR name IN (SELECT value FROM json_each(?8)))) "
        "FROM w GROUP BY g ORDER BY g = '(other)', g";

int cust_segments_handler(struct cust_link *l, struct seula_http *http)
{
	const struct seula_host *h = l->host;
	const char *by = h->http_query(http, "by");
	const char *qf = h->http_query(http, "from");
	const char *qt = h->http_query(http, "to");
	const char *site = h->http_query(http, "site");
	if (!by)
		by = "organisation";
	if (strcmp(by, "organisation") != 0 && strcmp(by, "segment") != 0)
		return h->http_error(http, 400, "invalid_query",
		                     "by is organisation or segment");
	int64_t now = h->now_ms(h), from, to;
	if (!qt)
		to = now - now % DAY_MS;
	else if (!parse_day(qt, &to))
		return h->http_error(http, 400, "invalid_query",
		                     "to is a date, YYYY-MM-DD");
	if (!qf)
		from = to - 29 * DAY_MS;
	else if (!parse_day(qf, &from))
		return h->http_error(http, 400, "invalid_query",
		                     "from is a date, YYYY-MM-DD");
	if (from > to || to - from > 3660 * DAY_MS)
		return h->http_error(http, 400, "invalid_query",
		                     "from is after to, or the range is over "
		                     "ten years");
	if (site && (!*site || strlen(site) > 64))
		return h->http_error(http, 400, "invalid_query",
		                     "site is a configured site id");
	/* As the stats routes: a mistyped site is not one without visits. */
	if (site && h->site_known(h, site) == 0)
		return h->http_error(http, 404, "unknown_site",
		                     "no such site in the config");
	sqlite3 *db = h->http_db(http);
	sqlite3_stmt *st = NULL;
	int64_t k = l->cfg->segment_min_customers;
	if (sqlite3_prepare_v2(db, segments_sql, -1, &st, NULL) != SQLITE_OK) {
		h->log(h, SEULA_LOG_ERROR, "segments: %s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_text(st, 1, by, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, now);
	sqlite3_bind_int64(st, 3, from);
	sqlite3_bind_int64(st, 4, to + DAY_MS);
	if (site)
		sqlite3_bind_text(st, 5, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, k);
	sqlite3_bind_int64(st, 7, VISIT_GAP_MS);
	if (l->conversions)
		sqlite3_bind_text(st, 8, l->conversions, -1, SQLITE_STATIC);
	json_t *groups = json_array();
	bool withheld = false;
	int step, rc = SEULA_EIO;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *g = (const char *)sqlite3_column_text(st, 0);
		int64_t customers = sqlite3_column_int64(st, 1);
		/* "(other)" is held to k as well: below it, its figures
		 * would be a few people's. */
		if (customers < k) {
			withheld = true;
			continue;
		}
		json_array_append_new(
		        groups,
		        json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "group", g,
		                  "customers", (json_int_t)customers,
		                  "visitors",
		                  (json_int_t)sqlite3_column_int64(st, 2),
		                  "visits",
		                  (json_int_t)sqlite3_column_int64(st, 3),
		                  "pageviews",
		                  (json_int_t)sqlite3_column_int64(st, 4),
		                  "conversions",
		                  (json_int_t)sqlite3_column_int64(st, 5)));
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		h->log(h, SEULA_LOG_ERROR, "segments: %s", sqlite3_errmsg(db));
		json_decref(groups);
		return SEULA_EIO;
	}
	char dfrom[11], dto[11], detail[160];
	day_text(from, dfrom);
	day_text(to, dto);
	snprintf(detail, sizeof(detail),
	         "segments by %s %s..%s%s%s, k=%lld: %zu groups", by, dfrom,
	         dto, site ? " site " : "", site ? site : "", (long long)k,
	         json_array_size(groups));
	/* Aggregates of linked (personal) data: on record, like any read. */
	if (h->http_audit(http, "read", NULL, detail) != SEULA_OK) {
		json_decref(groups);
		return SEULA_EIO;
	}
	json_t *o = json_pack("{s:s, s:s, s:s, s:s?, s:I, s:o, s:b}", "by", by,
	                      "from", dfrom, "to", dto, "site", site, "k",
	                      (json_int_t)k, "groups", groups, "withheld",
	                      withheld);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (text)
		rc = h->http_reply(http, 200, "application/json", text,
		                   strlen(text));
	else
		rc = SEULA_ENOMEM;
	free(text);
	return rc;
}
