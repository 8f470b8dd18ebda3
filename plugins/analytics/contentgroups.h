/* Content groups: a site's pages put under a few names by path pattern
 * ("Documentation" = the paths under /docs/ and /guide/), as Google Analytics'
 * content groups and Matomo's content grouping do.  Reports count the visitors,
 * visits and page views of each group (the interest categories a privacy
 * statement may speak of, from what was read: never a person's age or
 * gender), and `content_group==NAME` filters by one.
 *
 * Config: content_groups = SITE:NAME:PATTERN|PATTERN..., PATTERN a page
 * path glob as in goals (its * and ? match). */
#ifndef SEULA_ANALYTICS_CONTENTGROUPS_H
#define SEULA_ANALYTICS_CONTENTGROUPS_H

#include <stddef.h>

/* A name has at most this many bytes, a group this many patterns. */
#define ANALYTICS_GROUP_NAME_MAX 100
#define ANALYTICS_GROUP_PATTERNS_MAX 50

struct analytics_content_group {
	char *site;
	char *name;
	/* The patterns, encoded as stored paths are (seula_url_encode_path),
	 * each NUL-ended, one after another: n_patterns of them in
	 * patterns_len bytes (the NULs included). */
	char *patterns;
	size_t n_patterns, patterns_len;
};

struct analytics_content_groups {
	struct analytics_content_group *list;
	size_t n;
};

/* Parse config entries "SITE:NAME:PATTERN|PATTERN..." into *out (freed
 * with analytics_content_groups_free, also after a failure).  On a bad
 * entry returns -1 with a message in err: a name empty, longer than
 * ANALYTICS_GROUP_NAME_MAX, holding one of | ; , = [ ] * ? or twice on
 * a site; a pattern not starting with /; no pattern or too many. */
int analytics_content_groups_parse(const char *const *entries,
                                   struct analytics_content_groups *out,
                                   char *err, size_t errlen);
void analytics_content_groups_free(struct analytics_content_groups *g);

/* Site's group named `name` (`len` bytes), or NULL. */
const struct analytics_content_group *
analytics_content_group_find(const struct analytics_content_groups *g,
                             const char *site, const char *name, size_t len);

#endif
