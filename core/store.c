/*
 * store.c - the writer thread and group commit (see store.h for the design).
 */
#include "store.h"

#include "db.h"
#include "host.h"
#include "http.h"
#include "migrate.h"
#include "secret.h"

#include <errno.h>
#include <pthread.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#define TRUNCATE_RETRY_MS 1000
/* A run of failed batches is logged at its first and then at most this
 * often, with how many failed meanwhile. */
#define FAIL_LOG_INTERVAL_MS 60000
/* How often an idle writer looks whether its files are still there. */
#define FILES_CHECK_MS 1000

struct task_state {
	const char *owner; /* a plugin's name, or "core" */
	/* A plugin's instance exists only after init, which follows the
	 * store's opening: read it when the task runs. */
	const struct seula_loaded_plugin *plugin;
	void *arg; /* a core task's */
	const struct seula_task *task;
	int64_t next_ms;
	/* The run of failed runs this one is in (0: the last run did its
	 * work) and when its first failed: under task_lock, which health
	 * reads it with. */
	uint32_t failures;
	int64_t failing_since_ms;
};

struct seula_store {
	sqlite3 *db;
	sqlite3_stmt *insert;
	enum seula_field columns[SEULA_FIELD_COUNT_];
	size_t n_columns;
	const struct seula_config *cfg;
	const struct seula_plugins *plugins;
	const struct seula_logger *log;

	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct seula_job *head, *tail;
	size_t queued_events;
	bool stopping;
	struct seula_store_stats stats;

	struct task_state *tasks;
	size_t n_tasks;
	/* Guards tasks[] growing and the tasks' failure runs. */
	pthread_mutex_t task_lock;

	bool hold_tasks; /* set before start, read by the writer */

	seula_store_gate_fn gate;
	void (*gate_release)(void *arg);
	void *gate_arg;

	struct seula_event **batch_events; /* writer only */
	size_t batch_cap;
	/* Sites whose collect_since row is known to exist (writer only), and
	 * those a batch in progress adds. */
	char **since_sites;
	size_t n_since, n_since_committed;
	/* An erasure's WAL truncation a reader held off: retried until it
	 * is done (writer only). */
	bool truncate_pending;
	int64_t truncate_retry_ms;

	/* What health reports (enum seula_store_health): set by the writer,
	 * read on the loops. */
	atomic_int health;
	/* The first error of the batch in progress, logged by
	 * report_batch (writer only). */
	char batch_err[512];
	const char *batch_src; /* "store" or a plugin's name */
	/* A run of failed batches: how many, how many since the last line
	 * about it, and when the next line may be (writer only). */
	uint64_t failed_run, failed_unlogged;
	int64_t fail_log_ms;

	/* The database, its WAL and shared-memory files as opened: a path
	 * that names another file, or none, was removed or replaced under
	 * the server, and what it commits would be lost (writer only). */
	struct db_file {
		char *path;
		dev_t dev;
		ino_t ino;
		bool known;
	} files[3];
	bool gone;
	int64_t files_check_ms;
	int64_t probe_ms; /* probe_storage()'s next, while batches fail */
};

static size_t job_weight(const struct seula_job *job)
{
	return job->kind == SEULA_JOB_EVENTS && job->n_events ? job->n_events
	                                                      : 1;
}

static int prepare_insert(struct seula_store *s, char *err, size_t errlen)
{
	char sql[2048] = "INSERT INTO events (";
	char vals[512] = ") VALUES (";
	size_t n = 0;
	for (int f = 0; f < SEULA_FIELD_COUNT_; f++) {
		if (!seula_field_is_stored((enum seula_field)f))
			continue;
		s->columns[n] = (enum seula_field)f;
		strcat(sql, n ? ", " : "");
		strcat(sql, seula_field_column((enum seula_field)f));
		strcat(vals, n ? ", ?" : "?");
		n++;
	}
	s->n_columns = n;
	strcat(sql, vals);
	strcat(sql, ")");
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
	                       &s->insert, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "preparing the event insert: %s",
		         sqlite3_errmsg(s->db));
		return SEULA_EIO;
	}
	return SEULA_OK;
}

/* The WAL starts over from its beginning once a checkpoint has copied all
 * of it back and no reader is in it; without a limit its file keeps the
 * size a long reader (a backup) made it grow to.  With one, the first
 * commit after the restart cuts the file back to it.  SQLite's automatic
 * checkpoints (every 1000 pages) are the ones that catch up. */
