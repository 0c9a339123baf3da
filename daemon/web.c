/*
 * web: the web inbox's port. http_listen_also gives it a second evhttp
 * server with http's routes, auth and limits; this module is its front:
 * /v1/... goes on to the routes (the page is same-origin with the API it
 * uses, no CORS), anything else is a static file of web.root, GET and
 * HEAD only, under a strict Content-Security-Policy. There is no
 * directory listing, no dot file, nothing outside the root's real path
 * and no type outside the table below.
 *
 * The files are a few KiB each and read whole on the loop for each
 * request (at most WEB_MAX_FILE); they are not cached, so an upgrade of
 * web.root shows at once (the page revalidates with If-None-Match).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "http.h"
#include "log.h"
#include "metrics.h"
#include "util.h"
#include "web.h"

/* The types served, by extension; any other file is not found. */
static const struct {
    const char *ext;
    const char *type;
} web_types[] = {
    { "html", "text/html; charset=utf-8" },
    { "css", "text/css; charset=utf-8" },
    { "js", "text/javascript; charset=utf-8" },
    { "mjs", "text/javascript; charset=utf-8" },
    { "json", "application/json" },
    { "svg", "image/svg+xml" },
    { "png", "image/png" },
    { "ico", "image/x-icon" },
    { "txt", "text/plain; charset=utf-8" },
    { "woff2", "font/woff2" },
};

/* Headers on every answer of the web port, the API's included. */
static const struct {
    const char *name;
    const char *value;
} web_headers[] = {
    { "X-Content-Type-Options", "nosniff" },
    { "Referrer-Policy", "no-referrer" },
    { "X-Frame-Options", "DENY" },
    { "Cross-Origin-Opener-Policy", "same-origin" },
    { "Cross-Origin-Resource-Policy", "same-origin" },
};

static const struct metrics_family_decl web_metric_families[] = {
    {"inboxd_web_requests_total", METRICS_COUNTER,
        "Static file requests of the web inbox by status code."},
};

/* ---------------------------------------------------------- resolve */

static int
web_hex(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/*
 * Decode one raw segment [s, s + len) onto b. A segment that decodes to
 * nothing, starts with '.', or holds '/', '\\' or a control byte is
 * refused: that covers ".." and "%2e%2e", "%2F" and NUL.
 */
static int
web_segment(struct buf *b, const char *s, size_t len)
{
    size_t start = b->len;
    int hi, lo;
    char c;

    for (size_t i = 0; i < len; i++) {
        c = s[i];
        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            if ((hi = web_hex((unsigned char)s[i + 1])) == -1 ||
                (lo = web_hex((unsigned char)s[i + 2])) == -1)
                return -1;
            c = (char)(hi * 16 + lo);
            i += 2;
        }
        if (c == '/' || c == '\\' || (unsigned char)c < 0x20 || c == 0x7f)
            return -1;
        if (b->len == start && c == '.')
            return -1;
        if (buf_append(b, &c, 1) == -1)
            return -1;
    }
    return b->len == start ? -1 : 0;
}

static const char *
web_type(const char *name)
{
    const char *dot = strrchr(name, '.');

    if (dot == NULL)
        return NULL;
    for (size_t i = 0; i < nitems(web_types); i++) {
        if (strcmp(dot + 1, web_types[i].ext) == 0)
            return web_types[i].type;
    }
    return NULL;
}

/* Is path at or under dir (both real paths)? */
static bool
web_is_under(const char *path, const char *dir)
{
    size_t n = strlen(dir);

    if (n == 1 && dir[0] == '/')
        return path[0] == '/';
    return strncmp(path, dir, n) == 0 && path[n] == '/';
}

