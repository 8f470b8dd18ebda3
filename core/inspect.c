/*
 * inspect.c - seula inspect-ip.
 */
#include "inspect.h"

#include "event.h"
#include "netaddr.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

int seula_inspect_ip(const struct seula_loaded_plugin *anonymize,
                     const char *const *ips, size_t n, FILE *out)
{
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		struct seula_ip ip;
		if (seula_ip_parse(ips[i], &ip) != SEULA_OK) {
			fprintf(stderr, "seula: '%s' is not an IP address\n",
			        ips[i]);
			status = 1;
			continue;
		}
		struct seula_arena arena;
		seula_arena_init(&arena, 1 << 16);
		struct seula_event *ev = seula_event_new(&arena);
		const char *anon = NULL;
		if (ev) {
			seula_event_set_str(ev, SEULA_FIELD_SITE, "inspect", 7);
			seula_event_set_int(ev, SEULA_FIELD_TYPE,
			                    SEULA_EVENT_PAGEVIEW);
			seula_event_set_ip(ev, &ip);
			enum seula_verdict v = anonymize->desc.on_event(
			        anonymize->instance, ev);
			seula_event_wipe_ip(ev);
			if (v == SEULA_KEEP)
				anon = seula_event_str(ev, SEULA_FIELD_IP_ANON);
		}
		if (anon) {
			fprintf(out, "%s\n", anon);
		} else {
			fprintf(stderr,
			        "seula: the plugin kept no address for "
			        "'%s'\n",
			        ips[i]);
			status = 1;
		}
		seula_arena_free(&arena);
	}
	return status;
}

int seula_inspect_ip_unmasked(const char *const *ips, size_t n, FILE *out)
{
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		struct seula_ip ip;
		char text[SEULA_IP_TEXT_MAX];
		if (seula_ip_parse(ips[i], &ip) != SEULA_OK ||
		    seula_ip_format(&ip, text, sizeof(text)) != SEULA_OK) {
			fprintf(stderr, "seula: '%s' is not an IP address\n",
			        ips[i]);
			status = 1;
			continue;
		}
		fprintf(out, "%s\n", text);
	}
	return status;
}

static json_t *field_or_null(const struct seula_event *ev, enum seula_field f)
{
	const char *v = seula_event_str(ev, f);
	return v ? json_string(v) : json_null();
}

static void print_json(json_t *o, FILE *out)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	fprintf(out, "%s\n", text ? text : "{\"error\":\"out of memory\"}");
	free(text);
	json_decref(o);
}

int seula_inspect_geo(const struct seula_loaded_plugin *geoip,
                      const char *const *ips, size_t n, FILE *out)
{
	int status = 0;
	for (size_t i = 0; i < n; i++) {
		struct seula_ip ip;
		if (seula_ip_parse(ips[i], &ip) != SEULA_OK) {
			print_json(json_pack("{s:s, s:s}", "ip", ips[i],
			                     "error", "not an IP address"),
			           out);
			status = 1;
			continue;
		}
		struct seula_arena arena;
		seula_arena_init(&arena, 1 << 16);
		struct seula_event *ev = seula_event_new(&arena);
		if (ev) {
			seula_event_set_str(ev, SEULA_FIELD_SITE, "inspect", 7);
			seula_event_set_ip(ev, &ip);
			geoip->desc.on_event(geoip->instance, ev);
			seula_event_wipe_ip(ev);
			print_json(
			        json_pack(
			                "{s:s, s:o, s:o, s:o}", "ip", ips[i],
			                "country",
			                field_or_null(ev, SEULA_FIELD_COUNTRY),
			                "subdivision",
			                field_or_null(ev, SEULA_FIELD_REGION),
			                "city",
			                field_or_null(ev, SEULA_FIELD_CITY)),
			        out);
		}
		seula_arena_free(&arena);
	}
	return status;
}

int seula_inspect_ua(const struct seula_loaded_plugin *useragent, FILE *in,
                     FILE *out)
{
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;
	while ((len = getline(&line, &cap, in)) >= 0) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		struct seula_arena arena;
		seula_arena_init(&arena, 1 << 20);
		struct seula_event *ev = seula_event_new(&arena);
		if (!ev) {
			seula_arena_free(&arena);
			break;
		}
		seula_event_set_str(ev, SEULA_FIELD_SITE, "inspect", 7);
		/* As the server would: the header, cut and printable only, and
		 * the field from it. */
		if (seula_event_add_header(ev, "User-Agent", line) ==
		    SEULA_OK) {
			const char *ua = seula_event_header(ev, "User-Agent");
			seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, ua,
			                    strlen(ua));
		}
		useragent->desc.on_event(useragent->instance, ev);
		int64_t bot = 0;
		seula_event_int(ev, SEULA_FIELD_BOT, &bot);
		json_t *ua = json_stringn_nocheck(line, (size_t)len);
		if (!seula_text_valid(line, (size_t)len)) {
			json_decref(ua);
			ua = json_null();
		}
		print_json(
		        json_pack(
		                "{s:o, s:{s:o, s:o}, s:{s:o, s:o}, s:o, s:b}",
		                "ua", ua, "browser", "family",
		                field_or_null(ev, SEULA_FIELD_BROWSER), "major",
		                field_or_null(ev, SEULA_FIELD_BROWSER_VERSION),
		                "os", "family",
		                field_or_null(ev, SEULA_FIELD_OS), "major",
		                field_or_null(ev, SEULA_FIELD_OS_VERSION),
		                "device", field_or_null(ev, SEULA_FIELD_DEVICE),
		                "bot", bot != 0),
		        out);
		seula_arena_free(&arena);
	}
	free(line);
	return 0;
}
