/*
 * secret.c - the key file, and the one place it is made.
 */
#include "secret.h"

#include <seula/plugin.h>

#include <stdbool.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The key written whole to a temporary file, then linked to `path`: a
 * process starting at the same moment finds either no key or all of it
 * (it reads the one that was linked first), never a part.  The folder is
 * synced too: rows signed with a key a crash lost could not be verified. */
static int create_key(const char *path, unsigned char *key, char *err,
                      size_t errlen)
{
	char *dir = strdup(path), *tmp = NULL;
	if (!dir || asprintf(&tmp, "%s.XXXXXX", path) < 0) {
		free(dir);
		return SEULA_ENOMEM;
	}
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	} else {
		strcpy(dir, slash ? "/" : ".");
	}
	int rc = SEULA_EIO;
	int fd = mkstemp(tmp); /* 0600 */
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create the secret key: %s",
		         path, strerror(errno));
		goto out;
	}
	randombytes_buf(key, SEULA_SECRET_BYTES);
	bool written =
	        write(fd, key, SEULA_SECRET_BYTES) == SEULA_SECRET_BYTES &&
	        fsync(fd) == 0;
	close(fd);
	if (!written) {
		snprintf(err, errlen, "%s: cannot write the secret key", path);
	} else if (link(tmp, path) == 0) {
		int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		rc = dfd >= 0 && fsync(dfd) == 0 ? SEULA_OK : SEULA_EIO;
		if (dfd >= 0)
			close(dfd);
		if (rc != SEULA_OK)
			snprintf(err, errlen, "%s: cannot sync its folder",
			         path);
	} else if (errno == EEXIST) {
		/* Made by another process at the same moment: that one is
		 * it. */
		rc = seula_secret_load(path, key, err, errlen);
	} else {
		snprintf(err, errlen, "%s: cannot create the secret key: %s",
		         path, strerror(errno));
	}
	unlink(tmp);
out:
	if (rc != SEULA_OK)
		sodium_memzero(key, SEULA_SECRET_BYTES);
	free(tmp);
	free(dir);
	return rc;
}

int seula_secret_load(const char *path, unsigned char key[SEULA_SECRET_BYTES],
                      char *err, size_t errlen)
{
	/* O_NONBLOCK: a FIFO is refused below rather than waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT) {
		/* Commands that sign but never make a key (report, labels,
		 * retention) say where one comes from. */
		snprintf(err, errlen,
		         "%s: the secret key is missing: the server makes it "
		         "at its first start on a new database (or seula user "
		         "add does); a restored database needs its key "
		         "restored beside it",
		         path);
		return SEULA_ENOTFOUND;
	}
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the secret key: %s",
		         path, strerror(errno));
		return SEULA_EIO;
	}
	struct stat st;
	ssize_t n;
	int rc = SEULA_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != SEULA_SECRET_BYTES) {
		snprintf(err, errlen,
		         "%s: not a secret key (it must be a file of %d "
		         "bytes)",
		         path, SEULA_SECRET_BYTES);
		rc = SEULA_EINVAL;
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
		         "%s: others may read the secret key; chmod 600 it",
		         path);
		rc = SEULA_EINVAL;
	} else if ((n = read(fd, key, SEULA_SECRET_BYTES)) !=
	           SEULA_SECRET_BYTES) {
		snprintf(err, errlen, "%s: cannot read the secret key: %s",
		         path, n < 0 ? strerror(errno) : "it is shorter");
		rc = SEULA_EIO;
	}
	close(fd);
	return rc;
}

/* What the key signs: a row in any of these was written with a key. */
static const char *const keyed_tables[] = {
        "audit_log",        /* each row's MAC */
        "chain_heads",      /* the keyed heads of the chains */
        "consent_records",  /* each record's MACs */
        "consent_visitors", /* each standing consent's MAC */
};

/* The first of keyed_tables that has a row, in *out (NULL: none). */
static int signed_table(sqlite3 *db, const char **out, char *err, size_t errlen)
{
	*out = NULL;
	for (size_t i = 0; i < sizeof(keyed_tables) / sizeof(*keyed_tables);
	     i++) {
		const char *t = keyed_tables[i];
		/* A table not made yet (a new database) has no row. */
		if (sqlite3_table_column_metadata(db, "main", t, NULL, NULL,
		                                  NULL, NULL, NULL,
		                                  NULL) != SQLITE_OK)
			continue;
		char *sql =
		        sqlite3_mprintf("SELECT EXISTS (SELECT 1 FROM %w)", t);
		if (!sql)
			return SEULA_ENOMEM;
		sqlite3_stmt *st = NULL;
		int step =
		        sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK
		                ? sqlite3_step(st)
		                : SQLITE_ERROR;
		bool found =
		        step == SQLITE_ROW && sqlite3_column_int(st, 0) != 0;
		if (step != SQLITE_ROW)
			snprintf(err, errlen, "%s: %s", t, sqlite3_errmsg(db));
		sqlite3_finalize(st);
		sqlite3_free(sql);
		if (step != SQLITE_ROW)
			return SEULA_EIO;
		if (found) {
			*out = t;
			return SEULA_OK;
		}
	}
	return SEULA_OK;
}

int seula_secret_open(sqlite3 *db, const char *path,
                      unsigned char key[SEULA_SECRET_BYTES], char *err,
                      size_t errlen)
{
	struct stat st;
	if (lstat(path, &st) == 0 || errno != ENOENT)
		return seula_secret_load(path, key, err, errlen);
	const char *table = NULL;
	int rc = signed_table(db, &table, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	if (table) {
		const char *file = sqlite3_db_filename(db, "main");
		snprintf(
		        err, errlen,
		        "%s: the secret key is missing, but the database %s "
		        "holds rows signed with it (%s): restore the key "
		        "together with the database (a new key would leave the "
		        "audit log and the consent records unverifiable for "
		        "good)",
		        path, file && file[0] ? file : "", table);
		return SEULA_ECONFLICT;
	}
	return create_key(path, key, err, errlen);
}
