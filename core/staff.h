/*
 * staff.h - staff accounts: roles, the password policy, Argon2id hashes and
 * the staff table.
 *
 * Passwords are hashed with libsodium's crypto_pwhash_str (Argon2id at its
 * interactive limits); nothing else of a password is kept anywhere.  The
 * policy: at least SEULA_PASSWORD_MIN characters; not on Openwall's list of
 * the most used passwords, nor one of them dressed up ("P@ssw0rd2024!");
 * then libpwquality: the cracklib dictionary and no password built from
 * the user's name.
 */
#ifndef SEULA_STAFF_H
#define SEULA_STAFF_H

#include <seula/plugin.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SEULA_PASSWORD_MIN 12
#define SEULA_PASSWORD_MAX 256
/* Openwall's list of the most used passwords (public domain; Debian
 * package john-data). */
#define SEULA_COMMON_PASSWORDS "/usr/share/john/password.lst"
#define SEULA_STAFF_NAME_MAX 64

/* enum seula_role bit for "admin", "analyst", "customer_service",
 * "finance"; 0 for anything else. */
int seula_role_parse(const char *name);
/* The name of one role bit, "" for none. */
const char *seula_role_name(int bit);

/* 1-64 characters of a-z, 0-9, '.', '_', '-', starting with a letter. */
bool seula_staff_name_valid(const char *name);

/* SEULA_OK when `password` may be used by `name`, else SEULA_EINVAL with
 * the reason in why. */
int seula_password_check(const char *name, const char *password, char *why,
                         size_t whylen);
/* Argon2id hash string of `password` into out. */
int seula_password_hash(const char *password, char out[crypto_pwhash_STRBYTES]);
/* True when `password` matches `hash`.  With hash NULL it still spends the
 * time a real check would, so an unknown name answers like a wrong
 * password. */
bool seula_password_verify(const char *hash, const char *password);

struct seula_staff {
	int64_t id;
	char name[SEULA_STAFF_NAME_MAX + 1];
	int role; /* enum seula_role bit */
	bool disabled;
	char hash[crypto_pwhash_STRBYTES];
	int64_t password_changed_ms;
};

/* Find by name (case-insensitive); SEULA_ENOTFOUND when none. */
int seula_staff_find(sqlite3 *db, const char *name, struct seula_staff *out);
int seula_staff_find_id(sqlite3 *db, int64_t id, struct seula_staff *out);
/* SEULA_ECONFLICT when the name is taken. */
int seula_staff_add(sqlite3 *db, const char *name, int role, const char *hash,
                    int64_t now_ms, int64_t *id);
/* A new password also ends the sessions the old one opened. */
int seula_staff_set_password(sqlite3 *db, int64_t id, const char *hash,
                             int64_t now_ms);
int seula_staff_set_role(sqlite3 *db, int64_t id, int role);
/* Disabling also ends the account's sessions. */
int seula_staff_set_disabled(sqlite3 *db, int64_t id, bool disabled);

#endif
