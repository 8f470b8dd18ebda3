/*
 * cli_staff.c - staff accounts, the audit chain and the route list from the
 * command line.
 */
#include "cli_staff.h"
#include "consent.h"

#include "apikeys.h"
#include "audit.h"
#include "db.h"
#include "host.h"
#include "migrate.h"
#include "secret.h"
#include "sessions.h"
#include "staff.h"

#include <ctype.h>
#include <jansson.h>
#include <pwd.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

/* ---- passwords ----------------------------------------------------------- */

/* One line into buf (sodium-locked by the caller), without its newline. */
static int read_line(FILE *in, char *buf, size_t cap)
{
	if (!fgets(buf, (int)cap, in))
		return -1;
	size_t n = strlen(buf);
	if (n == cap - 1 && buf[n - 1] != '\n')
		return -1; /* longer than any password we take */
	while (n && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		buf[--n] = '\0';
	return 0;
}

static int prompt(const char *text, char *buf, size_t cap)
{
	struct termios old, quiet;
	fprintf(stderr, "%s", text);
	fflush(stderr);
	tcgetattr(STDIN_FILENO, &old);
	quiet = old;
	quiet.c_lflag &= ~(tcflag_t)ECHO;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &quiet);
	int rc = read_line(stdin, buf, cap);
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &old);
	fprintf(stderr, "\n");
	return rc;
}

/* The new password of `name`, checked against the policy.  NULL on error
 * (said on stderr); the caller sodium_free()s it. */
static char *new_password(const char *name)
{
	const size_t cap = SEULA_PASSWORD_MAX + 2;
	char *pw = sodium_malloc(cap), *again = sodium_malloc(cap);
	if (!pw || !again) {
		fprintf(stderr, "seula: out of memory\n");
		goto fail;
	}
	if (isatty(STDIN_FILENO)) {
		char text[128];
		snprintf(text, sizeof(text), "New password for %s: ", name);
		if (prompt(text, pw, cap) || prompt("Again: ", again, cap)) {
			fprintf(stderr, "seula: no password given\n");
			goto fail;
		}
		if (strcmp(pw, again) != 0) {
			fprintf(stderr, "seula: the passwords differ\n");
			goto fail;
		}
	} else if (read_line(stdin, pw, cap)) {
		fprintf(stderr, "seula: give the password as one line on "
		                "standard input\n");
		goto fail;
	}
	char why[256];
	if (seula_password_check(name, pw, why, sizeof(why)) != SEULA_OK) {
		fprintf(stderr, "seula: that password will not do: %s\n", why);
		goto fail;
	}
	sodium_free(again);
	return pw;
fail:
	if (pw)
		sodium_free(pw);
	if (again)
		sodium_free(again);
	return NULL;
}

/* The Argon2id hash of a new password for `name`, asked for and checked;
 * -1 when there is none (said on stderr). */
static int new_password_hash(const char *name,
                             char hash[crypto_pwhash_STRBYTES])
{
	char *pw = new_password(name);
	if (!pw)
		return -1;
	int rc = seula_password_hash(pw, hash);
	sodium_free(pw);
	if (rc != SEULA_OK) {
		fprintf(stderr, "seula: out of memory hashing the password\n");
		return -1;
	}
	return 0;
}

/* ---- the database -----------------------------------------------------------
 */

struct session {
	sqlite3 *db;
	unsigned char key[SEULA_SECRET_BYTES];
	char actor[80];
};

static int open_db(const struct seula_config *cfg, struct session *s)
{
	char err[512];
	memset(s, 0, sizeof(*s));
	const struct passwd *pw = getpwuid(geteuid());
	snprintf(s->actor, sizeof(s->actor), "cli:%s",
	         pw ? pw->pw_name : "unknown");
	/* The database the server made, never a new one (a mistyped path);
	 * then the key, before core migration 7 signs with it
	 * (migrate.h). */
	if (seula_db_open(&s->db, cfg->db, false, false,
	                  cfg->synchronous == SEULA_SYNC_FULL, err,
	                  sizeof(err)) != SEULA_OK ||
	    seula_secret_open(s->db, cfg->secret_file, s->key, err,
	                      sizeof(err)) != SEULA_OK ||
	    seula_migrate_all(s->db, NULL, s->key, NULL, err, sizeof(err)) !=
	            SEULA_OK) {
		fprintf(stderr, "seula: %s\n", err);
		seula_db_close(s->db);
		s->db = NULL;
		return -1;
	}
	return 0;
}

