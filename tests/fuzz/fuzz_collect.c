/*
 * fuzz_collect.c - libFuzzer target for everything a request's bytes reach
 * before the pipeline: the collect JSON body, the GET query, the
 * X-Forwarded-For walk, the Origin check and plugin route matching.
 *
 * The first byte picks the parser; the rest is its input.
 */
#include "collect.h"
#include "netaddr.h"
#include "router.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct seula_config cfg;
static struct seula_router router;
static int ready;

static int handler(void *instance, struct seula_http *http)
{
	(void)instance;
	(void)http;
	return 0;
}

static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/stats/{site}/summary", SEULA_ROLE_ANALYST,
         SEULA_ON_READER, handler, NULL},
        {SEULA_METHOD_GET | SEULA_METHOD_POST, "/api/customers/{id}",
         SEULA_ROLE_ADMIN, SEULA_ON_WRITER, handler, NULL},
        {SEULA_METHOD_GET, "/api/customers/search", SEULA_ROLE_ADMIN,
         SEULA_ON_READER, handler, NULL},
};

static void setup(void)
{
	char err[512];
	const char *ov[] = {
	        "site.demo.domains=example.com, *.example.org, [::1]",
	        "site.demo.keep_query=page, id",
	        "server.trusted_proxies=127.0.0.0/8, 10.0.0.0/8, ::1",
	        "limits.max_events_per_request=20", NULL};
	if (seula_config_load(&cfg, NULL, ov, err, sizeof(err)) != SEULA_OK)
		abort();
	for (size_t i = 0; i < sizeof(routes) / sizeof(routes[0]); i++)
		if (seula_router_add(&router, &routes[i], NULL, "fuzz", err,
		                     sizeof(err)) != SEULA_OK)
			abort();
	ready = 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready)
		setup();
	if (size < 1 || size > 70000)
		return 0;
	unsigned mode = data[0] % 4;
	data++;
	size--;
	char *text = malloc(size + 1);
	if (!text)
		return 0;
	memcpy(text, data, size);
	text[size] = '\0';

	struct seula_arena arena;
	seula_arena_init(&arena, 1 << 20);
	struct seula_collect_request req = {.cfg = &cfg, .now_ms = 1};
	seula_ip_parse("203.0.113.1", &req.client_ip);
	struct seula_collect_result res;
	struct seula_collect_error err;
	struct seula_event_header h = {"User-Agent", text};

	switch (mode) {
	case 0:
		req.headers = &h;
		req.n_headers = 1;
		seula_collect_parse_json(&req, (const char *)data, size, &arena,
		                         &res, &err);
		break;
	case 1:
		seula_collect_parse_query(&req, text, &arena, &res, &err);
		break;
	case 2: {
		struct seula_ip peer, out;
		seula_ip_parse("127.0.0.1", &peer);
		seula_client_ip(&peer, text, cfg.trusted, cfg.n_trusted, &out);
		char buf[SEULA_IP_TEXT_MAX];
		seula_ip_format(&out, buf, sizeof(buf));
		seula_collect_origin_allowed(&cfg.sites[0], text);
		struct seula_cidr c;
		seula_cidr_parse(text, &c);
		break;
	}
	default: {
		struct seula_route_match m;
		unsigned allowed;
		seula_router_match(&router, text, SEULA_METHOD_GET, &m,
		                   &allowed);
		break;
	}
	}
	seula_arena_free(&arena);
	free(text);
	return 0;
}
