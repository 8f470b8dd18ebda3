/*
 * http.c - JSON replies and the route handler's request object.
 */
#include "http.h"

#include "arena.h"
#include "audit.h"
#include "event.h"

#include <ctype.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unicode/ustring.h>

bool seula_decimal_parse(const char *s, long long min, long long max,
                         long long *out)
{
	if (!s)
		return false;
	const char *d = *s == '-' ? s + 1 : s;
	if (*d < '0' || *d > '9')
		return false;
	errno = 0;
	char *end;
	long long v = strtoll(s, &end, 10);
	if (*end != '\0' || errno == ERANGE || v < min || v > max)
		return false;
	*out = v;
	return true;
}

bool seula_escapes_valid(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != '%')
			continue;
		if (i + 2 >= len || !isxdigit((unsigned char)s[i + 1]) ||
		    !isxdigit((unsigned char)s[i + 2]))
			return false;
		i += 2;
	}
	return true;
}

bool seula_json_media_type(const char *ct, bool text_ok)
{
	if (!ct)
		return false;
	const char *semi = strchr(ct, ';');
	size_t len = semi ? (size_t)(semi - ct) : strlen(ct);
	while (len && (ct[len - 1] == ' ' || ct[len - 1] == '\t'))
		len--;
	bool type_ok =
	        (len == 16 && strncasecmp(ct, "application/json", 16) == 0) ||
	        (text_ok && len == 10 &&
	         strncasecmp(ct, "text/plain", 10) == 0);
	if (!type_ok)
		return false;
	/* A charset, if given, must be UTF-8. */
	const char *cs = semi ? strcasestr(semi, "charset=") : NULL;
	if (cs) {
		cs += 8;
		if (*cs == '"')
			cs++;
		if (strncasecmp(cs, "utf-8", 5) != 0 &&
		    strncasecmp(cs, "utf8", 4) != 0)
			return false;
	}
	return true;
}

int seula_query_parse(const char *raw, struct evkeyvalq *q)
{
	TAILQ_INIT(q);
	size_t len = strlen(raw);
	if (!seula_escapes_valid(raw, len))
		return SEULA_EINVAL;
	/* At most one '=' added per part, and a part is at least a byte. */
	char *norm = malloc(len + len / 2 + 2);
	if (!norm)
		return SEULA_ENOMEM;
	size_t n = 0;
	for (const char *p = raw; *p;) {
		size_t plen = strcspn(p, "&");
		if (plen > 0) {
			if (n > 0)
				norm[n++] = '&';
			memcpy(norm + n, p, plen);
			n += plen;
			if (!memchr(p, '=', plen))
				norm[n++] = '=';
		}
		p += plen;
		if (*p == '&')
			p++;
	}
	norm[n] = '\0';
	int rc = evhttp_parse_query_str(norm, q) == 0 ? SEULA_OK : SEULA_EINVAL;
	free(norm);
	/* libevent decodes the values only: "%71=1" would be a name of its
	 * own beside "q=1".  A decoded name is never longer, so it is written
	 * in place (the entry's memory stays libevent's). */
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, q, next)
	{
		if (rc != SEULA_OK)
			break;
		if (!strpbrk(kv->key, "%+"))
			continue;
		size_t dlen = 0;
		char *dec = evhttp_uridecode(kv->key, 1, &dlen);
		if (!dec)
			rc = SEULA_ENOMEM;
		else if (dlen == 0 || memchr(dec, '\0', dlen))
			rc = SEULA_EINVAL;
		else
			memcpy(kv->key, dec, dlen + 1);
		free(dec);
	}
	return rc;
}

/* The values of every `name` header, in order, joined with commas; NULL
 * when there is none or out of memory.  No cap on the length: the walk of
 * X-Forwarded-For reads its right end, the part a proxy wrote, and a cap
 * would drop that with the rest.  on_request() has already refused a header
 * block over 16 KiB. */
static char *joined_header(struct evhttp_request *req, const char *name)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	size_t total = 0;
	bool any = false;
	TAILQ_FOREACH(kv, in, next)
	if (strcasecmp(kv->key, name) == 0) {
		total += strlen(kv->value) + 1;
		any = true;
	}
	if (!any)
		return NULL;
	char *out = malloc(total);
	if (!out)
		return NULL;
	size_t n = 0;
	TAILQ_FOREACH(kv, in, next)
	if (strcasecmp(kv->key, name) == 0) {
		size_t len = strlen(kv->value);
		if (n)
			out[n++] = ',';
		memcpy(out + n, kv->value, len);
		n += len;
	}
	out[n] = '\0';
	return out;
}

