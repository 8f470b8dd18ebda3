/*
 * ratelimit.c - open addressing over a fixed table.  When every slot a key
 * may use is taken by live entries, the entry seen longest ago gives way:
 * under a flood of distinct keys the oldest counters are forgotten, never
 * the table grown.
 */
#include "ratelimit.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define PROBE 8
/* Retry-After of a refusal for checks under way, not a lock: they end in
 * about the time of one password hash. */
#define PENDING_RETRY_MS 1000

struct slot {
	uint64_t hash; /* 0: empty */
	int failures;
	int pending; /* reserved checks not yet released */
	int64_t window_start;
	int64_t locked_until;
	int64_t last;
};

struct seula_ratelimit {
	pthread_mutex_t lock;
	struct slot *slots;
	size_t n;
	int max;
	int64_t window_ms, lockout_ms;
	unsigned char key[crypto_shorthash_KEYBYTES];
};

struct seula_ratelimit *seula_ratelimit_new(size_t slots, int max,
                                            int64_t window_ms,
                                            int64_t lockout_ms)
{
	struct seula_ratelimit *rl = calloc(1, sizeof(*rl));
	if (!rl ||
	    !(rl->slots = calloc(slots ? slots : 1, sizeof(*rl->slots)))) {
		free(rl);
		return NULL;
	}
	pthread_mutex_init(&rl->lock, NULL);
	rl->n = slots ? slots : 1;
	rl->max = max;
	rl->window_ms = window_ms;
	rl->lockout_ms = lockout_ms;
	randombytes_buf(rl->key, sizeof(rl->key));
	return rl;
}

void seula_ratelimit_free(struct seula_ratelimit *rl)
{
	if (!rl)
		return;
	free(rl->slots);
	pthread_mutex_destroy(&rl->lock);
	free(rl);
}

static uint64_t hash_of(const struct seula_ratelimit *rl, const void *key,
                        size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, len, rl->key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return h ? h : 1;
}

/* The slot of `h`, or a slot to put it in (may evict the stalest). */
static struct slot *slot_for(struct seula_ratelimit *rl, uint64_t h,
                             bool create)
{
	struct slot *stalest = NULL;
	for (size_t k = 0; k < PROBE; k++) {
		struct slot *s = &rl->slots[(h + k) % rl->n];
		if (s->hash == h)
			return s;
		if (!create)
			continue;
		if (s->hash == 0)
			return memset(s, 0, sizeof(*s)), s->hash = h, s;
		/* A key with checks under way gives way last: its
		 * reservations would be lost with it. */
		if (!stalest || (stalest->pending && !s->pending) ||
		    (!stalest->pending == !s->pending &&
		     s->last < stalest->last))
			stalest = s;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	stalest->hash = h;
	return stalest;
}

/* Failures inside the current window. */
static int live_failures(const struct seula_ratelimit *rl, const struct slot *s,
                         int64_t now_ms)
{
	return now_ms - s->window_start > rl->window_ms ? 0 : s->failures;
}

static void count_failure(struct seula_ratelimit *rl, struct slot *s,
                          int64_t now_ms)
{
	if (now_ms - s->window_start > rl->window_ms) {
		s->window_start = now_ms;
		s->failures = 0;
	}
	s->last = now_ms;
	if (++s->failures >= rl->max)
		s->locked_until = now_ms + rl->lockout_ms;
}

/* The failures and the lock go; reservations still out stay, and the slot
 * is freed once none are. */
static void forget(struct slot *s)
{
	if (!s)
		return;
	if (s->pending == 0) {
		memset(s, 0, sizeof(*s));
		return;
	}
	s->failures = 0;
	s->window_start = 0;
	s->locked_until = 0;
}

bool seula_ratelimit_locked(struct seula_ratelimit *rl, const void *key,
                            size_t len, int64_t now_ms, int64_t *retry_ms)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	struct slot *s = slot_for(rl, h, false);
	bool locked = s && s->locked_until > now_ms;
	if (locked && retry_ms)
		*retry_ms = s->locked_until - now_ms;
	pthread_mutex_unlock(&rl->lock);
	return locked;
}

void seula_ratelimit_fail(struct seula_ratelimit *rl, const void *key,
                          size_t len, int64_t now_ms)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	count_failure(rl, slot_for(rl, h, true), now_ms);
	pthread_mutex_unlock(&rl->lock);
}

void seula_ratelimit_clear(struct seula_ratelimit *rl, const void *key,
                           size_t len)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	forget(slot_for(rl, h, false));
	pthread_mutex_unlock(&rl->lock);
}

bool seula_ratelimit_reserve(struct seula_ratelimit *rl, const void *key,
                             size_t len, int64_t now_ms, int64_t *retry_ms)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	struct slot *s = slot_for(rl, h, true);
	/* The checks that may be under way: the failures left before the
	 * lock; once a lock has run out inside the window, one at a time
	 * (each failure then locks again, as one after another always did). */
	int room = rl->max - live_failures(rl, s, now_ms);
	if (room < 1)
		room = 1;
	bool ok = false;
	int64_t retry = 0;
	if (s->locked_until > now_ms)
		retry = s->locked_until - now_ms;
	else if (s->pending >= room)
		retry = PENDING_RETRY_MS;
	else {
		s->pending++;
		s->last = now_ms;
		ok = true;
	}
	pthread_mutex_unlock(&rl->lock);
	if (!ok && retry_ms)
		*retry_ms = retry;
	return ok;
}

void seula_ratelimit_release(struct seula_ratelimit *rl, const void *key,
                             size_t len, enum seula_attempt outcome,
                             int64_t now_ms)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	/* The slot may have given way under a flood of other keys: then
	 * there is no reservation left to give back, but a failure is still
	 * counted. */
	struct slot *s = slot_for(rl, h, outcome == SEULA_ATTEMPT_FAILED);
	if (s && s->pending > 0)
		s->pending--;
	if (s && outcome == SEULA_ATTEMPT_FAILED)
		count_failure(rl, s, now_ms);
	else if (outcome == SEULA_ATTEMPT_OK ||
	         (s && !s->pending && !s->failures && !s->locked_until))
		forget(s); /* nothing left to hold: the slot is free again */
	pthread_mutex_unlock(&rl->lock);
}
