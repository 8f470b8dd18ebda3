/*
 * consent.c - consent texts, records, their chain, and the event gate (see
 * consent.h).
 */
#include "consent.h"

#include "chain.h"
#include "db.h"
#include "embedded.h"
#include "host.h"
#include "http.h"
#include "netaddr.h"
#include "redact.h"
#include "textfile.h"
#include "urlpath.h"
#include "zone.h"

#include <seula/plugin.h>

#include <ctype.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <uuid/uuid.h>

#define MAX_BODY 16384
#define N_CATEGORIES 4
/* Far above any real texts; a file beyond it was named by mistake. */
#define CONSENT_TEXTS_MAX (4u << 20)

static const char *const categories[N_CATEGORIES] = {
        "necessary", "analytics", "marketing", "personalization"};

/* Google Consent Mode v2: each type and the category that grants it. */
static const struct {
	const char *type;
	const char *category;
} gcm_map[] = {
        {"ad_storage", "marketing"},
        {"ad_user_data", "marketing"},
        {"ad_personalization", "marketing"},
        {"analytics_storage", "analytics"},
        {"functionality_storage", "personalization"},
        {"personalization_storage", "personalization"},
        {"security_storage", "necessary"},
};
#define N_GCM (sizeof(gcm_map) / sizeof(gcm_map[0]))

/* The banner's texts: keys every language must have. */
static const char *const text_keys[] = {
        "title",       "description", "accept_all",      "reject_all",
        "choose",      "save",        "reopen",          "privacy_link",
        "always_on",   "gpc_note",    "receipt",         "withdraw",
        "exempt_note", "cookie_name", "cookie_duration", "cookie_provider",
};

enum method {
	M_ACCEPT_ALL,
	M_REJECT_ALL,
	M_CUSTOM,
	M_WITHDRAW,
	M_GPC,
};
static const char *const method_names[] = {"accept_all", "reject_all", "custom",
                                           "withdraw", "gpc"};

struct site_cookie {
	char category[16];
	char name[65];
	int64_t days;
	char provider[129];
};

struct site_lang {
	char lang[16];
	char *texts;   /* the exact JSON the banner is served */
	char hash[65]; /* hex BLAKE2b-256 of texts */
};

struct site_consent {
	const struct seula_site *site;
	bool offered[N_CATEGORIES]; /* [0], necessary, always */
	struct site_cookie *cookies;
	size_t n_cookies;
	struct site_lang *langs;
	size_t n_langs;
};

struct seula_consent {
	const struct seula_config *cfg;
	const unsigned char *key;
	struct site_consent *sites;
	size_t n_sites;
	bool anonymize_loaded;
	int64_t anonymize_level;
	bool anonymize_hashes; /* visitor_hash = true: cookieless counting */
	bool customers_loaded;
	const struct seula_logger *log; /* the retention task's; may be NULL */
	/* A record's page is redacted as an event's URL is (compiled once,
	 * read-only: every loop thread shares it). */
	struct seula_redactor *redactor;

	/* The writer's alone (see seula_consent_gate_release). */
	sqlite3 *gate_db;
	sqlite3_stmt *gate_lookup;
};

/* ---- small helpers ------------------------------------------------------ */

static int fail(char *err, size_t errlen, const char *fmt, ...)
        SEULA_PRINTF(3, 4);
static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return SEULA_EINVAL;
}

static int category_index(const char *name)
{
	for (int i = 0; i < N_CATEGORIES; i++)
		if (strcmp(categories[i], name) == 0)
			return i;
	return -1;
}

static const struct site_consent *find_site(const struct seula_consent *c,
                                            const char *id)
{
	for (size_t i = 0; id && i < c->n_sites; i++)
		if (strcmp(c->sites[i].site->id, id) == 0)
			return &c->sites[i];
	return NULL;
}

static const struct site_lang *find_lang(const struct site_consent *s,
                                         const char *lang)
{
	for (size_t i = 0; lang && i < s->n_langs; i++)
		if (strcmp(s->langs[i].lang, lang) == 0)
			return &s->langs[i];
	return NULL;
}

/* The site's language for a request's `lang`: exact, then by primary
 * subtag ("fi-FI" -> "fi"), else the default (the first). */
static const struct site_lang *pick_lang(const struct site_consent *s,
                                         const char *lang)
{
	const struct site_lang *l = find_lang(s, lang);
	if (l || !lang)
		return l ? l : &s->langs[0];
	char primary[16];
	size_t n = strcspn(lang, "-_");
	if (n < sizeof(primary)) {
		for (size_t i = 0; i < n; i++)
			primary[i] = (char)tolower((unsigned char)lang[i]);
		primary[n] = '\0';
		if ((l = find_lang(s, primary)))
			return l;
	}
	/* A language the site does not offer: English, when it does, is
	 * read by more of them than the site's own first language. */
	l = find_lang(s, "en");
	return l ? l : &s->langs[0];
}

static void iso_time(int64_t ms, char buf[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	size_t n = strftime(buf, 32, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, 32 - n, ".%03dZ", (int)(ms % 1000));
}

static bool granted(const bool d[N_CATEGORIES], const char *category)
{
	int i = category_index(category);
	return i >= 0 && d[i];
}

/* ---- texts -------------------------------------------------------------- */

static const char *text_of(json_t *lang, const char *key)
{
	return json_string_value(json_object_get(lang, key));
}

/* "{n} päivää" with n filled in. */
static char *days_text(json_t *lang, int64_t days)
{
	const char *pattern = text_of(lang, "days");
	const char *at = pattern ? strstr(pattern, "{n}") : NULL;
	char *out = NULL;
	if (!at)
		return NULL;
	if (asprintf(&out, "%.*s%" PRId64 "%s", (int)(at - pattern), pattern,
	             days, at + 3) < 0)
		return NULL;
	return out;
}

/* How long seula_vid lives on a site: the tracker's 13 months, but never
 * past the consent it needs (consent.js caps it at the choice's expiry). */
static int64_t vid_days(const struct seula_site *site)
{
	int64_t consent = site->consent_period_s / 86400;
	return consent < SEULA_VISITOR_COOKIE_DAYS ? consent
	                                           : SEULA_VISITOR_COOKIE_DAYS;
}

static int add_cookie(json_t *list, json_t *lang, const char *name,
                      int64_t days, const char *provider, const char *purpose)
{
	char *duration = days_text(lang, days);
	json_t *o = duration ? json_pack("{s:s, s:s, s:s, s:s}", "name", name,
	                                 "duration", duration, "provider",
	                                 provider, "purpose", purpose)
	                     : NULL;
	free(duration);
	return o && json_array_append_new(list, o) == 0 ? SEULA_OK
	                                                : SEULA_EINVAL;
}

/* Does the site count visits without consent (the daily cookieless hash)?
 * Exempt sites do too, but say so in exempt_note. */
static bool counts_cookieless(const struct seula_site *site)
{
	return site->mode == SEULA_MODE_CONSENT &&
	       site->without_consent == SEULA_WITHOUT_COOKIELESS;
}

/* The texts document of one site in one language: what the banner shows,
 * every word of it, so that its hash proves what was shown. */
static int build_texts(const struct seula_consent *c,
                       const struct site_consent *s, json_t *all,
                       struct site_lang *out, char *err, size_t errlen)
{
	const char *lang_id = out->lang;
	json_t *lang = json_object_get(all, lang_id);
	if (!json_is_object(lang))
		return fail(err, errlen,
		            "[site.%s] languages: no consent texts for '%s'",
		            s->site->id, lang_id);
	json_t *doc = json_pack("{s:s, s:s}", "language", lang_id,
	                        "policy_version", s->site->policy_version);
	for (size_t i = 0; doc && i < sizeof(text_keys) / sizeof(*text_keys);
	     i++) {
		const char *v = text_of(lang, text_keys[i]);
		if (!v || !*v) {
			json_decref(doc);
			return fail(err, errlen,
			            "consent texts: %s: '%s' is missing or "
			            "empty",
			            lang_id, text_keys[i]);
		}
		json_object_set_new(doc, text_keys[i], json_string(v));
	}
	/* Later words, optional so that a texts file written before them
	 * still loads: the banner has its own for fi, sv and en. */
	static const char *const optional_keys[] = {
	        "save_failed", "close", "dnt_note", "controller_label"};
	for (size_t i = 0;
	     doc && i < sizeof(optional_keys) / sizeof(*optional_keys); i++) {
		const char *v = text_of(lang, optional_keys[i]);
		if (v && *v)
			json_object_set_new(doc, optional_keys[i],
			                    json_string(v));
	}
	/* Who asks, named on the first layer (EDPB guidelines 05/2020, para.
	 * 64): part of what was shown, so of the hash. */
	const char *controller = c->cfg->controller_name;
	if (doc && controller && *controller)
		json_object_set_new(doc, "controller", json_string(controller));
	json_t *cats = json_array();
	json_t *ctexts = json_object_get(lang, "categories");
	json_t *cookie_texts = json_object_get(lang, "cookies");
	const char *first_party = text_of(lang, "first_party");
	const char *consent_purpose = json_string_value(
	        json_object_get(cookie_texts, "seula_consent"));
	const char *vid_purpose =
	        json_string_value(json_object_get(cookie_texts, "seula_vid"));
	char *probe = days_text(lang, 1);
	if (!doc || !cats || !first_party || !consent_purpose || !vid_purpose ||
	    !probe) {
		free(probe);
		json_decref(doc);
		json_decref(cats);
		return fail(err, errlen,
		            "consent texts: %s: 'first_party', 'days' (with "
		            "{n}) or 'cookies' is missing",
		            lang_id);
	}
	free(probe);
	int rc = SEULA_OK;
	for (int k = 0; rc == SEULA_OK && k < N_CATEGORIES; k++) {
		if (!s->offered[k])
			continue;
		json_t *ct = json_object_get(ctexts, categories[k]);
		const char *name = text_of(ct, "name");
		const char *purpose = text_of(ct, "purpose");
		if (!name || !purpose || !*name || !*purpose) {
			rc = fail(err, errlen,
			          "consent texts: %s: category '%s' needs a "
			          "name and a purpose",
			          lang_id, categories[k]);
			break;
		}
		/* A site that counts visits without consent says so where
		 * statistics are chosen: that is what refusing them stops. */
		char *shown = NULL;
		if (k == 1 && counts_cookieless(s->site)) {
			const char *note =
			        text_of(lang, "analytics_without_consent");
			if (!note || !*note) {
				rc = fail(err, errlen,
				          "consent texts: %s: "
				          "'analytics_without_consent' is "
				          "missing or empty ([site.%s] counts "
				          "visits without consent: "
				          "without_consent = cookieless)",
				          lang_id, s->site->id);
				break;
			}
			if (asprintf(&shown, "%s %s", purpose, note) < 0) {
				rc = SEULA_ENOMEM;
				break;
			}
			/* Apart too, for the banner's first layer. */
			json_object_set_new(doc, "analytics_without_consent",
			                    json_string(note));
		}
		json_t *cookies = json_array();
		json_t *cat = json_pack("{s:s, s:s, s:s, s:b, s:o}", "id",
		                        categories[k], "name", name, "purpose",
		                        shown ? shown : purpose, "required",
		                        k == 0, "cookies", cookies);
		free(shown);
		if (!cat) {
			rc = SEULA_ENOMEM;
			break;
		}
		if (k == 1 && s->site->mode == SEULA_MODE_EXEMPT)
			json_object_set_new(cat, "exempt", json_true());
		json_array_append_new(cats, cat);
		if (k == 0)
			rc = add_cookie(cookies, lang, SEULA_CONSENT_COOKIE,
			                s->site->consent_period_s / 86400,
			                first_party, consent_purpose);
		if (k == 1)
			rc = add_cookie(cookies, lang, SEULA_VISITOR_COOKIE,
			                vid_days(s->site), first_party,
			                vid_purpose);
		for (size_t i = 0; rc == SEULA_OK && i < s->n_cookies; i++)
			if (strcmp(s->cookies[i].category, categories[k]) == 0)
				rc = add_cookie(
				        cookies, lang, s->cookies[i].name,
				        s->cookies[i].days,
				        s->cookies[i].provider, purpose);
	}
	json_object_set_new(doc, "categories", cats);
	if (rc == SEULA_OK) {
		out->texts = json_dumps(doc, JSON_COMPACT | JSON_ENSURE_ASCII);
		if (!out->texts)
			rc = SEULA_ENOMEM;
	}
	json_decref(doc);
	if (rc != SEULA_OK)
		return rc;
	unsigned char h[32];
	crypto_generichash(h, sizeof(h), (const unsigned char *)out->texts,
	                   strlen(out->texts), NULL, 0);
	sodium_bin2hex(out->hash, sizeof(out->hash), h, sizeof(h));
	(void)c;
	return SEULA_OK;
}

/* "category name duration provider words..." */
static int parse_cookie(const struct site_consent *s, const char *text,
                        struct site_cookie *out, char *err, size_t errlen)
{
	char dur[32] = "";
	int used = 0;
	memset(out, 0, sizeof(*out));
	if (sscanf(text, "%15s %64s %31s %n", out->category, out->name, dur,
	           &used) != 3 ||
	    !text[used])
		return fail(err, errlen,
		            "[site.%s] cookies: '%s' is not 'category name "
		            "duration provider'",
		            s->site->id, text);
	snprintf(out->provider, sizeof(out->provider), "%s", text + used);
	int k = category_index(out->category);
	if (k < 0 || !s->offered[k])
		return fail(err, errlen,
		            "[site.%s] cookies: '%s': '%s' is not a category "
		            "the site offers",
		            s->site->id, text, out->category);
	for (const char *p = out->name; *p; p++)
		if (!isalnum((unsigned char)*p) && !strchr("_-.", *p))
			return fail(
			        err, errlen,
			        "[site.%s] cookies: '%s' is not a cookie name",
			        s->site->id, out->name);
	int64_t secs;
	if (seula_parse_duration(dur, &secs) != SEULA_OK || secs < 1)
		return fail(err, errlen,
		            "[site.%s] cookies: '%s': '%s' is not a duration "
		            "(e.g. 90d)",
		            s->site->id, text, dur);
	out->days = (secs + 86399) / 86400;
	return SEULA_OK;
}

/* ---- the exemption's rules ---------------------------------------------- */

struct check {
	const char *name;
	bool ok;
	char detail[200];
};

enum { N_EXEMPT_CHECKS = 6 };

static void exempt_checks(const struct seula_consent *c,
                          const struct site_consent *s,
                          struct check out[N_EXEMPT_CHECKS])
{
	const struct seula_site *site = s->site;
	int64_t longest = site->consent_period_s / 86400;
	const char *longest_name = SEULA_CONSENT_COOKIE;
	if (vid_days(site) > longest) {
		longest = vid_days(site);
		longest_name = SEULA_VISITOR_COOKIE;
	}
	for (size_t i = 0; i < s->n_cookies; i++)
		if (s->cookies[i].days > longest) {
			longest = s->cookies[i].days;
			longest_name = s->cookies[i].name;
		}
	out[0] = (struct check){"cookie_lifetime",
	                        longest <= SEULA_EXEMPT_MAX_COOKIE_DAYS, ""};
	snprintf(out[0].detail, sizeof(out[0].detail),
	         "no cookie lives past 13 months (%d days): the longest is "
	         "%s, %" PRId64 " days",
	         SEULA_EXEMPT_MAX_COOKIE_DAYS, longest_name, longest);
	out[1] = (struct check){"ip_masking",
	                        c->anonymize_loaded && c->anonymize_level >= 2,
	                        ""};
	if (c->anonymize_loaded)
		snprintf(out[1].detail, sizeof(out[1].detail),
		         "IP masked by at least 2 bytes: [plugin.anonymize] "
		         "level = %" PRId64,
		         c->anonymize_level);
	else
		snprintf(out[1].detail, sizeof(out[1].detail),
		         "IP masked by at least 2 bytes: the anonymize plugin "
		         "is not loaded");
	out[2] =
	        (struct check){"no_register_linkage", !c->customers_loaded, ""};
	snprintf(out[2].detail, sizeof(out[2].detail),
	         "no linkage to the customer register: the customers plugin "
	         "is %s",
	         c->customers_loaded ? "loaded" : "not loaded");
	out[3] = (struct check){"no_campaigns", true,
	                        "no campaign measurement: utm_* fields are "
	                        "dropped from this site's events"};
	out[4] = (struct check){"no_conversions", true,
	                        "no conversion measurement: custom events of "
	                        "this site are not stored"};
	/* Rounded up: "18276h" keeps events past day 761. */
	int64_t days = (site->events_retention_s + 86399) / 86400;
	out[5] = (struct check){"retention",
	                        days <= SEULA_EXEMPT_MAX_RETENTION_DAYS, ""};
	snprintf(out[5].detail, sizeof(out[5].detail),
	         "data kept at most 25 months (%d days): events_retention = "
	         "%" PRId64 " days",
	         SEULA_EXEMPT_MAX_RETENTION_DAYS, days);
}

/* ---- building ------------------------------------------------------------ */

/* The anonymize plugin's setting `key` as the config gives it, else its
 * default; NULL: neither. */
static const char *anonymize_setting(const struct seula_config *cfg,
                                     const struct seula_loaded_plugin *p,
                                     const char *key)
{
	const char *text = NULL;
	for (size_t i = 0; i < cfg->ini.n; i++) {
		const struct seula_ini_entry *e = &cfg->ini.entries[i];
		if (strcmp(e->section, "plugin.anonymize") == 0 &&
		    strcmp(e->key, key) == 0)
			text = e->value;
	}
	for (const struct seula_config_row *r = p->desc.config_rows;
	     !text && r && r->type != SEULA_CONFIG_END; r++)
		if (strcmp(r->key, key) == 0)
			text = r->default_value;
	return text;
}

static int64_t plugin_level(const struct seula_config *cfg,
                            const struct seula_loaded_plugin *p)
{
	const char *text = anonymize_setting(cfg, p, "level");
	return text ? strtoll(text, NULL, 10) : 0;
}

static bool plugin_hashes(const struct seula_config *cfg,
                          const struct seula_loaded_plugin *p)
{
	const char *text = anonymize_setting(cfg, p, "visitor_hash");
	return text &&
	       (strcasecmp(text, "true") == 0 || strcasecmp(text, "yes") == 0 ||
	        strcasecmp(text, "on") == 0 || strcmp(text, "1") == 0);
}

static int build_site(struct seula_consent *c, struct site_consent *s,
                      const struct seula_site *site, json_t *all, char *err,
                      size_t errlen)
{
	s->site = site;
	s->offered[0] = true;
	for (size_t i = 0; site->offered && site->offered[i]; i++) {
		int k = category_index(site->offered[i]);
		if (k <= 0)
			return fail(err, errlen,
			            "[site.%s] categories: '%s' is not one of "
			            "analytics, marketing, personalization",
			            site->id, site->offered[i]);
		if (s->offered[k])
			return fail(
			        err, errlen,
			        "[site.%s] categories: '%s' is listed twice",
			        site->id, site->offered[i]);
		s->offered[k] = true;
	}
	if (!s->offered[1])
		return fail(err, errlen,
		            "[site.%s] categories: analytics must be offered "
		            "(the tracker's visitor id needs it)",
		            site->id);
	size_t n = 0;
	while (site->cookies && site->cookies[n])
		n++;
	s->cookies = calloc(n ? n : 1, sizeof(*s->cookies));
	if (!s->cookies)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		int rc = parse_cookie(s, site->cookies[i], &s->cookies[i], err,
		                      errlen);
		if (rc != SEULA_OK)
			return rc;
		s->n_cookies++;
	}
	n = 0;
	while (site->languages && site->languages[n])
		n++;
	if (!n)
		return fail(err, errlen, "[site.%s] languages: none given",
		            site->id);
	s->langs = calloc(n, sizeof(*s->langs));
	if (!s->langs)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		struct site_lang *l = &s->langs[s->n_langs++];
		snprintf(l->lang, sizeof(l->lang), "%s", site->languages[i]);
		int rc = build_texts(c, s, all, l, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

/* Words added to the texts after a texts file of an operator's was
 * written: taken from the built-in texts of the same language when the
 * file has none, so that an upgrade does not refuse to start (a language
 * Seula has no words for still needs them in the file). */
static void fill_later_keys(json_t *all)
{
	static const char *const later[] = {"analytics_without_consent",
	                                    "save_failed", "close", "dnt_note",
	                                    "controller_label"};
	json_t *built = json_loads(seula_embedded_consent_texts, 0, NULL);
	const char *lang_id;
	json_t *lang;
	json_object_foreach(all, lang_id, lang)
	{
		json_t *ours = json_object_get(built, lang_id);
		if (!json_is_object(lang) || !json_is_object(ours))
			continue;
		for (size_t i = 0; i < sizeof(later) / sizeof(*later); i++)
			if (!json_object_get(lang, later[i]) &&
			    json_is_string(json_object_get(ours, later[i])))
				json_object_set(
				        lang, later[i],
				        json_object_get(ours, later[i]));
	}
	json_decref(built);
}

int seula_consent_new(struct seula_consent **out,
                      const struct seula_config *cfg,
                      const struct seula_plugins *plugins,
                      const unsigned char *key, char *err, size_t errlen)
{
	*out = NULL;
	json_error_t je;
	json_t *all;
	if (cfg->consent_texts) {
		/* Not json_load_file: it takes a read error for the end of
		 * the file, and waits on a FIFO. */
		char *text;
		size_t len;
		char why[512];
		int rc = seula_textfile_read(cfg->consent_texts,
		                             CONSENT_TEXTS_MAX, &text, &len,
		                             why, sizeof(why));
		if (rc == SEULA_ENOMEM)
			return rc;
		if (rc != SEULA_OK) {
			snprintf(err, errlen, "consent texts %s", why);
			return rc;
		}
		all = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je);
		free(text);
		if (json_is_object(all))
			fill_later_keys(all);
	} else {
		all = json_loads(seula_embedded_consent_texts,
		                 JSON_REJECT_DUPLICATES, &je);
	}
	if (!json_is_object(all)) {
		json_decref(all);
		return fail(err, errlen, "consent texts %s:%d: %s",
		            cfg->consent_texts ? cfg->consent_texts
		                               : "(built in)",
		            je.line, je.text);
	}
	struct seula_consent *c = calloc(1, sizeof(*c));
	if (!c) {
		json_decref(all);
		return SEULA_ENOMEM;
	}
	c->cfg = cfg;
	c->key = key;
	for (size_t i = 0; plugins && i < plugins->n; i++) {
		const struct seula_loaded_plugin *p = &plugins->list[i];
		if (strcmp(p->desc.name, "anonymize") == 0) {
			c->anonymize_loaded = true;
			c->anonymize_level = plugin_level(cfg, p);
			c->anonymize_hashes = plugin_hashes(cfg, p);
		}
		if (strcmp(p->desc.name, "customers") == 0)
			c->customers_loaded = true;
	}
	c->sites = calloc(cfg->n_sites ? cfg->n_sites : 1, sizeof(*c->sites));
	int rc = c->sites ? seula_redactor_new(&c->redactor, true, err, errlen)
	                  : SEULA_ENOMEM;
	for (size_t i = 0; rc == SEULA_OK && i < cfg->n_sites; i++) {
		c->n_sites++;
		rc = build_site(c, &c->sites[i], &cfg->sites[i], all, err,
		                errlen);
	}
	json_decref(all);
	if (rc != SEULA_OK) {
		seula_consent_free(c);
		return rc;
	}
	*out = c;
	return SEULA_OK;
}

void seula_consent_set_log(struct seula_consent *c,
                           const struct seula_logger *log)
{
	c->log = log;
}

void seula_consent_free(struct seula_consent *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->n_sites; i++) {
		for (size_t k = 0; k < c->sites[i].n_langs; k++)
			free(c->sites[i].langs[k].texts);
		free(c->sites[i].langs);
		free(c->sites[i].cookies);
	}
	free(c->sites);
	seula_redactor_free(c->redactor);
	free(c);
}

