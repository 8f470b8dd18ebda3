/*
 * lru.h - a fixed-capacity least-recently-used cache from byte-string keys
 * to fixed-size values.
 *
 * Keys are hashed with SipHash (libsodium's crypto_shorthash) under a random
 * key, so crafted user agents cannot pile into one bucket.  Not
 * thread-safe: the caller locks.  The cache owns copies of keys and values.
 */
#ifndef SEULA_LRU_H
#define SEULA_LRU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct lru;

/* NULL when out of memory; capacity 0 makes a cache that keeps nothing. */
struct lru *lru_new(size_t capacity, size_t value_size,
                    const unsigned char hash_key[16]);
void lru_free(struct lru *lru);
/* Copy the value for key into value_out and mark it recent. */
bool lru_get(struct lru *lru, const void *key, size_t klen, void *value_out);
/* Insert or replace; evicts the least recently used entry when full. */
void lru_put(struct lru *lru, const void *key, size_t klen, const void *value);
void lru_stats(const struct lru *lru, uint64_t *hits, uint64_t *misses,
               size_t *size);

#endif
