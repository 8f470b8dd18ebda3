/*
 * http.h - replies on libevent requests, and `struct seula_http`, the copied
 * request and captured reply a plugin route handler works on.
 *
 * A seula_http is built on the loop thread from an evhttp request, may then
 * travel to a reader or the writer thread, and comes back to the loop to be
 * sent.  It owns copies of everything; the evhttp request is never touched
 * off the loop thread.
 */
#ifndef SEULA_HTTP_H
#define SEULA_HTTP_H

#include "netaddr.h"

#include <seula/plugin.h>
#include <stdbool.h>
#include <stddef.h>

struct evhttp_request;
typedef struct sqlite3 sqlite3;

struct seula_kv {
	const char *key;
	const char *value;
};

/* The client of a request: the peer, or from X-Forwarded-For when the
 * peer is one of `trusted` (see seula_client_ip).  0.0.0.0 when the peer is
 * unknown.  An error, with *out 0.0.0.0, when a trusted peer's header names
 * no client (seula_client_ip) or out of memory; on_request() refuses such a
 * request before any handler runs, so a handler may take the address as it
 * is. */
int seula_request_client_ip(struct evhttp_request *req,
                            const struct seula_cidr *trusted, size_t n_trusted,
                            struct seula_ip *out);
/* True when a trusted proxy says the request came over https. */
bool seula_request_https(struct evhttp_request *req,
                         const struct seula_cidr *trusted, size_t n_trusted);
/* The value of cookie `name` in the request's Cookie headers, copied into
 * buf; false when absent or longer than len - 1. */
bool seula_request_cookie(struct evhttp_request *req, const char *name,
                          char *buf, size_t len);

/* Whether a reply may be gzip-coded for an Accept-Encoding value (RFC 9110
 * 12.5.3): "gzip" (or "x-gzip"), else "*", named with a weight above 0 and
 * not below identity's.  Names compare without case; a malformed element
 * counts as absent.  NULL (no header) is not: a client that says nothing
 * gets the file as it is. */
bool seula_accepts_gzip(const char *accept_encoding);
/* The same over every Accept-Encoding header of the request, as one list. */
bool seula_request_accepts_gzip(struct evhttp_request *req);
/* Whether an If-None-Match value names `etag` (with its quotes) by weak
 * comparison (W/"x" matches "x") in its list, or is "*" (RFC 9110 13.1.2):
 * a GET or HEAD then answers 304.  NULL, or a malformed entry and anything
 * after it, does not. */
bool seula_etag_none_match(const char *if_none_match, const char *etag);
/* The same over every If-None-Match header of the request. */
bool seula_request_etag_none_match(struct evhttp_request *req,
                                   const char *etag);

/* Whether every '%' of the len bytes at s starts an escape of two hex
 * digits: libevent's decoder keeps a malformed one ("%zz") as it is, which
 * would then pass for the text the client meant. */
bool seula_escapes_valid(const char *s, size_t len);

/* A query value as a decimal integer in [min, max] into *out: digits, a
 * '-' before them only, nothing else (strtoll() alone also takes leading
 * white space and a '+').  False when it is not, or is out of range. */
bool seula_decimal_parse(const char *s, long long min, long long max,
                         long long *out);

/* Whether a Content-Type header names JSON: application/json, or also
 * text/plain when text_ok (what navigator.sendBeacon and a CORS "simple"
 * request send), with no charset but UTF-8.  NULL (no header) is not. */
bool seula_json_media_type(const char *ct, bool text_ok);

struct evkeyvalq;
/* Parse the raw query of a URL into q, as evhttp_parse_query_str() does
 * (libevent 2.1 has no flag for the rest), but taking a part without '='
 * ("?debug") as a key with an empty value and skipping empty parts ("a=1&&b",
 * a trailing '&'), as browsers and most servers do, and decoding the keys
 * as the values ("%71=1" is "q=1").  SEULA_EINVAL: a malformed %-escape, a
 * part with no key ("=1") or a key with a NUL; SEULA_ENOMEM.  q is
 * initialised here; the caller frees it with evhttp_clear_headers(), also
 * after an error. */
int seula_query_parse(const char *raw, struct evkeyvalq *q);

/* Reason phrase for a status code. */
const char *seula_status_reason(int status);

/* Answer {"error": code, "message": ...} with `status`; adds the headers
 * every API reply carries. */
void seula_reply_error(struct evhttp_request *req, int status, const char *code,
                       const char *fmt, ...) SEULA_PRINTF(4, 5);
