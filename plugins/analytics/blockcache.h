/*
 * blockcache.h - blocks' bytes kept in memory from one report to the next.
 *
 * A report over a long range reads the same blocks (blocks.h) as the one
 * before it: a dashboard's ranges stay while its filters change.  From
 * SQLite each costs a walk of its overflow pages and a copy out of them
 * (outside the first 2 GiB of a database, which is all SQLite maps, a
 * pread(2) a page); from here, nothing.  On the 10-million-event benchmark
 * a year's ad hoc reports took 15-30% less (tests/bench/README.md).
 *
 * An entry is the `data` of one row of analytics_blocks, by its id: ids
 * are never reused (AUTOINCREMENT) and rows never updated, so an id names
 * the same bytes for as long as it exists, and a report reading ids in
 * its own read transaction gets exactly what SQLite would give it.  The
 * cache holds at most `max_bytes` of data, dropping the least recently
 * used; what the writer of this process deletes is dropped at once
 * (analytics_block_cache_drop()), so erased visits do not stay in memory,
 * and what another process deletes (`seula retention run`, an import) is
 * dropped by the next sweep (analytics_blocks_cache_sweep(), blocks.h).
 *
 * Thread-safe: one mutex, held for lookups and bookkeeping, never while
 * a caller reads an entry's bytes.  A held entry (get or put) stays valid
 * until released, whatever is dropped or evicted meanwhile.
 */
#ifndef SEULA_ANALYTICS_BLOCKCACHE_H
#define SEULA_ANALYTICS_BLOCKCACHE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct analytics_block_cache;

/* One cached row's bytes, read-only, valid while held. */
struct analytics_cached_block {
	const uint8_t *data;
	size_t size;
};

/* A cache of at most max_bytes (0: a cache that keeps nothing), or NULL
 * when out of memory.  Freed by analytics_block_cache_free() once no
 * entry is held. */
struct analytics_block_cache *analytics_block_cache_new(size_t max_bytes);
void analytics_block_cache_free(struct analytics_block_cache *c);

/* The bytes of row `id`, held, or NULL when not cached. */
const struct analytics_cached_block *
analytics_block_cache_get(struct analytics_block_cache *c, int64_t id);

/* A copy of `size` bytes at `data` as row `id` of `site`'s `day`, held;
 * NULL when it would not fit (larger than the cache) or out of memory:
 * the caller then uses its own bytes.  An id already cached gives that
 * entry. */
const struct analytics_cached_block *
analytics_block_cache_put(struct analytics_block_cache *c, int64_t id,
                          const char *site, int64_t day, const void *data,
                          size_t size);

void analytics_block_cache_release(struct analytics_block_cache *c,
                                   const struct analytics_cached_block *b);

/* Values worked out from a row's bytes and its day's other rows (the
 * day's sums by content group, query.c), kept with its entry so that they
 * go when the bytes go: dropped, forgotten, evicted, or freed with the
 * cache.  A `tag` names a value: what it was worked out from (the rows'
 * ids, which name their bytes) and how (a configuration's fingerprint).
 * A few tags an entry at most; their bytes count against max_bytes. */

/* b's (held) value under `tag`, or NULL: valid while b is held. */
const void *analytics_block_cache_memo(struct analytics_block_cache *c,
                                       const struct analytics_cached_block *b,
                                       uint64_t tag);

/* Keep `value` (`bytes` of memory, freed by free_value()) with b (held)
 * under `tag`: true when the cache took it, false when the caller keeps
 * it (b was dropped meanwhile, has a value under tag already or no room
 * for another, or it would not fit, or out of memory). */
bool analytics_block_cache_memo_put(struct analytics_block_cache *c,
                                    const struct analytics_cached_block *b,
                                    uint64_t tag, void *value, size_t bytes,
                                    void (*free_value)(void *));

/* How many times analytics_block_cache_memo() found a value (tests). */
uint64_t analytics_block_cache_memo_hits(struct analytics_block_cache *c);

/* The first and last days of `site` that have rows cached, in *day0 and
 * *day1; false (both unset) when none has. */
bool analytics_block_cache_site_days(struct analytics_block_cache *c,
                                     const char *site, int64_t *day0,
                                     int64_t *day1);

/* Drop `site`'s rows of days [day0, day1): deleted by this process. */
void analytics_block_cache_drop(struct analytics_block_cache *c,
                                const char *site, int64_t day0, int64_t day1);

/* How many drops there have been: a reader in a snapshot from before one
 * may put back what it dropped (the caller's sweep then looks again). */
uint64_t analytics_block_cache_drops(struct analytics_block_cache *c);

/* When to sweep the cache (analytics_blocks_cache_sweep(), blocks.h),
 * which reads the id of every block: at the first run, and for a while
 * after anything could have left deleted rows in it, not at every run.
 * Zeroed to start. */
struct analytics_sweep_state {
	bool swept;         /* once, successfully */
	int64_t version;    /* the database's data_version as last seen */
	uint64_t drops;     /* analytics_block_cache_drops() as last seen */
	int64_t changed_ms; /* when either last changed, monotonic */
};

/* Whether a sweep is due now (monotonic ms), given the connection's
 * PRAGMA data_version (it changes when another connection commits) and
 * the cache's drops: never swept yet, or either changed less than
 * window_ms ago, so that a report still reading in a snapshot from before
 * the change, which may put back what was deleted, is swept after too. */
bool analytics_sweep_due(struct analytics_sweep_state *s, int64_t version,
                         uint64_t drops, int64_t now_ms, int64_t window_ms);

/* The ids cached now, malloc'd (the caller frees), *n of them; NULL with
 * *n 0 when there are none or out of memory. */
int64_t *analytics_block_cache_ids(struct analytics_block_cache *c, size_t *n);

/* Drop row `id`, if cached: one another process deleted. */
void analytics_block_cache_forget(struct analytics_block_cache *c, int64_t id);

/* Bytes cached now, and entries (held ones dropped included until
 * released): for tests and logs. */
size_t analytics_block_cache_bytes(struct analytics_block_cache *c);
size_t analytics_block_cache_entries(struct analytics_block_cache *c);

#endif
