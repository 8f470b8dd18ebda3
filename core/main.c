/*
 * main.c - the seula command: serve, migrate, plugins, inspect-ip, version,
 * help.  Owns every long-lived object; nothing else keeps global state.
 */
#include "apikeys.h"
#include "audit.h"
#include "auth.h"
#include "cli_import.h"
#include "cli_labels.h"
#include "cli_report.h"
#include "cli_retention.h"
#include "cli_staff.h"
#include "config.h"
#include "consent.h"
#include "db.h"
#include "host.h"
#include "inspect.h"
#include "loader.h"
#include "log.h"
#include "migrate.h"
#include "pipeline.h"
#include "readers.h"
#include "retention.h"
#include "router.h"
#include "secret.h"
#include "server.h"
#include "staff.h"
#include "static.h"
#include "store.h"
#include "subject.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <getopt.h>
#include <netdb.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#define ERRLEN 1024

/* host.h passes the pseudonym's buffer to the consent code at this size. */
_Static_assert(SEULA_AUDIT_VISITOR_MAX == 48,
               "host->audit_visitor's buffer is the consent pseudonym's");

static void usage(FILE *out)
{
	fprintf(out,
	        "usage: seula <command> [options]\n"
	        "\n"
	        "commands:\n"
	        "  serve --config FILE [--listen ADDR:PORT] [--db PATH]\n"
	        "        run the server; prints 'listening on URL' first\n"
	        "  migrate --config FILE [--db PATH]\n"
	        "        apply the schema migrations of the core and plugins\n"
	        "  plugins --config FILE\n"
	        "        list the plugins the config loads, in pipeline "
	        "order\n"
	        "  inspect-ip [--config FILE] [--level 0-4] IP...\n"
	        "        print what the anonymize plugin makes of each "
	        "address\n"
	        "  inspect-geo [--config FILE] [--db FILE.mmdb] IP...\n"
	        "        print each address's place as a JSON line\n"
	        "  inspect-ua [--config FILE] < user-agents.txt\n"
	        "        print browser, OS, device and bot of each line as "
	        "JSON\n"
	        "  user add NAME --role ROLE | list | passwd NAME |\n"
	        "       role NAME ROLE | disable NAME | enable NAME |\n"
	        "       keys [NAME] | revoke-key ID --config FILE\n"
	        "        staff accounts and their API keys; roles: admin, "
	        "analyst, customer_service, finance\n"
	        "  audit verify --config FILE [--db PATH]\n"
	        "        check the audit log's hash chain\n"
	        "  consent verify --config FILE [--db PATH]\n"
	        "        check the consent records' hash chain and each\n"
	        "        visitor's standing consent against them\n"
	        "  consent repair --config FILE [--db PATH]\n"
	        "        rebuild each standing consent verify names from "
	        "the\n"
	        "        visitor's latest record (the records must verify)\n"
	        "  consent selftest --site SITE --config FILE\n"
	        "        the site's consent (or exemption) checklist\n"
	        "  import-log --config FILE --site SITE [--db PATH]\n"
	        "       [--format combined|common|vhost_combined] [--quiet] "
	        "[--force] [--overlap]\n"
	        "       FILE...|-\n"
	        "        import an access log's page views (import-log "
	        "--help)\n"
	        "  labels [--config FILE] [--db PATH] [--format csv|pdf] "
	        "[-o FILE]\n"
	        "        postal labels for direct mail (objections "
	        "honoured)\n"
	        "  report --config FILE --site SITE [--from DATE] [--to "
	        "DATE] [--tz ZONE]\n"
	        "       [--format json|csv|html] [--limit N] [--filter F] "
	        "[--db PATH] [-o FILE]\n"
	        "        the site's marketing report for a period\n"
	        "  retention run [--config FILE] [--db PATH] [--dry-run]\n"
	        "        delete what is past its retention (customers, raw "
	        "events,\n"
	        "        consent records, staff sessions); the dry run lists "
	        "it\n"
	        "  routes --config FILE\n"
	        "        every route with the roles it admits, as JSON lines\n"
	        "  version\n"
	        "        print the version\n"
	        "  help [config | plugin NAME --config FILE]\n"
	        "        this text, the config keys, or a plugin's keys\n");
}

