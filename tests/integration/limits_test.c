/*
 * The HTTP limits against a real inboxd and redis-server: connections per
 * source (one over is closed at once while another source is served),
 * connections in all, the request rate per source (429 with Retry-After,
 * then served again), X-Forwarded-For believed only from a trusted
 * proxy, event streams per source, and slow clients: headers or a body
 * trickled a byte at a time and an idle connection are closed at
 * http.request_timeout, a client that never reads its answer at
 * http.timeout, and others are answered meanwhile. Each test speaks as
 * its own source: an address of 127.0.0.0/8, bound before connecting.
 */
#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "harness.h"
#include "util.h"

#define AGENT       "alice-token"
#define PROXY       "127.0.0.3"     /* http.trusted_proxies */
#define EXEMPT      "127.0.0.4"     /* http.sources.exempt; asks /metrics */
#define BIG_FILE    (4 * 1024 * 1024)

static struct it_redis redis;
static struct it_daemon da;
static int web_port;
static char root[64];               /* the web root's temp dir */

/* Limits small enough for a short test (docs/config.md has the keys). */
static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: " AGENT "}\n"
    "queues:\n"
    "  names: [general]\n"
    "http:\n"
    "  timeout: 3s\n"
    "  request_timeout: 2s\n"
    "  max_connections: 40\n"
    "  trusted_proxies: [" PROXY "]\n"
    "  sources:\n"
    "    exempt: [" EXEMPT "]\n"
    "    connections: 4\n"
    "    rate: 5\n"
    "    burst: 5\n"
    "    streams: 1\n"
    "web:\n"
    "  listen: 127.0.0.1:0\n"
    "  root: @WWW@\n"
    "  sources:\n"
    "    connections: 8\n"
    "    rate: 20\n"
    "    burst: 20\n";

/* ------------------------------------------------------------- helpers */

/* The Content-Length of the head [buf, end), or 0. */
static size_t
content_length(const char *buf, const char *end)
{
    static const char name[] = "\r\ncontent-length:";

    for (const char *p = buf; p + sizeof(name) - 1 < end; p++)
        if (strncasecmp(p, name, sizeof(name) - 1) == 0)
            return (size_t)strtoul(p + sizeof(name) - 1, NULL, 10);
    return 0;
}

struct resp {
    int status;
    char head[4096];            /* status line and headers */
    char body[4096];            /* cut to fit */
};

/*
 * Send text on fd (if not NULL) and read one answer, its body by
 * Content-Length (none: only the head, as for a stream), within ms.
 * The status, or -1 when the connection closed or nothing came.
 */
static int
exchange(int fd, const char *text, struct resp *r, int ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    long long deadline = it_now_ms() + ms;
    char buf[8192], *sep = NULL;
    size_t have = 0, want = 0, hlen;
    ssize_t n;

    memset(r, 0, sizeof(*r));
    r->status = -1;
    if (text != NULL && write(fd, text, strlen(text)) !=
        (ssize_t)strlen(text))
        return -1;
    while (it_now_ms() < deadline) {
        if (sep != NULL && have >= want)
            break;
        if (poll(&pfd, 1, 50) <= 0)
            continue;
        n = read(fd, buf + have, sizeof(buf) - 1 - have);
        if (n <= 0)
            return -1;
        have += (size_t)n;
        buf[have] = '\0';
        if (sep == NULL && (sep = strstr(buf, "\r\n\r\n")) != NULL) {
            hlen = (size_t)(sep - buf) + 4;
            want = hlen + content_length(buf, sep);
            if (want > sizeof(buf) - 1)
                return -1;
        }
        if (have == sizeof(buf) - 1)
            return -1;
    }
    if (sep == NULL || have < want)
        return -1;
    hlen = (size_t)(sep - buf) + 2;
    snprintf(r->head, sizeof(r->head), "%.*s", (int)hlen, buf);
    snprintf(r->body, sizeof(r->body), "%.*s", (int)(want - hlen - 2),
        sep + 4);
    r->status = (int)strtol(buf + 9, NULL, 10);
    return r->status;
}

