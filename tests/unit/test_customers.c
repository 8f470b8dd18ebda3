/* Unit tests: the customers plugin's pure parts, field validation
 * (fields.c, iso.c) and CSV records with line numbers (csvread.c). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "csvread.h"
#include "fields.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int set(struct cust_record *r, int f, const char *v, const char **why)
{
	return cust_record_set(r, f, v, strlen(v), NULL, NULL, why);
}

static void test_valid_values_are_kept_normalised(void **state)
{
	(void)state;
	struct cust_record r = {0};
	const char *why = NULL;
	assert_int_equal(set(&r, CUST_F_COUNTRY, " fi ", &why), 0);
	assert_string_equal(r.values[CUST_F_COUNTRY], "FI");
	assert_int_equal(set(&r, CUST_F_LAST_NAME, "  Äijälä\t", &why), 0);
	assert_string_equal(r.values[CUST_F_LAST_NAME], "Äijälä");
	static const struct {
		int f;
		const char *v;
	} ok[] = {
	        {CUST_F_EMAIL, "aino.virtanen+news@tuisku.example"},
	        {CUST_F_EMAIL, "äiti@esimerkki.fi"},
	        {CUST_F_PHONE, "+358 (0)40-123 4567"},
	        {CUST_F_WEBSITE, "www.tuisku.example"},
	        {CUST_F_WEBSITE, "HTTPS://tuisku.example:8443/a?b#c"},
	        {CUST_F_POSTAL_CODE, "SW1A 1AA"},
	        {CUST_F_RELATIONSHIP_START, "2024-02-29"},
	        {CUST_F_RELATIONSHIP_END, "2000-02-29"},
	        {CUST_F_COUNTRY, "AX"},
	};
	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		why = NULL;
		if (set(&r, ok[i].f, ok[i].v, &why) != 0)
			fail_msg("%s refused: %s", ok[i].v, why);
	}
	/* Empty clears. */
	assert_int_equal(set(&r, CUST_F_EMAIL, "   ", &why), 0);
	assert_null(r.values[CUST_F_EMAIL]);
	cust_record_clear(&r);
}

static void test_bad_values_are_refused_with_a_reason(void **state)
{
	(void)state;
	static const struct {
		int f;
		const char *v;
	} bad[] = {
	        {CUST_F_EMAIL, "no-at-sign"},
	        {CUST_F_EMAIL, "@example.fi"},
	        {CUST_F_EMAIL, "a@localhost"},
	        {CUST_F_EMAIL, "a b@example.fi"},
	        {CUST_F_EMAIL, ".a@example.fi"},
	        {CUST_F_EMAIL, "a@-example.fi"},
	        {CUST_F_EMAIL, "a@example..fi"},
	        {CUST_F_COUNTRY, "ZZ"},
	        {CUST_F_COUNTRY, "F"},
	        {CUST_F_COUNTRY, "FIN"},
	        {CUST_F_PHONE, "123"},
	        {CUST_F_PHONE, "040+123456"},
	        {CUST_F_PHONE, "call 0401234567"},
	        {CUST_F_WEBSITE, "javascript:alert(1)//x.fi"},
	        {CUST_F_WEBSITE, "ftp://example.fi"},
	        {CUST_F_WEBSITE, "not a site"},
	        {CUST_F_POSTAL_CODE, "---"},
	        {CUST_F_POSTAL_CODE, "00100;"},
	        {CUST_F_RELATIONSHIP_START, "2023-02-29"},
	        {CUST_F_RELATIONSHIP_START, "1900-02-29"},
	        {CUST_F_RELATIONSHIP_START, "2024-13-01"},
	        {CUST_F_RELATIONSHIP_START, "2024-1-01"},
	        {CUST_F_RELATIONSHIP_START, "0999-01-01"},
	        {CUST_F_LAST_NAME, "line\nbreak"},
	        {CUST_F_LAST_NAME, "bell\a"},
	        {CUST_F_LAST_NAME, "\xc3\x28"},         /* bad continuation */
	        {CUST_F_LAST_NAME, "\xc0\xaf"},         /* overlong */
	        {CUST_F_LAST_NAME, "\xed\xa0\x80"},     /* surrogate */
	        {CUST_F_LAST_NAME, "\xc2\x85"},         /* C1 control (NEL) */
	        {CUST_F_LAST_NAME, "\xf4\x90\x80\x80"}, /* past U+10FFFF */
	        {CUST_F_IP, "192.0.2.1"}, /* no masker: never stored raw */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct cust_record r = {0};
		const char *why = NULL;
		if (set(&r, bad[i].f, bad[i].v, &why) != -1)
			fail_msg("%s accepted for %s", bad[i].v,
			         cust_fields[bad[i].f].name);
		assert_non_null(why);
		assert_null(r.values[bad[i].f]);
	}
	struct cust_record r = {0};
	const char *why = NULL;
	char big[102];
	memset(big, 'x', sizeof(big) - 1);
	big[101] = '\0';
	assert_int_equal(set(&r, CUST_F_FIRST_NAME, big, &why), -1);
	assert_string_equal(why, "too long");
	/* A NUL inside the value (possible in CSV) is refused. */
	assert_int_equal(
	        cust_record_set(&r, CUST_F_CITY, "a\0b", 3, NULL, NULL, &why),
	        -1);
}

