/*
 * test_analytics.c - the analytics plugin's sketches and report arithmetic:
 * HyperLogLog error and blob formats, and the hour/day/month pieces a range
 * is cut into, checked on a year of synthetic rollup rows whose true sums
 * are known; the writer's in-memory tables (rollup rows summed per key,
 * open visits per visitor) against plain arrays doing the same.  The schema
 * comes from the built plugin's own migrations.
 */
#include "blocks.h"
#include "db.h"
#include "event.h"
#include "gather.h"
#include "groups.h"
#include "hll.h"
#include "loader.h"
#include "migrate.h"
#include "openvisits.h"
#include "query.h"
#include "zone.h"

#include <seula/plugin.h>

#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <sodium.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

static uint64_t splitmix(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void hll_error_within_bounds(void **state)
{
	(void)state;
	static const long sizes[] = {1, 10, 100, 1000, 10000, 100000, 1000000};
	uint64_t seed = 42;
	for (size_t i = 0; i < sizeof(sizes) / sizeof(sizes[0]); i++) {
		struct seula_hll *h = calloc(1, sizeof(*h));
		assert_non_null(h);
		for (long k = 0; k < sizes[i]; k++) {
			uint64_t x = splitmix(&seed);
			seula_hll_add_hash(h, x);
			seula_hll_add_hash(h, x); /* duplicates do not count */
		}
		double est = seula_hll_count(h);
		double err = fabs(est - (double)sizes[i]) / (double)sizes[i];
		/* Four standard errors (1.04 / 64), deterministic seed. */
		if (err > 4 * 0.01625) {
			fail_msg("n=%ld: estimate %.0f, error %.4f", sizes[i],
			         est, err);
		}
		/* Linear counting makes small sets nearly exact. */
		if (sizes[i] <= 100)
			assert_true(fabs(est - (double)sizes[i]) <=
			            1 + 0.01 * (double)sizes[i]);
		free(h);
	}
}

/* Visitors that are small numbers (a forgotten visit's id) count as
 * hashes do; a SipHash-like visitor goes in as it is, so rollups written
 * before keep meaning the same visitors. */
static void hll_small_visitors_spread(void **state)
{
	(void)state;
	struct seula_hll *h = calloc(1, sizeof(*h));
	assert_non_null(h);
	for (int64_t id = 1; id <= 5000; id++)
		seula_hll_add_hash(h, seula_hll_visitor_hash(id));
	double est = seula_hll_count(h);
	if (fabs(est - 5000) > 4 * 0.01625 * 5000)
		fail_msg("5000 visit ids counted as %.0f", est);
	free(h);
	uint64_t seed = 7;
	for (int i = 0; i < 1000; i++) {
		uint64_t x = splitmix(&seed) | (uint64_t)1 << 63;
		assert_true(seula_hll_visitor_hash((int64_t)x) == x);
	}
	assert_true(seula_hll_visitor_hash(INT64_MAX) == (uint64_t)INT64_MAX);
}

/* A blob built one hash at a time (sparse, then dense) holds the same
 * registers as the sketch built in memory. */
static void hll_blob_matches_memory(void **state)
{
	(void)state;
	struct seula_hll *mem = calloc(1, sizeof(*mem));
	struct seula_hll *back = calloc(1, sizeof(*back));
	assert_non_null(mem);
	assert_non_null(back);
	uint8_t *blob = NULL;
	size_t len = 0;
	uint64_t seed = 7;
	bool saw_sparse = false;
	for (int k = 0; k < 5000; k++) {
		uint64_t x = splitmix(&seed);
		seula_hll_add_hash(mem, x);
		uint8_t *next;
		size_t next_len;
		assert_true(seula_hll_blob_add(blob, len, x, &next, &next_len));
		free(blob);
		blob = next;
		len = next_len;
		saw_sparse |= len < SEULA_HLL_M;
		memset(back, 0, sizeof(*back));
		assert_true(seula_hll_merge_blob(back, blob, len));
		if (k % 500 == 0 || k == 4999)
			assert_memory_equal(back->reg, mem->reg, SEULA_HLL_M);
	}
	assert_true(saw_sparse);
	assert_int_equal(len, SEULA_HLL_M);
	free(blob);
	free(mem);
	free(back);
}

static void hll_union_of_blobs(void **state)
{
	(void)state;
	uint8_t *a = NULL, *b = NULL, *next;
	size_t la = 0, lb = 0, ln;
	uint64_t seed = 1;
	for (int k = 0; k < 3000; k++) {
		uint64_t x = splitmix(&seed);
		assert_true(seula_hll_blob_add(a, la, x, &next, &ln));
		free(a);
		a = next, la = ln;
		if (k % 3 == 0) { /* a third of a is in b too */
			assert_true(seula_hll_blob_add(b, lb, x, &next, &ln));
			free(b);
			b = next, lb = ln;
		}
	}
	for (int k = 0; k < 2000; k++) {
		assert_true(
		        seula_hll_blob_add(b, lb, splitmix(&seed), &next, &ln));
		free(b);
		b = next, lb = ln;
	}
	struct seula_hll *u = calloc(1, sizeof(*u));
	assert_non_null(u);
	assert_true(seula_hll_merge_blob(u, a, la));
	assert_true(seula_hll_merge_blob(u, b, lb));
	double est = seula_hll_count(u);
	assert_true(fabs(est - 5000) / 5000 < 4 * 0.01625);
	free(a);
	free(b);
	free(u);
}

/* Run `sql` (any number of statements), which must succeed. */
static void exec_ok(sqlite3 *db, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("%s: %s", sql, msg ? msg : "?");
}

/* to_blob is sparse while it can be and always reads back the same; the
 * SQL aggregate and union agree with the sketch built in memory. */
static void hll_to_blob_and_sql_union(void **state)
{
	(void)state;
	uint64_t seed = 11;
	struct seula_hll *h = calloc(1, sizeof(*h));
	struct seula_hll *back = calloc(1, sizeof(*back));
	assert_non_null(h);
	assert_non_null(back);
	static uint64_t hashes[3000 * 2];
	for (int k = 1; k <= 3000; k++) {
		hashes[2 * k - 2] = hashes[2 * k - 1] = splitmix(&seed);
		seula_hll_add_hash(h, hashes[2 * k - 2]);
		if (k != 10 && k != 500 && k != 3000)
			continue;
		uint8_t *blob, *of;
		size_t len, of_len;
		assert_true(seula_hll_to_blob(h, &blob, &len));
		if (k == 10)
			assert_int_equal(len, 40);
		if (k == 3000)
			assert_int_equal(len, SEULA_HLL_M);
		memset(back, 0, sizeof(*back));
		assert_true(seula_hll_merge_blob(back, blob, len));
		assert_memory_equal(back->reg, h->reg, SEULA_HLL_M);
		/* Built from the hashes (each twice) the blob is the same. */
		assert_true(
		        seula_hll_blob_of(hashes, 2 * (size_t)k, &of, &of_len));
		assert_int_equal(of_len, len);
		assert_memory_equal(of, blob, len);
		free(of);
		free(blob);
	}
	free(h);
	free(back);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	assert_int_equal(analytics_sql_register(db), SQLITE_OK);
	sqlite3_stmt *st;
	exec_ok(db, "CREATE TABLE h (i INTEGER, x INTEGER)");
	assert_int_equal(sqlite3_prepare_v2(db, "INSERT INTO h VALUES (?1, ?2)",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	for (int k = 1; k <= 2000; k++) {
		sqlite3_bind_int(st, 1, k);
		sqlite3_bind_int64(st, 2, (int64_t)splitmix(&seed));
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	/* 2000 hashes as one sketch, and as the union of the first 1200 and
	 * the last 1201. */
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                "SELECT (SELECT analytics_uniq(s) FROM (SELECT "
	                "analytics_sketch(x) AS s FROM h)), (SELECT "
	                "analytics_uniq(analytics_hll_union(a, b)) FROM "
	                "(SELECT "
	                "(SELECT analytics_sketch(x) FROM h WHERE i <= 1200) "
	                "AS "
	                "a, (SELECT analytics_sketch(x) FROM h WHERE i >= 800) "
	                "AS b)), analytics_hll_union(NULL, NULL), (SELECT "
	                "analytics_sketch(NULL))",
	                -1, &st, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t one = sqlite3_column_int64(st, 0);
	assert_int_equal(sqlite3_column_int64(st, 1), one);
	assert_true(one > 1900 && one < 2100);
	assert_int_equal(sqlite3_column_type(st, 2), SQLITE_NULL);
	assert_int_equal(sqlite3_column_type(st, 3), SQLITE_NULL);
	sqlite3_finalize(st);
	sqlite3_close(db);
}

static void hll_malformed_blobs_refused(void **state)
{
	(void)state;
	struct seula_hll h = {{0}};
	uint8_t bad_len[5] = {0};
	assert_false(seula_hll_merge_blob(&h, bad_len, sizeof(bad_len)));
	/* Entries out of order, a zero rank, an index past the registers. */
	uint8_t unsorted[8] = {0, 0, 2, 1, 0, 0, 1, 1};
	assert_false(seula_hll_merge_blob(&h, unsorted, sizeof(unsorted)));
	uint8_t zero_rank[4] = {0, 0, 1, 0};
	assert_false(seula_hll_merge_blob(&h, zero_rank, sizeof(zero_rank)));
	uint8_t far[4] = {0, 0x10, 0, 1}; /* index 4096 */
	assert_false(seula_hll_merge_blob(&h, far, sizeof(far)));
	uint8_t *out;
	size_t len;
	assert_false(
	        seula_hll_blob_add(unsorted, sizeof(unsorted), 1, &out, &len));
}

/* ---- the pieces of a range -------------------------------------------- */

static sqlite3 *schema_db(void)
{
	void *so = dlopen(SEULA_BUILD_PLUGIN_DIR "/analytics.so", RTLD_NOW);
	assert_non_null(so);
	const struct seula_plugin *p = dlsym(so, SEULA_PLUGIN_SYMBOL);
	assert_non_null(p);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	for (size_t i = 0; i < p->n_migrations; i++)
		exec_ok(db, p->migrations[i].sql);
	dlclose(so);
	assert_int_equal(analytics_sql_register(db), SQLITE_OK);
	return db;
}

#define Y2025 1735689600LL /* 2025-01-01T00:00:00Z */

/* One visit per UTC hour of 2025 (and a day each side), in hour, day and
 * month rows as the plugin writes them: any range's visits are its hours. */
static void fill_year(sqlite3 *db)
{
	exec_ok(db, "BEGIN");
	sqlite3_stmt *st;
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "INSERT INTO analytics_rollup (site, dim, "
	                           "gran, t, value, visits, pageviews) VALUES "
	                           "('s', '', ?1, ?2, '', 1, 2) ON CONFLICT DO "
	                           "UPDATE SET visits = visits + 1, pageviews "
	                           "= pageviews + 2",
	                           -1, &st, NULL),
	        SQLITE_OK);
	for (int64_t t = Y2025 - 86400; t < Y2025 + 366 * 86400; t += 3600) {
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = 0;
		int64_t starts[3] = {t, t - t % 86400, (int64_t)timegm(&tm)};
		for (int g = 0; g < 3; g++) {
			sqlite3_bind_int(st, 1, g);
			sqlite3_bind_int64(st, 2, starts[g]);
			assert_int_equal(sqlite3_step(st), SQLITE_DONE);
			sqlite3_reset(st);
		}
	}
	sqlite3_finalize(st);
	exec_ok(db, "COMMIT");
}

/* A request for site "s" over [from, to] in tz, asked a year after 2025;
 * the caller sets the rest. */
static struct analytics_request request(const char *from, const char *to,
                                        const char *tz)
{
	return (struct analytics_request){
	        .site = "s",
	        .from = from,
	        .to = to,
	        .tz = tz,
	        .now_ms = (Y2025 + 400 * 86400) * 1000,
	};
}

/* The report of `rq`, which must succeed; the caller json_decref()s. */
static json_t *report_ok(sqlite3 *db, enum analytics_report_kind kind,
                         const struct analytics_request *rq)
{
	json_t *out = NULL;
	char err[256] = "";
	if (analytics_report(db, kind, rq, &out, err, sizeof(err)) !=
	    ANALYTICS_OK)
		fail_msg("report: %s", err);
	return out;
}

static json_int_t summary_visits(sqlite3 *db, const char *from, const char *to,
                                 const char *tz)
{
	struct analytics_request rq = request(from, to, tz);
	json_t *out;
	out = report_ok(db, ANALYTICS_SUMMARY, &rq);
	json_int_t v = json_integer_value(
	        json_object_get(json_object_get(out, "results"), "visits"));
	assert_int_equal(json_integer_value(json_object_get(
	                         json_object_get(out, "results"), "pageviews")),
	                 2 * v);
	json_decref(out);
	return v;
}

static void pieces_cover_ranges_exactly(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_year(db);
	struct {
		const char *from, *to, *tz;
		json_int_t hours;
	} cases[] = {
	        {"2025-01-01", "2025-12-31", "UTC", 8760},
	        {"2025-03-15", "2025-03-15", "UTC", 24},
	        {"2025-01-31", "2025-03-01", "UTC", 30 * 24},
	        {"2025-02-01", "2025-02-28", "UTC", 28 * 24},
	        {"2025-01-02", "2025-11-30", "UTC", 333 * 24},
	        /* Local days: 2025 in Helsinki starts at 22:00 UTC the day
	         * before; the DST days have 23 and 25 hours. */
	        {"2025-01-01", "2025-12-31", "Europe/Helsinki", 8760},
	        {"2025-03-30", "2025-03-30", "Europe/Helsinki", 23},
	        {"2025-10-26", "2025-10-26", "Europe/Helsinki", 25},
	        {"2025-02-10", "2025-08-20", "America/New_York", 192 * 24 - 1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_int_t got = summary_visits(db, cases[i].from, cases[i].to,
		                                cases[i].tz);
		if (got != cases[i].hours)
			fail_msg("%s..%s %s: %lld visits, want %lld",
			         cases[i].from, cases[i].to, cases[i].tz,
			         (long long)got, (long long)cases[i].hours);
	}
	/* Every range of whole days inside the year, by brute force over a
	 * sample: day d0..d1 has (d1 - d0 + 1) * 24 hours in UTC. */
	for (int d0 = 0; d0 < 365; d0 += 17) {
		for (int d1 = d0; d1 < 365; d1 += 23) {
			char from[16], to[16];
			time_t a = (time_t)(Y2025 + d0 * 86400LL);
			time_t b = (time_t)(Y2025 + d1 * 86400LL);
			struct tm ta, tb;
			strftime(from, sizeof(from), "%Y-%m-%d",
			         gmtime_r(&a, &ta));
			strftime(to, sizeof(to), "%Y-%m-%d", gmtime_r(&b, &tb));
			assert_int_equal(summary_visits(db, from, to, "UTC"),
			                 (d1 - d0 + 1) * 24);
		}
	}
	sqlite3_close(db);
}

/* A breakdown from the rollups counts its candidates apart and seeks
 * their rows; the same report from hour rows alone, by SQL, must agree:
 * values, sums, visitors and order, for ranges cut into months, days and
 * hours, local days, and limits that cut the candidates. */
#define N_VALUES 40
static void breakdown_seek_matches_hour_rows(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	exec_ok(db, "BEGIN");
	sqlite3_stmt *st;
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                "INSERT INTO analytics_rollup (site, dim, gran, t, "
	                "value, visits, pageviews, visitors) VALUES ('s', "
	                "'page', ?1, ?2, ?3, 1, ?4, ?5) ON CONFLICT DO UPDATE "
	                "SET visits = visits + 1, pageviews = pageviews + ?4, "
	                "visitors = analytics_hll_union(visitors, ?5)",
	                -1, &st, NULL),
	        SQLITE_OK);
	/* January to April 2025 and a day before: a visit of value k in hour
	 * h for 2 of 7 (h, k); visitors from a pool, so they repeat. */
	for (int64_t t = Y2025 - 86400; t < Y2025 + 120 * 86400; t += 3600) {
		int64_t h = (t - Y2025) / 3600;
		time_t tt = (time_t)t;
		struct tm tm;
		gmtime_r(&tt, &tm);
		tm.tm_mday = 1;
		tm.tm_hour = 0;
		int64_t starts[3] = {t, t - t % 86400, (int64_t)timegm(&tm)};
		for (int k = 0; k < N_VALUES; k++) {
			if (((h * 31 + k * 17) % 7 + 7) % 7 >= 2)
				continue;
			char value[16];
			snprintf(value, sizeof(value), "/p%02d", k);
			uint64_t seed =
			        (uint64_t)(k * 1000 + (h % 97 + 97) % 97);
			uint64_t hash = splitmix(&seed);
			uint8_t *blob;
			size_t len;
			assert_true(seula_hll_blob_of(&hash, 1, &blob, &len));
			for (int g = 0; g < 3; g++) {
				sqlite3_bind_int(st, 1, g);
				sqlite3_bind_int64(st, 2, starts[g]);
				sqlite3_bind_text(st, 3, value, -1,
				                  SQLITE_TRANSIENT);
				sqlite3_bind_int(st, 4, 1 + k % 3);
				sqlite3_bind_blob(st, 5, blob, (int)len,
				                  SQLITE_TRANSIENT);
				assert_int_equal(sqlite3_step(st), SQLITE_DONE);
				sqlite3_reset(st);
			}
			free(blob);
		}
	}
	sqlite3_finalize(st);
	exec_ok(db, "COMMIT");

	/* The reference: hour rows of [t0, t1); the `limit * 2 + 20`
	 * candidates by visits, then the best by visitors. */
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                "WITH h AS (SELECT value, sum(visits) AS visits, "
	                "sum(pageviews) AS pageviews, analytics_uniq(visitors) "
	                "AS visitors FROM analytics_rollup WHERE site = 's' "
	                "AND "
	                "dim = 'page' AND gran = 0 AND t >= ?1 AND t < ?2 "
	                "GROUP "
	                "BY value), c AS (SELECT * FROM h ORDER BY visits "
	                "DESC, "
	                "value LIMIT ?3 * 2 + 20) SELECT value, visits, "
	                "pageviews, visitors FROM c ORDER BY visitors DESC, "
	                "visits DESC, value LIMIT ?3",
	                -1, &st, NULL),
	        SQLITE_OK);
	struct {
		const char *from, *to, *tz;
		int64_t t0, t1; /* UTC */
	} cases[] = {
	        {"2025-01-01", "2025-04-30", "UTC", Y2025, Y2025 + 120 * 86400},
	        {"2025-01-17", "2025-03-09", "UTC", Y2025 + 16 * 86400,
	         Y2025 + 68 * 86400},
	        {"2025-02-03", "2025-02-03", "UTC", Y2025 + 33 * 86400,
	         Y2025 + 34 * 86400},
	        /* Helsinki in winter: local midnight is 22:00 UTC the day
	         * before, so hours at both ends. */
	        {"2025-01-05", "2025-03-20", "Europe/Helsinki",
	         Y2025 + 4 * 86400 - 7200, Y2025 + 79 * 86400 - 7200},
	};
	const int limits[] = {1, 3, 7, 100};
	for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
		for (size_t li = 0; li < sizeof(limits) / sizeof(limits[0]);
		     li++) {
			char limit[8];
			snprintf(limit, sizeof(limit), "%d", limits[li]);
			struct analytics_request rq = request(
			        cases[ci].from, cases[ci].to, cases[ci].tz);
			rq.dimension = "page";
			rq.limit = limit;
			json_t *out;
			out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
			const json_t *rows = json_object_get(out, "results");
			sqlite3_bind_int64(st, 1, cases[ci].t0);
			sqlite3_bind_int64(st, 2, cases[ci].t1);
			sqlite3_bind_int(st, 3, limits[li]);
			size_t n = 0;
			while (sqlite3_step(st) == SQLITE_ROW) {
				const json_t *row = json_array_get(rows, n++);
				assert_non_null(row);
				const char *want =
				        (const char *)sqlite3_column_text(st,
				                                          0);
				const char *got = json_string_value(
				        json_object_get(row, "page"));
				if (!got || strcmp(got, want) != 0)
					fail_msg("%s..%s %s limit %d row %zu: "
					         "%s, want %s",
					         cases[ci].from, cases[ci].to,
					         cases[ci].tz, limits[li], n,
					         got ? got : "-", want);
				assert_int_equal(
				        json_integer_value(
				                json_object_get(row, "visits")),
				        sqlite3_column_int64(st, 1));
				assert_int_equal(
				        json_integer_value(json_object_get(
				                row, "pageviews")),
				        sqlite3_column_int64(st, 2));
				assert_int_equal(
				        json_integer_value(json_object_get(
				                row, "visitors")),
				        sqlite3_column_int64(st, 3));
			}
			assert_int_equal(json_array_size(rows), n);
			assert_true(n == (size_t)limits[li] || n == N_VALUES);
			sqlite3_reset(st);
			json_decref(out);
		}
	sqlite3_finalize(st);
	sqlite3_close(db);
}

/* A value an older version cut inside a character (bytes that are not
 * UTF-8) still has its row, shown with U+FFFD, and keeps its place. */
static void breakdown_keeps_values_cut_mid_character(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	exec_ok(db, "INSERT INTO analytics_rollup (site, dim, gran, t, "
	            "value, visits) VALUES ('s', 'page', 2, "
	            "1735689600, CAST(x'6162e282' AS TEXT), 100), ('s', "
	            "'page', 2, 1735689600, 'ok', 1)");
	struct analytics_request rq =
	        request("2025-01-01", "2025-01-31", "UTC");
	rq.dimension = "page";
	rq.limit = "10";
	json_t *out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	const json_t *rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 2);
	const json_t *first = json_array_get(rows, 0);
	assert_string_equal(json_string_value(json_object_get(first, "page")),
	                    "ab\xef\xbf\xbd");
	assert_int_equal(json_integer_value(json_object_get(first, "visits")),
	                 100);
	json_decref(out);
	sqlite3_close(db);
}

/* splitmix64: distinct, well-spread stand-ins for visitor hashes,
 * the same every run. */
static int64_t mix64(uint64_t x)
{
	x += 0x9e3779b97f4a7c15u;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9u;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebu;
	return (int64_t)(x ^ (x >> 31));
}

/* Rows summed per value: sums exact; visitors exact up to
 * ANALYTICS_GROUP_EXACT_MAX a value, within the sketch's error past it;
 * sorted by visitors, visits, then value. */
