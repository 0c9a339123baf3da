/*
 * alert: the sender of escalation's alert records (alert.h). Each round
 * (every escalation.interval, or at once after a kick) asks the
 * escalation script to "atake" up to as many due records as there are
 * free slots; each is leased to this process for twice the request
 * timeout plus a second, built into a request for its channel, sent
 * through curlev and judged:
 *
 *   atake -> build (Slack, Telegram, PagerDuty, webhook) -> curlev
 *         -> judge -> afinish: done | retry in N ms | failed
 *
 * Retries back off from escalation.alerts.backoff_min, doubling to
 * backoff_max, never sooner than the receiver asked; after max_attempts
 * a record fails for good and the incident's timeline says so. Channel
 * URLs and tokens stay in the config: the records in Redis name the
 * channel only, and no log line carries a URL.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "alert.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "crypto.h"
#include "curlev.h"
#include "daemon.h"
#include "escalate.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "util.h"

#define ALERT_LEASE_MARGIN_MS   1000
#define ALERT_MAX_RESPONSE      (64 * 1024)
#define ALERT_BODY_MAX          (256 * 1024)
#define ALERT_TEXT_MAX          4000

struct alert {
    struct daemon *d;
    struct event *ev_tick;
    char owner[128];
    unsigned running;           /* requests in flight */
    unsigned recording;         /* afinish not answered yet */
    bool taking;
    bool started;
    bool stopping;
};

/* One record, from its take to its finish. */
struct alert_run {
    struct alert *a;
    struct config *cfg;         /* a reference */
    char *id;
    char *channel;
    char *event;
    long attempts;
    struct alert_request req;
    int64_t started_us;
};

static const struct metrics_family_decl alert_metrics[] = {
    {"inboxd_alerts_total", METRICS_COUNTER,
        "Alert attempts by channel type and result (done, retry, "
        "failed)."},
    {"inboxd_alerts_in_flight", METRICS_GAUGE,
        "Alert requests this process is waiting on."},
};

/* ------------------------------------------------------------- building */

void
alert_request_init(struct alert_request *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->url, 16 * 1024);
    buf_init(&r->body, ALERT_BODY_MAX);
}

void
alert_request_clear(struct alert_request *r)
{
    if (r->url.data != NULL)
        crypto_wipe(r->url.data, r->url.len);
    buf_free(&r->url);
    if (r->body.data != NULL)
        crypto_wipe(r->body.data, r->body.len);
    buf_free(&r->body);
}

static const char *
alert_str(json_t *h, const char *key)
{
    const char *s = json_string_value(json_object_get(h, key));

    return s != NULL ? s : "";
}

int
alert_text(const struct escalate_config *ec, json_t *h, struct buf *out)
{
    const char *event = alert_str(h, "event"), *to = alert_str(h, "to");
    const struct escalate_person *p = escalate_config_person(ec, to);
    const char *sev = alert_str(h, "severity");

    if (strcmp(event, "ack") == 0)
        return buf_printf(out, "[inboxd] incident #%s acknowledged by %s: "
            "%s", alert_str(h, "incident"), alert_str(h, "by"),
            alert_str(h, "title"));
    if (strcmp(event, "resolve") == 0)
        return buf_printf(out, "[inboxd] incident #%s resolved by %s: %s",
            alert_str(h, "incident"), alert_str(h, "by"),
            alert_str(h, "title"));
    if (buf_printf(out, "[inboxd] %s incident #%s (%s team): %s - paging "
        "%s (step %s)", *sev ? sev : "critical", alert_str(h, "incident"),
        alert_str(h, "team"), alert_str(h, "title"), to,
        alert_str(h, "step")) == -1)
        return -1;
    /* Slack notifies a member named like this. */
    if (strcmp(alert_str(h, "type"), "slack") == 0 && p != NULL &&
        p->slack != NULL)
        return buf_printf(out, " <@%s>", p->slack);
    return 0;
}

/* body = JSON of o (taken); -1 when it does not fit. */
static int
alert_json_body(struct alert_request *r, json_t *o)
{
    char *s = o != NULL ? json_dumps(o, JSON_COMPACT) : NULL;
    int rc = -1;

    if (s != NULL)
        rc = buf_puts(&r->body, s);
    xfree(s);
    json_decref(o);
    return rc;
}

