/* Unit tests: core/consent.c's chain across retention (with a clock the
 * server cannot be given), its texts and checks, its statistics by local
 * day, and core/retention.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "arena.h"
#include "config.h"
#include "consent.h"
#include "db.h"
#include "migrate.h"
#include "retention.h"
#include "testutil.h"
#include "zone.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define DAY_MS 86400000LL

struct fixture {
	struct seula_config cfg;
	struct seula_plugins plugins;
	struct seula_consent *consent;
	sqlite3 *db;
	char *ini_path;
	char db_path[64];
	unsigned char key[32];
	int64_t pruned_states;  /* the last prune's */
	const char *texts_hash; /* records' texts; NULL: the site's fi */
};

static int setup_with(void **state, const char *site_keys)
{
	struct fixture *f = calloc(1, sizeof(*f));
	char ini[1024], err[512];
	snprintf(f->db_path, sizeof(f->db_path),
	         "/tmp/seula-unit-consent-%d.db", (int)getpid());
	unlink(f->db_path);
	snprintf(ini, sizeof(ini),
	         "[server]\ndb = %s\n[consent]\nrecord_retention = 400d\n"
	         "[site.demo]\ndomains = localhost\n%s",
	         f->db_path, site_keys);
	f->ini_path = write_temp(ini);
	assert_int_equal(
	        seula_config_load(&f->cfg, f->ini_path, NULL, err, sizeof(err)),
	        SEULA_OK);
	randombytes_buf(f->key, sizeof(f->key));
	assert_int_equal(seula_consent_new(&f->consent, &f->cfg, &f->plugins,
	                                   f->key, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(seula_db_open(&f->db, f->db_path, false, true, false,
	                               err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(seula_migrate_all(f->db, &f->plugins, NULL, NULL, err,
	                                   sizeof(err)),
	                 SEULA_OK);
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return setup_with(state, "");
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	seula_db_close(f->db);
	seula_consent_free(f->consent);
	seula_config_free(&f->cfg);
	unlink(f->ini_path);
	free(f->ini_path);
	unlink(f->db_path);
	free(f);
	return 0;
}

/* A record of `method` with `decisions` for `vid` (may be NULL), valid
 * until `valid_until`. */
static void append_record(struct fixture *f, int64_t received_at,
                          const char *vid, const char *method,
                          const char *decisions, int64_t valid_until)
{
	char receipt[40], err[256];
	static int n;
	snprintf(receipt, sizeof(receipt), "00000000-0000-4000-8000-%012d",
	         ++n);
	struct seula_consent_record r = {
	        .receipt = receipt,
	        .site = "demo",
	        .received_at = received_at,
	        .policy_version = "1",
	        .texts_hash = f->texts_hash ? f->texts_hash
	                                    : seula_consent_texts_hash(
	                                              f->consent, "demo", "fi"),
	        .language = "fi",
	        .decisions = decisions,
	        .preselected = "{}",
	        .method = method,
	        .source = "banner",
	        .signals = "{}",
	        .gcm = "{}",
	        .valid_until = valid_until,
	        .visitor_id = vid,
	};
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(
	        seula_consent_append(f->db, f->key, &r, err, sizeof(err)),
	        SEULA_OK);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL),
	                 SQLITE_OK);
}

static void append(struct fixture *f, int64_t received_at, const char *vid)
{
	append_record(f, received_at, vid, "reject_all",
	              "{\"necessary\":\"granted\"}",
	              received_at + 365 * DAY_MS);
}

static int64_t prune(struct fixture *f, int64_t now)
{
	char err[256];
	int64_t removed = -1, states = -1;
	assert_int_equal(sqlite3_exec(f->db, "BEGIN", NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(seula_consent_prune(f->consent, f->db, now, false,
	                                     &removed, &states, err,
	                                     sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(sqlite3_exec(f->db, "COMMIT", NULL, NULL, NULL),
	                 SQLITE_OK);
	f->pruned_states = states;
	return removed;
}

static int64_t states_left(struct fixture *f, const char *vid)
{
	char sql[160], err[256];
	int64_t n = -1;
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM consent_visitors WHERE visitor_id = "
	         "'%s'",
	         vid);
	assert_int_equal(seula_db_int(f->db, sql, &n, err, sizeof(err)),
	                 SEULA_OK);
	return n;
}

static void verify_ok(struct fixture *f, int64_t rows, int64_t pruned)
{
	struct seula_chain_report r;
	assert_int_equal(seula_consent_verify(f->db, f->key, &r, NULL, NULL),
	                 SEULA_OK);
	assert_int_equal(r.rows, rows);
	assert_int_equal(r.pruned, pruned);
}

static void chain_survives_retention(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = 1700000000000LL;
	for (int i = 0; i < 5; i++)
		append(f, t0 + i * 100 * DAY_MS, NULL);
	verify_ok(f, 5, 0);
	/* 400 days of retention at t0 + 450 days: the first one goes. */
	assert_int_equal(prune(f, t0 + 450 * DAY_MS), 1);
	verify_ok(f, 4, 1);
	assert_int_equal(prune(f, t0 + 450 * DAY_MS), 0);
	/* Two more, then the chain goes on from the anchor. */
	assert_int_equal(prune(f, t0 + 650 * DAY_MS), 2);
	append(f, t0 + 651 * DAY_MS, "0f8fad5b-d9cb-469f-a165-70867728950e");
	verify_ok(f, 3, 3);
	/* Everything: the next record still links to the anchor. */
	assert_int_equal(prune(f, t0 + 5000 * DAY_MS), 3);
	verify_ok(f, 0, 6);
	append(f, t0 + 5001 * DAY_MS, NULL);
	verify_ok(f, 1, 6);
	/* A record removed outside retention (the trigger dropped, then the
	 * row) is still found. */
	append(f, t0 + 5002 * DAY_MS, NULL);
	append(f, t0 + 5003 * DAY_MS, NULL);
	assert_int_equal(
	        sqlite3_exec(f->db,
	                     "DROP TRIGGER consent_records_kept; DELETE FROM "
	                     "consent_records WHERE id = 8",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	struct seula_chain_report r;
	assert_int_equal(seula_consent_verify(f->db, f->key, &r, NULL, NULL),
	                 SEULA_ECONFLICT);
	assert_int_equal(r.bad_id, 8);
	/* A moved anchor without the key is found too. */
	assert_int_equal(sqlite3_exec(f->db,
	                              "UPDATE chain_heads SET last_id = 7 "
	                              "WHERE chain = 'consent-anchor'",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(seula_consent_verify(f->db, f->key, &r, NULL, NULL),
	                 SEULA_ECONFLICT);
}

static void a_wrong_key_verifies_nothing(void **state)
{
	struct fixture *f = *state;
	append(f, 1700000000000LL, NULL);
	unsigned char other[32];
	memcpy(other, f->key, sizeof(other));
	other[0] ^= 1;
	struct seula_chain_report r;
	assert_int_equal(seula_consent_verify(f->db, other, &r, NULL, NULL),
	                 SEULA_ECONFLICT);
	assert_int_equal(r.bad_id, 1);
}

/* Does the gate keep `vid` on an event of site demo at `now`? */
static bool gate_keeps(struct fixture *f, const char *vid, int64_t now)
{
	struct seula_arena arena;
	seula_arena_init(&arena, 1 << 16);
	struct seula_event *ev = seula_event_new(&arena);
	seula_event_set_str(ev, SEULA_FIELD_SITE, "demo", 4);
	seula_event_set_str(ev, SEULA_FIELD_VISITOR_ID, vid, strlen(vid));
	bool keep = false;
	assert_int_equal(seula_consent_gate(f->consent, f->db, ev, now, &keep),
	                 SEULA_OK);
	assert_true(keep);
	bool kept = seula_event_str(ev, SEULA_FIELD_VISITOR_ID) != NULL;
	seula_arena_free(&arena);
	return kept;
}

/* The gate on an event of site demo with `vid` at `now`: is the event
 * kept, and with the id? */
static void gate(struct fixture *f, const char *vid, int64_t now, bool *keep,
                 bool *with_id)
{
	struct seula_arena arena;
	seula_arena_init(&arena, 1 << 16);
	struct seula_event *ev = seula_event_new(&arena);
	seula_event_set_str(ev, SEULA_FIELD_SITE, "demo", 4);
	seula_event_set_str(ev, SEULA_FIELD_VISITOR_ID, vid, strlen(vid));
	assert_int_equal(seula_consent_gate(f->consent, f->db, ev, now, keep),
	                 SEULA_OK);
	*with_id = seula_event_str(ev, SEULA_FIELD_VISITOR_ID) != NULL;
	seula_arena_free(&arena);
}

/* Decisions of a record that grants, or refuses, statistics. */
#define ANALYTICS_GRANTED                                                      \
	"{\"necessary\":\"granted\",\"analytics\":\"granted\"}"
#define ANALYTICS_REFUSED "{\"necessary\":\"granted\",\"analytics\":\"denied\"}"

/* A choice that refuses statistics is an objection: the event is not
 * stored at all, even once the record's period is over (the banner asks
 * again; until the next answer the objection stands).  GPC's record
 * refuses everything but objects to marketing only. */
static void a_refusal_in_force_drops_the_event(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = 1700000000000LL, now = t0 + DAY_MS;
	const char *granted = ANALYTICS_GRANTED, *refused = ANALYTICS_REFUSED;
	static const struct {
		const char *vid, *method;
		bool refuses;
		int64_t valid_days;
		bool keep, with_id;
	} cases[] = {
	        {"6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f01", "accept_all", false,
	         365, true, true},
	        {"6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f03", "reject_all", true,
	         365, false, false},
	        {"6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f04", "withdraw", true, 365,
	         false, false},
	        {"6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f05", "gpc", true, 365, true,
	         false},
	        {"6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f07", "reject_all", true, 0,
	         false, false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		append_record(f, t0, cases[i].vid, cases[i].method,
		              cases[i].refuses ? refused : granted,
		              t0 + cases[i].valid_days * DAY_MS);
		bool keep, with_id;
		gate(f, cases[i].vid, now, &keep, &with_id);
		with_id = keep && with_id; /* a dropped event has none */
		if (keep != cases[i].keep || with_id != cases[i].with_id)
			fail_msg("%s %s: kept %d, with id %d", cases[i].vid,
			         cases[i].method, keep, with_id);
	}
	seula_consent_gate_release(f->consent);
}

/* A grant holds only under the texts it was given for (those of its
 * language now): under others it keeps no id.  A refusal under others
 * is still an objection (art. 21 does not lapse with the wording); the
 * banner asks again either way. */
static void a_choice_holds_only_under_its_texts(void **state)
{
	struct fixture *f = *state;
	int64_t t0 = 1700000000000LL, now = t0 + DAY_MS;
	const char *granted = ANALYTICS_GRANTED, *refused = ANALYTICS_REFUSED;
	const char *old_grant = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f11",
	           *old_refusal = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f12",
	           *grant = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f13";
	f->texts_hash = "00"; /* texts the site no longer shows */
	append_record(f, t0, old_grant, "accept_all", granted,
	              t0 + 365 * DAY_MS);
	append_record(f, t0, old_refusal, "reject_all", refused,
	              t0 + 365 * DAY_MS);
	f->texts_hash = NULL;
	append_record(f, t0, grant, "accept_all", granted, t0 + 365 * DAY_MS);
	bool keep, with_id;
	gate(f, old_grant, now, &keep, &with_id);
	assert_true(keep);
	assert_false(with_id);
	gate(f, old_refusal, now, &keep, &with_id);
	assert_false(keep);
	gate(f, grant, now, &keep, &with_id);
	assert_true(keep);
	assert_true(with_id);
	seula_consent_gate_release(f->consent);
}

/* A standing consent whose records retention removed grants nothing, and
 * the prune deletes it.  Its record says 730 days: a config from before
 * record_retention had to outlast consent_period (now refused, below). */
static void a_consent_without_its_record_grants_nothing(void **state)
{
	struct fixture *f = *state;
	const char *vid = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f10";
	int64_t t0 = 1700000000000LL;
	append_record(f, t0, vid, "custom",
	              "{\"necessary\":\"granted\",\"analytics\":\"granted\","
	              "\"marketing\":\"denied\"}",
	              t0 + 730 * DAY_MS);
	assert_true(gate_keeps(f, vid, t0 + DAY_MS));
	assert_false(gate_keeps(f, "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2f11",
	                        t0 + DAY_MS));
	assert_int_equal(sqlite3_exec(f->db,
	                              "CREATE TEMP TABLE kept AS SELECT * FROM "
	                              "consent_visitors",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	/* 400 days of record retention at t0 + 450 days: the record goes,
	 * and the consent with it, though it says it lasts 730 days. */
	assert_int_equal(prune(f, t0 + 450 * DAY_MS), 1);
	assert_int_equal(f->pruned_states, 1);
	assert_int_equal(states_left(f, vid), 0);
	assert_false(gate_keeps(f, vid, t0 + 451 * DAY_MS));
	seula_consent_gate_release(f->consent);
	/* Put back (signed, still valid, of a record the anchor covers): the
	 * gate still grants nothing by it. */
	assert_int_equal(sqlite3_exec(f->db,
	                              "INSERT INTO consent_visitors SELECT * "
	                              "FROM kept",
	                              NULL, NULL, NULL),
	                 SQLITE_OK);
	assert_int_equal(states_left(f, vid), 1);
	assert_false(gate_keeps(f, vid, t0 + 451 * DAY_MS));
	seula_consent_gate_release(f->consent);
	assert_int_equal(prune(f, t0 + 452 * DAY_MS), 0);
	assert_int_equal(f->pruned_states, 1);
	assert_int_equal(states_left(f, vid), 0);
}

/* A standing consent goes once retention removed its records; with a
 * record still kept, lapsed or valid, it stays. */
static void lapsed_states_without_records_are_pruned(void **state)
{
	struct fixture *f = *state;
	const char *a = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2fa1",
	           *b = "6f1b0b4e-3c55-4d0c-9a43-0b0f6f1f2fb2";
	int64_t t0 = 1700000000000LL;
	append(f, t0, a);                /* valid 365 days */
	append(f, t0 + 100 * DAY_MS, b); /* kept 400 days */
	assert_int_equal(prune(f, t0 + 380 * DAY_MS), 0);
	assert_int_equal(f->pruned_states, 0); /* a lapsed, its record kept */
	assert_int_equal(states_left(f, a), 1);
	assert_int_equal(prune(f, t0 + 420 * DAY_MS), 1);
	assert_int_equal(f->pruned_states, 1);
	assert_int_equal(states_left(f, a), 0);
	assert_int_equal(states_left(f, b), 1);
	struct seula_chain_report rep;
	assert_int_equal(seula_consent_verify(f->db, f->key, &rep, NULL, NULL),
	                 SEULA_OK);
	assert_int_equal(rep.states, 1);
}

static void texts_are_per_language_and_list_the_cookies(void **state)
{
	struct fixture *f = *state;
	json_t *fi = seula_consent_texts(f->consent, "demo", "fi");
	json_t *en = seula_consent_texts(f->consent, "demo", "en");
	assert_non_null(fi);
	assert_non_null(en);
	assert_string_equal(json_string_value(json_object_get(fi, "language")),
	                    "fi");
	assert_string_not_equal(
	        json_string_value(json_object_get(fi, "accept_all")),
	        json_string_value(json_object_get(en, "accept_all")));
	assert_null(seula_consent_texts(f->consent, "demo", "de"));
	assert_null(seula_consent_texts(f->consent, "nope", "fi"));
	json_decref(fi);
	json_decref(en);
	json_t *cookies = seula_consent_cookies(f->consent, "demo", "sv");
	assert_int_equal(json_array_size(cookies), 2);
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(cookies, 0), "name")),
	                    SEULA_CONSENT_COOKIE);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(cookies, 0), "days")),
	                 365);
	/* The visitor id's 13 months, cut to the consent's 365 days. */
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(cookies, 1), "days")),
	                 365);
	json_decref(cookies);
	/* No anonymize plugin in this fixture: no cookieless hash, so the
	 * one failing line is without_consent (the integration tests load
	 * it). */
	assert_int_equal(
	        seula_consent_selftest(f->consent, f->db, "demo", stdout), 1);
	char err[256];
	assert_int_equal(seula_consent_check(f->consent, err, sizeof(err)),
	                 SEULA_OK);
}

/* A config `ini` that loads but that consent refuses (with `rc`; 0: any
 * error), with `want` (and `also`, when given) in the reason. */
static void expect_refused(const char *ini, int rc, const char *want,
                           const char *also)
{
	struct seula_config cfg;
	struct seula_plugins plugins = {0};
	struct seula_consent *c = NULL;
	char err[512] = "";
	char *path = write_temp(ini);
	assert_int_equal(seula_config_load(&cfg, path, NULL, err, sizeof(err)),
	                 SEULA_OK);
	int got = seula_consent_new(&c, &cfg, &plugins, NULL, err, sizeof(err));
	assert_int_not_equal(got, SEULA_OK);
	if (rc)
		assert_int_equal(got, rc);
	assert_null(c);
	if (!strstr(err, want) || (also && !strstr(err, also)))
		fail_msg("%s: '%s' lacks '%s'", ini, err, want);
	seula_config_free(&cfg);
	unlink(path);
	free(path);
}

static void bad_site_consent_config_is_refused(void **state)
{
	(void)state;
	static const struct {
		const char *keys, *want;
	} cases[] = {
	        {"categories = analytics, tracking\n", "'tracking'"},
	        {"categories = marketing\n", "analytics must be offered"},
	        {"categories = analytics, analytics\n", "twice"},
	        {"languages = fi, de\n", "no consent texts for 'de'"},
	        {"cookies = marketing _fbp\n", "not 'category name"},
	        {"cookies = personalization x 1d Y\ncategories = analytics\n",
	         "not a category the site offers"},
	        {"cookies = marketing b@d 1d Y\n", "not a cookie name"},
	        {"cookies = marketing _fbp soon Meta\n", "not a duration"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char ini[512];
		snprintf(ini, sizeof(ini),
		         "[site.demo]\ndomains = localhost\n%s", cases[i].keys);
		expect_refused(ini, SEULA_EINVAL, cases[i].want, NULL);
	}
}

/* [consent] texts naming what is not a file: refused with the path, not
 * read as an empty file nor waited on. */
static void consent_texts_not_a_file_is_refused(void **state)
{
	(void)state;
	char dir[] = "/tmp/seula-unit-XXXXXX", fifo[64];
	assert_non_null(mkdtemp(dir));
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	const struct {
		const char *path, *want;
	} cases[] = {
	        {dir, "is a directory"},
	        {fifo, "a device or a pipe"},
	        {"/proc/self/mem", "cannot read"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char ini[512];
		snprintf(ini, sizeof(ini),
		         "[consent]\ntexts = %s\n[site.demo]\ndomains = "
		         "localhost\n",
		         cases[i].path);
		expect_refused(ini, 0, cases[i].want, cases[i].path);
	}
	unlink(fifo);
	rmdir(dir);
}

/* A consent's record is kept at least as long as the consent lasts. */
static void consent_period_past_record_retention_is_refused(void **state)
{
	(void)state;
	static const struct {
		const char *keys;
		int want;
	} cases[] = {
	        {"[consent]\nrecord_retention = 400d\n[site.demo]\ndomains = "
	         "localhost\nconsent_period = 401d\n",
	         SEULA_EINVAL},
	        {"[consent]\nrecord_retention = 400d\n[site.demo]\ndomains = "
	         "localhost\nconsent_period = 400d\n",
	         SEULA_OK},
	        {"[site.demo]\ndomains = localhost\nconsent_period = 730d\n",
	         SEULA_OK}, /* record_retention defaults to 1826 days */
	        {"[consent]\nrecord_retention = 500d\n[site.a]\ndomains = "
	         "a.example\n[site.b]\ndomains = b.example\nconsent_period = "
	         "600d\n",
	         SEULA_EINVAL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct seula_config cfg;
		char err[512] = "";
		char *path = write_temp(cases[i].keys);
		int rc = seula_config_load(&cfg, path, NULL, err, sizeof(err));
		if (rc != cases[i].want)
			fail_msg("case %zu: %d (%s)", i, rc, err);
		if (rc != SEULA_OK && (!strstr(err, "consent_period (") ||
		                       !strstr(err, "record_retention (") ||
		                       !strstr(err, i == 0 ? ":5:" : ":7:")))
			fail_msg("case %zu: '%s'", i, err);
		seula_config_free(&cfg);
		unlink(path);
		free(path);
	}
}

static void exempt_rules_are_checked(void **state)
{
	struct fixture *f = *state;
	char err[512];
	/* No anonymize plugin loaded in this fixture. */
	assert_int_equal(seula_consent_check(f->consent, err, sizeof(err)),
	                 SEULA_EINVAL);
	assert_non_null(strstr(err, "'ip_masking'"));
	assert_int_equal(
	        seula_consent_selftest(f->consent, f->db, "demo", stdout), 1);
}

static int setup_exempt(void **state)
{
	return setup_with(state, "consent_mode = exempt\n");
}

static void raw_events_past_retention_are_deleted(void **state)
{
	struct fixture *f = *state;
	int64_t now = 1700000000000LL;
	/* Default retention: 760 days. */
	for (int age = 0; age < 5; age++) {
		char sql[200];
		snprintf(sql, sizeof(sql),
		         "INSERT INTO events (site, type, ts) VALUES ('demo', "
		         "1, %lld), ('other', 1, 0)",
		         (long long)(now - (759 + age) * DAY_MS));
		assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL),
		                 SQLITE_OK);
	}
	char err[256];
	int64_t deleted;
	assert_int_equal(seula_retention_events(&f->cfg, f->db, now, 2,
	                                        &deleted, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(deleted, 2); /* the limit */
	assert_int_equal(seula_retention_events(&f->cfg, f->db, now, 100,
	                                        &deleted, err, sizeof(err)),
	                 SEULA_OK);
	/* 761, 762 and 763 went (760 is the edge), and the five of a site
	 * no longer configured, past the default. */
	assert_int_equal(deleted, 6);
	sqlite3_stmt *st;
	sqlite3_prepare_v2(f->db,
	                   "SELECT count(*) FROM events WHERE site = 'demo'",
	                   -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 2);
	sqlite3_finalize(st);
	/* A site no longer configured keeps them no longer than the
	 * default: not for good. */
	sqlite3_prepare_v2(f->db,
	                   "SELECT count(*) FROM events WHERE site = 'other'",
	                   -1, &st, NULL);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(st, 0), 0);
	sqlite3_finalize(st);
}

/* The statistics' day of a record or a display is the reader's local one. */
static json_int_t day_count(const json_t *o, size_t i, const char *date,
                            const char *key)
{
	const json_t *d = json_array_get(json_object_get(o, "days"), i);
	assert_non_null(d);
	assert_string_equal(json_string_value(json_object_get(d, "date")),
	                    date);
	return json_integer_value(json_object_get(d, key));
}

static void stats_count_by_local_day(void **state)
{
	struct fixture *f = *state;
	const int64_t H = 3600000;
	/* Helsinki is UTC+2 in November: 21:59 UTC is 23:59 on the 29th,
	 * 22:30 UTC 00:30 on the 30th. */
	int64_t nov29 = seula_days_from_civil(2026, 11, 29);
	int64_t t = nov29 * DAY_MS;
	append(f, t + 21 * H + 59 * 60000, NULL);
	append(f, t + 22 * H + 30 * 60000, NULL);
	append(f, t + 23 * H, NULL);
	/* On 2026-03-29 it goes to UTC+3 at 01:00 UTC: that local day ends at
	 * 21:00 UTC. */
	int64_t mar29 = seula_days_from_civil(2026, 3, 29);
	append(f, mar29 * DAY_MS + 20 * H + 30 * 60000, NULL);
	append(f, mar29 * DAY_MS + 21 * H + 30 * 60000, NULL);
	char sql[256];
	snprintf(sql, sizeof(sql),
	         "INSERT INTO consent_hourly VALUES ('demo', %lld, 5), "
	         "('demo', %lld, 7)",
	         (long long)(t / 1000 + 21 * 3600),
	         (long long)(t / 1000 + 22 * 3600));
	assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);

	json_t *o = NULL;
	assert_int_equal(seula_consent_stats(f->consent, f->db, "demo", nov29,
	                                     nov29 + 1, "Europe/Helsinki", &o),
	                 SEULA_OK);
	assert_string_equal(json_string_value(json_object_get(o, "tz")),
	                    "Europe/Helsinki");
	assert_int_equal(day_count(o, 0, "2026-11-29", "rejected_all"), 1);
	assert_int_equal(day_count(o, 0, "2026-11-29", "shown"), 5);
	assert_int_equal(day_count(o, 1, "2026-11-30", "rejected_all"), 2);
	assert_int_equal(day_count(o, 1, "2026-11-30", "shown"), 7);
	json_decref(o);

	/* In UTC all five of November are on the 29th. */
	assert_int_equal(seula_consent_stats(f->consent, f->db, "demo", nov29,
	                                     nov29 + 1, NULL, &o),
	                 SEULA_OK);
	assert_int_equal(day_count(o, 0, "2026-11-29", "rejected_all"), 3);
	assert_int_equal(day_count(o, 0, "2026-11-29", "shown"), 12);
	assert_int_equal(day_count(o, 1, "2026-11-30", "choices"), 0);
	json_decref(o);

	assert_int_equal(seula_consent_stats(f->consent, f->db, "demo", mar29,
	                                     mar29 + 1, "Europe/Helsinki", &o),
	                 SEULA_OK);
	assert_int_equal(day_count(o, 0, "2026-03-29", "rejected_all"), 1);
	assert_int_equal(day_count(o, 1, "2026-03-30", "rejected_all"), 1);
	json_decref(o);

	/* Kolkata is UTC+5:30: its 30th starts at 18:30 UTC on the 29th.  The
	 * hour that holds that midnight counts on the 29th, as in the
	 * analytics reports' day rows (21:59 UTC is on the 30th).  The range
	 * itself starts and ends at such hours: its first day takes the
	 * hour before it. */
	int64_t nov28 = nov29 - 1;
	append(f, t + 18 * H + 10 * 60000, NULL);             /* local 23:40 */
	append(f, t + 18 * H + 45 * 60000, NULL);             /* local 00:15 */
	append(f, nov28 * DAY_MS + 18 * H + 5 * 60000, NULL); /* 23:35 */
	assert_int_equal(seula_consent_stats(f->consent, f->db, "demo", nov29,
	                                     nov29 + 1, "Asia/Kolkata", &o),
	                 SEULA_OK);
	assert_int_equal(day_count(o, 0, "2026-11-29", "rejected_all"), 3);
	assert_int_equal(day_count(o, 1, "2026-11-30", "rejected_all"), 3);
	assert_int_equal(day_count(o, 1, "2026-11-30", "shown"), 12);
	json_decref(o);

	assert_int_equal(seula_consent_stats(f->consent, f->db, "demo", nov29,
	                                     nov29, "Europe/Nowhere", &o),
	                 SEULA_EINVAL);
	assert_null(o);
}

/* Migration 6: displays counted per UTC day before it go to the day's
 * noon, which keeps their date from UTC-12 to UTC+11. */
static void old_daily_displays_keep_their_date(void **state)
{
	(void)state;
	char path[64], err[512];
	snprintf(path, sizeof(path), "/tmp/seula-unit-consent-m-%d.db",
	         (int)getpid());
	unlink(path);
	sqlite3 *db = NULL;
	assert_int_equal(
	        seula_db_open(&db, path, false, true, false, err, sizeof(err)),
	        SEULA_OK);
	int applied = 0;
	assert_int_equal(seula_migrate(db, "core", seula_core_migrations, 5,
	                               &applied, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(
	        sqlite3_exec(db,
	                     "INSERT INTO consent_daily VALUES ('demo', "
	                     "'2026-11-28', 4), ('demo', '2026-11-29', 9)",
	                     NULL, NULL, NULL),
	        SQLITE_OK);
	applied = 0; /* seula_migrate() adds to it */
	assert_int_equal(seula_migrate(db, "core", seula_core_migrations,
	                               seula_core_n_migrations, &applied, err,
	                               sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(applied, (int)seula_core_n_migrations - 5);
	sqlite3_stmt *st = NULL;
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT group_concat(datetime(hour, "
	                           "'unixepoch') || '=' || shown) "
	                           "FROM consent_hourly",
	                           -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
	                    "2026-11-28 12:00:00=4,2026-11-29 12:00:00=9");
	sqlite3_finalize(st);
	seula_db_close(db);
	unlink(path);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test_setup_teardown(
	                lapsed_states_without_records_are_pruned, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(chain_survives_retention, setup,
	                                        teardown),
	        cmocka_unit_test_setup_teardown(a_wrong_key_verifies_nothing,
	                                        setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_consent_without_its_record_grants_nothing, setup,
	                teardown),
	        cmocka_unit_test_setup_teardown(
	                a_refusal_in_force_drops_the_event, setup, teardown),
	        cmocka_unit_test_setup_teardown(
	                a_choice_holds_only_under_its_texts, setup, teardown),
	        cmocka_unit_test(
	                consent_period_past_record_retention_is_refused),
	        cmocka_unit_test_setup_teardown(
	                texts_are_per_language_and_list_the_cookies, setup,
	                teardown),
	        cmocka_unit_test(bad_site_consent_config_is_refused),
	        cmocka_unit_test(consent_texts_not_a_file_is_refused),
	        cmocka_unit_test_setup_teardown(exempt_rules_are_checked,
	                                        setup_exempt, teardown),
	        cmocka_unit_test_setup_teardown(
	                raw_events_past_retention_are_deleted, setup, teardown),
	        cmocka_unit_test_setup_teardown(stats_count_by_local_day, setup,
	                                        teardown),
	        cmocka_unit_test(old_daily_displays_keep_their_date),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
