/*
 * redact.c - e-mail addresses out of an event's text, with PCRE2.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "redact.h"

#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct seula_redactor {
	pcre2_code *re;
};

/* The lookbehind starts a match only where a run of local-part characters
 * starts (or after an escape that is not one, such as the %40 that ends a
 * local part, or a %20), never inside an escape, so a long run with an "@"
 * but no address after it costs one pass, not one per start: the
 * interpreter took a second over 60,000 bytes without it (the body may be
 * 64 KiB).  The loops are possessive, so nothing is given back and tried
 * again.  Any part may be percent-encoded (a URL's path is), twice even
 * (%2540: a URL carried in another's query, decoded once on the way), or
 * raw UTF-8 (a title is).
 *
 * A local part is a run of the atext of RFC 5322 and dots, raw or escaped,
 * but "/" (far more often a path's than an address's), a raw "?" and "&"
 * (a query's, and rarely an address's: "search?q=ann@x.com" kept "search"
 * and "q" with them), a raw "#", "|", "{", "}" and "`" (delimiters in
 * text and markup far more often than in any address) and a raw "%" (an
 * escape's): "o'neil" and "bounce-ann=example.com" go whole, not from
 * after the last "'" or "=".  Or it
 * is a quoted string of up to 64 characters ("ann smith"@example.com).  Raw,
 * letters, marks and digits count (\p{L}, \p{M}: "a" and a combining diaeresis,
 * a Devanagari vowel sign; \p{N}), with what is invisible inside a word: the
 * joiners ZWNJ and ZWJ, the soft hyphen, and the middle dot of IDNA.  So a
 * no-break space, a dash, an ellipsis or a guillemet beside an address
 * stays.  A host is a letter, digit, "-" or UTF-8 byte in a label, raw or
 * escaped; %2E is a dot, %2F and %20 end it.  Hosts need a dot ("a@b" is a
 * handle, not an address), or are an address literal ([192.0.2.1],
 * [IPv6:2001:db8::1]).  UTF mode: collect stores only valid UTF-8
 * (seula_text_valid()), and text that is not fails the match, and so the
 * event (seula_redact_text()). */
#define EMAIL_RAW "\\p{L}\\p{M}\\p{N}\\x{200C}\\x{200D}\\x{AD}\\x{B7}"
#define EMAIL_LOCAL_CHARS "a-z0-9._+!$'*=^~" EMAIL_RAW "-"
#define EMAIL_LOCAL_HEX                                                        \
	"(?:2[13-9a-e]|3[0-9df]|4[1-9a-f]|[56][0-9a-f]|7[0-9a-e]|[89a-f][0-"   \
	"9a-f])"
/* An escape of a local part's character, once or twice (%27, %2527), but
 * not %25 before the 40 of a twice-escaped "@". */
#define EMAIL_LOCAL_ESC "%(?!2540)(?:25" EMAIL_LOCAL_HEX "|" EMAIL_LOCAL_HEX ")"
/* A quote, raw or escaped, and what a quoted local part holds.  It does
 * not open after a backslash (\" is a quote inside one): in a run of \",
 * each would start a walk of 64. */
#define EMAIL_QUOTE "(?:\"|%(?:25)?22)"
#define EMAIL_QUOTED                                                           \
	"(?<!\\\\)" EMAIL_QUOTE                                                \
	"(?:(?!%(?:25)?22)[^\"\\\\\\x00-\\x1f]|\\\\[^\\x00-\\x1f])"            \
	"{1,64}+" EMAIL_QUOTE
#define EMAIL_LABEL                                                            \
	"(?:[a-z0-9" EMAIL_RAW "-]++|%(?:25)?+(?:[89a-f][0-9a-f]|2d|3[0-9]"    \
	"|4[1-9a-f]|5[0-9a]|6[1-9a-f]|7[0-9a]))++"