static int limit_wal(struct seula_store *s, char *err, size_t errlen)
{
	char sql[64], e[256];
	snprintf(sql, sizeof(sql), "PRAGMA journal_size_limit=%lld",
	         (long long)s->cfg->wal_limit_bytes);
	if (seula_db_exec(s->db, sql, e, sizeof(e)) != SEULA_OK) {
		snprintf(err, errlen, "%s: %s", sql, e);
		return SEULA_EIO;
	}
	return SEULA_OK;
}

/* Note which files the connection has open, by device and inode: stat(2)
 * of the paths, since opening and closing another descriptor of the
 * database would drop SQLite's POSIX locks. */
static int note_files(struct seula_store *s)
{
	static const char *const suffix[] = {"", "-wal", "-shm"};
	const char *main_path = sqlite3_db_filename(s->db, "main");
	if (!main_path || !*main_path)
		return SEULA_OK;
	for (size_t i = 0; i < sizeof(suffix) / sizeof(*suffix); i++) {
		struct db_file *f = &s->files[i];
		size_t n = strlen(main_path) + strlen(suffix[i]) + 1;
		if (!(f->path = malloc(n)))
			return SEULA_ENOMEM;
		snprintf(f->path, n, "%s%s", main_path, suffix[i]);
		struct stat st;
		if (stat(f->path, &st) == 0) {
			f->dev = st.st_dev;
			f->ino = st.st_ino;
			f->known = true;
		}
	}
	return SEULA_OK;
}

/* The first path no longer naming the file opened, or NULL. */
static const char *moved_file(const struct seula_store *s)
{
	for (size_t i = 0; i < sizeof(s->files) / sizeof(*s->files); i++) {
		const struct db_file *f = &s->files[i];
		struct stat st;
		if (f->known && (stat(f->path, &st) != 0 ||
		                 st.st_dev != f->dev || st.st_ino != f->ino))
			return f->path;
	}
	return NULL;
}

/* Whether the database was removed or replaced under the server; says so
 * when that changes. */
static bool files_gone(struct seula_store *s)
{
	const char *moved = moved_file(s);
	s->files_check_ms = seula_clock_ms() + FILES_CHECK_MS;
	if (moved && !s->gone) {
		seula_log(s->log, SEULA_LOG_ERROR, "store",
		          "%s was removed or replaced: the database this "
		          "server writes is no longer the file its path names, "
		          "so events are refused (503) until it is again; "
		          "restart the server to open what is there now",
		          moved);
		atomic_store(&s->health, SEULA_STORE_GONE);
	} else if (!moved && s->gone) {
		seula_log(s->log, SEULA_LOG_INFO, "store",
		          "%s names the database this server writes again: "
		          "storing resumes",
		          s->files[0].path);
		atomic_store(&s->health, s->failed_run ? SEULA_STORE_FAILING
		                                       : SEULA_STORE_OK);
	}
	s->gone = moved != NULL;
	return s->gone;
}

int seula_store_open(struct seula_store **out, const struct seula_config *cfg,
                     const struct seula_plugins *plugins,
                     const struct seula_logger *log, char *err, size_t errlen)
{
	*out = NULL;
	struct seula_store *s = calloc(1, sizeof(*s));
	if (!s)
		return SEULA_ENOMEM;
	s->cfg = cfg;
	s->plugins = plugins;
	s->log = log;
	pthread_mutex_init(&s->lock, NULL);
	pthread_cond_init(&s->wake, NULL);
	pthread_mutex_init(&s->task_lock, NULL);
	int rc =
	        seula_db_open(&s->db, cfg->db, false, true,
	                      cfg->synchronous == SEULA_SYNC_FULL, err, errlen);
	/* The key signs what core migration 7 finds (migrate.h); a new
	 * database gets one, one restored without its key is refused. */
	unsigned char key[SEULA_SECRET_BYTES];
	if (rc == SEULA_OK)
		rc = seula_secret_open(s->db, cfg->secret_file, key, err,
		                       errlen);
	if (rc == SEULA_OK)
		rc = seula_migrate_all(s->db, plugins, key, NULL, err, errlen);
	sodium_memzero(key, sizeof(key));
	if (rc == SEULA_OK)
		rc = limit_wal(s, err, errlen);
	if (rc == SEULA_OK)
		rc = note_files(s);
	if (rc == SEULA_OK)
		rc = prepare_insert(s, err, errlen);
	size_t n = 0;
	for (size_t i = 0; rc == SEULA_OK && i < plugins->n; i++)
		n += plugins->list[i].desc.n_tasks;
	if (rc == SEULA_OK) {
		s->tasks = calloc(n ? n : 1, sizeof(*s->tasks));
		s->batch_cap = (size_t)cfg->batch_max_events +
		               (size_t)cfg->max_events_per_request;
		s->batch_events =
		        calloc(s->batch_cap, sizeof(*s->batch_events));
		if (!s->tasks || !s->batch_events)
			rc = SEULA_ENOMEM;
	}
	if (rc != SEULA_OK) {
		seula_store_close(s);
		return rc;
	}
	for (size_t i = 0; i < plugins->n; i++)
		for (size_t t = 0; t < plugins->list[i].desc.n_tasks; t++) {
			struct task_state *ts = &s->tasks[s->n_tasks++];
			ts->owner = plugins->list[i].desc.name;
			ts->plugin = &plugins->list[i];
			ts->task = &plugins->list[i].desc.tasks[t];
			ts->next_ms = 0;
		}
	*out = s;
	return SEULA_OK;
}

