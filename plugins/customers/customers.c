/*
 * customers.c - the customer register of the privacy statement: customers,
 * their orders, the flags their rights need, CSV import, postal labels and
 * the finance partner's export.
 *
 * Schema (migration 1).  Every table that holds a person's data is keyed by
 * customer_id with ON DELETE CASCADE (the host turns foreign_keys on for
 * every connection), so erasing a person is one DELETE FROM customers and
 * nothing of them stays behind in this plugin:
 *
 *   customers              one row per person: the register's fields (the
 *                          IP only masked, column ip_anon), source, segment,
 *                          relationship dates, statutory_retention_until,
 *                          the flags restricted, objects_direct_marketing,
 *                          objects_publication, objects_profiling,
 *                          active_contact (0/1), created_at/updated_at (ms)
 *   customer_orders        orders: number (unique), date, currency (ISO
 *                          4217), total_cents, invoice_status (open, paid,
 *                          collection); customer_id -> customers
 *   customer_order_lines   an order's lines; order_id -> customer_orders and
 *                          customer_id -> customers, both cascading
 *   customer_disclosures   every disclosure to a recipient outside the
 *                          staff (the finance export): customer_id,
 *                          recipient, legal_ground, fields (JSON array of
 *                          the field names disclosed), staff_name,
 *                          disclosed_at (ms); rectification lists these
 *   customer_label_exports every postal-label export a person was on
 *                          (migration 4): customer_id, staff_name, via
 *                          (the route, or "command line"), format,
 *                          exported_at (ms); in their access export
 *   customer_id_high       one row (id 1): last_id, the highest customer
 *                          id ever given (migration 5); a new customer
 *                          gets the next, so an erased or deleted
 *                          person's id, which their requests and audit
 *                          entries keep, never names anyone else
 *
 * Visitor linkage (migration 3, linkage.c):
 *
 *   customers.link_hash    BLAKE2b-256 of the email (trimmed, lower case)
 *                          keyed with customer_link_key; NULL until
 *                          computed (a trigger clears it when the email
 *                          changes), an empty blob when there is no email
 *   customer_link_key      one row (id 1): the 32-byte key of link_hash
 *   customer_links         one row per customer and visitor id linked by
 *                          an identify event: id, customer_id ->
 *                          customers (ON DELETE CASCADE), visitor_id (the
 *                          tracker's UUID, as events.visitor_id), site,
 *                          receipt (consent_records.receipt of the
 *                          consent that allowed it), categories
 *                          ("marketing", "personalization" or both: what
 *                          it granted), linked_at (ms); UNIQUE
 *                          (customer_id, visitor_id).  The person's linked
 *                          visits are the events with these visitor ids.
 *                          Links stay after a withdrawal or objection
 *                          (only new ones stop) for the person's export.
 *   customer_link_shared   visitor ids that identified as two customers
 *                          (migration 6): visitor_id, since (ms).  Such
 *                          an id is nobody's: its links were removed and
 *                          none is made while it has events.
 *
 * Legal holds are derived, never stored twice: open_invoice (an order with
 * invoice_status open), debt_collection (an order in collection),
 * active_contact (the flag), statutory_retention (statutory_retention_until
 * is today or later).  The JSON shows them as "holds".
 *
 * Routes (the roles are the statement's: the register is customer
 * service's, billing data the finance partner's):
 *   GET  /api/customers?q=&limit=&offset=     admin, customer_service
 *   POST /api/customers                        admin, customer_service
 *   GET|PUT|PATCH /api/customers/{id}          admin, customer_service
 *   GET|POST /api/customers/{id}/orders        admin, customer_service
 *   PATCH /api/customers/{id}/orders/{order}   admin, customer_service
 *   POST /api/customers/import (text/csv)      admin, customer_service
 *   GET  /api/labels?format=csv|pdf            admin, customer_service
 *   GET  /api/customers/export/finance         admin, finance
 *   GET  /api/segments?by=&from=&to=&site=     admin, analyst (aggregates
 *        of linked visitors per organisation or segment, groups under
 *        segment_min_customers merged into "(other)"; linkage.c)
 *   POST|GET /api/dsr, GET /api/dsr/{id}[/export|/statement], POST
 *        /api/dsr/{id}/extend                  admin, customer_service
 *        (the data subject rights, dsr.h; requests in migration 2,
 *        a visitor's requests by visitor id in migration 7)
 * Tasks: customers-link-key (the link key, email hashes), and
 * customers-retention (cust_retention.h; also `seula retention run`).
 * There is no DELETE: erasure goes through the data subject rights, which
 * check the legal holds first.
 *
 * Audit: every read of a person's data notes "read" with the customer id as
 * subject, every change "change", every export "export" (host->http_audit).
 * A search notes the ids it returned in one entry's subject (as many as fit
 * its 256 characters; the detail says when the list was cut).
 */
#include "csvread.h"
#include "cust_retention.h"
#include "dsr.h"
#include "fields.h"
#include "labels.h"
#include "linkage.h"
#include "reply.h"
#include "zone.h"

#include <jansson.h>
#include <seula/plugin.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unicode/uchar.h>
#include <unicode/ustring.h>
#include <unistd.h>

