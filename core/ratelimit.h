/*
 * ratelimit.h - failed-login limits, per key (an account name, a client
 * address): after `max` failures within `window` the key is locked for
 * `lockout`.  Keys are hashed with SipHash under a random key and only the
 * hash is held, in a fixed table; memory never grows with an attack.
 * Thread-safe.
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

#endif