/* ---- one transaction -------------------------------------------------- */

static bool exec_ok(struct seula_store *s, const char *sql)
{
	char e[256];
	if (seula_db_exec(s->db, sql, e, sizeof(e)) == SEULA_OK)
		return true;
	seula_log(s->log, SEULA_LOG_ERROR, "store", "%s: %s", sql, e);
	return false;
}

/* An error that rolls the batch in progress back: only the first is kept,
 * for report_batch to log. */
static void batch_error(struct seula_store *s, const char *src, const char *fmt,
                        ...)
{
	if (s->batch_err[0])
		return;
	s->batch_src = src;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(s->batch_err, sizeof(s->batch_err), fmt, ap);
	va_end(ap);
}

static bool exec_batch(struct seula_store *s, const char *sql)
{
	char e[256];
	if (seula_db_exec(s->db, sql, e, sizeof(e)) == SEULA_OK)
		return true;
	batch_error(s, "store", "%s: %s", sql, e);
	return false;
}

/* Roll back what a failure left open: SQLite has already rolled back a
 * transaction a disk I/O error or a full disk hit. */
static void rollback_open(struct seula_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		exec_ok(s, "ROLLBACK");
}

static int insert_event(struct seula_store *s, struct seula_event *ev)
{
	sqlite3_stmt *st = s->insert;
	/* A consented visitor id is stored without the cookieless hash: the
	 * same browser's visits before consent, or after a withdrawal, have
	 * that hash, and the stored pair would join them to the id (and so
	 * to a linked customer).  The plugins' on_batch still see it. */
	bool identified = seula_event_str(ev, SEULA_FIELD_VISITOR_ID) != NULL;
	for (size_t i = 0; i < s->n_columns; i++) {
		enum seula_field f = s->columns[i];
		int col = (int)i + 1;
		if (f == SEULA_FIELD_VISITOR_HASH && identified) {
			sqlite3_bind_null(st, col);
		} else if (seula_field_is_int(f)) {
			int64_t v;
			if (seula_event_int(ev, f, &v) == SEULA_OK)
				sqlite3_bind_int64(st, col, v);
			else
				sqlite3_bind_null(st, col);
		} else {
			const char *v = seula_event_str(ev, f);
			if (v)
				sqlite3_bind_text(st, col, v, -1,
				                  SQLITE_STATIC);
			else
				sqlite3_bind_null(st, col);
		}
	}
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (rc != SQLITE_DONE) {
		batch_error(s, "store", "inserting an event: %s",
		            sqlite3_errmsg(s->db));
		return SEULA_EIO;
	}
	ev->row_id = sqlite3_last_insert_rowid(s->db);
	return SEULA_OK;
}

/* A site's first collected event starts its collect_since row (store.h:
 * seula_job.imported), once a process: its sites are remembered, and
 * forgotten again should the batch roll back. */
