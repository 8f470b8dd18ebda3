/*
 * auth.h - staff logins, sessions and the gate of every staff route.
 *
 * POST /api/login   {"username", "password"} (application/json): on
 *                   success a new session: a cookie seula_session (256
 *                   random bits; HttpOnly, SameSite=Strict, Secure behind
 *                   TLS) and {"name", "role", "csrf"}; 401 otherwise, with
 *                   the same answer, after the same work, for an unknown
 *                   name and a wrong password.  Failures are limited per
 *                   account and per address (429 with Retry-After); a
 *                   login holds its place against the limit from before
 *                   its check is queued until the check ends.  A success
 *                   also sets seula_device (device.h; Path=/api/login):
 *                   a login to that account that carries it is limited
 *                   per device instead, and no lock of the account's or
 *                   the address's stops it, until the account's password
 *                   changes.
 * POST /api/logout  ends the session (CSRF token required).
 * GET  /api/me      the session's name, role and CSRF token (401 without).
 * GET  /api/session the same, or {"signed_in": false, "expired": bool}
 *                   with a 200: for pages that ask before anything else.
 *
 * A request whose Authorization header offers an API key ("Bearer
 * seula_...") is gated by that key alone (apikeys.h), never by a cookie:
 * 401 for no live key, 403 for a route a key may not use or its owner's
 * role may not.  Another Authorization header is left alone.
 *
 * A staff route passes seula_auth_authorize(): 401 without a live session,
 * 403 for a role the route does not allow, 403 for a state-changing
 * request (seula_route_changes_state(): any method but GET, and a GET
 * route on the writer) whose X-CSRF-Token header is not the session's.  Logins,
 * logouts and failures go to the audit log; so does every staff request (see
 * http.h), committed before its reply.
 *
 * The password check (Argon2id) runs on a reader thread, the session and
 * audit rows on the writer; the loop only routes.
 */
#ifndef SEULA_AUTH_H
#define SEULA_AUTH_H

#include "completion.h"
#include "config.h"
#include "http.h"
#include "log.h"
#include "readers.h"
#include "router.h"
#include "store.h"

#include <event2/http.h>
#include <stdatomic.h>
#include <stdbool.h>

#define SEULA_SESSION_COOKIE "seula_session"
#define SEULA_CSRF_HEADER "X-CSRF-Token"

/* The event loop a request is handled on: where its completions run. */
struct seula_loop {
	struct seula_completions *cq;
	atomic_size_t *inflight; /* requests waiting for a completion */
};

struct seula_auth;

/* Registers its session task with the store (call before the store's start
 * tasks run).  `key` must outlive it. */
int seula_auth_new(struct seula_auth **out, const struct seula_config *cfg,
                   const unsigned char *key, struct seula_store *store,
                   struct seula_readers *readers,
                   const struct seula_logger *log, char *err, size_t errlen);
void seula_auth_free(struct seula_auth *auth);

/* /api/login, /api/logout, /api/me, /api/session: true when `path` is one
 * of them; the request is then answered. */
bool seula_auth_handle(struct seula_auth *auth, struct evhttp_request *req,
                       const char *path, enum evhttp_cmd_type cmd,
                       const struct seula_loop *loop);

/* The gate of a staff route.  SEULA_OK with *who filled, or an error after
 * answering the request (401 or 403; a denial is audited). */
int seula_auth_authorize(struct seula_auth *auth, struct evhttp_request *req,
                         unsigned roles, bool changes_state,
                         const char *route_label, struct seula_http_who *who,
                         const struct seula_loop *loop);

/* The sessions it checks (API keys are sessions too: apikeys.h). */
struct seula_sessions *seula_auth_sessions(struct seula_auth *auth);

/* The core's own staff routes (GET /api/audit), for the router; their
 * instance is the server's secret key (SEULA_SECRET_BYTES), which names a
 * visitor in the audit log (seula_consent_audit_visitor()). */
extern const struct seula_route seula_auth_routes[];
extern const size_t seula_auth_n_routes;

#endif
