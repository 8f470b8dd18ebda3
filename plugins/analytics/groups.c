/*
 * groups.c - rows summed per value in one pass (see groups.h).
 *
 * Two open-addressing tables by hand, as gather.c and openvisits.c keep
 * theirs: values by key, and each value's visitor hashes.  Hashes of
 * visitors are keyed SipHash outputs (analytics.c), so they are spread
 * already; keys are visitors' page paths and event values, so they get
 * libsodium's SipHash with a random key too, as in gather.c: an unkeyed
 * hash would let a visitor send paths that collide, and make a report's
 * table a list.
 */
#include "groups.h"
#include "hll.h"

#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct group {
	size_t key_off, key_len;
	uint64_t key_hash;
	struct analytics_totals t;
	/* Rows added: no more visitors than these. */
	int64_t rows;
	/* Whether the log's rows of the value are in its set or sketch:
	 * then its new rows are counted at once, never logged. */
	bool logged_in;
	/* Visitors: a set (0 marks an empty slot, `zero` the hash 0) until
	 * it outgrows ANALYTICS_GROUP_EXACT_MAX, then the sketch. */
	int64_t *set;
	uint32_t set_n, set_cap;
	bool zero;
	struct seula_hll *sketch;
};

/* The log in chunks: it grows without copying what it holds, and a
 * merge takes another's chunks as they are.  A row's group SKIPPED: it
 * was counted (a merge's). */
#define LOG_CHUNK 16384
#define SKIPPED UINT32_MAX

struct log_chunk {
	size_t n;
	int64_t visitor[LOG_CHUNK];
	uint32_t group[LOG_CHUNK];
};

struct analytics_groups_pool {
	pthread_mutex_t lock;
	struct log_chunk **spare;
	size_t n, max;
};

struct analytics_groups {
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	struct analytics_groups_pool *pool; /* or NULL */
	struct group *list;
	size_t n, cap;
	uint32_t *slots; /* index + 1 into list; 0: empty */
	size_t n_slots;  /* a power of two, at least twice n */
	struct analytics_keybuf keys;
	struct analytics_group *sorted;
	/* Bytes of the values' sets and sketches, and past how many rows
	 * are deferred: their visitors logged, by value, and counted only
	 * for the values a top list needs.  Counting in place
	 * costs a cache miss a row once the sets outgrow the cache (a
	 * year's pages); logging costs a pass more for the values counted
	 * (a year's countries, nearly all of whose rows are the top ten's). */
	size_t mem, defer_past;
	bool deferred;
	struct log_chunk **chunks;
	size_t n_chunks, cap_chunks;
	size_t log_n, log_max;
};

/* Defaults: sets and sketches of 2 MiB, what two cores here keep in their
 * second-level caches (a year's page breakdown and its country one both
 * ran fastest near it); a log of 4 Mi rows, 48 MiB, before they are
 * counted into every value. */
#define DEFER_PAST ((size_t)2 << 20)
#define LOG_MAX (UINT32_C(1) << 22)

int64_t analytics_keybuf_add(struct analytics_keybuf *kb, const char *key,
                             size_t len)
{
	if (kb->used + len + 1 > kb->size) {
		size_t sz = kb->size ? kb->size * 2 : 65536;
		while (sz < kb->used + len + 1)
			sz *= 2;
		char *nb = realloc(kb->buf, sz);
		if (!nb)
			return -1;
		kb->buf = nb, kb->size = sz;
	}
	int64_t off = (int64_t)kb->used;
	if (len)
		memcpy(kb->buf + kb->used, key, len);
	kb->buf[kb->used + len] = '\0';
	kb->used += len + 1;
	return off;
}

struct analytics_groups_pool *analytics_groups_pool_new(size_t max_bytes)
{
	struct analytics_groups_pool *p = calloc(1, sizeof(*p));
	if (!p)
		return NULL;
	p->max = max_bytes / sizeof(struct log_chunk);
	if (p->max && !(p->spare = malloc(p->max * sizeof(*p->spare)))) {
		free(p);
		return NULL;
	}
	pthread_mutex_init(&p->lock, NULL);
	return p;
}

void analytics_groups_pool_free(struct analytics_groups_pool *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->n; i++)
		free(p->spare[i]);
	free(p->spare);
	pthread_mutex_destroy(&p->lock);
	free(p);
}

