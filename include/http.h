/*
 * http: the evhttp server. Ingest (POST /v1/items), the platform webhook
 * routes (/webhooks/..., handed to the webhook module), health and
 * metrics; body and header caps, bearer-token auth, JSON errors.
 */
#ifndef INBOXD_HTTP_H
#define INBOXD_HTTP_H

struct daemon;
struct http;

/* Bind to the config's listen address. NULL on failure (logged). */
struct http *http_new(struct daemon *d);

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

void http_free(struct http *h);

#endif
