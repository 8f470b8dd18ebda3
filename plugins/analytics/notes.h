/*
 * notes.h - dated notes on a site's statistics ("Newsletter sent",
 * "Campaign launched"), drawn on the dashboard's chart as Google
 * Analytics' and Matomo's annotations are.
 *
 * A note is a site, a local day (YYYY-MM-DD, as the person wrote it: no
 * time zone moves it), 1 to 200 characters of text, the staff name that
 * added it and when.  The team shares them: an admin or analyst adds and
 * removes any of the site's.  Each handler is a route's (analytics.c);
 * it answers every request itself, a 4xx with a JSON error body.
 */
#ifndef SEULA_ANALYTICS_NOTES_H
#define SEULA_ANALYTICS_NOTES_H

#include <seula/plugin.h>

/* Notes a site holds at most. */
#define ANALYTICS_NOTES_MAX 1000
/* A note's text, in characters. */
#define ANALYTICS_NOTE_CHARS 200

/* GET /api/stats/{site}/annotations?from=&to= (reader): the site's notes of
 * the days (each bound optional, inclusive), by day, then as added. */
int analytics_notes_list(const struct seula_host *h, struct seula_http *http);

/* POST /api/stats/{site}/annotations {"date", "text"} (writer): 201 with the
 * note; audited as a change. */
int analytics_notes_add(const struct seula_host *h, struct seula_http *http);

/* DELETE /api/stats/{site}/annotations/{id} (writer): 204; audited. */
int analytics_notes_remove(const struct seula_host *h, struct seula_http *http);

#endif
