/*
 * cli_retention.c - `seula retention run` (see cli_retention.h).
 *
 * The customers plugin is loaded, not started: only its config section is
 * read (its `retention` row, found by key), so the command works beside a
 * running server.  Without --config the plugin runs on its defaults and
 * there are no sites, hence no event retention.
 */
#include "cli_retention.h"

#include "cli_setup.h"
#include "config.h"
#include "consent.h"
/* The customers plugin's own rules, linked into the binary (as labels.c
 * is), so the command and the plugin's task delete the same people. */
#include "cust_retention.h"
#include "db.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "migrate.h"
#include "retention.h"
#include "secret.h"

#include <getopt.h>
#include <inttypes.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ERRLEN 1024
#define CUSTOMERS_PER_PASS 1000

static void usage(FILE *out)
{
	fprintf(out, "usage: seula retention run [--config FILE] [--db PATH] "
	             "[--dry-run]\n"
	             "  delete customers past [plugin.customers] retention "
	             "without a legal hold,\n"
	             "  raw events past their site's events_retention, "
	             "consent records past [consent]\n"
	             "  record_retention (and the standing consents left "
	             "without one) and\n"
	             "  expired staff sessions;\n"
	             "  --dry-run lists what would go and changes nothing\n");
}

/* The plugin's `retention` value, or NULL when it has no such row. */
/* The customers plugin's string setting `key`, NULL when it has none. */
static const char *plugin_string(const struct seula_loaded_plugin *p,
                                 const char *key)
{
	for (const struct seula_config_row *r = p->desc.config_rows;
	     r && r->type != SEULA_CONFIG_END; r++)
		if (r->type == SEULA_CONFIG_STRING && strcmp(r->key, key) == 0)
			return *(const char *const *)((const char *)p->config +
			                              r->offset);
	return NULL;
}

struct counts {
	int64_t events, sessions, consents, consent_states;
	bool customers_loaded;
	const char *retention, *timezone;
	struct cust_retention_result c;
	char *ids; /* every pass's ids */
};

static int append_ids(char **all, const char *ids)
{
	if (!*ids)
		return SEULA_OK;
	size_t have = *all ? strlen(*all) : 0, add = strlen(ids);
	char *g = realloc(*all, have + add + 2);
	if (!g)
		return SEULA_ENOMEM;
	if (have)
		g[have++] = ',';
	memcpy(g + have, ids, add + 1);
	*all = g;
	return SEULA_OK;
}

