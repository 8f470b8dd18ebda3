/* Unit tests: core/loader.c - each way a plugin can be wrong is refused with
 * the file and the reason, through the real dlopen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "host.h"
#include "loader.h"
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char err[1024];

static int load(const char *name, const char *dir, const char *extra,
                struct seula_config *cfg, struct seula_plugins *pl)
{
	static struct seula_logger log = {SEULA_LOG_ERROR, NULL};
	static struct seula_host_env env = {&log, NULL, NULL, NULL};
	char load_ov[128];
	snprintf(load_ov, sizeof(load_ov), "plugins.load=%s", name);
	const char *ov[] = {load_ov, extra, NULL};
	err[0] = '\0';
	assert_int_equal(seula_config_load(cfg, NULL, ov, err, sizeof(err)),
	                 SEULA_OK);
	int rc = seula_plugins_load(pl, cfg, dir, &env, err, sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_config_check_unused(cfg, err, sizeof(err));
	return rc;
}

static void expect_refused(const char *name, const char *needle)
{
	struct seula_config cfg;
	struct seula_plugins pl;
	assert_int_not_equal(load(name, SEULA_TEST_PLUGIN_DIR, NULL, &cfg, &pl),
	                     SEULA_OK);
	char file[512];
	snprintf(file, sizeof(file), "%s/%s.so", SEULA_TEST_PLUGIN_DIR, name);
	if (!strstr(err, file) || !strstr(err, needle))
		fail_msg("%s: '%s' should name %s and say '%s'", name, err,
		         file, needle);
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
}

static void refusals_name_file_and_reason(void **state)
{
	(void)state;
	expect_refused("broken_major", "built for plugin ABI 2.0");
	expect_refused("broken_minor", "newer than this seula's");
	expect_refused("broken_size", "descriptor size 16");
	expect_refused("broken_nosymbol", "exports no 'seula_plugin' symbol");
	expect_refused("broken_undefined", "seula_core_internal_function");
	expect_refused("missing_plugin", "cannot load plugin");
}

static void good_plugin_loads_with_config(void **state)
{
	(void)state;
	struct seula_config cfg;
	struct seula_plugins pl;
	assert_int_equal(load("anonymize", SEULA_BUILD_PLUGIN_DIR,
	                      "plugin.anonymize.level=3", &cfg, &pl),
	                 SEULA_OK);
	assert_int_equal(pl.n, 1);
	const struct seula_loaded_plugin *p =
	        seula_plugins_find(&pl, "anonymize");
	assert_non_null(p);
	assert_int_equal(*(const int64_t *)p->config, 3);
	assert_int_equal(p->desc.stage, SEULA_STAGE_PROTECT);
	assert_int_equal(seula_plugins_init(&pl, err, sizeof(err)), SEULA_OK);
	seula_plugins_free(&pl);
	seula_config_free(&cfg);

	/* A bad value in its section is caught by its own rows. */
	assert_int_not_equal(load("anonymize", SEULA_BUILD_PLUGIN_DIR,
	                          "plugin.anonymize.level=0", &cfg, &pl),
	                     SEULA_OK);
	assert_non_null(strstr(err, "[plugin.anonymize] level"));
	assert_non_null(strstr(err, "out of range (1 to 4)"));
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
	assert_int_not_equal(load("anonymize", SEULA_BUILD_PLUGIN_DIR,
	                          "plugin.anonymize.levle=1", &cfg, &pl),
	                     SEULA_OK);
	assert_non_null(strstr(err, "unknown key 'levle'"));
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
}

/* A plugin built against ABI 1.0 loads; the hooks it did not know read as
 * NULL. */
static void older_minor_loads(void **state)
{
	(void)state;
	struct seula_config cfg;
	struct seula_plugins pl;
	assert_int_equal(
	        load("old_abi", SEULA_TEST_PLUGIN_DIR, NULL, &cfg, &pl),
	        SEULA_OK);
	const struct seula_loaded_plugin *p =
	        seula_plugins_find(&pl, "old_abi");
	assert_non_null(p);
	assert_int_equal(p->desc.abi_minor, 0);
	assert_null(p->desc.reload);
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
}

static void abi_check_rules(void **state)
{
	(void)state;
	struct seula_plugin d = {SEULA_PLUGIN_HEADER};
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_OK);
	d.abi_minor = SEULA_ABI_MINOR + 1;
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_EABI);
	d.abi_minor = SEULA_ABI_MINOR;
	d.abi_major = SEULA_ABI_MAJOR - 1;
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_EABI);
	assert_non_null(strstr(err, "rebuild the plugin"));
	d.abi_major = SEULA_ABI_MAJOR;
	d.size = 1u << 20;
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_EABI);
	/* A 1.2 plugin ends before the subject hook (1.3) and loads; a 1.3
	 * one that short was built with a modified header. */
	d.abi_minor = 2;
	d.size = (uint32_t)offsetof(struct seula_plugin, subject);
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_OK);
	d.abi_minor = 3;
	assert_int_equal(seula_plugin_check_abi(&d, "x", err, sizeof(err)),
	                 SEULA_EABI);
}

/* host->site_known answers from the config the host was given, exactly,
 * and says it cannot tell without one. */
