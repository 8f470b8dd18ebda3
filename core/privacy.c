/*
 * privacy.c - renders the privacy statement from the server's facts and the
 * fixed wording of privacy_texts.json.
 *
 * Errors are sticky: the first one is kept in the context, every later step
 * still runs but writes "" where something was missing, and a failed page is
 * thrown away at the end.  So each section reads as straight-line HTML, and
 * the message names the first fact or text that was wrong.
 *
 * Every string, from the facts and from the texts alike, goes through
 * put_esc(); only the markup written here is emitted raw.
 */
#include "privacy.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the output buffer --------------------------------------------------- */

struct out {
	char *p; /* NUL-terminated once anything is written */
	size_t len, cap;
	bool oom;
};

static void put_n(struct out *o, const char *s, size_t n)
{
	if (o->oom)
		return;
	if (n >= o->cap - o->len) {
		size_t cap = o->cap ? o->cap : 8192;
		while (n >= cap - o->len) {
			if (cap > SIZE_MAX / 2) {
				o->oom = true;
				return;
			}
			cap *= 2;
		}
		char *p = realloc(o->p, cap);
		if (!p) {
			o->oom = true;
			return;
		}
		o->p = p;
		o->cap = cap;
	}
	memcpy(o->p + o->len, s, n);
	o->len += n;
	o->p[o->len] = '\0';
}

static void put(struct out *o, const char *s)
{
	put_n(o, s, strlen(s));
}

/* The five characters that matter in content and in quoted attributes;
 * the apostrophe too, so a value is safe whichever quote surrounds it. */
static const char *entity(char ch)
{
	switch (ch) {
	case '&': return "&amp;";
	case '<': return "&lt;";
	case '>': return "&gt;";
	case '"': return "&quot;";
	case '\'': return "&#39;";
	default: return NULL;
	}
}

static void put_esc_n(struct out *o, const char *s, size_t n)
{
	size_t start = 0;
	for (size_t i = 0; i < n; i++) {
		const char *e = entity(s[i]);
		if (!e)
			continue;
		put_n(o, s + start, i - start);
		put(o, e);
		start = i + 1;
	}
	put_n(o, s + start, n - start);
}

static void put_esc(struct out *o, const char *s)
{
	put_esc_n(o, s, strlen(s));
}

static void put_int(struct out *o, json_int_t n)
{
	char buf[32];
	snprintf(buf, sizeof(buf), "%" JSON_INTEGER_FORMAT, n);
	put(o, buf);
}

char *seula_privacy_escape(const char *s)
{
	struct out o = {0};
	put_esc(&o, s);
	put_n(&o, "", 0); /* "" in, "" out: still a buffer */
	if (o.oom) {
		free(o.p);
		return NULL;
	}
	return o.p;
}

/* ---- the rendering context and its errors ------------------------------- */

/* A placeholder's value: text is escaped, html is written as it is. */
struct sub {
	const char *name;
	const char *value;
	bool html;
};

/* The banner's heading and settings button, as the facts name them. */
enum { N_BANNER = 2 };

struct ctx {
	struct out o;
	const json_t *facts;
	const json_t *texts; /* all languages */
	const json_t *t;     /* texts of this language */
	const char *lang;
	struct sub banner[N_BANNER]; /* {banner_title}, {banner_reopen} */
	int rc; /* the first error; SEULA_OK while there is none */
	char *err;
	size_t errlen;
};

static void fail(struct ctx *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void fail(struct ctx *c, const char *fmt, ...)
{
	if (c->rc != SEULA_OK)
		return;
	c->rc = SEULA_EINVAL;
	if (c->err && c->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(c->err, c->errlen, fmt, ap);
		va_end(ap);
	}
}

/* ---- the texts ---------------------------------------------------------- */

/* The node at a dotted path under `root`, NULL when there is none. */
static const json_t *node_at(const json_t *root, const char *path)
{
	const json_t *n = root;
	while (n && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);
		n = json_object_getn(n, path, len);
		path += len + (dot != NULL);
	}
	return n;
}

/* A string of this language's texts; "" and an error when it is missing,
 * so callers need no checks of their own. */
static const char *txt(struct ctx *c, const char *path)
{
	const json_t *n = node_at(c->t, path);
	if (!json_is_string(n)) {
		fail(c, "privacy texts: '%s.%s' is missing or not a string",
		     c->lang, path);
		return "";
	}
	return json_string_value(n);
}

static const char *sec_txt(struct ctx *c, const char *section, const char *key)
{
	char path[128];
	snprintf(path, sizeof(path), "sections.%s.%s", section, key);
	return txt(c, path);
}

static void put_txt(struct ctx *c, const char *path)
{
	put_esc(&c->o, txt(c, path));
}

/* `tpl` with each {name} replaced.  A placeholder the caller does not know
 * is an error in the texts, not something to print.  {name-} is the value
 * as the first part of a compound with the word that follows, in Finnish
 * joined by a hyphen, or by a space and a hyphen when the value is several
 * words ("Evästeasetukset-painike", "Evästeet ja yksityisyytesi
 * -ilmoitus"). */
