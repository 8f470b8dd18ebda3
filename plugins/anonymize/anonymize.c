/*
 * anonymize.c - the protect stage: mask the client IP, derive the cookieless
 * visitor hash, wipe the full address.
 *
 * Masking follows Matomo's levels, the convention users know:
 *   level  IPv4 bytes zeroed  IPv6 bits kept
 *     1          1                 64
 *     2          2                 48   (default)
 *     3          3                 24
 *     4          4                  0
 * The host masks (host->ip_mask): an IPv6 address carrying the client's
 * IPv4 address, IPv4-mapped (::ffff:a.b.c.d) or 6to4 (2002:AABB:CCDD::),
 * is masked as that address.  Level 0 (no masking) is not offered: a full
 * address never reaches the database.
 *
 * The cookieless visitor hash is SipHash-2-4 keyed with a random salt for
 * the UTC day of the event, over (site, user agent, address).  Salts live in
 * anonymize_salts for today and tomorrow only; the rotation task deletes
 * older ones (secure_delete is on, and the WAL is truncated afterwards), and
 * wipes them from memory, so a hash cannot be recomputed or joined across
 * days once its day is over.  On an import's clock (a past day), the
 * days it passes keep theirs until the import ends.
 */
#include <seula/plugin.h>

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL
/* The stored salt; SipHash takes its first crypto_shorthash_KEYBYTES. */
#define SALT_BYTES 32

enum hash_ip { HASH_IP_ANONYMISED = 0, HASH_IP_FULL = 1 };

struct anonymize_config {
	int64_t level;
	int visitor_hash;
	int hash_ip; /* enum hash_ip */
};

