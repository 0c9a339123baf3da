/*
 * spool: the pipeline's second way to Redis (spool.h says when it is
 * taken). Three parts:
 *
 *   records      a spool_write as one compact JSON object, "v": 1; a dead
 *                letter's raw body follows the JSON after a NUL byte
 *                (JSON cannot carry arbitrary bytes)
 *   group commit spool_put appends at once and makes the commit event
 *                active; the event runs after the other callbacks of the
 *                loop iteration, syncs once and answers every writer
 *   replay       a window of SPOOL_WINDOW records in flight through queue;
 *                the journal is released over the answered prefix, so a
 *                crash re-sends at most the window (duplicates Redis
 *                shrugs off)
 *
 * Replay answers: stored, duplicate, updated, deleted or unknown are done;
 * misrouted (an edit for an item stored in another queue) is sent once
 * more with that queue, as the pipeline does; unavailable stops the replay
 * until every record in flight has answered, then reading starts again
 * from the first record not done; an error reply (a record Redis refuses)
 * moves the record to the dead-letter stream with the reason, and only if
 * that fails too does the replay stop and retry, backing off to
 * SPOOL_RETRY_MAX_MS, so nothing is dropped and nothing blocks for good
 * unless Redis refuses every write.
 */
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <errno.h>
#include <grp.h>
#include <libgen.h>
#include <limits.h>
#include <pwd.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <event2/event.h>
#include <jansson.h>

#include "alloc.h"
#include "config.h"
#include "daemon.h"
#include "journal.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "spool.h"
#include "util.h"

#define SPOOL_VERSION       1
#define SPOOL_WINDOW        64      /* records in flight while replaying */
#define SPOOL_RETRY_MIN_MS  100     /* replay retries, doubling */
#define SPOOL_RETRY_MAX_MS  5000

static const char *const spool_op_names[] = {
    [SPOOL_OP_NEW] = "new",
    [SPOOL_OP_EDIT] = "edit",
    [SPOOL_OP_RESTORE] = "restore",
    [SPOOL_OP_MARK] = "mark",
    [SPOOL_OP_DEADLETTER] = "deadletter",
};

static const char *const spool_mark_names[] = {
    [QUEUE_MARK_DELETED] = "deleted",
    [QUEUE_MARK_HIDDEN] = "hidden",
    [QUEUE_MARK_UNHIDDEN] = "unhidden",
};

/* The change a replayed update counts as (inboxd_items_changed_total). */
static const char *const spool_change_names[] = {
    [SPOOL_OP_NEW] = "new",
    [SPOOL_OP_EDIT] = "edited",
    [SPOOL_OP_RESTORE] = "restored",
    [SPOOL_OP_MARK] = "marked",
    [SPOOL_OP_DEADLETTER] = "deadletter",
};

/* A record decoded: every pointer borrows from the flight's obj or data. */
struct spool_rec {
    enum spool_op op;
    int64_t at_ms;
    const char *id;
    const char *queue;
    const char *json;
    size_t jsonlen;
    int64_t ttl_ms;
    struct queue_store_opts opts;
    struct queue_auto_action act;
    enum queue_mark mark;
    const char *actor;
    struct queue_deadletter dl;
    int64_t maxlen;
};

enum spool_flight_state {
    SPOOL_SENT = 0,             /* waiting for Redis */
    SPOOL_DONE,                 /* answered for good */
    SPOOL_RETRY,                /* to be sent again after a rewind */
};

/* One record being replayed. */
struct spool_flight {
    struct spool *s;
    struct journal_rec rec;     /* its bytes and place in the journal */
    json_t *obj;                /* the decoded JSON; NULL: unreadable */
    struct spool_rec r;
    char *rejson;               /* the item JSON with the stored queue */
    char *requeue;
    enum spool_flight_state state;
    bool rerouted;              /* sent again with the stored queue */
    bool deadlettering;         /* refused: being moved to dead letters */
    const char *why;            /* why (static), for the log line */
};

/* A writer waiting for the commit. */
struct spool_waiter {
    spool_done_cb *cb;
    void *arg;
};

struct spool {
    struct daemon *d;
    struct journal *j;
    struct event *ev_commit;    /* made active by spool_put */
    struct event *ev_replay;    /* the replay's next attempt */

    struct spool_waiter *waiters;   /* appended, not yet synced */
    size_t nwaiters;
    size_t capwaiters;

    struct spool_flight *win[SPOOL_WINDOW];     /* in journal order */
    unsigned head;
    unsigned nflight;
    unsigned nsent;             /* flights in state SENT */
    bool broken;                /* unavailable: rewind once all answered */
    int64_t retry_ms;
    bool closing;               /* spool_stop ran: no more writes */

    /* A refusal episode: logged once, counted every time. */
    int64_t refusing_until_ms;  /* spool_is_accepting false until then */
    uint64_t refused;           /* appends refused in the episode */
    int64_t refused_since_ms;   /* when the episode began */
    bool replaying;             /* a replay started and has not drained */
    int64_t replay_started_ms;
    uint64_t replayed;          /* records answered in this replay */
};

