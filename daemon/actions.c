/*
 * actions: the executor of outbound actions. Each round (every
 * actions.interval, or at once after a kick) asks the actions script
 * to "take" up to as many due actions as there are free request slots;
 * each taken action is leased to this process for twice the request
 * timeout plus a second, so a process that dies mid-request loses nothing: the
 * lease runs out and another takes it (and leaves a non-idempotent one
 * uncertain instead of sending it twice).
 *
 *   take -> build the request (outbound.h) -> curlev -> judge the answer
 *        -> finish: done | retry in N ms | failed | uncertain | dry_run
 *
 * Retries back off from actions.backoff_min, doubling to backoff_max,
 * and never sooner than the platform asked (Retry-After, Telegram's
 * retry_after, VK's and Meta's rate-limit codes). A rate limit also
 * pauses the account in this process for that long: its other due
 * actions are left waiting instead of being sent into the limit. After
 * actions.max_attempts an action fails for good.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "actions.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "connector.h"
#include "curlev.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "outbound.h"
#include "queue.h"
#include "util.h"

/* A lease is twice the request timeout plus this: time to be taken,
 * sent and recorded. */
#define ACTIONS_LEASE_MARGIN_MS     1000
/* Accounts paused by a rate limit, at most. */
#define ACTIONS_PAUSES_MAX          64
/* Bytes of the platform's answer that are judged. */
#define ACTIONS_MAX_RESPONSE        (256 * 1024)

struct actions_pause {
    char key[160];              /* "platform:account" */
    int64_t until_ms;
};

struct actions {
    struct daemon *d;
    struct event *ev_tick;
    char consumer[128];         /* this process, as the actions' owner */
    unsigned running;           /* requests in flight */
    unsigned recording;         /* finish commands not answered yet */
    bool taking;                /* a take is not answered yet */
    bool started;
    bool stopping;
    struct actions_pause pauses[ACTIONS_PAUSES_MAX];
};

/* One action taken, from the take to its finish. */
struct actions_run {
    struct actions *a;
    struct config *cfg;         /* a reference */
    char *id;                   /* the action's id */
    char *item_id;
    char *by;
    char *platform;
    char *account;
    char *text;
    json_t *item;
    long attempts;
    bool dry_run;
    struct outbound_action oa;
    struct outbound_request req;
    int64_t started_us;
};

static const struct metrics_family_decl actions_metrics[] = {
    {"inboxd_actions_total", METRICS_COUNTER,
        "Outbound action attempts by platform and result (done, retry, "
        "failed, uncertain, dry_run)."},
    {"inboxd_actions_in_flight", METRICS_GAUGE,
        "Outbound requests this process is waiting on."},
    {"inboxd_action_seconds", METRICS_HISTOGRAM,
        "Time from sending an action to the platform's answer."},
    {"inboxd_actions_paused_total", METRICS_COUNTER,
        "Rate-limit pauses of an account, by platform."},
};

void
actions_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, actions_metrics, nitems(actions_metrics));
}

static void actions_round(struct actions *a);

/* ------------------------------------------------------------- pauses */

static void
actions_pause(struct actions *a, const char *platform, const char *account,
    int64_t until_ms)
{
    struct actions_pause *slot = NULL;
    char key[160];
    int64_t now = util_now_ms();

    snprintf(key, sizeof(key), "%s:%s", platform, account);
    for (size_t i = 0; i < ACTIONS_PAUSES_MAX; i++) {
        struct actions_pause *p = &a->pauses[i];

        if (strcmp(p->key, key) == 0) {
            slot = p;
            break;
        }
        if (slot == NULL && p->until_ms <= now)
            slot = p;
    }
    if (slot == NULL)
        return;             /* 64 accounts paused at once: the lease waits */
    snprintf(slot->key, sizeof(slot->key), "%s", key);
    if (slot->until_ms < until_ms)
        slot->until_ms = until_ms;
    metrics_add(a->d->metrics, "inboxd_actions_paused_total", "platform",
        platform, 1);
}

