/*
 * db.h - opening SQLite connections the way Seula uses them.
 *
 * The writer connection: WAL, the configured synchronous level, foreign keys,
 * secure_delete (erased data is overwritten, not left in free pages).
 * Reader connections: read-only, query_only.
 */
#ifndef SEULA_DB_H
#define SEULA_DB_H

#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Set SQLite up for the process: once, first, before any thread uses
 * SQLite.  Seula never reads SQLite's memory statistics, and keeping them
 * takes a process-wide mutex on every allocation, which the writer and
 * the report threads would share.  SEULA_EIO when SQLite was initialised
 * already or refuses. */
int seula_db_init_library(void);

/* How long a connection waits for another's lock before SQLITE_BUSY. */
#define SEULA_DB_BUSY_TIMEOUT_MS 5000

/* Opens (creating the file and its folder when `create`).  On error *out is
 * NULL and err says why; without `create`, a database that does not exist
 * is refused as seula_db_require() refuses it. */
int seula_db_open(sqlite3 **out, const char *path, bool readonly, bool create,
                  int synchronous_full, char *err, size_t errlen);
void seula_db_close(sqlite3 *db);

/* SEULA_OK when there is a file at `path`; SEULA_ENOTFOUND, with err
 * saying so, when there is none.  Only `seula serve` and `seula migrate`
 * make a database: every other command refuses one that does not exist,
 * which is a mistyped or relative path no server reads. */
int seula_db_require(const char *path, char *err, size_t errlen);

/* The instance lock of the database at `path`: flock(2) on the file
 * `path` + SEULA_DB_LOCK_SUFFIX beside it (made with its folder when
 * missing, never removed), held by `seula serve` for as long as it runs
 * and by `seula migrate` while it migrates, so that neither starts on a
 * database a server is using.  Not a lock on the database file itself:
 * SQLite locks it with POSIX locks, which closing any other descriptor of
 * the file would drop.  The holder's pid and `command` are written in the
 * file.  On success *fd holds the lock until seula_db_unlock(); when
 * another process holds it, SEULA_EBUSY with err naming it. */
#define SEULA_DB_LOCK_SUFFIX "-lock"
int seula_db_lock(int *fd, const char *path, const char *command, char *err,
                  size_t errlen);
/* Releases the lock (a negative fd: none). */
void seula_db_unlock(int fd);
/* Whether another process holds the lock of the database at `path`: true
 * with its pid and command (cmd "" when the file does not say); false
 * when none does, or this process holds it. */
bool seula_db_locked_by_other(const char *path, long *pid, char *cmd,
                              size_t cmdlen);

/* Run SQL that returns no rows; err gets SQLite's message. */
int seula_db_exec(sqlite3 *db, const char *sql, char *err, size_t errlen);

/* The first column of the one row `sql` returns (a count), in *out;
 * SEULA_EIO with SQLite's message in err when it cannot. */
int seula_db_int(sqlite3 *db, const char *sql, int64_t *out, char *err,
                 size_t errlen);

#endif
