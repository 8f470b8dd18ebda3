/*
 * completion.h - hand finished work back to the event-loop thread.
 *
 * Worker threads (the writer, the readers) post a completion; the loop that
 * owns the queue runs its callback.  Every posted completion runs exactly
 * once, on the loop thread, in posting order.  Posting wakes the loop with
 * event_active(), which needs evthread_use_pthreads() before any base exists.
 */
#ifndef SEULA_COMPLETION_H
#define SEULA_COMPLETION_H

struct event_base;
struct seula_completions;

struct seula_completion {
	void (*run)(struct seula_completion *c); /* on the loop thread */
	struct seula_completion *next;           /* the queue's */
};

/* NULL when out of memory. */
struct seula_completions *seula_completions_new(struct event_base *base);
/* Runs whatever is still queued, then frees; NULL is fine. */
void seula_completions_free(struct seula_completions *cq);
/* Any thread. */
void seula_completions_post(struct seula_completions *cq,
                            struct seula_completion *c);
/* Completions posted but not yet run; any thread. */
unsigned long seula_completions_pending(struct seula_completions *cq);

#endif
