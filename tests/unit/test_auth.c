/* Unit tests: the parts of staff authentication that need no server -
 * core/ratelimit.c, core/sessions.c, core/device.c, core/audit.c,
 * core/secret.c and the password policy of core/staff.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "audit.h"
#include "db.h"
#include "device.h"
#include "migrate.h"
#include "ratelimit.h"
#include "secret.h"
#include "sessions.h"
#include "staff.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- rate limit ---------------------------------------------------------- */

static void ratelimit_locks_after_max_in_window(void **state)
{
	(void)state;
	struct seula_ratelimit *rl = seula_ratelimit_new(64, 3, 1000, 5000);
	assert_non_null(rl);
	int64_t retry = 0;
	for (int i = 0; i < 2; i++)
		seula_ratelimit_fail(rl, "ada", 3, 100 + i);
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 110, &retry));
	seula_ratelimit_fail(rl, "ada", 3, 120);
	assert_true(seula_ratelimit_locked(rl, "ada", 3, 130, &retry));
	assert_in_range(retry, 4000, 5000);
	/* Other keys are not touched. */
	assert_false(seula_ratelimit_locked(rl, "ann", 3, 130, NULL));
	/* The lockout ends. */
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 120 + 5001, NULL));
	seula_ratelimit_free(rl);
}

static void ratelimit_forgets_old_failures(void **state)
{
	(void)state;
	struct seula_ratelimit *rl = seula_ratelimit_new(64, 3, 1000, 5000);
	seula_ratelimit_fail(rl, "ada", 3, 0);
	seula_ratelimit_fail(rl, "ada", 3, 10);
	/* Past the window the count starts again. */
	seula_ratelimit_fail(rl, "ada", 3, 2000);
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 2001, NULL));
	seula_ratelimit_fail(rl, "ada", 3, 2002);
	seula_ratelimit_fail(rl, "ada", 3, 2003);
	assert_true(seula_ratelimit_locked(rl, "ada", 3, 2004, NULL));
	/* A success clears the account. */
	seula_ratelimit_clear(rl, "ada", 3);
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 2005, NULL));
	seula_ratelimit_free(rl);
}

/* Checks under way count against the limit: with max 3, three reserved
 * checks leave no room for a fourth, whatever they turn out to be. */
static void ratelimit_reservations_count_until_released(void **state)
{
	(void)state;
	struct seula_ratelimit *rl = seula_ratelimit_new(64, 3, 60000, 5000);
	int64_t retry = 0;
	for (int i = 0; i < 3; i++)
		assert_true(seula_ratelimit_reserve(rl, "ada", 3, 100, NULL));
	assert_false(seula_ratelimit_reserve(rl, "ada", 3, 100, &retry));
	assert_true(retry > 0);
	/* Not a lock: the account is refused only while they run. */
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 100, NULL));
	assert_true(seula_ratelimit_reserve(rl, "ann", 3, 100, NULL));
	/* A check that never ran gives its room back, uncounted. */
	seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_UNCHECKED, 110);
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 120, NULL));
	/* Three failures: the third locks, and nothing is reserved then. */
	for (int i = 0; i < 3; i++)
		seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_FAILED,
		                        130 + i);
	assert_true(seula_ratelimit_locked(rl, "ada", 3, 140, &retry));
	assert_false(seula_ratelimit_reserve(rl, "ada", 3, 140, &retry));
	assert_true(retry > 1000);
	/* After the lock, inside the window: one check at a time, and a
	 * failure locks again. */
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 6000, NULL));
	assert_false(seula_ratelimit_reserve(rl, "ada", 3, 6000, NULL));
	seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_FAILED, 6010);
	assert_true(seula_ratelimit_locked(rl, "ada", 3, 6020, NULL));
	seula_ratelimit_free(rl);
}

