/*
 * apikeys.c - the routes that make, list and revoke personal API keys.
 * The keys are checked where sessions are (auth.c, sessions.c).
 */
#include "apikeys.h"

#include "host.h"
#include "http.h"
#include "label.h"
#include "sessions.h"

#include <jansson.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define NAME_MAX_CHARS 64
#define EXPIRES_DAYS_MAX 3650
#define BODY_MAX 4096

void seula_apikey_id(const unsigned char *hash,
                     char id[SEULA_API_KEY_ID_CHARS + 1])
{
	sodium_bin2hex(id, SEULA_API_KEY_ID_CHARS + 1, hash,
	               SEULA_API_KEY_ID_CHARS / 2);
}

bool seula_apikey_route_allowed(const char *route_label, bool changes_state)
{
	static const char stats[] = "GET /api/stats/";
	return !changes_state && route_label &&
	       strncmp(route_label, stats, sizeof(stats) - 1) == 0;
}

/* ms since the epoch as "2026-12-04T16:00:00Z", or JSON null for 0. */
static json_t *iso_or_null(int64_t ms)
{
	if (ms <= 0)
		return json_null();
	time_t secs = (time_t)(ms / 1000);
	struct tm tm;
	char when[32];
	if (!gmtime_r(&secs, &tm) ||
	    !strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm))
		return json_null();
	return json_string(when);
}

/* ---- GET /api/keys --------------------------------------------------------
 */

static int list_handler(void *instance, struct seula_http *http)
{
	(void)instance;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            seula_http_db(http),
	            "SELECT s.token_hash, s.label, s.hint, st.name, "
	            "s.created_at, s.last_seen, s.expires_at FROM sessions s "
	            "JOIN staff st ON st.id = s.staff_id WHERE s.kind = 'api' "
	            "AND (?1 OR s.staff_id = ?2) "
	            "ORDER BY s.created_at DESC, s.token_hash",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int(st, 1, seula_http_role(http) == SEULA_ROLE_ADMIN);
	sqlite3_bind_int64(st, 2, seula_http_staff_id(http));
	json_t *keys = json_array();
	int64_t now = seula_clock_ms();
	int step;
	while (keys && (step = sqlite3_step(st)) == SQLITE_ROW) {
		char id[SEULA_API_KEY_ID_CHARS + 1] = "";
		if (sqlite3_column_bytes(st, 0) == SEULA_TOKEN_HASH)
			seula_apikey_id(sqlite3_column_blob(st, 0), id);
		int64_t created = sqlite3_column_int64(st, 4);
		int64_t seen = sqlite3_column_int64(st, 5);
		int64_t expires = sqlite3_column_int64(st, 6);
		const char *label = (const char *)sqlite3_column_text(st, 1);
		const char *hint = (const char *)sqlite3_column_text(st, 2);
		json_array_append_new(
		        keys,
		        json_pack("{s:s, s:s, s:s, s:s, s:o, s:o, s:o, s:b}",
		                  "id", id, "name", label ? label : "", "hint",
		                  hint ? hint : "", "owner",
		                  (const char *)sqlite3_column_text(st, 3),
		                  "created", iso_or_null(created),
		                  /* A key's last_seen starts as its creation:
		                   * later is a use. */
		                  "last_used",
		                  iso_or_null(seen > created ? seen : 0),
		                  "expires", iso_or_null(expires), "expired",
		                  expires > 0 && now >= expires));
	}
	sqlite3_finalize(st);
	if (!keys)
		return SEULA_ENOMEM;
	if (step != SQLITE_DONE) {
		json_decref(keys);
		return SEULA_EIO;
	}
	json_t *doc = json_pack("{s:o, s:i}", "keys", keys, "max_per_account",
	                        SEULA_API_KEYS_PER_ACCOUNT);
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return SEULA_ENOMEM;
	int rc = seula_http_reply(http, 200, "application/json", text,
	                          strlen(text));
	free(text);
	return rc;
}

/* ---- POST /api/keys -------------------------------------------------------
 */

/* What the body asks for, or false after a 4xx. */
static bool read_request(struct seula_http *http, json_t *o, const char **name,
                         int64_t *days)
{
	const char *k;
	json_t *v;
	json_object_foreach(o, k, v)
	{
		if (strcmp(k, "name") != 0 && strcmp(k, "expires_days") != 0) {
			seula_http_error(http, 400, "unknown_field",
			                 "a key has a name and expires_days, "
			                 "nothing else");
			return false;
		}
	}
	*name = json_string_value(json_object_get(o, "name"));
	if (!seula_label_ok(*name, NAME_MAX_CHARS)) {
		seula_http_error(
		        http, 400, "invalid_name",
		        "name is 1 to 64 characters of text, not blank");
		return false;
	}
	v = json_object_get(o, "expires_days");
	*days = 0;
	if (!v || json_is_null(v))
		return true;
	if (!json_is_integer(v) || json_integer_value(v) < 1 ||
	    json_integer_value(v) > EXPIRES_DAYS_MAX) {
		seula_http_error(
		        http, 400, "invalid_expires",
		        "expires_days is a whole number from 1 to 3650, "
		        "or null for a key that does not expire");
		return false;
	}
	*days = json_integer_value(v);
	return true;
}

