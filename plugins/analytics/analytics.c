/*
 * analytics.c - visits, rollups and the /api/stats reports.
 *
 * Visits.  Each stored event (on_batch, on the writer) joins its visitor's
 * open visit, or starts one: the visitor is the consented visitor id or the
 * cookieless daily hash, keyed with this installation's secret (SipHash)
 * so analytics_visits holds neither.  A visit ends after `visit_timeout`
 * without a page view or custom event; engagement events add time on page
 * to an open visit but neither start nor extend one.  Bots are counted
 * apart (the total row's `bots`) and never make visits.
 *
 *   analytics_visits        one row per visit: start, last event, page
 *                           views, custom events, engagement, entry and exit
 *                           page and the visit's dimensions (those of its
 *                           first event); `closed` once it has ended
 *   analytics_visit_pages   (visit, path): page views and engagement
 *   analytics_visit_events  (visit, name, prop, value): custom events; the
 *                           row with prop '' counts the event itself, one
 *                           row per property value counts those
 *   analytics_rollup        (site, dim, gran, t, value): ended visits
 *                           summed per UTC hour (gran 0), day (1) and month
 *                           (2), with a HyperLogLog sketch of the visitors;
 *                           dim '' value '' is the site's total, dims
 *                           "seg:ID:..." a configured segment's (query.h).
 *                           Day and month rows hold the visits that
 *                           started before analytics_meta's `merged_to`
 *                           (an hour); later ones are in hour rows only,
 *                           until the merge task adds their hours
 *   analytics_blocks        (site, day, col): a past day's ended visits,
 *                           column by column, for filtered reports
 *                           (blocks.h), built by the blocks task and
 *                           dropped whenever those visits change
 *
 * When a visit ends (the close task, or the visitor's next event after the
 * timeout) it is added once to the rollups of the hour, day and month it
 * started in, for the total and for every dimension value it has, and
 * marked closed in the same transaction.  The close task gathers ended
 * visits in memory and writes them together, about every `rollup_delay`:
 * until then they stay open in the table.  Reports read the rollups for
 * closed visits and analytics_visits for open ones (query.c), so they are
 * exact to the last event, and stay right after the raw events' retention
 * has deleted them: nothing here reads `events` except the realtime
 * page-view count.
 */
#include "blockcache.h"
#include "blocks.h"
#include "date.h"
#include "funnel.h"
#include "gather.h"
#include "groups.h"
#include "hll.h"
#include "notes.h"
#include "openvisits.h"
#include "query.h"
#include "visitorkey.h"

#include <seula/plugin.h>