/* What serve, migrate and plugins share: config, plugins, host env. */
struct app {
	struct seula_config cfg;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_plugins plugins;
	char *plugin_dir;
	char err[ERRLEN];
};

static void app_free(struct app *app)
{
	seula_plugins_free(&app->plugins);
	free(app->plugin_dir);
	seula_config_free(&app->cfg);
}

static int app_load(struct app *app, const char *config,
                    const char *const *overrides)
{
	memset(app, 0, sizeof(*app));
	app->log.level = SEULA_LOG_INFO;
	app->log.out = stderr;
	int rc = seula_config_load(&app->cfg, config, overrides, app->err,
	                           sizeof(app->err));
	if (rc != SEULA_OK)
		return rc;
	app->log.level = (enum seula_log_level)app->cfg.log_level;
	app->env.log = &app->log;
	app->env.subject_run = seula_subject_run;
	app->env.audit_visitor = seula_consent_audit_visitor;
	app->env.plugins = &app->plugins;
	app->env.config = &app->cfg;
	app->plugin_dir = app->cfg.plugin_dir ? strdup(app->cfg.plugin_dir)
	                                      : seula_default_plugin_dir();
	if (!app->plugin_dir)
		return SEULA_ENOMEM;
	rc = seula_plugins_load(&app->plugins, &app->cfg, app->plugin_dir,
	                        &app->env, app->err, sizeof(app->err));
	if (rc != SEULA_OK)
		return rc;
	return seula_config_check_unused(&app->cfg, app->err, sizeof(app->err));
}

struct opts {
	const char *config;
	const char *overrides[8];
	size_t n_overrides;
	char *owned[8];
	const char *level;
	const char *db;
	const char *role;
	const char *site;
};

static int add_override(struct opts *o, const char *key, const char *value)
{
	if (o->n_overrides == 7)
		return -1;
	char *s = NULL;
	if (asprintf(&s, "%s=%s", key, value) < 0)
		return -1;
	o->owned[o->n_overrides] = s;
	o->overrides[o->n_overrides++] = s;
	o->overrides[o->n_overrides] = NULL;
	return 0;
}

static void opts_free(struct opts *o)
{
	for (size_t i = 0; i < o->n_overrides; i++)
		free(o->owned[i]);
}

/* Parse the options every command shares; returns optind or -1. */
static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"listen", required_argument, NULL, 'l'},
	        {"db", required_argument, NULL, 'd'},
	        {"site", required_argument, NULL, 's'},
	        {"level", required_argument, NULL, 'L'},
	        {"role", required_argument, NULL, 'r'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	memset(o, 0, sizeof(*o));
	optind = 1;
	int c;
	while ((c = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'c': o->config = optarg; break;
		case 'l':
			if (add_override(o, "server.listen", optarg))
				return -1;
			break;
		case 'd': o->db = optarg; break;
		case 'L': o->level = optarg; break;
		case 'r': o->role = optarg; break;
		case 's': o->site = optarg; break;
		case 'h': usage(stdout); exit(0);
		default: return -1;
		}
	}
	return optind;
}

static int need_config(struct opts *o, const char *cmd)
{
	if (!o->config)
		o->config = seula_config_default_path();
	if (o->config)
		return 0;
	fprintf(stderr,
	        "seula %s: --config FILE is required, or SEULA_CONFIG, or "
	        "/etc/seula/seula.ini (try contrib/seula.ini.example)\n",
	        cmd);
	return -1;
}

/* The plugins' routes and the core's own behind the staff gate; a route
 * without a role declaration is refused here, before anything starts. */
