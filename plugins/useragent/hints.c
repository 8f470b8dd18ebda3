/*
 * hints.c - Client Hints are Structured Header values: a list of quoted
 * brands with a ;v="..." parameter, a boolean ?1/?0, quoted strings.  The
 * grammar used here is that small subset; GREASE brands ("Not A(Brand" and
 * friends) are skipped.
 */
#include "hints.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

/* Copy a quoted string starting at *p (at the quote) into out. */
static const char *quoted(const char *p, char *out, size_t cap)
{
	size_t n = 0;
	if (*p != '"')
		return NULL;
	for (p++; *p && *p != '"'; p++) {
		if (*p == '\\' && p[1])
			p++;
		if (n + 1 < cap)
			out[n++] = *p;
	}
	out[n] = '\0';
	return *p == '"' ? p + 1 : NULL;
}

/* "Not_A Brand", "Not/A)Brand"; Chrome before 100 put a space or a
 * semicolon first (" Not A;Brand", ";Not A Brand"). */
static int is_grease(const char *brand)
{
	return strstr(brand, "Brand") != NULL && strstr(brand, "Not") != NULL;
}

/* Brands as uap-core names them. */
static const char *brand_family(const char *brand)
{
	static const struct {
		const char *brand, *family;
	} map[] = {
	        {"Google Chrome", "Chrome"},
	        {"Microsoft Edge", "Edge"},
	        {"Opera", "Opera"},
	        {"Opera GX", "Opera"},
	        {"Brave", "Brave"},
	        {"Vivaldi", "Vivaldi"},
	        {"Samsung Internet", "Samsung Internet"},
	        {"YaBrowser", "Yandex Browser"},
	        {"Yandex", "Yandex Browser"},
	        {"HeadlessChrome", "HeadlessChrome"},
	        {"Chromium", "Chromium"},
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].brand, brand) == 0)
			return map[i].family;
	/* The header is the client's to write: a brand not known here
	 * would be its text stored as a browser.  The user agent says. */
	return NULL;
}

/* A version's major number, up to four digits (no browser or OS has
 * more; a longer one is made up): "" when there is none. */
static void major_of(const char *version, char *out, size_t cap)
{
	size_t n = 0;
	while (version[n] >= '0' && version[n] <= '9' && n + 1 < cap) {
		out[n] = version[n];
		n++;
	}
	if (n > 4)
		n = 0;
	out[n] = '\0';
}

static void parse_brands(const char *v, struct hints *h)
{
	char brand[64], version[32];
	char chosen[64] = "", chosen_v[32] = "";
	bool unnamed = false; /* a brand not known here, not GREASE */
	const char *p = v;
	while (p && *p) {
		while (*p == ' ' || *p == ',')
			p++;
		if (!(p = quoted(p, brand, sizeof(brand))))
			return;
		version[0] = '\0';
		while (*p == ';' || *p == ' ') {
			if (*p == ';') {
				p++;
				while (*p == ' ')
					p++;
				if (strncmp(p, "v=", 2) == 0) {
					if (!(p = quoted(p + 2, version,
					                 sizeof(version))))
						return;
				} else {
					while (*p && *p != ',' && *p != ';')
						p++;
				}
			} else {
				p++;
			}
		}
		if (!is_grease(brand) && !brand_family(brand))
			unnamed = true;
		/* A specific brand beats the engine: Edge over Chromium. */
		if (!is_grease(brand) && brand_family(brand) &&
		    (!chosen[0] || strcmp(chosen, "Chromium") == 0)) {
			snprintf(chosen, sizeof(chosen), "%s", brand);
			snprintf(chosen_v, sizeof(chosen_v), "%s", version);
		}
		while (*p && *p != ',')
			p++;
	}
	/* Chromium beside a brand not known here ("Android WebView" in
	 * Facebook's or Instagram's in-app browser, Whale, DuckDuckGo) is
	 * only the engine of that browser: the user agent names it. */
	if (unnamed && strcmp(chosen, "Chromium") == 0)
		chosen[0] = '\0';
	if (chosen[0]) {
		snprintf(h->browser, sizeof(h->browser), "%s",
		         brand_family(chosen));
		major_of(chosen_v, h->browser_major, sizeof(h->browser_major));
	}
}

static void parse_platform(const char *platform, const char *version,
                           struct hints *h)
{
	char name[32], ver[32] = "";
	if (!quoted(platform, name, sizeof(name)) || !name[0] ||
	    strcmp(name, "Unknown") == 0)
		return;
	static const struct {
		const char *hint, *os;
	} map[] = {
	        {"macOS", "Mac OS X"},     {"Chrome OS", "Chrome OS"},
	        {"ChromeOS", "Chrome OS"}, {"Windows", "Windows"},
	        {"Android", "Android"},    {"iOS", "iOS"},
	        {"Linux", "Linux"},
	};
	const char *os = NULL; /* none known: the user agent says */
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(map[i].hint, name) == 0)
			os = map[i].os;
	if (!os)
		return;
	snprintf(h->os, sizeof(h->os), "%s", os);
	if (!version || !quoted(version, ver, sizeof(ver)))
		return;
	char major[16];
	major_of(ver, major, sizeof(major));
	if (!major[0])
		return;
	if (strcmp(h->os, "Windows") == 0) {
		/* Windows reports its UA-CH platform version, not the
		 * marketing number: 13 and up is Windows 11, 1 to 10 is
		 * Windows 10; 0 is older and left to the user agent. */
		int m = 0;
		sscanf(major, "%d", &m);
		if (m >= 13)
			snprintf(h->os_major, sizeof(h->os_major), "11");
		else if (m >= 1)
			snprintf(h->os_major, sizeof(h->os_major), "10");
	} else {
		snprintf(h->os_major, sizeof(h->os_major), "%s", major);
	}
}

void hints_parse(const char *sec_ch_ua, const char *mobile,
                 const char *platform, const char *platform_version,
                 struct hints *out)
{
	memset(out, 0, sizeof(*out));
	if (sec_ch_ua)
		parse_brands(sec_ch_ua, out);
	if (mobile)
		out->mobile = strcmp(mobile, "?1") == 0   ? HINT_MOBILE_YES
		              : strcmp(mobile, "?0") == 0 ? HINT_MOBILE_NO
		                                          : HINT_MOBILE_UNKNOWN;
	if (platform)
		parse_platform(platform, platform_version, out);
}
