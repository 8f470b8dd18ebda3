/*
 * subject.h - data subject rights across the core and every plugin: the
 * function behind host->subject_run (ABI 1.3), and the core's own part.
 *
 * The core holds three kinds of data about a person, all found through the
 * tracker visitor ids linked to them (and, for the audit log, the customer
 * id):
 *   events           raw events with one of the visitor ids: exported;
 *                    deleted on erasure; on anonymisation the visitor id is
 *                    cleared and the event stays as a cookieless one
 *   consent records  the consent history: exported; on erasure and
 *                    anonymisation the personal fields (visitor id,
 *                    address, page) are cleared and erased_at set, which
 *                    the chain allows (pii_mac), and the visitor's consent
 *                    state row is deleted; the rest stays as proof
 *   audit log        the entries about the person (who read or changed
 *                    their data): exported, never deleted, since they are
 *                    the accountability record; their subject is the
 *                    customer id, which after erasure names no one, or
 *                    one of the visitor ids or their consent receipts;
 *                    a CSV import names its customers by an id range
 *
 * Ownership: `who` is borrowed; *out is a new JSON reference the caller
 * decrefs.  Errors are returned with a message in err, never logged.
 */
#ifndef SEULA_SUBJECT_H
#define SEULA_SUBJECT_H

#include "loader.h"

#include <jansson.h>
#include <seula/plugin.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The audit log entries about a person, one condition on audit_log's
 * columns, for their access export and for GET /api/audit?subject=: their
 * customer id as the subject, :subject, or a list that names it (a
 * search's "3,17,42", an export's or an import's "3-17,42";
 * seula_subject_has()); one of :visitors, a JSON array of their visitor
 * ids and those ids' pseudonyms (seula_consent_audit_visitor(): entries
 * before the pseudonym named them, and as the log names them now), or one
 * of those ids' consent receipts (a consent history read, GET
 * /api/consent/records?receipt=); or a CSV import of customer :customer
 * (0: none) logged before imports named their ids as the subject.
 *
 * An import is one entry for all its customers, without a subject, its
 * ids in the detail as the customers plugin writes it ("import: 100
 * customers, ids 10126-10225"; they are consecutive, made in one
 * transaction).  It is found by that range rather than by an entry per
 * customer: the log is append-only, so the imports already logged can
 * only be found so, and an entry per customer would not fit a request's
 * audit notes.  Bind the parameters with seula_subject_audit_bind(). */
#define SEULA_SUBJECT_AUDIT_MATCH                                              \
	"(seula_subject_has(subject, :subject) OR subject IN (SELECT value "   \
	"FROM json_each(:visitors)) OR subject IN (SELECT receipt FROM "       \
	"consent_records WHERE visitor_id IN (SELECT value FROM "              \
	"json_each(:visitors))) OR (:customer > 0 AND coalesce(subject, '') "  \
	"= '' AND route = 'POST /api/customers/import' AND outcome = 'ok' "    \
	"AND detail GLOB 'import: [0-9]* customers, ids [0-9]*-[0-9]*' AND "   \
	":customer BETWEEN CAST(substr(detail, instr(detail, ', ids ') + 6) "  \
	"AS INTEGER) AND CAST(substr(detail, length(rtrim(detail, "            \
	"'0123456789')) + 1) AS INTEGER)))"

/* Bind SEULA_SUBJECT_AUDIT_MATCH's parameters in `st` for `who` (its
 * audit_subject, visitor_ids and customer_id); `key` is the server's
 * secret (SEULA_SECRET_BYTES) the pseudonyms are keyed with, NULL for the
 * ids themselves.  SEULA_ENOMEM, SEULA_EIO (sqlite3_errmsg() says). */
int seula_subject_audit_bind(sqlite3_stmt *st, const unsigned char *key,
                             const struct seula_subject *who);

/* The visitor ids linked to customer `customer_id`: the customers
 * plugin's customer_links, which the core reads only when it is there
 * (none when the plugin has never been loaded).  *out is an array of *n
 * strings the caller frees with seula_subject_visitors_free().  SEULA_EIO,
 * SEULA_ENOMEM. */
int seula_subject_customer_visitors(sqlite3 *db, int64_t customer_id,
                                    char ***out, size_t *n);
void seula_subject_visitors_free(char **ids, size_t n);

/* The core's part of `op` for `who` on `db` (inside the caller's write
 * transaction for ERASE and ANONYMISE): *out is {"events": ..., ...}.
 * `key`: the server's secret key (SEULA_SECRET_BYTES), which erased
 * consent records are signed with; NULL refuses ERASE and ANONYMISE. */
int seula_subject_core(sqlite3 *db, const unsigned char *key,
                       enum seula_subject_op op,
                       const struct seula_subject *who, json_t **out, char *err,
                       size_t errlen);

/* The core's part, then every plugin of `plugins` with a subject hook in
 * config order: *out is {"core": {...}, "NAME": {...}}.  Stops at the
 * first failure (err names the component); the caller rolls back. */
int seula_subject_run(const struct seula_plugins *plugins,
                      const unsigned char *key, sqlite3 *db,
                      enum seula_subject_op op, const struct seula_subject *who,
                      json_t **out, char *err, size_t errlen);

#endif
