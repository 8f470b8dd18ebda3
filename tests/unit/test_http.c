/* Unit tests: core/http.c - the query parser libevent 2.1 lacks, the
 * JSON media type check every body route shares, and the Accept-Encoding
 * and If-None-Match readers of the static files. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "http.h"

#include <string.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

/* The parsed query as "k=v&k=v" (decoded), or NULL when refused. */
static const char *parsed(const char *raw)
{
	static char out[256];
	struct evkeyvalq q;
	if (seula_query_parse(raw, &q) != SEULA_OK) {
		evhttp_clear_headers(&q);
		return NULL;
	}
	out[0] = '\0';
	for (struct evkeyval *kv = TAILQ_FIRST(&q); kv;
	     kv = TAILQ_NEXT(kv, next)) {
		if (out[0])
			strcat(out, "&");
		strcat(out, kv->key);
		strcat(out, "=");
		strcat(out, kv->value);
	}
	evhttp_clear_headers(&q);
	return out;
}

/* Every status a handler answers has its own reason phrase, not the
 * catch-all "Status". */
static void reasons(void **state)
{
	(void)state;
	static const int answered[] = {200, 201, 204, 400, 401, 403,
	                               404, 405, 409, 410, 413, 415,
	                               422, 429, 431, 500, 503};
	for (size_t i = 0; i < sizeof(answered) / sizeof(answered[0]); i++)
		assert_string_not_equal(seula_status_reason(answered[i]),
		                        "Status");
	assert_string_equal(seula_status_reason(422), "Unprocessable Content");
}

static void queries(void **state)
{
	(void)state;
	assert_string_equal(parsed("a=1&b=2"), "a=1&b=2");
	assert_string_equal(parsed(""), "");
	/* A part without '=' is a flag; empty parts are skipped. */
	assert_string_equal(parsed("debug"), "debug=");
	assert_string_equal(parsed("a=1&debug&b="), "a=1&debug=&b=");
	assert_string_equal(parsed("&&a=1&&"), "a=1");
	assert_string_equal(parsed("&"), "");
	assert_string_equal(parsed("a&b&c"), "a=&b=&c=");
	/* Decoded as libevent decodes: %XX, and '+' as a space. */
	assert_string_equal(parsed("q=%41%2b+b&p=%2F"), "q=A+ b&p=/");
	/* The names too: "%71" is "q", so a handler sees it given twice. */
	assert_string_equal(parsed("q=1&%71=2"), "q=1&q=2");
	assert_string_equal(parsed("a+b=1&%C3%A4=2&x%25=3"),
	                    "a b=1&\xC3\xA4=2&x%=3");
	assert_null(parsed("a%00b=1"));
	/* Refused: a malformed escape, a part with no name. */
	assert_null(parsed("q=%zz"));
	assert_null(parsed("q=%4"));
	assert_null(parsed("q=a%"));
	assert_null(parsed("%=1"));
	assert_null(parsed("=1"));
	assert_null(parsed("a=1&=2"));
}

static void escapes(void **state)
{
	(void)state;
	assert_true(seula_escapes_valid("", 0));
	assert_true(seula_escapes_valid("abc", 3));
	assert_true(seula_escapes_valid("%41%aF", 6));
	assert_false(seula_escapes_valid("%4", 2));
	assert_false(seula_escapes_valid("%", 1));
	assert_false(seula_escapes_valid("%g1", 3));
	/* Only the len bytes count: "%41" cut to "%4" is malformed. */
	assert_false(seula_escapes_valid("%41", 2));
}

static void media_types(void **state)
{
	(void)state;
	assert_true(seula_json_media_type("application/json", false));
	assert_true(seula_json_media_type("Application/JSON; charset=utf-8",
	                                  false));
	assert_true(seula_json_media_type("text/plain;charset=UTF8", true));
	assert_false(seula_json_media_type("text/plain", false));
	assert_false(seula_json_media_type(NULL, true));
	assert_false(seula_json_media_type("application/jsonp", true));
	assert_false(seula_json_media_type("text/plainx", true));
	assert_false(seula_json_media_type(
	        "application/json; charset=iso-8859-1", true));
}

