/*
 * connector: the inbound half of the platform connectors, as pure code
 * with no sockets: checking that a webhook really comes from the platform,
 * and turning its payload (or a polled API response) into events about
 * normalized items. docs/connectors.md has the field mapping per platform.
 *
 * One file per platform family: conn_meta.c (Facebook Pages, Messenger,
 * Instagram), conn_vk.c, conn_telegram.c, conn_youtube.c; conn_common.c
 * holds the event list. The HTTP server, Redis and the pollers call these.
 *
 * Order of use for a webhook: verify first, on the raw bytes, then parse
 * (docs/connectors.md shows the calls and answers for each platform).
 * Nothing is parsed before the signature or secret has been checked,
 * except for VK, whose secret sits inside the JSON body (vk_verify parses
 * the envelope only to read it, and acts on nothing else).
 *
 * Parse results. Every parse function *appends* to out and returns
 *   0   everything in the payload was understood (events may still be
 *       IGNORED: receipts, echoes, our own comments, unhandled types);
 *  -1   something was wrong. err names the first problem as
 *       "<json path>: <problem>" (plus " (+N more)" when there were
 *       several), fit for a dead-letter record and a log line; it is
 *       printable ASCII, with untrusted bytes replaced by '?'. The events
 *       that were understood are still in out and should be processed:
 *       one broken change in a batch of a hundred does not lose the other
 *       ninety-nine. A payload that is not JSON, or has the wrong envelope,
 *       adds nothing.
 * Allocation failure is reported the same way ("out of memory").
 *
 * Secrets and tokens are never logged or copied into err.
 */
#ifndef INBOXD_CONNECTOR_H
#define INBOXD_CONNECTOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "item.h"

/* Platform names, as used in item ids ("facebook:<native id>"). */
#define CONNECTOR_FACEBOOK  "facebook"
#define CONNECTOR_INSTAGRAM "instagram"
#define CONNECTOR_VK        "vk"
#define CONNECTOR_TELEGRAM  "telegram"
#define CONNECTOR_YOUTUBE   "youtube"

/* Most events one payload may yield (Meta batches up to 1000 updates). */
#define CONNECTOR_EVENTS_MAX 10000

/*
 * One configured page, IG professional account, VK community, Telegram bot
 * or YouTube channel. Built by config; every pointer is borrowed from the
 * config snapshot and must outlive the calls that use it (and the events,
 * which point back at their account). Unused fields are NULL.
 */
struct connector_account {
    const char *platform;       /* one of the CONNECTOR_* names */
    /*
     * Our own id on the platform: the Page id, the IG user id, the VK
     * group id (positive, decimal), the bot's user id (the number before
     * ':' in its token) or the YouTube channel id ("UC..."). It becomes
     * item.account.id, and authors with this id are "us".
     */
    const char *id;
    /*
     * Secrets, borrowed; never logged. Meta: app_secret is the HMAC key
     * of X-Hub-Signature-256 (the Instagram app secret for apps using
     * Instagram Login), verify_token the hub.verify_token of the GET
     * handshake. VK: vk_confirmation is the reply to a confirmation
     * event, vk_secret the "secret" field of every body (NULL: not
     * checked). Telegram: telegram_secret is the webhook's secret_token,
     * sent back as X-Telegram-Bot-Api-Secret-Token (NULL: not checked).
     */
    const char *app_secret;
    const char *verify_token;
    const char *vk_confirmation;
    const char *vk_secret;
    const char *telegram_secret;
    /*
     * More author ids that are "us" (say, an admin's own profile that
     * answers for the brand): their comments and messages come back as
     * IGNORED, never as items. May be NULL. For VK they are written as
     * VK writes from_id (users positive, communities negative), and the
     * community itself (-id) is always us; a VK user whose number equals
     * the group id is not.
     */
    const char *const *self_ids;
    size_t nself_ids;
};

enum connector_event_type {
    CONNECTOR_EVENT_NEW = 0,    /* item: a new comment, reply or DM */
    CONNECTOR_EVENT_EDIT,       /* item: new content for an existing id */
    CONNECTOR_EVENT_DELETE,     /* the platform removed id */
    CONNECTOR_EVENT_RESTORE,    /* item: id came back after a delete (VK) */
    CONNECTOR_EVENT_HIDE,       /* id was hidden (Meta feed verb hide) */
    CONNECTOR_EVENT_UNHIDE,     /* id was unhidden */
    CONNECTOR_EVENT_IGNORED,    /* understood and deliberately dropped */
    CONNECTOR_EVENT_COUNT_
};