static const char *
alert_pd_action(const char *event)
{
    if (strcmp(event, "ack") == 0)
        return "acknowledge";
    if (strcmp(event, "resolve") == 0)
        return "resolve";
    return "trigger";
}

static const char *
alert_pd_severity(const char *sev)
{
    if (strcmp(sev, "warning") == 0)
        return "warning";
    if (strcmp(sev, "breached") == 0)
        return "error";
    return "critical";
}

int
alert_build(const struct escalate_config *ec, json_t *h,
    struct alert_request *out, char *err, size_t errlen)
{
    const struct escalate_channel *ch = escalate_config_channel(ec,
        alert_str(h, "channel"));
    const struct escalate_person *p;
    const char *event = alert_str(h, "event"), *chat;
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1], dedup[64];
    struct buf text;
    json_t *o;
    int rc = -1;

    buf_init(&text, ALERT_TEXT_MAX + 256);
    if (ch == NULL) {
        snprintf(err, errlen, "no channel named %.64s in the config",
            alert_str(h, "channel"));
        goto out;
    }
    out->log_name = escalate_channel_type_name(ch->type);
    out->headers[0] = "Content-Type: application/json";
    if (alert_text(ec, h, &text) == -1) {
        snprintf(err, errlen, "the text is too long");
        goto out;
    }
    /* The incident's key, unique per incident: PagerDuty's dedup key. */
    snprintf(dedup, sizeof(dedup), "inboxd-incident-%s",
        alert_str(h, "incident"));
    switch (ch->type) {
    case ESCALATE_CH_SLACK:
        if (buf_puts(&out->url, ch->url) == -1 ||
            alert_json_body(out, json_pack("{s:s}", "text", text.data)) ==
            -1)
            goto fit;
        break;
    case ESCALATE_CH_TELEGRAM:
        p = escalate_config_person(ec, alert_str(h, "to"));
        chat = p != NULL && p->telegram != NULL ? p->telegram : ch->chat_id;
        if (chat == NULL) {
            snprintf(err, errlen, "%.64s has no telegram chat and channel "
                "%.64s no chat_id", alert_str(h, "to"), ch->name);
            goto out;
        }
        if (buf_printf(&out->url, "%s%sbot%s/sendMessage", ch->url,
            ch->url[strlen(ch->url) - 1] == '/' ? "" : "/", ch->secret) ==
            -1 || alert_json_body(out, json_pack("{s:s,s:s}", "chat_id",
            chat, "text", text.data)) == -1)
            goto fit;
        break;
    case ESCALATE_CH_PAGERDUTY:
        o = json_pack("{s:s,s:s,s:s}", "routing_key", ch->secret,
            "event_action", alert_pd_action(event), "dedup_key", dedup);
        if (o != NULL && strcmp(event, "trigger") == 0)
            json_object_set_new(o, "payload", json_pack("{s:s%,s:s,s:s,"
                "s:{s:s,s:s,s:s,s:s,s:s,s:s}}", "summary", text.data,
                text.len > 1024 ? (size_t)1024 : text.len, "source",
                "inboxd", "severity", alert_pd_severity(alert_str(h,
                "severity")), "custom_details", "incident",
                alert_str(h, "incident"), "cause", alert_str(h, "cause"),
                "team", alert_str(h, "team"), "notify", alert_str(h, "to"),
                "step", alert_str(h, "step"), "item", alert_str(h, "item")));
        if (buf_puts(&out->url, ch->url) == -1 ||
            alert_json_body(out, o) == -1)
            goto fit;
        break;
    case ESCALATE_CH_WEBHOOK:
        {
            long at = 0;
            char when[32];

            util_parse_long(alert_str(h, "at"), 0, LONG_MAX, &at);
            util_format_time(at, when);
            o = json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:s,s:s,s:s},s:s,s:s,"
                "s:s,s:s,s:s}", "event", event, "incident", "id",
                alert_str(h, "incident"), "cause", alert_str(h, "cause"),
                "kind", alert_str(h, "kind"), "title", alert_str(h, "title"),
                "team", alert_str(h, "team"), "severity",
                alert_str(h, "severity"), "item", alert_str(h, "item"),
                "to", alert_str(h, "to"), "step", alert_str(h, "step"),
                "by", alert_str(h, "by"), "at", when, "text", text.data);
        }
        if (buf_puts(&out->url, ch->url) == -1 ||
            alert_json_body(out, o) == -1)
            goto fit;
        if (crypto_hmac_sha256(ch->secret, strlen(ch->secret),
            out->body.data, out->body.len, mac) == -1) {
            snprintf(err, errlen, "cannot sign the body");
            goto out;
        }
        crypto_hex(mac, sizeof(mac), hex);
        snprintf(out->sig, sizeof(out->sig),
            "X-Inboxd-Signature: sha256=%s", hex);
        out->headers[1] = out->sig;
        break;
    }
    rc = 0;
    goto out;
