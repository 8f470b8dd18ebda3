/*
 * seula/plugin.h - the Seula plugin ABI, and the plugin author's manual.
 *
 * A plugin is a shared object that exports one symbol, SEULA_PLUGIN_SYMBOL,
 * a `const struct seula_plugin` describing what it does.  The host loads it
 * with dlopen(RTLD_NOW | RTLD_LOCAL) at start, in the order the config lists
 * plugins, checks the ABI version and size, parses the plugin's config
 * section into a struct the plugin describes with rows, applies the plugin's
 * migrations and calls init.  Everything the plugin needs from the host comes
 * through `struct seula_host`, a table of functions handed to init; a plugin
 * never calls into the core directly (plugins are linked -Wl,--no-undefined).
 *
 * This is the only header a plugin includes.  It compiles alone at
 * -std=c17 -pedantic.
 *
 * Versioning (after varnish's vrt.h): the host accepts a plugin when the
 * majors match and the plugin's minor is not newer than the host's.  Both
 * structs start with major, minor and size and are only ever appended to; a
 * field a plugin's older header did not know reads as NULL/0 in the host.
 *
 * ABI changelog
 *   1.0 (2026-11-25)  first version: descriptor, config rows, migrations,
 *                     on_event, on_batch, routes, tasks, host table.
 *   1.1 (2026-11-25)  seula_plugin.reload (SIGHUP).
 *   1.2 (2026-11-25)  seula_host.http_user, http_role, http_audit: who is
 *                     calling a route, and what of whose data it touched.
 *   1.3 (2026-11-29)  data subject rights: seula_plugin.subject (access,
 *                     erasure, anonymisation of one person's data),
 *                     seula_host.subject_run (every plugin's and the
 *                     core's, in one transaction) and http_truncate_wal.
 *   1.4 (2026-11-29)  seula_host.site_known: whether a site is configured,
 *                     so a route can answer 404 for one that is not;
 *                     SEULA_TASK_MORE, a task run that has more to do.
 *   1.5 (2026-11-30)  SEULA_FIELD_IDENTITY: a pseudonym that passes from
 *                     on_event to on_batch without being stored (the
 *                     customers plugin carried it in props, where the
 *                     analytics plugin kept it).
 *   1.6 (2026-11-30)  seula_host.privacy_get: the config's [privacy]
 *                     declarations (the sources of personal data, the
 *                     supervisory authority), for what a plugin stores or
 *                     tells a person to match the privacy statement.
 *   1.7 (2026-12-01)  seula_host.site_has_host: whether a host name is one
 *                     of a site's domains, so a referrer from another of
 *                     them is internal; seula_host.site_timezone: the
 *                     zone of a site's reports.
 *   1.8 (2026-12-01)  seula_host.ip_mask: one masking of addresses at
 *                     Matomo's levels for every plugin, that also masks
 *                     the IPv4 address inside a 6to4 one;
 *                     seula_host.event_objects_to_marketing: the request's
 *                     Sec-GPC, and DNT where the site counts it.
 *   1.9 (2026-12-02)  SEULA_TASK_SERVE_ONLY: a task the tools that open the
 *                     store for a job of their own (import-log) leave to
 *                     the server, such as a retention that deletes.
 *   1.10 (2026-12-02) seula_host.site_id: the configured sites one by one,
 *                     so a site is listed before its first visit.
 *   1.11 (2026-12-04) seula_host.audit_visitor: how the audit log names a
 *                     visitor id, so a request about a visitor who is not
 *                     a customer is logged without the id itself.
 *   1.12 (2026-12-04) seula_host.http_api_key: whether a staff request
 *                     came by a personal API key, which reads aggregates
 *                     only (a route under /api/stats/ is open to keys).
 *
 * A plugin built for a newer minor than the host's is refused; a plugin that
 * wants to run on older hosts checks host->abi_minor before calling a host
 * function added later.
 *
 * Threads: every hook says which thread calls it.  "loop" hooks run on an
 * event-loop thread and must never block (no disk, no network); with
 * `workers` > 1 they run concurrently on several loop threads, so instance
 * data must be read-only after init or guarded.  "writer" hooks run on the
 * single writer thread inside its open write transaction.  "reader" hooks run
 * on a reader thread with a read-only connection.
 *
 * Ownership: arguments passed to hooks are borrowed for the duration of the
 * call.  Strings set through the host are copied by the host.  Memory a
 * plugin returns to the host (error messages) must come from host->mprintf;
 * the host frees it.  Config values are owned by the host and live until
 * after shutdown.
 *
 * Errors: functions return SEULA_OK (0) or a negative SEULA_E* code.
 */
