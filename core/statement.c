/*
 * statement.c - the facts of the privacy statement, from the live config
 * (see statement.h).
 */
#include "statement.h"

#include "embedded.h"
#include "privacy.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unicode/uenum.h>
#include <unicode/uloc.h>

#define MAX_LANGS 8

struct seula_statement {
	char langs[MAX_LANGS][16];
	char *pages[MAX_LANGS];
	size_t n;
};

static json_t *string_list(const char *const *list)
{
	json_t *a = json_array();
	for (size_t i = 0; list && list[i]; i++)
		json_array_append_new(a, json_string(list[i]));
	return a;
}

static void set_text(json_t *o, const char *key, const char *value)
{
	if (value && *value)
		json_object_set_new(o, key, json_string(value));
}

/* "a: b: c" split at colons into the keys given; the last takes the rest. */
static json_t *split_fields(const char *text, const char *const *keys, size_t n)
{
	json_t *o = json_object();
	const char *p = text;
	for (size_t i = 0; i < n; i++) {
		const char *colon = i + 1 < n ? strchr(p, ':') : NULL;
		size_t len = colon ? (size_t)(colon - p) : strlen(p);
		while (len && p[len - 1] == ' ')
			len--;
		json_object_set_new(o, keys[i], json_stringn(p, len));
		if (!colon)
			break;
		p = colon + 1;
		while (*p == ' ')
			p++;
	}
	return o;
}

/* Where a loaded plugin keeps its setting KEY of TYPE, read through its
 * own config rows; NULL when the plugin is not loaded or has no such key. */
static const void *plugin_value(const struct seula_plugins *plugins,
                                const char *plugin, const char *key,
                                enum seula_config_type type)
{
	for (size_t i = 0; plugins && i < plugins->n; i++) {
		const struct seula_loaded_plugin *p = &plugins->list[i];
		if (strcmp(p->desc.name, plugin) != 0 || !p->config)
			continue;
		for (const struct seula_config_row *r = p->desc.config_rows;
		     r && r->type != SEULA_CONFIG_END; r++)
			if (r->type == type && strcmp(r->key, key) == 0)
				return (const char *)p->config + r->offset;
	}
	return NULL;
}

/* A plugin's string setting; NULL as plugin_value(). */
static const char *plugin_setting(const struct seula_plugins *plugins,
                                  const char *plugin, const char *key)
{
	const char *const *v =
	        plugin_value(plugins, plugin, key, SEULA_CONFIG_STRING);
	return v ? *v : NULL;
}

/* A plugin's duration setting (seconds); -1 when not there. */
static int64_t plugin_duration(const struct seula_plugins *plugins,
                               const char *plugin, const char *key)
{
	const int64_t *v =
	        plugin_value(plugins, plugin, key, SEULA_CONFIG_DURATION);
	return v ? *v : -1;
}

/* The register's rows: customers and their orders, kept the customers
 * plugin's `retention` ("10y", "3650d") after the relationship ends. */
static void register_retention(json_t *a, const struct seula_plugins *plugins)
{
	const char *spec = plugin_setting(plugins, "customers", "retention");
	char *end = NULL;
	long n = spec ? strtol(spec, &end, 10) : 0;
	if (!spec || n <= 0 || !end || (strcmp(end, "y") && strcmp(end, "d")))
		return;
	static const char *const what[] = {"customers", "orders"};
	for (int i = 0; i < 2; i++)
		json_array_append_new(
		        a, json_pack("{s:s, s:s, s:I}", "what", what[i],
		                     "after", "relationship_end",
		                     strcmp(end, "y") == 0 ? "years" : "days",
		                     (json_int_t)n));
}

/* A retention in whole days, rounded up: "36h" keeps events a day and a
 * half, which "1 day" would understate. */
static json_int_t whole_days(int64_t seconds)
{
	return (json_int_t)((seconds + 86399) / 86400);
}

/* The statistics' rows (the analytics plugin's): a visit, cookieless or
 * consented, keeps the keyed hash that ties it to its visitor's other
 * visits for `visitor_retention` from its start (the forget task), and
 * stays after that without it, as the rollups' counts do: nothing deletes
 * either, so the page says so rather than leave them out. */