/* The paused accounts, comma separated, for take. */
static void
actions_paused_csv(struct actions *a, struct buf *out)
{
    int64_t now = util_now_ms();

    for (size_t i = 0; i < ACTIONS_PAUSES_MAX; i++) {
        if (a->pauses[i].until_ms > now)
            buf_printf(out, "%s%s", out->len ? "," : "", a->pauses[i].key);
    }
}

/* ------------------------------------------------------------- outcome */

static void
actions_run_free(struct actions_run *r)
{
    outbound_request_clear(&r->req);
    config_unref(r->cfg);
    json_decref(r->item);
    xfree(r->id);
    xfree(r->item_id);
    xfree(r->by);
    xfree(r->platform);
    xfree(r->account);
    xfree(r->text);
    xfree(r);
}

static void
actions_finish_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct actions_run *r = arg;
    struct actions *a = r->a;

    a->recording--;
    if (st != QUEUE_UPDATED)
        log_item_warnx(r->item_id, "action %s: outcome not recorded "
            "(redis %s); its lease will run out and it is taken again",
            r->id, queue_strstatus(st));
    else if (json_is_true(json_object_get(reply, "stale")))
        log_item_warnx(r->item_id, "action %s: taken over by another "
            "process before its outcome was recorded", r->id);
    actions_run_free(r);
}

/* Record the outcome in Redis and free the run. */
static void
actions_finish(struct actions_run *r, const char *state, int64_t delay_ms,
    long status, const char *detail)
{
    struct actions *a = r->a;
    const struct config *cfg = r->cfg;
    char audit[24], ttl[24], delay[24], code[16];
    const char *show = r->req.show.data != NULL ? r->req.show.data : "";
    const char *why = NULL;
    int u = outbound_undo(r->platform, r->oa.type, &why);
    char undo[192];
    const char *args[] = { audit, ttl, a->consumer, r->id, state, delay,
        code, detail, show, undo };

    snprintf(audit, sizeof(audit), "%lld",
        (long long)cfg->queue.audit_maxlen);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)cfg->queue.item_ttl_ms);
    snprintf(delay, sizeof(delay), "%lld", (long long)delay_ms);
    snprintf(code, sizeof(code), "%ld", status);
    /* The audit says how to undo it, or that the platform cannot. */
    if (u != -1)
        snprintf(undo, sizeof(undo), "%s", outbound_type_name(
            (enum outbound_type)u));
    else
        snprintf(undo, sizeof(undo), "none: %s", why ? why : "-");
    metrics_add2(a->d->metrics, "inboxd_actions_total", "platform",
        r->platform, "result", state, 1);
    if (strcmp(state, "retry") == 0)
        log_item_info(r->item_id, "action %s %s: attempt %ld: %s; again in "
            "%lld ms", r->id, outbound_type_name(r->oa.type), r->attempts,
            detail, (long long)delay_ms);
    else if (strcmp(state, "done") == 0 || strcmp(state, "dry_run") == 0)
        log_item_info(r->item_id, "action %s %s by %s: %s (%s)", r->id,
            outbound_type_name(r->oa.type), r->by, state, detail);
    else
        log_item_warnx(r->item_id, "action %s %s by %s: %s: %s", r->id,
            outbound_type_name(r->oa.type), r->by, state, detail);
    if (queue_actions(a->d->queue, "finish", args, nitems(args),
        actions_finish_cb, r) == -1) {
        log_item_warnx(r->item_id, "action %s: redis unavailable; its "
            "lease will run out and it is taken again", r->id);
        actions_run_free(r);
        return;
    }
    a->recording++;
}

/* The pause before attempt n + 1: doubling, within the configured bounds. */
static int64_t
actions_backoff(const struct config *cfg, long attempts)
{
    int64_t d = cfg->actions.backoff_min_ms;

    for (long i = 1; i < attempts && d < cfg->actions.backoff_max_ms; i++)
        d *= 2;
    return d < cfg->actions.backoff_max_ms ? d : cfg->actions.backoff_max_ms;
}