static bool peer_of(struct evhttp_request *req, struct seula_ip *peer)
{
	memset(peer, 0, sizeof(*peer));
	const struct sockaddr *sa =
	        evhttp_connection_get_addr(evhttp_request_get_connection(req));
	if (!sa || seula_ip_from_sockaddr(sa, peer) != SEULA_OK) {
		peer->family = 4; /* 0.0.0.0: unknown */
		return false;
	}
	return true;
}

int seula_request_client_ip(struct evhttp_request *req,
                            const struct seula_cidr *trusted, size_t n_trusted,
                            struct seula_ip *out)
{
	struct seula_ip peer;
	peer_of(req, &peer);
	if (!seula_cidr_list_contains(trusted, n_trusted, &peer)) {
		*out = peer;
		return SEULA_OK;
	}
	char *xff = joined_header(req, "X-Forwarded-For");
	if (!xff && evhttp_find_header(evhttp_request_get_input_headers(req),
	                               "X-Forwarded-For")) {
		/* Out of memory: not the proxy's address either. */
		memset(out, 0, sizeof(*out));
		out->family = 4;
		return SEULA_ENOMEM;
	}
	int rc = seula_client_ip(&peer, xff, trusted, n_trusted, out);
	free(xff);
	return rc;
}

bool seula_request_https(struct evhttp_request *req,
                         const struct seula_cidr *trusted, size_t n_trusted)
{
	struct seula_ip peer;
	if (!peer_of(req, &peer) ||
	    !seula_cidr_list_contains(trusted, n_trusted, &peer))
		return false;
	const char *proto = evhttp_find_header(
	        evhttp_request_get_input_headers(req), "X-Forwarded-Proto");
	return proto && strcasecmp(proto, "https") == 0;
}

bool seula_request_cookie(struct evhttp_request *req, const char *name,
                          char *buf, size_t len)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	size_t nl = strlen(name);
	TAILQ_FOREACH(kv, in, next)
	{
		if (strcasecmp(kv->key, "Cookie") != 0)
			continue;
		for (const char *p = kv->value; p && *p;) {
			while (*p == ' ' || *p == ';')
				p++;
			const char *end = strchr(p, ';');
			size_t plen = end ? (size_t)(end - p) : strlen(p);
			if (plen > nl && strncmp(p, name, nl) == 0 &&
			    p[nl] == '=') {
				size_t vl = plen - nl - 1;
				if (vl >= len)
					return false;
				memcpy(buf, p + nl + 1, vl);
				buf[vl] = '\0';
				return true;
			}
			p = end;
		}
	}
	return false;
}

/* ---- content codings and If-None-Match (RFC 9110 12.5.3, 13.1.2) ---- */

/* The weights an Accept-Encoding list gives, in thousandths; -1 where the
 * list does not name the coding. */
struct codings {
	int gzip, identity, star;
};

static bool is_tchar(char c)
{
	return isalnum((unsigned char)c) || (c && strchr("!#$%&'*+-.^_`|~", c));
}

static const char *skip_ows(const char *p)
{
	while (*p == ' ' || *p == '\t')
		p++;
	return p;
}

/* A qvalue ("0", "0.5", "1.000") at *p into *q; false when malformed. */
static bool qvalue_parse(const char **p, int *q)
{
	const char *s = *p;
	if (*s != '0' && *s != '1')
		return false;
	int v = *s == '1' ? 1000 : 0;
	s++;
	if (*s == '.') {
		s++;
		for (int scale = 100, i = 0;
		     i < 3 && isdigit((unsigned char)*s);
		     i++, s++, scale /= 10) {
			if (v == 1000 && *s != '0')
				return false;
			v += (*s - '0') * scale;
		}
	}
	if (isdigit((unsigned char)*s) || *s == '.')
		return false;
	*p = s;
	*q = v;
	return true;
}

/* One element of an Accept-Encoding list into *c; p is past it (at the
 * ',' or the end).  A malformed element is skipped whole: a weight the
 * client may have meant as 0 is never taken for 1. */
