/*
 * cli_setup.h - what the offline commands (labels, report, retention)
 * share: the config and its plugins loaded as `seula serve` loads them,
 * without starting them, and a logger for what the plugins say.
 *
 * The struct holds pointers into itself (env -> log): keep it where
 * seula_cli_setup_load() filled it.  seula_cli_setup_free() releases all
 * of it, loaded or not.
 */
#ifndef SEULA_CLI_SETUP_H
#define SEULA_CLI_SETUP_H

#include "config.h"
#include "host.h"
#include "loader.h"
#include "log.h"

struct seula_cli_setup {
	struct seula_config cfg;
	struct seula_logger log;
	struct seula_host_env env;
	struct seula_plugins plugins;
	char *plugin_dir;
};

/* Load `config` (with `overrides`, NULL-terminated "section.key=value"),
 * then the plugins it lists, and check no key went unused.  `level`: the
 * least severe log line shown, on stderr.  SEULA_OK, or an error code with
 * err set. */
int seula_cli_setup_load(struct seula_cli_setup *s, const char *config,
                         const char *const *overrides,
                         enum seula_log_level level, char *err, size_t errlen);
void seula_cli_setup_free(struct seula_cli_setup *s);

#endif
