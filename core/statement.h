/*
 * statement.h - the privacy statement served at GET /privacy?lang=: its
 * facts gathered from the live config (what the server really sets, keeps
 * and enforces), rendered by privacy.c once per language at start.
 *
 * Ownership: the statement owns its pages; it borrows nothing after new().
 */
#ifndef SEULA_STATEMENT_H
#define SEULA_STATEMENT_H

#include "config.h"
#include "consent.h"
#include "loader.h"

#include <jansson.h>
#include <stddef.h>

struct seula_statement;

/* Gather the facts and render every language.  Without a [controller]
 * name there is no statement (seula_statement_page returns NULL). */
int seula_statement_new(struct seula_statement **out,
                        const struct seula_config *cfg,
                        const struct seula_consent *consent,
                        const struct seula_plugins *plugins, char *err,
                        size_t errlen);
void seula_statement_free(struct seula_statement *st);

/* The page in `lang` (by its primary subtag too, "sv-SE" -> "sv"); with
 * no lang, in the best language of `accept` (a request's Accept-Language,
 * NULL for none) the statement has; one asked for that it does not have
 * in English, else the first language, which a request asking for none
 * gets.  *chosen (when not NULL) is the page's language, borrowed.  NULL
 * when there is no statement. */
const char *seula_statement_page(const struct seula_statement *st,
                                 const char *lang, const char *accept,
                                 size_t *len, const char **chosen);

/* The facts for `lang` (a new reference), for tests and `seula privacy`. */
json_t *seula_statement_facts(const struct seula_config *cfg,
                              const struct seula_consent *consent,
                              const struct seula_plugins *plugins,
                              const char *lang);

#endif
