/*
 * config.h - the INI config file and the config rows that parse it.
 *
 * The file is read once into entries (section, key, value, line).  Core
 * sections are parsed by seula_config_load(); plugin sections by the loader
 * with the plugin's rows through seula_config_apply().  A key no row knows, a
 * value out of range, or a section nobody claims is an error naming file,
 * line and key; nothing falls back silently.
 *
 * Ownership: a `struct seula_config` owns every string and list it holds (in
 * its arena); seula_config_free() releases them.  Structs filled by
 * seula_config_apply() point into the config's arena and live as long as it.
 */
#ifndef SEULA_CONFIG_H
#define SEULA_CONFIG_H

#include "arena.h"
#include "netaddr.h"

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct seula_ini_entry {
	char *section;
	char *key;
	char *value;
	int line; /* 0: given on the command line */
	bool continuation;
	bool used;
};

/* A [section] header of the file, so that an empty one is checked too. */
struct seula_ini_section {
	char *name;
	int line;
	bool used;
};

struct seula_ini {
	char *path;
	struct seula_ini_entry *entries;
	size_t n, cap;
	struct seula_ini_section *sections;
	size_t n_sections, cap_sections;
};

enum seula_sync { SEULA_SYNC_NORMAL = 0, SEULA_SYNC_FULL = 1 };
enum seula_secure_cookie {
	SEULA_SECURE_AUTO = 0, /* when a trusted proxy says it was https */
	SEULA_SECURE_ALWAYS = 1,
	SEULA_SECURE_NEVER = 2,
};

enum seula_consent_mode {
	SEULA_MODE_CONSENT = 0, /* non-essential storage only with consent */
	SEULA_MODE_EXEMPT = 1,  /* audience measurement only (CNIL exemption) */
};
enum seula_without_consent {
	SEULA_WITHOUT_COOKIELESS = 0, /* counted with the daily visitor hash */
	SEULA_WITHOUT_DROP = 1,       /* not stored at all */
};
enum seula_dnt { SEULA_DNT_IGNORE = 0, SEULA_DNT_OBJECTION = 1 };

struct seula_site {
	const char *id;
	const char *const
	        *domains; /* host names; "*.example.com" matches subdomains */
	const char *const *keep_query; /* query parameters kept besides utm_* */

	/* Consent (see consent.h). */
	int mode;            /* enum seula_consent_mode */
	int without_consent; /* enum seula_without_consent */
	const char *policy_version;
	int64_t consent_period_s;     /* a choice is asked again after this */
	int dnt;                      /* enum seula_dnt */
	const char *const *offered;   /* categories besides necessary */
	const char *const *languages; /* banner languages, the first the
	                                 default */
	const char *const *cookies;   /* the site's own: "category name
	                                 duration provider" */
	int64_t events_retention_s;   /* raw events are deleted after it */
	/* The IANA zone the site's reports are in unless one is asked for;
	 * "" for none (the API's UTC, the dashboard's browser's zone). */
	const char *timezone;
};

struct seula_config {
	struct seula_ini ini;
	struct seula_arena mem;

	/* [server] */
	const char *listen;
	const char *db;
	const char *web_root;
	const char *plugin_dir; /* NULL: next to the binary */
	int64_t workers;
	int64_t readers;
	const char *const *trusted_proxies;
	int synchronous; /* enum seula_sync */
	int log_level;   /* enum seula_log_level */
	int64_t request_timeout_s;
	int64_t stop_timeout_s;
	int64_t shutdown_grace_ms;
	const char *secret_file;

	/* [auth] */
	int64_t session_idle_s;
	int64_t session_lifetime_s;
	int secure_cookie; /* enum seula_secure_cookie */
	int64_t login_max_failures;
	int64_t login_failure_window_s;
	int64_t login_lockout_s;
	int64_t max_sessions;
	int64_t session_sync_s;
	const char *const *staff_networks;

	/* [limits] */
	int64_t max_body_bytes;
	int64_t max_events_per_request;
	int64_t queue_capacity;
	int64_t batch_max_events;
	int64_t batch_interval_ms;
	int64_t wal_limit_bytes;

	/* [plugins] */
	const char *const *plugins;