static int count_keys(sqlite3 *db, int64_t staff_id, int64_t *n)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM sessions WHERE kind = "
	                       "'api' AND staff_id = ? AND (expires_at IS "
	                       "NULL OR expires_at > ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, staff_id);
	sqlite3_bind_int64(st, 2, seula_clock_ms());
	int rc = sqlite3_step(st) == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
	*n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc;
}

static int insert_key(sqlite3 *db, const struct seula_session *k,
                      const char *name, const char *hint)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO sessions (token_hash, staff_id, "
	                       "csrf, created_at, last_seen, ip_anon, kind, "
	                       "label, hint, expires_at) VALUES (?, ?, '', ?, "
	                       "?, ?, 'api', ?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_blob(st, 1, k->token_hash, SEULA_TOKEN_HASH,
	                  SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, k->staff_id);
	sqlite3_bind_int64(st, 3, k->created_ms);
	sqlite3_bind_int64(st, 4, k->created_ms);
	if (k->ip_anon[0])
		sqlite3_bind_text(st, 5, k->ip_anon, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 7, hint, -1, SQLITE_STATIC);
	if (k->expires_ms)
		sqlite3_bind_int64(st, 8, k->expires_ms);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

static int reply_created(struct seula_http *http, const char *id,
                         const char *name, const char *hint, const char *key,
                         const struct seula_session *k)
{
	json_t *doc = json_pack("{s:s, s:s, s:s, s:s, s:s, s:o, s:o}", "id", id,
	                        "name", name, "hint", hint, "key", key, "owner",
	                        k->name, "created", iso_or_null(k->created_ms),
	                        "expires", iso_or_null(k->expires_ms));
	char *text = doc ? json_dumps(doc, JSON_COMPACT) : NULL;
	json_decref(doc);
	if (!text)
		return SEULA_ENOMEM;
	int rc = seula_http_reply(http, 201, "application/json", text,
	                          strlen(text));
	sodium_memzero(text, strlen(text));
	free(text);
	return rc;
}

static int create_handler(void *instance, struct seula_http *http)
{
	struct seula_sessions *sessions = instance;
	json_t *o = seula_http_json_object(http, BODY_MAX, false);
	if (!o)
		return SEULA_OK;
	const char *name;
	int64_t days, held = 0;
	int rc = SEULA_OK;
	if (!read_request(http, o, &name, &days))
		goto out;
	/* A sign-in "in the future" is one the clock has stepped back
	 * from: not known to be recent. */
	int64_t now = seula_clock_ms(), at = seula_http_signed_in_ms(http);
	if (now < at || now - at > SEULA_API_KEY_SIGN_IN_MS) {
		seula_http_error(http, 403, "sign_in_again",
		                 "making an API key asks for a sign-in of the "
		                 "last 15 minutes: sign in again first");
		goto out;
	}
	struct seula_session k = {
	        .kind = SEULA_SESSION_API_KEY,
	        .staff_id = seula_http_staff_id(http),
	        .role = seula_http_role(http),
	        .created_ms = seula_clock_ms(),
	};
	k.last_seen_ms = k.created_ms;
	k.expires_ms = days ? k.created_ms + days * 86400 * 1000 : 0;
	snprintf(k.name, sizeof(k.name), "%s", seula_http_user(http));
	const char *client = seula_http_client(http);
	snprintf(k.ip_anon, sizeof(k.ip_anon), "%s", client ? client : "");
	if ((rc = count_keys(seula_http_db(http), k.staff_id, &held)) !=
	    SEULA_OK)
		goto out;
	if (held >= SEULA_API_KEYS_PER_ACCOUNT) {
		seula_http_error(http, 409, "too_many_keys",
		                 "an account has at most 10 API keys: revoke "
		                 "one first");
		goto out;
	}
	char token[SEULA_TOKEN_CHARS + 1];
	char key[sizeof(SEULA_API_KEY_PREFIX) + SEULA_TOKEN_CHARS];
	char hint[sizeof(SEULA_API_KEY_PREFIX) + 4];
	char id[SEULA_API_KEY_ID_CHARS + 1];
	seula_token_new(token, k.token_hash);
	snprintf(key, sizeof(key), SEULA_API_KEY_PREFIX "%s", token);
	snprintf(hint, sizeof(hint), SEULA_API_KEY_PREFIX "%.4s", token);
	seula_apikey_id(k.token_hash, id);
	/* In memory before the row: when the commit fails, no one was given
	 * the key, and the next reconcile drops it (its row is not there). */
	if (seula_sessions_put(sessions, &k) != SEULA_OK) {
		seula_http_error(http, 409, "too_many_keys",
		                 "the server holds as many API keys as it may");
		goto wipe;
	}
	char detail[96], expiry[32] = "never expires";
	if (days)
		snprintf(expiry, sizeof(expiry), "expires in %lld days",
		         (long long)days);
	snprintf(detail, sizeof(detail), "api_key=%s made, %s", id, expiry);
	if ((rc = insert_key(seula_http_db(http), &k, name, hint)) !=
	            SEULA_OK ||
	    (rc = seula_http_audit(http, "change", NULL, detail)) != SEULA_OK ||
	    (rc = reply_created(http, id, name, hint, key, &k)) != SEULA_OK)
		seula_sessions_remove(sessions, k.token_hash,
		                      SEULA_SESSION_API_KEY);
wipe:
	sodium_memzero(token, sizeof(token));
	sodium_memzero(key, sizeof(key));
out:
	json_decref(o);
	return rc;
}

