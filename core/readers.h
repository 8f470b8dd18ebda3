/*
 * readers.h - reader threads for routes that read the database.
 *
 * Each reader owns a read-only connection; WAL lets them read beside the
 * writer without blocking it or the loops.  Jobs are struct seula_job of
 * kind SEULA_JOB_ROUTE (a read route's handler) or SEULA_JOB_CALL (a
 * function: slow work that may read, such as checking a password);
 * completion as in store.h.  The queue is bounded: a
 * full queue refuses at once (503).
 */
#ifndef SEULA_READERS_H
#define SEULA_READERS_H

#include "config.h"
#include "log.h"
#include "store.h"

struct seula_readers;

int seula_readers_start(struct seula_readers **out,
                        const struct seula_config *cfg,
                        const struct seula_logger *log, char *err,
                        size_t errlen);
/* SEULA_EBUSY when full, SEULA_ECONFLICT when stopping. */
int seula_readers_submit(struct seula_readers *r, struct seula_job *job);
/* Answer the queued jobs now without running them (job->cancelled; a
 * call gets SEULA_ECONFLICT, a route a 503 "shutting_down") and refuse
 * new ones; the jobs running finish.  Any thread; NULL-safe. */
void seula_readers_halt(struct seula_readers *r);
/* seula_readers_halt(), then join the threads and close; NULL-safe.  The
 * jobs' completion queues must outlive it. */
void seula_readers_stop(struct seula_readers *r);

#endif
