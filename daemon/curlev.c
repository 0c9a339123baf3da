/*
 * curlev: libcurl's multi interface on the daemon's libevent loop, the
 * event-driven pattern of curl's hiperfifo example. curl tells us which
 * sockets to watch (CURLMOPT_SOCKETFUNCTION: one persistent event per
 * socket, kept with curl_multi_assign) and when to wake it
 * (CURLMOPT_TIMERFUNCTION: one evtimer); both events call
 * curl_multi_socket_action, and finished transfers are collected with
 * curl_multi_info_read right after, outside any curl callback, so a
 * completion callback may start or cancel other requests.
 *
 * Each request owns its easy handle, its header list and its response
 * buffer (capped: the write callback refuses bytes past max_response,
 * which ends the transfer). Requests sit on a list so that curlev_free
 * can cancel them all, each callback once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>
#include <time.h>

#include <curl/curl.h>
#include <event2/event.h>

#include "alloc.h"
#include "buf.h"
#include "curlev.h"
#include "log.h"
#include "util.h"

#ifndef INBOXD_VERSION
#define INBOXD_VERSION "dev"
#endif

#define CURLEV_DEFAULT_TIMEOUT_MS   30000
#define CURLEV_DEFAULT_MAX          (8u * 1024 * 1024)
#define CURLEV_CONNECT_TIMEOUT_MS   10000

struct curlev_req {
    TAILQ_ENTRY(curlev_req) entry;
    struct curlev *c;
    CURL *easy;
    struct curl_slist *headers;
    char *log_name;
    struct buf body;
    bool too_large;
    int64_t retry_after_ms;
    int64_t started_us;
    char error[CURL_ERROR_SIZE];
    curlev_done_cb *cb;
    void *arg;
};

/* One socket curl asked us to watch. */
struct curlev_sock {
    LIST_ENTRY(curlev_sock) entry;
    struct event *ev;
    curl_socket_t fd;
};

struct curlev {
    struct event_base *base;
    CURLM *multi;
    struct event *ev_timer;
    TAILQ_HEAD(, curlev_req) reqs;
    LIST_HEAD(, curlev_sock) socks;
    unsigned nreqs;
    bool freeing;
};

const char *
curlev_result_name(enum curlev_result res)
{
    switch (res) {
    case CURLEV_OK:
        return "ok";
    case CURLEV_TIMEOUT:
        return "timeout";
    case CURLEV_CONNECT:
        return "connect";
    case CURLEV_TOO_LARGE:
        return "too_large";
    case CURLEV_CANCELLED:
        return "cancelled";
    case CURLEV_FAILED:
        return "failed";
    }
    return "?";
}

/* ---------------------------------------------------------------------
 * Completion
 * ------------------------------------------------------------------ */

static void
curlev_req_free(struct curlev_req *req)
{
    if (req->easy != NULL)
        curl_easy_cleanup(req->easy);
    curl_slist_free_all(req->headers);
    buf_free(&req->body);
    xfree(req->log_name);
    xfree(req);
}

static enum curlev_result
curlev_map(const struct curlev_req *req, CURLcode code)
{
    switch (code) {
    case CURLE_OK:
        return CURLEV_OK;
    case CURLE_OPERATION_TIMEDOUT:
        return CURLEV_TIMEOUT;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_CONNECT:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
        return CURLEV_CONNECT;
    case CURLE_WRITE_ERROR:
        return req->too_large ? CURLEV_TOO_LARGE : CURLEV_FAILED;
    default:
        return CURLEV_FAILED;
    }
}

/*
 * Take req out of the multi handle and the list, fire its callback and
 * free it. code is curl's result; cancelled overrides it.
 */
