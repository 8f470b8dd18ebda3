/* Unit tests: core/collect.c - what a collect request may carry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "collect.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct seula_config cfg;
static struct seula_arena arena;
static struct seula_collect_result res;
static struct seula_collect_error cerr;
static const char *origin;

static int setup(void **state)
{
	(void)state;
	char err[512];
	const char *ov[] = {
	        "site.demo.domains=example.com, *.example.org, [::1]",
	        "site.demo.keep_query=page", "site.other.domains=other.fi",
	        "limits.max_events_per_request=3", NULL};
	if (seula_config_load(&cfg, NULL, ov, err, sizeof(err)) != SEULA_OK) {
		fprintf(stderr, "%s\n", err);
		return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	seula_config_free(&cfg);
	return 0;
}

static int parse(const char *body)
{
	seula_arena_free(&arena);
	seula_arena_init(&arena, 1 << 20);
	struct seula_event_header h[] = {{"User-Agent", "Mozilla/5.0 Test"},
	                                 {"Sec-GPC", "1"}};
	struct seula_collect_request req = {
	        .cfg = &cfg,
	        .origin = origin,
	        .now_ms = 1700000000000,
	        .headers = h,
	        .n_headers = 2,
	};
	seula_ip_parse("203.0.113.7", &req.client_ip);
	memset(&cerr, 0, sizeof(cerr));
	return seula_collect_parse_json(&req, body, strlen(body), &arena, &res,
	                                &cerr);
}

static int parse_query(const char *q)
{
	seula_arena_free(&arena);
	seula_arena_init(&arena, 1 << 20);
	struct seula_collect_request req = {.cfg = &cfg, .now_ms = 1};
	seula_ip_parse("2001:db8::1", &req.client_ip);
	return seula_collect_parse_query(&req, q, &arena, &res, &cerr);
}

static void expect(const char *body, int status, const char *code,
                   const char *in_message)
{
	if (parse(body) == SEULA_OK)
		fail_msg("accepted: %s", body);
	if (cerr.status != status || strcmp(cerr.code, code) != 0)
		fail_msg("%s -> %d %s (%s), wanted %d %s", body, cerr.status,
		         cerr.code, cerr.message, status, code);
	if (in_message && !strstr(cerr.message, in_message))
		fail_msg("message '%s' lacks '%s'", cerr.message, in_message);
}

static const char *str(size_t i, enum seula_field f)
{
	return seula_event_str(res.events[i], f);
}

static void pageview_is_normalised(void **state)
{
	(void)state;
	assert_int_equal(
	        parse("{\"site\":\"demo\",\"type\":\"pageview\","
	              "\"url\":\"HTTPS://Example.COM:443/a/"
	              "b?page=2&email=x%40y.fi"
	              "&utm_source=news+letter&utm_medium=email#frag\","
	              "\"referrer\":\"https://www.google.com/"
	              "search?q=my+name\","
	              "\"title\":\"Hello\",\"language\":\"fi-FI\","
	              "\"screen_width\":1920,\"screen_height\":1080}"),
	        SEULA_OK);
	assert_int_equal(res.n_events, 1);
	assert_string_equal(str(0, SEULA_FIELD_SITE), "demo");
	/* Query cut to keep_query, fragment gone, e-mail gone. */
	assert_string_equal(str(0, SEULA_FIELD_URL),
	                    "https://example.com/a/b?page=2");
	assert_string_equal(str(0, SEULA_FIELD_HOSTNAME), "example.com");
	assert_string_equal(str(0, SEULA_FIELD_PATH), "/a/b");
	assert_string_equal(str(0, SEULA_FIELD_UTM_SOURCE), "news letter");
	assert_string_equal(str(0, SEULA_FIELD_UTM_MEDIUM), "email");
	assert_null(str(0, SEULA_FIELD_UTM_CAMPAIGN));
	assert_string_equal(str(0, SEULA_FIELD_REFERRER),
	                    "https://www.google.com/search");
	assert_string_equal(str(0, SEULA_FIELD_USER_AGENT), "Mozilla/5.0 Test");
	assert_string_equal(seula_event_header(res.events[0], "sec-gpc"), "1");
	int64_t v;
	assert_int_equal(seula_event_int(res.events[0], SEULA_FIELD_TYPE, &v),
	                 0);
	assert_int_equal(v, SEULA_EVENT_PAGEVIEW);
	assert_int_equal(
	        seula_event_int(res.events[0], SEULA_FIELD_TIME_MS, &v), 0);
	assert_int_equal(v, 1700000000000);
	assert_non_null(seula_event_ip(res.events[0]));
	/* Path parameters go as a query does: ";jsessionid=" is a token. */
	assert_int_equal(
	        parse("{\"site\":\"demo\",\"type\":\"pageview\","
	              "\"url\":\"https://example.com/shop;jsessionid=S3CR3T/"
	              "cart;v=2?page=3\",\"referrer\":\"https://other.example/"
	              "a;sid=T0KEN/b\"}"),
	        SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_URL),
	                    "https://example.com/shop/cart?page=3");
	assert_string_equal(str(0, SEULA_FIELD_PATH), "/shop/cart");
	assert_string_equal(str(0, SEULA_FIELD_REFERRER),
	                    "https://other.example/a/b");
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/;x=1\"}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_PATH), "/");
	/* ?ref= or ?source= tags a link without utm_source; utm_source
	 * wins over them. */
	assert_int_equal(
	        parse("{\"site\":\"demo\",\"type\":\"pageview\","
	              "\"url\":\"https://example.com/?ref=Product+Hunt\"}"),
	        SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_UTM_SOURCE), "Product Hunt");
	assert_string_equal(str(0, SEULA_FIELD_URL), "https://example.com/");
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/?source=news&"
	                       "utm_source=mail\"}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_UTM_SOURCE), "mail");
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/?source=\"}"),
	                 SEULA_OK);
	assert_null(str(0, SEULA_FIELD_UTM_SOURCE));
	/* A port other than the default stays; IPv6 literal hosts work. */
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"http://[::1]:8080/\"}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_URL), "http://[::1]:8080/");
	assert_string_equal(str(0, SEULA_FIELD_HOSTNAME), "[::1]");
	/* No path at all is "/"; a non-web referrer is ignored. */
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://sub.example.org\","
	                       "\"referrer\":\"android-app://com.x\"}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_PATH), "/");
	assert_string_equal(str(0, SEULA_FIELD_REFERRER),
	                    "android-app://com.x");
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/\","
	                       "\"referrer\":\"about:blank\"}"),
	                 SEULA_OK);
	assert_null(str(0, SEULA_FIELD_REFERRER));
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/\","
	                       "\"referrer\":\"android-app://x y/\"}"),
	                 SEULA_OK);
	assert_null(str(0, SEULA_FIELD_REFERRER));
}

