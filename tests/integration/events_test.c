/*
 * The live event stream end to end: a real redis-server, two inboxd
 * processes sharing it, SSE clients on raw sockets (HTTP/1.1, the
 * chunked body decoded here), items posted through POST /v1/items and
 * worked through the desk. Each test watches queues of its own (routed
 * by account id) or starts its clients after the events it does not
 * want, so the exact sequences it asserts are its own.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "harness.h"
#include "util.h"

#ifndef INBOXCTL_BIN
#error "INBOXCTL_BIN must be defined"
#endif

static struct it_redis redis;
static struct it_daemon da;     /* events.max_clients 16 */
static struct it_daemon db;     /* events.max_clients 2, the second process */

#define ALICE   "alice-token"
#define LENA    "lena-token"
#define INGEST  "test-token"

/* {{maxc}} is ours: the harness leaves unknown braces alone. */
static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "http:\n"
    "  timeout: 1s\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "  reconnect_min: 50ms\n"
    "  reconnect_max: 200ms\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "  - {name: lena, role: lead, token: lena-token}\n"
    "queues:\n"
    "  names: [general, ev1, ev2, ev3, ev4, ev5, ev6, ev7]\n"
    "events:\n"
    "  max_clients: MAXC\n"
    "  max_buffer: 64KiB\n"
    "routes:\n"
    "  - {queue: ev1, account: \"2001\"}\n"
    "  - {queue: ev2, account: \"2002\"}\n"
    "  - {queue: ev3, account: \"2003\"}\n"
    "  - {queue: ev4, account: \"2004\"}\n"
    "  - {queue: ev5, account: \"2005\"}\n"
    "  - {queue: ev6, account: \"2006\"}\n"
    "  - {queue: ev7, account: \"2007\"}\n";

/* ------------------------------------------------------------- helpers */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

static long long
now_ms(void)
{
    return (long long)(util_mono_us() / 1000);
}

/* POST one item to daemon d; returns the HTTP status. */
static long
post_item(const struct it_daemon *d, const char *native_id,
    const char *account)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s},s:{s:s,s:s},s:s,s:s}",
        "platform", "facebook", "native_id", native_id, "kind", "comment",
        "account", "id", account, "author", "id", "42", "name", "Jane",
        "text", "where is my parcel?", "created_at", "2026-11-23T09:40:00Z");
    char *body = json_dumps(o, JSON_COMPACT);
    long status = -1;

    if (it_http(d, "POST", "/v1/items", INGEST, body, &status, NULL,
        NULL) == -1)
        status = -1;
    json_decref(o);
    xfree(body);
    return status;
}

/* One desk request; the status. */
static long
desk(const struct it_daemon *d, const char *method, const char *path,
    const char *token, const char *body)
{
    long status = -1;
    char *raw = NULL;

    if (it_http(d, method, path, token, body, &status, &raw, NULL) == -1)
        status = -1;
    xfree(raw);
    return status;
}

/* A counter or gauge of d's /metrics ("name{labels}"); -1 when absent. */
static double
metric(const struct it_daemon *d, const char *series)
{
    char *raw = NULL, *p;
    long status = 0;
    double v = -1;
    size_t n = strlen(series);

    if (it_http(d, "GET", "/metrics", NULL, NULL, &status, &raw, NULL) ==
        -1)
        return -1;
    for (p = raw; p != NULL && *p != '\0'; p = strchr(p, '\n') ?
        strchr(p, '\n') + 1 : NULL) {
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
    xfree(raw);
    return v;
}

/* Wait (at most ms) until metric series of d equals want. */
static int
metric_wait(const struct it_daemon *d, const char *series, double want,
    int ms)
{
    long long deadline = now_ms() + ms;

    while (now_ms() < deadline) {
        if (metric(d, series) == want)
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "  %s: %g, wanted %g\n", series, metric(d, series),
        want);
    return -1;
}

/* ------------------------------------------------- a raw SSE client */

struct sse_event {
    char id[128];
    char event[80];
    json_t *data;
};

struct sse {
    int fd;
    long status;
    struct buf raw;             /* read, not yet de-chunked */
    struct buf body;            /* de-chunked, not yet parsed */
    bool ended;                 /* the last chunk came */
    bool eof;                   /* the connection closed */
    bool ready;                 /* "retry:" seen */
    bool held;                  /* sse_ready read an event: next's */
    struct sse_event next;
};

static void
sse_event_clear(struct sse_event *e)
{
    json_decref(e->data);
    memset(e, 0, sizeof(*e));
}

/* A client not yet open (sse_close is fine on it). */
static void
sse_init(struct sse *s)
{
    memset(s, 0, sizeof(*s));
    s->fd = -1;
}

static void
sse_close(struct sse *s)
{
    if (s->held)
        sse_event_clear(&s->next);
    s->held = false;
    if (s->fd >= 0)
        close(s->fd);
    s->fd = -1;
    buf_free(&s->raw);
    buf_free(&s->body);
}

/* Connect to d with a small receive buffer when rcvbuf > 0. */
static int
sse_connect(const struct it_daemon *d, int rcvbuf)
{
    struct sockaddr_in sin;
    int fd;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return -1;
    if (rcvbuf > 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf));
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_port = htons((uint16_t)d->port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1) {
        close(fd);
        return -1;
    }
    return fd;
}

