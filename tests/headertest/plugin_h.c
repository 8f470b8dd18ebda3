/* The public ABI header must compile on its own, strictly. */
#include <seula/plugin.h>

/* A descriptor as a plugin author writes it. */
static const struct seula_plugin example = {
        SEULA_PLUGIN_HEADER,
        .name = "example",
        .version = "1.0.0",
};

const struct seula_plugin *headertest_example(void);
const struct seula_plugin *headertest_example(void)
{
	return &example;
}
