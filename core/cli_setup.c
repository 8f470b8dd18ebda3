/*
 * cli_setup.c - the offline commands' config and plugins (see cli_setup.h).
 */
#include "cli_setup.h"

#include <stdlib.h>
#include <string.h>

int seula_cli_setup_load(struct seula_cli_setup *s, const char *config,
                         const char *const *overrides,
                         enum seula_log_level level, char *err, size_t errlen)
{
	memset(s, 0, sizeof(*s));
	s->log.level = level;
	s->log.out = stderr;
	s->env.log = &s->log;
	s->env.config = &s->cfg;
	int rc = seula_config_load(&s->cfg, config, overrides, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	s->plugin_dir = s->cfg.plugin_dir ? strdup(s->cfg.plugin_dir)
	                                  : seula_default_plugin_dir();
	if (!s->plugin_dir)
		return SEULA_ENOMEM;
	rc = seula_plugins_load(&s->plugins, &s->cfg, s->plugin_dir, &s->env,
	                        err, errlen);
	if (rc != SEULA_OK)
		return rc;
	return seula_config_check_unused(&s->cfg, err, errlen);
}

void seula_cli_setup_free(struct seula_cli_setup *s)
{
	seula_plugins_free(&s->plugins);
	free(s->plugin_dir);
	s->plugin_dir = NULL;
	seula_config_free(&s->cfg);
}
