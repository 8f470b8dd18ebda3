/*
 * store_bench.c - the writer thread alone: how many events a second
 * seula_store_submit() and group commit put into SQLite, with no HTTP.
 *
 * A libevent loop stands in for the server's event-loop thread.  It keeps
 * IN_FLIGHT jobs submitted (as IN_FLIGHT open connections, each waiting for
 * its 204, would), every job holding N events built in the job's own arena
 * with seula_event_new() and the setters, as handle_collect() builds them.
 * Each completion, run back on the loop like collect_done(), counts the job
 * and submits the next one, until the time is up; then the queue drains and
 * the rate is events committed / time from first submit to last completion.
 * The row count in the database is checked against the completions.
 *
 * Build and run (run.sh does both; from the repo root, after the release
 * build):
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Icore -Iinclude tests/bench/store_bench.c \
 *      build/release/libseula_core.a $(pkg-config --cflags --libs libevent \
 *      libevent_pthreads sqlite3 libsodium jansson inih uuid pwquality) \
 *      -ldl -lpthread -o store_bench
 *   ./store_bench WORKDIR [SECONDS [IN_FLIGHT [SYNC [EVENTS_PER_JOB]]]]
 *
 * WORKDIR gets a temp config and database per case (removed after it).
 * SECONDS (3) per case, IN_FLIGHT (64) jobs outstanding; SYNC (full,normal)
 * and EVENTS_PER_JOB (1,10,50) are comma-separated lists.
 */
#include "completion.h"
#include "config.h"
#include "db.h"
#include "event.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct bench;

struct bench_job {
	struct seula_job job;
	struct seula_arena arena;
	struct bench *b;
	double submitted_at;
};

struct bench {
	struct seula_store *store;
	struct seula_completions *cq;
	struct event_base *base;
	struct bench_job *jobs;
	int per_job;
	int in_flight;
	double t0, stop_at, last_done;
	unsigned long seq; /* varies the events */
	unsigned long events_committed, jobs_done, outstanding, busy;
	double *lat; /* job latencies, seconds */
	size_t n_lat, cap_lat;
	int failed;
};

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "store_bench: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	exit(1);
}

static void check(int rc, const char *what)
{
	if (rc != SEULA_OK) {
		char code[32];
		snprintf(code, sizeof(code), "error %d", rc);
		die(what, code);
	}
}

/* ---- events like the ones the collect path stores ----------------------- */

static const char *const sections[] = {"blog/post", "docs/guide/chapter",
                                       "products/item", "pricing", "about"};
static const char *const referrers[] = {NULL,
                                        NULL,
                                        "https://www.google.com/",
                                        "https://www.bing.com/",
                                        "https://duckduckgo.com/",
                                        "https://news.ycombinator.com/",
                                        "https://example.com/blog/"};
static const char *const languages[] = {"fi-FI", "en-US", "sv-FI", "en-GB",
                                        "de-DE"};

static void set_s(struct seula_event *ev, enum seula_field f, const char *v)
{
	check(seula_event_set_str(ev, f, v, strlen(v)), "setting a field");
}

static void set_i(struct seula_event *ev, enum seula_field f, int64_t v)
{
	check(seula_event_set_int(ev, f, v), "setting a field");
}

static struct seula_event *make_event(struct seula_arena *arena,
                                      unsigned long k, int64_t now_ms)
{
	struct seula_event *ev = seula_event_new(arena);
	if (!ev)
		die("seula_event_new", "arena full");
	char path[96], url[160], title[64], ip[32];
	unsigned long page = (k * 2654435761UL) % 300;
	const char *sec = sections[page % 5];
	if (page % 5 < 3)
		snprintf(path, sizeof(path), "/%s-%lu", sec, page);
	else
		snprintf(path, sizeof(path), "/%s", sec);
	snprintf(url, sizeof(url), "https://example.com%s", path);
	snprintf(title, sizeof(title), "Page %lu", page);
	snprintf(ip, sizeof(ip), "%lu.%lu.0.0", 11 + k % 200, (k / 7) % 256);

	unsigned kind = (unsigned)(k % 10);
	set_s(ev, SEULA_FIELD_SITE, "demo");
	set_i(ev, SEULA_FIELD_TIME_MS, now_ms);
	set_s(ev, SEULA_FIELD_URL, url);
	set_s(ev, SEULA_FIELD_HOSTNAME, "example.com");
	set_s(ev, SEULA_FIELD_PATH, path);
	set_s(ev, SEULA_FIELD_IP_ANON, ip);
	set_i(ev, SEULA_FIELD_VISITOR_HASH,
	      (int64_t)(k * 0x9E3779B97F4A7C15ULL >> 2));
	if (kind < 8) {
		set_i(ev, SEULA_FIELD_TYPE, SEULA_EVENT_PAGEVIEW);
		const char *ref = referrers[k % 7];
		if (ref)
			set_s(ev, SEULA_FIELD_REFERRER, ref);
		set_s(ev, SEULA_FIELD_TITLE, title);
		set_s(ev, SEULA_FIELD_LANGUAGE, languages[k % 5]);
		set_i(ev, SEULA_FIELD_SCREEN_WIDTH, k % 3 ? 1920 : 390);
		set_i(ev, SEULA_FIELD_SCREEN_HEIGHT, k % 3 ? 1080 : 844);
		if (k % 9 == 0) {
			set_s(ev, SEULA_FIELD_UTM_SOURCE, "newsletter");
			set_s(ev, SEULA_FIELD_UTM_MEDIUM, "email");
		}
	} else if (kind == 8) {
		set_i(ev, SEULA_FIELD_TYPE, SEULA_EVENT_CUSTOM);
		set_s(ev, SEULA_FIELD_NAME, "signup");
		set_s(ev, SEULA_FIELD_PROPS, "{\"plan\":\"pro\"}");
	} else {
		set_i(ev, SEULA_FIELD_TYPE, SEULA_EVENT_ENGAGEMENT);
		set_i(ev, SEULA_FIELD_ENGAGEMENT_MS,
		      (int64_t)(300 + k % 600000));
	}
	return ev;
}

