/*
 * event.c - event fields.
 */
#include "event.h"

#include <sodium.h>
#include <string.h>
#include <strings.h>

const char *const seula_event_captured_headers[] = {
        "User-Agent",
        "Sec-CH-UA",
        "Sec-CH-UA-Mobile",
        "Sec-CH-UA-Platform",
        "Sec-CH-UA-Platform-Version",
        "Sec-CH-UA-Model",
        "Sec-CH-UA-Full-Version-List",
        "Sec-GPC",
        "DNT",
        "Accept-Language",
        NULL,
};

static const char *const columns[SEULA_FIELD_COUNT_] = {
        [SEULA_FIELD_SITE] = "site",
        [SEULA_FIELD_URL] = "url",
        [SEULA_FIELD_HOSTNAME] = "hostname",
        [SEULA_FIELD_PATH] = "path",
        [SEULA_FIELD_REFERRER] = "referrer",
        [SEULA_FIELD_TITLE] = "title",
        [SEULA_FIELD_LANGUAGE] = "language",
        [SEULA_FIELD_NAME] = "name",
        [SEULA_FIELD_PROPS] = "props",
        [SEULA_FIELD_VISITOR_ID] = "visitor_id",
        [SEULA_FIELD_USER_AGENT] = "user_agent",
        [SEULA_FIELD_UTM_SOURCE] = "utm_source",
        [SEULA_FIELD_UTM_MEDIUM] = "utm_medium",
        [SEULA_FIELD_UTM_CAMPAIGN] = "utm_campaign",
        [SEULA_FIELD_UTM_TERM] = "utm_term",
        [SEULA_FIELD_UTM_CONTENT] = "utm_content",
        [SEULA_FIELD_IP_ANON] = "ip_anon",
        [SEULA_FIELD_COUNTRY] = "country",
        [SEULA_FIELD_REGION] = "region",
        [SEULA_FIELD_CITY] = "city",
        [SEULA_FIELD_BROWSER] = "browser",
        [SEULA_FIELD_BROWSER_VERSION] = "browser_version",
        [SEULA_FIELD_OS] = "os",
        [SEULA_FIELD_OS_VERSION] = "os_version",
        [SEULA_FIELD_DEVICE] = "device",
        [SEULA_FIELD_REFERRER_SOURCE] = "referrer_source",
        [SEULA_FIELD_REFERRER_NAME] = "referrer_name",
        [SEULA_FIELD_SCREEN_WIDTH] = "screen_width",
        [SEULA_FIELD_SCREEN_HEIGHT] = "screen_height",
        [SEULA_FIELD_ENGAGEMENT_MS] = "engagement_ms",
        [SEULA_FIELD_VISITOR_HASH] = "visitor_hash",
        [SEULA_FIELD_BOT] = "bot",
        [SEULA_FIELD_TIME_MS] = "ts",
        [SEULA_FIELD_TYPE] = "type",
        [SEULA_FIELD_IDENTITY] = "identity",
};

static bool field_ok(enum seula_field f)
{
	return (int)f >= 0 && f < SEULA_FIELD_COUNT_;
}

bool seula_field_is_int(enum seula_field f)
{
	return f >= SEULA_FIELD_SCREEN_WIDTH && f <= SEULA_FIELD_TYPE;
}

const char *seula_field_column(enum seula_field f)
{
	return field_ok(f) ? columns[f] : NULL;
}

bool seula_field_is_stored(enum seula_field f)
{
	return field_ok(f) && f != SEULA_FIELD_USER_AGENT &&
	       f != SEULA_FIELD_IDENTITY;
}

bool seula_field_is_readonly(enum seula_field f)
{
	return f == SEULA_FIELD_SITE || f == SEULA_FIELD_TYPE ||
	       f == SEULA_FIELD_TIME_MS;
}

struct seula_event *seula_event_new(struct seula_arena *arena)
{
	struct seula_event *ev = seula_arena_alloc(arena, sizeof(*ev));
	if (ev)
		ev->arena = arena;
	return ev;
}

