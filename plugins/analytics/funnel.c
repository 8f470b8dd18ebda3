/*
 * funnel.c - funnels counted from the raw events (see funnel.h).
 *
 * One pass: the range's visits that pass the filter are read into memory
 * sorted by (visitor key, start), then the site's page views and custom
 * events from the first visit's start to the last one's end, in time
 * order; each is given to the visit of its visitor key whose [start, last]
 * holds it (a binary search), which moves on one step when the event
 * completes the next one.  Greedy is exact here: taking the first
 * occurrence of each step in turn never leaves a visit short of a step a
 * later choice would reach.  It runs on a reader connection, so the writer
 * goes on beside it (WAL); the caps below bound its memory and time.
 */
#include "funnel.h"
#include "entries.h"
#include "visitorkey.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Visits one funnel reads at most: 32 bytes each. */
#define FUNNEL_VISITS_MAX 2000000
/* Raw events one funnel reads at most (about a microsecond each). */
#define FUNNEL_EVENTS_MAX 20000000
/* A step's text, and all of steps=, at most. */
#define FUNNEL_STEP_MAX 1024
#define FUNNEL_TEXT_MAX 4096

/* The event types of include/seula/plugin.h's enum seula_event_type;
 * query.c is built into the core binary too, without that header. */
#define TYPE_PAGEVIEW 1
#define TYPE_CUSTOM 2
#define TYPE_ENGAGEMENT 3

void analytics_funnel_clear(struct analytics_funnel *f)
{
	for (size_t i = 0; i < f->n; i++) {
		free(f->steps[i].name);
		free(f->steps[i].pattern);
	}
	free(f->site);
	free(f->name);
	memset(f, 0, sizeof(*f));
}

/* Step s[0..len) into *g, through the goals' own parser so that a page
 * pattern is encoded (and named) exactly as a goal's is. */
static int step_parse(const char *s, size_t len, size_t i,
                      struct analytics_goal *g, char *err, size_t errlen)
{
	bool page = len > 5 && strncmp(s, "page:", 5) == 0;
	bool event = len > 6 && strncmp(s, "event:", 6) == 0;
	if ((!page && !event) || len > FUNNEL_STEP_MAX) {
		snprintf(err, errlen,
		         "step %zu \"%.*s\": want page:PATTERN or event:NAME "
		         "(up to %d bytes)",
		         i + 1, (int)(len > 64 ? 64 : len), s, FUNNEL_STEP_MAX);
		return -1;
	}
	if (page && s[5] != '/') {
		snprintf(err, errlen,
		         "step %zu \"%.*s\": a page pattern starts with /",
		         i + 1, (int)(len > 64 ? 64 : len), s);
		return -1;
	}
	char entry[FUNNEL_STEP_MAX + 8];
	snprintf(entry, sizeof(entry), "-:%.*s", (int)len, s);
	const char *const entries[] = {entry, NULL};
	struct analytics_goals one;
	if (analytics_goals_parse(entries, &one, err, errlen) != 0)
		return -1;
	*g = one.list[0];
	free(g->site);
	g->site = NULL;
	free(one.list);
	return 0;
}

int analytics_funnel_steps_parse(const char *text, struct analytics_funnel *f,
                                 char *err, size_t errlen)
{
	memset(f, 0, sizeof(*f));
	if (!text || strlen(text) > FUNNEL_TEXT_MAX) {
		snprintf(err, errlen, "steps: up to %d bytes", FUNNEL_TEXT_MAX);
		return -1;
	}
	const char *p = text;
	for (size_t i = 0;; i++) {
		size_t len = strcspn(p, ">");
		if (i == ANALYTICS_FUNNEL_STEPS_MAX) {
			snprintf(err, errlen, "a funnel has at most %d steps",
			         ANALYTICS_FUNNEL_STEPS_MAX);
			analytics_funnel_clear(f);
			return -1;
		}
		if (step_parse(p, len, i, &f->steps[i], err, errlen) != 0) {
			analytics_funnel_clear(f);
			return -1;
		}
		f->n++;
		if (!p[len])
			break;
		p += len + 1;
	}
	if (f->n < ANALYTICS_FUNNEL_STEPS_MIN) {
		snprintf(err, errlen,
		         "a funnel has at least %d steps, separated by >",
		         ANALYTICS_FUNNEL_STEPS_MIN);
		analytics_funnel_clear(f);
		return -1;
	}
	return 0;
}