struct customers_config {
	/* First, so that `seula labels` can read it (labels.h). */
	struct seula_labels_settings labels;
	int64_t ip_level;
	int64_t import_max_rows;
	const char *finance_recipient;
	const char *finance_legal_ground;
	struct cust_link_settings link;
};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_STRING, "label_font",
         "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf", 1, 4096,
         offsetof(struct customers_config, labels.font), SEULA_CONFIG_PATH,
         NULL,
         "TrueType font of the label PDF; it must have every letter of "
         "the names (Debian: fonts-dejavu-core)"},
        {SEULA_CONFIG_STRING, "home_country", "FI", 2, 2,
         offsetof(struct customers_config, labels.home_country), 0, NULL,
         "ISO 3166-1 alpha-2 code of the sender: labels to it carry no "
         "country line"},
        {SEULA_CONFIG_INT, "ip_level", "2", 1, 4,
         offsetof(struct customers_config, ip_level), 0, NULL,
         "how much of a customer's IP address is kept, as the anonymize "
         "plugin's levels: IPv4 bytes zeroed 1-4, IPv6 bits kept "
         "64/48/24/0"},
        {SEULA_CONFIG_INT, "import_max_rows", "10000", 1, 1000000,
         offsetof(struct customers_config, import_max_rows), 0, NULL,
         "most rows one CSV import takes (the body is also bounded by "
         "[limits] max_body_bytes)"},
        {SEULA_CONFIG_STRING, "finance_recipient", "finance partner", 1, 200,
         offsetof(struct customers_config, finance_recipient), 0, NULL,
         "the recipient of the finance export, as recorded with each "
         "disclosure"},
        {SEULA_CONFIG_STRING, "finance_legal_ground",
         "contract: billing and accounting", 1, 200,
         offsetof(struct customers_config, finance_legal_ground), 0, NULL,
         "the legal ground recorded with each disclosure to the finance "
         "partner"},
        {SEULA_CONFIG_STRING, "retention", CUST_RETENTION_DEFAULT, 2, 6,
         offsetof(struct customers_config, labels.retention), 0, NULL,
         "how long a customer and their orders are kept after the "
         "relationship ends, in years (10y) or days (3650d); a legal hold "
         "keeps them longer"},
        {SEULA_CONFIG_STRING, "timezone", "UTC", 1, 64,
         offsetof(struct customers_config, labels.timezone), 0, NULL,
         "the IANA time zone of the register's days (Europe/Helsinki): "
         "when a data subject request was received and is due, which "
         "holds and retention periods have run out"},
        {SEULA_CONFIG_INT, "segment_min_customers", "5", 2, 1000,
         offsetof(struct customers_config, link.segment_min_customers), 0, NULL,
         "segment reports merge groups of fewer customers than this into "
         "\"(other)\" (and leave that out when it is still fewer)"},
        {SEULA_CONFIG_LIST, "conversions", "", 0, 0,
         offsetof(struct customers_config, link.conversions), 0, NULL,
         "custom event names segment reports count as conversions "
         "(empty: every custom event but identify)"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct seula_migration migrations[] = {
        {1, "CREATE TABLE customers (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  first_name TEXT, last_name TEXT, organisation TEXT,\n"
            "  email TEXT, street TEXT, postal_code TEXT, city TEXT,\n"
            "  country TEXT CHECK (country IS NULL OR length(country) = 2),\n"
            "  phone TEXT, website TEXT,\n"
            "  ip_anon TEXT, -- masked before it is stored, never the full IP\n"
            "  source TEXT NOT NULL, segment TEXT,\n"
            "  relationship_start TEXT, relationship_end TEXT,\n"
            "  statutory_retention_until TEXT,\n"
            "  restricted INTEGER NOT NULL DEFAULT 0 CHECK (restricted IN "
            "(0, 1)),\n"
            "  objects_direct_marketing INTEGER NOT NULL DEFAULT 0\n"
            "    CHECK (objects_direct_marketing IN (0, 1)),\n"
            "  objects_publication INTEGER NOT NULL DEFAULT 0\n"
            "    CHECK (objects_publication IN (0, 1)),\n"
            "  objects_profiling INTEGER NOT NULL DEFAULT 0\n"
            "    CHECK (objects_profiling IN (0, 1)),\n"
            "  active_contact INTEGER NOT NULL DEFAULT 0\n"
            "    CHECK (active_contact IN (0, 1)),\n"
            "  created_at INTEGER NOT NULL,\n"
            "  updated_at INTEGER NOT NULL\n"
            ") STRICT;\n"
            "CREATE INDEX customers_by_name ON customers (last_name, "
            "first_name);\n"
            "CREATE INDEX customers_by_email ON customers (email);\n"
            "CREATE INDEX customers_by_segment ON customers (segment);\n"
            "CREATE TABLE customer_orders (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  customer_id INTEGER NOT NULL REFERENCES customers (id)\n"
            "    ON DELETE CASCADE,\n"
            "  number TEXT NOT NULL UNIQUE,\n"
            "  date TEXT NOT NULL,\n"
            "  currency TEXT NOT NULL CHECK (length(currency) = 3),\n"
            "  total_cents INTEGER NOT NULL,\n"
            "  invoice_status TEXT NOT NULL\n"
            "    CHECK (invoice_status IN ('open', 'paid', 'collection')),\n"
            "  created_at INTEGER NOT NULL,\n"
            "  updated_at INTEGER NOT NULL\n"
            ") STRICT;\n"
            "CREATE INDEX customer_orders_by_customer ON customer_orders\n"
            "  (customer_id, invoice_status);\n"
            "CREATE TABLE customer_order_lines (\n"
            "  order_id INTEGER NOT NULL REFERENCES customer_orders (id)\n"
            "    ON DELETE CASCADE,\n"
            "  line INTEGER NOT NULL,\n"
            "  customer_id INTEGER NOT NULL REFERENCES customers (id)\n"
            "    ON DELETE CASCADE,\n"
            "  description TEXT NOT NULL,\n"
            "  quantity INTEGER NOT NULL CHECK (quantity > 0),\n"
            "  unit_price_cents INTEGER NOT NULL,\n"
            "  PRIMARY KEY (order_id, line)\n"
            ") STRICT;\n"
            "CREATE INDEX customer_order_lines_by_customer ON "
            "customer_order_lines\n"
            "  (customer_id);\n"
            "CREATE TABLE customer_disclosures (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  customer_id INTEGER NOT NULL REFERENCES customers (id)\n"
            "    ON DELETE CASCADE,\n"
            "  recipient TEXT NOT NULL,\n"
            "  legal_ground TEXT NOT NULL,\n"
            "  fields TEXT NOT NULL, -- JSON array of the field names\n"
            "  staff_name TEXT NOT NULL,\n"
            "  disclosed_at INTEGER NOT NULL\n"
            ") STRICT;\n"
            "CREATE INDEX customer_disclosures_by_customer ON "
            "customer_disclosures\n"
            "  (customer_id);"},
        /* Data subject requests (dsr.c). */
        {2, cust_dsr_migration_sql},
        /* Visitor linkage (linkage.c).  The trigger keeps link_hash from
         * going stale: a changed email is hashed again before the next
         * match. */
        {3, "ALTER TABLE customers ADD COLUMN link_hash BLOB;\n"
            "CREATE INDEX customers_by_link_hash ON customers (link_hash);\n"
            "CREATE TRIGGER customers_link_hash_stale AFTER UPDATE OF email\n"
            "  ON customers BEGIN\n"
            "  UPDATE customers SET link_hash = NULL WHERE id = new.id;\n"
            "END;\n"
            "CREATE TABLE customer_link_key (\n"
            "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
            "  key BLOB NOT NULL\n"
            ") STRICT;\n"
            "CREATE TABLE customer_links (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  customer_id INTEGER NOT NULL REFERENCES customers (id)\n"
            "    ON DELETE CASCADE,\n"
            "  visitor_id TEXT NOT NULL,\n"
            "  site TEXT NOT NULL,\n"
            "  receipt TEXT NOT NULL, -- the consent record that allowed it\n"
            "  categories TEXT NOT NULL,\n"
            "  linked_at INTEGER NOT NULL,\n"
            "  UNIQUE (customer_id, visitor_id)\n"
            ") STRICT;\n"
            "CREATE INDEX customer_links_by_visitor ON customer_links\n"
            "  (visitor_id);"},
        /* Postal labels (labels.c): who was on each export. */
        {4, "CREATE TABLE customer_label_exports (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  customer_id INTEGER NOT NULL REFERENCES customers (id)\n"
            "    ON DELETE CASCADE,\n"
            "  staff_name TEXT NOT NULL,\n"
            "  via TEXT NOT NULL,\n"
            "  format TEXT NOT NULL,\n"
            "  exported_at INTEGER NOT NULL\n"
            ") STRICT;\n"
            "CREATE INDEX customer_label_exports_by_customer ON\n"
            "  customer_label_exports (customer_id);"},
        /* Customer ids are never given twice: an erased or deleted
         * person's requests and audit entries keep naming their id.
         * AUTOINCREMENT would need customers rebuilt, which with
         * foreign_keys on (a migration's transaction cannot turn them
         * off) cascades into every table keyed by it; so the highest id
         * ever given is kept here instead, seeded from every place an
         * old id outlives its customer, and the trigger refuses an insert
         * below it whatever path it comes by (insert_sql takes the next
         * one). */
        {5, "CREATE TABLE customer_id_high (\n"
            "  id INTEGER PRIMARY KEY CHECK (id = 1),\n"
            "  last_id INTEGER NOT NULL\n"
            ") STRICT;\n"
            "INSERT INTO customer_id_high (id, last_id) SELECT 1, max(\n"
            "  coalesce((SELECT max(id) FROM customers), 0),\n"
            "  coalesce((SELECT max(customer_id) FROM\n"
            "    customer_dsr_requests), 0),\n"
            "  -- audit subjects: an id, or a list of them (\"3,17,42\")\n"
            "  coalesce((SELECT max(j.value) FROM audit_log a, json_each(\n"
            "    CASE WHEN a.subject NOT GLOB '*[^0-9,]*' AND\n"
            "      json_valid('[' || a.subject || ']')\n"
            "    THEN '[' || a.subject || ']' ELSE '[]' END) j\n"
            "    WHERE typeof(j.value) = 'integer'), 0));\n"
            "CREATE TRIGGER customers_id_never_reused AFTER INSERT ON\n"
            "  customers BEGIN\n"
            "  SELECT RAISE(ABORT, 'customer id already given') WHERE\n"
            "    new.id <= (SELECT last_id FROM customer_id_high);\n"
            "  UPDATE customer_id_high SET last_id = new.id;\n"
            "END;"},
        /* Visitor ids two customers identified as (linkage.c): whose
         * visits they are is not known, so no one's links hold them.
         * Those linked twice before this are found and unlinked now. */
        {6, "CREATE TABLE customer_link_shared (\n"
            "  visitor_id TEXT PRIMARY KEY,\n"
            "  since INTEGER NOT NULL\n"
            ") STRICT, WITHOUT ROWID;\n"
            "INSERT INTO customer_link_shared (visitor_id, since)\n"
            "  SELECT visitor_id, CAST(strftime('%s', 'now') AS INTEGER)\n"
            "  * 1000 FROM customer_links GROUP BY visitor_id\n"
            "  HAVING count(DISTINCT customer_id) > 1;\n"
            "DELETE FROM customer_links WHERE visitor_id IN\n"
            "  (SELECT visitor_id FROM customer_link_shared);"},
        /* Requests of visitors who are not customers (dsr.c). */
        {7, cust_dsr_visitor_migration_sql},
};

struct customers {
	const struct seula_host *host;
	const struct customers_config *cfg;
	char *select_sql; /* a customer's columns, see row_json */
	char *insert_sql;
	char *update_sql;
	struct cust_link *link; /* identify events, segments, retention */
	/* cfg->link with the retention and zone kept in cfg->labels. */
	struct cust_link_settings link_settings;
};

/* Column positions in select_sql. */
enum {
	COL_ID = 0,
	COL_FIELDS = 1,
	COL_FLAGS = COL_FIELDS + CUST_N_FIELDS,
	COL_CREATED = COL_FLAGS + CUST_N_FLAGS,
	COL_UPDATED,
	COL_OPEN,
	COL_COLLECTION,
};

/* ---- small helpers --------------------------------------------------------
 */

/* Today in the register's zone: a statutory hold runs to its day's end
 * there, not at UTC's. */
static void today(const struct customers *c, char out[11])
{
	seula_zone_date(c->cfg->labels.timezone, c->host->now_ms(c->host), out);
}

static bool parse_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < min || v > max)
		return false;
	*out = v;
	return true;
}

static bool param_id(const struct customers *c, struct seula_http *http,
                     const char *name, int64_t *id)
{
	return parse_int(c->host->http_param(http, name), 1, INT64_MAX, id);
}

/* ---- customers as JSON ------------------------------------------------------
 */

/* Masked as the anonymize plugin masks (host->ip_mask). */
static int mask_ip(void *arg, const char *in, char *out, size_t outlen)
{
	const struct customers *c = arg;
	struct seula_ip ip;
	if (c->host->ip_parse(in, &ip) != SEULA_OK ||
	    c->host->ip_mask(&ip, (int)c->cfg->ip_level) != SEULA_OK)
		return -1;
	return c->host->ip_format(&ip, out, outlen) == SEULA_OK ? 0 : -1;
}

/* day: the register's today (today()), asked once by the caller, not per
 * row: each asks ICU for a calendar (5.5 us). */
static json_t *row_json(sqlite3_stmt *st, const char *day)
{
	json_t *o = json_object();
	json_object_set_new(o, "id",
	                    json_integer(sqlite3_column_int64(st, COL_ID)));
	for (int i = 0; i < CUST_N_FIELDS; i++) {
		const char *v = cust_col(st, COL_FIELDS + i);
		json_object_set_new(o, cust_fields[i].name,
		                    v ? json_string(v) : json_null());
	}
	json_t *flags = json_object();
	for (int i = 0; i < CUST_N_FLAGS; i++)
		json_object_set_new(
		        flags, cust_flag_names[i],
		        json_boolean(sqlite3_column_int(st, COL_FLAGS + i)));
	json_object_set_new(o, "flags", flags);
	json_t *holds = json_array();
	const char *until =
	        cust_col(st, COL_FIELDS + CUST_F_STATUTORY_RETENTION_UNTIL);
	if (sqlite3_column_int(st, COL_OPEN))
		json_array_append_new(holds, json_string("open_invoice"));
	if (sqlite3_column_int(st, COL_COLLECTION))
		json_array_append_new(holds, json_string("debt_collection"));
	if (sqlite3_column_int(st, COL_FLAGS + CUST_FLAG_ACTIVE_CONTACT))
		json_array_append_new(holds, json_string("active_contact"));
	if (until && strcmp(until, day) >= 0)
		json_array_append_new(holds,
		                      json_string("statutory_retention"));
	json_object_set_new(o, "holds", holds);
	char t[32];
	cust_iso_time(sqlite3_column_int64(st, COL_CREATED), t);
	json_object_set_new(o, "created_at", json_string(t));
	cust_iso_time(sqlite3_column_int64(st, COL_UPDATED), t);
	json_object_set_new(o, "updated_at", json_string(t));
	return o;
}

