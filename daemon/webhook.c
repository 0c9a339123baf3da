/*
 * webhook: one platform delivery from its raw bytes to the answer the
 * platform gets. Nothing of the body is acted on before it is
 * authenticated: the Meta signature over the exact bytes, the VK secret
 * in the envelope, the Telegram secret header. Then the connector parses
 * it into events and each event becomes one write through the pipeline:
 *
 *   NEW                 pipeline_submit_op(NEW): classify, route, store
 *   EDIT, RESTORE       pipeline_submit_op(EDIT, RESTORE): re-classified,
 *                       the stored item keeps its queue entry
 *   DELETE, HIDE,       pipeline_mark: state deleted and out of its queue
 *   UNHIDE              stream, or hidden 1/0
 *   IGNORED             a counter, nothing stored
 *
 * A body the parser did not fully understand still has its understood
 * events applied, and the body itself goes to the dead-letter stream with
 * the parser's reason. The platform is answered once, when every write
 * has been answered: its success reply when all of them were (stored in
 * Redis, or kept in the local spool while Redis is away), 503 or 500
 * otherwise, so that it delivers again. A batch holds one count on
 * itself while it dispatches, so writes answered at once (Redis down)
 * cannot finish it early.
 *
 * The batch half (webhook_apply_batch) is shared with the pollers
 * (poller.c): a polled response becomes events the same way, and the
 * poller moves its cursor only once the batch is answered.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "config.h"
#include "connector.h"
#include "daemon.h"
#include "item.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "queue.h"
#include "util.h"
#include "webhook.h"

/* The parser's error line, for logs and the dead letter. */
#define WEBHOOK_ERR_MAX 256

static const char *const webhook_source_names[] = {
    [WEBHOOK_META] = "meta",
    [WEBHOOK_VK] = "vk",
    [WEBHOOK_TELEGRAM] = "telegram",
};

/* One batch of events waiting for its writes. */
struct webhook_job {
    struct daemon *d;
    const char *platform;       /* static: the metric label */
    bool polled;
    unsigned pending;           /* writes unanswered, +1 while dispatching */
    unsigned writes;            /* writes sent, for the log line */
    bool unavailable;           /* some write failed: Redis away */
    bool failed;                /* some write failed: an error */
    webhook_batch_cb *cb;
    void *arg;
};

/* An authenticated delivery waiting for its batch, to answer it. */
struct webhook_answer {
    struct daemon *d;
    enum webhook_source source;
    const char *ok_text;        /* the success body (static) */
    webhook_reply_cb *cb;
    void *arg;
};

/* The per-batch families, for webhook deliveries and for polls. */
enum webhook_family {
    WEBHOOK_FAM_EVENTS = 0,
    WEBHOOK_FAM_IGNORED,
    WEBHOOK_FAM_DEADLETTERS,
};

static const char *const webhook_families[2][3] = {
    { "inboxd_webhook_events_total", "inboxd_webhook_ignored_total",
      "inboxd_webhook_deadletters_total" },
    { "inboxd_poll_events_total", "inboxd_poll_ignored_total",
      "inboxd_poll_deadletters_total" },
};

static const struct metrics_family_decl webhook_metric_families[] = {
    {"inboxd_webhook_deliveries_total", METRICS_COUNTER,
        "Authenticated webhook deliveries by platform and answer (ok, "
        "unavailable, error)."},
    {"inboxd_webhook_rejected_total", METRICS_COUNTER,
        "Webhook requests refused before parsing, by platform and reason."},
    {"inboxd_webhook_events_total", METRICS_COUNTER,
        "Events parsed from webhook deliveries, by platform and type."},
    {"inboxd_webhook_ignored_total", METRICS_COUNTER,
        "Webhook events understood and dropped, by platform and reason."},
    {"inboxd_webhook_deadletters_total", METRICS_COUNTER,
        "Webhook bodies not (fully) understood, kept in the dead-letter "
        "stream, by platform."},
    {"inboxd_poll_events_total", METRICS_COUNTER,
        "Events parsed from polled responses, by platform and type."},
    {"inboxd_poll_ignored_total", METRICS_COUNTER,
        "Polled events understood and dropped, by platform and reason."},
    {"inboxd_poll_deadletters_total", METRICS_COUNTER,
        "Polled responses not (fully) understood, kept in the dead-letter "
        "stream, by platform."},
};

void
webhook_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, webhook_metric_families,
        nitems(webhook_metric_families));
}

