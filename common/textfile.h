/*
 * textfile.h - reading a whole file a user names (a config's texts, a
 * plugin's data file).
 */
#ifndef SEULA_TEXTFILE_H
#define SEULA_TEXTFILE_H

#include <stddef.h>

/* Open regular file `path` to read it: the descriptor in *fd (the caller
 * closes it) and its size in *size.  A directory, a device or a FIFO (not
 * waited on) is SEULA_EINVAL, a file that cannot be opened or examined
 * SEULA_EIO, with "path: reason" in err. */
int seula_textfile_open(const char *path, int *fd, size_t *size, char *err,
                        size_t errlen);

/* The whole of regular file `path` into *out (NUL-terminated, free() it)
 * and its length into *len.  A directory, a device, a FIFO, a file over
 * `max` bytes or a read error is an error with "path: reason" in err:
 * SEULA_EINVAL or SEULA_EIO. */
int seula_textfile_read(const char *path, size_t max, char **out, size_t *len,
                        char *err, size_t errlen);

#endif