/* The customer `id` as JSON (*out), or SEULA_ENOTFOUND. */
static int load_customer(const struct customers *c, sqlite3 *db, int64_t id,
                         json_t **out, struct cust_record *rec)
{
	char sql[2048];
	snprintf(sql, sizeof(sql), "%s WHERE c.id = ?", c->select_sql);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st), rc = SEULA_OK;
	if (step == SQLITE_ROW) {
		char day[11];
		today(c, day);
		if (out)
			*out = row_json(st, day);
		for (int i = 0; rec && i < CUST_N_FIELDS; i++) {
			const char *v = cust_col(st, COL_FIELDS + i);
			rec->values[i] = v ? strdup(v) : NULL;
			if (v && !rec->values[i])
				rc = SEULA_ENOMEM;
		}
		for (int i = 0; rec && i < CUST_N_FLAGS; i++)
			rec->flags[i] = sqlite3_column_int(st, COL_FLAGS + i);
		if (out && !*out)
			rc = SEULA_ENOMEM;
	} else {
		rc = step == SQLITE_DONE ? SEULA_ENOTFOUND : SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Apply a JSON object to `r`: fields (string or null), "flags" (an object
 * of booleans; flags it does not name keep their value), and the read-only
 * keys a client may send back unchanged.  0, or -1 with *field and *why. */
static int apply_json(const struct customers *c, struct cust_record *r,
                      json_t *o, int64_t id, const char **field,
                      const char **why)
{
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		*field = key;
		int f = cust_field_index(key);
		if (f >= 0) {
			if (json_is_null(v)) {
				free(r->values[f]);
				r->values[f] = NULL;
				continue;
			}
			if (!json_is_string(v)) {
				*why = "must be a string or null";
				return -1;
			}
			int rc = cust_record_set(r, f, json_string_value(v),
			                         json_string_length(v), mask_ip,
			                         (void *)c, why);
			if (rc == -2)
				*why = "out of memory";
			if (rc)
				return -1;
		} else if (strcmp(key, "flags") == 0) {
			if (!json_is_object(v)) {
				*why = "must be an object of booleans";
				return -1;
			}
			const char *fk;
			json_t *fv;
			json_object_foreach(v, fk, fv)
			{
				int g = cust_flag_index(fk);
				*field = fk;
				if (g < 0) {
					*why = "no such flag";
					return -1;
				}
				if (!json_is_boolean(fv)) {
					*why = "must be true or false";
					return -1;
				}
				r->flags[g] = json_is_true(fv);
			}
		} else if (strcmp(key, "id") == 0) {
			if (!json_is_integer(v) ||
			    json_integer_value(v) != id) {
				*why = "is the server's and cannot change";
				return -1;
			}
		} else if (strcmp(key, "holds") == 0 ||
		           strcmp(key, "created_at") == 0 ||
		           strcmp(key, "updated_at") == 0) {
			/* Derived by the server; what the client holds is
			 * ignored. */
		} else {
			*why = "no such field";
			return -1;
		}
	}
	return cust_record_check(r, field, why);
}

static void bind_record(sqlite3_stmt *st, const struct cust_record *r)
{
	for (int i = 0; i < CUST_N_FIELDS; i++)
		if (r->values[i])
			sqlite3_bind_text(st, 1 + i, r->values[i], -1,
			                  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 1 + i);
	for (int i = 0; i < CUST_N_FLAGS; i++)
		sqlite3_bind_int(st, 1 + CUST_N_FIELDS + i, r->flags[i]);
}

/* INSERT `r`; *id is its new id. */
static int insert_customer(const struct customers *c, sqlite3 *db,
                           struct cust_record *r, const char *source,
                           int64_t *id)
{
	if (!r->values[CUST_F_SOURCE] && source) {
		r->values[CUST_F_SOURCE] = strdup(source);
		if (!r->values[CUST_F_SOURCE])
			return SEULA_ENOMEM;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, c->insert_sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	bind_record(st, r);
	int64_t now = c->host->now_ms(c->host);
	sqlite3_bind_int64(st, 1 + CUST_N_FIELDS + CUST_N_FLAGS, now);
	sqlite3_bind_int64(st, 2 + CUST_N_FIELDS + CUST_N_FLAGS, now);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	*id = sqlite3_last_insert_rowid(db);
	return rc;
}

/* ---- routes: the register --------------------------------------------------
 */

/* `text` case-folded (Unicode full folding, ICU): "ÄIJÄLÄ" and "äijälä"
 * become one, as SQLite's LIKE does only for ASCII.  malloc'd; NULL when
 * `text` is not UTF-8 (*bad set) or out of memory. */
static char *fold_utf8(const char *text, int32_t len, bool *bad)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n16 = 0;
	*bad = false;
	u_strFromUTF8(NULL, 0, &n16, text, len, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e)) {
		*bad = true;
		return NULL;
	}
	/* Folding can lengthen a string (ß to ss): up to 3 units each. */
	int32_t cap = 3 * n16 + 1;
	UChar *src = malloc(sizeof(UChar) * (size_t)(n16 + 1));
	UChar *dst = malloc(sizeof(UChar) * (size_t)cap);
	char *out = NULL;
	if (!src || !dst)
		goto done;
	e = U_ZERO_ERROR;
	u_strFromUTF8(src, n16 + 1, NULL, text, len, &e);
	int32_t nf = U_FAILURE(e) ? 0
	                          : u_strFoldCase(dst, cap, src, n16,
	                                          U_FOLD_CASE_DEFAULT, &e);
	if (U_FAILURE(e))
		goto done;
	int32_t n8 = 0;
	u_strToUTF8(NULL, 0, &n8, dst, nf, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		goto done;
	out = malloc((size_t)n8 + 1);
	e = U_ZERO_ERROR;
	if (out)
		u_strToUTF8(out, n8 + 1, NULL, dst, nf, &e);
	if (out && U_FAILURE(e)) {
		free(out);
		out = NULL;
	}
done:
	free(src);
	free(dst);
	return out;
}

/* SQL cust_fold(text): fold_utf8(); NULL stays NULL. */
static void fold_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) == SQLITE_NULL) {
		sqlite3_result_null(ctx);
		return;
	}
	const char *text = (const char *)sqlite3_value_text(argv[0]);
	int len = sqlite3_value_bytes(argv[0]);
	bool bad;
	char *f = text ? fold_utf8(text, len, &bad) : NULL;
	if (f)
		sqlite3_result_text(ctx, f, -1, free);
	else /* not UTF-8, or out of memory: match it as it is */
		sqlite3_result_text(ctx, text ? text : "", len,
		                    SQLITE_TRANSIENT);
}

/* cust_fold on the route's connection, once: a probe, rather than
 * redefining it per request, which would expire every statement the
 * connection has prepared. */
static int fold_ready(sqlite3 *db)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT cust_fold('')", -1, &st, NULL) ==
	    SQLITE_OK) {
		sqlite3_finalize(st);
		return SQLITE_OK;
	}
	return sqlite3_create_function(db, "cust_fold", 1,
	                               SQLITE_UTF8 | SQLITE_DETERMINISTIC |
	                                       SQLITE_INNOCUOUS,
	                               NULL, fold_fn, NULL, NULL);
}

/* The ids of every customer `where` (list_handler's, ?1 = pattern)
 * matches, as a comma list in *out (sqlite3_free()). */
static int matching_ids(sqlite3 *db, const char *where, const char *pattern,
                        char **out)
{
	char sql[2048];
	snprintf(sql, sizeof(sql),
	         "SELECT c.id FROM customers c%s ORDER BY c.id", where);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
	sqlite3_str *ids = sqlite3_str_new(NULL);
	int step;
	for (size_t n = 0; (step = sqlite3_step(st)) == SQLITE_ROW; n++)
		sqlite3_str_appendf(ids, "%s%lld", n ? "," : "",
		                    (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	int err = sqlite3_str_errcode(ids);
	char *list = sqlite3_str_finish(ids);
	if (step != SQLITE_DONE || err != SQLITE_OK) {
		sqlite3_free(list);
		return err == SQLITE_NOMEM ? SEULA_ENOMEM : SEULA_EIO;
	}
	*out = list;
	return SEULA_OK;
}

static int list_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	const struct seula_host *h = c->host;
	const char *q = h->http_query(http, "q");
	const char *ls = h->http_query(http, "limit");
	const char *os = h->http_query(http, "offset");
	int64_t limit = 50, offset = 0;
	if ((ls && !parse_int(ls, 1, 1000, &limit)) ||
	    (os && !parse_int(os, 0, 1000000000, &offset)))
		return cust_refuse(c->host, http, 400, "invalid_query",
		                   "limit is 1-1000, offset 0 or more");
	if (q && strlen(q) > 200)
		return cust_refuse(c->host, http, 400, "invalid_query",
		                   "q is at most 200 characters");
	sqlite3 *db = h->http_db(http);
	if (!db || fold_ready(db) != SQLITE_OK)
		return SEULA_EIO;
	/* LIKE with its wildcards escaped: q is matched as it is, folded as
	 * the columns are. */
	char *pattern = NULL;
	if (q && *q) {
		bool bad;
		char *folded = fold_utf8(q, -1, &bad);
		if (!folded && bad)
			return cust_refuse(c->host, http, 400, "invalid_query",
			                   "q is not UTF-8");
		if (!folded)
			return SEULA_ENOMEM;
		pattern = malloc(2 * strlen(folded) + 3);
		if (!pattern) {
			free(folded);
			return SEULA_ENOMEM;
		}
		char *p = pattern;
		*p++ = '%';
		for (const char *s = folded; *s; s++) {
			if (*s == '%' || *s == '_' || *s == '\\')
				*p++ = '\\';
			*p++ = *s;
		}
		*p++ = '%';
		*p = '\0';
		free(folded);
	}
	static const char where[] =
	        " WHERE ?1 IS NULL OR cust_fold(c.first_name) LIKE ?1 ESCAPE "
	        "'\\' OR cust_fold(c.last_name) LIKE ?1 ESCAPE '\\' OR "
	        "cust_fold(c.organisation) LIKE ?1 ESCAPE '\\' OR "
	        "cust_fold(c.email) LIKE ?1 ESCAPE '\\' OR "
	        "cust_fold(coalesce(c.first_name, '') || ' ' || "
	        "coalesce(c.last_name, '')) LIKE ?1 ESCAPE '\\'";
	char sql[4096];
	snprintf(sql, sizeof(sql),
	         "%s%s ORDER BY c.last_name, c.first_name, c.organisation, "
	         "c.id LIMIT ?2 OFFSET ?3",
	         c->select_sql, where);
	sqlite3_stmt *st = NULL, *cnt = NULL;
	int rc = SEULA_EIO;
	json_t *results = json_array();
	/* Every id the page shows, so that each person's access export
	 * finds the read (core/subject.c). */
	sqlite3_str *ids = sqlite3_str_new(NULL);
	char *id_list = NULL;
	size_t n = 0;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	snprintf(sql, sizeof(sql), "SELECT count(*) FROM customers c%s", where);
	if (sqlite3_prepare_v2(db, sql, -1, &cnt, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, pattern, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, limit);
	sqlite3_bind_int64(st, 3, offset);
	sqlite3_bind_text(cnt, 1, pattern, -1, SQLITE_STATIC);
	int step;
	char day[11];
	today(c, day);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(results, row_json(st, day));
		sqlite3_str_appendf(
		        ids, "%s%lld", n ? "," : "",
		        (long long)sqlite3_column_int64(st, COL_ID));
		n++;
	}
	if (step != SQLITE_DONE || sqlite3_step(cnt) != SQLITE_ROW)
		goto out;
	int64_t total = sqlite3_column_int64(cnt, 0);
	if (sqlite3_str_errcode(ids) != SQLITE_OK)
		goto out;
	id_list = sqlite3_str_finish(ids);
	ids = NULL;
	/* A page past the end of a search still tells how many match: that
	 * names them all.  Without q the total is the register's size. */
	if (!n && total > 0 && pattern) {
		sqlite3_free(id_list);
		id_list = NULL;
		rc = matching_ids(db, where, pattern, &id_list);
		if (rc != SEULA_OK)
			goto out;
		rc = SEULA_EIO; /* what a failed audit below returns */
	}
	if (id_list && *id_list) {
		char detail[128];
		snprintf(detail, sizeof(detail),
		         "search: %zu of %lld (offset %lld, limit %lld)", n,
		         (long long)total, (long long)offset, (long long)limit);
		if (h->http_audit(http, "read", id_list, detail) != SEULA_OK)
			goto out;
	}
	rc = cust_reply_json(c->host, http, 200,
	                     json_pack("{s:O, s:I, s:I, s:I}", "results",
	                               results, "total", (json_int_t)total,
	                               "limit", (json_int_t)limit, "offset",
	                               (json_int_t)offset));
out:
	json_decref(results);
	sqlite3_free(sqlite3_str_finish(ids));
	sqlite3_free(id_list);
	sqlite3_finalize(st);
	sqlite3_finalize(cnt);
	free(pattern);
	return rc;
}

/* 409 duplicate_email: customer `existing` has the address (as linkage
 * compares addresses), so staff open that record rather than make a
 * second, which labels and linkage would take for another person.  The
 * answer names them: a read of theirs, on record. */
static int refuse_duplicate(const struct customers *c, struct seula_http *http,
                            int64_t existing)
{
	int rc = cust_audit(c->host, http, "read", existing,
	                    "duplicate email: the change was refused");
	if (rc != SEULA_OK)
		return rc;
	char msg[96];
	snprintf(msg, sizeof(msg), "email: customer %lld has this address",
	         (long long)existing);
	cust_reply_json(c->host, http, 409,
	                json_pack("{s:s, s:s, s:s, s:I}", "error",
	                          "duplicate_email", "message", msg, "field",
	                          "email", "customer_id",
	                          (json_int_t)existing));
	return SEULA_EINVAL;
}

static int create_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	json_t *o = cust_body_object(c->host, http);
	if (!o)
		return SEULA_EINVAL;
	struct cust_record r = {0};
	const char *field = NULL, *why = NULL;
	int rc;
	int64_t id = 0;
	json_t *out = NULL;
	if (apply_json(c, &r, o, 0, &field, &why) != 0) {
		rc = cust_bad_field(c->host, http, field, why);
		goto done;
	}
	sqlite3 *db = c->host->http_db(http);
	int64_t existing;
	rc = cust_link_find_email(c->link, db, r.values[CUST_F_EMAIL], 0,
	                          &existing);
	if (rc == SEULA_OK && existing) {
		rc = refuse_duplicate(c, http, existing);
		goto done;
	}
	if (rc == SEULA_OK)
		rc = insert_customer(c, db, &r, "staff", &id);
	if (rc == SEULA_OK)
		rc = load_customer(c, db, id, &out, NULL);
	if (rc == SEULA_OK)
		rc = cust_audit(c->host, http, "change", id, "created");
	if (rc == SEULA_OK) {
		char loc[64];
		snprintf(loc, sizeof(loc), "/api/customers/%lld",
		         (long long)id);
		c->host->http_set_header(http, "Location", loc);
		rc = cust_reply_json(c->host, http, 201, out);
		out = NULL;
	}
done:
	json_decref(out);
	json_decref(o);
	cust_record_clear(&r);
	return rc;
}

