/*
 * testutil.h - small helpers shared by the unit tests.
 */
#ifndef SEULA_TESTUTIL_H
#define SEULA_TESTUTIL_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Write `text` to a fresh temp file; returns its path (caller frees and
 * unlinks). */
static inline char *write_temp(const char *text)
{
	char *path = strdup("/tmp/seula-unit-XXXXXX");
	int fd = mkstemp(path);
	if (fd < 0)
		abort();
	size_t len = strlen(text);
	if (write(fd, text, len) != (ssize_t)len)
		abort();
	close(fd);
	return path;
}

#endif
