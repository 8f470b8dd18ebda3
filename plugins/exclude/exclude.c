/*
 * exclude.c - traffic that is not to be counted: the company's own
 * networks, pages that are no part of the public site (previews, an
 * intranet under the same domain), the user agents of its own tools.
 * Matomo's excluded IPs and user agents, Plausible's shields, Google
 * Analytics' internal traffic.
 *
 * An enrich-stage plugin, so that it sees the full address before the
 * protect stage masks it; an excluded event is dropped before anything of
 * it is stored or counted (it is still acknowledged: a page cannot tell it
 * was left out).  List it first among the enrich plugins, so the others do
 * no work for what is dropped.
 *
 * Each entry holds for every site, or, written SITE:ENTRY, for that site
 * alone.  Entries are checked at start: a mistyped one is an error, not a
 * rule that silently matches nothing.
 *
 * A page's pattern is matched as the dashboard's and the API's filters
 * match one (SQLite's GLOB: [^...] is the negation, [!...] holds a '!'),
 * so that page==PATTERN shows what the rule leaves out.
 */
#include <seula/plugin.h>

#include <ctype.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "urlpath.h"

/* A pattern or substring is at most this long (as encoded). */
#define ENTRY_MAX 1024

struct exclude_config {
	const char *const *networks;
	const char *const *pages;
	const char *const *user_agents;
};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_LIST, "networks", "", 0, 0,
         offsetof(struct exclude_config, networks), 0, NULL,
         "addresses and ranges whose events are not counted (192.0.2.7, "
         "10.0.0.0/8, 2001:db8::/32), or SITE:RANGE for one site"},
        {SEULA_CONFIG_LIST, "pages", "", 0, 0,
         offsetof(struct exclude_config, pages), 0, NULL,
         "path patterns whose events are not counted (/preview/*, * ? and "
         "[...] match, as typed or percent-encoded), or SITE:/PATTERN for "
         "one site"},
        {SEULA_CONFIG_LIST, "user_agents", "", 0, 0,
         offsetof(struct exclude_config, user_agents), 0, NULL,
         "text in the User-Agent (any case) whose events are not counted, "
         "e.g. the company's test robot, or SITE:TEXT for one site"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

struct network {
	char *site; /* NULL: every site */
	struct seula_ip net;
	int prefix;
};

struct text_rule {
	char *site; /* NULL: every site */
	char *text; /* a page's pattern, encoded; a user agent's text */
};

struct exclude {
	const struct seula_host *host;
	struct network *networks;
	size_t n_networks;
	struct text_rule *pages;
	size_t n_pages;
	struct text_rule *agents;
	size_t n_agents;
};

static size_t list_len(const char *const *list)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	return n;
}

/* `ip` with all but its first `prefix` bits zeroed. */
static void mask_bits(struct seula_ip *ip, int prefix)
{
	int bytes = ip->family == 4 ? 4 : 16;
	for (int i = 0; i < bytes; i++) {
		int keep = prefix - 8 * i;
		if (keep >= 8)
			continue;
		ip->bytes[i] &= keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
	}
}

/* ::ffff:a.b.c.d, an IPv4 client as a dual-stack socket or its log
 * writes it, as a.b.c.d; a range of them (/96 or longer) as the IPv4
 * range, *prefix (when given) with it. */
static void unmap(struct seula_ip *ip, int *prefix)
{
	static const uint8_t mapped[12] = {0, 0, 0, 0, 0,    0,
	                                   0, 0, 0, 0, 0xff, 0xff};
	if (ip->family != 6 || memcmp(ip->bytes, mapped, 12) != 0 ||
	    (prefix && *prefix < 96))
		return;
	uint8_t v4[4];
	memcpy(v4, ip->bytes + 12, 4);
	memset(ip->bytes, 0, sizeof(ip->bytes));
	memcpy(ip->bytes, v4, 4);
	ip->family = 4;
	if (prefix)
		*prefix -= 96;
}

/* "ADDRESS" or "ADDRESS/BITS" into *out, an IPv6 address perhaps in
 * brackets ("[2001:db8::]/32"); false when it is neither. */