/* Move complete chunks from raw to body. */
static void
sse_dechunk(struct sse *s)
{
    char *crlf, *end;
    unsigned long n;
    size_t head;

    while (!s->ended && s->raw.len > 0 &&
        (crlf = strstr(s->raw.data, "\r\n")) != NULL) {
        n = strtoul(s->raw.data, &end, 16);
        head = (size_t)(crlf - s->raw.data) + 2;
        if (s->raw.len < head + n + 2)
            return;
        if (n == 0)
            s->ended = true;
        buf_append(&s->body, s->raw.data + head, n);
        memmove(s->raw.data, s->raw.data + head + n + 2,
            s->raw.len - head - n - 2);
        s->raw.len -= head + n + 2;
        s->raw.data[s->raw.len] = '\0';
    }
}

/* Read what comes within ms into raw; 0, or -1 at EOF. */
static int
sse_read(struct sse *s, int ms)
{
    struct pollfd pfd = { .fd = s->fd, .events = POLLIN };
    char chunk[16384];
    ssize_t r;

    if (s->eof)
        return -1;
    if (poll(&pfd, 1, ms) <= 0)
        return 0;
    if ((r = read(s->fd, chunk, sizeof(chunk))) <= 0) {
        s->eof = true;
        return -1;
    }
    buf_append(&s->raw, chunk, (size_t)r);
    return 0;
}

/*
 * GET path from d as an SSE client; *s is ready for sse_next when the
 * answer is 200. Returns the status (-1: no answer in 5 s).
 */
static long
sse_open(struct sse *s, const struct it_daemon *d, const char *path,
    const char *token, const char *last_id, int rcvbuf)
{
    char req[1024], *hdr_end;
    long long deadline = now_ms() + 5000;
    size_t n;

    memset(s, 0, sizeof(*s));
    s->status = -1;
    buf_init(&s->raw, 64u << 20);
    buf_init(&s->body, 64u << 20);
    if ((s->fd = sse_connect(d, rcvbuf)) == -1)
        return -1;
    n = (size_t)snprintf(req, sizeof(req), "GET %s HTTP/1.1\r\n"
        "Host: 127.0.0.1\r\nAccept: text/event-stream\r\n%s%s%s%s%s%s\r\n",
        path, token ? "Authorization: Bearer " : "", token ? token : "",
        token ? "\r\n" : "", last_id ? "Last-Event-ID: " : "",
        last_id ? last_id : "", last_id ? "\r\n" : "");
    if (write(s->fd, req, n) != (ssize_t)n)
        return -1;
    while ((s->raw.data == NULL ||
        (hdr_end = strstr(s->raw.data, "\r\n\r\n")) == NULL) &&
        now_ms() < deadline) {
        if (sse_read(s, 100) == -1 && s->raw.data == NULL)
            return -1;
    }
    if (s->raw.data == NULL || (hdr_end = strstr(s->raw.data,
        "\r\n\r\n")) == NULL || sscanf(s->raw.data, "HTTP/1.1 %ld",
        &s->status) != 1)
        return -1;
    if (s->status == 200 && strstr(s->raw.data,
        "Content-Type: text/event-stream") == NULL)
        return -1;
    n = (size_t)(hdr_end + 4 - s->raw.data);
    memmove(s->raw.data, s->raw.data + n, s->raw.len - n);
    s->raw.len -= n;
    s->raw.data[s->raw.len] = '\0';
    return s->status;
}

/*
 * The next event within ms, skipping comments; "retry:" makes the client
 * ready. 0, or -1 on timeout, the end of the stream or EOF.
 */
