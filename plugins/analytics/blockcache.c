/*
 * blockcache.c - blocks' bytes kept in memory from one report to the next
 * (blockcache.h): a hash of ids and a least-recently-used list, under one
 * mutex.
 */
#include "blockcache.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* A value kept with an entry (analytics_block_cache_memo_put()). */
struct memo {
	uint64_t tag;
	void *value;
	size_t bytes;
	void (*free_value)(void *);
	struct memo *next;
};

/* Tags an entry keeps values of at most: a value is worked out for one
 * configuration (a site's content groups), which seldom changes. */
#define MEMOS_MAX 4

struct entry {
	struct analytics_cached_block pub; /* first: released by it */
	int64_t id, day;
	const char *site; /* in the same allocation, after the bytes */
	size_t refs;
	struct memo *memos; /* newest first */
	size_t n_memos, memo_bytes;
	bool linked;                 /* in the hash and the list */
	struct entry *chain;         /* the hash bucket's next */
	struct entry *newer, *older; /* the list */
};

struct analytics_block_cache {
	pthread_mutex_t lock;
	size_t max_bytes, bytes, entries;
	uint64_t drops;     /* analytics_block_cache_drop() calls */
	uint64_t memo_hits; /* values found (analytics_block_cache_memo()) */
	struct entry **bucket;
	size_t n_buckets, linked; /* linked: entries in the hash */
	struct entry *newest, *oldest;
};

struct analytics_block_cache *analytics_block_cache_new(size_t max_bytes)
{
	struct analytics_block_cache *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->n_buckets = 256;
	if (!(c->bucket = calloc(c->n_buckets, sizeof(*c->bucket)))) {
		free(c);
		return NULL;
	}
	c->max_bytes = max_bytes;
	pthread_mutex_init(&c->lock, NULL);
	return c;
}

static void memo_free(struct memo *m)
{
	m->free_value(m->value);
	free(m);
}

static void entry_free(struct entry *e)
{
	for (struct memo *m = e->memos, *next; m; m = next) {
		next = m->next;
		memo_free(m);
	}
	free(e);
}

void analytics_block_cache_free(struct analytics_block_cache *c)
{
	if (!c)
		return;
	for (struct entry *e = c->newest, *next; e; e = next) {
		next = e->older;
		entry_free(e);
	}
	free(c->bucket);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static size_t slot(const struct analytics_block_cache *c, int64_t id)
{
	uint64_t h = (uint64_t)id * 0x9E3779B97F4A7C15u;
	return (size_t)(h >> 32) & (c->n_buckets - 1);
}

static void list_remove(struct analytics_block_cache *c, struct entry *e)
{
	if (e->newer)
		e->newer->older = e->older;
	else
		c->newest = e->older;
	if (e->older)
		e->older->newer = e->newer;
	else
		c->oldest = e->newer;
	e->newer = e->older = NULL;
}

static void list_push(struct analytics_block_cache *c, struct entry *e)
{
	e->newer = NULL;
	e->older = c->newest;
	if (c->newest)
		c->newest->newer = e;
	else
		c->oldest = e;
	c->newest = e;
}

/* Out of the hash and the list; freed now, or by its last release. */
static void unlink_entry(struct analytics_block_cache *c, struct entry *e)
{
	struct entry **p = &c->bucket[slot(c, e->id)];
	while (*p != e)
		p = &(*p)->chain;
	*p = e->chain;
	list_remove(c, e);
	e->linked = false;
	c->linked--;
	c->bytes -= e->pub.size + e->memo_bytes;
	if (e->refs == 0) {
		c->entries--;
		entry_free(e);
	}
}

static struct entry *find(const struct analytics_block_cache *c, int64_t id)
{
	struct entry *e = c->bucket[slot(c, id)];
	while (e && e->id != id)
		e = e->chain;
	return e;
}

/* Twice the buckets, when entries outnumber them; as it was when out of
 * memory (chains are only longer). */
static void grow(struct analytics_block_cache *c)
{
	size_t n = c->n_buckets * 2;
	struct entry **b = calloc(n, sizeof(*b));
	if (!b)
		return;
	struct entry **old = c->bucket;
	size_t n_old = c->n_buckets;
	c->bucket = b, c->n_buckets = n;
	for (size_t i = 0; i < n_old; i++)
		for (struct entry *e = old[i], *next; e; e = next) {
			next = e->chain;
			size_t s = slot(c, e->id);
			e->chain = b[s];
			b[s] = e;
		}
	free(old);
}

const struct analytics_cached_block *
analytics_block_cache_get(struct analytics_block_cache *c, int64_t id)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id);
	if (e) {
		e->refs++;
		list_remove(c, e);
		list_push(c, e);
	}
	pthread_mutex_unlock(&c->lock);
	return e ? &e->pub : NULL;
}

