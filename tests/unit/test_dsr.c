/* Unit tests: the data subject rights' pure parts (plugins/customers/
 * dsrutil.c): deadlines in calendar months (PROMISES 27: one month,
 * extendable by two) and the access export's CSV (29). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "dsrutil.h"

#include <stdlib.h>
#include <string.h>

static void months_end_on_the_same_day_or_the_last(void **state)
{
	(void)state;
	static const struct {
		const char *from;
		int months;
		const char *due;
	} cases[] = {
	        {"2026-03-15", 1, "2026-04-15"},
	        {"2026-01-31", 1, "2026-02-28"}, /* no 31 February */
	        {"2028-01-31", 1, "2028-02-29"}, /* leap year */
	        {"2026-01-31", 3, "2026-04-30"}, /* from the receipt, not
	                                          * from 28 February */
	        {"2026-03-31", 1, "2026-04-30"},
	        {"2026-11-30", 2, "2027-01-30"},
	        {"2026-12-31", 1, "2027-01-31"},
	        {"2026-12-15", 3, "2027-03-15"},
	        {"2100-01-31", 1, "2100-02-28"}, /* 2100 is not a leap year */
	        {"2000-01-31", 1, "2000-02-29"}, /* 2000 is */
	        {"2026-05-05", 0, "2026-05-05"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[11];
		assert_int_equal(
		        dsr_add_months(cases[i].from, cases[i].months, out), 0);
		assert_string_equal(out, cases[i].due);
	}
	char out[11];
	assert_int_equal(dsr_add_months("2026-02-30", 1, out), -1);
	assert_int_equal(dsr_add_months("2026-2-3", 1, out), -1);
	assert_int_equal(dsr_add_months("2026-01-01", -1, out), -1);
	assert_int_equal(dsr_add_months(NULL, 1, out), -1);
	assert_int_equal(dsr_add_months("9999-12-01", 1, out), -1);
}

static void days_between_counts_calendar_days(void **state)
{
	(void)state;
	int64_t d;
	assert_int_equal(dsr_days_between("2026-01-31", "2026-02-28", &d), 0);
	assert_int_equal(d, 28);
	assert_int_equal(dsr_days_between("2028-02-01", "2028-03-01", &d), 0);
	assert_int_equal(d, 29);
	assert_int_equal(dsr_days_between("2026-03-01", "2026-02-27", &d), 0);
	assert_int_equal(d, -2);
	assert_int_equal(dsr_days_between("1999-12-31", "2000-01-01", &d), 0);
	assert_int_equal(d, 1);
	/* Across a DST change: still whole days. */
	assert_int_equal(dsr_days_between("2026-03-28", "2026-03-30", &d), 0);
	assert_int_equal(d, 2);
	assert_int_equal(dsr_days_between("2026-13-01", "2026-01-01", &d), -1);
	char day[11];
	dsr_day_of("UTC", 0, day);
	assert_string_equal(day, "1970-01-01");
	dsr_day_of("UTC", 1767225599999LL, day);
	assert_string_equal(day, "2025-12-31");
	/* The register's zone: 2025-12-31 22:30 UTC is New Year's Day in
	 * Helsinki, still the 31st in New York, and a millisecond before
	 * 1970 is 1969's last day. */
	dsr_day_of("Europe/Helsinki", 1767220200000LL, day);
	assert_string_equal(day, "2026-01-01");
	dsr_day_of("America/New_York", 1767220200000LL, day);
	assert_string_equal(day, "2025-12-31");
	dsr_day_of("UTC", -1, day);
	assert_string_equal(day, "1969-12-31");
	/* Not a zone: UTC's day. */
	dsr_day_of("Mars/Olympus", 1767220200000LL, day);
	assert_string_equal(day, "2025-12-31");
}

static char *csv_of(const char *json)
{
	json_t *rows = json_loads(json, 0, NULL);
	assert_non_null(rows);
	char *out = NULL;
	size_t len = 0;
	assert_int_equal(dsr_csv(rows, &out, &len), 0);
	assert_int_equal(strlen(out), len);
	json_decref(rows);
	return out;
}

static void csv_has_every_key_and_quotes_what_needs_it(void **state)
{
	(void)state;
	char *out = csv_of(
	        "[{\"id\": 1, \"name\": \"Äijälä, Aino\", \"ok\": true},"
	        " {\"id\": 2, \"note\": \"say \\\"hi\\\"\\nbye\", \"name\":"
	        " null, \"tags\": [\"a\", 1], \"x\": 1.5}]");
	assert_string_equal(out,
	                    "id,name,ok,note,tags,x\r\n"
	                    "1,\"Äijälä, Aino\",true,,,\r\n"
	                    "2,,,\"say \"\"hi\"\"\nbye\",\"[\"\"a\"\",1]\","
	                    "1.5\r\n");
	free(out);
	/* Formulas stay text; numbers are numbers, negative ones too. */
	out = csv_of("[{\"a\": \"=1+2\", \"b\": \"+358 40\", \"c\": -5,"
	             " \"d\": \"@x\", \"e\": \"-\"}]");
	assert_string_equal(out, "a,b,c,d,e\r\n\"'=1+2\",\"'+358 40\",-5,"
	                         "\"'@x\",\"'-\"\r\n");
	free(out);
	out = csv_of("[]");
	assert_string_equal(out, "");
	free(out);
	json_t *bad = json_loads("[1, 2]", 0, NULL);
	char *o = NULL;
	size_t len = 0;
	assert_int_equal(dsr_csv(bad, &o, &len), -1);
	assert_null(o);
	json_decref(bad);
	assert_int_equal(dsr_csv(NULL, &o, &len), -1);
}

static void names_are_file_name_safe(void **state)
{
	(void)state;
	assert_true(dsr_name_ok("core"));
	assert_true(dsr_name_ok("visit_pages"));
	assert_false(dsr_name_ok(""));
	assert_false(dsr_name_ok("../x"));
	assert_false(dsr_name_ok("a/b"));
	assert_false(dsr_name_ok("Visits"));
	assert_false(dsr_name_ok(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(months_end_on_the_same_day_or_the_last),
	        cmocka_unit_test(days_between_counts_calendar_days),
	        cmocka_unit_test(csv_has_every_key_and_quotes_what_needs_it),
	        cmocka_unit_test(names_are_file_name_safe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
