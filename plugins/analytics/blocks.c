/*
 * blocks.c - past days' ended visits, column by column (see blocks.h).
 *
 * The encodings are by hand: SQLite stores the bytes, and no packaged
 * library does "a column of small integers and a dictionary of texts"
 * without bringing a whole format (Arrow, Parquet) along.
 */
#include "blocks.h"
#include "date.h"

#include <stdlib.h>
#include <string.h>

#define DAY_MS 86400000LL

static const char *const col_names[ANALYTICS_BC_COUNT] = {
        "second",       "visitor",
        "pageviews",    "events",
        "duration_ms",  "engagement_ms",
        "npages",       "nevents",
        "page_views",   "page_engagement_ms",
        "event_n",      "entry_page",
        "exit_page",    "source",
        "referrer",     "channel",
        "utm_source",   "utm_medium",
        "utm_campaign", "utm_term",
        "utm_content",  "country",
        "region",       "city",
        "browser",      "os",
        "device",       "screen",
        "language",     "page_path",
        "event_name",   "event_prop",
        "event_value",
};

/* What a column holds one value of. */
enum level { L_VISIT, L_PAGE, L_EVENT, L_COUNT_ };

static enum level level_of(int c)
{
	switch (c) {
	case ANALYTICS_BC_PAGE_VIEWS:
	case ANALYTICS_BC_PAGE_ENGAGEMENT:
	case ANALYTICS_BC_PAGE_PATH: return L_PAGE;
	case ANALYTICS_BC_EVENT_N:
	case ANALYTICS_BC_EVENT_NAME:
	case ANALYTICS_BC_EVENT_PROP:
	case ANALYTICS_BC_EVENT_VALUE: return L_EVENT;
	default: return L_VISIT;
	}
}

int analytics_block_col(const char *name)
{
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++)
		if (strcmp(name, col_names[i]) == 0)
			return i;
	return -1;
}

const char *analytics_block_name(int col)
{
	return col >= 0 && col < ANALYTICS_BC_COUNT ? col_names[col] : NULL;
}

static void put_le(uint8_t *p, uint64_t v, unsigned w)
{
	for (unsigned i = 0; i < w; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint64_t get_le(const uint8_t *p, unsigned w)
{
	uint64_t v = 0;
	for (unsigned i = 0; i < w; i++)
		v |= (uint64_t)p[i] << (8 * i);
	return v;
}

/* ---- reading ------------------------------------------------------------ */

int analytics_blocks_covered(sqlite3 *db, const char *site, int64_t day0,
                             int64_t day1, int64_t *run0, int64_t *run1)
{
	*run0 = *run1 = day0;
	sqlite3_stmt *st = NULL;
	int rc =
	        sqlite3_prepare_v2(db,
	                           "SELECT built_to FROM analytics_block_state "
	                           "WHERE site = ?1 AND format = ?2",
	                           -1, &st, NULL);
	/* A database the plugin has not migrated yet (`seula report` after
	 * an upgrade, before the server's start) has no blocks. */
	if (rc == SQLITE_ERROR)
		return SQLITE_OK;
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 2, ANALYTICS_BLOCKS_FORMAT);
	int64_t built_to = INT64_MIN;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		built_to = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	int64_t end = day1 < built_to ? day1 : built_to;
	if (end <= day0)
		return SQLITE_OK;
	rc = sqlite3_prepare_v2(db,
	                        "SELECT day FROM analytics_block_dirty WHERE "
	                        "site = ?1 AND day >= ?2 AND day < ?3 ORDER "
	                        "BY day",
	                        -1, &st, NULL);
	if (rc != SQLITE_OK)
		return rc;
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, day0);
	sqlite3_bind_int64(st, 3, end);
	/* Runs between dirty days: the longest wins. */
	int64_t from = day0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t d = sqlite3_column_int64(st, 0);
		if (d - from > *run1 - *run0)
			*run0 = from, *run1 = d;
		from = d + 1;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return rc;
	if (end - from > *run1 - *run0)
		*run0 = from, *run1 = end;
	return SQLITE_OK;
}

struct column {
	uint8_t *data; /* a text column's values, copied */
	size_t n_values;
	size_t cap;
	int64_t *ints;
	size_t ints_cap;
	uint32_t *idx;
	size_t idx_cap;
	const char **str;
	size_t str_cap;
	size_t *len;
	size_t len_cap;
	int64_t id; /* its row's, read through the cache; else 0 */
	bool loaded;
};

struct analytics_blocks_scan {
	sqlite3_stmt *st;
	/* With a cache: st reads ids, get a row's data on a miss. */
	struct analytics_block_cache *cache;
	sqlite3_stmt *get;
	char *site;
	bool have_row; /* st is on a row not yet taken */
	bool done;
	uint64_t cols;
	struct column c[ANALYTICS_BC_COUNT];
	uint32_t *off[L_COUNT_]; /* page_off and event_off */
	size_t off_cap[L_COUNT_];
	struct analytics_block day;
};

int analytics_blocks_scan_open(sqlite3 *db, const char *site, int64_t day0,
                               int64_t day1, uint64_t cols,
                               struct analytics_block_cache *cache,
                               struct analytics_blocks_scan **out)
{
	*out = NULL;
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++) {
		if (!(cols & ANALYTICS_BC_BIT(i)))
			continue;
		if (level_of(i) == L_PAGE)
			cols |= ANALYTICS_BC_BIT(ANALYTICS_BC_NPAGES);
		if (level_of(i) == L_EVENT)
			cols |= ANALYTICS_BC_BIT(ANALYTICS_BC_NEVENTS);
	}
	struct analytics_blocks_scan *s = calloc(1, sizeof(*s));
	sqlite3_str *q = sqlite3_str_new(db);
	sqlite3_str_appendf(q,
	                    "SELECT day, col, %s FROM analytics_blocks "
	                    "WHERE site = ?1 AND day >= ?2 AND day < ?3 "
	                    "AND col IN (",
	                    cache ? "id" : "data");
	bool first = true;
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++)
		if (cols & ANALYTICS_BC_BIT(i)) {
			sqlite3_str_appendf(q, "%s'%s'", first ? "" : ",",
			                    col_names[i]);
			first = false;
		}
	sqlite3_str_appendall(q, ") ORDER BY site, day");
	char *sql = sqlite3_str_finish(q);
	if (!s || !sql || first) {
		sqlite3_free(sql);
		free(s);
		return first ? SQLITE_MISUSE : SQLITE_NOMEM;
	}
	int rc = sqlite3_prepare_v2(db, sql, -1, &s->st, NULL);
	sqlite3_free(sql);
	if (rc == SQLITE_OK && cache) {
		s->cache = cache;
		rc = sqlite3_prepare_v2(db,
		                        "SELECT data FROM analytics_blocks "
		                        "WHERE id = ?1",
		                        -1, &s->get, NULL);
		if (rc == SQLITE_OK && !(s->site = strdup(site)))
			rc = SQLITE_NOMEM;
	}
	if (rc != SQLITE_OK) {
		sqlite3_finalize(s->st);
		sqlite3_finalize(s->get);
		free(s);
		return rc;
	}
	sqlite3_bind_text(s->st, 1, site, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(s->st, 2, day0);
	sqlite3_bind_int64(s->st, 3, day1);
	s->cols = cols;
	*out = s;
	return SQLITE_OK;
}