fit:
    snprintf(err, errlen, "the request does not fit");
out:
    buf_free(&text);
    return rc;
}

enum alert_verdict
alert_judge(long status, const char *body, int64_t header_retry_ms,
    int64_t *retry_ms)
{
    json_t *j, *ra;

    *retry_ms = header_retry_ms;
    if (status >= 200 && status < 300)
        return ALERT_DONE;
    if (status != 429 && status != 408 && status < 500)
        return ALERT_FAILED;
    /* Telegram says how long to wait in its body too. */
    if (status == 429 && body != NULL &&
        (j = json_loads(body, 0, NULL)) != NULL) {
        ra = json_object_get(json_object_get(j, "parameters"),
            "retry_after");
        if (json_is_integer(ra) && json_integer_value(ra) * 1000 >
            *retry_ms)
            *retry_ms = json_integer_value(ra) * 1000;
        json_decref(j);
    }
    return ALERT_RETRY;
}

/* ------------------------------------------------------------- sending */

static void
alert_run_free(struct alert_run *r)
{
    alert_request_clear(&r->req);
    config_unref(r->cfg);
    xfree(r->id);
    xfree(r->channel);
    xfree(r->event);
    xfree(r);
}

static void
alert_finish_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct alert_run *r = arg;
    struct alert *a = r->a;

    a->recording--;
    if (a->d->inflight > 0)
        a->d->inflight--;
    if (st != QUEUE_UPDATED)
        log_warnx("alert %s to %s: outcome not recorded (redis %s); its "
            "lease runs out and it is sent again", r->id, r->channel,
            queue_strstatus(st));
    else if (json_is_true(json_object_get(reply, "stale")))
        log_warnx("alert %s to %s: taken over by another process before "
            "its outcome was recorded", r->id, r->channel);
    alert_run_free(r);
}

static void
alert_finish(struct alert_run *r, const char *state, int64_t delay_ms,
    long status, const char *detail)
{
    struct alert *a = r->a;
    const struct config *cfg = r->cfg;
    char audit[24], ttl[24], now[24], real[24], delay[24], code[16];
    const char *args[] = { audit, ttl, now, real, a->owner, r->id, state,
        delay, code, detail };

    snprintf(audit, sizeof(audit), "%lld",
        (long long)cfg->queue.audit_maxlen);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)cfg->queue.item_ttl_ms);
    snprintf(now, sizeof(now), "%lld", (long long)escalate_now(
        a->d->escalate));
    snprintf(real, sizeof(real), "%lld", (long long)util_now_ms());
    snprintf(delay, sizeof(delay), "%lld", (long long)delay_ms);
    snprintf(code, sizeof(code), "%ld", status);
    metrics_add2(a->d->metrics, "inboxd_alerts_total", "channel",
        r->req.log_name != NULL ? r->req.log_name : "unknown", "result",
        state, 1);
    if (strcmp(state, "done") == 0)
        log_info("alert %s %s to %s: sent (%ld)", r->id, r->event,
            r->channel, status);
    else if (strcmp(state, "retry") == 0)
        log_info("alert %s %s to %s: attempt %ld: %s; again in %lld ms",
            r->id, r->event, r->channel, r->attempts, detail,
            (long long)delay_ms);
    else
        log_warnx("alert %s %s to %s: failed: %s", r->id, r->event,
            r->channel, detail);
    if (queue_escalate(a->d->queue, "afinish", args, nitems(args),
        alert_finish_cb, r) == -1) {
        log_warnx("alert %s: redis unavailable; its lease runs out and it "
            "is sent again", r->id);
        if (a->d->inflight > 0)
            a->d->inflight--;
        alert_run_free(r);
        return;
    }
    a->recording++;
}

