/*
 * db.c - SQLite connections, and the instance lock beside a database.
 */
#include "db.h"

#include "audit.h"

#include <seula/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* mkdir -p for the folder holding `path`. */
static int make_parent(const char *path, char *err, size_t errlen)
{
	char *copy = strdup(path);
	if (!copy)
		return SEULA_ENOMEM;
	char *slash = strrchr(copy, '/');
	if (!slash || slash == copy) {
		free(copy);
		return SEULA_OK;
	}
	*slash = '\0';
	for (char *p = copy + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		mkdir(copy, 0750);
		*p = '/';
	}
	if (mkdir(copy, 0750) != 0 && errno != EEXIST) {
		snprintf(err, errlen, "%s: cannot create folder: %s", copy,
		         strerror(errno));
		free(copy);
		return SEULA_EIO;
	}
	free(copy);
	return SEULA_OK;
}

int seula_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s", msg ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return SEULA_EIO;
	}
	return SEULA_OK;
}

int seula_db_int(sqlite3 *db, const char *sql, int64_t *out, char *err,
                 size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int step = SQLITE_ERROR;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK &&
	    (step = sqlite3_step(st)) == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	else
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return step == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

int seula_db_init_library(void)
{
	if (sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0) != SQLITE_OK ||
	    sqlite3_initialize() != SQLITE_OK)
		return SEULA_EIO;
	return SEULA_OK;
}

int seula_db_open(sqlite3 **out, const char *path, bool readonly, bool create,
                  int synchronous_full, char *err, size_t errlen)
{
	*out = NULL;
	if (!create) {
		int rc = seula_db_require(path, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	}
	if (create && !readonly) {
		int rc = make_parent(path, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	}
	int flags = readonly ? SQLITE_OPEN_READONLY
	                     : SQLITE_OPEN_READWRITE |
	                               (create ? SQLITE_OPEN_CREATE : 0);
	/* Each connection is used by one thread at a time. */
	flags |= SQLITE_OPEN_NOMUTEX;
	sqlite3 *db = NULL;
	if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: cannot open database: %s", path,
		         db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return SEULA_EIO;
	}
	sqlite3_extended_result_codes(db, 1);
	sqlite3_busy_timeout(db, SEULA_DB_BUSY_TIMEOUT_MS);
	if (seula_audit_sql_register(db) != SEULA_OK) {
		snprintf(err, errlen, "%s: %s", path, sqlite3_errmsg(db));
		sqlite3_close(db);
		return SEULA_EIO;
	}
	char e[256];
	const char *setup =
	        readonly ? "PRAGMA query_only=ON; PRAGMA foreign_keys=ON; "
	                   "PRAGMA mmap_size=2147418112;"
	        : synchronous_full
	                ? "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; "
	                  "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; "
	                  "PRAGMA temp_store=MEMORY;"
	                : "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; "
	                  "PRAGMA foreign_keys=ON; PRAGMA secure_delete=ON; "
	                  "PRAGMA temp_store=MEMORY;";
	if (seula_db_exec(db, setup, e, sizeof(e)) != SEULA_OK) {
		snprintf(err, errlen, "%s: %s", path, e);
		sqlite3_close(db);
		return SEULA_EIO;
	}
	if (!readonly) {
		/* journal_mode answers with the mode it got; a file on a
		 * filesystem without shared memory stays in another mode. */
		sqlite3_stmt *st = NULL;
		bool wal = false;
		if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st,
		                       NULL) == SQLITE_OK &&
		    sqlite3_step(st) == SQLITE_ROW)
			wal = strcmp((const char *)sqlite3_column_text(st, 0),
			             "wal") == 0;
		sqlite3_finalize(st);
		if (!wal) {
			snprintf(
			        err, errlen,
			        "%s: the database could not be put in WAL mode",
			        path);
			sqlite3_close(db);
			return SEULA_EIO;
		}
	}
	*out = db;
	return SEULA_OK;
}

void seula_db_close(sqlite3 *db)
{
	/* Plugins may keep statements prepared on the writer's connection
	 * until their shutdown, which runs after the store has closed it:
	 * close_v2 frees the connection once the last one is finalized,
	 * where sqlite3_close would fail with SQLITE_BUSY and leak it. */
	sqlite3_close_v2(db);
}