static int build_router(struct app *app, struct seula_router *router,
                        struct seula_consent *consent, unsigned char *key)
{
	for (size_t i = 0; i < app->plugins.n; i++) {
		struct seula_loaded_plugin *p = &app->plugins.list[i];
		for (size_t r = 0; r < p->desc.n_routes; r++) {
			int rc = seula_router_add(router, &p->desc.routes[r],
			                          NULL, p->desc.name, app->err,
			                          sizeof(app->err));
			if (rc != SEULA_OK)
				return rc;
		}
	}
	for (size_t r = 0; r < seula_auth_n_routes; r++) {
		int rc = seula_router_add(router, &seula_auth_routes[r], key,
		                          "core", app->err, sizeof(app->err));
		if (rc != SEULA_OK)
			return rc;
	}
	for (size_t r = 0; r < seula_consent_n_routes; r++) {
		int rc = seula_router_add(router, &seula_consent_routes[r],
		                          consent, "core", app->err,
		                          sizeof(app->err));
		if (rc != SEULA_OK)
			return rc;
	}
	/* Their instance, the sessions, exists once auth does. */
	for (size_t r = 0; r < seula_apikey_n_routes; r++) {
		int rc = seula_router_add(router, &seula_apikey_routes[r], NULL,
		                          "core", app->err, sizeof(app->err));
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

/* Whether the server can bind where the config says, tried before the
 * database is opened: a start that cannot (the port another process's, a
 * privileged port, an address not this host's) then changes nothing in
 * it, not even a migration.  The server binds for real after, with the
 * same options; a port taken in between fails that start as before.  Port
 * 0 takes a free port: nothing to try. */
static int check_listen(const struct seula_config *cfg, char *err,
                        size_t errlen)
{
	char host[256], port[8];
	if (seula_parse_listen(cfg->listen, host, sizeof(host), port,
	                       sizeof(port)) != SEULA_OK ||
	    atoi(port) == 0)
		return SEULA_OK; /* seula_server_new() says what is wrong */
	struct addrinfo hints = {
	        .ai_family = AF_UNSPEC,
	        .ai_socktype = SOCK_STREAM,
	        .ai_flags = AI_PASSIVE | AI_NUMERICSERV,
	};
	struct addrinfo *res = NULL;
	int gai = getaddrinfo(host, port, &hints, &res);
	if (gai != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host, port,
		         gai_strerror(gai));
		return SEULA_EINVAL;
	}
	int rc = SEULA_OK, one = 1;
	int fd = socket(res->ai_family, res->ai_socktype | SOCK_CLOEXEC,
	                res->ai_protocol);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, res->ai_addr, res->ai_addrlen) != 0) {
		snprintf(err, errlen, "listen %s:%s: %s", host, port,
		         strerror(errno));
		rc = SEULA_EIO;
	}
	if (fd >= 0)
		close(fd);
	freeaddrinfo(res);
	return rc;
}

/* serve and migrate make the database at their first start: said, so that
 * a wrong path is seen. */
static void note_new_db(const struct app *app)
{
	char err[ERRLEN];
	if (seula_db_require(app->cfg.db, err, sizeof(err)) == SEULA_ENOTFOUND)
		seula_log(&app->log, SEULA_LOG_INFO, "db",
		          "creating a new database at %s", app->cfg.db);
}

