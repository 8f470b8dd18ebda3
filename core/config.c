/*
 * config.c - INI file through libinih, values through config rows.
 */
#include "config.h"

#include "event.h"
#include "textfile.h"
#include "zone.h"

#include <errno.h>
#include <ini.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* ---- rows of the core sections ---------------------------------------- */

static const char *const sync_choices[] = {"normal", "full", NULL};
static const char *const log_choices[] = {"error", "warn", "info", "debug",
                                          NULL};

#define SRV(field) offsetof(struct seula_config, field)

const struct seula_config_row seula_config_server_rows[] = {
        {SEULA_CONFIG_STRING, "listen", "127.0.0.1:8080", 1, 300, SRV(listen),
         0, NULL,
         "address:port to listen on; port 0 picks a free one, [::1]:8080 for "
         "IPv6"},
        {SEULA_CONFIG_STRING, "db", "var/seula.db", 1, 4096, SRV(db),
         SEULA_CONFIG_PATH, NULL, "SQLite database file, created when missing"},
        {SEULA_CONFIG_STRING, "web_root", "web", 1, 4096, SRV(web_root),
         SEULA_CONFIG_PATH, NULL,
         "folder with seula.js and the pages the server serves"},
        {SEULA_CONFIG_STRING, "plugin_dir", NULL, 1, 4096, SRV(plugin_dir),
         SEULA_CONFIG_PATH, NULL,
         "folder of plugin shared objects; default: plugins/ beside the "
         "binary"},
        {SEULA_CONFIG_INT, "workers", "1", 1, 64, SRV(workers), 0, NULL,
         "event-loop threads sharing the port (SO_REUSEPORT)"},
        {SEULA_CONFIG_INT, "readers", "2", 1, 64, SRV(readers), 0, NULL,
         "reader threads with read-only connections for reports"},
        {SEULA_CONFIG_LIST, "trusted_proxies", "", 0, 0, SRV(trusted_proxies),
         0, NULL,
         "CIDR ranges whose X-Forwarded-For is believed, e.g. 127.0.0.1/8, "
         "::1"},
        {SEULA_CONFIG_ENUM, "synchronous", "full", 0, 0, SRV(synchronous), 0,
         sync_choices,
         "full: a commit is on disk before the reply (survives power loss); "
         "normal: survives a crash of the server"},
        {SEULA_CONFIG_ENUM, "log_level", "info", 0, 0, SRV(log_level), 0,
         log_choices, "least severe level logged"},
        {SEULA_CONFIG_DURATION, "request_timeout", "30s", 1, 3600,
         SRV(request_timeout_s), 0, NULL,
         "time a client may take to send a request or read the reply"},
        {SEULA_CONFIG_DURATION, "stop_timeout", "30s", 1, 3600,
         SRV(stop_timeout_s), 0, NULL,
         "time a stop (SIGTERM) waits for the requests in flight; those "
         "left then get 503"},
        {SEULA_CONFIG_INT, "shutdown_grace_ms", "200", 0, 60000,
         SRV(shutdown_grace_ms), 0, NULL,
         "time given to replies in flight to reach clients at stop"},
        {SEULA_CONFIG_STRING, "secret_file", NULL, 1, 4096, SRV(secret_file),
         SEULA_CONFIG_PATH, NULL,
         "the key of the audit and consent hash chains, created at first "
         "start (mode 0600); default: seula.key beside the database"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const char *const secure_choices[] = {"auto", "always", "never", NULL};

const struct seula_config_row seula_config_auth_rows[] = {
        {SEULA_CONFIG_DURATION, "session_idle", "30m", 1, 7 * 86400,
         SRV(session_idle_s), 0, NULL,
         "a staff session ends after this long without a request"},
        {SEULA_CONFIG_DURATION, "session_lifetime", "12h", 1, 30 * 86400,
         SRV(session_lifetime_s), 0, NULL,
         "and this long after its login, however busy"},
        {SEULA_CONFIG_ENUM, "secure_cookie", "auto", 0, 0, SRV(secure_cookie),
         0, secure_choices,
         "Secure flag of the session cookie; auto: when a trusted proxy "
         "says the request came over https"},
        {SEULA_CONFIG_INT, "login_max_failures", "5", 1, 1000,
         SRV(login_max_failures), 0, NULL,
         "failed logins, per account and per address, before a lockout"},
        {SEULA_CONFIG_DURATION, "login_failure_window", "15m", 1, 86400,
         SRV(login_failure_window_s), 0, NULL,
         "the window those failures are counted in"},
        {SEULA_CONFIG_DURATION, "login_lockout", "15m", 1, 86400,
         SRV(login_lockout_s), 0, NULL, "how long a lockout lasts"},
        {SEULA_CONFIG_INT, "max_sessions", "1000", 1, 100000, SRV(max_sessions),
         0, NULL, "open staff sessions; past it the least recently used ends"},
        {SEULA_CONFIG_LIST, "staff_networks", "", 0, 0, SRV(staff_networks), 0,
         NULL,
         "CIDR ranges staff may sign in from and use staff routes; empty: "
         "any (the address is the client's, behind trusted proxies)"},
        {SEULA_CONFIG_DURATION, "session_sync", "30s", 1, 3600,
         SRV(session_sync_s), 0, NULL,
         "how often sessions' last-seen times are written (a change "
         "to an account reaches its sessions within a second)"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct seula_config_row seula_config_limits_rows[] = {
        {SEULA_CONFIG_INT, "max_body_bytes", "65536", 256, 16777216,
         SRV(max_body_bytes), 0, NULL,
         "largest request body accepted (413 above)"},
        {SEULA_CONFIG_INT, "max_events_per_request", "50", 1, 1000,
         SRV(max_events_per_request), 0, NULL,
         "most events in one collect request"},
        {SEULA_CONFIG_INT, "queue_capacity", "20000", 1, 10000000,
         SRV(queue_capacity), 0, NULL,
         "events waiting for the writer before collect answers 503"},
        {SEULA_CONFIG_INT, "batch_max_events", "2000", 1, 1000000,
         SRV(batch_max_events), 0, NULL, "most events in one commit"},
        {SEULA_CONFIG_INT, "batch_interval_ms", "0", 0, 1000,
         SRV(batch_interval_ms), 0, NULL,
         "extra wait for more events before a commit; 0: batches form while "
         "the previous commit is on its way to disk"},
        {SEULA_CONFIG_INT, "wal_limit_bytes", "67108864", 0, 1099511627776,
         SRV(wal_limit_bytes), 0, NULL,
         "size the WAL is cut back to when it starts over after a "
         "checkpoint (a long reader, a backup, lets it grow past it)"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct seula_config_row seula_config_plugins_rows[] = {
        {SEULA_CONFIG_LIST, "load", "", 0, 0, SRV(plugins), 0, NULL,
         "plugins in pipeline order: enrich, then protect, then filter"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

#define SITE(field) offsetof(struct seula_site, field)

static const char *const mode_choices[] = {"consent", "exempt", NULL};
static const char *const without_choices[] = {"cookieless", "drop", NULL};
static const char *const dnt_choices[] = {"ignore", "objection", NULL};

const struct seula_config_row seula_config_site_rows[] = {
        {SEULA_CONFIG_LIST, "domains", NULL, 0, 0, SITE(domains),
         SEULA_CONFIG_REQUIRED, NULL,
         "host names allowed to send, e.g. example.com, *.example.com"},
        {SEULA_CONFIG_LIST, "keep_query", "", 0, 0, SITE(keep_query), 0, NULL,
         "query parameters kept in page URLs (all others and utm_* are cut)"},
        {SEULA_CONFIG_ENUM, "consent_mode", "consent", 0, 0, SITE(mode), 0,
         mode_choices,
         "consent: cookies and ids only with the visitor's consent; exempt: "
         "audience measurement only, within the CNIL exemption's limits"},
        {SEULA_CONFIG_ENUM, "without_consent", "cookieless", 0, 0,
         SITE(without_consent), 0, without_choices,
         "visits without analytics consent: counted with the daily "
         "cookieless hash (until the visitor refuses statistics), or "
         "dropped"},
        {SEULA_CONFIG_STRING, "policy_version", "1", 1, 64,
         SITE(policy_version), 0, NULL,
         "version of the consent texts; changing it asks every visitor "
         "again (a change of the texts alone does too, and is warned of)"},
        {SEULA_CONFIG_DURATION, "consent_period", "365d", 86400, 730 * 86400,
         SITE(consent_period_s), 0, NULL,
         "a choice is asked again after this (the consent cookie's age)"},
        {SEULA_CONFIG_ENUM, "dnt", "ignore", 0, 0, SITE(dnt), 0, dnt_choices,
         "DNT: 1 header: ignore, or objection (treated like Sec-GPC: no "
         "marketing)"},
        {SEULA_CONFIG_LIST, "categories",
         "analytics, marketing, "
         "personalization",
         0, 0, SITE(offered), 0, NULL,
         "consent categories the banner offers besides necessary"},
        {SEULA_CONFIG_LIST, "languages", "fi, sv, en", 0, 0, SITE(languages), 0,
         NULL, "banner and statement languages; the first is the default"},
        {SEULA_CONFIG_LIST, "cookies", "", 0, 0, SITE(cookies), 0, NULL,
         "the site's own cookies for the banner and /privacy, each "
         "'category name duration provider', e.g. 'marketing _fbp 90d "
         "Meta Platforms'"},
        {SEULA_CONFIG_DURATION, "events_retention", "760d", 86400,
         20 * 366 * 86400, SITE(events_retention_s), 0, NULL,
         "raw events older than this are deleted (rollups stay)"},
        {SEULA_CONFIG_STRING, "timezone", "", 0, 64, SITE(timezone), 0, NULL,
         "IANA time zone of the site's reports, e.g. Europe/Helsinki, so "
         "that everyone sees the same days; empty: each viewer's own (the "
         "API: UTC)"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct seula_config_row seula_config_consent_rows[] = {
        {SEULA_CONFIG_STRING, "texts", NULL, 1, 4096, SRV(consent_texts),
         SEULA_CONFIG_PATH, NULL,
         "JSON file of the banner's texts per language; default: the "
         "built-in Finnish, Swedish and English texts"},
        {SEULA_CONFIG_DURATION, "record_retention", "1826d", 400 * 86400,
         30 * 366 * 86400, SRV(consent_retention_s), 0, NULL,
         "consent records (the proof) are kept this long after they were "
         "given"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

#define TEXT_ROW(key, field, help)                                             \
	{                                                                      \
		SEULA_CONFIG_STRING, key, NULL, 1, 1024, SRV(field), 0, NULL,  \
		        help                                                   \
	}

const struct seula_config_row seula_config_controller_rows[] = {
        TEXT_ROW("name", controller_name, "the controller (company) name"),
        TEXT_ROW("business_id", controller_business_id, "e.g. Y-tunnus"),
        TEXT_ROW("address", controller_address, "postal address"),
        TEXT_ROW("email", controller_email, "email address"),
        TEXT_ROW("phone", controller_phone, "phone number"),
        TEXT_ROW("website", controller_website, "web address"),
        {SEULA_CONFIG_STRING, "register_name", "Asiakasrekisteri", 1, 256,
         SRV(register_name), 0, NULL, "the register's name"},
        TEXT_ROW("contact_name", contact_name,
                 "the person in charge of register matters"),
        TEXT_ROW("contact_address", contact_address, "their address"),
        TEXT_ROW("contact_email", contact_email, "their email"),
        TEXT_ROW("contact_phone", contact_phone, "their phone"),
        TEXT_ROW("rights_email", rights_email,
                 "where data subjects send requests; default: "
                 "contact_email"),
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

const struct seula_config_row seula_config_privacy_rows[] = {
        {SEULA_CONFIG_LIST, "purposes",
         "customer_register, orders, customer_relationship, statistics", 0, 0,
         SRV(purposes), 0, NULL,
         "customer_register, orders, customer_relationship, statistics, "
         "marketing, personalization, security"},
        {SEULA_CONFIG_LIST, "legal_bases", "contract, consent", 0, 0,
         SRV(legal_bases), 0, NULL,
         "contract, consent, legitimate_interest, legal_obligation"},
        {SEULA_CONFIG_LIST, "data_categories",
         "identity, contact, billing, orders, web_usage, consent", 0, 0,
         SRV(data_categories), 0, NULL,
         "identity, contact, billing, orders, web_usage, consent"},
        {SEULA_CONFIG_LIST, "sources", "registration, customer, cookies", 0, 0,
         SRV(sources), 0, NULL,
         "registration, customer, update_services, subcontractors, "
         "cookies"},
        {SEULA_CONFIG_LIST, "disclosures", "", 0, 0, SRV(disclosures), 0, NULL,
         "credit_decisions, debt_collection, billing, authorities"},
        {SEULA_CONFIG_LIST, "processors", "", 0, 0, SRV(processors), 0, NULL,
         "processors holding data for you, each 'name: purpose'"},
        {SEULA_CONFIG_LIST, "transfers", "", 0, 0, SRV(transfers), 0, NULL,
         "transfers outside the EU/EEA, each 'recipient: country: "
         "safeguard'; empty: none"},
        {SEULA_CONFIG_STRING, "authority_name",
         "Tietosuojavaltuutetun toimisto", 1, 256, SRV(authority_name), 0, NULL,
         "the supervisory authority"},
        {SEULA_CONFIG_STRING, "authority_address", "PL 800, 00531 Helsinki", 1,
         256, SRV(authority_address), 0, NULL, "its postal address"},
        {SEULA_CONFIG_STRING, "authority_email", "tietosuoja@om.fi", 1, 256,
         SRV(authority_email), 0, NULL, "its email"},
        {SEULA_CONFIG_STRING, "authority_phone", "029 566 6700", 1, 64,
         SRV(authority_phone), 0, NULL, "its phone"},
        {SEULA_CONFIG_STRING, "authority_website", "https://tietosuoja.fi", 1,
         256, SRV(authority_website), 0, NULL, "its web site"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

/* ---- errors ----------------------------------------------------------- */

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

static const char *where(const struct seula_ini *ini,
                         const struct seula_ini_entry *e, char *buf, size_t len)
{
	if (e->line == 0)
		snprintf(buf, len, "command line");
	else
		snprintf(buf, len, "%s:%d", ini->path, e->line);
	return buf;
}

/* ---- reading the file ------------------------------------------------- */

struct reader {
	FILE *f;
	struct seula_ini *ini;
	int line;
	bool continuation;  /* the line just read starts with blank space */
	int too_long_line;  /* a line over inih's limit, 0 if none */
	int nul_line;       /* a line with a NUL byte, 0 if none */
	int read_errno;     /* a read error, 0 if none */
	size_t keys_before; /* entries before the last section header */
	bool oom;
};

static int push_section(struct seula_ini *ini, const char *name, size_t len,
                        int line)
{
	if (ini->n_sections == ini->cap_sections) {
		size_t cap = ini->cap_sections ? ini->cap_sections * 2 : 16;
		void *p = realloc(ini->sections, cap * sizeof(*ini->sections));
		if (!p)
			return SEULA_ENOMEM;
		ini->sections = p;
		ini->cap_sections = cap;
	}
	struct seula_ini_section *s = &ini->sections[ini->n_sections];
	if (!(s->name = strndup(name, len)))
		return SEULA_ENOMEM;
	s->line = line;
	s->used = false;
	ini->n_sections++;
	return SEULA_OK;
}

/* inih calls back only for keys; a section header is noted here so that an
 * empty section is checked like one with keys. */
static int note_section(struct reader *r, const char *line)
{
	if (r->line == 1 && strncmp(line, "\xEF\xBB\xBF", 3) == 0)
		line += 3;
	const char *start = line;
	while (*start == ' ' || *start == '\t')
		start++;
	/* Indented after a key, inih takes it for the key's next line. */
	if (*start != '[' || (start > line && r->ini->n > r->keys_before))
		return SEULA_OK;
	line = start;
	const char *close = strchr(line, ']');
	if (!close)
		return SEULA_OK; /* inih reports the syntax error */
	size_t len = (size_t)(close - line - 1);
	/* inih's cut (MAX_SECTION), so that names match its entries'. */
	if (len > 49)
		len = 49;
	r->keys_before = r->ini->n;
	return push_section(r->ini, line + 1, len, r->line);
}

/* inih's line reader: counts lines so entries know theirs, and stops at a
 * line inih would silently split or cut, and at a read error, which inih
 * would take for the end of the file.  Reads at most `num` bytes a line so
 * that a file without newlines cannot take all memory. */
static char *read_line(char *str, int num, void *stream)
{
	struct reader *r = stream;
	if (r->too_long_line || r->nul_line || r->read_errno || r->oom)
		return NULL;
	size_t n = 0;
	int c = EOF;
	bool nul = false;
	while ((c = getc(r->f)) != EOF) {
		if (n + 1 >= (size_t)num) {
			r->too_long_line = r->line + 1;
			return NULL;
		}
		nul |= c == '\0';
		str[n++] = (char)c;
		if (c == '\n')
			break;
	}
	if (c == EOF && ferror(r->f)) {
		r->read_errno = errno ? errno : EIO;
		return NULL;
	}
	if (n == 0)
		return NULL;
	str[n] = '\0';
	r->line++;
	if (nul) {
		r->nul_line = r->line;
		return NULL;
	}
	r->continuation = str[0] == ' ' || str[0] == '\t';
	if (r->continuation) {
		const char *p = str;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == '\r' || *p == '\0' || *p == ';' ||
		    *p == '#')
			r->continuation = false;
	}
	if (note_section(r, str) != SEULA_OK) {
		r->oom = true;
		return NULL;
	}
	return str;
}

struct load_ctx {
	struct seula_ini *ini;
	struct reader *reader;
	bool oom;
};

static int ini_push(struct seula_ini *ini, const char *section, const char *key,
                    const char *value, int line, bool continuation)
{
	if (ini->n == ini->cap) {
		size_t cap = ini->cap ? ini->cap * 2 : 32;
		void *p = realloc(ini->entries, cap * sizeof(*ini->entries));
		if (!p)
			return SEULA_ENOMEM;
		ini->entries = p;
		ini->cap = cap;
	}
	struct seula_ini_entry *e = &ini->entries[ini->n];
	memset(e, 0, sizeof(*e));
	e->section = strdup(section);
	e->key = strdup(key);
	e->value = strdup(value);
	e->line = line;
	e->continuation = continuation;
	if (!e->section || !e->key || !e->value) {
		free(e->section);
		free(e->key);
		free(e->value);
		return SEULA_ENOMEM;
	}
	ini->n++;
	return SEULA_OK;
}

static int on_ini_value(void *user, const char *section, const char *name,
                        const char *value)
{
	struct load_ctx *ctx = user;
	if (ini_push(ctx->ini, section, name, value, ctx->reader->line,
	             ctx->reader->continuation) != SEULA_OK) {
		ctx->oom = true;
		return 0;
	}
	return 1;
}

int seula_ini_load(struct seula_ini *ini, const char *path, char *err,
                   size_t errlen)
{
	memset(ini, 0, sizeof(*ini));
	ini->path = strdup(path);
	if (!ini->path)
		return SEULA_ENOMEM;
	int fd;
	size_t size;
	int rc = seula_textfile_open(path, &fd, &size, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	struct reader r = {.ini = ini};
	if (!(r.f = fdopen(fd, "r"))) {
		close(fd);
		snprintf(err, errlen, "%s: out of memory", path);
		return SEULA_ENOMEM;
	}
	struct load_ctx ctx = {ini, &r, false};
	rc = ini_parse_stream(read_line, &r, on_ini_value, &ctx);
	fclose(r.f);
	if (ctx.oom || r.oom)
		return SEULA_ENOMEM;
	/* The reader stopped there: inih's errors are all before it. */
	if (rc > 0)
		return fail(err, errlen,
		            "%s:%d: syntax error (expected [section], key = "
		            "value or a comment)",
		            path, rc);
	if (r.read_errno) {
		snprintf(err, errlen, "%s:%d: cannot read: %s", path,
		         r.line + 1, strerror(r.read_errno));
		return SEULA_EIO;
	}
	if (r.too_long_line)
		return fail(err, errlen,
		            "%s:%d: line too long (at most %d characters; "
		            "continue a list on an indented next line)",
		            path, r.too_long_line, INI_MAX_LINE - 2);
	if (r.nul_line)
		return fail(err, errlen, "%s:%d: a NUL byte: not a text file",
		            path, r.nul_line);
	if (rc < 0)
		return fail(err, errlen, "%s: cannot read", path);
	for (size_t i = 0; i < ini->n; i++)
		if (ini->entries[i].section[0] == '\0')
			return fail(err, errlen,
			            "%s:%d: '%s' is outside any [section]",
			            path, ini->entries[i].line,
			            ini->entries[i].key);
	return SEULA_OK;
}

void seula_ini_free(struct seula_ini *ini)
{
	for (size_t i = 0; i < ini->n; i++) {
		free(ini->entries[i].section);
		free(ini->entries[i].key);
		free(ini->entries[i].value);
	}
	free(ini->entries);
	for (size_t i = 0; i < ini->n_sections; i++)
		free(ini->sections[i].name);
	free(ini->sections);
	free(ini->path);
	memset(ini, 0, sizeof(*ini));
}

int seula_ini_set(struct seula_ini *ini, const char *section, const char *key,
                  const char *value)
{
	/* Drop what the file said for this key, continuations included. */
	size_t w = 0;
	for (size_t i = 0; i < ini->n; i++) {
		struct seula_ini_entry *e = &ini->entries[i];
		if (strcmp(e->section, section) == 0 &&
		    strcmp(e->key, key) == 0) {
			free(e->section);
			free(e->key);
			free(e->value);
			continue;
		}
		ini->entries[w++] = *e;
	}
	ini->n = w;
	return ini_push(ini, section, key, value, 0, false);
}

/* ---- values ----------------------------------------------------------- */

static bool parse_bool(const char *v, int *out)
{
	static const char *const yes[] = {"true", "yes", "on", "1"};
	static const char *const no[] = {"false", "no", "off", "0"};
	for (size_t i = 0; i < 4; i++) {
		if (strcasecmp(v, yes[i]) == 0)
			return *out = 1, true;
		if (strcasecmp(v, no[i]) == 0)
			return *out = 0, true;
	}
	return false;
}

static bool parse_int(const char *v, int64_t *out)
{
	if (*v == '\0')
		return false;
	errno = 0;
	char *end;
	long long x = strtoll(v, &end, 10);
	if (errno || *end != '\0')
		return false;
	*out = x;
	return true;
}

int seula_parse_duration(const char *text, int64_t *seconds)
{
	if (!text || *text < '0' || *text > '9')
		return SEULA_EINVAL;
	errno = 0;
	char *end;
	long long x = strtoll(text, &end, 10);
	if (errno || x < 0)
		return SEULA_EINVAL;
	int64_t mult = 1;
	if (*end) {
		if (end[1] != '\0')
			return SEULA_EINVAL;
		switch (*end) {
		case 's': mult = 1; break;
		case 'm': mult = 60; break;
		case 'h': mult = 3600; break;
		case 'd': mult = 86400; break;
		case 'w': mult = 7 * 86400; break;
		default: return SEULA_EINVAL;
		}
	}
	if (x > INT64_MAX / mult)
		return SEULA_EINVAL;
	*seconds = x * mult;
	return SEULA_OK;
}

/* Split a comma list into `items`, appending to what is there. */
static int list_append(struct seula_arena *mem, const char *const **list,
                       const char *value, char *why, size_t whylen)
{
	size_t have = 0;
	if (*list)
		while ((*list)[have])
			have++;
	size_t add = 0;
	for (const char *p = value; *p; p++)
		if (*p == ',')
			add++;
	add++;
	const char **items =
	        seula_arena_alloc(mem, (have + add + 1) * sizeof(*items));
	if (!items)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < have; i++)
		items[i] = (*list)[i];
	size_t n = have;
	const char *p = value;
	for (;;) {
		const char *comma = strchr(p, ',');
		const char *end = comma ? comma : p + strlen(p);
		const char *s = p, *e = end;
		while (s < e && (*s == ' ' || *s == '\t'))
			s++;
		while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
			e--;
		if (s == e) {
			/* A blank value is an empty list; "a, b," may end a
			 * line whose list goes on below. */
			if (!comma && (p == value || n > have))
				break;
			snprintf(why, whylen, "empty item in list");
			return SEULA_EINVAL;
		}
		items[n] = seula_arena_strndup(mem, s, (size_t)(e - s));
		if (!items[n])
			return SEULA_ENOMEM;
		n++;
		if (!comma)
			break;
		p = comma + 1;
	}
	items[n] = NULL;
	*list = items;
	return SEULA_OK;
}

/* Values end up in pages and JSON, which hold only text; a path is the
 * file system's bytes. */
static bool text_ok(const struct seula_config_row *row, const char *value)
{
	return (row->flags & SEULA_CONFIG_PATH) ||
	       seula_text_valid(value, strlen(value));
}

static int apply_value(struct seula_arena *mem,
                       const struct seula_config_row *row, void *target,
                       const char *value, bool append, char *why, size_t whylen)
{
	char *field = (char *)target + row->offset;
	int64_t x;
	int b;
	switch (row->type) {
	case SEULA_CONFIG_BOOL:
		if (!parse_bool(value, &b)) {
			snprintf(why, whylen,
			         "'%s' is not a boolean (true or false)",
			         value);
			return SEULA_EINVAL;
		}
		memcpy(field, &b, sizeof(b));
		return SEULA_OK;
	case SEULA_CONFIG_INT:
	case SEULA_CONFIG_DURATION:
		if (row->type == SEULA_CONFIG_INT
		            ? !parse_int(value, &x)
		            : seula_parse_duration(value, &x) != SEULA_OK) {
			snprintf(why, whylen,
			         row->type == SEULA_CONFIG_INT
			                 ? "'%s' is not an integer"
			                 : "'%s' is not a duration (e.g. 30s, "
			                   "15m, 12h, 30d)",
			         value);
			return SEULA_EINVAL;
		}
		if (x < row->min || x > row->max) {
			snprintf(why, whylen,
			         "%s is out of range (%lld to %lld%s)", value,
			         (long long)row->min, (long long)row->max,
			         row->type == SEULA_CONFIG_DURATION ? " seconds"
			                                            : "");
			return SEULA_EINVAL;
		}
		memcpy(field, &x, sizeof(x));
		return SEULA_OK;
	case SEULA_CONFIG_STRING: {
		size_t len = strlen(value);
		if (!text_ok(row, value)) {
			snprintf(why, whylen,
			         "the value is not UTF-8 text, or has a "
			         "control character");
			return SEULA_EINVAL;
		}
		if ((int64_t)len < row->min ||
		    (row->max && (int64_t)len > row->max)) {
			snprintf(why, whylen,
			         "length %zu is out of range (%lld to %lld)",
			         len, (long long)row->min, (long long)row->max);
			return SEULA_EINVAL;
		}
		char *s = seula_arena_strdup(mem, value);
		if (!s)
			return SEULA_ENOMEM;
		memcpy(field, &s, sizeof(s));
		return SEULA_OK;
	}
	case SEULA_CONFIG_ENUM:
		for (int i = 0; row->choices && row->choices[i]; i++) {
			if (strcmp(row->choices[i], value) == 0) {
				memcpy(field, &i, sizeof(i));
				return SEULA_OK;
			}
		}
		{
			size_t off = (size_t)snprintf(
			        why, whylen, "'%s' is not one of:", value);
			for (int i = 0;
			     row->choices && row->choices[i] && off < whylen;
			     i++)
				off += (size_t)snprintf(why + off, whylen - off,
				                        " %s", row->choices[i]);
		}
		return SEULA_EINVAL;
	case SEULA_CONFIG_LIST: {
		if (!text_ok(row, value)) {
			snprintf(why, whylen,
			         "the value is not UTF-8 text, or has a "
			         "control character");
			return SEULA_EINVAL;
		}
		const char *const *list;
		memcpy(&list, field, sizeof(list));
		if (!append)
			list = NULL;
		int rc = list_append(mem, &list, value, why, whylen);
		if (rc != SEULA_OK)
			return rc;
		memcpy(field, &list, sizeof(list));
		return SEULA_OK;
	}
	case SEULA_CONFIG_END: break;
	}
	snprintf(why, whylen, "row has an unknown type");
	return SEULA_EINVAL;
}

static const struct seula_config_row *
find_row(const struct seula_config_row *rows, const char *key)
{
	for (; rows->type != SEULA_CONFIG_END; rows++)
		if (strcmp(rows->key, key) == 0)
			return rows;
	return NULL;
}

static int apply_rows(struct seula_config *cfg, const char *section,
                      const struct seula_config_row *rows, size_t nrows,
                      bool *seen, void *target, char *err, size_t errlen);

void seula_config_claim(struct seula_config *cfg, const char *section)
{
	for (size_t i = 0; i < cfg->ini.n_sections; i++)
		if (strcmp(cfg->ini.sections[i].name, section) == 0)
			cfg->ini.sections[i].used = true;
}

int seula_config_apply(struct seula_config *cfg, const char *section,
                       const struct seula_config_row *rows, void *target,
                       char *err, size_t errlen)
{
	seula_config_claim(cfg, section);
	size_t nrows = 0;
	while (rows[nrows].type != SEULA_CONFIG_END)
		nrows++;
	bool *seen = calloc(nrows + 1, sizeof(*seen));
	if (!seen)
		return SEULA_ENOMEM;
	int rc = apply_rows(cfg, section, rows, nrows, seen, target, err,
	                    errlen);
	free(seen);
	return rc;
}

static int apply_rows(struct seula_config *cfg, const char *section,
                      const struct seula_config_row *rows, size_t nrows,
                      bool *seen, void *target, char *err, size_t errlen)
{
	char why[512], loc[600];

	for (size_t i = 0; i < nrows; i++) {
		if (!rows[i].default_value)
			continue;
		if (apply_value(&cfg->mem, &rows[i], target,
		                rows[i].default_value, false, why,
		                sizeof(why)) != SEULA_OK)
			return fail(err, errlen,
			            "[%s] %s: bad built-in default: %s",
			            section, rows[i].key, why);
	}

	const struct seula_config_row *last = NULL;
	for (size_t i = 0; i < cfg->ini.n; i++) {
		struct seula_ini_entry *e = &cfg->ini.entries[i];
		if (strcmp(e->section, section) != 0)
			continue;
		e->used = true;
		const struct seula_config_row *row = find_row(rows, e->key);
		where(&cfg->ini, e, loc, sizeof(loc));
		if (!row) {
			size_t off = (size_t)snprintf(why, sizeof(why),
			                              "known keys:");
			for (size_t k = 0; k < nrows && off < sizeof(why); k++)
				off += (size_t)snprintf(why + off,
				                        sizeof(why) - off,
				                        " %s", rows[k].key);
			return fail(err, errlen,
			            "%s: [%s] unknown key '%s' (%s)", loc,
			            section, e->key, why);
		}
		size_t idx = (size_t)(row - rows);
		bool append = false;
		if (seen[idx]) {
			if (e->continuation && row == last &&
			    row->type == SEULA_CONFIG_LIST)
				append = true;
			else if (e->continuation && row == last)
				return fail(
				        err, errlen,
				        "%s: [%s] %s: only lists continue on "
				        "the next line",
				        loc, section, e->key);
			else
				return fail(err, errlen,
				            "%s: [%s] %s is set twice", loc,
				            section, e->key);
		}
		seen[idx] = true;
		last = row;
		int rc = apply_value(&cfg->mem, row, target, e->value, append,
		                     why, sizeof(why));
		if (rc == SEULA_ENOMEM)
			return rc;
		if (rc != SEULA_OK)
			return fail(err, errlen, "%s: [%s] %s: %s", loc,
			            section, e->key, why);
	}

	for (size_t i = 0; i < nrows; i++)
		if (!seen[i] && (rows[i].flags & SEULA_CONFIG_REQUIRED))
			return fail(err, errlen,
			            "%s: [%s] is missing the required key '%s' "
			            "(%s)",
			            cfg->ini.path, section, rows[i].key,
			            rows[i].help);
	return SEULA_OK;
}

static int unknown_section(const char *loc, const char *section, char *err,
                           size_t errlen)
{
	if (strncmp(section, "plugin.", 7) == 0)
		return fail(err, errlen,
		            "%s: [%s] configures a plugin that is not loaded "
		            "(add '%s' to [plugins] load, or remove the "
		            "section)",
		            loc, section, section + 7);
	return fail(err, errlen,
	            "%s: unknown section [%s] (known: server, limits, auth, "
	            "plugins, consent, controller, privacy, site.ID, "
	            "plugin.NAME)",
	            loc, section);
}

int seula_config_check_unused(struct seula_config *cfg, char *err,
                              size_t errlen)
{
	char loc[600];
	for (size_t i = 0; i < cfg->ini.n; i++) {
		const struct seula_ini_entry *e = &cfg->ini.entries[i];
		if (!e->used)
			return unknown_section(
			        where(&cfg->ini, e, loc, sizeof(loc)),
			        e->section, err, errlen);
	}
	for (size_t i = 0; i < cfg->ini.n_sections; i++) {
		const struct seula_ini_section *s = &cfg->ini.sections[i];
		if (s->used)
			continue;
		snprintf(loc, sizeof(loc), "%s:%d", cfg->ini.path, s->line);
		return unknown_section(loc, s->name, err, errlen);
	}
	return SEULA_OK;
}

/* ---- the core config -------------------------------------------------- */

bool seula_config_name_valid(const char *s, bool dash)
{
	size_t n = strlen(s);
	if (n == 0 || n > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= '0' && *s <= '9') ||
		      *s == '_' || (dash && *s == '-')))
			return false;
	return true;
}

static bool valid_domain(const char *d)
{
	if (strncmp(d, "*.", 2) == 0)
		d += 2;
	size_t n = strlen(d);
	if (n == 0 || n > 253)
		return false;
	for (; *d; d++)
		if (!((*d >= 'a' && *d <= 'z') || (*d >= '0' && *d <= '9') ||
		      *d == '-' || *d == '.' || *d == ':' || *d == '[' ||
		      *d == ']'))
			return false;
	return true;
}

static int load_sites(struct seula_config *cfg, char *err, size_t errlen)
{
	size_t n = 0;
	char loc[600];
	int rc = SEULA_OK;
	/* Each distinct [site.ID] section, in file order. */
	const char **ids =
	        calloc(cfg->ini.n + cfg->ini.n_sections + 1, sizeof(*ids));
	if (!ids)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < cfg->ini.n; i++) {
		const struct seula_ini_entry *e = &cfg->ini.entries[i];
		if (strncmp(e->section, "site.", 5) != 0)
			continue;
		bool dup = false;
		for (size_t k = 0; k < n; k++)
			if (strcmp(ids[k], e->section) == 0)
				dup = true;
		if (dup)
			continue;
		if (!seula_config_name_valid(e->section + 5, true)) {
			rc = fail(err, errlen,
			          "%s: [%s]: a site id is 1-64 characters of "
			          "a-z, 0-9, _ and -",
			          where(&cfg->ini, e, loc, sizeof(loc)),
			          e->section);
			goto out;
		}
		ids[n++] = e->section;
	}
	/* An empty [site.ID] is a site without its required keys. */
	for (size_t i = 0; i < cfg->ini.n_sections; i++) {
		const struct seula_ini_section *s = &cfg->ini.sections[i];
		bool skip = strncmp(s->name, "site.", 5) != 0;
		for (size_t k = 0; k < n && !skip; k++)
			skip = strcmp(ids[k], s->name) == 0;
		if (skip)
			continue;
		if (!seula_config_name_valid(s->name + 5, true)) {
			rc = fail(
			        err, errlen,
			        "%s:%d: [%s]: a site id is 1-64 characters of "
			        "a-z, 0-9, _ and -",
			        cfg->ini.path, s->line, s->name);
			goto out;
		}
		ids[n++] = s->name;
	}
	cfg->sites =
	        seula_arena_alloc(&cfg->mem, (n ? n : 1) * sizeof(*cfg->sites));
	if (!cfg->sites) {
		rc = SEULA_ENOMEM;
		goto out;
	}
	for (size_t k = 0; k < n; k++) {
		struct seula_site *site = &cfg->sites[k];
		rc = seula_config_apply(cfg, ids[k], seula_config_site_rows,
		                        site, err, errlen);
		if (rc != SEULA_OK)
			goto out;
		site->id = seula_arena_strdup(&cfg->mem, ids[k] + 5);
		if (!site->id) {
			rc = SEULA_ENOMEM;
			goto out;
		}
		for (size_t d = 0; site->domains && site->domains[d]; d++) {
			if (!valid_domain(site->domains[d])) {
				rc = fail(err, errlen,
				          "%s: [%s] domains: '%s' is not a "
				          "lower-case host name",
				          cfg->ini.path, ids[k],
				          site->domains[d]);
				goto out;
			}
		}
		if (!site->domains || !site->domains[0]) {
			rc = fail(err, errlen,
			          "%s: [%s] domains: give at least one",
			          cfg->ini.path, ids[k]);
			goto out;
		}
		struct seula_zone z;
		if (site->timezone && *site->timezone) {
			if (!seula_zone_open(&z, site->timezone)) {
				rc = fail(err, errlen,
				          "%s: [%s] timezone: '%s' is not an "
				          "IANA time zone",
				          cfg->ini.path, ids[k],
				          site->timezone);
				goto out;
			}
			seula_zone_close(&z);
		}
	}
	cfg->n_sites = n;
out:
	free(ids);
	return rc;
}

/* A list key of CIDR ranges into *out (in the config's arena). */
static int parse_cidrs(struct seula_config *cfg, const char *const *list,
                       const char *key, struct seula_cidr **out, size_t *n_out,
                       char *err, size_t errlen)
{
	size_t n = 0;
	while (list && list[n])
		n++;
	*out = seula_arena_alloc(&cfg->mem, (n ? n : 1) * sizeof(**out));
	if (!*out)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++)
		if (seula_cidr_parse(list[i], &(*out)[i]) != SEULA_OK)
			return fail(
			        err, errlen,
			        "%s: %s: '%s' is not an address or CIDR range",
			        cfg->ini.path, key, list[i]);
	*n_out = n;
	return SEULA_OK;
}

static const struct seula_ini_entry *
find_entry(const struct seula_config *cfg, const char *section, const char *key)
{
	for (size_t i = 0; i < cfg->ini.n; i++)
		if (strcmp(cfg->ini.entries[i].section, section) == 0 &&
		    strcmp(cfg->ini.entries[i].key, key) == 0)
			return &cfg->ini.entries[i];
	return NULL;
}

/* "host:port" or "[v6]:port" with a numeric port; the host is checked when
 * the server binds. */
static bool listen_ok(const char *listen)
{
	const char *colon;
	if (listen[0] == '[') {
		const char *close = strchr(listen, ']');
		if (!close || close == listen + 1 || close[1] != ':')
			return false;
		colon = close + 1;
	} else {
		colon = strrchr(listen, ':');
		if (!colon || colon == listen ||
		    memchr(listen, ':', (size_t)(colon - listen)))
			return false;
	}
	const char *p = colon + 1;
	if (!*p || strlen(p) > 5)
		return false;
	for (; *p; p++)
		if (*p < '0' || *p > '9')
			return false;
	return atoi(colon + 1) <= 65535;
}

int seula_config_load(struct seula_config *cfg, const char *path,
                      const char *const *overrides, char *err, size_t errlen)
{
	memset(cfg, 0, sizeof(*cfg));
	seula_arena_init(&cfg->mem, 0);
	int rc;
	if (path) {
		rc = seula_ini_load(&cfg->ini, path, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	} else if (!(cfg->ini.path = strdup("(built-in defaults)"))) {
		return SEULA_ENOMEM;
	}
	for (size_t i = 0; overrides && overrides[i]; i++) {
		const char *o = overrides[i];
		const char *dot = strchr(o, '.');
		const char *eq = strchr(o, '=');
		/* The key is after the last dot before '=' so that
		 * "plugin.anonymize.level=3" works. */
		const char *kdot = NULL;
		for (const char *p = o; eq && p < eq; p++)
			if (*p == '.')
				kdot = p;
		if (!dot || !eq || !kdot || kdot > eq)
			return fail(err, errlen,
			            "override '%s' is not section.key=value",
			            o);
		char *section = strndup(o, (size_t)(kdot - o));
		char *key = strndup(kdot + 1, (size_t)(eq - kdot - 1));
		rc = section && key
		             ? seula_ini_set(&cfg->ini, section, key, eq + 1)
		             : SEULA_ENOMEM;
		free(section);
		free(key);
		if (rc != SEULA_OK)
			return rc;
	}
	if ((rc = seula_config_apply(cfg, "server", seula_config_server_rows,
	                             cfg, err, errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "limits", seula_config_limits_rows,
	                             cfg, err, errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "auth", seula_config_auth_rows, cfg,
	                             err, errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "plugins", seula_config_plugins_rows,
	                             cfg, err, errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "consent", seula_config_consent_rows,
	                             cfg, err, errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "controller",
	                             seula_config_controller_rows, cfg, err,
	                             errlen)) != SEULA_OK ||
	    (rc = seula_config_apply(cfg, "privacy", seula_config_privacy_rows,
	                             cfg, err, errlen)) != SEULA_OK ||
	    (rc = load_sites(cfg, err, errlen)) != SEULA_OK ||
	    (rc = parse_cidrs(cfg, cfg->trusted_proxies,
	                      "[server] trusted_proxies", &cfg->trusted,
	                      &cfg->n_trusted, err, errlen)) != SEULA_OK ||
	    (rc = parse_cidrs(cfg, cfg->staff_networks, "[auth] staff_networks",
	                      &cfg->staff_nets, &cfg->n_staff_nets, err,
	                      errlen)) != SEULA_OK)
		return rc;
	if (!cfg->secret_file) {
		/* Beside the database: one folder holds the server's state. */
		const char *slash = strrchr(cfg->db, '/');
		size_t dl = slash ? (size_t)(slash - cfg->db) + 1 : 0;
		char *key =
		        seula_arena_alloc(&cfg->mem, dl + sizeof("seula.key"));
		if (!key)
			return SEULA_ENOMEM;
		memcpy(key, cfg->db, dl);
		memcpy(key + dl, "seula.key", sizeof("seula.key"));
		cfg->secret_file = key;
	}
	if (!listen_ok(cfg->listen)) {
		char loc[600] = "";
		const struct seula_ini_entry *e =
		        find_entry(cfg, "server", "listen");
		if (e)
			where(&cfg->ini, e, loc, sizeof(loc));
		else
			snprintf(loc, sizeof(loc), "%s", cfg->ini.path);
		return fail(err, errlen,
		            "%s: [server] listen: '%s' is not address:port "
		            "(e.g. 127.0.0.1:8080 or [::1]:8080)",
		            loc, cfg->listen);
	}
	if (cfg->batch_max_events > cfg->queue_capacity)
		return fail(err, errlen,
		            "%s: [limits] batch_max_events (%lld) is larger "
		            "than queue_capacity (%lld)",
		            cfg->ini.path, (long long)cfg->batch_max_events,
		            (long long)cfg->queue_capacity);
	if (cfg->max_events_per_request > cfg->queue_capacity)
		return fail(err, errlen,
		            "%s: [limits] max_events_per_request is larger "
		            "than queue_capacity",
		            cfg->ini.path);
	/* A consent must be provable for as long as it grants (GDPR art.
	 * 7(1)): its record may not be deleted before it lapses. */
	for (size_t i = 0; i < cfg->n_sites; i++) {
		const struct seula_site *site = &cfg->sites[i];
		if (site->consent_period_s <= cfg->consent_retention_s)
			continue;
		char section[80], loc[600];
		snprintf(section, sizeof(section), "site.%s", site->id);
		const struct seula_ini_entry *e =
		        find_entry(cfg, section, "consent_period");
		if (!e)
			e = find_entry(cfg, "consent", "record_retention");
		return fail(err, errlen,
		            "%s: [site.%s] consent_period (%lld days) is "
		            "longer than [consent] record_retention (%lld "
		            "days): a consent's record must be kept for as "
		            "long as the consent lasts",
		            e ? where(&cfg->ini, e, loc, sizeof(loc))
		              : cfg->ini.path,
		            site->id,
		            (long long)(site->consent_period_s / 86400),
		            (long long)(cfg->consent_retention_s / 86400));
	}
	for (size_t i = 0; cfg->plugins && cfg->plugins[i]; i++)
		for (size_t k = 0; k < i; k++)
			if (strcmp(cfg->plugins[i], cfg->plugins[k]) == 0)
				return fail(
				        err, errlen,
				        "%s: [plugins] load lists '%s' twice",
				        cfg->ini.path, cfg->plugins[i]);
	return SEULA_OK;
}

void seula_config_free(struct seula_config *cfg)
{
	if (!cfg)
		return;
	seula_ini_free(&cfg->ini);
	seula_arena_free(&cfg->mem);
}

const struct seula_site *seula_config_site(const struct seula_config *cfg,
                                           const char *id)
{
	for (size_t i = 0; i < cfg->n_sites; i++)
		if (strcmp(cfg->sites[i].id, id) == 0)
			return &cfg->sites[i];
	return NULL;
}

bool seula_site_allows_host(const struct seula_site *site, const char *host,
                            size_t len)
{
	for (size_t i = 0; site->domains[i]; i++) {
		const char *d = site->domains[i];
		if (strncmp(d, "*.", 2) == 0) {
			size_t dl = strlen(d + 1); /* ".example.com" */
			if (len > dl &&
			    strncasecmp(host + len - dl, d + 1, dl) == 0)
				return true;
			if (len == dl - 1 && strncasecmp(host, d + 2, len) == 0)
				return true;
		} else if (strlen(d) == len && strncasecmp(host, d, len) == 0) {
			return true;
		}
	}
	return false;
}

void seula_config_print_help(const char *section,
                             const struct seula_config_row *rows)
{
	static const char *const types[] = {"",     "bool",     "int", "string",
	                                    "enum", "duration", "list"};
	printf("[%s]\n", section);
	for (; rows->type != SEULA_CONFIG_END; rows++) {
		printf("  %-24s %-8s ", rows->key, types[rows->type]);
		if (rows->flags & SEULA_CONFIG_REQUIRED)
			printf("(required) ");
		else if (rows->default_value &&
		         !(rows->flags & SEULA_CONFIG_SENSITIVE))
			printf("(default \"%s\") ", rows->default_value);
		if (rows->type == SEULA_CONFIG_INT ||
		    rows->type == SEULA_CONFIG_DURATION)
			printf("[%lld..%lld] ", (long long)rows->min,
			       (long long)rows->max);
		if (rows->type == SEULA_CONFIG_ENUM) {
			printf("{");
			for (int i = 0; rows->choices[i]; i++)
				printf("%s%s", i ? "|" : "", rows->choices[i]);
			printf("} ");
		}
		printf("%s\n", rows->help ? rows->help : "");
	}
}

const char *seula_config_default_path(void)
{
	const char *env = getenv("SEULA_CONFIG");
	if (env && *env)
		return env;
	/* There but not readable: named, so that loading says why. */
	static const char etc[] = "/etc/seula/seula.ini";
	return access(etc, F_OK) == 0 ? etc : NULL;
}