#ifndef SEULA_PLUGIN_H
#define SEULA_PLUGIN_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SEULA_ABI_MAJOR 1
#define SEULA_ABI_MINOR 12

/* The one symbol a plugin exports. */
#define SEULA_PLUGIN_SYMBOL "seula_plugin"

#if defined(__GNUC__)
#define SEULA_PLUGIN_EXPORT __attribute__((visibility("default")))
#define SEULA_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
#else
#define SEULA_PLUGIN_EXPORT
#define SEULA_PRINTF(fmt, args)
#endif

/* Error codes. */
enum seula_error {
	SEULA_OK = 0,
	SEULA_EINVAL = -1,    /* bad argument, bad input, bad config value */
	SEULA_ENOMEM = -2,    /* allocation failed */
	SEULA_EIO = -3,       /* disk or database failure */
	SEULA_ENOTFOUND = -4, /* no such thing */
	SEULA_EABI = -5,      /* ABI mismatch */
	SEULA_EBUSY = -6,     /* try again later (queue full) */
	SEULA_ECONFLICT = -7, /* state forbids it */
	SEULA_ETOOBIG = -8,   /* over a configured limit */
	SEULA_ETYPE = -9,     /* field of another type */
};

/* SQLite's connection type; plugins that use it include <sqlite3.h> and link
 * libsqlite3 themselves. */
struct sqlite3;

/* ------------------------------------------------------------------------
 * Events
 *
 * One `struct seula_event` per hit, opaque; fields are read and written
 * through the host table.  String fields are NUL-terminated UTF-8, already
 * validated; NULL means absent.
 */
struct seula_event;

enum seula_event_type {
	SEULA_EVENT_PAGEVIEW = 1,
	SEULA_EVENT_CUSTOM = 2,     /* "event": a named custom event */
	SEULA_EVENT_ENGAGEMENT = 3, /* time on page, sent when the page hides */
};

