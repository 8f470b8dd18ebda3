/*
 * host.h - the host function table handed to each plugin.
 *
 * Each plugin gets its own `struct seula_host_impl` so log lines carry its
 * name.  The clock and the random source come from `struct seula_host_env`
 * so that unit tests can fix them.
 */
#ifndef SEULA_HOST_H
#define SEULA_HOST_H

#include "log.h"

#include <jansson.h>
#include <seula/plugin.h>
#include <sqlite3.h>

struct seula_config;
struct seula_plugins;

struct seula_host_env {
	const struct seula_logger *log;
	/* NULL: the real clock and libsodium's randombytes_buf(). */
	int64_t (*now_ms)(void *ctx);
	void (*random_bytes)(void *ctx, void *buf, size_t len);
	void *ctx;
	/* What host->subject_run runs: seula_subject_run (core/subject.c)
	 * and the plugins it calls.  Given by whoever sets up the host, so
	 * the host table does not pull the consent and subject code into
	 * everything that links it (the fuzzers); NULL: subject_run answers
	 * SEULA_EINVAL. */
	int (*subject_run)(const struct seula_plugins *plugins,
	                   const unsigned char *key, sqlite3 *db,
	                   enum seula_subject_op op,
	                   const struct seula_subject *who, json_t **out,
	                   char *err, size_t errlen);
	const struct seula_plugins *plugins;
	/* The server's secret key (secret.h), which subject_run's erasures
	 * sign with (consent records' erased_mac); NULL: they are refused.
	 * Borrowed: it outlives the host. */
	const unsigned char *secret_key;
	/* What host->audit_visitor computes with secret_key:
	 * seula_consent_audit_visitor (core/consent.c), given like
	 * subject_run; NULL: it answers SEULA_EINVAL. */
	void (*audit_visitor)(const unsigned char *key, const char *vid,
	                      char out[48]);
	/* What host->site_known asks; NULL: it answers SEULA_EINVAL. */
	const struct seula_config *config;
};

struct seula_host_impl {
	struct seula_host pub; /* first: plugins see only this */
	const char *plugin_name;
	const struct seula_host_env *env;
};

/* Fill `impl` for `plugin_name`; `env` must outlive it. */
void seula_host_init(struct seula_host_impl *impl, const char *plugin_name,
                     const struct seula_host_env *env);

/* Real wall clock in ms. */
int64_t seula_clock_ms(void);

#endif
