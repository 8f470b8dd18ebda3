/*
 * secret.h - the server's secret key: 32 random bytes in a file of its own
 * (never in the database), keying the hash chains of the audit log and the
 * consent records, so that someone who can edit the database file cannot
 * recompute a chain.
 */
#ifndef SEULA_SECRET_H
#define SEULA_SECRET_H

#include <sqlite3.h>
#include <stddef.h>

#define SEULA_SECRET_BYTES 32

/* Read the key at `path`.  Refuses a missing file (SEULA_ENOTFOUND, err
 * saying where a key comes from), one of another size, or one that others
 * than its owner may read. */
int seula_secret_load(const char *path, unsigned char key[SEULA_SECRET_BYTES],
                      char *err, size_t errlen);

/* Read the key at `path` for the database `db`, making it (mode 0600, its
 * folder too) when it does not exist and `db` holds nothing signed with a
 * key yet: a new database.  When `db` holds rows the key signs (the audit
 * log, the consent records, the standing consents, the chains' heads) and
 * the key is missing, the database was restored without its key, or the
 * path is wrong: a new key would leave every chain unverifiable for good,
 * so it is refused with SEULA_ECONFLICT and err naming the key's path.
 * The one place a key is ever made. */
int seula_secret_open(sqlite3 *db, const char *path,
                      unsigned char key[SEULA_SECRET_BYTES], char *err,
                      size_t errlen);

#endif
