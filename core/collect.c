/*
 * collect.c - validate collect requests into events.
 *
 * JSON through jansson (which already rejects invalid UTF-8 and NUL in
 * strings), URLs through libevent's URI parser.  Every field has a type, a
 * size limit and a text check; a GET request is first turned into the same
 * JSON object so both paths share one validator.
 */
#include "collect.h"

#include "http.h"
#include "urlpath.h"
#include "utf8trim.h"

#include <ctype.h>
#include <event2/http.h>
#include <jansson.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unicode/uchar.h>
#include <uuid/uuid.h>

static int reject(struct seula_collect_error *err, int status, const char *code,
                  const char *fmt, ...) SEULA_PRINTF(4, 5);

static int reject(struct seula_collect_error *err, int status, const char *code,
                  const char *fmt, ...)
{
	err->status = status;
	err->code = code;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(err->message, sizeof(err->message), fmt, ap);
	va_end(ap);
	return SEULA_EINVAL;
}

enum kind { K_STRING, K_INT, K_OBJECT };

struct wire_field {
	const char *key;
	enum kind kind;
};

/* Every key an event may carry; anything else is refused so that a typo in
 * a custom integration is found at once, not in next month's report. */
static const struct wire_field wire_fields[] = {
        {"site", K_STRING},       {"type", K_STRING},
        {"url", K_STRING},        {"referrer", K_STRING},
        {"title", K_STRING},      {"language", K_STRING},
        {"screen_width", K_INT},  {"screen_height", K_INT},
        {"name", K_STRING},       {"props", K_OBJECT},
        {"engagement_ms", K_INT}, {"visitor_id", K_STRING},
        {NULL, K_STRING},
};

static const struct wire_field *wire_field(const char *key)
{
	for (const struct wire_field *w = wire_fields; w->key; w++)
		if (strcmp(w->key, key) == 0)
			return w;
	return NULL;
}

static const char *const utm_keys[] = {
        "utm_source", "utm_medium", "utm_campaign", "utm_term", "utm_content"};
static const enum seula_field utm_fields[] = {
        SEULA_FIELD_UTM_SOURCE, SEULA_FIELD_UTM_MEDIUM,
        SEULA_FIELD_UTM_CAMPAIGN, SEULA_FIELD_UTM_TERM,
        SEULA_FIELD_UTM_CONTENT};

static bool is_http_scheme(const char *scheme)
{
	return scheme && (strcasecmp(scheme, "http") == 0 ||
	                  strcasecmp(scheme, "https") == 0);
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

static bool in_list(const char *const *list, const char *s, size_t len)
{
	for (size_t i = 0; list && list[i]; i++)
		if (strlen(list[i]) == len && strncmp(list[i], s, len) == 0)
			return true;
	return false;
}

/* Append to a bounded buffer; false when it would overflow. */
struct sbuf {
	char *p;
	size_t len, cap;
};

static bool sb_add(struct sbuf *b, const char *s, size_t n)
{
	if (b->cap - b->len <= n)
		return false;
	memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
	return true;
}

static bool sb_str(struct sbuf *b, const char *s)
{
	return sb_add(b, s, strlen(s));
}

/*
 * s[0..n) into b with the bytes every browser percent-encodes in a URL's
 * path and query (controls, space, " < > and all past ASCII) as %XX in
 * upper case, as browsers write them: a page logged by a web server as
 * raw bytes is stored as its tracker sends it.  Escapes already there
 * stay (in upper case), which is why not evhttp_uriencode(): it encodes
 * '%' and '/' too.
 */
static bool sb_encoded(struct sbuf *b, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t run = 0; /* bytes from s + run on are not copied yet */
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		/* %c3%a4 is %C3%A4 (RFC 3986 6.2.2.1): one page, not two. */
		if (c == '%' && i + 2 < n &&
		    isxdigit((unsigned char)s[i + 1]) &&
		    isxdigit((unsigned char)s[i + 2]) &&
		    (islower((unsigned char)s[i + 1]) ||
		     islower((unsigned char)s[i + 2]))) {
			char up[3] = {'%',
			              (char)toupper((unsigned char)s[i + 1]),
			              (char)toupper((unsigned char)s[i + 2])};
			if (!sb_add(b, s + run, i - run) || !sb_add(b, up, 3))
				return false;
			run = i + 3;
			i += 2;
			continue;
		}
		if (c > 0x20 && c < 0x7f && c != '"' && c != '<' && c != '>')
			continue;
		char esc[3] = {'%', hex[c >> 4], hex[c & 15]};
		if (!sb_add(b, s + run, i - run) || !sb_add(b, esc, 3))
			return false;
		run = i + 1;
	}
	return sb_add(b, s + run, n - run);
}

