/*
 * poller_telegram: getUpdates long polling for bots in mode poll. One
 * round is one getUpdates call:
 *
 *   offset unknown -> read <prefix>cursor:telegram:<bot id>
 *   GET <api_base>/bot<token>/getUpdates?offset=N&timeout=T&limit=100
 *       &allowed_updates=["message","edited_message"]
 *   updates -> telegram_parse_updates -> webhook_apply_batch
 *   every write answered -> cursor := next offset (under the lease)
 *   -> the next round at once
 *
 * Telegram confirms (and forgets) updates only when asked with a higher
 * offset, and inboxd asks with one only after the cursor is stored, which
 * is after every event of the batch is stored: a crash at any point
 * repeats a batch at worst (duplicates are dropped by the store), never
 * loses one. Errors: 429 waits parameters.retry_after; 409 (a webhook is
 * set, or another getUpdates) and everything transient back off; 401 and
 * 404 (a revoked or wrong token) stop polling the bot.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "connector.h"
#include "curlev.h"
#include "log.h"
#include "metrics.h"
#include "poller_internal.h"
#include "util.h"

#define POLLER_TG_ERR_MAX      256
#define POLLER_TG_URL_MAX      2048
/* What the bot asks for: the connector handles only these. */
#define POLLER_TG_ALLOWED      "[\"message\",\"edited_message\"]"

struct poller_tg {
    int64_t offset;             /* next getUpdates offset; 0 none yet */
    bool have_offset;           /* read from Redis since the lease */
    int64_t next_offset;        /* past the batch being applied */
    bool failing;               /* warned about the current trouble */
    bool conflict;              /* warned about a 409 */
};

static void poller_tg_fetch(struct poller_acct *pa);

static int
poller_tg_init(struct poller_acct *pa)
{
    return (pa->data = xcalloc(1, sizeof(struct poller_tg))) != NULL ?
        0 : -1;
}

static void
poller_tg_free(struct poller_acct *pa)
{
    XFREE(&pa->data);
}

static void
poller_tg_lease_taken(struct poller_acct *pa)
{
    struct poller_tg *st = pa->data;

    st->have_offset = false;
}

/* A failure worth one warning per episode; the rest at debug level. */
static void
poller_tg_trouble(struct poller_acct *pa, const char *what)
{
    struct poller_tg *st = pa->data;

    if (!st->failing)
        log_warnx("%s: getUpdates failed: %s; backing off", pa->name, what);
    else
        log_debug("poller", "%s: getUpdates failed again: %s", pa->name,
            what);
    st->failing = true;
}

static void
poller_tg_recovered(struct poller_acct *pa)
{
    struct poller_tg *st = pa->data;

    if (st->failing || st->conflict)
        log_info("%s: getUpdates works again", pa->name);
    st->failing = false;
    st->conflict = false;
}

static void
poller_tg_saved_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_tg *st = pa->data;

    switch (qs) {
    case QUEUE_UPDATED:
        st->offset = st->next_offset;
        log_debug("poller", "%s: offset %lld stored", pa->name,
            (long long)st->offset);
        poller_round_end(pa, POLLER_NEXT_AGAIN, 0);
        return;
    case QUEUE_DUPLICATE:
        poller_lease_lost(pa, value);
        st->have_offset = false;
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    default:
        /* The batch is stored; fetching it again only finds duplicates. */
        log_warnx("%s: offset %lld not stored (%s); the batch will be "
            "fetched again", pa->name, (long long)st->next_offset,
            queue_strstatus(qs));
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
}

static void
poller_tg_save(struct poller_acct *pa)
{
    struct poller_tg *st = pa->data;
    char v[24];

    snprintf(v, sizeof(v), "%lld", (long long)st->next_offset);
    if (poller_cursor_set(pa, pa->name, v, poller_tg_saved_cb) == -1) {
        log_warnx("%s: redis is down; offset %lld not stored", pa->name,
            (long long)st->next_offset);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
    }
}