/* A success forgets the failures but not the other checks under way. */
static void ratelimit_success_keeps_other_reservations(void **state)
{
	(void)state;
	struct seula_ratelimit *rl = seula_ratelimit_new(64, 3, 60000, 5000);
	seula_ratelimit_fail(rl, "ada", 3, 100);
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 110, NULL));
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 110, NULL));
	assert_false(seula_ratelimit_reserve(rl, "ada", 3, 110, NULL));
	seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_OK, 120);
	/* One still pending: two more fit, not three. */
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 130, NULL));
	assert_true(seula_ratelimit_reserve(rl, "ada", 3, 130, NULL));
	assert_false(seula_ratelimit_reserve(rl, "ada", 3, 130, NULL));
	for (int i = 0; i < 3; i++)
		seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_OK, 140);
	/* Nothing leaked: many logins one after another all fit. */
	for (int i = 0; i < 10; i++) {
		assert_true(seula_ratelimit_reserve(rl, "ada", 3, 150, NULL));
		seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_OK, 150);
	}
	for (int i = 0; i < 10; i++) {
		assert_true(seula_ratelimit_reserve(rl, "ada", 3, 160, NULL));
		seula_ratelimit_release(rl, "ada", 3, SEULA_ATTEMPT_UNCHECKED,
		                        160);
	}
	assert_false(seula_ratelimit_locked(rl, "ada", 3, 170, NULL));
	seula_ratelimit_free(rl);
}

static void ratelimit_table_is_fixed_under_a_flood(void **state)
{
	(void)state;
	/* 100,000 distinct keys through 64 slots: no growth, no crash, and a
	 * key being attacked right now still locks. */
	struct seula_ratelimit *rl = seula_ratelimit_new(64, 3, 60000, 60000);
	char key[32];
	for (int i = 0; i < 100000; i++) {
		int n = snprintf(key, sizeof(key), "spray%d", i);
		seula_ratelimit_fail(rl, key, (size_t)n, 1000);
	}
	for (int i = 0; i < 3; i++)
		seula_ratelimit_fail(rl, "target", 6, 2000 + i);
	assert_true(seula_ratelimit_locked(rl, "target", 6, 2010, NULL));
	seula_ratelimit_free(rl);
}

/* ---- device cookies ------------------------------------------------------ */

static void device_key_of(unsigned char key[SEULA_DEVICE_KEY], unsigned char b)
{
	unsigned char secret[SEULA_SECRET_BYTES];
	memset(secret, b, sizeof(secret));
	seula_device_key(key, secret);
}

static void device_cookie_is_bound_to_name_and_key(void **state)
{
	(void)state;
	unsigned char key[SEULA_DEVICE_KEY], other[SEULA_DEVICE_KEY];
	device_key_of(key, 1);
	device_key_of(other, 2);
	const int64_t now = 1700000000000;
	char c[SEULA_DEVICE_CHARS + 1], d[SEULA_DEVICE_CHARS + 1];
	seula_device_issue(key, "ada", 42, now, c);
	seula_device_issue(key, "ada", 42, now, d);
	assert_int_equal(strlen(c), SEULA_DEVICE_CHARS);
	for (const char *p = c; *p; p++)
		assert_non_null(
		        strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		               "opqrstuvwxyz0123456789-_",
		               *p));
	struct seula_device x, y;
	assert_true(seula_device_check(key, c, "ada", now + 1000, &x));
	assert_true(seula_device_check(key, d, "ada", now + 1000, &y));
	assert_int_equal(x.password_changed_ms, 42);
	assert_int_equal(x.issued_ms, now);
	/* Each is a device of its own. */
	assert_memory_not_equal(x.nonce, y.nonce, SEULA_DEVICE_NONCE);
	/* Another account's name, another server's key: nothing. */
	assert_false(seula_device_check(key, c, "ann", now, &x));
	assert_false(seula_device_check(key, c, "ad", now, &x));
	assert_false(seula_device_check(key, c, "adam", now, &x));
	assert_false(seula_device_check(other, c, "ada", now, &x));
	/* The same secret gives the same key: cookies outlive a restart. */
	device_key_of(other, 1);
	assert_true(seula_device_check(other, c, "ada", now, &x));
}