static int
sse_next(struct sse *s, int ms, struct sse_event *e)
{
    long long deadline = now_ms() + ms;
    char *end, *line, *nl;

    if (s->held) {
        *e = s->next;
        s->held = false;
        return 0;
    }
    memset(e, 0, sizeof(*e));
    for (;;) {
        sse_dechunk(s);
        while (s->body.data != NULL &&
            (end = strstr(s->body.data, "\n\n")) != NULL) {
            *end = '\0';
            for (line = s->body.data; line != NULL; line = nl) {
                if ((nl = strchr(line, '\n')) != NULL)
                    *nl++ = '\0';
                if (strncmp(line, "retry: ", 7) == 0)
                    s->ready = true;
                else if (strncmp(line, "id: ", 4) == 0)
                    snprintf(e->id, sizeof(e->id), "%s", line + 4);
                else if (strncmp(line, "event: ", 7) == 0)
                    snprintf(e->event, sizeof(e->event), "%s", line + 7);
                else if (strncmp(line, "data: ", 6) == 0)
                    e->data = json_loads(line + 6, 0, NULL);
            }
            memmove(s->body.data, end + 2, s->body.len -
                (size_t)(end + 2 - s->body.data));
            s->body.len -= (size_t)(end + 2 - s->body.data);
            s->body.data[s->body.len] = '\0';
            /* Outbound actions' outcomes (action_failed: these items'
             * pages have no account here) come whenever the executor
             * gets to them: actions_test covers them. */
            if (e->event[0] != '\0' && strncmp(e->event, "action_", 7) != 0)
                return 0;
            sse_event_clear(e);
        }
        if (s->ended || now_ms() >= deadline)
            return -1;
        if (sse_read(s, 50) == -1) {
            sse_dechunk(s);
            if (s->body.data == NULL || strstr(s->body.data, "\n\n") ==
                NULL)
                return -1;
        }
    }
}

/* Wait (at most 5 s) for "retry:": from then on nothing is missed. */
static int
sse_ready(struct sse *s)
{
    struct sse_event e;
    long long deadline = now_ms() + 5000;

    while (!s->ready && now_ms() < deadline) {
        if (sse_next(s, 100, &e) == 0) {
            if (!s->ready) {
                fprintf(stderr, "  an event before retry: %s\n",
                    e.event);
                sse_event_clear(&e);
                return -1;
            }
            /* A resumed client's first event came with it. */
            s->next = e;
            s->held = true;
        }
        if (s->eof)
            return -1;
    }
    return s->ready ? 0 : -1;
}

/*
 * The next event must be name about item id (its "data" id); *sse_id
 * (may be NULL) gets its SSE id. -1 (logged) otherwise.
 */
static int
expect(struct sse *s, const char *name, const char *id, char *sse_id)
{
    struct sse_event e;
    const char *got;

    if (sse_next(s, 3000, &e) == -1) {
        fprintf(stderr, "  wanted %s %s, got nothing\n", name, id);
        return -1;
    }
    got = json_string_value(json_object_get(e.data, "id"));
    if (strcmp(e.event, name) != 0 || got == NULL || strcmp(got, id) != 0 ||
        strcmp(json_string_value(json_object_get(e.data, "event")),
        name) != 0) {
        fprintf(stderr, "  wanted %s %s, got %s %s\n", name, id, e.event,
            got ? got : "?");
        sse_event_clear(&e);
        return -1;
    }
    if (sse_id != NULL)
        snprintf(sse_id, 128, "%s", e.id);
    sse_event_clear(&e);
    return 0;
}

/* Nothing more within ms. */
static int
expect_none(struct sse *s, int ms)
{
    struct sse_event e;

    if (sse_next(s, ms, &e) == -1)
        return 0;
    fprintf(stderr, "  unexpected %s %s\n", e.event,
        json_string_value(json_object_get(e.data, "id")));
    sse_event_clear(&e);
    return -1;
}

/* ---------------------------------------------------------------- tests */

/* What test_sequence saw, for test_resume. */
static char seq_ids[5][128];