size_t analytics_groups_pool_spare(struct analytics_groups_pool *p)
{
	pthread_mutex_lock(&p->lock);
	size_t n = p->n;
	pthread_mutex_unlock(&p->lock);
	return n;
}

void analytics_groups_use_pool(struct analytics_groups *g,
                               struct analytics_groups_pool *p)
{
	g->pool = p;
}

/* A log chunk: a spare one, or new. */
static struct log_chunk *chunk_new(struct analytics_groups *g)
{
	struct log_chunk *ch = NULL;
	struct analytics_groups_pool *p = g->pool;
	if (p) {
		pthread_mutex_lock(&p->lock);
		if (p->n)
			ch = p->spare[--p->n];
		pthread_mutex_unlock(&p->lock);
	}
	return ch ? ch : malloc(sizeof(*ch));
}

/* g's chunks back to its pool while it has room, the rest freed. */
static void chunks_free(struct analytics_groups *g)
{
	struct analytics_groups_pool *p = g->pool;
	size_t i = 0;
	if (p) {
		pthread_mutex_lock(&p->lock);
		for (; i < g->n_chunks && p->n < p->max; i++)
			p->spare[p->n++] = g->chunks[i];
		pthread_mutex_unlock(&p->lock);
	}
	for (; i < g->n_chunks; i++)
		free(g->chunks[i]);
	g->n_chunks = 0;
}

struct analytics_groups *analytics_groups_new(void)
{
	struct analytics_groups *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	randombytes_buf(g->hash_key, sizeof(g->hash_key));
	g->defer_past = DEFER_PAST;
	g->log_max = LOG_MAX;
	g->n_slots = 64;
	g->slots = calloc(g->n_slots, sizeof(*g->slots));
	if (!g->slots) {
		free(g);
		return NULL;
	}
	return g;
}

void analytics_groups_free(struct analytics_groups *g)
{
	if (!g)
		return;
	for (size_t i = 0; i < g->n; i++) {
		free(g->list[i].set);
		free(g->list[i].sketch);
	}
	free(g->list);
	free(g->slots);
	free(g->keys.buf);
	free(g->sorted);
	chunks_free(g);
	free(g->chunks);
	free(g);
}

size_t analytics_groups_count(const struct analytics_groups *g)
{
	return g->n;
}

static uint64_t key_hash(const struct analytics_groups *g, const char *s,
                         size_t len)
{
	unsigned char out[crypto_shorthash_BYTES];
	crypto_shorthash(out, (const unsigned char *)s, len, g->hash_key);
	uint64_t h;
	memcpy(&h, out, sizeof(h));
	return h;
}

/* The values' slots rebuilt as `n_slots` (a power of two, at least
 * twice the values). */
static bool rehash(struct analytics_groups *g, size_t n_slots)
{
	uint32_t *slots = calloc(n_slots, sizeof(*slots));
	if (!slots)
		return false;
	for (size_t i = 0; i < g->n; i++) {
		size_t at = g->list[i].key_hash & (n_slots - 1);
		while (slots[at])
			at = (at + 1) & (n_slots - 1);
		slots[at] = (uint32_t)(i + 1);
	}
	free(g->slots);
	g->slots = slots;
	g->n_slots = n_slots;
	return true;
}

static bool grow_slots(struct analytics_groups *g)
{
	return rehash(g, g->n_slots * 2);
}

void analytics_groups_shrink(struct analytics_groups *g)
{
	size_t used = g->keys.used ? g->keys.used : 1;
	char *keys = used < g->keys.size ? realloc(g->keys.buf, used) : NULL;
	if (keys)
		g->keys.buf = keys, g->keys.size = used;
	size_t n = g->n ? g->n : 1;
	struct group *list =
	        n < g->cap ? realloc(g->list, n * sizeof(*list)) : NULL;
	if (list)
		g->list = list, g->cap = n;
	size_t n_slots = 8;
	while (n_slots < 2 * g->n)
		n_slots *= 2;
	if (n_slots < g->n_slots)
		(void)rehash(g, n_slots); /* else as it was */
}

/* The group of `key`, or NULL when there is none. */
static struct group *find(const struct analytics_groups *g, const char *key,
                          size_t len)
{
	uint64_t h = key_hash(g, key, len);
	for (size_t at = h & (g->n_slots - 1); g->slots[at];
	     at = (at + 1) & (g->n_slots - 1)) {
		struct group *x = &g->list[g->slots[at] - 1];
		if (x->key_hash == h && x->key_len == len &&
		    memcmp(g->keys.buf + x->key_off, key, len) == 0)
			return x;
	}
	return NULL;
}