/* Field identifiers; append only.  (S) string, (I) integer. */
enum seula_field {
	SEULA_FIELD_SITE = 0,     /* (S) site id, always set */
	SEULA_FIELD_URL = 1,      /* (S) page URL without fragment, as kept */
	SEULA_FIELD_HOSTNAME = 2, /* (S) host of the URL, lower case */
	SEULA_FIELD_PATH = 3,     /* (S) path of the URL, starts with "/" */
	SEULA_FIELD_REFERRER = 4, /* (S) referrer URL without query */
	SEULA_FIELD_TITLE = 5,    /* (S) document title */
	SEULA_FIELD_LANGUAGE = 6, /* (S) BCP 47 tag from the browser */
	SEULA_FIELD_NAME = 7,     /* (S) custom event name */
	SEULA_FIELD_PROPS = 8,    /* (S) custom event properties, JSON object */
	SEULA_FIELD_VISITOR_ID = 9,    /* (S) UUID, only when consent allows */
	SEULA_FIELD_USER_AGENT = 10,   /* (S) User-Agent header; not stored */
	SEULA_FIELD_UTM_SOURCE = 11,   /* (S) */
	SEULA_FIELD_UTM_MEDIUM = 12,   /* (S) */
	SEULA_FIELD_UTM_CAMPAIGN = 13, /* (S) */
	SEULA_FIELD_UTM_TERM = 14,     /* (S) */
	SEULA_FIELD_UTM_CONTENT = 15,  /* (S) */
	SEULA_FIELD_IP_ANON = 16, /* (S) anonymised client IP, canonical text */
	SEULA_FIELD_COUNTRY = 17, /* (S) ISO 3166-1 alpha-2 */
	SEULA_FIELD_REGION = 18,  /* (S) ISO 3166-2 subdivision code */
	SEULA_FIELD_CITY = 19,    /* (S) city name */
	SEULA_FIELD_BROWSER = 20, /* (S) browser family */
	SEULA_FIELD_BROWSER_VERSION = 21, /* (S) browser major version */
	SEULA_FIELD_OS = 22,              /* (S) OS family */
	SEULA_FIELD_OS_VERSION = 23,      /* (S) OS version */
	SEULA_FIELD_DEVICE = 24, /* (S) desktop, mobile, tablet, bot, other */
	SEULA_FIELD_REFERRER_SOURCE = 25, /* (S) search, social, email, ... */
	SEULA_FIELD_REFERRER_NAME = 26,   /* (S) e.g. "Google" */
	SEULA_FIELD_SCREEN_WIDTH = 27,    /* (I) CSS pixels */
	SEULA_FIELD_SCREEN_HEIGHT = 28,   /* (I) CSS pixels */
	SEULA_FIELD_ENGAGEMENT_MS = 29,   /* (I) visible time on page */
	SEULA_FIELD_VISITOR_HASH = 30,    /* (I) cookieless visitor hash */
	SEULA_FIELD_BOT = 31,             /* (I) 1 when a bot or crawler */
	SEULA_FIELD_TIME_MS = 32, /* (I) server receive time, ms since epoch */
	SEULA_FIELD_TYPE = 33,    /* (I) enum seula_event_type, read only */
	/* (S) a pseudonym of the person the event names, from one plugin's
	 * on_event to its on_batch (the customers plugin's keyed hash of an
	 * identify event's address).  Never stored, and no other plugin's
	 * business: the events table and every table derived from events
	 * (the analytics plugin's) never see it.  ABI 1.5. */
	SEULA_FIELD_IDENTITY = 34,
	SEULA_FIELD_COUNT_ = 35 /* not a field: one past the last */
};

/* An IP address in network byte order.  IPv4 lives in the first 4 bytes. */
struct seula_ip {
	uint8_t family; /* 4 or 6 */
	uint8_t bytes[16];
};

/* What on_event decides. */
enum seula_verdict {
	SEULA_KEEP = 0,  /* pass the event on */
	SEULA_DROP = 1,  /* silently discard it (it is still acknowledged) */
	SEULA_ERROR = 2, /* the plugin failed; the request answers 500 */
};

/* The pipeline stage a plugin's on_event joins.  Stages run in this order and
 * the config must list plugins in stage order: the host refuses a config that
 * lists an enrich plugin after a protect plugin, since the full IP is gone by
 * then. */
enum seula_stage {
	SEULA_STAGE_ENRICH = 1,  /* sees the full IP and headers */
	SEULA_STAGE_PROTECT = 2, /* anonymises; the full IP is wiped after it */
	SEULA_STAGE_FILTER = 3,  /* sees only what may be stored */
};

/* ------------------------------------------------------------------------
 * Config rows (after fluent-bit's config map): the plugin describes its
 * config struct, the host parses the plugin's [plugin.NAME] section into it,
 * rejects unknown keys and out-of-range values with file, line and key, and
 * generates `seula help plugin NAME` from the rows.
 */
enum seula_config_type {
	SEULA_CONFIG_END = 0, /* terminates the row array */
	SEULA_CONFIG_BOOL,   /* int field: 0 or 1; "true|false|yes|no|on|off" */
	SEULA_CONFIG_INT,    /* int64_t field, within [min, max] */
	SEULA_CONFIG_STRING, /* const char * field, length within [min, max] */
	SEULA_CONFIG_ENUM,   /* int field: index into choices */
	SEULA_CONFIG_DURATION, /* int64_t field, seconds; "90s", "15m", "12h",
	                          "30d" */
	SEULA_CONFIG_LIST,     /* const char *const * field, NULL-terminated;
	                        * comma separated, continuation lines append */
};