#include <jansson.h>
#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/uclean.h>

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_DURATION, "visit_timeout", "30m", 1, 86400,
         offsetof(struct analytics_config, visit_timeout_s), 0, NULL,
         "a visit ends after this long without a page view or event"},
        {SEULA_CONFIG_DURATION, "visitor_retention", "400d", 1, 3660 * 86400LL,
         offsetof(struct analytics_config, visitor_retention_s), 0, NULL,
         "after this, a visit's visitor is forgotten: nothing links it to "
         "the visitor's other visits (the rollups keep their counts)"},
        {SEULA_CONFIG_DURATION, "rollup_delay", "10s", 0, 3600,
         offsetof(struct analytics_config, rollup_delay_s), 0, NULL,
         "ended visits are written to the rollups together, about this "
         "often (until then reports count them from the visits); 0: at "
         "once"},
        {SEULA_CONFIG_LIST, "goals", "", 0, 0,
         offsetof(struct analytics_config, goals), 0, NULL,
         "goals, each SITE:event:NAME or SITE:page:PATTERN (* and ? "
         "match)"},
        {SEULA_CONFIG_LIST, "funnels", "", 0, 0,
         offsetof(struct analytics_config, funnels), 0, NULL,
         "funnels, each SITE:NAME:STEP>STEP... with 2 to 8 steps, each "
         "page:PATTERN or event:NAME as in goals (e.g. "
         "demo:signup:page:/pricing>event:signup>page:/thanks): the "
         "visits that took those steps in that order, counted from the "
         "raw events (so over their retention only)"},
        {SEULA_CONFIG_LIST, "content_groups", "", 0, 0,
         offsetof(struct analytics_config, content_groups), 0, NULL,
         "content groups, each SITE:NAME:PATTERN|PATTERN... (page "
         "patterns as in goals, e.g. demo:Documentation:/docs/*|/guide/*): "
         "the visitors, visits and page views of each group's pages (the "
         "interest categories of what was read), and content_group==NAME "
         "filters"},
        {SEULA_CONFIG_LIST, "segments", "", 0, 0,
         offsetof(struct analytics_config, segments), 0, NULL,
         "segments, each SITE:FILTER (the stats API's filter=, e.g. "
         "demo:device==mobile;country==FI): their reports are "
         "pre-processed into rollups of their own, fast over any range "
         "and kept after the raw visits"},
        {SEULA_CONFIG_INT, "block_cache_mb", "256", 0, 1 << 20,
         offsetof(struct analytics_config, block_cache_mb), 0, NULL,
         "memory (MiB) that keeps the column blocks reports read over "
         "past days, for the next report over them, and a quarter as "
         "much more their working memory; 0: none"},
        {SEULA_CONFIG_BOOL, "block_cache_warm", "yes", 0, 0,
         offsetof(struct analytics_config, block_cache_warm), 0, NULL,
         "at start, fill up to three quarters of the block cache with the "
         "newest days' blocks, in the background, so that the first "
         "reports after a start are not the slow ones"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct seula_migration migrations[] = {
        {1, "CREATE TABLE analytics_meta (\n"
            "  k TEXT PRIMARY KEY,\n"
            "  v ANY NOT NULL\n"
            ") STRICT;\n"
            "CREATE TABLE analytics_visits (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  site TEXT NOT NULL,\n"
            "  visitor INTEGER NOT NULL,\n"
            "  start_ts INTEGER NOT NULL,\n"
            "  last_ts INTEGER NOT NULL,\n"
            "  closed INTEGER NOT NULL DEFAULT 0,\n"
            "  pageviews INTEGER NOT NULL DEFAULT 0,\n"
            "  events INTEGER NOT NULL DEFAULT 0,\n"
            "  engagement_ms INTEGER NOT NULL DEFAULT 0,\n"
            "  entry_page TEXT NOT NULL, exit_page TEXT NOT NULL,\n"
            "  source TEXT NOT NULL, referrer TEXT NOT NULL,\n"
            "  channel TEXT NOT NULL, utm_source TEXT NOT NULL,\n"
            "  utm_medium TEXT NOT NULL, utm_campaign TEXT NOT NULL,\n"
            "  utm_term TEXT NOT NULL, utm_content TEXT NOT NULL,\n"
            "  country TEXT NOT NULL, region TEXT NOT NULL,\n"
            "  city TEXT NOT NULL, browser TEXT NOT NULL, os TEXT NOT NULL,\n"
            "  device TEXT NOT NULL, screen TEXT NOT NULL,\n"
            "  language TEXT NOT NULL\n"
            ") STRICT;\n"
            "CREATE INDEX analytics_visits_open ON analytics_visits(site, "
            "visitor) WHERE closed = 0;\n"
            "CREATE INDEX analytics_visits_due ON analytics_visits(last_ts) "
            "WHERE closed = 0;\n"
            "CREATE INDEX analytics_visits_time ON analytics_visits(site, "
            "start_ts);\n"
            "CREATE INDEX analytics_visits_start ON "
            "analytics_visits(start_ts);\n"
            "CREATE TABLE analytics_visit_pages (\n"
            "  visit INTEGER NOT NULL,\n"
            "  path TEXT NOT NULL,\n"
            "  pageviews INTEGER NOT NULL,\n"
            "  engagement_ms INTEGER NOT NULL,\n"
            "  PRIMARY KEY (visit, path)\n"
            ") STRICT, WITHOUT ROWID;\n"
            "CREATE TABLE analytics_visit_events (\n"
            "  visit INTEGER NOT NULL,\n"
            "  name TEXT NOT NULL,\n"
            "  prop TEXT NOT NULL,\n"
            "  value TEXT NOT NULL,\n"
            "  n INTEGER NOT NULL,\n"
            "  PRIMARY KEY (visit, name, prop, value)\n"
            ") STRICT, WITHOUT ROWID;\n"
            "CREATE TABLE analytics_rollup (\n"
            "  site TEXT NOT NULL,\n"
            "  dim TEXT NOT NULL,\n"
            "  gran INTEGER NOT NULL,\n"
            "  t INTEGER NOT NULL,\n"
            "  value TEXT NOT NULL,\n"
            "  visits INTEGER NOT NULL DEFAULT 0,\n"
            "  pageviews INTEGER NOT NULL DEFAULT 0,\n"
            "  bounces INTEGER NOT NULL DEFAULT 0,\n"
            "  duration_ms INTEGER NOT NULL DEFAULT 0,\n"
            "  events INTEGER NOT NULL DEFAULT 0,\n"
            "  engagement_ms INTEGER NOT NULL DEFAULT 0,\n"
            "  bots INTEGER NOT NULL DEFAULT 0,\n"
            "  visitors BLOB,\n"
            "  PRIMARY KEY (site, dim, gran, t, value)\n"
            ") STRICT, WITHOUT ROWID;\n"},
        /* Reports read the open visits of a range (query.c: "closed = 0"
         * with a start_ts range); without it they scanned every visit of
         * the range in analytics_visits_time, ended ones included. */
        {2, "CREATE INDEX analytics_visits_open_time ON "
            "analytics_visits(site, start_ts) WHERE closed = 0;\n"},
        /* An index on last_ts was rewritten by every event of a visit;
         * the close task finds ended visits by start_ts instead. */
        {3, "DROP INDEX analytics_visits_due;\n"
            "CREATE INDEX analytics_visits_open_start ON "
            "analytics_visits(start_ts) WHERE closed = 0;\n"},
        /* The writer finds open visits in memory (openvisits.h); this
         * index cost two random page writes a visit. */
        {4, "DROP INDEX analytics_visits_open;\n"},
        /* The close and forget tasks go site by site through the (site,
         * start_ts) indexes: two indexes fewer for every visit to write
         * (one of them twice), and for every commit to rewrite the tail
         * of. */
        {5, "DROP INDEX analytics_visits_open_start;\n"
            "DROP INDEX analytics_visits_start;\n"},
        /* Segments (query.h): their rollup rows are those of dimension
         * "seg:ID:<dim>".  A new one is backfilled from the visits that
         * had ended before it was registered: those up to max_visit, not
         * open then (analytics_segment_open), walked from the newest
         * (start_ts, id) down; cursor_ts is NULL once all are in.  Ids
         * are never reused: rows a process wrote under a segment another
         * dropped stay apart from a new registration's.  A dropped
         * segment's rows are deleted in the background, from
         * analytics_segment_purge. */
        {6, "CREATE TABLE analytics_segments (\n"
            "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
            "  site TEXT NOT NULL,\n"
            "  filter TEXT NOT NULL,\n"
            "  max_visit INTEGER NOT NULL,\n"
            "  cursor_ts INTEGER,\n"
            "  cursor_id INTEGER NOT NULL,\n"
            "  UNIQUE (site, filter)\n"
            ") STRICT;\n"
            "CREATE TABLE analytics_segment_open (\n"
            "  segment INTEGER NOT NULL,\n"
            "  visit INTEGER NOT NULL,\n"
            "  PRIMARY KEY (segment, visit)\n"
            ") STRICT, WITHOUT ROWID;\n"
            "CREATE TABLE analytics_segment_purge (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  site TEXT NOT NULL\n"
            ") STRICT;\n"},
        /* Blocks (blocks.h): past days' ended visits column by column,
         * for the reports no rollup answers.  A rowid table: its rows
         * are a day's column, kilobytes each. */
        {7, "CREATE TABLE analytics_blocks (\n"
            "  site TEXT NOT NULL,\n"
            "  day INTEGER NOT NULL,\n"
            "  col TEXT NOT NULL,\n"
            "  data BLOB NOT NULL,\n"
            "  PRIMARY KEY (site, day, col)\n"
            ") STRICT;\n"
            "CREATE TABLE analytics_block_state (\n"
            "  site TEXT PRIMARY KEY,\n"
            "  built_to INTEGER NOT NULL,\n"
            "  format INTEGER NOT NULL\n"
            ") STRICT;\n"
            "CREATE TABLE analytics_block_dirty (\n"
            "  site TEXT NOT NULL,\n"
            "  day INTEGER NOT NULL,\n"
            "  PRIMARY KEY (site, day)\n"
            ") STRICT, WITHOUT ROWID;\n"},
        /* Day and month rows of the visits started from this hour on are
         * added an hour at a time (merge_task()), not at every write: a
         * busy value's day and month sketches were rewritten every few
         * seconds.  Every row so far has all three. */
        {8, "INSERT OR IGNORE INTO analytics_meta (k, v) VALUES "
            "('merged_to', CAST(strftime('%s', 'now') AS INTEGER) / 3600 "
            "* 3600);\n"},
        /* When a writer last added to the visit, on its own clock: the
         * close task leaves alone a visit an import beside it is still
         * adding to (its events are old, so by their times it ended). */
        {9, "ALTER TABLE analytics_visits ADD COLUMN touched_ms INTEGER "
            "NOT NULL DEFAULT 0;\n"},
        /* Before ABI 1.5 the customers plugin sent an identify event's
         * pseudonym (a keyed hash of the address) in its props, and it
         * was kept here as the property "identity", for visitors of any
         * consent.  It goes: from the visits, the rollups (a segment's
         * too) and the blocks of those days, which are built again. */
        {10, "INSERT INTO analytics_block_dirty (site, day) SELECT "
             "DISTINCT v.site, v.start_ts / 86400000 FROM "
             "analytics_visit_events e JOIN analytics_visits v ON v.id = "
             "e.visit JOIN analytics_block_state s ON s.site = v.site "
             "WHERE e.name = 'identify' AND e.prop = 'identity' AND "
             "v.start_ts / 86400000 < s.built_to ON CONFLICT DO NOTHING;\n"
             "DELETE FROM analytics_blocks WHERE (site, day) IN (SELECT "
             "site, day FROM analytics_block_dirty);\n"
             "DELETE FROM analytics_visit_events WHERE name = 'identify' "
             "AND prop = 'identity';\n"
             "DELETE FROM analytics_rollup WHERE dim = 'prop:identity' OR "
             "dim GLOB 'seg:*:prop:identity';\n"},
        /* Blocks get ids never reused, so that an id names the same
         * bytes for as long as it exists: a reader's cache keeps them by
         * it (blockcache.h).  The rows keep their rowids. */
        {11, "CREATE TABLE analytics_blocks_v11 (\n"
             "  id INTEGER PRIMARY KEY AUTOINCREMENT,\n"
             "  site TEXT NOT NULL,\n"
             "  day INTEGER NOT NULL,\n"
             "  col TEXT NOT NULL,\n"
             "  data BLOB NOT NULL,\n"
             "  UNIQUE (site, day, col)\n"
             ") STRICT;\n"
             "INSERT INTO analytics_blocks_v11 (id, site, day, col, data) "
             "SELECT rowid, site, day, col, data FROM analytics_blocks "
             "ORDER BY rowid;\n"
             "DROP TABLE analytics_blocks;\n"
             "ALTER TABLE analytics_blocks_v11 RENAME TO analytics_blocks;\n"},
        /* A page filter (page==, not page!=) now counts only the views of
         * the pages it keeps: the segments with one are dropped, their
         * rows purged, and registered and backfilled again at the start
         * (segments_ready()).  Canonical filters are ';'-joined parts. */
        {12, "INSERT OR IGNORE INTO analytics_segment_purge (id, site) "
             "SELECT id, site FROM analytics_segments WHERE ';' || filter "
             "GLOB '*;page==*';\n"
             "DELETE FROM analytics_segment_open WHERE segment IN (SELECT "
             "id FROM analytics_segments WHERE ';' || filter GLOB "
             "'*;page==*');\n"
             "DELETE FROM analytics_segments WHERE ';' || filter GLOB "
             "'*;page==*';\n"},
        /* A visit whose events carried one property value under several
         * names counted once a name in the value's rollup rows: the
         * extra visits come off the rows of the ended visits held (in
         * the hour, and the day and month once merged), and the segments
         * are backfilled again. */
        {13, "WITH extra AS (SELECT v.site, v.start_ts / 1000 AS ts, "
             "'prop:' || e.prop AS dim, e.value, count(*) - 1 AS n FROM "
             "analytics_visit_events e JOIN analytics_visits v ON v.id = "
             "e.visit WHERE e.prop != '' AND v.closed = 1 GROUP BY "
             "e.visit, e.prop, e.value HAVING count(*) > 1), merged(t) AS "
             "(SELECT coalesce((SELECT v FROM analytics_meta WHERE k = "
             "'merged_to'), 0)), cut AS (SELECT site, dim, value, 0 AS "
             "gran, ts / 3600 * 3600 AS t, n FROM extra UNION ALL SELECT "
             "site, dim, value, 1, ts / 86400 * 86400, n FROM extra WHERE "
             "ts < (SELECT t FROM merged) UNION ALL SELECT site, dim, "
             "value, 2, CAST(strftime('%s', ts, 'unixepoch', 'start of "
             "month') AS INTEGER), n FROM extra WHERE ts < (SELECT t FROM "
             "merged)) UPDATE analytics_rollup AS r SET visits = "
             "max(r.visits - c.n, 0) FROM (SELECT site, dim, value, gran, "
             "t, sum(n) AS n FROM cut GROUP BY 1, 2, 3, 4, 5) AS c WHERE "
             "r.site = c.site AND r.dim = c.dim AND r.gran = c.gran AND "
             "r.t = c.t AND r.value = c.value;\n"
             "INSERT OR IGNORE INTO analytics_segment_purge (id, site) "
             "SELECT id, site FROM analytics_segments;\n"
             "DELETE FROM analytics_segment_open;\n"
             "DELETE FROM analytics_segments;\n"},
        /* The goals as the rollups count them (goals_register()): a
         * goal's rows hold every visit started from counted_from_ms on,
         * when it was configured with this definition (kind:pattern);
         * reports over earlier hours read it off the visits (query.c).
         * Those configured when this came in were counted all along, as
         * far as anyone knows: the next start registers them from the
         * beginning ('goals_adopt'), as it does on a new database. */
        {14, "CREATE TABLE analytics_goals (\n"
             "  site TEXT NOT NULL,\n"
             "  name TEXT NOT NULL,\n"
             "  definition TEXT NOT NULL,\n"
             "  counted_from_ms INTEGER NOT NULL,\n"
             "  PRIMARY KEY (site, name)\n"
             ") STRICT, WITHOUT ROWID;\n"
             "INSERT INTO analytics_meta (k, v) VALUES ('goals_adopt', "
             "1);\n"},
        /* Dated notes on the statistics (notes.h). */
        {15, "CREATE TABLE analytics_annotations (\n"
             "  id INTEGER PRIMARY KEY,\n"
             "  site TEXT NOT NULL,\n"
             "  day TEXT NOT NULL,\n"
             "  text TEXT NOT NULL,\n"
             "  by_name TEXT NOT NULL,\n"
             "  created_at INTEGER NOT NULL\n"
             ") STRICT;\n"
             "CREATE INDEX analytics_annotations_site_day ON "
             "analytics_annotations (site, day);\n"},
};

/* How long a visit must go untouched before the close task ends it, when
 * the visit timeout is longer: an import's visits, ended by their own
 * times the moment they start, are still being added to. */
#define QUIET_MS 5000

/* Custom event properties kept per event, and their sizes. */
#define PROPS_MAX 10
#define PROP_KEY_MAX 64
#define PROP_VALUE_MAX 200
/* Visits ended per close-task run at most, so the writer is held only
 * briefly, even after a backlog (a restart, an import): a run of 2,000
 * held it ~26 ms under the collect benchmark's load, while every
 * connection waited for its answer; the batches queued meanwhile go
 * between runs (SEULA_TASK_MORE). */
#define CLOSE_BATCH 250
/* Ended visits gathered that are written (write_pending()) however short
 * rollup_delay has run, so one write holds the writer for a bounded time:
 * checked after each run, so at most PENDING_MAX + CLOSE_BATCH - 1.  At
 * 10,000 such a write was the collect path's p99 (~42 ms); at 2,500 ~19
 * ms, at the same rate (tests/bench/README.md). */
#define PENDING_MAX 2500
/* Segments configured at most, and visits a segment's backfill reads per
 * run (each a row of the (site, start_ts) index; those that pass the
 * filter gathered), so a run holds the writer briefly. */
#define SEGMENTS_MAX 20
#define BACKFILL_BATCH 500
/* Blocks (blocks.h): a day is built once it ended this long past the
 * visit timeout (none of its visits open then); a run builds for this long
 * at most, and runs take this much of each second at most, as the
 * backfill's. */
#define BLOCK_MARGIN_MS (3600 * 1000)
#define BLOCK_RUN_MS 50
#define BLOCK_BUDGET_MS 250
#define DAY_MS 86400000LL
/* Hours merge_task() adds to their days and months a run at most. */
#define MERGE_MAX_S (7 * 86400)
/* Rollup rows of a dropped segment deleted per run. */
#define PURGE_BATCH 5000
/* Of each second, the backfill's runs hold the writer this long at most:
 * the rest is the collect path's, and other processes' (an import's
 * BEGIN waits for a gap between the writer's transactions). */
#define BACKFILL_BUDGET_MS 250

enum stmt_id {
	S_OPEN,
	S_NEW,
	S_TOUCH,
	S_EARLIER,
	S_EARLIER_START,
	S_PAGE,
	S_ENGAGE,
	S_ENGAGE_VISIT,
	S_EVENT,
	S_ROLLUP,
	S_DUE,
	S_NEXT_SITE,
	S_VISIT,
	S_PAGES,
	S_EVENTS,
	S_CLOSE,
	S_ADOPT,
	S_CONSENTED,
	S_MERGED,
	S_NEXT_DIM,
	S_MERGE,
	S_SET_MERGED,
	S_FORGET_FROM,
	S_DATA_VERSION,
	S_UNROLL,
	S_UNROLL_GONE,
	S_COUNT_
};

static const char *const stmt_sql[S_COUNT_] = {
        /* By id: a visitor's latest open visit is the one kept. */
        [S_OPEN] = "SELECT id, site, visitor, start_ts, last_ts FROM "
                   "analytics_visits WHERE closed = 0 ORDER BY id",
        [S_NEW] = "INSERT INTO analytics_visits (site, visitor, start_ts, "
                  "last_ts, pageviews, events, entry_page, exit_page, "
                  "source, referrer, channel, utm_source, utm_medium, "
                  "utm_campaign, utm_term, utm_content, country, region, "
                  "city, browser, os, device, screen, language, "
                  "touched_ms) VALUES (?1, ?2, ?3, ?3, ?4, ?5, ?6, ?6, ?7, "
                  "?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, "
                  "?19, ?20, ?21, ?22, ?23)",
        /* No indexed column: a touch rewrites the row alone.  "closed =
         * 0": the open-visit table is a cache (openvisits.h).  Entry and
         * exit pages are page views' (?3, NULL for a custom event): the
         * first one of a visit a custom event began is both. */
        [S_TOUCH] = "UPDATE analytics_visits SET entry_page = CASE WHEN "
                    "?3 IS NOT NULL AND pageviews = 0 THEN ?3 ELSE "
                    "entry_page END, exit_page = CASE WHEN ?3 IS NOT NULL "
                    "AND (?2 >= last_ts OR pageviews = 0) THEN ?3 ELSE "
                    "exit_page END, last_ts = max(last_ts, ?2), pageviews "
                    "= pageviews + ?4, events = events + ?5, touched_ms = "
                    "?6 WHERE id = ?1 AND closed = 0",
        /* A page view before the visit's first event (a log a little out
         * of order): it began the visit, so its page and where it came
         * from are the visit's.  A custom event only moves the start: it
         * carries no referrer (the tracker's order between two workers
         * can put one a moment ahead). */
        [S_EARLIER_START] = "UPDATE analytics_visits SET start_ts = ?2 "
                            "WHERE id = ?1 AND start_ts > ?2",
        [S_EARLIER] = "UPDATE analytics_visits SET start_ts = ?2, "
                      "entry_page = ?3, source = ?4, referrer = ?5, "
                      "channel = ?6, utm_source = ?7, utm_medium = ?8, "
                      "utm_campaign = ?9, utm_term = ?10, utm_content = "
                      "?11 WHERE id = ?1 AND start_ts > ?2",
        [S_PAGE] = "INSERT INTO analytics_visit_pages (visit, path, "
                   "pageviews, engagement_ms) VALUES (?1, ?2, 1, 0) ON "
                   "CONFLICT DO UPDATE SET pageviews = pageviews + 1",
        [S_ENGAGE] = "UPDATE analytics_visit_pages SET engagement_ms = "
                     "engagement_ms + ?3 WHERE visit = ?1 AND path = ?2 "
                     "AND EXISTS (SELECT 1 FROM analytics_visits WHERE id "
                     "= ?1 AND closed = 0)",
        [S_ENGAGE_VISIT] = "UPDATE analytics_visits SET engagement_ms = "
                           "engagement_ms + ?2 WHERE id = ?1",
        [S_EVENT] = "INSERT INTO analytics_visit_events (visit, name, prop, "
                    "value, n) VALUES (?1, ?2, ?3, ?4, 1) ON CONFLICT DO "
                    "UPDATE SET n = n + 1",
        [S_ROLLUP] = "INSERT INTO analytics_rollup (site, dim, gran, t, "
                     "value, visits, pageviews, bounces, duration_ms, "
                     "events, engagement_ms, bots, visitors) VALUES (?1, "
                     "?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13) "
                     "ON CONFLICT DO UPDATE SET visits = visits + ?6, "
                     "pageviews = pageviews + ?7, bounces = bounces + ?8, "
                     "duration_ms = duration_ms + ?9, events = events + "
                     "?10, engagement_ms = engagement_ms + ?11, bots = bots "
                     "+ ?12, visitors = analytics_hll_union(visitors, ?13)",
        /* Started before the cutoff: those ended, and the few long
         * visits still going, which last_ts leaves out. */
        [S_DUE] = "SELECT id, start_ts FROM analytics_visits WHERE site = "
                  "?5 AND closed = 0 AND start_ts < ?1 AND last_ts < ?1 AND "
                  "touched_ms < ?6 AND (start_ts, id) > (?3, ?4) ORDER BY "
                  "start_ts, id LIMIT ?2",
        /* One probe of analytics_visits_open_time, not a scan. */
        [S_NEXT_SITE] = "SELECT min(site) FROM analytics_visits WHERE "
                        "closed = 0 AND site > ?1",
        /* Changed by another connection's commits only. */
        [S_DATA_VERSION] = "PRAGMA data_version",
        /* An erased visit's share taken back (write_undo()), and a row
         * left with no visit nor bot deleted: its value was theirs. */
        [S_UNROLL] = "UPDATE analytics_rollup SET visits = visits - ?6, "
                     "pageviews = pageviews - ?7, bounces = bounces - ?8, "
                     "duration_ms = duration_ms - ?9, events = events - "
                     "?10, engagement_ms = engagement_ms - ?11, bots = bots "
                     "- ?12 WHERE site = ?1 AND dim = ?2 AND gran = ?3 AND "
                     "t = ?4 AND value = ?5",
        [S_UNROLL_GONE] = "DELETE FROM analytics_rollup WHERE site = ?1 AND "
                          "dim = ?2 AND gran = ?3 AND t = ?4 AND value = ?5 "
                          "AND visits <= 0 AND bots <= 0",
        [S_VISIT] = "SELECT site, visitor, start_ts, last_ts, pageviews, "
                    "events, engagement_ms, entry_page, exit_page, source, "
                    "referrer, channel, utm_source, utm_medium, "
                    "utm_campaign, utm_term, utm_content, country, region, "
                    "city, browser, os, device, screen, language FROM "
                    "analytics_visits WHERE id = ?1 AND closed = ?2",
        [S_PAGES] = "SELECT path, pageviews, engagement_ms FROM "
                    "analytics_visit_pages WHERE visit = ?1",
        /* A property's value once, however many of the visit's event
         * names had it: the visit counts once in its row. */
        [S_EVENTS] = "SELECT name, prop, value, sum(n) FROM "
                     "analytics_visit_events WHERE visit = ?1 GROUP BY "
                     "prop, value, CASE prop WHEN '' THEN name END",
        /* All pending visits in one statement: SQLite walks the ids in
         * order, and the per-statement cost is paid once, not per visit
         * (4.4 against 5-10 us a visit). */
        /* Only as gathered: a visit added to since (by an import beside
         * the server) is stale, and all is gathered again. */
        [S_CLOSE] = "UPDATE analytics_visits SET closed = 1 FROM (SELECT "
                    "json_extract(value, '$[0]') AS id, json_extract(value, "
                    "'$[1]') AS pv, json_extract(value, '$[2]') AS ev FROM "
                    "json_each(?1)) AS p WHERE analytics_visits.id = p.id "
                    "AND closed = 0 AND pageviews = p.pv AND events = p.ev",
        [S_ADOPT] = "UPDATE analytics_visits SET visitor = ?2 WHERE id = ?1 "
                    "AND closed = 0",
        /* When the visitor's standing consent was given (core tables, as
         * the customers plugin reads them). */
        /* The consent's time and page (scheme, host and path), and the
         * page visit ?3 is on. */
        [S_CONSENTED] = "SELECT r.received_at, r.page, (SELECT x.exit_page "
                        "FROM analytics_visits x WHERE x.id = ?3) FROM "
                        "consent_visitors v JOIN consent_records r ON "
                        "r.receipt = v.receipt WHERE v.visitor_id = ?1 AND "
                        "v.site = ?2",
        [S_MERGED] = "SELECT v FROM analytics_meta WHERE k = 'merged_to'",
        /* The rollups' next (site, dim) after (?1, ?2): one probe of the
         * key, so merge_task() walks the dimensions, not the rows. */
        [S_NEXT_DIM] = "SELECT site, dim FROM analytics_rollup WHERE (site, "
                       "dim) > (?1, ?2) ORDER BY site, dim LIMIT 1",
        /* Hours [?3, ?4) of one dimension into their days (?5 = 1) or
         * months (2). */
        [S_MERGE] = "INSERT INTO analytics_rollup (site, dim, gran, t, "
                    "value, visits, pageviews, bounces, duration_ms, "
                    "events, engagement_ms, bots, visitors) SELECT site, "
                    "dim, ?5, CASE ?5 WHEN 1 THEN t - (t % 86400 + 86400) "
                    "% 86400 ELSE "
                    "CAST(strftime('%s', t, 'unixepoch', 'start of "
                    "month') AS INTEGER) END, value, visits, pageviews, "
                    "bounces, duration_ms, events, engagement_ms, bots, "
                    "visitors FROM analytics_rollup WHERE site = ?1 AND dim "
                    "= ?2 AND gran = 0 AND t >= ?3 AND t < ?4 ORDER BY t "
                    "ON CONFLICT DO UPDATE SET visits = visits + "
                    "excluded.visits, pageviews = pageviews + "
                    "excluded.pageviews, bounces = bounces + "
                    "excluded.bounces, duration_ms = duration_ms + "
                    "excluded.duration_ms, events = events + "
                    "excluded.events, engagement_ms = engagement_ms + "
                    "excluded.engagement_ms, bots = bots + excluded.bots, "
                    "visitors = analytics_hll_union(visitors, "
                    "excluded.visitors)",
        /* A visit made already past visitor_retention (an old log):
         * the forget task's mark goes back to it, or it would keep its
         * visitor for good. */
        [S_FORGET_FROM] = "INSERT INTO analytics_meta (k, v) VALUES "
                          "('forgotten_before', ?1) ON CONFLICT DO UPDATE "
                          "SET v = min(v, excluded.v)",
        [S_SET_MERGED] = "INSERT OR REPLACE INTO analytics_meta (k, v) "
                         "VALUES ('merged_to', ?1)",
};

/* A configured segment (query.h), and its registration. */
struct segment {
	char *site;
	char *filter; /* as configured */
	char *canon;  /* analytics_filter_canon(), sqlite3_malloc'd */
	sqlite3_stmt
	        *match; /* on the writer: ?1 a visit id; a row if it passes */
	/* On the writer: the pages of visit ?1 its reports count, or NULL
	 * when they count all (analytics_filter_pages_prepare()). */
	sqlite3_stmt *pages;
	/* From analytics_segments, once registered (segments_ready()). */
	int64_t id, max_visit, cursor_ts, cursor_id;
	bool done;
	char prefix[32]; /* "seg:ID:" */
};

struct analytics {
	const struct seula_host *host;
	const struct analytics_config *cfg;
	struct analytics_goals goals;
	struct analytics_funnels funnels;
	struct analytics_content_groups content_groups;
	int64_t *goal_hits; /* one per goal, while gather_visit() counts */
	/* Writer state: the statements of one connection, and the key. */
	sqlite3 *wdb;
	sqlite3_stmt *stmt[S_COUNT_];
	/* What ended visits add to the rollups, until write_pending(), and
	 * those visits: still closed = 0 in the table, so reports count them
	 * from there and, should the server stop first, the close task ends
	 * them again. */
	struct gather *gather;
	struct pending_visit {
		int64_t id, pageviews, events; /* as gathered */
	} * pending;
	size_t n_pending, cap_pending;
	int64_t pending_since; /* the close task's now when the first came */
	bool must_write; /* a visit's rows were written in part: the rest too */
	bool close_ran;  /* since start: the first close run writes at once */
	/* The close task's place in analytics_visits_open_time (site, start_ts,
	 * id; due_site NULL: the start): every pending visit is at or before
	 * it, so no run gathers one twice. */
	char *due_site;
	int64_t due_start, due_id;
	struct gather *direct; /* bots' counts, written by each on_batch */
	/* An erased visit's share of the rollups, while ungather_visit()
	 * gathers it: taken back out by write_undo(). */
	struct gather *undo;
	bool undoing;
	struct open_visits *open;
	bool open_stale; /* rebuild `open` before use: a rollback, a start */
	/* Blocks, on the writer's connection; the last day made dirty in
	 * this hook (an import starts many visits on one day). */
	struct analytics_blocks_writer *blocks;
	/* Blocks' bytes the readers keep (NULL: block_cache_mb = 0); the
	 * writer drops what it deletes. */
	struct analytics_block_cache *cache;
	/* And the reports' groups' log chunks, up to a quarter as much. */
	struct analytics_groups_pool *pool;
	struct analytics_sweep_state sweep; /* cache_task()'s */
	/* The cache's warm-up (warm_task()): a thread of its own, on a
	 * connection of its own, joined once done or at shutdown. */
	pthread_t warm_thread;
	sqlite3 *warm_db;
	bool warm_started, warm_joined;
	atomic_bool warm_stop, warm_done;
	char dirty_site[128];
	int64_t dirty_day;
	int64_t blocks_window, blocks_used; /* monotonic ms: the budget */
	unsigned char key[crypto_shorthash_KEYBYTES];
	bool have_key;
	struct segment *segs;
	size_t n_segs;
	bool segs_ready; /* each in analytics_segments: segments_ready() */
	/* The goals registered (goals_ready()), as of data_version. */
	bool goals_ok;
	int64_t data_version;
	int64_t backfill_window, backfill_used; /* monotonic ms: the budget */
	/* analytics_meta's merged_to as this transaction read it (UTC
	 * seconds; INT64_MAX: none, every row has all its buckets). */
	int64_t merged_to;
	bool purging; /* a dropped segment's rows may be left: purge() */
	/* The rows rollup_add() adds to, set by gather_visit(): the site's
	 * own (plain), and those of these dimension prefixes (segments'). */
	bool add_plain;
	const char *prefix[SEGMENTS_MAX];
	size_t n_prefix;
	/* Reader connections the SQL functions are registered on, each
	 * with its helper (query.h: NULL when it did not open). */
	pthread_mutex_t lock;
	struct reader {
		sqlite3 *db, *helper;
	} * readers;
	size_t n_readers;
};

/* ---- writer connection -------------------------------------------------- */

static void finalize_stmts(struct analytics *a)
{
	if (a->wdb)
		sqlite3_rollback_hook(a->wdb, NULL, NULL);
	for (int i = 0; i < S_COUNT_; i++) {
		sqlite3_finalize(a->stmt[i]);
		a->stmt[i] = NULL;
	}
	for (size_t i = 0; i < a->n_segs; i++) {
		sqlite3_finalize(a->segs[i].match);
		sqlite3_finalize(a->segs[i].pages);
		a->segs[i].match = NULL;
		a->segs[i].pages = NULL;
	}
	analytics_blocks_writer_free(a->blocks);
	a->blocks = NULL;
	a->wdb = NULL;
}

static int load_key(struct analytics *a, sqlite3 *db, char **errmsg)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	        db, "SELECT v FROM analytics_meta WHERE k = 'visitor_key'", -1,
	        &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == (int)sizeof(a->key)) {
		memcpy(a->key, sqlite3_column_blob(st, 0), sizeof(a->key));
		a->have_key = true;
	}
	sqlite3_finalize(st);
	if (a->have_key)
		return SEULA_OK;
	a->host->random_bytes(a->host, a->key, sizeof(a->key));
	rc = sqlite3_prepare_v2(db,
	                        "INSERT INTO analytics_meta (k, v) VALUES "
	                        "('visitor_key', ?1)",
	                        -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, a->key, sizeof(a->key), SQLITE_STATIC);
		rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK : SQLITE_ERROR;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK) {
		*errmsg = a->host->mprintf("cannot store the visitor key: %s",
		                           sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	a->have_key = true;
	return SEULA_OK;
}

/* What the transaction changed is gone, and the open visits it started or
 * touched with it: read them again before the next event. */
static void on_rollback(void *arg)
{
	struct analytics *a = arg;
	a->open_stale = true;
	a->segs_ready = false;
	a->goals_ok = false;
	a->purging = true; /* a purge's end may have rolled back */
	a->dirty_site[0] = '\0';
}

/* Prepare the statements on the writer's connection (once per connection:
 * the start-up task may run on another one). */
static int prepare(struct analytics *a, sqlite3 *db, char **errmsg)
{
	if (a->wdb == db)
		return SEULA_OK;
	finalize_stmts(a);
	if (analytics_sql_register(db) != SQLITE_OK) {
		*errmsg = a->host->mprintf("cannot register SQL functions: %s",
		                           sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	for (int i = 0; i < S_COUNT_; i++) {
		if (sqlite3_prepare_v3(db, stmt_sql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &a->stmt[i],
		                       NULL) != SQLITE_OK) {
			*errmsg = a->host->mprintf("cannot prepare: %s",
			                           sqlite3_errmsg(db));
			finalize_stmts(a);
			return SEULA_EIO;
		}
	}
	if (!(a->blocks = analytics_blocks_writer_new(db, a->cache))) {
		*errmsg = a->host->mprintf("cannot prepare the blocks: %s",
		                           sqlite3_errmsg(db));
		finalize_stmts(a);
		return SEULA_EIO;
	}
	for (size_t i = 0; i < a->n_segs; i++) {
		struct segment *sg = &a->segs[i];
		char err[256];
		sg->match = analytics_filter_prepare(
		        db, "SELECT 1 FROM analytics_visits v WHERE v.id = ?1",
		        1, sg->site, sg->filter, &a->goals, &a->content_groups,
		        NULL, 0, "", err, sizeof(err));
		if (!sg->match || analytics_filter_pages_prepare(
		                          db, sg->site, sg->filter, &a->goals,
		                          &a->content_groups, &sg->pages, err,
		                          sizeof(err)) != ANALYTICS_OK) {
			*errmsg = a->host->mprintf("segment %s:%s: %s",
			                           sg->site, sg->filter, err);
			finalize_stmts(a);
			return SEULA_EIO;
		}
	}
	a->wdb = db;
	a->segs_ready = false;
	a->goals_ok = false;
	/* The connection has no other rollback hook: the host sets none. */
	sqlite3_rollback_hook(db, on_rollback, a);
	if (!a->have_key)
		return load_key(a, db, errmsg);
	return SEULA_OK;
}

static sqlite3_stmt *use(struct analytics *a, enum stmt_id id)
{
	sqlite3_stmt *st = a->stmt[id];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

/* a->merged_to, read in the caller's transaction: another process's
 * merge may have moved it (an import beside the server holds its tasks,
 * but the server does not). */
static int read_merged(struct analytics *a)
{
	sqlite3_stmt *st = use(a, S_MERGED);
	int step = sqlite3_step(st);
	a->merged_to =
	        step == SQLITE_ROW ? sqlite3_column_int64(st, 0) : INT64_MAX;
	sqlite3_reset(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* prepare() and read_merged(), for every hook that gathers rows. */
static int prepare_gather(struct analytics *a, sqlite3 *db, char **errmsg)
{
	int rc = prepare(a, db, errmsg);
	if (rc == SEULA_OK && (rc = read_merged(a)) != SEULA_OK && !*errmsg)
		*errmsg = a->host->mprintf("reading merged_to: %s",
		                           sqlite3_errmsg(db));
	return rc;
}

/* The close task starts again from the first open visit. */
static void due_reset(struct analytics *a)
{
	free(a->due_site);
	a->due_site = NULL;
	a->due_start = INT64_MIN;
	a->due_id = 0;
}

/* Forget the pending visits: they are still open in the table, and the
 * close task's next run, from the start, gathers them again. */
static void drop_pending(struct analytics *a)
{
	gather_reset(a->gather);
	a->n_pending = 0;
	a->must_write = false;
	due_reset(a);
}

/* The open visits as the table holds them, when a start or a rollback
 * left the cache behind. */
static int open_ready(struct analytics *a)
{
	if (!a->open_stale)
		return SEULA_OK;
	/* Read back, a pending visit would be open again. */
	drop_pending(a);
	open_visits_clear(a->open);
	sqlite3_stmt *st = use(a, S_OPEN);
	int step, rc = SEULA_OK;
	while (rc == SEULA_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
		const char *site = (const char *)sqlite3_column_text(st, 1);
		struct open_visit v = {
		        .id = sqlite3_column_int64(st, 0),
		        .start_ms = sqlite3_column_int64(st, 3),
		        .last_ms = sqlite3_column_int64(st, 4),
		};
		rc = site ? open_visits_put(a->open, site,
		                            sqlite3_column_int64(st, 2), &v)
		          : SEULA_EIO;
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	sqlite3_reset(st);
	if (rc == SEULA_OK)
		a->open_stale = false;
	return rc;
}

static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

/* ---- rollups ------------------------------------------------------------ */

/* What one visit adds to one dimension value. */
struct contrib {
	int64_t visits, pageviews, bounces, duration_ms, events, engagement_ms,
	        bots;
	bool has_visitor;
	int64_t visitor;
};

static int64_t month_start(int64_t t)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	tm.tm_mday = 1;
	tm.tm_hour = tm.tm_min = tm.tm_sec = 0;
	return (int64_t)timegm(&tm);
}

/* Write the rows `g` gathered, and empty it (also when that fails: the
 * transaction then rolls back, and what it gathered with it). */
static int write_rows(struct analytics *a, struct gather *g)
{
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < gather_count(g); i++) {
		const struct gather_row *r = gather_get(g, i);
		uint8_t *blob = NULL;
		size_t len = 0;
		if (r->sketch     ? !seula_hll_to_blob(r->sketch, &blob, &len)
		    : r->n_hashes ? !seula_hll_blob_of(r->hashes, r->n_hashes,
		                                       &blob, &len)
		                  : false) {
			rc = SEULA_ENOMEM;
			break;
		}
		sqlite3_stmt *st = use(a, S_ROLLUP);
		sqlite3_bind_text(st, 1, r->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, r->dim, -1, SQLITE_STATIC);
		sqlite3_bind_int(st, 3, r->gran);
		sqlite3_bind_int64(st, 4, r->t);
		sqlite3_bind_text(st, 5, r->value, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, r->sums.visits);
		sqlite3_bind_int64(st, 7, r->sums.pageviews);
		sqlite3_bind_int64(st, 8, r->sums.bounces);
		sqlite3_bind_int64(st, 9, r->sums.duration_ms);
		sqlite3_bind_int64(st, 10, r->sums.events);
		sqlite3_bind_int64(st, 11, r->sums.engagement_ms);
		sqlite3_bind_int64(st, 12, r->sums.bots);
		if (blob)
			sqlite3_bind_blob(st, 13, blob, (int)len, free);
		rc = run(st);
		sqlite3_clear_bindings(st);
	}
	int rr = gather_reset(g);
	return rc != SEULA_OK ? rc : rr;
}

/* Take the rows a->undo gathered (an erased visit's share, as written)
 * back out of the rollups, delete those left with no visit nor bot, and
 * empty it. */
static int write_undo(struct analytics *a)
{
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < gather_count(a->undo); i++) {
		const struct gather_row *r = gather_get(a->undo, i);
		for (int k = 0; rc == SEULA_OK && k < 2; k++) {
			sqlite3_stmt *st = use(a, k ? S_UNROLL_GONE : S_UNROLL);
			sqlite3_bind_text(st, 1, r->site, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, r->dim, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 3, r->gran);
			sqlite3_bind_int64(st, 4, r->t);
			sqlite3_bind_text(st, 5, r->value, -1, SQLITE_STATIC);
			if (!k) {
				sqlite3_bind_int64(st, 6, r->sums.visits);
				sqlite3_bind_int64(st, 7, r->sums.pageviews);
				sqlite3_bind_int64(st, 8, r->sums.bounces);
				sqlite3_bind_int64(st, 9, r->sums.duration_ms);
				sqlite3_bind_int64(st, 10, r->sums.events);
				sqlite3_bind_int64(st, 11,
				                   r->sums.engagement_ms);
				sqlite3_bind_int64(st, 12, r->sums.bots);
			}
			rc = run(st);
			sqlite3_clear_bindings(st);
		}
	}
	int rr = gather_reset(a->undo);
	return rc != SEULA_OK ? rc : rr;
}

static int exec(struct analytics *a, const char *sql)
{
	return sqlite3_exec(a->wdb, sql, NULL, NULL, NULL) == SQLITE_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

/* The pending visits as a JSON array of [id, pageviews, events], for
 * S_CLOSE: *out is sqlite3_malloc'd (the caller sqlite3_free()s it). */
static int pending_json(const struct analytics *a, char **out)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_str_appendchar(s, 1, '[');
	for (size_t i = 0; i < a->n_pending; i++)
		sqlite3_str_appendf(s, "%s[%lld,%lld,%lld]", i ? "," : "",
		                    (long long)a->pending[i].id,
		                    (long long)a->pending[i].pageviews,
		                    (long long)a->pending[i].events);
	sqlite3_str_appendchar(s, 1, ']');
	int err = sqlite3_str_errcode(s);
	*out = sqlite3_str_finish(s);
	if (err != SQLITE_OK || !*out) {
		sqlite3_free(*out);
		*out = NULL;
		return SEULA_ENOMEM;
	}
	return SEULA_OK;
}

/* Close the pending visits and write their rollup rows, in the caller's
 * transaction: a visit is in the rollups exactly when it is closed.
 * SEULA_ECONFLICT: one had been closed (or deleted) by another process
 * (an import beside the server), which wrote its rows, or added to since
 * it was gathered; nothing was written and all is dropped, to be gathered
 * again (settle()). */
static int write_pending(struct analytics *a)
{
	char *ids = NULL;
	int rc = pending_json(a, &ids);
	if (rc == SEULA_OK)
		rc = exec(a, "SAVEPOINT analytics_pending");
	bool stale = false;
	if (rc == SEULA_OK && a->n_pending) {
		sqlite3_stmt *cl = use(a, S_CLOSE);
		sqlite3_bind_text(cl, 1, ids, -1, SQLITE_STATIC);
		rc = run(cl);
		/* No id is pending twice (gather_visit()'s caller). */
		stale = rc == SEULA_OK &&
		        (size_t)sqlite3_changes64(a->wdb) != a->n_pending;
		sqlite3_clear_bindings(cl);
	}
	sqlite3_free(ids);
	if (rc == SEULA_OK && stale) {
		rc = exec(a, "ROLLBACK TO analytics_pending; RELEASE "
		             "analytics_pending");
		drop_pending(a);
		a->host->log(a->host, SEULA_LOG_INFO,
		             "a visit waiting for the rollups was ended "
		             "elsewhere: gathering again");
		return rc == SEULA_OK ? SEULA_ECONFLICT : rc;
	}
	if (rc == SEULA_OK)
		rc = exec(a, "RELEASE analytics_pending");
	if (rc == SEULA_OK)
		rc = write_rows(a, a->gather);
	if (rc == SEULA_OK && a->n_pending)
		a->host->log(a->host, SEULA_LOG_DEBUG,
		             "%zu ended visits written to the rollups",
		             a->n_pending);
	a->n_pending = 0;
	a->must_write = false;
	return rc;
}

/* What was pending is dropped, and gathered again: a success. */
static int settle(int rc)
{
	return rc == SEULA_ECONFLICT ? SEULA_OK : rc;
}

/* Every hook that gathers ends with it: on failure the transaction rolls
 * back, and what was gathered goes; a visit whose rows were written in part
 * gets the rest in this transaction.  With nothing pending, the close task
 * may start again from the first open visit. */
static int end_hook(struct analytics *a, int rc)
{
	if (rc == SEULA_OK)
		rc = write_rows(a, a->direct);
	if (rc == SEULA_OK && a->must_write)
		rc = settle(write_pending(a));
	if (rc != SEULA_OK) {
		gather_reset(a->direct);
		drop_pending(a);
	} else if (a->n_pending == 0) {
		due_reset(a);
	}
	return rc;
}

/* The hour, day and month (UTC) that `ts_ms` falls in, in seconds. */
static void buckets_of(int64_t ts_ms, int64_t out[GATHER_GRANS])
{
	int64_t t = ts_ms / 1000;
	if (ts_ms < 0)
		t = (ts_ms - 999) / 1000;
	out[0] = t - (t % 3600 + 3600) % 3600;
	out[1] = t - (t % 86400 + 86400) % 86400;
	out[2] = month_start(t);
}

/* Add c to (dim, value) in the buckets of buckets_of(), gathered in g
 * (a->gather: an ended visit's; a->direct: bots', a backfill's). */
static int rollup_add_one(struct analytics *a, struct gather *g,
                          const char *site, const char *dim, const char *value,
                          const int64_t t[GATHER_GRANS],
                          const struct contrib *c)
{
	struct gather_sums sums = {
	        .visits = c->visits,
	        .pageviews = c->pageviews,
	        .bounces = c->bounces,
	        .duration_ms = c->duration_ms,
	        .events = c->events,
	        .engagement_ms = c->engagement_ms,
	        .bots = c->bots,
	};
	/* An hour not merged yet has its visits in its row alone. */
	int grans = t[0] < a->merged_to ? GATHER_GRANS : 1;
	/* A sketch cannot take a visitor back out: an erased visit's share
	 * is its counts. */
	bool hash = c->has_visitor && g != a->undo;
	uint64_t who = seula_hll_visitor_hash(c->visitor);
	int rc = gather_add(g, site, dim, value, t, grans, &sums, hash, who);
	if (rc == SEULA_EBUSY) { /* full: write what it has */
		if (g == a->undo) {
			rc = write_undo(a);
		} else if (g == a->gather) {
			/* The visit being gathered is not pending yet: the
			 * rest of its rows, and its close, must follow in
			 * this transaction. */
			rc = write_pending(a);
			a->must_write = rc == SEULA_OK;
		} else {
			rc = write_rows(a, g);
		}
		if (rc == SEULA_OK)
			rc = gather_add(g, site, dim, value, t, grans, &sums,
			                hash, who);
	}
	return rc;
}

/* rollup_add_one() for the site's own rows (a->add_plain) and each
 * segment's the visit is in (a->prefix). */
static int rollup_add(struct analytics *a, struct gather *g, const char *site,
                      const char *dim, const char *value,
                      const int64_t t[GATHER_GRANS], const struct contrib *c)
{
	int rc = a->add_plain ? rollup_add_one(a, g, site, dim, value, t, c)
	                      : SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < a->n_prefix; i++) {
		char pdim[40 + PROP_KEY_MAX];
		snprintf(pdim, sizeof(pdim), "%s%s", a->prefix[i], dim);
		rc = rollup_add_one(a, g, site, pdim, value, t, c);
	}
	return rc;
}

/* Whether visit `id` passes segment sg's filter. */
static int segment_has(struct segment *sg, int64_t id, bool *yes)
{
	sqlite3_reset(sg->match);
	sqlite3_bind_int64(sg->match, 1, id);
	int step = sqlite3_step(sg->match);
	*yes = step == SQLITE_ROW;
	sqlite3_reset(sg->match);
	return step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* The visit-level rollup rows (all visits, entry and exit page, each
 * session dimension) of the visit on v's row (S_VISIT), adding c. */
static int visit_rows(struct analytics *a, struct gather *into,
                      const char *site, sqlite3_stmt *v,
                      const int64_t t[GATHER_GRANS], const struct contrib *c)
{
	int rc = rollup_add(a, into, site, "", "", t, c);
	if (rc == SEULA_OK)
		rc = rollup_add(a, into, site, "entry_page",
		                (const char *)sqlite3_column_text(v, 7), t, c);
	if (rc == SEULA_OK)
		rc = rollup_add(a, into, site, "exit_page",
		                (const char *)sqlite3_column_text(v, 8), t, c);
	for (size_t i = 0; rc == SEULA_OK && i < analytics_n_session_dims; i++)
		rc = rollup_add(
		        a, into, site, analytics_session_dims[i].name,
		        (const char *)sqlite3_column_text(v, 9 + (int)i), t, c);
	return rc;
}

/* A page row's part (path, pageviews, engagement_ms on st's row) of an
 * ended visit entering on `entry`: a page's bounce rate is that of the
 * visits entering on it. */
static struct contrib
page_contrib(sqlite3_stmt *st, const struct contrib *visit, const char *entry)
{
	const char *path = (const char *)sqlite3_column_text(st, 0);
	return (struct contrib){
	        .visits = 1,
	        .pageviews = sqlite3_column_int64(st, 1),
	        .engagement_ms = sqlite3_column_int64(st, 2),
	        .bounces = visit->bounces && entry && path &&
	                   strcmp(entry, path) == 0,
	        .has_visitor = true,
	        .visitor = visit->visitor,
	};
}

/* The rows of a segment whose filter keeps pages (sg->pages): those of
 * the pages it keeps, and the visit's with those pages' views and time,
 * as its reports read them from the visits.  The caller has a->prefix
 * hold sg's alone. */
static int kept_rows(struct analytics *a, struct gather *into, const char *site,
                     sqlite3_stmt *v, int64_t id, const int64_t t[GATHER_GRANS],
                     const struct contrib *visit, const struct segment *sg)
{
	const char *entry = (const char *)sqlite3_column_text(v, 7);
	struct contrib kept = *visit;
	kept.pageviews = kept.engagement_ms = 0;
	sqlite3_stmt *pages = sg->pages;
	sqlite3_reset(pages);
	sqlite3_bind_int64(pages, 1, id);
	int rc = SEULA_OK, step = SQLITE_DONE;
	while (rc == SEULA_OK && (step = sqlite3_step(pages)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(pages, 0);
		struct contrib c = page_contrib(pages, visit, entry);
		kept.pageviews += c.pageviews;
		kept.engagement_ms += c.engagement_ms;
		rc = rollup_add(a, into, site, "page", path, t, &c);
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	sqlite3_reset(pages);
	return rc == SEULA_OK ? visit_rows(a, into, site, v, t, &kept) : rc;
}

static int segment_due(struct analytics *a, struct segment *sg, int64_t id,
                       bool *due);
static int goal_counted(struct analytics *a, const char *site, const char *name,
                        int64_t start, bool *counted);

/* Gather an ended visit's rollup rows, its site's and those of the
 * segments it is in, and make it pending: write_pending() writes them and
 * closes it.  The caller makes sure it is not pending already, and that
 * the segments are registered (segments_ready()).  With `backfill`, the
 * visit is a closed one, and only that segment's rows are gathered, into
 * a->direct.  With a->undoing (ungather_visit()), the visit is a closed
 * one, and the rows its close and the backfills wrote are gathered into
 * a->undo. */
static int gather_visit(struct analytics *a, int64_t id,
                        struct segment *backfill)
{
	sqlite3_stmt *v = use(a, S_VISIT);
	sqlite3_bind_int64(v, 1, id);
	sqlite3_bind_int(v, 2, backfill != NULL || a->undoing);
	if (sqlite3_step(v) != SQLITE_ROW) {
		sqlite3_reset(v);
		return SEULA_OK; /* closed already (or gone) */
	}
	/* Copy what the rollup statements need: they reuse nothing of v, but
	 * v stays on its row while the loops below run. */
	char *site = strdup((const char *)sqlite3_column_text(v, 0));
	if (!site) {
		sqlite3_reset(v);
		return SEULA_ENOMEM;
	}
	struct contrib visit = {
	        .visits = 1,
	        .pageviews = sqlite3_column_int64(v, 4),
	        .events = sqlite3_column_int64(v, 5),
	        .engagement_ms = sqlite3_column_int64(v, 6),
	        .has_visitor = true,
	        .visitor = sqlite3_column_int64(v, 1),
	};
	int64_t start = sqlite3_column_int64(v, 2), t[GATHER_GRANS];
	buckets_of(start, t);
	visit.duration_ms = sqlite3_column_int64(v, 3) - start;
	visit.bounces = visit.pageviews <= 1 && visit.events == 0;
	const char *entry = (const char *)sqlite3_column_text(v, 7);

	struct gather *into = a->undoing ? a->undo
	                      : backfill ? a->direct
	                                 : a->gather;
	int rc = SEULA_OK;
	a->add_plain = !backfill;
	a->n_prefix = 0;
	/* Segments that keep pages (kept_rows()) apart, until the events. */
	const struct segment *kept[SEGMENTS_MAX];
	size_t n_kept = 0;
	for (size_t i = 0; rc == SEULA_OK && i < a->n_segs; i++) {
		struct segment *sg = &a->segs[i];
		bool in = sg == backfill;
		if (!backfill && strcmp(sg->site, site) == 0)
			rc = segment_has(sg, id, &in);
		/* A segment's backfill yet to read it has not counted it. */
		bool due = false;
		if (rc == SEULA_OK && in && a->undoing)
			rc = segment_due(a, sg, id, &due);
		in = in && !due;
		if (in && sg->pages)
			kept[n_kept++] = sg;
		else if (in)
			a->prefix[a->n_prefix++] = sg->prefix;
	}
	if (rc == SEULA_OK)
		rc = visit_rows(a, into, site, v, t, &visit);

	sqlite3_stmt *pages = use(a, S_PAGES);
	sqlite3_bind_int64(pages, 1, id);
	int step = SQLITE_DONE;
	while (rc == SEULA_OK && (step = sqlite3_step(pages)) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(pages, 0);
		struct contrib c = page_contrib(pages, &visit, entry);
		if (c.pageviews > 0)
			rc = rollup_add(a, into, site, "page", path, t, &c);
		for (size_t i = 0; path && c.pageviews > 0 && i < a->goals.n;
		     i++) {
			const struct analytics_goal *g = &a->goals.list[i];
			if (g->kind == ANALYTICS_GOAL_PAGE &&
			    strcmp(g->site, site) == 0 &&
			    sqlite3_strglob(g->pattern, path) == 0)
				a->goal_hits[i] += c.pageviews;
		}
	}
	/* A visit read in part is not a visit's sums: an error fails it. */
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	if (n_kept) {
		/* Each alone, then all with the others for the events. */
		bool plain = a->add_plain;
		size_t n = a->n_prefix;
		const char *others[SEGMENTS_MAX];
		memcpy(others, a->prefix, n * sizeof(*others));
		a->add_plain = false;
		a->n_prefix = 1;
		for (size_t i = 0; rc == SEULA_OK && i < n_kept; i++) {
			a->prefix[0] = kept[i]->prefix;
			rc = kept_rows(a, into, site, v, id, t, &visit,
			               kept[i]);
		}
		a->add_plain = plain;
		memcpy(a->prefix, others, n * sizeof(*others));
		for (size_t i = 0; i < n_kept; i++)
			a->prefix[n + i] = kept[i]->prefix;
		a->n_prefix = n + n_kept;
	}
	/* Event rows come only with the events counted (on_one()): a visit
	 * of page views alone, most of them, skips the statement, whose
	 * GROUP BY opens a sorter even for no rows. */
	sqlite3_stmt *events = use(a, S_EVENTS);
	sqlite3_bind_int64(events, 1, id);
	step = SQLITE_DONE;
	while (rc == SEULA_OK && visit.events > 0 &&
	       (step = sqlite3_step(events)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(events, 0);
		const char *prop = (const char *)sqlite3_column_text(events, 1);
		const char *value =
		        (const char *)sqlite3_column_text(events, 2);
		struct contrib c = {
		        .visits = 1,
		        .events = sqlite3_column_int64(events, 3),
		        .has_visitor = true,
		        .visitor = visit.visitor,
		};
		if (!*prop) {
			rc = rollup_add(a, into, site, "event", name, t, &c);
			for (size_t i = 0; name && i < a->goals.n; i++) {
				const struct analytics_goal *g =
				        &a->goals.list[i];
				if (g->kind == ANALYTICS_GOAL_EVENT &&
				    strcmp(g->site, site) == 0 &&
				    strcmp(g->pattern, name) == 0)
					a->goal_hits[i] += c.events;
			}
		} else {
			char dim[8 + PROP_KEY_MAX];
			snprintf(dim, sizeof(dim), "prop:%s", prop);
			rc = rollup_add(a, into, site, dim, value, t, &c);
		}
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	/* The goals it reached, counted in the two loops above. */
	for (size_t i = 0; i < a->goals.n; i++) {
		const struct analytics_goal *g = &a->goals.list[i];
		int64_t hits = a->goal_hits[i];
		a->goal_hits[i] = 0;
		if (rc != SEULA_OK || hits == 0)
			continue;
		/* A goal registered after its close did not count it. */
		bool counted = true;
		if (a->undoing)
			rc = goal_counted(a, site, g->name, start, &counted);
		if (rc != SEULA_OK || !counted)
			continue;
		struct contrib c = {
		        .visits = 1,
		        .events = hits,
		        .has_visitor = true,
		        .visitor = visit.visitor,
		};
		rc = rollup_add(a, into, site, "goal", g->name, t, &c);
	}
	sqlite3_reset(pages);
	sqlite3_reset(events);
	sqlite3_reset(v);
	a->add_plain = true;
	a->n_prefix = 0;
	if (rc == SEULA_OK && !backfill && !a->undoing)
		open_visits_remove(a->open, site, visit.visitor, id);
	free(site);
	if (backfill || a->undoing)
		return rc;
	if (rc == SEULA_OK && a->n_pending == a->cap_pending) {
		size_t cap = a->cap_pending ? 2 * a->cap_pending : 256;
		struct pending_visit *more =
		        realloc(a->pending, cap * sizeof(*more));
		if (!more)
			return SEULA_ENOMEM;
		a->pending = more;
		a->cap_pending = cap;
	}
	if (rc == SEULA_OK)
		a->pending[a->n_pending++] = (struct pending_visit){
		        id, visit.pageviews, visit.events};
	return rc;
}

/* ---- segments ----------------------------------------------------------- */

/* One statement of the writer's, prepared for this use only. */
static int one_shot(sqlite3 *db, const char *sql, sqlite3_stmt **st)
{
	return sqlite3_prepare_v2(db, sql, -1, st, NULL) == SQLITE_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

static int step_done(sqlite3_stmt *st)
{
	int step = sqlite3_step(st);
	sqlite3_reset(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* Register a new segment: it will be backfilled from the visits that have
 * ended by now (open ones get its rows when they end). */
static int segment_register(struct analytics *a, struct segment *sg)
{
	static const char *const sql[] = {
	        /* With no ended visit of the site, complete at once. */
	        "INSERT INTO analytics_segments (site, filter, max_visit, "
	        "cursor_ts, cursor_id) VALUES (?1, ?2, (SELECT "
	        "coalesce(max(id), "
	        "0) FROM analytics_visits), CASE WHEN EXISTS (SELECT 1 FROM "
	        "analytics_visits WHERE site = ?1 AND closed = 1) THEN ?3 END, "
	        "?3)",
	        "INSERT INTO analytics_segment_open (segment, visit) SELECT "
	        "?1, "
	        "id FROM analytics_visits WHERE site = ?2 AND closed = 0 AND "
	        "EXISTS (SELECT 1 FROM analytics_segments WHERE id = ?1 AND "
	        "cursor_ts IS NOT NULL)",
	};
	sqlite3_stmt *ins = NULL, *open = NULL;
	int rc = one_shot(a->wdb, sql[0], &ins);
	if (rc == SEULA_OK)
		rc = one_shot(a->wdb, sql[1], &open);
	if (rc == SEULA_OK) {
		sqlite3_bind_text(ins, 1, sg->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(ins, 2, sg->canon, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, INT64_MAX);
		rc = step_done(ins);
	}
	if (rc == SEULA_OK) {
		sg->id = sqlite3_last_insert_rowid(a->wdb);
		sqlite3_bind_int64(open, 1, sg->id);
		sqlite3_bind_text(open, 2, sg->site, -1, SQLITE_STATIC);
		rc = step_done(open);
	}
	sqlite3_finalize(ins);
	sqlite3_finalize(open);
	if (rc == SEULA_OK)
		a->host->log(a->host, SEULA_LOG_INFO,
		             "segment %s:%s registered: its reports are "
		             "pre-processed from now, older visits backfilled",
		             sg->site, sg->filter);
	return rc;
}

/* Drop a segment no longer configured: its rows and its registration. */
static int segment_drop(struct analytics *a, int64_t id, const char *site,
                        const char *filter)
{
	/* Its rows, maybe millions, go in the background (purge()): here
	 * the start would wait for them. */
	static const char *const sql[] = {
	        "INSERT OR IGNORE INTO analytics_segment_purge (id, site) "
	        "VALUES (?1, ?2)",
	        "DELETE FROM analytics_segment_open WHERE segment = ?1",
	        "DELETE FROM analytics_segments WHERE id = ?1",
	};
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < 3; i++) {
		sqlite3_stmt *st = NULL;
		rc = one_shot(a->wdb, sql[i], &st);
		if (rc == SEULA_OK) {
			sqlite3_bind_int64(st, 1, id);
			if (i == 0)
				sqlite3_bind_text(st, 2, site, -1,
				                  SQLITE_STATIC);
			rc = step_done(st);
		}
		sqlite3_finalize(st);
	}
	if (rc == SEULA_OK) {
		a->purging = true;
		a->host->log(a->host, SEULA_LOG_INFO,
		             "segment %s:%s is no longer configured: its "
		             "rollups are being deleted",
		             site, filter);
	}
	return rc;
}

/* Record the configured goals in analytics_goals: a new one, or one whose
 * definition changed, counted from now (the visits that end from now on
 * are counted with it, and all of those started from now on end from now
 * on); one no longer configured forgotten, so that configured again it
 * counts from then. */
static int goals_register(struct analytics *a)
{
	json_t *list = json_array();
	for (size_t i = 0; list && i < a->goals.n; i++) {
		char *def = analytics_goal_definition(&a->goals.list[i]);
		if (!def ||
		    json_array_append_new(
		            list, json_pack("[sss]", a->goals.list[i].site,
		                            a->goals.list[i].name, def)) != 0) {
			sqlite3_free(def);
			json_decref(list);
			return SEULA_ENOMEM;
		}
		sqlite3_free(def);
	}
	char *text = list ? json_dumps(list, JSON_COMPACT) : NULL;
	json_decref(list);
	if (!text)
		return SEULA_ENOMEM;
	sqlite3_stmt *adopt = NULL;
	int rc = one_shot(
	        a->wdb, "SELECT 1 FROM analytics_meta WHERE k = 'goals_adopt'",
	        &adopt);
	int step = rc == SEULA_OK ? sqlite3_step(adopt) : SQLITE_ERROR;
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		rc = SEULA_EIO;
	int64_t from =
	        step == SQLITE_ROW ? INT64_MIN : a->host->now_ms(a->host);
	/* ?1 the goals, ?2 their start.  "WHERE true": an upsert's SELECT
	 * would take ON for a join's. */
	static const char *const sync[] = {
	        "DELETE FROM analytics_goals WHERE (site, name) NOT IN "
	        "(SELECT value ->> 0, value ->> 1 FROM json_each(?1))",
	        "INSERT INTO analytics_goals (site, name, definition, "
	        "counted_from_ms) SELECT value ->> 0, value ->> 1, value ->> "
	        "2, ?2 FROM json_each(?1) WHERE true ON CONFLICT (site, name) "
	        "DO UPDATE SET definition = excluded.definition, "
	        "counted_from_ms = excluded.counted_from_ms WHERE definition "
	        "!= excluded.definition",
	};
	for (size_t i = 0; rc == SEULA_OK && i < 2; i++) {
		sqlite3_stmt *st = NULL;
		if ((rc = one_shot(a->wdb, sync[i], &st)) == SEULA_OK) {
			sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, from); /* none in the first */
			rc = step_done(st);
		}
		sqlite3_finalize(st);
	}
	if (rc == SEULA_OK && step == SQLITE_ROW)
		rc = exec(a, "DELETE FROM analytics_meta WHERE k = "
		             "'goals_adopt'");
	sqlite3_finalize(adopt);
	free(text);
	return rc;
}

/* goals_register(), again whenever another connection has written since
 * (data_version): an import beside the server with another config
 * registers its goals, and this process's config must be the table's
 * before this process gathers a visit.  With another config, each turn
 * moves a goal's start later, so reports read it off the visits rather
 * than from rollups one process counted it in and the other did not. */
static int goals_ready(struct analytics *a)
{
	sqlite3_stmt *st = use(a, S_DATA_VERSION);
	int64_t v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int64(st, 0)
	                                           : -1;
	sqlite3_reset(st);
	if (a->goals_ok && v == a->data_version && v >= 0)
		return SEULA_OK;
	int rc = goals_register(a);
	a->goals_ok = rc == SEULA_OK;
	a->data_version = v;
	return rc;
}

/* The goals registered (goals_ready()), and every configured segment, in
 * this transaction or an earlier one, and those no longer configured
 * dropped: before anything is gathered, so that each visit is in a
 * segment's rows once, from its close or from the backfill.  A rollback
 * may have undone a registration: then again (on_rollback()), dropping
 * what was pending, which the close task gathers again. */
static int segments_ready(struct analytics *a)
{
	int rc = goals_ready(a);
	if (rc != SEULA_OK || a->segs_ready)
		return rc;
	drop_pending(a);
	sqlite3_stmt *find = NULL, *all = NULL;
	rc = one_shot(a->wdb,
	              "SELECT id, max_visit, cursor_ts, cursor_id FROM "
	              "analytics_segments WHERE site = ?1 AND filter = ?2",
	              &find);
	for (size_t i = 0; rc == SEULA_OK && i < a->n_segs; i++) {
		struct segment *sg = &a->segs[i];
		sqlite3_reset(find);
		sqlite3_bind_text(find, 1, sg->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(find, 2, sg->canon, -1, SQLITE_STATIC);
		int step = sqlite3_step(find);
		if (step == SQLITE_DONE) {
			rc = segment_register(a, sg);
			sg->max_visit = INT64_MAX; /* read again below */
		} else if (step != SQLITE_ROW) {
			rc = SEULA_EIO;
		}
		sqlite3_reset(find);
		if (rc != SEULA_OK)
			break;
		if (sqlite3_step(find) != SQLITE_ROW) {
			rc = SEULA_EIO;
			break;
		}
		sg->id = sqlite3_column_int64(find, 0);
		sg->max_visit = sqlite3_column_int64(find, 1);
		sg->done = sqlite3_column_type(find, 2) == SQLITE_NULL;
		sg->cursor_ts = sqlite3_column_int64(find, 2);
		sg->cursor_id = sqlite3_column_int64(find, 3);
		snprintf(sg->prefix, sizeof(sg->prefix),
		         "seg:%lld:", (long long)sg->id);
	}
	sqlite3_finalize(find);
	/* Then those no longer configured, read first and dropped after:
	 * not under a running SELECT of the table. */
	if (rc == SEULA_OK)
		rc = one_shot(a->wdb,
		              "SELECT id, site, filter FROM analytics_segments",
		              &all);
	struct stale {
		int64_t id;
		char *site, *filter;
	} *stale = NULL;
	size_t n_stale = 0;
	int step = SQLITE_DONE;
	while (rc == SEULA_OK && (step = sqlite3_step(all)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(all, 0);
		bool kept = false;
		for (size_t i = 0; i < a->n_segs; i++)
			kept |= a->segs[i].id == id;
		if (kept)
			continue;
		struct stale *more =
		        realloc(stale, (n_stale + 1) * sizeof(*stale));
		if (!more) {
			rc = SEULA_ENOMEM;
			break;
		}
		stale = more;
		stale[n_stale].id = id;
		stale[n_stale].site =
		        strdup((const char *)sqlite3_column_text(all, 1));
		stale[n_stale].filter =
		        strdup((const char *)sqlite3_column_text(all, 2));
		n_stale++;
		if (!stale[n_stale - 1].site || !stale[n_stale - 1].filter)
			rc = SEULA_ENOMEM;
	}
	if (rc == SEULA_OK && step != SQLITE_DONE)
		rc = SEULA_EIO;
	sqlite3_finalize(all);
	for (size_t i = 0; i < n_stale; i++) {
		if (rc == SEULA_OK)
			rc = segment_drop(a, stale[i].id, stale[i].site,
			                  stale[i].filter);
		free(stale[i].site);
		free(stale[i].filter);
	}
	free(stale);
	if (rc == SEULA_OK)
		a->segs_ready = true;
	return rc;
}

/* The visits a segment's backfill has yet to read: ?1 its site, ?2 its
 * max_visit, (?3, ?4) its cursor, ?5 its id. */
#define BACKFILL_WHERE                                                         \
	"v.site = ?1 AND v.closed = 1 AND v.id <= ?2 AND (v.start_ts, v.id) "  \
	"< (?3, ?4) AND NOT EXISTS (SELECT 1 FROM analytics_segment_open o "   \
	"WHERE o.segment = ?5 AND o.visit = v.id)"

static void bind_backfill(sqlite3_stmt *st, const struct segment *sg)
{
	sqlite3_bind_text(st, 1, sg->site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, sg->max_visit);
	sqlite3_bind_int64(st, 3, sg->cursor_ts);
	sqlite3_bind_int64(st, 4, sg->cursor_id);
	sqlite3_bind_int64(st, 5, sg->id);
}

/* Read segment sg's backfill state again, in this transaction: another
 * process (an import beside the server) may have moved it.  *gone: it was
 * dropped meanwhile; segments_ready() registers it again. */
static int segment_reload(struct analytics *a, struct segment *sg, bool *gone)
{
	sqlite3_stmt *st = NULL;
	int rc = one_shot(a->wdb,
	                  "SELECT max_visit, cursor_ts, cursor_id FROM "
	                  "analytics_segments WHERE id = ?1",
	                  &st);
	*gone = false;
	if (rc == SEULA_OK) {
		sqlite3_bind_int64(st, 1, sg->id);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			sg->max_visit = sqlite3_column_int64(st, 0);
			sg->done = sqlite3_column_type(st, 1) == SQLITE_NULL;
			sg->cursor_ts = sqlite3_column_int64(st, 1);
			sg->cursor_id = sqlite3_column_int64(st, 2);
		} else if (step == SQLITE_DONE) {
			*gone = true;
			a->segs_ready = false;
		} else {
			rc = SEULA_EIO;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* Whether segment sg's backfill has yet to read closed visit `id` (so its
 * rows do not count it); a segment dropped meanwhile counts none. */
static int segment_due(struct analytics *a, struct segment *sg, int64_t id,
                       bool *due)
{
	bool gone = false;
	int rc = segment_reload(a, sg, &gone);
	*due = gone;
	if (rc != SEULA_OK || gone || sg->done)
		return rc;
	sqlite3_stmt *st = NULL;
	rc = one_shot(a->wdb,
	              "SELECT 1 FROM analytics_visits v WHERE v.id = ?6 "
	              "AND " BACKFILL_WHERE,
	              &st);
	if (rc == SEULA_OK) {
		bind_backfill(st, sg);
		sqlite3_bind_int64(st, 6, id);
		int step = sqlite3_step(st);
		*due = step == SQLITE_ROW;
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			rc = SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Whether goal `name` of `site`, as registered now, counted the closed
 * visit started at `start` (ms): it counts every visit started from its
 * registration on (goals_register()).  One started earlier may have ended
 * before, or after; reports read those hours off the visits, so its rows
 * there are left as they are. */
static int goal_counted(struct analytics *a, const char *site, const char *name,
                        int64_t start, bool *counted)
{
	sqlite3_stmt *st = NULL;
	int rc = one_shot(a->wdb,
	                  "SELECT counted_from_ms FROM analytics_goals WHERE "
	                  "site = ?1 AND name = ?2",
	                  &st);
	*counted = false;
	if (rc == SEULA_OK) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		*counted = step == SQLITE_ROW &&
		           start >= sqlite3_column_int64(st, 0);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			rc = SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

/* Take closed visit `id`'s share back out of the rollups, as its close
 * and the segments' backfills wrote it (gather_visit() with
 * a->undoing); an open visit has none, and nothing is done. */
static int ungather_visit(struct analytics *a, int64_t id)
{
	a->undoing = true;
	int rc = gather_visit(a, id, NULL);
	a->undoing = false;
	if (rc == SEULA_OK)
		return write_undo(a);
	gather_reset(a->undo);
	return rc;
}

/* Delete up to PURGE_BATCH rollup rows of a dropped segment: those up to
 * the PURGE_BATCH-th of its key range, an index range both times (an IN
 * of a LIMIT subquery scanned the whole range for each batch).  *more:
 * some are left. */
static int purge(struct analytics *a, bool *more)
{
	static const char *const sql[] = {
	        "SELECT id, site FROM analytics_segment_purge ORDER BY id "
	        "LIMIT 1",
	        "SELECT dim, gran, t, value FROM analytics_rollup WHERE site = "
	        "?1 AND dim >= ?2 AND dim < ?3 ORDER BY dim, gran, t, value "
	        "LIMIT 1 OFFSET ?4",
	        /* No "dim < ?3": the edge is below it, and with it SQLite
	         * bounds the scan by ?3, not by the edge. */
	        "DELETE FROM analytics_rollup WHERE site = ?1 AND dim >= ?2 "
	        "AND (dim, gran, t, value) <= (?4, ?5, ?6, ?7)",
	        "DELETE FROM analytics_rollup WHERE site = ?1 AND dim >= ?2 "
	        "AND dim < ?3",
	        "DELETE FROM analytics_segment_purge WHERE id = ?1",
	};
	enum { NEXT, EDGE, DEL, DEL_ALL, DONE, N_ };
	sqlite3_stmt *st[N_] = {0};
	*more = false;
	int rc = SEULA_OK;
	for (int i = 0; rc == SEULA_OK && i < N_; i++)
		rc = one_shot(a->wdb, sql[i], &st[i]);
	int step = rc == SEULA_OK ? sqlite3_step(st[NEXT]) : SQLITE_ERROR;
	if (rc == SEULA_OK && step == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st[NEXT], 0);
		const char *site =
		        (const char *)sqlite3_column_text(st[NEXT], 1);
		char lo[32], hi[32];
		snprintf(lo, sizeof(lo), "seg:%lld:", (long long)id);
		snprintf(hi, sizeof(hi), "seg:%lld;", (long long)id);
		for (int i = EDGE; i <= DEL_ALL; i++) {
			sqlite3_bind_text(st[i], 1, site, -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(st[i], 2, lo, -1, SQLITE_STATIC);
			sqlite3_bind_text(st[i], 3, hi, -1, SQLITE_STATIC);
		}
		sqlite3_bind_int(st[EDGE], 4, PURGE_BATCH - 1);
		step = sqlite3_step(st[EDGE]);
		bool last = step == SQLITE_DONE;
		if (step == SQLITE_ROW)
			for (int c = 0; c < 4; c++)
				sqlite3_bind_value(
				        st[DEL], 4 + c,
				        sqlite3_column_value(st[EDGE], c));
		else if (step != SQLITE_DONE)
			rc = SEULA_EIO;
		sqlite3_reset(st[EDGE]); /* the bound values are copies */
		if (rc == SEULA_OK)
			rc = step_done(st[last ? DEL_ALL : DEL]);
		if (rc == SEULA_OK && last) {
			sqlite3_bind_int64(st[DONE], 1, id);
			rc = step_done(st[DONE]);
			if (rc == SEULA_OK)
				a->host->log(a->host, SEULA_LOG_INFO,
				             "the rollups of dropped segment "
				             "%lld are deleted",
				             (long long)id);
		}
		*more = rc == SEULA_OK;
	} else if (rc == SEULA_OK && step != SQLITE_DONE) {
		rc = SEULA_EIO;
	}
	for (int i = 0; i < N_; i++)
		sqlite3_finalize(st[i]);
	return rc;
}

/* Backfill the first segment not yet complete by up to BACKFILL_BATCH of
 * its visits, newest first.  *more: some segment has more to do. */
static int backfill(struct analytics *a, bool *more)
{
	*more = false;
	struct segment *sg = NULL;
	for (size_t i = 0; !sg && i < a->n_segs; i++)
		if (!a->segs[i].done)
			sg = &a->segs[i];
	if (!sg)
		return SEULA_OK;
	bool gone = false;
	int rc = segment_reload(a, sg, &gone);
	if (rc != SEULA_OK || gone || sg->done) {
		*more = rc == SEULA_OK;
		return rc;
	}
	sqlite3_stmt *walk = NULL, *save = NULL;
	rc = one_shot(a->wdb,
	              "SELECT v.id, v.start_ts FROM analytics_visits v "
	              "WHERE " BACKFILL_WHERE " ORDER BY v.start_ts DESC, "
	              "v.id DESC LIMIT ?6",
	              &walk);
	if (rc == SEULA_OK)
		rc = one_shot(a->wdb,
		              "UPDATE analytics_segments SET cursor_ts = ?2, "
		              "cursor_id = ?3 WHERE id = ?1",
		              &save);
	int64_t *ids =
	        rc == SEULA_OK ? malloc(BACKFILL_BATCH * sizeof(*ids)) : NULL;
	if (rc == SEULA_OK && !ids)
		rc = SEULA_ENOMEM;
	size_t n = 0;
	int64_t cursor_ts = sg->cursor_ts, cursor_id = sg->cursor_id;
	if (rc == SEULA_OK) {
		bind_backfill(walk, sg);
		sqlite3_bind_int(walk, 6, BACKFILL_BATCH);
		int step;
		while ((step = sqlite3_step(walk)) == SQLITE_ROW) {
			ids[n++] = sqlite3_column_int64(walk, 0);
			cursor_ts = sqlite3_column_int64(walk, 1);
			cursor_id = ids[n - 1];
		}
		if (step != SQLITE_DONE)
			rc = SEULA_EIO;
	}
	for (size_t i = 0; rc == SEULA_OK && i < n; i++) {
		bool in = false;
		rc = segment_has(sg, ids[i], &in);
		if (rc == SEULA_OK && in)
			rc = gather_visit(a, ids[i], sg);
	}
	bool done = rc == SEULA_OK && n < BACKFILL_BATCH;
	if (rc == SEULA_OK) {
		sqlite3_bind_int64(save, 1, sg->id);
		if (done)
			sqlite3_bind_null(save, 2);
		else
			sqlite3_bind_int64(save, 2, cursor_ts);
		sqlite3_bind_int64(save, 3, cursor_id);
		rc = step_done(save);
	}
	if (rc == SEULA_OK && done) {
		sqlite3_stmt *clear = NULL;
		rc = one_shot(
		        a->wdb,
		        "DELETE FROM analytics_segment_open WHERE segment "
		        "= ?1",
		        &clear);
		if (rc == SEULA_OK) {
			sqlite3_bind_int64(clear, 1, sg->id);
			rc = step_done(clear);
		}
		sqlite3_finalize(clear);
	}
	free(ids);
	sqlite3_finalize(walk);
	sqlite3_finalize(save);
	/* Kept in memory only once written: a rollback reads them again. */
	if (rc == SEULA_OK) {
		sg->cursor_ts = cursor_ts;
		sg->cursor_id = cursor_id;
		sg->done = done;
		if (done)
			a->host->log(a->host, SEULA_LOG_INFO,
			             "segment %s:%s backfilled", sg->site,
			             sg->filter);
	}
	for (size_t i = 0; rc == SEULA_OK && i < a->n_segs; i++)
		*more |= !a->segs[i].done;
	return rc;
}

/* ---- events ------------------------------------------------------------- */

static const char *or_none(const char *s, const char *none)
{
	return s && *s ? s : none;
}

static const char *screen_class(const struct seula_host *h,
                                const struct seula_event *ev)
{
	int64_t w;
	if (h->event_int(ev, SEULA_FIELD_SCREEN_WIDTH, &w) != SEULA_OK)
		return "(none)";
	/* Plausible's classes, which users of its dashboards know. */
	if (w < 576)
		return "Mobile";
	if (w < 992)
		return "Tablet";
	if (w < 1440)
		return "Laptop";
	return "Desktop";
}

/* The host of a referrer URL, without "www.", into buf. */
static const char *referrer_host(const char *url, char *buf, size_t len)
{
	const char *p = url ? strstr(url, "://") : NULL;
	if (!p)
		return NULL;
	p += 3;
	if (strncmp(p, "www.", 4) == 0)
		p += 4;
	size_t n = strcspn(p, "/:?#");
	if (n == 0 || n >= len)
		return NULL;
	memcpy(buf, p, n);
	buf[n] = '\0';
	return buf;
}

static int blocks_rc(int rc)
{
	return rc == SQLITE_OK      ? SEULA_OK
	       : rc == SQLITE_NOMEM ? SEULA_ENOMEM
	                            : SEULA_EIO;
}

/* A visit of `site` starts at `start_ms` (new, or earlier than it did):
 * if its day has its block, it has it no more.  Asked every time, not
 * only for old starts: that would trust the clock and the importer's
 * visit_timeout to be the server's.  The day asked last in this hook is
 * not asked again, so live traffic asks about once a batch. */
static int block_touch(struct analytics *a, const char *site, int64_t start_ms)
{
	int64_t day = seula_floor_div(start_ms, DAY_MS);
	if (day == a->dirty_day && strcmp(site, a->dirty_site) == 0)
		return SEULA_OK;
	int rc = analytics_blocks_invalidate(a->blocks, site, day);
	if (rc == SQLITE_OK && strlen(site) < sizeof(a->dirty_site)) {
		memcpy(a->dirty_site, site, strlen(site) + 1);
		a->dirty_day = day;
	}
	return blocks_rc(rc);
}

/* What the event that begins a visit gives it: its entry page and where
 * it came from, bound to st as ?from (page), ?from + 1 (source), +2
 * (referrer), +3 (channel) and +4... (utm_source to utm_content).  A
 * custom event gives no entry page, as in Plausible: "(none)" until the
 * visit's first page view (S_TOUCH). */
static void bind_beginning(const struct seula_host *h,
                           const struct seula_event *ev, sqlite3_stmt *st,
                           int from, bool pageview)
{
	const char *path =
	        pageview ? or_none(h->event_str(ev, SEULA_FIELD_PATH), "/")
	                 : "(none)";
	const char *channel = h->event_str(ev, SEULA_FIELD_REFERRER_SOURCE);
	const char *name = h->event_str(ev, SEULA_FIELD_REFERRER_NAME);
	const char *ref = h->event_str(ev, SEULA_FIELD_REFERRER);
	char host[256];
	const char *source = "Direct / None";
	if (!channel || (strcmp(channel, "direct") != 0 &&
	                 strcmp(channel, "internal") != 0)) {
		if (name && *name)
			source = name;
		else if (referrer_host(ref, host, sizeof(host)))
			source = host;
	}
	bind_text(st, from, path);
	bind_text(st, from + 1, source); /* copied: host[] goes */
	bind_text(st, from + 2, or_none(ref, "(none)"));
	bind_text(st, from + 3, or_none(channel, "direct"));
	static const enum seula_field utm[] = {
	        SEULA_FIELD_UTM_SOURCE, SEULA_FIELD_UTM_MEDIUM,
	        SEULA_FIELD_UTM_CAMPAIGN, SEULA_FIELD_UTM_TERM,
	        SEULA_FIELD_UTM_CONTENT};
	for (int i = 0; i < (int)(sizeof(utm) / sizeof(utm[0])); i++)
		bind_text(st, from + 4 + i,
		          or_none(h->event_str(ev, utm[i]), "(none)"));
}

static int start_visit(struct analytics *a, const struct seula_event *ev,
                       const char *site, int64_t visitor, int64_t ts,
                       bool pageview, int64_t *id)
{
	const struct seula_host *h = a->host;
	sqlite3_stmt *st = use(a, S_NEW);
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, visitor);
	sqlite3_bind_int64(st, 3, ts);
	sqlite3_bind_int(st, 4, pageview);
	sqlite3_bind_int(st, 5, !pageview);
	bind_beginning(h, ev, st, 6, pageview);
	static const enum seula_field rest[] = {
	        SEULA_FIELD_COUNTRY, SEULA_FIELD_REGION, SEULA_FIELD_CITY,
	        SEULA_FIELD_BROWSER, SEULA_FIELD_OS,     SEULA_FIELD_DEVICE};
	for (int i = 0; i < (int)(sizeof(rest) / sizeof(rest[0])); i++)
		bind_text(st, 15 + i,
		          or_none(h->event_str(ev, rest[i]), "(none)"));
	bind_text(st, 21, screen_class(h, ev));
	bind_text(st, 22,
	          or_none(h->event_str(ev, SEULA_FIELD_LANGUAGE), "(none)"));
	int64_t now = h->now_ms(h);
	sqlite3_bind_int64(st, 23, now);
	if (run(st) != SEULA_OK)
		return SEULA_EIO;
	*id = sqlite3_last_insert_rowid(a->wdb);
	if (ts < now - a->cfg->visitor_retention_s * 1000) {
		st = use(a, S_FORGET_FROM);
		sqlite3_bind_int64(st, 1, ts);
		if (run(st) != SEULA_OK)
			return SEULA_EIO;
	}
	return block_touch(a, site, ts);
}

/* The custom event's properties: scalar values of its JSON object. */
/* Drop a UTF-8 sequence cut off at the end of `s` (snprintf cuts bytes),
 * so a value stays text: reports send values as JSON. */
static void utf8_cut(char *s)
{
	size_t n = strlen(s), lead = n;
	while (lead > 0 && ((unsigned char)s[lead - 1] & 0xC0) == 0x80)
		lead--;
	if (lead == 0)
		return;
	unsigned char c = (unsigned char)s[lead - 1];
	size_t want = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
	if (n - (lead - 1) < want)
		s[lead - 1] = '\0';
}

static int add_event_rows(struct analytics *a, int64_t visit, const char *name,
                          const char *props)
{
	sqlite3_stmt *st = use(a, S_EVENT);
	sqlite3_bind_int64(st, 1, visit);
	sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, "", -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 4, "", -1, SQLITE_STATIC);
	if (run(st) != SEULA_OK)
		return SEULA_EIO;
	if (!props)
		return SEULA_OK;
	json_t *obj = json_loads(props, 0, NULL);
	if (!json_is_object(obj)) {
		json_decref(obj);
		return SEULA_OK;
	}
	const char *key;
	json_t *val;
	int n = 0, rc = SEULA_OK;
	json_object_foreach(obj, key, val)
	{
		if (n >= PROPS_MAX || rc != SEULA_OK)
			break;
		char text[PROP_VALUE_MAX + 1];
		if (json_is_string(val))
			snprintf(text, sizeof(text), "%s",
			         json_string_value(val));
		else if (json_is_integer(val))
			snprintf(text, sizeof(text), "%" JSON_INTEGER_FORMAT,
			         json_integer_value(val));
		else if (json_is_real(val))
			snprintf(text, sizeof(text), "%g",
			         json_real_value(val));
		else if (json_is_boolean(val))
			snprintf(text, sizeof(text), "%s",
			         json_is_true(val) ? "true" : "false");
		else
			continue;
		if (!*key || strlen(key) > PROP_KEY_MAX)
			continue;
		utf8_cut(text);
		n++;
		st = use(a, S_EVENT);
		sqlite3_bind_int64(st, 1, visit);
		sqlite3_bind_text(st, 2, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, key, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, text, -1, SQLITE_TRANSIENT);
		rc = run(st);
	}
	json_decref(obj);
	return rc;
}

static int64_t visitor_key(const struct analytics *a, const char *site,
                           size_t site_len, char kind, const void *part,
                           size_t len)
{
	return analytics_visitor_key(a->key, site, site_len, kind, part, len);
}

/* The visitor: the consented visitor id, else the cookieless hash; false
 * when the event has neither.  *cookieless: the id was used and the event
 * has a hash too, in hash[] (its key is computed only if it is needed: a
 * visitor who has just consented). */
static bool visitor_of(const struct analytics *a, const struct seula_event *ev,
                       const char *site, int64_t *out, bool *cookieless,
                       unsigned char hash[8])
{
	const struct seula_host *h = a->host;
	*cookieless = false;
	size_t sl = strlen(site);
	if (sl + 2 + 64 > ANALYTICS_VISITOR_KEY_IN)
		return false;
	const char *id = h->event_str(ev, SEULA_FIELD_VISITOR_ID);
	int64_t v;
	bool has_hash =
	        h->event_int(ev, SEULA_FIELD_VISITOR_HASH, &v) == SEULA_OK;
	if (has_hash)
		analytics_visitor_hash_bytes(v, hash);
	if (id && strlen(id) <= 64) {
		*out = visitor_key(a, site, sl, 'i', id, strlen(id));
		*cookieless = has_hash;
		return true;
	}
	if (!has_hash)
		return false;
	*out = visitor_key(a, site, sl, 'h', hash, 8);
	return true;
}

/* Whether URL `page` (a consent record's: scheme, host, path) is on
 * `path`; either NULL: no. */
static bool same_page(const char *page, const char *path)
{
	const char *host = page ? strstr(page, "://") : NULL;
	const char *p = host ? strchr(host + 3, '/') : NULL;
	return p && path && strcmp(p, path) == 0;
}

/* A visitor with an id and no open visit by it, who was counted
 * cookieless a moment ago: consent came during the visit.  The visit goes
 * on under the id (one visit, not a bounce and a second visit); the
 * cookieless key is not kept with it.  Only when the id's consent was
 * given after that visit began, on the page the visit is on: a returning
 * visitor's id never takes over a visit another person, with the same
 * browser behind the same masked address, is making cookieless, nor does
 * a new one given on another page (that person's visit would be linked
 * to the consenting one, and given out in their access export).  *out:
 * the visit, or NULL when there is none to adopt. */
static int adopt(struct analytics *a, const char *site, const char *id,
                 int64_t visitor, const unsigned char hash[8], int64_t ts,
                 struct open_visit **out)
{
	*out = NULL;
	int64_t hash_key = visitor_key(a, site, strlen(site), 'h', hash, 8);
	struct open_visit *ov = open_visits_find(a->open, site, hash_key);
	if (!ov || ts - ov->last_ms > a->cfg->visit_timeout_s * 1000)
		return SEULA_OK;
	struct open_visit v = *ov;
	sqlite3_stmt *st = use(a, S_CONSENTED);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, v.id);
	int step = sqlite3_step(st);
	bool during = step == SQLITE_ROW &&
	              sqlite3_column_int64(st, 0) >= v.start_ms &&
	              same_page((const char *)sqlite3_column_text(st, 1),
	                        (const char *)sqlite3_column_text(st, 2));
	sqlite3_reset(st);
	if (step != SQLITE_ROW && step != SQLITE_DONE)
		return SEULA_EIO;
	if (!during)
		return SEULA_OK;
	st = use(a, S_ADOPT);
	sqlite3_bind_int64(st, 1, v.id);
	sqlite3_bind_int64(st, 2, visitor);
	if (run(st) != SEULA_OK)
		return SEULA_EIO;
	open_visits_remove(a->open, site, hash_key, v.id);
	/* Not open in the table after all (openvisits.h): a new visit. */
	if (sqlite3_changes(a->wdb) != 1)
		return SEULA_OK;
	if (open_visits_put(a->open, site, visitor, &v) != SEULA_OK)
		return SEULA_ENOMEM;
	*out = open_visits_find(a->open, site, visitor);
	return SEULA_OK;
}

static int on_one(struct analytics *a, const struct seula_event *ev)
{
	const struct seula_host *h = a->host;
	int64_t type = 0, ts = 0, bot = 0;
	h->event_int(ev, SEULA_FIELD_TYPE, &type);
	if (h->event_int(ev, SEULA_FIELD_TIME_MS, &ts) != SEULA_OK)
		ts = h->now_ms(h);
	h->event_int(ev, SEULA_FIELD_BOT, &bot);
	const char *site = h->event_str(ev, SEULA_FIELD_SITE);
	if (!site)
		return SEULA_OK;
	if (bot) {
		if (type != SEULA_EVENT_PAGEVIEW)
			return SEULA_OK;
		struct contrib c = {.bots = 1};
		int64_t t[GATHER_GRANS];
		buckets_of(ts, t);
		return rollup_add(a, a->direct, site, "", "", t, &c);
	}
	const char *path = h->event_str(ev, SEULA_FIELD_PATH);
	int64_t visitor;
	unsigned char hash[8];
	bool cookieless;
	bool known = visitor_of(a, ev, site, &visitor, &cookieless, hash);
	if (!known) {
		/* Nothing to join it with: a visit of its own, by a visitor
		 * counted once. */
		a->host->random_bytes(a->host, &visitor, sizeof(visitor));
	}

	int64_t visit = 0, last = 0, start = 0;
	struct open_visit *ov =
	        known ? open_visits_find(a->open, site, visitor) : NULL;
	if (!ov && cookieless &&
	    adopt(a, site, h->event_str(ev, SEULA_FIELD_VISITOR_ID), visitor,
	          hash, ts, &ov) != SEULA_OK)
		return SEULA_EIO;
	if (ov) {
		visit = ov->id;
		last = ov->last_ms;
		start = ov->start_ms;
	}
	int64_t timeout_ms = a->cfg->visit_timeout_s * 1000;
	/* An event a timeout or more before the visit began (a log read out
	 * of order) is not its beginning either. */
	bool open =
	        visit && ts - last <= timeout_ms && start - ts <= timeout_ms;

	if (type == SEULA_EVENT_ENGAGEMENT) {
		int64_t ms = 0;
		if (!open || !path ||
		    h->event_int(ev, SEULA_FIELD_ENGAGEMENT_MS, &ms) !=
		            SEULA_OK ||
		    ms <= 0)
			return SEULA_OK;
		sqlite3_stmt *st = use(a, S_ENGAGE);
		sqlite3_bind_int64(st, 1, visit);
		sqlite3_bind_text(st, 2, path, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, ms);
		if (run(st) != SEULA_OK)
			return SEULA_EIO;
		if (sqlite3_changes(a->wdb) == 0)
			return SEULA_OK;
		st = use(a, S_ENGAGE_VISIT);
		sqlite3_bind_int64(st, 1, visit);
		sqlite3_bind_int64(st, 2, ms);
		return run(st);
	}
	if (type != SEULA_EVENT_PAGEVIEW && type != SEULA_EVENT_CUSTOM)
		return SEULA_OK;
	bool pageview = type == SEULA_EVENT_PAGEVIEW;
	/* The visitor's last visit has ended.  Live, the close task adds it
	 * to the rollups with the others of its 30 s, one write per rollup
	 * row (until then it counts as open: reports are right either way);
	 * an old event (an imported log, with the tasks held) ends it here,
	 * so the open ones stay few. */
	if (visit && !open &&
	    ts < h->now_ms(h) - a->cfg->visit_timeout_s * 1000) {
		/* Written before the hook returns: the close task's place
		 * says nothing of this one. */
		a->must_write = true;
		int rc = settle(gather_visit(a, visit, NULL));
		if (rc != SEULA_OK)
			return rc;
	}
	if (open) {
		sqlite3_stmt *st = use(a, S_TOUCH);
		sqlite3_bind_int64(st, 1, visit);
		sqlite3_bind_int64(st, 2, ts);
		if (pageview)
			bind_text(st, 3, or_none(path, "/"));
		sqlite3_bind_int(st, 4, pageview);
		sqlite3_bind_int(st, 5, !pageview);
		sqlite3_bind_int64(st, 6, h->now_ms(h));
		if (run(st) != SEULA_OK)
			return SEULA_EIO;
		/* Not open in the table after all (ended elsewhere, by
		 * another process): a new visit, as for an unknown one. */
		open = sqlite3_changes(a->wdb) == 1;
	}
	if (!open) {
		struct open_visit nv = {.start_ms = ts, .last_ms = ts};
		if (start_visit(a, ev, site, visitor, ts, pageview, &nv.id) !=
		    SEULA_OK)
			return SEULA_EIO;
		visit = nv.id;
		if (known &&
		    open_visits_put(a->open, site, visitor, &nv) != SEULA_OK)
			return SEULA_ENOMEM;
	} else {
		if (ts > ov->last_ms)
			ov->last_ms = ts;
		if (ts < start) { /* out of order: rare */
			ov->start_ms = ts;
			sqlite3_stmt *st =
			        use(a, pageview ? S_EARLIER : S_EARLIER_START);
			sqlite3_bind_int64(st, 1, visit);
			sqlite3_bind_int64(st, 2, ts);
			if (pageview)
				bind_beginning(h, ev, st, 3, true);
			if (run(st) != SEULA_OK ||
			    block_touch(a, site, ts) != SEULA_OK)
				return SEULA_EIO;
		}
	}
	if (pageview) {
		sqlite3_stmt *st = use(a, S_PAGE);
		sqlite3_bind_int64(st, 1, visit);
		sqlite3_bind_text(st, 2, or_none(path, "/"), -1, SQLITE_STATIC);
		return run(st);
	}
	const char *name = h->event_str(ev, SEULA_FIELD_NAME);
	return add_event_rows(a, visit, or_none(name, "(none)"),
	                      h->event_str(ev, SEULA_FIELD_PROPS));
}

static int on_batch(void *instance, sqlite3 *db,
                    struct seula_event *const *events, size_t n_events,
                    char **errmsg)
{
	struct analytics *a = instance;
	int rc = prepare_gather(a, db, errmsg);
	if (rc == SEULA_OK)
		rc = open_ready(a);
	if (rc == SEULA_OK)
		rc = segments_ready(a);
	a->dirty_site[0] = '\0'; /* a block built since is dirtied again */
	for (size_t i = 0; rc == SEULA_OK && i < n_events; i++)
		rc = on_one(a, events[i]);
	rc = end_hook(a, rc);
	if (rc != SEULA_OK && !*errmsg)
		*errmsg = a->host->mprintf("analytics: %s", sqlite3_errmsg(db));
	return rc;
}

/* ---- the close task ----------------------------------------------------- */

/* The first site after `after` with an open visit, in *out (malloc'd;
 * NULL: none). */
static int next_site(struct analytics *a, const char *after, char **out)
{
	*out = NULL;
	sqlite3_stmt *st = use(a, S_NEXT_SITE);
	sqlite3_bind_text(st, 1, after, -1, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st) == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
	const char *site = (const char *)sqlite3_column_text(st, 0);
	if (rc == SEULA_OK && site && !(*out = strdup(site)))
		rc = SEULA_ENOMEM;
	sqlite3_reset(st);
	return rc;
}

static int close_task(void *instance, sqlite3 *db, int64_t now_ms,
                      char **errmsg)
{
	struct analytics *a = instance;
	int rc = prepare_gather(a, db, errmsg);
	if (rc == SEULA_OK)
		rc = segments_ready(a);
	if (rc != SEULA_OK) {
		if (!*errmsg)
			*errmsg = a->host->mprintf("segments: %s",
			                           sqlite3_errmsg(db));
		return rc;
	}
	int64_t cutoff = now_ms - a->cfg->visit_timeout_s * 1000;
	/* Untouched a while too (a live visit is: its last event was a
	 * timeout ago), so an import beside us has left it. */
	int64_t quiet = now_ms - (a->cfg->visit_timeout_s * 1000 < QUIET_MS
	                                  ? a->cfg->visit_timeout_s * 1000
	                                  : QUIET_MS);
	int64_t *ids = malloc(CLOSE_BATCH * sizeof(*ids));
	if (!ids)
		return SEULA_ENOMEM;
	size_t n = 0;
	if (!a->due_site)
		rc = next_site(a, "", &a->due_site);
	while (rc == SEULA_OK && a->due_site && n < CLOSE_BATCH) {
		sqlite3_stmt *st = use(a, S_DUE);
		sqlite3_bind_int64(st, 1, cutoff);
		sqlite3_bind_int(st, 2, (int)(CLOSE_BATCH - n));
		sqlite3_bind_int64(st, 3, a->due_start);
		sqlite3_bind_int64(st, 4, a->due_id);
		sqlite3_bind_text(st, 5, a->due_site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 6, quiet);
		int step = SQLITE_DONE;
		while (n < CLOSE_BATCH &&
		       (step = sqlite3_step(st)) == SQLITE_ROW) {
			ids[n++] = sqlite3_column_int64(st, 0);
			a->due_start = sqlite3_column_int64(st, 1);
			a->due_id = ids[n - 1];
		}
		sqlite3_reset(st);
		if (n < CLOSE_BATCH && step != SQLITE_DONE)
			rc = SEULA_EIO;
		if (rc != SEULA_OK || n == CLOSE_BATCH)
			break;
		/* This site's ended visits are all taken: the next site's,
		 * or, with none, the place stays after this site's last. */
		char *next = NULL;
		rc = next_site(a, a->due_site, &next);
		if (!next)
			break;
		free(a->due_site);
		a->due_site = next;
		a->due_start = INT64_MIN;
		a->due_id = 0;
	}
	if (n && a->n_pending == 0)
		a->pending_since = now_ms;
	for (size_t i = 0; rc == SEULA_OK && i < n; i++) {
		rc = gather_visit(a, ids[i], NULL);
		if (rc == SEULA_OK && a->must_write)
			rc = write_pending(a);
	}
	free(ids);
	rc = settle(rc); /* dropped: the next run starts again */
	if (rc == SEULA_OK && n)
		a->host->log(a->host, SEULA_LOG_DEBUG,
		             "%zu ended visits gathered, %zu waiting for the "
		             "rollups",
		             n, a->n_pending);
	/* Written together: a busy day's rows once per rollup_delay, not
	 * once a run.  The first run after a start writes at once, as does
	 * one that has gathered too many to hold, or after the clock went
	 * back. */
	int64_t waited = now_ms - a->pending_since;
	if (rc == SEULA_OK && a->n_pending &&
	    (!a->close_ran || a->n_pending >= PENDING_MAX || waited < 0 ||
	     waited >= a->cfg->rollup_delay_s * 1000))
		rc = settle(write_pending(a));
	rc = end_hook(a, rc);
	if (rc != SEULA_OK)
		*errmsg = a->host->mprintf("closing visits: %s",
		                           sqlite3_errmsg(db));
	else
		a->close_ran = true;
	/* A full batch: maybe more have ended; again after the queued
	 * batches, so a backlog does not grow while the writer waits. */
	return rc == SEULA_OK && n == CLOSE_BATCH ? SEULA_TASK_MORE : rc;
}

/* Cut the link between old visits and their visitor: the keyed hash is
 * pseudonymous, so it is kept only for visitor_retention.  Each run covers
 * the visits started since the last run's cutoff (kept in analytics_meta),
 * so an hourly run touches an hour of visits; the cutoff stops at the
 * oldest visit not yet closed (open, or waiting for the rollups), which
 * keeps its visitor until it is. */
static int forget_task(void *instance, sqlite3 *db, int64_t now_ms,
                       char **errmsg)
{
	struct analytics *a = instance;
	int64_t cutoff = now_ms - a->cfg->visitor_retention_s * 1000;
	if (prepare(a, db, errmsg) != SEULA_OK)
		return SEULA_EIO;
	enum { MARK, SITE, OLDEST, FORGET, SET_MARK, N_ };
	static const char *const sql[N_] = {
	        [MARK] = "SELECT coalesce((SELECT v FROM analytics_meta WHERE "
	                 "k = 'forgotten_before'), 0)",
	        /* Site by site: each a probe of analytics_visits_time. */
	        [SITE] = "SELECT min(site) FROM analytics_visits WHERE site > "
	                 "?1",
	        [OLDEST] = "SELECT min(start_ts) FROM analytics_visits WHERE "
	                   "site = ?1 AND closed = 0",
	        [FORGET] =
	                "UPDATE analytics_visits SET visitor = id WHERE site "
	                "= ?1 AND start_ts >= ?2 AND start_ts < ?3 AND "
	                "closed = 1 AND visitor <> id",
	        [SET_MARK] = "INSERT INTO analytics_meta (k, v) VALUES "
	                     "('forgotten_before', ?1) ON CONFLICT DO UPDATE "
	                     "SET v = max(v, excluded.v)",
	};
	sqlite3_stmt *st[N_] = {0};
	int rc = SEULA_OK;
	for (int i = 0; rc == SEULA_OK && i < N_; i++)
		if (sqlite3_prepare_v2(db, sql[i], -1, &st[i], NULL) !=
		    SQLITE_OK)
			rc = SEULA_EIO;
	int64_t from = 0, mark = cutoff, forgotten = 0;
	if (rc == SEULA_OK)
		rc = sqlite3_step(st[MARK]) == SQLITE_ROW ? SEULA_OK
		                                          : SEULA_EIO;
	if (rc == SEULA_OK)
		from = sqlite3_column_int64(st[MARK], 0);
	char *site = NULL;
	while (rc == SEULA_OK) {
		sqlite3_reset(st[SITE]);
		sqlite3_bind_text(st[SITE], 1, site ? site : "", -1,
		                  SQLITE_TRANSIENT);
		if (sqlite3_step(st[SITE]) != SQLITE_ROW) {
			rc = SEULA_EIO;
			break;
		}
		const char *next =
		        (const char *)sqlite3_column_text(st[SITE], 0);
		if (!next)
			break;
		free(site);
		if (!(site = strdup(next))) {
			rc = SEULA_ENOMEM;
			break;
		}
		/* The mark stops at the oldest visit not yet closed (open, or
		 * waiting for the rollups): it keeps its visitor until it is,
		 * and the next run looks at it again. */
		sqlite3_reset(st[OLDEST]);
		sqlite3_bind_text(st[OLDEST], 1, site, -1, SQLITE_STATIC);
		if (sqlite3_step(st[OLDEST]) != SQLITE_ROW) {
			rc = SEULA_EIO;
			break;
		}
		if (sqlite3_column_type(st[OLDEST], 0) != SQLITE_NULL &&
		    sqlite3_column_int64(st[OLDEST], 0) < mark)
			mark = sqlite3_column_int64(st[OLDEST], 0);
		sqlite3_reset(st[FORGET]);
		sqlite3_bind_text(st[FORGET], 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st[FORGET], 2, from);
		sqlite3_bind_int64(st[FORGET], 3, cutoff);
		if (sqlite3_step(st[FORGET]) != SQLITE_DONE) {
			rc = SEULA_EIO;
			break;
		}
		int changed = sqlite3_changes(db);
		forgotten += changed;
		/* The blocks of those days held the visitors too. */
		if (changed)
			rc = blocks_rc(analytics_blocks_invalidate_days(
			        a->blocks, site, seula_floor_div(from, DAY_MS),
			        seula_floor_div(cutoff - 1, DAY_MS) + 1));
	}
	free(site);
	if (rc == SEULA_OK) {
		sqlite3_bind_int64(st[SET_MARK], 1, mark);
		if (sqlite3_step(st[SET_MARK]) != SQLITE_DONE)
			rc = SEULA_EIO;
	}
	if (rc != SEULA_OK)
		*errmsg = a->host->mprintf("forgetting visitors: %s",
		                           rc == SEULA_ENOMEM
		                                   ? "out of memory"
		                                   : sqlite3_errmsg(db));
	for (int i = 0; i < N_; i++)
		sqlite3_finalize(st[i]);
	if (rc == SEULA_OK && forgotten > 0)
		a->host->log(
		        a->host, SEULA_LOG_INFO,
		        "%lld visits older than visitor_retention no longer "
		        "linked to their visitor",
		        (long long)forgotten);
	return rc;
}

static int64_t monotonic_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Registers the segments and backfills them, a batch a run, again between
 * the collect path's batches while there is more (SEULA_TASK_MORE), up to
 * BACKFILL_BUDGET_MS a second. */
static int segments_task(void *instance, sqlite3 *db, int64_t now_ms,
                         char **errmsg)
{
	(void)now_ms;
	struct analytics *a = instance;
	if (a->n_segs == 0 && a->segs_ready && !a->purging)
		return SEULA_OK;
	int rc = prepare_gather(a, db, errmsg);
	if (rc != SEULA_OK)
		return rc;
	bool more = false;
	int64_t t0 = monotonic_ms();
	if (t0 - a->backfill_window >= 1000) {
		a->backfill_window = t0;
		a->backfill_used = 0;
	}
	rc = segments_ready(a);
	/* Both, each a bounded batch: a segment whose filter was edited is
	 * a new one to backfill while the old one's rows go. */
	bool purging = false;
	if (rc == SEULA_OK && a->purging)
		rc = purge(a, &purging);
	a->purging = purging || rc != SEULA_OK; /* after an error, again */
	if (rc == SEULA_OK)
		rc = backfill(a, &more);
	more |= purging;
	rc = end_hook(a, rc);
	a->backfill_used += monotonic_ms() - t0;
	if (rc != SEULA_OK) {
		*errmsg = a->host->mprintf("segments: %s",
		                           rc == SEULA_ENOMEM
		                                   ? "out of memory"
		                                   : sqlite3_errmsg(db));
		return rc;
	}
	/* Past the budget, the next run is the next second's. */
	return more && a->backfill_used < BACKFILL_BUDGET_MS ? SEULA_TASK_MORE
	                                                     : SEULA_OK;
}

/* Builds the blocks of the days that are due, BLOCK_RUN_MS a run, again
 * between the collect path's batches while there are more, up to
 * BLOCK_BUDGET_MS a second. */
static int blocks_task(void *instance, sqlite3 *db, int64_t now_ms,
                       char **errmsg)
{
	struct analytics *a = instance;
	int rc = prepare(a, db, errmsg);
	if (rc != SEULA_OK)
		return rc;
	int64_t t0 = monotonic_ms();
	if (t0 - a->blocks_window >= 1000) {
		a->blocks_window = t0;
		a->blocks_used = 0;
	}
	bool built = true;
	size_t n = 0;
	int src = SQLITE_OK;
	int64_t margin = a->cfg->visit_timeout_s * 1000 + BLOCK_MARGIN_MS;
	while (src == SQLITE_OK && built &&
	       monotonic_ms() - t0 < BLOCK_RUN_MS) {
		src = analytics_blocks_build_next(a->blocks, now_ms, margin,
		                                  &built);
		n += built;
	}
	a->blocks_used += monotonic_ms() - t0;
	if (src != SQLITE_OK) {
		*errmsg = a->host->mprintf(
		        "blocks: %s", src == SQLITE_NOMEM ? "out of memory"
		                                          : sqlite3_errmsg(db));
		return blocks_rc(src);
	}
	if (n)
		a->host->log(a->host, SEULA_LOG_DEBUG,
		             "%zu days of blocks built", n);
	return built && a->blocks_used < BLOCK_BUDGET_MS ? SEULA_TASK_MORE
	                                                 : SEULA_OK;
}

/* Add the hour rows of [merged_to, end) to their days and months, and
 * move merged_to to end: hours that ended a visit timeout ago, so nearly
 * all their visits are in, a week of them a run at most.  What is still
 * pending is written first: it was gathered for the hours' rows alone.  A
 * visit of a merged hour that ends later is added to all three buckets as
 * it is gathered.  Not a start task: it moves merged_to, which a process
 * beside (an import) may have gathered by. */
static int merge_task(void *instance, sqlite3 *db, int64_t now_ms,
                      char **errmsg)
{
	struct analytics *a = instance;
	int rc = prepare_gather(a, db, errmsg);
	/* After a rollback, what is pending was gathered in it: dropped
	 * here, as the other gathering hooks drop it, not written. */
	if (rc == SEULA_OK && (rc = segments_ready(a)) != SEULA_OK && !*errmsg)
		*errmsg = a->host->mprintf("segments: %s", sqlite3_errmsg(db));
	if (rc != SEULA_OK)
		return rc;
	int64_t ready = now_ms / 1000 - a->cfg->visit_timeout_s;
	ready -= (ready % 3600 + 3600) % 3600;
	if (a->merged_to == INT64_MAX || a->merged_to >= ready)
		return SEULA_OK;
	int64_t end = ready - a->merged_to > MERGE_MAX_S
	                      ? a->merged_to + MERGE_MAX_S
	                      : ready;
	rc = settle(write_pending(a));
	char *site = strdup(""), *dim = strdup("");
	if (!site || !dim)
		rc = SEULA_ENOMEM;
	while (rc == SEULA_OK) {
		sqlite3_stmt *st = use(a, S_NEXT_DIM);
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, dim, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		if (step != SQLITE_ROW) {
			rc = step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
			break;
		}
		char *ns = strdup((const char *)sqlite3_column_text(st, 0));
		char *nd = strdup((const char *)sqlite3_column_text(st, 1));
		sqlite3_reset(st);
		free(site);
		free(dim);
		site = ns, dim = nd;
		if (!site || !dim) {
			rc = SEULA_ENOMEM;
			break;
		}
		for (int gran = 1; rc == SEULA_OK && gran < GATHER_GRANS;
		     gran++) {
			st = use(a, S_MERGE);
			sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, dim, -1, SQLITE_STATIC);
			sqlite3_bind_int64(st, 3, a->merged_to);
			sqlite3_bind_int64(st, 4, end);
			sqlite3_bind_int(st, 5, gran);
			rc = run(st);
		}
	}
	free(site);
	free(dim);
	if (rc == SEULA_OK) {
		sqlite3_stmt *st = use(a, S_SET_MERGED);
		sqlite3_bind_int64(st, 1, end);
		rc = run(st);
	}
	if (rc != SEULA_OK) {
		if (!*errmsg)
			*errmsg = a->host->mprintf("merging hours: %s",
			                           sqlite3_errmsg(db));
		return rc;
	}
	a->host->log(a->host, SEULA_LOG_DEBUG,
	             "hours to %lld added to their days and months",
	             (long long)end);
	a->merged_to = end;
	return end < ready ? SEULA_TASK_MORE : SEULA_OK;
}

/* How long after a change the cache is swept at every run: a report that
 * read deleted blocks in an older snapshot may put them back, and no
 * report takes this long. */
#define RESWEEP_MS (60 * 1000)

/* The block cache's rows another process deleted (an erasure, `seula
 * retention run`) forgotten: reports never read them, but erased visits'
 * values stay in memory no longer than this task's period.  A sweep reads
 * the id of every block, 2-4 ms for a year of the benchmark's: it runs
 * only for RESWEEP_MS after another connection wrote (data_version) or
 * this process dropped blocks (analytics_sweep_due()). */
static int cache_task(void *instance, sqlite3 *db, int64_t now_ms,
                      char **errmsg)
{
	(void)now_ms; /* the wall clock: monotonic_ms() for intervals */
	struct analytics *a = instance;
	if (!a->cache)
		return SEULA_OK;
	sqlite3_stmt *st = NULL;
	int64_t version = 0;
	int rc = sqlite3_prepare_v2(db, "PRAGMA data_version", -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		version = sqlite3_column_int64(st, 0);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc == SQLITE_OK &&
	    !analytics_sweep_due(&a->sweep, version,
	                         analytics_block_cache_drops(a->cache),
	                         monotonic_ms(), RESWEEP_MS))
		return SEULA_OK;
	size_t n = 0;
	if (rc == SQLITE_OK)
		rc = analytics_blocks_cache_sweep(db, a->cache, &n);
	if (rc == SQLITE_OK)
		a->sweep.swept = true;
	if (rc != SQLITE_OK) {
		*errmsg = a->host->mprintf("block cache: %s",
		                           rc == SQLITE_NOMEM
		                                   ? "out of memory"
		                                   : sqlite3_errmsg(db));
		return blocks_rc(rc);
	}
	if (n)
		a->host->log(a->host, SEULA_LOG_INFO,
		             "block cache: %zu blocks deleted elsewhere "
		             "forgotten",
		             n);
	return SEULA_OK;
}

static sqlite3 *helper_open(sqlite3 *db);

/* Up to three quarters: the reports' own blocks still fit beside the
 * warmed ones without pushing out the newest of them first. */
static size_t warm_budget(const struct analytics *a)
{
	return ((size_t)a->cfg->block_cache_mb << 20) / 4 * 3;
}

static void *warm_main(void *arg)
{
	struct analytics *a = arg;
	size_t n = 0;
	int64_t t0 = monotonic_ms();
	int rc = analytics_blocks_cache_warm(a->warm_db, a->cache,
	                                     warm_budget(a), &a->warm_stop, &n);
	int64_t ms = monotonic_ms() - t0;
	/* Then the days' sums by content group, kept with their blocks. */
	size_t sites = 0;
	char err[256] = "";
	enum analytics_status gs = ANALYTICS_OK;
	int64_t gms = 0;
	if (rc == SQLITE_OK && a->content_groups.n) {
		t0 = monotonic_ms();
		gs = analytics_sql_register(a->warm_db) == SQLITE_OK
		             ? analytics_groups_warm(
		                       a->warm_db, &a->content_groups, a->cache,
		                       &a->warm_stop, &sites, err, sizeof(err))
		             : ANALYTICS_DB_ERROR;
		gms = monotonic_ms() - t0;
	}
	sqlite3_close(a->warm_db); /* before the news of it */
	a->warm_db = NULL;
	if (rc != SQLITE_OK)
		a->host->log(a->host, SEULA_LOG_WARN,
		             "block cache: the warm-up stopped: %s",
		             rc == SQLITE_NOMEM ? "out of memory"
		                                : sqlite3_errstr(rc));
	a->host->log(a->host, SEULA_LOG_INFO,
	             "block cache: %zu blocks (%.1f MiB) read in %lld ms", n,
	             (double)analytics_block_cache_bytes(a->cache) / 1048576.0,
	             (long long)ms);
	if (gs != ANALYTICS_OK)
		a->host->log(a->host, SEULA_LOG_WARN,
		             "block cache: content groups not summed ahead: %s",
		             *err ? err : "no SQL functions");
	else if (sites)
		a->host->log(a->host, SEULA_LOG_INFO,
		             "block cache: content groups of %zu site(s) "
		             "summed by day in %lld ms",
		             sites, (long long)gms);
	atomic_store(&a->warm_done, true);
	return NULL;
}

/* The block cache filled once, after a start, in the background: its
 * first run starts the thread, a later one joins it.  Not a start task:
 * an import runs those, and has no reports to warm the cache for. */
static int warm_task(void *instance, sqlite3 *db, int64_t now_ms, char **errmsg)
{
	(void)now_ms;
	(void)errmsg;
	struct analytics *a = instance;
	if (!a->cache || !a->cfg->block_cache_warm || a->warm_joined)
		return SEULA_OK;
	if (a->warm_started) {
		if (atomic_load(&a->warm_done)) {
			pthread_join(a->warm_thread, NULL);
			a->warm_joined = true;
		}
		return SEULA_OK;
	}
	a->warm_started = true;
	a->warm_db = helper_open(db);
	if (a->warm_db &&
	    pthread_create(&a->warm_thread, NULL, warm_main, a) == 0)
		return SEULA_OK;
	/* Not an error of the task: the reports fill the cache themselves. */
	a->host->log(a->host, SEULA_LOG_WARN, "block cache: no warm-up (%s)",
	             a->warm_db ? "no thread" : "no connection");
	sqlite3_close(a->warm_db);
	a->warm_db = NULL;
	a->warm_joined = true;
	return SEULA_OK;
}

/* Close first: a visit is forgotten only once it has ended.  Every second,
 * at most CLOSE_BATCH visits a run, and runs again between the collect
 * path's batches while full ones come (SEULA_TASK_MORE), so a run holds
 * the writer briefly, and when nothing has ended it costs one index probe.
 * Runs gather; the rows are written once per rollup_delay or PENDING_MAX
 * visits, whichever comes first: under the HTTP benchmark's load (about
 * 3,000 ended visits a second, so a write every 3-4 s) that raised the
 * collect path from 0.57 to 0.71 of its rate without the plugin (medians
 * of 3 runs), and its p99 from 166 to 223 ms. */
static const struct seula_task tasks[] = {
        {"analytics-close", 1, SEULA_TASK_AT_START, close_task},
        {"analytics-forget", 3600, SEULA_TASK_AT_START, forget_task},
        {"analytics-segments", 1, SEULA_TASK_AT_START, segments_task},
        {"analytics-blocks", 1, SEULA_TASK_AT_START, blocks_task},
        {"analytics-merge", 10, 0, merge_task},
        {"analytics-cache", 5, 0, cache_task},
        {"analytics-warm", 1, 0, warm_task},
};

/* ---- routes ------------------------------------------------------------- */

/* The SQL functions, once per reader connection. */
/* A second read-only connection to the file of reader `db`, set up as it
 * is, or NULL: a report then reads on one thread. */
static sqlite3 *helper_open(sqlite3 *db)
{
	const char *path = sqlite3_db_filename(db, "main");
	sqlite3_stmt *st = NULL;
	sqlite3_int64 mmap = 0;
	if (sqlite3_prepare_v2(db, "PRAGMA mmap_size", -1, &st, NULL) ==
	            SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		mmap = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (!path || !*path)
		return NULL;
	sqlite3 *h = NULL;
	char setup[96];
	snprintf(setup, sizeof(setup),
	         "PRAGMA query_only=ON; PRAGMA mmap_size=%lld;",
	         (long long)mmap);
	if (sqlite3_open_v2(path, &h,
	                    SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX,
	                    NULL) != SQLITE_OK ||
	    sqlite3_exec(h, setup, NULL, NULL, NULL) != SQLITE_OK) {
		sqlite3_close(h);
		return NULL;
	}
	sqlite3_busy_timeout(h, 5000);
	return h;
}

/* Register the SQL functions on reader `db` at its first report; *helper
 * its helper connection. */
static int reader_ready(struct analytics *a, sqlite3 *db, sqlite3 **helper)
{
	int rc = SQLITE_OK;
	*helper = NULL;
	pthread_mutex_lock(&a->lock);
	size_t i = 0;
	while (i < a->n_readers && a->readers[i].db != db)
		i++;
	if (i == a->n_readers) {
		struct reader *more =
		        realloc(a->readers, (a->n_readers + 1) * sizeof(*more));
		if (!more) {
			rc = SQLITE_NOMEM;
		} else {
			a->readers = more;
			rc = analytics_sql_register(db);
			if (rc == SQLITE_OK)
				a->readers[a->n_readers++] = (struct reader){
				        .db = db, .helper = helper_open(db)};
		}
	}
	if (rc == SQLITE_OK)
		*helper = a->readers[i].helper;
	pthread_mutex_unlock(&a->lock);
	return rc;
}

static int reply_json(const struct seula_host *h, struct seula_http *http,
                      int status, json_t *body)
{
	char *text = json_dumps(body, JSON_COMPACT | JSON_REAL_PRECISION(10));
	if (!text)
		return SEULA_ENOMEM;
	int rc = h->http_reply(http, status, "application/json", text,
	                       strlen(text));
	free(text);
	return rc;
}

/* The Content-Disposition of a CSV report: the name it is saved as says
 * the site, the report (a breakdown's dimension) and the range, in
 * characters any file system takes; a browser prefers it to the page's
 * own download name, so a generic one made every export "report.csv". */
static void csv_disposition(const json_t *out, const char *site,
                            enum analytics_report_kind kind,
                            const struct analytics_request *rq, char *buf,
                            size_t len)
{
	static const char *const names[] = {
	        [ANALYTICS_SUMMARY] = "summary",
	        [ANALYTICS_TIMESERIES] = "timeseries",
	        [ANALYTICS_BREAKDOWN] = "breakdown",
	        [ANALYTICS_REALTIME] = "realtime",
	        [ANALYTICS_GOALS] = "goals",
	        [ANALYTICS_FUNNEL] = "funnel",
	};
	char what[160];
	if (kind == ANALYTICS_BREAKDOWN && rq->dimension)
		snprintf(what, sizeof(what), "%s", rq->dimension);
	else if (kind == ANALYTICS_FUNNEL && rq->funnel && *rq->funnel)
		snprintf(what, sizeof(what), "funnel-%s", rq->funnel);
	else if (kind == ANALYTICS_TIMESERIES)
		snprintf(what, sizeof(what), "%s-%s", names[kind],
		         rq->metric ? rq->metric : "visitors");
	else
		snprintf(what, sizeof(what), "%s", names[kind]);
	const char *from = json_string_value(json_object_get(out, "from"));
	const char *to = json_string_value(json_object_get(out, "to"));
	int n = snprintf(buf, len, "attachment; filename=\"");
	size_t start = n > 0 && (size_t)n < len ? (size_t)n : len;
	if (from && to)
		snprintf(buf + start, len - start, "%s-%s-%s-%s", site, what,
		         from, to);
	else
		snprintf(buf + start, len - start, "%s-%s", site, what);
	for (char *p = buf + start; *p; p++)
		if (!(*p >= 'a' && *p <= 'z') && !(*p >= 'A' && *p <= 'Z') &&
		    !(*p >= '0' && *p <= '9') && *p != '.' && *p != '_' &&
		    *p != '-')
			*p = '-';
	size_t used = strlen(buf);
	snprintf(buf + used, len - used, ".csv\"");
}

/* Whether a report reads custom event properties, by breakdown or
 * filter: their values (an order number, a plan) may single a person
 * out, where the other dimensions are counts over visits. */
static bool reads_props(enum analytics_report_kind kind,
                        const struct analytics_request *rq)
{
	if (kind == ANALYTICS_REALTIME) /* no filter, no breakdown */
		return false;
	if (kind == ANALYTICS_BREAKDOWN && rq->dimension &&
	    strncmp(rq->dimension, "prop:", 5) == 0)
		return true;
	return analytics_filter_reads_props(rq->filter);
}

/* The report's audit entry: what was read (the kind, the breakdown's
 * dimension, the days, the filter's conditions without their values, the
 * comparison), as action
 * "statistics", aggregates the admin's view can leave out, or "read"
 * when it reads event properties (reads_props()). */
static int audit_report(const struct seula_host *h, struct seula_http *http,
                        enum analytics_report_kind kind,
                        const struct analytics_request *rq, const json_t *out)
{
	static const char *const kinds[] = {"summary",   "timeseries",
	                                    "breakdown", "realtime",
	                                    "goals",     "funnel"};
	const json_t *cmp = json_object_get(out, "comparison");
	char filter[800]; /* 10 conditions of 69-byte keys fit */
	analytics_filter_keys(rq->filter, filter, sizeof(filter));
	char detail[1000];
	size_t n = 0;
#define ADD(...)                                                               \
	do {                                                                   \
		if (n < sizeof(detail))                                        \
			n += (size_t)snprintf(detail + n, sizeof(detail) - n,  \
			                      __VA_ARGS__);                    \
	} while (0)
	ADD("%s", kinds[kind]);
	/* A configured funnel by name; ad hoc steps name pages and events,
	 * as a breakdown's rows do, and are not personal data either. */
	if (kind == ANALYTICS_FUNNEL && rq->funnel && *rq->funnel)
		ADD(" %.64s", rq->funnel);
	else if (kind == ANALYTICS_FUNNEL)
		ADD(" of steps %.300s", or_none(rq->steps, ""));
	ADD(" of site %s", rq->site);
	if (kind == ANALYTICS_BREAKDOWN)
		ADD(" by %s", rq->dimension);
	if (kind != ANALYTICS_REALTIME) /* the last minutes, no days */
		ADD(", %s to %s",
		    or_none(json_string_value(json_object_get(out, "from")),
		            "?"),
		    or_none(json_string_value(json_object_get(out, "to")),
		            "?"));
	if (*filter)
		ADD(", filter %s", filter);
	if (cmp)
		ADD(", compared with %s...%s",
		    or_none(json_string_value(json_object_get(cmp, "from")),
		            "?"),
		    or_none(json_string_value(json_object_get(cmp, "to")),
		            "?"));
#undef ADD
	utf8_cut(detail); /* a long filter cut inside a character */
	for (char *c = detail; *c; c++) /* the log takes no control bytes */
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return h->http_audit(http,
	                     reads_props(kind, rq) ? "read" : "statistics",
	                     NULL, detail);
}

static int report_route(struct analytics *a, struct seula_http *http,
                        enum analytics_report_kind kind)
{
	const struct seula_host *h = a->host;
	sqlite3 *db = h->http_db(http), *helper;
	if (!db || reader_ready(a, db, &helper) != SQLITE_OK)
		return SEULA_EIO;
	const char *format = h->http_query(http, "format");
	if (format && strcmp(format, "json") != 0 && strcmp(format, "csv") != 0)
		return h->http_error(http, 400, "bad_format",
		                     "format is json or csv");
	const char *site = h->http_param(http, "site");
	/* A site that is not configured has no reports, rather than empty
	 * ones: a mistyped name must not look like a site without traffic. */
	if (h->site_known(h, site) == 0)
		return h->http_error(http, 404, "unknown_site",
		                     "no such site in the config");
	/* The site's own zone unless the caller asks for one. */
	const char *tz = h->http_query(http, "tz");
	if ((!tz || !*tz) && h->abi_minor >= 7)
		tz = h->site_timezone(h, site);
	struct analytics_request rq = {
	        .site = site,
	        .from = h->http_query(http, "from"),
	        .to = h->http_query(http, "to"),
	        .tz = tz,
	        .filter = h->http_query(http, "filter"),
	        .compare = h->http_query(http, "compare"),
	        .compare_from = h->http_query(http, "compare_from"),
	        .compare_to = h->http_query(http, "compare_to"),
	        .metric = h->http_query(http, "metric"),
	        .interval = h->http_query(http, "interval"),
	        .dimension = h->http_query(http, "dimension"),
	        .limit = h->http_query(http, "limit"),
	        .page = h->http_query(http, "page"),
	        .funnel = kind == ANALYTICS_FUNNEL
	                          ? h->http_query(http, "funnel")
	                          : NULL,
	        .steps = kind == ANALYTICS_FUNNEL ? h->http_query(http, "steps")
	                                          : NULL,
	        .funnels = &a->funnels,
	        .visit_timeout_s = a->cfg->visit_timeout_s,
	        .csv = format && strcmp(format, "csv") == 0,
	        .now_ms = h->now_ms(h),
	        .goals = &a->goals,
	        .content_groups = &a->content_groups,
	        .helper = helper,
	        .cache = a->cache,
	        .pool = a->pool,
	};
	/* A key reads aggregates only: property values may single a person
	 * out (reads_props()). */
	if (h->abi_minor >= 12 && h->http_api_key(http) &&
	    reads_props(kind, &rq))
		return h->http_error(http, 403, "api_key_scope",
		                     "an API key does not read custom event "
		                     "properties (they may be personal data); "
		                     "sign in for them");
	json_t *out = NULL;
	char err[256] = "";
	enum analytics_status st =
	        analytics_report(db, kind, &rq, &out, err, sizeof(err));
	if (st == ANALYTICS_BAD_REQUEST)
		return h->http_error(http, 400, "bad_request", err);
	if (st != ANALYTICS_OK) {
		h->log(h, SEULA_LOG_ERROR, "report: %s", err);
		return h->http_error(http, 500, "internal", "report failed");
	}
	int rc = audit_report(h, http, kind, &rq, out);
	if (rc != SEULA_OK) {
		json_decref(out);
		return rc;
	}
	if (format && strcmp(format, "csv") == 0) {
		char *csv = analytics_report_csv(out, kind);
		if (!csv) {
			json_decref(out);
			return SEULA_ENOMEM;
		}
		char disposition[256];
		csv_disposition(out, site, kind, &rq, disposition,
		                sizeof(disposition));
		h->http_set_header(http, "Content-Disposition", disposition);
		rc = h->http_reply(http, 200, "text/csv; charset=utf-8", csv,
		                   strlen(csv));
		free(csv);
	} else {
		rc = reply_json(h, http, 200, out);
	}
	json_decref(out);
	return rc;
}

static int summary_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_SUMMARY);
}

static int timeseries_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_TIMESERIES);
}

static int breakdown_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_BREAKDOWN);
}

static int funnel_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_FUNNEL);
}

static int realtime_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_REALTIME);
}

static int goals_route(void *instance, struct seula_http *http)
{
	return report_route(instance, http, ANALYTICS_GOALS);
}

/* Property keys listed a site at most (the dashboard's menu of them). */
#define SITE_PROPS_MAX 100

static int compare_strings(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* Each site's custom property keys, sorted, into props (site: [keys]):
 * those in its rollups (one probe of their key a property, so a site's
 * rows are not read) and those of its open visits. */
static int site_props(sqlite3 *db, const json_t *sites, json_t *props)
{
	sqlite3_stmt *next = NULL, *open = NULL;
	int rc = SEULA_OK;
	if (sqlite3_prepare_v2(db,
	                       "SELECT dim FROM analytics_rollup WHERE site = "
	                       "?1 AND dim > ?2 AND dim < 'prop;' ORDER BY dim "
	                       "LIMIT 1",
	                       -1, &next, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT DISTINCT 'prop:' || e.prop FROM "
	                       "analytics_visits v JOIN analytics_visit_events "
	                       "e ON e.visit = v.id WHERE v.site = ?1 AND "
	                       "v.closed = 0 AND e.prop != ''",
	                       -1, &open, NULL) != SQLITE_OK)
		rc = SEULA_EIO;
	size_t i;
	json_t *site;
	json_array_foreach(sites, i, site)
	{
		if (rc != SEULA_OK)
			break;
		const char *name = json_string_value(site);
		json_t *keys = json_object(); /* key: true, for the union */
		char after[8 + PROP_KEY_MAX] = "prop:";
		sqlite3_bind_text(next, 1, name, -1, SQLITE_STATIC);
		while (json_object_size(keys) < SITE_PROPS_MAX) {
			sqlite3_bind_text(next, 2, after, -1, SQLITE_TRANSIENT);
			int step = sqlite3_step(next);
			const char *dim =
			        step == SQLITE_ROW
			                ? (const char *)sqlite3_column_text(
			                          next, 0)
			                : NULL;
			bool fits = dim && strlen(dim) < sizeof(after);
			if (fits) {
				json_object_set_new(keys, dim + 5, json_true());
				memcpy(after, dim, strlen(dim) + 1);
			}
			sqlite3_reset(next);
			if (step != SQLITE_ROW && step != SQLITE_DONE)
				rc = SEULA_EIO;
			if (!fits)
				break;
		}
		sqlite3_bind_text(open, 1, name, -1, SQLITE_STATIC);
		int step = SQLITE_DONE;
		while (json_object_size(keys) < SITE_PROPS_MAX &&
		       (step = sqlite3_step(open)) == SQLITE_ROW)
			json_object_set_new(
			        keys,
			        (const char *)sqlite3_column_text(open, 0) + 5,
			        json_true());
		sqlite3_reset(open);
		if (step != SQLITE_ROW && step != SQLITE_DONE)
			rc = SEULA_EIO;
		const char *sorted[SITE_PROPS_MAX], *key;
		size_t n = 0;
		json_t *v;
		json_object_foreach(keys, key, v) sorted[n++] = key;
		qsort(sorted, n, sizeof(*sorted), compare_strings);
		json_t *list = json_array();
		for (size_t k = 0; k < n; k++)
			json_array_append_new(list, json_string(sorted[k]));
		json_decref(keys);
		json_object_set_new(props, name, list);
	}
	sqlite3_finalize(next);
	sqlite3_finalize(open);
	return rc;
}

/* The configured sites, sorted, into `sites`: from the host's list (ABI
 * 1.10), else those with visits, which is all an older host tells. */
static int configured_sites(const struct seula_host *h, sqlite3 *db,
                            json_t *sites)
{
	if (h->abi_minor >= 10) {
		size_t n = 0;
		while (h->site_id(h, n))
			n++;
		const char **ids = malloc((n ? n : 1) * sizeof(*ids));
		if (!ids)
			return SEULA_ENOMEM;
		for (size_t i = 0; i < n; i++)
			ids[i] = h->site_id(h, i);
		qsort(ids, n, sizeof(*ids), compare_strings);
		for (size_t i = 0; i < n; i++)
			json_array_append_new(sites, json_string(ids[i]));
		free(ids);
		return SEULA_OK;
	}
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT DISTINCT site FROM analytics_rollup "
	                       "WHERE dim = '' AND gran = 0 UNION SELECT "
	                       "DISTINCT site FROM analytics_visits WHERE "
	                       "closed = 0 ORDER BY 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *site = (const char *)sqlite3_column_text(st, 0);
		/* Traffic of a site since taken out of the config has no
		 * reports (report_route answers 404). */
		if (h->site_known(h, site) != 0)
			json_array_append_new(sites, json_string(site));
	}
	sqlite3_finalize(st);
	return SEULA_OK;
}

/* `v` (a new reference, taken) appended to the list of `site` in `by`. */
static void append_by_site(json_t *by, const char *site, json_t *v)
{
	json_t *list = json_object_get(by, site);
	if (!list) {
		list = json_array();
		json_object_set_new(by, site, list);
	}
	json_array_append_new(list, v);
}

static int sites_route(void *instance, struct seula_http *http)
{
	struct analytics *a = instance;
	const struct seula_host *h = a->host;
	sqlite3 *db = h->http_db(http);
	if (!db)
		return SEULA_EIO;
	json_t *sites = json_array(), *zones = json_object(),
	       *since = json_object(), *first_hour = json_object();
	int rc = configured_sites(h, db, sites);
	if (rc != SEULA_OK) {
		json_decref(sites);
		json_decref(zones);
		json_decref(since);
		json_decref(first_hour);
		return rc;
	}
	/* The UTC day of a site's first visit, for "all time": the oldest
	 * of its hours and its days (hours merged into days), each one
	 * probe of the rollups' key, and of its open visits; and its UTC
	 * hour, when an hour's row or an open visit is of that day. */
	sqlite3_stmt *first = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT min(h, d, o), CASE WHEN min(h, o) < d + 86400 THEN "
	            "min(h, o) END FROM (SELECT coalesce((SELECT min(t) FROM "
	            "analytics_rollup WHERE site = ?1 AND dim = '' AND gran = "
	            "0), 1e18) AS h, coalesce((SELECT min(t) FROM "
	            "analytics_rollup WHERE site = ?1 AND dim = '' AND gran = "
	            "1), 1e18) AS d, coalesce((SELECT min(start_ts) FROM "
	            "analytics_visits WHERE site = ?1 AND closed = 0) / "
	            "3600000 * 3600, 1e18) AS o)",
	            -1, &first, NULL) != SQLITE_OK) {
		json_decref(sites);
		json_decref(zones);
		json_decref(since);
		json_decref(first_hour);
		return SEULA_EIO;
	}
	size_t at;
	json_t *item;
	json_array_foreach(sites, at, item)
	{
		const char *site = json_string_value(item);
		const char *tz =
		        h->abi_minor >= 7 ? h->site_timezone(h, site) : NULL;
		if (tz)
			json_object_set_new(zones, site, json_string(tz));
		sqlite3_reset(first);
		sqlite3_bind_text(first, 1, site, -1, SQLITE_TRANSIENT);
		if (sqlite3_step(first) == SQLITE_ROW) {
			double t = sqlite3_column_double(first, 0);
			char day[16];
			if (t < 1e17) {
				seula_date_format(
				        seula_floor_div((int64_t)t, 86400), day,
				        sizeof(day));
				json_object_set_new(since, site,
				                    json_string(day));
			}
			/* Its hour, when an hour's row or an open visit says
			 * it (merged into days, only the UTC day is known):
			 * the first visit's day is the local day it falls on.
			 */
			if (sqlite3_column_type(first, 1) != SQLITE_NULL) {
				time_t hour =
				        (time_t)sqlite3_column_int64(first, 1);
				struct tm tm;
				char iso[32];
				if (gmtime_r(&hour, &tm) &&
				    strftime(iso, sizeof(iso),
				             "%Y-%m-%dT%H:%M:%SZ", &tm))
					json_object_set_new(first_hour, site,
					                    json_string(iso));
			}
		}
	}
	sqlite3_finalize(first);
	json_t *props = json_object();
	if (site_props(db, sites, props) != SEULA_OK) {
		json_decref(sites);
		json_decref(zones);
		json_decref(since);
		json_decref(first_hour);
		json_decref(props);
		return SEULA_EIO;
	}
	/* The configured segments of configured sites, and whether their
	 * backfill is done (then they answer over any range). */
	json_t *segs = json_object();
	sqlite3_stmt *st = NULL;
	if (a->n_segs &&
	    sqlite3_prepare_v2(db,
	                       "SELECT cursor_ts IS NULL FROM "
	                       "analytics_segments WHERE site = ?1 AND "
	                       "filter = ?2",
	                       -1, &st, NULL) != SQLITE_OK) {
		sqlite3_finalize(st);
		st = NULL; /* not migrated yet: none registered */
	}
	for (size_t i = 0; i < a->n_segs; i++) {
		const struct segment *sg = &a->segs[i];
		if (h->site_known(h, sg->site) == 0)
			continue;
		bool ready = false;
		if (st) {
			sqlite3_reset(st);
			sqlite3_bind_text(st, 1, sg->site, -1, SQLITE_STATIC);
			sqlite3_bind_text(st, 2, sg->canon, -1, SQLITE_STATIC);
			ready = sqlite3_step(st) == SQLITE_ROW &&
			        sqlite3_column_int(st, 0);
		}
		append_by_site(segs, sg->site,
		               json_pack("{s:s,s:b}", "filter", sg->filter,
		                         "ready", ready));
	}
	sqlite3_finalize(st);
	/* The configured goals' names by site: a saved link's goal== filter
	 * of a goal since removed is dropped by the dashboard, not sent. */
	json_t *goals = json_object();
	for (size_t i = 0; goals && i < a->goals.n; i++) {
		const struct analytics_goal *g = &a->goals.list[i];
		append_by_site(goals, g->site, json_string(g->name));
	}
	/* The configured content groups' names by site: the dashboard shows
	 * their tab where a site has some. */
	json_t *groups = json_object();
	for (size_t i = 0; groups && i < a->content_groups.n; i++) {
		const struct analytics_content_group *g =
		        &a->content_groups.list[i];
		append_by_site(groups, g->site, json_string(g->name));
	}
	/* The configured funnels by site, with their steps, for the
	 * dashboard's funnel panel. */
	json_t *funnels = json_object();
	for (size_t i = 0; funnels && i < a->funnels.n; i++) {
		const struct analytics_funnel *f = &a->funnels.list[i];
		json_t *steps = json_array();
		for (size_t k = 0; steps && k < f->n; k++)
			json_array_append_new(steps,
			                      json_string(f->steps[k].name));
		append_by_site(funnels, f->site,
		               json_pack("{s:s,s:o*}", "name", f->name, "steps",
		                         steps));
	}
	json_t *body = json_pack("{s:o,s:o,s:o,s:o,s:o,s:o,s:o*,s:o*,s:o*}",
	                         "sites", sites, "segments", segs, "timezones",
	                         zones, "since", since, "first_hour",
	                         first_hour, "props", props, "goals", goals,
	                         "funnels", funnels, "content_groups", groups);
	rc = reply_json(h, http, 200, body);
	json_decref(body);
	return rc;
}

#define STATS_ROLES (SEULA_ROLE_ADMIN | SEULA_ROLE_ANALYST)

static int notes_list_route(void *instance, struct seula_http *http)
{
	return analytics_notes_list(((struct analytics *)instance)->host, http);
}

static int notes_add_route(void *instance, struct seula_http *http)
{
	return analytics_notes_add(((struct analytics *)instance)->host, http);
}

static int notes_remove_route(void *instance, struct seula_http *http)
{
	return analytics_notes_remove(((struct analytics *)instance)->host,
	                              http);
}

static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/stats/sites", STATS_ROLES, SEULA_ON_READER,
         sites_route, "the configured sites"},
        {SEULA_METHOD_GET, "/api/stats/{site}/summary", STATS_ROLES,
         SEULA_ON_READER, summary_route,
         "visitors, visits, page views, bounce rate, visit duration, "
         "events"},
        {SEULA_METHOD_GET, "/api/stats/{site}/timeseries", STATS_ROLES,
         SEULA_ON_READER, timeseries_route,
         "metrics per hour, day, week or month"},
        {SEULA_METHOD_GET, "/api/stats/{site}/breakdown", STATS_ROLES,
         SEULA_ON_READER, breakdown_route, "metrics per dimension value"},
        {SEULA_METHOD_GET, "/api/stats/{site}/realtime", STATS_ROLES,
         SEULA_ON_READER, realtime_route,
         "visitors and page views of the last 5 minutes"},
        {SEULA_METHOD_GET, "/api/stats/{site}/goals", STATS_ROLES,
         SEULA_ON_READER, goals_route, "goal conversions"},
        {SEULA_METHOD_GET, "/api/stats/{site}/funnel", STATS_ROLES,
         SEULA_ON_READER, funnel_route,
         "the visits that took a funnel's steps in order (funnel=NAME or "
         "steps=page:/a>event:b), from the raw events"},
        {SEULA_METHOD_GET, "/api/stats/{site}/annotations", STATS_ROLES,
         SEULA_ON_READER, notes_list_route,
         "the site's dated notes on its statistics"},
        {SEULA_METHOD_POST, "/api/stats/{site}/annotations", STATS_ROLES,
         SEULA_ON_WRITER, notes_add_route, "add a dated note {date, text}"},
        {SEULA_METHOD_DELETE, "/api/stats/{site}/annotations/{id}", STATS_ROLES,
         SEULA_ON_WRITER, notes_remove_route, "remove a note"},
};