static int
test_sequence(void)
{
    struct sse all, some, next;
    struct sse_event e;
    char body[64];
    int rc = 0;

    memset(&e, 0, sizeof(e));
    sse_init(&all);
    sse_init(&some);
    sse_init(&next);
    CHECK(sse_open(&all, &da, "/v1/events", ALICE, NULL, 0) == 200);
    CHECK(sse_open(&some, &da, "/v1/events?queue=ev1&types=item,claimed,"
        "resolve", LENA, NULL, 0) == 200);
    CHECK(sse_ready(&all) == 0);
    CHECK(sse_ready(&some) == 0);
    /* Idle longer than http.timeout: a stream has no read timeout. */
    sleep_ms(1300);

    CHECK(post_item(&da, "q_1", "2001") == 202);
    CHECK(post_item(&da, "q_2", "2002") == 202);
    snprintf(body, sizeof(body), "{\"queues\":[\"ev1\"]}");
    CHECK(desk(&da, "POST", "/v1/claims", ALICE, body) == 200);
    CHECK(desk(&da, "POST", "/v1/items/facebook:q_1/reply", ALICE,
        "{\"text\":\"On its way\"}") == 200);
    CHECK(desk(&da, "POST", "/v1/items/facebook:q_1/resolve", ALICE,
        NULL) == 200);

    CHECK(expect(&all, "item", "facebook:q_1", seq_ids[0]) == 0);
    CHECK(expect(&all, "item", "facebook:q_2", seq_ids[1]) == 0);
    CHECK(sse_next(&all, 3000, &e) == 0);
    CHECK_STR(e.event, "claimed");
    CHECK_STR(json_string_value(json_object_get(e.data, "by")), "alice");
    CHECK_STR(json_string_value(json_object_get(e.data, "queue")), "ev1");
    CHECK(json_string_value(json_object_get(e.data, "at")) != NULL);
    snprintf(seq_ids[2], sizeof(seq_ids[2]), "%s", e.id);
    sse_event_clear(&e);
    CHECK(sse_next(&all, 3000, &e) == 0);
    CHECK_STR(e.event, "reply");
    CHECK_STR(json_string_value(json_object_get(e.data, "text")),
        "On its way");
    CHECK_STR(json_string_value(json_object_get(e.data, "queue")), "ev1");
    CHECK(json_string_value(json_object_get(e.data, "action_id")) != NULL);
    snprintf(seq_ids[3], sizeof(seq_ids[3]), "%s", e.id);
    sse_event_clear(&e);
    CHECK(expect(&all, "resolve", "facebook:q_1", seq_ids[4]) == 0);
    CHECK(expect_none(&all, 400) == 0);
    CHECK(strncmp(seq_ids[0], "ingest:", 7) == 0);
    CHECK(strncmp(seq_ids[2], "audit:", 6) == 0);

    /* The filtered client: ev1's items, claims and resolves only. */
    CHECK(expect(&some, "item", "facebook:q_1", NULL) == 0);
    CHECK(expect(&some, "claimed", "facebook:q_1", NULL) == 0);
    CHECK(expect(&some, "resolve", "facebook:q_1", NULL) == 0);
    CHECK(expect_none(&some, 300) == 0);

    /* A client that connects now starts now. */
    CHECK(sse_open(&next, &da, "/v1/events", ALICE, NULL, 0) == 200);
    CHECK(sse_ready(&next) == 0);
    CHECK(expect_none(&next, 300) == 0);
    CHECK(metric(&da, "inboxd_events_clients") == 3);
out:
    sse_event_clear(&e);
    sse_close(&all);
    sse_close(&some);
    sse_close(&next);
    return rc;
}

/* Last-Event-ID: the missed events, once, then the live ones. */
static int
test_resume(void)
{
    struct sse s;
    int rc = 0;

    sse_init(&s);
    CHECK(seq_ids[4][0] != '\0');
    /* After the claim: the reply and the resolve. */
    CHECK(sse_open(&s, &da, "/v1/events", ALICE, seq_ids[2], 0) == 200);
    CHECK(sse_ready(&s) == 0);
    CHECK(expect(&s, "reply", "facebook:q_1", NULL) == 0);
    CHECK(expect(&s, "resolve", "facebook:q_1", NULL) == 0);
    CHECK(expect_none(&s, 400) == 0);
    CHECK(post_item(&da, "q_3", "2003") == 202);
    CHECK(expect(&s, "item", "facebook:q_3", NULL) == 0);
    CHECK(expect_none(&s, 400) == 0);
    sse_close(&s);

    /* After the first item, filtered: the next ones of both streams. */
    CHECK(sse_open(&s, &da, "/v1/events?types=item,claimed", ALICE,
        seq_ids[0], 0) == 200);
    CHECK(sse_ready(&s) == 0);
    CHECK(expect(&s, "item", "facebook:q_2", NULL) == 0);
    CHECK(expect(&s, "claimed", "facebook:q_1", NULL) == 0);
    CHECK(expect(&s, "item", "facebook:q_3", NULL) == 0);
    CHECK(expect_none(&s, 300) == 0);
    sse_close(&s);

    /* An id inboxd cannot read: a fresh start, not an error. */
    CHECK(sse_open(&s, &da, "/v1/events", ALICE, "bogus", 0) == 200);
    CHECK(sse_ready(&s) == 0);
    CHECK(expect_none(&s, 300) == 0);
out:
    sse_close(&s);
    return rc;
}

