/*
 * openvisits.h - the open visits of the writer, by site and visitor, in
 * memory: an event finds its visit without reading the database, and the
 * visits table needs no index on the visitor, which every visit would
 * otherwise write twice at random places (once when it starts, once when
 * it ends).
 *
 * It is a cache of what analytics_visits holds with closed = 0, rebuilt
 * from the table at start and after any rollback, so it may miss a visit
 * (the visitor's next event then starts a new one) but must never name a
 * visit the table does not hold open: the caller checks every write.
 *
 * Ownership: the table copies the site names it is given; entries live
 * until removed, open_visits_clear() or open_visits_free().
 */
#ifndef SEULA_ANALYTICS_OPENVISITS_H
#define SEULA_ANALYTICS_OPENVISITS_H

#include <stddef.h>
#include <stdint.h>

struct open_visit {
	int64_t id;       /* analytics_visits.id */
	int64_t start_ms; /* the visit's first and last events */
	int64_t last_ms;
};

struct open_visits;

/* SEULA_OK or SEULA_ENOMEM. */
int open_visits_new(struct open_visits **out);
void open_visits_free(struct open_visits *t);

/* The visitor's open visit on the site, or NULL; valid until the next
 * put, remove or clear. */
struct open_visit *open_visits_find(struct open_visits *t, const char *site,
                                    int64_t visitor);

/* Set the visitor's open visit, replacing any.  SEULA_OK or
 * SEULA_ENOMEM (the table is unchanged). */
int open_visits_put(struct open_visits *t, const char *site, int64_t visitor,
                    const struct open_visit *v);

/* Forget the visitor's open visit if it is visit `id`. */
void open_visits_remove(struct open_visits *t, const char *site,
                        int64_t visitor, int64_t id);

void open_visits_clear(struct open_visits *t);
size_t open_visits_count(const struct open_visits *t);

#endif