static const char *coding_parse(const char *p, struct codings *c)
{
	const char *tok = p;
	while (is_tchar(*p))
		p++;
	size_t toklen = (size_t)(p - tok);
	int q = 1000;
	bool ok = toklen > 0;
	p = skip_ows(p);
	while (ok && *p == ';') {
		p = skip_ows(p + 1);
		if ((*p == 'q' || *p == 'Q') && p[1] == '=') {
			p += 2;
			ok = qvalue_parse(&p, &q);
		} else {
			/* No other parameter is defined: skip it. */
			while (is_tchar(*p) || *p == '=')
				p++;
		}
		p = skip_ows(p);
	}
	if (ok && *p && *p != ',')
		ok = false;
	p += strcspn(p, ",");
	if (!ok)
		return p;
	if ((toklen == 4 && strncasecmp(tok, "gzip", 4) == 0) ||
	    (toklen == 6 && strncasecmp(tok, "x-gzip", 6) == 0))
		c->gzip = q;
	else if (toklen == 8 && strncasecmp(tok, "identity", 8) == 0)
		c->identity = q;
	else if (toklen == 1 && *tok == '*')
		c->star = q;
	return p;
}

static void codings_scan(const char *value, struct codings *c)
{
	for (const char *p = value; *p;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (*p)
			p = coding_parse(p, c);
	}
}

/* gzip when its weight, its own or the "*" one, is above 0 and not below
 * the one the client gave identity.  Equal weights go to gzip: smaller. */
static bool codings_gzip(const struct codings *c)
{
	int gz = c->gzip >= 0 ? c->gzip : c->star >= 0 ? c->star : 0;
	return gz > 0 && (c->identity < 0 || gz >= c->identity);
}

bool seula_accepts_gzip(const char *accept_encoding)
{
	struct codings c = {-1, -1, -1};
	if (!accept_encoding)
		return false;
	codings_scan(accept_encoding, &c);
	return codings_gzip(&c);
}

bool seula_request_accepts_gzip(struct evhttp_request *req)
{
	struct codings c = {-1, -1, -1};
	struct evkeyval *kv;
	/* Several headers of the name are one list (RFC 9110 5.3). */
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
	if (strcasecmp(kv->key, "Accept-Encoding") == 0)
		codings_scan(kv->value, &c);
	return codings_gzip(&c);
}

bool seula_etag_none_match(const char *if_none_match, const char *etag)
{
	if (!if_none_match)
		return false;
	size_t elen = strlen(etag);
	for (const char *p = if_none_match; *p;) {
		while (*p == ',' || *p == ' ' || *p == '\t')
			p++;
		if (!*p)
			break;
		if (*p == '*') {
			p = skip_ows(p + 1);
			return !*p || *p == ',';
		}
		/* Weak comparison: W/"x" matches "x". */
		if (p[0] == 'W' && p[1] == '/')
			p += 2;
		const char *end = *p == '"' ? strchr(p + 1, '"') : NULL;
		if (!end)
			return false; /* malformed: nothing after it is read */
		const char *next = skip_ows(end + 1);
		if (*next && *next != ',')
			return false;
		size_t len = (size_t)(end + 1 - p);
		if (len == elen && memcmp(p, etag, len) == 0)
			return true;
		p = next;
	}
	return false;
}

bool seula_request_etag_none_match(struct evhttp_request *req, const char *etag)
{
	struct evkeyval *kv;
	TAILQ_FOREACH(kv, evhttp_request_get_input_headers(req), next)
	if (strcasecmp(kv->key, "If-None-Match") == 0 &&
	    seula_etag_none_match(kv->value, etag))
		return true;
	return false;
}

const char *seula_status_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 201: return "Created";
	case 202: return "Accepted";
	case 204: return "No Content";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 304: return "Not Modified";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 409: return "Conflict";
	case 410: return "Gone";
	case 413: return "Content Too Large";
	case 415: return "Unsupported Media Type";
	case 422: return "Unprocessable Content";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 503: return "Service Unavailable";
	default: return "Status";
	}
}

void seula_add_api_headers(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	evhttp_add_header(h, "X-Content-Type-Options", "nosniff");
	if (!evhttp_find_header(h, "Cache-Control"))
		evhttp_add_header(h, "Cache-Control", "no-store");
}