/* ---- data subject rights (ABI 1.3) -------------------------------------
 *
 * A person's visits are those of their linked visitor ids.  analytics_visits
 * keeps only the keyed hash of a visitor id, so the hook recomputes it per
 * site with visitor_key(), as visitor_of() does.  Access exports the visits
 * with their pages and events; erasure first ends the open ones (their counts
 * join the anonymous rollups, which stay) and then deletes them; anonymisation
 * ends them and cuts the link to the visitor, as visitor_retention does. Visits
 * already forgotten by the forget task belong to no one and are not found.
 */

static int subject_visitor_hash(const struct analytics *a, const char *site,
                                const char *id, int64_t *out)
{
	size_t sl = strlen(site), il = strlen(id);
	if (il > 64 || sl + 2 + il > ANALYTICS_VISITOR_KEY_IN)
		return SEULA_EINVAL;
	*out = visitor_key(a, site, sl, 'i', id, il);
	return SEULA_OK;
}

/* The ids of the person's visits, in *ids (malloc'd). */
static int subject_visits(struct analytics *a, sqlite3 *db,
                          const struct seula_subject *who, int64_t **ids,
                          size_t *n)
{
	*ids = NULL;
	*n = 0;
	sqlite3_stmt *sites = NULL, *find = NULL;
	size_t cap = 0;
	int rc = SEULA_EIO, step;
	if (sqlite3_prepare_v2(db, "SELECT DISTINCT site FROM analytics_visits",
	                       -1, &sites, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT id FROM analytics_visits WHERE site = "
	                       "?1 AND visitor = ?2 ORDER BY start_ts, id",
	                       -1, &find, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(sites)) == SQLITE_ROW) {
		const char *site = (const char *)sqlite3_column_text(sites, 0);
		for (size_t i = 0; i < who->n_visitor_ids; i++) {
			int64_t hash;
			if (subject_visitor_hash(a, site, who->visitor_ids[i],
			                         &hash) != SEULA_OK)
				continue;
			sqlite3_reset(find);
			sqlite3_bind_text(find, 1, site, -1, SQLITE_STATIC);
			sqlite3_bind_int64(find, 2, hash);
			while ((step = sqlite3_step(find)) == SQLITE_ROW) {
				if (*n == cap) {
					size_t more = cap ? 2 * cap : 16;
					int64_t *p = realloc(*ids,
					                     more * sizeof(*p));
					if (!p) {
						rc = SEULA_ENOMEM;
						goto out;
					}
					*ids = p;
					cap = more;
				}
				(*ids)[(*n)++] = sqlite3_column_int64(find, 0);
			}
			if (step != SQLITE_DONE)
				goto out;
		}
	}
	if (step == SQLITE_DONE)
		rc = SEULA_OK;
out:
	sqlite3_finalize(sites);
	sqlite3_finalize(find);
	if (rc != SEULA_OK) {
		free(*ids);
		*ids = NULL;
		*n = 0;
	}
	return rc;
}