void analytics_funnels_free(struct analytics_funnels *f)
{
	for (size_t i = 0; i < f->n; i++)
		analytics_funnel_clear(&f->list[i]);
	free(f->list);
	f->list = NULL;
	f->n = 0;
}

int analytics_funnels_parse(const char *const *entries,
                            struct analytics_funnels *out, char *err,
                            size_t errlen)
{
	out->n = 0;
	if (analytics_entries_alloc(entries, sizeof(*out->list),
	                            (void **)&out->list, err, errlen) != 0)
		return -1;
	for (size_t i = 0; entries && entries[i]; i++) {
		const char *e = entries[i];
		struct analytics_entry en;
		bool split = analytics_entry_split(e, &en);
		if (!split || en.second_len == 0 || en.second_len > 64) {
			snprintf(err, errlen,
			         "\"%s\": want SITE:NAME:STEP>STEP..., NAME 1 "
			         "to "
			         "64 characters without a colon, each STEP "
			         "page:PATTERN or event:NAME",
			         e);
			analytics_funnels_free(out);
			return -1;
		}
		char msg[200];
		struct analytics_funnel *f = &out->list[out->n];
		if (analytics_funnel_steps_parse(en.rest, f, msg,
		                                 sizeof(msg)) != 0) {
			snprintf(err, errlen, "\"%s\": %s", e, msg);
			analytics_funnels_free(out);
			return -1;
		}
		out->n++;
		f->site = strndup(en.site, en.site_len);
		f->name = strndup(en.second, en.second_len);
		if (!f->site || !f->name) {
			snprintf(err, errlen, "out of memory");
			analytics_funnels_free(out);
			return -1;
		}
		/* The API and the dashboard know a funnel by its name. */
		for (size_t j = 0; j + 1 < out->n; j++)
			if (strcmp(out->list[j].site, f->site) == 0 &&
			    strcmp(out->list[j].name, f->name) == 0) {
				snprintf(err, errlen,
				         "\"%s\": site %s has a funnel named "
				         "\"%s\" already",
				         e, f->site, f->name);
				analytics_funnels_free(out);
				return -1;
			}
	}
	return 0;
}

const struct analytics_funnel *
analytics_funnel_find(const struct analytics_funnels *f, const char *site,
                      const char *name)
{
	for (size_t i = 0; f && site && name && i < f->n; i++)
		if (strcmp(f->list[i].site, site) == 0 &&
		    strcmp(f->list[i].name, name) == 0)
			return &f->list[i];
	return NULL;
}

/* ---- counting ----------------------------------------------------------- */

struct fvisit {
	int64_t visitor, start, last;
	/* Steps completed; past the last one (n + 1): not covered. */
	uint8_t reached;
	/* An event of its own visitor key has come. */
	bool own;
};

static int fvisit_cmp(const void *x, const void *y)
{
	const struct fvisit *a = x, *b = y;
	if (a->visitor != b->visitor)
		return a->visitor < b->visitor ? -1 : 1;
	return (a->start > b->start) - (a->start < b->start);
}

/* The visit of visitor key k that holds time ts, or one that ended
 * within slack ms before it; NULL when none. */
static struct fvisit *visit_at(struct fvisit *v, size_t n, int64_t k,
                               int64_t ts, int64_t slack)
{
	/* The first visit after (k, ts), then the one before it. */
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid].visitor < k ||
		    (v[mid].visitor == k && v[mid].start <= ts))
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	struct fvisit *c = &v[lo - 1];
	return c->visitor == k && ts - c->last <= slack ? c : NULL;
}

/* Whether the event (type, path, name as the events table keeps them)
 * completes step g: as analytics.c counts it, a page view without a path
 * is on "/" and an event without a name is "(none)". */
static bool step_done(const struct analytics_goal *g, int type,
                      const char *path, const char *name)
{
	if (g->kind == ANALYTICS_GOAL_PAGE)
		return type == TYPE_PAGEVIEW &&
		       sqlite3_strglob(g->pattern, path ? path : "/") == 0;
	return type == TYPE_CUSTOM &&
	       strcmp(g->pattern, name ? name : "(none)") == 0;
}

