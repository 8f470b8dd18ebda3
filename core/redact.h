/*
 * redact.h - e-mail addresses out of the text an event stores: its URL,
 * path, title, referrer, campaign tags, custom event name and properties.
 * An address a page or a property carries (/unsubscribe/ann@example.com,
 * {"contact": "ann@example.com"}) is personal data no consent was asked
 * for; it is replaced by "(email)", as Google Analytics 4's data redaction
 * does, for every visitor, before anything is stored.  Any part of one
 * may be percent-encoded, as a URL carries it (ann%40example%2Ecom), even
 * twice (ann%2540example.com), or UTF-8, as an internationalised domain is
 * (info@exämple.de in a title, ex%C3%A4mple.de in a URL); none of it stays
 * (not "jö(email)", nor "o'(email)": the local part is all of RFC 5322's
 * but "/").
 *
 * Ownership: the redactor owns its compiled pattern; it is read-only after
 * seula_redactor_new(), so loop threads share one.
 */
#ifndef SEULA_REDACT_H
#define SEULA_REDACT_H

#include "event.h"

#include <stdbool.h>
#include <stddef.h>

#define SEULA_REDACTED_EMAIL "(email)"

struct seula_redactor;

/* SEULA_OK, or SEULA_ENOMEM / SEULA_EINVAL with err set.  `jit`: compile
 * the pattern to machine code where the system allows; without, PCRE2's
 * interpreter runs it, in time linear in the text all the same (the tests
 * check both). */
int seula_redactor_new(struct seula_redactor **out, bool jit, char *err,
                       size_t errlen);
void seula_redactor_free(struct seula_redactor *r);

/* `text` (`len` bytes) with every address replaced: NULL in *out when it
 * holds none, else a malloc'd string the caller frees.  SEULA_OK or
 * SEULA_ENOMEM.  Any thread. */
int seula_redact_text(const struct seula_redactor *r, const char *text,
                      size_t len, char **out);

/* seula_redact_text() on each of the event's text fields that are
 * stored.  SEULA_OK or SEULA_ENOMEM (the event is then unfit to store). */
int seula_redact_event(const struct seula_redactor *r, struct seula_event *ev);

#endif
