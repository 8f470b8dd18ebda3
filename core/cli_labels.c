/*
 * cli_labels.c - `seula labels [--config F] [--db F] [--format csv|pdf]
 * [-o FILE]` (see cli_labels.h).
 *
 * The label settings (font, home country) are the customers plugin's
 * config: the plugin is loaded as serve loads it (without --config, with
 * its defaults) and its settings read through labels.h.  A run is
 * recorded as GET /api/labels records one: each person on the labels in
 * customer_label_exports, and an entry in the audit log by "cli:USER",
 * committed before the labels are written out.  So it needs the server's
 * key and a database the server has brought up to date; it changes no
 * schema itself.
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
#include "outfile.h"
#include "secret.h"

#include <errno.h>
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

/* Whether the database file at `path` has table `name`, read-only:
 * SEULA_OK, SEULA_ENOTFOUND, or SEULA_EIO with err set (the file could
 * not be read: a run beside others waits for them as the writer does, and
 * says what failed rather than that the table is missing). */
static int has_table(const char *path, const char *name, char *err,
                     size_t errlen)
{
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_busy_timeout(db, 5000);
		rc = sqlite3_table_column_metadata(db, NULL, name, NULL, NULL,
		                                   NULL, NULL, NULL, NULL);
	}
	/* SQLITE_ERROR: the schema was read, and has no such table. */
	int out = rc == SQLITE_OK      ? SEULA_OK
	          : rc == SQLITE_ERROR ? SEULA_ENOTFOUND
	                               : SEULA_EIO;
	if (out == SEULA_EIO)
		snprintf(err, errlen, "%s: cannot be read: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
	sqlite3_close(db);
	return out;
}

/* Who was on the labels, and the audit entry, inside the open
 * transaction; the count must match the labels rendered. */
static int record(sqlite3 *db, const struct seula_labels_settings *s,
                  const unsigned char *key, enum seula_labels_format f,
                  int64_t now, size_t persons, char *err, size_t errlen)
{
	const struct passwd *pw = getpwuid(geteuid());
	char actor[80], detail[96];
	snprintf(actor, sizeof(actor), "cli:%s", pw ? pw->pw_name : "unknown");
	size_t recorded = 0;
	char *ids = NULL;
	int rc = seula_labels_record(db, s, actor, "command line", f, now,
	                             &recorded, &ids, err, errlen);
	if (rc == SEULA_OK && recorded != persons) {
		snprintf(err, errlen, "%zu labels but %zu persons recorded",
		         persons, recorded);
		rc = SEULA_EIO;
	}
	if (rc != SEULA_OK) {
		free(ids);
		return rc;
	}
	snprintf(detail, sizeof(detail),
	         "labels %zu person%s (each in customer_label_exports), %s",
	         persons, persons == 1 ? "" : "s",
	         f == SEULA_LABELS_PDF ? "pdf" : "csv");
	struct seula_audit_entry e = {
	        .ts_ms = now,
	        .staff_name = actor,
	        .action = "export",
	        .route = "command line: seula labels",
	        .subject = ids,
	        .outcome = "ok",
	        .detail = detail,
	};
	rc = seula_audit_append(db, key, &e, err, errlen);
	free(ids);
	return rc;
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
		/* "-": standard output, as without -o. */
		case 'o': output = strcmp(optarg, "-") ? optarg : NULL; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	const char *bad =
	        optind != argc ? "unexpected arguments after the options"
	        : strcmp(format, "csv") != 0 && strcmp(format, "pdf") != 0
	                ? "--format must be csv or pdf"
	                : NULL;
	if (bad) {
		fprintf(stderr, "seula labels: %s\n\n", bad);
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
		rc = seula_db_require(setup.cfg.db, err, sizeof(err));
	if (rc == SEULA_OK) {
		/* Never made here: a key beside a --db other than the
		 * server's would sign an entry its chain cannot verify.  It
		 * also tells a Seula database from another file before
		 * anything is opened for writing. */
		rc = seula_secret_load(setup.cfg.secret_file, key, err,
		                       sizeof(err));
		have_key = rc == SEULA_OK;
	}
	/* The schema is the server's to change (serve, seula migrate): a
	 * database without the table is refused, not upgraded, and looked
	 * at read-only first, so that another file is not even put in WAL
	 * mode. */
	if (rc == SEULA_OK) {
		rc = has_table(setup.cfg.db, "customer_label_exports", err,
		               sizeof(err));
		if (rc == SEULA_ENOTFOUND)
			snprintf(err, sizeof(err),
			         "%s has no customer_label_exports table "
			         "(customers migration 4): run `seula migrate` "
			         "with the server's config, or restart the "
			         "server, first",
			         setup.cfg.db);
	}
	if (rc == SEULA_OK)
		rc = seula_db_open(&db, setup.cfg.db, false, false,
		                   setup.cfg.synchronous == SEULA_SYNC_FULL,
		                   err, sizeof(err));
	/* Written whole or not at all. */
	struct seula_outfile dest = {.f = stdout};
	if (rc == SEULA_OK && output)
		rc = seula_outfile_open(&dest, output, &setup.cfg, err,
		                        sizeof(err));
	if (rc == SEULA_OK) {
		rc = seula_db_exec(db, "BEGIN IMMEDIATE", err, sizeof(err));
		begun = rc == SEULA_OK;
	}
	int64_t now = seula_clock_ms();
	if (rc == SEULA_OK)
		rc = seula_labels_render(db, p->config, fmt, now, &out, &len,
		                         &persons, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = record(db, p->config, key, fmt, now, persons, err,
		            sizeof(err));
	if (begun)
		rc = rc == SEULA_OK
		             ? seula_db_exec(db, "COMMIT", err, sizeof(err))
		             : (seula_db_exec(db, "ROLLBACK", NULL, 0), rc);
	if (have_key)
		sodium_memzero(key, sizeof(key));
	if (rc == SEULA_OK) {
		fwrite(out, 1, len, dest.f);
		rc = seula_outfile_commit(&dest, err, sizeof(err));
		if (rc != SEULA_OK) {
			size_t n = strlen(err);
			snprintf(err + n, sizeof(err) - n,
			         " (the export is recorded)");
		} else {
			fprintf(stderr, "seula: %zu label%s\n", persons,
			        persons == 1 ? "" : "s");
			status = 0;
		}
	}
	seula_outfile_close(&dest);
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", err[0] ? err : "labels failed");
	free(out);
	seula_db_close(db);
	seula_cli_setup_free(&setup);
	free(db_override);
	return status;
}
