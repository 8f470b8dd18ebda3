/*
 * store.h - the writer thread: a bounded queue of jobs, group commit.
 *
 * DESIGN: the loop threads never touch the disk.  They submit jobs (the
 * events of one collect request, or one write-route call) to a bounded queue
 * and return to their loop.  The single writer thread takes whatever is
 * queued, up to batch_max_events, waiting up to batch_interval_ms for more
 * when the queue runs dry, and commits it all in one transaction: events
 * inserted, write routes run under their own savepoints, every plugin's
 * on_batch called inside the same transaction.  Only after COMMIT returns
 * does it post each job's completion to the job's loop, which then answers
 * the client.  So an acknowledged event is in the database file (and with
 * synchronous=full, on disk) before its 204 leaves.  A full queue refuses
 * the job at once (the caller answers 503 with Retry-After); nothing ever
 * waits for space.  Between batches the writer runs due periodic tasks.
 *
 * Ownership: a submitted job stays owned by its submitter, who must not touch
 * it until its completion runs; the store only links it into the queue.
 */
#ifndef SEULA_STORE_H
#define SEULA_STORE_H

#include "completion.h"
#include "config.h"
#include "event.h"
#include "loader.h"
#include "log.h"

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

struct seula_http;
struct seula_store;

enum seula_job_kind {
	SEULA_JOB_EVENTS = 1, /* insert events, then plugins' on_batch */
	SEULA_JOB_ROUTE = 2,  /* a write route's handler, then `call` if set */
	SEULA_JOB_CALL = 3,   /* just `call` */
};

struct seula_job {
	struct seula_completion done; /* run on the submitter's loop */
	struct seula_completions *cq;
	enum seula_job_kind kind;

	struct seula_event **events; /* SEULA_JOB_EVENTS */
	size_t n_events;
	/* EVENTS from a log's import, not the tracker's: they do not start
	 * a site's collect_since (the time from which the tracker counts
	 * it, which an import stops before). */
	bool imported;

	int (*handler)(void *instance, struct seula_http *http); /* ROUTE */
	void *instance;
	struct seula_http *http;

	/* CALL, and ROUTE after the handler: runs inside the transaction,
	 * under a savepoint of its own; an error rolls back only it.
	 * EVENTS, when set: runs after the job's events are inserted, so
	 * that what it writes commits with them or not at all; an error
	 * rolls back the whole batch. */
	int (*call)(void *arg, sqlite3 *db, char *err, size_t errlen);
	void *call_arg;

	int result;     /* set by the writer before `done` runs */
	bool committed; /* the job's transaction committed */
	/* ROUTE: its `call` failed, so the handler's writes were rolled
	 * back with it and its reply must not go out. */
	bool audit_failed;
	/* Answered without running: the server was stopping (readers.h). */
	bool cancelled;
	struct seula_job *next; /* the store's */
};

struct seula_store_stats {
	uint64_t batches;
	uint64_t events_committed;
	uint64_t jobs_failed;
	size_t queued_events;
};

/* Open the writer connection and apply migrations (core and plugins). */
int seula_store_open(struct seula_store **out, const struct seula_config *cfg,
                     const struct seula_plugins *plugins,
                     const struct seula_logger *log, char *err, size_t errlen);
/* Run the plugins' SEULA_TASK_AT_START tasks on the calling thread; call
 * after plugin init and before seula_store_start(). */
int seula_store_run_start_tasks(struct seula_store *s, char *err,
                                size_t errlen);
int seula_store_start(struct seula_store *s);
/* A periodic task of the core's own (plugins declare theirs): runs on the
 * writer thread in its own transaction every interval_s.  Call before
 * seula_store_run_start_tasks(); `arg` must outlive the store. */
int seula_store_add_task(struct seula_store *s, const struct seula_task *task,
                         void *arg);
/* What may be kept of each event, decided on the writer inside the batch's
 * transaction, just before the insert (so a consent withdrawal committed
 * earlier in the same stream always wins): the gate may clear fields, and
 * sets *keep false to drop the event (still acknowledged).  An error rolls
 * the batch back.  Call before seula_store_start(); `arg` must outlive the
 * store. */
typedef int (*seula_store_gate_fn)(void *arg, sqlite3 *db,
                                   struct seula_event *ev, int64_t now_ms,
                                   bool *keep);
/* `release` (may be NULL) runs before the store closes its connection, to
 * finalize what the gate prepared on it. */
void seula_store_set_gate(struct seula_store *s, seula_store_gate_fn gate,
                          void (*release)(void *arg), void *arg);
/* Periodic tasks wait until the store closes, and SEULA_TASK_SERVE_ONLY
 * ones do not run at start either.  For `seula import-log`, which runs the
 * protect plugins' start tasks itself with the log's clock (the day's
 * visitor-hash salt): a run on the wall clock in between would swap that
 * state under it.  Call before seula_store_run_start_tasks(). */
void seula_store_hold_tasks(struct seula_store *s);
/* Any thread.  SEULA_EBUSY: queue full; SEULA_ECONFLICT: stopping. */
int seula_store_submit(struct seula_store *s, struct seula_job *job);
/* Refuse new jobs, commit everything queued, join the writer. */
void seula_store_stop(struct seula_store *s);
/* Stop if needed and close; NULL-safe. */
void seula_store_close(struct seula_store *s);
void seula_store_stats(struct seula_store *s, struct seula_store_stats *out);

enum seula_store_health {
	SEULA_STORE_OK = 0,
	SEULA_STORE_FAILING = 1, /* the last batch failed to commit */
	SEULA_STORE_GONE = 2,    /* the database was removed or replaced */
};
/* Any thread: whether the writer can store, as its last batch found. */
enum seula_store_health seula_store_health(struct seula_store *s);

/* A periodic task whose last run failed (a plugin's task answering an
 * error, or its commit failing): the events still go in, but what the
 * task keeps (rollups, a retention purge) falls behind. */
struct seula_task_failure {
	const char *owner; /* a plugin's name or "core"; the store's */
	const char *name;  /* the task's; the store's */
	uint32_t failures; /* runs failed in a row */
	int64_t since_ms;  /* wall clock of the first of them */
};
/* Any thread: the tasks whose last run failed, the first `max` of them
 * into out[] (out may be NULL when max is 0); returns how many there are,
 * which may be more than max. */
size_t seula_store_failing_tasks(struct seula_store *s,
                                 struct seula_task_failure *out, size_t max);

#endif
