/*
 * poller_youtube: commentThreads.list polling of YouTube channels. An
 * account has targets: the channel's own threads
 * (allThreadsRelatedToChannelId, unless channel_threads is false) and
 * each of its video_ids. One round walks every target:
 *
 *   cursor unknown -> read <prefix>cursor:youtube:<channel>[:<video>]
 *   per page: spend 1 unit of the day's budget (<prefix>quota:youtube:
 *     <Pacific date>), GET commentThreads (newest first, 100 per page),
 *     youtube_parse_threads, drop what the cursor has seen,
 *     webhook_apply_batch
 *   next page while there is one, the cursor is not reached, and fewer
 *     than max_pages were read
 *   every batch answered -> cursor := newest publishedAt and the ids at
 *     that second (under the lease)
 *   -> the next target; after the last, wait poll_interval
 *
 * The quota is a per-deployment budget counted in Redis (every inboxd
 * sharing it spends from one counter), reset at midnight Pacific time as
 * Google's is. quotaExceeded spends what is left of the budget and waits
 * for the reset; rate limits and server errors back off; a video with
 * comments disabled or gone is dropped until a reload; a refused key or
 * token stops the account.
 */
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

#define POLLER_YT_ERR_MAX       256
#define POLLER_YT_URL_MAX       4096
#define POLLER_YT_QUOTA_TTL_MS  (48LL * 3600 * 1000)
/* After the quota reset, spread the restart over this much. */
#define POLLER_YT_RESET_SPREAD  30000

struct poller_yt_target {
    char *name;                 /* cursor name, "youtube:UC...[:video]" */
    char *video;                /* NULL: the channel's threads */
    struct poller_cursor cur;
    bool have_cursor;
    bool disabled;              /* comments disabled or gone */
};

struct poller_yt {
    struct poller_yt_target *t;
    size_t nt;
    size_t ti;                  /* the target of the round */
    int64_t pages;              /* read for this target this round */
    char token[YOUTUBE_PAGE_TOKEN_MAX + 1];
    struct poller_cursor next;  /* the cursor this target moves to */
    bool failing;
    bool quota_logged;
};

static void poller_yt_target_start(struct poller_acct *pa);
static void poller_yt_page(struct poller_acct *pa);

static void
poller_yt_free(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;

    if (y == NULL)
        return;
    for (size_t i = 0; i < y->nt; i++) {
        xfree(y->t[i].name);
        xfree(y->t[i].video);
        poller_cursor_clear(&y->t[i].cur);
    }
    xfree(y->t);
    poller_cursor_clear(&y->next);
    XFREE(&pa->data);
}

static int
poller_yt_init(struct poller_acct *pa)
{
    const struct config_account *a = pa->acct;
    struct poller_yt *y;
    size_t n = a->nvideo_ids + (a->poll_channel ? 1 : 0);
    char name[160];

    if ((y = xcalloc(1, sizeof(*y))) == NULL)
        return -1;
    pa->data = y;
    if ((y->t = xcalloc(n ? n : 1, sizeof(*y->t))) == NULL)
        return -1;
    if (a->poll_channel) {
        if ((y->t[0].name = xstrdup(pa->name)) == NULL)
            return -1;
        y->nt = 1;
    }
    for (size_t i = 0; i < a->nvideo_ids; i++) {
        snprintf(name, sizeof(name), "%s:%s", pa->name, a->video_ids[i]);
        y->nt++;
        if ((y->t[y->nt - 1].name = xstrdup(name)) == NULL ||
            (y->t[y->nt - 1].video = xstrdup(a->video_ids[i])) == NULL)
            return -1;
    }
    return 0;
}

static void
poller_yt_lease_taken(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;

    for (size_t i = 0; i < y->nt; i++)
        y->t[i].have_cursor = false;
}

static void
poller_yt_trouble(struct poller_acct *pa, const char *what)
{
    struct poller_yt *y = pa->data;

    if (!y->failing)
        log_warnx("%s: commentThreads.list failed: %s; backing off",
            pa->name, what);
    else
        log_debug("poller", "%s: commentThreads.list failed again: %s",
            pa->name, what);
    y->failing = true;
}

/* ---------------------------------------------------------------------
 * Targets and the cursor
 * ------------------------------------------------------------------ */