static void groups_sum_and_count_visitors(void **state)
{
	(void)state;
	struct analytics_groups *g = analytics_groups_new();
	assert_non_null(g);
	const struct analytics_totals row = {.visits = 1,
	                                     .pageviews = 2,
	                                     .bounces = 1,
	                                     .duration_ms = 3,
	                                     .events = 4,
	                                     .engagement_ms = 5};
	/* "a": the most visitors counted exactly, each seen twice. */
	for (int64_t v = 1; v <= ANALYTICS_GROUP_EXACT_MAX; v++)
		for (int k = 0; k < 2; k++)
			assert_true(analytics_groups_add(g, "a!", 1, v * 7919,
			                                 &row));
	/* "b": past that, so a sketch; "c": many more. */
	for (int64_t v = 1; v <= 2 * ANALYTICS_GROUP_EXACT_MAX; v++)
		assert_true(analytics_groups_add(g, "b", 1, mix64((uint64_t)v),
		                                 &row));
	for (int64_t v = 1; v <= 50000; v++)
		assert_true(analytics_groups_add(g, "c", 1, mix64((uint64_t)v),
		                                 &row));
	/* "d": forgotten visitors, whose "hash" is their visit's id. */
	for (int64_t v = 1; v <= 20000; v++)
		assert_true(analytics_groups_add(g, "d", 1, v, &row));
	/* The empty value, the hash 0 among its visitors. */
	assert_true(analytics_groups_add(g, "", 0, 0, &row));
	assert_true(analytics_groups_add(g, "", 0, 0, &row));
	assert_true(analytics_groups_add(g, NULL, 0, 5, &row));
	/* Many values of one visitor each: ties, ordered by value. */
	for (int i = 0; i < 5000; i++) {
		char key[16];
		int n = snprintf(key, sizeof(key), "k%d", i);
		assert_true(analytics_groups_add(g, key, (size_t)n, 42, &row));
	}
	assert_int_equal(analytics_groups_count(g), 5005);
	const struct analytics_group *s = analytics_groups_sorted(g);
	assert_non_null(s);
	assert_string_equal(s[0].key, "c");
	assert_true(fabs((double)s[0].t.visitors - 50000) < 50000 * 0.05);
	assert_int_equal(s[0].t.visits, 50000);
	assert_string_equal(s[1].key, "d");
	assert_true(fabs((double)s[1].t.visitors - 20000) < 20000 * 0.05);
	s++; /* the rest as if "d" were not there */
	assert_string_equal(s[1].key, "b");
	/* Within three standard errors (hll.h: 1.6%). */
	assert_true(llabs(s[1].t.visitors - 2 * ANALYTICS_GROUP_EXACT_MAX) <=
	            2 * ANALYTICS_GROUP_EXACT_MAX / 20);
	assert_string_equal(s[2].key, "a");
	assert_int_equal(s[2].t.visitors, ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.visits, 2 * ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.pageviews, 4 * ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.bounces, 2 * ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.duration_ms, 6 * ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.events, 8 * ANALYTICS_GROUP_EXACT_MAX);
	assert_int_equal(s[2].t.engagement_ms, 10 * ANALYTICS_GROUP_EXACT_MAX);
	assert_string_equal(s[3].key, "");
	assert_int_equal(s[3].t.visitors, 2);
	assert_int_equal(s[3].t.visits, 3);
	assert_string_equal(s[4].key, "k0");
	assert_string_equal(s[5].key, "k1");
	assert_string_equal(s[6].key, "k10");
	assert_string_equal(s[5003].key, "k999");
	assert_int_equal(s[5003].t.visitors, 1);
	analytics_groups_free(g);
}

/* Row i of a skewed table: few values hold most rows, and some of the
 * values with the most rows have the fewest visitors (a top list by rows
 * is not the one by visitors); now and then the visitor hash 0. */
static void skewed_row(uint64_t i, char *key, size_t len, size_t *n,
                       int64_t *visitor, struct analytics_totals *t)
{
	uint64_t r = (uint64_t)mix64(i);
	uint64_t u = r % 1000, k = u * u / 10000; /* 0..99, mostly low */
	*n = (size_t)snprintf(key, len, "v%02u", (unsigned)k);
	uint64_t distinct = k % 3 == 0 ? 40 + k : 20 + k * k * 9;
	*visitor = (r >> 20) % 97 == 0 ? 0
	                               : mix64(1000 * k + (r >> 24) % distinct);
	*t = (struct analytics_totals){.visits = 1,
	                               .pageviews = (int64_t)(r % 3),
	                               .bounces = (int64_t)(r >> 8 & 1),
	                               .duration_ms = (int64_t)(r >> 32 & 1023),
	                               .events = 1,
	                               .engagement_ms = 7};
}

static void add_skewed(struct analytics_groups *g, uint64_t from, uint64_t to)
{
	for (uint64_t i = from; i < to; i++) {
		char key[8];
		size_t n;
		int64_t v;
		struct analytics_totals t;
		skewed_row(i, key, sizeof(key), &n, &v, &t);
		assert_true(analytics_groups_add(g, key, n, v, &t));
	}
}

/* add_skewed()'s rows, a value's rows of [from, to) at once, as a day's
 * page rows come (analytics_groups_add_rows()). */
static void add_skewed_runs(struct analytics_groups *g, uint64_t from,
                            uint64_t to)
{
	size_t n = (size_t)(to - from);
	int64_t *visitors = malloc(n * sizeof(*visitors));
	uint32_t *sel = malloc(n * sizeof(*sel));
	assert_non_null(visitors);
	assert_non_null(sel);
	for (unsigned k = 0; k < 100; k++) {
		char want[8], key[8];
		snprintf(want, sizeof(want), "v%02u", k);
		struct analytics_totals sum = {0};
		size_t m = 0, len;
		for (uint64_t i = from; i < to; i++) {
			struct analytics_totals t;
			skewed_row(i, key, sizeof(key), &len,
			           &visitors[i - from], &t);
			if (strcmp(key, want) != 0)
				continue;
			sel[m++] = (uint32_t)(i - from);
			sum.visits += t.visits, sum.pageviews += t.pageviews;
			sum.bounces += t.bounces;
			sum.duration_ms += t.duration_ms;
			sum.events += t.events;
			sum.engagement_ms += t.engagement_ms;
		}
		if (!m)
			continue;
		int64_t at = analytics_groups_index(g, want, strlen(want));
		assert_true(at >= 0);
		assert_true(analytics_groups_add_rows(g, (size_t)at, visitors,
		                                      sel, m, &sum));
	}
	free(visitors);
	free(sel);
}

static void same_groups(const struct analytics_group *a,
                        const struct analytics_group *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (strcmp(a[i].key, b[i].key) != 0 ||
		    memcmp(&a[i].t, &b[i].t, sizeof(a[i].t)) != 0)
			fail_msg("row %zu: %s %lld visitors, %lld visits; not "
			         "%s "
			         "%lld, %lld",
			         i, b[i].key, (long long)b[i].t.visitors,
			         (long long)b[i].t.visits, a[i].key,
			         (long long)a[i].t.visitors,
			         (long long)a[i].t.visits);
	}
}

/* A top list counts the visitors of the values it needs only, and lists
 * what the whole sorted list begins with; groups summed apart and merged
 * (two threads' halves, one of them past its log's size) equal one
 * pass. */
static void groups_top_and_merge_as_one_pass(void **state)
{
	(void)state;
	const uint64_t small = 200000;
	struct analytics_groups *all = analytics_groups_new();
	assert_non_null(all);
	add_skewed(all, 0, small);
	size_t n_all = analytics_groups_count(all);
	assert_int_equal(n_all, 100);
	const struct analytics_group *want = analytics_groups_sorted(all);
	assert_non_null(want);
	/* Visitors never past the rows, with or without a sketch. */
	for (size_t i = 0; i < n_all; i++)
		assert_true(want[i].t.visitors <= want[i].t.visits);
	static const size_t limits[] = {1, 3, 10, 40, 99, 100, 150};
	for (size_t l = 0; l < sizeof(limits) / sizeof(limits[0]); l++) {
		struct analytics_groups *g = analytics_groups_new();
		assert_non_null(g);
		analytics_groups_limits(g, 0, 1u << 22); /* all logged */
		add_skewed(g, 0, small);
		size_t n;
		const struct analytics_group *top =
		        analytics_groups_top(g, limits[l], &n);
		assert_non_null(top);
		size_t show = limits[l] < n_all ? limits[l] : n_all;
		assert_true(n >= show);
		same_groups(want, top, show);
		/* Not every value counted when few are asked for. */
		if (limits[l] <= 10)
			assert_true(n < n_all);
		analytics_groups_free(g);
	}
	/* Values of one row a visitor: sketches whose estimates err above
	 * the rows as often as below show the rows then. */
	struct analytics_groups *u = analytics_groups_new();
	assert_non_null(u);
	for (int k = 0; k < 20; k++)
		for (int v = 0; v < 3000; v++) {
			char key[8];
			int kn = snprintf(key, sizeof(key), "u%d", k);
			const struct analytics_totals t = {.visits = 1};
			assert_true(analytics_groups_add(
			        u, key, (size_t)kn,
			        mix64((uint64_t)(k * 4099 + v)), &t));
		}
	const struct analytics_group *us = analytics_groups_sorted(u);
	assert_non_null(us);
	int at_rows = 0;
	for (size_t i = 0; i < 20; i++) {
		assert_true(us[i].t.visitors <= 3000);
		assert_true(us[i].t.visitors > 3000 * 0.95);
		at_rows += us[i].t.visitors == 3000;
	}
	assert_true(at_rows > 0);
	analytics_groups_free(u);

	/* Two halves, one with more rows than its log holds: counted into
	 * every value's set or sketch on the way. */
	const uint64_t big = 300000, cut = 100000;
	struct analytics_groups *one = analytics_groups_new(),
	                        *a = analytics_groups_new(), *b;
	assert_non_null(one);
	assert_non_null(a);
	/* Log chunks kept from groups to groups, four at most: those of a
	 * log counted on the way, and of groups freed, used again. */
	struct analytics_groups_pool *pool =
	        analytics_groups_pool_new(4 * 16384 * 12 + 4 * 64);
	assert_non_null(pool);
	analytics_groups_use_pool(a, pool);
	/* Counted at first, then logged, the log counted twice on the
	 * way. */
	analytics_groups_limits(a, 64 << 10, 30000);
	assert_non_null(b = analytics_groups_new_like(a));
	add_skewed(one, 0, big);
	add_skewed(a, 0, cut);
	add_skewed(b, cut, big);
	assert_true(analytics_groups_merge(a, b));
	analytics_groups_free(b);
	size_t n;
	const struct analytics_group *top = analytics_groups_top(a, 10, &n);
	const struct analytics_group *sorted = analytics_groups_sorted(one);
	assert_non_null(top);
	assert_non_null(sorted);
	same_groups(sorted, top, 10);
	analytics_groups_free(a);
	assert_in_range(analytics_groups_pool_spare(pool), 1, 4);

	/* Each half's likely top counted on its own thread before the
	 * merge, at different limits so that some values are counted on one
	 * side only, then rows added to counted values (a report's days not
	 * in blocks): still as one pass. */
	for (int order = 0; order < 3; order++) {
		struct analytics_groups *c = analytics_groups_new(), *d;
		assert_non_null(c);
		analytics_groups_use_pool(c, pool);
		if (order == 2) /* as a page breakdown's */
			analytics_groups_log_all(c);
		else
			analytics_groups_limits(c, 0,
			                        1u << 22); /* all logged */
		assert_non_null(d = analytics_groups_new_like(c));
		add_skewed(c, 0, cut);
		add_skewed(d, cut, 2 * cut);
		assert_true(analytics_groups_count_top(c, order == 1 ? 1 : 10));
		assert_true(analytics_groups_count_top(d, order == 1 ? 10 : 1));
		assert_true(analytics_groups_merge(c, d));
		analytics_groups_free(d);
		add_skewed(c, 2 * cut, big);
		top = analytics_groups_top(c, 10, &n);
		assert_non_null(top);
		same_groups(sorted, top, 10);
		analytics_groups_free(c);
		assert_int_equal(analytics_groups_pool_spare(pool), 4);
	}
	/* A value's rows at once: more than a log chunk's (16,384) and the
	 * log's (30,000) in one call, counted first, then logged, or all
	 * logged. */
	for (int logged = 0; logged < 2; logged++) {
		struct analytics_groups *r = analytics_groups_new();
		assert_non_null(r);
		analytics_groups_use_pool(r, pool);
		if (logged)
			analytics_groups_log_all(r);
		else
			analytics_groups_limits(r, 64 << 10, 30000);
		add_skewed_runs(r, 0, cut);
		add_skewed_runs(r, cut, big);
		top = analytics_groups_top(r, 10, &n);
		assert_non_null(top);
		same_groups(sorted, top, 10);
		analytics_groups_free(r);
	}
	analytics_groups_pool_free(pool);
	analytics_groups_free(one);
	analytics_groups_free(all);
}

/* A breakdown from the visits is summed in memory up to a number of
 * values and by SQL past it: the two answer the same. */
static void visits_breakdown_same_past_its_memory(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	exec_ok(db, "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + "
	            "1 FROM n WHERE i < 300) INSERT INTO analytics_visits "
	            "(site, visitor, start_ts, last_ts, closed, pageviews, "
	            "events, entry_page, exit_page, source, referrer, "
	            "channel, utm_source, utm_medium, utm_campaign, "
	            "utm_term, utm_content, country, region, city, "
	            "browser, "
	            "os, device, screen, language) SELECT 's', i % 37, "
	            "(1735689600 + i * 3600) * 1000, (1735689600 + i * "
	            "3600) * 1000 + i * 1000, i % 4 > 0, 1 + i % 3, i % 2, "
	            "'/p' || (i % 7), '/p' || (i % 5), 'src' || (i % 11), "
	            "'', 'x', '', '', '', '', '', 'FI', '', '', CASE WHEN "
	            "i "
	            "% 3 THEN 'Chrome' ELSE 'Firefox' END, '', 'desktop', "
	            "'', '' FROM n; INSERT INTO analytics_visit_pages "
	            "(visit, path, pageviews, engagement_ms) SELECT id, "
	            "'/p' || (id % 7), 1, 0 FROM analytics_visits UNION "
	            "ALL "
	            "SELECT id, '/q' || (id % 4), 2, 10 FROM "
	            "analytics_visits WHERE id % 2 = 0");
	const char *dims[] = {"source", "page", "entry_page"};
	for (size_t d = 0; d < sizeof(dims) / sizeof(dims[0]); d++) {
		json_t *got[2];
		for (int k = 0; k < 2; k++) {
			struct analytics_request rq =
			        request("2025-01-01", "2025-01-31", "UTC");
			rq.filter = "browser==Chrome;device!=x";
			rq.dimension = dims[d];
			rq.limit = "100";
			rq.groups_max = k ? 2 : 0;
			got[k] = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		}
		const json_t *rows = json_object_get(got[0], "results");
		assert_true(json_array_size(rows) > 3);
		if (!json_equal(rows, json_object_get(got[1], "results"))) {
			char *a = json_dumps(rows, JSON_COMPACT);
			char *b = json_dumps(json_object_get(got[1], "results"),
			                     JSON_COMPACT);
			fail_msg("%s: in memory %s, by SQL %s", dims[d], a, b);
		}
		json_decref(got[0]);
		json_decref(got[1]);
	}
	sqlite3_close(db);
}

/* Past its memory too, a value with many visitors and few visits each
 * tops a breakdown by visitors, though more values than the candidates
 * have more visits (by one visitor each). */
static void visits_breakdown_by_sql_finds_many_visitors(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	/* 30 sources of 4 visits by visitor 1, and "wide": 3 visitors. */
	exec_ok(db, "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + "
	            "1 FROM n WHERE i < 122) INSERT INTO analytics_visits "
	            "(site, visitor, start_ts, last_ts, closed, pageviews, "
	            "events, entry_page, exit_page, source, referrer, "
	            "channel, utm_source, utm_medium, utm_campaign, "
	            "utm_term, utm_content, country, region, city, browser, "
	            "os, device, screen, language) SELECT 's', CASE WHEN i < "
	            "120 THEN 1 ELSE 10 + i END, (1735689600 + i * 60) * "
	            "1000, (1735689600 + i * 60) * 1000, 1, 1, 0, '/', '/', "
	            "CASE WHEN i < 120 THEN 'src' || (i / 4) ELSE 'wide' "
	            "END, '', 'x', '', '', '', '', '', 'FI', '', '', '', '', "
	            "'desktop', '', '' FROM n");
	for (int k = 0; k < 2; k++) {
		struct analytics_request rq =
		        request("2025-01-01", "2025-01-31", "UTC");
		rq.filter = "device!=x";
		rq.dimension = "source";
		rq.limit = "1";
		rq.groups_max = k ? 2 : 0;
		json_t *out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		json_t *top =
		        json_array_get(json_object_get(out, "results"), 0);
		const char *source =
		        json_string_value(json_object_get(top, "source"));
		if (!source || strcmp(source, "wide") != 0)
			fail_msg("%s: top row %s", k ? "by SQL" : "in memory",
			         source ? source : "none");
		assert_int_equal(
		        json_integer_value(json_object_get(top, "visitors")),
		        3);
		json_decref(out);
	}
	sqlite3_close(db);
}

/* ---- blocks ------------------------------------------------------------ */

#define MAR1 (Y2025 + 59 * 86400) /* 2025-03-01T00:00:00Z */

/* Every day's blocks w can build at now_ms (in the caller's
 * transaction): how many it built. */
static int build_days(struct analytics_blocks_writer *w, int64_t now_ms)
{
	bool built;
	int days = 0;
	do {
		assert_int_equal(
		        analytics_blocks_build_next(w, now_ms, 3600000, &built),
		        SQLITE_OK);
		days += built;
	} while (built && days < 100);
	return days;
}

/* A visit row's every column, for the fixtures below to fill. */
#define VISITS_INSERT                                                          \
	"INSERT INTO analytics_visits (site, visitor, start_ts, last_ts, "     \
	"closed, pageviews, events, engagement_ms, entry_page, exit_page, "    \
	"source, referrer, channel, utm_source, utm_medium, utm_campaign, "    \
	"utm_term, utm_content, country, region, city, browser, os, device, "  \
	"screen, language) VALUES "

/* Ten days of visits of site "s" from 2025-03-01, a few values each, the
 * last day's partly open; `seed` picks them. */