static int get_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	int64_t id;
	json_t *out = NULL;
	if (!param_id(c, http, "id", &id))
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such customer");
	int rc = load_customer(c, c->host->http_db(http), id, &out, NULL);
	if (rc == SEULA_ENOTFOUND)
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such customer");
	if (rc == SEULA_OK)
		rc = cust_audit(c->host, http, "read", id, "customer record");
	if (rc != SEULA_OK) {
		json_decref(out);
		return rc;
	}
	return cust_reply_json(c->host, http, 200, out);
}

/* Whether two emails (NULL: none) are one address as linkage compares
 * them; a change to a customer's own address in another case needs no
 * duplicate check (and does not trip over a duplicate made before there
 * was one). */
static bool same_email(const char *a, const char *b)
{
	char na[CUST_EMAIL_MAX], nb[CUST_EMAIL_MAX];
	size_t la = 0, lb = 0;
	bool ha = a && cust_email_normalise(a, strlen(a), na, &la);
	bool hb = b && cust_email_normalise(b, strlen(b), nb, &lb);
	bool same = ha == hb && (!ha || (la == lb && memcmp(na, nb, la) == 0));
	if (ha)
		sodium_memzero(na, la);
	if (hb)
		sodium_memzero(nb, lb);
	return same;
}

int cust_email_unique(const void *instance, struct seula_http *http,
                      sqlite3 *db, int64_t id, const char *old,
                      const char *email)
{
	const struct customers *c = instance;
	if (same_email(old, email))
		return SEULA_OK;
	int64_t existing;
	int rc = cust_link_find_email(c->link, db, email, id, &existing);
	if (rc == SEULA_OK && existing)
		rc = refuse_duplicate(c, http, existing);
	return rc;
}

/* PUT replaces every field; PATCH changes the fields it names.  Both keep
 * the flags "flags" does not name: an objection is never lifted by
 * leaving it out. */
static int update(const struct customers *c, struct seula_http *http,
                  bool replace)
{
	int64_t id;
	if (!param_id(c, http, "id", &id))
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such customer");
	json_t *o = cust_body_object(c->host, http);
	if (!o)
		return SEULA_EINVAL;
	sqlite3 *db = c->host->http_db(http);
	struct cust_record old = {0}, r = {0};
	json_t *out = NULL;
	const char *field = NULL, *why = NULL;
	int rc = load_customer(c, db, id, NULL, &old);
	if (rc == SEULA_ENOTFOUND) {
		rc = cust_refuse(c->host, http, 404, "not_found",
		                 "no such customer");
		goto done;
	}
	if (rc != SEULA_OK)
		goto done;
	memcpy(r.flags, old.flags, sizeof(r.flags));
	for (int i = 0; i < CUST_N_FIELDS; i++)
		if (!replace && old.values[i] &&
		    !(r.values[i] = strdup(old.values[i]))) {
			rc = SEULA_ENOMEM;
			goto done;
		}
	if (replace && !json_object_get(o, "source"))
		r.values[CUST_F_SOURCE] = strdup(old.values[CUST_F_SOURCE]);
	if (apply_json(c, &r, o, id, &field, &why) != 0) {
		rc = cust_bad_field(c->host, http, field, why);
		goto done;
	}
	if (!r.values[CUST_F_SOURCE]) {
		rc = cust_bad_field(c->host, http, "source",
		                    "the source of the data cannot be removed");
		goto done;
	}
	rc = cust_email_unique(c, http, db, id, old.values[CUST_F_EMAIL],
	                       r.values[CUST_F_EMAIL]);
	if (rc != SEULA_OK)
		goto done;
	/* The audit names what changed, never the values. */
	char detail[1024] = "updated:";
	size_t dn = strlen(detail);
	for (int i = 0; i < CUST_N_FIELDS; i++) {
		const char *a = old.values[i], *b = r.values[i];
		if ((a == NULL) != (b == NULL) || (a && strcmp(a, b) != 0))
			dn += (size_t)snprintf(detail + dn, sizeof(detail) - dn,
			                       " %s", cust_fields[i].name);
	}
	for (int i = 0; i < CUST_N_FLAGS; i++)
		if (old.flags[i] != r.flags[i])
			dn += (size_t)snprintf(detail + dn, sizeof(detail) - dn,
			                       " %s=%s", cust_flag_names[i],
			                       r.flags[i] ? "on" : "off");
	if (dn == strlen("updated:"))
		snprintf(detail + dn, sizeof(detail) - dn, " nothing changed");
	sqlite3_stmt *st = NULL;
	rc = SEULA_EIO;
	if (sqlite3_prepare_v2(db, c->update_sql, -1, &st, NULL) == SQLITE_OK) {
		bind_record(st, &r);
		sqlite3_bind_int64(st, 1 + CUST_N_FIELDS + CUST_N_FLAGS,
		                   c->host->now_ms(c->host));
		sqlite3_bind_int64(st, 2 + CUST_N_FIELDS + CUST_N_FLAGS, id);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = SEULA_OK;
	}
	sqlite3_finalize(st);
	if (rc == SEULA_OK)
		rc = load_customer(c, db, id, &out, NULL);
	if (rc == SEULA_OK)
		rc = cust_audit(c->host, http, "change", id, detail);
	if (rc == SEULA_OK) {
		rc = cust_reply_json(c->host, http, 200, out);
		out = NULL;
	}
done:
	json_decref(out);
	json_decref(o);
	cust_record_clear(&old);
	cust_record_clear(&r);
	return rc;
}

static int put_handler(void *instance, struct seula_http *http)
{
	return update(instance, http, true);
}

static int patch_handler(void *instance, struct seula_http *http)
{
	return update(instance, http, false);
}

/* ---- routes: orders -------------------------------------------------------
 */

static const char *const invoice_statuses[] = {"open", "paid", "collection",
                                               NULL};

static bool is_invoice_status(const char *s)
{
	for (size_t i = 0; s && invoice_statuses[i]; i++)
		if (strcmp(s, invoice_statuses[i]) == 0)
			return true;
	return false;
}

static int customer_exists(sqlite3 *db, int64_t id)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM customers WHERE id = ?", -1,
	                       &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_ROW    ? SEULA_OK
	       : step == SQLITE_DONE ? SEULA_ENOTFOUND
	                             : SEULA_EIO;
}

