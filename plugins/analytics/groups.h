/*
 * groups.h - rows summed per value in one pass, for the reports read
 * from the visits (filters the rollups cannot answer).
 *
 * Each value keeps its sums and its distinct visitors: exactly, as a set
 * of hashes, up to ANALYTICS_GROUP_EXACT_MAX of them, past that in a
 * HyperLogLog sketch (hll.h: 1.6% standard error, as the rollups count
 * them).  So memory grows with the values, not with the rows: at most
 * ~16 KiB a value (1,024 hashes in a table kept half empty, then a 4 KiB
 * sketch) and its key.
 *
 * The key buffer below is what the groups keep their keys in, and what
 * query.c's other passes over result rows use.
 *
 * Ownership: the groups copy the keys they are given; everything,
 * including what analytics_groups_sorted() returns, lives until
 * analytics_groups_free().
 */
#ifndef SEULA_ANALYTICS_GROUPS_H
#define SEULA_ANALYTICS_GROUPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Distinct visitors a value counts exactly; past it, in a sketch. */
#define ANALYTICS_GROUP_EXACT_MAX 1024

struct analytics_totals {
	int64_t visitors, visits, pageviews, bounces, duration_ms, events,
	        engagement_ms;
};

/* One value and its sums, as analytics_groups_sorted() hands them out. */
struct analytics_group {
	const char *key; /* NUL-terminated */
	struct analytics_totals t;
};

/* Keys copied out of result rows, one buffer for all.  It moves as it
 * grows, so rows keep offsets until the last is in.  Zero-initialise;
 * the caller frees buf. */
struct analytics_keybuf {
	char *buf;
	size_t used, size;
};

/* Copy `len` bytes of `key` and a NUL; the offset, or -1 when out of
 * memory (kb unchanged). */
int64_t analytics_keybuf_add(struct analytics_keybuf *kb, const char *key,
                             size_t len);

struct analytics_groups;

/* NULL when out of memory.  Needs libsodium initialised (sodium_init()):
 * keys are hashed with a random SipHash key. */
struct analytics_groups *analytics_groups_new(void);

/* The visitor log's chunks (192 KiB each) kept from one report's groups
 * for the next's, at most max_bytes of them, shared by threads: a year's
 * page breakdown logs ~30 MiB, and memory fresh from the kernel costs a
 * page fault a page, ~13% of that report.  NULL when out of memory; freed
 * once no groups use it. */
struct analytics_groups_pool;
struct analytics_groups_pool *analytics_groups_pool_new(size_t max_bytes);
void analytics_groups_pool_free(struct analytics_groups_pool *p);
/* Chunks kept now (for tests). */
size_t analytics_groups_pool_spare(struct analytics_groups_pool *p);
/* g's chunks from p and back to it (NULL: malloc and free), as those of
 * analytics_groups_new_like(g). */
void analytics_groups_use_pool(struct analytics_groups *g,
                               struct analytics_groups_pool *p);

void analytics_groups_free(struct analytics_groups *g);

/* Empty groups that count visitors as `g` does (for a second thread's
 * share, merged back with analytics_groups_merge()).  NULL when out of
 * memory. */
struct analytics_groups *
analytics_groups_new_like(const struct analytics_groups *g);

/* Visitors are counted as rows come until the values' sets and sketches
 * take `sets_bytes` (default 2 MiB), then logged for
 * analytics_groups_top(), `log_rows` at most (default 4 Mi, 48 MiB)
 * before all are counted and the log emptied. */
void analytics_groups_limits(struct analytics_groups *g, size_t sets_bytes,
                             size_t log_rows);

/* Log every row's visitor from now on, as past `sets_bytes`: for rows
 * that come a value at a time (a day's page rows, by path), where
 * counting them as they come builds sets for values no top list wants
 * (a year's page breakdown took ~7% longer). */
void analytics_groups_log_all(struct analytics_groups *g);

/* Add every value of `from` to g: its sums, and its visitors as if each of
 * its rows had been added to g, so the sets and sketches end as one pass
 * over all rows would leave them.  from's logged rows move to g without a
 * copy: from keeps its values and sums, and is then fit only to be freed.
 * False when out of memory; g is then only fit to be freed too. */
