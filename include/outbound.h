/*
 * outbound: the platform half of a moderation action or a reply, as pure
 * code with no sockets. Given an action (hide, reply, ...) on a stored
 * item and the account's credentials, build the one HTTP request the
 * platform's API wants; given the platform's answer, say what happened:
 * done, try again later (and when), failed for good, or not known.
 *
 * One build and one answer function per platform family, next to that
 * family's inbound parser (conn_meta.c, conn_vk.c, conn_telegram.c,
 * conn_youtube.c); outbound.c holds the table that picks them, the
 * transport rules shared by all and the undo table. The executor
 * (actions.c) owns the sockets, Redis and the retries.
 * docs/connectors.md, "Outbound actions", has the calls per platform.
 */
#ifndef INBOXD_OUTBOUND_H
#define INBOXD_OUTBOUND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

enum outbound_type {
    OUTBOUND_HIDE = 0,      /* out of public view, reversibly */
    OUTBOUND_UNHIDE,
    OUTBOUND_DELETE,        /* removed (VK: restorable; others: not) */
    OUTBOUND_RESTORE,       /* undo of a VK delete */
    OUTBOUND_REPLY,         /* a public reply to a comment, or a DM
                               answering a DM */
    OUTBOUND_TYPE_COUNT_
};

/* "hide", ...; NULL for a bad value. */
const char *outbound_type_name(enum outbound_type t);
/* -1 when name is not a type. */
int outbound_type_from_name(const char *name);

/*
 * What the action acts on and with which rights. Every pointer is
 * borrowed for the call. item is the stored item's JSON (docs/item.md);
 * id is the action's own id (its entry in the actions stream), used
 * where a platform deduplicates retries (VK random_id and guid).
 */
struct outbound_action {
    enum outbound_type type;
    const char *id;
    const char *text;           /* REPLY only */
    json_t *item;
    /* The platform's API root, no trailing '/'. */
    const char *api_base;
    const char *token;          /* page, community or bot token; OAuth */
    const char *user_token;     /* VK: a moderator's token for wall.*Comment */
    const char *api_version;    /* VK "v" */
};

/* The request to send; owned by the struct, outbound_request_clear. */
struct outbound_request {
    const char *method;         /* static: "POST", "DELETE" */
    struct buf url;             /* may hold a secret: never logged */
    struct buf body;
    /* "Name: value" lines for curlev, NULL-terminated; hdr holds them. */
    const char *headers[3];
    char hdr[2][512];
    /*
     * The request as people may see it in the audit trail: method and
     * path with the parameters that say what was done, never a token
     * ("POST /123_456 is_hidden=true").
     */
    struct buf show;
    /*
     * Sending it twice does no harm: a hide is a hide, and VK drops a
     * second send with the same random_id or guid. When false, an answer
     * that never came leaves the action "uncertain", never re-sent by
     * itself (docs/connectors.md).
     */
    bool idempotent;
};

void outbound_request_init(struct outbound_request *r);
void outbound_request_clear(struct outbound_request *r);

enum outbound_verdict {
    OUTBOUND_DONE = 0,      /* the platform did it */
    OUTBOUND_RETRY,         /* not done; safe to send again later */
    OUTBOUND_FAILED,        /* not done and never will be as asked */
    OUTBOUND_UNCERTAIN,     /* may or may not be done; not re-sent */
};

/* "done", "retry", "failed", "uncertain". */
const char *outbound_verdict_name(enum outbound_verdict v);

/* What an answer (or its absence) means. */
struct outbound_result {
    enum outbound_verdict verdict;
    /* The platform asks for this pause (ms) before anything more on
     * the account (rate limits), -1 when it says nothing. */
    int64_t retry_after_ms;
    bool rate_limited;          /* a rate-limit signal, not a fault */
    /* Done: the new reply's or message's id, or "ok". Else the
     * platform's error, "<code>: <message>", printable ASCII. */
    char detail[256];
};

/*
 * Build the request for a. Returns 0, or -1 with err set ("unsupported:
 * telegram messages cannot be hidden", "item: conversation missing"): a
 * permanent failure, nothing to send.
 */
int outbound_build(const struct outbound_action *a, struct outbound_request *r,
    char *err, size_t errlen);

/*
 * Judge an HTTP answer (status and body) to the request built for a. The
 * platform's own signals win; then the status: 429 and 503 are "not
 * done, later"; other 5xx are "later" when the request was idempotent,
 * else "uncertain".
 */
void outbound_judge(const struct outbound_action *a, bool idempotent,
    long status, const char *body, size_t len, int64_t retry_after_ms,
    struct outbound_result *res);

/*
 * No answer: the connection could not be made (nothing was sent: retry),
 * or it broke or timed out after sending (retry only when idempotent).
 */
void outbound_judge_transport(bool connected, bool idempotent,
    const char *why, struct outbound_result *res);

/*
 * The action that undoes type on platform, or -1 with why set when
 * there is none ("youtube: a rejected comment cannot be published
 * again").
 */
int outbound_undo(const char *platform, enum outbound_type type,
    const char **why);

/*
 * The platform:type pairs whose requests are not idempotent, comma
 * separated ("facebook:reply,..."): exactly those outbound_build marks
 * so. Redis is told, so that an action of these whose sender died is
 * left uncertain rather than sent again.
 */
extern const char outbound_nonidempotent[];

/* Per family, for outbound.c's table. */
int meta_out_build(const struct outbound_action *a, bool instagram,
    struct outbound_request *r, char *err, size_t errlen);
void meta_out_judge(long status, json_t *body, struct outbound_result *res);
int vk_out_build(const struct outbound_action *a, struct outbound_request *r,
    char *err, size_t errlen);
void vk_out_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res);
int telegram_out_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen);
void telegram_out_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res);
int youtube_out_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen);
void youtube_out_judge(long status, json_t *body, struct outbound_result *res);

/* Helpers the families share (outbound.c). */
const char *outbound_item_str(json_t *item, const char *path);
int outbound_form(struct buf *b, const char *name, const char *value);
void outbound_detail(struct outbound_result *res, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void outbound_bearer(struct outbound_request *r, const char *token);
/* Take body (a reference) as the JSON request body; -1 with err set. */
int outbound_json_body(struct outbound_request *r, json_t *body, char *err,
    size_t errlen);

#endif
