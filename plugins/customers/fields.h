/*
 * fields.h - the customer register's fields and their validation, shared by
 * the JSON routes and the CSV import so both accept exactly the same data.
 *
 * Pure code: no host, no database; unit tested in tests/unit/test_customers.c.
 *
 * A record is the set of a customer's text fields and flags as the client
 * sent them, validated and normalised field by field (cust_record_set) and
 * then as a whole (cust_record_check).  Ownership: a record owns its value
 * strings (malloc'd); cust_record_clear frees them.
 */
#ifndef SEULA_CUSTOMERS_FIELDS_H
#define SEULA_CUSTOMERS_FIELDS_H

#include <stdbool.h>
#include <stddef.h>

enum cust_kind {
	CUST_TEXT,    /* one line of text */
	CUST_EMAIL,   /* local@domain */
	CUST_COUNTRY, /* ISO 3166-1 alpha-2, stored upper case */
	CUST_PHONE,   /* digits and + - ( ) / . space, 5..20 digits */
	CUST_WEBSITE, /* a host name or an http(s) URL */
	CUST_POSTAL,  /* letters, digits, space, dash */
	CUST_DATE,    /* YYYY-MM-DD, a real calendar day */
	CUST_IP,      /* an address; the caller's normaliser masks it */
};

struct cust_field {
	const char *name;   /* JSON key and CSV column */
	const char *column; /* column of the customers table */
	enum cust_kind kind;
	size_t max; /* CUST_TEXT: characters (code points); else bytes */
};

enum {
	CUST_F_FIRST_NAME,
	CUST_F_LAST_NAME,
	CUST_F_ORGANISATION,
	CUST_F_EMAIL,
	CUST_F_STREET,
	CUST_F_POSTAL_CODE,
	CUST_F_CITY,
	CUST_F_COUNTRY,
	CUST_F_PHONE,
	CUST_F_WEBSITE,
	CUST_F_IP,
	CUST_F_SOURCE,
	CUST_F_SEGMENT,
	CUST_F_RELATIONSHIP_START,
	CUST_F_RELATIONSHIP_END,
	CUST_F_STATUTORY_RETENTION_UNTIL,
	CUST_N_FIELDS
};

/* The flags the data subject rights need ("flags" in the JSON). */
enum {
	CUST_FLAG_RESTRICTED,
	CUST_FLAG_OBJECTS_DIRECT_MARKETING,
	CUST_FLAG_OBJECTS_PUBLICATION,
	CUST_FLAG_OBJECTS_PROFILING,
	CUST_FLAG_ACTIVE_CONTACT, /* a legal hold: an organisation's contact */
	CUST_N_FLAGS
};

extern const struct cust_field cust_fields[CUST_N_FIELDS];
extern const char *const cust_flag_names[CUST_N_FLAGS];

/* Index of the field or flag called `name`, or -1. */
int cust_field_index(const char *name);
int cust_flag_index(const char *name);

/* Masks an address: writes the stored form of `in` to out, returns 0, or
 * returns -1 when `in` is not an address. */
typedef int (*cust_ip_fn)(void *arg, const char *in, char *out, size_t outlen);

struct cust_record {
	char *values[CUST_N_FIELDS]; /* NULL: absent (NULL in the table) */
	int flags[CUST_N_FLAGS];     /* 0 or 1 */
};

/* Validate `value` (len bytes, need not be NUL-terminated) for field `f`
 * and store its normalised copy; an empty value clears the field.  Returns
 * 0, or -1 with a reason (static text) in *why; -2 when out of memory. */
int cust_record_set(struct cust_record *r, int f, const char *value, size_t len,
                    cust_ip_fn ip, void *ip_arg, const char **why);
/* The checks across fields: a name or an organisation is given, the
 * relationship does not end before it starts.  Returns 0, or -1 with the
 * field to blame in *field and the reason in *why. */
int cust_record_check(const struct cust_record *r, const char **field,
                      const char **why);
void cust_record_clear(struct cust_record *r);

/* "1", "true", "yes" / "0", "false", "no", "" (case-insensitive) as a CSV
 * flag column; -1 when none of them. */
int cust_parse_bool(const char *s, size_t len);

/* Checks of single values, for order fields too. */
bool cust_text_ok(const char *s, size_t len); /* UTF-8, no control chars */
bool cust_date_ok(const char *s, size_t len); /* YYYY-MM-DD, a real day */

/* iso.c: the English short name of an ISO 3166-1 alpha-2 code (upper
 * case), NULL when none; whether an ISO 4217 code is known. */
const char *cust_country_name(const char *code);
bool cust_currency_known(const char *code);

#endif
