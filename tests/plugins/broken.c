/*
 * broken.c - plugins the loader must refuse, one per way of being wrong.
 * Built once per BROKEN_* macro; each result must stop the server at start
 * with a message naming the file and the reason.
 */
#include <seula/plugin.h>

#include <stddef.h>

#if defined(BROKEN_NOSYMBOL)
/* Exports nothing under the descriptor's name. */
SEULA_PLUGIN_EXPORT const int not_a_plugin = 1;
#else

#if defined(BROKEN_MAJOR)
#define NAME "broken_major"
#define HEADER                                                                 \
	.abi_major = SEULA_ABI_MAJOR + 1, .abi_minor = 0,                      \
	.size = sizeof(struct seula_plugin)
#elif defined(BROKEN_MINOR)
#define NAME "broken_minor"
#define HEADER                                                                 \
	.abi_major = SEULA_ABI_MAJOR, .abi_minor = SEULA_ABI_MINOR + 1,        \
	.size = sizeof(struct seula_plugin)
#elif defined(OLD_ABI_1_0)
/* Not broken: a plugin built against ABI 1.0, before the reload hook; it
 * must load, and its reload must read as NULL. */
#define NAME "old_abi"
#define HEADER                                                                 \
	.abi_major = 1, .abi_minor = 0,                                        \
	.size = offsetof(struct seula_plugin, reload)
#elif defined(BROKEN_SIZE)
#define NAME "broken_size"
#define HEADER                                                                 \
	.abi_major = SEULA_ABI_MAJOR, .abi_minor = SEULA_ABI_MINOR, .size = 16
#else
#define NAME "broken_other"
#define HEADER SEULA_PLUGIN_HEADER
#endif

static int handler(void *instance, struct seula_http *http)
{
	(void)instance;
	(void)http;
	return SEULA_OK;
}

#if defined(BROKEN_NOROLES)
#undef NAME
#define NAME "broken_noroles"
static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/broken/open", 0, SEULA_ON_LOOP, handler,
         "declares no roles"},
};
#else
static const struct seula_route routes[] = {
        {SEULA_METHOD_GET, "/api/broken/fine", SEULA_ROLE_PUBLIC, SEULA_ON_LOOP,
         handler, "fine"},
};
#endif

#if defined(BROKEN_UNDEFINED)
#undef NAME
#define NAME "broken_undefined"
/* Resolved nowhere: dlopen(RTLD_NOW) must fail at start. */
extern int seula_core_internal_function(void);
static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	(void)host, (void)config, (void)instance, (void)errmsg;
	return seula_core_internal_function();
}
#define INIT .init = init,
#elif defined(BROKEN_INIT)
#undef NAME
#define NAME "broken_init"
static int init(const struct seula_host *host, const void *config,
                void **instance, char **errmsg)
{
	(void)config, (void)instance;
	*errmsg = host->mprintf("the test asked init to fail");
	return SEULA_EINVAL;
}
#define INIT .init = init,
#else
#define INIT
#endif

SEULA_PLUGIN_EXPORT const struct seula_plugin seula_plugin = {
        HEADER,
        .name = NAME,
        .version = "0.0.1",
        .description = "refused by the loader",
        INIT.routes = routes,
        .n_routes = 1,
};
#endif
