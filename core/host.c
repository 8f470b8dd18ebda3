/*
 * host.c - the functions behind struct seula_host.
 */
#include "host.h"

#include "config.h"
#include "event.h"
#include "http.h"
#include "netaddr.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static const struct seula_host_impl *impl_of(const struct seula_host *h)
{
	return (const struct seula_host_impl *)h;
}

int64_t seula_clock_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static char *host_mprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *s = NULL;
	if (vasprintf(&s, fmt, ap) < 0)
		s = NULL;
	va_end(ap);
	return s;
}

static void host_log(const struct seula_host *h, enum seula_log_level level,
                     const char *fmt, ...)
{
	const struct seula_host_impl *impl = impl_of(h);
	va_list ap;
	va_start(ap, fmt);
	seula_logv(impl->env->log, level, impl->plugin_name, fmt, ap);
	va_end(ap);
}

static int64_t host_now_ms(const struct seula_host *h)
{
	const struct seula_host_env *env = impl_of(h)->env;
	return env->now_ms ? env->now_ms(env->ctx) : seula_clock_ms();
}

static void host_random_bytes(const struct seula_host *h, void *buf, size_t len)
{
	const struct seula_host_env *env = impl_of(h)->env;
	if (env->random_bytes)
		env->random_bytes(env->ctx, buf, len);
	else
		randombytes_buf(buf, len);
}

static int host_event_set_str(struct seula_event *ev, enum seula_field f,
                              const char *value, size_t len)
{
	if (seula_field_is_readonly(f))
		return SEULA_EINVAL;
	return seula_event_set_str(ev, f, value, len);
}

static int host_event_set_int(struct seula_event *ev, enum seula_field f,
                              int64_t value)
{
	if (seula_field_is_readonly(f))
		return SEULA_EINVAL;
	return seula_event_set_int(ev, f, value);
}

static int host_event_clear(struct seula_event *ev, enum seula_field f)
{
	if (seula_field_is_readonly(f))
		return SEULA_EINVAL;
	return seula_event_clear(ev, f);
}

static int host_subject_run(const struct seula_host *h, struct sqlite3 *db,
                            enum seula_subject_op op,
                            const struct seula_subject *who, char **json_out,
                            char **errmsg)
{
	*json_out = NULL;
	const struct seula_host_env *env = impl_of(h)->env;
	if (!env->subject_run) {
		*errmsg = host_mprintf("subject_run is not available here");
		return SEULA_EINVAL;
	}
	if (!db) {
		*errmsg =
		        host_mprintf("subject_run needs a database connection");
		return SEULA_EINVAL;
	}
	char err[512] = "";
	json_t *out = NULL;
	int rc = env->subject_run(env->plugins, env->secret_key, db, op, who,
	                          &out, err, sizeof(err));
	if (rc != SEULA_OK) {
		*errmsg = host_mprintf("%s", err[0] ? err : "failed");
		return rc;
	}
	/* jansson allocates with malloc: the caller's free() fits. */
	*json_out = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return *json_out ? SEULA_OK : SEULA_ENOMEM;
}

static int host_site_known(const struct seula_host *h, const char *site)
{
	const struct seula_config *cfg = impl_of(h)->env->config;
	if (!cfg)
		return SEULA_EINVAL;
	return site && seula_config_site(cfg, site) ? 1 : 0;
}

static int host_site_has_host(const struct seula_host *h, const char *site,
                              const char *name, size_t len)
{
	const struct seula_config *cfg = impl_of(h)->env->config;
	if (!cfg)
		return SEULA_EINVAL;
	const struct seula_site *s = site ? seula_config_site(cfg, site) : NULL;
	return s && name && seula_site_allows_host(s, name, len) ? 1 : 0;
}

static const char *host_site_id(const struct seula_host *h, size_t i)
{
	const struct seula_config *cfg = impl_of(h)->env->config;
	return cfg && i < cfg->n_sites ? cfg->sites[i].id : NULL;
}

static const char *host_site_timezone(const struct seula_host *h,
                                      const char *site)
{
	const struct seula_config *cfg = impl_of(h)->env->config;
	const struct seula_site *s =
	        cfg && site ? seula_config_site(cfg, site) : NULL;
	return s && s->timezone && *s->timezone ? s->timezone : NULL;
}