static const char *const hash_ip_choices[] = {"anonymised", "full", NULL};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_INT, "level", "2", 1, 4,
         offsetof(struct anonymize_config, level), 0, NULL,
         "masking level as in Matomo: IPv4 bytes zeroed 1-4, IPv6 bits kept "
         "64/48/24/0"},
        {SEULA_CONFIG_BOOL, "visitor_hash", "true", 0, 0,
         offsetof(struct anonymize_config, visitor_hash), 0, NULL,
         "count visits without cookies by a daily salted hash"},
        {SEULA_CONFIG_ENUM, "hash_ip", "anonymised", 0, 0,
         offsetof(struct anonymize_config, hash_ip), 0, hash_ip_choices,
         "address fed to the visitor hash: the masked one (coarser, fewer "
         "distinct visitors) or the full one (as exact as Plausible)"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

static const struct seula_migration migrations[] = {
        {1, "CREATE TABLE anonymize_salts (\n"
            "  day INTEGER PRIMARY KEY,\n"
            "  salt BLOB NOT NULL CHECK (length(salt) = 32)\n"
            ") STRICT;"},
};

struct salt {
	int64_t day; /* days since the epoch, UTC; -1: none */
	unsigned char key[SALT_BYTES];
};

struct anonymize {
	const struct seula_host *host;
	const struct anonymize_config *cfg;
	pthread_mutex_t lock; /* guards salts: the writer rotates them */
	struct salt *salts;   /* [2], sodium_malloc'd: locked, guarded */
	int warned_no_salt;
};

/* ---- salts ------------------------------------------------------------ */

static const struct salt *salt_for(const struct anonymize *a, int64_t day)
{
	for (int i = 0; i < 2; i++)
		if (a->salts[i].day == day)
			return &a->salts[i];
	return NULL;
}

static int rotate(void *instance, struct sqlite3 *db, int64_t now_ms,
                  char **errmsg)
{
	struct anonymize *a = instance;
	const struct seula_host *h = a->host;
	int64_t today = now_ms / DAY_MS;
	int rc = SEULA_OK;
	sqlite3_stmt *del = NULL, *ins = NULL, *sel = NULL;

	if (sqlite3_prepare_v2(db, "DELETE FROM anonymize_salts WHERE day < ?",
	                       -1, &del, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "INSERT OR IGNORE INTO anonymize_salts "
	                       "(day, salt) VALUES (?, ?)",
	                       -1, &ins, NULL) != SQLITE_OK ||
	    sqlite3_prepare_v2(db,
	                       "SELECT day, salt FROM anonymize_salts WHERE "
	                       "day IN (?, ?)",
	                       -1, &sel, NULL) != SQLITE_OK) {
		rc = SEULA_EIO;
		goto out;
	}
	/* Run on a log's clock (import-log walks it through the log's
	 * days, at their midnights), the days passed keep their salts until
	 * the run is back on the wall clock, at its end: a log may come back
	 * to a day (two servers' logs of the same days), and its visitors
	 * must hash as they did.  A line dated tomorrow puts the log's clock
	 * on today's midnight, which the wall clock is past: on the log's
	 * clock still, or the salts of the days before went mid-run. */
	int64_t wall = h->now_ms(h);
	bool on_log_clock = today < wall / DAY_MS ||
	                    (now_ms % DAY_MS == 0 && now_ms < wall);
	sqlite3_bind_int64(del, 1, on_log_clock ? INT64_MIN : today);
	if (sqlite3_step(del) != SQLITE_DONE) {
		rc = SEULA_EIO;
		goto out;
	}
	int destroyed = sqlite3_changes(db);
	for (int64_t d = today; d <= today + 1; d++) {
		unsigned char fresh[SALT_BYTES];
		h->random_bytes(h, fresh, sizeof(fresh));
		sqlite3_reset(ins);
		sqlite3_bind_int64(ins, 1, d);
		sqlite3_bind_blob(ins, 2, fresh, sizeof(fresh),
		                  SQLITE_TRANSIENT);
		int step = sqlite3_step(ins);
		sodium_memzero(fresh, sizeof(fresh));
		if (step != SQLITE_DONE) {
			rc = SEULA_EIO;
			goto out;
		}
	}
	struct salt next[2];
	memset(next, 0, sizeof(next));
	next[0].day = next[1].day = -1;
	sqlite3_bind_int64(sel, 1, today);
	sqlite3_bind_int64(sel, 2, today + 1);
	int n = 0;
	while (n < 2 && sqlite3_step(sel) == SQLITE_ROW) {
		if (sqlite3_column_bytes(sel, 1) != SALT_BYTES)
			continue;
		next[n].day = sqlite3_column_int64(sel, 0);
		memcpy(next[n].key, sqlite3_column_blob(sel, 1), SALT_BYTES);
		n++;
	}
	if (n != 2) {
		rc = SEULA_EIO;
		sodium_memzero(next, sizeof(next));
		goto out;
	}
	pthread_mutex_lock(&a->lock);
	/* Overwrite in place: the old keys are gone from memory here. */
	memcpy(a->salts, next, sizeof(next));
	pthread_mutex_unlock(&a->lock);
	sodium_memzero(next, sizeof(next));
	if (destroyed)
		h->log(h, SEULA_LOG_INFO,
		       "destroyed %d expired visitor-hash salt%s", destroyed,
		       destroyed == 1 ? "" : "s");
out:
	if (rc != SEULA_OK)
		*errmsg = h->mprintf("salt rotation: %s", sqlite3_errmsg(db));
	sqlite3_finalize(del);
	sqlite3_finalize(ins);
	sqlite3_finalize(sel);
	return rc;
}

static const struct seula_task tasks[] = {
        {"rotate_salts", 60, SEULA_TASK_AT_START | SEULA_TASK_TRUNCATE_WAL,
         rotate},
};

/* ---- the hook --------------------------------------------------------- */

static void visitor_hash(struct anonymize *a, struct seula_event *ev,
                         const struct seula_ip *full,
                         const struct seula_ip *masked)
{
	const struct seula_host *h = a->host;
	int64_t ts = 0;
	if (h->event_int(ev, SEULA_FIELD_TIME_MS, &ts) != SEULA_OK)
		ts = h->now_ms(h);
	const char *site = h->event_str(ev, SEULA_FIELD_SITE);
	const char *ua = h->event_str(ev, SEULA_FIELD_USER_AGENT);
	const struct seula_ip *ip =
	        a->cfg->hash_ip == HASH_IP_FULL ? full : masked;

	/* Length-prefixed parts, so no two inputs concatenate alike:
	 * site, user agent, then the address. */
	unsigned char msg[2 * sizeof(uint32_t) + 64 + 1024 + 17];
	size_t n = 0;
	const char *parts[2] = {site ? site : "", ua ? ua : ""};
	const size_t caps[2] = {64, 1024};
	for (int i = 0; i < 2; i++) {
		uint32_t len = (uint32_t)strnlen(parts[i], caps[i]);
		memcpy(msg + n, &len, sizeof(len));
		memcpy(msg + n + sizeof(len), parts[i], len);
		n += sizeof(len) + len;
	}
	msg[n++] = ip->family;
	memcpy(msg + n, ip->bytes, sizeof(ip->bytes));
	n += sizeof(ip->bytes);

	unsigned char out[crypto_shorthash_BYTES];
	pthread_mutex_lock(&a->lock);
	const struct salt *salt = salt_for(a, ts / DAY_MS);
	if (!salt) {
		int warn = !a->warned_no_salt;
		a->warned_no_salt = 1;
		pthread_mutex_unlock(&a->lock);
		sodium_memzero(msg, n);
		if (warn)
			h->log(h, SEULA_LOG_WARN,
			       "no salt for the event's day; visits go "
			       "without a visitor hash until rotation runs");
		return;
	}
	/* SipHash-2-4 keyed with the day's salt: a PRF made for short
	 * inputs; without the key the hash cannot be recomputed. */
	crypto_shorthash(out, msg, n, salt->key);
	pthread_mutex_unlock(&a->lock);
	sodium_memzero(msg, n);
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = (v << 8) | out[i];
	/* Positive, so it reads the same in every SQLite client. */
	h->event_set_int(ev, SEULA_FIELD_VISITOR_HASH,
	                 (int64_t)(v & 0x7fffffffffffffffULL));
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct anonymize *a = instance;
	const struct seula_host *h = a->host;
	const struct seula_ip *full = h->event_ip(ev);
	if (!full)
		return SEULA_KEEP;
	struct seula_ip masked = *full;
	char text[64];
	if (h->ip_mask(&masked, (int)a->cfg->level) != SEULA_OK ||
	    h->ip_format(&masked, text, sizeof(text)) != SEULA_OK ||
	    h->event_set_str(ev, SEULA_FIELD_IP_ANON, text, strlen(text)) !=
	            SEULA_OK) {
		h->event_wipe_ip(ev);
		return SEULA_ERROR;
	}
	if (a->cfg->visitor_hash)
		visitor_hash(a, ev, full, &masked);
	h->event_wipe_ip(ev);
	sodium_memzero(&masked, sizeof(masked));
	return SEULA_KEEP;
}

/* ---- lifecycle -------------------------------------------------------- */

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	if (sodium_init() < 0) {
		*errmsg = host->mprintf("libsodium did not initialise");
		return SEULA_EIO;
	}
	struct anonymize *a = calloc(1, sizeof(*a));
	if (!a)
		return SEULA_ENOMEM;
	a->salts = sodium_malloc(2 * sizeof(struct salt));
	if (!a->salts) {
		free(a);
		*errmsg = host->mprintf("cannot allocate locked memory");
		return SEULA_ENOMEM;
	}
	memset(a->salts, 0, 2 * sizeof(struct salt));
	a->salts[0].day = a->salts[1].day = -1;
	a->host = host;
	a->cfg = config;
	pthread_mutex_init(&a->lock, NULL);
	*instance = a;
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	struct anonymize *a = instance;
	if (!a)
		return;
	sodium_free(a->salts); /* zeroes before it frees */
	pthread_mutex_destroy(&a->lock);
	free(a);
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "anonymize",
        .version = "1.0.0",
        .description = "masks client IPs (Matomo levels), counts visitors "
                       "without cookies by a daily salted hash",
        .config_rows = config_rows,
        .config_size = sizeof(struct anonymize_config),
        .migrations = migrations,
        .n_migrations = sizeof(migrations) / sizeof(migrations[0]),
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_PROTECT,
        .on_event = on_event,
        .tasks = tasks,
        .n_tasks = sizeof(tasks) / sizeof(tasks[0]),
};
