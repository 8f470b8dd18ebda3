/*
 * query.c - the analytics reports (see query.h).
 *
 * Every report is one or two SQL statements over a union of two sources:
 * the rollup rows of ended visits, cut into the fewest hour, day and month
 * pieces that cover the range exactly, and the rows of open visits in
 * analytics_visits; with filters, analytics_visits alone, unless they are
 * a configured segment's (its own rollup rows then).  SQL does the
 * grouping, except for breakdowns and goals read from the visits, which
 * are summed here in one pass (groups.h).  Two functions registered here
 * do what SQL cannot: merge HyperLogLog sketches (analytics_uniq) and put
 * a UTC time into a local hour, day, week or month (analytics_bucket, with
 * ICU's time zones).
 */
#include "query.h"
#include "blocks.h"
#include "entries.h"
#include "funnel.h"
#include "groups.h"
#include "hll.h"
#include "urlpath.h"
#include "zone.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unicode/ustring.h>

const struct analytics_dim analytics_session_dims[] = {
        {"source", "Direct / None"},
        {"referrer", "(none)"},
        {"channel", "direct"},
        {"utm_source", "(none)"},
        {"utm_medium", "(none)"},
        {"utm_campaign", "(none)"},
        {"utm_term", "(none)"},
        {"utm_content", "(none)"},
        {"country", "(none)"},
        {"region", "(none)"},
        {"city", "(none)"},
        {"browser", "(none)"},
        {"os", "(none)"},
        {"device", "(none)"},
        {"screen", "(none)"},
        {"language", "(none)"},
};
const size_t analytics_n_session_dims =
        sizeof(analytics_session_dims) / sizeof(analytics_session_dims[0]);

#define MAX_FILTERS 10
/* Goals one goal filter may name ("A|B": either). */
#define GOAL_ALTS_MAX 64
#define MAX_DAYS 3700 /* ten years and change */
#define BREAKDOWN_MAX 1000
/* A CSV export's rows, and the deepest a page may reach: a whole table. */
#define BREAKDOWN_ALL 1000000
/* The values visits_breakdown() sums at most by default: each costs ~100
 * bytes and its key, and its visitors 16 bytes each up to a thousand, 4
 * KiB past them.  Past them a breakdown is summed by SQL, whose sorter
 * spills to a temp file. */
#define GROUPS_MAX 1000000
#define REALTIME_MS (5 * 60 * 1000)

/* ---- paths -------------------------------------------------------------- */

/* ---- goals -------------------------------------------------------------- */

char *analytics_goal_definition(const struct analytics_goal *g)
{
	return sqlite3_mprintf(
	        "%s:%s", g->kind == ANALYTICS_GOAL_PAGE ? "page" : "event",
	        g->pattern);
}

void analytics_goals_free(struct analytics_goals *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->list[i].site);
		free(g->list[i].name);
		free(g->list[i].pattern);
	}
	free(g->list);
	g->list = NULL;
	g->n = 0;
}

int analytics_goals_parse(const char *const *entries,
                          struct analytics_goals *out, char *err, size_t errlen)
{
	out->n = 0;
	if (analytics_entries_alloc(entries, sizeof(*out->list),
	                            (void **)&out->list, err, errlen) != 0)
		return -1;
	for (size_t i = 0; entries && entries[i]; i++) {
		const char *e = entries[i];
		struct analytics_entry en;
		bool split = analytics_entry_split(e, &en);
		if (!split || !*en.rest) {
			snprintf(err, errlen,
			         "\"%s\": want SITE:event:NAME or "
			         "SITE:page:PATTERN",
			         e);
			analytics_goals_free(out);
			return -1;
		}
		struct analytics_goal *g = &out->list[out->n++];
		size_t kl = en.second_len;
		if (kl == 5 && strncmp(en.second, "event", 5) == 0) {
			g->kind = ANALYTICS_GOAL_EVENT;
		} else if (kl == 4 && strncmp(en.second, "page", 4) == 0) {
			g->kind = ANALYTICS_GOAL_PAGE;
		} else {
			snprintf(err, errlen,
			         "\"%s\": the kind is event or page", e);
			analytics_goals_free(out);
			return -1;
		}
		g->site = strndup(en.site, en.site_len);
		/* A page pattern is matched against stored paths: encoded as
		 * they are, /käyttäjä/ as /k%C3%A4ytt%C3%A4j%C3%A4/.  The
		 * name keeps it as written. */
		const char *written = en.rest;
		size_t wl = strlen(written);
		g->pattern = malloc(wl * 3 + 1);
		if (g->pattern && g->kind == ANALYTICS_GOAL_PAGE)
			seula_url_encode_path(written, wl, g->pattern,
			                      wl * 3 + 1);
		else if (g->pattern)
			memcpy(g->pattern, written, wl + 1);
		if (g->site && g->pattern) {
			size_t len = wl + 7;
			g->name = malloc(len);
			if (g->name)
				snprintf(g->name, len, "%s%s",
				         g->kind == ANALYTICS_GOAL_PAGE
				                 ? "Visit "
				                 : "",
				         written);
		}
		if (!g->site || !g->pattern || !g->name) {
			snprintf(err, errlen, "out of memory");
			analytics_goals_free(out);
			return -1;
		}
		if (g->kind == ANALYTICS_GOAL_PAGE && g->pattern[0] != '/') {
			snprintf(err, errlen,
			         "\"%s\": a page pattern starts with /", e);
			analytics_goals_free(out);
			return -1;
		}
		/* Reports and analytics_goals know a goal by its name. */
		for (size_t j = 0; j + 1 < out->n; j++)
			if (strcmp(out->list[j].site, g->site) == 0 &&
			    strcmp(out->list[j].name, g->name) == 0) {
				snprintf(err, errlen,
				         "\"%s\": site %s has a goal named "
				         "\"%s\" already",
				         e, g->site, g->name);
				analytics_goals_free(out);
				return -1;
			}
	}
	return 0;
}

/* ---- calendar: common/zone.h ------------------------------------------- */

enum interval { IV_HOUR, IV_DAY, IV_WEEK, IV_MONTH, IV_HOUR_OF_DAY };

static bool interval_parse(const char *s, enum interval *iv)
{
	static const char *const names[] = {"hour", "day", "week", "month",
	                                    "hour_of_day"};
	for (int i = 0; i < 5; i++)
		if (strcmp(s, names[i]) == 0) {
			*iv = (enum interval)i;
			return true;
		}
	return false;
}

/* The label of the bucket holding UTC seconds t. */
static void bucket_label(struct seula_zone *z, int64_t t, enum interval iv,
                         char *buf, size_t len)
{
	int64_t day;
	int hour;
	seula_zone_local(z, t, &day, &hour);
	int y, m, d;
	switch (iv) {
	case IV_HOUR:
		seula_civil_from_days(day, &y, &m, &d);
		snprintf(buf, len, "%04d-%02d-%02d %02d:00", y, m, d, hour);
		return;
	case IV_DAY: seula_date_format(day, buf, len); return;
	case IV_WEEK: /* from Monday; 1970-01-01 was a Thursday */
		seula_date_format(day - ((day % 7 + 7 + 3) % 7), buf, len);
		return;
	case IV_MONTH:
		seula_civil_from_days(day, &y, &m, &d);
		snprintf(buf, len, "%04d-%02d-01", y, m);
		return;
	case IV_HOUR_OF_DAY: snprintf(buf, len, "%d", hour); return;
	}
}

/* ---- SQL functions ------------------------------------------------------ */

static void hll_add_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	const void *blob = sqlite3_value_blob(argv[0]);
	size_t len = (size_t)sqlite3_value_bytes(argv[0]);
	if (sqlite3_value_type(argv[1]) != SQLITE_INTEGER) {
		if (blob)
			sqlite3_result_blob(ctx, blob, (int)len,
			                    SQLITE_TRANSIENT);
		else
			sqlite3_result_null(ctx);
		return;
	}
	uint8_t *out;
	size_t out_len;
	if (!seula_hll_blob_add(
	            blob, blob ? len : 0,
	            seula_hll_visitor_hash(sqlite3_value_int64(argv[1])), &out,
	            &out_len)) {
		sqlite3_result_error(ctx, "analytics_hll_add: bad sketch", -1);
		return;
	}
	sqlite3_result_blob(ctx, out, (int)out_len, free);
}

/* Aggregate: the number of distinct visitors of sketches (blobs) and
 * visitor hashes (integers). */
static void uniq_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct seula_hll *h = sqlite3_aggregate_context(ctx, sizeof(*h));
	if (!h) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	switch (sqlite3_value_type(argv[0])) {
	case SQLITE_INTEGER:
		seula_hll_add_hash(h, seula_hll_visitor_hash(
		                              sqlite3_value_int64(argv[0])));
		break;
	case SQLITE_BLOB:
		if (!seula_hll_merge_blob(h, sqlite3_value_blob(argv[0]),
		                          (size_t)sqlite3_value_bytes(argv[0])))
			sqlite3_result_error(ctx, "analytics_uniq: bad sketch",
			                     -1);
		break;
	default: break;
	}
}

static void uniq_final(sqlite3_context *ctx)
{
	struct seula_hll *h = sqlite3_aggregate_context(ctx, 0);
	sqlite3_result_int64(ctx, h ? (int64_t)llround(seula_hll_count(h)) : 0);
}

/* Aggregate analytics_visitors(v): the distinct visitors of visit rows'
 * visitor hashes as a report's groups count them (groups.h: exactly up to
 * ANALYTICS_GROUP_EXACT_MAX, past it through a sketch), so a report reads
 * the same from the visits' rows as from their blocks. */
static void visitors_step(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct analytics_groups **g =
	        sqlite3_aggregate_context(ctx, sizeof(*g));
	if (!g) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (sqlite3_value_type(argv[0]) != SQLITE_INTEGER)
		return; /* as count(DISTINCT) leaves out NULLs */
	static const struct analytics_totals none;
	if ((!*g && !(*g = analytics_groups_new())) ||
	    !analytics_groups_add(*g, "", 0, sqlite3_value_int64(argv[0]),
	                          &none))
		sqlite3_result_error_nomem(ctx);
}

static void visitors_final(sqlite3_context *ctx)
{
	struct analytics_groups **g = sqlite3_aggregate_context(ctx, 0);
	if (!g || !*g) {
		sqlite3_result_int64(ctx, 0);
		return;
	}
	const struct analytics_group *one = analytics_groups_sorted(*g);
	if (one)
		sqlite3_result_int64(ctx, one[0].t.visitors);
	else
		sqlite3_result_error_nomem(ctx);
	analytics_groups_free(*g);
	*g = NULL;
}

static void result_sketch(sqlite3_context *ctx, const struct seula_hll *h)
{
	uint8_t *blob;
	size_t len;
	if (!seula_hll_to_blob(h, &blob, &len)) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	if (len == 0) { /* nothing added: no sketch */
		free(blob);
		sqlite3_result_null(ctx);
		return;
	}
	sqlite3_result_blob(ctx, blob, (int)len, free);
}

/* Aggregate: the sketch (blob) of visitor hashes and sketches; NULL when
 * there were none. */
static void sketch_final(sqlite3_context *ctx)
{
	struct seula_hll *h = sqlite3_aggregate_context(ctx, 0);
	if (!h)
		sqlite3_result_null(ctx);
	else
		result_sketch(ctx, h);
}

/* analytics_hll_union(a, b): the union of two sketches, either NULL. */
static void hll_union_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	if (sqlite3_value_type(argv[0]) != SQLITE_BLOB ||
	    sqlite3_value_type(argv[1]) != SQLITE_BLOB) {
		sqlite3_result_value(ctx,
		                     sqlite3_value_type(argv[0]) == SQLITE_BLOB
		                             ? argv[0]
		                             : argv[1]);
		return;
	}
	struct seula_hll *h = calloc(1, sizeof(*h));
	if (!h) {
		sqlite3_result_error_nomem(ctx);
		return;
	}
	for (int i = 0; i < 2; i++)
		if (!seula_hll_merge_blob(
		            h, sqlite3_value_blob(argv[i]),
		            (size_t)sqlite3_value_bytes(argv[i]))) {
			free(h);
			sqlite3_result_error(ctx,
			                     "analytics_hll_union: bad "
			                     "sketch",
			                     -1);
			return;
		}
	result_sketch(ctx, h);
	free(h);
}

static void zone_free(void *p)
{
	struct seula_zone *z = p;
	seula_zone_close(z);
	free(z);
}

/* analytics_bucket(t_seconds, tz, interval): the local bucket's label. The
 * zone is opened once per statement (auxdata on the constant argument). */
static void bucket_fn(sqlite3_context *ctx, int argc, sqlite3_value **argv)
{
	(void)argc;
	struct seula_zone *z = sqlite3_get_auxdata(ctx, 1);
	if (!z) {
		z = calloc(1, sizeof(*z));
		if (!z || !seula_zone_open(z, (const char *)sqlite3_value_text(
		                                      argv[1]))) {
			free(z);
			sqlite3_result_error(ctx, "analytics_bucket: bad zone",
			                     -1);
			return;
		}
		sqlite3_set_auxdata(ctx, 1, z, zone_free);
		z = sqlite3_get_auxdata(ctx, 1);
		if (!z) {
			sqlite3_result_error_nomem(ctx);
			return;
		}
	}
	enum interval iv;
	const char *ivs = (const char *)sqlite3_value_text(argv[2]);
	if (!ivs || !interval_parse(ivs, &iv)) {
		sqlite3_result_error(ctx, "analytics_bucket: bad interval", -1);
		return;
	}
	char label[32];
	bucket_label(z, sqlite3_value_int64(argv[0]), iv, label, sizeof(label));
	sqlite3_result_text(ctx, label, -1, SQLITE_TRANSIENT);
}

