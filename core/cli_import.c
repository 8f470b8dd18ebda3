/*
 * cli_import.c - `seula import-log`: the page views of an access log through
 * the collect path's pipeline and store.
 *
 * One thread reads and parses the log, builds an event per page view and
 * runs the config's plugins on it (enrich, protect, the core's wipe of the
 * full address, filter), as a loop thread does for a collect request; the
 * store's writer thread commits the events in batches, with the consent gate
 * and every plugin's on_batch, as for the server.  So an imported page view
 * is stored exactly as a collected one would have been, and the full address
 * never goes further than the protect stage.
 *
 * Time: every event carries its log line's own time.  The anonymize
 * plugin's visitor hash is keyed by a salt per day, kept for today and
 * tomorrow only; so that a log's past days get a visitor hash too, the
 * protect plugins' start tasks (anonymize's salt rotation) run on the writer
 * with the log's clock whenever the log reaches a new day, and with the wall
 * clock again at the end.  A past day's salt lives only while the import is
 * on that day, as today's does in the server; the rotation deletes it with
 * secure_delete, and closing the store truncates the WAL.
 *
 * Re-imports: each import is recorded in log_imports with the hash of its
 * first line that is not blank and of all the bytes it read (to the last
 * newline: a last line without one is still being written and is left for
 * the next import), written with every batch of its page views (as far as
 * that batch's last line) and at its end.  An input whose first line is
 * known is read without importing up to the recorded size,
 * while its hash is checked: the same file again imports nothing, the same file
 * grown since (a log appended to) imports only what is new, and an input that
 * starts alike but differs is refused before anything of it is stored
 * (--force imports it all).
 *
 * Several files are imported in one run in the order given (rotated logs,
 * oldest first): the salts of a day stay for the whole run, so a visit
 * that crosses from one file into the next is one visit.  SIGINT and
 * SIGTERM stop the run at a line's end: what was read is committed and
 * recorded, so the same command again imports the rest (after a kill -9,
 * the rest after the last batch committed).
 */
#include "cli_import.h"

#include "collect.h"
#include "config.h"
#include "consent.h"
#include "db.h"
#include "event.h"
#include "host.h"
#include "importlog.h"
#include "loader.h"
#include "log.h"
#include "pipeline.h"
#include "store.h"

#include <errno.h>
#include <event2/event.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define DAY_MS 86400000LL
#define READ_CHUNK (1 << 20) /* more than SEULA_LOG_LINE_MAX */
#define JOB_EVENTS 512       /* events per store job */
#define N_SLOTS 16           /* jobs in flight */
#define BAD_SHOWN 5          /* bad lines listed by number */
#define HASH_BYTES 32
#define FIRST_LINE_BYTES 4096 /* a file's identity: its first line, cut */
#define FUTURE_SLACK_MS DAY_MS

enum skip {
	SK_METHOD,
	SK_STATUS,
	SK_ASSET,
	SK_TARGET,
	SK_HOST,
	SK_URL,
	SK_OLD,
	SK_FUTURE,
	SK_FILTERED,
	SK_PLUGIN_ERROR,
	SK_DONE,
	SK_TRACKED,
	SK_COUNT
};

static const char *const skip_names[SK_COUNT] = {
        "method",       "status",           "asset",
        "target",       "other host",       "url",
        "too old",      "future",           "filtered",
        "plugin error", "already imported", "tracked"};

struct importer;

/* How far a file is imported: the import's row in log_imports says it,
 * and is written with the events it covers. */
struct mark {
	int64_t bytes;               /* read up to here, a line's end */
	crypto_generichash_state hs; /* of those bytes */
	uint64_t lines, pageviews;
	int64_t first_ts, last_ts;
};

struct slot {
	struct seula_job job; /* first: the completion finds the slot */
	struct importer *im;
	struct seula_arena arena;
	struct seula_event *events[JOB_EVENTS];
	size_t n;
	bool busy;
	struct mark mark; /* after the line of its last event */
	int64_t prev;     /* the file's mark before it, in bytes; -1: none */
};

struct call {
	struct seula_job job; /* first */
	struct importer *im;
	int (*fn)(struct importer *im, sqlite3 *db, int64_t now_ms, char *err,
	          size_t errlen);
	int64_t now_ms;
	bool done;
};

struct candidate {
	int64_t bytes;
	unsigned char hash[HASH_BYTES];
	int64_t imported_at;
};

struct importer {
	/* what serve has too */
	struct seula_config cfg;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_plugins plugins;
	char *plugin_dir;
	struct seula_pipeline pipeline;
	struct seula_consent *consent;
	struct seula_store *store;
	struct event_base *base;
	struct seula_completions *cq;

	/* the run */
	const struct seula_site *site;
	char host[256];
	enum seula_log_format fmt;
	const char *path; /* "-": standard input */
	const char *name; /* for messages */
	bool quiet, force, progress, overlap;
	/* collect_since: from when the tracker counts the site (INT64_MAX:
	 * not yet); later lines are its already, unless --overlap. */
	int64_t tracked_from;
	size_t job_events;
	struct slot slots[N_SLOTS];
	struct slot *cur;
	bool failed; /* a batch did not commit */
	bool stop;   /* read no further in this file */
	bool fatal;  /* an error: no further file either */
	sigset_t
	        stops; /* SIGINT and SIGTERM: blocked, taken by interrupted() */
	int signal;    /* the one taken, 0: none */
	bool cut;      /* it stopped a file part-way */
	int64_t now_ms, oldest_ms;
	bool clock_tasks;    /* a protect plugin has start tasks */
	bool progress_shown; /* the progress line is on the terminal */
	bool have_window;
	int64_t window_day; /* salts for window_day - 1 and window_day */

	/* counts */
	uint64_t lines, pageviews, bots, bad, skipped[SK_COUNT];
	uint64_t bad_line[BAD_SHOWN];
	enum seula_log_error bad_why[BAD_SHOWN];
	int64_t first_ts, last_ts;
	struct timespec t0, t_progress;

	/* identity of the input and the re-import check */
	crypto_generichash_state hs;
	int64_t offset;
	bool have_first;
	unsigned char first_line[HASH_BYTES];
	struct candidate *cand;
	size_t n_cand, next_cand;
	const struct candidate *matched;
	bool verifying;
	bool differs;
	int64_t record_id; /* this file's row in log_imports; writer only */
	int64_t marked;    /* bytes of the last mark sent to the writer */
	uint64_t blank;    /* blank lines: neither page views nor bad */
	/* Where a line too long to keep began: a signal inside it records
	 * the import up to there (mid_line), not into it. */
	int64_t long_offset;
	crypto_generichash_state long_hs;
	bool mid_line;
	/* The input ended inside a line (one being written): left unread,
	 * for the next import to find whole. */
	bool partial;
	/* The input may grow (a regular file): a pipe's last line is whole
	 * at its end, newline or not. */
	bool growable;

