/*
 * consent.h - the consent banner's backend: its texts, the chained consent
 * records, and the gate that keeps of each event only what the visitor's
 * consent allows.
 *
 * Routes (all core, in seula_consent_routes):
 *   GET  /api/consent/config?site=&lang=  the banner's texts and settings;
 *        texts_hash is BLAKE2b-256 of the exact "texts" JSON served, which
 *        is also stored (consent_texts) once per site, version and language;
 *        texts_hashes has every language's, for a choice made in another.
 *   POST /api/consent                     one choice; 201 with the receipt
 *        after the commit, 409 stale_policy when the version or texts are
 *        no longer current, 400 on anything malformed (nothing stored).
 *   POST /api/consent/shown               the banner was displayed (a count).
 *   GET  /api/consent/{receipt}           the record and the texts shown.
 *   GET  /api/consent/records?visitor_id=|receipt=   (staff) a person's
 *        whole history; POST /api/consent/records (staff) a choice given
 *        through a staff member, recorded with their name.
 *   GET  /api/consent/stats?site=&from=&to=&tz=  (staff) daily counts and
 *        opt-in rates.
 *
 * Records (DESIGN.md, "Consent") form a chain keyed with the server secret,
 * like the audit log, plus an anchor for the prefix the retention task has
 * removed; seula_consent_verify() finds an edited, deleted or inserted row.
 * Each visitor's standing consent (consent_visitors, what the gate and the
 * customers plugin read) is its latest record's, kept with the record's id
 * and a MAC keyed with the same secret; the verifier checks it against the
 * records.
 *
 * The gate (seula_consent_gate, for seula_store_set_gate) runs on the
 * writer: a visitor id is kept only while the latest committed record for
 * it grants analytics, has not expired and is of the site's policy
 * version and texts (in exempt mode: unless such a record refuses it),
 * and only by a standing consent that is signed and of that latest record
 * (one that is not grants nothing); an event whose id's record in force
 * refuses analytics is an objector's and is dropped, in either mode;
 * exempt sites lose campaign fields and custom events; sites with
 * without_consent = drop lose events with no accepted id.
 *
 * Ownership: seula_consent_new() copies what it needs from the config but
 * keeps pointers to `cfg` and `key`, which must outlive it.  After new() it
 * is read-only and may be shared by every thread.
 */
#ifndef SEULA_CONSENT_H
#define SEULA_CONSENT_H

#include "chain.h"
#include "config.h"
#include "event.h"
#include "loader.h"
#include "log.h"
#include "secret.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>

#define SEULA_CONSENT_COOKIE "seula_consent"
#define SEULA_VISITOR_COOKIE "seula_vid"
/* The tracker's seula_vid cookie lives 13 months (web/seula.js), but
 * never past the consent it needs: consent.js caps it at its expiry. */
#define SEULA_VISITOR_COOKIE_DAYS 390
/* The CNIL exemption's limits. */
#define SEULA_EXEMPT_MAX_COOKIE_DAYS 395    /* 13 months */
#define SEULA_EXEMPT_MAX_RETENTION_DAYS 761 /* 25 months */

struct seula_consent;

/* Load the texts (cfg->consent_texts or the built-in ones) and check every
 * site's consent settings against them. */
int seula_consent_new(struct seula_consent **out,
                      const struct seula_config *cfg,
                      const struct seula_plugins *plugins,
                      const unsigned char *key, char *err, size_t errlen);
/* Where the retention task says what it deleted; before the module is
 * shared (NULL: nowhere). */
void seula_consent_set_log(struct seula_consent *c,
                           const struct seula_logger *log);
void seula_consent_free(struct seula_consent *c);

/* The exemption's rules, for every site in exempt mode, against the config
 * and the loaded plugins: SEULA_EINVAL naming the first rule broken.  The
 * server does not start a site that breaks one. */
int seula_consent_check(const struct seula_consent *c, char *err,
                        size_t errlen);

/* The hash of the texts site `site` shows in language `lang` (exactly
 * that one), what a record given under them names; NULL when it has none.
 * Lives as long as `c`. */
const char *seula_consent_texts_hash(const struct seula_consent *c,
                                     const char *site, const char *lang);