static void statistics_retention(json_t *a, const struct seula_plugins *plugins)
{
	int64_t linked =
	        plugin_duration(plugins, "analytics", "visitor_retention");
	if (linked < 0)
		return;
	json_array_append_new(a, json_pack("{s:s, s:s, s:I}", "what",
	                                   "analytics_visits", "after",
	                                   "visit_start", "days",
	                                   whole_days(linked)));
	json_array_append_new(a,
	                      json_pack("{s:s, s:n}", "what",
	                                "analytics_visits_unlinked", "days"));
	json_array_append_new(a, json_pack("{s:s, s:n}", "what",
	                                   "analytics_rollups", "days"));
}

static json_t *retention(const struct seula_config *cfg,
                         const struct seula_plugins *plugins)
{
	json_t *a = json_array();
	register_retention(a, plugins);
	for (size_t i = 0; i < cfg->n_sites; i++)
		json_array_append_new(
		        a,
		        json_pack(
		                "{s:s, s:s, s:I}", "what", "raw_events", "site",
		                cfg->sites[i].id, "days",
		                whole_days(cfg->sites[i].events_retention_s)));
	json_array_append_new(
	        a, json_pack("{s:s, s:I}", "what", "consent_records", "days",
	                     whole_days(cfg->consent_retention_s)));
	json_array_append_new(
	        a, json_pack("{s:s, s:I}", "what", "staff_sessions", "hours",
	                     (json_int_t)((cfg->session_lifetime_s + 3599) /
	                                  3600)));
	statistics_retention(a, plugins);
	json_array_append_new(
	        a, json_pack("{s:s, s:n}", "what", "audit_log", "days"));
	return a;
}

static json_t *security(const struct seula_config *cfg,
                        const struct seula_plugins *plugins)
{
	json_t *a = json_array();
	static const char *const always[] = {
	        "personal_accounts", "password_hashing", "roles", "audit_log",
	        "tamper_evident_consent"};
	for (size_t i = 0; i < sizeof(always) / sizeof(*always); i++)
		json_array_append_new(a, json_string(always[i]));
	for (size_t i = 0; plugins && i < plugins->n; i++)
		if (strcmp(plugins->list[i].desc.name, "anonymize") == 0)
			json_array_append_new(a,
			                      json_string("ip_anonymisation"));
	if (cfg->n_staff_nets)
		json_array_append_new(a, json_string("staff_networks"));
	if (cfg->secure_cookie == SEULA_SECURE_ALWAYS)
		json_array_append_new(a, json_string("tls_proxy"));
	return a;
}

/* The banner's heading and settings button as the site shows them in
 * `lang`, for the sentences that send the visitor there: an operator's
 * texts file may call them something else than Seula does.  `texts` is the
 * banner's (NULL with no site, or of another language); then Seula's own
 * words for `lang`. */
static void banner_words(json_t *facts, const json_t *texts, const char *lang)
{
	static const struct {
		const char *fact, *text;
	} words[] = {{"banner_title", "title"}, {"banner_reopen", "reopen"}};
	const char *of = json_string_value(json_object_get(texts, "language"));
	json_t *built = NULL;
	for (size_t i = 0; i < sizeof(words) / sizeof(*words); i++) {
		const char *v = of && lang && strcmp(of, lang) == 0
		                        ? json_string_value(json_object_get(
		                                  texts, words[i].text))
		                        : NULL;
		if (!v || !*v) {
			if (!built)
				built = json_loads(seula_embedded_consent_texts,
				                   0, NULL);
			v = json_string_value(json_object_get(
			        json_object_get(built, lang), words[i].text));
		}
		if (v && *v)
			json_object_set_new(facts, words[i].fact,
			                    json_string(v));
	}
	json_decref(built);
}

/* The date the config file last changed: when these facts took effect. */
static void updated(const struct seula_config *cfg, char day[11])
{
	struct stat sb;
	time_t t = cfg->ini.path && stat(cfg->ini.path, &sb) == 0 ? sb.st_mtime
	                                                          : time(NULL);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(day, 11, "%Y-%m-%d", &tm);
}

