/*
 * migrate.h - numbered schema migrations, per component ("core" or a
 * plugin's name), each applied in its own transaction and recorded in
 * seula_migrations.
 */
#ifndef SEULA_MIGRATE_H
#define SEULA_MIGRATE_H

#include "loader.h"

#include <seula/plugin.h>
#include <sqlite3.h>

/* The core's own migrations. */
extern const struct seula_migration seula_core_migrations[];
extern const size_t seula_core_n_migrations;

/* Apply the missing migrations of one component.  Refuses a database that
 * has a version this binary does not know (a downgrade).  *applied counts
 * what ran (may be NULL). */
int seula_migrate(sqlite3 *db, const char *component,
                  const struct seula_migration *migrations, size_t n,
                  int *applied, char *err, size_t errlen);

/* Core first, then each plugin in load order. */
int seula_migrate_all(sqlite3 *db, const struct seula_plugins *plugins,
                      int *applied, char *err, size_t errlen);

#endif