static void close_db(struct session *s)
{
	seula_db_close(s->db);
	sodium_memzero(s->key, sizeof(s->key));
}

/* Commit the change with its audit entry, or roll both back. */
static int finish(struct session *s, int rc, const char *action,
                  const struct seula_staff *who, const char *detail)
{
	char err[512] = "";
	if (rc == SEULA_OK) {
		struct seula_audit_entry e = {
		        .ts_ms = seula_clock_ms(),
		        .staff_name = s->actor,
		        .action = action,
		        .route = "command line",
		        .subject = who->name,
		        .outcome = "ok",
		        .detail = detail,
		};
		rc = seula_audit_append(s->db, s->key, &e, err, sizeof(err));
	}
	if (rc == SEULA_OK &&
	    seula_db_exec(s->db, "COMMIT", err, sizeof(err)) == SEULA_OK)
		return 0;
	seula_db_exec(s->db, "ROLLBACK", NULL, 0);
	if (err[0])
		fprintf(stderr, "seula: %s\n", err);
	return 1;
}

static int begin(struct session *s)
{
	char err[256];
	if (seula_db_exec(s->db, "BEGIN IMMEDIATE", err, sizeof(err)) !=
	    SEULA_OK) {
		fprintf(stderr, "seula: %s\n", err);
		return -1;
	}
	return 0;
}

static int find_or_say(struct session *s, const char *name,
                       struct seula_staff *out)
{
	int rc = seula_staff_find(s->db, name, out);
	if (rc == SEULA_ENOTFOUND)
		fprintf(stderr, "seula: no staff member '%s'\n", name);
	else if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", sqlite3_errmsg(s->db));
	return rc;
}

/* ---- the commands
 * -------------------------------------------------------------- */

static void usage_user(void)
{
	fprintf(stderr,
	        "usage: seula user add NAME --role ROLE [--config FILE]\n"
	        "       seula user list | passwd NAME | role NAME ROLE |\n"
	        "                  disable NAME | enable NAME |\n"
	        "                  keys [NAME] | revoke-key ID\n"
	        "roles: admin, analyst, customer_service, finance\n");
}

static int bad_role(const char *role_s)
{
	fprintf(stderr,
	        "seula: no role '%s' (roles: admin, analyst, "
	        "customer_service, finance)\n",
	        role_s);
	return 2;
}