static void fill_visits(sqlite3 *db, uint64_t seed)
{
	static const char *const device[] = {"desktop", "mobile", "tablet"};
	static const char *const country[] = {"FI", "FR", "DE", "US"};
	static const char *const source[] = {"Google", "Direct / None",
	                                     "Facebook", "x.com"};
	static const char *const entry[] = {"/", "/a", "/b?", "/blog/*"};
	sqlite3_stmt *st;
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                VISITS_INSERT
	                "('s', ?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	                "?8, ?8, ?9, '', 'x', '', '', ?10, '', '', ?11, '', "
	                "'', ?12, '', ?13, '', '')",
	                -1, &st, NULL),
	        SQLITE_OK);
	exec_ok(db, "BEGIN");
	for (int i = 0; i < 2500; i++) {
		uint64_t r = splitmix(&seed);
		int64_t start = (MAR1 + (int64_t)(r % (10 * 86400))) * 1000 +
		                (int64_t)((r >> 40) % 1000);
		bool open = start >= (MAR1 + 9 * 86400 + 43200) * 1000;
		sqlite3_bind_int64(st, 1, mix64(splitmix(&seed) % 4000));
		sqlite3_bind_int64(st, 2, start);
		sqlite3_bind_int64(st, 3,
		                   start + (int64_t)((r >> 20) % 900000));
		sqlite3_bind_int(st, 4, !open);
		sqlite3_bind_int(st, 5, 1 + (int)((r >> 8) % 4));
		sqlite3_bind_int(st, 6, (int)((r >> 12) % 3));
		sqlite3_bind_int64(st, 7, (int64_t)((r >> 30) % 100000));
		sqlite3_bind_text(st, 8, entry[(r >> 16) % 4], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 9, source[(r >> 18) % 4], -1,
		                  SQLITE_STATIC);
		char campaign[16];
		snprintf(campaign, sizeof(campaign), "c%d",
		         (int)((r >> 22) % 300));
		sqlite3_bind_text(st, 10, campaign, -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(st, 11, country[(r >> 24) % 4], -1,
		                  SQLITE_STATIC);
		sqlite3_bind_text(st, 12, (r >> 26) % 2 ? "Chrome" : "Firefox",
		                  -1, SQLITE_STATIC);
		sqlite3_bind_text(st, 13, device[(r >> 28) % 3], -1,
		                  SQLITE_STATIC);
		assert_int_equal(sqlite3_step(st), SQLITE_DONE);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	/* Pages (the entry page among them, now and then) and custom events
	 * with a property, some visits none. */
	exec_ok(db,
	        "INSERT INTO analytics_visit_pages (visit, path, pageviews, "
	        "engagement_ms) SELECT v.id, CASE WHEN (v.id + k) % 3 = 0 THEN "
	        "v.entry_page ELSE '/p' || ((v.id * 7 + k) % 5) END, 1 + (v.id "
	        "+ k) % 3, (v.id * 131 + k) % 20000 FROM analytics_visits v "
	        "JOIN (SELECT 0 AS k UNION ALL SELECT 1 UNION ALL SELECT 2) ON "
	        "k < v.id % 4 WHERE 1 ON CONFLICT DO NOTHING;"
	        "INSERT INTO analytics_visit_events (visit, name, prop, value, "
	        "n) SELECT id, CASE WHEN id % 2 THEN 'signup' ELSE 'download' "
	        "END, '', '', 1 + id % 2 FROM analytics_visits WHERE id % 3 = "
	        "0;"
	        "INSERT INTO analytics_visit_events (visit, name, prop, value, "
	        "n) SELECT id, CASE WHEN id % 2 THEN 'signup' ELSE 'download' "
	        "END, 'plan', CASE WHEN id % 4 < 2 THEN 'pro' ELSE 'free' END, "
	        "1 FROM analytics_visits WHERE id % 3 = 0;"
	        /* Some upgrade too, on the same plan: one value under two
	         * names, the visit once in its row. */
	        "INSERT INTO analytics_visit_events (visit, name, prop, value, "
	        "n) SELECT id, 'upgrade', p.prop, CASE WHEN p.prop = '' THEN "
	        "'' WHEN id % 4 < 2 THEN 'pro' ELSE 'free' END, 2 FROM "
	        "analytics_visits JOIN (SELECT '' AS prop UNION ALL SELECT "
	        "'plan') p WHERE id % 9 = 0;"
	        /* Rows of another property alone: they are not the event
	         * itself, nor its "plan". */
	        "INSERT INTO analytics_visit_events (visit, name, prop, value, "
	        "n) SELECT id, 'signup', 'tier', 'pro', 1 FROM "
	        "analytics_visits WHERE id % 5 = 0 AND id % 3 <> 0");
	exec_ok(db, "COMMIT");
}

/* Every report of a list, as JSON text in out[] (the caller frees). */
static const char *const blk_filters[] = {
        "device==mobile", "device!=mobile;country==F*", "entry_page==/b?",
        "browser==Chrome;source!=Google", "page==/p*;device!=tablet",
        "event==signup", "prop:plan!=pro;country!=US", "goal==Visit /a",
        /* One of. */
        "device==mobile|tablet;country!=US|X*", "page==/a|/p*",
        "event!=signup|nosuch",
        /* Goals of either kind: a visit that reached any, or none. */
        "goal==signup|Visit /a", "goal!=Visit /blog/*|download|Visit /a",
        /* Every visit: more visitors than a breakdown counts exactly. */
        "country!=XX;device!=x",
        /* A goal after a filter on pages or groups: the breakdown's
         * conversion rates share the pages kept. */
        "content_group==Ps|Home;goal==Visit /a", "page==/p*;goal==signup",
        /* None: a whole day's sums by group are kept in the cache. */
        ""};
#define BLK_FILTERS (sizeof(blk_filters) / sizeof(blk_filters[0]))
static const char *const blk_tz[] = {"UTC", "Asia/Kolkata", "America/New_York"};
static const char *const blk_ranges[][2] = {{"2025-03-01", "2025-03-10"},
                                            {"2025-03-03", "2025-03-06"},
                                            {"2025-03-09", "2025-03-09"}};
/* Summary (compared), timeseries by day and hour, breakdowns, goals. */
static const char *const blk_dims[] = {"source", "utm_campaign", "entry_page",
                                       "page",   "event",        "prop:plan",
                                       "goal",   "content_group"};
#define BLK_KINDS 12
#define BLK_REPORTS (BLK_FILTERS * 3 * 3 * BLK_KINDS)

static void blk_reports(sqlite3 *db, sqlite3 *helper,
                        struct analytics_block_cache *cache,
                        struct analytics_groups_pool *pool, char **out)
{
	const char *goal_list[] = {"s:event:signup", "s:page:/blog/*",
	                           "s:page:/a", "s:event:download", NULL};
	struct analytics_goals goals;
	char err[256];
	assert_int_equal(
	        analytics_goals_parse(goal_list, &goals, err, sizeof(err)), 0);
	/* Groups overlapping each other and the entry pages, one that no
	 * page is in (a row of zeros). */
	const char *group_list[] = {"s:Ps:/p1|/p2", "s:Entry:/a|/b*",
	                            "s:Home:/", "s:Unread:/nosuch", NULL};
	struct analytics_content_groups groups;
	assert_int_equal(analytics_content_groups_parse(group_list, &groups,
	                                                err, sizeof(err)),
	                 0);
	size_t n = 0;
	for (size_t i = 0; i < BLK_REPORTS; i++) {
		size_t f = i / (9 * BLK_KINDS), z = i / (3 * BLK_KINDS) % 3,
		       r = i / BLK_KINDS % 3, k = i % BLK_KINDS;
		struct analytics_request rq =
		        request(blk_ranges[r][0], blk_ranges[r][1], blk_tz[z]);
		rq.filter = blk_filters[f];
		rq.goals = &goals;
		rq.content_groups = &groups;
		rq.helper = helper;
		rq.cache = cache;
		rq.pool = pool;
		rq.compare = k == 0 ? "previous_period" : NULL;
		rq.metric = "visitors,visits,pageviews,bounce_rate,"
		            "visit_duration,events,time_on_page";
		rq.interval = k == 1 ? "day" : "hour";
		rq.dimension = k >= 3 && k < 11 ? blk_dims[k - 3] : NULL;
		rq.limit = "1000";
		enum analytics_report_kind kind = k == 0  ? ANALYTICS_SUMMARY
		                                  : k < 3 ? ANALYTICS_TIMESERIES
		                                  : k == 11
		                                          ? ANALYTICS_GOALS
		                                          : ANALYTICS_BREAKDOWN;
		json_t *j = report_ok(db, kind, &rq);
		out[n++] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
	}
	analytics_goals_free(&goals);
	analytics_content_groups_free(&groups);
}

/* Each report of got[] (freed here) the same as want[]'s, from the rows
 * and on one thread. */
static void same_reports(char **want, char **got, const char *how)
{
	for (size_t i = 0; i < BLK_REPORTS; i++) {
		if (strcmp(want[i], got[i]) != 0)
			fail_msg("report %zu: %s, %s %s", i, want[i], how,
			         got[i]);
		free(got[i]);
	}
}

/* The reports of `db` (blocks built, days +4 to +9 covered) read with a
 * helper connection, two threads a report, equal `want`: also when the
 * helper's snapshot lacks a day the caller's has (a writer between
 * them), and a damaged column in the helper's half is an error. */
/* Two days of blocks, a day a thread as the threads take them, one day
 * with more campaigns than the cap and the other fewer: the breakdown is
 * summed by SQL, as on one thread, not from the other day alone. */
static void capped_on_either_thread(sqlite3 *db, sqlite3 *helper)
{
	sqlite3_stmt *st;
	assert_int_equal(
	        sqlite3_prepare_v2(db,
	                           "SELECT count(DISTINCT utm_campaign) FROM "
	                           "analytics_visits WHERE site = 's' AND "
	                           "start_ts >= ?1 * 1000 AND start_ts < (?1 + "
	                           "86400) * 1000",
	                           -1, &st, NULL),
	        SQLITE_OK);
	int64_t n[2];
	for (int k = 0; k < 2; k++) {
		sqlite3_bind_int64(st, 1, MAR1 + (5 + k) * 86400);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		n[k] = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	assert_true(n[0] > n[1] + 1);
	struct analytics_request rq =
	        request("2025-03-06", "2025-03-07", "UTC");
	rq.filter = "device!=x;country!=XX";
	rq.dimension = "utm_campaign";
	rq.limit = "1000";
	rq.groups_max = (size_t)(n[0] + n[1]) / 2;
	json_t *one = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	rq.helper = helper;
	json_t *two = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	assert_true(json_equal(one, two));
	assert_int_equal(json_array_size(json_object_get(two, "results")),
	                 json_array_size(json_object_get(one, "results")));
	assert_true(json_array_size(json_object_get(two, "results")) >
	            (size_t)n[0]);
	json_decref(one);
	json_decref(two);
}

/* A copy of an in-memory database in a file, in WAL as the server's is
 * (readers beside a writer): a writer, and a reader with its helper. */
struct file_dbs {
	char path[32];
	sqlite3 *writer, *db, *helper;
};

static void file_dbs_open(sqlite3 *mem, struct file_dbs *f)
{
	snprintf(f->path, sizeof(f->path), "/tmp/seula-blocks-XXXXXX");
	int fd = mkstemp(f->path);
	assert_true(fd >= 0);
	close(fd);
	unlink(f->path);
	char sql[128];
	snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", f->path);
	exec_ok(mem, sql);
	assert_int_equal(sqlite3_open(f->path, &f->writer), SQLITE_OK);
	exec_ok(f->writer, "PRAGMA journal_mode=WAL");
	assert_int_equal(
	        sqlite3_open_v2(f->path, &f->db, SQLITE_OPEN_READONLY, NULL),
	        SQLITE_OK);
	assert_int_equal(analytics_sql_register(f->db), SQLITE_OK);
	assert_int_equal(sqlite3_open_v2(f->path, &f->helper,
	                                 SQLITE_OPEN_READONLY, NULL),
	                 SQLITE_OK);
}

static void file_dbs_close(struct file_dbs *f)
{
	sqlite3_close(f->helper);
	sqlite3_close(f->db);
	sqlite3_close(f->writer);
	char name[48];
	unlink(f->path);
	snprintf(name, sizeof(name), "%s-wal", f->path);
	unlink(name);
	snprintf(name, sizeof(name), "%s-shm", f->path);
	unlink(name);
}

static void blocks_on_two_threads(sqlite3 *mem, char **want)
{
	struct file_dbs f;
	file_dbs_open(mem, &f);
	sqlite3 *db = f.db, *helper = f.helper, *writer = f.writer;
	char *got[BLK_REPORTS];
	blk_reports(db, helper, NULL, NULL, got);
	same_reports(want, got, "two threads");
	capped_on_either_thread(db, helper);

	/* The caller's snapshot taken, then day +4, the helper's, made
	 * dirty: the caller reads it. */
	exec_ok(db, "BEGIN");
	exec_ok(db, "SELECT count(*) FROM analytics_blocks");
	struct analytics_blocks_writer *w =
	        analytics_blocks_writer_new(writer, NULL);
	assert_non_null(w);
	exec_ok(writer, "BEGIN");
	assert_int_equal(analytics_blocks_invalidate(w, "s", MAR1 / 86400 + 4),
	                 SQLITE_OK);
	exec_ok(writer, "COMMIT");
	analytics_blocks_writer_free(w);
	int64_t run0, run1;
	assert_int_equal(analytics_blocks_covered(helper, "s", MAR1 / 86400,
	                                          MAR1 / 86400 + 30, &run0,
	                                          &run1),
	                 SQLITE_OK);
	assert_int_equal(run0, MAR1 / 86400 + 5);
	blk_reports(db, helper, NULL, NULL, got);
	exec_ok(db, "COMMIT");
	same_reports(want, got, "two threads across a write");

	/* Now +5 to +8 are covered, read by both threads as they take
	 * them.  Day +5's column damaged: an error, whichever reads it. */
	char sql[128];
	snprintf(sql, sizeof(sql),
	         "UPDATE analytics_blocks SET data = x'0400000001' WHERE col "
	         "= 'source' AND day = %lld",
	         (long long)(MAR1 / 86400 + 5));
	exec_ok(writer, sql);
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-10", "UTC");
	rq.filter = "device==mobile";
	rq.dimension = "source";
	rq.helper = helper;
	json_t *out = NULL;
	char err[256] = "";
	assert_int_equal(analytics_report(db, ANALYTICS_BREAKDOWN, &rq, &out,
	                                  err, sizeof(err)),
	                 ANALYTICS_DB_ERROR);
	assert_non_null(strstr(err, "does not decode"));
	file_dbs_close(&f);
}

/* Rebuild `site`'s day through writer w (its transaction), after one of
 * its visits is erased: the first with a page row. */
static void erase_one_and_rebuild(sqlite3 *writer,
                                  struct analytics_blocks_writer *w,
                                  int64_t day)
{
	char sql[512];
	snprintf(sql, sizeof(sql),
	         "CREATE TEMP TABLE gone AS SELECT min(v.id) AS id FROM "
	         "analytics_visits v JOIN analytics_visit_pages p ON p.visit "
	         "= v.id WHERE v.site = 's' AND v.start_ts >= %lld AND "
	         "v.start_ts < %lld; DELETE FROM analytics_visit_pages WHERE "
	         "visit IN temp.gone; DELETE FROM analytics_visit_events "
	         "WHERE visit IN temp.gone; DELETE FROM analytics_visits WHERE "
	         "id IN temp.gone; DROP TABLE temp.gone",
	         (long long)day * 86400000, (long long)(day + 1) * 86400000);
	exec_ok(writer, "BEGIN");
	exec_ok(writer, sql);
	assert_int_equal(sqlite3_changes(writer), 1);
	assert_int_equal(analytics_blocks_invalidate(w, "s", day), SQLITE_OK);
	build_days(w, (MAR1 + 20 * 86400) * 1000);
	exec_ok(writer, "COMMIT");
}

/* The reports read through a block cache (blockcache.h) as without it:
 * cold, warm, and after a day is rebuilt, by this process's writer (which
 * drops the day's bytes) or by another's (which cannot): the day's last
 * ids, those a rowid table would give again, are not the new rows'. */
static void blocks_through_cache(sqlite3 *mem)
{
	struct file_dbs f;
	file_dbs_open(mem, &f);
	sqlite3 *db = f.db, *helper = f.helper, *writer = f.writer;
	struct analytics_block_cache *cache =
	        analytics_block_cache_new(64 << 20);
	assert_non_null(cache);
	/* And the log chunks, shared by the threads as the cache is. */
	struct analytics_groups_pool *pool =
	        analytics_groups_pool_new(16 << 20);
	assert_non_null(pool);
	char *want[BLK_REPORTS], *got[BLK_REPORTS];
	blk_reports(db, NULL, NULL, NULL, want);
	blk_reports(db, NULL, cache, pool, got);
	same_reports(want, got, "through the cache, cold");
	size_t entries = analytics_block_cache_entries(cache);
	assert_true(entries > 0);
	/* Two threads sharing it. */
	blk_reports(db, helper, cache, pool, got);
	same_reports(want, got, "through the cache, warm");
	assert_int_equal(analytics_block_cache_entries(cache), entries);

	int64_t last = MAR1 / 86400 + 8, mid = MAR1 / 86400 + 6;
	struct analytics_blocks_writer *mine =
	        analytics_blocks_writer_new(writer, cache);
	struct analytics_blocks_writer *other =
	        analytics_blocks_writer_new(writer, NULL);
	assert_non_null(mine);
	assert_non_null(other);
	/* Another process rebuilds the last day, then this one a day in the
	 * middle: each time the reports change, and match the rows. */
	for (int k = 0; k < 2; k++) {
		size_t before = analytics_block_cache_entries(cache), gone;
		erase_one_and_rebuild(writer, k ? mine : other, k ? mid : last);
		/* This process's writer drops what it deletes; another's
		 * deletions wait for a sweep. */
		size_t after = analytics_block_cache_entries(cache);
		assert_true(k ? after < before : after == before);
		assert_int_equal(
		        analytics_blocks_cache_sweep(writer, cache, &gone),
		        SQLITE_OK);
		assert_true(k ? gone == 0 : gone > 0);
		assert_int_equal(analytics_block_cache_entries(cache),
		                 after - gone);
		for (size_t i = 0; i < BLK_REPORTS; i++)
			free(want[i]);
		blk_reports(db, NULL, NULL, NULL, want);
		blk_reports(db, helper, cache, pool, got);
		same_reports(want, got, "through the cache, rebuilt");
	}
	/* This process's writer dropped what it deleted. */
	exec_ok(writer, "BEGIN");
	size_t before = analytics_block_cache_entries(cache);
	assert_int_equal(analytics_blocks_invalidate(mine, "s", last),
	                 SQLITE_OK);
	exec_ok(writer, "COMMIT");
	assert_true(analytics_block_cache_entries(cache) < before);
	for (size_t i = 0; i < BLK_REPORTS; i++)
		free(want[i]);
	analytics_blocks_writer_free(mine);
	analytics_blocks_writer_free(other);
	analytics_block_cache_free(cache);
	analytics_groups_pool_free(pool);
	file_dbs_close(&f);
}

/* The breakdown by content group of `groups` (a NULL-ended list) over
 * 2025-03-01..10 in `tz`, `filter`, through `cache` (NULL: none) with
 * two threads, as JSON text (the caller frees). */
static char *group_rows(sqlite3 *db, sqlite3 *helper,
                        struct analytics_block_cache *cache,
                        const char **groups, const char *filter, const char *tz)
{
	struct analytics_content_groups cg;
	char err[256];
	assert_int_equal(
	        analytics_content_groups_parse(groups, &cg, err, sizeof(err)),
	        0);
	struct analytics_request rq = request("2025-03-01", "2025-03-10", tz);
	rq.content_groups = &cg;
	rq.dimension = "content_group";
	rq.filter = filter;
	rq.helper = cache ? helper : NULL;
	rq.cache = cache;
	rq.metric = "visitors,visits,pageviews,bounce_rate,visit_duration,"
	            "time_on_page";
	json_t *j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	char *text = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(j);
	analytics_content_groups_free(&cg);
	return text;
}

/* A whole day's sums by content group, kept with its bytes in the cache
 * once a breakdown without filters has summed them, answer the next
 * one as the visits do; groups named alike but read from other pages
 * are summed afresh, not taken for the first; and a day rebuilt is
 * summed again. */
static void groups_days_kept(sqlite3 *mem)
{
	struct file_dbs f;
	file_dbs_open(mem, &f);
	const char *one[] = {"s:Ps:/p1|/p2", "s:Home:/", NULL};
	const char *other[] = {"s:Ps:/p3|/p4", "s:Home:/", NULL};
	struct analytics_block_cache *cache =
	        analytics_block_cache_new(64 << 20);
	assert_non_null(cache);
	for (size_t z = 0; z < 2; z++) {
		const char *tz = blk_tz[z];
		char *want = group_rows(f.db, NULL, NULL, one, "", tz);
		char *want_other = group_rows(f.db, NULL, NULL, other, "", tz);
		assert_string_not_equal(want, want_other);
		/* The blocks cached by a filtered breakdown, which keeps no
		 * sums; then the first without a filter keeps them. */
		free(group_rows(f.db, f.helper, cache, one, "device!=x", tz));
		size_t blocks = analytics_block_cache_bytes(cache);
		for (int k = 0; k < 2; k++) {
			char *got =
			        group_rows(f.db, f.helper, cache, one, "", tz);
			assert_string_equal(got, want);
			free(got);
			if (z == 0 && k == 0)
				assert_true(analytics_block_cache_bytes(cache) >
				            blocks);
		}
		char *got = group_rows(f.db, f.helper, cache, other, "", tz);
		assert_string_equal(got, want_other);
		free(got);
		free(want);
		free(want_other);
	}
	/* Summed ahead, as at a start (analytics_groups_warm()), over the
	 * days the cache's warm-up filled it with: the next breakdown reads
	 * nothing more, and takes every whole day's sums kept. */
	struct analytics_block_cache *warm =
	        analytics_block_cache_new(64 << 20);
	assert_non_null(warm);
	struct analytics_content_groups cg;
	char err[256];
	assert_int_equal(
	        analytics_content_groups_parse(one, &cg, err, sizeof(err)), 0);
	atomic_bool stop = false;
	size_t sites = 0, warmed = 0;
	/* Nothing cached: nothing to sum. */
	assert_int_equal(analytics_groups_warm(f.db, &cg, warm, &stop, &sites,
	                                       err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(sites, 0);
	assert_int_equal(analytics_blocks_cache_warm(f.db, warm, 64 << 20,
	                                             &stop, &warmed),
	                 SQLITE_OK);
	assert_true(warmed > 0);
	size_t blocks = analytics_block_cache_bytes(warm);
	assert_int_equal(analytics_groups_warm(f.db, &cg, warm, &stop, &sites,
	                                       err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(sites, 1);
	size_t kept = analytics_block_cache_bytes(warm);
	assert_true(kept > blocks);
	uint64_t hits = analytics_block_cache_memo_hits(warm);
	char *want = group_rows(f.db, NULL, NULL, one, "", "UTC");
	char *got = group_rows(f.db, f.helper, warm, one, "", "UTC");
	assert_string_equal(got, want);
	free(got);
	free(want);
	/* Every covered day (all inside the range, none an edge; the
	 * others' blocks are cached too, but the days no run covers are
	 * read off the visits). */
	int64_t day0 = 0, day1 = -1, run0, run1;
	assert_true(analytics_block_cache_site_days(warm, "s", &day0, &day1));
	assert_false(analytics_block_cache_site_days(warm, "t", &day0, &day1));
	assert_int_equal(analytics_blocks_covered(f.db, "s", day0, day1 + 1,
	                                          &run0, &run1),
	                 SQLITE_OK);
	assert_true(run0 >= day0 && run1 <= day1 + 1 && run1 - run0 >= 3);
	assert_int_equal(analytics_block_cache_memo_hits(warm) - hits,
	                 run1 - run0);
	/* Small: a day's two groups, sets of a few hundred visitors, not
	 * the 64 KiB a keys' buffer starts with. */
	assert_true((kept - blocks) / (size_t)(run1 - run0) < 32 << 10);
	assert_int_equal(analytics_block_cache_bytes(warm), kept);
	/* Stopped: nothing summed. */
	struct analytics_block_cache *again =
	        analytics_block_cache_new(64 << 20);
	assert_non_null(again);
	assert_int_equal(analytics_blocks_cache_warm(f.db, again, 64 << 20,
	                                             &stop, &warmed),
	                 SQLITE_OK);
	stop = true;
	assert_int_equal(analytics_groups_warm(f.db, &cg, again, &stop, &sites,
	                                       err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(sites, 0);
	analytics_content_groups_free(&cg);
	analytics_block_cache_free(warm);
	analytics_block_cache_free(again);

	/* A day rebuilt: its new rows summed, not the old rows' sums. */
	struct analytics_blocks_writer *w =
	        analytics_blocks_writer_new(f.writer, NULL);
	assert_non_null(w);
	erase_one_and_rebuild(f.writer, w, MAR1 / 86400 + 6);
	analytics_blocks_writer_free(w);
	want = group_rows(f.db, NULL, NULL, one, "", "UTC");
	got = group_rows(f.db, f.helper, cache, one, "", "UTC");
	assert_string_equal(got, want);
	free(got);
	free(want);
	analytics_block_cache_free(cache);
	file_dbs_close(&f);
}

/* Group `name`'s row in breakdown `text` (a new reference), or NULL. */
static json_t *group_row(const char *text, const char *name)
{
	json_t *j = json_loads(text, 0, NULL);
	assert_non_null(j);
	json_t *row, *found = NULL;
	size_t i;
	json_array_foreach(json_object_get(j, "results"), i, row)
	{
		const char *g = json_string_value(
		        json_object_get(row, "content_group"));
		if (g && strcmp(g, name) == 0)
			found = json_incref(row);
	}
	json_decref(j);
	return found;
}

/* One pass over the blocks sums at most 64 content groups, a bit each
 * (query.c's GROUPS_SCANNED_MAX): with 64 the last group's bit is the
 * top one, and a 65th sends the breakdown back to a summary per group.
 * Either way Ps and Home, last in the list, have the rows they have
 * as the only two groups (bits 0 and 1), with and without a filter;
 * only the pass keeps a day's sums (the memos tell which ran). */
static void groups_at_the_bit_limit(sqlite3 *mem)
{
	struct file_dbs f;
	file_dbs_open(mem, &f);
	const char *two[] = {"s:Ps:/p1|/p2", "s:Home:/", NULL};
	char names[64][64];
	const char *groups[66];
	for (size_t n = 64; n <= 65; n++) {
		for (size_t k = 0; k < n - 2; k++) {
			snprintf(names[k], sizeof(names[k]),
			         "s:None%zu:/none-%zu", k, k);
			groups[k] = names[k];
		}
		groups[n - 2] = two[0];
		groups[n - 1] = two[1];
		groups[n] = NULL;
		struct analytics_block_cache *cache =
		        analytics_block_cache_new(64 << 20);
		assert_non_null(cache);
		for (int k = 0; k < 2; k++) {
			const char *filter = k ? "device!=x" : "";
			char *want = group_rows(f.db, NULL, NULL, two, filter,
			                        "UTC");
			for (int r = 0; r < 3; r++) {
				char *got =
				        r ? group_rows(f.db, f.helper, cache,
				                       groups, filter, "UTC")
				          : group_rows(f.db, NULL, NULL, groups,
				                       filter, "UTC");
				for (size_t x = 0; x < 2; x++) {
					const char *name = x ? "Home" : "Ps";
					json_t *a = group_row(want, name);
					json_t *b = group_row(got, name);
					assert_non_null(a);
					assert_true(
					        json_integer_value(
					                json_object_get(
					                        a, "visits")) >
					        0);
					assert_non_null(b);
					assert_true(json_equal(a, b));
					json_decref(a);
					json_decref(b);
				}
				free(got);
			}
			free(want);
		}
		if (n == 64)
			assert_true(analytics_block_cache_memo_hits(cache) > 0);
		else
			assert_int_equal(analytics_block_cache_memo_hits(cache),
			                 0);
		analytics_block_cache_free(cache);
	}
	file_dbs_close(&f);
}

static int64_t int_of(sqlite3 *db, const char *sql);

/* The cached rows: how many, how many of day `day`, and their bytes. */
static void cached_rows(sqlite3 *db, struct analytics_block_cache *cache,
                        int64_t day, size_t *n, size_t *of_day, int64_t *bytes)
{
	size_t k;
	int64_t *ids = analytics_block_cache_ids(cache, &k);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT day, length(data) FROM "
	                                    "analytics_blocks WHERE id = ?1",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	*n = k;
	*of_day = 0;
	*bytes = 0;
	for (size_t i = 0; i < k; i++) {
		sqlite3_bind_int64(st, 1, ids[i]);
		assert_int_equal(sqlite3_step(st), SQLITE_ROW);
		*of_day += sqlite3_column_int64(st, 0) == day;
		*bytes += sqlite3_column_int64(st, 1);
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	free(ids);
}

/* The warm-up fills the cache newest day first, within its budget, and
 * stops when told; the reports then read every block from memory. */
static void blocks_warm_cache(sqlite3 *mem)
{
	struct file_dbs f;
	file_dbs_open(mem, &f);
	sqlite3 *db = f.db;
	struct analytics_block_cache *cache =
	        analytics_block_cache_new(64 << 20);
	assert_non_null(cache);
	atomic_bool stop = true;
	size_t warmed, n, of_day;
	int64_t bytes;
	assert_int_equal(analytics_blocks_cache_warm(db, cache, 64 << 20, &stop,
	                                             &warmed),
	                 SQLITE_OK);
	assert_int_equal(warmed, 0);
	assert_int_equal(analytics_block_cache_entries(cache), 0);

	/* A budget of the newest day's bytes: that day, and nothing older
	 * that has bytes. */
	atomic_store(&stop, false);
	int64_t last = int_of(db, "SELECT max(day) FROM analytics_blocks");
	int64_t rows = int_of(db, "SELECT count(*) FROM analytics_blocks");
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT count(*) FROM analytics_blocks WHERE day = %lld",
	         (long long)last);
	int64_t last_rows = int_of(db, sql);
	snprintf(sql, sizeof(sql),
	         "SELECT sum(length(data)) FROM analytics_blocks WHERE day = "
	         "%lld",
	         (long long)last);
	int64_t last_bytes = int_of(db, sql);
	assert_true(last_rows > 0 && last_rows < rows);
	assert_int_equal(analytics_blocks_cache_warm(
	                         db, cache, (size_t)last_bytes, &stop, &warmed),
	                 SQLITE_OK);
	cached_rows(db, cache, last, &n, &of_day, &bytes);
	assert_int_equal(of_day, last_rows);
	assert_int_equal(bytes, last_bytes);
	assert_int_equal(warmed, n);

	/* Room for all: the rest, and the reports find every block there. */
	assert_int_equal(analytics_blocks_cache_warm(db, cache, 64 << 20, &stop,
	                                             &warmed),
	                 SQLITE_OK);
	assert_int_equal(warmed + n, rows);
	assert_int_equal(analytics_block_cache_entries(cache), rows);
	char *want[BLK_REPORTS], *got[BLK_REPORTS];
	blk_reports(db, NULL, NULL, NULL, want);
	blk_reports(db, f.helper, cache, NULL, got);
	same_reports(want, got, "through a warmed cache");
	assert_int_equal(analytics_block_cache_entries(cache), rows);
	for (size_t i = 0; i < BLK_REPORTS; i++)
		free(want[i]);
	analytics_block_cache_free(cache);

	/* Warmed full, then a report's block that needs room: the oldest
	 * day's go first, not the newest's, though put last. */
	int64_t all = int_of(db, "SELECT sum(length(data)) FROM "
	                         "analytics_blocks");
	int64_t first_bytes = int_of(
	        db, "SELECT sum(length(data)) FROM analytics_blocks WHERE "
	            "day = (SELECT min(day) FROM analytics_blocks)");
	assert_true(first_bytes > 0);
	cache = analytics_block_cache_new((size_t)all);
	assert_non_null(cache);
	assert_int_equal(analytics_blocks_cache_warm(db, cache, (size_t)all,
	                                             &stop, &warmed),
	                 SQLITE_OK);
	assert_int_equal(warmed, rows);
	char *room = calloc(1, (size_t)first_bytes);
	assert_non_null(room);
	analytics_block_cache_release(
	        cache, analytics_block_cache_put(cache, INT64_MAX, "s", 0, room,
	                                         (size_t)first_bytes));
	free(room);
	analytics_block_cache_forget(cache, INT64_MAX);
	cached_rows(db, cache, last, &n, &of_day, &bytes);
	assert_int_equal(of_day, last_rows);
	assert_true(n < (size_t)rows);
	analytics_block_cache_free(cache);
	file_dbs_close(&f);
}

/* Blocks answer filtered reports as the visits they were built from do:
 * every report the same with days from blocks (a dirty one in between,
 * open visits after them) as from analytics_visits alone. */
/* Day `b` of a scan as day `c` of another: the same visits and pages. */
static void same_block(const struct analytics_block *b,
                       const struct analytics_block *c)
{
	assert_int_equal(b->day, c->day);
	assert_int_equal(b->n, c->n);
	assert_int_equal(b->n_pages, c->n_pages);
	assert_memory_equal(b->ints[ANALYTICS_BC_VISITOR],
	                    c->ints[ANALYTICS_BC_VISITOR],
	                    b->n * sizeof(int64_t));
	const struct analytics_block_text *x = &b->text[ANALYTICS_BC_PAGE_PATH],
	                                  *y = &c->text[ANALYTICS_BC_PAGE_PATH];
	assert_int_equal(x->n, y->n);
	for (size_t k = 0; k < x->n; k++)
		assert_string_equal(x->str[k], y->str[k]);
	assert_memory_equal(x->idx, y->idx, b->n_pages * sizeof(uint32_t));
}

/* A scan moved from run to run of days, as the report threads move
 * theirs, reads each run as a scan opened on it alone: forward, back,
 * past the blocks' end, and moved before it finished a run. */
static void scan_moved_as_opened(sqlite3 *db, int64_t d0)
{
	const uint64_t cols = ANALYTICS_BC_BIT(ANALYTICS_BC_VISITOR) |
	                      ANALYTICS_BC_BIT(ANALYTICS_BC_PAGE_PATH);
	const int64_t runs[][2] = {{d0 + 4, d0 + 6},   {d0 + 7, d0 + 9},
	                           {d0 + 0, d0 + 5},   {d0 + 5, d0 + 30},
	                           {d0 + 20, d0 + 30}, {d0 + 1, d0 + 3}};
	struct analytics_blocks_scan *moved = NULL;
	exec_ok(db, "BEGIN");
	for (size_t r = 0; r < sizeof(runs) / sizeof(runs[0]); r++) {
		if (!moved)
			assert_int_equal(
			        analytics_blocks_scan_open(db, "s", runs[r][0],
			                                   runs[r][1], cols,
			                                   NULL, &moved),
			        SQLITE_OK);
		else
			assert_int_equal(analytics_blocks_scan_range(
			                         moved, runs[r][0], runs[r][1]),
			                 SQLITE_OK);
		struct analytics_blocks_scan *fresh;
		assert_int_equal(analytics_blocks_scan_open(db, "s", runs[r][0],
		                                            runs[r][1], cols,
		                                            NULL, &fresh),
		                 SQLITE_OK);
		int days = 0, rc;
		do {
			const struct analytics_block *b, *c;
			rc = analytics_blocks_scan_next(moved, &b);
			assert_int_equal(analytics_blocks_scan_next(fresh, &c),
			                 rc);
			if (rc == SQLITE_ROW)
				same_block(b, c), days++;
			/* The third run left after its first day. */
		} while (rc == SQLITE_ROW && !(r == 2 && days == 1));
		assert_true(rc == SQLITE_DONE || (r == 2 && days == 1));
		/* Every run but the one past the end has days. */
		assert_true(days > 0 || r == 4);
		analytics_blocks_scan_close(fresh);
	}
	analytics_blocks_scan_close(moved);
	exec_ok(db, "COMMIT");
}

/* Sixty days of visits of site "s" from 2025-03-01: most views on 20
 * paths (/p0 the most), the others on 300 (/t0-/t299) alike; on day 20,
 * /spike's 800 visits (each to /p1 too), a value no other day has; the
 * last day's visits open. */
static void fill_long(sqlite3 *db)
{
	sqlite3_stmt *v, *p;
	assert_int_equal(
	        sqlite3_prepare_v2(
	                db,
	                VISITS_INSERT
	                "('s', ?1, ?2, ?2 + 60000, ?3, ?4, "
	                "0, 0, ?5, ?5, 'x', '', 'x', '', '', '', '', '', "
	                "'FI', '', '', 'Chrome', '', ?6, '', '') RETURNING id",
	                -1, &v, NULL),
	        SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "INSERT INTO analytics_visit_pages "
	                                    "VALUES (?1, ?2, 1, 1000) ON "
	                                    "CONFLICT DO NOTHING",
	                                    -1, &p, NULL),
	                 SQLITE_OK);
	exec_ok(db, "BEGIN");
	uint64_t seed = 11;
	for (int day = 0; day < 60; day++) {
		int n = 240 + (day == 20 ? 800 : 0);
		for (int i = 0; i < n; i++) {
			uint64_t r = splitmix(&seed);
			bool spike = i >= 240;
			int64_t start =
			        (MAR1 + day * 86400LL + (int64_t)(r % 86000)) *
			        1000;
			int pages = spike ? 2 : 1 + (int)((r >> 20) % 4);
			char path[4][16];
			for (int k = 0; k < pages; k++) {
				uint64_t x = splitmix(&seed);
				double u =
				        (double)(x >> 11) / 9007199254740992.0;
				if (x % 5)
					snprintf(path[k], sizeof(path[k]),
					         "/p%d", (int)(20 * u * u));
				else
					snprintf(path[k], sizeof(path[k]),
					         "/t%d", (int)(300 * u));
			}
			if (spike) {
				snprintf(path[0], sizeof(path[0]), "/spike");
				snprintf(path[1], sizeof(path[1]), "/p1");
			}
			sqlite3_bind_int64(
			        v, 1,
			        mix64(spike ? 100000 + (uint64_t)i
			                    : splitmix(&seed) % 3000));
			sqlite3_bind_int64(v, 2, start);
			sqlite3_bind_int(v, 3, day < 59);
			sqlite3_bind_int(v, 4, pages);
			sqlite3_bind_text(v, 5, path[0], -1, SQLITE_TRANSIENT);
			sqlite3_bind_text(v, 6,
			                  spike || (r >> 40) % 2 ? "mobile"
			                                         : "desktop",
			                  -1, SQLITE_STATIC);
			assert_int_equal(sqlite3_step(v), SQLITE_ROW);
			int64_t id = sqlite3_column_int64(v, 0);
			sqlite3_reset(v);
			for (int k = 0; k < pages; k++) {
				sqlite3_bind_int64(p, 1, id);
				sqlite3_bind_text(p, 2, path[k], -1,
				                  SQLITE_TRANSIENT);
				assert_int_equal(sqlite3_step(p), SQLITE_DONE);
				sqlite3_reset(p);
			}
		}
	}
	sqlite3_finalize(v);
	sqlite3_finalize(p);
	exec_ok(db, "COMMIT");
}

/* The top pages of a long range under an ad hoc filter, as
 * blocks_pruned_top_pages() compares them (the caller frees out[]); the
 * last six with each row's conversion rate to /p1, whose base is the
 * same filter without the goal. */
#define PRUNED_REPORTS 30
static void pruned_reports(sqlite3 *db, sqlite3 *helper, char **out)
{
	const char *goal_list[] = {"s:page:/p1", NULL};
	struct analytics_goals goals;
	char err[256];
	assert_int_equal(
	        analytics_goals_parse(goal_list, &goals, err, sizeof(err)), 0);
	static const char *const ranges[][2] = {{"2025-03-01", "2025-04-29"},
	                                        {"2025-03-22", "2025-04-29"},
	                                        {"2025-03-22", "2025-04-20"}};
	static const char *const filters[] = {"device==mobile",
	                                      "device==mobile;country!=XX"};
	static const char *const limits[] = {"10", "3", "100", "5"};
	for (size_t i = 0; i < PRUNED_REPORTS; i++) {
		struct analytics_request rq =
		        request(ranges[i % 3][0], ranges[i % 3][1], "UTC");
		rq.filter = i < 24 ? filters[i / 3 % 2]
		                   : "device==mobile;goal==Visit /p1";
		rq.dimension = "page";
		rq.limit = i < 24 ? limits[i / 6] : i < 27 ? "10" : "3";
		/* A comparison seeks its rows' values in the period before. */
		rq.compare = i / 6 == 3 ? "previous_period" : NULL;
		rq.metric = i < 24 ? NULL : "conversion_rate";
		rq.goals = &goals;
		rq.helper = helper;
		json_t *j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		out[i] = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(j);
	}
	analytics_goals_free(&goals);
}

/* A long range's top pages under an ad hoc filter sum only the values a
 * sample of its days ranks first (query.c's pruned scan): the rows must
 * be those of the visits, whether the sample's values hold the top list
 * or a value it missed enters it (/spike, on a day not sampled: the scan
 * is then done whole), on one thread and two, with the open visits of a
 * day no block covers. */
static void blocks_pruned_top_pages(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_long(db);
	char *want[PRUNED_REPORTS], *got[PRUNED_REPORTS];
	pruned_reports(db, NULL, want);
	/* /spike is in the full range's top ten, and only there; in its
	 * converted visits' too. */
	assert_non_null(strstr(want[0], "\"/spike\""));
	assert_null(strstr(want[1], "\"/spike\""));
	assert_non_null(strstr(want[24], "\"/spike\""));
	assert_non_null(strstr(want[24], "conversion_rate"));
	assert_null(strstr(want[25], "\"/spike\""));
	struct analytics_blocks_writer *w =
	        analytics_blocks_writer_new(db, NULL);
	assert_non_null(w);
	exec_ok(db, "BEGIN");
	assert_int_equal(build_days(w, (MAR1 + 70 * 86400) * 1000), 59);
	exec_ok(db, "COMMIT");
	analytics_blocks_writer_free(w);
	pruned_reports(db, NULL, got);
	for (size_t i = 0; i < PRUNED_REPORTS; i++) {
		if (strcmp(want[i], got[i]) != 0)
			fail_msg("report %zu: %s, from blocks %s", i, want[i],
			         got[i]);
		free(got[i]);
	}
	struct file_dbs f;
	file_dbs_open(db, &f);
	pruned_reports(f.db, f.helper, got);
	for (size_t i = 0; i < PRUNED_REPORTS; i++) {
		if (strcmp(want[i], got[i]) != 0)
			fail_msg("report %zu: %s, on two threads %s", i,
			         want[i], got[i]);
		free(got[i]);
		free(want[i]);
	}
	file_dbs_close(&f);
	sqlite3_close(db);
}

static void blocks_answer_as_the_visits(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_visits(db, 7);
	char *before[BLK_REPORTS], *after[BLK_REPORTS];
	blk_reports(db, NULL, NULL, NULL, before);

	struct analytics_blocks_writer *w =
	        analytics_blocks_writer_new(db, NULL);
	assert_non_null(w);
	exec_ok(db, "BEGIN");
	int days = build_days(w, (MAR1 + 20 * 86400) * 1000);
	/* Up to the open visits' day; a day in the middle dirty again. */
	assert_int_equal(analytics_blocks_invalidate(w, "s", MAR1 / 86400 + 3),
	                 SQLITE_OK);
	exec_ok(db, "COMMIT");
	analytics_blocks_writer_free(w);
	assert_int_equal(days, 9);
	int64_t run0, run1;
	/* The longer of the runs either side of the dirty day. */
	assert_int_equal(analytics_blocks_covered(db, "s", MAR1 / 86400,
	                                          MAR1 / 86400 + 30, &run0,
	                                          &run1),
	                 SQLITE_OK);
	assert_int_equal(run0, MAR1 / 86400 + 4);
	assert_int_equal(run1, MAR1 / 86400 + 9);
	scan_moved_as_opened(db, MAR1 / 86400);

	blk_reports(db, NULL, NULL, NULL, after);
	same_reports(before, after, "with blocks");
	blocks_on_two_threads(db, before);
	blocks_through_cache(db);
	groups_days_kept(db);
	groups_at_the_bit_limit(db);
	blocks_warm_cache(db);
	for (size_t i = 0; i < BLK_REPORTS; i++)
		free(before[i]);

	/* They are read: a damaged column is an error, not a wrong answer,
	 * for each kind of report that reads it. */
	static const struct {
		const char *col, *filter, *dimension;
		enum analytics_report_kind kind;
	} damaged[] = {
	        {"device", "device==mobile;country==FI", NULL,
	         ANALYTICS_SUMMARY},
	        {"second", "device==mobile;country==FI", NULL,
	         ANALYTICS_TIMESERIES},
	        {"source", "device==mobile", "source", ANALYTICS_BREAKDOWN},
	        {"page_views", "device==mobile", "page", ANALYTICS_BREAKDOWN},
	        {"page_path", "page==/a", NULL, ANALYTICS_SUMMARY},
	        {"event_name", "device==mobile", "event", ANALYTICS_BREAKDOWN},
	        {"event_value", "device==mobile", "prop:plan",
	         ANALYTICS_BREAKDOWN},
	        {"event_n", "device==mobile", NULL, ANALYTICS_GOALS},
	};
	const char *goal_list[] = {"s:event:signup", NULL};
	struct analytics_goals goals;
	char err[256];
	assert_int_equal(
	        analytics_goals_parse(goal_list, &goals, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(damaged) / sizeof(damaged[0]); i++) {
		exec_ok(db, "BEGIN");
		char sql[160];
		snprintf(sql, sizeof(sql),
		         "UPDATE analytics_blocks SET data = x'0400000001' "
		         "WHERE col = '%s'",
		         damaged[i].col);
		exec_ok(db, sql);
		struct analytics_request rq =
		        request("2025-03-01", "2025-03-10", "UTC");
		rq.filter = damaged[i].filter;
		rq.dimension = damaged[i].dimension;
		rq.goals = &goals;
		/* By the hour: whole UTC days by the day need no start times.
		 */
		rq.interval =
		        strcmp(damaged[i].col, "second") == 0 ? "hour" : NULL;
		json_t *out = NULL;
		err[0] = '\0';
		if (analytics_report(db, damaged[i].kind, &rq, &out, err,
		                     sizeof(err)) != ANALYTICS_DB_ERROR)
			fail_msg("%s damaged, the report went on",
			         damaged[i].col);
		assert_non_null(strstr(err, "does not decode"));
		exec_ok(db, "ROLLBACK");
	}
	analytics_goals_free(&goals);
	sqlite3_close(db);
}

/* A sketch's estimate can pass its row's visits (a few dozen visitors of
 * few visits each); no report says more visitors than visits. */
static void visitors_never_above_visits(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	/* 2025-03-01's hour, day and month rows, unfiltered and of page /a:
	 * 5 visits, a sketch of 40 visitors. */
	exec_ok(db,
	        "WITH RECURSIVE s(i, h) AS (SELECT 0, NULL UNION ALL "
	        "SELECT i + 1, analytics_hll_add(h, random()) FROM s WHERE "
	        "i < 40), k(b) AS (SELECT h FROM s WHERE i = 40) INSERT "
	        "INTO analytics_rollup (site, dim, gran, t, value, visits, "
	        "pageviews, visitors) SELECT 's', d.dim, g.gran, "
	        "1740787200, d.value, 5, 5, k.b FROM k, (SELECT '' AS dim, "
	        "'' AS value UNION ALL SELECT 'page', '/a') d, (SELECT 0 AS "
	        "gran UNION ALL SELECT 1 UNION ALL SELECT 2) g");
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-01", "UTC");
	json_t *j = report_ok(db, ANALYTICS_SUMMARY, &rq);
	json_t *r = json_object_get(j, "results");
	assert_int_equal(json_integer_value(json_object_get(r, "visits")), 5);
	assert_int_equal(json_integer_value(json_object_get(r, "visitors")), 5);
	json_decref(j);
	rq.dimension = "page";
	rq.limit = "10";
	j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	r = json_array_get(json_object_get(j, "results"), 0);
	assert_string_equal(json_string_value(json_object_get(r, "page")),
	                    "/a");
	assert_int_equal(json_integer_value(json_object_get(r, "visitors")), 5);
	json_decref(j);
	rq.dimension = NULL;
	rq.interval = "day";
	j = report_ok(db, ANALYTICS_TIMESERIES, &rq);
	r = json_array_get(json_object_get(j, "results"), 0);
	assert_int_equal(json_integer_value(json_object_get(r, "visitors")), 5);
	json_decref(j);
	sqlite3_close(db);
}

/* A breakdown ranks its rows by the visitors it shows, capped at their
 * visits: /a's sketch of 40 visitors over 5 visits shows 5, below /b's 8
 * of 8; so for the hours of 10:00 and 11:00 of the same rows. */
static void breakdown_ranked_by_visitors_shown(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	/* Hour rows of both, and /a's and /b's day and month rows; each
	 * visitor's hash in a register of its own, so the sketches count
	 * them exactly. */
	exec_ok(db,
	        "WITH RECURSIVE s(i, h) AS (SELECT 0, NULL UNION ALL "
	        "SELECT i + 1, analytics_hll_add(h, i << 52) FROM s "
	        "WHERE i < 40), r(dim, value, gran, t, visits, n) AS (VALUES "
	        "('page', '/a', 0, 1740823200, 5, 40), ('page', '/b', 0, "
	        "1740826800, 8, 8), ('page', '/a', 1, 1740787200, 5, 40), "
	        "('page', '/b', 1, 1740787200, 8, 8), ('page', '/a', 2, "
	        "1740787200, 5, 40), ('page', '/b', 2, 1740787200, 8, 8), "
	        "('', '', 0, 1740823200, 5, 40), ('', '', 0, 1740826800, 8, "
	        "8)) INSERT INTO analytics_rollup (site, dim, gran, t, "
	        "value, visits, pageviews, visitors) SELECT 's', r.dim, "
	        "r.gran, r.t, r.value, r.visits, r.visits, s.h FROM r JOIN "
	        "s ON s.i = r.n");
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-01", "UTC");
	rq.limit = "10";
	static const struct {
		const char *dim;
		const char *first, *second;
	} cases[] = {{"page", "/b", "/a"}, {"hour", "11", "10"}};
	static const json_int_t shown[] = {8, 5};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		rq.dimension = cases[i].dim;
		json_t *j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		json_t *rows = json_object_get(j, "results");
		assert_int_equal(json_array_size(rows), 2);
		for (size_t k = 0; k < 2; k++) {
			json_t *r = json_array_get(rows, k);
			json_t *v = json_object_get(r, cases[i].dim);
			char key[16];
			if (json_is_integer(v))
				snprintf(key, sizeof(key), "%lld",
				         (long long)json_integer_value(v));
			else
				snprintf(key, sizeof(key), "%s",
				         json_string_value(v));
			assert_string_equal(key, k ? cases[i].second
			                           : cases[i].first);
			assert_int_equal(json_integer_value(json_object_get(
			                         r, "visitors")),
			                 shown[k]);
		}
		json_decref(j);
	}
	sqlite3_close(db);
}

static int64_t int_of(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int64_t v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* The analytics plugin's migrations before version `version` applied to
 * a new database. */
static sqlite3 *db_before(int version)
{
	void *so = dlopen(SEULA_BUILD_PLUGIN_DIR "/analytics.so", RTLD_NOW);
	assert_non_null(so);
	const struct seula_plugin *p = dlsym(so, SEULA_PLUGIN_SYMBOL);
	assert_non_null(p);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	size_t i = 0;
	for (; i < p->n_migrations && p->migrations[i].version < version; i++)
		exec_ok(db, p->migrations[i].sql);
	assert_true(i < p->n_migrations);
	assert_int_equal(p->migrations[i].version, version);
	dlclose(so);
	return db;
}

/* The plugin's migration `version` applied to db. */
static void migrate(sqlite3 *db, int version)
{
	void *so = dlopen(SEULA_BUILD_PLUGIN_DIR "/analytics.so", RTLD_NOW);
	assert_non_null(so);
	const struct seula_plugin *p = dlsym(so, SEULA_PLUGIN_SYMBOL);
	assert_non_null(p);
	size_t i = 0;
	while (i < p->n_migrations && p->migrations[i].version != version)
		i++;
	assert_true(i < p->n_migrations);
	exec_ok(db, p->migrations[i].sql);
	dlclose(so);
}

/* Visits of site "s", each (id, start_ts in ms, closed) of `values` (SQL
 * VALUES rows): the visitor is the id, the pages '/', the rest empty. */
static void add_visits(sqlite3 *db, const char *values)
{
	char *sql = sqlite3_mprintf(
	        "WITH v(id, ts, closed) AS (VALUES %s) INSERT INTO "
	        "analytics_visits (id, site, visitor, start_ts, last_ts, "
	        "closed, entry_page, exit_page, source, referrer, channel, "
	        "utm_source, utm_medium, utm_campaign, utm_term, utm_content, "
	        "country, region, city, browser, os, device, screen, "
	        "language) SELECT id, 's', id, ts, ts, closed, '/', '/', '', "
	        "'', '', '', '', '', '', '', '', '', '', '', '', '', '', '' "
	        "FROM v",
	        values);
	exec_ok(db, sql);
	sqlite3_free(sql);
}

/* Migration 13 takes off a property value's rollup rows the visits an
 * ended visit counted more than once (the value under several event
 * names): in its hour, and in its day and month when merged; open visits
 * and values under one name stay; every segment goes to be backfilled. */
static void prop_visits_counted_once_migrated(void **state)
{
	(void)state;
	sqlite3 *db = db_before(13);
	/* 2025-03-14 10:40 UTC: visit 1 ended, 2 still open; visit 3 ended,
	 * on 2025-04-01, after merged_to (2025-03-26). */
	add_visits(db, "(1, 1741948800000, 1), (2, 1741948800000, 0), (3, "
	               "1743500000000, 1)");
	exec_ok(db, "INSERT INTO analytics_visit_events VALUES (1, 'a', '', "
	            "'', 1), (1, 'a', 'plan', 'pro', 1), (1, 'b', '', '', 2), "
	            "(1, 'b', 'plan', 'pro', 2), (1, 'c', 'plan', 'pro', 1), "
	            "(1, 'a', 'size', 'xl', 1), (2, 'a', 'plan', 'pro', 1), "
	            "(2, 'b', 'plan', 'pro', 1), (3, 'a', 'plan', 'free', 1), "
	            "(3, 'b', 'plan', 'free', 1)");
	exec_ok(db, "UPDATE analytics_meta SET v = 1743000000 WHERE k = "
	            "'merged_to'");
	/* Visit 1 counted 3 times in pro, once more by another visit: 4. */
	exec_ok(db,
	        "INSERT INTO analytics_rollup (site, dim, gran, t, value, "
	        "visits) VALUES ('s', 'prop:plan', 0, 1741946400, 'pro', 4), "
	        "('s', 'prop:plan', 1, 1741910400, 'pro', 4), ('s', "
	        "'prop:plan', 2, 1740787200, 'pro', 4), ('s', 'prop:size', 0, "
	        "1741946400, 'xl', 1), ('s', 'prop:plan', 0, 1743498000, "
	        "'free', 2), ('s', 'prop:plan', 1, 1743465600, 'free', 2), "
	        "('s', 'seg:1:prop:plan', 0, 1741946400, 'pro', 3)");
	exec_ok(db, "INSERT INTO analytics_segments (id, site, filter, "
	            "max_visit, cursor_id) VALUES (1, 's', 'device==mobile', "
	            "0, 0)");
	migrate(db, 13);
	assert_int_equal(int_of(db, "SELECT group_concat(visits, '') FROM "
	                            "(SELECT visits FROM analytics_rollup "
	                            "WHERE dim = 'prop:plan' AND value = 'pro' "
	                            "ORDER BY gran)"),
	                 222);
	assert_int_equal(int_of(db, "SELECT visits FROM analytics_rollup WHERE "
	                            "dim = 'prop:size'"),
	                 1);
	/* Visit 3 started after merged_to: its hour only (its day row is
	 * another visit's, made up here to show it is left alone). */
	assert_int_equal(int_of(db, "SELECT visits FROM analytics_rollup WHERE "
	                            "value = 'free' AND gran = 0"),
	                 1);
	assert_int_equal(int_of(db, "SELECT visits FROM analytics_rollup WHERE "
	                            "value = 'free' AND gran = 1"),
	                 2);
	assert_int_equal(int_of(db, "SELECT count(*) FROM analytics_segments"),
	                 0);
	assert_int_equal(int_of(db, "SELECT id FROM analytics_segment_purge"),
	                 1);
	sqlite3_close(db);
}

/* Migration 12 drops the segments whose filter keeps pages (page==, now
 * counting only those pages' views), for their rows to be purged and the
 * segments backfilled again, and leaves the others. */
static void page_segments_migrated_to_a_new_backfill(void **state)
{
	(void)state;
	sqlite3 *db = db_before(12);
	exec_ok(db, "INSERT INTO analytics_segments (id, site, filter, "
	            "max_visit, cursor_id) VALUES (1, 's', "
	            "'browser==Firefox;page==/pricing', 0, 0), (2, 's', "
	            "'page==/a|/b', 0, 0), (3, 's', 'page!=/a', 0, 0), (4, "
	            "'s', 'browser==Firefox;event==page==x', 0, 0), (5, 't', "
	            "'page!=/b;page==/c*', 0, 0)");
	exec_ok(db, "INSERT INTO analytics_segment_open VALUES (1, 10), (2, "
	            "10), (3, 10), (4, 11)");
	migrate(db, 12);
	assert_int_equal(int_of(db,
	                        "SELECT group_concat(id, '') FROM (SELECT id "
	                        "FROM analytics_segments ORDER BY id)"),
	                 34);
	assert_int_equal(int_of(db, "SELECT group_concat(id, '') FROM (SELECT "
	                            "id FROM analytics_segment_purge ORDER BY "
	                            "id)"),
	                 125);
	assert_int_equal(int_of(db, "SELECT group_concat(segment, '') FROM "
	                            "(SELECT segment FROM "
	                            "analytics_segment_open ORDER BY segment)"),
	                 34);
	/* A segment registered again gets a new id (AUTOINCREMENT). */
	exec_ok(db, "INSERT INTO analytics_segments (site, filter, max_visit, "
	            "cursor_id) VALUES ('s', 'page==/a|/b', 0, 0)");
	assert_int_equal(int_of(db, "SELECT max(id) FROM analytics_segments"),
	                 6);
	sqlite3_close(db);
}

/* Migration 10 takes the "identity" pseudonym earlier versions kept from
 * identify events out of the visits, rollups and blocks, and leaves every
 * other property. */
static void identity_props_migrated_away(void **state)
{
	(void)state;
	sqlite3 *db = db_before(10);
	/* Visit 1 on day MAR1 (blocks built past it), 2 a day later: both
	 * identified; 3 has a property of another name only. */
	add_visits(db, "(1, 1740787200000, 1), (2, 1740873600000, 1), (3, "
	               "1740873600000, 1)");
	exec_ok(db,
	        "INSERT INTO analytics_visit_events VALUES (1, 'identify', "
	        "'', '', 1), (1, 'identify', 'identity', 'ab12', 1), (1, "
	        "'identify', 'plan', 'pro', 1), (2, 'identify', 'identity', "
	        "'cd34', 1), (3, 'signup', 'identity', 'kept', 1)");
	exec_ok(db, "INSERT INTO analytics_rollup (site, dim, gran, t, value, "
	            "visits) VALUES ('s', 'prop:identity', 0, 0, 'ab12', 1), "
	            "('s', 'seg:3:prop:identity', 0, 0, 'ab12', 1), ('s', "
	            "'prop:plan', 0, 0, 'pro', 1), ('s', 'seg:3:prop:plan', 0, "
	            "0, 'pro', 1)");
	/* Day 20148 (MAR1) has blocks; day 20149 is not built yet. */
	exec_ok(db,
	        "INSERT INTO analytics_block_state VALUES ('s', 20149, 2); "
	        "INSERT INTO analytics_blocks VALUES ('s', 20148, 'visitor', "
	        "x'00'), ('s', 20147, 'visitor', x'00')");
	migrate(db, 10);
	assert_int_equal(int_of(db, "SELECT count(*) FROM "
	                            "analytics_visit_events WHERE prop = "
	                            "'identity' AND name = 'identify'"),
	                 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM "
	                            "analytics_visit_events"),
	                 3);
	assert_int_equal(int_of(db, "SELECT count(*) FROM analytics_rollup "
	                            "WHERE dim GLOB '*identity'"),
	                 0);
	assert_int_equal(int_of(db, "SELECT count(*) FROM analytics_rollup"),
	                 2);
	/* The built day is dirty, its block gone; the other block stays. */
	assert_int_equal(int_of(db, "SELECT group_concat(day) FROM "
	                            "analytics_block_dirty"),
	                 20148);
	assert_int_equal(int_of(db, "SELECT group_concat(day) FROM "
	                            "analytics_blocks"),
	                 20147);
	sqlite3_close(db);
}

/* A sweep of the block cache is due at first, then only for a while after
 * another connection wrote or the cache dropped blocks. */
static void block_cache_sweep_due(void **state)
{
	(void)state;
	struct analytics_sweep_state s = {0};
	assert_true(analytics_sweep_due(&s, 7, 0, 1000, 60000));
	s.swept = true;
	assert_true(analytics_sweep_due(&s, 7, 0, 30000, 60000));
	assert_false(analytics_sweep_due(&s, 7, 0, 61000, 60000));
	assert_false(analytics_sweep_due(&s, 7, 0, 65000, 60000));
	/* Another connection committed. */
	assert_true(analytics_sweep_due(&s, 8, 0, 70000, 60000));
	assert_true(analytics_sweep_due(&s, 8, 0, 129999, 60000));
	assert_false(analytics_sweep_due(&s, 8, 0, 130000, 60000));
	/* This process dropped blocks. */
	assert_true(analytics_sweep_due(&s, 8, 1, 200000, 60000));
	assert_true(analytics_sweep_due(&s, 8, 1, 259999, 60000));
	assert_false(analytics_sweep_due(&s, 8, 1, 260000, 60000));
	/* Not swept yet (the sweep failed): due whatever the rest. */
	s.swept = false;
	assert_true(analytics_sweep_due(&s, 8, 1, 900000, 60000));
}

/* The block cache keeps at most its bytes, dropping the least recently
 * used; an entry held stays readable through its eviction or drop. */
static void block_cache_bounded(void **state)
{
	(void)state;
	struct analytics_block_cache *c = analytics_block_cache_new(100);
	assert_non_null(c);
	uint8_t bytes[101];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (uint8_t)i;
	assert_null(analytics_block_cache_get(c, 1));
	/* Larger than the whole cache: not taken. */
	assert_null(analytics_block_cache_put(c, 9, "s", 0, bytes, 101));
	const struct analytics_cached_block *a =
	        analytics_block_cache_put(c, 1, "s", 10, bytes, 40);
	const struct analytics_cached_block *b =
	        analytics_block_cache_put(c, 2, "s", 11, bytes + 1, 40);
	assert_non_null(a);
	assert_non_null(b);
	assert_memory_equal(b->data, bytes + 1, 40);
	analytics_block_cache_release(c, b);
	/* 1 used last: 2 is the one to go for 3. */
	analytics_block_cache_release(c, analytics_block_cache_get(c, 1));
	const struct analytics_cached_block *d =
	        analytics_block_cache_put(c, 3, "t", 10, bytes + 2, 40);
	assert_non_null(d);
	assert_int_equal(analytics_block_cache_bytes(c), 80);
	assert_null(analytics_block_cache_get(c, 2));
	/* The same id again: the entry there. */
	const struct analytics_cached_block *again =
	        analytics_block_cache_put(c, 3, "t", 10, bytes, 40);
	assert_ptr_equal(again, d);
	analytics_block_cache_release(c, again);
	analytics_block_cache_release(c, d);
	/* Dropped and evicted while held: readable until released. */
	assert_int_equal(analytics_block_cache_drops(c), 0);
	analytics_block_cache_drop(c, "s", 10, 11);
	assert_int_equal(analytics_block_cache_drops(c), 1);
	assert_null(analytics_block_cache_get(c, 1));
	const struct analytics_cached_block *e =
	        analytics_block_cache_put(c, 4, "s", 12, bytes + 3, 61);
	assert_non_null(e);
	assert_null(analytics_block_cache_get(c, 3));
	assert_int_equal(analytics_block_cache_bytes(c), 61);
	assert_int_equal(analytics_block_cache_entries(c), 2); /* a, e */
	assert_memory_equal(a->data, bytes, 40);
	analytics_block_cache_release(c, a);
	assert_int_equal(analytics_block_cache_entries(c), 1);
	/* Another site's day, or days outside the range: kept. */
	analytics_block_cache_drop(c, "t", 12, 13);
	analytics_block_cache_drop(c, "s", 0, 12);
	analytics_block_cache_drop(c, "s", 13, 20);
	const struct analytics_cached_block *f =
	        analytics_block_cache_get(c, 4);
	assert_ptr_equal(f, e);
	assert_memory_equal(f->data, bytes + 3, 61);
	analytics_block_cache_release(c, f);
	analytics_block_cache_release(c, e);
	analytics_block_cache_free(c);
}

/* A value kept with a cached entry, which counts its frees. */
struct memo_value {
	int id;
	int *freed;
};

static void memo_counted_free(void *value)
{
	struct memo_value *v = value;
	(*v->freed)++;
	free(v);
}

/* Values kept with an entry (a day's sums by group): found by tag while
 * the entry is held, counted in the cache's bytes, and freed when the
 * entry goes, dropped, evicted or with the cache; never one tag twice,
 * and a few tags at most, the oldest making room only when no one else
 * holds the entry. */
static void block_cache_memos(void **state)
{
	(void)state;
	int freed = 0;
	struct analytics_block_cache *c = analytics_block_cache_new(1000);
	assert_non_null(c);
	uint8_t bytes[400] = {0};
	const struct analytics_cached_block *a =
	        analytics_block_cache_put(c, 1, "s", 10, bytes, 400);
	assert_non_null(a);
	assert_null(analytics_block_cache_memo(c, a, 7));
	struct memo_value *v[6];
	for (int i = 0; i < 6; i++) {
		v[i] = malloc(sizeof(*v[i]));
		assert_non_null(v[i]);
		*v[i] = (struct memo_value){i, &freed};
	}
	void (*fr)(void *) = memo_counted_free;
	assert_true(analytics_block_cache_memo_put(c, a, 7, v[0], 100, fr));
	assert_ptr_equal(analytics_block_cache_memo(c, a, 7), v[0]);
	assert_null(analytics_block_cache_memo(c, a, 8));
	assert_int_equal(analytics_block_cache_bytes(c), 500);
	/* One tag once: the caller keeps its second value. */
	assert_false(analytics_block_cache_memo_put(c, a, 7, v[1], 10, fr));
	/* Larger than the cache has room for beside the entry. */
	assert_false(analytics_block_cache_memo_put(c, a, 9, v[1], 601, fr));
	/* Room made by evicting another entry, never this one. */
	const struct analytics_cached_block *b =
	        analytics_block_cache_put(c, 2, "s", 11, bytes, 300);
	assert_non_null(b);
	analytics_block_cache_release(c, b);
	/* Not room beside the entry's own and its values: refused, and no
	 * other entry pushed out for it. */
	assert_false(analytics_block_cache_memo_put(c, a, 9, v[1], 501, fr));
	analytics_block_cache_release(c, analytics_block_cache_get(c, 2));
	assert_int_equal(analytics_block_cache_bytes(c), 800);
	assert_true(analytics_block_cache_memo_put(c, a, 9, v[1], 201, fr));
	assert_null(analytics_block_cache_get(c, 2));
	assert_int_equal(analytics_block_cache_bytes(c), 701);
	/* Four tags at most; a fifth pushes out the oldest (7), as only
	 * this caller holds the entry. */
	assert_true(analytics_block_cache_memo_put(c, a, 10, v[2], 1, fr));
	assert_true(analytics_block_cache_memo_put(c, a, 11, v[3], 1, fr));
	const struct analytics_cached_block *a2 =
	        analytics_block_cache_get(c, 1);
	assert_ptr_equal(a2, a);
	assert_false(analytics_block_cache_memo_put(c, a, 12, v[4], 1, fr));
	assert_int_equal(freed, 0);
	assert_ptr_equal(analytics_block_cache_memo(c, a2, 7), v[0]);
	analytics_block_cache_release(c, a2);
	assert_true(analytics_block_cache_memo_put(c, a, 12, v[4], 1, fr));
	assert_int_equal(freed, 1);
	assert_null(analytics_block_cache_memo(c, a, 7));
	assert_ptr_equal(analytics_block_cache_memo(c, a, 12), v[4]);
	assert_int_equal(analytics_block_cache_bytes(c), 604);
	/* Dropped while held: its values stay readable until released,
	 * then go with it, and their bytes at once. */
	analytics_block_cache_drop(c, "s", 10, 11);
	assert_int_equal(analytics_block_cache_bytes(c), 0);
	assert_ptr_equal(analytics_block_cache_memo(c, a, 9), v[1]);
	assert_false(analytics_block_cache_memo_put(c, a, 13, v[5], 1, fr));
	analytics_block_cache_release(c, a);
	assert_int_equal(freed, 5);
	/* Freed with the cache too. */
	const struct analytics_cached_block *d =
	        analytics_block_cache_put(c, 3, "s", 12, bytes, 10);
	assert_true(analytics_block_cache_memo_put(c, d, 1, v[5], 1, fr));
	analytics_block_cache_release(c, d);
	analytics_block_cache_free(c);
	assert_int_equal(freed, 6);
}

/* Migration 11 keeps the blocks' rows under their rowids, and gives a
 * new row an id never used before, even when the largest one was deleted
 * (a rowid table would give that one again). */
static void blocks_ids_never_reused(void **state)
{
	(void)state;
	sqlite3 *db = db_before(11);
	exec_ok(db, "INSERT INTO analytics_blocks (rowid, site, day, col, "
	            "data) VALUES (5, 's', 1, 'visitor', x'01'), (7, 's', 2, "
	            "'visitor', x'02')");
	migrate(db, 11);
	assert_int_equal(int_of(db, "SELECT group_concat(id || ':' || "
	                            "hex(data)) = '5:01,7:02' FROM (SELECT * "
	                            "FROM analytics_blocks ORDER BY id)"),
	                 1);
	exec_ok(db, "DELETE FROM analytics_blocks WHERE id = 7");
	exec_ok(db, "INSERT INTO analytics_blocks (site, day, col, data) "
	            "VALUES ('s', 2, 'visitor', x'03')");
	assert_int_equal(int_of(db, "SELECT max(id) FROM analytics_blocks"), 8);
	/* A day's column is still one row. */
	assert_int_equal(sqlite3_exec(db,
	                              "INSERT INTO analytics_blocks (site, "
	                              "day, col, data) VALUES ('s', 2, "
	                              "'visitor', x'04')",
	                              NULL, NULL, NULL),
	                 SQLITE_CONSTRAINT);
	sqlite3_close(db);
}

/* A text column whose index names a value past its k values does not
 * decode, at each index width; one within them does. */
static void block_index_past_its_values(void **state)
{
	(void)state;
	static const struct {
		/* k = 2, w, k lengths, 2 indexes, the values "a" and "b" */
		const char *data;
		int rc;
	} cases[] = {
	        {"x'02000000010100000001000000000161006200'", SQLITE_ROW},
	        {"x'02000000010100000001000000000261006200'", SQLITE_CORRUPT},
	        {"x'020000000201000000010000000100000061006200'", SQLITE_ROW},
	        {"x'020000000201000000010000000000020061006200'",
	         SQLITE_CORRUPT},
	        {"x'02000000040100000001000000000000000200000061006200'",
	         SQLITE_CORRUPT},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sqlite3 *db = schema_db();
		char sql[256];
		snprintf(sql, sizeof(sql),
		         "INSERT INTO analytics_blocks (site, day, col, data) "
		         "VALUES ('s', 7, 'device', %s)",
		         cases[i].data);
		exec_ok(db, sql);
		struct analytics_blocks_scan *scan;
		assert_int_equal(
		        analytics_blocks_scan_open(
		                db, "s", 0, 30,
		                ANALYTICS_BC_BIT(analytics_block_col("device")),
		                NULL, &scan),
		        SQLITE_OK);
		const struct analytics_block *b;
		int rc = analytics_blocks_scan_next(scan, &b);
		if (rc != cases[i].rc)
			fail_msg("case %zu: %d", i, rc);
		if (rc == SQLITE_ROW)
			assert_int_equal(b->n, 2);
		analytics_blocks_scan_close(scan);
		sqlite3_close(db);
	}
}

/* A database the plugin has not migrated to blocks yet (`seula report`
 * after an upgrade, before the server starts) answers from the rows. */
static void blocks_absent_before_migration(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_visits(db, 3);
	exec_ok(db, "DROP TABLE analytics_blocks; DROP TABLE "
	            "analytics_block_state; DROP TABLE analytics_block_dirty");
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-10", "UTC");
	rq.filter = "device==mobile;country==FI";
	json_t *out = report_ok(db, ANALYTICS_SUMMARY, &rq);
	assert_true(json_integer_value(json_object_get(
	                    json_object_get(out, "results"), "visits")) > 0);
	json_decref(out);
	sqlite3_close(db);
}

/* Where a zone's clocks go back over midnight (Havana on 2026-11-01,
 * 00:00 CDT then 00:00 CST; the Azores on 2026-10-25), the day begins at
 * the first of the two: the hour between is the new day's, as the
 * buckets (seula_zone_local) have it, not a 25th hour of the day before.
 * Elsewhere nothing changes. */
static void midnight_is_the_first_when_it_repeats(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		int y, m, d;
		int64_t midnight;
	} days[] = {{"America/Havana", 2026, 11, 1, 1793505600},
	            {"Atlantic/Azores", 2026, 10, 25, 1792886400},
	            {"Europe/Helsinki", 2026, 10, 25, 1792875600}};
	for (size_t i = 0; i < sizeof(days) / sizeof(days[0]); i++) {
		struct seula_zone z;
		assert_true(seula_zone_open(&z, days[i].name));
		int64_t day =
		        seula_days_from_civil(days[i].y, days[i].m, days[i].d);
		int64_t t = seula_zone_midnight(&z, day);
		if (t != days[i].midnight)
			fail_msg("%s: midnight %lld", days[i].name,
			         (long long)t);
		int64_t d;
		int hour;
		seula_zone_local(&z, t, &d, &hour);
		assert_int_equal(d, day);
		assert_int_equal(hour, 0);
		seula_zone_local(&z, t - 1, &d, &hour);
		assert_int_equal(d, day - 1);
		seula_zone_close(&z);
	}
}

/* A zone reads whole UTC days only if it never had another offset:
 * Africa/Sao_Tome is UTC now, UTC+1 during 2018. */
static void zone_utc_only_if_never_off(void **state)
{
	(void)state;
	static const struct {
		const char *name;
		bool utc;
	} zones[] = {{"UTC", true},
	             {"Etc/GMT", true},
	             {"Africa/Sao_Tome", false},
	             {"Europe/London", false},
	             {"Asia/Kolkata", false}};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		struct seula_zone z;
		assert_true(seula_zone_open(&z, zones[i].name));
		if (z.utc != zones[i].utc)
			fail_msg("%s: utc %d", zones[i].name, z.utc);
		seula_zone_close(&z);
	}
	/* A visit of 2018-06-10 23:30 UTC, in its rollup rows: 00:30 on
	 * the 11th in Sao Tome then. */
	sqlite3 *db = schema_db();
	exec_ok(db, "INSERT INTO analytics_rollup (site, dim, gran, t, value, "
	            "visits, pageviews) VALUES ('s', '', 0, 1528671600, '', 1, "
	            "1), ('s', '', 1, 1528588800, '', 1, 1), ('s', '', 2, "
	            "1527811200, '', 1, 1)");
	struct analytics_request rq =
	        request("2018-06-10", "2018-06-11", "Africa/Sao_Tome");
	rq.interval = "day";
	rq.metric = "visits";
	json_t *out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
	json_t *rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 2);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(rows, 0), "visits")),
	                 0);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(rows, 1), "visits")),
	                 1);
	json_decref(out);
	sqlite3_close(db);
}

