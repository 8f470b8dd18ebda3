/* Unit tests: plugins/useragent through the real loader.
 *
 * Accuracy: every case of uap-core's own test files (tests/test_ua.yaml and
 * tests/test_os.yaml, from Debian's uap-core package) runs through the
 * plugin; family and major version must agree on at least 99% of the cases,
 * with the regexes the server uses (uap-core from npm).  The figure is
 * printed.  Also: the device class and bot flag on real user agents, client
 * hints, the cache, and hostile input. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "event.h"
#include "loader.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <yaml.h>

#define UAP_TESTS "/usr/share/uap-core/tests"
#define UAP_RESOURCES "/usr/share/uap-core/test_resources"
#define NPM_REGEXES SEULA_SOURCE_DIR "/node_modules/uap-core/regexes.yaml"
#define CRAWLERS                                                               \
	SEULA_SOURCE_DIR                                                       \
	"/node_modules/crawler-user-agents/crawler-user-agents.json"

struct fixture {
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_config cfg;
	struct seula_plugins pl;
	const struct seula_loaded_plugin *ua;
};

static struct fixture *open_plugin(const char *regexes, const char *cache)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	f->env = (struct seula_host_env){&f->log, NULL, NULL, NULL};
	char re[512], cr[512], ca[64], err[1024];
	snprintf(re, sizeof(re), "plugin.useragent.regexes=%s", regexes);
	snprintf(cr, sizeof(cr), "plugin.useragent.crawlers=%s", CRAWLERS);
	snprintf(ca, sizeof(ca), "plugin.useragent.cache_size=%s", cache);
	const char *ov[] = {"plugins.load=useragent", re, cr, ca, NULL};
	assert_int_equal(seula_config_load(&f->cfg, NULL, ov, err, sizeof(err)),
	                 0);
	if (seula_plugins_load(&f->pl, &f->cfg, SEULA_BUILD_PLUGIN_DIR, &f->env,
	                       err, sizeof(err)) != SEULA_OK ||
	    seula_plugins_init(&f->pl, err, sizeof(err)) != SEULA_OK)
		fail_msg("%s", err);
	f->ua = seula_plugins_find(&f->pl, "useragent");
	return f;
}

static void close_plugin(struct fixture *f)
{
	seula_plugins_free(&f->pl);
	seula_config_free(&f->cfg);
	free(f);
}

struct parsed {
	char browser[64], browser_major[16], os[64], os_major[16], device[16];
	int64_t bot;
};

static void parse(struct fixture *f, const char *ua, const char *const *hdrs,
                  struct parsed *out)
{
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	if (ua) {
		seula_event_add_header(ev, "User-Agent", ua);
		const char *kept = seula_event_header(ev, "User-Agent");
		if (kept)
			seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, kept,
			                    strlen(kept));
	}
	for (size_t i = 0; hdrs && hdrs[i]; i += 2)
		seula_event_add_header(ev, hdrs[i], hdrs[i + 1]);
	assert_int_equal(f->ua->desc.on_event(f->ua->instance, ev), SEULA_KEEP);
	const char *s;
	memset(out, 0, sizeof(*out));
#define COPY(dst, field)                                                       \
	if ((s = seula_event_str(ev, field)))                                  \
		snprintf(out->dst, sizeof(out->dst), "%s", s);
	COPY(browser, SEULA_FIELD_BROWSER)
	COPY(browser_major, SEULA_FIELD_BROWSER_VERSION)
	COPY(os, SEULA_FIELD_OS)
	COPY(os_major, SEULA_FIELD_OS_VERSION)
	COPY(device, SEULA_FIELD_DEVICE)
#undef COPY
	seula_event_int(ev, SEULA_FIELD_BOT, &out->bot);
	seula_arena_free(&a);
}

/* Walk test_cases of a uap-core test file; returns cases and matches. */
static void agreement(struct fixture *f, const char *file, bool os,
                      size_t *cases, size_t *agree, size_t *shown)
{
	FILE *in = fopen(file, "rb");
	if (!in)
		fail_msg("%s: missing (Debian package uap-core)", file);
	yaml_parser_t parser;
	yaml_document_t doc;
	assert_true(yaml_parser_initialize(&parser));
	yaml_parser_set_input_file(&parser, in);
	assert_true(yaml_parser_load(&parser, &doc));
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	yaml_node_t *list = NULL;
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++)
		if (strcmp((char *)yaml_document_get_node(&doc, p->key)
		                   ->data.scalar.value,
		           "test_cases") == 0)
			list = yaml_document_get_node(&doc, p->value);
	assert_non_null(list);
	for (yaml_node_item_t *it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		yaml_node_t *m = yaml_document_get_node(&doc, *it);
		const char *ua = NULL, *family = NULL, *major = NULL;
		for (yaml_node_pair_t *p = m->data.mapping.pairs.start;
		     p < m->data.mapping.pairs.top; p++) {
			yaml_node_t *k = yaml_document_get_node(&doc, p->key);
			yaml_node_t *v = yaml_document_get_node(&doc, p->value);
			const char *key = (const char *)k->data.scalar.value;
			const char *val =
			        v->type == YAML_SCALAR_NODE &&
			                        v->data.scalar.length &&
			                        strcmp((char *)v->data.scalar
			                                       .value,
			                               "~") != 0
			                ? (const char *)v->data.scalar.value
			                : NULL;
			if (strcmp(key, "user_agent_string") == 0)
				ua = val;
			else if (strcmp(key, "family") == 0)
				family = val;
			else if (strcmp(key, "major") == 0)
				major = val;
		}
		if (!ua)
			continue;
		struct parsed r;
		parse(f, ua, NULL, &r);
		const char *got_f = os ? r.os : r.browser;
		const char *got_m = os ? r.os_major : r.browser_major;
		(*cases)++;
		if (strcmp(got_f, family ? family : "") == 0 &&
		    strcmp(got_m, major ? major : "") == 0)
			(*agree)++;
		else if (*shown < 8) {
			(*shown)++;
			printf("  differs: %.100s\n    want %s %s, got %s %s\n",
			       ua, family ? family : "-", major ? major : "-",
			       got_f, got_m[0] ? got_m : "-");
		}
	}
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	fclose(in);
}