static bool parse_range(const struct seula_host *h, const char *text,
                        struct network *out)
{
	char buf[64];
	size_t len = strlen(text);
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len + 1);
	char *slash = strchr(buf, '/');
	int max = 0;
	if (slash)
		*slash = '\0';
	char *addr = buf;
	if (buf[0] == '[') {
		size_t alen = strlen(buf);
		if (alen < 3 || buf[alen - 1] != ']')
			return false;
		buf[alen - 1] = '\0';
		addr = buf + 1;
	}
	if (h->ip_parse(addr, &out->net) != SEULA_OK ||
	    (addr != buf && out->net.family != 6))
		return false;
	max = out->net.family == 4 ? 32 : 128;
	out->prefix = max;
	if (slash) {
		const char *b = slash + 1;
		if (!*b || strlen(b) > 3)
			return false;
		int bits = 0;
		for (; *b; b++) {
			if (!isdigit((unsigned char)*b))
				return false;
			bits = bits * 10 + (*b - '0');
		}
		if (bits > max)
			return false;
		out->prefix = bits;
	}
	mask_bits(&out->net, out->prefix);
	unmap(&out->net, &out->prefix);
	return true;
}

/* The site of "SITE:REST" into *site (malloc'd) and REST into *rest, when
 * SITE is a configured site; else *site NULL.  Errors: SEULA_ENOMEM. */
static int split_site(const struct seula_host *h, const char *entry,
                      char **site, const char **rest)
{
	*site = NULL;
	*rest = entry;
	const char *colon = strchr(entry, ':');
	if (!colon || colon == entry)
		return SEULA_OK;
	size_t n = (size_t)(colon - entry);
	char *s = malloc(n + 1);
	if (!s)
		return SEULA_ENOMEM;
	memcpy(s, entry, n);
	s[n] = '\0';
	if (h->site_known(h, s) != 1) {
		free(s);
		return SEULA_OK;
	}
	*site = s;
	*rest = colon + 1;
	return SEULA_OK;
}

static int parse_networks(struct exclude *x, const char *const *list,
                          char **errmsg)
{
	const struct seula_host *h = x->host;
	size_t n = list_len(list);
	x->networks = calloc(n ? n : 1, sizeof(*x->networks));
	if (!x->networks)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct network *nw = &x->networks[x->n_networks];
		/* An IPv6 range holds ':' of its own: the whole entry may
		 * be a range, or SITE:RANGE, or (a site's ID being hex
		 * digits, "cafe:2001:db8::/32") either: then brackets
		 * must say which. */
		const char *rest;
		char *site;
		if (split_site(h, list[i], &site, &rest) != SEULA_OK)
			return SEULA_ENOMEM;
		struct network as_site;
		bool whole = parse_range(h, list[i], nw);
		if (whole && site && parse_range(h, rest, &as_site)) {
			*errmsg = h->mprintf(
			        "networks: \"%s\" is both an address for "
			        "every site and site %s's %s: write "
			        "[ADDRESS]/BITS for every site, or "
			        "%s:[ADDRESS]/BITS for %s",
			        list[i], site, rest, site, site);
			free(site);
			return SEULA_EINVAL;
		}
		if (whole) {
			free(site);
			x->n_networks++;
			continue;
		}
		if (!site || !parse_range(h, rest, nw)) {
			free(site);
			*errmsg = h->mprintf("networks: \"%s\" is no address "
			                     "or range (ADDRESS "
			                     "or ADDRESS/BITS, or SITE:that "
			                     "with SITE one of "
			                     "the [site.ID] sections)",
			                     list[i]);
			return SEULA_EINVAL;
		}
		nw->site = site;
		x->n_networks++;
	}
	return SEULA_OK;
}

/* Pages (`pages` true: SITE:/PATTERN, encoded as paths are stored) or
 * user agents (SITE:TEXT) into *rules. */