static void device_cookie_refuses_forgeries_and_age(void **state)
{
	(void)state;
	unsigned char key[SEULA_DEVICE_KEY];
	device_key_of(key, 1);
	const int64_t now = 1700000000000;
	const int64_t life = (int64_t)SEULA_DEVICE_LIFETIME_S * 1000;
	char c[SEULA_DEVICE_CHARS + 1], bad[SEULA_DEVICE_CHARS + 2];
	seula_device_issue(key, "ada", 42, now, c);
	struct seula_device x;
	assert_true(seula_device_check(key, c, "ada", now + life - 1, &x));
	assert_false(seula_device_check(key, c, "ada", now + life, &x));
	/* Any character changed: the nonce, the times or the MAC. */
	for (size_t i = 0; i < SEULA_DEVICE_CHARS; i++) {
		memcpy(bad, c, sizeof(c));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		assert_false(seula_device_check(key, bad, "ada", now, &x));
	}
	/* Cut, lengthened, not base64url, empty. */
	memcpy(bad, c, sizeof(c));
	bad[SEULA_DEVICE_CHARS - 1] = '\0';
	assert_false(seula_device_check(key, bad, "ada", now, &x));
	memcpy(bad, c, sizeof(c));
	bad[SEULA_DEVICE_CHARS] = 'A';
	bad[SEULA_DEVICE_CHARS + 1] = '\0';
	assert_false(seula_device_check(key, bad, "ada", now, &x));
	memcpy(bad, c, sizeof(c));
	bad[10] = '+';
	assert_false(seula_device_check(key, bad, "ada", now, &x));
	assert_false(seula_device_check(key, "", "ada", now, &x));
}

/* ---- sessions ------------------------------------------------------------ */

static struct seula_session make_session(char token[SEULA_TOKEN_CHARS + 1],
                                         int64_t now)
{
	struct seula_session s;
	memset(&s, 0, sizeof(s));
	seula_token_new(token, s.token_hash);
	s.staff_id = 7;
	snprintf(s.name, sizeof(s.name), "ada");
	s.role = SEULA_ROLE_ADMIN;
	s.created_ms = s.last_seen_ms = now;
	return s;
}

static void tokens_are_random_and_only_hashed(void **state)
{
	(void)state;
	char a[SEULA_TOKEN_CHARS + 1], b[SEULA_TOKEN_CHARS + 1];
	unsigned char ha[SEULA_TOKEN_HASH], hb[SEULA_TOKEN_HASH],
	        again[SEULA_TOKEN_HASH];
	seula_token_new(a, ha);
	seula_token_new(b, hb);
	assert_int_equal(strlen(a), SEULA_TOKEN_CHARS);
	assert_string_not_equal(a, b);
	assert_memory_not_equal(ha, hb, SEULA_TOKEN_HASH);
	seula_token_hash(a, again);
	assert_memory_equal(ha, again, SEULA_TOKEN_HASH);
	for (const char *p = a; *p; p++)
		assert_non_null(
		        strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmn"
		               "opqrstuvwxyz0123456789-_",
		               *p));
}

