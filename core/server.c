/*
 * server.c - workers, request dispatch, the collect endpoint.
 */
#include "server.h"

#include "collect.h"
#include "host.h"
#include "http.h"
#include "netaddr.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <event2/listener.h>
#include <jansson.h>
#include <netdb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

/* libevent refuses bodies past this itself (with an HTML page, before our
 * handler runs); below it, but above max_body_bytes, we answer a JSON 413.
 * Header blocks the same way: libevent past HARD_HEADERS_BYTES, a JSON 431
 * past MAX_HEADERS_BYTES.  libevent 2.1 has no hook for its own error
 * pages; 2.2's evhttp_set_errorcb would remove this residue. */
#define HARD_BODY_FACTOR 4
#define MAX_HEADERS_BYTES 16384
#define HARD_HEADERS_BYTES (4 * MAX_HEADERS_BYTES)
#define DRAIN_POLL_MS 10

struct worker {
	struct seula_server *srv;
	int index;
	struct event_base *base;
	struct evhttp *http;
	struct evhttp_bound_socket *bound;
	struct seula_completions *cq;
	struct event *stop_ev;
	struct event *exit_ev;
	/* Accepting paused for want of descriptors, and when that was last
	 * logged, with how many pauses since (on_accept_error()). */
	struct event *accept_pause_ev;
	int64_t accept_warned_ms;
	int64_t accept_pauses;
	/* Requests refused for their X-Forwarded-For since the last warning,
	 * and when that was (forwarded_for_ok()). */
	int64_t xff_warned_ms;
	int64_t xff_refused;
	pthread_t thread;
	bool thread_started;
	atomic_bool draining;
	atomic_size_t inflight; /* jobs submitted, completion not yet run */
};

struct seula_server {
	const struct seula_server_deps *deps;
	struct worker *workers;
	size_t n_workers;
	char url[128];
	struct event *sig_term, *sig_int, *sig_hup, *drain_timer;
	int64_t drain_started_ms;
	bool stopping;
};

/* ---- listening -------------------------------------------------------- */

int seula_parse_listen(const char *listen, char *host, size_t hostlen,
                       char *port, size_t portlen)
{
	const char *colon;
	const char *h = listen;
	size_t hl;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close[1] != ':')
			return SEULA_EINVAL;
		h = listen + 1;
		hl = (size_t)(close - h);
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || memchr(listen, ':', (size_t)(colon - listen)))
			return SEULA_EINVAL;
		hl = (size_t)(colon - listen);
	}
	const char *p = colon + 1;
	size_t pl = strlen(p);
	if (hl == 0 || hl >= hostlen || pl == 0 || pl >= portlen || pl > 5)
		return SEULA_EINVAL;
	for (size_t i = 0; i < pl; i++)
		if (p[i] < '0' || p[i] > '9')
			return SEULA_EINVAL;
	if (atoi(p) > 65535)
		return SEULA_EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	memcpy(port, p, pl + 1);
	return SEULA_OK;
}

static int open_listener(const char *host, const char *port, bool reuseport,
                         struct sockaddr_storage *bound, char *err,
                         size_t errlen)
{
	struct addrinfo hints, *res = NULL;
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host, port,
		         gai_strerror(gai));
		return -1;
	}
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	                res->ai_protocol);
	int one = 1;
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one,
	                             sizeof(one)) != 0) ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0 ||
	    listen(fd, 1024) != 0 || evutil_make_socket_nonblocking(fd) != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host, port,
		         strerror(errno));
		if (fd >= 0)
			close(fd);
		freeaddrinfo(res);
		return -1;
	}
	freeaddrinfo(res);
	socklen_t len = sizeof(*bound);
	getsockname(fd, (struct sockaddr *)bound, &len);
	return fd;
}

/* ---- replies ---------------------------------------------------------- */

static void add_cors(struct evhttp_request *req, const char *origin)
{
	if (!origin)
		return;
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Access-Control-Allow-Origin", origin);
	evhttp_add_header(h, "Vary", "Origin");
}

static void reply_busy(struct evhttp_request *req, int rc, const char *origin)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	add_cors(req, origin);
	if (rc == SEULA_ECONFLICT) {
		evhttp_add_header(h, "Connection", "close");
		evhttp_add_header(h, "Retry-After", "5");
		seula_reply_error(req, 503, "shutting_down",
		                  "the server is stopping; send again shortly");
	} else if (rc == SEULA_EBUSY) {
		evhttp_add_header(h, "Retry-After", "1");
		seula_reply_error(req, 503, "queue_full",
		                  "the server is busy storing; send again in a "
		                  "second");
	} else {
		evhttp_add_header(h, "Retry-After", "5");
		seula_reply_error(
		        req, 503, "storage_unavailable",
		        "the database could not commit; nothing of this "
		        "request was stored");
	}
}

/* 405 with the Allow header the status requires. */
static void reply_not_allowed(struct evhttp_request *req, const char *allow,
                              const char *message)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow",
	                  allow);
	seula_reply_error(req, 405, "method_not_allowed", "%s", message);
}

static const unsigned char gif_1x1[] = {
        0x47, 0x49, 0x46, 0x38, 0x39, 0x61, 0x01, 0x00, 0x01, 0x00, 0x80,
        0x00, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0x21, 0xf9, 0x04,
        0x01, 0x00, 0x00, 0x00, 0x00, 0x2c, 0x00, 0x00, 0x00, 0x00, 0x01,
        0x00, 0x01, 0x00, 0x00, 0x02, 0x02, 0x44, 0x01, 0x00, 0x3b,
};

/* ---- collect ---------------------------------------------------------- */

struct collect_job {
	struct seula_job job; /* first */
	struct seula_arena arena;
	struct evhttp_request *req;
	struct worker *w;
	bool gif;
	char *origin;
};

