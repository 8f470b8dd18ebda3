/*
 * gather.c - rollup rows summed in memory (see gather.h).
 *
 * An open-addressing table with linear probing, keyed by a SipHash of the
 * row's key (libsodium's crypto_shorthash, with a random key, so no visitor
 * can choose page paths that collide).  Written here rather than taken
 * from libc's hsearch_r: that hashes only the first bytes of a key, which
 * for rollup rows are always the site's, so every lookup walked one long
 * chain comparing strings (a fifth of the writer's time under load).
 */
#include "gather.h"
#include "hll.h"

#include <seula/plugin.h>

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

/* Rows per table: a close-task run of a busy site fills a few thousand. */
#define GATHER_ROWS 65536
/* Slots: a power of two, at most half full, so probes stay short. */
#define GATHER_SLOTS (2 * GATHER_ROWS)
#define SLOT_MASK (GATHER_SLOTS - 1)
/* Hashes a row keeps before it turns them into a sketch: 32 KiB of them
 * against the sketch's 4 KiB, so a row of few visitors stays exact and
 * cheap, and a busy one stays small. */
#define GATHER_HASHES_MAX 4096

struct gather {
	unsigned char key[crypto_shorthash_KEYBYTES];
	uint32_t *slots; /* row index + 1; 0: empty */
	uint32_t *row_slot;
	uint64_t *row_hash;
	struct gather_row *rows;
	size_t n;
};

int gather_new(struct gather **out)
{
	struct gather *g = calloc(1, sizeof(*g));
	if (!g)
		return SEULA_ENOMEM;
	g->slots = calloc(GATHER_SLOTS, sizeof(*g->slots));
	g->row_slot = calloc(GATHER_ROWS, sizeof(*g->row_slot));
	g->row_hash = calloc(GATHER_ROWS, sizeof(*g->row_hash));
	g->rows = calloc(GATHER_ROWS, sizeof(*g->rows));
	if (!g->slots || !g->row_slot || !g->row_hash || !g->rows) {
		gather_free(g);
		return SEULA_ENOMEM;
	}
	randombytes_buf(g->key, sizeof(g->key));
	*out = g;
	return SEULA_OK;
}

int gather_reset(struct gather *g)
{
	/* Each row holds one slot, and rows are never removed one by one,
	 * so clearing the rows' slots empties the table. */
	for (size_t i = 0; i < g->n; i++) {
		free((char *)g->rows[i].site); /* one block with dim, value */
		free(g->rows[i].hashes);
		free(g->rows[i].sketch);
		g->slots[g->row_slot[i]] = 0;
	}
	memset(g->rows, 0, g->n * sizeof(*g->rows));
	g->n = 0;
	return SEULA_OK;
}

void gather_free(struct gather *g)
{
	if (!g)
		return;
	if (g->rows && g->slots && g->row_slot)
		gather_reset(g);
	free(g->slots);
	free(g->row_slot);
	free(g->row_hash);
	free(g->rows);
	free(g);
}

/* C strings hold no NUL, so "site\0dim\0value\0" names one row group. */
static int text_hash(const struct gather *g, const char *site, size_t ls,
                     const char *dim, size_t ld, const char *value, size_t lv,
                     uint64_t *out)
{
	unsigned char buf[512];
	unsigned char *in = buf;
	size_t n = ls + ld + lv + 3;
	if (n > sizeof(buf) && !(in = malloc(n)))
		return SEULA_ENOMEM;
	memcpy(in, site, ls + 1);
	memcpy(in + ls + 1, dim, ld + 1);
	memcpy(in + ls + ld + 2, value, lv + 1);
	unsigned char digest[crypto_shorthash_BYTES];
	crypto_shorthash(digest, in, n, g->key);
	if (in != buf)
		free(in);
	memcpy(out, digest, sizeof(*out));
	return SEULA_OK;
}

/* The row's hash: the strings' keyed hash, mixed with the bucket by
 * splitmix64's finaliser (the bucket is the server's clock, not a
 * visitor's choice). */
static uint64_t row_hash(uint64_t text, int gran, int64_t t)
{
	uint64_t x = text ^ ((uint64_t)t * 4 + (uint64_t)gran);
	x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
	x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
	return x ^ (x >> 31);
}