static int
test_refused(void)
{
    char *raw = NULL, *headers = NULL;
    long status = 0;
    int rc = 0;

    CHECK(it_http(&da, "GET", "/v1/events", NULL, NULL, &status, &raw,
        NULL) == 0);
    CHECK(status == 401);
    CHECK_CONTAINS(raw, "\"unauthorized\"");
    XFREE(&raw);
    CHECK(it_http(&da, "GET", "/v1/events", INGEST, NULL, &status, &raw,
        NULL) == 0);
    CHECK(status == 403);
    CHECK_CONTAINS(raw, "\"forbidden\"");
    XFREE(&raw);
    CHECK(it_http(&da, "GET", "/v1/events?queue=nope", ALICE, NULL,
        &status, &raw, NULL) == 0);
    CHECK(status == 400);
    CHECK_CONTAINS(raw, "\"unknown_queue\"");
    XFREE(&raw);
    CHECK(it_http(&da, "GET", "/v1/events?type=item", ALICE, NULL,
        &status, &raw, NULL) == 0);
    CHECK(status == 400);
    CHECK_CONTAINS(raw, "\"invalid_request\"");
    XFREE(&raw);
    CHECK(it_http(&da, "POST", "/v1/events", ALICE, "{}", &status, &raw,
        NULL) == 0);
    CHECK(status == 405);
    XFREE(&raw);

    /* db serves two streams at most. */
    {
        struct sse a, b, c;

        sse_init(&a);
        sse_init(&b);
        sse_init(&c);
        CHECK(sse_open(&a, &db, "/v1/events", ALICE, NULL, 0) == 200);
        CHECK(sse_open(&b, &db, "/v1/events", ALICE, NULL, 0) == 200);
        CHECK(it_http(&db, "GET", "/v1/events", ALICE, NULL, &status,
            &raw, &headers) == 0);
        CHECK(status == 503);
        CHECK_CONTAINS(raw, "\"too_many_clients\"");
        CHECK_CONTAINS(headers, "Retry-After: ");
        sse_close(&a);
        CHECK(metric_wait(&db, "inboxd_events_clients", 1, 3000) == 0);
        CHECK(sse_open(&c, &db, "/v1/events", ALICE, NULL, 0) == 200);
        CHECK(sse_ready(&c) == 0);
        sse_close(&b);
        sse_close(&c);
        CHECK(metric_wait(&db, "inboxd_events_clients", 0, 3000) == 0);
    }
out:
    xfree(raw);
    xfree(headers);
    return rc;
}

/* A client of one process sees what another process does. */
static int
test_other_process(void)
{
    struct sse s;
    char body[64];
    int rc = 0;

    sse_init(&s);
    CHECK(sse_open(&s, &db, "/v1/events?queue=ev4", ALICE, NULL, 0) ==
        200);
    CHECK(sse_ready(&s) == 0);
    CHECK(post_item(&da, "o_1", "2004") == 202);
    snprintf(body, sizeof(body), "{\"queues\":[\"ev4\"]}");
    CHECK(desk(&da, "POST", "/v1/claims", ALICE, body) == 200);
    CHECK(desk(&da, "POST", "/v1/items/facebook:o_1/reassign", LENA,
        "{\"queue\":\"ev5\"}") == 200);
    CHECK(expect(&s, "item", "facebook:o_1", NULL) == 0);
    CHECK(expect(&s, "claimed", "facebook:o_1", NULL) == 0);
    /* Moved out of ev4: still seen by its watchers. */
    CHECK(expect(&s, "reassign", "facebook:o_1", NULL) == 0);
    CHECK(expect_none(&s, 300) == 0);
out:
    sse_close(&s);
    return rc;
}

/*
 * A client that does not read is dropped when more is due and over
 * 64 KiB still wait for it; the one that keeps up gets a 2 MiB burst
 * whole. The audit stream's entries come from XADD here: any action
 * name passes through.
 */
