/*
 * webhook: platform webhook deliveries, from the raw request to the
 * platform's answer. http hands over the bytes and the headers that
 * matter; this module authenticates the delivery and parses it
 * (connector.h), applies every event through the pipeline (new items,
 * edits, restores, deletes, hides; ignored events are only counted),
 * keeps what it could not understand in the dead-letter stream, and
 * answers through a callback once Redis has answered every write.
 * docs/connectors.md ("Wiring") has the routes and the answers.
 */
#ifndef INBOXD_WEBHOOK_H
#define INBOXD_WEBHOOK_H

#include <stdbool.h>
#include <stddef.h>

#include "pipeline.h"

struct connector_events;
struct daemon;
struct metrics;

/* Which webhook route a delivery came in on. */
enum webhook_source {
    WEBHOOK_META = 0,       /* POST /webhooks/meta: Facebook, Instagram */
    WEBHOOK_VK,             /* POST /webhooks/vk: VK Callback API */
    WEBHOOK_TELEGRAM,       /* POST /webhooks/telegram/<account id> */
};

/* "meta", "vk", "telegram": the platform label of the webhook metrics. */
const char *webhook_source_name(enum webhook_source src);

/* One delivery; every pointer borrowed for the webhook_deliver call. */
struct webhook_request {
    enum webhook_source source;
    const char *body;           /* the raw bytes as received */
    size_t len;
    const char *signature;      /* Meta: X-Hub-Signature-256; NULL absent */
    const char *secret_token;   /* Telegram: X-Telegram-Bot-Api-Secret-
                                   Token; NULL absent */
    const char *account;        /* Telegram: the account id in the path */
    const char *retry;          /* VK: X-Retry-Counter; NULL absent */
};

/* The answer for the platform; borrowed for the callback only. */
struct webhook_reply {
    int status;                 /* 200, 400, 401, 403, 404, 500, 503 */
    const char *text;           /* 200: the whole text/plain body ("" for
                                   none) */
    const char *code;           /* otherwise: the JSON error's code */
    const char *message;        /* and its message */
};

typedef void webhook_reply_cb(const struct webhook_reply *reply, void *arg);

/*
 * Authenticate, parse and apply one delivery with the current config's
 * accounts. cb fires exactly once, possibly before this returns (a
 * rejected delivery, one with nothing to store, Redis down). The 200
 * answer comes only after every write of the delivery was answered by
 * Redis; a failed write makes it 503 (unavailable) or 500, so that the
 * platform sends the delivery again, which is safe: every write is
 * idempotent by item id.
 */
void webhook_deliver(struct daemon *d, const struct webhook_request *req,
    webhook_reply_cb *cb, void *arg);

/*
 * The Meta subscription handshake (GET /webhooks/meta): mode, token and
 * challenge are hub.mode, hub.verify_token and hub.challenge (NULL when
 * absent). Returns challenge when the token is some Meta account's
 * verify_token: answer 200 with it as the whole body. NULL: answer 403
 * (counted here).
 */
const char *webhook_meta_handshake(struct daemon *d, const char *mode,
    const char *token, const char *challenge);

/*
 * A batch of parsed events, from a webhook delivery or a poll (poller.c):
 * what webhook_apply_batch needs besides the events. Every pointer is
 * borrowed for the call.
 */
struct webhook_batch {
    const char *platform;       /* metric label and dead-letter platform
                                   ("meta", "telegram", "youtube"); static */
    bool polled;                /* count in inboxd_poll_* families instead
                                   of inboxd_webhook_* */
    int rc;                     /* the parser's return value */
    const char *err;            /* its reason when rc is -1 */
    const char *body;           /* the raw bytes: the dead letter's body */
    size_t len;
    const char *account;        /* dead-letter fields; may be NULL */
    const char *delivery;
};

/*
 * Called once when every write of a batch was answered: PIPELINE_STORED
 * when every one succeeded (duplicates and ignored events included),
 * PIPELINE_UNAVAILABLE or PIPELINE_ERROR when some failed; writes is how
 * many were sent.
 */
typedef void webhook_batch_cb(enum pipeline_result res, unsigned writes,
    void *arg);

/*
 * Apply events through the pipeline, in order, as a delivery's are (see
 * the top of webhook.c): new items, edits, restores, marks; ignored ones
 * are counted. When b->rc is -1 the body also goes to the dead-letter
 * stream with b->err. Takes the events (the list is left empty). cb fires
 * exactly once, possibly before this returns (Redis down, nothing to
 * write).
 */
void webhook_apply_batch(struct daemon *d, const struct webhook_batch *b,
    struct connector_events *events, webhook_batch_cb *cb, void *arg);

/* Declare the webhook metric families (http_new), the poll_* ones too. */
void webhook_declare_metrics(struct metrics *m);

#endif
