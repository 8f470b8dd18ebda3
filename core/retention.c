/*
 * retention.c - raw events past their site's retention (see retention.h).
 */
#include "retention.h"

#include <sqlite3.h>
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

static int run(void *instance, sqlite3 *db, int64_t now_ms, char **errmsg)
{
	char err[256];
	int64_t deleted;
	int rc = seula_retention_events(instance, db, now_ms,
	                                SEULA_RETENTION_BATCH, &deleted, err,
	                                sizeof(err));
	if (rc != SEULA_OK && asprintf(errmsg, "%s", err) < 0)
		*errmsg = NULL;
	return rc;
}

const struct seula_task seula_events_retention_task = {
        .name = "events-retention",
        .interval_s = 600,
        .flags = SEULA_TASK_AT_START | SEULA_TASK_TRUNCATE_WAL,
        .run = run,
};