/* The group of `key`, made when new; NULL when out of memory. */
static struct group *find_or_add(struct analytics_groups *g, const char *key,
                                 size_t len)
{
	uint64_t h = key_hash(g, key, len);
	size_t at = h & (g->n_slots - 1);
	for (; g->slots[at]; at = (at + 1) & (g->n_slots - 1)) {
		struct group *x = &g->list[g->slots[at] - 1];
		if (x->key_hash == h && x->key_len == len &&
		    memcmp(g->keys.buf + x->key_off, key, len) == 0)
			return x;
	}
	if (g->n == UINT32_MAX - 1)
		return NULL;
	if (g->n == g->cap) {
		size_t cap = g->cap ? g->cap * 2 : 64;
		struct group *l = realloc(g->list, cap * sizeof(*l));
		if (!l)
			return NULL;
		g->list = l, g->cap = cap;
	}
	int64_t off = analytics_keybuf_add(&g->keys, key, len);
	if (off < 0)
		return NULL;
	struct group *x = &g->list[g->n];
	memset(x, 0, sizeof(*x));
	x->key_off = (size_t)off, x->key_len = len, x->key_hash = h;
	g->slots[at] = (uint32_t)(++g->n);
	if (g->n * 2 > g->n_slots && !grow_slots(g))
		return NULL;
	return &g->list[g->n - 1];
}

static void set_put(int64_t *set, uint32_t cap, int64_t v)
{
	size_t at = ((uint64_t)v * 0x9e3779b97f4a7c15u >> 32) & (cap - 1);
	while (set[at] && set[at] != v)
		at = (at + 1) & (cap - 1);
	set[at] = v;
}

static bool set_has(const int64_t *set, uint32_t cap, int64_t v)
{
	size_t at = ((uint64_t)v * 0x9e3779b97f4a7c15u >> 32) & (cap - 1);
	for (; set[at]; at = (at + 1) & (cap - 1))
		if (set[at] == v)
			return true;
	return false;
}

/* A sketch's register comes from a hash's top bits.  Visitors are keyed
 * SipHash outputs, except those forgotten past visitor_retention or
 * anonymised (analytics.c), whose "visitor" is their visit's id: small
 * numbers, all in register 0.  splitmix64's finaliser spreads both, one
 * to one; these sketches are never merged with the rollups'. */
static uint64_t spread(int64_t v)
{
	return seula_hll_mix((uint64_t)v);
}

/* The group's visitors from its set into a sketch. */
static bool to_sketch(struct analytics_groups *g, struct group *x)
{
	x->sketch = calloc(1, sizeof(*x->sketch));
	if (!x->sketch)
		return false;
	g->mem += sizeof(*x->sketch) - x->set_cap * sizeof(*x->set);
	for (uint32_t i = 0; i < x->set_cap; i++)
		if (x->set[i])
			seula_hll_add_hash(x->sketch, spread(x->set[i]));
	if (x->zero)
		seula_hll_add_hash(x->sketch, spread(0));
	free(x->set);
	x->set = NULL;
	x->set_n = x->set_cap = 0;
	return true;
}

/* The group's set rehashed into `cap` slots (a power of two, more than
 * twice its visitors). */
static bool set_grow(struct analytics_groups *g, struct group *x, uint32_t cap)
{
	int64_t *set = calloc(cap, sizeof(*set));
	if (!set)
		return false;
	for (uint32_t i = 0; i < x->set_cap; i++)
		if (x->set[i])
			set_put(set, cap, x->set[i]);
	free(x->set);
	g->mem += (cap - x->set_cap) * sizeof(*set);
	x->set = set, x->set_cap = cap;
	return true;
}

static bool add_visitor(struct analytics_groups *g, struct group *x, int64_t v)
{
	if (x->sketch) {
		seula_hll_add_hash(x->sketch, spread(v));
		return true;
	}
	if (v == 0) {
		x->zero = true;
		return true;
	}
	if (x->set && set_has(x->set, x->set_cap, v))
		return true;
	if (x->set_n + 1 > ANALYTICS_GROUP_EXACT_MAX) {
		if (!to_sketch(g, x))
			return false;
		seula_hll_add_hash(x->sketch, spread(v));
		return true;
	}
	if ((x->set_n + 1) * 2 > x->set_cap &&
	    !set_grow(g, x, x->set_cap ? x->set_cap * 2 : 8))
		return false;
	set_put(x->set, x->set_cap, v);
	x->set_n++;
	return true;
}