static int user_add(struct session *s, const char *name_in, const char *role_s)
{
	/* Names are kept in lower case: "Mia.K" signs in as mia.k. */
	char name[SEULA_STAFF_NAME_MAX + 1] = "";
	if (strlen(name_in) < sizeof(name))
		memcpy(name, name_in, strlen(name_in) + 1);
	for (char *p = name; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int role = seula_role_parse(role_s);
	if (!seula_staff_name_valid(name)) {
		fprintf(stderr,
		        "seula: a name is 1-%d characters of a-z, 0-9, '.', "
		        "'_' and '-', starting with a letter\n",
		        SEULA_STAFF_NAME_MAX);
		return 2;
	}
	if (!role)
		return bad_role(role_s);
	struct seula_staff existing;
	if (seula_staff_find(s->db, name, &existing) == SEULA_OK) {
		fprintf(stderr, "seula: '%s' exists already\n", name);
		return 1;
	}
	char hash[crypto_pwhash_STRBYTES];
	if (new_password_hash(name, hash) || begin(s))
		return 1;
	struct seula_staff who = {0};
	snprintf(who.name, sizeof(who.name), "%s", name);
	int rc = seula_staff_add(s->db, name, role, hash, seula_clock_ms(),
	                         &who.id);
	if (rc == SEULA_ECONFLICT)
		fprintf(stderr, "seula: '%s' exists already\n", name);
	char detail[64];
	snprintf(detail, sizeof(detail), "role %s", role_s);
	if (finish(s, rc, "user_add", &who, detail))
		return 1;
	printf("added %s (%s)\n", name, role_s);
	return 0;
}

static int user_list(struct session *s)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT name, role, disabled, created_at, "
	                       "password_changed_at, (SELECT count(*) FROM "
	                       "sessions WHERE staff_id = staff.id) FROM staff "
	                       "ORDER BY name",
	                       -1, &st, NULL) != SQLITE_OK)
		return 1;
	printf("%-24s %-17s %-9s %-11s %-11s %s\n", "NAME", "ROLE", "STATE",
	       "CREATED", "PASSWORD", "SESSIONS");
	while (sqlite3_step(st) == SQLITE_ROW) {
		char created[16], changed[16];
		time_t c = (time_t)(sqlite3_column_int64(st, 3) / 1000);
		time_t p = (time_t)(sqlite3_column_int64(st, 4) / 1000);
		struct tm tm;
		strftime(created, sizeof(created), "%Y-%m-%d",
		         gmtime_r(&c, &tm));
		strftime(changed, sizeof(changed), "%Y-%m-%d",
		         gmtime_r(&p, &tm));
		printf("%-24s %-17s %-9s %-11s %-11s %lld\n",
		       (const char *)sqlite3_column_text(st, 0),
		       (const char *)sqlite3_column_text(st, 1),
		       sqlite3_column_int(st, 2) ? "disabled" : "active",
		       created, changed,
		       (long long)sqlite3_column_int64(st, 5));
	}
	sqlite3_finalize(st);
	return 0;
}

static int user_passwd(struct session *s, const char *name)
{
	struct seula_staff who;
	if (find_or_say(s, name, &who) != SEULA_OK)
		return 1;
	char hash[crypto_pwhash_STRBYTES];
	if (new_password_hash(who.name, hash) || begin(s))
		return 1;
	int rc =
	        seula_staff_set_password(s->db, who.id, hash, seula_clock_ms());
	if (finish(s, rc, "user_passwd", &who, NULL))
		return 1;
	printf("password of %s changed; their sessions end\n", who.name);
	return 0;
}

static int user_role(struct session *s, const char *name, const char *role_s)
{
	struct seula_staff who;
	int role = seula_role_parse(role_s);
	if (!role)
		return bad_role(role_s);
	if (find_or_say(s, name, &who) != SEULA_OK || begin(s))
		return 1;
	char detail[80];
	snprintf(detail, sizeof(detail), "role %s -> %s",
	         seula_role_name(who.role), role_s);
	if (finish(s, seula_staff_set_role(s->db, who.id, role), "user_role",
	           &who, detail))
		return 1;
	printf("%s is now %s\n", who.name, role_s);
	return 0;
}

static int user_disable(struct session *s, const char *name, bool disable)
{
	struct seula_staff who;
	if (find_or_say(s, name, &who) != SEULA_OK || begin(s))
		return 1;
	if (finish(s, seula_staff_set_disabled(s->db, who.id, disable),
	           disable ? "user_disable" : "user_enable", &who, NULL))
		return 1;
	printf("%s is %s\n", who.name, disable ? "disabled" : "enabled");
	return 0;
}

/* A time in ms as YYYY-MM-DD HH:MM (UTC), or `none` when 0. */
static void cli_time(int64_t ms, const char *none, char *buf, size_t cap)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;
	if (ms <= 0 || !gmtime_r(&t, &tm) ||
	    !strftime(buf, cap, "%Y-%m-%d %H:%M", &tm))
		snprintf(buf, cap, "%s", none);
}

/* The API keys (apikeys.h), everyone's or `name`'s, newest first, as the
 * keys page lists them: never the key, which is not kept. */