bool analytics_groups_merge(struct analytics_groups *g,
                            struct analytics_groups *from);

/* analytics_groups_merge() of groups that logged nothing (made with a
 * sets_bytes no rows reach, analytics_groups_limits()), which it only
 * reads: so one `from` can be added to many, by several threads at once.
 * False when from has logged rows (g unchanged) or out of memory (g is
 * then only fit to be freed). */
bool analytics_groups_add_all(struct analytics_groups *g,
                              const struct analytics_groups *from);

/* Give back what g holds beyond its values and keys (its lists grow
 * by doubling, its keys' buffer from 64 KiB): for groups kept a long
 * time, such as a day's sums by content group (query.c).  Values may
 * still be added after it. */
void analytics_groups_shrink(struct analytics_groups *g);

/* The memory g holds, roughly: its values, keys, sets, sketches and log. */
size_t analytics_groups_bytes(const struct analytics_groups *g);

/* Count now the logged rows of the values analytics_groups_top(g, limit)
 * would count first (those with the most rows), so that a thread that
 * summed its share counts them before the shares are merged rather than
 * one thread after.  Rows added later to such values are counted as they
 * come.  False when out of memory; g is then only fit to be freed. */
bool analytics_groups_count_top(struct analytics_groups *g, size_t limit);

/* Add one row: `len` bytes of `key` (copied), the visitor (a hash, or
 * a forgotten visitor's visit id) and the row's sums (t->visitors is
 * ignored).  False when out of memory; the
 * groups are then only fit to be freed. */
bool analytics_groups_add(struct analytics_groups *g, const char *key,
                          size_t len, int64_t visitor,
                          const struct analytics_totals *t);

/* The value `len` bytes of `key` names, made (with no rows) when new: an
 * index for analytics_groups_add_at(), valid until the groups are freed,
 * so a caller that meets one value many times hashes it once.  -1 when
 * out of memory. */
int64_t analytics_groups_index(struct analytics_groups *g, const char *key,
                               size_t len);

/* The visits summed so far into the value at `index`. */
int64_t analytics_groups_visits(const struct analytics_groups *g, size_t index);

/* The key of the value at `index` (an index from
 * analytics_groups_index()), its length in *len; valid until the next
 * value is made. */
const char *analytics_groups_key(const struct analytics_groups *g, size_t index,
                                 size_t *len);

/* analytics_groups_add() to the value at `index`. */
bool analytics_groups_add_at(struct analytics_groups *g, size_t index,
                             int64_t visitor, const struct analytics_totals *t);

/* analytics_groups_add_at() of n rows at once: row k's visitor is
 * visitors[sel[k]], and `sum` the n rows' sums added up (sum->visitors
 * ignored). */
bool analytics_groups_add_rows(struct analytics_groups *g, size_t index,
                               const int64_t *visitors, const uint32_t *sel,
                               size_t n, const struct analytics_totals *sum);

size_t analytics_groups_count(const struct analytics_groups *g);

/* The values with their visitors counted, sorted by visitors, then visits
 * (both descending), then value; analytics_groups_count() of them.  NULL
 * when out of memory (or there are none).  Add nothing after it. */
const struct analytics_group *
analytics_groups_sorted(struct analytics_groups *g);

/* The first `limit` values analytics_groups_sorted() would list, alike,
 * and maybe more after them: *n of them.  Rows logged (see
 * analytics_groups_limits()) are counted here only for the values with
 * rows enough to be among the first `limit`.  NULL when out of memory (or
 * there are none).  Add nothing after it. */
const struct analytics_group *analytics_groups_top(struct analytics_groups *g,
                                                   size_t limit, size_t *n);

/* The values named by keys[0..n_keys) that g has, their visitors counted
 * (the logged rows of those alone): *n of them in *out, in no order (NULL
 * when none).  False when out of memory.  Add nothing after it. */
bool analytics_groups_pick(struct analytics_groups *g, const char *const *keys,
                           size_t n_keys, const struct analytics_group **out,
                           size_t *n);

#endif