int seula_db_require(const char *path, char *err, size_t errlen)
{
	struct stat st;
	/* SQLite takes an empty file for an empty database, and would fill
	 * it: as much a new database as a missing file. */
	if (stat(path, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0) {
		snprintf(err, errlen,
		         "%s is an empty file, not a database: the server "
		         "creates it at its first start (or seula migrate); "
		         "check db in the config / --db",
		         path);
		return SEULA_ENOTFOUND;
	}
	/* Any other error is SQLite's to tell when it opens the file. */
	if (stat(path, &st) == 0 || errno != ENOENT)
		return SEULA_OK;
	snprintf(err, errlen,
	         "no database at %s: the server creates it at its first "
	         "start (or seula migrate); check db in the config / --db",
	         path);
	return SEULA_ENOTFOUND;
}

int seula_db_lock(int *fd, const char *path, const char *command, char *err,
                  size_t errlen)
{
	*fd = -1;
	int rc = make_parent(path, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	char *name = NULL;
	if (asprintf(&name, "%s%s", path, SEULA_DB_LOCK_SUFFIX) < 0)
		return SEULA_ENOMEM;
	int f = open(name, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (f < 0) {
		snprintf(err, errlen, "%s: cannot open the lock file: %s", name,
		         strerror(errno));
		rc = SEULA_EIO;
	} else if (flock(f, LOCK_EX | LOCK_NB) != 0) {
		int e = errno;
		char holder[64] = "";
		ssize_t n = e == EWOULDBLOCK
		                    ? pread(f, holder, sizeof(holder) - 1, 0)
		                    : -1;
		long pid = 0;
		char cmd[16] = "";
		if (n > 0) {
			holder[n] = '\0';
			sscanf(holder, "%ld %15s", &pid, cmd);
		}
		if (e != EWOULDBLOCK)
			snprintf(err, errlen, "%s: cannot lock: %s", name,
			         strerror(e));
		else if (strcmp(cmd, "migrate") == 0)
			snprintf(err, errlen,
			         "seula migrate is migrating %s (pid %ld): "
			         "wait for it to end",
			         path, pid);
		else if (pid > 0)
			snprintf(err, errlen,
			         "another seula server is using %s (pid %ld)",
			         path, pid);
		else
			snprintf(err, errlen,
			         "another seula server is using %s (it holds "
			         "%s)",
			         path, name);
		rc = e == EWOULDBLOCK ? SEULA_EBUSY : SEULA_EIO;
	} else {
		/* Who holds it, for the next one to say. */
		char holder[64];
		int len = snprintf(holder, sizeof(holder), "%ld %s\n",
		                   (long)getpid(), command);
		if (ftruncate(f, 0) != 0 ||
		    pwrite(f, holder, (size_t)len, 0) != len) {
			snprintf(err, errlen, "%s: cannot write: %s", name,
			         strerror(errno));
			rc = SEULA_EIO;
		}
	}
	if (rc == SEULA_OK)
		*fd = f;
	else if (f >= 0)
		close(f);
	free(name);
	return rc;
}

bool seula_db_locked_by_other(const char *path, long *pid, char *cmd,
                              size_t cmdlen)
{
	*pid = 0;
	if (cmdlen)
		cmd[0] = '\0';
	char *name = NULL;
	if (asprintf(&name, "%s%s", path, SEULA_DB_LOCK_SUFFIX) < 0)
		return false;
	int f = open(name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	free(name);
	if (f < 0)
		return false;
	char holder[64];
	ssize_t n = pread(f, holder, sizeof(holder) - 1, 0);
	char c[16] = "";
	if (n > 0) {
		holder[n] = '\0';
		sscanf(holder, "%ld %15s", pid, c);
	}
	/* flock() would refuse this process too, from another descriptor. */
	bool other = *pid != (long)getpid() &&
	             flock(f, LOCK_SH | LOCK_NB) != 0 && errno == EWOULDBLOCK;
	close(f);
	if (other && cmdlen)
		snprintf(cmd, cmdlen, "%s", c);
	return other;
}

void seula_db_unlock(int fd)
{
	/* Closing the only descriptor of the open file releases flock. */
	if (fd >= 0)
		close(fd);
}