int analytics_sql_register(sqlite3 *db)
{
	int rc = sqlite3_create_function_v2(db, "analytics_hll_add", 2,
	                                    SQLITE_UTF8 | SQLITE_DETERMINISTIC,
	                                    NULL, hll_add_fn, NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(db, "analytics_uniq", 1,
		                                SQLITE_UTF8, NULL, NULL,
		                                uniq_step, uniq_final, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(
		        db, "analytics_visitors", 1, SQLITE_UTF8, NULL, NULL,
		        visitors_step, visitors_final, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(db, "analytics_sketch", 1,
		                                SQLITE_UTF8, NULL, NULL,
		                                uniq_step, sketch_final, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(
		        db, "analytics_hll_union", 2,
		        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, hll_union_fn,
		        NULL, NULL, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_create_function_v2(
		        db, "analytics_bucket", 3,
		        SQLITE_UTF8 | SQLITE_DETERMINISTIC, NULL, bucket_fn,
		        NULL, NULL, NULL);
	return rc;
}

/* ---- requests ----------------------------------------------------------- */

enum filter_kind {
	F_COLUMN, /* a column of analytics_visits */
	F_PAGE,
	F_EVENT,
	F_PROP,
	F_GOAL,
	F_HOUR, /* the hour of day a visit began, in the report's zone */
};

/* A filter's value: up to a stored URL's length (SEULA_URL_MAX in
 * core/collect.h), so any path a report shows can be filtered on. */
#define FILTER_VALUE_MAX 2048
#define FILTER_ALTS_MAX 100

struct filter {
	char dim[80];
	bool negate;
	char value[FILTER_VALUE_MAX + 1];
	/* The value's alternatives ("FI|SE": FI or SE), each NUL-ended, one
	 * after another; n_alts of them. */
	char alts[FILTER_VALUE_MAX + 1];
	size_t n_alts;
	enum filter_kind kind;
	/* F_GOAL: the goal each alternative names. */
	const struct analytics_goal *goal[GOAL_ALTS_MAX];
	/* F_HOUR: bit h for each hour h (0-23) the value names. */
	uint32_t hours;
};

/* What one report covers. */
struct scope {
	const char *site;
	int64_t from_day, to_day; /* local days, inclusive */
	int64_t t0, t1;           /* UTC seconds, hour aligned */
	/* The first local midnight (UTC seconds): t0 is before it in a zone
	 * off UTC by a half hour, and counts as from it. */
	int64_t midnight;
	struct filter filters[MAX_FILTERS];
	size_t n_filters;
	const char *tz;
	const struct analytics_goals *goals;
	const struct analytics_content_groups *content_groups;
	size_t groups_max;
	sqlite3 *helper;                     /* analytics_request's */
	struct analytics_block_cache *cache; /* analytics_request's */
	struct analytics_groups_pool *pool;  /* analytics_request's */
	/* The configured segment whose filters are these (analytics_segments;
	 * 0: none) and the start (ms) past which its rollups hold every
	 * visit: INT64_MIN once its backfill is done. */
	int64_t segment;
	int64_t segment_from_ms;
	/* Day and month rollup rows hold the visits started before it (UTC
	 * seconds, an hour; analytics.c's merged_to); INT64_MAX: all. */
	int64_t merged_to;
	/* When the rollups began counting each goal of goals->list (ms,
	 * analytics_goals: find_goals()), INT64_MAX for one not registered
	 * as configured; NULL: all always were.  Over a range that begins
	 * earlier, a goal is read off the visits (late_goals()). */
	const int64_t *goal_from_ms;
	/* goals->list holds only such goals: the visits answer them. */
	bool goals_late;
	/* A breakdown of this scope summed ahead (breakdown_pair()), which
	 * visits_breakdown() takes rather than read the visits again. */
	struct groups_stash *stash;
	/* With hour filters: whether the visits begun in each UTC hour of
	 * [t0, t1) pass them all, at (t - t0) / 3600 (hour_table()).  The
	 * report that spans the scope owns it; copies share it. */
	uint8_t *hour_ok;
};

struct groups_stash {
	const char *dim;
	struct analytics_groups *g; /* NULL once taken */
};

static bool column_dim(const char *dim)
{
	if (strcmp(dim, "entry_page") == 0 || strcmp(dim, "exit_page") == 0)
		return true;
	for (size_t i = 0; i < analytics_n_session_dims; i++)
		if (strcmp(dim, analytics_session_dims[i].name) == 0)
			return true;
	return false;
}

static const struct analytics_goal *find_goal(const struct scope *sc,
                                              const char *name)
{
	for (size_t i = 0; sc->goals && i < sc->goals->n; i++) {
		const struct analytics_goal *g = &sc->goals->list[i];
		if (strcmp(g->site, sc->site) == 0 &&
		    strcmp(g->name, name) == 0)
			return g;
	}
	return NULL;
}

/* The goal alternative `a` names: as it is, or else with the brackets
 * the README puts around a '|', ';', '*', '?' or '[' taken off ("A[|]B" is
 * the goal "A|B"), as a name holding '|' must be written. */
static const struct analytics_goal *find_goal_alt(const struct scope *sc,
                                                  const char *a)
{
	const struct analytics_goal *g = find_goal(sc, a);
	if (g || !strchr(a, '['))
		return g;
	char name[FILTER_VALUE_MAX + 1];
	size_t n = 0;
	for (size_t i = 0; a[i]; i++) {
		if (a[i] == '[' && a[i + 1] && strchr("*?[|;", a[i + 1]) &&
		    a[i + 2] == ']') {
			name[n++] = a[i + 1];
			i += 2;
		} else {
			name[n++] = a[i];
		}
	}
	name[n] = '\0';
	return find_goal(sc, name);
}

/* f->goal of each of f's alternatives ("A|B": a visit that reached A or
 * B); false, err set, when one names no goal.  A name holding '|' given
 * bare, as filters written before alternatives had it, is still that
 * goal when its parts are not all goals' names. */
static bool goal_alts(const struct scope *sc, struct filter *f, char *err,
                      size_t errlen)
{
	if (f->n_alts > GOAL_ALTS_MAX) {
		snprintf(err, errlen, "filter \"goal\": at most %d goals",
		         GOAL_ALTS_MAX);
		return false;
	}
	const char *a = f->alts;
	for (size_t k = 0; k < f->n_alts; k++, a += strlen(a) + 1) {
		if ((f->goal[k] = find_goal_alt(sc, a)))
			continue;
		if (f->n_alts > 1 && (f->goal[0] = find_goal(sc, f->value))) {
			memcpy(f->alts, f->value, strlen(f->value) + 1);
			f->n_alts = 1;
			return true;
		}
		snprintf(err, errlen, "no goal \"%.100s\"", a);
		return false;
	}
	return true;
}

/* An hour filter's hours, from its alternatives ("9|10"), into f->hours:
 * as the breakdown by hour names them, 0 to 23. */
static bool hour_alts(struct filter *f, char *err, size_t errlen)
{
	f->hours = 0;
	const char *a = f->alts;
	for (size_t k = 0; k < f->n_alts; k++, a += strlen(a) + 1) {
		size_t len = strlen(a);
		int h = len >= 1 && len <= 2 && strspn(a, "0123456789") == len
		                ? atoi(a)
		                : -1;
		if (h < 0 || h > 23) {
			snprintf(err, errlen,
			         "filter \"hour\": an hour of the day is "
			         "0 to 23, not \"%.40s\"",
			         a);
			return false;
		}
		f->hours |= UINT32_C(1) << h;
	}
	return true;
}

/* content_group==A|B: the pages of group A or B, so f's alternatives
 * become the groups' page patterns; its value keeps their names (the
 * filter's text, and the rows a breakdown by content_group shows). */
static bool group_alts(const struct scope *sc, struct filter *f, char *err,
                       size_t errlen)
{
	char alts[sizeof(f->alts)];
	size_t at = 0, n = 0;
	const char *a = f->alts;
	for (size_t k = 0; k < f->n_alts; k++, a += strlen(a) + 1) {
		const struct analytics_content_group *g =
		        analytics_content_group_find(sc->content_groups,
		                                     sc->site, a, strlen(a));
		if (!g) {
			snprintf(err, errlen,
			         "filter \"content_group==%.100s\": site %s "
			         "has no content group \"%.100s\"",
			         f->value, sc->site, a);
			return false;
		}
		n += g->n_patterns;
		if (at + g->patterns_len > sizeof(alts) ||
		    n > FILTER_ALTS_MAX) {
			snprintf(err, errlen,
			         "filter \"content_group==%.100s\": its groups "
			         "have too many patterns together",
			         f->value);
			return false;
		}
		memcpy(alts + at, g->patterns, g->patterns_len);
		at += g->patterns_len;
	}
	memcpy(f->alts, alts, at);
	f->n_alts = n;
	return true;
}

static bool valid_prop_key(const char *k)
{
	size_t n = strlen(k);
	return n > 0 && n <= 64;
}

/* Where the glob bracket expression opening at s[i] ('[') closes, or i
 * when it does not: a ']' first (after a '^') is one of its characters,
 * as in SQLite's GLOB. */
static size_t bracket_end(const char *s, size_t i)
{
	size_t j = i + 1;
	if (s[j] == '^')
		j++;
	if (s[j] == ']')
		j++;
	while (s[j] && s[j] != ']')
		j++;
	return s[j] ? j : i;
}

/* f->alts and f->n_alts from f->value: "a|b" is a or b (Plausible's
 * way); a '|' inside brackets is the character ("a[|]b" matches "a|b"),
 * so a value holding one can still be chosen.  False when one is empty
 * ("a||b", "a|") but `empty_ok`: a property's "" is a value. */
static bool split_alts(struct filter *f, bool empty_ok)
{
	size_t len = strlen(f->value);
	memcpy(f->alts, f->value, len + 1);
	f->n_alts = 1;
	for (size_t i = 0; i < len; i++)
		if (f->alts[i] == '[') {
			i = bracket_end(f->alts, i);
		} else if (f->alts[i] == '|') {
			f->alts[i] = '\0';
			f->n_alts++;
		}
	const char *a = f->alts;
	for (size_t k = 0; k < f->n_alts; k++, a += strlen(a) + 1)
		if (!*a && !empty_ok)
			return false;
	return true;
}

/* A filter's value of `len` bytes at v into out (FILTER_VALUE_MAX + 1
 * bytes), a path's encoded as stored (seula_url_encode_path()); false when that
 * no longer fits. */
static bool path_value(const char *dim, const char *v, size_t len, char *out)
{
	bool path = strcmp(dim, "page") == 0 ||
	            strcmp(dim, "entry_page") == 0 ||
	            strcmp(dim, "exit_page") == 0;
	if (path)
		return seula_url_encode_path(v, len, out, FILTER_VALUE_MAX + 1);
	if (len > FILTER_VALUE_MAX)
		return false;
	memcpy(out, v, len);
	out[len] = '\0';
	return true;
}

size_t analytics_filter_part_len(const char *p)
{
	size_t i = 0;
	for (; p[i] && p[i] != ';'; i++)
		if (p[i] == '[')
			i = bracket_end(p, i);
	return i;
}

bool analytics_filter_reads_props(const char *filter)
{
	for (const char *f = filter; f && *f;) {
		if (strncmp(f, "prop:", 5) == 0)
			return true;
		f += analytics_filter_part_len(f);
		f = *f ? f + 1 : NULL;
	}
	return false;
}

void analytics_filter_keys(const char *filter, char *out, size_t cap)
{
	size_t n = 0;
	out[0] = '\0';
	for (const char *p = filter; p && *p && n + 1 < cap;) {
		size_t len = analytics_filter_part_len(p);
		const char *end = p[len] ? p + len : NULL;
		const char *op = NULL;
		for (size_t i = 0; i + 1 < len && !op; i++)
			if ((p[i] == '=' || p[i] == '!') && p[i + 1] == '=')
				op = p + i;
		size_t keep = op ? (size_t)(op - p) + 2 : len;
		int k = snprintf(out + n, cap - n, "%s%.*s%s", n ? ";" : "",
		                 (int)keep, p, op ? "\u2026" : "");
		if (k < 0 || (size_t)k >= cap - n) {
			out[n] = '\0';
			break;
		}
		n += (size_t)k;
		p = end ? end + 1 : NULL;
	}
}

static enum analytics_status parse_filters(struct scope *sc, const char *text,
                                           char *err, size_t errlen)
{
	sc->n_filters = 0;
	if (!text || !*text)
		return ANALYTICS_OK;
	if (strlen(text) > 8192) {
		snprintf(err, errlen, "filter is longer than 8192 bytes");
		return ANALYTICS_BAD_REQUEST;
	}
	const char *p = text;
	while (*p) {
		size_t len = analytics_filter_part_len(p);
		if (len == 0) {
			p++;
			continue;
		}
		if (sc->n_filters == MAX_FILTERS) {
			snprintf(err, errlen, "at most %d filters",
			         MAX_FILTERS);
			return ANALYTICS_BAD_REQUEST;
		}
		struct filter *f = &sc->filters[sc->n_filters];
		const char *op = NULL;
		for (size_t i = 0; i + 1 < len; i++)
			if ((p[i] == '=' || p[i] == '!') && p[i + 1] == '=') {
				op = p + i;
				break;
			}
		size_t dl = op ? (size_t)(op - p) : 0;
		size_t vl = op ? len - dl - 2 : 0;
		if (!op || dl == 0 || dl >= sizeof(f->dim)) {
			snprintf(err, errlen,
			         "filter \"%.*s\": want dimension==value or "
			         "dimension!=value",
			         (int)(len > 100 ? 100 : len), p);
			return ANALYTICS_BAD_REQUEST;
		}
		memcpy(f->dim, p, dl);
		f->dim[dl] = '\0';
		if (!path_value(f->dim, op + 2, vl, f->value)) {
			snprintf(err, errlen,
			         "filter \"%.*s\": a value is at most %d bytes",
			         (int)dl, p, FILTER_VALUE_MAX);
			return ANALYTICS_BAD_REQUEST;
		}
		if (!split_alts(f, strncmp(f->dim, "prop:", 5) == 0)) {
			/* Only a property's value may be "": elsewhere one
			 * not known is "(none)", and "" matched nothing. */
			const char *why =
			        vl ? "an alternative between | is empty"
			        : strcmp(f->dim, "goal") == 0
			                ? "the value is empty (want a goal's "
			                  "name)"
			        : strcmp(f->dim, "content_group") == 0
			                ? "the value is empty (want a content "
			                  "group's name)"
			                : "the value is empty (a visit without "
			                  "one has (none))";
			snprintf(err, errlen, "filter \"%.*s\": %s", (int)dl, p,
			         why);
			return ANALYTICS_BAD_REQUEST;
		}
		/* Each is a term of one SQL expression, whose depth SQLite
		 * caps at 1,000: past it a report failed with a 500. */
		if (f->n_alts > FILTER_ALTS_MAX) {
			snprintf(err, errlen,
			         "filter \"%.*s\": at most %d alternatives",
			         (int)dl, p, FILTER_ALTS_MAX);
			return ANALYTICS_BAD_REQUEST;
		}
		f->negate = *op == '!';
		if (column_dim(f->dim)) {
			f->kind = F_COLUMN;
		} else if (strcmp(f->dim, "page") == 0) {
			f->kind = F_PAGE;
		} else if (strcmp(f->dim, "event") == 0) {
			f->kind = F_EVENT;
		} else if (strncmp(f->dim, "prop:", 5) == 0 &&
		           valid_prop_key(f->dim + 5)) {
			f->kind = F_PROP;
		} else if (strcmp(f->dim, "goal") == 0) {
			f->kind = F_GOAL;
			if (!goal_alts(sc, f, err, errlen))
				return ANALYTICS_BAD_REQUEST;
		} else if (strcmp(f->dim, "content_group") == 0) {
			f->kind = F_PAGE;
			if (!group_alts(sc, f, err, errlen))
				return ANALYTICS_BAD_REQUEST;
		} else if (strcmp(f->dim, "hour") == 0) {
			f->kind = F_HOUR;
			if (!hour_alts(f, err, errlen))
				return ANALYTICS_BAD_REQUEST;
		} else {
			snprintf(err, errlen, "cannot filter by \"%.80s\"",
			         f->dim);
			return ANALYTICS_BAD_REQUEST;
		}
		sc->n_filters++;
		p += len;
	}
	return ANALYTICS_OK;
}

/* Filter parts sort by their text, so "a==1;b==2" and "b==2;a==1" are one
 * segment. */
static int part_cmp(const void *x, const void *y)
{
	return strcmp(*(char *const *)x, *(char *const *)y);
}

/* A goal filter's canonical text: its goals' names, as however they were
 * written ("A[|]B" or a bare "A|B" of one goal) they are one segment, and
 * each goal's definition, part of what its visits are: a changed pattern
 * is another segment.  Of one goal, as it was before alternatives. */
static char *goal_canon(const struct filter *f)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	sqlite3_str_appendf(s, "%s%s", f->dim, f->negate ? "!=" : "==");
	for (size_t k = 0; k < f->n_alts; k++)
		sqlite3_str_appendf(s, "%s%s", k ? "|" : "", f->goal[k]->name);
	for (size_t k = 0; k < f->n_alts; k++)
		sqlite3_str_appendf(s, "\x1f%s:%s",
		                    f->goal[k]->kind == ANALYTICS_GOAL_PAGE
		                            ? "page"
		                            : "event",
		                    f->goal[k]->pattern);
	return sqlite3_str_finish(s);
}

/* The scope's filters as canonical text (see analytics_filter_canon()),
 * sqlite3_malloc'd; NULL when out of memory. */
static char *canon_text(const struct scope *sc)
{
	char *parts[MAX_FILTERS];
	size_t n = 0;
	for (size_t i = 0; i < sc->n_filters; i++) {
		const struct filter *f = &sc->filters[i];
		parts[n] = f->kind == F_GOAL
		                   ? goal_canon(f)
		                   : sqlite3_mprintf(
		                             "%s%s%s", f->dim,
		                             f->negate ? "!=" : "==", f->value);
		if (!parts[n])
			break;
		n++;
	}
	char *out = NULL;
	if (n == sc->n_filters) {
		qsort(parts, n, sizeof(parts[0]), part_cmp);
		sqlite3_str *s = sqlite3_str_new(NULL);
		for (size_t i = 0; i < n; i++)
			sqlite3_str_appendf(s, "%s%s", i ? ";" : "", parts[i]);
		out = sqlite3_str_finish(s);
	}
	for (size_t i = 0; i < n; i++)
		sqlite3_free(parts[i]);
	return out;
}

/* The configured segment these filters are, if any (no table, as in a
 * database the plugin has not yet migrated: none). */
static void find_segment(sqlite3 *db, struct scope *sc)
{
	sc->segment = 0;
	if (sc->n_filters == 0)
		return;
	char *canon = canon_text(sc);
	sqlite3_stmt *st = NULL;
	if (canon && sqlite3_prepare_v2(db,
	                                "SELECT id, cursor_ts FROM "
	                                "analytics_segments WHERE site = ?1 "
	                                "AND filter = ?2",
	                                -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_text(st, 1, sc->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, canon, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_ROW) {
			sc->segment = sqlite3_column_int64(st, 0);
			sc->segment_from_ms =
			        sqlite3_column_type(st, 1) == SQLITE_NULL
			                ? INT64_MIN
			                : sqlite3_column_int64(st, 1);
		}
	}
	sqlite3_finalize(st);
	sqlite3_free(canon);
}

/* sc->merged_to, in the report's snapshot. */
static void find_merged(sqlite3 *db, struct scope *sc)
{
	sqlite3_stmt *st = NULL;
	sc->merged_to = INT64_MAX;
	if (sqlite3_prepare_v2(db,
	                       "SELECT v FROM analytics_meta WHERE k = "
	                       "'merged_to'",
	                       -1, &st, NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		sc->merged_to = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
}

/* sc->goal_from_ms, in the report's snapshot, into *from (malloc'd, the
 * caller frees it; NULL with no table, as in a database the plugin has
 * not yet migrated: the rollups count them all).  False when out of
 * memory. */
static bool find_goals(sqlite3 *db, struct scope *sc, int64_t **from)
{
	*from = NULL;
	sc->goal_from_ms = NULL;
	if (!sc->goals || sc->goals->n == 0)
		return true;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT counted_from_ms FROM analytics_goals "
	                       "WHERE site = ?1 AND name = ?2 AND definition "
	                       "= ?3",
	                       -1, &st, NULL) != SQLITE_OK)
		return true;
	int64_t *f = malloc(sc->goals->n * sizeof(*f));
	for (size_t i = 0; f && i < sc->goals->n; i++) {
		const struct analytics_goal *g = &sc->goals->list[i];
		f[i] = INT64_MIN;
		if (strcmp(g->site, sc->site) != 0)
			continue;
		char *def = analytics_goal_definition(g);
		if (!def) {
			free(f);
			f = NULL;
			break;
		}
		sqlite3_bind_text(st, 1, sc->site, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, g->name, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, def, -1, SQLITE_STATIC);
		f[i] = sqlite3_step(st) == SQLITE_ROW
		               ? sqlite3_column_int64(st, 0)
		               : INT64_MAX;
		sqlite3_reset(st);
		sqlite3_free(def);
	}
	sqlite3_finalize(st);
	sc->goal_from_ms = *from = f;
	return f != NULL;
}

/* The site's goals the rollups do not count over sc's range (registered
 * after it began) into *late (its list malloc'd, the caller frees it, its
 * goals sc's), and the scope that reads them off the visits into *ls.
 * False when there are none, or no memory (then *oom). */
static bool late_goals(const struct scope *sc, struct analytics_goals *late,
                       struct scope *ls, bool *oom)
{
	*oom = false;
	late->list = NULL;
	late->n = 0;
	if (!sc->goal_from_ms || sc->goals_late)
		return false;
	for (size_t i = 0; i < sc->goals->n; i++) {
		if (strcmp(sc->goals->list[i].site, sc->site) != 0 ||
		    sc->t0 * 1000 >= sc->goal_from_ms[i])
			continue;
		if (!late->list &&
		    !(late->list =
		              malloc(sc->goals->n * sizeof(*late->list)))) {
			*oom = true;
			return false;
		}
		late->list[late->n++] = sc->goals->list[i];
	}
	*ls = *sc;
	ls->goals = late;
	ls->goal_from_ms = NULL;
	ls->goals_late = true;
	return late->n > 0;
}

static enum analytics_status parse_scope(const struct analytics_request *rq,
                                         struct scope *sc, struct seula_zone *z,
                                         char *err, size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	sc->merged_to = INT64_MAX;
	if (!rq->site || !*rq->site || strlen(rq->site) > 64) {
		snprintf(err, errlen, "site: 1 to 64 characters");
		return ANALYTICS_BAD_REQUEST;
	}
	sc->site = rq->site;
	sc->goals = rq->goals;
	sc->content_groups = rq->content_groups;
	sc->groups_max = rq->groups_max ? rq->groups_max : GROUPS_MAX;
	sc->helper = rq->helper;
	sc->cache = rq->cache;
	sc->pool = rq->pool;
	sc->tz = rq->tz && *rq->tz ? rq->tz : "UTC";
	if (!seula_zone_open(z, sc->tz)) {
		snprintf(err, errlen, "unknown time zone \"%.64s\"", sc->tz);
		return ANALYTICS_BAD_REQUEST;
	}
	int hour;
	int64_t today;
	seula_zone_local(z, rq->now_ms / 1000, &today, &hour);
	sc->to_day = today;
	if (rq->to && !seula_date_parse(rq->to, &sc->to_day)) {
		snprintf(err, errlen,
		         "to: want a date YYYY-MM-DD, 1970-01-01 or later");
		return ANALYTICS_BAD_REQUEST;
	}
	sc->from_day = sc->to_day - 29;
	if (rq->from && !seula_date_parse(rq->from, &sc->from_day)) {
		snprintf(err, errlen,
		         "from: want a date YYYY-MM-DD, 1970-01-01 or later");
		return ANALYTICS_BAD_REQUEST;
	}
	if (sc->from_day > sc->to_day) {
		snprintf(err, errlen, "from is after to");
		return ANALYTICS_BAD_REQUEST;
	}
	if (sc->to_day - sc->from_day >= MAX_DAYS) {
		snprintf(err, errlen, "at most %d days", MAX_DAYS);
		return ANALYTICS_BAD_REQUEST;
	}
	return parse_filters(sc, rq->filter, err, errlen);
}

/* The period before [from, to] (days): as many whole calendar months
 * when the range is whole months (October is compared with September,
 * not with the 31 days before it), else as many days. */
static void previous_period(int64_t from, int64_t to, int64_t *pfrom,
                            int64_t *pto)
{
	int fy, fm, fd, ny, nm, nd;
	int64_t y;
	seula_civil_from_days(from, &fy, &fm, &fd);
	seula_civil_from_days(to + 1, &ny, &nm, &nd);
	*pto = from - 1;
	if (fd == 1 && nd == 1) {
		int64_t months =
		        ((int64_t)ny * 12 + nm) - ((int64_t)fy * 12 + fm);
		int64_t m0 = (int64_t)fy * 12 + (fm - 1) - months;
		y = m0 >= 0 ? m0 / 12 : -((-m0 + 11) / 12);
		*pfrom = seula_days_from_civil(y, (int)(m0 - y * 12) + 1, 1);
		return;
	}
	*pfrom = from - (to - from + 1);
}

/* Day `d` a year earlier: February 29 falls on the 28th. */
static int64_t year_before(int64_t d)
{
	int y, m, md;
	seula_civil_from_days(d, &y, &m, &md);
	if (m == 2 && md == 29)
		md = 28;
	return seula_days_from_civil((int64_t)y - 1, m, md);
}

/* The comparison's days from rq->compare (and compare_from/compare_to):
 * false with a message in err when they are not a period. */
static bool compare_days(const struct analytics_request *rq,
                         const struct scope *sc, int64_t *pfrom, int64_t *pto,
                         char *err, size_t errlen)
{
	const char *mode = rq->compare ? rq->compare : "";
	bool custom = strcmp(mode, "custom") == 0;
	if ((rq->compare_from || rq->compare_to) && !custom) {
		snprintf(err, errlen,
		         "compare_from and compare_to need compare=custom");
		return false;
	}
	if (strcmp(mode, "previous_period") == 0) {
		previous_period(sc->from_day, sc->to_day, pfrom, pto);
	} else if (strcmp(mode, "year_over_year") == 0) {
		/* Whole months: the same months (February 2029 against all
		 * of February 2028, its 29th too); else the same dates. */
		int fy, fm, fd, ny, nm, nd;
		seula_civil_from_days(sc->from_day, &fy, &fm, &fd);
		seula_civil_from_days(sc->to_day + 1, &ny, &nm, &nd);
		if (fd == 1 && nd == 1) {
			*pfrom = seula_days_from_civil((int64_t)fy - 1, fm, 1);
			*pto = seula_days_from_civil((int64_t)ny - 1, nm, 1) -
			       1;
		} else {
			*pfrom = year_before(sc->from_day);
			*pto = year_before(sc->to_day);
		}
	} else if (custom) {
		if (!rq->compare_from || !rq->compare_to ||
		    !seula_date_parse(rq->compare_from, pfrom) ||
		    !seula_date_parse(rq->compare_to, pto)) {
			snprintf(err, errlen,
			         "compare=custom wants compare_from and "
			         "compare_to, dates YYYY-MM-DD, 1970-01-01 or "
			         "later");
			return false;
		}
		if (*pfrom > *pto) {
			snprintf(err, errlen,
			         "compare_from is after compare_to");
			return false;
		}
		if (*pto - *pfrom >= MAX_DAYS) {
			snprintf(err, errlen, "compare: at most %d days",
			         MAX_DAYS);
			return false;
		}
	} else {
		snprintf(
		        err, errlen,
		        "compare is previous_period, year_over_year or custom");
		return false;
	}
	/* As a range asked for directly may not. */
	if (*pfrom < 0) {
		snprintf(err, errlen,
		         "compare: the period would begin before 1970-01-01");
		return false;
	}
	return true;
}

/* A period still running (now inside it) set against all of the one
 * before would always look down: today until 15:00 against all of
 * yesterday.  So the previous period ends as far into it as now is
 * into this one (as Plausible and PostHog compare): by the hour, as
 * the rollups count, through the end of the hour now is in.  True when
 * prev was cut. */
static bool cut_at_now(const struct scope *sc, struct scope *prev,
                       struct seula_zone *z, int64_t now_ms)
{
	int64_t now = seula_floor_div(now_ms, 1000);
	if (now < sc->t0 || now >= sc->t1)
		return false;
	int64_t end = seula_floor_div(now, 3600) * 3600 + 3600;
	/* As far by the clock: the hours between would put yesterday's cut
	 * at 14:00 for today's 15:00 after the clocks went back (a day of
	 * 25 hours), and do so for a month after in the last 30 days. */
	int64_t into = seula_zone_wall(z, end) - sc->from_day * 86400;
	int64_t t1 =
	        seula_floor_div(seula_zone_at(z, prev->from_day, into), 3600) *
	        3600;
	if (t1 >= prev->t1)
		return false;
	prev->t1 = t1;
	return true;
}

/* The UTC span of the scope's local days, at whole hours. */
static void scope_span(struct scope *sc, struct seula_zone *z)
{
	sc->midnight = seula_zone_midnight(z, sc->from_day);
	sc->t0 = seula_floor_div(sc->midnight, 3600) * 3600;
	sc->t1 = seula_floor_div(seula_zone_midnight(z, sc->to_day + 1), 3600) *
	         3600;
}

/* The hour of day hour_cond() gives a visit begun in the UTC hour at t
 * when wall clocks there are `off` seconds ahead. */
static int hour_of_day(const struct scope *sc, int64_t t, int64_t off)
{
	int64_t wall = (t > sc->midnight ? t : sc->midnight) + off;
	return (int)((wall - seula_floor_div(wall, 86400) * 86400) / 3600);
}

/* sc->hour_ok for the scope's hour filters (left NULL without one), the
 * same verdicts hour_cond()'s SQL gives; the caller frees it.  A day's
 * hours take one offset when its first and last have the same (a zone
 * changes it at most a few times a year).  False when out of memory. */
static bool hour_table(struct scope *sc, struct seula_zone *z)
{
	uint32_t keep = 0xffffff;
	bool any = false;
	for (size_t i = 0; i < sc->n_filters; i++)
		if (sc->filters[i].kind == F_HOUR) {
			any = true;
			keep &= sc->filters[i].negate ? ~sc->filters[i].hours
			                              : sc->filters[i].hours;
		}
	sc->hour_ok = NULL;
	if (!any)
		return true;
	size_t n = (size_t)((sc->t1 - sc->t0) / 3600);
	if (!(sc->hour_ok = malloc(n ? n : 1)))
		return false;
	for (size_t k = 0; k < n;) {
		int64_t t = sc->t0 + (int64_t)k * 3600;
		int64_t at = t > sc->midnight ? t : sc->midnight;
		int64_t off = seula_zone_wall(z, at) - at;
		size_t run = 1;
		int64_t last = t + 23 * 3600;
		if (t >= sc->midnight && k + 24 <= n &&
		    seula_zone_wall(z, last) - last == off)
			run = 24;
		for (size_t r = 0; r < run; r++, k++) {
			int h = hour_of_day(sc, t + (int64_t)r * 3600, off);
			sc->hour_ok[k] = (uint8_t)(keep >> h & 1);
		}
	}
	return true;
}

/* ---- SQL building ------------------------------------------------------- */

enum arg_type { ARG_TEXT, ARG_INT };

struct sqlb_arg {
	enum arg_type type;
	const char *text;
	int64_t i;
};

/* A statement being built, and its arguments (grown as needed: a
 * breakdown binds each of its candidate values). */
struct sqlb {
	sqlite3_str *s;
	struct sqlb_arg *args;
	int n, cap;
	bool overflow;
};

static void sqlb_init(struct sqlb *b, sqlite3 *db)
{
	b->s = sqlite3_str_new(db);
	b->args = NULL;
	b->n = b->cap = 0;
	b->overflow = false;
}

/* Room for one more argument; false (and overflow) when there is none. */
static bool sqlb_room(struct sqlb *b)
{
	if (b->n < b->cap)
		return true;
	int cap = b->cap ? b->cap * 2 : 64;
	struct sqlb_arg *a =
	        cap > 30000 ? NULL : realloc(b->args, (size_t)cap * sizeof(*a));
	if (!a) {
		b->overflow = true;
		return false;
	}
	b->args = a, b->cap = cap;
	return true;
}

static void sql(struct sqlb *b, const char *text)
{
	sqlite3_str_appendall(b->s, text);
}

/* Append a placeholder for a text argument (borrowed until bound). */
static void arg_text(struct sqlb *b, const char *text)
{
	if (!sqlb_room(b))
		return;
	b->args[b->n].type = ARG_TEXT;
	b->args[b->n].text = text;
	sqlite3_str_appendf(b->s, "?%d", ++b->n);
}

static void arg_int(struct sqlb *b, int64_t v)
{
	if (!sqlb_room(b))
		return;
	b->args[b->n].type = ARG_INT;
	b->args[b->n].i = v;
	sqlite3_str_appendf(b->s, "?%d", ++b->n);
}

/* Prepare and bind (copies); NULL on error (err set).  Frees the
 * builder. */
static sqlite3_stmt *sqlb_prepare(struct sqlb *b, sqlite3 *db, char *err,
                                  size_t errlen)
{
	char *text = sqlite3_str_finish(b->s);
	b->s = NULL;
	sqlite3_stmt *st = NULL;
	if (!text || b->overflow) {
		snprintf(err, errlen, "query too large");
	} else if (sqlite3_prepare_v2(db, text, -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		st = NULL;
	}
	sqlite3_free(text);
	for (int i = 0; st && i < b->n; i++) {
		if (b->args[i].type == ARG_TEXT)
			sqlite3_bind_text(st, i + 1, b->args[i].text, -1,
			                  SQLITE_TRANSIENT);
		else
			sqlite3_bind_int64(st, i + 1, b->args[i].i);
	}
	free(b->args);
	b->args = NULL;
	return st;
}

static bool has_glob(const char *v)
{
	return strpbrk(v, "*?[") != NULL;
}

/* "(<expr> = a OR <expr> GLOB b...)": expr matches one of f's
 * alternatives, each a glob when it has one's characters. */
static void alts_cond(struct sqlb *b, const struct filter *f, const char *expr)
{
	sql(b, "(");
	const char *a = f->alts;
	for (size_t k = 0; k < f->n_alts; k++, a += strlen(a) + 1) {
		sqlite3_str_appendf(b->s, "%s%s%s", k ? " OR " : "", expr,
		                    has_glob(a) ? " GLOB " : " = ");
		arg_text(b, a);
	}
	sql(b, ")");
}

/* "[NOT ](<prefix><column> = value)", or GLOB, for a column filter.  The
 * column's name was checked against the column list. */
static void column_cond(struct sqlb *b, const struct filter *f,
                        const char *prefix, const char *column)
{
	char expr[128];
	snprintf(expr, sizeof(expr), "%s%s", prefix, column);
	sql(b, f->negate ? "NOT " : "");
	alts_cond(b, f, expr);
}

/* Whether the scope's segment has rollups of every ended visit in its
 * range (then they answer as the site's own do without a filter). */
static bool segment_answers(const struct scope *sc)
{
	return sc->segment > 0 && sc->t0 * 1000 > sc->segment_from_ms;
}

/* The one column all the scope's filters are on, or NULL. */
static const char *filter_column(const struct scope *sc)
{
	const char *col = sc->n_filters ? sc->filters[0].dim : NULL;
	for (size_t i = 0; col && i < sc->n_filters; i++)
		if (sc->filters[i].kind != F_COLUMN ||
		    strcmp(sc->filters[i].dim, col) != 0)
			col = NULL;
	return col;
}

/* The rollup dimension whose rows answer a report over rollup dimension
 * `dim` under the scope's filters, or NULL when only the visits can: with
 * no filter, `dim` itself; with filters all on one column (a visit has
 * exactly one value of it, so its rollup rows split the visits) and a
 * report over all visits (dim "") or over that column, the column's rows
 * whose value passes them; else, with a segment's filters, `dim` in the
 * segment's rows.  The column's rows come first: they were written at each
 * visit's close, with its visitor, where a segment backfilled after
 * visitor_retention has only visits (each its own visitor). */
static const char *rollup_dim(const struct scope *sc, const char *dim)
{
	if (sc->goals_late && strcmp(dim, "goal") == 0)
		return NULL;
	if (sc->n_filters == 0)
		return dim;
	const char *col = filter_column(sc);
	if (col && (*dim == '\0' || strcmp(dim, col) == 0))
		return col;
	return segment_answers(sc) ? dim : NULL;
}

/* Whether the rows of rollup_dim() `rdim` are the scope's segment's. */
static bool segment_rows(const struct scope *sc, const char *rdim)
{
	const char *col = filter_column(sc);
	return segment_answers(sc) && !(col && strcmp(rdim, col) == 0);
}

/* Whether the scope keeps pages: a page filter that is not negated.  Its
 * reports count only the page views (and time) of the pages that pass
 * every such filter, as Plausible's do: a click on a row of the pages
 * shows that page's views, not those of every visit that had it. */
static bool page_scoped(const struct scope *sc)
{
	for (size_t i = 0; i < sc->n_filters; i++)
		if (sc->filters[i].kind == F_PAGE && !sc->filters[i].negate)
			return true;
	return false;
}

/* " AND <condition>" on page path `expr` for each filter that keeps
 * pages (page_scoped()). */
static void page_conds(struct sqlb *b, const struct scope *sc, const char *expr)
{
	/* Several page== keep the visits that viewed a page of each
	 * (filter_sql()); their views counted are those of any of them:
	 * a page view is of one page. */
	size_t n = 0;
	for (size_t i = 0; i < sc->n_filters; i++) {
		if (sc->filters[i].kind != F_PAGE || sc->filters[i].negate)
			continue;
		sql(b, n++ ? " OR " : " AND (");
		alts_cond(b, &sc->filters[i], expr);
	}
	if (n)
		sql(b, ")");
}

/* "[NOT ](EXISTS (a page of a page goal) OR EXISTS (an event of an event
 * goal))" over visit v.id: it reached one of f's goals. */
static void goal_cond(struct sqlb *b, const struct filter *f)
{
	static const char *const head[2] = {
	        "EXISTS (SELECT 1 FROM analytics_visit_events fe WHERE "
	        "fe.visit = v.id AND fe.prop = '' AND fe.name IN (",
	        "EXISTS (SELECT 1 FROM analytics_visit_pages fp WHERE "
	        "fp.visit = v.id AND fp.pageviews > 0 AND ("};
	sql(b, f->negate ? "NOT (" : "(");
	bool any = false;
	for (int pg = 0; pg < 2; pg++) {
		size_t n = 0;
		for (size_t k = 0; k < f->n_alts; k++) {
			const struct analytics_goal *g = f->goal[k];
			if ((g->kind == ANALYTICS_GOAL_PAGE) != pg)
				continue;
			if (n++ == 0) {
				sql(b, any ? " OR " : "");
				sql(b, head[pg]);
			} else {
				sql(b, pg ? " OR " : ", ");
			}
			sql(b, pg ? "fp.path GLOB " : "");
			arg_text(b, g->pattern);
		}
		if (n)
			sql(b, "))");
		any |= n > 0;
	}
	sql(b, ")");
}

/* A visit's hour of day, as the breakdown by hour labels its start's
 * UTC hour (from the range's first midnight: in a zone off by a half
 * hour the range's first hour begins before it), among f's hours. */
static void hour_cond(struct sqlb *b, const struct scope *sc,
                      const struct filter *f)
{
	sql(b, f->negate ? "NOT " : "");
	sql(b, "(CAST(analytics_bucket(max(v.start_ts / 3600000 * 3600, ");
	arg_int(b, sc->midnight);
	sql(b, "), ");
	arg_text(b, sc->tz);
	sql(b, ", 'hour_of_day') AS INTEGER) IN (");
	for (int h = 0, n = 0; h < 24; h++)
		if (f->hours >> h & 1) {
			sql(b, n++ ? ", " : "");
			arg_int(b, h);
		}
	sql(b, "))");
}

/* " AND <condition>" for each filter, over visits aliased v. */
static void filter_sql(struct sqlb *b, const struct scope *sc)
{
	for (size_t i = 0; i < sc->n_filters; i++) {
		const struct filter *f = &sc->filters[i];
		sql(b, " AND ");
		switch (f->kind) {
		case F_COLUMN: column_cond(b, f, "v.", f->dim); break;
		case F_PAGE:
			sql(b, f->negate ? "NOT " : "");
			sql(b,
			    "EXISTS (SELECT 1 FROM analytics_visit_pages fp "
			    "WHERE fp.visit = v.id AND fp.pageviews > 0 AND ");
			alts_cond(b, f, "fp.path");
			sql(b, ")");
			break;
		case F_EVENT:
			sql(b, f->negate ? "NOT " : "");
			sql(b,
			    "EXISTS (SELECT 1 FROM analytics_visit_events fe "
			    "WHERE fe.visit = v.id AND fe.prop = '' AND ");
			alts_cond(b, f, "fe.name");
			sql(b, ")");
			break;
		case F_PROP:
			sql(b, f->negate ? "NOT " : "");
			sql(b,
			    "EXISTS (SELECT 1 FROM analytics_visit_events fe "
			    "WHERE fe.visit = v.id AND fe.prop = ");
			arg_text(b, f->dim + 5);
			sql(b, " AND ");
			alts_cond(b, f, "fe.value");
			sql(b, ")");
			break;
		case F_GOAL: goal_cond(b, f); break;
		case F_HOUR: hour_cond(b, sc, f); break;
		}
	}
}

/* What a report groups by. */
enum group {
	G_NONE,   /* one row */
	G_BUCKET, /* a time bucket: the union's t through analytics_bucket */
	G_VALUE,  /* the dimension value */
};

/* The rows a report sums, as (value, t, visits, pageviews, bounces,
 * duration_ms, events, engagement_ms, v) where v is a sketch or a visitor
 * hash.  `dim` is the rollup dimension; `max_gran` the coarsest rollup
 * rows that may be read: 0 hours, 1 days, 2 months (time buckets can use
 * only rows that fall inside one bucket). */
/* The next bucket of granularity `gran` after `t` (months vary). */
static int64_t next_bucket(int gran, int64_t t)
{
	if (gran == 0)
		return t + 3600;
	if (gran == 1)
		return t + 86400;
	int y, m, d;
	seula_civil_from_days(seula_floor_div(t, 86400), &y, &m, &d);
	return seula_days_from_civil(m == 12 ? y + 1 : y, m == 12 ? 1 : m + 1,
	                             1) *
	       86400;
}

/* Rollup rows of [from, to) in buckets of `gran`: " AND t >= from AND t <
 * to", or " AND t IN (each bucket)" when only some values are wanted, so
 * that SQLite seeks (site, dim, gran, t, value) for each of them rather
 * than scanning the range. */
static void t_cond(struct sqlb *b, int gran, int64_t from, int64_t to,
                   bool seek)
{
	int64_t n = 0;
	for (int64_t t = from; seek && t < to && n <= 800;
	     t = next_bucket(gran, t))
		n++;
	if (!seek || n > 800) {
		sql(b, " AND t >= ");
		arg_int(b, from);
		sql(b, " AND t < ");
		arg_int(b, to);
		return;
	}
	sql(b, " AND t IN (");
	for (int64_t t = from; t < to; t = next_bucket(gran, t))
		sqlite3_str_appendf(b->s, "%s%lld", t == from ? "" : ",",
		                    (long long)t);
	sql(b, ")");
}

/* The rollup rows of rollup dimension `rdim` over the scope, in pieces of
 * hours, days and months (`max_gran`: 0 hours only, 1 days, 2 months),
 * each "SELECT cols FROM analytics_rollup WHERE ...", joined by UNION ALL.
 * With `seek`, only the values of the statement's table k(value) are
 * wanted, and their rows are sought rather than scanned. */
static void rollup_sql(struct sqlb *b, const struct scope *sc, const char *rdim,
                       int max_gran, bool seek, const char *cols)
{
	int64_t pieces[6][3];
	int n = 0;
	int64_t t0 = sc->t0, t1 = sc->t1;
	/* From the day merged_to falls in, hours: later visits are in no
	 * day or month row yet. */
	int64_t merged =
	        sc->merged_to == INT64_MAX
	                ? INT64_MAX
	                : seula_floor_div(sc->merged_to, 86400) * 86400;
	if (max_gran > 0 && merged < t1) {
		int64_t h0 = merged > t0 ? merged : t0;
		pieces[n][0] = 0, pieces[n][1] = h0, pieces[n++][2] = t1;
		t1 = h0;
	}
	int64_t d0 = seula_floor_div(t0 + 86399, 86400) * 86400;
	int64_t d1 = seula_floor_div(t1, 86400) * 86400;
	if (t0 >= t1) {
		/* All in the hours above. */
	} else if (max_gran == 0 || d0 >= d1) {
		pieces[n][0] = 0, pieces[n][1] = t0, pieces[n++][2] = t1;
	} else {
		if (t0 < d0)
			pieces[n][0] = 0, pieces[n][1] = t0,
			pieces[n++][2] = d0;
		if (d1 < t1)
			pieces[n][0] = 0, pieces[n][1] = d1,
			pieces[n++][2] = t1;
		/* Whole months inside [d0, d1). */
		int y, m, d;
		seula_civil_from_days(d0 / 86400, &y, &m, &d);
		int64_t m0 =
		        d == 1 ? d0
		               : seula_days_from_civil(m == 12 ? y + 1 : y,
		                                       m == 12 ? 1 : m + 1, 1) *
		                         86400;
		seula_civil_from_days(d1 / 86400, &y, &m, &d);
		int64_t m1 = seula_days_from_civil(y, m, 1) * 86400;
		if (m0 < m1 && max_gran >= 2) {
			if (d0 < m0)
				pieces[n][0] = 1, pieces[n][1] = d0,
				pieces[n++][2] = m0;
			pieces[n][0] = 2, pieces[n][1] = m0,
			pieces[n++][2] = m1;
			if (m1 < d1)
				pieces[n][0] = 1, pieces[n][1] = m1,
				pieces[n++][2] = d1;
		} else {
			pieces[n][0] = 1, pieces[n][1] = d0,
			pieces[n++][2] = d1;
		}
	}
	for (int i = 0; i < n; i++) {
		if (i)
			sql(b, " UNION ALL ");
		sqlite3_str_appendf(
		        b->s,
		        "SELECT %s FROM analytics_rollup WHERE site = ", cols);
		arg_text(b, sc->site);
		sql(b, " AND dim = ");
		/* A constant expression: SQLite still seeks the index. */
		if (segment_rows(sc, rdim))
			sqlite3_str_appendf(b->s, "'seg:%lld:' || ",
			                    (long long)sc->segment);
		arg_text(b, rdim);
		sqlite3_str_appendf(b->s, " AND gran = %d", (int)pieces[i][0]);
		t_cond(b, (int)pieces[i][0], pieces[i][1], pieces[i][2], seek);
		if (seek)
			sql(b, " AND value IN k");
		for (size_t k = 0; !segment_rows(sc, rdim) && k < sc->n_filters;
		     k++) {
			sql(b, " AND ");
			column_cond(b, &sc->filters[k], "", "value");
		}
	}
}

/* " WHERE" the visits aliased v are the scope's site's, started in its
 * range. */
static void range_sql(struct sqlb *b, const struct scope *sc)
{
	sql(b, " WHERE v.site = ");
	arg_text(b, sc->site);
	sql(b, " AND v.start_ts >= ");
	arg_int(b, sc->t0 * 1000);
	sql(b, " AND v.start_ts < ");
	arg_int(b, sc->t1 * 1000);
}

/* A visit's t: the start of the UTC hour it started in, as the rollups
 * hold it, so that a zone off UTC by a half hour cuts its days at the
 * same hours whichever answers (the README: each UTC hour counts on the
 * local day it starts in). */
#define T_HOUR "v.start_ts / 3600000 * 3600 "

/* The visits of the scope as rows like the rollups' (union_cols): the open
 * ones only when `only_open` (the rollups have the rest), else all. */
static void visits_sql(struct sqlb *b, const struct scope *sc, const char *dim,
                       const char *goals_json, bool only_open)
{
	const char *bounce = "(v.pageviews <= 1 AND v.events = 0)";
	if (strcmp(dim, "page") == 0) {
		sqlite3_str_appendf(
		        b->s,
		        "SELECT p.path AS value, " T_HOUR "AS t, 1, "
		        "p.pageviews, (%s AND v.entry_page = p.path), 0, 0, "
		        "p.engagement_ms, v.visitor FROM analytics_visits v "
		        "JOIN "
		        "analytics_visit_pages p ON p.visit = v.id AND "
		        "p.pageviews > 0",
		        bounce);
		page_conds(b, sc, "p.path");
	} else if (strcmp(dim, "event") == 0) {
		sql(b,
		    "SELECT e.name AS value, " T_HOUR "AS t, 1, 0, "
		    "0, 0, e.n, 0, v.visitor FROM analytics_visits v JOIN "
		    "analytics_visit_events e ON e.visit = v.id AND e.prop = "
		    "''");
	} else if (strncmp(dim, "prop:", 5) == 0) {
		sql(b,
		    "SELECT e.value AS value, " T_HOUR "AS t, 1, 0, "
		    "0, 0, sum(e.n), 0, v.visitor FROM analytics_visits v JOIN "
		    "analytics_visit_events e ON e.visit = v.id AND e.prop = ");
		arg_text(b, dim + 5);
	} else if (strcmp(dim, "goal") == 0) {
		/* Each configured goal of the site a visit reached. */
		sql(b,
		    "SELECT value, t, 1, 0, 0, 0, hits, 0, visitor FROM "
		    "(SELECT g.value ->> 'name' AS value, " T_HOUR
		    "AS t, v.visitor AS visitor, CASE g.value ->> 'kind' "
		    "WHEN 'page' THEN (SELECT sum(gp.pageviews) FROM "
		    "analytics_visit_pages gp WHERE gp.visit = v.id AND "
		    "gp.path GLOB g.value ->> 'pattern') ELSE (SELECT "
		    "sum(ge.n) FROM analytics_visit_events ge WHERE ge.visit "
		    "= v.id AND ge.prop = '' AND ge.name = g.value ->> "
		    "'pattern') END AS hits FROM analytics_visits v JOIN "
		    "json_each(");
		arg_text(b, goals_json);
		sql(b, ") g");
	} else if (page_scoped(sc)) {
		/* The kept pages' views and time (page_scoped()), each a
		 * lookup of the visit's pages by its key. */
		const char *col = *dim ? dim : "''";
		sqlite3_str_appendf(b->s,
		                    "SELECT %s%s AS value, " T_HOUR "AS "
		                    "t, 1, ",
		                    *dim ? "v." : "", col);
		for (int k = 0; k < 2; k++) {
			sqlite3_str_appendf(
			        b->s,
			        "(SELECT coalesce(sum(kp.%s), 0) FROM "
			        "analytics_visit_pages kp WHERE "
			        "kp.visit = v.id AND kp.pageviews > 0",
			        k ? "engagement_ms" : "pageviews");
			page_conds(b, sc, "kp.path");
			if (k)
				sql(b, "), v.visitor FROM analytics_visits v");
			else
				sqlite3_str_appendf(
				        b->s,
				        "), %s, v.last_ts - v.start_ts, "
				        "v.events, ",
				        bounce);
		}
	} else {
		const char *col = *dim ? dim : "''";
		sqlite3_str_appendf(
		        b->s,
		        "SELECT %s%s AS value, " T_HOUR "AS t, 1, "
		        "v.pageviews, %s, v.last_ts - v.start_ts, v.events, "
		        "v.engagement_ms, v.visitor FROM analytics_visits v",
		        *dim ? "v." : "", col, bounce);
	}
	range_sql(b, sc);
	if (only_open)
		sql(b, " AND v.closed = 0");
	filter_sql(b, sc);
	if (strcmp(dim, "goal") == 0)
		sql(b, ") WHERE hits > 0");
	else if (strncmp(dim, "prop:", 5) == 0)
		/* A visit once a value, however many of its events have it. */
		sql(b, " GROUP BY v.id, e.value");
}

/* The rows a report sums: the rollups' for ended visits and the open
 * visits', or all visits' when only the visits answer the filters.  See
 * rollup_sql() for `seek`. */
static void source_sql(struct sqlb *b, const struct scope *sc, const char *dim,
                       int max_gran, const char *goals_json, bool seek)
{
	const char *rdim = rollup_dim(sc, dim);
	if (rdim) {
		rollup_sql(b, sc, rdim, max_gran, seek,
		           "value, t, visits, pageviews, bounces, duration_ms, "
		           "events, engagement_ms, visitors AS v");
		sql(b, " UNION ALL ");
	}
	visits_sql(b, sc, dim, goals_json, rdim != NULL);
}

/* The configured goals of the scope's site, as JSON for json_each. */
static char *goals_json(const struct scope *sc)
{
	json_t *arr = json_array();
	for (size_t i = 0; sc->goals && i < sc->goals->n; i++) {
		const struct analytics_goal *g = &sc->goals->list[i];
		if (strcmp(g->site, sc->site) != 0)
			continue;
		json_array_append_new(
		        arr, json_pack("{s:s,s:s,s:s}", "name", g->name, "kind",
		                       g->kind == ANALYTICS_GOAL_PAGE ? "page"
		                                                      : "event",
		                       "pattern", g->pattern));
	}
	char *text = json_dumps(arr, JSON_COMPACT);
	json_decref(arr);
	return text;
}

/* Sums of one group. */
static double round_to(double x, int places)
{
	double f = places == 1 ? 10 : 100;
	return round(x * f) / f;
}

/* A count's visitors: a sketch's estimate may pass its visits (1.6%
 * over, a few dozen visitors of a visit or two each), and every visitor
 * has a visit at least, as groups.c's counts never pass their rows. */
static int64_t visitors_capped(const struct analytics_totals *t)
{
	return t->visitors < t->visits ? t->visitors : t->visits;
}

/* What a report's row counts: visits (a summary, a bucket, a visit's
 * dimension), a page's, or an event's (an event, a property, a goal). */
enum row_kind { ROW_VISITS, ROW_PAGE, ROW_EVENT };

/* The metrics of a row of `kind`; those it has no figure for are null,
 * not 0: a page has no visit duration of its own, an event no page views
 * or bounces. */
static void put_metrics(json_t *obj, const struct analytics_totals *t,
                        enum row_kind kind)
{
	bool event = kind == ROW_EVENT;
	json_object_set_new(obj, "visitors", json_integer(visitors_capped(t)));
	json_object_set_new(obj, "visits", json_integer(t->visits));
	json_object_set_new(obj, "pageviews",
	                    event ? json_null() : json_integer(t->pageviews));
	/* Without visits a mean of them is no figure (null, an empty CSV
	 * cell), not 0: a period without traffic is not one of 0% bounces,
	 * nor a fall to them. */
	double v = (double)t->visits;
	json_object_set_new(
	        obj, "views_per_visit",
	        event || !v ? json_null()
	                    : json_real(round_to((double)t->pageviews / v, 2)));
	json_object_set_new(
	        obj, "bounce_rate",
	        event || !v ? json_null()
	                    : json_real(round_to(100.0 * (double)t->bounces / v,
	                                         1)));
	json_object_set_new(
	        obj, "visit_duration",
	        kind != ROW_VISITS || !v
	                ? json_null()
	                : json_real(round_to(
	                          (double)t->duration_ms / 1000.0 / v, 1)));
	json_object_set_new(obj, "events", json_integer(t->events));
	/* No engagement at all: not measured (an imported log, a page no
	 * tracker reported on), which is not "0 s on the page". */
	json_object_set_new(
	        obj, "time_on_page",
	        t->pageviews && t->engagement_ms > 0
	                ? json_real(round_to((double)t->engagement_ms / 1000.0 /
	                                             (double)t->pageviews,
	                                     1))
	                : json_null());
}

static void read_totals(sqlite3_stmt *st, int col, struct analytics_totals *t)
{
	t->visits = sqlite3_column_int64(st, col);
	t->pageviews = sqlite3_column_int64(st, col + 1);
	t->bounces = sqlite3_column_int64(st, col + 2);
	t->duration_ms = sqlite3_column_int64(st, col + 3);
	t->events = sqlite3_column_int64(st, col + 4);
	t->engagement_ms = sqlite3_column_int64(st, col + 5);
	t->visitors = sqlite3_column_int64(st, col + 6);
}

/* How the visitors of rows from source_sql(sc, dim) are counted: as the
 * groups count them when every row is a visit, else through the
 * rollups' sketches. */
static void visitors_sql(struct sqlb *b, const struct scope *sc,
                         const char *dim, const char *alias)
{
	sqlite3_str_appendf(b->s,
	                    rollup_dim(sc, dim) ? "analytics_uniq(%s.v)"
	                                        : "analytics_visitors(%s.v)",
	                    alias);
}

/* The select list over the union "u" of rollup dimension "" for the
 * grouped sums. */
static void sums_sql(struct sqlb *b, const struct scope *sc)
{
	sql(b, "sum(u.visits), sum(u.pageviews), sum(u.bounces), "
	       "sum(u.duration_ms), sum(u.events), sum(u.engagement_ms), ");
	visitors_sql(b, sc, "", "u");
}

static const char *union_cols =
        "(value, t, visits, pageviews, bounces, duration_ms, events, "
        "engagement_ms, v)";

/* "WITH name(union_cols) AS (": the rows a report sums, by one name; the
 * caller writes them and closes the parenthesis. */
static void with_rows(struct sqlb *b, const char *name)
{
	sql(b, "WITH ");
	sql(b, name);
	sql(b, union_cols);
	sql(b, " AS (");
}

/* ---- blocks (blocks.h) -------------------------------------------------- */

/* Whether the blocks can answer the scope's visits, summed by rollup
 * dimension `dim` ("": all together) where no rollup does: any filters,
 * and any dimension but the hour of day. */
static bool blocks_answer(const struct scope *sc, const char *dim)
{
	if (rollup_dim(sc, dim) || strcmp(dim, "hour") == 0)
		return false;
	for (size_t i = 0; i < sc->n_filters; i++)
		if (sc->filters[i].kind == F_COLUMN &&
		    analytics_block_col(sc->filters[i].dim) < ANALYTICS_BC_TEXT)
			return false;
	return true;
}

/* What blocks_add() sums visits by. */
enum block_key {
	BK_ALL,    /* one group, "" */
	BK_COLUMN, /* a visit text column's value */
	BK_BUCKET, /* a time bucket's label */
	BK_PAGE,   /* each page row's path */
	BK_EVENT,  /* each custom event's name */
	BK_PROP,   /* each value of a custom event property */
	BK_GOAL,   /* each goal the visit reached */
	BK_GROUP,  /* each content group the visit read a page of */
};

struct block_sum {
	const struct scope *sc;
	enum block_key key;
	const char *dim; /* the rollup dimension, for analytics_visits' SQL */
	int col;         /* BK_COLUMN */
	struct seula_zone *z; /* BK_BUCKET */
	enum interval iv;
	int64_t start;    /* the range's first local midnight (UTC seconds) */
	const char *prop; /* BK_PROP */
	const struct analytics_goal **goals; /* BK_GOAL: the site's */
	size_t n_goals;
	/* BK_GROUP: the content groups, each as its content_group== filter
	 * (a bit each in day_keys' in_group: GROUPS_SCANNED_MAX at most). */
	const struct filter *cgroups;
	size_t n_cgroups;
	/* BK_GROUP: the day's in_group when another day_keys has it
	 * (add_converted(): the groups are the same, only g differs). */
	uint64_t *day_groups;
	/* BK_GROUP: the groups' fingerprint, under which a whole day's sums
	 * are kept in the block cache (day_tag(), add_day_kept()); 0: they
	 * are not. */
	uint64_t groups_tag;
	/* BK_GOAL, BK_GROUP: per goal or content group, its group in g (and
	 * BK_GROUP's in g2): -1 until made. */
	int64_t *named_group, *named_group2;
	/* BK_GOAL: every visit also summed into group "" (no goal's name),
	 * the goals report's total, in the same pass. */
	bool total;
	/* A top list of this many values is wanted (analytics_groups_top()):
	 * each thread counts its likely values' visitors once its days are
	 * read, scan_days() (0: all are counted after the merge). */
	size_t top;
	struct analytics_groups *g;
	/* When set, sc with a goal filter or more (a breakdown's rows whose
	 * conversion rates sc's rows give, breakdown_pair()): its visits,
	 * those of sc that also reach the goals, summed into g2 in the same
	 * pass, its top `top2` values counted as `top` is for g. */
	const struct scope *sc2;
	struct analytics_groups *g2;
	size_t top2;
	/* g's visits and visitors only, no other sums (BK_PAGE): all a
	 * rate's base needs, and the bounces' entry pages took a tenth of
	 * the pages' pass. */
	bool visitors_only;
	/* BK_PAGE with a top list, when set (prune_pick()): only these
	 * values are summed, into groups 0..n-1 of g (and g2), the first
	 * n_logged in full, the others' visits alone; `bound` is the most
	 * visits any other value can have had in the days read (each day's
	 * largest, summed), which prune_holds() checks the top list
	 * against. */
	const struct prune *prune;
	int64_t bound[2]; /* g's, g2's */
	/* A top list is wanted (`top`), not given values' rows: a scan may
	 * be pruned.  no_prune: never (the pruned one's list did not hold). */
	bool ranked, no_prune;
};

/* The values a pruned scan sums, value i in group i: below n_logged, a
 * value the top list may take (its rows and visitors summed), else one
 * that must stay under it (visits alone: an exact bound of its own).
 * by_bytes lists them in byte order, the blocks' order. */
struct prune {
	size_t n, n_logged;
	char **key;
	size_t *len;
	size_t *by_bytes;
};

static uint64_t block_cols(const struct block_sum *bs)
{
	uint64_t c = ANALYTICS_BC_BIT(ANALYTICS_BC_SECOND) |
	             ANALYTICS_BC_BIT(ANALYTICS_BC_VISITOR);
	/* A visit's sums only where its rows carry them (add_visit()): an
	 * event's or a goal's rows count its events, a page's has bounces
	 * but its own time.  Columns not read are pages not copied out of
	 * the file: a year's goals read a fifth less. */
	const uint64_t bounce = ANALYTICS_BC_BIT(ANALYTICS_BC_PAGEVIEWS) |
	                        ANALYTICS_BC_BIT(ANALYTICS_BC_EVENTS),
	               sums = bounce | ANALYTICS_BC_BIT(ANALYTICS_BC_DURATION) |
	                      ANALYTICS_BC_BIT(ANALYTICS_BC_ENGAGEMENT);
	const uint64_t path = ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_PATH),
	               name = ANALYTICS_BC_BIT(ANALYTICS_BC_EVENT_NAME) |
	                      ANALYTICS_BC_BIT(ANALYTICS_BC_EVENT_PROP),
	               value = ANALYTICS_BC_BIT(ANALYTICS_BC_EVENT_PROP) |
	                       ANALYTICS_BC_BIT(ANALYTICS_BC_EVENT_VALUE),
	               n = ANALYTICS_BC_BIT(ANALYTICS_BC_EVENT_N);
	size_t n1 = bs->sc->n_filters, n2 = bs->sc2 ? bs->sc2->n_filters : 0;
	for (size_t i = 0; i < n1 + n2; i++) {
		const struct filter *f = i < n1 ? &bs->sc->filters[i]
		                                : &bs->sc2->filters[i - n1];
		switch (f->kind) {
		case F_COLUMN:
			c |= ANALYTICS_BC_BIT(analytics_block_col(f->dim));
			break;
		case F_PAGE:
			c |= path;
			if (!f->negate) /* kept_pages() */
				c |= ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_VIEWS) |
				     ANALYTICS_BC_BIT(
				             ANALYTICS_BC_PAGE_ENGAGEMENT);
			break;
		case F_EVENT: c |= name; break;
		case F_PROP: c |= value; break;
		case F_GOAL:
			for (size_t k = 0; k < f->n_alts; k++)
				c |= f->goal[k]->kind == ANALYTICS_GOAL_PAGE
				             ? path
				             : name;
			break;
		case F_HOUR: break; /* ANALYTICS_BC_SECOND: needs_seconds() */
		}
	}
	switch (bs->key) {
	case BK_ALL:
	case BK_BUCKET: c |= sums; break;
	case BK_COLUMN: c |= sums | ANALYTICS_BC_BIT(bs->col); break;
	case BK_PAGE:
		c |= bounce | path | ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_VIEWS) |
		     ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_ENGAGEMENT) |
		     ANALYTICS_BC_BIT(ANALYTICS_BC_TEXT); /* entry_page */
		break;
	case BK_EVENT: c |= name | n; break;
	case BK_PROP: c |= value | n; break;
	case BK_GOAL:
		c |= path | name | n |
		     ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_VIEWS);
		break;
	case BK_GROUP:
		c |= sums | path | ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_VIEWS) |
		     ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_ENGAGEMENT);
		break;
	}
	return c;
}