static bool note_collected(struct seula_store *s, const struct seula_event *ev)
{
	const char *site = seula_event_str(ev, SEULA_FIELD_SITE);
	int64_t ts;
	if (!site || seula_event_int(ev, SEULA_FIELD_TIME_MS, &ts) != SEULA_OK)
		return true;
	for (size_t i = s->n_since; i-- > 0;)
		if (strcmp(s->since_sites[i], site) == 0)
			return true;
	char **more = realloc(s->since_sites,
	                      (s->n_since + 1) * sizeof(*s->since_sites));
	if (!more)
		return false;
	s->since_sites = more;
	if (!(s->since_sites[s->n_since] = strdup(site)))
		return false;
	s->n_since++;
	sqlite3_stmt *st = NULL;
	bool ok = sqlite3_prepare_v2(s->db,
	                             "INSERT INTO collect_since (site, since) "
	                             "VALUES (?1, ?2) ON CONFLICT DO NOTHING",
	                             -1, &st, NULL) == SQLITE_OK;
	if (ok) {
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, ts);
		ok = sqlite3_step(st) == SQLITE_DONE;
	}
	if (!ok)
		batch_error(s, "store",
		            "recording when site %s was first collected: %s",
		            site, sqlite3_errmsg(s->db));
	sqlite3_finalize(st);
	return ok;
}

/* Run a job's call under its own savepoint; `fatal`: its failure rolls the
 * batch back, and report_batch logs it. */
static int run_call(struct seula_store *s, struct seula_job *job, bool fatal)
{
	char err[256] = "";
	if (!(fatal ? exec_batch : exec_ok)(s, "SAVEPOINT call"))
		return SEULA_EIO;
	int rc = job->call(job->call_arg, s->db, err, sizeof(err));
	if (rc != SEULA_OK) {
		if (fatal)
			batch_error(s, "store", "%s",
			            err[0] ? err : "a call failed");
		else
			seula_log(s->log, SEULA_LOG_ERROR, "store", "%s",
			          err[0] ? err : "a call failed");
		exec_ok(s, "ROLLBACK TO call");
	}
	exec_ok(s, "RELEASE call");
	return rc;
}

static void run_route(struct seula_store *s, struct seula_job *job)
{
	job->audit_failed = false;
	if (!exec_ok(s, "SAVEPOINT route")) {
		job->result = SEULA_EIO;
		return;
	}
	seula_http_set_db(job->http, s->db);
	seula_http_set_writer(job->http, true);
	int rc = job->handler(job->instance, job->http);
	seula_http_set_writer(job->http, false);
	seula_http_set_db(job->http, NULL);
	if (rc != SEULA_OK)
		exec_ok(s, "ROLLBACK TO route");
	/* Its audit entries commit with it, whatever the handler did; what
	 * it did commits only with them. */
	if (job->call && run_call(s, job, false) != SEULA_OK) {
		exec_ok(s, "ROLLBACK TO route");
		job->audit_failed = true;
		rc = SEULA_EIO;
	}
	exec_ok(s, "RELEASE route");
	job->result = rc;
}

/* A failed batch is logged when it starts a run of failures, and then at
 * most every FAIL_LOG_INTERVAL_MS with the count meanwhile (a full disk
 * fails every batch); the first success after a run says so. */
static void report_batch(struct seula_store *s, bool ok)
{
	int64_t now = seula_clock_ms();
	if (ok) {
		if (s->failed_run)
			seula_log(s->log, SEULA_LOG_INFO, "store",
			          "storage works again after %llu failed "
			          "batches",
			          (unsigned long long)s->failed_run);
		s->failed_run = s->failed_unlogged = 0;
		atomic_store(&s->health, SEULA_STORE_OK);
		return;
	}
	atomic_store(&s->health, SEULA_STORE_FAILING);
	const char *err = s->batch_err[0] ? s->batch_err : "a batch failed";
	const char *src = s->batch_err[0] ? s->batch_src : "store";
	bool other = strcmp(src, "store") != 0;
	s->failed_run++;
	if (s->failed_run == 1) {
		seula_log(s->log, SEULA_LOG_ERROR, src,
		          "%s; the batch is rolled back, its requests answered "
		          "503",
		          err);
	} else if (now >= s->fail_log_ms) {
		seula_log(s->log, SEULA_LOG_ERROR, "store",
		          "batches still failing: %llu more since the last "
		          "report, %llu in a row; the last: %s%s%s",
		          (unsigned long long)s->failed_unlogged + 1,
		          (unsigned long long)s->failed_run, other ? src : "",
		          other ? ": " : "", err);
	} else {
		s->failed_unlogged++;
		return;
	}
	s->failed_unlogged = 0;
	s->fail_log_ms = now + FAIL_LOG_INTERVAL_MS;
}

