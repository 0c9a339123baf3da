/*
 * fake_platform: scripted Telegram Bot API and YouTube Data API servers
 * for the integration tests (fake_platform.h). The server thread owns the
 * event base; the test thread touches only the shared lists below, under
 * the mutex, and the server polls them every 10 ms (a long poll held
 * here is answered within that of a response being queued). No libevent
 * threading support is needed: one thread uses the base at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alloc.h"
#include "buf.h"
#include "fake_platform.h"

#define FAKE_TICK_MS        10
#define FAKE_HOLD_MAX_MS    10000
#define FAKE_BODY_MAX       (8u << 20)

static const char fake_tg_empty[] = "{\"ok\":true,\"result\":[]}";
static const char fake_tg_401[] =
    "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}";
static const char fake_tg_404[] =
    "{\"ok\":false,\"error_code\":404,\"description\":\"Not Found\"}";
static const char fake_yt_empty[] =
    "{\"kind\":\"youtube#commentThreadListResponse\",\"etag\":\"fakeEtag\","
    "\"pageInfo\":{\"totalResults\":0,\"resultsPerPage\":100},"
    "\"items\":[]}";
static const char fake_yt_404[] =
    "{\"error\":{\"code\":404,\"message\":\"Not Found\",\"errors\":"
    "[{\"message\":\"Not Found\",\"domain\":\"global\",\"reason\":"
    "\"notFound\"}]}}";

#define FAKE_YT_PATH "/youtube/v3/commentThreads"

struct fake_resp {
    TAILQ_ENTRY(fake_resp) entry;
    char *prefix;
    int status;
    char *body;
    char *header;
};

struct fake_held {
    TAILQ_ENTRY(fake_held) entry;
    struct evhttp_request *req;
    char *path;
    int64_t deadline_ms;
};

struct fake_rec {
    char *method;
    char *path;
    char *uri;
    char *body;
    char *headers;              /* "name: value\n" lines */
    int64_t at_ms;
};

struct fake_platform {
    pthread_t thread;
    pthread_mutex_t mu;
    bool thread_started;
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    char url[64];

    /* Shared with the test thread, under mu. */
    bool stop;
    char **tokens;
    size_t ntokens;
    TAILQ_HEAD(, fake_resp) resps;
    TAILQ_HEAD(, fake_held) held;
    struct fake_rec *recs;
    size_t nrecs, caprecs;
};

int64_t
fake_platform_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
fake_has_prefix(const char *s, const char *prefix)
{
    return prefix == NULL || strncmp(s, prefix, strlen(prefix)) == 0;
}

static const char *
fake_reason(int status)
{
    switch (status) {
    case 200:
        return "OK";
    case 400:
        return "Bad Request";
    case 401:
        return "Unauthorized";
    case 403:
        return "Forbidden";
    case 404:
        return "Not Found";
    case 409:
        return "Conflict";
    case 429:
        return "Too Many Requests";
    case 500:
        return "Internal Server Error";
    case 502:
        return "Bad Gateway";
    case 503:
        return "Service Unavailable";
    }
    return "Status";
}

/* ---------------------------------------------------------------------
 * Server thread
 * ------------------------------------------------------------------ */

static void
fake_reply(struct evhttp_request *req, int status, const char *body,
    const char *header)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();
    char name[64];
    const char *colon;
    size_t n;

    evhttp_add_header(out, "Content-Type",
        "application/json; charset=UTF-8");
    if (header != NULL && (colon = strchr(header, ':')) != NULL &&
        (n = (size_t)(colon - header)) < sizeof(name)) {
        memcpy(name, header, n);
        name[n] = '\0';
        colon++;
        while (*colon == ' ')
            colon++;
        evhttp_add_header(out, name, colon);
    }
    if (b != NULL)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, status, fake_reason(status), b);
    if (b != NULL)
        evbuffer_free(b);
}

/* The first queued response for path, taken off the queue; mu held. */
static struct fake_resp *
fake_take(struct fake_platform *f, const char *path)
{
    struct fake_resp *r;

    TAILQ_FOREACH(r, &f->resps, entry) {
        if (fake_has_prefix(path, r->prefix)) {
            TAILQ_REMOVE(&f->resps, r, entry);
            return r;
        }
    }
    return NULL;
}

static void
fake_resp_free(struct fake_resp *r)
{
    xfree(r->prefix);
    xfree(r->body);
    xfree(r->header);
    xfree(r);
}

/* Serve a queued response; mu held. */
static void
fake_serve(struct evhttp_request *req, struct fake_resp *r)
{
    fake_reply(req, r->status, r->body, r->header);
    fake_resp_free(r);
}