static void put_tpl(struct ctx *c, const char *tpl, const struct sub *subs,
                    size_t nsubs)
{
	const char *s = tpl;
	for (;;) {
		const char *open = strchr(s, '{');
		const char *close = open ? strchr(open, '}') : NULL;
		if (!close) {
			put_esc(&c->o, s);
			return;
		}
		put_esc_n(&c->o, s, (size_t)(open - s));
		size_t nlen = (size_t)(close - open - 1);
		bool compound = nlen > 1 && open[nlen] == '-';
		if (compound)
			nlen--;
		size_t i = 0;
		while (i < nsubs && (strlen(subs[i].name) != nlen ||
		                     memcmp(subs[i].name, open + 1, nlen) != 0))
			i++;
		if (i == nsubs) {
			fail(c,
			     "privacy texts: unknown placeholder '%.*s' in "
			     "'%s'",
			     (int)nlen, open + 1, tpl);
			return;
		}
		if (subs[i].html)
			put(&c->o, subs[i].value);
		else
			put_esc(&c->o, subs[i].value);
		if (compound)
			put(&c->o, strchr(subs[i].value, ' ') ? " -" : "-");
		s = close + 1;
	}
}

/* A sentence of the body, which may send the visitor to the banner by its
 * heading or its settings button: the operator's words when their texts
 * file renames them, so the statement names what the site shows. */
static void put_body(struct ctx *c, const char *text)
{
	put_tpl(c, text, c->banner, N_BANNER);
}

static void put_para(struct ctx *c, const char *section, const char *key)
{
	put(&c->o, "<p>");
	put_body(c, sec_txt(c, section, key));
	put(&c->o, "</p>\n");
}

/* "760 päivää", "12 tuntia"; whole years of days get "(2 vuotta)" after. */
static void put_amount(struct ctx *c, json_int_t n, const char *unit)
{
	char path[32], num[32];
	snprintf(path, sizeof(path), "units.%s_%s", unit,
	         n == 1 ? "one" : "many");
	snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT, n);
	struct sub s = {"n", num, false};
	put_tpl(c, txt(c, path), &s, 1);
	if (strcmp(unit, "day") == 0 && n > 0 && n % 365 == 0) {
		put(&c->o, " (");
		put_amount(c, n / 365, "year");
		put(&c->o, ")");
	}
}

/* ---- the facts ---------------------------------------------------------- */

static bool in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return true;
	return false;
}

/* Refuses members the schema does not have: a misspelt "phon" would
 * otherwise drop the phone number without a word. */
static void check_members(struct ctx *c, const json_t *obj, const char *where,
                          const char *const *allowed)
{
	const char *key;
	json_t *v;
	json_object_foreach((json_t *)obj, key, v)
	{
		if (!in_list(key, allowed)) {
			fail(c, "facts: %s: unknown member '%s'", where, key);
			return;
		}
	}
}

/* A text member: NULL when absent (an error when required) or not a
 * string; "" only for optional members, which the callers then skip. */
static const char *fact_str(struct ctx *c, const json_t *obj, const char *key,
                            const char *where, bool required)
{
	const json_t *v = json_object_get(obj, key);
	if (!v) {
		if (required)
			fail(c, "facts: %s: '%s' is missing", where, key);
		return NULL;
	}
	if (!json_is_string(v)) {
		fail(c, "facts: %s: '%s' is not a string", where, key);
		return NULL;
	}
	const char *s = json_string_value(v);
	if (required && !*s) {
		fail(c, "facts: %s: '%s' is empty", where, key);
		return NULL;
	}
	return s;
}

static bool present(const char *s)
{
	return s && *s;
}

/* A top-level array with at least `min` elements; NULL after an error,
 * which json_array_size() counts as empty, so loops simply do nothing. */
static const json_t *fact_array(struct ctx *c, const char *key, size_t min)
{
	const json_t *a = json_object_get(c->facts, key);
	if (!json_is_array(a)) {
		fail(c, "facts: '%s' is %s", key,
		     a ? "not an array" : "missing");
		return NULL;
	}
	if (json_array_size(a) < min) {
		fail(c, "facts: '%s' needs at least %zu entr%s", key, min,
		     min == 1 ? "y" : "ies");
		return NULL;
	}
	return a;
}

static const json_t *fact_object(struct ctx *c, size_t i, const json_t *arr,
                                 const char *key, char *where, size_t wlen)
{
	snprintf(where, wlen, "%s[%zu]", key, i);
	const json_t *o = json_array_get(arr, i);
	if (!json_is_object(o)) {
		fail(c, "facts: %s is not an object", where);
		return NULL;
	}
	return o;
}

/* The text for `key` among the items at `items_path`; an error naming the
 * key and the known ones when it is not there. */
static const char *item_txt(struct ctx *c, const char *items_path,
                            const char *key, const char *where)
{
	const json_t *items = node_at(c->t, items_path);
	if (!json_is_object(items)) {
		fail(c, "privacy texts: '%s.%s' is missing", c->lang,
		     items_path);
		return "";
	}
	const json_t *v = json_object_get(items, key);
	if (!v) {
		char known[256] = "";
		size_t len = 0;
		const char *k;
		json_t *ignored;
		json_object_foreach((json_t *)items, k, ignored)
		{
			int n = snprintf(known + len, sizeof(known) - len,
			                 " %s", k);
			if (n < 0 || (size_t)n >= sizeof(known) - len)
				break;
			len += (size_t)n;
		}
		fail(c, "facts: %s: unknown key '%s' (known:%s)", where, key,
		     known);
		return "";
	}
	if (!json_is_string(v)) {
		fail(c, "privacy texts: '%s.%s.%s' is not a string", c->lang,
		     items_path, key);
		return "";
	}
	return json_string_value(v);
}

/* The i-th KEY of a list, checked to be a string listed only once. */
static const char *list_key(struct ctx *c, const json_t *arr, size_t i,
                            const char *key)
{
	const json_t *v = json_array_get(arr, i);
	if (!json_is_string(v)) {
		fail(c, "facts: %s[%zu] is not a string", key, i);
		return NULL;
	}
	const char *s = json_string_value(v);
	for (size_t j = 0; j < i; j++) {
		if (json_equal(json_array_get(arr, j), v)) {
			fail(c, "facts: %s: '%s' is listed twice", key, s);
			return NULL;
		}
	}
	return s;
}

