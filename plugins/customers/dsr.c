/*
 * dsr.c - the data subject rights of the customer register (see dsr.h).
 */
#include "dsr.h"
#include "reply.h"

#include "dsrutil.h"
#include "fields.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uuid/uuid.h>

const char cust_dsr_migration_sql[] =
        "CREATE TABLE customer_dsr_requests (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  type TEXT NOT NULL CHECK (type IN ('access', 'rectification',\n"
        "    'erasure', 'anonymisation', 'restriction', 'objection')),\n"
        "  -- no foreign key: the record of the answer outlives an erased\n"
        "  -- customer, whose id then names no one\n"
        "  customer_id INTEGER NOT NULL,\n"
        "  verification TEXT NOT NULL,\n"
        "  received_at INTEGER NOT NULL,\n"
        "  received_date TEXT NOT NULL,\n"
        "  due_date TEXT NOT NULL,\n"
        "  extended_months INTEGER NOT NULL DEFAULT 0\n"
        "    CHECK (extended_months BETWEEN 0 AND 2),\n"
        "  extensions TEXT NOT NULL DEFAULT '[]', -- JSON: months, reason, "
        "by, at\n"
        "  status TEXT NOT NULL CHECK (status IN ('open', 'completed',\n"
        "    'refused', 'restricted')),\n"
        "  received_by TEXT NOT NULL,\n"
        "  handled_by TEXT NOT NULL,\n"
        "  details TEXT NOT NULL DEFAULT '{}', -- JSON: names and counts, "
        "never data\n"
        "  statement TEXT, -- a refusal's written reasons\n"
        "  completed_at INTEGER,\n"
        "  updated_at INTEGER NOT NULL\n"
        ") STRICT;\n"
        "CREATE INDEX customer_dsr_requests_by_customer ON\n"
        "  customer_dsr_requests (customer_id);\n"
        "CREATE INDEX customer_dsr_requests_by_status ON\n"
        "  customer_dsr_requests (status, due_date);";

/* SQLite cannot drop a NOT NULL: the table is made again, its rows and
 * ids kept.  Nothing refers to it (no foreign key, trigger or view). */
const char cust_dsr_visitor_migration_sql[] =
        "CREATE TABLE customer_dsr_requests_new (\n"
        "  id INTEGER PRIMARY KEY,\n"
        "  type TEXT NOT NULL CHECK (type IN ('access', 'rectification',\n"
        "    'erasure', 'anonymisation', 'restriction', 'objection')),\n"
        "  -- no foreign key: the record of the answer outlives an erased\n"
        "  -- customer, whose id then names no one; NULL: a visitor's\n"
        "  customer_id INTEGER,\n"
        "  -- a visitor not in the register: their visitor id (NULL once\n"
        "  -- erased) and how the audit log names it (kept)\n"
        "  visitor_id TEXT,\n"
        "  visitor_subject TEXT,\n"
        "  verification TEXT NOT NULL,\n"
        "  received_at INTEGER NOT NULL,\n"
        "  received_date TEXT NOT NULL,\n"
        "  due_date TEXT NOT NULL,\n"
        "  extended_months INTEGER NOT NULL DEFAULT 0\n"
        "    CHECK (extended_months BETWEEN 0 AND 2),\n"
        "  extensions TEXT NOT NULL DEFAULT '[]',\n"
        "  status TEXT NOT NULL CHECK (status IN ('open', 'completed',\n"
        "    'refused', 'restricted')),\n"
        "  received_by TEXT NOT NULL,\n"
        "  handled_by TEXT NOT NULL,\n"
        "  details TEXT NOT NULL DEFAULT '{}',\n"
        "  statement TEXT,\n"
        "  completed_at INTEGER,\n"
        "  updated_at INTEGER NOT NULL,\n"
        "  CHECK ((customer_id IS NULL) = (visitor_subject IS NOT NULL)),\n"
        "  CHECK (visitor_id IS NULL OR visitor_subject IS NOT NULL),\n"
        "  -- the other rights need a record in the register\n"
        "  CHECK (visitor_subject IS NULL OR type IN ('access', "
        "'erasure'))\n"
        ") STRICT;\n"
        "INSERT INTO customer_dsr_requests_new (id, type, customer_id,\n"
        "  verification, received_at, received_date, due_date,\n"
        "  extended_months, extensions, status, received_by, handled_by,\n"
        "  details, statement, completed_at, updated_at)\n"
        "  SELECT id, type, customer_id, verification, received_at,\n"
        "  received_date, due_date, extended_months, extensions, status,\n"
        "  received_by, handled_by, details, statement, completed_at,\n"
        "  updated_at FROM customer_dsr_requests;\n"
        "DROP TABLE customer_dsr_requests;\n"
        "ALTER TABLE customer_dsr_requests_new RENAME TO "
        "customer_dsr_requests;\n"
        "CREATE INDEX customer_dsr_requests_by_customer ON\n"
        "  customer_dsr_requests (customer_id);\n"
        "CREATE INDEX customer_dsr_requests_by_status ON\n"
        "  customer_dsr_requests (status, due_date);\n"
        "CREATE INDEX customer_dsr_requests_by_visitor ON\n"
        "  customer_dsr_requests (visitor_id);";

static const char *const dsr_types[] = {
        "access",      "rectification", "erasure", "anonymisation",
        "restriction", "objection",     NULL};

/* Export archives are built in memory; a person's data is far below this,
 * and a runaway export must not take the server's memory. */
#define EXPORT_MAX_BYTES (256u << 20)

/* ---- small helpers ------------------------------------------------------ */

static bool parse_id(const char *s, int64_t *out)
{
	if (!s || !*s || strlen(s) > 18)
		return false;
	int64_t v = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		v = v * 10 + (*p - '0');
	}
	if (v < 1)
		return false;
	*out = v;
	return true;
}

/* A text the staff wrote (verification, reasons): 1..max characters
 * (code points, as the register's text fields count) of UTF-8 without
 * control characters but newlines.  In bytes, 800 characters of Finnish
 * in the staff page's verification details were refused as too long. */
static bool staff_text_ok(json_t *v, size_t max)
{
	if (!json_is_string(v))
		return false;
	const char *s = json_string_value(v);
	size_t n = json_string_length(v), chars = 0;
	for (size_t i = 0; i < n; i++) /* lead bytes */
		chars += ((unsigned char)s[i] & 0xc0) != 0x80;
	if (n == 0 || chars > max || memchr(s, '\0', n))
		return false;
	size_t start = 0;
	for (size_t i = 0; i <= n; i++) {
		if (i < n && s[i] != '\n')
			continue;
		if (i > start && !cust_text_ok(s + start, i - start))
			return false;
		start = i + 1;
	}
	return true;
}

static bool table_exists(sqlite3 *db, const char *name)
{
	return sqlite3_table_column_metadata(db, NULL, name, NULL, NULL, NULL,
	                                     NULL, NULL, NULL) == SQLITE_OK;
}

/* Run `sql` with ?1 = id; *count gets the first column of its one row. */
static int count_of(sqlite3 *db, const char *sql, int64_t id, int64_t *count)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	*count = step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_finalize(st);
	return step == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

static int exec_id(sqlite3 *db, const char *sql, int64_t id, int64_t *changes)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	if (changes)
		*changes = sqlite3_changes64(db);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* ---- the person --------------------------------------------------------- */

/* A customer (id > 0), or a visitor who is not one (id 0, their one
 * visitor id, the audit log's name for it as subject). */
struct person {
	int64_t id;
	char subject[48];
	char *email;
	char **visitor_ids;
	size_t n_visitor_ids;
};

static void person_clear(struct person *p)
{
	free(p->email);
	for (size_t i = 0; i < p->n_visitor_ids; i++)
		free(p->visitor_ids[i]);
	free(p->visitor_ids);
	memset(p, 0, sizeof(*p));
}

/* The customer `id`, their email and linked visitor ids (the linkage's
 * customer_links, when that migration has run); SEULA_ENOTFOUND. */
