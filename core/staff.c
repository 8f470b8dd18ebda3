/*
 * staff.c - roles, passwords, the staff table.
 */
#include "staff.h"

#include <ctype.h>
#include <pwquality.h>
#include <stdio.h>
#include <string.h>

static const struct {
	const char *name;
	int bit;
} roles[] = {
        {"admin", SEULA_ROLE_ADMIN},
        {"analyst", SEULA_ROLE_ANALYST},
        {"customer_service", SEULA_ROLE_CUSTOMER_SERVICE},
        {"finance", SEULA_ROLE_FINANCE},
};

int seula_role_parse(const char *name)
{
	for (size_t i = 0; name && i < sizeof(roles) / sizeof(roles[0]); i++)
		if (strcmp(roles[i].name, name) == 0)
			return roles[i].bit;
	return 0;
}

const char *seula_role_name(int bit)
{
	for (size_t i = 0; i < sizeof(roles) / sizeof(roles[0]); i++)
		if (roles[i].bit == bit)
			return roles[i].name;
	return "";
}

bool seula_staff_name_valid(const char *name)
{
	size_t n = strlen(name);
	if (n == 0 || n > SEULA_STAFF_NAME_MAX || name[0] < 'a' ||
	    name[0] > 'z')
		return false;
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') ||
		      (*name >= '0' && *name <= '9') || *name == '.' ||
		      *name == '_' || *name == '-'))
			return false;
	return true;
}

/* The word under the usual disguises: lower case, digits and symbols
 * around it dropped, the common letter-for-digit swaps undone, so
 * "P@ssw0rd2024!" is "password". */
static void disguise_off(const char *in, char *out, size_t cap)
{
	static const char from[] = "0134578@$!|+", to[] = "oleastbasiit";
	size_t n = strlen(in), b = 0, e = n;
	while (b < e && !isalpha((unsigned char)in[b]) && !strchr("@$", in[b]))
		b++;
	while (e > b && !isalpha((unsigned char)in[e - 1]))
		e--;
	size_t o = 0;
	for (size_t i = b; i < e && o + 1 < cap; i++) {
		char c = (char)tolower((unsigned char)in[i]);
		const char *swap = strchr(from, c);
		out[o++] = swap && c ? to[swap - from] : c;
	}
	out[o] = '\0';
}

/* Take every `w` (at least 3 bytes) out of `word`. */
static void remove_all(char *word, const char *w)
{
	size_t wl = strlen(w);
	char *at;
	if (wl < 3)
		return;
	while ((at = strstr(word, w)))
		memmove(at, at + wl, strlen(at + wl) + 1);
}

/* `word` without what an attacker tries first beside the list: the
 * context's words (the product's name, the user's), and a part repeated
 * ("passwordpassword" is "password"); then trimmed of what is not a
 * letter at either end again. */
static void context_off(char *word, const char *name)
{
	char lname[SEULA_STAFF_NAME_MAX + 1];
	size_t n = 0;
	for (; name && name[n] && n < SEULA_STAFF_NAME_MAX; n++)
		lname[n] = (char)tolower((unsigned char)name[n]);
	lname[n] = '\0';
	remove_all(word, "seula");
	remove_all(word, lname);
	size_t len = strlen(word), b = 0, e = len;
	while (b < e && !isalpha((unsigned char)word[b]))
		b++;
	while (e > b && !isalpha((unsigned char)word[e - 1]))
		e--;
	memmove(word, word + b, e - b);
	len = e - b;
	word[len] = '\0';
	for (size_t p = 1; p <= len / 2; p++) {
		size_t i = p;
		while (len % p == 0 && i < len && word[i] == word[i - p])
			i++;
		if (len % p == 0 && i == len) {
			word[p] = '\0';
			break;
		}
	}
}

/* True when `password`, or the word under its disguise (with the user's
 * `name` and the product's taken out: "Seula-password1"), is on the list
 * of the most used passwords (one a line, '#!comment:' lines skipped), or
 * is mostly one of them, or when nothing is left of it but those names. */
