/*
 * static.c - in-memory static files with ETags, and a gzip copy of each
 * text file made once at start, served to clients that accept it.
 */
#include "static.h"

#include "http.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <seula/plugin.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <zlib.h>

#define STATIC_MAX_TOTAL (64u << 20)
#define STATIC_MAX_DEPTH 8

/* A gzip copy is kept only when it saves this share and this many bytes:
 * below that, the Vary header and a second copy in every cache cost more
 * than they save. */
#define GZIP_MIN_SAVED_PERCENT 10
#define GZIP_MIN_SAVED_BYTES 128

struct file {
	char *path; /* "/demo/index.html" */
	unsigned char *data;
	size_t len;
	const char *type;
	char etag[24];     /* "0123456789abcdef" */
	unsigned char *gz; /* NULL: no gzip copy */
	size_t gz_len;
	char gz_etag[28]; /* "0123456789abcdef-gz" */
};

struct seula_static {
	struct file *files;
	size_t n, cap, total;
};

/* The type of a file by its extension, and whether it is text that gzip
 * shrinks (images and fonts are compressed already). */
static const char *content_type(const char *path, bool *text)
{
	static const struct {
		const char *ext, *type;
		bool text;
	} types[] = {
	        {".html", "text/html; charset=utf-8", true},
	        {".js", "text/javascript; charset=utf-8", true},
	        {".mjs", "text/javascript; charset=utf-8", true},
	        {".css", "text/css; charset=utf-8", true},
	        {".json", "application/json", true},
	        {".svg", "image/svg+xml", true},
	        {".png", "image/png", false},
	        {".gif", "image/gif", false},
	        {".ico", "image/x-icon", false},
	        {".txt", "text/plain; charset=utf-8", true},
	        {".woff2", "font/woff2", false},
	        {".map", "application/json", true},
	};
	const char *dot = strrchr(path, '.');
	for (size_t i = 0; dot && i < sizeof(types) / sizeof(types[0]); i++)
		if (strcmp(dot, types[i].ext) == 0) {
			*text = types[i].text;
			return types[i].type;
		}
	*text = false;
	return "application/octet-stream";
}

/* file->gz: the file gzip-coded at the best level, when that saves enough
 * (GZIP_MIN_SAVED_*); else left NULL.  Once at start, so the level's cost
 * is paid once.  zlib writes no name and no time into the header, so the
 * same file gives the same bytes at every start. */
static int gzip_file(struct file *file, char *err, size_t errlen)
{
	z_stream z = {0};
	int zrc = deflateInit2(&z, Z_BEST_COMPRESSION, Z_DEFLATED,
	                       15 + 16 /* a gzip wrapper */, 9,
	                       Z_DEFAULT_STRATEGY);
	if (zrc != Z_OK) {
		snprintf(err, errlen, "%s: gzip: %s", file->path,
		         zrc == Z_MEM_ERROR ? "out of memory" : "cannot start");
		return zrc == Z_MEM_ERROR ? SEULA_ENOMEM : SEULA_EINVAL;
	}
	int rc = SEULA_OK;
	uLong bound = deflateBound(&z, (uLong)file->len);
	unsigned char *out = malloc(bound);
	if (!out) {
		rc = SEULA_ENOMEM;
		snprintf(err, errlen, "%s: gzip: out of memory", file->path);
		goto end_stream;
	}
	z.next_in = file->data;
	z.avail_in = (uInt)file->len;
	z.next_out = out;
	z.avail_out = (uInt)bound;
	/* The output has deflateBound()'s room: one call finishes it. */
	zrc = deflate(&z, Z_FINISH);
	if (zrc != Z_STREAM_END) {
		rc = SEULA_EINVAL;
		snprintf(err, errlen, "%s: gzip: %s", file->path,
		         z.msg ? z.msg : "did not finish");
		free(out);
		goto end_stream;
	}
	size_t saved = file->len > z.total_out ? file->len - z.total_out : 0;
	if (saved < GZIP_MIN_SAVED_BYTES ||
	    saved * 100 < file->len * GZIP_MIN_SAVED_PERCENT) {
		free(out);
		goto end_stream;
	}
	/* Kept in a buffer of its size: deflateBound()'s is the file's and
	 * more.  Short of memory for it, the larger one does as well. */
	file->gz = malloc(z.total_out);
	if (file->gz) {
		memcpy(file->gz, out, z.total_out);
		free(out);
	} else {
		file->gz = out;
	}
	file->gz_len = z.total_out;
	/* Its own tag: a strong ETag names these very bytes (RFC 9110
	 * 8.8.3), and If-None-Match must tell the two codings apart. */
	size_t n = strlen(file->etag);
	snprintf(file->gz_etag, sizeof(file->gz_etag), "%.*s-gz\"",
	         (int)(n - 1), file->etag);
end_stream:
	deflateEnd(&z);
	return rc;
}