void seula_reply(struct evhttp_request *req, int status,
                 const char *content_type, const void *body, size_t len)
{
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	seula_add_api_headers(req);
	if (content_type && !evhttp_find_header(h, "Content-Type"))
		evhttp_add_header(h, "Content-Type", content_type);
	/* libevent answers a CONNECT as a tunnel: no length, and the
	 * connection stays open, so the client could not tell where the
	 * body ends.  To a HEAD it sends the body, without its length: the
	 * client takes it for the start of the next answer.  Both get the
	 * length; a HEAD, no body.  Not a 204 or 304: they have no content
	 * for it to be the length of (RFC 9110 8.6), and a cache could take
	 * a 304's 0 for its stored copy's. */
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	if ((cmd == EVHTTP_REQ_CONNECT || cmd == EVHTTP_REQ_HEAD) &&
	    status != 204 && status != 304 &&
	    !evhttp_find_header(h, "Content-Length")) {
		char n[24];
		snprintf(n, sizeof(n), "%zu", body ? len : 0);
		evhttp_add_header(h, "Content-Length", n);
	}
	struct evbuffer *buf = NULL;
	if (body && len && cmd != EVHTTP_REQ_HEAD) {
		buf = evbuffer_new();
		if (buf)
			evbuffer_add(buf, body, len);
	}
	evhttp_send_reply(req, status, seula_status_reason(status), buf);
	if (buf)
		evbuffer_free(buf);
}

/* `s` with what is not well-formed UTF-8 made U+FFFD, through ICU's UTF-16
 * and back; NULL when out of memory.  The caller frees it. */
static char *utf8_repaired(const char *s)
{
	UErrorCode e = U_ZERO_ERROR;
	int32_t n16 = 0, n8 = 0;
	u_strFromUTF8WithSub(NULL, 0, &n16, s, -1, 0xFFFD, NULL, &e);
	if (e != U_BUFFER_OVERFLOW_ERROR && U_FAILURE(e))
		return NULL;
	UChar *u = malloc(((size_t)n16 + 1) * sizeof(*u));
	char *out = NULL;
	e = U_ZERO_ERROR;
	if (u)
		u_strFromUTF8WithSub(u, n16 + 1, NULL, s, -1, 0xFFFD, NULL, &e);
	if (u && U_SUCCESS(e)) {
		u_strToUTF8(NULL, 0, &n8, u, n16, &e);
		if (e == U_BUFFER_OVERFLOW_ERROR || U_SUCCESS(e)) {
			e = U_ZERO_ERROR;
			out = malloc((size_t)n8 + 1);
			if (out)
				u_strToUTF8(out, n8 + 1, NULL, u, n16, &e);
			if (out && U_FAILURE(e)) {
				free(out);
				out = NULL;
			}
		}
	}
	free(u);
	return out;
}

static char *error_json(const char *code, const char *message, size_t *len)
{
	json_t *o = json_pack("{s:s, s:s}", "error", code, "message",
	                      message ? message : "");
	/* A message that quotes a client's text, cut at a byte count, may
	 * end inside a character, which jansson refuses: the 4xx it says
	 * became a 500. */
	char *repaired = NULL;
	if (!o && message && (repaired = utf8_repaired(message)))
		o = json_pack("{s:s, s:s}", "error", code, "message", repaired);
	free(repaired);
	if (!o)
		return NULL;
	char *text = json_dumps(o, JSON_COMPACT | JSON_ENSURE_ASCII);
	json_decref(o);
	if (text)
		*len = strlen(text);
	return text;
}