bool seula_text_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	while (i < len) {
		unsigned c = p[i];
		if (c < 0x80) {
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return false;
			i++;
			continue;
		}
		size_t n;
		unsigned min;
		if ((c & 0xe0) == 0xc0)
			n = 1, min = 0x80, c &= 0x1f;
		else if ((c & 0xf0) == 0xe0)
			n = 2, min = 0x800, c &= 0x0f;
		else if ((c & 0xf8) == 0xf0)
			n = 3, min = 0x10000, c &= 0x07;
		else
			return false;
		if (len - i <= n)
			return false;
		for (size_t k = 1; k <= n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return false;
			c = (c << 6) | (p[i + k] & 0x3f);
		}
		/* Overlong forms, surrogates, beyond Unicode. */
		if (c < min || (c >= 0xd800 && c <= 0xdfff) || c > 0x10ffff)
			return false;
		i += n + 1;
	}
	return true;
}

int seula_event_set_str(struct seula_event *ev, enum seula_field f,
                        const char *value, size_t len)
{
	if (!field_ok(f))
		return SEULA_EINVAL;
	if (seula_field_is_int(f))
		return SEULA_ETYPE;
	if (!value) {
		ev->str[f] = NULL;
		return SEULA_OK;
	}
	if (len > SEULA_FIELD_MAX_BYTES)
		return SEULA_ETOOBIG;
	if (!seula_text_valid(value, len))
		return SEULA_EINVAL;
	char *copy = seula_arena_strndup(ev->arena, value, len);
	if (!copy)
		return SEULA_ENOMEM;
	ev->str[f] = copy;
	return SEULA_OK;
}

int seula_event_set_int(struct seula_event *ev, enum seula_field f,
                        int64_t value)
{
	if (!field_ok(f))
		return SEULA_EINVAL;
	if (!seula_field_is_int(f))
		return SEULA_ETYPE;
	ev->num[f] = value;
	ev->has_num |= UINT64_C(1) << f;
	return SEULA_OK;
}

int seula_event_clear(struct seula_event *ev, enum seula_field f)
{
	if (!field_ok(f))
		return SEULA_EINVAL;
	if (seula_field_is_int(f)) {
		ev->num[f] = 0;
		ev->has_num &= ~(UINT64_C(1) << f);
	} else {
		ev->str[f] = NULL;
	}
	return SEULA_OK;
}

const char *seula_event_str(const struct seula_event *ev, enum seula_field f)
{
	if (!field_ok(f) || seula_field_is_int(f))
		return NULL;
	return ev->str[f];
}

int seula_event_int(const struct seula_event *ev, enum seula_field f,
                    int64_t *out)
{
	if (!field_ok(f))
		return SEULA_EINVAL;
	if (!seula_field_is_int(f))
		return SEULA_ETYPE;
	if (!(ev->has_num & (UINT64_C(1) << f)))
		return SEULA_ENOTFOUND;
	*out = ev->num[f];
	return SEULA_OK;
}

void seula_event_set_ip(struct seula_event *ev, const struct seula_ip *ip)
{
	ev->ip = *ip;
	ev->has_ip = true;
}

const struct seula_ip *seula_event_ip(const struct seula_event *ev)
{
	return ev->has_ip ? &ev->ip : NULL;
}

void seula_event_wipe_ip(struct seula_event *ev)
{
	sodium_memzero(&ev->ip, sizeof(ev->ip));
	ev->has_ip = false;
}

int seula_event_add_header(struct seula_event *ev, const char *name,
                           const char *value)
{
	const char *canonical = NULL;
	for (size_t i = 0; seula_event_captured_headers[i]; i++)
		if (strcasecmp(seula_event_captured_headers[i], name) == 0)
			canonical = seula_event_captured_headers[i];
	if (!canonical)
		return SEULA_ENOTFOUND;
	if (ev->n_headers == SEULA_EVENT_MAX_HEADERS ||
	    seula_event_header(ev, canonical))
		return SEULA_EINVAL;
	size_t len = strlen(value);
	if (len > SEULA_HEADER_MAX_BYTES)
		len = SEULA_HEADER_MAX_BYTES;
	char *copy = seula_arena_strndup(ev->arena, value, len);
	if (!copy)
		return SEULA_ENOMEM;
	/* Old clients send Latin-1 in headers: keep the rest of the value
	 * and make it plain text. */
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)copy[i] < 0x20 ||
		    (unsigned char)copy[i] > 0x7e)
			copy[i] = '?';
	ev->headers[ev->n_headers].name = canonical;
	ev->headers[ev->n_headers].value = copy;
	ev->n_headers++;
	return SEULA_OK;
}

const char *seula_event_header(const struct seula_event *ev, const char *name)
{
	for (size_t i = 0; i < ev->n_headers; i++)
		if (strcasecmp(ev->headers[i].name, name) == 0)
			return ev->headers[i].value;
	return NULL;
}