enum web_result
web_resolve(const char *root, const char *path, struct web_file *out)
{
    char realroot[PATH_MAX], real[PATH_MAX];
    enum web_result res = WEB_ERROR;
    const char *p, *slash, *name;
    struct buf b;
    struct stat st;
    size_t len;
    int fd = -1;

    memset(out, 0, sizeof(*out));
    out->fd = -1;
    buf_init(&b, PATH_MAX);
    if (path == NULL || path[0] != '/') {
        res = WEB_NOT_FOUND;
        goto out;
    }
    if (realpath(root, realroot) == NULL) {
        log_warn("web.root %s", root);
        goto out;
    }
    if (buf_puts(&b, realroot) == -1)
        goto out;
    /* Each segment after a '/'; a path ending in '/' names its index. */
    for (p = path + 1; *p != '\0'; p = slash + 1) {
        if ((slash = strchr(p, '/')) == NULL)
            slash = p + strlen(p);
        len = (size_t)(slash - p);
        if (buf_puts(&b, "/") == -1)
            goto out;
        if (web_segment(&b, p, len) == -1) {
            res = WEB_FORBIDDEN;
            goto out;
        }
        if (*slash == '\0')
            break;
        if (slash[1] == '\0') {
            if (buf_puts(&b, "/index.html") == -1)
                goto out;
            break;
        }
    }
    if (path[1] == '\0' && buf_puts(&b, "/index.html") == -1)
        goto out;
    if (b.failed)
        goto out;
    name = strrchr(b.data, '/') + 1;
    if ((out->type = web_type(name)) == NULL) {
        res = WEB_NOT_FOUND;
        goto out;
    }
    /* A symlink may point anywhere: where it lands must be under root. */
    if (realpath(b.data, real) == NULL) {
        res = errno == ENOENT || errno == ENOTDIR ? WEB_NOT_FOUND :
            WEB_FORBIDDEN;
        goto out;
    }
    if (!web_is_under(real, realroot)) {
        res = WEB_FORBIDDEN;
        goto out;
    }
    if ((fd = open(real, O_RDONLY | O_CLOEXEC | O_NOFOLLOW)) == -1) {
        res = errno == ENOENT ? WEB_NOT_FOUND : WEB_FORBIDDEN;
        goto out;
    }
    if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
        st.st_size > WEB_MAX_FILE) {
        res = WEB_NOT_FOUND;
        goto out;
    }
    out->size = (long long)st.st_size;
    snprintf(out->etag, sizeof(out->etag), "W/\"%llx-%llx-%lx\"",
        (unsigned long long)st.st_size,
        (unsigned long long)st.st_mtim.tv_sec, (long)st.st_mtim.tv_nsec);
    out->fd = fd;
    fd = -1;
    res = WEB_OK;
out:
    if (fd != -1)
        close(fd);
    if (res != WEB_OK)
        out->type = NULL;
    buf_free(&b);
    return res;
}

/* ------------------------------------------------------------ answers */

static void
web_count(struct daemon *d, int code)
{
    char c[8];

    snprintf(c, sizeof(c), "%d", code);
    metrics_add(d->metrics, "inboxd_web_requests_total", "code", c, 1);
}

/* The API's error shape, so the page reads every error the same way. */
static void
web_error(struct daemon *d, struct evhttp_request *req, int status,
    const char *reason, const char *code, const char *message)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code,
        "message", message);
    char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;
    struct evbuffer *buf = evbuffer_new();

    evhttp_remove_header(out, "Content-Security-Policy");
    evhttp_remove_header(out, "Cache-Control");
    evhttp_remove_header(out, "ETag");
    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Cache-Control", "no-store");
    evhttp_add_header(out, "Content-Security-Policy", WEB_CSP);
    if (buf != NULL && s != NULL) {
        evbuffer_add(buf, s, strlen(s));
        evbuffer_add(buf, "\n", 1);
    }
    evhttp_send_reply(req, status, reason, buf);
    web_count(d, status);
    if (buf != NULL)
        evbuffer_free(buf);
    xfree(s);
    json_decref(body);
}

/* Does If-None-Match (a list, or '*') name etag? */
static bool
web_not_modified(const char *inm, const char *etag)
{
    const char *p;
    size_t n = strlen(etag);

    if (inm == NULL)
        return false;
    if (strcmp(inm, "*") == 0)
        return true;
    /* Weak comparison: W/"x" and "x" are the same validator. */
    for (p = inm; (p = strstr(p, etag + 2)) != NULL; p++) {
        if ((p == inm || p[-1] == ' ' || p[-1] == ',' || p[-1] == '/') &&
            (p[n - 2] == '\0' || p[n - 2] == ',' || p[n - 2] == ' '))
            return true;
    }
    return false;
}