static bool has_key(const json_t *arr, const char *key)
{
	size_t i;
	json_t *v;
	json_array_foreach(arr, i, v)
	{
		if (json_is_string(v) && strcmp(json_string_value(v), key) == 0)
			return true;
	}
	return false;
}

/* ---- building blocks ---------------------------------------------------- */

static void open_section(struct ctx *c, int number, const char *id)
{
	put(&c->o, "<section id=\"");
	put(&c->o, id);
	put(&c->o, "\">\n<h2>");
	put_int(&c->o, number);
	put(&c->o, ". ");
	put_esc(&c->o, sec_txt(c, id, "heading"));
	put(&c->o, "</h2>\n");
}

static void close_section(struct ctx *c)
{
	put(&c->o, "</section>\n");
}

/* A table's box, which scrolls sideways when the table is wider than a
 * phone: a tab stop named by its section's heading, so that a keyboard
 * scrolls it too (WCAG 2.1.1). */
static void open_table(struct ctx *c, const char *section)
{
	put(&c->o, "<div class=\"table\" role=\"region\" tabindex=\"0\" "
	           "aria-label=\"");
	put_esc(&c->o, sec_txt(c, section, "heading"));
	put(&c->o, "\"><table>\n");
}

/* A list of KEYs explained by the texts at sections.<section>.<items>:
 * <ul><li data-key="KEY">text</li>...</ul>, nothing when it is empty. */
static void put_key_list(struct ctx *c, const json_t *arr, const char *key,
                         const char *section, const char *items)
{
	if (json_array_size(arr) == 0)
		return;
	char path[96];
	snprintf(path, sizeof(path), "sections.%s.%s", section, items);
	put(&c->o, "<ul>\n");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		const char *k = list_key(c, arr, i, key);
		if (!k)
			continue;
		const char *text = item_txt(c, path, k, key);
		put(&c->o, "<li data-key=\"");
		put_esc(&c->o, k);
		put(&c->o, "\">");
		put_body(c, text);
		put(&c->o, "</li>\n");
	}
	put(&c->o, "</ul>\n");
}

static void put_mailto(struct out *o, const char *email)
{
	put(o, "<a href=\"mailto:");
	put_esc(o, email);
	put(o, "\">");
	put_esc(o, email);
	put(o, "</a>");
}

/* Name, address, email, ... as a <dl>; absent and empty fields leave no
 * trace, not even their label.  Returns how many were written. */
static int put_details(struct ctx *c, const json_t *obj, const char *where,
                       const char *const *fields, const char *required)
{
	check_members(c, obj, where, fields);
	int shown = 0;
	for (const char *const *f = fields; *f; f++) {
		bool req = required && strcmp(*f, required) == 0;
		const char *v = fact_str(c, obj, *f, where, req);
		if (!present(v))
			continue;
		if (shown++ == 0)
			put(&c->o, "<dl class=\"details\">\n");
		char path[64];
		snprintf(path, sizeof(path), "fields.%s", *f);
		put(&c->o, "<dt>");
		put_txt(c, path);
		put(&c->o, "</dt><dd>");
		if (strcmp(*f, "email") == 0) {
			put_mailto(&c->o, v);
		} else if (strcmp(*f, "website") == 0) {
			/* "www.example.fi" is how people write it; the link
			 * still needs a scheme. */
			bool scheme = strncmp(v, "https://", 8) == 0 ||
			              strncmp(v, "http://", 7) == 0;
			put(&c->o, "<a href=\"");
			if (!scheme)
				put(&c->o, "https://");
			put_esc(&c->o, v);
			put(&c->o, "\">");
			put_esc(&c->o, v);
			put(&c->o, "</a>");
		} else {
			put_esc(&c->o, v);
		}
		put(&c->o, "</dd>\n");
	}
	if (shown)
		put(&c->o, "</dl>\n");
	return shown;
}

/* A table of text columns from an array of objects whose members are
 * exactly `cols`, all required. */
static void put_text_table(struct ctx *c, const json_t *arr, const char *key,
                           const char *section, const char *const *cols,
                           const char *const *headings)
{
	open_table(c, section);
	put(&c->o, "<thead><tr>");
	for (const char *const *h = headings; *h; h++) {
		put(&c->o, "<th scope=\"col\">");
		put_esc(&c->o, sec_txt(c, section, *h));
		put(&c->o, "</th>");
	}
	put(&c->o, "</tr></thead>\n<tbody>\n");
	for (size_t i = 0; i < json_array_size(arr); i++) {
		char where[64];
		const json_t *o =
		        fact_object(c, i, arr, key, where, sizeof(where));
		if (!o)
			continue;
		check_members(c, o, where, cols);
		put(&c->o, "<tr>");
		for (const char *const *col = cols; *col; col++) {
			const char *v = fact_str(c, o, *col, where, true);
			put(&c->o, col == cols ? "<th scope=\"row\">" : "<td>");
			put_esc(&c->o, v ? v : "");
			put(&c->o, col == cols ? "</th>" : "</td>");
		}
		put(&c->o, "</tr>\n");
	}
	put(&c->o, "</tbody>\n</table></div>\n");
}

/* ---- the head ----------------------------------------------------------- */