static int user_keys(struct session *s, const char *name)
{
	struct seula_staff who;
	if (name && find_or_say(s, name, &who) != SEULA_OK)
		return 1;
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT s.token_hash, st.name, s.created_at, "
	                       "s.last_seen, s.expires_at, s.label FROM "
	                       "sessions s JOIN staff st ON st.id = "
	                       "s.staff_id WHERE s.kind = 'api' AND (?1 IS "
	                       "NULL OR st.id = ?1) ORDER BY s.created_at "
	                       "DESC, s.token_hash",
	                       -1, &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "seula: %s\n", sqlite3_errmsg(s->db));
		return 1;
	}
	if (name)
		sqlite3_bind_int64(st, 1, who.id);
	printf("%-16s %-24s %-16s %-16s %-18s %s\n", "ID", "OWNER", "CREATED",
	       "LAST USED", "EXPIRES", "NAME");
	int64_t now = seula_clock_ms();
	int step;
	while ((step = sqlite3_step(st)) == SQLITE_ROW) {
		char id[SEULA_API_KEY_ID_CHARS + 1] = "?";
		if (sqlite3_column_bytes(st, 0) == SEULA_TOKEN_HASH)
			seula_apikey_id(sqlite3_column_blob(st, 0), id);
		int64_t created = sqlite3_column_int64(st, 2);
		int64_t seen = sqlite3_column_int64(st, 3);
		int64_t expires = sqlite3_column_int64(st, 4);
		char c[32], u[32], e[40];
		cli_time(created, "-", c, sizeof(c));
		/* last_seen starts as the creation: later is a use. */
		cli_time(seen > created ? seen : 0, "never", u, sizeof(u));
		cli_time(expires, "never", e, sizeof(e));
		if (expires > 0 && now >= expires)
			snprintf(e, sizeof(e), "expired");
		const char *label = (const char *)sqlite3_column_text(st, 5);
		printf("%-16s %-24s %-16s %-16s %-18s %s\n", id,
		       (const char *)sqlite3_column_text(st, 1), c, u, e,
		       label ? label : "");
	}
	sqlite3_finalize(st);
	if (step != SQLITE_DONE) {
		fprintf(stderr, "seula: %s\n", sqlite3_errmsg(s->db));
		return 1;
	}
	return 0;
}

/* Revokes API key `id` (its list id), as DELETE /api/keys/{id} does, with
 * the same audit detail, so that a key's life reads alike in the log; a
 * running server lets go of it within [auth] session_sync. */
