/*
 * privacy.h - the privacy statement (tietosuojaseloste) served at /privacy,
 * generated from what the server really does.
 *
 * The statement follows the headings of a Finnish register privacy
 * statement, numbered 1-13, in Finnish, Swedish or English.  Its facts come
 * from the live config, so the page cannot promise what the server does not
 * do; its fixed wording comes from core/privacy_texts.json.  Rendering is a
 * pure function: no I/O, no globals, safe from any thread.
 *
 * The facts document (a JSON object; every text in it is final, already in
 * the page's language, except KEYs, which this module translates):
 *
 *   updated             "YYYY-MM-DD", the statement's version date
 *   register_name       text
 *   controller          {name, business_id?, address?, email?, phone?,
 *                        website?}
 *   contact?            {name?, address?, email?, phone?}; absent or empty:
 *                       the page refers to the controller's details
 *   purposes            KEYs, at least one
 *   legal_bases         KEYs, at least one
 *   data_categories     KEYs, at least one
 *   sources             KEYs, at least one
 *   disclosures         KEYs: the only regular disclosures; [] = none
 *   processors          [{name, purpose}]; [] = none
 *   transfers           [{recipient, country, safeguard}]; [] = none
 *   retention           [{what: KEY, site?, after?: KEY, days: n | null}
 *                        or {what, site?, after?, hours: n}], at least one;
 *                       days null = kept without a time limit
 *   security            KEYs
 *   cookies             [{name, category, purpose, days, provider}];
 *                       category one of necessary, analytics, marketing,
 *                       personalization and listed in consent_categories;
 *                       days 0 = for the browser session
 *   consent_categories  [{id, name, purpose}]
 *   rights_email?       where requests go; absent: contact.email, then
 *                       controller.email
 *   authority           {name, address?, email?, phone?, website?}
 *   languages?          language codes linked as /privacy?lang=xx; each
 *                       must be a language of the texts
 *   banner_title        the consent banner's heading, as the site shows it
 *   banner_reopen       the label of the banner's settings button
 *
 * The texts' paragraphs and list items send the visitor to the banner as
 * {banner_title} and {banner_reopen}, filled in (escaped) from these two;
 * any other {name} there is an error in the texts.
 *
 * The KEYs a list accepts are the members of an object in the texts:
 * purposes sections.purposes.items, legal_bases sections.purposes.bases,
 * data_categories sections.data.items, sources sections.sources.items,
 * disclosures sections.disclosures.items, security sections.security.items,
 * retention what sections.retention.items and after sections.retention.after
 * (every language has the same members; the unit test checks it).
 * Optional text fields that are absent or "" are left out of the page,
 * label and all.  Anything else - an unknown KEY, an unknown member, a
 * value of the wrong type, a missing required field - is refused, so a
 * config typo never yields a silently incomplete statement.
 *
 * The page: a complete HTML5 document, no JavaScript, one inline <style>;
 * every text, from the facts and from the texts alike, HTML-escaped.
 * Sections carry ids in this order: controller, contact, register,
 * purposes, data, sources, disclosures, transfers, retention, security,
 * cookies, rights, authority.  Machine-readable hooks, each tag exactly so:
 *   retention rows  <tr data-retention="KEY" data-days="N">, data-days="null"
 *                   for no time limit, data-hours="N" instead for hours; a
 *                   row of one site has <th scope="row" data-site="ID">
 *   cookie rows     <tr data-cookie="NAME">, with <td data-category="ID">
 *                   and <td data-days="N"> cells
 *   list items      <li data-key="KEY"> for every KEY shown
 */
#ifndef SEULA_PRIVACY_H
#define SEULA_PRIVACY_H

#include <seula/plugin.h>

#include <jansson.h>
#include <stddef.h>

/* Render the privacy statement page for `lang` ("fi", "sv" or "en") as a
 * complete HTML5 document.  `facts` is what the server really does, built
 * from its live config (schema above); `texts` is core/privacy_texts.json
 * parsed (all languages).  Both are borrowed for the call.  On success
 * *html is a malloc'd NUL-terminated string the caller frees; on failure
 * *html is left untouched.  Returns SEULA_OK, SEULA_EINVAL (unknown
 * language, a fact that names an unknown key, a malformed fact, texts
 * lacking a string the page needs; err says which) or SEULA_ENOMEM.  err
 * may be NULL. */
int seula_privacy_render(const json_t *facts, const json_t *texts,
                         const char *lang, char **html, char *err,
                         size_t errlen);

/* `s` with & < > " ' replaced by entities, safe in element content and in
 * quoted attribute values.  Returns a malloc'd string the caller frees, or
 * NULL when out of memory. */
char *seula_privacy_escape(const char *s);

#endif
