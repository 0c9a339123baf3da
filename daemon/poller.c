/*
 * poller: the generic half of polling. One struct poller_acct per polled
 * account (poller_internal.h) goes through rounds driven by one evtimer:
 *
 *   wake -> lease (take or renew <prefix>lease:<platform>:<id>)
 *        -> the platform's round (poller_telegram.c, poller_youtube.c):
 *           requests, batches through webhook_apply_batch, cursor writes
 *        -> poller_round_end -> the timer for the next wake
 *
 * The lease is renewed by its own timer every third of its TTL while
 * held, so a long poll or a long wait between YouTube rounds keeps it.
 * A process that cannot take it stays on standby and tries again every
 * half TTL. Cursor writes are fenced by the lease inside Redis
 * (queue_cursor_set), so a process that lost its lease mid-round cannot
 * move a cursor.
 *
 * Stopping (drain or reload) cancels the request in flight; a batch
 * already in the pipeline finishes and moves its cursor; then the lease
 * is released and the account freed, once its last callback has run
 * (busy counts them). Reloads hand unchanged accounts the new snapshot at
 * their next round.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "log.h"
#include "metrics.h"
#include "poller.h"
#include "poller_internal.h"
#include "queue.h"
#include "util.h"

#define POLLER_DAY_MS   (24LL * 3600 * 1000)
#define POLLER_HOUR_MS  (3600LL * 1000)

static const struct metrics_family_decl poller_metric_families[] = {
    {"inboxd_poll_requests_total", METRICS_COUNTER,
        "Platform API polls by platform and result (ok, rate_limited, "
        "conflict, unauthorized, quota_exceeded, api_error, network, "
        "unreadable)."},
    {"inboxd_poll_stopped_total", METRICS_COUNTER,
        "Polled accounts or targets given up until the config changes, by "
        "platform and reason."},
    {"inboxd_poll_lease_held", METRICS_GAUGE,
        "1 while this process holds the polling lease of the account."},
    {"inboxd_youtube_quota_used", METRICS_GAUGE,
        "YouTube Data API units spent today (Pacific time), as counted in "
        "Redis by every inboxd sharing it."},
};

static void poller_acct_check(struct poller_acct *pa);

void
poller_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, poller_metric_families,
        nitems(poller_metric_families));
}

/* ---------------------------------------------------------------------
 * Pure helpers
 * ------------------------------------------------------------------ */

static uint64_t
poller_rand(uint64_t *s)
{
    uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ULL;

    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    *s = x;
    return x;
}

int64_t
poller_backoff(int64_t *cur_ms, int64_t min_ms, int64_t max_ms,
    uint64_t *rng)
{
    int64_t cur = *cur_ms, half;

    if (min_ms < 1)
        min_ms = 1;
    if (max_ms < min_ms)
        max_ms = min_ms;
    cur = cur < min_ms ? min_ms : cur > max_ms / 2 ? max_ms : cur * 2;
    if (*cur_ms == 0)
        cur = min_ms;
    *cur_ms = cur;
    half = cur / 2;
    return half + (int64_t)(poller_rand(rng) % (uint64_t)(cur - half + 1));
}

