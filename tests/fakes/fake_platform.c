/*
 * fake_platform: the scripted platform server for the integration tests
 * (fake_platform.h): the thread and its loop, the request path (record,
 * drop, queued response, the platform's own answer, delay), the records
 * and effects the tests read back. The platforms' answers are in
 * fake_graph.c, fake_vk.c, fake_telegram.c and fake_youtube.c.
 *
 * The server thread owns the event base; the test thread touches only the
 * shared lists, under the mutex, and the server polls them every 10 ms (a
 * long poll held here is answered within that of a response being
 * queued). No libevent threading support is needed: one thread uses the
 * base at a time.
 */
#include <arpa/inet.h>
#include <errno.h>
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
#include <unistd.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alloc.h"
#include "buf.h"
#include "fake_internal.h"
#include "fake_platform.h"

#define FAKE_TICK_MS        10
#define FAKE_HOLD_MAX_MS    10000

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

int64_t
fake_platform_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool
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
    case 204:
        return "No Content";
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

/* Add "Name: value" lines (separated by '\n') to the answer. */
static void
fake_add_headers(struct evkeyvalq *out, const char *header)
{
    const char *p, *colon, *nl, *v;
    char name[64], value[1024];
    size_t n, vn;

    for (p = header; p != NULL && *p != '\0'; p = nl ? nl + 1 : NULL) {
        nl = strchr(p, '\n');
        if ((colon = strchr(p, ':')) == NULL || (nl && colon > nl) ||
            (n = (size_t)(colon - p)) >= sizeof(name))
            continue;
        memcpy(name, p, n);
        name[n] = '\0';
        for (v = colon + 1; *v == ' '; v++)
            ;
        vn = nl ? (size_t)(nl - v) : strlen(v);
        if (vn >= sizeof(value))
            continue;
        memcpy(value, v, vn);
        value[vn] = '\0';
        evhttp_add_header(out, name, value);
    }
}

static void
fake_reply(struct evhttp_request *req, int status, const char *body,
    const char *header)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *b;

    /* 204 has neither a body nor its type (YouTube's moderation). */
    if (status == 204) {
        fake_add_headers(out, header);
        evhttp_send_reply(req, status, fake_reason(status), NULL);
        return;
    }
    evhttp_add_header(out, "Content-Type",
        "application/json; charset=UTF-8");
    fake_add_headers(out, header);
    if ((b = evbuffer_new()) != NULL)
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

/* Record the request; the record, or NULL when out of memory. */
static struct fake_rec *
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
            return NULL;
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
    return rec;
}

/* ---------------------------------------------------------------------
 * Delays and drops
 * ------------------------------------------------------------------ */

/* The first rule for path, left in place; mu held. */
static struct fake_rule *
fake_rule_find(struct fake_platform *f, const char *path)
{
    struct fake_rule *r;

    TAILQ_FOREACH(r, &f->rules, entry) {
        if (fake_has_prefix(path, r->prefix))
            return r;
    }
    return NULL;
}

static void
fake_rule_free(struct fake_rule *r)
{
    xfree(r->prefix);
    xfree(r);
}

static void
fake_later_free(struct fake_later *l)
{
    if (l->ev != NULL)
        event_free(l->ev);
    xfree(l->body);
    xfree(l->header);
    xfree(l);
}

/*
 * Answer or drop what waited. A client that hung up meanwhile left the
 * request detached from its connection (libevent keeps it for us):
 * answering it is what frees it. A drop frees the connection, which
 * closes the socket with nothing written.
 */
static void
fake_later_run(struct fake_later *l)
{
    struct evhttp_connection *evcon;

    if (!l->drop)
        fake_reply(l->req, l->status, l->body, l->header);
    else if ((evcon = evhttp_request_get_connection(l->req)) != NULL)
        evhttp_connection_free(evcon);
    else
        evhttp_send_reply(l->req, 200, "OK", NULL);
}

static void
fake_later_cb(evutil_socket_t fd, short what, void *arg)
{
    struct fake_later *l = arg;
    struct fake_platform *f = l->f;

    (void)fd;
    (void)what;
    pthread_mutex_lock(&f->mu);
    TAILQ_REMOVE(&f->laters, l, entry);
    fake_later_run(l);
    fake_later_free(l);
    pthread_mutex_unlock(&f->mu);
}

/*
 * Run l after ms on the loop (0: on its next turn, which for a drop is
 * after the request callback has returned to libevent). Takes l; when the
 * timer cannot be had, runs it now.
 */