/* Store the texts of every site and language (consent_texts), inside the
 * caller's write transaction; run once at start. */
int seula_consent_store_texts(const struct seula_consent *c, sqlite3 *db,
                              int64_t now_ms, char *err, size_t errlen);

/* The store's gate (see above); `arg` is the struct seula_consent. */
int seula_consent_gate(void *arg, sqlite3 *db, struct seula_event *ev,
                       int64_t now_ms, bool *keep);
/* Finalizes what the gate prepared on the writer's connection (the only
 * state that changes after new(); the writer's alone). */
void seula_consent_gate_release(void *arg);

/* Stores the texts at start (seula_consent_store_texts), warning first of
 * each site whose texts differ from those already stored for its current
 * policy_version. */
extern const struct seula_task seula_consent_texts_task;
/* The retention task of consent records (prefix older than
 * [consent] record_retention, moving the anchor first). */
extern const struct seula_task seula_consent_retention_task;

/* One record as stored; text fields borrowed.  decisions, preselected,
 * signals and gcm are JSON texts; visitor_id, ip_anon and page are the
 * personal fields (under pii_mac, so that erasure can clear them). */
struct seula_consent_record {
	int64_t id; /* set by seula_consent_append */
	const char *receipt, *site;
	bool has_given;
	int64_t given_at, received_at;
	const char *policy_version, *texts_hash, *language;
	const char *decisions, *preselected, *method, *source, *staff_name;
	const char *signals, *gcm;
	int64_t valid_until;
	const char *tc_string;
	const char *visitor_id, *ip_anon, *page;
};

/* Append `r` to the chain and move the head, inside the caller's write
 * transaction; r->id is assigned.  When r names a visitor, r becomes the
 * visitor's standing consent (what its decisions grant, signed).  Checks
 * nothing of the content: the routes validate. */
int seula_consent_append(sqlite3 *db, const unsigned char *key,
                         struct seula_consent_record *r, char *err,
                         size_t errlen);

/* Remove the records received before now - record_retention (a prefix of
 * the chain), moving the anchor to the last of them first so the rest
 * still verifies, then the standing consents left without a record (they
 * grant nothing): those of records it removed, and any other once it has
 * lapsed; `removed` and `states` count them.  Inside the caller's
 * write transaction; `dry_run` changes nothing and counts what would go
 * (a read transaction will do).  The chain's new anchor is signed with
 * the key given to seula_consent_new(): without one, a run with records
 * due fails. */
int seula_consent_prune(const struct seula_consent *c, sqlite3 *db,
                        int64_t now_ms, bool dry_run, int64_t *removed,
                        int64_t *states, char *err, size_t errlen);

/* A visitor whose standing consent is not what its records give; `why`
 * says how.  Both borrowed for the call. */
typedef void seula_consent_mismatch_fn(void *arg, const char *visitor_id,
                                       const char *why);

/* SEULA_OK when the chain verifies and so does every visitor's standing
 * consent: each is signed with `key` and is what the visitor's latest
 * record (by id, erased ones left out) gives, or its records were all
 * removed by retention; and no visitor with a record lacks one.
 * SEULA_ECONFLICT when not: a broken chain as for the audit log (the
 * standing consent is then not checked), or with the chain intact,
 * report->bad_states of report->states, the first in report->why
 * (bad_id 0), each passed to `each` (may be NULL).  SEULA_EIO when the
 * database cannot be read (report->why). */
int seula_consent_verify(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         struct seula_chain_report *report,
                         seula_consent_mismatch_fn *each, void *arg);

/* How the audit log names a visitor (a read of their consent history, a
 * choice recorded for them): "visitor:" and 32 hex digits of BLAKE2b-128
 * keyed with the server's key over "audit-visitor/1:" and the id.  The
 * log is append-only and kept after an erasure; the id itself, which the
 * person's cookie still holds, would stay in it.  The access export finds
 * the entries by computing it again.  Without a key, the id itself. */
#define SEULA_AUDIT_VISITOR_MAX 48
void seula_consent_audit_visitor(const unsigned char *key, const char *vid,
                                 char out[SEULA_AUDIT_VISITOR_MAX]);

