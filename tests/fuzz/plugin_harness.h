/*
 * plugin_harness.h - set up one plugin linked into a fuzzer the way the
 * loader would: config rows applied to its section, the real host table,
 * init.  The plugin's sources are compiled into the fuzzer, so its
 * descriptor is the `seula_plugin` symbol.
 */
#ifndef SEULA_PLUGIN_HARNESS_H
#define SEULA_PLUGIN_HARNESS_H

#include "config.h"
#include "event.h"
#include "host.h"

#include <stdio.h>
#include <stdlib.h>

extern const struct seula_plugin seula_plugin;

struct harness {
	struct seula_config cfg;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_host_impl host;
	void *config;
	void *instance;
};

/* overrides: "plugin.NAME.key=value" strings, NULL-terminated. */
static inline void harness_init(struct harness *h, const char *const *overrides)
{
	char err[1024], section[80];
	h->log = (struct seula_logger){SEULA_LOG_ERROR, NULL};
	h->env = (struct seula_host_env){&h->log, NULL, NULL, NULL};
	snprintf(section, sizeof(section), "plugin.%s", seula_plugin.name);
	h->config = calloc(1, seula_plugin.config_size);
	char *msg = NULL;
	if (seula_config_load(&h->cfg, NULL, overrides, err, sizeof(err)) ||
	    seula_config_apply(&h->cfg, section, seula_plugin.config_rows,
	                       h->config, err, sizeof(err))) {
		fprintf(stderr, "%s\n", err);
		abort();
	}
	seula_host_init(&h->host, seula_plugin.name, &h->env);
	if (seula_plugin.init(&h->host.pub, h->config, &h->instance, &msg)) {
		fprintf(stderr, "%s\n", msg ? msg : "init failed");
		abort();
	}
}

#endif
