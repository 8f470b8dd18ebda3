/*
 * store_bench.c - the writer thread alone: how many events a second go
 * through seula_store_submit() and group commit into SQLite, without HTTP.
 *
 * A libevent loop plays the part of the server's loop: it keeps up to
 * IN_FLIGHT jobs submitted (as many as concurrent HTTP requests would be),
 * and submits a new one from each completion, until TOTAL events are
 * committed.  Run by tests/bench/run.sh; usage: store_bench WORKDIR
 */
#include "store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define TOTAL 200000
#define IN_FLIGHT 64

struct bench {
	struct seula_store *store;
	struct seula_completions *cq;
	struct event_base *base;
	int per_job;
	long submitted, committed;
	long busy;
};

struct job {
	struct seula_job job;
	struct seula_arena arena;
	struct bench *b;
};

static void submit_one(struct bench *b);

static void on_done(struct seula_completion *c)
{
	struct job *j = (struct job *)c;
	struct bench *b = j->b;
	if (!j->job.committed) {
		fprintf(stderr, "a batch failed to commit\n");
		exit(1);
	}
	b->committed += (long)j->job.n_events;
	seula_arena_free(&j->arena);
	free(j);
	if (b->submitted < TOTAL)
		submit_one(b);
	else if (b->committed >= TOTAL)
		event_base_loopbreak(b->base);
}

static void submit_one(struct bench *b)
{
	struct job *j = calloc(1, sizeof(*j));
	j->b = b;
	seula_arena_init(&j->arena, 0);
	j->job.kind = SEULA_JOB_EVENTS;
	j->job.cq = b->cq;
	j->job.done.run = on_done;
	j->job.n_events = (size_t)b->per_job;
	j->job.events = seula_arena_alloc(&j->arena,
	                                  (size_t)b->per_job * sizeof(void *));
	for (int i = 0; i < b->per_job; i++) {
		struct seula_event *ev = seula_event_new(&j->arena);
		long n = b->submitted + i;
		char path[64];
		snprintf(path, sizeof(path), "/blog/post-%ld", n % 300);
		seula_event_set_str(ev, SEULA_FIELD_SITE, "demo", 4);
		seula_event_set_int(ev, SEULA_FIELD_TYPE, SEULA_EVENT_PAGEVIEW);
		seula_event_set_int(ev, SEULA_FIELD_TIME_MS, 1700000000000 + n);
		seula_event_set_str(ev, SEULA_FIELD_URL,
		                    "https://example.com/x", 21);
		seula_event_set_str(ev, SEULA_FIELD_HOSTNAME, "example.com",
		                    11);
		seula_event_set_str(ev, SEULA_FIELD_PATH, path, strlen(path));
		seula_event_set_str(ev, SEULA_FIELD_REFERRER,
		                    "https://www.google.com/", 23);
		seula_event_set_str(ev, SEULA_FIELD_TITLE, "Post", 4);
		seula_event_set_str(ev, SEULA_FIELD_LANGUAGE, "fi-FI", 5);
		seula_event_set_str(ev, SEULA_FIELD_IP_ANON, "203.0.0.0", 9);
		seula_event_set_int(ev, SEULA_FIELD_SCREEN_WIDTH, 1920);
		seula_event_set_int(ev, SEULA_FIELD_SCREEN_HEIGHT, 1080);
		seula_event_set_int(ev, SEULA_FIELD_VISITOR_HASH, n * 7919);
		j->job.events[i] = ev;
	}
	while (seula_store_submit(b->store, &j->job) == SEULA_EBUSY) {
		b->busy++;
		event_base_loop(b->base, EVLOOP_NONBLOCK);
	}
	b->submitted += b->per_job;
}

static double seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static double run(const char *dir, const char *sync, int per_job,
                  uint64_t *batches)
{
	char db[512], dbo[600], syn[64], err[512];
	snprintf(db, sizeof(db), "%s/store-%s-%d.db", dir, sync, per_job);
	snprintf(dbo, sizeof(dbo), "server.db=%s", db);
	snprintf(syn, sizeof(syn), "server.synchronous=%s", sync);
	const char *ov[] = {dbo, syn, "limits.queue_capacity=100000",
	                    "limits.batch_max_events=5000", NULL};
	struct seula_config cfg;
	struct seula_plugins plugins = {0};
	struct seula_logger log = {SEULA_LOG_WARN, NULL};
	if (seula_config_load(&cfg, NULL, ov, err, sizeof(err)) != SEULA_OK) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	struct bench b = {0};
	b.per_job = per_job;
	if (seula_store_open(&b.store, &cfg, &plugins, &log, err,
	                     sizeof(err)) != SEULA_OK) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
	b.base = event_base_new();
	b.cq = seula_completions_new(b.base);
	seula_store_start(b.store);
	double t0 = seconds();
	for (int i = 0; i < IN_FLIGHT && b.submitted < TOTAL; i++)
		submit_one(&b);
	/* Completions are the only events: keep looping while none is
	 * pending. */
	event_base_loop(b.base, EVLOOP_NO_EXIT_ON_EMPTY);
	double t = seconds() - t0;
	struct seula_store_stats st;
	seula_store_stats(b.store, &st);
	*batches = st.batches;
	seula_store_close(b.store);
	seula_completions_free(b.cq);
	event_base_free(b.base);
	seula_config_free(&cfg);
	return (double)b.committed / t;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: store_bench WORKDIR\n");
		return 2;
	}
	evthread_use_pthreads();
	printf("%-12s %14s %14s %14s\n", "synchronous", "events/job",
	       "events/s", "events/commit");
	const char *syncs[] = {"full", "normal"};
	int sizes[] = {1, 10, 50};
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 3; k++) {
			uint64_t batches = 0;
			double rate =
			        run(argv[1], syncs[s], sizes[k], &batches);
			printf("%-12s %14d %14.0f %14.1f\n", syncs[s], sizes[k],
			       rate,
			       batches ? (double)TOTAL / (double)batches : 0);
		}
	return 0;
}
