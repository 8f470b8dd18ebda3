/* Unit tests: core/event.c - fields, text validation, IP wiping. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "event.h"
#include "netaddr.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void text_validation(void **state)
{
	(void)state;
	const char *good[] = {"",
	                      "plain",
	                      "tab\there",
	                      "Ääkköset ja 🐟",
	                      "\xe2\x82\xac",
	                      "\xf4\x8f\xbf\xbf"};
	for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
		assert_true(seula_text_valid(good[i], strlen(good[i])));
	const char *bad[] = {
	        "nul\0x", /* NUL, checked with explicit length below */
	        "new\nline",
	        "\x7f",
	        "\xc0\xaf", /* overlong */
	        "\xed\xa0\x80",
	        /* surrogate */ "\xf4\x90\x80\x80", /* > U+10FFFF */
	        "\xe2\x82",
	        /* truncated */ "\x80",
	        "\xff",
	};
	assert_false(seula_text_valid(bad[0], 5));
	for (size_t i = 1; i < sizeof(bad) / sizeof(*bad); i++)
		assert_false(seula_text_valid(bad[i], strlen(bad[i])));
}

static void fields_typed_and_bounded(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	assert_non_null(ev);
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_TITLE, "Hi", 2),
	                 SEULA_OK);
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_TITLE), "Hi");
	assert_int_equal(
	        seula_event_set_str(ev, SEULA_FIELD_SCREEN_WIDTH, "1", 1),
	        SEULA_ETYPE);
	assert_int_equal(seula_event_set_int(ev, SEULA_FIELD_TITLE, 1),
	                 SEULA_ETYPE);
	int64_t v;
	assert_int_equal(seula_event_int(ev, SEULA_FIELD_SCREEN_WIDTH, &v),
	                 SEULA_ENOTFOUND);
	assert_int_equal(seula_event_set_int(ev, SEULA_FIELD_SCREEN_WIDTH, 0),
	                 SEULA_OK);
	assert_int_equal(seula_event_int(ev, SEULA_FIELD_SCREEN_WIDTH, &v),
	                 SEULA_OK);
	assert_int_equal(v, 0);
	assert_int_equal(seula_event_clear(ev, SEULA_FIELD_SCREEN_WIDTH), 0);
	assert_int_equal(seula_event_int(ev, SEULA_FIELD_SCREEN_WIDTH, &v),
	                 SEULA_ENOTFOUND);

	char big[SEULA_FIELD_MAX_BYTES + 2];
	memset(big, 'a', sizeof(big));
	assert_int_equal(
	        seula_event_set_str(ev, SEULA_FIELD_TITLE, big, sizeof(big)),
	        SEULA_ETOOBIG);
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_TITLE, "a\nb", 3),
	                 SEULA_EINVAL);
	assert_int_equal(seula_event_set_str(ev, (enum seula_field)999, "a", 1),
	                 SEULA_EINVAL);
	assert_null(seula_event_str(ev, (enum seula_field) - 1));
	/* Every field has a column, and only SITE, TYPE, TIME_MS are
	 * read-only for plugins. */
	for (int f = 0; f < SEULA_FIELD_COUNT_; f++) {
		assert_non_null(seula_field_column((enum seula_field)f));
		assert_int_equal(seula_field_is_readonly((enum seula_field)f),
		                 f == SEULA_FIELD_SITE ||
		                         f == SEULA_FIELD_TYPE ||
		                         f == SEULA_FIELD_TIME_MS);
	}
	seula_arena_free(&a);
}

static void wipe_erases_the_bytes(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 0);
	struct seula_event *ev = seula_event_new(&a);
	struct seula_ip ip;
	assert_int_equal(seula_ip_parse("203.0.113.77", &ip), SEULA_OK);
	seula_event_set_ip(ev, &ip);
	assert_non_null(seula_event_ip(ev));
	seula_event_wipe_ip(ev);
	assert_null(seula_event_ip(ev));
	const unsigned char *raw = (const unsigned char *)&ev->ip;
	for (size_t i = 0; i < sizeof(ev->ip); i++)
		assert_int_equal(raw[i], 0);
	seula_arena_free(&a);
}

static void headers_captured_and_sanitised(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 0);
	struct seula_event *ev = seula_event_new(&a);
	assert_int_equal(seula_event_add_header(ev, "user-agent", "UA/1.0"),
	                 SEULA_OK);
	assert_string_equal(seula_event_header(ev, "User-Agent"), "UA/1.0");
	assert_int_equal(seula_event_add_header(ev, "Cookie", "x=1"),
	                 SEULA_ENOTFOUND);
	assert_null(seula_event_header(ev, "Cookie"));
	assert_int_equal(seula_event_add_header(ev, "DNT", "1\x01"), SEULA_OK);
	assert_string_equal(seula_event_header(ev, "DNT"), "1?");
	assert_int_equal(
	        seula_event_add_header(ev, "Accept-Language", "fi\xe4\xc3\xa4"),
	        SEULA_OK);
	assert_string_equal(seula_event_header(ev, "accept-language"), "fi???");
	char longua[5000];
	memset(longua, 'x', sizeof(longua) - 1);
	longua[sizeof(longua) - 1] = '\0';
	assert_int_equal(seula_event_add_header(ev, "Sec-CH-UA", longua),
	                 SEULA_OK);
	assert_int_equal(strlen(seula_event_header(ev, "sec-ch-ua")),
	                 SEULA_HEADER_MAX_BYTES);
	seula_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(text_validation),
	        cmocka_unit_test(fields_typed_and_bounded),
	        cmocka_unit_test(wipe_erases_the_bytes),
	        cmocka_unit_test(headers_captured_and_sanitised),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