	char url[sizeof("https://") + 256 + SEULA_LOG_LINE_MAX];
	char err[1024];
};

static double seconds_since(const struct timespec *t0)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)(t.tv_sec - t0->tv_sec) +
	       (double)(t.tv_nsec - t0->tv_nsec) / 1e9;
}

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: seula import-log --config FILE [--db PATH] --site "
	        "SITE\n"
	        "         [--format combined|common|vhost_combined] [--quiet] "
	        "[--force] [--overlap] FILE...|-\n"
	        "\n"
	        "Imports an access log's page views (- reads standard input,\n"
	        "e.g. zcat access.log.2.gz | seula import-log ... -) through\n"
	        "the config's plugins, as the collect path stores them.\n"
	        "\n"
	        "A page view: a GET answered 2xx (not 204 or 206) or 304, "
	        "whose\n"
	        "target is a path that is not a static file (styles, scripts,\n"
	        "images, fonts, media, downloads, feeds, .txt/.xml/.json, "
	        "/.well-known/).\n"
	        "Each gets its line's time, the URL https://HOST/path with "
	        "the\n"
	        "query cut as the collect path cuts it (utm_* kept apart), "
	        "the\n"
	        "referrer and the user agent.  HOST is the site's first "
	        "domain;\n"
	        "in vhost_combined the line's own, and lines of hosts not "
	        "among\n"
	        "the site's domains are skipped.  Bots are stored flagged, as\n"
	        "collected ones are.  Lines older than the site's "
	        "events_retention\n"
	        "or over a day ahead are skipped, and so are those from the\n"
	        "time the tracker began to count the site (they would count\n"
	        "twice; --overlap imports them).  Lines that do not parse "
	        "are\n"
	        "counted and listed, never fatal.  Rotated logs go in one "
	        "run,\n"
	        "oldest first, so that a visit across two files is one.\n"
	        "\n"
	        "A log imported before is recognised by its first line and\n"
	        "hash: the same file imports nothing again, a file grown "
	        "since\n"
	        "only its new lines; --force imports it all anyway.\n");
}

/* ---- loading, as serve does ------------------------------------------- */

static int load(struct importer *im, const char *config, const char *db)
{
	im->log.level = SEULA_LOG_INFO;
	im->log.out = stderr;
	char *override = NULL;
	if (db && asprintf(&override, "server.db=%s", db) < 0)
		return SEULA_ENOMEM;
	const char *overrides[] = {override, NULL};
	int rc = seula_config_load(&im->cfg, config, overrides, im->err,
	                           sizeof(im->err));
	free(override);
	if (rc != SEULA_OK)
		return rc;
	im->log.level = (enum seula_log_level)im->cfg.log_level;
	im->env.log = &im->log;
	im->env.config = &im->cfg;
	im->plugin_dir = im->cfg.plugin_dir ? strdup(im->cfg.plugin_dir)
	                                    : seula_default_plugin_dir();
	if (!im->plugin_dir)
		return SEULA_ENOMEM;
	rc = seula_plugins_load(&im->plugins, &im->cfg, im->plugin_dir,
	                        &im->env, im->err, sizeof(im->err));
	if (rc == SEULA_OK)
		rc = seula_config_check_unused(&im->cfg, im->err,
		                               sizeof(im->err));
	if (rc == SEULA_OK)
		rc = seula_pipeline_build(&im->pipeline, &im->plugins, im->err,
		                          sizeof(im->err));
	return rc;
}

static int fail(struct importer *im, int rc, const char *fmt, ...)
        SEULA_PRINTF(3, 4);
static int fail(struct importer *im, int rc, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(im->err, sizeof(im->err), fmt, ap);
	va_end(ap);
	return rc;
}

/* The site, its host, and what it takes for a log to be imported into it. */
static int check_site(struct importer *im, const char *id)
{
	im->site = seula_config_site(&im->cfg, id);
	if (!im->site)
		return fail(im, SEULA_ENOTFOUND,
		            "no site '%s' in %s (a [site.%s] section)", id,
		            im->cfg.ini.path ? im->cfg.ini.path : "the config",
		            id);
	if (im->site->mode == SEULA_MODE_CONSENT &&
	    im->site->without_consent == SEULA_WITHOUT_DROP)
		return fail(
		        im, SEULA_ECONFLICT,
		        "site '%s' keeps only visits with analytics consent "
		        "(without_consent = drop); a server log holds no "
		        "consent, so nothing of it could be kept",
		        id);
	/* The full address must meet a protect plugin, as in the server;
	 * the core's wipe alone would store visits no one can count. */
	bool protect = false;
	for (size_t i = 0; i < im->pipeline.n; i++) {
		const struct seula_loaded_plugin *p = im->pipeline.hooks[i];
		if (p->desc.stage != SEULA_STAGE_PROTECT)
			continue;
		protect = true;
		for (size_t t = 0; t < p->desc.n_tasks; t++)
			if (p->desc.tasks[t].flags & SEULA_TASK_AT_START)
				im->clock_tasks = true;
	}
	if (!protect)
		return fail(im, SEULA_EINVAL,
		            "[plugins] load has no protect-stage plugin "
		            "(anonymize): a log's addresses are not imported "
		            "without one");
	const char *const *d = im->site->domains;
	const char *host = NULL;
	for (size_t i = 0; d[i] && !host; i++)
		if (strncmp(d[i], "*.", 2) != 0)
			host = d[i];
	if (!host)
		host = d[0] + 2;
	snprintf(im->host, sizeof(im->host), "%s", host);
	return SEULA_OK;
}

/* ---- the store ------------------------------------------------------ */

static int slot_record(void *arg, sqlite3 *db, char *err, size_t errlen);

static void slot_done(struct seula_completion *c)
{
	struct slot *s = (struct slot *)c;
	/* Read no further: what follows would not be stored (each later
	 * mark expects this one, write_mark()). */
	if (!s->job.committed || s->job.result != SEULA_OK)
		s->im->failed = s->im->stop = true;
	seula_arena_free(&s->arena);
	s->n = 0;
	s->busy = false;
}

static void call_done(struct seula_completion *c)
{
	struct call *k = (struct call *)c;
	k->done = true;
}

static int call_run(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct call *k = arg;
	return k->fn(k->im, db, k->now_ms, err, errlen);
}

/* Run fn on the writer inside its transaction, after every job queued
 * before it, and wait for the commit. */
static int writer_call(struct importer *im,
                       int (*fn)(struct importer *, sqlite3 *, int64_t, char *,
                                 size_t),
                       int64_t now_ms)
{
	struct call k = {0};
	k.im = im;
	k.fn = fn;
	k.now_ms = now_ms;
	k.job.kind = SEULA_JOB_CALL;
	k.job.call = call_run;
	k.job.call_arg = &k;
	k.job.cq = im->cq;
	k.job.done.run = call_done;
	int rc;
	while ((rc = seula_store_submit(im->store, &k.job)) == SEULA_EBUSY)
		event_base_loop(im->base, EVLOOP_ONCE);
	if (rc != SEULA_OK)
		return rc;
	while (!k.done)
		event_base_loop(im->base, EVLOOP_ONCE);
	return k.job.committed && k.job.result == SEULA_OK ? SEULA_OK
	                                                   : SEULA_EIO;
}