static void
curlev_finish(struct curlev *c, struct curlev_req *req, CURLcode code,
    bool cancelled)
{
    struct curlev_response resp = { 0 };
    long status = 0;

    curl_multi_remove_handle(c->multi, req->easy);
    TAILQ_REMOVE(&c->reqs, req, entry);
    c->nreqs--;
    resp.result = cancelled ? CURLEV_CANCELLED : curlev_map(req, code);
    if (resp.result == CURLEV_OK) {
        curl_easy_getinfo(req->easy, CURLINFO_RESPONSE_CODE, &status);
        resp.status = status;
        resp.error = "";
    } else if (cancelled) {
        resp.error = "cancelled";
    } else if (req->too_large) {
        resp.error = "response larger than the cap";
    } else {
        resp.error = req->error[0] ? req->error : curl_easy_strerror(code);
    }
    resp.body = req->body.data != NULL ? req->body.data : "";
    resp.len = req->body.len;
    resp.retry_after_ms = req->retry_after_ms;
    resp.elapsed_ms = (util_mono_us() - req->started_us) / 1000;
    log_debug("curlev", "%s: %s, status %ld, %zu bytes, %lld ms",
        req->log_name, curlev_result_name(resp.result), resp.status,
        resp.len, (long long)resp.elapsed_ms);
    req->cb(&resp, req->arg);
    curlev_req_free(req);
}

/* Collect finished transfers; runs outside every curl callback. */
static void
curlev_check_done(struct curlev *c)
{
    struct curlev_req *req;
    char *priv;
    CURLMsg *msg;
    int left;

    while ((msg = curl_multi_info_read(c->multi, &left)) != NULL) {
        if (msg->msg != CURLMSG_DONE)
            continue;
        priv = NULL;
        curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, &priv);
        if ((req = (struct curlev_req *)priv) != NULL)
            curlev_finish(c, req, msg->data.result, false);
    }
}

/* ---------------------------------------------------------------------
 * Loop glue
 * ------------------------------------------------------------------ */

static void
curlev_event_cb(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *c = arg;
    int action = 0, running;

    if (what & EV_READ)
        action |= CURL_CSELECT_IN;
    if (what & EV_WRITE)
        action |= CURL_CSELECT_OUT;
    curl_multi_socket_action(c->multi, fd, action, &running);
    curlev_check_done(c);
}

static void
curlev_timeout_cb(evutil_socket_t fd, short what, void *arg)
{
    struct curlev *c = arg;
    int running;

    (void)fd;
    (void)what;
    curl_multi_socket_action(c->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    curlev_check_done(c);
}

/* CURLMOPT_TIMERFUNCTION: -1 stops the timer; 0 means "soon", not now. */
static int
curlev_timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
    struct curlev *c = userp;
    struct timeval tv;

    (void)multi;
    if (timeout_ms < 0) {
        evtimer_del(c->ev_timer);
        return 0;
    }
    tv.tv_sec = timeout_ms / 1000;
    tv.tv_usec = (timeout_ms % 1000) * 1000;
    return evtimer_add(c->ev_timer, &tv) == 0 ? 0 : -1;
}

static void
curlev_sock_free(struct curlev_sock *cs)
{
    LIST_REMOVE(cs, entry);
    if (cs->ev != NULL)
        event_free(cs->ev);
    xfree(cs);
}

/* CURLMOPT_SOCKETFUNCTION: watch s for what curl wants, or stop. */
static int
curlev_socket_cb(CURL *easy, curl_socket_t s, int what, void *userp,
    void *socketp)
{
    struct curlev *c = userp;
    struct curlev_sock *cs = socketp;
    short kind = EV_PERSIST;

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (cs != NULL) {
            curl_multi_assign(c->multi, s, NULL);
            curlev_sock_free(cs);
        }
        return 0;
    }
    if (what & CURL_POLL_IN)
        kind |= EV_READ;
    if (what & CURL_POLL_OUT)
        kind |= EV_WRITE;
    if (cs == NULL) {
        if ((cs = xcalloc(1, sizeof(*cs))) == NULL)
            return -1;
        cs->fd = s;
        LIST_INSERT_HEAD(&c->socks, cs, entry);
        curl_multi_assign(c->multi, s, cs);
    } else if (cs->ev != NULL) {
        event_free(cs->ev);
        cs->ev = NULL;
    }
    if ((cs->ev = event_new(c->base, s, kind, curlev_event_cb, c)) == NULL ||
        event_add(cs->ev, NULL) == -1)
        return -1;
    return 0;
}

/* ---------------------------------------------------------------------
 * Transfer callbacks
 * ------------------------------------------------------------------ */

static size_t
curlev_write_cb(char *p, size_t size, size_t n, void *userp)
{
    struct curlev_req *req = userp;
    size_t len = size * n;

    if (buf_append(&req->body, p, len) == -1) {
        req->too_large = true;
        return 0;               /* ends the transfer: CURLE_WRITE_ERROR */
    }
    return len;
}

