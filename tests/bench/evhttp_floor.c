/*
 * evhttp_floor.c - how fast libevent's evhttp alone answers the collect
 * beacons on this machine: the ceiling for any server built on it, Seula
 * included.  No parsing, no plugins, no SQLite.
 *
 *   evhttp_floor now     answer 204 inside the request callback
 *   evhttp_floor defer [USEC]
 *                        hand each request to a second thread which, like
 *                        the writer, takes everything queued at once, spends
 *                        USEC on it (a stand-in for COMMIT and its fsync;
 *                        default 0), and hands the batch back through a
 *                        seula_completions queue; answer 204 in the
 *                        completion
 *
 * The loop is set up as core/server.c sets up its workers (epoll changelist,
 * one evhttp, the body pulled up into one piece).  Prints
 * "listening on http://127.0.0.1:PORT" and serves until SIGTERM or SIGINT.
 * run.sh builds it (run.sh floor); by hand, from the repo root, as run.sh
 * links every harness:
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Icore -Iinclude tests/bench/evhttp_floor.c \
 *      build/release/libseula_core.a $(pkg-config --cflags --libs libevent \
 *      libevent_pthreads sqlite3 libsodium jansson inih uuid pwquality) \
 *      -ldl -lpthread -o evhttp_floor
 */
#include "completion.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

struct pending {
	struct seula_completion done; /* first */
	struct evhttp_request *req;
	struct pending *next;
};

static long hold_usec;

/* The stand-in for the writer: takes everything queued at once, posts the
 * completions back in order. */
struct relay {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct pending *head, *tail;
	bool stopping;
	struct seula_completions *cq;
};

static void *relay_main(void *arg)
{
	struct relay *r = arg;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->head && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->head)
			break;
		struct pending *batch = r->head;
		r->head = r->tail = NULL;
		pthread_mutex_unlock(&r->lock);
		if (hold_usec > 0) {
			struct timespec ts = {hold_usec / 1000000,
			                      (hold_usec % 1000000) * 1000L};
			nanosleep(&ts, NULL);
		}
		while (batch) {
			struct pending *next = batch->next;
			seula_completions_post(r->cq, &batch->done);
			batch = next;
		}
		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

static void reply(struct evhttp_request *req)
{
	evhttp_send_reply(req, 204, "No Content", NULL);
}

static void pending_done(struct seula_completion *c)
{
	struct pending *p = (struct pending *)c;
	reply(p->req);
	free(p);
}

static bool deferred;
static struct relay relay;

static void on_request(struct evhttp_request *req, void *arg)
{
	(void)arg;
	const char *path =
	        evhttp_uri_get_path(evhttp_request_get_evhttp_uri(req));
	if (!path || strcmp(path, "/api/collect") != 0) {
		evhttp_send_error(req, 404, NULL);
		return;
	}
	/* What any handler has to do with the beacon: have it in one piece. */
	struct evbuffer *body = evhttp_request_get_input_buffer(req);
	evbuffer_pullup(body, -1);
	if (!deferred) {
		reply(req);
		return;
	}
	struct pending *p = calloc(1, sizeof(*p));
	if (!p) {
		evhttp_send_error(req, 500, NULL);
		return;
	}
	p->req = req;
	p->done.run = pending_done;
	/* As seula_store_submit(): wake the thread only when the queue was
	 * empty; otherwise it is busy and will take this one with the rest. */
	pthread_mutex_lock(&relay.lock);
	bool was_empty = !relay.head;
	if (relay.tail)
		relay.tail->next = p;
	else
		relay.head = p;
	relay.tail = p;
	if (was_empty)
		pthread_cond_signal(&relay.wake);
	pthread_mutex_unlock(&relay.lock);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	(void)sig;
	(void)what;
	event_base_loopexit(arg, NULL);
}

int main(int argc, char **argv)
{
	if (argc < 2 || argc > 3 ||
	    (strcmp(argv[1], "now") && strcmp(argv[1], "defer"))) {
		fprintf(stderr, "usage: evhttp_floor now|defer [USEC]\n");
		return 2;
	}
	deferred = strcmp(argv[1], "defer") == 0;
	hold_usec = argc == 3 ? atol(argv[2]) : 0;
	if (evthread_use_pthreads() != 0)
		return 1;
	struct event_config *ec = event_config_new();
	event_config_set_flag(ec, EVENT_BASE_FLAG_EPOLL_USE_CHANGELIST);
	struct event_base *base = event_base_new_with_config(ec);
	event_config_free(ec);
	struct evhttp *http = base ? evhttp_new(base) : NULL;
	if (!http)
		return 1;
	evhttp_set_gencb(http, on_request, NULL);
	struct evhttp_bound_socket *bound =
	        evhttp_bind_socket_with_handle(http, "127.0.0.1", 0);
	if (!bound) {
		fprintf(stderr, "evhttp_floor: cannot listen\n");
		return 1;
	}
	struct sockaddr_in sin;
	socklen_t slen = sizeof(sin);
	getsockname(evhttp_bound_socket_get_fd(bound), (struct sockaddr *)&sin,
	            &slen);

	pthread_t thread;
	if (deferred) {
		pthread_mutex_init(&relay.lock, NULL);
		pthread_cond_init(&relay.wake, NULL);
		relay.cq = seula_completions_new(base);
		if (!relay.cq ||
		    pthread_create(&thread, NULL, relay_main, &relay) != 0)
			return 1;
	}
	struct event *term = evsignal_new(base, SIGTERM, on_signal, base);
	struct event *intr = evsignal_new(base, SIGINT, on_signal, base);
	event_add(term, NULL);
	event_add(intr, NULL);

	printf("listening on http://127.0.0.1:%d\n", ntohs(sin.sin_port));
	fflush(stdout);
	event_base_dispatch(base);

	if (deferred) {
		pthread_mutex_lock(&relay.lock);
		relay.stopping = true;
		pthread_cond_signal(&relay.wake);
		pthread_mutex_unlock(&relay.lock);
		pthread_join(thread, NULL);
		seula_completions_free(relay.cq);
	}
	event_free(term);
	event_free(intr);
	evhttp_free(http);
	event_base_free(base);
	return 0;
}
