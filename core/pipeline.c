/*
 * pipeline.c - running on_event hooks in stage order.
 */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>

static const char *stage_name(enum seula_stage s)
{
	switch (s) {
	case SEULA_STAGE_ENRICH: return "enrich";
	case SEULA_STAGE_PROTECT: return "protect";
	case SEULA_STAGE_FILTER: return "filter";
	}
	return "?";
}

int seula_pipeline_build(struct seula_pipeline *pl,
                         const struct seula_plugins *plugins, char *err,
                         size_t errlen)
{
	pl->n = 0;
	pl->redactor = NULL;
	pl->hooks = calloc(plugins->n ? plugins->n : 1, sizeof(*pl->hooks));
	if (!pl->hooks)
		return SEULA_ENOMEM;
	int rc = seula_redactor_new(&pl->redactor, true, err, errlen);
	if (rc != SEULA_OK) {
		free(pl->hooks);
		pl->hooks = NULL;
		return rc;
	}
	const struct seula_loaded_plugin *prev = NULL;
	for (size_t i = 0; i < plugins->n; i++) {
		const struct seula_loaded_plugin *p = &plugins->list[i];
		if (!p->desc.on_event)
			continue;
		if (prev && p->desc.stage < prev->desc.stage) {
			snprintf(err, errlen,
			         "[plugins] load: '%s' (stage %s) is listed "
			         "after '%s' (stage %s); list enrich plugins "
			         "first, then protect, then filter",
			         p->desc.name, stage_name(p->desc.stage),
			         prev->desc.name, stage_name(prev->desc.stage));
			seula_pipeline_free(pl);
			return SEULA_EINVAL;
		}
		pl->hooks[pl->n++] = p;
		prev = p;
	}
	return SEULA_OK;
}

void seula_pipeline_free(struct seula_pipeline *pl)
{
	free(pl->hooks);
	pl->hooks = NULL;
	pl->n = 0;
	seula_redactor_free(pl->redactor);
	pl->redactor = NULL;
}

int seula_pipeline_run(const struct seula_pipeline *pl,
                       struct seula_event **events, size_t *n,
                       const char **failed)
{
	int rc = SEULA_OK;
	size_t kept = 0;
	for (size_t e = 0; e < *n; e++) {
		struct seula_event *ev = events[e];
		bool keep = true;
		bool wiped = false;
		for (size_t h = 0; h < pl->n && keep && rc == SEULA_OK; h++) {
			const struct seula_loaded_plugin *p = pl->hooks[h];
			/* The full IP goes as soon as the protect stage is
			 * behind us, plugin or not. */
			if (!wiped && p->desc.stage > SEULA_STAGE_PROTECT) {
				seula_event_wipe_ip(ev);
				wiped = true;
			}
			enum seula_verdict v =
			        p->desc.on_event(p->instance, ev);
			if (v == SEULA_DROP) {
				keep = false;
			} else if (v != SEULA_KEEP) {
				rc = SEULA_EIO;
				*failed = p->desc.name;
			}
		}
		seula_event_wipe_ip(ev);
		if (keep && rc == SEULA_OK &&
		    seula_redact_event(pl->redactor, ev) != SEULA_OK) {
			rc = SEULA_EIO;
			*failed = "redact";
		}
		if (keep)
			events[kept++] = ev;
	}
	if (rc != SEULA_OK)
		return rc;
	*n = kept;
	return SEULA_OK;
}
