/*
 * importlog.c - access log lines (see importlog.h).
 *
 * Hand-written rather than sscanf or a regex: the importer's aim is 100,000
 * lines a second with the whole pipeline on, and one pass of memchr-style
 * scanning over a line costs far less than either.  Every field is bounded
 * by the line's end, so a truncated line is a bad line, never a read past
 * it.
 */
#include "importlog.h"

#include "date.h"
#include "netaddr.h"

#include <string.h>
#include <strings.h>

static const char *const format_names[] = {"combined", "common",
                                           "vhost_combined"};

bool seula_log_format_parse(const char *name, enum seula_log_format *out)
{
	for (int i = 0; i < 3; i++)
		if (strcmp(name, format_names[i]) == 0) {
			*out = (enum seula_log_format)i;
			return true;
		}
	return false;
}

const char *seula_log_format_name(enum seula_log_format fmt)
{
	return (unsigned)fmt < 3 ? format_names[fmt] : "?";
}

const char *seula_log_error_name(enum seula_log_error e)
{
	static const char *const names[SEULA_LOG_E_COUNT_] = {
	        "ok",       "empty line", "too long", "vhost",  "address",
	        "fields",   "timestamp",  "request",  "status", "size",
	        "referrer", "user agent", "NUL byte",
	};
	return (unsigned)e < SEULA_LOG_E_COUNT_ ? names[e] : "?";
}

struct cursor {
	char *p;
	char *end;
};

static void skip_spaces(struct cursor *c)
{
	while (c->p < c->end && *c->p == ' ')
		c->p++;
}

/* A space-delimited token, NUL-terminated in place; NULL when empty. */
static char *token(struct cursor *c)
{
	skip_spaces(c);
	char *start = c->p;
	char *sp = memchr(c->p, ' ', (size_t)(c->end - c->p));
	c->p = sp ? sp : c->end;
	if (c->p == start)
		return NULL;
	*c->p = '\0'; /* a space, or line[len], which is ours to write */
	if (sp)
		c->p++;
	return start;
}