/* Long input whose stored form is short is kept; a title is trimmed and
 * cleaned rather than refused. */
/* A path (and kept query) with raw bytes, as a web server logs it, is
 * stored percent-encoded as a browser sends it; escapes stay, in upper
 * case. */
static void paths_stored_as_browsers_send_them(void **state)
{
	(void)state;
	static const struct {
		const char *url, *path, *stored;
	} cases[] = {
	        {"https://example.com/odd/caf\xc3\xa9?page=\xc3\xa4&x=\xc3\xa4",
	         "/odd/caf%C3%A9",
	         "https://example.com/odd/caf%C3%A9?page=%C3%A4"},
	        {"https://example.com/odd/caf%C3%A9", "/odd/caf%C3%A9",
	         "https://example.com/odd/caf%C3%A9"},
	        /* Escapes in lower case are the same bytes: upper case, as
	         * browsers write them, so the page is one page. */
	        {"https://example.com/a%c3%a9%20b/%", "/a%C3%A9%20b/%",
	         "https://example.com/a%C3%A9%20b/%"},
	        {"https://example.com/%2f%7E%", "/%2F%7E%",
	         "https://example.com/%2F%7E%"},
	        {"https://example.com/\"<x>\"/\xff\x7f",
	         "/%22%3Cx%3E%22/%FF%7F",
	         "https://example.com/%22%3Cx%3E%22/%FF%7F"},
	        /* All but ";", which starts a path parameter (cut). */
	        {"https://example.com/a-z_~!$&'()*+,=:@;p=1",
	         "/a-z_~!$&'()*+,=:@", "https://example.com/a-z_~!$&'()*+,=:@"},
	};
	const struct seula_site *site = seula_config_site(&cfg, "demo");
	assert_non_null(site);
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		seula_arena_free(&arena);
		seula_arena_init(&arena, 1 << 16);
		struct seula_event *ev = seula_event_new(&arena);
		assert_int_equal(seula_collect_take_url(ev, site, cases[i].url,
		                                        strlen(cases[i].url),
		                                        &cerr),
		                 SEULA_OK);
		assert_string_equal(seula_event_str(ev, SEULA_FIELD_PATH),
		                    cases[i].path);
		assert_string_equal(seula_event_str(ev, SEULA_FIELD_URL),
		                    cases[i].stored);
	}
	/* The collect path the same: one page, one path. */
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/k\u00e4y\"}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_PATH), "/k%C3%A4y");
	/* Three bytes for each past the limit: too long, as sent. */
	static char b[8000];
	char path[700 * 2 + 1] = "";
	for (int i = 0; i < 700; i++)
		strcat(path, "\xc3\xa4");
	snprintf(b, sizeof(b),
	         "{\"site\":\"demo\",\"type\":\"pageview\","
	         "\"url\":\"https://example.com/%s\"}",
	         path);
	expect(b, 400, "invalid_event", "longer than");
}