enum seula_config_flags {
	SEULA_CONFIG_REQUIRED = 1 << 0,  /* no default; must be in the file */
	SEULA_CONFIG_SENSITIVE = 1 << 1, /* never logged or printed */
	SEULA_CONFIG_PATH = 1 << 2,      /* a file path; relative to the working
	                                  * directory the server starts in */
};

struct seula_config_row {
	enum seula_config_type type;
	const char *key;
	const char
	        *default_value; /* text, parsed like a file value; NULL: none */
	int64_t min;            /* INT/DURATION: bounds; STRING: length */
	int64_t max;
	size_t offset; /* offsetof() into the plugin's config struct */
	unsigned flags;
	const char *const *choices; /* ENUM: NULL-terminated names */
	const char *help;           /* one line, shown by `seula help` */
};

/* ------------------------------------------------------------------------
 * Migrations: a plugin's own schema, applied in version order by the host,
 * each in its own transaction, recorded per plugin.  Versions start at 1 and
 * never change once released; only append.
 */
struct seula_migration {
	int version;
	const char *sql; /* one or more statements */
};

/* ------------------------------------------------------------------------
 * HTTP routes.  A plugin's handler runs on the thread the route asks for; the
 * host copies the request first, so handlers never touch the event loop.
 * A route must declare the roles allowed (a bitmask); a route with roles == 0
 * is refused at start so nothing is open by accident.  A staff request must
 * carry the session's X-CSRF-Token header (403 csrf_failed, audited, before
 * the handler runs) when its method is not GET or the route is
 * SEULA_ON_WRITER; a GET on a reader or the loop needs none.
 */
struct seula_http; /* opaque request+response */

enum seula_method {
	SEULA_METHOD_GET = 1 << 0,
	SEULA_METHOD_POST = 1 << 1,
	SEULA_METHOD_PUT = 1 << 2,
	SEULA_METHOD_PATCH = 1 << 3,
	SEULA_METHOD_DELETE = 1 << 4,
};

enum seula_role {
	SEULA_ROLE_PUBLIC = 1 << 0, /* anyone, no login */
	SEULA_ROLE_ADMIN = 1 << 1,
	SEULA_ROLE_ANALYST = 1 << 2,
	SEULA_ROLE_CUSTOMER_SERVICE = 1 << 3,
	SEULA_ROLE_FINANCE = 1 << 4,
};

enum seula_route_thread {
	SEULA_ON_LOOP = 1,   /* quick, in memory; no disk */
	SEULA_ON_READER = 2, /* host->http_db() is a read-only connection */
	SEULA_ON_WRITER = 3, /* host->http_db() is inside the write transaction;
	                      * the reply is sent after the commit; a staff
	                      * GET here needs the CSRF token (see above) */
};

struct seula_route {
	unsigned methods; /* enum seula_method bits */
	/* Path pattern: literal segments and {name} segments, e.g.
	 * "/api/stats/{site}/summary".  No two routes may overlap. */
	const char *path;
	unsigned roles; /* enum seula_role bits; 0 is refused */
	enum seula_route_thread thread;
	/* Returns SEULA_OK after setting a reply, or an error code; on error
	 * without a reply the host answers 500 (in a write route, the
	 * handler's changes are rolled back). */
	int (*handler)(void *instance, struct seula_http *http);
	const char *help;
};

/* ------------------------------------------------------------------------
 * Periodic tasks: run on the writer thread, each call inside its own write
 * transaction (rolled back when it returns an error).  SEULA_TASK_AT_START
 * runs happen on the main thread before the writer starts; a task never
 * runs twice at once.
 */
enum seula_task_flags {
	SEULA_TASK_AT_START =
	        1 << 0, /* also run once before the server listens */
	/* After a run that changed rows, checkpoint and truncate the WAL, so
	 * erased data does not linger in old WAL frames. */
	SEULA_TASK_TRUNCATE_WAL = 1 << 1,
	/* 1.9: only in `seula serve`: an import of a log, say, does not
	 * delete the register's rows past their retention on the side (hosts
	 * before 1.9 run it there too). */
	SEULA_TASK_SERVE_ONLY = 1 << 2,
};

