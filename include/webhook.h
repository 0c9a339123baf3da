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

#include <stddef.h>

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

/* Declare the webhook metric families (http_new). */
void webhook_declare_metrics(struct metrics *m);

#endif