static int
test_slow_client(void)
{
    struct sse slow, fast;
    struct sse_event e;
    redisContext *c = NULL;
    redisReply *r;
    char *text = NULL;
    double before;
    int rc = 0, got = 0;

    memset(&e, 0, sizeof(e));
    sse_init(&slow);
    sse_init(&fast);
    before = metric(&da, "inboxd_events_dropped_total{reason=\"slow\"}");
    CHECK(sse_open(&slow, &da, "/v1/events", ALICE, NULL, 4096) == 200);
    CHECK(sse_open(&fast, &da, "/v1/events?types=bulk_test", ALICE, NULL,
        0) == 200);
    CHECK(sse_ready(&slow) == 0);
    CHECK(sse_ready(&fast) == 0);
    CHECK((c = it_redis_connect(&redis)) != NULL);
    CHECK((text = xmalloc(32 * 1024 + 1)) != NULL);
    memset(text, 'x', 32 * 1024);
    text[32 * 1024] = '\0';
    /* Pipelined, so they most likely come in one read. */
    for (int i = 0; i < 64; i++)
        CHECK(redisAppendCommand(c, "XADD inboxd:audit * item "
            "facebook:bulk_%d action bulk_test by test at 1 text %s", i,
            text) == REDIS_OK);
    for (int i = 0; i < 64; i++) {
        CHECK(redisGetReply(c, (void **)&r) == REDIS_OK);
        CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
        freeReplyObject(r);
    }
    /* The reader that keeps up gets all of them. */
    while (got < 64 && sse_next(&fast, 3000, &e) == 0) {
        CHECK_STR(e.event, "bulk_test");
        CHECK(strlen(json_string_value(json_object_get(e.data, "text"))) ==
            32 * 1024);
        sse_event_clear(&e);
        got++;
    }
    CHECK(got == 64);
    /* The next event finds the other with 2 MiB still unsent. */
    r = redisCommand(c, "XADD inboxd:audit * item facebook:bulk_64 "
        "action bulk_test by test at 1");
    CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
    freeReplyObject(r);
    CHECK(metric_wait(&da, "inboxd_events_dropped_total{reason=\"slow\"}",
        before < 0 ? 1 : before + 1, 5000) == 0);
    CHECK(expect(&fast, "bulk_test", "facebook:bulk_64", NULL) == 0);
    /* Its connection was closed: what the kernel held, then EOF. */
    {
        long long deadline = now_ms() + 5000;

        while (!slow.eof && now_ms() < deadline) {
            sse_read(&slow, 100);
            slow.raw.len = 0;
        }
        CHECK(slow.eof);
    }
    /* The fast one is still there. */
    CHECK(metric(&da, "inboxd_events_clients") == 1);
    CHECK(!fast.eof);
out:
    sse_event_clear(&e);
    sse_close(&slow);
    sse_close(&fast);
    xfree(text);
    if (c != NULL)
        redisFree(c);
    return rc;
}

/* Redis goes away and comes back: clients stay and go on from there. */
static int
test_redis_restart(void)
{
    struct sse s;
    int rc = 0;

    sse_init(&s);
    CHECK(sse_open(&s, &da, "/v1/events?queue=ev6", ALICE, NULL, 0) ==
        200);
    CHECK(sse_ready(&s) == 0);
    CHECK(post_item(&da, "r_1", "2006") == 202);
    CHECK(expect(&s, "item", "facebook:r_1", NULL) == 0);
    CHECK(it_redis_stop(&redis) == 0);
    sleep_ms(600);
    CHECK(post_item(&da, "r_2", "2006") == 503);
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(it_daemon_wait_healthy(&da, 10000) == 0);
    CHECK(it_daemon_wait_healthy(&db, 10000) == 0);
    /* Stored through the other process: the stream still sees it. */
    CHECK(post_item(&db, "r_3", "2006") == 202);
    CHECK(expect(&s, "item", "facebook:r_3", NULL) == 0);
    CHECK(expect_none(&s, 300) == 0);
    CHECK(!s.eof);
out:
    sse_close(&s);
    return rc;
}

/* ------------------------------------------------------ inboxctl tail */

/* A child's stdout and stderr, read as they come. */
struct child {
    pid_t pid;
    int out, err;
    struct buf obuf, ebuf;
};

/*
 * Run inboxctl with args, INBOXCTL_CONFIG set to config and nothing else
 * of its environment inherited.
 */
