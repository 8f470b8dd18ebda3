/*
 * cli_labels.c - `seula labels [--config F] [--db F] [--format csv|pdf]
 * [-o FILE]` (see cli_labels.h).
 *
 * The label settings (font, home country) are the customers plugin's
 * config: the plugin is loaded as serve loads it (without --config, with
 * its defaults) and its settings read through labels.h.  A run is
 * recorded as GET /api/labels records one: each person on the labels in
 * customer_label_exports, and an entry in the audit log by "cli:USER",
 * committed before the labels are written out.  So the schema is brought
 * up to date first, as serve would, and the audit key is read.
 */
#include "cli_labels.h"

#include "audit.h"
#include "cli_setup.h"
#include "config.h"
#include "db.h"
#include "host.h"
#include "labels.h"
#include "loader.h"
#include "log.h"
#include "migrate.h"
#include "secret.h"

#include <getopt.h>
#include <pwd.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: seula labels [--config FILE] [--db PATH] "
	             "[--format csv|pdf] [-o FILE]\n"
	             "  postal labels for direct mail (A4 sheets of 3 x 8 "
	             "in the PDF), leaving\n"
	             "  out everyone restricted or who objected to "
	             "publication or direct marketing;\n"
	             "  to standard output without -o.  Each person on them "
	             "is recorded\n"
	             "  (their access export shows it), and the run is in "
	             "the audit log\n");
}

/* Who was on the labels, and the audit entry, inside the open
 * transaction; the count must match the labels rendered. */
static int record(sqlite3 *db, const unsigned char *key,
                  enum seula_labels_format f, size_t persons, char *err,
                  size_t errlen)
{
	const struct passwd *pw = getpwuid(geteuid());
	char actor[80], detail[96];
	snprintf(actor, sizeof(actor), "cli:%s", pw ? pw->pw_name : "unknown");
	int64_t now = seula_clock_ms();
	size_t recorded = 0;
	int rc = seula_labels_record(db, actor, "command line", f, now,
	                             &recorded, err, errlen);
	if (rc == SEULA_OK && recorded != persons) {
		snprintf(err, errlen, "%zu labels but %zu persons recorded",
		         persons, recorded);
		return SEULA_EIO;
	}
	if (rc != SEULA_OK)
		return rc;
	snprintf(detail, sizeof(detail),
	         "labels %zu persons (each in customer_label_exports), %s",
	         persons, f == SEULA_LABELS_PDF ? "pdf" : "csv");
	struct seula_audit_entry e = {
	        .ts_ms = now,
	        .staff_name = actor,
	        .action = "export",
	        .route = "command line: seula labels",
	        .outcome = "ok",
	        .detail = detail,
	};
	return seula_audit_append(db, key, &e, err, errlen);
}

int seula_cli_labels(int argc, char **argv)
{
	static const struct option longopts[] = {
	        {"config", required_argument, NULL, 'c'},
	        {"db", required_argument, NULL, 'd'},
	        {"format", required_argument, NULL, 'f'},
	        {"output", required_argument, NULL, 'o'},
	        {"help", no_argument, NULL, 'h'},
	        {NULL, 0, NULL, 0},
	};
	const char *config = NULL, *db_path = NULL, *format = "csv",
	           *output = NULL;
	int ch;
	optind = 1;
	while ((ch = getopt_long(argc, argv, "c:o:h", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c': config = optarg; break;
		case 'd': db_path = optarg; break;
		case 'f': format = optarg; break;
		case 'o': output = optarg; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc ||
	    (strcmp(format, "csv") != 0 && strcmp(format, "pdf") != 0)) {
		usage(stderr);
		return 2;
	}
	char err[1024] = "";
	char *db_override = NULL;
	if (db_path && asprintf(&db_override, "server.db=%s", db_path) < 0)
		return 1;
	const char *overrides[3] = {db_override, NULL, NULL};
	if (!config)
		overrides[db_override ? 1 : 0] = "plugins.load=customers";
	struct seula_cli_setup setup;
	sqlite3 *db = NULL;
	char *out = NULL;
	size_t len = 0, persons = 0;
	int status = 1;
	int rc = seula_cli_setup_load(&setup, config, overrides, SEULA_LOG_WARN,
	                              err, sizeof(err));
	const struct seula_loaded_plugin *p =
	        rc == SEULA_OK ? seula_plugins_find(&setup.plugins, "customers")
	                       : NULL;
	if (rc == SEULA_OK && !p) {
		snprintf(err, sizeof(err),
		         "the config does not load the customers plugin");
		rc = SEULA_ENOTFOUND;
	}
	enum seula_labels_format fmt = strcmp(format, "pdf") == 0
	                                       ? SEULA_LABELS_PDF
	                                       : SEULA_LABELS_CSV;
	unsigned char key[SEULA_SECRET_BYTES];
	bool have_key = false, begun = false;
	if (rc == SEULA_OK)
		rc = seula_db_open(&db, setup.cfg.db, false, false,
		                   setup.cfg.synchronous == SEULA_SYNC_FULL,
		                   err, sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_migrate_all(db, &setup.plugins, NULL, err,
		                       sizeof(err));
	if (rc == SEULA_OK) {
		/* Never made here: a key beside a --db other than the
		 * server's would sign an entry its chain cannot verify. */
		rc = seula_secret_load(setup.cfg.secret_file, false, key, err,
		                       sizeof(err));
		have_key = rc == SEULA_OK;
	}
	/* Opened before anything is recorded: a path that cannot be written
	 * records no export. */
	FILE *dest = NULL;
	if (rc == SEULA_OK && !(dest = output ? fopen(output, "wb") : stdout)) {
		snprintf(err, sizeof(err), "%s: cannot write", output);
		rc = SEULA_EIO;
	}
	if (rc == SEULA_OK) {
		rc = seula_db_exec(db, "BEGIN IMMEDIATE", err, sizeof(err));
		begun = rc == SEULA_OK;
	}
	if (rc == SEULA_OK)
		rc = seula_labels_render(db, p->config, fmt, &out, &len,
		                         &persons, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = record(db, key, fmt, persons, err, sizeof(err));
	if (begun)
		rc = rc == SEULA_OK
		             ? seula_db_exec(db, "COMMIT", err, sizeof(err))
		             : (seula_db_exec(db, "ROLLBACK", NULL, 0), rc);
	if (have_key)
		sodium_memzero(key, sizeof(key));
	if (rc == SEULA_OK) {
		bool ok = fwrite(out, 1, len, dest) == len;
		ok = (dest != stdout ? fclose(dest) : fflush(dest)) == 0 && ok;
		dest = NULL;
		if (!ok) {
			snprintf(err, sizeof(err), "%s: cannot write",
			         output ? output : "standard output");
			rc = SEULA_EIO;
		} else {
			fprintf(stderr, "seula: %zu label%s\n", persons,
			        persons == 1 ? "" : "s");
			status = 0;
		}
	}
	if (dest && dest != stdout) {
		fclose(dest);
		remove(output); /* nothing was recorded, so nothing written */
	}
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", err[0] ? err : "labels failed");
	free(out);
	seula_db_close(db);
	seula_cli_setup_free(&setup);
	free(db_override);
	return status;
}