static int person_load(sqlite3 *db, int64_t id, struct person *p)
{
	memset(p, 0, sizeof(*p));
	p->id = id;
	snprintf(p->subject, sizeof(p->subject), "%lld", (long long)id);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "SELECT email FROM customers WHERE id = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st), rc = SEULA_OK;
	if (step == SQLITE_ROW && cust_col(st, 0) &&
	    !(p->email = strdup(cust_col(st, 0))))
		rc = SEULA_ENOMEM;
	else if (step != SQLITE_ROW)
		rc = step == SQLITE_DONE ? SEULA_ENOTFOUND : SEULA_EIO;
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SEULA_OK || !table_exists(db, "customer_links"))
		return rc;
	if (sqlite3_prepare_v2(db,
	                       "SELECT DISTINCT visitor_id FROM customer_links "
	                       "WHERE customer_id = ? AND visitor_id IS NOT "
	                       "NULL ORDER BY visitor_id",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	while (rc == SEULA_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		char **more = realloc(p->visitor_ids,
		                      (p->n_visitor_ids + 1) * sizeof(*more));
		char *vid = strdup(cust_col(st, 0));
		if (!more || !vid) {
			free(vid);
			if (more)
				p->visitor_ids = more;
			rc = SEULA_ENOMEM;
			break;
		}
		p->visitor_ids = more;
		p->visitor_ids[p->n_visitor_ids++] = vid;
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

/* A visitor id as the tracker stores it (core/collect.c): a UUID in
 * lower case, into out.  false when `v` is not one. */
static bool visitor_id_of(json_t *v, char out[37])
{
	const char *s = json_string_value(v);
	uuid_t u;
	if (!s || json_string_length(v) != 36 || uuid_parse(s, u) != 0)
		return false;
	uuid_unparse_lower(u, out);
	return true;
}

/* Visitor `vid` (canonical) as a person; `subject` how the audit log
 * names them (NULL: computed by the host). */
static int person_visitor(const struct seula_host *h, const char *vid,
                          const char *subject, struct person *p)
{
	memset(p, 0, sizeof(*p));
	if (subject)
		snprintf(p->subject, sizeof(p->subject), "%s", subject);
	else if (h->audit_visitor(h, vid, p->subject, sizeof(p->subject)) !=
	         SEULA_OK)
		return SEULA_EINVAL;
	p->visitor_ids = malloc(sizeof(*p->visitor_ids));
	if (!p->visitor_ids || !(p->visitor_ids[0] = strdup(vid))) {
		person_clear(p);
		return SEULA_ENOMEM;
	}
	p->n_visitor_ids = 1;
	return SEULA_OK;
}

/* The customer that visitor id `vid` is linked to (customer_links), in
 * *customer; 0 when none. */
static int visitor_customer(sqlite3 *db, const char *vid, int64_t *customer)
{
	*customer = 0;
	if (!table_exists(db, "customer_links"))
		return SEULA_OK;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT customer_id FROM customer_links WHERE "
	                       "visitor_id = ? ORDER BY customer_id LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW)
		*customer = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

static void person_subject(const struct person *p, int64_t now,
                           struct seula_subject *who)
{
	*who = (struct seula_subject){
	        .size = sizeof(*who),
	        .customer_id = p->id,
	        .audit_subject = p->subject,
	        .email = p->email,
	        .visitor_ids = (const char *const *)p->visitor_ids,
	        .n_visitor_ids = p->n_visitor_ids,
	        .now_ms = now,
	};
}

/* The legal holds of customer c (as customers.c derives them) on the day
 * :today, each true or false; an anonymisation is not held by statutory
 * retention (it keeps what the law wants, without the person). */
#define HOLD_OPEN_INVOICE                                                      \
	"EXISTS (SELECT 1 FROM customer_orders o WHERE o.customer_id = c.id "  \
	"AND o.invoice_status = 'open')"
#define HOLD_COLLECTION                                                        \
	"EXISTS (SELECT 1 FROM customer_orders o WHERE o.customer_id = c.id "  \
	"AND o.invoice_status = 'collection')"
#define HOLD_ACTIVE "c.active_contact <> 0"
#define HOLD_STATUTORY "coalesce(c.statutory_retention_until >= :today, 0)"

/* The legal holds of customer `id` on `day`, appended to `holds`.
 * `identify_only`: only those that need the person identifiable. */
static int holds_of(sqlite3 *db, int64_t id, const char *day,
                    bool identify_only, json_t *holds)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT " HOLD_OPEN_INVOICE ", " HOLD_COLLECTION
	                       ", " HOLD_ACTIVE ", " HOLD_STATUTORY
	                       " FROM customers c WHERE c.id = :id",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":id"), id);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), day,
	                  -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		static const char *const names[] = {
		        "open_invoice", "debt_collection", "active_contact",
		        "statutory_retention"};
		for (int i = 0; i < 4; i++)
			if (sqlite3_column_int(st, i) &&
			    !(identify_only && i == 3))
				json_array_append_new(holds,
				                      json_string(names[i]));
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

/* ---- requests ----------------------------------------------------------- */

/* A request (r) with its person's name as the register holds it now (c:
 * NULL once erased, or anonymised to no name), so that a list of requests
 * can be worked through without opening each person. */
#define REQUEST_COLUMNS                                                        \
	"r.id, r.type, r.customer_id, r.received_at, r.received_date, "        \
	"r.due_date, r.extended_months, r.extensions, r.status, "              \
	"r.received_by, r.handled_by, r.details, r.statement, "                \
	"r.completed_at, r.verification, nullif(trim(coalesce(c.first_name, "  \
	"'') || ' ' || coalesce(c.last_name, '')), ''), "                      \
	"nullif(c.organisation, ''), " HOLD_ENDED ", r.visitor_id, "           \
	"r.visitor_subject"
/* An erasure or anonymisation a hold refused (restricted instead) whose
 * holds have all ended: it can be carried out now, and the list of open
 * requests has it (NULL for any other request).  Not while the person
 * has an open access request (their own, or one made under a visitor id
 * since linked to them), which the erasure would wait for. */
#define HOLD_ENDED                                                             \
	"CASE WHEN r.type IN ('erasure', 'anonymisation') AND r.status = "     \
	"'restricted' AND c.id IS NOT NULL THEN NOT (" HOLD_OPEN_INVOICE       \
	" OR " HOLD_COLLECTION " OR " HOLD_ACTIVE " OR (r.type = 'erasure' "   \
	"AND " HOLD_STATUTORY ") OR EXISTS (SELECT 1 FROM "                    \
	"customer_dsr_requests a WHERE a.type = 'access' AND a.status = "      \
	"'open' AND (a.customer_id = c.id OR a.visitor_id IN (SELECT "         \
	"l.visitor_id FROM customer_links l WHERE l.customer_id = c.id)))) "   \
	"END"
#define REQUEST_FROM                                                           \
	" FROM customer_dsr_requests r LEFT JOIN customers c ON c.id = "       \
	"r.customer_id"

static json_t *request_json(sqlite3_stmt *st, const char *today)
{
	char received[32], completed[32] = "";
	cust_iso_time(sqlite3_column_int64(st, 3), received);
	if (sqlite3_column_type(st, 13) != SQLITE_NULL)
		cust_iso_time(sqlite3_column_int64(st, 13), completed);
	const char *due = cust_col(st, 5), *status = cust_col(st, 8);
	bool open = strcmp(status, "open") == 0;
	int64_t left = 0;
	bool have_left = open && dsr_days_between(today, due, &left) == 0;
	json_t *o = json_pack(
	        "{s:I, s:s, s:I, s:s, s:s, s:s, s:I, s:o, s:s, s:s, s:s, s:o, "
	        "s:b, s:s?}",
	        "id", (json_int_t)sqlite3_column_int64(st, 0), "type",
	        cust_col(st, 1), "customer_id",
	        (json_int_t)sqlite3_column_int64(st, 2), "received_at",
	        received, "received_date", cust_col(st, 4), "due_date", due,
	        "extended_months", (json_int_t)sqlite3_column_int64(st, 6),
	        "extensions", json_loads(cust_col(st, 7), 0, NULL), "status",
	        status, "received_by", cust_col(st, 9), "handled_by",
	        cust_col(st, 10), "details",
	        json_loads(cust_col(st, 11), 0, NULL), "has_statement",
	        sqlite3_column_type(st, 12) != SQLITE_NULL, "completed_at",
	        completed[0] ? completed : NULL);
	if (!o)
		return NULL;
	json_object_set_new(o, "days_left",
	                    have_left ? json_integer(left) : json_null());
	json_object_set_new(o, "overdue", json_boolean(have_left && left < 0));
	/* How the identity was verified: '' once the person is erased. */
	json_object_set_new(o, "verification", json_string(cust_col(st, 14)));
	const char *name = cust_col(st, 15), *org = cust_col(st, 16);
	json_object_set_new(o, "customer_name",
	                    name ? json_string(name) : json_null());
	json_object_set_new(o, "customer_organisation",
	                    org ? json_string(org) : json_null());
	if (sqlite3_column_type(st, 17) != SQLITE_NULL)
		json_object_set_new(o, "hold_ended",
		                    json_boolean(sqlite3_column_int(st, 17)));
	/* A visitor's request names no customer; its visitor id is null
	 * once erased, and the audit log's name for it stays. */
	const char *vid = cust_col(st, 18), *vsubject = cust_col(st, 19);
	if (sqlite3_column_type(st, 2) == SQLITE_NULL)
		json_object_set_new(o, "customer_id", json_null());
	json_object_set_new(o, "visitor_id",
	                    vid ? json_string(vid) : json_null());
	json_object_set_new(o, "visitor_subject",
	                    vsubject ? json_string(vsubject) : json_null());
	return o;
}

/* Request `id` as JSON (*out) and, when wanted, its statement (malloc'd,
 * NULL when none); SEULA_ENOTFOUND. */
static int request_load(sqlite3 *db, int64_t id, const char *today,
                        json_t **out, char **statement)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT " REQUEST_COLUMNS REQUEST_FROM
	                       " WHERE r.id = :id",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":id"), id);
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), today,
	                  -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = SEULA_OK;
	if (step == SQLITE_ROW) {
		*out = request_json(st, today);
		if (statement)
			*statement = cust_col(st, 12) ? strdup(cust_col(st, 12))
			                              : NULL;
		if (!*out || (statement && cust_col(st, 12) && !*statement)) {
			/* Nothing half-made for the caller to free. */
			json_decref(*out);
			*out = NULL;
			if (statement) {
				free(*statement);
				*statement = NULL;
			}
			rc = SEULA_ENOMEM;
		}
	} else {
		rc = step == SQLITE_DONE ? SEULA_ENOTFOUND : SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

struct new_request {
	const char *type;
	int64_t customer_id;         /* 0: a visitor's request */
	const char *visitor_id;      /* NULL: a customer's, or erased */
	const char *visitor_subject; /* a visitor's: the audit log's name */
	const char *verification;
	const char *status;
	json_t *details; /* borrowed */
	const char *staff;
	int64_t now;
	const char *zone; /* the register's: its day is the received date */
};

static int request_insert(sqlite3 *db, const struct new_request *r, int64_t *id)
{
	char day[11], due[11];
	dsr_day_of(r->zone, r->now, day);
	if (dsr_add_months(day, 1, due) != 0)
		return SEULA_EINVAL;
	char *details = json_dumps(r->details, JSON_COMPACT);
	if (!details)
		return SEULA_ENOMEM;
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO customer_dsr_requests (type, customer_id, "
	            "verification, received_at, received_date, due_date, "
	            "status, received_by, handled_by, details, completed_at, "
	            "updated_at, visitor_id, visitor_subject) VALUES (?1, ?2, "
	            "?3, ?4, ?5, ?6, ?7, ?8, ?8, ?9, CASE WHEN ?7 = 'open' "
	            "THEN "
	            "NULL ELSE ?4 END, ?4, ?10, ?11)",
	            -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, r->type, -1, SQLITE_STATIC);
		if (r->customer_id > 0)
			sqlite3_bind_int64(st, 2, r->customer_id);
		sqlite3_bind_text(st, 10, r->visitor_id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 11, r->visitor_subject, -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, r->verification, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, r->now);
		sqlite3_bind_text(st, 5, day, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 6, due, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 7, r->status, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 8, r->staff ? r->staff : "", -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 9, details, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE) {
			*id = sqlite3_last_insert_rowid(db);
			rc = SEULA_OK;
		}
	}
	sqlite3_finalize(st);
	free(details);
	return rc;
}

/* ---- carrying the rights out -------------------------------------------- */

struct ctx {
	void *instance;
	const struct seula_host *h;
	struct seula_http *http;
	sqlite3 *db;
	json_t *body;
	int64_t now;
	char today[11];
	const char *staff;
	struct person person;
	struct new_request req;
	int64_t request_id;
	json_t *reply; /* what the answer adds to "request" */
	int status;    /* the answer's HTTP status */
};

/* An audit entry about the request's person: their customer id, or the
 * audit log's name for their visitor id (never the id itself). */
static int person_audit(struct ctx *c, const char *action, const char *detail)
{
	return c->h->http_audit(c->http, action, c->person.subject, detail) ==
	                       SEULA_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

/* Check the body's keys against the type's own. */
static int check_keys(struct ctx *c, const char *const *extra)
{
	const char *key;
	json_t *v;
	json_object_foreach(c->body, key, v)
	{
		if (!strcmp(key, "type") || !strcmp(key, "customer_id") ||
		    !strcmp(key, "visitor_id") || !strcmp(key, "verification"))
			continue;
		bool known = false;
		for (size_t i = 0; extra && extra[i]; i++)
			known |= strcmp(extra[i], key) == 0;
		if (!known)
			return cust_bad_field(
			        c->h, c->http, key,
			        "not a field of this type of request");
	}
	return SEULA_OK;
}

static int set_flags(struct ctx *c, const char *sets)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "UPDATE customers SET %s, updated_at = ?2 WHERE id = ?1",
	         sets);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, c->person.id);
	sqlite3_bind_int64(st, 2, c->now);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* The supervisory authority's details in the config's [privacy]. */
static const char *const authority[] = {"authority_name", "authority_address",
                                        "authority_email", "authority_phone",
                                        "authority_website"};

/* The written statement of art. 12(4) for request c->request_id: what was
 * refused, why, and the remedies, naming the supervisory authority as
 * the config's [privacy] declares it; in Finnish, the language of the
 * register's privacy statement, and in English.  The person's data is not
 * in it.  Stored with the request; *out is malloc'd for the reply. */
static int statement_store(struct ctx *c, const char *what_fi,
                           const char *what_en, const char *reasons, char **out)
{
	char when[32], *text = NULL;
	size_t len = 0;
	cust_iso_time(c->now, when);
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return SEULA_ENOMEM;
	fprintf(f,
	        "Selvitys epäämisen syistä / Statement of reasons\n"
	        "\n"
	        "Evätty / Refused: %s / %s\n"
	        "Pyyntö / Request: %lld, vastaanotettu / received %s, "
	        "asiakasnumero / customer %lld\n"
	        "Päätös / Decided: %s, käsittelijä / by %s\n"
	        "\n"
	        "Syyt / Reasons:\n%s\n"
	        "\n"
	        "Muutoksenhaku: voit saattaa epäämisen alla mainitun "
	        "valvontaviranomaisen ratkaistavaksi tekemällä sille kantelun "
	        "(tai sen EU:n jäsenvaltion valvontaviranomaiselle, "
	        "jossa asut tai työskentelet) ja hakea muutosta "
	        "tuomioistuimelta.\n"
	        "Remedies: you may lodge a complaint about this refusal with "
	        "the supervisory authority for data protection below (or the "
	        "one of the EU member state where you live or work) and seek a "
	        "judicial remedy in court.\n",
	        what_fi, what_en, (long long)c->request_id, c->today,
	        (long long)c->person.id, when, c->staff ? c->staff : "staff",
	        reasons);
	bool named = false;
	for (size_t i = 0; i < sizeof(authority) / sizeof(authority[0]); i++) {
		const char *v = c->h->privacy_get(c->h, authority[i], 0);
		if (v) {
			fprintf(f, "%s%s\n", named ? "  " : "\n  ", v);
			named = true;
		}
	}
	if (fclose(f) != 0 || !text) {
		free(text);
		return SEULA_ENOMEM;
	}
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(c->db,
	                       "UPDATE customer_dsr_requests SET statement = "
	                       "? WHERE id = ?",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, c->request_id);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = SEULA_OK;
	}
	sqlite3_finalize(st);
	if (rc == SEULA_OK)
		*out = text;
	else
		free(text);
	return rc;
}

