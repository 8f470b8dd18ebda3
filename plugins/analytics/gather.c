/*
 * gather.c - rollup rows summed in memory (see gather.h).
 */
#include "gather.h"

#include <seula/plugin.h>

#include <errno.h>
#include <search.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Rows per table: a close-task run of a busy site fills a few thousand. */
#define GATHER_ROWS 65536

struct gather {
	struct hsearch_data table;
	struct gather_row *rows;
	char **keys; /* the table's keys, one per row */
	size_t n;
};

int gather_new(struct gather **out)
{
	struct gather *g = calloc(1, sizeof(*g));
	if (!g)
		return SEULA_ENOMEM;
	g->rows = calloc(GATHER_ROWS, sizeof(*g->rows));
	g->keys = calloc(GATHER_ROWS, sizeof(*g->keys));
	/* hsearch_r wants room to spare: a fuller table probes longer. */
	if (!g->rows || !g->keys ||
	    !hcreate_r(GATHER_ROWS * 4 / 3, &g->table)) {
		free(g->rows);
		free(g->keys);
		free(g);
		return SEULA_ENOMEM;
	}
	*out = g;
	return SEULA_OK;
}

static void free_rows(struct gather *g)
{
	for (size_t i = 0; i < g->n; i++) {
		free(g->keys[i]);
		free((char *)g->rows[i].site);
		free((char *)g->rows[i].dim);
		free((char *)g->rows[i].value);
		free(g->rows[i].hashes);
	}
	memset(g->rows, 0, g->n * sizeof(*g->rows));
	g->n = 0;
}

void gather_free(struct gather *g)
{
	if (!g)
		return;
	free_rows(g);
	hdestroy_r(&g->table);
	free(g->rows);
	free(g->keys);
	free(g);
}

int gather_reset(struct gather *g)
{
	if (g->n == 0)
		return SEULA_OK;
	free_rows(g);
	hdestroy_r(&g->table);
	memset(&g->table, 0, sizeof(g->table));
	return hcreate_r(GATHER_ROWS * 4 / 3, &g->table) ? SEULA_OK
	                                                 : SEULA_ENOMEM;
}

/* The table compares keys as C strings: each part carries its length, so
 * no value can make two rows' keys equal. */
static char *make_key(const char *site, const char *dim, const char *value,
                      int gran, int64_t t)
{
	char *key = NULL;
	if (asprintf(&key, "%zu:%s%zu:%s%zu:%s%d:%lld", strlen(site), site,
	             strlen(dim), dim, strlen(value), value, gran,
	             (long long)t) < 0)
		return NULL;
	return key;
}

int gather_add(struct gather *g, const char *site, const char *dim,
               const char *value, int gran, int64_t t,
               const struct gather_sums *sums, bool has_hash, uint64_t hash)
{
	char *key = make_key(site, dim, value, gran, t);
	if (!key)
		return SEULA_ENOMEM;
	ENTRY want = {.key = key, .data = NULL}, *found = NULL;
	if (!hsearch_r(want, FIND, &found, &g->table))
		found = NULL;
	struct gather_row *row;
	if (found) {
		free(key);
		row = found->data;
	} else {
		if (g->n == GATHER_ROWS) {
			free(key);
			return SEULA_EBUSY;
		}
		row = &g->rows[g->n];
		want.data = row;
		if (!hsearch_r(want, ENTER, &found, &g->table)) {
			free(key);
			return errno == ENOMEM ? SEULA_EBUSY : SEULA_ENOMEM;
		}
		g->keys[g->n++] = key;
		row->site = strdup(site);
		row->dim = strdup(dim);
		row->value = strdup(value);
		if (!row->site || !row->dim || !row->value)
			return SEULA_ENOMEM;
		row->gran = gran;
		row->t = t;
	}
	row->sums.visits += sums->visits;
	row->sums.pageviews += sums->pageviews;
	row->sums.bounces += sums->bounces;
	row->sums.duration_ms += sums->duration_ms;
	row->sums.events += sums->events;
	row->sums.engagement_ms += sums->engagement_ms;
	row->sums.bots += sums->bots;
	if (has_hash) {
		if (row->n_hashes == row->cap_hashes) {
			size_t cap = row->cap_hashes ? row->cap_hashes * 2 : 4;
			uint64_t *more =
			        realloc(row->hashes, cap * sizeof(*more));
			if (!more)
				return SEULA_ENOMEM;
			row->hashes = more;
			row->cap_hashes = cap;
		}
		row->hashes[row->n_hashes++] = hash;
	}
	return SEULA_OK;
}

size_t gather_count(const struct gather *g)
{
	return g->n;
}

const struct gather_row *gather_get(const struct gather *g, size_t i)
{
	return i < g->n ? &g->rows[i] : NULL;
}