static int cmd_serve(int argc, char **argv)
{
	struct opts o;
	int rc = 1;
	if (parse_opts(argc, argv, &o) < 0 || need_config(&o, "serve") ||
	    (o.db && add_override(&o, "server.db", o.db))) {
		opts_free(&o);
		return 2;
	}
	struct app app;
	struct seula_pipeline pipeline = {0};
	struct seula_router router = {0};
	struct seula_store *store = NULL;
	struct seula_readers *readers = NULL;
	struct seula_static *files = NULL;
	struct seula_server *server = NULL;
	struct seula_auth *auth = NULL;
	struct seula_consent *consent = NULL;
	struct seula_statement *statement = NULL;
	unsigned char key[SEULA_SECRET_BYTES];
	struct seula_retention_ctx retention = {&app.cfg, &app.log};
	int lock = -1;
	bool served = false;

	/* The consent records' MACs read the key when written, after it is
	 * loaded below. */
	if (app_load(&app, o.config, o.overrides) != SEULA_OK ||
	    seula_pipeline_build(&pipeline, &app.plugins, app.err,
	                         sizeof(app.err)) != SEULA_OK ||
	    seula_consent_new(&consent, &app.cfg, &app.plugins, key, app.err,
	                      sizeof(app.err)) != SEULA_OK ||
	    seula_consent_check(consent, app.err, sizeof(app.err)) !=
	            SEULA_OK ||
	    seula_statement_new(&statement, &app.cfg, consent, &app.plugins,
	                        app.err, sizeof(app.err)) != SEULA_OK)
		goto fail;
	seula_consent_set_log(consent, &app.log);
	/* Likewise the erasures subject_run signs (host.h). */
	app.env.secret_key = key;
	if (build_router(&app, &router, consent, key) != SEULA_OK)
		goto fail;
	/* Nothing touches the database before the lock is held and the
	 * address is known to be free; the store migrates it. */
	if (seula_db_lock(&lock, app.cfg.db, "serve", app.err,
	                  sizeof(app.err)) != SEULA_OK ||
	    check_listen(&app.cfg, app.err, sizeof(app.err)) != SEULA_OK)
		goto fail;
	note_new_db(&app);
	if (seula_store_open(&store, &app.cfg, &app.plugins, &app.log, app.err,
	                     sizeof(app.err)) != SEULA_OK ||
	    seula_readers_start(&readers, &app.cfg, &app.log, app.err,
	                        sizeof(app.err)) != SEULA_OK ||
	    /* Made or checked by seula_store_open(). */
	    seula_secret_load(app.cfg.secret_file, key, app.err,
	                      sizeof(app.err)) != SEULA_OK ||
	    seula_auth_new(&auth, &app.cfg, key, store, readers, &app.log,
	                   app.err, sizeof(app.err)) != SEULA_OK ||
	    seula_store_add_task(store, &seula_consent_texts_task, consent) !=
	            SEULA_OK ||
	    seula_store_add_task(store, &seula_consent_retention_task,
	                         consent) != SEULA_OK ||
	    seula_store_add_task(store, &seula_events_retention_task,
	                         &retention) != SEULA_OK ||
	    seula_plugins_init(&app.plugins, app.err, sizeof(app.err)) !=
	            SEULA_OK)
		goto fail;
	/* Routes were checked before init; now they know their instance. */
	for (size_t i = 0; i < router.n; i++) {
		const struct seula_loaded_plugin *p = seula_plugins_find(
		        &app.plugins, router.entries[i].owner);
		if (p)
			router.entries[i].instance = p->instance;
		for (size_t k = 0; k < seula_apikey_n_routes; k++)
			if (router.entries[i].route == &seula_apikey_routes[k])
				router.entries[i].instance =
				        seula_auth_sessions(auth);
	}
	seula_store_set_gate(store, seula_consent_gate,
	                     seula_consent_gate_release, consent);
	if (seula_store_run_start_tasks(store, app.err, sizeof(app.err)) !=
	            SEULA_OK ||
	    seula_static_load(&files, app.cfg.web_root, app.err,
	                      sizeof(app.err)) != SEULA_OK)
		goto fail;
	struct seula_server_deps deps = {
	        .cfg = &app.cfg,
	        .log = &app.log,
	        .store = store,
	        .readers = readers,
	        .pipeline = &pipeline,
	        .router = &router,
	        .files = files,
	        .plugins = &app.plugins,
	        .auth = auth,
	        .key = key,
	        .statement = statement,
	        .version = SEULA_VERSION,
	};
	if (seula_server_new(&server, &deps, app.err, sizeof(app.err)) !=
	            SEULA_OK ||
	    seula_store_start(store) != SEULA_OK)
		goto fail;

	printf("listening on %s\n", seula_server_url(server));
	fflush(stdout);
	seula_log(&app.log, SEULA_LOG_INFO, "server",
	          "seula %s: %zu plugins, %zu sites, %zu files, db %s",
	          SEULA_VERSION, app.plugins.n, app.cfg.n_sites,
	          seula_static_count(files), app.cfg.db);
	rc = seula_server_run(server) == SEULA_OK ? 0 : 1;
	served = true;
	goto out;
fail:
	fprintf(stderr, "seula: %s\n", app.err[0] ? app.err : "cannot start");
out:
	/* Readers before the server: a stop past stop_timeout leaves jobs
	 * that post to the server's completion queues. */
	seula_readers_stop(readers);
	seula_server_free(server);
	if (served) {
		/* What was queued goes in first.  A server that could not store
		 * at the end (its database removed, a disk that stays full)
		 * says so to its supervisor by its exit status too. */
		seula_store_stop(store);
		if (seula_store_health(store) != SEULA_STORE_OK) {
			seula_log(&app.log, SEULA_LOG_ERROR, "server",
			          "stopped while the database could not be "
			          "written (see above): exit status 1");
			rc = 1;
		} else {
			seula_log(&app.log, SEULA_LOG_INFO, "server",
			          "stopped");
		}
	}
	seula_store_close(store);
	seula_auth_free(auth);
	seula_statement_free(statement);
	seula_consent_free(consent);
	sodium_memzero(key, sizeof(key));
	seula_static_free(files);
	seula_router_free(&router);
	seula_pipeline_free(&pipeline);
	app_free(&app);
	opts_free(&o);
	seula_db_unlock(lock);
	return rc;
}