static int host_event_objects_to_marketing(const struct seula_host *h,
                                           const struct seula_event *ev)
{
	const char *gpc = seula_event_header(ev, "Sec-GPC");
	if (gpc && strcmp(gpc, "1") == 0)
		return 1;
	const char *dnt = seula_event_header(ev, "DNT");
	const struct seula_config *cfg = impl_of(h)->env->config;
	const char *site = seula_event_str(ev, SEULA_FIELD_SITE);
	const struct seula_site *s =
	        cfg && site ? seula_config_site(cfg, site) : NULL;
	return dnt && strcmp(dnt, "1") == 0 && s &&
	       s->dnt == SEULA_DNT_OBJECTION;
}

static const char *list_item(const char *const *list, size_t i)
{
	for (size_t k = 0; list && list[k]; k++)
		if (k == i)
			return list[k];
	return NULL;
}

static const char *host_privacy_get(const struct seula_host *h, const char *key,
                                    size_t i)
{
	const struct seula_config *cfg = impl_of(h)->env->config;
	if (!cfg || !key)
		return NULL;
	const struct {
		const char *key;
		const char *const *list;
		const char *one;
	} keys[] = {
	        {"purposes", cfg->purposes, NULL},
	        {"legal_bases", cfg->legal_bases, NULL},
	        {"data_categories", cfg->data_categories, NULL},
	        {"sources", cfg->sources, NULL},
	        {"disclosures", cfg->disclosures, NULL},
	        {"processors", cfg->processors, NULL},
	        {"transfers", cfg->transfers, NULL},
	        {"authority_name", NULL, cfg->authority_name},
	        {"authority_address", NULL, cfg->authority_address},
	        {"authority_email", NULL, cfg->authority_email},
	        {"authority_phone", NULL, cfg->authority_phone},
	        {"authority_website", NULL, cfg->authority_website},
	};
	for (size_t k = 0; k < sizeof(keys) / sizeof(keys[0]); k++) {
		if (strcmp(key, keys[k].key) != 0)
			continue;
		if (keys[k].one)
			return i == 0 ? keys[k].one : NULL;
		return list_item(keys[k].list, i);
	}
	return NULL;
}

static int host_audit_visitor(const struct seula_host *h, const char *vid,
                              char *out, size_t len)
{
	const struct seula_host_env *env = impl_of(h)->env;
	/* Without the key the core would name the visitor by the id itself,
	 * which is what the pseudonym is for keeping out of the log. */
	if (!env->audit_visitor || !env->secret_key || !vid || len < 48)
		return SEULA_EINVAL;
	env->audit_visitor(env->secret_key, vid, out);
	return SEULA_OK;
}

void seula_host_init(struct seula_host_impl *impl, const char *plugin_name,
                     const struct seula_host_env *env)
{
	struct seula_host *h = &impl->pub;
	h->abi_major = SEULA_ABI_MAJOR;
	h->abi_minor = SEULA_ABI_MINOR;
	h->size = sizeof(*h);
	h->mprintf = host_mprintf;
	h->log = host_log;
	h->now_ms = host_now_ms;
	h->random_bytes = host_random_bytes;
	h->event_str = seula_event_str;
	h->event_set_str = host_event_set_str;
	h->event_int = seula_event_int;
	h->event_set_int = host_event_set_int;
	h->event_clear = host_event_clear;
	h->event_ip = seula_event_ip;
	h->event_wipe_ip = seula_event_wipe_ip;
	h->event_header = seula_event_header;
	h->ip_format = seula_ip_format;
	h->ip_parse = seula_ip_parse;
	h->http_method = seula_http_method;
	h->http_path = seula_http_path;
	h->http_param = seula_http_param;
	h->http_query = seula_http_query;
	h->http_header = seula_http_header;
	h->http_body = seula_http_body;
	h->http_db = seula_http_db;
	h->http_set_header = seula_http_set_header;
	h->http_reply = seula_http_reply;
	h->http_error = seula_http_error;
	h->http_user = seula_http_user;
	h->http_role = seula_http_role;
	h->http_audit = seula_http_audit;
	h->subject_run = host_subject_run;
	h->http_truncate_wal = seula_http_truncate_wal;
	h->site_known = host_site_known;
	h->site_has_host = host_site_has_host;
	h->site_timezone = host_site_timezone;
	h->site_id = host_site_id;
	h->ip_mask = seula_ip_mask_level;
	h->event_objects_to_marketing = host_event_objects_to_marketing;
	h->privacy_get = host_privacy_get;
	h->audit_visitor = host_audit_visitor;
	h->http_api_key = seula_http_api_key;
	impl->plugin_name = plugin_name;
	impl->env = env;
}
