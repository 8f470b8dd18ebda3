/*
 * analytics_bench.c - the analytics plugin at ten million events: how fast
 * the writer stores a year of synthetic traffic with and without the plugin,
 * and how long every report takes on the result.
 *
 * The events go the production way: built in a job's arena with the setters
 * as the collect handler builds them (after the enrich and protect stages:
 * country, browser, OS, device, traffic source and the cookieless hash are
 * set as those plugins set them), submitted to seula_store_submit(), stored
 * by the writer thread in the events table and handed to the analytics
 * plugin's on_batch (loaded by the server's own loader, from PLUGIN_DIR) in
 * the same transaction.  A libevent loop stands in for the server's
 * event-loop thread and keeps IN_FLIGHT jobs of PER_JOB events submitted.
 *
 * Visits end in the plugin's close task, which the server runs every second
 * with the wall clock.  Here the clock is the traffic's, the plugin's
 * host's too (host->now_ms: when a visit was last added to, which the
 * close task compares): the store's own
 * task runs are held (seula_store_hold_tasks) and the harness runs the
 * plugin's task itself through the writer (a SEULA_JOB_CALL job, inside the
 * writer's transaction, as the store runs tasks) every task interval of
 * traffic time, with `now` the time of the newest committed event; at the
 * end of the stream runs with a `now` a day later (a minute more each)
 * close the visits still open, so every visit is in the rollups.
 *
 * The traffic (deterministic, seeded): 2025 in UTC; visits arrive with a
 * daily, weekly and yearly cycle and a growth trend; ~3 page views a visit
 * (one plus a geometric tail), engagement for half of the page views, a
 * custom event (5 names, with properties) for 6% of them; 30% of the visits
 * by a visitor seen before (recent ones more likely); 30% of visitors with a
 * consented visitor id, the others with a cookieless hash that changes every
 * day, as the anonymize plugin's does; ~2,000 paths with a Zipf skew; direct,
 * search (mostly Google), social, email and a long tail of ~600 referring
 * sites; UTM campaigns on 5% of visits; ~60 countries, browsers, OS, devices
 * and screen widths that go together; languages by country; 2% of visits by
 * bots.
 *
 * Then the reports (query.c's analytics_report(), linked in, on a read-only
 * connection with analytics_sql_register() and a helper connection for
 * its second thread, as the /api/stats routes call it): summary, timeseries,
 * breakdown and goals over a day, a month and the year, unfiltered, with one
 * filter ad hoc, with the segment's, with two ad hoc, with a goal and with
 * an hour of the day; the median and max of
 * RUNS runs (fewer when a line has taken 10 s), PASS under 50 ms.
 *
 * Build and run: `tests/bench/run.sh analytics` does both, after the
 * release build (its compile line names the plugin's sources it links).
 * By hand: ./analytics_bench WORKDIR PLUGIN_DIR
 *
 * Environment: BENCH_ANALYTICS_EVENTS (10000000), BENCH_ANALYTICS_RUNS (20),
 * BENCH_ANALYTICS_BASELINE (1: also load the same events without the plugin
 * first; 0: skip that), BENCH_ANALYTICS_SYNC (full), and for experiments
 * BENCH_ANALYTICS_CACHE_KIB (unset: the writer's page cache as the server
 * has it; N: PRAGMA cache_size = -N on the writer's connection first), and
 * BENCH_ANALYTICS_DB (a database an earlier run kept: time the reports on
 * it, load nothing), BENCH_ANALYTICS_ONLY (the report lines to time:
 * "report/range/filter", each part a prefix, e.g. "breakdown page/year"),
 * BENCH_ANALYTICS_SEGMENTS (the plugin's segments; unset: demo:device==desktop,
 * empty: none), BENCH_ANALYTICS_THREADS (1: reports without the helper, on one
 * thread), BENCH_ANALYTICS_BLOCK_CACHE_MB (the plugin's block_cache_mb,
 * 256 as its default, and a quarter as much for the groups' log chunks;
 * 0: blocks read from SQLite every time, chunks freed), BENCH_ANALYTICS_WARM
 * (0: no warm-up of the block cache before the reports, which the server
 * does at a start).  WORKDIR gets the
 * databases, removed at the end unless BENCH_ANALYTICS_KEEP=1.
 */
#include "blockcache.h"
#include "blocks.h"
#include "completion.h"
#include "config.h"
#include "contentgroups.h"
#include "db.h"
#include "event.h"
#include "groups.h"
#include "host.h"
#include "loader.h"
#include "log.h"
#include "query.h"
#include "store.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <math.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define Y2025_MS 1735689600000LL /* 2025-01-01T00:00:00Z */
#define YEAR_MS (365LL * 86400 * 1000)
#define PER_JOB 50
#define IN_FLIGHT 64
#define LIMIT_MS 50.0

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void die(const char *what, const char *detail)
{
	fprintf(stderr, "analytics_bench: %s%s%s\n", what, detail ? ": " : "",
	        detail ? detail : "");
	exit(1);
}

static void check(int rc, const char *what)
{
	if (rc != SEULA_OK) {
		char code[32];
		snprintf(code, sizeof(code), "error %d", rc);
		die(what, code);
	}
}

/* ---- random numbers (xoshiro256**, seeded by splitmix64) ---------------- */

static uint64_t rng_s[4];

