/*
 * http_guard: connection and request admission for http's evhttp servers
 * (http_guard.h says what is limited; ratelimit.c keeps the sources).
 *
 * libevent 2.1's evhttp has no hook for a new connection: it accepts,
 * builds its connection and starts reading, all inside its listener's
 * callback. What it does offer is a callback that makes the connection's
 * bufferevent (evhttp_set_bevcb). The guard makes that bufferevent, notes
 * it as pending and activates one event; that event runs in the same
 * loop iteration, after the listener's callback and before any read on
 * the new socket, and judges every pending connection: its peer, the
 * caps, then either evhttp_connection_free (refused: the client sees the
 * close at once) or the guard's close hook and the request deadline
 * (admitted).
 *
 * Between the two, evhttp points the bufferevent's callback argument at
 * its connection (as every 2.x release does), which is how the guard
 * finds the evhttp_connection; a reference on the bufferevent keeps it
 * valid to look at even if evhttp dropped the connection meanwhile (then
 * the callbacks are cleared and the guard lets it go).
 *
 * Each admitted connection has one struct http_guard_conn, found from
 * its evhttp_connection through a small hash, holding what it counts
 * against (the source's entry) and its deadline timer.
 */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/resource.h>
#include <sys/random.h>
#include <sys/socket.h>

#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "alloc.h"
#include "config.h"
#include "http_guard.h"
#include "log.h"
#include "metrics.h"
#include "util.h"

/* File descriptors kept for everything but HTTP connections: Redis,
 * curl's transfers, logs, the web inbox's files. */
#define HTTP_GUARD_FD_RESERVE   64
/* Forwarding header lines looked at, and addresses walked back. */
#define HTTP_GUARD_XFF_HEADERS  8
#define HTTP_GUARD_XFF_HOPS     16
/* Lines about limited sources per log interval, over all sources. */
#define HTTP_GUARD_LOG_LINES    20

/* Why a connection or a request was turned away: the metric's label. */
enum http_guard_reason {
    HTTP_GUARD_R_CONNECTIONS,       /* http.max_connections */
    HTTP_GUARD_R_SOURCE_CONNS,      /* <listener>.sources.connections */
    HTTP_GUARD_R_SOURCE_STREAMS,    /* http.sources.streams */
    HTTP_GUARD_R_RATE,              /* <listener>.sources.rate, burst */
    HTTP_GUARD_R_REQUEST_TIMEOUT,   /* http.request_timeout */
    HTTP_GUARD_R_COUNT_,
};

static const struct {
    const char *label;
    const char *text;
} http_guard_reasons[HTTP_GUARD_R_COUNT_] = {
    [HTTP_GUARD_R_CONNECTIONS] = { "connections",
        "connection closed: http.max_connections are open" },
    [HTTP_GUARD_R_SOURCE_CONNS] = { "source_connections",
        "connection closed: the source has its limit open" },
    [HTTP_GUARD_R_SOURCE_STREAMS] = { "source_streams",
        "event stream refused: the source has its limit open" },
    [HTTP_GUARD_R_RATE] = { "rate",
        "request refused (429): over the source's rate" },
    [HTTP_GUARD_R_REQUEST_TIMEOUT] = { "request_timeout",
        "connection closed: no whole request within http.request_timeout" },
};

static const char *const http_guard_listeners[RATELIMIT_NLISTENER] = {
    [RATELIMIT_API] = "api",
    [RATELIMIT_WEB] = "web",
};