static bool same_row(const struct gather_row *r, const char *site,
                     const char *dim, const char *value, int gran, int64_t t)
{
	return r->gran == gran && r->t == t && strcmp(r->value, value) == 0 &&
	       strcmp(r->dim, dim) == 0 && strcmp(r->site, site) == 0;
}

static int add_one(struct gather *g, const char *site, size_t ls,
                   const char *dim, size_t ld, const char *value, size_t lv,
                   uint64_t h, int gran, int64_t t,
                   const struct gather_sums *sums, bool has_hash, uint64_t hash)
{
	size_t s = h & SLOT_MASK;
	struct gather_row *row = NULL;
	while (g->slots[s]) {
		size_t i = g->slots[s] - 1;
		if (g->row_hash[i] == h &&
		    same_row(&g->rows[i], site, dim, value, gran, t)) {
			row = &g->rows[i];
			break;
		}
		s = (s + 1) & SLOT_MASK;
	}
	if (!row) {
		char *text = malloc(ls + ld + lv + 3);
		if (!text)
			return SEULA_ENOMEM;
		row = &g->rows[g->n];
		row->site = memcpy(text, site, ls + 1);
		row->dim = memcpy(text + ls + 1, dim, ld + 1);
		row->value = memcpy(text + ls + ld + 2, value, lv + 1);
		row->gran = gran;
		row->t = t;
		g->row_hash[g->n] = h;
		g->row_slot[g->n] = (uint32_t)s;
		g->slots[s] = (uint32_t)++g->n;
	}
	row->sums.visits += sums->visits;
	row->sums.pageviews += sums->pageviews;
	row->sums.bounces += sums->bounces;
	row->sums.duration_ms += sums->duration_ms;
	row->sums.events += sums->events;
	row->sums.engagement_ms += sums->engagement_ms;
	row->sums.bots += sums->bots;
	if (has_hash && row->sketch) {
		seula_hll_add_hash(row->sketch, hash);
	} else if (has_hash && row->n_hashes == GATHER_HASHES_MAX) {
		row->sketch = malloc(sizeof(*row->sketch));
		if (!row->sketch)
			return SEULA_ENOMEM;
		memset(row->sketch, 0, sizeof(*row->sketch));
		for (size_t i = 0; i < row->n_hashes; i++)
			seula_hll_add_hash(row->sketch, row->hashes[i]);
		seula_hll_add_hash(row->sketch, hash);
		free(row->hashes);
		row->hashes = NULL;
		row->n_hashes = row->cap_hashes = 0;
	} else if (has_hash) {
		if (row->n_hashes == row->cap_hashes) {
			size_t cap = row->cap_hashes ? row->cap_hashes * 2 : 4;
			uint64_t *more =
			        realloc(row->hashes, cap * sizeof(*more));
			if (!more)
				return SEULA_ENOMEM;
			row->hashes = more;
			row->cap_hashes = cap;
		}
		row->hashes[row->n_hashes++] = hash;
	}
	return SEULA_OK;
}

int gather_add(struct gather *g, const char *site, const char *dim,
               const char *value, const int64_t t[GATHER_GRANS], int grans,
               const struct gather_sums *sums, bool has_hash, uint64_t hash)
{
	/* Room for every bucket first, so a full table adds to none. */
	if (g->n + GATHER_GRANS > GATHER_ROWS)
		return SEULA_EBUSY;
	size_t ls = strlen(site), ld = strlen(dim), lv = strlen(value);
	uint64_t text;
	if (text_hash(g, site, ls, dim, ld, value, lv, &text) != SEULA_OK)
		return SEULA_ENOMEM;
	for (int gran = 0; gran < grans && gran < GATHER_GRANS; gran++) {
		int rc = add_one(g, site, ls, dim, ld, value, lv,
		                 row_hash(text, gran, t[gran]), gran, t[gran],
		                 sums, has_hash, hash);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

size_t gather_count(const struct gather *g)
{
	return g->n;
}

const struct gather_row *gather_get(const struct gather *g, size_t i)
{
	return i < g->n ? &g->rows[i] : NULL;
}