static void submit_slot(struct importer *im)
{
	struct slot *s = im->cur;
	im->cur = NULL;
	if (!s || s->n == 0)
		return;
	s->job.kind = SEULA_JOB_EVENTS;
	s->job.events = s->events;
	s->job.n_events = s->n;
	s->job.cq = im->cq;
	s->job.done.run = slot_done;
	s->job.call = slot_record;
	s->job.call_arg = s;
	s->job.imported = true;
	s->prev = im->marked;
	im->marked = s->mark.bytes;
	s->busy = true;
	int rc;
	while ((rc = seula_store_submit(im->store, &s->job)) == SEULA_EBUSY)
		event_base_loop(im->base, EVLOOP_ONCE);
	if (rc != SEULA_OK) {
		s->busy = false;
		im->failed = true;
	}
}

/* A slot with room for one more event, waiting for a commit if need be. */
static struct slot *slot_for_event(struct importer *im)
{
	if (im->cur && im->cur->n == im->job_events)
		submit_slot(im);
	while (!im->cur) {
		for (size_t i = 0; i < N_SLOTS && !im->cur; i++)
			if (!im->slots[i].busy)
				im->cur = &im->slots[i];
		if (!im->cur)
			event_base_loop(im->base, EVLOOP_ONCE);
	}
	return im->cur;
}

static void wait_all(struct importer *im)
{
	submit_slot(im);
	for (;;) {
		bool busy = false;
		for (size_t i = 0; i < N_SLOTS; i++)
			busy |= im->slots[i].busy;
		if (!busy)
			return;
		event_base_loop(im->base, EVLOOP_ONCE);
	}
}

/* The protect plugins' start tasks with `now_ms` as the clock. */
static int clock_tasks(struct importer *im, sqlite3 *db, int64_t now_ms,
                       char *err, size_t errlen)
{
	for (size_t i = 0; i < im->pipeline.n; i++) {
		const struct seula_loaded_plugin *p = im->pipeline.hooks[i];
		if (p->desc.stage != SEULA_STAGE_PROTECT)
			continue;
		for (size_t t = 0; t < p->desc.n_tasks; t++) {
			const struct seula_task *task = &p->desc.tasks[t];
			if (!(task->flags & SEULA_TASK_AT_START))
				continue;
			char *msg = NULL;
			int rc = task->run(p->instance, db, now_ms, &msg);
			if (rc != SEULA_OK)
				snprintf(err, errlen, "%s: task %s: %s",
				         p->desc.name, task->name,
				         msg ? msg : "failed");
			free(msg);
			if (rc != SEULA_OK)
				return rc;
		}
	}
	return SEULA_OK;
}

/* Salts (or whatever a protect plugin keys by day) for `day` and the day
 * before, so lines a little out of order at midnight still find theirs.
 * The clock given is a midnight: by that the anonymize plugin's rotate()
 * tells a log's clock from the wall clock, also for a line of tomorrow. */
static int move_clock(struct importer *im, int64_t day)
{
	if (!im->clock_tasks ||
	    (im->have_window &&
	     (day == im->window_day || day == im->window_day - 1)))
		return SEULA_OK;
	/* What the tasks log goes above the progress line, not into it;
	 * wiped once, until its next drawing (a shuffled log changes day at
	 * every other line). */
	if (im->progress_shown) {
		fputs("\r\033[K", stderr);
		im->progress_shown = false;
	}
	int rc = writer_call(im, clock_tasks, (day - 1) * DAY_MS);
	if (rc != SEULA_OK)
		return fail(im, rc,
		            "the protect plugins' tasks failed for %" PRId64
		            " (see the log above)",
		            day);
	im->have_window = true;
	im->window_day = day;
	return SEULA_OK;
}

/* This file's row in log_imports as far as `m`: inserted by the first
 * batch of its page views, brought up to date by each next one, so that a
 * run ended by anything, kill -9 too, is recorded as far as it stored.
 * Each mark takes the row only where the one before it (prev bytes; -1:
 * none) left it: after a batch that did not commit, none does, and the
 * record stays at the last batch stored. */
