/*
 * chain.c - keyed hash chains (see chain.h).
 */
#include "chain.h"

#include <seula/plugin.h>

#include <stdio.h>
#include <string.h>

void seula_chain_begin(crypto_generichash_state *st,
                       const unsigned char key[SEULA_SECRET_BYTES],
                       const char *domain)
{
	crypto_generichash_init(st, key, SEULA_SECRET_BYTES, SEULA_MAC_BYTES);
	crypto_generichash_update(st, (const unsigned char *)domain,
	                          strlen(domain));
}

void seula_chain_int(crypto_generichash_state *st, int64_t v)
{
	unsigned char b[8];
	for (int i = 0; i < 8; i++)
		b[i] = (unsigned char)((uint64_t)v >> (8 * i));
	crypto_generichash_update(st, b, sizeof(b));
}

void seula_chain_text(crypto_generichash_state *st, const char *s)
{
	unsigned char present = s != NULL;
	crypto_generichash_update(st, &present, 1);
	seula_chain_int(st, s ? (int64_t)strlen(s) : 0);
	if (s)
		crypto_generichash_update(st, (const unsigned char *)s,
		                          strlen(s));
}

void seula_chain_blob(crypto_generichash_state *st, const void *p, size_t n)
{
	seula_chain_int(st, (int64_t)n);
	if (n)
		crypto_generichash_update(st, p, n);
}

void seula_chain_end(crypto_generichash_state *st,
                     unsigned char out[SEULA_MAC_BYTES])
{
	crypto_generichash_final(st, out, SEULA_MAC_BYTES);
}

static void head_mac(const unsigned char *key, const char *chain,
                     int64_t last_id, const unsigned char *mac,
                     unsigned char out[SEULA_MAC_BYTES])
{
	char domain[80];
	snprintf(domain, sizeof(domain), "%s-head/1", chain);
	crypto_generichash_state st;
	seula_chain_begin(&st, key, domain);
	seula_chain_int(&st, last_id);
	crypto_generichash_update(&st, mac, SEULA_MAC_BYTES);
	seula_chain_end(&st, out);
}

int seula_chain_head_set(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         const char *chain, int64_t last_id,
                         const unsigned char mac[SEULA_MAC_BYTES], char *err,
                         size_t errlen)
{
	unsigned char head[SEULA_MAC_BYTES];
	head_mac(key, chain, last_id, mac, head);
	sqlite3_stmt *up = NULL;
	int rc = SEULA_EIO;
	if (sqlite3_prepare_v2(
	            db,
	            "INSERT INTO chain_heads (chain, last_id, mac, "
	            "head_mac) VALUES (?, ?, ?, ?) ON CONFLICT "
	            "(chain) DO UPDATE SET last_id = excluded.last_id, "
	            "mac = excluded.mac, head_mac = excluded.head_mac",
	            -1, &up, NULL) == SQLITE_OK) {
		sqlite3_bind_text(up, 1, chain, -1, SQLITE_STATIC);
		sqlite3_bind_int64(up, 2, last_id);
		sqlite3_bind_blob(up, 3, mac, SEULA_MAC_BYTES, SQLITE_STATIC);
		sqlite3_bind_blob(up, 4, head, SEULA_MAC_BYTES, SQLITE_STATIC);
		if (sqlite3_step(up) == SQLITE_DONE)
			rc = SEULA_OK;
	}
	if (rc != SEULA_OK)
		snprintf(err, errlen, "chain head %s: %s", chain,
		         sqlite3_errmsg(db));
	sqlite3_finalize(up);
	return rc;
}

int seula_chain_head_get(sqlite3 *db,
                         const unsigned char key[SEULA_SECRET_BYTES],
                         const char *chain, bool *found, int64_t *last_id,
                         unsigned char mac[SEULA_MAC_BYTES], char *why,
                         size_t whylen)
{
	sqlite3_stmt *st = NULL;
	*found = false;
	*last_id = 0;
	if (sqlite3_prepare_v2(db,
	                       "SELECT last_id, mac, head_mac FROM chain_heads "
	                       "WHERE chain = ?",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_text(st, 1, chain, -1, SQLITE_STATIC);
	int rc = SEULA_OK;
	int step = sqlite3_step(st);
	if (step == SQLITE_ROW) {
		*found = true;
		*last_id = sqlite3_column_int64(st, 0);
		unsigned char want[SEULA_MAC_BYTES];
		if (sqlite3_column_bytes(st, 1) != SEULA_MAC_BYTES ||
		    sqlite3_column_bytes(st, 2) != SEULA_MAC_BYTES) {
			snprintf(why, whylen, "the head is malformed");
			rc = SEULA_ECONFLICT;
		} else {
			memcpy(mac, sqlite3_column_blob(st, 1),
			       SEULA_MAC_BYTES);
			head_mac(key, chain, *last_id, mac, want);
			if (sodium_memcmp(sqlite3_column_blob(st, 2), want,
			                  SEULA_MAC_BYTES)) {
				snprintf(why, whylen,
				         "the head's MAC is wrong");
				rc = SEULA_ECONFLICT;
			}
		}
	} else if (step != SQLITE_DONE) {
		snprintf(why, whylen, "%s", sqlite3_errmsg(db));
		rc = SEULA_EIO;
	}
	sqlite3_finalize(st);
	return rc;
}

int seula_chain_broken(struct seula_chain_report *r, int64_t id,
                       const char *why)
{
	r->bad_id = id;
	snprintf(r->why, sizeof(r->why), "%s", why);
	return SEULA_ECONFLICT;
}