/* Whether text `s` is `value`: GLOB when it has a wildcard, as
 * column_cond()'s SQL says. */
static bool text_matches(const char *value, bool glob, const char *s,
                         size_t len)
{
	return glob ? sqlite3_strglob(value, s) == 0
	            : strlen(value) == len && memcmp(value, s, len) == 0;
}

/* The place of text `s` in a day's column, or -1. */
static int64_t text_find(const struct analytics_block_text *c, const char *s)
{
	size_t len = strlen(s);
	for (size_t k = 0; k < c->n; k++)
		if (c->len[k] == len && memcmp(c->str[k], s, len) == 0)
			return (int64_t)k;
	return -1;
}

/* Per value of column c whether it matches any of f's alternatives
 * (malloc'd; NULL when out of memory). */
static uint8_t *alt_verdicts(const struct analytics_block_text *c,
                             const struct filter *f)
{
	uint8_t *ok = calloc(1, c->n ? c->n : 1);
	const char *a = f->alts;
	for (size_t k = 0; ok && k < f->n_alts; k++, a += strlen(a) + 1) {
		bool glob = has_glob(a);
		for (size_t i = 0; i < c->n; i++)
			ok[i] |= !ok[i] &&
			         text_matches(a, glob, c->str[i], c->len[i]);
	}
	return ok;
}

/* The visits of day b that reached one of goal filter f's goals (none,
 * negated), into pass[] (and-ed): a page goal's page or an event goal's
 * event; a kind none of them is has its rows unread (block_cols()).  Only
 * the m visits sel lists when sel is not NULL (the others' pass[] is left
 * as it is). */
static bool goal_day(const struct filter *f, const struct analytics_block *b,
                     uint8_t *pass, const uint32_t *sel, size_t m)
{
	/* [0] event names, [1] page paths: per value, whether a goal's. */
	static const int cols[2] = {ANALYTICS_BC_EVENT_NAME,
	                            ANALYTICS_BC_PAGE_PATH};
	uint8_t *ok[2] = {NULL, NULL};
	for (int pg = 0; pg < 2; pg++) {
		const struct analytics_block_text *c = &b->text[cols[pg]];
		for (size_t k = 0; k < f->n_alts; k++) {
			const struct analytics_goal *g = f->goal[k];
			if ((g->kind == ANALYTICS_GOAL_PAGE) != pg)
				continue;
			if (!ok[pg] && !(ok[pg] = calloc(1, c->n ? c->n : 1))) {
				free(ok[0]);
				return false;
			}
			for (size_t i = 0; i < c->n; i++)
				ok[pg][i] |= !ok[pg][i] &&
				             text_matches(g->pattern, pg,
				                          c->str[i], c->len[i]);
		}
	}
	/* Events only of the event itself (prop ''), not its properties. */
	int64_t prop =
	        ok[0] ? text_find(&b->text[ANALYTICS_BC_EVENT_PROP], "") : -1;
	const uint32_t *pidx = b->text[ANALYTICS_BC_EVENT_PROP].idx;
	const uint32_t *off[2] = {b->event_off, b->page_off};
	for (size_t j = 0, n = sel ? m : b->n; j < n; j++) {
		size_t i = sel ? sel[j] : j;
		bool any = false;
		for (int pg = 0; pg < 2 && !any; pg++) {
			if (!ok[pg])
				continue;
			const uint32_t *idx = b->text[cols[pg]].idx;
			for (uint32_t r = off[pg][i];
			     !any && r < off[pg][i + 1]; r++)
				any = ok[pg][idx[r]] &&
				      (pg || (int64_t)pidx[r] == prop);
		}
		pass[i] &= any != f->negate;
	}
	free(ok[0]);
	free(ok[1]);
	return true;
}

/* The visits of day b that pass filter f of scope sc, into pass[]
 * (and-ed). */
static bool filter_day(const struct scope *sc, const struct filter *f,
                       const struct analytics_block *b, uint8_t *pass)
{
	if (f->kind == F_GOAL)
		return goal_day(f, b, pass, NULL, 0);
	if (f->kind == F_HOUR) {
		/* Every hour filter's verdict at once: hour_table(). */
		const int64_t *sec = b->ints[ANALYTICS_BC_SECOND];
		if (!sc->hour_ok)
			return false;
		int64_t n = (sc->t1 - sc->t0) / 3600;
		for (size_t i = 0; i < b->n; i++) {
			int64_t k = seula_floor_div(
			        b->day * 86400 + (sec ? sec[i] : 0) - sc->t0,
			        3600);
			pass[i] &= k >= 0 && k < n && sc->hour_ok[k];
		}
		return true;
	}
	int col;
	switch (f->kind) {
	case F_COLUMN: col = analytics_block_col(f->dim); break;
	case F_PAGE: col = ANALYTICS_BC_PAGE_PATH; break;
	case F_PROP: col = ANALYTICS_BC_EVENT_VALUE; break;
	default: col = ANALYTICS_BC_EVENT_NAME; break;
	}
	const struct analytics_block_text *c = &b->text[col];
	uint8_t *ok = alt_verdicts(c, f);
	if (!ok)
		return false;
	if (f->kind == F_COLUMN) {
		for (size_t i = 0; i < b->n; i++)
			pass[i] &= ok[c->idx[i]] != f->negate;
		free(ok);
		return true;
	}
	/* A row of the visit's that matches: events only of their prop ('',
	 * the event itself; or the property's key). */
	const uint32_t *off =
	        col == ANALYTICS_BC_PAGE_PATH ? b->page_off : b->event_off;
	int64_t prop = -2; /* pages: any */
	if (col != ANALYTICS_BC_PAGE_PATH)
		prop = text_find(&b->text[ANALYTICS_BC_EVENT_PROP],
		                 f->kind == F_PROP ? f->dim + 5 : "");
	const uint32_t *pidx = b->text[ANALYTICS_BC_EVENT_PROP].idx;
	for (size_t i = 0; i < b->n; i++) {
		bool any = false;
		for (uint32_t r = off[i]; !any && r < off[i + 1]; r++)
			any = ok[c->idx[r]] &&
			      (prop == -2 || (int64_t)pidx[r] == prop);
		pass[i] &= any != f->negate;
	}
	free(ok);
	return true;
}

/* The group of value k of a day's column, made at its first use (vg[k] <
 * 0 until then), so a value none of whose rows pass is no row. */
static int64_t lazy_group(struct analytics_groups *g, int64_t *vg,
                          const struct analytics_block_text *c, uint32_t k)
{
	if (vg[k] < 0)
		vg[k] = analytics_groups_index(g, c->str[k], c->len[k]);
	return vg[k];
}

/* The group of each UTC hour of a day, for BK_BUCKET: a visit counts in
 * the bucket its UTC hour starts in, as in the rollups (T_HOUR), so that
 * a zone off UTC by a half hour cuts its days where they do. */
struct hour_groups {
	int64_t g[24];
};

/* Whether UTC seconds t0 and t1 (the range's start for any before it)
 * fall in one bucket, which then holds every second between them: labels
 * never go back in time.  t0's label in a[32]. */
static bool one_bucket(const struct block_sum *bs, int64_t t0, int64_t t1,
                       char *a)
{
	char b[32];
	bucket_label(bs->z, t0 < bs->start ? bs->start : t0, bs->iv, a, 32);
	bucket_label(bs->z, t1 < bs->start ? bs->start : t1, bs->iv, b,
	             sizeof(b));
	return strcmp(a, b) == 0;
}

static bool bucket_groups(struct block_sum *bs, int64_t day,
                          struct hour_groups *hg)
{
	char a[32];
	/* A day whose first and last hours start in one bucket (a day,
	 * week or month) is in it all through. */
	if (one_bucket(bs, day * 86400, day * 86400 + 23 * 3600, a)) {
		int64_t g = analytics_groups_index(bs->g, a, strlen(a));
		for (int h = 0; h < 24; h++)
			hg->g[h] = g;
		return g >= 0;
	}
	for (int h = 0; h < 24; h++) {
		int64_t t = day * 86400 + h * 3600;
		bucket_label(bs->z, t < bs->start ? bs->start : t, bs->iv, a,
		             sizeof(a));
		if ((hg->g[h] = analytics_groups_index(bs->g, a, strlen(a))) <
		    0)
			return false;
	}
	return true;
}

/* Per day scratch: what a visit's rows add up to, by key. */
struct day_keys {
	int64_t *vg;            /* per value of the key's column */
	int64_t *entry_of_path; /* BK_PAGE: a path's entry_page value, once
	                         * found (-1: not yet) */
	/* BK_GOAL: the goals each path ([0]) and event name ([1]) reaches,
	 * goal[off[k]] to goal[off[k + 1]] for value k; per goal, this
	 * visit's hits. */
	uint32_t *goal_off[2], *goal[2];
	int64_t *hits;
	/* BK_GROUP: per path value a bit for each content group it is in;
	 * per group, this visit's page views (hits[x]) and time on its pages
	 * (hits[n_cgroups + x]). */
	uint64_t *in_group;
	int64_t prop; /* BK_EVENT, BK_PROP: the prop's place */
	int64_t all;  /* BK_ALL: its one group, -1 until used */
	struct hour_groups hg;
	const struct analytics_block_text *kc; /* the key's column, or NULL */
	/* Per visit, the page views and time its sums add: the visit's, or
	 * under a page_scoped() filter those of the pages kept (keep[k] for
	 * path value k), into kept[] (2 x the day's visits). */
	const int64_t *pv, *eng;
	uint8_t *keep;
	int64_t *kept;
	/* block_sum's g2: a value's group in g (its vg, the day's) and per
	 * group of g its group in g2, or -1 (paired_group()). */
	const int64_t *up_vg;
	int64_t *of_up;
};

/* lazy_group() for g2 (block_sum's sc2), through the value's group in
 * g, which every value of sc2's visits has (they are sc's): a value is
 * looked up by its key once a scan, not once a day. */
static int64_t paired_group(struct analytics_groups *g2, struct day_keys *dk,
                            const struct analytics_block_text *c, uint32_t k)
{
	if (dk->vg[k] >= 0)
		return dk->vg[k];
	int64_t up = dk->up_vg[k];
	if (up >= 0 && dk->of_up[up] >= 0)
		return dk->vg[k] = dk->of_up[up];
	int64_t gi = lazy_group(g2, dk->vg, c, k);
	if (up >= 0)
		dk->of_up[up] = gi;
	return gi;
}

/* The group of value k of the key's column c into vg (dk's), whichever
 * groups bs->g is. */
static int64_t key_group(struct block_sum *bs, struct day_keys *dk,
                         const struct analytics_block_text *c, uint32_t k)
{
	return dk->up_vg ? paired_group(bs->g, dk, c, k)
	                 : lazy_group(bs->g, dk->vg, c, k);
}

/* The groups of the values a day met, in byte order, for the next day's
 * (scan_days()): days share most of their values, and pairing two sorted
 * lists costs a comparison a value where looking each up cost a keyed
 * hash and a probe, a sixth of a year's page breakdown. */
struct carry {
	uint32_t *group;
	size_t n, cap;
	/* add_pages()' scratch, kept from day to day. */
	uint32_t *start; /* per path, then where its rows go */
	int64_t *sums;   /* per path: page views, bounces, engagement */
	size_t paths_cap;
	uint32_t *rows; /* the visit of each row, by path */
	size_t rows_cap;
	/* A pruned scan's rows to place: each one's row and visit. */
	uint32_t *pair;
	size_t pair_cap;
	/* g2's carry (block_sum's sc2): per group of g, its group in g2, or
	 * -1 (g's values outnumber g2's). */
	int64_t *of_g;
	size_t of_g_cap;
};

/* Byte order, as blocks sort their values. */
static int bytes_cmp(const char *a, size_t la, const char *b, size_t lb)
{
	int c = memcmp(a, b, la < lb ? la : lb);
	return c ? c : (la > lb) - (la < lb);
}

/* dk->vg from the values the day before met. */
static void carry_in(const struct block_sum *bs, const struct carry *cy,
                     struct day_keys *dk)
{
	const struct analytics_block_text *kc = dk->kc;
	size_t j = 0;
	for (size_t k = 0; k < kc->n && j < cy->n; k++) {
		int c = 1;
		while (j < cy->n) {
			size_t len;
			const char *key =
			        analytics_groups_key(bs->g, cy->group[j], &len);
			if ((c = bytes_cmp(key, len, kc->str[k], kc->len[k])) >=
			    0)
				break;
			j++;
		}
		if (c == 0)
			dk->vg[k] = cy->group[j++];
	}
}

/* The values this day met, for the next. */
static bool carry_out(struct carry *cy, const struct day_keys *dk)
{
	cy->n = 0;
	if (!dk->kc)
		return true;
	if (cy->cap < dk->kc->n) {
		uint32_t *g = realloc(cy->group, dk->kc->n * sizeof(*g));
		if (!g)
			return false;
		cy->group = g, cy->cap = dk->kc->n;
	}
	for (size_t k = 0; k < dk->kc->n; k++)
		if (dk->vg[k] >= 0)
			cy->group[cy->n++] = (uint32_t)dk->vg[k];
	return true;
}

/* Double *list's room (*cap entries). */
static bool room_u32(uint32_t **list, size_t *cap)
{
	uint32_t *l = realloc(*list, *cap * 2 * sizeof(**list));
	if (!l)
		return false;
	*list = l, *cap *= 2;
	return true;
}

/* A pruned scan's day: dk->vg of the values it sums and dk->keep marking
 * them (1: rows summed, 2: visits alone), each found by a galloping
 * search from the last one's place: a few comparisons a value summed,
 * where the carry made one a value of the day. */
static bool prune_map(const struct prune *pr, struct day_keys *dk)
{
	const struct analytics_block_text *kc = dk->kc;
	if (!(dk->keep = calloc(kc->n ? kc->n : 1, 1)))
		return false;
	size_t lo = 0;
	for (size_t j = 0; j < pr->n && lo < kc->n; j++) {
		size_t i = pr->by_bytes[j], hi = lo;
		for (size_t step = 1;
		     hi < kc->n && bytes_cmp(kc->str[hi], kc->len[hi],
		                             pr->key[i], pr->len[i]) < 0;
		     step *= 2) {
			lo = hi + 1;
			hi += step;
		}
		if (hi > kc->n)
			hi = kc->n;
		while (lo < hi) {
			size_t mid = lo + (hi - lo) / 2;
			if (bytes_cmp(kc->str[mid], kc->len[mid], pr->key[i],
			              pr->len[i]) < 0)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo < kc->n && bytes_cmp(kc->str[lo], kc->len[lo],
		                            pr->key[i], pr->len[i]) == 0) {
			dk->vg[lo] = (int64_t)i;
			dk->keep[lo] = i < pr->n_logged ? 1 : 2;
		}
	}
	return true;
}

/* n group indices, none found yet (-1); NULL when out of memory.  The
 * caller frees it. */
static int64_t *unfound(size_t n)
{
	int64_t *a = malloc((n ? n : 1) * sizeof(*a));
	for (size_t k = 0; a && k < n; k++)
		a[k] = -1;
	return a;
}

