/*
 * apikeys.h - personal API keys: a staff member's key for the scripts and
 * spreadsheets that read the statistics, without a password or a cookie.
 *
 * GET    /api/keys       the caller's keys (an admin's: everyone's, with
 *                        their owner), newest first; never the key itself
 * POST   /api/keys       {"name", "expires_days"} (1..3650, or absent or
 *                        null: never) -> 201 with "key", shown this once;
 *                        at most SEULA_API_KEYS_PER_ACCOUNT an account
 * DELETE /api/keys/{id}  revoked at once: the caller's own, or any (admin)
 *
 * A key is "seula_" and 43 base64url characters (256 random bits), sent as
 * "Authorization: Bearer seula_...".  It is a session of its own kind
 * (sessions.h): only its BLAKE2b hash is kept, in the sessions table; it
 * acts with its owner's role as it is at the time and ends with the
 * account's sessions (disabled, or its password changed).  It opens GET
 * /api/stats/... and nothing else: aggregates, never a person's data, so
 * a leaked key cannot reach the register (auth.c checks it; the analytics
 * plugin refuses it the reports of custom event properties).  Every
 * request made with one is audited with the key's id.
 *
 * A key's id is the first 8 bytes of its hash in hex: it names the key in
 * the list, the audit log and DELETE, and reveals nothing of it.
 *
 * Making one asks for a sign-in of the last SEULA_API_KEY_SIGN_IN_MS (403
 * sign_in_again): a session left open, or taken over, does not turn into
 * a credential that outlives it without the password being given again,
 * as GitHub's sudo mode asks.
 */
#ifndef SEULA_APIKEYS_H
#define SEULA_APIKEYS_H

#include <seula/plugin.h>
#include <stdbool.h>

#define SEULA_API_KEY_PREFIX "seula_"
#define SEULA_API_KEY_ID_CHARS 16
#define SEULA_API_KEYS_PER_ACCOUNT 10
#define SEULA_API_KEY_SIGN_IN_MS (15 * 60 * 1000)

/* The id of the key whose token hash is `hash` (SEULA_TOKEN_HASH bytes). */
void seula_apikey_id(const unsigned char *hash,
                     char id[SEULA_API_KEY_ID_CHARS + 1]);

/* Whether a key may make the request of `route_label` ("GET /api/stats/
 * {site}/summary", as the server labels a route). */
bool seula_apikey_route_allowed(const char *route_label, bool changes_state);

/* The routes above; their instance is the server's struct seula_sessions
 * (auth.h: seula_auth_sessions()). */
extern const struct seula_route seula_apikey_routes[];
extern const size_t seula_apikey_n_routes;

#endif