/* "scheme://host[:port]" of a URI into b, the host (lower case, IPv6 in
 * brackets) into host_out. */
static bool uri_origin(struct sbuf *b, const struct evhttp_uri *uri,
                       char *host_out, size_t host_cap)
{
	const char *scheme = evhttp_uri_get_scheme(uri);
	const char *host = evhttp_uri_get_host(uri);
	if (!is_http_scheme(scheme) || !host || !*host ||
	    strlen(host) >= host_cap)
		return false;
	snprintf(host_out, host_cap, "%s", host);
	lower(host_out);
	char sch[8];
	snprintf(sch, sizeof(sch), "%s", scheme);
	lower(sch);
	int port = evhttp_uri_get_port(uri);
	char portbuf[16] = "";
	if (port > 0 && !((port == 80 && strcmp(sch, "http") == 0) ||
	                  (port == 443 && strcmp(sch, "https") == 0)))
		snprintf(portbuf, sizeof(portbuf), ":%d", port);
	/* libevent keeps the brackets of an IPv6 literal: "[::1]", the form
	 * site domains are written in too. */
	return sb_str(b, sch) && sb_str(b, "://") && sb_str(b, host_out) &&
	       sb_str(b, portbuf);
}

/* Parse an absolute http(s) URL of at most SEULA_URL_MAX bytes and write
 * its "scheme://host[:port]" into b; NULL when it is not one. */
static struct evhttp_uri *open_web_url(const char *text, struct sbuf *b,
                                       char *host, size_t host_cap)
{
	struct evhttp_uri *uri =
	        evhttp_uri_parse_with_flags(text, EVHTTP_URI_NONCONFORMANT);
	if (uri && !uri_origin(b, uri, host, host_cap)) {
		evhttp_uri_free(uri);
		uri = NULL;
	}
	return uri;
}

/* Decode one query component ('+' is a space); NULL when it is not text. */
static char *decode_component(const char *s, size_t len, size_t *out_len)
{
	if (!seula_escapes_valid(s, len))
		return NULL;
	char *raw = strndup(s, len);
	if (!raw)
		return NULL;
	size_t n = 0;
	char *dec = evhttp_uridecode(raw, 1, &n);
	free(raw);
	if (!dec)
		return NULL;
	if (!seula_text_valid(dec, n)) {
		free(dec);
		return NULL;
	}
	*out_len = n;
	return dec;
}

/* Whether code point c is blank around a campaign tag (seula_utf8_trim():
 * "%20%20" or "+" names no campaign, and " news" is "news"): Unicode's
 * White_Space (ICU), and the zero width space and byte order mark a copied
 * link brings along, which are not White_Space.  A malformed sequence
 * (decode_component() lets none through) is not blank. */
static bool utm_blank(UChar32 c)
{
	return u_isUWhiteSpace(c) || c == 0x200B || c == 0xFEFF;
}

static int set_str(struct seula_event *ev, enum seula_field f, const char *s,
                   size_t len, const char *what,
                   struct seula_collect_error *err)
{
	int rc = seula_event_set_str(ev, f, s, len);
	if (rc == SEULA_ENOMEM)
		return reject(err, 413, "too_large",
		              "the request holds more data than the server "
		              "accepts");
	if (rc == SEULA_ETOOBIG)
		return reject(err, 400, "invalid_event",
		              "%s takes at most %d bytes as stored (JSON, a "
		              "character outside ASCII written as \\uXXXX)",
		              what, SEULA_FIELD_MAX_BYTES);
	if (rc != SEULA_OK)
		return reject(err, 400, "invalid_event", "%s is not valid text",
		              what);
	return SEULA_OK;
}

/* A host name as DNS has them: labels of 1 to 63 letters, digits, '-' or
 * '_', dots between, 253 bytes at most.  A wildcard domain takes any name
 * under it, and the parser passes "a..example.com" or "%61.example.com".
 * An IPv6 literal (a ':') is the parser's to check. */
static bool host_name_ok(const char *h)
{
	if (strchr(h, ':'))
		return true;
	size_t label = 0, n = 0;
	for (const char *p = h;; p++, n++) {
		if (*p == '.' || *p == '\0') {
			if (label == 0 || label > 63)
				return false;
			if (!*p)
				break;
			label = 0;
			continue;
		}
		char c = *p;
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
		label++;
	}
	return n <= 253;
}

