/*
 * openvisits.c - the writer's open visits (see openvisits.h).
 *
 * Linear probing over a power-of-two table, half full at most, with
 * backward-shift deletion so no tombstones pile up.  Visitors are keyed
 * SipHash values (or random), so their bits spread evenly and no visitor
 * can choose one that collides; sites are few and numbered.
 */
#include "openvisits.h"

#include <seula/plugin.h>

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#define MIN_SLOTS 1024

struct slot {
	bool used;
	uint32_t site; /* index into sites */
	int64_t visitor;
	struct open_visit v;
};

struct open_visits {
	struct slot *slots;
	size_t cap; /* a power of two */
	size_t n;
	char **sites;
	size_t n_sites;
};

int open_visits_new(struct open_visits **out)
{
	struct open_visits *t = calloc(1, sizeof(*t));
	if (!t)
		return SEULA_ENOMEM;
	t->slots = calloc(MIN_SLOTS, sizeof(*t->slots));
	if (!t->slots) {
		free(t);
		return SEULA_ENOMEM;
	}
	t->cap = MIN_SLOTS;
	*out = t;
	return SEULA_OK;
}

void open_visits_free(struct open_visits *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n_sites; i++)
		free(t->sites[i]);
	free(t->sites);
	free(t->slots);
	free(t);
}

void open_visits_clear(struct open_visits *t)
{
	memset(t->slots, 0, t->cap * sizeof(*t->slots));
	t->n = 0;
}

size_t open_visits_count(const struct open_visits *t)
{
	return t->n;
}

/* The site's number; -1 when unknown (and not added). */
static int64_t site_index(struct open_visits *t, const char *site, bool add)
{
	for (size_t i = 0; i < t->n_sites; i++)
		if (strcmp(t->sites[i], site) == 0)
			return (int64_t)i;
	if (!add)
		return -1;
	char **more = realloc(t->sites, (t->n_sites + 1) * sizeof(*more));
	if (!more)
		return -1;
	t->sites = more;
	if (!(t->sites[t->n_sites] = strdup(site)))
		return -1;
	return (int64_t)t->n_sites++;
}

static size_t home(const struct open_visits *t, uint32_t site, int64_t visitor)
{
	uint64_t h = ((uint64_t)visitor ^ site) * 0x9E3779B97F4A7C15ull;
	return (size_t)(h >> 32) & (t->cap - 1);
}

static struct slot *lookup(const struct open_visits *t, uint32_t site,
                           int64_t visitor)
{
	for (size_t i = home(t, site, visitor);; i = (i + 1) & (t->cap - 1)) {
		struct slot *s = &t->slots[i];
		if (!s->used || (s->site == site && s->visitor == visitor))
			return s;
	}
}

static int grow(struct open_visits *t)
{
	struct slot *old = t->slots;
	size_t old_cap = t->cap;
	struct slot *slots = calloc(2 * old_cap, sizeof(*slots));
	if (!slots)
		return SEULA_ENOMEM;
	t->slots = slots;
	t->cap = 2 * old_cap;
	for (size_t i = 0; i < old_cap; i++)
		if (old[i].used)
			*lookup(t, old[i].site, old[i].visitor) = old[i];
	free(old);
	return SEULA_OK;
}

struct open_visit *open_visits_find(struct open_visits *t, const char *site,
                                    int64_t visitor)
{
	int64_t si = site_index(t, site, false);
	if (si < 0)
		return NULL;
	struct slot *s = lookup(t, (uint32_t)si, visitor);
	return s->used ? &s->v : NULL;
}

int open_visits_put(struct open_visits *t, const char *site, int64_t visitor,
                    const struct open_visit *v)
{
	if (2 * (t->n + 1) > t->cap && grow(t) != SEULA_OK)
		return SEULA_ENOMEM;
	int64_t si = site_index(t, site, true);
	if (si < 0)
		return SEULA_ENOMEM;
	struct slot *s = lookup(t, (uint32_t)si, visitor);
	if (!s->used) {
		s->used = true;
		s->site = (uint32_t)si;
		s->visitor = visitor;
		t->n++;
	}
	s->v = *v;
	return SEULA_OK;
}

static void remove_slot(struct open_visits *t, struct slot *s);

void open_visits_remove(struct open_visits *t, const char *site,
                        int64_t visitor, int64_t id)
{
	int64_t si = site_index(t, site, false);
	if (si < 0)
		return;
	struct slot *s = lookup(t, (uint32_t)si, visitor);
	if (s->used && s->v.id == id)
		remove_slot(t, s);
}

static void remove_slot(struct open_visits *t, struct slot *s)
{
	/* Backward shift: move up each later entry of the run that may sit
	 * in the freed slot, so every lookup still meets its entry before
	 * an empty slot. */
	size_t mask = t->cap - 1, hole = (size_t)(s - t->slots);
	for (size_t i = (hole + 1) & mask; t->slots[i].used;
	     i = (i + 1) & mask) {
		size_t want = home(t, t->slots[i].site, t->slots[i].visitor);
		/* Movable when its home is not in (hole, i], cyclically. */
		if (((i - want) & mask) >= ((i - hole) & mask)) {
			t->slots[hole] = t->slots[i];
			hole = i;
		}
	}
	memset(&t->slots[hole], 0, sizeof(t->slots[hole]));
	t->n--;
}
