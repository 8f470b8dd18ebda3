/*
 * audit.h - the audit log: who did what to which data, when, from where,
 * with what outcome.  Append-only (triggers refuse UPDATE and DELETE) and
 * hash-chained: each row carries a BLAKE2b MAC, keyed with the server's
 * secret, over the previous row's MAC and its own fields, and a keyed head
 * records the last row, so an edit, a deletion, an insertion or a cut tail
 * in the database file is found by seula_audit_verify() even by someone who
 * can recompute plain hashes.
 */
#ifndef SEULA_AUDIT_H
#define SEULA_AUDIT_H

#include "chain.h"
#include "secret.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seula_audit_entry {
	int64_t ts_ms;
	int64_t staff_id;       /* 0: nobody signed in */
	const char *staff_name; /* NULL when none */
	const char *ip_anon;    /* masked address of the client */
	const char *action;     /* login, login_failed, logout, read, change,
	                         * user_add, ... */
	const char *route;      /* e.g. "GET /api/customers/{id}" */
	const char *subject;    /* whose data: an id, a list (below), NULL
	                         * when none */
	const char *outcome;    /* ok, failed, denied, error */
	const char *detail;     /* free text, NULL when none */
};

/* Append inside the caller's open write transaction. */
int seula_audit_append(sqlite3 *db, const unsigned char key[SEULA_SECRET_BYTES],
                       const struct seula_audit_entry *e, char *err,
                       size_t errlen);

/* SEULA_OK when the whole chain verifies, SEULA_ECONFLICT when it does not
 * (see report), another error when it cannot be read. */
int seula_audit_verify(sqlite3 *db, const unsigned char key[SEULA_SECRET_BYTES],
                       struct seula_chain_report *report);

/* Whether an entry's subject names `id`.  A subject is one id (a
 * customer's, "visitor:<hash>", a receipt) or the comma list of everyone
 * a list or an export showed, a run of consecutive customer ids written
 * as a range: "3,17-42,50".  An element matches whole ("1" is not "11");
 * a range holds a number id from its first to its last; the whole list
 * matches itself. */
bool seula_audit_subject_has(const char *subject, const char *id);

/* seula_audit_subject_has() as the SQL function seula_subject_has(subject,
 * id) on db (seula_db_open() does it for every connection). */
int seula_audit_sql_register(sqlite3 *db);

#endif
