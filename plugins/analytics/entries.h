/* The plugin's config lists of "SITE:SECOND:REST" entries (goals,
 * funnels, content groups): their array and their fields, so that each
 * list's parser checks only what is its own. */
#ifndef SEULA_ANALYTICS_ENTRIES_H
#define SEULA_ANALYTICS_ENTRIES_H

#include <stdbool.h>
#include <stddef.h>

/* *list: a zeroed array (calloc'd; the caller frees it) of as many
 * `size`-byte elements as the NULL-ended `entries` holds, NULL for none.
 * 0, or -1 when out of memory (err says so). */
int analytics_entries_alloc(const char *const *entries, size_t size,
                            void **list, char *err, size_t errlen);

/* Entry e's fields around its first two colons, borrowed from e. */
struct analytics_entry {
	const char *site, *second, *rest;
	size_t site_len, second_len;
};

/* false when e has no two colons or no SITE before them; SECOND and REST
 * may be empty. */
bool analytics_entry_split(const char *e, struct analytics_entry *out);

#endif