static int run_all(const struct seula_config *cfg,
                   const struct seula_consent *consent, sqlite3 *db,
                   bool dry_run, int64_t now, struct counts *n, char *err,
                   size_t errlen)
{
	int rc;
	if (dry_run) {
		rc = seula_retention_events_due(cfg, db, now, &n->events, err,
		                                errlen);
	} else {
		int64_t deleted;
		do {
			rc = seula_retention_events(cfg, db, now,
			                            SEULA_RETENTION_BATCH,
			                            &deleted, err, errlen);
			n->events += deleted;
		} while (rc == SEULA_OK && deleted == SEULA_RETENTION_BATCH);
	}
	if (rc == SEULA_OK)
		rc = seula_consent_prune(consent, db, now, dry_run,
		                         &n->consents, &n->consent_states, err,
		                         errlen);
	if (rc == SEULA_OK)
		rc = seula_retention_sessions(cfg, db, now, dry_run,
		                              &n->sessions, err, errlen);
	if (rc != SEULA_OK || !n->customers_loaded)
		return rc;
	/* Passes of CUSTOMERS_PER_PASS, as the task; a dry run does it in
	 * one, since it deletes nothing that a next pass would skip. */
	bool more = true;
	while (more) {
		struct cust_retention_result r;
		if (cust_retention_run(db, n->retention, n->timezone, now,
		                       dry_run,
		                       dry_run ? INT64_MAX : CUSTOMERS_PER_PASS,
		                       &r, err, errlen) != 0)
			return SEULA_EIO;
		n->c.customers += r.customers;
		n->c.orders += r.orders;
		n->c.links += r.links;
		rc = append_ids(&n->ids, r.ids);
		more = r.more && !dry_run && r.customers;
		/* Held ones are found again by every pass: the last is
		 * whole. */
		if (rc == SEULA_OK && !more) {
			n->c.held = r.held;
			n->c.held_ids = r.held_ids;
			n->c.undated = r.undated;
			n->c.undated_ids = r.undated_ids;
			r.held_ids = r.undated_ids = NULL;
		}
		cust_retention_result_free(&r);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

static void report(const struct seula_config *cfg, const struct counts *n,
                   bool dry_run, const struct seula_logger *log)
{
	const char *verb = dry_run ? "would be deleted" : "deleted";
	printf("events: %" PRId64 " past their site's events_retention %s\n",
	       n->events, verb);
	printf("consent records: %" PRId64 " past record_retention (%" PRId64
	       " days) %s, and %" PRId64
	       " standing consents left without a record\n",
	       n->consents, cfg->consent_retention_s / 86400, verb,
	       n->consent_states);
	printf("sessions: %" PRId64 " expired staff sessions %s\n", n->sessions,
	       verb);
	if (n->customers_loaded) {
		printf("customers: %" PRId64 " past retention (%s after the "
		       "relationship ends) %s, with %" PRId64
		       " orders and %" PRId64 " visitor links\n",
		       n->c.customers, n->retention, verb, n->c.orders,
		       n->c.links);
		printf("customer ids: %s\n", n->ids ? n->ids : "");
		printf("kept by a legal hold: %" PRId64 "%s%s\n", n->c.held,
		       n->c.held ? ": " : "",
		       n->c.held_ids ? n->c.held_ids : "");
		printf("no relationship_end and nothing for as long (set "
		       "when it ended, or they are kept for ever): %" PRId64
		       "%s%s\n",
		       n->c.undated, n->c.undated ? ": " : "",
		       n->c.undated_ids ? n->c.undated_ids : "");
	} else {
		printf("customers: the config does not load the customers "
		       "plugin\n");
	}
	seula_log(log, SEULA_LOG_INFO, "retention",
	          "%s: %" PRId64 " events, %" PRId64
	          " consent records, %" PRId64 " standing consents, %" PRId64
	          " sessions, %" PRId64 " customers (%" PRId64
	          " orders, %" PRId64 " visitor links) %s; %" PRId64
	          " customers held",
	          dry_run ? "dry run" : "run", n->events, n->consents,
	          n->consent_states, n->sessions, n->c.customers, n->c.orders,
	          n->c.links, verb, n->c.held);
}

int seula_cli_retention(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"db", required_argument, NULL, 'd'},
	        {"dry-run", no_argument, NULL, 'n'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *db_path = NULL;
	bool dry_run = false;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': db_path = optarg; break;
		case 'n': dry_run = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind + 1 != argc || strcmp(argv[optind], "run") != 0) {
		usage(stderr);
		return 2;
	}
	char err[ERRLEN] = "";
	char *db_override = NULL;
	if (db_path && asprintf(&db_override, "server.db=%s", db_path) < 0)
		return 1;
	const char *overrides[3] = {db_override, NULL, NULL};
	if (!config)
		overrides[db_override ? 1 : 0] = "plugins.load=customers";
	struct seula_cli_setup setup;
	struct counts n = {0};
	struct seula_consent *consent = NULL;
	unsigned char key[SEULA_SECRET_BYTES];
	sqlite3 *db = NULL;
	bool begun = false;
	int status = 1;
	int rc = seula_cli_setup_load(&setup, config, overrides, SEULA_LOG_INFO,
	                              err, sizeof(err));
	const struct seula_loaded_plugin *p =
	        rc == SEULA_OK ? seula_plugins_find(&setup.plugins, "customers")
	                       : NULL;
	if (p && (!(n.retention = plugin_string(p, "retention")) ||
	          !(n.timezone = plugin_string(p, "timezone")))) {
		snprintf(err, sizeof(err),
		         "the customers plugin has no retention or timezone "
		         "setting");
		rc = SEULA_EINVAL;
	}
	n.customers_loaded = p != NULL;
	if (rc == SEULA_OK)
		rc = seula_db_open(&db, setup.cfg.db, false, false,
		                   setup.cfg.synchronous == SEULA_SYNC_FULL,
		                   err, sizeof(err));
	/* A real run brings the schema up to date as serve would; the dry
	 * run changes nothing, not even that. */
	if (rc == SEULA_OK && !dry_run)
		rc = seula_migrate_all_keyed(db, &setup.plugins,
		                             setup.cfg.secret_file, NULL, err,
		                             sizeof(err));
	if (rc == SEULA_OK && dry_run)
		rc = seula_db_exec(db, "PRAGMA query_only = ON", err,
		                   sizeof(err));
	/* The key signs the consent chain's new anchor; a dry run, or a
	 * database with no consent records due, does without it. */
	if (rc == SEULA_OK) {
		char kerr[ERRLEN];
		bool have_key =
		        !dry_run &&
		        seula_secret_load(setup.cfg.secret_file, key, kerr,
		                          sizeof(kerr)) == SEULA_OK;
		rc = seula_consent_new(&consent, &setup.cfg, &setup.plugins,
		                       have_key ? key : NULL, err, sizeof(err));
	}
	if (rc == SEULA_OK) {
		rc = seula_db_exec(db, dry_run ? "BEGIN" : "BEGIN IMMEDIATE",
		                   err, sizeof(err));
		begun = rc == SEULA_OK;
	}
	if (rc == SEULA_OK)
		rc = run_all(&setup.cfg, consent, db, dry_run,
		             (int64_t)time(NULL) * 1000, &n, err, sizeof(err));
	if (begun)
		rc = rc == SEULA_OK && !dry_run
		             ? seula_db_exec(db, "COMMIT", err, sizeof(err))
		             : (seula_db_exec(db, "ROLLBACK", NULL, 0), rc);
	if (rc == SEULA_OK && !dry_run &&
	    n.events + n.consents + n.consent_states + n.sessions +
	                    n.c.customers >
	            0) {
		int frames = 0, done = 0;
		if (sqlite3_wal_checkpoint_v2(db, NULL,
		                              SQLITE_CHECKPOINT_TRUNCATE,
		                              &frames, &done) != SQLITE_OK)
			seula_log(&setup.log, SEULA_LOG_WARN, "retention",
			          "WAL not truncated (%s): a reader holds it; "
			          "the server's next retention task will",
			          sqlite3_errmsg(db));
	}
	if (rc == SEULA_OK) {
		report(&setup.cfg, &n, dry_run, &setup.log);
		status = 0;
	} else {
		fprintf(stderr, "seula: %s\n",
		        err[0] ? err : "retention run failed");
	}
	free(n.ids);
	free(n.c.held_ids);
	free(n.c.undated_ids);
	seula_consent_free(consent);
	sodium_memzero(key, sizeof(key));
	seula_db_close(db);
	seula_cli_setup_free(&setup);
	free(db_override);
	return status;
}
