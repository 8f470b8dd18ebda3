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

struct slot {
	uint64_t hash; /* 0: empty */
	int failures;
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
		if (!stalest || s->last < stalest->last)
			stalest = s;
	}
	if (!create)
		return NULL;
	memset(stalest, 0, sizeof(*stalest));
	stalest->hash = h;
	return stalest;
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
	struct slot *s = slot_for(rl, h, true);
	if (now_ms - s->window_start > rl->window_ms) {
		s->window_start = now_ms;
		s->failures = 0;
	}
	s->last = now_ms;
	if (++s->failures >= rl->max)
		s->locked_until = now_ms + rl->lockout_ms;
	pthread_mutex_unlock(&rl->lock);
}

void seula_ratelimit_clear(struct seula_ratelimit *rl, const void *key,
                           size_t len)
{
	uint64_t h = hash_of(rl, key, len);
	pthread_mutex_lock(&rl->lock);
	struct slot *s = slot_for(rl, h, false);
	if (s)
		memset(s, 0, sizeof(*s));
	pthread_mutex_unlock(&rl->lock);
}