/* The request line and headers of a GET (or with a body) to path. */
static void
request_text(char *out, size_t len, const char *method, const char *path,
    const char *extra, bool keep)
{
    snprintf(out, len, "%s %s HTTP/1.1\r\nHost: 127.0.0.1\r\n%s%s\r\n",
        method, path, keep ? "" : "Connection: close\r\n",
        extra != NULL ? extra : "");
}

/* One request from src to port on a new connection; the status or -1. */
static int
request_from(const char *src, int port, const char *path, const char *extra,
    struct resp *r)
{
    char text[2048];
    int fd, status;

    if ((fd = it_connect_from(src, port, 0)) == -1) {
        memset(r, 0, sizeof(*r));
        r->status = -1;
        return -1;
    }
    request_text(text, sizeof(text), "GET", path, extra, false);
    status = exchange(fd, text, r, 5000);
    close(fd);
    return status;
}

/*
 * A keep-alive connection from src whose request text was answered 200,
 * in *fd. Retried for a second: the server may not have seen yet that
 * the source closed another.
 */
static int
conn_served(const char *src, const char *text, int *fd)
{
    struct resp r;

    for (int tries = 0; tries < 50; tries++) {
        if ((*fd = it_connect_from(src, da.port, 0)) == -1)
            return -1;
        if (exchange(*fd, text, &r, 2000) == 200)
            return 0;
        close(*fd);
        *fd = -1;
        it_sleep_ms(20);
    }
    return -1;
}

/* The value of header name in r, or NULL. */
static const char *
header(const struct resp *r, const char *name, char *out, size_t len)
{
    const char *p = r->head;
    size_t n = strlen(name);

    while ((p = strstr(p, "\r\n")) != NULL) {
        p += 2;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            const char *v = p + n + 1, *e = strstr(v, "\r\n");

            while (*v == ' ')
                v++;
            snprintf(out, len, "%.*s", e != NULL ? (int)(e - v) :
                (int)strlen(v), v);
            return out;
        }
    }
    return NULL;
}

/*
 * Does the server close fd within ms, sending nothing? The time it took
 * in *took_ms (may be NULL); false when data came or it stayed open.
 */
static bool
closed_within(int fd, int ms, long long *took_ms)
{
    struct pollfd pfd = { .fd = fd, .events = POLLIN };
    long long start = it_now_ms();
    char c;

    while (it_now_ms() - start < ms) {
        if (poll(&pfd, 1, 20) <= 0)
            continue;
        if (read(fd, &c, 1) > 0)
            return false;
        if (took_ms != NULL)
            *took_ms = it_now_ms() - start;
        return true;
    }
    return false;
}

/* A series of /metrics ("name{labels}"), asked as the exempt source. */
static double
metric(const char *series)
{
    struct pollfd pfd;
    struct buf b;
    char text[256], chunk[8192], *p;
    size_t n = strlen(series);
    double v = -1;
    ssize_t got;
    int fd;

    if ((fd = it_connect_from(EXEMPT, da.port, 0)) == -1)
        return -1;
    buf_init(&b, 4u << 20);
    request_text(text, sizeof(text), "GET", "/metrics", NULL, false);
    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text))
        goto out;
    pfd.fd = fd;
    pfd.events = POLLIN;
    while (poll(&pfd, 1, 5000) > 0 && (got = read(fd, chunk,
        sizeof(chunk))) > 0)
        buf_append(&b, chunk, (size_t)got);
    for (p = b.data; p != NULL && *p != '\0'; p = strchr(p, '\n') ?
        strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
out:
    close(fd);
    buf_free(&b);
    return v;
}

/* Wait (at most ms) until series equals want. */
static int
metric_wait(const char *series, double want, int ms)
{
    long long deadline = it_now_ms() + ms;

    while (it_now_ms() < deadline) {
        if (metric(series) == want)
            return 0;
        it_sleep_ms(20);
    }
    fprintf(stderr, "  %s: %g, wanted %g\n", series, metric(series), want);
    return -1;
}

/* ---------------------------------------------------------- connections */

/*
 * http.sources.connections is 4: the fifth connection from one source is
 * closed at once, unanswered, while another source is served; when one
 * of the four closes, the source may connect again.
 */
