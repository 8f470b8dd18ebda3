/*
 * dsr.h - the data subject rights of the customer register: requests, their
 * deadlines, and carrying each right out across every plugin.  Part of the
 * customers plugin; customers.c wires the routes and the subject hook into
 * its descriptor.
 *
 * Requests (customer_dsr_requests, migration 2): type, customer id, how
 * the person's identity was verified, received (ms and UTC day), due date
 * (one calendar month after receipt, extended by up to two more with a
 * reason: dsrutil.h), status (open, completed, refused, restricted), who
 * received and who last handled it, details (JSON: the field names, flags,
 * holds and counts of what was done, never the person's data), and a
 * refusal's written statement.  The customer id has no foreign key: the
 * request is the controller's record of having answered, and outlives an
 * erased customer, whose id then names no one (like the audit log's).
 *
 * A visitor who is not in the register (migration 7) makes an access or
 * erasure request with the visitor id the consent receipt shows them
 * (GDPR art. 11(2)): {"type", "visitor_id", "verification"} instead of
 * customer_id.  The request keeps the id (visitor_id, NULL once erased)
 * and how the audit log names it (visitor_subject, host->audit_visitor),
 * which is its subject in every audit entry, so that the id itself is
 * nowhere once they are erased.  The core and every plugin find their
 * data by that id, as they find a customer's linked ids.  An id linked
 * to a customer answers 409 linked_visitor naming the customer: the
 * request is theirs to make, or the link and the record would stay.
 *
 * Routes (admin, customer_service; every step audited with the customer id
 * as subject, or a visitor's audit name):
 *   POST /api/dsr                {"type", "customer_id"|"visitor_id",
 *                                "verification", ...}
 *        access         the request, open until its export is fetched
 *        rectification  {"changes": {field: value|null}}: applied; the
 *                       answer lists the recipients the changed fields
 *                       were disclosed to ("notify"); or {"refuse":
 *                       "reasons"}: a written statement, stored
 *        erasure        every plugin's data (host->subject_run ERASE),
 *                       the WAL truncated after the commit; 409
 *                       {"error": "legal_hold", "holds": [...]} and the
 *                       customer restricted instead when a hold applies
 *        anonymisation  host->subject_run ANONYMISE, where erasure is not
 *                       wanted or not possible; 409 like erasure when a
 *                       hold needs the person identifiable (open invoice,
 *                       collection, active contact)
 *        restriction    {"restricted": true|false} (default true)
 *        objection      {"objections": ["direct_marketing", "publication",
 *                       "profiling"]}
 *   GET  /api/dsr?status=&customer_id=   the requests, with days left
 *   GET  /api/dsr?visitor_id=            a visitor's requests (a UUID, any
 *                                case; erased ones by their pseudonym)
 *   GET  /api/dsr/{id}
 *   POST /api/dsr/{id}/extend    {"months": 1|2, "reason": "..."}
 *   GET  /api/dsr/{id}/export    the access export: a zip of export.json
 *                                and one CSV per table (audited "export")
 *   GET  /api/dsr/{id}/statement a refusal's statement, text/plain
 *
 * The subject hook (ABI 1.3) answers for the register: the customer row,
 * orders and their lines, disclosures, visitor links and the person's own
 * requests (access); erasure deletes the customer, and with it (ON DELETE
 * CASCADE) orders, lines, disclosures and links; anonymisation clears the
 * identifying fields, keeps orders for statistics, drops the links and
 * sets every flag that keeps the record out of marketing.  For a visitor
 * it exports their requests and their id in customer_link_shared; both
 * erasure and anonymisation clear the visitor ids (and verification) of
 * the requests that name them and delete them from customer_link_shared.
 */
#ifndef CUST_DSR_H
#define CUST_DSR_H

#include <seula/plugin.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The migration of the requests table (customers.c lists it as 2), and
 * the one that lets a request name a visitor instead of a customer
 * (customers.c lists it as 7). */
extern const char cust_dsr_migration_sql[];
extern const char cust_dsr_visitor_migration_sql[];

/* What customers.c lends the rights: the host table of the plugin
 * instance, and its IP masking (the register's ip_level). */
const struct seula_host *cust_host(const void *instance);
/* The register's time zone ([plugin.customers] timezone): its days are
 * a request's received and due dates. */
const char *cust_timezone(const void *instance);
/* The register's retention after a relationship ends ("10y", "3650d"). */
const char *cust_retention_spec(const void *instance);
int cust_mask_ip(void *instance, const char *in, char *out, size_t outlen);
/* Whether customer `id` may change address `old` to `email` (either NULL:
 * none): SEULA_OK when they are one address as linkage compares them, or
 * no other customer has `email`; else SEULA_EINVAL after answering 409
 * duplicate_email naming the holder (audited as a read of theirs), as
 * PUT and PATCH do; SEULA_EIO. */
int cust_email_unique(const void *instance, struct seula_http *http,
                      sqlite3 *db, int64_t id, const char *old,
                      const char *email);

/* The descriptor's subject hook. */
int cust_dsr_subject(void *instance, sqlite3 *db, enum seula_subject_op op,
                     const struct seula_subject *who, char **json_out,
                     char **errmsg);

/* Route handlers; `instance` is the customers plugin's. */
int cust_dsr_create_handler(void *instance, struct seula_http *http);
int cust_dsr_list_handler(void *instance, struct seula_http *http);
int cust_dsr_get_handler(void *instance, struct seula_http *http);
int cust_dsr_extend_handler(void *instance, struct seula_http *http);
int cust_dsr_export_handler(void *instance, struct seula_http *http);
int cust_dsr_statement_handler(void *instance, struct seula_http *http);

#endif
