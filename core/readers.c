/*
 * readers.c - a fixed pool of reader threads.
 */
#include "readers.h"

#include "db.h"
#include "http.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>

#define READ_QUEUE_MAX 1024

struct reader {
	struct seula_readers *pool;
	sqlite3 *db;
	pthread_t thread;
	bool started;
};

struct seula_readers {
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct seula_job *head, *tail;
	size_t queued;
	bool stopping;
	struct reader *readers;
	size_t n;
	const struct seula_logger *log;
};

static void *reader_main(void *arg)
{
	struct reader *rd = arg;
	struct seula_readers *r = rd->pool;
	pthread_mutex_lock(&r->lock);
	for (;;) {
		while (!r->head && !r->stopping)
			pthread_cond_wait(&r->wake, &r->lock);
		if (!r->head)
			break;
		struct seula_job *job = r->head;
		r->head = job->next;
		if (!r->head)
			r->tail = NULL;
		r->queued--;
		pthread_mutex_unlock(&r->lock);

		job->next = NULL;
		if (job->kind == SEULA_JOB_CALL) {
			char err[256] = "";
			job->result = job->call(job->call_arg, rd->db, err,
			                        sizeof(err));
			if (job->result != SEULA_OK && err[0])
				seula_log(r->log, SEULA_LOG_ERROR, "reader",
				          "%s", err);
		} else {
			seula_http_set_db(job->http, rd->db);
			job->result = job->handler(job->instance, job->http);
			seula_http_set_db(job->http, NULL);
		}
		/* A read never leaves a transaction open behind it. */
		if (!sqlite3_get_autocommit(rd->db))
			sqlite3_exec(rd->db, "ROLLBACK", NULL, NULL, NULL);
		seula_completions_post(job->cq, &job->done);

		pthread_mutex_lock(&r->lock);
	}
	pthread_mutex_unlock(&r->lock);
	return NULL;
}

int seula_readers_start(struct seula_readers **out,
                        const struct seula_config *cfg,
                        const struct seula_logger *log, char *err,
                        size_t errlen)
{
	*out = NULL;
	struct seula_readers *r = calloc(1, sizeof(*r));
	if (!r)
		return SEULA_ENOMEM;
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	r->log = log;
	r->readers = calloc((size_t)cfg->readers, sizeof(*r->readers));
	if (!r->readers) {
		seula_readers_stop(r);
		return SEULA_ENOMEM;
	}
	for (size_t i = 0; i < (size_t)cfg->readers; i++) {
		struct reader *rd = &r->readers[i];
		rd->pool = r;
		r->n = i + 1;
		int rc = seula_db_open(&rd->db, cfg->db, true, false, 0, err,
		                       errlen);
		if (rc == SEULA_OK &&
		    pthread_create(&rd->thread, NULL, reader_main, rd) != 0) {
			snprintf(err, errlen, "cannot start a reader thread");
			rc = SEULA_ENOMEM;
		}
		if (rc != SEULA_OK) {
			seula_readers_stop(r);
			return rc;
		}
		rd->started = true;
	}
	*out = r;
	return SEULA_OK;
}

int seula_readers_submit(struct seula_readers *r, struct seula_job *job)
{
	job->next = NULL;
	pthread_mutex_lock(&r->lock);
	int rc = r->stopping                   ? SEULA_ECONFLICT
	         : r->queued >= READ_QUEUE_MAX ? SEULA_EBUSY
	                                       : SEULA_OK;
	if (rc == SEULA_OK) {
		if (r->tail)
			r->tail->next = job;
		else
			r->head = job;
		r->tail = job;
		r->queued++;
		pthread_cond_signal(&r->wake);
	}
	pthread_mutex_unlock(&r->lock);
	return rc;
}

/* Answer a job that has not begun, without running it. */
static void cancel(struct seula_job *job)
{
	job->cancelled = true;
	if (job->kind == SEULA_JOB_CALL) {
		job->result = SEULA_ECONFLICT;
	} else {
		/* As the loops answer what comes while stopping. */
		seula_http_set_header(job->http, "Retry-After", "5");
		seula_http_set_header(job->http, "Connection", "close");
		seula_http_error(job->http, 503, "shutting_down",
		                 "the server is stopping; send again shortly");
		job->result = SEULA_OK;
	}
	seula_completions_post(job->cq, &job->done);
}

void seula_readers_halt(struct seula_readers *r)
{
	if (!r)
		return;
	/* The queue is answered here and now, not by the readers once
	 * their reports are done: the loops are about to stop. */
	pthread_mutex_lock(&r->lock);
	struct seula_job *queued = r->head;
	r->head = r->tail = NULL;
	r->queued = 0;
	r->stopping = true;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	while (queued) {
		struct seula_job *next = queued->next;
		queued->next = NULL;
		cancel(queued);
		queued = next;
	}
}

void seula_readers_stop(struct seula_readers *r)
{
	if (!r)
		return;
	seula_readers_halt(r);
	for (size_t i = 0; i < r->n; i++) {
		if (r->readers[i].started)
			pthread_join(r->readers[i].thread, NULL);
		seula_db_close(r->readers[i].db);
	}
	free(r->readers);
	pthread_cond_destroy(&r->wake);
	pthread_mutex_destroy(&r->lock);
	free(r);
}
