/*
 * funnel.h - funnels: ordered steps of a visit, counted from the raw
 * events.
 *
 * A funnel is 2 to 8 steps, each defined as a goal is: "page:PATTERN" (a
 * page view whose path matches the GLOB pattern, * and ?) or "event:NAME"
 * (a custom event of that name).  A visit enters step 1 when it completes
 * it; it reaches step k when it completed steps 1..k in that order: each
 * step's page view or event comes after the one that completed the step
 * before it (by time, then by the order the events were stored).  One
 * event completes one step at most, and repeats count once: a visit
 * reaches a step or does not.
 *
 * Order is what the analytics tables do not keep (analytics_visit_pages
 * and analytics_visit_events sum a visit's pages and events), so funnels
 * read the core `events` table, joined to the visit each event belongs to
 * in analytics_visits by its visitor key and time; the visits' dimensions
 * answer the filters, as in the other reports.  Hence the limit: a funnel
 * counts only the visits whose raw events are still kept (the site's
 * events_retention) and whose visitor is not yet forgotten (the plugin's
 * visitor_retention); the others of the range are counted apart
 * (analytics_funnel_counts.uncovered).  Events without a visitor id or
 * hash cannot be joined and count for no step.  Those a visit had before
 * its visitor consented during it (analytics.c: adopt()) are kept with
 * the cookieless hash while the visit answers to the id: they are joined
 * to it by when it began (funnel.c).
 */
#ifndef SEULA_ANALYTICS_FUNNEL_H
#define SEULA_ANALYTICS_FUNNEL_H

#include "query.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define ANALYTICS_FUNNEL_STEPS_MIN 2
#define ANALYTICS_FUNNEL_STEPS_MAX 8

struct analytics_funnel {
	char *site; /* NULL for one asked ad hoc */
	char *name; /* NULL for one asked ad hoc */
	/* Each step as a goal (query.h), with no site: its name is what
	 * reports show ("Visit /pricing", "signup"). */
	struct analytics_goal steps[ANALYTICS_FUNNEL_STEPS_MAX];
	size_t n;
};

struct analytics_funnels {
	struct analytics_funnel *list;
	size_t n;
};

/* Steps "page:/pricing>event:signup>page:/thanks" into *f (cleared with
 * analytics_funnel_clear(), also on error).  -1 with a message in err
 * when a step is not page:PATTERN (PATTERN starts with /) or event:NAME,
 * or there are fewer than 2 or more than 8. */
int analytics_funnel_steps_parse(const char *text, struct analytics_funnel *f,
                                 char *err, size_t errlen);
void analytics_funnel_clear(struct analytics_funnel *f);

/* Config entries "SITE:NAME:STEPS" into *out (freed with
 * analytics_funnels_free); -1 with a message in err on a bad entry. */
int analytics_funnels_parse(const char *const *entries,
                            struct analytics_funnels *out, char *err,
                            size_t errlen);
void analytics_funnels_free(struct analytics_funnels *f);

/* Site `site`'s funnel `name`, NULL when it has none of that name. */
const struct analytics_funnel *
analytics_funnel_find(const struct analytics_funnels *f, const char *site,
                      const char *name);

/* What analytics_funnel_count() counted. */
struct analytics_funnel_counts {
	/* The visits of the range (that pass the filter) the raw events
	 * cover, and their distinct visitors. */
	int64_t visits, visitors;
	/* Visits of the range they do not cover, counted for no step. */
	int64_t uncovered;
	/* From when (ms) they cover the site's visits; INT64_MAX: never
	 * (no raw event is kept). */
	int64_t covered_from_ms;
	int64_t step_visits[ANALYTICS_FUNNEL_STEPS_MAX];
	int64_t step_visitors[ANALYTICS_FUNNEL_STEPS_MAX];
};

/* Count funnel f over the visits of `site` started in [t0_ms, t1_ms) that
 * pass `filter` (already validated: the report's scope parsed it; an hour
 * of day is of zone tz, the range's first local midnight at midnight_s), made
 * with a visit timeout of timeout_s (the plugin's visit_timeout).  Reads
 * on db only, in one pass over the range's raw events.
 * ANALYTICS_BAD_REQUEST when the range holds more visits or events than a
 * funnel reads (err says so). */
enum analytics_status analytics_funnel_count(
        sqlite3 *db, const struct analytics_funnel *f, const char *site,
        const char *filter, const struct analytics_goals *goals,
        const struct analytics_content_groups *groups, const char *tz,
        int64_t midnight_s, int64_t t0_ms, int64_t t1_ms, int64_t timeout_s,
        struct analytics_funnel_counts *out, char *err, size_t errlen);

#endif