static void test_record_checks(void **state)
{
	(void)state;
	struct cust_record r = {0};
	const char *field = NULL, *why = NULL;
	assert_int_equal(cust_record_check(&r, &field, &why), -1);
	assert_string_equal(field, "last_name");
	assert_int_equal(set(&r, CUST_F_ORGANISATION, "Tuisku Oy", &why), 0);
	assert_int_equal(cust_record_check(&r, &field, &why), 0);
	assert_int_equal(set(&r, CUST_F_RELATIONSHIP_START, "2024-05-01", &why),
	                 0);
	assert_int_equal(set(&r, CUST_F_RELATIONSHIP_END, "2024-04-30", &why),
	                 0);
	assert_int_equal(cust_record_check(&r, &field, &why), -1);
	assert_string_equal(field, "relationship_end");
	assert_int_equal(set(&r, CUST_F_RELATIONSHIP_END, "2024-05-01", &why),
	                 0);
	assert_int_equal(cust_record_check(&r, &field, &why), 0);
	cust_record_clear(&r);
}

static void test_tables(void **state)
{
	(void)state;
	assert_string_equal(cust_country_name("FI"), "Finland");
	assert_non_null(cust_country_name("AX"));
	assert_non_null(cust_country_name("ZW"));
	assert_non_null(cust_country_name("AD"));
	assert_null(cust_country_name("fi"));
	assert_null(cust_country_name("UK"));
	assert_true(cust_currency_known("EUR"));
	assert_true(cust_currency_known("SEK"));
	assert_false(cust_currency_known("EURO"));
	assert_false(cust_currency_known("eur"));
	assert_false(cust_currency_known("XYZ"));
	assert_int_equal(cust_field_index("postal_code"), CUST_F_POSTAL_CODE);
	assert_int_equal(cust_field_index("id"), -1);
	assert_int_equal(cust_flag_index("restricted"), CUST_FLAG_RESTRICTED);
	assert_int_equal(cust_parse_bool(" Yes ", 5), 1);
	assert_int_equal(cust_parse_bool("FALSE", 5), 0);
	assert_int_equal(cust_parse_bool("", 0), 0);
	assert_int_equal(cust_parse_bool("maybe", 5), -1);
}

/* ---- CSV ------------------------------------------------------------------
 */

struct collected {
	char text[2048];
	size_t n;
	int stop_after;
};

static int collect(void *arg, const struct cust_csv_record *rec)
{
	struct collected *c = arg;
	size_t len = strlen(c->text);
	len += (size_t)snprintf(c->text + len, sizeof(c->text) - len,
	                        "%zu:", rec->line);
	for (size_t i = 0; i < rec->n; i++)
		len += (size_t)snprintf(c->text + len, sizeof(c->text) - len,
		                        "[%s]", rec->fields[i]);
	snprintf(c->text + len, sizeof(c->text) - len, "\n");
	c->n++;
	return c->stop_after && c->n == (size_t)c->stop_after ? 7 : 0;
}

static void read_csv(const char *data, const char *want)
{
	struct collected c = {0};
	size_t bad = 0;
	const char *why = NULL;
	assert_int_equal(
	        cust_csv_read(data, strlen(data), collect, &c, &bad, &why), 0);
	assert_string_equal(c.text, want);
}

static void test_csv_records_and_lines(void **state)
{
	(void)state;
	read_csv("a,b\n1,2\n", "1:[a][b]\n2:[1][2]\n");
	/* CRLF, no final newline, a blank line skipped. */
	read_csv("a,b\r\n1,2\r\n\r\n3,4", "1:[a][b]\n2:[1][2]\n4:[3][4]\n");
	/* RFC 4180 quoting: commas, doubled quotes, newlines inside. */
	read_csv(
	        "a,b\n\"x,y\",\"say \"\"hi\"\"\"\n\"two\nlines\",z\nq,r\n",
	        "1:[a][b]\n2:[x,y][say \"hi\"]\n3:[two\nlines][z]\n5:[q][r]\n");
	/* A multi-line field that is not the first. */
	read_csv("a,b\n1,\"x\n\ny\"\n2,3\n",
	         "1:[a][b]\n2:[1][x\n\ny]\n5:[2][3]\n");
	/* A BOM, and ';' when the first line has no ','. */
	read_csv("\xef\xbb\xbf"
	         "a;b\n1;2,5\n",
	         "1:[a][b]\n2:[1][2,5]\n");
	/* Empty fields. */
	read_csv("a,b,c\n,,\n", "1:[a][b][c]\n2:[][][]\n");
}

static void test_csv_errors(void **state)
{
	(void)state;
	struct collected c = {0};
	size_t bad = 0;
	const char *why = NULL;
	const char *unclosed = "a\n1\n\"never closed\n2\n";
	assert_int_equal(cust_csv_read(unclosed, strlen(unclosed), collect, &c,
	                               &bad, &why),
	                 -1);
	assert_int_equal(bad, 3);
	assert_non_null(why);
	const char *stray = "a,b\nx\"y,1\n";
	memset(&c, 0, sizeof(c));
	assert_int_equal(
	        cust_csv_read(stray, strlen(stray), collect, &c, &bad, &why),
	        -1);
	assert_int_equal(bad, 2);
	/* The callback stops the reading. */
	memset(&c, 0, sizeof(c));
	c.stop_after = 2;
	const char *many = "a\n1\n2\n3\n";
	assert_int_equal(
	        cust_csv_read(many, strlen(many), collect, &c, &bad, &why), 7);
	assert_int_equal(c.n, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(test_valid_values_are_kept_normalised),
	        cmocka_unit_test(test_bad_values_are_refused_with_a_reason),
	        cmocka_unit_test(test_record_checks),
	        cmocka_unit_test(test_tables),
	        cmocka_unit_test(test_csv_records_and_lines),
	        cmocka_unit_test(test_csv_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