static int cmd_migrate(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) < 0 || need_config(&o, "migrate") ||
	    (o.db && add_override(&o, "server.db", o.db))) {
		opts_free(&o);
		return 2;
	}
	struct app app;
	int rc = 1, lock = -1;
	sqlite3 *db = NULL;
	/* Never under a running server: its statements expect the schema
	 * it started with. */
	bool locked = app_load(&app, o.config, o.overrides) == SEULA_OK &&
	              seula_db_lock(&lock, app.cfg.db, "migrate", app.err,
	                            sizeof(app.err)) == SEULA_OK;
	if (locked)
		note_new_db(&app);
	if (locked && seula_db_open(&db, app.cfg.db, false, true,
	                            app.cfg.synchronous == SEULA_SYNC_FULL,
	                            app.err, sizeof(app.err)) == SEULA_OK) {
		int applied = 0;
		if (seula_migrate_all_keyed(
		            db, &app.plugins, app.cfg.secret_file, &applied,
		            app.err, sizeof(app.err)) == SEULA_OK) {
			printf("%s: %d migration%s applied\n", app.cfg.db,
			       applied, applied == 1 ? "" : "s");
			rc = 0;
		}
	}
	if (rc)
		fprintf(stderr, "seula: %s\n", app.err);
	seula_db_close(db);
	seula_db_unlock(lock);
	app_free(&app);
	opts_free(&o);
	return rc;
}

static const char *stage_name(const struct seula_plugin *d)
{
	if (!d->on_event)
		return "-";
	return d->stage == SEULA_STAGE_ENRICH    ? "enrich"
	       : d->stage == SEULA_STAGE_PROTECT ? "protect"
	                                         : "filter";
}

static int cmd_plugins(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) < 0 || need_config(&o, "plugins")) {
		opts_free(&o);
		return 2;
	}
	struct app app;
	int rc = app_load(&app, o.config, o.overrides);
	if (rc != SEULA_OK) {
		fprintf(stderr, "seula: %s\n", app.err);
	} else {
		printf("%-16s %-10s %-8s %-5s %s\n", "NAME", "VERSION", "STAGE",
		       "ABI", "DESCRIPTION");
		for (size_t i = 0; i < app.plugins.n; i++) {
			const struct seula_plugin *d =
			        &app.plugins.list[i].desc;
			printf("%-16s %-10s %-8s %u.%-3u %s\n", d->name,
			       d->version, stage_name(d), d->abi_major,
			       d->abi_minor,
			       d->description ? d->description : "");
		}
	}
	app_free(&app);
	opts_free(&o);
	return rc == SEULA_OK ? 0 : 1;
}

/* For the inspect commands: load and init the config's plugins, or only
 * `name` when no config is given; *out is the plugin called `name`. */
