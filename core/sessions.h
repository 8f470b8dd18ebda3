/*
 * sessions.h - staff sessions, held in memory so that the event loop checks
 * a cookie without touching the disk; the writer persists them (sessions
 * table) and reconciles them with the staff table (an account disabled,
 * its role or password changed by the CLI takes effect once the writer's
 * watch sees the table change, within a second).
 *
 * Two kinds: a browser's (the cookie; idle and absolute timeouts) and a
 * personal API key (apikeys.h; no idle timeout, an expiry of its own or
 * none).  A token of one kind is never taken for the other.
 *
 * A token is 256 random bits (base64url, the cookie's value); only its
 * BLAKE2b hash is kept, here and in the database.  Thread-safe.
 */
#ifndef SEULA_SESSIONS_H
#define SEULA_SESSIONS_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEULA_TOKEN_CHARS 43 /* base64url of 32 bytes, no padding */
#define SEULA_TOKEN_HASH 32

enum seula_session_kind {
	SEULA_SESSION_BROWSER = 0,
	SEULA_SESSION_API_KEY = 1,
};

/* At most this many API keys in all, besides max browser sessions. */
#define SEULA_API_KEYS_MAX 2000
/* An expired API key's row is kept this long (its owner sees why the key
 * stopped working), then deleted. */
#define SEULA_API_KEY_EXPIRED_KEEP_MS (30LL * 86400 * 1000)
/* The rows of the sessions table that have run out, for DELETE or
 * count(*): ?1 the oldest last_seen and ?2 the oldest created_at a
 * browser session may have, ?3 the oldest expires_at an API key's row
 * is kept with. */
#define SEULA_SESSIONS_EXPIRED_WHERE                                           \
	"((kind = 'browser' AND (last_seen < ?1 OR created_at < ?2)) OR "      \
	"(kind = 'api' AND expires_at < ?3))"

struct seula_session {
	unsigned char token_hash[SEULA_TOKEN_HASH];
	int kind;           /* enum seula_session_kind */
	int64_t expires_ms; /* an API key's; 0: never */
	int64_t staff_id;
	char name[65];
	int role; /* enum seula_role bit */
	char csrf[SEULA_TOKEN_CHARS + 1];
	int64_t created_ms;
	int64_t last_seen_ms;
	char ip_anon[46];
};

struct seula_sessions;

/* max browser sessions, and up to SEULA_API_KEYS_MAX keys. */
struct seula_sessions *seula_sessions_new(size_t max, int64_t idle_ms,
                                          int64_t absolute_ms);
void seula_sessions_free(struct seula_sessions *s);

/* A fresh random token (NUL-terminated) and its hash. */
void seula_token_new(char token[SEULA_TOKEN_CHARS + 1],
                     unsigned char hash[SEULA_TOKEN_HASH]);
void seula_token_hash(const char *token, unsigned char hash[SEULA_TOKEN_HASH]);

/* The session of `kind` of a token, touched (last seen now) unless
 * !touch: a request no one asked for (a page's own poll) does not keep it
 * from idling out.  SEULA_ENOTFOUND when there is none of that kind,
 * SEULA_ECONFLICT when it expired (a browser's is removed; an API key
 * stays until its row goes, and answers so, into *out too). */
int seula_sessions_check(struct seula_sessions *s, const char *token,
                         int64_t now_ms, bool touch, int kind,
                         struct seula_session *out);
/* Keep a new session (or update one of the same token).  A browser's:
 * when max are held, the least recently seen browser session goes.  An
 * API key: SEULA_ECONFLICT when SEULA_API_KEYS_MAX are held. */
int seula_sessions_put(struct seula_sessions *s, const struct seula_session *x);
/* Forget the session of `kind` with this hash (none of another kind). */
void seula_sessions_remove(struct seula_sessions *s,
                           const unsigned char hash[SEULA_TOKEN_HASH],
                           int kind);
size_t seula_sessions_count(struct seula_sessions *s);

/* Writer side, inside a transaction: load the live sessions of enabled
 * accounts (at start), or reconcile: write last-seen times, delete expired
 * rows, and drop or update the sessions whose account changed. */
int seula_sessions_load(struct seula_sessions *s, sqlite3 *db, int64_t now_ms);
int seula_sessions_sync(struct seula_sessions *s, sqlite3 *db, int64_t now_ms);
/* Writer side, inside a transaction, often: when the staff table or the
 * sessions table changed since the last call (a digest of each account's
 * name, role, state and password change, and of the session rows there
 * are; the first call counts as a change), drop or update
 * the sessions as seula_sessions_sync() does, without its writes of
 * last-seen times. */
int seula_sessions_watch(struct seula_sessions *s, sqlite3 *db, int64_t now_ms);

#endif