/* The reasons a legal hold gives, for the statement. */
static const char *hold_reason(const char *hold)
{
	static const char *const reasons[][2] = {
	        {"open_invoice",
	         "- Sinulla on maksamattomia laskuja: tiedot tarvitaan "
	         "niiden laskuttamiseen ja perimiseen.\n"
	         "  You have unpaid invoices: the data are needed to bill and "
	         "collect them (GDPR art. 17(3)(e))."},
	        {"debt_collection",
	         "- Saatava on perinnässä: tiedot tarvitaan sen perimiseen.\n"
	         "  A debt is in collection: the data are needed for it "
	         "(GDPR art. 17(3)(e))."},
	        {"active_contact",
	         "- Toimit organisaatiosi yhteyshenkilönä sen "
	         "asiakassuhteessa: tiedot tarvitaan niin kauan kuin "
	         "toimit siinä tehtävässä.\n"
	         "  You act as your organisation's contact person in its "
	         "customer relationship: the data are needed for as long as "
	         "you do (GDPR art. 17(1)(a))."},
	        {"statutory_retention",
	         "- Laki velvoittaa säilyttämään tiedot (kuten "
	         "kirjanpitolaki tositteet).\n"
	         "  The law requires the data to be kept (such as the "
	         "Accounting Act for vouchers) (GDPR art. 17(3)(b))."},
	};
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++)
		if (strcmp(hold, reasons[i][0]) == 0)
			return reasons[i][1];
	return NULL;
}

/* Customer `id`'s statutory_retention_until (YYYY-MM-DD); SEULA_ENOTFOUND
 * when it has none. */
static int statutory_until(sqlite3 *db, int64_t id, char out[11])
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT statutory_retention_until FROM customers "
	            "WHERE id = ?1",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int rc = SEULA_ENOTFOUND;
	if (sqlite3_step(st) == SQLITE_ROW) {
		const char *d = cust_col(st, 0);
		if (d && strlen(d) == 10) {
			memcpy(out, d, 11);
			rc = SEULA_OK;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* The statement of an erasure or anonymisation the holds refuse. */
static int forget_statement(struct ctx *c, enum seula_subject_op op,
                            json_t *holds, char **out)
{
	char *reasons = NULL;
	size_t len = 0, i;
	json_t *hv;
	FILE *f = open_memstream(&reasons, &len);
	if (!f)
		return SEULA_ENOMEM;
	json_array_foreach(holds, i, hv)
	{
		const char *h = json_string_value(hv);
		const char *r = hold_reason(h);
		fprintf(f, "%s\n", r ? r : h);
		/* Until when: the day the register says the law's period
		 * ends, as the staff pages show it. */
		char until[11];
		if (strcmp(h, "statutory_retention") == 0 &&
		    statutory_until(c->db, c->person.id, until) == SEULA_OK)
			fprintf(f,
			        "  Säilytettävä %s asti. / To be kept until "
			        "%s.\n",
			        until, until);
	}
	fprintf(f, "Tietosi on sen sijaan rajoitettu: niitä käytetään vain "
	           "tähän tarkoitukseen.\n"
	           "Your data are restricted instead: they are used for this "
	           "purpose only.");
	if (fclose(f) != 0 || !reasons) {
		free(reasons);
		return SEULA_ENOMEM;
	}
	bool erase = op == SEULA_SUBJECT_ERASE;
	int rc = statement_store(
	        c, erase ? "poistopyyntö" : "pyyntö tietojen anonymisoinnista",
	        erase ? "request for erasure" : "request for anonymisation",
	        reasons, out);
	free(reasons);
	return rc;
}

static int notify_list(struct ctx *c, json_t *changed, json_t **out);

/* The ids of person `p`'s open access requests, appended to `out`: a
 * customer's own, and those made under any of their visitor ids (by the
 * visitor, before the id was linked to them), whose export the erasure
 * would empty just the same. */
static int open_access_requests(sqlite3 *db, const struct person *p,
                                json_t *out)
{
	json_t *ids = json_array();
	bool ok = ids != NULL;
	for (size_t i = 0; ok && i < p->n_visitor_ids; i++)
		ok = json_array_append_new(ids,
		                           json_string(p->visitor_ids[i])) == 0;
	char *ids_text = ok ? json_dumps(ids, JSON_COMPACT) : NULL;
	json_decref(ids);
	if (!ids_text)
		return SEULA_ENOMEM;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id FROM customer_dsr_requests WHERE "
	                       "(customer_id = ?1 OR visitor_id IN (SELECT "
	                       "value FROM json_each(?2))) AND type = "
	                       "'access' AND status = 'open' ORDER BY id",
	                       -1, &st, NULL) != SQLITE_OK) {
		free(ids_text);
		return SEULA_EIO;
	}
	sqlite3_bind_int64(st, 1, p->id);
	sqlite3_bind_text(st, 2, ids_text, -1, free);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		json_array_append_new(
		        out, json_integer(sqlite3_column_int64(st, 0)));
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* Erasure and anonymisation: every plugin's data, or 409 naming the holds
 * and the customer restricted instead, with a statement of reasons.  Both
 * answer with the recipients to notify (art. 19), kept in the request:
 * an erasure deletes the disclosures that name them. */
static int do_forget(struct ctx *c, enum seula_subject_op op)
{
	int rc = check_keys(c, NULL);
	if (rc != SEULA_OK)
		return rc;
	json_t *notify = NULL;
	rc = notify_list(c, NULL, &notify);
	if (rc != SEULA_OK)
		return rc;
	json_object_set(c->req.details, "notify", notify);
	json_t *holds = json_array();
	/* The holds are the register record's: a visitor has none. */
	if (c->person.id > 0)
		rc = holds_of(c->db, c->person.id, c->today,
		              op == SEULA_SUBJECT_ANONYMISE, holds);
	if (rc == SEULA_OK && json_array_size(holds)) {
		/* The record must stay; it is kept out of every use but the
		 * one the hold is for. */
		rc = set_flags(c, "restricted = 1");
		c->req.status = "restricted";
		json_object_set_new(c->req.details, "holds", json_copy(holds));
		json_object_set_new(c->req.details, "restricted", json_true());
		c->status = 409;
		if (rc == SEULA_OK)
			rc = request_insert(c->db, &c->req, &c->request_id);
		char *statement = NULL;
		if (rc == SEULA_OK)
			rc = forget_statement(c, op, holds, &statement);
		c->reply = json_pack("{s:s, s:s, s:O, s:b, s:o, s:s?}", "error",
		                     "legal_hold", "message",
		                     "a legal hold keeps the record: it is "
		                     "restricted instead",
		                     "holds", holds, "restricted", 1, "notify",
		                     notify, "statement", statement);
		free(statement);
		json_decref(holds);
		char detail[200];
		size_t n = (size_t)snprintf(
		        detail, sizeof(detail),
		        "%s refused (request %lld): legal hold", c->req.type,
		        (long long)c->request_id);
		size_t i;
		json_t *hv;
		json_array_foreach(json_object_get(c->req.details, "holds"), i,
		                   hv)
		{
			if (n < sizeof(detail))
				n += (size_t)snprintf(detail + n,
				                      sizeof(detail) - n, " %s",
				                      json_string_value(hv));
		}
		if (n < sizeof(detail))
			snprintf(detail + n, sizeof(detail) - n,
			         "; restricted instead");
		return rc == SEULA_OK ? person_audit(c, "change", detail) : rc;
	}
	json_decref(holds);
	/* An access request still open would have nothing left to give:
	 * its export goes to the person first. */
	json_t *waiting = rc == SEULA_OK ? json_array() : NULL;
	if (waiting)
		rc = open_access_requests(c->db, &c->person, waiting);
	if (rc == SEULA_OK && json_array_size(waiting)) {
		/* Refused, and nothing recorded but this: the entry names
		 * the person, so that their own export shows it was asked. */
		char detail[200];
		size_t n = (size_t)snprintf(detail, sizeof(detail),
		                            "%s refused: access request",
		                            c->req.type);
		size_t i;
		json_t *idv;
		json_array_foreach(waiting, i, idv)
		{
			if (n < sizeof(detail))
				n += (size_t)snprintf(
				        detail + n, sizeof(detail) - n, " %lld",
				        (long long)json_integer_value(idv));
		}
		if (n < sizeof(detail))
			snprintf(detail + n, sizeof(detail) - n, " still open");
		c->status = 409;
		c->reply = json_pack(
		        "{s:s, s:s, s:o}", "error", "open_request", "message",
		        "an access request of this person is still open: give "
		        "them its export first, then erase",
		        "requests", waiting);
		json_decref(notify);
		return person_audit(c, "change", detail);
	}
	json_decref(waiting);
	if (rc != SEULA_OK) {
		json_decref(notify);
		return rc;
	}
	struct seula_subject who;
	person_subject(&c->person, c->now, &who);
	char *text = NULL, *msg = NULL;
	rc = c->h->subject_run(c->h, c->db, op, &who, &text, &msg);
	if (rc != SEULA_OK) {
		c->h->log(c->h, SEULA_LOG_ERROR, "%s of customer %lld: %s",
		          c->req.type, (long long)c->person.id,
		          msg ? msg : "failed");
		free(msg);
		json_decref(notify);
		return rc;
	}
	json_t *done = json_loads(text, 0, NULL);
	free(text);
	if (!done) {
		json_decref(notify);
		return SEULA_ENOMEM;
	}
	json_object_set(c->req.details,
	                op == SEULA_SUBJECT_ERASE ? "erased" : "anonymised",
	                done);
	c->reply =
	        json_pack("{s:o, s:o}",
	                  op == SEULA_SUBJECT_ERASE ? "erased" : "anonymised",
	                  done, "notify", notify);
	/* How the person was identified goes with them (as retention does
	 * it): their requests stay as the record of the answers, without
	 * it, and so does this one. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db,
	                       "UPDATE customer_dsr_requests SET "
	                       "verification = '' WHERE customer_id = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, c->person.id);
	rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	if (rc != SEULA_OK)
		return rc;
	c->req.verification = "";
	c->req.visitor_id = NULL; /* the subject hook took it off the others */
	rc = request_insert(c->db, &c->req, &c->request_id);
	if (rc != SEULA_OK)
		return rc;
	/* An earlier request a hold refused is answered by this one. */
	if (sqlite3_prepare_v2(
	            c->db,
	            "UPDATE customer_dsr_requests SET status = 'completed', "
	            "completed_at = ?3, handled_by = ?4, details = "
	            "json_set(details, '$.carried_out_by', ?5) WHERE "
	            "customer_id = ?1 AND status = 'restricted' AND (type = ?2 "
	            "OR (?2 = 'erasure' AND type = 'anonymisation'))",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, c->person.id);
	sqlite3_bind_text(st, 2, c->req.type, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, c->now);
	sqlite3_bind_text(st, 4, c->req.staff, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 5, c->request_id);
	rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	if (rc != SEULA_OK)
		return rc;
	/* What was deleted must not stay in WAL frames either. */
	c->h->http_truncate_wal(c->http);
	char detail[160];
	snprintf(detail, sizeof(detail),
	         "%s (request %lld): the person's data in every plugin",
	         c->req.type, (long long)c->request_id);
	return person_audit(c, "erase", detail);
}

static int do_access(struct ctx *c)
{
	int rc = check_keys(c, NULL);
	if (rc != SEULA_OK)
		return rc;
	c->req.status = "open";
	rc = request_insert(c->db, &c->req, &c->request_id);
	char path[64];
	snprintf(path, sizeof(path), "/api/dsr/%lld/export",
	         (long long)c->request_id);
	c->reply = json_pack("{s:s}", "export", path);
	return rc;
}

static int do_restriction(struct ctx *c)
{
	static const char *const keys[] = {"restricted", NULL};
	int rc = check_keys(c, keys);
	if (rc != SEULA_OK)
		return rc;
	json_t *v = json_object_get(c->body, "restricted");
	if (v && !json_is_boolean(v))
		return cust_bad_field(
		        c->h, c->http, "restricted",
		        "true (restrict, the default) or false (lift "
		        "the restriction)");
	bool on = !v || json_is_true(v);
	rc = set_flags(c, on ? "restricted = 1" : "restricted = 0");
	json_object_set_new(c->req.details, "restricted", json_boolean(on));
	/* A restriction is told to the recipients (art. 19); its lifting
	 * is told to the person, before (art. 18(3)). */
	json_t *notify = NULL;
	if (rc == SEULA_OK && on)
		rc = notify_list(c, NULL, &notify);
	if (notify) {
		json_object_set(c->req.details, "notify", notify);
		c->reply = json_pack("{s:o}", "notify", notify);
	}
	if (rc == SEULA_OK)
		rc = request_insert(c->db, &c->req, &c->request_id);
	char detail[96];
	snprintf(detail, sizeof(detail), "restriction (request %lld): %s",
	         (long long)c->request_id, on ? "restricted=on" : "lifted");
	return rc == SEULA_OK ? person_audit(c, "change", detail) : rc;
}

static int do_objection(struct ctx *c)
{
	static const char *const keys[] = {"objections", NULL};
	static const char *const kinds[][2] = {
	        {"direct_marketing", "objects_direct_marketing = 1"},
	        {"publication", "objects_publication = 1"},
	        {"profiling", "objects_profiling = 1"},
	};
	int rc = check_keys(c, keys);
	if (rc != SEULA_OK)
		return rc;
	json_t *list = json_object_get(c->body, "objections");
	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > 3)
		return cust_bad_field(
		        c->h, c->http, "objections",
		        "a list of direct_marketing, publication, "
		        "profiling");
	char sets[256] = "";
	char detail[160];
	json_t *done = json_array();
	for (size_t k = 0; k < 3; k++) {
		size_t i;
		json_t *v;
		bool named = false;
		json_array_foreach(list, i, v)
		{
			named |= json_is_string(v) &&
			         strcmp(json_string_value(v), kinds[k][0]) == 0;
		}
		if (!named)
			continue;
		if (*sets)
			strcat(sets, ", ");
		strcat(sets, kinds[k][1]);
		json_array_append_new(done, json_string(kinds[k][0]));
	}
	if (json_array_size(done) != json_array_size(list)) {
		json_decref(done);
		return cust_bad_field(c->h, c->http, "objections",
		                      "each of direct_marketing, publication, "
		                      "profiling at most once");
	}
	rc = set_flags(c, sets);
	json_object_set_new(c->req.details, "objections", done);
	if (rc == SEULA_OK)
		rc = request_insert(c->db, &c->req, &c->request_id);
	size_t n = (size_t)snprintf(
	        detail, sizeof(detail),
	        "objection (request %lld):", (long long)c->request_id);
	size_t i;
	json_t *v;
	json_array_foreach(done, i, v)
	{
		if (n < sizeof(detail))
			n += (size_t)snprintf(detail + n, sizeof(detail) - n,
			                      " %s", json_string_value(v));
	}
	return rc == SEULA_OK ? person_audit(c, "change", detail) : rc;
}

/* The recipients the changed fields were disclosed to: whom to notify
 * (art. 19).  A disclosure lists the fields it sent.  `changed` NULL:
 * every field sent, for a restriction or an erasure, which concern all
 * of them. */
static int notify_list(struct ctx *c, json_t *changed, json_t **out)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(c->db,
	                       "SELECT recipient, legal_ground, fields, "
	                       "max(disclosed_at) FROM customer_disclosures "
	                       "WHERE customer_id = ? GROUP BY recipient, "
	                       "legal_ground, fields ORDER BY recipient",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, c->person.id);
	json_t *by = json_object(), *list = json_array();
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *fields = json_loads(cust_col(st, 2), 0, NULL);
		json_t *hit = changed ? json_array() : json_copy(fields);
		size_t i, k;
		json_t *f, *g;
		if (!hit)
			hit = json_array();
		json_array_foreach(changed, i, f)
		{
			json_array_foreach(fields, k, g)
			{
				if (json_equal(f, g))
					json_array_append(hit, f);
			}
		}
		json_decref(fields);
		if (!json_array_size(hit)) {
			json_decref(hit);
			continue;
		}
		char when[32];
		cust_iso_time(sqlite3_column_int64(st, 3), when);
		json_t *r = json_object_get(by, cust_col(st, 0));
		if (!r) {
			r = json_pack("{s:s, s:[], s:[], s:s}", "recipient",
			              cust_col(st, 0), "legal_grounds",
			              "fields", "last_disclosed_at", when);
			json_object_set_new(by, cust_col(st, 0), r);
			json_array_append(list, r);
		}
		json_array_append_new(json_object_get(r, "legal_grounds"),
		                      json_string(cust_col(st, 1)));
		json_t *have = json_object_get(r, "fields");
		json_array_foreach(hit, i, f)
		{
			bool dup = false;
			json_array_foreach(have, k, g) dup |= json_equal(f, g);
			if (!dup)
				json_array_append(have, f);
		}
		if (strcmp(when, json_string_value(json_object_get(
		                         r, "last_disclosed_at"))) > 0)
			json_object_set_new(r, "last_disclosed_at",
			                    json_string(when));
		json_decref(hit);
	}
	sqlite3_finalize(st);
	json_decref(by);
	if (step != SQLITE_DONE) {
		json_decref(list);
		return SEULA_EIO;
	}
	*out = list;
	return SEULA_OK;
}