/* One connection, from accept to close. */
struct http_guard_conn {
    struct http_guard *g;
    struct http_guard_conn *next;       /* pending list, then hash chain */
    struct evhttp_connection *evcon;    /* NULL while pending */
    struct bufferevent *bev;            /* referenced while pending */
    enum ratelimit_listener l;
    struct ratelimit_key addr;          /* the peer, whole */
    struct ratelimit_key key;           /* the peer as a source (cut) */
    uint32_t gen;                       /* the config of the flags below */
    bool exempt;                        /* peer in http.sources.exempt */
    bool proxy;                         /* peer in http.trusted_proxies */
    bool stream;                        /* an event stream now */
    uint32_t entry;                     /* connection counted here */
    uint32_t stream_entry;              /* stream counted here */
    http_guard_close_fn *closecb;       /* the stream's hook */
    void *closearg;
    struct event *deadline;             /* in the same allocation */
};

/* The argument of one server's bufferevent callback. */
struct http_guard_listener {
    struct http_guard *g;
    enum ratelimit_listener l;
    bool attached;
};

struct http_guard {
    struct event_base *base;
    struct metrics *metrics;
    struct config *cfg;             /* reference: lists and limits */
    uint32_t gen;                   /* bumped by every apply */
    struct ratelimit *rl;
    struct http_guard_listener listeners[RATELIMIT_NLISTENER];
    /* In force, from cfg and the process's limits. */
    struct config_source_limits limits[RATELIMIT_NLISTENER];
    uint32_t max_conns;
    uint32_t fd_cap;                /* what RLIMIT_NOFILE leaves */
    const struct timeval *deadline_tv;
    struct timeval deadline_plain;
    int64_t deadline_ms;
    /* Connections. */
    unsigned open[RATELIMIT_NLISTENER];
    unsigned total;
    struct event *admit_ev;
    struct http_guard_conn *pending, *pending_tail;
    struct http_guard_conn **chains;
    unsigned chain_bits;
    /* The log's budget over all sources. */
    int64_t log_window_ms;
    unsigned log_lines;
};

static int64_t
http_guard_now(void)
{
    return util_mono_us() / 1000;
}

/* --------------------------------------------------- connection registry */

static struct http_guard_conn **
http_guard_chain(struct http_guard *g, const struct evhttp_connection *evcon)
{
    uint64_t h = (uint64_t)(uintptr_t)evcon * 0x9e3779b97f4a7c15ULL;

    return &g->chains[h >> (64 - g->chain_bits)];
}

static struct http_guard_conn *
http_guard_find(struct http_guard *g, const struct evhttp_connection *evcon)
{
    struct http_guard_conn *c;

    if (evcon == NULL)
        return NULL;
    for (c = *http_guard_chain(g, evcon); c != NULL; c = c->next)
        if (c->evcon == evcon)
            return c;
    return NULL;
}

static void
http_guard_unlink(struct http_guard *g, struct http_guard_conn *c)
{
    struct http_guard_conn **link = http_guard_chain(g, c->evcon);

    while (*link != NULL && *link != c)
        link = &(*link)->next;
    if (*link == c)
        *link = c->next;
}

/* ---------------------------------------------------------------- sources */

/* The peer's flags and source under the config in force. */
static void
http_guard_classify(struct http_guard *g, struct http_guard_conn *c)
{
    const struct config *cfg = g->cfg;

    c->exempt = ratelimit_cidr_match(cfg->http.sources.exempt,
        cfg->http.sources.nexempt, &c->addr);
    c->proxy = ratelimit_cidr_match(cfg->http.trusted_proxies,
        cfg->http.ntrusted_proxies, &c->addr);
    c->key = c->addr;
    ratelimit_key_cut(&c->key, (unsigned)cfg->http.sources.ipv6_prefix);
    c->gen = g->gen;
}

/*
 * The client behind a trusted proxy, named in the header that
 * http.forwarded_header says our proxies write (ratelimit_forwarded
 * walks it; the other header is whatever the client wrote, ignored).
 * -1: no usable header, or more lines of it than a proxy chain writes.
 */
