/* Unit tests: core/importlog.c - access log lines and which are page views. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "date.h"
#include "importlog.h"
#include "netaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The parser writes into its line: parse a copy, with the byte past the end
 * the parser may write. */
static char buf[SEULA_LOG_LINE_MAX + 64];

static enum seula_log_error parse(const char *text, enum seula_log_format fmt,
                                  struct seula_log_line *out)
{
	size_t len = strlen(text);
	assert_true(len < sizeof(buf));
	memcpy(buf, text, len + 1);
	return seula_log_parse(buf, len, fmt, out);
}

static const char *ip_text(const struct seula_log_line *l)
{
	static char t[SEULA_IP_TEXT_MAX];
	assert_int_equal(seula_ip_format(&l->ip, t, sizeof(t)), SEULA_OK);
	return t;
}

/* 2000-10-10 20:55:36 UTC, Apache's documentation example. */
#define APACHE_EXAMPLE_MS 971211336000LL

static void combined_line(void **state)
{
	(void)state;
	struct seula_log_line l;
	assert_int_equal(
	        parse("127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] \"GET "
	              "/apache_pb.gif HTTP/1.0\" 200 2326 "
	              "\"http://www.example.com/start.html\" \"Mozilla/4.08 "
	              "[en] (Win98; I ;Nav)\"",
	              SEULA_LOG_COMBINED, &l),
	        SEULA_LOG_OK);
	assert_string_equal(ip_text(&l), "127.0.0.1");
	assert_int_equal(l.time_ms, APACHE_EXAMPLE_MS);
	assert_string_equal(l.method, "GET");
	assert_string_equal(l.target, "/apache_pb.gif");
	assert_int_equal(l.status, 200);
	assert_int_equal(l.bytes, 2326);
	assert_string_equal(l.referrer, "http://www.example.com/start.html");
	assert_string_equal(l.user_agent, "Mozilla/4.08 [en] (Win98; I ;Nav)");
	assert_null(l.vhost);
	assert_int_equal(seula_log_classify(&l), SEULA_LOG_SKIP_ASSET);
}