int analytics_blocks_scan_range(struct analytics_blocks_scan *s, int64_t day0,
                                int64_t day1)
{
	sqlite3_reset(s->st);
	s->have_row = false;
	s->done = false;
	int rc = sqlite3_bind_int64(s->st, 2, day0);
	return rc == SQLITE_OK ? sqlite3_bind_int64(s->st, 3, day1) : rc;
}

void analytics_blocks_scan_close(struct analytics_blocks_scan *s)
{
	if (!s)
		return;
	sqlite3_finalize(s->st);
	sqlite3_finalize(s->get);
	free(s->site);
	for (int l = 0; l < L_COUNT_; l++)
		free(s->off[l]);
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++) {
		free(s->c[i].data);
		free(s->c[i].ints);
		free(s->c[i].idx);
		free(s->c[i].str);
		free(s->c[i].len);
	}
	free(s);
}

/* Room for n elements of `size` in *p (*cap of them now). */
static bool room(void *p, size_t *cap, size_t n, size_t size)
{
	if (n <= *cap)
		return true;
	size_t c = *cap ? *cap : 64;
	while (c < n)
		c *= 2;
	void *r = realloc(*(void **)p, c * size);
	if (!r)
		return false;
	*(void **)p = r;
	*cap = c;
	return true;
}

/* n w-byte little-endian values at p into i64 or u32 (the other NULL):
 * a loop per width, which the compiler unrolls, as a report decodes
 * millions. */
static void unpack(const uint8_t *restrict p, unsigned w, size_t n,
                   int64_t *restrict i64, uint32_t *restrict u32)
{
#define UNPACK(expr)                                                           \
	do {                                                                   \
		if (i64)                                                       \
			for (size_t k = 0; k < n; k++, p += w)                 \
				i64[k] = (int64_t)(expr);                      \
		else                                                           \
			for (size_t k = 0; k < n; k++, p += w)                 \
				u32[k] = (uint32_t)(expr);                     \
	} while (0)
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
	/* A tenth of a year's report went to assembling the visitors' 8
	 * bytes one by one. */
	if (w == 8 && i64) {
		memcpy(i64, p, n * 8);
		return;
	}
#endif
	switch (w) {
	case 1: UNPACK(p[0]); break;
	case 2: UNPACK(p[0] | (uint32_t)p[1] << 8); break;
	case 4:
		UNPACK(p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 |
		       (uint32_t)p[3] << 24);
		break;
	default: UNPACK(get_le(p, 8)); break;
	}
#undef UNPACK
}

/* The largest of n w-byte little-endian values at p (w 1, 2 or 4), read
 * as they are packed: a byte's or a half-word's maximum is a vector
 * instruction or two, an unpacked u32's was a tenth of decoding. */
static uint32_t packed_max(const uint8_t *restrict p, unsigned w, size_t n)
{
	uint32_t max = 0;
	if (w == 1) {
		uint8_t m = 0;
		for (size_t j = 0; j < n; j++)
			m = p[j] > m ? p[j] : m;
		return m;
	}
	if (w == 2) {
		uint16_t m = 0;
		for (size_t j = 0; j < n; j++) {
			uint16_t v = (uint16_t)(p[2 * j] | p[2 * j + 1] << 8);
			m = v > m ? v : m;
		}
		return m;
	}
	for (size_t j = 0; j < n; j++) {
		uint32_t v = (uint32_t)get_le(p + 4 * j, 4);
		max = v > max ? v : max;
	}
	return max;
}

/* Decode column `i` of s->c from its row's `size` bytes at p (SQLite's,
 * valid until the next step: only a text's values are kept, copied); *n
 * its visits. */
static int decode(struct analytics_blocks_scan *s, int i, const uint8_t *p,
                  size_t size, size_t *n)
{
	struct column *c = &s->c[i];
	if (i < ANALYTICS_BC_TEXT) {
		if (size < 1)
			return SQLITE_CORRUPT;
		unsigned w = p[0];
		if ((w != 1 && w != 2 && w != 4 && w != 8) ||
		    (size - 1) % w != 0)
			return SQLITE_CORRUPT;
		*n = (size - 1) / w;
		if (!room(&c->ints, &c->ints_cap, *n, sizeof(*c->ints)))
			return SQLITE_NOMEM;
		unpack(p + 1, w, *n, c->ints, NULL);
		return SQLITE_OK;
	}
	if (size < 5)
		return SQLITE_CORRUPT;
	uint64_t k = get_le(p, 4);
	unsigned w = p[4];
	if ((w != 1 && w != 2 && w != 4) || k > (size - 5) / 4)
		return SQLITE_CORRUPT;
	size_t at = 5 + 4 * (size_t)k;
	if (!room(&c->str, &c->str_cap, k ? k : 1, sizeof(*c->str)) ||
	    !room(&c->len, &c->len_cap, k ? k : 1, sizeof(*c->len)))
		return SQLITE_NOMEM;
	/* The values are at the end: their lengths say where they start. */
	size_t text = 0;
	for (size_t j = 0; j < k; j++) {
		c->len[j] = (size_t)get_le(p + 5 + 4 * j, 4);
		if (c->len[j] >= size - text) /* text stays <= size */
			return SQLITE_CORRUPT;
		text += c->len[j] + 1;
	}
	if (text > size - at || (size - at - text) % w != 0)
		return SQLITE_CORRUPT;
	*n = (size - at - text) / w;
	c->n_values = (size_t)k;
	size_t vals = at + *n * w;
	if (!room(&c->data, &c->cap, text ? text : 1, 1))
		return SQLITE_NOMEM;
	if (text)
		memcpy(c->data, p + vals, text);
	for (size_t j = 0, v = 0; j < k; j++) {
		c->str[j] = (const char *)c->data + v;
		v += c->len[j];
		if (c->data[v] != '\0')
			return SQLITE_CORRUPT;
		v++;
	}
	if (!room(&c->idx, &c->idx_cap, *n ? *n : 1, sizeof(*c->idx)))
		return SQLITE_NOMEM;
	unpack(p + at, w, *n, NULL, c->idx);
	return *n && packed_max(p + at, w, *n) >= k ? SQLITE_CORRUPT
	                                            : SQLITE_OK;
}

