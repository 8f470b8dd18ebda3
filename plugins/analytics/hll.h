/*
 * hll.h - HyperLogLog sketches of unique visitors, as SQLite blobs, so that
 * hourly rollups merge into any range.
 *
 * Precision 12: 4096 one-byte registers, a standard error of 1.04/sqrt(4096)
 * = 1.6%; with linear counting below 2.5 * 4096 the estimate of small sets
 * is nearly exact.  A blob is sparse (sorted 4-byte entries, index << 8 |
 * rank, at most SEULA_HLL_SPARSE_MAX of them) or dense (exactly 4096
 * bytes), so an hour of one dimension value with a handful of visitors
 * costs bytes, not kilobytes.
 *
 * Hand-written: Debian packages no HyperLogLog library for C (Redis keeps
 * its own inside the server); the algorithm is Flajolet et al. 2007 with
 * Heule et al.'s sparse idea, about a hundred lines.
 */
#ifndef SEULA_HLL_H
#define SEULA_HLL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEULA_HLL_P 12
#define SEULA_HLL_M (1u << SEULA_HLL_P)
/* Entries; past it the sketch is dense.  Below 1024, so that a sparse blob
 * (4 bytes an entry) is always shorter than a dense one. */
#define SEULA_HLL_SPARSE_MAX 768

/* A sketch being built or merged; dense in memory. */
struct seula_hll {
	uint8_t reg[SEULA_HLL_M];
};

/* Add one 64-bit hash. */
void seula_hll_add_hash(struct seula_hll *h, uint64_t hash);
/* The hash a sketch merged with the rollups' takes for visitor `v`.  A
 * visitor is a keyed SipHash output, its bits spread evenly: itself.  A
 * visit forgotten past visitor_retention, or anonymised, has its own id
 * for visitor, a small number whose top bits (the register) are all 0: a
 * segment backfilled from such visits counted each of them as about one
 * visitor.  Values below 2^40 are mixed (splitmix64's finaliser, one to
 * one); a SipHash output falls there once in 2^24, and is then mixed
 * alike wherever it is added, so the same visitor stays the same hash. */
uint64_t seula_hll_visitor_hash(int64_t v);
/* splitmix64's finaliser: a one-to-one mix of x's bits. */
uint64_t seula_hll_mix(uint64_t x);
/* Merge a stored blob into h; false when the blob is malformed. */
bool seula_hll_merge_blob(struct seula_hll *h, const void *blob, size_t len);
/* Add `hash` to a stored blob: *out (malloc'd, the caller frees) is the new
 * blob of *out_len bytes; NULL blob is the empty sketch.  False when out of
 * memory or the blob is malformed. */
bool seula_hll_blob_add(const void *blob, size_t len, uint64_t hash,
                        uint8_t **out, size_t *out_len);
/* h as a stored blob: sparse while few registers are set, else dense.
 * *out is malloc'd (the caller frees); false when out of memory. */
bool seula_hll_to_blob(const struct seula_hll *h, uint8_t **out,
                       size_t *out_len);
/* The sketch of n hashes (repeats allowed) as a blob, built sparse
 * directly when it can be.  *out is malloc'd (the caller frees); false
 * when out of memory. */
bool seula_hll_blob_of(const uint64_t *hashes, size_t n, uint8_t **out,
                       size_t *out_len);
/* The estimated number of distinct hashes added. */
double seula_hll_count(const struct seula_hll *h);

#endif
