/*
 * retention.c - raw events past their site's retention (see retention.h).
 */
#include "retention.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

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
	int rc = SEULA_OK;
	for (size_t i = 0; i < cfg->n_sites && *deleted < limit; i++) {
		const struct seula_site *s = &cfg->sites[i];
		sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2,
		                   now_ms - s->events_retention_s * 1000);
		sqlite3_bind_int64(st, 3, limit - *deleted);
		if (sqlite3_step(st) != SQLITE_DONE) {
			snprintf(err, errlen, "event retention: %s",
			         sqlite3_errmsg(db));
			rc = SEULA_EIO;
			break;
		}
		*deleted += sqlite3_changes64(db);
		sqlite3_reset(st);
	}
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
	int rc = SEULA_OK;
	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct seula_site *s = &cfg->sites[i];
		sqlite3_reset(st);
		sqlite3_bind_text(st, 1, s->id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2,
		                   now_ms - s->events_retention_s * 1000);
		if (sqlite3_step(st) != SQLITE_ROW) {
			snprintf(err, errlen, "event retention: %s",
			         sqlite3_errmsg(db));
			rc = SEULA_EIO;
			break;
		}
		*due += sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	return rc;
}

int seula_retention_sessions(const struct seula_config *cfg, sqlite3 *db,
                             int64_t now_ms, bool dry_run, int64_t *count,
                             char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	*count = 0;
	/* The condition of sessions.c's delete_expired. */
	if (sqlite3_prepare_v2(db,
	                       dry_run ? "SELECT count(*) FROM sessions WHERE "
	                                 "last_seen < ? OR created_at < ?"
	                               : "DELETE FROM sessions WHERE "
	                                 "last_seen < ? OR created_at < ?",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "session retention: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_int64(st, 1, now_ms - cfg->session_idle_s * 1000);
	sqlite3_bind_int64(st, 2, now_ms - cfg->session_lifetime_s * 1000);
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
