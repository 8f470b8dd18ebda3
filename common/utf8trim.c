#include "utf8trim.h"

#include <stdint.h>
#include <unicode/utf8.h>

const char *seula_utf8_trim(const char *s, size_t *len,
                            bool (*blank)(UChar32 c))
{
	if (*len > INT32_MAX)
		return s;
	const uint8_t *p = (const uint8_t *)s;
	int32_t n = (int32_t)*len, start = 0, end = n;
	UChar32 c;
	for (int32_t i = 0; i < n;) {
		U8_NEXT(p, i, n, c);
		if (!blank(c))
			break;
		start = i;
	}
	for (int32_t i = n; i > start;) {
		U8_PREV(p, start, i, c);
		if (!blank(c))
			break;
		end = i;
	}
	*len = (size_t)(end - start);
	return s + start;
}