static void sessions_idle_and_absolute_timeouts(void **state)
{
	(void)state;
	struct seula_sessions *ss = seula_sessions_new(10, 1000, 3000);
	char token[SEULA_TOKEN_CHARS + 1];
	struct seula_session s = make_session(token, 0), out;
	seula_sessions_put(ss, &s);
	assert_int_equal(seula_sessions_check(ss, token, 900, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	assert_string_equal(out.name, "ada");
	/* Touched at 900: alive at 1800, idle past 2801. */
	assert_int_equal(seula_sessions_check(ss, token, 1800, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	assert_int_equal(seula_sessions_check(ss, token, 2700, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	/* Busy, but past its lifetime. */
	assert_int_equal(seula_sessions_check(ss, token, 3001, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ECONFLICT);
	/* And then gone. */
	assert_int_equal(seula_sessions_check(ss, token, 3002, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);

	struct seula_session idle = make_session(token, 10000);
	seula_sessions_put(ss, &idle);
	assert_int_equal(seula_sessions_check(ss, token, 11001, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ECONFLICT);
	seula_sessions_free(ss);
}

static void sessions_background_checks_do_not_touch(void **state)
{
	(void)state;
	struct seula_sessions *ss = seula_sessions_new(10, 1000, 3000);
	char token[SEULA_TOKEN_CHARS + 1];
	struct seula_session s = make_session(token, 0), out;
	seula_sessions_put(ss, &s);
	/* Polled every 400 ms without a touch: idle past 1000 all the same. */
	assert_int_equal(seula_sessions_check(ss, token, 400, false,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	assert_int_equal(seula_sessions_check(ss, token, 800, false,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	assert_int_equal(seula_sessions_check(ss, token, 1001, false,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ECONFLICT);
	seula_sessions_free(ss);
}

static void sessions_unknown_and_removed(void **state)
{
	(void)state;
	struct seula_sessions *ss = seula_sessions_new(10, 1000, 3000);
	char token[SEULA_TOKEN_CHARS + 1], other[SEULA_TOKEN_CHARS + 1];
	struct seula_session s = make_session(token, 0), out;
	seula_sessions_put(ss, &s);
	seula_token_new(other, NULL);
	assert_int_equal(seula_sessions_check(ss, other, 1, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_sessions_check(ss, "", 1, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);
	seula_sessions_remove(ss, s.token_hash, SEULA_SESSION_BROWSER);
	assert_int_equal(seula_sessions_check(ss, token, 1, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_sessions_count(ss), 0);
	seula_sessions_free(ss);
}

/* An API key: never idles, answers "expired" from its expiry on and
 * stays so (its row goes later), is no browser session nor the reverse,
 * and is never pushed out by logins at max. */
static void sessions_api_keys_are_a_kind_apart(void **state)
{
	(void)state;
	struct seula_sessions *ss = seula_sessions_new(1, 1000, 3000);
	char key[SEULA_TOKEN_CHARS + 1], t[2][SEULA_TOKEN_CHARS + 1];
	struct seula_session k = make_session(key, 0), out;
	k.kind = SEULA_SESSION_API_KEY;
	k.expires_ms = 50000;
	assert_int_equal(seula_sessions_put(ss, &k), SEULA_OK);
	for (int i = 0; i < 2; i++) {
		struct seula_session s = make_session(t[i], 10 + i);
		assert_int_equal(seula_sessions_put(ss, &s), SEULA_OK);
	}
	assert_int_equal(seula_sessions_count(ss), 2);
	assert_int_equal(seula_sessions_check(ss, key, 40000, false,
	                                      SEULA_SESSION_API_KEY, &out),
	                 SEULA_OK);
	assert_int_equal(out.kind, SEULA_SESSION_API_KEY);
	assert_int_equal(seula_sessions_check(ss, key, 40000, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_sessions_check(ss, t[1], 12, true,
	                                      SEULA_SESSION_API_KEY, &out),
	                 SEULA_ENOTFOUND);
	for (int i = 0; i < 2; i++)
		assert_int_equal(seula_sessions_check(ss, key, 50000 + i, true,
		                                      SEULA_SESSION_API_KEY,
		                                      &out),
		                 SEULA_ECONFLICT);
	/* No expiry: none. */
	k.expires_ms = 0;
	seula_sessions_put(ss, &k);
	assert_int_equal(seula_sessions_check(ss, key, INT64_MAX / 2, true,
	                                      SEULA_SESSION_API_KEY, &out),
	                 SEULA_OK);
	/* The keys' own cap. */
	int rc = SEULA_OK;
	for (int i = 0; i < SEULA_API_KEYS_MAX && rc == SEULA_OK; i++) {
		struct seula_session x = make_session(t[0], 20);
		x.kind = SEULA_SESSION_API_KEY;
		rc = seula_sessions_put(ss, &x);
	}
	assert_int_equal(rc, SEULA_ECONFLICT);
	assert_int_equal(seula_sessions_count(ss), SEULA_API_KEYS_MAX + 1);
	seula_sessions_free(ss);
}

static void sessions_full_drops_least_recently_seen(void **state)
{
	(void)state;
	struct seula_sessions *ss = seula_sessions_new(3, 100000, 100000);
	char t[4][SEULA_TOKEN_CHARS + 1];
	struct seula_session out;
	for (int i = 0; i < 3; i++) {
		struct seula_session s = make_session(t[i], i);
		seula_sessions_put(ss, &s);
	}
	/* 0 is used again, so 1 is now the least recently seen. */
	assert_int_equal(seula_sessions_check(ss, t[0], 10, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	struct seula_session s = make_session(t[3], 11);
	seula_sessions_put(ss, &s);
	assert_int_equal(seula_sessions_count(ss), 3);
	assert_int_equal(seula_sessions_check(ss, t[1], 12, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_sessions_check(ss, t[0], 12, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	assert_int_equal(seula_sessions_check(ss, t[3], 12, true,
	                                      SEULA_SESSION_BROWSER, &out),
	                 SEULA_OK);
	seula_sessions_free(ss);
}

/* ---- audit chain ----------------------------------------------------------
 */

struct chain {
	char dir[64];
	sqlite3 *db;
	unsigned char key[SEULA_SECRET_BYTES];
};

static int chain_setup(void **state)
{
	struct chain *c = calloc(1, sizeof(*c));
	snprintf(c->dir, sizeof(c->dir), "/tmp/seula-audit-XXXXXX");
	assert_non_null(mkdtemp(c->dir));
	char path[128], err[256];
	snprintf(path, sizeof(path), "%s/a.db", c->dir);
	assert_int_equal(seula_db_open(&c->db, path, false, true, false, err,
	                               sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(seula_migrate(c->db, "core", seula_core_migrations,
	                               seula_core_n_migrations, NULL, err,
	                               sizeof(err)),
	                 SEULA_OK);
	randombytes_buf(c->key, sizeof(c->key));
	for (int i = 1; i <= 10; i++) {
		char subject[16];
		snprintf(subject, sizeof(subject), "customer-%d", i);
		struct seula_audit_entry e = {
		        .ts_ms = 1700000000000 + i,
		        .staff_id = 1,
		        .staff_name = "ada",
		        .ip_anon = i % 2 ? "192.0.2.0" : NULL,
		        .action = "read",
		        .route = "GET /api/customers/{id}",
		        .subject = subject,
		        .outcome = "ok",
		        .detail = i == 5 ? "with \"quotes\" and \n" : NULL,
		};
		assert_int_equal(
		        seula_db_exec(c->db, "BEGIN", err, sizeof(err)),
		        SEULA_OK);
		assert_int_equal(
		        seula_audit_append(c->db, c->key, &e, err, sizeof(err)),
		        SEULA_OK);
		assert_int_equal(
		        seula_db_exec(c->db, "COMMIT", err, sizeof(err)),
		        SEULA_OK);
	}
	/* An attacker with the file drops the append-only triggers. */
	assert_int_equal(seula_db_exec(c->db,
	                               "DROP TRIGGER audit_log_append_only_u;"
	                               "DROP TRIGGER audit_log_append_only_d",
	                               err, sizeof(err)),
	                 SEULA_OK);
	*state = c;
	return 0;
}

static int chain_teardown(void **state)
{
	struct chain *c = *state;
	seula_db_close(c->db);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", c->dir);
	if (system(cmd) != 0)
		return -1;
	free(c);
	return 0;
}

static int64_t verify_bad_id(struct chain *c, const char *tamper)
{
	char err[256];
	if (tamper)
		assert_int_equal(seula_db_exec(c->db, tamper, err, sizeof(err)),
		                 SEULA_OK);
	struct seula_chain_report r;
	int rc = seula_audit_verify(c->db, c->key, &r);
	if (rc == SEULA_OK)
		return 0;
	assert_int_equal(rc, SEULA_ECONFLICT);
	assert_true(r.why[0] != '\0');
	return r.bad_id ? r.bad_id : -1;
}

static void audit_intact_chain_verifies(void **state)
{
	struct chain *c = *state;
	struct seula_chain_report r;
	assert_int_equal(seula_audit_verify(c->db, c->key, &r), SEULA_OK);
	assert_int_equal(r.rows, 10);
	assert_int_equal(strlen(r.head), 64);
}

static void audit_edit_of_any_field_is_found(void **state)
{
	struct chain *c = *state;
	static const char *const edits[] = {
	        "UPDATE audit_log SET ts = ts + 1 WHERE id = 4",
	        "UPDATE audit_log SET staff_name = 'ann' WHERE id = 4",
	        "UPDATE audit_log SET ip_anon = '198.51.100.0' WHERE id = 4",
	        "UPDATE audit_log SET action = 'change' WHERE id = 4",
	        "UPDATE audit_log SET route = 'GET /' WHERE id = 4",
	        "UPDATE audit_log SET subject = 'customer-99' WHERE id = 4",
	        "UPDATE audit_log SET outcome = 'denied' WHERE id = 4",
	        "UPDATE audit_log SET detail = 'x' WHERE id = 4",
	        "UPDATE audit_log SET staff_id = 2 WHERE id = 4",
	        NULL};
	char err[256];
	for (size_t i = 0; edits[i]; i++) {
		assert_int_equal(
		        seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err)),
		        SEULA_OK);
		assert_int_equal(verify_bad_id(c, edits[i]), 4);
		assert_int_equal(seula_db_exec(c->db,
		                               "ROLLBACK TO t; RELEASE t", err,
		                               sizeof(err)),
		                 SEULA_OK);
	}
	assert_int_equal(verify_bad_id(c, NULL), 0);
}

static void audit_deletion_and_insertion_are_found(void **state)
{
	struct chain *c = *state;
	char err[256];
	seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err));
	assert_int_not_equal(
	        verify_bad_id(c, "DELETE FROM audit_log WHERE id = 6"), 0);
	seula_db_exec(c->db, "ROLLBACK TO t; RELEASE t", err, sizeof(err));
	/* Renumbered to hide the gap: the MACs still break. */
	seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err));
	assert_int_not_equal(
	        verify_bad_id(c,
	                      "DELETE FROM audit_log WHERE id = 6; "
	                      "UPDATE audit_log SET id = id - 1 WHERE id > 6"),
	        0);
	seula_db_exec(c->db, "ROLLBACK TO t; RELEASE t", err, sizeof(err));
	/* A row copied into the middle. */
	seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err));
	assert_int_not_equal(
	        verify_bad_id(
	                c,
	                "UPDATE audit_log SET id = id + 1000 WHERE id >= 7; "
	                "UPDATE audit_log SET id = id - 999 WHERE id > 1000; "
	                "INSERT INTO audit_log SELECT 7, ts, staff_id, "
	                "staff_name, ip_anon, action, route, subject, "
	                "outcome, detail, prev_mac, mac FROM audit_log "
	                "WHERE id = 3"),
	        0);
	seula_db_exec(c->db, "ROLLBACK TO t; RELEASE t", err, sizeof(err));
	assert_int_equal(verify_bad_id(c, NULL), 0);
}

static void audit_cut_tail_is_found(void **state)
{
	struct chain *c = *state;
	char err[256];
	seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err));
	assert_int_not_equal(
	        verify_bad_id(c, "DELETE FROM audit_log WHERE id > 7"), 0);
	seula_db_exec(c->db, "ROLLBACK TO t; RELEASE t", err, sizeof(err));
	/* The head rewound to row 7 by someone without the key. */
	seula_db_exec(c->db, "SAVEPOINT t", err, sizeof(err));
	assert_int_not_equal(
	        verify_bad_id(c, "DELETE FROM audit_log WHERE id > 7; "
	                         "UPDATE chain_heads SET last_id = 7, mac = "
	                         "(SELECT mac FROM audit_log WHERE id = 7)"),
	        0);
	seula_db_exec(c->db, "ROLLBACK TO t; RELEASE t", err, sizeof(err));
	assert_int_equal(verify_bad_id(c, NULL), 0);
}

static void audit_other_key_fails(void **state)
{
	struct chain *c = *state;
	unsigned char other[SEULA_SECRET_BYTES];
	memcpy(other, c->key, sizeof(other));
	other[0] ^= 1;
	struct seula_chain_report r;
	assert_int_equal(seula_audit_verify(c->db, other, &r), SEULA_ECONFLICT);
	assert_int_equal(r.bad_id, 1);
}

/* ---- the secret key file --------------------------------------------------
 */

static void secret_is_created_private_and_stable(void **state)
{
	(void)state;
	char dir[] = "/tmp/seula-key-XXXXXX", path[96], err[256];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/sub/seula.key", dir);
	unsigned char a[SEULA_SECRET_BYTES], b[SEULA_SECRET_BYTES];
	sqlite3 *db = NULL;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	/* Missing and not to be created: an error, not a fresh key (which
	 * would make every chain look broken). */
	assert_int_not_equal(seula_secret_load(path, a, err, sizeof(err)),
	                     SEULA_OK);
	/* A new database gets one. */
	assert_int_equal(seula_secret_open(db, path, a, err, sizeof(err)),
	                 SEULA_OK);
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal(st.st_size, SEULA_SECRET_BYTES);
	assert_int_equal(seula_secret_open(db, path, b, err, sizeof(err)),
	                 SEULA_OK);
	assert_memory_equal(a, b, sizeof(a));
	assert_int_equal(seula_secret_load(path, b, err, sizeof(err)),
	                 SEULA_OK);
	assert_memory_equal(a, b, sizeof(a));
	/* Readable by others: refused, with a message that says why. */
	chmod(path, 0644);
	assert_int_not_equal(seula_secret_load(path, b, err, sizeof(err)),
	                     SEULA_OK);
	assert_non_null(strstr(err, path));
	/* Truncated: refused. */
	chmod(path, 0600);
	assert_int_equal(truncate(path, 16), 0);
	assert_int_not_equal(seula_secret_load(path, b, err, sizeof(err)),
	                     SEULA_OK);
	/* A FIFO: refused at once, not waited on. */
	unlink(path);
	assert_int_equal(mkfifo(path, 0600), 0);
	assert_int_not_equal(seula_secret_open(db, path, b, err, sizeof(err)),
	                     SEULA_OK);
	assert_non_null(strstr(err, "not a secret key"));
	sqlite3_close(db);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	assert_int_equal(system(cmd), 0);
}

/* A database that holds rows the key signed, with its key missing, was
 * restored without it: a new key would leave every chain unverifiable, so
 * none is made, whichever signed table holds the rows. */
static void secret_missing_for_signed_rows_is_refused(void **state)
{
	(void)state;
	static const char *const tables[] = {"audit_log", "chain_heads",
	                                     "consent_records",
	                                     "consent_visitors"};
	for (size_t i = 0; i < sizeof(tables) / sizeof(*tables); i++) {
		char dir[] = "/tmp/seula-key-XXXXXX", path[96], err[512];
		char sql[128];
		assert_non_null(mkdtemp(dir));
		snprintf(path, sizeof(path), "%s/seula.key", dir);
		unsigned char k[SEULA_SECRET_BYTES];
		sqlite3 *db = NULL;
		assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
		snprintf(sql, sizeof(sql), "CREATE TABLE %s (x); ", tables[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		                 SQLITE_OK);
		/* Empty: still a new database. */
		assert_int_equal(
		        seula_secret_open(db, path, k, err, sizeof(err)),
		        SEULA_OK);
		assert_int_equal(unlink(path), 0);
		snprintf(sql, sizeof(sql), "INSERT INTO %s VALUES (1)",
		         tables[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL),
		                 SQLITE_OK);
		assert_int_equal(
		        seula_secret_open(db, path, k, err, sizeof(err)),
		        SEULA_ECONFLICT);
		assert_non_null(strstr(err, path));
		assert_non_null(strstr(err, tables[i]));
		struct stat st;
		assert_int_not_equal(stat(path, &st), 0);
		sqlite3_close(db);
		assert_int_equal(rmdir(dir), 0);
	}
}

/* ---- password policy ------------------------------------------------------
 */

static void password_policy(void **state)
{
	(void)state;
	static const char *const refused[] = {
	        "",                  /* empty */
	        "Sh0rt-pass",        /* under 12 */
	        "password1234",      /* common + digits */
	        "P@ssw0rd2024!",     /* common, disguised */
	        "iloveyou12345",     /* common + digits */
	        "qwertyuiopasdf",    /* mostly a common one */
	        "Monkey!!!!!!!!",    /* common + symbols */
	        "Lovelace-Ada-1815", /* the user's name */
	        "passwordpassword",  /* common, repeated */
	        "Seula-password1",   /* the product's name + common */
	        "lovelace-monkey!",  /* the user's name + common */
	        "seulaseula2024!",   /* nothing but the product's name */
	        "abcabcabcabcabc",   /* one part repeated */
	        NULL};
	static const char *const accepted[] = {
	        "plum-Orbit-7-lantern", "copper+Fjord+42+heron",
	        "correct horse battery staple", "seula-Orbit-plum-lantern",
	        NULL};
	char why[256];
	for (size_t i = 0; refused[i]; i++) {
		why[0] = '\0';
		if (seula_password_check("lovelace", refused[i], why,
		                         sizeof(why)) == SEULA_OK)
			fail_msg("accepted '%s'", refused[i]);
		assert_true(why[0] != '\0');
	}
	for (size_t i = 0; accepted[i]; i++)
		if (seula_password_check("lovelace", accepted[i], why,
		                         sizeof(why)) != SEULA_OK)
			fail_msg("refused '%s': %s", accepted[i], why);
	char longest[SEULA_PASSWORD_MAX + 2];
	memset(longest, 'x', sizeof(longest) - 1);
	longest[sizeof(longest) - 1] = '\0';
	assert_int_not_equal(
	        seula_password_check("lovelace", longest, why, sizeof(why)),
	        SEULA_OK);
}

static void password_hash_is_argon2id_and_verifies(void **state)
{
	(void)state;
	char hash[crypto_pwhash_STRBYTES];
	assert_int_equal(seula_password_hash("plum-Orbit-7-lantern", hash),
	                 SEULA_OK);
	assert_true(strncmp(hash, "$argon2id$", 10) == 0);
	assert_null(strstr(hash, "plum"));
	assert_true(seula_password_verify(hash, "plum-Orbit-7-lantern"));
	assert_false(seula_password_verify(hash, "plum-Orbit-7-lanterN"));
	assert_false(seula_password_verify(NULL, "plum-Orbit-7-lantern"));
	char again[crypto_pwhash_STRBYTES];
	seula_password_hash("plum-Orbit-7-lantern", again);
	assert_string_not_equal(hash, again); /* salted */
}

/* An audit subject names a person whole, alone, in a list, or in a
 * range of ids; "1" is not "11", and a receipt's dashes are no range. */
static void audit_subject_lists_and_ranges(void **state)
{
	(void)state;
	const char *list = "3,17-42,50";
	const char *in[] = {"3", "17", "30", "42", "50"};
	const char *out[] = {"1", "4", "16",     "43", "5",
	                     "0", "",  "17-42x", "-1", "999999999999999999999"};
	for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++)
		assert_true(seula_audit_subject_has(list, in[i]));
	for (size_t i = 0; i < sizeof(out) / sizeof(out[0]); i++)
		assert_false(seula_audit_subject_has(list, out[i]));
	assert_true(seula_audit_subject_has("11", "11"));
	assert_false(seula_audit_subject_has("11", "1"));
	assert_true(seula_audit_subject_has("1,2", "1,2"));
	assert_false(seula_audit_subject_has("1,2,3", "1,2"));
	const char *receipt = "0e5c9b1c-4f2a-4d7e-9a3b-2b8c1d0e6f4a";
	assert_true(seula_audit_subject_has(receipt, receipt));
	assert_false(seula_audit_subject_has(receipt, "4"));
	assert_true(seula_audit_subject_has("visitor:ab12", "visitor:ab12"));
	assert_false(seula_audit_subject_has("visitor:ab12", "ab12"));
	assert_false(seula_audit_subject_has(NULL, "3"));
	assert_false(seula_audit_subject_has("5-3", "4"));
	/* As ids are written: "017" is no id, and no range holds it. */
	assert_false(seula_audit_subject_has(list, "017"));
	assert_true(seula_audit_subject_has("017,3", "017"));
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(ratelimit_locks_after_max_in_window),
	        cmocka_unit_test(ratelimit_forgets_old_failures),
	        cmocka_unit_test(ratelimit_table_is_fixed_under_a_flood),
	        cmocka_unit_test(ratelimit_reservations_count_until_released),
	        cmocka_unit_test(ratelimit_success_keeps_other_reservations),
	        cmocka_unit_test(tokens_are_random_and_only_hashed),
	        cmocka_unit_test(device_cookie_is_bound_to_name_and_key),
	        cmocka_unit_test(device_cookie_refuses_forgeries_and_age),
	        cmocka_unit_test(sessions_idle_and_absolute_timeouts),
	        cmocka_unit_test(sessions_background_checks_do_not_touch),
	        cmocka_unit_test(sessions_unknown_and_removed),
	        cmocka_unit_test(sessions_full_drops_least_recently_seen),
	        cmocka_unit_test(sessions_api_keys_are_a_kind_apart),
	        cmocka_unit_test_setup_teardown(audit_intact_chain_verifies,
	                                        chain_setup, chain_teardown),
	        cmocka_unit_test_setup_teardown(
	                audit_edit_of_any_field_is_found, chain_setup,
	                chain_teardown),
	        cmocka_unit_test_setup_teardown(
	                audit_deletion_and_insertion_are_found, chain_setup,
	                chain_teardown),
	        cmocka_unit_test_setup_teardown(audit_cut_tail_is_found,
	                                        chain_setup, chain_teardown),
	        cmocka_unit_test_setup_teardown(audit_other_key_fails,
	                                        chain_setup, chain_teardown),
	        cmocka_unit_test(audit_subject_lists_and_ranges),
	        cmocka_unit_test(secret_is_created_private_and_stable),
	        cmocka_unit_test(secret_missing_for_signed_rows_is_refused),
	        cmocka_unit_test(password_policy),
	        cmocka_unit_test(password_hash_is_argon2id_and_verifies),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
