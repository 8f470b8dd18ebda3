/*
 * cli_labels.c - `seula labels [--config F] [--db F] [--format csv|pdf]
 * [-o FILE]` (see cli_labels.h).
 *
 * The label settings (font, home country) are the customers plugin's
 * config: the plugin is loaded as serve loads it (without --config, with
 * its defaults) and its settings read through labels.h.  The database is
 * opened read-only: printing labels changes nothing.  The run is not in
 * the audit log, which records staff requests; whoever runs the command
 * already holds the database file.
 */
#include "cli_labels.h"

#include "cli_setup.h"
#include "config.h"
#include "db.h"
#include "host.h"
#include "labels.h"
#include "loader.h"
#include "log.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void usage(FILE *out)
{
	fprintf(out, "usage: seula labels [--config FILE] [--db PATH] "
	             "[--format csv|pdf] [-o FILE]\n"
	             "  postal labels for direct mail (A4 sheets of 3 x 8 "
	             "in the PDF), leaving\n"
	             "  out everyone restricted or who objected to "
	             "publication or direct marketing;\n"
	             "  to standard output without -o\n");
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
	if (rc == SEULA_OK)
		rc = seula_db_open(&db, setup.cfg.db, true, false, 0, err,
		                   sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_labels_render(
		        db, p->config,
		        strcmp(format, "pdf") == 0 ? SEULA_LABELS_PDF
		                                   : SEULA_LABELS_CSV,
		        &out, &len, &persons, err, sizeof(err));
	if (rc == SEULA_OK) {
		FILE *f = output ? fopen(output, "wb") : stdout;
		if (!f || fwrite(out, 1, len, f) != len ||
		    (f != stdout ? fclose(f) : fflush(f)) != 0) {
			snprintf(err, sizeof(err), "%s: cannot write",
			         output ? output : "standard output");
			rc = SEULA_EIO;
		} else {
			fprintf(stderr, "seula: %zu label%s\n", persons,
			        persons == 1 ? "" : "s");
			status = 0;
		}
	}
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", err[0] ? err : "labels failed");
	free(out);
	seula_db_close(db);
	seula_cli_setup_free(&setup);
	free(db_override);
	return status;
}