static int write_mark(struct importer *im, sqlite3 *db, const struct mark *m,
                      int64_t prev, int64_t now_ms, char *err, size_t errlen)
{
	unsigned char hash[HASH_BYTES];
	crypto_generichash_state st = m->hs;
	crypto_generichash_final(&st, hash, sizeof(hash));
	sqlite3_stmt *ins = NULL;
	int rc = sqlite3_prepare_v2(
	        db,
	        prev >= 0
	                ? "UPDATE log_imports SET bytes = ?3, hash = ?4, lines "
	                  "= ?6, pageviews = ?7, first_ts = ?8, last_ts = ?9, "
	                  "imported_at = ?10 WHERE id = ?11 AND bytes = ?12"
	                : "INSERT INTO log_imports (site, first_line, bytes, "
	                  "hash, name, lines, pageviews, first_ts, last_ts, "
	                  "imported_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	                  "?8, ?9, ?10)",
	        -1, &ins, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(ins, 1, im->site->id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(ins, 2, im->first_line, HASH_BYTES,
		                  SQLITE_STATIC);
		sqlite3_bind_int64(ins, 3, m->bytes);
		sqlite3_bind_blob(ins, 4, hash, HASH_BYTES, SQLITE_STATIC);
		sqlite3_bind_text(ins, 5, im->name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(ins, 6, (int64_t)m->lines);
		sqlite3_bind_int64(ins, 7, (int64_t)m->pageviews);
		if (m->first_ts >= 0) {
			sqlite3_bind_int64(ins, 8, m->first_ts);
			sqlite3_bind_int64(ins, 9, m->last_ts);
		}
		sqlite3_bind_int64(ins, 10, now_ms);
		sqlite3_bind_int64(ins, 11, im->record_id);
		sqlite3_bind_int64(ins, 12, prev);
		rc = sqlite3_step(ins) == SQLITE_DONE ? SQLITE_OK
		                                      : SQLITE_ERROR;
	}
	if (rc != SQLITE_OK)
		snprintf(err, errlen, "recording the import: %s",
		         sqlite3_errmsg(db));
	else if (prev >= 0 && sqlite3_changes(db) != 1) {
		snprintf(err, errlen,
		         "recording the import: an earlier batch of %s did "
		         "not commit",
		         im->name);
		rc = SQLITE_ERROR;
	} else if (prev < 0)
		im->record_id = sqlite3_last_insert_rowid(db);
	sqlite3_finalize(ins);
	return rc == SQLITE_OK ? SEULA_OK : SEULA_EIO;
}

/* Where what was read ends: a line's end. */
static int64_t read_end(const struct importer *im)
{
	return im->mid_line ? im->long_offset : im->offset;
}

/* The whole file's mark, at its end (or where a signal stopped it). */
static int record_import(struct importer *im, sqlite3 *db, int64_t now_ms,
                         char *err, size_t errlen)
{
	struct mark m = {.bytes = im->mid_line ? im->long_offset : im->offset,
	                 .hs = im->mid_line ? im->long_hs : im->hs,
	                 .lines = im->lines,
	                 .pageviews = im->pageviews,
	                 .first_ts = im->first_ts,
	                 .last_ts = im->last_ts};
	return write_mark(im, db, &m, im->marked, now_ms, err, errlen);
}

/* im->tracked_from, from collect_since. */
static int read_tracked_from(struct importer *im, sqlite3 *db, int64_t now_ms,
                             char *err, size_t errlen)
{
	(void)now_ms;
	sqlite3_stmt *st = NULL;
	int rc = sqlite3_prepare_v2(db,
	                            "SELECT since FROM collect_since WHERE "
	                            "site = ?",
	                            -1, &st, NULL);
	im->tracked_from = INT64_MAX;
	if (rc == SQLITE_OK) {
		sqlite3_bind_text(st, 1, im->site->id, -1, SQLITE_STATIC);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW)
			im->tracked_from = sqlite3_column_int64(st, 0);
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		snprintf(err, errlen, "reading collect_since: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	return SEULA_OK;
}

/* A slot's events' job's call, in their transaction (store.h). */
static int slot_record(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct slot *s = arg;
	return write_mark(s->im, db, &s->mark, s->prev, seula_clock_ms(), err,
	                  errlen);
}

/* ---- re-imports --------------------------------------------------------- */

static int load_candidates(struct importer *im)
{
	sqlite3 *db = NULL;
	sqlite3_stmt *st = NULL;
	int rc = seula_db_open(&db, im->cfg.db, true, false, 0, im->err,
	                       sizeof(im->err));
	if (rc != SEULA_OK)
		return rc;
	if (sqlite3_prepare_v2(db,
	                       "SELECT bytes, hash, imported_at FROM "
	                       "log_imports WHERE site = ? AND first_line = ? "
	                       "ORDER BY bytes",
	                       -1, &st, NULL) != SQLITE_OK) {
		rc = fail(im, SEULA_EIO, "reading log_imports: %s",
		          sqlite3_errmsg(db));
		goto out;
	}
	sqlite3_bind_text(st, 1, im->site->id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, im->first_line, HASH_BYTES, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		if (sqlite3_column_bytes(st, 1) != HASH_BYTES)
			continue;
		void *p =
		        realloc(im->cand, (im->n_cand + 1) * sizeof(*im->cand));
		if (!p) {
			rc = SEULA_ENOMEM;
			goto out;
		}
		im->cand = p;
		struct candidate *c = &im->cand[im->n_cand++];
		c->bytes = sqlite3_column_int64(st, 0);
		memcpy(c->hash, sqlite3_column_blob(st, 1), HASH_BYTES);
		c->imported_at = sqlite3_column_int64(st, 2);
	}
	if (step != SQLITE_DONE)
		rc = fail(im, SEULA_EIO, "reading log_imports: %s",
		          sqlite3_errmsg(db));
	im->verifying = rc == SEULA_OK && im->n_cand > 0 && !im->force;
out:
	sqlite3_finalize(st);
	seula_db_close(db);
	return rc;
}

/* At a line's end while verifying: does the input so far match the
 * recorded imports' bytes? */
static void verify_at_offset(struct importer *im)
{
	while (im->next_cand < im->n_cand &&
	       im->cand[im->next_cand].bytes <= im->offset) {
		const struct candidate *c = &im->cand[im->next_cand++];
		unsigned char hash[HASH_BYTES];
		crypto_generichash_state st = im->hs;
		crypto_generichash_final(&st, hash, sizeof(hash));
		if (c->bytes != im->offset ||
		    sodium_memcmp(hash, c->hash, HASH_BYTES) != 0) {
			im->differs = true;
			im->stop = true;
			return;
		}
		im->matched = c;
	}
	if (im->next_cand == im->n_cand)
		im->verifying = false; /* what follows is new */
}

/* An import by an earlier version read a log's half-written last line,
 * so its record ends inside a line: the bytes p[0..n) that follow im->offset
 * are checked up to such a record's end.  Returns whether that import took
 * the line's start for a log line (it is not read again). */
static bool verify_inside(struct importer *im, const char *p, size_t n)
{
	bool was_read = false;
	while (im->next_cand < im->n_cand &&
	       im->cand[im->next_cand].bytes - im->offset <= (int64_t)n) {
		const struct candidate *c = &im->cand[im->next_cand++];
		size_t k = (size_t)(c->bytes - im->offset);
		unsigned char hash[HASH_BYTES];
		crypto_generichash_state st = im->hs;
		crypto_generichash_update(&st, (const unsigned char *)p, k);
		crypto_generichash_final(&st, hash, sizeof(hash));
		if (sodium_memcmp(hash, c->hash, HASH_BYTES) != 0) {
			im->differs = im->stop = true;
			return false;
		}
		im->matched = c;
		/* As that import parsed it (in place: a copy). */
		char *copy = malloc(k + 1);
		struct seula_log_line l;
		if (copy) {
			memcpy(copy, p, k);
			was_read = seula_log_parse(copy, k, im->fmt, &l) ==
			           SEULA_LOG_OK;
			free(copy);
		}
	}
	if (im->next_cand == im->n_cand)
		im->verifying = false;
	return was_read;
}

/* ---- one line ---------------------------------------------------------- */

static void bad_line(struct importer *im, enum seula_log_error e)
{
	if (im->bad < BAD_SHOWN) {
		im->bad_line[im->bad] = im->lines;
		im->bad_why[im->bad] = e;
	}
	im->bad++;
}

static void progress(struct importer *im, bool last)
{
	if (!im->progress)
		return;
	double t = seconds_since(&im->t0);
	if (last) {
		fputs("\r\033[K", stderr);
		im->progress_shown = false;
		return;
	}
	im->progress_shown = true;
	fprintf(stderr,
	        "\r\033[K%s: %" PRIu64 " lines, %" PRIu64
	        " page views, %.0f lines/s",
	        im->name, im->lines, im->pageviews,
	        t > 0 ? (double)im->lines / t : 0.0);
	fflush(stderr);
}

/* Build, run through the plugins and queue one page view.  Returns a skip
 * reason, or SK_COUNT when it was queued. */
static enum skip pageview(struct importer *im, const struct seula_log_line *l,
                          const char *host)
{
	int n = snprintf(im->url, sizeof(im->url), "https://%s%s", host,
	                 l->target);
	if (n < 0 || (size_t)n >= sizeof(im->url))
		return SK_URL;
	struct slot *s = slot_for_event(im);
	struct seula_event *ev = seula_event_new(&s->arena);
	if (!ev) {
		im->stop = im->fatal = true;
		fail(im, SEULA_ENOMEM, "out of memory");
		return SK_URL;
	}
	seula_event_set_str(ev, SEULA_FIELD_SITE, im->site->id,
	                    strlen(im->site->id));
	seula_event_set_int(ev, SEULA_FIELD_TYPE, SEULA_EVENT_PAGEVIEW);
	seula_event_set_int(ev, SEULA_FIELD_TIME_MS, l->time_ms);
	seula_event_set_ip(ev, &l->ip);
	struct seula_collect_error cerr;
	if (seula_collect_take_url(ev, im->site, im->url, (size_t)n, &cerr) !=
	    SEULA_OK) {
		seula_event_wipe_ip(ev);
		return SK_URL;
	}
	/* A referrer that is no web address is left out, as a browser's
	 * "about:blank" would be; the page view stays. */
	if (l->referrer)
		seula_collect_take_referrer(ev, l->referrer,
		                            strlen(l->referrer), &cerr);
	if (l->user_agent &&
	    seula_event_add_header(ev, "User-Agent", l->user_agent) ==
	            SEULA_OK) {
		const char *ua = seula_event_header(ev, "User-Agent");
		seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, ua, strlen(ua));
	}
	size_t kept = 1;
	const char *failed = NULL;
	if (seula_pipeline_run(&im->pipeline, &ev, &kept, &failed) !=
	    SEULA_OK) {
		if (im->skipped[SK_PLUGIN_ERROR] == 0)
			seula_log(&im->log, SEULA_LOG_WARN, "import-log",
			          "line %" PRIu64 ": the %s plugin failed; "
			          "such lines are skipped",
			          im->lines, failed ? failed : "?");
		return SK_PLUGIN_ERROR;
	}
	if (kept == 0)
		return SK_FILTERED;
	/* A common-format line has no user agent: nothing tells a bot from
	 * a person, and the user agent plugin takes a missing one for a
	 * script's.  So none is a bot, and no browser is guessed. */
	if (im->fmt == SEULA_LOG_COMMON) {
		static const enum seula_field guessed[] = {
		        SEULA_FIELD_BROWSER, SEULA_FIELD_BROWSER_VERSION,
		        SEULA_FIELD_OS, SEULA_FIELD_OS_VERSION,
		        SEULA_FIELD_DEVICE};
		for (size_t i = 0; i < sizeof(guessed) / sizeof(*guessed); i++)
			seula_event_clear(ev, guessed[i]);
		seula_event_set_int(ev, SEULA_FIELD_BOT, 0);
	}
	int64_t bot = 0;
	if (seula_event_int(ev, SEULA_FIELD_BOT, &bot) == SEULA_OK && bot)
		im->bots++;
	s->events[s->n++] = ev;
	im->pageviews++;
	/* The line is read whole: the slot's record is to its end. */
	s->mark = (struct mark){.bytes = im->offset,
	                        .hs = im->hs,
	                        .lines = im->lines,
	                        .pageviews = im->pageviews,
	                        .first_ts = im->first_ts,
	                        .last_ts = im->last_ts};
	return SK_COUNT;
}

static void take_line(struct importer *im, char *line, size_t len)
{
	struct seula_log_line l;
	enum seula_log_error e = seula_log_parse(line, len, im->fmt, &l);
	if (e == SEULA_LOG_E_EMPTY) {
		im->blank++; /* nothing, and not a bad line */
		return;
	}
	if (e != SEULA_LOG_OK) {
		bad_line(im, e);
		return;
	}
	if (im->first_ts < 0 || l.time_ms < im->first_ts)
		im->first_ts = l.time_ms;
	if (l.time_ms > im->last_ts)
		im->last_ts = l.time_ms;
	static const enum skip kinds[SEULA_LOG_KIND_COUNT_] = {
	        [SEULA_LOG_SKIP_METHOD] = SK_METHOD,
	        [SEULA_LOG_SKIP_STATUS] = SK_STATUS,
	        [SEULA_LOG_SKIP_ASSET] = SK_ASSET,
	        [SEULA_LOG_SKIP_TARGET] = SK_TARGET,
	};
	enum seula_log_kind kind = seula_log_classify(&l);
	if (kind != SEULA_LOG_PAGEVIEW) {
		im->skipped[kinds[kind]]++;
		return;
	}
	const char *host = im->host;
	if (l.vhost) {
		/* Host names are case-blind; the site's domains are lower
		 * case. */
		for (char *p = (char *)l.vhost; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		if (!seula_site_allows_host(im->site, l.vhost,
		                            strlen(l.vhost))) {
			im->skipped[SK_HOST]++;
			return;
		}
		host = l.vhost;
	}
	if (l.time_ms < im->oldest_ms) {
		im->skipped[SK_OLD]++;
		return;
	}
	if (l.time_ms > im->now_ms + FUTURE_SLACK_MS) {
		im->skipped[SK_FUTURE]++;
		return;
	}
	if (l.time_ms >= im->tracked_from && !im->overlap) {
		im->skipped[SK_TRACKED]++;
		return;
	}
	if (move_clock(im, l.time_ms / DAY_MS) != SEULA_OK) {
		im->stop = im->fatal = true;
		return;
	}
	enum skip why = pageview(im, &l, host);
	if (why != SK_COUNT)
		im->skipped[why]++;
}

/* Every line, whole or (too long) not: bytes[0..len) were hashed already.
 * `done`: an earlier import read it (verify_inside()). */
static void line_done(struct importer *im, char *line, size_t len,
                      bool too_long, bool done)
{
	im->lines++;
	if (im->verifying || done) {
		im->skipped[SK_DONE]++;
		if (im->verifying)
			verify_at_offset(im);
	} else if (too_long) {
		bad_line(im, SEULA_LOG_E_TOO_LONG);
	} else {
		take_line(im, line, len);
	}
	if ((im->lines & 0x3fff) == 0 && im->progress &&
	    seconds_since(&im->t_progress) >= 0.25) {
		clock_gettime(CLOCK_MONOTONIC, &im->t_progress);
		progress(im, false);
	}
}

/* Nothing but white space: no line to know a file by. */
static bool blank(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i] != ' ' && p[i] != '\t' && p[i] != '\r' &&
		    p[i] != '\v' && p[i] != '\f')
			return false;
	return true;
}