static const struct metrics_family_decl spool_metrics[] = {
    {"inboxd_spool_bytes", METRICS_GAUGE,
        "Bytes of the spool's segment files."},
    {"inboxd_spool_records", METRICS_GAUGE,
        "Records in the spool not yet replayed to Redis."},
    {"inboxd_spool_segments", METRICS_GAUGE,
        "Segment files of the spool."},
    {"inboxd_spool_spooled_total", METRICS_COUNTER,
        "Writes kept in the spool while Redis was away, by op (new, edit, "
        "restore, mark, deadletter)."},
    {"inboxd_spool_replayed_total", METRICS_COUNTER,
        "Spooled records answered by Redis, by result (stored, duplicate, "
        "updated, ignored, deadlettered)."},
    {"inboxd_spool_full_total", METRICS_COUNTER,
        "Writes the spool refused, by reason (limit, disk, error)."},
    {"inboxd_spool_sync_seconds", METRICS_HISTOGRAM,
        "Time of one group commit's fdatasync."},
};

void
spool_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, spool_metrics, nitems(spool_metrics));
}

static void
spool_gauges(struct spool *s)
{
    struct metrics *m = s->d->metrics;
    struct journal_stats st;

    journal_get_stats(s->j, &st);
    metrics_set(m, "inboxd_spool_bytes", NULL, NULL, (double)st.bytes);
    metrics_set(m, "inboxd_spool_records", NULL, NULL, (double)st.records);
    metrics_set(m, "inboxd_spool_segments", NULL, NULL,
        (double)st.segments);
}

static void
spool_limits(const struct config *cfg, struct journal_limits *lim)
{
    lim->max_bytes = cfg->spool.max_bytes;
    lim->segment_bytes = cfg->spool.segment_bytes;
}

/* ---------------------------------------------------------------------
 * Records
 * ------------------------------------------------------------------ */

/* Set key to a new value on o; -1 when either failed (v is taken). */
static int
spool_set(json_t *o, const char *key, json_t *v)
{
    return v == NULL || json_object_set_new(o, key, v) == -1 ? -1 : 0;
}

static int
spool_set_str(json_t *o, const char *key, const char *s)
{
    return s == NULL ? 0 : spool_set(o, key, json_string(s));
}

static int
spool_encode_store(json_t *o, const struct spool_write *w)
{
    const struct queue_store_opts *op = w->opts;
    const struct queue_auto_action *a = op != NULL ? op->act : NULL;
    json_t *act;

    if (spool_set(o, "item", json_stringn(w->json, w->jsonlen)) == -1 ||
        spool_set_str(o, "queue", w->queue) == -1 ||
        spool_set(o, "ttl", json_integer(w->ttl_ms)) == -1)
        return -1;
    if (op == NULL)
        return 0;
    if (spool_set(o, "score", json_real(op->score)) == -1 ||
        spool_set_str(o, "conv", op->conv) == -1)
        return -1;
    if (a == NULL)
        return 0;
    act = json_pack("{s:s,s:s,s:b,s:s,s:s,s:b}", "type", a->type, "by",
        a->by, "dry_run", a->dry_run, "platform", a->platform, "account",
        a->account, "dequeue", a->dequeue);
    return spool_set(o, "act", act);
}

/* The record for w: a new buffer in *out, *len bytes. -1: out of memory. */
static int
spool_encode(const struct spool_write *w, char **out, size_t *len)
{
    const struct queue_deadletter *dl = w->dl;
    char *js = NULL, *buf;
    size_t jl, bl = 0;
    json_t *o;
    int rc = -1;

    o = json_pack("{s:i,s:s,s:I}", "v", SPOOL_VERSION, "op",
        spool_op_names[w->op], "at", (json_int_t)(w->at_ms > 0 ? w->at_ms :
        util_now_ms()));
    if (o == NULL || (w->id != NULL && spool_set_str(o, "id", w->id) == -1))
        goto out;
    switch (w->op) {
    case SPOOL_OP_NEW:
    case SPOOL_OP_EDIT:
    case SPOOL_OP_RESTORE:
        if (spool_encode_store(o, w) == -1)
            goto out;
        break;
    case SPOOL_OP_MARK:
        if (spool_set_str(o, "mark", spool_mark_names[w->mark]) == -1 ||
            spool_set_str(o, "actor", w->actor) == -1 ||
            spool_set(o, "ttl", json_integer(w->ttl_ms)) == -1)
            goto out;
        break;
    case SPOOL_OP_DEADLETTER:
        if (spool_set_str(o, "platform", dl->platform) == -1 ||
            spool_set_str(o, "account", dl->account) == -1 ||
            spool_set_str(o, "delivery", dl->delivery) == -1 ||
            spool_set_str(o, "reason", dl->reason) == -1 ||
            spool_set(o, "maxlen", json_integer(w->maxlen)) == -1)
            goto out;
        bl = dl->len;
        break;
    }
    if ((js = json_dumps(o, JSON_COMPACT)) == NULL)
        goto out;
    jl = strlen(js);
    if (w->op != SPOOL_OP_DEADLETTER) {
        *out = js;
        *len = jl;
        js = NULL;
        rc = 0;
        goto out;
    }
    if ((buf = xmalloc(jl + 1 + bl)) == NULL)
        goto out;
    memcpy(buf, js, jl + 1);
    if (bl > 0)
        memcpy(buf + jl + 1, dl->body, bl);
    *out = buf;
    *len = jl + 1 + bl;
    rc = 0;
out:
    xfree(js);
    json_decref(o);
    return rc;
}

