/* Unit tests: core/config.c - every bad config stops with file:line:key. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "config.h"
#include "testutil.h"

#include <sys/stat.h>

static char err[1024];

static int load_text(struct seula_config *cfg, const char *text, char **path,
                     const char *const *overrides)
{
	*path = write_temp(text);
	err[0] = '\0';
	int rc = seula_config_load(cfg, *path, overrides, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_config_check_unused(cfg, err, sizeof(err));
	return rc;
}

static void done(struct seula_config *cfg, char *path)
{
	seula_config_free(cfg);
	unlink(path);
	free(path);
}

/* Expect failure with `needle` in the message and "file:line". */
static void expect_error(const char *text, int line, const char *needle)
{
	struct seula_config cfg;
	char *path;
	assert_int_not_equal(load_text(&cfg, text, &path, NULL), SEULA_OK);
	char where[300];
	if (line > 0) {
		snprintf(where, sizeof(where), "%s:%d:", path, line);
		if (!strstr(err, where))
			fail_msg("'%s' lacks '%s'", err, where);
	}
	if (!strstr(err, needle))
		fail_msg("'%s' lacks '%s'", err, needle);
	done(&cfg, path);
}

static void defaults_and_values(void **state)
{
	(void)state;
	struct seula_config cfg;
	char *path;
	assert_int_equal(load_text(&cfg,
	                           "; comment\n"
	                           "[server]\n"
	                           "listen = 127.0.0.1:0 ; inline comment\n"
	                           "trusted_proxies = 127.0.0.1/8,\n"
	                           "  ::1\n"
	                           "request_timeout = 2m\n"
	                           "synchronous = normal\n"
	                           "[limits]\n"
	                           "queue_capacity = 100\n"
	                           "batch_max_events = 10\n"
	                           "[plugins]\n"
	                           "load =\n"
	                           "[site.demo]\n"
	                           "domains = example.com, *.example.org\n",
	                           &path, NULL),
	                 SEULA_OK);
	assert_string_equal(cfg.listen, "127.0.0.1:0");
	assert_string_equal(cfg.db, "var/seula.db");
	assert_int_equal(cfg.request_timeout_s, 120);
	assert_int_equal(cfg.synchronous, SEULA_SYNC_NORMAL);
	assert_int_equal(cfg.queue_capacity, 100);
	assert_int_equal(cfg.max_body_bytes, 65536);
	assert_int_equal(cfg.n_trusted, 2);
	assert_null(cfg.plugins[0]);
	assert_int_equal(cfg.n_sites, 1);
	const struct seula_site *s = seula_config_site(&cfg, "demo");
	assert_non_null(s);
	assert_null(seula_config_site(&cfg, "other"));
	assert_true(seula_site_allows_host(s, "example.com", 11));
	assert_true(seula_site_allows_host(s, "EXAMPLE.COM", 11));
	assert_false(seula_site_allows_host(s, "www.example.com", 15));
	assert_true(seula_site_allows_host(s, "a.b.example.org", 15));
	assert_true(seula_site_allows_host(s, "example.org", 11));
	assert_false(seula_site_allows_host(s, "badexample.org", 14));
	assert_false(seula_site_allows_host(s, "example.org.evil", 16));
	assert_string_equal(s->timezone, ""); /* none: the viewer's */
	done(&cfg, path);
}

static void overrides_win(void **state)
{
	(void)state;
	struct seula_config cfg;
	char *path;
	const char *ov[] = {"server.listen=127.0.0.1:9999",
	                    "server.db=/tmp/x.db", NULL};
	assert_int_equal(load_text(&cfg,
	                           "[server]\nlisten = 0.0.0.0:80\n"
	                           "[site.a]\ndomains = a.fi\n",
	                           &path, ov),
	                 SEULA_OK);
	assert_string_equal(cfg.listen, "127.0.0.1:9999");
	assert_string_equal(cfg.db, "/tmp/x.db");
	done(&cfg, path);
	const char *bad[] = {"nodot", NULL};
	assert_int_not_equal(load_text(&cfg, "[server]\n", &path, bad),
	                     SEULA_OK);
	assert_non_null(strstr(err, "section.key=value"));
	done(&cfg, path);
}

