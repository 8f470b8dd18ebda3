/*
 * bots.c - crawler patterns joined into one alternation: one JIT match per
 * user agent instead of hundreds.
 */
#define PCRE2_CODE_UNIT_WIDTH 8
#include "bots.h"

#include "textfile.h"

#include <seula/plugin.h>

#include <jansson.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* crawler-user-agents.json is about 0.2 MB. */
#define BOTS_FILE_MAX (64u * 1024 * 1024)

struct bots {
	pcre2_code *re;
	pcre2_match_context *mctx;
};

void bots_free(struct bots *bots)
{
	if (!bots)
		return;
	pcre2_code_free(bots->re);
	pcre2_match_context_free(bots->mctx);
	free(bots);
}

static bool compiles(const char *pattern)
{
	int code;
	PCRE2_SIZE off;
	pcre2_code *re =
	        pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
	                      &code, &off, NULL);
	pcre2_code_free(re);
	return re != NULL;
}

struct bots *bots_load(const char *path, size_t *patterns, size_t *skipped,
                       char *err, size_t errlen)
{
	*patterns = *skipped = 0;
	/* Read as a file first: a directory or a FIFO named by mistake is
	 * said so, not waited on or parsed as an empty document. */
	char *text = NULL;
	size_t text_len = 0;
	if (seula_textfile_read(path, BOTS_FILE_MAX, &text, &text_len, err,
	                        errlen) != SEULA_OK)
		return NULL;
	json_error_t jerr;
	json_t *list = json_loadb(text, text_len, 0, &jerr);
	free(text);
	if (!list || !json_is_array(list)) {
		snprintf(err, errlen, "%s: %s", path,
		         list ? "not a JSON array" : jerr.text);
		json_decref(list);
		return NULL;
	}
	size_t cap = 4096, len = 0;
	char *joined = malloc(cap);
	struct bots *bots = calloc(1, sizeof(*bots));
	if (!joined || !bots)
		goto oom;
	size_t i;
	json_t *item;
	json_array_foreach(list, i, item)
	{
		const char *p =
		        json_string_value(json_object_get(item, "pattern"));
		if (!p || !*p || !compiles(p)) {
			(*skipped)++;
			continue;
		}
		size_t need = strlen(p) + 8;
		if (len + need >= cap) {
			cap = (len + need) * 2;
			char *grown = realloc(joined, cap);
			if (!grown)
				goto oom;
			joined = grown;
		}
		len += (size_t)snprintf(joined + len, cap - len, "%s(?:%s)",
		                        len ? "|" : "", p);
		(*patterns)++;
	}
	json_decref(list);
	list = NULL;
	if (!*patterns) {
		snprintf(err, errlen, "%s: no usable pattern", path);
		goto fail;
	}
	int code;
	PCRE2_SIZE off;
	bots->re = pcre2_compile((PCRE2_SPTR)joined, len, 0, &code, &off, NULL);
	if (!bots->re) {
		PCRE2_UCHAR msg[160];
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errlen,
		         "%s: the joined patterns do not compile: %s", path,
		         (const char *)msg);
		goto fail;
	}
	pcre2_jit_compile(bots->re, PCRE2_JIT_COMPLETE);
	bots->mctx = pcre2_match_context_create(NULL);
	if (!bots->mctx)
		goto oom;
	pcre2_set_match_limit(bots->mctx, 200000);
	free(joined);
	return bots;
oom:
	snprintf(err, errlen, "out of memory");
fail:
	json_decref(list);
	free(joined);
	bots_free(bots);
	return NULL;
}

bool bots_match(const struct bots *bots, const char *ua, size_t len)
{
	pcre2_match_data *md = pcre2_match_data_create(1, NULL);
	if (!md)
		return false;
	int rc = pcre2_match(bots->re, (PCRE2_SPTR)ua, len, 0, 0, md,
	                     bots->mctx);
	pcre2_match_data_free(md);
	return rc > 0;
}