json_t *seula_statement_facts(const struct seula_config *cfg,
                              const struct seula_consent *consent,
                              const struct seula_plugins *plugins,
                              const char *lang)
{
	char day[11];
	updated(cfg, day);
	json_t *controller = json_object(), *contact = json_object();
	set_text(controller, "name", cfg->controller_name);
	set_text(controller, "business_id", cfg->controller_business_id);
	set_text(controller, "address", cfg->controller_address);
	set_text(controller, "email", cfg->controller_email);
	set_text(controller, "phone", cfg->controller_phone);
	set_text(controller, "website", cfg->controller_website);
	set_text(contact, "name", cfg->contact_name);
	set_text(contact, "address", cfg->contact_address);
	set_text(contact, "email", cfg->contact_email);
	set_text(contact, "phone", cfg->contact_phone);
	json_t *authority = json_object();
	set_text(authority, "name", cfg->authority_name);
	set_text(authority, "address", cfg->authority_address);
	set_text(authority, "email", cfg->authority_email);
	set_text(authority, "phone", cfg->authority_phone);
	set_text(authority, "website", cfg->authority_website);

	static const char *const proc_keys[] = {"name", "purpose"};
	static const char *const transfer_keys[] = {"recipient", "country",
	                                            "safeguard"};
	json_t *processors = json_array(), *transfers = json_array();
	for (size_t i = 0; cfg->processors && cfg->processors[i]; i++)
		json_array_append_new(
		        processors,
		        split_fields(cfg->processors[i], proc_keys, 2));
	for (size_t i = 0; cfg->transfers && cfg->transfers[i]; i++)
		json_array_append_new(
		        transfers,
		        split_fields(cfg->transfers[i], transfer_keys, 3));

	/* Every cookie of every site, once; the categories as the first
	 * site's banner names them. */
	json_t *cookies = json_array(), *cats = json_array();
	for (size_t i = 0; i < cfg->n_sites; i++) {
		json_t *list =
		        seula_consent_cookies(consent, cfg->sites[i].id, lang);
		size_t k, m;
		json_t *c, *have;
		json_array_foreach(list, k, c)
		{
			bool dup = false;
			json_array_foreach(cookies, m, have)
			{
				dup |= json_equal(json_object_get(have, "name"),
				                  json_object_get(c, "name"));
			}
			if (!dup)
				json_array_append(cookies, c);
		}
		json_decref(list);
	}
	json_t *texts =
	        cfg->n_sites
	                ? seula_consent_texts(consent, cfg->sites[0].id, lang)
	                : NULL;
	if (!texts && cfg->n_sites)
		texts = seula_consent_texts(consent, cfg->sites[0].id,
		                            cfg->sites[0].languages[0]);
	size_t k;
	json_t *cat;
	json_array_foreach(json_object_get(texts, "categories"), k, cat)
	{
		json_array_append_new(
		        cats, json_pack("{s:O, s:O, s:O}", "id",
		                        json_object_get(cat, "id"), "name",
		                        json_object_get(cat, "name"), "purpose",
		                        json_object_get(cat, "purpose")));
	}

	json_t *facts = json_pack(
	        "{s:s, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, "
	        "s:o, s:o, s:o, s:o}",
	        "updated", day, "register_name", cfg->register_name,
	        "controller", controller, "contact", contact, "purposes",
	        string_list(cfg->purposes), "legal_bases",
	        string_list(cfg->legal_bases), "data_categories",
	        string_list(cfg->data_categories), "sources",
	        string_list(cfg->sources), "disclosures",
	        string_list(cfg->disclosures), "processors", processors,
	        "transfers", transfers, "retention", retention(cfg, plugins),
	        "security", security(cfg, plugins), "cookies", cookies,
	        "consent_categories", cats, "authority", authority);
	if (facts)
		banner_words(facts, texts, lang);
	json_decref(texts);
	/* Visits before a choice are counted (cookieless) unless every
	 * site drops them; exempt sites count them too. */
	bool counted = false;
	for (size_t i = 0; i < cfg->n_sites; i++)
		counted |= cfg->sites[i].mode == SEULA_MODE_EXEMPT ||
		           cfg->sites[i].without_consent ==
		                   SEULA_WITHOUT_COOKIELESS;
	if (facts && cfg->n_sites)
		json_object_set_new(facts, "counted_without_consent",
		                    json_boolean(counted));
	if (facts && cfg->rights_email)
		json_object_set_new(facts, "rights_email",
		                    json_string(cfg->rights_email));
	return facts;
}