static int
test_source_connections(void)
{
    const char *src = "127.0.0.5";
    double before = metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"source_connections\"}");
    int fds[4] = { -1, -1, -1, -1 }, extra = -1, rc = 0;
    char text[256];
    struct resp r;
    long long took = -1;

    request_text(text, sizeof(text), "GET", "/healthz", NULL, true);
    for (int i = 0; i < 4; i++) {
        CHECK((fds[i] = it_connect_from(src, da.port, 0)) != -1);
        CHECK(exchange(fds[i], text, &r, 5000) == 200);
    }
    CHECK((extra = it_connect_from(src, da.port, 0)) != -1);
    (void)write(extra, text, strlen(text));
    CHECK(closed_within(extra, 1000, &took));
    /* Another source is served meanwhile. */
    CHECK(request_from("127.0.0.6", da.port, "/healthz", NULL, &r) == 200);
    /* The four are still open and answer (past the source's burst of
     * requests by now, so some with 429). */
    for (int i = 0; i < 4; i++)
        CHECK(exchange(fds[i], text, &r, 5000) > 0);
    CHECK(metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"source_connections\"}") >= (before > 0 ? before : 0) + 1);
    CHECK(it_log_contains(&da, "127.0.0.5 on api: connection closed: the "
        "source has its limit open"));
    /* One closes: room for one more. */
    close(fds[0]);
    fds[0] = -1;
    close(extra);
    extra = -1;
    CHECK(conn_served(src, text, &extra) == 0);
out:
    for (int i = 0; i < 4; i++)
        if (fds[i] != -1)
            close(fds[i]);
    if (extra != -1)
        close(extra);
    return rc;
}

/*
 * http.max_connections is 40 over every source, exempt ones too: of 50
 * connections at once, at most 40 are served, the rest closed.
 */
static int
test_total_connections(void)
{
    int fds[50], served = 0, refused = 0, rc = 0;
    char text[256];
    struct resp r;

    for (int i = 0; i < 50; i++)
        fds[i] = it_connect_from(EXEMPT, da.port, 0);
    request_text(text, sizeof(text), "GET", "/healthz", NULL, true);
    for (int i = 0; i < 50; i++) {
        if (fds[i] != -1 && exchange(fds[i], text, &r, 3000) == 200)
            served++;
        else
            refused++;
    }
    CHECK(served <= 40);
    CHECK(served >= 30);
    CHECK(refused >= 10);
    for (int i = 0; i < 50; i++) {
        if (fds[i] != -1)
            close(fds[i]);
        fds[i] = -1;
    }
    CHECK(metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"connections\"}") >= 10);
    /* All closed: the gauge comes back down (the metrics request is the
     * one connection open). */
    CHECK(metric_wait("inboxd_http_connections{listener=\"api\"}", 1, 5000)
        == 0);
out:
    for (int i = 0; i < 50; i++)
        if (fds[i] != -1)
            close(fds[i]);
    return rc;
}

/* ----------------------------------------------------------------- rate */

/*
 * Requests from one source past rate 5/s with burst 5 from one source:
 * how many were served before the first 429. Fills *first (the 429) and
 * *elapsed_ms (from the first request to it). -1: no 429 in 30.
 */
static int
burst_until_429(const char *src, const char *extra, struct resp *first,
    long long *elapsed_ms)
{
    long long start = it_now_ms();
    struct resp r;

    for (int i = 0; i < 30; i++) {
        if (request_from(src, da.port, "/healthz", extra, &r) == 429) {
            *first = r;
            *elapsed_ms = it_now_ms() - start;
            return i;
        }
        if (r.status != 200)
            return -1;
    }
    return -1;
}

/* The most a source may be served in elapsed_ms at 5/s, burst 5. */
static int
rate_allows(long long elapsed_ms)
{
    return 5 + (int)(elapsed_ms * 5 / 1000) + 1;
}