const struct analytics_cached_block *
analytics_block_cache_put(struct analytics_block_cache *c, int64_t id,
                          const char *site, int64_t day, const void *data,
                          size_t size)
{
	if (size > c->max_bytes)
		return NULL;
	size_t site_len = strlen(site);
	/* Copied before taking the lock: a block is kilobytes. */
	struct entry *e = malloc(sizeof(*e) + size + site_len + 1);
	if (!e)
		return NULL;
	uint8_t *bytes = (uint8_t *)(e + 1);
	memcpy(bytes, data, size);
	memcpy(bytes + size, site, site_len + 1);
	*e = (struct entry){
	        .pub = {.data = bytes, .size = size},
	        .id = id,
	        .day = day,
	        .site = (const char *)bytes + size,
	        .refs = 1,
	        .linked = true,
	};
	pthread_mutex_lock(&c->lock);
	struct entry *have = find(c, id);
	if (have) { /* another thread read it meanwhile */
		have->refs++;
		pthread_mutex_unlock(&c->lock);
		free(e);
		return &have->pub;
	}
	while (c->oldest && c->bytes + size > c->max_bytes)
		unlink_entry(c, c->oldest);
	if (c->linked >= c->n_buckets)
		grow(c);
	size_t s = slot(c, id);
	e->chain = c->bucket[s];
	c->bucket[s] = e;
	list_push(c, e);
	c->linked++;
	c->entries++;
	c->bytes += size;
	pthread_mutex_unlock(&c->lock);
	return &e->pub;
}

void analytics_block_cache_release(struct analytics_block_cache *c,
                                   const struct analytics_cached_block *b)
{
	if (!b)
		return;
	struct entry *e = (struct entry *)b;
	pthread_mutex_lock(&c->lock);
	if (--e->refs == 0 && !e->linked) {
		c->entries--;
		entry_free(e);
	}
	pthread_mutex_unlock(&c->lock);
}

const void *analytics_block_cache_memo(struct analytics_block_cache *c,
                                       const struct analytics_cached_block *b,
                                       uint64_t tag)
{
	const struct entry *e = (const struct entry *)b;
	const void *value = NULL;
	pthread_mutex_lock(&c->lock);
	for (const struct memo *m = e->memos; m && !value; m = m->next)
		if (m->tag == tag)
			value = m->value;
	c->memo_hits += value != NULL;
	pthread_mutex_unlock(&c->lock);
	return value;
}

uint64_t analytics_block_cache_memo_hits(struct analytics_block_cache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->memo_hits;
	pthread_mutex_unlock(&c->lock);
	return n;
}

bool analytics_block_cache_site_days(struct analytics_block_cache *c,
                                     const char *site, int64_t *day0,
                                     int64_t *day1)
{
	bool any = false;
	pthread_mutex_lock(&c->lock);
	for (const struct entry *e = c->newest; e; e = e->older) {
		if (strcmp(e->site, site) != 0)
			continue;
		if (!any || e->day < *day0)
			*day0 = e->day;
		if (!any || e->day > *day1)
			*day1 = e->day;
		any = true;
	}
	pthread_mutex_unlock(&c->lock);
	return any;
}

