/*
 * loader.c - plugin loading.
 */
#include "loader.h"

#include <dlfcn.h>
#include <limits.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The descriptor size of each released minor version: a plugin claiming
 * minor M must be at least this big. */
static const uint32_t min_size_for_minor[] = {
        [0] = (uint32_t)offsetof(struct seula_plugin, reload),
        [1] = (uint32_t)offsetof(struct seula_plugin, subject),
        [2] = (uint32_t)offsetof(struct seula_plugin, subject),
        [3] = (uint32_t)sizeof(struct seula_plugin),
        [4] = (uint32_t)sizeof(struct seula_plugin),
        [5] = (uint32_t)sizeof(struct seula_plugin),
        [6] = (uint32_t)sizeof(struct seula_plugin),
        [7] = (uint32_t)sizeof(struct seula_plugin),
        [8] = (uint32_t)sizeof(struct seula_plugin),
        [9] = (uint32_t)sizeof(struct seula_plugin),
        [10] = (uint32_t)sizeof(struct seula_plugin),
        [11] = (uint32_t)sizeof(struct seula_plugin),
        [12] = (uint32_t)sizeof(struct seula_plugin),
};
_Static_assert(sizeof(min_size_for_minor) / sizeof(*min_size_for_minor) ==
                       SEULA_ABI_MINOR + 1,
               "a new ABI minor needs its descriptor size here");

char *seula_default_plugin_dir(void)
{
	char exe[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		char *slash = strrchr(exe, '/');
		if (slash) {
			*slash = '\0';
			char *dir = NULL;
			if (asprintf(&dir, "%s/plugins", exe) < 0)
				return NULL;
			struct stat st;
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
				return dir;
			free(dir);
			/* Installed: PREFIX/bin/seula and
			 * PREFIX/lib/seula/plugins, whatever the prefix. */
			if (asprintf(&dir, "%s/../%s", exe,
			             SEULA_PLUGIN_INSTALL_REL) < 0)
				return NULL;
			if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode))
				return dir;
			free(dir);
		}
	}
	return strdup(SEULA_PLUGIN_INSTALL_DIR);
}

int seula_plugin_check_abi(const struct seula_plugin *desc, const char *path,
                           char *err, size_t errlen)
{
	if (desc->abi_major != SEULA_ABI_MAJOR) {
		snprintf(err, errlen,
		         "%s: built for plugin ABI %u.%u, this seula speaks "
		         "%d.%d; rebuild the plugin against this seula's "
		         "include/seula/plugin.h",
		         path, desc->abi_major, desc->abi_minor,
		         SEULA_ABI_MAJOR, SEULA_ABI_MINOR);
		return SEULA_EABI;
	}
	if (desc->abi_minor > SEULA_ABI_MINOR) {
		snprintf(err, errlen,
		         "%s: built for plugin ABI %u.%u, newer than this "
		         "seula's %d.%d; upgrade seula or use an older build "
		         "of the plugin",
		         path, desc->abi_major, desc->abi_minor,
		         SEULA_ABI_MAJOR, SEULA_ABI_MINOR);
		return SEULA_EABI;
	}
	if (desc->size < min_size_for_minor[desc->abi_minor] ||
	    desc->size > 65536) {
		snprintf(err, errlen,
		         "%s: descriptor size %u does not match ABI %u.%u "
		         "(expected %u); the plugin was built with a modified "
		         "header, rebuild it",
		         path, desc->size, desc->abi_major, desc->abi_minor,
		         min_size_for_minor[desc->abi_minor]);
		return SEULA_EABI;
	}
	return SEULA_OK;
}