static void collect_job_free(struct collect_job *cj)
{
	seula_arena_free(&cj->arena);
	free(cj->origin);
	free(cj);
}

static void collect_done(struct seula_completion *c)
{
	struct collect_job *cj = (struct collect_job *)c;
	struct worker *w = cj->w;
	if (!cj->job.committed)
		reply_busy(cj->req, SEULA_EIO, cj->origin);
	else if (cj->gif)
		seula_reply(cj->req, 200, "image/gif", gif_1x1,
		            sizeof(gif_1x1));
	else {
		/* The hot path: a bare 204, no headers it does not need. */
		add_cors(cj->req, cj->origin);
		evhttp_send_reply(cj->req, 204, "No Content", NULL);
	}
	collect_job_free(cj);
	atomic_fetch_sub(&w->inflight, 1);
}

static bool origin_allowed_anywhere(const struct seula_config *cfg,
                                    const char *origin)
{
	for (size_t i = 0; i < cfg->n_sites; i++)
		if (seula_collect_origin_allowed(&cfg->sites[i], origin))
			return true;
	return false;
}

static void handle_collect(struct worker *w, struct evhttp_request *req,
                           enum evhttp_cmd_type cmd)
{
	const struct seula_server_deps *d = w->srv->deps;
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	const char *origin = evhttp_find_header(in, "Origin");

	if (cmd == EVHTTP_REQ_OPTIONS) {
		if (!origin || !origin_allowed_anywhere(d->cfg, origin)) {
			seula_reply_error(
			        req, 403, "origin_not_allowed",
			        "this origin is not a configured site");
			return;
		}
		struct evkeyvalq *h = evhttp_request_get_output_headers(req);
		add_cors(req, origin);
		evhttp_add_header(h, "Access-Control-Allow-Methods",
		                  "POST, GET, OPTIONS");
		evhttp_add_header(h, "Access-Control-Allow-Headers",
		                  "Content-Type");
		evhttp_add_header(h, "Access-Control-Max-Age", "86400");
		seula_reply(req, 204, NULL, NULL, 0);
		return;
	}
	if (cmd != EVHTTP_REQ_POST && cmd != EVHTTP_REQ_GET) {
		reply_not_allowed(req, "GET, POST, OPTIONS",
		                  "collect takes POST (JSON) or GET (query)");
		return;
	}

	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(body);
	if (cmd == EVHTTP_REQ_POST) {
		if (len > (size_t)d->cfg->max_body_bytes) {
			evhttp_add_header(
			        evhttp_request_get_output_headers(req),
			        "Connection", "close");
			seula_reply_error(
			        req, 413, "body_too_large",
			        "the body has %zu bytes; at most %lld", len,
			        (long long)d->cfg->max_body_bytes);
			return;
		}
		if (!seula_json_media_type(
		            evhttp_find_header(in, "Content-Type"), true)) {
			seula_reply_error(req, 415, "unsupported_media_type",
			                  "send application/json or text/plain "
			                  "in UTF-8");
			return;
		}
	}

	struct collect_job *cj = calloc(1, sizeof(*cj));
	if (!cj) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	/* Room for the events and their copies, never unbounded. */
	seula_arena_init(&cj->arena,
	                 (size_t)d->cfg->max_body_bytes * 4 +
	                         (size_t)d->cfg->max_events_per_request *
	                                 (sizeof(struct seula_event) + 16384));
	cj->req = req;
	cj->w = w;
	cj->gif = cmd == EVHTTP_REQ_GET;
	if (origin && !(cj->origin = strdup(origin))) {
		collect_job_free(cj);
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}

	struct seula_event_header headers[SEULA_EVENT_MAX_HEADERS];
	size_t nh = 0;
	for (size_t i = 0;
	     seula_event_captured_headers[i] && nh < SEULA_EVENT_MAX_HEADERS;
	     i++) {
		const char *v =
		        evhttp_find_header(in, seula_event_captured_headers[i]);
		if (v) {
			headers[nh].name = seula_event_captured_headers[i];
			headers[nh].value = v;
			nh++;
		}
	}
	struct seula_collect_request creq = {
	        .cfg = d->cfg,
	        .origin = origin,
	        .now_ms = seula_clock_ms(),
	        .headers = headers,
	        .n_headers = nh,
	};
	seula_request_client_ip(req, d->cfg->trusted, d->cfg->n_trusted,
	                        &creq.client_ip);

	struct seula_collect_result res;
	struct seula_collect_error cerr;
	int rc;
	if (cmd == EVHTTP_REQ_POST) {
		const char *bytes = (const char *)evbuffer_pullup(body, -1);
		rc = seula_collect_parse_json(&creq, bytes ? bytes : "", len,
		                              &cj->arena, &res, &cerr);
	} else {
		rc = seula_collect_parse_query(
		        &creq,
		        evhttp_uri_get_query(
		                evhttp_request_get_evhttp_uri(req)),
		        &cj->arena, &res, &cerr);
	}
	/* The request's own copy of the address is gone with the stack;
	 * each event holds one until the pipeline wipes it. */
	sodium_memzero(&creq.client_ip, sizeof(creq.client_ip));
	if (rc != SEULA_OK) {
		for (size_t i = 0; i < res.n_events; i++)
			seula_event_wipe_ip(res.events[i]);
		/* A refused origin is not told it may read the answer. */
		if (strcmp(cerr.code, "origin_not_allowed") != 0)
			add_cors(req, cj->origin);
		seula_reply_error(req, cerr.status, cerr.code, "%s",
		                  cerr.message);
		collect_job_free(cj);
		return;
	}

