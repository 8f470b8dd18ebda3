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

/* As a URL's path carries them: each part may be escaped, in either case. */
static void encoded_addresses_go(void **state)
{
	(void)state;
	assert_string_equal(redact("/u/john.doe%40example%2Ecom"),
	                    "/u/(email)");
	assert_string_equal(redact("/u/john.doe%40example%2ecom/x"),
	                    "/u/(email)/x");
	assert_string_equal(redact("/u/john.doe@example%2Ecom"), "/u/(email)");
	assert_string_equal(redact("/u/john%2Edoe%2bnews%40mail%2Dhost%2Efi"),
	                    "/u/(email)");
	/* A run ends at %40: an address may start right after one. */
	assert_string_equal(redact("/x%40ann@example.com"), "/x%40(email)");
	/* A host ends where its labels do: at a slash, escaped or not. */
	assert_string_equal(redact("/go/ann%40example.com%2Fnext"),
	                    "/go/(email)%2Fnext");
}

/* An internationalised domain (or local part): raw UTF-8 in a title,
 * percent-encoded in a URL, as collect stores them. */
static void utf8_addresses_go(void **state)
{
	(void)state;
	assert_string_equal(redact("Kontakt: info@ex\xc3\xa4mple.de"),
	                    "Kontakt: (email)");
	assert_string_equal(redact("/u/john@ex%C3%A4mple.de"), "/u/(email)");
	assert_string_equal(redact("/u/john@ex%c3%a4mple.de"), "/u/(email)");
	assert_string_equal(redact("/u/john%40ex%C3%A4mple%2Ede/x"),
	                    "/u/(email)/x");
	assert_string_equal(redact("/u/j%C3%B6rg@example.de"), "/u/(email)");
	/* Not "j\xc3\xb6(email)": no part of the address stays. */
	assert_string_equal(redact("J\xc3\xb6rg: j\xc3\xb6rg@b\xc3\xbc"
	                           "cher.de"),
	                    "J\xc3\xb6rg: (email)");
}

/* Raw, only letters and digits belong to an address: punctuation beside
 * one (a no-break space, an ellipsis, a dash, guillemets) stays, and so
 * do the words past it.  Escaped, only what an address holds: %2F and
 * %20 end one. */
static void what_is_beside_an_address_stays(void **state)
{
	(void)state;
	assert_string_equal(redact("Yhteystiedot\xc2\xa0info@firma.fi"),
	                    "Yhteystiedot\xc2\xa0(email)");
	assert_string_equal(
	        redact("S\xc3\xa4hk\xc3\xb6posti: info@firma.fi\xc2\xa0"
	               "Puhelin 040 123"),
	        "S\xc3\xa4hk\xc3\xb6posti: (email)\xc2\xa0Puhelin 040 123");
	assert_string_equal(redact("Raportti 2024\xe2\x80\xa6"
	                           "ann@example.com"),
	                    "Raportti 2024\xe2\x80\xa6(email)");
	assert_string_equal(redact("Tilaa uutiskirje\xe2\x80\x94"
	                           "uutiset@firma.fi"),
	                    "Tilaa uutiskirje\xe2\x80\x94(email)");
	assert_string_equal(redact("Kirjoita meille \xc2\xab"
	                           "info@firma.fi\xc2\xbb"),
	                    "Kirjoita meille \xc2\xab(email)\xc2\xbb");
	assert_string_equal(redact("/docs/v1.2%2Fapi@latest.json"),
	                    "/docs/v1.2%2F(email)");
	assert_string_equal(redact("/c/Contact%20ann@example.com"),
	                    "/c/Contact%20(email)");
}

/* Letters as some scripts and some keyboards write them: a base letter
 * and a combining mark (NFD "a\u0308"), Devanagari and Thai vowel signs,
 * the joiners, IDNA's middle dot; escapes of what a local part holds
 * ("%61" is "a", "%27" is "'"). */
static void marks_joiners_and_atext_stay_in_an_address(void **state)
{
	(void)state;
	assert_string_equal(redact("info@exa\xcc\x88mple.de"), "(email)");
	assert_string_equal(redact("ja\xcc\x88rvi@example.fi"), "(email)");
	assert_string_equal(
	        redact("info@\xe0\xa4\x89\xe0\xa4\xa6\xe0\xa4\xbe\xe0\xa4"
	               "\xb9\xe0\xa4\xb0\xe0\xa4\xa3.\xe0\xa4\xad\xe0\xa4"
	               "\xbe\xe0\xa4\xb0\xe0\xa4\xa4"),
	        "(email)");
	assert_string_equal(
	        redact("info@\xe0\xb8\x95\xe0\xb8\xb1\xe0\xb8\xa7.\xe0"
	               "\xb9\x84\xe0\xb8\x97\xe0\xb8\xa2"),
	        "(email)");
	assert_string_equal(redact("info@col\xc2\xb7legi.cat"), "(email)");
	assert_string_equal(redact("ann\xe2\x80\x8cx@example.com"), "(email)");
	assert_string_equal(redact("/u/%61nn@example.com"), "/u/(email)");
	assert_string_equal(redact("/u/o%27brien@example.com"), "/u/(email)");
}

