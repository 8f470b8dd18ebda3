/*
 * sessions.h - staff sessions, held in memory so that the event loop checks
 * a cookie without touching the disk; the writer persists them (sessions
 * table) and reconciles them with the staff table (an account disabled,
 * its role or password changed by the CLI takes effect once the writer's
 * watch sees the table change, within a second).
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

struct seula_session {
	unsigned char token_hash[SEULA_TOKEN_HASH];
	int64_t staff_id;
	char name[65];
	int role; /* enum seula_role bit */
	char csrf[SEULA_TOKEN_CHARS + 1];
	int64_t created_ms;
	int64_t last_seen_ms;
	char ip_anon[46];
};

struct seula_sessions;

struct seula_sessions *seula_sessions_new(size_t max, int64_t idle_ms,
                                          int64_t absolute_ms);
void seula_sessions_free(struct seula_sessions *s);

/* A fresh random token (NUL-terminated) and its hash. */
void seula_token_new(char token[SEULA_TOKEN_CHARS + 1],
                     unsigned char hash[SEULA_TOKEN_HASH]);
void seula_token_hash(const char *token, unsigned char hash[SEULA_TOKEN_HASH]);

/* The session of a cookie token, touched (last seen now) unless !touch: a
 * request no one asked for (a page's own poll) does not keep it from
 * idling out.  SEULA_ENOTFOUND when there is none, SEULA_ECONFLICT when it
 * expired (it is removed). */
int seula_sessions_check(struct seula_sessions *s, const char *token,
                         int64_t now_ms, bool touch, struct seula_session *out);
/* Keep a new session; when full, the least recently seen one goes. */
void seula_sessions_put(struct seula_sessions *s,
                        const struct seula_session *x);
void seula_sessions_remove(struct seula_sessions *s,
                           const unsigned char hash[SEULA_TOKEN_HASH]);
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