static const char style[] =
        ":root{color-scheme:light dark;--fg:#1b1f24;--bg:#fff;"
        "--muted:#4a5361;--line:#c3cad4;--head:#f1f3f6;--accent:#0a5c42}\n"
        "@media (prefers-color-scheme:dark){:root{--fg:#e7eaef;"
        "--bg:#15181d;--muted:#b4bdc9;--line:#3d4552;--head:#21262e;"
        "--accent:#72d6ae}}\n"
        "*{box-sizing:border-box}\n"
        "body{margin:0;background:var(--bg);color:var(--fg);"
        "font:16px/1.6 system-ui,-apple-system,\"Segoe UI\",Roboto,"
        "sans-serif}\n"
        "nav,main{max-width:52rem;margin:0 auto;padding:0 1.25rem}\n"
        "main{padding-bottom:3rem}\n"
        "h1{font-size:2rem;line-height:1.2;margin:1rem 0 .5rem}\n"
        "h2{font-size:1.25rem;margin-top:2.25rem;padding-bottom:.25rem;"
        "border-bottom:1px solid var(--line)}\n"
        "h3{font-size:1.05rem;margin-top:1.5rem}\n"
        "a{color:var(--accent)}\n"
        "a:focus-visible{outline:3px solid var(--accent);"
        "outline-offset:2px}\n"
        ".meta{color:var(--muted);margin-top:0}\n"
        ".langs{list-style:none;display:flex;flex-wrap:wrap;gap:1rem;"
        "margin:0;padding:.75rem 0}\n"
        ".langs [aria-current]{color:var(--fg);font-weight:700;"
        "text-decoration:none}\n"
        ".details{display:grid;grid-template-columns:max-content 1fr;"
        "gap:.25rem 1rem}\n"
        ".details dt{font-weight:600}\n"
        ".details dd{margin:0;overflow-wrap:anywhere}\n"
        ".table{overflow-x:auto}\n"
        ".table:focus-visible{outline:3px solid var(--accent);"
        "outline-offset:2px}\n"
        "table{border-collapse:collapse;width:100%;margin:1rem 0}\n"
        "caption{text-align:left;font-weight:600;padding-bottom:.5rem}\n"
        "th,td{text-align:left;vertical-align:top;padding:.45rem .7rem;"
        "border:1px solid var(--line)}\n"
        "thead th{background:var(--head)}\n"
        "code{font-family:ui-monospace,Menlo,Consolas,monospace;"
        "font-size:.9em}\n";

/* The other language versions; each must be a language of the texts, or
 * the link would lead to an error page. */
static const json_t *languages(struct ctx *c)
{
	const json_t *langs = json_object_get(c->facts, "languages");
	if (!langs)
		return NULL;
	if (!json_is_array(langs)) {
		fail(c, "facts: 'languages' is not an array");
		return NULL;
	}
	for (size_t i = 0; i < json_array_size(langs); i++) {
		const char *code = list_key(c, langs, i, "languages");
		if (code && !json_is_object(json_object_get(c->texts, code)))
			fail(c, "facts: languages: unknown language '%s'",
			     code);
	}
	return c->rc == SEULA_OK ? langs : NULL;
}

static const char *lang_name(struct ctx *c, const char *code)
{
	const json_t *n = node_at(json_object_get(c->texts, code), "lang_name");
	if (!json_is_string(n)) {
		fail(c, "privacy texts: '%s.lang_name' is missing", code);
		return "";
	}
	return json_string_value(n);
}

static void put_head(struct ctx *c, const json_t *langs)
{
	const char *reg = fact_str(c, c->facts, "register_name", "facts", true);
	put(&c->o, "<!doctype html>\n<html lang=\"");
	put_esc(&c->o, c->lang);
	put(&c->o, "\">\n<head>\n<meta charset=\"utf-8\">\n"
	           "<meta name=\"viewport\" "
	           "content=\"width=device-width, initial-scale=1\">\n<title>");
	put_txt(c, "title");
	put(&c->o, " – ");
	put_esc(&c->o, reg ? reg : "");
	put(&c->o, "</title>\n");
	for (size_t i = 0; i < json_array_size(langs); i++) {
		const char *code = json_string_value(json_array_get(langs, i));
		put(&c->o, "<link rel=\"alternate\" hreflang=\"");
		put_esc(&c->o, code);
		put(&c->o, "\" href=\"/privacy?lang=");
		put_esc(&c->o, code);
		put(&c->o, "\">\n");
	}
	put(&c->o, "<style>\n");
	put(&c->o, style);
	put(&c->o, "</style>\n</head>\n<body>\n");
}

static void put_language_links(struct ctx *c, const json_t *langs)
{
	if (json_array_size(langs) == 0)
		return;
	put(&c->o, "<nav aria-label=\"");
	put_txt(c, "languages");
	put(&c->o, "\"><ul class=\"langs\">\n");
	for (size_t i = 0; i < json_array_size(langs); i++) {
		const char *code = json_string_value(json_array_get(langs, i));
		put(&c->o, "<li><a href=\"/privacy?lang=");
		put_esc(&c->o, code);
		put(&c->o, "\" hreflang=\"");
		put_esc(&c->o, code);
		put(&c->o, "\" lang=\"");
		put_esc(&c->o, code);
		put(&c->o, strcmp(code, c->lang) == 0
		                   ? "\" aria-current=\"page\">"
		                   : "\">");
		put_esc(&c->o, lang_name(c, code));
		put(&c->o, "</a></li>\n");
	}
	put(&c->o, "</ul></nav>\n");
}

/* "2026-11-01" as <time datetime="2026-11-01">1.11.2026</time>, in the
 * language's own order. */