int seula_consent_check(const struct seula_consent *c, char *err, size_t errlen)
{
	for (size_t i = 0; i < c->n_sites; i++) {
		const struct site_consent *s = &c->sites[i];
		if (s->site->mode != SEULA_MODE_EXEMPT)
			continue;
		struct check checks[N_EXEMPT_CHECKS];
		exempt_checks(c, s, checks);
		for (int k = 0; k < N_EXEMPT_CHECKS; k++)
			if (!checks[k].ok)
				return fail(
				        err, errlen,
				        "[site.%s] consent_mode = exempt "
				        "breaks the rule '%s': %s (see seula "
				        "consent selftest --site %s)",
				        s->site->id, checks[k].name,
				        checks[k].detail, s->site->id);
	}
	return SEULA_OK;
}

json_t *seula_consent_texts(const struct seula_consent *c, const char *site,
                            const char *lang)
{
	const struct site_consent *s = find_site(c, site);
	const struct site_lang *l = s ? find_lang(s, lang) : NULL;
	return l ? json_loads(l->texts, 0, NULL) : NULL;
}

const char *seula_consent_texts_hash(const struct seula_consent *c,
                                     const char *site, const char *lang)
{
	const struct site_consent *s = find_site(c, site);
	const struct site_lang *l = s ? find_lang(s, lang) : NULL;
	return l ? l->hash : NULL;
}

json_t *seula_consent_cookies(const struct seula_consent *c, const char *site,
                              const char *lang)
{
	const struct site_consent *s = find_site(c, site);
	if (!s)
		return NULL;
	json_t *texts = json_loads(pick_lang(s, lang)->texts, 0, NULL);
	json_t *out = json_array();
	size_t i, j;
	json_t *cat, *cookie;
	json_array_foreach(json_object_get(texts, "categories"), i, cat)
	{
		json_array_foreach(json_object_get(cat, "cookies"), j, cookie)
		{
			const char *name = json_string_value(
			        json_object_get(cookie, "name"));
			int64_t days = vid_days(s->site);
			if (strcmp(name, SEULA_CONSENT_COOKIE) == 0)
				days = s->site->consent_period_s / 86400;
			for (size_t k = 0; k < s->n_cookies; k++)
				if (strcmp(s->cookies[k].name, name) == 0)
					days = s->cookies[k].days;
			json_array_append_new(
			        out,
			        json_pack("{s:O, s:O, s:O, s:I, s:O}", "name",
			                  json_object_get(cookie, "name"),
			                  "category",
			                  json_object_get(cat, "id"), "purpose",
			                  json_object_get(cookie, "purpose"),
			                  "days", (json_int_t)days, "provider",
			                  json_object_get(cookie, "provider")));
		}
	}
	json_decref(texts);
	return out;
}