/* Commit one batch of jobs; every job gets its result. */
static void commit_batch(struct seula_store *s, struct seula_job *jobs)
{
	s->batch_err[0] = '\0';
	/* Nothing is written to a database its path no longer names. */
	bool refused = s->gone && files_gone(s);
	bool ok = !refused && exec_batch(s, "BEGIN IMMEDIATE");
	size_t n_events = 0;
	int64_t now = seula_clock_ms();
	for (struct seula_job *j = jobs; j; j = j->next) {
		j->result = SEULA_OK;
		j->committed = false;
	}
	for (struct seula_job *j = jobs; ok && j; j = j->next) {
		if (j->kind == SEULA_JOB_ROUTE) {
			run_route(s, j);
			continue;
		}
		if (j->kind == SEULA_JOB_CALL) {
			j->result = run_call(s, j, false);
			continue;
		}
		for (size_t i = 0; ok && i < j->n_events; i++) {
			bool keep = true;
			if (s->gate && s->gate(s->gate_arg, s->db, j->events[i],
			                       now, &keep) != SEULA_OK) {
				batch_error(s, "store",
				            "the consent gate failed: %s",
				            sqlite3_errmsg(s->db));
				ok = false;
				break;
			}
			if (!keep)
				continue;
			if (insert_event(s, j->events[i]) != SEULA_OK ||
			    (!j->imported && !note_collected(s, j->events[i])))
				ok = false;
			else if (n_events < s->batch_cap)
				s->batch_events[n_events++] = j->events[i];
		}
		if (ok && j->call &&
		    (j->result = run_call(s, j, true)) != SEULA_OK)
			ok = false;
	}
	for (size_t i = 0; ok && n_events && i < s->plugins->n; i++) {
		const struct seula_loaded_plugin *p = &s->plugins->list[i];
		if (!p->desc.on_batch)
			continue;
		char *msg = NULL;
		int rc = p->desc.on_batch(p->instance, s->db, s->batch_events,
		                          n_events, &msg);
		if (rc != SEULA_OK) {
			batch_error(s, p->desc.name, "on_batch failed (%d): %s",
			            rc, msg ? msg : "no reason given");
			ok = false;
		}
		free(msg);
	}
	if (ok)
		ok = exec_batch(s, "COMMIT");
	if (!ok)
		rollback_open(s);
	/* Committed to a file removed or replaced meanwhile: lost, so not
	 * acknowledged.  A stat(2) of three paths is nothing beside a
	 * commit. */
	bool lost = ok && files_gone(s);
	if (!refused && !lost)
		report_batch(s, ok);
	ok = ok && !lost;
	/* Sites noted in a batch rolled back are noted again next time. */
	while (!ok && s->n_since > s->n_since_committed)
		free(s->since_sites[--s->n_since]);
	s->n_since_committed = s->n_since;
	/* A route that erased someone asked for the WAL frames holding them
	 * to go before its reply says they are gone. */
	bool truncate = false;
	for (struct seula_job *j = jobs; ok && j; j = j->next)
		truncate |= j->kind == SEULA_JOB_ROUTE &&
		            j->result == SEULA_OK &&
		            seula_http_wants_truncate(j->http);
	if (truncate &&
	    sqlite3_wal_checkpoint_v2(s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE,
	                              NULL, NULL) != SQLITE_OK) {
		seula_log(s->log, SEULA_LOG_WARN, "store",
		          "WAL not truncated after an erasure (%s): a reader "
		          "holds it; trying again every second",
		          sqlite3_errmsg(s->db));
		s->truncate_pending = true;
		s->truncate_retry_ms = seula_clock_ms() + TRUNCATE_RETRY_MS;
	}

	uint64_t failed = 0, committed = 0;
	for (struct seula_job *j = jobs; j; j = j->next) {
		j->committed = ok;
		if (!ok) {
			j->result = SEULA_EIO;
			failed++;
		} else if (j->kind == SEULA_JOB_EVENTS) {
			committed += j->n_events;
		}
	}
	pthread_mutex_lock(&s->lock);
	s->stats.batches++;
	s->stats.events_committed += committed;
	s->stats.jobs_failed += failed;
	pthread_mutex_unlock(&s->lock);

	/* Replies go out only now, after COMMIT returned. */
	while (jobs) {
		struct seula_job *next = jobs->next;
		jobs->next = NULL;
		seula_completions_post(jobs->cq, &jobs->done);
		jobs = next;
	}
}