static void
fake_later_start(struct fake_platform *f, struct fake_later *l, int ms)
{
    struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

    l->f = f;
    if ((l->ev = evtimer_new(f->base, fake_later_cb, l)) == NULL ||
        evtimer_add(l->ev, &tv) == -1) {
        fake_later_run(l);
        fake_later_free(l);
        return;
    }
    TAILQ_INSERT_TAIL(&f->laters, l, entry);
}

/* Send the answer now, or later when a delay rule matches; mu held. */
static void
fake_finish(struct fake_platform *f, struct evhttp_request *req,
    const char *path, int status, const char *body, const char *header)
{
    struct fake_rule *r = fake_rule_find(f, path);
    struct fake_later *l;

    if (r == NULL || r->drop) {
        fake_reply(req, status, body, header);
        return;
    }
    TAILQ_REMOVE(&f->rules, r, entry);
    if ((l = xcalloc(1, sizeof(*l))) == NULL ||
        (l->body = xstrdup(body)) == NULL ||
        (header != NULL && (l->header = xstrdup(header)) == NULL)) {
        if (l != NULL)
            fake_later_free(l);
        fake_reply(req, status, body, header);
    } else {
        l->req = req;
        l->status = status;
        fake_later_start(f, l, r->delay_ms);
    }
    fake_rule_free(r);
}

/* ---------------------------------------------------------------------
 * The request path
 * ------------------------------------------------------------------ */

/* Hold a getUpdates with a timeout (a long poll); false: answer now. */
static bool
fake_hold(struct fake_platform *f, struct fake_call *c)
{
    const char *tv = fake_param(c, "timeout");
    long long timeout;
    struct fake_held *h;

    if (!fake_parse_ll(tv, &timeout) || timeout <= 0 ||
        (h = xcalloc(1, sizeof(*h))) == NULL)
        return false;
    if ((h->path = xstrdup(c->path)) == NULL) {
        xfree(h);
        return false;
    }
    h->req = c->req;
    h->deadline_ms = fake_platform_now_ms() +
        (timeout * 1000 < FAKE_HOLD_MAX_MS ? timeout * 1000 :
        FAKE_HOLD_MAX_MS);
    TAILQ_INSERT_TAIL(&f->held, h, entry);
    return true;
}

/* The platform's own answer when nothing was queued; mu held. */
static void
fake_default(struct fake_call *c)
{
    const char *slash;

    if (strncmp(c->path, "/bot", 4) == 0) {
        if ((slash = strchr(c->path + 4, '/')) != NULL)
            fake_telegram_serve(c, slash + 1);
        else
            fake_answer(c, 404, fake_tg_404, NULL);
    } else if (strncmp(c->path, "/method/", 8) == 0) {
        fake_vk_serve(c);
    } else if (strncmp(c->path, "/youtube/", 9) == 0) {
        if (fake_youtube_serve(c))
            return;
        if (fake_has_prefix(c->path, FAKE_YT_PATH))
            fake_answer(c, 200, fake_yt_empty, NULL);
        else
            fake_answer(c, 404, fake_yt_404, NULL);
    } else if (fake_graph_path(c->path)) {
        fake_graph_serve(c);
    } else {
        fake_answer(c, 404, fake_yt_404, NULL);
    }
}