/* The bytes of the row s->st is on: from the cache, or read and put in
 * it, held in *out (the caller releases them); or, when the cache will
 * not take them (too large, out of its memory), *out NULL and *own
 * SQLite's, valid until the caller resets s->get. */
static int cached(struct analytics_blocks_scan *s, int64_t day,
                  const struct analytics_cached_block **out,
                  struct analytics_cached_block *own)
{
	int64_t id = sqlite3_column_int64(s->st, 2);
	if ((*out = analytics_block_cache_get(s->cache, id)))
		return SQLITE_OK;
	sqlite3_bind_int64(s->get, 1, id);
	int rc = sqlite3_step(s->get);
	if (rc == SQLITE_DONE)
		return SQLITE_CORRUPT; /* the row the scan is on */
	if (rc != SQLITE_ROW)
		return rc;
	own->data = sqlite3_column_blob(s->get, 0);
	own->size = (size_t)sqlite3_column_bytes(s->get, 0);
	if (!own->data && own->size)
		return SQLITE_NOMEM;
	*out = analytics_block_cache_put(
	        s->cache, id, s->site, day,
	        own->data ? (const void *)own->data : "", own->size);
	return SQLITE_OK;
}

int analytics_blocks_scan_next(struct analytics_blocks_scan *s,
                               const struct analytics_block **out)
{
	*out = NULL;
	if (s->done)
		return SQLITE_DONE;
	int rc;
	if (!s->have_row) {
		rc = sqlite3_step(s->st);
		if (rc == SQLITE_DONE)
			s->done = true;
		if (rc != SQLITE_ROW)
			return rc;
		s->have_row = true;
	}
	int64_t day = sqlite3_column_int64(s->st, 0);
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++)
		s->c[i].loaded = false;
	size_t n[L_COUNT_] = {0};
	bool have_n[L_COUNT_] = {false};
	rc = SQLITE_ROW;
	while (rc == SQLITE_ROW && sqlite3_column_int64(s->st, 0) == day) {
		int i = analytics_block_col(
		        (const char *)sqlite3_column_text(s->st, 1));
		if (i < 0 || s->c[i].loaded)
			return SQLITE_CORRUPT;
		struct column *c = &s->c[i];
		size_t m;
		c->id = s->cache ? sqlite3_column_int64(s->st, 2) : 0;
		if (s->cache) {
			const struct analytics_cached_block *cb = NULL;
			struct analytics_cached_block own = {NULL, 0};
			rc = cached(s, day, &cb, &own);
			if (rc == SQLITE_OK)
				rc = decode(s, i, (cb ? cb : &own)->data,
				            (cb ? cb : &own)->size, &m);
			analytics_block_cache_release(s->cache, cb);
			sqlite3_reset(s->get);
			if (rc != SQLITE_OK)
				return rc;
		} else {
			const uint8_t *data = sqlite3_column_blob(s->st, 2);
			size_t size = (size_t)sqlite3_column_bytes(s->st, 2);
			if (!data && sqlite3_errcode(sqlite3_db_handle(
			                     s->st)) == SQLITE_NOMEM)
				return SQLITE_NOMEM;
			if ((rc = decode(s, i, data, size, &m)) != SQLITE_OK)
				return rc;
		}
		enum level l = level_of(i);
		if (have_n[l] && m != n[l])
			return SQLITE_CORRUPT;
		n[l] = m, have_n[l] = true;
		c->loaded = true;
		rc = sqlite3_step(s->st);
	}
	s->have_row = rc == SQLITE_ROW;
	if (rc == SQLITE_DONE)
		s->done = true;
	else if (rc != SQLITE_ROW)
		return rc;
	struct analytics_block *b = &s->day;
	memset(b, 0, sizeof(*b));
	b->day = day;
	b->n = n[L_VISIT];
	b->n_pages = n[L_PAGE];
	b->n_events = n[L_EVENT];
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++) {
		if (!(s->cols & ANALYTICS_BC_BIT(i)))
			continue;
		if (!s->c[i].loaded)
			return SQLITE_CORRUPT; /* a day has all or none */
		b->id[i] = s->c[i].id;
		if (i < ANALYTICS_BC_TEXT)
			b->ints[i] = s->c[i].ints;
		else
			b->text[i] = (struct analytics_block_text){
			        .n = s->c[i].n_values,
			        .str = s->c[i].str,
			        .len = s->c[i].len,
			        .idx = s->c[i].idx,
			};
	}
	/* Where each visit's rows start; they must add up. */
	static const int count_col[L_COUNT_] = {0, ANALYTICS_BC_NPAGES,
	                                        ANALYTICS_BC_NEVENTS};
	for (int l = L_PAGE; l < L_COUNT_; l++) {
		if (!(s->cols & ANALYTICS_BC_BIT(count_col[l])))
			continue;
		if (!room(&s->off[l], &s->off_cap[l], b->n + 1,
		          sizeof(*s->off[l])))
			return SQLITE_NOMEM;
		const int64_t *cnt = s->c[count_col[l]].ints;
		uint64_t at = 0;
		for (size_t i = 0; i < b->n; i++) {
			s->off[l][i] = (uint32_t)at;
			if (cnt[i] < 0 ||
			    ((at += (uint64_t)cnt[i]) > n[l] && have_n[l]))
				return SQLITE_CORRUPT;
		}
		s->off[l][b->n] = (uint32_t)at;
		if (have_n[l] && at != n[l])
			return SQLITE_CORRUPT;
	}
	/* A start's second indexes arrays of the day's hours. */
	if (s->cols & ANALYTICS_BC_BIT(ANALYTICS_BC_SECOND))
		for (size_t i = 0; i < b->n; i++)
			if ((uint64_t)b->ints[ANALYTICS_BC_SECOND][i] >= 86400)
				return SQLITE_CORRUPT;
	b->page_off = s->off[L_PAGE];
	b->event_off = s->off[L_EVENT];
	*out = b;
	return SQLITE_ROW;
}