static int
http_guard_forwarded(struct http_guard *g, struct evhttp_request *req,
    struct ratelimit_key *out)
{
    const struct config *cfg = g->cfg;
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *vals[HTTP_GUARD_XFF_HEADERS];
    enum ratelimit_fwd kind =
        strcmp(cfg->http.forwarded_header, "forwarded") == 0 ?
        RATELIMIT_FWD_FORWARDED : RATELIMIT_FWD_XFF;
    const char *name = kind == RATELIMIT_FWD_FORWARDED ? "Forwarded" :
        "X-Forwarded-For";
    struct evkeyval *h;
    size_t nv = 0;

    for (h = in->tqh_first; h != NULL; h = h->next.tqe_next) {
        if (strcasecmp(h->key, name) != 0)
            continue;
        if (nv == nitems(vals))
            return -1;
        vals[nv++] = h->value;
    }
    return ratelimit_forwarded(kind, vals, nv,
        cfg->http.trusted_proxies, cfg->http.ntrusted_proxies,
        HTTP_GUARD_XFF_HOPS, out);
}

/*
 * The entry req counts against: the peer's own (pinned while it is
 * connected) or, behind a trusted proxy, the forwarded client's, whose
 * source goes to *k. NONE when the source is exempt.
 */
static uint32_t
http_guard_source(struct http_guard *g, struct http_guard_conn *c,
    struct evhttp_request *req, int64_t now, struct ratelimit_key *k)
{
    const struct config *cfg = g->cfg;

    if (c->gen != g->gen)
        http_guard_classify(g, c);
    if (c->proxy && http_guard_forwarded(g, req, k) == 0) {
        if (ratelimit_cidr_match(cfg->http.sources.exempt,
            cfg->http.sources.nexempt, k))
            return RATELIMIT_NONE;
        ratelimit_key_cut(k, (unsigned)cfg->http.sources.ipv6_prefix);
        return ratelimit_get(g->rl, k, now);
    }
    *k = c->key;
    if (c->exempt)
        return RATELIMIT_NONE;
    if (c->entry != RATELIMIT_NONE)
        return c->entry;
    return ratelimit_get(g->rl, &c->key, now);
}

/* ---------------------------------------------------------------- notes */

/*
 * Count a refusal, and log it unless this source was logged within the
 * interval (then it is counted in the next line about it) or the
 * interval's lines over all sources are spent.
 */
static void
http_guard_note(struct http_guard *g, enum ratelimit_listener l,
    const struct ratelimit_key *key, uint32_t id, enum http_guard_reason r,
    int64_t now)
{
    int64_t interval = g->cfg->http.sources.log_interval_ms;
    char addr[RATELIMIT_ADDRSTRLEN];
    struct ratelimit_note *n;
    uint32_t more;

    metrics_add2(g->metrics, "inboxd_http_limited_total", "listener",
        http_guard_listeners[l], "reason", http_guard_reasons[r].label, 1);
    if (id == RATELIMIT_NONE && (id = ratelimit_get(g->rl, key, now)) ==
        RATELIMIT_NONE)
        return;
    n = ratelimit_note(g->rl, id);
    if (n->logged_ms != 0 && now - n->logged_ms < interval) {
        n->unlogged++;
        return;
    }
    if (now - g->log_window_ms >= interval) {
        g->log_window_ms = now;
        g->log_lines = 0;
    }
    if (g->log_lines >= HTTP_GUARD_LOG_LINES) {
        if (g->log_lines++ == HTTP_GUARD_LOG_LINES)
            log_warnx("more sources limited; no more lines "
                "until the next interval (see inboxd_http_limited_total)");
        n->unlogged++;
        return;
    }
    g->log_lines++;
    more = n->unlogged;
    n->unlogged = 0;
    n->logged_ms = now;
    ratelimit_key_format(key, (unsigned)g->cfg->http.sources.ipv6_prefix,
        addr, sizeof(addr));
    log_warnx("%s on %s: %s (%u more since the last line)",
        addr, http_guard_listeners[l], http_guard_reasons[r].text, more);
}

/* ----------------------------------------------------------- lifecycle */

