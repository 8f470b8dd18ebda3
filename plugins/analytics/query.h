/*
 * query.h - the analytics reports: summary, timeseries, breakdown, realtime,
 * goals and funnels (funnel.h), over the analytics plugin's tables (see
 * analytics.c for the schema and how visits are counted).
 *
 * Compiled into the analytics plugin (the /api/stats routes) and into the
 * core binary (`seula report`), so both answer from the same code.  Every
 * function here only reads, on the connection it is given.
 *
 * Where the numbers come from: visits that have ended are counted from the
 * rollups (hour, day and month rows per dimension value, with a HyperLogLog
 * sketch of their visitors); visits still open are counted from their rows
 * in analytics_visits, so a report is current to the last event.  Filters
 * all on one visit-level column (a visit has one value of it) are answered
 * from that column's rollup rows when the report covers all visits or that
 * column, and a configured segment's filters from its own rollups (below).
 * Other filtered queries read analytics_visits (every visit, open or
 * ended), where a visit's dimensions and pages are kept; those with
 * filters all on its columns read the days its blocks cover from them
 * (blocks.h), the same visits column by column.  Visitors are counted
 * exactly from the visits (in breakdowns up to 1,024 a value) and within
 * the sketch's error (1.6%) from the rollups and past that.
 *
 * Time: a report covers whole days from..to in the time zone asked for; the
 * rollups are in UTC hours, so a zone whose offset is not a whole number of
 * hours (Asia/Kolkata) gets day boundaries at the hour before.  A visit
 * belongs to the hour it started in.
 */
#ifndef SEULA_ANALYTICS_QUERY_H
#define SEULA_ANALYTICS_QUERY_H

#include "contentgroups.h"

#include <jansson.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A goal: a custom event name, or a page path pattern (GLOB: * and ?). */
enum analytics_goal_kind { ANALYTICS_GOAL_EVENT, ANALYTICS_GOAL_PAGE };

struct analytics_goal {
	char *site;
	char *name; /* what reports show: the event name, "Visit /pattern" */
	enum analytics_goal_kind kind;
	char *pattern;
};

struct analytics_goals {
	struct analytics_goal *list;
	size_t n;
};

/* Parse config entries "SITE:event:NAME" and "SITE:page:PATTERN" into *out
 * (freed with analytics_goals_free).  On a bad entry returns -1 with a
 * message in err. */
int analytics_goals_parse(const char *const *entries,
                          struct analytics_goals *out, char *err,
                          size_t errlen);
void analytics_goals_free(struct analytics_goals *g);

/* The goal's definition as analytics_goals keeps it, "page:PATTERN" or
 * "event:NAME": sqlite3_malloc'd (the caller sqlite3_free()s it), NULL
 * when out of memory. */
char *analytics_goal_definition(const struct analytics_goal *g);

/* The plugin's config, filled by its rows ([plugin.analytics]); `seula
 * report` reads the goals from the loaded plugin's copy. */
struct analytics_config {
	int64_t visit_timeout_s;
	int64_t visitor_retention_s;
	int64_t rollup_delay_s;
	const char *const *goals;
	const char *const *segments;       /* SITE:FILTER each */
	const char *const *funnels;        /* SITE:NAME:STEP>STEP... each */
	const char *const *content_groups; /* contentgroups.h */
	int64_t block_cache_mb;
	int block_cache_warm;
};

/* A session dimension: one column of analytics_visits, and the label
 * stored when the event had no value. */
struct analytics_dim {
	const char *name;
	const char *none;
};
extern const struct analytics_dim analytics_session_dims[];
extern const size_t analytics_n_session_dims;

/* Register the plugin's SQL functions on a connection: analytics_hll_add
 * (sketch, hash), analytics_hll_union (sketch, sketch), the aggregates
 * analytics_sketch (the sketch of hashes and sketches), analytics_uniq
 * (their distinct count) and analytics_visitors (visit rows' distinct
 * visitors, counted as groups.h counts them), and analytics_bucket (t,
 * zone, interval).
 * Returns an SQLite result code. */
