/*
 * inspect.h - `seula inspect-ip`: run addresses through the real anonymize
 * plugin and print what it keeps.
 */
#ifndef SEULA_INSPECT_H
#define SEULA_INSPECT_H

#include "loader.h"

#include <stdio.h>

/* One line per address, in order: the anonymised address in canonical text,
 * or "error: ..." for an input that is not an address.  Returns 0 when every
 * address was valid, else 1. */
int seula_inspect_ip(const struct seula_loaded_plugin *anonymize,
                     const char *const *ips, size_t n, FILE *out);

/* Level 0 is no masking: the canonical text of each address.  The plugin
 * never runs at level 0, so this shows what it would have been given. */
int seula_inspect_ip_unmasked(const char *const *ips, size_t n, FILE *out);

/* One JSON line per address: {"ip", "country", "subdivision", "city"},
 * null where unknown; {"ip", "error"} for an input that is not an address
 * (and the status is then 1). */
int seula_inspect_geo(const struct seula_loaded_plugin *geoip,
                      const char *const *ips, size_t n, FILE *out);

/* One JSON line per input line: {"ua", "browser": {"family", "major"},
 * "os": {"family", "major"}, "device", "bot"}.  Returns 0. */
int seula_inspect_ua(const struct seula_loaded_plugin *useragent, FILE *in,
                     FILE *out);

#endif
