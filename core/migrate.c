/*
 * migrate.c - schema migrations, and the core schema.
 */
#include "migrate.h"

#include "consent.h"
#include "db.h"
#include "secret.h"

#include <sodium.h>

#include <stdio.h>
#include <string.h>
#include <time.h>

/* Never edit a released migration; append a new one. */
const struct seula_migration seula_core_migrations[] = {
        {1, "CREATE TABLE events (\n"
            "  id INTEGER PRIMARY KEY,\n"
            "  site TEXT NOT NULL,\n"
            "  type INTEGER NOT NULL,\n"
            "  ts INTEGER NOT NULL,\n"
            "  url TEXT, hostname TEXT, path TEXT, referrer TEXT, title TEXT,\n"
            "  language TEXT, name TEXT, props TEXT, visitor_id TEXT,\n"
            "  utm_source TEXT, utm_medium TEXT, utm_campaign TEXT,\n"
            "  utm_term TEXT, utm_content TEXT, ip_anon TEXT,\n"
            "  country TEXT, region TEXT, city TEXT, browser TEXT,\n"
            "  browser_version TEXT, os TEXT, os_version TEXT, device TEXT,\n"
            "  referrer_source TEXT, referrer_name TEXT,\n"
            "  screen_width INTEGER, screen_height INTEGER,\n"
            "  engagement_ms INTEGER, visitor_hash INTEGER, bot INTEGER\n"
            ") STRICT;\n"
            "CREATE INDEX events_site_ts ON events(site, ts);\n"},
        {2,
         /* Staff accounts, their sessions, the audit log and the heads of
          * the keyed hash chains. */
         "CREATE TABLE staff (\n"
         "  id INTEGER PRIMARY KEY,\n"
         "  name TEXT NOT NULL UNIQUE COLLATE NOCASE,\n"
         "  role TEXT NOT NULL CHECK (role IN ('admin', 'analyst',\n"
         "                            'customer_service', 'finance')),\n"
         "  password_hash TEXT NOT NULL,\n"
         "  disabled INTEGER NOT NULL DEFAULT 0,\n"
         "  created_at INTEGER NOT NULL,\n"
         "  password_changed_at INTEGER NOT NULL\n"
         ") STRICT;\n"
         "CREATE TABLE sessions (\n"
         "  token_hash BLOB PRIMARY KEY,\n"
         "  staff_id INTEGER NOT NULL REFERENCES staff(id) ON DELETE CASCADE,\n"
         "  csrf TEXT NOT NULL,\n"
         "  created_at INTEGER NOT NULL,\n"
         "  last_seen INTEGER NOT NULL,\n"
         "  ip_anon TEXT\n"
         ") STRICT;\n"
         "CREATE TABLE audit_log (\n"
         "  id INTEGER PRIMARY KEY,\n"
         "  ts INTEGER NOT NULL,\n"
         "  staff_id INTEGER,\n"
         "  staff_name TEXT,\n"
         "  ip_anon TEXT,\n"
         "  action TEXT NOT NULL,\n"
         "  route TEXT,\n"
         "  subject TEXT,\n"
         "  outcome TEXT NOT NULL,\n"
         "  detail TEXT,\n"
         "  prev_mac BLOB NOT NULL,\n"
         "  mac BLOB NOT NULL\n"
         ") STRICT;\n"
         "CREATE INDEX audit_log_ts ON audit_log(ts);\n"
         "CREATE INDEX audit_log_subject ON audit_log(subject);\n"
         "CREATE TRIGGER audit_log_append_only_u BEFORE UPDATE ON audit_log\n"
         "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
         "CREATE TRIGGER audit_log_append_only_d BEFORE DELETE ON audit_log\n"
         "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;\n"
         "CREATE TABLE chain_heads (\n"
         "  chain TEXT PRIMARY KEY,\n"
         "  last_id INTEGER NOT NULL,\n"
         "  mac BLOB NOT NULL,\n"
         "  head_mac BLOB NOT NULL\n"
         ") STRICT;\n"},
        {3,
         /* Consent: the texts shown (once per version and language), the
          * chained records, each visitor id's current state, and the
          * banner's daily display count.  A record's personal fields
          * (visitor_id, ip_anon, page) are covered by pii_mac, not by the
          * chain itself, so erasure can clear them and the chain still
          * verifies; nothing else of a record ever changes. */
         "CREATE TABLE consent_texts (\n"
         "  hash TEXT PRIMARY KEY,\n"
         "  site TEXT NOT NULL,\n"
         "  policy_version TEXT NOT NULL,\n"
         "  language TEXT NOT NULL,\n"
         "  body TEXT NOT NULL,\n"
         "  first_served INTEGER NOT NULL\n"
         ") STRICT;\n"
         "CREATE TABLE consent_records (\n"
         "  id INTEGER PRIMARY KEY,\n"
         "  receipt TEXT NOT NULL UNIQUE,\n"
         "  site TEXT NOT NULL,\n"
         "  given_at INTEGER,\n"
         "  received_at INTEGER NOT NULL,\n"
         "  policy_version TEXT NOT NULL,\n"
         "  texts_hash TEXT NOT NULL,\n"
         "  language TEXT NOT NULL,\n"
         "  decisions TEXT NOT NULL,\n"
         "  preselected TEXT NOT NULL,\n"
         "  method TEXT NOT NULL CHECK (method IN ('accept_all',\n"
         "    'reject_all', 'custom', 'withdraw', 'gpc')),\n"
         "  source TEXT NOT NULL CHECK (source IN ('banner',\n"
         "    'preference_link', 'api', 'staff')),\n"
         "  staff_name TEXT,\n"
         "  signals TEXT NOT NULL,\n"
         "  gcm TEXT NOT NULL,\n"
         "  valid_until INTEGER NOT NULL,\n"
         "  tc_string TEXT,\n"
         "  visitor_id TEXT,\n"
         "  ip_anon TEXT,\n"
         "  page TEXT,\n"
         "  pii_mac BLOB NOT NULL,\n"
         "  erased_at INTEGER,\n"
         "  prev_mac BLOB NOT NULL,\n"
         "  mac BLOB NOT NULL\n"
         ") STRICT;\n"
         "CREATE INDEX consent_records_visitor ON "
         "consent_records(visitor_id);\n"
         "CREATE INDEX consent_records_site_time ON "
         "consent_records(site, received_at);\n"
         "CREATE TRIGGER consent_records_fixed BEFORE UPDATE OF id, "
         "receipt, site, given_at, received_at, policy_version, "
         "texts_hash, language, decisions, preselected, method, source, "
         "staff_name, signals, gcm, valid_until, tc_string, pii_mac, "
         "prev_mac, mac ON consent_records\n"
         "BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); "
         "END;\n"
         /* Only the retention task deletes, and only below the anchor it
          * moved first. */
         "CREATE TRIGGER consent_records_kept BEFORE DELETE ON "
         "consent_records WHEN old.id > coalesce((SELECT last_id FROM "
         "chain_heads WHERE chain = 'consent-anchor'), 0)\n"
         "BEGIN SELECT RAISE(ABORT, 'consent records are append-only'); "
         "END;\n"
         "CREATE TABLE consent_visitors (\n"
         "  visitor_id TEXT PRIMARY KEY,\n"
         "  site TEXT NOT NULL,\n"
         "  analytics INTEGER NOT NULL,\n"
         "  marketing INTEGER NOT NULL,\n"
         "  personalization INTEGER NOT NULL,\n"
         "  valid_until INTEGER NOT NULL,\n"
         "  receipt TEXT NOT NULL\n"
         ") STRICT, WITHOUT ROWID;\n"
         "CREATE TABLE consent_daily (\n"
         "  site TEXT NOT NULL,\n"
         "  day TEXT NOT NULL,\n"
         "  shown INTEGER NOT NULL,\n"
         "  PRIMARY KEY (site, day)\n"
         ") STRICT, WITHOUT ROWID;\n"},
        {4,
         /* What `seula import-log` imported, so the same log is not
          * counted twice: a file is known by the hash of its first line,
          * and a later import of it (or of the same file grown since) is
          * checked against the hash of the bytes imported then. */
         "CREATE TABLE log_imports (\n"
         "  id INTEGER PRIMARY KEY,\n"
         "  site TEXT NOT NULL,\n"
         "  first_line BLOB NOT NULL,\n"
         "  bytes INTEGER NOT NULL,\n"
         "  hash BLOB NOT NULL,\n"
         "  name TEXT NOT NULL,\n"
         "  lines INTEGER NOT NULL,\n"
         "  pageviews INTEGER NOT NULL,\n"
         "  first_ts INTEGER,\n"
         "  last_ts INTEGER,\n"
         "  imported_at INTEGER NOT NULL\n"
         ") STRICT;\n"
         "CREATE INDEX log_imports_first_line ON log_imports(site, "
         "first_line);\n"},
        {5,
         /* A person's events, for access and erasure (and the segment
          * reports' joins): only consented events carry a visitor id, so
          * the partial index costs nothing for the others. */
         "CREATE INDEX events_visitor ON events(visitor_id) WHERE "
         "visitor_id IS NOT NULL;\n"},
        {6,
         /* Banner displays by the hour, so the consent statistics count
          * them by the reader's local day (tz=).  A day counted before
          * goes to its noon, 12:00 UTC, which is that date from UTC-12
          * to UTC+11. */
         "CREATE TABLE consent_hourly (\n"
         "  site TEXT NOT NULL,\n"
         "  hour INTEGER NOT NULL,\n"
         "  shown INTEGER NOT NULL,\n"
         "  PRIMARY KEY (site, hour)\n"
         ") STRICT, WITHOUT ROWID;\n"
         "INSERT INTO consent_hourly (site, hour, shown) SELECT site, "
         "CAST(strftime('%s', day) AS INTEGER) + 43200, shown FROM "
         "consent_daily "
         "WHERE strftime('%s', day) IS NOT NULL;\n"
         "DROP TABLE consent_daily;\n"},
        {7,
         /* The server's keyed proof that it erased a record
          * (consent.c, erased_mac()): whoever can write the file but not
          * read the key can clear a record's personal fields, but not
          * make this, so a faked erasure is found. */
         "ALTER TABLE consent_records ADD COLUMN erased_mac BLOB;\n"},
        {8,
         /* When the tracker began to count each site (the writer's first
          * collected event of it): an access log's import stops there,
          * or those days would be counted twice.  Sites counted before
          * this: from their events that only the tracker sends (a screen
          * size or a title; an imported page view has neither). */
         "CREATE TABLE collect_since (\n"
         "  site TEXT PRIMARY KEY,\n"
         "  since INTEGER NOT NULL\n"
         ") STRICT;\n"
         "INSERT INTO collect_since (site, since) SELECT site, min(ts) "
         "FROM events WHERE screen_width IS NOT NULL OR title IS NOT NULL "
         "GROUP BY site;\n"},
        {9,
         /* A visitor's standing consent names the record it is of and
          * carries a MAC keyed with the server's key (consent.c,
          * state_mac()): whoever can write the file but not read the key
          * cannot grant what the records do not, nor put an older state
          * back.  The states kept before are signed in the migration's
          * transaction (seula_consent_sign_states()). */
         "ALTER TABLE consent_visitors ADD COLUMN record_id INTEGER;\n"
         "ALTER TABLE consent_visitors ADD COLUMN mac BLOB;\n"},
        {10,
         /* An identified event keeps no cookieless hash (store.c,
          * insert_event()): the rows stored before lose theirs. */
         "UPDATE events SET visitor_hash = NULL WHERE visitor_id IS NOT "
         "NULL AND visitor_hash IS NOT NULL;\n"},
        {11,
         /* Personal API keys (apikeys.h) are sessions of a kind of their
          * own: the same hash of a token, the same account's role and
          * state, ended with it; no idle timeout, an expiry or none. */
         "ALTER TABLE sessions ADD COLUMN kind TEXT NOT NULL DEFAULT "
         "'browser' CHECK (kind IN ('browser', 'api'));\n"
         "ALTER TABLE sessions ADD COLUMN label TEXT;\n"
         "ALTER TABLE sessions ADD COLUMN hint TEXT;\n"
         "ALTER TABLE sessions ADD COLUMN expires_at INTEGER;\n"
         "CREATE INDEX sessions_staff ON sessions (staff_id, kind);\n"},
};
const size_t seula_core_n_migrations =
        sizeof(seula_core_migrations) / sizeof(seula_core_migrations[0]);