const char *
webhook_source_name(enum webhook_source src)
{
    if ((unsigned)src >= nitems(webhook_source_names))
        return "?";
    return webhook_source_names[src];
}

/* ---------------------------------------------------------------------
 * Answers
 * ------------------------------------------------------------------ */

static void
webhook_reject(struct daemon *d, enum webhook_source src, int status,
    const char *reason, const char *message, webhook_reply_cb *cb,
    void *arg)
{
    struct webhook_reply r = {
        .status = status,
        .code = status == 404 ? "not_found" : status == 400 ?
            "invalid_request" : status == 401 ? "unauthorized" :
            "forbidden",
        .message = message,
    };

    metrics_add2(d->metrics, "inboxd_webhook_rejected_total", "platform",
        webhook_source_name(src), "reason", reason, 1);
    log_debug("webhook", "%s webhook refused (%s): %s",
        webhook_source_name(src), reason, message);
    cb(&r, arg);
}

static void
webhook_ok(const char *text, webhook_reply_cb *cb, void *arg)
{
    struct webhook_reply r = { .status = 200, .text = text };

    cb(&r, arg);
}

/* Every write is answered: report and free the job. */
static void
webhook_job_finish(struct webhook_job *job)
{
    enum pipeline_result res = PIPELINE_STORED;

    if (job->failed)
        res = PIPELINE_ERROR;
    else if (job->unavailable)
        res = PIPELINE_UNAVAILABLE;
    job->cb(res, job->writes, job->arg);
    xfree(job);
}

static void
webhook_release(struct webhook_job *job)
{
    if (--job->pending == 0)
        webhook_job_finish(job);
}

static void
webhook_result(struct webhook_job *job, enum pipeline_result res)
{
    if (res == PIPELINE_UNAVAILABLE)
        job->unavailable = true;
    else if (res == PIPELINE_ERROR)
        job->failed = true;
    webhook_release(job);
}

static void
webhook_item_cb(enum pipeline_result res, const struct item *it,
    const char *stream_id, void *arg)
{
    (void)it;
    (void)stream_id;
    webhook_result(arg, res);
}

static void
webhook_mark_cb(enum pipeline_result res, const char *id, void *arg)
{
    (void)id;
    webhook_result(arg, res);
}

static void
webhook_deadletter_cb(enum pipeline_result res, const char *stream_id,
    void *arg)
{
    struct webhook_job *job = arg;

    if (res == PIPELINE_STORED)
        log_debug("webhook", "dead letter stored as %s", stream_id);
    else if (res == PIPELINE_SPOOLED)
        log_debug("webhook", "dead letter spooled");
    else
        log_warnx("%s %s: the dead letter was not stored (%s)",
            job->platform, job->polled ? "poll" : "webhook",
            res == PIPELINE_UNAVAILABLE ? "unavailable" : "error");
    webhook_result(job, res);
}

/* ---------------------------------------------------------------------
 * Dispatch
 * ------------------------------------------------------------------ */

static void
webhook_apply(struct webhook_job *job, struct connector_event *ev)
{
    struct daemon *d = job->d;
    const char *const *fam = webhook_families[job->polled];
    struct item *it;

    metrics_add2(d->metrics, fam[WEBHOOK_FAM_EVENTS], "platform",
        job->platform, "type", connector_event_type_name(ev->type), 1);
    switch (ev->type) {
    case CONNECTOR_EVENT_NEW:
    case CONNECTOR_EVENT_EDIT:
    case CONNECTOR_EVENT_RESTORE:
        if ((it = ev->item) == NULL)
            return;
        ev->item = NULL;
        job->pending++;
        job->writes++;
        pipeline_submit_op(d, it, ev->type == CONNECTOR_EVENT_NEW ?
            PIPELINE_OP_NEW : ev->type == CONNECTOR_EVENT_EDIT ?
            PIPELINE_OP_EDIT : PIPELINE_OP_RESTORE, webhook_item_cb, job);
        return;
    case CONNECTOR_EVENT_DELETE:
    case CONNECTOR_EVENT_HIDE:
    case CONNECTOR_EVENT_UNHIDE:
        job->pending++;
        job->writes++;
        pipeline_mark(d, ev->id, ev->type == CONNECTOR_EVENT_DELETE ?
            QUEUE_MARK_DELETED : ev->type == CONNECTOR_EVENT_HIDE ?
            QUEUE_MARK_HIDDEN : QUEUE_MARK_UNHIDDEN, ev->actor_id,
            webhook_mark_cb, job);
        return;
    case CONNECTOR_EVENT_IGNORED:
    case CONNECTOR_EVENT_COUNT_:
        break;
    }
    metrics_add2(d->metrics, fam[WEBHOOK_FAM_IGNORED], "platform",
        job->platform, "reason", ev->reason != NULL ? ev->reason : "unknown",
        1);
    if (ev->id[0] != '\0')
        log_item_debug("webhook", ev->id, "ignored: %s",
            ev->reason ? ev->reason : "unknown");
}