/* Days since 1970-01-01 of a civil date (H. Hinnant's algorithm). */
static int64_t
poller_days_from_civil(int64_t y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void
poller_civil_from_days(int64_t z, int64_t *y, int *m, int *d)
{
    int64_t era, doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = z - era * 146097;
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = yoe + era * 400 + (*m <= 2);
}

/* The day of month of the n-th Sunday (n 1..) of y-m. */
static int
poller_nth_sunday(int64_t y, int m, int n)
{
    int64_t first = poller_days_from_civil(y, m, 1);
    /* 1970-01-01 was a Thursday: (days + 4) % 7 is 0 on Sundays. */
    int wd = (int)(((first + 4) % 7 + 7) % 7);

    return 1 + (7 - wd) % 7 + 7 * (n - 1);
}

/* UTC offset of US Pacific time at t, in ms (-7 h or -8 h). */
static int64_t
poller_pacific_offset(int64_t t)
{
    int64_t y, days = t >= 0 ? t / POLLER_DAY_MS :
        (t - POLLER_DAY_MS + 1) / POLLER_DAY_MS;
    int m, d;
    int64_t start, end;

    poller_civil_from_days(days, &y, &m, &d);
    /* 2:00 PST is 10:00 UTC; 2:00 PDT is 9:00 UTC. */
    start = poller_days_from_civil(y, 3, poller_nth_sunday(y, 3, 2)) *
        POLLER_DAY_MS + 10 * POLLER_HOUR_MS;
    end = poller_days_from_civil(y, 11, poller_nth_sunday(y, 11, 1)) *
        POLLER_DAY_MS + 9 * POLLER_HOUR_MS;
    return t >= start && t < end ? -7 * POLLER_HOUR_MS :
        -8 * POLLER_HOUR_MS;
}

void
poller_pacific_day(int64_t now_ms, char day[11], int64_t *next_reset_ms)
{
    int64_t off = poller_pacific_offset(now_ms), local = now_ms + off;
    int64_t days = local >= 0 ? local / POLLER_DAY_MS :
        (local - POLLER_DAY_MS + 1) / POLLER_DAY_MS;
    int64_t y, next;
    char buf[48];
    int m, d;

    poller_civil_from_days(days, &y, &m, &d);
    snprintf(buf, sizeof(buf), "%04d-%02d-%02d", (int)(y % 10000), m, d);
    memcpy(day, buf, 10);
    day[10] = '\0';
    /* Midnight is never inside a change (they happen at 2:00), but the
     * offset at the next midnight may differ from now's. */
    next = (days + 1) * POLLER_DAY_MS - off;
    if (poller_pacific_offset(next) != off)
        next = (days + 1) * POLLER_DAY_MS - poller_pacific_offset(next);
    if (next_reset_ms != NULL)
        *next_reset_ms = next;
}

void
poller_cursor_clear(struct poller_cursor *c)
{
    for (size_t i = 0; i < c->nids; i++)
        xfree(c->ids[i]);
    XFREE(&c->ids);
    c->nids = 0;
    c->ms = 0;
}

bool
poller_cursor_has(const struct poller_cursor *c, const char *id)
{
    for (size_t i = 0; i < c->nids; i++) {
        if (strcmp(c->ids[i], id) == 0)
            return true;
    }
    return false;
}

int
poller_cursor_add(struct poller_cursor *c, const char *id)
{
    char **v;

    if (poller_cursor_has(c, id) || c->nids >= POLLER_CURSOR_IDS_MAX)
        return 0;
    if ((v = xrealloc(c->ids, (c->nids + 1) * sizeof(*v))) == NULL)
        return -1;
    c->ids = v;
    if ((v[c->nids] = xstrdup(id)) == NULL)
        return -1;
    c->nids++;
    return 0;
}

int
poller_cursor_parse(const char *s, struct poller_cursor *c)
{
    json_t *root, *ids, *v;
    const char *at;
    size_t i;
    int rc = -1;

    poller_cursor_clear(c);
    if ((root = json_loads(s, JSON_REJECT_DUPLICATES, NULL)) == NULL)
        return -1;
    at = json_string_value(json_object_get(root, "published_at"));
    ids = json_object_get(root, "ids");
    if (at == NULL || util_parse_time(at, &c->ms) == -1 ||
        (ids != NULL && !json_is_array(ids)))
        goto out;
    json_array_foreach(ids, i, v) {
        if (!json_is_string(v) || poller_cursor_add(c,
            json_string_value(v)) == -1)
            goto out;
    }
    rc = 0;
out:
    if (rc == -1)
        poller_cursor_clear(c);
    json_decref(root);
    return rc;
}

char *
poller_cursor_format(const struct poller_cursor *c)
{
    json_t *root, *ids;
    char at[32], *s = NULL;

    util_format_time(c->ms, at);
    if ((ids = json_array()) == NULL)
        return NULL;
    for (size_t i = 0; i < c->nids; i++) {
        if (json_array_append_new(ids, json_string(c->ids[i])) == -1) {
            json_decref(ids);
            return NULL;
        }
    }
    if ((root = json_pack("{s:s,s:o}", "published_at", at, "ids", ids)) !=
        NULL) {
        s = json_dumps(root, JSON_COMPACT);
        json_decref(root);
    }
    return s;
}

/* ---------------------------------------------------------------------
 * Accounts
 * ------------------------------------------------------------------ */

static const struct poller_ops *
poller_ops_for(const struct config_account *a)
{
    if (!a->poll || a->platform == NULL)
        return NULL;
    if (strcmp(a->platform, CONNECTOR_TELEGRAM) == 0)
        return &poller_telegram_ops;
    if (strcmp(a->platform, CONNECTOR_YOUTUBE) == 0)
        return &poller_youtube_ops;
    return NULL;
}

/* The index of platform:id among cfg's accounts, or -1. */
static long
poller_find(const struct config *cfg, const char *platform, const char *id)
{
    for (size_t i = 0; i < cfg->naccounts; i++) {
        if (cfg->accounts[i].platform != NULL &&
            strcmp(cfg->accounts[i].platform, platform) == 0 &&
            cfg->accounts[i].id != NULL &&
            strcmp(cfg->accounts[i].id, id) == 0)
            return (long)i;
    }
    return -1;
}

static bool
poller_str_eq(const char *a, const char *b)
{
    return a == NULL || b == NULL ? a == b : strcmp(a, b) == 0;
}

/* Would a poller of a do anything different for b? */
static bool
poller_same(const struct config_account *a, const struct config_account *b)
{
    if (a->poll != b->poll || a->poll_channel != b->poll_channel ||
        !poller_str_eq(a->bot_token, b->bot_token) ||
        !poller_str_eq(a->api_key, b->api_key) ||
        !poller_str_eq(a->oauth_token, b->oauth_token) ||
        a->nvideo_ids != b->nvideo_ids ||
        a->nself_ids != b->nself_ids)
        return false;
    for (size_t i = 0; i < a->nvideo_ids; i++) {
        if (strcmp(a->video_ids[i], b->video_ids[i]) != 0)
            return false;
    }
    for (size_t i = 0; i < a->nself_ids; i++) {
        if (strcmp(a->self_ids[i], b->self_ids[i]) != 0)
            return false;
    }
    return true;
}

static void
poller_lease_gauge(struct poller_acct *pa, bool held)
{
    metrics_set(pa->p->d->metrics, "inboxd_poll_lease_held", "account",
        pa->name, held ? 1 : 0);
}

static void
poller_acct_free(struct poller_acct *pa)
{
    struct poller *p = pa->p;

    TAILQ_REMOVE(&p->accts, pa, entry);
    p->naccts--;
    if (pa->ops != NULL && pa->data != NULL)
        pa->ops->free(pa);
    if (pa->ev_wake != NULL)
        event_free(pa->ev_wake);
    if (pa->ev_renew != NULL)
        event_free(pa->ev_renew);
    config_unref(pa->cfg);
    config_unref(pa->next_cfg);
    log_debug("poller", "%s: poller freed", pa->name);
    xfree(pa);
}

static void
poller_schedule(struct poller_acct *pa, int64_t delay_ms)
{
    struct timeval tv;

    if (delay_ms < 0)
        delay_ms = 0;
    tv.tv_sec = (time_t)(delay_ms / 1000);
    tv.tv_usec = (suseconds_t)((delay_ms % 1000) * 1000);
    evtimer_add(pa->ev_wake, &tv);
}

static void
poller_renew_arm(struct poller_acct *pa)
{
    int64_t ms = pa->cfg->polling.lease_ttl_ms / 3;
    struct timeval tv;

    if (ms < 100)
        ms = 100;
    tv.tv_sec = (time_t)(ms / 1000);
    tv.tv_usec = (suseconds_t)((ms % 1000) * 1000);
    evtimer_add(pa->ev_renew, &tv);
}

static void
poller_set_held(struct poller_acct *pa, bool held)
{
    if (pa->lease_held == held)
        return;
    pa->lease_held = held;
    poller_lease_gauge(pa, held);
    if (held && !pa->retiring)
        poller_renew_arm(pa);
    else
        evtimer_del(pa->ev_renew);
}

static void
poller_release_cb(enum queue_status st, const char *value, void *arg)
{
    struct poller_acct *pa = arg;

    (void)value;
    pa->busy--;
    pa->p->d->inflight--;
    log_debug("poller", "%s: lease released (%s)", pa->name,
        queue_strstatus(st));
    poller_acct_check(pa);
}

/* Give the lease back; counted in d->inflight so a drain waits for it. */
static void
poller_release(struct poller_acct *pa)
{
    struct daemon *d = pa->p->d;

    if (!pa->lease_held)
        return;
    poller_set_held(pa, false);
    if (pa->p->freeing)
        return;
    pa->busy++;
    d->inflight++;
    if (queue_lease(d->queue, pa->name, pa->p->owner, 0, poller_release_cb,
        pa) == -1) {
        pa->busy--;
        d->inflight--;
    }
}

/*
 * A retiring account with nothing in flight gives its lease back, then
 * is freed. Called after every callback; may free pa.
 */
static void
poller_acct_check(struct poller_acct *pa)
{
    if (!pa->retiring || pa->in_round || pa->busy > 0 || pa->p->freeing)
        return;
    poller_release(pa);
    if (pa->busy == 0)
        poller_acct_free(pa);
}

/* Take the next snapshot a reload left, at a round's start. */
static void
poller_swap_config(struct poller_acct *pa)
{
    struct config *cfg = pa->next_cfg;
    long i;

    if (cfg == NULL)
        return;
    pa->next_cfg = NULL;
    if ((i = poller_find(cfg, pa->ops->platform, pa->acct->id)) == -1) {
        config_unref(cfg);
        return;
    }
    config_unref(pa->cfg);
    pa->cfg = cfg;
    pa->acct = &cfg->accounts[i];
    pa->conn = &cfg->conn_accounts[i];
}

static void
poller_lease_cb(enum queue_status st, const char *value, void *arg)
{
    struct poller_acct *pa = arg;

    pa->busy--;
    if (pa->retiring) {
        if (st == QUEUE_STORED || st == QUEUE_UPDATED)
            poller_set_held(pa, true);
        poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    switch (st) {
    case QUEUE_STORED:
    case QUEUE_UPDATED:
        /* UPDATED: it was ours all along; nobody moved our cursors. */
        if (st == QUEUE_STORED) {
            log_info("%s: polling (lease taken)", pa->name);
            pa->ops->lease_taken(pa);
        }
        poller_set_held(pa, true);
        pa->ops->round(pa);
        return;
    case QUEUE_DUPLICATE:
        log_debug("poller", "%s: lease held by %s; standing by", pa->name,
            value ? value : "?");
        poller_round_end(pa, POLLER_NEXT_WAIT,
            pa->cfg->polling.lease_ttl_ms / 2 + poller_jitter(pa, 1000));
        return;
    default:
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
}

static void
poller_wake_cb(evutil_socket_t fd, short what, void *arg)
{
    struct poller_acct *pa = arg;
    struct daemon *d = pa->p->d;

    (void)fd;
    (void)what;
    if (pa->retiring || pa->stopped)
        return;
    poller_swap_config(pa);
    pa->in_round = true;
    if (pa->lease_held) {
        pa->ops->round(pa);
        return;
    }
    pa->busy++;
    if (queue_lease(d->queue, pa->name, pa->p->owner,
        pa->cfg->polling.lease_ttl_ms, poller_lease_cb, pa) == -1) {
        pa->busy--;
        log_debug("poller", "%s: redis is down; waiting", pa->name);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
    }
}

static void
poller_renew_done_cb(enum queue_status st, const char *value, void *arg)
{
    struct poller_acct *pa = arg;

    pa->busy--;
    pa->renewing = false;
    if (st == QUEUE_STORED || st == QUEUE_UPDATED) {
        if (pa->lease_held && !pa->retiring)
            poller_renew_arm(pa);
    } else if (st == QUEUE_DUPLICATE) {
        poller_lease_lost(pa, value);
    } else {
        /* Not known to be ours any more: take it again next round. */
        log_debug("poller", "%s: lease renewal failed (%s)", pa->name,
            queue_strstatus(st));
        poller_set_held(pa, false);
    }
    poller_acct_check(pa);
}

static void
poller_renew_cb(evutil_socket_t fd, short what, void *arg)
{
    struct poller_acct *pa = arg;
    struct daemon *d = pa->p->d;

    (void)fd;
    (void)what;
    if (!pa->lease_held || pa->retiring || pa->renewing)
        return;
    pa->renewing = true;
    pa->busy++;
    if (queue_lease(d->queue, pa->name, pa->p->owner,
        pa->cfg->polling.lease_ttl_ms, poller_renew_done_cb, pa) == -1) {
        pa->busy--;
        pa->renewing = false;
        poller_set_held(pa, false);
    }
}

static struct poller_acct *
poller_acct_new(struct poller *p, struct config *cfg, size_t i,
    const struct poller_ops *ops)
{
    struct poller_acct *pa;

    if ((pa = xcalloc(1, sizeof(*pa))) == NULL)
        return NULL;
    pa->p = p;
    pa->ops = ops;
    pa->cfg = config_ref(cfg);
    pa->acct = &cfg->accounts[i];
    pa->conn = &cfg->conn_accounts[i];
    snprintf(pa->name, sizeof(pa->name), "%s:%s", ops->platform,
        pa->acct->id);
    TAILQ_INSERT_TAIL(&p->accts, pa, entry);
    p->naccts++;
    if ((pa->ev_wake = evtimer_new(p->d->base, poller_wake_cb, pa)) ==
        NULL || (pa->ev_renew = evtimer_new(p->d->base, poller_renew_cb,
        pa)) == NULL || ops->init(pa) == -1) {
        log_warnx("%s: cannot start polling: out of memory", pa->name);
        poller_acct_free(pa);
        return NULL;
    }
    poller_lease_gauge(pa, false);
    /* Spread the first rounds of many accounts a little. */
    poller_schedule(pa, poller_jitter(pa, 250));
    log_debug("poller", "%s: poller started", pa->name);
    return pa;
}

/* Finish what is in flight, release the lease, free. May free pa. */
static void
poller_retire(struct poller_acct *pa)
{
    if (pa->retiring)
        return;
    pa->retiring = true;
    evtimer_del(pa->ev_wake);
    evtimer_del(pa->ev_renew);
    if (pa->req != NULL) {
        /* Its callback ends the round (cancelled) and may free pa. */
        curlev_cancel(pa->p->d->curlev, pa->req);
        return;
    }
    poller_acct_check(pa);
}

/* ---------------------------------------------------------------------
 * For the platform files
 * ------------------------------------------------------------------ */

bool
poller_running(const struct poller_acct *pa)
{
    return !pa->retiring;
}

int64_t
poller_jitter(struct poller_acct *pa, int64_t max_ms)
{
    if (max_ms <= 0)
        return 0;
    return (int64_t)(poller_rand(&pa->p->rng) % (uint64_t)max_ms);
}

void
poller_count_request(struct poller_acct *pa, const char *result)
{
    metrics_add2(pa->p->d->metrics, "inboxd_poll_requests_total",
        "platform", pa->ops->platform, "result", result, 1);
}

void
poller_count_stop(struct poller_acct *pa, const char *reason)
{
    metrics_add2(pa->p->d->metrics, "inboxd_poll_stopped_total",
        "platform", pa->ops->platform, "reason", reason, 1);
}

void
poller_quota_used(struct poller_acct *pa, const char *used)
{
    long v;

    if (used != NULL && util_parse_long(used, 0, LONG_MAX, &v) == 0)
        metrics_set(pa->p->d->metrics, "inboxd_youtube_quota_used", NULL,
            NULL, (double)v);
}

static void
poller_request_cb(const struct curlev_response *resp, void *arg)
{
    struct poller_acct *pa = arg;
    curlev_done_cb *cb = pa->req_cb;

    pa->req = NULL;
    pa->req_cb = NULL;
    pa->busy--;
    cb(resp, pa);
}

int
poller_request(struct poller_acct *pa, const struct curlev_request *r,
    curlev_done_cb *cb)
{
    if (pa->retiring)
        return -1;
    pa->req_cb = cb;
    if ((pa->req = curlev_start(pa->p->d->curlev, r, poller_request_cb,
        pa)) == NULL) {
        pa->req_cb = NULL;
        return -1;
    }
    pa->busy++;
    return 0;
}

static void
poller_value_cb(enum queue_status st, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    queue_value_cb *cb = pa->val_cb;

    pa->val_cb = NULL;
    pa->busy--;
    cb(st, value, pa);
}

/* A cursor write counts in d->inflight: a drain waits for it. */
static void
poller_value_set_cb(enum queue_status st, const char *value, void *arg)
{
    struct poller_acct *pa = arg;

    pa->p->d->inflight--;
    poller_value_cb(st, value, arg);
}

int
poller_cursor_get(struct poller_acct *pa, const char *name,
    queue_value_cb *cb)
{
    pa->val_cb = cb;
    pa->busy++;
    if (queue_cursor_get(pa->p->d->queue, name, poller_value_cb, pa) ==
        0)
        return 0;
    pa->busy--;
    pa->val_cb = NULL;
    return -1;
}

int
poller_cursor_set(struct poller_acct *pa, const char *name,
    const char *value, queue_value_cb *cb)
{
    struct daemon *d = pa->p->d;

    pa->val_cb = cb;
    pa->busy++;
    d->inflight++;
    if (queue_cursor_set(d->queue, name, value, pa->p->owner,
        poller_value_set_cb, pa) == 0)
        return 0;
    d->inflight--;
    pa->busy--;
    pa->val_cb = NULL;
    return -1;
}

int
poller_quota_take(struct poller_acct *pa, const char *name, int64_t units,
    int64_t limit, int64_t ttl_ms, queue_value_cb *cb)
{
    pa->val_cb = cb;
    pa->busy++;
    if (queue_quota_take(pa->p->d->queue, name, units, limit, ttl_ms,
        poller_value_cb, pa) == 0)
        return 0;
    pa->busy--;
    pa->val_cb = NULL;
    return -1;
}

static void
poller_batch_cb(enum pipeline_result res, unsigned writes, void *arg)
{
    struct poller_acct *pa = arg;
    webhook_batch_cb *cb = pa->batch_cb;

    pa->batch_cb = NULL;
    pa->busy--;
    cb(res, writes, pa);
}

void
poller_apply(struct poller_acct *pa, const struct webhook_batch *b,
    struct connector_events *events, webhook_batch_cb *cb)
{
    pa->batch_cb = cb;
    pa->busy++;
    webhook_apply_batch(pa->p->d, b, events, poller_batch_cb, pa);
}

void
poller_lease_lost(struct poller_acct *pa, const char *holder)
{
    log_warnx("%s: polling lease lost to %s; another inboxd polls this "
        "account now", pa->name, holder ? holder : "nobody (expired)");
    poller_set_held(pa, false);
}

void
poller_round_end(struct poller_acct *pa, enum poller_next next,
    int64_t delay_ms)
{
    const struct config *cfg = pa->cfg;

    pa->in_round = false;
    if (pa->retiring || next == POLLER_NEXT_CANCELLED) {
        poller_acct_check(pa);
        return;
    }
    switch (next) {
    case POLLER_NEXT_AGAIN:
        pa->backoff_ms = 0;
        break;
    case POLLER_NEXT_BACKOFF:
        delay_ms = poller_backoff(&pa->backoff_ms,
            cfg->polling.backoff_min_ms, cfg->polling.backoff_max_ms,
            &pa->p->rng);
        log_debug("poller", "%s: next try in %lld ms", pa->name,
            (long long)delay_ms);
        break;
    case POLLER_NEXT_WAIT:
        break;
    case POLLER_NEXT_STOP:
    case POLLER_NEXT_CANCELLED:
        /* Idle until a reload changes the account (a new poller then). */
        pa->stopped = true;
        poller_release(pa);
        return;
    }
    poller_schedule(pa, delay_ms);
}

/* ---------------------------------------------------------------------
 * API
 * ------------------------------------------------------------------ */

struct poller *
poller_new(struct daemon *d)
{
    struct poller *p;

    if ((p = xcalloc(1, sizeof(*p))) == NULL)
        return NULL;
    p->d = d;
    TAILQ_INIT(&p->accts);
    p->rng = (uint64_t)util_mono_us() ^ ((uint64_t)getpid() << 32) ^
        (uint64_t)util_now_ms();
    util_instance_name(p->owner, sizeof(p->owner));
    return p;
}

void
poller_start(struct poller *p)
{
    struct config *cfg = p->d->cfg;
    const struct poller_ops *ops;
    size_t n = 0;

    for (size_t i = 0; i < cfg->naccounts; i++) {
        if ((ops = poller_ops_for(&cfg->accounts[i])) == NULL)
            continue;
        if (poller_acct_new(p, cfg, i, ops) != NULL)
            n++;
    }
    if (n > 0)
        log_info("polling %zu accounts as %s", n, p->owner);
}

void
poller_reload(struct poller *p)
{
    struct config *cfg = p->d->cfg;
    struct poller_acct *pa, *next;
    const struct poller_ops *ops;
    bool have;
    long i;

    if (p == NULL || p->stopping)
        return;
    for (pa = TAILQ_FIRST(&p->accts); pa != NULL; pa = next) {
        next = TAILQ_NEXT(pa, entry);
        if (pa->retiring)
            continue;
        i = poller_find(cfg, pa->ops->platform, pa->acct->id);
        if (i == -1 || poller_ops_for(&cfg->accounts[i]) != pa->ops ||
            !poller_same(pa->acct, &cfg->accounts[i])) {
            log_info("%s: account changed or removed; polling stops",
                pa->name);
            poller_retire(pa);
            continue;
        }
        config_unref(pa->next_cfg);
        pa->next_cfg = config_ref(cfg);
    }
    for (size_t k = 0; k < cfg->naccounts; k++) {
        if ((ops = poller_ops_for(&cfg->accounts[k])) == NULL)
            continue;
        have = false;
        TAILQ_FOREACH(pa, &p->accts, entry) {
            if (!pa->retiring && pa->ops == ops &&
                strcmp(pa->acct->id, cfg->accounts[k].id) == 0)
                have = true;
        }
        if (!have && poller_acct_new(p, cfg, k, ops) != NULL)
            log_info("%s:%s: polling starts", ops->platform,
                cfg->accounts[k].id);
    }
}

void
poller_stop(struct poller *p)
{
    struct poller_acct *pa, *next;

    if (p == NULL)
        return;
    p->stopping = true;
    for (pa = TAILQ_FIRST(&p->accts); pa != NULL; pa = next) {
        next = TAILQ_NEXT(pa, entry);
        poller_retire(pa);
    }
}

unsigned
poller_count(const struct poller *p)
{
    return p != NULL ? p->naccts : 0;
}

void
poller_free(struct poller *p)
{
    struct poller_acct *pa;

    if (p == NULL)
        return;
    /* The queue may be gone already: nothing below may write to Redis. */
    p->freeing = true;
    p->stopping = true;
    while ((pa = TAILQ_FIRST(&p->accts)) != NULL) {
        pa->retiring = true;
        if (pa->req != NULL)
            curlev_cancel(p->d->curlev, pa->req);
        if (TAILQ_FIRST(&p->accts) == pa)
            poller_acct_free(pa);
    }
    xfree(p);
}
