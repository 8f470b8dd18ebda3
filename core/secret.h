/*
 * secret.h - the server's secret key: 32 random bytes in a file of its own
 * (never in the database), keying the hash chains of the audit log and the
 * consent records, so that someone who can edit the database file cannot
 * recompute a chain.
 */
#ifndef SEULA_SECRET_H
#define SEULA_SECRET_H

#include <stdbool.h>
#include <stddef.h>

#define SEULA_SECRET_BYTES 32

/* Read the key at `path`; when it does not exist and `create`, make it
 * (mode 0600, its folder too).  Refuses a file of another size, or one that
 * others than its owner may read. */
int seula_secret_load(const char *path, bool create,
                      unsigned char key[SEULA_SECRET_BYTES], char *err,
                      size_t errlen);

#endif
