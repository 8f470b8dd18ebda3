/* Unit tests: core/store.c - group commit, completion after commit, the
 * bounded queue, and stop committing what is queued. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
	char dir[64];
	char db[128];
	struct seula_config cfg;
	struct seula_plugins pl;
	struct seula_logger log;
	struct seula_store *store;
	struct event_base *base;
	struct seula_completions *cq;
};

struct test_job {
	struct seula_job job;
	struct seula_arena arena;
	struct fixture *f;
	int *done;
	int64_t rows_at_completion;
	int64_t first_row_id;
};

/* The count `sql` answers on the database at path (?1 bound to arg, when
 * given); -1 when it does not. */
static int64_t count_of(const char *path, const char *sql, const char *arg)
{
	sqlite3 *db;
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st;
	int64_t n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (!arg ||
	     sqlite3_bind_text(st, 1, arg, -1, SQLITE_STATIC) == SQLITE_OK) &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static int64_t count_rows_where(const char *path, const char *job_path)
{
	return count_of(path,
	                "SELECT count(*) FROM events WHERE ?1 IS NULL OR "
	                "path = ?1",
	                job_path);
}

static int64_t count_rows(const char *path)
{
	return count_rows_where(path, NULL);
}

static void on_done(struct seula_completion *c)
{
	struct test_job *t = (struct test_job *)c;
	assert_true(t->job.committed);
	/* Completion only after COMMIT: another connection sees every event
	 * of this job. */
	t->rows_at_completion = count_rows_where(
	        t->f->db, seula_event_str(t->job.events[0], SEULA_FIELD_PATH));
	t->first_row_id = t->job.events[0]->row_id;
	(*t->done)++;
	seula_arena_free(&t->arena);
}

static struct fixture *open_store_with(const char *capacity,
                                       const struct seula_plugins *pl)
{
	struct fixture *f = calloc(1, sizeof(*f));
	if (pl)
		f->pl = *pl;
	strcpy(f->dir, "/tmp/seula-store-XXXXXX");
	assert_non_null(mkdtemp(f->dir));
	snprintf(f->db, sizeof(f->db), "%s/seula.db", f->dir);
	char dbo[160], cap[64], err[512];
	snprintf(dbo, sizeof(dbo), "server.db=%s", f->db);
	snprintf(cap, sizeof(cap), "limits.queue_capacity=%s", capacity);
	const char *ov[] = {dbo,
	                    cap,
	                    "limits.batch_max_events=8",
	                    "limits.max_events_per_request=4",
	                    "server.synchronous=normal",
	                    NULL};
	assert_int_equal(seula_config_load(&f->cfg, NULL, ov, err, sizeof(err)),
	                 0);
	f->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	if (seula_store_open(&f->store, &f->cfg, &f->pl, &f->log, err,
	                     sizeof(err)) != SEULA_OK)
		fail_msg("%s", err);
	f->base = event_base_new();
	f->cq = seula_completions_new(f->base);
	return f;
}

static struct fixture *open_store(const char *capacity)
{
	return open_store_with(capacity, NULL);
}

static void close_store(struct fixture *f)
{
	seula_store_close(f->store);
	seula_completions_free(f->cq);
	event_base_free(f->base);
	seula_config_free(&f->cfg);
	char cmd[200];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", f->dir);
	assert_int_equal(system(cmd), 0);
	free(f);
}

static struct test_job *make_job(struct fixture *f, int n_events, int *done)
{
	struct test_job *t = calloc(1, sizeof(*t));
	t->f = f;
	t->done = done;
	seula_arena_init(&t->arena, 0);
	t->job.kind = SEULA_JOB_EVENTS;
	t->job.cq = f->cq;
	t->job.done.run = on_done;
	t->job.events =
	        seula_arena_alloc(&t->arena, (size_t)n_events * sizeof(void *));
	for (int i = 0; i < n_events; i++) {
		struct seula_event *ev = seula_event_new(&t->arena);
		seula_event_set_str(ev, SEULA_FIELD_SITE, "s", 1);
		seula_event_set_int(ev, SEULA_FIELD_TYPE, 1);
		seula_event_set_int(ev, SEULA_FIELD_TIME_MS, 1000 + i);
		char path[32];
		snprintf(path, sizeof(path), "/job-%p", (void *)t);
		seula_event_set_str(ev, SEULA_FIELD_PATH, path, strlen(path));
		t->job.events[i] = ev;
	}
	t->job.n_events = (size_t)n_events;
	return t;
}

static void group_commit_then_complete(void **state)
{
	(void)state;
	struct fixture *f = open_store("1000");
	assert_int_equal(seula_store_start(f->store), SEULA_OK);
	int done = 0;
	struct test_job *jobs[100];
	for (int i = 0; i < 100; i++) {
		jobs[i] = make_job(f, 1 + i % 4, &done);
		assert_int_equal(seula_store_submit(f->store, &jobs[i]->job),
		                 SEULA_OK);
	}
	while (done < 100)
		event_base_loop(f->base, EVLOOP_ONCE);
	int64_t total = 0;
	for (int i = 0; i < 100; i++) {
		total += 1 + i % 4;
		assert_int_equal(jobs[i]->rows_at_completion, 1 + i % 4);
		assert_true(jobs[i]->first_row_id > 0);
		free(jobs[i]);
	}
	assert_int_equal(count_rows(f->db), total);
	struct seula_store_stats st;
	seula_store_stats(f->store, &st);
	assert_int_equal(st.events_committed, (uint64_t)total);
	/* Grouped: far fewer commits than jobs. */
	assert_true(st.batches < 100);
	close_store(f);
}

static void full_queue_refuses_and_stop_commits(void **state)
{
	(void)state;
	struct fixture *f = open_store("10");
	int done = 0;
	struct test_job *jobs[4];
	/* Writer not started yet: the queue fills. */
	for (int i = 0; i < 3; i++) {
		jobs[i] = make_job(f, 3, &done);
		assert_int_equal(seula_store_submit(f->store, &jobs[i]->job),
		                 SEULA_OK);
	}
	jobs[3] = make_job(f, 2, &done);
	assert_int_equal(seula_store_submit(f->store, &jobs[3]->job),
	                 SEULA_EBUSY);
	seula_arena_free(&jobs[3]->arena);
	free(jobs[3]);
	assert_int_equal(seula_store_start(f->store), SEULA_OK);
	seula_store_stop(f->store);
	/* Everything queued before stop is committed and completed. */
	assert_int_equal(count_rows(f->db), 9);
	while (done < 3)
		event_base_loop(f->base, EVLOOP_ONCE);
	struct test_job *late = make_job(f, 1, &done);
	assert_int_equal(seula_store_submit(f->store, &late->job),
	                 SEULA_ECONFLICT);
	seula_arena_free(&late->arena);
	free(late);
	for (int i = 0; i < 3; i++)
		free(jobs[i]);
	close_store(f);
}

/* A task that has more to do (SEULA_TASK_MORE) runs again at once, each
 * run in its own committed transaction, not after its interval (an hour
 * here); one that answers SEULA_OK waits for it. */
static int more_runs;

static int more_task(void *arg, sqlite3 *db, int64_t now_ms, char **errmsg)
{
	(void)arg, (void)now_ms, (void)errmsg;
	if (sqlite3_exec(db,
	                 "CREATE TABLE IF NOT EXISTS task_runs (n INTEGER); "
	                 "INSERT INTO task_runs VALUES (1)",
	                 NULL, NULL, NULL) != SQLITE_OK)
		return SEULA_EIO;
	return ++more_runs < 5 ? SEULA_TASK_MORE : SEULA_OK;
}

static int64_t task_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	sqlite3_stmt *st;
	int64_t n = 0;
	if (sqlite3_prepare_v2(db, "SELECT count(*) FROM task_runs", -1, &st,
	                       NULL) == SQLITE_OK &&
	    sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return n;
}

static void task_with_more_to_do_runs_again(void **state)
{
	(void)state;
	struct fixture *f = open_store("1000");
	static const struct seula_task task = {"more", 3600, 0, more_task};
	more_runs = 0;
	assert_int_equal(seula_store_add_task(f->store, &task, NULL), SEULA_OK);
	assert_int_equal(seula_store_start(f->store), SEULA_OK);
	/* Batches still commit between the runs. */
	int done = 0;
	struct test_job *job = make_job(f, 2, &done);
	assert_int_equal(seula_store_submit(f->store, &job->job), SEULA_OK);
	for (int i = 0; i < 200 && task_rows(f->db) < 5; i++)
		usleep(10000);
	while (done < 1)
		event_base_loop(f->base, EVLOOP_ONCE);
	free(job);
	usleep(100000);
	seula_store_stop(f->store);
	/* Five runs, each committed; the fifth said it was done. */
	assert_int_equal(task_rows(f->db), 5);
	assert_int_equal(more_runs, 5);
	assert_int_equal(count_rows(f->db), 2);
	close_store(f);
}

/* A plugin built before 1.4 could not mean "more" by a 1: its run is a
 * failure, rolled back, and waits for its interval. */
static void old_plugin_task_answering_1_fails(void **state)
{
	(void)state;
	static const struct seula_task task = {"old", 3600, 0, more_task};
	struct seula_loaded_plugin old = {0};
	old.desc.abi_major = SEULA_ABI_MAJOR;
	old.desc.abi_minor = 3;
	old.desc.name = "old";
	old.desc.tasks = &task;
	old.desc.n_tasks = 1;
	struct seula_plugins pl = {&old, 1};
	struct fixture *f = open_store_with("1000", &pl);
	more_runs = 0;
	assert_int_equal(seula_store_start(f->store), SEULA_OK);
	usleep(300000);
	seula_store_stop(f->store);
	assert_int_equal(more_runs, 1);
	assert_int_equal(task_rows(f->db), 0);
	f->pl = (struct seula_plugins){0};
	close_store(f);
}

/* An events job's call: a row of its own, or a failure when told. */
static int call_marks(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	const bool *fails = arg;
	if (*fails) {
		snprintf(err, errlen, "told to fail");
		return SEULA_EIO;
	}
	return sqlite3_exec(db,
	                    "CREATE TABLE IF NOT EXISTS marks (x); INSERT "
	                    "INTO marks VALUES (1)",
	                    NULL, NULL, NULL) == SQLITE_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

static void on_done_any(struct seula_completion *c)
{
	struct test_job *t = (struct test_job *)c;
	t->rows_at_completion = t->job.committed;
	(*t->done)++;
	seula_arena_free(&t->arena);
}

/* What an events job's call writes commits with its events or not at all
 * (the importer's record of how far it got). */
static void events_call_commits_with_them(void **state)
{
	(void)state;
	struct fixture *f = open_store("1000");
	assert_int_equal(seula_store_start(f->store), SEULA_OK);
	bool fails[2] = {false, true};
	for (int k = 0; k < 2; k++) {
		int done = 0;
		struct test_job *t = make_job(f, 3, &done);
		t->job.done.run = on_done_any;
		t->job.call = call_marks;
		t->job.call_arg = &fails[k];
		assert_int_equal(seula_store_submit(f->store, &t->job),
		                 SEULA_OK);
		while (!done)
			event_base_loop(f->base, EVLOOP_ONCE);
		assert_int_equal(t->rows_at_completion, !fails[k]);
		assert_int_equal(t->job.result,
		                 fails[k] ? SEULA_EIO : SEULA_OK);
		free(t);
	}
	/* The first job's three events and its mark; nothing of the second. */
	assert_int_equal(count_rows(f->db), 3);
	assert_int_equal(count_of(f->db, "SELECT count(*) FROM marks", NULL),
	                 1);
	close_store(f);
}

int main(void)
{
	evthread_use_pthreads();
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(group_commit_then_complete),
	        cmocka_unit_test(full_queue_refuses_and_stop_commits),
	        cmocka_unit_test(task_with_more_to_do_runs_again),
	        cmocka_unit_test(old_plugin_task_answering_1_fails),
	        cmocka_unit_test(events_call_commits_with_them),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
