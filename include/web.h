/*
 * web: the web inbox (docs/web.md). When web.listen is set, inboxd
 * listens there too: /v1/... goes to http's routes with the same auth,
 * so the page is same-origin with the API it uses; every other path is
 * a static file of web.root, served read-only under a strict
 * Content-Security-Policy.
 *
 * web_resolve is the file part with no sockets: which file a request
 * path names, or why none, so that tests can reach it directly.
 */
#ifndef INBOXD_WEB_H
#define INBOXD_WEB_H

#include <stddef.h>

struct daemon;

/* Sent with every static file and every error web.c answers itself. */
#define WEB_CSP "default-src 'none'; script-src 'self'; style-src 'self'; " \
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; "         \
    "form-action 'none'; frame-ancestors 'none'"

/* Files larger than this are not served (the page's are a few KiB). */
#define WEB_MAX_FILE    (8 * 1024 * 1024)

enum web_result {
    WEB_OK,                 /* *fd is open on a regular file */
    WEB_NOT_FOUND,          /* no such file, a directory, an unknown type */
    WEB_FORBIDDEN,          /* '..', a dot file, a symlink out of root */
    WEB_ERROR,              /* the root cannot be read, out of memory */
};

struct web_file {
    int fd;                 /* WEB_OK: the caller closes it */
    const char *type;       /* Content-Type (static) */
    long long size;
    char etag[64];          /* a weak validator from size and mtime */
};

/*
 * The file under root (borrowed) that the raw request path (still
 * percent-encoded, as in the request line) names: "/" and any path
 * ending in '/' name index.html there. Every segment is decoded once and
 * must not be empty, start with '.', or hold '/', '\\' or a control
 * character; the real path must stay under root's real path. Only types
 * in the table (html, css, js, json, svg, png, ico, txt, woff2) are
 * served.
 */
enum web_result web_resolve(const char *root, const char *path,
    struct web_file *out);

/*
 * Listen on web.listen when it is set (0, nothing done, when it is not):
 * call once after http_new, before privileges are dropped. -1 when the
 * address cannot be bound (logged).
 */
int web_start(struct daemon *d);

#endif