/* Count the log's rows of the values `want` marks (every value: NULL)
 * into their sets and sketches. */
static bool log_count(struct analytics_groups *g, const uint8_t *want)
{
	/* A pass over the log only when a value it counts has rows there. */
	bool any = false;
	for (size_t i = 0; !any && i < g->n; i++)
		any = (!want || want[i]) && !g->list[i].logged_in &&
		      g->list[i].rows > 0;
	for (size_t c = 0; any && c < g->n_chunks; c++) {
		const struct log_chunk *ch = g->chunks[c];
		for (size_t i = 0; i < ch->n; i++) {
			uint32_t k = ch->group[i];
			if (k == SKIPPED || (want && !want[k]))
				continue;
			struct group *x = &g->list[k];
			if (!x->logged_in && !add_visitor(g, x, ch->visitor[i]))
				return false;
		}
	}
	for (size_t i = 0; i < g->n; i++)
		if (!want || want[i])
			g->list[i].logged_in = true;
	return true;
}

/* Every logged row counted, the log emptied. */
static bool log_flush(struct analytics_groups *g)
{
	if (!log_count(g, NULL))
		return false;
	chunks_free(g);
	g->log_n = 0;
	for (size_t i = 0; i < g->n; i++)
		g->list[i].logged_in = false;
	return true;
}

/* The log's last chunk with room for a row, flushing the log first when
 * it is full; NULL when out of memory. */
static struct log_chunk *log_room(struct analytics_groups *g)
{
	if (g->log_n >= g->log_max && !log_flush(g))
		return NULL;
	struct log_chunk *ch = g->n_chunks ? g->chunks[g->n_chunks - 1] : NULL;
	if (ch && ch->n < LOG_CHUNK)
		return ch;
	if (g->n_chunks == g->cap_chunks) {
		size_t cap = g->cap_chunks ? g->cap_chunks * 2 : 16;
		struct log_chunk **l = realloc(g->chunks, cap * sizeof(*l));
		if (!l)
			return NULL;
		g->chunks = l, g->cap_chunks = cap;
	}
	if (!(ch = chunk_new(g)))
		return NULL;
	ch->n = 0;
	g->chunks[g->n_chunks++] = ch;
	return ch;
}

static bool log_put(struct analytics_groups *g, size_t index, int64_t visitor)
{
	struct log_chunk *ch = log_room(g);
	if (!ch)
		return false;
	ch->group[ch->n] = (uint32_t)index;
	ch->visitor[ch->n++] = visitor;
	g->log_n++;
	return true;
}

/* log_put() of n rows, row k's visitor visitors[sel[k]], a chunk's room
 * at a time: a call a row was a seventh of a year's page breakdown. */
static bool log_rows(struct analytics_groups *g, size_t index,
                     const int64_t *visitors, const uint32_t *sel, size_t n)
{
	while (n) {
		struct log_chunk *ch = log_room(g);
		if (!ch)
			return false;
		size_t take = LOG_CHUNK - ch->n;
		if (take > g->log_max - g->log_n)
			take = g->log_max - g->log_n;
		if (take > n)
			take = n;
		uint32_t *group = ch->group + ch->n;
		int64_t *visitor = ch->visitor + ch->n;
		for (size_t k = 0; k < take; k++) {
			group[k] = (uint32_t)index;
			visitor[k] = visitors[sel[k]];
		}
		ch->n += take, g->log_n += take;
		sel += take, n -= take;
	}
	return true;
}

/* A row's visitor, counted or logged. */
static bool add_row_visitor(struct analytics_groups *g, size_t index,
                            int64_t visitor)
{
	struct group *x = &g->list[index];
	if (g->deferred && !x->logged_in ? !log_put(g, index, visitor)
	                                 : !add_visitor(g, x, visitor))
		return false;
	g->deferred |= g->mem > g->defer_past;
	return true;
}

static void add_sums(struct group *x, const struct analytics_totals *t)
{
	x->t.visits += t->visits;
	x->t.pageviews += t->pageviews;
	x->t.bounces += t->bounces;
	x->t.duration_ms += t->duration_ms;
	x->t.events += t->events;
	x->t.engagement_ms += t->engagement_ms;
}