#define EMAIL_LITERAL                                                          \
	"(?:\\[|%(?:25)?5b)(?:[0-9]{1,3}+(?:\\.[0-9]{1,3}+){3}"                \
	"|ipv6:[0-9a-f:.]{2,45}+)(?:\\]|%(?:25)?5d)"
static const char pattern[] =
        "(?:(?<![" EMAIL_LOCAL_CHARS "])|(?<=%(?!" EMAIL_LOCAL_HEX ")"
        "[0-9a-f]{2})|(?<=%25(?!" EMAIL_LOCAL_HEX ")[0-9a-f]{2}))"
        "(?!(?<=%)[0-9a-f]{2})"
        "(?:(?:[" EMAIL_LOCAL_CHARS "]++|" EMAIL_LOCAL_ESC ")++"
        "|" EMAIL_QUOTED ")"
        "(?:@|%(?:25)?40)(?:" EMAIL_LABEL "(?:(?:\\.|%(?:25)?2e)" EMAIL_LABEL
        ")++|" EMAIL_LITERAL ")";

int seula_redactor_new(struct seula_redactor **out, bool jit, char *err,
                       size_t errlen)
{
	*out = NULL;
	struct seula_redactor *r = calloc(1, sizeof(*r));
	if (!r) {
		snprintf(err, errlen, "out of memory");
		return SEULA_ENOMEM;
	}
	int code = 0;
	PCRE2_SIZE at = 0;
	r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED,
	                      PCRE2_CASELESS | PCRE2_UTF, &code, &at, NULL);
	if (!r->re) {
		PCRE2_UCHAR msg[120];
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "the e-mail pattern at %zu: %s",
		         (size_t)at, (const char *)msg);
		free(r);
		return SEULA_EINVAL;
	}
	/* Without JIT (not built, or no executable memory) it still works. */
	if (jit)
		(void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
	*out = r;
	return SEULA_OK;
}

void seula_redactor_free(struct seula_redactor *r)
{
	if (!r)
		return;
	pcre2_code_free(r->re);
	free(r);
}

/* Whether `text` could hold an address at all: most text has no "@",
 * "%40" or "%2540". */
static bool may_hold(const char *text, size_t len)
{
	if (memchr(text, '@', len))
		return true;
	for (const char *p = text;
	     (p = memchr(p, '%', len - (size_t)(p - text))); p++) {
		size_t left = len - (size_t)(p - text) - 1;
		if ((left >= 2 && p[1] == '4' && p[2] == '0') ||
		    (left >= 4 && memcmp(p + 1, "2540", 4) == 0))
			return true;
	}
	return false;
}

int seula_redact_text(const struct seula_redactor *r, const char *text,
                      size_t len, char **out)
{
	*out = NULL;
	if (!may_hold(text, len))
		return SEULA_OK;
	/* Each address is at least 6 bytes, its replacement 7: a sixth more
	 * is room enough, and OVERFLOW_LENGTH says if not. */
	PCRE2_SIZE cap = len + len / 6 + sizeof(SEULA_REDACTED_EMAIL);
	for (int tries = 0; tries < 2; tries++) {
		PCRE2_UCHAR *buf = malloc(cap);
		if (!buf)
			return SEULA_ENOMEM;
		PCRE2_SIZE n = cap;
		int rc = pcre2_substitute(
		        r->re, (PCRE2_SPTR)text, len, 0,
		        PCRE2_SUBSTITUTE_GLOBAL |
		                PCRE2_SUBSTITUTE_OVERFLOW_LENGTH,
		        NULL, NULL, (PCRE2_SPTR)SEULA_REDACTED_EMAIL,
		        PCRE2_ZERO_TERMINATED, buf, &n);
		if (rc > 0) {
			*out = (char *)buf;
			return SEULA_OK;
		}
		free(buf);
		if (rc == 0)
			return SEULA_OK;
		/* Another error (a match limit, text that is not UTF-8)
		 * leaves the text unchecked: the event must not be stored. */
		if (rc != PCRE2_ERROR_NOMEMORY)
			return SEULA_EINVAL;
		cap = n;
	}
	return SEULA_ENOMEM;
}

