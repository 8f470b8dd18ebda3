/*
 * uap.c - the uap-core rule engine.  libyaml reads regexes.yaml; PCRE2
 * compiles each rule and JIT-compiles it.  Matching is byte-wise (no UTF
 * mode), so any input is matched without a validity check, and a match
 * limit bounds the work a hostile string can cause.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "uap.h"

#include "textfile.h"

#include <seula/plugin.h>

#include <pcre2.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <yaml.h>

#define MATCH_LIMIT 200000
/* uap-core's regexes.yaml is about 0.3 MB. */
#define UAP_FILE_MAX (64u * 1024 * 1024)

enum list { LIST_UA, LIST_OS, LIST_DEVICE, LIST_COUNT };

/* Replacement slots per list, in the order of the spec's tables. */
static const char *const slot_keys[LIST_COUNT][5] = {
        {"family_replacement", "v1_replacement", "v2_replacement",
         "v3_replacement", NULL},
        {"os_replacement", "os_v1_replacement", "os_v2_replacement",
         "os_v3_replacement", "os_v4_replacement"},
        {"device_replacement", "brand_replacement", "model_replacement", NULL,
         NULL},
};

struct rule {
	pcre2_code *re;
	char *repl[5];
};

struct rules {
	struct rule *items;
	size_t n, cap;
};

struct uap {
	struct rules lists[LIST_COUNT];
	uint32_t max_pairs;
	pcre2_match_context *mctx;
};

static void rules_free(struct rules *r)
{
	for (size_t i = 0; i < r->n; i++) {
		pcre2_code_free(r->items[i].re);
		for (int k = 0; k < 5; k++)
			free(r->items[i].repl[k]);
	}
	free(r->items);
}

void uap_free(struct uap *uap)
{
	if (!uap)
		return;
	for (int l = 0; l < LIST_COUNT; l++)
		rules_free(&uap->lists[l]);
	pcre2_match_context_free(uap->mctx);
	free(uap);
}

void uap_counts(const struct uap *uap, size_t *ua, size_t *os, size_t *dev)
{
	*ua = uap->lists[LIST_UA].n;
	*os = uap->lists[LIST_OS].n;
	*dev = uap->lists[LIST_DEVICE].n;
}

static const char *scalar(yaml_document_t *doc, yaml_node_t *node)
{
	if (!node || node->type != YAML_SCALAR_NODE)
		return NULL;
	(void)doc;
	return (const char *)node->data.scalar.value;
}

static int add_rule(struct uap *uap, enum list l, yaml_document_t *doc,
                    yaml_node_t *map, char *err, size_t errlen)
{
	const char *regex = NULL;
	bool caseless = false;
	struct rule rule;
	memset(&rule, 0, sizeof(rule));
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k =
		        scalar(doc, yaml_document_get_node(doc, p->key));
		const char *v =
		        scalar(doc, yaml_document_get_node(doc, p->value));
		if (!k || !v)
			continue;
		if (strcmp(k, "regex") == 0) {
			regex = v;
		} else if (strcmp(k, "regex_flag") == 0) {
			caseless = strchr(v, 'i') != NULL;
		} else {
			for (int s = 0; s < 5; s++)
				if (slot_keys[l][s] &&
				    strcmp(k, slot_keys[l][s]) == 0 &&
				    !(rule.repl[s] = strdup(v)))
					goto oom;
		}
	}
	if (!regex) {
		snprintf(err, errlen, "line %zu: a rule without a regex",
		         map->start_mark.line + 1);
		goto fail;
	}
	int code;
	PCRE2_SIZE offset;
	rule.re = pcre2_compile((PCRE2_SPTR)regex, PCRE2_ZERO_TERMINATED,
	                        caseless ? PCRE2_CASELESS : 0, &code, &offset,
	                        NULL);
	if (!rule.re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen, "line %zu: regex does not compile: %s",
		         map->start_mark.line + 1, (const char *)msg);
		goto fail;
	}
	/* Without JIT the interpreter still matches; JIT is speed only. */
	pcre2_jit_compile(rule.re, PCRE2_JIT_COMPLETE);
	uint32_t groups = 0;
	pcre2_pattern_info(rule.re, PCRE2_INFO_CAPTURECOUNT, &groups);
	if (groups + 1 > uap->max_pairs)
		uap->max_pairs = groups + 1;

	struct rules *r = &uap->lists[l];
	if (r->n == r->cap) {
		size_t cap = r->cap ? r->cap * 2 : 256;
		void *p = realloc(r->items, cap * sizeof(*r->items));
		if (!p)
			goto oom;
		r->items = p;
		r->cap = cap;
	}
	r->items[r->n++] = rule;
	return 0;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	pcre2_code_free(rule.re);
	for (int k = 0; k < 5; k++)
		free(rule.repl[k]);
	return -1;
}