static void
fake_request_cb(struct evhttp_request *req, void *arg)
{
    struct fake_platform *f = arg;
    const char *uri = evhttp_request_get_uri(req), *q;
    struct fake_rule *rule;
    struct fake_later *l;
    struct fake_resp *r;
    struct fake_rec *rec;
    struct fake_call c;
    char path[1024];
    size_t n;

    q = strchr(uri, '?');
    n = q ? (size_t)(q - uri) : strlen(uri);
    if (n >= sizeof(path))
        n = sizeof(path) - 1;
    memcpy(path, uri, n);
    path[n] = '\0';

    pthread_mutex_lock(&f->mu);
    rec = fake_record(f, req, path);
    if ((rule = fake_rule_find(f, path)) != NULL && rule->drop) {
        TAILQ_REMOVE(&f->rules, rule, entry);
        fake_rule_free(rule);
        /* Not from inside libevent's request callback: on the loop. */
        if ((l = xcalloc(1, sizeof(*l))) != NULL) {
            l->req = req;
            l->drop = true;
            fake_later_start(f, l, 0);
        } else {
            fake_reply(req, 500, "", NULL);
        }
        goto out;
    }
    if (strncmp(path, "/bot", 4) == 0 && !fake_token_ok(f, path)) {
        fake_finish(f, req, path, 401, fake_tg_401, NULL);
        goto out;
    }
    if ((r = fake_take(f, path)) != NULL) {
        fake_finish(f, req, path, r->status, r->body, r->header);
        fake_resp_free(r);
        goto out;
    }
    fake_call_init(&c, f, req, path, q ? q + 1 : NULL,
        rec ? rec->body : NULL);
    if (fake_is_get_updates(path)) {
        if (!fake_hold(f, &c))
            fake_answer(&c, 200, fake_tg_empty, NULL);
    } else {
        fake_default(&c);
    }
    if (c.answered)
        fake_finish(f, req, path, c.status, c.body, c.header);
    fake_call_free(&c);
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
    struct sigaction sa;

    /* A delayed answer may be written to a client that hung up. */
    if (sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL)
        signal(SIGPIPE, SIG_IGN);
    if ((f = xcalloc(1, sizeof(*f))) == NULL)
        return NULL;
    pthread_mutex_init(&f->mu, NULL);
    TAILQ_INIT(&f->resps);
    TAILQ_INIT(&f->held);
    TAILQ_INIT(&f->rules);
    TAILQ_INIT(&f->laters);
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

/* Append a copy of s to a string list; mu held. */
static void
fake_strv_add(char ***vp, size_t *np, const char *s)
{
    char **v;

    if ((v = xrealloc(*vp, (*np + 1) * sizeof(*v))) != NULL) {
        *vp = v;
        if ((v[*np] = xstrdup(s)) != NULL)
            (*np)++;
    }
}

static void
fake_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(v[i]);
    xfree(v);
}

void
fake_platform_telegram_token(struct fake_platform *f, const char *token)
{
    pthread_mutex_lock(&f->mu);
    fake_strv_add(&f->tokens, &f->ntokens, token);
    pthread_mutex_unlock(&f->mu);
}

void
fake_platform_graph_token(struct fake_platform *f, const char *token)
{
    pthread_mutex_lock(&f->mu);
    fake_strv_add(&f->graph_tokens, &f->ngraph_tokens, token);
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

/* ---------------------------------------------------------------------
 * Failures the test scripts
 * ------------------------------------------------------------------ */

static void
fake_rule_add(struct fake_platform *f, const char *prefix, bool drop,
    int ms)
{
    struct fake_rule *r;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;
    if ((r->prefix = xstrdup(prefix)) == NULL) {
        xfree(r);
        return;
    }
    r->drop = drop;
    r->delay_ms = ms > 0 ? ms : 0;
    pthread_mutex_lock(&f->mu);
    TAILQ_INSERT_TAIL(&f->rules, r, entry);
    pthread_mutex_unlock(&f->mu);
}

void
fake_platform_delay(struct fake_platform *f, const char *prefix, int ms)
{
    fake_rule_add(f, prefix, false, ms);
}

void
fake_platform_drop(struct fake_platform *f, const char *prefix)
{
    fake_rule_add(f, prefix, true, 0);
}

void
fake_platform_stop(struct fake_platform *f)
{
    struct fake_resp *r;
    struct fake_rule *rule;
    struct fake_later *l;

    if (f == NULL)
        return;
    if (f->thread_started) {
        pthread_mutex_lock(&f->mu);
        f->stop = true;
        pthread_mutex_unlock(&f->mu);
        pthread_join(f->thread, NULL);
        /* Answer what the last tick may have left and what waits for a
         * timer, then let libevent write it out. */
        fake_tick_cb(-1, 0, f);
        while ((l = TAILQ_FIRST(&f->laters)) != NULL) {
            TAILQ_REMOVE(&f->laters, l, entry);
            fake_later_run(l);
            fake_later_free(l);
        }
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
    while ((rule = TAILQ_FIRST(&f->rules)) != NULL) {
        TAILQ_REMOVE(&f->rules, rule, entry);
        fake_rule_free(rule);
    }
    for (size_t i = 0; i < f->neffects; i++) {
        xfree(f->effects[i].platform);
        xfree(f->effects[i].kind);
        xfree(f->effects[i].target);
        xfree(f->effects[i].text);
    }
    xfree(f->effects);
    fake_map_free(&f->gone);
    fake_map_free(&f->vk_sent);
    fake_map_free(&f->vk_guid);
    fake_strv_free(f->tokens, f->ntokens);
    fake_strv_free(f->graph_tokens, f->ngraph_tokens);
    pthread_mutex_destroy(&f->mu);
    xfree(f);
}
