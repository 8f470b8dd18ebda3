/*
 * visitorkey.h - a visitor's key on a site, as analytics_visits keeps it.
 *
 * The writer (analytics.c) makes it for each event, the subject hooks for
 * a person's visitor ids, and funnels (funnel.c) for the raw events they
 * join to visits: one definition, or a funnel finds no visit.
 */
#ifndef SEULA_ANALYTICS_VISITORKEY_H
#define SEULA_ANALYTICS_VISITORKEY_H

#include <sodium.h>
#include <stdint.h>
#include <string.h>

/* What the key hashes at most: the site, NUL, the kind, the part. */
#define ANALYTICS_VISITOR_KEY_IN 512

/* The keyed hash (this installation's `key`) of the site, the kind ('i': a
 * visitor id of up to 64 bytes, 'h': the cookieless hash's 8 bytes) and
 * the part, so that analytics_visits holds neither.  The caller checks
 * that site_len + 2 + len fits ANALYTICS_VISITOR_KEY_IN. */
static inline int64_t
analytics_visitor_key(const unsigned char key[crypto_shorthash_KEYBYTES],
                      const char *site, size_t site_len, char kind,
                      const void *part, size_t len)
{
	unsigned char in[ANALYTICS_VISITOR_KEY_IN];
	memcpy(in, site, site_len + 1);
	size_t n = site_len + 1;
	in[n++] = (unsigned char)kind;
	memcpy(in + n, part, len);
	n += len;
	unsigned char digest[crypto_shorthash_BYTES];
	crypto_shorthash(digest, in, n, key);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | digest[i];
	return (int64_t)v;
}

/* The cookieless hash (the events' visitor_hash) as the bytes 'h' keys. */
static inline void analytics_visitor_hash_bytes(int64_t hash,
                                                unsigned char out[8])
{
	for (int i = 0; i < 8; i++)
		out[i] = (unsigned char)((uint64_t)hash >> (8 * i));
}

#endif
