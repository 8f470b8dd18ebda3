/*
 * fuzz_useragent.c - libFuzzer target for the useragent plugin: a user
 * agent and client hints, split on newlines, through its on_event (the
 * uap-core engine, the crawler list, the hints parser and the cache).
 */
#include "plugin_harness.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct harness h;
static int ready;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!ready) {
		const char *ov[] = {
		        "plugin.useragent.regexes=" SEULA_SOURCE_DIR
		        "/node_modules/uap-core/regexes.yaml",
		        "plugin.useragent.crawlers=" SEULA_SOURCE_DIR
		        "/node_modules/crawler-user-agents/"
		        "crawler-user-agents.json",
		        "plugin.useragent.cache_size=64", NULL};
		harness_init(&h, ov);
		ready = 1;
	}
	if (size > 8192)
		return 0;
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	static const char *const names[] = {
	        "User-Agent", "Sec-CH-UA", "Sec-CH-UA-Mobile",
	        "Sec-CH-UA-Platform", "Sec-CH-UA-Platform-Version"};
	struct seula_arena arena;
	seula_arena_init(&arena, 1 << 20);
	struct seula_event *ev = seula_event_new(&arena);
	char *p = text;
	for (size_t i = 0; i < 5 && p; i++) {
		char *nl = strchr(p, '\n');
		if (nl)
			*nl = '\0';
		seula_event_add_header(ev, names[i], p);
		p = nl ? nl + 1 : NULL;
	}
	const char *ua = seula_event_header(ev, "User-Agent");
	if (ua)
		seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, ua, strlen(ua));
	seula_plugin.on_event(h.instance, ev);
	seula_arena_free(&arena);
	free(text);
	return 0;
}