/*
 * The page URL: keep scheme, host, port and path (without path parameters),
 * and of the query only the site's keep_query parameters (query strings
 * carry e-mail addresses and tokens far too often); take utm_* into their
 * own fields; drop the fragment.
 */
static int take_page_url(struct seula_event *ev, const struct seula_site *site,
                         const char *url, size_t url_len, size_t idx,
                         struct seula_collect_error *err)
{
	if (url_len == 0 || url_len > SEULA_URL_INPUT_MAX)
		return reject(err, 400, "invalid_event",
		              "event %zu: url must be 1 to %d bytes", idx,
		              SEULA_URL_INPUT_MAX);
	char host[256];
	char kept[SEULA_URL_MAX + 1];
	struct sbuf b = {kept, 0, sizeof(kept)};
	kept[0] = '\0';
	struct evhttp_uri *uri = open_web_url(url, &b, host, sizeof(host));
	if (!uri) {
		return reject(err, 400, "invalid_event",
		              "event %zu: url is not an absolute http(s) URL",
		              idx);
	}
	if (!host_name_ok(host)) {
		evhttp_uri_free(uri);
		return reject(err, 400, "invalid_event",
		              "event %zu: url's host is not a host name", idx);
	}
	if (!seula_site_allows_host(site, host, strlen(host))) {
		evhttp_uri_free(uri);
		return reject(err, 403, "domain_not_allowed",
		              "event %zu: %s is not among the domains of site "
		              "'%s'",
		              idx, host, site->id);
	}
	if (set_str(ev, SEULA_FIELD_HOSTNAME, host, strlen(host), "hostname",
	            err) != SEULA_OK)
		goto fail;
	const char *path = evhttp_uri_get_path(uri);
	if (!path || !*path)
		path = "/";
	size_t path_at = b.len;
	if (!sb_encoded(&b, path, strlen(path))) {
		evhttp_uri_free(uri);
		return reject(
		        err, 400, "invalid_event",
		        "event %zu: the url's path is longer than %d bytes",
		        idx, SEULA_URL_MAX);
	}
	b.len = path_at +
	        seula_url_cut_path_params(b.p + path_at, b.len - path_at);
	if (set_str(ev, SEULA_FIELD_PATH, b.p + path_at, b.len - path_at,
	            "url path", err) != SEULA_OK)
		goto fail;

	const char *query = evhttp_uri_get_query(uri);
	bool first = true;
	bool keep_any = site->keep_query && site->keep_query[0];
	/* ?ref= or ?source= (Plausible's and many sites' own tags: "from
	 * Product Hunt") are the utm_source of a link without one. */
	char *tag = NULL;
	const char *tag_value = NULL;
	size_t tag_len = 0;
	for (const char *p = query; p && *p;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		/* Most parameters are neither utm_* nor kept: decode a key
		 * only when it could be one of them. */
		bool encoded = memchr(p, '%', klen) || memchr(p, '+', klen);
		bool maybe_tag = (klen == 3 && memcmp(p, "ref", 3) == 0) ||
		                 (klen == 6 && memcmp(p, "source", 6) == 0);
		bool maybe_utm = encoded || maybe_tag ||
		                 (klen > 4 && memcmp(p, "utm_", 4) == 0);
		if (!maybe_utm && !keep_any) {
			p = amp ? amp + 1 : NULL;
			continue;
		}
		size_t dklen;
		char *key = decode_component(p, klen, &dklen);
		if (key) {
			for (size_t u = 0; maybe_utm && u < 5; u++) {
				if (strcmp(key, utm_keys[u]) != 0 || !eq)
					continue;
				size_t vlen = 0;
				char *val = decode_component(
				        eq + 1, plen - klen - 1, &vlen);
				const char *v =
				        val ? seula_utf8_trim(val, &vlen,
				                              utm_blank)
				            : NULL;
				if (v && vlen > 0 && vlen <= SEULA_UTM_MAX &&
				    !seula_event_str(ev, utm_fields[u]))
					set_str(ev, utm_fields[u], v, vlen,
					        utm_keys[u], err);
				free(val);
			}
			if (maybe_utm && eq && !tag &&
			    (strcmp(key, "ref") == 0 ||
			     strcmp(key, "source") == 0)) {
				tag = decode_component(eq + 1, plen - klen - 1,
				                       &tag_len);
				/* A blank one is no tag, and leaves the
				 * place to the next. */
				if (tag)
					tag_value = seula_utf8_trim(
					        tag, &tag_len, utm_blank);
				if (tag &&
				    (tag_len == 0 || tag_len > SEULA_UTM_MAX)) {
					free(tag);
					tag = NULL;
				}
			}
			/* A kept parameter that would not fit is left out. */
			size_t at = b.len;
			if (keep_any && in_list(site->keep_query, key, dklen)) {
				if (sb_str(&b, first ? "?" : "&") &&
				    sb_encoded(&b, p, plen)) {
					first = false;
				} else {
					b.len = at;
					b.p[at] = '\0';
				}
			}
			free(key);
		}
		p = amp ? amp + 1 : NULL;
	}
	evhttp_uri_free(uri);
	int rc = SEULA_OK;
	if (tag && !seula_event_str(ev, SEULA_FIELD_UTM_SOURCE))
		rc = set_str(ev, SEULA_FIELD_UTM_SOURCE, tag_value, tag_len,
		             "utm_source", err);
	free(tag);
	return rc != SEULA_OK
	               ? rc
	               : set_str(ev, SEULA_FIELD_URL, kept, b.len, "url", err);
fail:
	evhttp_uri_free(uri);
	return SEULA_EINVAL;
}