/* The orders of `customer` (all of them when order is 0) as a JSON array. */
static int orders_json(sqlite3 *db, int64_t customer, int64_t order,
                       json_t **out)
{
	sqlite3_stmt *st = NULL, *ln = NULL;
	json_t *list = json_array();
	int rc = SEULA_EIO, step;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, number, date, currency, "
	                       "total_cents, invoice_status FROM "
	                       "customer_orders WHERE customer_id = ?1 AND "
	                       "(?2 = 0 OR id = ?2) ORDER BY date, id",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT description, quantity, "
	                       "unit_price_cents FROM customer_order_lines "
	                       "WHERE order_id = ? ORDER BY line",
	                       -1, &ln, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, customer);
	sqlite3_bind_int64(st, 2, order);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *lines = json_array();
		sqlite3_reset(ln);
		sqlite3_bind_int64(ln, 1, sqlite3_column_int64(st, 0));
		while ((step = sqlite3_step(ln)) == SQLITE_ROW)
			json_array_append_new(
			        lines,
			        json_pack(
			                "{s:s, s:I, s:I}", "description",
			                cust_col(ln, 0), "quantity",
			                (json_int_t)sqlite3_column_int64(ln, 1),
			                "unit_price_cents",
			                (json_int_t)sqlite3_column_int64(ln,
			                                                 2)));
		if (step != SQLITE_DONE) {
			json_decref(lines);
			goto out;
		}
		json_array_append_new(
		        list,
		        json_pack("{s:I, s:s, s:s, s:s, s:o, s:I, s:s}", "id",
		                  (json_int_t)sqlite3_column_int64(st, 0),
		                  "number", cust_col(st, 1), "date",
		                  cust_col(st, 2), "currency", cust_col(st, 3),
		                  "lines", lines, "total_cents",
		                  (json_int_t)sqlite3_column_int64(st, 4),
		                  "invoice_status", cust_col(st, 5)));
	}
	if (step == SQLITE_DONE) {
		rc = SEULA_OK;
		*out = list;
		list = NULL;
	}
out:
	json_decref(list);
	sqlite3_finalize(st);
	sqlite3_finalize(ln);
	return rc;
}

static int orders_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	int64_t id;
	sqlite3 *db = c->host->http_db(http);
	if (!param_id(c, http, "id", &id) ||
	    customer_exists(db, id) == SEULA_ENOTFOUND)
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such customer");
	json_t *list = NULL;
	int rc = orders_json(db, id, 0, &list);
	if (rc == SEULA_OK)
		rc = cust_audit(c->host, http, "read", id, "orders");
	if (rc != SEULA_OK) {
		json_decref(list);
		return rc;
	}
	return cust_reply_json(c->host, http, 200,
	                       json_pack("{s:o}", "orders", list));
}

/* Validate one order line; 0, or -1 with *field and *why. */
static int check_line(json_t *l, const char **field, const char **why)
{
	const char *key;
	json_t *v;
	if (!json_is_object(l)) {
		*field = "lines", *why = "each line is an object";
		return -1;
	}
	json_object_foreach(l, key, v)
	{
		if (strcmp(key, "description") && strcmp(key, "quantity") &&
		    strcmp(key, "unit_price_cents")) {
			*field = key, *why = "no such field of a line";
			return -1;
		}
	}
	json_t *d = json_object_get(l, "description");
	json_t *q = json_object_get(l, "quantity");
	json_t *p = json_object_get(l, "unit_price_cents");
	if (!json_is_string(d) || json_string_length(d) == 0 ||
	    json_string_length(d) > 200 ||
	    !cust_text_ok(json_string_value(d), json_string_length(d))) {
		*field = "description", *why = "one line of text, 1-200 bytes";
		return -1;
	}
	if (!json_is_integer(q) || json_integer_value(q) < 1 ||
	    json_integer_value(q) > 1000000) {
		*field = "quantity", *why = "an integer 1-1000000";
		return -1;
	}
	/* Negative prices are credits and discounts. */
	if (!json_is_integer(p) || json_integer_value(p) < -100000000000 ||
	    json_integer_value(p) > 100000000000) {
		*field = "unit_price_cents",
		*why = "an integer of cents, at most 1e11 either way";
		return -1;
	}
	return 0;
}

/* An order's total, cents either way: 100 billion in its currency.  A
 * customer's orders then sum in 64 bits up to 900,000 of them. */
#define ORDER_TOTAL_MAX INT64_C(10000000000000)

static int check_order(json_t *o, int64_t *total, const char **field,
                       const char **why)
{
	static const char *const keys[] = {
	        "number",      "date",           "currency", "lines",
	        "total_cents", "invoice_status", "id",       NULL};
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		size_t i = 0;
		while (keys[i] && strcmp(keys[i], key) != 0)
			i++;
		if (!keys[i] || strcmp(key, "id") == 0) {
			*field = key, *why = "no such field of an order";
			return -1;
		}
	}
	json_t *num = json_object_get(o, "number");
	json_t *date = json_object_get(o, "date");
	json_t *cur = json_object_get(o, "currency");
	json_t *lines = json_object_get(o, "lines");
	json_t *tot = json_object_get(o, "total_cents");
	json_t *status = json_object_get(o, "invoice_status");
	if (!json_is_string(num) || json_string_length(num) == 0 ||
	    json_string_length(num) > 64 ||
	    !cust_text_ok(json_string_value(num), json_string_length(num))) {
		*field = "number", *why = "one line of text, 1-64 bytes";
		return -1;
	}
	if (!json_is_string(date) ||
	    !cust_date_ok(json_string_value(date), json_string_length(date))) {
		*field = "date", *why = "not a date (YYYY-MM-DD)";
		return -1;
	}
	if (!json_is_string(cur) ||
	    !cust_currency_known(json_string_value(cur))) {
		*field = "currency", *why = "not an ISO 4217 currency code";
		return -1;
	}
	if (status && !is_invoice_status(json_string_value(status))) {
		*field = "invoice_status", *why = "open, paid or collection";
		return -1;
	}
	if (!json_is_array(lines) || json_array_size(lines) == 0 ||
	    json_array_size(lines) > 500) {
		*field = "lines", *why = "an array of 1-500 lines";
		return -1;
	}
	int64_t sum = 0;
	size_t i;
	json_array_foreach(lines, i, v)
	{
		if (check_line(v, field, why) != 0)
			return -1;
		/* A line is at most 1e6 * 1e11 either way by check_line, and
		 * the sum so far at most ORDER_TOTAL_MAX: it fits.  500 such
		 * lines would not, nor would a customer's orders summed in the
		 * finance export. */
		sum += json_integer_value(json_object_get(v, "quantity")) *
		       json_integer_value(
		               json_object_get(v, "unit_price_cents"));
		if (sum > ORDER_TOTAL_MAX || sum < -ORDER_TOTAL_MAX) {
			*field = "total_cents",
			*why = "past 1e13 cents either way";
			return -1;
		}
	}
	if (tot && (!json_is_integer(tot) || json_integer_value(tot) != sum)) {
		*field = "total_cents",
		*why = "is the sum of the lines; leave it out or send it right";
		return -1;
	}
	*total = sum;
	return 0;
}

static int add_order_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	int64_t id;
	sqlite3 *db = c->host->http_db(http);
	if (!param_id(c, http, "id", &id) ||
	    customer_exists(db, id) == SEULA_ENOTFOUND)
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such customer");
	json_t *o = cust_body_object(c->host, http);
	if (!o)
		return SEULA_EINVAL;
	const char *field = NULL, *why = NULL;
	int64_t total = 0;
	if (check_order(o, &total, &field, &why) != 0) {
		int r = cust_bad_field(c->host, http, field, why);
		json_decref(o);
		return r;
	}
	const char *status = json_string_value(json_object_get(o, "invoice_"
	                                                          "status"));
	int64_t now = c->host->now_ms(c->host), order = 0;
	sqlite3_stmt *st = NULL, *ln = NULL;
	json_t *list = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO customer_orders (customer_id, "
	                       "number, date, currency, total_cents, "
	                       "invoice_status, created_at, updated_at) "
	                       "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO customer_order_lines (order_id, "
	                       "line, customer_id, description, quantity, "
	                       "unit_price_cents) VALUES (?, ?, ?, ?, ?, ?)",
	                       -1, &ln, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_text(st, 2,
	                  json_string_value(json_object_get(o, "number")), -1,
	                  SQLITE_STATIC);
	sqlite3_bind_text(st, 3, json_string_value(json_object_get(o, "date")),
	                  -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4,
	                  json_string_value(json_object_get(o, "currency")), -1,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, total);
	sqlite3_bind_text(st, 6, status ? status : "open", -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 7, now);
	sqlite3_bind_int64(st, 8, now);
	int step = sqlite3_step(st);
	if ((step & 0xff) == SQLITE_CONSTRAINT) {
		rc = cust_refuse(c->host, http, 409, "duplicate_order_number",
		                 "an order with this number exists");
		goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	order = sqlite3_last_insert_rowid(db);
	size_t i;
	json_t *l;
	json_array_foreach(json_object_get(o, "lines"), i, l)
	{
		sqlite3_reset(ln);
		sqlite3_bind_int64(ln, 1, order);
		sqlite3_bind_int64(ln, 2, (sqlite3_int64)i + 1);
		sqlite3_bind_int64(ln, 3, id);
		sqlite3_bind_text(
		        ln, 4,
		        json_string_value(json_object_get(l, "description")),
		        -1, SQLITE_STATIC);
		sqlite3_bind_int64(
		        ln, 5,
		        json_integer_value(json_object_get(l, "quantity")));
		sqlite3_bind_int64(ln, 6,
		                   json_integer_value(json_object_get(
		                           l, "unit_price_cents")));
		if (sqlite3_step(ln) != SQLITE_DONE)
			goto out;
	}
	rc = orders_json(db, id, order, &list);
	char detail[64];
	snprintf(detail, sizeof(detail), "order %lld added", (long long)order);
	if (rc == SEULA_OK)
		rc = cust_audit(c->host, http, "change", id, detail);
	if (rc == SEULA_OK)
		rc = cust_reply_json(c->host, http, 201,
		                     json_incref(json_array_get(list, 0)));
out:
	json_decref(list);
	json_decref(o);
	sqlite3_finalize(st);
	sqlite3_finalize(ln);
	return rc;
}

/* Orders are bookkeeping records: only their invoice status changes. */
static int patch_order_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	int64_t id, order;
	if (!param_id(c, http, "id", &id) ||
	    !param_id(c, http, "order", &order))
		return cust_refuse(c->host, http, 404, "not_found",
		                   "no such order");
	json_t *o = cust_body_object(c->host, http);
	if (!o)
		return SEULA_EINVAL;
	const char *key;
	json_t *v;
	int rc = SEULA_OK;
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "invoice_status") != 0) {
			rc = cust_bad_field(c->host, http, key,
			                    "only invoice_status of an order "
			                    "changes");
			break;
		}
	}
	const char *status =
	        json_string_value(json_object_get(o, "invoice_status"));
	if (rc == SEULA_OK && !is_invoice_status(status))
		rc = cust_bad_field(c->host, http, "invoice_status",
		                    "open, paid or collection");
	sqlite3 *db = c->host->http_db(http);
	sqlite3_stmt *st = NULL;
	json_t *list = NULL;
	if (rc == SEULA_OK) {
		rc = SEULA_EIO;
		if (sqlite3_prepare_v2(db,
		                       "UPDATE customer_orders SET "
		                       "invoice_status = ?, updated_at = ? "
		                       "WHERE id = ? AND customer_id = ?",
		                       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, status, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, c->host->now_ms(c->host));
			sqlite3_bind_int64(st, 3, order);
			sqlite3_bind_int64(st, 4, id);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = sqlite3_changes(db) == 1 ? SEULA_OK
				                              : SEULA_ENOTFOUND;
		}
	}
	if (rc == SEULA_ENOTFOUND)
		rc = cust_refuse(c->host, http, 404, "not_found",
		                 "no such order");
	if (rc == SEULA_OK)
		rc = orders_json(db, id, order, &list);
	if (rc == SEULA_OK) {
		char detail[80];
		snprintf(detail, sizeof(detail),
		         "order %lld: invoice_status %s", (long long)order,
		         status);
		rc = cust_audit(c->host, http, "change", id, detail);
	}
	if (rc == SEULA_OK)
		rc = cust_reply_json(c->host, http, 200,
		                     json_incref(json_array_get(list, 0)));
	json_decref(list);
	json_decref(o);
	sqlite3_finalize(st);
	return rc;
}