/* The first line that is not blank names the file (blank lines begin many
 * files alike): look up earlier imports of it. */
static void first_line(struct importer *im, const char *p, size_t len)
{
	im->have_first = true;
	crypto_generichash(im->first_line, HASH_BYTES, (const unsigned char *)p,
	                   len < FIRST_LINE_BYTES ? len : FIRST_LINE_BYTES,
	                   NULL, 0);
	if (load_candidates(im) != SEULA_OK)
		im->stop = im->fatal = true;
}

static void consume(struct importer *im, const char *p, size_t n)
{
	crypto_generichash_update(&im->hs, (const unsigned char *)p, n);
	im->offset += (int64_t)n;
}

/* Whether SIGINT or SIGTERM came (blocked since the start, so it waits
 * here rather than ending the process): taken, and kept in im->signal. */
static bool interrupted(struct importer *im)
{
	sigset_t pending;
	if (im->signal == 0 && sigpending(&pending) == 0 &&
	    (sigismember(&pending, SIGINT) || sigismember(&pending, SIGTERM))) {
		struct timespec now = {0, 0};
		int sig = sigtimedwait(&im->stops, NULL, &now);
		if (sig > 0)
			im->signal = sig;
	}
	return im->signal != 0;
}

static int read_input(struct importer *im, int fd)
{
	char *buf = malloc(READ_CHUNK + 1);
	if (!buf)
		return fail(im, SEULA_ENOMEM, "out of memory");
	/* A pipe's read can wait for long: polled, so a signal is seen. */
	struct stat sb;
	bool regular = fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode);
	size_t start = 0, end = 0;
	bool eof = false, discarding = false;
	int rc = SEULA_OK;
	while (!im->stop) {
		char *line = buf + start;
		char *nl = memchr(line, '\n', end - start);
		if (nl) {
			size_t len = (size_t)(nl - line);
			if (!im->have_first && !blank(line, len)) {
				first_line(im, line, len);
				if (im->stop)
					break;
			}
			bool done = im->verifying && !discarding &&
			            verify_inside(im, line, len);
			if (im->stop)
				break;
			consume(im, line, len + 1);
			line_done(im, line, len, discarding, done);
			discarding = false;
			start += len + 1;
			continue;
		}
		if (eof && !im->growable && (end > start || discarding)) {
			/* A pipe's last line without its newline (or the
			 * rest of a too long one, already hashed). */
			if (!im->have_first && !blank(line, end - start)) {
				first_line(im, line, end - start);
				if (im->stop)
					break;
			}
			bool done = im->verifying && !discarding &&
			            verify_inside(im, line, end - start);
			if (im->stop)
				break;
			consume(im, line, end - start);
			line_done(im, line, end - start, discarding, done);
			break;
		}
		if (eof) {
			/* A file's last line without its newline is one the
			 * server is still writing: neither read nor recorded
			 * (a too long one is recorded to where it began), so
			 * that the log grown since imports it whole. */
			if (end > start || discarding) {
				im->partial = true;
				im->mid_line = discarding;
				if (im->verifying && !discarding)
					verify_inside(im, line, end - start);
			}
			break;
		}
		if (end - start > SEULA_LOG_LINE_MAX) {
			/* Too long: hash it as it passes, keep none of it. */
			if (!im->have_first && !blank(line, end - start)) {
				first_line(im, line, end - start);
				if (im->stop)
					break;
			}
			if (!discarding) {
				im->long_offset = im->offset;
				im->long_hs = im->hs;
			}
			consume(im, line, end - start);
			discarding = true;
			start = end = 0;
		} else if (start > 0) {
			memmove(buf, buf + start, end - start);
			end -= start;
			start = 0;
		}
		if (interrupted(im)) {
			im->cut = true;
			im->mid_line = discarding;
			break;
		}
		if (!regular) {
			struct pollfd pf = {.fd = fd, .events = POLLIN};
			if (poll(&pf, 1, 200) == 0) {
				/* While the pipe is quiet: batches that came
				 * back (one that failed stops the import). */
				event_base_loop(im->base, EVLOOP_NONBLOCK);
				continue;
			}
		}
		ssize_t got = read(fd, buf + end, READ_CHUNK - end);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			rc = fail(im, SEULA_EIO, "%s: %s", im->name,
			          strerror(errno));
			break;
		}
		if (got == 0)
			eof = true;
		/* Bytes 1f 8b open a gzip file: text to no parser. */
		if (im->offset == 0 && end == 0 && got >= 2 &&
		    (unsigned char)buf[0] == 0x1f &&
		    (unsigned char)buf[1] == 0x8b) {
			rc = fail(im, SEULA_EINVAL,
			          "%s is compressed (gzip): import it with "
			          "zcat %s | seula import-log ... -",
			          im->name,
			          strcmp(im->path, "-") == 0 ? "FILE"
			                                     : im->path);
			break;
		}
		end += (size_t)got;
	}
	/* It held the full addresses. */
	sodium_memzero(buf, READ_CHUNK + 1);
	free(buf);
	return rc;
}

