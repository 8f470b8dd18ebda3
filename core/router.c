/*
 * router.c - matching paths to plugin routes.
 */
#include "router.h"

#include <event2/http.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int seula_method_bit(const char *name)
{
	static const struct {
		const char *name;
		int bit;
	} methods[] = {
	        {"GET", SEULA_METHOD_GET},       {"POST", SEULA_METHOD_POST},
	        {"PUT", SEULA_METHOD_PUT},       {"PATCH", SEULA_METHOD_PATCH},
	        {"DELETE", SEULA_METHOD_DELETE},
	};
	for (size_t i = 0; i < sizeof(methods) / sizeof(methods[0]); i++)
		if (strcmp(methods[i].name, name) == 0)
			return methods[i].bit;
	return 0;
}

bool seula_route_changes_state(const struct seula_route *route, int method_bit)
{
	return method_bit != SEULA_METHOD_GET ||
	       route->thread == SEULA_ON_WRITER;
}

static bool is_param(const char *seg)
{
	size_t n = strlen(seg);
	return n > 2 && seg[0] == '{' && seg[n - 1] == '}';
}

static bool segment_ok(const char *seg)
{
	if (is_param(seg)) {
		for (const char *p = seg + 1; p[1]; p++)
			if (!((*p >= 'a' && *p <= 'z') || *p == '_'))
				return false;
		return true;
	}
	if (!*seg)
		return false;
	for (const char *p = seg; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') ||
		      *p == '-' || *p == '_' || *p == '.'))
			return false;
	return true;
}

static int split(const char *pattern, struct seula_route_entry *e)
{
	if (pattern[0] != '/' || strlen(pattern) > 512)
		return SEULA_EINVAL;
	const char *p = pattern + 1;
	while (*p) {
		const char *slash = strchr(p, '/');
		size_t len = slash ? (size_t)(slash - p) : strlen(p);
		if (e->n_segments == SEULA_ROUTE_MAX_SEGMENTS)
			return SEULA_EINVAL;
		char *seg = strndup(p, len);
		if (!seg)
			return SEULA_ENOMEM;
		e->segments[e->n_segments++] = seg;
		if (!segment_ok(seg))
			return SEULA_EINVAL;
		p += len;
		if (*p == '/') {
			p++;
			if (!*p)
				return SEULA_EINVAL; /* no trailing slash */
		}
	}
	return e->n_segments ? SEULA_OK : SEULA_EINVAL;
}

static void entry_free(struct seula_route_entry *e)
{
	for (size_t i = 0; i < e->n_segments; i++)
		free(e->segments[i]);
	e->n_segments = 0;
}

static bool same_shape(const struct seula_route_entry *a,
                       const struct seula_route_entry *b)
{
	if (a->n_segments != b->n_segments)
		return false;
	for (size_t i = 0; i < a->n_segments; i++) {
		bool pa = is_param(a->segments[i]),
		     pb = is_param(b->segments[i]);
		if (pa != pb)
			return false;
		if (!pa && strcmp(a->segments[i], b->segments[i]) != 0)
			return false;
	}
	return true;
}

int seula_router_add(struct seula_router *r, const struct seula_route *route,
                     void *instance, const char *owner, char *err,
                     size_t errlen)
{
	const char *path = route->path ? route->path : "(null)";
	if (!route->handler) {
		snprintf(err, errlen, "%s: route %s has no handler", owner,
		         path);
		return SEULA_EINVAL;
	}
	if (route->roles == 0) {
		snprintf(err, errlen,
		         "%s: route %s declares no roles; every route must say "
		         "who may call it (SEULA_ROLE_PUBLIC for anyone)",
		         owner, path);
		return SEULA_EINVAL;
	}
	if ((route->methods & ~0x1fu) || !route->methods) {
		snprintf(err, errlen, "%s: route %s has no valid methods",
		         owner, path);
		return SEULA_EINVAL;
	}
	if (route->thread < SEULA_ON_LOOP || route->thread > SEULA_ON_WRITER) {
		snprintf(err, errlen, "%s: route %s names no thread", owner,
		         path);
		return SEULA_EINVAL;
	}
	struct seula_route_entry e;
	memset(&e, 0, sizeof(e));
	e.route = route;
	e.instance = instance;
	e.owner = owner;
	int rc = route->path ? split(route->path, &e) : SEULA_EINVAL;
	if (rc != SEULA_OK) {
		entry_free(&e);
		snprintf(err, errlen,
		         "%s: route pattern '%s' is malformed (want "
		         "/a/b/{name}, "
		         "lower case, no trailing slash)",
		         owner, path);
		return rc;
	}
	if (strcmp(e.segments[0], "api") != 0 || e.n_segments < 2 ||
	    strcmp(e.segments[1], "collect") == 0 ||
	    strcmp(e.segments[1], "health") == 0) {
		entry_free(&e);
		snprintf(err, errlen,
		         "%s: route %s must live under /api/ and not under the "
		         "core's /api/collect or /api/health",
		         owner, path);
		return SEULA_EINVAL;
	}
	for (size_t i = 0; i < r->n; i++) {
		if (same_shape(&r->entries[i], &e) &&
		    (r->entries[i].route->methods & route->methods)) {
			snprintf(err, errlen,
			         "%s: route %s overlaps %s of plugin %s", owner,
			         path, r->entries[i].route->path,
			         r->entries[i].owner);
			entry_free(&e);
			return SEULA_ECONFLICT;
		}
	}
	void *p = realloc(r->entries, (r->n + 1) * sizeof(*r->entries));
	if (!p) {
		entry_free(&e);
		return SEULA_ENOMEM;
	}
	r->entries = p;
	r->entries[r->n++] = e;
	return SEULA_OK;
}