static void put_updated(struct ctx *c)
{
	const char *d = fact_str(c, c->facts, "updated", "facts", true);
	if (!d)
		return;
	int y = 0, m = 0, day = 0;
	bool ok = strlen(d) == 10 && d[4] == '-' && d[7] == '-';
	for (int i = 0; ok && i < 10; i++)
		ok = i == 4 || i == 7 || (d[i] >= '0' && d[i] <= '9');
	if (ok) {
		y = atoi(d);
		m = atoi(d + 5);
		day = atoi(d + 8);
		static const int mdays[] = {31, 29, 31, 30, 31, 30,
		                            31, 31, 30, 31, 30, 31};
		bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
		ok = m >= 1 && m <= 12 && day >= 1 && day <= mdays[m - 1] &&
		     (m != 2 || day <= 28 || leap);
	}
	if (!ok) {
		fail(c, "facts: 'updated' is not a date YYYY-MM-DD: '%s'", d);
		return;
	}
	const json_t *month =
	        json_array_get(node_at(c->t, "months"), (size_t)(m - 1));
	if (!json_is_string(month)) {
		fail(c, "privacy texts: '%s.months' lacks month %d", c->lang,
		     m);
		return;
	}
	char ys[12], ms[12], ds[12];
	snprintf(ys, sizeof(ys), "%d", y);
	snprintf(ms, sizeof(ms), "%d", m);
	snprintf(ds, sizeof(ds), "%d", day);
	const struct sub subs[] = {
	        {"d", ds, false},
	        {"m", ms, false},
	        {"y", ys, false},
	        {"month", json_string_value(month), false},
	};
	put_esc(&c->o, txt(c, "updated"));
	put(&c->o, " <time datetime=\"");
	put_esc(&c->o, d);
	put(&c->o, "\">");
	put_tpl(c, txt(c, "date"), subs, sizeof(subs) / sizeof(subs[0]));
	put(&c->o, "</time>");
}

/* ---- the sections, in the order of a Finnish register statement -------- */

static const char *const controller_fields[] = {
        "name", "business_id", "address", "email", "phone", "website", NULL};
static const char *const contact_fields[] = {"name", "address", "email",
                                             "phone", NULL};
static const char *const authority_fields[] = {"name",  "address", "email",
                                               "phone", "website", NULL};

static void section_controller(struct ctx *c, int n)
{
	open_section(c, n, "controller");
	const json_t *o = json_object_get(c->facts, "controller");
	if (json_is_object(o))
		put_details(c, o, "controller", controller_fields, "name");
	else
		fail(c, "facts: 'controller' is %s",
		     o ? "not an object" : "missing");
	close_section(c);
}

static void section_contact(struct ctx *c, int n)
{
	open_section(c, n, "contact");
	const json_t *o = json_object_get(c->facts, "contact");
	if (o && !json_is_object(o))
		fail(c, "facts: 'contact' is not an object");
	else if (!o || put_details(c, o, "contact", contact_fields, NULL) == 0)
		put_para(c, "contact", "same");
	close_section(c);
}

static void section_register(struct ctx *c, int n)
{
	open_section(c, n, "register");
	const char *reg = fact_str(c, c->facts, "register_name", "facts", true);
	put(&c->o, "<p>");
	put_esc(&c->o, reg ? reg : "");
	put(&c->o, "</p>\n");
	close_section(c);
}

static void section_purposes(struct ctx *c, int n)
{
	open_section(c, n, "purposes");
	const json_t *purposes = fact_array(c, "purposes", 1);
	const json_t *bases = fact_array(c, "legal_bases", 1);
	put_para(c, "purposes", "intro");
	put_key_list(c, purposes, "purposes", "purposes", "items");
	put_para(c, "purposes", "bases_intro");
	put_key_list(c, bases, "legal_bases", "purposes", "bases");
	if (has_key(bases, "contract"))
		put_para(c, "purposes", "requirement_contract");
	if (has_key(bases, "consent"))
		put_para(c, "purposes", "requirement_consent");
	close_section(c);
}

/* Sections that are an introduction and a list of KEYs. */
static void section_list(struct ctx *c, int n, const char *id, const char *fact)
{
	open_section(c, n, id);
	const json_t *arr = fact_array(c, fact, 1);
	put_para(c, id, "intro");
	put_key_list(c, arr, fact, id, "items");
	close_section(c);
}

static void section_disclosures(struct ctx *c, int n)
{
	static const char *const cols[] = {"name", "purpose", NULL};
	static const char *const heads[] = {"processor_name",
	                                    "processor_purpose", NULL};
	open_section(c, n, "disclosures");
	put_para(c, "disclosures", "staff");
	const json_t *disc = fact_array(c, "disclosures", 0);
	if (json_array_size(disc) == 0) {
		put_para(c, "disclosures", "none");
	} else {
		put_para(c, "disclosures", "intro");
		put_key_list(c, disc, "disclosures", "disclosures", "items");
	}
	put_para(c, "disclosures", "no_marketing");
	const json_t *proc = fact_array(c, "processors", 0);
	if (json_array_size(proc) == 0) {
		put_para(c, "disclosures", "processors_none");
	} else {
		put_para(c, "disclosures", "processors_intro");
		put_text_table(c, proc, "processors", "disclosures", cols,
		               heads);
	}
	close_section(c);
}

static void section_transfers(struct ctx *c, int n)
{
	static const char *const cols[] = {"recipient", "country", "safeguard",
	                                   NULL};
	open_section(c, n, "transfers");
	const json_t *tr = fact_array(c, "transfers", 0);
	if (json_array_size(tr) == 0) {
		put_para(c, "transfers", "none");
	} else {
		put_para(c, "transfers", "intro");
		put_text_table(c, tr, "transfers", "transfers", cols, cols);
	}
	close_section(c);
}