static int refuse_rectification(struct ctx *c, json_t *reasons)
{
	if (!staff_text_ok(reasons, 4000))
		return cust_bad_field(c->h, c->http, "refuse",
		                      "the reasons, 1-4000 characters of text");
	c->req.status = "refused";
	json_object_set_new(c->req.details, "refused", json_true());
	int rc = request_insert(c->db, &c->req, &c->request_id);
	if (rc != SEULA_OK)
		return rc;
	char *statement = NULL;
	rc = statement_store(c, "oikaisupyyntö", "request for rectification",
	                     json_string_value(reasons), &statement);
	if (rc != SEULA_OK)
		return rc;
	c->reply = json_pack("{s:s}", "statement", statement);
	free(statement);
	char detail[96];
	snprintf(detail, sizeof(detail),
	         "rectification refused (request %lld): statement of reasons",
	         (long long)c->request_id);
	return person_audit(c, "change", detail);
}

static int do_rectification(struct ctx *c)
{
	static const char *const keys[] = {"changes", "refuse", NULL};
	int rc = check_keys(c, keys);
	if (rc != SEULA_OK)
		return rc;
	json_t *changes = json_object_get(c->body, "changes");
	json_t *reasons = json_object_get(c->body, "refuse");
	if ((changes != NULL) == (reasons != NULL))
		return cust_bad_field(
		        c->h, c->http, "changes",
		        "give either changes (the corrected fields) "
		        "or refuse (the reasons)");
	if (reasons)
		return refuse_rectification(c, reasons);
	if (!json_is_object(changes) || json_object_size(changes) == 0)
		return cust_bad_field(c->h, c->http, "changes",
		                      "an object of the fields to correct");
	/* The record as it is, then the changes checked as the register's
	 * own routes check them. */
	char cols[1024] = "";
	size_t cn = 0;
	for (int i = 0; i < CUST_N_FIELDS; i++)
		cn += (size_t)snprintf(cols + cn, sizeof(cols) - cn, "%s%s",
		                       i ? ", " : "", cust_fields[i].column);
	char sql[1200];
	snprintf(sql, sizeof(sql), "SELECT %s FROM customers WHERE id = ?",
	         cols);
	struct cust_record old = {0}, r = {0};
	json_t *changed = json_array();
	sqlite3_stmt *st = NULL;
	rc = SEULA_EIO;
	if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, c->person.id);
	if (sqlite3_step(st) != SQLITE_ROW)
		goto out;
	rc = SEULA_OK;
	for (int i = 0; rc == SEULA_OK && i < CUST_N_FIELDS; i++) {
		const char *v = cust_col(st, i);
		if (v && (!(old.values[i] = strdup(v)) ||
		          !(r.values[i] = strdup(v))))
			rc = SEULA_ENOMEM;
	}
	sqlite3_finalize(st);
	st = NULL;
	if (rc != SEULA_OK)
		goto out;
	const char *key;
	json_t *v;
	json_object_foreach(changes, key, v)
	{
		int f = cust_field_index(key);
		const char *why = NULL;
		if (f < 0) {
			rc = cust_bad_field(c->h, c->http, key,
			                    "no such field");
			goto out;
		}
		if (json_is_null(v)) {
			free(r.values[f]);
			r.values[f] = NULL;
			continue;
		}
		if (!json_is_string(v)) {
			rc = cust_bad_field(c->h, c->http, key,
			                    "must be a string or null");
			goto out;
		}
		int set = cust_record_set(&r, f, json_string_value(v),
		                          json_string_length(v), cust_mask_ip,
		                          c->instance, &why);
		if (set == -2) {
			rc = SEULA_ENOMEM;
			goto out;
		}
		if (set) {
			rc = cust_bad_field(c->h, c->http, key, why);
			goto out;
		}
	}
	const char *field = NULL, *why = NULL;
	if (!r.values[CUST_F_SOURCE]) {
		rc = cust_bad_field(c->h, c->http, "source",
		                    "the source of the data cannot be removed");
		goto out;
	}
	if (cust_record_check(&r, &field, &why) != 0) {
		rc = cust_bad_field(c->h, c->http, field, why);
		goto out;
	}
	/* One address, one customer: refused like PATCH, nothing recorded. */
	rc = cust_email_unique(c->instance, c->http, c->db, c->person.id,
	                       old.values[CUST_F_EMAIL],
	                       r.values[CUST_F_EMAIL]);
	if (rc != SEULA_OK)
		goto out;
	char detail[1024];
	size_t dn = 0;
	for (int i = 0; rc == SEULA_OK && i < CUST_N_FIELDS; i++) {
		const char *a = old.values[i], *b = r.values[i];
		if ((a == NULL) == (b == NULL) && (!a || strcmp(a, b) == 0))
			continue;
		snprintf(sql, sizeof(sql),
		         "UPDATE customers SET %s = ?1, updated_at = ?2 WHERE "
		         "id = ?3",
		         cust_fields[i].column);
		rc = SEULA_EIO;
		if (sqlite3_prepare_v2(c->db, sql, -1, &st, NULL) ==
		    SQLITE_OK) {
			if (b)
				sqlite3_bind_text(st, 1, b, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, c->now);
			sqlite3_bind_int64(st, 3, c->person.id);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = SEULA_OK;
		}
		sqlite3_finalize(st);
		st = NULL;
		json_array_append_new(changed,
		                      json_string(cust_fields[i].name));
	}
	json_t *notify = NULL;
	if (rc == SEULA_OK)
		rc = notify_list(c, changed, &notify);
	if (rc != SEULA_OK)
		goto out;
	/* Names only: the old and new values stay out of the request log. */
	json_object_set(c->req.details, "changed", changed);
	json_object_set_new(c->req.details, "recipients_to_notify",
	                    json_integer((json_int_t)json_array_size(notify)));
	/* Where the data came from is told too (the privacy statement's
	 * promise, beyond art. 19's recipients): the source it had. */
	const char *source =
	        json_array_size(changed) ? old.values[CUST_F_SOURCE] : NULL;
	if (source)
		json_object_set_new(c->req.details, "source_to_notify",
		                    json_string(source));
	c->reply = json_pack("{s:O, s:o, s:s*}", "changed", changed, "notify",
	                     notify, "source", source);
	rc = request_insert(c->db, &c->req, &c->request_id);
	dn = (size_t)snprintf(
	        detail, sizeof(detail),
	        "rectification (request %lld):", (long long)c->request_id);
	size_t i;
	json_array_foreach(changed, i, v)
	{
		if (dn < sizeof(detail))
			dn += (size_t)snprintf(detail + dn, sizeof(detail) - dn,
			                       " %s", json_string_value(v));
	}
	if (rc == SEULA_OK)
		rc = person_audit(c, "change", detail);
