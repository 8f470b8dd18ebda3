/*
 * loader.h - loading plugins: dlopen, ABI check, config rows, init.
 *
 * Loading happens in two steps so that migrations run between them:
 * seula_plugins_load() opens every plugin the config lists and parses its
 * section; seula_plugins_init() calls each init in config order.  Either
 * step fails with a message naming the file, the reason and the fix; the
 * server never starts with a plugin half loaded.
 */
#ifndef SEULA_LOADER_H
#define SEULA_LOADER_H

#include "config.h"
#include "host.h"

#include <seula/plugin.h>
#include <stdbool.h>

struct seula_loaded_plugin {
	char *path;
	void *handle;
	struct seula_plugin desc; /* the plugin's, zero-extended to our size */
	void *config;             /* config struct, filled by the rows */
	void *instance;
	bool initialised;
	struct seula_host_impl host;
};

struct seula_plugins {
	struct seula_loaded_plugin *list;
	size_t n;
};

/* Default plugin folder: plugins/ beside the running binary.  Caller frees. */
char *seula_default_plugin_dir(void);

/* Open and check every plugin in cfg->plugins from `dir`. */
int seula_plugins_load(struct seula_plugins *out, struct seula_config *cfg,
                       const char *dir, const struct seula_host_env *env,
                       char *err, size_t errlen);
/* Check one descriptor against this host's ABI (exposed for tests). */
int seula_plugin_check_abi(const struct seula_plugin *desc, const char *path,
                           char *err, size_t errlen);
int seula_plugins_init(struct seula_plugins *plugins, char *err, size_t errlen);
/* Shutdown in reverse order, then dlclose; NULL-safe. */
void seula_plugins_free(struct seula_plugins *plugins);

const struct seula_loaded_plugin *
seula_plugins_find(const struct seula_plugins *plugins, const char *name);

#endif