/* The whole file into a new buffer, fd closed; NULL on failure (logged). */
static struct evbuffer *
web_read(int fd, long long size)
{
    struct evbuffer *b = evbuffer_new();
    long long got = 0;
    int n;

    while (b != NULL && got < size) {
        n = evbuffer_read(b, fd, (int)(size - got));
        if (n <= 0) {
            log_warn("web: read");
            evbuffer_free(b);
            b = NULL;
            break;
        }
        got += n;
    }
    close(fd);
    return b;
}

static void
web_serve(struct daemon *d, struct evhttp_request *req, const char *path)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    struct evbuffer *body = NULL;
    struct web_file f;
    char q[LOG_QUOTE_MAX + 8], len[32];

    if (m != EVHTTP_REQ_GET && m != EVHTTP_REQ_HEAD) {
        evhttp_add_header(out, "Allow", "GET, HEAD");
        web_error(d, req, 405, "Method Not Allowed", "method_not_allowed",
            "the web inbox's files are read with GET");
        return;
    }
    switch (web_resolve(d->cfg->web.root, path, &f)) {
    case WEB_OK:
        break;
    case WEB_FORBIDDEN:
        log_debug("web", "refused %s", log_quote(q, sizeof(q), path));
        web_error(d, req, 403, "Forbidden", "forbidden",
            "that path is not served");
        return;
    case WEB_NOT_FOUND:
        web_error(d, req, 404, "Not Found", "not_found", "no such file");
        return;
    case WEB_ERROR:
    default:
        web_error(d, req, 500, "Internal Server Error", "internal",
            "the web inbox's files cannot be read");
        return;
    }
    evhttp_add_header(out, "Content-Security-Policy", WEB_CSP);
    /* Fixed names, so every use revalidates: an upgrade shows at once. */
    evhttp_add_header(out, "Cache-Control", "no-cache");
    evhttp_add_header(out, "ETag", f.etag);
    if (web_not_modified(evhttp_find_header(
        evhttp_request_get_input_headers(req), "If-None-Match"), f.etag)) {
        close(f.fd);
        evhttp_send_reply(req, 304, "Not Modified", NULL);
        web_count(d, 304);
        return;
    }
    evhttp_add_header(out, "Content-Type", f.type);
    if (m == EVHTTP_REQ_HEAD) {
        close(f.fd);
        snprintf(len, sizeof(len), "%lld", f.size);
        evhttp_add_header(out, "Content-Length", len);
        evhttp_send_reply(req, 200, "OK", NULL);
        web_count(d, 200);
        return;
    }
    if ((body = web_read(f.fd, f.size)) == NULL) {
        evhttp_remove_header(out, "Content-Type");
        web_error(d, req, 500, "Internal Server Error", "internal",
            "the file cannot be read");
        return;
    }
    evhttp_send_reply(req, 200, "OK", body);
    web_count(d, 200);
    evbuffer_free(body);
}

/*
 * Every request on the web port: the security headers, then the API's
 * routes for /v1/ (and a drain's 503, which http answers for every
 * path), the files for the rest.
 */
static bool
web_front_cb(struct evhttp_request *req, void *arg)
{
    struct daemon *d = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    const char *path = uri != NULL ? evhttp_uri_get_path(uri) : NULL;

    for (size_t i = 0; i < nitems(web_headers); i++)
        evhttp_add_header(out, web_headers[i].name, web_headers[i].value);
    if (path == NULL || *path == '\0')
        path = "/";
    if (d->draining || util_str_has_prefix(path, "/v1/") ||
        strcmp(path, "/v1") == 0)
        return false;
    /* A file counts against the source's rate like an API request. */
    if (http_admit(d->http, req))
        web_serve(d, req, path);
    return true;
}

int
web_start(struct daemon *d)
{
    const struct config *cfg = d->cfg;
    int port;

    if (cfg->web.host == NULL)
        return 0;
    metrics_declare_all(d->metrics, web_metric_families,
        nitems(web_metric_families));
    if ((port = http_listen_also(d->http, cfg->web.host, cfg->web.port,
        web_front_cb, d)) == -1)
        return -1;
    log_info("web inbox on http://%s:%d/ from %s", cfg->web.host, port,
        cfg->web.root);
    return 0;
}
