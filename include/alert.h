/*
 * alert: sends escalation's alert records (docs/escalation.md,
 * "Channels"). The escalation script writes one record per message
 * (a page, an acknowledgement, a resolution) to one channel before
 * anything is sent; every inboxd process takes due ones in turns under
 * a lease, sends each through curlev on the loop, and records the
 * outcome: done, retried later with backoff (never sooner than a
 * Retry-After or Telegram's retry_after), or failed for good. A process
 * that dies mid-send loses nothing: the lease runs out and another
 * process sends it again (at least once; PagerDuty deduplicates by the
 * incident's key).
 *
 *   Slack       POST <url>  {"text": ...}
 *   Telegram    POST <api_base>/bot<token>/sendMessage {"chat_id", "text"}
 *   PagerDuty   POST <url>  Events API v2: trigger, acknowledge, resolve
 *   webhook     POST <url>  JSON, X-Inboxd-Signature: sha256=<hex HMAC>
 */
#ifndef INBOXD_ALERT_H
#define INBOXD_ALERT_H

#include <stdbool.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"
#include "escalate.h"

struct daemon;
struct alert;

/* One request, built from a record and the channel's config. */
struct alert_request {
    const char *log_name;       /* "slack ops", for log lines */
    struct buf url;             /* may hold a secret: never logged */
    struct buf body;
    char sig[96];               /* webhook: the signature header line */
    const char *headers[3];     /* NULL-terminated */
};

void alert_request_init(struct alert_request *r);
void alert_request_clear(struct alert_request *r);

/*
 * Build the request for record h (the alert hash as JSON strings,
 * borrowed) under ec. 0, or -1 with a reason in err (an unknown
 * channel, a person without a chat): the record fails for good.
 */
int alert_build(const struct escalate_config *ec, json_t *h,
    struct alert_request *out, char *err, size_t errlen);

/* The text people read for record h, into out (for Slack, Telegram). */
int alert_text(const struct escalate_config *ec, json_t *h, struct buf *out);

/*
 * How an answer is judged: 2xx done; 429, 408 and 5xx retried (after
 * retry_after_ms when the receiver said so, else the backoff); other
 * statuses fail. The delay asked for by the body (Telegram's
 * parameters.retry_after) is read here too.
 */
enum alert_verdict {
    ALERT_DONE = 0,
    ALERT_RETRY,
    ALERT_FAILED,
};

enum alert_verdict alert_judge(long status, const char *body,
    int64_t header_retry_ms, int64_t *retry_ms);

/* The sender of daemon d. NULL when memory runs out. */
struct alert *alert_new(struct daemon *d);
void alert_start(struct alert *a);
/* Records were written: look for due ones now. */
void alert_kick(struct alert *a);
/* Take no more; sends in flight still finish and are recorded. */
void alert_stop(struct alert *a);
/* Sends in flight plus outcomes not yet recorded. */
unsigned alert_busy(const struct alert *a);
/* Free; NULL is fine. After curlev_free, which cancels what is in
 * flight (those records are sent again once their lease runs out). */
void alert_free(struct alert *a);

#endif