/* A local part is all of RFC 5322's atext, not what follows its last
 * apostrophe or "=": no name is left before "(email)".  "/" alone still
 * ends one (a path's), and a raw "%" (an escape's). */
static void every_atext_is_part_of_a_local_part(void **state)
{
	(void)state;
	assert_string_equal(redact("o'neil@example.com"), "(email)");
	assert_string_equal(redact("Write to mary.o'brien@x.com today"),
	                    "Write to (email) today");
	assert_string_equal(redact("/u/o'neil@example.com/x"), "/u/(email)/x");
	/* A bounce address carries the recipient's. */
	assert_string_equal(redact("bounce-ann=example.com@lists.example.org"),
	                    "(email)");
	/* A query's "?" and "&" end one, and what is before them stays. */
	assert_string_equal(
	        redact("https://example.com/search?q=ann@example.com"),
	        "https://example.com/search?(email)");
	assert_string_equal(redact("/s?a=1&email=ann@example.com"),
	                    "/s?a=1&(email)");
	assert_string_equal(redact("/u/tom%26jerry@example.com"), "/u/(email)");
	/* Nor do "#", "|", "{", "}" and "`", a text's delimiters. */
	assert_string_equal(redact("key=value|ann@example.com"),
	                    "key=value|(email)");
	assert_string_equal(redact("{ann@example.com}"), "{(email)}");
	assert_string_equal(redact("`ann@example.com`"), "`(email)`");
	assert_string_equal(redact("#tag=ann@example.com"), "#(email)");
	const char *atext = "!$'*+-=^_~.";
	for (const char *c = atext; *c; c++) {
		char in[64], want[64];
		snprintf(in, sizeof(in), "Mail ann%cx@example.com.", *c);
		snprintf(want, sizeof(want), "Mail (email).");
		assert_string_equal(redact(in), want);
		snprintf(in, sizeof(in), "%cann@example.com", *c);
		assert_string_equal(redact(in), "(email)");
	}
	assert_string_equal(redact("/docs/v1.2/api@latest.json"),
	                    "/docs/v1.2/(email)");
}

/* A URL inside another's query is escaped twice, "@" as %2540: decoded
 * once on the way, it is an address still. */
static void twice_escaped_addresses_go(void **state)
{
	(void)state;
	assert_string_equal(redact("ann%2540example.com"), "(email)");
	assert_string_equal(redact("/u/ann%2540example%252Ecom/x"),
	                    "/u/(email)/x");
	assert_string_equal(redact("/r/o%2527neil%2540ex%25C3%25A4mple.de"),
	                    "/r/(email)");
	/* A run ends at %2540 as at %40. */
	assert_string_equal(redact("/x%2540ann@example.com"), "/x%2540(email)");
	/* %25 alone is an escaped "%", part of a local part. */
	assert_string_equal(redact("/u/100%25off@example.com"), "/u/(email)");
	assert_string_equal(redact("/u/a%25b%40example.com"), "/u/(email)");
}

/* The soft hyphen is as invisible inside a word as the joiners (IDNA
 * drops it); a quoted local part and an address literal are addresses
 * too. */
static void soft_hyphens_quotes_and_literals(void **state)
{
	(void)state;
	assert_string_equal(redact("ann\xc2\xadx@example.com"), "(email)");
	assert_string_equal(redact("info@exam\xc2\xadple.com"), "(email)");
	assert_string_equal(redact("Write to \"ann smith\"@example.com."),
	                    "Write to (email).");
	assert_string_equal(redact("\"ann\\\"s\"@example.com"), "(email)");
	assert_string_equal(redact("/u/%22ann%20smith%22%40example.com/x"),
	                    "/u/(email)/x");
	assert_string_equal(redact("ann@[192.0.2.1] wrote"), "(email) wrote");
	assert_string_equal(redact("ann@[IPv6:2001:db8::1]"), "(email)");
	assert_string_equal(redact("/u/ann%40%5B192.0.2.1%5D/x"),
	                    "/u/(email)/x");
	/* Quoted words and footnotes are not. */
	assert_string_equal(redact("\"Hi\" @ noon; see note@[12]"), "");
	assert_string_equal(redact("a \"b\"@c"), "");
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
	/* Escapes, "@" paths and hosts without a dot, as pages have them. */
	assert_string_equal(redact("/a%20b/c.html"), "");
	assert_string_equal(redact("/a%20b/@c.html"), "");
	assert_string_equal(redact("/@scope/pkg.js"), "");
	assert_string_equal(redact("/users/@alice"), "");
	assert_string_equal(redact("/npm/%40scope%2Fpkg.js"), "");
	assert_string_equal(redact("/u/ann%40localhost/x.html"), "");
	assert_string_equal(redact("/u/ann@ex%C3%A4mple/x.html"), "");
}