static int
test_rate(void)
{
    const char *src = "127.0.0.7";
    struct resp r, first;
    char v[64];
    json_t *body = NULL;
    long long elapsed = 0;
    int served, rc = 0;

    served = burst_until_429(src, NULL, &first, &elapsed);
    CHECK(served >= 5);
    CHECK(served <= rate_allows(elapsed));
    /* 429 in the usual error shape, with the wait. */
    CHECK_STR(header(&first, "Retry-After", v, sizeof(v)), "1");
    CHECK_STR(header(&first, "Content-Type", v, sizeof(v)),
        "application/json");
    CHECK((body = json_loads(first.body, 0, NULL)) != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(body,
        "error"), "code")), "rate_limited");
    /* Another source is not affected. */
    CHECK(request_from("127.0.0.8", da.port, "/healthz", NULL, &r) == 200);
    /* One token comes back every 200 ms. */
    it_sleep_ms(250);
    CHECK(request_from(src, da.port, "/healthz", NULL, &r) == 200);
    CHECK(metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"rate\"}") >= 1);
    /* However many 429s, the log has one line for this source. */
    for (int i = 0; i < 5; i++)
        (void)request_from(src, da.port, "/healthz", NULL, &r);
    CHECK(it_log_count(&da, "127.0.0.7 on api: request refused (429)") ==
        1);
    /* The web port has its own bucket (burst 20 there). */
    for (int i = 0; i < 12; i++)
        CHECK(request_from(src, web_port, "/index.html", NULL, &r) == 200);
    /* Its files count too, and its 429 has the page's headers. */
    for (int i = 0; i < 40 && r.status != 429; i++)
        (void)request_from(src, web_port, "/index.html", NULL, &r);
    CHECK(r.status == 429);
    CHECK_STR(header(&r, "X-Content-Type-Options", v, sizeof(v)),
        "nosniff");
    CHECK(header(&r, "Retry-After", v, sizeof(v)) != NULL);
    CHECK(metric("inboxd_http_limited_total{listener=\"web\","
        "reason=\"rate\"}") >= 1);
out:
    json_decref(body);
    return rc;
}

/* -------------------------------------------------------------- proxies */

/*
 * From the trusted proxy, X-Forwarded-For names the source: one client
 * limited, another not, a forged left part ignored. From anyone else the
 * header is ignored: every request counts against the peer.
 */
static int
test_forwarded(void)
{
    struct resp r, first;
    long long elapsed = 0;
    int served, fds[6], rc = 0;
    char text[256];

    served = burst_until_429(PROXY, "X-Forwarded-For: 203.0.113.7\r\n",
        &first, &elapsed);
    CHECK(served >= 5 && served <= rate_allows(elapsed));
    CHECK(it_log_contains(&da, "203.0.113.7 on api: request refused"));
    /* Another client of the same proxy is its own source. */
    CHECK(request_from(PROXY, da.port, "/healthz",
        "X-Forwarded-For: 203.0.113.8\r\n", &r) == 200);
    /* What the client wrote itself (the left part) changes nothing: the
     * proxy appended the address it saw. */
    CHECK(request_from(PROXY, da.port, "/healthz",
        "X-Forwarded-For: 198.51.100.99, 203.0.113.7\r\n", &r) == 429);
    /* So does a second header line the client sent first. */
    CHECK(request_from(PROXY, da.port, "/healthz",
        "X-Forwarded-For: 198.51.100.98\r\n"
        "X-Forwarded-For: 203.0.113.7\r\n", &r) == 429);
    /* An exempt client behind the proxy is exempt. */
    for (int i = 0; i < 8; i++)
        CHECK(request_from(PROXY, da.port, "/healthz",
            "X-Forwarded-For: " EXEMPT "\r\n", &r) == 200);
    /* The proxy holds more connections than one source may. */
    request_text(text, sizeof(text), "GET", "/healthz",
        "X-Forwarded-For: 203.0.113.9\r\n", true);
    for (int i = 0; i < 6; i++)
        fds[i] = it_connect_from(PROXY, da.port, 0);
    for (int i = 0; i < 6; i++) {
        if (i < 5)
            CHECK(fds[i] != -1 && exchange(fds[i], text, &r, 5000) == 200);
        else
            CHECK(fds[i] != -1 && exchange(fds[i], text, &r, 5000) == 429);
    }
    for (int i = 0; i < 6; i++)
        close(fds[i]);

    /* Not a trusted proxy: the header is ignored. */
    served = 0;
    for (int i = 0; i < 30; i++) {
        char xff[64];

        snprintf(xff, sizeof(xff), "X-Forwarded-For: 198.51.100.%d\r\n",
            i + 1);
        if (request_from("127.0.0.9", da.port, "/healthz", xff, &r) == 429)
            break;
        served++;
    }
    CHECK(served >= 5 && served < 30);
    CHECK(it_log_contains(&da, "127.0.0.9 on api: request refused"));
    CHECK(!it_log_contains(&da, "198.51.100."));
out:
    return rc;
}