static const char *
spool_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

static int
spool_name_index(const char *const *names, size_t n, const char *s)
{
    for (size_t i = 0; s != NULL && i < n; i++) {
        if (names[i] != NULL && strcmp(names[i], s) == 0)
            return (int)i;
    }
    return -1;
}

/* The store fields of r from o: -1 when one is missing or mistyped. */
static int
spool_decode_store(json_t *o, struct spool_rec *r)
{
    json_t *item = json_object_get(o, "item"), *a, *score;

    if (!json_is_string(item) || (r->queue = spool_str(o, "queue")) == NULL)
        return -1;
    r->json = json_string_value(item);
    r->jsonlen = json_string_length(item);
    r->ttl_ms = json_integer_value(json_object_get(o, "ttl"));
    if (r->op != SPOOL_OP_NEW)
        return 0;
    r->opts.received_ms = r->at_ms;
    if ((score = json_object_get(o, "score")) != NULL)
        r->opts.score = json_number_value(score);
    r->opts.conv = spool_str(o, "conv");
    if ((a = json_object_get(o, "act")) == NULL)
        return 0;
    r->act.type = spool_str(a, "type");
    r->act.by = spool_str(a, "by");
    r->act.platform = spool_str(a, "platform");
    r->act.account = spool_str(a, "account");
    r->act.dry_run = json_is_true(json_object_get(a, "dry_run"));
    r->act.dequeue = json_is_true(json_object_get(a, "dequeue"));
    if (r->act.type == NULL || r->act.by == NULL ||
        r->act.platform == NULL || r->act.account == NULL)
        return -1;
    r->opts.act = &r->act;
    return 0;
}

/* Decode the flight's record into fl->r; -1 when it is not one of ours. */
static int
spool_decode(struct spool_flight *fl)
{
    const char *data = fl->rec.data, *nul;
    struct spool_rec *r = &fl->r;
    size_t jl;
    int op, mark;

    nul = memchr(data, '\0', fl->rec.len);
    jl = nul != NULL ? (size_t)(nul - data) : fl->rec.len;
    if ((fl->obj = json_loadb(data, jl, JSON_REJECT_DUPLICATES, NULL)) ==
        NULL || json_integer_value(json_object_get(fl->obj, "v")) !=
        SPOOL_VERSION || (op = spool_name_index(spool_op_names,
        nitems(spool_op_names), spool_str(fl->obj, "op"))) == -1)
        return -1;
    memset(r, 0, sizeof(*r));
    r->op = (enum spool_op)op;
    r->at_ms = json_integer_value(json_object_get(fl->obj, "at"));
    r->id = spool_str(fl->obj, "id");
    switch (r->op) {
    case SPOOL_OP_NEW:
    case SPOOL_OP_EDIT:
    case SPOOL_OP_RESTORE:
        return r->id == NULL ? -1 : spool_decode_store(fl->obj, r);
    case SPOOL_OP_MARK:
        if (r->id == NULL || (mark = spool_name_index(spool_mark_names,
            nitems(spool_mark_names), spool_str(fl->obj, "mark"))) == -1)
            return -1;
        r->mark = (enum queue_mark)mark;
        r->actor = spool_str(fl->obj, "actor");
        r->ttl_ms = json_integer_value(json_object_get(fl->obj, "ttl"));
        return 0;
    case SPOOL_OP_DEADLETTER:
        r->dl.platform = spool_str(fl->obj, "platform");
        r->dl.account = spool_str(fl->obj, "account");
        r->dl.delivery = spool_str(fl->obj, "delivery");
        r->dl.reason = spool_str(fl->obj, "reason");
        r->dl.body = nul != NULL ? nul + 1 : "";
        r->dl.len = nul != NULL ? fl->rec.len - jl - 1 : 0;
        r->dl.received_ms = r->at_ms;
        r->maxlen = json_integer_value(json_object_get(fl->obj, "maxlen"));
        return r->dl.platform == NULL || r->dl.reason == NULL ? -1 : 0;
    }
    return -1;
}

/* ---------------------------------------------------------------------
 * Refusals
 * ------------------------------------------------------------------ */

/*
 * A write was refused: count it, and warn only at the start of an
 * episode. The spool says it is not accepting for spool.retry_after, so
 * /healthz and intake answer 503 without trying; then a write tries
 * again.
 */
