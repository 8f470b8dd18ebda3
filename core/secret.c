/*
 * secret.c - the key file.
 */
#include "secret.h"

#include <seula/plugin.h>

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static int create_key(const char *path, unsigned char *key, char *err,
                      size_t errlen)
{
	char *dir = strdup(path);
	if (!dir)
		return SEULA_ENOMEM;
	char *slash = strrchr(dir, '/');
	if (slash && slash != dir) {
		*slash = '\0';
		mkdir(dir, 0700);
	}
	free(dir);
	int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot create the secret key: %s",
		         path, strerror(errno));
		return SEULA_EIO;
	}
	randombytes_buf(key, SEULA_SECRET_BYTES);
	ssize_t n = write(fd, key, SEULA_SECRET_BYTES);
	int rc = n == SEULA_SECRET_BYTES && fsync(fd) == 0 ? SEULA_OK
	                                                   : SEULA_EIO;
	close(fd);
	if (rc != SEULA_OK) {
		snprintf(err, errlen, "%s: cannot write the secret key", path);
		unlink(path);
	}
	return rc;
}

int seula_secret_load(const char *path, bool create,
                      unsigned char key[SEULA_SECRET_BYTES], char *err,
                      size_t errlen)
{
	/* O_NONBLOCK: a FIFO is refused below rather than waited on. */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
	if (fd < 0 && errno == ENOENT && create)
		return create_key(path, key, err, errlen);
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot open the secret key: %s",
		         path, strerror(errno));
		return SEULA_EIO;
	}
	struct stat st;
	ssize_t n;
	int rc = SEULA_OK;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) ||
	    st.st_size != SEULA_SECRET_BYTES) {
		snprintf(err, errlen,
		         "%s: not a secret key (it must be a file of %d "
		         "bytes)",
		         path, SEULA_SECRET_BYTES);
		rc = SEULA_EINVAL;
	} else if (st.st_mode & (S_IRWXG | S_IRWXO)) {
		snprintf(err, errlen,
		         "%s: others may read the secret key; chmod 600 it",
		         path);
		rc = SEULA_EINVAL;
	} else if ((n = read(fd, key, SEULA_SECRET_BYTES)) !=
	           SEULA_SECRET_BYTES) {
		snprintf(err, errlen, "%s: cannot read the secret key: %s",
		         path, n < 0 ? strerror(errno) : "it is shorter");
		rc = SEULA_EIO;
	}
	close(fd);
	return rc;
}