static int current_version(sqlite3 *db, const char *component, int *out,
                           char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	if (sqlite3_prepare_v2(db,
	                       "SELECT coalesce(max(version), 0) FROM "
	                       "seula_migrations WHERE component = ?",
	                       -1, &st, NULL) != SQLITE_OK) {
		snprintf(err, errlen, "%s", sqlite3_errmsg(db));
		return SEULA_EIO;
	}
	sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	*out = rc == SQLITE_ROW ? sqlite3_column_int(st, 0) : 0;
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? SEULA_OK : SEULA_EIO;
}

/* What a core migration does beside its SQL, in its transaction. */
static int core_after(sqlite3 *db, int version, const unsigned char *key,
                      char *err, size_t errlen)
{
	/* Erased records from before erased_mac, and standing consent from
	 * before its MAC: signed now, with the column, so that afterwards
	 * an unsigned one is a forgery. */
	if (version == 7)
		return seula_consent_sign_erased(db, key, err, errlen);
	if (version == 9)
		return seula_consent_sign_states(db, key, err, errlen);
	return SEULA_OK;
}

static int migrate(sqlite3 *db, const char *component,
                   const struct seula_migration *migrations, size_t n,
                   const unsigned char *key, int *applied, char *err,
                   size_t errlen)
{
	char e[512];
	if (seula_db_exec(db,
	                  "CREATE TABLE IF NOT EXISTS seula_migrations (\n"
	                  "  component TEXT NOT NULL,\n"
	                  "  version INTEGER NOT NULL,\n"
	                  "  applied_at INTEGER NOT NULL,\n"
	                  "  PRIMARY KEY (component, version)\n"
	                  ") STRICT",
	                  e, sizeof(e)) != SEULA_OK) {
		snprintf(err, errlen, "migrations table: %s", e);
		return SEULA_EIO;
	}
	int have = 0;
	if (current_version(db, component, &have, e, sizeof(e)) != SEULA_OK) {
		snprintf(err, errlen, "%s: %s", component, e);
		return SEULA_EIO;
	}
	int known = n ? migrations[n - 1].version : 0;
	if (have > known) {
		snprintf(err, errlen,
		         "%s: the database has schema version %d, this build "
		         "knows only up to %d; run the newer seula that wrote "
		         "it, or restore a backup",
		         component, have, known);
		return SEULA_ECONFLICT;
	}
	/* A newer command beside a running older server (an import, a user
	 * added mid-upgrade) would change the tables under it.  A new
	 * component's first tables change nothing it uses. */
	const char *path = sqlite3_db_filename(db, "main");
	long pid = 0;
	char cmd[16];
	if (have > 0 && known > have && path && *path &&
	    seula_db_locked_by_other(path, &pid, cmd, sizeof(cmd))) {
		snprintf(err, errlen,
		         "%s: the database is at schema version %d and this "
		         "seula would upgrade it to %d, but seula %s (pid %ld) "
		         "is using it: stop it first, then upgrade with seula "
		         "migrate",
		         component, have, known, *cmd ? cmd : "serve", pid);
		return SEULA_EBUSY;
	}
	for (size_t i = 0; i < n; i++) {
		const struct seula_migration *m = &migrations[i];
		if (m->version <= have)
			continue;
		if (seula_db_exec(db, "BEGIN IMMEDIATE", e, sizeof(e)) !=
		    SEULA_OK) {
			snprintf(err, errlen, "%s: %s", component, e);
			return SEULA_EIO;
		}
		int hrc = SEULA_OK;
		if (seula_db_exec(db, m->sql, e, sizeof(e)) != SEULA_OK ||
		    (strcmp(component, "core") == 0 &&
		     (hrc = core_after(db, m->version, key, e, sizeof(e))) !=
		             SEULA_OK)) {
			seula_db_exec(db, "ROLLBACK", NULL, 0);
			snprintf(err, errlen, "%s: migration %d failed: %s",
			         component, m->version, e);
			return hrc != SEULA_OK ? hrc : SEULA_EIO;
		}
		sqlite3_stmt *st = NULL;
		int rc = sqlite3_prepare_v2(db,
		                            "INSERT INTO seula_migrations "
		                            "VALUES (?, ?, ?)",
		                            -1, &st, NULL);
		if (rc == SQLITE_OK) {
			sqlite3_bind_text(st, 1, component, -1, SQLITE_STATIC);
			sqlite3_bind_int(st, 2, m->version);
			sqlite3_bind_int64(st, 3, (sqlite3_int64)time(NULL));
			rc = sqlite3_step(st) == SQLITE_DONE ? SQLITE_OK
			                                     : SQLITE_ERROR;
		}
		sqlite3_finalize(st);
		if (rc != SQLITE_OK ||
		    seula_db_exec(db, "COMMIT", e, sizeof(e)) != SEULA_OK) {
			snprintf(err, errlen, "%s: migration %d: %s", component,
			         m->version, sqlite3_errmsg(db));
			seula_db_exec(db, "ROLLBACK", NULL, 0);
			return SEULA_EIO;
		}
		if (applied)
			(*applied)++;
	}
	return SEULA_OK;
}