/*
 * Retry-After: delay-seconds or an HTTP date. A new response (after a
 * redirect or 100 Continue) starts with its status line and resets it.
 */
static size_t
curlev_header_cb(char *p, size_t size, size_t n, void *userp)
{
    static const char name[] = "retry-after:";
    struct curlev_req *req = userp;
    size_t len = size * n, vlen;
    char value[64];
    long secs;
    time_t when;

    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0)
        req->retry_after_ms = -1;
    if (len <= sizeof(name) - 1 || strncasecmp(p, name, sizeof(name) - 1))
        return len;
    p += sizeof(name) - 1;
    len -= sizeof(name) - 1;
    while (len > 0 && (*p == ' ' || *p == '\t')) {
        p++;
        len--;
    }
    for (vlen = len; vlen > 0 && (p[vlen - 1] == '\r' ||
        p[vlen - 1] == '\n' || p[vlen - 1] == ' '); vlen--)
        ;
    if (vlen == 0 || vlen >= sizeof(value))
        return size * n;
    memcpy(value, p, vlen);
    value[vlen] = '\0';
    if (util_parse_long(value, 0, 7 * 86400, &secs) == 0) {
        req->retry_after_ms = (int64_t)secs * 1000;
    } else if ((when = curl_getdate(value, NULL)) != -1) {
        secs = (long)(when - time(NULL));
        req->retry_after_ms = secs > 0 ? (int64_t)secs * 1000 : 0;
    }
    return size * n;
}

/* ---------------------------------------------------------------------
 * API
 * ------------------------------------------------------------------ */

struct curlev *
curlev_new(struct event_base *base)
{
    struct curlev *c;

    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        log_warnx("cannot initialize libcurl");
        return NULL;
    }
    if ((c = xcalloc(1, sizeof(*c))) == NULL)
        goto fail;
    c->base = base;
    TAILQ_INIT(&c->reqs);
    LIST_INIT(&c->socks);
    if ((c->multi = curl_multi_init()) == NULL ||
        (c->ev_timer = evtimer_new(base, curlev_timeout_cb, c)) == NULL)
        goto fail;
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETFUNCTION, curlev_socket_cb);
    curl_multi_setopt(c->multi, CURLMOPT_SOCKETDATA, c);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERFUNCTION, curlev_timer_cb);
    curl_multi_setopt(c->multi, CURLMOPT_TIMERDATA, c);
    return c;
fail:
    log_warnx("cannot set up the HTTP client: out of memory");
    if (c != NULL) {
        if (c->multi != NULL)
            curl_multi_cleanup(c->multi);
        xfree(c);
    }
    curl_global_cleanup();
    return NULL;
}

/* The easy handle's options; -1 when curl refuses one. */
static int
curlev_setup(struct curlev_req *req, const struct curlev_request *r)
{
    CURL *e = req->easy;
    int64_t timeout = r->timeout_ms > 0 ? r->timeout_ms :
        CURLEV_DEFAULT_TIMEOUT_MS;
    CURLcode rc = CURLE_OK;

#define CURLEV_SET(opt, v) do {                                         \
        if (rc == CURLE_OK)                                             \
            rc = curl_easy_setopt(e, (opt), (v));                       \
    } while (0)

    CURLEV_SET(CURLOPT_URL, r->url);
    CURLEV_SET(CURLOPT_PRIVATE, (char *)req);
    CURLEV_SET(CURLOPT_ERRORBUFFER, req->error);
    CURLEV_SET(CURLOPT_NOSIGNAL, 1L);
#if LIBCURL_VERSION_NUM >= 0x075500
    CURLEV_SET(CURLOPT_PROTOCOLS_STR, "http,https");