void seula_reply_error(struct evhttp_request *req, int status, const char *code,
                       const char *fmt, ...)
{
	char message[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(message, sizeof(message), fmt, ap);
	va_end(ap);
	size_t len = 0;
	char *body = error_json(code, message, &len);
	if (!body) {
		seula_reply(req, status, "application/json",
		            "{\"error\":\"internal\"}", 20);
		return;
	}
	seula_reply(req, status, "application/json", body, len);
	free(body);
}

/* ---- the route handler's object --------------------------------------- */

struct kvlist {
	struct seula_kv *items;
	size_t n;
};

struct seula_http {
	struct seula_arena arena;
	bool writer, truncate_wal; /* see seula_http_set_writer */
	const char *method;
	const char *path;
	struct kvlist params, query, headers;
	const char *body;
	size_t body_len;
	struct sqlite3 *db;

	int status; /* 0: no reply yet */
	char *content_type;
	char *reply_body; /* malloc'd */
	size_t reply_len;
	struct seula_kv *reply_headers; /* malloc'd pairs of malloc'd text */
	size_t n_reply_headers;

	char client_anon[46]; /* the client's masked address, "" unknown */
	bool has_who;
	struct seula_http_who who;
	const char *route_label; /* arena */
	struct audit_note {
		const char *action, *subject, *detail; /* arena */
	} notes[8];
	size_t n_notes;
};

static const char *method_name(int bit)
{
	switch (bit) {
	case SEULA_METHOD_GET: return "GET";
	case SEULA_METHOD_POST: return "POST";
	case SEULA_METHOD_PUT: return "PUT";
	case SEULA_METHOD_PATCH: return "PATCH";
	case SEULA_METHOD_DELETE: return "DELETE";
	default: return "";
	}
}

static int copy_keyvalq(struct seula_arena *a, const struct evkeyvalq *q,
                        struct kvlist *out)
{
	size_t n = 0;
	const struct evkeyval *kv;
	TAILQ_FOREACH(kv, q, next)
	n++;
	out->items = seula_arena_alloc(a, (n ? n : 1) * sizeof(*out->items));
	if (!out->items)
		return SEULA_ENOMEM;
	TAILQ_FOREACH(kv, q, next)
	{
		struct seula_kv *item = &out->items[out->n++];
		item->key = seula_arena_strdup(a, kv->key);
		item->value = seula_arena_strdup(a, kv->value);
		if (!item->key || !item->value)
			return SEULA_ENOMEM;
	}
	return SEULA_OK;
}

/* "the query gives NAME twice", the name cut at a character (the message
 * goes out as JSON; the name is valid UTF-8, checked before). */
static void say_twice(char *why, size_t whylen, const char *key)
{
	int cut = (int)strlen(key);
	if (cut > 40)
		for (cut = 40; cut > 0 && (key[cut] & 0xC0) == 0x80; cut--)
			;
	snprintf(why, whylen, "the query gives \"%.*s\" twice", cut, key);
}

struct seula_http *seula_http_new(struct evhttp_request *req, int method_bit,
                                  const char *path,
                                  const struct seula_kv *params,
                                  size_t n_params, int *error, char *why,
                                  size_t whylen)
{
	*error = SEULA_ENOMEM;
	struct seula_http *http = calloc(1, sizeof(*http));
	if (!http)
		return NULL;
	seula_arena_init(&http->arena, 0);
	struct seula_arena *a = &http->arena;
	http->method = method_name(method_bit);
	http->path = seula_arena_strdup(a, path);
	if (!http->path)
		goto fail;

	http->params.items = seula_arena_alloc(
	        a, (n_params ? n_params : 1) * sizeof(*http->params.items));
	if (!http->params.items)
		goto fail;
	for (size_t i = 0; i < n_params; i++) {
		http->params.items[i].key =
		        seula_arena_strdup(a, params[i].key);
		http->params.items[i].value =
		        seula_arena_strdup(a, params[i].value);
		if (!http->params.items[i].key || !http->params.items[i].value)
			goto fail;
	}
	http->params.n = n_params;

	struct evkeyvalq query;
	TAILQ_INIT(&query);
	const char *raw =
	        evhttp_uri_get_query(evhttp_request_get_evhttp_uri(req));
	if (raw) {
		/* Handlers get text: a NUL would cut a value short unseen,
		 * so %00 and undecodable queries are refused here. */
		int prc = strstr(raw, "%00") ? SEULA_EINVAL
		                             : seula_query_parse(raw, &query);
		if (prc != SEULA_OK) {
			evhttp_clear_headers(&query);
			*error = prc;
			snprintf(why, whylen, "%s",
			         strstr(raw, "%00")
			                 ? "the query has a NUL (%00)"
			         : !seula_escapes_valid(raw, strlen(raw))
			                 ? "a %-escape in the query is not of "
			                   "two hex digits"
			                 : "a part of the query has no name");
			goto fail;
		}
		int rc = copy_keyvalq(a, &query, &http->query);
		evhttp_clear_headers(&query);
		if (rc != SEULA_OK)
			goto fail;
		/* The stats routes, with the most, take ten; the twice-given
		 * check below is quadratic. */
		if (http->query.n > 100) {
			*error = SEULA_EINVAL;
			snprintf(why, whylen, "the query has over 100 parts");
			goto fail;
		}
		for (size_t i = 0; i < http->query.n; i++) {
			const struct seula_kv *kv = &http->query.items[i];
			if (!seula_text_valid(kv->key, strlen(kv->key)) ||
			    !seula_text_valid(kv->value, strlen(kv->value))) {
				*error = SEULA_EINVAL;
				snprintf(why, whylen,
				         "the query is not UTF-8 text, or has "
				         "a control character");
				goto fail;
			}
			/* A handler reads one value a name: a second one would
			 * be dropped unseen (from=...&from=...). */
			for (size_t j = 0; j < i; j++)
				if (strcmp(http->query.items[j].key, kv->key) ==
				    0) {
					*error = SEULA_EINVAL;
					say_twice(why, whylen, kv->key);
					goto fail;
				}
		}
	}
	for (size_t i = 0; i < n_params; i++) {
		const char *v = http->params.items[i].value;
		if (!seula_text_valid(v, strlen(v))) {
			*error = SEULA_EINVAL;
			snprintf(why, whylen,
			         "the path is not UTF-8 text, or has a "
			         "control character");
			goto fail;
		}
	}
	if (copy_keyvalq(a, evhttp_request_get_input_headers(req),
	                 &http->headers) != SEULA_OK)
		goto fail;

	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	size_t len = evbuffer_get_length(in);
	char *body = seula_arena_alloc(a, len + 1);
	if (!body)
		goto fail;
	evbuffer_copyout(in, body, len);
	body[len] = '\0';
	http->body = body;
	http->body_len = len;
	return http;
fail:
	seula_http_free(http);
	return NULL;
}

void seula_http_free(struct seula_http *http)
{
	if (!http)
		return;
	for (size_t i = 0; i < http->n_reply_headers; i++) {
		free((char *)http->reply_headers[i].key);
		free((char *)http->reply_headers[i].value);
	}
	free(http->reply_headers);
	free(http->reply_body);
	free(http->content_type);
	seula_arena_free(&http->arena);
	free(http);
}

void seula_http_set_db(struct seula_http *http, struct sqlite3 *db)
{
	http->db = db;
}

void seula_http_set_writer(struct seula_http *http, bool writer)
{
	http->writer = writer;
}

bool seula_http_wants_truncate(const struct seula_http *http)
{
	return http->truncate_wal;
}

int seula_http_truncate_wal(struct seula_http *http)
{
	if (!http->writer)
		return SEULA_EINVAL;
	http->truncate_wal = true;
	return SEULA_OK;
}

bool seula_http_replied(const struct seula_http *http)
{
	return http->status != 0;
}

void seula_http_send(struct seula_http *http, struct evhttp_request *req)
{
	if (!http->status) {
		seula_reply_error(req, 500, "internal",
		                  "the handler gave no answer");
		return;
	}
	struct evkeyvalq *h = evhttp_request_get_output_headers(req);
	for (size_t i = 0; i < http->n_reply_headers; i++)
		evhttp_add_header(h, http->reply_headers[i].key,
		                  http->reply_headers[i].value);
	seula_reply(req, http->status, http->content_type, http->reply_body,
	            http->reply_len);
}

static const char *kv_find(const struct kvlist *l, const char *key, bool ci)
{
	for (size_t i = 0; i < l->n; i++)
		if (ci ? strcasecmp(l->items[i].key, key) == 0
		       : strcmp(l->items[i].key, key) == 0)
			return l->items[i].value;
	return NULL;
}

void seula_http_set_who(struct seula_http *http,
                        const struct seula_http_who *who,
                        const char *route_label)
{
	http->has_who = who != NULL;
	if (who)
		http->who = *who;
	http->route_label = seula_arena_strdup(&http->arena, route_label);
}

void seula_http_set_client(struct seula_http *http, const char *ip_anon)
{
	snprintf(http->client_anon, sizeof(http->client_anon), "%s",
	         ip_anon ? ip_anon : "");
}

const char *seula_http_client(const struct seula_http *http)
{
	return http->client_anon[0] ? http->client_anon : NULL;
}

int seula_http_status(const struct seula_http *http)
{
	return http->status;
}

bool seula_http_audited(const struct seula_http *http)
{
	return http->has_who;
}

const char *seula_http_user(const struct seula_http *http)
{
	return http->has_who ? http->who.name : NULL;
}

int seula_http_role(const struct seula_http *http)
{
	return http->has_who ? http->who.role : 0;
}

const char *seula_http_api_key(const struct seula_http *http)
{
	return http->has_who && http->who.api_key[0] ? http->who.api_key : NULL;
}

int64_t seula_http_staff_id(const struct seula_http *http)
{
	return http->has_who ? http->who.staff_id : 0;
}

int64_t seula_http_signed_in_ms(const struct seula_http *http)
{
	return http->has_who ? http->who.signed_in_ms : 0;
}

/* A subject names one person, or every one a list or an export showed
 * ("3,17-42"; core/audit.h).  An export must never fail for its size: a
 * register of a million customers of whom every other one is on the
 * labels is "1,3,5,...,1999999", 7.9 MB; this holds eight times that. */
#define AUDIT_SUBJECT_MAX (64 * 1024 * 1024)

static bool note_text_ok(const char *s, size_t max)
{
	return !s || (strlen(s) <= max && seula_text_valid(s, strlen(s)));
}

int seula_http_audit(struct seula_http *http, const char *action,
                     const char *subject, const char *detail)
{
	if (!action || !*action || !note_text_ok(action, 32) ||
	    !note_text_ok(subject, AUDIT_SUBJECT_MAX) ||
	    !note_text_ok(detail, 1024))
		return SEULA_EINVAL;
	if (http->n_notes == sizeof(http->notes) / sizeof(http->notes[0]))
		return SEULA_ETOOBIG;
	struct audit_note *n = &http->notes[http->n_notes];
	n->action = seula_arena_strdup(&http->arena, action);
	n->subject = subject ? seula_arena_strdup(&http->arena, subject) : NULL;
	n->detail = detail ? seula_arena_strdup(&http->arena, detail) : NULL;
	if (!n->action || (subject && !n->subject) || (detail && !n->detail))
		return SEULA_ENOMEM;
	http->n_notes++;
	return SEULA_OK;
}

static const char *outcome_of(int status)
{
	return status >= 200 && status < 300    ? "ok"
	       : status == 401 || status == 403 ? "denied"
	       : status >= 400 && status < 500  ? "failed"
	                                        : "error";
}

/* Whether a route parameter has the shape of what routes name records by:
 * a decimal id (no leading zero, as the subject search compares ids) or a
 * UUID (a consent receipt). */
static bool param_is_id(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	if (n > 0 && n <= 19 && s[0] != '0' && strspn(s, "0123456789") == n)
		return true;
	if (n != 36)
		return false;
	for (size_t i = 0; i < n; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return true;
}

/* Whether it has the shape of a configured site's name (letters, digits,
 * '.', '_', '-'): an address typed in its place has not. */
static bool param_is_site(const char *s)
{
	size_t n = s ? strlen(s) : 0;
	return n > 0 && n <= 64 &&
	       strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                 "0123456789._-") == n;
}

int seula_http_audit_append(struct seula_http *http, sqlite3 *db,
                            const unsigned char *key, int64_t now_ms, char *err,
                            size_t errlen)
{
	if (!http->has_who)
		return SEULA_OK;
	struct seula_audit_entry e = {
	        .ts_ms = now_ms,
	        .staff_id = http->who.staff_id,
	        .staff_name = http->who.name,
	        .ip_anon = http->who.ip_anon[0] ? http->who.ip_anon : NULL,
	        .route = http->route_label,
	        .outcome = outcome_of(http->status ? http->status : 500),
	};
	/* A request made with an API key says which (its id), so that a
	 * leaked key's doings can be told from its owner's. */
	char by_key[64] = "";
	if (http->who.api_key[0])
		snprintf(by_key, sizeof(by_key), "api_key=%s",
		         http->who.api_key);
	if (http->n_notes == 0) {
		/* The route and its parameters name what was touched: the
		 * first as the subject (the record the path names, which the
		 * subject search finds), the others in the detail.  A value
		 * that is no id (an address typed in the URL) never reaches
		 * the log, which keeps everything for good. */
		char detail[256] = "";
		size_t n =
		        (size_t)snprintf(detail, sizeof(detail), "%s", by_key);
		e.subject = NULL;
		for (size_t i = 0; i < http->params.n; i++) {
			const char *name = http->params.items[i].key;
			const char *v = http->params.items[i].value;
			/* A site is no one's record: named in the detail, when
			 * it has a site name's shape. */
			bool site = strcmp(name, "site") == 0;
			if (site ? !param_is_site(v) : !param_is_id(v))
				v = "(invalid)";
			if (i == 0 && !site)
				e.subject = v;
			else if (n < sizeof(detail))
				n += (size_t)snprintf(
				        detail + n, sizeof(detail) - n,
				        "%s%s=%s", n ? " " : "", name, v);
		}
		e.action = strcmp(http->method, "GET") == 0 ? "read" : "change";
		e.detail = detail[0] ? detail : NULL;
		return seula_audit_append(db, key, &e, err, errlen);
	}
	for (size_t i = 0; i < http->n_notes; i++) {
		e.action = http->notes[i].action;
		e.subject = http->notes[i].subject;
		e.detail = http->notes[i].detail;
		char *joined = NULL;
		if (by_key[0] && (joined = malloc(strlen(by_key) + 2 +
		                                  (e.detail ? strlen(e.detail)
		                                            : 0))) == NULL)
			return SEULA_ENOMEM;
		if (joined) {
			sprintf(joined, "%s%s%s", by_key, e.detail ? " " : "",
			        e.detail ? e.detail : "");
			e.detail = joined;
		}
		int rc = seula_audit_append(db, key, &e, err, errlen);
		free(joined);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

const char *seula_http_method(const struct seula_http *http)
{
	return http->method;
}

const char *seula_http_path(const struct seula_http *http)
{
	return http->path;
}

const char *seula_http_param(const struct seula_http *http, const char *name)
{
	return kv_find(&http->params, name, false);
}

const char *seula_http_query(const struct seula_http *http, const char *key)
{
	return kv_find(&http->query, key, false);
}

const char *seula_http_header(const struct seula_http *http, const char *name)
{
	return kv_find(&http->headers, name, true);
}

const void *seula_http_body(const struct seula_http *http, size_t *len)
{
	if (len)
		*len = http->body_len;
	return http->body;
}

struct sqlite3 *seula_http_db(const struct seula_http *http)
{
	return http->db;
}

json_t *seula_http_json_object(struct seula_http *http, size_t max,
                               bool text_ok)
{
	const char *type = seula_http_header(http, "Content-Type");
	if (!seula_json_media_type(type, text_ok)) {
		seula_http_error(http, 415, "unsupported_media_type",
		                 text_ok ? "send JSON as application/json or "
		                           "text/plain"
		                         : "send JSON as application/json");
		return NULL;
	}
	if (http->body_len > max) {
		char msg[80];
		snprintf(msg, sizeof(msg), "the body is larger than %zu bytes",
		         max);
		seula_http_error(http, 413, "body_too_large", msg);
		return NULL;
	}
	json_error_t je;
	json_t *o = http->body_len ? json_loadb(http->body, http->body_len,
	                                        JSON_REJECT_DUPLICATES, &je)
	                           : NULL;
	if (!json_is_object(o)) {
		char msg[200];
		bool why = !o && http->body_len;
		snprintf(msg, sizeof(msg), "the body is not a JSON object%s%s",
		         why ? ": " : "", why ? je.text : "");
		json_decref(o);
		seula_http_error(http, 400, "invalid_json", msg);
		return NULL;
	}
	return o;
}

static bool header_name_ok(const char *s)
{
	if (!*s || strlen(s) > 64)
		return false;
	for (; *s; s++)
		if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
		      (*s >= '0' && *s <= '9') || *s == '-'))
			return false;
	return true;
}

static bool header_value_ok(const char *s)
{
	if (strlen(s) > 4096)
		return false;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 && *s != '\t')
			return false;
	return true;
}