static int user_revoke_key(struct session *s, const char *id)
{
	unsigned char prefix[SEULA_API_KEY_ID_CHARS / 2];
	size_t bin_len = 0;
	if (strlen(id) != SEULA_API_KEY_ID_CHARS ||
	    strspn(id, "0123456789abcdef") != SEULA_API_KEY_ID_CHARS ||
	    sodium_hex2bin(prefix, sizeof(prefix), id, strlen(id), NULL,
	                   &bin_len, NULL) != 0 ||
	    bin_len != sizeof(prefix)) {
		fprintf(stderr,
		        "seula: '%s' is no key id (16 hex digits, as `seula "
		        "user keys` lists them)\n",
		        id);
		return 2;
	}
	if (begin(s))
		return 1;
	sqlite3_stmt *st;
	struct seula_staff who = {0};
	int rc = SEULA_EIO;
	unsigned char hash[SEULA_TOKEN_HASH];
	if (sqlite3_prepare_v2(s->db,
	                       "SELECT s.token_hash, st.id, st.name FROM "
	                       "sessions s JOIN staff st ON st.id = "
	                       "s.staff_id WHERE s.kind = 'api' AND "
	                       "substr(s.token_hash, 1, 8) = ?",
	                       -1, &st, NULL) == SQLITE_OK) {
		sqlite3_bind_blob(st, 1, prefix, sizeof(prefix), SQLITE_STATIC);
		int step = sqlite3_step(st);
		if (step == SQLITE_ROW &&
		    sqlite3_column_bytes(st, 0) == SEULA_TOKEN_HASH) {
			memcpy(hash, sqlite3_column_blob(st, 0), sizeof(hash));
			who.id = sqlite3_column_int64(st, 1);
			snprintf(who.name, sizeof(who.name), "%s",
			         (const char *)sqlite3_column_text(st, 2));
			rc = SEULA_OK;
		} else if (step == SQLITE_DONE || step == SQLITE_ROW) {
			rc = SEULA_ENOTFOUND;
		}
		sqlite3_finalize(st);
	}
	if (rc == SEULA_ENOTFOUND) {
		seula_db_exec(s->db, "ROLLBACK", NULL, 0);
		fprintf(stderr, "seula: no API key has the id %s\n", id);
		return 1;
	}
	if (rc == SEULA_OK) {
		rc = SEULA_EIO;
		if (sqlite3_prepare_v2(s->db,
		                       "DELETE FROM sessions WHERE token_hash "
		                       "= ? AND kind = 'api'",
		                       -1, &st, NULL) == SQLITE_OK) {
			sqlite3_bind_blob(st, 1, hash, sizeof(hash),
			                  SQLITE_STATIC);
			if (sqlite3_step(st) == SQLITE_DONE)
				rc = SEULA_OK;
			sqlite3_finalize(st);
		}
	}
	if (rc != SEULA_OK)
		fprintf(stderr, "seula: %s\n", sqlite3_errmsg(s->db));
	char detail[64];
	snprintf(detail, sizeof(detail), "api_key=%s revoked", id);
	if (finish(s, rc, "change", &who, detail))
		return 1;
	printf("API key %s of %s revoked\n", id, who.name);
	return 0;
}

int seula_cli_user(int argc, char **argv, const char *role,
                   const struct seula_config *cfg)
{
	if (argc < 1) {
		usage_user();
		return 2;
	}
	const char *cmd = argv[0];
	const char *args[2] = {NULL, NULL};
	size_t n = (size_t)argc - 1;
	for (size_t i = 0; i < n && i < 2; i++)
		args[i] = argv[i + 1];
	if (n > 2) {
		usage_user();
		return 2;
	}
	struct session s;
	if (open_db(cfg, &s))
		return 1;
	int rc;
	if (strcmp(cmd, "add") == 0 && n == 1 && role)
		rc = user_add(&s, args[0], role);
	else if (strcmp(cmd, "list") == 0 && n == 0)
		rc = user_list(&s);
	else if (strcmp(cmd, "passwd") == 0 && n == 1)
		rc = user_passwd(&s, args[0]);
	else if (strcmp(cmd, "role") == 0 && n == 2)
		rc = user_role(&s, args[0], args[1]);
	else if (strcmp(cmd, "disable") == 0 && n == 1)
		rc = user_disable(&s, args[0], true);
	else if (strcmp(cmd, "enable") == 0 && n == 1)
		rc = user_disable(&s, args[0], false);
	else if (strcmp(cmd, "keys") == 0 && n <= 1)
		rc = user_keys(&s, args[0]);
	else if (strcmp(cmd, "revoke-key") == 0 && n == 1)
		rc = user_revoke_key(&s, args[0]);
	else {
		usage_user();
		rc = 2;
	}
	close_db(&s);
	return rc;
}

/* The config's database, read-only, and its key; prints why not. */
static int open_verify(const struct seula_config *cfg, sqlite3 **db,
                       unsigned char key[SEULA_SECRET_BYTES])
{
	char err[512];
	*db = NULL;
	if (seula_db_open(db, cfg->db, true, false, 0, err, sizeof(err)) ==
	            SEULA_OK &&
	    seula_secret_load(cfg->secret_file, key, err, sizeof(err)) ==
	            SEULA_OK)
		return 0;
	fprintf(stderr, "seula: %s\n", err);
	seula_db_close(*db);
	*db = NULL;
	return 1;
}