/* A host over a config loaded from overrides `ov`, not given to it yet
 * (f->env.config NULL): the tests below ask it without, then with. */
struct host_fixture {
	struct seula_config cfg;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_host_impl impl;
};

static const struct seula_host *host_fixture_init(struct host_fixture *f,
                                                  const char *const *ov)
{
	assert_int_equal(seula_config_load(&f->cfg, NULL, ov, err, sizeof(err)),
	                 SEULA_OK);
	f->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	f->env = (struct seula_host_env){.log = &f->log};
	seula_host_init(&f->impl, "t", &f->env);
	return &f->impl.pub;
}

static void host_knows_the_configured_sites(void **state)
{
	(void)state;
	const char *ov[] = {"site.shop.domains=shop.example",
	                    "site.blog.domains=blog.example", NULL};
	struct host_fixture f;
	const struct seula_host *h = host_fixture_init(&f, ov);
	assert_int_equal(h->site_known(h, "shop"), SEULA_EINVAL);
	f.env.config = &f.cfg;
	assert_int_equal(h->site_known(h, "shop"), 1);
	assert_int_equal(h->site_known(h, "blog"), 1);
	assert_int_equal(h->site_known(h, "Shop"), 0);
	assert_int_equal(h->site_known(h, "sho"), 0);
	assert_int_equal(h->site_known(h, ""), 0);
	assert_int_equal(h->site_known(h, NULL), 0);
	seula_config_free(&f.cfg);
}

/* host->site_id lists the configured sites in the config's order, each
 * once, and none without a config. */
static void host_lists_the_configured_sites(void **state)
{
	(void)state;
	const char *ov[] = {"site.shop.domains=shop.example",
	                    "site.blog.domains=blog.example", NULL};
	struct host_fixture f;
	const struct seula_host *h = host_fixture_init(&f, ov);
	assert_null(h->site_id(h, 0));
	f.env.config = &f.cfg;
	const char *want[] = {f.cfg.sites[0].id, f.cfg.sites[1].id};
	assert_int_equal(f.cfg.n_sites, 2);
	assert_string_equal(h->site_id(h, 0), want[0]);
	assert_string_equal(h->site_id(h, 1), want[1]);
	assert_string_not_equal(want[0], want[1]);
	assert_true(strcmp(want[0], "shop") == 0 ||
	            strcmp(want[0], "blog") == 0);
	assert_true(strcmp(want[1], "shop") == 0 ||
	            strcmp(want[1], "blog") == 0);
	assert_null(h->site_id(h, 2));
	assert_null(h->site_id(h, (size_t)-1));
	seula_config_free(&f.cfg);
}

/* host->privacy_get gives the [privacy] lists item by item and the
 * authority's details, and nothing without a config or past the end. */
static void host_gives_the_privacy_declarations(void **state)
{
	(void)state;
	const char *ov[] = {"privacy.sources=registration, customer",
	                    "privacy.authority_name=Valvoja", NULL};
	struct host_fixture f;
	const struct seula_host *h = host_fixture_init(&f, ov);
	assert_null(h->privacy_get(h, "sources", 0));
	f.env.config = &f.cfg;
	assert_string_equal(h->privacy_get(h, "sources", 0), "registration");
	assert_string_equal(h->privacy_get(h, "sources", 1), "customer");
	assert_null(h->privacy_get(h, "sources", 2));
	assert_string_equal(h->privacy_get(h, "authority_name", 0), "Valvoja");
	assert_null(h->privacy_get(h, "authority_name", 1));
	assert_string_equal(h->privacy_get(h, "authority_email", 0),
	                    "tietosuoja@om.fi");
	assert_null(h->privacy_get(h, "transfers", 0)); /* empty list */
	assert_null(h->privacy_get(h, "db", 0));
	assert_null(h->privacy_get(h, NULL, 0));
	seula_config_free(&f.cfg);
}

/* An empty [plugin.NAME] of a plugin without settings is not unknown. */
static void empty_section_of_plugin_without_settings(void **state)
{
	(void)state;
	static struct seula_logger log = {SEULA_LOG_ERROR, NULL};
	static struct seula_host_env env = {&log, NULL, NULL, NULL};
	char *path = write_temp("[plugins]\nload = enricher\n"
	                        "[plugin.enricher]\n");
	struct seula_config cfg;
	struct seula_plugins pl;
	assert_int_equal(seula_config_load(&cfg, path, NULL, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(seula_plugins_load(&pl, &cfg, SEULA_TEST_PLUGIN_DIR,
	                                    &env, err, sizeof(err)),
	                 SEULA_OK);
	assert_int_equal(seula_config_check_unused(&cfg, err, sizeof(err)),
	                 SEULA_OK);
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
	unlink(path);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(refusals_name_file_and_reason),
	        cmocka_unit_test(good_plugin_loads_with_config),
	        cmocka_unit_test(empty_section_of_plugin_without_settings),
	        cmocka_unit_test(older_minor_loads),
	        cmocka_unit_test(abi_check_rules),
	        cmocka_unit_test(host_knows_the_configured_sites),
	        cmocka_unit_test(host_lists_the_configured_sites),
	        cmocka_unit_test(host_gives_the_privacy_declarations),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