	/* [consent] */
	const char *consent_texts; /* NULL: the built-in texts */
	int64_t consent_retention_s;

	/* [controller]: who keeps the register, for /privacy */
	const char *controller_name;
	const char *controller_business_id;
	const char *controller_address;
	const char *controller_email;
	const char *controller_phone;
	const char *controller_website;
	const char *register_name;
	const char *contact_name;
	const char *contact_address;
	const char *contact_email;
	const char *contact_phone;
	const char *rights_email;

	/* [privacy]: what the statement declares beyond what the server
	 * derives from its own config */
	const char *const *purposes;
	const char *const *legal_bases;
	const char *const *data_categories;
	const char *const *sources;
	const char *const *disclosures;
	const char *const *processors; /* "name: purpose" */
	const char *const *transfers;  /* "recipient: country: safeguard" */
	const char *authority_name;
	const char *authority_address;
	const char *authority_email;
	const char *authority_phone;
	const char *authority_website;

	/* [site.ID] */
	struct seula_site *sites;
	size_t n_sites;

	/* derived */
	struct seula_cidr *trusted;
	size_t n_trusted;
	struct seula_cidr *staff_nets; /* none: staff may come from anywhere */
	size_t n_staff_nets;
};

/* Read `path` into `ini`.  On error returns SEULA_EINVAL / SEULA_EIO and
 * writes "file:line: reason" into err. */
int seula_ini_load(struct seula_ini *ini, const char *path, char *err,
                   size_t errlen);
void seula_ini_free(struct seula_ini *ini);
/* Set (or replace) a value as if given on the command line. */
int seula_ini_set(struct seula_ini *ini, const char *section, const char *key,
                  const char *value);

/*
 * Parse config `path` (NULL: no file, defaults only); `overrides` is a
 * NULL-terminated list of "section.key=value" strings applied on top (may be
 * NULL).  Plugin sections stay unparsed for the loader; call
 * seula_config_check_unused() after it.
 */
int seula_config_load(struct seula_config *cfg, const char *path,
                      const char *const *overrides, char *err, size_t errlen);
void seula_config_free(struct seula_config *cfg);

/* The config a command uses without --config: $SEULA_CONFIG when set,
 * else /etc/seula/seula.ini when it exists (where contrib/seula.service
 * has it); NULL when neither.  Not to be freed. */
const char *seula_config_default_path(void);

/* Fill `target` from `section` with `rows`: defaults first, then the file.
 * Strings and lists are allocated in cfg->mem. */
int seula_config_apply(struct seula_config *cfg, const char *section,
                       const struct seula_config_row *rows, void *target,
                       char *err, size_t errlen);

/* Mark `section` as claimed by a reader that has no rows for it (a plugin
 * without settings), so that it is not reported as unknown. */
void seula_config_claim(struct seula_config *cfg, const char *section);

/* Error for the first entry or section header no row consumed (an unknown
 * section). */
int seula_config_check_unused(struct seula_config *cfg, char *err,
                              size_t errlen);

/* Rows of the core sections, for `seula help config`. */
extern const struct seula_config_row seula_config_server_rows[];
extern const struct seula_config_row seula_config_limits_rows[];
extern const struct seula_config_row seula_config_auth_rows[];
extern const struct seula_config_row seula_config_plugins_rows[];
extern const struct seula_config_row seula_config_site_rows[];
extern const struct seula_config_row seula_config_consent_rows[];
extern const struct seula_config_row seula_config_controller_rows[];
extern const struct seula_config_row seula_config_privacy_rows[];

/* Print rows as help text, one key a line. */
void seula_config_print_help(const char *section,
                             const struct seula_config_row *rows);

const struct seula_site *seula_config_site(const struct seula_config *cfg,
                                           const char *id);
/* True when `host` (lower case, no port) is one of the site's domains. */
bool seula_site_allows_host(const struct seula_site *site, const char *host,
                            size_t len);

/* 1-64 characters of a-z, 0-9 and _ (and - when `dash`): site ids with a
 * dash, plugin names without. */
bool seula_config_name_valid(const char *s, bool dash);

/* Parse a duration: "90", "90s", "15m", "12h", "30d", "2w". */
int seula_parse_duration(const char *text, int64_t *seconds);

#endif
