/*
 * ratelimit.h - failed-login limits, per key (an account name, a client
 * address): after `max` failures within `window` the key is locked for
 * `lockout`.  Keys are hashed with SipHash under a random key and only the
 * hash is held, in a fixed table; memory never grows with an attack.
 * Thread-safe.
 *
 * A check that takes a while (a password hashed on another thread) takes
 * a reservation first: seula_ratelimit_reserve() counts it as pending, and
 * refuses one when the failures and the pending checks together reach
 * `max` (once a lock has run out within the window: when one is pending),
 * so checks already under way cannot carry a key past its limit.
 * Every reservation is given back once with seula_ratelimit_release().
 */
#ifndef SEULA_RATELIMIT_H
#define SEULA_RATELIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seula_ratelimit;

struct seula_ratelimit *seula_ratelimit_new(size_t slots, int max,
                                            int64_t window_ms,
                                            int64_t lockout_ms);
void seula_ratelimit_free(struct seula_ratelimit *rl);
/* True when locked; *retry_ms says for how long. */
bool seula_ratelimit_locked(struct seula_ratelimit *rl, const void *key,
                            size_t len, int64_t now_ms, int64_t *retry_ms);
void seula_ratelimit_fail(struct seula_ratelimit *rl, const void *key,
                          size_t len, int64_t now_ms);
void seula_ratelimit_clear(struct seula_ratelimit *rl, const void *key,
                           size_t len);

/* How a reserved check ended. */
enum seula_attempt {
	SEULA_ATTEMPT_UNCHECKED, /* never decided: counts for nothing */
	SEULA_ATTEMPT_FAILED,    /* a failure, as seula_ratelimit_fail() */
	SEULA_ATTEMPT_OK,        /* a success: the failures are forgotten */
};

/* Takes a reservation and returns true, or returns false when the key is
 * locked or its failures and pending checks have reached `max`; *retry_ms
 * then says when to try again. */
bool seula_ratelimit_reserve(struct seula_ratelimit *rl, const void *key,
                             size_t len, int64_t now_ms, int64_t *retry_ms);
/* Gives back one reservation of the key and records how its check ended. */
void seula_ratelimit_release(struct seula_ratelimit *rl, const void *key,
                             size_t len, enum seula_attempt outcome,
                             int64_t now_ms);

#endif