static void
actions_judged(struct actions_run *r, long status,
    const struct outbound_result *res)
{
    static const char *const states[] = {
        [OUTBOUND_DONE] = "done",
        [OUTBOUND_RETRY] = "retry",
        [OUTBOUND_FAILED] = "failed",
        [OUTBOUND_UNCERTAIN] = "uncertain",
    };
    char detail[320];
    int64_t delay = 0;

    snprintf(detail, sizeof(detail), "%s", res->detail);
    if (res->verdict == OUTBOUND_RETRY) {
        delay = actions_backoff(r->cfg, r->attempts);
        if (res->retry_after_ms > delay)
            delay = res->retry_after_ms;
        if (res->rate_limited)
            actions_pause(r->a, r->platform, r->account,
                util_now_ms() + delay);
        if (r->attempts >= r->cfg->actions.max_attempts) {
            snprintf(detail, sizeof(detail), "gave up after %ld attempts: "
                "%s", r->attempts, res->detail);
            actions_finish(r, "failed", 0, status, detail);
            return;
        }
    }
    actions_finish(r, states[res->verdict], delay, status, detail);
}

static void
actions_sent_cb(const struct curlev_response *resp, void *arg)
{
    struct actions_run *r = arg;
    struct actions *a = r->a;
    struct outbound_result res;

    a->running--;
    metrics_set(a->d->metrics, "inboxd_actions_in_flight", NULL, NULL,
        a->running);
    if (resp->result == CURLEV_CANCELLED) {
        /* Shutting down: the lease runs out and the action is taken
         * again, or left uncertain when it must not be re-sent. */
        actions_run_free(r);
        return;
    }
    metrics_observe(a->d->metrics, "inboxd_action_seconds",
        (double)(util_mono_us() - r->started_us) / 1e6);
    if (resp->result == CURLEV_OK)
        outbound_judge(&r->oa, r->req.idempotent, resp->status, resp->body,
            resp->len, resp->retry_after_ms, &res);
    else
        outbound_judge_transport(resp->result != CURLEV_CONNECT,
            r->req.idempotent, resp->result == CURLEV_TIMEOUT ?
            "timed out" : resp->error, &res);
    actions_judged(r, resp->result == CURLEV_OK ? resp->status : 0, &res);
    if (!a->stopping)
        actions_kick(a);
}

/* ---------------------------------------------------------------- send */

/* Where each platform's API is and which of the account's secrets it takes. */
static const struct {
    const char *platform;
    size_t base;                /* char * in struct config */
    size_t token;               /* char * in struct config_account */
} actions_creds[] = {
    { CONNECTOR_FACEBOOK, offsetof(struct config, platforms.facebook.api_base),
      offsetof(struct config_account, access_token) },
    { CONNECTOR_INSTAGRAM,
      offsetof(struct config, platforms.instagram.api_base),
      offsetof(struct config_account, access_token) },
    { CONNECTOR_VK, offsetof(struct config, platforms.vk.api_base),
      offsetof(struct config_account, access_token) },
    { CONNECTOR_TELEGRAM, offsetof(struct config, platforms.telegram.api_base),
      offsetof(struct config_account, bot_token) },
    { CONNECTOR_YOUTUBE, offsetof(struct config, platforms.youtube.api_base),
      offsetof(struct config_account, oauth_token) },
};

static void
actions_set_creds(struct actions_run *r)
{
    const struct config_account *acc = config_find_account(r->cfg,
        r->platform, r->account);

    for (size_t i = 0; i < nitems(actions_creds); i++) {
        if (strcmp(actions_creds[i].platform, r->platform) != 0)
            continue;
        r->oa.api_base = *(char *const *)((const char *)r->cfg +
            actions_creds[i].base);
        if (acc != NULL)
            r->oa.token = *(char *const *)((const char *)acc +
                actions_creds[i].token);
    }
    if (acc != NULL && strcmp(r->platform, CONNECTOR_VK) == 0) {
        r->oa.user_token = acc->user_token;
        r->oa.api_version = r->cfg->platforms.vk.version;
    }
}

