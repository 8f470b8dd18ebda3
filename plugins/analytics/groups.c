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
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

struct group {
	size_t key_off, key_len;
	uint64_t key_hash;
	struct analytics_totals t;
	/* Visitors: a set (0 marks an empty slot, `zero` the hash 0) until
	 * it outgrows ANALYTICS_GROUP_EXACT_MAX, then the sketch. */
	int64_t *set;
	uint32_t set_n, set_cap;
	bool zero;
	struct seula_hll *sketch;
};

struct analytics_groups {
	unsigned char hash_key[crypto_shorthash_KEYBYTES];
	uint32_t exact_max; /* visitors a value counts exactly */
	struct group *list;
	size_t n, cap;
	uint32_t *slots; /* index + 1 into list; 0: empty */
	size_t n_slots;  /* a power of two, at least twice n */
	struct analytics_keybuf keys;
	struct analytics_group *sorted;
};

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

struct analytics_groups *analytics_groups_new(void)
{
	struct analytics_groups *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	randombytes_buf(g->hash_key, sizeof(g->hash_key));
	g->exact_max = ANALYTICS_GROUP_EXACT_MAX;
	g->n_slots = 64;
	g->slots = calloc(g->n_slots, sizeof(*g->slots));
	if (!g->slots) {
		free(g);
		return NULL;
	}
	return g;
}

struct analytics_groups *analytics_groups_new_exact(void)
{
	struct analytics_groups *g = analytics_groups_new();
	if (g)
		g->exact_max = UINT32_C(1) << 28; /* sets stay in uint32_t */
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

static bool grow_slots(struct analytics_groups *g)
{
	size_t n_slots = g->n_slots * 2;
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
	uint64_t x = (uint64_t)v;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

static bool add_visitor(struct group *x, int64_t v, uint32_t exact_max)
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
	if (x->set_n + 1 > exact_max) {
		x->sketch = calloc(1, sizeof(*x->sketch));
		if (!x->sketch)
			return false;
		for (uint32_t i = 0; i < x->set_cap; i++)
			if (x->set[i])
				seula_hll_add_hash(x->sketch,
				                   spread(x->set[i]));
		if (x->zero)
			seula_hll_add_hash(x->sketch, spread(0));
		seula_hll_add_hash(x->sketch, spread(v));
		free(x->set);
		x->set = NULL;
		x->set_n = x->set_cap = 0;
		return true;
	}
	if ((x->set_n + 1) * 2 > x->set_cap) {
		uint32_t cap = x->set_cap ? x->set_cap * 2 : 8;
		int64_t *set = calloc(cap, sizeof(*set));
		if (!set)
			return false;
		for (uint32_t i = 0; i < x->set_cap; i++)
			if (x->set[i])
				set_put(set, cap, x->set[i]);
		free(x->set);
		x->set = set, x->set_cap = cap;
	}
	set_put(x->set, x->set_cap, v);
	x->set_n++;
	return true;
}

static bool add_to(struct group *x, uint32_t exact_max, int64_t visitor,
                   const struct analytics_totals *t)
{
	if (!add_visitor(x, visitor, exact_max))
		return false;
	x->t.visits += t->visits;
	x->t.pageviews += t->pageviews;
	x->t.bounces += t->bounces;
	x->t.duration_ms += t->duration_ms;
	x->t.events += t->events;
	x->t.engagement_ms += t->engagement_ms;
	return true;
}

bool analytics_groups_add(struct analytics_groups *g, const char *key,
                          size_t len, int64_t visitor,
                          const struct analytics_totals *t)
{
	struct group *x = find_or_add(g, key ? key : "", key ? len : 0);
	return x && add_to(x, g->exact_max, visitor, t);
}

int64_t analytics_groups_index(struct analytics_groups *g, const char *key,
                               size_t len)
{
	struct group *x = find_or_add(g, key ? key : "", key ? len : 0);
	return x ? x - g->list : -1;
}

bool analytics_groups_add_at(struct analytics_groups *g, size_t index,
                             int64_t visitor, const struct analytics_totals *t)
{
	return index < g->n &&
	       add_to(&g->list[index], g->exact_max, visitor, t);
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

const struct analytics_group *
analytics_groups_sorted(struct analytics_groups *g)
{
	free(g->sorted);
	g->sorted = g->n ? malloc(g->n * sizeof(*g->sorted)) : NULL;
	if (!g->sorted)
		return NULL;
	for (size_t i = 0; i < g->n; i++) {
		const struct group *x = &g->list[i];
		struct analytics_group *o = &g->sorted[i];
		o->key = g->keys.buf + x->key_off;
		o->t = x->t;
		o->t.visitors =
		        x->sketch ? (int64_t)llround(seula_hll_count(x->sketch))
		                  : (int64_t)x->set_n + x->zero;
	}
	qsort(g->sorted, g->n, sizeof(*g->sorted), by_visitors);
	return g->sorted;
}
