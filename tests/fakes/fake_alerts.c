/*
 * fake_alerts: the alert receivers (Slack, Telegram sendMessage,
 * PagerDuty Events v2, a webhook) as one recorded loopback server for
 * the integration tests (fake_alerts.h). The server thread owns its
 * event base; the test thread touches the shared lists only, under the
 * mutex, and a 10 ms tick notices when to stop.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alloc.h"
#include "buf.h"
#include "fake_alerts.h"

#define FAKE_ALERTS_TICK_MS 10
#define FAKE_ALERTS_BODY_MAX (1u << 20)

struct fake_alerts_resp {
    TAILQ_ENTRY(fake_alerts_resp) entry;
    char *prefix;
    int status;
    char *body;
    char *header;
};

struct fake_alerts_call {
    char *path;
    char *headers;              /* "name: value\n" lines */
    char *body;
    int64_t at_ms;
};

struct fake_alerts {
    pthread_t thread;
    pthread_mutex_t mu;
    bool thread_started;
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    char url[64];

    /* Shared, under mu. */
    bool stop;
    TAILQ_HEAD(, fake_alerts_resp) resps;
    struct fake_alerts_call *calls;
    size_t ncalls, cap;
    unsigned long next_id;
};

static int64_t
fake_alerts_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool
fake_alerts_has_prefix(const char *s, const char *prefix)
{
    return prefix == NULL || strncmp(s, prefix, strlen(prefix)) == 0;
}

static void
fake_alerts_resp_free(struct fake_alerts_resp *r)
{
    xfree(r->prefix);
    xfree(r->body);
    xfree(r->header);
    xfree(r);
}

/* "Name: value" lines (separated by '\n') into the answer's headers. */
static void
fake_alerts_add_headers(struct evkeyvalq *out, const char *header)
{
    char line[1024], *colon, *v;
    const char *p, *nl;
    size_t n;

    for (p = header; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        n = nl ? (size_t)(nl - p) : strlen(p);
        if (n >= sizeof(line))
            continue;
        memcpy(line, p, n);
        line[n] = '\0';
        if ((colon = strchr(line, ':')) == NULL)
            continue;
        *colon = '\0';
        for (v = colon + 1; *v == ' '; v++)
            ;
        evhttp_add_header(out, line, v);
    }
}

static void
fake_alerts_reply(struct evhttp_request *req, int status, const char *ctype,
    const char *body, const char *header)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *b = evbuffer_new();

    evhttp_add_header(out, "Content-Type", ctype);
    fake_alerts_add_headers(out, header);
    if (b != NULL)
        evbuffer_add(b, body, strlen(body));
    evhttp_send_reply(req, status, status == 429 ? "Too Many Requests" :
        status >= 500 ? "Server Error" : status >= 400 ? "Bad Request" :
        "OK", b);
    if (b != NULL)
        evbuffer_free(b);
}

/* Record the call; mu held. */
static void
fake_alerts_record(struct fake_alerts *f, struct evhttp_request *req,
    const char *path)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *b = evhttp_request_get_input_buffer(req);
    struct fake_alerts_call *c;
    struct evkeyval *kv;
    struct buf hb, bb;
    size_t len = evbuffer_get_length(b);

    if (f->ncalls == f->cap) {
        size_t cap = f->cap ? f->cap * 2 : 64;
        struct fake_alerts_call *v = xrealloc(f->calls, cap * sizeof(*v));

        if (v == NULL)
            return;
        f->calls = v;
        f->cap = cap;
    }
    buf_init(&hb, 64 * 1024);
    buf_init(&bb, FAKE_ALERTS_BODY_MAX);
    TAILQ_FOREACH(kv, in, next)
        buf_printf(&hb, "%s: %s\n", kv->key, kv->value);
    if (len > 0)
        buf_append(&bb, evbuffer_pullup(b, -1), len);
    c = &f->calls[f->ncalls++];
    c->path = xstrdup(path);
    c->headers = buf_steal(&hb);
    c->body = buf_steal(&bb);
    if (c->headers == NULL)
        c->headers = xstrdup("");
    if (c->body == NULL)
        c->body = xstrdup("");
    c->at_ms = fake_alerts_now_ms();
    buf_free(&hb);
    buf_free(&bb);
}