static void
actions_send(struct actions_run *r)
{
    struct actions *a = r->a;
    struct curlev_request cr;
    char err[256], logname[64];

    r->oa.id = r->id;
    r->oa.text = r->text;
    r->oa.item = r->item;
    actions_set_creds(r);
    if (outbound_build(&r->oa, &r->req, err, sizeof(err)) == -1) {
        actions_finish(r, "failed", 0, 0, err);
        return;
    }
    if (r->dry_run) {
        actions_finish(r, "dry_run", 0, 0, "not sent: dry run");
        return;
    }
    snprintf(logname, sizeof(logname), "%s %s", r->platform,
        outbound_type_name(r->oa.type));
    memset(&cr, 0, sizeof(cr));
    cr.method = r->req.method;
    cr.url = r->req.url.data;
    cr.log_name = logname;
    cr.headers = r->req.headers;
    cr.body = r->req.body.data;
    cr.len = r->req.body.len;
    cr.timeout_ms = r->cfg->actions.timeout_ms;
    cr.max_response = ACTIONS_MAX_RESPONSE;
    r->started_us = util_mono_us();
    if (curlev_start(a->d->curlev, &cr, actions_sent_cb, r) == NULL) {
        actions_finish(r, "retry", actions_backoff(r->cfg, r->attempts), 0,
            "cannot start the request");
        return;
    }
    a->running++;
    metrics_set(a->d->metrics, "inboxd_actions_in_flight", NULL, NULL,
        a->running);
}

static char *
actions_field(json_t *h, const char *key)
{
    const char *s = json_string_value(json_object_get(h, key));

    return xstrdup(s != NULL ? s : "");
}

/* One action of take's answer: fill a run and send it. */
static void
actions_start_one(struct actions *a, struct config *cfg, json_t *h)
{
    const char *ijson = json_string_value(json_object_get(h, "item_json"));
    struct actions_run *r;
    const char *type;
    int t;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;             /* its lease runs out; taken again */
    r->a = a;
    r->cfg = config_ref(cfg);
    outbound_request_init(&r->req);
    r->id = actions_field(h, "id");
    r->item_id = actions_field(h, "item");
    r->by = actions_field(h, "by");
    r->text = actions_field(h, "text");
    r->dry_run = strcmp(json_string_value(json_object_get(h, "dry_run")) ?
        json_string_value(json_object_get(h, "dry_run")) : "0", "1") == 0;
    r->attempts = strtol(json_string_value(json_object_get(h, "attempts")) ?
        json_string_value(json_object_get(h, "attempts")) : "1", NULL, 10);
    if (ijson != NULL && *ijson != '\0')
        r->item = json_loads(ijson, 0, NULL);
    /* The item says where it lives; the request's fields are a fallback. */
    r->platform = xstrdup(outbound_item_str(r->item, "platform") ?
        outbound_item_str(r->item, "platform") :
        json_string_value(json_object_get(h, "platform")) ?
        json_string_value(json_object_get(h, "platform")) : "");
    r->account = xstrdup(outbound_item_str(r->item, "account.id") ?
        outbound_item_str(r->item, "account.id") :
        json_string_value(json_object_get(h, "account")) ?
        json_string_value(json_object_get(h, "account")) : "");
    if (r->id == NULL || r->item_id == NULL || r->by == NULL ||
        r->text == NULL || r->platform == NULL || r->account == NULL) {
        actions_run_free(r);
        return;
    }
    type = json_string_value(json_object_get(h, "type"));
    if ((t = outbound_type_from_name(type)) == -1) {
        actions_finish(r, "failed", 0, 0, "unknown action type");
        return;
    }
    r->oa.type = (enum outbound_type)t;
    if (r->item == NULL) {
        actions_finish(r, "failed", 0, 0, "the item is no longer stored");
        return;
    }
    actions_send(r);
}