static bool day_keys_ready(struct block_sum *bs,
                           const struct analytics_block *b,
                           const struct carry *cy, struct day_keys *dk)
{
	memset(dk, 0, sizeof(*dk));
	dk->all = -1;
	dk->pv = b->ints[ANALYTICS_BC_PAGEVIEWS];
	dk->eng = b->ints[ANALYTICS_BC_ENGAGEMENT];
	const struct analytics_block_text *kc = NULL;
	switch (bs->key) {
	case BK_ALL: break;
	case BK_BUCKET: return bucket_groups(bs, b->day, &dk->hg);
	case BK_COLUMN: kc = &b->text[bs->col]; break;
	case BK_PAGE: kc = &b->text[ANALYTICS_BC_PAGE_PATH]; break;
	case BK_EVENT: kc = &b->text[ANALYTICS_BC_EVENT_NAME]; break;
	case BK_PROP: kc = &b->text[ANALYTICS_BC_EVENT_VALUE]; break;
	case BK_GOAL:
	case BK_GROUP: break;
	}
	if (kc) {
		if (!(dk->vg = unfound(kc->n)))
			return false;
		dk->kc = kc;
		if (bs->prune && bs->key == BK_PAGE) {
			if (!prune_map(bs->prune, dk))
				return false;
		} else {
			carry_in(bs, cy, dk);
		}
	}
	if (bs->key == BK_EVENT || bs->key == BK_PROP || bs->key == BK_GOAL)
		dk->prop = text_find(&b->text[ANALYTICS_BC_EVENT_PROP],
		                     bs->key == BK_PROP ? bs->prop : "");
	if (bs->key == BK_PAGE) {
		/* Filled as bounces need them (path_is_entry()): a walk of
		 * both values lists was half the day's string compares. */
		if (!(dk->entry_of_path = unfound(kc->n)))
			return false;
	}
	if (bs->key == BK_GOAL) {
		dk->hits = calloc(bs->n_goals ? bs->n_goals : 1,
		                  sizeof(*dk->hits));
		if (!dk->hits)
			return false;
		/* Lists, not a flag per goal and value: most paths reach
		 * none, and a visit's rows then cost a comparison each. */
		for (int pg = 0; pg < 2; pg++) {
			const struct analytics_block_text *c =
			        &b->text[pg == 0 ? ANALYTICS_BC_PAGE_PATH
			                         : ANALYTICS_BC_EVENT_NAME];
			enum analytics_goal_kind kind =
			        pg == 0 ? ANALYTICS_GOAL_PAGE
			                : ANALYTICS_GOAL_EVENT;
			size_t cap = 16, used = 0;
			dk->goal_off[pg] =
			        malloc((c->n + 1) * sizeof(uint32_t));
			dk->goal[pg] = malloc(cap * sizeof(uint32_t));
			if (!dk->goal_off[pg] || !dk->goal[pg])
				return false;
			for (size_t k = 0; k < c->n; k++) {
				dk->goal_off[pg][k] = (uint32_t)used;
				for (size_t gi = 0; gi < bs->n_goals; gi++) {
					const struct analytics_goal *x =
					        bs->goals[gi];
					if (x->kind != kind ||
					    !text_matches(x->pattern, pg == 0,
					                  c->str[k], c->len[k]))
						continue;
					if (used == cap &&
					    !room_u32(&dk->goal[pg], &cap))
						return false;
					dk->goal[pg][used++] = (uint32_t)gi;
				}
			}
			dk->goal_off[pg][c->n] = (uint32_t)used;
		}
	}
	if (bs->key == BK_GROUP) {
		const struct analytics_block_text *p =
		        &b->text[ANALYTICS_BC_PAGE_PATH];
		dk->hits = calloc(2 * (bs->n_cgroups ? bs->n_cgroups : 1),
		                  sizeof(*dk->hits));
		if (!dk->hits)
			return false;
		if (bs->day_groups) {
			dk->in_group = bs->day_groups;
			return true;
		}
		dk->in_group = calloc(p->n ? p->n : 1, sizeof(*dk->in_group));
		if (!dk->in_group)
			return false;
		for (size_t x = 0; x < bs->n_cgroups; x++) {
			uint8_t *ok = alt_verdicts(p, &bs->cgroups[x]);
			if (!ok)
				return false;
			for (size_t k = 0; k < p->n; k++)
				dk->in_group[k] |= (uint64_t)ok[k] << x;
			free(ok);
		}
	}
	return true;
}

/* dk->keep and the page views and time of the pages kept, for the m
 * visits sel lists (page_scoped()). */
static bool kept_pages(const struct scope *sc, const struct analytics_block *b,
                       struct day_keys *dk, const uint32_t *sel, size_t m)
{
	const struct analytics_block_text *p = &b->text[ANALYTICS_BC_PAGE_PATH];
	if (!(dk->keep = malloc(p->n ? p->n : 1)) ||
	    !(dk->kept = calloc(2 * (b->n ? b->n : 1), sizeof(*dk->kept))))
		return false;
	/* A page of any of the page== filters (page_conds()). */
	memset(dk->keep, 0, p->n);
	for (size_t f = 0; f < sc->n_filters; f++) {
		if (sc->filters[f].kind != F_PAGE || sc->filters[f].negate)
			continue;
		uint8_t *ok = alt_verdicts(p, &sc->filters[f]);
		if (!ok)
			return false;
		for (size_t k = 0; k < p->n; k++)
			dk->keep[k] |= ok[k];
		free(ok);
	}
	int64_t *pv = dk->kept, *eng = dk->kept + b->n;
	const int64_t *views = b->ints[ANALYTICS_BC_PAGE_VIEWS],
	              *time = b->ints[ANALYTICS_BC_PAGE_ENGAGEMENT];
	for (size_t j = 0; j < m; j++) {
		uint32_t i = sel[j];
		for (uint32_t r = b->page_off[i]; r < b->page_off[i + 1]; r++)
			if (dk->keep[p->idx[r]]) {
				pv[i] += views[r];
				eng[i] += time[r];
			}
	}
	dk->pv = pv;
	dk->eng = eng;
	return true;
}

static void day_keys_free(struct day_keys *dk)
{
	free(dk->keep);
	free(dk->kept);
	free(dk->vg);
	free(dk->entry_of_path);
	for (int pg = 0; pg < 2; pg++) {
		free(dk->goal_off[pg]);
		free(dk->goal[pg]);
	}
	free(dk->hits);
	free(dk->in_group);
}

/* Add visit i of day b (which passed) to bs->g by the key. */
/* BK_BUCKET: the group of a visit that started at UTC second t (that of
 * its hour, struct hour_groups). */
static int64_t bucket_group(const struct analytics_block *b,
                            const struct day_keys *dk, int64_t t)
{
	return dk->hg.g[(t - b->day * 86400) / 3600];
}

/* BK_GROUP: visit i into each content group it read a page of, as the
 * summary of the scope with that group's filter added sums it (a page
 * filter, kept_pages()): its page views and time those of the pages the
 * group's patterns or the scope's own page filters keep, its bounce,
 * duration and events the whole visit's. */
static bool add_grouped(struct block_sum *bs, const struct analytics_block *b,
                        struct day_keys *dk, size_t i)
{
	const uint32_t *path = b->text[ANALYTICS_BC_PAGE_PATH].idx;
	const int64_t *views = b->ints[ANALYTICS_BC_PAGE_VIEWS],
	              *time = b->ints[ANALYTICS_BC_PAGE_ENGAGEMENT],
	              *pv = b->ints[ANALYTICS_BC_PAGEVIEWS],
	              *ev = b->ints[ANALYTICS_BC_EVENTS];
	size_t n = bs->n_cgroups;
	int64_t *gv = dk->hits, *ge = dk->hits + n;
	uint64_t read = 0;
	for (uint32_t r = b->page_off[i]; r < b->page_off[i + 1]; r++) {
		uint64_t in = dk->in_group[path[r]];
		read |= in;
		/* Kept by the scope's filters: in dk->pv already. */
		if (dk->keep && dk->keep[path[r]])
			continue;
		for (uint64_t m = in; m; m &= m - 1) {
			int x = __builtin_ctzll(m);
			gv[x] += views[r];
			ge[x] += time[r];
		}
	}
	struct analytics_totals tt = {
	        .visits = 1,
	        .bounces = pv[i] <= 1 && ev[i] == 0,
	        .duration_ms = b->ints[ANALYTICS_BC_DURATION][i],
	        .events = ev[i],
	};
	int64_t who = b->ints[ANALYTICS_BC_VISITOR][i];
	for (uint64_t m = read; m; m &= m - 1) {
		int x = __builtin_ctzll(m);
		tt.pageviews = (dk->keep ? dk->pv[i] : 0) + gv[x];
		tt.engagement_ms = (dk->keep ? dk->eng[i] : 0) + ge[x];
		gv[x] = ge[x] = 0;
		if (bs->named_group[x] < 0)
			bs->named_group[x] = analytics_groups_index(
			        bs->g, bs->cgroups[x].value,
			        strlen(bs->cgroups[x].value));
		if (bs->named_group[x] < 0 ||
		    !analytics_groups_add_at(bs->g, (size_t)bs->named_group[x],
		                             who, &tt))
			return false;
	}
	return true;
}

static bool add_visit(struct block_sum *bs, const struct analytics_block *b,
                      struct day_keys *dk, size_t i, int64_t t)
{
	const int64_t *pv = b->ints[ANALYTICS_BC_PAGEVIEWS],
	              *ev = b->ints[ANALYTICS_BC_EVENTS];
	int64_t who = b->ints[ANALYTICS_BC_VISITOR][i];
	struct analytics_totals tt = {.visits = 1};
	int64_t gi = -1;
	switch (bs->key) {
	case BK_ALL:
	case BK_COLUMN:
	case BK_BUCKET:
		tt.pageviews = dk->pv[i];
		tt.bounces = pv[i] <= 1 && ev[i] == 0;
		tt.duration_ms = b->ints[ANALYTICS_BC_DURATION][i];
		tt.events = ev[i];
		tt.engagement_ms = dk->eng[i];
		if (bs->key == BK_ALL) {
			if (dk->all < 0)
				dk->all = analytics_groups_index(bs->g, "", 0);
			gi = dk->all;
		} else if (bs->key == BK_COLUMN) {
			gi = key_group(bs, dk, &b->text[bs->col],
			               b->text[bs->col].idx[i]);
		} else {
			gi = bucket_group(b, dk, t);
		}
		return gi >= 0 &&
		       analytics_groups_add_at(bs->g, (size_t)gi, who, &tt);
	case BK_PAGE: /* add_pages(), a day at a time */ return false;
	case BK_EVENT:
	case BK_PROP: {
		const struct analytics_block_text *c =
		        &b->text[bs->key == BK_EVENT
		                         ? ANALYTICS_BC_EVENT_NAME
		                         : ANALYTICS_BC_EVENT_VALUE];
		const uint32_t *prop = b->text[ANALYTICS_BC_EVENT_PROP].idx;
		const int64_t *n = b->ints[ANALYTICS_BC_EVENT_N];
		uint32_t r0 = b->event_off[i], r1 = b->event_off[i + 1];
		for (uint32_t r = r0; r < r1; r++) {
			if ((int64_t)prop[r] != dk->prop)
				continue;
			/* A visit once a value: its rows of it (a property's
			 * under several event names) summed at the first. */
			bool first = true;
			for (uint32_t q = r0; first && q < r; q++)
				first = (int64_t)prop[q] != dk->prop ||
				        c->idx[q] != c->idx[r];
			if (!first)
				continue;
			tt.events = 0;
			for (uint32_t q = r; q < r1; q++)
				if ((int64_t)prop[q] == dk->prop &&
				    c->idx[q] == c->idx[r])
					tt.events += n[q];
			if ((gi = key_group(bs, dk, c, c->idx[r])) < 0 ||
			    !analytics_groups_add_at(bs->g, (size_t)gi, who,
			                             &tt))
				return false;
		}
		return true;
	}
	case BK_GOAL: {
		const uint32_t *path = b->text[ANALYTICS_BC_PAGE_PATH].idx,
		               *name = b->text[ANALYTICS_BC_EVENT_NAME].idx,
		               *prop = b->text[ANALYTICS_BC_EVENT_PROP].idx;
		uint32_t *const *off = dk->goal_off, *const *goal = dk->goal;
		for (uint32_t r = b->page_off[i]; r < b->page_off[i + 1]; r++)
			for (uint32_t j = off[0][path[r]];
			     j < off[0][path[r] + 1]; j++)
				dk->hits[goal[0][j]] +=
				        b->ints[ANALYTICS_BC_PAGE_VIEWS][r];
		for (uint32_t r = b->event_off[i]; r < b->event_off[i + 1]; r++)
			if ((int64_t)prop[r] == dk->prop)
				for (uint32_t j = off[1][name[r]];
				     j < off[1][name[r] + 1]; j++)
					dk->hits[goal[1][j]] +=
					        b->ints[ANALYTICS_BC_EVENT_N]
					               [r];
		for (size_t x = 0; x < bs->n_goals; x++) {
			tt.events = dk->hits[x];
			dk->hits[x] = 0;
			if (tt.events <= 0)
				continue;
			if (bs->named_group[x] < 0)
				bs->named_group[x] = analytics_groups_index(
				        bs->g, bs->goals[x]->name,
				        strlen(bs->goals[x]->name));
			if (bs->named_group[x] < 0 ||
			    !analytics_groups_add_at(bs->g,
			                             (size_t)bs->named_group[x],
			                             who, &tt))
				return false;
		}
		return true;
	}
	case BK_GROUP: return add_grouped(bs, b, dk, i);
	}
	return false;
}

/* Whether path k of p is entry value x of e: the same bytes.  Values are
 * unique in their list, so a path equals one entry value at most, kept in
 * memo[k] once found. */
static bool path_is_entry(int64_t *memo, const struct analytics_block_text *p,
                          uint32_t k, const struct analytics_block_text *e,
                          uint32_t x)
{
	if (memo[k] == (int64_t)x)
		return true;
	if (p->len[k] != e->len[x] || memcmp(p->str[k], e->str[x], p->len[k]))
		return false;
	memo[k] = x;
	return true;
}

/* BK_PAGE: the page rows of the m visits sel lists, summed by path for
 * the day first, then each path's into its group in one go.  Row by row
 * into the groups, each row's group was a cache miss (a year's pages are
 * thousands of groups), a tenth of a year's breakdown. */
static bool add_pages(struct block_sum *bs, const struct analytics_block *b,
                      struct day_keys *dk, struct carry *cy,
                      const uint32_t *sel, size_t m)
{
	const struct analytics_block_text *p = &b->text[ANALYTICS_BC_PAGE_PATH];
	const struct analytics_block_text *e = &b->text[ANALYTICS_BC_TEXT];
	const uint32_t *path = p->idx, *entry = e->idx;
	const int64_t *pv = b->ints[ANALYTICS_BC_PAGEVIEWS],
	              *ev = b->ints[ANALYTICS_BC_EVENTS],
	              *views = b->ints[ANALYTICS_BC_PAGE_VIEWS],
	              *eng = b->ints[ANALYTICS_BC_PAGE_ENGAGEMENT];
	size_t nk = p->n;
	if (cy->paths_cap < nk + 1) {
		size_t cap = (nk + 1) * 2;
		uint32_t *st = realloc(cy->start, cap * sizeof(*st));
		if (st)
			cy->start = st;
		int64_t *su = realloc(cy->sums, cap * 3 * sizeof(*su));
		if (su)
			cy->sums = su;
		if (!st || !su)
			return false;
		cy->paths_cap = cap;
	}
	uint32_t *start = cy->start;
	int64_t *sums = cy->sums;
	memset(start, 0, (nk + 1) * sizeof(*start));
	memset(sums, 0, nk * 3 * sizeof(*sums));
	size_t n = 0;
	/* Bounds and pointers in locals: start[] is a uint32_t array as the
	 * offsets are, so the compiler reloaded both every row. */
	const uint32_t *off = b->page_off;
	const uint8_t *keep = dk->keep;
	/* Pruned, every path is counted (the others' largest is the
	 * bound) and the rows to place listed in the same pass: a second
	 * walk of every visit's rows was a fifth of the pruned scan. */
	bool pruned = bs->prune != NULL;
	size_t placed = 0;
	if (pruned && cy->pair_cap < 2 * b->n_pages) {
		uint32_t *l = realloc(cy->pair, 4 * b->n_pages * sizeof(*l));
		if (!l)
			return false;
		cy->pair = l, cy->pair_cap = 4 * b->n_pages;
	}
	uint32_t *pair = cy->pair;
	for (size_t j = 0; pruned && j < m; j++) {
		uint32_t i = sel[j], r0 = off[i], r1 = off[i + 1];
		n += r1 - r0;
		for (uint32_t r = r0; r < r1; r++) {
			uint32_t k = path[r];
			start[k + 1]++;
			pair[2 * placed] = r;
			pair[2 * placed + 1] = i;
			placed += keep[k] == 1;
		}
	}
	for (size_t j = 0; !pruned && j < m; j++) {
		uint32_t r0 = off[sel[j]], r1 = off[sel[j] + 1];
		n += r1 - r0;
		for (uint32_t r = r0; r < r1; r++)
			start[path[r] + 1] += !keep || keep[path[r]];
	}
	if (pruned) {
		/* The others' visits, counted and not placed: the largest
		 * into the bound, a visits-only value's into its group. */
		uint32_t most = 0;
		for (size_t k = 0; k < nk; k++) {
			uint32_t v = keep[k] == 1 ? 0 : start[k + 1];
			if (keep[k] == 2 && v) {
				struct analytics_totals t = {.visits = v};
				if (!analytics_groups_add_rows(
				            bs->g, (size_t)dk->vg[k], NULL,
				            NULL, 0, &t))
					return false;
			} else {
				most = v > most ? v : most;
			}
			start[k + 1] -= v;
		}
		bs->bound[bs->g == bs->g2] += most;
	}
	if (cy->rows_cap < n) {
		uint32_t *rows = realloc(cy->rows, n * 2 * sizeof(*rows));
		if (!rows)
			return false;
		cy->rows = rows, cy->rows_cap = n * 2;
	}
	for (size_t k = 0; k < nk; k++)
		start[k + 1] += start[k];
	/* start[k] moves on to path k + 1's first row as k's are placed. */
	uint32_t *rows = cy->rows;
	bool only_visitors = bs->visitors_only && bs->g != bs->g2;
	for (size_t x = 0; x < placed; x++) {
		uint32_t r = pair[2 * x], i = pair[2 * x + 1], k = path[r];
		rows[start[k]++] = i;
		if (only_visitors)
			continue;
		sums[3 * k] += views[r];
		sums[3 * k + 1] +=
		        pv[i] <= 1 && ev[i] == 0 &&
		        path_is_entry(dk->entry_of_path, p, k, e, entry[i]);
		sums[3 * k + 2] += eng[r];
	}
	for (size_t j = 0; !pruned && only_visitors && j < m; j++) {
		uint32_t i = sel[j], r1 = off[i + 1];
		for (uint32_t r = off[i]; r < r1; r++)
			if (!keep || keep[path[r]] == 1)
				rows[start[path[r]]++] = i;
	}
	for (size_t j = 0; !pruned && !only_visitors && j < m; j++) {
		uint32_t i = sel[j];
		bool bounce = pv[i] <= 1 && ev[i] == 0;
		uint32_t r1 = off[i + 1];
		for (uint32_t r = off[i]; r < r1; r++) {
			uint32_t k = path[r];
			if (keep && keep[k] != 1)
				continue;
			rows[start[k]++] = i;
			sums[3 * k] += views[r];
			sums[3 * k + 1] +=
			        bounce && path_is_entry(dk->entry_of_path, p, k,
			                                e, entry[i]);
			sums[3 * k + 2] += eng[r];
		}
	}
	for (size_t k = 0, from = 0; k < nk; from = start[k++]) {
		if (start[k] == from)
			continue;
		struct analytics_totals t = {
		        .visits = (int64_t)(start[k] - from),
		        .pageviews = sums[3 * k],
		        .bounces = sums[3 * k + 1],
		        .engagement_ms = sums[3 * k + 2],
		};
		int64_t gi = key_group(bs, dk, p, (uint32_t)k);
		if (gi < 0 ||
		    !analytics_groups_add_rows(
		            bs->g, (size_t)gi, b->ints[ANALYTICS_BC_VISITOR],
		            cy->rows + from, start[k] - from, &t))
			return false;
	}
	return true;
}

/* The m visits sel lists summed in one go into group gi: a call a visit
 * took a third of a year's summary.  Without the sums' columns (BK_GOAL's
 * total), visits and visitors only. */
static bool add_run(struct block_sum *bs, const struct analytics_block *b,
                    const struct day_keys *dk, int64_t gi, const uint32_t *sel,
                    size_t m)
{
	const int64_t *pv = b->ints[ANALYTICS_BC_PAGEVIEWS],
	              *ev = b->ints[ANALYTICS_BC_EVENTS],
	              *dur = b->ints[ANALYTICS_BC_DURATION], *eng = dk->eng,
	              *views = dk->pv;
	struct analytics_totals sum = {.visits = (int64_t)m};
	for (size_t j = 0; dur && j < m; j++) {
		uint32_t i = sel[j];
		sum.pageviews += views[i];
		sum.bounces += pv[i] <= 1 && ev[i] == 0;
		sum.duration_ms += dur[i];
		sum.events += ev[i];
		sum.engagement_ms += eng[i];
	}
	return gi >= 0 && analytics_groups_add_rows(
	                          bs->g, (size_t)gi,
	                          b->ints[ANALYTICS_BC_VISITOR], sel, m, &sum);
}

/* BK_ALL and BK_BUCKET: the visits sel lists, in runs of one group (a
 * day's visits are in the order they started, so a bucket's are
 * together). */
static bool add_runs(struct block_sum *bs, const struct analytics_block *b,
                     struct day_keys *dk, const uint32_t *sel, size_t m)
{
	if (bs->key == BK_ALL) {
		if (dk->all < 0)
			dk->all = analytics_groups_index(bs->g, "", 0);
		return add_run(bs, b, dk, dk->all, sel, m);
	}
	const int64_t *sec = b->ints[ANALYTICS_BC_SECOND];
	size_t from = 0;
	int64_t run = -1;
	for (size_t j = 0; j < m; j++) {
		int64_t gi = bucket_group(
		        b, dk, b->day * 86400 + (sec ? sec[sel[j]] : 0));
		if (gi < 0)
			return false;
		if (gi != run) {
			if (j > from &&
			    !add_run(bs, b, dk, run, sel + from, j - from))
				return false;
			from = j, run = gi;
		}
	}
	return add_run(bs, b, dk, run, sel + from, m - from);
}

/* The m visits sel lists into bs->g by the key. */
static bool add_selected(struct block_sum *bs, const struct analytics_block *b,
                         struct day_keys *dk, struct carry *cy,
                         const uint32_t *sel, size_t m)
{
	if (bs->key == BK_ALL || bs->key == BK_BUCKET)
		return add_runs(bs, b, dk, sel, m);
	if (bs->key == BK_PAGE)
		return add_pages(bs, b, dk, cy, sel, m);
	const int64_t *sec = b->ints[ANALYTICS_BC_SECOND];
	bool ok = true;
	for (size_t j = 0; ok && j < m; j++)
		ok = add_visit(bs, b, dk, sel[j],
		               b->day * 86400 + (sec ? sec[sel[j]] : 0));
	return ok;
}

/* Of the m visits of day b that sel lists (bs->sc's), those that also
 * reach bs->sc2's goals into bs->g2, as block_day() adds sc's to g: the
 * pages kept by a page filter are dk's (sc2 has sc's).  pass2 and sel2
 * have room for the day's visits; cy is g2's carry. */
static bool add_converted(struct block_sum *bs, const struct analytics_block *b,
                          const struct day_keys *dk, uint8_t *pass2,
                          const uint32_t *sel, size_t m, uint32_t *sel2,
                          struct carry *cy)
{
	memset(pass2, 1, b->n);
	const struct scope *sc2 = bs->sc2;
	for (size_t f = 0; f < sc2->n_filters; f++)
		if (sc2->filters[f].kind == F_GOAL && !sc2->filters[f].negate &&
		    !goal_day(&sc2->filters[f], b, pass2, sel, m))
			return false;
	size_t m2 = 0;
	for (size_t j = 0; j < m; j++) {
		sel2[m2] = sel[j];
		m2 += pass2[sel[j]];
	}
	/* The helpers below add to bs->g: g2 in its place meanwhile. */
	struct analytics_groups *g = bs->g;
	int64_t *named = bs->named_group;
	bs->g = bs->g2;
	bs->named_group = bs->named_group2;
	bs->day_groups = dk->in_group;
	struct day_keys dk2;
	bool ok = day_keys_ready(bs, b, cy, &dk2);
	bs->day_groups = NULL;
	/* A page filter's pages (a pruned scan's keep is dk2's own). */
	if (ok && dk->keep && !bs->prune) {
		dk2.pv = dk->pv;
		dk2.eng = dk->eng;
		dk2.keep = dk->keep;
	}
	/* Its values' groups found through g's (paired_group()). */
	size_t ng = analytics_groups_count(g);
	if (ok && dk2.kc && cy->of_g_cap < ng) {
		size_t cap = ng * 2;
		int64_t *grown = realloc(cy->of_g, cap * sizeof(*grown));
		if ((ok = grown != NULL)) {
			for (size_t k = cy->of_g_cap; k < cap; k++)
				grown[k] = -1;
			cy->of_g = grown, cy->of_g_cap = cap;
		}
	}
	if (ok && dk2.kc) {
		dk2.up_vg = dk->vg;
		dk2.of_up = cy->of_g;
	}
	if (ok && m2)
		ok = add_selected(bs, b, &dk2, cy, sel2, m2);
	if (dk->keep && !bs->prune)
		dk2.keep = NULL; /* dk's */
	if (dk2.in_group == dk->in_group)
		dk2.in_group = NULL; /* dk's */
	day_keys_free(&dk2);
	bs->g = g;
	bs->named_group = named;
	return ok;
}

/* A day's sums by content group kept with its blocks' bytes in the
 * cache, as Matomo archives a day's reports: a range's breakdown by
 * group without a filter adds the days' sums, a few sketches each,
 * rather than reading their visits' page rows again (a year's took 60-70
 * ms).  Only for whole days: those of no edge of the range, all of whose
 * visits a scope without filters sums.  The tag: the groups' fingerprint
 * and the ids of the rows the sums are read from, which name their bytes
 * (a rebuilt day's rows are new ids). */
static uint64_t day_tag(const struct block_sum *bs,
                        const struct analytics_block *b)
{
	static const int cols[] = {
	        ANALYTICS_BC_VISITOR,         ANALYTICS_BC_PAGEVIEWS,
	        ANALYTICS_BC_EVENTS,          ANALYTICS_BC_DURATION,
	        ANALYTICS_BC_NPAGES,          ANALYTICS_BC_PAGE_VIEWS,
	        ANALYTICS_BC_PAGE_ENGAGEMENT, ANALYTICS_BC_PAGE_PATH};
	if (bs->key != BK_GROUP || !bs->groups_tag || bs->sc->n_filters ||
	    !bs->sc->cache || b->ints[ANALYTICS_BC_SECOND])
		return 0;
	uint64_t tag = bs->groups_tag;
	for (size_t k = 0; k < sizeof(cols) / sizeof(cols[0]); k++) {
		if (!b->id[cols[k]])
			return 0;
		tag = seula_hll_mix(tag ^ (uint64_t)b->id[cols[k]]);
	}
	return tag;
}

static void groups_free_value(void *g)
{
	analytics_groups_free(g);
}

/* BK_GROUP, a whole day (day_tag() is not 0) not kept yet: its sums by
 * group summed apart, added to bs->g, and kept with the day's path
 * column in the cache (held). */
static bool add_day_kept(struct block_sum *bs, const struct analytics_block *b,
                         struct day_keys *dk, struct carry *cy,
                         const uint32_t *sel, size_t m,
                         const struct analytics_cached_block *held,
                         uint64_t tag)
{
	struct analytics_groups *day = analytics_groups_new();
	int64_t *named = unfound(bs->n_cgroups);
	bool ok = day && named;
	if (ok) {
		/* Nothing logged: analytics_groups_add_all() reads it. */
		analytics_groups_limits(day, SIZE_MAX, 1);
		struct analytics_groups *g = bs->g;
		int64_t *g_named = bs->named_group;
		bs->g = day, bs->named_group = named;
		ok = add_selected(bs, b, dk, cy, sel, m);
		bs->g = g, bs->named_group = g_named;
	}
	ok = ok && analytics_groups_add_all(bs->g, day);
	free(named);
	if (ok)
		analytics_groups_shrink(day);
	if (day &&
	    (!ok || !analytics_block_cache_memo_put(
	                    bs->sc->cache, held, tag, day,
	                    analytics_groups_bytes(day), groups_free_value)))
		analytics_groups_free(day);
	return ok;
}

/* Add one day's visits of the scope to bs->g (and of bs->sc2 to bs->g2).
 * pass and sel have room for twice the day's visits. */
static enum analytics_status block_day(struct block_sum *bs,
                                       const struct analytics_block *b,
                                       uint8_t *pass, uint32_t *sel,
                                       struct carry *cy)
{
	const struct scope *sc = bs->sc;
	uint64_t tag = day_tag(bs, b);
	const struct analytics_cached_block *held =
	        tag ? analytics_block_cache_get(sc->cache,
	                                        b->id[ANALYTICS_BC_PAGE_PATH])
	            : NULL;
	const struct analytics_groups *kept =
	        held ? analytics_block_cache_memo(sc->cache, held, tag) : NULL;
	if (kept && !bs->sc2) {
		bool ok = analytics_groups_add_all(bs->g, kept);
		analytics_block_cache_release(sc->cache, held);
		return ok ? ANALYTICS_OK : ANALYTICS_DB_ERROR;
	}
	memset(pass, 1, b->n);
	for (size_t f = 0; f < sc->n_filters; f++)
		if (!filter_day(sc, &sc->filters[f], b, pass)) {
			analytics_block_cache_release(sc->cache, held);
			return ANALYTICS_DB_ERROR;
		}
	struct day_keys dk;
	bool ok = day_keys_ready(bs, b, cy, &dk);
	/* Without start times (a day wholly inside the range), its start. */
	const int64_t *sec = b->ints[ANALYTICS_BC_SECOND];
	int64_t t0 = sc->t0 - b->day * 86400, t1 = sc->t1 - b->day * 86400;
	/* The visits that pass listed first, without a branch: which do is
	 * as good as random, and a branch on each cost a tenth of a year's
	 * breakdown in mispredictions. */
	size_t m = 0;
	for (size_t i = 0; i < b->n; i++) {
		int64_t t = sec ? sec[i] : 0;
		sel[m] = (uint32_t)i;
		m += pass[i] & (t >= t0) & (t < t1);
	}
	if (ok && m && page_scoped(sc))
		ok = kept_pages(sc, b, &dk, sel, m);
	if (bs->total && ok && m) {
		if (dk.all < 0)
			dk.all = analytics_groups_index(bs->g, "", 0);
		ok = add_run(bs, b, &dk, dk.all, sel, m);
	}
	if (ok && m && kept)
		ok = analytics_groups_add_all(bs->g, kept);
	else if (ok && m && held && m == b->n)
		ok = add_day_kept(bs, b, &dk, cy, sel, m, held, tag);
	else if (ok && m)
		ok = add_selected(bs, b, &dk, cy, sel, m);
	ok = ok && carry_out(cy, &dk);
	if (ok && bs->sc2)
		ok = add_converted(bs, b, &dk, pass + b->n, sel, m, sel + b->n,
		                   cy + 1);
	day_keys_free(&dk);
	analytics_block_cache_release(sc->cache, held);
	return ok ? ANALYTICS_OK : ANALYTICS_DB_ERROR;
}

/* The days of a run handed out to the threads that read them, `step`
 * at a time, rather than half each: a site's later days often have more
 * visits (halves of a year's page breakdown took 62 and 78 ms). */
struct day_queue {
	atomic_llong next;
	int64_t end, step;
	bool sample; /* one day of each step: prune_pick()'s */
};

/* Covered days [d0, d1), as q hands them out, summed into bs->g on
 * connection db: start times read only on the edge days, before in0 and
 * from in1. */
struct scan_job {
	sqlite3 *db;
	struct block_sum *bs;
	struct day_queue *q;
	int64_t d0, d1, in0, in1;
	uint64_t cols;
	int rc; /* SQLite's; SQLITE_OK */
	enum analytics_status s;
	bool capped; /* past sc->groups_max values: stopped */
};

/* Whether day d's visits need their start times: on the range's edge
 * days (some of their visits are outside it), and for time buckets on a
 * day a bucket starts inside (labels never go back in time, so a day
 * whose first and last seconds share one is all in it: in UTC every day
 * of a daily timeseries, in any zone most days of a monthly one). */
static bool needs_seconds(const struct scan_job *j, int64_t d)
{
	const struct block_sum *bs = j->bs;
	if (d < j->in0 || d >= j->in1 || bs->sc->hour_ok)
		return true;
	if (bs->key != BK_BUCKET)
		return false;
	char a[32];
	return bs->iv == IV_HOUR ||
	       !one_bucket(bs, d * 86400, d * 86400 + 86399, a);
}