static int inspect_load(struct app *app, struct opts *o, const char *name,
                        const struct seula_loaded_plugin **out)
{
	*out = NULL;
	memset(app, 0, sizeof(*app));
	if (!o->config && add_override(o, "plugins.load", name))
		return SEULA_ENOMEM;
	int rc = app_load(app, o->config, o->overrides);
	if (rc == SEULA_OK)
		rc = seula_plugins_init(&app->plugins, app->err,
		                        sizeof(app->err));
	if (rc == SEULA_OK &&
	    !(*out = seula_plugins_find(&app->plugins, name))) {
		snprintf(app->err, sizeof(app->err),
		         "the config does not load the %s plugin", name);
		rc = SEULA_ENOTFOUND;
	}
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", app->err);
	return rc;
}

static int cmd_inspect_ip(int argc, char **argv)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	if (first < 0 || first >= argc) {
		fprintf(stderr, "usage: seula inspect-ip [--config FILE] "
		                "[--level 0-4] IP...\n");
		opts_free(&o);
		return 2;
	}
	const char *const *ips = (const char *const *)argv + first;
	size_t n = (size_t)(argc - first);
	/* 0 is this command's (the address as parsed); 1-4 the plugin's. */
	if (o.level &&
	    (strlen(o.level) != 1 || o.level[0] < '0' || o.level[0] > '4')) {
		fprintf(stderr, "seula: --level is 0 to 4, not '%s'\n",
		        o.level);
		opts_free(&o);
		return 2;
	}
	if (o.level && strcmp(o.level, "0") == 0) {
		int st = seula_inspect_ip_unmasked(ips, n, stdout);
		opts_free(&o);
		return st;
	}
	if (o.level)
		add_override(&o, "plugin.anonymize.level", o.level);
	struct app app;
	const struct seula_loaded_plugin *p;
	int rc = inspect_load(&app, &o, "anonymize", &p) == SEULA_OK
	                 ? seula_inspect_ip(p, ips, n, stdout)
	                 : 1;
	app_free(&app);
	opts_free(&o);
	return rc;
}

static int cmd_inspect_geo(int argc, char **argv)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	if (first < 0 || first >= argc) {
		fprintf(stderr, "usage: seula inspect-geo [--config FILE] "
		                "[--db FILE.mmdb] IP...\n");
		opts_free(&o);
		return 2;
	}
	if (o.db)
		add_override(&o, "plugin.geoip.databases", o.db);
	struct app app;
	const struct seula_loaded_plugin *p;
	int rc = inspect_load(&app, &o, "geoip", &p) == SEULA_OK
	                 ? seula_inspect_geo(p,
	                                     (const char *const *)argv + first,
	                                     (size_t)(argc - first), stdout)
	                 : 1;
	app_free(&app);
	opts_free(&o);
	return rc;
}

static int cmd_inspect_ua(int argc, char **argv)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	if (first < 0 || first != argc) {
		fprintf(stderr, "usage: seula inspect-ua [--config FILE] "
		                "< user-agents.txt\n");
		opts_free(&o);
		return 2;
	}
	struct app app;
	const struct seula_loaded_plugin *p;
	int rc = inspect_load(&app, &o, "useragent", &p) == SEULA_OK
	                 ? seula_inspect_ua(p, stdin, stdout)
	                 : 1;
	app_free(&app);
	opts_free(&o);
	return rc;
}

/* user, audit: the config's database and key, no server. */
static int cmd_staff(int argc, char **argv, bool is_user)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	if (first < 0 || need_config(&o, argv[0]) ||
	    (o.db && add_override(&o, "server.db", o.db))) {
		opts_free(&o);
		return 2;
	}
	struct app app;
	int rc = app_load(&app, o.config, o.overrides);
	if (rc != SEULA_OK) {
		fprintf(stderr, "seula: %s\n", app.err);
		rc = 1;
	} else if (is_user) {
		rc = seula_cli_user(argc - first, argv + first, o.role,
		                    &app.cfg);
	} else {
		rc = seula_cli_audit(argc - first, argv + first, &app.cfg);
	}
	app_free(&app);
	opts_free(&o);
	return rc;
}

/* consent verify: the records' chain and the standing consent beside it;
 * consent repair: the standing consent verify names, rebuilt from the
 * records; consent selftest --site S: the site's consent or exemption
 * checklist. */