/* ---- the command ------------------------------------------------------ */

static void format_day(int64_t ms, char *buf, size_t len);

static void summary(struct importer *im, double secs)
{
	if (im->skipped[SK_TRACKED]) {
		char when[40];
		format_day(im->tracked_from, when, sizeof(when));
		fprintf(stderr,
		        "seula import-log: %s: %" PRIu64
		        " page views from %s on skipped: the tracker has "
		        "counted site %s since then (--overlap imports them "
		        "too, counted twice; the file is now recorded as "
		        "imported, so only --overlap --force reads it again, "
		        "and then its other page views count twice too)\n",
		        im->name, im->skipped[SK_TRACKED], when, im->site->id);
	}
	for (uint64_t i = 0; i < im->bad && i < BAD_SHOWN; i++)
		fprintf(stderr,
		        "seula import-log: %s:%" PRIu64 ": bad line (%s)\n",
		        im->name, im->bad_line[i],
		        seula_log_error_name(im->bad_why[i]));
	if (im->bad > BAD_SHOWN)
		fprintf(stderr,
		        "seula import-log: %s: %" PRIu64 " more bad lines\n",
		        im->name, im->bad - BAD_SHOWN);
	uint64_t skipped = 0;
	for (int i = 0; i < SK_COUNT; i++)
		skipped += im->skipped[i];
	printf("%s: %" PRIu64 " lines read, %" PRIu64
	       " page views imported (%" PRIu64 " bots), %" PRIu64 " skipped",
	       im->name, im->lines, im->pageviews, im->bots, skipped);
	/* By reason, when any was: "3 skipped (asset 2, status 1)",
	 * else just "0 skipped". */
	bool first = true;
	for (int i = 0; i < SK_COUNT; i++) {
		if (!im->skipped[i])
			continue;
		printf("%s%s %" PRIu64, first ? " (" : ", ", skip_names[i],
		       im->skipped[i]);
		first = false;
	}
	printf("%s, %" PRIu64 " bad lines, %.2f s, %.0f lines/s\n",
	       first ? "" : ")", im->bad, secs,
	       secs > 0 ? (double)im->lines / secs : 0.0);
	fflush(stdout);
}

static void format_day(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M UTC", &tm);
}