/*
 * One thing that happened. Everything it points to is owned by the event
 * and released by connector_events_free, except account (borrowed). To
 * keep the item, take it and set ev->item to NULL.
 */
struct connector_event {
    enum connector_event_type type;
    /*
     * The account the event belongs to, an element of the array the
     * parser was given. NULL only for IGNORED events that belong to no
     * configured account (an entry for another Page, a Meta webhook
     * object we do not handle).
     */
    const struct connector_account *account;
    /*
     * "platform:native_id" of the item concerned, the same id the item
     * carries. Set for every type but IGNORED, where it is set when known
     * (our own comment) and "" otherwise (a read receipt).
     */
    char id[ITEM_ID_MAX + 1];
    /*
     * NEW, EDIT, RESTORE: the item, built with item_new and the setters,
     * raw set. For EDIT it is the full new version as far as the platform
     * sends it (its created time may be the edit time, see the docs).
     * NULL for the other types.
     */
    struct item *item;
    /* DELETE: who deleted it when the platform says so (VK); else NULL. */
    char *actor_id;
    /* IGNORED: why, a short static phrase ("echo of our own message"). */
    const char *reason;
    /* When it happened per the platform, ms since the epoch; 0 unknown. */
    int64_t time_ms;
    /*
     * The platform's own JSON for this event (the Meta change value or
     * messaging item, the VK object, the Telegram message or update, the
     * YouTube comment resource): a reference owned by the event, shared
     * with item raw. Read only. May be NULL.
     */
    json_t *raw;
};

struct connector_events {
    struct connector_event *v;
    size_t n, cap;
};

/* Release every event and the array; ev is left empty. NULL is fine. */
void connector_events_free(struct connector_events *ev);
/* "new", "edit", "delete", "restore", "hide", "unhide", "ignored". */
const char *connector_event_type_name(enum connector_event_type type);

/* ---------------------------------------------------------------------
 * Facebook Pages, Messenger, Instagram (one Meta webhook envelope)
 * ------------------------------------------------------------------ */

/*
 * Check X-Hub-Signature-256. header is the header value ("sha256=" and 64
 * hex digits; NULL when absent), body/len the raw request bytes exactly
 * as received, before any decoding. HMAC-SHA256 keyed with app_secret,
 * compared in constant time. Returns 0 when authentic, -1 otherwise
 * (missing or malformed header, wrong signature, no secret configured).
 */
int meta_verify_signature(const char *app_secret, const void *body,
    size_t len, const char *header);

/*
 * The GET handshake: mode, token and challenge are the decoded query
 * parameters hub.mode, hub.verify_token and hub.challenge (NULL when
 * absent). Returns 0 when mode is "subscribe", token equals verify_token
 * (constant time) and challenge is a plain token of at most 128
 * characters of [A-Za-z0-9_.-]; the caller then answers 200 with the
 * challenge as the whole text/plain body. -1: answer 403.
 */
int meta_verify_handshake(const char *verify_token, const char *mode,
    const char *token, const char *challenge);

/*
 * Parse a verified Meta webhook body ({"object", "entry": [...]}).
 * accounts[0..naccounts) are the configured Facebook Pages and Instagram
 * accounts; each entry is matched to one by platform ("page" is
 * facebook, "instagram" is instagram) and entry.id. Entries for accounts
 * not configured become IGNORED events. One event per feed/comments
 * change and per messaging item. See the top of this file for the return
 * value and err.
 */
int meta_parse(const struct connector_account *accounts, size_t naccounts,
    const char *body, size_t len, struct connector_events *out, char *err,
    size_t errlen);

/* ---------------------------------------------------------------------
 * VK Callback API
 * ------------------------------------------------------------------ */

#define VK_EVENT_ID_MAX 64

