/* Unit tests: core/redact.c - e-mail addresses out of stored text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "arena.h"
#include "redact.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The pipeline's (JIT where it can) and the interpreter's. */
static struct seula_redactor *r, *jit, *interp;

static int setup(void **state)
{
	(void)state;
	char err[200];
	if (seula_redactor_new(&jit, true, err, sizeof(err)) != SEULA_OK ||
	    seula_redactor_new(&interp, false, err, sizeof(err)) != SEULA_OK)
		return -1;
	r = jit;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	seula_redactor_free(jit);
	seula_redactor_free(interp);
	return 0;
}

/* The text after redaction; "" stands for "left as it was". */
static const char *redact(const char *in)
{
	static char buf[4096];
	char *out = NULL;
	assert_int_equal(seula_redact_text(r, in, strlen(in), &out), SEULA_OK);
	snprintf(buf, sizeof(buf), "%s", out ? out : "");
	free(out);
	return buf;
}

static void addresses_go(void **state)
{
	(void)state;
	assert_string_equal(redact("/unsubscribe/ann.smith+news@example.co.uk"),
	                    "/unsubscribe/(email)");
	assert_string_equal(redact("/u/Ann%40Example.COM/orders"),
	                    "/u/(email)/orders");
	assert_string_equal(
	        redact("{\"a\":\"x@y.fi\",\"b\":\"me@host.example\"}"),
	        "{\"a\":\"(email)\",\"b\":\"(email)\"}");
	assert_string_equal(redact("Order for bob_99@mail-server.example.org!"),
	                    "Order for (email)!");
}

static void other_text_stays(void **state)
{
	(void)state;
	/* No "@" at all: nothing to do, and no copy made. */
	assert_string_equal(redact("/pricing?plan=pro"), "");
	/* A handle, an "@" with no host, a percent escape of another byte. */
	assert_string_equal(redact("@seula on /contact"), "");
	assert_string_equal(redact("user@localhost"), "");
	assert_string_equal(redact("/a%41b/100%25"), "");
	assert_string_equal(redact("50%4"), "");
}

/* A body's worth of address characters with an "@" after them is one
 * pass, not one per start: the loop thread must never stall on it. */
static void long_run(void)
{
	size_t n = 60000;
	char *text = malloc(n + 1);
	assert_non_null(text);
	/* No address: the host after the "@" is empty; the "." defeats
	 * PCRE2's quick refusal of a text without one. */
	memset(text, 'a', n);
	memcpy(text + n - 3, "@.b", 3);
	text[n] = '\0';
	clock_t t0 = clock();
	char *out = NULL;
	for (int i = 0; i < 10; i++) {
		assert_int_equal(seula_redact_text(r, text, n, &out), SEULA_OK);
		assert_null(out);
	}
	text[n - 3] = 'a';
	text[n / 2] = '@';
	assert_int_equal(seula_redact_text(r, text, n, &out), SEULA_OK);
	assert_non_null(out);
	assert_string_equal(out, SEULA_REDACTED_EMAIL);
	free(out);
	double s = (double)(clock() - t0) / CLOCKS_PER_SEC;
	/* One pass per start took the interpreter a second a run here. */
	if (s > 2.0)
		fail_msg("11 redactions of 60,000 bytes took %.2f s", s);
	free(text);
}

static void long_runs_are_linear(void **state)
{
	(void)state;
	for (int k = 0; k < 2; k++) {
		r = k ? interp : jit;
		long_run();
	}
	r = jit;
}

static void event_fields(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	assert_non_null(ev);
	const char *url = "https://example.com/welcome/ann@example.com";
	assert_int_equal(
	        seula_event_set_str(ev, SEULA_FIELD_URL, url, strlen(url)),
	        SEULA_OK);
	const char *props = "{\"email\":\"ann@example.com\",\"plan\":\"pro\"}";
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_PROPS, props,
	                                     strlen(props)),
	                 SEULA_OK);
	const char *term = "ann%40example.com";
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_UTM_TERM, term,
	                                     strlen(term)),
	                 SEULA_OK);
	assert_int_equal(seula_redact_event(r, ev), SEULA_OK);
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_URL),
	                    "https://example.com/welcome/(email)");
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_PROPS),
	                    "{\"email\":\"(email)\",\"plan\":\"pro\"}");
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_UTM_TERM),
	                    "(email)");
	seula_arena_free(&a);
}

/* Props as collect stores them (ENSURE_ASCII): an address after an
 * escape is redacted in the decoded text, and the JSON stays JSON. */
static void props_are_redacted_decoded(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	const char *props =
	        "{\"k\":\"plain\",\"note\":\"hi\\tann@example.com\","
	        "\"who\":\"\\u00e4nn@example.com\"}";
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_PROPS, props,
	                                     strlen(props)),
	                 SEULA_OK);
	assert_int_equal(seula_redact_event(r, ev), SEULA_OK);
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_PROPS),
	                    "{\"k\":\"plain\",\"note\":\"hi\\t(email)\","
	                    "\"who\":\"\\u00E4(email)\"}");
	seula_arena_free(&a);
}

/* "(email)" is a byte longer than "a@b.cc": text near the field's limit
 * is cut to fit, whole characters; props that no longer fit go, and the
 * event stays (no error for what a visitor sent). */
static void grown_text_fits(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	char title[SEULA_FIELD_MAX_BYTES + 1], props[SEULA_FIELD_MAX_BYTES + 1];
	size_t n = 0;
	while (n + 7 <= SEULA_FIELD_MAX_BYTES - 2) {
		memcpy(title + n, "a@b.cc ", 7);
		n += 7;
	}
	memcpy(title + n, "\xc3\xa4", 2); /* a two-byte character last */
	title[n + 2] = '\0';
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_TITLE, title,
	                                     strlen(title)),
	                 SEULA_OK);
	n = (size_t)snprintf(props, sizeof(props), "{\"v\":\"");
	while (n + 7 <= SEULA_FIELD_MAX_BYTES - 2) {
		memcpy(props + n, "a@b.cc ", 7);
		n += 7;
	}
	memcpy(props + n, "\"}", 3);
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_PROPS, props,
	                                     strlen(props)),
	                 SEULA_OK);
	assert_int_equal(seula_redact_event(r, ev), SEULA_OK);
	const char *t = seula_event_str(ev, SEULA_FIELD_TITLE);
	assert_non_null(t);
	assert_true(strlen(t) <= SEULA_FIELD_MAX_BYTES);
	assert_non_null(strstr(t, "(email) (email)"));
	assert_null(strchr(t, '@'));
	assert_null(seula_event_str(ev, SEULA_FIELD_PROPS));
	seula_arena_free(&a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(addresses_go),
	        cmocka_unit_test(other_text_stays),
	        cmocka_unit_test(long_runs_are_linear),
	        cmocka_unit_test(event_fields),
	        cmocka_unit_test(props_are_redacted_decoded),
	        cmocka_unit_test(grown_text_fits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