/* A row of analytics_blocks: its day and id. */
struct block_row {
	int64_t day, id;
};

/* Every row's day and id, from the (site, day, col) index, which holds
 * them (a probe by id reads its row's page, kilobytes of its data): in
 * *rows (malloc'd, the caller frees), *n of them; stopped early, with
 * what was read, once *stop (NULL: never) is true.  12,000 rows for a
 * year of the benchmark's site. */
static int block_rows(sqlite3 *db, const atomic_bool *stop,
                      struct block_row **rows, size_t *n)
{
	*rows = NULL;
	*n = 0;
	sqlite3_stmt *st = NULL;
	size_t cap = 0;
	int rc = sqlite3_prepare_v2(db,
	                            "SELECT day, id FROM analytics_blocks "
	                            "ORDER BY site, day, col",
	                            -1, &st, NULL);
	int step = SQLITE_DONE;
	while (rc == SQLITE_OK && !(stop && atomic_load(stop)) &&
	       (step = sqlite3_step(st)) == SQLITE_ROW) {
		if (*n == cap) {
			cap = cap ? 2 * cap : 1024;
			struct block_row *more =
			        realloc(*rows, cap * sizeof(**rows));
			if (!more) {
				rc = SQLITE_NOMEM;
				break;
			}
			*rows = more;
		}
		(*rows)[(*n)++] =
		        (struct block_row){sqlite3_column_int64(st, 0),
		                           sqlite3_column_int64(st, 1)};
	}
	if (rc == SQLITE_OK && step != SQLITE_DONE && step != SQLITE_ROW)
		rc = step;
	sqlite3_finalize(st);
	return rc;
}

static int id_cmp(const void *x, const void *y)
{
	int64_t a = ((const struct block_row *)x)->id,
	        b = ((const struct block_row *)y)->id;
	return (a > b) - (a < b);
}

int analytics_blocks_cache_sweep(sqlite3 *db,
                                 struct analytics_block_cache *cache,
                                 size_t *forgotten)
{
	*forgotten = 0;
	size_t n;
	int64_t *ids = analytics_block_cache_ids(cache, &n);
	if (!ids) /* none, or out of memory */
		return analytics_block_cache_entries(cache) ? SQLITE_NOMEM
		                                            : SQLITE_OK;
	struct block_row *have;
	size_t n_have;
	int rc = block_rows(db, NULL, &have, &n_have);
	if (rc == SQLITE_OK && n_have)
		qsort(have, n_have, sizeof(*have), id_cmp);
	for (size_t i = 0; rc == SQLITE_OK && i < n; i++) {
		struct block_row key = {.id = ids[i]};
		if (!n_have ||
		    !bsearch(&key, have, n_have, sizeof(*have), id_cmp)) {
			analytics_block_cache_forget(cache, ids[i]);
			++*forgotten;
		}
	}
	free(have);
	free(ids);
	return rc;
}

/* Newest day first; in a day, by id (the order they were built in). */
static int warm_cmp(const void *a, const void *b)
{
	const struct block_row *x = a, *y = b;
	if (x->day != y->day)
		return (x->day < y->day) - (x->day > y->day);
	return (x->id > y->id) - (x->id < y->id);
}

int analytics_blocks_cache_warm(sqlite3 *db,
                                struct analytics_block_cache *cache,
                                size_t budget, const atomic_bool *stop,
                                size_t *warmed)
{
	*warmed = 0;
	struct block_row *rows;
	size_t n;
	int rc = block_rows(db, stop, &rows, &n);
	sqlite3_stmt *st = NULL;
	int step;
	if (rc == SQLITE_OK && n)
		qsort(rows, n, sizeof(*rows), warm_cmp);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(
		        db,
		        "SELECT site, data FROM analytics_blocks "
		        "WHERE id = ?1",
		        -1, &st, NULL);
	size_t n_put = 0; /* rows[0..n_put) now the ids in the cache */
	for (size_t i = 0; rc == SQLITE_OK && i < n && !atomic_load(stop);
	     i++) {
		const struct analytics_cached_block *b =
		        analytics_block_cache_get(cache, rows[i].id);
		if (b) { /* a report was first */
			analytics_block_cache_release(cache, b);
			rows[n_put++].id = rows[i].id;
			continue;
		}
		sqlite3_bind_int64(st, 1, rows[i].id);
		step = sqlite3_step(st);
		if (step == SQLITE_ROW) {
			const void *data = sqlite3_column_blob(st, 1);
			size_t size = (size_t)sqlite3_column_bytes(st, 1);
			const char *site =
			        (const char *)sqlite3_column_text(st, 0);
			if ((!data && size) || !site) {
				rc = SQLITE_NOMEM;
			} else if (analytics_block_cache_bytes(cache) + size >
			           budget) {
				/* Older days would push out newer ones. */
				sqlite3_reset(st);
				break;
			} else {
				b = analytics_block_cache_put(
				        cache, rows[i].id, site, rows[i].day,
				        data ? data : "", size);
				if (b) {
					rows[n_put++].id = rows[i].id;
					++*warmed;
				}
				analytics_block_cache_release(cache, b);
			}
		} else if (step != SQLITE_DONE) { /* DONE: deleted since */
			rc = step;
		}
		/* Reset, so no read transaction outlives the row. */
		sqlite3_reset(st);
	}
	sqlite3_finalize(st);
	/* Put newest first, they would be the first to go: used again from
	 * the oldest, the newest are the last to. */
	for (size_t i = n_put; i-- > 0;)
		analytics_block_cache_release(
		        cache, analytics_block_cache_get(cache, rows[i].id));
	free(rows);
	return rc;
}