void seula_router_free(struct seula_router *r)
{
	for (size_t i = 0; i < r->n; i++)
		entry_free(&r->entries[i]);
	free(r->entries);
	r->entries = NULL;
	r->n = 0;
}

/* Score: literal matches count more, so /a/search beats /a/{id}. */
static int match_entry(const struct seula_route_entry *e, char **segs, size_t n)
{
	if (n != e->n_segments)
		return -1;
	int score = 0;
	for (size_t i = 0; i < n; i++) {
		if (is_param(e->segments[i])) {
			if (!*segs[i])
				return -1;
			continue;
		}
		if (strcmp(e->segments[i], segs[i]) != 0)
			return -1;
		score += 1 << (SEULA_ROUTE_MAX_SEGMENTS - i);
	}
	return score;
}

static size_t split_path(char *buf, char **segs)
{
	size_t n = 0;
	char *p = buf + 1;
	for (;;) {
		if (n == SEULA_ROUTE_MAX_SEGMENTS)
			return SEULA_ROUTE_MAX_SEGMENTS + 1;
		segs[n++] = p;
		char *slash = strchr(p, '/');
		if (!slash)
			break;
		*slash = '\0';
		p = slash + 1;
	}
	return n;
}

int seula_router_match(const struct seula_router *r, const char *path,
                       int method_bit, struct seula_route_match *m,
                       unsigned *allowed)
{
	char buf[1024];
	char *segs[SEULA_ROUTE_MAX_SEGMENTS];
	*allowed = 0;
	if (path[0] != '/' || strlen(path) >= sizeof(buf))
		return SEULA_ENOTFOUND;
	memcpy(buf, path, strlen(path) + 1);
	size_t n = split_path(buf, segs);
	if (n > SEULA_ROUTE_MAX_SEGMENTS)
		return SEULA_ENOTFOUND;

	/* The most literal shape that matches names the resource, whatever
	 * the method: GET /api/c/import, where only POST /api/c/import is,
	 * is a 405 for it, not GET /api/c/{id} with id "import". */
	int top = -1;
	for (size_t i = 0; i < r->n; i++) {
		int score = match_entry(&r->entries[i], segs, n);
		if (score > top)
			top = score;
	}
	const struct seula_route_entry *best = NULL;
	for (size_t i = 0; top >= 0 && i < r->n; i++) {
		if (match_entry(&r->entries[i], segs, n) != top)
			continue;
		*allowed |= r->entries[i].route->methods;
		if (r->entries[i].route->methods & (unsigned)method_bit)
			best = &r->entries[i];
	}
	if (!best)
		return *allowed ? SEULA_ECONFLICT : SEULA_ENOTFOUND;

	m->entry = best;
	m->n_params = 0;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_param(best->segments[i]))
			continue;
		size_t dlen = 0;
		char *dec = evhttp_uridecode(segs[i], 0, &dlen);
		if (!dec)
			return SEULA_ENOTFOUND;
		const char *name = best->segments[i] + 1;
		size_t nlen = strlen(name) - 1;
		if (used + nlen + 1 + dlen + 1 > sizeof(m->storage) ||
		    memchr(dec, '\0', dlen)) {
			free(dec);
			return SEULA_ENOTFOUND;
		}
		char *k = m->storage + used;
		memcpy(k, name, nlen);
		k[nlen] = '\0';
		used += nlen + 1;
		char *v = m->storage + used;
		memcpy(v, dec, dlen + 1);
		used += dlen + 1;
		free(dec);
		m->params[m->n_params].key = k;
		m->params[m->n_params].value = v;
		m->n_params++;
	}
	return SEULA_OK;
}
