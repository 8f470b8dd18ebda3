/* Unit tests: core/router.c - plugin routes are declared, never open by
 * accident, and never overlap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "router.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int h(void *i, struct seula_http *x)
{
	(void)i;
	(void)x;
	return 0;
}

static char err[512];

static int add(struct seula_router *r, unsigned methods, const char *path,
               unsigned roles)
{
	static struct seula_route routes[32];
	static int n;
	struct seula_route *route = &routes[n++ % 32];
	*route = (struct seula_route){methods,       path, roles,
	                              SEULA_ON_LOOP, h,    NULL};
	err[0] = '\0';
	return seula_router_add(r, route, NULL, "p", err, sizeof(err));
}

static void refusals(void **state)
{
	(void)state;
	struct seula_router r = {0};
	assert_int_not_equal(add(&r, SEULA_METHOD_GET, "/api/x", 0), SEULA_OK);
	assert_non_null(strstr(err, "declares no roles"));
	assert_int_not_equal(add(&r, 0, "/api/x", SEULA_ROLE_PUBLIC), SEULA_OK);
	assert_int_not_equal(
	        add(&r, SEULA_METHOD_GET, "/other/x", SEULA_ROLE_PUBLIC),
	        SEULA_OK);
	assert_int_not_equal(
	        add(&r, SEULA_METHOD_GET, "/api/collect", SEULA_ROLE_PUBLIC),
	        SEULA_OK);
	const char *bad[] = {"api/x",      "/api/x/", "/api//x",  "/api/X",
	                     "/api/{Bad}", "/api/{}", "/api/a b", ""};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
		assert_int_not_equal(
		        add(&r, SEULA_METHOD_GET, bad[i], SEULA_ROLE_PUBLIC),
		        SEULA_OK);
	assert_int_equal(
	        add(&r, SEULA_METHOD_GET, "/api/c/{id}", SEULA_ROLE_ADMIN),
	        SEULA_OK);
	/* Same shape and method: refused, whatever the parameter name. */
	assert_int_equal(add(&r, SEULA_METHOD_GET | SEULA_METHOD_POST,
	                     "/api/c/{key}", SEULA_ROLE_ADMIN),
	                 SEULA_ECONFLICT);
	/* Same shape, other method: fine. */
	assert_int_equal(
	        add(&r, SEULA_METHOD_DELETE, "/api/c/{key}", SEULA_ROLE_ADMIN),
	        SEULA_OK);
	seula_router_free(&r);
}

static void matching(void **state)
{
	(void)state;
	struct seula_router r = {0};
	assert_int_equal(
	        add(&r, SEULA_METHOD_GET, "/api/c/{id}", SEULA_ROLE_PUBLIC), 0);
	assert_int_equal(
	        add(&r, SEULA_METHOD_GET, "/api/c/search", SEULA_ROLE_PUBLIC),
	        0);
	assert_int_equal(add(&r, SEULA_METHOD_POST, "/api/c/{id}/orders",
	                     SEULA_ROLE_PUBLIC),
	                 0);
	struct seula_route_match m;
	unsigned allowed;
	assert_int_equal(seula_router_match(&r, "/api/c/search",
	                                    SEULA_METHOD_GET, &m, &allowed),
	                 SEULA_OK);
	assert_string_equal(m.entry->route->path, "/api/c/search");
	assert_int_equal(m.n_params, 0);
	assert_int_equal(seula_router_match(&r, "/api/c/a%20b%2Fc",
	                                    SEULA_METHOD_GET, &m, &allowed),
	                 SEULA_OK);
	assert_string_equal(m.params[0].key, "id");
	assert_string_equal(m.params[0].value, "a b/c");
	assert_int_equal(seula_router_match(&r, "/api/c/7/orders",
	                                    SEULA_METHOD_GET, &m, &allowed),
	                 SEULA_ECONFLICT);
	assert_int_equal(allowed, SEULA_METHOD_POST);
	assert_int_equal(seula_router_match(&r, "/api/c/7/x", SEULA_METHOD_GET,
	                                    &m, &allowed),
	                 SEULA_ENOTFOUND);
	/* A literal route of another method names the resource: 405, not
	 * the {id} route with id "import". */
	assert_int_equal(
	        add(&r, SEULA_METHOD_POST, "/api/c/import", SEULA_ROLE_PUBLIC),
	        0);
	assert_int_equal(seula_router_match(&r, "/api/c/import",
	                                    SEULA_METHOD_GET, &m, &allowed),
	                 SEULA_ECONFLICT);
	assert_int_equal(allowed, SEULA_METHOD_POST);
	assert_int_equal(seula_router_match(&r, "/api/c/import",
	                                    SEULA_METHOD_POST, &m, &allowed),
	                 SEULA_OK);
	assert_string_equal(m.entry->route->path, "/api/c/import");
	assert_int_equal(seula_router_match(&r, "/api/c/importx",
	                                    SEULA_METHOD_GET, &m, &allowed),
	                 SEULA_OK);
	assert_string_equal(m.params[0].value, "importx");
	assert_int_equal(seula_router_match(&r, "/api/c/", SEULA_METHOD_GET, &m,
	                                    &allowed),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_router_match(&r, "/api/c/%00", SEULA_METHOD_GET,
	                                    &m, &allowed),
	                 SEULA_ENOTFOUND);
	char deep[1100] = "/api";
	while (strlen(deep) < 1050)
		strcat(deep, "/a");
	assert_int_equal(
	        seula_router_match(&r, deep, SEULA_METHOD_GET, &m, &allowed),
	        SEULA_ENOTFOUND);
	assert_int_equal(seula_method_bit("PATCH"), SEULA_METHOD_PATCH);
	assert_int_equal(seula_method_bit("BREW"), 0);
	seula_router_free(&r);
}

/* Which requests must carry the CSRF token: a GET on the writer records
 * something (an export's disclosures), so it is one of them. */
static void state_changing(void **state)
{
	(void)state;
	const enum seula_route_thread threads[] = {
	        SEULA_ON_LOOP, SEULA_ON_READER, SEULA_ON_WRITER};
	const int methods[] = {SEULA_METHOD_GET, SEULA_METHOD_POST,
	                       SEULA_METHOD_PUT, SEULA_METHOD_PATCH,
	                       SEULA_METHOD_DELETE};
	for (size_t t = 0; t < 3; t++)
		for (size_t m = 0; m < 5; m++) {
			struct seula_route route = {
			        0x1f,       "/api/x", SEULA_ROLE_ADMIN,
			        threads[t], h,        NULL};
			bool want = methods[m] != SEULA_METHOD_GET ||
			            threads[t] == SEULA_ON_WRITER;
			assert_int_equal(
			        seula_route_changes_state(&route, methods[m]),
			        want);
		}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(refusals),
	        cmocka_unit_test(matching),
	        cmocka_unit_test(state_changing),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
