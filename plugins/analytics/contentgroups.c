#include "contentgroups.h"

#include "entries.h"
#include "urlpath.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void analytics_content_groups_free(struct analytics_content_groups *g)
{
	for (size_t i = 0; g->list && i < g->n; i++) {
		free(g->list[i].site);
		free(g->list[i].name);
		free(g->list[i].patterns);
	}
	free(g->list);
	g->list = NULL;
	g->n = 0;
}

const struct analytics_content_group *
analytics_content_group_find(const struct analytics_content_groups *g,
                             const char *site, const char *name, size_t len)
{
	for (size_t i = 0; g && i < g->n; i++)
		if (strcmp(g->list[i].site, site) == 0 &&
		    strlen(g->list[i].name) == len &&
		    memcmp(g->list[i].name, name, len) == 0)
			return &g->list[i];
	return NULL;
}

/* The patterns of `text` (| apart), encoded, into g. */
static int put_patterns(struct analytics_content_group *g, const char *text,
                        const char *entry, char *err, size_t errlen)
{
	size_t tl = strlen(text);
	/* Encoding takes a byte to three at most. */
	g->patterns = malloc(tl * 3 + 2);
	if (!g->patterns) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	size_t at = 0;
	for (const char *p = text;;) {
		size_t len = strcspn(p, "|");
		if (len == 0 || p[0] != '/') {
			snprintf(err, errlen,
			         "\"%s\": each pattern starts with / (patterns "
			         "are | apart)",
			         entry);
			return -1;
		}
		if (++g->n_patterns > ANALYTICS_GROUP_PATTERNS_MAX) {
			snprintf(err, errlen, "\"%s\": at most %d patterns",
			         entry, ANALYTICS_GROUP_PATTERNS_MAX);
			return -1;
		}
		seula_url_encode_path(p, len, g->patterns + at,
		                      tl * 3 + 2 - at);
		at += strlen(g->patterns + at) + 1;
		if (!p[len])
			break;
		p += len + 1;
	}
	g->patterns_len = at;
	return 0;
}

int analytics_content_groups_parse(const char *const *entries,
                                   struct analytics_content_groups *out,
                                   char *err, size_t errlen)
{
	out->n = 0;
	if (analytics_entries_alloc(entries, sizeof(*out->list),
	                            (void **)&out->list, err, errlen) != 0)
		return -1;
	for (size_t i = 0; entries && entries[i]; i++) {
		const char *e = entries[i];
		struct analytics_entry en;
		bool split = analytics_entry_split(e, &en);
		if (!split || en.second_len == 0 || !*en.rest) {
			snprintf(err, errlen,
			         "\"%s\": want SITE:NAME:PATTERN|PATTERN...",
			         e);
			return -1;
		}
		struct analytics_content_group *g = &out->list[out->n++];
		size_t nl = en.second_len;
		g->site = strndup(en.site, en.site_len);
		g->name = strndup(en.second, nl);
		if (!g->site || !g->name) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		/* The name is a filter's value, content_group==NAME: none of
		 * the characters that separate or match there. */
		if (nl > ANALYTICS_GROUP_NAME_MAX ||
		    g->name[strcspn(g->name, "|;,=[]*?")] != '\0' ||
		    g->name[0] == ' ' || g->name[nl - 1] == ' ') {
			snprintf(err, errlen,
			         "\"%s\": a group's name is 1 to %d bytes, "
			         "without | ; , = [ ] * ? or a space at either "
			         "end",
			         e, ANALYTICS_GROUP_NAME_MAX);
			return -1;
		}
		if (analytics_content_group_find(out, g->site, g->name, nl) !=
		    g) {
			snprintf(err, errlen,
			         "\"%s\": site %s has a content group named "
			         "\"%s\" already",
			         e, g->site, g->name);
			return -1;
		}
		if (put_patterns(g, en.rest, e, err, errlen) != 0)
			return -1;
	}
	return 0;
}
