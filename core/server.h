/*
 * server.h - the HTTP server: one libevent loop per worker thread, all
 * sharing the listening port (SO_REUSEPORT), worker 0 on the caller's thread.
 *
 * Routes: /api/collect and /api/health (the core), plugin routes under /api/,
 * and the files of web_root for everything else.  Every error answer is a
 * JSON object {"error": code, "message": text}.
 *
 * SIGHUP calls every plugin's reload hook (files swapped on disk are picked
 * up; traffic goes on).
 *
 * Stop: SIGTERM or SIGINT closes the listeners, answers new requests on open
 * connections 503, waits for every submitted job to complete and its reply
 * to be written, stops the writer (which commits what is queued) and returns
 * 0 from seula_server_run().
 */
#ifndef SEULA_SERVER_H
#define SEULA_SERVER_H

#include "auth.h"
#include "config.h"
#include "log.h"
#include "pipeline.h"
#include "readers.h"
#include "router.h"
#include "statement.h"
#include "static.h"
#include "store.h"

struct seula_server_deps {
	const struct seula_config *cfg;
	const struct seula_logger *log;
	struct seula_store *store;
	struct seula_readers *readers;
	const struct seula_pipeline *pipeline;
	const struct seula_router *router;
	const struct seula_static *files;
	const struct seula_plugins *plugins; /* for reload on SIGHUP */
	struct seula_auth *auth; /* staff logins and the gate of staff routes */
	const unsigned char *key;                /* the audit chain's */
	const struct seula_statement *statement; /* GET /privacy */
	const char *version;
};

struct seula_server;

/* Create the workers and bind; nothing runs yet.  `deps` must outlive it. */
int seula_server_new(struct seula_server **out,
                     const struct seula_server_deps *deps, char *err,
                     size_t errlen);
/* "http://127.0.0.1:PORT" with the port really bound. */
const char *seula_server_url(const struct seula_server *srv);
/* Run until SIGTERM/SIGINT; returns 0 after a clean stop.  The writer is
 * stopped before it returns. */
int seula_server_run(struct seula_server *srv);
void seula_server_free(struct seula_server *srv);

/* Split "host:port" / "[v6]:port"; exposed for tests. */
int seula_parse_listen(const char *listen, char *host, size_t hostlen,
                       char *port, size_t portlen);

#endif