/* ---- the loop side ---------------------------------------------------- */

static void job_done(struct seula_completion *c);

static void submit(struct bench *b, struct bench_job *j)
{
	seula_arena_init(&j->arena, 0);
	memset(&j->job, 0, sizeof(j->job));
	j->job.kind = SEULA_JOB_EVENTS;
	j->job.cq = b->cq;
	j->job.done.run = job_done;
	j->job.n_events = (size_t)b->per_job;
	j->job.events = seula_arena_alloc(&j->arena,
	                                  (size_t)b->per_job * sizeof(void *));
	if (!j->job.events)
		die("seula_arena_alloc", "out of memory");
	int64_t now_ms = seula_clock_ms();
	for (int i = 0; i < b->per_job; i++)
		j->job.events[i] = make_event(&j->arena, b->seq++, now_ms);
	j->submitted_at = now_s();
	int rc;
	while ((rc = seula_store_submit(b->store, &j->job)) == SEULA_EBUSY) {
		/* Queue full: the server would answer 503; here, let the
		 * completions run and try again. */
		b->busy++;
		event_base_loop(b->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	}
	check(rc, "seula_store_submit");
	b->outstanding++;
}

static void job_done(struct seula_completion *c)
{
	struct bench_job *j =
	        (struct bench_job *)((char *)c -
	                             offsetof(struct bench_job, job.done));
	struct bench *b = j->b;
	double t = now_s();
	b->outstanding--;
	if (!j->job.committed || j->job.result != SEULA_OK)
		b->failed++;
	else
		b->events_committed += j->job.n_events;
	b->jobs_done++;
	if (b->n_lat < b->cap_lat)
		b->lat[b->n_lat++] = t - j->submitted_at;
	b->last_done = t;
	seula_arena_free(&j->arena);
	if (t < b->stop_at && !b->failed)
		submit(b, j);
	else if (b->outstanding == 0)
		event_base_loopbreak(b->base);
}

/* ---- one case ----------------------------------------------------------- */

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static long long count_rows(const char *path)
{
	sqlite3 *db;
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) ==
	            SQLITE_OK &&
	    sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1, &st,
	                       NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	sqlite3_close(db);
	return n;
}

static void remove_db(const char *db)
{
	char p[1100];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		unlink(p);
	}
}