static int64_t
alert_backoff(const struct escalate_config *ec, long attempts)
{
    int64_t d = ec->alerts.backoff_min_ms;

    for (long i = 1; i < attempts && d < ec->alerts.backoff_max_ms; i++)
        d *= 2;
    return d < ec->alerts.backoff_max_ms ? d : ec->alerts.backoff_max_ms;
}

/* A retry, or a failure once the attempts are spent. */
static void
alert_retry(struct alert_run *r, int64_t asked_ms, long status,
    const char *detail)
{
    const struct escalate_config *ec = r->cfg->escalation;
    int64_t delay = alert_backoff(ec, r->attempts);
    char msg[320];

    if (asked_ms > delay)
        delay = asked_ms;
    if (r->attempts >= ec->alerts.max_attempts) {
        snprintf(msg, sizeof(msg), "gave up after %ld attempts: %s",
            r->attempts, detail);
        alert_finish(r, "failed", 0, status, msg);
        return;
    }
    alert_finish(r, "retry", delay, status, detail);
}

static void
alert_sent_cb(const struct curlev_response *resp, void *arg)
{
    struct alert_run *r = arg;
    struct alert *a = r->a;
    char detail[256];
    int64_t retry_ms;

    a->running--;
    metrics_set(a->d->metrics, "inboxd_alerts_in_flight", NULL, NULL,
        a->running);
    if (resp->result == CURLEV_CANCELLED) {
        /* Shutting down: the lease runs out; another process sends it. */
        if (a->d->inflight > 0)
            a->d->inflight--;
        alert_run_free(r);
        return;
    }
    if (resp->result != CURLEV_OK) {
        snprintf(detail, sizeof(detail), "%s",
            resp->result == CURLEV_TIMEOUT ? "timed out" : resp->error);
        alert_retry(r, 0, 0, detail);
    } else {
        snprintf(detail, sizeof(detail), "HTTP %ld: %.200s", resp->status,
            resp->body);
        switch (alert_judge(resp->status, resp->body, resp->retry_after_ms,
            &retry_ms)) {
        case ALERT_DONE:
            alert_finish(r, "done", 0, resp->status, detail);
            break;
        case ALERT_RETRY:
            alert_retry(r, retry_ms, resp->status, detail);
            break;
        case ALERT_FAILED:
            alert_finish(r, "failed", 0, resp->status, detail);
            break;
        }
    }
    if (!a->stopping)
        alert_kick(a);
}

static char *
alert_field(json_t *h, const char *key)
{
    return xstrdup(alert_str(h, key));
}

static void
alert_start_one(struct alert *a, struct config *cfg, json_t *h)
{
    struct curlev_request cr;
    struct alert_run *r;
    char err[256], logname[96];

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;             /* its lease runs out; taken again */
    r->a = a;
    r->cfg = config_ref(cfg);
    alert_request_init(&r->req);
    r->id = alert_field(h, "id");
    r->channel = alert_field(h, "channel");
    r->event = alert_field(h, "event");
    util_parse_long(alert_str(h, "attempts"), 0, 1000000, &r->attempts);
    a->d->inflight++;
    if (r->id == NULL || r->channel == NULL || r->event == NULL) {
        a->d->inflight--;
        alert_run_free(r);
        return;
    }
    if (cfg->escalation == NULL ||
        alert_build(cfg->escalation, h, &r->req, err, sizeof(err)) == -1) {
        alert_finish(r, "failed", 0, 0, cfg->escalation == NULL ?
            "escalation is no longer configured" : err);
        return;
    }
    snprintf(logname, sizeof(logname), "alert %s %s", r->req.log_name,
        r->channel);
    memset(&cr, 0, sizeof(cr));
    cr.method = "POST";
    cr.url = r->req.url.data;
    cr.log_name = logname;
    cr.headers = r->req.headers;
    cr.body = r->req.body.data;
    cr.len = r->req.body.len;
    cr.timeout_ms = cfg->escalation->alerts.timeout_ms;
    cr.max_response = ALERT_MAX_RESPONSE;
    r->started_us = util_mono_us();
    if (curlev_start(a->d->curlev, &cr, alert_sent_cb, r) == NULL) {
        alert_retry(r, 0, 0, "cannot start the request");
        return;
    }
    a->running++;
    metrics_set(a->d->metrics, "inboxd_alerts_in_flight", NULL, NULL,
        a->running);
}

