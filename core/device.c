/*
 * device.c - making and checking device cookies.
 */
#include "device.h"

#include <string.h>

#define TIMES 16 /* two big-endian int64 */
#define BODY (SEULA_DEVICE_NONCE + TIMES)
#define RAW (BODY + crypto_auth_BYTES)
/* crypto_kdf's context: eight bytes, this use's own. */
#define KDF_CONTEXT "seuladev"
#define KDF_ID 1

/* crypto_auth is HMAC-SHA512-256; its incremental form is named so. */
_Static_assert(crypto_auth_BYTES == crypto_auth_hmacsha512256_BYTES &&
                       SEULA_DEVICE_KEY == crypto_auth_hmacsha512256_KEYBYTES,
               "crypto_auth is HMAC-SHA512-256");
_Static_assert(SEULA_SECRET_BYTES == crypto_kdf_KEYBYTES,
               "the secret is a crypto_kdf master key");
_Static_assert(SEULA_DEVICE_CHARS + 1 ==
                       sodium_base64_ENCODED_LEN(
                               RAW, sodium_base64_VARIANT_URLSAFE_NO_PADDING),
               "SEULA_DEVICE_CHARS is the encoded cookie's length");

void seula_device_key(unsigned char out[SEULA_DEVICE_KEY],
                      const unsigned char secret[SEULA_SECRET_BYTES])
{
	crypto_kdf_derive_from_key(out, SEULA_DEVICE_KEY, KDF_ID, KDF_CONTEXT,
	                           secret);
}

static void put64(unsigned char *p, int64_t v)
{
	uint64_t u = (uint64_t)v;
	for (int i = 7; i >= 0; i--, u >>= 8)
		p[i] = (unsigned char)u;
}

static int64_t get64(const unsigned char *p)
{
	uint64_t u = 0;
	for (int i = 0; i < 8; i++)
		u = u << 8 | p[i];
	return (int64_t)u;
}

/* The MAC of a cookie's body and the name it is for; the body is fixed
 * length, so no two (body, name) pairs give the same message. */
static void mac(const unsigned char key[SEULA_DEVICE_KEY],
                const unsigned char body[BODY], const char *lname,
                unsigned char out[crypto_auth_BYTES])
{
	crypto_auth_hmacsha512256_state st;
	crypto_auth_hmacsha512256_init(&st, key, SEULA_DEVICE_KEY);
	crypto_auth_hmacsha512256_update(&st, body, BODY);
	crypto_auth_hmacsha512256_update(&st, (const unsigned char *)lname,
	                                 strlen(lname));
	crypto_auth_hmacsha512256_final(&st, out);
	sodium_memzero(&st, sizeof(st));
}

void seula_device_issue(const unsigned char key[SEULA_DEVICE_KEY],
                        const char *lname, int64_t password_changed_ms,
                        int64_t now_ms, char out[SEULA_DEVICE_CHARS + 1])
{
	unsigned char raw[RAW];
	randombytes_buf(raw, SEULA_DEVICE_NONCE);
	put64(raw + SEULA_DEVICE_NONCE, password_changed_ms);
	put64(raw + SEULA_DEVICE_NONCE + 8, now_ms);
	mac(key, raw, lname, raw + BODY);
	sodium_bin2base64(out, SEULA_DEVICE_CHARS + 1, raw, RAW,
	                  sodium_base64_VARIANT_URLSAFE_NO_PADDING);
}

bool seula_device_check(const unsigned char key[SEULA_DEVICE_KEY],
                        const char *value, const char *lname, int64_t now_ms,
                        struct seula_device *out)
{
	unsigned char raw[RAW], want[crypto_auth_BYTES];
	size_t n = 0;
	const char *end = NULL;
	if (strlen(value) != SEULA_DEVICE_CHARS ||
	    sodium_base642bin(raw, sizeof(raw), value, SEULA_DEVICE_CHARS, NULL,
	                      &n, &end,
	                      sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
	    n != RAW || *end != '\0')
		return false;
	mac(key, raw, lname, want);
	if (sodium_memcmp(want, raw + BODY, crypto_auth_BYTES) != 0)
		return false;
	int64_t issued = get64(raw + SEULA_DEVICE_NONCE + 8);
	if (now_ms - issued >= (int64_t)SEULA_DEVICE_LIFETIME_S * 1000)
		return false;
	memcpy(out->nonce, raw, SEULA_DEVICE_NONCE);
	out->password_changed_ms = get64(raw + SEULA_DEVICE_NONCE);
	out->issued_ms = issued;
	return true;
}