/* The connection is going: undo its counts and forget it. */
static void
http_guard_conn_gone(struct http_guard_conn *c)
{
    struct http_guard *g = c->g;
    int64_t now = http_guard_now();

    if (c->closecb != NULL)
        c->closecb(c->evcon, c->closearg);
    if (c->entry != RATELIMIT_NONE)
        ratelimit_conn_close(g->rl, c->entry, c->l, now);
    if (c->stream_entry != RATELIMIT_NONE)
        ratelimit_stream_close(g->rl, c->stream_entry, now);
    event_del(c->deadline);
    http_guard_unlink(g, c);
    g->open[c->l]--;
    g->total--;
    xfree(c);
}

/* evhttp is freeing the connection (client gone, timeout, reply with
 * close, server freed). */
static void
http_guard_close_cb(struct evhttp_connection *evcon, void *arg)
{
    (void)evcon;
    http_guard_conn_gone(arg);
}

/* No whole request in time: close it. */
static void
http_guard_deadline_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_guard_conn *c = arg;
    struct evhttp_connection *evcon = c->evcon;
    struct http_guard *g = c->g;

    (void)fd;
    (void)what;
    http_guard_note(g, c->l, &c->key, c->entry,
        HTTP_GUARD_R_REQUEST_TIMEOUT, http_guard_now());
    /* Let go first, then free: evhttp will not call back. */
    evhttp_connection_set_closecb(evcon, NULL, NULL);
    http_guard_conn_gone(c);
    evhttp_connection_free(evcon);
}

static void
http_guard_arm(struct http_guard *g, struct http_guard_conn *c)
{
    event_add(c->deadline, g->deadline_tv);
}

/* A pending connection's turn: admit it or close it. */
static void
http_guard_admit(struct http_guard *g, struct http_guard_conn *c)
{
    struct bufferevent *bev = c->bev;
    struct config_source_limits *lim = &g->limits[c->l];
    struct sockaddr_storage ss;
    socklen_t sslen = sizeof(ss);
    int64_t now = http_guard_now();
    enum http_guard_reason r = HTTP_GUARD_R_COUNT_;
    uint32_t id = RATELIMIT_NONE;
    void *arg = NULL;
    evutil_socket_t fd;

    c->bev = NULL;
    bufferevent_getcb(bev, NULL, NULL, NULL, &arg);
    if (arg == NULL) {
        /* evhttp has dropped it already. */
        goto forget;
    }
    c->evcon = arg;
    if ((fd = bufferevent_getfd(bev)) < 0 || getpeername(fd,
        (struct sockaddr *)&ss, &sslen) == -1 ||
        ratelimit_key_from_sockaddr((struct sockaddr *)&ss, &c->addr) ==
        -1) {
        /* Gone before we looked (ENOTCONN): nothing to serve. */
        evhttp_connection_free(c->evcon);
        goto forget;
    }
    http_guard_classify(g, c);
    if (g->total >= g->max_conns) {
        r = HTTP_GUARD_R_CONNECTIONS;
    } else if (!c->exempt && !c->proxy) {
        /* A proxy's connections carry many clients; its own limits
         * apply to them, and X-Forwarded-For to their requests. */
        id = ratelimit_get(g->rl, &c->key, now);
        if (id == RATELIMIT_NONE)
            r = HTTP_GUARD_R_CONNECTIONS;   /* cannot be: see config */
        else if (!ratelimit_conn_open(g->rl, id, c->l,
            (uint32_t)lim->connections))
            r = HTTP_GUARD_R_SOURCE_CONNS;
    }
    if (r != HTTP_GUARD_R_COUNT_) {
        http_guard_note(g, c->l, &c->key, id, r, now);
        evhttp_connection_free(c->evcon);
        goto forget;
    }
    c->entry = id;
    c->next = *http_guard_chain(g, c->evcon);
    *http_guard_chain(g, c->evcon) = c;
    g->open[c->l]++;
    g->total++;
    evhttp_connection_set_closecb(c->evcon, http_guard_close_cb, c);
    http_guard_arm(g, c);
    bufferevent_decref(bev);
    return;

forget:
    bufferevent_decref(bev);
    xfree(c);
}