static int run_case(const char *dir, const char *sync, int per_job,
                    int in_flight, double seconds)
{
	char ini[1024], db[1024], err[512];
	snprintf(ini, sizeof(ini), "%s/store-%s-%d.ini", dir, sync, per_job);
	snprintf(db, sizeof(db), "%s/store-%s-%d.db", dir, sync, per_job);
	remove_db(db);
	FILE *f = fopen(ini, "w");
	if (!f)
		die("cannot write the config", ini);
	/* [limits] as in contrib/seula.ini.example. */
	fprintf(f,
	        "[server]\n"
	        "db = %s\n"
	        "synchronous = %s\n"
	        "log_level = warn\n"
	        "[limits]\n"
	        "max_body_bytes = 65536\n"
	        "max_events_per_request = 50\n"
	        "queue_capacity = 20000\n"
	        "batch_max_events = 2000\n"
	        "batch_interval_ms = 0\n"
	        "[site.demo]\n"
	        "domains = localhost, 127.0.0.1, example.com\n",
	        db, sync);
	fclose(f);

	struct seula_config cfg;
	if (seula_config_load(&cfg, ini, NULL, err, sizeof(err)) != SEULA_OK)
		die("seula_config_load", err);
	if (seula_config_check_unused(&cfg, err, sizeof(err)) != SEULA_OK)
		die("config", err);
	struct seula_plugins plugins = {0};
	struct seula_logger log = {SEULA_LOG_WARN, NULL};

	struct bench b;
	memset(&b, 0, sizeof(b));
	b.per_job = per_job;
	b.in_flight = in_flight;
	if (seula_store_open(&b.store, &cfg, &plugins, &log, err,
	                     sizeof(err)) != SEULA_OK)
		die("seula_store_open", err);
	if (seula_store_run_start_tasks(b.store, err, sizeof(err)) != SEULA_OK)
		die("start tasks", err);
	b.base = event_base_new();
	if (!b.base || !(b.cq = seula_completions_new(b.base)))
		die("libevent", "cannot make a loop");
	check(seula_store_start(b.store), "seula_store_start");
	b.jobs = calloc((size_t)in_flight, sizeof(*b.jobs));
	b.cap_lat = 4u << 20;
	b.lat = malloc(b.cap_lat * sizeof(*b.lat));
	if (!b.jobs || !b.lat)
		die("malloc", "out of memory");

	b.t0 = now_s();
	b.stop_at = b.t0 + seconds;
	for (int i = 0; i < in_flight; i++) {
		b.jobs[i].b = &b;
		submit(&b, &b.jobs[i]);
	}
	/* Only the completions' event is ever active: do not let the loop
	 * leave for want of events between two of them. */
	event_base_loop(b.base, EVLOOP_NO_EXIT_ON_EMPTY);
	double elapsed = b.last_done - b.t0;

	struct seula_store_stats st;
	seula_store_stats(b.store, &st);
	seula_store_close(b.store);
	seula_completions_free(b.cq);
	event_base_free(b.base);
	seula_config_free(&cfg);

	long long rows = count_rows(db);
	qsort(b.lat, b.n_lat, sizeof(*b.lat), cmp_double);
	double p50 = b.n_lat ? b.lat[b.n_lat / 2] : 0;
	double p99 = b.n_lat ? b.lat[(size_t)((double)b.n_lat * 0.99)] : 0;
	int bad = b.failed || rows != (long long)b.events_committed ||
	          st.events_committed != b.events_committed;
	printf("%-8s %6d %9d %11.0f %10.0f %10.1f %9.2f %9.2f  %s\n", sync,
	       per_job, in_flight, (double)b.events_committed / elapsed,
	       (double)st.batches / elapsed,
	       st.batches ? (double)st.events_committed / (double)st.batches
	                  : 0.0,
	       p50 * 1e3, p99 * 1e3, bad ? "FAILED" : "ok");
	if (bad)
		fprintf(stderr,
		        "store_bench: %d jobs failed; %llu events completed, "
		        "%llu counted by the store, %lld rows in %s\n",
		        b.failed, (unsigned long long)b.events_committed,
		        (unsigned long long)st.events_committed, rows, db);
	fflush(stdout);
	free(b.jobs);
	free(b.lat);
	remove_db(db);
	unlink(ini);
	return bad;
}

static int split(char *list, char **out, int max)
{
	int n = 0;
	for (char *tok = strtok(list, ","); tok && n < max;
	     tok = strtok(NULL, ","))
		out[n++] = tok;
	return n;
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 6) {
		fprintf(stderr,
		        "usage: store_bench WORKDIR [SECONDS [IN_FLIGHT "
		        "[SYNC,.. [EVENTS_PER_JOB,..]]]]\n");
		return 2;
	}
	const char *dir = argv[1];
	double seconds = argc > 2 ? atof(argv[2]) : 3.0;
	int in_flight = argc > 3 ? atoi(argv[3]) : 64;
	char syncs_buf[64] = "full,normal", sizes_buf[64] = "1,10,50";
	if (argc > 4)
		snprintf(syncs_buf, sizeof(syncs_buf), "%s", argv[4]);
	if (argc > 5)
		snprintf(sizes_buf, sizeof(sizes_buf), "%s", argv[5]);
	char *syncs[4], *sizes[8];
	int n_syncs = split(syncs_buf, syncs, 4);
	int n_sizes = split(sizes_buf, sizes, 8);
	if (seconds <= 0 || in_flight < 1 || !n_syncs || !n_sizes)
		die("bad arguments", NULL);

	/* Before any event_base exists: completions are posted from the
	 * writer thread. */
	if (evthread_use_pthreads() != 0)
		die("evthread_use_pthreads", "failed");
	/* SQLite set up as the server's main() does. */
	if (seula_db_init_library() != SEULA_OK)
		die("seula_db_init_library", "failed");

	printf("%-8s %6s %9s %11s %10s %10s %9s %9s  %s\n", "sync", "ev/job",
	       "in-flight", "events/s", "commits/s", "ev/commit", "p50 ms",
	       "p99 ms", "rows");
	int bad = 0;
	for (int s = 0; s < n_syncs; s++)
		for (int k = 0; k < n_sizes; k++) {
			int per_job = atoi(sizes[k]);
			if (per_job < 1 || per_job > 50)
				die("events per job must be 1..50", sizes[k]);
			bad |= run_case(dir, syncs[s], per_job, in_flight,
			                seconds);
		}
	return bad ? 1 : 0;
}