static int common_password(const char *name, const char *password, bool *found,
                           char *why, size_t whylen)
{
	FILE *f = fopen(SEULA_COMMON_PASSWORDS, "r");
	if (!f) {
		snprintf(why, whylen,
		         "cannot read the list of common passwords %s (Debian: "
		         "apt-get install john-data)",
		         SEULA_COMMON_PASSWORDS);
		return SEULA_EIO;
	}
	char lower[SEULA_PASSWORD_MAX + 1], word[SEULA_PASSWORD_MAX + 1];
	size_t n = 0;
	for (; n < SEULA_PASSWORD_MAX && password[n]; n++)
		lower[n] = (char)tolower((unsigned char)password[n]);
	lower[n] = '\0';
	disguise_off(password, word, sizeof(word));
	context_off(word, name);
	char line[256];
	*found = strlen(word) < 3;
	while (!*found && fgets(line, sizeof(line), f)) {
		line[strcspn(line, "\r\n")] = '\0';
		if (line[0] == '\0' || strncmp(line, "#!comment:", 10) == 0)
			continue;
		for (char *c = line; *c; c++)
			*c = (char)tolower((unsigned char)*c);
		size_t len = strlen(line);
		/* Also a common one with a little added: "qwertyuiopasdf". */
		*found = strcmp(line, lower) == 0 || strcmp(line, word) == 0 ||
		         (len >= 6 && 3 * len >= 2 * strlen(word) &&
		          strstr(word, line));
	}
	fclose(f);
	return SEULA_OK;
}

int seula_password_check(const char *name, const char *password, char *why,
                         size_t whylen)
{
	size_t len = strlen(password);
	if (len < SEULA_PASSWORD_MIN) {
		snprintf(why, whylen, "at least %d characters, please",
		         SEULA_PASSWORD_MIN);
		return SEULA_EINVAL;
	}
	if (len > SEULA_PASSWORD_MAX) {
		snprintf(why, whylen, "at most %d characters, please",
		         SEULA_PASSWORD_MAX);
		return SEULA_EINVAL;
	}
	bool common;
	int crc = common_password(name, password, &common, why, whylen);
	if (crc != SEULA_OK)
		return crc;
	if (common) {
		snprintf(why, whylen,
		         "it is one of the most used passwords, or one "
		         "dressed up with digits, symbols, repeats or the "
		         "names of the user or of Seula");
		return SEULA_EINVAL;
	}
	pwquality_settings_t *pwq = pwquality_default_settings();
	if (!pwq) {
		snprintf(why, whylen, "out of memory");
		return SEULA_ENOMEM;
	}
	/* Length does the work; the dictionary and the name checks catch the
	 * passwords every attacker tries first. */
	pwquality_set_int_value(pwq, PWQ_SETTING_MIN_LENGTH,
	                        SEULA_PASSWORD_MIN);
	pwquality_set_int_value(pwq, PWQ_SETTING_DICT_CHECK, 1);
	pwquality_set_int_value(pwq, PWQ_SETTING_USER_CHECK, 1);
	void *aux = NULL;
	int score = pwquality_check(pwq, password, NULL, name, &aux);
	int rc = SEULA_OK;
	if (score < 0) {
		char buf[PWQ_MAX_ERROR_MESSAGE_LEN];
		snprintf(why, whylen, "%s",
		         pwquality_strerror(buf, sizeof(buf), score, aux));
		rc = SEULA_EINVAL;
	}
	pwquality_free_settings(pwq);
	return rc;
}

