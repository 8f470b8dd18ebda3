/*
 * auth.c - logins, logouts, sessions, the gate of staff routes, and the
 * audit log's reading route.
 */
#include "auth.h"

#include "apikeys.h"
#include "date.h"

#include "audit.h"
#include "device.h"
#include "host.h"
#include "http.h"
#include "netaddr.h"
#include "ratelimit.h"
#include "sessions.h"
#include "staff.h"
#include "subject.h"

#include <event2/buffer.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <limits.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define LOGIN_BODY_MAX 4096
/* Where staff connect from, for the audit log: a /24 or a /48. */
#define AUDIT_V4_BITS 24
#define AUDIT_V6_BITS 48

struct seula_auth {
	const struct seula_config *cfg;
	const unsigned char *key;
	struct seula_store *store;
	struct seula_readers *readers;
	const struct seula_logger *log;
	struct seula_sessions *sessions;
	struct seula_ratelimit *by_account, *by_address, *by_device;
	unsigned char device_key[SEULA_DEVICE_KEY];
	bool loaded;
	struct seula_task task, watch;
};

/* ---- small things ------------------------------------------------------ */

static void reply_json(struct evhttp_request *req, int status, json_t *doc)
{
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	seula_reply(req, status, "application/json", text, strlen(text));
	free(text);
}

static bool secure_request(const struct seula_auth *a,
                           struct evhttp_request *req)
{
	switch (a->cfg->secure_cookie) {
	case SEULA_SECURE_ALWAYS: return true;
	case SEULA_SECURE_NEVER: return false;
	default:
		return seula_request_https(req, a->cfg->trusted,
		                           a->cfg->n_trusted);
	}
}

static void set_cookie(const struct seula_auth *a, struct evhttp_request *req,
                       const char *name, const char *path, const char *value,
                       int64_t max_age)
{
	char cookie[256];
	snprintf(cookie, sizeof(cookie),
	         "%s=%s; Path=%s; Max-Age=%lld; HttpOnly; SameSite=Strict%s",
	         name, value, path, (long long)max_age,
	         secure_request(a, req) ? "; Secure" : "");
	evhttp_add_header(evhttp_request_get_output_headers(req), "Set-Cookie",
	                  cookie);
}

static void client(const struct seula_auth *a, struct evhttp_request *req,
                   struct seula_ip *ip, char anon[SEULA_IP_TEXT_MAX])
{
	seula_request_client_ip(req, a->cfg->trusted, a->cfg->n_trusted, ip);
	if (seula_ip_masked_text(ip, AUDIT_V4_BITS, AUDIT_V6_BITS, anon,
	                         SEULA_IP_TEXT_MAX) != SEULA_OK)
		anon[0] = '\0';
}

/* The per-address limit counts an IPv6 /64 as one address: one host
 * usually holds the whole /64 and could otherwise step through it. */
static struct seula_ip address_key(const struct seula_ip *ip)
{
	struct seula_ip k = *ip;
	if (k.family == 6)
		memset(k.bytes + 8, 0, 8);
	return k;
}

static int identify(struct seula_auth *a, struct evhttp_request *req,
                    struct seula_session *out)
{
	char token[SEULA_TOKEN_CHARS + 2];
	if (!seula_request_cookie(req, SEULA_SESSION_COOKIE, token,
	                          sizeof(token)))
		return SEULA_ENOTFOUND;
	/* A page marks the requests it makes on its own (the dashboard's
	 * realtime poll): answered, but no sign that anyone is there. */
	const char *bg = evhttp_find_header(
	        evhttp_request_get_input_headers(req), "X-Seula-Background");
	bool touch = !(bg && strcmp(bg, "1") == 0);
	return seula_sessions_check(a->sessions, token, seula_clock_ms(), touch,
	                            SEULA_SESSION_BROWSER, out);
}

static bool csrf_ok(const struct seula_session *s, struct evhttp_request *req)
{
	const char *h = evhttp_find_header(
	        evhttp_request_get_input_headers(req), SEULA_CSRF_HEADER);
	size_t n = strlen(s->csrf);
	/* An API key's row has none: no empty header matches it. */
	return n && h && strlen(h) == n && sodium_memcmp(h, s->csrf, n) == 0;
}

/* ---- audit entries written on their own --------------------------------- */

struct audit_job {
	struct seula_job job;
	const unsigned char *key;
	struct seula_audit_entry e;
	char name[65], ip[SEULA_IP_TEXT_MAX], route[160], detail[128];
};

static int audit_job_call(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct audit_job *j = arg;
	return seula_audit_append(db, j->key, &j->e, err, errlen);
}

static void audit_job_done(struct seula_completion *c)
{
	free(c);
}

/* A denial: written without holding the reply back (it touched nothing). */
static void audit_denial(struct seula_auth *a, const struct seula_loop *loop,
                         const struct seula_session *who, const char *ip,
                         const char *route, const char *detail)
{
	struct audit_job *j = calloc(1, sizeof(*j));
	if (!j)
		return;
	j->key = a->key;
	snprintf(j->name, sizeof(j->name), "%s", who->name);
	snprintf(j->ip, sizeof(j->ip), "%s", ip);
	snprintf(j->route, sizeof(j->route), "%s", route);
	snprintf(j->detail, sizeof(j->detail), "%s", detail);
	j->e = (struct seula_audit_entry){.ts_ms = seula_clock_ms(),
	                                  .staff_id = who->staff_id,
	                                  .staff_name = j->name,
	                                  .ip_anon = j->ip[0] ? j->ip : NULL,
	                                  .action = "access",
	                                  .route = j->route,
	                                  .outcome = "denied",
	                                  .detail = j->detail};
	j->job.kind = SEULA_JOB_CALL;
	j->job.call = audit_job_call;
	j->job.call_arg = j;
	j->job.cq = loop->cq;
	j->job.done.run = audit_job_done;
	if (seula_store_submit(a->store, &j->job) != SEULA_OK) {
		seula_log(a->log, SEULA_LOG_WARN, "auth",
		          "a denial of %s could not be audited: the queue is "
		          "full",
		          who->name);
		free(j);
	}
}

/* ---- login -----------------------------------------------------------------
 */