/* An Android app that opened the page ("android-app://com.google.android.gm/"
 * from Gmail) is kept as android-app://PACKAGE; about:blank, file: and the
 * like are not a referrer, and not an error of the page's either. */
static int take_app_referrer(struct seula_event *ev, const char *ref,
                             size_t len, struct seula_collect_error *err)
{
	static const char scheme[] = "android-app://";
	const size_t sl = sizeof(scheme) - 1;
	if (len <= sl || strncasecmp(ref, scheme, sl) != 0)
		return SEULA_OK;
	size_t n = 0;
	const char *pkg = ref + sl;
	while (sl + n < len && pkg[n] != '/' &&
	       ((pkg[n] >= 'a' && pkg[n] <= 'z') ||
	        (pkg[n] >= 'A' && pkg[n] <= 'Z') ||
	        (pkg[n] >= '0' && pkg[n] <= '9') || pkg[n] == '.' ||
	        pkg[n] == '_'))
		n++;
	if (n == 0 || n > 200 || (sl + n < len && pkg[n] != '/'))
		return SEULA_OK;
	char kept[sizeof(scheme) + 201];
	memcpy(kept, ref, sl);
	memcpy(kept + sl, pkg, n);
	kept[sl + n] = '\0';
	for (size_t i = 0; i < sl + n; i++)
		if (kept[i] >= 'A' && kept[i] <= 'Z')
			kept[i] = (char)(kept[i] - 'A' + 'a');
	return set_str(ev, SEULA_FIELD_REFERRER, kept, sl + n, "referrer", err);
}

/* The referrer without query or fragment: who sent the visitor, not what
 * they searched or which token they carried. */
static int take_referrer(struct seula_event *ev, const char *ref, size_t len,
                         size_t idx, struct seula_collect_error *err)
{
	if (len == 0)
		return SEULA_OK;
	if (len > SEULA_URL_INPUT_MAX)
		return reject(err, 400, "invalid_event",
		              "event %zu: referrer is longer than %d bytes",
		              idx, SEULA_URL_INPUT_MAX);
	char host[256];
	char kept[SEULA_URL_MAX + 1];
	struct sbuf b = {kept, 0, sizeof(kept)};
	kept[0] = '\0';
	struct evhttp_uri *uri = open_web_url(ref, &b, host, sizeof(host));
	if (!uri)
		return take_app_referrer(ev, ref, len, err);
	const char *path = evhttp_uri_get_path(uri);
	size_t origin = b.len;
	/* Who sent the visitor matters, not a path too long to keep.  Its
	 * path in the page URL's form: one referrer, however it was sent. */
	path = path && *path ? path : "/";
	if (!sb_encoded(&b, path, strlen(path))) {
		b.len = origin;
		sb_str(&b, "/");
	}
	b.len = origin +
	        seula_url_cut_path_params(b.p + origin, b.len - origin);
	evhttp_uri_free(uri);
	return set_str(ev, SEULA_FIELD_REFERRER, kept, b.len, "referrer", err);
}

