/*
 * http_guard: admission for inboxd's evhttp servers. Every connection is
 * counted against http.max_connections (all listeners) and against its
 * source's cap for the listener; one over is closed at once. Every
 * request takes a token from its source's bucket; one over is answered
 * 429 by http. A connection must deliver each whole request (headers and
 * body) within http.request_timeout of being ready for it, or it is
 * closed: a client that trickles bytes to dodge the idle timeout holds a
 * connection for that long at most. Event streams are counted apart,
 * under their own per-source cap. The sources live in a bounded table
 * (ratelimit.h); behind a reverse proxy listed in http.trusted_proxies
 * the source of a request is taken from X-Forwarded-For.
 *
 * Limits are counted in /metrics per listener and reason, never per
 * address, and logged at most once per source per
 * http.sources.log_interval. docs/security.md tells the threats,
 * docs/config.md the keys, docs/operations.md what an operator sees.
 */
#ifndef INBOXD_HTTP_GUARD_H
#define INBOXD_HTTP_GUARD_H

#include <stdbool.h>
#include <stdint.h>

#include "ratelimit.h"

struct config;
struct event_base;
struct evhttp;
struct evhttp_connection;
struct evhttp_request;
struct http_guard;
struct metrics;

enum http_guard_verdict {
    HTTP_GUARD_OK,
    HTTP_GUARD_RATE,        /* over the source's request rate */
};

/* A connection's close hook, as evhttp_connection_set_closecb takes. */
typedef void http_guard_close_fn(struct evhttp_connection *evcon,
    void *arg);

/*
 * The guard for the servers on base, with the limits of cfg (a reference
 * is taken) and its counters in m (borrowed for the guard's life). The
 * source table's size is fixed here (http.sources.max_tracked). NULL when
 * out of memory (logged).
 */
struct http_guard *http_guard_new(struct event_base *base,
    struct metrics *m, struct config *cfg);

/* Take the limits of a new snapshot (reload); the old one is released. */
void http_guard_apply(struct http_guard *g, struct config *cfg);

/*
 * Guard every connection srv accepts from now on, as listener l. srv is
 * borrowed; free it (evhttp_free) before the guard.
 */
void http_guard_attach(struct http_guard *g, struct evhttp *srv,
    enum ratelimit_listener l);

/*
 * A request has been read whole and is about to be dispatched: its read
 * deadline stops, and one token is taken from its source. On
 * HTTP_GUARD_RATE, *retry_ms says when a token will be there; the caller
 * answers 429. Allocation-free, O(1).
 */
enum http_guard_verdict http_guard_request(struct http_guard *g,
    struct evhttp_request *req, int64_t *retry_ms);

/*
 * The reply to req has been written: the deadline for the connection's
 * next request starts. The guard sets this as req's on-complete callback
 * itself; a caller that replaces it (to learn of the write) calls this.
 */
void http_guard_reply_done(struct http_guard *g, struct evhttp_request *req);

/*
 * May req become an event stream, or has its source as many open as
 * http.sources.streams allows? Then http_guard_stream_begin, before
 * anything else happens on the loop, counts it as a stream instead of a
 * connection and sets its close hook (see http_guard_set_closecb).
 */
bool http_guard_stream_allowed(struct http_guard *g,
    struct evhttp_request *req);
void http_guard_stream_begin(struct http_guard *g,
    struct evhttp_request *req, http_guard_close_fn *fn, void *arg);

/*
 * The close hook of a guarded connection, which the guard owns in evhttp
 * (evhttp_connection_set_closecb must not be called on it): fn(evcon,
 * arg) runs first when the connection closes. fn NULL clears it.
 */
void http_guard_set_closecb(struct http_guard *g,
    struct evhttp_connection *evcon, http_guard_close_fn *fn, void *arg);

/* Refresh the gauges (open connections, sources tracked) in metrics. */
void http_guard_update_metrics(struct http_guard *g);

void http_guard_free(struct http_guard *g);

#endif