static void timeseries_buckets(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_year(db);
	struct analytics_request rq =
	        request("2025-01-01", "2025-12-31", "Europe/Helsinki");
	rq.interval = "month";
	rq.metric = "visits";
	json_t *out;
	out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
	json_t *rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 12);
	static const int days[] = {31, 28, 31, 30, 31, 30,
	                           31, 31, 30, 31, 30, 31};
	for (size_t i = 0; i < 12; i++) {
		json_t *r = json_array_get(rows, i);
		json_int_t want = days[i] * 24 - (i == 2) + (i == 9);
		assert_int_equal(
		        json_integer_value(json_object_get(r, "visits")), want);
		assert_null(json_object_get(r, "pageviews"));
	}
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(rows, 0), "date")),
	                    "2025-01-01");
	json_decref(out);

	/* In UTC the buckets read day and month rows: the same sums. */
	rq.tz = "UTC";
	static const char *const ivs[] = {"month", "day", "week"};
	for (int k = 0; k < 3; k++) {
		rq.interval = ivs[k];
		out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
		rows = json_object_get(out, "results");
		json_int_t sum = 0;
		for (size_t i = 0; i < json_array_size(rows); i++) {
			json_int_t v = json_integer_value(json_object_get(
			        json_array_get(rows, i), "visits"));
			sum += v;
			if (k == 0)
				assert_int_equal(v, days[i] * 24);
			if (k == 1)
				assert_int_equal(v, 24);
		}
		assert_int_equal(sum, 8760);
		assert_int_equal(json_array_size(rows), k == 0   ? 12
		                                        : k == 1 ? 365
		                                                 : 53);
		json_decref(out);
	}

	rq.interval = "week";
	rq.from = "2025-03-03"; /* a Monday */
	rq.to = "2025-03-16";
	rq.tz = "UTC";
	out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
	rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 2);
	assert_string_equal(json_string_value(json_object_get(
	                            json_array_get(rows, 1), "date")),
	                    "2025-03-10");
	json_decref(out);
	sqlite3_close(db);
}