static uint64_t splitmix(uint64_t *x)
{
	uint64_t z = (*x += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static void rng_seed(uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		rng_s[i] = splitmix(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

static uint64_t rnd64(void)
{
	uint64_t r = rotl(rng_s[1] * 5, 7) * 9, t = rng_s[1] << 17;
	rng_s[2] ^= rng_s[0];
	rng_s[3] ^= rng_s[1];
	rng_s[1] ^= rng_s[2];
	rng_s[0] ^= rng_s[3];
	rng_s[2] ^= t;
	rng_s[3] = rotl(rng_s[3], 45);
	return r;
}

/* Uniform in [0, 1). */
static double unif(void)
{
	return (double)(rnd64() >> 11) * 0x1.0p-53;
}

static int below(int n)
{
	return (int)(unif() * n);
}

static double normal(void)
{
	double u = unif(), v = unif();
	return sqrt(-2.0 * log(1.0 - u)) * cos(2.0 * M_PI * v);
}

/* An index drawn by the weights w[0..n). */
static int pick_w(const double *w, int n)
{
	double total = 0;
	for (int i = 0; i < n; i++)
		total += w[i];
	double r = unif() * total;
	for (int i = 0; i < n; i++) {
		r -= w[i];
		if (r < 0)
			return i;
	}
	return n - 1;
}

/* A Zipf distribution over n ranks: a cumulative table, binary search. */
struct zipf {
	double *cdf;
	int n;
};

static void zipf_init(struct zipf *z, int n, double s)
{
	z->n = n;
	z->cdf = malloc((size_t)n * sizeof(double));
	if (!z->cdf)
		die("malloc", "out of memory");
	double sum = 0;
	for (int i = 0; i < n; i++) {
		sum += 1.0 / pow(i + 1.0, s);
		z->cdf[i] = sum;
	}
	for (int i = 0; i < n; i++)
		z->cdf[i] /= sum;
}

static int zipf_draw(const struct zipf *z)
{
	double r = unif();
	int lo = 0, hi = z->n - 1;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		if (z->cdf[mid] < r)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* ---- the world: pages, places, software, sources ------------------------ */

#define N_PAGES 2000
#define N_SITES 600

static char page_path[N_PAGES][48];
static char page_title[N_PAGES][64];
static struct zipf page_zipf, site_zipf, campaign_zipf;

static void make_pages(void)
{
	static const char *const top[] = {
	        "/",       "/pricing", "/blog/", "/docs/",    "/about",
	        "/signup", "/contact", "/login", "/features", "/careers"};
	int n_top = (int)(sizeof(top) / sizeof(top[0]));
	for (int i = 0; i < N_PAGES; i++) {
		if (i < n_top)
			snprintf(page_path[i], sizeof(page_path[i]), "%s",
			         top[i]);
		else if (i % 4 == 0)
			snprintf(page_path[i], sizeof(page_path[i]),
			         "/docs/guide/chapter-%d", i / 4);
		else if (i % 4 == 1)
			snprintf(page_path[i], sizeof(page_path[i]),
			         "/blog/post-%d", i);
		else if (i % 4 == 2)
			snprintf(page_path[i], sizeof(page_path[i]),
			         "/products/item-%04d", i * 37 % 10000);
		else
			snprintf(page_path[i], sizeof(page_path[i]),
			         "/blog/tag/topic-%d", i);
		snprintf(page_title[i], sizeof(page_title[i]),
		         "Sivu %d – Example", i);
	}
	zipf_init(&page_zipf, N_PAGES, 1.05);
	zipf_init(&site_zipf, N_SITES, 1.0);
}

struct country {
	const char *code;
	double weight;
	const char *langs[3];
	double lang_w[3];
};

static const struct country countries[] = {
        {"FI", 28, {"fi-FI", "en-US", "sv-FI"}, {75, 15, 10}},
        {"US", 14, {"en-US", "es-US", NULL}, {92, 8, 0}},
        {"SE", 7, {"sv-SE", "en-US", NULL}, {85, 15, 0}},
        {"DE", 7, {"de-DE", "en-US", NULL}, {88, 12, 0}},
        {"GB", 6, {"en-GB", "en-US", NULL}, {80, 20, 0}},
        {"EE", 3, {"et-EE", "ru-RU", "en-US"}, {70, 20, 10}},
        {"NL", 3, {"nl-NL", "en-US", NULL}, {80, 20, 0}},
        {"FR", 3, {"fr-FR", "en-US", NULL}, {90, 10, 0}},
        {"IN", 3, {"en-IN", "en-US", "hi-IN"}, {60, 30, 10}},
        {"NO", 2, {"nb-NO", "en-US", NULL}, {85, 15, 0}},
        {"DK", 2, {"da-DK", "en-US", NULL}, {85, 15, 0}},
        {"CA", 2, {"en-CA", "fr-CA", NULL}, {80, 20, 0}},
        {"PL", 2, {"pl-PL", "en-US", NULL}, {88, 12, 0}},
        {"ES", 2, {"es-ES", "en-US", NULL}, {90, 10, 0}},
        {"IT", 2, {"it-IT", "en-US", NULL}, {90, 10, 0}},
        {"JP", 1.5, {"ja-JP", "en-US", NULL}, {92, 8, 0}},
        {"BR", 1.5, {"pt-BR", "en-US", NULL}, {92, 8, 0}},
        {"AU", 1.2, {"en-AU", "en-US", NULL}, {80, 20, 0}},
        {"CH", 1, {"de-CH", "fr-CH", "en-US"}, {60, 25, 15}},
        {"AT", 1, {"de-AT", "en-US", NULL}, {88, 12, 0}},
        {"BE", 1, {"nl-BE", "fr-BE", NULL}, {55, 45, 0}},
        {"IE", 0.8, {"en-IE", "en-GB", NULL}, {70, 30, 0}},
        {"UA", 0.8, {"uk-UA", "ru-RU", NULL}, {75, 25, 0}},
        {"CN", 0.7, {"zh-CN", "en-US", NULL}, {90, 10, 0}},
        {"MX", 0.6, {"es-MX", "en-US", NULL}, {90, 10, 0}},
        {"KR", 0.5, {"ko-KR", "en-US", NULL}, {92, 8, 0}},
        {"CZ", 0.4, {"cs-CZ", NULL, NULL}, {1, 0, 0}},
        {"PT", 0.4, {"pt-PT", NULL, NULL}, {1, 0, 0}},
        {"LT", 0.4, {"lt-LT", NULL, NULL}, {1, 0, 0}},
        {"LV", 0.4, {"lv-LV", NULL, NULL}, {1, 0, 0}},
        {"HU", 0.3, {"hu-HU", NULL, NULL}, {1, 0, 0}},
        {"RO", 0.3, {"ro-RO", NULL, NULL}, {1, 0, 0}},
        {"GR", 0.3, {"el-GR", NULL, NULL}, {1, 0, 0}},
        {"TR", 0.3, {"tr-TR", NULL, NULL}, {1, 0, 0}},
        {"IL", 0.3, {"he-IL", NULL, NULL}, {1, 0, 0}},
        {"SG", 0.3, {"en-SG", NULL, NULL}, {1, 0, 0}},
        {"NZ", 0.3, {"en-NZ", NULL, NULL}, {1, 0, 0}},
        {"ZA", 0.3, {"en-ZA", NULL, NULL}, {1, 0, 0}},
        {"AR", 0.2, {"es-AR", NULL, NULL}, {1, 0, 0}},
        {"CL", 0.2, {"es-CL", NULL, NULL}, {1, 0, 0}},
        {"CO", 0.2, {"es-CO", NULL, NULL}, {1, 0, 0}},
        {"SK", 0.2, {"sk-SK", NULL, NULL}, {1, 0, 0}},
        {"SI", 0.2, {"sl-SI", NULL, NULL}, {1, 0, 0}},
        {"IS", 0.2, {"is-IS", NULL, NULL}, {1, 0, 0}},
        {"AE", 0.2, {"ar-AE", "en-US", NULL}, {50, 50, 0}},
        {"HK", 0.2, {"zh-HK", NULL, NULL}, {1, 0, 0}},
        {"TW", 0.2, {"zh-TW", NULL, NULL}, {1, 0, 0}},
        {"TH", 0.2, {"th-TH", NULL, NULL}, {1, 0, 0}},
        {"VN", 0.2, {"vi-VN", NULL, NULL}, {1, 0, 0}},
        {"ID", 0.2, {"id-ID", NULL, NULL}, {1, 0, 0}},
        {"MY", 0.2, {"ms-MY", NULL, NULL}, {1, 0, 0}},
        {"PH", 0.2, {"en-PH", NULL, NULL}, {1, 0, 0}},
        {"NG", 0.15, {"en-NG", NULL, NULL}, {1, 0, 0}},
        {"EG", 0.15, {"ar-EG", NULL, NULL}, {1, 0, 0}},
        {"KE", 0.15, {"en-KE", NULL, NULL}, {1, 0, 0}},
        {"MA", 0.15, {"fr-MA", NULL, NULL}, {1, 0, 0}},
        {"RS", 0.15, {"sr-RS", NULL, NULL}, {1, 0, 0}},
        {"HR", 0.15, {"hr-HR", NULL, NULL}, {1, 0, 0}},
        {"BG", 0.15, {"bg-BG", NULL, NULL}, {1, 0, 0}},
        {"PK", 0.15, {"en-PK", NULL, NULL}, {1, 0, 0}},
};
#define N_COUNTRIES ((int)(sizeof(countries) / sizeof(countries[0])))

/* Software that goes together: device, OS, browser, screen widths. */
struct platform {
	const char *device, *os, *os_version, *browser, *browser_version;
	double weight; /* within its device */
};

static const struct platform platforms[] = {
        {"desktop", "Windows", "10", "Chrome", "131", 40},
        {"desktop", "Windows", "10", "Edge", "131", 12},
        {"desktop", "Windows", "10", "Firefox", "133", 7},
        {"desktop", "Windows", "10", "Opera", "114", 2},
        {"desktop", "Mac OS X", "10.15", "Safari", "18", 13},
        {"desktop", "Mac OS X", "10.15", "Chrome", "131", 12},
        {"desktop", "Mac OS X", "10.15", "Firefox", "133", 3},
        {"desktop", "Linux", NULL, "Firefox", "128", 4},
        {"desktop", "Linux", NULL, "Chrome", "131", 4},
        {"desktop", "Chrome OS", "14541", "Chrome", "130", 3},
        {"mobile", "iOS", "18.1", "Mobile Safari", "18", 38},
        {"mobile", "iOS", "17.6", "Mobile Safari", "17", 8},
        {"mobile", "iOS", "18.1", "Chrome Mobile iOS", "131", 6},
        {"mobile", "Android", "14", "Chrome Mobile", "131", 33},
        {"mobile", "Android", "10", "Samsung Internet", "26", 10},
        {"mobile", "Android", "14", "Firefox Mobile", "133", 2},
        {"mobile", "Android", "13", "Chrome Mobile WebView", "131", 3},
        {"tablet", "iOS", "17.7", "Mobile Safari", "17", 70},
        {"tablet", "Android", "13", "Chrome Mobile", "131", 30},
};
#define N_PLATFORMS ((int)(sizeof(platforms) / sizeof(platforms[0])))

static const int desktop_w[] = {1920, 1536, 1366, 1440, 2560, 1280, 1680};
static const double desktop_ww[] = {35, 18, 12, 12, 10, 7, 6};
static const int mobile_w[] = {390, 393, 414, 360, 375, 412, 430};
static const double mobile_ww[] = {25, 15, 12, 15, 10, 15, 8};
static const int tablet_w[] = {820, 768, 810, 1024, 800};
static const double tablet_ww[] = {30, 25, 20, 15, 10};

struct source {
	const char *url, *channel, *name;
	double weight;
};

/* Referrers of visits that do not come from a campaign or the long tail. */
static const struct source sources[] = {
        {NULL, "direct", NULL, 38},
        {"https://www.google.com/", "search", "Google", 24},
        {"https://www.google.fi/", "search", "Google", 6.5},
        {"https://www.bing.com/", "search", "Bing", 2.5},
        {"https://duckduckgo.com/", "search", "DuckDuckGo", 1.8},
        {"https://www.ecosia.org/", "search", "Ecosia", 0.6},
        {"https://search.brave.com/", "search", "Brave", 0.6},
        {"https://www.facebook.com/", "social", "Facebook", 1.6},
        {"https://l.facebook.com/", "social", "Facebook", 1.1},
        {"https://www.linkedin.com/", "social", "LinkedIn", 2.2},
        {"https://www.reddit.com/", "social", "Reddit", 1.4},
        {"https://t.co/", "social", "Twitter", 1.1},
        {"https://mastodon.social/", "social", "Mastodon", 0.9},
        {"https://www.youtube.com/", "social", "YouTube", 0.7},
        {"https://mail.google.com/", "email", "Gmail", 1.2},
        {"https://outlook.live.com/", "email", "Outlook.com", 0.8},
        {"https://news.ycombinator.com/", "social", "Hacker News", 1.0},
};
#define N_SOURCES ((int)(sizeof(sources) / sizeof(sources[0])))
/* Share of non-campaign visits from the long tail of websites. */
#define TAIL_SHARE 0.15

struct campaign {
	const char *source, *medium, *name, *term, *referrer;
};

static struct campaign campaigns[30];
static char campaign_names[30][40];

static void make_campaigns(void)
{
	static const struct campaign kinds[] = {
	        {"newsletter", "email", NULL, NULL, NULL},
	        {"google", "cpc", NULL, "web analytics",
	         "https://www.google.com/"},
	        {"linkedin", "social", NULL, NULL, "https://www.linkedin.com/"},
	        {"facebook", "paid_social", NULL, NULL,
	         "https://l.facebook.com/"},
	        {"mastodon", "social", NULL, NULL, "https://mastodon.social/"},
	        {"partner", "referral", NULL, NULL,
	         "https://partner.example.net/"},
	};
	for (int i = 0; i < 30; i++) {
		campaigns[i] = kinds[i % 6];
		snprintf(campaign_names[i], sizeof(campaign_names[i]),
		         "2025-%02d-%s", 1 + i % 12,
		         i % 3 == 0   ? "launch"
		         : i % 3 == 1 ? "spring-sale"
		                      : "webinar");
		campaigns[i].name = campaign_names[i];
	}
	zipf_init(&campaign_zipf, 30, 0.9);
}

struct custom {
	const char *name;
	double weight;
	const char *props[6];
	double props_w[6];
};

static const struct custom customs[] = {
        {"signup",
         25,
         {"{\"plan\":\"free\"}", "{\"plan\":\"pro\"}",
          "{\"plan\":\"team\",\"seats\":5}"},
         {60, 30, 10}},
        {"download",
         25,
         {"{\"file\":\"seula-1.4.2.tar.gz\"}",
          "{\"file\":\"seula-1.4.1.tar.gz\"}", "{\"file\":\"whitepaper.pdf\"}",
          "{\"file\":\"pricing.pdf\"}", "{\"file\":\"seula_1.4.2_amd64.deb\"}"},
         {35, 10, 20, 15, 20}},
        {"outbound",
         25,
         {"{\"to\":\"github.com\"}", "{\"to\":\"codeberg.org\"}",
          "{\"to\":\"twitter.com\"}", "{\"to\":\"linkedin.com\"}",
          "{\"to\":\"docs.example.org\"}", "{\"to\":\"status.example.com\"}"},
         {40, 10, 10, 10, 20, 10}},
        {"newsletter", 15, {"{}"}, {1}},
        {"search",
         10,
         {"{\"results\":\"0\"}", "{\"results\":\"1-10\"}",
          "{\"results\":\"11-100\"}"},
         {15, 55, 30}},
};
#define N_CUSTOMS ((int)(sizeof(customs) / sizeof(customs[0])))

/* Goals the plugin is configured with (run.sh's and the README's). */
static const char goals_ini[] =
        "demo:event:signup, demo:event:download, demo:page:/pricing, "
        "demo:page:/docs/*";

/* A segment the plugin is configured with: its reports are pre-processed
 * (query.h), where "device==mobile" is read from the visits. */
static const char segment_ini[] = "demo:device==desktop";

/* ---- traffic over time -------------------------------------------------- */

static const double hour_w[24] = {
        0.30, 0.22, 0.18, 0.17, 0.22, 0.40, 0.70, 0.95, 1.05, 1.10, 1.05, 1.00,
        1.00, 1.05, 1.05, 1.00, 0.95, 0.95, 1.00, 0.95, 0.80, 0.65, 0.50, 0.40};
/* Monday first; 2025-01-01 was a Wednesday. */
static const double weekday_w[7] = {1.00, 1.05, 1.05, 1.00, 0.92, 0.65, 0.72};
static const double month_w[12] = {1.00, 1.02, 1.05, 1.00, 0.98, 0.90,
                                   0.72, 0.95, 1.08, 1.10, 1.12, 0.85};

/* The relative visit rate in the UTC hour starting at ms. */
static double shape(int64_t ms)
{
	int64_t h = (ms - Y2025_MS) / 3600000;
	int64_t day = h / 24;
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	double trend = 1.0 + 0.3 * (double)(ms - Y2025_MS) / (double)YEAR_MS;
	return hour_w[h % 24] * weekday_w[(day + 2) % 7] * month_w[tm.tm_mon] *
	       trend;
}

/* ---- visitors and visits ------------------------------------------------ */

struct visitor {
	uint64_t id;
	uint8_t country, lang, platform, consented;
	uint16_t width, height;
};

#define RING (1u << 20)
static struct visitor *ring;
static uint64_t ring_n;

/* One event of a visit, planned when the visit starts. */
struct planned {
	int64_t t;
	uint8_t type; /* enum seula_event_type */
	uint8_t custom, prop, first;
	uint16_t page;
	uint32_t eng_ms;
};

#define MAX_PLANNED 160

struct visit {
	struct visitor who;
	int bot;
	int src;      /* sources[] index, -1: long tail, -2: campaign */
	int site;     /* long tail: its index */
	int campaign; /* campaigns[] index */
	int n, next;
	struct planned ev[MAX_PLANNED];
};

/* The visits in progress, a min-heap by their next event's time. */
static struct visit **heap;
static int heap_n, heap_cap;

static int64_t key_of(const struct visit *v)
{
	return v->ev[v->next].t;
}

static void heap_push(struct visit *v)
{
	if (heap_n == heap_cap) {
		heap_cap = heap_cap ? heap_cap * 2 : 256;
		heap = realloc(heap, (size_t)heap_cap * sizeof(*heap));
		if (!heap)
			die("realloc", "out of memory");
	}
	int i = heap_n++;
	while (i > 0 && key_of(heap[(i - 1) / 2]) > key_of(v)) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = v;
}

static struct visit *heap_pop(void)
{
	struct visit *top = heap[0], *last = heap[--heap_n];
	int i = 0;
	for (;;) {
		int c = 2 * i + 1;
		if (c >= heap_n)
			break;
		if (c + 1 < heap_n && key_of(heap[c + 1]) < key_of(heap[c]))
			c++;
		if (key_of(heap[c]) >= key_of(last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (heap_n)
		heap[i] = last;
	return top;
}

/* Free visits, reused. */
static struct visit **pool;
static int pool_n, pool_cap;

static struct visit *visit_new(void)
{
	if (pool_n)
		return pool[--pool_n];
	struct visit *v = malloc(sizeof(*v));
	if (!v)
		die("malloc", "out of memory");
	return v;
}

static void visit_free(struct visit *v)
{
	if (pool_n == pool_cap) {
		pool_cap = pool_cap ? pool_cap * 2 : 256;
		pool = realloc(pool, (size_t)pool_cap * sizeof(*pool));
		if (!pool)
			die("realloc", "out of memory");
	}
	pool[pool_n++] = v;
}

static void new_visitor(struct visitor *w)
{
	static double cw[N_COUNTRIES], pw[N_PLATFORMS];
	static int ready;
	if (!ready) {
		for (int i = 0; i < N_COUNTRIES; i++)
			cw[i] = countries[i].weight;
		ready = 1;
	}
	memset(w, 0, sizeof(*w));
	w->id = rnd64();
	w->country = (uint8_t)pick_w(cw, N_COUNTRIES);
	w->lang = (uint8_t)pick_w(countries[w->country].lang_w, 3);
	w->consented = unif() < 0.30;
	double r = unif();
	const char *device = r < 0.52   ? "desktop"
	                     : r < 0.95 ? "mobile"
	                                : "tablet";
	for (int i = 0; i < N_PLATFORMS; i++)
		pw[i] = strcmp(platforms[i].device, device) == 0
		                ? platforms[i].weight
		                : 0;
	w->platform = (uint8_t)pick_w(pw, N_PLATFORMS);
	if (device[0] == 'd') {
		w->width = (uint16_t)desktop_w[pick_w(desktop_ww, 7)];
		w->height = (uint16_t)(w->width * 9 / 16);
	} else if (device[0] == 'm') {
		w->width = (uint16_t)mobile_w[pick_w(mobile_ww, 7)];
		w->height = (uint16_t)(w->width * 13 / 6);
	} else {
		w->width = (uint16_t)tablet_w[pick_w(tablet_ww, 5)];
		w->height = (uint16_t)(w->width * 4 / 3);
	}
}

/* Seconds on a page: log-normal around 25 s, 2 s to 20 min. */
static double time_on_page(void)
{
	double s = exp(log(25.0) + 1.3 * normal());
	return s < 2 ? 2 : s > 1200 ? 1200 : s;
}

static int cmp_planned(const void *a, const void *b)
{
	const struct planned *x = a, *y = b;
	return (x->t > y->t) - (x->t < y->t);
}

/* Plan a visit starting at t. */
static struct visit *plan_visit(int64_t t)
{
	struct visit *v = visit_new();
	v->n = v->next = 0;
	v->bot = unif() < 0.02;
	v->src = 0;
	v->site = 0;
	v->campaign = 0;
	if (v->bot) {
		memset(&v->who, 0, sizeof(v->who));
		v->who.id = rnd64();
		int pages = 1 + below(6);
		for (int i = 0; i < pages; i++) {
			struct planned *p = &v->ev[v->n++];
			memset(p, 0, sizeof(*p));
			p->t = t;
			p->type = SEULA_EVENT_PAGEVIEW;
			p->page = (uint16_t)below(N_PAGES);
			p->first = i == 0;
			t += 1000 + below(5000);
		}
		return v;
	}
	bool returning = ring_n > 0 && unif() < 0.30;
	if (returning) {
		uint64_t filled = ring_n < RING ? ring_n : RING;
		double u = unif();
		uint64_t back =
		        1 + (uint64_t)((double)(filled - 1) * u * u * u * u);
		v->who = ring[(ring_n - back) % RING];
	} else {
		new_visitor(&v->who);
		ring[ring_n++ % RING] = v->who;
	}
	/* Where it comes from. */
	if (unif() < 0.05) {
		v->src = -2;
		v->campaign = zipf_draw(&campaign_zipf);
	} else if (unif() < (returning ? 0.05 : TAIL_SHARE)) {
		v->src = -1;
		v->site = zipf_draw(&site_zipf);
	} else {
		static double sw[N_SOURCES];
		for (int i = 0; i < N_SOURCES; i++)
			sw[i] = sources[i].weight;
		if (returning)
			sw[0] *= 2; /* returning visitors come direct more */
		v->src = pick_w(sw, N_SOURCES);
	}
	/* Page views: one, then a geometric tail (mean 3 in all). */
	int pages = 1;
	while (pages < 60 && unif() < 2.0 / 3.0)
		pages++;
	int page = zipf_draw(&page_zipf);
	for (int i = 0; i < pages && v->n + 3 <= MAX_PLANNED; i++) {
		struct planned *p = &v->ev[v->n++];
		memset(p, 0, sizeof(*p));
		p->t = t;
		p->type = SEULA_EVENT_PAGEVIEW;
		p->page = (uint16_t)page;
		p->first = i == 0;
		double top = time_on_page();
		if (unif() < 0.06) {
			struct planned *c = &v->ev[v->n++];
			memset(c, 0, sizeof(*c));
			static double kw[N_CUSTOMS];
			for (int k = 0; k < N_CUSTOMS; k++)
				kw[k] = customs[k].weight;
			c->type = SEULA_EVENT_CUSTOM;
			c->custom = (uint8_t)pick_w(kw, N_CUSTOMS);
			c->prop =
			        (uint8_t)pick_w(customs[c->custom].props_w, 6);
			c->page = (uint16_t)page;
			c->t = t + (int64_t)(unif() * top * 1000.0) + 1;
		}
		if (unif() < 0.5) {
			struct planned *e = &v->ev[v->n++];
			memset(e, 0, sizeof(*e));
			e->type = SEULA_EVENT_ENGAGEMENT;
			e->page = (uint16_t)page;
			e->eng_ms =
			        (uint32_t)(top * 1000.0 * (0.3 + 0.7 * unif()));
			e->t = t + (int64_t)(top * 1000.0) + 2;
		}
		t += (int64_t)(top * 1000.0) + 500 + below(2500);
		page = zipf_draw(&page_zipf);
	}
	qsort(v->ev, (size_t)v->n, sizeof(v->ev[0]), cmp_planned);
	return v;
}

/* The stream: visits arrive by the time shape; events come out in order. */
struct stream {
	int64_t next_arrival;
	double base_rate; /* visits per ms at shape 1 */
	uint64_t emitted, limit;
	int64_t last_ms;
};

static void stream_init(struct stream *s, uint64_t limit)
{
	rng_seed(20250101);
	heap_n = 0;
	ring_n = 0;
	/* Events a visit: 98% people (3 page views, half with engagement, 6%
	 * with a custom event), 2% bots (3.5 page views). */
	double per_visit = 0.98 * 3.0 * (1.0 + 0.5 + 0.06) + 0.02 * 3.5;
	double integral = 0;
	for (int64_t h = 0; h < 365 * 24; h++)
		integral += shape(Y2025_MS + h * 3600000) * 3600000.0;
	s->base_rate = (double)limit / per_visit / integral;
	s->next_arrival = Y2025_MS;
	s->emitted = 0;
	s->limit = limit;
	s->last_ms = Y2025_MS;
}

static void set_s(struct seula_event *ev, enum seula_field f, const char *v)
{
	check(seula_event_set_str(ev, f, v, strlen(v)), "setting a field");
}

static void set_i(struct seula_event *ev, enum seula_field f, int64_t v)
{
	check(seula_event_set_int(ev, f, v), "setting a field");
}

/* Fill ev with planned event p of visit v. */
static void build(struct seula_event *ev, const struct visit *v,
                  const struct planned *p)
{
	const struct visitor *w = &v->who;
	char url[256], ip[32];
	set_s(ev, SEULA_FIELD_SITE, "demo");
	set_i(ev, SEULA_FIELD_TIME_MS, p->t);
	set_i(ev, SEULA_FIELD_TYPE, p->type);
	set_s(ev, SEULA_FIELD_HOSTNAME, "example.com");
	set_s(ev, SEULA_FIELD_PATH, page_path[p->page]);
	const struct campaign *cp =
	        v->src == -2 && p->first ? &campaigns[v->campaign] : NULL;
	if (cp)
		snprintf(url, sizeof(url),
		         "https://example.com%s?utm_source=%s&utm_medium=%s&"
		         "utm_campaign=%s",
		         page_path[p->page], cp->source, cp->medium, cp->name);
	else
		snprintf(url, sizeof(url), "https://example.com%s",
		         page_path[p->page]);
	set_s(ev, SEULA_FIELD_URL, url);
	/* The anonymize plugin's output: a masked address and a visitor. */
	snprintf(ip, sizeof(ip), "%u.%u.%u.0",
	         (unsigned)(11 + (w->id >> 8) % 200),
	         (unsigned)(w->id >> 16 & 255), (unsigned)(w->id >> 24 & 255));
	set_s(ev, SEULA_FIELD_IP_ANON, ip);
	if (v->bot) {
		set_i(ev, SEULA_FIELD_BOT, 1);
		set_i(ev, SEULA_FIELD_VISITOR_HASH, (int64_t)(w->id >> 1));
		set_s(ev, SEULA_FIELD_DEVICE, "bot");
		set_s(ev, SEULA_FIELD_BROWSER,
		      w->id & 1 ? "Googlebot" : "bingbot");
		set_s(ev, SEULA_FIELD_TITLE, page_title[p->page]);
		return;
	}
	if (w->consented) {
		uint64_t x = w->id, a = splitmix(&x), b = splitmix(&x);
		char uuid[40];
		snprintf(uuid, sizeof(uuid), "%08x-%04x-4%03x-%04x-%012llx",
		         (unsigned)(a >> 32), (unsigned)(a >> 16 & 0xffff),
		         (unsigned)(a & 0xfff),
		         (unsigned)(0x8000 | (b >> 48 & 0x3fff)),
		         (unsigned long long)(b & 0xffffffffffffULL));
		set_s(ev, SEULA_FIELD_VISITOR_ID, uuid);
	} else {
		/* The cookieless hash: a new salt every (UTC) day. */
		uint64_t x = w->id ^ (uint64_t)(p->t / 86400000) *
		                             0xD6E8FEB86659FD93ULL;
		set_i(ev, SEULA_FIELD_VISITOR_HASH,
		      (int64_t)(splitmix(&x) >> 1));
	}
	const struct country *c = &countries[w->country];
	const struct platform *pl = &platforms[w->platform];
	set_s(ev, SEULA_FIELD_COUNTRY, c->code);
	set_s(ev, SEULA_FIELD_BROWSER, pl->browser);
	set_s(ev, SEULA_FIELD_BROWSER_VERSION, pl->browser_version);
	set_s(ev, SEULA_FIELD_OS, pl->os);
	if (pl->os_version)
		set_s(ev, SEULA_FIELD_OS_VERSION, pl->os_version);
	set_s(ev, SEULA_FIELD_DEVICE, pl->device);
	if (p->type == SEULA_EVENT_CUSTOM) {
		set_s(ev, SEULA_FIELD_NAME, customs[p->custom].name);
		set_s(ev, SEULA_FIELD_PROPS, customs[p->custom].props[p->prop]);
		return;
	}
	if (p->type == SEULA_EVENT_ENGAGEMENT) {
		set_i(ev, SEULA_FIELD_ENGAGEMENT_MS, p->eng_ms);
		return;
	}
	set_s(ev, SEULA_FIELD_TITLE, page_title[p->page]);
	set_s(ev, SEULA_FIELD_LANGUAGE, c->langs[w->lang]);
	set_i(ev, SEULA_FIELD_SCREEN_WIDTH, w->width);
	set_i(ev, SEULA_FIELD_SCREEN_HEIGHT, w->height);
	if (!p->first) {
		/* The previous page of the same site: internal. */
		set_s(ev, SEULA_FIELD_REFERRER, "https://example.com/");
		set_s(ev, SEULA_FIELD_REFERRER_SOURCE, "internal");
		return;
	}
	if (cp) {
		set_s(ev, SEULA_FIELD_UTM_SOURCE, cp->source);
		set_s(ev, SEULA_FIELD_UTM_MEDIUM, cp->medium);
		set_s(ev, SEULA_FIELD_UTM_CAMPAIGN, cp->name);
		if (cp->term)
			set_s(ev, SEULA_FIELD_UTM_TERM, cp->term);
		if (cp->referrer)
			set_s(ev, SEULA_FIELD_REFERRER, cp->referrer);
		set_s(ev, SEULA_FIELD_REFERRER_SOURCE, "campaign");
		set_s(ev, SEULA_FIELD_REFERRER_NAME, cp->source);
	} else if (v->src == -1) {
		char ref[96], host[64];
		snprintf(host, sizeof(host), "site-%d.example.org", v->site);
		snprintf(ref, sizeof(ref), "https://%s/articles/%d", host,
		         v->site * 7 % 50);
		set_s(ev, SEULA_FIELD_REFERRER, ref);
		set_s(ev, SEULA_FIELD_REFERRER_SOURCE, "website");
		set_s(ev, SEULA_FIELD_REFERRER_NAME, host);
	} else {
		const struct source *s = &sources[v->src];
		if (s->url)
			set_s(ev, SEULA_FIELD_REFERRER, s->url);
		set_s(ev, SEULA_FIELD_REFERRER_SOURCE, s->channel);
		if (s->name)
			set_s(ev, SEULA_FIELD_REFERRER_NAME, s->name);
	}
}

/* The next event in time order into ev; false at the end of the stream. */
static bool stream_next(struct stream *s, struct seula_event *ev)
{
	if (s->emitted >= s->limit)
		return false;
	for (;;) {
		bool arrivals = s->next_arrival < Y2025_MS + YEAR_MS;
		if (heap_n &&
		    (!arrivals || key_of(heap[0]) <= s->next_arrival)) {
			struct visit *v = heap_pop();
			const struct planned *p = &v->ev[v->next++];
			build(ev, v, p);
			s->last_ms = p->t;
			s->emitted++;
			if (v->next < v->n)
				heap_push(v);
			else
				visit_free(v);
			return true;
		}
		if (!arrivals)
			return false;
		heap_push(plan_visit(s->next_arrival));
		double rate = s->base_rate * shape(s->next_arrival);
		s->next_arrival += 1 + (int64_t)(-log(1.0 - unif()) / rate);
	}
}

/* ---- the load: a loop keeping jobs submitted ---------------------------- */

struct load;

struct load_job {
	struct seula_job job;
	struct seula_arena arena;
	struct load *l;
	int64_t last_ms; /* its newest event's time */
};

/* The harness's clock, the traffic's, for the plugins too (their host's
 * now_ms: when a visit was last added to) as for the tasks: read by the
 * writer thread. */
struct traffic_clock {
	_Atomic int64_t ms;
};

static int64_t traffic_now(void *ctx)
{
	return atomic_load(&((struct traffic_clock *)ctx)->ms);
}

/* Forward only. */
static void clock_to(struct traffic_clock *c, int64_t ms)
{
	int64_t cur = atomic_load(&c->ms);
	while (ms > cur && !atomic_compare_exchange_weak(&c->ms, &cur, ms))
		;
}

struct load {
	struct traffic_clock *clock;
	struct seula_store *store;
	struct seula_completions *cq;
	struct event_base *base;
	struct stream stream;
	struct load_job jobs[IN_FLIGHT];
	unsigned long outstanding;
	uint64_t committed;
	int failed;
	bool done;
	double t0, last_report;
	/* The close task, run through the writer. */
	const struct seula_loaded_plugin *plugin;
	const struct seula_task *close_task;  /* "analytics-close" */
	const struct seula_task *blocks_task; /* "analytics-blocks" */
	const struct seula_task *run_task; /* the job's: close_task if NULL */
	struct seula_job close_job;
	bool close_busy;
	int64_t close_every_ms, close_now, last_close;
	int64_t committed_ms; /* newest event of the committed jobs */
	/* BENCH_ANALYTICS_CACHE_KIB: the writer's page cache, an experiment */
	struct seula_job pragma_job;
	long long cache_kib;
	unsigned long close_runs;
	double close_seconds; /* on the writer, inside the call */
	bool close_more;      /* the last run had more to do */
};

static int close_call(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct load *l = arg;
	const struct seula_task *task =
	        l->run_task ? l->run_task : l->close_task;
	char *msg = NULL;
	double t = now_s();
	int rc = task->run(l->plugin->instance, db, l->close_now, &msg);
	l->close_seconds += now_s() - t;
	/* More to do: as the server does, again after the next batch. */
	l->close_more = rc == SEULA_TASK_MORE;
	if (l->close_more)
		rc = SEULA_OK;
	if (rc != SEULA_OK)
		snprintf(err, errlen, "%s task: %s", task->name,
		         msg ? msg : "failed");
	free(msg);
	return rc;
}

static void job_done(struct seula_completion *c);
static void close_done(struct seula_completion *c);

static int pragma_call(void *arg, sqlite3 *db, char *err, size_t errlen)
{
	struct load *l = arg;
	char sql[64];
	snprintf(sql, sizeof(sql), "PRAGMA cache_size = -%lld", l->cache_kib);
	if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	return SEULA_OK;
}

static void pragma_done(struct seula_completion *c)
{
	struct load *l = (struct load *)((char *)c - offsetof(struct load,
	                                                      pragma_job.done));
	l->outstanding--;
	if (!l->pragma_job.committed || l->pragma_job.result != SEULA_OK)
		l->failed++;
}

static void submit_close(struct load *l, int64_t now)
{
	memset(&l->close_job, 0, sizeof(l->close_job));
	l->close_job.kind = SEULA_JOB_CALL;
	l->close_job.cq = l->cq;
	l->close_job.done.run = close_done;
	l->close_job.call = close_call;
	l->close_job.call_arg = l;
	l->close_now = now;
	clock_to(l->clock, now);
	l->close_busy = true;
	int rc;
	while ((rc = seula_store_submit(l->store, &l->close_job)) ==
	       SEULA_EBUSY)
		event_base_loop(l->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	check(rc, "seula_store_submit");
	l->outstanding++;
}

static void maybe_close(struct load *l)
{
	if (!l->plugin || l->close_busy ||
	    (!l->close_more &&
	     l->committed_ms - l->last_close < l->close_every_ms))
		return;
	l->last_close = l->committed_ms;
	submit_close(l, l->committed_ms);
}

static void close_done(struct seula_completion *c)
{
	struct load *l = (struct load *)((char *)c -
	                                 offsetof(struct load, close_job.done));
	l->outstanding--;
	l->close_busy = false;
	l->close_runs++;
	if (!l->close_job.committed || l->close_job.result != SEULA_OK)
		l->failed++;
	if (l->done && l->outstanding == 0)
		event_base_loopbreak(l->base);
}

static void submit(struct load *l, struct load_job *j)
{
	seula_arena_init(&j->arena, 0);
	memset(&j->job, 0, sizeof(j->job));
	j->job.kind = SEULA_JOB_EVENTS;
	j->job.cq = l->cq;
	j->job.done.run = job_done;
	j->job.events = seula_arena_alloc(&j->arena, PER_JOB * sizeof(void *));
	if (!j->job.events)
		die("seula_arena_alloc", "out of memory");
	size_t n = 0;
	while (n < PER_JOB) {
		struct seula_event *ev = seula_event_new(&j->arena);
		if (!ev)
			die("seula_event_new", "arena full");
		if (!stream_next(&l->stream, ev))
			break;
		j->job.events[n++] = ev;
	}
	if (n == 0) {
		seula_arena_free(&j->arena);
		l->done = true;
		return;
	}
	j->job.n_events = n;
	j->last_ms = l->stream.last_ms;
	int rc;
	while ((rc = seula_store_submit(l->store, &j->job)) == SEULA_EBUSY)
		event_base_loop(l->base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
	check(rc, "seula_store_submit");
	l->outstanding++;
}

static void job_done(struct seula_completion *c)
{
	struct load_job *j =
	        (struct load_job *)((char *)c -
	                            offsetof(struct load_job, job.done));
	struct load *l = j->l;
	l->outstanding--;
	if (!j->job.committed || j->job.result != SEULA_OK)
		l->failed++;
	else
		l->committed += j->job.n_events;
	/* Jobs complete in submission order. */
	if (j->last_ms > l->committed_ms)
		l->committed_ms = j->last_ms;
	clock_to(l->clock, j->last_ms);
	seula_arena_free(&j->arena);
	double t = now_s();
	if (t - l->last_report >= 30) {
		l->last_report = t;
		fprintf(stderr,
		        "analytics_bench: %llu events, %.0f/s, traffic at "
		        "%.1f%% of the year\n",
		        (unsigned long long)l->committed,
		        (double)l->committed / (t - l->t0),
		        100.0 * (double)(l->committed_ms - Y2025_MS) /
		                (double)YEAR_MS);
	}
	maybe_close(l);
	if (!l->done && !l->failed)
		submit(l, j);
	if (l->outstanding == 0)
		event_base_loopbreak(l->base);
}

static long long count(sqlite3 *db, const char *sql)
{
	sqlite3_stmt *st;
	long long n = -1;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			n = sqlite3_column_int64(st, 0);
		sqlite3_finalize(st);
	}
	return n;
}

static long long count_path(const char *path, const char *sql)
{
	sqlite3 *db;
	long long n = -1;
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK)
		n = count(db, sql);
	sqlite3_close(db);
	return n;
}

static void remove_db(const char *db)
{
	char p[1100];
	const char *suffix[] = {"", "-wal", "-shm"};
	for (int i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
		unlink(p);
	}
}

static long long file_size(const char *path)
{
	struct stat sb;
	return stat(path, &sb) == 0 ? (long long)sb.st_size : -1;
}

struct load_result {
	uint64_t events;
	double seconds, final_close_seconds, close_seconds;
	long long open_at_end, final_close_runs;
	long long block_days, block_runs;
	double block_seconds; /* on the writer, inside the blocks task */
	unsigned long close_runs;
	int64_t last_ms;
};

/* Load the stream into db, with the analytics plugin or without. */
static void load(const char *dir, const char *db, const char *plugin_dir,
                 bool with_plugin, const char *sync, uint64_t limit,
                 long long cache_kib, struct load_result *res)
{
	char ini[1024], err[512];
	snprintf(ini, sizeof(ini), "%s/analytics-bench.ini", dir);
	remove_db(db);
	FILE *f = fopen(ini, "w");
	if (!f)
		die("cannot write the config", ini);
	/* [limits] as in contrib/seula.ini.example. */
	fprintf(f,
	        "[server]\n"
	        "db = %s\n"
	        "synchronous = %s\n"
	        "log_level = warn\n"
	        "[limits]\n"
	        "max_body_bytes = 65536\n"
	        "max_events_per_request = 50\n"
	        "queue_capacity = 20000\n"
	        "batch_max_events = 2000\n"
	        "batch_interval_ms = 0\n"
	        "[plugins]\n"
	        "load = %s\n"
	        "[site.demo]\n"
	        "domains = localhost, 127.0.0.1, example.com\n",
	        db, sync, with_plugin ? "analytics" : "");
	if (with_plugin)
		fprintf(f, "[plugin.analytics]\ngoals = %s\nsegments = %s\n",
		        goals_ini,
		        getenv("BENCH_ANALYTICS_SEGMENTS")
		                ? getenv("BENCH_ANALYTICS_SEGMENTS")
		                : segment_ini);
	fclose(f);

	struct seula_config cfg;
	if (seula_config_load(&cfg, ini, NULL, err, sizeof(err)) != SEULA_OK)
		die("seula_config_load", err);
	struct seula_logger log = {SEULA_LOG_WARN, stderr};
	struct traffic_clock clock;
	atomic_init(&clock.ms, Y2025_MS);
	struct seula_host_env env = {
	        .log = &log, .now_ms = traffic_now, .ctx = &clock};
	struct seula_plugins plugins = {0};
	if (seula_plugins_load(&plugins, &cfg, plugin_dir, &env, err,
	                       sizeof(err)) != SEULA_OK)
		die("loading the plugins", err);
	if (seula_config_check_unused(&cfg, err, sizeof(err)) != SEULA_OK)
		die("config", err);

	static struct load l;
	memset(&l, 0, sizeof(l));
	l.clock = &clock;
	if (seula_store_open(&l.store, &cfg, &plugins, &log, err,
	                     sizeof(err)) != SEULA_OK)
		die("seula_store_open", err);
	if (seula_plugins_init(&plugins, err, sizeof(err)) != SEULA_OK)
		die("plugin init", err);
	if (seula_store_run_start_tasks(l.store, err, sizeof(err)) != SEULA_OK)
		die("start tasks", err);
	/* The close task runs on the traffic's clock, below. */
	seula_store_hold_tasks(l.store);
	if (with_plugin) {
		l.plugin = seula_plugins_find(&plugins, "analytics");
		for (size_t i = 0; l.plugin && i < l.plugin->desc.n_tasks; i++)
			if (strcmp(l.plugin->desc.tasks[i].name,
			           "analytics-close") == 0)
				l.close_task = &l.plugin->desc.tasks[i];
			else if (strcmp(l.plugin->desc.tasks[i].name,
			                "analytics-blocks") == 0)
				l.blocks_task = &l.plugin->desc.tasks[i];
		if (!l.close_task)
			die("the analytics plugin has no close task", NULL);
		l.close_every_ms = l.close_task->interval_s * 1000;
	}
	l.base = event_base_new();
	if (!l.base || !(l.cq = seula_completions_new(l.base)))
		die("libevent", "cannot make a loop");
	check(seula_store_start(l.store), "seula_store_start");

	stream_init(&l.stream, limit);
	l.committed_ms = l.last_close = Y2025_MS;
	l.cache_kib = cache_kib;
	if (cache_kib) {
		/* Before the first event, on the writer's own connection. */
		l.pragma_job.kind = SEULA_JOB_CALL;
		l.pragma_job.cq = l.cq;
		l.pragma_job.done.run = pragma_done;
		l.pragma_job.call = pragma_call;
		l.pragma_job.call_arg = &l;
		check(seula_store_submit(l.store, &l.pragma_job),
		      "seula_store_submit");
		l.outstanding++;
	}
	l.t0 = l.last_report = now_s();
	for (int i = 0; i < IN_FLIGHT && !l.done; i++) {
		l.jobs[i].l = &l;
		submit(&l, &l.jobs[i]);
	}
	event_base_loop(l.base, EVLOOP_NO_EXIT_ON_EMPTY);
	res->seconds = now_s() - l.t0;
	res->events = l.committed;
	res->close_runs = l.close_runs;
	res->close_seconds = l.close_seconds;
	res->last_ms = l.stream.last_ms;
	if (l.failed)
		die("the load failed", "a job was not committed");

	/* The visits still open: close-task runs with `now` a day after the
	 * last event (each run ends at most the task's batch of visits). */
	res->open_at_end = res->final_close_runs = 0;
	res->final_close_seconds = 0;
	if (with_plugin) {
		sqlite3 *rd;
		check(seula_db_open(&rd, db, true, false, 0, err, sizeof(err)),
		      "opening a reader");
		const char *q = "SELECT count(*) FROM analytics_visits WHERE "
		                "closed = 0";
		res->open_at_end = count(rd, q);
		double t = now_s();
		long long open = res->open_at_end, before;
		int stalled = 0;
		do {
			/* A minute later each run, past rollup_delay: a run
			 * writes what the one before it gathered.  Three runs
			 * without progress: the last gathered nothing new, and
			 * the one before wrote nothing. */
			before = open;
			submit_close(&l,
			             l.stream.last_ms + 86400000LL +
			                     60000LL * res->final_close_runs);
			event_base_loop(l.base, EVLOOP_NO_EXIT_ON_EMPTY);
			res->final_close_runs++;
			if (l.failed)
				die("the final close failed", NULL);
			open = count(rd, q);
			stalled = open < before ? 0 : stalled + 1;
		} while (open > 0 && stalled < 3);
		res->final_close_seconds = now_s() - t;
		if (open != 0)
			die("visits stay open after the close task", NULL);

		/* Every day's block (blocks.h), which the server builds in the
		 * background as days end: task runs two days after the last
		 * event until the last day is covered. */
		if (!l.blocks_task)
			die("the analytics plugin has no blocks task", NULL);
		char done_q[256];
		snprintf(done_q, sizeof(done_q),
		         "SELECT coalesce((SELECT max(built_to) FROM "
		         "analytics_block_state), 0) > %lld AND NOT EXISTS "
		         "(SELECT 1 FROM analytics_block_dirty)",
		         (long long)(l.stream.last_ms / 86400000LL));
		l.run_task = l.blocks_task;
		double before_s = l.close_seconds;
		res->block_runs = 0;
		while (count(rd, done_q) == 0 && res->block_runs < 1000000) {
			submit_close(&l, l.stream.last_ms + 2 * 86400000LL);
			event_base_loop(l.base, EVLOOP_NO_EXIT_ON_EMPTY);
			res->block_runs++;
			if (l.failed)
				die("the blocks task failed", NULL);
		}
		l.run_task = NULL;
		res->block_seconds = l.close_seconds - before_s;
		res->block_days = count(rd, "SELECT count(DISTINCT day) FROM "
		                            "analytics_blocks");
		seula_db_close(rd);
	}

	struct seula_store_stats st;
	seula_store_stats(l.store, &st);
	seula_store_close(l.store);
	seula_completions_free(l.cq);
	event_base_free(l.base);
	seula_plugins_free(&plugins);
	seula_config_free(&cfg);
	unlink(ini);
	long long rows = count_path(db, "SELECT count(*) FROM events");
	if (rows != (long long)res->events ||
	    st.events_committed != res->events)
		die("the events table does not hold every event", NULL);
}

/* ---- the reports -------------------------------------------------------- */

struct report_case {
	const char *label;
	enum analytics_report_kind kind;
	const char *from, *to, *interval, *dimension;
	const char *metric; /* conversion_rate: under a goal filter only */
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

/* A short check of what the report says: visits of a summary, the number
 * of rows of a timeseries or breakdown, the first goal's conversions. */
static void describe(const json_t *out, enum analytics_report_kind kind,
                     char *buf, size_t len)
{
	const json_t *res = json_object_get(out, "results");
	if (kind == ANALYTICS_SUMMARY) {
		snprintf(buf, len, "%lld visits, %lld visitors",
		         (long long)json_integer_value(
		                 json_object_get(res, "visits")),
		         (long long)json_integer_value(
		                 json_object_get(res, "visitors")));
	} else if (kind == ANALYTICS_BREAKDOWN) {
		const json_t *row = json_array_get(res, 0);
		const char *dim =
		        json_string_value(json_object_get(out, "dimension"));
		const json_t *key = json_object_get(row, dim ? dim : "");
		snprintf(buf, len, "%zu rows, top %.30s (%lld visitors)",
		         json_array_size(res),
		         json_is_string(key) ? json_string_value(key) : "-",
		         (long long)json_integer_value(
		                 json_object_get(row, "visitors")));
	} else if (kind == ANALYTICS_GOALS) {
		const json_t *row = json_array_get(res, 0);
		snprintf(buf, len, "%zu goals, %s %.1f%%", json_array_size(res),
		         json_string_value(json_object_get(row, "goal")),
		         json_real_value(
		                 json_object_get(row, "conversion_rate")));
	} else {
		snprintf(buf, len, "%zu buckets", json_array_size(res));
	}
}

/* BENCH_ANALYTICS_ONLY: "report/range/filter" of the lines to time, each
 * part a prefix ("breakdown page/year/device==mobile"; "-": no filter);
 * unset: all. */
static bool wanted(const char *name, const char *range, const char *filter)
{
	const char *only = getenv("BENCH_ANALYTICS_ONLY");
	if (!only || !*only)
		return true;
	const char *have[3] = {name, range, filter ? filter : "-"};
	for (int i = 0; i < 3 && *only; i++) {
		size_t n = strcspn(only, "/");
		if (strncmp(have[i], only, n) != 0)
			return false;
		only += n + (only[n] == '/');
	}
	return true;
}

static int time_reports(const char *db_path, int runs)
{
	static const struct report_case cases[] = {
	        {"summary", ANALYTICS_SUMMARY, NULL, NULL, NULL, NULL, NULL},
	        {"timeseries hour", ANALYTICS_TIMESERIES, "day", NULL, "hour",
	         NULL, NULL},
	        {"timeseries day", ANALYTICS_TIMESERIES, "month", NULL, "day",
	         NULL, NULL},
	        {"timeseries month", ANALYTICS_TIMESERIES, "year", NULL,
	         "month", NULL, NULL},
	        {"timeseries day", ANALYTICS_TIMESERIES, "year", NULL, "day",
	         NULL, NULL},
	        {"breakdown page", ANALYTICS_BREAKDOWN, NULL, NULL, NULL,
	         "page", NULL},
	        {"breakdown source", ANALYTICS_BREAKDOWN, NULL, NULL, NULL,
	         "source", NULL},
	        {"breakdown country", ANALYTICS_BREAKDOWN, NULL, NULL, NULL,
	         "country", NULL},
	        {"breakdown utm_campaign", ANALYTICS_BREAKDOWN, NULL, NULL,
	         NULL, "utm_campaign", NULL},
	        {"breakdown page cr", ANALYTICS_BREAKDOWN, NULL, NULL, NULL,
	         "page", "conversion_rate"},
	        {"breakdown source cr", ANALYTICS_BREAKDOWN, NULL, NULL, NULL,
	         "source", "conversion_rate"},
	        {"breakdown content_group", ANALYTICS_BREAKDOWN, NULL, NULL,
	         NULL, "content_group", NULL},
	        {"goals", ANALYTICS_GOALS, NULL, NULL, NULL, NULL, NULL},
	};
	static const struct {
		const char *name, *from, *to;
	} ranges[] = {{"day", "2025-06-18", "2025-06-18"},
	              {"month", "2025-06-01", "2025-06-30"},
	              {"year", "2025-01-01", "2025-12-31"}};
	/* Ad hoc, a configured segment's, two conditions no rollup
	 * answers even for a summary, a goal (its conversion rates read
	 * the report again without it), and an hour of the day (read off
	 * the visits' start times). */
	static const char *const filters[] = {NULL,
	                                      "device==mobile",
	                                      "device==desktop",
	                                      "device==mobile;country!=XX",
	                                      "goal==signup",
	                                      "device==mobile;goal==signup",
	                                      "hour==14"};

	sqlite3 *db;
	char err[512];
	check(seula_db_open(&db, db_path, true, false, 0, err, sizeof(err)),
	      "opening a reader");
	/* BENCH_ANALYTICS_THREADS=1: reports on one thread. */
	const char *threads = getenv("BENCH_ANALYTICS_THREADS");
	sqlite3 *helper = NULL;
	if (!threads || strcmp(threads, "1") != 0)
		check(seula_db_open(&helper, db_path, true, false, 0, err,
		                    sizeof(err)),
		      "opening a helper reader");
	if (analytics_sql_register(db) != SQLITE_OK)
		die("analytics_sql_register", sqlite3_errmsg(db));
	const char *cache_mb = getenv("BENCH_ANALYTICS_BLOCK_CACHE_MB");
	long long mb = cache_mb && *cache_mb ? atoll(cache_mb) : 256;
	struct analytics_block_cache *cache =
	        mb > 0 ? analytics_block_cache_new((size_t)mb << 20) : NULL;
	struct analytics_groups_pool *pool =
	        mb > 0 ? analytics_groups_pool_new((size_t)mb << 18) : NULL;
	if (mb > 0 && (!cache || !pool))
		die("analytics_block_cache_new", "out of memory");
	const char *goal_list[] = {"demo:event:signup", "demo:event:download",
	                           "demo:page:/pricing", "demo:page:/docs/*",
	                           NULL};
	struct analytics_goals goals;
	if (analytics_goals_parse(goal_list, &goals, err, sizeof(err)) != 0)
		die("goals", err);
	/* Groups of a few hundred paths each, and a small one. */
	const char *group_list[] = {"demo:Docs:/docs/*", "demo:Blog:/blog/*",
	                            "demo:Shop:/products/*",
	                            "demo:Buying:/pricing|/signup|/contact",
	                            NULL};
	struct analytics_content_groups groups;
	if (analytics_content_groups_parse(group_list, &groups, err,
	                                   sizeof(err)) != 0)
		die("content groups", err);

	printf("\nreports on %s, block cache %lld MiB\n",
	       helper ? "two threads (a helper connection)" : "one thread",
	       mb > 0 ? mb : 0);
	/* As the server does at a start (block_cache_warm); with
	 * BENCH_ANALYTICS_WARM=0 the first line's first run reads cold. */
	const char *warm = getenv("BENCH_ANALYTICS_WARM");
	if (cache && (!warm || strcmp(warm, "0") != 0)) {
		atomic_bool stop = false;
		size_t n = 0;
		double t0 = now_s();
		if (analytics_blocks_cache_warm(db, cache,
		                                ((size_t)mb << 20) / 4 * 3,
		                                &stop, &n) != SQLITE_OK)
			die("analytics_blocks_cache_warm", sqlite3_errmsg(db));
		printf("block cache warmed first, as at a start: %zu blocks, "
		       "%.1f MiB in %.0f ms\n",
		       n,
		       (double)analytics_block_cache_bytes(cache) / 1048576.0,
		       (now_s() - t0) * 1e3);
		size_t sites = 0;
		t0 = now_s();
		if (analytics_groups_warm(db, &groups, cache, &stop, &sites,
		                          err, sizeof(err)) != ANALYTICS_OK)
			die("analytics_groups_warm", err);
		printf("then the content groups' days summed, as at a start: "
		       "%zu site(s) in %.0f ms, the cache %.1f MiB\n",
		       sites, (now_s() - t0) * 1e3,
		       (double)analytics_block_cache_bytes(cache) / 1048576.0);
	}
	printf("\n%-24s %-6s %-26s %4s %9s %9s %9s  %-5s %s\n", "report",
	       "range", "filter", "runs", "first_ms", "median_ms", "max_ms",
	       "<50ms", "result");
	int bad = 0, pass = 0, lines = 0, fpass = 0, flines = 0, spass = 0,
	    slines = 0;
	double *t = malloc((size_t)runs * sizeof(double));
	if (!t)
		die("malloc", "out of memory");
	for (size_t fi = 0; fi < sizeof(filters) / sizeof(filters[0]); fi++)
		for (size_t ci = 0; ci < sizeof(cases) / sizeof(cases[0]); ci++)
			for (size_t ri = 0; ri < 3; ri++) {
				const struct report_case *c = &cases[ci];
				const char *rname = ranges[ri].name;
				/* Each timeseries has its own range. */
				if (c->from && strcmp(c->from, rname) != 0)
					continue;
				if (!wanted(c->label, rname, filters[fi]))
					continue;
				if (c->metric &&
				    (!filters[fi] ||
				     !strstr(filters[fi], "goal==")))
					continue;
				struct analytics_request rq = {
				        .site = "demo",
				        .from = ranges[ri].from,
				        .to = ranges[ri].to,
				        .tz = "UTC",
				        .filter = filters[fi],
				        .interval = c->interval,
				        .metric = c->metric,
				        .dimension = c->dimension,
				        .limit = c->dimension ? "10" : NULL,
				        .now_ms =
				                Y2025_MS + YEAR_MS + 86400000LL,
				        .goals = &goals,
				        .content_groups = &groups,
				        .helper = helper,
				        .cache = cache,
				        .pool = pool,
				};
				char what[128] = "";
				bool pre = false;
				double first = 0, total = 0;
				int n = 0;
				/* One more run first, not counted but
				 * shown: the first on this connection. */
				for (int r = -1; r < runs; r++) {
					json_t *out = NULL;
					double t0 = now_s();
					enum analytics_status s =
					        analytics_report(db, c->kind,
					                         &rq, &out, err,
					                         sizeof(err));
					double ms = (now_s() - t0) * 1e3;
					if (s != ANALYTICS_OK) {
						fprintf(stderr,
						        "analytics_bench: %s "
						        "%s: "
						        "%s\n",
						        c->label, rname, err);
						bad = 1;
						break;
					}
					if (r < 0) {
						first = ms;
						pre = json_is_true(
						        json_object_get(
						                out, "preproces"
						                     "sed"));
						describe(out, c->kind, what,
						         sizeof(what));
					} else {
						t[n++] = ms;
						total += ms;
					}
					json_decref(out);
					/* A slow line: at least 3 runs, at
					 * most ~10 s. */
					if (n >= 3 && total > 10000)
						break;
				}
				if (n == 0)
					continue;
				qsort(t, (size_t)n, sizeof(double), cmp_double);
				double med =
				        n % 2 ? t[n / 2]
				              : (t[n / 2 - 1] + t[n / 2]) / 2;
				bool ok = t[n - 1] < LIMIT_MS;
				if (pre) {
					slines++;
					spass += ok;
				} else if (filters[fi]) {
					flines++;
					fpass += ok;
				} else {
					lines++;
					pass += ok;
				}
				printf("%-24s %-6s %-26s %4d %9.2f %9.2f %9.2f "
				       " %-5s %s%s\n",
				       c->label, rname,
				       filters[fi] ? filters[fi] : "-", n,
				       first, med, t[n - 1],
				       ok ? "PASS" : "MISS",
				       pre ? "pre-processed: " : "", what);
				fflush(stdout);
			}
	printf("\nunfiltered: %d of %d reports under %.0f ms (max of the "
	       "runs); with an ad hoc filter: %d of %d; with a configured "
	       "segment's (pre-processed): %d of %d\n",
	       pass, lines, LIMIT_MS, fpass, flines, spass, slines);
	free(t);
	analytics_goals_free(&goals);
	analytics_content_groups_free(&groups);
	seula_db_close(helper);
	seula_db_close(db);
	analytics_block_cache_free(cache);
	analytics_groups_pool_free(pool);
	return bad;
}

/* ---- main --------------------------------------------------------------- */

static long long env_num(const char *name, long long def, long long min)
{
	const char *v = getenv(name);
	if (!v || !*v)
		return def;
	char *end;
	long long n = strtoll(v, &end, 10);
	if (*end || n < min) {
		fprintf(stderr,
		        "analytics_bench: %s must be a number >= %lld\n", name,
		        min);
		exit(2);
	}
	return n;
}

static void day_of(int64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: analytics_bench WORKDIR PLUGIN_DIR\n");
		return 2;
	}
	const char *dir = argv[1], *plugin_dir = argv[2];
	uint64_t limit =
	        (uint64_t)env_num("BENCH_ANALYTICS_EVENTS", 10000000, 1000);
	int runs = (int)env_num("BENCH_ANALYTICS_RUNS", 20, 1);
	bool baseline = env_num("BENCH_ANALYTICS_BASELINE", 1, 0) != 0;
	bool keep = env_num("BENCH_ANALYTICS_KEEP", 0, 0) != 0;
	long long cache_kib = env_num("BENCH_ANALYTICS_CACHE_KIB", 0, 0);
	const char *sync = getenv("BENCH_ANALYTICS_SYNC");
	if (!sync || !*sync)
		sync = "full";

	/* As the server's main() sets the process up. */
	if (evthread_use_pthreads() != 0 || sodium_init() < 0 ||
	    seula_db_init_library() != SEULA_OK)
		die("evthread_use_pthreads, sodium_init or "
		    "seula_db_init_library",
		    "failed");

	const char *given = getenv("BENCH_ANALYTICS_DB");
	if (given && *given) {
		printf("reports on %s (%.1f MB), loaded by an earlier run\n",
		       given, (double)file_size(given) / 1e6);
		return time_reports(given, runs);
	}
	ring = malloc(RING * sizeof(*ring));
	if (!ring)
		die("malloc", "out of memory");
	make_pages();
	make_campaigns();

	char db[1024], first[32], last[32];
	printf("analytics plugin at scale (analytics_bench.c): %llu synthetic "
	       "events of 2025, %d jobs of %d events in flight, "
	       "synchronous=%s\n",
	       (unsigned long long)limit, IN_FLIGHT, PER_JOB, sync);
	if (cache_kib)
		printf("experiment: the writer's page cache set to %lld KiB "
		       "(PRAGMA cache_size; the server keeps SQLite's "
		       "default)\n",
		       cache_kib);
	fflush(stdout);
	struct load_result base = {0}, with = {0};
	if (baseline) {
		snprintf(db, sizeof(db), "%s/analytics-baseline.db", dir);
		fprintf(stderr,
		        "analytics_bench: loading without the plugin\n");
		load(dir, db, plugin_dir, false, sync, limit, cache_kib, &base);
		printf("\nwriter, no plugins:      %llu events in %.1f s: "
		       "%.0f events/s, database %.1f MB\n",
		       (unsigned long long)base.events, base.seconds,
		       (double)base.events / base.seconds,
		       (double)file_size(db) / 1e6);
		fflush(stdout);
		remove_db(db);
	}
	snprintf(db, sizeof(db), "%s/analytics.db", dir);
	fprintf(stderr, "analytics_bench: loading with the analytics plugin\n");
	load(dir, db, plugin_dir, true, sync, limit, cache_kib, &with);
	day_of(Y2025_MS, first, sizeof(first));
	day_of(with.last_ms, last, sizeof(last));
	printf("%swriter + analytics:      %llu events in %.1f s: %.0f "
	       "events/s (%s to %s UTC)\n",
	       baseline ? "" : "\n", (unsigned long long)with.events,
	       with.seconds, (double)with.events / with.seconds, first, last);
	long long visits = count_path(db, "SELECT count(*) FROM "
	                                  "analytics_visits");
	long long ended = visits - with.open_at_end;
	printf("  close task: %lu runs on the traffic's clock, %.1f s of "
	       "writer time in them: %.0f us a visit ended (%lld visits)\n",
	       with.close_runs, with.close_seconds,
	       ended > 0 ? 1e6 * with.close_seconds / (double)ended : 0.0,
	       ended);
	printf("  visits still open at the end of the stream: %lld, closed "
	       "by %lld more run(s) in %.1f s\n",
	       with.open_at_end, with.final_close_runs,
	       with.final_close_seconds);
	printf("  blocks: %lld days built by %lld task runs, %.1f s of writer "
	       "time in them (%.0f ms a day)\n",
	       with.block_days, with.block_runs, with.block_seconds,
	       with.block_days
	               ? 1000 * with.block_seconds / (double)with.block_days
	               : 0.0);
	double total_s = with.seconds + with.final_close_seconds;
	if (baseline)
		printf("  with/without the plugin: %.0f / %.0f events/s = %.2f "
		       "(the final close included: %.2f)\n",
		       (double)with.events / with.seconds,
		       (double)base.events / base.seconds,
		       ((double)with.events / with.seconds) /
		               ((double)base.events / base.seconds),
		       ((double)with.events / total_s) /
		               ((double)base.events / base.seconds));
	sqlite3 *rd;
	char err[512];
	check(seula_db_open(&rd, db, true, false, 0, err, sizeof(err)),
	      "opening a reader");
	printf("  database %.1f MB: %lld events, %lld visits, %lld page rows, "
	       "%lld event rows, %lld rollup rows\n",
	       (double)file_size(db) / 1e6,
	       count(rd, "SELECT count(*) FROM events"),
	       count(rd, "SELECT count(*) FROM analytics_visits"),
	       count(rd, "SELECT count(*) FROM analytics_visit_pages"),
	       count(rd, "SELECT count(*) FROM analytics_visit_events"),
	       count(rd, "SELECT count(*) FROM analytics_rollup"));
	seula_db_close(rd);
	fflush(stdout);

	fprintf(stderr, "analytics_bench: timing the reports\n");
	int bad = time_reports(db, runs);
	if (!keep)
		remove_db(db);
	else
		fprintf(stderr, "analytics_bench: kept %s\n", db);
	free(ring);
	return bad;
}
