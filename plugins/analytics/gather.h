/*
 * gather.h - what ended visits add to the rollups, summed in memory per
 * rollup row (site, dim, gran, t, value) until the caller writes the rows:
 * one write per row per write, however many visits it gathered, so a busy
 * day's sketch is rewritten once, not once a visit.
 *
 * The table is of a fixed size (65,536 rows): gather_add() answers
 * SEULA_EBUSY when it is full, and the caller writes what it has, calls
 * gather_reset() and adds again.
 *
 * Ownership: the gather copies every string it is given; rows and their
 * strings live until gather_reset() or gather_free().  gather_new() needs
 * libsodium initialised (sodium_init()).
 */
#ifndef SEULA_ANALYTICS_GATHER_H
#define SEULA_ANALYTICS_GATHER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seula_hll;

struct gather_sums {
	int64_t visits, pageviews, bounces, duration_ms, events, engagement_ms,
	        bots;
};

struct gather_row {
	const char *site, *dim, *value;
	int gran;
	int64_t t;
	struct gather_sums sums;
	/* The visitors: their hashes (repeats allowed) while few, then a
	 * sketch (hashes NULL), so a row holds at most a few kilobytes
	 * however many visits it gathers. */
	uint64_t *hashes;
	size_t n_hashes, cap_hashes;
	struct seula_hll *sketch;
};

struct gather;

/* SEULA_OK or SEULA_ENOMEM. */
int gather_new(struct gather **out);
void gather_free(struct gather *g);

/* Granularities: the hour, day and month a visit started in. */
#define GATHER_GRANS 3

/* Add to the row of (site, dim, value) in each granularity g below
 * `grans` (1: the hour only; GATHER_GRANS: all), bucket t[g]; `hash`
 * counts when has_hash.  SEULA_EBUSY: the table is full and nothing was
 * added (write and reset, then add again); SEULA_ENOMEM: the rows may be
 * part added, so the caller drops them (gather_reset()). */
int gather_add(struct gather *g, const char *site, const char *dim,
               const char *value, const int64_t t[GATHER_GRANS], int grans,
               const struct gather_sums *sums, bool has_hash, uint64_t hash);

/* The rows so far, in the order they were first added. */
size_t gather_count(const struct gather *g);
const struct gather_row *gather_get(const struct gather *g, size_t i);

/* Forget every row.  Always SEULA_OK. */
int gather_reset(struct gather *g);

#endif