static int add_file(struct seula_static *st, const char *fs_path,
                    const char *url_path, char *err, size_t errlen)
{
	FILE *f = fopen(fs_path, "rb");
	if (!f) {
		snprintf(err, errlen, "%s: %s", fs_path, strerror(errno));
		return SEULA_EIO;
	}
	struct stat sb;
	if (fstat(fileno(f), &sb) != 0 || sb.st_size < 0 ||
	    st->total + (size_t)sb.st_size > STATIC_MAX_TOTAL) {
		fclose(f);
		snprintf(err, errlen, "%s: too big, or web_root over %u MiB",
		         fs_path, STATIC_MAX_TOTAL >> 20);
		return SEULA_ETOOBIG;
	}
	if (st->n == st->cap) {
		size_t cap = st->cap ? st->cap * 2 : 32;
		void *p = realloc(st->files, cap * sizeof(*st->files));
		if (!p) {
			fclose(f);
			return SEULA_ENOMEM;
		}
		st->files = p;
		st->cap = cap;
	}
	struct file *file = &st->files[st->n];
	memset(file, 0, sizeof(*file));
	file->len = (size_t)sb.st_size;
	file->data = malloc(file->len ? file->len : 1);
	file->path = strdup(url_path);
	if (!file->data || !file->path ||
	    fread(file->data, 1, file->len, f) != file->len) {
		fclose(f);
		free(file->data);
		free(file->path);
		snprintf(err, errlen, "%s: cannot read", fs_path);
		return SEULA_EIO;
	}
	fclose(f);
	bool text;
	file->type = content_type(url_path, &text);
	unsigned char h[8];
	crypto_generichash(h, sizeof(h), file->data, file->len, NULL, 0);
	char hex[17];
	sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
	snprintf(file->etag, sizeof(file->etag), "\"%s\"", hex);
	int rc = text ? gzip_file(file, err, errlen) : SEULA_OK;
	if (rc != SEULA_OK) {
		free(file->data);
		free(file->path);
		return rc;
	}
	st->total += file->len;
	st->n++;
	return SEULA_OK;
}

static int walk(struct seula_static *st, const char *fs_dir,
                const char *url_dir, int depth, char *err, size_t errlen)
{
	if (depth > STATIC_MAX_DEPTH)
		return SEULA_OK;
	DIR *d = opendir(fs_dir);
	if (!d) {
		snprintf(err, errlen, "%s: cannot open web_root: %s", fs_dir,
		         strerror(errno));
		return SEULA_EIO;
	}
	int rc = SEULA_OK;
	struct dirent *de;
	while (rc == SEULA_OK && (de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char *fs = NULL, *url = NULL;
		if (asprintf(&fs, "%s/%s", fs_dir, de->d_name) < 0)
			fs = NULL;
		if (asprintf(&url, "%s/%s", url_dir, de->d_name) < 0)
			url = NULL;
		struct stat sb;
		if (!fs || !url)
			rc = SEULA_ENOMEM;
		else if (stat(fs, &sb) != 0)
			rc = SEULA_OK; /* a dangling link: skip */
		else if (S_ISDIR(sb.st_mode))
			rc = walk(st, fs, url, depth + 1, err, errlen);
		else if (S_ISREG(sb.st_mode))
			rc = add_file(st, fs, url, err, errlen);
		free(fs);
		free(url);
	}
	closedir(d);
	return rc;
}

int seula_static_load(struct seula_static **out, const char *root, char *err,
                      size_t errlen)
{
	*out = NULL;
	struct seula_static *st = calloc(1, sizeof(*st));
	if (!st)
		return SEULA_ENOMEM;
	int rc = walk(st, root, "", 0, err, errlen);
	if (rc != SEULA_OK) {
		seula_static_free(st);
		return rc;
	}
	*out = st;
	return SEULA_OK;
}

void seula_static_free(struct seula_static *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->n; i++) {
		free(st->files[i].data);
		free(st->files[i].gz);
		free(st->files[i].path);
	}
	free(st->files);
	free(st);
}

size_t seula_static_count(const struct seula_static *st)
{
	return st ? st->n : 0;
}

static const struct file *find(const struct seula_static *st, const char *path)
{
	for (size_t i = 0; i < st->n; i++)
		if (strcmp(st->files[i].path, path) == 0)
			return &st->files[i];
	return NULL;
}

/* A single-page app's route ("/demo/pricing", reloaded or opened in a new
 * tab) is answered by the nearest index.html of a folder above it.  Only
 * paths without a file extension, and never the root's index: an unknown
 * top-level path stays a 404. */