static int check_descriptor(const struct seula_loaded_plugin *p,
                            const char *want, char *err, size_t errlen)
{
	const struct seula_plugin *d = &p->desc;
	if (!d->name || !seula_config_name_valid(d->name, false) ||
	    strcmp(d->name, want) != 0) {
		snprintf(err, errlen,
		         "%s: the plugin calls itself '%s', but the config "
		         "loads '%s'",
		         p->path, d->name ? d->name : "(null)", want);
		return SEULA_EINVAL;
	}
	if (!d->version || !*d->version) {
		snprintf(err, errlen, "%s: the plugin gives no version",
		         p->path);
		return SEULA_EINVAL;
	}
	if (d->on_event &&
	    (d->stage < SEULA_STAGE_ENRICH || d->stage > SEULA_STAGE_FILTER)) {
		snprintf(err, errlen,
		         "%s: on_event is set but the stage is not enrich, "
		         "protect or filter",
		         p->path);
		return SEULA_EINVAL;
	}
	if ((d->config_rows == NULL) != (d->config_size == 0)) {
		snprintf(err, errlen,
		         "%s: config rows and config size go together",
		         p->path);
		return SEULA_EINVAL;
	}
	for (size_t i = 0;
	     d->config_rows && d->config_rows[i].type != SEULA_CONFIG_END;
	     i++) {
		const struct seula_config_row *row = &d->config_rows[i];
		size_t width =
		        row->type == SEULA_CONFIG_INT ||
		                        row->type == SEULA_CONFIG_DURATION
		                ? sizeof(int64_t)
		        : row->type == SEULA_CONFIG_BOOL ||
		                        row->type == SEULA_CONFIG_ENUM
		                ? sizeof(int)
		                : sizeof(void *);
		if (!row->key || row->offset + width > d->config_size ||
		    row->type > SEULA_CONFIG_LIST ||
		    (row->type == SEULA_CONFIG_ENUM && !row->choices)) {
			snprintf(err, errlen,
			         "%s: config row %zu ('%s') is malformed",
			         p->path, i, row->key ? row->key : "(null)");
			return SEULA_EINVAL;
		}
	}
	int last = 0;
	for (size_t i = 0; i < d->n_migrations; i++) {
		if (!d->migrations || d->migrations[i].version <= last ||
		    !d->migrations[i].sql) {
			snprintf(
			        err, errlen,
			        "%s: migrations must have rising versions from "
			        "1 and SQL",
			        p->path);
			return SEULA_EINVAL;
		}
		last = d->migrations[i].version;
	}
	for (size_t i = 0; i < d->n_tasks; i++) {
		const struct seula_task *t = &d->tasks[i];
		if (!t->name || !t->run || t->interval_s < 1) {
			snprintf(
			        err, errlen,
			        "%s: task %zu needs a name, a run function and "
			        "an interval of at least 1 s",
			        p->path, i);
			return SEULA_EINVAL;
		}
	}
	if (d->n_routes && !d->routes) {
		snprintf(err, errlen, "%s: n_routes is set but routes is NULL",
		         p->path);
		return SEULA_EINVAL;
	}
	return SEULA_OK;
}