static int64_t single_int(sqlite3 *db, const char *sql, const char *site,
                          int64_t none, bool *ok)
{
	sqlite3_stmt *st = NULL;
	int64_t v = none;
	*ok = sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK;
	if (*ok) {
		if (site)
			sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		int rc = sqlite3_step(st);
		if (rc == SQLITE_ROW &&
		    sqlite3_column_type(st, 0) != SQLITE_NULL)
			v = sqlite3_column_int64(st, 0);
		*ok = rc == SQLITE_ROW || rc == SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return v;
}

/* The range's visits that pass the filter into *out (sorted), *n. */
static enum analytics_status
read_visits(sqlite3 *db, const char *site, const char *filter,
            const struct analytics_goals *goals,
            const struct analytics_content_groups *groups, const char *tz,
            int64_t midnight_s, int64_t t0_ms, int64_t t1_ms,
            struct fvisit **out, size_t *n, char *err, size_t errlen)
{
	*out = NULL;
	*n = 0;
	static const char head[] =
	        "SELECT v.visitor, v.start_ts, v.last_ts, v.visitor = v.id "
	        "FROM analytics_visits v WHERE v.site = ?1 AND v.start_ts >= "
	        "?2 AND v.start_ts < ?3";
	sqlite3_stmt *st = NULL;
	/* analytics_filter_prepare() takes only a filter that says
	 * something. */
	if (filter && *filter)
		st = analytics_filter_prepare(db, head, 3, site, filter, goals,
		                              groups, tz, midnight_s, "", err,
		                              errlen);
	else if (sqlite3_prepare_v2(db, head, -1, &st, NULL) != SQLITE_OK)
		snprintf(err, errlen, "funnel visits: %s", sqlite3_errmsg(db));
	if (!st)
		return ANALYTICS_DB_ERROR;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, t0_ms);
	sqlite3_bind_int64(st, 3, t1_ms);
	size_t cap = 0;
	struct fvisit *v = NULL;
	enum analytics_status s = ANALYTICS_OK;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == FUNNEL_VISITS_MAX) {
			snprintf(err, errlen,
			         "the range has more than %d visits, more than "
			         "a funnel reads: choose a shorter range or a "
			         "filter",
			         FUNNEL_VISITS_MAX);
			s = ANALYTICS_BAD_REQUEST;
			break;
		}
		if (*n == cap) {
			size_t nc = cap ? cap * 2 : 1024;
			struct fvisit *more = realloc(v, nc * sizeof(*v));
			if (!more) {
				snprintf(err, errlen, "out of memory");
				s = ANALYTICS_DB_ERROR;
				break;
			}
			v = more;
			cap = nc;
		}
		/* A forgotten visit's visitor is its own id (the forget
		 * task): no event finds it, it is not covered.  Marked by a
		 * start no event has. */
		v[*n] = (struct fvisit){
		        .visitor = sqlite3_column_int64(st, 0),
		        .start = sqlite3_column_int64(st, 1),
		        .last = sqlite3_column_int64(st, 2),
		        .reached = sqlite3_column_int(st, 3) ? UINT8_MAX : 0,
		};
		(*n)++;
	}
	if (s == ANALYTICS_OK && rc != SQLITE_DONE) {
		snprintf(err, errlen, "funnel visits: %s", sqlite3_errmsg(db));
		s = ANALYTICS_DB_ERROR;
	}
	sqlite3_finalize(st);
	if (s != ANALYTICS_OK) {
		free(v);
		*n = 0;
		return s;
	}
	if (*n)
		qsort(v, *n, sizeof(*v), fvisit_cmp);
	*out = v;
	return ANALYTICS_OK;
}

/* ---- events sent before a consent during the visit --------------------
 *
 * A visitor who consents during a cookieless visit goes on with that
 * visit under the id (analytics.c: adopt()), but the events sent before
 * it are stored with the cookieless hash only (an identified event keeps
 * no hash): no visit of their key holds them any more.  Such orphans of
 * one key, each within the visit timeout of the one before, are a run.
 * A visit by an id whose first event of its own comes after its start
 * was taken over, and the run it took is the one that began at its
 * start: when the id's first event comes (an engagement event too, which
 * takes a visit over as a page view does), the run's steps are played
 * into the visit, in their order, before the id's own.  So only runs
 * begun when a covered visit of the range began are kept (a filter's
 * left-out visits' orphans are most of the others), with only the steps
 * each event could complete, and only while they can still be taken (a
 * visit timeout after their last event): their memory is bounded by the
 * visits'.  Two runs begun in the same millisecond cannot be told apart
 * and give none. */