static void
poller_yt_next_target(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;

    y->ti++;
    poller_yt_target_start(pa);
}

static void
poller_yt_saved_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    struct poller_cursor swap;

    if (qs == QUEUE_UPDATED) {
        swap = t->cur;
        t->cur = y->next;
        y->next = swap;
        poller_cursor_clear(&y->next);
        log_debug("poller", "%s: cursor stored", t->name);
        if (!poller_running(pa)) {
            poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
            return;
        }
        poller_yt_next_target(pa);
        return;
    }
    if (qs == QUEUE_DUPLICATE) {
        poller_lease_lost(pa, value);
        poller_yt_lease_taken(pa);
    } else {
        log_warnx("%s: cursor not stored (%s); the comments will be "
            "listed again", t->name, queue_strstatus(qs));
    }
    poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
}

/* Every page of the target is stored: move its cursor. */
static void
poller_yt_finish_target(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    char *v;

    if (y->next.ms == t->cur.ms && y->next.nids == t->cur.nids) {
        poller_yt_next_target(pa);
        return;
    }
    if ((v = poller_cursor_format(&y->next)) == NULL) {
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    if (poller_cursor_set(pa, t->name, v, poller_yt_saved_cb) == -1)
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
    xfree(v);
}

/*
 * Fold the page's events into the next cursor, then drop those the stored
 * cursor has seen: published before it, or at its second with a known
 * id. Returns -1 when out of memory (nothing is dropped then).
 */
static int
poller_yt_filter(struct poller_acct *pa, struct connector_events *events)
{
    struct poller_yt *y = pa->data;
    const struct poller_cursor *cur = &y->t[y->ti].cur;
    struct connector_events drop = { 0 };
    struct connector_event *ev;
    size_t k = 0, ndrop = 0;

    for (size_t i = 0; i < events->n; i++) {
        ev = &events->v[i];
        if (ev->id[0] != '\0' && ev->time_ms > 0 &&
            ev->time_ms == y->next.ms &&
            poller_cursor_add(&y->next, ev->id) == -1)
            return -1;
    }
    if (cur->ms == 0)
        return 0;
    for (size_t i = 0; i < events->n; i++) {
        ev = &events->v[i];
        if (ev->time_ms > 0 && (ev->time_ms < cur->ms ||
            (ev->time_ms == cur->ms && poller_cursor_has(cur, ev->id))))
            ndrop++;
    }
    if (ndrop == 0)
        return 0;
    if ((drop.v = xcalloc(ndrop, sizeof(*drop.v))) == NULL)
        return -1;
    drop.cap = ndrop;
    for (size_t i = 0; i < events->n; i++) {
        ev = &events->v[i];
        if (ev->time_ms > 0 && (ev->time_ms < cur->ms ||
            (ev->time_ms == cur->ms && poller_cursor_has(cur, ev->id))))
            drop.v[drop.n++] = *ev;
        else
            events->v[k++] = *ev;
    }
    events->n = k;
    log_debug("poller", "%s: %zu comments seen before, %zu new",
        y->t[y->ti].name, drop.n, k);
    connector_events_free(&drop);
    return 0;
}

/* ---------------------------------------------------------------------
 * One page
 * ------------------------------------------------------------------ */

static void
poller_yt_applied_cb(enum pipeline_result res, unsigned writes, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    bool more;

    log_debug("poller", "%s: page %lld: %u writes, %s", t->name,
        (long long)y->pages, writes,
        res == PIPELINE_STORED ? "stored" : "failed");
    if (res != PIPELINE_STORED) {
        log_warnx("%s: comments not all stored (%s); they will be listed "
            "again", t->name, res == PIPELINE_UNAVAILABLE ?
            "redis unavailable" : "error");
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    if (!poller_running(pa)) {
        /* Stopping: a target fully listed still moves its cursor. */
        if (y->token[0] == '\0')
            poller_yt_finish_target(pa);
        else
            poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    more = y->token[0] != '\0';
    if (more && y->pages < pa->cfg->platforms.youtube.max_pages) {
        poller_yt_page(pa);
        return;
    }
    if (more && t->cur.ms != 0)
        log_warnx("%s: more than %lld pages of new comments since the last "
            "round; older ones are skipped (raise "
            "platforms.youtube.max_pages or shorten poll_interval)",
            t->name, (long long)pa->cfg->platforms.youtube.max_pages);
    poller_yt_finish_target(pa);
}

static void
poller_yt_quota_spent_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    int64_t reset;
    char day[11];

    if (qs == QUEUE_STORED || qs == QUEUE_DUPLICATE)
        poller_quota_used(pa, value);
    poller_pacific_day(util_now_ms(), day, &reset);
    poller_round_end(pa, POLLER_NEXT_WAIT, reset - util_now_ms() +
        poller_jitter(pa, POLLER_YT_RESET_SPREAD));
}

/* The budget's counter: "youtube:<Pacific date>". */
static void
poller_yt_quota_name(char name[32])
{
    char day[11];

    poller_pacific_day(util_now_ms(), day, NULL);
    snprintf(name, 32, "youtube:%s", day);
}

/* Reasons that mean the key or token itself is refused. */
static bool
poller_yt_auth_reason(const char *r)
{
    static const char *const auth[] = {
        "authError", "required", "keyInvalid", "keyExpired",
        "insufficientPermissions", "accessNotConfigured",
        "ipRefererBlocked",
    };

    for (size_t i = 0; i < nitems(auth); i++) {
        if (strcmp(r, auth[i]) == 0)
            return true;
    }
    return false;
}

/* A Google error body: branch on errors[0].reason. */
static void
poller_yt_api_error(struct poller_acct *pa,
    const struct curlev_response *resp, const struct youtube_page *pg,
    const char *err)
{
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    const char *r = pg->error_reason;
    int code = pg->error_code != 0 ? pg->error_code : (int)resp->status;
    char day[32];

    if (strcmp(r, "quotaExceeded") == 0) {
        poller_count_request(pa, "quota_exceeded");
        log_warnx("%s: YouTube says the API quota is exceeded; polling "
            "waits for the daily reset (midnight Pacific time)", pa->name);
        poller_yt_quota_name(day);
        if (poller_quota_take(pa, day, -1,
            pa->cfg->platforms.youtube.daily_quota, POLLER_YT_QUOTA_TTL_MS,
            poller_yt_quota_spent_cb) == -1)
            poller_yt_quota_spent_cb(QUEUE_UNAVAILABLE, NULL, pa);
        return;
    }
    if (strcmp(r, "rateLimitExceeded") == 0 ||
        strcmp(r, "userRateLimitExceeded") == 0 || code == 429) {
        poller_count_request(pa, "rate_limited");
        poller_yt_trouble(pa, err);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    if (strcmp(r, "commentsDisabled") == 0 || code == 404) {
        poller_count_request(pa, "api_error");
        poller_count_stop(pa, code == 404 ? "not_found" :
            "comments_disabled");
        log_warnx("%s: %s; not polled until the configuration is reloaded",
            t->name, err);
        t->disabled = true;
        poller_yt_next_target(pa);
        return;
    }
    if (code == 403 && t->video != NULL && !poller_yt_auth_reason(r)) {
        poller_count_request(pa, "api_error");
        poller_count_stop(pa, "forbidden");
        log_warnx("%s: %s; not polled until the configuration is reloaded",
            t->name, err);
        t->disabled = true;
        poller_yt_next_target(pa);
        return;
    }
    if (code == 401 || code == 403 || poller_yt_auth_reason(r)) {
        poller_count_request(pa, "unauthorized");
        poller_count_stop(pa, "unauthorized");
        log_error("%s: YouTube refused the api_key or oauth_token (%s); "
            "polling of this channel stops until the configuration "
            "changes", pa->name, err);
        poller_round_end(pa, POLLER_NEXT_STOP, 0);
        return;
    }
    poller_count_request(pa, "api_error");
    poller_yt_trouble(pa, err);
    poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
}

static void
poller_yt_response_cb(const struct curlev_response *resp, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    struct connector_events events = { 0 };
    struct youtube_page pg = { .newest_ms = t->cur.ms };
    struct webhook_batch b = { 0 };
    char err[POLLER_YT_ERR_MAX], why[POLLER_YT_ERR_MAX + 64];
    int rc;

    if (resp->result == CURLEV_CANCELLED) {
        poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    if (resp->result != CURLEV_OK) {
        poller_count_request(pa, "network");
        snprintf(why, sizeof(why), "%s (%s)",
            curlev_result_name(resp->result), resp->error);
        poller_yt_trouble(pa, why);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    rc = youtube_parse_threads(pa->conn, resp->body, resp->len, &pg,
        &events, err, sizeof(err));
    if (pg.error_code != 0 || pg.error_reason[0] != '\0') {
        connector_events_free(&events);
        poller_yt_api_error(pa, resp, &pg, err);
        return;
    }
    if (resp->status != 200 || (rc == -1 && events.n == 0)) {
        connector_events_free(&events);
        poller_count_request(pa, resp->status >= 400 ? "api_error" :
            "unreadable");
        snprintf(why, sizeof(why), "HTTP %ld, %s", resp->status,
            rc == -1 ? err : "no Google error body");
        poller_yt_trouble(pa, why);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    poller_count_request(pa, "ok");
    if (y->failing)
        log_info("%s: commentThreads.list works again", pa->name);
    y->failing = false;
    memcpy(y->token, pg.next_page_token, sizeof(y->token));
    /* The newest publishedAt of the page, ignored comments included (they
     * carry no time of their own); the ids at it come from the events. */
    if (pg.newest_ms > y->next.ms) {
        poller_cursor_clear(&y->next);
        y->next.ms = pg.newest_ms;
    }
    /* The comments come newest first: a page reaching the cursor is the
     * last one with anything new. */
    if (pg.reached_cursor)
        y->token[0] = '\0';
    if (poller_yt_filter(pa, &events) == -1) {
        connector_events_free(&events);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    b.platform = CONNECTOR_YOUTUBE;
    b.polled = true;
    b.rc = rc;
    b.err = err;
    b.body = resp->body;
    b.len = resp->len;
    b.account = pa->acct->id;
    b.delivery = t->name;
    poller_apply(pa, &b, &events, poller_yt_applied_cb);
}

/* Build the list URL for the target and page into url. */
static int
poller_yt_url(struct poller_acct *pa, struct buf *url)
{
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    const char *base = pa->cfg->platforms.youtube.api_base;
    size_t blen = strlen(base);

    while (blen > 0 && base[blen - 1] == '/')
        blen--;
    if (buf_append(url, base, blen) == -1 ||
        buf_puts(url, "/commentThreads?part=snippet%2Creplies"
        "&maxResults=100&order=time&textFormat=plainText") == -1)
        return -1;
    if (t->video != NULL) {
        if (buf_puts(url, "&videoId=") == -1 ||
            buf_urlencode(url, t->video) == -1)
            return -1;
    } else if (buf_puts(url, "&allThreadsRelatedToChannelId=") == -1 ||
        buf_urlencode(url, pa->acct->id) == -1) {
        return -1;
    }
    if (y->token[0] != '\0' && (buf_puts(url, "&pageToken=") == -1 ||
        buf_urlencode(url, y->token) == -1))
        return -1;
    if (pa->acct->oauth_token == NULL && (buf_puts(url, "&key=") == -1 ||
        buf_urlencode(url, pa->acct->api_key) == -1))
        return -1;
    return 0;
}

static void
poller_yt_fetch(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;
    struct curlev_request r = { 0 };
    const char *headers[3] = { "Accept: application/json", NULL, NULL };
    struct buf url, auth;

    buf_init(&url, POLLER_YT_URL_MAX);
    buf_init(&auth, POLLER_YT_URL_MAX);
    if (poller_yt_url(pa, &url) == -1 || (pa->acct->oauth_token != NULL &&
        buf_printf(&auth, "Authorization: Bearer %s",
        pa->acct->oauth_token) == -1)) {
        log_warnx("%s: cannot build the commentThreads URL", pa->name);
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        goto out;
    }
    if (auth.data != NULL)
        headers[1] = auth.data;
    r.method = "GET";
    r.url = url.data;
    r.log_name = y->t[y->ti].name;
    r.headers = headers;
    r.timeout_ms = pa->cfg->polling.request_timeout_ms;
    r.max_response = pa->cfg->polling.max_response;
    y->pages++;
    if (poller_request(pa, &r, poller_yt_response_cb) == -1)
        poller_round_end(pa, poller_running(pa) ? POLLER_NEXT_BACKOFF :
            POLLER_NEXT_CANCELLED, 0);
out:
    /* Both may hold the key or the token. */
    if (url.data != NULL)
        explicit_bzero(url.data, url.len);
    if (auth.data != NULL)
        explicit_bzero(auth.data, auth.len);
    buf_free(&url);
    buf_free(&auth);
}

static void
poller_yt_quota_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_yt *y = pa->data;
    int64_t reset, now = util_now_ms();
    char day[11], at[32];

    if (qs == QUEUE_STORED || qs == QUEUE_DUPLICATE)
        poller_quota_used(pa, value);
    if (qs == QUEUE_STORED) {
        y->quota_logged = false;
        if (!poller_running(pa)) {
            poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
            return;
        }
        poller_yt_fetch(pa);
        return;
    }
    if (qs != QUEUE_DUPLICATE) {
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    poller_pacific_day(now, day, &reset);
    if (!y->quota_logged) {
        util_format_time(reset, at);
        log_warnx("%s: the daily YouTube quota budget (%lld units, "
            "platforms.youtube.daily_quota) is spent; polling resumes at "
            "%s", pa->name,
            (long long)pa->cfg->platforms.youtube.daily_quota, at);
    }
    y->quota_logged = true;
    poller_count_request(pa, "quota_exceeded");
    poller_round_end(pa, POLLER_NEXT_WAIT, reset - now +
        poller_jitter(pa, POLLER_YT_RESET_SPREAD));
}

/* One list call: 1 unit of the day's budget first. */
static void
poller_yt_page(struct poller_acct *pa)
{
    char day[32];

    poller_yt_quota_name(day);
    if (poller_quota_take(pa, day, 1,
        pa->cfg->platforms.youtube.daily_quota, POLLER_YT_QUOTA_TTL_MS,
        poller_yt_quota_cb) == -1)
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
}

static void
poller_yt_cursor_cb(enum queue_status qs, const char *value, void *arg)
{
    struct poller_acct *pa = arg;
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t = &y->t[y->ti];
    char at[32];

    if (qs == QUEUE_UNKNOWN) {
        poller_cursor_clear(&t->cur);
    } else if (qs == QUEUE_STORED && value != NULL) {
        if (poller_cursor_parse(value, &t->cur) == -1)
            log_warnx("%s: the stored cursor is not readable; listing "
                "from the newest comments", t->name);
    } else {
        poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    t->have_cursor = true;
    util_format_time(t->cur.ms, at);
    log_info("%s: resuming after %s", t->name, t->cur.ms ? at :
        "nothing (first poll)");
    poller_yt_target_start(pa);
}

/* Start (or skip) target y->ti; past the last one the round ends. */
static void
poller_yt_target_start(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;
    struct poller_yt_target *t;

    while (y->ti < y->nt && y->t[y->ti].disabled)
        y->ti++;
    if (y->ti >= y->nt) {
        poller_round_end(pa, POLLER_NEXT_AGAIN,
            pa->cfg->platforms.youtube.poll_interval_ms);
        return;
    }
    if (!poller_running(pa)) {
        poller_round_end(pa, POLLER_NEXT_CANCELLED, 0);
        return;
    }
    t = &y->t[y->ti];
    if (!t->have_cursor) {
        if (poller_cursor_get(pa, t->name, poller_yt_cursor_cb) == -1)
            poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
        return;
    }
    y->pages = 0;
    y->token[0] = '\0';
    poller_cursor_clear(&y->next);
    /* Start from the stored cursor, so a quiet round keeps it. */
    for (size_t i = 0; i < t->cur.nids; i++) {
        if (poller_cursor_add(&y->next, t->cur.ids[i]) == -1) {
            poller_round_end(pa, POLLER_NEXT_BACKOFF, 0);
            return;
        }
    }
    y->next.ms = t->cur.ms;
    poller_yt_page(pa);
}

static void
poller_yt_round(struct poller_acct *pa)
{
    struct poller_yt *y = pa->data;

    y->ti = 0;
    poller_yt_target_start(pa);
}

const struct poller_ops poller_youtube_ops = {
    .platform = CONNECTOR_YOUTUBE,
    .init = poller_yt_init,
    .round = poller_yt_round,
    .lease_taken = poller_yt_lease_taken,
    .free = poller_yt_free,
};