static void long_input_is_trimmed_not_refused(void **state)
{
	(void)state;
	static char b[12000];
	char q[5000];
	memset(q, 'x', sizeof(q) - 1);
	q[sizeof(q) - 1] = '\0';
	snprintf(b, sizeof(b),
	         "{\"site\":\"demo\",\"type\":\"pageview\","
	         "\"url\":\"https://example.com/p?utm_source=s&junk=%s\","
	         "\"referrer\":\"https://www.google.com/search?q=%s\"}",
	         q, q);
	assert_int_equal(parse(b), SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_URL), "https://example.com/p");
	assert_string_equal(str(0, SEULA_FIELD_UTM_SOURCE), "s");
	assert_string_equal(str(0, SEULA_FIELD_REFERRER),
	                    "https://www.google.com/search");
	/* A referrer path too long to keep keeps its origin. */
	snprintf(b, sizeof(b),
	         "{\"site\":\"demo\",\"type\":\"pageview\","
	         "\"url\":\"https://example.com/\","
	         "\"referrer\":\"https://ref.example.net/%s\"}",
	         q);
	assert_int_equal(parse(b), SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_REFERRER),
	                    "https://ref.example.net/");
	/* 1,030 bytes of "ä" (2 bytes each) and a newline. */
	char title[1200] = "A\\nB ";
	for (int i = 0; i < 515; i++)
		strcat(title, "\xc3\xa4");
	snprintf(b, sizeof(b),
	         "{\"site\":\"demo\",\"type\":\"pageview\","
	         "\"url\":\"https://example.com/\",\"title\":\"%s\"}",
	         title);
	assert_int_equal(parse(b), SEULA_OK);
	const char *t = str(0, SEULA_FIELD_TITLE);
	assert_true(strlen(t) <= SEULA_TITLE_MAX);
	assert_int_equal(strlen(t) % 2, 0); /* "A B " + whole letters */
	assert_memory_equal(t, "A B ", 4);
	assert_true(seula_text_valid(t, strlen(t)));
}

static void custom_events_and_engagement(void **state)
{
	(void)state;
	assert_int_equal(
	        parse("[{\"site\":\"demo\",\"type\":\"event\","
	              "\"url\":\"https://example.com/\",\"name\":\"signup\","
	              "\"props\":{\"plan\":\"pro\",\"n\":3,\"ok\":true,"
	              "\"z\":null}},"
	              "{\"site\":\"demo\",\"type\":\"engagement\","
	              "\"url\":\"https://example.com/\","
	              "\"engagement_ms\":1234,"
	              "\"visitor_id\":\"1B4E28BA-2FA1-11D2-883F-0016D3CCA427\"}"
	              "]"),
	        SEULA_OK);
	assert_int_equal(res.n_events, 2);
	assert_string_equal(str(0, SEULA_FIELD_NAME), "signup");
	assert_string_equal(
	        str(0, SEULA_FIELD_PROPS),
	        "{\"n\":3,\"ok\":true,\"plan\":\"pro\",\"z\":null}");
	int64_t v;
	assert_int_equal(
	        seula_event_int(res.events[1], SEULA_FIELD_ENGAGEMENT_MS, &v),
	        0);
	assert_int_equal(v, 1234);
	assert_string_equal(str(1, SEULA_FIELD_VISITOR_ID),
	                    "1b4e28ba-2fa1-11d2-883f-0016d3cca427");
	/* A value typed into a form: its line breaks become spaces, the
	 * event stays; a tab stays a tab. */
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"event\","
	                       "\"url\":\"https://example.com/\","
	                       "\"name\":\"search\",\"props\":{\"q\":"
	                       "\"two\\r\\nlines\\t\\u007f\u00e4\"}}"),
	                 SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_PROPS),
	                    "{\"q\":\"two  lines\\t \\u00E4\"}");
}

