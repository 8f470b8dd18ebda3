/* Unit tests: core/db.c's process set-up and connections. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "db.h"
#include "seula/plugin.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* Run first, in a process that has not used SQLite: no statistics are
 * kept after it (no allocation takes their mutex), and it cannot be
 * done twice (SQLite refuses configuration once initialised). */
static void library_set_up_once_without_memory_statistics(void **state)
{
	(void)state;
	assert_int_equal(seula_db_init_library(), SEULA_OK);
	char dir[] = "/tmp/seula-unit-db.XXXXXX", path[64];
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/t.db", dir);
	sqlite3 *db;
	char err[256];
	assert_int_equal(
	        seula_db_open(&db, path, false, true, 0, err, sizeof(err)),
	        SEULA_OK);
	assert_int_equal(
	        seula_db_exec(db,
	                      "CREATE TABLE t (x TEXT); WITH RECURSIVE n(i) AS "
	                      "(SELECT 1 UNION ALL SELECT i + 1 FROM n "
	                      "WHERE i < 100) INSERT INTO t SELECT "
	                      "printf('%.500c', 'x') FROM n;",
	                      err, sizeof(err)),
	        SEULA_OK);
	int64_t n = 0;
	assert_int_equal(seula_db_int(db, "SELECT count(*) FROM t", &n, err,
	                              sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(n, 100);
	assert_int_equal(sqlite3_memory_used(), 0);
	seula_db_close(db);
	assert_int_equal(seula_db_init_library(), SEULA_EIO);
	for (const char *const *x =
	             (const char *const[]){"", "-wal", "-shm", NULL};
	     *x; x++) {
		char f[80];
		snprintf(f, sizeof(f), "%s%s", path, *x);
		unlink(f);
	}
	assert_int_equal(rmdir(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(library_set_up_once_without_memory_statistics),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