/* A non-negative integer member, or JSON null where `null_ok`. */
static bool fact_count(struct ctx *c, const json_t *v, const char *where,
                       const char *key, bool null_ok)
{
	if ((json_is_null(v) && null_ok) ||
	    (json_is_integer(v) && json_integer_value(v) >= 0))
		return true;
	fail(c, "facts: %s: '%s' must be a whole number >= 0%s", where, key,
	     null_ok ? " or null" : "");
	return false;
}

static const char *const retention_members[] = {
        "what", "site", "after", "days", "hours", "years", NULL};

/* One row, <tr data-retention="KEY" data-days="N"> exactly (data-days="null"
 * for no limit, data-hours="N" or data-years="N"), so a check can match the
 * whole
 * tag; the site goes on the row's header cell.  Returns whether the row has
 * no time limit. */
static bool retention_row(struct ctx *c, const json_t *row, const char *where)
{
	check_members(c, row, where, retention_members);
	const char *what = fact_str(c, row, "what", where, true);
	const char *site = fact_str(c, row, "site", where, false);
	const char *after = fact_str(c, row, "after", where, false);
	const json_t *days = json_object_get(row, "days");
	const json_t *hours = json_object_get(row, "hours");
	const json_t *years = json_object_get(row, "years");
	if ((days != NULL) + (hours != NULL) + (years != NULL) != 1) {
		fail(c, "facts: %s: give one of 'days', 'hours' or 'years'",
		     where);
		return false;
	}
	const char *unit = days ? "day" : hours ? "hour" : "year";
	const json_t *amount = days ? days : hours ? hours : years;
	if (!fact_count(c, amount, where,
	                days    ? "days"
	                : hours ? "hours"
	                        : "years",
	                days != NULL))
		return false;
	const char *label =
	        what ? item_txt(c, "sections.retention.items", what, where)
	             : "";
	const char *after_txt =
	        after ? item_txt(c, "sections.retention.after", after, where)
	              : NULL;

	put(&c->o, "<tr data-retention=\"");
	put_esc(&c->o, what ? what : "");
	put(&c->o, "\" data-");
	put(&c->o, unit);
	put(&c->o, "s=\"");
	if (json_is_null(days))
		put(&c->o, "null");
	else
		put_int(&c->o, json_integer_value(amount));
	put(&c->o, "\"><th scope=\"row\"");
	if (present(site)) {
		put(&c->o, " data-site=\"");
		put_esc(&c->o, site);
		put(&c->o, "\"");
	}
	put(&c->o, ">");
	put_esc(&c->o, label);
	if (present(site)) {
		struct sub s = {"site", site, false};
		put(&c->o, " ");
		put_tpl(c, sec_txt(c, "retention", "site"), &s, 1);
	}
	put(&c->o, "</th><td>");
	if (json_is_null(days))
		put_esc(&c->o, sec_txt(c, "retention", "indefinite"));
	else
		put_amount(c, json_integer_value(amount), unit);
	if (after_txt) {
		put(&c->o, " ");
		put_esc(&c->o, after_txt);
	}
	put(&c->o, "</td></tr>\n");
	return json_is_null(days);
}

static void section_retention(struct ctx *c, int n)
{
	open_section(c, n, "retention");
	const json_t *rows = fact_array(c, "retention", 1);
	put_para(c, "retention", "intro");
	open_table(c, "retention");
	put(&c->o, "<thead><tr><th scope=\"col\">");
	put_esc(&c->o, sec_txt(c, "retention", "col_what"));
	put(&c->o, "</th><th scope=\"col\">");
	put_esc(&c->o, sec_txt(c, "retention", "col_period"));
	put(&c->o, "</th></tr></thead>\n<tbody>\n");
	bool indefinite = false;
	for (size_t i = 0; i < json_array_size(rows); i++) {
		char where[64];
		const json_t *row = fact_object(c, i, rows, "retention", where,
		                                sizeof(where));
		if (row && retention_row(c, row, where))
			indefinite = true;
	}
	put(&c->o, "</tbody>\n</table></div>\n");
	if (indefinite)
		put_para(c, "retention", "indefinite_note");
	put_para(c, "retention", "expiry");
	close_section(c);
}

static void section_security(struct ctx *c, int n)
{
	open_section(c, n, "security");
	const json_t *sec = fact_array(c, "security", 0);
	if (json_array_size(sec) > 0) {
		put_para(c, "security", "intro");
		put_key_list(c, sec, "security", "security", "items");
	}
	put_para(c, "security", "principles");
	close_section(c);
}

static const char *const cookie_categories[] = {
        "necessary", "analytics", "marketing", "personalization", NULL};