	const char *failed = NULL;
	size_t n = res.n_events;
	if (seula_pipeline_run(d->pipeline, res.events, &n, &failed) !=
	    SEULA_OK) {
		seula_log(d->log, SEULA_LOG_ERROR, "collect",
		          "plugin %s failed on an event; request answered 500",
		          failed);
		seula_reply_error(req, 500, "plugin_failed",
		                  "the %s plugin could not process the event",
		                  failed);
		collect_job_free(cj);
		return;
	}
	if (n == 0) {
		/* Every event was dropped by a plugin (a bot, an excluded
		 * page): acknowledged as a stored one is, nothing to store.
		 * A pixel's is its GIF: a 204 would be a broken image, and
		 * the page could tell. */
		if (cj->gif) {
			seula_reply(req, 200, "image/gif", gif_1x1,
			            sizeof(gif_1x1));
		} else {
			add_cors(req, cj->origin);
			evhttp_send_reply(req, 204, "No Content", NULL);
		}
		collect_job_free(cj);
		return;
	}
	cj->job.kind = SEULA_JOB_EVENTS;
	cj->job.events = res.events;
	cj->job.n_events = n;
	cj->job.cq = w->cq;
	cj->job.done.run = collect_done;
	atomic_fetch_add(&w->inflight, 1);
	rc = seula_store_submit(d->store, &cj->job);
	if (rc != SEULA_OK) {
		atomic_fetch_sub(&w->inflight, 1);
		reply_busy(req, rc, cj->origin);
		collect_job_free(cj);
	}
}

/* ---- plugin routes ---------------------------------------------------- */

struct route_job {
	struct seula_job job; /* first */
	struct evhttp_request *req;
	struct worker *w;
	bool on_writer;
	int handler_rc; /* a loop or reader handler's result */
	int busy_rc;    /* why its audit could not be stored (0: EIO) */
};

/* Writer: the request's audit entries, before its reply leaves. */
static int audit_call(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct route_job *rj = arg;
	return seula_http_audit_append(rj->job.http, db, rj->w->srv->deps->key,
	                               seula_clock_ms(), err, errlen);
}

static void route_send(struct route_job *rj, int rc, bool stored)
{
	if (!stored)
		reply_busy(rj->req, rj->busy_rc ? rj->busy_rc : SEULA_EIO,
		           NULL);
	else if (rc != SEULA_OK && !seula_http_replied(rj->job.http))
		seula_reply_error(rj->req, 500, "internal",
		                  "the handler failed (%d)", rc);
	else
		seula_http_send(rj->job.http, rj->req);
	struct worker *w = rj->w;
	seula_http_free(rj->job.http);
	free(rj);
	atomic_fetch_sub(&w->inflight, 1);
}

static void audit_done(struct seula_completion *c)
{
	struct route_job *rj = (struct route_job *)c;
	/* Nothing of a person's data leaves unless its reading is on
	 * record: committed, and the entry written. */
	route_send(rj, rj->handler_rc,
	           rj->job.committed && rj->job.result == SEULA_OK);
}

/* After a loop or reader handler: audit first when a staff member called. */
static void audit_then_send(struct route_job *rj, int rc)
{
	if (!seula_http_audited(rj->job.http)) {
		route_send(rj, rc, true);
		return;
	}
	rj->handler_rc = rc;
	rj->job.kind = SEULA_JOB_CALL;
	rj->job.call = audit_call;
	rj->job.call_arg = rj;
	rj->job.done.run = audit_done;
	rj->job.committed = false;
	/* Stopping: said so, not "could not commit". */
	rj->busy_rc = seula_store_submit(rj->w->srv->deps->store, &rj->job);
	if (rj->busy_rc != SEULA_OK)
		route_send(rj, rc, false);
}

static void route_done(struct seula_completion *c)
{
	struct route_job *rj = (struct route_job *)c;
	/* Not run, so nothing read to audit: its 503 goes out as it is. */
	if (rj->job.cancelled)
		route_send(rj, SEULA_OK, true);
	else if (rj->on_writer)
		route_send(rj, rj->job.result,
		           rj->job.committed && !rj->job.audit_failed);
	else
		audit_then_send(rj, rj->job.result);
}

static int method_of(enum evhttp_cmd_type cmd)
{
	switch (cmd) {
	case EVHTTP_REQ_GET: return SEULA_METHOD_GET;
	case EVHTTP_REQ_POST: return SEULA_METHOD_POST;
	case EVHTTP_REQ_PUT: return SEULA_METHOD_PUT;
	case EVHTTP_REQ_PATCH: return SEULA_METHOD_PATCH;
	case EVHTTP_REQ_DELETE: return SEULA_METHOD_DELETE;
	default: return 0;
	}
}

static void allow_header(struct evhttp_request *req, unsigned allowed)
{
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH",
	                                    "DELETE"};
	char buf[64] = "";
	for (unsigned i = 0; i < 5; i++) {
		if (!(allowed & (1u << i)))
			continue;
		if (*buf)
			strcat(buf, ", ");
		strcat(buf, names[i]);
	}
	evhttp_add_header(evhttp_request_get_output_headers(req), "Allow", buf);
}

