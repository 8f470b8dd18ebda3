/*
 * hll.c - HyperLogLog (see hll.h).
 */
#include "hll.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static void split(uint64_t hash, uint32_t *idx, uint8_t *rank)
{
	*idx = (uint32_t)(hash >> (64 - SEULA_HLL_P));
	uint64_t rest = hash << SEULA_HLL_P;
	/* Position of the first 1 bit in the remaining 64 - P bits; the P
	 * bits shifted in are zeros, so a nonzero rest has it among them. */
	*rank = rest ? (uint8_t)(__builtin_clzll(rest) + 1)
	             : (uint8_t)(64 - SEULA_HLL_P + 1);
}

void seula_hll_add_hash(struct seula_hll *h, uint64_t hash)
{
	uint32_t idx;
	uint8_t rank;
	split(hash, &idx, &rank);
	if (h->reg[idx] < rank)
		h->reg[idx] = rank;
}

uint64_t seula_hll_mix(uint64_t x)
{
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return x ^ (x >> 31);
}

uint64_t seula_hll_visitor_hash(int64_t v)
{
	uint64_t x = (uint64_t)v;
	return x < (uint64_t)1 << 40 ? seula_hll_mix(x) : x;
}

static uint32_t get32(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static bool sparse_ok(const uint8_t *b, size_t len)
{
	if (len % 4 || len / 4 > SEULA_HLL_SPARSE_MAX)
		return false;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t e = get32(b + i);
		if ((e >> 8) >= SEULA_HLL_M || !(e & 0xff) ||
		    (i && (get32(b + i - 4) >> 8) >= (e >> 8)))
			return false;
	}
	return true;
}

bool seula_hll_merge_blob(struct seula_hll *h, const void *blob, size_t len)
{
	const uint8_t *b = blob;
	if (len == SEULA_HLL_M) {
		/* Branch-free, so the compiler makes it a vector max. */
		for (size_t i = 0; i < SEULA_HLL_M; i++)
			h->reg[i] = h->reg[i] > b[i] ? h->reg[i] : b[i];
		return true;
	}
	if (!sparse_ok(b, len))
		return false;
	for (size_t i = 0; i < len; i += 4) {
		uint32_t e = get32(b + i);
		uint8_t rank = (uint8_t)(e & 0xff);
		if (h->reg[e >> 8] < rank)
			h->reg[e >> 8] = rank;
	}
	return true;
}

bool seula_hll_blob_add(const void *blob, size_t len, uint64_t hash,
                        uint8_t **out, size_t *out_len)
{
	const uint8_t *b = blob;
	uint32_t idx;
	uint8_t rank;
	split(hash, &idx, &rank);
	if (len == SEULA_HLL_M) {
		*out = malloc(SEULA_HLL_M);
		if (!*out)
			return false;
		memcpy(*out, b, SEULA_HLL_M);
		if ((*out)[idx] < rank)
			(*out)[idx] = rank;
		*out_len = SEULA_HLL_M;
		return true;
	}
	if (len && !sparse_ok(b, len))
		return false;
	size_t n = len / 4, at = 0;
	while (at < n && (get32(b + 4 * at) >> 8) < idx)
		at++;
	bool same = at < n && (get32(b + 4 * at) >> 8) == idx;
	if (!same && n + 1 > SEULA_HLL_SPARSE_MAX) {
		/* Full: dense from here on. */
		struct seula_hll *h = calloc(1, sizeof(*h));
		if (!h)
			return false;
		seula_hll_merge_blob(h, b, len);
		seula_hll_add_hash(h, hash);
		*out = (uint8_t *)h;
		*out_len = SEULA_HLL_M;
		return true;
	}
	*out_len = (n + !same) * 4;
	*out = malloc(*out_len ? *out_len : 1);
	if (!*out)
		return false;
	if (at)
		memcpy(*out, b, at * 4);
	uint8_t keep = same ? (uint8_t)(get32(b + 4 * at) & 0xff) : 0;
	put32(*out + at * 4, idx << 8 | (rank > keep ? rank : keep));
	size_t rest = n - at - same;
	if (rest)
		memcpy(*out + (at + 1) * 4, b + (at + same) * 4, rest * 4);
	return true;
}

bool seula_hll_to_blob(const struct seula_hll *h, uint8_t **out,
                       size_t *out_len)
{
	size_t n = 0;
	for (size_t i = 0; i < SEULA_HLL_M; i++)
		n += h->reg[i] != 0;
	if (n > SEULA_HLL_SPARSE_MAX) {
		*out = malloc(SEULA_HLL_M);
		if (!*out)
			return false;
		memcpy(*out, h->reg, SEULA_HLL_M);
		*out_len = SEULA_HLL_M;
		return true;
	}
	*out = malloc(n ? n * 4 : 1);
	if (!*out)
		return false;
	size_t at = 0;
	for (uint32_t i = 0; i < SEULA_HLL_M; i++)
		if (h->reg[i])
			put32(*out + 4 * at++, i << 8 | h->reg[i]);
	*out_len = n * 4;
	return true;
}

static int by_entry(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

bool seula_hll_blob_of(const uint64_t *hashes, size_t n, uint8_t **out,
                       size_t *out_len)
{
	if (n > SEULA_HLL_SPARSE_MAX) {
		struct seula_hll *h = calloc(1, sizeof(*h));
		if (!h)
			return false;
		for (size_t i = 0; i < n; i++)
			seula_hll_add_hash(h, hashes[i]);
		bool ok = seula_hll_to_blob(h, out, out_len);
		free(h);
		return ok;
	}
	/* idx << 8 | rank sorts by index, then rank: the last of each index
	 * is its largest rank. */
	uint32_t *e = malloc((n ? n : 1) * sizeof(*e));
	if (!e)
		return false;
	for (size_t i = 0; i < n; i++) {
		uint32_t idx;
		uint8_t rank;
		split(hashes[i], &idx, &rank);
		e[i] = idx << 8 | rank;
	}
	qsort(e, n, sizeof(*e), by_entry);
	*out = malloc(n ? n * 4 : 1);
	if (!*out) {
		free(e);
		return false;
	}
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (i + 1 == n || (e[i + 1] >> 8) != (e[i] >> 8))
			put32(*out + 4 * m++, e[i]);
	free(e);
	*out_len = m * 4;
	return true;
}

double seula_hll_count(const struct seula_hll *h)
{
	/* By rank first: ldexp() a register took most of a timeseries'
	 * counting (a sketch a bucket). */
	unsigned by_rank[256] = {0};
	for (size_t i = 0; i < SEULA_HLL_M; i++)
		by_rank[h->reg[i]]++;
	double m = SEULA_HLL_M, sum = 0;
	for (int r = 0; r < 256; r++)
		if (by_rank[r])
			sum += ldexp((double)by_rank[r], -r);
	unsigned zeros = by_rank[0];
	double alpha = 0.7213 / (1 + 1.079 / m);
	double e = alpha * m * m / sum;
	if (e <= 2.5 * m && zeros)
		e = m * log(m / zeros); /* linear counting */
	return e;
}