/* The files uap-core's own test runner reads, per parser. */
static const char *const ua_files[] = {
        UAP_TESTS "/test_ua.yaml",
        UAP_RESOURCES "/firefox_user_agent_strings.yaml",
        UAP_RESOURCES "/opera_mini_user_agent_strings.yaml",
        UAP_RESOURCES "/podcasting_user_agent_strings.yaml",
        UAP_RESOURCES "/pgts_browser_list.yaml",
        NULL,
};
static const char *const os_files[] = {
        UAP_TESTS "/test_os.yaml",
        UAP_RESOURCES "/additional_os_tests.yaml",
        NULL,
};

static double measure(struct fixture *f, const char *const *files, bool os,
                      const char *label)
{
	size_t cases = 0, agree = 0, shown = 0;
	for (size_t i = 0; files[i]; i++)
		agreement(f, files[i], os, &cases, &agree, &shown);
	double pct = 100.0 * (double)agree / (double)cases;
	printf("%s: %s family+major agree on %zu of %zu (%.2f%%)\n", label,
	       os ? "OS" : "browser", agree, cases, pct);
	return pct;
}

static void run_accuracy(const char *regexes, const char *label, double *ua_pct,
                         double *os_pct)
{
	struct fixture *f = open_plugin(regexes, "0");
	*ua_pct = measure(f, ua_files, false, label);
	*os_pct = measure(f, os_files, true, label);
	close_plugin(f);
}

