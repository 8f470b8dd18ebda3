/* Unit tests: core/privacy.c, the generated privacy statement (PROMISES 1,
 * 9, 15, 16, 18, 21-24, 27-33), and the texts it and the consent banner
 * are built from: core/privacy_texts.json and core/consent_texts.json. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

/* cmocka needs the four above first. */
#include <cmocka.h>

#include "privacy.h"

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const langs[] = {"fi", "sv", "en"};

static const char *const section_ids[] = {
        "controller", "contact",     "register",  "purposes",  "data",
        "sources",    "disclosures", "transfers", "retention", "security",
        "cookies",    "rights",      "authority"};
#define N_SECTIONS (sizeof(section_ids) / sizeof(section_ids[0]))

/* The facts a server with the demo config would build (the seed
 * statement's company).  Written with ' for " so it stays readable; none
 * of its texts needs an apostrophe. */
static const char facts_text[] =
        "{'updated': '2026-11-01',"
        " 'register_name': 'Asiakasrekisteri',"
        " 'controller': {'name': 'JK-Log Oy', 'business_id': '1234567-8',"
        "   'address': 'Kiskoväylä 1, 00100 Helsinki',"
        "   'email': 'info@jk-log.example', 'phone': '+358 40 567 9410',"
        "   'website': 'www.jk-log.example'},"
        " 'contact': {'name': 'Jarkko Kohtala',"
        "   'address': 'Kiskoväylä 1, 00100 Helsinki',"
        "   'email': 'jarkko@jk-log.example', 'phone': '+358 40 567 9410'},"
        " 'purposes': ['customer_register', 'orders', 'customer_relationship',"
        "   'statistics', 'marketing', 'personalization', 'security'],"
        " 'legal_bases': ['contract', 'consent', 'legitimate_interest',"
        "   'legal_obligation'],"
        " 'data_categories': ['identity', 'contact', 'billing', 'orders',"
        "   'web_usage', 'consent'],"
        " 'sources': ['registration', 'customer', 'update_services',"
        "   'subcontractors', 'cookies'],"
        " 'disclosures': ['credit_decisions', 'debt_collection', 'billing',"
        "   'authorities'],"
        " 'processors': [{'name': 'Tilitoimisto Esimerkki Oy',"
        "   'purpose': 'taloushallinto'}],"
        " 'transfers': [],"
        " 'retention': ["
        "   {'what': 'raw_events', 'site': 'demo', 'days': 760},"
        "   {'what': 'consent_records', 'days': 1825},"
        "   {'what': 'staff_sessions', 'hours': 12},"
        "   {'what': 'audit_log', 'days': null},"
        "   {'what': 'customers', 'after': 'relationship_end', 'days': 3650},"
        "   {'what': 'orders', 'days': 1}],"
        " 'security': ['personal_accounts', 'password_hashing', 'roles',"
        "   'audit_log', 'ip_anonymisation', 'staff_networks', 'tls_proxy',"
        "   'tamper_evident_consent'],"
        " 'cookies': ["
        "   {'name': 'seula_consent', 'category': 'necessary',"
        "    'purpose': 'Tallentaa evästevalintasi.', 'days': 365,"
        "    'provider': 'Tämä sivusto'},"
        "   {'name': 'seula_vid', 'category': 'analytics',"
        "    'purpose': 'Satunnainen tunniste.', 'days': 390,"
        "    'provider': 'Tämä sivusto'}],"
        " 'consent_categories': ["
        "   {'id': 'necessary', 'name': 'Välttämättömät',"
        "    'purpose': 'Sivuston toiminta.'},"
        "   {'id': 'analytics', 'name': 'Tilastointi',"
        "    'purpose': 'Käyntitilastot.'}],"
        " 'rights_email': 'tietosuoja@jk-log.example',"
        " 'authority': {'name': 'Tietosuojavaltuutetun toimisto',"
        "   'address': 'PL 800, 00531 Helsinki', 'email': 'tietosuoja@om.fi',"
        "   'phone': '029 566 6700', 'website': 'https://tietosuoja.fi'},"
        " 'languages': ['fi', 'sv', 'en'],"
        " 'banner_title': 'Evästeet ja yksityisyytesi',"
        " 'banner_reopen': 'Evästeasetukset'}";

static json_t *texts;

static json_t *load_json(const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/core/%s", SEULA_SOURCE_DIR, name);
	json_error_t e;
	json_t *j = json_load_file(path, 0, &e);
	if (!j)
		print_error("%s:%d: %s\n", path, e.line, e.text);
	return j;
}

static int setup(void **state)
{
	(void)state;
	texts = load_json("privacy_texts.json");
	return texts ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	json_decref(texts);
	return 0;
}

static json_t *demo_facts(void)
{
	char *text = strdup(facts_text);
	for (char *p = text; *p; p++)
		if (*p == '\'')
			*p = '"';
	json_error_t e;
	json_t *f = json_loads(text, 0, &e);
	if (!f)
		fail_msg("facts: %d:%d: %s", e.line, e.column, e.text);
	free(text);
	return f;
}

static char err[512];

/* Not inlined: GCC 12 at -O2 then takes the returned pointer for one to
 * this frame's `html` and fails the Release build with -Wdangling-pointer
 * (a false positive). */
__attribute__((noinline)) static char *render_ok(const json_t *facts,
                                                 const char *lang)
{
	char *html = NULL;
	err[0] = '\0';
	int rc = seula_privacy_render(facts, texts, lang, &html, err,
	                              sizeof(err));
	if (rc != SEULA_OK)
		fail_msg("render %s: %d: %s", lang, rc, err);
	assert_non_null(html);
	return html;
}

/* Render must refuse with SEULA_EINVAL, an err containing `needle`, and
 * *html untouched. */