/* Rows of `sql` (?1 the visit id) appended to `rows` as flat objects. */
static int subject_rows(sqlite3 *db, const char *sql, int64_t visit,
                        json_t *rows)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, visit);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *o = json_object();
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *text =
			        (const char *)sqlite3_column_text(st, i);
			json_t *v = sqlite3_column_type(st, i) == SQLITE_INTEGER
			                    ? json_integer(sqlite3_column_int64(
			                              st, i))
			                    : json_string(text);
			json_object_set_new(o, sqlite3_column_name(st, i), v);
		}
		json_array_append_new(rows, o);
	}
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

static const char visit_sql[] =
        "SELECT id AS visit, site, strftime('%Y-%m-%dT%H:%M:%SZ', start_ts / "
        "1000, 'unixepoch') AS start, strftime('%Y-%m-%dT%H:%M:%SZ', last_ts "
        "/ 1000, 'unixepoch') AS last_event, pageviews, events, "
        "engagement_ms, entry_page, exit_page, source, referrer, channel, "
        "utm_source, utm_medium, utm_campaign, utm_term, utm_content, "
        "country, region, city, browser, os, device, screen, language FROM "
        "analytics_visits WHERE id = ?1";

static int subject_access(sqlite3 *db, const int64_t *ids, size_t n, json_t *o)
{
	json_t *visits = json_array(), *pages = json_array(),
	       *events = json_array();
	json_object_set_new(o, "visits", visits);
	json_object_set_new(o, "visit_pages", pages);
	json_object_set_new(o, "visit_events", events);
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < n; i++) {
		rc = subject_rows(db, visit_sql, ids[i], visits);
		if (rc == SEULA_OK)
			rc = subject_rows(db,
			                  "SELECT visit, path, pageviews, "
			                  "engagement_ms FROM "
			                  "analytics_visit_pages WHERE visit = "
			                  "?1 ORDER BY path",
			                  ids[i], pages);
		if (rc == SEULA_OK)
			rc = subject_rows(
			        db,
			        "SELECT visit, name, prop, value, n "
			        "FROM analytics_visit_events WHERE "
			        "visit = ?1 ORDER BY name, prop, value",
			        ids[i], events);
	}
	return rc;
}