/* Read days [d, e) through scans[need], opened on first use. */
static int scan_run(struct scan_job *j, struct analytics_blocks_scan **scans,
                    bool need, int64_t d, int64_t e, uint8_t **pass,
                    uint32_t **sel, size_t *pass_cap, struct carry *cy)
{
	struct analytics_blocks_scan **scan = &scans[need];
	const struct analytics_block *b;
	int rc = *scan ? analytics_blocks_scan_range(*scan, d, e)
	               : analytics_blocks_scan_open(
	                         j->db, j->bs->sc->site, d, e,
	                         need ? j->cols
	                              : j->cols & ~ANALYTICS_BC_BIT(
	                                                  ANALYTICS_BC_SECOND),
	                         j->bs->sc->cache, scan);
	while (rc == SQLITE_OK &&
	       (rc = analytics_blocks_scan_next(*scan, &b)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		if (b->n >= *pass_cap) {
			free(*pass);
			free(*sel);
			*pass_cap = b->n * 2 + 1;
			/* Twice: bs->sc2's visits after sc's. */
			*pass = malloc(*pass_cap * 2);
			*sel = malloc(*pass_cap * 2 * sizeof(**sel));
			if (!*pass || !*sel) {
				*pass_cap = 0;
				return SQLITE_NOMEM;
			}
		}
		if ((j->s = block_day(j->bs, b, *pass, *sel, cy)) !=
		    ANALYTICS_OK)
			break;
		/* Past the cap, visits_breakdown()'s caller sums by SQL. */
		if ((j->capped = analytics_groups_count(j->bs->g) >
		                 j->bs->sc->groups_max))
			break;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

static void scan_days(struct scan_job *j)
{
	uint8_t *pass = NULL;
	uint32_t *sel = NULL;
	size_t pass_cap = 0;
	struct carry cy[2] = {{0}}; /* g's, g2's */
	/* [0] without start times, [1] with. */
	struct analytics_blocks_scan *scans[2] = {NULL, NULL};
	struct day_queue *q = j->q;
	j->rc = SQLITE_OK, j->s = ANALYTICS_OK, j->capped = false;
	int64_t d0;
	while (j->s == ANALYTICS_OK && j->rc == SQLITE_OK && !j->capped &&
	       (d0 = atomic_fetch_add(&q->next, q->step)) < q->end) {
		int64_t d1 = q->sample               ? d0 + 1
		             : q->end - d0 > q->step ? d0 + q->step
		                                     : q->end;
		/* Runs of days that need start times, or not, each read
		 * apart. */
		for (int64_t d = d0, e; d < d1 && j->s == ANALYTICS_OK &&
		                        j->rc == SQLITE_OK && !j->capped;
		     d = e) {
			bool need = needs_seconds(j, d);
			for (e = d + 1; e < d1 && needs_seconds(j, e) == need;
			     e++)
				;
			j->rc = scan_run(j, scans, need, d, e, &pass, &sel,
			                 &pass_cap, cy);
		}
	}
	/* Its likely top values counted here, on its own thread, before
	 * the merge. */
	if (j->bs->top && j->s == ANALYTICS_OK && j->rc == SQLITE_OK &&
	    !j->capped && !analytics_groups_count_top(j->bs->g, j->bs->top))
		j->s = ANALYTICS_DB_ERROR;
	if (j->bs->g2 && j->bs->top2 && j->s == ANALYTICS_OK &&
	    j->rc == SQLITE_OK && !j->capped &&
	    !analytics_groups_count_top(j->bs->g2, j->bs->top2))
		j->s = ANALYTICS_DB_ERROR;
	/* Nothing more for the other thread either: the result is lost. */
	if (j->s != ANALYTICS_OK || j->rc != SQLITE_OK || j->capped)
		atomic_store(&q->next, q->end);
	analytics_blocks_scan_close(scans[0]);
	analytics_blocks_scan_close(scans[1]);
	free(pass);
	free(sel);
	for (int k = 0; k < 2; k++) {
		free(cy[k].group);
		free(cy[k].start);
		free(cy[k].sums);
		free(cy[k].rows);
		free(cy[k].pair);
		free(cy[k].of_g);
	}
}

/* ---- a pruned page scan --------------------------------------------------
 *
 * A long range's top pages under an ad hoc filter: most of a day's 2,000
 * paths are read only to be ranked below the top list, and finding each
 * one's group and logging its visitors was two fifths of the scan.  So a
 * sample of the range's days is read first, and the rest sums only the
 * paths of the most visits there; every other path's visits are still
 * counted, a day's largest added to a bound.  A value's visitors are at
 * most its visits, so when the top list's last holds more visitors than
 * the bound, no other value could have entered it, and the list is the
 * one a whole scan gives.  When it does not hold, the whole scan runs. */

/* Ranges of fewer whole days are not pruned, nor top lists longer than
 * PRUNE_TOP_MAX; the sample is PRUNE_SAMPLE days, the values summed at
 * most PRUNE_KEEP, of which PRUNE_LOGGED in full (the others' visits
 * alone keep the bound low). */
#define PRUNE_MIN_DAYS 28
#define PRUNE_TOP_MAX 100
#define PRUNE_SAMPLE 8
#define PRUNE_KEEP(top) (4 * (top) + 24)
#define PRUNE_LOGGED(top) (2 * (top) + 8)

static void prune_free(struct prune *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		free(pr->key[i]);
	free(pr->key);
	free(pr->len);
	free(pr->by_bytes);
	*pr = (struct prune){0};
}

/* pr's values as groups 0..n-1 of the empty groups g. */
static bool prune_groups(struct analytics_groups *g, const struct prune *pr)
{
	for (size_t i = 0; i < pr->n; i++)
		if (analytics_groups_index(g, pr->key[i], pr->len[i]) !=
		    (int64_t)i)
			return false;
	return true;
}

/* qsort_r() is a GNU extension: the keys come along instead. */
struct by_bytes {
	const char *const *key;
	const size_t *len;
	size_t i;
};

static int by_bytes_cmp(const void *a, const void *b)
{
	const struct by_bytes *x = a, *y = b;
	return bytes_cmp(x->key[x->i], x->len[x->i], y->key[y->i],
	                 y->len[y->i]);
}

/* Whether a scan for `mine` is pruned: *pr (empty: not) from a sample of
 * its whole days, read on this thread, and bs->g's first groups its
 * values.  False when out of memory or a sample day failed to read. */
static bool prune_pick(struct scan_job *mine, struct prune *pr)
{
	struct block_sum *bs = mine->bs;
	/* The list ranked: g's, or with sc2 g2's (g then the rates' base,
	 * wanted for g2's top values only). */
	size_t top = bs->sc2 ? bs->top2 : bs->top;
	if (bs->key != BK_PAGE || !bs->ranked || bs->no_prune || !top ||
	    top > PRUNE_TOP_MAX || page_scoped(bs->sc) ||
	    (bs->sc2 && page_scoped(bs->sc2)) ||
	    mine->in1 - mine->in0 < PRUNE_MIN_DAYS)
		return true;
	struct block_sum pb = *bs;
	pb.g = analytics_groups_new_like(bs->g);
	pb.g2 = bs->g2 ? analytics_groups_new_like(bs->g2) : NULL;
	pb.top = pb.top2 = 0;
	if (!pb.g || (bs->g2 && !pb.g2)) {
		analytics_groups_free(pb.g);
		analytics_groups_free(pb.g2);
		return false;
	}
	analytics_groups_log_all(pb.g);
	if (pb.g2)
		analytics_groups_log_all(pb.g2);
	int64_t stride = (mine->in1 - mine->in0) / PRUNE_SAMPLE;
	struct day_queue q = {.end = mine->in1, .step = stride, .sample = true};
	atomic_init(&q.next, mine->in0 + stride / 2);
	struct scan_job pj = *mine;
	pj.bs = &pb;
	pj.q = &q;
	scan_days(&pj);
	bool ok = pj.s == ANALYTICS_OK && pj.rc == SQLITE_OK;
	size_t n = 0;
	const struct analytics_group *sorted =
	        ok && !pj.capped ? analytics_groups_top(pb.g2 ? pb.g2 : pb.g,
	                                                PRUNE_KEEP(top), &n)
	                         : NULL;
	ok = ok && (sorted || !n);
	struct by_bytes *order = NULL;
	if (ok && n > PRUNE_KEEP(top))
		n = PRUNE_KEEP(top);
	if (ok && n && !pj.capped) {
		order = malloc(n * sizeof(*order));
		pr->key = calloc(n, sizeof(*pr->key));
		pr->len = malloc(n * sizeof(*pr->len));
		pr->by_bytes = malloc(n * sizeof(*pr->by_bytes));
		ok = order && pr->key && pr->len && pr->by_bytes;
	}
	if (ok && order) {
		for (size_t i = 0; ok && i < n; i++) {
			pr->len[i] = strlen(sorted[i].key);
			ok = (pr->key[i] = strdup(sorted[i].key)) != NULL;
			pr->n += ok;
			order[i] = (struct by_bytes){
			        (const char *const *)pr->key, pr->len, i};
		}
		qsort(order, pr->n, sizeof(*order), by_bytes_cmp);
		for (size_t j = 0; j < pr->n; j++)
			pr->by_bytes[j] = order[j].i;
		/* The sample's first ones, with room for the list's own
		 * reshuffling: the rest only bound it. */
		pr->n_logged = PRUNE_LOGGED(top);
		if (pr->n_logged > pr->n)
			pr->n_logged = pr->n;
		ok = ok && prune_groups(bs->g, pr) &&
		     (!bs->g2 || prune_groups(bs->g2, pr));
		if (ok)
			bs->prune = pr;
	}
	free(order);
	analytics_groups_free(pb.g);
	analytics_groups_free(pb.g2);
	if (!ok || !bs->prune)
		prune_free(pr);
	return ok;
}

/* Whether the ranked top list (g's top, with sc2 g2's top2) is what an
 * unpruned scan gives: each of its values summed in full, and its last's
 * visitors more than any other value's visits: a visits-only value's (its
 * group's, with what the days no block covers added), or another's (the
 * bound, and those days' visits of its group).  g2's values then have
 * their base in g.  *holds; false when out of memory. */
static bool prune_holds(struct block_sum *bs, bool *holds)
{
	*holds = false;
	const struct prune *pr = bs->prune;
	struct analytics_groups *g = bs->sc2 ? bs->g2 : bs->g;
	size_t top = bs->sc2 ? bs->top2 : bs->top;
	int64_t bound = bs->bound[bs->sc2 != NULL];
	int64_t counted = 0, other = 0;
	for (size_t i = pr->n_logged; i < analytics_groups_count(g); i++) {
		int64_t v = analytics_groups_visits(g, i);
		int64_t *most = i < pr->n ? &counted : &other;
		*most = v > *most ? v : *most;
	}
	int64_t most = bound + other > counted ? bound + other : counted;
	size_t n;
	const struct analytics_group *sorted = analytics_groups_top(g, top, &n);
	if (!sorted && n)
		return false;
	/* No value the scan did not sum in full had a visit on the blocks'
	 * days: every one is whole (with sc2, none at all: a value of the
	 * other days would lack its base's visits of the blocks' days). */
	if (bound == 0 && counted == 0 && (!bs->sc2 || other == 0)) {
		*holds = true;
		return true;
	}
	if (n < top)
		return true;
	for (size_t i = 0; i < top; i++) {
		int64_t gi = analytics_groups_index(g, sorted[i].key,
		                                    strlen(sorted[i].key));
		if (gi < 0 || (size_t)gi >= pr->n_logged)
			return true;
	}
	*holds = sorted[top - 1].t.visitors > most;
	return true;
}

/* A second thread taking days of a long run from the queue, read through
 * the helper connection into groups of its own.  That connection reads
 * its own snapshot: when it does not cover the same days (a writer
 * changed them in between) it takes none, and the caller reads them
 * all. */
struct helper_job {
	struct scan_job scan;
	struct block_sum bs;
	struct seula_zone zone; /* time buckets': an ICU calendar a thread */
	bool zoned;
	bool covered;
};

static void *helper_main(void *arg)
{
	struct helper_job *h = arg;
	sqlite3 *db = h->scan.db;
	if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return NULL;
	int64_t r0, r1;
	h->covered =
	        analytics_blocks_covered(db, h->bs.sc->site, h->scan.d0,
	                                 h->scan.d1, &r0, &r1) == SQLITE_OK &&
	        r0 == h->scan.d0 && r1 == h->scan.d1;
	if (h->covered)
		scan_days(&h->scan);
	sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	return NULL;
}

static void helper_free(struct helper_job *h)
{
	if (!h)
		return;
	analytics_groups_free(h->bs.g);
	analytics_groups_free(h->bs.g2);
	free(h->bs.named_group);
	free(h->bs.named_group2);
	if (h->zoned)
		seula_zone_close(&h->zone);
	free(h);
}

/* A helper for bs's scan, or NULL (out of memory). */
static struct helper_job *helper_new(const struct block_sum *bs,
                                     const struct scan_job *mine)
{
	struct helper_job *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->bs = *bs;
	h->bs.named_group = h->bs.named_group2 = NULL;
	h->bs.g = analytics_groups_new_like(bs->g);
	h->bs.g2 = bs->g2 ? analytics_groups_new_like(bs->g2) : NULL;
	size_t named = bs->key == BK_GROUP ? bs->n_cgroups : bs->n_goals;
	bool named2 = bs->key == BK_GROUP && bs->g2;
	if (named)
		h->bs.named_group = unfound(named);
	if (named && named2)
		h->bs.named_group2 = unfound(named);
	if (bs->key == BK_BUCKET &&
	    (h->zoned = seula_zone_open(&h->zone, bs->sc->tz)))
		h->bs.z = &h->zone;
	if (!h->bs.g || (bs->g2 && !h->bs.g2) ||
	    (named && !h->bs.named_group) ||
	    (named && named2 && !h->bs.named_group2) ||
	    (bs->key == BK_BUCKET && !h->zoned)) {
		helper_free(h);
		return NULL;
	}
	h->bs.bound[0] = h->bs.bound[1] = 0;
	if (bs->prune && (!prune_groups(h->bs.g, bs->prune) ||
	                  (bs->g2 && !prune_groups(h->bs.g2, bs->prune)))) {
		helper_free(h);
		return NULL;
	}
	h->scan = *mine;
	h->scan.db = bs->sc->helper;
	h->scan.bs = &h->bs;
	return h;
}

/* The first failure of a and b, in a. */
static void scan_join(struct scan_job *a, const struct scan_job *b)
{
	if (a->s == ANALYTICS_OK)
		a->s = b->s;
	if (a->rc == SQLITE_OK)
		a->rc = b->rc;
	a->capped |= b->capped;
}

/* Sum the scope's visits of covered days into bs->g, and set rest[0..1]
 * to the scopes of those left for analytics_visits, before and after them
 * (each empty: t0 == t1); *used false when no day is covered.  With a
 * helper connection, a run of two days or more is read by two threads,
 * each taking days as it is done with the last. */
static enum analytics_status blocks_add(sqlite3 *db, struct block_sum *bs,
                                        struct prune *pr, struct scope rest[2],
                                        bool *used, bool *capped, char *err,
                                        size_t errlen)
{
	const struct scope *sc = bs->sc;
	*used = false;
	int64_t run0, run1;
	int rc = analytics_blocks_covered(
	        db, sc->site, seula_floor_div(sc->t0, 86400),
	        seula_floor_div(sc->t1 + 86399, 86400), &run0, &run1);
	if (rc != SQLITE_OK || run0 == run1) {
		if (rc != SQLITE_OK)
			snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return rc == SQLITE_OK ? ANALYTICS_OK : ANALYTICS_DB_ERROR;
	}
	/* Days wholly inside the range need no start times (a tenth of a
	 * year's reading), unless a time bucket starts inside them
	 * (needs_seconds()). */
	int64_t in0 = seula_floor_div(sc->t0 + 86399, 86400),
	        in1 = seula_floor_div(sc->t1, 86400);
	in0 = in0 < run0 ? run0 : in0 > run1 ? run1 : in0;
	in1 = in1 < in0 ? in0 : in1 > run1 ? run1 : in1;
	/* Runs of a week for a year, a day for a month: the last runs
	 * taken end near together. */
	struct day_queue q = {.end = run1, .step = (run1 - run0 + 47) / 48};
	atomic_init(&q.next, run0);
	struct scan_job mine = {.db = db,
	                        .bs = bs,
	                        .q = &q,
	                        .d0 = run0,
	                        .d1 = run1,
	                        .in0 = in0,
	                        .in1 = in1,
	                        .cols = block_cols(bs)};
	if (!prune_pick(&mine, pr)) {
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	struct helper_job *h = NULL;
	pthread_t thread;
	if (sc->helper && run1 - run0 >= 2 && (h = helper_new(bs, &mine)) &&
	    pthread_create(&thread, NULL, helper_main, h) != 0) {
		helper_free(h);
		h = NULL;
	}
	scan_days(&mine);
	if (h) {
		pthread_join(thread, NULL);
		/* Not covered: it took no days, this thread read them all. */
		if (h->covered) {
			scan_join(&mine, &h->scan);
			bs->bound[0] += h->bs.bound[0];
			bs->bound[1] += h->bs.bound[1];
			if (mine.s == ANALYTICS_OK && mine.rc == SQLITE_OK &&
			    !mine.capped &&
			    (!analytics_groups_merge(bs->g, h->bs.g) ||
			     (bs->g2 &&
			      !analytics_groups_merge(bs->g2, h->bs.g2))))
				mine.s = ANALYTICS_DB_ERROR;
		}
		helper_free(h);
	}
	enum analytics_status s = mine.s;
	rc = mine.rc;
	/* Either thread's: the helper's share is not merged then. */
	*capped = mine.capped;
	if (s == ANALYTICS_OK && rc != SQLITE_OK && !*capped) {
		s = ANALYTICS_DB_ERROR;
		snprintf(err, errlen, "blocks: %s",
		         rc == SQLITE_CORRUPT ? "a block does not decode"
		                              : sqlite3_errstr(rc));
	} else if (s != ANALYTICS_OK) {
		snprintf(err, errlen, "out of memory");
	}
	/* Apart, not one query with an OR: with one SQLite may walk the
	 * whole site's index in start_ts order rather than seek each. */
	rest[0] = rest[1] = *sc;
	rest[0].t1 = run0 * 86400 > sc->t0 ? run0 * 86400 : sc->t0;
	rest[1].t0 = run1 * 86400 < sc->t1 ? run1 * 86400 : sc->t1;
	if (rest[0].t1 > sc->t1)
		rest[0].t1 = sc->t1;
	if (rest[1].t0 < sc->t0)
		rest[1].t0 = sc->t0;
	*used = s == ANALYTICS_OK;
	return s;
}

/* The rows of `b` (key, visits, pageviews, bounces, duration_ms, events,
 * engagement_ms, visitor hash) summed into g; past sc->groups_max values,
 * *too_many and stop. */
static enum analytics_status rows_into_groups(sqlite3 *db, struct sqlb *b,
                                              const struct scope *sc,
                                              struct analytics_groups *g,
                                              bool *too_many, char *err,
                                              size_t errlen)
{
	*too_many = false;
	sqlite3_stmt *st = sqlb_prepare(b, db, err, errlen);
	if (!st)
		return ANALYTICS_DB_ERROR;
	bool oom = false;
	int rc = SQLITE_DONE;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct analytics_totals t;
		read_totals(st, 1, &t);
		/* Column 7 is the visitor's hash. */
		if (!analytics_groups_add(
		            g, (const char *)sqlite3_column_text(st, 0),
		            (size_t)sqlite3_column_bytes(st, 0), t.visitors,
		            &t)) {
			oom = true;
			break;
		}
		if (analytics_groups_count(g) > sc->groups_max) {
			*too_many = true;
			break;
		}
	}
	if (!oom && !*too_many && rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (oom)
		snprintf(err, errlen, "out of memory");
	return oom || (!*too_many && rc != SQLITE_DONE) ? ANALYTICS_DB_ERROR
	                                                : ANALYTICS_OK;
}

static enum analytics_status goal_pass(sqlite3 *db, const struct scope *sc,
                                       bool pages, struct analytics_groups *g,
                                       char *err, size_t errlen);

/* Visits of scope `rest` summed by SQL into bs->g by `key` (BK_BUCKET:
 * bs's buckets; BK_GROUP: all into the group named `label`; else rollup
 * dimension `dim`'s value): the days no block covers. */
static enum analytics_status rest_rows(sqlite3 *db, struct block_sum *bs,
                                       const struct scope *rest,
                                       enum block_key key, const char *dim,
                                       const char *label, bool *too_many,
                                       char *err, size_t errlen)
{
	struct sqlb b;
	sqlb_init(&b, db);
	with_rows(&b, "u");
	visits_sql(&b, rest, dim, NULL, false);
	sql(&b, ") SELECT ");
	if (key == BK_BUCKET) {
		static const char *const names[] = {"hour", "day", "week",
		                                    "month"};
		sql(&b, "analytics_bucket(max(u.t, ");
		arg_int(&b, bs->start);
		sql(&b, "), ");
		arg_text(&b, bs->sc->tz);
		sql(&b, ", ");
		arg_text(&b, names[bs->iv]);
		sql(&b, ")");
	} else if (key == BK_GROUP) {
		arg_text(&b, label);
	} else {
		sql(&b, "u.value");
	}
	sql(&b, ", visits, pageviews, bounces, duration_ms, events, "
	        "engagement_ms, v FROM u");
	return rows_into_groups(db, &b, bs->sc, bs->g, too_many, err, errlen);
}

/* BK_GROUP: the visits of scope `rest` (the days no block covers) into
 * each content group, as rest_rows() with the group's filter added.  The
 * caller left room in rest's filters for one more. */
static enum analytics_status group_rest(sqlite3 *db, struct block_sum *bs,
                                        const struct scope *rest,
                                        bool *too_many, char *err,
                                        size_t errlen)
{
	enum analytics_status s = ANALYTICS_OK;
	for (size_t x = 0; s == ANALYTICS_OK && x < bs->n_cgroups; x++) {
		struct scope r = *rest;
		r.filters[r.n_filters++] = bs->cgroups[x];
		s = rest_rows(db, bs, &r, BK_GROUP, "", bs->cgroups[x].value,
		              too_many, err, errlen);
	}
	return s;
}

/* A report's visits from the blocks and analytics_visits together, summed
 * into groups by `bs` (its g NULL: made here): *out NULL when no block
 * covers the range (the caller reads the visits as before), or past
 * sc->groups_max values (*too_many).  With bs->sc2, its groups are left
 * in bs->g2 when *out is set (the caller's to free), else NULL. */
static enum analytics_status blocks_sum(sqlite3 *db, struct block_sum *bs,
                                        struct analytics_groups **out,
                                        bool *too_many, char *err,
                                        size_t errlen)
{
	*out = NULL;
	*too_many = false;
	/* Visitors as the rollups count them, a summary's and a timeseries'
	 * too: exactly, a year's took twice as long (a set of every visitor).
	 */
	bs->g = analytics_groups_new();
	bs->g2 = bs->sc2 ? analytics_groups_new() : NULL;
	if (!bs->g || (bs->sc2 && !bs->g2)) {
		analytics_groups_free(bs->g);
		analytics_groups_free(bs->g2);
		bs->g = bs->g2 = NULL;
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	for (int k = 0; k < 2; k++) {
		struct analytics_groups *g = k ? bs->g2 : bs->g;
		if (!g)
			continue;
		analytics_groups_use_pool(g, bs->sc->pool);
		if (bs->key == BK_PAGE) /* add_pages() adds a path's rows at
		                         * once */
			analytics_groups_log_all(g);
	}
	struct scope rest[2];
	bool used, capped = false;
	struct prune pr = {0};
	enum analytics_status s =
	        blocks_add(db, bs, &pr, rest, &used, &capped, err, errlen);
	if (s == ANALYTICS_OK && used &&
	    (capped || analytics_groups_count(bs->g) > bs->sc->groups_max))
		*too_many = true;
	for (int k = 0; k < 2 && s == ANALYTICS_OK && used && !*too_many; k++) {
		if (rest[k].t0 >= rest[k].t1)
			continue;
		if (bs->key == BK_GOAL) {
			s = goal_pass(db, &rest[k], true, bs->g, err, errlen);
			if (s == ANALYTICS_OK)
				s = goal_pass(db, &rest[k], false, bs->g, err,
				              errlen);
			if (s == ANALYTICS_OK && bs->total)
				s = rest_rows(db, bs, &rest[k], BK_ALL, "",
				              NULL, too_many, err, errlen);
			continue;
		}
		if (bs->key == BK_GROUP) {
			s = group_rest(db, bs, &rest[k], too_many, err, errlen);
			if (s == ANALYTICS_OK && !*too_many && bs->sc2) {
				struct scope r2 = *bs->sc2;
				r2.t0 = rest[k].t0, r2.t1 = rest[k].t1;
				struct analytics_groups *g = bs->g;
				bs->g = bs->g2;
				s = group_rest(db, bs, &r2, too_many, err,
				               errlen);
				bs->g = g;
			}
			continue;
		}
		s = rest_rows(db, bs, &rest[k], bs->key, bs->dim, NULL,
		              too_many, err, errlen);
		if (s == ANALYTICS_OK && !*too_many && bs->sc2) {
			/* sc2's visits of those days, as sc's, into g2. */
			struct scope r2 = *bs->sc2;
			r2.t0 = rest[k].t0, r2.t1 = rest[k].t1;
			struct analytics_groups *g = bs->g;
			bs->g = bs->g2;
			s = rest_rows(db, bs, &r2, bs->key, bs->dim, NULL,
			              too_many, err, errlen);
			bs->g = g;
		}
	}
	bool holds = true;
	if (s == ANALYTICS_OK && used && !*too_many && bs->prune &&
	    !prune_holds(bs, &holds)) {
		s = ANALYTICS_DB_ERROR;
		snprintf(err, errlen, "out of memory");
	}
	bool again = s == ANALYTICS_OK && !holds;
	if (s == ANALYTICS_OK && used && !*too_many && holds) {
		*out = bs->g;
		bs->g = NULL;
	} else {
		analytics_groups_free(bs->g2);
		bs->g2 = NULL;
	}
	analytics_groups_free(bs->g);
	bs->g = NULL;
	bs->prune = NULL;
	bs->bound[0] = bs->bound[1] = 0;
	prune_free(&pr);
	if (again) { /* another value may be in the list: all of them */
		bs->no_prune = true;
		return blocks_sum(db, bs, out, too_many, err, errlen);
	}
	return s;
}

/* analytics_groups_sorted() of g into *sorted, *n of them; false when
 * out of memory, g then freed and err set. */
static bool groups_sorted(struct analytics_groups *g,
                          const struct analytics_group **sorted, size_t *n,
                          char *err, size_t errlen)
{
	*n = analytics_groups_count(g);
	*sorted = analytics_groups_sorted(g);
	if (*n && !*sorted) {
		analytics_groups_free(g);
		snprintf(err, errlen, "out of memory");
		return false;
	}
	return true;
}

/* The groups of `g` (freed here) on rows of by_label, or into *t with
 * `t` (one group at most). */
static enum analytics_status groups_out(struct analytics_groups *g,
                                        json_t *by_label,
                                        struct analytics_totals *t, char *err,
                                        size_t errlen)
{
	size_t n;
	const struct analytics_group *sorted;
	if (!groups_sorted(g, &sorted, &n, err, errlen))
		return ANALYTICS_DB_ERROR;
	for (size_t i = 0; i < n; i++) {
		if (t) {
			*t = sorted[i].t;
			continue;
		}
		json_t *row = json_object_get(by_label, sorted[i].key);
		if (row)
			put_metrics(row, &sorted[i].t, ROW_VISITS);
	}
	analytics_groups_free(g);
	return ANALYTICS_OK;
}

/* One row of sums over the scope for rollup dimension ''. */
static enum analytics_status query_total(sqlite3 *db, const struct scope *sc,
                                         struct analytics_totals *t, char *err,
                                         size_t errlen)
{
	if (blocks_answer(sc, "")) {
		struct block_sum bs = {.sc = sc, .key = BK_ALL, .dim = ""};
		struct analytics_groups *g;
		bool too_many;
		enum analytics_status s =
		        blocks_sum(db, &bs, &g, &too_many, err, errlen);
		if (s != ANALYTICS_OK || g) {
			memset(t, 0, sizeof(*t));
			return s == ANALYTICS_OK
			               ? groups_out(g, NULL, t, err, errlen)
			               : s;
		}
	}
	struct sqlb b;
	sqlb_init(&b, db);
	with_rows(&b, "u");
	source_sql(&b, sc, "", 2, NULL, false);
	sql(&b, ") SELECT ");
	sums_sql(&b, sc);
	sql(&b, " FROM u");
	sqlite3_stmt *st = sqlb_prepare(&b, db, err, errlen);
	if (!st)
		return ANALYTICS_DB_ERROR;
	memset(t, 0, sizeof(*t));
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		read_totals(st, 0, t);
	else if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? ANALYTICS_OK
	                                             : ANALYTICS_DB_ERROR;
}

/* ---- segments ----------------------------------------------------------- */

/* The filters of `filter` for `site`, in a scope of their own, its hours
 * of day those of zone `tz` from `midnight` (hour_cond()); without a zone
 * (a segment's: its rollups serve reports in any zone) an hour filter is
 * refused. */
static enum analytics_status
filter_scope(const char *site, const char *filter,
             const struct analytics_goals *goals,
             const struct analytics_content_groups *groups, const char *tz,
             int64_t midnight, struct scope *sc, char *err, size_t errlen)
{
	memset(sc, 0, sizeof(*sc));
	sc->site = site;
	sc->goals = goals;
	sc->content_groups = groups;
	sc->tz = tz;
	sc->midnight = midnight;
	enum analytics_status s = parse_filters(sc, filter, err, errlen);
	if (s == ANALYTICS_OK && sc->n_filters == 0) {
		snprintf(err, errlen, "no filter");
		s = ANALYTICS_BAD_REQUEST;
	}
	for (size_t i = 0; s == ANALYTICS_OK && !tz && i < sc->n_filters; i++)
		if (sc->filters[i].kind == F_HOUR) {
			snprintf(err, errlen,
			         "filter \"hour\": a segment has no time zone "
			         "to tell the hour of day in");
			s = ANALYTICS_BAD_REQUEST;
		}
	return s;
}

enum analytics_status
analytics_filter_canon(const char *site, const char *filter,
                       const struct analytics_goals *goals,
                       const struct analytics_content_groups *groups,
                       char **out, char *err, size_t errlen)
{
	struct scope sc;
	*out = NULL;
	enum analytics_status s = filter_scope(site, filter, goals, groups,
	                                       NULL, 0, &sc, err, errlen);
	if (s != ANALYTICS_OK)
		return s;
	if (!(*out = canon_text(&sc))) {
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	return ANALYTICS_OK;
}

sqlite3_stmt *analytics_filter_prepare(
        sqlite3 *db, const char *head, int n_reserved, const char *site,
        const char *filter, const struct analytics_goals *goals,
        const struct analytics_content_groups *groups, const char *tz,
        int64_t midnight, const char *tail, char *err, size_t errlen)
{
	struct scope sc;
	if (filter_scope(site, filter, goals, groups, tz, midnight, &sc, err,
	                 errlen) != ANALYTICS_OK)
		return NULL;
	struct sqlb b;
	sqlb_init(&b, db);
	sql(&b, head);
	/* The caller's parameters keep their numbers; bound here to 0. */
	for (int i = 0; i < n_reserved && sqlb_room(&b); i++)
		b.args[b.n++] = (struct sqlb_arg){.type = ARG_INT, .i = 0};
	filter_sql(&b, &sc);
	sql(&b, tail);
	return sqlb_prepare(&b, db, err, errlen);
}

enum analytics_status
analytics_filter_pages_prepare(sqlite3 *db, const char *site,
                               const char *filter,
                               const struct analytics_goals *goals,
                               const struct analytics_content_groups *groups,
                               sqlite3_stmt **out, char *err, size_t errlen)
{
	struct scope sc;
	*out = NULL;
	enum analytics_status s = filter_scope(site, filter, goals, groups,
	                                       NULL, 0, &sc, err, errlen);
	if (s != ANALYTICS_OK || !page_scoped(&sc))
		return s;
	struct sqlb b;
	sqlb_init(&b, db);
	sql(&b,
	    "SELECT path, pageviews, engagement_ms FROM "
	    "analytics_visit_pages p WHERE p.visit = ?1 AND p.pageviews > 0");
	if (sqlb_room(&b)) /* ?1, the caller's */
		b.args[b.n++] = (struct sqlb_arg){.type = ARG_INT, .i = 0};
	page_conds(&b, &sc, "p.path");
	if (!(*out = sqlb_prepare(&b, db, err, errlen)))
		return ANALYTICS_DB_ERROR;
	return ANALYTICS_OK;
}

/* ---- reports ------------------------------------------------------------ */

static json_t *scope_json(const struct scope *sc)
{
	char from[16], to[16];
	seula_date_format(sc->from_day, from, sizeof(from));
	seula_date_format(sc->to_day, to, sizeof(to));
	json_t *filters = json_array();
	for (size_t i = 0; i < sc->n_filters; i++)
		json_array_append_new(
		        filters, json_pack("{s:s,s:s,s:s}", "dimension",
		                           sc->filters[i].dim, "op",
		                           sc->filters[i].negate ? "!=" : "==",
		                           "value", sc->filters[i].value));
	json_t *o = json_pack("{s:s,s:s,s:s,s:s,s:o}", "site", sc->site, "from",
	                      from, "to", to, "tz", sc->tz, "filters", filters);
	if (sc->n_filters)
		json_object_set_new(o, "preprocessed",
		                    json_boolean(segment_answers(sc)));
	return o;
}

/* sc without its goal filters (goal==X; goal!=X stays) into *base, as
 * the conversion rates' base: as in Plausible's API, the share of the
 * visitors without that condition who reached it.  False when there were
 * none. */
static bool without_goals(sqlite3 *db, const struct scope *sc,
                          struct scope *base)
{
	*base = *sc;
	base->n_filters = 0;
	for (size_t i = 0; i < sc->n_filters; i++)
		if (sc->filters[i].kind != F_GOAL || sc->filters[i].negate)
			base->filters[base->n_filters++] = sc->filters[i];
	if (base->n_filters == sc->n_filters)
		return false;
	find_segment(db, base);
	return true;
}

/* `visitors` as a share (%) of the visitors of `base`: null when it has
 * none, a rate of nobody, which is not 0% (nor a fall to it).  A sketch's
 * estimate of the base, the goal's exact count: no more than 100. */
static json_t *rate_of(int64_t visitors, int64_t base)
{
	if (base <= 0)
		return json_null();
	double cr = round_to(100.0 * (double)visitors / (double)base, 1);
	return json_real(cr > 100 ? 100 : cr);
}

static json_t *conversion_rate(int64_t visitors,
                               const struct analytics_totals *base)
{
	return rate_of(visitors, visitors_capped(base));
}

static enum analytics_status summary(sqlite3 *db, const struct scope *sc,
                                     json_t **out, char *err, size_t errlen)
{
	struct analytics_totals t;
	enum analytics_status s = query_total(db, sc, &t, err, errlen);
	if (s != ANALYTICS_OK)
		return s;
	json_t *res = json_object();
	put_metrics(res, &t, ROW_VISITS);
	/* With a goal among the filters (goal==X): its conversion rate. */
	struct scope base;
	if (without_goals(db, sc, &base)) {
		struct analytics_totals all;
		s = query_total(db, &base, &all, err, errlen);
		if (s != ANALYTICS_OK) {
			json_decref(res);
			return s;
		}
		json_object_set_new(res, "conversion_rate",
		                    conversion_rate(visitors_capped(&t), &all));
	}
	*out = res;
	return ANALYTICS_OK;
}

static const char *const metric_names[] = {
        "visitors",    "visits",         "pageviews", "views_per_visit",
        "bounce_rate", "visit_duration", "events",    "time_on_page"};

/* The metric_names[] entry of the `len` bytes at m, or NULL. */
static const char *metric_name(const char *m, size_t len)
{
	for (size_t i = 0; i < sizeof(metric_names) / sizeof(*metric_names);
	     i++)
		if (strlen(metric_names[i]) == len &&
		    strncmp(metric_names[i], m, len) == 0)
			return metric_names[i];
	return NULL;
}

static enum analytics_status timeseries_out(json_t *rows, json_t *metrics,
                                            enum interval iv, json_t **out);

static enum analytics_status timeseries(sqlite3 *db, const struct scope *sc,
                                        const struct analytics_request *rq,
                                        struct seula_zone *z, json_t **out,
                                        char *err, size_t errlen)
{
	enum interval iv = IV_DAY;
	if (rq->interval &&
	    (!interval_parse(rq->interval, &iv) || iv == IV_HOUR_OF_DAY)) {
		snprintf(err, errlen, "interval is hour, day, week or month");
		return ANALYTICS_BAD_REQUEST;
	}
	if (iv == IV_HOUR && sc->to_day - sc->from_day > 92) {
		snprintf(err, errlen, "interval hour covers at most 93 days");
		return ANALYTICS_BAD_REQUEST;
	}
	/* The metrics asked for, validated. */
	json_t *metrics = json_array();
	const char *m = rq->metric && *rq->metric ? rq->metric : "visitors";
	while (*m) {
		size_t len = strcspn(m, ",");
		const char *name = metric_name(m, len);
		if (!name) {
			snprintf(err, errlen, "unknown metric \"%.*s\"",
			         (int)(len > 40 ? 40 : len), m);
			json_decref(metrics);
			return ANALYTICS_BAD_REQUEST;
		}
		json_array_append_new(metrics, json_string(name));
		m += len;
		if (*m == ',')
			m++;
	}
	static const char *const iv_names[] = {"hour", "day", "week", "month"};

	/* Every bucket of the range, in order, zero until filled.  In a zone
	 * off UTC by a half hour the range's first UTC hour begins before the
	 * local `from` day: it counts in the first bucket, not in one of the
	 * day before (the README: such zones' hours are approximate).  By
	 * the hour, every quarter hour is labelled (offsets are whole
	 * quarters): labelled by the UTC hour, the last local hour of such a
	 * zone, which starts inside the last UTC hour, had no row, and a
	 * visit read at its own second in it was lost.  Longer buckets start
	 * at a local midnight: a label a day. */
	int64_t start = seula_zone_midnight(z, sc->from_day);
	json_t *rows = json_array();
	json_t *by_label = json_object();
	char label[32], prev[32] = "";
	int64_t n_steps = iv == IV_HOUR ? (sc->t1 - sc->t0 + 899) / 900
	                                : sc->to_day - sc->from_day + 1;
	for (int64_t k = 0; k < n_steps; k++) {
		int64_t t = iv == IV_HOUR
		                    ? sc->t0 + 900 * k
		                    : seula_zone_midnight(z, sc->from_day + k);
		bucket_label(z, t < start ? start : t, iv, label,
		             sizeof(label));
		if (strcmp(label, prev) == 0)
			continue;
		snprintf(prev, sizeof(prev), "%s", label);
		if (json_object_get(by_label, label))
			continue; /* an hour repeated when clocks go back */
		json_t *row = json_pack("{s:s}", "date", label);
		struct analytics_totals zero = {0};
		put_metrics(row, &zero, ROW_VISITS);
		json_array_append_new(rows, row);
		json_object_set(by_label, label, row);
	}

	if (blocks_answer(sc, "")) {
		struct block_sum bs = {.sc = sc,
		                       .key = BK_BUCKET,
		                       .dim = "",
		                       .z = z,
		                       .iv = iv,
		                       .start = start};
		struct analytics_groups *g;
		bool too_many;
		enum analytics_status s =
		        blocks_sum(db, &bs, &g, &too_many, err, errlen);
		if (s == ANALYTICS_OK && g)
			s = groups_out(g, by_label, NULL, err, errlen);
		if (s != ANALYTICS_OK || g) {
			json_decref(by_label);
			if (s != ANALYTICS_OK) {
				json_decref(rows);
				json_decref(metrics);
				return s;
			}
			return timeseries_out(rows, metrics, iv, out);
		}
	}
	struct sqlb b;
	sqlb_init(&b, db);
	with_rows(&b, "u");
	/* In UTC a day or month bucket is made of whole day and month rows;
	 * elsewhere only hours fit in the local buckets. */
	source_sql(&b, sc, "",
	           !z->utc || iv == IV_HOUR ? 0
	           : iv == IV_MONTH         ? 2
	                                    : 1,
	           NULL, false);
	sql(&b, ") SELECT analytics_bucket(max(u.t, ");
	arg_int(&b, start);
	sql(&b, "), ");
	arg_text(&b, sc->tz);
	sql(&b, ", ");
	arg_text(&b, iv_names[iv]);
	sql(&b, ") AS bucket, ");
	sums_sql(&b, sc);
	sql(&b, " FROM u GROUP BY bucket");
	sqlite3_stmt *st = sqlb_prepare(&b, db, err, errlen);
	if (!st) {
		json_decref(rows);
		json_decref(by_label);
		json_decref(metrics);
		return ANALYTICS_DB_ERROR;
	}
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		json_t *row = json_object_get(
		        by_label, (const char *)sqlite3_column_text(st, 0));
		if (!row)
			continue;
		struct analytics_totals t;
		read_totals(st, 1, &t);
		put_metrics(row, &t, ROW_VISITS);
	}
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	json_decref(by_label);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		json_decref(metrics);
		return ANALYTICS_DB_ERROR;
	}
	return timeseries_out(rows, metrics, iv, out);
}

/* A timeseries' answer of its rows, with only the metrics asked for;
 * takes rows and metrics. */
static enum analytics_status timeseries_out(json_t *rows, json_t *metrics,
                                            enum interval iv, json_t **out)
{
	static const char *const iv_names[] = {"hour", "day", "week", "month"};
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		for (size_t k = 0;
		     k < sizeof(metric_names) / sizeof(*metric_names); k++) {
			bool want = false;
			size_t j;
			json_t *mm;
			json_array_foreach(metrics, j, mm) want |=
			        strcmp(json_string_value(mm),
			               metric_names[k]) == 0;
			if (!want)
				json_object_del(row, metric_names[k]);
		}
	}
	*out = json_pack("{s:s,s:o,s:o}", "interval", iv_names[iv], "metrics",
	                 metrics, "results", rows);
	return ANALYTICS_OK;
}

static bool breakdown_dim(const char *d)
{
	return column_dim(d) || strcmp(d, "page") == 0 ||
	       strcmp(d, "event") == 0 || strcmp(d, "goal") == 0 ||
	       strcmp(d, "content_group") == 0 || strcmp(d, "hour") == 0 ||
	       (strncmp(d, "prop:", 5) == 0 && valid_prop_key(d + 5));
}

/* `arr` (of *cap elements of `size` bytes, n used) with room for one
 * more: itself, or moved; NULL when out of memory (arr stays). */
static void *grow(void *arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return arr;
	size_t c = *cap ? *cap * 2 : 1024;
	void *r = realloc(arr, c * size);
	if (r)
		*cap = c;
	return r;
}

/* The next row of `st` to hold: `rows` (n used of *cap, each `size`
 * bytes) with room for it, or moved; its column 0 copied into `kb` at
 * *off.  NULL when out of memory (the old `rows` stay the caller's). */
static void *next_row(void *rows, size_t *cap, size_t n, size_t size,
                      struct analytics_keybuf *kb, sqlite3_stmt *st,
                      size_t *off)
{
	/* The key first: if it fails, nothing has moved. */
	int64_t o = analytics_keybuf_add(
	        kb, (const char *)sqlite3_column_text(st, 0),
	        (size_t)sqlite3_column_bytes(st, 0));
	void *r = o < 0 ? NULL : grow(rows, cap, n, size);
	if (r)
		*off = (size_t)o;
	return r;
}

/* A value and its visits, while top_values() counts them. */
struct tally {
	const char *key;
	size_t off; /* in the key buffer, until it stops moving */
	int64_t visits;
};

static int tally_by_key(const void *a, const void *b)
{
	return strcmp(((const struct tally *)a)->key,
	              ((const struct tally *)b)->key);
}

static int tally_by_visits(const void *a, const void *b)
{
	const struct tally *x = a, *y = b;
	if (x->visits != y->visits)
		return x->visits > y->visits ? -1 : 1;
	return strcmp(x->key, y->key);
}

/* Candidate values: `n` pointers into `buf`; free_candidates() frees. */
struct candidates {
	const char **key;
	size_t n;
	char *buf;
};

static void free_candidates(struct candidates *c)
{
	free(c->key);
	free(c->buf);
	c->key = NULL, c->buf = NULL, c->n = 0;
}

/* The `cand` values of rollup dimension `dim` with the most visits in the
 * scope (ties by value), into *out, and in *left_out the visits of the
 * best value left out (0: none was).  Counted here: SQL's GROUP BY sorts
 * every row first, and at 10 million events a year of page rows (24,000
 * month rows) spent 15 ms of its 30 in that sort.  The values are bound
 * as they are, not sent through JSON, which takes only valid UTF-8. */
static enum analytics_status top_values(sqlite3 *db, const struct scope *sc,
                                        const char *dim, const char *gj,
                                        size_t cand, struct candidates *out,
                                        int64_t *left_out, char *err,
                                        size_t errlen)
{
	*out = (struct candidates){0};
	*left_out = 0;
	struct sqlb b;
	sqlb_init(&b, db);
	/* The rollup rows straight, not through a co-routine that copies
	 * every column of every row (10 of the 30 ms for a year of pages). */
	with_rows(&b, "o");
	visits_sql(&b, sc, dim, gj, true);
	sql(&b, ") ");
	rollup_sql(&b, sc, rollup_dim(sc, dim), 2, false, "value, visits");
	sql(&b, " UNION ALL SELECT value, visits FROM o");
	sqlite3_stmt *st = sqlb_prepare(&b, db, err, errlen);
	if (!st)
		return ANALYTICS_DB_ERROR;
	struct tally *rows = NULL;
	struct analytics_keybuf kb = {0};
	size_t n = 0, cap = 0;
	bool oom = false;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		size_t off;
		struct tally *r =
		        next_row(rows, &cap, n, sizeof(*rows), &kb, st, &off);
		if (!r) {
			oom = true;
			break;
		}
		rows = r;
		rows[n].off = off;
		rows[n++].visits = sqlite3_column_int64(st, 1);
	}
	if (!oom && rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	enum analytics_status s = ANALYTICS_OK;
	if (oom || rc != SQLITE_DONE) {
		if (oom)
			snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
		goto done;
	}
	for (size_t i = 0; i < n; i++)
		rows[i].key = kb.buf + rows[i].off;
	if (n)
		qsort(rows, n, sizeof(*rows), tally_by_key);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (m && strcmp(rows[m - 1].key, rows[i].key) == 0)
			rows[m - 1].visits += rows[i].visits;
		else
			rows[m++] = rows[i];
	}
	if (m)
		qsort(rows, m, sizeof(*rows), tally_by_visits);
	out->n = m < cand ? m : cand;
	if (m > cand)
		*left_out = rows[cand].visits;
	out->key = malloc((out->n ? out->n : 1) * sizeof(*out->key));
	if (!out->key) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
		out->n = 0;
		goto done;
	}
	for (size_t i = 0; i < out->n; i++)
		out->key[i] = rows[i].key;
	out->buf = kb.buf; /* the keys point into it */
	kb.buf = NULL;
done:
	free(rows);
	free(kb.buf);
	return s;
}

/* The rows goal_pass() reads: the scope's visits with their pages (for
 * page goals) or their events' names, ordered so that a visit's rows come
 * together; analytics_visits_time, (site, start_ts) and the rowid, reads
 * them in that order without a sort. */
static void goal_rows_sql(struct sqlb *b, const struct scope *sc, bool pages)
{
	sql(b, pages ? "SELECT v.id, v.visitor, p.path, p.pageviews FROM "
	               "analytics_visits v JOIN analytics_visit_pages p ON "
	               "p.visit = v.id AND p.pageviews > 0"
	             : "SELECT v.id, v.visitor, e.name, e.n FROM "
	               "analytics_visits v JOIN analytics_visit_events e ON "
	               "e.visit = v.id AND e.prop = ''");
	range_sql(b, sc);
	filter_sql(b, sc);
	sql(b, " ORDER BY v.start_ts, v.id");
}

/* Add one visit's goal hits to the groups: a row per goal reached, as
 * visits_sql() makes for the goal dimension. */
static bool goal_flush(struct analytics_groups *g,
                       const struct analytics_goal *const *goals, int64_t *hits,
                       size_t n, int64_t visitor)
{
	bool ok = true;
	for (size_t i = 0; i < n; i++) {
		struct analytics_totals t = {.visits = 1, .events = hits[i]};
		hits[i] = 0;
		if (ok && t.events > 0)
			ok = analytics_groups_add(g, goals[i]->name,
			                          strlen(goals[i]->name),
			                          visitor, &t);
	}
	return ok;
}

/* The goals of one kind reached by the scope's visits, into `g`, in one
 * pass over their pages or events: matched here (GLOB as SQL's, through
 * sqlite3_strglob) rather than by a subquery per visit and goal, which
 * took 17 s for a year of one filter's visits at 10 million events. */
static enum analytics_status goal_pass(sqlite3 *db, const struct scope *sc,
                                       bool pages, struct analytics_groups *g,
                                       char *err, size_t errlen)
{
	const struct analytics_goal **goals = NULL;
	int64_t *hits = NULL;
	size_t n = 0, max = sc->goals ? sc->goals->n : 0;
	enum analytics_goal_kind kind =
	        pages ? ANALYTICS_GOAL_PAGE : ANALYTICS_GOAL_EVENT;
	if (max) {
		goals = malloc(max * sizeof(*goals));
		hits = calloc(max, sizeof(*hits));
		if (!goals || !hits) {
			free(goals);
			free(hits);
			snprintf(err, errlen, "out of memory");
			return ANALYTICS_DB_ERROR;
		}
	}
	for (size_t i = 0; i < max; i++) {
		const struct analytics_goal *x = &sc->goals->list[i];
		if (x->kind == kind && strcmp(x->site, sc->site) == 0)
			goals[n++] = x;
	}
	enum analytics_status s = ANALYTICS_OK;
	sqlite3_stmt *st = NULL;
	if (n) {
		struct sqlb b;
		sqlb_init(&b, db);
		goal_rows_sql(&b, sc, pages);
		st = sqlb_prepare(&b, db, err, errlen);
		if (!st)
			s = ANALYTICS_DB_ERROR;
	}
	int64_t visit = 0, visitor = 0;
	bool oom = false, have_visit = false;
	int rc = SQLITE_DONE;
	while (st && !oom && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t id = sqlite3_column_int64(st, 0);
		if (!have_visit || id != visit) {
			oom = !goal_flush(g, goals, hits, n, visitor);
			visit = id;
			visitor = sqlite3_column_int64(st, 1);
			have_visit = true;
		}
		const char *what = (const char *)sqlite3_column_text(st, 2);
		int64_t count = sqlite3_column_int64(st, 3);
		for (size_t i = 0; what && i < n; i++)
			if (pages ? sqlite3_strglob(goals[i]->pattern, what) ==
			                    0
			          : strcmp(goals[i]->pattern, what) == 0)
				hits[i] += count;
	}
	if (st && !oom && rc == SQLITE_DONE)
		oom = !goal_flush(g, goals, hits, n, visitor);
	if (st && !oom && rc != SQLITE_DONE) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		s = ANALYTICS_DB_ERROR;
	}
	if (oom) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	sqlite3_finalize(st);
	free(goals);
	free(hits);
	return s;
}

