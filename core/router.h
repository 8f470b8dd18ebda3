/*
 * router.h - the table of plugin routes.
 *
 * Patterns are literal segments and {name} segments.  At start the router
 * refuses a route with no roles declared, no methods, a malformed pattern, or
 * the same shape and a shared method as a route already added.  At match
 * time a literal segment beats a {name} segment.
 */
#ifndef SEULA_ROUTER_H
#define SEULA_ROUTER_H

#include "http.h"

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>

#define SEULA_ROUTE_MAX_SEGMENTS 16

struct seula_route_entry {
	const struct seula_route *route; /* borrowed from the plugin */
	void *instance;
	const char *owner; /* plugin name, borrowed */
	char *segments[SEULA_ROUTE_MAX_SEGMENTS];
	size_t n_segments;
};

struct seula_router {
	struct seula_route_entry *entries;
	size_t n;
};

struct seula_route_match {
	const struct seula_route_entry *entry;
	struct seula_kv params[SEULA_ROUTE_MAX_SEGMENTS];
	size_t n_params;
	char storage[2048]; /* decoded segment values live here */
};

int seula_router_add(struct seula_router *r, const struct seula_route *route,
                     void *instance, const char *owner, char *err,
                     size_t errlen);
void seula_router_free(struct seula_router *r);

/*
 * Find the route for `path` (the raw, still-encoded path).  Returns SEULA_OK
 * with `m` filled; SEULA_ENOTFOUND when no pattern matches; SEULA_ECONFLICT
 * when a pattern matches but not for `method_bit` (a 405), with `*allowed`
 * the methods that would.
 */
int seula_router_match(const struct seula_router *r, const char *path,
                       int method_bit, struct seula_route_match *m,
                       unsigned *allowed);

/*
 * Whether a staff request to `route` with `method_bit` must carry the
 * session's CSRF token: every method but GET, and a GET on the writer too,
 * since a route is placed there because it records something (a DSR export
 * completes the request, a labels or finance export records disclosures).
 * SameSite=Strict keeps other sites' pages out, not a sibling subdomain's.
 */
bool seula_route_changes_state(const struct seula_route *route, int method_bit);

/* Method name to SEULA_METHOD_* bit, 0 if not one. */
int seula_method_bit(const char *name);

#endif