static int parse_texts(struct exclude *x, const char *key,
                       const char *const *list, bool pages,
                       struct text_rule **rules, size_t *n_rules, char **errmsg)
{
	const struct seula_host *h = x->host;
	size_t n = list_len(list);
	*rules = calloc(n ? n : 1, sizeof(**rules));
	if (!*rules)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		const char *rest = list[i];
		char *site = NULL;
		if (!pages || list[i][0] != '/') {
			if (split_site(h, list[i], &site, &rest) != SEULA_OK)
				return SEULA_ENOMEM;
		}
		struct text_rule *r = &(*rules)[*n_rules];
		r->site = site;
		size_t len = strlen(rest);
		if ((pages && rest[0] != '/') || len == 0 || len > ENTRY_MAX) {
			*errmsg = h->mprintf(
			        pages ? "%s: \"%s\" is no path pattern "
			                "(/PATTERN, "
			                "or SITE:/PATTERN with SITE one of the "
			                "[site.ID] sections)"
			              : "%s: \"%s\" is empty or longer than "
			                "1024 "
			                "bytes",
			        key, list[i]);
			(*n_rules)++; /* its site is freed with the rest */
			return SEULA_EINVAL;
		}
		size_t cap = pages ? 3 * len + 1 : len + 1;
		r->text = malloc(cap);
		(*n_rules)++;
		if (!r->text)
			return SEULA_ENOMEM;
		if (pages)
			seula_url_encode_path(rest, len, r->text, cap);
		else
			memcpy(r->text, rest, len + 1);
	}
	return SEULA_OK;
}

/* ---- the stage -------------------------------------------------------- */

static bool for_site(const char *rule_site, const char *site)
{
	return !rule_site || (site && strcmp(rule_site, site) == 0);
}

static bool in_network(const struct network *nw, const struct seula_ip *ip)
{
	struct seula_ip masked = *ip;
	unmap(&masked, NULL);
	if (nw->net.family != masked.family)
		return false;
	mask_bits(&masked, nw->prefix);
	size_t bytes = masked.family == 4 ? 4 : 16;
	return memcmp(masked.bytes, nw->net.bytes, bytes) == 0;
}

/* Whether `hay` holds `needle`, ASCII letters in any case. */
static bool holds_text(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	const struct exclude *x = instance;
	const struct seula_host *h = x->host;
	const char *site = h->event_str(ev, SEULA_FIELD_SITE);
	const struct seula_ip *ip = h->event_ip(ev);
	for (size_t i = 0; ip && i < x->n_networks; i++)
		if (for_site(x->networks[i].site, site) &&
		    in_network(&x->networks[i], ip))
			return SEULA_DROP;
	const char *path = h->event_str(ev, SEULA_FIELD_PATH);
	for (size_t i = 0; path && i < x->n_pages; i++)
		if (for_site(x->pages[i].site, site) &&
		    sqlite3_strglob(x->pages[i].text, path) == 0)
			return SEULA_DROP;
	const char *ua = h->event_str(ev, SEULA_FIELD_USER_AGENT);
	for (size_t i = 0; ua && i < x->n_agents; i++)
		if (for_site(x->agents[i].site, site) &&
		    holds_text(ua, x->agents[i].text))
			return SEULA_DROP;
	return SEULA_KEEP;
}

/* ---- lifecycle -------------------------------------------------------- */

static void free_texts(struct text_rule *rules, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(rules[i].site);
		free(rules[i].text);
	}
	free(rules);
}

static void shutdown_(void *instance)
{
	struct exclude *x = instance;
	if (!x)
		return;
	for (size_t i = 0; i < x->n_networks; i++)
		free(x->networks[i].site);
	free(x->networks);
	free_texts(x->pages, x->n_pages);
	free_texts(x->agents, x->n_agents);
	free(x);
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	const struct exclude_config *cfg = config;
	if (host->abi_minor < 4) {
		*errmsg = host->mprintf("needs a host of ABI 1.4 or later");
		return SEULA_EINVAL;
	}
	struct exclude *x = calloc(1, sizeof(*x));
	if (!x)
		return SEULA_ENOMEM;
	x->host = host;
	int rc = parse_networks(x, cfg->networks, errmsg);
	if (rc == SEULA_OK)
		rc = parse_texts(x, "pages", cfg->pages, true, &x->pages,
		                 &x->n_pages, errmsg);
	if (rc == SEULA_OK)
		rc = parse_texts(x, "user_agents", cfg->user_agents, false,
		                 &x->agents, &x->n_agents, errmsg);
	if (rc != SEULA_OK) {
		shutdown_(x);
		return rc;
	}
	*instance = x;
	return SEULA_OK;
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "exclude",
        .version = "1.0.0",
        .description = "leaves the company's own traffic uncounted: "
                       "networks, pages and user agents",
        .config_rows = config_rows,
        .config_size = sizeof(struct exclude_config),
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_ENRICH,
        .on_event = on_event,
};