static void
http_guard_admit_cb(evutil_socket_t fd, short what, void *arg)
{
    struct http_guard *g = arg;
    struct http_guard_conn *c;

    (void)fd;
    (void)what;
    while ((c = g->pending) != NULL) {
        g->pending = c->next;
        if (g->pending == NULL)
            g->pending_tail = NULL;
        c->next = NULL;
        http_guard_admit(g, c);
    }
}

/*
 * evhttp accepted a connection and asks for its bufferevent: the same
 * kind it would make itself, noted for admission. Out of memory, the
 * connection goes unguarded rather than failing inside evhttp.
 */
static struct bufferevent *
http_guard_bev_cb(struct event_base *base, void *arg)
{
    struct http_guard_listener *ls = arg;
    struct http_guard *g = ls->g;
    size_t off = (sizeof(struct http_guard_conn) + 15) & ~(size_t)15;
    struct http_guard_conn *c;
    struct bufferevent *bev;

    if ((bev = bufferevent_socket_new(base, -1, 0)) == NULL)
        return NULL;
    if ((c = xcalloc(1, off + event_get_struct_event_size())) == NULL) {
        log_warnx("out of memory; a connection goes unguarded");
        return bev;
    }
    c->g = g;
    c->l = ls->l;
    c->entry = c->stream_entry = RATELIMIT_NONE;
    c->deadline = (struct event *)(void *)((char *)c + off);
    event_assign(c->deadline, base, -1, 0, http_guard_deadline_cb, c);
    bufferevent_incref(bev);
    c->bev = bev;
    if (g->pending_tail != NULL)
        g->pending_tail->next = c;
    else
        g->pending = c;
    g->pending_tail = c;
    event_active(g->admit_ev, EV_TIMEOUT, 0);
    return bev;
}

/* -------------------------------------------------------------- requests */

static void
http_guard_done_cb(struct evhttp_request *req, void *arg)
{
    http_guard_reply_done(arg, req);
}

enum http_guard_verdict
http_guard_request(struct http_guard *g, struct evhttp_request *req,
    int64_t *retry_ms)
{
    struct http_guard_conn *c = http_guard_find(g,
        evhttp_request_get_connection(req));
    const struct config_source_limits *lim;
    struct ratelimit_key k;
    int64_t now, wait;
    uint32_t id;

    if (c == NULL)
        return HTTP_GUARD_OK;
    event_del(c->deadline);
    evhttp_request_set_on_complete_cb(req, http_guard_done_cb, g);
    lim = &g->limits[c->l];
    if (lim->rate == 0)
        return HTTP_GUARD_OK;
    now = http_guard_now();
    if ((id = http_guard_source(g, c, req, now, &k)) == RATELIMIT_NONE)
        return HTTP_GUARD_OK;
    wait = ratelimit_take(g->rl, id, c->l, (uint32_t)lim->rate,
        (uint32_t)lim->burst, now);
    if (wait == 0)
        return HTTP_GUARD_OK;
    http_guard_note(g, c->l, &k, id, HTTP_GUARD_R_RATE, now);
    *retry_ms = wait;
    return HTTP_GUARD_RATE;
}

void
http_guard_reply_done(struct http_guard *g, struct evhttp_request *req)
{
    struct http_guard_conn *c = http_guard_find(g,
        evhttp_request_get_connection(req));

    if (c != NULL && !c->stream)
        http_guard_arm(g, c);
}