/* After the whole input: what the re-import check found. */
static int verdict(struct importer *im)
{
	char when[40] = "";
	if (im->differs) {
		format_day(im->cand[im->n_cand - 1].imported_at, when,
		           sizeof(when));
		return fail(
		        im, SEULA_ECONFLICT,
		        "%s begins like a log imported on %s but is not "
		        "that log (nor that log grown since); nothing of it "
		        "was imported.  Use --force to import it anyway",
		        im->name, when);
	}
	if (im->verifying && im->signal == 0 &&
	    !(im->matched && im->matched->bytes == read_end(im))) {
		format_day(im->cand[im->n_cand - 1].imported_at, when,
		           sizeof(when));
		return fail(im, SEULA_ECONFLICT,
		            "%s begins like a log imported on %s, which is "
		            "longer: a part of that log, or a file that "
		            "differs from it further on; nothing of it was "
		            "imported.  Use --force to import it anyway",
		            im->name, when);
	}
	uint64_t fresh = im->lines - im->skipped[SK_DONE] - im->blank;
	if (fresh > 0 && im->bad == fresh)
		return fail(im, SEULA_EINVAL,
		            "no line of %s read as the %s format (line %" PRIu64
		            ": %s); nothing was imported: another --format?",
		            im->name, seula_log_format_name(im->fmt),
		            im->bad_line[0],
		            seula_log_error_name(im->bad_why[0]));
	return SEULA_OK;
}

/* Ready for the next file: its identity and counts start afresh; the
 * salts' window, the slots and the store go on. */
static void file_reset(struct importer *im, const char *path)
{
	im->path = path;
	im->name = strcmp(path, "-") == 0 ? "stdin" : path;
	im->stop = false;
	im->err[0] = '\0';
	im->lines = im->pageviews = im->bots = im->bad = 0;
	memset(im->skipped, 0, sizeof(im->skipped));
	im->first_ts = im->last_ts = -1;
	crypto_generichash_init(&im->hs, NULL, 0, HASH_BYTES);
	im->offset = 0;
	im->have_first = false;
	free(im->cand);
	im->cand = NULL;
	im->n_cand = im->next_cand = 0;
	im->matched = NULL;
	im->verifying = im->differs = false;
	im->record_id = 0;
	im->marked = -1;
	im->blank = 0;
	im->mid_line = im->partial = false;
	clock_gettime(CLOCK_MONOTONIC, &im->t0);
	im->t_progress = im->t0;
}

/* One file (or standard input), read, committed, checked and recorded;
 * its summary on stdout. */
static int import_file(struct importer *im, const char *path)
{
	file_reset(im, path);
	int fd = strcmp(path, "-") == 0 ? STDIN_FILENO
	                                : open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return fail(im, SEULA_EIO, "%s: %s", path, strerror(errno));
	struct stat st;
	im->growable = fstat(fd, &st) == 0 && S_ISREG(st.st_mode);
	int rc = read_input(im, fd);
	if (fd > STDIN_FILENO)
		close(fd);
	wait_all(im);
	progress(im, true);
	double secs = seconds_since(&im->t0);
	if (im->failed) {
		im->fatal = true;
		return fail(im, SEULA_EIO,
		            "a batch of page views did not commit (see the log "
		            "above); what was stored is recorded, so the same "
		            "command, once the cause is mended, imports the "
		            "rest");
	}
	if (rc == SEULA_OK && !im->err[0])
		rc = verdict(im);
	else if (rc == SEULA_OK)
		rc = SEULA_EIO; /* stopped with a reason in err */
	/* Recorded whenever something was read past what was known; when
	 * interrupted, as far as it was read (a line's end), so that the
	 * same command again imports the rest, as for a grown log.  A record
	 * into the half-written last line (verify_inside()) has nothing new
	 * either. */
	bool nothing_new = im->matched &&
	                   (im->matched->bytes == read_end(im) ||
	                    (im->partial && im->matched->bytes > im->offset));
	/* Blank lines alone: nothing to know the file by, nor imported. */
	if (rc == SEULA_OK && im->lines > 0 && im->have_first && !nothing_new &&
	    !im->verifying) {
		if (writer_call(im, record_import, seula_clock_ms()) !=
		    SEULA_OK) {
			im->fatal = true;
			rc = fail(im, SEULA_EIO, "the import was not recorded");
		}
	}
	uint64_t fresh = im->lines - im->skipped[SK_DONE] - im->blank;
	if (rc == SEULA_OK && nothing_new && im->signal == 0) {
		char when[40];
		format_day(im->matched->imported_at, when, sizeof(when));
		fprintf(stderr,
		        "seula import-log: %s was imported on %s; nothing new "
		        "to import%s\n",
		        im->name, when,
		        im->partial ? " yet: its last line is still being "
		                      "written (no newline); an import once "
		                      "it is whole reads it"
		                    : " (--force imports it again)");
	} else if (rc == SEULA_OK && im->partial && im->signal == 0 &&
	           (fresh == 0 || !im->quiet)) {
		fprintf(stderr,
		        "seula import-log: %s: %s last line is still being "
		        "written (no newline): left for an import once it is "
		        "whole\n",
		        im->name,
		        fresh == 0 ? "nothing to import yet; its" : "its");
	}
	/* After a refusal nothing was imported: no summary to mislead. */
	if (rc == SEULA_OK || im->pageviews > 0)
		summary(im, secs);
	return rc;
}

