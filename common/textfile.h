/*
 * textfile.h - reading a whole file a user names (a config's texts, a
 * plugin's data file).
 */
#ifndef SEULA_TEXTFILE_H
#define SEULA_TEXTFILE_H

#include <stddef.h>

/* The whole of regular file `path` into *out (NUL-terminated, free() it)
 * and its length into *len.  A directory, a device, a FIFO, a file over
 * `max` bytes or a read error is an error with "path: reason" in err:
 * SEULA_EINVAL or SEULA_EIO. */
int seula_textfile_read(const char *path, size_t max, char **out, size_t *len,
                        char *err, size_t errlen);

#endif