static void
spool_refuse(struct spool *s, enum journal_status st, int err)
{
    const struct config *cfg = s->d->cfg;
    const char *reason = st == JOURNAL_FULL ? "limit" :
        st == JOURNAL_NOSPACE ? "disk" : "error";
    struct journal_stats js;

    metrics_add(s->d->metrics, "inboxd_spool_full_total", "reason", reason,
        1);
    s->refusing_until_ms = util_now_ms() + cfg->spool.retry_after_s * 1000;
    if (s->refused++ > 0)
        return;
    s->refused_since_ms = util_now_ms();
    journal_get_stats(s->j, &js);
    if (st == JOURNAL_FULL)
        log_warnx("spool %s is full (%llu of %llu bytes, %llu records): "
            "answering 503 until the replay to redis makes room",
            cfg->spool.dir, (unsigned long long)js.bytes,
            (unsigned long long)cfg->spool.max_bytes,
            (unsigned long long)js.records);
    else
        log_warnx("spool %s: cannot write (%s: %s): answering 503",
            cfg->spool.dir, journal_strstatus(st), strerror(err));
}

/* A write was kept: an episode of refusals, if any, is over. */
static void
spool_accepted(struct spool *s)
{
    if (s->refused == 0)
        return;
    /* Intake refused more than this counts: for spool.retry_after after
     * a refusal it answers 503 without trying. */
    log_info("spool %s takes writes again, after refusing them for %.1f s",
        s->d->cfg->spool.dir,
        (double)(util_now_ms() - s->refused_since_ms) / 1000.0);
    s->refused = 0;
    s->refusing_until_ms = 0;
}

/* ---------------------------------------------------------------------
 * Replay
 * ------------------------------------------------------------------ */

static void spool_pump(struct spool *s);
static void spool_advance(struct spool *s);
static queue_store_cb spool_replayed_cb;

static void
spool_arm(struct spool *s, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
        1000 };

    if (!evtimer_pending(s->ev_replay, NULL))
        evtimer_add(s->ev_replay, &tv);
}

static void
spool_flight_free(struct spool_flight *fl)
{
    if (fl == NULL)
        return;
    json_decref(fl->obj);
    xfree(fl->rec.data);
    xfree(fl->rejson);
    xfree(fl->requeue);
    xfree(fl);
}

/* Send fl's record to Redis; -1 when it could not be sent. */
static int
spool_send(struct spool_flight *fl)
{
    struct queue *q = fl->s->d->queue;
    struct spool_rec *r = &fl->r;

    switch (r->op) {
    case SPOOL_OP_NEW:
        return queue_store_with(q, r->id, r->queue, r->json, r->jsonlen,
            r->ttl_ms, &r->opts, spool_replayed_cb, fl);
    case SPOOL_OP_EDIT:
    case SPOOL_OP_RESTORE:
        return queue_update(q, r->id, r->queue, r->json, r->jsonlen,
            r->ttl_ms, r->at_ms, r->op == SPOOL_OP_RESTORE,
            spool_replayed_cb, fl);
    case SPOOL_OP_MARK:
        return queue_mark(q, r->id, r->mark, r->actor, r->ttl_ms, r->at_ms,
            spool_replayed_cb, fl);
    case SPOOL_OP_DEADLETTER:
        return queue_deadletter(q, &r->dl, r->maxlen, spool_replayed_cb, fl);
    }
    return -1;
}

/*
 * Redis refused the record (or it cannot be read): keep it for a person
 * in the dead-letter stream, the record itself as the body. -1 when that
 * could not be sent.
 */
static int
spool_send_deadletter(struct spool_flight *fl, const char *why)
{
    struct spool *s = fl->s;
    const char *id = fl->obj != NULL ? fl->r.id : NULL;
    char reason[256], platform[32];
    struct queue_deadletter dl = {
        .platform = "spool",
        .delivery = id,
        .reason = reason,
        .body = fl->rec.data,
        .len = fl->rec.len,
    };
    const char *colon = id != NULL ? strchr(id, ':') : NULL;

    if (colon != NULL && (size_t)(colon - id) < sizeof(platform)) {
        snprintf(platform, sizeof(platform), "%.*s", (int)(colon - id), id);
        dl.platform = platform;
    }
    snprintf(reason, sizeof(reason), "spool replay: %s", why);
    fl->deadlettering = true;
    fl->why = why;
    return queue_deadletter(s->d->queue, &dl,
        s->d->cfg->queue.deadletter_maxlen, spool_replayed_cb, fl);
}