/* Put each standing consent seula_consent_verify() names back to what
 * the visitor's latest record gives, signed with `key`, or delete it when
 * no record names the visitor (it granted nothing); in the caller's write
 * transaction.  Only from records that verify: SEULA_ECONFLICT (report as
 * verify's, bad_states 0) when the chain is broken, and nothing changes.
 * `each` (may be NULL) hears every visitor named and why; *rewritten and
 * *deleted count them.  SEULA_EIO or SEULA_ENOMEM with report->why. */
int seula_consent_repair_states(sqlite3 *db,
                                const unsigned char key[SEULA_SECRET_BYTES],
                                struct seula_chain_report *report,
                                seula_consent_mismatch_fn *each, void *arg,
                                int64_t *rewritten, int64_t *deleted);

/* Data subject rights (core/subject.c).  Appends to the array `rows` the
 * records of `visitor_id` as GET /api/consent/records shows them. */
int seula_consent_subject_export(sqlite3 *db, const char *visitor_id,
                                 json_t *rows, char *err, size_t errlen);
/* Pseudonymise the records of `visitor_id` (visitor id, address and page
 * cleared, erased_at = now_ms, and erased_mac, the proof keyed with `key`
 * that the server did it; the chain still verifies) and delete its
 * consent state, inside the caller's write transaction.  *records: how
 * many records were pseudonymised. */
int seula_consent_subject_erase(sqlite3 *db,
                                const unsigned char key[SEULA_SECRET_BYTES],
                                const char *visitor_id, int64_t now_ms,
                                int64_t *records, char *err, size_t errlen);

/* Sign with `key` the records erased before erased_mac existed (core
 * migration 7, in whose transaction this runs): afterwards every erased
 * record must carry it.  SEULA_EINVAL with err when there are such
 * records and `key` is NULL. */
int seula_consent_sign_erased(sqlite3 *db, const unsigned char *key, char *err,
                              size_t errlen);

/* Sign with `key` the visitors' standing consent kept before it was
 * signed (core migration 9, in whose transaction this runs): each that is
 * what its latest record gives, or whose records retention removed (then
 * as of the anchor's record).  One that is not stays unsigned, so the
 * gate grants nothing by it and the verifier names it.  SEULA_EINVAL
 * with err when there are any and `key` is NULL. */
int seula_consent_sign_states(sqlite3 *db, const unsigned char *key, char *err,
                              size_t errlen);

/* Banner displays, choices and opt-in rates per local day of [from, to]
 * (days, zone.h) in the IANA time zone `tz` (NULL: UTC) for a configured
 * site: the body of GET /api/consent/stats.  Days are cut at the hour, as
 * the displays are counted (in a zone with a half-hour offset a day starts
 * half an hour before its midnight).  *out is new (the caller
 * json_decref()s);
 * SEULA_ENOTFOUND for a site that is not configured, SEULA_EINVAL for an
 * unknown zone or to before from. */
int seula_consent_stats(const struct seula_consent *c, sqlite3 *db,
                        const char *site, int64_t from, int64_t to,
                        const char *tz, json_t **out);

/* The exemption's checklist (exempt mode) or the consent setup's (consent
 * mode) for `site`, one line per item; returns the number failing.  Both
 * include the texts check the server warns of at start, against `db`
 * (read only; NULL when there is no database yet). */
int seula_consent_selftest(const struct seula_consent *c, sqlite3 *db,
                           const char *site, FILE *out);

/* What the banner shows for `site` in `lang` (which must be one of the
 * site's languages): a new reference to a JSON object; NULL when unknown.
 * For the generated privacy statement. */
json_t *seula_consent_texts(const struct seula_consent *c, const char *site,
                            const char *lang);

/* The cookies `site` sets, for the privacy statement: a new reference to
 * [{name, category, purpose, days, provider}] in `lang` (the site's
 * default language when it lacks `lang`); NULL when the site is unknown. */
json_t *seula_consent_cookies(const struct seula_consent *c, const char *site,
                              const char *lang);

/* The core's consent routes; `instance` is the struct seula_consent. */
extern const struct seula_route seula_consent_routes[];
extern const size_t seula_consent_n_routes;

#endif