int seula_migrate(sqlite3 *db, const char *component,
                  const struct seula_migration *migrations, size_t n,
                  int *applied, char *err, size_t errlen)
{
	return migrate(db, component, migrations, n, NULL, applied, err,
	               errlen);
}

int seula_migrate_all(sqlite3 *db, const struct seula_plugins *plugins,
                      const unsigned char *key, int *applied, char *err,
                      size_t errlen)
{
	int rc = migrate(db, "core", seula_core_migrations,
	                 seula_core_n_migrations, key, applied, err, errlen);
	for (size_t i = 0; rc == SEULA_OK && plugins && i < plugins->n; i++) {
		const struct seula_plugin *d = &plugins->list[i].desc;
		rc = seula_migrate(db, d->name, d->migrations, d->n_migrations,
		                   applied, err, errlen);
	}
	return rc;
}

int seula_migrate_all_keyed(sqlite3 *db, const struct seula_plugins *plugins,
                            const char *secret_file, int *applied, char *err,
                            size_t errlen)
{
	unsigned char key[SEULA_SECRET_BYTES];
	char kerr[256];
	bool have_key = seula_secret_load(secret_file, key, kerr,
	                                  sizeof(kerr)) == SEULA_OK;
	int rc = seula_migrate_all(db, plugins, have_key ? key : NULL, applied,
	                           err, errlen);
	sodium_memzero(key, sizeof(key));
	return rc;
}