static void csv_quotes_and_defuses_formulas(void **state)
{
	(void)state;
	json_t *rep = json_pack("{s:[{s:s,s:i},{s:s,s:i},{s:s,s:i}]}",
	                        "results", "page", "/a,b", "visits", 1, "page",
	                        "say \"hi\"", "visits", 2, "page",
	                        "=HYPERLINK(\"x\")", "visits", 3);
	char *csv = analytics_report_csv(rep, ANALYTICS_BREAKDOWN);
	assert_non_null(csv);
	assert_string_equal(csv, "page,visits\r\n\"/a,b\",1\r\n\"say "
	                         "\"\"hi\"\"\",2\r\n\"'=HYPERLINK(\"\"x\"\")\","
	                         "3\r\n");
	free(csv);
	json_decref(rep);
	/* A carriage return first is a formula's start to some spreadsheets
	 * too. */
	rep = json_pack("{s:[{s:s,s:i}]}", "results", "page", "\r=1+2",
	                "visits", 4);
	csv = analytics_report_csv(rep, ANALYTICS_BREAKDOWN);
	assert_string_equal(csv, "page,visits\r\n\"'\r=1+2\",4\r\n");
	free(csv);
	json_decref(rep);
	/* Decimals as the JSON has them, not cut to six digits. */
	rep = json_pack("{s:{s:f,s:f}}", "results", "visit_duration", 123456.7,
	                "bounce_rate", 31.0);
	csv = analytics_report_csv(rep, ANALYTICS_SUMMARY);
	assert_string_equal(csv,
	                    "visit_duration,bounce_rate\r\n123456.7,31\r\n");
	free(csv);
	json_decref(rep);
}

