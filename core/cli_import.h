/*
 * cli_import.h - `seula import-log`: an access log's page views through the
 * collect path's pipeline and store.
 */
#ifndef SEULA_CLI_IMPORT_H
#define SEULA_CLI_IMPORT_H

/* argv[0] is "import-log".  Returns the exit status: 0 when the import ran
 * (bad lines included), 1 on config, I/O or database errors, 2 on usage. */
int seula_cli_import_log(int argc, char **argv);

#endif