static bool valid_language(const char *s, size_t len)
{
	if (len == 0 || len > 35)
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') ||
		      (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/* String `v` (vlen bytes, at most SEULA_PROP_VALUE_MAX) with its control
 * characters (but tab) made spaces.  jansson has checked it is
 * UTF-8, whose multi-byte sequences hold no such byte. */
static void control_to_space(json_t *v, size_t vlen)
{
	char buf[SEULA_PROP_VALUE_MAX];
	const char *s = json_string_value(v);
	for (size_t i = 0; i < vlen; i++) {
		unsigned char c = (unsigned char)s[i];
		buf[i] = (c < 0x20 && c != '\t') || c == 0x7f ? ' ' : (char)c;
	}
	json_string_setn(v, buf, vlen);
}

static int take_props(struct seula_event *ev, json_t *props, size_t idx,
                      struct seula_collect_error *err)
{
	if (json_object_size(props) > SEULA_PROPS_MAX)
		return reject(err, 400, "invalid_event",
		              "event %zu: props has more than %d keys", idx,
		              SEULA_PROPS_MAX);
	const char *key;
	json_t *value;
	json_object_foreach(props, key, value)
	{
		size_t klen = strlen(key);
		if (klen == 0 || klen > SEULA_PROP_KEY_MAX ||
		    !seula_text_valid(key, klen))
			return reject(err, 400, "invalid_event",
			              "event %zu: a props key must be 1 to %d "
			              "bytes of text",
			              idx, SEULA_PROP_KEY_MAX);
		/* The reports' filters split on ";" and compare with "=="
		 * and "!=": a key holding either could be listed, never
		 * filtered on. */
		if (strpbrk(key, "=;"))
			return reject(err, 400, "invalid_event",
			              "event %zu: a props key may not hold '=' "
			              "or ';' (the reports' filters use them)",
			              idx);
		if (json_is_string(value)) {
			size_t vlen = json_string_length(value);
			/* A value typed into a form may hold a line break:
			 * spaces, as in a title, rather than a lost event. */
			if (vlen <= SEULA_PROP_VALUE_MAX &&
			    !seula_text_valid(json_string_value(value), vlen))
				control_to_space(value, vlen);
			if (vlen > SEULA_PROP_VALUE_MAX ||
			    !seula_text_valid(json_string_value(value), vlen))
				return reject(
				        err, 400, "invalid_event",
				        "event %zu: props.%s must be text "
				        "of at most %d bytes",
				        idx, key, SEULA_PROP_VALUE_MAX);
		} else if (!json_is_number(value) && !json_is_boolean(value) &&
		           !json_is_null(value)) {
			return reject(err, 400, "invalid_event",
			              "event %zu: props.%s must be a string, "
			              "number, boolean or null",
			              idx, key);
		}
	}
	char *text = json_dumps(props, JSON_COMPACT | JSON_SORT_KEYS |
	                                       JSON_ENSURE_ASCII);
	if (!text)
		return reject(err, 500, "internal", "out of memory");
	/* ENSURE_ASCII escapes control characters, so the text passes. */
	int rc = set_str(ev, SEULA_FIELD_PROPS, text, strlen(text), "props",
	                 err);
	free(text);
	return rc;
}

static const char *str_of(json_t *obj, const char *key, size_t *len)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return NULL;
	*len = json_string_length(v);
	return json_string_value(v);
}

static int int_of(json_t *obj, const char *key, int64_t min, int64_t max,
                  int64_t *out, size_t idx, struct seula_collect_error *err)
{
	json_t *v = json_object_get(obj, key);
	if (!v)
		return SEULA_ENOTFOUND;
	json_int_t x = json_integer_value(v);
	if (x < min || x > max)
		return reject(err, 400, "invalid_event",
		              "event %zu: %s must be between %lld and %lld",
		              idx, key, (long long)min, (long long)max);
	*out = (int64_t)x;
	return SEULA_OK;
}

static int validate_event(const struct seula_collect_request *req, json_t *obj,
                          size_t idx, struct seula_arena *arena,
                          struct seula_event **out,
                          struct seula_collect_error *err)
{
	if (!json_is_object(obj))
		return reject(err, 400, "invalid_event",
		              "event %zu is not a JSON object", idx);
	const char *key;
	json_t *value;
	json_object_foreach(obj, key, value)
	{
		const struct wire_field *w = wire_field(key);
		if (!w)
			return reject(err, 400, "invalid_event",
			              "event %zu: unknown field '%.64s'", idx,
			              key);
		bool ok = w->kind == K_STRING ? json_is_string(value)
		          : w->kind == K_INT  ? json_is_integer(value)
		                              : json_is_object(value);
		if (!ok)
			return reject(err, 400, "invalid_event",
			              "event %zu: %s must be %s", idx, key,
			              w->kind == K_STRING ? "a string"
			              : w->kind == K_INT  ? "an integer"
			                                  : "an object");
	}

	size_t len;
	const char *site_id = str_of(obj, "site", &len);
	if (!site_id)
		return reject(err, 400, "missing_field",
		              "event %zu: site is required", idx);
	const struct seula_site *site =
	        len <= 64 ? seula_config_site(req->cfg, site_id) : NULL;
	if (!site)
		return reject(err, 404, "unknown_site",
		              "event %zu: no site '%.64s' is configured", idx,
		              site_id);
	if (req->origin && !seula_collect_origin_allowed(site, req->origin))
		return reject(err, 403, "origin_not_allowed",
		              "origin %.128s may not send for site '%s'",
		              req->origin, site->id);

	const char *type = str_of(obj, "type", &len);
	enum seula_event_type etype;
	if (!type)
		return reject(err, 400, "missing_field",
		              "event %zu: type is required", idx);
	if (strcmp(type, "pageview") == 0)
		etype = SEULA_EVENT_PAGEVIEW;
	else if (strcmp(type, "event") == 0)
		etype = SEULA_EVENT_CUSTOM;
	else if (strcmp(type, "engagement") == 0)
		etype = SEULA_EVENT_ENGAGEMENT;
	else
		return reject(err, 400, "invalid_event",
		              "event %zu: type must be pageview, event or "
		              "engagement",
		              idx);

	struct seula_event *ev = seula_event_new(arena);
	if (!ev)
		return reject(err, 413, "too_large",
		              "the request holds more data than the server "
		              "accepts");
	seula_event_set_str(ev, SEULA_FIELD_SITE, site->id, strlen(site->id));
	seula_event_set_int(ev, SEULA_FIELD_TYPE, etype);
	seula_event_set_int(ev, SEULA_FIELD_TIME_MS, req->now_ms);
	seula_event_set_ip(ev, &req->client_ip);

	const char *url = str_of(obj, "url", &len);
	if (!url)
		return reject(err, 400, "missing_field",
		              "event %zu: url is required", idx);
	if (take_page_url(ev, site, url, len, idx, err) != SEULA_OK)
		return SEULA_EINVAL;

	const char *s;
	if ((s = str_of(obj, "referrer", &len)) &&
	    take_referrer(ev, s, len, idx, err) != SEULA_OK)
		return SEULA_EINVAL;
	if ((s = str_of(obj, "title", &len))) {
		/* A title is shown, not parsed: cut a long one at a character
		 * boundary and make control characters spaces rather than lose
		 * the page view.  jansson has checked it is UTF-8. */
		char title[SEULA_TITLE_MAX + 1];
		size_t n = len < SEULA_TITLE_MAX ? len : SEULA_TITLE_MAX;
		while (n < len && n > 0 && ((unsigned char)s[n] & 0xc0) == 0x80)
			n--;
		for (size_t i = 0; i < n; i++) {
			unsigned char c = (unsigned char)s[i];
			title[i] = (c < 0x20 && c != '\t') || c == 0x7f
			                   ? ' '
			                   : (char)c;
		}
		if (n && set_str(ev, SEULA_FIELD_TITLE, title, n, "title",
		                 err) != SEULA_OK)
			return SEULA_EINVAL;
	}
	if ((s = str_of(obj, "language", &len))) {
		if (!valid_language(s, len))
			return reject(err, 400, "invalid_event",
			              "event %zu: language is not a language "
			              "tag such as fi-FI",
			              idx);
		set_str(ev, SEULA_FIELD_LANGUAGE, s, len, "language", err);
	}

	int64_t x = 0;
	int rc;
	if ((rc = int_of(obj, "screen_width", 1, 100000, &x, idx, err)) ==
	    SEULA_OK)
		seula_event_set_int(ev, SEULA_FIELD_SCREEN_WIDTH, x);
	else if (rc != SEULA_ENOTFOUND)
		return rc;
	if ((rc = int_of(obj, "screen_height", 1, 100000, &x, idx, err)) ==
	    SEULA_OK)
		seula_event_set_int(ev, SEULA_FIELD_SCREEN_HEIGHT, x);
	else if (rc != SEULA_ENOTFOUND)
		return rc;

	rc = int_of(obj, "engagement_ms", 0, SEULA_ENGAGEMENT_MAX_MS, &x, idx,
	            err);
	if (rc == SEULA_OK && etype != SEULA_EVENT_ENGAGEMENT)
		return reject(err, 400, "invalid_event",
		              "event %zu: engagement_ms belongs to engagement "
		              "events",
		              idx);
	if (rc == SEULA_ENOTFOUND && etype == SEULA_EVENT_ENGAGEMENT)
		return reject(err, 400, "missing_field",
		              "event %zu: an engagement event needs "
		              "engagement_ms",
		              idx);
	if (rc == SEULA_OK)
		seula_event_set_int(ev, SEULA_FIELD_ENGAGEMENT_MS, x);
	else if (rc != SEULA_ENOTFOUND)
		return rc;

	const char *name = str_of(obj, "name", &len);
	if (etype == SEULA_EVENT_CUSTOM) {
		if (!name || len == 0 || len > SEULA_NAME_MAX)
			return reject(
			        err, 400, "invalid_event",
			        "event %zu: a custom event needs a name of "
			        "1 to %d bytes",
			        idx, SEULA_NAME_MAX);
		if (set_str(ev, SEULA_FIELD_NAME, name, len, "name", err) !=
		    SEULA_OK)
			return SEULA_EINVAL;
	} else if (name) {
		return reject(err, 400, "invalid_event",
		              "event %zu: name belongs to custom events", idx);
	}
	json_t *props = json_object_get(obj, "props");
	if (props && take_props(ev, props, idx, err) != SEULA_OK)
		return SEULA_EINVAL;

	const char *vid = str_of(obj, "visitor_id", &len);
	if (vid) {
		uuid_t u;
		char canon[37];
		if (len != 36 || uuid_parse(vid, u) != 0)
			return reject(err, 400, "invalid_event",
			              "event %zu: visitor_id is not a UUID",
			              idx);
		uuid_unparse_lower(u, canon);
		set_str(ev, SEULA_FIELD_VISITOR_ID, canon, 36, "visitor_id",
		        err);
	}

	for (size_t i = 0; i < req->n_headers; i++) {
		seula_event_add_header(ev, req->headers[i].name,
		                       req->headers[i].value);
		if (strcasecmp(req->headers[i].name, "User-Agent") == 0) {
			const char *ua = seula_event_header(ev, "User-Agent");
			if (ua)
				seula_event_set_str(ev, SEULA_FIELD_USER_AGENT,
				                    ua, strlen(ua));
		}
	}
	*out = ev;
	return SEULA_OK;
}

static int validate_all(const struct seula_collect_request *req, json_t *root,
                        struct seula_arena *arena,
                        struct seula_collect_result *out,
                        struct seula_collect_error *err)
{
	size_t n = json_is_array(root) ? json_array_size(root) : 1;
	if (json_is_array(root) && n == 0)
		return reject(err, 400, "invalid_event", "the array is empty");
	if ((int64_t)n > req->cfg->max_events_per_request)
		return reject(err, 400, "too_many_events",
		              "%zu events in one request; at most %lld", n,
		              (long long)req->cfg->max_events_per_request);
	struct seula_event **events =
	        seula_arena_alloc(arena, n * sizeof(*events));
	if (!events)
		return reject(err, 413, "too_large",
		              "the request holds more data than the server "
		              "accepts");
	for (size_t i = 0; i < n; i++) {
		json_t *obj =
		        json_is_array(root) ? json_array_get(root, i) : root;
		int rc = validate_event(req, obj, i, arena, &events[i], err);
		if (rc != SEULA_OK)
			return rc;
	}
	out->events = events;
	out->n_events = n;
	return SEULA_OK;
}

int seula_collect_parse_json(const struct seula_collect_request *req,
                             const char *body, size_t len,
                             struct seula_arena *arena,
                             struct seula_collect_result *out,
                             struct seula_collect_error *err)
{
	memset(out, 0, sizeof(*out));
	if (len == 0)
		return reject(err, 400, "empty_body",
		              "send one event object or an array of them");
	json_error_t jerr;
	json_t *root = json_loadb(body, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!root)
		return reject(err, 400, "invalid_json",
		              "line %d, column %d: %.120s", jerr.line,
		              jerr.column, jerr.text);
	int rc = validate_all(req, root, arena, out, err);
	json_decref(root);
	return rc;
}

int seula_collect_parse_query(const struct seula_collect_request *req,
                              const char *query, struct seula_arena *arena,
                              struct seula_collect_result *out,
                              struct seula_collect_error *err)
{
	memset(out, 0, sizeof(*out));
	if (!query || !*query)
		return reject(err, 400, "missing_field",
		              "give the event as query parameters (site, type, "
		              "url, ...)");
	json_t *obj = json_object();
	if (!obj)
		return reject(err, 500, "internal", "out of memory");
	int rc = SEULA_OK;
	for (const char *p = query; p && *p && rc == SEULA_OK;) {
		const char *amp = strchr(p, '&');
		size_t plen = amp ? (size_t)(amp - p) : strlen(p);
		const char *eq = memchr(p, '=', plen);
		size_t klen = eq ? (size_t)(eq - p) : plen;
		size_t dk, dv = 0;
		char *key = decode_component(p, klen, &dk);
		char *val = eq ? decode_component(eq + 1, plen - klen - 1, &dv)
		               : strdup("");
		const struct wire_field *w = key ? wire_field(key) : NULL;
		if (!key || !val) {
			rc = reject(
			        err, 400, "invalid_event",
			        "a query parameter is not text: a %%-escape "
			        "not of two hex digits, or not UTF-8");
		} else if (!w) {
			rc = reject(err, 400, "invalid_event",
			            "unknown field '%.64s'", key);
		} else if (json_object_get(obj, key)) {
			rc = reject(err, 400, "invalid_event",
			            "%.64s is given twice", key);
		} else if (w->kind == K_STRING) {
			json_object_set_new(obj, key, json_stringn(val, dv));
		} else if (w->kind == K_INT) {
			long long x;
			if (dv > 12 ||
			    !seula_decimal_parse(val, LLONG_MIN, LLONG_MAX, &x))
				rc = reject(err, 400, "invalid_event",
				            "%s must be an integer", key);
			else
				json_object_set_new(
				        obj, key, json_integer((json_int_t)x));
		} else {
			json_error_t jerr;
			json_t *o = json_loadb(val, dv, JSON_REJECT_DUPLICATES,
			                       &jerr);
			if (!json_is_object(o)) {
				json_decref(o);
				rc = reject(err, 400, "invalid_event",
				            "%s must be a JSON object", key);
			} else {
				json_object_set_new(obj, key, o);
			}
		}
		free(key);
		free(val);
		p = amp ? amp + 1 : NULL;
	}
	if (rc == SEULA_OK)
		rc = validate_all(req, obj, arena, out, err);
	json_decref(obj);
	return rc;
}

int seula_collect_take_url(struct seula_event *ev,
                           const struct seula_site *site, const char *url,
                           size_t len, struct seula_collect_error *err)
{
	return take_page_url(ev, site, url, len, 0, err);
}

int seula_collect_take_referrer(struct seula_event *ev, const char *ref,
                                size_t len, struct seula_collect_error *err)
{
	return take_referrer(ev, ref, len, 0, err);
}

bool seula_collect_origin_allowed(const struct seula_site *site,
                                  const char *origin)
{
	/* "scheme://host[:port]"; "null" (sandboxed frames, files) is not a
	 * site's page. */
	const char *p = strstr(origin, "://");
	if (!p)
		return false;
	size_t slen = (size_t)(p - origin);
	if (!((slen == 4 && strncasecmp(origin, "http", 4) == 0) ||
	      (slen == 5 && strncasecmp(origin, "https", 5) == 0)))
		return false;
	const char *host = p + 3;
	const char *end;
	if (*host == '[') {
		end = strchr(host, ']');
		if (!end)
			return false;
		end++; /* domains keep the brackets: "[::1]" */
	} else {
		end = strchr(host, ':');
		if (!end)
			end = host + strlen(host);
	}
	size_t len = (size_t)(end - host);
	if (len == 0 || len > 253 || strchr(host, '/') != NULL)
		return false;
	/* Nothing after the host but a port: "http://a.example:80@evil" is
	 * evil's origin, not a.example's. */
	if (*end == ':') {
		size_t digits = strspn(end + 1, "0123456789");
		if (digits == 0 || digits > 5 || end[1 + digits] != '\0')
			return false;
	} else if (*end != '\0') {
		return false;
	}
	return seula_site_allows_host(site, host, len);
}
