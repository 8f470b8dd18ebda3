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
 * what ran (may be NULL).  Without the key (seula_migrate_all's), core
 * migration 7 refuses a database that holds erased consent records, and
 * 9 one that holds visitors' standing consent. */
int seula_migrate(sqlite3 *db, const char *component,
                  const struct seula_migration *migrations, size_t n,
                  int *applied, char *err, size_t errlen);

/* Core first, then each plugin of `plugins` (may be NULL: core only) in
 * load order.  `key`, the server's secret key or NULL: core migration 7
 * signs with it, in its own transaction, the consent records erased
 * before it (consent.h, seula_consent_sign_erased()), and migration 9 the
 * visitors' standing consent (seula_consent_sign_states()); each refuses
 * without it when there are any. */
int seula_migrate_all(sqlite3 *db, const struct seula_plugins *plugins,
                      const unsigned char *key, int *applied, char *err,
                      size_t errlen);

/* seula_migrate_all() with the key of `secret_file` when it can be read,
 * else none (never made here): for the commands that upgrade a database
 * beside the server's (seula migrate, seula retention). */
int seula_migrate_all_keyed(sqlite3 *db, const struct seula_plugins *plugins,
                            const char *secret_file, int *applied, char *err,
                            size_t errlen);

#endif