bool
http_guard_stream_allowed(struct http_guard *g, struct evhttp_request *req)
{
    struct http_guard_conn *c = http_guard_find(g,
        evhttp_request_get_connection(req));
    int64_t now = http_guard_now();
    uint32_t max = (uint32_t)g->cfg->http.sources.streams, id;
    struct ratelimit_key k;

    if (c == NULL || max == 0 ||
        (id = http_guard_source(g, c, req, now, &k)) == RATELIMIT_NONE)
        return true;
    /* Open and close at once: the count is what matters. */
    if (ratelimit_stream_open(g->rl, id, max)) {
        ratelimit_stream_close(g->rl, id, now);
        return true;
    }
    http_guard_note(g, c->l, &k, id, HTTP_GUARD_R_SOURCE_STREAMS, now);
    return false;
}

void
http_guard_stream_begin(struct http_guard *g, struct evhttp_request *req,
    http_guard_close_fn *fn, void *arg)
{
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct http_guard_conn *c = http_guard_find(g, evcon);
    int64_t now = http_guard_now();
    struct ratelimit_key k;
    uint32_t id;

    if (c == NULL) {
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    if ((id = http_guard_source(g, c, req, now, &k)) != RATELIMIT_NONE) {
        ratelimit_stream_open(g->rl, id, 0);
        c->stream_entry = id;
    }
    /* After the stream's count, so a shared entry stays pinned. */
    if (c->entry != RATELIMIT_NONE) {
        ratelimit_conn_close(g->rl, c->entry, c->l, now);
        c->entry = RATELIMIT_NONE;
    }
    c->stream = true;
    c->closecb = fn;
    c->closearg = arg;
}

void
http_guard_set_closecb(struct http_guard *g, struct evhttp_connection *evcon,
    http_guard_close_fn *fn, void *arg)
{
    struct http_guard_conn *c = http_guard_find(g, evcon);

    if (c == NULL) {
        evhttp_connection_set_closecb(evcon, fn, arg);
        return;
    }
    c->closecb = fn;
    c->closearg = arg;
}

/* ---------------------------------------------------------------- config */

static const struct metrics_family_decl http_guard_metric_families[] = {
    {"inboxd_http_limited_total", METRICS_COUNTER,
        "Connections closed and requests refused by the limits, by "
        "listener and reason."},
    {"inboxd_http_connections", METRICS_GAUGE,
        "HTTP connections open, by listener."},
    {"inboxd_http_sources", METRICS_GAUGE,
        "Client sources tracked for the per-source limits."},
    {"inboxd_http_sources_evicted_total", METRICS_COUNTER,
        "Idle sources forgotten to make room for new ones."},
};

/* Connections this process can hold: RLIMIT_NOFILE less a reserve. */
static uint32_t
http_guard_fd_cap(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) == -1 || rl.rlim_cur == RLIM_INFINITY
        || rl.rlim_cur > UINT32_MAX)
        return UINT32_MAX;
    if (rl.rlim_cur <= 2 * HTTP_GUARD_FD_RESERVE)
        return (uint32_t)rl.rlim_cur / 2;
    return (uint32_t)rl.rlim_cur - HTTP_GUARD_FD_RESERVE;
}

void
http_guard_apply(struct http_guard *g, struct config *cfg)
{
    struct ratelimit_stats st;
    uint64_t max = (uint64_t)cfg->http.max_connections;

    config_ref(cfg);
    config_unref(g->cfg);
    g->cfg = cfg;
    g->gen++;
    g->limits[RATELIMIT_API] = cfg->http.sources.limits;
    g->limits[RATELIMIT_WEB] = cfg->web.sources;
    ratelimit_stats(g->rl, &st);
    if (max > g->fd_cap) {
        log_warnx("http.max_connections %llu is above what "
            "the open files limit leaves (%u): using %u",
            (unsigned long long)max, g->fd_cap, g->fd_cap);
        max = g->fd_cap;
    }
    /* A reload may not outgrow the table (sized at start). */
    if (max >= st.capacity)
        max = st.capacity - 1;
    g->max_conns = (uint32_t)max;
    if (g->deadline_ms != cfg->http.request_timeout_ms) {
        g->deadline_ms = cfg->http.request_timeout_ms;
        g->deadline_plain.tv_sec = (time_t)(g->deadline_ms / 1000);
        g->deadline_plain.tv_usec = (suseconds_t)(g->deadline_ms % 1000) *
            1000;
        /* Every deadline has the same length: a common timeout keeps
         * them in a list, O(1) to add, instead of the timer heap. */
        g->deadline_tv = event_base_init_common_timeout(g->base,
            &g->deadline_plain);
        if (g->deadline_tv == NULL)
            g->deadline_tv = &g->deadline_plain;
    }
}

