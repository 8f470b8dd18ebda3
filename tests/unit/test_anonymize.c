/* Unit tests: plugins/anonymize through the real loader, with a fixed clock
 * and a predictable random source (PROMISES #22: a visitor cannot be
 * identified; no full IP is kept). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "event.h"
#include "loader.h"
#include "migrate.h"
#include "netaddr.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400000LL

struct fake {
	int64_t now;
	unsigned counter;
};

static int64_t fake_now(void *ctx)
{
	return ((struct fake *)ctx)->now;
}

static void fake_random(void *ctx, void *buf, size_t len)
{
	struct fake *f = ctx;
	unsigned char *p = buf;
	for (size_t i = 0; i < len; i++)
		p[i] = (unsigned char)(f->counter * 31 + i);
	f->counter++;
}

struct fixture {
	struct fake fake;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_config cfg;
	struct seula_plugins pl;
	const struct seula_loaded_plugin *anon;
	sqlite3 *db;
	struct seula_arena arena;
};

static struct fixture *open_plugin(const char *level, const char *hash_ip)
{
	struct fixture *f = calloc(1, sizeof(*f));
	f->fake.now = 20000 * DAY + 3600000;
	f->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	f->env = (struct seula_host_env){&f->log, fake_now, fake_random,
	                                 &f->fake};
	char lv[64], hi[64], err[512];
	snprintf(lv, sizeof(lv), "plugin.anonymize.level=%s", level);
	snprintf(hi, sizeof(hi), "plugin.anonymize.hash_ip=%s", hash_ip);
	const char *ov[] = {"plugins.load=anonymize", lv, hi, NULL};
	assert_int_equal(seula_config_load(&f->cfg, NULL, ov, err, sizeof(err)),
	                 0);
	if (seula_plugins_load(&f->pl, &f->cfg, SEULA_BUILD_PLUGIN_DIR, &f->env,
	                       err, sizeof(err)) != SEULA_OK ||
	    seula_plugins_init(&f->pl, err, sizeof(err)) != SEULA_OK)
		fail_msg("%s", err);
	f->anon = seula_plugins_find(&f->pl, "anonymize");
	assert_int_equal(sqlite3_open(":memory:", &f->db), SQLITE_OK);
	assert_int_equal(seula_migrate(f->db, "anonymize",
	                               f->anon->desc.migrations,
	                               f->anon->desc.n_migrations, NULL, err,
	                               sizeof(err)),
	                 SEULA_OK);
	seula_arena_init(&f->arena, 0);
	return f;
}

static void close_plugin(struct fixture *f)
{
	seula_arena_free(&f->arena);
	sqlite3_close(f->db);
	seula_plugins_free(&f->pl);
	seula_config_free(&f->cfg);
	free(f);
}

static void rotate(struct fixture *f)
{
	char *msg = NULL;
	const struct seula_task *t = &f->anon->desc.tasks[0];
	assert_string_equal(t->name, "rotate_salts");
	assert_true(t->flags & SEULA_TASK_AT_START);
	int rc = t->run(f->anon->instance, f->db, f->fake.now, &msg);
	if (rc != SEULA_OK)
		fail_msg("rotate: %s", msg ? msg : "?");
	free(msg);
}

/* Run one event through the plugin; returns its kept address. */
static const char *run(struct fixture *f, const char *addr, const char *site,
                       const char *ua, int64_t ts, int64_t *hash)
{
	struct seula_event *ev = seula_event_new(&f->arena);
	struct seula_ip ip;
	assert_int_equal(seula_ip_parse(addr, &ip), SEULA_OK);
	seula_event_set_ip(ev, &ip);
	seula_event_set_str(ev, SEULA_FIELD_SITE, site, strlen(site));
	if (ua)
		seula_event_set_str(ev, SEULA_FIELD_USER_AGENT, ua, strlen(ua));
	seula_event_set_int(ev, SEULA_FIELD_TIME_MS, ts);
	assert_int_equal(f->anon->desc.on_event(f->anon->instance, ev),
	                 SEULA_KEEP);
	/* The full address is gone, zeroed, after the protect stage. */
	assert_null(seula_event_ip(ev));
	const unsigned char *raw = (const unsigned char *)&ev->ip;
	for (size_t i = 0; i < sizeof(ev->ip); i++)
		assert_int_equal(raw[i], 0);
	if (hash && seula_event_int(ev, SEULA_FIELD_VISITOR_HASH, hash) != 0)
		*hash = -1;
	return seula_event_str(ev, SEULA_FIELD_IP_ANON);
}