/* -------------------------------------------------------------- streams */

/* GET /v1/events from src; the status (the connection stays in *fd). */
static int
stream_open(const char *src, int *fd)
{
    struct resp r;
    char text[256];

    if ((*fd = it_connect_from(src, da.port, 0)) == -1)
        return -1;
    request_text(text, sizeof(text), "GET", "/v1/events",
        "Authorization: Bearer " AGENT "\r\nAccept: text/event-stream\r\n",
        true);
    return exchange(*fd, text, &r, 5000);
}

/*
 * http.sources.streams is 1: a second stream from the source is 429,
 * one from another source is not, and the stream does not count
 * against the source's connections.
 */
static int
test_streams(void)
{
    int a = -1, b = -1, c = -1, fds[4] = { -1, -1, -1, -1 }, rc = 0;
    char text[256];

    CHECK(stream_open("127.0.0.14", &a) == 200);
    CHECK(stream_open("127.0.0.14", &b) == 429);
    close(b);
    b = -1;
    CHECK(stream_open("127.0.0.15", &c) == 200);
    CHECK(metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"source_streams\"}") >= 1);
    /* Four connections besides the stream. */
    request_text(text, sizeof(text), "GET", "/healthz", NULL, true);
    for (int i = 0; i < 4; i++)
        CHECK(conn_served("127.0.0.14", text, &fds[i]) == 0);
    for (int i = 0; i < 4; i++) {
        close(fds[i]);
        fds[i] = -1;
    }
    /* The stream ends: another may start. */
    close(a);
    a = -1;
    for (int tries = 0; tries < 50; tries++) {
        if (stream_open("127.0.0.14", &b) == 200)
            break;
        close(b);
        b = -1;
        it_sleep_ms(20);
    }
    CHECK(b != -1);
out:
    for (int i = 0; i < 4; i++)
        if (fds[i] != -1)
            close(fds[i]);
    if (a != -1)
        close(a);
    if (b != -1)
        close(b);
    if (c != -1)
        close(c);
    return rc;
}

/* --------------------------------------------------------- slow clients */

/*
 * Three slow clients at once, each under the idle timeout (http.timeout
 * 2 s) with a byte every 300 ms: headers trickled, a body trickled, and
 * one that sends nothing. Each is closed when http.request_timeout (2 s)
 * has passed, unanswered, and a normal client is answered at once
 * meanwhile.
 */
static int
test_slowloris(void)
{
    static const char *heads[3] = {
        "GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: "
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "POST /v1/items HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            "Authorization: Bearer test-token\r\n"
            "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
            "{\"platform\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        "",
    };
    static const char *srcs[3] = { "127.0.0.10", "127.0.0.11",
        "127.0.0.12" };
    long long start, closed_at[3] = { 0, 0, 0 }, t0, answered = -1;
    size_t sent[3] = { 0, 0, 0 };
    int fds[3] = { -1, -1, -1 }, open_left = 3, rc = 0;
    struct resp r;

    start = it_now_ms();
    for (int i = 0; i < 3; i++)
        CHECK((fds[i] = it_connect_from(srcs[i], da.port, 0)) != -1);
    while (open_left > 0 && it_now_ms() - start < 6000) {
        for (int i = 0; i < 3; i++) {
            struct pollfd pfd = { .fd = fds[i], .events = POLLIN };
            char c;

            if (closed_at[i] != 0)
                continue;
            if (poll(&pfd, 1, 0) > 0) {
                /* Closed (0 or a reset), never answered. */
                CHECK(read(fds[i], &c, 1) <= 0);
                closed_at[i] = it_now_ms() - start;
                open_left--;
                continue;
            }
            if (heads[i][sent[i]] != '\0' &&
                write(fds[i], heads[i] + sent[i], 1) == 1)
                sent[i]++;
        }
        if (answered < 0 && it_now_ms() - start > 1000) {
            /* In the middle of it all, a normal request. */
            t0 = it_now_ms();
            CHECK(request_from("127.0.0.13", da.port, "/healthz", NULL,
                &r) == 200);
            answered = it_now_ms() - t0;
        }
        it_sleep_ms(300);
    }
    for (int i = 0; i < 3; i++) {
        fprintf(stderr, "  slow client %d: closed after %lld ms, %zu bytes "
            "sent\n", i, closed_at[i], sent[i]);
        CHECK(closed_at[i] >= 1700 && closed_at[i] <= 4000);
    }
    CHECK(sent[0] > 5 && sent[1] > 5);
    CHECK(answered >= 0 && answered < 1000);
    CHECK(metric("inboxd_http_limited_total{listener=\"api\","
        "reason=\"request_timeout\"}") >= 3);
out:
    for (int i = 0; i < 3; i++)
        if (fds[i] != -1)
            close(fds[i]);
    return rc;
}

