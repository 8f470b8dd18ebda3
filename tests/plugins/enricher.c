/*
 * enricher.c - an enrich-stage plugin for the tests: proves the enrich stage
 * sees the full client IP and the captured headers, and gives the stage
 * order check something to refuse when it is listed after anonymize.
 */
#include <seula/plugin.h>

#include <stdlib.h>
#include <string.h>

struct enricher {
	const struct seula_host *host;
};

static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	(void)config, (void)errmsg;
	struct enricher *e = calloc(1, sizeof(*e));
	if (!e)
		return SEULA_ENOMEM;
	e->host = host;
	*instance = e;
	return SEULA_OK;
}

static void shutdown_(void *instance)
{
	free(instance);
}

static enum seula_verdict on_event(void *instance, struct seula_event *ev)
{
	struct enricher *e = instance;
	const struct seula_ip *ip = e->host->event_ip(ev);
	/* "ZZ": saw an address (the user-assigned ISO code, never real). */
	if (ip)
		e->host->event_set_str(ev, SEULA_FIELD_COUNTRY, "ZZ", 2);
	const char *gpc = e->host->event_header(ev, "sec-gpc");
	if (gpc)
		e->host->event_set_str(ev, SEULA_FIELD_REGION, gpc,
		                       strlen(gpc));
	return SEULA_KEEP;
}

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        SEULA_PLUGIN_HEADER,
        .name = "enricher",
        .version = "0.0.1",
        .description = "test enrich-stage plugin",
        .init = init,
        .shutdown = shutdown_,
        .stage = SEULA_STAGE_ENRICH,
        .on_event = on_event,
};