static int load_one(struct seula_loaded_plugin *p, struct seula_config *cfg,
                    const char *dir, const char *name,
                    const struct seula_host_env *env, char *err, size_t errlen)
{
	if (!seula_config_name_valid(name, false)) {
		snprintf(err, errlen,
		         "%s: [plugins] load: '%s' is not a plugin name "
		         "(a-z, 0-9, _)",
		         cfg->ini.path, name);
		return SEULA_EINVAL;
	}
	if (asprintf(&p->path, "%s/%s.so", dir, name) < 0) {
		p->path = NULL;
		return SEULA_ENOMEM;
	}
	/* RTLD_NOW: an unresolved symbol fails here, at start, not under
	 * traffic.  RTLD_LOCAL: plugins cannot see each other. */
	p->handle = dlopen(p->path, RTLD_NOW | RTLD_LOCAL);
	if (!p->handle) {
		snprintf(err, errlen, "%s: cannot load plugin '%s': %s",
		         p->path, name, dlerror());
		return SEULA_EIO;
	}
	dlerror();
	const struct seula_plugin *desc = dlsym(p->handle, SEULA_PLUGIN_SYMBOL);
	if (!desc) {
		snprintf(err, errlen,
		         "%s: not a seula plugin: it exports no '%s' symbol "
		         "(declare it with SEULA_PLUGIN_EXPORT)",
		         p->path, SEULA_PLUGIN_SYMBOL);
		return SEULA_EABI;
	}
	int rc = seula_plugin_check_abi(desc, p->path, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	/* Copy what the plugin's header knew; what it did not is zero. */
	memset(&p->desc, 0, sizeof(p->desc));
	memcpy(&p->desc, desc,
	       desc->size < sizeof(p->desc) ? desc->size : sizeof(p->desc));
	if ((rc = check_descriptor(p, name, err, errlen)) != SEULA_OK)
		return rc;

	char section[80];
	snprintf(section, sizeof(section), "plugin.%s", name);
	if (p->desc.config_rows) {
		p->config = seula_arena_alloc(&cfg->mem, p->desc.config_size);
		if (!p->config)
			return SEULA_ENOMEM;
		rc = seula_config_apply(cfg, section, p->desc.config_rows,
		                        p->config, err, errlen);
		if (rc != SEULA_OK)
			return rc;
	} else {
		seula_config_claim(cfg, section);
		for (size_t i = 0; i < cfg->ini.n; i++) {
			if (strcmp(cfg->ini.entries[i].section, section) != 0)
				continue;
			snprintf(err, errlen,
			         "%s:%d: [%s] plugin '%s' takes no settings",
			         cfg->ini.path, cfg->ini.entries[i].line,
			         section, name);
			return SEULA_EINVAL;
		}
	}
	seula_host_init(&p->host, p->desc.name, env);
	return SEULA_OK;
}

int seula_plugins_load(struct seula_plugins *out, struct seula_config *cfg,
                       const char *dir, const struct seula_host_env *env,
                       char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	size_t n = 0;
	while (cfg->plugins && cfg->plugins[n])
		n++;
	out->list = calloc(n ? n : 1, sizeof(*out->list));
	if (!out->list)
		return SEULA_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		out->n = i + 1;
		int rc = load_one(&out->list[i], cfg, dir, cfg->plugins[i], env,
		                  err, errlen);
		if (rc != SEULA_OK)
			return rc;
	}
	return SEULA_OK;
}

int seula_plugins_init(struct seula_plugins *plugins, char *err, size_t errlen)
{
	for (size_t i = 0; i < plugins->n; i++) {
		struct seula_loaded_plugin *p = &plugins->list[i];
		if (!p->desc.init)
			continue;
		char *msg = NULL;
		int rc = p->desc.init(&p->host.pub, p->config, &p->instance,
		                      &msg);
		if (rc != SEULA_OK) {
			snprintf(err, errlen, "%s: init failed: %s", p->path,
			         msg ? msg : "no reason given");
			free(msg);
			return rc;
		}
		free(msg);
		p->initialised = true;
	}
	return SEULA_OK;
}

void seula_plugins_free(struct seula_plugins *plugins)
{
	if (!plugins || !plugins->list)
		return;
	for (size_t i = plugins->n; i-- > 0;) {
		struct seula_loaded_plugin *p = &plugins->list[i];
		if (p->initialised && p->desc.shutdown)
			p->desc.shutdown(p->instance);
		p->initialised = false;
	}
	for (size_t i = plugins->n; i-- > 0;) {
		struct seula_loaded_plugin *p = &plugins->list[i];
		if (p->handle)
			dlclose(p->handle);
		free(p->path);
	}
	free(plugins->list);
	plugins->list = NULL;
	plugins->n = 0;
}

const struct seula_loaded_plugin *
seula_plugins_find(const struct seula_plugins *plugins, const char *name)
{
	for (size_t i = 0; i < plugins->n; i++)
		if (strcmp(plugins->list[i].desc.name, name) == 0)
			return &plugins->list[i];
	return NULL;
}
