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