static void expect_refused(const json_t *facts, const char *lang,
                           const char *needle)
{
	char *html = NULL;
	err[0] = '\0';
	int rc = seula_privacy_render(facts, texts, lang, &html, err,
	                              sizeof(err));
	assert_int_equal(rc, SEULA_EINVAL);
	assert_null(html);
	if (!strstr(err, needle))
		fail_msg("'%s' lacks '%s'", err, needle);
}

/* The facts with one member replaced by `json` (single quotes allowed);
 * `path` is "key" or "key.member" or "key[i].member". */
static json_t *facts_with(const char *path, const char *json)
{
	json_t *f = demo_facts();
	json_t *value = NULL;
	if (json) {
		char *text = strdup(json);
		for (char *p = text; *p; p++)
			if (*p == '\'')
				*p = '"';
		value = json_loads(text, JSON_DECODE_ANY, NULL);
		free(text);
		assert_non_null(value);
	}
	char key[64];
	snprintf(key, sizeof(key), "%s", path);
	json_t *parent = f;
	char *member = key;
	char *dot = strchr(key, '.');
	if (dot) {
		*dot = '\0';
		member = dot + 1;
		char *bracket = strchr(key, '[');
		if (bracket) {
			*bracket = '\0';
			parent = json_array_get(json_object_get(f, key),
			                        (size_t)atoi(bracket + 1));
		} else {
			parent = json_object_get(f, key);
		}
		assert_non_null(parent);
	}
	if (value)
		json_object_set_new(parent, member, value);
	else
		json_object_del(parent, member);
	return f;
}

/* The text of section `id`: from its opening tag to its </section>. */
static char *section(const char *html, const char *id)
{
	char open[64];
	snprintf(open, sizeof(open), "<section id=\"%s\">", id);
	const char *start = strstr(html, open);
	if (!start)
		fail_msg("no section '%s'", id);
	const char *end = strstr(start, "</section>");
	assert_non_null(end);
	return strndup(start, (size_t)(end - start));
}

static void assert_contains(const char *hay, const char *needle)
{
	if (!strstr(hay, needle))
		fail_msg("lacks '%s'", needle);
}