/* bs->key (and col or prop) for a breakdown by dim, not "goal". */
static void key_by(struct block_sum *bs, const char *dim)
{
	if (strcmp(dim, "page") == 0) {
		bs->key = BK_PAGE;
	} else if (strcmp(dim, "event") == 0) {
		bs->key = BK_EVENT;
	} else if (strncmp(dim, "prop:", 5) == 0) {
		bs->key = BK_PROP;
		bs->prop = dim + 5;
	} else {
		bs->key = BK_COLUMN;
		bs->col = analytics_block_col(dim);
	}
}

/* visits_breakdown() from the blocks and analytics_visits together: *out
 * NULL when no block covers the range.  With `total` (dim "goal"), every
 * visit is in group "" too (block_sum's total). */
static enum analytics_status
blocks_breakdown(sqlite3 *db, const struct scope *sc, const char *dim,
                 bool total, size_t top, bool ranked,
                 struct analytics_groups **out, bool *too_many, char *err,
                 size_t errlen)
{
	struct block_sum bs = {
	        .sc = sc, .dim = dim, .top = top, .ranked = ranked};
	const struct analytics_goal **goals = NULL;
	if (strcmp(dim, "goal") == 0) {
		bs.key = BK_GOAL;
		size_t max = sc->goals ? sc->goals->n : 0;
		goals = malloc((max ? max : 1) * sizeof(*goals));
		bs.named_group = unfound(max);
		if (!goals || !bs.named_group) {
			free(goals);
			free(bs.named_group);
			snprintf(err, errlen, "out of memory");
			return ANALYTICS_DB_ERROR;
		}
		for (size_t i = 0; i < max; i++)
			if (strcmp(sc->goals->list[i].site, sc->site) == 0)
				goals[bs.n_goals++] = &sc->goals->list[i];
		bs.goals = goals;
		bs.total = total;
	} else {
		key_by(&bs, dim);
	}
	enum analytics_status s =
	        blocks_sum(db, &bs, out, too_many, err, errlen);
	free(goals);
	free(bs.named_group);
	return s;
}

/* Whether breakdown_pair() answers a breakdown by dim of sc, whose
 * conversion rates' base is `base`: both read from the blocks. */
static bool pair_fits(const struct scope *sc, const struct scope *base,
                      const char *dim)
{
	return strcmp(dim, "goal") != 0 && blocks_answer(sc, dim) &&
	       blocks_answer(base, dim);
}

/* The breakdowns by dim of sc (a goal filter or more) and of `base` (sc
 * without them) in one pass over the visits, into *rows and *bases for
 * visits_breakdown() to take: the base of a rate per row under an ad hoc
 * filter was that filter's whole scan again (a year's pages under
 * device==mobile;goal==signup took 72 ms, the scans 28 and 45 ms).  `top`
 * is the rows wanted.  Both stay empty when the blocks do not answer
 * (none covers the range, or too many values): the caller then reads
 * each as before. */
static enum analytics_status
breakdown_pair(sqlite3 *db, const struct scope *sc, const struct scope *base,
               const char *dim, size_t top, struct groups_stash *rows,
               struct groups_stash *bases, char *err, size_t errlen)
{
	struct block_sum bs = {.sc = base,
	                       .dim = dim,
	                       .sc2 = sc,
	                       .top2 = top,
	                       .visitors_only = true,
	                       .ranked = true};
	key_by(&bs, dim);
	struct analytics_groups *g;
	bool too_many;
	enum analytics_status s =
	        blocks_sum(db, &bs, &g, &too_many, err, errlen);
	if (s == ANALYTICS_OK && g) {
		*bases = (struct groups_stash){.dim = dim, .g = g};
		*rows = (struct groups_stash){.dim = dim, .g = bs.g2};
	}
	return s;
}

/* A breakdown read from the visits (filters the rollups cannot answer):
 * every row summed per value in one pass (groups.h), visitors exact up to
 * ANALYTICS_GROUP_EXACT_MAX a value, past it through a sketch as the
 * rollups count them.  Holding every row and sorting them by value and
 * visitor took ~100 bytes a row: a year of one filter's page views at 10
 * million events passed the cap, and SQL's count(DISTINCT) then took 30
 * s.  *out (NULL on error) is the caller's to free with
 * analytics_groups_free(); past sc->groups_max values it is NULL with
 * *too_many, and SQL sums them. */
static enum analytics_status
visits_breakdown(sqlite3 *db, const struct scope *sc, const char *dim,
                 const char *gj, size_t top, bool ranked,
                 struct analytics_groups **out, bool *too_many, char *err,
                 size_t errlen)
{
	*out = NULL, *too_many = false;
	if (sc->stash && sc->stash->g && strcmp(sc->stash->dim, dim) == 0) {
		*out = sc->stash->g;
		sc->stash->g = NULL;
		return ANALYTICS_OK;
	}
	if (blocks_answer(sc, dim)) {
		enum analytics_status s =
		        blocks_breakdown(db, sc, dim, false, top, ranked, out,
		                         too_many, err, errlen);
		if (s != ANALYTICS_OK || *out || *too_many)
			return s;
	}
	if (strcmp(dim, "goal") == 0) {
		struct analytics_groups *g = analytics_groups_new();
		enum analytics_status s = ANALYTICS_DB_ERROR;
		if (!g)
			snprintf(err, errlen, "out of memory");
		else
			s = goal_pass(db, sc, true, g, err, errlen);
		if (s == ANALYTICS_OK)
			s = goal_pass(db, sc, false, g, err, errlen);
		if (s == ANALYTICS_OK)
			*out = g;
		else
			analytics_groups_free(g);
		return s;
	}
	struct sqlb b;
	sqlb_init(&b, db);
	with_rows(&b, "u");
	visits_sql(&b, sc, dim, gj, false);
	sql(&b, ") SELECT value, visits, pageviews, bounces, duration_ms, "
	        "events, engagement_ms, v FROM u");
	struct analytics_groups *g = analytics_groups_new();
	if (!g) {
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	enum analytics_status s =
	        rows_into_groups(db, &b, sc, g, too_many, err, errlen);
	if (s != ANALYTICS_OK || *too_many)
		analytics_groups_free(g);
	else
		*out = g;
	return s;
}

/* `key` as a JSON string: as it is when it is UTF-8, else with U+FFFD for
 * what is not (a value an older version cut inside a character). */
static json_t *text_json(const char *key)
{
	json_t *j = json_string(key);
	if (j)
		return j;
	UErrorCode e = U_ZERO_ERROR;
	int32_t n16 = 0, n8 = 0;
	u_strFromUTF8WithSub(NULL, 0, &n16, key, -1, 0xFFFD, NULL, &e);
	UChar *u = malloc(sizeof(UChar) * (size_t)(n16 + 1));
	char *out = NULL;
	e = U_ZERO_ERROR;
	if (u)
		u_strFromUTF8WithSub(u, n16 + 1, NULL, key, -1, 0xFFFD, NULL,
		                     &e);
	if (u && U_SUCCESS(e)) {
		u_strToUTF8(NULL, 0, &n8, u, n16, &e);
		e = U_ZERO_ERROR;
		out = malloc((size_t)n8 + 1);
		if (out)
			u_strToUTF8(out, n8 + 1, NULL, u, n16, &e);
	}
	j = out && U_SUCCESS(e) ? json_string(out) : NULL;
	free(u);
	free(out);
	return j ? j : json_string("");
}

/* What a breakdown by dim counts in a row. */
static enum row_kind row_dim(const char *dim)
{
	if (strcmp(dim, "page") == 0)
		return ROW_PAGE;
	return strcmp(dim, "event") == 0 || strcmp(dim, "goal") == 0 ||
	                       strncmp(dim, "prop:", 5) == 0
	               ? ROW_EVENT
	               : ROW_VISITS;
}

/* One row of a breakdown: the value under the dimension's name, then the
 * metrics. */
static json_t *breakdown_row(const char *dim, bool hour, const char *key,
                             const struct analytics_totals *t)
{
	json_t *row = json_object();
	if (hour)
		json_object_set_new(row, dim,
		                    json_integer(atoi(key ? key : "0")));
	else
		json_object_set_new(row, dim, text_json(key ? key : ""));
	put_metrics(row, t, row_dim(dim));
	return row;
}

static enum analytics_status breakdown_rows(sqlite3 *db, const struct scope *sc,
                                            const char *dim, size_t limit,
                                            json_t **out, char *err,
                                            size_t errlen);

/* As breakdown_rows() ranks its rows: visitors, visits, then the value
 * under `dim`. */
static int rank_rows(const void *a, const void *b, const char *dim)
{
	const json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
	static const char *const by[] = {"visitors", "visits"};
	for (int i = 0; i < 2; i++) {
		json_int_t p = json_integer_value(json_object_get(x, by[i])),
		           q = json_integer_value(json_object_get(y, by[i]));
		if (p != q)
			return p > q ? -1 : 1;
	}
	return strcmp(json_string_value(json_object_get(x, dim)),
	              json_string_value(json_object_get(y, dim)));
}

static int goal_rank(const void *a, const void *b)
{
	return rank_rows(a, b, "goal");
}

static int group_rank(const void *a, const void *b)
{
	return rank_rows(a, b, "content_group");
}

/* The top `limit` rows by goal when some goals are late (late_goals():
 * the goals of ls): theirs off the visits, the others' from the rollups,
 * ranked together. */
static enum analytics_status
goal_rows_mixed(sqlite3 *db, const struct scope *sc, const struct scope *ls,
                size_t limit, json_t **out, char *err, size_t errlen)
{
	*out = NULL;
	struct scope covered = *sc;
	covered.goal_from_ms = NULL;
	json_t *a = NULL, *b = NULL;
	/* As many more as may be dropped: the late goals' rows. */
	enum analytics_status s = breakdown_rows(
	        db, &covered, "goal", limit + ls->goals->n, &a, err, errlen);
	if (s == ANALYTICS_OK)
		s = breakdown_rows(db, ls, "goal", limit, &b, err, errlen);
	size_t n = json_array_size(a) + json_array_size(b), k = 0;
	json_t **rows =
	        s == ANALYTICS_OK ? malloc((n ? n : 1) * sizeof(*rows)) : NULL;
	if (s == ANALYTICS_OK && !rows) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	size_t i;
	json_t *row;
	json_array_foreach(rows ? a : NULL, i, row)
	{
		const char *name =
		        json_string_value(json_object_get(row, "goal"));
		bool late = false;
		for (size_t j = 0; !late && j < ls->goals->n; j++)
			late = strcmp(ls->goals->list[j].name, name) == 0;
		if (!late)
			rows[k++] = row;
	}
	json_array_foreach(rows ? b : NULL, i, row) rows[k++] = row;
	if (rows) {
		qsort(rows, k, sizeof(*rows), goal_rank);
		*out = json_array();
		for (i = 0; i < k && i < limit; i++)
			json_array_append(*out, rows[i]);
	}
	free(rows);
	json_decref(a);
	json_decref(b);
	return s;
}

/* Rows of a breakdown: value, sums; sorted by visitors.  With `only`,
 * the rows of those values alone (limit: at least as many), which the
 * rollups seek without ranking every value first. */
static enum analytics_status
breakdown_rows_of(sqlite3 *db, const struct scope *sc, const char *dim,
                  size_t limit, const struct candidates *only, json_t **out,
                  char *err, size_t errlen)
{
	if (strcmp(dim, "goal") == 0 && rollup_dim(sc, dim)) {
		struct analytics_goals late;
		struct scope ls;
		bool oom;
		if (late_goals(sc, &late, &ls, &oom)) {
			enum analytics_status s = goal_rows_mixed(
			        db, sc, &ls, limit, out, err, errlen);
			free(late.list);
			return s;
		}
		if (oom) {
			snprintf(err, errlen, "out of memory");
			return ANALYTICS_DB_ERROR;
		}
	}
	bool hour = strcmp(dim, "hour") == 0;
	char *gj = strcmp(dim, "goal") == 0 ? goals_json(sc) : NULL;
	/* Candidates by visits first, so only they merge sketches; then the
	 * best `limit` of them by visitors. */
	size_t cand = limit * 2 + 20;
	if (hour && cand < 24)
		cand = 24; /* every hour: no guess needed */
	bool seek = !hour && rollup_dim(sc, dim);
	if (!hour && !seek) {
		struct analytics_groups *groups;
		bool too_many;
		enum analytics_status s = visits_breakdown(
		        db, sc, dim, gj ? gj : "[]", only ? only->n : limit,
		        !only, &groups, &too_many, err, errlen);
		if (s != ANALYTICS_OK) {
			free(gj);
			return s;
		}
		if (!too_many) {
			size_t n = 0;
			const struct analytics_group *sorted = NULL;
			bool oom;
			/* Only the values asked for: their visitors alone
			 * are counted (breakdown_rates()). */
			if (only) {
				oom = !analytics_groups_pick(groups, only->key,
				                             only->n, &sorted,
				                             &n);
			} else {
				sorted =
				        analytics_groups_top(groups, limit, &n);
				oom = n && !sorted;
			}
			if (oom) {
				analytics_groups_free(groups);
				free(gj);
				snprintf(err, errlen, "out of memory");
				return ANALYTICS_DB_ERROR;
			}
			json_t *rows = json_array();
			for (size_t i = 0; i < n && i < limit; i++)
				json_array_append_new(
				        rows,
				        breakdown_row(dim, false, sorted[i].key,
				                      &sorted[i].t));
			analytics_groups_free(groups);
			free(gj);
			*out = rows;
			return ANALYTICS_OK;
		}
		/* Too many to hold: SQL sums them below. */
	}
	struct candidates keys = {0};
	int64_t left_out = 0;
again:
	left_out = 0;
	if (seek && only) {
		keys = *only; /* not ours: not freed */
	} else if (seek) {
		enum analytics_status s =
		        top_values(db, sc, dim, gj ? gj : "[]", cand, &keys,
		                   &left_out, err, errlen);
		if (s != ANALYTICS_OK) {
			free(gj);
			return s;
		}
	}
	struct sqlb b;
	sqlb_init(&b, db);
	if (seek && keys.n == 0) {
		/* Nothing in the range: an empty answer of the same shape. */
		sql(&b, "SELECT '', 0, 0, 0, 0, 0, 0, 0 WHERE 0");
	} else if (seek) {
		/* From the rollups: the candidates counted apart, then only
		 * their rows sought, sketches and all. */
		sql(&b, "WITH k(value) AS (VALUES ");
		for (size_t i = 0; i < keys.n; i++) {
			sql(&b, i ? ", (" : "(");
			arg_text(&b, keys.key[i]);
			sql(&b, ")");
		}
		sql(&b, "), u");
		sql(&b, union_cols);
		sql(&b, " AS NOT MATERIALIZED (");
		source_sql(&b, sc, dim, 2, gj ? gj : "[]", true);
		/* Ranked by the visitors shown: a sketch's estimate is capped
		 * at the visits (visitors_capped()). */
		sql(&b,
		    ") SELECT u.value, sum(u.visits), sum(u.pageviews), "
		    "sum(u.bounces), sum(u.duration_ms), sum(u.events), "
		    "sum(u.engagement_ms), min(analytics_uniq(u.v), "
		    "sum(u.visits)) AS visitors FROM u WHERE u.value IN k "
		    "GROUP BY u.value ORDER BY visitors DESC, sum(u.visits) "
		    "DESC, u.value LIMIT ");
		arg_int(&b, (int64_t)limit);
	} else {
		/* Hours of day, or visits too many to hold: u and c are read
		 * twice.  NOT MATERIALIZED runs them twice rather than copying
		 * every row into two temp tables first. */
		sql(&b, "WITH u");
		sql(&b, union_cols);
		sql(&b, " AS NOT MATERIALIZED (");
		source_sql(&b, sc, hour ? "" : dim, hour ? 0 : 2,
		           gj ? gj : "[]", false);
		sql(&b, "), c AS NOT MATERIALIZED (SELECT ");
		if (hour) {
			/* As a timeseries by the hour counts it. */
			sql(&b, "analytics_bucket(max(u.t, ");
			arg_int(&b, sc->midnight);
			sql(&b, "), ");
			arg_text(&b, sc->tz);
			sql(&b, ", 'hour_of_day')");
		} else {
			sql(&b, "u.value");
		}
		/* A value with no visits (an hour only bots came in) is no
		 * row. */
		sql(&b, " AS key, u.* FROM u), top AS (SELECT key FROM c "
		        "GROUP BY key HAVING sum(visits) > 0 ORDER BY "
		        "sum(visits) DESC, key LIMIT ");
		arg_int(&b, (int64_t)cand);
		sql(&b, ") SELECT c.key, sum(c.visits), sum(c.pageviews), "
		        "sum(c.bounces), sum(c.duration_ms), sum(c.events), "
		        "sum(c.engagement_ms), min(");
		visitors_sql(&b, sc, hour ? "" : dim, "c");
		sql(&b, ", sum(c.visits)) AS visitors, ");
		/* The most visits of a value left out (hours: none is). */
		if (hour) {
			sql(&b, "0");
		} else {
			sql(&b, "(SELECT sum(visits) FROM c GROUP BY key ORDER "
			        "BY 1 DESC LIMIT 1 OFFSET ");
			arg_int(&b, (int64_t)cand);
			sql(&b, ")");
		}
		sql(&b, " FROM c WHERE c.key IN top GROUP BY c.key ORDER BY "
		        "visitors DESC, sum(c.visits) DESC, c.key LIMIT ");
		arg_int(&b, (int64_t)limit);
	}
	sqlite3_stmt *st = sqlb_prepare(&b, db, err, errlen);
	if (!st) {
		if (!only)
			free_candidates(&keys);
		free(gj);
		return ANALYTICS_DB_ERROR;
	}
	json_t *rows = json_array();
	int rc;
	int64_t last = 0; /* the last row's visitors, as shown */
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct analytics_totals t;
		read_totals(st, 1, &t);
		last = visitors_capped(&t);
		if (!seek)
			left_out = sqlite3_column_int64(st, 8);
		json_array_append_new(
		        rows,
		        breakdown_row(dim, hour,
		                      (const char *)sqlite3_column_text(st, 0),
		                      &t));
	}
	if (rc != SQLITE_DONE)
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (!only)
		free_candidates(&keys);
	if (rc == SQLITE_DONE && left_out > 0 && last <= left_out) {
		/* A value left out had at most left_out visits, so at most
		 * as many visitors: it might belong among the rows (many
		 * visitors, few visits each).  Again with more candidates,
		 * until the last row outranks every value left out. */
		json_decref(rows);
		cand *= 4;
		goto again;
	}
	free(gj);
	if (rc != SQLITE_DONE) {
		json_decref(rows);
		return ANALYTICS_DB_ERROR;
	}
	*out = rows;
	return ANALYTICS_OK;
}