int seula_http_set_header(struct seula_http *http, const char *name,
                          const char *value)
{
	/* The host owns framing and the content type. */
	if (!header_name_ok(name) || !header_value_ok(value) ||
	    strcasecmp(name, "Content-Length") == 0 ||
	    strcasecmp(name, "Transfer-Encoding") == 0 ||
	    strcasecmp(name, "Connection") == 0 ||
	    strcasecmp(name, "Content-Type") == 0)
		return SEULA_EINVAL;
	void *p = realloc(http->reply_headers, (http->n_reply_headers + 1) *
	                                               sizeof(struct seula_kv));
	if (!p)
		return SEULA_ENOMEM;
	http->reply_headers = p;
	char *k = strdup(name), *v = strdup(value);
	if (!k || !v) {
		free(k);
		free(v);
		return SEULA_ENOMEM;
	}
	http->reply_headers[http->n_reply_headers].key = k;
	http->reply_headers[http->n_reply_headers].value = v;
	http->n_reply_headers++;
	return SEULA_OK;
}

int seula_http_reply(struct seula_http *http, int status,
                     const char *content_type, const void *body, size_t len)
{
	if (status < 100 || status > 599 ||
	    (content_type && !header_value_ok(content_type)))
		return SEULA_EINVAL;
	char *copy = NULL;
	if (len) {
		copy = malloc(len);
		if (!copy)
			return SEULA_ENOMEM;
		memcpy(copy, body, len);
	}
	char *ct = content_type ? strdup(content_type) : NULL;
	if (content_type && !ct) {
		free(copy);
		return SEULA_ENOMEM;
	}
	free(http->reply_body);
	free(http->content_type);
	http->reply_body = copy;
	http->reply_len = len;
	http->content_type = ct;
	http->status = status;
	return SEULA_OK;
}

int seula_http_error(struct seula_http *http, int status, const char *code,
                     const char *message)
{
	size_t len = 0;
	char *body = error_json(code, message, &len);
	if (!body)
		return SEULA_ENOMEM;
	int rc = seula_http_reply(http, status, "application/json", body, len);
	free(body);
	return rc;
}