static int run_task(struct seula_store *s, struct task_state *ts, int64_t now,
                    char *err, size_t errlen)
{
	if (!exec_ok(s, "BEGIN IMMEDIATE")) {
		snprintf(err, errlen, "%s: task %s: cannot begin", ts->owner,
		         ts->task->name);
		return SEULA_EIO;
	}
	char *msg = NULL;
	int64_t changes = sqlite3_total_changes64(s->db);
	int rc = ts->task->run(ts->plugin ? ts->plugin->instance : ts->arg,
	                       s->db, now, &msg);
	/* Before 1.4 a 1 was no answer a task could give: a failure. */
	bool more = rc == SEULA_TASK_MORE &&
	            (!ts->plugin || ts->plugin->desc.abi_minor >= 4);
	const char *why = NULL;
	if (more) {
		rc = SEULA_OK;
	} else if (rc > 0) {
		why = "it answered 1, which has no meaning before plugin ABI "
		      "1.4";
		rc = SEULA_EINVAL;
	}
	if (rc == SEULA_OK && !exec_ok(s, "COMMIT"))
		rc = SEULA_EIO;
	if (rc == SEULA_OK && (ts->task->flags & SEULA_TASK_TRUNCATE_WAL) &&
	    sqlite3_total_changes64(s->db) != changes) {
		int log_frames = 0, done = 0;
		if (sqlite3_wal_checkpoint_v2(s->db, NULL,
		                              SQLITE_CHECKPOINT_TRUNCATE,
		                              &log_frames, &done) != SQLITE_OK)
			seula_log(s->log, SEULA_LOG_WARN, "store",
			          "%s: task %s: WAL not truncated (%s); it "
			          "will be on a later run",
			          ts->owner, ts->task->name,
			          sqlite3_errmsg(s->db));
	}
	if (rc != SEULA_OK) {
		const char *db_err = sqlite3_errmsg(s->db);
		char e[256];
		snprintf(e, sizeof(e), "%s", db_err);
		rollback_open(s);
		snprintf(err, errlen, "%s: task %s failed: %s", ts->owner,
		         ts->task->name,
		         why   ? why
		         : msg ? msg
		               : e);
	}
	free(msg);
	pthread_mutex_lock(&s->task_lock);
	if (rc == SEULA_OK) {
		ts->failures = 0;
	} else if (ts->failures++ == 0) {
		ts->failing_since_ms = now;
	}
	pthread_mutex_unlock(&s->task_lock);
	/* More to do: again once the batches queued meanwhile are in. */
	ts->next_ms = more && rc == SEULA_OK
	                      ? now
	                      : now + ts->task->interval_s * 1000;
	return rc;
}

void seula_store_set_gate(struct seula_store *s, seula_store_gate_fn gate,
                          void (*release)(void *arg), void *arg)
{
	s->gate = gate;
	s->gate_release = release;
	s->gate_arg = arg;
}

void seula_store_hold_tasks(struct seula_store *s)
{
	s->hold_tasks = true;
}

int seula_store_add_task(struct seula_store *s, const struct seula_task *task,
                         void *arg)
{
	pthread_mutex_lock(&s->task_lock);
	void *p = realloc(s->tasks, (s->n_tasks + 1) * sizeof(*s->tasks));
	if (!p) {
		pthread_mutex_unlock(&s->task_lock);
		return SEULA_ENOMEM;
	}
	s->tasks = p;
	s->tasks[s->n_tasks++] =
	        (struct task_state){.owner = "core", .arg = arg, .task = task};
	pthread_mutex_unlock(&s->task_lock);
	return SEULA_OK;
}

size_t seula_store_failing_tasks(struct seula_store *s,
                                 struct seula_task_failure *out, size_t max)
{
	size_t n = 0;
	pthread_mutex_lock(&s->task_lock);
	for (size_t i = 0; i < s->n_tasks; i++) {
		const struct task_state *ts = &s->tasks[i];
		if (!ts->failures)
			continue;
		if (n < max)
			out[n] = (struct seula_task_failure){
			        .owner = ts->owner,
			        .name = ts->task->name,
			        .failures = ts->failures,
			        .since_ms = ts->failing_since_ms};
		n++;
	}
	pthread_mutex_unlock(&s->task_lock);
	return n;
}

