/*
 * outfile.h - a command's -o FILE, written whole or not at all.
 *
 * A file is written to a temporary one beside it (FILE.XXXXXX), put on
 * disk and renamed over FILE only once complete: a run that fails part-way
 * (a full disk, an error before the end) leaves FILE as it was and removes
 * the temporary one.  A symbolic link is written through to its file.
 * /dev/ and /proc/ paths (a terminal, /dev/stdout) are written to,
 * appending, and a FIFO is written to, as they are.  The server's own
 * files (its database, WAL, shared memory and key) are refused.
 */
#ifndef SEULA_OUTFILE_H
#define SEULA_OUTFILE_H

#include "config.h"

#include <stdio.h>

struct seula_outfile {
	FILE *f;          /* what to write to; stdout: no -o */
	const char *path; /* as given */
	char *target;     /* the file renamed over; NULL: written directly */
	char *tmp;
};

/* Open `path`: a new file is its user's alone (0600), an existing one
 * keeps its mode.  SEULA_OK, or an error with err set. */
int seula_outfile_open(struct seula_outfile *o, const char *path,
                       const struct seula_config *cfg, char *err,
                       size_t errlen);

/* Put what was written to o->f in place: flushed, on disk, renamed over
 * the file.  SEULA_OK, or SEULA_EIO with the reason in err (the file as it
 * was).  Then seula_outfile_close(). */
int seula_outfile_commit(struct seula_outfile *o, char *err, size_t errlen);

/* Whatever is left, committed or not: closed, a temporary file removed. */
void seula_outfile_close(struct seula_outfile *o);

#endif