static enum analytics_status breakdown_rows(sqlite3 *db, const struct scope *sc,
                                            const char *dim, size_t limit,
                                            json_t **out, char *err,
                                            size_t errlen)
{
	return breakdown_rows_of(db, sc, dim, limit, NULL, out, err, errlen);
}

/* A count parameter: digits only (strtol() also takes " 5" and "+5"),
 * 1 to max; NULL leaves *out as it is. */
static bool count_param(const char *text, long max, long *out)
{
	if (!text)
		return true;
	char *end;
	errno = 0;
	long v = strtol(text, &end, 10);
	if (!isdigit((unsigned char)text[0]) || *end || errno || v < 1 ||
	    v > max)
		return false;
	*out = v;
	return true;
}

/* Whether filter f is on the breakdown's own dimension, whose other values
 * its visits also have: an event, a goal, a property. */
static bool own_filter(const struct filter *f, const char *dim)
{
	switch (f->kind) {
	case F_EVENT: return strcmp(dim, "event") == 0;
	case F_PROP: return strcmp(dim, f->dim) == 0;
	case F_GOAL: return strcmp(dim, "goal") == 0;
	default: return false;
	}
}

/* Whether a breakdown by dim shows the row of `value`.  A filter on an
 * event, a goal or a property keeps the visits that have it, and those
 * visits' other values of it are no rows of the breakdown by it, as in
 * Plausible: with event==signup the events list shows signup alone.  Two
 * such filters (event==a;event==b: visits with both) show both; a
 * negated one hides its values.  A UTM breakdown leaves out its untagged
 * value `none` (NULL: none). */
static bool row_shown(const struct scope *sc, const char *dim, const char *none,
                      const char *value)
{
	if (!value)
		return true;
	if (none && strcmp(value, none) == 0)
		return false;
	bool named = false, chosen = false;
	for (size_t i = 0; i < sc->n_filters; i++) {
		const struct filter *f = &sc->filters[i];
		if (!own_filter(f, dim))
			continue;
		bool match = false;
		const char *a = f->alts;
		for (size_t k = 0; !match && k < f->n_alts;
		     k++, a += strlen(a) + 1)
			/* A goal is named, not matched: the goal each
			 * alternative found (brackets and all). */
			match = f->kind == F_GOAL
			                ? strcmp(f->goal[k]->name, value) == 0
			                : text_matches(a, has_glob(a), value,
			                               strlen(value));
		if (f->negate && match)
			return false;
		named |= !f->negate;
		chosen |= !f->negate && match;
	}
	return !named || chosen;
}

/* A breakdown row's value as an object key: its text, or an hour's
 * number; false when it is neither. */
static bool row_key(const json_t *v, char *buf, size_t len, const char **key)
{
	if (json_is_string(v)) {
		*key = json_string_value(v);
		return true;
	}
	if (!json_is_integer(v))
		return false;
	snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
	*key = buf;
	return true;
}

/* Whether the comma list `m` names `name`. */
static bool lists(const char *m, const char *name)
{
	size_t n = strlen(name);
	for (const char *p = m; *p;) {
		size_t len = strcspn(p, ",");
		if (len == n && strncmp(p, name, n) == 0)
			return true;
		p += len + (p[len] == ',');
	}
	return false;
}

/* Each of `rows` (a breakdown by dim under a goal filter) gets its
 * conversion rate, as Plausible's breakdown gives it when asked for: the
 * row's visitors over those of the same value in `base` (the scope
 * without the goal filters, without_goals()), the rows' values sought
 * alone, so a value that converts well but is seen little still has its
 * base; by goal, each goal's rate is over all of base's visitors, as in
 * the goals report. */
static enum analytics_status breakdown_rates(sqlite3 *db,
                                             const struct scope *base,
                                             const char *dim, json_t *rows,
                                             char *err, size_t errlen)
{
	if (!json_array_size(rows))
		return ANALYTICS_OK;
	size_t i;
	json_t *row;
	if (strcmp(dim, "goal") == 0) {
		struct analytics_totals all;
		enum analytics_status s =
		        query_total(db, base, &all, err, errlen);
		json_array_foreach(rows, i, row)
		{
			if (s != ANALYTICS_OK)
				break;
			json_object_set_new(
			        row, "conversion_rate",
			        conversion_rate(
			                json_integer_value(json_object_get(
			                        row, "visitors")),
			                &all));
		}
		return s;
	}
	/* The rows' values: the rollups seek theirs alone. */
	struct candidates values = {
	        .key = malloc(json_array_size(rows) * sizeof(*values.key))};
	json_array_foreach(values.key ? rows : NULL, i, row)
	{
		const char *v = json_string_value(json_object_get(row, dim));
		if (v)
			values.key[values.n++] = v;
	}
	json_t *bases = NULL;
	enum analytics_status s =
	        values.key ? breakdown_rows_of(db, base, dim, BREAKDOWN_ALL,
	                                       &values, &bases, err, errlen)
	                   : ANALYTICS_DB_ERROR;
	if (!values.key)
		snprintf(err, errlen, "out of memory");
	free(values.key);
	json_t *by_value = s == ANALYTICS_OK ? json_object() : NULL;
	if (s == ANALYTICS_OK && !by_value) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	char buf[32];
	const char *key;
	json_array_foreach(by_value ? bases : NULL, i, row)
	{
		if (row_key(json_object_get(row, dim), buf, sizeof(buf), &key))
			json_object_set(by_value, key, row);
	}
	json_array_foreach(by_value ? rows : NULL, i, row)
	{
		const json_t *b = row_key(json_object_get(row, dim), buf,
		                          sizeof(buf), &key)
		                          ? json_object_get(by_value, key)
		                          : NULL;
		json_object_set_new(
		        row, "conversion_rate",
		        rate_of(json_integer_value(
		                        json_object_get(row, "visitors")),
		                b ? json_integer_value(
		                            json_object_get(b, "visitors"))
		                  : 0));
	}
	json_decref(by_value);
	json_decref(bases);
	return s;
}

/* Whether a breakdown by content group shows group `name` under the
 * scope's content_group filters: as row_shown() for a goal, the visits of
 * content_group==A that also read B are no row of B's. */
static bool group_shown(const struct scope *sc, const char *name)
{
	bool named = false, chosen = false;
	for (size_t i = 0; i < sc->n_filters; i++) {
		const struct filter *f = &sc->filters[i];
		if (strcmp(f->dim, "content_group") != 0)
			continue;
		bool match = false;
		const char *v = f->value;
		while (!match && *v) {
			size_t len = strcspn(v, "|");
			match = len == strlen(name) &&
			        memcmp(v, name, len) == 0;
			v += len + (v[len] == '|');
		}
		if (f->negate && match)
			return false;
		named |= !f->negate;
		chosen |= !f->negate && match;
	}
	return !named || chosen;
}

/* What the groups' sums depend on: their names and patterns, in order
 * (a bit each, add_grouped()); never 0, so 0 can mean none. */
static uint64_t groups_fingerprint(const struct filter *f, size_t n)
{
	crypto_generichash_state st;
	unsigned char out[crypto_generichash_BYTES_MIN];
	crypto_generichash_init(&st, NULL, 0, sizeof(out));
	for (size_t x = 0; x < n; x++) {
		size_t len = 0;
		for (size_t k = 0; k < f[x].n_alts; k++)
			len += strlen(f[x].alts + len) + 1;
		uint64_t lens[3] = {strlen(f[x].value), len, f[x].n_alts};
		crypto_generichash_update(&st, (const unsigned char *)lens,
		                          sizeof(lens));
		crypto_generichash_update(
		        &st, (const unsigned char *)f[x].value, lens[0]);
		crypto_generichash_update(&st, (const unsigned char *)f[x].alts,
		                          len);
	}
	crypto_generichash_final(&st, out, sizeof(out));
	uint64_t tag;
	memcpy(&tag, out, sizeof(tag));
	return tag ? tag : 1;
}

/* The most content groups one pass over the blocks sums: a bit each. */
#define GROUPS_SCANNED_MAX 64

/* Per group f[x] (a content_group== filter), the totals of scope sc
 * with it added, into t[x], from one pass over the blocks (and the days
 * they do not cover): what summary() gives for each, a pass each.  With
 * `narrower` (sc and goal filters: the scope whose conversion rates sc
 * is the base of) also its totals with each group added, into
 * t_narrower[x], in the same pass (block_sum's sc2).  *done false when
 * the blocks cannot answer; the caller then asks summary() group by
 * group.  Both scopes have room for one more filter. */
static enum analytics_status group_totals(sqlite3 *db, const struct scope *sc,
                                          const struct scope *narrower,
                                          const struct filter *f, size_t n,
                                          struct analytics_totals *t,
                                          struct analytics_totals *t_narrower,
                                          bool *done, char *err, size_t errlen)
{
	*done = false;
	memset(t, 0, n * sizeof(*t));
	if (narrower)
		memset(t_narrower, 0, n * sizeof(*t_narrower));
	if (n == 0 || n > GROUPS_SCANNED_MAX)
		return ANALYTICS_OK;
	struct scope *probe = malloc(sizeof(*probe));
	bool answers = probe != NULL;
	if (answers) {
		*probe = *sc;
		probe->filters[probe->n_filters++] = f[0];
		answers = blocks_answer(probe, "");
	}
	free(probe);
	if (!answers)
		return ANALYTICS_OK;
	struct block_sum bs = {.sc = sc,
	                       .sc2 = narrower,
	                       .key = BK_GROUP,
	                       .dim = "",
	                       .cgroups = f,
	                       .n_cgroups = n,
	                       .groups_tag = groups_fingerprint(f, n),
	                       .named_group = unfound(n),
	                       .named_group2 = narrower ? unfound(n) : NULL};
	const char **keys = malloc(n * sizeof(*keys));
	if (!bs.named_group || (narrower && !bs.named_group2) || !keys) {
		free(bs.named_group);
		free(bs.named_group2);
		free(keys);
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	for (size_t x = 0; x < n; x++)
		keys[x] = f[x].value;
	struct analytics_groups *g = NULL;
	bool too_many = false;
	enum analytics_status s =
	        blocks_sum(db, &bs, &g, &too_many, err, errlen);
	free(bs.named_group);
	free(bs.named_group2);
	for (int k = 0; k < 2 && g; k++) {
		struct analytics_groups *from = k ? bs.g2 : g;
		struct analytics_totals *into = k ? t_narrower : t;
		const struct analytics_group *got = NULL;
		size_t m = 0;
		if (!from || s != ANALYTICS_OK)
			continue;
		if (!analytics_groups_pick(from, keys, n, &got, &m)) {
			snprintf(err, errlen, "out of memory");
			s = ANALYTICS_DB_ERROR;
		}
		for (size_t j = 0; s == ANALYTICS_OK && j < m; j++)
			for (size_t x = 0; x < n; x++)
				if (strcmp(got[j].key, f[x].value) == 0)
					into[x] = got[j].t;
	}
	*done = s == ANALYTICS_OK && g;
	analytics_groups_free(g);
	analytics_groups_free(bs.g2);
	free(keys);
	return s;
}

/* The breakdown by content group: each of the site's groups is the
 * summary of the scope with that group's filter added (its visitors,
 * visits and page views exact, off the visits: a visit reading two pages
 * of a group is one visit of it), ranked as any breakdown (visitors,
 * visits, name).  A group without visits has a row of zeros: the groups
 * are few and named in the config.  All groups are summed in one pass
 * over the blocks where they answer; a year's four groups took a pass
 * each, 157 ms. */
static enum analytics_status
group_breakdown(sqlite3 *db, const struct scope *sc, size_t skip, size_t limit,
                long page, json_t **out, char *err, size_t errlen)
{
	const struct analytics_content_groups *cg = sc->content_groups;
	size_t n = 0;
	struct filter *f = calloc(cg && cg->n ? cg->n : 1, sizeof(*f));
	struct scope *gs = malloc(sizeof(*gs));
	struct analytics_totals *t =
	        calloc(2 * (cg && cg->n ? cg->n : 1), sizeof(*t));
	json_t *rows = json_array();
	enum analytics_status s = ANALYTICS_OK;
	if (!f || !gs || !t || !rows) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	for (size_t i = 0; s == ANALYTICS_OK && cg && i < cg->n; i++) {
		const struct analytics_content_group *g = &cg->list[i];
		if (strcmp(g->site, sc->site) != 0 || !group_shown(sc, g->name))
			continue;
		if (sc->n_filters == MAX_FILTERS) {
			snprintf(
			        err, errlen,
			        "a breakdown by content_group takes at most %d "
			        "filters",
			        MAX_FILTERS - 1);
			s = ANALYTICS_BAD_REQUEST;
			break;
		}
		struct filter *x = &f[n++];
		snprintf(x->dim, sizeof(x->dim), "content_group");
		snprintf(x->value, sizeof(x->value), "%s", g->name);
		memcpy(x->alts, g->patterns, g->patterns_len);
		x->n_alts = g->n_patterns;
		x->kind = F_PAGE;
	}
	bool done = false, rates = false;
	struct analytics_totals *base = t ? t + n : NULL;
	/* With a goal among the filters, each row's conversion rate: its
	 * base the group's visitors without the goals, summed in the same
	 * pass, read off the blocks as the rows are (summary() of the group
	 * might take a matching segment's sketches instead: then the base
	 * and the rows would be counted two ways). */
	struct scope *goalless = malloc(sizeof(*goalless));
	if (s == ANALYTICS_OK && !goalless) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	if (s == ANALYTICS_OK) {
		/* With a group's filter, no segment's filters any more. */
		*gs = *sc;
		gs->segment = 0;
		gs->stash = NULL;
		if ((rates = without_goals(db, gs, goalless))) {
			goalless->segment = 0;
			goalless->stash = NULL;
			/* The wider scope first: gs's visits are among
			 * goalless's. */
			s = group_totals(db, goalless, gs, f, n, base, t, &done,
			                 err, errlen);
		} else {
			s = group_totals(db, gs, NULL, f, n, t, NULL, &done,
			                 err, errlen);
		}
	}
	free(goalless);
	for (size_t x = 0; s == ANALYTICS_OK && x < n; x++) {
		json_t *res = NULL;
		if (done) {
			if ((res = json_object())) {
				put_metrics(res, &t[x], ROW_VISITS);
				if (rates)
					json_object_set_new(
					        res, "conversion_rate",
					        conversion_rate(
					                visitors_capped(&t[x]),
					                &base[x]));
			}
		} else {
			struct scope one = *gs;
			one.filters[one.n_filters++] = f[x];
			s = summary(db, &one, &res, err, errlen);
			if (s != ANALYTICS_OK)
				break;
		}
		json_t *row = json_pack("{s:s}", "content_group", f[x].value);
		if (!res || !row || json_object_update(row, res) != 0 ||
		    json_array_append_new(rows, row) != 0) {
			snprintf(err, errlen, "out of memory");
			s = ANALYTICS_DB_ERROR;
		}
		json_decref(res);
	}
	free(f);
	free(gs);
	free(t);
	size_t nr = json_array_size(rows);
	json_t **sorted = nr ? malloc(nr * sizeof(*sorted)) : NULL;
	if (s == ANALYTICS_OK && nr && !sorted) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	json_t *shown = s == ANALYTICS_OK ? json_array() : NULL;
	if (s == ANALYTICS_OK && nr) {
		for (size_t i = 0; i < nr; i++)
			sorted[i] = json_array_get(rows, i);
		qsort(sorted, nr, sizeof(*sorted), group_rank);
		for (size_t i = skip; i < nr && i < skip + limit; i++)
			json_array_append(shown, sorted[i]);
	}
	free(sorted);
	json_decref(rows);
	if (s != ANALYTICS_OK)
		return s;
	*out = json_pack("{s:s,s:o,s:I,s:b}", "dimension", "content_group",
	                 "results", shown, "page", (json_int_t)page, "more",
	                 nr > skip + limit);
	return *out ? ANALYTICS_OK : ANALYTICS_DB_ERROR;
}

static enum analytics_status breakdown(sqlite3 *db, const struct scope *sc,
                                       const struct analytics_request *rq,
                                       json_t **out, char *err, size_t errlen)
{
	const char *dim = rq->dimension;
	if (!dim || !breakdown_dim(dim)) {
		snprintf(err, errlen, "dimension: unknown or missing");
		return ANALYTICS_BAD_REQUEST;
	}
	/* Every row has every metric; metric= may name them, and must name
	 * only those, as for the timeseries. */
	for (const char *m = rq->metric ? rq->metric : ""; *m;) {
		size_t len = strcspn(m, ",");
		if (!metric_name(m, len) &&
		    !(len == strlen("conversion_rate") &&
		      strncmp(m, "conversion_rate", len) == 0)) {
			snprintf(err, errlen, "unknown metric \"%.*s\"",
			         (int)(len > 40 ? 40 : len), m);
			return ANALYTICS_BAD_REQUEST;
		}
		m += len + (m[len] == ',');
	}
	/* Its rows' conversion rates when asked for (metric=conversion_rate,
	 * as in Plausible's API: the base is a second breakdown). */
	bool rates = rq->metric && lists(rq->metric, "conversion_rate");
	struct scope goalless;
	if (rates && !without_goals(db, sc, &goalless)) {
		snprintf(err, errlen,
		         "conversion_rate needs a goal filter (goal==NAME)");
		return ANALYTICS_BAD_REQUEST;
	}
	long most = rq->csv ? BREAKDOWN_ALL : BREAKDOWN_MAX;
	long limit = 10, page = 1;
	if (!count_param(rq->limit, most, &limit)) {
		snprintf(err, errlen, "limit is 1 to %ld", most);
		return ANALYTICS_BAD_REQUEST;
	}
	if (!count_param(rq->page, BREAKDOWN_ALL, &page) ||
	    (page - 1) * limit + limit > BREAKDOWN_ALL) {
		snprintf(err, errlen,
		         "page is 1 or more, its rows within the first %d",
		         BREAKDOWN_ALL);
		return ANALYTICS_BAD_REQUEST;
	}
	if (strcmp(dim, "content_group") == 0)
		return group_breakdown(db, sc, (size_t)((page - 1) * limit),
		                       (size_t)limit, page, out, err, errlen);
	/* A UTM breakdown leaves out the visits without the tag, as
	 * Plausible's do: "(none)" is no campaign, and it was most visits'
	 * top row.  The filter utm_campaign==(none) still finds them. */
	const char *none = NULL;
	for (size_t i = 0; i < analytics_n_session_dims; i++)
		if (strncmp(dim, "utm_", 4) == 0 &&
		    strcmp(dim, analytics_session_dims[i].name) == 0)
			none = analytics_session_dims[i].none;
	/* So do the entry and exit pages the visits of custom events alone,
	 * which viewed no page. */
	if (strcmp(dim, "entry_page") == 0 || strcmp(dim, "exit_page") == 0)
		none = "(none)";
	bool untagged = none != NULL;
	/* The rollups keep the rows of a goal no longer configured: not
	 * shown, as in the goals report. */
	bool goal = strcmp(dim, "goal") == 0;
	bool own = goal;
	for (size_t i = 0; i < sc->n_filters; i++)
		own |= own_filter(&sc->filters[i], dim);
	/* One row past the page: whether there are more (and one more for
	 * the untagged row).  Rows a filter on the dimension leaves out are
	 * not known before: more are asked for until enough are shown or
	 * there are no more. */
	size_t skip = (size_t)((page - 1) * limit);
	size_t want = skip + (size_t)limit + 1;
	size_t ask = want + untagged;
	/* With rates, the rows and their base summed in one pass. */
	struct groups_stash rows_stash = {0}, base_stash = {0};
	struct scope paired;
	const struct scope *rsc = sc;
	if (rates && pair_fits(sc, &goalless, dim)) {
		enum analytics_status s =
		        breakdown_pair(db, sc, &goalless, dim, ask, &rows_stash,
		                       &base_stash, err, errlen);
		if (s != ANALYTICS_OK)
			return s;
		paired = *sc;
		paired.stash = &rows_stash;
		rsc = &paired;
		goalless.stash = &base_stash;
	}
	json_t *rows;
	for (;;) {
		enum analytics_status s =
		        breakdown_rows(db, rsc, dim, ask, &rows, err, errlen);
		if (s != ANALYTICS_OK) {
			analytics_groups_free(rows_stash.g);
			analytics_groups_free(base_stash.g);
			return s;
		}
		size_t got = json_array_size(rows);
		for (size_t i = 0; i < json_array_size(rows);) {
			const char *v = json_string_value(
			        json_object_get(json_array_get(rows, i), dim));
			if (row_shown(sc, dim, none, v) &&
			    (!goal || (v && find_goal(sc, v))))
				i++;
			else
				json_array_remove(rows, i);
		}
		if (!own || json_array_size(rows) >= want || got < ask ||
		    ask >= BREAKDOWN_ALL)
			break;
		json_decref(rows);
		ask = ask * 4 > BREAKDOWN_ALL ? BREAKDOWN_ALL : ask * 4;
	}
	bool more = json_array_size(rows) > skip + (size_t)limit;
	json_t *shown = json_array();
	for (size_t i = skip; i < skip + (size_t)limit; i++) {
		json_t *r = json_array_get(rows, i);
		if (!r)
			break;
		json_array_append(shown, r);
	}
	json_decref(rows);
	enum analytics_status s = ANALYTICS_OK;
	if (rates)
		s = breakdown_rates(db, &goalless, dim, shown, err, errlen);
	analytics_groups_free(rows_stash.g);
	analytics_groups_free(base_stash.g);
	if (s != ANALYTICS_OK) {
		json_decref(shown);
		return s;
	}
	*out = json_pack("{s:s,s:o,s:I,s:b}", "dimension", dim, "results",
	                 shown, "page", (json_int_t)page, "more", more);
	return *out ? ANALYTICS_OK : ANALYTICS_DB_ERROR;
}

/* One row of the goals report. */
static json_t *goal_row(const struct analytics_goal *g, json_int_t visitors,
                        json_int_t visits, json_int_t events, json_t *cr)
{
	return json_pack("{s:s,s:s,s:s,s:I,s:I,s:I,s:o}", "goal", g->name,
	                 "kind",
	                 g->kind == ANALYTICS_GOAL_PAGE ? "page" : "event",
	                 "pattern", g->pattern, "visitors", visitors, "visits",
	                 visits, "events", events, "conversion_rate", cr);
}

/* The goals' rows (as breakdown_rows() makes them) and the scope's total
 * from the blocks in one pass: with filters no rollup answers, a total
 * first and then the goals read the same year of blocks twice.  *rows
 * NULL when no block covers the range, or there were too many values. */
static enum analytics_status goals_from_blocks(sqlite3 *db,
                                               const struct scope *sc,
                                               struct analytics_totals *total,
                                               json_t **rows, char *err,
                                               size_t errlen)
{
	*rows = NULL;
	struct analytics_groups *g;
	bool too_many;
	enum analytics_status s = blocks_breakdown(
	        db, sc, "goal", true, 0, false, &g, &too_many, err, errlen);
	if (s != ANALYTICS_OK || !g)
		return s;
	size_t n;
	const struct analytics_group *sorted;
	if (!groups_sorted(g, &sorted, &n, err, errlen))
		return ANALYTICS_DB_ERROR;
	memset(total, 0, sizeof(*total));
	*rows = json_array();
	for (size_t i = 0; i < n; i++) {
		if (sorted[i].key[0] == '\0')
			*total = sorted[i].t;
		else
			json_array_append_new(*rows,
			                      breakdown_row("goal", false,
			                                    sorted[i].key,
			                                    &sorted[i].t));
	}
	analytics_groups_free(g);
	return ANALYTICS_OK;
}

static enum analytics_status goals(sqlite3 *db, const struct scope *sc,
                                   json_t **out, char *err, size_t errlen)
{
	struct analytics_totals total;
	json_t *rows = NULL;
	enum analytics_status s = ANALYTICS_OK;
	/* With goal==X the rows are the goals it names, each rate over the
	 * visitors the other filters keep, as the summary's: that total,
	 * not the scope's. */
	struct scope base;
	bool narrowed = without_goals(db, sc, &base);
	if (blocks_answer(sc, ""))
		s = goals_from_blocks(db, sc, &total, &rows, err, errlen);
	if (s == ANALYTICS_OK && !rows) {
		if (!narrowed)
			s = query_total(db, sc, &total, err, errlen);
		if (s == ANALYTICS_OK)
			s = breakdown_rows(db, sc, "goal", BREAKDOWN_MAX, &rows,
			                   err, errlen);
	}
	if (s == ANALYTICS_OK && narrowed)
		s = query_total(db, &base, &total, err, errlen);
	if (s != ANALYTICS_OK) {
		json_decref(rows);
		return s;
	}
	json_t *res = json_array();
	for (size_t i = 0; sc->goals && i < sc->goals->n; i++) {
		const struct analytics_goal *g = &sc->goals->list[i];
		if (strcmp(g->site, sc->site) != 0 ||
		    !row_shown(sc, "goal", NULL, g->name))
			continue;
		json_int_t visitors = 0, visits = 0, events = 0;
		size_t j;
		json_t *row;
		json_array_foreach(rows, j, row)
		{
			if (strcmp(json_string_value(
			                   json_object_get(row, "goal")),
			           g->name) != 0)
				continue;
			visitors = json_integer_value(
			        json_object_get(row, "visitors"));
			visits = json_integer_value(
			        json_object_get(row, "visits"));
			events = json_integer_value(
			        json_object_get(row, "events"));
		}
		json_array_append_new(
		        res, goal_row(g, visitors, visits, events,
		                      conversion_rate(visitors, &total)));
	}
	json_decref(rows);
	*out = json_pack("{s:o}", "results", res);
	return ANALYTICS_OK;
}

/* One row of the realtime report's pages. */
static json_t *active_page_row(const char *page, int64_t visitors)
{
	json_t *row = json_object();
	json_object_set_new(row, "page", json_string(page));
	json_object_set_new(row, "visitors", json_integer(visitors));
	return row;
}

static enum analytics_status realtime(sqlite3 *db, const struct scope *sc,
                                      int64_t now_ms, json_t **out, char *err,
                                      size_t errlen)
{
	int64_t since = now_ms - REALTIME_MS;
	/* Visits seen in the window: the open ones, and any ended soon after
	 * starting (a short visit_timeout). */
	const char *active =
	        "SELECT visitor, exit_page FROM analytics_visits WHERE site = "
	        "?1 AND closed = 0 AND last_ts >= ?2 UNION ALL SELECT "
	        "visitor, exit_page FROM analytics_visits WHERE site = ?1 AND "
	        "closed = 1 AND start_ts >= ?2 - 21600000 AND last_ts >= ?2";
	char *q1 = sqlite3_mprintf("SELECT count(DISTINCT visitor) FROM (%s)",
	                           active);
	/* A visit of custom events alone is on no page ("(none)", which no
	 * path is): its visitor counts, but lists no page. */
	char *q2 = sqlite3_mprintf("SELECT exit_page, count(DISTINCT visitor) "
	                           "AS n FROM (%s) WHERE exit_page <> '(none)' "
	                           "GROUP BY exit_page ORDER BY n DESC, "
	                           "exit_page LIMIT 20",
	                           active);
	const char *q3 = "SELECT count(*) FROM events WHERE site = ?1 AND ts "
	                 ">= ?2 AND type = 1 AND coalesce(bot, 0) = 0";
	const char *qs[3] = {q1, q2, q3};
	json_t *pages = json_array();
	int64_t visitors = 0, pageviews = 0;
	enum analytics_status s = ANALYTICS_OK;
	for (int i = 0; i < 3 && s == ANALYTICS_OK; i++) {
		sqlite3_stmt *st = NULL;
		if (!qs[i] ||
		    sqlite3_prepare_v2(db, qs[i], -1, &st, NULL) != SQLITE_OK) {
			snprintf(err, errlen, "%s", sqlite3_errmsg(db));
			s = ANALYTICS_DB_ERROR;
			break;
		}
		sqlite3_bind_text(st, 1, sc->site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, since);
		int rc;
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			if (i == 0)
				visitors = sqlite3_column_int64(st, 0);
			else if (i == 2)
				pageviews = sqlite3_column_int64(st, 0);
			else {
				const char *page =
				        (const char *)sqlite3_column_text(st,
				                                          0);
				json_array_append_new(
				        pages,
				        active_page_row(
				                page ? page : "",
				                sqlite3_column_int64(st, 1)));
			}
		}
		if (rc != SQLITE_DONE) {
			snprintf(err, errlen, "%s", sqlite3_errmsg(db));
			s = ANALYTICS_DB_ERROR;
		}
		sqlite3_finalize(st);
	}
	sqlite3_free(q1);
	sqlite3_free(q2);
	if (s != ANALYTICS_OK) {
		json_decref(pages);
		return s;
	}
	*out = json_pack("{s:s,s:I,s:I,s:i,s:o}", "site", sc->site, "visitors",
	                 (json_int_t)visitors, "pageviews",
	                 (json_int_t)pageviews, "window_s", REALTIME_MS / 1000,
	                 "pages", pages);
	return ANALYTICS_OK;
}