int seula_password_hash(const char *password, char out[crypto_pwhash_STRBYTES])
{
	if (crypto_pwhash_str(out, password, strlen(password),
	                      crypto_pwhash_OPSLIMIT_INTERACTIVE,
	                      crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
		return SEULA_ENOMEM;
	return SEULA_OK;
}

bool seula_password_verify(const char *hash, const char *password)
{
	/* An unknown name hashes the password once at the same limits: one
	 * Argon2id run, as a real check costs, so the answer takes as long. */
	if (!hash) {
		char dummy[crypto_pwhash_STRBYTES];
		(void)seula_password_hash(password, dummy);
		sodium_memzero(dummy, sizeof(dummy));
		return false;
	}
	return crypto_pwhash_str_verify(hash, password, strlen(password)) == 0;
}

static int row_to_staff(sqlite3_stmt *st, struct seula_staff *out)
{
	memset(out, 0, sizeof(*out));
	out->id = sqlite3_column_int64(st, 0);
	snprintf(out->name, sizeof(out->name), "%s",
	         (const char *)sqlite3_column_text(st, 1));
	out->role = seula_role_parse((const char *)sqlite3_column_text(st, 2));
	snprintf(out->hash, sizeof(out->hash), "%s",
	         (const char *)sqlite3_column_text(st, 3));
	out->disabled = sqlite3_column_int(st, 4) != 0;
	out->password_changed_ms = sqlite3_column_int64(st, 5);
	return SEULA_OK;
}

static int find_by(sqlite3 *db, const char *where, const char *name, int64_t id,
                   struct seula_staff *out)
{
	char sql[160];
	snprintf(sql, sizeof(sql),
	         "SELECT id, name, role, password_hash, disabled, "
	         "password_changed_at FROM staff WHERE %s",
	         where);
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	if (name)
		sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	else
		sqlite3_bind_int64(st, 1, id);
	int step = sqlite3_step(st);
	int rc = step == SQLITE_ROW    ? row_to_staff(st, out)
	         : step == SQLITE_DONE ? SEULA_ENOTFOUND
	                               : SEULA_EIO;
	sqlite3_finalize(st);
	return rc;
}

int seula_staff_find(sqlite3 *db, const char *name, struct seula_staff *out)
{
	return find_by(db, "name = ?", name, 0, out);
}

int seula_staff_find_id(sqlite3 *db, int64_t id, struct seula_staff *out)
{
	return find_by(db, "id = ?", NULL, id, out);
}

static int exec_bound(sqlite3 *db, const char *sql, int64_t a, int64_t b,
                      const char *text, int64_t *changes)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	int n = sqlite3_bind_parameter_count(st);
	if (text) {
		sqlite3_bind_text(st, 1, text, -1, SQLITE_STATIC);
		if (n >= 2)
			sqlite3_bind_int64(st, 2, a);
		if (n >= 3)
			sqlite3_bind_int64(st, 3, b);
	} else {
		if (n >= 1)
			sqlite3_bind_int64(st, 1, a);
		if (n >= 2)
			sqlite3_bind_int64(st, 2, b);
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (changes)
		*changes = sqlite3_changes(db);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return SEULA_ECONFLICT;
	return rc == SQLITE_DONE ? SEULA_OK : SEULA_EIO;
}

int seula_staff_add(sqlite3 *db, const char *name, int role, const char *hash,
                    int64_t now_ms, int64_t *id)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db,
	                       "INSERT INTO staff (name, role, password_hash, "
	                       "created_at, password_changed_at) VALUES (?, ?, "
	                       "?, ?, ?)",
	                       -1, &st, NULL) != SQLITE_OK)
		return SEULA_EIO;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, seula_role_name(role), -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 3, hash, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, now_ms);
	sqlite3_bind_int64(st, 5, now_ms);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT_UNIQUE)
		return SEULA_ECONFLICT;
	if (rc != SQLITE_DONE)
		return SEULA_EIO;
	if (id)
		*id = sqlite3_last_insert_rowid(db);
	return SEULA_OK;
}

int seula_staff_set_password(sqlite3 *db, int64_t id, const char *hash,
                             int64_t now_ms)
{
	int rc = exec_bound(db,
	                    "UPDATE staff SET password_hash = ?, "
	                    "password_changed_at = ? WHERE id = ?",
	                    now_ms, id, hash, NULL);
	if (rc == SEULA_OK)
		rc = exec_bound(db, "DELETE FROM sessions WHERE staff_id = ?",
		                id, 0, NULL, NULL);
	return rc;
}

int seula_staff_set_role(sqlite3 *db, int64_t id, int role)
{
	return exec_bound(db, "UPDATE staff SET role = ? WHERE id = ?", id, 0,
	                  seula_role_name(role), NULL);
}

int seula_staff_set_disabled(sqlite3 *db, int64_t id, bool disabled)
{
	int rc = exec_bound(db, "UPDATE staff SET disabled = ? WHERE id = ?",
	                    disabled ? 1 : 0, id, NULL, NULL);
	if (rc == SEULA_OK && disabled)
		rc = exec_bound(db, "DELETE FROM sessions WHERE staff_id = ?",
		                id, 0, NULL, NULL);
	return rc;
}