static int hexval(char ch)
{
	if (ch >= '0' && ch <= '9')
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/*
 * A quoted field, unescaped in place and NUL-terminated; false when it does
 * not start with '"' or is not closed.  `*out` is NULL for "-" and "".
 */
static bool quoted(struct cursor *c, const char **out)
{
	skip_spaces(c);
	if (c->p >= c->end || *c->p != '"')
		return false;
	char *r = c->p + 1, *w = r, *start = r;
	for (;;) {
		/* Copy the plain run up to the next quote or backslash. */
		char *q = r;
		while (q < c->end && *q != '"' && *q != '\\')
			q++;
		if (w != r)
			memmove(w, r, (size_t)(q - r));
		w += q - r;
		r = q;
		if (r >= c->end)
			return false;
		if (*r == '"')
			break;
		/* A backslash: Apache's \" and \\, nginx's \xHH. */
		if (r + 1 >= c->end)
			return false;
		char n = r[1];
		int hi, lo;
		if (n == '"' || n == '\\') {
			*w++ = n;
			r += 2;
		} else if (n == 'x' && r + 3 < c->end &&
		           (hi = hexval(r[2])) >= 0 &&
		           (lo = hexval(r[3])) >= 0) {
			*w++ = (char)(hi << 4 | lo);
			r += 4;
		} else {
			*w++ = *r++; /* a lone backslash stands for itself */
		}
	}
	c->p = r + 1;
	*w = '\0';
	size_t n = (size_t)(w - start);
	*out = n == 0 || (n == 1 && start[0] == '-') ? NULL : start;
	return true;
}

static bool digits(const char *s, int n, int *out)
{
	int v = 0;
	for (int i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*out = v;
	return true;
}

/* "[10/Oct/2000:13:55:36 -0700]" into ms since the epoch, UTC. */
static bool timestamp(struct cursor *c, int64_t *out)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	skip_spaces(c);
	/* [dd/Mon/yyyy:HH:MM:SS +hhmm] is 28 bytes. */
	if (c->end - c->p < 28)
		return false;
	const char *s = c->p;
	int day, year, hh, mm, ss, oh, om;
	if (s[0] != '[' || s[3] != '/' || s[7] != '/' || s[12] != ':' ||
	    s[15] != ':' || s[18] != ':' || s[21] != ' ' ||
	    (s[22] != '+' && s[22] != '-') || s[27] != ']' ||
	    !digits(s + 1, 2, &day) || !digits(s + 8, 4, &year) ||
	    !digits(s + 13, 2, &hh) || !digits(s + 16, 2, &mm) ||
	    !digits(s + 19, 2, &ss) || !digits(s + 23, 2, &oh) ||
	    !digits(s + 25, 2, &om))
		return false;
	int month = 0;
	for (int i = 0; i < 12; i++)
		if (strncmp(s + 4, months + 3 * i, 3) == 0)
			month = i + 1;
	static const int mdays[] = {31, 29, 31, 30, 31, 30,
	                            31, 31, 30, 31, 30, 31};
	bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
	/* 60 seconds: a leap second as logged; it counts as the next one. */
	if (month == 0 || day < 1 || day > mdays[month - 1] ||
	    (month == 2 && day == 29 && !leap) || year < 1970 || hh > 23 ||
	    mm > 59 || ss > 60 || oh > 14 || om > 59)
		return false;
	int64_t secs = seula_days_from_civil(year, month, day) * 86400 +
	               hh * 3600 + mm * 60 + ss;
	/* Local time minus its offset from UTC is UTC. */
	int64_t offset = oh * 3600 + om * 60;
	secs -= s[22] == '-' ? -offset : offset;
	if (secs < 0)
		return false;
	*out = secs * 1000;
	c->p += 28;
	return true;
}

/* Split "METHOD TARGET PROTOCOL" in place; HTTP/0.9 has no protocol. */
static void split_request(char *req, struct seula_log_line *out)
{
	char *sp = strchr(req, ' ');
	if (!sp || sp == req)
		return;
	char *target = sp + 1;
	char *last = strrchr(target, ' ');
	if (last && strncmp(last + 1, "HTTP/", 5) == 0)
		*last = '\0';
	/* Spaces inside the target: not a request a server answered as a
	 * page. */
	if (strchr(target, ' '))
		return;
	if (!*target)
		return;
	*sp = '\0';
	out->method = req;
	out->target = target;
}

enum seula_log_error seula_log_parse(char *line, size_t len,
                                     enum seula_log_format fmt,
                                     struct seula_log_line *out)
{
	memset(out, 0, sizeof(*out));
	out->bytes = -1;
	if (len > SEULA_LOG_LINE_MAX)
		return SEULA_LOG_E_TOO_LONG;
	if (len && line[len - 1] == '\r')
		len--;
	/* The fields are C strings: one would end at it, cut short. */
	if (memchr(line, '\0', len))
		return SEULA_LOG_E_NUL;
	line[len] = '\0';
	struct cursor c = {line, line + len};
	skip_spaces(&c);
	if (c.p == c.end)
		return SEULA_LOG_E_EMPTY;

	if (fmt == SEULA_LOG_VHOST_COMBINED) {
		char *vhost = token(&c);
		if (!vhost)
			return SEULA_LOG_E_VHOST;
		/* "host:port"; an IPv6 literal keeps its brackets. */
		char *colon = strrchr(vhost, ':');
		char *bracket = strrchr(vhost, ']');
		if (colon && (!bracket || colon > bracket))
			*colon = '\0';
		if (!*vhost)
			return SEULA_LOG_E_VHOST;
		out->vhost = vhost;
	}

	char *ip = token(&c);
	if (!ip || seula_ip_parse(ip, &out->ip) != 0)
		return SEULA_LOG_E_ADDRESS;
	if (!token(&c) || !token(&c))
		return SEULA_LOG_E_FIELDS;
	if (!timestamp(&c, &out->time_ms))
		return SEULA_LOG_E_TIME;
	const char *req;
	if (!quoted(&c, &req))
		return SEULA_LOG_E_REQUEST;
	out->request = req;
	if (req)
		split_request((char *)req, out);

	char *status = token(&c);
	if (!status || strlen(status) != 3 || !digits(status, 3, &out->status))
		return SEULA_LOG_E_STATUS;
	char *bytes = token(&c);
	if (!bytes)
		return SEULA_LOG_E_BYTES;
	if (strcmp(bytes, "-") != 0) {
		int64_t v = 0;
		for (const char *b = bytes; *b; b++) {
			if (*b < '0' || *b > '9' || v > INT64_MAX / 10 - 9)
				return SEULA_LOG_E_BYTES;
			v = v * 10 + (*b - '0');
		}
		out->bytes = v;
	}
	if (fmt == SEULA_LOG_COMMON)
		return SEULA_LOG_OK;
	if (!quoted(&c, &out->referrer))
		return SEULA_LOG_E_REFERRER;
	if (!quoted(&c, &out->user_agent))
		return SEULA_LOG_E_USER_AGENT;
	return SEULA_LOG_OK;
}

/* Extensions of what a page loads or links to but is not a page; lower
 * case, sorted only for the reader. */
static const char *const asset_exts[] = {
        /* styles, scripts, data */
        "css", "js", "mjs", "map", "json", "wasm", "webmanifest", "xml", "rss",
        "atom", "txt", "csv",
        /* images */
        "png", "jpg", "jpeg", "gif", "svg", "svgz", "webp", "avif", "ico",
        "bmp", "tif", "tiff", "heic",
        /* fonts */
        "woff", "woff2", "ttf", "otf", "eot",
        /* media */
        "mp4", "webm", "ogv", "mov", "avi", "mkv", "m4v", "mp3", "ogg", "oga",
        "opus", "wav", "flac", "m4a", "aac", "vtt", "srt",
        /* downloads */
        "pdf", "zip", "gz", "tgz", "bz2", "xz", "zst", "7z", "rar", "tar",
        "exe", "msi", "dmg", "pkg", "deb", "rpm", "apk", "iso", "doc", "docx",
        "xls", "xlsx", "ppt", "pptx", "odt", "ods", "odp", "epub", "swf", NULL};

static bool is_asset(const char *target)
{
	size_t plen = strcspn(target, "?#;");
	if (plen >= 13 && strncmp(target, "/.well-known/", 13) == 0)
		return true;
	const char *seg = target + plen;
	while (seg > target && seg[-1] != '/')
		seg--;
	const char *dot = NULL;
	for (const char *p = seg; p < target + plen; p++)
		if (*p == '.')
			dot = p;
	if (!dot)
		return false;
	size_t elen = (size_t)(target + plen - dot - 1);
	if (elen == 0 || elen > 11)
		return false;
	for (size_t i = 0; asset_exts[i]; i++)
		if (strlen(asset_exts[i]) == elen &&
		    strncasecmp(asset_exts[i], dot + 1, elen) == 0)
			return true;
	return false;
}

enum seula_log_kind seula_log_classify(const struct seula_log_line *l)
{
	if (!l->method || strcmp(l->method, "GET") != 0)
		return SEULA_LOG_SKIP_METHOD;
	/* 204 carries no page and 206 is a piece of a download; 304 is a page
	 * the browser had cached and showed again. */
	if (!((l->status >= 200 && l->status <= 299 && l->status != 204 &&
	       l->status != 206) ||
	      l->status == 304))
		return SEULA_LOG_SKIP_STATUS;
	/* Origin form only: "*" and absolute or authority forms are proxy
	 * traffic, not this site's pages. */
	if (l->target[0] != '/' || l->target[1] == '/')
		return SEULA_LOG_SKIP_TARGET;
	if (is_asset(l->target))
		return SEULA_LOG_SKIP_ASSET;
	return SEULA_LOG_PAGEVIEW;
}
