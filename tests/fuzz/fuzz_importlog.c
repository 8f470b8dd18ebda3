/*
 * fuzz_importlog.c - libFuzzer target for the access log line parser: any
 * bytes as a line of each format, then the classifier on what it took.
 */
#include "importlog.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > SEULA_LOG_LINE_MAX + 16)
		return 0;
	/* Exactly size + 1 bytes: the parser may write the byte past the
	 * line and no further, which ASan checks. */
	char *line = malloc(size + 1);
	if (!line)
		return 0;
	for (int f = SEULA_LOG_COMBINED; f <= SEULA_LOG_VHOST_COMBINED; f++) {
		memcpy(line, data, size);
		struct seula_log_line l;
		if (seula_log_parse(line, size, (enum seula_log_format)f, &l) ==
		    SEULA_LOG_OK) {
			seula_log_classify(&l);
			/* Every string it returns ends inside the buffer. */
			const char *s[] = {l.vhost,  l.request,  l.method,
			                   l.target, l.referrer, l.user_agent};
			for (size_t i = 0; i < sizeof(s) / sizeof(*s); i++)
				if (s[i] && strlen(s[i]) > size)
					abort();
		}
	}
	free(line);
	return 0;
}