/* What vk_verify learned from the envelope. */
struct vk_callback {
    /* The configured community the body names by group_id (borrowed). */
    const struct connector_account *account;
    /*
     * true for {"type": "confirmation"}: answer 200 with reply and parse
     * nothing. Otherwise pass the body to vk_parse and answer "ok".
     */
    bool confirmation;
    /*
     * The body of the 200 answer: the account's vk_confirmation or "ok".
     * Borrowed from the account or static.
     */
    const char *reply;
    /* The event type, cut and made printable, for logs and metrics. */
    char type[48];
    /*
     * event_id, the same on every redelivery of one event: de-duplicate
     * deliveries on it. "" when absent or not a plain token.
     */
    char event_id[VK_EVENT_ID_MAX + 1];
};

/*
 * Authenticate a Callback API body: it must be a JSON object naming a
 * configured VK account by group_id, and carry that account's vk_secret
 * in "secret" (constant-time compare; not checked when vk_secret is
 * NULL). A confirmation needs vk_confirmation configured. Returns 0 and
 * fills cb, or -1 with the reason in err: answer 403 and process nothing.
 */
int vk_verify(const struct connector_account *accounts, size_t naccounts,
    const char *body, size_t len, struct vk_callback *cb, char *err,
    size_t errlen);

/*
 * Parse a body vk_verify accepted, for account a (cb.account). One event
 * (or none, for a confirmation). event_id, when not NULL, receives the
 * envelope's event_id as in struct vk_callback. Return value as at the
 * top of this file.
 */
int vk_parse(const struct connector_account *a, const char *body,
    size_t len, char event_id[VK_EVENT_ID_MAX + 1],
    struct connector_events *out, char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * Telegram Bot API
 * ------------------------------------------------------------------ */

/*
 * Check X-Telegram-Bot-Api-Secret-Token (header NULL when absent) against
 * the configured secret in constant time. 0 when equal, or when no secret
 * is configured (secret NULL); -1 otherwise: answer 403.
 */
int telegram_verify_secret(const char *secret, const char *header);

/*
 * Parse one Update object (a webhook body) for bot account a. update_id,
 * when not NULL, receives the update's id (-1 when it has none). Return
 * value as at the top of this file.
 */
int telegram_parse_update(const struct connector_account *a,
    const char *body, size_t len, int64_t *update_id,
    struct connector_events *out, char *err, size_t errlen);

/* State of a getUpdates long-polling loop. */
struct telegram_poll {
    /*
     * in: the offset sent with this getUpdates; out: the offset for the
     * next one, past every update in the response, including ones that
     * failed to parse, so a poisoned update cannot stall the loop.
     */
    int64_t next_offset;
    int error_code;     /* {"ok": false}: error_code, else 0 */
    int retry_after;    /* parameters.retry_after in seconds, else 0 */
};

/*
 * Parse a getUpdates response ({"ok": true, "result": [Update, ...]}).
 * An {"ok": false, ...} answer returns -1 with error_code, retry_after
 * and "<code> <description>" in err; the offset is then unchanged.
 */
int telegram_parse_updates(const struct connector_account *a,
    const char *body, size_t len, struct telegram_poll *poll,
    struct connector_events *out, char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * YouTube Data API v3 (polled)
 * ------------------------------------------------------------------ */

#define YOUTUBE_PAGE_TOKEN_MAX 1024

/* State of one commentThreads.list / comments.list poll. */
struct youtube_page {
    /* nextPageToken of the response; "" on the last page. */
    char next_page_token[YOUTUBE_PAGE_TOKEN_MAX + 1];
    /*
     * in: the cursor, the newest publishedAt already handled (0 for
     * none); out: the newest publishedAt of every comment in the response
     * (ours and ignored ones too) and the cursor, whichever is later.
     */
    int64_t newest_ms;
    /* true when some comment is at or before the cursor given in. */
    bool reached_cursor;
    /* Google error responses: error.code and errors[0].reason. */
    int error_code;
    char error_reason[64];
};

/*
 * Parse a commentThreads.list response for channel account a: one event
 * per top-level comment and per reply included under replies.comments.
 * Comments written by the channel itself are IGNORED. A Google error body
 * returns -1 with error_code/error_reason set and err "<code> <reason>".
 */
int youtube_parse_threads(const struct connector_account *a,
    const char *body, size_t len, struct youtube_page *page,
    struct connector_events *out, char *err, size_t errlen);

/* The same for a comments.list response (replies fetched by parentId). */
int youtube_parse_comments(const struct connector_account *a,
    const char *body, size_t len, struct youtube_page *page,
    struct connector_events *out, char *err, size_t errlen);

#endif