/* Print the outcome of a chain's walk; its exit status.  `what` names the
 * chain, `row` and `rows` its rows. */
static int print_chain(int rc, const struct seula_chain_report *r,
                       const char *what, const char *row, const char *rows)
{
	if (rc == SEULA_OK) {
		printf("%s verified: %lld %s", what, (long long)r->rows, rows);
		if (r->pruned)
			printf(" (%lld before them removed by retention)",
			       (long long)r->pruned);
		printf(", head %s\n", r->rows ? r->head : "(empty)");
		return 0;
	}
	if (rc == SEULA_ECONFLICT)
		printf("%s BROKEN at %s %lld: %s (%lld %s before it verify)\n",
		       what, row, (long long)r->bad_id, r->why,
		       (long long)r->rows, rows);
	else
		fprintf(stderr, "seula: cannot read the %s: %s\n", what,
		        r->why);
	return 1;
}

int seula_cli_audit(int argc, char **argv, const struct seula_config *cfg)
{
	if (argc != 1 || strcmp(argv[0], "verify") != 0) {
		fprintf(stderr, "usage: seula audit verify [--config FILE]\n");
		return 2;
	}
	sqlite3 *db;
	unsigned char key[SEULA_SECRET_BYTES];
	if (open_verify(cfg, &db, key))
		return 1;
	struct seula_chain_report r;
	int rc = seula_audit_verify(db, key, &r);
	sodium_memzero(key, sizeof(key));
	seula_db_close(db);
	return print_chain(rc, &r, "audit log", "entry", "entries");
}

static void print_mismatch(void *arg, const char *visitor_id, const char *why)
{
	(void)arg;
	printf("consent state BROKEN for visitor %s: %s\n", visitor_id, why);
}

int seula_cli_consent_verify(const struct seula_config *cfg)
{
	sqlite3 *db;
	unsigned char key[SEULA_SECRET_BYTES];
	if (open_verify(cfg, &db, key))
		return 1;
	struct seula_chain_report r;
	int rc = seula_consent_verify(db, key, &r, print_mismatch, NULL);
	sodium_memzero(key, sizeof(key));
	seula_db_close(db);
	/* The chain verified; the standing consent did not. */
	bool states = rc == SEULA_ECONFLICT && r.bad_states;
	int status = print_chain(states ? SEULA_OK : rc, &r, "consent records",
	                         "record", "records");
	if (status)
		return status;
	if (states) {
		printf("consent state BROKEN: %lld of %lld visitors' standing "
		       "consent is not what their records give\n",
		       (long long)r.bad_states, (long long)r.states);
		return 1;
	}
	printf("consent state verified: %lld visitors' standing consent is "
	       "what their records give\n",
	       (long long)r.states);
	return 0;
}

static void print_repair(void *arg, const char *visitor_id, const char *why)
{
	(void)arg;
	printf("consent state repaired for visitor %s: %s\n", visitor_id, why);
}

int seula_cli_consent_repair(const struct seula_config *cfg)
{
	sqlite3 *db = NULL;
	unsigned char key[SEULA_SECRET_BYTES];
	char err[512];
	struct seula_chain_report r;
	int64_t rewritten = 0, deleted = 0;
	int rc = seula_db_open(&db, cfg->db, false, false,
	                       cfg->synchronous == SEULA_SYNC_FULL, err,
	                       sizeof(err));
	if (rc == SEULA_OK)
		rc = seula_secret_load(cfg->secret_file, key, err, sizeof(err));
	if (rc != SEULA_OK) {
		fprintf(stderr, "seula: %s\n", err);
		seula_db_close(db);
		return 1;
	}
	rc = seula_db_exec(db, "BEGIN IMMEDIATE", err, sizeof(err));
	if (rc == SEULA_OK) {
		rc = seula_consent_repair_states(db, key, &r, print_repair,
		                                 NULL, &rewritten, &deleted);
		if (rc == SEULA_OK)
			rc = seula_db_exec(db, "COMMIT", err, sizeof(err));
		else
			seula_db_exec(db, "ROLLBACK", NULL, 0);
	}
	sodium_memzero(key, sizeof(key));
	seula_db_close(db);
	if (rc == SEULA_ECONFLICT) {
		print_chain(rc, &r, "consent records", "record", "records");
		printf("nothing repaired: the standing consent is rebuilt "
		       "from records that verify\n");
		return 1;
	}
	if (rc != SEULA_OK) {
		fprintf(stderr, "seula: consent repair: %s\n",
		        err[0] ? err : r.why);
		return 1;
	}
	printf("consent state repaired: %lld standing consents rewritten from "
	       "their latest record, %lld deleted (no record names the "
	       "visitor)\n",
	       (long long)rewritten, (long long)deleted);
	return 0;
}