static bool add_to(struct analytics_groups *g, size_t index, int64_t visitor,
                   const struct analytics_totals *t)
{
	if (!add_row_visitor(g, index, visitor))
		return false;
	struct group *x = &g->list[index];
	x->rows++;
	add_sums(x, t);
	return true;
}

bool analytics_groups_add_rows(struct analytics_groups *g, size_t index,
                               const int64_t *visitors, const uint32_t *sel,
                               size_t n, const struct analytics_totals *sum)
{
	if (index >= g->n)
		return false;
	/* Room for them at once, rather than doubling all the way. */
	struct group *y = &g->list[index];
	uint32_t cap = y->set_cap ? y->set_cap : 8;
	while (cap < 2 * ANALYTICS_GROUP_EXACT_MAX && cap < 2 * (y->set_n + n))
		cap *= 2;
	if (!y->sketch && !g->deferred && cap > y->set_cap &&
	    !set_grow(g, y, cap))
		return false;
	/* Logged, they change nothing add_row_visitor() looks at. */
	if (g->deferred && !y->logged_in) {
		if (!log_rows(g, index, visitors, sel, n))
			return false;
	} else {
		for (size_t k = 0; k < n; k++)
			if (!add_row_visitor(g, index, visitors[sel[k]]))
				return false;
	}
	struct group *x = &g->list[index];
	x->rows += n;
	add_sums(x, sum);
	return true;
}

bool analytics_groups_add(struct analytics_groups *g, const char *key,
                          size_t len, int64_t visitor,
                          const struct analytics_totals *t)
{
	struct group *x = find_or_add(g, key ? key : "", key ? len : 0);
	return x && add_to(g, (size_t)(x - g->list), visitor, t);
}

int64_t analytics_groups_index(struct analytics_groups *g, const char *key,
                               size_t len)
{
	struct group *x = find_or_add(g, key ? key : "", key ? len : 0);
	return x ? x - g->list : -1;
}

int64_t analytics_groups_visits(const struct analytics_groups *g, size_t index)
{
	return index < g->n ? g->list[index].t.visits : 0;
}

const char *analytics_groups_key(const struct analytics_groups *g, size_t index,
                                 size_t *len)
{
	*len = g->list[index].key_len;
	return g->keys.buf + g->list[index].key_off;
}

bool analytics_groups_add_at(struct analytics_groups *g, size_t index,
                             int64_t visitor, const struct analytics_totals *t)
{
	return index < g->n && add_to(g, index, visitor, t);
}

/* Each value of `from` into g: its sums, and the visitors its set or
 * sketch holds (its logged rows are the caller's); to[i] (when not NULL)
 * the index in g of from's value i.  from is only read. */
static bool merge_values(struct analytics_groups *g,
                         const struct analytics_groups *from, uint32_t *to)
{
	bool ok = true;
	for (size_t i = 0; ok && i < from->n; i++) {
		const struct group *y = &from->list[i];
		struct group *x =
		        find_or_add(g, from->keys.buf + y->key_off, y->key_len);
		if (!x)
			return false;
		if (to)
			to[i] = (uint32_t)(x - g->list);
		x->rows += y->rows;
		x->t.visits += y->t.visits;
		x->t.pageviews += y->t.pageviews;
		x->t.bounces += y->t.bounces;
		x->t.duration_ms += y->t.duration_ms;
		x->t.events += y->t.events;
		x->t.engagement_ms += y->t.engagement_ms;
		if (y->sketch) {
			/* More visitors than a set holds, so the union too. */
			if (!x->sketch && !(ok = to_sketch(g, x)))
				break;
			for (size_t r = 0; r < SEULA_HLL_M; r++)
				if (x->sketch->reg[r] < y->sketch->reg[r])
					x->sketch->reg[r] = y->sketch->reg[r];
			continue;
		}
		/* Logged when g logs: counted then only if a top list wants
		 * the value, not each a cache miss into x's set now. */
		bool log = g->deferred && !x->logged_in;
		size_t at = (size_t)(x - g->list);
		for (uint32_t k = 0; ok && k < y->set_cap; k++)
			ok = !y->set[k] || (log ? log_put(g, at, y->set[k])
			                        : add_visitor(g, x, y->set[k]));
		if (ok && y->zero)
			ok = log ? log_put(g, at, 0) : add_visitor(g, x, 0);
	}
	return ok;
}