static void handle_route(struct worker *w, struct evhttp_request *req,
                         enum evhttp_cmd_type cmd, const char *path)
{
	const struct seula_server_deps *d = w->srv->deps;
	int mbit = method_of(cmd);
	struct seula_route_match m;
	unsigned allowed = 0;
	int rc = seula_router_match(d->router, path, mbit, &m, &allowed);
	if (rc == SEULA_ECONFLICT) {
		allow_header(req, allowed);
		seula_reply_error(req, 405, "method_not_allowed",
		                  "%s does not take this method", path);
		return;
	}
	if (rc != SEULA_OK) {
		seula_reply_error(req, 404, "not_found", "no API route %s",
		                  path);
		return;
	}
	const struct seula_route *route = m.entry->route;
	char label[160];
	snprintf(label, sizeof(label), "%s %s",
	         cmd == EVHTTP_REQ_GET     ? "GET"
	         : cmd == EVHTTP_REQ_POST  ? "POST"
	         : cmd == EVHTTP_REQ_PUT   ? "PUT"
	         : cmd == EVHTTP_REQ_PATCH ? "PATCH"
	                                   : "DELETE",
	         route->path);
	struct seula_loop loop = {w->cq, &w->inflight};
	struct seula_http_who who;
	bool staff = !(route->roles & SEULA_ROLE_PUBLIC);
	if (staff &&
	    (!d->auth ||
	     seula_auth_authorize(d->auth, req, route->roles,
	                          seula_route_changes_state(route, mbit), label,
	                          &who, &loop) != SEULA_OK)) {
		if (!d->auth)
			seula_reply_error(req, 401, "login_required",
			                  "this route is for signed-in staff");
		return;
	}
	if (evbuffer_get_length(evhttp_request_get_input_buffer(req)) >
	    (size_t)d->cfg->max_body_bytes) {
		seula_reply_error(req, 413, "body_too_large",
		                  "the body is larger than %lld bytes",
		                  (long long)d->cfg->max_body_bytes);
		return;
	}
	int error;
	char why[128] = "the query or path is malformed";
	struct seula_http *http =
	        seula_http_new(req, mbit, path, m.params, m.n_params, &error,
	                       why, sizeof(why));
	if (!http && error == SEULA_EINVAL) {
		seula_reply_error(req, 400, "bad_request", "%s", why);
		return;
	}
	if (!http) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	seula_http_set_who(http, staff ? &who : NULL, label);
	struct seula_ip ip;
	char anon[SEULA_IP_TEXT_MAX];
	seula_request_client_ip(req, d->cfg->trusted, d->cfg->n_trusted, &ip);
	if (ip.family &&
	    seula_ip_masked_text(&ip, 16, 48, anon, sizeof(anon)) == SEULA_OK)
		seula_http_set_client(http, anon);
	struct route_job *rj = calloc(1, sizeof(*rj));
	if (!rj) {
		seula_http_free(http);
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	rj->req = req;
	rj->w = w;
	rj->on_writer = route->thread == SEULA_ON_WRITER;
	rj->job.kind = SEULA_JOB_ROUTE;
	rj->job.handler = route->handler;
	rj->job.instance = m.entry->instance;
	rj->job.http = http;
	rj->job.cq = w->cq;
	rj->job.done.run = route_done;
	rj->job.committed = !rj->on_writer;
	/* A write route's audit entries commit in its own transaction. */
	if (rj->on_writer && staff) {
		rj->job.call = audit_call;
		rj->job.call_arg = rj;
	}
	atomic_fetch_add(&w->inflight, 1);
	if (route->thread == SEULA_ON_LOOP) {
		audit_then_send(rj, route->handler(m.entry->instance, http));
		return;
	}
	rc = rj->on_writer ? seula_store_submit(d->store, &rj->job)
	                   : seula_readers_submit(d->readers, &rj->job);
	if (rc != SEULA_OK) {
		atomic_fetch_sub(&w->inflight, 1);
		seula_http_free(http);
		free(rj);
		reply_busy(req, rc, NULL);
	}
}

/* ---- dispatch --------------------------------------------------------- */

/* The request's query parameters into *q (the caller clears them), or a
 * 400 answered and false. */
static bool query_of(struct evhttp_request *req, const struct evhttp_uri *uri,
                     struct evkeyvalq *q)
{
	const char *query = evhttp_uri_get_query(uri);
	if (seula_query_parse(query ? query : "", q) == SEULA_OK)
		return true;
	evhttp_clear_headers(q);
	seula_reply_error(req, 400, "bad_request",
	                  "the query is malformed: a %%-escape not of two hex "
	                  "digits, or a part with no name");
	return false;
}

/* Failing tasks listed by health at most. */
#define HEALTH_TASKS_MAX 16

/* The tasks whose last run failed, as health lists them, or NULL when
 * none (or out of memory: health then says what it can without them). */
static json_t *failing_tasks_json(struct seula_store *store, size_t *n_out)
{
	struct seula_task_failure f[HEALTH_TASKS_MAX];
	size_t n = seula_store_failing_tasks(store, f, HEALTH_TASKS_MAX);
	*n_out = n;
	if (!n)
		return NULL;
	json_t *list = json_array();
	for (size_t i = 0; list && i < n && i < HEALTH_TASKS_MAX; i++) {
		time_t secs = (time_t)(f[i].since_ms / 1000);
		struct tm tm;
		char since[32] = "";
		if (gmtime_r(&secs, &tm))
			strftime(since, sizeof(since), "%Y-%m-%dT%H:%M:%SZ",
			         &tm);
		json_array_append_new(
		        list,
		        json_pack("{s:s, s:s, s:I, s:s}", "task", f[i].name,
		                  "owner", f[i].owner, "failures",
		                  (json_int_t)f[i].failures, "since", since));
	}
	return list;
}

/* GET /api/health[?strict=1]: 503 while the writer cannot store (what
 * collect would answer then); "degraded" while a periodic task fails,
 * with 200, as events still go in and a load balancer should keep the
 * server, or 503 with strict, for a monitor that reads only the status
 * code.  Error texts stay in the log: this answers anyone. */
static void handle_health(struct worker *w, struct evhttp_request *req,
                          const struct evhttp_uri *uri,
                          enum evhttp_cmd_type cmd)
{
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_not_allowed(req, "GET, HEAD", "health takes GET");
		return;
	}
	struct evkeyvalq q;
	if (!query_of(req, uri, &q))
		return;
	const char *strict_arg = evhttp_find_header(&q, "strict");
	bool strict = strict_arg && (strcmp(strict_arg, "1") == 0 ||
	                             strcmp(strict_arg, "true") == 0);
	bool strict_bad = strict_arg && !strict && strcmp(strict_arg, "0") &&
	                  strcmp(strict_arg, "false");
	evhttp_clear_headers(&q);
	if (strict_bad) {
		seula_reply_error(req, 400, "bad_request",
		                  "strict is 1, true, 0 or false");
		return;
	}
	const char *status = "ok", *problem = NULL;
	switch (seula_store_health(w->srv->deps->store)) {
	case SEULA_STORE_OK: break;
	case SEULA_STORE_FAILING:
		status = "storage_unavailable";
		problem = "the last commit failed (a full disk, an I/O "
		          "error): what is sent now is not stored";
		break;
	case SEULA_STORE_GONE:
		status = "storage_unavailable";
		problem = "the database file was removed or replaced under "
		          "the server: nothing is stored until it is restarted";
		break;
	}
	size_t n_failing = 0;
	json_t *tasks = failing_tasks_json(w->srv->deps->store, &n_failing);
	char task_problem[160];
	bool degraded = !problem && n_failing;
	if (degraded) {
		status = "degraded";
		if (n_failing == 1) {
			problem = "a periodic task failed on its last run: "
			          "events are stored, but what it keeps falls "
			          "behind (the log says why)";
		} else {
			snprintf(task_problem, sizeof(task_problem),
			         "%zu periodic tasks failed on their last run: "
			         "events are stored, but what they keep falls "
			         "behind (the log says why)",
			         n_failing);
			problem = task_problem;
		}
	}
	int code = !problem || (degraded && !strict) ? 200 : 503;
	json_t *o = json_pack("{s:s, s:s}", "status", status, "version",
	                      w->srv->deps->version);
	if (o && problem)
		json_object_set_new(o, "message", json_string(problem));
	if (o && tasks)
		json_object_set(o, "failing_tasks", tasks);
	json_decref(tasks);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return;
	}
	if (code == 503)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Retry-After", "5");
	seula_reply(req, code, "application/json", text, strlen(text));
	free(text);
}

