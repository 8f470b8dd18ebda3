/*
 * lru.c - hash table with chaining over a fixed array of entries, and a
 * doubly linked recency list threaded through the same entries.
 * Hand-written: no Debian-packaged C library offers a bounded LRU map, and
 * the structure is small.
 */
#include "lru.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define NONE UINT32_MAX

struct entry {
	uint64_t hash;
	unsigned char *key; /* malloc'd */
	size_t klen;
	uint32_t chain;      /* next in bucket */
	uint32_t prev, next; /* recency: head is most recent */
};

struct lru {
	size_t capacity, size, value_size;
	struct entry *entries;
	unsigned char *values; /* capacity * value_size */
	uint32_t *buckets;
	size_t n_buckets; /* power of two */
	uint32_t head, tail;
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	uint64_t hits, misses;
};

static uint64_t hash_of(const struct lru *lru, const void *key, size_t klen)
{
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, key, klen, lru->hash_key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return h;
}

struct lru *lru_new(size_t capacity, size_t value_size,
                    const unsigned char hash_key[16])
{
	if (capacity > UINT32_MAX / 4)
		return NULL;
	struct lru *lru = calloc(1, sizeof(*lru));
	if (!lru)
		return NULL;
	lru->capacity = capacity;
	lru->value_size = value_size;
	lru->n_buckets = 1;
	while (lru->n_buckets < capacity * 2)
		lru->n_buckets <<= 1;
	lru->entries = calloc(capacity ? capacity : 1, sizeof(*lru->entries));
	lru->values = calloc(capacity ? capacity : 1, value_size);
	lru->buckets = malloc(lru->n_buckets * sizeof(*lru->buckets));
	if (!lru->entries || !lru->values || !lru->buckets) {
		lru_free(lru);
		return NULL;
	}
	for (size_t i = 0; i < lru->n_buckets; i++)
		lru->buckets[i] = NONE;
	lru->head = lru->tail = NONE;
	memcpy(lru->hash_key, hash_key, sizeof(lru->hash_key));
	return lru;
}

void lru_free(struct lru *lru)
{
	if (!lru)
		return;
	for (size_t i = 0; lru->entries && i < lru->capacity; i++)
		free(lru->entries[i].key);
	free(lru->entries);
	free(lru->values);
	free(lru->buckets);
	sodium_memzero(lru->hash_key, sizeof(lru->hash_key));
	free(lru);
}

static void unlink_recent(struct lru *lru, uint32_t i)
{
	struct entry *e = &lru->entries[i];
	if (e->prev != NONE)
		lru->entries[e->prev].next = e->next;
	else
		lru->head = e->next;
	if (e->next != NONE)
		lru->entries[e->next].prev = e->prev;
	else
		lru->tail = e->prev;
	e->prev = e->next = NONE;
}

static void push_front(struct lru *lru, uint32_t i)
{
	struct entry *e = &lru->entries[i];
	e->prev = NONE;
	e->next = lru->head;
	if (lru->head != NONE)
		lru->entries[lru->head].prev = i;
	lru->head = i;
	if (lru->tail == NONE)
		lru->tail = i;
}

static uint32_t find(const struct lru *lru, uint64_t h, const void *key,
                     size_t klen)
{
	for (uint32_t i = lru->buckets[h & (lru->n_buckets - 1)]; i != NONE;
	     i = lru->entries[i].chain) {
		const struct entry *e = &lru->entries[i];
		if (e->hash == h && e->klen == klen &&
		    memcmp(e->key, key, klen) == 0)
			return i;
	}
	return NONE;
}

bool lru_get(struct lru *lru, const void *key, size_t klen, void *value_out)
{
	if (!lru->capacity) {
		lru->misses++;
		return false;
	}
	uint64_t h = hash_of(lru, key, klen);
	uint32_t i = find(lru, h, key, klen);
	if (i == NONE) {
		lru->misses++;
		return false;
	}
	lru->hits++;
	unlink_recent(lru, i);
	push_front(lru, i);
	memcpy(value_out, lru->values + (size_t)i * lru->value_size,
	       lru->value_size);
	return true;
}

static void unlink_bucket(struct lru *lru, uint32_t i)
{
	uint32_t *link =
	        &lru->buckets[lru->entries[i].hash & (lru->n_buckets - 1)];
	while (*link != i)
		link = &lru->entries[*link].chain;
	*link = lru->entries[i].chain;
}

void lru_put(struct lru *lru, const void *key, size_t klen, const void *value)
{
	if (!lru->capacity)
		return;
	uint64_t h = hash_of(lru, key, klen);
	uint32_t i = find(lru, h, key, klen);
	if (i == NONE) {
		unsigned char *copy = malloc(klen ? klen : 1);
		if (!copy)
			return;
		memcpy(copy, key, klen);
		if (lru->size < lru->capacity) {
			i = (uint32_t)lru->size++;
		} else {
			i = lru->tail; /* evict the least recent */
			unlink_recent(lru, i);
			unlink_bucket(lru, i);
			free(lru->entries[i].key);
		}
		struct entry *e = &lru->entries[i];
		e->hash = h;
		e->key = copy;
		e->klen = klen;
		uint32_t *bucket = &lru->buckets[h & (lru->n_buckets - 1)];
		e->chain = *bucket;
		*bucket = i;
	} else {
		unlink_recent(lru, i);
	}
	push_front(lru, i);
	memcpy(lru->values + (size_t)i * lru->value_size, value,
	       lru->value_size);
}

void lru_stats(const struct lru *lru, uint64_t *hits, uint64_t *misses,
               size_t *size)
{
	*hits = lru->hits;
	*misses = lru->misses;
	*size = lru->size;
}
