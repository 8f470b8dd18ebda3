/*
 * fields.c - validation of the register's fields (see fields.h).
 */
#include "fields.h"
#include "utf8trim.h"

#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/uchar.h>

/* Sizes: generous for real names and addresses, small enough that a label
 * or a CSV cell stays sane. */
const struct cust_field cust_fields[CUST_N_FIELDS] = {
        [CUST_F_FIRST_NAME] = {"first_name", "first_name", CUST_TEXT, 100},
        [CUST_F_LAST_NAME] = {"last_name", "last_name", CUST_TEXT, 100},
        [CUST_F_ORGANISATION] = {"organisation", "organisation", CUST_TEXT,
                                 200},
        [CUST_F_EMAIL] = {"email", "email", CUST_EMAIL, 254},
        [CUST_F_STREET] = {"street", "street", CUST_TEXT, 200},
        [CUST_F_POSTAL_CODE] = {"postal_code", "postal_code", CUST_POSTAL, 16},
        [CUST_F_CITY] = {"city", "city", CUST_TEXT, 100},
        [CUST_F_COUNTRY] = {"country", "country", CUST_COUNTRY, 2},
        [CUST_F_PHONE] = {"phone", "phone", CUST_PHONE, 32},
        [CUST_F_WEBSITE] = {"website", "website", CUST_WEBSITE, 255},
        [CUST_F_IP] = {"ip", "ip_anon", CUST_IP, 45},
        [CUST_F_SOURCE] = {"source", "source", CUST_TEXT, 100},
        [CUST_F_SEGMENT] = {"segment", "segment", CUST_TEXT, 64},
        [CUST_F_RELATIONSHIP_START] = {"relationship_start",
                                       "relationship_start", CUST_DATE, 10},
        [CUST_F_RELATIONSHIP_END] = {"relationship_end", "relationship_end",
                                     CUST_DATE, 10},
        [CUST_F_STATUTORY_RETENTION_UNTIL] = {"statutory_retention_until",
                                              "statutory_retention_until",
                                              CUST_DATE, 10},
};

const char *const cust_flag_names[CUST_N_FLAGS] = {
        [CUST_FLAG_RESTRICTED] = "restricted",
        [CUST_FLAG_OBJECTS_DIRECT_MARKETING] = "objects_direct_marketing",
        [CUST_FLAG_OBJECTS_PUBLICATION] = "objects_publication",
        [CUST_FLAG_OBJECTS_PROFILING] = "objects_profiling",
        [CUST_FLAG_ACTIVE_CONTACT] = "active_contact",
};

int cust_field_index(const char *name)
{
	for (int i = 0; i < CUST_N_FIELDS; i++)
		if (strcmp(cust_fields[i].name, name) == 0)
			return i;
	return -1;
}

int cust_flag_index(const char *name)
{
	for (int i = 0; i < CUST_N_FLAGS; i++)
		if (strcmp(cust_flag_names[i], name) == 0)
			return i;
	return -1;
}

/* Strict UTF-8 (no overlong forms, surrogates or values past U+10FFFF)
 * without C0, DEL or C1 controls: a field is one line of printable text. */
bool cust_text_ok(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		if (c < 0x80) {
			if (c < 0x20 || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t n;
		uint32_t cp, min;
		if ((c & 0xe0) == 0xc0) {
			n = 2, cp = c & 0x1f, min = 0x80;
		} else if ((c & 0xf0) == 0xe0) {
			n = 3, cp = c & 0x0f, min = 0x800;
		} else if ((c & 0xf8) == 0xf0) {
			n = 4, cp = c & 0x07, min = 0x10000;
		} else {
			return false;
		}
		if (len - i < n)
			return false;
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			cp = (cp << 6) | (p[i + k] & 0x3f);
		}
		if (cp < min || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff) ||
		    (cp >= 0x80 && cp <= 0x9f))
			return false;
		i += n;
	}
	return true;
}

/* What JavaScript's String.prototype.trim() removes, as the staff pages
 * trim: Unicode's White_Space but U+0085 (a control, not a space to JS),
 * and U+FEFF. */
static bool js_space(UChar32 c)
{
	return c == 0xfeff || (c != 0x85 && u_isUWhiteSpace(c));
}