static void assert_lacks(const char *hay, const char *needle)
{
	if (strstr(hay, needle))
		fail_msg("has '%s'", needle);
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;
	for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

/* ---- escaping ----------------------------------------------------------- */

static void escape_replaces_the_five_characters(void **state)
{
	(void)state;
	char *s = seula_privacy_escape("a&b<c>d\"e'f");
	assert_string_equal(s, "a&amp;b&lt;c&gt;d&quot;e&#39;f");
	free(s);
	s = seula_privacy_escape("");
	assert_string_equal(s, "");
	free(s);
	s = seula_privacy_escape("Kiskoväylä 1 &&");
	assert_string_equal(s, "Kiskoväylä 1 &amp;&amp;");
	free(s);
	s = seula_privacy_escape("plain");
	assert_string_equal(s, "plain");
	free(s);
}

static void facts_are_escaped_never_raw(void **state)
{
	(void)state;
	json_t *f = facts_with("controller.name",
	                       "'<script>alert(\\'x\\')</script> & Co'");
	/* The helper turned \' into \", so the name holds real quotes. */
	assert_string_equal(json_string_value(json_object_get(
	                            json_object_get(f, "controller"), "name")),
	                    "<script>alert(\"x\")</script> & Co");
	json_object_set_new(f, "register_name",
	                    json_string("Rekisteri 'A' <b>"));
	json_object_set_new(json_array_get(json_object_get(f, "cookies"), 0),
	                    "purpose", json_string("x\" onmouseover=\"y"));
	for (size_t i = 0; i < 3; i++) {
		char *html = render_ok(f, langs[i]);
		assert_contains(html, "&lt;script&gt;alert(&quot;x&quot;)"
		                      "&lt;/script&gt; &amp; Co");
		assert_contains(html, "Rekisteri &#39;A&#39; &lt;b&gt;");
		assert_contains(html, "x&quot; onmouseover=&quot;y");
		assert_lacks(html, "<script");
		assert_lacks(html, "<b>");
		assert_lacks(html, "\" onmouseover");
		free(html);
	}
	json_decref(f);
}

/* ---- the page ----------------------------------------------------------- */

static void all_languages_render_every_section_in_order(void **state)
{
	(void)state;
	static const char *const first_heading[] = {
	        "<h2>1. Rekisterinpitäjä</h2>",
	        "<h2>1. Personuppgiftsansvarig</h2>", "<h2>1. Controller</h2>"};
	static const char *const last_heading[] = {
	        "<h2>13. Oikeus tehdä valitus valvontaviranomaiselle</h2>",
	        "<h2>13. Rätt att lämna in klagomål till "
	        "tillsynsmyndigheten</h2>",
	        "<h2>13. Right to lodge a complaint with a supervisory "
	        "authority</h2>"};
	json_t *f = demo_facts();
	for (size_t l = 0; l < 3; l++) {
		char *html = render_ok(f, langs[l]);
		char want[64];
		assert_int_equal(strncmp(html, "<!doctype html>\n", 16), 0);
		snprintf(want, sizeof(want), "<html lang=\"%s\">", langs[l]);
		assert_contains(html, want);
		assert_contains(html, "<meta charset=\"utf-8\">");
		assert_contains(html, "<meta name=\"viewport\" content=\"width="
		                      "device-width, initial-scale=1\">");
		assert_contains(html, "<title>");
		assert_contains(html, "– Asiakasrekisteri</title>");
		assert_int_equal(count(html, "<style>"), 1);
		assert_lacks(html, "<script");
		assert_lacks(html, "javascript:");
		assert_contains(html, "</html>\n");

		const char *prev = html;
		for (size_t i = 0; i < N_SECTIONS; i++) {
			char id[64];
			snprintf(id, sizeof(id), "<section id=\"%s\">",
			         section_ids[i]);
			assert_int_equal(count(html, id), 1);
			const char *at = strstr(html, id);
			if (at < prev)
				fail_msg("%s: '%s' out of order", langs[l],
				         section_ids[i]);
			prev = at;
			/* Numbered 1..13 in that order. */
			snprintf(id, sizeof(id), "<h2>%zu. ", i + 1);
			assert_true(strstr(at, id) == strstr(at, "<h2>"));
		}
		assert_int_equal(count(html, "<section"), N_SECTIONS);
		assert_int_equal(count(html, "</section>"), N_SECTIONS);
		assert_contains(html, first_heading[l]);
		assert_contains(html, last_heading[l]);

		/* Links to every language version, this one marked. */
		for (size_t o = 0; o < 3; o++) {
			snprintf(want, sizeof(want),
			         "<a href=\"/privacy?lang=%s\" hreflang=\"%s\"",
			         langs[o], langs[o]);
			assert_contains(html, want);
			snprintf(want, sizeof(want),
			         "<link rel=\"alternate\" hreflang=\"%s\"",
			         langs[o]);
			assert_contains(html, want);
		}
		snprintf(want, sizeof(want),
		         "lang=\"%s\" aria-current=\"page\">", langs[l]);
		assert_contains(html, want);
		assert_int_equal(count(html, "aria-current=\"page\""), 1);
		/* Tables have header cells with a scope. */
		assert_lacks(html, "<th>");
		free(html);
	}
	json_decref(f);
}

static void header_shows_the_version_date_per_language(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	static const char *const want[] = {
	        "Päivitetty <time datetime=\"2026-11-01\">1.11.2026</time>",
	        "Uppdaterad <time datetime=\"2026-11-01\">1 november "
	        "2026</time>",
	        "Last updated <time datetime=\"2026-11-01\">1 November "
	        "2026</time>"};
	for (size_t l = 0; l < 3; l++) {
		char *html = render_ok(f, langs[l]);
		assert_contains(html, want[l]);
		free(html);
	}
	json_decref(f);
}

/* PROMISES 18: each retention period is stated as configured. */
static void retention_rows_carry_data_attributes(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	char *html = render_ok(f, "fi");
	char *sec = section(html, "retention");
	assert_contains(sec, "<tr data-retention=\"raw_events\" "
	                     "data-days=\"760\"><th scope=\"row\" "
	                     "data-site=\"demo\">");
	assert_contains(sec, "Verkkosivuston käyttötapahtumat (sivusto demo)"
	                     "</th><td>760 päivää</td>");
	assert_contains(sec, "<tr data-retention=\"consent_records\" "
	                     "data-days=\"1825\">");
	assert_contains(sec, "<td>1825 päivää (5 vuotta)</td>");
	assert_contains(sec, "<tr data-retention=\"staff_sessions\" "
	                     "data-hours=\"12\">");
	assert_contains(sec, "<td>12 tuntia</td>");
	assert_contains(sec, "<tr data-retention=\"audit_log\" "
	                     "data-days=\"null\">");
	assert_contains(sec, "<td>toistaiseksi</td>");
	assert_contains(sec, "<tr data-retention=\"customers\" "
	                     "data-days=\"3650\">");
	assert_contains(sec, "<td>3650 päivää (10 vuotta) asiakassuhteen "
	                     "päättymisestä</td>");
	assert_contains(sec, "<td>1 päivä</td>");
	assert_int_equal(count(sec, "<tr data-retention="), 6);
	/* A null period explains itself. */
	assert_contains(sec, "kiinteää säilytysaikaa");
	free(sec);
	free(html);

	html = render_ok(f, "sv");
	assert_contains(html, "<td>760 dagar</td>");
	assert_contains(html, "<td>1825 dagar (5 år)</td>");
	assert_contains(html, "<td>12 timmar</td>");
	assert_contains(html, "<td>tills vidare</td>");
	assert_contains(html, "<td>1 dag</td>");
	free(html);

	html = render_ok(f, "en");
	assert_contains(html, "<td>760 days</td>");
	assert_contains(html, "<td>1825 days (5 years)</td>");
	assert_contains(html, "<td>12 hours</td>");
	assert_contains(html, "<td>until further notice</td>");
	assert_contains(html, "<td>3650 days (10 years) after the end of the "
	                      "customer relationship</td>");
	assert_contains(html, "<td>1 day</td>");
	free(html);

	/* No null row, no note; one hour is singular. */
	json_t *g = facts_with("retention",
	                       "[{'what': 'staff_sessions', 'hours': 1}]");
	html = render_ok(g, "fi");
	assert_contains(html, "data-hours=\"1\"><th scope=\"row\">"
	                      "Henkilökunnan kirjautumisistunnot</th><td>"
	                      "1 tunti</td>");
	assert_lacks(html, "kiinteää säilytysaikaa");
	free(html);
	json_decref(g);
	json_decref(f);
}

/* PROMISES 21-24: the cookies, by name, category and period. */
static void cookie_rows_carry_data_attributes(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	char *html = render_ok(f, "fi");
	char *sec = section(html, "cookies");
	assert_contains(sec, "<tr data-cookie=\"seula_vid\">"
	                     "<th scope=\"row\"><code>seula_vid</code></th>"
	                     "<td data-category=\"analytics\">Tilastointi</td>"
	                     "<td>Satunnainen tunniste.</td>"
	                     "<td data-days=\"390\">390 päivää</td>"
	                     "<td>Tämä sivusto</td></tr>");
	assert_contains(sec, "<tr data-cookie=\"seula_consent\">");
	assert_contains(sec, "<td data-category=\"necessary\">Välttämättömät");
	assert_contains(sec, "<td data-days=\"365\">365 päivää (1 vuosi)</td>");
	assert_int_equal(count(sec, "<tr data-cookie="), 2);
	assert_contains(sec, "<th scope=\"col\">Eväste</th>");
	/* The categories, necessary marked always on. */
	assert_contains(sec, "<li data-category=\"necessary\"><strong>"
	                     "Välttämättömät</strong> (aina käytössä): ");
	/* How to change the choice, and what cookies cannot do. */
	assert_contains(sec, "Evästeasetukset-painikkeesta");
	assert_contains(sec, "pelkkien evästeiden avulla");
	assert_contains(sec, "lomakkeen");
	/* Visits counted before a choice (the default), without cookies,
	 * and that refusing statistics stops it. */
	assert_contains(sec, "käynnit lasketaan ilman evästeitä");
	assert_contains(sec, "Jos kieltäydyt tilastoinnista, tämän selaimen "
	                     "käyntejä ei lasketa lainkaan.");
	free(sec);
	free(html);
	/* Every site drops them: the statement says they are not counted. */
	json_t *g = facts_with("counted_without_consent", "false");
	html = render_ok(g, "en");
	assert_contains(html, "Without consent your visits are not counted");
	assert_lacks(html, "Before you choose");
	free(html);
	json_decref(g);
	g = facts_with("counted_without_consent", "true");
	html = render_ok(g, "sv");
	assert_contains(html, "Om du avböjer statistik räknas besök från den "
	                      "här webbläsaren inte alls.");
	free(html);
	json_decref(g);
	g = facts_with("counted_without_consent", "1");
	expect_refused(g, "fi", "'counted_without_consent' is not a boolean");
	json_decref(g);

	/* A session cookie, and a site with none. */
	g = facts_with("cookies[1].days", "0");
	html = render_ok(g, "en");
	assert_contains(html, "<td data-days=\"0\">for the browser "
	                      "session</td>");
	free(html);
	json_decref(g);
	g = facts_with("cookies", "[]");
	html = render_ok(g, "en");
	assert_contains(html, "The website uses no cookies.");
	assert_lacks(html, "data-cookie=");
	free(html);
	json_decref(g);
	json_decref(f);
}

/* PROMISES 1: absent details leave no empty label behind. */
static void absent_optional_fields_are_omitted(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	json_t *ctl = json_object_get(f, "controller");
	json_object_del(ctl, "phone");
	json_object_del(ctl, "website");
	json_object_set_new(ctl, "business_id", json_string(""));
	json_object_del(f, "contact");
	char *html = render_ok(f, "fi");
	char *sec = section(html, "controller");
	assert_contains(sec, "<dt>Nimi</dt><dd>JK-Log Oy</dd>");
	assert_contains(sec, "<dt>Sähköposti</dt><dd><a href=\"mailto:"
	                     "info@jk-log.example\">");
	assert_lacks(sec, "Puhelin");
	assert_lacks(sec, "Verkkosivusto");
	assert_lacks(sec, "Y-tunnus");
	assert_lacks(sec, "<dd></dd>");
	free(sec);
	/* No contact person: the controller's details are pointed to. */
	sec = section(html, "contact");
	assert_lacks(sec, "<dl");
	assert_contains(sec, "kohdassa 1 mainittujen yhteystietojen");
	free(sec);
	/* The authority still has its phone. */
	sec = section(html, "authority");
	assert_contains(sec, "<dt>Puhelin</dt><dd>029 566 6700</dd>");
	free(sec);
	free(html);
	json_decref(f);

	/* An empty contact object is the same as none. */
	f = facts_with("contact", "{'phone': ''}");
	html = render_ok(f, "en");
	sec = section(html, "contact");
	assert_contains(sec, "using the details in section 1");
	assert_lacks(sec, "Phone");
	free(sec);
	free(html);
	json_decref(f);
}

static void full_details_are_listed_with_links(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	char *html = render_ok(f, "fi");
	char *sec = section(html, "controller");
	assert_contains(sec, "<dt>Y-tunnus</dt><dd>1234567-8</dd>");
	assert_contains(sec, "<dt>Puhelin</dt><dd>+358 40 567 9410</dd>");
	/* Written without a scheme, linked with one. */
	assert_contains(sec, "<a href=\"https://www.jk-log.example\">"
	                     "www.jk-log.example</a>");
	free(sec);
	sec = section(html, "contact");
	assert_contains(sec, "<dt>Nimi</dt><dd>Jarkko Kohtala</dd>");
	free(sec);
	sec = section(html, "register");
	assert_contains(sec, "<p>Asiakasrekisteri</p>");
	free(sec);
	sec = section(html, "authority");
	assert_contains(sec, "<a href=\"https://tietosuoja.fi\">");
	assert_contains(sec, "Tietosuojavaltuutetun toimisto");
	free(sec);
	free(html);
	json_decref(f);
}

/* PROMISES 9, 15, 16, 4: bases, disclosures, transfers as configured. */
static void purposes_disclosures_and_transfers(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	char *html = render_ok(f, "fi");
	char *sec = section(html, "purposes");
	assert_int_equal(count(sec, "<li data-key="), 7 + 4);
	assert_contains(sec, "<li data-key=\"contract\">Sopimus");
	/* The contract and consent notes come with their bases. */
	assert_contains(sec, "edellytys sopimuksen tekemiselle");
	assert_contains(sec, "vapaaehtoista");
	free(sec);
	sec = section(html, "data");
	assert_contains(sec, "anonymisoitu IP-osoite");
	assert_contains(sec, "selain ja laitetyyppi");
	free(sec);
	sec = section(html, "disclosures");
	assert_contains(sec, "<li data-key=\"debt_collection\">");
	assert_contains(sec, "markkinointitarkoituksiin");
	assert_contains(sec, "<th scope=\"row\">Tilitoimisto Esimerkki Oy</th>"
	                     "<td>taloushallinto</td>");
	free(sec);
	/* Empty transfers: the statement says there are none. */
	sec = section(html, "transfers");
	assert_contains(sec, "<p>Henkilötietoja ei siirretä Euroopan unionin "
	                     "(EU) tai Euroopan talousalueen (ETA) "
	                     "ulkopuolelle.</p>");
	assert_lacks(sec, "<table");
	free(sec);
	free(html);
	json_decref(f);

	/* Only a contract: no consent note. */
	f = facts_with("legal_bases", "['contract']");
	html = render_ok(f, "en");
	assert_lacks(html, "Giving consent is voluntary");
	assert_contains(html, "requirement for entering into a contract");
	free(html);
	json_decref(f);

	/* No disclosures, no processors: both said; marketing still said. */
	f = facts_with("disclosures", "[]");
	json_object_set_new(f, "processors", json_array());
	html = render_ok(f, "en");
	sec = section(html, "disclosures");
	assert_contains(sec, "Data is not regularly disclosed outside the "
	                     "controller.");
	assert_contains(sec, "We do not use outside processors.");
	assert_contains(sec, "not disclosed to third parties for marketing");
	assert_lacks(sec, "<ul>");
	free(sec);
	free(html);
	json_decref(f);

	/* A transfer is listed, and "none" is no longer claimed. */
	f = facts_with("transfers",
	               "[{'recipient': 'Mail Co', 'country': 'USA',"
	               " 'safeguard': 'EU-US Data Privacy Framework'}]");
	html = render_ok(f, "en");
	sec = section(html, "transfers");
	assert_contains(sec, "<th scope=\"row\">Mail Co</th><td>USA</td>"
	                     "<td>EU-US Data Privacy Framework</td>");
	assert_lacks(sec, "is not transferred");
	free(sec);
	free(html);
	json_decref(f);
}

/* PROMISES 27-33: the rights and how to use them. */
static void rights_and_where_to_send_requests(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	char *html = render_ok(f, "en");
	char *sec = section(html, "rights");
	static const char *const rights[] = {
	        "access",    "rectification", "erasure",         "restriction",
	        "objection", "portability",   "withdraw_consent"};
	for (size_t i = 0; i < 7; i++) {
		char want[64];
		snprintf(want, sizeof(want), "<li data-key=\"%s\">", rights[i]);
		assert_contains(sec, want);
	}
	assert_contains(sec, "Send your request by email to <a href=\"mailto:"
	                     "tietosuoja@jk-log.example\">tietosuoja@jk-log."
	                     "example</a>.");
	assert_contains(sec, "verify your identity");
	assert_contains(sec, "within one month");
	assert_contains(sec, "direct marketing");
	free(sec);
	free(html);
	json_decref(f);

	/* Without rights_email: the contact person's, then the
	 * controller's. */
	f = facts_with("rights_email", NULL);
	html = render_ok(f, "fi");
	assert_contains(html, "osoitteeseen <a href=\"mailto:"
	                      "jarkko@jk-log.example\">");
	free(html);
	json_object_del(f, "contact");
	html = render_ok(f, "fi");
	assert_contains(html, "osoitteeseen <a href=\"mailto:"
	                      "info@jk-log.example\">");
	free(html);
	json_object_del(json_object_get(f, "controller"), "email");
	expect_refused(f, "fi", "rights_email");
	json_decref(f);
}

/* Every KEY the texts explain renders in every language. */
static void every_known_key_renders_in_every_language(void **state)
{
	(void)state;
	static const struct {
		const char *fact, *items;
	} lists[] = {
	        {"purposes", "sections.purposes.items"},
	        {"legal_bases", "sections.purposes.bases"},
	        {"data_categories", "sections.data.items"},
	        {"sources", "sections.sources.items"},
	        {"disclosures", "sections.disclosures.items"},
	        {"security", "sections.security.items"},
	};
	json_t *f = demo_facts();
	const json_t *fi = json_object_get(texts, "fi");
	for (size_t i = 0; i < sizeof(lists) / sizeof(lists[0]); i++) {
		json_t *items = (json_t *)fi, *all = json_array();
		char path[64], *save, *part;
		snprintf(path, sizeof(path), "%s", lists[i].items);
		for (part = strtok_r(path, ".", &save); part;
		     part = strtok_r(NULL, ".", &save))
			items = json_object_get(items, part);
		const char *key;
		json_t *v;
		json_object_foreach(items, key, v)
		{
			json_array_append_new(all, json_string(key));
		}
		assert_true(json_array_size(all) > 0);
		json_object_set_new(f, lists[i].fact, all);
	}
	json_t *rows = json_array();
	json_t *what = json_object_get(
	        json_object_get(json_object_get(fi, "sections"), "retention"),
	        "items");
	const char *key;
	json_t *v;
	json_object_foreach(what, key, v)
	{
		json_array_append_new(
		        rows, json_pack("{s:s, s:i}", "what", key, "days", 30));
	}
	json_object_set_new(f, "retention", rows);
	for (size_t l = 0; l < 3; l++)
		free(render_ok(f, langs[l]));
	json_decref(f);
}

/* ---- refusals ----------------------------------------------------------- */

static void unknown_language_is_refused(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	expect_refused(f, "de", "unknown language 'de'");
	expect_refused(f, "", "unknown language");
	expect_refused(f, NULL, "unknown language");
	/* err may be NULL. */
	char *html = NULL;
	assert_int_equal(seula_privacy_render(f, texts, "de", &html, NULL, 0),
	                 SEULA_EINVAL);
	assert_null(html);
	json_decref(f);
}

/* A config typo never yields a silently incomplete statement. */
static void unknown_keys_are_refused_by_name(void **state)
{
	(void)state;
	static const struct {
		const char *path, *value, *needle;
	} cases[] = {
	        {"purposes", "['orders', 'frobnicate']",
	         "purposes: unknown key 'frobnicate'"},
	        {"legal_bases", "['contract', 'whim']",
	         "legal_bases: unknown key 'whim'"},
	        {"data_categories", "['shoe_size']",
	         "data_categories: unknown key 'shoe_size'"},
	        {"sources", "['rumours']", "sources: unknown key 'rumours'"},
	        {"disclosures", "['data_brokers']",
	         "disclosures: unknown key 'data_brokers'"},
	        {"security", "['hope']", "security: unknown key 'hope'"},
	        {"retention[0].what", "'raw_event'",
	         "retention[0]: unknown key 'raw_event'"},
	        {"retention[4].after", "'forever'",
	         "retention[4]: unknown key 'forever'"},
	        {"languages", "['fi', 'de']", "unknown language 'de'"},
	        {"cookies[1].category", "'ads'", "category 'ads'"},
	        {"consent_categories[1].id", "'ads'", "unknown category 'ads'"},
	        /* Unknown members, not just unknown values. */
	        {"purpose", "['orders']", "unknown member 'purpose'"},
	        {"controller.phon", "'1'", "controller: unknown member 'phon'"},
	        {"retention[1].day", "5", "unknown member 'day'"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *f = facts_with(cases[i].path, cases[i].value);
		expect_refused(f, "fi", cases[i].needle);
		json_decref(f);
	}
	/* The message lists the known keys. */
	json_t *f = facts_with("purposes", "['frobnicate']");
	expect_refused(f, "en", "(known: customer_register orders");
	json_decref(f);
}

static void malformed_facts_are_refused(void **state)
{
	(void)state;
	static const struct {
		const char *path, *value, *needle;
	} cases[] = {
	        {"updated", "'1.11.2026'", "'updated' is not a date"},
	        {"updated", "'2026-13-01'", "'updated' is not a date"},
	        {"updated", "'2026-02-29'", "'updated' is not a date"},
	        {"updated", NULL, "'updated' is missing"},
	        {"register_name", "''", "'register_name' is empty"},
	        {"controller.name", NULL, "controller: 'name' is missing"},
	        {"controller.phone", "358", "'phone' is not a string"},
	        {"controller", NULL, "'controller' is missing"},
	        {"authority", NULL, "'authority' is missing"},
	        {"contact", "'Jarkko'", "'contact' is not an object"},
	        {"purposes", "[]", "'purposes' needs at least 1"},
	        {"purposes", "['orders', 'orders']",
	         "'orders' is listed twice"},
	        {"purposes", "[7]", "purposes[0] is not a string"},
	        {"legal_bases", NULL, "'legal_bases' is missing"},
	        {"transfers", "{}", "'transfers' is not an array"},
	        {"processors", "[{'name': 'X'}]", "'purpose' is missing"},
	        {"processors", "['X']", "processors[0] is not an object"},
	        {"retention[0].days", "'760'", "'days' must be a whole number"},
	        {"retention[0].days", "-1", "'days' must be a whole number"},
	        {"retention[0].days", "7.5", "'days' must be a whole number"},
	        {"retention[0].hours", "1",
	         "one of 'days', 'hours' or 'years'"},
	        {"retention[1].days", NULL,
	         "one of 'days', 'hours' or 'years'"},
	        {"retention[2].hours", "null",
	         "'hours' must be a whole number"},
	        {"cookies[0].days", "null", "'days' must be a whole number"},
	        {"cookies[0].provider", NULL, "'provider' is missing"},
	        {"consent_categories", "[]",
	         "category 'necessary' is not in consent_categories"},
	        {"languages", "'fi'", "'languages' is not an array"},
	        /* A statement that cannot name the banner's heading or
	         * button would send the visitor nowhere. */
	        {"banner_title", NULL, "'banner_title' is missing"},
	        {"banner_reopen", "''", "'banner_reopen' is empty"},
	        {"banner_title", "7", "'banner_title' is not a string"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		json_t *f = facts_with(cases[i].path, cases[i].value);
		expect_refused(f, "sv", cases[i].needle);
		json_decref(f);
	}
	char *html = NULL;
	json_t *arr = json_array();
	assert_int_equal(
	        seula_privacy_render(arr, texts, "fi", &html, err, sizeof(err)),
	        SEULA_EINVAL);
	assert_int_equal(
	        seula_privacy_render(arr, arr, "fi", &html, err, sizeof(err)),
	        SEULA_EINVAL);
	assert_null(html);
	json_decref(arr);
}

static void broken_texts_are_refused(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	json_t *copy = json_deep_copy(texts);
	json_t *fi = json_object_get(copy, "fi");
	json_object_del(
	        json_object_get(json_object_get(fi, "sections"), "cookies"),
	        "change");
	char *html = NULL;
	assert_int_equal(
	        seula_privacy_render(f, copy, "fi", &html, err, sizeof(err)),
	        SEULA_EINVAL);
	assert_contains(err, "'fi.sections.cookies.change' is missing");
	/* A placeholder the code does not fill is caught too. */
	json_object_set_new(json_object_get(fi, "units"), "day_many",
	                    json_string("{count} päivää"));
	assert_int_equal(
	        seula_privacy_render(f, copy, "fi", &html, err, sizeof(err)),
	        SEULA_EINVAL);
	assert_null(html);
	/* And in a paragraph, where only the banner's words are known. */
	json_t *en = json_object_get(copy, "en");
	json_object_set_new(
	        json_object_get(json_object_get(en, "sections"), "cookies"),
	        "change", json_string("Use the {banner_button} button."));
	assert_int_equal(
	        seula_privacy_render(f, copy, "en", &html, err, sizeof(err)),
	        SEULA_EINVAL);
	assert_contains(err, "unknown placeholder 'banner_button'");
	assert_null(html);
	json_decref(copy);
	json_decref(f);
}

/* ---- the texts files ---------------------------------------------------- */

/* `a` and `b` have the same shape: the same members, arrays of the same
 * length, strings where strings are; no string in `a` is empty. */
static void same_shape(const json_t *a, const json_t *b, const char *path)
{
	if (json_typeof(a) != json_typeof(b))
		fail_msg("%s: different types", path);
	char sub[256];
	if (json_is_object(a)) {
		if (json_object_size(a) != json_object_size(b))
			fail_msg("%s: %zu members against %zu", path,
			         json_object_size(a), json_object_size(b));
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)a, key, v)
		{
			snprintf(sub, sizeof(sub), "%s.%s", path, key);
			const json_t *w = json_object_get(b, key);
			if (!w)
				fail_msg("%s: missing in the other language",
				         sub);
			same_shape(v, w, sub);
		}
	} else if (json_is_array(a)) {
		if (json_array_size(a) != json_array_size(b))
			fail_msg("%s: lengths differ", path);
		for (size_t i = 0; i < json_array_size(a); i++) {
			snprintf(sub, sizeof(sub), "%s[%zu]", path, i);
			same_shape(json_array_get(a, i), json_array_get(b, i),
			           sub);
		}
	} else if (json_is_string(a)) {
		if (json_string_length(a) == 0 || json_string_length(b) == 0)
			fail_msg("%s: empty string", path);
	} else {
		fail_msg("%s: only objects, arrays and strings belong here",
		         path);
	}
}

static void texts_have_one_shape_in_every_language(const char *file)
{
	json_t *j = load_json(file);
	assert_non_null(j);
	assert_true(json_is_object(j));
	assert_int_equal(json_object_size(j), 3);
	for (size_t i = 0; i < 3; i++)
		assert_non_null(json_object_get(j, langs[i]));
	/* Both directions, so a member only the second has is found. */
	for (size_t i = 0; i < 3; i++)
		for (size_t k = 0; k < 3; k++) {
			char path[64];
			snprintf(path, sizeof(path), "%s %s/%s", file, langs[i],
			         langs[k]);
			same_shape(json_object_get(j, langs[i]),
			           json_object_get(j, langs[k]), path);
		}
	json_decref(j);
}

static void privacy_texts_match_across_languages(void **state)
{
	(void)state;
	texts_have_one_shape_in_every_language("privacy_texts.json");
	for (size_t l = 0; l < 3; l++) {
		const json_t *t = json_object_get(texts, langs[l]);
		const json_t *units = json_object_get(t, "units");
		const char *key;
		json_t *v;
		json_object_foreach((json_t *)units, key, v)
		{
			if (strcmp(key, "session") != 0)
				assert_non_null(
				        strstr(json_string_value(v), "{n}"));
		}
		assert_int_equal(json_array_size(json_object_get(t, "months")),
		                 12);
		const json_t *s = json_object_get(t, "sections");
		assert_int_equal(json_object_size(s), N_SECTIONS);
		for (size_t i = 0; i < N_SECTIONS; i++)
			assert_non_null(json_object_get(
			        json_object_get(s, section_ids[i]), "heading"));
	}
}

static void consent_texts_have_the_banner_keys(void **state)
{
	(void)state;
	static const char *const keys[] = {"title",
	                                   "description",
	                                   "accept_all",
	                                   "reject_all",
	                                   "choose",
	                                   "save",
	                                   "reopen",
	                                   "privacy_link",
	                                   "always_on",
	                                   "gpc_note",
	                                   "receipt",
	                                   "withdraw",
	                                   "exempt_note",
	                                   "analytics_without_consent",
	                                   "cookie_name",
	                                   "cookie_duration",
	                                   "cookie_provider",
	                                   "first_party",
	                                   "days",
	                                   "categories",
	                                   "cookies",
	                                   "save_failed",
	                                   "close",
	                                   "dnt_note",
	                                   "controller_label"};
	static const char *const cats[] = {"necessary", "analytics",
	                                   "marketing", "personalization"};
	texts_have_one_shape_in_every_language("consent_texts.json");
	json_t *j = load_json("consent_texts.json");
	assert_non_null(j);
	const json_t *fi = json_object_get(j, "fi");
	/* Exactly these keys (the other languages have fi's shape). */
	size_t n = sizeof(keys) / sizeof(keys[0]);
	assert_int_equal(json_object_size(fi), n);
	for (size_t i = 0; i < n; i++)
		if (!json_object_get(fi, keys[i]))
			fail_msg("consent texts lack '%s'", keys[i]);
	const json_t *c = json_object_get(fi, "categories");
	assert_int_equal(json_object_size(c), 4);
	for (size_t i = 0; i < 4; i++) {
		const json_t *cat = json_object_get(c, cats[i]);
		assert_int_equal(json_object_size(cat), 2);
		assert_true(json_is_string(json_object_get(cat, "name")));
		assert_true(json_is_string(json_object_get(cat, "purpose")));
	}
	const json_t *k = json_object_get(fi, "cookies");
	assert_int_equal(json_object_size(k), 2);
	assert_true(json_is_string(json_object_get(k, "seula_consent")));
	assert_true(json_is_string(json_object_get(k, "seula_vid")));
	for (size_t l = 0; l < 3; l++)
		assert_non_null(
		        strstr(json_string_value(json_object_get(
		                       json_object_get(j, langs[l]), "days")),
		               "{n}"));
	json_decref(j);
}

/* Where the statement sends the visitor to the banner (to object to the
 * counting, to change or withdraw a choice), it names the banner by its
 * heading and the settings button by its label.  An operator's texts file
 * may rename both, so the statement's texts hold placeholders for them and
 * never Seula's own words; given those words, the sentences read as they
 * always have. */
static void statement_names_the_banner_as_it_is_labelled(void **state)
{
	(void)state;
	static const struct {
		const char *path[5]; /* under the language, NULL-ended */
		const char *label;   /* the banner's key */
		const char *placeholder;
	} uses[] = {
	        {{"sections", "purposes", "bases", "legitimate_interest"},
	         "title",
	         "{banner_title"},
	        {{"sections", "purposes", "bases", "legitimate_interest"},
	         "reopen",
	         "{banner_reopen"},
	        {{"sections", "cookies", "change"}, "reopen", "{banner_reopen"},
	        {{"sections", "rights", "items", "withdraw_consent"},
	         "reopen",
	         "{banner_reopen"},
	};
	/* The sentences as they read before the placeholders, around the
	 * built-in words. */
	static const char *const before[3][3] = {
	        {"kieltäytymällä tilastoinnista Evästeet ja yksityisyytesi "
	         "-ilmoituksessa tai Evästeasetukset-painikkeesta, minkä",
	         "milloin tahansa jokaisen sivun Evästeasetukset-painikkeesta. "
	         "Voit",
	         "esimerkiksi Evästeasetukset-painikkeesta. Peruuttaminen"},
	        {"avböja statistik i rutan med rubriken Kakor och din "
	         "integritet, eller via knappen Inställningar för kakor; "
	         "därefter",
	         "dina val med knappen Inställningar för kakor på varje sida. "
	         "Du",
	         "till exempel med knappen Inställningar för kakor. "
	         "Återkallandet"},
	        {"refusing statistics in the banner headed Cookies and your "
	         "privacy, or through the Cookie settings button; your",
	         "choices at any time with the Cookie settings button on every "
	         "page. You",
	         "for example with the Cookie settings button. Withdrawal"},
	};
	json_t *banner = load_json("consent_texts.json");
	assert_non_null(banner);
	for (size_t l = 0; l < 3; l++) {
		const json_t *ours = json_object_get(banner, langs[l]);
		for (size_t i = 0; i < sizeof(uses) / sizeof(uses[0]); i++) {
			const json_t *t = json_object_get(texts, langs[l]);
			const char *key = NULL;
			for (size_t k = 0; uses[i].path[k]; k++)
				t = json_object_get(t, key = uses[i].path[k]);
			const char *said = json_string_value(t);
			const char *label = json_string_value(
			        json_object_get(ours, uses[i].label));
			if (!said || !label)
				fail_msg("%s: no statement text '%s' or banner "
				         "text '%s'",
				         langs[l], key, uses[i].label);
			if (!strstr(said, uses[i].placeholder))
				fail_msg("%s: the statement's '%s' lacks %s",
				         langs[l], key, uses[i].placeholder);
			if (strstr(said, label))
				fail_msg("%s: the statement's '%s' names the "
				         "banner's %s '%s' in its own words",
				         langs[l], key, uses[i].label, label);
		}
		/* Seula's own banner: the same sentences as before. */
		json_t *f = demo_facts();
		json_object_set(f, "banner_title",
		                json_object_get(ours, "title"));
		json_object_set(f, "banner_reopen",
		                json_object_get(ours, "reopen"));
		char *html = render_ok(f, langs[l]);
		for (size_t k = 0; k < 3; k++)
			assert_contains(html, before[l][k]);
		free(html);
		json_decref(f);
	}
	json_decref(banner);
}

/* In Finnish the names are the first part of a compound ("-painikkeesta"):
 * a one-word name takes the hyphen, one of several words a space before
 * it, whichever of the two an operator's words are. */
static void finnish_compounds_join_an_operators_words(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	json_object_set_new(f, "banner_title", json_string("Yksityisyys"));
	json_object_set_new(f, "banner_reopen", json_string("Omat valinnat"));
	char *html = render_ok(f, "fi");
	assert_contains(html, "Yksityisyys-ilmoituksessa tai Omat valinnat "
	                      "-painikkeesta");
	assert_int_equal(count(html, "Omat valinnat -painikkeesta"), 3);
	assert_lacks(html, "Yksityisyys -");
	free(html);
	json_decref(f);
}

/* An operator's own words for the heading and the button are what the
 * statement names, escaped like any other text. */
static void statement_names_an_operators_banner_escaped(void **state)
{
	(void)state;
	json_t *f = demo_facts();
	json_object_set_new(f, "banner_title", json_string("Privacy & <you>"));
	json_object_set_new(f, "banner_reopen", json_string("\"Choices\""));
	static const char *const builtin[] = {
	        "Evästeet ja yksityisyytesi", "Evästeasetukset",
	        "Kakor och din integritet",   "Inställningar för kakor",
	        "Cookies and your privacy",   "Cookie settings"};
	for (size_t l = 0; l < 3; l++) {
		char *html = render_ok(f, langs[l]);
		assert_int_equal(count(html, "Privacy &amp; &lt;you&gt;"), 1);
		assert_int_equal(count(html, "&quot;Choices&quot;"), 3);
		assert_lacks(html, "<you>");
		assert_lacks(html, "{banner_");
		for (size_t i = 0; i < sizeof(builtin) / sizeof(*builtin); i++)
			assert_lacks(html, builtin[i]);
		free(html);
	}
	json_decref(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	        cmocka_unit_test(escape_replaces_the_five_characters),
	        cmocka_unit_test(finnish_compounds_join_an_operators_words),
	        cmocka_unit_test(facts_are_escaped_never_raw),
	        cmocka_unit_test(all_languages_render_every_section_in_order),
	        cmocka_unit_test(header_shows_the_version_date_per_language),
	        cmocka_unit_test(retention_rows_carry_data_attributes),
	        cmocka_unit_test(cookie_rows_carry_data_attributes),
	        cmocka_unit_test(absent_optional_fields_are_omitted),
	        cmocka_unit_test(full_details_are_listed_with_links),
	        cmocka_unit_test(purposes_disclosures_and_transfers),
	        cmocka_unit_test(rights_and_where_to_send_requests),
	        cmocka_unit_test(every_known_key_renders_in_every_language),
	        cmocka_unit_test(unknown_language_is_refused),
	        cmocka_unit_test(unknown_keys_are_refused_by_name),
	        cmocka_unit_test(malformed_facts_are_refused),
	        cmocka_unit_test(broken_texts_are_refused),
	        cmocka_unit_test(privacy_texts_match_across_languages),
	        cmocka_unit_test(consent_texts_have_the_banner_keys),
	        cmocka_unit_test(statement_names_the_banner_as_it_is_labelled),
	        cmocka_unit_test(statement_names_an_operators_banner_escaped),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