int seula_store_run_start_tasks(struct seula_store *s, char *err, size_t errlen)
{
	int64_t now = seula_clock_ms();
	for (size_t i = 0; i < s->n_tasks; i++) {
		struct task_state *ts = &s->tasks[i];
		if (!(ts->task->flags & SEULA_TASK_AT_START) ||
		    (s->hold_tasks &&
		     (ts->task->flags & SEULA_TASK_SERVE_ONLY))) {
			ts->next_ms = now + ts->task->interval_s * 1000;
			continue;
		}
		int rc = run_task(s, ts, now, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

/* The erased person's frames leave the WAL once no reader holds it: a
 * try that does not wait for readers (the busy timeout would hold the
 * collect path), once a second. */
static void retry_truncate(struct seula_store *s, int64_t now)
{
	if (!s->truncate_pending || now < s->truncate_retry_ms)
		return;
	sqlite3_busy_timeout(s->db, 0);
	int rc = sqlite3_wal_checkpoint_v2(
	        s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_busy_timeout(s->db, SEULA_DB_BUSY_TIMEOUT_MS);
	if (rc == SQLITE_OK) {
		s->truncate_pending = false;
		seula_log(s->log, SEULA_LOG_INFO, "store",
		          "WAL truncated after an erasure, once its readers "
		          "were done");
	} else {
		s->truncate_retry_ms = now + TRUNCATE_RETRY_MS;
	}
}

/* After failed batches, a write that changes nothing (page 1 written
 * again) once a second: health comes back when the disk does, not only
 * when the next event arrives, which a balancer that took this server
 * out on the 503 would never send.  A failure is not logged again. */
static void probe_storage(struct seula_store *s, int64_t now)
{
	if (!s->failed_run || now < s->probe_ms)
		return;
	s->probe_ms = now + FILES_CHECK_MS;
	sqlite3_stmt *st = NULL;
	int64_t v = 0;
	bool ok = sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st,
	                             NULL) == SQLITE_OK &&
	          sqlite3_step(st) == SQLITE_ROW;
	if (ok)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	char sql[96];
	snprintf(sql, sizeof(sql),
	         "BEGIN IMMEDIATE; PRAGMA user_version = %lld; COMMIT",
	         (long long)v);
	ok = ok && sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK;
	rollback_open(s);
	if (ok)
		report_batch(s, true);
}

static void run_due_tasks(struct seula_store *s)
{
	int64_t now = seula_clock_ms();
	if (now >= s->files_check_ms)
		files_gone(s);
	if (s->gone)
		return;
	probe_storage(s, now);
	retry_truncate(s, now);
	if (s->hold_tasks)
		return;
	for (size_t i = 0; i < s->n_tasks; i++) {
		if (s->tasks[i].next_ms > now)
			continue;
		char err[512];
		if (run_task(s, &s->tasks[i], now, err, sizeof(err)) !=
		    SEULA_OK)
			seula_log(s->log, SEULA_LOG_ERROR, "store", "%s", err);
	}
}

static int64_t next_task_ms(const struct seula_store *s)
{
	int64_t next = s->truncate_pending ? s->truncate_retry_ms : INT64_MAX;
	if (s->files[0].known && s->files_check_ms < next)
		next = s->files_check_ms;
	if (s->failed_run && s->probe_ms < next)
		next = s->probe_ms;
	if (s->hold_tasks || s->gone)
		return next;
	for (size_t i = 0; i < s->n_tasks; i++)
		if (s->tasks[i].next_ms < next)
			next = s->tasks[i].next_ms;
	return next;
}

static void deadline(struct timespec *ts, int64_t abs_ms)
{
	ts->tv_sec = (time_t)(abs_ms / 1000);
	ts->tv_nsec = (long)(abs_ms % 1000) * 1000000L;
}

static void wait_until(struct seula_store *s, int64_t abs_ms)
{
	if (abs_ms == INT64_MAX) {
		pthread_cond_wait(&s->wake, &s->lock);
		return;
	}
	struct timespec ts;
	deadline(&ts, abs_ms);
	pthread_cond_timedwait(&s->wake, &s->lock, &ts);
}

/* Unlink up to batch_max_events worth of jobs (at least one). */
static struct seula_job *take_batch(struct seula_store *s)
{
	struct seula_job *first = s->head, *last = NULL;
	size_t weight = 0;
	struct seula_job *j = s->head;
	while (j && (weight == 0 || weight + job_weight(j) <=
	                                    (size_t)s->cfg->batch_max_events)) {
		weight += job_weight(j);
		last = j;
		j = j->next;
	}
	s->head = j;
	if (!j)
		s->tail = NULL;
	last->next = NULL;
	s->queued_events -= weight;
	return first;
}

static void *writer_main(void *arg)
{
	struct seula_store *s = arg;
	pthread_mutex_lock(&s->lock);
	for (;;) {
		while (!s->head && !s->stopping) {
			int64_t due = next_task_ms(s);
			if (due <= seula_clock_ms()) {
				pthread_mutex_unlock(&s->lock);
				run_due_tasks(s);
				pthread_mutex_lock(&s->lock);
				continue;
			}
			wait_until(s, due);
		}
		if (!s->head && s->stopping)
			break;
		/* Group commit: give a trickle a moment to become a batch. */
		if (s->cfg->batch_interval_ms > 0 && !s->stopping &&
		    s->queued_events < (size_t)s->cfg->batch_max_events) {
			int64_t until =
			        seula_clock_ms() + s->cfg->batch_interval_ms;
			while (!s->stopping &&
			       s->queued_events <
			               (size_t)s->cfg->batch_max_events &&
			       seula_clock_ms() < until)
				wait_until(s, until);
		}
		struct seula_job *batch = take_batch(s);
		pthread_mutex_unlock(&s->lock);
		commit_batch(s, batch);
		if (next_task_ms(s) <= seula_clock_ms())
			run_due_tasks(s);
		pthread_mutex_lock(&s->lock);
	}
	pthread_mutex_unlock(&s->lock);
	return NULL;
}

int seula_store_start(struct seula_store *s)
{
	if (pthread_create(&s->thread, NULL, writer_main, s) != 0)
		return SEULA_ENOMEM;
	s->started = true;
	return SEULA_OK;
}

int seula_store_submit(struct seula_store *s, struct seula_job *job)
{
	size_t w = job_weight(job);
	job->next = NULL;
	pthread_mutex_lock(&s->lock);
	if (s->stopping) {
		pthread_mutex_unlock(&s->lock);
		return SEULA_ECONFLICT;
	}
	if (s->queued_events + w > (size_t)s->cfg->queue_capacity) {
		pthread_mutex_unlock(&s->lock);
		return SEULA_EBUSY;
	}
	if (s->tail)
		s->tail->next = job;
	else
		s->head = job;
	s->tail = job;
	s->queued_events += w;
	if (s->queued_events >= (size_t)s->cfg->batch_max_events ||
	    s->queued_events == w)
		pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	return SEULA_OK;
}

void seula_store_stop(struct seula_store *s)
{
	pthread_mutex_lock(&s->lock);
	s->stopping = true;
	pthread_cond_signal(&s->wake);
	pthread_mutex_unlock(&s->lock);
	if (s->started) {
		pthread_join(s->thread, NULL);
		s->started = false;
	}
}

void seula_store_close(struct seula_store *s)
{
	if (!s)
		return;
	seula_store_stop(s);
	if (s->gate_release)
		s->gate_release(s->gate_arg);
	sqlite3_finalize(s->insert);
	if (s->db) {
		/* Fold the WAL back so the file stands alone. */
		sqlite3_wal_checkpoint_v2(
		        s->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
		seula_db_close(s->db);
	}
	for (size_t i = 0; i < sizeof(s->files) / sizeof(*s->files); i++)
		free(s->files[i].path);
	free(s->tasks);
	free(s->batch_events);
	for (size_t i = 0; i < s->n_since; i++)
		free(s->since_sites[i]);
	free(s->since_sites);
	pthread_cond_destroy(&s->wake);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->task_lock);
	free(s);
}

enum seula_store_health seula_store_health(struct seula_store *s)
{
	return (enum seula_store_health)atomic_load(&s->health);
}

void seula_store_stats(struct seula_store *s, struct seula_store_stats *out)
{
	pthread_mutex_lock(&s->lock);
	*out = s->stats;
	out->queued_events = s->queued_events;
	pthread_mutex_unlock(&s->lock);
}