static void bad_requests_named(void **state)
{
	(void)state;
	const char *pv = "\"site\":\"demo\",\"type\":\"pageview\","
	                 "\"url\":\"https://example.com/\"";
	char b[1024];
	expect("", 400, "empty_body", NULL);
	expect("{", 400, "invalid_json", "line 1");
	expect("[]", 400, "invalid_event", "empty");
	expect("[1]", 400, "invalid_event", "not a JSON object");
	expect("\"x\"", 400, "invalid_json", NULL);
	expect("{\"site\":\"demo\",\"site\":\"demo\"}", 400, "invalid_json",
	       "duplicate");
	expect("{\"site\":\"d\\u0000\"}", 400, "invalid_json", NULL);
	expect("{\"site\":\"\xff\"}", 400, "invalid_json", NULL);
	expect("{\"type\":\"pageview\",\"url\":\"https://example.com/\"}", 400,
	       "missing_field", "site");
	expect("{\"site\":\"nope\",\"type\":\"pageview\"}", 404, "unknown_site",
	       "nope");
	expect("{\"site\":\"demo\",\"url\":\"https://example.com/\"}", 400,
	       "missing_field", "type");
	expect("{\"site\":\"demo\",\"type\":\"click\"}", 400, "invalid_event",
	       "type must be");
	expect("{\"site\":\"demo\",\"type\":\"pageview\"}", 400,
	       "missing_field", "url");
	expect("{\"site\":\"demo\",\"type\":\"pageview\",\"url\":\"/rel\"}",
	       400, "invalid_event", "absolute");
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"ftp://example.com/\"}",
	       400, "invalid_event", "absolute");
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://evil.com/\"}",
	       403, "domain_not_allowed", "evil.com");
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://example.com.evil.com/\"}",
	       403, "domain_not_allowed", NULL);
	/* Under a wildcard domain, only names DNS could have. */
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://a..example.org/\"}",
	       400, "invalid_event", "host name");
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://%61.example.org/\"}",
	       400, "invalid_event", "host name");
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://a%00.example.org/\"}",
	       400, "invalid_event", "host name");
	snprintf(b, sizeof(b), "{%s,\"colour\":\"red\"}", pv);
	expect(b, 400, "invalid_event", "unknown field 'colour'");
	snprintf(b, sizeof(b), "{%s,\"title\":5}", pv);
	expect(b, 400, "invalid_event", "title must be a string");
	snprintf(b, sizeof(b), "{%s,\"screen_width\":\"5\"}", pv);
	expect(b, 400, "invalid_event", "integer");
	snprintf(b, sizeof(b), "{%s,\"screen_width\":0}", pv);
	expect(b, 400, "invalid_event", "between 1 and 100000");
	snprintf(b, sizeof(b), "{%s,\"screen_height\":1.5}", pv);
	expect(b, 400, "invalid_event", "integer");
	snprintf(b, sizeof(b), "{%s,\"language\":\"fi FI\"}", pv);
	expect(b, 400, "invalid_event", "language");
	snprintf(b, sizeof(b), "{%s,\"name\":\"x\"}", pv);
	expect(b, 400, "invalid_event", "name belongs to custom events");
	snprintf(b, sizeof(b), "{%s,\"engagement_ms\":5}", pv);
	expect(b, 400, "invalid_event", "engagement_ms belongs");
	snprintf(b, sizeof(b), "{%s,\"visitor_id\":\"not-a-uuid\"}", pv);
	expect(b, 400, "invalid_event", "UUID");
	snprintf(b, sizeof(b), "{%s,\"props\":{\"a\":[1]}}", pv);
	expect(b, 400, "invalid_event", "props.a");
	snprintf(b, sizeof(b), "{%s,\"props\":{\"\":1}}", pv);
	expect(b, 400, "invalid_event", "props key");
	expect("{\"site\":\"demo\",\"type\":\"event\","
	       "\"url\":\"https://example.com/\"}",
	       400, "invalid_event", "needs a name");
	expect("{\"site\":\"demo\",\"type\":\"engagement\","
	       "\"url\":\"https://example.com/\"}",
	       400, "missing_field", "engagement_ms");
	expect("{\"site\":\"demo\",\"type\":\"engagement\","
	       "\"url\":\"https://example.com/\",\"engagement_ms\":-1}",
	       400, "invalid_event", "between 0");
	snprintf(b, sizeof(b), "[{%s},{%s},{%s},{%s}]", pv, pv, pv, pv);
	expect(b, 400, "too_many_events", "at most 3");
	/* One bad event spoils the request: all or nothing. */
	snprintf(b, sizeof(b), "[{%s},{\"site\":\"demo\"}]", pv);
	expect(b, 400, "missing_field", "event 1");

	char longurl[10000] = "{\"site\":\"demo\",\"type\":\"pageview\","
	                      "\"url\":\"https://example.com/";
	memset(longurl + strlen(longurl), 'a', 2100);
	strcat(longurl, "\"}");
	expect(longurl, 400, "invalid_event", "path is longer than 2048");
	memset(longurl + 60, 'a', 8200);
	strcpy(longurl + 8260, "\"}");
	expect(longurl, 400, "invalid_event", "url must be 1 to 8192");
	char props[4000] = "{\"site\":\"demo\",\"type\":\"pageview\","
	                   "\"url\":\"https://example.com/\",\"props\":{";
	for (int i = 0; i < 31; i++)
		sprintf(props + strlen(props), "%s\"k%d\":1", i ? "," : "", i);
	strcat(props, "}}");
	expect(props, 400, "invalid_event", "more than 30 keys");
}

