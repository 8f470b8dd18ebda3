/*
 * retention.h - the core's retention of raw events: each site's events
 * older than its events_retention are deleted, a bounded number per run so
 * the writer is never held for long; the WAL is truncated after a run that
 * deleted, so the rows do not linger there.  Rollups are anonymous and
 * stay (the analytics plugin's).
 */
#ifndef SEULA_RETENTION_H
#define SEULA_RETENTION_H

#include "config.h"
#include "log.h"

#include <seula/plugin.h>
#include <sqlite3.h>
#include <stdbool.h>

/* Rows deleted per run at most. */
#define SEULA_RETENTION_BATCH 50000

/* The task's instance: borrowed, both must outlive the store. */
struct seula_retention_ctx {
	const struct seula_config *cfg;
	const struct seula_logger *log; /* a run that deleted logs its count */
};

/* The task; its instance is a struct seula_retention_ctx. */
extern const struct seula_task seula_events_retention_task;

/* Delete up to `limit` expired events of every site; *deleted gets the
 * count.  A site whose [site.ID] section is gone keeps its events for the
 * default events_retention: they are not kept for good.  Inside the
 * caller's write transaction. */
int seula_retention_events(const struct seula_config *cfg, sqlite3 *db,
                           int64_t now_ms, int64_t limit, int64_t *deleted,
                           char *err, size_t errlen);

/* How many events seula_retention_events would delete now, without a
 * limit (the dry run of `seula retention run`). */
int seula_retention_events_due(const struct seula_config *cfg, sqlite3 *db,
                               int64_t now_ms, int64_t *due, char *err,
                               size_t errlen);

/* Staff sessions past [auth] session_idle or session_lifetime: counted
 * (dry_run) or deleted, inside the caller's transaction.  The server also
 * drops them at every session sync; this is `seula retention run`'s. */
int seula_retention_sessions(const struct seula_config *cfg, sqlite3 *db,
                             int64_t now_ms, bool dry_run, int64_t *count,
                             char *err, size_t errlen);

#endif