static bool
fake_is_get_updates(const char *path)
{
    const char *slash;

    if (strncmp(path, "/bot", 4) != 0 || (slash = strchr(path + 4, '/')) ==
        NULL)
        return false;
    return strcasecmp(slash + 1, "getUpdates") == 0;
}

/* Is the /bot<token>/ of path registered (or none registered)? */
static bool
fake_token_ok(struct fake_platform *f, const char *path)
{
    const char *start = path + 4, *slash = strchr(start, '/');
    size_t n = slash ? (size_t)(slash - start) : strlen(start);

    if (f->ntokens == 0)
        return true;
    for (size_t i = 0; i < f->ntokens; i++) {
        if (strlen(f->tokens[i]) == n && memcmp(f->tokens[i], start, n) ==
            0)
            return true;
    }
    return false;
}

static const char *
fake_method(enum evhttp_cmd_type cmd)
{
    switch (cmd) {
    case EVHTTP_REQ_GET:
        return "GET";
    case EVHTTP_REQ_POST:
        return "POST";
    case EVHTTP_REQ_PUT:
        return "PUT";
    case EVHTTP_REQ_DELETE:
        return "DELETE";
    default:
        return "OTHER";
    }
}

static void
fake_record(struct fake_platform *f, struct evhttp_request *req,
    const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *in_body;
    struct fake_rec *rec, *v;
    struct evkeyval *kv;
    unsigned char *p;
    struct buf hb;
    size_t blen;

    if (f->nrecs == f->caprecs) {
        size_t cap = f->caprecs ? f->caprecs * 2 : 64;

        if ((v = xrealloc(f->recs, cap * sizeof(*v))) == NULL)
            return;
        f->recs = v;
        f->caprecs = cap;
    }
    rec = &f->recs[f->nrecs++];
    memset(rec, 0, sizeof(*rec));
    rec->path = xstrdup(path);
    rec->uri = xstrdup(evhttp_request_get_uri(req));
    rec->method = xstrdup(fake_method(evhttp_request_get_command(req)));
    buf_init(&hb, FAKE_BODY_MAX);
    in_body = evhttp_request_get_input_buffer(req);
    blen = evbuffer_get_length(in_body);
    if (blen > 0 && (p = evbuffer_pullup(in_body, (ev_ssize_t)blen)) != NULL)
        buf_append(&hb, p, blen);
    else
        buf_puts(&hb, "");
    rec->body = buf_steal(&hb);
    rec->at_ms = fake_platform_now_ms();
    buf_init(&hb, 64 * 1024);
    TAILQ_FOREACH(kv, in, next)
        buf_printf(&hb, "%s: %s\n", kv->key, kv->value);
    rec->headers = buf_steal(&hb);
}

static void
fake_request_cb(struct evhttp_request *req, void *arg)
{
    struct fake_platform *f = arg;
    const char *uri = evhttp_request_get_uri(req), *q;
    struct evkeyvalq params;
    struct fake_resp *r;
    struct fake_held *h;
    char path[1024];
    const char *tv;
    long timeout = 0;
    size_t n;

    q = strchr(uri, '?');
    n = q ? (size_t)(q - uri) : strlen(uri);
    if (n >= sizeof(path))
        n = sizeof(path) - 1;
    memcpy(path, uri, n);
    path[n] = '\0';

    pthread_mutex_lock(&f->mu);
    fake_record(f, req, path);
    if (strncmp(path, "/bot", 4) == 0 && !fake_token_ok(f, path)) {
        fake_reply(req, 401, fake_tg_401, NULL);
        goto out;
    }
    if ((r = fake_take(f, path)) != NULL) {
        fake_serve(req, r);
        goto out;
    }
    if (fake_is_get_updates(path)) {
        TAILQ_INIT(&params);
        if (q != NULL && evhttp_parse_query_str(q + 1, &params) == 0 &&
            (tv = evhttp_find_header(&params, "timeout")) != NULL)
            timeout = strtol(tv, NULL, 10);
        evhttp_clear_headers(&params);
        if (timeout <= 0 || (h = xcalloc(1, sizeof(*h))) == NULL) {
            fake_reply(req, 200, fake_tg_empty, NULL);
            goto out;
        }
        h->req = req;
        h->path = xstrdup(path);
        h->deadline_ms = fake_platform_now_ms() +
            (timeout * 1000 < FAKE_HOLD_MAX_MS ? timeout * 1000 :
            FAKE_HOLD_MAX_MS);
        TAILQ_INSERT_TAIL(&f->held, h, entry);
        goto out;
    }
    if (strncmp(path, "/bot", 4) == 0)
        fake_reply(req, 404, fake_tg_404, NULL);
    else if (fake_has_prefix(path, FAKE_YT_PATH))
        fake_reply(req, 200, fake_yt_empty, NULL);
    else
        fake_reply(req, 404, fake_yt_404, NULL);
out:
    pthread_mutex_unlock(&f->mu);
}

