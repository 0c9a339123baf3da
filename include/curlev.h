/*
 * curlev: outbound HTTP for the pollers and, later, the platform actions.
 * One libcurl multi handle driven by the daemon's libevent loop (socket
 * and timer callbacks, curl_multi_socket_action), so a request never
 * blocks the loop. The only module that sees libcurl.
 *
 * A request is described once (method, URL, headers, body, timeout,
 * response cap) and answered once: its completion callback fires exactly
 * once, from the loop, never from inside curlev_start; with
 * CURLEV_CANCELLED when curlev_cancel or curlev_free ends it first.
 * Whatever the server answered (any HTTP status) is CURLEV_OK with the
 * status; the other results are transport failures.
 *
 * URLs may carry secrets (the Telegram bot token is part of the path):
 * curlev never logs a URL, only the request's log name.
 */
#ifndef INBOXD_CURLEV_H
#define INBOXD_CURLEV_H

#include <stddef.h>
#include <stdint.h>

struct event_base;
struct curlev;
struct curlev_req;

enum curlev_result {
    CURLEV_OK = 0,          /* an HTTP response arrived, any status */
    CURLEV_TIMEOUT,         /* no complete response within timeout_ms */
    CURLEV_CONNECT,         /* name lookup, connect or TLS failed */
    CURLEV_TOO_LARGE,       /* the body passed max_response; cut off */
    CURLEV_CANCELLED,       /* curlev_cancel or curlev_free */
    CURLEV_FAILED,          /* any other transport failure */
};

/* "ok", "timeout", "connect", "too_large", "cancelled", "failed". */
const char *curlev_result_name(enum curlev_result res);

/* What to send; every pointer is copied by curlev_start. */
struct curlev_request {
    const char *method;         /* "GET", "POST", "PUT", "DELETE" */
    const char *url;            /* http:// or https:// only; never logged */
    const char *log_name;       /* for log lines ("telegram getUpdates") */
    /* "Name: value" lines, NULL-terminated; may be NULL. */
    const char *const *headers;
    const void *body;           /* may be NULL: no body */
    size_t len;
    int64_t timeout_ms;         /* whole transfer; <= 0: 30 s */
    size_t max_response;        /* body cap in bytes; 0: 8 MiB */
};

/* The answer; every pointer is borrowed for the callback only. */
struct curlev_response {
    enum curlev_result result;
    long status;                /* HTTP status when CURLEV_OK, else 0 */
    const char *body;           /* NUL-terminated, "" when none */
    size_t len;
    /* Retry-After in ms (seconds or an HTTP date), -1 when absent. */
    int64_t retry_after_ms;
    const char *error;          /* curl's reason for a failure, "" if ok */
    int64_t elapsed_ms;
};

typedef void curlev_done_cb(const struct curlev_response *resp, void *arg);

/* A client on base. NULL when libcurl cannot be set up (logged). */
struct curlev *curlev_new(struct event_base *base);

/*
 * Start a request. Returns its handle, valid until its callback has
 * returned, or NULL (logged; cb will not fire) when the request cannot be
 * built or the client is being freed. cb fires once, from the loop.
 */
struct curlev_req *curlev_start(struct curlev *c,
    const struct curlev_request *r, curlev_done_cb *cb, void *arg);

/*
 * End req now: its callback fires with CURLEV_CANCELLED before this
 * returns. Not for a request whose callback is running or has run.
 */
void curlev_cancel(struct curlev *c, struct curlev_req *req);

/* Requests started and not yet answered. */
unsigned curlev_pending(const struct curlev *c);

/*
 * Cancel every request (each callback fires once, CURLEV_CANCELLED, and
 * may not start new ones) and free the client. NULL is fine. Not from
 * inside one of its callbacks.
 */
void curlev_free(struct curlev *c);

#endif
