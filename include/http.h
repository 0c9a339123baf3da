/*
 * http: the evhttp server. Ingest (POST /v1/items), the platform webhook
 * routes (/webhooks/..., handed to the webhook module), health and
 * metrics; body and header caps, bearer-token auth, JSON errors.
 */
#ifndef INBOXD_HTTP_H
#define INBOXD_HTTP_H

#include <stdbool.h>

struct daemon;
struct evhttp_request;
struct http;

/*
 * A front for a second address: sees each request first and returns
 * true when it has answered it (or taken it over); false hands it on to
 * the routes. It may add output headers before declining. A request it
 * answers itself goes through http_admit first.
 */
typedef bool http_front_fn(struct evhttp_request *req, void *arg);

/* Bind to the config's listen address. NULL on failure (logged). */
struct http *http_new(struct daemon *d);

/*
 * Admit req against its source's request rate (http_guard.h): true to
 * go on; false after answering it 429 with Retry-After. Once per
 * request: the routes do it themselves.
 */
bool http_admit(struct http *h, struct evhttp_request *req);

/* Apply limits from the current config snapshot (after a reload). */
void http_apply_config(struct http *h);

/* Close the listening socket: no new connections. */
void http_stop_accepting(struct http *h);

/* Port actually bound (when the config asked for port 0). */
int http_port(const struct http *h);

/*
 * Replies handed to evhttp and not yet fully written (a drain waits for
 * them). A connection that fails mid-write may never report; the drain
 * deadline bounds that wait.
 */
unsigned http_unsent(const struct http *h);

/*
 * Listen on host:port too (once), with the same routes, auth and limits
 * as the main address: the web inbox's port (web.h). front (may be NULL)
 * and arg are borrowed for the server's life. The address closes with
 * http_stop_accepting and is freed with h. Returns the port bound (host's
 * port 0: the one the kernel chose), or -1 (logged).
 */
int http_listen_also(struct http *h, const char *host, int port,
    http_front_fn *front, void *arg);

void http_free(struct http *h);

#endif