out:
	sqlite3_finalize(st);
	json_decref(changed);
	cust_record_clear(&old);
	cust_record_clear(&r);
	return rc;
}

/* ---- routes ------------------------------------------------------------- */

int cust_dsr_create_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	json_t *body = cust_body_object(h, http);
	if (!body)
		return SEULA_EINVAL;
	struct ctx c = {
	        .instance = instance,
	        .h = h,
	        .http = http,
	        .db = h->http_db(http),
	        .body = body,
	        .now = h->now_ms(h),
	        .staff = h->http_user(http),
	        .status = 201,
	};
	dsr_day_of(cust_timezone(instance), c.now, c.today);
	int rc = SEULA_OK;
	json_t *type = json_object_get(body, "type");
	json_t *cid = json_object_get(body, "customer_id");
	json_t *vid = json_object_get(body, "visitor_id");
	json_t *verification = json_object_get(body, "verification");
	char visitor[37];
	size_t t = 0;
	while (json_is_string(type) && dsr_types[t] &&
	       strcmp(dsr_types[t], json_string_value(type)) != 0)
		t++;
	if (!json_is_string(type) || !dsr_types[t]) {
		rc = cust_bad_field(
		        h, http, "type",
		        "access, rectification, erasure, anonymisation, "
		        "restriction or objection");
		goto out;
	}
	if (json_is_null(cid))
		cid = NULL;
	if (json_is_null(vid))
		vid = NULL;
	if ((cid != NULL) == (vid != NULL)) {
		rc = cust_bad_field(
		        h, http, cid ? "visitor_id" : "customer_id",
		        "give one of customer_id (a customer in the "
		        "register) or visitor_id (a visitor who is "
		        "not in it)");
		goto out;
	}
	if (cid && (!json_is_integer(cid) || json_integer_value(cid) < 1)) {
		rc = cust_bad_field(h, http, "customer_id", "a customer's id");
		goto out;
	}
	/* Art. 11(2): the visitor id the person gives identifies their
	 * visits and consents, enough to see or erase them; the other
	 * rights are about the register's record, which they do not have. */
	if (vid && t != 0 && t != 2) {
		rc = cust_bad_field(h, http, "type",
		                    "a visitor id alone makes an access or "
		                    "erasure request: the other rights need a "
		                    "record in the customer register "
		                    "(customer_id)");
		goto out;
	}
	if (vid && !visitor_id_of(vid, visitor)) {
		rc = cust_bad_field(h, http, "visitor_id",
		                    "a visitor id: a UUID, as the consent "
		                    "receipt shows it");
		goto out;
	}
	if (!staff_text_ok(verification, 1000)) {
		rc = cust_bad_field(h, http, "verification",
		                    "how the person's identity was verified, "
		                    "1-1000 characters of text");
		goto out;
	}
	if (vid) {
		/* Linked, the id is a customer's: erased alone, the link
		 * and the register's record would stay, and an export would
		 * leave out the rest of what is held about them. */
		int64_t linked = 0;
		rc = visitor_customer(c.db, visitor, &linked);
		if (rc == SEULA_OK && linked > 0) {
			char msg[200], detail[96];
			snprintf(msg, sizeof(msg),
			         "the visitor id is linked to customer %lld: "
			         "make "
			         "the request for customer_id %lld, which "
			         "covers "
			         "their visitor ids too",
			         (long long)linked, (long long)linked);
			snprintf(detail, sizeof(detail),
			         "data subject request by a linked visitor id");
			rc = cust_audit(h, http, "read", linked, detail);
			if (rc == SEULA_OK)
				rc = cust_reply_json(
				        h, http, 409,
				        json_pack("{s:s, s:s, s:I}", "error",
				                  "linked_visitor", "message",
				                  msg, "customer_id",
				                  (json_int_t)linked));
			goto out;
		}
		if (rc == SEULA_OK)
			rc = person_visitor(h, visitor, NULL, &c.person);
	} else {
		rc = person_load(c.db, json_integer_value(cid), &c.person);
	}
	if (rc == SEULA_ENOTFOUND) {
		rc = cust_refuse(h, http, 404, "not_found", "no such customer");
		goto out;
	}
	if (rc != SEULA_OK)
		goto out;
	c.req = (struct new_request){
	        .type = dsr_types[t],
	        .customer_id = c.person.id,
	        .visitor_id = c.person.id ? NULL : c.person.visitor_ids[0],
	        .visitor_subject = c.person.id ? NULL : c.person.subject,
	        .verification = json_string_value(verification),
	        .status = "completed",
	        .details = json_object(),
	        .staff = c.staff,
	        .now = c.now,
	        .zone = cust_timezone(instance),
	};
	if (!c.req.details) {
		rc = SEULA_ENOMEM;
		goto out;
	}
	switch (t) {
	case 0: rc = do_access(&c); break;
	case 1: rc = do_rectification(&c); break;
	case 2: rc = do_forget(&c, SEULA_SUBJECT_ERASE); break;
	case 3: rc = do_forget(&c, SEULA_SUBJECT_ANONYMISE); break;
	case 4: rc = do_restriction(&c); break;
	default: rc = do_objection(&c); break;
	}
	if (rc != SEULA_OK)
		goto out;
	if (!c.request_id) { /* refused before it was recorded */
		json_t *answer = c.reply;
		c.reply = NULL;
		rc = cust_reply_json(h, http, c.status, answer);
		goto out;
	}
	char detail[128];
	snprintf(detail, sizeof(detail), "request %lld: %s received",
	         (long long)c.request_id, c.req.type);
	rc = person_audit(&c, "dsr", detail);
	json_t *request = NULL;
	if (rc == SEULA_OK)
		rc = request_load(c.db, c.request_id, c.today, &request, NULL);
	if (rc != SEULA_OK)
		goto out;
	json_t *answer = c.reply ? c.reply : json_object();
	c.reply = NULL;
	json_object_set_new(answer, "request", request);
	if (c.status == 201) {
		char loc[48];
		snprintf(loc, sizeof(loc), "/api/dsr/%lld",
		         (long long)c.request_id);
		h->http_set_header(http, "Location", loc);
	}
	/* A 409 for a hold still commits: the restriction and the request's
	 * record are what the refusal is. */
	rc = cust_reply_json(h, http, c.status, answer);
out:
	json_decref(c.reply);
	json_decref(c.req.details);
	person_clear(&c.person);
	json_decref(body);
	return rc;
}

int cust_dsr_list_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	const char *status = h->http_query(http, "status");
	const char *cs = h->http_query(http, "customer_id");
	const char *vs = h->http_query(http, "visitor_id");
	int64_t customer = 0;
	char visitor[37] = "", pseudonym[48] = "";
	if (status && strcmp(status, "open") && strcmp(status, "completed") &&
	    strcmp(status, "refused") && strcmp(status, "restricted"))
		return cust_refuse(h, http, 400, "invalid_query",
		                   "status is open, completed, refused or "
		                   "restricted");
	if (cs && !parse_id(cs, &customer))
		return cust_refuse(h, http, 400, "invalid_query",
		                   "customer_id is a customer's id");
	if (cs && vs)
		return cust_refuse(h, http, 400, "invalid_query",
		                   "give one of customer_id or visitor_id: a "
		                   "visitor's request names no customer");
	if (vs) {
		/* As the request was made: any case, kept in lower case. */
		json_t *v = json_string(vs);
		bool ok = v && visitor_id_of(v, visitor);
		json_decref(v);
		if (!ok)
			return cust_refuse(
			        h, http, 400, "invalid_query",
			        "visitor_id is a visitor id: a UUID, "
			        "as the consent receipt shows it");
		if (h->audit_visitor(h, visitor, pseudonym,
		                     sizeof(pseudonym)) != SEULA_OK)
			return SEULA_EIO;
	}
	char today[11];
	dsr_day_of(cust_timezone(instance), h->now_ms(h), today);
	sqlite3_stmt *st = NULL;
	/* Open requests first, the nearest deadline first; an erasure whose
	 * hold has ended is open again, to be carried out. */
	if (sqlite3_prepare_v2(h->http_db(http),
	                       "SELECT " REQUEST_COLUMNS REQUEST_FROM
	                       " WHERE (:status IS NULL OR r.status = :status "
	                       "OR (:status = 'open' AND " HOLD_ENDED
	                       ")) AND (:customer = 0 OR r.customer_id = "
	                       ":customer) AND (:visitor IS NULL OR "
	                       "r.visitor_id = :visitor OR "
	                       "r.visitor_subject = :pseudonym) ORDER BY "
	                       "r.status <> 'open' AND "
	                       "NOT coalesce(" HOLD_ENDED
	                       ", 0), r.due_date, r.id DESC LIMIT 1000",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	if (status)
		sqlite3_bind_text(st,
		                  sqlite3_bind_parameter_index(st, ":status"),
		                  status, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":customer"),
	                   customer);
	/* The pseudonym stays when their erasure clears the id: the record
	 * of that answer is found by the id they give again. */
	if (vs) {
		sqlite3_bind_text(st,
		                  sqlite3_bind_parameter_index(st, ":visitor"),
		                  visitor, -1, SQLITE_STATIC);
		sqlite3_bind_text(
		        st, sqlite3_bind_parameter_index(st, ":pseudonym"),
		        pseudonym, -1, SQLITE_STATIC);
	}
	sqlite3_bind_text(st, sqlite3_bind_parameter_index(st, ":today"), today,
	                  -1, SQLITE_STATIC);
	json_t *list = json_array();
	/* Every customer the list names (core/subject.c finds each). */
	sqlite3_str *ids = sqlite3_str_new(NULL);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_array_append_new(list, request_json(st, today));
		/* A visitor's request by the audit log's name for them. */
		if (sqlite3_column_type(st, 2) == SQLITE_NULL)
			sqlite3_str_appendf(ids, "%s%s",
			                    sqlite3_str_length(ids) ? "," : "",
			                    cust_col(st, 19));
		else
			sqlite3_str_appendf(
			        ids, "%s%lld",
			        sqlite3_str_length(ids) ? "," : "",
			        (long long)sqlite3_column_int64(st, 2));
	}
	sqlite3_finalize(st);
	int rc = step == SQLITE_DONE && sqlite3_str_errcode(ids) == SQLITE_OK
	                 ? SEULA_OK
	                 : SEULA_EIO;
	char *id_list = sqlite3_str_finish(ids);
	/* A search by visitor id is about that visitor even when it finds
	 * nothing (as a consent history read by it is): the entry names
	 * them by the audit log's pseudonym, never by the id. */
	if (rc == SEULA_OK && (json_array_size(list) || vs)) {
		char detail[96];
		snprintf(detail, sizeof(detail), "data subject requests%s: %zu",
		         vs ? " by visitor id" : "", json_array_size(list));
		rc = h->http_audit(http, "read",
		                   json_array_size(list) ? id_list : pseudonym,
		                   detail) == SEULA_OK
		             ? SEULA_OK
		             : SEULA_EIO;
	}
	sqlite3_free(id_list);
	if (rc != SEULA_OK) {
		json_decref(list);
		return rc;
	}
	return cust_reply_json(
	        h, http, 200,
	        json_pack("{s:o, s:s}", "requests", list, "today", today));
}