/* A run's answer besides SEULA_OK and errors (1.4): it did part of its
 * work, which commits, and has more to do; it runs again as soon as the
 * batches queued meanwhile are committed, not after interval_s.  So a
 * backlog is worked off in short transactions, between the collect path's
 * commits.  A host older than 1.4 takes it for a failure and rolls it
 * back: check host->abi_minor.  From a plugin built before 1.4, a 1 is a
 * failure too. */
#define SEULA_TASK_MORE 1

struct seula_task {
	const char *name;
	int64_t interval_s;
	unsigned flags;
	/* SEULA_OK, SEULA_TASK_MORE or a negative SEULA_E* code (the run
	 * is rolled back, *errmsg says why). */
	int (*run)(void *instance, struct sqlite3 *db, int64_t now_ms,
	           char **errmsg);
};

/* ------------------------------------------------------------------------
 * Data subject rights (1.3).  One person's data, wherever it is: each plugin
 * that keeps personal data answers for its own tables through its `subject`
 * hook, the core for its own (raw events, consent records, the audit log),
 * and host->subject_run calls them all inside one write transaction, so a
 * person is exported or erased everywhere or nowhere.
 */
enum seula_subject_op {
	/* Export: *json_out is a JSON object (text) of what the plugin holds
	 * about the person: each member an array of flat objects, one per
	 * row, named after the table or what it holds ("visits": [{...}]).
	 * Values are scalars; an object or array value is written to the
	 * CSV as JSON text.  Nothing changes. */
	SEULA_SUBJECT_ACCESS = 1,
	/* Erasure: delete everything about the person, so that nothing left
	 * refers to them; anonymous aggregates (counts, sketches) stay.  What
	 * a law requires to be kept (proof of consent, the audit log) is kept
	 * pseudonymised.  *json_out (optional): {"what": count, ...}. */
	SEULA_SUBJECT_ERASE = 2,
	/* Anonymisation, where erasure is not possible or not asked: remove
	 * what identifies the person or links their rows to each other, keep
	 * what statistics need.  *json_out as for ERASE. */
	SEULA_SUBJECT_ANONYMISE = 3,
};

/* Who the person is.  Borrowed for the call.  Starts with its size so it
 * can grow: a field past `size` is absent (the host always fills it). */
struct seula_subject {
	uint32_t size;       /* sizeof(struct seula_subject) of the caller */
	int64_t customer_id; /* the customer register's id; 0: not a customer */
	/* How the audit log names the person: the customer id in decimal,
	 * or for a visitor who is not a customer (customer_id 0) the audit
	 * log's name for their visitor id (audit_visitor); never NULL.
	 * After erasure it refers to no one. */
	const char *audit_subject;
	const char *email; /* NULL when unknown */
	/* The tracker visitor ids linked to the person (UUIDs). */
	const char *const *visitor_ids;
	size_t n_visitor_ids;
	int64_t now_ms; /* the request's time */
};

/* ------------------------------------------------------------------------
 * The host table.  Handed to init; valid until shutdown returns.
 */
enum seula_log_level {
	SEULA_LOG_ERROR = 0,
	SEULA_LOG_WARN = 1,
	SEULA_LOG_INFO = 2,
	SEULA_LOG_DEBUG = 3,
};

struct seula_host {
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size; /* sizeof(struct seula_host) in the host */

	/* Allocation for strings handed to the host (errmsg); freed by it. */
	char *(*mprintf)(const char *fmt, ...)SEULA_PRINTF(1, 2);

	/* Log a line tagged with the plugin's name.  Any thread. */
	void (*log)(const struct seula_host *host, enum seula_log_level level,
	            const char *fmt, ...) SEULA_PRINTF(3, 4);

	/* Wall clock, ms since the epoch; a fixed clock in unit tests. */
	int64_t (*now_ms)(const struct seula_host *host);
	/* Cryptographically secure random bytes; fixed in unit tests. */
	void (*random_bytes)(const struct seula_host *host, void *buf,
	                     size_t len);

