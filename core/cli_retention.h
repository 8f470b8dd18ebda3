/*
 * cli_retention.h - `seula retention run [--config F] [--db F] [--dry-run]`:
 * one retention pass by hand, the same rules as the server's tasks:
 * customers past `[plugin.customers] retention` without a legal hold (the
 * plugin's own retention.c, linked in), raw events past their site's
 * events_retention, and expired staff sessions.  All of it in one
 * transaction; the WAL is truncated after it so deleted rows do not linger
 * there.  The dry run counts the same things (and lists the customers'
 * ids) on a connection that cannot write (PRAGMA query_only).
 */
#ifndef SEULA_CLI_RETENTION_H
#define SEULA_CLI_RETENTION_H

/* argv[0] is "retention".  Returns the exit status: 0 when the run (or dry
 * run) finished, 1 on config or database errors, 2 on usage. */
int seula_cli_retention(int argc, char **argv);

#endif