/* `head`, 60,000 bytes of `unit` repeated, then `tail`, redacted 10
 * times; `want` is in the result, or NULL for no change.  Seconds. */
static double timed(const char *head, const char *unit, const char *tail,
                    const char *want)
{
	size_t n = 60000, h = strlen(head), u = strlen(unit), t = strlen(tail);
	char *text = malloc(h + n + t + 1);
	assert_non_null(text);
	memcpy(text, head, h);
	size_t len = h;
	while (len + u <= h + n) {
		memcpy(text + len, unit, u);
		len += u;
	}
	memcpy(text + len, tail, t + 1);
	len += t;
	clock_t t0 = clock();
	for (int i = 0; i < 10; i++) {
		char *out = NULL;
		assert_int_equal(seula_redact_text(r, text, len, &out),
		                 SEULA_OK);
		if (want) {
			assert_non_null(out);
			assert_non_null(strstr(out, want));
		} else {
			assert_null(out);
		}
		free(out);
	}
	free(text);
	return (double)(clock() - t0) / CLOCKS_PER_SEC;
}

/* Runs of escapes and raw bytes, each short of an address: one pass
 * each too, whatever an escape or a start after %40 may take. */
static void long_escaped_runs(void)
{
	static const struct {
		const char *head, *unit, *tail, *want;
	} cases[] = {
	        {"", "%41", "%40.b", NULL},
	        {"", "%41%2e", "@%2Eb", NULL},
	        {"", "\xc3\xa4", "@.b", NULL},
	        {"", "%c3%A4", "%40.b", NULL},
	        {"", "a%40", ".b", NULL},
	        {"", "a%", "@.b", NULL},
	        {"a@", "%C3%A4", "", NULL},
	        {"a%40", "b-", "%2E", NULL},
	        {"", "a%40b%2E", "", SEULA_REDACTED_EMAIL},
	        {"", "a%2B", "@.b", NULL},
	        {"", "%20", "a@.b", NULL},
	        {"", "a%20", "@.b", NULL},
	        {"",
	         "\xc2\xa0"
	         "a",
	         "@.b", NULL},
	        {"", "a\xe2\x80\x94", "@.b", NULL},
	        {"", "%25", "40.b", NULL},
	        {"", "a%2540", ".b", NULL},
	        {"", "%2525", "%2540.b", NULL},
	        {"", "a'=", "@.b", NULL},
	        {"", "\"", "@.b", NULL},
	        {"", "\"a", "\"@.b", NULL},
	        {"\"", "a", "\"@.b", NULL},
	        {"", "\"\\", "\"@.b", NULL},
	        {"", "%22", "%40.b", NULL},
	        {"", "a@[1", "", NULL},
	        {"", "a@[1.2.3.", "4", NULL},
	        {"", "a%2540b%252E", "", SEULA_REDACTED_EMAIL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		double s = timed(cases[i].head, cases[i].unit, cases[i].tail,
		                 cases[i].want);
		if (s > 2.0)
			fail_msg("10 redactions of 60,000 bytes of \"%s\" took "
			         "%.2f s",
			         cases[i].unit, s);
	}
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
		long_escaped_runs();
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
 * escape is redacted in the decoded text, and the JSON stays JSON.  An
 * escaped "ä" is the address's own first letter, and goes with it. */
static void props_are_redacted_decoded(void **state)
{
	(void)state;
	struct seula_arena a;
	seula_arena_init(&a, 1 << 20);
	struct seula_event *ev = seula_event_new(&a);
	const char *props =
	        "{\"k\":\"plain\",\"note\":\"hi\\tann@example.com\","
	        "\"q\":\"\\\"ann@example.com\\\"\","
	        "\"who\":\"\\u00e4nn@example.com\"}";
	assert_int_equal(seula_event_set_str(ev, SEULA_FIELD_PROPS, props,
	                                     strlen(props)),
	                 SEULA_OK);
	assert_int_equal(seula_redact_event(r, ev), SEULA_OK);
	assert_string_equal(seula_event_str(ev, SEULA_FIELD_PROPS),
	                    "{\"k\":\"plain\",\"note\":\"hi\\t(email)\","
	                    "\"q\":\"\\\"(email)\\\"\","
	                    "\"who\":\"(email)\"}");
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
	        cmocka_unit_test(encoded_addresses_go),
	        cmocka_unit_test(utf8_addresses_go),
	        cmocka_unit_test(what_is_beside_an_address_stays),
	        cmocka_unit_test(marks_joiners_and_atext_stay_in_an_address),
	        cmocka_unit_test(every_atext_is_part_of_a_local_part),
	        cmocka_unit_test(twice_escaped_addresses_go),
	        cmocka_unit_test(soft_hyphens_quotes_and_literals),
	        cmocka_unit_test(other_text_stays),
	        cmocka_unit_test(long_runs_are_linear),
	        cmocka_unit_test(event_fields),
	        cmocka_unit_test(props_are_redacted_decoded),
	        cmocka_unit_test(grown_text_fits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
