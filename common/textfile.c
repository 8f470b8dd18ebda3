/*
 * textfile.c - reading a whole file a user names (see textfile.h).
 */
#include "textfile.h"

#include <seula/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int seula_textfile_open(const char *path, int *fd, size_t *size, char *err,
                        size_t errlen)
{
	*fd = -1;
	*size = 0;
	/* O_NONBLOCK: a FIFO is refused below rather than waited on. */
	int f = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (f < 0) {
		snprintf(err, errlen, "%s: cannot open: %s", path,
		         strerror(errno));
		return SEULA_EIO;
	}
	struct stat st;
	if (fstat(f, &st) != 0) {
		snprintf(err, errlen, "%s: cannot read: %s", path,
		         strerror(errno));
		close(f);
		return SEULA_EIO;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(err, errlen, "%s: not a regular file: it is %s", path,
		         S_ISDIR(st.st_mode) ? "a directory"
		                             : "a device or a pipe");
		close(f);
		return SEULA_EINVAL;
	}
	*fd = f;
	*size = (size_t)st.st_size;
	return SEULA_OK;
}

int seula_textfile_read(const char *path, size_t max, char **out, size_t *len,
                        char *err, size_t errlen)
{
	*out = NULL;
	*len = 0;
	int fd;
	size_t size;
	int rc = seula_textfile_open(path, &fd, &size, err, errlen);
	if (rc != SEULA_OK)
		return rc;
	char *buf = NULL;
	size_t n = 0;
	/* One byte past `max` tells a file that grew since fstat. */
	size_t cap = size < max ? size + 2 : max + 2;
	if (!(buf = malloc(cap))) {
		snprintf(err, errlen, "%s: out of memory", path);
		rc = SEULA_ENOMEM;
	}
	while (rc == SEULA_OK && n <= max) {
		if (n + 1 == cap) {
			size_t more = cap * 2 < max + 2 ? cap * 2 : max + 2;
			char *p = realloc(buf, more);
			if (!p) {
				snprintf(err, errlen, "%s: out of memory",
				         path);
				rc = SEULA_ENOMEM;
				break;
			}
			buf = p;
			cap = more;
		}
		ssize_t got = read(fd, buf + n, cap - 1 - n);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			snprintf(err, errlen, "%s: cannot read: %s", path,
			         strerror(errno));
			rc = SEULA_EIO;
		} else if (got == 0) {
			break;
		} else {
			n += (size_t)got;
		}
	}
	close(fd);
	if (rc == SEULA_OK && n > max) {
		snprintf(err, errlen, "%s: larger than %zu bytes", path, max);
		rc = SEULA_EINVAL;
	}
	if (rc != SEULA_OK) {
		free(buf);
		return rc;
	}
	buf[n] = '\0';
	*out = buf;
	*len = n;
	return SEULA_OK;
}