static void every_mistake_is_named(void **state)
{
	(void)state;
	expect_error("[server]\nlisten = 1:2\nlissten = x\n", 3,
	             "unknown key 'lissten'");
	expect_error("[server]\nworkers = 0\n", 2, "out of range (1 to 64)");
	expect_error("[server]\nworkers = many\n", 2, "not an integer");
	expect_error("[server]\nworkers = 2\nworkers = 3\n", 3, "set twice");
	expect_error("[server]\nsynchronous = maybe\n", 2,
	             "not one of: normal full");
	expect_error("[server]\nrequest_timeout = 5y\n", 2, "not a duration");
	expect_error("[server]\nlisten = x\n  y\n", 3, "only lists continue");
	expect_error("listen = x\n[server]\n", 1, "outside any [section]");
	expect_error("[server]\nthis is not ini\n", 2, "syntax error");
	expect_error("[serverr]\nlisten = x\n", 2, "unknown section [serverr]");
	expect_error("[plugin.geoip]\ndb = x\n", 2,
	             "not loaded (add 'geoip' to [plugins] load");
	expect_error("[site.Demo]\ndomains = a\n", 2, "a site id");
	expect_error("[site.demo]\nkeep_query = a\n", 0,
	             "missing the required key 'domains'");
	expect_error("[site.demo]\ndomains = A.com\n", 0, "lower-case host");
	expect_error("[site.demo]\ndomains = a.com\ntimezone = Mars/Olympus\n",
	             0, "not an IANA time zone");
	expect_error("[site.demo]\ndomains = a.com,,b.com\n", 2,
	             "empty item in list");
	expect_error("[server]\ntrusted_proxies = 10.0.0.0/99\n", 0,
	             "not an address or CIDR");
	expect_error("[limits]\nqueue_capacity = 10\nbatch_max_events = 20\n",
	             0, "larger than queue_capacity");
	expect_error("[plugins]\nload = a, b, a\n", 0, "lists 'a' twice");
	char longline[400];
	snprintf(longline, sizeof(longline), "[server]\ndb = %0300d\n", 0);
	expect_error(longline, 2, "line too long");
	/* Empty, as with keys: refused, not skipped. */
	expect_error("[server]\n[serverx]\n", 2, "unknown section [serverx]");
	expect_error("\xEF\xBB\xBF[serverx]\n", 1, "unknown section [serverx]");
	expect_error("[server]\n[plugin.geoip]\n; none\n", 2,
	             "not loaded (add 'geoip' to [plugins] load");
	expect_error("[site.demo]\n", 0, "missing the required key 'domains'");
	/* Indented after a key, a bracket is the key's next line. */
	expect_error("[server]\ntrusted_proxies = 10.0.0.1,\n  [x]\n", 0,
	             "'[x]' is not an address");
	expect_error("[controller]\nname = Caf\xe9 Oy\n", 2,
	             "[controller] name: the value is not UTF-8 text");
	expect_error("[server]\ntrusted_proxies = 10.0.0.1, \xff\n", 2,
	             "trusted_proxies: the value is not UTF-8 text");
}

/* Empty known sections load; an indented bracket after a key is the key's
 * next line, as inih reads it, not a section. */
static void empty_known_sections(void **state)
{
	(void)state;
	struct seula_config cfg;
	char *path;
	assert_int_equal(load_text(&cfg,
	                           "\xEF\xBB\xBF[server]\n[limits]\n  [auth]\n"
	                           "[plugins]\n[consent]\n[controller]\n"
	                           "[privacy]\n[site.demo]\ndomains = a.fi,\n"
	                           "  [::1]\n",
	                           &path, NULL),
	                 SEULA_OK);
	assert_string_equal(cfg.sites[0].domains[1], "[::1]");
	done(&cfg, path);
}

/* Load `path` as the config; expect failure with `needle`, fast. */
static void expect_file_error(const char *path, const char *needle)
{
	struct seula_config cfg;
	err[0] = '\0';
	assert_int_not_equal(
	        seula_config_load(&cfg, path, NULL, err, sizeof(err)),
	        SEULA_OK);
	if (!strstr(err, path) || !strstr(err, needle))
		fail_msg("'%s' lacks '%s' or '%s'", err, path, needle);
	seula_config_free(&cfg);
}

/* Not text at all: each is refused with the file named, never read as an
 * empty file (defaults) nor read whole into memory. */
