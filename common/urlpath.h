/*
 * urlpath.h - cleaning the path of a URL that is kept: by the collect
 * endpoint (page and referrer of an event) and by the consent records.
 */
#ifndef SEULA_URLPATH_H
#define SEULA_URLPATH_H

#include <stdbool.h>
#include <stddef.h>

/* Cut the path parameters (";jsessionid=..." to the end of its segment)
 * out of the URL path path[0..len), in place: like a query string they
 * carry session tokens, and they are no part of which page it was.
 *
 * path is the path alone, from its first '/' (no scheme, host, query or
 * fragment), in a buffer of at least len + 1 bytes.  The result is
 * NUL-terminated and its length returned.  A path that was all parameter
 * (";x", from "http://host;x") becomes "/"; an empty path stays empty. */
size_t seula_url_cut_path_params(char *path, size_t len);

/* v[0..len) into out[cap] with the bytes collect stores percent-encoded
 * in a path (controls, space, " < > and all past ASCII) as %XX in upper
 * case, as browsers send them, so that a path typed as it reads
 * (/käyttäjä/) is the path stored; a '%' stays, so an encoded path is
 * itself, and glob characters are none of them.  NUL-terminated; false
 * when that does not fit (out is then unusable). */
bool seula_url_encode_path(const char *v, size_t len, char *out, size_t cap);

#endif
