/*
 * fake_alerts: one loopback HTTP server that stands in for every alert
 * receiver escalation talks to: a Slack incoming webhook, the Telegram
 * Bot API's sendMessage, PagerDuty's Events API v2 and a generic JSON
 * webhook. It runs its own libevent loop in a thread of the test (like
 * fake_platform), records every call (method, path, headers, body,
 * arrival time) and answers as the real one would:
 *
 *   /bot<token>/sendMessage  200 {"ok":true,"result":{"message_id":N,...}}
 *   /v2/enqueue              202 {"status":"success","dedup_key":...}
 *   any other path           200 "ok" (Slack's answer; fine for webhooks)
 *
 * A response queued for a path prefix is served instead, once, in order
 * (a 429 with Retry-After, a 500), so the test can make a receiver fail.
 * Loopback only; fake_alerts_stop ends the thread.
 */
#ifndef INBOXD_FAKE_ALERTS_H
#define INBOXD_FAKE_ALERTS_H

#include <stddef.h>
#include <stdint.h>

struct fake_alerts;

/* Start the server and its thread. NULL on failure. */
struct fake_alerts *fake_alerts_start(void);

/* "http://127.0.0.1:<port>", valid until fake_alerts_stop. */
const char *fake_alerts_url(const struct fake_alerts *f);

/*
 * Answer the next call whose path starts with prefix with status, body
 * and header lines ("Retry-After: 1", several separated by '\n'; NULL:
 * none). Everything is copied. The call is recorded all the same.
 */
void fake_alerts_push(struct fake_alerts *f, const char *prefix, int status,
    const char *body, const char *header);

/* Calls recorded whose path starts with prefix (NULL: all). */
size_t fake_alerts_count(struct fake_alerts *f, const char *prefix);

/* Wait at most timeout_ms until fake_alerts_count(prefix) >= n: 0, or -1
 * on timeout. */
int fake_alerts_wait(struct fake_alerts *f, const char *prefix, size_t n,
    int timeout_ms);

/*
 * The i-th call (0-based) under prefix: its path, body, or a header's
 * value (name case-insensitive), each a new string (xfree it); NULL when
 * there is no such call or header. at_ms: its arrival, monotonic ms.
 */
char *fake_alerts_path(struct fake_alerts *f, const char *prefix, size_t i);
char *fake_alerts_body(struct fake_alerts *f, const char *prefix, size_t i);
char *fake_alerts_header(struct fake_alerts *f, const char *prefix,
    size_t i, const char *name);
int64_t fake_alerts_at(struct fake_alerts *f, const char *prefix, size_t i);

/* Forget every call recorded so far (the queued responses stay). */
void fake_alerts_clear(struct fake_alerts *f);

/* Stop the thread and free everything. NULL is fine. */
void fake_alerts_stop(struct fake_alerts *f);

#endif