/* The generated privacy statement, in ?lang= or the default language. */
static void handle_privacy(struct worker *w, struct evhttp_request *req,
                           const struct evhttp_uri *uri)
{
	struct evkeyvalq q;
	if (!query_of(req, uri, &q))
		return;
	size_t len = 0;
	const char *lang = NULL;
	const char *page = seula_statement_page(
	        w->srv->deps->statement, evhttp_find_header(&q, "lang"),
	        evhttp_find_header(evhttp_request_get_input_headers(req),
	                           "Accept-Language"),
	        &len, &lang);
	evhttp_clear_headers(&q);
	if (!page) {
		seula_reply_error(req, 404, "not_found",
		                  "no privacy statement: [controller] name is "
		                  "not configured");
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "Content-Security-Policy",
	                  "default-src 'none'; style-src 'unsafe-inline'");
	/* Without ?lang= the page is the browser's language: a cache
	 * keeps one a language. */
	evhttp_add_header(h, "Vary", "Accept-Language");
	evhttp_add_header(h, "Content-Language", lang);
	seula_reply(req, 200, "text/html; charset=utf-8", page, len);
}

/* Whether the request's framing is unambiguous: at most one
 * Content-Length, and no header name with white space in it
 * ("Content-Length : 5", which libevent takes as another header and a
 * proxy may take as the length). */
static bool framing_ok(struct evhttp_request *req)
{
	const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	int n = 0;
	for (const struct evkeyval *kv = TAILQ_FIRST(h); kv;
	     kv = TAILQ_NEXT(kv, next)) {
		if (strpbrk(kv->key, " \t"))
			return false;
		bool length = strcasecmp(kv->key, "Content-Length") == 0;
		/* Digits only (RFC 9110 8.6): libevent's strtoll also takes
		 * "+61", which a proxy before it may read otherwise. */
		if (length && (!*kv->value || strspn(kv->value, "0123456789") !=
		                                      strlen(kv->value)))
			return false;
		n += length;
	}
	return n <= 1;
}

/* The header block's size as it came ("Name: value" and CRLF a line). */
static size_t header_bytes(struct evhttp_request *req)
{
	const struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	size_t n = 0;
	for (const struct evkeyval *kv = TAILQ_FIRST(h); kv;
	     kv = TAILQ_NEXT(kv, next))
		n += strlen(kv->key) + strlen(kv->value) + 4;
	return n;
}

/* The command libevent 2.1 gives a method it does not know (its
 * http-internal.h).  Unless allowed, libevent answers such a request
 * itself, with an HTML 501; allowed, it reaches on_request(), and every
 * handler answers it as a method its path does not take: 405 with a JSON
 * body (tests/http/0026-*). */
#define EVHTTP_UNKNOWN_METHOD (1 << 15)

/* libevent 2.1 reads a request's body only for the methods that may have
 * one: not for HEAD, TRACE or a method it does not know.  A body sent with
 * those stays on the connection and would be read as the next request, so
 * the connection ends after the answer.  (A CONNECT's, which libevent
 * never closes, gets a length instead: seula_reply().) */
static void close_if_body_left(struct evhttp_request *req,
                               enum evhttp_cmd_type cmd)
{
	const struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	bool close = (int)cmd == EVHTTP_UNKNOWN_METHOD ||
	             ((cmd == EVHTTP_REQ_HEAD || cmd == EVHTTP_REQ_TRACE) &&
	              (evhttp_find_header(in, "Content-Length") ||
	               evhttp_find_header(in, "Transfer-Encoding")));
	if (close)
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Connection", "close");
}

#define XFF_WARN_EVERY_MS 60000

/* A trusted proxy's X-Forwarded-For must name the client (netaddr.h): a
 * request whose header does not is refused, whatever its route, since any
 * address it could be given is a proxy's.  Behind a proxy that appends the
 * address it saw (nginx's $proxy_add_x_forwarded_for) no visitor can cause
 * this; a proxy that does not is misconfigured, and its whole traffic is
 * refused, so a warning says so at most once a minute.  It names no
 * address: the log is no place for a visitor's. */