/* Checks consent_categories and lists them. */
static void put_categories(struct ctx *c, const json_t *cats)
{
	static const char *const members[] = {"id", "name", "purpose", NULL};
	if (json_array_size(cats) == 0)
		return;
	put_para(c, "cookies", "categories_intro");
	put(&c->o, "<ul>\n");
	for (size_t i = 0; i < json_array_size(cats); i++) {
		char where[64];
		const json_t *o = fact_object(c, i, cats, "consent_categories",
		                              where, sizeof(where));
		if (!o)
			continue;
		check_members(c, o, where, members);
		const char *id = fact_str(c, o, "id", where, true);
		const char *name = fact_str(c, o, "name", where, true);
		const char *purpose = fact_str(c, o, "purpose", where, true);
		if (!id || !name || !purpose)
			continue;
		if (!in_list(id, cookie_categories))
			fail(c,
			     "facts: %s: unknown category '%s' (known: "
			     "necessary analytics marketing personalization)",
			     where, id);
		for (size_t j = 0; j < i; j++) {
			const json_t *prev = json_array_get(cats, j);
			if (json_equal(json_object_get(prev, "id"),
			               json_object_get(o, "id")))
				fail(c, "facts: %s: '%s' is listed twice",
				     where, id);
		}
		put(&c->o, "<li data-category=\"");
		put_esc(&c->o, id);
		put(&c->o, "\"><strong>");
		put_esc(&c->o, name);
		put(&c->o, "</strong>");
		if (strcmp(id, "necessary") == 0) {
			put(&c->o, " (");
			put_esc(&c->o, sec_txt(c, "cookies", "always_on"));
			put(&c->o, ")");
		}
		put(&c->o, ": ");
		put_esc(&c->o, purpose);
		put(&c->o, "</li>\n");
	}
	put(&c->o, "</ul>\n");
}

/* The category's name as consent_categories gives it in this language. */
static const char *category_name(struct ctx *c, const json_t *cats,
                                 const char *id, const char *where)
{
	if (!in_list(id, cookie_categories)) {
		fail(c,
		     "facts: %s: category '%s' is not one of necessary, "
		     "analytics, marketing, personalization",
		     where, id);
		return "";
	}
	size_t i;
	json_t *o;
	json_array_foreach(cats, i, o)
	{
		const json_t *v = json_object_get(o, "id");
		if (json_is_string(v) &&
		    strcmp(json_string_value(v), id) == 0 &&
		    json_is_string(json_object_get(o, "name")))
			return json_string_value(json_object_get(o, "name"));
	}
	fail(c, "facts: %s: category '%s' is not in consent_categories", where,
	     id);
	return "";
}

static void cookie_row(struct ctx *c, const json_t *cats, const json_t *o,
                       const char *where)
{
	static const char *const members[] = {"name", "category", "purpose",
	                                      "days", "provider", NULL};
	check_members(c, o, where, members);
	const char *name = fact_str(c, o, "name", where, true);
	const char *cat = fact_str(c, o, "category", where, true);
	const char *purpose = fact_str(c, o, "purpose", where, true);
	const char *provider = fact_str(c, o, "provider", where, true);
	const json_t *days = json_object_get(o, "days");
	if (!name || !cat || !purpose || !provider ||
	    !fact_count(c, days, where, "days", false))
		return;
	json_int_t d = json_integer_value(days);
	/* The row is <tr data-cookie="NAME"> exactly; category and period
	 * are on their cells. */
	put(&c->o, "<tr data-cookie=\"");
	put_esc(&c->o, name);
	put(&c->o, "\"><th scope=\"row\"><code>");
	put_esc(&c->o, name);
	put(&c->o, "</code></th><td data-category=\"");
	put_esc(&c->o, cat);
	put(&c->o, "\">");
	put_esc(&c->o, category_name(c, cats, cat, where));
	put(&c->o, "</td><td>");
	put_esc(&c->o, purpose);
	put(&c->o, "</td><td data-days=\"");
	put_int(&c->o, d);
	put(&c->o, "\">");
	if (d == 0)
		put_txt(c, "units.session");
	else
		put_amount(c, d, "day");
	put(&c->o, "</td><td>");
	put_esc(&c->o, provider);
	put(&c->o, "</td></tr>\n");
}

static void section_cookies(struct ctx *c, int n)
{
	static const char *const cols[] = {"col_name",     "col_category",
	                                   "col_purpose",  "col_duration",
	                                   "col_provider", NULL};
	open_section(c, n, "cookies");
	const json_t *cookies = fact_array(c, "cookies", 0);
	const json_t *cats = fact_array(c, "consent_categories", 0);
	put_para(c, "cookies", "intro");
	put_categories(c, cats);
	if (json_array_size(cookies) == 0) {
		put_para(c, "cookies", "none");
	} else {
		open_table(c, "cookies");
		put(&c->o, "<caption>");
		put_esc(&c->o, sec_txt(c, "cookies", "table_caption"));
		put(&c->o, "</caption>\n<thead><tr>");
		for (const char *const *h = cols; *h; h++) {
			put(&c->o, "<th scope=\"col\">");
			put_esc(&c->o, sec_txt(c, "cookies", *h));
			put(&c->o, "</th>");
		}
		put(&c->o, "</tr></thead>\n<tbody>\n");
		for (size_t i = 0; i < json_array_size(cookies); i++) {
			char where[64];
			const json_t *o = fact_object(c, i, cookies, "cookies",
			                              where, sizeof(where));
			if (o)
				cookie_row(c, cats, o, where);
		}
		put(&c->o, "</tbody>\n</table></div>\n");
	}
	put_para(c, "cookies", "identification");
	/* Whether a visit is counted before a choice is the config's
	 * (without_consent); absent, the default, that it is. */
	const json_t *counted =
	        json_object_get(c->facts, "counted_without_consent");
	if (counted && !json_is_boolean(counted))
		fail(c, "facts: 'counted_without_consent' is not a boolean");
	put_para(c, "cookies",
	         json_is_false(counted) ? "without_consent_uncounted"
	                                : "without_consent");
	put_para(c, "cookies", "change");
	close_section(c);
}

/* Where requests go: rights_email, else the contact person's, else the
 * controller's; a statement that tells no address is refused. */