/* ---- keeping them ------------------------------------------------------- */

enum wstmt {
	W_STATE,
	W_FIRST,
	W_NEW_STATE,
	W_RESET_STATE,
	W_DROP_SITE,
	W_UNDIRTY_SITE,
	W_OPEN_MIN,
	W_DIRTY_MIN,
	W_NEXT_VISIT,
	W_SET_BUILT,
	W_UNDIRTY,
	W_DROP_DAY,
	W_VISITS,
	W_PAGES,
	W_EVENTS,
	W_INSERT,
	W_MARK,
	W_MARK_DAYS,
	W_DROP_DAYS,
	W_NEXT_SITE,
	W_COUNT_
};

static const char *const wsql[W_COUNT_] = {
        [W_STATE] = "SELECT built_to, format FROM analytics_block_state "
                    "WHERE site = ?1",
        [W_FIRST] = "SELECT min(start_ts) FROM analytics_visits WHERE site "
                    "= ?1",
        [W_NEW_STATE] = "INSERT INTO analytics_block_state (site, "
                        "built_to, format) VALUES (?1, ?2, ?3)",
        [W_RESET_STATE] = "UPDATE analytics_block_state SET built_to = ?2, "
                          "format = ?3 WHERE site = ?1",
        [W_DROP_SITE] = "DELETE FROM analytics_blocks WHERE site = ?1",
        [W_UNDIRTY_SITE] = "DELETE FROM analytics_block_dirty WHERE site = "
                           "?1",
        /* One probe of analytics_visits_open_time. */
        [W_OPEN_MIN] = "SELECT min(start_ts) FROM analytics_visits WHERE "
                       "site = ?1 AND closed = 0",
        [W_DIRTY_MIN] = "SELECT min(day) FROM analytics_block_dirty WHERE "
                        "site = ?1 AND day < ?2",
        [W_NEXT_VISIT] = "SELECT min(start_ts) FROM analytics_visits WHERE "
                         "site = ?1 AND start_ts >= ?2",
        [W_SET_BUILT] = "UPDATE analytics_block_state SET built_to = ?2 "
                        "WHERE site = ?1",
        [W_UNDIRTY] = "DELETE FROM analytics_block_dirty WHERE site = ?1 "
                      "AND day = ?2",
        [W_DROP_DAY] = "DELETE FROM analytics_blocks WHERE site = ?1 AND "
                       "day = ?2",
        /* Columns in enum analytics_block_col's order, then closed, id. */
        [W_VISITS] = "SELECT start_ts, visitor, pageviews, events, last_ts "
                     "- start_ts, engagement_ms, entry_page, exit_page, "
                     "source, referrer, channel, utm_source, utm_medium, "
                     "utm_campaign, utm_term, utm_content, country, "
                     "region, city, browser, os, device, screen, "
                     "language, closed, id FROM analytics_visits WHERE "
                     "site = ?1 AND start_ts >= ?2 AND start_ts < ?3 "
                     "ORDER BY start_ts, id",
        [W_PAGES] = "SELECT p.visit, p.path, p.pageviews, p.engagement_ms "
                    "FROM analytics_visits v JOIN analytics_visit_pages p "
                    "ON p.visit = v.id AND p.pageviews > 0 WHERE v.site = "
                    "?1 AND v.start_ts >= ?2 AND v.start_ts < ?3 ORDER BY "
                    "v.start_ts, v.id, p.path",
        [W_EVENTS] = "SELECT e.visit, e.name, e.prop, e.value, e.n FROM "
                     "analytics_visits v JOIN analytics_visit_events e ON "
                     "e.visit = v.id WHERE v.site = ?1 AND v.start_ts >= "
                     "?2 AND v.start_ts < ?3 ORDER BY v.start_ts, v.id, "
                     "e.name, e.prop, e.value",
        [W_INSERT] = "INSERT INTO analytics_blocks (site, day, col, data) "
                     "VALUES (?1, ?2, ?3, ?4)",
        [W_MARK] = "INSERT INTO analytics_block_dirty (site, day) SELECT "
                   "?1, ?2 WHERE ?2 < (SELECT built_to FROM "
                   "analytics_block_state WHERE site = ?1) ON CONFLICT DO "
                   "NOTHING",
        [W_MARK_DAYS] = "INSERT INTO analytics_block_dirty (site, day) "
                        "SELECT DISTINCT site, day FROM analytics_blocks "
                        "WHERE site = ?1 AND day >= ?2 AND day < ?3 ON "
                        "CONFLICT DO NOTHING",
        [W_DROP_DAYS] = "DELETE FROM analytics_blocks WHERE site = ?1 AND "
                        "day >= ?2 AND day < ?3",
        [W_NEXT_SITE] = "SELECT min(site) FROM analytics_visits WHERE site "
                        "> ?1",
};

struct analytics_blocks_writer {
	sqlite3 *db;
	struct analytics_block_cache *cache; /* or NULL */
	sqlite3_stmt *st[W_COUNT_];
	char *site; /* the last site built: the next call starts after it */
	/* A day while it is encoded: per column its values (integers) or
	 * their places in `text`, as many as its level has (count), room for
	 * cap of them; the visits' ids. */
	int64_t *ints[ANALYTICS_BC_TEXT];
	size_t *off[ANALYTICS_BC_COUNT], *len[ANALYTICS_BC_COUNT];
	int64_t *ids;
	size_t count[L_COUNT_], cap[L_COUNT_];
	char *text;
	size_t text_used, text_cap;
};

struct analytics_blocks_writer *
analytics_blocks_writer_new(sqlite3 *db, struct analytics_block_cache *cache)
{
	struct analytics_blocks_writer *w = calloc(1, sizeof(*w));
	if (!w)
		return NULL;
	w->db = db;
	w->cache = cache;
	for (int i = 0; i < W_COUNT_; i++)
		if (sqlite3_prepare_v3(db, wsql[i], -1,
		                       SQLITE_PREPARE_PERSISTENT, &w->st[i],
		                       NULL) != SQLITE_OK) {
			analytics_blocks_writer_free(w);
			return NULL;
		}
	return w;
}