static bool forwarded_for_ok(struct worker *w, struct evhttp_request *req)
{
	const struct seula_config *cfg = w->srv->deps->cfg;
	struct seula_ip ip;
	int rc =
	        seula_request_client_ip(req, cfg->trusted, cfg->n_trusted, &ip);
	sodium_memzero(&ip, sizeof(ip));
	if (rc == SEULA_OK)
		return true;
	if (rc == SEULA_ENOMEM) {
		seula_reply_error(req, 500, "internal", "out of memory");
		return false;
	}
	char why[64];
	if (rc == SEULA_ETOOBIG)
		snprintf(why, sizeof(why),
		         "passes more than %d trusted proxies",
		         SEULA_XFF_MAX_HOPS);
	else
		snprintf(why, sizeof(why),
		         "has an entry that is not an address");
	w->xff_refused++;
	int64_t now = seula_clock_ms();
	if (!w->xff_warned_ms || now - w->xff_warned_ms >= XFF_WARN_EVERY_MS) {
		seula_log(
		        w->srv->deps->log, SEULA_LOG_WARN, "server",
		        "X-Forwarded-For from a trusted proxy names no client "
		        "(the last one %s); requests refused since the last "
		        "warning: %lld; check [server] trusted_proxies and "
		        "what the proxies send",
		        why, (long long)w->xff_refused);
		w->xff_warned_ms = now;
		w->xff_refused = 0;
	}
	seula_reply_error(req, 400, "bad_forwarded_for",
	                  "X-Forwarded-For from a trusted proxy %s", why);
	return false;
}

static void on_request(struct evhttp_request *req, void *arg)
{
	struct worker *w = arg;
	const struct seula_server_deps *d = w->srv->deps;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	close_if_body_left(req, cmd);
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *raw_path = uri ? evhttp_uri_get_path(uri) : NULL;
	if (!raw_path || raw_path[0] != '/' || strlen(raw_path) > 1024) {
		seula_reply_error(req, 400, "bad_request",
		                  "the request target is not a path");
		return;
	}
	if (!framing_ok(req)) {
		/* libevent framed the body its way; a proxy before it may
		 * have framed it another, and the rest would be read here as a
		 * second request (RFC 9112 5.1, 6.3).  So this connection
		 * ends. */
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Connection", "close");
		seula_reply_error(req, 400, "bad_request",
		                  "more than one Content-Length, one that "
		                  "is not digits, or white space in a header "
		                  "name");
		return;
	}
	if (header_bytes(req) > MAX_HEADERS_BYTES) {
		evhttp_add_header(evhttp_request_get_output_headers(req),
		                  "Connection", "close");
		seula_reply_error(req, 431, "headers_too_large",
		                  "the header block is larger than %d bytes",
		                  MAX_HEADERS_BYTES);
		return;
	}
	if (!forwarded_for_ok(w, req))
		return;
	if (atomic_load(&w->draining)) {
		reply_busy(req, SEULA_ECONFLICT, NULL);
		return;
	}
	if (strcmp(raw_path, "/api/collect") == 0) {
		handle_collect(w, req, cmd);
		return;
	}
	if (strcmp(raw_path, "/api/health") == 0) {
		handle_health(w, req, uri, cmd);
		return;
	}
	struct seula_loop loop = {w->cq, &w->inflight};
	if (d->auth && seula_auth_handle(d->auth, req, raw_path, cmd, &loop))
		return;
	if (strncmp(raw_path, "/api/", 5) == 0 ||
	    strcmp(raw_path, "/api") == 0) {
		handle_route(w, req, cmd, raw_path);
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_not_allowed(req, "GET, HEAD", "pages take GET");
		return;
	}
	if (strcmp(raw_path, "/privacy") == 0) {
		handle_privacy(w, req, uri);
		return;
	}
	if (seula_static_serve(d->files, req, raw_path) != SEULA_OK)
		seula_reply_error(req, 404, "not_found", "no page %s",
		                  raw_path);
}

/* ---- lifecycle -------------------------------------------------------- */

static void on_worker_stop(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	atomic_store(&w->draining, true);
	evtimer_del(w->accept_pause_ev);
	if (w->bound) {
		evhttp_del_accept_socket(w->http, w->bound);
		w->bound = NULL;
	}
}

/* The worker whose loop runs on this thread: libevent calls a listener's
 * error callback with evhttp's argument, not one of ours.  Set once by
 * each loop's thread before it runs; the loop's own context. */
static _Thread_local struct worker *loop_worker;

#define ACCEPT_PAUSE_MS 100
#define ACCEPT_WARN_EVERY_MS 60000

/* Out of descriptors (or memory), accept() fails at once on a socket
 * that stays readable: libevent retried it in a busy loop and logged
 * every failure (40 MB/s of log).  Accepting pauses a moment instead,
 * the connections waiting in the backlog, and a warning is logged once
 * a minute. */
static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	(void)arg; /* libevent gives evhttp's own argument: the evhttp */
	struct worker *w = loop_worker;
	if (!w)
		return;
	int e = EVUTIL_SOCKET_ERROR();
	if (e != EMFILE && e != ENFILE && e != ENOBUFS && e != ENOMEM)
		return; /* a connection reset before it was taken: no matter */
	evconnlistener_disable(lev);
	struct timeval tv = {0, ACCEPT_PAUSE_MS * 1000};
	evtimer_add(w->accept_pause_ev, &tv);
	w->accept_pauses++;
	int64_t now = seula_clock_ms();
	if (w->accept_warned_ms &&
	    now - w->accept_warned_ms < ACCEPT_WARN_EVERY_MS)
		return;
	seula_log(w->srv->deps->log, SEULA_LOG_WARN, "server",
	          "cannot accept a connection (%s): paused %d ms, %lld times "
	          "since the last warning; raise the open files limit "
	          "(ulimit -n, systemd LimitNOFILE)",
	          strerror(e), ACCEPT_PAUSE_MS, (long long)w->accept_pauses);
	w->accept_warned_ms = now;
	w->accept_pauses = 0;
}