int analytics_sql_register(sqlite3 *db);

/* ---- segments: filters whose reports are pre-processed ----
 *
 * A site's segment is a filter the plugin is configured with ([plugin.
 * analytics] segments): every ended visit that passes it is also added to
 * rollup rows of its own, dimension "seg:ID:<dim>" (ID: its row in
 * analytics_segments), so its reports read rollups as unfiltered ones do.
 * A report whose filters are a segment's (in any order) reads them once
 * the segment's backfill of older visits has reached the report's start;
 * until then, and for any other filter, it reads analytics_visits. */

enum analytics_status {
	ANALYTICS_OK = 0,
	ANALYTICS_BAD_REQUEST = -1, /* err says what; an HTTP 400 */
	ANALYTICS_DB_ERROR = -2,    /* err says what; an HTTP 500 */
};

/* The bytes of the filter part at p (the API's filter=, "a==1;b==2"): up
 * to the next ';' that is not inside a glob bracket, so that a value can
 * hold a ';' as "x[;]y", as it holds a '|'. */
size_t analytics_filter_part_len(const char *p);

/* Whether `filter` (NULL: none) has a condition on an event property
 * ("prop:..."): a report under it reads what visitors sent, which may be
 * personal data, and is audited as a read. */
bool analytics_filter_reads_props(const char *filter);

/* `filter` (NULL: none) with each condition's value left out
 * ("country==…"), in out[cap], cut between conditions: what audit
 * entries name, which are kept for good, while a value may be personal
 * data (an email in a property). */
void analytics_filter_keys(const char *filter, char *out, size_t cap);

/* The canonical text of `filter` (the API's filter=) for `site`: its
 * parts sorted, a goal's with its kind and pattern, so two texts are the
 * same segment exactly when they are equal.  *out is sqlite3_malloc'd
 * (the caller sqlite3_free()s it).  ANALYTICS_BAD_REQUEST: not a valid
 * filter, or an empty one (err says why). */
enum analytics_status
analytics_filter_canon(const char *site, const char *filter,
                       const struct analytics_goals *goals,
                       const struct analytics_content_groups *groups,
                       char **out, char *err, size_t errlen);

/* Prepare `head` + the filter's conditions (each " AND ...") + `tail` on
 * db.  `head` selects from analytics_visits aliased v and ends inside a
 * WHERE clause; its parameters are ?1 to ?n_reserved, which the caller
 * binds (bound to 0 here), and the filter's values are bound here, copied.
 * An hour filter's hours are of zone `tz` (the statement calls
 * analytics_bucket(), analytics_sql_register()'s), the first of them from
 * `midnight` (UTC seconds, the range's first local midnight); tz NULL
 * refuses one.  NULL on error, with err set.  The caller finalizes the
 * statement. */
sqlite3_stmt *analytics_filter_prepare(
        sqlite3 *db, const char *head, int n_reserved, const char *site,
        const char *filter, const struct analytics_goals *goals,
        const struct analytics_content_groups *groups, const char *tz,
        int64_t midnight, const char *tail, char *err, size_t errlen);

/* Prepare on db the pages of a visit whose views the filter's reports
 * count: "SELECT path, pageviews, engagement_ms" of analytics_visit_pages
 * with visit ?1 (which the caller binds) and a page filter's condition for
 * each that is not negated.  *out is NULL when it has none: the reports
 * count all of a visit's pages.  The caller finalizes *out.
 * ANALYTICS_BAD_REQUEST: not a valid filter; ANALYTICS_DB_ERROR: it could
 * not be prepared (err says why for both). */
enum analytics_status
analytics_filter_pages_prepare(sqlite3 *db, const char *site,
                               const char *filter,
                               const struct analytics_goals *goals,
                               const struct analytics_content_groups *groups,
                               sqlite3_stmt **out, char *err, size_t errlen);

struct analytics_block_cache; /* blockcache.h */
struct analytics_groups_pool; /* groups.h */