bool analytics_groups_add_all(struct analytics_groups *g,
                              const struct analytics_groups *from)
{
	return from->log_n == 0 && merge_values(g, from, NULL);
}

size_t analytics_groups_bytes(const struct analytics_groups *g)
{
	return sizeof(*g) + g->cap * sizeof(*g->list) +
	       g->n_slots * sizeof(*g->slots) + g->keys.size + g->mem +
	       g->n_chunks * sizeof(struct log_chunk);
}

bool analytics_groups_merge(struct analytics_groups *g,
                            struct analytics_groups *from)
{
	uint32_t *to = malloc((from->n ? from->n : 1) * sizeof(*to));
	bool *now = malloc((from->n ? from->n : 1) * sizeof(*now));
	bool ok = to && now && merge_values(g, from, to);
	/* from's log becomes g's, its rows renumbered where they are: those
	 * from counted are skipped, those of a value g counted are counted
	 * now, as g's own new rows would be.  What becomes of a value's rows
	 * is settled once, in to[]: the log's pass then reads a small
	 * table, not two values' structs a row. */
	for (size_t i = 0; ok && i < from->n; i++) {
		now[i] = g->list[to[i]].logged_in;
		if (from->list[i].logged_in)
			to[i] = SKIPPED, now[i] = false;
	}
	for (size_t c = 0; ok && c < from->n_chunks; c++) {
		struct log_chunk *ch = from->chunks[c];
		for (size_t i = 0; ok && i < ch->n; i++) {
			uint32_t k = ch->group[i];
			if (k == SKIPPED) {
				continue;
			} else if (now[k]) {
				ok = add_visitor(g, &g->list[to[k]],
				                 ch->visitor[i]);
				ch->group[i] = SKIPPED;
			} else {
				ch->group[i] = to[k];
			}
		}
	}
	free(to);
	free(now);
	if (!ok)
		return false;
	size_t n = g->n_chunks + from->n_chunks;
	if (n > g->cap_chunks) {
		struct log_chunk **l = realloc(g->chunks, n * sizeof(*l));
		if (!l)
			return false;
		g->chunks = l, g->cap_chunks = n;
	}
	if (from->n_chunks)
		memcpy(g->chunks + g->n_chunks, from->chunks,
		       from->n_chunks * sizeof(*from->chunks));
	g->n_chunks = n;
	g->log_n += from->log_n;
	from->n_chunks = 0;
	from->log_n = 0;
	/* Two logs may hold more than one may. */
	return g->log_n <= g->log_max || log_flush(g);
}

struct analytics_groups *
analytics_groups_new_like(const struct analytics_groups *g)
{
	struct analytics_groups *n = analytics_groups_new();
	if (n) {
		n->defer_past = g->defer_past;
		n->deferred = g->deferred;
		n->log_max = g->log_max;
		n->pool = g->pool;
	}
	return n;
}

void analytics_groups_log_all(struct analytics_groups *g)
{
	g->defer_past = 0;
	g->deferred = true;
}

void analytics_groups_limits(struct analytics_groups *g, size_t sets_bytes,
                             size_t log_rows)
{
	g->defer_past = sets_bytes ? sets_bytes : 1;
	g->deferred = g->mem > g->defer_past;
	g->log_max = log_rows ? log_rows : 1;
}