static const char *rights_email(struct ctx *c)
{
	const char *e = fact_str(c, c->facts, "rights_email", "facts", false);
	if (present(e))
		return e;
	static const char *const owners[] = {"contact", "controller"};
	for (size_t i = 0; i < 2; i++) {
		const json_t *o = json_object_get(c->facts, owners[i]);
		const json_t *v =
		        json_is_object(o) ? json_object_get(o, "email") : NULL;
		if (json_is_string(v) && *json_string_value(v))
			return json_string_value(v);
	}
	fail(c, "facts: no address for requests: give 'rights_email', "
	        "contact.email or controller.email");
	return NULL;
}

static void section_rights(struct ctx *c, int n)
{
	static const char *const rights[] = {
	        "access",    "rectification", "erasure",          "restriction",
	        "objection", "portability",   "withdraw_consent", NULL};
	open_section(c, n, "rights");
	put_para(c, "rights", "intro");
	put(&c->o, "<ul>\n");
	for (const char *const *r = rights; *r; r++) {
		char path[64];
		snprintf(path, sizeof(path), "sections.rights.items.%s", *r);
		put(&c->o, "<li data-key=\"");
		put(&c->o, *r);
		put(&c->o, "\">");
		put_body(c, txt(c, path));
		put(&c->o, "</li>\n");
	}
	put(&c->o, "</ul>\n<h3>");
	put_esc(&c->o, sec_txt(c, "rights", "how_heading"));
	put(&c->o, "</h3>\n<p>");
	const char *email = rights_email(c);
	char *link = NULL;
	if (email) {
		/* The link is built apart so put_tpl can place it anywhere
		 * in the sentence. */
		struct out tmp = {0};
		put_mailto(&tmp, email);
		c->o.oom |= tmp.oom;
		link = tmp.p;
	}
	struct sub s = {"email", link ? link : "", true};
	put_tpl(c, sec_txt(c, "rights", "how"), &s, 1);
	free(link);
	put(&c->o, "</p>\n");
	put_para(c, "rights", "identity");
	put_para(c, "rights", "deadline");
	put_para(c, "rights", "free");
	close_section(c);
}

static void section_authority(struct ctx *c, int n)
{
	open_section(c, n, "authority");
	put_para(c, "authority", "intro");
	const json_t *o = json_object_get(c->facts, "authority");
	if (json_is_object(o)) {
		put_para(c, "authority", "details");
		put_details(c, o, "authority", authority_fields, "name");
	} else {
		fail(c, "facts: 'authority' is %s",
		     o ? "not an object" : "missing");
	}
	close_section(c);
}

/* ---- the page ----------------------------------------------------------- */

static const char *const fact_members[] = {"updated",
                                           "register_name",
                                           "controller",
                                           "contact",
                                           "purposes",
                                           "legal_bases",
                                           "data_categories",
                                           "sources",
                                           "disclosures",
                                           "processors",
                                           "transfers",
                                           "retention",
                                           "security",
                                           "cookies",
                                           "consent_categories",
                                           "counted_without_consent",
                                           "rights_email",
                                           "authority",
                                           "languages",
                                           "banner_title",
                                           "banner_reopen",
                                           NULL};

int seula_privacy_render(const json_t *facts, const json_t *texts,
                         const char *lang, char **html, char *err,
                         size_t errlen)
{
	struct ctx c = {.facts = facts,
	                .texts = texts,
	                .lang = lang,
	                .rc = SEULA_OK,
	                .err = err,
	                .errlen = errlen};
	if (err && errlen)
		err[0] = '\0';
	if (!json_is_object(texts)) {
		fail(&c, "privacy texts: not an object");
		return c.rc;
	}
	c.t = lang ? json_object_get(texts, lang) : NULL;
	if (!json_is_object(c.t)) {
		fail(&c, "unknown language '%s'", lang ? lang : "(null)");
		return c.rc;
	}
	if (!json_is_object(facts)) {
		fail(&c, "facts: not an object");
		return c.rc;
	}
	check_members(&c, facts, "facts", fact_members);
	static const char *const banner_keys[N_BANNER] = {"banner_title",
	                                                  "banner_reopen"};
	for (size_t i = 0; i < N_BANNER; i++) {
		const char *v =
		        fact_str(&c, facts, banner_keys[i], "facts", true);
		c.banner[i] = (struct sub){banner_keys[i], v ? v : "", false};
	}

	const json_t *langs = languages(&c);
	put_head(&c, langs);
	put_language_links(&c, langs);
	put(&c.o, "<main>\n<h1>");
	put_txt(&c, "title");
	put(&c.o, "</h1>\n<p class=\"meta\">");
	put_txt(&c, "law");
	put(&c.o, "<br>");
	put_updated(&c);
	put(&c.o, "</p>\n");

	int n = 0;
	section_controller(&c, ++n);
	section_contact(&c, ++n);
	section_register(&c, ++n);
	section_purposes(&c, ++n);
	section_list(&c, ++n, "data", "data_categories");
	section_list(&c, ++n, "sources", "sources");
	section_disclosures(&c, ++n);
	section_transfers(&c, ++n);
	section_retention(&c, ++n);
	section_security(&c, ++n);
	section_cookies(&c, ++n);
	section_rights(&c, ++n);
	section_authority(&c, ++n);
	put(&c.o, "</main>\n</body>\n</html>\n");

	if (c.o.oom && c.rc == SEULA_OK) {
		c.rc = SEULA_ENOMEM;
		if (err && errlen)
			snprintf(err, errlen, "out of memory");
	}
	if (c.rc != SEULA_OK) {
		free(c.o.p);
		return c.rc;
	}
	*html = c.o.p;
	return SEULA_OK;
}
