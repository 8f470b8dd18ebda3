/*
 * cli_staff.h - the command line's staff, audit and route commands:
 *
 *   seula user add NAME --role ROLE     seula user passwd NAME
 *   seula user list                     seula user role NAME ROLE
 *   seula user disable NAME             seula user enable NAME
 *   seula user keys [NAME]              seula user revoke-key ID
 *   seula audit verify                  seula routes
 *   seula consent verify
 *
 * A password is asked twice with echo off on a terminal, or read as one
 * line from standard input for scripts.  Every change is written to the
 * audit log, as done by "cli:<unix user>".  They work beside a running
 * server (SQLite serialises the writes); a disabled account or a changed
 * role reaches its open sessions within [auth] session_sync.
 */
#ifndef SEULA_CLI_STAFF_H
#define SEULA_CLI_STAFF_H

#include "config.h"
#include "router.h"

#include <stdio.h>

/* argv holds the words after "user" / "audit" (the subcommand first, the
 * options already taken out); returns the exit status. */
int seula_cli_user(int argc, char **argv, const char *role,
                   const struct seula_config *cfg);
int seula_cli_audit(int argc, char **argv, const struct seula_config *cfg);
/* `seula consent verify`: the consent records' chain. */
int seula_cli_consent_verify(const struct seula_config *cfg);
/* `seula consent repair`: every standing consent verify names rebuilt from
 * the records (seula_consent_repair_states()), in one transaction. */
int seula_cli_consent_repair(const struct seula_config *cfg);
/* Every route the server would answer, one JSON line each: the core's and
 * the plugins' (in `router`). */
int seula_cli_routes(const struct seula_router *router, FILE *out);

#endif
