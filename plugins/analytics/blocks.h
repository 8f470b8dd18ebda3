/*
 * blocks.h - past days' ended visits, column by column.
 *
 * A report whose filters no rollup answers reads the visits themselves.
 * Row by row that costs ~180 ns a visit (analytics_visits' rows are wide):
 * a year at 10 million events, two million visits, took 0.1-4.5 s.  A
 * block holds the visits of one site that started on one UTC day, each
 * column apart (a row of analytics_blocks per column), so a report reads
 * only the columns it needs: a byte or two a visit for a dimension.
 *
 * Blocks are an index of analytics_visits, with nothing the visits do not
 * hold, kept by the plugin's writer (analytics.c):
 * - a site's days before analytics_block_state.built_to, in this format,
 *   and not in analytics_block_dirty are covered: their blocks hold every
 *   visit that started on them (no rows: none did), all ended, with its
 *   page and event rows;
 * - a day is built once it is over (by `margin_ms`) and none of its visits
 *   is open, and made dirty again, its block deleted, whenever its visits
 *   change: a visit that starts in it late (an imported log), a visit
 *   erased, anonymised or no longer linked to its visitor.
 *
 * Column encodings (a row's `data`; integers little-endian):
 * - integers: a width byte w (1, 2, 4 or 8), then one w-byte value per
 *   visit or row (8: two's complement; else unsigned);
 * - texts: u32 count of distinct values k, u8 index width w, k u32
 *   lengths, one w-byte index per visit or row, then the k values in byte
 *   order, each followed by a NUL.
 * A day's columns hold its visits in one order (start_ts, id), and a
 * visit's page and event rows in theirs.
 *
 * Errors are SQLite result codes; SQLITE_CORRUPT for a block that does not
 * decode.  Nothing here logs.
 */
#ifndef SEULA_ANALYTICS_BLOCKS_H
#define SEULA_ANALYTICS_BLOCKS_H

#include "blockcache.h"

#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The blocks' format: a site's blocks of another are dropped and built
 * again (analytics_block_state.format). */
#define ANALYTICS_BLOCKS_FORMAT 2

enum analytics_block_col {
	/* Integers, one per visit. */
	ANALYTICS_BC_SECOND, /* of the start, in its UTC day: 0-86399 */
	ANALYTICS_BC_VISITOR,
	ANALYTICS_BC_PAGEVIEWS,
	ANALYTICS_BC_EVENTS,
	ANALYTICS_BC_DURATION, /* last_ts - start_ts, ms */
	ANALYTICS_BC_ENGAGEMENT,
	ANALYTICS_BC_NPAGES,  /* its page rows below */
	ANALYTICS_BC_NEVENTS, /* its event rows below */
	/* Integers, one per page row (analytics_visit_pages' with page views,
	 * by path) and per event row (analytics_visit_events'), each visit's
	 * in turn. */
	ANALYTICS_BC_PAGE_VIEWS,
	ANALYTICS_BC_PAGE_ENGAGEMENT,
	ANALYTICS_BC_EVENT_N,
	/* Texts: per visit entry_page, exit_page, then the session
	 * dimensions (query.h) in their order; then per page row its path,
	 * per event row its name, prop and value. */
	ANALYTICS_BC_TEXT,
	ANALYTICS_BC_PAGE_PATH = ANALYTICS_BC_TEXT + 18,
	ANALYTICS_BC_EVENT_NAME,
	ANALYTICS_BC_EVENT_PROP,
	ANALYTICS_BC_EVENT_VALUE,
	ANALYTICS_BC_COUNT,
};

#define ANALYTICS_BC_BIT(c) ((uint64_t)1 << (c))

/* The column of analytics_visits' column `name`, or -1; and back. */
int analytics_block_col(const char *name);
const char *analytics_block_name(int col);

/* One day's decoded columns, those asked for; borrowed from the scan
 * until its next step. */
struct analytics_block_text {
	size_t n;               /* distinct values, in byte order */
	const char *const *str; /* each NUL-terminated */
	const size_t *len;
	const uint32_t *idx; /* per visit or row: its value's place in str */
};