/* In a zone off UTC by a half hour, a visit counts in the bucket of the
 * UTC hour it started in, as the rollups hold it, whichever answers: the
 * local day's last hour starts inside the range's last UTC hour, so its
 * visits are in the hour before, open or ended, filtered or not. */
static void last_half_hour_zone_hour_kept(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	/* 2025-03-05 23:10 and 23:20 in Kolkata (17:40, 17:50 UTC, whose
	 * hour starts at 22:30 there): one visit ended, one open. */
	exec_ok(db,
	        "INSERT INTO analytics_visits (site, visitor, start_ts, "
	        "last_ts, closed, pageviews, events, entry_page, "
	        "exit_page, source, referrer, channel, utm_source, "
	        "utm_medium, utm_campaign, utm_term, utm_content, country, "
	        "region, city, browser, os, device, screen, language) "
	        "VALUES ('s', 11, 1741196400000, 1741196400000, 1, 1, 0, "
	        "'/', '/', '', '', '', '', '', '', '', '', 'FI', '', '', "
	        "'', '', 'mobile', '', ''), ('s', 12, 1741197000000, "
	        "1741197000000, 0, 1, 0, '/', '/', '', '', '', '', '', '', "
	        "'', '', 'FI', '', '', '', '', 'mobile', '', ''), ('s', 13, "
	        "1741200000000, 1741200000000, 0, 1, 0, '/', '/', '', '', "
	        "'', '', '', '', '', '', 'FI', '', '', '', '', 'mobile', '', "
	        "'')");
	/* The third, open, at 18:40 UTC: 00:10 on the 6th in Kolkata, in
	 * the UTC hour that starts there at 23:30 on the 5th. */
	static const char *const filters[] = {NULL,
	                                      "device==mobile;country==FI"};
	for (int f = 0; f < 2; f++) {
		struct analytics_request rq =
		        request("2025-03-05", "2025-03-06", "Asia/Kolkata");
		rq.filter = filters[f];
		rq.interval = "day";
		rq.metric = "visits";
		json_t *out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
		json_t *rows = json_object_get(out, "results");
		assert_int_equal(json_array_size(rows), 2);
		assert_int_equal(json_integer_value(json_object_get(
		                         json_array_get(rows, 0), "visits")),
		                 f == 0 ? 2 : 3);
		assert_int_equal(json_integer_value(json_object_get(
		                         json_array_get(rows, 1), "visits")),
		                 0);
		json_decref(out);
	}
	for (int f = 0; f < 2; f++) {
		struct analytics_request rq =
		        request("2025-03-05", "2025-03-05", "Asia/Kolkata");
		rq.filter = filters[f];
		rq.interval = "hour";
		rq.metric = "visits";
		json_t *out = report_ok(db, ANALYTICS_TIMESERIES, &rq);
		json_t *rows = json_object_get(out, "results");
		assert_int_equal(json_array_size(rows), 24);
		json_t *hour = json_array_get(rows, 22);
		assert_string_equal(
		        json_string_value(json_object_get(hour, "date")),
		        "2025-03-05 22:00");
		/* Unfiltered, the ended visit is the rollups' (none here):
		 * the open one alone. */
		assert_int_equal(
		        json_integer_value(json_object_get(hour, "visits")),
		        f == 0 ? 1 : 2);
		assert_int_equal(json_integer_value(json_object_get(
		                         json_array_get(rows, 23), "visits")),
		                 0);
		json_decref(out);
	}
	sqlite3_close(db);
}

/* A visit of site "s" starting at `ts_ms`, open, with one campaign and
 * one custom event, for the tests below. */
static void add_open_visit(sqlite3 *db, int64_t id, int64_t ts_ms,
                           const char *campaign, const char *event)
{
	char *sql = sqlite3_mprintf(
	        "INSERT INTO analytics_visits (id, site, visitor, start_ts, "
	        "last_ts, closed, pageviews, events, entry_page, exit_page, "
	        "source, referrer, channel, utm_source, utm_medium, "
	        "utm_campaign, utm_term, utm_content, country, region, city, "
	        "browser, os, device, screen, language) VALUES (%lld, 's', "
	        "%lld, %lld, %lld, 0, 1, 1, '/', '/', '', '', '', '', '', %Q, "
	        "'', '', 'FI', '', '', '', '', 'mobile', '', ''); INSERT INTO "
	        "analytics_visit_events VALUES (%lld, %Q, '', '', 1)",
	        (long long)id, (long long)id, (long long)ts_ms,
	        (long long)ts_ms, campaign, (long long)id, event);
	exec_ok(db, sql);
	sqlite3_free(sql);
}

static int64_t visits_of(json_t *report)
{
	return json_integer_value(
	        json_object_get(json_object_get(report, "results"), "visits"));
}

/* The values of a breakdown's rows, joined by ',' (into out). */
static void row_values(json_t *report, const char *dim, char *out, size_t cap)
{
	size_t n = 0, i;
	json_t *row;
	out[0] = '\0';
	json_array_foreach(json_object_get(report, "results"), i, row)
	{
		n += (size_t)snprintf(
		        out + n, cap - n, "%s%s", n ? "," : "",
		        json_string_value(json_object_get(row, dim)));
		assert_true(n < cap);
	}
}

/* A value holding '|' (which separates alternatives) or ';' (which
 * separates filters) is chosen with it in brackets, as the dashboard
 * writes a clicked row's value; a goal's name too, and given bare it is
 * still the goal when its parts are not all goals (filters written before
 * goals had alternatives). */
static void bar_in_brackets_is_the_character(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	add_open_visit(db, 1, 1741168800000, "spring|fb", "a|b");
	add_open_visit(db, 2, 1741168800000, "spring", "a");
	add_open_visit(db, 3, 1741168800000, "x;y", "a;b");
	static const struct {
		const char *filter;
		int64_t visits;
	} cases[] = {
	        {"utm_campaign==spring[|]fb", 1},
	        {"utm_campaign==spring|fb", 1}, /* spring or fb */
	        {"utm_campaign==spring[|]fb|spring", 2},
	        {"utm_campaign!=spring[|]fb", 2},
	        {"event==a[|]b", 1},
	        {"event==a[|]*;device!=x", 1},
	        {"event==[]|]", 0}, /* ']' or '|': a bracket of two */
	        {"utm_campaign==x[;]y", 1},
	        {"utm_campaign==x[;]y;device==mobile", 1},
	        {"utm_campaign!=x[;]y;event==a[;]b|a", 1},
	        {"event==a[;]b;utm_campaign==x*", 1},
	        {"utm_campaign==x[;]y|spring", 2},
	        {"goal==a[|]b", 1},
	        {"goal==a|b", 1}, /* no goal "b": the goal "a|b" */
	        {"goal==a[|]b|a", 2},
	        {"goal!=a[|]b", 2},
	        {"goal!=a|a[|]b", 1},
	        {"goal==a[;]b", 1},
	        {"goal==a[;]b|a;device==mobile", 2},
	};
	const char *goal_list[] = {"s:event:a|b", "s:event:a", "s:event:a;b",
	                           NULL};
	struct analytics_goals goals;
	char err[256];
	assert_int_equal(
	        analytics_goals_parse(goal_list, &goals, err, sizeof(err)), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct analytics_request rq =
		        request("2025-03-05", "2025-03-05", "UTC");
		rq.filter = cases[i].filter;
		rq.goals = &goals;
		json_t *out = report_ok(db, ANALYTICS_SUMMARY, &rq);
		if (visits_of(out) != cases[i].visits)
			fail_msg("%s: %lld visits", cases[i].filter,
			         (long long)visits_of(out));
		json_decref(out);
	}
	/* The goal breakdown lists the goals the filter names, as found. */
	static const char *const by_goal[][2] = {
	        {"goal==a[|]b|a", "a,a|b"},
	        {"goal==a[;]b", "a;b"},
	        {"goal==a|b", "a|b"},
	};
	for (size_t i = 0; i < sizeof(by_goal) / sizeof(by_goal[0]); i++) {
		struct analytics_request rq =
		        request("2025-03-05", "2025-03-05", "UTC");
		rq.filter = by_goal[i][0];
		rq.goals = &goals;
		rq.dimension = "goal";
		json_t *out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		char got[64];
		row_values(out, "goal", got, sizeof(got));
		if (strcmp(got, by_goal[i][1]) != 0)
			fail_msg("%s by goal: %s", by_goal[i][0], got);
		json_decref(out);
	}
	analytics_goals_free(&goals);
	sqlite3_close(db);
}

/* A filter on an event, a goal or a property keeps the visits that have
 * it; a breakdown by the filter's own dimension lists only the values it
 * keeps, as Plausible's do, and pages through them. */
static void own_dimension_filter_narrows_its_breakdown(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	const int64_t ts = 1741168800000;
	add_open_visit(db, 1, ts, "", "a");
	add_open_visit(db, 2, ts, "", "a");
	add_open_visit(db, 3, ts, "", "c");
	/* Visit 4 has z and four events that outrank it (a tie of one
	 * visitor each, broken by the name): found past the first ask. */
	add_open_visit(db, 4, ts, "", "z");
	exec_ok(db, "INSERT INTO analytics_visit_events VALUES (1, 'b', '', "
	            "'', 1), (4, 'a', '', '', 1), (4, 'b', '', '', 1), (4, "
	            "'c', '', '', 1), (4, 'd', '', '', 1), (1, 'signup', "
	            "'', '', 1), (2, 'signup', '', '', 1), (1, 'signup', "
	            "'plan', 'pro', 1), (1, 'signup', 'plan', 'free', 1), (2, "
	            "'signup', 'plan', 'free', 1)");
	static const struct {
		const char *filter, *dim, *limit, *page, *rows;
		bool more;
	} cases[] = {
	        {"event==a", "event", "10", "1", "a", false},
	        {"event==a|b", "event", "10", "1", "a,b", false},
	        {"event==a|b", "event", "1", "1", "a", true},
	        {"event==a|b", "event", "1", "2", "b", false},
	        {"event==z", "event", "1", "1", "z", false},
	        {"event==[a-c]", "event", "10", "1", "a,b,c", false},
	        {"event!=a", "event", "10", "1", "c", false},
	        {"prop:plan==pro", "prop:plan", "10", "1", "pro", false},
	        {"prop:plan==free", "prop:plan", "10", "1", "free", false},
	        /* Not its own dimension: the visits' values, all. */
	        {"prop:plan==pro", "event", "10", "1", "a,b,signup", false},
	        {"event==a", "prop:plan", "10", "1", "free,pro", false},
	        /* Two filters: the visits with both, and both rows. */
	        {"event==a;event==b", "event", "10", "1", "a,b", false},
	        {"prop:plan==pro;prop:plan==free", "prop:plan", "10", "1",
	         "free,pro", false},
	        {"event==a;event!=c", "event", "10", "1", "a", false},
	        {"event==a|b;event!=b", "event", "10", "1", "a", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct analytics_request rq =
		        request("2025-03-05", "2025-03-05", "UTC");
		rq.filter = cases[i].filter;
		rq.dimension = cases[i].dim;
		rq.limit = cases[i].limit;
		rq.page = cases[i].page;
		json_t *out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		char got[200];
		row_values(out, cases[i].dim, got, sizeof(got));
		bool more = json_is_true(json_object_get(out, "more"));
		if (strcmp(got, cases[i].rows) != 0 || more != cases[i].more)
			fail_msg("%s by %s, limit %s page %s: \"%s\"%s",
			         cases[i].filter, cases[i].dim, cases[i].limit,
			         cases[i].page, got, more ? ", more" : "");
		json_decref(out);
	}
	sqlite3_close(db);
}

/* The hour-of-day breakdown lists the hours with visits (not those only
 * bots came in), and in a zone off UTC by a half hour counts the range's
 * first UTC hour, which starts the evening before, in its first hour, as
 * a timeseries by the hour does. */
static void hours_of_day_with_visits_only(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	/* Bots alone at 03:00 UTC on the 5th (the site's row of the hour). */
	exec_ok(db, "INSERT INTO analytics_rollup (site, dim, gran, t, value, "
	            "bots) VALUES ('s', '', 0, 1741143600, '', 3)");
	/* 2025-03-04 18:10 UTC: 23:40 on the 4th in Kolkata, in the UTC
	 * hour that the range of the 5th starts with. */
	add_open_visit(db, 1, 1741111800000, "", "x");
	add_open_visit(db, 2, 1741168800000, "", "x");
	struct analytics_request rq =
	        request("2025-03-05", "2025-03-05", "Asia/Kolkata");
	rq.dimension = "hour";
	json_t *out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	json_t *rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 2);
	int64_t hours[2];
	for (size_t i = 0; i < 2; i++)
		hours[i] = json_integer_value(
		        json_object_get(json_array_get(rows, i), "hour"));
	/* 10:00 UTC is 15:30 there. */
	assert_true((hours[0] == 0 && hours[1] == 15) ||
	            (hours[0] == 15 && hours[1] == 0));
	json_decref(out);
	rq.tz = "UTC";
	out = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	rows = json_object_get(out, "results");
	assert_int_equal(json_array_size(rows), 1);
	assert_int_equal(json_integer_value(json_object_get(
	                         json_array_get(rows, 0), "hour")),
	                 10);
	json_decref(out);
	sqlite3_close(db);
}

/* A parameter that is not UTF-8 is a bad request, not a report without
 * its results. */
static void report_refuses_bytes_not_text(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-05", "UTC");
	rq.dimension = "prop:\xff";
	json_t *out = NULL;
	char err[256] = "";
	assert_int_equal(analytics_report(db, ANALYTICS_BREAKDOWN, &rq, &out,
	                                  err, sizeof(err)),
	                 ANALYTICS_BAD_REQUEST);
	assert_null(out);
	rq.dimension = "page";
	rq.filter = "country==\xfe";
	assert_int_equal(analytics_report(db, ANALYTICS_BREAKDOWN, &rq, &out,
	                                  err, sizeof(err)),
	                 ANALYTICS_BAD_REQUEST);
	assert_non_null(strstr(err, "UTF-8"));
	sqlite3_close(db);
}