/* A 404 for the {id} parameter, audited as about no one: left to the
 * core, the entry would name the request's id as its subject, which the
 * audit log reads as a customer's (and that customer's access export
 * would list it). */
static int no_request(const struct seula_host *h, struct seula_http *http,
                      const char *action)
{
	if (h->http_audit(http, action, NULL, "no such request") != SEULA_OK)
		return SEULA_EIO;
	return cust_refuse(h, http, 404, "not_found", "no such request");
}

/* The request of the {id} parameter, or a 404 set (audited as `action`). */
static int load_param(const void *instance, struct seula_http *http,
                      const char *action, json_t **request, char **statement,
                      int64_t *id)
{
	const struct seula_host *h = cust_host(instance);
	char today[11];
	dsr_day_of(cust_timezone(instance), h->now_ms(h), today);
	if (!parse_id(h->http_param(http, "id"), id))
		return no_request(h, http, action);
	int rc = request_load(h->http_db(http), *id, today, request, statement);
	if (rc == SEULA_ENOTFOUND)
		return no_request(h, http, action);
	return rc;
}

static int64_t request_customer(json_t *request)
{
	return (int64_t)json_integer_value(
	        json_object_get(request, "customer_id"));
}

/* An audit entry about the person of `request`: their customer id, or
 * for a visitor's request the audit log's name for their visitor id. */
static int request_audit(const struct seula_host *h, struct seula_http *http,
                         const char *action, json_t *request,
                         const char *detail)
{
	const char *visitor =
	        json_string_value(json_object_get(request, "visitor_subject"));
	if (visitor && !request_customer(request))
		return h->http_audit(http, action, visitor, detail) == SEULA_OK
		               ? SEULA_OK
		               : SEULA_EIO;
	return cust_audit(h, http, action, request_customer(request), detail);
}

/* A refusal about `request` (the {id} parameter's), audited under its
 * person for the same reason as no_request(). */
static int refused_audit(const struct seula_host *h, struct seula_http *http,
                         const char *action, json_t *request, int64_t id,
                         const char *what)
{
	char detail[128];
	snprintf(detail, sizeof(detail), "request %lld: %s", (long long)id,
	         what);
	return request_audit(h, http, action, request, detail);
}

int cust_dsr_get_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	json_t *request = NULL;
	char *statement = NULL;
	int64_t id;
	int rc = load_param(instance, http, "read", &request, &statement, &id);
	if (rc != SEULA_OK)
		return rc;
	json_object_set_new(request, "statement",
	                    statement ? json_string(statement) : json_null());
	free(statement);
	char detail[64];
	snprintf(detail, sizeof(detail), "data subject request %lld",
	         (long long)id);
	rc = request_audit(h, http, "read", request, detail);
	if (rc != SEULA_OK) {
		json_decref(request);
		return rc;
	}
	return cust_reply_json(h, http, 200, request);
}

int cust_dsr_statement_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	json_t *request = NULL;
	char *statement = NULL;
	int64_t id;
	int rc = load_param(instance, http, "read", &request, &statement, &id);
	if (rc != SEULA_OK)
		return rc;
	if (!statement) {
		rc = refused_audit(h, http, "read", request, id,
		                   "no statement: not refused in writing");
		json_decref(request);
		return rc == SEULA_OK
		               ? cust_refuse(h, http, 404, "no_statement",
		                             "the request was not refused "
		                             "in writing")
		               : rc;
	}
	char detail[64];
	snprintf(detail, sizeof(detail), "statement of request %lld",
	         (long long)id);
	rc = request_audit(h, http, "read", request, detail);
	json_decref(request);
	if (rc == SEULA_OK) {
		char name[80];
		snprintf(name, sizeof(name),
		         "attachment; filename=\"dsr-%lld-statement.txt\"",
		         (long long)id);
		h->http_set_header(http, "Content-Disposition", name);
		rc = h->http_reply(http, 200, "text/plain; charset=utf-8",
		                   statement, strlen(statement));
	}
	free(statement);
	return rc;
}

int cust_dsr_extend_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	json_t *request = NULL;
	int64_t id;
	int rc = load_param(instance, http, "change", &request, NULL, &id);
	if (rc != SEULA_OK)
		return rc;
	json_t *body = cust_body_object(h, http);
	json_t *reason = json_object_get(body, "reason");
	json_t *months = json_object_get(body, "months");
	const char *key;
	json_t *v;
	int64_t now = h->now_ms(h);
	char today[11], due[11];
	dsr_day_of(cust_timezone(instance), now, today);
	if (!body) {
		rc = SEULA_EINVAL;
		goto out;
	}
	json_object_foreach(body, key, v)
	{
		if (strcmp(key, "reason") && strcmp(key, "months")) {
			rc = cust_bad_field(h, http, key, "no such field");
			goto out;
		}
	}
	if (!json_is_integer(months) || json_integer_value(months) < 1 ||
	    json_integer_value(months) > DSR_MAX_EXTENSION_MONTHS) {
		rc = cust_bad_field(h, http, "months", "1 or 2");
		goto out;
	}
	if (!staff_text_ok(reason, 1000)) {
		rc = cust_bad_field(
		        h, http, "reason",
		        "why the request needs longer (the person is "
		        "told), 1-1000 characters of text");
		goto out;
	}
	const char *status =
	        json_string_value(json_object_get(request, "status"));
	int64_t had =
	        json_integer_value(json_object_get(request, "extended_months"));
	int64_t total = had + json_integer_value(months);
	if (strcmp(status, "open") != 0) {
		rc = cust_refuse(h, http, 409, "not_open",
		                 "only an open request can be extended");
		goto out;
	}
	if (total > DSR_MAX_EXTENSION_MONTHS) {
		rc = cust_refuse(
		        h, http, 409, "extension_limit",
		        "a request can be extended by two months in all");
		goto out;
	}
	/* The person must hear of an extension within the first deadline. */
	if (strcmp(today, json_string_value(
	                          json_object_get(request, "due_date"))) > 0) {
		rc = cust_refuse(
		        h, http, 409, "deadline_passed",
		        "the deadline has passed: an extension is given "
		        "before it");
		goto out;
	}
	if (dsr_add_months(json_string_value(
	                           json_object_get(request, "received_date")),
	                   1 + (int)total, due) != 0) {
		rc = SEULA_EINVAL;
		goto out;
	}
	json_t *ext = json_copy(json_object_get(request, "extensions"));
	char at[32];
	cust_iso_time(now, at);
	const char *staff = h->http_user(http);
	json_array_append_new(
	        ext, json_pack("{s:I, s:O, s:s, s:s, s:s}", "months",
	                       (json_int_t)json_integer_value(months), "reason",
	                       reason, "by", staff ? staff : "", "at", at,
	                       "due_date", due));
	char *ext_text = json_dumps(ext, JSON_COMPACT);
	json_decref(ext);
	sqlite3_stmt *st = NULL;
	sqlite3 *db = h->http_db(http);
	rc = SEULA_EIO;
	if (ext_text &&
	    sqlite3_prepare_v2(db,
	                       "UPDATE customer_dsr_requests SET due_date = "
	                       "?1, extended_months = ?2, extensions = ?3, "
	                       "handled_by = ?4, updated_at = ?5 WHERE id = ?6",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, due, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, total);
		sqlite3_bind_text(st, 3, ext_text, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, staff ? staff : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 5, now);
		sqlite3_bind_int64(st, 6, id);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = SEULA_OK;
	}
	sqlite3_finalize(st);
	free(ext_text);
	char detail[128];
	snprintf(detail, sizeof(detail),
	         "request %lld: extended by %lld month%s to %s", (long long)id,
	         (long long)json_integer_value(months),
	         json_integer_value(months) == 1 ? "" : "s", due);
	if (rc == SEULA_OK)
		rc = request_audit(h, http, "dsr", request, detail);
	json_decref(request);
	request = NULL;
	if (rc == SEULA_OK)
		rc = request_load(db, id, today, &request, NULL);
	if (rc == SEULA_OK) {
		rc = cust_reply_json(h, http, 200, request);
		request = NULL;
	}
out:
	/* Still held: the extension was refused (or failed) before it was
	 * made, an entry about the request's person all the same. */
	if (request) {
		int arc = refused_audit(h, http, "change", request, id,
		                        "not extended");
		if (rc == SEULA_OK)
			rc = arc;
	}
	json_decref(request);
	json_decref(body);
	return rc;
}

/* ---- the access export -------------------------------------------------- */

struct membuf {
	unsigned char *data;
	size_t len, cap;
};

static la_ssize_t zip_write(struct archive *ar, void *arg, const void *buf,
                            size_t n)
{
	struct membuf *m = arg;
	if (n > EXPORT_MAX_BYTES - m->len) {
		archive_set_error(ar, ENOMEM, "the export is over %u bytes",
		                  EXPORT_MAX_BYTES);
		return -1;
	}
	if (m->len + n > m->cap) {
		size_t cap = m->cap ? m->cap : 65536;
		while (cap < m->len + n)
			cap *= 2;
		unsigned char *p = realloc(m->data, cap);
		if (!p) {
			archive_set_error(ar, ENOMEM, "out of memory");
			return -1;
		}
		m->data = p;
		m->cap = cap;
	}
	memcpy(m->data + m->len, buf, n);
	m->len += n;
	return (la_ssize_t)n;
}

static int zip_add(struct archive *ar, const char *name, const void *data,
                   size_t len, time_t mtime)
{
	struct archive_entry *e = archive_entry_new();
	if (!e)
		return SEULA_ENOMEM;
	archive_entry_set_pathname(e, name);
	archive_entry_set_size(e, (la_int64_t)len);
	archive_entry_set_filetype(e, AE_IFREG);
	archive_entry_set_perm(e, 0644);
	archive_entry_set_mtime(e, mtime, 0);
	int rc = archive_write_header(ar, e) == ARCHIVE_OK &&
	                         (len == 0 ||
	                          archive_write_data(ar, data, len) ==
	                                  (la_ssize_t)len)
	                 ? SEULA_OK
	                 : SEULA_EIO;
	archive_entry_free(e);
	return rc;
}

static const char export_readme[] =
        "What this archive holds\n"
        "\n"
        "export.json   everything held about you, as one JSON document:\n"
        "              data.<component>.<table> is a list of rows\n"
        "<component>_<table>.csv\n"
        "              each of those tables as CSV (UTF-8, comma "
        "separated)\n"
        "\n"
        "core_events           page views and events recorded with your "
        "visitor id\n"
        "core_consent_records  your consent choices (the consent history)\n"
        "core_audit_log        who of our staff read or changed your data, "
        "and when\n"
        "customers_*           the customer register: your record, "
        "orders,\n"
        "                      disclosures to recipients, the postal-"
        "label\n"
        "                      exports you were on, linked visitor ids\n"
        "analytics_*           your visits of the website\n";

/* Each value of [privacy] list `key`, "- " before it, or `none`. */
static void privacy_list(FILE *f, const struct seula_host *h, const char *key,
                         const char *none)
{
	const char *v = h->privacy_get(h, key, 0);
	if (!v)
		fprintf(f, "  %s\n", none);
	/* The config's keys ("legitimate_interest") as words. */
	for (size_t i = 1; v; v = h->privacy_get(h, key, i++)) {
		fputs("  - ", f);
		for (const char *p = v; *p; p++)
			fputc(*p == '_' ? ' ' : *p, f);
		fputc('\n', f);
	}
}

