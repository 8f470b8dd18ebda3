/*
 * pipeline.h - the stages every event passes on the loop thread:
 * enrich -> protect -> (the core wipes the full IP) -> filter.
 *
 * After the filter stage the core takes e-mail addresses out of what is
 * stored (redact.h): after it, so that a filter plugin may still read the
 * address an identify event carries, and take it out itself.
 *
 * The consent stage of DESIGN.md (what may be kept given the visitor's
 * consent records) joins between protect and filter with the consent
 * records; until then a visitor id arrives only when the tracker was told
 * analytics is allowed.
 */
#ifndef SEULA_PIPELINE_H
#define SEULA_PIPELINE_H

#include "event.h"
#include "loader.h"
#include "redact.h"

struct seula_pipeline {
	const struct seula_loaded_plugin **hooks; /* plugins with on_event */
	size_t n;
	struct seula_redactor *redactor; /* owned: e-mail addresses out */
};

/* Refuses a plugin order that breaks the stage order. */
int seula_pipeline_build(struct seula_pipeline *pl,
                         const struct seula_plugins *plugins, char *err,
                         size_t errlen);
void seula_pipeline_free(struct seula_pipeline *pl);

/*
 * Run `events` through every hook.  Dropped events are removed from the
 * array (*n shrinks).  Whatever happens, no event leaves with a full IP,
 * and a kept one leaves with its e-mail addresses redacted (redact.h).
 * Returns SEULA_OK, or SEULA_EIO when a plugin answered SEULA_ERROR, with
 * *failed naming it ("redact" when the redaction ran out of memory).
 */
int seula_pipeline_run(const struct seula_pipeline *pl,
                       struct seula_event **events, size_t *n,
                       const char **failed);

#endif
