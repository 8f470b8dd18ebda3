/*
 * reply.c - answering the customers plugin's requests (see reply.h).
 */
#include "reply.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

int cust_reply_json(const struct seula_host *h, struct seula_http *http,
                    int status, json_t *o)
{
	char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
	json_decref(o);
	if (!s)
		return SEULA_ENOMEM;
	int rc = h->http_reply(http, status, "application/json", s, strlen(s));
	free(s);
	return rc;
}

int cust_refuse(const struct seula_host *h, struct seula_http *http, int status,
                const char *code, const char *message)
{
	h->http_error(http, status, code, message);
	return SEULA_EINVAL;
}

int cust_bad_field(const struct seula_host *h, struct seula_http *http,
                   const char *field, const char *why)
{
	char msg[300];
	snprintf(msg, sizeof(msg), "%s: %s", field, why);
	cust_reply_json(h, http, 400,
	                json_pack("{s:s, s:s, s:s}", "error", "invalid_field",
	                          "message", msg, "field", field));
	return SEULA_EINVAL;
}

bool cust_content_type_is(const struct seula_host *h,
                          const struct seula_http *http, const char *type)
{
	const char *ct = h->http_header(http, "Content-Type");
	size_t n = strlen(type);
	if (!ct || strncasecmp(ct, type, n) != 0 ||
	    (ct[n] != '\0' && ct[n] != ';' && ct[n] != ' '))
		return false;
	/* A charset, if given, is UTF-8, as the core's routes want it: a
	 * Latin-1 CSV read as UTF-8 failed row by row. */
	const char *cs = strcasestr(ct + n, "charset=");
	if (!cs)
		return true;
	cs += 8;
	if (*cs == '"')
		cs++;
	return strncasecmp(cs, "utf-8", 5) == 0 ||
	       strncasecmp(cs, "utf8", 4) == 0;
}

json_t *cust_body_object(const struct seula_host *h, struct seula_http *http)
{
	if (!cust_content_type_is(h, http, "application/json")) {
		h->http_error(http, 415, "unsupported_media_type",
		              "send application/json");
		return NULL;
	}
	size_t len = 0;
	const void *body = h->http_body(http, &len);
	json_t *o =
	        json_loadb(body ? body : "", len, JSON_REJECT_DUPLICATES, NULL);
	if (!json_is_object(o)) {
		json_decref(o);
		h->http_error(http, 400, "invalid_json",
		              "the body is not a JSON object");
		return NULL;
	}
	return o;
}

int cust_audit(const struct seula_host *h, struct seula_http *http,
               const char *action, int64_t id, const char *detail)
{
	char subject[24];
	if (id > 0)
		snprintf(subject, sizeof(subject), "%lld", (long long)id);
	return h->http_audit(http, action, id > 0 ? subject : NULL, detail) ==
	                       SEULA_OK
	               ? SEULA_OK
	               : SEULA_EIO;
}

const char *cust_col(sqlite3_stmt *st, int i)
{
	return (const char *)sqlite3_column_text(st, i);
}

void cust_iso_time(int64_t ms, char out[32])
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}