static void common_and_vhost_lines(void **state)
{
	(void)state;
	struct seula_log_line l;
	assert_int_equal(parse("10.1.2.3 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET /about HTTP/1.1\" 304 -",
	                       SEULA_LOG_COMMON, &l),
	                 SEULA_LOG_OK);
	assert_int_equal(l.bytes, -1);
	assert_null(l.referrer);
	assert_null(l.user_agent);
	assert_int_equal(seula_log_classify(&l), SEULA_LOG_PAGEVIEW);
	/* A combined line read as common: the rest is ignored. */
	assert_int_equal(parse("10.1.2.3 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 5 \"-\" \"UA\"",
	                       SEULA_LOG_COMMON, &l),
	                 SEULA_LOG_OK);

	assert_int_equal(parse("WWW.Example.com:443 192.0.2.1 - - "
	                       "[10/Oct/2000:13:55:36 -0700] \"GET /a?b=1 "
	                       "HTTP/2.0\" 200 99 \"-\" \"curl/8\"",
	                       SEULA_LOG_VHOST_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_string_equal(l.vhost, "WWW.Example.com");
	assert_string_equal(l.target, "/a?b=1");
	assert_null(l.referrer);
	assert_string_equal(l.user_agent, "curl/8");
	assert_int_equal(parse("[2001:db8::5]:8080 192.0.2.1 - - "
	                       "[10/Oct/2000:13:55:36 -0700] \"GET / "
	                       "HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_VHOST_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_string_equal(l.vhost, "[2001:db8::5]");
	assert_null(l.user_agent);
	/* vhost_combined without its vhost: "-" is no address. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_VHOST_COMBINED, &l),
	                 SEULA_LOG_E_ADDRESS);
	/* nginx's extra fields after the user agent, and a CRLF end. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"UA\" "
	                       "\"198.51.100.1\" 0.003\r",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_string_equal(l.user_agent, "UA");
}

static void timezones(void **state)
{
	(void)state;
	struct seula_log_line l;
	static const struct {
		const char *stamp;
		int64_t ms;
	} cases[] = {
	        {"[10/Oct/2000:13:55:36 -0700]", APACHE_EXAMPLE_MS},
	        {"[10/Oct/2000:20:55:36 +0000]", APACHE_EXAMPLE_MS},
	        {"[11/Oct/2000:02:25:36 +0530]", APACHE_EXAMPLE_MS},
	        /* Across a year's end, backwards and forwards. */
	        {"[01/Jan/2025:01:30:00 +0200]", 1735687800000LL},
	        {"[31/Dec/2024:23:30:00 +0000]", 1735687800000LL},
	        {"[31/Dec/2024:13:30:00 -1000]", 1735687800000LL},
	        /* Leap day, and the epoch itself. */
	        {"[29/Feb/2024:12:00:00 +0000]", 1709208000000LL},
	        {"[01/Jan/1970:00:00:00 +0000]", 0},
	        {"[01/Jan/1970:02:00:00 +0200]", 0},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		char line[256];
		snprintf(
		        line, sizeof(line),
		        "192.0.2.1 - - %s \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
		        cases[i].stamp);
		assert_int_equal(parse(line, SEULA_LOG_COMBINED, &l),
		                 SEULA_LOG_OK);
		if (l.time_ms != cases[i].ms)
			fail_msg("%s: %lld, not %lld", cases[i].stamp,
			         (long long)l.time_ms, (long long)cases[i].ms);
	}
	static const char *const bad[] = {
	        "[29/Feb/2023:12:00:00 +0000]", "[31/Apr/2024:12:00:00 +0000]",
	        "[10/Oct/2000:24:00:00 +0000]", "[10/Foo/2000:13:55:36 +0000]",
	        "[10/Oct/2000:13:55:36 0700]",  "[10/Oct/2000:13:55:36 +07]",
	        "[10/Oct/1969:13:55:36 +0000]", "[01/Jan/1970:00:00:00 +0100]",
	        "10/Oct/2000:13:55:36 -0700",   "[1/Oct/2000:13:55:36 -0700]",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
		char line[256];
		snprintf(
		        line, sizeof(line),
		        "192.0.2.1 - - %s \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
		        bad[i]);
		if (parse(line, SEULA_LOG_COMBINED, &l) != SEULA_LOG_E_TIME)
			fail_msg("%s was taken", bad[i]);
	}
	assert_int_equal(seula_days_from_civil(1970, 1, 1), 0);
	assert_int_equal(seula_days_from_civil(2000, 3, 1), 11017);
}

static void escapes(void **state)
{
	(void)state;
	struct seula_log_line l;
	/* Apache: \" and \\ inside quoted fields. */
	assert_int_equal(
	        parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"GET "
	              "/q?a=\\\"x\\\" HTTP/1.1\" 200 1 \"-\" \"Agent "
	              "\\\"quoted\\\" back\\\\slash\"",
	              SEULA_LOG_COMBINED, &l),
	        SEULA_LOG_OK);
	assert_string_equal(l.target, "/q?a=\"x\"");
	assert_string_equal(l.user_agent, "Agent \"quoted\" back\\slash");
	/* nginx: \x22 and \x5C, and bytes it escaped. */
	assert_int_equal(
	        parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"GET / "
	              "HTTP/1.1\" 200 1 \"http://a.example/\\x22q\\x22\" "
	              "\"UA\\x5Cx \\xC3\\xA4\"",
	              SEULA_LOG_COMBINED, &l),
	        SEULA_LOG_OK);
	assert_string_equal(l.referrer, "http://a.example/\"q\"");
	assert_string_equal(l.user_agent, "UA\\x \xc3\xa4");
	/* A lone backslash, and a bad \x escape, stand for themselves. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"a\\b\\xZZ\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_string_equal(l.user_agent, "a\\b\\xZZ");
	/* Empty quoted fields are absent, as "-" is. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"\" \"\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_null(l.referrer);
	assert_null(l.user_agent);
}

static void addresses(void **state)
{
	(void)state;
	struct seula_log_line l;
	assert_int_equal(parse("2001:db8::42 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_int_equal(l.ip.family, 6);
	assert_string_equal(ip_text(&l), "2001:db8::42");
	assert_int_equal(parse("::ffff:192.0.2.9 - - [10/Oct/2000:13:55:36 "
	                       "-0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	/* A host name (HostnameLookups On) is not an address. */
	assert_int_equal(parse("host.example.com - - [10/Oct/2000:13:55:36 "
	                       "-0700] \"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_ADDRESS);
	assert_int_equal(parse("300.1.1.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_ADDRESS);
}

static void truncated_and_garbage(void **state)
{
	(void)state;
	struct seula_log_line l;
	const char *full = "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"GET "
	                   "/x HTTP/1.1\" 200 1 \"http://r.example/\" \"UA\"";
	size_t n = strlen(full);
	/* Every prefix is refused with some reason, never read past. */
	for (size_t cut = 0; cut < n - 1; cut++) {
		char *p = malloc(cut + 1);
		memcpy(p, full, cut);
		enum seula_log_error e =
		        seula_log_parse(p, cut, SEULA_LOG_COMBINED, &l);
		if (e == SEULA_LOG_OK)
			fail_msg("a line cut at %zu was taken", cut);
		free(p);
	}
	assert_int_equal(parse("", SEULA_LOG_COMBINED, &l), SEULA_LOG_E_EMPTY);
	assert_int_equal(parse("   \r", SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_EMPTY);
	assert_int_equal(
	        parse("\x16\x03\x01\x02\x00\x01", SEULA_LOG_COMBINED, &l),
	        SEULA_LOG_E_ADDRESS);
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 2000 1 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_STATUS);
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 12k \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_BYTES);
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 - -",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_REFERRER);
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET / HTTP/1.1\" 200 1 \"-\" \"open",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_USER_AGENT);
	/* A request that ends in a backslash never closes. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"GET /\\\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_REQUEST);
	/* A TLS handshake on the HTTP port is a well-formed line, not a
	 * request: nginx logs it as 400. */
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"\\x16\\x03\\x01\" 400 157 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_null(l.method);
	assert_int_equal(seula_log_classify(&l), SEULA_LOG_SKIP_METHOD);
	assert_int_equal(parse("192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	                       "\"-\" 400 0 \"-\" \"-\"",
	                       SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_null(l.request);
	assert_int_equal(seula_log_classify(&l), SEULA_LOG_SKIP_METHOD);
	/* Spaces inside the target: no page, with or without a protocol. */
	for (int i = 0; i < 2; i++) {
		assert_int_equal(
		        parse(i ? "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
		                  "\"GET /a b HTTP/1.1\" 200 1 \"-\" \"-\""
		                : "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
		                  "\"GET /a b c\" 200 1 \"-\" \"-\"",
		              SEULA_LOG_COMBINED, &l),
		        SEULA_LOG_OK);
		assert_null(l.target);
		assert_int_equal(seula_log_classify(&l), SEULA_LOG_SKIP_METHOD);
	}
	/* A NUL byte would end the target there. */
	char nul[] = "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] "
	             "\"GET /nul\0byte HTTP/1.1\" 200 1 \"-\" \"-\"";
	assert_int_equal(
	        seula_log_parse(nul, sizeof(nul) - 1, SEULA_LOG_COMBINED, &l),
	        SEULA_LOG_E_NUL);
}

static void oversize(void **state)
{
	(void)state;
	struct seula_log_line l;
	size_t len = SEULA_LOG_LINE_MAX + 1;
	char *p = malloc(len + 1);
	memset(p, 'a', len);
	p[len] = '\0';
	assert_int_equal(seula_log_parse(p, len, SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_E_TOO_LONG);
	/* At the limit, a long target is still a line. */
	const char *head = "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"GET /";
	const char *tail = " HTTP/1.1\" 200 1 \"-\" \"-\"";
	len = SEULA_LOG_LINE_MAX;
	size_t fill = len - strlen(head) - strlen(tail);
	memcpy(p, head, strlen(head));
	memset(p + strlen(head), 'b', fill);
	memcpy(p + strlen(head) + fill, tail, strlen(tail));
	assert_int_equal(seula_log_parse(p, len, SEULA_LOG_COMBINED, &l),
	                 SEULA_LOG_OK);
	assert_int_equal(strlen(l.target), fill + 1);
	free(p);
	assert_string_equal(seula_log_error_name(SEULA_LOG_E_TOO_LONG),
	                    "too long");
}

static enum seula_log_kind kind_of(const char *method_target, int status)
{
	char line[512];
	struct seula_log_line l;
	snprintf(line, sizeof(line),
	         "192.0.2.1 - - [10/Oct/2000:13:55:36 -0700] \"%s HTTP/1.1\" "
	         "%d 1 \"-\" \"-\"",
	         method_target, status);
	assert_int_equal(parse(line, SEULA_LOG_COMBINED, &l), SEULA_LOG_OK);
	return seula_log_classify(&l);
}

static void which_lines_are_pageviews(void **state)
{
	(void)state;
	assert_int_equal(kind_of("GET /", 200), SEULA_LOG_PAGEVIEW);
	assert_int_equal(kind_of("GET /blog/post.html?utm_source=x", 200),
	                 SEULA_LOG_PAGEVIEW);
	assert_int_equal(kind_of("GET /index.php", 304), SEULA_LOG_PAGEVIEW);
	assert_int_equal(kind_of("GET /v1.2/notes", 200), SEULA_LOG_PAGEVIEW);
	assert_int_equal(kind_of("HEAD /", 200), SEULA_LOG_SKIP_METHOD);
	assert_int_equal(kind_of("POST /login", 200), SEULA_LOG_SKIP_METHOD);
	assert_int_equal(kind_of("get /", 200), SEULA_LOG_SKIP_METHOD);
	assert_int_equal(kind_of("GET /", 301), SEULA_LOG_SKIP_STATUS);
	assert_int_equal(kind_of("GET /", 404), SEULA_LOG_SKIP_STATUS);
	assert_int_equal(kind_of("GET /", 500), SEULA_LOG_SKIP_STATUS);
	assert_int_equal(kind_of("GET /", 204), SEULA_LOG_SKIP_STATUS);
	assert_int_equal(kind_of("GET /video", 206), SEULA_LOG_SKIP_STATUS);
	assert_int_equal(kind_of("GET /a/site.CSS?v=3", 200),
	                 SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /app.js", 304), SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /img/logo.webp", 200),
	                 SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /fonts/x.woff2", 200),
	                 SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /favicon.ico", 200),
	                 SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /robots.txt", 200), SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET /.well-known/security", 200),
	                 SEULA_LOG_SKIP_ASSET);
	assert_int_equal(kind_of("GET http://other.example/", 200),
	                 SEULA_LOG_SKIP_TARGET);
	assert_int_equal(kind_of("GET //evil", 200), SEULA_LOG_SKIP_TARGET);
	assert_int_equal(kind_of("CONNECT a.example:443", 200),
	                 SEULA_LOG_SKIP_METHOD);
}

static void format_names(void **state)
{
	(void)state;
	enum seula_log_format f;
	assert_true(seula_log_format_parse("combined", &f));
	assert_int_equal(f, SEULA_LOG_COMBINED);
	assert_true(seula_log_format_parse("vhost_combined", &f));
	assert_string_equal(seula_log_format_name(f), "vhost_combined");
	assert_false(seula_log_format_parse("json", &f));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(combined_line),
	        cmocka_unit_test(common_and_vhost_lines),
	        cmocka_unit_test(timezones),
	        cmocka_unit_test(escapes),
	        cmocka_unit_test(addresses),
	        cmocka_unit_test(truncated_and_garbage),
	        cmocka_unit_test(oversize),
	        cmocka_unit_test(which_lines_are_pageviews),
	        cmocka_unit_test(format_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