static json_t *role_names(unsigned roles)
{
	json_t *a = json_array();
	if (roles & SEULA_ROLE_PUBLIC)
		json_array_append_new(a, json_string("public"));
	for (int bit = SEULA_ROLE_ADMIN; bit <= SEULA_ROLE_FINANCE; bit <<= 1)
		if (roles & (unsigned)bit)
			json_array_append_new(
			        a, json_string(seula_role_name(bit)));
	return a;
}

/* One route as a JSON line; csrf: its methods whose staff requests must
 * carry the session's X-CSRF-Token (space-separated, "" for none). */
static void print_route(FILE *out, const char *methods, const char *path,
                        json_t *roles, const char *owner, const char *csrf)
{
	json_t *list = json_array();
	char buf[40];
	snprintf(buf, sizeof(buf), "%s", csrf);
	for (char *save = NULL, *m = strtok_r(buf, " ", &save); list && m;
	     m = strtok_r(NULL, " ", &save))
		json_array_append_new(list, json_string(m));
	json_t *o = json_pack("{s:s, s:s, s:o, s:s, s:o*}", "methods", methods,
	                      "path", path, "roles", roles, "owner", owner,
	                      "csrf", list);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	if (text)
		fprintf(out, "%s\n", text);
	free(text);
	json_decref(o);
}

int seula_cli_routes(const struct seula_router *router, FILE *out)
{
	const unsigned staff = SEULA_ROLE_ADMIN | SEULA_ROLE_ANALYST |
	                       SEULA_ROLE_CUSTOMER_SERVICE | SEULA_ROLE_FINANCE;
	print_route(out, "GET POST OPTIONS", "/api/collect",
	            role_names(SEULA_ROLE_PUBLIC), "core", "");
	print_route(out, "GET HEAD", "/api/health",
	            role_names(SEULA_ROLE_PUBLIC), "core", "");
	print_route(out, "POST", "/api/login", role_names(SEULA_ROLE_PUBLIC),
	            "core", "");
	print_route(out, "POST", "/api/logout", role_names(staff), "core",
	            "POST");
	print_route(out, "GET", "/api/me", role_names(staff), "core", "");
	/* Says whether a session is live; anyone may ask. */
	print_route(out, "GET", "/api/session", role_names(SEULA_ROLE_PUBLIC),
	            "core", "");
	static const char *const names[] = {"GET", "POST", "PUT", "PATCH",
	                                    "DELETE"};
	for (size_t i = 0; i < router->n; i++) {
		const struct seula_route *r = router->entries[i].route;
		char methods[40] = "", csrf[40] = "";
		bool staff_route = !(r->roles & SEULA_ROLE_PUBLIC);
		for (unsigned b = 0; b < 5; b++)
			if (r->methods & (1u << b)) {
				if (methods[0])
					strcat(methods, " ");
				strcat(methods, names[b]);
				if (!staff_route ||
				    !seula_route_changes_state(r, 1 << b))
					continue;
				if (csrf[0])
					strcat(csrf, " ");
				strcat(csrf, names[b]);
			}
		print_route(out, methods, r->path, role_names(r->roles),
		            router->entries[i].owner, csrf);
	}
	return 0;
}