/* The stored queue into the flight's item JSON, to send it again. */
static int
spool_reroute(struct spool_flight *fl, const char *queue)
{
    json_t *item = json_loadb(fl->r.json, fl->r.jsonlen, 0, NULL);
    char *js = NULL;

    if (item == NULL || json_object_set_new(item, "queue",
        json_string(queue)) == -1 ||
        (js = json_dumps(item, JSON_COMPACT)) == NULL ||
        (fl->requeue = xstrdup(queue)) == NULL) {
        json_decref(item);
        xfree(js);
        return -1;
    }
    json_decref(item);
    xfree(fl->rejson);
    fl->rejson = js;
    fl->r.json = js;
    fl->r.jsonlen = strlen(js);
    fl->r.queue = fl->requeue;
    fl->rerouted = true;
    return 0;
}

/* fl is answered for good with result (the metric's label). */
static void
spool_done(struct spool_flight *fl, const char *result)
{
    fl->state = SPOOL_DONE;
    fl->s->nsent--;
    fl->s->replayed++;
    metrics_add(fl->s->d->metrics, "inboxd_spool_replayed_total", "result",
        result, 1);
}

/* fl must be sent again later; so must everything after it. */
static void
spool_retry(struct spool_flight *fl)
{
    fl->state = SPOOL_RETRY;
    fl->s->nsent--;
    fl->s->broken = true;
}

/* A successful answer to fl: log and count it as the pipeline would. */
static void
spool_report(struct spool_flight *fl, enum queue_status st,
    const char *queue)
{
    struct metrics *m = fl->s->d->metrics;
    const struct spool_rec *r = &fl->r;
    const char *id = r->id != NULL ? r->id : "-";
    const char *qn = queue != NULL ? queue : r->queue != NULL ? r->queue :
        "-";

    switch (st) {
    case QUEUE_STORED:
        if (fl->deadlettering) {
            if (r->id != NULL)
                log_item_error(id, "spooled %s %s; moved to the dead-letter "
                    "stream", spool_op_names[r->op], fl->why);
            else
                log_error("a spooled record %s; moved to the dead-letter "
                    "stream", fl->why);
            spool_done(fl, "deadlettered");
            return;
        }
        if (r->op == SPOOL_OP_DEADLETTER) {
            log_debug("spool", "spooled dead letter stored");
            spool_done(fl, "stored");
            return;
        }
        log_item_info(id, "stored queue=%s (spooled %s)", qn,
            spool_op_names[r->op]);
        metrics_add(m, "inboxd_items_stored_total", "queue", qn, 1);
        if (r->op == SPOOL_OP_EDIT || r->op == SPOOL_OP_RESTORE)
            metrics_add(m, "inboxd_items_changed_total", "change",
                spool_change_names[r->op], 1);
        spool_done(fl, "stored");
        return;
    case QUEUE_UPDATED:
        if (r->op == SPOOL_OP_MARK) {
            log_item_info(id, "%s on the platform (spooled)",
                spool_mark_names[r->mark]);
            metrics_add(m, "inboxd_items_changed_total", "change",
                spool_mark_names[r->mark], 1);
        } else {
            log_item_info(id, "%s (spooled), kept in queue=%s",
                spool_change_names[r->op], qn);
            metrics_add(m, "inboxd_items_changed_total", "change",
                spool_change_names[r->op], 1);
        }
        spool_done(fl, "updated");
        return;
    case QUEUE_DUPLICATE:
        log_item_info(id, "spooled %s: already so in redis",
            spool_op_names[r->op]);
        spool_done(fl, "duplicate");
        return;
    default:
        log_item_info(id, "spooled %s: nothing to change (%s)",
            spool_op_names[r->op], queue_strstatus(st));
        spool_done(fl, "ignored");
        return;
    }
}

static void
spool_replayed_cb(enum queue_status st, const char *queue,
    const char *stream_id, void *arg)
{
    struct spool_flight *fl = arg;
    struct spool *s = fl->s;

    (void)stream_id;
    switch (st) {
    case QUEUE_STORED:
    case QUEUE_UPDATED:
    case QUEUE_DUPLICATE:
    case QUEUE_DELETED:
    case QUEUE_UNKNOWN:
        spool_report(fl, st, queue);
        break;
    case QUEUE_MISROUTED:
        if (fl->r.op == SPOOL_OP_MARK) {
            spool_report(fl, st, queue);    /* as the pipeline: ignored */
            break;
        }
        /* Stored in another queue, where it stays (pipeline.c). */
        if (!fl->rerouted && queue != NULL && spool_reroute(fl, queue) == 0) {
            if (spool_send(fl) == -1)
                spool_retry(fl);
            break;
        }
        if (spool_send_deadletter(fl, "was misrouted twice") == -1)
            spool_retry(fl);
        break;
    case QUEUE_UNAVAILABLE:
        spool_retry(fl);
        break;
    case QUEUE_ERROR:
        if (fl->deadlettering) {
            /* Once per stall, not once per retry. */
            if (s->retry_ms == SPOOL_RETRY_MIN_MS)
                log_warnx("spool %s: redis refuses a record and its dead "
                    "letter too; the replay stops and tries again",
                    s->d->cfg->spool.dir);
            fl->deadlettering = false;
            spool_retry(fl);
        } else if (spool_send_deadletter(fl, "refused by redis (an error "
            "reply; the log of that time has it)") == -1) {
            spool_retry(fl);
        }
        break;
    }
    spool_advance(s);
}

