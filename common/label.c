/*
 * label.c - a short text a person gives (see label.h).
 */
#include "label.h"

#include <string.h>
#include <unicode/uchar.h>
#include <unicode/utf8.h>

bool seula_label_ok(const char *s, int32_t max_chars)
{
	size_t bytes = s ? strlen(s) : 0;
	/* Four bytes a character at most. */
	if (!bytes || bytes > (size_t)max_chars * 4)
		return false;
	int32_t len = (int32_t)bytes, i = 0, chars = 0;
	bool blank = true;
	while (i < len) {
		UChar32 c;
		U8_NEXT(s, i, len, c);
		if (c < 0 || u_iscntrl(c))
			return false;
		blank = blank && u_isUWhiteSpace(c);
		chars++;
	}
	return !blank && chars <= max_chars;
}