/*
 * A client that asks for a large file on the web port and never reads:
 * the write stalls, and the connection is closed at http.timeout (2 s)
 * while the page is served to others. It got far less than the file.
 */
static int
test_never_reads(void)
{
    const char *gauge = "inboxd_http_connections{listener=\"web\"}";
    char text[256], chunk[65536];
    struct resp r;
    size_t got = 0;
    long long t0;
    ssize_t n;
    int fd = -1, rc = 0;

    CHECK((fd = it_connect_from("127.0.0.16", web_port, 4096)) != -1);
    request_text(text, sizeof(text), "GET", "/big.js", NULL, false);
    CHECK(write(fd, text, strlen(text)) == (ssize_t)strlen(text));
    CHECK(metric_wait(gauge, 1, 2000) == 0);
    t0 = it_now_ms();
    CHECK(request_from("127.0.0.17", web_port, "/index.html", NULL, &r) ==
        200);
    CHECK(it_now_ms() - t0 < 1000);
    /* Closed while we still read nothing. */
    CHECK(metric_wait(gauge, 0, 6000) == 0);
    CHECK(it_now_ms() - t0 >= 1000);
    for (;;) {
        struct pollfd pfd = { .fd = fd, .events = POLLIN };

        if (poll(&pfd, 1, 2000) <= 0 || (n = read(fd, chunk,
            sizeof(chunk))) <= 0)
            break;
        got += (size_t)n;
    }
    fprintf(stderr, "  the reader got %zu of %d bytes\n", got, BIG_FILE);
    CHECK(got < BIG_FILE);
out:
    if (fd != -1)
        close(fd);
    return rc;
}

/* ---------------------------------------------------------------- reload */

/*
 * The daemon's config with from replaced by to, reloaded (SIGHUP); waits
 * for wait_for in the log, 30 s at most (the rules compile again, which
 * takes seconds under valgrind).
 */
static int
reload_with(const char *from, const char *to, const char *wait_for)
{
    char *text = NULL, *next = NULL;
    int before = it_log_count(&da, wait_for), rc = -1;
    long long deadline = it_now_ms() + 30000;
    FILE *fp;
    size_t len;

    if ((text = util_read_file(da.cfg, 1 << 20, &len, NULL)) == NULL ||
        (next = it_subst(text, from, to)) == NULL ||
        (fp = fopen(da.cfg, "w")) == NULL)
        goto out;
    fputs(next, fp);
    if (fclose(fp) != 0 || it_daemon_signal(&da, SIGHUP) == -1)
        goto out;
    while (it_now_ms() < deadline && rc == -1) {
        if (it_log_count(&da, wait_for) > before)
            rc = 0;
        else
            it_sleep_ms(20);
    }
out:
    xfree(text);
    xfree(next);
    return rc;
}

/*
 * A reload changes the limits at once (rate 1, burst 1 for a new
 * source); one with a bad network is refused and the limits stay.
 */