/* The longest prefix of `text` (a redacted field, which may have grown a
 * little past the limit) that is whole UTF-8 and fits a field. */
static size_t fit(const char *text, size_t len)
{
	if (len <= SEULA_FIELD_MAX_BYTES)
		return len;
	size_t n = SEULA_FIELD_MAX_BYTES;
	while (n > 0 && ((unsigned char)text[n] & 0xC0) == 0x80)
		n--;
	return n;
}

/* Props are JSON text with non-ASCII and control characters escaped:
 * an address after "\t" or in "\u00e4nn@..." is found only in the
 * decoded strings, and a replacement inside an escape would break the
 * JSON.  So each key and string value is redacted decoded, and the
 * object encoded again as collect encodes it.  *out NULL: no change. */
static int redact_props(const struct seula_redactor *r, const char *text,
                        char **out)
{
	*out = NULL;
	if (!may_hold(text, strlen(text)))
		return SEULA_OK;
	json_t *in = json_loads(text, 0, NULL);
	if (!json_is_object(in)) {
		json_decref(in);
		return SEULA_EINVAL; /* collect wrote it: never so */
	}
	json_t *clean = json_object();
	int rc = clean ? SEULA_OK : SEULA_ENOMEM;
	const char *key;
	json_t *value;
	json_object_foreach(in, key, value)
	{
		if (rc != SEULA_OK)
			break;
		char *k = NULL, *v = NULL;
		rc = seula_redact_text(r, key, strlen(key), &k);
		if (rc == SEULA_OK && json_is_string(value))
			rc = seula_redact_text(r, json_string_value(value),
			                       json_string_length(value), &v);
		if (rc == SEULA_OK &&
		    json_object_set_new(clean, k ? k : key,
		                        v ? json_string(v)
		                          : json_incref(value)) != 0)
			rc = SEULA_ENOMEM;
		free(k);
		free(v);
	}
	if (rc == SEULA_OK &&
	    !(*out = json_dumps(clean, JSON_COMPACT | JSON_SORT_KEYS |
	                                       JSON_ENSURE_ASCII)))
		rc = SEULA_ENOMEM;
	json_decref(clean);
	json_decref(in);
	return rc;
}

int seula_redact_event(const struct seula_redactor *r, struct seula_event *ev)
{
	static const enum seula_field fields[] = {
	        SEULA_FIELD_URL,          SEULA_FIELD_PATH,
	        SEULA_FIELD_REFERRER,     SEULA_FIELD_TITLE,
	        SEULA_FIELD_NAME,         SEULA_FIELD_PROPS,
	        SEULA_FIELD_UTM_SOURCE,   SEULA_FIELD_UTM_MEDIUM,
	        SEULA_FIELD_UTM_CAMPAIGN, SEULA_FIELD_UTM_TERM,
	        SEULA_FIELD_UTM_CONTENT,
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(*fields); i++) {
		const char *text = seula_event_str(ev, fields[i]);
		char *clean = NULL;
		if (!text)
			continue;
		bool props = fields[i] == SEULA_FIELD_PROPS;
		int rc = props ? redact_props(r, text, &clean)
		               : seula_redact_text(r, text, strlen(text),
		                                   &clean);
		if (rc == SEULA_OK && clean) {
			size_t len = strlen(clean);
			/* "(email)" may be a byte longer than what it
			 * replaced.  Text is cut to fit; props, JSON that
			 * cannot be cut, go whole (rather than the event,
			 * or a 500 for what a visitor sent). */
			if (props && len > SEULA_FIELD_MAX_BYTES)
				rc = seula_event_set_str(ev, fields[i], NULL,
				                         0);
			else
				rc = seula_event_set_str(ev, fields[i], clean,
				                         fit(clean, len));
		}
		free(clean);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}