/* A table with no rows is its header alone, as its rows would have it. */
static void csv_of_empty_tables(void **state)
{
	(void)state;
	json_t *rep = json_pack("{s:s,s:[]}", "dimension", "source", "results");
	char *csv = analytics_report_csv(rep, ANALYTICS_BREAKDOWN);
	assert_string_equal(csv, "source,visitors,visits,pageviews,views_per_"
	                         "visit,bounce_rate,visit_duration,events,time_"
	                         "on_page\r\n");
	free(csv);
	json_decref(rep);
	/* Compared, with the previous period's columns as rows have them. */
	rep = json_pack("{s:s,s:[],s:{s:[]}}", "dimension", "country",
	                "results", "comparison", "results");
	csv = analytics_report_csv(rep, ANALYTICS_BREAKDOWN);
	assert_string_equal(
	        csv, "country,visitors,visits,pageviews,views_per_visit,"
	             "bounce_rate,visit_duration,events,time_on_page,"
	             "previous_visitors,previous_visits,previous_pageviews,"
	             "previous_views_per_visit,previous_bounce_rate,"
	             "previous_visit_duration,previous_events,previous_time_"
	             "on_page\r\n");
	free(csv);
	json_decref(rep);
	rep = json_pack("{s:[]}", "results");
	csv = analytics_report_csv(rep, ANALYTICS_GOALS);
	assert_string_equal(csv, "goal,kind,pattern,visitors,visits,events,"
	                         "conversion_rate\r\n");
	free(csv);
	/* A breakdown that does not say its dimension: no header, but CSV. */
	csv = analytics_report_csv(rep, ANALYTICS_BREAKDOWN);
	assert_string_equal(csv, "");
	free(csv);
	json_decref(rep);
	rep = json_pack("{s:[]}", "pages");
	csv = analytics_report_csv(rep, ANALYTICS_REALTIME);
	assert_string_equal(csv, "page,visitors\r\n");
	free(csv);
	json_decref(rep);
}

