/*
 * completion.c - a mutex-guarded list drained by one libevent event.
 */
#include "completion.h"

#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>

struct seula_completions {
	pthread_mutex_t lock;
	struct seula_completion *head, *tail;
	unsigned long pending;
	struct event *ev;
};

static void drain(struct seula_completions *cq)
{
	pthread_mutex_lock(&cq->lock);
	struct seula_completion *c = cq->head;
	cq->head = cq->tail = NULL;
	pthread_mutex_unlock(&cq->lock);
	unsigned long ran = 0;
	while (c) {
		struct seula_completion *next = c->next;
		c->run(c);
		ran++;
		c = next;
	}
	if (ran) {
		pthread_mutex_lock(&cq->lock);
		cq->pending -= ran;
		pthread_mutex_unlock(&cq->lock);
	}
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	drain(arg);
}

struct seula_completions *seula_completions_new(struct event_base *base)
{
	struct seula_completions *cq = calloc(1, sizeof(*cq));
	if (!cq)
		return NULL;
	pthread_mutex_init(&cq->lock, NULL);
	cq->ev = event_new(base, -1, 0, on_wake, cq);
	if (!cq->ev) {
		pthread_mutex_destroy(&cq->lock);
		free(cq);
		return NULL;
	}
	return cq;
}

void seula_completions_free(struct seula_completions *cq)
{
	if (!cq)
		return;
	drain(cq);
	event_free(cq->ev);
	pthread_mutex_destroy(&cq->lock);
	free(cq);
}

void seula_completions_post(struct seula_completions *cq,
                            struct seula_completion *c)
{
	c->next = NULL;
	pthread_mutex_lock(&cq->lock);
	if (cq->tail)
		cq->tail->next = c;
	else
		cq->head = c;
	cq->tail = c;
	cq->pending++;
	pthread_mutex_unlock(&cq->lock);
	/* Activating an already active event is a no-op: one wake-up runs
	 * everything queued so far. */
	event_active(cq->ev, 0, 0);
}

unsigned long seula_completions_pending(struct seula_completions *cq)
{
	pthread_mutex_lock(&cq->lock);
	unsigned long n = cq->pending;
	pthread_mutex_unlock(&cq->lock);
	return n;
}