/* Keep a body that was not understood, with the parser's reason. */
static void
webhook_deadletter(struct webhook_job *job, const struct webhook_batch *b)
{
    struct daemon *d = job->d;
    struct queue_deadletter dl = {
        .platform = b->platform,
        .account = b->account,
        .delivery = b->delivery,
        .reason = b->err != NULL ? b->err : "not understood",
        .body = b->body,
        .len = b->len,
    };

    metrics_add(d->metrics, webhook_families[job->polled]
        [WEBHOOK_FAM_DEADLETTERS], "platform", dl.platform, 1);
    log_warnx("%s %s%s%s: not understood, kept as a dead letter: %s",
        dl.platform, job->polled ? "poll" : "webhook",
        dl.account ? " for account " : "", dl.account ? dl.account : "",
        dl.reason);
    job->pending++;
    job->writes++;
    pipeline_deadletter(d, &dl, webhook_deadletter_cb, job);
}

void
webhook_apply_batch(struct daemon *d, const struct webhook_batch *b,
    struct connector_events *events, webhook_batch_cb *cb, void *arg)
{
    struct webhook_job *job;

    if ((job = xcalloc(1, sizeof(*job))) == NULL) {
        log_warnx("%s: out of memory; %zu events not applied", b->platform,
            events->n);
        connector_events_free(events);
        cb(PIPELINE_ERROR, 0, arg);
        return;
    }
    job->d = d;
    job->platform = b->platform;
    job->polled = b->polled;
    job->cb = cb;
    job->arg = arg;
    job->pending = 1;
    for (size_t i = 0; i < events->n; i++)
        webhook_apply(job, &events->v[i]);
    connector_events_free(events);
    if (b->rc == -1)
        webhook_deadletter(job, b);
    webhook_release(job);
}

/* The batch of a delivery is done: answer the platform. */
static void
webhook_answer_cb(enum pipeline_result res, unsigned writes, void *arg)
{
    struct webhook_answer *a = arg;
    struct webhook_reply r = { .status = 200, .text = a->ok_text };
    const char *result = "ok";

    if (res == PIPELINE_ERROR) {
        r.status = 500;
        r.code = "internal";
        r.message = "the delivery could not be stored; send it again";
        result = "error";
    } else if (res == PIPELINE_UNAVAILABLE) {
        r.status = 503;
        r.code = "store_unavailable";
        r.message = a->d->spool != NULL ? "the item store (Redis) is "
            "unreachable and the local spool is full; send it again later" :
            "the item store (Redis) is unreachable; send it again later";
        result = "unavailable";
    }
    metrics_add2(a->d->metrics, "inboxd_webhook_deliveries_total",
        "platform", webhook_source_name(a->source), "result", result, 1);
    log_debug("webhook", "%s webhook: %u writes, answered %d",
        webhook_source_name(a->source), writes, r.status);
    a->cb(&r, a->arg);
    xfree(a);
}

/*
 * Apply the parsed events (the parser's return value is rc, its reason
 * err) and answer when the writes are done. Takes the events.
 */
static void
webhook_dispatch(struct daemon *d, enum webhook_source src,
    const struct webhook_request *req, const char *ok_text,
    struct connector_events *events, int rc, const char *err,
    const char *account, const char *delivery, webhook_reply_cb *cb,
    void *arg)
{
    struct webhook_answer *a;
    struct webhook_batch b = {
        .platform = webhook_source_name(src),
        .rc = rc,
        .err = err,
        .body = req->body,
        .len = req->len,
        .account = account,
        .delivery = delivery,
    };
    struct webhook_reply r = {
        .status = 500, .code = "internal", .message = "out of memory",
    };

    if ((a = xcalloc(1, sizeof(*a))) == NULL) {
        connector_events_free(events);
        cb(&r, arg);
        return;
    }
    a->d = d;
    a->source = src;
    a->ok_text = ok_text;
    a->cb = cb;
    a->arg = arg;
    webhook_apply_batch(d, &b, events, webhook_answer_cb, a);
}

