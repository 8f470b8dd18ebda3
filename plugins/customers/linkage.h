/*
 * linkage.h - joining a consenting visitor's visits to the customer they
 * identified as, the segment reports built on it, and the register's
 * retention task.  Part of the customers plugin; customers.c wires these
 * into its descriptor.
 *
 * The flow of an identify event, `seula('event', 'identify', {email: ...})`:
 *   loop (filter stage, cust_link_on_event): the email is taken out of the
 *     props before anything is stored; in its place goes "identity", the
 *     BLAKE2b of the normalised address keyed with the register's link key.
 *   writer (cust_link_on_batch, in the batch's transaction): the stored
 *     row loses "identity" again, so the events table keeps neither the
 *     address nor its pseudonym; then the visitor id is linked to the one
 *     customer whose email has that keyed hash (customers.link_hash), when
 *     the visitor's current consent (consent_visitors) grants marketing
 *     (unless the request carried Sec-GPC: 1, an objection to it) or
 *     personalization and has not expired, and the customer is neither
 *     restricted nor objecting to profiling.  The link records the consent
 *     receipt that allowed it.  A visitor id that identifies as a second
 *     registered customer is shared (customer_link_shared): its link is
 *     removed and it is linked to no one while it has events.
 *
 * The link key (customer_link_key) is made once by the start task and
 * loaded by it before the server listens; every process sharing the
 * database uses the same one, so hashes stay comparable.
 *
 * Threads: on_event on the loop threads (reads the key only); on_batch,
 * the tasks and the segments route as the ABI says.  Ownership: `cfg`
 * and `host` are borrowed and must outlive the struct cust_link.
 */
#ifndef CUST_LINKAGE_H
#define CUST_LINKAGE_H

#include <seula/plugin.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The custom event that links, and the prop that names the person. */
#define CUST_IDENTIFY_EVENT "identify"
#define CUST_IDENTIFY_PROP "email"

/* The plugin's config rows for these (in struct customers_config). */
struct cust_link_settings {
	const char *retention;          /* "10y", see cust_retention.h */
	const char *timezone;           /* the register's days: an IANA zone */
	int64_t segment_min_customers;  /* k */
	const char *const *conversions; /* event names; NULL: all custom */
};

struct cust_link;

int cust_link_new(const struct seula_host *host,
                  const struct cust_link_settings *cfg, struct cust_link **out,
                  char **errmsg);
void cust_link_free(struct cust_link *l);

enum seula_verdict cust_link_on_event(struct cust_link *l,
                                      struct seula_event *ev);
int cust_link_on_batch(struct cust_link *l, sqlite3 *db,
                       struct seula_event *const *events, size_t n,
                       char **errmsg);

/* An email address as linkage compares addresses: trimmed of spaces and
 * tabs, ASCII in lower case (the register keeps addresses as typed).
 * false when `s` (len bytes, NULL allowed) is no address; else out (not
 * terminated, personal data: the caller wipes it) and *out_len. */
#define CUST_EMAIL_MAX 254
bool cust_email_normalise(const char *s, size_t len, char out[CUST_EMAIL_MAX],
                          size_t *out_len);

/* The lowest id of a customer other than `except` (0: none) whose email
 * is `email` as cust_email_normalise() compares them, in *found, or 0
 * when there is none (or `email` is NULL or no address).  Hashes the
 * emails not yet hashed first, so an identify event and this agree: the
 * writer's connection, in its transaction.  SEULA_OK or SEULA_EIO. */
int cust_link_find_email(struct cust_link *l, sqlite3 *db, const char *email,
                         int64_t except, int64_t *found);

/* Task "customers-link-key": makes or loads the key (at start), and
 * computes the keyed hashes of emails that have none yet. */
int cust_link_key_task(struct cust_link *l, sqlite3 *db, int64_t now_ms,
                       char **errmsg);
/* Task "customers-retention": cust_retention.h's run, logged with counts. */
int cust_link_retention_task(struct cust_link *l, sqlite3 *db, int64_t now_ms,
                             char **errmsg);

/* GET /api/segments?by=organisation|segment&from=&to=&site= (reader). */
int cust_segments_handler(struct cust_link *l, struct seula_http *http);

#endif