static void
poller_tg_applied_cb(enum pipeline_result res, unsigned writes, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_tg *st = pa->data;

    log_debug("poller", "%s: batch up to offset %lld: %u writes, %s",
        pa->name, (long long)st->next_offset, writes,
        res == PIPELINE_STORED ? "stored" : "failed");
    if (res != PIPELINE_STORED) {
        log_warnx("%s: updates before offset %lld not all stored (%s); "
            "they will be fetched again", pa->name,
            (long long)st->next_offset, res == PIPELINE_UNAVAILABLE ?
            "redis unavailable" : "error");
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    poller_tg_save(pa);
}

/* The Bot API said {"ok": false}: branch on its error_code. */
static void
poller_tg_api_error(struct poller_acct *pa, const struct curlev_response *resp,
    const struct telegram_poll *tp, const char *err)
{
    struct poller_tg *st = pa->data;
    int code = tp->error_code != 0 ? tp->error_code : (int)resp->status;
    int64_t wait;

    switch (code) {
    case 429:
        wait = tp->retry_after > 0 ? (int64_t)tp->retry_after * 1000 :
            resp->retry_after_ms >= 0 ? resp->retry_after_ms : -1;
        poller_count_request(pa, "rate_limited");
        if (wait < 0) {
            poller_tg_trouble(pa, err);
            poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
            return;
        }
        log_warnx("%s: rate limited by Telegram (429); waiting %lld s as "
            "asked", pa->name, (long long)(wait / 1000));
        poller_round_end(pa, POLLER_NEXT_WAIT, wait);
        return;
    case 409:
        poller_count_request(pa, "conflict");
        if (!st->conflict)
            log_warnx("%s: getUpdates refused with 409 Conflict: %s. A "
                "webhook is set for this bot (call deleteWebhook, or give "
                "the account a webhook_secret and mode: webhook) or another "
                "program polls it; backing off", pa->name, err);
        st->conflict = true;
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    case 401:
    case 404:
        poller_count_request(pa, "unauthorized");
        poller_count_stop(pa, "unauthorized");
        log_error("%s: the Bot API refused the bot_token (%s); polling of "
            "this bot stops until the configuration changes", pa->name,
            err);
        poller_round_end(pa, POLLER_NEXT_STOP, 0);
        return;
    default:
        poller_count_request(pa, "api_error");
        poller_tg_trouble(pa, err);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
}

static void
poller_tg_response_cb(const struct curlev_response *resp, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_tg *st = pa->data;
    struct connector_events events = { 0 };
    struct telegram_poll tp = { .next_offset = st->offset };
    struct webhook_batch b = { 0 };
    char err[POLLER_TG_ERR_MAX], delivery[48];
    char why[POLLER_TG_ERR_MAX + 64];
    int rc;

    if (resp->result == CURLEV_CANCELLED) {
        poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    if (resp->result != CURLEV_OK) {
        poller_count_request(pa, "network");
        snprintf(why, sizeof(why), "%s (%s)",
            curlev_result_name(resp->result), resp->error);
        poller_tg_trouble(pa, why);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    rc = telegram_parse_updates(pa->conn, resp->body, resp->len, &tp,
        &events, err, sizeof(err));
    if (tp.error_code != 0 || (resp->status != 200 && rc == -1)) {
        connector_events_free(&events);
        if (tp.error_code == 0)
            snprintf(err, sizeof(err), "HTTP %ld", resp->status);
        poller_tg_api_error(pa, resp, &tp, err);
        return;
    }
    if (resp->status != 200 || (rc == -1 && events.n == 0 &&
        tp.next_offset == st->offset)) {
        connector_events_free(&events);
        poller_count_request(pa, "unreadable");
        snprintf(why, sizeof(why), "HTTP %ld, %s", resp->status, err);
        poller_tg_trouble(pa, why);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    poller_count_request(pa, "ok");
    poller_tg_recovered(pa);
    if (events.n == 0 && rc == 0 && tp.next_offset == st->offset) {
        /* The long poll timed out with nothing new. */
        poller_round_end(pa, POLLER_NEXT_AGAIN, 0);
        return;
    }
    st->next_offset = tp.next_offset;
    snprintf(delivery, sizeof(delivery), "getUpdates offset %lld",
        (long long)st->offset);
    b.platform = CONNECTOR_TELEGRAM;
    b.polled = true;
    b.rc = rc;
    b.err = err;
    b.body = resp->body;
    b.len = resp->len;
    b.account = pa->acct->id;
    b.delivery = delivery;
    log_debug("poller", "%s: %zu events, next offset %lld", pa->name,
        events.n, (long long)tp.next_offset);
    poller_apply(pa, &b, &events, poller_tg_applied_cb);
}

static void
poller_tg_fetch(struct poller_acct *pa)
{
    struct poller_tg *st = pa->data;
    const struct config *cfg = pa->cfg;
    const char *base = cfg->platforms.telegram.api_base;
    size_t blen = strlen(base);
    struct curlev_request r = { 0 };
    static const char *const headers[] = {
        "Accept: application/json", NULL,
    };
    struct buf url;

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    buf_init(&url, POLLER_TG_URL_MAX);
    if (buf_append(&url, base, blen) == -1 ||
        buf_puts(&url, "/bot") == -1 ||
        buf_puts(&url, pa->acct->bot_token) == -1 ||
        buf_printf(&url, "/getUpdates?timeout=%lld&limit=100",
        (long long)cfg->platforms.telegram.poll_timeout_s) == -1 ||
        (st->offset > 0 && buf_printf(&url, "&offset=%lld",
        (long long)st->offset) == -1) ||
        buf_puts(&url, "&allowed_updates=") == -1 ||
        buf_urlencode(&url, POLLER_TG_ALLOWED) == -1) {
        buf_free(&url);
        log_warnx("%s: cannot build the getUpdates URL", pa->name);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    r.method = "GET";
    r.url = url.data;
    r.log_name = pa->name;
    r.headers = headers;
    r.timeout_ms = cfg->platforms.telegram.poll_timeout_s * 1000 +
        cfg->polling.request_timeout_ms;
    r.max_response = cfg->polling.max_response;
    log_debug("poller", "%s: getUpdates offset %lld", pa->name,
        (long long)st->offset);
    if (poller_request(pa, &r, poller_tg_response_cb) == -1)
        poller_round_end(pa, poller_running(pa) ? POLLER_NEXT_BACKOFF :
            POLLER_NEXT_CANCELLED, 0);
    /* The URL holds the token: wipe our copy (curl keeps its own). */
    explicit_bzero(url.data, url.len);
    buf_free(&url);
}

static void
poller_tg_cursor_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_tg *st = pa->data;
    long v;

    if (qs == QUEUE_UNKNOWN) {
        st->offset = 0;
    } else if (qs == QUEUE_STORED && value != NULL) {
        if (util_parse_long(value, 0, LONG_MAX, &v) == -1) {
            log_warnx("%s: stored offset \"%.24s\" is not a number; "
                "starting from Telegram's oldest update", pa->name, value);
            v = 0;
        }
        st->offset = (int64_t)v;
    } else {
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    st->have_offset = true;
    log_info("%s: resuming at offset %lld", pa->name, (long long)st->offset);
    if (!poller_running(pa)) {
        poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    poller_tg_fetch(pa);
}

static void
poller_tg_round(struct poller_acct *pa)
{
    struct poller_tg *st = pa->data;

    if (st->have_offset) {
        poller_tg_fetch(pa);
        return;
    }
    if (poller_cursor_get(pa, pa->name, poller_tg_cursor_cb) == -1)
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
}

const struct poller_ops poller_telegram_ops = {
    .platform = CONNECTOR_TELEGRAM,
    .init = poller_tg_init,
    .round = poller_tg_round,
    .lease_taken = poller_tg_lease_taken,
    .free = poller_tg_free,
};