static void not_a_config_file(void **state)
{
	(void)state;
	char dir[] = "/tmp/seula-unit-XXXXXX";
	assert_non_null(mkdtemp(dir));
	expect_file_error(dir, "is a directory");
	expect_file_error("/dev/zero", "not a regular file");
	char fifo[64];
	snprintf(fifo, sizeof(fifo), "%s/fifo", dir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	expect_file_error(fifo, "not a regular file");
	unlink(fifo);
	rmdir(dir);
	/* A regular file that fails to read (EIO at offset 0). */
	expect_file_error("/proc/self/mem", ":1: cannot read");

	/* One line of 4 MiB: refused at its start, not read whole. */
	char *path = write_temp("[server]\n");
	FILE *f = fopen(path, "a");
	assert_non_null(f);
	static char chunk[1 << 16];
	memset(chunk, 'a', sizeof(chunk));
	for (int i = 0; i < 64; i++)
		assert_int_equal(fwrite(chunk, 1, sizeof(chunk), f),
		                 sizeof(chunk));
	fclose(f);
	char where[300];
	snprintf(where, sizeof(where), "%s:2: line too long", path);
	expect_file_error(path, where);
	unlink(path);
	free(path);

	path = write_temp("[server]\nlisten = 127.0.0.1:0\n");
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("db = a", f);
	fputc('\0', f);
	fputs("b\n", f);
	fclose(f);
	snprintf(where, sizeof(where), "%s:3: a NUL byte", path);
	expect_file_error(path, where);
	unlink(path);
	free(path);
}

static void missing_file(void **state)
{
	(void)state;
	struct seula_config cfg;
	assert_int_equal(seula_config_load(&cfg, "/nonexistent/seula.ini", NULL,
	                                   err, sizeof(err)),
	                 SEULA_EIO);
	assert_non_null(strstr(err, "/nonexistent/seula.ini: cannot open"));
	seula_config_free(&cfg);
}

struct plugin_cfg {
	int64_t level;
	int flag;
	const char *name;
	const char *const *list;
	int64_t period;
};

static void plugin_rows(void **state)
{
	(void)state;
	static const struct seula_config_row rows[] = {
	        {SEULA_CONFIG_INT, "level", "2", 1, 4,
	         offsetof(struct plugin_cfg, level), 0, NULL, "lvl"},
	        {SEULA_CONFIG_BOOL, "flag", "off", 0, 0,
	         offsetof(struct plugin_cfg, flag), 0, NULL, "f"},
	        {SEULA_CONFIG_STRING, "name", NULL, 1, 8,
	         offsetof(struct plugin_cfg, name), SEULA_CONFIG_REQUIRED, NULL,
	         "n"},
	        {SEULA_CONFIG_LIST, "list", "a, b", 0, 0,
	         offsetof(struct plugin_cfg, list), 0, NULL, "l"},
	        {SEULA_CONFIG_DURATION, "period", "1d", 1, 864000,
	         offsetof(struct plugin_cfg, period), 0, NULL, "p"},
	        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
	};
	struct seula_config cfg;
	char *path;
	path = write_temp("[plugin.x]\nflag = yes\nname = abc\n"
	                  "list = c,\n  d, e\n");
	assert_int_equal(seula_config_load(&cfg, path, NULL, err, sizeof(err)),
	                 SEULA_OK);
	/* Unclaimed until a plugin's rows consume it. */
	assert_int_not_equal(seula_config_check_unused(&cfg, err, sizeof(err)),
	                     SEULA_OK);
	struct plugin_cfg pc;
	memset(&pc, 0, sizeof(pc));
	assert_int_equal(seula_config_apply(&cfg, "plugin.x", rows, &pc, err,
	                                    sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(pc.level, 2);
	assert_int_equal(pc.flag, 1);
	assert_string_equal(pc.name, "abc");
	assert_string_equal(pc.list[0], "c");
	assert_string_equal(pc.list[1], "d");
	assert_string_equal(pc.list[2], "e");
	assert_null(pc.list[3]);
	assert_int_equal(pc.period, 86400);
	assert_int_equal(seula_config_check_unused(&cfg, err, sizeof(err)),
	                 SEULA_OK);
	done(&cfg, path);

	assert_int_equal(seula_config_load(&cfg, NULL, NULL, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_not_equal(seula_config_apply(&cfg, "plugin.x", rows, &pc,
	                                        err, sizeof(err)),
	                     SEULA_OK);
	assert_non_null(strstr(err, "missing the required key 'name'"));
	seula_config_free(&cfg);
}

static void durations(void **state)
{
	(void)state;
	int64_t s;
	assert_int_equal(seula_parse_duration("90", &s), SEULA_OK);
	assert_int_equal(s, 90);
	assert_int_equal(seula_parse_duration("2w", &s), SEULA_OK);
	assert_int_equal(s, 1209600);
	assert_int_equal(seula_parse_duration("-1s", &s), SEULA_EINVAL);
	assert_int_equal(seula_parse_duration("1ms", &s), SEULA_EINVAL);
	assert_int_equal(seula_parse_duration("99999999999999999999d", &s),
	                 SEULA_EINVAL);
	assert_int_equal(seula_parse_duration("", &s), SEULA_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(defaults_and_values),
	        cmocka_unit_test(overrides_win),
	        cmocka_unit_test(every_mistake_is_named),
	        cmocka_unit_test(empty_known_sections),
	        cmocka_unit_test(missing_file),
	        cmocka_unit_test(not_a_config_file),
	        cmocka_unit_test(plugin_rows),
	        cmocka_unit_test(durations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
