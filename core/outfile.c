/*
 * outfile.c - a command's -o FILE, written whole or not at all (see
 * outfile.h).
 */
#include "outfile.h"

#include "db.h"
#include "host.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static bool same_file(const struct stat *a, const char *path)
{
	struct stat b;
	return path && stat(path, &b) == 0 && a->st_dev == b.st_dev &&
	       a->st_ino == b.st_ino;
}

int seula_outfile_open(struct seula_outfile *o, const char *path,
                       const struct seula_config *cfg, char *err, size_t errlen)
{
	memset(o, 0, sizeof(*o));
	o->path = path;
	struct stat st;
	bool exists = stat(path, &st) == 0;
	bool device = strncmp(path, "/dev/", 5) == 0 ||
	              strncmp(path, "/proc/", 6) == 0;
	if (device || (exists && S_ISFIFO(st.st_mode))) {
		/* Written to as it is: a terminal, /dev/stdout (appending,
		 * should it be a file opened so), a FIFO a reader waits on. */
		int fd = open(path,
		              O_WRONLY | O_CLOEXEC | (device ? O_APPEND : 0));
		if (fd < 0 || !(o->f = fdopen(fd, device ? "a" : "w"))) {
			snprintf(err, errlen, "%s: cannot write: %s", path,
			         strerror(errno));
			if (fd >= 0)
				close(fd);
			return SEULA_EIO;
		}
		return SEULA_OK;
	}
	/* Through a symbolic link to its file; never onto the server's: its
	 * database, key, config and texts, nor the lock file, whose new inode
	 * would let a second server start beside the one holding the old. */
	char wal[4200], shm[4200], lock[4200];
	snprintf(wal, sizeof(wal), "%s-wal", cfg->db);
	snprintf(shm, sizeof(shm), "%s-shm", cfg->db);
	snprintf(lock, sizeof(lock), "%s%s", cfg->db, SEULA_DB_LOCK_SUFFIX);
	if (exists &&
	    (!S_ISREG(st.st_mode) || same_file(&st, cfg->db) ||
	     same_file(&st, wal) || same_file(&st, shm) ||
	     same_file(&st, lock) || same_file(&st, cfg->secret_file) ||
	     same_file(&st, cfg->ini.path) ||
	     same_file(&st, cfg->consent_texts))) {
		snprintf(err, errlen,
		         "%s: not a file to write to (a directory, a device, "
		         "or the server's own)",
		         path);
		return SEULA_EINVAL;
	}
	char *target = exists ? realpath(path, NULL) : strdup(path);
	if (!target || asprintf(&o->tmp, "%s.XXXXXX", target) < 0) {
		free(target);
		o->tmp = NULL;
		snprintf(err, errlen, "%s: cannot write: out of memory", path);
		return SEULA_ENOMEM;
	}
	o->target = target;
	int fd = mkstemp(o->tmp); /* 0600, as the umask main() sets */
	if (fd < 0) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		         strerror(errno));
		free(o->tmp);
		o->tmp = NULL; /* nothing to remove */
		seula_outfile_close(o);
		return SEULA_EIO;
	}
	if ((exists && fchmod(fd, st.st_mode & 07777) != 0) ||
	    !(o->f = fdopen(fd, "w"))) {
		snprintf(err, errlen, "%s: cannot write: %s", path,
		         strerror(errno));
		close(fd);
		seula_outfile_close(o);
		return SEULA_EIO;
	}
	return SEULA_OK;
}

int seula_outfile_commit(struct seula_outfile *o, char *err, size_t errlen)
{
	const char *name = o->target ? o->target
	                   : o->path ? o->path
	                             : "standard output";
	/* Flushed first: a write that fails now sets errno for the message. */
	bool ok = fflush(o->f) == 0 && !ferror(o->f);
	if (o->target)
		ok = ok && fsync(fileno(o->f)) == 0;
	int why = errno;
	if (o->f != stdout && fclose(o->f) != 0 && ok) {
		ok = false;
		why = errno;
	}
	o->f = NULL;
	if (ok && o->target && rename(o->tmp, o->target) != 0) {
		ok = false;
		why = errno;
	}
	if (ok && o->target) {
		/* The rename on disk too (best effort: it is in place). */
		char *slash = strrchr(o->target, '/');
		char *dir = slash ? strndup(o->target,
		                            (size_t)(slash - o->target) + 1)
		                  : strdup(".");
		int dfd = dir ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
		              : -1;
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		free(dir);
		free(o->tmp);
		o->tmp = NULL;
	}
	if (!ok)
		snprintf(err, errlen, "%s: cannot write: %s", name,
		         strerror(why));
	return ok ? SEULA_OK : SEULA_EIO;
}

void seula_outfile_close(struct seula_outfile *o)
{
	if (o->f && o->f != stdout)
		fclose(o->f);
	if (o->tmp)
		unlink(o->tmp);
	free(o->tmp);
	free(o->target);
	memset(o, 0, sizeof(*o));
}
