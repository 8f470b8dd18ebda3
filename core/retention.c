/*
 * retention.c - raw events past their site's retention (see retention.h).
 */
#include "retention.h"

#include "sessions.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The events_retention of a site no [site.ID] names any more: the
 * default a section would get, so its events still go in time. */
static int64_t default_retention_s(void)
{
	for (const struct seula_config_row *r = seula_config_site_rows; r->key;
	     r++) {
		int64_t s;
		if (strcmp(r->key, "events_retention") == 0 &&
		    r->default_value &&
		    seula_parse_duration(r->default_value, &s) == SEULA_OK)
			return s;
	}
	return 760 * 86400; /* not reached: the row is there */
}

/* Each site with events and its cutoff, in turn: the configured ones,
 * then those whose section is gone, found by skipping from one site to
 * the next through the (site, ts) index rather than reading it all. */
struct site_walk {
	const struct seula_config *cfg;
	sqlite3_stmt *next;
	size_t i;
	char *site; /* the current unconfigured one, malloc'd */
	bool configured_done;
};

static int walk_next(struct site_walk *w, sqlite3 *db, int64_t now_ms,
                     const char **site, int64_t *cutoff)
{
	if (!w->configured_done && w->i < w->cfg->n_sites) {
		const struct seula_site *s = &w->cfg->sites[w->i++];
		*site = s->id;
		*cutoff = now_ms - s->events_retention_s * 1000;
		return SQLITE_ROW;
	}
	w->configured_done = true;
	if (!w->next &&
	    sqlite3_prepare_v2(db,
	                       "SELECT min(site) FROM events WHERE site > ?1",
	                       -1, &w->next, NULL) != SQLITE_OK)
		return SQLITE_ERROR;
	for (;;) {
		sqlite3_reset(w->next);
		sqlite3_bind_text(w->next, 1, w->site ? w->site : "", -1,
		                  SQLITE_TRANSIENT);
		int step = sqlite3_step(w->next);
		if (step != SQLITE_ROW)
			return step;
		const char *got = (const char *)sqlite3_column_text(w->next, 0);
		if (!got)
			return SQLITE_DONE;
		char *copy = strdup(got);
		if (!copy)
			return SQLITE_NOMEM;
		free(w->site);
		w->site = copy;
		if (!seula_config_site(w->cfg, w->site)) {
			*site = w->site;
			*cutoff = now_ms - default_retention_s() * 1000;
			return SQLITE_ROW;
		}
	}
}

static void walk_end(struct site_walk *w)
{
	sqlite3_finalize(w->next);
	free(w->site);
}

int seula_retention_events(const struct seula_config *cfg, sqlite3 *db,
                           int64_t now_ms, int64_t limit, int64_t *deleted,
                           char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	*deleted = 0;
	/* Oldest first through the (site, ts) index. */
	if (sqlite3_prepare_v2(db,
	                       "DELETE FROM events WHERE id IN (SELECT id "
	                       "FROM events WHERE site = ? AND ts < ? ORDER "
	                       "BY ts LIMIT ?)",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "event retention: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	struct site_walk w = {.cfg = cfg};
	const char *site;
	int64_t cutoff;
	int step = SQLITE_DONE;
	while (*deleted < limit && (step = walk_next(&w, db, now_ms, &site,
	                                             &cutoff)) == SQLITE_ROW) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cutoff);
		sqlite3_bind_int64(st, 3, limit - *deleted);
		if ((step = sqlite3_step(st)) != SQLITE_DONE)
			break;
		*deleted += sqlite3_changes64(db);
		sqlite3_reset(st);
	}
	int rc = SEULA_OK;
	if (step != SQLITE_DONE && step != SQLITE_ROW) {
		snprintf(err, errlen, "event retention: %s",
		         sqlite3_errmsg(db));
		rc = SEULA_EIO;
	}
	walk_end(&w);
	sqlite3_finalize(st);
	return rc;
}

int seula_retention_events_due(const struct seula_config *cfg, sqlite3 *db,
                               int64_t now_ms, int64_t *due, char *err,
                               size_t errlen)
{
	sqlite3_stmt *st = NULL;
	*due = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT count(*) FROM events WHERE site = ? AND "
	                       "ts < ?",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "event retention: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	struct site_walk w = {.cfg = cfg};
	const char *site;
	int64_t cutoff;
	int step;
	while ((step = walk_next(&w, db, now_ms, &site, &cutoff)) ==
	       SQLITE_ROW) {
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, cutoff);
		if ((step = sqlite3_step(st)) != SQLITE_ROW)
			break;
		*due += sqlite3_column_int64(st, 0);
	}
	int rc = SEULA_OK;
	if (step != SQLITE_DONE) {
		snprintf(err, errlen, "event retention: %s",
		         sqlite3_errmsg(db));
		rc = SEULA_EIO;
	}
	walk_end(&w);
	sqlite3_finalize(st);
	return rc;
}

int seula_retention_sessions(const struct seula_config *cfg, sqlite3 *db,
                             int64_t now_ms, bool dry_run, int64_t *count,
                             char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	*count = 0;
	if (sqlite3_prepare_v2(db,
	                       dry_run ? "SELECT count(*) FROM sessions "
	                                 "WHERE " SEULA_SESSIONS_EXPIRED_WHERE
	                               : "DELETE FROM sessions "
	                                 "WHERE " SEULA_SESSIONS_EXPIRED_WHERE,
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "session retention: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_int64(st, 1, now_ms - cfg->session_idle_s * 1000);
	sqlite3_bind_int64(st, 2, now_ms - cfg->session_lifetime_s * 1000);
	sqlite3_bind_int64(st, 3, now_ms - SEULA_API_KEY_EXPIRED_KEEP_MS);
	int step = sqlite3_step(st);
	int rc = step == (dry_run ? SQLITE_ROW : SQLITE_DONE) ? SEULA_OK
	                                                      : SEULA_EIO;
	if (rc == SEULA_OK)
		*count = dry_run ? sqlite3_column_int64(st, 0)
		                 : sqlite3_changes64(db);
	else
		snprintf(err, errlen, "session retention: %s",
		         sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

static int run(void *instance, sqlite3 *db, int64_t now_ms, char **errmsg)
{
	const struct seula_retention_ctx *ctx = instance;
	char err[256];
	int64_t deleted;
	int rc = seula_retention_events(ctx->cfg, db, now_ms,
	                                SEULA_RETENTION_BATCH, &deleted, err,
	                                sizeof(err));
	if (rc != SEULA_OK && asprintf(errmsg, "%s", err) < 0)
		*errmsg = NULL;
	/* Every ten minutes: the runs that delete are the ones to read. */
	if (rc == SEULA_OK && ctx->log)
		seula_log(ctx->log, deleted ? SEULA_LOG_INFO : SEULA_LOG_DEBUG,
		          "retention",
		          "events past their site's events_retention: %lld "
		          "deleted%s",
		          (long long)deleted,
		          deleted == SEULA_RETENTION_BATCH ? " (more next run)"
		                                           : "");
	return rc;
}

const struct seula_task seula_events_retention_task = {
        .name = "events-retention",
        .interval_s = 600,
        .flags = SEULA_TASK_AT_START | SEULA_TASK_TRUNCATE_WAL,
        .run = run,
};