struct orphan_run {
	int64_t key, first, last;
	/* Of its events that complete any step: which ones, a bit each. */
	uint8_t *masks;
	size_t n, cap;
	bool taken;
};

struct orphans {
	struct orphan_run *runs; /* in the order begun: by first */
	size_t n, cap;
	/* A key's latest run: its index + 1, 0 empty; 2 * cap of them. */
	uint32_t *slots;
	size_t nslots;
	int64_t timeout_ms;
	/* When the range's covered visits began, sorted: only a run begun
	 * at one of them is kept. */
	int64_t *starts;
	size_t nstarts;
};

static void orphans_free(struct orphans *o)
{
	for (size_t i = 0; i < o->n; i++)
		free(o->runs[i].masks);
	free(o->runs);
	free(o->slots);
	free(o->starts);
}

static int int64_cmp(const void *x, const void *y)
{
	int64_t a = *(const int64_t *)x, b = *(const int64_t *)y;
	return (a > b) - (a < b);
}

static bool orphans_wanted(const struct orphans *o, int64_t ts)
{
	return o->nstarts &&
	       bsearch(&ts, o->starts, o->nstarts, sizeof(ts), int64_cmp);
}

static uint32_t *orphans_slot(struct orphans *o, int64_t key)
{
	/* Keys are keyed hashes already: their low bits spread. */
	size_t i = (size_t)((uint64_t)key & (o->nslots - 1));
	while (o->slots[i] && o->runs[o->slots[i] - 1].key != key)
		i = (i + 1) & (o->nslots - 1);
	return &o->slots[i];
}

/* Keep the runs that may still be taken at time now, in their order, in
 * room for at least one more; -1 when out of memory. */
static int orphans_make_room(struct orphans *o, int64_t now)
{
	size_t kept = 0;
	for (size_t i = 0; i < o->n; i++) {
		struct orphan_run *r = &o->runs[i];
		if (r->taken || now - r->last > o->timeout_ms)
			free(r->masks);
		else
			o->runs[kept++] = *r;
	}
	o->n = kept;
	size_t cap = o->cap ? o->cap : 256;
	while (kept >= cap / 2)
		cap *= 2;
	if (cap != o->cap) {
		struct orphan_run *more = realloc(o->runs, cap * sizeof(*more));
		uint32_t *slots = malloc(2 * cap * sizeof(*slots));
		if (!more || !slots || cap > UINT32_MAX / 2) {
			free(slots);
			if (more)
				o->runs = more;
			return -1;
		}
		o->runs = more;
		o->cap = cap;
		free(o->slots);
		o->slots = slots;
		o->nslots = 2 * cap;
	}
	memset(o->slots, 0, o->nslots * sizeof(*o->slots));
	for (size_t i = 0; i < o->n; i++)
		*orphans_slot(o, o->runs[i].key) = (uint32_t)(i + 1);
	return 0;
}

static uint8_t steps_mask(const struct analytics_funnel *f, int type,
                          const char *path, const char *name)
{
	uint8_t mask = 0;
	for (size_t i = 0; i < f->n; i++)
		if (step_done(&f->steps[i], type, path, name))
			mask |= (uint8_t)(1u << i);
	return mask;
}

/* An orphan of key at ts, the event (type, path, name); -1 when out of
 * memory. */
static int orphans_add(struct orphans *o, int64_t key, int64_t ts,
                       const struct analytics_funnel *f, int type,
                       const char *path, const char *name)
{
	uint32_t *slot = o->nslots ? orphans_slot(o, key) : NULL;
	struct orphan_run *r = slot && *slot ? &o->runs[*slot - 1] : NULL;
	if (!r || r->taken || ts - r->last > o->timeout_ms) {
		if (!orphans_wanted(o, ts))
			return 0;
		if (o->n == o->cap) {
			if (orphans_make_room(o, ts) != 0)
				return -1;
			slot = orphans_slot(o, key);
		}
		r = &o->runs[o->n++];
		*r = (struct orphan_run){.key = key, .first = ts};
		*slot = (uint32_t)o->n;
	}
	r->last = ts;
	uint8_t mask = steps_mask(f, type, path, name);
	if (!mask)
		return 0;
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 8;
		uint8_t *more = realloc(r->masks, cap);
		if (!more)
			return -1;
		r->masks = more;
		r->cap = cap;
	}
	r->masks[r->n++] = mask;
	return 0;
}

