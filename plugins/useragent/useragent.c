/*
 * useragent.c - the enrich stage's browser, OS, device class and bot flag.
 *
 * Browser and OS come from uap-core's regexes.yaml (uap.c), refined by
 * User-Agent Client Hints where the browser sends them (hints.c): Chromium's
 * reduced user agent freezes the OS version and the device model, the hints
 * do not.  Bots are what uap-core calls a "Spider" or what the
 * crawler-user-agents list matches (bots.c); their events are kept with
 * bot = 1 and device "bot", so reports count them apart from visitors.
 *
 * Parsing a new user agent runs hundreds of regular expressions; an LRU
 * cache keyed by the user agent and its hints makes the usual case one hash
 * lookup.  The cache is guarded by a mutex; parsing runs outside it.
 */
#include "bots.h"
#include "hints.h"
#include "lru.h"
#include "uap.h"

#include <seula/plugin.h>

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ua_config {
	const char *regexes;
	const char *crawlers;
	int64_t cache_size;
	int client_hints;
};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_STRING, "regexes", "node_modules/uap-core/regexes.yaml",
         1, 4096, offsetof(struct ua_config, regexes), SEULA_CONFIG_PATH, NULL,
         "uap-core's regexes.yaml"},
        {SEULA_CONFIG_STRING, "crawlers",
         "node_modules/crawler-user-agents/crawler-user-agents.json", 0, 4096,
         offsetof(struct ua_config, crawlers), SEULA_CONFIG_PATH, NULL,
         "crawler-user-agents.json; empty: uap-core's spiders only"},
        {SEULA_CONFIG_INT, "cache_size", "20000", 0, 1000000,
         offsetof(struct ua_config, cache_size), 0, NULL,
         "user agents whose parse is kept; 0 turns the cache off"},
        {SEULA_CONFIG_BOOL, "client_hints", "true", 0, 0,
         offsetof(struct ua_config, client_hints), 0, NULL,
         "read Sec-CH-UA* headers where browsers send them"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

/* What is cached per user agent (and hints). */
struct ua_value {
	char browser[64];
	char browser_major[16];
	char os[64];
	char os_major[16];
	char device[8];
	int bot;
};

struct useragent {
	const struct seula_host *host;
	const struct ua_config *cfg;
	struct uap *uap;
	struct bots *bots;
	pthread_mutex_t lock; /* guards cache */
	struct lru *cache;
};

static bool starts(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static bool in(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

static bool tablet_device(const struct uap_result *r)
{
	return strcmp(r->device, "iPad") == 0 || strstr(r->device, "Tablet") ||
	       strstr(r->model, "Tablet") || strstr(r->device, "Kindle") ||
	       strstr(r->device, "Galaxy Tab") || starts(r->model, "SM-T") ||
	       starts(r->model, "SM-X");
}

static const char *device_class(const struct uap_result *r,
                                const struct hints *h, const char *os,
                                const char *ua)
{
	static const char *const desktop_os[] = {
	        "Mac OS X",  "Linux",         "Ubuntu",     "Debian",
	        "Fedora",    "Chrome OS",     "FreeBSD",    "OpenBSD",
	        "NetBSD",    "Solaris",       "Red Hat",    "SUSE",
	        "Gentoo",    "Mint",          "Arch Linux", "Mageia",
	        "Slackware", "CentOS",        "Kubuntu",    "Xubuntu",
	        "Lubuntu",   "elementary OS", NULL};
	static const char *const mobile_os[] = {
	        "iOS",        "Windows Phone", "BlackBerry OS",  "KaiOS",
	        "Symbian OS", "Firefox OS",    "Sailfish",       "Bada",
	        "MeeGo",      "Maemo",         "Windows Mobile", "HarmonyOS",
	        NULL};

	if (h->mobile == HINT_MOBILE_YES)
		return "mobile";
	if (tablet_device(r))
		return "tablet";
	if (strcmp(os, "Android") == 0) {
		/* An Android browser that is not "Mobile" is on a tablet
		 * (Android phones always say Mobile). */
		if (h->mobile == HINT_MOBILE_NO)
			return "tablet";
		return strstr(ua, "Mobile") ? "mobile" : "tablet";
	}
	if (in(os, mobile_os))
		return "mobile";
	if (strstr(r->device, "TV") || strstr(r->device, "PlayStation") ||
	    strstr(r->device, "Xbox") || strstr(r->device, "Nintendo"))
		return "other";
	if ((starts(os, "Windows") && !starts(os, "Windows CE")) ||
	    in(os, desktop_os))
		return strcmp(r->device, "Other") == 0 ||
		                       strcmp(r->device, "Mac") == 0
		               ? "desktop"
		               : "mobile";
	if (strcmp(r->device, "Other") != 0 &&
	    strcmp(r->device, "Generic Smartphone") != 0)
		return "mobile";
	if (strcmp(r->device, "Generic Smartphone") == 0 ||
	    strcmp(r->device, "Generic Feature Phone") == 0)
		return "mobile";
	return "other";
}

static void classify(const struct useragent *u, const char *ua,
                     const struct hints *h, struct ua_value *v)
{
	memset(v, 0, sizeof(*v));
	if (!ua || !*ua) {
		/* Every browser sends a user agent; scripts may not. */
		strcpy(v->browser, "Other");
		strcpy(v->os, "Other");
		strcpy(v->device, "bot");
		v->bot = 1;
		return;
	}
	size_t len = strlen(ua);
	struct uap_result r;
	uap_parse(u->uap, ua, len, &r);
	v->bot = strcmp(r.device, "Spider") == 0 ||
	         (u->bots && bots_match(u->bots, ua, len));
	/* What no pattern names and that does not present itself as a
	 * browser (every browser's agent begins "Mozilla/", old Opera's
	 * "Opera/") is a program: health checks (kube-probe,
	 * ELB-HealthChecker, GoogleHC) in imported logs, scripts. */
	if (!v->bot && strcmp(r.family, "Other") == 0 &&
	    strncmp(ua, "Mozilla/", 8) != 0 && strncmp(ua, "Opera/", 6) != 0)
		v->bot = 1;

	snprintf(v->browser, sizeof(v->browser), "%s", r.family);
	snprintf(v->browser_major, sizeof(v->browser_major), "%s", r.major);
	snprintf(v->os, sizeof(v->os), "%s", r.os);
	snprintf(v->os_major, sizeof(v->os_major), "%s", r.os_major);
	if (h->browser[0]) {
		/* uap-core names a browser's mobile build apart ("Chrome
		 * Mobile", "Edge Mobile", "Opera Mobile"); its brand is the
		 * same, and the name stays the one it has without hints
		 * (an imported log's, a plain-HTTP page's). */
		size_t bl = strlen(h->browser);
		if (strncmp(v->browser, h->browser, bl) != 0 ||
		    v->browser[bl] != ' ')
			snprintf(v->browser, sizeof(v->browser), "%s",
			         h->browser);
		if (h->browser_major[0])
			snprintf(v->browser_major, sizeof(v->browser_major),
			         "%s", h->browser_major);
	}
	if (h->os[0]) {
		if (strcmp(h->os, v->os) != 0) {
			snprintf(v->os, sizeof(v->os), "%s", h->os);
			v->os_major[0] = '\0';
		}
		if (h->os_major[0])
			snprintf(v->os_major, sizeof(v->os_major), "%s",
			         h->os_major);
	}
	snprintf(v->device, sizeof(v->device), "%s",
	         v->bot ? "bot" : device_class(&r, h, v->os, ua));
}

/* Key: the user agent and the hints that change the answer. */
static size_t cache_key(char *buf, size_t cap, const char *ua,
                        const char *const hdr[4])
{
	size_t n = 0;
	const char *parts[5] = {ua ? ua : "", hdr[0], hdr[1], hdr[2], hdr[3]};
	for (int i = 0; i < 5; i++) {
		const char *p = parts[i] ? parts[i] : "";
		size_t l = strlen(p);
		if (n + l + 1 >= cap)
			l = cap - n - 1;
		memcpy(buf + n, p, l);
		n += l;
		buf[n++] = '\x1f';
		if (n >= cap - 1)
			break;
	}
	return n;
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct useragent *u = instance;
	const struct seula_host *h = u->host;
	const char *ua = h->event_str(ev, SEULA_FIELD_USER_AGENT);
	const char *hdr[4] = {NULL, NULL, NULL, NULL};
	if (u->cfg->client_hints) {
		hdr[0] = h->event_header(ev, "Sec-CH-UA");
		hdr[1] = h->event_header(ev, "Sec-CH-UA-Mobile");
		hdr[2] = h->event_header(ev, "Sec-CH-UA-Platform");
		hdr[3] = h->event_header(ev, "Sec-CH-UA-Platform-Version");
	}
	/* Captured headers are at most 1 KiB each. */
	char key[5 * 1025 + 8];
	size_t klen = cache_key(key, sizeof(key), ua, hdr);

	struct ua_value v;
	pthread_mutex_lock(&u->lock);
	bool hit = lru_get(u->cache, key, klen, &v);
	pthread_mutex_unlock(&u->lock);
	if (!hit) {
		struct hints hints;
		hints_parse(hdr[0], hdr[1], hdr[2], hdr[3], &hints);
		classify(u, ua, &hints, &v);
		pthread_mutex_lock(&u->lock);
		lru_put(u->cache, key, klen, &v);
		pthread_mutex_unlock(&u->lock);
	}
	h->event_set_str(ev, SEULA_FIELD_BROWSER, v.browser, strlen(v.browser));
	if (v.browser_major[0])
		h->event_set_str(ev, SEULA_FIELD_BROWSER_VERSION,
		                 v.browser_major, strlen(v.browser_major));
	h->event_set_str(ev, SEULA_FIELD_OS, v.os, strlen(v.os));
	if (v.os_major[0])
		h->event_set_str(ev, SEULA_FIELD_OS_VERSION, v.os_major,
		                 strlen(v.os_major));
	h->event_set_str(ev, SEULA_FIELD_DEVICE, v.device, strlen(v.device));
	h->event_set_int(ev, SEULA_FIELD_BOT, v.bot);
	return SEULA_KEEP;
}

static void shutdown_(void *instance)
{
	struct useragent *u = instance;
	if (!u)
		return;
	uap_free(u->uap);
	bots_free(u->bots);
	lru_free(u->cache);
	pthread_mutex_destroy(&u->lock);
	free(u);
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	const struct ua_config *cfg = config;
	struct useragent *u = calloc(1, sizeof(*u));
	if (!u)
		return SEULA_ENOMEM;
	u->host = host;
	u->cfg = cfg;
	pthread_mutex_init(&u->lock, NULL);
	char err[512];
	size_t patterns = 0, skipped = 0;
	if (!(u->uap = uap_load(cfg->regexes, err, sizeof(err))) ||
	    (cfg->crawlers[0] &&
	     !(u->bots = bots_load(cfg->crawlers, &patterns, &skipped, err,
	                           sizeof(err))))) {
		*errmsg = host->mprintf("%s", err);
		shutdown_(u);
		return SEULA_EIO;
	}
	unsigned char hash_key[16];
	host->random_bytes(host, hash_key, sizeof(hash_key));
	u->cache = lru_new((size_t)cfg->cache_size, sizeof(struct ua_value),
	                   hash_key);
	if (!u->cache) {
		shutdown_(u);
		return SEULA_ENOMEM;
	}
	size_t n_ua, n_os, n_dev;
	uap_counts(u->uap, &n_ua, &n_os, &n_dev);
	host->log(host, SEULA_LOG_DEBUG,
	          "%zu browser, %zu OS, %zu device rules; %zu crawler patterns "
	          "(%zu skipped)",
	          n_ua, n_os, n_dev, patterns, skipped);
	*instance = u;
	return SEULA_OK;
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "useragent",
        .version = "1.0.0",
        .description = "browser, OS, device class and bots from the user "
                       "agent and client hints (uap-core, "
                       "crawler-user-agents)",
        .config_rows = config_rows,
        .config_size = sizeof(struct ua_config),
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_ENRICH,
        .on_event = on_event,
};