static int
test_reload(void)
{
    struct resp r;
    int rc = 0;

    CHECK(reload_with("    rate: 5\n    burst: 5\n",
        "    rate: 1\n    burst: 1\n", "reloaded") == 0);
    CHECK(request_from("127.0.0.19", da.port, "/healthz", NULL, &r) == 200);
    CHECK(request_from("127.0.0.19", da.port, "/healthz", NULL, &r) == 429);
    CHECK(reload_with("exempt: [" EXEMPT "]", "exempt: [" EXEMPT ", 10.1/8]",
        "reload failed") == 0);
    CHECK(it_log_contains(&da, "http.sources.exempt[1]: \"10.1/8\" is not "
        "an address or a network"));
    CHECK(request_from("127.0.0.20", da.port, "/healthz", NULL, &r) == 200);
    CHECK(request_from("127.0.0.20", da.port, "/healthz", NULL, &r) == 429);
    CHECK(reload_with("exempt: [" EXEMPT ", 10.1/8]", "exempt: [" EXEMPT "]",
        "reloaded") == 0);
    CHECK(reload_with("    rate: 1\n    burst: 1\n",
        "    rate: 5\n    burst: 5\n", "reloaded") == 0);
out:
    return rc;
}

/*
 * With http.forwarded_header: forwarded, the trusted proxy's Forwarded
 * header names the source (RFC 7239), and an X-Forwarded-For header is
 * the client's own text, ignored: those requests count against the proxy.
 */
static int
test_forwarded_rfc7239(void)
{
    struct resp first;
    long long elapsed = 0;
    int served, rc = 0;

    CHECK(reload_with("  trusted_proxies: [" PROXY "]\n",
        "  trusted_proxies: [" PROXY "]\n  forwarded_header: forwarded\n",
        "reloaded") == 0);
    served = burst_until_429(PROXY,
        "Forwarded: for=\"203.0.113.21:4711\";proto=https\r\n", &first,
        &elapsed);
    CHECK(served >= 5 && served <= rate_allows(elapsed));
    CHECK(it_log_contains(&da, "203.0.113.21 on api: request refused"));
    served = burst_until_429(PROXY, "X-Forwarded-For: 203.0.113.22\r\n",
        &first, &elapsed);
    CHECK(served >= 5 && served <= rate_allows(elapsed));
    CHECK(it_log_contains(&da, PROXY " on api: request refused"));
    CHECK(!it_log_contains(&da, "203.0.113.22"));
    CHECK(reload_with("  forwarded_header: forwarded\n", "", "reloaded") ==
        0);
out:
    return rc;
}

/* ------------------------------------------------------------------ main */

static int
make_root(void)
{
    char path[128];
    FILE *fp;

    snprintf(root, sizeof(root), "/tmp/inboxd-limits-XXXXXX");
    if (mkdtemp(root) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/index.html", root);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    fputs("<!doctype html><title>limits</title>\n", fp);
    if (fclose(fp) != 0)
        return -1;
    snprintf(path, sizeof(path), "%s/big.js", root);
    if ((fp = fopen(path, "w")) == NULL)
        return -1;
    for (int i = 0; i < BIG_FILE / 64; i++)
        fputs("/* ..........................................,........ */\n",
            fp);
    return fclose(fp);
}

static void
rm_root(void)
{
    char path[128];

    if (root[0] == '\0')
        return;
    snprintf(path, sizeof(path), "%s/index.html", root);
    unlink(path);
    snprintf(path, sizeof(path), "%s/big.js", root);
    unlink(path);
    rmdir(root);
}

static const struct check_case cases[] = {
    { "source connections", test_source_connections },
    { "total connections", test_total_connections },
    { "rate", test_rate },
    { "forwarded", test_forwarded },
    { "streams", test_streams },
    { "slowloris", test_slowloris },
    { "never reads", test_never_reads },
    { "reload", test_reload },
    { "forwarded (RFC 7239)", test_forwarded_rfc7239 },
};

int
main(void)
{
    char *yaml = NULL;
    int rc = 1;

    alloc_init();
    signal(SIGPIPE, SIG_IGN);
    if (make_root() == -1 ||
        (yaml = it_subst(config_tmpl, "@WWW@", root)) == NULL) {
        perror("limits_test: temp web root");
        printf("0 passed, 1 failed\n");
        goto out;
    }
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
    xfree(yaml);
    it_daemon_cleanup(&da);
    it_redis_cleanup(&redis);
    rm_root();
    return rc;
}
