/*
 * The web inbox's port against a real inboxd and redis-server: its
 * static files (types, security headers, revalidation, HEAD), what it
 * refuses (traversal in every spelling, dot files, symlinks out of the
 * root, directories, unknown types, methods), the API answered on the
 * same port with the same auth, and a reload that moves web.root.
 * Requests go over raw sockets so that paths reach inboxd exactly as
 * written (an HTTP library would squash "..").
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "harness.h"
#include "util.h"
#include "web.h"

#define ALICE   "alice-token"

static struct it_redis redis;
static struct it_daemon da;
static int web_port;
static char root[256];          /* the test's web.root */
static char outside[300];       /* a file outside it */

static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "queues:\n"
    "  names: [general]\n"
    "web:\n"
    "  listen: 127.0.0.1:0\n"
    "  root: ";                 /* the root follows (config_with) */

/* ------------------------------------------------------------- helpers */

/* The config with web.root dir, in out. */
static void
config_with(char *out, size_t len, const char *dir)
{
    snprintf(out, len, "%s%s\n", config_tmpl, dir);
}

struct resp {
    int status;
    char *head;                 /* the header block, lines as sent */
    char *body;
    size_t body_len;
};

static void
resp_free(struct resp *r)
{
    xfree(r->head);
    xfree(r->body);
    memset(r, 0, sizeof(*r));
}

/*
 * Send request (the whole text, as is) to 127.0.0.1:port and read the
 * answer until the server closes (the request says Connection: close),
 * 5 s at most.
 */
static int
raw(int port, const char *request, struct resp *r)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct pollfd pfd;
    struct buf b;
    char chunk[4096], *sep;
    ssize_t n;
    int fd, rc = -1, waited = 0;

    memset(r, 0, sizeof(*r));
    buf_init(&b, 16 * 1024 * 1024);
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        goto out;
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1 ||
        write(fd, request, strlen(request)) != (ssize_t)strlen(request))
        goto out;
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (waited < 5000) {
        if (poll(&pfd, 1, 100) == 0) {
            waited += 100;
            continue;
        }
        if ((n = read(fd, chunk, sizeof(chunk))) <= 0)
            break;
        buf_append(&b, chunk, (size_t)n);
    }
    if (b.failed || b.len < 12 || (sep = strstr(b.data, "\r\n\r\n")) ==
        NULL)
        goto out;
    r->status = (int)strtol(b.data + 9, NULL, 10);
    r->head = xstrndup(b.data, (size_t)(sep - b.data) + 2);
    r->body_len = b.len - (size_t)(sep + 4 - b.data);
    r->body = xstrndup(sep + 4, r->body_len);
    rc = r->head != NULL && r->body != NULL ? 0 : -1;
out:
    if (fd != -1)
        close(fd);
    buf_free(&b);
    return rc;
}

/* method path on the web port, with extra header lines (may be ""). */
static int
req(const char *method, const char *path, const char *extra,
    struct resp *r)
{
    char text[2048];

    snprintf(text, sizeof(text), "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Connection: close\r\n%s\r\n", method, path, extra);
    return raw(web_port, text, r);
}

/* The value of header name in r (case-insensitive name), in out. */
static const char *
header(const struct resp *r, const char *name, char *out, size_t len)
{
    const char *p = r->head;
    size_t n = strlen(name);

    while (p != NULL && (p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e;

            while (*v == ' ')
                v++;
            e = strstr(v, "\r\n");
            snprintf(out, len, "%.*s", e ? (int)(e - v) : (int)strlen(v),
                v);
            return out;
        }
    }
    return NULL;
}

static int
write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *fp;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fputs(text, fp);
    return fclose(fp);
}

/* --------------------------------------------------------------- tests */