	/* Event fields.  event_str returns NULL when absent or not a string
	 * field.  Setting copies `len` bytes (which must be valid UTF-8 without
	 * NUL); value NULL clears.  Returns SEULA_ETYPE for a field of the
	 * other type, SEULA_EINVAL for read-only fields or bad text. */
	const char *(*event_str)(const struct seula_event *ev,
	                         enum seula_field f);
	int (*event_set_str)(struct seula_event *ev, enum seula_field f,
	                     const char *value, size_t len);
	/* event_int stores the value in *out and returns SEULA_OK, or
	 * SEULA_ENOTFOUND when absent. */
	int (*event_int)(const struct seula_event *ev, enum seula_field f,
	                 int64_t *out);
	int (*event_set_int)(struct seula_event *ev, enum seula_field f,
	                     int64_t value);
	int (*event_clear)(struct seula_event *ev, enum seula_field f);

	/* The client's full IP: available in the enrich and protect stages
	 * only, NULL afterwards.  Never copy it anywhere that outlives the
	 * call. */
	const struct seula_ip *(*event_ip)(const struct seula_event *ev);
	/* Overwrite the full IP with zeroes; the host does this after the
	 * protect stage in any case. */
	void (*event_wipe_ip)(struct seula_event *ev);
	/* A request header captured with the event (User-Agent, Sec-CH-UA*,
	 * Sec-GPC, DNT, Accept-Language), NULL when absent. */
	const char *(*event_header)(const struct seula_event *ev,
	                            const char *name);

	/* Canonical text form of an address into buf (at least 46 bytes). */
	int (*ip_format)(const struct seula_ip *ip, char *buf, size_t len);
	/* Parse text into an address; SEULA_EINVAL when it is not one. */
	int (*ip_parse)(const char *text, struct seula_ip *out);

	/* HTTP routes: the request (borrowed for the handler call). */
	const char *(*http_method)(const struct seula_http *http);
	const char *(*http_path)(const struct seula_http *http);
	/* Value of a {name} path segment, URL-decoded. */
	const char *(*http_param)(const struct seula_http *http,
	                          const char *name);
	/* Value of a query parameter, URL-decoded; NULL when absent. */
	const char *(*http_query)(const struct seula_http *http,
	                          const char *key);
	const char *(*http_header)(const struct seula_http *http,
	                           const char *name);
	const void *(*http_body)(const struct seula_http *http, size_t *len);
	/* The route's database connection (reader or writer routes), else NULL.
	 */
	struct sqlite3 *(*http_db)(const struct seula_http *http);
	/* The reply.  Setting a body copies it.  http_error answers
	 * {"error": code, "message": message}. */
	int (*http_set_header)(struct seula_http *http, const char *name,
	                       const char *value);
	int (*http_reply)(struct seula_http *http, int status,
	                  const char *content_type, const void *body,
	                  size_t len);
	int (*http_error)(struct seula_http *http, int status, const char *code,
	                  const char *message);

	/* 1.2: the signed-in staff member calling a route (NULL and 0 on a
	 * public route), and the audit log.  Every staff request is audited
	 * by the host (who, when, from where, the route, the outcome from the
	 * reply); a handler that reads or changes a person's data says whose
	 * and what: action "read", "change", "export", "erase"..., subject
	 * the person's id (or a list's ids, comma-separated, up to 32 KiB:
	 * every one read), detail free text of up to 1 KiB (never the data
	 * itself); up to 8 entries a request.  The entries commit before the
	 * reply is sent, and none is sent when they cannot. */
	const char *(*http_user)(const struct seula_http *http);
	int (*http_role)(const struct seula_http *http); /* enum seula_role */
	int (*http_audit)(struct seula_http *http, const char *action,
	                  const char *subject, const char *detail);