int seula_cli_import_log(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"db", required_argument, NULL, 'd'},
	        {"site", required_argument, NULL, 's'},
	        {"format", required_argument, NULL, 'f'},
	        {"quiet", no_argument, NULL, 'q'},
	        {"force", no_argument, NULL, 'F'},
	        {"overlap", no_argument, NULL, 'O'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *db = NULL, *site = NULL;
	const char *format = "combined";
	bool quiet = false, force = false, overlap = false;
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "c:qh", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': config = optarg; break;
		case 'd': db = optarg; break;
		case 's': site = optarg; break;
		case 'f': format = optarg; break;
		case 'q': quiet = true; break;
		case 'F': force = true; break;
		case 'O': overlap = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	enum seula_log_format fmt;
	const char *wrong =
	        !config && !(config = seula_config_default_path())
	                ? "--config is required (or SEULA_CONFIG, or "
	                  "/etc/seula/seula.ini)"
	        : !site          ? "--site is required"
	        : optind == argc ? "no log file given (- reads standard input)"
	        : !seula_log_format_parse(format, &fmt)
	                ? "--format must be combined, common or vhost_combined"
	                : NULL;
	for (int i = optind; !wrong && i < argc; i++)
		for (int j = optind; j < i; j++)
			if (strcmp(argv[i], argv[j]) == 0)
				wrong = "a file is given twice";
	if (wrong) {
		fprintf(stderr, "seula import-log: %s", wrong);
		if (config && site && optind < argc &&
		    !seula_log_format_parse(format, &fmt))
			fprintf(stderr, ", not '%s'", format);
		fprintf(stderr, "\n\n");
		usage(stderr);
		return 2;
	}

	/* libsodium's hash states are 64-byte aligned types; calloc()
	 * promises 16. */
	size_t im_size = (sizeof(struct importer) + 63) / 64 * 64;
	struct importer *im = aligned_alloc(64, im_size);
	if (im)
		memset(im, 0, im_size);
	if (!im) {
		fprintf(stderr, "seula import-log: out of memory\n");
		return 1;
	}
	/* Blocked before any thread starts, so every thread has them
	 * blocked and interrupted() takes them between lines. */
	sigemptyset(&im->stops);
	/* One the caller ignores (a shell's background job and SIGINT)
	 * stays ignored. */
	static const int stop_signals[] = {SIGINT, SIGTERM};
	for (size_t i = 0; i < 2; i++) {
		struct sigaction sa;
		if (sigaction(stop_signals[i], NULL, &sa) == 0 &&
		    sa.sa_handler != SIG_IGN)
			sigaddset(&im->stops, stop_signals[i]);
	}
	sigset_t old_mask;
	pthread_sigmask(SIG_BLOCK, &im->stops, &old_mask);
	im->fmt = fmt;
	im->quiet = quiet;
	im->force = force;
	im->overlap = overlap;
	im->name = "";
	int status = 1;
	int done = 0; /* files imported or refused */

	if (load(im, config, db) != SEULA_OK ||
	    check_site(im, site) != SEULA_OK)
		goto out;
	if (quiet && im->log.level > SEULA_LOG_WARN)
		im->log.level =
		        SEULA_LOG_WARN; /* a cron job's mail: trouble only */
	/* A mistyped db or --db would take the history into a database no
	 * server reads, and the import would look like any other. */
	if (seula_db_require(im->cfg.db, im->err, sizeof(im->err)) !=
	            SEULA_OK ||
	    seula_consent_new(&im->consent, &im->cfg, &im->plugins, NULL,
	                      im->err, sizeof(im->err)) != SEULA_OK ||
	    seula_consent_check(im->consent, im->err, sizeof(im->err)) !=
	            SEULA_OK ||
	    seula_store_open(&im->store, &im->cfg, &im->plugins, &im->log,
	                     im->err, sizeof(im->err)) != SEULA_OK ||
	    seula_plugins_init(&im->plugins, im->err, sizeof(im->err)) !=
	            SEULA_OK)
		goto out;
	seula_store_set_gate(im->store, seula_consent_gate,
	                     seula_consent_gate_release, im->consent);
	seula_store_hold_tasks(im->store);
	if (seula_store_run_start_tasks(im->store, im->err, sizeof(im->err)) !=
	    SEULA_OK)
		goto out;
	im->base = event_base_new();
	im->cq = im->base ? seula_completions_new(im->base) : NULL;
	if (!im->cq || seula_store_start(im->store) != SEULA_OK) {
		fail(im, SEULA_ENOMEM, "cannot start the writer");
		goto out;
	}

	/* Jobs small enough that N_SLOTS of them fit the queue. */
	size_t per = (size_t)im->cfg.queue_capacity / N_SLOTS;
	im->job_events = per < 1 ? 1 : per < JOB_EVENTS ? per : JOB_EVENTS;
	for (size_t i = 0; i < N_SLOTS; i++) {
		im->slots[i].im = im;
		seula_arena_init(&im->slots[i].arena, 0);
	}
	if (writer_call(im, read_tracked_from, 0) != SEULA_OK) {
		fail(im, SEULA_EIO,
		     "reading collect_since (see the log above)");
		goto out;
	}
	im->now_ms = seula_clock_ms();
	im->oldest_ms = im->now_ms - im->site->events_retention_s * 1000;
	im->progress = !quiet && isatty(STDERR_FILENO);

	/* A file refused (or unreadable) says so and the next one goes on;
	 * a failed commit, or a signal, ends the run. */
	bool refused = false;
	for (int i = optind; i < argc && !im->fatal && !interrupted(im); i++) {
		if (import_file(im, argv[i]) != SEULA_OK) {
			fprintf(stderr, "seula import-log: %s\n", im->err);
			refused = true;
		}
		done++;
	}
	/* A signal that came as the last file ended stopped nothing. */
	bool cut = interrupted(im) && (done < argc - optind || im->cut);
	/* Back to the wall clock: the log's past salts go, interrupted or
	 * not. */
	bool tasks_ok =
	        !(im->clock_tasks && im->have_window) ||
	        writer_call(im, clock_tasks, seula_clock_ms()) == SEULA_OK;
	if (!tasks_ok)
		fail(im, SEULA_EIO,
		     "the protect plugins' tasks failed at the end");
	if (im->signal && !cut) {
		fprintf(stderr,
		        "seula import-log: %s came once all was imported\n",
		        strsignal(im->signal));
		status = 128 + im->signal;
	} else if (im->signal && done == 0) {
		fprintf(stderr,
		        "seula import-log: %s: stopped before any file was "
		        "read\n",
		        strsignal(im->signal));
		status = 128 + im->signal;
	} else if (im->signal) {
		fprintf(stderr,
		        "seula import-log: %s: stopped; %s was imported to "
		        "line %" PRIu64 " and recorded so far%s%s; the same "
		        "command again imports the rest\n",
		        strsignal(im->signal), im->name, im->lines,
		        done < argc - optind ? ", the files after it not "
		                               "begun"
		                             : "",
		        im->fatal ? " (but see the error above)" : "");
		status = 128 + im->signal;
	} else {
		status = refused || im->fatal || !tasks_ok ? 1 : 0;
	}
	if (!tasks_ok)
		fprintf(stderr, "seula import-log: %s\n", im->err);
	im->err[0] = '\0'; /* each said where it happened */
out:
	if (status == 1 && done == 0)
		fprintf(stderr, "seula import-log: %s\n",
		        im->err[0] ? im->err : "cannot start");
	seula_store_close(im->store);
	seula_completions_free(im->cq);
	if (im->base)
		event_base_free(im->base);
	for (size_t i = 0; i < N_SLOTS; i++)
		seula_arena_free(&im->slots[i].arena);
	seula_consent_free(im->consent);
	seula_pipeline_free(&im->pipeline);
	seula_plugins_free(&im->plugins);
	free(im->plugin_dir);
	seula_config_free(&im->cfg);
	free(im->cand);
	/* A signal that came after the last check is let go: taken, not
	 * left to end the process once unblocked. */
	interrupted(im);
	int sig = im->signal;
	if (sig && status < 128)
		status = 128 + sig;
	sodium_memzero(im, sizeof(*im));
	free(im);
	pthread_sigmask(SIG_SETMASK, &old_mask, NULL);
	/* Stopped by a signal: end by it, once all is committed, so that a
	 * shell loop around the command stops too (a plain exit of 130 it
	 * takes for a failure, and goes on). */
	if (sig) {
		fflush(stdout);
		fflush(stderr);
		signal(sig, SIG_DFL);
		raise(sig);
	}
	return status;
}