struct uap *uap_load(const char *path, char *err, size_t errlen)
{
	/* Read as a file first: a directory or a FIFO named by mistake is
	 * said so, not waited on or parsed as an empty document. */
	char *text = NULL;
	size_t text_len = 0;
	if (seula_textfile_read(path, UAP_FILE_MAX, &text, &text_len, err,
	                        errlen) != SEULA_OK)
		return NULL;
	struct uap *uap = calloc(1, sizeof(*uap));
	yaml_parser_t parser;
	yaml_document_t doc;
	bool have_doc = false;
	if (!uap || !yaml_parser_initialize(&parser)) {
		free(text);
		free(uap);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text,
	                             text_len);
	char why[256] = "";
	if (!yaml_parser_load(&parser, &doc)) {
		snprintf(why, sizeof(why), "line %zu: %s",
		         parser.problem_mark.line + 1,
		         parser.problem ? parser.problem : "not YAML");
		goto fail;
	}
	have_doc = true;
	yaml_node_t *root = yaml_document_get_root_node(&doc);
	if (!root || root->type != YAML_MAPPING_NODE) {
		snprintf(why, sizeof(why), "not a uap-core regexes file");
		goto fail;
	}
	static const char *const names[LIST_COUNT] = {
	        "user_agent_parsers", "os_parsers", "device_parsers"};
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top; p++) {
		const char *k =
		        scalar(&doc, yaml_document_get_node(&doc, p->key));
		yaml_node_t *seq = yaml_document_get_node(&doc, p->value);
		for (int l = 0; k && l < LIST_COUNT; l++) {
			if (strcmp(k, names[l]) != 0)
				continue;
			if (!seq || seq->type != YAML_SEQUENCE_NODE) {
				snprintf(why, sizeof(why), "%s is not a list",
				         k);
				goto fail;
			}
			for (yaml_node_item_t *it =
			             seq->data.sequence.items.start;
			     it < seq->data.sequence.items.top; it++) {
				yaml_node_t *m =
				        yaml_document_get_node(&doc, *it);
				if (!m || m->type != YAML_MAPPING_NODE)
					continue;
				if (add_rule(uap, (enum list)l, &doc, m, why,
				             sizeof(why)))
					goto fail;
			}
		}
	}
	if (!uap->lists[LIST_UA].n || !uap->lists[LIST_OS].n) {
		snprintf(why, sizeof(why),
		         "no user_agent_parsers or os_parsers found");
		goto fail;
	}
	uap->mctx = pcre2_match_context_create(NULL);
	if (!uap->mctx) {
		snprintf(why, sizeof(why), "out of memory");
		goto fail;
	}
	pcre2_set_match_limit(uap->mctx, MATCH_LIMIT);
	yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	return uap;
fail:
	snprintf(err, errlen, "%s: %s", path, why);
	if (have_doc)
		yaml_document_delete(&doc);
	yaml_parser_delete(&parser);
	free(text);
	uap_free(uap);
	return NULL;
}