static int
test_index(void)
{
    struct resp r = {0}, r2 = {0};
    char v[512], etag[128], extra[256];
    int rc = 0;

    CHECK(req("GET", "/", "", &r) == 0);
    CHECK(r.status == 200);
    CHECK_STR(header(&r, "Content-Type", v, sizeof(v)),
        "text/html; charset=utf-8");
    CHECK_STR(header(&r, "Content-Security-Policy", v, sizeof(v)), WEB_CSP);
    CHECK_STR(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
    CHECK_STR(header(&r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
    CHECK_STR(header(&r, "Cache-Control", v, sizeof(v)), "no-cache");
    CHECK(header(&r, "ETag", etag, sizeof(etag)) != NULL);
    CHECK_CONTAINS(r.body, "<title>test inbox</title>");
    /* The same file by name, and its validator answers 304, empty. */
    CHECK(req("GET", "/index.html", "", &r2) == 0);
    CHECK(r2.status == 200 && strcmp(r.body, r2.body) == 0);
    resp_free(&r2);
    snprintf(extra, sizeof(extra), "If-None-Match: %s\r\n", etag);
    CHECK(req("GET", "/", extra, &r2) == 0);
    CHECK(r2.status == 304 && r2.body_len == 0);
    CHECK_STR(header(&r2, "ETag", v, sizeof(v)), etag);
    resp_free(&r2);
    CHECK(req("GET", "/", "If-None-Match: W/\"0-0-0\"\r\n", &r2) == 0);
    CHECK(r2.status == 200);
    resp_free(&r2);
    /* HEAD: the headers and length, no body. */
    CHECK(req("HEAD", "/", "", &r2) == 0);
    CHECK(r2.status == 200 && r2.body_len == 0);
    snprintf(extra, sizeof(extra), "%zu", r.body_len);
    CHECK_STR(header(&r2, "Content-Length", v, sizeof(v)), extra);
    CHECK_STR(header(&r2, "Content-Security-Policy", v, sizeof(v)),
        WEB_CSP);
out:
    resp_free(&r);
    resp_free(&r2);
    return rc;
}

static int
test_types(void)
{
    static const struct {
        const char *path;
        int status;
        const char *type;
    } cases[] = {
        { "/js/app.js", 200, "text/javascript; charset=utf-8" },
        { "/app.css", 200, "text/css; charset=utf-8" },
        { "/icon.svg", 200, "image/svg+xml" },
        { "/js/%61pp.js", 200, "text/javascript; charset=utf-8" },
        { "/inside.js", 200, "text/javascript; charset=utf-8" },
        { "/notes.md", 404, "application/json" },  /* not a served type */
        { "/Makefile", 404, "application/json" },
        { "/nosuch.html", 404, "application/json" },
        { "/js", 404, "application/json" },        /* no listing */
        { "/js/", 404, "application/json" },       /* no index there */
        { "/empty.txt", 200, "text/plain; charset=utf-8" },
        { "/healthz", 404, "application/json" },   /* the API's, not here */
        { "/metrics", 404, "application/json" },
        { "/webhooks/meta", 404, "application/json" },
    };
    struct resp r = {0};
    char v[512];
    int rc = 0;
    size_t i;

    for (i = 0; i < nitems(cases); i++) {
        CHECK(req("GET", cases[i].path, "", &r) == 0);
        if (r.status != cases[i].status)
            fprintf(stderr, "  %s: %d\n", cases[i].path, r.status);
        CHECK(r.status == cases[i].status);
        CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), cases[i].type);
        CHECK_STR(header(&r, "Content-Security-Policy", v, sizeof(v)),
            WEB_CSP);
        CHECK_STR(header(&r, "X-Content-Type-Options", v, sizeof(v)),
            "nosniff");
        if (cases[i].status == 404)
            CHECK_CONTAINS(r.body, "\"code\":\"not_found\"");
        resp_free(&r);
    }
out:
    if (rc != 0)
        fprintf(stderr, "  case %s\n", cases[i].path);
    resp_free(&r);
    return rc;
}

static int
test_traversal(void)
{
    static const char *const refused[] = {
        "/../../../../etc/passwd",
        "/js/../../outside.txt",
        "/%2e%2e/%2e%2e/etc/passwd",
        "/%2E%2E%2Foutside.txt",
        "/js/..%2f..%2foutside.txt",
        "/js/%2e%2e/index.html",
        "/.hidden.txt",
        "/%2ehidden.txt",
        "/./index.html",
        "/index.html%00.js",
        "/js%5c..%5cindex.html",
        "/bad%zzescape.js",
        "/trunc%2",
        "/escape.txt",          /* a symlink out of the root */
        "/linkdir/passwd.txt",  /* a directory symlink out of the root */
    };
    struct resp r = {0};
    char v[512];
    int rc = 0;
    size_t i;

    for (i = 0; i < nitems(refused); i++) {
        CHECK(req("GET", refused[i], "", &r) == 0);
        CHECK(r.status == 403 || r.status == 404 || r.status == 400);
        /* Never the secret's text, whatever the status. */
        CHECK(strstr(r.body, "outside-secret") == NULL);
        CHECK(strstr(r.body, "root:") == NULL);
        if (r.status != 400)
            CHECK_STR(header(&r, "Content-Security-Policy", v, sizeof(v)),
                WEB_CSP);
        resp_free(&r);
    }
    /* The ones that name a real file out of reach say so. */
    CHECK(req("GET", "/escape.txt", "", &r) == 0);
    CHECK(r.status == 403);
    CHECK_CONTAINS(r.body, "\"code\":\"forbidden\"");
    resp_free(&r);
    CHECK(req("GET", "/js/..%2f..%2foutside.txt", "", &r) == 0);
    CHECK(r.status == 403);
out:
    if (rc != 0)
        fprintf(stderr, "  case %s -> %d\n", refused[i], r.status);
    resp_free(&r);
    return rc;
}

static int
test_methods(void)
{
    static const char *const methods[] = { "POST", "PUT", "DELETE",
        "PATCH", "OPTIONS" };
    struct resp r = {0};
    char v[512], text[512];
    int rc = 0;

    for (size_t i = 0; i < nitems(methods); i++) {
        snprintf(text, sizeof(text), "%s /index.html HTTP/1.1\r\nHost: x\r\n"
            "Connection: close\r\nContent-Length: 0\r\n\r\n", methods[i]);
        CHECK(raw(web_port, text, &r) == 0);
        CHECK(r.status == 405);
        CHECK_STR(header(&r, "Allow", v, sizeof(v)), "GET, HEAD");
        CHECK_CONTAINS(r.body, "method_not_allowed");
        resp_free(&r);
    }
out:
    resp_free(&r);
    return rc;
}

/* /v1/ on the web port is the API itself: same auth, same answers. */
static int
test_api(void)
{
    struct resp r = {0};
    char v[512];
    int rc = 0;

    CHECK(req("GET", "/v1/queues", "", &r) == 0);
    CHECK(r.status == 401);
    CHECK_CONTAINS(r.body, "\"unauthorized\"");
    CHECK_STR(header(&r, "X-Content-Type-Options", v, sizeof(v)), "nosniff");
    resp_free(&r);
    CHECK(req("GET", "/v1/queues", "Authorization: Bearer nope\r\n", &r)
        == 0);
    CHECK(r.status == 401);
    resp_free(&r);
    CHECK(req("GET", "/v1/queues", "Authorization: Bearer " ALICE "\r\n",
        &r) == 0);
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "\"name\":\"general\"");
    CHECK_STR(header(&r, "Content-Type", v, sizeof(v)), "application/json");
    CHECK_STR(header(&r, "Referrer-Policy", v, sizeof(v)), "no-referrer");
    resp_free(&r);
    /* An ingest token may not read the desk here either. */
    CHECK(req("GET", "/v1/queues", "Authorization: Bearer test-token\r\n",
        &r) == 0);
    CHECK(r.status == 403);
    resp_free(&r);
    CHECK(req("GET", "/v1/nosuch", "Authorization: Bearer " ALICE "\r\n",
        &r) == 0);
    CHECK(r.status == 404);
    resp_free(&r);
    /* And the page is not on the API's own port. */
    {
        char text[256];

        snprintf(text, sizeof(text), "GET / HTTP/1.1\r\nHost: x\r\n"
            "Connection: close\r\n\r\n");
        CHECK(raw(da.port, text, &r) == 0);
        CHECK(r.status == 404);
        CHECK(strstr(r.body, "<title>") == NULL);
    }
out:
    resp_free(&r);
    return rc;
}

