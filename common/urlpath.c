/*
 * urlpath.c - see urlpath.h.
 */
#include "urlpath.h"

#include <stdbool.h>

size_t seula_url_cut_path_params(char *path, size_t len)
{
	size_t out = 0;
	bool cutting = false;
	for (size_t i = 0; i < len; i++) {
		if (path[i] == ';')
			cutting = true;
		else if (path[i] == '/')
			cutting = false;
		if (!cutting)
			path[out++] = path[i];
	}
	if (out == 0 && len > 0)
		path[out++] = '/';
	path[out] = '\0';
	return out;
}

bool seula_url_encode_path(const char *v, size_t len, char *out, size_t cap)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)v[i];
		bool enc = c <= 0x20 || c >= 0x7f || c == '"' || c == '<' ||
		           c == '>';
		if (n + (enc ? 3 : 1) >= cap)
			return false;
		if (enc) {
			out[n++] = '%';
			out[n++] = hex[c >> 4];
			out[n++] = hex[c & 15];
		} else {
			out[n++] = (char)c;
		}
	}
	if (n >= cap)
		return false;
	out[n] = '\0';
	return true;
}