static void matomo_levels(void **state)
{
	(void)state;
	static const struct {
		const char *level, *in, *out;
	} cases[] = {
	        {"1", "192.168.123.45", "192.168.123.0"},
	        {"2", "192.168.123.45", "192.168.0.0"},
	        {"3", "192.168.123.45", "192.0.0.0"},
	        {"4", "192.168.123.45", "0.0.0.0"},
	        {"1", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
	         "2001:db8:aaaa:bbbb::"},
	        {"2", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff",
	         "2001:db8:aaaa::"},
	        {"3", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "2001:d00::"},
	        {"4", "2001:db8:aaaa:bbbb:cccc:dddd:eeee:ffff", "::"},
	        {"2", "::ffff:192.168.123.45", "::ffff:192.168.0.0"},
	        {"1", "::ffff:10.1.2.3", "::ffff:10.1.2.0"},
	        {"2", "::1", "::"},
	        /* 6to4: 2002:c633:6453:: carries 198.51.100.83 whole. */
	        {"1", "2002:c633:6453::1", "2002:c633:6400::"},
	        {"2", "2002:c633:6453:aaaa::1", "2002:c633::"},
	        {"3", "2002:c633:6453::1", "2002:c600::"},
	        {"4", "2002:c633:6453::1", "::"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		struct fixture *f = open_plugin(cases[i].level, "anonymised");
		const char *got =
		        run(f, cases[i].in, "s", "ua", f->fake.now, NULL);
		if (!got || strcmp(got, cases[i].out) != 0)
			fail_msg("level %s %s -> %s, want %s", cases[i].level,
			         cases[i].in, got ? got : "(null)",
			         cases[i].out);
		close_plugin(f);
	}
}

static int count_salts(sqlite3 *db, int64_t *min_day)
{
	sqlite3_stmt *st;
	sqlite3_prepare_v2(db, "SELECT count(*), min(day) FROM anonymize_salts",
	                   -1, &st, NULL);
	sqlite3_step(st);
	int n = sqlite3_column_int(st, 0);
	*min_day = sqlite3_column_int64(st, 1);
	sqlite3_finalize(st);
	return n;
}

static void visitor_hash_rotates_daily(void **state)
{
	(void)state;
	struct fixture *f = open_plugin("2", "anonymised");
	int64_t h0 = 0, h;
	int64_t day0 = f->fake.now / DAY, min;

	/* Before any salt exists: no hash, never a guess. */
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now, &h);
	assert_int_equal(h, -1);

	rotate(f);
	assert_int_equal(count_salts(f->db, &min), 2);
	assert_int_equal(min, day0);
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now, &h0);
	assert_true(h0 > 0);
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now + 1000, &h);
	assert_int_equal(h, h0); /* same visitor, same day */
	run(f, "203.0.200.9", "demo", "UA-1", f->fake.now, &h);
	assert_int_equal(h, h0); /* same /16 when hashing the masked address */
	run(f, "203.0.113.7", "demo", "UA-2", f->fake.now, &h);
	assert_int_not_equal(h, h0);
	run(f, "203.0.113.7", "other", "UA-1", f->fake.now, &h);
	assert_int_not_equal(h, h0);
	run(f, "198.51.100.7", "demo", "UA-1", f->fake.now, &h);
	assert_int_not_equal(h, h0);

	/* Next day: tomorrow's salt was made ahead; the hash differs, so
	 * visits cannot be joined across days. */
	f->fake.now += DAY;
	rotate(f);
	assert_int_equal(count_salts(f->db, &min), 2);
	assert_int_equal(min, day0 + 1);
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now, &h);
	assert_true(h > 0);
	assert_int_not_equal(h, h0);
	/* Yesterday's salt is gone from memory too: yesterday's events can
	 * no longer be hashed. */
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now - DAY, &h);
	assert_int_equal(h, -1);

	f->fake.now += 5 * DAY;
	rotate(f);
	assert_int_equal(count_salts(f->db, &min), 2);
	assert_int_equal(min, day0 + 6);
	close_plugin(f);
}

static void full_ip_hashing_tells_neighbours_apart(void **state)
{
	(void)state;
	struct fixture *f = open_plugin("2", "full");
	rotate(f);
	int64_t a, b;
	run(f, "203.0.113.7", "demo", "UA-1", f->fake.now, &a);
	run(f, "203.0.200.9", "demo", "UA-1", f->fake.now, &b);
	assert_true(a > 0 && b > 0);
	assert_int_not_equal(a, b);
	close_plugin(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(matomo_levels),
	        cmocka_unit_test(visitor_hash_rotates_daily),
	        cmocka_unit_test(full_ip_hashing_tells_neighbours_apart),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
