/*
 * testkit.c - a plugin for the integration tests: it exercises every hook
 * with behaviour the tests can steer from its config section.
 *
 *   on_event (filter stage): drops events titled "drop me", fails on
 *     "fail me", and records in props whether it still saw a full IP.
 *   on_batch: counts events into testkit_batches; sleeps batch_delay_ms
 *     (to fill the queue); fails the batch when an event is titled
 *     "fail batch".
 *   the reader route sleeps read_delay_ms (to fill the readers' queue).
 *   routes: one per thread (loop, reader, writer), staff-only ones on the
 *     loop and on a reader.
 *   task "testkit-flaky", every second: fails while the file task_fail_file
 *     names exists.
 */
#include <seula/plugin.h>

#include <sqlite3.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct testkit_config {
	int64_t batch_delay_ms;
	int64_t read_delay_ms;
	const char *task_fail_file;
};

static const struct seula_config_row rows[] = {
        {SEULA_CONFIG_INT, "batch_delay_ms", "0", 0, 10000,
         offsetof(struct testkit_config, batch_delay_ms), 0, NULL,
         "sleep this long in every on_batch"},
        {SEULA_CONFIG_INT, "read_delay_ms", "0", 0, 10000,
         offsetof(struct testkit_config, read_delay_ms), 0, NULL,
         "sleep this long in the reader route (to fill the readers' queue)"},
        {SEULA_CONFIG_STRING, "task_fail_file", NULL, 1, 4096,
         offsetof(struct testkit_config, task_fail_file), 0, NULL,
         "the task testkit-flaky fails while this file exists"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct seula_migration migrations[] = {
        {1, "CREATE TABLE testkit_batches (id INTEGER PRIMARY KEY, "
            "events INTEGER NOT NULL) STRICT;"
            "CREATE TABLE testkit_notes (id INTEGER PRIMARY KEY, "
            "note TEXT NOT NULL) STRICT;"},
};

struct testkit {
	const struct seula_host *host;
	const struct testkit_config *cfg;
};

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	(void)errmsg;
	struct testkit *t = calloc(1, sizeof(*t));
	if (!t)
		return SEULA_ENOMEM;
	t->host = host;
	t->cfg = config;
	*instance = t;
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	free(instance);
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct testkit *t = instance;
	const char *title = t->host->event_str(ev, SEULA_FIELD_TITLE);
	if (title && strcmp(title, "drop me") == 0)
		return SEULA_DROP;
	if (title && strcmp(title, "fail me") == 0)
		return SEULA_ERROR;
	if (title && strcmp(title, "probe ip") == 0) {
		/* The filter stage must never see the full address. */
		const char *seen = t->host->event_ip(ev) ? "{\"ip\":\"seen\"}"
		                                         : "{\"ip\":\"gone\"}";
		t->host->event_set_str(ev, SEULA_FIELD_PROPS, seen,
		                       strlen(seen));
	}
	return SEULA_KEEP;
}

static int on_batch(void *instance, struct sqlite3 *db,
                    struct seula_event *const *events, size_t n, char **errmsg)
{
	struct testkit *t = instance;
	if (t->cfg->batch_delay_ms) {
		struct timespec ts = {t->cfg->batch_delay_ms / 1000,
		                      (t->cfg->batch_delay_ms % 1000) *
		                              1000000};
		nanosleep(&ts, NULL);
	}
	for (size_t i = 0; i < n; i++) {
		const char *title =
		        t->host->event_str(events[i], SEULA_FIELD_TITLE);
		if (title && strcmp(title, "fail batch") == 0) {
			*errmsg = t->host->mprintf("asked to fail");
			return SEULA_EIO;
		}
	}
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO testkit_batches (events) "
	                       "VALUES (?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)n);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

static int reply_json(struct testkit *t, struct seula_http *http, int status,
                      const char *body)
{
	return t->host->http_reply(http, status, "application/json", body,
	                           strlen(body));
}

static int route_echo(void *instance, struct seula_http *http)
{
	struct testkit *t = instance;
	const struct seula_host *h = t->host;
	t->host->http_set_header(http, "X-Testkit", "loop");
	const char *q = h->http_query(http, "q");
	char body[512];
	snprintf(body, sizeof(body), "{\"name\":\"%s\",\"q\":\"%s\"}",
	         h->http_param(http, "name"), q ? q : "");
	return reply_json(t, http, 200, body);
}

static int route_count(void *instance, struct seula_http *http)
{
	struct testkit *t = instance;
	if (t->cfg->read_delay_ms) {
		struct timespec ts = {t->cfg->read_delay_ms / 1000,
		                      (t->cfg->read_delay_ms % 1000) *
		                              1000000L};
		nanosleep(&ts, NULL);
	}
	sqlite3 *db = t->host->http_db(http);
	sqlite3_stmt *st;
	if (!db || sqlite3_prepare_v2(db, "SELECT count(*) FROM events", -1,
	                              &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	char n[32] = "0";
	if (sqlite3_step(st) == SQLITE_ROW)
		snprintf(n, sizeof(n), "%lld",
		         (long long)sqlite3_column_int64(st, 0));
	sqlite3_finalize(st);
	/* A reader connection must refuse writes. */
	int ro = sqlite3_exec(db,
	                      "INSERT INTO testkit_notes (note) VALUES "
	                      "('x')",
	                      NULL, NULL, NULL) != SQLITE_OK;
	char body[128];
	snprintf(body, sizeof(body), "{\"events\":%s,\"readonly\":%s}", n,
	         ro ? "true" : "false");
	return reply_json(t, http, 200, body);
}

static int route_note(void *instance, struct seula_http *http)
{
	struct testkit *t = instance;
	size_t len;
	const char *body = t->host->http_body(http, &len);
	sqlite3 *db = t->host->http_db(http);
	sqlite3_stmt *st;
	if (!db || sqlite3_prepare_v2(db,
	                              "INSERT INTO testkit_notes (note) "
	                              "VALUES (?)",
	                              -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, body, (int)len, SQLITE_TRANSIENT);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	if (rc != SEULA_OK)
		return rc;
	/* "rollback" answers an error after writing: nothing may stay. */
	if (len == 8 && memcmp(body, "rollback", 8) == 0)
		return SEULA_EINVAL;
	return reply_json(t, http, 201, "{\"stored\":true}");
}

static int route_secret(void *instance, struct seula_http *http)
{
	struct testkit *t = instance;
	return reply_json(t, http, 200, "{\"secret\":\"leaked\"}");
}

static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/testkit/echo/{name}", SEULA_ROLE_PUBLIC,
         SEULA_ON_LOOP, route_echo, "echo a path parameter"},
        {SEULA_METHOD_GET, "/api/testkit/count", SEULA_ROLE_PUBLIC,
         SEULA_ON_READER, route_count, "count events on a reader"},
        {SEULA_METHOD_POST, "/api/testkit/note", SEULA_ROLE_PUBLIC,
         SEULA_ON_WRITER, route_note, "store a note on the writer"},
        {SEULA_METHOD_GET, "/api/testkit/secret", SEULA_ROLE_ADMIN,
         SEULA_ON_LOOP, route_secret, "staff only"},
        {SEULA_METHOD_GET, "/api/testkit/staffcount", SEULA_ROLE_ADMIN,
         SEULA_ON_READER, route_count, "count events on a reader, staff"},
};

static int flaky_task(void *instance, sqlite3 *db, int64_t now_ms,
                      char **errmsg)
{
	(void)db;
	(void)now_ms;
	struct testkit *t = instance;
	const char *f = t->cfg->task_fail_file;
	if (f && access(f, F_OK) == 0) {
		*errmsg = t->host->mprintf("told to fail by %s", f);
		return SEULA_EIO;
	}
	return SEULA_OK;
}

static const struct seula_task tasks[] = {
        {"testkit-flaky", 1, 0, flaky_task},
};

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "testkit",
        .version = "0.0.1",
        .description = "exercises every hook for the integration tests",
        .config_rows = rows,
        .config_size = sizeof(struct testkit_config),
        .migrations = migrations,
        .n_migrations = 1,
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_FILTER,
        .on_event = on_event,
        .on_batch = on_batch,
        .routes = routes,
        .n_routes = sizeof(routes) / sizeof(routes[0]),
        .tasks = tasks,
        .n_tasks = sizeof(tasks) / sizeof(tasks[0]),
};