/* The one run begun at start that may be taken at ts, or NULL. */
static struct orphan_run *orphans_take(struct orphans *o, int64_t start,
                                       int64_t ts)
{
	size_t lo = 0, hi = o->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (o->runs[mid].first < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	struct orphan_run *found = NULL;
	for (size_t i = lo; i < o->n && o->runs[i].first == start; i++) {
		struct orphan_run *r = &o->runs[i];
		if (r->taken || ts - r->last > o->timeout_ms)
			continue;
		if (found)
			return NULL;
		found = r;
	}
	if (found)
		found->taken = true;
	return found;
}

/* Walk the site's page views and custom events of [from, to] (ms) in
 * order, moving each one's visit on; and the engagement events with a
 * visitor id up to a visit timeout later, which take a visit over as
 * they do (orphans above). */
static enum analytics_status
walk_events(sqlite3 *db, const struct analytics_funnel *f, const char *site,
            const unsigned char *key, struct fvisit *v, size_t n, int64_t from,
            int64_t to, int64_t timeout_ms, char *err, size_t errlen)
{
	size_t sl = strlen(site);
	/* The writer keys no visitor of such a site. */
	if (sl + 2 + 64 > ANALYTICS_VISITOR_KEY_IN)
		return ANALYTICS_OK;
	sqlite3_stmt *st = NULL;
	/* ORDER BY ts, id is the (site, ts) index's own order: no sort. */
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT type, path, name, visitor_id, visitor_hash, ts "
	            "FROM events WHERE site = ?1 AND ts >= ?2 AND ts <= ?3 "
	            "AND (type IN (1, 2) OR (type = 3 AND visitor_id IS NOT "
	            "NULL)) AND coalesce(bot, 0) = 0 ORDER BY ts, id",
	            -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "funnel events: %s", sqlite3_errmsg(db));
		return ANALYTICS_DB_ERROR;
	}
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, from);
	sqlite3_bind_int64(st, 3, to + timeout_ms);
	enum analytics_status s = ANALYTICS_OK;
	struct orphans orphans = {.timeout_ms = timeout_ms};
	orphans.starts = malloc((n ? n : 1) * sizeof(*orphans.starts));
	if (!orphans.starts) {
		sqlite3_finalize(st);
		snprintf(err, errlen, "out of memory");
		return ANALYTICS_DB_ERROR;
	}
	for (size_t i = 0; i < n; i++)
		if (v[i].reached != UINT8_MAX)
			orphans.starts[orphans.nstarts++] = v[i].start;
	qsort(orphans.starts, orphans.nstarts, sizeof(*orphans.starts),
	      int64_cmp);
	int64_t seen = 0;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (++seen > FUNNEL_EVENTS_MAX) {
			snprintf(err, errlen,
			         "the range has more than %d events, more than "
			         "a funnel reads: choose a shorter range",
			         FUNNEL_EVENTS_MAX);
			s = ANALYTICS_BAD_REQUEST;
			break;
		}
		int type = sqlite3_column_int(st, 0);
		const char *id = (const char *)sqlite3_column_text(st, 3);
		int64_t k, ts = sqlite3_column_int64(st, 5);
		const char *path = (const char *)sqlite3_column_text(st, 1);
		const char *name = (const char *)sqlite3_column_text(st, 2);
		bool by_id = id && strlen(id) <= 64;
		/* The visitor as analytics.c's visitor_of() takes it: the
		 * id, else the cookieless hash, else none. */
		if (by_id) {
			k = analytics_visitor_key(key, site, sl, 'i', id,
			                          strlen(id));
		} else if (sqlite3_column_type(st, 4) != SQLITE_NULL) {
			unsigned char hash[8];
			analytics_visitor_hash_bytes(
			        sqlite3_column_int64(st, 4), hash);
			k = analytics_visitor_key(key, site, sl, 'h', hash, 8);
		} else {
			continue;
		}
		/* An engagement event never extends a visit: it may come a
		 * timeout after the visit's last page view. */
		bool engagement = type == TYPE_ENGAGEMENT;
		struct fvisit *fv =
		        visit_at(v, n, k, ts, engagement ? timeout_ms : 0);
		if (!fv) {
			if (!by_id && !engagement &&
			    orphans_add(&orphans, k, ts, f, type, path, name) !=
			            0) {
				snprintf(err, errlen, "out of memory");
				s = ANALYTICS_DB_ERROR;
				break;
			}
			continue;
		}
		if (fv->reached == UINT8_MAX)
			continue;
		if (!fv->own) {
			fv->own = true;
			struct orphan_run *r =
			        by_id && ts > fv->start
			                ? orphans_take(&orphans, fv->start, ts)
			                : NULL;
			for (size_t i = 0; r && i < r->n && fv->reached < f->n;
			     i++)
				if (r->masks[i] & (1u << fv->reached))
					fv->reached++;
		}
		if (engagement || fv->reached >= f->n)
			continue;
		if (step_done(&f->steps[fv->reached], type, path, name))
			fv->reached++;
	}
	orphans_free(&orphans);
	if (s == ANALYTICS_OK && rc != SQLITE_DONE) {
		snprintf(err, errlen, "funnel events: %s", sqlite3_errmsg(db));
		s = ANALYTICS_DB_ERROR;
	}
	sqlite3_finalize(st);
	return s;
}