struct analytics_block {
	int64_t day; /* days since 1970-01-01 */
	size_t n;    /* visits */
	size_t n_pages, n_events;
	/* With NPAGES (NEVENTS): visit i's page (event) rows are
	 * [page_off[i], page_off[i + 1]). */
	const uint32_t *page_off, *event_off;
	const int64_t *ints[ANALYTICS_BC_TEXT];
	struct analytics_block_text text[ANALYTICS_BC_COUNT];
	/* Read through a cache: each column's row id (blockcache.h), which
	 * names its bytes; else 0. */
	int64_t id[ANALYTICS_BC_COUNT];
};

/* ---- reading ------------------------------------------------------------ */

/* The longest run [*run0, *run1) of `site`'s covered days inside [day0,
 * day1) (*run0 == *run1: none). */
int analytics_blocks_covered(sqlite3 *db, const char *site, int64_t day0,
                             int64_t day1, int64_t *run0, int64_t *run1);

struct analytics_blocks_scan;

/* The blocks of `site` on days [day0, day1), day by day, with the columns
 * of bit mask `cols` (ANALYTICS_BC_BIT() of each; NPAGES and NEVENTS come
 * with their rows' columns); their bytes through `cache` when not NULL
 * (blockcache.h).  Only covered days are whole: the caller asks
 * analytics_blocks_covered() first, in the same read transaction. */
int analytics_blocks_scan_open(sqlite3 *db, const char *site, int64_t day0,
                               int64_t day1, uint64_t cols,
                               struct analytics_block_cache *cache,
                               struct analytics_blocks_scan **out);

/* The same scan moved to days [day0, day1): its statement and buffers
 * kept, for a reader that takes its days in runs. */
int analytics_blocks_scan_range(struct analytics_blocks_scan *s, int64_t day0,
                                int64_t day1);

/* SQLITE_ROW with the next day that has visits in *out, SQLITE_DONE at
 * the end, else an error. */
int analytics_blocks_scan_next(struct analytics_blocks_scan *s,
                               const struct analytics_block **out);
void analytics_blocks_scan_close(struct analytics_blocks_scan *s);

/* Drop from `cache` the rows no longer in analytics_blocks (another
 * process deleted them), read in the caller's transaction on `db`;
 * *forgotten how many. */
int analytics_blocks_cache_sweep(sqlite3 *db,
                                 struct analytics_block_cache *cache,
                                 size_t *forgotten);

/* Fill `cache` with the blocks of the newest days first, every site's,
 * until it holds `budget` bytes or all are in: after a start, a report
 * finds in memory what it would otherwise read from the file first.  The
 * newest are left the most recently used, the last to be pushed out.
 * Each row is read in a transaction of its own, so a long warm-up holds
 * back no checkpoint; a row the writer deletes meanwhile may be put after
 * the writer dropped it, and stays until the next sweep, as another
 * process's deletions do.  It stops early once *stop is true (set by
 * another thread).  SQLite result code; *warmed the rows it put. */
int analytics_blocks_cache_warm(sqlite3 *db,
                                struct analytics_block_cache *cache,
                                size_t budget, const atomic_bool *stop,
                                size_t *warmed);

/* ---- keeping them (the writer) ------------------------------------------ */

struct analytics_blocks_writer;

/* Statements on the writer's connection; NULL when out of memory or they
 * do not prepare (the schema is not there).  What it deletes it drops
 * from `cache` (NULL: none), which must outlive it. */
struct analytics_blocks_writer *
analytics_blocks_writer_new(sqlite3 *db, struct analytics_block_cache *cache);
void analytics_blocks_writer_free(struct analytics_blocks_writer *w);

/* The visits of `site` that started on `day` changed: if the day is
 * covered, it no longer is, until rebuilt. */
int analytics_blocks_invalidate(struct analytics_blocks_writer *w,
                                const char *site, int64_t day);

/* As analytics_blocks_invalidate() for each day of [day0, day1) that has
 * a block. */
int analytics_blocks_invalidate_days(struct analytics_blocks_writer *w,
                                     const char *site, int64_t day0,
                                     int64_t day1);

/* Build or rebuild one day of one site that is due (ended `margin_ms`
 * before `now_ms`, none of its visits open), sites in turn; *built says
 * whether one was.  Call again while it builds: how many a run may take
 * is the caller's budget. */
int analytics_blocks_build_next(struct analytics_blocks_writer *w,
                                int64_t now_ms, int64_t margin_ms, bool *built);

#endif