static int cmd_consent(int argc, char **argv)
{
	struct opts o;
	int first = parse_opts(argc, argv, &o);
	const char *sub = first >= 0 && first < argc ? argv[first] : NULL;
	bool verify = sub && strcmp(sub, "verify") == 0;
	bool repair = sub && strcmp(sub, "repair") == 0;
	bool selftest = sub && strcmp(sub, "selftest") == 0 && o.site;
	if ((!verify && !repair && !selftest) || first + 1 != argc ||
	    need_config(&o, "consent") ||
	    (o.db && add_override(&o, "server.db", o.db))) {
		if (!need_config(&o, "consent") || !o.config)
			fprintf(stderr,
			        "usage: seula consent verify --config FILE "
			        "[--db PATH]\n"
			        "       seula consent repair --config FILE "
			        "[--db PATH]\n"
			        "       seula consent selftest --site SITE "
			        "--config FILE\n");
		opts_free(&o);
		return 2;
	}
	struct app app;
	int rc = 1;
	if (app_load(&app, o.config, o.overrides) != SEULA_OK) {
		fprintf(stderr, "seula: %s\n", app.err);
	} else if (verify) {
		rc = seula_cli_consent_verify(&app.cfg);
	} else if (repair) {
		rc = seula_cli_consent_repair(&app.cfg);
	} else {
		struct seula_consent *c = NULL;
		sqlite3 *db = NULL;
		/* No database is no error here: the selftest checks a config
		 * before its first start too. */
		bool have_db = seula_db_require(app.cfg.db, app.err,
		                                sizeof(app.err)) == SEULA_OK;
		if (seula_consent_new(&c, &app.cfg, &app.plugins, NULL, app.err,
		                      sizeof(app.err)) != SEULA_OK ||
		    (have_db &&
		     seula_db_open(&db, app.cfg.db, true, false, 0, app.err,
		                   sizeof(app.err)) != SEULA_OK))
			fprintf(stderr, "seula: %s\n", app.err);
		else
			rc = seula_consent_selftest(c, db, o.site, stdout) ? 1
			                                                   : 0;
		seula_db_close(db);
		seula_consent_free(c);
	}
	app_free(&app);
	opts_free(&o);
	return rc;
}

static int cmd_routes(int argc, char **argv)
{
	struct opts o;
	if (parse_opts(argc, argv, &o) < 0 || need_config(&o, "routes")) {
		opts_free(&o);
		return 2;
	}
	struct app app;
	struct seula_router router = {0};
	int rc = app_load(&app, o.config, o.overrides);
	if (rc == SEULA_OK)
		rc = build_router(&app, &router, NULL, NULL);
	if (rc == SEULA_OK)
		seula_cli_routes(&router, stdout);
	else
		fprintf(stderr, "seula: %s\n", app.err);
	seula_router_free(&router);
	app_free(&app);
	opts_free(&o);
	return rc == SEULA_OK ? 0 : 1;
}

static int cmd_user(int argc, char **argv)
{
	return cmd_staff(argc, argv, true);
}

static int cmd_audit(int argc, char **argv)
{
	return cmd_staff(argc, argv, false);
}

static int cmd_version(int argc, char **argv)
{
	(void)argc;
	(void)argv;
	printf("seula %s (plugin ABI %d.%d, SQLite %s, libevent %s)\n",
	       SEULA_VERSION, SEULA_ABI_MAJOR, SEULA_ABI_MINOR,
	       sqlite3_libversion(), event_get_version());
	return 0;
}

static int cmd_help(int argc, char **argv);

/* The commands, by the name main() is given. */
static const struct {
	const char *name;
	int (*run)(int argc, char **argv);
} commands[] = {
        {"serve", cmd_serve},
        {"migrate", cmd_migrate},
        {"plugins", cmd_plugins},
        {"inspect-ip", cmd_inspect_ip},
        {"inspect-geo", cmd_inspect_geo},
        {"inspect-ua", cmd_inspect_ua},
        {"user", cmd_user},
        {"audit", cmd_audit},
        {"import-log", seula_cli_import_log},
        {"labels", seula_cli_labels},
        {"report", seula_cli_report},
        {"retention", seula_cli_retention},
        {"routes", cmd_routes},
        {"consent", cmd_consent},
        {"version", cmd_version},
        {"help", cmd_help},
};

