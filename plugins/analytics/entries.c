#include "entries.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int analytics_entries_alloc(const char *const *entries, size_t size,
                            void **list, char *err, size_t errlen)
{
	size_t n = 0;
	while (entries && entries[n])
		n++;
	*list = n ? calloc(n, size) : NULL;
	if (n && !*list) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

bool analytics_entry_split(const char *e, struct analytics_entry *out)
{
	const char *c1 = strchr(e, ':');
	const char *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (!c2 || c1 == e)
		return false;
	*out = (struct analytics_entry){
	        .site = e,
	        .site_len = (size_t)(c1 - e),
	        .second = c1 + 1,
	        .second_len = (size_t)(c2 - c1 - 1),
	        .rest = c2 + 1,
	};
	return true;
}