static void on_accept_pause_end(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	if (w->bound)
		evconnlistener_enable(
		        evhttp_bound_socket_get_listener(w->bound));
}

static void on_worker_exit(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct worker *w = arg;
	struct timeval grace = {
	        .tv_sec = w->srv->deps->cfg->shutdown_grace_ms / 1000,
	        .tv_usec = (w->srv->deps->cfg->shutdown_grace_ms % 1000) * 1000,
	};
	event_base_loopexit(w->base, &grace);
}

/* A loop runs until on_worker_exit() ends it, whether or not it has
 * events pending: once its listener is gone at a stop, a loop whose
 * requests all wait on a reader or the writer had none, returned at once,
 * and the replies completed after went to no loop. */
static void run_loop(struct worker *w)
{
	loop_worker = w;
	event_base_loop(w->base, EVLOOP_NO_EXIT_ON_EMPTY);
	loop_worker = NULL;
}

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	run_loop(w);
	return NULL;
}

static void drain_check(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	struct seula_server *srv = arg;
	size_t inflight = 0;
	for (size_t i = 0; i < srv->n_workers; i++)
		inflight += atomic_load(&srv->workers[i].inflight);
	int64_t max_ms = srv->deps->cfg->stop_timeout_s * 1000;
	bool overdue = seula_clock_ms() - srv->drain_started_ms > max_ms;
	if (inflight && !overdue) {
		struct timeval tv = {0, DRAIN_POLL_MS * 1000};
		evtimer_add(srv->drain_timer, &tv);
		return;
	}
	if (inflight)
		seula_log(srv->deps->log, SEULA_LOG_WARN, "server",
		          "%zu requests still open after %lld ms; stopping "
		          "anyway (those not begun get 503)",
		          inflight, (long long)max_ms);
	/* Reports not begun are answered 503 now, within the loops'
	 * grace, not run for minutes after it. */
	if (inflight)
		seula_readers_halt(srv->deps->readers);
	/* Every acknowledged job has completed; commit anything left. */
	seula_store_stop(srv->deps->store);
	for (size_t i = 0; i < srv->n_workers; i++)
		event_active(srv->workers[i].exit_ev, 0, 0);
}

static void on_reload(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	struct seula_server *srv = arg;
	const struct seula_plugins *pl = srv->deps->plugins;
	size_t reloaded = 0;
	for (size_t i = 0; pl && i < pl->n; i++) {
		const struct seula_loaded_plugin *p = &pl->list[i];
		if (!p->desc.reload)
			continue;
		char *msg = NULL;
		if (p->desc.reload(p->instance, &msg) == SEULA_OK)
			reloaded++;
		else
			seula_log(srv->deps->log, SEULA_LOG_ERROR, p->desc.name,
			          "reload failed, still serving the old state: "
			          "%s",
			          msg ? msg : "no reason given");
		free(msg);
	}
	seula_log(srv->deps->log, SEULA_LOG_INFO, "server",
	          "SIGHUP: %zu plugin%s reloaded", reloaded,
	          reloaded == 1 ? "" : "s");
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)what;
	struct seula_server *srv = arg;
	if (srv->stopping)
		return;
	srv->stopping = true;
	seula_log(srv->deps->log, SEULA_LOG_INFO, "server",
	          "%s: stopping; finishing what is in flight",
	          sig == SIGTERM ? "SIGTERM" : "SIGINT");
	for (size_t i = 0; i < srv->n_workers; i++)
		event_active(srv->workers[i].stop_ev, 0, 0);
	srv->drain_started_ms = seula_clock_ms();
	struct timeval tv = {0, DRAIN_POLL_MS * 1000};
	evtimer_add(srv->drain_timer, &tv);
}

static int worker_init(struct worker *w, struct seula_server *srv, int index,
                       int fd, char *err, size_t errlen)
{
	const struct seula_config *cfg = srv->deps->cfg;
	w->srv = srv;
	w->index = index;
	atomic_init(&w->draining, false);
	atomic_init(&w->inflight, 0);
	/* The changelist folds the add/delete pairs evhttp makes on every
	 * request into one epoll_ctl, or none, per loop iteration. */
	struct event_config *ec = event_config_new();
	if (ec)
		event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	w->base = ec ? event_base_new_with_config(ec) : NULL;
	if (ec)
		event_config_free(ec);
	w->http = w->base ? evhttp_new(w->base) : NULL;
	w->cq = w->base ? seula_completions_new(w->base) : NULL;
	w->stop_ev =
	        w->base ? event_new(w->base, -1, 0, on_worker_stop, w) : NULL;
	w->exit_ev =
	        w->base ? event_new(w->base, -1, 0, on_worker_exit, w) : NULL;
	w->accept_pause_ev =
	        w->base ? evtimer_new(w->base, on_accept_pause_end, w) : NULL;
	if (!w->base || !w->http || !w->cq || !w->stop_ev || !w->exit_ev ||
	    !w->accept_pause_ev) {
		snprintf(err, errlen, "cannot create an event loop");
		close(fd);
		return SEULA_ENOMEM;
	}
	evhttp_set_max_body_size(w->http, (ev_ssize_t)cfg->max_body_bytes *
	                                          HARD_BODY_FACTOR);
	evhttp_set_max_headers_size(w->http, HARD_HEADERS_BYTES);
	evhttp_set_timeout(w->http, (int)cfg->request_timeout_s);
	evhttp_set_allowed_methods(
	        w->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
	                         EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
	                         EVHTTP_REQ_OPTIONS | EVHTTP_REQ_PATCH |
	                         EVHTTP_REQ_TRACE | EVHTTP_REQ_CONNECT |
	                         EVHTTP_UNKNOWN_METHOD);
	evhttp_set_default_content_type(w->http, "application/json");
	evhttp_set_gencb(w->http, on_request, w);
	w->bound = evhttp_accept_socket_with_handle(w->http, fd);
	if (!w->bound) {
		snprintf(err, errlen, "cannot accept on the listening socket");
		close(fd);
		return SEULA_EIO;
	}
	evconnlistener_set_error_cb(evhttp_bound_socket_get_listener(w->bound),
	                            on_accept_error);
	return SEULA_OK;
}