/* Release the answered prefix; after a break, rewind; else read on. */
static void
spool_advance(struct spool *s)
{
    struct spool_flight *fl;
    struct journal_pos end = { 0, 0 };
    uint64_t n = 0;

    while (s->nflight > 0 && (fl = s->win[s->head])->state == SPOOL_DONE) {
        end = fl->rec.end;
        n++;
        spool_flight_free(fl);
        s->win[s->head] = NULL;
        s->head = (s->head + 1) % SPOOL_WINDOW;
        s->nflight--;
    }
    if (n > 0) {
        /* Progress: a stall, if there was one, is over. */
        journal_release(s->j, &end, n);
        spool_gauges(s);
        s->retry_ms = SPOOL_RETRY_MIN_MS;
    }
    if (s->broken && s->nsent == 0) {
        /* Every flight has answered: send the rest again from the first
         * one not done, in order, once Redis takes them. */
        while (s->nflight > 0) {
            spool_flight_free(s->win[s->head]);
            s->win[s->head] = NULL;
            s->head = (s->head + 1) % SPOOL_WINDOW;
            s->nflight--;
        }
        journal_rewind(s->j);
        s->broken = false;
        spool_arm(s, s->retry_ms);
        s->retry_ms = s->retry_ms * 2 > SPOOL_RETRY_MAX_MS ?
            SPOOL_RETRY_MAX_MS : s->retry_ms * 2;
        return;
    }
    if (!s->broken)
        spool_pump(s);
}

/* Fill the window from the journal while Redis is up. */
static void
spool_pump(struct spool *s)
{
    struct spool_flight *fl;
    int rc;

    if (s->closing)
        return;
    if (s->broken || !queue_is_up(s->d->queue)) {
        if (!journal_is_empty(s->j))
            spool_arm(s, SPOOL_RETRY_MIN_MS);
        return;
    }
    while (s->nflight < SPOOL_WINDOW) {
        if ((fl = xcalloc(1, sizeof(*fl))) == NULL)
            break;
        if (journal_read(s->j, &fl->rec) != 1) {
            xfree(fl);
            break;
        }
        if (!s->replaying) {
            s->replaying = true;
            s->replay_started_ms = util_now_ms();
            s->replayed = 0;
            log_info("spool %s: redis is up; replaying", s->d->cfg->spool.dir);
        }
        fl->s = s;
        s->win[(s->head + s->nflight) % SPOOL_WINDOW] = fl;
        s->nflight++;
        s->nsent++;
        if (spool_decode(fl) == -1)
            rc = spool_send_deadletter(fl, "is not a record this version "
                "of inboxd reads");
        else
            rc = spool_send(fl);
        if (rc == -1) {
            spool_retry(fl);
            break;
        }
    }
    if (s->broken && s->nsent == 0) {
        spool_advance(s);
        return;
    }
    if (s->nflight == 0 && !journal_is_empty(s->j)) {
        /* Nothing in flight will call back (a read ran out of memory, or
         * only unsynced records are left): look again soon. */
        spool_arm(s, SPOOL_RETRY_MIN_MS);
    } else if (s->replaying && s->nflight == 0) {
        s->replaying = false;
        spool_accepted(s);
        log_info("spool %s: replayed %llu records in %.1f s; writes go "
            "straight to redis again", s->d->cfg->spool.dir,
            (unsigned long long)s->replayed,
            (double)(util_now_ms() - s->replay_started_ms) / 1000.0);
    }
}

static void
spool_replay_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    spool_pump(arg);
}

/* ---------------------------------------------------------------------
 * Appending and the group commit
 * ------------------------------------------------------------------ */

/* Sync what was appended and answer the writers. */
static void
spool_commit(struct spool *s)
{
    struct spool_waiter *w = s->waiters;
    size_t n = s->nwaiters;
    enum journal_status st;
    int64_t t0 = util_mono_us();
    int err;

    if (n == 0)
        return;
    s->waiters = NULL;
    s->nwaiters = s->capwaiters = 0;
    st = journal_sync(s->j);
    err = errno;
    metrics_observe(s->d->metrics, "inboxd_spool_sync_seconds",
        (double)(util_mono_us() - t0) / 1e6);
    if (st != JOURNAL_OK) {
        for (size_t i = 0; i < n; i++)
            spool_refuse(s, st, err);
    } else {
        spool_accepted(s);
    }
    spool_gauges(s);
    /* Writers may put again from their callbacks: a new batch. */
    for (size_t i = 0; i < n; i++)
        w[i].cb(st == JOURNAL_OK ? SPOOL_DURABLE : SPOOL_REFUSED, w[i].arg);
    xfree(w);
    spool_pump(s);
}

static void
spool_commit_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    spool_commit(arg);
}