bool analytics_block_cache_memo_put(struct analytics_block_cache *c,
                                    const struct analytics_cached_block *b,
                                    uint64_t tag, void *value, size_t bytes,
                                    void (*free_value)(void *))
{
	struct entry *e = (struct entry *)b;
	struct memo *m = malloc(sizeof(*m));
	if (!m)
		return false;
	*m = (struct memo){.tag = tag,
	                   .value = value,
	                   .bytes = bytes,
	                   .free_value = free_value};
	bool taken = false;
	pthread_mutex_lock(&c->lock);
	bool have = false;
	for (const struct memo *o = e->memos; o && !have; o = o->next)
		have = o->tag == tag;
	/* The oldest value, last in the list. */
	struct memo **last = &e->memos;
	while (*last && (*last)->next)
		last = &(*last)->next;
	bool full = e->n_memos == MEMOS_MAX;
	/* The entry with its values, the new one in place of its oldest
	 * when full, within the whole cache. */
	size_t keep = e->pub.size + e->memo_bytes - (full ? (*last)->bytes : 0);
	bool fits = keep <= c->max_bytes && bytes <= c->max_bytes - keep;
	/* A full entry makes room by its oldest value only when no other
	 * holder may be reading it. */
	if (!have && fits && e->linked && full && e->refs == 1) {
		e->memo_bytes -= (*last)->bytes;
		c->bytes -= (*last)->bytes;
		e->n_memos--;
		memo_free(*last);
		*last = NULL;
	}
	if (!have && fits && e->n_memos < MEMOS_MAX && e->linked) {
		/* Room as for bytes put, never by dropping this entry. */
		while (c->oldest && c->bytes + bytes > c->max_bytes) {
			struct entry *old =
			        c->oldest != e ? c->oldest : c->oldest->newer;
			if (!old)
				break;
			unlink_entry(c, old);
		}
		if (c->bytes + bytes <= c->max_bytes) {
			m->next = e->memos;
			e->memos = m;
			e->n_memos++;
			e->memo_bytes += bytes;
			c->bytes += bytes;
			taken = true;
		}
	}
	pthread_mutex_unlock(&c->lock);
	if (!taken)
		free(m);
	return taken;
}

void analytics_block_cache_drop(struct analytics_block_cache *c,
                                const char *site, int64_t day0, int64_t day1)
{
	pthread_mutex_lock(&c->lock);
	c->drops++;
	for (struct entry *e = c->newest, *next; e; e = next) {
		next = e->older;
		if (e->day >= day0 && e->day < day1 &&
		    strcmp(e->site, site) == 0)
			unlink_entry(c, e);
	}
	pthread_mutex_unlock(&c->lock);
}

bool analytics_sweep_due(struct analytics_sweep_state *s, int64_t version,
                         uint64_t drops, int64_t now_ms, int64_t window_ms)
{
	if (version != s->version || drops != s->drops) {
		s->version = version;
		s->drops = drops;
		s->changed_ms = now_ms;
	}
	return !s->swept || now_ms - s->changed_ms < window_ms;
}

uint64_t analytics_block_cache_drops(struct analytics_block_cache *c)
{
	pthread_mutex_lock(&c->lock);
	uint64_t n = c->drops;
	pthread_mutex_unlock(&c->lock);
	return n;
}

int64_t *analytics_block_cache_ids(struct analytics_block_cache *c, size_t *n)
{
	pthread_mutex_lock(&c->lock);
	*n = 0;
	int64_t *ids = c->linked ? malloc(c->linked * sizeof(*ids)) : NULL;
	for (struct entry *e = c->newest; ids && e; e = e->older)
		ids[(*n)++] = e->id;
	pthread_mutex_unlock(&c->lock);
	return ids;
}

void analytics_block_cache_forget(struct analytics_block_cache *c, int64_t id)
{
	pthread_mutex_lock(&c->lock);
	struct entry *e = find(c, id);
	if (e)
		unlink_entry(c, e);
	pthread_mutex_unlock(&c->lock);
}

size_t analytics_block_cache_bytes(struct analytics_block_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->bytes;
	pthread_mutex_unlock(&c->lock);
	return n;
}

size_t analytics_block_cache_entries(struct analytics_block_cache *c)
{
	pthread_mutex_lock(&c->lock);
	size_t n = c->entries;
	pthread_mutex_unlock(&c->lock);
	return n;
}