/* ---------------------------------------------------------------------
 * Meta
 * ------------------------------------------------------------------ */

static bool
webhook_is_meta(const struct connector_account *a)
{
    return strcmp(a->platform, CONNECTOR_FACEBOOK) == 0 ||
        strcmp(a->platform, CONNECTOR_INSTAGRAM) == 0;
}

/*
 * Did an account before i have this app secret? Then its HMAC was done:
 * fifty Pages of one app cost one HMAC of the body, not fifty. Both sides
 * are configured values, so a plain compare leaks nothing.
 */
static bool
webhook_secret_seen(const struct connector_account *all, size_t i,
    const char *secret)
{
    for (size_t j = 0; j < i; j++) {
        if (webhook_is_meta(&all[j]) && all[j].app_secret != NULL &&
            strcmp(all[j].app_secret, secret) == 0)
            return true;
    }
    return false;
}

/*
 * The body names its Page only once parsed, so the signature is checked
 * against every distinct configured Meta app secret (usually one), each
 * in constant time and all of them every time. The entries are then
 * matched only to accounts of the app whose secret signed the body.
 */
static void
webhook_meta(struct daemon *d, const struct webhook_request *req,
    webhook_reply_cb *cb, void *arg)
{
    const struct config *cfg = d->cfg;
    const struct connector_account *all = cfg->conn_accounts, *a;
    struct connector_account *mine = NULL;
    struct connector_events events = { 0 };
    const char *secret = NULL;
    char err[WEBHOOK_ERR_MAX];
    size_t n = 0;
    int rc;

    if (req->signature == NULL) {
        webhook_reject(d, WEBHOOK_META, 401, "missing_signature",
            "X-Hub-Signature-256 is missing", cb, arg);
        return;
    }
    for (size_t i = 0; i < cfg->naccounts; i++) {
        a = &all[i];
        if (!webhook_is_meta(a) || a->app_secret == NULL ||
            webhook_secret_seen(all, i, a->app_secret))
            continue;
        if (meta_verify_signature(a->app_secret, req->body, req->len,
            req->signature) == 0 && secret == NULL)
            secret = a->app_secret;
    }
    if (secret == NULL) {
        webhook_reject(d, WEBHOOK_META, 401, "bad_signature",
            "X-Hub-Signature-256 does not match the body", cb, arg);
        return;
    }
    if ((mine = xcalloc(cfg->naccounts, sizeof(*mine))) == NULL) {
        struct webhook_reply r = {
            .status = 500, .code = "internal", .message = "out of memory",
        };

        cb(&r, arg);
        return;
    }
    for (size_t i = 0; i < cfg->naccounts; i++) {
        if (webhook_is_meta(&all[i]) && all[i].app_secret != NULL &&
            strcmp(all[i].app_secret, secret) == 0)
            mine[n++] = all[i];
    }
    rc = meta_parse(mine, n, req->body, req->len, &events, err,
        sizeof(err));
    webhook_dispatch(d, WEBHOOK_META, req, "EVENT_RECEIVED", &events, rc,
        err, NULL, NULL, cb, arg);
    xfree(mine);
}

const char *
webhook_meta_handshake(struct daemon *d, const char *mode, const char *token,
    const char *challenge)
{
    const struct config *cfg = d->cfg;
    const struct connector_account *a;
    bool ok = false;

    /* Every account is tried, so timing does not tell which matched. */
    for (size_t i = 0; i < cfg->naccounts; i++) {
        a = &cfg->conn_accounts[i];
        if (webhook_is_meta(a) && a->verify_token != NULL &&
            meta_verify_handshake(a->verify_token, mode, token,
            challenge) == 0)
            ok = true;
    }
    if (!ok) {
        metrics_add2(d->metrics, "inboxd_webhook_rejected_total",
            "platform", "meta", "reason", "bad_handshake", 1);
        return NULL;
    }
    log_info("meta webhook: subscription handshake answered");
    return challenge;
}

/* ---------------------------------------------------------------------
 * VK
 * ------------------------------------------------------------------ */

/*
 * Retries of one event (X-Retry-Counter, same event_id) are not
 * de-duplicated by event_id: every write is idempotent by item id, and a
 * "seen" key set before the writes would lose an event whose writes
 * failed, while one set after them would cost a round trip and save
 * nothing. docs/connectors.md.
 */