void
spool_put(struct spool *s, const struct spool_write *w, spool_done_cb *cb,
    void *arg)
{
    struct spool_waiter *nw;
    enum journal_status st;
    char *rec = NULL;
    size_t len, cap;

    if (s->closing) {
        /* The loop has ended: no writer could be answered anyway. */
        cb(SPOOL_REFUSED, arg);
        return;
    }
    if (s->nwaiters == s->capwaiters) {
        cap = s->capwaiters ? s->capwaiters * 2 : 64;
        if ((nw = xrealloc(s->waiters, cap * sizeof(*nw))) == NULL)
            goto oom;
        s->waiters = nw;
        s->capwaiters = cap;
    }
    if (spool_encode(w, &rec, &len) == -1)
        goto oom;
    if ((st = journal_append(s->j, rec, len)) != JOURNAL_OK) {
        spool_refuse(s, st, errno);
        xfree(rec);
        spool_gauges(s);
        cb(SPOOL_REFUSED, arg);
        return;
    }
    xfree(rec);
    metrics_add(s->d->metrics, "inboxd_spool_spooled_total", "op",
        spool_op_names[w->op], 1);
    s->waiters[s->nwaiters++] = (struct spool_waiter){ cb, arg };
    /* Runs after the other callbacks of this loop iteration: one sync for
     * every write they make. */
    if (s->nwaiters == 1)
        event_active(s->ev_commit, EV_TIMEOUT, 0);
    return;
oom:
    log_warnx("spool: out of memory; a write is refused");
    cb(SPOOL_REFUSED, arg);
}

/* ---------------------------------------------------------------------
 * Life
 * ------------------------------------------------------------------ */