int seula_consent_store_texts(const struct seula_consent *c, sqlite3 *db,
                              int64_t now_ms, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO consent_texts (hash, site, "
	                       "policy_version, language, body, first_served) "
	                       "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT DO "
	                       "NOTHING",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "consent texts: %s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < c->n_sites; i++) {
		const struct site_consent *s = &c->sites[i];
		for (size_t k = 0; rc == SEULA_OK && k < s->n_langs; k++) {
			sqlite3_bind_text(st, 1, s->langs[k].hash, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(st, 2, s->site->id, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(st, 3, s->site->policy_version, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(st, 4, s->langs[k].lang, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_text(st, 5, s->langs[k].texts, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(st, 6, now_ms);
			if (sqlite3_step(st) != SQLITE_DONE) {
				snprintf(err, errlen, "consent texts: %s",
				         sqlite3_errmsg(db));
				rc = SEULA_EIO;
			}
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	return rc;
}

/* ---- the chain ------------------------------------------------------------
 */

/* The proof that the server erased record `id`: keyed, over what the
 * record's MAC keeps of it (its receipt and pii_mac) and when. */
static void erased_mac(const unsigned char *key, int64_t id,
                       const char *receipt, const void *pii, int64_t erased_at,
                       unsigned char out[SEULA_MAC_BYTES])
{
	crypto_generichash_state st;
	seula_chain_begin(&st, key, "consent-erased/1");
	seula_chain_int(&st, id);
	seula_chain_text(&st, receipt);
	seula_chain_blob(&st, pii, SEULA_MAC_BYTES);
	seula_chain_int(&st, erased_at);
	seula_chain_end(&st, out);
}

/* erased_mac() of the row `st` is on: its columns 0, 1 and 2 are the
 * record's id, receipt and pii_mac.  A damaged pii_mac (the verifier
 * says so) is taken as zeros: the record is erased all the same. */
static void row_erased_mac(const unsigned char *key, sqlite3_stmt *st,
                           int64_t erased_at,
                           unsigned char out[SEULA_MAC_BYTES])
{
	unsigned char pii[SEULA_MAC_BYTES] = {0};
	if (sqlite3_column_bytes(st, 2) == SEULA_MAC_BYTES)
		memcpy(pii, sqlite3_column_blob(st, 2), sizeof(pii));
	erased_mac(key, sqlite3_column_int64(st, 0),
	           (const char *)sqlite3_column_text(st, 1), pii, erased_at,
	           out);
}

static void pii_mac(const unsigned char *key,
                    const struct seula_consent_record *r,
                    unsigned char out[SEULA_MAC_BYTES])
{
	crypto_generichash_state st;
	seula_chain_begin(&st, key, "consent-pii/1");
	seula_chain_text(&st, r->receipt);
	seula_chain_text(&st, r->visitor_id);
	seula_chain_text(&st, r->ip_anon);
	seula_chain_text(&st, r->page);
	seula_chain_end(&st, out);
}

static void record_mac(const unsigned char *key, const unsigned char *prev,
                       const struct seula_consent_record *r,
                       const unsigned char *pii,
                       unsigned char out[SEULA_MAC_BYTES])
{
	crypto_generichash_state st;
	seula_chain_begin(&st, key, "consent/1");
	crypto_generichash_update(&st, prev, SEULA_MAC_BYTES);
	seula_chain_int(&st, r->id);
	seula_chain_text(&st, r->receipt);
	seula_chain_text(&st, r->site);
	seula_chain_int(&st, r->has_given);
	seula_chain_int(&st, r->given_at);
	seula_chain_int(&st, r->received_at);
	seula_chain_text(&st, r->policy_version);
	seula_chain_text(&st, r->texts_hash);
	seula_chain_text(&st, r->language);
	seula_chain_text(&st, r->decisions);
	seula_chain_text(&st, r->preselected);
	seula_chain_text(&st, r->method);
	seula_chain_text(&st, r->source);
	seula_chain_text(&st, r->staff_name);
	seula_chain_text(&st, r->signals);
	seula_chain_text(&st, r->gcm);
	seula_chain_int(&st, r->valid_until);
	seula_chain_text(&st, r->tc_string);
	seula_chain_blob(&st, pii, SEULA_MAC_BYTES);
	seula_chain_end(&st, out);
}

static void bind_opt(sqlite3_stmt *st, int i, const char *s)
{
	if (s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, i);
}

/* A visitor's consent state: a consent_visitors row, or what the
 * visitor's latest record makes it. */
struct cstate {
	const char *site;
	int grants[3]; /* analytics, marketing, personalization: 0 or 1 */
	int64_t valid_until;
	const char *receipt;
	int64_t record_id; /* the record it is of */
};

static const char *const state_grants[3] = {"analytics", "marketing",
                                            "personalization"};

/* What a record's decisions (its JSON text) grant; a category it does
 * not name, as one the site does not offer, is denied. */
static void record_grants(const char *decisions, int grants[3])
{
	json_t *d = decisions ? json_loads(decisions, 0, NULL) : NULL;
	for (int k = 0; k < 3; k++) {
		const char *v =
		        json_string_value(json_object_get(d, state_grants[k]));
		grants[k] = v && strcmp(v, "granted") == 0;
	}
	json_decref(d);
}

/* The MAC of visitor `vid`'s state: keyed, so whoever can write the file
 * but not read the key can neither change a state nor move it to another
 * visitor; an older state of the same visitor put back is told by the
 * record it names not being the visitor's latest. */
static void state_mac(const unsigned char *key, const char *vid,
                      const struct cstate *s,
                      unsigned char out[SEULA_MAC_BYTES])
{
	crypto_generichash_state st;
	seula_chain_begin(&st, key, "consent-visitor/1");
	seula_chain_text(&st, vid);
	seula_chain_text(&st, s->site);
	for (int k = 0; k < 3; k++)
		seula_chain_int(&st, s->grants[k]);
	seula_chain_int(&st, s->valid_until);
	seula_chain_text(&st, s->receipt);
	seula_chain_int(&st, s->record_id);
	seula_chain_end(&st, out);
}

/* Make record `r` (appended) its visitor's consent state. */
static int put_state(sqlite3 *db, const unsigned char *key,
                     const struct seula_consent_record *r)
{
	struct cstate s = {.site = r->site,
	                   .valid_until = r->valid_until,
	                   .receipt = r->receipt,
	                   .record_id = r->id};
	record_grants(r->decisions, s.grants);
	unsigned char mac[SEULA_MAC_BYTES];
	state_mac(key, r->visitor_id, &s, mac);
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO consent_visitors (visitor_id, site, "
	            "analytics, marketing, personalization, valid_until, "
	            "receipt, record_id, mac) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
	            "?) ON CONFLICT (visitor_id) DO UPDATE SET site = "
	            "excluded.site, analytics = excluded.analytics, marketing "
	            "= excluded.marketing, personalization = "
	            "excluded.personalization, valid_until = "
	            "excluded.valid_until, receipt = excluded.receipt, "
	            "record_id = excluded.record_id, mac = excluded.mac",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, r->visitor_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, s.site, -1, SQLITE_STATIC);
	for (int k = 0; k < 3; k++)
		sqlite3_bind_int(st, 3 + k, s.grants[k]);
	sqlite3_bind_int64(st, 6, s.valid_until);
	sqlite3_bind_text(st, 7, s.receipt, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 8, s.record_id);
	sqlite3_bind_blob(st, 9, mac, sizeof(mac), SQLITE_STATIC);
	int rc = sqlite3_step(st) == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

/* The previous MAC is read in the transaction, never cached: the CLI may
 * append too. */
int seula_consent_append(sqlite3 *db, const unsigned char *key,
                         struct seula_consent_record *r, char *err,
                         size_t errlen)
{
	unsigned char prev[SEULA_MAC_BYTES] = {0}, mac[SEULA_MAC_BYTES],
	              pii[SEULA_MAC_BYTES];
	sqlite3_stmt *last = NULL, *ins = NULL;
	int rc = SEULA_EIO;
	r->id = 1;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, mac FROM consent_records ORDER BY "
	                       "id DESC LIMIT 1",
	                       -1, &last, NULL) != SQLITE_OK)
		goto out;
	int step = sqlite3_step(last);
	if (step == SQLITE_ROW &&
	    sqlite3_column_bytes(last, 1) == SEULA_MAC_BYTES) {
		r->id = sqlite3_column_int64(last, 0) + 1;
		memcpy(prev, sqlite3_column_blob(last, 1), SEULA_MAC_BYTES);
	} else if (step == SQLITE_DONE) {
		/* Empty: after retention removed everything, the anchor. */
		bool found;
		int64_t anchor;
		char why[128];
		if (seula_chain_head_get(db, key, "consent-anchor", &found,
		                         &anchor, prev, why,
		                         sizeof(why)) != SEULA_OK)
			goto out;
		r->id = anchor + 1;
	} else {
		goto out;
	}
	pii_mac(key, r, pii);
	record_mac(key, prev, r, pii, mac);
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO consent_records (id, receipt, site, given_at, "
	            "received_at, policy_version, texts_hash, language, "
	            "decisions, preselected, method, source, staff_name, "
	            "signals, gcm, valid_until, tc_string, visitor_id, "
	            "ip_anon, page, pii_mac, prev_mac, mac) VALUES (?, ?, ?, "
	            "?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, "
	            "?)",
	            -1, &ins, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(ins, 1, r->id);
	bind_opt(ins, 2, r->receipt);
	bind_opt(ins, 3, r->site);
	if (r->has_given)
		sqlite3_bind_int64(ins, 4, r->given_at);
	sqlite3_bind_int64(ins, 5, r->received_at);
	bind_opt(ins, 6, r->policy_version);
	bind_opt(ins, 7, r->texts_hash);
	bind_opt(ins, 8, r->language);
	bind_opt(ins, 9, r->decisions);
	bind_opt(ins, 10, r->preselected);
	bind_opt(ins, 11, r->method);
	bind_opt(ins, 12, r->source);
	bind_opt(ins, 13, r->staff_name);
	bind_opt(ins, 14, r->signals);
	bind_opt(ins, 15, r->gcm);
	sqlite3_bind_int64(ins, 16, r->valid_until);
	bind_opt(ins, 17, r->tc_string);
	bind_opt(ins, 18, r->visitor_id);
	bind_opt(ins, 19, r->ip_anon);
	bind_opt(ins, 20, r->page);
	sqlite3_bind_blob(ins, 21, pii, SEULA_MAC_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 22, prev, SEULA_MAC_BYTES, SQLITE_STATIC);
	sqlite3_bind_blob(ins, 23, mac, SEULA_MAC_BYTES, SQLITE_STATIC);
	if (sqlite3_step(ins) != SQLITE_DONE ||
	    (r->visitor_id && put_state(db, key, r) != SEULA_OK))
		goto out;
	rc = seula_chain_head_set(db, key, "consent", r->id, mac, err, errlen);
out:
	if (rc != SEULA_OK && !err[0])
		snprintf(err, errlen, "consent record: %s", sqlite3_errmsg(db));
	sqlite3_finalize(last);
	sqlite3_finalize(ins);
	return rc;
}

static const char *col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

/* Whether text column i holds a NUL byte, which the server never writes:
 * the MACs read a text up to it, while a search (visitor_id = ?) compares
 * every byte, so "ID\0x" would hide a record from its visitor unseen. */
static bool holds_nul(sqlite3_stmt *st, int i)
{
	const char *t = col(st, i);
	return t && (size_t)sqlite3_column_bytes(st, i) != strlen(t);
}

/* Each visitor's state beside what its latest record makes it: the
 * state's visitor id, site, grants, valid_until, receipt, record_id and
 * MAC (0-8), the latest record's id, site, decisions, valid_until and
 * receipt (9-13; NULL without one).  From visitor id ?1 on (keyset
 * pages for the migration, which writes as it goes). */
#define STATE_SELECT                                                           \
	"SELECT v.visitor_id, v.site, v.analytics, v.marketing, "              \
	"v.personalization, v.valid_until, v.receipt, v.record_id, v.mac, "    \
	"r.id, r.site, r.decisions, r.valid_until, r.receipt FROM "            \
	"consent_visitors v LEFT JOIN consent_records r ON r.id = (SELECT "    \
	"x.id FROM consent_records x WHERE x.visitor_id = v.visitor_id "       \
	"ORDER BY x.id DESC LIMIT 1) WHERE v.visitor_id > ?1 ORDER BY "        \
	"v.visitor_id"

static void stored_state(sqlite3_stmt *st, struct cstate *s)
{
	*s = (struct cstate){.site = col(st, 1),
	                     .valid_until = sqlite3_column_int64(st, 5),
	                     .receipt = col(st, 6),
	                     .record_id = sqlite3_column_int64(st, 7)};
	for (int k = 0; k < 3; k++)
		s->grants[k] = sqlite3_column_int(st, 2 + k);
}

static bool same_text(const char *a, const char *b)
{
	return a && b ? strcmp(a, b) == 0 : a == b;
}

/* Append " what" (", what" after another) to `why`, of `len` bytes. */
static void add_diff(char *why, size_t len, const char *fmt, ...)
        SEULA_PRINTF(3, 4);
static void add_diff(char *why, size_t len, const char *fmt, ...)
{
	size_t n = strlen(why);
	if (n + 2 >= len)
		return;
	n += (size_t)snprintf(why + n, len - n, "%s",
	                      n && why[n - 1] == ')' ? ", " : " ");
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why + n, len - n, fmt, ap);
	va_end(ap);
}

/* Is the state the row `st` is on what its records make it?  "" in `why`
 * when so, else what differs.  `anchor`: the last record retention
 * removed; a state whose records it removed cannot be compared, only be
 * of a record no newer than the anchor.  `by_id`: the state names its
 * record (not yet when migration 9 signs it). */
static void state_problem(sqlite3_stmt *st, int64_t anchor, bool by_id,
                          char *why, size_t len)
{
	struct cstate got;
	stored_state(st, &got);
	bool no_id = sqlite3_column_type(st, 7) == SQLITE_NULL;
	why[0] = '\0';
	if (sqlite3_column_type(st, 9) == SQLITE_NULL) {
		if (no_id || got.record_id > anchor)
			snprintf(why, len,
			         "it has a consent state but no record of it");
		return;
	}
	struct cstate want = {.site = col(st, 10),
	                      .valid_until = sqlite3_column_int64(st, 12),
	                      .receipt = col(st, 13),
	                      .record_id = sqlite3_column_int64(st, 9)};
	record_grants(col(st, 11), want.grants);
	snprintf(why, len,
	         "its consent state is not what its latest record, %" PRId64
	         ", gives:",
	         want.record_id);
	size_t head = strlen(why);
	for (int k = 0; k < 3; k++)
		if (got.grants[k] != want.grants[k])
			add_diff(why, len, "%s %s (the record: %s)",
			         state_grants[k],
			         got.grants[k] ? "granted" : "denied",
			         want.grants[k] ? "granted" : "denied");
	if (!same_text(got.site, want.site))
		add_diff(why, len, "site %.64s (the record: %.64s)",
		         got.site ? got.site : "NULL", want.site);
	if (got.valid_until != want.valid_until) {
		char a[32], b[32];
		iso_time(got.valid_until, a);
		iso_time(want.valid_until, b);
		add_diff(why, len, "valid until %s (the record: %s)", a, b);
	}
	if (!same_text(got.receipt, want.receipt))
		add_diff(why, len, "receipt %.40s (the record: %.40s)",
		         got.receipt ? got.receipt : "NULL", want.receipt);
	if (by_id && (no_id || got.record_id != want.record_id))
		add_diff(why, len, "record %s (the record: %" PRId64 ")",
		         no_id ? "none"
		               : (const char *)sqlite3_column_text(st, 7),
		         want.record_id);
	if (strlen(why) == head)
		why[0] = '\0';
}

static bool state_signed(sqlite3_stmt *st, const unsigned char *key)
{
	struct cstate s;
	stored_state(st, &s);
	unsigned char mac[SEULA_MAC_BYTES];
	if (sqlite3_column_type(st, 7) == SQLITE_NULL ||
	    sqlite3_column_bytes(st, 8) != SEULA_MAC_BYTES)
		return false;
	state_mac(key, col(st, 0), &s, mac);
	return sodium_memcmp(sqlite3_column_blob(st, 8), mac,
	                     SEULA_MAC_BYTES) == 0;
}

static void bad_state(struct seula_chain_report *r, const char *vid,
                      const char *why, seula_consent_mismatch_fn *each,
                      void *arg)
{
	if (!r->bad_states++)
		snprintf(r->why, sizeof(r->why), "visitor %.40s: %.200s", vid,
		         why);
	if (each)
		each(arg, vid, why);
}

/* Every visitor's consent state against the verified records (see
 * seula_consent_verify). */
static int verify_states(sqlite3 *db, const unsigned char *key, int64_t anchor,
                         struct seula_chain_report *r,
                         seula_consent_mismatch_fn *each, void *arg)
{
	sqlite3_stmt *st = NULL;
	char why[512];
	int step = SQLITE_ERROR;
	if (sqlite3_prepare_v2(db, STATE_SELECT, -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, "", -1, SQLITE_STATIC);
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		r->states++;
		state_problem(st, anchor, true, why, sizeof(why));
		if (!why[0] && !state_signed(st, key))
			snprintf(why, sizeof(why),
			         "its consent state is not signed with the "
			         "server's key");
		if (why[0])
			bad_state(r, col(st, 0) ? col(st, 0) : "NULL", why,
			          each, arg);
	}
	if (step != SQLITE_DONE)
		goto out;
	sqlite3_finalize(st);
	st = NULL;
	/* A record's visitor without a state: its state deleted. */
	step = SQLITE_ERROR;
	if (sqlite3_prepare_v2(db,
	                       "SELECT visitor_id, max(id) FROM "
	                       "consent_records WHERE visitor_id IS NOT NULL "
	                       "AND visitor_id NOT IN (SELECT visitor_id FROM "
	                       "consent_visitors) GROUP BY visitor_id",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		snprintf(why, sizeof(why),
		         "its latest record, %" PRId64 ", has no consent state",
		         (int64_t)sqlite3_column_int64(st, 1));
		bad_state(r, col(st, 0), why, each, arg);
	}
out:
	if (step != SQLITE_DONE)
		snprintf(r->why, sizeof(r->why), "consent state: %s",
		         sqlite3_errmsg(db));
	sqlite3_finalize(st);
	if (step != SQLITE_DONE)
		return SEULA_EIO;
	return r->bad_states ? SEULA_ECONFLICT : SEULA_OK;
}

int seula_consent_verify(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         struct seula_chain_report *r,
                         seula_consent_mismatch_fn *each, void *arg)
{
	memset(r, 0, sizeof(*r));
	unsigned char prev[SEULA_MAC_BYTES] = {0}, mac[SEULA_MAC_BYTES],
	              pii[SEULA_MAC_BYTES];
	bool found;
	int64_t anchor = 0, last = 0;
	char why[128];
	int rc = seula_chain_head_get(db, key, "consent-anchor", &found,
	                              &anchor, prev, why, sizeof(why));
	if (rc != SEULA_OK) {
		snprintf(r->why, sizeof(r->why), "the retention anchor: %s",
		         why);
		return rc == SEULA_EIO ? rc : seula_chain_broken(r, 1, r->why);
	}
	r->pruned = anchor;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT id, receipt, site, given_at, received_at, "
	            "policy_version, texts_hash, language, decisions, "
	            "preselected, method, source, staff_name, signals, gcm, "
	            "valid_until, tc_string, visitor_id, ip_anon, page, "
	            "pii_mac, erased_at, prev_mac, mac, erased_mac FROM "
	            "consent_records ORDER BY id",
	            -1, &st, NULL) != SQLITE_OK) {
		/* A database this seula has not migrated yet. */
		snprintf(r->why, sizeof(r->why), "%s%s", sqlite3_errmsg(db),
		         strstr(sqlite3_errmsg(db), "erased_mac")
		                 ? ": start the server once, or run seula "
		                   "migrate, first"
		                 : "");
		return SEULA_EIO;
	}
	int64_t expect = anchor + 1;
	int step;
	rc = SEULA_OK;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		struct seula_consent_record rec = {
		        .id = sqlite3_column_int64(st, 0),
		        .receipt = col(st, 1),
		        .site = col(st, 2),
		        .has_given = sqlite3_column_type(st, 3) != SQLITE_NULL,
		        .given_at = sqlite3_column_int64(st, 3),
		        .received_at = sqlite3_column_int64(st, 4),
		        .policy_version = col(st, 5),
		        .texts_hash = col(st, 6),
		        .language = col(st, 7),
		        .decisions = col(st, 8),
		        .preselected = col(st, 9),
		        .method = col(st, 10),
		        .source = col(st, 11),
		        .staff_name = col(st, 12),
		        .signals = col(st, 13),
		        .gcm = col(st, 14),
		        .valid_until = sqlite3_column_int64(st, 15),
		        .tc_string = col(st, 16),
		        .visitor_id = col(st, 17),
		        .ip_anon = col(st, 18),
		        .page = col(st, 19),
		};
		bool erased = sqlite3_column_type(st, 21) != SQLITE_NULL;
		if (rec.id != expect) {
			char w[96];
			snprintf(w, sizeof(w),
			         rec.id > expect
			                 ? "record %" PRId64 " is missing (the "
			                   "next is %" PRId64 ")"
			                 : "record %" PRId64 " is out of place "
			                   "(found %" PRId64 ")",
			         expect, rec.id);
			rc = seula_chain_broken(r, expect, w);
			break;
		}
		if (sqlite3_column_bytes(st, 20) != SEULA_MAC_BYTES ||
		    sqlite3_column_bytes(st, 22) != SEULA_MAC_BYTES ||
		    sqlite3_column_bytes(st, 23) != SEULA_MAC_BYTES ||
		    sodium_memcmp(sqlite3_column_blob(st, 22), prev,
		                  SEULA_MAC_BYTES)) {
			rc = seula_chain_broken(
			        r, rec.id,
			        "its link to the previous record is broken");
			break;
		}
		bool nul = false;
		for (int i = 1; i <= 19; i++)
			nul |= holds_nul(st, i);
		if (nul) {
			rc = seula_chain_broken(r, rec.id,
			                        "a field holds a NUL byte");
			break;
		}
		record_mac(key, prev, &rec, sqlite3_column_blob(st, 20), mac);
		if (sodium_memcmp(sqlite3_column_blob(st, 23), mac,
		                  SEULA_MAC_BYTES)) {
			rc = seula_chain_broken(
			        r, rec.id,
			        "its content does not match its MAC");
			break;
		}
		/* Personal fields: intact, or erased as a whole by the
		 * server, which signed that it did. */
		if (erased ? rec.visitor_id || rec.ip_anon || rec.page
		           : (pii_mac(key, &rec, pii),
		              sodium_memcmp(sqlite3_column_blob(st, 20), pii,
		                            SEULA_MAC_BYTES) != 0)) {
			rc = seula_chain_broken(
			        r, rec.id,
			        "its visitor id, address or page was "
			        "changed");
			break;
		}
		if (erased) {
			erased_mac(key, rec.id, rec.receipt,
			           sqlite3_column_blob(st, 20),
			           sqlite3_column_int64(st, 21), pii);
			if (sqlite3_column_bytes(st, 24) != SEULA_MAC_BYTES ||
			    sodium_memcmp(sqlite3_column_blob(st, 24), pii,
			                  SEULA_MAC_BYTES) != 0) {
				rc = seula_chain_broken(
				        r, rec.id,
				        "it is erased without the server's "
				        "proof that it erased it");
				break;
			}
		}
		memcpy(prev, mac, SEULA_MAC_BYTES);
		r->rows++;
		last = rec.id;
		expect++;
	}
	sqlite3_finalize(st);
	if (rc != SEULA_OK)
		return rc;
	if (step != SQLITE_DONE) {
		snprintf(r->why, sizeof(r->why), "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	int64_t head_id;
	unsigned char head[SEULA_MAC_BYTES];
	rc = seula_chain_head_get(db, key, "consent", &found, &head_id, head,
	                          why, sizeof(why));
	if (rc == SEULA_EIO) {
		snprintf(r->why, sizeof(r->why), "%s", why);
		return rc;
	}
	if (rc != SEULA_OK)
		return seula_chain_broken(r, head_id, why);
	if (!found && (r->rows || anchor))
		return seula_chain_broken(r, expect, "the head is missing");
	if (!found) {
		/* No record, no anchor, no head: a new database's, or one
		 * wiped whole; a visitor's standing consent is kept only
		 * beside the record of it. */
		int64_t visitors = 0;
		if (seula_db_int(db, "SELECT count(*) FROM consent_visitors",
		                 &visitors, r->why, sizeof(r->why)) != SEULA_OK)
			return SEULA_EIO;
		if (visitors == 0)
			return SEULA_OK;
		char w[128];
		snprintf(w, sizeof(w),
		         "the records and their head are gone, yet %lld "
		         "visitors' consent is kept",
		         (long long)visitors);
		return seula_chain_broken(r, 1, w);
	}
	if (r->rows == 0)
		last = anchor;
	if (head_id != last)
		return seula_chain_broken(
		        r, head_id > last ? last + 1 : head_id + 1,
		        head_id > last ? "records at the end are missing"
		                       : "records follow the head");
	if (sodium_memcmp(head, prev, SEULA_MAC_BYTES))
		return seula_chain_broken(r, head_id,
		                          "the head names another last record");
	sodium_bin2hex(r->head, sizeof(r->head), prev, SEULA_MAC_BYTES);
	return verify_states(db, key, anchor, r, each, arg);
}

/* The visitors verify named, for seula_consent_repair_states(). */
struct named {
	char **vids;
	size_t n, cap;
	bool oom;
	seula_consent_mismatch_fn *each;
	void *arg;
};

static void note_named(void *arg, const char *vid, const char *why)
{
	struct named *nm = arg;
	if (nm->each)
		nm->each(nm->arg, vid, why);
	if (nm->n == nm->cap) {
		size_t cap = nm->cap ? nm->cap * 2 : 16;
		char **v = realloc(nm->vids, cap * sizeof(*v));
		if (!v) {
			nm->oom = true;
			return;
		}
		nm->vids = v;
		nm->cap = cap;
	}
	if (!(nm->vids[nm->n] = strdup(vid)))
		nm->oom = true;
	else
		nm->n++;
}

/* Visitor `vid`'s state made what its latest record gives, or deleted
 * when no record names the visitor (*rewritten or *deleted counts it). */
static int repair_state(sqlite3 *db, const unsigned char *key, const char *vid,
                        int64_t *rewritten, int64_t *deleted)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT id, site, decisions, valid_until, "
	            "receipt FROM consent_records WHERE visitor_id = "
	            "?1 ORDER BY id DESC LIMIT 1",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
	int step = sqlite3_step(st), rc = SEULA_EIO;
	if (step == SQLITE_ROW) {
		struct seula_consent_record r = {
		        .id = sqlite3_column_int64(st, 0),
		        .site = col(st, 1),
		        .decisions = col(st, 2),
		        .valid_until = sqlite3_column_int64(st, 3),
		        .receipt = col(st, 4),
		        .visitor_id = vid,
		};
		rc = put_state(db, key, &r);
		*rewritten += rc == SEULA_OK;
	} else if (step == SQLITE_DONE) {
		sqlite3_finalize(st);
		st = NULL;
		if (sqlite3_prepare_v2(db,
		                       "DELETE FROM consent_visitors WHERE "
		                       "visitor_id = ?1",
		                       -1, &st, NULL) != SQLITE_OK)
			return SEULA_EIO;
		sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
		if (sqlite3_step(st) == SQLITE_DONE) {
			rc = SEULA_OK;
			*deleted += sqlite3_changes(db) > 0;
		}
	}
	sqlite3_finalize(st);
	return rc;
}

int seula_consent_repair_states(sqlite3 *db,
                                const unsigned char key[SEULA_SECRET_BYTES],
                                struct seula_chain_report *report,
                                seula_consent_mismatch_fn *each, void *arg,
                                int64_t *rewritten, int64_t *deleted)
{
	*rewritten = *deleted = 0;
	struct named nm = {.each = each, .arg = arg};
	int rc = seula_consent_verify(db, key, report, note_named, &nm);
	if (rc == SEULA_ECONFLICT && report->bad_states)
		rc = SEULA_OK; /* the records verify; their states are named */
	if (rc == SEULA_OK && nm.oom) {
		snprintf(report->why, sizeof(report->why), "out of memory");
		rc = SEULA_ENOMEM;
	}
	for (size_t i = 0; rc == SEULA_OK && i < nm.n; i++)
		if (repair_state(db, key, nm.vids[i], rewritten, deleted) !=
		    SEULA_OK) {
			snprintf(report->why, sizeof(report->why),
			         "visitor %.40s: %s", nm.vids[i],
			         sqlite3_errmsg(db));
			rc = SEULA_EIO;
		}
	for (size_t i = 0; i < nm.n; i++)
		free(nm.vids[i]);
	free(nm.vids);
	return rc;
}

/* The standing consents left without a record once those up to `anchor`
 * are gone: the gate grants nothing by them.  One of a record retention
 * removed (no newer than the anchor) goes at once; only a config from
 * before record_retention had to outlast consent_period leaves a valid
 * one.  Any other goes once lapsed: until then verify names it (a forged
 * row is not retention's to hide).  Deleted, or in a dry run counted. */
static int prune_states(sqlite3 *db, int64_t now_ms, int64_t anchor,
                        bool dry_run, int64_t *states)
{
	char sql[400];
	snprintf(sql, sizeof(sql),
	         "%s FROM consent_visitors WHERE NOT EXISTS (SELECT 1 FROM "
	         "consent_records r WHERE r.visitor_id = "
	         "consent_visitors.visitor_id AND r.id > ?2) AND (record_id "
	         "<= ?2 OR valid_until <= ?1)",
	         dry_run ? "SELECT count(*)" : "DELETE");
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_int64(st, 1, now_ms);
	sqlite3_bind_int64(st, 2, anchor);
	int step = sqlite3_step(st);
	int rc = step == (dry_run ? SQLITE_ROW : SQLITE_DONE) ? SEULA_OK
	                                                      : SEULA_EIO;
	if (rc == SEULA_OK)
		*states = dry_run ? sqlite3_column_int64(st, 0)
		                  : sqlite3_changes64(db);
	sqlite3_finalize(st);
	return rc;
}

int seula_consent_prune(const struct seula_consent *c, sqlite3 *db,
                        int64_t now_ms, bool dry_run, int64_t *removed,
                        int64_t *states, char *err, size_t errlen)
{
	int64_t cutoff = now_ms - c->cfg->consent_retention_s * 1000;
	sqlite3_stmt *st = NULL;
	int rc = SEULA_EIO;
	*removed = *states = 0;
	err[0] = '\0';
	int64_t anchor = 0;
	if (seula_db_int(db,
	                 "SELECT coalesce((SELECT last_id FROM chain_heads "
	                 "WHERE chain = 'consent-anchor'), 0)",
	                 &anchor, err, errlen) != SEULA_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT id, mac FROM consent_records WHERE id "
	                       "< (SELECT coalesce(min(id), 0) FROM "
	                       "consent_records WHERE received_at >= ?1) OR "
	                       "NOT EXISTS (SELECT 1 FROM consent_records "
	                       "WHERE received_at >= ?1) ORDER BY id DESC "
	                       "LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, cutoff);
	int step = sqlite3_step(st);
	if (step == SQLITE_DONE) {
		rc = prune_states(db, now_ms, anchor, dry_run, states);
		goto out;
	}
	if (step != SQLITE_ROW ||
	    sqlite3_column_bytes(st, 1) != SEULA_MAC_BYTES)
		goto out;
	int64_t through = sqlite3_column_int64(st, 0);
	unsigned char mac[SEULA_MAC_BYTES];
	memcpy(mac, sqlite3_column_blob(st, 1), SEULA_MAC_BYTES);
	sqlite3_finalize(st);
	st = NULL;
	if (dry_run) {
		char sql[96];
		snprintf(sql, sizeof(sql),
		         "SELECT count(*) FROM consent_records WHERE id <= "
		         "%" PRId64,
		         through);
		rc = seula_db_int(db, sql, removed, err, errlen);
		if (rc == SEULA_OK)
			rc = prune_states(db, now_ms, through, true, states);
		goto out;
	}
	if (!c->key) {
		snprintf(err, errlen,
		         "consent retention: records are due, but the "
		         "server's key to sign the chain's new anchor with is "
		         "missing");
		goto out;
	}
	if (seula_chain_head_set(db, c->key, "consent-anchor", through, mac,
	                         err, errlen) != SEULA_OK ||
	    sqlite3_prepare_v2(db, "DELETE FROM consent_records WHERE id <= ?",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_int64(st, 1, through);
	if (sqlite3_step(st) == SQLITE_DONE) {
		*removed = sqlite3_changes64(db);
		rc = prune_states(db, now_ms, through, false, states);
	}
out:
	if (rc != SEULA_OK && !err[0])
		snprintf(err, errlen, "consent retention: %s",
		         sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return rc;
}

static int retention_run(void *instance, sqlite3 *db, int64_t now_ms,
                         char **errmsg)
{
	const struct seula_consent *c = instance;
	char err[256];
	int64_t removed, states;
	int rc = seula_consent_prune(c, db, now_ms, false, &removed, &states,
	                             err, sizeof(err));
	if (rc != SEULA_OK && asprintf(errmsg, "%s", err) < 0)
		*errmsg = NULL;
	/* As the events' retention: the runs that delete are the ones to
	 * read. */
	if (rc == SEULA_OK && c->log)
		seula_log(
		        c->log,
		        removed || states ? SEULA_LOG_INFO : SEULA_LOG_DEBUG,
		        "retention",
		        "consent records past record_retention: %lld deleted; "
		        "lapsed standing consents without records: %lld "
		        "deleted",
		        (long long)removed, (long long)states);
	return rc;
}

/* Texts changed under a policy_version already in use: the languages of
 * site `s` whose stored texts for its current version include others than
 * the ones served now, ", "-separated into langs ("" when none).  Said at
 * start (and daily) and by the selftest until the version is bumped.  The
 * banner asks again all the same, but the records would name one version
 * for two texts, and the change may have been no one's intent (an
 * upgrade's new words). */
static int changed_texts(const struct site_consent *s, sqlite3 *db, char *langs,
                         size_t size)
{
	sqlite3_stmt *st = NULL;
	langs[0] = '\0';
	if (sqlite3_prepare_v2(db,
	                       "SELECT 1 FROM consent_texts WHERE site = ? AND "
	                       "policy_version = ? AND language = ? AND hash "
	                       "<> ? LIMIT 1",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	int rc = SEULA_OK;
	size_t len = 0;
	for (size_t k = 0; rc == SEULA_OK && k < s->n_langs; k++) {
		sqlite3_bind_text(st, 1, s->site->id, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 2, s->site->policy_version, -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 3, s->langs[k].lang, -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 4, s->langs[k].hash, -1, SQLITE_STATIC);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW && len < size) {
			int n = snprintf(langs + len, size - len, "%s%s",
			                 len ? ", " : "", s->langs[k].lang);
			len += n > 0 ? (size_t)n : 0;
		} else if (step != SQLITE_ROW && step != SQLITE_DONE) {
			rc = SEULA_EIO;
		}
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	return rc;
}

/* What changed_texts() found, and what to do about it, into buf. */
static void changed_texts_note(const struct site_consent *s, const char *langs,
                               char *buf, size_t size)
{
	snprintf(buf, size,
	         "the consent texts (%s) differ from those already stored "
	         "for policy_version '%s': visitors are asked again, but "
	         "their records name one version for two texts; bump "
	         "policy_version whenever the texts, cookies or categories "
	         "change",
	         langs, s->site->policy_version);
}

static int warn_changed_texts(const struct seula_consent *c, sqlite3 *db)
{
	int rc = SEULA_OK;
	for (size_t i = 0; rc == SEULA_OK && i < c->n_sites; i++) {
		const struct site_consent *s = &c->sites[i];
		char langs[256], note[512];
		rc = changed_texts(s, db, langs, sizeof(langs));
		if (rc != SEULA_OK || !langs[0] || !c->log)
			continue;
		changed_texts_note(s, langs, note, sizeof(note));
		seula_log(c->log, SEULA_LOG_WARN, "consent", "[site.%s] %s",
		          s->site->id, note);
	}
	return rc;
}

static int texts_run(void *instance, sqlite3 *db, int64_t now_ms, char **errmsg)
{
	char err[256] = "consent texts: cannot read the stored texts";
	int rc = warn_changed_texts(instance, db);
	if (rc == SEULA_OK)
		rc = seula_consent_store_texts(instance, db, now_ms, err,
		                               sizeof(err));
	if (rc != SEULA_OK && asprintf(errmsg, "%s", err) < 0)
		*errmsg = NULL;
	return rc;
}

const struct seula_task seula_consent_texts_task = {
        .name = "consent-texts",
        .interval_s = 86400,
        .flags = SEULA_TASK_AT_START,
        .run = texts_run,
};

const struct seula_task seula_consent_retention_task = {
        .name = "consent-retention",
        .interval_s = 3600,
        .flags = SEULA_TASK_AT_START | SEULA_TASK_TRUNCATE_WAL,
        .run = retention_run,
};

/* ---- the gate --------------------------------------------------------------
 */

void seula_consent_gate_release(void *arg)
{
	struct seula_consent *c = arg;
	sqlite3_finalize(c->gate_lookup);
	c->gate_lookup = NULL;
	c->gate_db = NULL;
}

/* What the gate makes of a visitor id: the state of its latest record. */
enum gate_state {
	GATE_NONE,    /* no record names it */
	GATE_NOTHING, /* a record, but not one that holds: lapsed, of another
	               * policy or texts, another site's, or not the server's */
	GATE_GRANTED, /* a choice in force that grants analytics */
	GATE_OBJECTED /* a choice in force that refuses analytics */
};

/* Are `hash` and `lang` (a record's) the texts the site shows now?  A
 * record from before texts were recorded cannot say: it is taken as
 * current, as the policy version alone judged it then. */
static bool texts_current(const struct site_consent *s, const char *hash,
                          const char *lang)
{
	if (!hash)
		return true;
	const struct site_lang *l = lang ? find_lang(s, lang) : NULL;
	return l && strcmp(l->hash, hash) == 0;
}

/* The state of `vid` on site `s`.  The state is trusted only as signed
 * (state_mac) and of the latest record: one more lookup, in the covering
 * index of the records by visitor, and one MAC per event with an id.  A
 * state whose records are gone holds nothing: a consent that cannot be
 * shown is none (the config keeps records as long as a consent lasts).
 * A choice made under another policy version, or other texts than the
 * site's in its language, holds nothing either: the banner asks again,
 * and a consent counts for what the visitor was shown.  The version,
 * texts and method are the latest record's (chained, so trusted), read by
 * its id in the same query.  GPC's record refuses everything but is no
 * choice of the visitor's: it objects to marketing, not to statistics. */
static int gate_state(struct seula_consent *c, sqlite3 *db,
                      const struct site_consent *site, const char *vid,
                      int64_t now_ms, enum gate_state *state)
{
	if (c->gate_db != db) {
		seula_consent_gate_release(c);
		if (sqlite3_prepare_v3(
		            db,
		            "SELECT l.id, v.site, v.analytics, v.marketing, "
		            "v.personalization, v.valid_until, v.receipt, "
		            "v.record_id, v.mac, r.policy_version, "
		            "r.texts_hash, r.language, r.method FROM (SELECT "
		            "(SELECT id FROM "
		            "consent_records WHERE visitor_id = ?1 ORDER BY id "
		            "DESC LIMIT 1) AS id) AS l LEFT JOIN "
		            "consent_visitors v ON v.visitor_id = ?1 LEFT JOIN "
		            "consent_records r ON r.id = l.id",
		            -1, SQLITE_PREPARE_PERSISTENT, &c->gate_lookup,
		            NULL) != SQLITE_OK)
			return SEULA_EIO;
		c->gate_db = db;
	}
	sqlite3_stmt *st = c->gate_lookup;
	sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW && sqlite3_column_type(st, 1) == SQLITE_NULL) {
		/* No state: none given, or one with records deleted. */
		*state = sqlite3_column_type(st, 0) == SQLITE_NULL
		                 ? GATE_NONE
		                 : GATE_NOTHING;
	} else if (step == SQLITE_ROW) {
		struct cstate s = {.site = col(st, 1),
		                   .valid_until = sqlite3_column_int64(st, 5),
		                   .receipt = col(st, 6),
		                   .record_id = sqlite3_column_int64(st, 7)};
		for (int k = 0; k < 3; k++)
			s.grants[k] = sqlite3_column_int(st, 2 + k);
		unsigned char mac[SEULA_MAC_BYTES];
		bool latest = sqlite3_column_type(st, 0) != SQLITE_NULL &&
		              sqlite3_column_int64(st, 0) == s.record_id;
		bool signed_ok = false;
		if (c->key && latest &&
		    sqlite3_column_bytes(st, 8) == SEULA_MAC_BYTES) {
			state_mac(c->key, vid, &s, mac);
			signed_ok = sodium_memcmp(sqlite3_column_blob(st, 8),
			                          mac, SEULA_MAC_BYTES) == 0;
		}
		const char *version = col(st, 9);
		const char *method = col(st, 12);
		bool current =
		        (!version ||
		         strcmp(version, site->site->policy_version) == 0) &&
		        texts_current(site, col(st, 10), col(st, 11));
		bool mine = signed_ok && strcmp(s.site, site->site->id) == 0;
		bool objected = mine && s.grants[0] != 1 &&
		                !(method && strcmp(method, "gpc") == 0);
		/* A grant holds under the texts and version it was given for,
		 * until it expires; an objection (art. 21) lapses with none
		 * of them, only with the person's next answer. */
		if (objected)
			*state = GATE_OBJECTED;
		else if (mine && current && s.valid_until > now_ms &&
		         s.grants[0] == 1)
			*state = GATE_GRANTED;
		else
			*state = GATE_NOTHING;
	}
	sqlite3_reset(st);
	return step == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

int seula_consent_gate(void *arg, sqlite3 *db, struct seula_event *ev,
                       int64_t now_ms, bool *keep)
{
	struct seula_consent *c = arg;
	const struct site_consent *s =
	        find_site(c, seula_event_str(ev, SEULA_FIELD_SITE));
	*keep = true;
	if (!s)
		return SEULA_OK; /* collect only takes configured sites */
	bool exempt = s->site->mode == SEULA_MODE_EXEMPT;
	if (exempt) {
		int64_t type = 0;
		seula_event_int(ev, SEULA_FIELD_TYPE, &type);
		if (type == SEULA_EVENT_CUSTOM) {
			*keep = false;
			return SEULA_OK;
		}
		static const enum seula_field utm[] = {
		        SEULA_FIELD_UTM_SOURCE, SEULA_FIELD_UTM_MEDIUM,
		        SEULA_FIELD_UTM_CAMPAIGN, SEULA_FIELD_UTM_TERM,
		        SEULA_FIELD_UTM_CONTENT};
		for (size_t i = 0; i < sizeof(utm) / sizeof(*utm); i++)
			seula_event_clear(ev, utm[i]);
	}
	const char *vid = seula_event_str(ev, SEULA_FIELD_VISITOR_ID);
	enum gate_state state = GATE_NONE;
	if (vid && gate_state(c, db, s, vid, now_ms, &state) != SEULA_OK)
		return SEULA_EIO;
	/* Refusing statistics objects to the counting itself, with or
	 * without cookies, in either mode: an event that shows it comes
	 * from an objector is not stored at all (the tracker sends none;
	 * this one came from a stale tab or a tracker told otherwise). */
	if (state == GATE_OBJECTED) {
		*keep = false;
		return SEULA_OK;
	}
	/* Exempt: an id kept unless its record does not hold; consent:
	 * only with a record that grants it. */
	bool accepted =
	        vid && (exempt ? state != GATE_NOTHING : state == GATE_GRANTED);
	if (vid && !accepted)
		seula_event_clear(ev, SEULA_FIELD_VISITOR_ID);
	if (!accepted && !exempt &&
	    s->site->without_consent == SEULA_WITHOUT_DROP)
		*keep = false;
	return SEULA_OK;
}

/* ---- selftest
 * ---------------------------------------------------------------- */

/* The texts served against those stored for the policy_version, as the
 * warning at start compares them (changed_texts()); 1 when failing.  db
 * NULL: there is no database, so nothing stored yet. */
static int selftest_texts(const struct seula_consent *c,
                          const struct site_consent *s, sqlite3 *db, FILE *out)
{
	char langs[256], note[512];
	const char *name = "policy_version";
	if (!db) {
		fprintf(out,
		        "[ ok ] %-20s no database at %s yet: no texts "
		        "stored\n",
		        name, c->cfg->db);
		return 0;
	}
	if (changed_texts(s, db, langs, sizeof(langs)) != SEULA_OK) {
		fprintf(out, "[FAIL] %-20s cannot read the stored texts: %s\n",
		        name, sqlite3_errmsg(db));
		return 1;
	}
	if (!langs[0]) {
		fprintf(out, "[ ok ] %-20s no other texts stored for '%s'\n",
		        name, s->site->policy_version);
		return 0;
	}
	changed_texts_note(s, langs, note, sizeof(note));
	fprintf(out, "[FAIL] %-20s %s\n", name, note);
	return 1;
}

int seula_consent_selftest(const struct seula_consent *c, sqlite3 *db,
                           const char *site, FILE *out)
{
	const struct site_consent *s = find_site(c, site);
	if (!s) {
		fprintf(stderr, "seula: no site '%s' in the config\n", site);
		return 1;
	}
	fprintf(out, "site %s, consent_mode = %s, policy_version %s\n", site,
	        s->site->mode == SEULA_MODE_EXEMPT ? "exempt" : "consent",
	        s->site->policy_version);
	int failing = selftest_texts(c, s, db, out);
	if (s->site->mode == SEULA_MODE_EXEMPT) {
		struct check checks[N_EXEMPT_CHECKS];
		exempt_checks(c, s, checks);
		for (int i = 0; i < N_EXEMPT_CHECKS; i++) {
			fprintf(out, "[%s] %-20s %s\n",
			        checks[i].ok ? " ok " : "FAIL", checks[i].name,
			        checks[i].detail);
			failing += !checks[i].ok;
		}
		return failing;
	}
	fprintf(out,
	        "[ ok ] %-20s no visitor id is kept without a record "
	        "granting analytics\n",
	        "visitor_id_gate");
	/* Without the hash every page view would be a visitor of its own. */
	bool dropped = s->site->without_consent == SEULA_WITHOUT_DROP;
	bool counted = dropped || c->anonymize_hashes;
	fprintf(out, "[%s] %-20s visits without consent are %s\n",
	        counted ? " ok " : "FAIL", "without_consent",
	        dropped   ? "not stored"
	        : counted ? "counted with the daily cookieless hash"
	                  : "not counted as visits: each page view is a new "
	                    "visitor (load the anonymize plugin with "
	                    "visitor_hash = true)");
	failing += !counted;
	fprintf(out,
	        "[ ok ] %-20s Sec-GPC: 1 is recorded and turns marketing "
	        "off; DNT: %s\n",
	        "gpc",
	        s->site->dnt == SEULA_DNT_OBJECTION ? "likewise"
	                                            : "recorded only");
	fprintf(out, "[ ok ] %-20s asked again after %" PRId64 " days\n",
	        "consent_period", s->site->consent_period_s / 86400);
	fprintf(out, "[ ok ] %-20s", "languages");
	for (size_t i = 0; i < s->n_langs; i++)
		fprintf(out, " %s (texts %.12s)", s->langs[i].lang,
		        s->langs[i].hash);
	fprintf(out, "\n");
	fprintf(out, "[ ok ] %-20s", "categories");
	for (int k = 0; k < N_CATEGORIES; k++)
		if (s->offered[k])
			fprintf(out, " %s", categories[k]);
	fprintf(out, "\n");
	return failing;
}

/* ---- routes ----------------------------------------------------------------
 */

static int reply_json(struct seula_http *http, int status, json_t *o)
{
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!text)
		return seula_http_error(http, 500, "internal", "out of memory");
	int rc = seula_http_reply(http, status, "application/json", text,
	                          strlen(text));
	free(text);
	return rc;
}

static bool header_is(const struct seula_http *http, const char *name,
                      const char *value)
{
	const char *v = seula_http_header(http, name);
	return v && strcmp(v, value) == 0;
}

/* The host of an http(s) URL, lower case, into buf; false when none. */
static bool url_host(const char *url, char *buf, size_t len)
{
	/* A scheme and a host are the same in any case (RFC 3986). */
	const char *p = strncasecmp(url, "https://", 8) == 0  ? url + 8
	                : strncasecmp(url, "http://", 7) == 0 ? url + 7
	                                                      : NULL;
	if (!p)
		return false;
	size_t n = strcspn(p, "/?#");
	const char *at = memchr(p, '@', n);
	if (at)
		return false; /* no credentials in a consent record */
	size_t h = n;
	if (p[0] == '[') {
		const char *close = memchr(p, ']', n);
		h = close ? (size_t)(close - p) + 1 : n;
	} else {
		const char *colon = memchr(p, ':', n);
		if (colon)
			h = (size_t)(colon - p);
	}
	/* After the host, nothing or a port: 1 to 65535. */
	if (h < n) {
		if (p[h] != ':')
			return false;
		const char *port = p + h + 1;
		size_t digits = n - h - 1;
		long v = 0;
		for (size_t i = 0; i < digits; i++) {
			if (port[i] < '0' || port[i] > '9' || i >= 5)
				return false;
			v = v * 10 + (port[i] - '0');
		}
		if (!digits || v < 1 || v > 65535)
			return false;
	}
	if (!h || h >= len)
		return false;
	for (size_t i = 0; i < h; i++)
		buf[i] = (char)tolower((unsigned char)p[i]);
	buf[h] = '\0';
	return true;
}

/* Cross-origin readers of the reply: the site's own pages. */
static bool origin_allowed(const struct site_consent *s,
                           struct seula_http *http)
{
	const char *origin = seula_http_header(http, "Origin");
	char host[256];
	if (!origin)
		return true; /* same origin, or not a browser */
	if (!url_host(origin, host, sizeof(host)) ||
	    !seula_site_allows_host(s->site, host, strlen(host)))
		return false;
	seula_http_set_header(http, "Access-Control-Allow-Origin", origin);
	seula_http_set_header(http, "Vary", "Origin");
	return true;
}

static int config_handler(void *instance, struct seula_http *http)
{
	const struct seula_consent *c = instance;
	const struct site_consent *s =
	        find_site(c, seula_http_query(http, "site"));
	if (!s)
		return seula_http_error(http, 404, "unknown_site",
		                        "no such site in the config");
	const struct site_lang *l =
	        pick_lang(s, seula_http_query(http, "lang"));
	json_t *langs = json_array(), *cats = json_array(),
	       *gcm = json_object(), *hashes = json_object();
	/* Every language's texts hash: a choice stored in another
	 * language than this page's is judged by the texts it was given
	 * under. */
	for (size_t i = 0; i < s->n_langs; i++) {
		json_array_append_new(langs, json_string(s->langs[i].lang));
		json_object_set_new(hashes, s->langs[i].lang,
		                    json_string(s->langs[i].hash));
	}
	for (int k = 0; k < N_CATEGORIES; k++)
		if (s->offered[k])
			json_array_append_new(cats, json_string(categories[k]));
	for (size_t i = 0; i < N_GCM; i++)
		json_object_set_new(gcm, gcm_map[i].type,
		                    json_string(gcm_map[i].category));
	char privacy[64];
	snprintf(privacy, sizeof(privacy), "/privacy?lang=%s", l->lang);
	json_t *o = json_pack(
	        "{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:b, s:s, s:s, "
	        "s:o}",
	        "site", s->site->id, "mode",
	        s->site->mode == SEULA_MODE_EXEMPT ? "exempt" : "consent",
	        "policy_version", s->site->policy_version, "language", l->lang,
	        "languages", langs, "texts_hash", l->hash, "texts_hashes",
	        hashes, "categories", cats, "consent_period_days",
	        (json_int_t)(s->site->consent_period_s / 86400), "gpc",
	        header_is(http, "Sec-GPC", "1"), "dnt",
	        s->site->dnt == SEULA_DNT_OBJECTION ? "objection" : "ignore",
	        "privacy_url", privacy, "google_consent_mode", gcm);
	char *head = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!head)
		return seula_http_error(http, 500, "internal", "out of memory");
	/* The texts go out byte for byte as hashed and stored. */
	size_t hl = strlen(head), tl = strlen(l->texts);
	char *body = malloc(hl + tl + 16);
	if (!body) {
		free(head);
		return seula_http_error(http, 500, "internal", "out of memory");
	}
	memcpy(body, head, hl - 1);
	int n = sprintf(body + hl - 1, ",\"texts\":%s}", l->texts);
	free(head);
	seula_http_set_header(http, "Access-Control-Allow-Origin", "*");
	seula_http_set_header(http, "Cache-Control", "no-store");
	int rc = seula_http_reply(http, 200, "application/json", body,
	                          hl - 1 + (size_t)n);
	free(body);
	return rc;
}

/* The body of a POST as a JSON object; replies and returns NULL when it
 * is not one. */
static json_t *body_object(struct seula_http *http)
{
	return seula_http_json_object(http, MAX_BODY, true);
}

static const char *const body_keys[] = {"site",       "policy_version",
                                        "texts_hash", "language",
                                        "decisions",  "preselected",
                                        "method",     "source",
                                        "given_at",   "visitor_id",
                                        "page",       "gcm",
                                        "tc_string",  NULL};

/* A choice being recorded. */
struct choice {
	const struct site_consent *s;
	const struct site_lang *l;
	bool decisions[N_CATEGORIES];
	enum method method;
	const char *source;
	bool has_given;
	int64_t given_at;
	char visitor_id[37];
	char page[2049];
	const char *tc_string;
	bool gpc, dnt;
};

static int bad(struct seula_http *http, const char *code, const char *fmt, ...)
        SEULA_PRINTF(3, 4);
static int bad(struct seula_http *http, const char *code, const char *fmt, ...)
{
	char msg[300];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	seula_http_error(http, 400, code, msg);
	return SEULA_EINVAL;
}

static bool valid_text(const char *s, size_t max)
{
	size_t n = strlen(s);
	if (n > max)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 32 || s[i] == 127)
			return false;
	return true;
}

/* The URL kept of the page: scheme, host and path; the query may hold
 * anything (an email in a sign-up link), so it goes, and so do path
 * parameters, as in an event's URL. */
static int parse_page(const struct seula_consent *c, struct seula_http *http,
                      const struct site_consent *s, const char *url,
                      char out[2049])
{
	char host[256];
	if (!valid_text(url, 4096) || !url_host(url, host, sizeof(host)))
		return bad(http, "bad_page", "page is not an http(s) URL");
	if (!seula_site_allows_host(s->site, host, strlen(host)))
		return bad(http, "page_not_allowed",
		           "page is not on one of the site's domains");
	char kept[4097];
	size_t n = strcspn(url, "?#");
	memcpy(kept, url, n);
	/* url_host took "http(s)://" and the authority: the path follows. */
	size_t path = (size_t)(strstr(url, "://") - url) + 3;
	path += strcspn(url + path, "/?#");
	n = path + seula_url_cut_path_params(kept + path, n - path);
	/* The record is kept for years and never rewritten: an address in
	 * the path (a reset or unsubscribe link) must not go into it. */
	char *clean = NULL;
	if (seula_redact_text(c->redactor, kept, n, &clean) != SEULA_OK)
		return SEULA_ENOMEM;
	const char *page = clean ? clean : kept;
	if (clean)
		n = strlen(clean);
	/* Cut at a whole character: a record with broken UTF-8 could not
	 * be shown, to the visitor or to staff. */
	if (n > 2048) {
		n = 2048;
		while (n > 0 && ((unsigned char)page[n] & 0xC0) == 0x80)
			n--;
	}
	memcpy(out, page, n);
	out[n] = '\0';
	free(clean);
	return SEULA_OK;
}

static int parse_choice(const struct seula_consent *c, struct seula_http *http,
                        json_t *o, bool staff, struct choice *ch, bool *stale)
{
	memset(ch, 0, sizeof(*ch));
	*stale = false;
	const char *key;
	json_t *v;
	json_object_foreach(o, key, v)
	{
		bool known = false;
		for (size_t i = 0; body_keys[i]; i++)
			known |= strcmp(body_keys[i], key) == 0;
		if (!known)
			return bad(http, "unknown_field",
			           "unknown field '%.64s'", key);
	}
	const char *site = json_string_value(json_object_get(o, "site"));
	if (!site)
		return bad(http, "missing_field", "site is required");
	if (!(ch->s = find_site(c, site)))
		return bad(http, "unknown_site", "no such site in the config");
	const char *lang = json_string_value(json_object_get(o, "language"));
	if (!lang)
		return bad(http, "missing_field", "language is required");
	if (!(ch->l = find_lang(ch->s, lang)))
		return bad(http, "unknown_language",
		           "language is not one of the site's");
	const char *version =
	        json_string_value(json_object_get(o, "policy_version"));
	const char *hash = json_string_value(json_object_get(o, "texts_hash"));
	if (!version || (!staff && !hash))
		return bad(http, "missing_field",
		           "policy_version and texts_hash are required");
	if (strcmp(version, ch->s->site->policy_version) != 0 ||
	    (hash && strcmp(hash, ch->l->hash) != 0)) {
		*stale = true;
		return SEULA_ECONFLICT;
	}
	json_t *d = json_object_get(o, "decisions");
	if (!json_is_object(d))
		return bad(http, "missing_field",
		           "decisions must be an object of booleans");
	json_object_foreach(d, key, v)
	{
		int k = category_index(key);
		if (k < 0 || !ch->s->offered[k])
			return bad(http, "unknown_category",
			           "'%.64s' is not a category this site offers",
			           key);
		if (!json_is_boolean(v))
			return bad(http, "bad_decision",
			           "the decision for %s is not a boolean", key);
		if (k == 0 && !json_is_true(v))
			return bad(http, "bad_decision",
			           "necessary is always on");
		ch->decisions[k] = json_is_true(v);
	}
	ch->decisions[0] = true;
	for (int k = 1; k < N_CATEGORIES; k++)
		if (ch->s->offered[k] && !json_object_get(d, categories[k]))
			return bad(
			        http, "missing_decision",
			        "decisions has no %s: every category offered "
			        "needs one, denials too",
			        categories[k]);
	json_t *pre = json_object_get(o, "preselected");
	if (pre && !json_is_object(pre))
		return bad(http, "bad_preselected",
		           "preselected must be an object");
	json_object_foreach(pre, key, v)
	{
		int k = category_index(key);
		if (k <= 0 || !ch->s->offered[k])
			return bad(http, "unknown_category",
			           "'%.64s' is not a category this site offers",
			           key);
		if (!json_is_false(v))
			return bad(http, "preselected",
			           "no category may be shown pre-selected");
	}
	const char *method = json_string_value(json_object_get(o, "method"));
	int m = -1;
	for (int i = 0; method && i < 5; i++)
		if (strcmp(method, method_names[i]) == 0)
			m = i;
	if (m < 0)
		return bad(http, "bad_method",
		           "method is accept_all, reject_all, custom, withdraw "
		           "or gpc");
	ch->method = (enum method)m;
	/* Signals: GPC objects to marketing whatever was clicked (Art.
	 * 21(5)); DNT likewise when the site says so.  "Accept all" then
	 * means all the rest. */
	ch->gpc = !staff && header_is(http, "Sec-GPC", "1");
	ch->dnt = !staff && header_is(http, "DNT", "1");
	bool objection =
	        ch->gpc || (ch->dnt && ch->s->site->dnt == SEULA_DNT_OBJECTION);
	if (objection)
		ch->decisions[2] = false;
	for (int k = 1; k < N_CATEGORIES; k++) {
		if (!ch->s->offered[k])
			continue;
		if (m == M_ACCEPT_ALL && !ch->decisions[k] &&
		    !(k == 2 && objection))
			return bad(http, "inconsistent_method",
			           "accept_all with %s denied", categories[k]);
		if ((m == M_REJECT_ALL || m == M_WITHDRAW || m == M_GPC) &&
		    ch->decisions[k])
			return bad(http, "inconsistent_method",
			           "%s with %s granted", method, categories[k]);
	}
	const char *source = json_string_value(json_object_get(o, "source"));
	if (staff) {
		if (source && strcmp(source, "staff") != 0)
			return bad(http, "bad_source",
			           "a staff member's record has source staff");
		ch->source = "staff";
	} else if (source && (strcmp(source, "banner") == 0 ||
	                      strcmp(source, "preference_link") == 0 ||
	                      strcmp(source, "api") == 0)) {
		ch->source = source;
	} else {
		return bad(http, "bad_source",
		           "source is banner, preference_link or api");
	}
	json_t *given = json_object_get(o, "given_at");
	if (given) {
		if (!json_is_integer(given) || json_integer_value(given) < 0 ||
		    json_integer_value(given) > 253402300799999LL)
			return bad(http, "bad_given_at",
			           "given_at is milliseconds since the epoch");
		ch->has_given = true;
		ch->given_at = json_integer_value(given);
		/* The browser's clock, kept beside received_at (the record's
		 * time): not 1970, nor after the record lapses.  A day either
		 * way covers a clock on the wrong zone; a denial the server
		 * missed is sent again as given while the banner's choice
		 * lasts, so up to the consent period late. */
		int64_t now = seula_clock_ms(), day = 86400000;
		if (ch->given_at > now + day ||
		    ch->given_at <
		            now - ch->s->site->consent_period_s * 1000 - day)
			return bad(
			        http, "bad_given_at",
			        "given_at is more than a day off the server's "
			        "clock, or older than the consent period");
	} else if (!staff) {
		return bad(http, "missing_field", "given_at is required");
	}
	json_t *vid = json_object_get(o, "visitor_id");
	if (vid && !json_is_null(vid)) {
		uuid_t u;
		const char *t = json_string_value(vid);
		if (!t || strlen(t) != 36 || uuid_parse(t, u) != 0)
			return bad(http, "bad_visitor_id",
			           "visitor_id is not a UUID");
		uuid_unparse_lower(u, ch->visitor_id);
	}
	json_t *page = json_object_get(o, "page");
	if (page && !json_is_null(page)) {
		if (!json_is_string(page))
			return bad(http, "bad_page", "page is not a string");
		int rc = parse_page(c, http, ch->s, json_string_value(page),
		                    ch->page);
		if (rc != SEULA_OK)
			return rc;
	}
	json_t *tc = json_object_get(o, "tc_string");
	if (tc && !json_is_null(tc)) {
		const char *t = json_string_value(tc);
		if (!t || !*t || strlen(t) > 8192 ||
		    strspn(t,
		           "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvw"
		           "xyz0123456789-_.") != strlen(t))
			return bad(http, "bad_tc_string",
			           "tc_string is not an IAB TC string");
		ch->tc_string = t;
	}
	json_t *gcm = json_object_get(o, "gcm");
	if (gcm && !json_is_object(gcm))
		return bad(http, "bad_gcm", "gcm must be an object");
	json_object_foreach(gcm, key, v)
	{
		size_t i = 0;
		while (i < N_GCM && strcmp(gcm_map[i].type, key) != 0)
			i++;
		if (i == N_GCM)
			return bad(http, "bad_gcm",
			           "'%.64s' is not a Consent Mode type", key);
		const char *want = granted(ch->decisions, gcm_map[i].category)
		                           ? "granted"
		                           : "denied";
		const char *got = json_string_value(v);
		if (!got || strcmp(got, want) != 0)
			return bad(http, "gcm_mismatch",
			           "gcm %s is not %s for these decisions", key,
			           want);
	}
	return SEULA_OK;
}

/* Where a choice came from, as a record keeps it: the server's /16 (/48),
 * and no finer than [plugin.anonymize] level keeps a visitor's address
 * anywhere else (a level-4 site keeps 0.0.0.0).  NULL when there is none;
 * else `buf`. */
static const char *record_address(const struct seula_consent *c,
                                  struct seula_http *http,
                                  char buf[SEULA_IP_TEXT_MAX])
{
	const char *text = seula_http_client(http);
	struct seula_ip ip;
	if (!text || !c->anonymize_loaded || c->anonymize_level < 1 ||
	    seula_ip_parse(text, &ip) != SEULA_OK)
		return text;
	if (seula_ip_mask_level(&ip, (int)c->anonymize_level) != SEULA_OK ||
	    seula_ip_format(&ip, buf, SEULA_IP_TEXT_MAX) != SEULA_OK)
		return NULL;
	return buf;
}

static json_t *decisions_json(const struct choice *ch)
{
	json_t *o = json_object();
	for (int k = 0; k < N_CATEGORIES; k++)
		if (ch->s->offered[k])
			json_object_set_new(o, categories[k],
			                    json_string(ch->decisions[k]
			                                        ? "granted"
			                                        : "denied"));
	return o;
}

static json_t *gcm_json(const bool d[N_CATEGORIES])
{
	json_t *o = json_object();
	for (size_t i = 0; i < N_GCM; i++)
		json_object_set_new(o, gcm_map[i].type,
		                    json_string(granted(d, gcm_map[i].category)
		                                        ? "granted"
		                                        : "denied"));
	return o;
}

/* The visitor's record of this very choice, if it is in already: the
 * banner sends a choice it holds as pending from every tab that loads
 * before the first reply, and a stale tab may send one after a newer
 * choice.  Recorded again, it would be a duplicate, and the newest record
 * (what the visitor's consent is) would be the old choice.  *found: the
 * record's receipt, received_at and valid_until in *receipt (37 bytes),
 * *received, *until. */
static int find_recorded(sqlite3 *db, const struct choice *ch,
                         const char *decisions, bool *found, char *receipt,
                         int64_t *received, int64_t *until)
{
	*found = false;
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT receipt, received_at, valid_until FROM "
	            "consent_records WHERE visitor_id = ?1 AND site = ?2 AND "
	            "given_at = ?3 AND method = ?4 AND decisions = ?5 AND "
	            "policy_version = ?6 AND staff_name IS NULL AND erased_at "
	            "IS NULL ORDER BY id LIMIT 1",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, ch->visitor_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ch->s->site->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, ch->given_at);
	sqlite3_bind_text(st, 4, method_names[ch->method], -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 5, decisions, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 6, ch->s->site->policy_version, -1,
	                  SQLITE_STATIC);
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		const char *r = (const char *)sqlite3_column_text(st, 0);
		snprintf(receipt, 37, "%s", r ? r : "");
		*received = sqlite3_column_int64(st, 1);
		*until = sqlite3_column_int64(st, 2);
		*found = true;
	}
	sqlite3_finalize(st);
	return step == SQLITE_ROW || step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* Write the record of `ch` and answer 201 (a choice recorded already:
 * the same answer, from its record, and nothing written). */
static int record_choice(const struct seula_consent *c, struct seula_http *http,
                         const struct choice *ch, const char *staff_name)
{
	sqlite3 *db = seula_http_db(http);
	int64_t now = seula_clock_ms();
	uuid_t u;
	char receipt[37];
	uuid_generate_random(u);
	uuid_unparse_lower(u, receipt);
	json_t *dec = decisions_json(ch), *gcm = gcm_json(ch->decisions);
	json_t *pre = json_object();
	for (int k = 1; k < N_CATEGORIES; k++)
		if (ch->s->offered[k])
			json_object_set_new(pre, categories[k], json_false());
	json_t *sig = json_pack("{s:b, s:b}", "gpc", ch->gpc, "dnt", ch->dnt);
	char *dec_s = json_dumps(dec, JSON_COMPACT);
	char *gcm_s = json_dumps(gcm, JSON_COMPACT);
	char *pre_s = json_dumps(pre, JSON_COMPACT);
	char *sig_s = json_dumps(sig, JSON_COMPACT);
	json_decref(pre);
	json_decref(sig);
	int64_t valid_until = now + ch->s->site->consent_period_s * 1000;
	char address[SEULA_IP_TEXT_MAX];
	struct seula_consent_record r = {
	        .receipt = receipt,
	        .site = ch->s->site->id,
	        .has_given = ch->has_given,
	        .given_at = ch->given_at,
	        .received_at = now,
	        .policy_version = ch->s->site->policy_version,
	        .texts_hash = ch->l->hash,
	        .language = ch->l->lang,
	        .decisions = dec_s,
	        .preselected = pre_s,
	        .method = method_names[ch->method],
	        .source = ch->source,
	        .staff_name = staff_name,
	        .signals = sig_s,
	        .gcm = gcm_s,
	        .valid_until = valid_until,
	        .tc_string = ch->tc_string,
	        .visitor_id = ch->visitor_id[0] ? ch->visitor_id : NULL,
	        .ip_anon = staff_name ? NULL : record_address(c, http, address),
	        .page = ch->page[0] ? ch->page : NULL,
	};
	char err[256] = "";
	int rc = dec_s && gcm_s && pre_s && sig_s ? SEULA_OK : SEULA_ENOMEM;
	bool again = false;
	if (rc == SEULA_OK && !staff_name && r.visitor_id && ch->has_given)
		rc = find_recorded(db, ch, dec_s, &again, receipt,
		                   &r.received_at, &r.valid_until);
	if (again) {
		now = r.received_at;
		valid_until = r.valid_until;
	}
	if (rc == SEULA_OK && !again)
		rc = seula_consent_store_texts(c, db, now, err, sizeof(err));
	if (rc == SEULA_OK && !again)
		rc = seula_consent_append(db, c->key, &r, err, sizeof(err));
	free(dec_s);
	free(gcm_s);
	free(pre_s);
	free(sig_s);
	if (rc != SEULA_OK) {
		json_decref(dec);
		json_decref(gcm);
		return rc; /* rolled back; the host answers 500 */
	}
	char received[32], until[32];
	iso_time(now, received);
	iso_time(valid_until, until);
	char who[SEULA_AUDIT_VISITOR_MAX];
	if (r.visitor_id)
		seula_consent_audit_visitor(c->key, r.visitor_id, who);
	if (staff_name)
		seula_http_audit(http, "change", r.visitor_id ? who : receipt,
		                 "consent recorded on the person's behalf");
	return reply_json(http, 201,
	                  json_pack("{s:s, s:s, s:s, s:o, s:o}", "receipt",
	                            receipt, "received_at", received,
	                            "valid_until", until, "decisions", dec,
	                            "gcm", gcm));
}

static int choose(const struct seula_consent *c, struct seula_http *http,
                  bool staff)
{
	json_t *o = body_object(http);
	if (!o)
		return SEULA_OK;
	struct choice ch;
	bool stale;
	int rc = parse_choice(c, http, o, staff, &ch, &stale);
	if (rc == SEULA_OK && !staff && !origin_allowed(ch.s, http)) {
		seula_http_error(http, 403, "origin_not_allowed",
		                 "the page's origin is not one of the site's "
		                 "domains");
		rc = SEULA_EINVAL;
	}
	if (stale) {
		json_t *e = json_pack(
		        "{s:s, s:s, s:s}", "error", "stale_policy", "message",
		        "the consent texts changed since they were shown; ask "
		        "again",
		        "policy_version", ch.s->site->policy_version);
		origin_allowed(ch.s, http);
		reply_json(http, 409, e);
		rc = SEULA_EINVAL;
	}
	if (rc == SEULA_OK)
		rc = record_choice(c, http, &ch,
		                   staff ? seula_http_user(http) : NULL);
	json_decref(o);
	/* A refusal has replied: nothing was written, nothing to undo. */
	return rc == SEULA_EINVAL ? SEULA_OK : rc;
}

static int post_handler(void *instance, struct seula_http *http)
{
	return choose(instance, http, false);
}

static int staff_post_handler(void *instance, struct seula_http *http)
{
	return choose(instance, http, true);
}

static int shown_handler(void *instance, struct seula_http *http)
{
	const struct seula_consent *c = instance;
	json_t *o = body_object(http);
	if (!o)
		return SEULA_OK;
	const struct site_consent *s =
	        find_site(c, json_string_value(json_object_get(o, "site")));
	const char *version =
	        json_string_value(json_object_get(o, "policy_version"));
	int rc = SEULA_OK;
	if (!s)
		bad(http, "unknown_site", "no such site in the config");
	else if (!origin_allowed(s, http))
		seula_http_error(http, 403, "origin_not_allowed",
		                 "the page's origin is not one of the site's "
		                 "domains");
	else if (!version)
		bad(http, "bad_policy_version", "policy_version is missing");
	else if (strcmp(version, s->site->policy_version) != 0)
		/* As POST /api/consent answers it: the banner is out of date,
		 * not the request malformed. */
		seula_http_error(http, 409, "stale_policy",
		                 "policy_version is not current");
	else {
		sqlite3_stmt *st = NULL;
		int64_t hour = seula_clock_ms() / 3600000 * 3600;
		rc = SEULA_EIO;
		if (sqlite3_prepare_v2(
		            seula_http_db(http),
		            "INSERT INTO consent_hourly (site, hour, "
		            "shown) VALUES (?, ?, 1) ON CONFLICT DO "
		            "UPDATE SET shown = shown + 1",
		            -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_text(st, 1, s->site->id, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(st, 2, hour);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = seula_http_reply(http, 204, NULL, NULL, 0);
		}
		sqlite3_finalize(st);
	}
	json_decref(o);
	return rc;
}

void seula_consent_audit_visitor(const unsigned char *key, const char *vid,
                                 char out[SEULA_AUDIT_VISITOR_MAX])
{
	if (!key) {
		snprintf(out, SEULA_AUDIT_VISITOR_MAX, "%s", vid);
		return;
	}
	static const char label[] = "audit-visitor/1:";
	unsigned char h[16];
	crypto_generichash_state st;
	crypto_generichash_init(&st, key, SEULA_SECRET_BYTES, sizeof(h));
	crypto_generichash_update(&st, (const unsigned char *)label,
	                          sizeof(label) - 1);
	crypto_generichash_update(&st, (const unsigned char *)vid, strlen(vid));
	crypto_generichash_final(&st, h, sizeof(h));
	memcpy(out, "visitor:", 8);
	sodium_bin2hex(out + 8, SEULA_AUDIT_VISITOR_MAX - 8, h, sizeof(h));
}

/* A record's page as stored: before the page was cut at a whole
 * character, one could end in part of one; that part is left out. */
static const char *page_text(sqlite3_stmt *st, int i, char *buf, size_t cap)
{
	const char *page = col(st, i);
	if (!page)
		return NULL;
	size_t n = strlen(page);
	for (size_t cut = 0; cut < 4 && cut <= n; cut++)
		if (seula_text_valid(page, n - cut)) {
			snprintf(buf, cap, "%.*s", (int)(n - cut), page);
			return buf;
		}
	return "(unreadable)";
}

/* A stored record as JSON (the text columns are JSON themselves); NULL
 * when out of memory. */
static json_t *record_json(sqlite3_stmt *st)
{
	char given[32] = "", received[32], until[32], page[2049 + 4];
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		iso_time(sqlite3_column_int64(st, 3), given);
	iso_time(sqlite3_column_int64(st, 4), received);
	iso_time(sqlite3_column_int64(st, 15), until);
	json_t *o = json_pack(
	        "{s:s, s:s, s:s?, s:s, s:s, s:s, s:s, s:o, s:o, s:s, s:s, "
	        "s:s?, s:o, s:o, s:s, s:s?, s:s?, s:s?, s:s?, s:b}",
	        "receipt", col(st, 1), "site", col(st, 2), "given_at",
	        given[0] ? given : NULL, "received_at", received,
	        "policy_version", col(st, 5), "texts_hash", col(st, 6),
	        "language", col(st, 7), "decisions",
	        json_loads(col(st, 8), 0, NULL), "preselected",
	        json_loads(col(st, 9), 0, NULL), "method", col(st, 10),
	        "source", col(st, 11), "staff", col(st, 12), "signals",
	        json_loads(col(st, 13), 0, NULL), "gcm",
	        json_loads(col(st, 14), 0, NULL), "valid_until", until,
	        "tc_string", col(st, 16), "visitor_id", col(st, 17), "ip_anon",
	        col(st, 18), "page", page_text(st, 19, page, sizeof(page)),
	        "erased", sqlite3_column_type(st, 20) != SQLITE_NULL);
	return o;
}

#define RECORD_COLUMNS                                                         \
	"r.id, r.receipt, r.site, r.given_at, r.received_at, "                 \
	"r.policy_version, r.texts_hash, r.language, r.decisions, "            \
	"r.preselected, r.method, r.source, r.staff_name, r.signals, r.gcm, "  \
	"r.valid_until, r.tc_string, r.visitor_id, r.ip_anon, r.page, "        \
	"r.erased_at"

/* s as stored (lower case) in out, when s is a UUID: one read off a
 * receipt or typed in capitals is the same id. */
static const char *stored_uuid(const char *s, char out[37])
{
	uuid_t u;
	if (!s || strlen(s) != 36 || uuid_parse(s, u) != 0)
		return NULL;
	uuid_unparse_lower(u, out);
	return out;
}

static int receipt_handler(void *instance, struct seula_http *http)
{
	(void)instance;
	char buf[37];
	const char *receipt =
	        stored_uuid(seula_http_param(http, "receipt"), buf);
	if (!receipt)
		return seula_http_error(http, 404, "not_found",
		                        "no such receipt");
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(seula_http_db(http),
	                       "SELECT " RECORD_COLUMNS ", t.body FROM "
	                       "consent_records r LEFT JOIN consent_texts t "
	                       "ON t.hash = r.texts_hash WHERE r.receipt = ?",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, receipt, -1, SQLITE_STATIC);
	int step = sqlite3_step(st);
	int rc;
	if (step == SQLITE_ROW) {
		json_t *o = record_json(st);
		const char *texts = col(st, 21);
		if (o && texts)
			json_object_set_new(o, "texts_shown",
			                    json_loads(texts, 0, NULL));
		seula_http_set_header(http, "Access-Control-Allow-Origin", "*");
		rc = reply_json(http, 200, o);
	} else if (step == SQLITE_DONE) {
		rc = seula_http_error(http, 404, "not_found",
		                      "no such receipt");
	} else {
		rc = SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

static int records_handler(void *instance, struct seula_http *http)
{
	const struct seula_consent *c = instance;
	char vbuf[37], rbuf[37];
	const char *vid_given = seula_http_query(http, "visitor_id");
	const char *receipt_given = seula_http_query(http, "receipt");
	const char *vid = stored_uuid(vid_given, vbuf);
	const char *receipt = stored_uuid(receipt_given, rbuf);
	if (!vid && !receipt)
		return seula_http_error(http, 400, "bad_request",
		                        "give visitor_id or receipt (a UUID)");
	/* One person a read: the audit entry names them. */
	if (vid_given && receipt_given)
		return seula_http_error(http, 400, "bad_request",
		                        "give visitor_id or receipt, not both");
	/* A receipt names a person through its visitor id: their whole
	 * history, the visitor id's records and the receipt itself. */
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(
	            seula_http_db(http),
	            "SELECT " RECORD_COLUMNS " FROM consent_records r WHERE "
	            "r.receipt = ?2 OR r.visitor_id = coalesce(?1, (SELECT "
	            "visitor_id FROM consent_records WHERE receipt = ?2)) "
	            "ORDER BY r.id LIMIT 10000",
	            -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	if (vid)
		sqlite3_bind_text(st, 1, vid, -1, SQLITE_STATIC);
	if (receipt)
		sqlite3_bind_text(st, 2, receipt, -1, SQLITE_STATIC);
	json_t *list = json_array();
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW &&
	       json_array_append_new(list, record_json(st)) == 0)
		;
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		json_decref(list);
		return SEULA_EIO;
	}
	char who[SEULA_AUDIT_VISITOR_MAX];
	if (vid)
		seula_consent_audit_visitor(c->key, vid, who);
	if (seula_http_audit(http, "read", vid ? who : receipt,
	                     "consent history") != SEULA_OK) {
		json_decref(list);
		return SEULA_EIO;
	}
	return reply_json(http, 200, json_pack("{s:o}", "records", list));
}

/* ---- data subject rights (core/subject.c) --------------------------------
 */

int seula_consent_subject_export(sqlite3 *db, const char *visitor_id,
                                 json_t *rows, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT " RECORD_COLUMNS " FROM consent_records "
	                       "r WHERE r.visitor_id = ? ORDER BY r.id",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "consent records: %s",
		         sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_text(st, 1, visitor_id, -1, SQLITE_STATIC);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW &&
	       json_array_append_new(rows, record_json(st)) == 0)
		;
	if (step != SQLITE_DONE)
		snprintf(err, errlen, "consent records: %s",
		         step == SQLITE_ROW ? "out of memory"
		                            : sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return step == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

/* Exactly the UPDATE the consent_records_fixed trigger lets through: the
 * personal fields go, erased_at says when, and the verifier then checks
 * that they are gone as a whole instead of checking pii_mac. */
int seula_consent_subject_erase(sqlite3 *db,
                                const unsigned char key[SEULA_SECRET_BYTES],
                                const char *visitor_id, int64_t now_ms,
                                int64_t *records, char *err, size_t errlen)
{
	sqlite3_stmt *sel = NULL, *up = NULL, *del = NULL;
	int rc = SEULA_EIO, step = SQLITE_ERROR;
	*records = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, receipt, pii_mac FROM "
	                       "consent_records WHERE visitor_id = ?",
	                       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "UPDATE consent_records SET visitor_id = NULL, "
	                       "ip_anon = NULL, page = NULL, erased_at = ?2, "
	                       "erased_mac = ?3 WHERE id = ?1",
	                       -1, &up, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "DELETE FROM consent_visitors WHERE visitor_id "
	                       "= ?",
	                       -1, &del, NULL) != SQLITE_OK)
		goto out;
	/* Each record's proof binds its id and receipt, so one cannot be
	 * copied onto another record.  Updated by id after the read, since
	 * the update takes the row out of the index the read walks. */
	struct erased {
		int64_t id;
		unsigned char mac[SEULA_MAC_BYTES];
	} *list = NULL;
	size_t n = 0, cap = 0;
	sqlite3_bind_text(sel, 1, visitor_id, -1, SQLITE_STATIC);
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap ? 2 * cap : 8;
			struct erased *more =
			        realloc(list, cap * sizeof(*list));
			if (!more) {
				free(list);
				rc = SEULA_ENOMEM;
				goto out;
			}
			list = more;
		}
		list[n].id = sqlite3_column_int64(sel, 0);
		row_erased_mac(key, sel, now_ms, list[n].mac);
		n++;
	}
	for (size_t k = 0; step == SQLITE_DONE && k < n; k++) {
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, list[k].id);
		sqlite3_bind_int64(up, 2, now_ms);
		sqlite3_bind_blob(up, 3, list[k].mac, SEULA_MAC_BYTES,
		                  SQLITE_STATIC);
		if (sqlite3_step(up) != SQLITE_DONE)
			step = SQLITE_ERROR;
	}
	free(list);
	if (step != SQLITE_DONE)
		goto out;
	*records = (int64_t)n;
	sqlite3_bind_text(del, 1, visitor_id, -1, SQLITE_STATIC);
	if (sqlite3_step(del) == SQLITE_DONE)
		rc = SEULA_OK;
out:
	if (rc == SEULA_ENOMEM)
		snprintf(err, errlen, "erasing consent records: out of memory");
	else if (rc != SEULA_OK)
		snprintf(err, errlen, "erasing consent records: %s",
		         sqlite3_errmsg(db));
	sqlite3_finalize(sel);
	sqlite3_finalize(up);
	sqlite3_finalize(del);
	return rc;
}

int seula_consent_sign_erased(sqlite3 *db, const unsigned char *key, char *err,
                              size_t errlen)
{
	sqlite3_stmt *sel = NULL, *up = NULL;
	int rc = SEULA_EIO, step = SQLITE_ERROR;
	if (sqlite3_prepare_v2(db,
	                       "SELECT id, receipt, pii_mac, erased_at FROM "
	                       "consent_records WHERE erased_at IS NOT NULL "
	                       "AND erased_mac IS NULL",
	                       -1, &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "UPDATE consent_records SET erased_mac = ?2 "
	                       "WHERE id = ?1",
	                       -1, &up, NULL) != SQLITE_OK)
		goto out;
	while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
		if (!key) {
			snprintf(err, errlen,
			         "consent records erased before this version "
			         "must be signed with the server's key: start "
			         "the server, or run seula migrate with its "
			         "config");
			rc = SEULA_EINVAL;
			goto done;
		}
		unsigned char mac[SEULA_MAC_BYTES];
		row_erased_mac(key, sel, sqlite3_column_int64(sel, 3), mac);
		sqlite3_reset(up);
		sqlite3_bind_int64(up, 1, sqlite3_column_int64(sel, 0));
		sqlite3_bind_blob(up, 2, mac, sizeof(mac), SQLITE_STATIC);
		if (sqlite3_step(up) != SQLITE_DONE)
			break;
	}
	if (step == SQLITE_DONE)
		rc = SEULA_OK;
out:
	if (rc != SEULA_OK)
		snprintf(err, errlen, "signing erased consent records: %s",
		         sqlite3_errmsg(db));
done:
	sqlite3_finalize(sel);
	sqlite3_finalize(up);
	return rc;
}

int seula_consent_sign_states(sqlite3 *db, const unsigned char *key, char *err,
                              size_t errlen)
{
	enum { PAGE = 256 };
	sqlite3_stmt *sel = NULL, *up = NULL;
	int rc = SEULA_OK, step = SQLITE_DONE;
	int64_t anchor = 0;
	char why[512], *after = NULL;
	/* A page at a time, written after it is read: not while the read
	 * walks the rows. */
	struct {
		char vid[64];
		int64_t record_id;
		unsigned char mac[SEULA_MAC_BYTES];
	} page[PAGE];
	size_t read, n;
	if (sqlite3_prepare_v2(db, STATE_SELECT " LIMIT 256" /* PAGE */, -1,
	                       &sel, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "UPDATE consent_visitors SET record_id = ?2, "
	                       "mac = ?3 WHERE visitor_id = ?1",
	                       -1, &up, NULL) != SQLITE_OK) {
		rc = SEULA_EIO;
		goto out;
	}
	if (key) {
		/* An anchor that does not verify vouches for nothing. */
		bool found;
		unsigned char mac[SEULA_MAC_BYTES];
		if (seula_chain_head_get(db, key, "consent-anchor", &found,
		                         &anchor, mac, why,
		                         sizeof(why)) != SEULA_OK)
			anchor = 0;
	}
	do {
		read = n = 0;
		sqlite3_reset(sel);
		sqlite3_bind_text(sel, 1, after ? after : "", -1,
		                  SQLITE_TRANSIENT);
		while ((step = sqlite3_step(sel)) == SQLITE_ROW) {
			read++;
			if (!key) {
				snprintf(err, errlen,
				         "visitors' consent states kept before "
				         "this version must be signed with the "
				         "server's key: start the server, or "
				         "run seula migrate with its config");
				rc = SEULA_EINVAL;
				goto out;
			}
			free(after);
			if (!(after = strdup(col(sel, 0)))) {
				rc = SEULA_ENOMEM;
				goto out;
			}
			/* Only a state its records give, or one whose
			 * records retention removed, is signed; the rest
			 * stays unsigned: the gate grants nothing by it and
			 * seula consent verify names it. */
			bool pruned =
			        sqlite3_column_type(sel, 9) == SQLITE_NULL &&
			        anchor > 0;
			state_problem(sel, anchor, false, why, sizeof(why));
			if ((why[0] && !pruned) ||
			    strlen(col(sel, 0)) >= sizeof(page[n].vid))
				continue;
			struct cstate s;
			stored_state(sel, &s);
			s.record_id =
			        pruned ? anchor : sqlite3_column_int64(sel, 9);
			snprintf(page[n].vid, sizeof(page[n].vid), "%s",
			         col(sel, 0));
			page[n].record_id = s.record_id;
			state_mac(key, page[n].vid, &s, page[n].mac);
			n++;
		}
		for (size_t k = 0; step == SQLITE_DONE && k < n; k++) {
			sqlite3_reset(up);
			sqlite3_bind_text(up, 1, page[k].vid, -1,
			                  SQLITE_STATIC);
			sqlite3_bind_int64(up, 2, page[k].record_id);
			sqlite3_bind_blob(up, 3, page[k].mac, SEULA_MAC_BYTES,
			                  SQLITE_STATIC);
			if (sqlite3_step(up) != SQLITE_DONE)
				step = SQLITE_ERROR;
		}
	} while (step == SQLITE_DONE && read == PAGE);
	if (step != SQLITE_DONE)
		rc = SEULA_EIO;
out:
	if (rc == SEULA_EIO)
		snprintf(err, errlen, "signing visitors' consent states: %s",
		         sqlite3_errmsg(db));
	else if (rc == SEULA_ENOMEM)
		snprintf(err, errlen,
		         "signing visitors' consent states: out of memory");
	free(after);
	sqlite3_finalize(sel);
	sqlite3_finalize(up);
	return rc;
}

static json_t *day_row(json_t *days, const char *day)
{
	json_t *d = json_object_get(days, day);
	if (!d) {
		d = json_pack("{s:s, s:i, s:i, s:i, s:i, s:i, s:i, s:i, s:{}}",
		              "date", day, "shown", 0, "accepted_all", 0,
		              "rejected_all", 0, "custom", 0, "withdrawn", 0,
		              "gpc", 0, "choices", 0, "granted");
		json_object_set_new(days, day, d);
	}
	return d;
}

static void add_count(json_t *o, const char *key, json_int_t n)
{
	json_object_set_new(
	        o, key,
	        json_integer(json_integer_value(json_object_get(o, key)) + n));
}

/* The index of the local day that UTC seconds t falls in: edge[i] is the
 * start of day i, edge[n] the end of the last. */
static size_t day_index(const int64_t *edge, size_t n, int64_t t)
{
	size_t lo = 0, hi = n; /* edge[lo] <= t < edge[hi] */
	while (hi - lo > 1) {
		size_t mid = lo + (hi - lo) / 2;
		if (edge[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

int seula_consent_stats(const struct seula_consent *c, sqlite3 *db,
                        const char *site, int64_t from, int64_t to,
                        const char *tz, json_t **out)
{
	const struct site_consent *s = find_site(c, site);
	*out = NULL;
	if (!s)
		return SEULA_ENOTFOUND;
	if (!tz)
		tz = "UTC";
	struct seula_zone z;
	if (to < from || !seula_zone_open(&z, tz))
		return SEULA_EINVAL;
	/* Local days cut at the hour, as the displays are counted, and
	 * where the analytics reports cut them: the range starts and ends at
	 * the hour that holds local midnight, and in between that hour
	 * counts on the day it starts in, the day before in a zone off UTC
	 * by a half hour. */
	size_t n = (size_t)(to - from + 1);
	int64_t *edge = malloc((n + 1) * sizeof(*edge));
	if (!edge) {
		seula_zone_close(&z);
		return SEULA_ENOMEM;
	}
	for (size_t i = 0; i <= n; i++) {
		int64_t m = seula_zone_midnight(&z, from + (int64_t)i);
		edge[i] = m - ((m % 3600) + 3600) % 3600;
		if (i > 0 && i < n && edge[i] != m)
			edge[i] += 3600;
	}
	seula_zone_close(&z);
	char dfrom[11], dto[11];
	seula_date_format(from, dfrom, sizeof(dfrom));
	seula_date_format(to, dto, sizeof(dto));
	json_t *days = json_object();
	char(*label)[11] = malloc(n * sizeof(*label));
	sqlite3_stmt *st = NULL;
	int rc = days && label ? SEULA_EIO : SEULA_ENOMEM;
	if (rc == SEULA_ENOMEM)
		goto out;
	for (size_t i = 0; i < n; i++)
		seula_date_format(from + (int64_t)i, label[i],
		                  sizeof(label[i]));
	if (sqlite3_prepare_v2(
	            db,
	            "SELECT received_at / 3600000, method, count(*), "
	            "sum(json_extract(decisions, '$.analytics') = 'granted'), "
	            "sum(json_extract(decisions, '$.marketing') = 'granted'), "
	            "sum(json_extract(decisions, '$.personalization') = "
	            "'granted') FROM consent_records WHERE site = ? AND "
	            "received_at >= ? AND received_at < ? GROUP BY 1, 2",
	            -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, s->site->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, edge[0] * 1000);
	sqlite3_bind_int64(st, 3, edge[n] * 1000);
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		size_t i =
		        day_index(edge, n, sqlite3_column_int64(st, 0) * 3600);
		json_t *d = day_row(days, label[i]);
		const char *m = col(st, 1);
		json_int_t k = sqlite3_column_int64(st, 2);
		add_count(d,
		          strcmp(m, "accept_all") == 0   ? "accepted_all"
		          : strcmp(m, "reject_all") == 0 ? "rejected_all"
		          : strcmp(m, "withdraw") == 0   ? "withdrawn"
		                                         : m,
		          k);
		/* A GPC record is a signal, not a choice. */
		if (strcmp(m, "gpc") == 0)
			continue;
		add_count(d, "choices", k);
		json_t *g = json_object_get(d, "granted");
		for (int c2 = 1; c2 < N_CATEGORIES; c2++)
			if (s->offered[c2])
				add_count(g, categories[c2],
				          sqlite3_column_int64(st, 2 + c2));
	}
	sqlite3_finalize(st);
	st = NULL;
	if (step != SQLITE_DONE ||
	    sqlite3_prepare_v2(db,
	                       "SELECT hour, shown FROM consent_hourly WHERE "
	                       "site = ? AND hour >= ? AND hour < ?",
	                       -1, &st, NULL) != SQLITE_OK)
		goto out;
	sqlite3_bind_text(st, 1, s->site->id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, edge[0]);
	sqlite3_bind_int64(st, 3, edge[n]);
	while ((step = sqlite3_step(st)) == SQLITE_ROW)
		add_count(
		        day_row(days,
		                label[day_index(edge, n,
		                                sqlite3_column_int64(st, 0))]),
		        "shown", sqlite3_column_int64(st, 1));
	if (step != SQLITE_DONE)
		goto out;
	/* Every day of the range, in order, with its rates; and the total. */
	json_t *list = json_array();
	json_t *total = day_row(days, "total");
	for (size_t i = 0; i < n; i++) {
		json_t *d = day_row(days, label[i]);
		const char *key;
		json_t *v;
		json_object_foreach(d, key, v)
		{
			if (json_is_integer(v))
				add_count(total, key, json_integer_value(v));
		}
		json_object_foreach(json_object_get(d, "granted"), key, v)
		        add_count(json_object_get(total, "granted"), key,
		                  json_integer_value(v));
		json_array_append(list, d);
	}
	json_object_set_new(total, "date", json_null());
	json_array_append(list, total);
	size_t i;
	json_t *d;
	json_array_foreach(list, i, d)
	{
		json_int_t choices =
		        json_integer_value(json_object_get(d, "choices"));
		json_t *rate = json_object();
		for (int k = 1; k < N_CATEGORIES; k++) {
			if (!s->offered[k])
				continue;
			json_int_t g = json_integer_value(json_object_get(
			        json_object_get(d, "granted"), categories[k]));
			json_object_set_new(
			        rate, categories[k],
			        choices ? json_real((double)g / (double)choices)
			                : json_null());
		}
		json_object_set_new(d, "opt_in_rate", rate);
		json_object_del(d, "granted");
	}
	json_array_remove(list, json_array_size(list) - 1);
	json_t *o = json_pack("{s:s, s:s, s:s, s:s, s:O, s:o}", "site",
	                      s->site->id, "from", dfrom, "to", dto, "tz", tz,
	                      "totals", total, "days", list);
	json_object_del(json_object_get(o, "totals"), "date");
	*out = o;
	rc = o ? SEULA_OK : SEULA_ENOMEM;
out:
	sqlite3_finalize(st);
	json_decref(days);
	free(label);
	free(edge);
	return rc;
}

static int stats_handler(void *instance, struct seula_http *http)
{
	const struct seula_consent *c = instance;
	const struct site_consent *s =
	        find_site(c, seula_http_query(http, "site"));
	if (!s)
		return seula_http_error(http, 400, "unknown_site",
		                        "site is required and must be known");
	const char *tz = seula_http_query(http, "tz");
	if (!tz || !*tz)
		tz = "UTC";
	struct seula_zone z;
	if (!seula_zone_open(&z, tz)) {
		char msg[96];
		snprintf(msg, sizeof(msg), "unknown time zone \"%.64s\"", tz);
		return seula_http_error(http, 400, "bad_request", msg);
	}
	int64_t from, to;
	int hour;
	seula_zone_local(&z, seula_clock_ms() / 1000, &to, &hour);
	seula_zone_close(&z);
	const char *qf = seula_http_query(http, "from");
	const char *qt = seula_http_query(http, "to");
	if (qt && !seula_date_parse(qt, &to))
		return seula_http_error(http, 400, "bad_date",
		                        "to is a date, YYYY-MM-DD");
	if (!qf)
		from = to - 29;
	else if (!seula_date_parse(qf, &from))
		return seula_http_error(http, 400, "bad_date",
		                        "from is a date, YYYY-MM-DD");
	if (from > to || to - from > 3660)
		return seula_http_error(http, 400, "bad_range",
		                        "from is after to, or the range is "
		                        "over ten years");
	sqlite3 *db = seula_http_db(http);
	json_t *o = NULL;
	int rc = seula_consent_stats(c, db, s->site->id, from, to, tz, &o);
	if (rc != SEULA_OK)
		return rc;
	/* Aggregates (analytics.c's reports are audited alike). */
	char detail[160];
	snprintf(detail, sizeof(detail), "consent rates of site %s",
	         s->site->id);
	rc = seula_http_audit(http, "statistics", NULL, detail);
	if (rc != SEULA_OK) {
		json_decref(o);
		return rc;
	}
	return reply_json(http, 200, o); /* it takes o */
}

const struct seula_route seula_consent_routes[] = {
        {SEULA_METHOD_GET, "/api/consent/config", SEULA_ROLE_PUBLIC,
         SEULA_ON_LOOP, config_handler,
         "the banner's texts and settings for ?site=&lang="},
        {SEULA_METHOD_POST, "/api/consent", SEULA_ROLE_PUBLIC, SEULA_ON_WRITER,
         post_handler, "record a visitor's choice; 201 with the receipt"},
        {SEULA_METHOD_POST, "/api/consent/shown", SEULA_ROLE_PUBLIC,
         SEULA_ON_WRITER, shown_handler, "count a display of the banner"},
        {SEULA_METHOD_GET, "/api/consent/{receipt}", SEULA_ROLE_PUBLIC,
         SEULA_ON_READER, receipt_handler,
         "a consent record and the texts shown, by its receipt id"},
        {SEULA_METHOD_GET, "/api/consent/records",
         SEULA_ROLE_ADMIN | SEULA_ROLE_CUSTOMER_SERVICE, SEULA_ON_READER,
         records_handler,
         "a person's consent history by ?visitor_id= or ?receipt="},
        {SEULA_METHOD_POST, "/api/consent/records",
         SEULA_ROLE_ADMIN | SEULA_ROLE_CUSTOMER_SERVICE, SEULA_ON_WRITER,
         staff_post_handler, "record a choice given through a staff member"},
        {SEULA_METHOD_GET, "/api/consent/stats",
         SEULA_ROLE_ADMIN | SEULA_ROLE_ANALYST, SEULA_ON_READER, stats_handler,
         "banner shown, choices and opt-in rates per day for "
         "?site=&from=&to=&tz="},
};
const size_t seula_consent_n_routes =
        sizeof(seula_consent_routes) / sizeof(seula_consent_routes[0]);