static void goals_config_parsed(void **state)
{
	(void)state;
	const char *const good[] = {"demo:event:Signup", "demo:page:/pricing*",
	                            NULL};
	struct analytics_goals g;
	char err[256];
	assert_int_equal(analytics_goals_parse(good, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 2);
	assert_string_equal(g.list[1].name, "Visit /pricing*");
	analytics_goals_free(&g);
	/* A page pattern is matched as paths are stored, percent-encoded;
	 * its name is as written. */
	const char *const typed[] = {
	        "demo:page:/k\xc3\xa4ytt\xc3\xa4j\xc3\xa4/*",
	        "demo:event:K\xc3\xa4y", NULL};
	assert_int_equal(analytics_goals_parse(typed, &g, err, sizeof(err)), 0);
	assert_string_equal(g.list[0].pattern, "/k%C3%A4ytt%C3%A4j%C3%A4/*");
	assert_string_equal(g.list[0].name,
	                    "Visit /k\xc3\xa4ytt\xc3\xa4j\xc3\xa4/*");
	assert_string_equal(g.list[1].pattern, "K\xc3\xa4y");
	analytics_goals_free(&g);
	const char *const bad[][3] = {
	        {"demo:click:x", NULL},
	        {"demo:page:pricing", NULL},
	        {"nocolon", NULL},
	        {":event:x", NULL},
	        /* One name twice for a site: a page goal and the event
	         * named as it is. */
	        {"demo:page:/a", "demo:event:Visit /a", NULL},
	        {"demo:event:x", "demo:event:x", NULL}};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(
		        analytics_goals_parse(bad[i], &g, err, sizeof(err)),
		        -1);
	assert_string_equal(err, "\"demo:event:x\": site demo has a goal "
	                         "named \"x\" already");
	/* The same name on two sites is two goals. */
	const char *const two[] = {"demo:event:x", "other:event:x", NULL};
	assert_int_equal(analytics_goals_parse(two, &g, err, sizeof(err)), 0);
	assert_int_equal(g.n, 2);
	analytics_goals_free(&g);
}

/* A segment is its filter's canonical text: the same for its parts in any
 * order, another for a goal whose pattern changed; bad filters refused. */
static void segment_filters_canonical(void **state)
{
	(void)state;
	const char *const g1[] = {"demo:event:Signup", "demo:page:/pricing*",
	                          NULL};
	const char *const g2[] = {"demo:event:Signup", "demo:page:/plans*",
	                          NULL};
	struct analytics_goals a, b;
	char err[256], *x = NULL, *y = NULL;
	assert_int_equal(analytics_goals_parse(g1, &a, err, sizeof(err)), 0);
	assert_int_equal(analytics_goals_parse(g2, &b, err, sizeof(err)), 0);

	assert_int_equal(analytics_filter_canon("demo",
	                                        "device==mobile;country!=FI",
	                                        &a, NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(analytics_filter_canon("demo",
	                                        "country!=FI;;device==mobile;",
	                                        &a, NULL, &y, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, y);
	assert_string_equal(x, "country!=FI;device==mobile");
	sqlite3_free(x);
	sqlite3_free(y);

	/* == and != of one value are two segments. */
	assert_int_equal(analytics_filter_canon("demo", "device!=mobile", &a,
	                                        NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, "device!=mobile");
	sqlite3_free(x);

	assert_int_equal(analytics_filter_canon("demo", "goal==Visit /pricing*",
	                                        &a, NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(analytics_filter_canon("demo", "goal==Visit /pricing*",
	                                        &b, NULL, &y, err, sizeof(err)),
	                 ANALYTICS_BAD_REQUEST); /* b has no such goal */
	assert_null(y);
	assert_non_null(strstr(x, "page:/pricing*"));
	sqlite3_free(x);

	/* One goal as before goals had alternatives (segments registered
	 * then keep their rows); several, each goal's definition. */
	assert_int_equal(analytics_filter_canon("demo", "goal==Signup", &a,
	                                        NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, "goal==Signup\x1f"
	                       "event:Signup");
	sqlite3_free(x);
	assert_int_equal(analytics_filter_canon("demo",
	                                        "goal!=Signup|Visit /pricing*",
	                                        &a, NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, "goal!=Signup|Visit /pricing*\x1f"
	                       "event:Signup\x1f"
	                       "page:/pricing*");
	sqlite3_free(x);
	/* A name holding '|', bracketed or bare (not all its parts goals):
	 * one segment. */
	const char *const g3[] = {"demo:event:A|B", "demo:event:A", NULL};
	struct analytics_goals c;
	assert_int_equal(analytics_goals_parse(g3, &c, err, sizeof(err)), 0);
	assert_int_equal(analytics_filter_canon("demo", "goal==A[|]B", &c, NULL,
	                                        &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_int_equal(analytics_filter_canon("demo", "goal==A|B", &c, NULL,
	                                        &y, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, y);
	assert_string_equal(x, "goal==A|B\x1f"
	                       "event:A|B");
	sqlite3_free(x);
	sqlite3_free(y);
	assert_int_equal(analytics_filter_canon("demo", "goal==A|A[|]B", &c,
	                                        NULL, &x, err, sizeof(err)),
	                 ANALYTICS_OK);
	assert_string_equal(x, "goal==A|A|B\x1f"
	                       "event:A\x1f"
	                       "event:A|B");
	sqlite3_free(x);
	analytics_goals_free(&c);
	/* An unknown goal among several is named. */
	assert_int_equal(analytics_filter_canon("demo", "goal==Signup|Nope", &a,
	                                        NULL, &x, err, sizeof(err)),
	                 ANALYTICS_BAD_REQUEST);
	assert_null(x);
	assert_string_equal(err, "no goal \"Nope\"");

	static const char *const bad[] = {"",           ";",
	                                  "device",     "nosuch==1",
	                                  "goal==Nope", "goal==Signup|",
	                                  "prop:==x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		assert_int_equal(analytics_filter_canon("demo", bad[i], &a,
		                                        NULL, &x, err,
		                                        sizeof(err)),
		                 ANALYTICS_BAD_REQUEST);
		assert_null(x);
		assert_true(err[0] != '\0');
	}
	analytics_goals_free(&a);
	analytics_goals_free(&b);
}

/* ---- goal==A|B: a visit that reached either ---------------------------- */

/* Goals of fill_visits()'s site: bit k of a mask is alt_goals[k]. */
static const char *const alt_goals[] = {"s:event:signup", "s:page:/blog/*",
                                        "s:page:/a", "s:event:download", NULL};
#define ALT_GOALS 4

/* Per visit id: its visitor, start (ms) and the goals it reached, from
 * the raw rows by hand (an event's own row, prop ''; a page viewed). */
/* fill_visits()' devices and page paths, for the rows of breakdowns. */
static const char *const alt_devices[] = {"desktop", "mobile", "tablet"};
static const char *const alt_paths[] = {"/",   "/a",  "/b?", "/blog/*", "/p0",
                                        "/p1", "/p2", "/p3", "/p4"};
#define ALT_N_PATHS (sizeof(alt_paths) / sizeof(alt_paths[0]))

static int alt_index(const char *const *list, size_t n, const char *s)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], s) == 0)
			return (int)i;
	fail_msg("no value %s", s);
	return -1;
}

struct alt_visit {
	int64_t visitor, start_ms;
	unsigned reached;
	int device;     /* in alt_devices */
	unsigned paths; /* bit k: a page view of alt_paths[k] */
	bool present;
};

static struct alt_visit *alt_visits(sqlite3 *db, size_t *n)
{
	*n = (size_t)int_of(db, "SELECT max(id) + 1 FROM analytics_visits");
	struct alt_visit *v = calloc(*n, sizeof(*v));
	assert_non_null(v);
	sqlite3_stmt *st;
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT id, visitor, start_ts, "
	                                    "device FROM analytics_visits "
	                                    "WHERE site = 's'",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		struct alt_visit *x = &v[sqlite3_column_int64(st, 0)];
		x->visitor = sqlite3_column_int64(st, 1);
		x->start_ms = sqlite3_column_int64(st, 2);
		x->device = alt_index(alt_devices, 3,
		                      (const char *)sqlite3_column_text(st, 3));
		x->present = true;
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT visit, path FROM "
	                                    "analytics_visit_pages WHERE "
	                                    "pageviews > 0",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *path = (const char *)sqlite3_column_text(st, 1);
		struct alt_visit *x = &v[sqlite3_column_int64(st, 0)];
		unsigned *r = &x->reached;
		*r |= (sqlite3_strglob("/blog/*", path) == 0) << 1;
		*r |= (strcmp(path, "/a") == 0) << 2;
		x->paths |= 1u << alt_index(alt_paths, ALT_N_PATHS, path);
	}
	sqlite3_finalize(st);
	assert_int_equal(sqlite3_prepare_v2(db,
	                                    "SELECT visit, name FROM "
	                                    "analytics_visit_events WHERE "
	                                    "prop = ''",
	                                    -1, &st, NULL),
	                 SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(st, 1);
		unsigned *r = &v[sqlite3_column_int64(st, 0)].reached;
		*r |= (unsigned)(strcmp(name, "signup") == 0);
		*r |= (unsigned)(strcmp(name, "download") == 0) << 3;
	}
	sqlite3_finalize(st);
	return v;
}

/* A goal filter's clauses, each "reached one of mask" (or none, neg). */
struct alt_case {
	const char *filter;
	struct {
		bool neg;
		unsigned mask;
	} c[2];
	size_t n;
};

static const struct alt_case alt_cases[] = {
        {"goal==signup|Visit /a", {{false, 1 | 4}}, 1},
        {"goal!=signup|Visit /a", {{true, 1 | 4}}, 1},
        {"goal==Visit /a|Visit /blog/*", {{false, 4 | 2}}, 1},
        {"goal!=download|signup", {{true, 8 | 1}}, 1},
        {"goal==download|Visit /blog/*|signup", {{false, 8 | 2 | 1}}, 1},
        {"goal==signup|Visit /a;goal!=download",
         {{false, 1 | 4}, {true, 8}},
         2},
        /* The README's brackets name a goal as well. */
        {"goal==Visit /blog/[*]|signup", {{false, 2 | 1}}, 1},
};

static bool alt_kept(const struct alt_case *c, unsigned reached, bool base)
{
	for (size_t k = 0; k < c->n; k++)
		if ((!base || c->c[k].neg) &&
		    ((reached & c->c[k].mask) != 0) == c->c[k].neg)
			return false;
	return true;
}

static int cmp_i64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

/* The visits and visitors of [from_ms, to_ms) that case c keeps (base:
 * its negated clauses only, the conversion rate's base); of those that
 * reached goal `g` too, when g >= 0. */
static void alt_count(const struct alt_visit *v, size_t n,
                      const struct alt_case *c, bool base, int g,
                      int64_t from_ms, int64_t to_ms, int64_t *visits,
                      int64_t *visitors)
{
	int64_t *who = malloc(n * sizeof(*who));
	assert_non_null(who);
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].present && v[i].start_ms >= from_ms &&
		    v[i].start_ms < to_ms && alt_kept(c, v[i].reached, base) &&
		    (g < 0 || v[i].reached & (1u << g)))
			who[k++] = v[i].visitor;
	qsort(who, k, sizeof(*who), cmp_i64);
	*visits = (int64_t)k;
	*visitors = 0;
	for (size_t i = 0; i < k; i++)
		*visitors += i == 0 || who[i] != who[i - 1];
	free(who);
}

/* A report's visitors against a true count: exact up to 1,024 visitors
 * (the README), past them a sketch's estimate, 1.6% standard error. */
static bool visitors_near(json_int_t got, int64_t want)
{
	return want < 1024 ? got == want
	                   : fabs((double)(got - want)) <= 0.05 * (double)want;
}

static json_int_t int_at(const json_t *o, const char *key)
{
	return json_integer_value(json_object_get(o, key));
}

/* The visitors of [from_ms, to_ms) that case c keeps (base: as
 * alt_count()) with value k of the breakdown by `dim` ("device" or
 * "page"). */
static int64_t alt_value_visitors(const struct alt_visit *v, size_t n,
                                  const struct alt_case *c, bool base,
                                  const char *dim, int k, int64_t from_ms,
                                  int64_t to_ms)
{
	bool page = strcmp(dim, "page") == 0;
	int64_t *who = malloc((n ? n : 1) * sizeof(*who));
	assert_non_null(who);
	size_t m = 0;
	for (size_t i = 0; i < n; i++)
		if (v[i].present && v[i].start_ms >= from_ms &&
		    v[i].start_ms < to_ms && alt_kept(c, v[i].reached, base) &&
		    (page ? (v[i].paths >> k) & 1 : v[i].device == k))
			who[m++] = v[i].visitor;
	qsort(who, m, sizeof(*who), cmp_i64);
	int64_t visitors = 0;
	for (size_t i = 0; i < m; i++)
		visitors += i == 0 || who[i] != who[i - 1];
	free(who);
	return visitors;
}

/* A breakdown by dim under case c with metric=conversion_rate: each row's
 * visitors those of the kept visits with its value, its rate their share
 * of the value's visitors without the goal filter (Plausible's), exactly
 * (the fixture's values have fewer than 1,024 visitors); every value with
 * a converted visitor is a row. */
static void alt_rates_match(sqlite3 *db, struct analytics_request rq,
                            const struct alt_visit *v, size_t n,
                            const struct alt_case *c, const char *dim,
                            int64_t from_ms, int64_t to_ms, const char *how)
{
	bool page = strcmp(dim, "page") == 0;
	size_t n_values = page ? ALT_N_PATHS : 3;
	const char *const *values = page ? alt_paths : alt_devices;
	rq.dimension = dim;
	rq.limit = "100";
	rq.metric = "visitors,conversion_rate";
	json_t *j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
	json_t *rows = json_object_get(j, "results");
	size_t want_rows = 0;
	for (size_t k = 0; k < n_values; k++) {
		int64_t got_v = alt_value_visitors(v, n, c, false, dim, (int)k,
		                                   from_ms, to_ms);
		int64_t base = alt_value_visitors(v, n, c, true, dim, (int)k,
		                                  from_ms, to_ms);
		size_t i;
		json_t *row, *found = NULL;
		json_array_foreach(
		        rows, i,
		        row) if (strcmp(json_string_value(json_object_get(row,
		                                                          dim)),
		                        values[k]) == 0) found = row;
		if (!got_v) {
			if (found)
				fail_msg("%s, %s by %s: row %s with no visitor",
				         how, c->filter, dim, values[k]);
			continue;
		}
		want_rows++;
		double want = round(1000.0 * (double)got_v / (double)base) / 10;
		json_t *cr = found ? json_object_get(found, "conversion_rate")
		                   : NULL;
		if (!found || int_at(found, "visitors") != got_v ||
		    !json_is_number(cr) ||
		    fabs(json_number_value(cr) - want) > 1e-9)
			fail_msg("%s, %s by %s: %s has %lld visitors at %g%%, "
			         "want %lld at %g%% of %lld",
			         how, c->filter, dim, values[k],
			         found ? (long long)int_at(found, "visitors")
			               : -1LL,
			         json_is_number(cr) ? json_number_value(cr)
			                            : -1.0,
			         (long long)got_v, want, (long long)base);
	}
	assert_int_equal(json_array_size(rows), want_rows);
	json_decref(j);
}

/* Every report of each case over a range against the brute force: the
 * summary (and its conversion rate), a day timeseries, a breakdown, the
 * goals report. */
static void alt_reports_match(sqlite3 *db, const struct analytics_goals *goals,
                              const char *from, const char *to, int64_t d0,
                              int64_t d1, const char *how)
{
	size_t n;
	struct alt_visit *v = alt_visits(db, &n);
	int64_t from_ms = d0 * 86400000, to_ms = (d1 + 1) * 86400000;
	for (size_t i = 0; i < sizeof(alt_cases) / sizeof(alt_cases[0]); i++) {
		const struct alt_case *c = &alt_cases[i];
		int64_t visits, visitors, base_visits, base_visitors;
		alt_count(v, n, c, false, -1, from_ms, to_ms, &visits,
		          &visitors);
		alt_count(v, n, c, true, -1, from_ms, to_ms, &base_visits,
		          &base_visitors);
		/* Neither all nor none: a filter that tells. */
		const struct alt_case all = {.n = 0};
		int64_t total, total_visitors;
		alt_count(v, n, &all, false, -1, from_ms, to_ms, &total,
		          &total_visitors);
		assert_true(visits > 0 && visits < total);
		struct analytics_request rq = request(from, to, "UTC");
		/* Beside filters every visit passes, on two columns: the
		 * rate's base is then read from the visits, as the fixture
		 * has no rollups. */
		char filter[128];
		snprintf(filter, sizeof(filter), "%s;country!=XX;device!=x",
		         c->filter);
		rq.filter = filter;
		rq.goals = goals;
		json_t *j = report_ok(db, ANALYTICS_SUMMARY, &rq);
		json_t *r = json_object_get(j, "results");
		if (int_at(r, "visits") != visits ||
		    !visitors_near(int_at(r, "visitors"), visitors))
			fail_msg("%s, %s: %lld visits of %lld visitors, want "
			         "%lld of %lld",
			         how, c->filter, (long long)int_at(r, "visits"),
			         (long long)int_at(r, "visitors"),
			         (long long)visits, (long long)visitors);
		/* A rate only with a goal the visits reached (not of !=). */
		json_t *cr = json_object_get(r, "conversion_rate");
		if (c->c[0].neg && c->n == 1) {
			assert_null(cr);
		} else {
			double want = round(1000.0 * (double)visitors /
			                    (double)base_visitors) /
			              10;
			/* Past the sketches' 1,024 visitors, as near as they
			 * are to both counts. */
			double slack =
			        base_visitors < 1024 ? 1e-9 : 0.1 * want + 0.1;
			if (!cr || fabs(json_real_value(cr) - want) > slack)
				fail_msg("%s, %s: conversion rate %g, want %g",
				         how, c->filter,
				         cr ? json_real_value(cr) : -1.0, want);
		}
		json_decref(j);

		rq.interval = "day";
		rq.metric = "visits";
		j = report_ok(db, ANALYTICS_TIMESERIES, &rq);
		json_int_t sum = 0;
		size_t k;
		json_t *row;
		json_array_foreach(json_object_get(j, "results"), k, row) sum +=
		        int_at(row, "visits");
		assert_int_equal(sum, visits);
		json_decref(j);

		rq.interval = rq.metric = NULL;
		rq.dimension = "device";
		rq.limit = "100";
		j = report_ok(db, ANALYTICS_BREAKDOWN, &rq);
		sum = 0;
		json_array_foreach(json_object_get(j, "results"), k, row) sum +=
		        int_at(row, "visits");
		assert_int_equal(sum, visits);
		json_decref(j);
		/* Rates per row, with a goal== (the lone goal!= has none). */
		if (!(c->c[0].neg && c->n == 1)) {
			alt_rates_match(db, rq, v, n, c, "device", from_ms,
			                to_ms, how);
			alt_rates_match(db, rq, v, n, c, "page", from_ms, to_ms,
			                how);
		}
		rq.metric = NULL;

		/* The goals the filter names (goal==), or does not (!=),
		 * each row the kept visits that reached it, its rate over
		 * the visitors the other filters keep. */
		rq.dimension = NULL;
		j = report_ok(db, ANALYTICS_GOALS, &rq);
		for (int g = 0; g < ALT_GOALS; g++) {
			bool listed = true;
			for (size_t x = 0; x < c->n; x++)
				listed &= ((c->c[x].mask >> g) & 1) !=
				          c->c[x].neg;
			int64_t gv, gw;
			alt_count(v, n, c, false, g, from_ms, to_ms, &gv, &gw);
			const char *name = goals->list[g].name;
			json_t *got = NULL;
			json_array_foreach(json_object_get(j, "results"), k, row) if (
			        strcmp(json_string_value(
			                       json_object_get(row, "goal")),
			               name) == 0) got = row;
			if (!listed) {
				if (got)
					fail_msg("%s, %s: goal %s listed", how,
					         c->filter, name);
				continue;
			}
			json_int_t got_v = got ? int_at(got, "visits") : -1,
			           got_w = got ? int_at(got, "visitors") : -1;
			if (got_v != gv || !visitors_near(got_w, gw))
				fail_msg("%s, %s: goal %s %lld/%lld, want "
				         "%lld/%lld",
				         how, c->filter, name, (long long)got_v,
				         (long long)got_w, (long long)gv,
				         (long long)gw);
			double want = round(1000.0 * (double)gw /
			                    (double)base_visitors) /
			              10;
			double slack =
			        base_visitors < 1024 ? 1e-9 : 0.1 * want + 0.1;
			double rate = json_real_value(
			        json_object_get(got, "conversion_rate"));
			if (fabs(rate - want) > slack)
				fail_msg("%s, %s: goal %s converts %g, want %g",
				         how, c->filter, name, rate, want);
		}
		json_decref(j);
	}
	free(v);
}

/* A segment's visits are those its filter's statement matches
 * (analytics_filter_prepare(), as analytics.c adds a closed visit). */
static void alt_segment_match(sqlite3 *db, const struct analytics_goals *goals)
{
	size_t n;
	struct alt_visit *v = alt_visits(db, &n);
	char err[256];
	for (size_t i = 0; i < sizeof(alt_cases) / sizeof(alt_cases[0]); i++) {
		sqlite3_stmt *st = analytics_filter_prepare(
		        db, "SELECT 1 FROM analytics_visits v WHERE v.id = ?1",
		        1, "s", alt_cases[i].filter, goals, NULL, NULL, 0, "",
		        err, sizeof(err));
		if (!st)
			fail_msg("%s: %s", alt_cases[i].filter, err);
		size_t kept = 0;
		for (size_t id = 0; id < n; id++) {
			if (!v[id].present)
				continue;
			sqlite3_bind_int64(st, 1, (int64_t)id);
			bool got = sqlite3_step(st) == SQLITE_ROW;
			sqlite3_reset(st);
			if (got !=
			    alt_kept(&alt_cases[i], v[id].reached, false))
				fail_msg("%s: visit %zu %s",
				         alt_cases[i].filter, id,
				         got ? "matched" : "not matched");
			kept += got;
		}
		assert_true(kept > 0);
		sqlite3_finalize(st);
	}
	free(v);
}

/* goal==A|B keeps the visits that reached A or B, goal!=A|B those that
 * reached neither, with A and B of either kind (page, event): as a brute
 * force over the rows counts them, read from the open visits by SQL and
 * then from blocks with the rest by SQL; a segment of such a filter
 * holds the same visits. */
static void goal_alternatives_either_or_neither(void **state)
{
	(void)state;
	sqlite3 *db = schema_db();
	fill_visits(db, 11);
	struct analytics_goals goals;
	char err[256];
	assert_int_equal(
	        analytics_goals_parse(alt_goals, &goals, err, sizeof(err)), 0);
	int64_t d0 = MAR1 / 86400;
	alt_reports_match(db, &goals, "2025-03-01", "2025-03-10", d0, d0 + 9,
	                  "by SQL");
	alt_reports_match(db, &goals, "2025-03-08", "2025-03-10", d0 + 7,
	                  d0 + 9, "by SQL, three days");
	alt_segment_match(db, &goals);

	struct analytics_blocks_writer *w =
	        analytics_blocks_writer_new(db, NULL);
	assert_non_null(w);
	exec_ok(db, "BEGIN");
	int days = build_days(w, (MAR1 + 20 * 86400) * 1000);
	exec_ok(db, "COMMIT");
	analytics_blocks_writer_free(w);
	assert_int_equal(days, 9);
	alt_reports_match(db, &goals, "2025-03-01", "2025-03-10", d0, d0 + 9,
	                  "from blocks");
	alt_reports_match(db, &goals, "2025-03-08", "2025-03-10", d0 + 7,
	                  d0 + 9, "from blocks, three days");

	/* Unknown among them: refused, naming it. */
	struct analytics_request rq =
	        request("2025-03-01", "2025-03-10", "UTC");
	rq.goals = &goals;
	rq.filter = "goal==signup|nosuch|Visit /a";
	json_t *out = NULL;
	err[0] = '\0';
	assert_int_equal(analytics_report(db, ANALYTICS_SUMMARY, &rq, &out, err,
	                                  sizeof(err)),
	                 ANALYTICS_BAD_REQUEST);
	assert_null(out);
	assert_string_equal(err, "no goal \"nosuch\"");
	/* Up to 64 goals a filter. */
	char many[1024] = "goal==signup";
	for (int k = 1; k < 64; k++)
		strcat(many, "|Visit /a");
	rq.filter = many;
	json_decref(report_ok(db, ANALYTICS_SUMMARY, &rq));
	strcat(many, "|signup");
	assert_int_equal(analytics_report(db, ANALYTICS_SUMMARY, &rq, &out, err,
	                                  sizeof(err)),
	                 ANALYTICS_BAD_REQUEST);
	assert_non_null(strstr(err, "at most 64 goals"));
	analytics_goals_free(&goals);
	sqlite3_close(db);
}

/* ---- gather: rollup rows summed per key ------------------------------- */

struct model_row {
	char site[8], dim[16], value[700];
	int64_t t[GATHER_GRANS];
	int64_t visits, pageviews;
	uint64_t hash_sum;
	size_t n_hashes;
};

/* Keys whose strings share bytes across the fields ("ab" + "c" and "a" +
 * "bc"), values over the 512 bytes hashed on the stack, and buckets that
 * differ in one granularity only. */
static void key_of(uint64_t r, struct model_row *m)
{
	static const char *const sites[] = {"demo", "demoa", "b"};
	static const char *const dims[] = {"page", "pag", "epage", "", "a"};
	snprintf(m->site, sizeof(m->site), "%s", sites[r % 3]);
	snprintf(m->dim, sizeof(m->dim), "%s", dims[(r >> 2) % 5]);
	size_t len = (r >> 5) % 7 == 0 ? 600 : (r >> 8) % 6;
	for (size_t i = 0; i < len; i++)
		m->value[i] = (char)('a' + (r >> (10 + i % 40)) % 3);
	m->value[len] = '\0';
	int64_t hour = (int64_t)((r >> 20) % 5) * 3600;
	m->t[0] = 1700000000 + hour;
	m->t[1] = 1700000000 + (int64_t)((r >> 24) % 2) * 86400;
	m->t[2] = 1698796800;
}

static bool same_key(const struct model_row *a, const struct model_row *b)
{
	return strcmp(a->site, b->site) == 0 && strcmp(a->dim, b->dim) == 0 &&
	       strcmp(a->value, b->value) == 0 &&
	       memcmp(a->t, b->t, sizeof(a->t)) == 0;
}

/* A new gather (libsodium set up first, as gather_new() needs). */
static struct gather *gather_ok(void)
{
	assert_true(sodium_init() >= 0);
	struct gather *g = NULL;
	assert_int_equal(gather_new(&g), SEULA_OK);
	return g;
}

static void gather_sums_match_model(void **state)
{
	(void)state;
	struct gather *g = gather_ok();
	enum { ADDS = 20000, KEYS = 3000 };
	struct model_row *model = calloc(KEYS, sizeof(*model));
	assert_non_null(model);
	size_t n_model = 0;
	uint64_t seed = 7;
	for (int round = 0; round < 2; round++) {
		for (int k = 0; k < ADDS; k++) {
			struct model_row m = {0};
			key_of(splitmix(&seed) % 5000, &m);
			uint64_t visitor = splitmix(&seed);
			bool has = k % 4 != 0;
			struct gather_sums sums = {.visits = 1,
			                           .pageviews = k % 5};
			assert_int_equal(gather_add(g, m.site, m.dim, m.value,
			                            m.t, GATHER_GRANS, &sums,
			                            has, visitor),
			                 SEULA_OK);
			size_t i = 0;
			while (i < n_model && !same_key(&model[i], &m))
				i++;
			if (i == n_model) {
				assert_true(n_model < KEYS);
				model[n_model++] = m;
			}
			model[i].visits += 1;
			model[i].pageviews += k % 5;
			if (has) {
				model[i].hash_sum += visitor;
				model[i].n_hashes++;
			}
		}
		/* One row per key and granularity, each with the model's sums.
		 */
		assert_int_equal(gather_count(g), n_model * GATHER_GRANS);
		for (size_t r = 0; r < gather_count(g); r++) {
			const struct gather_row *row = gather_get(g, r);
			struct model_row m = {0};
			snprintf(m.site, sizeof(m.site), "%s", row->site);
			snprintf(m.dim, sizeof(m.dim), "%s", row->dim);
			snprintf(m.value, sizeof(m.value), "%s", row->value);
			size_t i = 0;
			for (; i < n_model; i++)
				if (strcmp(model[i].site, m.site) == 0 &&
				    strcmp(model[i].dim, m.dim) == 0 &&
				    strcmp(model[i].value, m.value) == 0 &&
				    model[i].t[row->gran] == row->t)
					break;
			assert_true(i < n_model);
			assert_int_equal(row->sums.visits, model[i].visits);
			assert_int_equal(row->sums.pageviews,
			                 model[i].pageviews);
			uint64_t sum = 0;
			for (size_t h = 0; h < row->n_hashes; h++)
				sum += row->hashes[h];
			assert_int_equal(row->n_hashes, model[i].n_hashes);
			assert_true(sum == model[i].hash_sum);
		}
		/* Emptied, it starts again from nothing. */
		assert_int_equal(gather_reset(g), SEULA_OK);
		assert_int_equal(gather_count(g), 0);
		memset(model, 0, KEYS * sizeof(*model));
		n_model = 0;
	}
	gather_free(g);
	free(model);
}

/* Hours only: one row, the hour's; the same key with all its buckets
 * later adds to that row and makes the others. */
static void gather_hour_only(void **state)
{
	(void)state;
	struct gather *g = gather_ok();
	const int64_t t[GATHER_GRANS] = {1700002800, 1699920000, 1698796800};
	const struct gather_sums one = {.visits = 1};
	assert_int_equal(
	        gather_add(g, "demo", "page", "/", t, 1, &one, false, 0),
	        SEULA_OK);
	assert_int_equal(gather_count(g), 1);
	assert_int_equal(gather_get(g, 0)->gran, 0);
	assert_int_equal(gather_get(g, 0)->t, t[0]);
	assert_int_equal(gather_add(g, "demo", "page", "/", t, GATHER_GRANS,
	                            &one, false, 0),
	                 SEULA_OK);
	assert_int_equal(gather_count(g), GATHER_GRANS);
	for (size_t i = 0; i < GATHER_GRANS; i++) {
		const struct gather_row *r = gather_get(g, i);
		assert_int_equal(r->t, t[r->gran]);
		assert_int_equal(r->sums.visits, r->gran == 0 ? 2 : 1);
	}
	gather_free(g);
}

static void gather_full_adds_nothing(void **state)
{
	(void)state;
	struct gather *g = gather_ok();
	struct gather_sums one = {.visits = 1};
	int64_t t[GATHER_GRANS] = {3600, 86400, 0};
	char value[32];
	int k = 0, rc;
	do {
		snprintf(value, sizeof(value), "/p/%d", k++);
		rc = gather_add(g, "demo", "page", value, t, GATHER_GRANS, &one,
		                false, 0);
	} while (rc == SEULA_OK);
	assert_int_equal(rc, SEULA_EBUSY);
	/* Full: no granularity of the refused key was added. */
	assert_int_equal(gather_count(g) % GATHER_GRANS, 0);
	size_t full = gather_count(g);
	assert_int_equal(full / GATHER_GRANS, (size_t)(k - 1));
	const struct gather_row *last = gather_get(g, full - 1);
	assert_string_not_equal(last->value, value);
	assert_int_equal(gather_reset(g), SEULA_OK);
	assert_int_equal(gather_add(g, "demo", "page", value, t, GATHER_GRANS,
	                            &one, false, 0),
	                 SEULA_OK);
	assert_int_equal(gather_count(g), GATHER_GRANS);
	gather_free(g);
}

/* A row of many visitors keeps a sketch instead of their hashes: the same
 * sketch as one built from all of them, so nothing is lost in the switch;
 * a row of few keeps every hash. */
static void gather_busy_row_turns_into_sketch(void **state)
{
	(void)state;
	struct gather *g = gather_ok();
	struct gather_sums one = {.visits = 1};
	int64_t t[GATHER_GRANS] = {3600, 86400, 0};
	struct seula_hll *want = calloc(1, sizeof(*want));
	assert_non_null(want);
	uint64_t seed = 5;
	enum { FEW = 4096, MANY = 30000 };
	for (int k = 0; k < MANY; k++) {
		/* Repeats too: a returning visitor adds its hash again. */
		uint64_t h =
		        k % 3 == 2 ? splitmix(&seed) % 1000 : splitmix(&seed);
		assert_int_equal(gather_add(g, "demo", "", "", t, GATHER_GRANS,
		                            &one, true, h),
		                 SEULA_OK);
		seula_hll_add_hash(want, h);
		if (k < FEW)
			assert_int_equal(gather_add(g, "demo", "page", "/few",
			                            t, GATHER_GRANS, &one, true,
			                            h),
			                 SEULA_OK);
		if (k == FEW - 1) {
			const struct gather_row *r = gather_get(g, 0);
			assert_null(r->sketch);
			assert_int_equal(r->n_hashes, FEW);
		}
	}
	for (size_t i = 0; i < gather_count(g); i++) {
		const struct gather_row *r = gather_get(g, i);
		if (strcmp(r->dim, "") == 0) {
			assert_non_null(r->sketch);
			assert_null(r->hashes);
			assert_int_equal(r->n_hashes, 0);
			assert_int_equal(r->sums.visits, MANY);
			assert_memory_equal(r->sketch->reg, want->reg,
			                    sizeof(want->reg));
		} else {
			assert_null(r->sketch);
			assert_int_equal(r->n_hashes, FEW);
		}
	}
	free(want);
	gather_free(g);
}

/* ---- open visits per visitor ------------------------------------------- */

struct model_visit {
	const char *site;
	int64_t visitor;
	struct open_visit v;
	bool live;
};

static void open_visits_match_model(void **state)
{
	(void)state;
	struct open_visits *t = NULL;
	assert_int_equal(open_visits_new(&t), SEULA_OK);
	static const char *const sites[] = {"demo", "shop", "demo2"};
	enum { SLOTS = 6000 };
	struct model_visit *model = calloc(SLOTS, sizeof(*model));
	assert_non_null(model);
	uint64_t seed = 99;
	int64_t next_id = 1;
	size_t live = 0;
	/* Visitors drawn from a small set, so puts replace and removes hit;
	 * the table grows past its first size and shrinks by removals. */
	for (int op = 0; op < 200000; op++) {
		uint64_t r = splitmix(&seed);
		size_t i = r % SLOTS;
		struct model_visit *m = &model[i];
		if (!m->site) {
			m->site = sites[i % 3];
			m->visitor = (int64_t)splitmix(&seed);
		}
		switch ((r >> 32) % 4) {
		case 0:
		case 1: { /* a new visit, or the next one of the visitor */
			struct open_visit v = {
			        .id = next_id++, .start_ms = op, .last_ms = op};
			assert_int_equal(
			        open_visits_put(t, m->site, m->visitor, &v),
			        SEULA_OK);
			live += !m->live;
			m->v = v;
			m->live = true;
			break;
		}
		case 2: /* ended: removed by its id, or a stale id ignored */
			if ((r >> 40) % 4 == 0) {
				open_visits_remove(t, m->site, m->visitor,
				                   m->v.id + 1000000);
			} else {
				open_visits_remove(t, m->site, m->visitor,
				                   m->v.id);
				live -= m->live;
				m->live = false;
			}
			break;
		default: { /* looked up, and its last event moved on */
			struct open_visit *got =
			        open_visits_find(t, m->site, m->visitor);
			if (!m->live) {
				assert_null(got);
				break;
			}
			assert_non_null(got);
			assert_int_equal(got->id, m->v.id);
			assert_int_equal(got->last_ms, m->v.last_ms);
			got->last_ms = m->v.last_ms = op;
			break;
		}
		}
		assert_int_equal(open_visits_count(t), live);
	}
	for (size_t i = 0; i < SLOTS; i++) {
		if (!model[i].site)
			continue;
		struct open_visit *got =
		        open_visits_find(t, model[i].site, model[i].visitor);
		if (model[i].live) {
			assert_non_null(got);
			assert_int_equal(got->id, model[i].v.id);
		} else {
			assert_null(got);
		}
		/* The same visitor on another site is another visitor. */
		assert_null(
		        open_visits_find(t, "nosuchsite", model[i].visitor));
	}
	open_visits_clear(t);
	assert_int_equal(open_visits_count(t), 0);
	assert_null(open_visits_find(t, model[0].site, model[0].visitor));
	open_visits_free(t);
	free(model);
}

/* The writer's path: events through the built plugin's on_batch, on a
 * database with every migration. */
struct writer {
	char dir[64];
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_config cfg;
	struct seula_plugins pl;
	const struct seula_loaded_plugin *an;
	sqlite3 *db;
	struct seula_arena arena;
};

static void writer_open(struct writer *w)
{
	char err[1024], path[128];
	const char *ov[] = {"plugins.load=analytics",
	                    "plugin.analytics.visit_timeout=1800s", NULL};
	memset(w, 0, sizeof(*w));
	w->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	w->env.log = &w->log;
	w->env.config = &w->cfg;
	strcpy(w->dir, "/tmp/seula-visits-XXXXXX");
	assert_non_null(mkdtemp(w->dir));
	snprintf(path, sizeof(path), "%s/seula.db", w->dir);
	if (seula_config_load(&w->cfg, NULL, ov, err, sizeof(err)) ||
	    seula_plugins_load(&w->pl, &w->cfg, SEULA_BUILD_PLUGIN_DIR, &w->env,
	                       err, sizeof(err)) ||
	    seula_db_open(&w->db, path, false, true, 0, err, sizeof(err)) ||
	    seula_migrate_all(w->db, &w->pl, NULL, NULL, err, sizeof(err)) ||
	    seula_plugins_init(&w->pl, err, sizeof(err)))
		fail_msg("%s", err);
	w->an = seula_plugins_find(&w->pl, "analytics");
	assert_non_null(w->an);
	seula_arena_init(&w->arena, 1 << 16);
}

static void writer_close(struct writer *w)
{
	seula_arena_free(&w->arena);
	seula_plugins_free(&w->pl);
	seula_db_close(w->db);
	seula_config_free(&w->cfg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", w->dir);
	assert_int_equal(system(cmd), 0);
}

/* One event of cookieless visitor `who` at ts_ms, in a batch of its own:
 * a page view, or with `name` a custom event. */
static void writer_send(struct writer *w, int64_t who, int64_t ts_ms,
                        const char *path, const char *name)
{
	struct seula_event *ev = seula_event_new(&w->arena);
	seula_event_set_str(ev, SEULA_FIELD_SITE, "s", 1);
	seula_event_set_int(ev, SEULA_FIELD_TYPE,
	                    name ? SEULA_EVENT_CUSTOM : SEULA_EVENT_PAGEVIEW);
	seula_event_set_int(ev, SEULA_FIELD_TIME_MS, ts_ms);
	seula_event_set_int(ev, SEULA_FIELD_VISITOR_HASH, who);
	seula_event_set_str(ev, SEULA_FIELD_PATH, path, strlen(path));
	if (name)
		seula_event_set_str(ev, SEULA_FIELD_NAME, name, strlen(name));
	char *errmsg = NULL;
	exec_ok(w->db, "BEGIN");
	int rc = w->an->desc.on_batch(w->an->instance, w->db, &ev, 1, &errmsg);
	if (rc != SEULA_OK)
		fail_msg("on_batch: %s", errmsg ? errmsg : "?");
	exec_ok(w->db, "COMMIT");
}

/* Entry and exit pages are page views' only, as in Plausible: a visit a
 * custom event began enters on its first page view, also when that one
 * is a little older than the event (two workers' order); one without a
 * page view has none. */
static void entry_and_exit_pages_are_page_views(void **state)
{
	(void)state;
	struct writer w;
	writer_open(&w);
	int64_t t = (int64_t)time(NULL) * 1000 - 60000;
	writer_send(&w, 1, t, "/signup", "Signup");
	writer_send(&w, 1, t + 1000, "/landing", NULL);
	writer_send(&w, 1, t + 2000, "/next", NULL);
	writer_send(&w, 2, t, "/pricing", "Signup");
	writer_send(&w, 3, t + 1000, "/e", "Signup");
	writer_send(&w, 3, t, "/p", NULL);
	writer_send(&w, 4, t, "/a", NULL);
	writer_send(&w, 4, t + 1000, "/b", "Signup");
	sqlite3_stmt *st;
	assert_int_equal(
	        sqlite3_prepare_v2(w.db,
	                           "SELECT group_concat(entry_page || ' ' || "
	                           "exit_page || ' ' || pageviews || ' ' || "
	                           "events || ' ' || (start_ts - ?1), ', ') "
	                           "FROM (SELECT * FROM analytics_visits "
	                           "ORDER BY id)",
	                           -1, &st, NULL),
	        SQLITE_OK);
	sqlite3_bind_int64(st, 1, t);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	assert_string_equal((const char *)sqlite3_column_text(st, 0),
	                    "/landing /next 2 1 0, (none) (none) 0 1 0, "
	                    "/p /p 1 1 0, /a /a 1 1 0");
	sqlite3_finalize(st);
	writer_close(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(hll_error_within_bounds),
	        cmocka_unit_test(hll_small_visitors_spread),
	        cmocka_unit_test(hll_blob_matches_memory),
	        cmocka_unit_test(hll_union_of_blobs),
	        cmocka_unit_test(hll_to_blob_and_sql_union),
	        cmocka_unit_test(hll_malformed_blobs_refused),
	        cmocka_unit_test(pieces_cover_ranges_exactly),
	        cmocka_unit_test(breakdown_seek_matches_hour_rows),
	        cmocka_unit_test(breakdown_keeps_values_cut_mid_character),
	        cmocka_unit_test(groups_sum_and_count_visitors),
	        cmocka_unit_test(groups_top_and_merge_as_one_pass),
	        cmocka_unit_test(visits_breakdown_same_past_its_memory),
	        cmocka_unit_test(visits_breakdown_by_sql_finds_many_visitors),
	        cmocka_unit_test(blocks_answer_as_the_visits),
	        cmocka_unit_test(blocks_pruned_top_pages),
	        cmocka_unit_test(blocks_absent_before_migration),
	        cmocka_unit_test(page_segments_migrated_to_a_new_backfill),
	        cmocka_unit_test(prop_visits_counted_once_migrated),
	        cmocka_unit_test(bar_in_brackets_is_the_character),
	        cmocka_unit_test(own_dimension_filter_narrows_its_breakdown),
	        cmocka_unit_test(hours_of_day_with_visits_only),
	        cmocka_unit_test(identity_props_migrated_away),
	        cmocka_unit_test(blocks_ids_never_reused),
	        cmocka_unit_test(block_index_past_its_values),
	        cmocka_unit_test(block_cache_bounded),
	        cmocka_unit_test(block_cache_memos),
	        cmocka_unit_test(block_cache_sweep_due),
	        cmocka_unit_test(visitors_never_above_visits),
	        cmocka_unit_test(breakdown_ranked_by_visitors_shown),
	        cmocka_unit_test(timeseries_buckets),
	        cmocka_unit_test(csv_quotes_and_defuses_formulas),
	        cmocka_unit_test(csv_of_empty_tables),
	        cmocka_unit_test(report_refuses_bytes_not_text),
	        cmocka_unit_test(last_half_hour_zone_hour_kept),
	        cmocka_unit_test(zone_utc_only_if_never_off),
	        cmocka_unit_test(midnight_is_the_first_when_it_repeats),
	        cmocka_unit_test(goals_config_parsed),
	        cmocka_unit_test(segment_filters_canonical),
	        cmocka_unit_test(goal_alternatives_either_or_neither),
	        cmocka_unit_test(gather_sums_match_model),
	        cmocka_unit_test(gather_hour_only),
	        cmocka_unit_test(gather_full_adds_nothing),
	        cmocka_unit_test(gather_busy_row_turns_into_sketch),
	        cmocka_unit_test(open_visits_match_model),
	        cmocka_unit_test(entry_and_exit_pages_are_page_views),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
