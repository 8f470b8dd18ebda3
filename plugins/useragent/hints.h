/*
 * hints.h - User-Agent Client Hints (Sec-CH-UA, -Mobile, -Platform,
 * -Platform-Version), read into the names uap-core uses, so that a browser
 * reads the same whether it sent hints or not.
 */
#ifndef SEULA_HINTS_H
#define SEULA_HINTS_H

#include <stddef.h>

enum hint_mobile { HINT_MOBILE_UNKNOWN = 0, HINT_MOBILE_YES, HINT_MOBILE_NO };

struct hints {
	char browser[48]; /* "" when no usable brand */
	char browser_major[16];
	char os[32]; /* "" when no platform */
	char os_major[16];
	enum hint_mobile mobile;
};

/* Any argument may be NULL (header absent). */
void hints_parse(const char *sec_ch_ua, const char *mobile,
                 const char *platform, const char *platform_version,
                 struct hints *out);

#endif
