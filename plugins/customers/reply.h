/*
 * reply.h - what the customers plugin's routes (customers.c, dsr.c) share
 * to answer a request: JSON replies and errors, the JSON body, the audit
 * entry naming a customer, and two small SQLite and time helpers.
 *
 * Errors follow the host's shape, {"error": code, "message": text}, with
 * "field" when one field is at fault.  Functions that reply return the
 * code the handler returns.
 */
#ifndef CUST_REPLY_H
#define CUST_REPLY_H

#include <seula/plugin.h>

#include <jansson.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

/* Reply `status` with `o` as JSON; takes o (NULL: out of memory). */
int cust_reply_json(const struct seula_host *h, struct seula_http *http,
                    int status, json_t *o);
/* Reply an error; returns SEULA_EINVAL, so a writer route rolls back. */
int cust_refuse(const struct seula_host *h, struct seula_http *http, int status,
                const char *code, const char *message);
/* 400 invalid_field naming `field`; returns SEULA_EINVAL. */
int cust_bad_field(const struct seula_host *h, struct seula_http *http,
                   const char *field, const char *why);
/* Whether the request's Content-Type is `type` (parameters allowed). */
bool cust_content_type_is(const struct seula_host *h,
                          const struct seula_http *http, const char *type);
/* The body as a JSON object (the caller json_decref()s), or NULL after
 * replying 415 or 400. */
json_t *cust_body_object(const struct seula_host *h, struct seula_http *http);
/* Audit `action` on customer `id` (none when id <= 0); SEULA_EIO when it
 * cannot be recorded, so nothing of a person leaves unrecorded. */
int cust_audit(const struct seula_host *h, struct seula_http *http,
               const char *action, int64_t id, const char *detail);

/* Column i as text (NULL for NULL). */
const char *cust_col(sqlite3_stmt *st, int i);
/* ms since the epoch as "YYYY-MM-DDTHH:MM:SSZ". */
void cust_iso_time(int64_t ms, char out[32]);

#endif