/* The day of visit `id` is no longer covered by its block. */
static int block_of_visit_changes(struct analytics *a, int64_t id)
{
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(a->wdb,
	                            "SELECT site, start_ts FROM "
	                            "analytics_visits WHERE id = ?1",
	                            -1, &st, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_int64(st, 1, id);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			rc = analytics_blocks_invalidate(
			        a->blocks,
			        (const char *)sqlite3_column_text(st, 0),
			        seula_floor_div(sqlite3_column_int64(st, 1),
			                        DAY_MS));
		else if (rc == SQLITE_DONE)
			rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return blocks_rc(rc);
}

static int subject_erase(struct analytics *a, sqlite3 *db,
                         enum seula_subject_op op, const int64_t *ids, size_t n,
                         json_t *o)
{
	static const char erase_sql[] =
	        "DELETE FROM analytics_visit_pages WHERE visit = ?1;\n"
	        "DELETE FROM analytics_visit_events WHERE visit = ?1;\n"
	        "DELETE FROM analytics_visits WHERE id = ?1";
	static const char anonymise_sql[] =
	        "UPDATE analytics_visits SET visitor = id WHERE id = ?1";
	/* None of them may be pending: written first, each is open or
	 * closed in the table, and in the rollups only if closed.  The hook
	 * runs in the route's savepoint, whose rollback fires no rollback hook:
	 * a registration made here is read again by the next hook. */
	bool was_ready = a->segs_ready;
	int rc = read_merged(a);
	if (rc == SEULA_OK)
		rc = segments_ready(a);
	if (rc == SEULA_OK)
		rc = settle(write_pending(a));
	for (size_t i = 0; rc == SEULA_OK && i < n; i++) {
		if (op == SEULA_SUBJECT_ERASE) {
			/* Erased, the visit goes from the rollups too: a
			 * value only this person sent (a property's, a page's)
			 * would otherwise stay a row.  Open, it is in none;
			 * the cache of open visits is read again below. */
			rc = ungather_visit(a, ids[i]);
		} else {
			/* Anonymised, its counts go to the rollups first, as
			 * its close would.  Written at once, so an id named
			 * twice counts once; after a drop (mid-visit),
			 * gathered again from nothing. */
			rc = gather_visit(a, ids[i], NULL);
			if (rc == SEULA_ECONFLICT)
				rc = gather_visit(a, ids[i], NULL);
			if (rc == SEULA_OK)
				rc = settle(write_pending(a));
		}
		if (rc == SEULA_OK)
			rc = block_of_visit_changes(a, ids[i]);
		const char *tail =
		        op == SEULA_SUBJECT_ERASE ? erase_sql : anonymise_sql;
		while (rc == SEULA_OK && tail && *tail) {
			sqlite3_stmt *st = NULL;
			if (sqlite3_prepare_v2(db, tail, -1, &st, &tail) !=
			    SQLITE_OK) {
				rc = SEULA_EIO;
				break;
			}
			if (!st)
				break;
			sqlite3_bind_int64(st, 1, ids[i]);
			if (sqlite3_step(st) != SQLITE_DONE)
				rc = SEULA_EIO;
			sqlite3_finalize(st);
		}
	}
	rc = end_hook(a, rc);
	if (!was_ready)
		a->segs_ready = false;
	if (op == SEULA_SUBJECT_ERASE && n)
		a->open_stale = true;
	if (rc == SEULA_OK)
		json_object_set_new(o,
		                    op == SEULA_SUBJECT_ERASE
		                            ? "visits_deleted"
		                            : "visits_unlinked",
		                    json_integer((json_int_t)n));
	return rc;
}

static int subject(void *instance, sqlite3 *db, enum seula_subject_op op,
                   const struct seula_subject *who, char **json_out,
                   char **errmsg)
{
	struct analytics *a = instance;
	/* No stored key yet: no visit was ever kept, so there is nothing of
	 * anyone (and a key made here could roll back unstored). */
	sqlite3_stmt *st = NULL;
	bool stored = false;
	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM analytics_meta WHERE k = "
	                       "'visitor_key'",
	                       -1, &st, NULL) == SQLITE_OK)
		stored = sqlite3_step(st) == SQLITE_ROW;
	sqlite3_finalize(st);
	if (!stored) {
		*json_out = a->host->mprintf("{}");
		return *json_out ? SEULA_OK : SEULA_ENOMEM;
	}
	/* Changes go through the writer's statements (gather_visit); an
	 * export only needs the key. */
	int rc = op != SEULA_SUBJECT_ACCESS ? prepare(a, db, errmsg)
	         : a->have_key              ? SEULA_OK
	                                    : load_key(a, db, errmsg);
	if (rc != SEULA_OK)
		return rc;
	int64_t *ids = NULL;
	size_t n = 0;
	json_t *o = json_object();
	rc = subject_visits(a, db, who, &ids, &n);
	if (rc == SEULA_OK)
		rc = op == SEULA_SUBJECT_ACCESS
		             ? subject_access(db, ids, n, o)
		             : subject_erase(a, db, op, ids, n, o);
	free(ids);
	char *text = rc == SEULA_OK ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (rc == SEULA_OK && text) {
		*json_out = a->host->mprintf("%s", text);
		if (!*json_out)
			rc = SEULA_ENOMEM;
	} else if (rc == SEULA_OK) {
		rc = SEULA_ENOMEM;
	} else {
		*errmsg = a->host->mprintf("visits: %s", sqlite3_errmsg(db));
	}
	free(text);
	return rc;
}