/* ---- routes: CSV import ----------------------------------------------------
 */

struct import {
	const struct customers *c;
	sqlite3 *db;
	int columns[64]; /* field index, or CUST_N_FIELDS + flag index */
	size_t n_columns;
	size_t rows, bad_rows, duplicates;
	int64_t first_id, last_id;
	json_t *problems;
	json_t *duplicate_rows; /* the rows skipped, as problems lists them */
	json_t *duplicate_of;   /* the ids they name, each once */
	/* The import's source (?source=, normalised as the field is), for
	 * the rows that give none; NULL: none given. */
	const char *source;
	bool header_done, source_column;
	int rc; /* SEULA_OK, or why the import stopped */
};

#define IMPORT_MAX_PROBLEMS 200

static void problem(struct import *im, size_t line, const char *field,
                    const char *why)
{
	if (json_array_size(im->problems) < IMPORT_MAX_PROBLEMS)
		json_array_append_new(im->problems,
		                      json_pack("{s:I, s:s?, s:s}", "line",
		                                (json_int_t)line, "field",
		                                field, "reason", why));
}

static void duplicate(struct import *im, size_t line, int64_t existing)
{
	im->duplicates++;
	if (json_array_size(im->duplicate_rows) >= IMPORT_MAX_PROBLEMS)
		return;
	/* This import's customers have ids from first_id on. */
	bool earlier = im->first_id && existing >= im->first_id;
	json_array_append_new(
	        im->duplicate_rows,
	        json_pack("{s:I, s:s, s:s, s:I}", "line", (json_int_t)line,
	                  "field", "email", "reason",
	                  earlier ? "an earlier row has this email: skipped"
	                          : "a customer has this email: skipped",
	                  "customer_id", (json_int_t)existing));
	size_t i;
	json_t *v;
	json_array_foreach(im->duplicate_of, i, v)
	{
		if (json_integer_value(v) == existing)
			return;
	}
	json_array_append_new(im->duplicate_of, json_integer(existing));
}

static int import_header(struct import *im, const struct cust_csv_record *rec)
{
	im->header_done = true;
	if (rec->n > sizeof(im->columns) / sizeof(im->columns[0])) {
		problem(im, rec->line, NULL, "too many columns");
		return 1;
	}
	bool named = false;
	for (size_t i = 0; i < rec->n; i++) {
		const char *name = rec->fields[i];
		int f = cust_field_index(name), g = cust_flag_index(name);
		for (size_t k = 0; k < i; k++)
			if (strcmp(rec->fields[k], name) == 0)
				f = g = -2;
		if (f == -2) {
			problem(im, rec->line, name, "the column is twice");
			continue;
		}
		if (f < 0 && g < 0) {
			problem(im, rec->line, name,
			        "no such field (the header names the fields "
			        "of a customer or its flags)");
			continue;
		}
		im->columns[i] = f >= 0 ? f : CUST_N_FIELDS + g;
		im->source_column |= f == CUST_F_SOURCE;
		named |= f == CUST_F_FIRST_NAME || f == CUST_F_LAST_NAME ||
		         f == CUST_F_ORGANISATION;
	}
	im->n_columns = rec->n;
	if (!named)
		problem(im, rec->line, NULL,
		        "the header has no first_name, last_name or "
		        "organisation column");
	/* Where each record comes from is the person's to be told (GDPR
	 * art. 14(2)(f)): "import" would tell them nothing. */
	if (!im->source_column && !im->source)
		problem(im, rec->line, "source",
		        "say where these records come from: a source column, "
		        "or the import's source (?source=, the page's Source "
		        "field)");
	/* A header that is wrong makes every row wrong: stop here. */
	return json_array_size(im->problems) ? 1 : 0;
}

static int import_row(void *arg, const struct cust_csv_record *rec)
{
	struct import *im = arg;
	if (!im->header_done)
		return import_header(im, rec);
	if (++im->rows > (size_t)im->c->cfg->import_max_rows) {
		problem(im, rec->line, NULL,
		        "more rows than import_max_rows allows");
		im->bad_rows++;
		return 1;
	}
	if (rec->n != im->n_columns) {
		char why[80];
		snprintf(why, sizeof(why),
		         "%zu fields where the header has %zu", rec->n,
		         im->n_columns);
		problem(im, rec->line, NULL, why);
		im->bad_rows++;
		return 0;
	}
	struct cust_record r = {0};
	bool bad = false;
	for (size_t i = 0; i < rec->n; i++) {
		int col = im->columns[i];
		const char *why = NULL;
		if (col >= CUST_N_FIELDS) {
			int b = cust_parse_bool(rec->fields[i], rec->lens[i]);
			if (b < 0) {
				problem(im, rec->line,
				        cust_flag_names[col - CUST_N_FIELDS],
				        "not a yes/no value (1, 0, true, "
				        "false, yes, no or empty)");
				bad = true;
			} else {
				r.flags[col - CUST_N_FIELDS] = b;
			}
			continue;
		}
		int set = cust_record_set(&r, col, rec->fields[i], rec->lens[i],
		                          mask_ip, (void *)im->c, &why);
		if (set == -2) {
			cust_record_clear(&r);
			im->rc = SEULA_ENOMEM;
			return 1;
		}
		if (set) {
			problem(im, rec->line, cust_fields[col].name, why);
			bad = true;
		}
	}
	const char *field = NULL, *why = NULL;
	if (!bad && cust_record_check(&r, &field, &why) != 0) {
		problem(im, rec->line, field, why);
		bad = true;
	}
	if (!bad && !r.values[CUST_F_SOURCE] && !im->source) {
		problem(im, rec->line, "source",
		        "empty: say where this record comes from, here or as "
		        "the import's source");
		bad = true;
	}
	if (bad) {
		im->bad_rows++;
	} else if (!im->bad_rows) {
		/* Rows go in as they come; a later bad row rolls them all
		 * back (the route's savepoint).  A row whose address is a
		 * customer's already, or an earlier row's, is skipped: a
		 * second record of a person would undo the first's
		 * objections on the labels. */
		int64_t id, existing;
		int rc = cust_link_find_email(im->c->link, im->db,
		                              r.values[CUST_F_EMAIL], 0,
		                              &existing);
		if (rc == SEULA_OK && existing) {
			duplicate(im, rec->line, existing);
			cust_record_clear(&r);
			return 0;
		}
		if (rc == SEULA_OK)
			rc = insert_customer(im->c, im->db, &r, im->source,
			                     &id);
		if (rc != SEULA_OK) {
			cust_record_clear(&r);
			im->rc = rc;
			return 1;
		}
		if (!im->first_id)
			im->first_id = id;
		im->last_id = id;
	}
	cust_record_clear(&r);
	return 0;
}

static int import_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	if (!cust_content_type_is(c->host, http, "text/csv"))
		return cust_refuse(
		        c->host, http, 415, "unsupported_media_type",
		        "send text/csv with a header row of field names");
	size_t len = 0;
	const char *body = c->host->http_body(http, &len);
	/* The import's source, checked as the field's values are. */
	struct cust_record src = {0};
	const char *source = c->host->http_query(http, "source");
	if (source) {
		const char *why = NULL;
		int set = cust_record_set(&src, CUST_F_SOURCE, source,
		                          strlen(source), mask_ip, (void *)c,
		                          &why);
		if (set == -2)
			return SEULA_ENOMEM;
		if (set || !src.values[CUST_F_SOURCE]) {
			cust_record_clear(&src);
			char msg[160];
			snprintf(msg, sizeof(msg), "source: %s",
			         why ? why : "empty");
			return cust_refuse(c->host, http, 400, "invalid_source",
			                   msg);
		}
	}
	struct import im = {.c = c,
	                    .db = c->host->http_db(http),
	                    .problems = json_array(),
	                    .duplicate_rows = json_array(),
	                    .duplicate_of = json_array(),
	                    .source = src.values[CUST_F_SOURCE]};
	size_t bad_line = 0;
	const char *why = NULL;
	char *dup_ids = NULL;
	int rc = cust_csv_read(body ? body : "", len, import_row, &im,
	                       &bad_line, &why);
	if (rc == -1) {
		problem(&im, bad_line, NULL, why);
		im.bad_rows++;
	} else if (rc == -2 || im.rc != SEULA_OK) {
		rc = im.rc != SEULA_OK ? im.rc : SEULA_ENOMEM;
		goto out;
	}
	if (!im.header_done) {
		rc = cust_refuse(c->host, http, 400, "empty_import",
		                 "the body has no header row");
		goto out;
	}
	if (json_array_size(im.problems)) {
		char msg[160];
		/* A bad header is one line at fault. */
		size_t n_bad = im.bad_rows ? im.bad_rows : 1;
		snprintf(msg, sizeof(msg),
		         "%zu row%s cannot be imported; nothing was stored",
		         n_bad, n_bad == 1 ? "" : "s");
		cust_reply_json(
		        c->host, http, 422,
		        json_pack("{s:s, s:s, s:I, s:O}", "error",
		                  "invalid_rows", "message", msg, "bad_rows",
		                  (json_int_t)(im.bad_rows ? im.bad_rows : 1),
		                  "rows", im.problems));
		cust_audit(c->host, http, "change", 0,
		           "import refused: nothing stored");
		rc = SEULA_EINVAL; /* the rows stored so far roll back */
		goto out;
	}
	size_t imported =
	        im.first_id ? (size_t)(im.last_id - im.first_id + 1) : 0;
	char detail[128], ids[48];
	if (imported)
		snprintf(detail, sizeof(detail),
		         "import: %zu customer%s, ids %lld-%lld", imported,
		         imported == 1 ? "" : "s", (long long)im.first_id,
		         (long long)im.last_id);
	else
		snprintf(detail, sizeof(detail), "import: no customers added");
	/* Made in one transaction, their ids are consecutive (a skipped
	 * duplicate takes none): a range is the subject (core/audit.h). */
	snprintf(ids, sizeof(ids), "%lld-%lld", (long long)im.first_id,
	         (long long)im.last_id);
	rc = c->host->http_audit(http, "change", imported ? ids : NULL,
	                         detail) == SEULA_OK
	             ? SEULA_OK
	             : SEULA_EIO;
	if (rc != SEULA_OK)
		goto out;
	/* The answer names whose address each skipped row has: a read of
	 * theirs, on record (at most IMPORT_MAX_PROBLEMS ids). */
	if (json_array_size(im.duplicate_of)) {
		sqlite3_str *list = sqlite3_str_new(NULL);
		size_t i;
		json_t *v;
		json_array_foreach(im.duplicate_of, i, v)
		{
			sqlite3_str_appendf(list, "%s%lld", i ? "," : "",
			                    (long long)json_integer_value(v));
		}
		dup_ids = sqlite3_str_finish(list);
		snprintf(detail, sizeof(detail),
		         "import: %zu row%s skipped, their email a customer's",
		         im.duplicates, im.duplicates == 1 ? "" : "s");
		if (!dup_ids) {
			rc = SEULA_ENOMEM;
			goto out;
		}
		if (c->host->http_audit(http, "read", dup_ids, detail) !=
		    SEULA_OK) {
			rc = SEULA_EIO;
			goto out;
		}
	}
	rc = cust_reply_json(c->host, http, 200,
	                     json_pack("{s:I, s:I, s:I, s:I, s:O}", "imported",
	                               (json_int_t)imported, "first_id",
	                               (json_int_t)im.first_id, "last_id",
	                               (json_int_t)im.last_id, "duplicates",
	                               (json_int_t)im.duplicates,
	                               "duplicate_rows", im.duplicate_rows));