	/* 1.3: run `op` for `who` in the core and in every loaded plugin with
	 * a subject hook (the caller's included), in config order, on `db`:
	 * the writer's connection inside its open transaction (a writer
	 * route's http_db() or a task's db; ACCESS also works on a reader's).
	 * *json_out (host->mprintf memory, the caller frees it with free())
	 * is one JSON object keyed by component: {"core": {...}, "NAME":
	 * {...}}, each what that hook returned.  The first failure stops the
	 * run with its error (*errmsg, host->mprintf memory, names the
	 * component); the caller then fails so the transaction rolls back:
	 * a person is never half erased.  Writer thread (reader for ACCESS). */
	int (*subject_run)(const struct seula_host *host, struct sqlite3 *db,
	                   enum seula_subject_op op,
	                   const struct seula_subject *who, char **json_out,
	                   char **errmsg);
	/* 1.3: after this writer route's transaction commits, and before its
	 * reply is sent, checkpoint the WAL and truncate it, so rows the route
	 * deleted do not linger in old WAL frames (what
	 * SEULA_TASK_TRUNCATE_WAL does for a task).  With secure_delete, which
	 * the host turns on for the writer, nothing of them stays on disk.
	 * SEULA_EINVAL outside a writer route. */
	int (*http_truncate_wal)(struct seula_http *http);
	/* 1.4: 1 when `site` is the ID of one of the config's [site.ID]
	 * sections, 0 when it is not; SEULA_EINVAL when this host has no
	 * config to ask (a unit test's).  Any thread. */
	int (*site_known)(const struct seula_host *host, const char *site);
	/* 1.6: value `i` of the config's [privacy] `key`: a list's i-th item
	 * ("sources", "purposes", "legal_bases", "data_categories",
	 * "disclosures", "processors", "transfers"), or with i = 0 a single
	 * value ("authority_name", "authority_address", "authority_email",
	 * "authority_phone", "authority_website").  NULL past the end, for
	 * another key, or when this host has no config (a unit test's).  The
	 * string lives as long as the host.  Any thread. */
	const char *(*privacy_get)(const struct seula_host *host,
	                           const char *key, size_t i);
	/* 1.7: 1 when `host` (`len` bytes, lower case, no port; an IPv6
	 * literal in brackets) is one of site `site`'s configured domains
	 * ("*.example.com" takes its subdomains), 0 when it is not or the
	 * site is not configured; SEULA_EINVAL when this host has no config
	 * (a unit test's).  Any thread. */
	int (*site_has_host)(const struct seula_host *host, const char *site,
	                     const char *name, size_t len);
	/* 1.7: site `site`'s configured `timezone` (an IANA name the config
	 * has checked), or NULL when it has none, is not configured, or this
	 * host has no config.  The string lives as long as the host.  Any
	 * thread. */
	const char *(*site_timezone)(const struct seula_host *host,
	                             const char *site);
	/* 1.8: mask `ip` in place at level 1-4, as Matomo does: IPv4 bytes
	 * zeroed 1-4, IPv6 bits kept 64, 48, 24, 0.  An IPv6 address that
	 * carries the client's IPv4 address (::ffff:a.b.c.d, 6to4's
	 * 2002:AABB:CCDD::) is masked as that address would be.  SEULA_EINVAL
	 * for another level or no address (`ip` unchanged).  Any thread. */
	int (*ip_mask)(struct seula_ip *ip, int level);
	/* 1.8: 1 when the request that brought `ev` objected to marketing
	 * (GDPR art. 21(5)): it carried Sec-GPC: 1, or DNT: 1 on a site whose
	 * `dnt` is `objection`; else 0.  As the consent banner takes them, so
	 * that no plugin acts on marketing consent the request withdrew.  A
	 * host without a config (a unit test's) reads Sec-GPC alone.  Any
	 * thread. */
	int (*event_objects_to_marketing)(const struct seula_host *host,
	                                  const struct seula_event *ev);
	/* 1.10: the ID of the config's i-th [site.ID] section, in the
	 * config's order; NULL past the last or when this host has no config
	 * (a unit test's).  The string lives as long as the host.  Any
	 * thread. */
	const char *(*site_id)(const struct seula_host *host, size_t i);
	/* 1.11: how the audit log names visitor id `vid` (a UUID): the
	 * keyed pseudonym the core writes for it ("visitor:" and 32 hex
	 * digits), into `out` (at least 48 bytes), so that an entry about
	 * a visitor keeps nothing their cookie holds after their erasure,
	 * and their access export finds it.  SEULA_EINVAL when `len` is too
	 * small or this host has no server key (a unit test's).  Any
	 * thread. */
	int (*audit_visitor)(const struct seula_host *host, const char *vid,
	                     char *out, size_t len);
	/* 1.12: the id of the API key a staff request came by, NULL when it
	 * came by a session (or is no staff request).  A key opens the GET
	 * routes under /api/stats/ and no other: such a route refuses a key
	 * (403 api_key_scope) what may be one person's data. */
	const char *(*http_api_key)(const struct seula_http *http);
};