/* Did the client of a held request hang up? */
static bool
fake_client_gone(struct evhttp_request *req)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    evutil_socket_t fd;
    ssize_t n;
    char c;

    if (evcon == NULL || (bev = evhttp_connection_get_bufferevent(evcon)) ==
        NULL || (fd = bufferevent_getfd(bev)) < 0)
        return true;
    n = recv(fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
    return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Held long polls: a response queued meanwhile, or empty at the end. */
static void
fake_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fake_platform *f = arg;
    struct fake_held *h, *next;
    struct fake_resp *r;
    int64_t now = fake_platform_now_ms();

    (void)fd;
    (void)what;
    pthread_mutex_lock(&f->mu);
    for (h = TAILQ_FIRST(&f->held); h != NULL; h = next) {
        next = TAILQ_NEXT(h, entry);
        /* The client went away (libevent detached the request): free it
         * by answering, but keep the queued response for the next one. */
        if (fake_client_gone(h->req))
            evhttp_send_reply(h->req, 200, "OK", NULL);
        else if ((r = f->stop ? NULL : fake_take(f, h->path)) != NULL)
            fake_serve(h->req, r);
        else if (f->stop || now >= h->deadline_ms)
            fake_reply(h->req, 200, fake_tg_empty, NULL);
        else
            continue;
        TAILQ_REMOVE(&f->held, h, entry);
        xfree(h->path);
        xfree(h);
    }
    if (f->stop)
        event_base_loopbreak(f->base);
    pthread_mutex_unlock(&f->mu);
}

static void *
fake_thread(void *arg)
{
    struct fake_platform *f = arg;

    event_base_dispatch(f->base);
    return NULL;
}

/* ---------------------------------------------------------------------
 * Test thread
 * ------------------------------------------------------------------ */

struct fake_platform *
fake_platform_start(void)
{
    struct fake_platform *f;
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct timeval tv = { 0, FAKE_TICK_MS * 1000 };

    if ((f = xcalloc(1, sizeof(*f))) == NULL)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    TAILQ_INIT(&f->resps);
    TAILQ_INIT(&f->held);
    if ((f->base = event_base_new()) == NULL ||
        (f->http = evhttp_new(f->base)) == NULL ||
        (bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0)) ==
        NULL ||
        getsockname(evhttp_bound_socket_get_fd(bs),
        (struct sockaddr *)&sin, &len) == -1)
        goto fail;
    evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
        EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE);
    evhttp_set_max_body_size(f->http, FAKE_BODY_MAX);
    evhttp_set_gencb(f->http, fake_request_cb, f);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d",
        ntohs(sin.sin_port));
    if ((f->tick = event_new(f->base, -1, EV_PERSIST, fake_tick_cb, f)) ==
        NULL || event_add(f->tick, &tv) == -1)
        goto fail;
    if (pthread_create(&f->thread, NULL, fake_thread, f) != 0)
        goto fail;
    f->thread_started = true;
    return f;
fail:
    fake_platform_stop(f);
    return NULL;
}

const char *
fake_platform_url(const struct fake_platform *f)
{
    return f->url;
}

void
fake_platform_telegram_token(struct fake_platform *f, const char *token)
{
    char **v;

    pthread_mutex_lock(&f->mu);
    if ((v = xrealloc(f->tokens, (f->ntokens + 1) * sizeof(*v))) != NULL) {
        f->tokens = v;
        if ((v[f->ntokens] = xstrdup(token)) != NULL)
            f->ntokens++;
    }
    pthread_mutex_unlock(&f->mu);
}

void
fake_platform_push(struct fake_platform *f, const char *prefix, int status,
    const char *body, const char *header)
{
    struct fake_resp *r;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;
    r->status = status;
    if ((r->prefix = xstrdup(prefix)) == NULL ||
        (r->body = xstrdup(body)) == NULL ||
        (header != NULL && (r->header = xstrdup(header)) == NULL)) {
        fake_resp_free(r);
        return;
    }
    pthread_mutex_lock(&f->mu);
    TAILQ_INSERT_TAIL(&f->resps, r, entry);
    pthread_mutex_unlock(&f->mu);
}