/* A reload may move web.root: the shipped page is served at once. */
static int
test_reload_root(void)
{
    struct resp r = {0};
    char yaml[2048];
    FILE *fp;
    int rc = 0;

    config_with(yaml, sizeof(yaml), PROJECT_DIR "/contrib/web");
    /* The harness expanded the template once; do it again by hand. */
    {
        struct buf b;
        const char *p = yaml, *at;

        buf_init(&b, 8192);
        while ((at = strstr(p, "{{")) != NULL) {
            buf_append(&b, p, (size_t)(at - p));
            if (strncmp(at, "{{port}}", 8) == 0) {
                buf_printf(&b, "%d", da.port);
                p = at + 8;
            } else if (strncmp(at, "{{redis}}", 9) == 0) {
                buf_puts(&b, it_redis_addr(&redis));
                p = at + 9;
            } else {
                buf_puts(&b, PROJECT_DIR "/rules");
                p = at + 9;
            }
        }
        buf_puts(&b, p);
        fp = fopen(da.cfg, "w");
        CHECK(fp != NULL);
        fputs(b.data, fp);
        fclose(fp);
        buf_free(&b);
    }
    CHECK(it_daemon_signal(&da, SIGHUP) == 0);
    CHECK(it_log_wait(&da, "reloaded", 10000) == 0);
    CHECK(req("GET", "/", "", &r) == 0);
    CHECK(r.status == 200);
    CHECK_CONTAINS(r.body, "<title>inboxd</title>");
    CHECK(strstr(r.body, "<script>") == NULL);   /* nothing inline */
    resp_free(&r);
    CHECK(req("GET", "/js/app.js", "", &r) == 0);
    CHECK(r.status == 200);
out:
    resp_free(&r);
    return rc;
}

