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
