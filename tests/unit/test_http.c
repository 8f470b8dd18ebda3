/* Unit tests: core/http.c - the query parser libevent 2.1 lacks, and the
 * JSON media type check every body route shares. */
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(queries), cmocka_unit_test(decimals),
	        cmocka_unit_test(escapes), cmocka_unit_test(media_types),
	        cmocka_unit_test(reasons),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
