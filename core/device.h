/*
 * device.h - device cookies (OWASP, "Slow Down Online Guessing Attacks with
 * Device Cookies"): a browser that signed in to an account carries proof of
 * it, so that its logins to that account are limited on their own and not
 * by the lockout anyone can cause by guessing at the account.
 *
 * A cookie is base64url (no padding) of a random nonce, the time the
 * account's password was last changed, the time the cookie was made, and
 * an HMAC-SHA512-256 (crypto_auth) of those and the account's name under a
 * key derived from the server's secret key: nothing is stored, and cookies
 * outlive a restart as the secret does.  Its nonce names the device to the
 * limiter.
 */
#ifndef SEULA_DEVICE_H
#define SEULA_DEVICE_H

#include "secret.h"

#include <sodium.h>
#include <stdbool.h>
#include <stdint.h>

#define SEULA_DEVICE_COOKIE "seula_device"
#define SEULA_DEVICE_NONCE 16
#define SEULA_DEVICE_CHARS 86 /* base64url of 64 bytes, no padding */
#define SEULA_DEVICE_KEY crypto_auth_KEYBYTES
/* A year: each sign-in makes a new one, so it only has to outlast the
 * longest gap between one browser's sign-ins (an admin who comes once a
 * quarter); a stolen one guesses no faster than anyone may at the account,
 * and a new password voids it. */
#define SEULA_DEVICE_LIFETIME_S (365 * 86400)

struct seula_device {
	unsigned char nonce[SEULA_DEVICE_NONCE];
	int64_t password_changed_ms; /* the account's, when it was made */
	int64_t issued_ms;
};

/* The cookies' MAC key, derived from the server's secret key. */
void seula_device_key(unsigned char out[SEULA_DEVICE_KEY],
                      const unsigned char secret[SEULA_SECRET_BYTES]);

/* A new cookie (NUL-terminated) for the account `lname` (its name in lower
 * case) whose password last changed at `password_changed_ms`. */
void seula_device_issue(const unsigned char key[SEULA_DEVICE_KEY],
                        const char *lname, int64_t password_changed_ms,
                        int64_t now_ms, char out[SEULA_DEVICE_CHARS + 1]);

/* True when `value` is a cookie made under `key` for `lname` less than
 * SEULA_DEVICE_LIFETIME_S before `now_ms`; *out then holds what it says.
 * Whether its password time is still the account's is the caller's to
 * check. */
bool seula_device_check(const unsigned char key[SEULA_DEVICE_KEY],
                        const char *value, const char *lname, int64_t now_ms,
                        struct seula_device *out);

#endif