static int
child_start(struct child *c, const char *const *args, const char *config)
{
    int op[2], ep[2];
    const char *argv[16];
    size_t n = 0;

    memset(c, 0, sizeof(*c));
    c->out = c->err = -1;
    buf_init(&c->obuf, 16u << 20);
    buf_init(&c->ebuf, 1u << 20);
    argv[n++] = INBOXCTL_BIN;
    for (size_t i = 0; args[i] != NULL && n < 15; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    if (pipe(op) == -1 || pipe(ep) == -1)
        return -1;
    if ((c->pid = fork()) == -1)
        return -1;
    if (c->pid == 0) {
        dup2(op[1], STDOUT_FILENO);
        dup2(ep[1], STDERR_FILENO);
        close(op[0]);
        close(op[1]);
        close(ep[0]);
        close(ep[1]);
        unsetenv("INBOXCTL_URL");
        unsetenv("INBOXCTL_TOKEN");
        setenv("INBOXCTL_CONFIG", config, 1);
        signal(SIGINT, SIG_DFL);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(op[1]);
    close(ep[1]);
    c->out = op[0];
    c->err = ep[0];
    return 0;
}

/* Read what the child wrote within ms into its buffers. */
static void
child_read(struct child *c, int ms)
{
    struct pollfd pfd[2] = {
        { .fd = c->out, .events = POLLIN },
        { .fd = c->err, .events = POLLIN },
    };
    char chunk[8192];
    ssize_t r;

    if (poll(pfd, 2, ms) <= 0)
        return;
    for (int i = 0; i < 2; i++) {
        if (pfd[i].fd < 0 || !(pfd[i].revents & (POLLIN | POLLHUP)))
            continue;
        if ((r = read(pfd[i].fd, chunk, sizeof(chunk))) > 0)
            buf_append(i == 0 ? &c->obuf : &c->ebuf, chunk, (size_t)r);
    }
}

/* Wait (at most ms) until the child's stderr holds needle. */
static int
child_wait_err(struct child *c, const char *needle, int ms)
{
    long long deadline = now_ms() + ms;

    while (now_ms() < deadline) {
        if (c->ebuf.data != NULL && strstr(c->ebuf.data, needle) != NULL)
            return 0;
        child_read(c, 50);
    }
    fprintf(stderr, "  stderr has no \"%s\": %s\n", needle,
        c->ebuf.data ? c->ebuf.data : "");
    return -1;
}

/* The next stdout line within ms, parsed as JSON (NULL: none). */
static json_t *
child_json_line(struct child *c, int ms)
{
    long long deadline = now_ms() + ms;
    char *nl;
    json_t *j;

    for (;;) {
        if (c->obuf.data != NULL &&
            (nl = strchr(c->obuf.data, '\n')) != NULL) {
            *nl = '\0';
            j = json_loads(c->obuf.data, 0, NULL);
            if (j == NULL)
                fprintf(stderr, "  not JSON: %s\n", c->obuf.data);
            memmove(c->obuf.data, nl + 1, c->obuf.len -
                (size_t)(nl + 1 - c->obuf.data) + 1);
            c->obuf.len -= (size_t)(nl + 1 - c->obuf.data);
            return j;
        }
        if (now_ms() >= deadline)
            return NULL;
        child_read(c, 50);
    }
}

/* The next line must be the event name about item id. */
static int
child_expect(struct child *c, const char *name, const char *id)
{
    json_t *j = child_json_line(c, 5000);
    int rc = 0;

    if (j == NULL ||
        strcmp(json_string_value(json_object_get(j, "event")), name) != 0 ||
        strcmp(json_string_value(json_object_get(j, "id")), id) != 0) {
        fprintf(stderr, "  wanted %s %s from tail\n", name, id);
        rc = -1;
    }
    json_decref(j);
    return rc;
}

/* SIGINT, then its exit status (-1: it did not exit in 5 s). */
static int
child_stop(struct child *c)
{
    long long deadline = now_ms() + 5000;
    int status = 0, code = -1;

    if (c->pid > 0) {
        kill(c->pid, SIGINT);
        while (now_ms() < deadline) {
            if (waitpid(c->pid, &status, WNOHANG) == c->pid) {
                code = WIFEXITED(status) ? WEXITSTATUS(status) :
                    128 + WTERMSIG(status);
                c->pid = 0;
                break;
            }
            sleep_ms(20);
        }
        if (c->pid > 0) {
            kill(c->pid, SIGKILL);
            waitpid(c->pid, NULL, 0);
            c->pid = 0;
        }
    }
    return code;
}

static void
child_free(struct child *c)
{
    child_stop(c);
    if (c->out >= 0)
        close(c->out);
    if (c->err >= 0)
        close(c->err);
    buf_free(&c->obuf);
    buf_free(&c->ebuf);
}

/*
 * inboxctl tail --json, configured by its config file (url and a
 * token_file), against the second process: the events as they happen;
 * a restart of that process costs nothing (it reconnects with
 * Last-Event-ID and gets what was stored meanwhile, once); SIGINT ends
 * it with 0.
 */
static int
test_inboxctl_tail(void)
{
    static const char *const args[] = { "tail", "--json", "--queue", "ev7",
        NULL };
    char path[512], text[256], body[64];
    struct child c;
    json_t *extra = NULL;
    FILE *fp;
    int rc = 0;

    memset(&c, 0, sizeof(c));
    c.out = c.err = -1;
    snprintf(path, sizeof(path), "%s/alice.token", da.dir);
    CHECK((fp = fopen(path, "w")) != NULL);
    fputs(ALICE "\n", fp);
    CHECK(fclose(fp) == 0);
    CHECK(chmod(path, 0600) == 0);
    snprintf(path, sizeof(path), "%s/inboxctl.conf", da.dir);
    snprintf(text, sizeof(text), "# tail test\nurl = http://127.0.0.1:%d\n"
        "token_file = alice.token\n", db.port);
    CHECK((fp = fopen(path, "w")) != NULL);
    fputs(text, fp);
    CHECK(fclose(fp) == 0);

    CHECK(child_start(&c, args, path) == 0);
    CHECK(child_wait_err(&c, "inboxctl: tail: following", 5000) == 0);
    CHECK(post_item(&da, "t_1", "2007") == 202);
    snprintf(body, sizeof(body), "{\"queues\":[\"ev7\"]}");
    CHECK(desk(&da, "POST", "/v1/claims", ALICE, body) == 200);
    CHECK(child_expect(&c, "item", "facebook:t_1") == 0);
    CHECK(child_expect(&c, "claimed", "facebook:t_1") == 0);

    /* The process tail reads from goes away; meanwhile an item. */
    it_daemon_stop(&db);
    CHECK(child_wait_err(&c, "reconnecting", 5000) == 0);
    CHECK(post_item(&da, "t_2", "2007") == 202);
    CHECK(it_daemon_restart(&db) == 0);
    CHECK(child_expect(&c, "item", "facebook:t_2") == 0);
    CHECK(post_item(&da, "t_3", "2007") == 202);
    CHECK(child_expect(&c, "item", "facebook:t_3") == 0);
    /* Nothing twice. */
    CHECK((extra = child_json_line(&c, 500)) == NULL);
    CHECK(c.ebuf.data != NULL &&
        strstr(strstr(c.ebuf.data, "following") + 1, "following") != NULL);
    CHECK(child_stop(&c) == 0);
out:
    json_decref(extra);
    child_free(&c);
    return rc;
}

/* SIGTERM ends the streams cleanly; the drain does not wait for them. */
static int
test_drain(void)
{
    struct sse s;
    struct sse_event e;
    long long t0;
    int status = -1, rc = 0;

    memset(&e, 0, sizeof(e));
    sse_init(&s);
    CHECK(sse_open(&s, &db, "/v1/events", ALICE, NULL, 0) == 200);
    CHECK(sse_ready(&s) == 0);
    t0 = now_ms();
    CHECK(it_daemon_signal(&db, SIGTERM) == 0);
    CHECK(sse_next(&s, 5000, &e) == -1);
    CHECK(s.ended);             /* the last chunk, not a reset */
    CHECK(it_daemon_wait(&db, 8000, &status) == 0);
    CHECK(status == 0);
    /* Well within shutdown.drain_timeout (10 s). */
    CHECK(now_ms() - t0 < 5000);
    CHECK(it_log_contains(&db, "drained; exiting"));
out:
    sse_event_clear(&e);
    sse_close(&s);
    return rc;
}

static const struct check_case cases[] = {
    {"sequence", test_sequence},
    {"resume", test_resume},
    {"refused", test_refused},
    {"other_process", test_other_process},
    {"slow_client", test_slow_client},
    {"redis_restart", test_redis_restart},
    {"inboxctl_tail", test_inboxctl_tail},
    {"drain", test_drain},
};

int
main(void)
{
    char *cfg_a, *cfg_b;
    int rc = 1;

    alloc_init();
    signal(SIGPIPE, SIG_IGN);
    cfg_a = it_subst(config_tmpl, "MAXC", "16");
    cfg_b = it_subst(config_tmpl, "MAXC", "2");
    if (it_redis_start(&redis) == -1 ||
        it_daemon_start(&da, cfg_a, &redis) == -1 ||
        it_daemon_start(&db, cfg_b, &redis) == -1 ||
        it_daemon_wait_healthy(&da, 10000) == -1 ||
        it_daemon_wait_healthy(&db, 10000) == -1) {
        it_log_dump(&da);
        it_log_dump(&db);
        printf("0 passed, 1 failed\n");
        goto out;
    }
    rc = check_run(cases, nitems(cases));
    /* In a sanitizer build the daemons report leaks and UB at exit. */
    it_daemon_stop(&da);
    it_daemon_stop(&db);
    if (it_log_contains(&da, "Sanitizer") || it_log_contains(&db,
        "Sanitizer") || it_log_contains(&da, "runtime error") ||
        it_log_contains(&db, "runtime error")) {
        printf("FAIL the daemons' sanitizer reports (logs below)\n");
        rc = 1;
    }
    if (rc != 0) {
        it_log_dump(&da);
        it_log_dump(&db);
    }
out:
    it_daemon_cleanup(&da);
    it_daemon_cleanup(&db);
    it_redis_cleanup(&redis);
    xfree(cfg_a);
    xfree(cfg_b);
    return rc;
}