int
fake_platform_push_file(struct fake_platform *f, const char *prefix,
    int status, const char *path, const char *header)
{
    char chunk[4096], *body;
    struct buf b;
    FILE *fp;
    size_t n;

    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "  fake_platform: cannot open %s\n", path);
        return -1;
    }
    buf_init(&b, FAKE_BODY_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    if ((body = buf_steal(&b)) == NULL)
        return -1;
    fake_platform_push(f, prefix, status, body, header);
    xfree(body);
    return 0;
}

size_t
fake_platform_queued(struct fake_platform *f, const char *prefix)
{
    struct fake_resp *r;
    size_t n = 0;

    pthread_mutex_lock(&f->mu);
    TAILQ_FOREACH(r, &f->resps, entry) {
        if (prefix == NULL || strcmp(r->prefix, prefix) == 0)
            n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

size_t
fake_platform_count(struct fake_platform *f, const char *prefix)
{
    size_t n = 0;

    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nrecs; i++) {
        if (f->recs[i].path != NULL && fake_has_prefix(f->recs[i].path,
            prefix))
            n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

int
fake_platform_wait(struct fake_platform *f, const char *prefix, size_t n,
    int timeout_ms)
{
    int64_t end = fake_platform_now_ms() + timeout_ms;

    for (;;) {
        if (fake_platform_count(f, prefix) >= n)
            return 0;
        if (fake_platform_now_ms() >= end)
            return -1;
        usleep(10 * 1000);
    }
}

/* The i-th record for prefix; mu held. */
static const struct fake_rec *
fake_rec_find(struct fake_platform *f, const char *prefix, size_t i)
{
    for (size_t k = 0; k < f->nrecs; k++) {
        if (f->recs[k].path == NULL ||
            !fake_has_prefix(f->recs[k].path, prefix))
            continue;
        if (i-- == 0)
            return &f->recs[k];
    }
    return NULL;
}

char *
fake_platform_uri(struct fake_platform *f, const char *prefix, size_t i,
    int64_t *at_ms)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL) {
        s = rec->uri ? xstrdup(rec->uri) : NULL;
        if (at_ms != NULL)
            *at_ms = rec->at_ms;
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_method(struct fake_platform *f, const char *prefix, size_t i)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL && rec->method != NULL)
        s = xstrdup(rec->method);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_body(struct fake_platform *f, const char *prefix, size_t i)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL && rec->body != NULL)
        s = xstrdup(rec->body);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_param(struct fake_platform *f, const char *prefix, size_t i,
    const char *name)
{
    struct evkeyvalq params;
    const char *q, *v;
    char *uri, *s = NULL;

    if ((uri = fake_platform_uri(f, prefix, i, NULL)) == NULL)
        return NULL;
    TAILQ_INIT(&params);
    if ((q = strchr(uri, '?')) != NULL &&
        evhttp_parse_query_str(q + 1, &params) == 0 &&
        (v = evhttp_find_header(&params, name)) != NULL)
        s = xstrdup(v);
    evhttp_clear_headers(&params);
    xfree(uri);
    return s;
}

char *
fake_platform_header(struct fake_platform *f, const char *prefix, size_t i,
    const char *name)
{
    const struct fake_rec *rec;
    const char *p, *nl;
    size_t n = strlen(name);
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    rec = fake_rec_find(f, prefix, i);
    for (p = rec ? rec->headers : NULL; p != NULL && *p != '\0';
        p = nl + 1) {
        if ((nl = strchr(p, '\n')) == NULL)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            s = xstrndup(p, (size_t)(nl - p));
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

void
fake_platform_stop(struct fake_platform *f)
{
    struct fake_resp *r;

    if (f == NULL)
        return;
    if (f->thread_started) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
        /* Answer what the last tick may have left, then let libevent
         * write it out. */
        fake_tick_cb(-1, 0, f);
        event_base_loop(f->base, EVLOOP_NONBLOCK);
    }
    if (f->tick != NULL)
        event_free(f->tick);
    if (f->http != NULL)
        evhttp_free(f->http);
    if (f->base != NULL)
        event_base_free(f->base);
    while ((r = TAILQ_FIRST(&f->resps)) != NULL) {
        TAILQ_REMOVE(&f->resps, r, entry);
        fake_resp_free(r);
    }
    for (size_t i = 0; i < f->nrecs; i++) {
        xfree(f->recs[i].method);
        xfree(f->recs[i].body);
        xfree(f->recs[i].path);
        xfree(f->recs[i].uri);
        xfree(f->recs[i].headers);
    }
    xfree(f->recs);
    for (size_t i = 0; i < f->ntokens; i++)
        xfree(f->tokens[i]);
    xfree(f->tokens);
    pthread_mutex_destroy(&f->mu);
    xfree(f);
}