/* --------------------------------------------------------------- rounds */

struct alert_take {
    struct alert *a;
    struct config *cfg;
};

static void
alert_take_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct alert_take *tk = arg;
    struct alert *a = tk->a;
    json_t *list = json_object_get(reply, "alerts"), *h;
    size_t i;

    a->taking = false;
    if (st == QUEUE_UPDATED && !a->stopping) {
        json_array_foreach(list, i, h)
            alert_start_one(a, tk->cfg, h);
    }
    config_unref(tk->cfg);
    xfree(tk);
    if (st == QUEUE_UPDATED && json_array_size(list) > 0 && !a->stopping)
        alert_kick(a);
}

static void
alert_round(struct alert *a)
{
    struct daemon *d = a->d;
    const struct escalate_config *ec = d->cfg->escalation;
    char audit[24], ttl[24], now[24], real[24], n[24], lease[24];
    struct alert_take *tk;
    long free_slots;

    if (ec == NULL || a->taking || a->stopping || d->draining ||
        !queue_is_up(d->queue))
        return;
    if ((free_slots = (long)ec->alerts.concurrency - (long)a->running) <= 0)
        return;
    if ((tk = xcalloc(1, sizeof(*tk))) == NULL)
        return;
    tk->a = a;
    tk->cfg = config_ref(d->cfg);
    snprintf(audit, sizeof(audit), "%lld",
        (long long)d->cfg->queue.audit_maxlen);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)d->cfg->queue.item_ttl_ms);
    snprintf(now, sizeof(now), "%lld", (long long)escalate_now(d->escalate));
    snprintf(real, sizeof(real), "%lld", (long long)util_now_ms());
    snprintf(n, sizeof(n), "%ld", free_slots);
    snprintf(lease, sizeof(lease), "%lld", (long long)
        (2 * ec->alerts.timeout_ms + ALERT_LEASE_MARGIN_MS));
    {
        const char *args[] = { audit, ttl, now, real, a->owner, n, lease };

        if (queue_escalate(d->queue, "atake", args, nitems(args),
            alert_take_cb, tk) == 0) {
            a->taking = true;
            return;
        }
    }
    config_unref(tk->cfg);
    xfree(tk);
}

static void
alert_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct alert *a = arg;
    const struct escalate_config *ec = a->d->cfg->escalation;
    int64_t ms = ec != NULL ? ec->interval_ms : 1000;
    struct timeval tv;

    (void)fd;
    (void)what;
    alert_round(a);
    if (a->stopping)
        return;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(a->ev_tick, &tv);
}

struct alert *
alert_new(struct daemon *d)
{
    struct alert *a;

    if ((a = xcalloc(1, sizeof(*a))) == NULL)
        return NULL;
    a->d = d;
    util_instance_name(a->owner, sizeof(a->owner));
    if ((a->ev_tick = evtimer_new(d->base, alert_tick_cb, a)) == NULL) {
        xfree(a);
        return NULL;
    }
    metrics_declare_all(d->metrics, alert_metrics, nitems(alert_metrics));
    return a;
}

void
alert_start(struct alert *a)
{
    a->started = true;
    alert_kick(a);
}

void
alert_kick(struct alert *a)
{
    struct timeval zero = { 0, 0 };

    if (a == NULL || !a->started || a->stopping)
        return;
    evtimer_add(a->ev_tick, &zero);
}

void
alert_stop(struct alert *a)
{
    if (a == NULL)
        return;
    a->stopping = true;
    evtimer_del(a->ev_tick);
}

unsigned
alert_busy(const struct alert *a)
{
    return a != NULL ? a->running + a->recording : 0;
}

void
alert_free(struct alert *a)
{
    if (a == NULL)
        return;
    a->stopping = true;
    event_free(a->ev_tick);
    xfree(a);
}