int seula_server_new(struct seula_server **out,
                     const struct seula_server_deps *deps, char *err,
                     size_t errlen)
{
	*out = NULL;
	struct seula_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return SEULA_ENOMEM;
	srv->deps = deps;
	srv->n_workers = (size_t)deps->cfg->workers;
	srv->workers = calloc(srv->n_workers, sizeof(*srv->workers));
	if (!srv->workers) {
		free(srv);
		return SEULA_ENOMEM;
	}
	char host[256], port[8];
	if (seula_parse_listen(deps->cfg->listen, host, sizeof(host), port,
	                       sizeof(port)) != SEULA_OK) {
		snprintf(err, errlen,
		         "listen '%s' is not address:port (e.g. 127.0.0.1:8080 "
		         "or [::1]:8080)",
		         deps->cfg->listen);
		seula_server_free(srv);
		return SEULA_EINVAL;
	}
	bool reuseport = srv->n_workers > 1;
	struct sockaddr_storage bound;
	for (size_t i = 0; i < srv->n_workers; i++) {
		int fd = open_listener(host, port, reuseport, &bound, err,
		                       errlen);
		if (fd < 0) {
			seula_server_free(srv);
			return SEULA_EIO;
		}
		if (i == 0) {
			/* Port 0: the others join the port the first got. */
			struct seula_ip ip;
			seula_ip_from_sockaddr((struct sockaddr *)&bound, &ip);
			char text[SEULA_IP_TEXT_MAX];
			seula_ip_format(&ip, text, sizeof(text));
			int p = ntohs(bound.ss_family == AF_INET6
			                      ? ((struct sockaddr_in6 *)&bound)
			                                ->sin6_port
			                      : ((struct sockaddr_in *)&bound)
			                                ->sin_port);
			snprintf(port, sizeof(port), "%d", p);
			snprintf(srv->url, sizeof(srv->url),
			         ip.family == 6 ? "http://[%s]:%d"
			                        : "http://%s:%d",
			         text, p);
		}
		int rc = worker_init(&srv->workers[i], srv, (int)i, fd, err,
		                     errlen);
		if (rc != SEULA_OK) {
			seula_server_free(srv);
			return rc;
		}
	}
	struct event_base *main_base = srv->workers[0].base;
	srv->sig_term = evsignal_new(main_base, SIGTERM, on_signal, srv);
	srv->sig_int = evsignal_new(main_base, SIGINT, on_signal, srv);
	srv->sig_hup = evsignal_new(main_base, SIGHUP, on_reload, srv);
	srv->drain_timer = evtimer_new(main_base, drain_check, srv);
	if (!srv->sig_term || !srv->sig_int || !srv->sig_hup ||
	    !srv->drain_timer || evsignal_add(srv->sig_term, NULL) != 0 ||
	    evsignal_add(srv->sig_int, NULL) != 0 ||
	    evsignal_add(srv->sig_hup, NULL) != 0) {
		snprintf(err, errlen, "cannot set up signal handling");
		seula_server_free(srv);
		return SEULA_EIO;
	}
	*out = srv;
	return SEULA_OK;
}

const char *seula_server_url(const struct seula_server *srv)
{
	return srv->url;
}

int seula_server_run(struct seula_server *srv)
{
	/* Signals go to the main thread's loop only. */
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	int rc = 0;
	for (size_t i = 1; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		if (pthread_create(&w->thread, NULL, worker_main, w) != 0) {
			rc = SEULA_ENOMEM;
			break;
		}
		w->thread_started = true;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (rc != SEULA_OK) {
		for (size_t i = 1; i < srv->n_workers; i++)
			if (srv->workers[i].thread_started)
				event_active(srv->workers[i].exit_ev, 0, 0);
	} else {
		run_loop(&srv->workers[0]);
	}
	for (size_t i = 1; i < srv->n_workers; i++) {
		if (srv->workers[i].thread_started) {
			pthread_join(srv->workers[i].thread, NULL);
			srv->workers[i].thread_started = false;
		}
	}
	seula_store_stop(srv->deps->store);
	return rc;
}

void seula_server_free(struct seula_server *srv)
{
	if (!srv)
		return;
	if (srv->sig_term)
		event_free(srv->sig_term);
	if (srv->sig_int)
		event_free(srv->sig_int);
	if (srv->sig_hup)
		event_free(srv->sig_hup);
	if (srv->drain_timer)
		event_free(srv->drain_timer);
	for (size_t i = 0; i < srv->n_workers; i++) {
		struct worker *w = &srv->workers[i];
		/* Completions still queued (none after a clean stop) answer
		 * their requests before the connections go. */
		seula_completions_free(w->cq);
		if (w->http)
			evhttp_free(w->http);
		if (w->stop_ev)
			event_free(w->stop_ev);
		if (w->accept_pause_ev)
			event_free(w->accept_pause_ev);
		if (w->exit_ev)
			event_free(w->exit_ev);
		if (w->base)
			event_base_free(w->base);
	}
	free(srv->workers);
	free(srv);
}