out:
	sqlite3_free(dup_ids);
	json_decref(im.problems);
	json_decref(im.duplicate_rows);
	json_decref(im.duplicate_of);
	cust_record_clear(&src);
	return rc;
}

/* ---- routes: labels and the finance export ---------------------------------
 */

static int labels_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	const char *format = c->host->http_query(http, "format");
	enum seula_labels_format f;
	if (!format || strcmp(format, "csv") == 0)
		f = SEULA_LABELS_CSV;
	else if (strcmp(format, "pdf") == 0)
		f = SEULA_LABELS_PDF;
	else
		return cust_refuse(c->host, http, 400, "invalid_query",
		                   "format is csv or pdf");
	char *out = NULL, *ids = NULL, err[512] = "";
	size_t len = 0, n = 0, recorded = 0;
	sqlite3 *db = c->host->http_db(http);
	const char *staff = c->host->http_user(http);
	int64_t now = c->host->now_ms(c->host);
	int rc = seula_labels_render(db, &c->cfg->labels, f, now, &out, &len,
	                             &n, err, sizeof(err));
	/* Each person on them, in the same transaction, and in the audit
	 * entry's subject, so a search of the log by person finds it. */
	if (rc == SEULA_OK)
		rc = seula_labels_record(db, &c->cfg->labels,
		                         staff ? staff : "", "GET /api/labels",
		                         f, now, &recorded, &ids, err,
		                         sizeof(err));
	if (rc == SEULA_OK && recorded != n) {
		snprintf(err, sizeof(err),
		         "%zu labels but %zu persons recorded", n, recorded);
		rc = SEULA_EIO;
	}
	if (rc != SEULA_OK) {
		free(out);
		free(ids);
		c->host->log(c->host, SEULA_LOG_ERROR, "labels: %s", err);
		return rc;
	}
	char detail[96];
	snprintf(detail, sizeof(detail),
	         "labels %zu person%s (each in customer_label_exports)", n,
	         n == 1 ? "" : "s");
	rc = c->host->http_audit(http, "export", ids, detail) == SEULA_OK
	             ? SEULA_OK
	             : SEULA_EIO;
	free(ids);
	if (rc == SEULA_OK) {
		c->host->http_set_header(
		        http, "Content-Disposition",
		        f == SEULA_LABELS_PDF
		                ? "attachment; filename=\"labels.pdf\""
		                : "attachment; filename=\"labels.csv\"");
		rc = c->host->http_reply(http, 200,
		                         f == SEULA_LABELS_PDF
		                                 ? "application/pdf"
		                                 : "text/csv; charset=utf-8",
		                         out, len);
	}
	free(out);
	return rc;
}

/* Billing fields only, one row per customer and currency of their orders.
 * A restricted customer is sent only for the currencies of open or
 * collected invoices: billing them is the legal claim the data may still
 * serve (GDPR art. 18(2)), and the reason an erasure refused for such an
 * invoice keeps them.  Each customer sent is recorded as a disclosure to
 * the finance partner, in the same transaction as the audit entry. */
static int finance_handler(void *instance, struct seula_http *http)
{
	const struct customers *c = instance;
	static const char *const header[] = {"customer_id",
	                                     "first_name",
	                                     "last_name",
	                                     "organisation",
	                                     "street",
	                                     "postal_code",
	                                     "city",
	                                     "country",
	                                     "email",
	                                     "currency",
	                                     "open_invoices",
	                                     "open_cents",
	                                     "collection_cents"};
	static const char fields_json[] =
	        "[\"first_name\",\"last_name\",\"organisation\",\"street\","
	        "\"postal_code\",\"city\",\"country\",\"email\",\"orders\"]";
	const size_t n_cols = sizeof(header) / sizeof(header[0]);
	const char *format = c->host->http_query(http, "format");
	if (format && strcmp(format, "csv") != 0)
		return cust_refuse(c->host, http, 400, "invalid_query",
		                   "format is csv");
	const char *staff = c->host->http_user(http);
	sqlite3 *db = c->host->http_db(http);
	sqlite3_stmt *st = NULL, *dis = NULL;
	char *out = NULL;
	size_t len = 0, persons = 0;
	int rc = SEULA_EIO;
	struct seula_labels_ids sent = {0}; /* before any goto out */
	FILE *f = open_memstream(&out, &len);
	if (!f)
		return SEULA_ENOMEM;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT c.id, c.first_name, c.last_name, c.organisation, "
	            "c.street, c.postal_code, c.city, c.country, c.email, "
	            "o.currency, sum(o.invoice_status = 'open'), "
	            "sum(CASE WHEN o.invoice_status = 'open' THEN "
	            "o.total_cents ELSE 0 END), sum(CASE WHEN "
	            "o.invoice_status = 'collection' THEN o.total_cents ELSE 0 "
	            "END), c.restricted FROM customers c JOIN customer_orders "
	            "o ON o.customer_id = c.id GROUP BY c.id, o.currency "
	            "HAVING c.restricted = 0 OR sum(o.invoice_status IN "
	            "('open', 'collection')) > 0 ORDER BY c.id, o.currency",
	            -1, &st, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT INTO customer_disclosures "
	                       "(customer_id, recipient, legal_ground, fields, "
	                       "staff_name, disclosed_at) VALUES (?, ?, ?, ?, "
	                       "?, ?)",
	                       -1, &dis, NULL) != SQLITE_OK)
		goto out;
	int bad = 0, step;
	for (size_t i = 0; i < n_cols; i++)
		bad |= seula_labels_csv_cell(f, header[i], i + 1 == n_cols);
	int64_t now = c->host->now_ms(c->host), last = 0;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		for (size_t i = 0; i < n_cols; i++) {
			bool end = i + 1 == n_cols;
			int col = (int)i;
			/* The id, the count and the sums (the last three) are
			 * numbers: a credit makes a sum negative, and the
			 * formula guard would make it text the finance partner
			 * cannot add up. */
			if (i == 0 || i >= 10)
				bad |= seula_labels_csv_int(
				        f, sqlite3_column_int64(st, col), end);
			else
				bad |= seula_labels_csv_cell(
				        f, cust_col(st, col), end);
		}
		int64_t id = sqlite3_column_int64(st, 0);
		if (id == last)
			continue; /* one disclosure per person */
		last = id;
		persons++;
		seula_labels_id_add(&sent, id);
		sqlite3_reset(dis);
		sqlite3_bind_int64(dis, 1, id);
		sqlite3_bind_text(dis, 2, c->cfg->finance_recipient, -1,
		                  SQLITE_STATIC);
		char ground[512];
		if (sqlite3_column_int(st, 13))
			snprintf(ground, sizeof(ground),
			         "%s; processing restricted: only to bill and "
			         "collect open invoices (GDPR art. 18(2))",
			         c->cfg->finance_legal_ground);
		sqlite3_bind_text(dis, 3,
		                  sqlite3_column_int(st, 13)
		                          ? ground
		                          : c->cfg->finance_legal_ground,
		                  -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(dis, 4, fields_json, -1, SQLITE_STATIC);
		sqlite3_bind_text(dis, 5, staff ? staff : "", -1,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(dis, 6, now);
		if (sqlite3_step(dis) != SQLITE_DONE)
			goto out;
	}
	if (step != SQLITE_DONE)
		goto out;
	if (fclose(f) != 0 || bad) {
		f = NULL;
		rc = SEULA_ENOMEM;
		goto out;
	}
	f = NULL;
	char detail[300];
	snprintf(detail, sizeof(detail), "finance export: %zu person%s to %s",
	         persons, persons == 1 ? "" : "s", c->cfg->finance_recipient);
	char *ids = seula_labels_id_end(&sent, &rc);
	sent.text = NULL;
	if (rc == SEULA_OK)
		rc = c->host->http_audit(http, "export", ids, detail) ==
		                     SEULA_OK
		             ? SEULA_OK
		             : SEULA_EIO;
	free(ids);
	if (rc == SEULA_OK) {
		c->host->http_set_header(
		        http, "Content-Disposition",
		        "attachment; filename=\"finance.csv\"");
		rc = c->host->http_reply(http, 200, "text/csv; charset=utf-8",
		                         out, len);
	}
out:
	if (f)
		fclose(f);
	free(out);
	if (sent.text)
		sqlite3_free(sqlite3_str_finish(sent.text));
	sqlite3_finalize(st);
	sqlite3_finalize(dis);
	return rc;
}