/* What art. 15(1) gives a person beside their data, from the config's
 * [privacy] (as the privacy statement says it) and the record's source:
 * the README's second part (malloc'd; NULL when out of memory). */
static char *export_about(const void *instance, const char *source)
{
	const struct seula_host *h = cust_host(instance);
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	if (!f)
		return NULL;
	const char *keep = cust_retention_spec(instance);
	size_t n = strlen(keep);
	fprintf(f, "\nAbout this processing (GDPR art. 15(1)) / Tietoja "
	           "käsittelystä\n"
	           "The privacy statement on the website (/privacy) says "
	           "more. / Tietosuojaseloste verkkosivuilla kertoo lisää.\n\n"
	           "Purposes / Käyttötarkoitukset:\n");
	privacy_list(f, h, "purposes", "(see the privacy statement)");
	fprintf(f, "Legal bases / Oikeusperusteet:\n");
	privacy_list(f, h, "legal_bases", "(see the privacy statement)");
	fprintf(f, "Categories of data / Tietoryhmät:\n");
	privacy_list(f, h, "data_categories", "(the files of this archive)");
	fprintf(f, "Recipients / Vastaanottajat (what was given to whom about "
	           "you: customers_disclosures.csv):\n");
	privacy_list(f, h, "disclosures", "none");
	fprintf(f, "Processors / Henkilötietojen käsittelijät:\n");
	privacy_list(f, h, "processors", "none");
	fprintf(f, "Transfers outside the EU/EEA / Siirrot EU:n tai ETA:n "
	           "ulkopuolelle:\n");
	privacy_list(f, h, "transfers", "none");
	fprintf(f,
	        "Where your data came from / Mistä tietosi saatiin:\n"
	        "  your record: %s\n",
	        source ? source : "(no record in the register)");
	if (h->privacy_get(h, "sources", 0)) {
		fprintf(f,
		        "  the register's sources, of which yours is one:\n");
		privacy_list(f, h, "sources", "");
	}
	fprintf(f,
	        "How long it is kept / Säilytysaika:\n"
	        "  the customer register: %.*s %s after the customer "
	        "relationship ends, longer only while an open invoice, a debt "
	        "in collection or the law requires it;\n"
	        "  page views, events and consent records: as the privacy "
	        "statement says.\n",
	        (int)(n ? n - 1 : 0), keep,
	        n && keep[n - 1] == 'y'
	                ? (n == 2 && keep[0] == '1' ? "year" : "years")
	                : (n == 2 && keep[0] == '1' ? "day" : "days"));
	fprintf(f, "Your rights / Oikeutesi:\n"
	           "  to see your data (this archive) and have a copy in a "
	           "machine-readable form (export.json and the CSV files),\n"
	           "  to have it corrected, erased or its use restricted,\n"
	           "  to object to direct marketing and profiling at any "
	           "time, and to other use based on legitimate interest,\n"
	           "  to withdraw a consent at any time (the website's privacy "
	           "choices), without affecting what was done before;\n"
	           "  no decision with legal or similarly significant effect "
	           "on you is made by automated means.\n"
	           "Complaints / Valitus: the supervisory authority for data "
	           "protection");
	bool named = false;
	for (size_t i = 0; i < sizeof(authority) / sizeof(authority[0]); i++) {
		const char *v = h->privacy_get(h, authority[i], 0);
		if (v) {
			fprintf(f, "%s%s", named ? ", " : ": ", v);
			named = true;
		}
	}
	fprintf(f, "%s\n", named ? "" : " of your country");
	if (fclose(f) != 0) {
		free(text);
		return NULL;
	}
	return text;
}

/* The zip of export.json, a README (`about` after the files' list) and
 * one CSV per table of `all`. */
static int build_zip(json_t *doc, json_t *all, const char *about, time_t mtime,
                     struct membuf *m, size_t *files)
{
	struct archive *ar = archive_write_new();
	if (!ar)
		return SEULA_ENOMEM;
	int rc = SEULA_EIO;
	char *text = NULL, *readme = NULL;
	*files = 0;
	if (archive_write_set_format_zip(ar) != ARCHIVE_OK ||
	    archive_write_open(ar, m, NULL, zip_write, NULL) != ARCHIVE_OK)
		goto out;
	text = json_dumps(doc, JSON_INDENT(2) | JSON_SORT_KEYS);
	if (!text) {
		rc = SEULA_ENOMEM;
		goto out;
	}
	size_t rl = strlen(export_readme), al = strlen(about);
	readme = malloc(rl + al + 1);
	if (!readme) {
		rc = SEULA_ENOMEM;
		goto out;
	}
	memcpy(readme, export_readme, rl);
	memcpy(readme + rl, about, al + 1);
	if ((rc = zip_add(ar, "export.json", text, strlen(text), mtime)) !=
	            SEULA_OK ||
	    (rc = zip_add(ar, "README.txt", readme, rl + al, mtime)) !=
	            SEULA_OK)
		goto out;
	*files = 2;
	const char *component;
	json_t *tables;
	json_object_foreach(all, component, tables)
	{
		const char *table;
		json_t *rows;
		json_object_foreach(tables, table, rows)
		{
			if (!json_is_array(rows) || !dsr_name_ok(component) ||
			    !dsr_name_ok(table))
				continue;
			char name[160], *csv = NULL;
			size_t len = 0;
			snprintf(name, sizeof(name), "%s_%s.csv", component,
			         table);
			if (dsr_csv(rows, &csv, &len) != 0) {
				rc = SEULA_ENOMEM;
				goto out;
			}
			rc = zip_add(ar, name, csv, len, mtime);
			free(csv);
			if (rc != SEULA_OK)
				goto out;
			(*files)++;
		}
	}
	rc = archive_write_close(ar) == ARCHIVE_OK ? SEULA_OK : SEULA_EIO;
out:
	free(readme);
	free(text);
	archive_write_free(ar);
	return rc;
}

/* In export.json, the columns that hold JSON text as the JSON they hold
 * (a request's details, a consent's decisions, an event's props...), not
 * as a string of it; the CSVs keep the text, as the tables do. */
static void decode_json_columns(json_t *data)
{
	static const char *const columns[] = {
	        "details", "extensions", "decisions", "preselected",
	        "signals", "gcm",        "fields",    "props"};
	const char *component, *table;
	json_t *tables, *rows, *row;
	size_t i;
	json_object_foreach(data, component, tables)
	{
		json_object_foreach(tables, table, rows)
		{
			json_array_foreach(rows, i, row)
			{
				for (size_t k = 0;
				     k < sizeof(columns) / sizeof(columns[0]);
				     k++) {
					const char *text = json_string_value(
					        json_object_get(row,
					                        columns[k]));
					json_t *v =
					        text ? json_loads(text, 0, NULL)
					             : NULL;
					if (json_is_object(v) ||
					    json_is_array(v))
						json_object_set(row, columns[k],
						                v);
					json_decref(v);
				}
			}
		}
	}
}

int cust_dsr_export_handler(void *instance, struct seula_http *http)
{
	const struct seula_host *h = cust_host(instance);
	json_t *request = NULL;
	int64_t id;
	int rc = load_param(instance, http, "export", &request, NULL, &id);
	if (rc != SEULA_OK)
		return rc;
	sqlite3 *db = h->http_db(http);
	int64_t now = h->now_ms(h);
	struct person p = {0};
	struct membuf m = {0};
	json_t *all = NULL, *doc = NULL;
	char *text = NULL, *msg = NULL;
	if (strcmp(json_string_value(json_object_get(request, "type")),
	           "access") != 0) {
		rc = refused_audit(h, http, "export", request, id,
		                   "no export: not an access request");
		if (rc == SEULA_OK)
			rc = cust_refuse(
			        h, http, 409, "not_access",
			        "only an access request has an export");
		goto out_request;
	}
	/* A visitor's request: the visitor id, until it is erased. */
	const char *visitor =
	        json_string_value(json_object_get(request, "visitor_id"));
	const char *visitor_subject =
	        json_string_value(json_object_get(request, "visitor_subject"));
	if (!request_customer(request))
		rc = visitor ? person_visitor(h, visitor, visitor_subject, &p)
		             : SEULA_ENOTFOUND;
	else
		rc = person_load(db, request_customer(request), &p);
	if (rc == SEULA_ENOTFOUND) {
		rc = refused_audit(h, http, "export", request, id,
		                   "no export: the person has been erased");
		if (rc == SEULA_OK)
			rc = cust_refuse(
			        h, http, 410, "gone",
			        !request_customer(request)
			                ? "the visitor id has been erased since"
			                : "the customer has been erased since");
		goto out_request;
	}
	if (rc != SEULA_OK)
		goto out; /* what was loaded before it failed is freed */
	struct seula_subject who;
	person_subject(&p, now, &who);
	rc = h->subject_run(h, db, SEULA_SUBJECT_ACCESS, &who, &text, &msg);
	if (rc != SEULA_OK) {
		h->log(h, SEULA_LOG_ERROR, "access export of %s %s: %s",
		       p.id ? "customer" : "visitor", p.subject,
		       msg ? msg : "failed");
		goto out;
	}
	all = json_loads(text, 0, NULL);
	json_t *data = all ? json_deep_copy(all) : NULL;
	if (data)
		decode_json_columns(data);
	char at[32];
	cust_iso_time(now, at);
	doc = data ? json_pack("{s:s, s:s, s:o, s:s?, s:O, s:o}", "format",
	                       "seula-access-export/1", "generated_at", at,
	                       "customer_id",
	                       p.id ? json_integer((json_int_t)p.id)
	                            : json_null(),
	                       "visitor_id", p.id ? NULL : p.visitor_ids[0],
	                       "request", request, "data", data)
	           : NULL;
	if (!all || !doc) {
		rc = SEULA_ENOMEM;
		goto out;
	}
	size_t files = 0;
	const char *source = json_string_value(json_object_get(
	        json_array_get(
	                json_object_get(json_object_get(all, "customers"),
	                                "customer"),
	                0),
	        "source"));
	char *about = export_about(instance, source);
	rc = about ? build_zip(doc, all, about, (time_t)(now / 1000), &m,
	                       &files)
	           : SEULA_ENOMEM;
	free(about);
	if (rc != SEULA_OK)
		goto out;
	/* The first export answers the request; later ones are copies. */
	const char *staff = h->http_user(http);
	sqlite3_stmt *st = NULL;
	rc = SEULA_EIO;
	if (sqlite3_prepare_v2(db,
	                       "UPDATE customer_dsr_requests SET status = "
	                       "'completed', completed_at = coalesce("
	                       "completed_at, ?1), handled_by = ?2, updated_at "
	                       "= ?1 WHERE id = ?3",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, now);
		sqlite3_bind_text(st, 2, staff ? staff : "", -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, id);
		if (sqlite3_step(st) == SQLITE_DONE)
			rc = SEULA_OK;
	}
	sqlite3_finalize(st);
	char detail[128];
	snprintf(detail, sizeof(detail),
	         "access export (request %lld): %zu files, %zu bytes",
	         (long long)id, files, m.len);
	if (rc == SEULA_OK)
		rc = h->http_audit(http, "export", p.subject, detail) ==
		                     SEULA_OK
		             ? SEULA_OK
		             : SEULA_EIO;
	if (rc == SEULA_OK) {
		char name[80];
		snprintf(name, sizeof(name),
		         "attachment; filename=\"dsr-%lld-export.zip\"",
		         (long long)id);
		h->http_set_header(http, "Content-Disposition", name);
		rc = h->http_reply(http, 200, "application/zip", m.data, m.len);
	}
out:
	person_clear(&p);
out_request:
	free(text);
	free(msg);
	free(m.data);
	json_decref(all);
	json_decref(doc);
	json_decref(request);
	return rc;
}