struct spool *
spool_new(struct daemon *d, char *err, size_t errlen)
{
    const struct config *cfg = d->cfg;
    struct journal_limits lim;
    struct journal_stats st;
    struct spool *s;

    if ((s = xcalloc(1, sizeof(*s))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    s->d = d;
    s->retry_ms = SPOOL_RETRY_MIN_MS;
    spool_limits(cfg, &lim);
    if ((s->j = journal_open(cfg->spool.dir, &lim, err, errlen)) == NULL)
        goto fail;
    s->ev_commit = event_new(d->base, -1, 0, spool_commit_cb, s);
    s->ev_replay = evtimer_new(d->base, spool_replay_cb, s);
    if (s->ev_commit == NULL || s->ev_replay == NULL) {
        snprintf(err, errlen, "out of memory");
        goto fail;
    }
    journal_get_stats(s->j, &st);
    spool_gauges(s);
    if (st.records > 0) {
        log_info("spool %s: %llu records (%llu bytes) from before the last "
            "stop; replayed once redis is up", cfg->spool.dir,
            (unsigned long long)st.records, (unsigned long long)st.bytes);
        spool_arm(s, 0);
    } else {
        log_info("spool %s: empty; up to %llu bytes while redis is away",
            cfg->spool.dir, (unsigned long long)cfg->spool.max_bytes);
    }
    return s;
fail:
    spool_free(s);
    return NULL;
}

void
spool_stop(struct spool *s)
{
    if (s == NULL || s->closing)
        return;
    s->closing = true;
    if (s->j != NULL)
        spool_commit(s);
}

void
spool_free(struct spool *s)
{
    if (s == NULL)
        return;
    spool_stop(s);
    /* queue_free ran first: nothing in flight is still waited for. */
    while (s->nflight > 0) {
        spool_flight_free(s->win[s->head]);
        s->head = (s->head + 1) % SPOOL_WINDOW;
        s->nflight--;
    }
    if (s->ev_commit != NULL)
        event_free(s->ev_commit);
    if (s->ev_replay != NULL)
        event_free(s->ev_replay);
    journal_close(s->j);
    xfree(s->waiters);
    xfree(s);
}

bool
spool_is_engaged(const struct spool *s)
{
    return s != NULL && (!queue_is_up(s->d->queue) || s->nwaiters > 0 ||
        s->nflight > 0 || !journal_is_empty(s->j));
}

bool
spool_is_accepting(const struct spool *s)
{
    return s != NULL && (s->refusing_until_ms == 0 ||
        util_now_ms() >= s->refusing_until_ms);
}

void
spool_apply_config(struct spool *s)
{
    struct journal_limits lim;

    if (s == NULL)
        return;
    spool_limits(s->d->cfg, &lim);
    journal_set_limits(s->j, &lim);
}

json_t *
spool_status(const struct spool *s)
{
    struct journal_stats st;
    const char *state;

    if (s == NULL)
        return NULL;
    journal_get_stats(s->j, &st);
    if (!spool_is_engaged(s))
        state = "idle";
    else if (!spool_is_accepting(s))
        state = "full";
    else if (!queue_is_up(s->d->queue))
        state = "spooling";
    else
        state = "replaying";
    return json_pack("{s:s,s:I,s:I}", "state", state, "records",
        (json_int_t)st.records, "bytes", (json_int_t)st.bytes);
}

/* ------------------------------------------------------------ inboxd -n */

/* Is gid pw's primary group or one of its supplementary groups? */
static bool
spool_in_group(const struct passwd *pw, gid_t gid)
{
    gid_t groups[256];
    int n = (int)nitems(groups);

    if (pw->pw_gid == gid)
        return true;
    if (getgrouplist(pw->pw_name, pw->pw_gid, groups, &n) == -1)
        n = (int)nitems(groups);    /* the first ones were filled in */
    for (int i = 0; i < n; i++) {
        if (groups[i] == gid)
            return true;
    }
    return false;
}

/*
 * The rwx bits of st that apply to pw, the way the kernel picks them
 * (ACLs aside): the owner's, else the group's, else the others'.
 */
static mode_t
spool_perm(const struct stat *st, const struct passwd *pw)
{
    if (st->st_uid == pw->pw_uid)
        return (st->st_mode >> 6) & 7;
    if (spool_in_group(pw, st->st_gid))
        return (st->st_mode >> 3) & 7;
    return st->st_mode & 7;
}

/*
 * May the user inboxd will run as write and search path? As that user,
 * access(2) answers; as root checking for another user, the mode bits.
 */
static bool
spool_may_write(const char *path, const struct stat *st,
    const struct passwd *pw)
{
    if (pw == NULL || pw->pw_uid == geteuid())
        return access(path, W_OK | X_OK) == 0;
    if (pw->pw_uid == 0)
        return true;
    return (spool_perm(st, pw) & 3) == 3;      /* write and search */
}

/*
 * May pw search every directory above path (access(2) checks that
 * itself)? The first one it may not goes to bad.
 */
static bool
spool_may_reach(const char *path, const struct passwd *pw, char *bad,
    size_t badlen)
{
    struct stat st;
    char up[PATH_MAX];

    if (pw == NULL || pw->pw_uid == geteuid() || pw->pw_uid == 0)
        return true;
    snprintf(up, sizeof(up), "%s", path);
    for (;;) {
        dirname(up);
        if (stat(up, &st) == 0 && (spool_perm(&st, pw) & 1) == 0) {
            snprintf(bad, badlen, "%s", up);
            return false;
        }
        if (strcmp(up, "/") == 0 || strcmp(up, ".") == 0)
            return true;
    }
}

int
spool_check(const struct config *cfg, char *msg, size_t msglen)
{
    const char *dir = cfg->spool.dir, *who;
    struct passwd *pw = NULL;
    struct statvfs vfs;
    struct stat st;
    char parent[PATH_MAX];
    uint64_t room;

    msg[0] = '\0';
    if (dir == NULL)
        return 0;
    if (cfg->user != NULL && (pw = getpwnam(cfg->user)) == NULL) {
        snprintf(msg, msglen, "user %s: no such user", cfg->user);
        return -1;
    }
    who = cfg->user != NULL ? cfg->user : "this user";
    if (stat(dir, &st) == 0) {
        if (!S_ISDIR(st.st_mode)) {
            snprintf(msg, msglen, "spool.dir: %s is not a directory", dir);
            return -1;
        }
        if (!spool_may_write(dir, &st, pw)) {
            snprintf(msg, msglen, "spool.dir: %s: %s may not write in it",
                dir, who);
            return -1;
        }
    } else if (errno != ENOENT) {
        snprintf(msg, msglen, "spool.dir: %s: %s", dir, strerror(errno));
        return -1;
    } else {
        /* The spool makes its directory, not the ones above it. */
        if ((size_t)snprintf(parent, sizeof(parent), "%s", dir) >=
            sizeof(parent)) {
            snprintf(msg, msglen, "spool.dir: %s: path too long", dir);
            return -1;
        }
        dirname(parent);
        if (stat(parent, &st) == -1 || !S_ISDIR(st.st_mode)) {
            snprintf(msg, msglen, "spool.dir: %s does not exist, nor does "
                "its parent directory %s", dir, parent);
            return -1;
        }
        if (!spool_may_write(parent, &st, pw)) {
            snprintf(msg, msglen, "spool.dir: %s does not exist and %s may "
                "not create it in %s", dir, who, parent);
            return -1;
        }
        dir = parent;
    }
    if (!spool_may_reach(dir, pw, parent, sizeof(parent))) {
        snprintf(msg, msglen, "spool.dir: %s: %s may not reach it: %s is "
            "not searchable", cfg->spool.dir, who, parent);
        return -1;
    }
    if (statvfs(dir, &vfs) == 0) {
        room = (uint64_t)vfs.f_bavail * vfs.f_frsize;
        if (room < cfg->spool.max_bytes) {
            snprintf(msg, msglen, "spool.dir: %s has %llu MiB free, less "
                "than spool.max_bytes (%llu MiB): the spool refuses when "
                "the disk is full", dir, (unsigned long long)(room >> 20),
                (unsigned long long)(cfg->spool.max_bytes >> 20));
            return 1;
        }
    }
    return 0;
}