void analytics_blocks_writer_free(struct analytics_blocks_writer *w)
{
	if (!w)
		return;
	for (int i = 0; i < W_COUNT_; i++)
		sqlite3_finalize(w->st[i]);
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++) {
		if (i < ANALYTICS_BC_TEXT)
			free(w->ints[i]);
		free(w->off[i]);
		free(w->len[i]);
	}
	free(w->ids);
	free(w->text);
	free(w->site);
	free(w);
}

/* Step `st` (bound by the caller) to its end, then reset it. */
static int run(sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE || rc == SQLITE_ROW ? SQLITE_OK : rc;
}

/* The one integer a statement answers: *null when it is NULL. */
static int one_int(sqlite3_stmt *st, int64_t *v, bool *null)
{
	int rc = sqlite3_step(st);
	*null = rc != SQLITE_ROW || sqlite3_column_type(st, 0) == SQLITE_NULL;
	*v = *null ? 0 : sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Run `drop`, a statement deleting site's blocks of days [day0, day1),
 * and forget those in the cache: the rows deleted, whether or not the
 * transaction commits (a miss costs a read; an erased visit's values
 * kept in memory would be a leak). */
static int run_drop(struct analytics_blocks_writer *w, sqlite3_stmt *drop,
                    const char *site, int64_t day0, int64_t day1)
{
	int rc = run(drop);
	if (rc == SQLITE_OK && w->cache && sqlite3_changes(w->db) > 0)
		analytics_block_cache_drop(w->cache, site, day0, day1);
	return rc;
}

int analytics_blocks_invalidate(struct analytics_blocks_writer *w,
                                const char *site, int64_t day)
{
	sqlite3_stmt *mark = w->st[W_MARK], *drop = w->st[W_DROP_DAY];
	sqlite3_bind_text(mark, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(mark, 2, day);
	int rc = run(mark);
	sqlite3_bind_text(drop, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(drop, 2, day);
	return rc == SQLITE_OK ? run_drop(w, drop, site, day, day + 1) : rc;
}

int analytics_blocks_invalidate_days(struct analytics_blocks_writer *w,
                                     const char *site, int64_t day0,
                                     int64_t day1)
{
	int rc = SQLITE_OK;
	for (int k = W_MARK_DAYS; rc == SQLITE_OK && k <= W_DROP_DAYS; k++) {
		sqlite3_bind_text(w->st[k], 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(w->st[k], 2, day0);
		sqlite3_bind_int64(w->st[k], 3, day1);
		rc = k == W_DROP_DAYS ? run_drop(w, w->st[k], site, day0, day1)
		                      : run(w->st[k]);
	}
	return rc;
}

struct text_ref {
	const char *s;
	size_t len;
	uint32_t at;
};

static int text_cmp(const void *x, const void *y)
{
	const struct text_ref *a = x, *b = y;
	size_t n = a->len < b->len ? a->len : b->len;
	int c = memcmp(a->s, b->s, n);
	if (c)
		return c;
	if (a->len != b->len)
		return a->len < b->len ? -1 : 1;
	return a->at < b->at ? -1 : a->at > b->at;
}

static unsigned int_width(const int64_t *v, size_t n)
{
	uint64_t max = 0;
	for (size_t i = 0; i < n; i++) {
		if (v[i] < 0)
			return 8;
		if ((uint64_t)v[i] > max)
			max = (uint64_t)v[i];
	}
	return max <= UINT8_MAX    ? 1
	       : max <= UINT16_MAX ? 2
	       : max <= UINT32_MAX ? 4
	                           : 8;
}

static int insert(struct analytics_blocks_writer *w, const char *site,
                  int64_t day, int col, const uint8_t *data, size_t size)
{
	sqlite3_stmt *st = w->st[W_INSERT];
	sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, day);
	sqlite3_bind_text(st, 3, col_names[col], -1, SQLITE_STATIC);
	sqlite3_bind_blob64(st, 4, data, size, SQLITE_STATIC);
	int rc = run(st);
	sqlite3_clear_bindings(st);
	return rc;
}

static int write_ints(struct analytics_blocks_writer *w, const char *site,
                      int64_t day, int col, size_t n)
{
	unsigned width = int_width(w->ints[col], n);
	uint8_t *buf = malloc(1 + n * width);
	if (!buf)
		return SQLITE_NOMEM;
	buf[0] = (uint8_t)width;
	for (size_t i = 0; i < n; i++)
		put_le(buf + 1 + i * width, (uint64_t)w->ints[col][i], width);
	int rc = insert(w, site, day, col, buf, 1 + n * width);
	free(buf);
	return rc;
}

static int write_text(struct analytics_blocks_writer *w, const char *site,
                      int64_t day, int col, size_t n)
{
	struct text_ref *refs = malloc((n ? n : 1) * sizeof(*refs));
	uint32_t *idx = malloc((n ? n : 1) * sizeof(*idx));
	uint8_t *buf = NULL;
	int rc = SQLITE_NOMEM;
	if (!refs || !idx)
		goto out;
	for (size_t i = 0; i < n; i++)
		refs[i] = (struct text_ref){w->text + w->off[col][i],
		                            w->len[col][i], (uint32_t)i};
	qsort(refs, n, sizeof(*refs), text_cmp);
	size_t k = 0, text = 0;
	for (size_t i = 0; i < n; i++) {
		if (i == 0 || refs[i].len != refs[i - 1].len ||
		    memcmp(refs[i].s, refs[i - 1].s, refs[i].len) != 0) {
			k++;
			text += refs[i].len + 1;
		}
		idx[refs[i].at] = (uint32_t)(k - 1);
	}
	unsigned width = k <= 256 ? 1 : k <= 65536 ? 2 : 4;
	size_t at = 5 + 4 * k, size = at + n * width + text;
	if (!(buf = malloc(size)))
		goto out;
	put_le(buf, k, 4);
	buf[4] = (uint8_t)width;
	for (size_t i = 0; i < n; i++)
		put_le(buf + at + i * width, idx[i], width);
	size_t j = 0, vals = at + n * width;
	for (size_t i = 0; i < n; i++) {
		if (i && refs[i].len == refs[i - 1].len &&
		    memcmp(refs[i].s, refs[i - 1].s, refs[i].len) == 0)
			continue;
		put_le(buf + 5 + 4 * j++, refs[i].len, 4);
		memcpy(buf + vals, refs[i].s, refs[i].len);
		vals += refs[i].len;
		buf[vals++] = '\0';
	}
	rc = insert(w, site, day, col, buf, size);
out:
	free(refs);
	free(idx);
	free(buf);
	return rc;
}

/* Room for one more value in each column of `level` (and, for visits,
 * their ids): the place of the new one, or -1 when out of memory. */
static int64_t stage_room(struct analytics_blocks_writer *w, enum level l)
{
	size_t n = w->count[l];
	if (n < w->cap[l])
		return (int64_t)n;
	size_t c = w->cap[l] ? 2 * w->cap[l] : 1024;
	/* Each grown as far as it goes: a shorter cap is never recorded. */
	for (int i = 0; i < ANALYTICS_BC_COUNT; i++) {
		if (level_of(i) != l)
			continue;
		void *r;
		if (i < ANALYTICS_BC_TEXT) {
			if (!(r = realloc(w->ints[i], c * sizeof(int64_t))))
				return -1;
			w->ints[i] = r;
			continue;
		}
		if (!(r = realloc(w->off[i], c * sizeof(size_t))))
			return -1;
		w->off[i] = r;
		if (!(r = realloc(w->len[i], c * sizeof(size_t))))
			return -1;
		w->len[i] = r;
	}
	if (l == L_VISIT) {
		void *r = realloc(w->ids, c * sizeof(int64_t));
		if (!r)
			return -1;
		w->ids = r;
	}
	w->cap[l] = c;
	return (int64_t)n;
}

/* Column `i` of st's row as text value `at` of column `col`. */
static int stage_text(struct analytics_blocks_writer *w, sqlite3_stmt *st,
                      int i, int col, size_t at)
{
	const char *s = (const char *)sqlite3_column_text(st, i);
	size_t len = (size_t)sqlite3_column_bytes(st, i);
	if (!room(&w->text, &w->text_cap, w->text_used + len + 1, 1))
		return SQLITE_NOMEM;
	if (len)
		memcpy(w->text + w->text_used, s, len);
	w->off[col][at] = w->text_used;
	w->len[col][at] = len;
	w->text_used += len;
	return SQLITE_OK;
}

/* Read a day's visits (all ended) into the stage. */
static int stage_visits(struct analytics_blocks_writer *w, sqlite3_stmt *st,
                        int64_t day)
{
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		/* The caller saw none open before the day ended. */
		if (sqlite3_column_int64(st, 24) == 0)
			return SQLITE_INTERNAL;
		int64_t at = stage_room(w, L_VISIT);
		if (at < 0)
			return SQLITE_NOMEM;
		int64_t start = sqlite3_column_int64(st, 0);
		w->ints[ANALYTICS_BC_SECOND][at] =
		        (start - day * DAY_MS) / 1000;
		for (int i = 1; i <= ANALYTICS_BC_ENGAGEMENT; i++)
			w->ints[i][at] = sqlite3_column_int64(st, i);
		w->ints[ANALYTICS_BC_NPAGES][at] = 0;
		w->ints[ANALYTICS_BC_NEVENTS][at] = 0;
		for (int i = 0; i < 18; i++)
			if ((rc = stage_text(w, st, 6 + i,
			                     ANALYTICS_BC_TEXT + i,
			                     (size_t)at)) != SQLITE_OK)
				return rc;
		w->ids[at] = sqlite3_column_int64(st, 25);
		w->count[L_VISIT]++;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* Read the day's page (L_PAGE) or event rows into the stage, each
 * counted in its visit's NPAGES or NEVENTS: both statements walk the
 * visits in the order stage_visits() did. */
static int stage_rows(struct analytics_blocks_writer *w, sqlite3_stmt *st,
                      enum level l)
{
	size_t v = 0;
	int count = l == L_PAGE ? ANALYTICS_BC_NPAGES : ANALYTICS_BC_NEVENTS;
	int rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t visit = sqlite3_column_int64(st, 0);
		while (v < w->count[L_VISIT] && w->ids[v] != visit)
			v++;
		if (v == w->count[L_VISIT])
			return SQLITE_INTERNAL;
		int64_t at = stage_room(w, l);
		if (at < 0)
			return SQLITE_NOMEM;
		if (l == L_PAGE) {
			rc = stage_text(w, st, 1, ANALYTICS_BC_PAGE_PATH,
			                (size_t)at);
			w->ints[ANALYTICS_BC_PAGE_VIEWS][at] =
			        sqlite3_column_int64(st, 2);
			w->ints[ANALYTICS_BC_PAGE_ENGAGEMENT][at] =
			        sqlite3_column_int64(st, 3);
		} else {
			for (int i = 0; rc == SQLITE_ROW && i < 3; i++)
				if (stage_text(w, st, 1 + i,
				               ANALYTICS_BC_EVENT_NAME + i,
				               (size_t)at) != SQLITE_OK)
					rc = SQLITE_NOMEM;
			w->ints[ANALYTICS_BC_EVENT_N][at] =
			        sqlite3_column_int64(st, 4);
		}
		if (rc != SQLITE_OK && rc != SQLITE_ROW)
			return rc;
		w->ints[count][v]++;
		w->count[l]++;
	}
	return rc == SQLITE_DONE ? SQLITE_OK : rc;
}

/* (Re)build `site`'s block of `day` from its visits, all ended. */
static int build_day(struct analytics_blocks_writer *w, const char *site,
                     int64_t day)
{
	sqlite3_stmt *drop = w->st[W_DROP_DAY];
	sqlite3_bind_text(drop, 1, site, -1, SQLITE_STATIC);
	sqlite3_bind_int64(drop, 2, day);
	int rc = run_drop(w, drop, site, day, day + 1);
	memset(w->count, 0, sizeof(w->count));
	w->text_used = 0;
	static const struct {
		enum wstmt st;
		enum level l;
	} reads[] = {
	        {W_VISITS, L_VISIT}, {W_PAGES, L_PAGE}, {W_EVENTS, L_EVENT}};
	for (size_t k = 0; rc == SQLITE_OK && k < 3; k++) {
		sqlite3_stmt *st = w->st[reads[k].st];
		sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, day * DAY_MS);
		sqlite3_bind_int64(st, 3, (day + 1) * DAY_MS);
		rc = k == 0 ? stage_visits(w, st, day)
		            : stage_rows(w, st, reads[k].l);
		sqlite3_reset(st);
	}
	for (int i = 0;
	     w->count[L_VISIT] && rc == SQLITE_OK && i < ANALYTICS_BC_COUNT;
	     i++) {
		size_t n = w->count[level_of(i)];
		rc = i < ANALYTICS_BC_TEXT ? write_ints(w, site, day, i, n)
		                           : write_text(w, site, day, i, n);
	}
	return rc;
}

/* Build one due day of `site`, if any. */
static int build_site(struct analytics_blocks_writer *w, const char *site,
                      int64_t now_ms, int64_t margin_ms, bool *built)
{
	*built = false;
	int64_t built_to, v;
	bool null;
	sqlite3_stmt **st = w->st;
	static const enum wstmt by_site[] = {
	        W_STATE,      W_FIRST,        W_NEW_STATE, W_RESET_STATE,
	        W_DROP_SITE,  W_UNDIRTY_SITE, W_OPEN_MIN,  W_DIRTY_MIN,
	        W_NEXT_VISIT, W_SET_BUILT,    W_UNDIRTY};
	for (size_t k = 0; k < sizeof(by_site) / sizeof(by_site[0]); k++)
		sqlite3_bind_text(st[by_site[k]], 1, site, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st[W_STATE]);
	bool have = rc == SQLITE_ROW;
	built_to = have ? sqlite3_column_int64(st[W_STATE], 0) : 0;
	bool stale = have && sqlite3_column_int(st[W_STATE], 1) !=
	                             ANALYTICS_BLOCKS_FORMAT;
	sqlite3_reset(st[W_STATE]);
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return rc;
	rc = SQLITE_OK;
	if (!have || stale) {
		/* From the first visit's day; blocks of an older format go. */
		rc = one_int(st[W_FIRST], &v, &null);
		if (rc != SQLITE_OK || (null && !have))
			return rc; /* no visits */
		built_to = null ? 0 : seula_floor_div(v, DAY_MS);
		for (int k = W_DROP_SITE;
		     stale && rc == SQLITE_OK && k <= W_UNDIRTY_SITE; k++)
			rc = k == W_DROP_SITE ? run_drop(w, st[k], site,
			                                 INT64_MIN, INT64_MAX)
			                      : run(st[k]);
		enum wstmt set = have ? W_RESET_STATE : W_NEW_STATE;
		sqlite3_bind_int64(st[set], 2, built_to);
		sqlite3_bind_int(st[set], 3, ANALYTICS_BLOCKS_FORMAT);
		if (rc == SQLITE_OK)
			rc = run(st[set]);
	}
	if (rc != SQLITE_OK)
		return rc;
	/* Days before `limit` are over and have no open visit. */
	int64_t limit = seula_floor_div(now_ms - margin_ms, DAY_MS);
	if ((rc = one_int(st[W_OPEN_MIN], &v, &null)) != SQLITE_OK)
		return rc;
	if (!null && seula_floor_div(v, DAY_MS) < limit)
		limit = seula_floor_div(v, DAY_MS);
	sqlite3_bind_int64(st[W_DIRTY_MIN], 2, limit);
	if ((rc = one_int(st[W_DIRTY_MIN], &v, &null)) != SQLITE_OK)
		return rc;
	if (!null) {
		rc = build_day(w, site, v);
		sqlite3_bind_int64(st[W_UNDIRTY], 2, v);
		if (rc == SQLITE_OK)
			rc = run(st[W_UNDIRTY]);
		*built = rc == SQLITE_OK;
		return rc;
	}
	if (built_to >= limit)
		return SQLITE_OK;
	/* Days without visits are covered as they are: on to the next
	 * visit's day. */
	sqlite3_bind_int64(st[W_NEXT_VISIT], 2, built_to * DAY_MS);
	if ((rc = one_int(st[W_NEXT_VISIT], &v, &null)) != SQLITE_OK)
		return rc;
	int64_t day = null ? limit : seula_floor_div(v, DAY_MS);
	if (day < limit)
		rc = build_day(w, site, day);
	sqlite3_bind_int64(st[W_SET_BUILT], 2, day < limit ? day + 1 : limit);
	if (rc == SQLITE_OK)
		rc = run(st[W_SET_BUILT]);
	*built = rc == SQLITE_OK;
	return rc;
}

int analytics_blocks_build_next(struct analytics_blocks_writer *w,
                                int64_t now_ms, int64_t margin_ms, bool *built)
{
	*built = false;
	/* Sites in turn from after the last one built, each once. */
	char *first = NULL, *site = w->site ? strdup(w->site) : strdup("");
	int rc = site ? SQLITE_OK : SQLITE_NOMEM;
	bool wrapped = false;
	while (rc == SQLITE_OK && !*built) {
		sqlite3_stmt *next = w->st[W_NEXT_SITE];
		sqlite3_bind_text(next, 1, site, -1, SQLITE_TRANSIENT);
		rc = sqlite3_step(next);
		const char *s =
		        rc == SQLITE_ROW
		                ? (const char *)sqlite3_column_text(next, 0)
		                : NULL;
		char *copy = s ? strdup(s) : NULL;
		sqlite3_reset(next);
		if (rc != SQLITE_ROW)
			break;
		rc = SQLITE_OK;
		free(site);
		site = NULL;
		if (!s) {
			if (wrapped)
				break; /* no sites */
			wrapped = true;
			site = strdup("");
			rc = site ? SQLITE_OK : SQLITE_NOMEM;
			continue;
		}
		if (!copy) {
			rc = SQLITE_NOMEM;
			break;
		}
		if (first && strcmp(copy, first) == 0) {
			free(copy);
			break;
		}
		if (!first && !(first = strdup(copy))) {
			free(copy);
			rc = SQLITE_NOMEM;
			break;
		}
		site = copy;
		rc = build_site(w, site, now_ms, margin_ms, built);
	}
	/* After a day built, or a site that failed: the next call starts
	 * past it, so one site's error does not stop the others. */
	if (site && (*built || rc != SQLITE_OK)) {
		free(w->site);
		w->site = site;
		site = NULL;
	}
	free(site);
	free(first);
	return rc;
}