static void
fake_alerts_request_cb(struct evhttp_request *req, void *arg)
{
    struct fake_alerts *f = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    struct fake_alerts_resp *r;
    const char *slash;
    char body[256];

    if (path == NULL)
        path = "/";
    pthread_mutex_lock(&f->mu);
    fake_alerts_record(f, req, path);
    TAILQ_FOREACH(r, &f->resps, entry) {
        if (fake_alerts_has_prefix(path, r->prefix))
            break;
    }
    if (r != NULL) {
        TAILQ_REMOVE(&f->resps, r, entry);
        fake_alerts_reply(req, r->status, "application/json", r->body,
            r->header);
        fake_alerts_resp_free(r);
    } else if (strncmp(path, "/bot", 4) == 0 &&
        (slash = strchr(path + 4, '/')) != NULL &&
        strcmp(slash, "/sendMessage") == 0) {
        snprintf(body, sizeof(body), "{\"ok\":true,\"result\":{"
            "\"message_id\":%lu,\"date\":1774526400,\"chat\":{\"id\":1}}}",
            ++f->next_id);
        fake_alerts_reply(req, 200, "application/json", body, NULL);
    } else if (strcmp(path, "/v2/enqueue") == 0) {
        snprintf(body, sizeof(body), "{\"status\":\"success\",\"message\":"
            "\"Event processed\",\"dedup_key\":\"k%lu\"}", ++f->next_id);
        fake_alerts_reply(req, 202, "application/json", body, NULL);
    } else {
        fake_alerts_reply(req, 200, "text/plain", "ok", NULL);
    }
    pthread_mutex_unlock(&f->mu);
}

static void
fake_alerts_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fake_alerts *f = arg;
    bool stop;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&f->mu);
    stop = f->stop;
    pthread_mutex_unlock(&f->mu);
    if (stop)
        event_base_loopbreak(f->base);
}

static void *
fake_alerts_thread(void *arg)
{
    struct fake_alerts *f = arg;

    event_base_dispatch(f->base);
    return NULL;
}