/* Text of group g, or NULL when it did not take part or is empty. */
static const char *group(const char *subject, const PCRE2_SIZE *ov,
                         uint32_t pairs, uint32_t g, size_t *len)
{
	if (g >= pairs || ov[2 * g] == PCRE2_UNSET ||
	    ov[2 * g + 1] <= ov[2 * g])
		return NULL;
	*len = ov[2 * g + 1] - ov[2 * g];
	return subject + ov[2 * g];
}

/* Fill out from a replacement with $1..$9, or from group `g` when there is
 * no replacement; trimmed; "" when nothing. */
static void take(char *out, size_t cap, const char *repl, const char *subject,
                 const PCRE2_SIZE *ov, uint32_t pairs, uint32_t g)
{
	size_t n = 0, len;
	const char *s;
	if (!repl) {
		if ((s = group(subject, ov, pairs, g, &len))) {
			n = len < cap - 1 ? len : cap - 1;
			memcpy(out, s, n);
		}
	} else {
		for (const char *p = repl; *p && n < cap - 1; p++) {
			if (p[0] == '$' && p[1] >= '1' && p[1] <= '9') {
				if ((s = group(subject, ov, pairs,
				               (uint32_t)(p[1] - '0'), &len)))
					for (size_t i = 0;
					     i < len && n < cap - 1; i++)
						out[n++] = s[i];
				p++;
				continue;
			}
			out[n++] = *p;
		}
	}
	out[n] = '\0';
	size_t start = 0;
	while (out[start] == ' ')
		start++;
	while (n > start && out[n - 1] == ' ')
		n--;
	memmove(out, out + start, n - start);
	out[n - start] = '\0';
}

/* The first rule that matches, with *pairs the ovector pairs it set (pairs
 * past that hold another match's offsets). */
static const struct rule *
first_match(const struct rules *r, const char *subject, size_t len,
            pcre2_match_data *md, pcre2_match_context *mctx, uint32_t *pairs)
{
	for (size_t i = 0; i < r->n; i++) {
		int rc = pcre2_match(r->items[i].re, (PCRE2_SPTR)subject, len,
		                     0, 0, md, mctx);
		if (rc > 0) {
			*pairs = (uint32_t)rc;
			return &r->items[i];
		}
	}
	return NULL;
}

void uap_parse(const struct uap *uap, const char *ua, size_t len,
               struct uap_result *out)
{
	memset(out, 0, sizeof(*out));
	pcre2_match_data *md = pcre2_match_data_create(uap->max_pairs, NULL);
	if (!md) {
		strcpy(out->family, "Other");
		strcpy(out->os, "Other");
		strcpy(out->device, "Other");
		return;
	}
	const PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
	uint32_t pairs;
	const struct rule *r;

	r = first_match(&uap->lists[LIST_UA], ua, len, md, uap->mctx, &pairs);
	if (r) {
		take(out->family, sizeof(out->family), r->repl[0], ua, ov,
		     pairs, 1);
		take(out->major, sizeof(out->major), r->repl[1], ua, ov, pairs,
		     2);
		take(out->minor, sizeof(out->minor), r->repl[2], ua, ov, pairs,
		     3);
	}
	if (!out->family[0])
		strcpy(out->family, "Other");

	r = first_match(&uap->lists[LIST_OS], ua, len, md, uap->mctx, &pairs);
	if (r) {
		take(out->os, sizeof(out->os), r->repl[0], ua, ov, pairs, 1);
		take(out->os_major, sizeof(out->os_major), r->repl[1], ua, ov,
		     pairs, 2);
	}
	if (!out->os[0])
		strcpy(out->os, "Other");

	r = first_match(&uap->lists[LIST_DEVICE], ua, len, md, uap->mctx,
	                &pairs);
	if (r) {
		take(out->device, sizeof(out->device), r->repl[0], ua, ov,
		     pairs, 1);
		if (r->repl[1])
			take(out->brand, sizeof(out->brand), r->repl[1], ua, ov,
			     pairs, 0);
		take(out->model, sizeof(out->model), r->repl[2], ua, ov, pairs,
		     1);
	}
	if (!out->device[0])
		strcpy(out->device, "Other");
	pcre2_match_data_free(md);
}