static void
webhook_vk(struct daemon *d, const struct webhook_request *req,
    webhook_reply_cb *cb, void *arg)
{
    const struct config *cfg = d->cfg;
    struct connector_events events = { 0 };
    char err[WEBHOOK_ERR_MAX];
    struct vk_callback vcb;
    int rc;

    if (vk_verify(cfg->conn_accounts, cfg->naccounts, req->body, req->len,
        &vcb, err, sizeof(err)) == -1) {
        if (strncmp(err, "body.secret:", 12) == 0)
            webhook_reject(d, WEBHOOK_VK, 403, "bad_secret",
                "the secret does not match", cb, arg);
        else if (strncmp(err, "body.group_id:", 14) == 0 &&
            strstr(err, "not configured") != NULL)
            webhook_reject(d, WEBHOOK_VK, 403, "unknown_account",
                "no such community", cb, arg);
        else if (strstr(err, "confirmation requested") != NULL)
            webhook_reject(d, WEBHOOK_VK, 403, "no_confirmation",
                "no confirmation string is configured for the community",
                cb, arg);
        else
            webhook_reject(d, WEBHOOK_VK, 400, "malformed", err, cb, arg);
        return;
    }
    /* Without a secret anyone who knows the URL could post events. */
    if (vcb.account->vk_secret == NULL) {
        webhook_reject(d, WEBHOOK_VK, 403, "no_secret",
            "the community has no secret configured", cb, arg);
        return;
    }
    if (vcb.confirmation) {
        log_info("vk webhook: confirmation for community %s answered",
            vcb.account->id);
        webhook_ok(vcb.reply, cb, arg);
        return;
    }
    if (req->retry != NULL)
        log_debug("webhook", "vk webhook: event %s, retry %s", vcb.event_id,
            req->retry);
    rc = vk_parse(vcb.account, req->body, req->len, NULL, &events, err,
        sizeof(err));
    webhook_dispatch(d, WEBHOOK_VK, req, "ok", &events, rc, err,
        vcb.account->id, vcb.event_id[0] ? vcb.event_id : NULL, cb, arg);
}

/* ---------------------------------------------------------------------
 * Telegram
 * ------------------------------------------------------------------ */

static void
webhook_telegram(struct daemon *d, const struct webhook_request *req,
    webhook_reply_cb *cb, void *arg)
{
    const struct config *cfg = d->cfg;
    const struct connector_account *a = NULL;
    struct connector_events events = { 0 };
    char err[WEBHOOK_ERR_MAX], upd[24];
    int64_t update_id = -1;
    int rc;

    for (size_t i = 0; i < cfg->naccounts && a == NULL; i++) {
        if (strcmp(cfg->conn_accounts[i].platform, CONNECTOR_TELEGRAM) ==
            0 && req->account != NULL &&
            strcmp(cfg->conn_accounts[i].id, req->account) == 0)
            a = &cfg->conn_accounts[i];
    }
    if (a == NULL) {
        webhook_reject(d, WEBHOOK_TELEGRAM, 404, "unknown_account",
            "no such bot", cb, arg);
        return;
    }
    /* An account without a secret is polled, never a webhook. */
    if (a->telegram_secret == NULL) {
        webhook_reject(d, WEBHOOK_TELEGRAM, 403, "no_secret",
            "the bot has no webhook_secret configured", cb, arg);
        return;
    }
    if (telegram_verify_secret(a->telegram_secret, req->secret_token) ==
        -1) {
        webhook_reject(d, WEBHOOK_TELEGRAM, 403, req->secret_token == NULL ?
            "missing_secret" : "bad_secret",
            "X-Telegram-Bot-Api-Secret-Token does not match", cb, arg);
        return;
    }
    rc = telegram_parse_update(a, req->body, req->len, &update_id, &events,
        err, sizeof(err));
    if (update_id >= 0)
        snprintf(upd, sizeof(upd), "%lld", (long long)update_id);
    webhook_dispatch(d, WEBHOOK_TELEGRAM, req, "", &events, rc, err, a->id,
        update_id >= 0 ? upd : NULL, cb, arg);
}

/* ------------------------------------------------------------------- API */

void
webhook_deliver(struct daemon *d, const struct webhook_request *req,
    webhook_reply_cb *cb, void *arg)
{
    switch (req->source) {
    case WEBHOOK_META:
        webhook_meta(d, req, cb, arg);
        break;
    case WEBHOOK_VK:
        webhook_vk(d, req, cb, arg);
        break;
    case WEBHOOK_TELEGRAM:
        webhook_telegram(d, req, cb, arg);
        break;
    }
}
