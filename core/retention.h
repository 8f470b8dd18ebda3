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

#include <seula/plugin.h>
#include <sqlite3.h>

/* Rows deleted per run at most. */
#define SEULA_RETENTION_BATCH 50000

/* The task; its instance is the struct seula_config. */
extern const struct seula_task seula_events_retention_task;

/* Delete up to `limit` expired events of every site; *deleted gets the
 * count.  Inside the caller's write transaction. */
int seula_retention_events(const struct seula_config *cfg, sqlite3 *db,
                           int64_t now_ms, int64_t limit, int64_t *deleted,
                           char *err, size_t errlen);

#endif