struct login {
	struct seula_job job;
	struct seula_auth *auth;
	struct evhttp_request *req;
	struct seula_loop loop;
	char name[SEULA_STAFF_NAME_MAX + 1];
	char lname[SEULA_STAFF_NAME_MAX + 1]; /* the name in lower case */
	char *password; /* sodium_malloc'd; wiped when checked */
	struct seula_ip ip;
	struct seula_ip addr_key; /* address_key(&ip) */
	char ip_anon[SEULA_IP_TEXT_MAX];
	/* A device cookie this browser got at a sign-in to this name: the
	 * login is limited by the device's own failures alone, not by the
	 * account's and the address's, which anyone can run up. */
	bool device;
	struct seula_device dev;
	/* Its cookie is older than the account's password (reader). */
	bool stale;
	/* A check reserved with the device's limiter or with both of the
	 * others, not yet given back. */
	bool reserved;
	bool had_old;
	unsigned char old_hash[SEULA_TOKEN_HASH];
	/* results */
	bool found, ok, locked_now;
	/* The account changed between the check and the session's row. */
	bool changed;
	struct seula_staff staff;
	char token[SEULA_TOKEN_CHARS + 1];
	char device_token[SEULA_DEVICE_CHARS + 1]; /* the success's new one */
	struct seula_session session;
};

/* Gives the login's reservations back, once: a success forgets the
 * account's failures (not the address's), a failure counts against both,
 * a login never checked counts for nothing.  From a device, the same for
 * the device alone: its success leaves a lock others caused in place. */
static void login_settle(struct login *l, enum seula_attempt outcome,
                         int64_t now)
{
	struct seula_auth *a = l->auth;
	if (!l->reserved)
		return;
	l->reserved = false;
	if (l->device) {
		seula_ratelimit_release(a->by_device, l->dev.nonce,
		                        sizeof(l->dev.nonce), outcome, now);
		return;
	}
	seula_ratelimit_release(a->by_account, l->lname, strlen(l->lname),
	                        outcome, now);
	seula_ratelimit_release(
	        a->by_address, &l->addr_key, sizeof(l->addr_key),
	        outcome == SEULA_ATTEMPT_OK ? SEULA_ATTEMPT_UNCHECKED : outcome,
	        now);
}

/* Every end of a login comes here: a reservation still out goes back
 * uncounted (the check never ran, or its result was an error). */
static void login_free(struct login *l)
{
	login_settle(l, SEULA_ATTEMPT_UNCHECKED, seula_clock_ms());
	if (l->password)
		sodium_free(l->password);
	sodium_memzero(l->token, sizeof(l->token));
	sodium_memzero(l->device_token, sizeof(l->device_token));
	sodium_memzero(&l->dev, sizeof(l->dev));
	sodium_memzero(&l->ip, sizeof(l->ip));
	sodium_memzero(&l->addr_key, sizeof(l->addr_key));
	atomic_fetch_sub(l->loop.inflight, 1);
	free(l);
}

/* Reader thread: one Argon2id run whatever the name. */
static int login_verify(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct login *l = arg;
	int rc = seula_staff_find(db, l->name, &l->staff);
	if (rc != SEULA_OK && rc != SEULA_ENOTFOUND) {
		snprintf(err, errlen, "login: %s", sqlite3_errmsg(db));
		return rc;
	}
	l->found = rc == SEULA_OK;
	/* A new password voids the cookies from before it: no check here,
	 * the login goes again as one without a cookie (login_checked()). */
	if (l->device && (!l->found || l->staff.password_changed_ms !=
	                                       l->dev.password_changed_ms)) {
		l->stale = true;
		sodium_memzero(l->staff.hash, sizeof(l->staff.hash));
		return SEULA_OK;
	}
	bool match = seula_password_verify(l->found ? l->staff.hash : NULL,
	                                   l->password);
	l->ok = l->found && match && !l->staff.disabled && l->staff.role;
	sodium_memzero(l->staff.hash, sizeof(l->staff.hash));
	return SEULA_OK;
}

static const char *login_detail(const struct login *l)
{
	if (l->changed)
		return "the account changed during the login";
	if (l->ok)
		return l->device ? "from a known device" : NULL;
	/* A device's cookie is bound to the name it names: on its path
	 * only the password can have been wrong. */
	if (l->locked_now)
		return l->device ? "wrong password, from a known device; the "
		                   "device is now locked out"
		                 : "wrong name or password; now locked out";
	if (l->found && l->staff.disabled)
		return "the account is disabled";
	return l->device ? "wrong password, from a known device"
	                 : "wrong name or password";
}