static const struct file *app_fallback(const struct seula_static *st,
                                       const char *path)
{
	const char *last = strrchr(path, '/');
	if (!last || strchr(last, '.'))
		return NULL;
	char dir[1024];
	size_t n = (size_t)(last - path);
	if (n == 0 || n + sizeof("/index.html") > sizeof(dir))
		return NULL;
	memcpy(dir, path, n);
	dir[n] = '\0';
	while (n > 0) {
		strcpy(dir + n, "/index.html");
		const struct file *f = find(st, dir);
		if (f)
			return f;
		dir[n] = '\0';
		char *slash = strrchr(dir, '/');
		if (!slash)
			break;
		n = (size_t)(slash - dir);
		*slash = '\0';
	}
	return NULL;
}

/* Whether the path as sent (percent-encoded) may name a file.  An escaped
 * slash would make the decoded path other segments than the client sent
 * ("/demo%2f" is "/demo/", the demo's index), an escaped backslash one
 * that other servers and a proxy in front take for a slash, and a NUL
 * ends the name: such a path names no file. */
static bool raw_path_ok(const char *raw)
{
	return !strcasestr(raw, "%2f") && !strcasestr(raw, "%5c") &&
	       !strstr(raw, "%00");
}

/* `path` decoded (len bytes): a dot segment or a dot file ("/.", which an
 * escaped "%2e%2e" decodes to as well), an empty segment, a backslash or
 * a NUL names nothing. */
static int serve_decoded(const struct seula_static *st,
                         struct evhttp_request *req, const char *path,
                         size_t len)
{
	if (len == 0 || path[0] != '/' || memchr(path, '\0', len) ||
	    strchr(path, '\\') || strstr(path, "/.") || strstr(path, "//"))
		return SEULA_ENOTFOUND;
	char buf[1024];
	if (len + sizeof("index.html") >= sizeof(buf))
		return SEULA_ENOTFOUND;
	memcpy(buf, path, len + 1);
	if (buf[len - 1] == '/')
		strcat(buf, "index.html");
	const struct file *f = find(st, buf);
	/* "/demo" -> redirect to "/demo/" when it is a folder.  Before the
	 * app fallback: a folder inside an app ("/admin/audit" in /admin/) is
	 * a page of its own, not one of the app's routes, and its relative
	 * links need the slash. */
	if (!f && path[len - 1] != '/') {
		strcat(buf, "/index.html");
		if (find(st, buf)) {
			char loc[1040];
			snprintf(loc, sizeof(loc), "%s/", path);
			evhttp_add_header(
			        evhttp_request_get_output_headers(req),
			        "Location", loc);
			seula_reply(req, 301, NULL, NULL, 0);
			return SEULA_OK;
		}
	}
	if (!f)
		f = app_fallback(st, path);
	if (!f)
		return SEULA_ENOTFOUND;
	struct evkeyvalq *out = evhttp_request_get_output_headers(req);
	/* A file with a gzip copy answers by the request's Accept-Encoding,
	 * and every answer says so, a 304 and the plain one too, or a cache
	 * would give the gzip bytes to a client that cannot read them. */
	bool gz = f->gz && seula_request_accepts_gzip(req);
	const char *etag = gz ? f->gz_etag : f->etag;
	if (f->gz)
		evhttp_add_header(out, "Vary", "Accept-Encoding");
	evhttp_add_header(out, "ETag", etag);
	/* The tracker and the banner are fetched on every page of the sites
	 * that embed them: let browsers keep them a while; everything else
	 * revalidates. */
	bool every_page = strcmp(f->path, "/seula.js") == 0 ||
	                  strcmp(f->path, "/consent.js") == 0;
	evhttp_add_header(out, "Cache-Control",
	                  every_page ? "public, max-age=3600" : "no-cache");
	if (strncmp(f->type, "text/html", 9) == 0) {
		evhttp_add_header(out, "Content-Security-Policy",
		                  "default-src 'self'; img-src 'self' data:; "
		                  "style-src 'self' 'unsafe-inline'; "
		                  "frame-ancestors 'none'");
		evhttp_add_header(out, "Referrer-Policy",
		                  "strict-origin-when-cross-origin");
	}
	if (seula_request_etag_none_match(req, etag)) {
		seula_reply(req, 304, NULL, NULL, 0);
		return SEULA_OK;
	}
	if (gz) {
		evhttp_add_header(out, "Content-Encoding", "gzip");
		seula_reply(req, 200, f->type, f->gz, f->gz_len);
	} else {
		seula_reply(req, 200, f->type, f->data, f->len);
	}
	return SEULA_OK;
}

int seula_static_serve(const struct seula_static *st,
                       struct evhttp_request *req, const char *raw_path)
{
	if (!st || !raw_path || !raw_path_ok(raw_path))
		return SEULA_ENOTFOUND;
	size_t len = 0;
	char *path = evhttp_uridecode(raw_path, 0, &len);
	if (!path)
		return SEULA_ENOMEM;
	int rc = serve_decoded(st, req, path, len);
	free(path);
	return rc;
}