/* ---- linkage, segments, retention (linkage.c) ----------------------------
 */

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	return cust_link_on_event(((struct customers *)instance)->link, ev);
}

static int on_batch(void *instance, sqlite3 *db,
                    struct seula_event *const *events, size_t n, char **errmsg)
{
	return cust_link_on_batch(((struct customers *)instance)->link, db,
	                          events, n, errmsg);
}

static int segments_handler(void *instance, struct seula_http *http)
{
	return cust_segments_handler(((struct customers *)instance)->link,
	                             http);
}

static int link_key_task(void *instance, sqlite3 *db, int64_t now_ms,
                         char **errmsg)
{
	return cust_link_key_task(((struct customers *)instance)->link, db,
	                          now_ms, errmsg);
}

static int retention_task(void *instance, sqlite3 *db, int64_t now_ms,
                          char **errmsg)
{
	return cust_link_retention_task(((struct customers *)instance)->link,
	                                db, now_ms, errmsg);
}

/* The key before the server listens (identify events need it); the
 * retention at start and daily, the WAL truncated after it deleted. */
static const struct seula_task tasks[] = {
        {"customers-link-key", 300, SEULA_TASK_AT_START, link_key_task},
        {"customers-retention", 86400,
         SEULA_TASK_AT_START | SEULA_TASK_TRUNCATE_WAL | SEULA_TASK_SERVE_ONLY,
         retention_task},
};

/* ---- data subject rights (dsr.c) ------------------------------------------
 */

const char *cust_timezone(const void *instance)
{
	return ((const struct customers *)instance)->cfg->labels.timezone;
}

const char *cust_retention_spec(const void *instance)
{
	return ((const struct customers *)instance)->cfg->labels.retention;
}

const struct seula_host *cust_host(const void *instance)
{
	return ((const struct customers *)instance)->host;
}

int cust_mask_ip(void *instance, const char *in, char *out, size_t outlen)
{
	return mask_ip(instance, in, out, outlen);
}

#define STAFF (SEULA_ROLE_ADMIN | SEULA_ROLE_CUSTOMER_SERVICE)

static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/customers", STAFF, SEULA_ON_READER,
         list_handler, "search the register: ?q=&limit=&offset="},
        {SEULA_METHOD_POST, "/api/customers", STAFF, SEULA_ON_WRITER,
         create_handler, "add a customer (JSON)"},
        {SEULA_METHOD_GET, "/api/customers/{id}", STAFF, SEULA_ON_READER,
         get_handler, "one customer, with flags and legal holds"},
        {SEULA_METHOD_PUT, "/api/customers/{id}", STAFF, SEULA_ON_WRITER,
         put_handler, "replace a customer's fields"},
        {SEULA_METHOD_PATCH, "/api/customers/{id}", STAFF, SEULA_ON_WRITER,
         patch_handler, "change some of a customer's fields or flags"},
        {SEULA_METHOD_GET, "/api/customers/{id}/orders", STAFF, SEULA_ON_READER,
         orders_handler, "a customer's orders"},
        {SEULA_METHOD_POST, "/api/customers/{id}/orders", STAFF,
         SEULA_ON_WRITER, add_order_handler, "add an order with its lines"},
        {SEULA_METHOD_PATCH, "/api/customers/{id}/orders/{order}", STAFF,
         SEULA_ON_WRITER, patch_order_handler,
         "change an order's invoice status"},
        {SEULA_METHOD_POST, "/api/customers/import", STAFF, SEULA_ON_WRITER,
         import_handler,
         "import a register from CSV: all rows or none (422 lists the bad "
         "rows)"},
        /* On the writer: each export records who was on it. */
        {SEULA_METHOD_GET, "/api/labels", STAFF, SEULA_ON_WRITER,
         labels_handler,
         "postal labels for direct mail, ?format=csv|pdf (objections "
         "honoured)"},
        /* On the writer: each export records its disclosures. */
        {SEULA_METHOD_GET, "/api/customers/export/finance",
         SEULA_ROLE_ADMIN | SEULA_ROLE_FINANCE, SEULA_ON_WRITER,
         finance_handler,
         "billing fields for the finance partner (recorded as "
         "disclosures)"},
        {SEULA_METHOD_GET, "/api/segments",
         SEULA_ROLE_ADMIN | SEULA_ROLE_ANALYST, SEULA_ON_READER,
         segments_handler,
         "visits, visitors, page views and conversions of linked visitors "
         "per organisation or segment: ?by=&from=&to=&site= (small groups "
         "merged)"},
        {SEULA_METHOD_POST, "/api/dsr", STAFF, SEULA_ON_WRITER,
         cust_dsr_create_handler,
         "a data subject request: access, rectification, erasure, "
         "anonymisation, restriction, objection (carried out at once; "
         "409 names legal holds)"},
        {SEULA_METHOD_GET, "/api/dsr", STAFF, SEULA_ON_READER,
         cust_dsr_list_handler,
         "data subject requests with their deadlines: "
         "?status=&customer_id=|visitor_id="},
        {SEULA_METHOD_GET, "/api/dsr/{id}", STAFF, SEULA_ON_READER,
         cust_dsr_get_handler, "one data subject request"},
        {SEULA_METHOD_POST, "/api/dsr/{id}/extend", STAFF, SEULA_ON_WRITER,
         cust_dsr_extend_handler,
         "extend a request's deadline by up to two months, with the reason"},
        /* On the writer: the first export completes the request. */
        {SEULA_METHOD_GET, "/api/dsr/{id}/export", STAFF, SEULA_ON_WRITER,
         cust_dsr_export_handler,
         "the access export: a zip of export.json and one CSV per table"},
        {SEULA_METHOD_GET, "/api/dsr/{id}/statement", STAFF, SEULA_ON_READER,
         cust_dsr_statement_handler,
         "a refused request's written statement of reasons (text)"},
};

/* ---- lifecycle ----------------------------------------------------------- */

/* The SQL of a customer's row, insert and update, from the field table so
 * the column lists cannot drift apart. */
static int build_sql(struct customers *c)
{
	char cols[1024] = "", marks[256] = "", sets[1536] = "";
	size_t cn = 0, mn = 0, sn = 0;
	for (int i = 0; i < CUST_N_FIELDS + CUST_N_FLAGS; i++) {
		const char *name = i < CUST_N_FIELDS
		                           ? cust_fields[i].column
		                           : cust_flag_names[i - CUST_N_FIELDS];
		cn += (size_t)snprintf(cols + cn, sizeof(cols) - cn, "%s%s",
		                       i ? ", " : "", name);
		mn += (size_t)snprintf(marks + mn, sizeof(marks) - mn, "%s?",
		                       i ? ", " : "");
		sn += (size_t)snprintf(sets + sn, sizeof(sets) - sn, "%s%s = ?",
		                       i ? ", " : "", name);
	}
	if (asprintf(&c->select_sql,
	             "SELECT c.id, %s, c.created_at, c.updated_at, EXISTS "
	             "(SELECT 1 FROM customer_orders o WHERE o.customer_id = "
	             "c.id AND o.invoice_status = 'open'), EXISTS (SELECT 1 "
	             "FROM customer_orders o WHERE o.customer_id = c.id AND "
	             "o.invoice_status = 'collection') FROM customers c",
	             cols) < 0)
		c->select_sql = NULL;
	/* The next id past every one ever given (migration 5). */
	if (asprintf(&c->insert_sql,
	             "INSERT INTO customers (id, %s, created_at, updated_at) "
	             "VALUES ((SELECT last_id + 1 FROM customer_id_high), %s, "
	             "?, ?)",
	             cols, marks) < 0)
		c->insert_sql = NULL;
	if (asprintf(&c->update_sql,
	             "UPDATE customers SET %s, updated_at = ? WHERE id = ?",
	             sets) < 0)
		c->update_sql = NULL;
	return c->select_sql && c->insert_sql && c->update_sql ? SEULA_OK
	                                                       : SEULA_ENOMEM;
}

static void shutdown_(void *instance)
{
	struct customers *c = instance;
	if (!c)
		return;
	free(c->select_sql);
	free(c->insert_sql);
	free(c->update_sql);
	cust_link_free(c->link);
	free(c);
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	const struct customers_config *cfg = config;
	if (!cust_country_name(cfg->labels.home_country)) {
		*errmsg = host->mprintf("home_country %s: not an ISO 3166-1 "
		                        "alpha-2 code in capitals",
		                        cfg->labels.home_country);
		return SEULA_EINVAL;
	}
	struct seula_zone zone;
	if (!seula_zone_open(&zone, cfg->labels.timezone)) {
		*errmsg = host->mprintf("timezone %s: not an IANA time zone "
		                        "(Europe/Helsinki, UTC)",
		                        cfg->labels.timezone);
		return SEULA_EINVAL;
	}
	seula_zone_close(&zone);
	/* The PDF labels need the font; better to say so at start than to
	 * fail the first print run. */
	if (access(cfg->labels.font, R_OK) != 0) {
		*errmsg =
		        host->mprintf("label_font %s: cannot be read "
		                      "(Debian: apt install fonts-dejavu-core)",
		                      cfg->labels.font);
		return SEULA_EINVAL;
	}
	struct customers *c = calloc(1, sizeof(*c));
	if (!c)
		return SEULA_ENOMEM;
	c->host = host;
	c->cfg = cfg;
	if (build_sql(c) != SEULA_OK) {
		shutdown_(c);
		return SEULA_ENOMEM;
	}
	c->link_settings = cfg->link;
	c->link_settings.retention = cfg->labels.retention;
	c->link_settings.timezone = cfg->labels.timezone;
	int rc = cust_link_new(host, &c->link_settings, &c->link, errmsg);
	if (rc != SEULA_OK) {
		shutdown_(c);
		return rc;
	}
	*instance = c;
	return SEULA_OK;
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "customers",
        .version = "1.0.0",
        .description = "the customer register: customers, orders, flags for "
                       "the data subject rights, CSV import, postal labels, "
                       "the finance export, visitor linkage, segments, "
                       "retention",
        .config_rows = config_rows,
        .config_size = sizeof(struct customers_config),
        .migrations = migrations,
        .n_migrations = sizeof(migrations) / sizeof(migrations[0]),
        .init = init,
        .shutdown = shutdown_,
        /* Filter: after anonymize, so the identify event's address is
         * replaced before anything stores it. */
        .stage = SEULA_STAGE_FILTER,
        .on_event = on_event,
        .on_batch = on_batch,
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .tasks = tasks,
        .n_tasks = sizeof(tasks) / sizeof(tasks[0]),
        .subject = cust_dsr_subject,
};