int seula_statement_new(struct seula_statement **out,
                        const struct seula_config *cfg,
                        const struct seula_consent *consent,
                        const struct seula_plugins *plugins, char *err,
                        size_t errlen)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return SEULA_ENOMEM;
	if (!cfg->controller_name)
		return SEULA_OK;
	struct seula_statement *st = *out;
	json_t *texts = json_loads(seula_embedded_privacy_texts, 0, NULL);
	/* The languages of the first site that the statement has texts for;
	 * the default first. */
	const char *const *want = cfg->n_sites ? cfg->sites[0].languages : NULL;
	static const char *const fallback[] = {"fi", "sv", "en", NULL};
	if (!want || !want[0])
		want = fallback;
	json_t *langs = json_array();
	for (size_t i = 0; want[i] && st->n < MAX_LANGS; i++)
		if (json_object_get(texts, want[i]))
			json_array_append_new(langs, json_string(want[i]));
	int rc = SEULA_OK;
	size_t i;
	json_t *l;
	json_array_foreach(langs, i, l)
	{
		const char *lang = json_string_value(l);
		json_t *facts =
		        seula_statement_facts(cfg, consent, plugins, lang);
		if (facts)
			json_object_set(facts, "languages", langs);
		char e[256] = "";
		rc = facts ? seula_privacy_render(facts, texts, lang,
		                                  &st->pages[st->n], e,
		                                  sizeof(e))
		           : SEULA_ENOMEM;
		json_decref(facts);
		if (rc != SEULA_OK) {
			snprintf(err, errlen, "the privacy statement (%s): %s",
			         lang, e);
			break;
		}
		snprintf(st->langs[st->n++], sizeof(st->langs[0]), "%s", lang);
	}
	json_decref(langs);
	json_decref(texts);
	if (rc != SEULA_OK) {
		seula_statement_free(st);
		*out = NULL;
	}
	return rc;
}

void seula_statement_free(struct seula_statement *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++)
		free(st->pages[i]);
	free(st);
}

/* The index of language `lang` among the statement's, or -1. */
static long statement_lang(const struct seula_statement *st, const char *lang)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->langs[i], lang) == 0)
			return (long)i;
	return -1;
}

/* lang's page (len bytes) as the banner picks its language: exact, then
 * by primary subtag in any case ("sv-SE", "EN" -> "sv", "en"); -1 for
 * none. */
static long lang_match(const struct seula_statement *st, const char *lang,
                       size_t len)
{
	char tag[16];
	if (len == 0 || len >= sizeof(tag))
		return -1;
	memcpy(tag, lang, len);
	tag[len] = '\0';
	long pick = statement_lang(st, tag);
	if (pick >= 0)
		return pick;
	size_t n = strcspn(tag, "-_");
	for (size_t i = 0; i < n; i++)
		tag[i] = (char)tolower((unsigned char)tag[i]);
	tag[n] = '\0';
	return statement_lang(st, tag);
}

/* The best of an Accept-Language list (RFC 9110 12.5.4: "fi-FI,
 * sv;q=0.8, *;q=0.1") the statement has, by ICU's matching (weights, then
 * order; a region falls back to its language); -1 for none, or for a
 * list ICU finds malformed. */
static long accepted(const struct seula_statement *st, const char *accept)
{
	const char *langs[MAX_LANGS];
	for (size_t i = 0; i < st->n; i++)
		langs[i] = st->langs[i];
	UErrorCode status = U_ZERO_ERROR;
	UEnumeration *avail = uenum_openCharStringsEnumeration(
	        langs, (int32_t)st->n, &status);
	char got[ULOC_FULLNAME_CAPACITY] = "";
	UAcceptResult how = ULOC_ACCEPT_FAILED;
	int32_t n = uloc_acceptLanguageFromHTTP(got, (int32_t)sizeof(got), &how,
	                                        accept, avail, &status);
	uenum_close(avail);
	if (U_FAILURE(status) || how == ULOC_ACCEPT_FAILED || n <= 0 ||
	    n >= (int32_t)sizeof(got))
		return -1;
	return statement_lang(st, got);
}

/* The page for `lang` (lang_match()), or without one the best of the
 * request's Accept-Language; a language asked for that the statement does
 * not have gets English, when it has English, else the default (the
 * first), which a request asking for none gets. */
const char *seula_statement_page(const struct seula_statement *st,
                                 const char *lang, const char *accept,
                                 size_t *len, const char **chosen)
{
	if (!st || !st->n)
		return NULL;
	bool asked = (lang && *lang) || (accept && *accept);
	long pick = lang && *lang ? lang_match(st, lang, strlen(lang))
	            : asked       ? accepted(st, accept)
	                          : 0;
	if (pick < 0)
		pick = statement_lang(st, "en");
	if (pick < 0)
		pick = 0;
	*len = strlen(st->pages[pick]);
	if (chosen)
		*chosen = st->langs[pick];
	return st->pages[pick];
}
