/*
 * uap.h - ua-parser's regexes.yaml (uap-core) compiled with PCRE2 JIT.
 *
 * Implements the uap-core specification: three rule lists (browser, OS,
 * device), each evaluated in order, the first match wins, replacements
 * take $1..$9, results are trimmed, an unmatched family is "Other".
 *
 * Thread-safety: after uap_load() the rules are read-only; uap_parse() may
 * run on several threads at once (it allocates its own match data).
 */
#ifndef SEULA_UAP_H
#define SEULA_UAP_H

#include <stddef.h>

struct uap;

struct uap_result {
	char family[64];
	char major[16];
	char minor[16];
	char os[64];
	char os_major[16];
	char device[64];
	char brand[48];
	char model[64];
};

/* Load and compile `path`; on failure returns NULL with err set. */
struct uap *uap_load(const char *path, char *err, size_t errlen);
void uap_free(struct uap *uap);
/* Rules compiled per list, for logs. */
void uap_counts(const struct uap *uap, size_t *ua, size_t *os, size_t *dev);
void uap_parse(const struct uap *uap, const char *ua, size_t len,
               struct uap_result *out);

#endif