static bool is_command(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(name, commands[i].name) == 0)
			return true;
	return false;
}

static int cmd_help(int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "config") == 0) {
		seula_config_print_help("server", seula_config_server_rows);
		seula_config_print_help("limits", seula_config_limits_rows);
		seula_config_print_help("auth", seula_config_auth_rows);
		seula_config_print_help("plugins", seula_config_plugins_rows);
		seula_config_print_help("consent", seula_config_consent_rows);
		seula_config_print_help("controller",
		                        seula_config_controller_rows);
		seula_config_print_help("privacy", seula_config_privacy_rows);
		seula_config_print_help("site.ID", seula_config_site_rows);
		return 0;
	}
	if (argc >= 3 && strcmp(argv[1], "plugin") == 0) {
		struct opts o;
		char *name = argv[2];
		if (parse_opts(argc - 2, argv + 2, &o) < 0) {
			opts_free(&o);
			return 2;
		}
		if (!o.config) {
			char *load = NULL;
			if (asprintf(&load, "%s", name) >= 0) {
				add_override(&o, "plugins.load", load);
				free(load);
			}
		}
		struct app app;
		int rc = app_load(&app, o.config, o.overrides);
		const struct seula_loaded_plugin *p =
		        rc == SEULA_OK ? seula_plugins_find(&app.plugins, name)
		                       : NULL;
		if (p) {
			printf("%s %s: %s\n", p->desc.name, p->desc.version,
			       p->desc.description ? p->desc.description : "");
			char section[80];
			snprintf(section, sizeof(section), "plugin.%s", name);
			if (p->desc.config_rows)
				seula_config_print_help(section,
				                        p->desc.config_rows);
			for (size_t i = 0; i < p->desc.n_routes; i++)
				printf("route %s %s\n", p->desc.routes[i].path,
				       p->desc.routes[i].help
				               ? p->desc.routes[i].help
				               : "");
			for (size_t i = 0; i < p->desc.n_tasks; i++)
				printf("task %s every %llds\n",
				       p->desc.tasks[i].name,
				       (long long)p->desc.tasks[i].interval_s);
		} else if (app.err[0]) {
			fprintf(stderr, "seula: %s\n", app.err);
		} else {
			fprintf(stderr,
			        "seula: %s loads no plugin '%s' (it loads:",
			        o.config, name);
			for (size_t i = 0; i < app.plugins.n; i++)
				fprintf(stderr, " %s",
				        app.plugins.list[i].desc.name);
			fprintf(stderr, "%s)\n", app.plugins.n ? "" : " none");
		}
		app_free(&app);
		opts_free(&o);
		return p ? 0 : 1;
	}
	/* "help" alone, or "help COMMAND": the usage names them all. */
	if (argc >= 2 && !is_command(argv[1])) {
		fprintf(stderr, "seula: no help topic '%s'\n\n", argv[1]);
		usage(stderr);
		return 2;
	}
	usage(stdout);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return 2;
	}
	/* Before any event base: completions cross threads. */
	if (evthread_use_pthreads() != 0 || sodium_init() < 0 ||
	    seula_db_init_library() != SEULA_OK) {
		fprintf(stderr, "seula: cannot initialise libevent threads, "
		                "libsodium or SQLite\n");
		return 1;
	}
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	/* The database holds personal data and password hashes: files Seula
	 * creates are its own user's alone. */
	umask(077);
	const char *cmd = argv[1];
	for (size_t i = 0; i < sizeof(commands) / sizeof(*commands); i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return commands[i].run(argc - 1, argv + 1);
	if (strcmp(cmd, "--version") == 0)
		return cmd_version(argc - 1, argv + 1);
	if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0)
		return cmd_help(argc - 1, argv + 1);
	fprintf(stderr, "seula: unknown command '%s'\n\n", cmd);
	usage(stderr);
	return 2;
}