struct fake_alerts *
fake_alerts_start(void)
{
    struct timeval tv = { 0, FAKE_ALERTS_TICK_MS * 1000 };
    struct evhttp_bound_socket *bs;
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    struct fake_alerts *f;
    struct sigaction sa;

    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    if ((f = xcalloc(1, sizeof(*f))) == NULL)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    TAILQ_INIT(&f->resps);
    if ((f->base = event_base_new()) == NULL ||
        (f->http = evhttp_new(f->base)) == NULL ||
        (bs = evhttp_bind_socket_with_handle(f->http, "127.0.0.1", 0)) ==
        NULL || getsockname(evhttp_bound_socket_get_fd(bs),
        (struct sockaddr *)&sin, &len) == -1)
        goto fail;
    evhttp_set_allowed_methods(f->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
    evhttp_set_max_body_size(f->http, FAKE_ALERTS_BODY_MAX);
    evhttp_set_gencb(f->http, fake_alerts_request_cb, f);
    snprintf(f->url, sizeof(f->url), "http://127.0.0.1:%d",
        ntohs(sin.sin_port));
    if ((f->tick = event_new(f->base, -1, EV_PERSIST, fake_alerts_tick_cb,
        f)) == NULL || event_add(f->tick, &tv) == -1)
        goto fail;
    if (pthread_create(&f->thread, NULL, fake_alerts_thread, f) != 0)
        goto fail;
    f->thread_started = true;
    return f;
fail:
    fake_alerts_stop(f);
    return NULL;
}

const char *
fake_alerts_url(const struct fake_alerts *f)
{
    return f->url;
}

void
fake_alerts_push(struct fake_alerts *f, const char *prefix, int status,
    const char *body, const char *header)
{
    struct fake_alerts_resp *r;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;
    r->prefix = xstrdup(prefix);
    r->status = status;
    r->body = xstrdup(body != NULL ? body : "");
    r->header = header != NULL ? xstrdup(header) : NULL;
    pthread_mutex_lock(&f->mu);
    TAILQ_INSERT_TAIL(&f->resps, r, entry);
    pthread_mutex_unlock(&f->mu);
}

/* The i-th call under prefix; mu held. */
static struct fake_alerts_call *
fake_alerts_nth(struct fake_alerts *f, const char *prefix, size_t i)
{
    for (size_t k = 0; k < f->ncalls; k++) {
        if (fake_alerts_has_prefix(f->calls[k].path, prefix) && i-- == 0)
            return &f->calls[k];
    }
    return NULL;
}

size_t
fake_alerts_count(struct fake_alerts *f, const char *prefix)
{
    size_t n = 0;

    pthread_mutex_lock(&f->mu);
    for (size_t k = 0; k < f->ncalls; k++)
        n += fake_alerts_has_prefix(f->calls[k].path, prefix);
    pthread_mutex_unlock(&f->mu);
    return n;
}

int
fake_alerts_wait(struct fake_alerts *f, const char *prefix, size_t n,
    int timeout_ms)
{
    int64_t deadline = fake_alerts_now_ms() + timeout_ms;
    struct timespec ts = { 0, 5 * 1000000L };

    while (fake_alerts_count(f, prefix) < n) {
        if (fake_alerts_now_ms() >= deadline)
            return -1;
        nanosleep(&ts, NULL);
    }
    return 0;
}

char *
fake_alerts_path(struct fake_alerts *f, const char *prefix, size_t i)
{
    struct fake_alerts_call *c;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((c = fake_alerts_nth(f, prefix, i)) != NULL)
        s = xstrdup(c->path);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_alerts_body(struct fake_alerts *f, const char *prefix, size_t i)
{
    struct fake_alerts_call *c;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((c = fake_alerts_nth(f, prefix, i)) != NULL)
        s = xstrdup(c->body);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_alerts_header(struct fake_alerts *f, const char *prefix, size_t i,
    const char *name)
{
    struct fake_alerts_call *c;
    size_t n = strlen(name);
    const char *p, *nl;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((c = fake_alerts_nth(f, prefix, i)) != NULL) {
        for (p = c->headers; p != NULL && *p != '\0';
            p = nl ? nl + 1 : NULL) {
            nl = strchr(p, '\n');
            if (strncasecmp(p, name, n) == 0 && p[n] == ':' &&
                p[n + 1] == ' ') {
                s = xstrndup(p + n + 2, nl ? (size_t)(nl - p - n - 2) :
                    strlen(p + n + 2));
                break;
            }
        }
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

int64_t
fake_alerts_at(struct fake_alerts *f, const char *prefix, size_t i)
{
    struct fake_alerts_call *c;
    int64_t at = -1;

    pthread_mutex_lock(&f->mu);
    if ((c = fake_alerts_nth(f, prefix, i)) != NULL)
        at = c->at_ms;
    pthread_mutex_unlock(&f->mu);
    return at;
}

static void
fake_alerts_calls_free(struct fake_alerts *f)
{
    for (size_t k = 0; k < f->ncalls; k++) {
        xfree(f->calls[k].path);
        xfree(f->calls[k].headers);
        xfree(f->calls[k].body);
    }
    f->ncalls = 0;
}

void
fake_alerts_clear(struct fake_alerts *f)
{
    pthread_mutex_lock(&f->mu);
    fake_alerts_calls_free(f);
    pthread_mutex_unlock(&f->mu);
}

void
fake_alerts_stop(struct fake_alerts *f)
{
    struct fake_alerts_resp *r;

    if (f == NULL)
        return;
    if (f->thread_started) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
    }
    if (f->tick != NULL)
        event_free(f->tick);
    if (f->http != NULL)
        evhttp_free(f->http);
    if (f->base != NULL)
        event_base_free(f->base);
    while ((r = TAILQ_FIRST(&f->resps)) != NULL) {
        TAILQ_REMOVE(&f->resps, r, entry);
        fake_alerts_resp_free(r);
    }
    fake_alerts_calls_free(f);
    xfree(f->calls);
    pthread_mutex_destroy(&f->mu);
    xfree(f);
}