enum analytics_status analytics_funnel_count(
        sqlite3 *db, const struct analytics_funnel *f, const char *site,
        const char *filter, const struct analytics_goals *goals,
        const struct analytics_content_groups *groups, const char *tz,
        int64_t midnight_s, int64_t t0_ms, int64_t t1_ms, int64_t timeout_s,
        struct analytics_funnel_counts *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	out->covered_from_ms = INT64_MAX;
	/* The visitor key, as the plugin keeps it: none yet, no visits. */
	unsigned char key[crypto_shorthash_KEYBYTES];
	bool have_key = false;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT v FROM analytics_meta WHERE k = "
	                       "'visitor_key'",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "funnel: %s", sqlite3_errmsg(db));
		return ANALYTICS_DB_ERROR;
	}
	if (sqlite3_step(st) == SQLITE_ROW &&
	    sqlite3_column_bytes(st, 0) == (int)sizeof(key)) {
		memcpy(key, sqlite3_column_blob(st, 0), sizeof(key));
		have_key = true;
	}
	sqlite3_finalize(st);
	/* What the raw events cover: from the oldest one kept for the site
	 * (retention deletes from the oldest on), and not before the forget
	 * task's mark (visits before it no longer name their visitor). */
	bool ok1, ok2;
	int64_t oldest =
	        single_int(db, "SELECT min(ts) FROM events WHERE site = ?1",
	                   site, INT64_MAX, &ok1);
	int64_t forgot = single_int(db,
	                            "SELECT v FROM analytics_meta WHERE k = "
	                            "'forgotten_before'",
	                            NULL, INT64_MIN, &ok2);
	if (!ok1 || !ok2) {
		snprintf(err, errlen, "funnel: %s", sqlite3_errmsg(db));
		return ANALYTICS_DB_ERROR;
	}
	out->covered_from_ms = oldest > forgot ? oldest : forgot;

	struct fvisit *v;
	size_t n;
	enum analytics_status s =
	        read_visits(db, site, filter, goals, groups, tz, midnight_s,
	                    t0_ms, t1_ms, &v, &n, err, errlen);
	if (s != ANALYTICS_OK)
		return s;
	int64_t from = INT64_MAX, to = INT64_MIN;
	for (size_t i = 0; i < n; i++) {
		if (!have_key || v[i].start < out->covered_from_ms)
			v[i].reached = UINT8_MAX;
		if (v[i].reached == UINT8_MAX) {
			out->uncovered++;
			continue;
		}
		if (v[i].start < from)
			from = v[i].start;
		if (v[i].last > to)
			to = v[i].last;
	}
	if (from <= to)
		s = walk_events(db, f, site, key, v, n, from, to,
		                timeout_s * 1000, err, errlen);
	/* Per visitor (the visits are sorted by visitor): the furthest
	 * step any of their covered visits reached. */
	for (size_t i = 0; s == ANALYTICS_OK && i < n;) {
		size_t j = i;
		int best = -1;
		for (; j < n && v[j].visitor == v[i].visitor; j++) {
			if (v[j].reached == UINT8_MAX)
				continue;
			out->visits++;
			for (size_t k = 0; k < v[j].reached; k++)
				out->step_visits[k]++;
			if (v[j].reached > best)
				best = v[j].reached;
		}
		if (best >= 0)
			out->visitors++;
		for (int k = 0; k < best; k++)
			out->step_visitors[k]++;
		i = j;
	}
	free(v);
	return s;
}