#else
    CURLEV_SET(CURLOPT_PROTOCOLS, (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
    CURLEV_SET(CURLOPT_FOLLOWLOCATION, 0L);
    CURLEV_SET(CURLOPT_TIMEOUT_MS, (long)timeout);
    CURLEV_SET(CURLOPT_CONNECTTIMEOUT_MS, (long)(timeout <
        CURLEV_CONNECT_TIMEOUT_MS ? timeout : CURLEV_CONNECT_TIMEOUT_MS));
    CURLEV_SET(CURLOPT_USERAGENT, "inboxd/" INBOXD_VERSION);
    CURLEV_SET(CURLOPT_ACCEPT_ENCODING, "");
    CURLEV_SET(CURLOPT_WRITEFUNCTION, curlev_write_cb);
    CURLEV_SET(CURLOPT_WRITEDATA, req);
    CURLEV_SET(CURLOPT_HEADERFUNCTION, curlev_header_cb);
    CURLEV_SET(CURLOPT_HEADERDATA, req);
    CURLEV_SET(CURLOPT_HTTPHEADER, req->headers);
    if (r->body != NULL) {
        CURLEV_SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)r->len);
        CURLEV_SET(CURLOPT_COPYPOSTFIELDS, (const char *)r->body);
    }
    if (strcmp(r->method, "GET") == 0)
        CURLEV_SET(CURLOPT_HTTPGET, 1L);
    else if (strcmp(r->method, "POST") != 0 || r->body == NULL)
        CURLEV_SET(CURLOPT_CUSTOMREQUEST, r->method);
    if (r->body == NULL && strcmp(r->method, "POST") == 0)
        CURLEV_SET(CURLOPT_POSTFIELDSIZE, 0L);
#undef CURLEV_SET
    if (rc != CURLE_OK) {
        log_warnx("%s: cannot set up the request: %s", req->log_name,
            curl_easy_strerror(rc));
        return -1;
    }
    return 0;
}

struct curlev_req *
curlev_start(struct curlev *c, const struct curlev_request *r,
    curlev_done_cb *cb, void *arg)
{
    struct curlev_req *req;
    struct curl_slist *l;
    CURLMcode mc;

    if (c == NULL || c->freeing)
        return NULL;
    if ((req = xcalloc(1, sizeof(*req))) == NULL)
        goto oom;
    req->c = c;
    req->cb = cb;
    req->arg = arg;
    req->retry_after_ms = -1;
    buf_init(&req->body, r->max_response > 0 ? r->max_response :
        CURLEV_DEFAULT_MAX);
    if ((req->log_name = xstrdup(r->log_name ? r->log_name : "request")) ==
        NULL || (req->easy = curl_easy_init()) == NULL)
        goto oom;
    /* No "Expect: 100-continue" round trip for bodies. */
    if ((l = curl_slist_append(NULL, "Expect:")) == NULL)
        goto oom;
    req->headers = l;
    for (size_t i = 0; r->headers != NULL && r->headers[i] != NULL; i++) {
        if ((l = curl_slist_append(req->headers, r->headers[i])) == NULL)
            goto oom;
        req->headers = l;
    }
    if (curlev_setup(req, r) == -1)
        goto fail;
    req->started_us = util_mono_us();
    if ((mc = curl_multi_add_handle(c->multi, req->easy)) != CURLM_OK) {
        log_warnx("%s: cannot start: %s", req->log_name,
            curl_multi_strerror(mc));
        goto fail;
    }
    TAILQ_INSERT_TAIL(&c->reqs, req, entry);
    c->nreqs++;
    log_debug("curlev", "%s: %s started", req->log_name, r->method);
    return req;
oom:
    log_warnx("%s: out of memory", r->log_name ? r->log_name : "request");
fail:
    if (req != NULL)
        curlev_req_free(req);
    return NULL;
}

void
curlev_cancel(struct curlev *c, struct curlev_req *req)
{
    if (c == NULL || req == NULL)
        return;
    curlev_finish(c, req, CURLE_OK, true);
}

unsigned
curlev_pending(const struct curlev *c)
{
    return c != NULL ? c->nreqs : 0;
}

void
curlev_free(struct curlev *c)
{
    struct curlev_req *req;
    struct curlev_sock *cs;

    if (c == NULL)
        return;
    c->freeing = true;
    while ((req = TAILQ_FIRST(&c->reqs)) != NULL)
        curlev_finish(c, req, CURLE_OK, true);
    if (c->multi != NULL)
        curl_multi_cleanup(c->multi);
    /* Sockets curl did not report closed (its connection cache). */
    while ((cs = LIST_FIRST(&c->socks)) != NULL)
        curlev_sock_free(cs);
    if (c->ev_timer != NULL)
        event_free(c->ev_timer);
    xfree(c);
    curl_global_cleanup();
}