/* Nothing a reader sees: white space and Unicode's default ignorable code
 * points (zero width space, joiners, word joiner), which a copied text
 * brings along. */
static bool unseen(UChar32 c)
{
	return js_space(c) ||
	       u_hasBinaryProperty(c, UCHAR_DEFAULT_IGNORABLE_CODE_POINT);
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alnum(char c)
{
	return is_digit(c) || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

bool cust_date_ok(const char *s, size_t len)
{
	static const int days[12] = {31, 29, 31, 30, 31, 30,
	                             31, 31, 30, 31, 30, 31};
	if (len != 10 || s[4] != '-' || s[7] != '-')
		return false;
	for (size_t i = 0; i < 10; i++)
		if (i != 4 && i != 7 && !is_digit(s[i]))
			return false;
	int y = (s[0] - '0') * 1000 + (s[1] - '0') * 100 + (s[2] - '0') * 10 +
	        (s[3] - '0');
	int m = (s[5] - '0') * 10 + (s[6] - '0');
	int d = (s[8] - '0') * 10 + (s[9] - '0');
	if (y < 1000 || m < 1 || m > 12 || d < 1 || d > days[m - 1])
		return false;
	bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
	return !(m == 2 && d == 29 && !leap);
}

/* A domain of at least two dot-separated labels of letters, digits,
 * hyphens (not at either end) or non-ASCII (internationalised) bytes. */
static bool domain_ok(const char *s, size_t len)
{
	if (len == 0 || len > 253)
		return false;
	size_t labels = 0, start = 0;
	for (size_t i = 0; i <= len; i++) {
		if (i < len && s[i] != '.') {
			unsigned char c = (unsigned char)s[i];
			if (!(c >= 0x80 || is_alnum((char)c) || c == '-'))
				return false;
			continue;
		}
		size_t n = i - start;
		if (n == 0 || n > 63 || s[start] == '-' || s[i - 1] == '-')
			return false;
		labels++;
		start = i + 1;
	}
	return labels >= 2;
}

static bool email_ok(const char *s, size_t len)
{
	const char *at = memchr(s, '@', len);
	if (!at)
		return false;
	size_t local = (size_t)(at - s);
	if (local == 0 || local > 64 || s[0] == '.' || s[local - 1] == '.')
		return false;
	for (size_t i = 0; i < local; i++) {
		unsigned char c = (unsigned char)s[i];
		/* The dot-atom of RFC 5322 (and UTF-8, RFC 6531); no quoted
		 * local parts, which no register needs. */
		if (!(c >= 0x80 || is_alnum((char)c) ||
		      strchr("!#$%&'*+/=?^_`{|}~.-", c)) ||
		    c == 0)
			return false;
		if (c == '.' && s[i + 1] == '.')
			return false;
	}
	return domain_ok(at + 1, len - local - 1);
}

static bool phone_ok(const char *s, size_t len)
{
	size_t digits = 0;
	for (size_t i = 0; i < len; i++) {
		if (is_digit(s[i]))
			digits++;
		else if (s[i] == '+' ? i != 0 : !strchr(" -()/.", s[i]))
			return false;
	}
	return digits >= 5 && digits <= 20;
}

static bool website_ok(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (s[i] == ' ')
			return false;
	const char *host = s;
	if (len >= 7 && strncasecmp(s, "http://", 7) == 0)
		host = s + 7;
	else if (len >= 8 && strncasecmp(s, "https://", 8) == 0)
		host = s + 8;
	else if (memmem(s, len, "://", 3))
		return false; /* another scheme: javascript:, ftp: ... */
	size_t rest = len - (size_t)(host - s), hlen = 0;
	while (hlen < rest && !strchr("/:?#", host[hlen]))
		hlen++;
	return domain_ok(host, hlen);
}

static bool postal_ok(const char *s, size_t len)
{
	bool any = false;
	for (size_t i = 0; i < len; i++) {
		if (is_alnum(s[i]))
			any = true;
		else if (s[i] != ' ' && s[i] != '-')
			return false;
	}
	return any;
}

int cust_record_set(struct cust_record *r, int f, const char *value, size_t len,
                    cust_ip_fn ip, void *ip_arg, const char **why)
{
	const struct cust_field *fd = &cust_fields[f];
	/* Spaces around a value are never part of it. */
	value = seula_utf8_trim(value, &len, js_space);
	/* Nor is a value no one can see one. */
	size_t seen = len;
	seula_utf8_trim(value, &seen, unseen);
	if (seen == 0)
		len = 0;
	if (len == 0) {
		free(r->values[f]);
		r->values[f] = NULL;
		return 0;
	}
	if (memchr(value, '\0', len) || !cust_text_ok(value, len)) {
		*why = "not one line of UTF-8 text";
		return -1;
	}
	/* Text is as long as its characters (code points), as the README
	 * and the staff page count; the other kinds are ASCII, or limited in
	 * bytes as an address is (RFC 5321). */
	size_t size = len;
	if (fd->kind == CUST_TEXT) {
		size = 0;
		for (size_t i = 0; i < len; i++) /* lead bytes */
			size += ((unsigned char)value[i] & 0xc0) != 0x80;
	}
	if (size > fd->max) {
		*why = fd->kind == CUST_COUNTRY ? "not an ISO 3166-1 alpha-2 "
		                                  "country code"
		                                : "too long";
		return -1;
	}
	char buf[4 * 256]; /* 4 bytes a character */
	if (len >= sizeof(buf)) {
		*why = "too long";
		return -1;
	}
	memcpy(buf, value, len);
	buf[len] = '\0';
	bool ok = true;
	switch (fd->kind) {
	case CUST_TEXT: break;
	case CUST_EMAIL:
		ok = email_ok(buf, len);
		*why = "not an email address";
		break;
	case CUST_COUNTRY:
		for (size_t i = 0; i < len; i++)
			buf[i] = (char)toupper((unsigned char)buf[i]);
		ok = cust_country_name(buf) != NULL;
		*why = "not an ISO 3166-1 alpha-2 country code";
		break;
	case CUST_PHONE:
		ok = phone_ok(buf, len);
		*why = "not a phone number";
		break;
	case CUST_WEBSITE:
		ok = website_ok(buf, len);
		*why = "not a web address (http, https or a host name)";
		break;
	case CUST_POSTAL:
		ok = postal_ok(buf, len);
		*why = "not a postal code";
		break;
	case CUST_DATE:
		ok = cust_date_ok(buf, len);
		*why = "not a date (YYYY-MM-DD)";
		break;
	case CUST_IP: {
		char masked[64];
		ok = ip && ip(ip_arg, buf, masked, sizeof(masked)) == 0;
		*why = "not an IP address";
		if (ok)
			snprintf(buf, sizeof(buf), "%s", masked);
		break;
	}
	}
	if (!ok)
		return -1;
	char *copy = strdup(buf);
	if (!copy)
		return -2;
	free(r->values[f]);
	r->values[f] = copy;
	return 0;
}

int cust_record_check(const struct cust_record *r, const char **field,
                      const char **why)
{
	if (!r->values[CUST_F_FIRST_NAME] && !r->values[CUST_F_LAST_NAME] &&
	    !r->values[CUST_F_ORGANISATION]) {
		*field = "last_name";
		*why = "a customer needs a name or an organisation";
		return -1;
	}
	const char *start = r->values[CUST_F_RELATIONSHIP_START];
	const char *end = r->values[CUST_F_RELATIONSHIP_END];
	/* ISO dates compare as text. */
	if (start && end && strcmp(end, start) < 0) {
		*field = "relationship_end";
		*why = "the relationship ends before it starts";
		return -1;
	}
	return 0;
}

void cust_record_clear(struct cust_record *r)
{
	for (int i = 0; i < CUST_N_FIELDS; i++) {
		free(r->values[i]);
		r->values[i] = NULL;
	}
	memset(r->flags, 0, sizeof(r->flags));
}

int cust_parse_bool(const char *s, size_t len)
{
	static const char *const yes[] = {"1", "true", "yes"};
	static const char *const no[] = {"0", "false", "no"};
	s = seula_utf8_trim(s, &len, js_space);
	if (len == 0)
		return 0;
	for (size_t i = 0; i < 3; i++) {
		if (strlen(yes[i]) == len && strncasecmp(s, yes[i], len) == 0)
			return 1;
		if (strlen(no[i]) == len && strncasecmp(s, no[i], len) == 0)
			return 0;
	}
	return -1;
}
