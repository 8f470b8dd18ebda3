/*
 * static.h - the files under web_root, read into memory at start so that
 * serving them never touches the disk from the loop thread.
 */
#ifndef SEULA_STATIC_H
#define SEULA_STATIC_H

#include <stddef.h>

struct evhttp_request;
struct seula_static;

/* Read every regular file under `root` (no dot files, at most 64 MiB in
 * all), and make a gzip copy of each text file that it shrinks enough. */
int seula_static_load(struct seula_static **out, const char *root, char *err,
                      size_t errlen);
void seula_static_free(struct seula_static *st);

/* Serve `raw_path` (as sent, percent-encoded, starting with "/") for
 * GET/HEAD: never a path with an escaped slash, backslash or NUL, nor
 * one that decodes to a dot segment or a dot file.  The file, a
 * folder's index.html, or for an extension-less path in a sub-folder the
 * nearest index.html above it (single-page apps).  The gzip copy, with
 * an ETag of its own, when there is one and Accept-Encoding takes it; 304
 * when If-None-Match names the ETag of the coding served.  Returns 0 when
 * it answered, SEULA_ENOTFOUND when there is nothing to serve,
 * SEULA_ENOMEM when the path could not be decoded. */
int seula_static_serve(const struct seula_static *st,
                       struct evhttp_request *req, const char *raw_path);
size_t seula_static_count(const struct seula_static *st);

#endif
