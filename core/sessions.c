/*
 * sessions.c - a small array under a mutex: staff sessions are counted in
 * tens, a linear scan of 32-byte hashes is cheap, and max bounds it.
 */
#include "sessions.h"

#include "staff.h"

#include <pthread.h>
#include <seula/plugin.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct seula_sessions {
	pthread_mutex_t lock;
	struct seula_session *items;
	size_t n, max; /* max: browser sessions; the array holds keys too */
	int64_t idle_ms, absolute_ms;
	/* The writer's alone (seula_sessions_watch()): the staff table's
	 * digest when it last looked. */
	unsigned char staff_digest[crypto_generichash_BYTES];
	bool have_digest;
};

struct seula_sessions *seula_sessions_new(size_t max, int64_t idle_ms,
                                          int64_t absolute_ms)
{
	struct seula_sessions *s = calloc(1, sizeof(*s));
	if (!s ||
	    !(s->items = calloc(max + SEULA_API_KEYS_MAX, sizeof(*s->items)))) {
		free(s);
		return NULL;
	}
	pthread_mutex_init(&s->lock, NULL);
	s->max = max;
	s->idle_ms = idle_ms;
	s->absolute_ms = absolute_ms;
	return s;
}

void seula_sessions_free(struct seula_sessions *s)
{
	if (!s)
		return;
	sodium_memzero(s->items,
	               (s->max + SEULA_API_KEYS_MAX) * sizeof(*s->items));
	free(s->items);
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void seula_token_hash(const char *token, unsigned char hash[SEULA_TOKEN_HASH])
{
	crypto_generichash(hash, SEULA_TOKEN_HASH, (const unsigned char *)token,
	                   strlen(token), NULL, 0);
}

void seula_token_new(char token[SEULA_TOKEN_CHARS + 1],
                     unsigned char hash[SEULA_TOKEN_HASH])
{
	unsigned char raw[32];
	randombytes_buf(raw, sizeof(raw));
	sodium_bin2base64(token, SEULA_TOKEN_CHARS + 1, raw, sizeof(raw),
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
	sodium_memzero(raw, sizeof(raw));
	if (hash)
		seula_token_hash(token, hash);
}

static bool expired(const struct seula_sessions *s,
                    const struct seula_session *x, int64_t now)
{
	if (x->kind == SEULA_SESSION_API_KEY)
		return x->expires_ms && now >= x->expires_ms;
	return now - x->last_seen_ms > s->idle_ms ||
	       now - x->created_ms > s->absolute_ms;
}

static void drop(struct seula_sessions *s, size_t i)
{
	s->items[i] = s->items[--s->n];
	sodium_memzero(&s->items[s->n], sizeof(s->items[s->n]));
}

static ssize_t find(const struct seula_sessions *s, const unsigned char *hash)
{
	for (size_t i = 0; i < s->n; i++)
		if (sodium_memcmp(s->items[i].token_hash, hash,
		                  SEULA_TOKEN_HASH) == 0)
			return (ssize_t)i;
	return -1;
}

int seula_sessions_check(struct seula_sessions *s, const char *token,
                         int64_t now_ms, bool touch, int kind,
                         struct seula_session *out)
{
	if (strlen(token) != SEULA_TOKEN_CHARS)
		return SEULA_ENOTFOUND;
	unsigned char hash[SEULA_TOKEN_HASH];
	seula_token_hash(token, hash);
	pthread_mutex_lock(&s->lock);
	ssize_t i = find(s, hash);
	if (i >= 0 && s->items[i].kind != kind)
		i = -1;
	int rc = SEULA_ENOTFOUND;
	if (i >= 0 && expired(s, &s->items[i], now_ms)) {
		if (kind == SEULA_SESSION_BROWSER)
			drop(s, (size_t)i);
		else
			*out = s->items[i];
		rc = SEULA_ECONFLICT;
	} else if (i >= 0) {
		if (touch)
			s->items[i].last_seen_ms = now_ms;
		*out = s->items[i];
		rc = SEULA_OK;
	}
	pthread_mutex_unlock(&s->lock);
	return rc;
}

static size_t count_kind(const struct seula_sessions *s, int kind)
{
	size_t n = 0;
	for (size_t k = 0; k < s->n; k++)
		n += s->items[k].kind == kind;
	return n;
}

int seula_sessions_put(struct seula_sessions *s, const struct seula_session *x)
{
	pthread_mutex_lock(&s->lock);
	ssize_t i = find(s, x->token_hash);
	int rc = SEULA_OK;
	if (i < 0 && x->kind == SEULA_SESSION_API_KEY) {
		if (count_kind(s, SEULA_SESSION_API_KEY) >= SEULA_API_KEYS_MAX)
			rc = SEULA_ECONFLICT;
	} else if (i < 0 && s->max &&
	           count_kind(s, SEULA_SESSION_BROWSER) >= s->max) {
		/* The least recently seen browser session; a key is never
		 * pushed out by logins. */
		ssize_t oldest = -1;
		for (size_t k = 0; k < s->n; k++)
			if (s->items[k].kind == SEULA_SESSION_BROWSER &&
			    (oldest < 0 ||
			     s->items[k].last_seen_ms <
			             s->items[oldest].last_seen_ms))
				oldest = (ssize_t)k;
		if (oldest >= 0)
			drop(s, (size_t)oldest);
	}
	if (rc == SEULA_OK && i < 0 &&
	    (x->kind == SEULA_SESSION_API_KEY || s->max))
		i = (ssize_t)s->n++;
	if (rc == SEULA_OK && i >= 0)
		s->items[i] = *x;
	pthread_mutex_unlock(&s->lock);
	return rc;
}

void seula_sessions_remove(struct seula_sessions *s,
                           const unsigned char hash[SEULA_TOKEN_HASH], int kind)
{
	pthread_mutex_lock(&s->lock);
	ssize_t i = find(s, hash);
	if (i >= 0 && s->items[i].kind == kind)
		drop(s, (size_t)i);
	pthread_mutex_unlock(&s->lock);
}

size_t seula_sessions_count(struct seula_sessions *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	pthread_mutex_unlock(&s->lock);
	return n;
}

/* A login's session reaches memory after its commit, in an instant;
 * a row younger than this may be on its way. */
#define EVICTED_GRACE_MS 10000

static int delete_row(sqlite3 *db, const unsigned char hash[SEULA_TOKEN_HASH])
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, "DELETE FROM sessions WHERE token_hash = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_blob(st, 1, hash, SEULA_TOKEN_HASH, SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

static const char *const live_sql =
        "SELECT s.token_hash, s.staff_id, st.name, st.role, s.csrf, "
        "s.created_at, s.last_seen, s.ip_anon, s.kind, s.expires_at "
        "FROM sessions s JOIN staff st ON st.id = s.staff_id "
        "WHERE st.disabled = 0";

static void row_to_session(sqlite3_stmt *st, struct seula_session *x)
{
	memset(x, 0, sizeof(*x));
	if (sqlite3_column_bytes(st, 0) == SEULA_TOKEN_HASH)
		memcpy(x->token_hash, sqlite3_column_blob(st, 0),
		       SEULA_TOKEN_HASH);
	x->staff_id = sqlite3_column_int64(st, 1);
	snprintf(x->name, sizeof(x->name), "%s",
	         (const char *)sqlite3_column_text(st, 2));
	x->role = seula_role_parse((const char *)sqlite3_column_text(st, 3));
	snprintf(x->csrf, sizeof(x->csrf), "%s",
	         (const char *)sqlite3_column_text(st, 4));
	x->created_ms = sqlite3_column_int64(st, 5);
	x->last_seen_ms = sqlite3_column_int64(st, 6);
	const char *ip = (const char *)sqlite3_column_text(st, 7);
	snprintf(x->ip_anon, sizeof(x->ip_anon), "%s", ip ? ip : "");
	const char *kind = (const char *)sqlite3_column_text(st, 8);
	x->kind = kind && strcmp(kind, "api") == 0 ? SEULA_SESSION_API_KEY
	                                           : SEULA_SESSION_BROWSER;
	x->expires_ms = sqlite3_column_int64(st, 9);
}

static int delete_expired(struct seula_sessions *s, sqlite3 *db, int64_t now)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(
	            db,
	            "DELETE FROM sessions WHERE " SEULA_SESSIONS_EXPIRED_WHERE,
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, now - s->idle_ms);
	sqlite3_bind_int64(st, 2, now - s->absolute_ms);
	sqlite3_bind_int64(st, 3, now - SEULA_API_KEY_EXPIRED_KEEP_MS);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

int seula_sessions_load(struct seula_sessions *s, sqlite3 *db, int64_t now_ms)
{
	if (delete_expired(s, db, now_ms) != SEULA_OK)
		return SEULA_EIO;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, live_sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct seula_session x;
		row_to_session(st, &x);
		seula_sessions_put(s, &x);
	}
	sqlite3_finalize(st);
	/* Not all read: reconcile() must not take the rest for ended. */
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

static int reconcile(struct seula_sessions *s, sqlite3 *db, int64_t now_ms);

int seula_sessions_sync(struct seula_sessions *s, sqlite3 *db, int64_t now_ms)
{
	/* 1. Last-seen times to disk, so idle time survives a restart. */
	pthread_mutex_lock(&s->lock);
	size_t n = s->n;
	struct seula_session *copy = malloc((n ? n : 1) * sizeof(*copy));
	if (copy)
		memcpy(copy, s->items, n * sizeof(*copy));
	pthread_mutex_unlock(&s->lock);
	if (!copy)
		return SEULA_ENOMEM;
	sqlite3_stmt *up = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(
	            db,
	            "UPDATE sessions SET last_seen = max(last_seen, ?) "
	            "WHERE token_hash = ?",
	            -1, &up, NULL) != SQLITE_OK)
		goto out;
	for (size_t i = 0; i < n; i++) {
		sqlite3_bind_int64(up, 1, copy[i].last_seen_ms);
		sqlite3_bind_blob(up, 2, copy[i].token_hash, SEULA_TOKEN_HASH,
		                  SQLITE_STATIC);
		if (sqlite3_step(up) != SQLITE_DONE)
			goto out;
		sqlite3_reset(up);
	}
	/* 2. Expired rows go. */
	if (delete_expired(s, db, now_ms) != SEULA_OK)
		goto out;
	rc = reconcile(s, db, now_ms);
out:
	sqlite3_finalize(up);
	sodium_memzero(copy, n * sizeof(*copy));
	free(copy);
	return rc;
}

/* Steps 3 and 4 of seula_sessions_sync(). */
static int reconcile(struct seula_sessions *s, sqlite3 *db, int64_t now_ms)
{
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	/* 3. What the database says now: a session gone (logout elsewhere,
	 * account disabled or removed) goes here too; a changed role or name
	 * applies.  Never adds one: only a login does. */
	if (sqlite3_prepare_v2(db, live_sql, -1, &st, NULL) != SQLITE_OK)
		goto out;
	size_t live_n = 0, cap = 16;
	struct seula_session *live = malloc(cap * sizeof(*live));
	while (live && sqlite3_step(st) == SQLITE_ROW) {
		if (live_n == cap) {
			struct seula_session *g =
			        realloc(live, (cap *= 2) * sizeof(*live));
			if (!g) {
				free(live);
				live = NULL;
				break;
			}
			live = g;
		}
		row_to_session(st, &live[live_n++]);
	}
	if (!live)
		goto out;
	pthread_mutex_lock(&s->lock);
	for (size_t i = 0; i < s->n;) {
		struct seula_session *x = &s->items[i];
		const struct seula_session *d = NULL;
		for (size_t k = 0; k < live_n && !d; k++)
			if (sodium_memcmp(live[k].token_hash, x->token_hash,
			                  SEULA_TOKEN_HASH) == 0)
				d = &live[k];
		/* A session this very moment in its login's commit is in
		 * memory only after that commit: no false drop. */
		if (!d) {
			drop(s, i);
			continue;
		}
		x->role = d->role;
		memcpy(x->name, d->name, sizeof(x->name));
		x->expires_ms = d->expires_ms;
		i++;
	}
	/* 4. A row no longer in memory was evicted at max_sessions (its
	 * session has ended): it goes, or a restart would bring it back.
	 * One younger than a login's way to memory is left for now. */
	size_t gone = 0;
	for (size_t k = 0; k < live_n; k++) {
		bool held = false;
		for (size_t i = 0; i < s->n && !held; i++)
			held = sodium_memcmp(live[k].token_hash,
			                     s->items[i].token_hash,
			                     SEULA_TOKEN_HASH) == 0;
		/* A key is never evicted: one not held (more rows than
		 * SEULA_API_KEYS_MAX) is left on disk, not revoked. */
		if (!held && live[k].kind == SEULA_SESSION_BROWSER &&
		    live[k].created_ms < now_ms - EVICTED_GRACE_MS)
			live[gone++] = live[k];
	}
	pthread_mutex_unlock(&s->lock);
	rc = SEULA_OK;
	for (size_t k = 0; rc == SEULA_OK && k < gone; k++)
		rc = delete_row(db, live[k].token_hash);
	sodium_memzero(live, live_n * sizeof(*live));
	free(live);
out:
	sqlite3_finalize(st);
	return rc;
}

/* Hash every row of `sql` into h: each column's length, then its bytes
 * (no two rows hash alike). */
static int digest_rows(sqlite3 *db, const char *sql, int cols,
                       crypto_generichash_state *h)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		for (int i = 0; i < cols; i++) {
			const void *v = sqlite3_column_blob(st, i);
			uint32_t len = (uint32_t)sqlite3_column_bytes(st, i);
			crypto_generichash_update(h, (const void *)&len,
			                          sizeof(len));
			if (v)
				crypto_generichash_update(h, v, len);
		}
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* What open sessions depend on, as one digest: each account's id, name,
 * role, state and last password change, and which session rows there
 * are (with an API key's expiry).  The rows too: `user disable` then `user
 * enable` within one watch deletes the account's sessions yet leaves its staff
 * row as it was, and the sessions would live on until the next sync. */
static int staff_digest(sqlite3 *db,
                        unsigned char out[crypto_generichash_BYTES])
{
	crypto_generichash_state h;
	crypto_generichash_init(&h, NULL, 0, crypto_generichash_BYTES);
	if (digest_rows(db,
	                "SELECT id, name, role, disabled, "
	                "password_changed_at FROM staff ORDER BY id",
	                5, &h) != SEULA_OK ||
	    digest_rows(db,
	                "SELECT token_hash, expires_at FROM sessions ORDER "
	                "BY token_hash",
	                2, &h) != SEULA_OK)
		return SEULA_EIO;
	crypto_generichash_final(&h, out, crypto_generichash_BYTES);
	return SEULA_OK;
}

int seula_sessions_watch(struct seula_sessions *s, sqlite3 *db, int64_t now_ms)
{
	unsigned char d[crypto_generichash_BYTES];
	int rc = staff_digest(db, d);
	if (rc != SEULA_OK)
		return rc;
	if (s->have_digest && memcmp(d, s->staff_digest, sizeof(d)) == 0)
		return SEULA_OK;
	rc = reconcile(s, db, now_ms);
	if (rc == SEULA_OK) {
		memcpy(s->staff_digest, d, sizeof(d));
		s->have_digest = true;
	}
	return rc;
}