struct http_guard *
http_guard_new(struct event_base *base, struct metrics *m,
    struct config *cfg)
{
    unsigned char seed[16];
    struct http_guard *g;
    uint64_t want;

    if ((g = xcalloc(1, sizeof(*g))) == NULL)
        goto oom;
    g->base = base;
    g->metrics = m;
    g->fd_cap = http_guard_fd_cap();
    /* An unpredictable key for the source table's hash. */
    if (getrandom(seed, sizeof(seed), 0) != (ssize_t)sizeof(seed)) {
        log_warn("getrandom");
        goto fail;
    }
    g->rl = ratelimit_new((uint32_t)cfg->http.sources.max_tracked, seed);
    explicit_bzero(seed, sizeof(seed));
    if (g->rl == NULL)
        goto oom;
    want = (uint64_t)cfg->http.max_connections;
    if (want > g->fd_cap)
        want = g->fd_cap;
    for (g->chain_bits = 6; g->chain_bits < 24 &&
        (1ULL << g->chain_bits) < want; g->chain_bits++)
        ;
    g->chains = xcalloc((size_t)1 << g->chain_bits, sizeof(*g->chains));
    g->admit_ev = event_new(base, -1, 0, http_guard_admit_cb, g);
    if (g->chains == NULL || g->admit_ev == NULL)
        goto oom;
    for (int l = 0; l < RATELIMIT_NLISTENER; l++) {
        g->listeners[l].g = g;
        g->listeners[l].l = (enum ratelimit_listener)l;
    }
    g->deadline_ms = -1;
    http_guard_apply(g, cfg);
    metrics_declare_all(m, http_guard_metric_families,
        nitems(http_guard_metric_families));
    return g;
oom:
    log_error("out of memory");
fail:
    http_guard_free(g);
    return NULL;
}

void
http_guard_attach(struct http_guard *g, struct evhttp *srv,
    enum ratelimit_listener l)
{
    g->listeners[l].attached = true;
    evhttp_set_bevcb(srv, http_guard_bev_cb, &g->listeners[l]);
}

void
http_guard_update_metrics(struct http_guard *g)
{
    struct ratelimit_stats st;

    for (int l = 0; l < RATELIMIT_NLISTENER; l++)
        if (g->listeners[l].attached)
            metrics_set(g->metrics, "inboxd_http_connections", "listener",
                http_guard_listeners[l], g->open[l]);
    ratelimit_stats(g->rl, &st);
    metrics_set(g->metrics, "inboxd_http_sources", NULL, NULL, st.used);
    metrics_set(g->metrics, "inboxd_http_sources_evicted_total", NULL, NULL,
        (double)st.evicted);
}

/*
 * After the servers are freed: their connections have all closed
 * through the guard by then. What is still pending holds a reference.
 */
void
http_guard_free(struct http_guard *g)
{
    struct http_guard_conn *c;

    if (g == NULL)
        return;
    while ((c = g->pending) != NULL) {
        g->pending = c->next;
        bufferevent_decref(c->bev);
        xfree(c);
    }
    if (g->admit_ev != NULL)
        event_free(g->admit_ev);
    xfree(g->chains);
    ratelimit_free(g->rl);
    config_unref(g->cfg);
    xfree(g);
}