/* Writer: the session row (a success), the audit entry (both). */
static int login_record(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct login *l = arg;
	struct seula_auth *a = l->auth;
	int64_t now = seula_clock_ms();
	sqlite3_stmt *st = NULL;
	if (l->had_old) {
		/* Whatever session came with the login request ends: a
		 * session id planted before login is never promoted. */
		if (sqlite3_prepare_v2(
		            db,
		            "DELETE FROM sessions WHERE token_hash = ? AND "
		            "kind = 'browser'",
		            -1, &st, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_blob(st, 1, l->old_hash, SEULA_TOKEN_HASH,
		                  SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	if (l->ok) {
		/* The check read the account on a reader, before this write
		 * lock: after a new password, role or disable committed since,
		 * the session would be the old account's, which the change
		 * could not end or update.  Such a login fails. */
		struct seula_staff now_staff;
		int rc = seula_staff_find_id(db, l->staff.id, &now_staff);
		sodium_memzero(now_staff.hash, sizeof(now_staff.hash));
		if (rc != SEULA_OK && rc != SEULA_ENOTFOUND)
			goto fail;
		if (rc == SEULA_ENOTFOUND || now_staff.disabled ||
		    now_staff.role != l->staff.role ||
		    now_staff.password_changed_ms !=
		            l->staff.password_changed_ms) {
			l->ok = false;
			l->changed = true;
		}
	}
	if (l->ok) {
		if (sqlite3_prepare_v2(db,
		                       "INSERT INTO sessions (token_hash, "
		                       "staff_id, csrf, created_at, last_seen, "
		                       "ip_anon) VALUES (?, ?, ?, ?, ?, ?)",
		                       -1, &st, NULL) != SQLITE_OK)
			goto fail;
		sqlite3_bind_blob(st, 1, l->session.token_hash,
		                  SEULA_TOKEN_HASH, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, l->staff.id);
		sqlite3_bind_text(st, 3, l->session.csrf, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, l->session.created_ms);
		sqlite3_bind_int64(st, 5, l->session.created_ms);
		sqlite3_bind_text(st, 6, l->ip_anon, -1, SQLITE_STATIC);
		if (sqlite3_step(st) != SQLITE_DONE)
			goto fail;
		sqlite3_finalize(st);
		st = NULL;
	}
	struct seula_audit_entry e = {
	        .ts_ms = now,
	        .staff_id = l->found ? l->staff.id : 0,
	        /* A name no account has is not kept: it is often a
	         * password typed into the wrong field. */
	        .staff_name = l->found ? l->staff.name : "(unknown name)",
	        .ip_anon = l->ip_anon[0] ? l->ip_anon : NULL,
	        .action = l->ok ? "login" : "login_failed",
	        .route = "POST /api/login",
	        .outcome = l->ok ? "ok" : "failed",
	        .detail = login_detail(l),
	};
	return seula_audit_append(db, a->key, &e, err, errlen);
fail:
	snprintf(err, errlen, "login: %s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return SEULA_EIO;
}

static void login_done(struct seula_completion *c)
{
	struct login *l = (struct login *)c;
	struct seula_auth *a = l->auth;
	if (!l->job.committed || l->job.result != SEULA_OK) {
		evhttp_add_header(evhttp_request_get_output_headers(l->req),
		                  "Retry-After", "5");
		seula_reply_error(l->req, 503, "storage_unavailable",
		                  "the login could not be recorded; try again");
	} else if (l->ok) {
		seula_sessions_put(a->sessions, &l->session);
		set_cookie(a, l->req, SEULA_SESSION_COOKIE, "/", l->token,
		           a->cfg->session_lifetime_s);
		/* Only the login reads it. */
		set_cookie(a, l->req, SEULA_DEVICE_COOKIE, "/api/login",
		           l->device_token, SEULA_DEVICE_LIFETIME_S);
		reply_json(l->req, 200,
		           json_pack("{s:s, s:s, s:s}", "name", l->session.name,
		                     "role", seula_role_name(l->session.role),
		                     "csrf", l->session.csrf));
	} else {
		seula_reply_error(l->req, 401, "invalid_credentials",
		                  "wrong name or password");
	}
	login_free(l);
}

static void login_start(struct seula_auth *a, struct login *l);

static void login_checked(struct seula_completion *c)
{
	struct login *l = (struct login *)c;
	struct seula_auth *a = l->auth;
	if (l->job.cancelled) { /* not checked: the server is stopping */
		struct evkeyvalq *h = evhttp_request_get_output_headers(l->req);
		evhttp_add_header(h, "Connection", "close");
		evhttp_add_header(h, "Retry-After", "5");
		seula_reply_error(l->req, 503, "shutting_down",
		                  "the server is stopping; send again shortly");
		login_free(l);
		return;
	}
	if (l->job.result != SEULA_OK) {
		seula_reply_error(l->req, 500, "internal",
		                  "the login could not be checked");
		login_free(l);
		return;
	}
	if (l->stale) {
		login_settle(l, SEULA_ATTEMPT_UNCHECKED, seula_clock_ms());
		l->device = l->stale = false;
		login_start(a, l);
		return;
	}
	sodium_free(l->password);
	l->password = NULL;
	int64_t now = seula_clock_ms();
	if (l->ok) {
		login_settle(l, SEULA_ATTEMPT_OK, now);
		struct seula_session *s = &l->session;
		memset(s, 0, sizeof(*s));
		seula_token_new(l->token, s->token_hash);
		seula_token_new(s->csrf, NULL);
		s->staff_id = l->staff.id;
		snprintf(s->name, sizeof(s->name), "%s", l->staff.name);
		s->role = l->staff.role;
		s->created_ms = s->last_seen_ms = now;
		snprintf(s->ip_anon, sizeof(s->ip_anon), "%s", l->ip_anon);
		seula_device_issue(a->device_key, l->lname,
		                   l->staff.password_changed_ms, now,
		                   l->device_token);
	} else {
		login_settle(l, SEULA_ATTEMPT_FAILED, now);
		l->locked_now =
		        l->device ? seula_ratelimit_locked(
		                            a->by_device, l->dev.nonce,
		                            sizeof(l->dev.nonce), now, NULL)
		                  : seula_ratelimit_locked(
		                            a->by_account, l->lname,
		                            strlen(l->lname), now, NULL) ||
		                            seula_ratelimit_locked(
		                                    a->by_address, &l->addr_key,
		                                    sizeof(l->addr_key), now,
		                                    NULL);
	}
	if (l->had_old)
		seula_sessions_remove(a->sessions, l->old_hash,
		                      SEULA_SESSION_BROWSER);
	l->job.kind = SEULA_JOB_CALL;
	l->job.call = login_record;
	l->job.done.run = login_done;
	int rc = seula_store_submit(a->store, &l->job);
	if (rc != SEULA_OK) {
		evhttp_add_header(evhttp_request_get_output_headers(l->req),
		                  "Retry-After", "1");
		seula_reply_error(l->req, 503, "busy", "try again in a moment");
		login_free(l);
	}
}

/* Reserves the check with both limiters (from a device: with the
 * device's) before it is queued: the failures are only counted when a
 * check ends, so without a reservation every login sent before the first
 * failures came back would be checked.  False (and *retry) when a key is
 * locked or has its failures and checks under way at the limit. */
static bool reserve(struct seula_auth *a, struct login *l, int64_t now,
                    int64_t *retry)
{
	int64_t r1 = 0, r2 = 0;
	if (l->device) {
		l->reserved = seula_ratelimit_reserve(
		        a->by_device, l->dev.nonce, sizeof(l->dev.nonce), now,
		        retry);
		return l->reserved;
	}
	if (!seula_ratelimit_reserve(a->by_account, l->lname, strlen(l->lname),
	                             now, &r1)) {
		/* The longer wait of the two, as when both are locked. */
		seula_ratelimit_locked(a->by_address, &l->addr_key,
		                       sizeof(l->addr_key), now, &r2);
		*retry = r1 > r2 ? r1 : r2;
		return false;
	}
	if (!seula_ratelimit_reserve(a->by_address, &l->addr_key,
	                             sizeof(l->addr_key), now, &r2)) {
		seula_ratelimit_release(a->by_account, l->lname,
		                        strlen(l->lname),
		                        SEULA_ATTEMPT_UNCHECKED, now);
		*retry = r2;
		return false;
	}
	l->reserved = true;
	return true;
}

static void handle_login(struct seula_auth *a, struct evhttp_request *req,
                         const struct seula_loop *loop)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *ct = evhttp_find_header(in, "Content-Type");
	/* JSON only: a cross-site form cannot send it, so nobody can log a
	 * visitor in to an account of theirs. */
	if (!seula_json_media_type(ct, false)) {
		seula_reply_error(req, 415, "unsupported_media_type",
		                  "send {\"username\", \"password\"} as "
		                  "application/json");
		return;
	}
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	if (len > LOGIN_BODY_MAX) {
		seula_reply_error(req, 413, "body_too_large",
		                  "a login is at most %d bytes",
		                  LOGIN_BODY_MAX);
		return;
	}
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)evbuffer_pullup(body, -1), len,
	                         JSON_REJECT_DUPLICATES, &jerr);
	const char *name = NULL, *password = NULL;
	if (!doc ||
	    json_unpack_ex(doc, &jerr, JSON_STRICT, "{s:s, s:s}", "username",
	                   &name, "password", &password) != 0) {
		json_decref(doc);
		seula_reply_error(
		        req, 400, "invalid_json",
		        "send exactly {\"username\": ..., \"password\": "
		        "...}");
		return;
	}
	size_t nl = strlen(name), pl = strlen(password);
	if (nl == 0 || nl > SEULA_STAFF_NAME_MAX || pl == 0 ||
	    pl > SEULA_PASSWORD_MAX) {
		json_decref(doc);
		seula_reply_error(req, 400, "invalid_field",
		                  "username 1-%d and password 1-%d characters",
		                  SEULA_STAFF_NAME_MAX, SEULA_PASSWORD_MAX);
		return;
	}
	struct login *l = calloc(1, sizeof(*l));
	if (!l || !(l->password = sodium_malloc(pl + 1))) {
		free(l);
		json_decref(doc);
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	memcpy(l->password, password, pl + 1);
	snprintf(l->name, sizeof(l->name), "%s", name);
	/* jansson's copy of the password goes with the document. */
	json_object_set_new(doc, "password", json_string(""));
	json_decref(doc);
	l->auth = a;
	l->req = req;
	l->loop = *loop;
	atomic_fetch_add(loop->inflight, 1);
	client(a, req, &l->ip, l->ip_anon);
	l->addr_key = address_key(&l->ip);
	snprintf(l->lname, sizeof(l->lname), "%s", l->name);
	for (char *p = l->lname; *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	/* One for another name, forged or too old: as if there were none. */
	char dev[SEULA_DEVICE_CHARS + 2];
	l->device = seula_request_cookie(req, SEULA_DEVICE_COOKIE, dev,
	                                 sizeof(dev)) &&
	            seula_device_check(a->device_key, dev, l->lname,
	                               seula_clock_ms(), &l->dev);
	sodium_memzero(dev, sizeof(dev));
	char old[SEULA_TOKEN_CHARS + 2];
	if (seula_request_cookie(req, SEULA_SESSION_COOKIE, old, sizeof(old))) {
		l->had_old = true;
		seula_token_hash(old, l->old_hash);
	}
	login_start(a, l);
}

/* Reserves the check and queues it, or answers (429, 503) and frees. */
static void login_start(struct seula_auth *a, struct login *l)
{
	struct evhttp_request *req = l->req;
	int64_t retry = 0;
	if (!reserve(a, l, seula_clock_ms(), &retry)) {
		char secs[24];
		snprintf(secs, sizeof(secs), "%lld",
		         (long long)(retry + 999) / 1000);
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Retry-After", secs);
		seula_reply_error(req, 429, "too_many_attempts",
		                  "too many failed logins; try again later");
		login_free(l);
		return;
	}
	l->job.kind = SEULA_JOB_CALL;
	l->job.call = login_verify;
	l->job.call_arg = l;
	l->job.cq = l->loop.cq;
	l->job.done.run = login_checked;
	if (seula_readers_submit(a->readers, &l->job) != SEULA_OK) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Retry-After", "1");
		seula_reply_error(req, 503, "busy", "try again in a moment");
		login_free(l);
	}
}

/* ---- logout ----------------------------------------------------------------
 */

struct logout {
	struct seula_job job;
	struct seula_auth *auth;
	struct evhttp_request *req;
	struct seula_loop loop;
	struct seula_session s;
	char ip_anon[SEULA_IP_TEXT_MAX];
};

static int logout_record(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct logout *o = arg;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE token_hash = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_blob(st, 1, o->s.token_hash, SEULA_TOKEN_HASH,
	                  SQLITE_STATIC);
	int step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return SEULA_EIO;
	struct seula_audit_entry e = {.ts_ms = seula_clock_ms(),
	                              .staff_id = o->s.staff_id,
	                              .staff_name = o->s.name,
	                              .ip_anon =
	                                      o->ip_anon[0] ? o->ip_anon : NULL,
	                              .action = "logout",
	                              .route = "POST /api/logout",
	                              .outcome = "ok"};
	return seula_audit_append(db, o->auth->key, &e, err, errlen);
}

static void logout_done(struct seula_completion *c)
{
	struct logout *o = (struct logout *)c;
	/* The session ended in memory before the commit; the cookie goes
	 * either way. */
	set_cookie(o->auth, o->req, SEULA_SESSION_COOKIE, "/", "", 0);
	if (o->job.committed && o->job.result == SEULA_OK)
		seula_reply(o->req, 204, NULL, NULL, 0);
	else
		seula_reply_error(o->req, 503, "storage_unavailable",
		                  "the session ended, but the logout could not "
		                  "be recorded");
	atomic_fetch_sub(o->loop.inflight, 1);
	free(o);
}

static void handle_logout(struct seula_auth *a, struct evhttp_request *req,
                          const struct seula_loop *loop)
{
	struct seula_session s;
	if (identify(a, req, &s) != SEULA_OK) {
		seula_reply_error(req, 401, "login_required", "not signed in");
		return;
	}
	if (!csrf_ok(&s, req)) {
		seula_reply_error(req, 403, "csrf_failed",
		                  "the " SEULA_CSRF_HEADER
		                  " header is missing or wrong");
		return;
	}
	seula_sessions_remove(a->sessions, s.token_hash, SEULA_SESSION_BROWSER);
	struct logout *o = calloc(1, sizeof(*o));
	if (!o) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	o->auth = a;
	o->req = req;
	o->loop = *loop;
	o->s = s;
	struct seula_ip ip;
	client(a, req, &ip, o->ip_anon);
	o->job.kind = SEULA_JOB_CALL;
	o->job.call = logout_record;
	o->job.call_arg = o;
	o->job.cq = loop->cq;
	o->job.done.run = logout_done;
	atomic_fetch_add(loop->inflight, 1);
	if (seula_store_submit(a->store, &o->job) != SEULA_OK) {
		atomic_fetch_sub(loop->inflight, 1);
		free(o);
		set_cookie(a, req, SEULA_SESSION_COOKIE, "/", "", 0);
		seula_reply_error(req, 503, "busy",
		                  "the session ended, but the logout could not "
		                  "be recorded");
	}
}

/* ---- me, and the gate
 * --------------------------------------------------------- */

/* [auth] staff_networks: false after a 403 when the client is outside. */
static bool network_ok(struct seula_auth *a, struct evhttp_request *req)
{
	if (a->cfg->n_staff_nets == 0)
		return true;
	struct seula_ip ip;
	seula_request_client_ip(req, a->cfg->trusted, a->cfg->n_trusted, &ip);
	if (seula_cidr_list_contains(a->cfg->staff_nets, a->cfg->n_staff_nets,
	                             &ip))
		return true;
	seula_reply_error(req, 403, "network_not_allowed",
	                  "staff pages are not reachable from this network");
	return false;
}

/* The request's live session, or SEULA_EINVAL after a 401 that says
 * whether there was none or it ran out. */
static int session_or_401(struct seula_auth *a, struct evhttp_request *req,
                          struct seula_session *s, const char *message)
{
	int rc = identify(a, req, s);
	if (rc == SEULA_OK)
		return SEULA_OK;
	seula_reply_error(req, 401,
	                  rc == SEULA_ECONFLICT ? "session_expired"
	                                        : "login_required",
	                  "%s", message);
	return SEULA_EINVAL;
}

static json_t *me_json(const struct seula_auth *a,
                       const struct seula_session *s)
{
	return json_pack("{s:b, s:s, s:s, s:s, s:I}", "signed_in", 1, "name",
	                 s->name, "role", seula_role_name(s->role), "csrf",
	                 s->csrf, "idle_timeout_s",
	                 (json_int_t)a->cfg->session_idle_s);
}

static void handle_me(struct seula_auth *a, struct evhttp_request *req)
{
	struct seula_session s;
	if (session_or_401(a, req, &s, "not signed in") != SEULA_OK)
		return;
	reply_json(req, 200, me_json(a, &s));
}

/* /api/me without the 401: the sign-in page and the dashboard ask first
 * whether there is a session, and "no" is an answer, not an error. */
static void handle_session(struct seula_auth *a, struct evhttp_request *req)
{
	struct seula_session s;
	int rc = identify(a, req, &s);
	if (rc == SEULA_OK)
		reply_json(req, 200, me_json(a, &s));
	else
		reply_json(req, 200,
		           json_pack("{s:b, s:b}", "signed_in", 0, "expired",
		                     rc == SEULA_ECONFLICT));
}

bool seula_auth_handle(struct seula_auth *a, struct evhttp_request *req,
                       const char *path, enum evhttp_cmd_type cmd,
                       const struct seula_loop *loop)
{
	struct {
		const char *path;
		enum evhttp_cmd_type cmd;
		const char *allow;
	} routes[] = {
	        {"/api/login", EVHTTP_REQ_POST, "POST"},
	        {"/api/logout", EVHTTP_REQ_POST, "POST"},
	        {"/api/me", EVHTTP_REQ_GET, "GET"},
	        {"/api/session", EVHTTP_REQ_GET, "GET"},
	};
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++) {
		if (strcmp(path, routes[i].path) != 0)
			continue;
		if (!network_ok(a, req)) {
			/* answered */
		} else if (cmd != routes[i].cmd) {
			evhttp_add_header(
			        evhttp_request_get_output_headers(req), "Allow",
			        routes[i].allow);
			seula_reply_error(req, 405, "method_not_allowed",
			                  "%s takes %s", path, routes[i].allow);
		} else if (i == 0) {
			handle_login(a, req, loop);
		} else if (i == 1) {
			handle_logout(a, req, loop);
		} else if (i == 2) {
			handle_me(a, req);
		} else {
			handle_session(a, req);
		}
		return true;
	}
	return false;
}

/* A 401 for a key that does not open anything, with the challenge RFC 6750
 * asks for. */
static int key_401(struct evhttp_request *req, const char *code,
                   const char *message)
{
	evhttp_add_header(evhttp_request_get_output_headers(req),
	                  "WWW-Authenticate",
	                  "Bearer realm=\"seula\", error=\"invalid_token\"");
	seula_reply_error(req, 401, code, "%s", message);
	return SEULA_EINVAL;
}

/* Whether an Authorization header offers an API key: "Bearer seula_..."
 * (the scheme in any case).  Any other (a proxy's Basic) is not Seula's:
 * the cookie decides as if it were not there. */
static bool offers_key(const char *header)
{
	static const char scheme[] = "Bearer ";
	if (!header || strncasecmp(header, scheme, sizeof(scheme) - 1) != 0)
		return false;
	const char *v = header + sizeof(scheme) - 1;
	v += strspn(v, " ");
	return strncmp(v, SEULA_API_KEY_PREFIX, strlen(SEULA_API_KEY_PREFIX)) ==
	       0;
}

/* The key a header offers: its session and id (apikeys.h) on SEULA_OK,
 * and on SEULA_ECONFLICT (expired); SEULA_ENOTFOUND for none.  Touched
 * (last used now) only when asked: a refused request is no use. */
static int find_key(struct seula_auth *a, const char *header, bool touch,
                    struct seula_session *s,
                    char id[SEULA_API_KEY_ID_CHARS + 1])
{
	const size_t pre = strlen(SEULA_API_KEY_PREFIX);
	const char *v = header + strlen("Bearer ");
	v += strspn(v, " ");
	size_t n = strcspn(v, " ");
	if (v[n + strspn(v + n, " ")] != '\0' || n != pre + SEULA_TOKEN_CHARS)
		return SEULA_ENOTFOUND;
	char token[SEULA_TOKEN_CHARS + 1];
	memcpy(token, v + pre, SEULA_TOKEN_CHARS);
	token[SEULA_TOKEN_CHARS] = '\0';
	int rc = seula_sessions_check(a->sessions, token, seula_clock_ms(),
	                              touch, SEULA_SESSION_API_KEY, s);
	sodium_memzero(token, sizeof(token));
	if (rc == SEULA_OK || rc == SEULA_ECONFLICT)
		seula_apikey_id(s->token_hash, id);
	return rc;
}

/* The gate for a request that offers an API key, which reads the
 * statistics and nothing else.  Every refusal of a key that exists is
 * audited ("api_key=ID: why"), an expired one's too: a leaked key being
 * tried is what the log is for.  An unknown key is not: a flood of
 * guesses (256 random bits each) would fill the append-only log for
 * nothing. */
static int authorize_key(struct seula_auth *a, struct evhttp_request *req,
                         const char *header, unsigned roles, bool changes_state,
                         const char *route_label, struct seula_http_who *who,
                         const struct seula_loop *loop)
{
	struct seula_session s;
	char id[SEULA_API_KEY_ID_CHARS + 1];
	bool inside = network_ok(a, req); /* answered 403 when not */
	int rc = find_key(a, header, false, &s, id);
	if (rc != SEULA_OK && rc != SEULA_ECONFLICT)
		return inside ? key_401(req, "invalid_api_key",
		                        "the Authorization header holds no "
		                        "valid API key "
		                        "(Bearer " SEULA_API_KEY_PREFIX "...)")
		              : SEULA_EINVAL;
	const char *why = NULL;
	if (!inside) {
		why = "from outside [auth] staff_networks";
	} else if (rc == SEULA_ECONFLICT) {
		why = "the key has expired";
		key_401(req, "api_key_expired", "the API key has expired");
	} else if (!seula_apikey_route_allowed(route_label, changes_state)) {
		why = "a key reads the statistics only";
		seula_reply_error(req, 403, "api_key_scope",
		                  "an API key reads the statistics only (GET "
		                  "/api/stats/...); sign in for the rest");
	} else if (!(roles & (unsigned)s.role)) {
		why = "the role may not use this route";
		seula_reply_error(req, 403, "forbidden",
		                  "the %s role may not use this route",
		                  seula_role_name(s.role));
	}
	struct seula_ip ip;
	char anon[SEULA_IP_TEXT_MAX];
	client(a, req, &ip, anon);
	if (why) {
		char detail[96];
		snprintf(detail, sizeof(detail), "api_key=%s: %s", id, why);
		audit_denial(a, loop, &s, anon, route_label, detail);
		return SEULA_EINVAL;
	}
	find_key(a, header, true, &s, id); /* a use: last used now */
	memset(who, 0, sizeof(*who));
	who->staff_id = s.staff_id;
	snprintf(who->name, sizeof(who->name), "%s", s.name);
	who->role = s.role;
	snprintf(who->ip_anon, sizeof(who->ip_anon), "%s", anon);
	memcpy(who->api_key, id, sizeof(who->api_key));
	return SEULA_OK;
}

int seula_auth_authorize(struct seula_auth *a, struct evhttp_request *req,
                         unsigned roles, bool changes_state,
                         const char *route_label, struct seula_http_who *who,
                         const struct seula_loop *loop)
{
	struct seula_session s;
	struct seula_ip ip;
	char anon[SEULA_IP_TEXT_MAX];
	const char *authz = evhttp_find_header(
	        evhttp_request_get_input_headers(req), "Authorization");
	if (offers_key(authz))
		return authorize_key(a, req, authz, roles, changes_state,
		                     route_label, who, loop);
	if (!network_ok(a, req)) {
		/* Refused, and on record when a staff member's session came
		 * from outside (a stolen cookie, or a laptop off the VPN). */
		if (identify(a, req, &s) == SEULA_OK) {
			client(a, req, &ip, anon);
			audit_denial(a, loop, &s, anon, route_label,
			             "from outside [auth] staff_networks");
		}
		return SEULA_EINVAL;
	}
	if (session_or_401(a, req, &s, "this route is for signed-in staff") !=
	    SEULA_OK)
		return SEULA_EINVAL;
	client(a, req, &ip, anon);
	if (!(roles & (unsigned)s.role)) {
		audit_denial(a, loop, &s, anon, route_label,
		             "the role may not use this route");
		seula_reply_error(req, 403, "forbidden",
		                  "the %s role may not use this route",
		                  seula_role_name(s.role));
		return SEULA_EINVAL;
	}
	if (changes_state && !csrf_ok(&s, req)) {
		audit_denial(a, loop, &s, anon, route_label,
		             "missing or wrong CSRF token");
		seula_reply_error(req, 403, "csrf_failed",
		                  "the " SEULA_CSRF_HEADER
		                  " header is missing or wrong");
		return SEULA_EINVAL;
	}
	memset(who, 0, sizeof(*who));
	who->staff_id = s.staff_id;
	snprintf(who->name, sizeof(who->name), "%s", s.name);
	who->role = s.role;
	snprintf(who->ip_anon, sizeof(who->ip_anon), "%s", anon);
	who->signed_in_ms = s.created_ms;
	return SEULA_OK;
}

struct seula_sessions *seula_auth_sessions(struct seula_auth *a)
{
	return a->sessions;
}

/* ---- the session task -------------------------------------------------------
 */

static int sync_sessions(void *instance, struct sqlite3 *db, int64_t now_ms,
                         char **errmsg)
{
	struct seula_auth *a = instance;
	int rc = a->loaded ? seula_sessions_sync(a->sessions, db, now_ms)
	                   : seula_sessions_load(a->sessions, db, now_ms);
	if (rc == SEULA_OK)
		a->loaded = true;
	else
		*errmsg = strdup("sessions: the database could not be read");
	return rc;
}

/* Every second: a CLI change to an account (disabled, a new role or
 * password) reaches its open sessions now, not at the next sync. */
static int watch_staff(void *instance, struct sqlite3 *db, int64_t now_ms,
                       char **errmsg)
{
	struct seula_auth *a = instance;
	if (!a->loaded)
		return SEULA_OK; /* sync_sessions() runs at start first */
	int rc = seula_sessions_watch(a->sessions, db, now_ms);
	if (rc != SEULA_OK)
		*errmsg = strdup("sessions: the staff table could not be read");
	return rc;
}

int seula_auth_new(struct seula_auth **out, const struct seula_config *cfg,
                   const unsigned char *key, struct seula_store *store,
                   struct seula_readers *readers,
                   const struct seula_logger *log, char *err, size_t errlen)
{
	*out = NULL;
	struct seula_auth *a = calloc(1, sizeof(*a));
	if (!a)
		return SEULA_ENOMEM;
	a->cfg = cfg;
	a->key = key;
	a->store = store;
	a->readers = readers;
	a->log = log;
	a->sessions = seula_sessions_new((size_t)cfg->max_sessions,
	                                 cfg->session_idle_s * 1000,
	                                 cfg->session_lifetime_s * 1000);
	a->by_account = seula_ratelimit_new(16384, (int)cfg->login_max_failures,
	                                    cfg->login_failure_window_s * 1000,
	                                    cfg->login_lockout_s * 1000);
	a->by_address =
	        seula_ratelimit_new(16384, (int)cfg->login_max_failures * 4,
	                            cfg->login_failure_window_s * 1000,
	                            cfg->login_lockout_s * 1000);
	a->by_device = seula_ratelimit_new(16384, (int)cfg->login_max_failures,
	                                   cfg->login_failure_window_s * 1000,
	                                   cfg->login_lockout_s * 1000);
	seula_device_key(a->device_key, key);
	a->task = (struct seula_task){"sessions", cfg->session_sync_s,
	                              SEULA_TASK_AT_START, sync_sessions};
	a->watch = (struct seula_task){"staff watch", 1, 0, watch_staff};
	if (!a->sessions || !a->by_account || !a->by_address || !a->by_device ||
	    seula_store_add_task(store, &a->task, a) != SEULA_OK ||
	    seula_store_add_task(store, &a->watch, a) != SEULA_OK) {
		snprintf(err, errlen, "out of memory");
		seula_auth_free(a);
		return SEULA_ENOMEM;
	}
	*out = a;
	return SEULA_OK;
}

void seula_auth_free(struct seula_auth *a)
{
	if (!a)
		return;
	seula_sessions_free(a->sessions);
	seula_ratelimit_free(a->by_account);
	seula_ratelimit_free(a->by_address);
	seula_ratelimit_free(a->by_device);
	sodium_memzero(a->device_key, sizeof(a->device_key));
	free(a);
}

/* ---- GET /api/audit
 * ------------------------------------------------------------ */

/* "2026-11-25", "2026-11-25T10:00:00Z" or milliseconds since the epoch;
 * *whole_day says it was a date alone (UTC), which as `to` takes in the
 * whole day, as the stats API's `to` does. */
static bool parse_time(const char *s, int64_t *ms, bool *whole_day)
{
	*whole_day = false;
	if (!s)
		return false;
	long long v;
	if (seula_decimal_parse(s, LLONG_MIN, LLONG_MAX, &v)) {
		*ms = v;
		return true;
	}
	/* The day as the reports read one (strptime took 2026-02-30 and
	 * rolled it on to March), then "THH:MM:SS" and "Z" if given. */
	char date[11];
	int64_t day;
	if (strlen(s) < 10)
		return false;
	memcpy(date, s, 10);
	date[10] = '\0';
	if (!seula_date_parse(date, &day))
		return false;
	const char *t = s + 10;
	*ms = day * 86400000;
	if (!*t) {
		*whole_day = true;
		return true;
	}
	int hms[3];
	for (int i = 0; i < 3; i++) {
		const char *p = t + 1 + 3 * i;
		if (p[-1] != (i ? ':' : 'T') || p[0] < '0' || p[0] > '9' ||
		    p[1] < '0' || p[1] > '9')
			return false;
		hms[i] = (p[0] - '0') * 10 + (p[1] - '0');
	}
	t += 9;
	if ((*t && strcmp(t, "Z") != 0) || hms[0] > 23 || hms[1] > 59 ||
	    hms[2] > 59)
		return false;
	*ms += ((int64_t)hms[0] * 3600 + hms[1] * 60 + hms[2]) * 1000;
	return true;
}

static json_t *text_or_null(sqlite3_stmt *st, int col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	return s ? json_string(s) : json_null();
}

/* An export's subject names everyone in it, megabytes for a large
 * register: a list gives its first 4 KiB, cut at an element, and how many
 * elements it has ("subject_count"); a search by one id still finds it. */
#define SUBJECT_SHOWN 4096
#define SUBJECT_SHOWN_TEXT "4096"

static void put_subject(json_t *o, sqlite3_stmt *st, int col, int len_col,
                        int count_col)
{
	const char *s = (const char *)sqlite3_column_text(st, col);
	if (!s || sqlite3_column_int64(st, len_col) <= SUBJECT_SHOWN) {
		json_object_set_new(o, "subject",
		                    s ? json_string(s) : json_null());
		return;
	}
	const char *cut = strrchr(s, ',');
	size_t n = cut ? (size_t)(cut - s) : strlen(s);
	json_object_set_new(o, "subject", json_stringn(s, n));
	json_object_set_new(o, "subject_count",
	                    json_integer(sqlite3_column_int64(st, count_col)));
}

static int audit_list(void *instance, struct seula_http *http)
{
	const unsigned char *key = instance;
	sqlite3 *db = seula_http_db(http);
	const char *from = seula_http_query(http, "from");
	const char *to = seula_http_query(http, "to");
	const char *staff = seula_http_query(http, "staff");
	const char *action = seula_http_query(http, "action");
	const char *subject = seula_http_query(http, "subject");
	const char *exclude = seula_http_query(http, "exclude_action");
	const char *before = seula_http_query(http, "before");
	const char *limit_s = seula_http_query(http, "limit");
	int64_t from_ms = 0, to_ms = INT64_MAX, before_id = INT64_MAX;
	long long limit = 100, before_ll = 0;
	bool from_day = false, to_day = false;
	if ((from && !parse_time(from, &from_ms, &from_day)) ||
	    (to && !parse_time(to, &to_ms, &to_day)) ||
	    (before && !seula_decimal_parse(before, 1, INT64_MAX, &before_ll)))
		return seula_http_error(
		        http, 400, "invalid_query",
		        "from and to are dates (2026-11-25, "
		        "2026-11-25T10:00:00Z) or milliseconds; "
		        "before is an id");
	if (to_day)
		to_ms += 86400000;
	if (before)
		before_id = before_ll;
	if (limit_s && !seula_decimal_parse(limit_s, 1, 1000, &limit))
		return seula_http_error(http, 400, "invalid_query",
		                        "limit is 1 to 1000");
	if (exclude && (!*exclude || strlen(exclude) > 256))
		return seula_http_error(http, 400, "invalid_query",
		                        "exclude_action is a comma list of "
		                        "actions, at most 256 bytes");
	/* A subject is one id, or the list of every id a read or an export
	 * showed (seula_subject_has()): ?subject= finds a person in
	 * the lists that named them, and 1 is not 11.  A customer id finds
	 * what their access export lists (SEULA_SUBJECT_AUDIT_MATCH): also
	 * the reads of their linked visitor ids' consent history, which name
	 * the visitor or a receipt, not the customer. */
	struct seula_subject who = {.size = sizeof(who),
	                            .audit_subject = subject};
	char **visitors = NULL;
	size_t n_visitors = 0;
	long long customer;
	char canonical[24];
	if (subject && seula_decimal_parse(subject, 1, INT64_MAX, &customer)) {
		snprintf(canonical, sizeof(canonical), "%lld", customer);
		if (strcmp(canonical, subject) == 0)
			who.customer_id = customer;
	}
	sqlite3_stmt *st = NULL;
	int rc = who.customer_id
	                 ? seula_subject_customer_visitors(
	                           db, who.customer_id, &visitors, &n_visitors)
	                 : SEULA_OK;
	who.visitor_ids = (const char *const *)visitors;
	who.n_visitor_ids = n_visitors;
	if (rc != SEULA_OK)
		goto out;
	rc = SEULA_EIO;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT id, ts, staff_name, ip_anon, action, route, "
	            "substr(subject, 1, " SUBJECT_SHOWN_TEXT "), "
	            "outcome, detail, length(subject), length(subject) - "
	            "length(replace(subject, ',', '')) + 1 FROM audit_log "
	            "WHERE ts >= :from AND ts < :to AND id < :before AND "
	            "(:staff IS NULL OR staff_name = :staff) AND (:action IS "
	            "NULL OR action = :action) AND (:subject IS NULL "
	            "OR " SEULA_SUBJECT_AUDIT_MATCH
	            ") AND (:exclude IS NULL OR "
	            "instr(',' || :exclude || ',', ',' || action || ',') = 0) "
	            "ORDER BY id DESC LIMIT :limit",
	            -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":from"),
	                   from_ms);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":to"), to_ms);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":before"),
	                   before_id);
	sqlite3_bind_int64(st, sqlite3_bind_parameter_index(st, ":limit"),
	                   limit);
	if (staff)
		sqlite3_bind_text(st,
		                  sqlite3_bind_parameter_index(st, ":staff"),
		                  staff, -1, SQLITE_STATIC);
	if (action)
		sqlite3_bind_text(st,
		                  sqlite3_bind_parameter_index(st, ":action"),
		                  action, -1, SQLITE_STATIC);
	if (exclude)
		sqlite3_bind_text(st,
		                  sqlite3_bind_parameter_index(st, ":exclude"),
		                  exclude, -1, SQLITE_STATIC);
	if (subject &&
	    (rc = seula_subject_audit_bind(st, key, &who)) != SEULA_OK)
		goto out;
	/* Who looked into what was done with a customer's data is theirs to
	 * see too: the entry names them, so their access export lists it.
	 * Other subjects (a receipt, a visitor id: not for the log to keep
	 * bare) stay out of it, as any value typed in a URL does. */
	if (who.customer_id &&
	    (rc = seula_http_audit(http, "read", canonical,
	                           "audit log entries about them")) != SEULA_OK)
		goto out;
	rc = SEULA_ENOMEM;
	json_t *entries = json_array();
	int64_t last = 0;
	while (entries && sqlite3_step(st) == SQLITE_ROW) {
		last = sqlite3_column_int64(st, 0);
		time_t secs = (time_t)(sqlite3_column_int64(st, 1) / 1000);
		struct tm tm;
		gmtime_r(&secs, &tm);
		char when[32];
		strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
		json_t *o = json_pack(
		        "{s:I, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "id",
		        (json_int_t)last, "time", when, "staff",
		        text_or_null(st, 2), "ip", text_or_null(st, 3),
		        "action", text_or_null(st, 4), "route",
		        text_or_null(st, 5), "outcome", text_or_null(st, 7),
		        "detail", text_or_null(st, 8));
		if (o)
			put_subject(o, st, 6, 9, 10);
		json_array_append_new(entries, o);
	}
	json_t *doc = json_pack("{s:o, s:o}", "entries", entries, "next_before",
	                        json_array_size(entries) == (size_t)limit
	                                ? json_integer(last)
	                                : json_null());
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (text)
		rc = seula_http_reply(http, 200, "application/json", text,
		                      strlen(text));
	free(text);
out:
	sqlite3_finalize(st);
	seula_subject_visitors_free(visitors, n_visitors);
	return rc;
}

const struct seula_route seula_auth_routes[] = {
        {SEULA_METHOD_GET, "/api/audit", SEULA_ROLE_ADMIN, SEULA_ON_READER,
         audit_list,
         "the audit log, newest first: ?from=&to=&staff=&action=&subject="
         "&exclude_action=&before=&limit="},
};
const size_t seula_auth_n_routes =
        sizeof(seula_auth_routes) / sizeof(seula_auth_routes[0]);