/* --------------------------------------------------------------- rounds */

struct actions_take {
    struct actions *a;
    struct config *cfg;
};

static void
actions_take_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct actions_take *tk = arg;
    struct actions *a = tk->a;
    json_t *list = json_object_get(reply, "actions"), *h;
    size_t i;

    a->taking = false;
    if (st == QUEUE_UPDATED && !a->stopping) {
        json_array_foreach(list, i, h)
            actions_start_one(a, tk->cfg, h);
    }
    config_unref(tk->cfg);
    xfree(tk);
    /* A full batch: more may be due. */
    if (st == QUEUE_UPDATED && json_array_size(list) > 0 && !a->stopping)
        actions_kick(a);
}

static void
actions_round(struct actions *a)
{
    struct daemon *d = a->d;
    const struct config *cfg = d->cfg;
    struct actions_take *tk;
    char audit[24], ttl[24], n[24], lease[24];
    struct buf paused;
    const char *args[7];
    long free_slots = (long)cfg->actions.concurrency - (long)a->running;

    if (a->taking || a->stopping || free_slots <= 0 ||
        !queue_is_up(d->queue))
        return;
    if ((tk = xcalloc(1, sizeof(*tk))) == NULL)
        return;
    tk->a = a;
    tk->cfg = config_ref(d->cfg);
    snprintf(audit, sizeof(audit), "%lld",
        (long long)cfg->queue.audit_maxlen);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)cfg->queue.item_ttl_ms);
    snprintf(n, sizeof(n), "%ld", free_slots);
    snprintf(lease, sizeof(lease), "%lld", (long long)
        (2 * cfg->actions.timeout_ms + ACTIONS_LEASE_MARGIN_MS));
    buf_init(&paused, 64 * 1024);
    actions_paused_csv(a, &paused);
    args[0] = audit;
    args[1] = ttl;
    args[2] = a->consumer;
    args[3] = n;
    args[4] = lease;
    args[5] = outbound_nonidempotent;
    args[6] = paused.data != NULL ? paused.data : "";
    if (queue_actions(d->queue, "take", args, nitems(args), actions_take_cb,
        tk) == 0) {
        a->taking = true;
    } else {
        config_unref(tk->cfg);
        xfree(tk);
    }
    buf_free(&paused);
}

static void
actions_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    struct actions *a = arg;
    struct timeval tv;
    int64_t ms = a->d->cfg->actions.interval_ms;

    (void)fd;
    (void)what;
    actions_round(a);
    if (a->stopping)
        return;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(a->ev_tick, &tv);
}

struct actions *
actions_new(struct daemon *d)
{
    struct actions *a;

    if ((a = xcalloc(1, sizeof(*a))) == NULL)
        return NULL;
    a->d = d;
    util_instance_name(a->consumer, sizeof(a->consumer));
    if ((a->ev_tick = evtimer_new(d->base, actions_tick_cb, a)) == NULL) {
        xfree(a);
        return NULL;
    }
    actions_declare_metrics(d->metrics);
    return a;
}

void
actions_start(struct actions *a)
{
    a->started = true;
    actions_kick(a);
}

void
actions_kick(struct actions *a)
{
    struct timeval zero = { 0, 0 };

    if (a == NULL || !a->started || a->stopping)
        return;
    evtimer_add(a->ev_tick, &zero);
}

void
actions_stop(struct actions *a)
{
    if (a == NULL)
        return;
    a->stopping = true;
    evtimer_del(a->ev_tick);
}

unsigned
actions_busy(const struct actions *a)
{
    return a != NULL ? a->running + a->recording : 0;
}

void
actions_free(struct actions *a)
{
    if (a == NULL)
        return;
    a->stopping = true;
    event_free(a->ev_tick);
    xfree(a);
}