/* ---- lifecycle ---------------------------------------------------------- */

static void segments_free(struct analytics *a)
{
	for (size_t i = 0; i < a->n_segs; i++) {
		sqlite3_finalize(a->segs[i].match);
		sqlite3_finalize(a->segs[i].pages);
		free(a->segs[i].site);
		free(a->segs[i].filter);
		sqlite3_free(a->segs[i].canon);
	}
	free(a->segs);
	a->segs = NULL;
	a->n_segs = 0;
}

/* The configured segments, SITE:FILTER each, checked as the reports check
 * a filter= (the goals parsed first: a segment may name one). */
static int segments_parse(struct analytics *a, char *err, size_t errlen)
{
	size_t n = 0;
	for (const char *const *e = a->cfg->segments; e && *e; e++)
		n++;
	if (n > SEGMENTS_MAX) {
		snprintf(err, errlen, "at most %d", SEGMENTS_MAX);
		return SEULA_EINVAL;
	}
	if (n == 0)
		return SEULA_OK;
	snprintf(err, errlen, "out of memory");
	if (!(a->segs = calloc(n, sizeof(*a->segs))))
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *entry = a->cfg->segments[i];
		const char *colon = strchr(entry, ':');
		size_t sl = colon ? (size_t)(colon - entry) : 0;
		if (sl == 0 || sl > 64) {
			snprintf(err, errlen,
			         "\"%.80s\": want SITE:FILTER, the site 1 to "
			         "64 characters",
			         entry);
			return SEULA_EINVAL;
		}
		struct segment *sg = &a->segs[a->n_segs++];
		sg->site = strndup(entry, sl);
		sg->filter = strdup(colon + 1);
		if (!sg->site || !sg->filter) {
			snprintf(err, errlen, "out of memory");
			return SEULA_ENOMEM;
		}
		char why[160];
		if (analytics_filter_canon(sg->site, sg->filter, &a->goals,
		                           &a->content_groups, &sg->canon, why,
		                           sizeof(why)) != ANALYTICS_OK) {
			snprintf(err, errlen, "\"%.80s\": %s", entry, why);
			return SEULA_EINVAL;
		}
		for (size_t j = 0; j + 1 < a->n_segs; j++)
			if (strcmp(a->segs[j].site, sg->site) == 0 &&
			    strcmp(a->segs[j].canon, sg->canon) == 0) {
				snprintf(err, errlen,
				         "\"%.80s\": the same as \"%s:%s\"",
				         entry, a->segs[j].site,
				         a->segs[j].filter);
				return SEULA_EINVAL;
			}
	}
	return SEULA_OK;
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	if (sodium_init() < 0) {
		*errmsg = host->mprintf("libsodium did not initialise");
		return SEULA_EIO;
	}
	struct analytics *a = calloc(1, sizeof(*a));
	if (!a)
		return SEULA_ENOMEM;
	a->host = host;
	a->cfg = config;
	char err[256];
	if (analytics_content_groups_parse(a->cfg->content_groups,
	                                   &a->content_groups, err,
	                                   sizeof(err)) != 0) {
		*errmsg = host->mprintf("content_groups: %s", err);
		analytics_content_groups_free(&a->content_groups);
		free(a);
		return SEULA_EINVAL;
	}
	if (analytics_goals_parse(a->cfg->goals, &a->goals, err, sizeof(err)) !=
	    0) {
		*errmsg = host->mprintf("goals: %s", err);
		analytics_content_groups_free(&a->content_groups);
		free(a);
		return SEULA_EINVAL;
	}
	if (analytics_funnels_parse(a->cfg->funnels, &a->funnels, err,
	                            sizeof(err)) != 0) {
		*errmsg = host->mprintf("funnels: %s", err);
		analytics_goals_free(&a->goals);
		analytics_content_groups_free(&a->content_groups);
		free(a);
		return SEULA_EINVAL;
	}
	if (segments_parse(a, err, sizeof(err)) != SEULA_OK) {
		*errmsg = host->mprintf("segments: %s", err);
		segments_free(a);
		analytics_funnels_free(&a->funnels);
		analytics_goals_free(&a->goals);
		analytics_content_groups_free(&a->content_groups);
		free(a);
		return SEULA_EINVAL;
	}
	a->add_plain = true;
	a->purging = true; /* what an earlier run left, if anything */
	a->goal_hits =
	        calloc(a->goals.n ? a->goals.n : 1, sizeof(*a->goal_hits));
	if (a->cfg->block_cache_mb > 0) {
		a->cache = analytics_block_cache_new(
		        (size_t)a->cfg->block_cache_mb << 20);
		a->pool = analytics_groups_pool_new(
		        (size_t)a->cfg->block_cache_mb << 18);
	}
	if (!a->goal_hits || gather_new(&a->gather) != SEULA_OK ||
	    gather_new(&a->direct) != SEULA_OK ||
	    gather_new(&a->undo) != SEULA_OK ||
	    open_visits_new(&a->open) != SEULA_OK ||
	    (a->cfg->block_cache_mb > 0 && (!a->cache || !a->pool))) {
		analytics_block_cache_free(a->cache);
		analytics_groups_pool_free(a->pool);
		gather_free(a->gather);
		gather_free(a->direct);
		gather_free(a->undo);
		free(a->goal_hits);
		segments_free(a);
		analytics_funnels_free(&a->funnels);
		analytics_goals_free(&a->goals);
		analytics_content_groups_free(&a->content_groups);
		free(a);
		return SEULA_ENOMEM;
	}
	a->open_stale = true;
	a->due_start = INT64_MIN;
	a->merged_to = INT64_MAX;
	pthread_mutex_init(&a->lock, NULL);
	*instance = a;
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	struct analytics *a = instance;
	if (!a)
		return;
	if (a->warm_started && !a->warm_joined) {
		atomic_store(&a->warm_stop, true);
		pthread_join(a->warm_thread, NULL);
	}
	finalize_stmts(a);
	gather_free(a->gather);
	gather_free(a->direct);
	gather_free(a->undo);
	free(a->pending);
	free(a->due_site);
	open_visits_free(a->open);
	free(a->goal_hits);
	segments_free(a);
	analytics_funnels_free(&a->funnels);
	analytics_goals_free(&a->goals);
	analytics_content_groups_free(&a->content_groups);
	for (size_t i = 0; i < a->n_readers; i++)
		sqlite3_close(a->readers[i].helper);
	free(a->readers);
	/* After the writer's statements and every reader: none holds one. */
	analytics_block_cache_free(a->cache);
	analytics_groups_pool_free(a->pool);
	pthread_mutex_destroy(&a->lock);
	sodium_memzero(a->key, sizeof(a->key));
	free(a);
	/* ICU's caches (time zones) would otherwise be lost when the host
	 * unloads this plugin, and ICU with it; every reader has stopped. */
	u_cleanup();
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "analytics",
        .version = "1.0.0",
        .description = "visits, rollups with unique-visitor sketches, and "
                       "the /api/stats reports",
        .config_rows = config_rows,
        .config_size = sizeof(struct analytics_config),
        .migrations = migrations,
        .n_migrations = sizeof(migrations) / sizeof(migrations[0]),
        .init = init,
        .shutdown = shutdown_,
        .on_batch = on_batch,
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .tasks = tasks,
        .n_tasks = sizeof(tasks) / sizeof(tasks[0]),
        .subject = subject,
};