static int by_visitors(const void *a, const void *b)
{
	const struct analytics_group *x = a, *y = b;
	if (x->t.visitors != y->t.visitors)
		return x->t.visitors > y->t.visitors ? -1 : 1;
	if (x->t.visits != y->t.visits)
		return x->t.visits > y->t.visits ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* A value's visitors: a sketch's estimate is never more than its rows. */
static int64_t visitors_of(const struct group *x)
{
	if (!x->sketch)
		return (int64_t)x->set_n + x->zero;
	int64_t v = (int64_t)llround(seula_hll_count(x->sketch));
	return v < x->rows ? v : x->rows;
}

static void group_out(const struct analytics_groups *g, const struct group *x,
                      struct analytics_group *o)
{
	o->key = g->keys.buf + x->key_off;
	o->t = x->t;
	o->t.visitors = visitors_of(x);
}

const struct analytics_group *
analytics_groups_sorted(struct analytics_groups *g)
{
	free(g->sorted);
	g->sorted = g->n ? malloc(g->n * sizeof(*g->sorted)) : NULL;
	if (!g->sorted || !log_flush(g))
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		group_out(g, &g->list[i], &g->sorted[i]);
	qsort(g->sorted, g->n, sizeof(*g->sorted), by_visitors);
	return g->sorted;
}

static int by_rows(const void *a, const void *b, void *arg)
{
	const struct group *list = arg;
	int64_t x = list[*(const uint32_t *)a].rows,
	        y = list[*(const uint32_t *)b].rows;
	return x > y ? -1 : x < y;
}

/* The values' indexes by rows, most first (malloc'd; NULL when out of
 * memory). */
static uint32_t *rows_order(const struct analytics_groups *g)
{
	uint32_t *order = malloc((g->n ? g->n : 1) * sizeof(*order));
	if (!order)
		return NULL;
	for (size_t i = 0; i < g->n; i++)
		order[i] = (uint32_t)i;
	qsort_r(order, g->n, sizeof(*order), by_rows, g->list);
	return order;
}

const struct analytics_group *analytics_groups_top(struct analytics_groups *g,
                                                   size_t limit, size_t *n)
{
	*n = g->n;
	if (!g->log_n || g->n <= limit)
		return analytics_groups_sorted(g);
	/* Values by rows: a value's visitors are at most its rows, so
	 * once the limit-th best counted has V visitors, a value of fewer
	 * than V rows cannot pass it and is never counted. */
	free(g->sorted);
	g->sorted = malloc(g->n * sizeof(*g->sorted));
	uint32_t *order = rows_order(g);
	uint8_t *want = calloc(g->n, 1);
	bool ok = g->sorted && order && want;
	/* Each round a pass over the log: twice the values each time, as
	 * many of them as may still pass. */
	size_t counted = 0, next = 0, more = limit * 2 + 8;
	while (ok) {
		for (; more && next < g->n; more--)
			want[order[next++]] = 1;
		if (!(ok = log_count(g, want)))
			break;
		for (size_t i = counted; i < next; i++)
			group_out(g, &g->list[order[i]], &g->sorted[i]);
		counted = next;
		qsort(g->sorted, counted, sizeof(*g->sorted), by_visitors);
		int64_t v =
		        counted >= limit ? g->sorted[limit - 1].t.visitors : 0;
		if (next == g->n || g->list[order[next]].rows < v)
			break;
		more = counted;
	}
	free(order);
	free(want);
	if (!ok)
		return NULL;
	*n = counted;
	return g->sorted;
}

bool analytics_groups_pick(struct analytics_groups *g, const char *const *keys,
                           size_t n_keys, const struct analytics_group **out,
                           size_t *n)
{
	*out = NULL;
	*n = 0;
	free(g->sorted);
	g->sorted = NULL;
	uint8_t *want = calloc(g->n ? g->n : 1, 1);
	uint32_t *at = malloc((n_keys ? n_keys : 1) * sizeof(*at));
	size_t found = 0;
	for (size_t i = 0; want && at && i < n_keys; i++) {
		struct group *x = find(g, keys[i], strlen(keys[i]));
		size_t k = x ? (size_t)(x - g->list) : 0;
		if (x && !want[k]) {
			want[k] = 1;
			at[found++] = (uint32_t)k;
		}
	}
	bool ok =
	        want && at &&
	        (!found || ((g->sorted = malloc(found * sizeof(*g->sorted))) &&
	                    log_count(g, want)));
	for (size_t i = 0; ok && i < found; i++)
		group_out(g, &g->list[at[i]], &g->sorted[i]);
	free(want);
	free(at);
	if (ok && found) {
		*out = g->sorted;
		*n = found;
	}
	return ok;
}

bool analytics_groups_count_top(struct analytics_groups *g, size_t limit)
{
	size_t first = limit * 2 + 8; /* analytics_groups_top()'s first round */
	if (!g->log_n)
		return true;
	if (g->n <= first)
		return log_flush(g);
	uint32_t *order = rows_order(g);
	uint8_t *want = calloc(g->n, 1);
	bool ok = order && want;
	if (ok) {
		for (size_t i = 0; i < first; i++)
			want[order[i]] = 1;
		ok = log_count(g, want);
	}
	free(order);
	free(want);
	return ok;
}