/* Digits and a leading '-' only, within the bounds. */
static void decimals(void **state)
{
	(void)state;
	long long v = 0;
	assert_true(seula_decimal_parse("42", 0, 100, &v));
	assert_int_equal(v, 42);
	assert_true(seula_decimal_parse("-7", -10, 10, &v));
	assert_int_equal(v, -7);
	assert_true(seula_decimal_parse("0", 0, 0, &v));
	static const char *const bad[] = {"",
	                                  " 5",
	                                  "+5",
	                                  "5 ",
	                                  "-",
	                                  "--5",
	                                  "0x1",
	                                  "5a",
	                                  "101",
	                                  "-11",
	                                  "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		v = 123;
		assert_false(seula_decimal_parse(bad[i], -10, 100, &v));
		assert_int_equal(v, 123);
	}
	assert_false(seula_decimal_parse(NULL, 0, 1, &v));
}

/* Accept-Encoding as RFC 9110 12.5.3 reads it: gzip when named with a
 * weight above 0, itself or through "*", and not below identity's. */
static void accept_encoding(void **state)
{
	(void)state;
	static const char *const yes[] = {
	        "gzip", "GZip", "x-gzip", "deflate, gzip", " gzip ;q=0.5 ",
	        "gzip;Q=1.000", "gzip;q=0.001", "*", "br, *;q=0.3",
	        "gzip;q=0.5, identity;q=0.5", "gzip;q=0.5, identity;q=0.4",
	        "gzip;level=9", ",,gzip,,", "gzip\t;\tq=1",
	        /* A malformed element is skipped, the rest still read. */
	        "gzip;q=7, gzip", "\"gzip\", gzip"};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(seula_accepts_gzip(yes[i]));
	static const char *const no[] = {
	        "", "identity", "br, deflate", "gzip;q=0", "gzip;q=0.0",
	        "gzip;q=0.000", "GZIP ; Q=0", "*;q=0", "gzip;q=0, *",
	        "*, gzip;q=0", "x-gzip;q=0, *", "gzip;q=0.5, identity;q=0.6",
	        "gzip;q=0.5, identity" /* 1 */, "gzips", "xgzip", "gz",
	        /* Weights that do not parse count as no weight at all. */
	        "gzip;q=1.5", "gzip;q=0.0001", "gzip;q=", "gzip;q=.5",
	        "gzip;q=-1", "gzip;q=0.5x", "gzip q=1", "gzip;q=1 x",
	        "gzip;\"q\"=1"};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(seula_accepts_gzip(no[i]));
	assert_false(seula_accepts_gzip(NULL));
}

/* If-None-Match: a list of entity tags, weakly compared, or "*". */
static void if_none_match(void **state)
{
	(void)state;
	const char *etag = "\"abc-gz\"";
	static const char *const yes[] = {"\"abc-gz\"",
	                                  "W/\"abc-gz\"",
	                                  "\"x\", \"abc-gz\"",
	                                  " \"x\" ,\tW/\"y\",\"abc-gz\" ",
	                                  "*",
	                                  " * ",
	                                  "\"x\",*",
	                                  ",\"abc-gz\","};
	for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++)
		assert_true(seula_etag_none_match(yes[i], etag));
	static const char *const no[] = {
	        "", "\"abc\"", "abc-gz", "\"abc-gz", "w/\"abc-gz\"",
	        "\"ABC-GZ\"", "\"abc-gz\"x", "\"x\" \"abc-gz\"", "*x", "**",
	        "\"abc-g\"", "\"abc-gz \"",
	        /* Nothing after a malformed entry is read. */
	        "x, \"abc-gz\""};
	for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++)
		assert_false(seula_etag_none_match(no[i], etag));
	assert_false(seula_etag_none_match(NULL, etag));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(queries),
	        cmocka_unit_test(decimals),
	        cmocka_unit_test(escapes),
	        cmocka_unit_test(media_types),
	        cmocka_unit_test(reasons),
	        cmocka_unit_test(accept_encoding),
	        cmocka_unit_test(if_none_match),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
