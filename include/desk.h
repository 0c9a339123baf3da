/*
 * desk: the responders' side of the queues. Agents claim items (a lease
 * that expires), act on them (reply, note, label, reassign, escalate,
 * hide, unhide, resolve, reopen, release), mark themselves away, and
 * leads read the team's figures. Every decision is made in Redis by the
 * queue module's desk script (docs/redis.md, "The desk"), so that any
 * number of inboxd processes sharing one Redis agree on who holds what.
 *
 * http authenticates the /v1 responder routes and hands each request
 * over whole (docs/api.md, "Responders"); the answer comes back through
 * a callback once Redis has answered. A timer sweeps every second:
 * expired leases go back to their queue and new items are taken in.
 */
#ifndef INBOXD_DESK_H
#define INBOXD_DESK_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "config.h"

struct daemon;
struct desk;
struct metrics;

enum desk_method {
    DESK_GET = 0,
    DESK_POST,
    DESK_DELETE,
};

/* One request; every pointer borrowed for the desk_handle call. */
struct desk_request {
    enum desk_method method;
    const char *path;           /* "/v1/items/<id>/reply", percent-encoded */
    const char *actor;          /* the token's name: the agent */
    enum config_role role;      /* agent, lead or admin */
    const char *body;           /* the JSON body; NULL or len 0: none */
    size_t len;
};

/* The answer; borrowed for the callback only. */
struct desk_reply {
    int status;                 /* 200, 204, 400, 403, 404, 409, 500, 503 */
    json_t *body;               /* 200: the JSON answer */
    const char *code;           /* otherwise (not 204): the error's code */
    const char *message;        /* and its message, valid UTF-8 */
};

typedef void desk_reply_cb(const struct desk_reply *reply, void *arg);

/*
 * The desk of daemon d (borrowed; its queue, config and metrics are used
 * as they are at each request). Declares the desk's metric families.
 * NULL when memory runs out.
 */
struct desk *desk_new(struct daemon *d);

/* Start the sweep timer. */
int desk_start(struct desk *k);

/*
 * Free the desk. Requests still waiting for Redis are answered by the
 * queue (QUEUE_UNAVAILABLE) when it is freed, so free the queue first.
 * NULL is fine.
 */
void desk_free(struct desk *k);

/*
 * Handle one responder request. cb fires exactly once, possibly before
 * this returns (a bad request, Redis down). d->inflight counts the
 * request until then.
 */
void desk_handle(struct desk *k, const struct desk_request *req,
    desk_reply_cb *cb, void *arg);

/*
 * Canned replies (config canned:). A template is text with placeholders
 * {author_name}, {author_username}, {agent}, {platform}, {queue} and
 * {id}; "{{" and "}}" stand for "{" and "}". desk_template_check returns
 * NULL when tmpl is valid, else a static complaint naming the problem.
 */
const char *desk_template_check(const char *tmpl);

/*
 * Expand tmpl for item (the wire-model JSON, borrowed), the replying
 * agent and the item's queue (may be NULL). author_name falls back to
 * the author's username, then to "". Returns new text (xfree), or NULL
 * when tmpl is invalid or memory runs out.
 */
char *desk_expand(const char *tmpl, json_t *item, const char *agent,
    const char *queue);

/*
 * Decode one percent-encoded path segment of len bytes into out (outlen
 * bytes, NUL-terminated). -1 on a bad escape, an encoded NUL, or when it
 * does not fit.
 */
int desk_unescape(const char *in, size_t len, char *out, size_t outlen);

#endif
