/*
 * bots.h - the crawler-user-agents list as one PCRE2 JIT alternation.
 * Read-only after bots_load(); bots_match() is thread-safe.
 */
#ifndef SEULA_BOTS_H
#define SEULA_BOTS_H

#include <stdbool.h>
#include <stddef.h>

struct bots;

/* Load the JSON list at `path`: every entry's "pattern".  Patterns PCRE2
 * cannot compile are skipped and counted in *skipped.  NULL with err set
 * when the file cannot be used at all. */
struct bots *bots_load(const char *path, size_t *patterns, size_t *skipped,
                       char *err, size_t errlen);
void bots_free(struct bots *bots);
bool bots_match(const struct bots *bots, const char *ua, size_t len);

#endif