/* The timeseries; with conversion_rate among its metrics (it needs a goal
 * filter), each bucket's: its visitors with the goal filter over the same
 * bucket's without it, as the summary's rate is.  Two timeseries: the
 * one asked for, with its visitors, and the base's visitors. */
static enum analytics_status
timeseries_rates(sqlite3 *db, const struct scope *sc,
                 const struct analytics_request *rq, struct seula_zone *z,
                 json_t **out, char *err, size_t errlen)
{
	const char *m = rq->metric && *rq->metric ? rq->metric : "visitors";
	if (!lists(m, "conversion_rate"))
		return timeseries(db, sc, rq, z, out, err, errlen);
	struct scope base;
	if (!without_goals(db, sc, &base)) {
		snprintf(err, errlen,
		         "conversion_rate needs a goal filter (goal==NAME)");
		return ANALYTICS_BAD_REQUEST;
	}
	/* The metrics asked for but the rate, and visitors for it. */
	char rest[512] = "";
	size_t used = 0;
	bool visitors = false;
	for (const char *p = m; *p;) {
		size_t len = strcspn(p, ",");
		if (len == 0) {
			snprintf(err, errlen, "unknown metric \"\"");
			return ANALYTICS_BAD_REQUEST;
		}
		if (!(len == 15 && strncmp(p, "conversion_rate", 15) == 0)) {
			if (len > 64 || used + len + 2 >= sizeof(rest)) {
				snprintf(err, errlen, "too many metrics");
				return ANALYTICS_BAD_REQUEST;
			}
			used += (size_t)snprintf(rest + used,
			                         sizeof(rest) - used, "%s%.*s",
			                         used ? "," : "", (int)len, p);
			visitors |= len == 8 && strncmp(p, "visitors", 8) == 0;
		}
		p += len + (p[len] == ',');
	}
	if (!visitors)
		snprintf(rest + used, sizeof(rest) - used, "%svisitors",
		         used ? "," : "");
	struct analytics_request asked = *rq, bare = *rq;
	asked.metric = rest;
	bare.metric = "visitors";
	json_t *all = NULL;
	enum analytics_status s =
	        timeseries(db, sc, &asked, z, out, err, errlen);
	if (s == ANALYTICS_OK)
		s = timeseries(db, &base, &bare, z, &all, err, errlen);
	if (s != ANALYTICS_OK) {
		json_decref(*out);
		*out = NULL;
		return s;
	}
	/* The same buckets, in the same order. */
	json_t *rows = json_object_get(*out, "results");
	json_t *bases = json_object_get(all, "results");
	size_t i;
	json_t *row;
	json_array_foreach(rows, i, row)
	{
		json_int_t v =
		        json_integer_value(json_object_get(row, "visitors"));
		json_int_t b = json_integer_value(
		        json_object_get(json_array_get(bases, i), "visitors"));
		json_object_set_new(row, "conversion_rate", rate_of(v, b));
		if (!visitors)
			json_object_del(row, "visitors");
	}
	json_decref(all);
	/* The metrics as asked, in their order: the list, and each row's
	 * figures (a CSV's columns). */
	json_t *names = json_array();
	for (const char *p = m; *p;) {
		size_t len = strcspn(p, ",");
		json_array_append_new(names, json_stringn(p, len));
		p += len + (p[len] == ',');
	}
	json_array_foreach(rows, i, row)
	{
		size_t k;
		json_t *name;
		json_array_foreach(names, k, name)
		{
			const char *key = json_string_value(name);
			json_t *v = json_incref(json_object_get(row, key));
			json_object_del(row, key);
			json_object_set_new(row, key, v);
		}
	}
	json_object_set_new(*out, "metrics", names);
	return ANALYTICS_OK;
}

/* The report body for one scope (the results part). */
/* ---- funnels (funnel.h) ------------------------------------------------- */

/* The funnel a request asks for: a configured one (funnel=) or steps
 * asked ad hoc (steps=), into *adhoc then (the caller clears it). */
static const struct analytics_funnel *
funnel_of(const struct analytics_request *rq, struct analytics_funnel *adhoc,
          char *err, size_t errlen)
{
	bool named = rq->funnel && *rq->funnel;
	bool steps = rq->steps && *rq->steps;
	if (named == steps) {
		snprintf(err, errlen,
		         "funnel=NAME (a configured funnel) or steps=STEP>STEP"
		         "... (each page:PATTERN or event:NAME), one of them");
		return NULL;
	}
	if (steps)
		return analytics_funnel_steps_parse(rq->steps, adhoc, err,
		                                    errlen) == 0
		               ? adhoc
		               : NULL;
	const struct analytics_funnel *f =
	        analytics_funnel_find(rq->funnels, rq->site, rq->funnel);
	if (!f)
		snprintf(err, errlen, "site %s has no funnel named \"%.64s\"",
		         rq->site, rq->funnel);
	return f;
}

static json_t *funnel_rate(int64_t part, int64_t whole)
{
	if (whole <= 0)
		return json_null();
	return json_real(round_to(100.0 * (double)part / (double)whole, 1));
}

/* The funnel's report: per step its visits and visitors, the share of
 * step 1's visits that reached it and the visits lost since the step
 * before (none for step 1: it has no step before it); overall, the share
 * of the range's visits that completed it. */
static enum analytics_status funnel(sqlite3 *db, const struct scope *sc,
                                    const struct analytics_request *rq,
                                    struct seula_zone *z, json_t **out,
                                    char *err, size_t errlen)
{
	struct analytics_funnel adhoc = {0};
	const struct analytics_funnel *f = funnel_of(rq, &adhoc, err, errlen);
	if (!f)
		return ANALYTICS_BAD_REQUEST;
	struct analytics_funnel_counts c;
	enum analytics_status s = analytics_funnel_count(
	        db, f, sc->site, rq->filter, sc->goals, sc->content_groups,
	        sc->tz, sc->midnight, sc->t0 * 1000, sc->t1 * 1000,
	        rq->visit_timeout_s ? rq->visit_timeout_s : 1800, &c, err,
	        errlen);
	json_t *rows = s == ANALYTICS_OK ? json_array() : NULL;
	for (size_t i = 0; rows && i < f->n; i++) {
		char *def = analytics_goal_definition(&f->steps[i]);
		int64_t prev = i ? c.step_visits[i - 1] : 0;
		int64_t lost = prev - c.step_visits[i];
		json_t *row =
		        def ? json_pack("{s:I,s:s,s:s,s:I,s:I,s:o,s:o,s:o}",
		                        "step", (json_int_t)(i + 1), "name",
		                        f->steps[i].name, "definition", def,
		                        "visitors",
		                        (json_int_t)c.step_visitors[i],
		                        "visits", (json_int_t)c.step_visits[i],
		                        "conversion_rate",
		                        funnel_rate(c.step_visits[i],
		                                    c.step_visits[0]),
		                        "dropoff",
		                        i ? json_integer(lost) : json_null(),
		                        "dropoff_rate",
		                        i ? funnel_rate(lost, prev)
		                          : json_null())
		            : NULL;
		sqlite3_free(def);
		if (!row || json_array_append_new(rows, row) != 0) {
			json_decref(rows);
			rows = NULL;
		}
	}
	json_t *covered = json_null();
	/* Said when visits of the range are missing from the counts: they
	 * began before it. */
	if (s == ANALYTICS_OK && c.uncovered > 0 &&
	    c.covered_from_ms != INT64_MAX) {
		int64_t day;
		int hour;
		char date[16];
		seula_zone_local(z, seula_floor_div(c.covered_from_ms, 1000),
		                 &day, &hour);
		seula_date_format(day, date, sizeof(date));
		covered = json_string(date);
	}
	if (s == ANALYTICS_OK && rows)
		*out = json_pack("{s:o,s:I,s:I,s:o,s:o,s:I,s:o}", "funnel",
		                 f->name ? json_string(f->name) : json_null(),
		                 "visits", (json_int_t)c.visits, "visitors",
		                 (json_int_t)c.visitors, "conversion_rate",
		                 funnel_rate(c.step_visits[f->n - 1], c.visits),
		                 "covered_from", covered, "uncovered_visits",
		                 (json_int_t)c.uncovered, "results", rows);
	else
		json_decref(covered);
	analytics_funnel_clear(&adhoc);
	if (s == ANALYTICS_OK && !*out) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	}
	return s;
}

static enum analytics_status
body_for(sqlite3 *db, enum analytics_report_kind kind, const struct scope *sc,
         const struct analytics_request *rq, struct seula_zone *z, json_t **out,
         char *err, size_t errlen)
{
	switch (kind) {
	case ANALYTICS_SUMMARY: {
		json_t *res;
		enum analytics_status s = summary(db, sc, &res, err, errlen);
		if (s == ANALYTICS_OK)
			*out = json_pack("{s:o}", "results", res);
		return s;
	}
	case ANALYTICS_TIMESERIES:
		return timeseries_rates(db, sc, rq, z, out, err, errlen);
	case ANALYTICS_BREAKDOWN:
		return breakdown(db, sc, rq, out, err, errlen);
	case ANALYTICS_GOALS: return goals(db, sc, out, err, errlen);
	case ANALYTICS_FUNNEL: return funnel(db, sc, rq, z, out, err, errlen);
	case ANALYTICS_REALTIME: break;
	}
	snprintf(err, errlen, "no such report");
	return ANALYTICS_BAD_REQUEST;
}

/* Whether s (NULL: absent) is UTF-8 text, as a JSON string must be. */
static bool text_ok(const char *s)
{
	json_t *j = s ? json_string(s) : NULL;
	json_decref(j);
	return !s || j;
}

/* The previous period's rows of a breakdown by dim, one for each of the
 * current `rows`, in their order: the value's row of `prev` (read with
 * the most rows a breakdown lists), zeros when prev lists all of that
 * period's values and not this one, null when prev was cut (`cut`) and
 * the value may be past it.  A new reference; NULL when out of memory. */
static json_t *previous_rows(const char *dim, const json_t *rows,
                             const json_t *prev, bool cut)
{
	/* By value: a CSV lists up to a million rows a side. */
	json_t *by_value = json_object(), *out = json_array();
	if (!by_value || !out) {
		json_decref(by_value);
		json_decref(out);
		return NULL;
	}
	size_t i;
	json_t *row;
	char buf[32];
	const char *key;
	json_array_foreach((json_t *)prev, i, row)
	{
		if (row_key(json_object_get(row, dim), buf, sizeof(buf),
		            &key) &&
		    !json_object_get(by_value, key) &&
		    json_object_set(by_value, key, row) != 0) {
			json_decref(by_value);
			json_decref(out);
			return NULL;
		}
	}
	bool whole = !cut;
	json_array_foreach((json_t *)rows, i, row)
	{
		const json_t *v = json_object_get(row, dim);
		json_t *p = row_key(v, buf, sizeof(buf), &key)
		                    ? json_object_get(by_value, key)
		                    : NULL;
		json_t *got = p ? json_copy(p) : NULL;
		if (!got && whole) {
			struct analytics_totals zero = {0};
			got = json_object();
			json_object_set(got, dim, (json_t *)v);
			put_metrics(got, &zero, row_dim(dim));
		}
		if (json_array_append_new(out, got ? got : json_null()) != 0) {
			json_decref(by_value);
			json_decref(out);
			return NULL;
		}
	}
	json_decref(by_value);
	return out;
}

enum analytics_status analytics_report(sqlite3 *db,
                                       enum analytics_report_kind kind,
                                       const struct analytics_request *rq,
                                       json_t **out, char *err, size_t errlen)
{
	struct scope sc;
	struct seula_zone z = {0};
	*out = NULL;
	/* Echoed in the report: text that is not UTF-8 would leave it out
	 * (the HTTP layer refuses it; this is for other callers). */
	const char *const text[] = {rq->site,   rq->from,     rq->to,
	                            rq->tz,     rq->filter,   rq->compare,
	                            rq->metric, rq->interval, rq->dimension,
	                            rq->limit,  rq->funnel,   rq->steps};
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]); i++)
		if (!text_ok(text[i])) {
			snprintf(err, errlen, "a parameter is not UTF-8 text");
			return ANALYTICS_BAD_REQUEST;
		}
	/* Realtime is the last five minutes, unfiltered: a parameter that
	 * would say otherwise is refused, not ignored. */
	const char *const not_realtime[] = {rq->from,         rq->to,
	                                    rq->filter,       rq->compare,
	                                    rq->compare_from, rq->compare_to};
	for (size_t i = 0; kind == ANALYTICS_REALTIME &&
	                   i < sizeof(not_realtime) / sizeof(not_realtime[0]);
	     i++)
		if (not_realtime[i] && *not_realtime[i]) {
			snprintf(err, errlen,
			         "realtime counts the last 5 minutes of all "
			         "traffic: no from, to, filter or compare");
			return ANALYTICS_BAD_REQUEST;
		}
	/* A funnel is counted from the raw events, which a previous period
	 * may no longer have: no comparison, rather than a lopsided one. */
	if (kind == ANALYTICS_FUNNEL && ((rq->compare && *rq->compare) ||
	                                 rq->compare_from || rq->compare_to)) {
		snprintf(err, errlen, "a funnel has no comparison");
		return ANALYTICS_BAD_REQUEST;
	}
	enum analytics_status s = parse_scope(rq, &sc, &z, err, errlen);
	if (s != ANALYTICS_OK) {
		seula_zone_close(&z);
		return s;
	}
	if (kind == ANALYTICS_REALTIME) {
		s = realtime(db, &sc, rq->now_ms, out, err, errlen);
		seula_zone_close(&z);
		return s;
	}
	bool compare = rq->compare && *rq->compare;
	int64_t prev_from = 0, prev_to = 0;
	if ((compare || rq->compare_from || rq->compare_to) &&
	    !compare_days(rq, &sc, &prev_from, &prev_to, err, errlen)) {
		seula_zone_close(&z);
		return ANALYTICS_BAD_REQUEST;
	}
	/* One snapshot for the whole report: the blocks, the visits and the
	 * rollups, and the comparison's, as of one moment. */
	bool txn = sqlite3_get_autocommit(db) &&
	           sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) == SQLITE_OK;
	scope_span(&sc, &z);
	find_segment(db, &sc);
	find_merged(db, &sc);
	int64_t *goal_from = NULL;
	json_t *body = NULL;
	uint8_t *prev_hours = NULL;
	if (!hour_table(&sc, &z) || !find_goals(db, &sc, &goal_from)) {
		snprintf(err, errlen, "out of memory");
		s = ANALYTICS_DB_ERROR;
	} else {
		s = body_for(db, kind, &sc, rq, &z, &body, err, errlen);
	}
	if (s == ANALYTICS_OK && compare) {
		struct scope prev = sc;
		prev.from_day = prev_from;
		prev.to_day = prev_to;
		scope_span(&prev, &z);
		/* A timeseries charts the whole previous period beside it. */
		bool cut = kind != ANALYTICS_TIMESERIES &&
		           cut_at_now(&sc, &prev, &z, rq->now_ms);
		json_t *pbody = NULL;
		if (!hour_table(&prev, &z)) {
			snprintf(err, errlen, "out of memory");
			s = ANALYTICS_DB_ERROR;
		}
		prev_hours = prev.hour_ok;
		/* A breakdown's previous figures are those of its rows'
		 * values, wherever they ranked then: read as many as a
		 * breakdown may list. */
		struct analytics_request prq = *rq;
		char most[16];
		if (kind == ANALYTICS_BREAKDOWN) {
			snprintf(most, sizeof(most), "%d",
			         rq->csv ? BREAKDOWN_ALL : BREAKDOWN_MAX);
			prq.limit = most;
			prq.page = NULL;
		}
		if (s == ANALYTICS_OK)
			s = body_for(db, kind, &prev, &prq, &z, &pbody, err,
			             errlen);
		json_t *pres = json_object_get(pbody, "results");
		if (s == ANALYTICS_OK && kind == ANALYTICS_BREAKDOWN)
			pres = previous_rows(
			        rq->dimension, json_object_get(body, "results"),
			        pres,
			        json_is_true(json_object_get(pbody, "more")));
		else
			json_incref(pres);
		if (s == ANALYTICS_OK && !pres) {
			snprintf(err, errlen, "out of memory");
			s = ANALYTICS_DB_ERROR;
		}
		if (s == ANALYTICS_OK) {
			json_t *cmp = scope_json(&prev);
			json_object_del(cmp, "site");
			json_object_del(cmp, "tz");
			json_object_del(cmp, "filters");
			if (cut) {
				char until[32];
				bucket_label(&z, prev.t1, IV_HOUR, until,
				             sizeof(until));
				json_object_set_new(cmp, "until",
				                    json_string(until));
			}
			json_object_set(cmp, "results", pres);
			json_object_set_new(body, "comparison", cmp);
		}
		json_decref(pres);
		json_decref(pbody);
	}
	seula_zone_close(&z);
	free(goal_from);
	free(sc.hour_ok);
	free(prev_hours);
	if (txn)
		sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
	if (s != ANALYTICS_OK) {
		json_decref(body);
		return s;
	}
	json_t *head = scope_json(&sc);
	json_object_update(head, body);
	json_decref(body);
	*out = head;
	return ANALYTICS_OK;
}

/* ---- CSV ---------------------------------------------------------------- */

static void csv_field(sqlite3_str *s, const json_t *v)
{
	char *text = NULL;
	if (json_is_string(v))
		text = strdup(json_string_value(v));
	else if (json_is_integer(v))
		sqlite3_str_appendf(s, "%lld",
		                    (long long)json_integer_value(v));
	else if (json_is_real(v))
		/* %g keeps six digits: a duration of 123456.7 s said 123457. */
		sqlite3_str_appendf(s, "%.15g", json_real_value(v));
	else if (json_is_boolean(v))
		sqlite3_str_appendall(s, json_is_true(v) ? "true" : "false");
	if (!text)
		return;
	/* Quote always when needed; a leading =+-@, tab or carriage return
	 * is prefixed with ' so a spreadsheet does not run it as a formula
	 * (as the other exports do). */
	bool quote = strpbrk(text, ",\"\r\n") != NULL ||
	             strchr("=+-@\t\r", text[0]) != NULL;
	if (quote)
		sqlite3_str_appendchar(s, 1, '"');
	if (text[0] && strchr("=+-@\t\r", text[0]))
		sqlite3_str_appendchar(s, 1, '\'');
	for (const char *p = text; *p; p++) {
		if (*p == '"')
			sqlite3_str_appendchar(s, 1, '"');
		sqlite3_str_appendchar(s, 1, *p);
	}
	if (quote)
		sqlite3_str_appendchar(s, 1, '"');
	free(text);
}

static void csv_row(sqlite3_str *s, const json_t *obj, bool header)
{
	const char *key;
	json_t *v;
	bool first = true;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (json_is_array(v) || json_is_object(v))
			continue;
		if (!first)
			sqlite3_str_appendchar(s, 1, ',');
		first = false;
		if (header) {
			json_t *k = json_string(key);
			csv_field(s, k);
			json_decref(k);
		} else {
			csv_field(s, v);
		}
	}
	sqlite3_str_appendall(s, "\r\n");
}

/* A row of the kind's table with nothing in it, for an empty table's
 * header: built as its rows are.  NULL when the report does not say (a
 * breakdown without its dimension). */
static json_t *empty_row(const json_t *report, enum analytics_report_kind kind)
{
	static const struct analytics_totals zero;
	switch (kind) {
	case ANALYTICS_BREAKDOWN: {
		const char *dim =
		        json_string_value(json_object_get(report, "dimension"));
		return dim ? breakdown_row(dim, strcmp(dim, "hour") == 0, "",
		                           &zero)
		           : NULL;
	}
	case ANALYTICS_GOALS: {
		const struct analytics_goal g = {.name = "", .pattern = ""};
		return goal_row(&g, 0, 0, 0, json_null());
	}
	case ANALYTICS_REALTIME: return active_page_row("", 0);
	case ANALYTICS_FUNNEL: /* never empty: 2 steps or more */
	case ANALYTICS_SUMMARY:
	case ANALYTICS_TIMESERIES: break; /* never empty */
	}
	return NULL;
}

/* The previous period's row for `row` (the i-th of the results): the
 * summary's, a timeseries' or a breakdown's i-th, the goals' of the same
 * goal; NULL when it had none. */
static const json_t *previous_row(const json_t *report,
                                  enum analytics_report_kind kind,
                                  const json_t *row, size_t i)
{
	const json_t *cmp = json_object_get(
	        json_object_get(report, "comparison"), "results");
	if (json_is_object(cmp))
		return cmp;
	if (!json_is_array(cmp))
		return NULL;
	/* A timeseries' by position (as the dashboard draws them); a
	 * breakdown's were set row by row beside its results
	 * (previous_rows()), null for a value it could not tell. */
	if (kind == ANALYTICS_TIMESERIES || kind == ANALYTICS_BREAKDOWN) {
		const json_t *p = json_array_get(cmp, i);
		return json_is_object(p) ? p : NULL;
	}
	const char *key = kind == ANALYTICS_GOALS
	                          ? "goal"
	                          : json_string_value(json_object_get(
	                                    report, "dimension"));
	const json_t *v = key ? json_object_get(row, key) : NULL;
	size_t j;
	json_t *p;
	json_array_foreach((json_t *)cmp, j, p)
	{
		if (v && json_equal(json_object_get(p, key), (json_t *)v))
			return p;
	}
	return NULL;
}

/* `row` and, with a comparison, each of its figures in the previous
 * period as previous_<name> (empty when the value was not there): the
 * CSV holds what the table or the chart shows.  The caller decrefs. */
static json_t *csv_record(const json_t *report, enum analytics_report_kind kind,
                          const json_t *row, size_t i)
{
	json_t *o = json_copy((json_t *)row);
	if (!o || !json_object_get(report, "comparison"))
		return o;
	const json_t *prev = previous_row(report, kind, row, i);
	const char *dim =
	        json_string_value(json_object_get(report, "dimension"));
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)row, key, v)
	{
		/* Not what names the row, the same in both periods (a
		 * breakdown's value, a goal's name, kind and pattern); a
		 * bucket's date is another then, and shown. */
		if (json_is_array(v) || json_is_object(v) ||
		    (dim && strcmp(key, dim) == 0) ||
		    (kind == ANALYTICS_GOALS && json_is_string(v)))
			continue;
		char name[96];
		snprintf(name, sizeof(name), "previous_%s", key);
		json_t *pv = prev ? json_object_get(prev, key) : NULL;
		json_object_set_new(o, name, pv ? json_copy(pv) : json_null());
	}
	return o;
}

char *analytics_report_csv(const json_t *report,
                           enum analytics_report_kind kind)
{
	sqlite3_str *s = sqlite3_str_new(NULL);
	const json_t *res = json_object_get(report, "results");
	if (!res) /* realtime */
		res = json_object_get(report, "pages");
	if (json_is_object(res)) {
		json_t *rec = csv_record(report, kind, res, 0);
		csv_row(s, rec ? rec : res, true);
		csv_row(s, rec ? rec : res, false);
		json_decref(rec);
	} else if (json_is_array(res) && json_array_size(res) == 0) {
		/* The header a row would have had, its previous_ columns
		 * with it: a file's columns do not depend on its data. */
		json_t *row = empty_row(report, kind);
		json_t *rec = row ? csv_record(report, kind, row, 0) : NULL;
		if (rec)
			csv_row(s, rec, true);
		json_decref(rec);
		json_decref(row);
	} else if (json_is_array(res)) {
		size_t i;
		json_t *row;
		json_array_foreach(res, i, row)
		{
			json_t *rec = csv_record(report, kind, row, i);
			if (i == 0)
				csv_row(s, rec ? rec : row, true);
			csv_row(s, rec ? rec : row, false);
			json_decref(rec);
		}
	}
	if (sqlite3_str_errcode(s) != SQLITE_OK) {
		sqlite3_free(sqlite3_str_finish(s));
		return NULL;
	}
	/* Nothing at all (NULL from SQLite) is an empty CSV. */
	char *text = sqlite3_str_finish(s);
	char *copy = strdup(text ? text : "");
	sqlite3_free(text);
	return copy;
}

enum analytics_status
analytics_groups_warm(sqlite3 *db, const struct analytics_content_groups *cg,
                      struct analytics_block_cache *cache,
                      const atomic_bool *stop, size_t *sites, char *err,
                      size_t errlen)
{
	*sites = 0;
	if (!cache || !cg || !cg->n)
		return ANALYTICS_OK;
	/* The sites first, the statement done with before the reports,
	 * each in a read transaction of its own. */
	struct site_days {
		char *site;
		int64_t day0, day1;
	} *list = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(
	        db, "SELECT DISTINCT site FROM analytics_blocks", -1, &st,
	        NULL);
	enum analytics_status s = ANALYTICS_OK;
	while (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		rc = SQLITE_OK;
		const char *site = (const char *)sqlite3_column_text(st, 0);
		bool grouped = false;
		for (size_t i = 0; site && !grouped && i < cg->n; i++)
			grouped = strcmp(cg->list[i].site, site) == 0;
		if (!grouped)
			continue;
		if (n == cap) {
			size_t more = cap ? 2 * cap : 8;
			struct site_days *l = realloc(list, more * sizeof(*l));
			if (!l) {
				s = ANALYTICS_DB_ERROR;
				break;
			}
			list = l, cap = more;
		}
		/* Only the days the cache holds (the warm-up's newest, up to
		 * its budget): reading older ones through it would push out
		 * the newest days' other columns. */
		int64_t day0, day1;
		if (!analytics_block_cache_site_days(cache, site, &day0, &day1))
			continue;
		list[n] = (struct site_days){strdup(site), day0, day1};
		if (!list[n++].site) {
			s = ANALYTICS_DB_ERROR;
			break;
		}
	}
	if (s != ANALYTICS_OK)
		snprintf(err, errlen, "out of memory");
	else if (rc != SQLITE_DONE && rc != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		s = ANALYTICS_DB_ERROR;
	}
	sqlite3_finalize(st);
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	/* A site that fails leaves the others to be summed; its error is
	 * the one told. */
	enum analytics_status first = s;
	bool listed = s == ANALYTICS_OK;
	for (size_t i = 0; listed && i < n && !atomic_load(stop); i++) {
		char from[16], to[16];
		struct tm tm0, tm1;
		time_t t0 = (time_t)(list[i].day0 * 86400),
		       t1 = (time_t)(list[i].day1 * 86400);
		if (!gmtime_r(&t0, &tm0) || !gmtime_r(&t1, &tm1))
			continue;
		strftime(from, sizeof(from), "%Y-%m-%d", &tm0);
		strftime(to, sizeof(to), "%Y-%m-%d", &tm1);
		struct analytics_request rq = {
		        .site = list[i].site,
		        .from = from,
		        .to = to,
		        .tz = "UTC",
		        .dimension = "content_group",
		        .now_ms = (int64_t)now.tv_sec * 1000 +
		                  now.tv_nsec / 1000000,
		        .content_groups = cg,
		        .cache = cache,
		};
		json_t *out = NULL;
		char why[256] = "";
		s = analytics_report(db, ANALYTICS_BREAKDOWN, &rq, &out, why,
		                     sizeof(why));
		json_decref(out);
		*sites += s == ANALYTICS_OK;
		if (s != ANALYTICS_OK && first == ANALYTICS_OK) {
			first = s;
			snprintf(err, errlen, "%s: %s", list[i].site, why);
		}
	}
	s = first;
	for (size_t i = 0; i < n; i++)
		free(list[i].site);
	free(list);
	return s;
}