static void accuracy_against_uap_core_tests(void **state)
{
	(void)state;
	double ua, os;
	/* The rules and tests of one release: the engine itself. */
	run_accuracy("/usr/share/uap-core/regexes.yaml",
	             "Debian uap-core rules", &ua, &os);
	assert_true(ua >= 99.0);
	assert_true(os >= 99.0);
	/* The rules the server loads (npm), against the same tests. */
	run_accuracy(NPM_REGEXES, "npm uap-core rules", &ua, &os);
	assert_true(ua >= 99.0);
	assert_true(os >= 99.0);
}

static void device_class_and_bots(void **state)
{
	(void)state;
	struct fixture *f = open_plugin(NPM_REGEXES, "100");
	static const struct {
		const char *ua, *device;
		int bot;
	} cases[] = {
	        {"Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
	         "(KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
	         "desktop", 0},
	        {"Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
	         "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
	         "Safari/605.1.15",
	         "desktop", 0},
	        {"Mozilla/5.0 (X11; Linux x86_64; rv:132.0) Gecko/20100101 "
	         "Firefox/132.0",
	         "desktop", 0},
	        {"Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X) "
	         "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.1 "
	         "Mobile/15E148 Safari/604.1",
	         "mobile", 0},
	        {"Mozilla/5.0 (Linux; Android 14; SM-S918B) AppleWebKit/537.36 "
	         "(KHTML, like Gecko) Chrome/131.0.0.0 Mobile Safari/537.36",
	         "mobile", 0},
	        {"Mozilla/5.0 (iPad; CPU OS 17_6 like Mac OS X) "
	         "AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.6 "
	         "Mobile/15E148 Safari/604.1",
	         "tablet", 0},
	        {"Mozilla/5.0 (Linux; Android 13; SM-X700) AppleWebKit/537.36 "
	         "(KHTML, like Gecko) Chrome/130.0.0.0 Safari/537.36",
	         "tablet", 0},
	        {"Mozilla/5.0 (compatible; Googlebot/2.1; "
	         "+http://www.google.com/bot.html)",
	         "bot", 1},
	        {"Mozilla/5.0 AppleWebKit/537.36 (KHTML, like Gecko; "
	         "compatible; "
	         "bingbot/2.0; +http://www.bing.com/bingbot.htm) "
	         "Chrome/116.0.1938.76 Safari/537.36",
	         "bot", 1},
	        {"Mozilla/5.0 (compatible; AhrefsBot/7.0; "
	         "+http://ahrefs.com/robot/)",
	         "bot", 1},
	        {"python-requests/2.31.0", "bot", 1},
	        {"curl/8.5.0", "bot", 1},
	        {"", "bot", 1},
	        /* Health checks no list names: no browser's agent. */
	        {"kube-probe/1.29", "bot", 1},
	        {"ELB-HealthChecker/2.0", "bot", 1},
	        {"GoogleHC/1.0", "bot", 1},
	        {"Consul Health Check", "bot", 1},
	        /* A browser no pattern knows still presents itself as one. */
	        {"Mozilla/5.0 (X11; Linux x86_64) Gecko/20100101 "
	         "Newbrowser/1.0",
	         "desktop", 0},
	        {"Opera/9.80 (Windows NT 6.1) Presto/2.12.388 Version/12.16",
	         "desktop", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct parsed r;
		parse(f, cases[i].ua, NULL, &r);
		if (strcmp(r.device, cases[i].device) != 0 ||
		    r.bot != cases[i].bot)
			fail_msg("%s: got %s bot=%d", cases[i].ua, r.device,
			         (int)r.bot);
	}
	/* No user agent at all is a script, not a visitor. */
	struct parsed r;
	parse(f, NULL, NULL, &r);
	assert_int_equal(r.bot, 1);
	close_plugin(f);
}

static void client_hints_refine(void **state)
{
	(void)state;
	struct fixture *f = open_plugin(NPM_REGEXES, "100");
	/* Chrome's reduced user agent says Windows 10 even on 11; the
	 * platform version says which. */
	const char *win11[] = {
	        "Sec-CH-UA",
	        "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", "
	        "\"Not_A Brand\";v=\"24\"",
	        "Sec-CH-UA-Mobile",
	        "?0",
	        "Sec-CH-UA-Platform",
	        "\"Windows\"",
	        "Sec-CH-UA-Platform-Version",
	        "\"15.0.0\"",
	        NULL};
	struct parsed r;
	const char *reduced = "Mozilla/5.0 (Windows NT 10.0; Win64; x64) "
	                      "AppleWebKit/537.36 (KHTML, like Gecko) "
	                      "Chrome/131.0.0.0 Safari/537.36";
	parse(f, reduced, win11, &r);
	assert_string_equal(r.browser, "Chrome");
	assert_string_equal(r.browser_major, "131");
	assert_string_equal(r.os, "Windows");
	assert_string_equal(r.os_major, "11");
	assert_string_equal(r.device, "desktop");
	/* Without hints the same agent reads as Windows 10: the cache keys
	 * on the hints too. */
	parse(f, reduced, NULL, &r);
	assert_string_equal(r.os_major, "10");
	/* Chrome on an Android phone is "Chrome Mobile" with its hints
	 * as without them. */
	const char *android[] = {
	        "Sec-CH-UA",
	        "\"Google Chrome\";v=\"131\", \"Chromium\";v=\"131\", "
	        "\"Not_A Brand\";v=\"24\"",
	        "Sec-CH-UA-Mobile",
	        "?1",
	        "Sec-CH-UA-Platform",
	        "\"Android\"",
	        NULL};
	const char *phone = "Mozilla/5.0 (Linux; Android 10; K) "
	                    "AppleWebKit/537.36 (KHTML, like Gecko) "
	                    "Chrome/131.0.0.0 Mobile Safari/537.36";
	parse(f, phone, NULL, &r);
	assert_string_equal(r.browser, "Chrome Mobile");
	parse(f, phone, android, &r);
	assert_string_equal(r.browser, "Chrome Mobile");
	assert_string_equal(r.browser_major, "131");
	assert_string_equal(r.device, "mobile");
	/* Edge names itself in the brand list; GREASE is skipped. */
	const char *edge[] = {
	        "Sec-CH-UA",
	        "\"Not/A)Brand\";v=\"8\", \"Chromium\";v=\"126\", "
	        "\"Microsoft Edge\";v=\"126\"",
	        "Sec-CH-UA-Mobile",
	        "?1",
	        "Sec-CH-UA-Platform",
	        "\"Android\"",
	        NULL};
	parse(f,
	      "Mozilla/5.0 (Linux; Android 10; K) AppleWebKit/537.36 "
	      "(KHTML, like Gecko) Chrome/126.0.0.0 Mobile Safari/537.36",
	      edge, &r);
	assert_string_equal(r.browser, "Edge");
	assert_string_equal(r.browser_major, "126");
	assert_string_equal(r.os, "Android");
	assert_string_equal(r.device, "mobile");
	/* Android's WebView names itself beside Chromium: an in-app
	 * browser stays what its user agent says, not "Chromium". */
	const char *webview[] = {
	        "Sec-CH-UA",
	        "\"Android WebView\";v=\"131\", \"Chromium\";v=\"131\", "
	        "\"Not_A Brand\";v=\"24\"",
	        "Sec-CH-UA-Mobile",
	        "?1",
	        "Sec-CH-UA-Platform",
	        "\"Android\"",
	        NULL};
	parse(f,
	      "Mozilla/5.0 (Linux; Android 14; Pixel 8 Build/AP2A.240805.005; "
	      "wv) AppleWebKit/537.36 (KHTML, like Gecko) Version/4.0 "
	      "Chrome/131.0.6778.135 Mobile Safari/537.36 "
	      "[FB_IAB/FB4A;FBAV/475.0.0.44.109;]",
	      webview, &r);
	assert_string_equal(r.browser, "Facebook");
	assert_string_equal(r.browser_major, "475");
	assert_string_equal(r.device, "mobile");
	/* Chromium alone is the browser the hints name, old GREASE or
	 * new. */
	const char *chromium[] = {"Sec-CH-UA",
	                          "\" Not A;Brand\";v=\"99\", "
	                          "\"Chromium\";v=\"131\", \"Not_A "
	                          "Brand\";v=\"24\"",
	                          NULL};
	parse(f, reduced, chromium, &r);
	assert_string_equal(r.browser, "Chromium");
	/* macOS's real version from the hints. */
	const char *mac[] = {"Sec-CH-UA-Platform", "\"macOS\"",
	                     "Sec-CH-UA-Platform-Version", "\"14.6.1\"", NULL};
	parse(f,
	      "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) "
	      "AppleWebKit/537.36 (KHTML, like Gecko) Chrome/128.0.0.0 "
	      "Safari/537.36",
	      mac, &r);
	assert_string_equal(r.os, "Mac OS X");
	assert_string_equal(r.os_major, "14");
	/* Garbage hints change nothing and break nothing. */
	const char *junk[] = {
	        "Sec-CH-UA", "\"unterminated",     "Sec-CH-UA-Mobile",
	        "?x",        "Sec-CH-UA-Platform", "Windows",
	        NULL};
	parse(f, reduced, junk, &r);
	assert_string_equal(r.browser, "Chrome");
	assert_string_equal(r.os, "Windows");
	/* Brands and platforms no browser sends are the client's text, not
	 * a browser or an OS: the user agent says (the review stored an
	 * <img> tag as a browser and an address as an OS). */
	const char *made_up[] = {
	        "Sec-CH-UA",
	        "\"<img src=x onerror=alert(1)>\";v=\"999999999999999\"",
	        "Sec-CH-UA-Platform", "\"ann@example.com\"", NULL};
	parse(f, reduced, made_up, &r);
	assert_string_equal(r.browser, "Chrome");
	assert_string_equal(r.browser_major, "131");
	assert_string_equal(r.os, "Windows");
	const char *long_major[] = {"Sec-CH-UA",
	                            "\"Google Chrome\";v=\"1310000\"", NULL};
	parse(f, reduced, long_major, &r);
	assert_string_equal(r.browser, "Chrome");
	assert_string_equal(r.browser_major, "131");
	close_plugin(f);
}

static void hostile_input_is_bounded(void **state)
{
	(void)state;
	struct fixture *f = open_plugin(NPM_REGEXES, "100");
	/* The server cuts headers at 1 KiB; the plugin must cope with
	 * anything up to that, fast. */
	char ua[1100];
	const char *shapes[] = {"(",      "a",   "Mozilla/5.0 (", "; Android ",
	                        "Build/", ")(;", "iPhone OS 1_"};
	struct timespec t0, t1;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (size_t s = 0; s < sizeof(shapes) / sizeof(*shapes); s++) {
		size_t n = 0, l = strlen(shapes[s]);
		while (n + l < 1024) {
			memcpy(ua + n, shapes[s], l);
			n += l;
		}
		ua[n] = '\0';
		struct parsed r;
		parse(f, ua, NULL, &r);
		assert_true(r.browser[0] != '\0');
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	double ms = (double)(t1.tv_sec - t0.tv_sec) * 1e3 +
	            (double)(t1.tv_nsec - t0.tv_nsec) / 1e6;
	printf("7 hostile 1 KiB user agents parsed in %.1f ms\n", ms);
	assert_true(ms < 5000);
	close_plugin(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(accuracy_against_uap_core_tests),
	        cmocka_unit_test(device_class_and_bots),
	        cmocka_unit_test(client_hints_refine),
	        cmocka_unit_test(hostile_input_is_bounded),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