static void origins(void **state)
{
	(void)state;
	const struct seula_site *demo = seula_config_site(&cfg, "demo");
	assert_true(seula_collect_origin_allowed(demo, "https://example.com"));
	assert_true(
	        seula_collect_origin_allowed(demo, "http://example.com:8080"));
	assert_true(
	        seula_collect_origin_allowed(demo, "https://a.example.org"));
	assert_true(seula_collect_origin_allowed(demo, "http://[::1]:3000"));
	assert_false(seula_collect_origin_allowed(demo, "null"));
	assert_false(seula_collect_origin_allowed(demo, "https://evil.com"));
	assert_false(seula_collect_origin_allowed(demo, "file://example.com"));
	assert_false(
	        seula_collect_origin_allowed(demo, "https://example.com/path"));
	/* The host is what follows the last '@': these are evil.com's. */
	assert_false(seula_collect_origin_allowed(
	        demo, "http://example.com:8080@evil.com"));
	assert_false(seula_collect_origin_allowed(
	        demo, "http://example.com@evil.com"));
	assert_false(
	        seula_collect_origin_allowed(demo, "http://example.com:80x"));
	assert_false(seula_collect_origin_allowed(demo,
	                                          "http://example.com:123456"));
	assert_true(seula_collect_origin_allowed(demo, "http://[::1]:3000"));
	origin = "https://other.fi";
	expect("{\"site\":\"demo\",\"type\":\"pageview\","
	       "\"url\":\"https://example.com/\"}",
	       403, "origin_not_allowed", NULL);
	origin = "https://example.com";
	assert_int_equal(parse("{\"site\":\"demo\",\"type\":\"pageview\","
	                       "\"url\":\"https://example.com/\"}"),
	                 SEULA_OK);
	origin = NULL;
}

static void query_form(void **state)
{
	(void)state;
	assert_int_equal(
	        parse_query("site=demo&type=event&url=https%3A%2F%2F"
	                    "example.com%2Fx%3Futm_campaign%3Dwinter"
	                    "&name=buy&props=%7B%22sku%22%3A%22a1%22%7D"
	                    "&screen_width=390"),
	        SEULA_OK);
	assert_string_equal(str(0, SEULA_FIELD_NAME), "buy");
	assert_string_equal(str(0, SEULA_FIELD_PROPS), "{\"sku\":\"a1\"}");
	assert_string_equal(str(0, SEULA_FIELD_UTM_CAMPAIGN), "winter");
	int64_t w;
	assert_int_equal(
	        seula_event_int(res.events[0], SEULA_FIELD_SCREEN_WIDTH, &w),
	        0);
	assert_int_equal(w, 390);
	assert_int_not_equal(parse_query(""), SEULA_OK);
	assert_int_not_equal(parse_query("site=demo&site=demo"), SEULA_OK);
	assert_non_null(strstr(cerr.message, "twice"));
	assert_int_not_equal(parse_query("site=demo&x=1"), SEULA_OK);
	assert_int_not_equal(
	        parse_query("site=demo&type=pageview&url=https%3A%2F%2Fexample."
	                    "com%2F&screen_width=12abc"),
	        SEULA_OK);
	assert_int_not_equal(parse_query("site=demo&type=pageview&url=https%3A%"
	                                 "2F%2Fexample.com%2F&props=%5B%5D"),
	                     SEULA_OK);
	assert_int_not_equal(parse_query("site=%FF"), SEULA_OK);
	seula_arena_free(&arena);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(pageview_is_normalised),
	        cmocka_unit_test(paths_stored_as_browsers_send_them),
	        cmocka_unit_test(long_input_is_trimmed_not_refused),
	        cmocka_unit_test(custom_events_and_engagement),
	        cmocka_unit_test(bad_requests_named),
	        cmocka_unit_test(origins),
	        cmocka_unit_test(query_form),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