enum analytics_report_kind {
	ANALYTICS_SUMMARY,
	ANALYTICS_TIMESERIES,
	ANALYTICS_BREAKDOWN,
	ANALYTICS_REALTIME,
	ANALYTICS_GOALS,
	ANALYTICS_FUNNEL, /* funnel.h */
};

struct analytics_funnels; /* funnel.h */

/* A report request: the query parameters of the HTTP API, as text (NULL:
 * absent, the default applies).  Borrowed. */
struct analytics_request {
	const char *site;
	const char *from, *to; /* YYYY-MM-DD */
	const char *tz;        /* IANA name */
	const char *filter;    /* "country==FI;device!=mobile" */
	/* "previous_period", "year_over_year" or "custom" (then
	 * compare_from and compare_to, YYYY-MM-DD, are the period). */
	const char *compare;
	const char *compare_from, *compare_to;
	const char *metric;    /* timeseries: comma list */
	const char *interval;  /* hour|day|week|month */
	const char *dimension; /* breakdown */
	const char *limit;     /* breakdown: rows a page, 1-1,000 */
	const char *page;      /* breakdown: which page of them, from 1 */
	/* funnel: one of the configured funnels (`funnels`) by name, or
	 * steps asked ad hoc, "page:/pricing>event:signup" (funnel.h) */
	const char *funnel, *steps;
	const struct analytics_funnels *funnels;
	/* funnel: the plugin's visit_timeout (seconds); 0: 30 minutes */
	int64_t visit_timeout_s;
	/* For a CSV export: a breakdown may then list up to a million rows
	 * on its one page, the whole table. */
	bool csv;
	int64_t now_ms;
	const struct analytics_goals *goals;
	/* The sites' content groups: content_group==NAME filters and the
	 * breakdown by content_group.  NULL: none. */
	const struct analytics_content_groups *content_groups;
	/* Values a breakdown of the visits sums in memory at most; past
	 * them SQL sums them (slower, spilling to disk).  0: the default,
	 * a million. */
	size_t groups_max;
	/* A second read-only connection to the same database that nothing
	 * else uses during the call: a long range's blocks are then read by
	 * two threads, each taking days as it is done with the last.  It
	 * gets a read transaction of its own, so a writer's commit between
	 * the two may show in its days only (a report racing a write).
	 * NULL: one thread. */
	sqlite3 *helper;
	/* Blocks' bytes kept from report to report (blockcache.h), shared
	 * by the threads; NULL: read from SQLite each time. */
	struct analytics_block_cache *cache;
	/* The groups' log chunks kept likewise (groups.h); NULL: none. */
	struct analytics_groups_pool *pool;
};

/* Build a report.  On success *out is a new JSON object the caller
 * json_decref()s. */
enum analytics_status analytics_report(sqlite3 *db,
                                       enum analytics_report_kind kind,
                                       const struct analytics_request *rq,
                                       json_t **out, char *err, size_t errlen);

/* The whole days' sums by content group that a breakdown by group
 * without filters keeps in `cache` (query.c's day_tag()), worked out now
 * for every site with groups in `cg`, over the days between its first
 * and last cached ones (the cache's warm-up fills it first): as Matomo
 * archives ahead, so that after a start the first such report adds them
 * up rather than summing every day first (a year's took 130-150 ms, then
 * 16-20, on the 10-million-event benchmark).  Reads on `db` (a report's
 * connection: analytics_sql_register()), one site at a time; stops
 * between sites once *stop.  A site that fails leaves the others summed;
 * the first error is returned.  *sites: those summed. */
enum analytics_status
analytics_groups_warm(sqlite3 *db, const struct analytics_content_groups *cg,
                      struct analytics_block_cache *cache,
                      const atomic_bool *stop, size_t *sites, char *err,
                      size_t errlen);

/* A report of `kind` as CSV (RFC 4180): the rows of its "results" (an
 * object is one row), a header row first, also for an empty table (a
 * breakdown's from its "dimension").  malloc'd, NUL-terminated; NULL when
 * out of memory. */
char *analytics_report_csv(const json_t *report,
                           enum analytics_report_kind kind);

#endif