/* Answer with a body (may be NULL/0), e.g. 204 or a JSON document. */
void seula_reply(struct evhttp_request *req, int status,
                 const char *content_type, const void *body, size_t len);
/* Headers every API reply carries (nosniff, no-store). */
void seula_add_api_headers(struct evhttp_request *req);

/* Copy `req` for a route handler.  `path` is the raw path, `params` the
 * pattern's decoded {name} values (copied).  Returns NULL with *error set:
 * SEULA_EINVAL when the query or a path value is malformed (a bad
 * %-escape, a part with no name, a name given twice, over 100 parts, a
 * NUL or text not UTF-8; what it was in why, for the client),
 * SEULA_ENOMEM when out of memory. */
struct seula_http *seula_http_new(struct evhttp_request *req, int method_bit,
                                  const char *path,
                                  const struct seula_kv *params,
                                  size_t n_params, int *error, char *why,
                                  size_t whylen);
void seula_http_free(struct seula_http *http);
void seula_http_set_db(struct seula_http *http, struct sqlite3 *db);
bool seula_http_replied(const struct seula_http *http);
/* Send the captured reply (or a 500 when the handler set none). */
void seula_http_send(struct seula_http *http, struct evhttp_request *req);

/* Who calls a staff route, and the route as the audit log names it. */
struct seula_http_who {
	int64_t staff_id;
	char name[65];
	int role;
	char ip_anon[46];
	char api_key[17]; /* the key's id when by one (apikeys.h), else "" */
	int64_t signed_in_ms; /* when the session's sign-in was */
};
void seula_http_set_who(struct seula_http *http,
                        const struct seula_http_who *who,
                        const char *route_label);
/* The client's address, masked to /16 (IPv4) or /48 (IPv6) like the
 * audit log's: core routes that keep a record of a visitor (consent) store
 * this, never the full address.  NULL when unknown. */
void seula_http_set_client(struct seula_http *http, const char *ip_anon);
const char *seula_http_client(const struct seula_http *http);
/* The reply's status, 0 before one is set. */
int seula_http_status(const struct seula_http *http);
/* True when the request had a signed-in caller (its entries need writing). */
bool seula_http_audited(const struct seula_http *http);
/* Append the request's audit entries (the handler's, or one naming the
 * route and its parameters when it gave none: the first parameter as the
 * subject, the others as "name=value" in the detail, each value that is
 * no decimal id or UUID as "(invalid)"), the outcome from the reply
 * status; inside the caller's write transaction. */
int seula_http_audit_append(struct seula_http *http, sqlite3 *db,
                            const unsigned char *key, int64_t now_ms, char *err,
                            size_t errlen);

/* A writer route's request (set by the store around the handler): only
 * there may the handler ask for the WAL to be truncated after the commit
 * (host->http_truncate_wal), which the store then does. */
void seula_http_set_writer(struct seula_http *http, bool writer);
bool seula_http_wants_truncate(const struct seula_http *http);
int seula_http_truncate_wal(struct seula_http *http);

/* The host table's http_* functions. */
const char *seula_http_method(const struct seula_http *http);
const char *seula_http_path(const struct seula_http *http);
const char *seula_http_param(const struct seula_http *http, const char *name);
const char *seula_http_query(const struct seula_http *http, const char *key);
const char *seula_http_header(const struct seula_http *http, const char *name);
const void *seula_http_body(const struct seula_http *http, size_t *len);
struct sqlite3 *seula_http_db(const struct seula_http *http);
/* The body as a JSON object, the caller's to json_decref(); NULL after
 * answering 415 (not application/json, nor text/plain when text_ok: a
 * beacon's), 413 (more than max bytes) or 400 invalid_json. */
struct json_t *seula_http_json_object(struct seula_http *http, size_t max,
                                      bool text_ok);
int seula_http_set_header(struct seula_http *http, const char *name,
                          const char *value);
int seula_http_reply(struct seula_http *http, int status,
                     const char *content_type, const void *body, size_t len);
int seula_http_error(struct seula_http *http, int status, const char *code,
                     const char *message);
const char *seula_http_user(const struct seula_http *http);
int seula_http_role(const struct seula_http *http);
/* The id of the API key the caller came by, NULL without one. */
const char *seula_http_api_key(const struct seula_http *http);
/* The signed-in caller's staff id, 0 without one. */
int64_t seula_http_staff_id(const struct seula_http *http);
/* When the caller's session signed in; 0 without one, and for an API
 * key (which signs in nowhere). */
int64_t seula_http_signed_in_ms(const struct seula_http *http);
int seula_http_audit(struct seula_http *http, const char *action,
                     const char *subject, const char *detail);

#endif