/* ------------------------------------------------------------------------
 * The descriptor.  Declare it once, at the bottom of plugins/NAME/NAME.c:
 *
 *     SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
 *         SEULA_PLUGIN_HEADER,
 *         .name = "example",
 *         ...
 *     };
 *
 * Hooks are optional (NULL); a plugin declares what it does rather than
 * registering it, so `seula plugins` and /privacy can list it.
 */
#define SEULA_PLUGIN_HEADER                                                    \
	.abi_major = SEULA_ABI_MAJOR, .abi_minor = SEULA_ABI_MINOR,            \
	.size = sizeof(struct seula_plugin)

struct seula_plugin {
	uint16_t abi_major;
	uint16_t abi_minor;
	uint32_t size;

	const char *name;        /* [a-z0-9_]+, equals its config name */
	const char *version;     /* the plugin's own version, e.g. "1.0.0" */
	const char *description; /* one line */

	/* Config: rows terminated by a SEULA_CONFIG_END row, and the size of
	 * the struct they fill.  The host allocates and zeroes it. */
	const struct seula_config_row *config_rows;
	size_t config_size;

	const struct seula_migration *migrations;
	size_t n_migrations;

	/* Called once at start, on the main thread, after migrations.  Store
	 * `host` in the instance for later hooks.  On failure return an error
	 * code and set *errmsg (from host->mprintf); the server does not start.
	 */
	int (*init)(const struct seula_host *host, const void *config,
	            void **instance, char **errmsg);
	/* Called once at stop, after the last hook; must accept NULL. */
	void (*shutdown)(void *instance);

	/* Loop thread; may run concurrently on several loop threads. */
	enum seula_stage stage;
	enum seula_verdict (*on_event)(void *instance, struct seula_event *ev);

	/* Writer thread, inside the transaction that stores the events; an
	 * error rolls the whole batch back and its requests answer 503.  The
	 * connection is the same on every call (tasks at start may get
	 * another); statements prepared on it may be kept and finalized in
	 * shutdown, since the host closes connections with
	 * sqlite3_close_v2. */
	int (*on_batch)(void *instance, struct sqlite3 *db,
	                struct seula_event *const *events, size_t n_events,
	                char **errmsg);

	const struct seula_route *routes;
	size_t n_routes;

	const struct seula_task *tasks;
	size_t n_tasks;

	/* 1.1: SIGHUP.  Re-read whatever files the plugin keeps open (a
	 * database swapped on disk) without dropping traffic.  Called on the
	 * main loop thread while other loops may be in on_event, so swap what
	 * on_event reads under a lock.  On failure keep the old state, set
	 * *errmsg and return an error; the server logs it and goes on. */
	int (*reload)(void *instance, char **errmsg);

	/* 1.3: data subject rights: export, erase or anonymise what this
	 * plugin holds about one person (see enum seula_subject_op).  Writer
	 * thread, inside the transaction of the request (reader for ACCESS),
	 * called only through host->subject_run.  *json_out and *errmsg come
	 * from host->mprintf; the host frees them.  On error the whole run is
	 * rolled back.  A plugin that keeps anything about a person must
	 * implement it; one that keeps nothing leaves it NULL. */
	int (*subject)(void *instance, struct sqlite3 *db,
	               enum seula_subject_op op,
	               const struct seula_subject *who, char **json_out,
	               char **errmsg);
};

#ifdef __cplusplus
}
#endif

#endif /* SEULA_PLUGIN_H */