static const struct check_case cases[] = {
    { "index: type, CSP and the other headers, 304, HEAD", test_index },
    { "types: served, unknown, missing, directories", test_types },
    { "traversal, dot files and symlinks out of the root", test_traversal },
    { "methods other than GET and HEAD: 405", test_methods },
    { "the API on the web port, same auth", test_api },
    { "reload moves web.root", test_reload_root },
};

static int
make_root(void)
{
    char dir[300], link[600];

    snprintf(root, sizeof(root), "/tmp/inboxd-web-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(dir, sizeof(dir), "%s/www", root);
    snprintf(outside, sizeof(outside), "%s/outside.txt", root);
    if (mkdir(dir, 0755) == -1 ||
        write_file(root, "outside.txt", "outside-secret\n") == -1 ||
        write_file(dir, "index.html", "<!doctype html><title>test inbox"
            "</title>\n") == -1 ||
        write_file(dir, "app.css", "body{}\n") == -1 ||
        write_file(dir, "icon.svg", "<svg/>\n") == -1 ||
        write_file(dir, "notes.md", "# notes\n") == -1 ||
        write_file(dir, "Makefile", "all:\n") == -1 ||
        write_file(dir, ".hidden.txt", "hidden\n") == -1 ||
        write_file(dir, "empty.txt", "") == -1)
        return -1;
    snprintf(link, sizeof(link), "%s/js", dir);
    if (mkdir(link, 0755) == -1 ||
        write_file(link, "app.js", "export {};\n") == -1)
        return -1;
    /* In-root symlinks are fine; those that leave the root are not. */
    snprintf(link, sizeof(link), "%s/inside.js", dir);
    if (symlink("js/app.js", link) == -1)
        return -1;
    snprintf(link, sizeof(link), "%s/escape.txt", dir);
    if (symlink(outside, link) == -1)
        return -1;
    snprintf(link, sizeof(link), "%s/linkdir", dir);
    if (symlink("/etc", link) == -1)
        return -1;
    return 0;
}

static void
rm_root(void)
{
    char cmd[600];

    if (root[0] == '\0' || strncmp(root, "/tmp/inboxd-web-", 16) != 0)
        return;
    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", root);
    if (system(cmd) != 0)
        fprintf(stderr, "web_test: could not remove %s\n", root);
}

int
main(void)
{
    char yaml[2048], www[300];
    int rc = 1;

    alloc_init();
    signal(SIGPIPE, SIG_IGN);
    if (make_root() == -1) {
        perror("web_test: temp web root");
        printf("0 passed, 1 failed\n");
        rm_root();
        return 1;
    }
    snprintf(www, sizeof(www), "%s/www", root);
    config_with(yaml, sizeof(yaml), www);
    if (it_redis_start(&redis) == -1 ||
        it_daemon_start(&da, yaml, &redis) == -1 ||
        it_daemon_wait_healthy(&da, 10000) == -1 ||
        (web_port = it_log_port(&da, "web inbox on http://127.0.0.1:",
        10000)) <= 0) {
        it_log_dump(&da);
        printf("0 passed, 1 failed\n");
        goto out;
    }
    rc = it_daemon_finish(&da, check_run(cases, nitems(cases)));
out:
    it_daemon_cleanup(&da);
    it_redis_cleanup(&redis);
    rm_root();
    return rc;
}