/* ---- the subject hook --------------------------------------------------- */

/* Rows of `sql` (?1 = the customer id) as flat objects: times (columns
 * ending in _at, ms) as ISO text, blobs as hex. */
static int rows_of(sqlite3 *db, const char *sql, int64_t id, json_t *rows)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *name = sqlite3_column_name(st, i);
			size_t nl = strlen(name);
			json_t *v;
			switch (sqlite3_column_type(st, i)) {
			case SQLITE_INTEGER:
				if (nl > 3 &&
				    strcmp(name + nl - 3, "_at") == 0) {
					char t[32];
					cust_iso_time(
					        sqlite3_column_int64(st, i), t);
					v = json_string(t);
				} else {
					v = json_integer(
					        sqlite3_column_int64(st, i));
				}
				break;
			case SQLITE_FLOAT:
				v = json_real(sqlite3_column_double(st, i));
				break;
			case SQLITE_TEXT:
				v = json_string(cust_col(st, i));
				break;
			case SQLITE_BLOB: {
				const unsigned char *b =
				        sqlite3_column_blob(st, i);
				int n = sqlite3_column_bytes(st, i);
				char *hex = malloc(2 * (size_t)n + 1);
				for (int k = 0; hex && k < n; k++)
					snprintf(hex + 2 * k, 3, "%02x", b[k]);
				if (hex)
					hex[2 * n] = '\0';
				v = hex ? json_string(hex) : NULL;
				free(hex);
				break;
			}
			default: v = json_null(); break;
			}
			json_object_set_new(o, name, v);
		}
		json_array_append_new(rows, o);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

static int subject_access(sqlite3 *db, int64_t id, json_t *o)
{
	static const char *const queries[][2] = {
	        {"customer", "SELECT * FROM customers WHERE id = ?1"},
	        {"orders", "SELECT * FROM customer_orders WHERE customer_id = "
	                   "?1 ORDER BY date, id"},
	        {"order_lines", "SELECT * FROM customer_order_lines WHERE "
	                        "customer_id = ?1 ORDER BY order_id, line"},
	        {"disclosures", "SELECT * FROM customer_disclosures WHERE "
	                        "customer_id = ?1 ORDER BY id"},
	        {"label_exports", "SELECT * FROM customer_label_exports WHERE "
	                          "customer_id = ?1 ORDER BY id"},
	        /* With how their identity was checked for each (a document's
	         * number, a birth date): data about them the register keeps,
	         * until their erasure or retention empties it. */
	        {"requests",
	         "SELECT id, type, verification, received_date, due_date, "
	         "extended_months, extensions, status, handled_by, details, "
	         "statement, completed_at FROM customer_dsr_requests WHERE "
	         "customer_id = ?1 ORDER BY id"},
	        {"links",
	         "SELECT * FROM customer_links WHERE customer_id = ?1"},
	};
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < 7; i++) {
		if ((i == 4 && !table_exists(db, "customer_label_exports")) ||
		    (i == 6 && !table_exists(db, "customer_links")))
			continue;
		json_t *rows = json_array();
		json_object_set_new(o, queries[i][0], rows);
		rc = rows_of(db, queries[i][1], id, rows);
	}
	/* The linkage's keyed hash of the email is a lookup key, not data
	 * about the person: the email itself is in the export. */
	json_object_del(json_array_get(json_object_get(o, "customer"), 0),
	                "link_hash");
	return rc;
}

static int subject_erase(sqlite3 *db, int64_t id, json_t *o)
{
	static const char *const counts[][2] = {
	        {"orders",
	         "SELECT count(*) FROM customer_orders WHERE customer_id = ?1"},
	        {"order_lines", "SELECT count(*) FROM customer_order_lines "
	                        "WHERE customer_id = ?1"},
	        {"disclosures", "SELECT count(*) FROM customer_disclosures "
	                        "WHERE customer_id = ?1"},
	        {"label_exports", "SELECT count(*) FROM "
	                          "customer_label_exports WHERE customer_id = "
	                          "?1"},
	        {"links",
	         "SELECT count(*) FROM customer_links WHERE customer_id = ?1"},
	};
	int rc = SEULA_OK;
	bool links = table_exists(db, "customer_links"),
	     labels = table_exists(db, "customer_label_exports");
	for (size_t i = 0; rc == SEULA_OK && i < 5; i++) {
		int64_t n = 0;
		if ((i == 3 && !labels) || (i == 4 && !links))
			continue;
		rc = count_of(db, counts[i][1], id, &n);
		json_object_set_new(o, counts[i][0], json_integer(n));
	}
	/* Everything else goes with it: ON DELETE CASCADE. */
	int64_t n = 0;
	if (rc == SEULA_OK)
		rc = exec_id(db, "DELETE FROM customers WHERE id = ?1", id, &n);
	json_object_set_new(o, "customers", json_integer(n));
	return rc;
}

static int subject_anonymise(sqlite3 *db, int64_t id, int64_t now, json_t *o)
{
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	/* What identifies goes; country, city, segment, source, the dates
	 * and the orders (accounting law keeps them) stay.  Every flag
	 * keeping a record out of marketing, labels, exports and linkage is
	 * set. */
	if (sqlite3_prepare_v2(
	            db,
	            "UPDATE customers SET first_name = NULL, last_name = NULL, "
	            "organisation = NULL, email = NULL, street = NULL, "
	            "postal_code = NULL, phone = NULL, website = NULL, ip_anon "
	            "= NULL, restricted = 1, objects_direct_marketing = 1, "
	            "objects_publication = 1, objects_profiling = 1, "
	            "updated_at "
	            "= ?2 WHERE id = ?1",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, id);
	sqlite3_bind_int64(st, 2, now);
	if (sqlite3_step(st) == SQLITE_DONE)
		rc = SEULA_OK;
	json_object_set_new(o, "customers_anonymised",
	                    json_integer(sqlite3_changes64(db)));
	sqlite3_finalize(st);
	st = NULL;
	/* The linkage's keyed email hash, when its migration has run. */
	if (rc == SEULA_OK &&
	    sqlite3_prepare_v2(db, "SELECT link_hash FROM customers LIMIT 0",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_finalize(st);
		rc = exec_id(db,
		             "UPDATE customers SET link_hash = NULL WHERE id = "
		             "?1",
		             id, NULL);
	}
	int64_t n = 0;
	if (rc == SEULA_OK && table_exists(db, "customer_links")) {
		rc = exec_id(
		        db, "DELETE FROM customer_links WHERE customer_id = ?1",
		        id, &n);
		json_object_set_new(o, "links_deleted", json_integer(n));
	}
	return rc;
}

/* Rows of `sql` (?1 = a visitor id) for each of `who`'s visitor ids,
 * appended to `rows` (NULL: run for its changes, added to *changes). */
static int per_visitor(sqlite3 *db, const char *sql,
                       const struct seula_subject *who, json_t *rows,
                       int64_t *changes)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	int step = SQLITE_DONE;
	for (size_t i = 0; step == SQLITE_DONE && i < who->n_visitor_ids; i++) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, who->visitor_ids[i], -1,
		                  SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			json_t *o = json_object();
			for (int k = 0; rows && k < sqlite3_column_count(st);
			     k++) {
				const char *name = sqlite3_column_name(st, k);
				json_object_set_new(
				        o, name,
				        sqlite3_column_type(st, k) ==
				                        SQLITE_INTEGER
				                ? json_integer(
				                          sqlite3_column_int64(
				                                  st, k))
				        : cust_col(st, k)
				                ? json_string(cust_col(st, k))
				                : json_null());
			}
			if (rows)
				json_array_append_new(rows, o);
			else
				json_decref(o);
		}
		if (step == SQLITE_DONE && changes)
			*changes += sqlite3_changes64(db);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* What the register holds under visitor ids rather than a customer:
 * requests made by a visitor id, and a visitor id two customers
 * identified as.  Exported for a visitor who is not a customer (a
 * customer's linked ids are never shared, and their requests are the
 * customer's); erasure and anonymisation take the ids off both, for a
 * customer's linked ids too: the requests stay as the record of having
 * answered, without the id or how its holder was identified, and a
 * shared id, kept only while it has events (linkage.c), has none. */
static int subject_visitor_ids(sqlite3 *db, enum seula_subject_op op,
                               const struct seula_subject *who, json_t *o)
{
	bool shared = table_exists(db, "customer_link_shared");
	int rc = SEULA_OK;
	if (op == SEULA_SUBJECT_ACCESS) {
		if (who->customer_id > 0)
			return SEULA_OK;
		json_t *requests = json_array(), *ids = json_array();
		json_object_set_new(o, "requests", requests);
		rc = per_visitor(
		        db,
		        "SELECT id, type, visitor_id, verification, "
		        "received_date, due_date, extended_months, extensions, "
		        "status, handled_by, details, statement, "
		        "strftime('%Y-%m-%dT%H:%M:%SZ', completed_at / 1000, "
		        "'unixepoch') AS completed_at FROM "
		        "customer_dsr_requests WHERE visitor_id = ?1 ORDER BY "
		        "id",
		        who, requests, NULL);
		if (shared) {
			json_object_set_new(o, "shared_visitor_ids", ids);
			if (rc == SEULA_OK)
				rc = per_visitor(
				        db,
				        "SELECT visitor_id, strftime('%Y-%m-%dT"
				        "%H:%M:%SZ', since / 1000, "
				        "'unixepoch') "
				        "AS since FROM customer_link_shared "
				        "WHERE visitor_id = ?1",
				        who, ids, NULL);
		} else {
			json_decref(ids);
		}
		return rc;
	}
	int64_t requests = 0, ids = 0;
	rc = per_visitor(db,
	                 "UPDATE customer_dsr_requests SET visitor_id = NULL, "
	                 "verification = '' WHERE visitor_id = ?1",
	                 who, NULL, &requests);
	if (rc == SEULA_OK && shared)
		rc = per_visitor(db,
		                 "DELETE FROM customer_link_shared WHERE "
		                 "visitor_id = ?1",
		                 who, NULL, &ids);
	if (rc == SEULA_OK && who->customer_id == 0) {
		json_object_set_new(o, "visitor_requests_unidentified",
		                    json_integer(requests));
		json_object_set_new(o, "shared_visitor_ids_deleted",
		                    json_integer(ids));
	}
	return rc;
}

int cust_dsr_subject(void *instance, sqlite3 *db, enum seula_subject_op op,
                     const struct seula_subject *who, char **json_out,
                     char **errmsg)
{
	const struct seula_host *h = cust_host(instance);
	json_t *o = json_object();
	int rc = o ? SEULA_OK : SEULA_ENOMEM;
	if (rc == SEULA_OK && who->customer_id > 0) {
		switch (op) {
		case SEULA_SUBJECT_ACCESS:
			rc = subject_access(db, who->customer_id, o);
			break;
		case SEULA_SUBJECT_ERASE:
			rc = subject_erase(db, who->customer_id, o);
			break;
		case SEULA_SUBJECT_ANONYMISE:
			rc = subject_anonymise(db, who->customer_id,
			                       who->now_ms, o);
			break;
		default: rc = SEULA_EINVAL; break;
		}
	}
	if (rc == SEULA_OK && who->n_visitor_ids)
		rc = subject_visitor_ids(db, op, who, o);
	char *text = rc == SEULA_OK ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (rc == SEULA_OK && text)
		*json_out = h->mprintf("%s", text);
	if (rc == SEULA_OK && !*json_out)
		rc = SEULA_ENOMEM;
	if (rc != SEULA_OK && rc != SEULA_ENOMEM)
		*errmsg = h->mprintf("the register: %s", sqlite3_errmsg(db));
	free(text);
	return rc;
}
