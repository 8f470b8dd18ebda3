/*
 * chain.h - keyed hash chains: the MAC of one row and the keyed head that
 * names a chain's last row.
 *
 * A row's MAC is BLAKE2b-256 keyed with the server secret over a domain
 * string, the previous row's MAC, then the row's fields, each integer as 8
 * little-endian bytes and each text with a presence byte and its length, so
 * that NULL, "" and shifted fields all hash differently.  The head (row
 * chain_heads, keyed with the domain "<chain>-head/1") records the last id
 * and MAC, so that a cut tail shows too.
 */
#ifndef SEULA_CHAIN_H
#define SEULA_CHAIN_H

#include "secret.h"

#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEULA_MAC_BYTES 32

void seula_chain_begin(crypto_generichash_state *st,
                       const unsigned char key[SEULA_SECRET_BYTES],
                       const char *domain);
void seula_chain_int(crypto_generichash_state *st, int64_t v);
/* NULL and "" differ. */
void seula_chain_text(crypto_generichash_state *st, const char *s);
void seula_chain_blob(crypto_generichash_state *st, const void *p, size_t n);
void seula_chain_end(crypto_generichash_state *st,
                     unsigned char out[SEULA_MAC_BYTES]);

/* Record `last_id` and its `mac` as the head of `chain`, inside the
 * caller's write transaction. */
int seula_chain_head_set(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         const char *chain, int64_t last_id,
                         const unsigned char mac[SEULA_MAC_BYTES], char *err,
                         size_t errlen);

/* Read the head of `chain`.  SEULA_OK with *found false when there is none;
 * SEULA_ECONFLICT when the row is malformed or its keyed MAC is wrong
 * (`why` says which); SEULA_EIO when it cannot be read. */
int seula_chain_head_get(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         const char *chain, bool *found, int64_t *last_id,
                         unsigned char mac[SEULA_MAC_BYTES], char *why,
                         size_t whylen);

/* What a walk of a chain found. */
struct seula_chain_report {
	int64_t rows;   /* rows checked */
	int64_t pruned; /* rows before the anchor, removed by retention */
	int64_t bad_id; /* first row that does not verify, 0 when none */
	char why[256];  /* what is wrong, "" when all is well */
	char head[65];  /* hex MAC of the last row */
	/* Consent only: visitors' standing consent checked, and wrong. */
	int64_t states, bad_states;
};

/* Note the first broken row in `r`; returns SEULA_ECONFLICT. */
int seula_chain_broken(struct seula_chain_report *r, int64_t id,
                       const char *why);

#endif