/* ---- DELETE /api/keys/{id} ------------------------------------------------
 */

static int revoke_handler(void *instance, struct seula_http *http)
{
	struct seula_sessions *sessions = instance;
	const char *id = seula_http_param(http, "id");
	unsigned char prefix[SEULA_API_KEY_ID_CHARS / 2];
	size_t bin_len = 0;
	const char *end = NULL;
	if (!id || strlen(id) != SEULA_API_KEY_ID_CHARS ||
	    strspn(id, "0123456789abcdef") != SEULA_API_KEY_ID_CHARS ||
	    sodium_hex2bin(prefix, sizeof(prefix), id, strlen(id), NULL,
	                   &bin_len, &end) != 0 ||
	    bin_len != sizeof(prefix))
		return seula_http_error(http, 404, "not_found",
		                        "no API key has this id");
	sqlite3 *db = seula_http_db(http);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT token_hash, staff_id FROM sessions "
	                       "WHERE kind = 'api' AND substr(token_hash, 1, "
	                       "8) = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_blob(st, 1, prefix, sizeof(prefix), SQLITE_STATIC);
	unsigned char hash[SEULA_TOKEN_HASH];
	int step = sqlite3_step(st);
	/* Another's key is as unknown as no key: an analyst learns nothing
	 * of the admins' keys by trying ids. */
	bool found = step == SQLITE_ROW &&
	             sqlite3_column_bytes(st, 0) == SEULA_TOKEN_HASH &&
	             (seula_http_role(http) == SEULA_ROLE_ADMIN ||
	              sqlite3_column_int64(st, 1) == seula_http_staff_id(http));
	if (found)
		memcpy(hash, sqlite3_column_blob(st, 0), sizeof(hash));
	sqlite3_finalize(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return SEULA_EIO;
	if (!found)
		return seula_http_error(http, 404, "not_found",
		                        "no API key has this id");
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE token_hash = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_blob(st, 1, hash, sizeof(hash), SQLITE_STATIC);
	step = sqlite3_step(st);
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return SEULA_EIO;
	/* Out of memory now: should the commit fail, the row is not held
	 * and the next reconcile deletes it (sessions.c). */
	seula_sessions_remove(sessions, hash, SEULA_SESSION_API_KEY);
	char detail[64];
	snprintf(detail, sizeof(detail), "api_key=%s revoked", id);
	int rc = seula_http_audit(http, "change", NULL, detail);
	return rc != SEULA_OK ? rc : seula_http_reply(http, 204, NULL, NULL, 0);
}

#define KEY_ROLES (SEULA_ROLE_ADMIN | SEULA_ROLE_ANALYST)

const struct seula_route seula_apikey_routes[] = {
        {SEULA_METHOD_GET, "/api/keys", KEY_ROLES, SEULA_ON_READER,
         list_handler,
         "your API keys (an admin: everyone's), newest first, without the "
         "keys"},
        {SEULA_METHOD_POST, "/api/keys", KEY_ROLES, SEULA_ON_WRITER,
         create_handler,
         "a new API key {name, expires_days}; 201 shows the key this once"},
        {SEULA_METHOD_DELETE, "/api/keys/{id}", KEY_ROLES, SEULA_ON_WRITER,
         revoke_handler, "revoke an API key"},
};
const size_t seula_apikey_n_routes =
        sizeof(seula_apikey_routes) / sizeof(seula_apikey_routes[0]);
