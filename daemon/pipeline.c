/*
 * pipeline: moves one item through its stages: received -> classified ->
 * routed -> storing -> done (or failed). Every change of stage goes
 * through pipeline_set_stage, which traces it. An item in flight holds a
 * reference to the config snapshot it started with, so a reload never
 * changes the rules under it.
 *
 * An edit or a restore is an item too, stored with queue_update: an item
 * already stored keeps the queue it is in, so when the new routing picks
 * another one the script answers "misrouted" with the stored queue and
 * the item goes back once to routed, takes that queue, and is sent again.
 * Marks (delete, hide, unhide) carry only an id and skip the stages.
 *
 * With a spool, pipeline_send hands the routed item to spool_put instead
 * of queue while spool_is_engaged (Redis away, or older writes still in
 * the spool), when queue cannot send, and when Redis drops the write in
 * flight (it may have run: the replay then finds a duplicate). Marks and
 * dead letters take the same three ways.
 */
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "config.h"
#include "daemon.h"
#include "item.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "queue.h"
#include "rules.h"
#include "spool.h"
#include "util.h"

struct pipeline_job {
    struct daemon *d;
    struct config *cfg;         /* reference taken at submit */
    struct item *it;
    enum pipeline_op op;
    bool rerouted;              /* sent again with the stored queue */
    enum pipeline_stage stage;
    pipeline_done_cb *cb;
    void *arg;
    int64_t started_us;
};

static const char *const pipeline_stage_names[] = {
    [PIPELINE_RECEIVED] = "received",
    [PIPELINE_CLASSIFIED] = "classified",
    [PIPELINE_ROUTED] = "routed",
    [PIPELINE_STORING] = "storing",
    [PIPELINE_SPOOLING] = "spooling",
    [PIPELINE_DONE] = "done",
    [PIPELINE_FAILED] = "failed",
};

const char *
pipeline_stage_name(enum pipeline_stage st)
{
    if ((unsigned)st > PIPELINE_FAILED)
        return "?";
    return pipeline_stage_names[st];
}

static const struct metrics_family_decl pipeline_metrics[] = {
    {"inboxd_items_received_total", METRICS_COUNTER,
        "Items received, by platform."},
    {"inboxd_items_stored_total", METRICS_COUNTER,
        "New items stored in Redis, by destination queue."},
    {"inboxd_items_category_total", METRICS_COUNTER,
        "Stored and spooled items by decided category."},
    {"inboxd_items_duplicate_total", METRICS_COUNTER,
        "Deliveries of an item already stored, by platform."},
    {"inboxd_items_failed_total", METRICS_COUNTER,
        "Items not stored, by reason (unavailable, error)."},
    {"inboxd_item_store_seconds", METRICS_HISTOGRAM,
        "Time from submit to Redis's answer."},
    {"inboxd_items_changed_total", METRICS_COUNTER,
        "Stored items changed by their platform, by change (edited, "
        "restored, deleted, hidden, unhidden)."},
};

static const char *const pipeline_op_names[] = {
    [PIPELINE_OP_NEW] = "new",
    [PIPELINE_OP_EDIT] = "edited",
    [PIPELINE_OP_RESTORE] = "restored",
};

static const char *const pipeline_mark_names[] = {
    [QUEUE_MARK_DELETED] = "deleted",
    [QUEUE_MARK_HIDDEN] = "hidden",
    [QUEUE_MARK_UNHIDDEN] = "unhidden",
};

void
pipeline_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, pipeline_metrics, nitems(pipeline_metrics));
}

static void
pipeline_set_stage(struct pipeline_job *job, enum pipeline_stage st)
{
    log_item_debug("pipeline", item_id(job->it), "%s -> %s",
        pipeline_stage_name(job->stage), pipeline_stage_name(st));
    job->stage = st;
}

int
pipeline_classify(struct config *cfg, struct item *it)
{
    struct rules_verdict v;
    struct item_cls *cls;

    if (rules_classify(cfg->ruleset, it, &v) == -1 ||
        (cls = rules_verdict_cls(&v, item_text(it))) == NULL)
        return -1;
    item_set_cls(it, cls);
    if (item_lang(it) == NULL && cls->lang != NULL &&
        item_set_lang(it, cls->lang) == -1)
        return -1;
    return item_set_queue(it, route_pick(&cfg->routes, it));
}

/* The item's scores; none when it has no classification. */
static const struct item_cls_score *
pipeline_scores(const struct item *it, size_t *n)
{
    const struct item_cls *cls = item_cls(it);

    *n = cls != NULL ? cls->nscores : 0;
    return cls != NULL ? cls->scores : NULL;
}

/*
 * Comma-joined decided categories, for the info line; not worked out
 * (left empty) when info lines are not written.
 */
static void
pipeline_categories(const struct item *it, char *out, size_t len)
{
    size_t n, o = 0;
    const struct item_cls_score *sc = pipeline_scores(it, &n);

    out[0] = '\0';
    if (!log_enabled(LOG_LEVEL_INFO))
        return;
    for (size_t i = 0; i < n; i++) {
        int k;

        if (!sc[i].decided)
            continue;
        k = snprintf(out + o, len - o, "%s%s", o ? "," : "",
            sc[i].category);
        if (k < 0 || (size_t)k >= len - o)
            break;
        o += (size_t)k;
    }
    if (o == 0)
        snprintf(out, len, "-");
}

static void
pipeline_count_categories(struct metrics *m, const struct item *it)
{
    size_t n;
    const struct item_cls_score *sc = pipeline_scores(it, &n);

    for (size_t i = 0; i < n; i++) {
        if (sc[i].decided)
            metrics_add(m, "inboxd_items_category_total", "category",
                sc[i].category, 1);
    }
}

static void
pipeline_finish(struct pipeline_job *job, enum pipeline_result res,
    const char *stream_id)
{
    struct daemon *d = job->d;
    struct metrics *m = d->metrics;
    const char *id = item_id(job->it), *op = pipeline_op_names[job->op];
    char cats[256];

    pipeline_set_stage(job, res == PIPELINE_UNAVAILABLE ||
        res == PIPELINE_ERROR ? PIPELINE_FAILED : PIPELINE_DONE);
    switch (res) {
    case PIPELINE_SPOOLED:
        pipeline_categories(job->it, cats, sizeof(cats));
        log_item_info(id, "spooled queue=%s categories=%s%s; redis gets "
            "it in order", item_queue(job->it), cats, job->op ==
            PIPELINE_OP_NEW ? "" : job->op == PIPELINE_OP_EDIT ?
            " (an edit)" : " (a restore)");
        if (job->op == PIPELINE_OP_NEW)
            pipeline_count_categories(m, job->it);
        break;
    case PIPELINE_STORED:
        pipeline_categories(job->it, cats, sizeof(cats));
        if (job->op == PIPELINE_OP_NEW)
            log_item_info(id, "stored queue=%s categories=%s",
                item_queue(job->it), cats);
        else
            log_item_info(id, "stored queue=%s categories=%s (from %s)",
                item_queue(job->it), cats, job->op == PIPELINE_OP_EDIT ?
                "an edit" : "a restore");
        metrics_add(m, "inboxd_items_stored_total", "queue",
            item_queue(job->it), 1);
        pipeline_count_categories(m, job->it);
        if (job->op != PIPELINE_OP_NEW)
            metrics_add(m, "inboxd_items_changed_total", "change", op, 1);
        break;
    case PIPELINE_UPDATED:
        pipeline_categories(job->it, cats, sizeof(cats));
        log_item_info(id, "%s, re-classified categories=%s, kept in "
            "queue=%s", op, cats, item_queue(job->it));
        metrics_add(m, "inboxd_items_changed_total", "change", op, 1);
        break;
    case PIPELINE_DUPLICATE:
        log_item_info(id, "duplicate delivery, already stored");
        metrics_add(m, "inboxd_items_duplicate_total", "platform",
            item_platform(job->it), 1);
        break;
    case PIPELINE_IGNORED:
        log_item_info(id, "%s: the item is deleted; not stored",
            job->op == PIPELINE_OP_NEW ? "delivery" : op);
        break;
    case PIPELINE_UNAVAILABLE:
        /* A refusing spool logs its episode once, not every item. */
        if (d->spool != NULL)
            log_item_debug("pipeline", id, "not stored: redis unavailable "
                "and the spool refused it");
        else
            log_item_warnx(id, "not stored: redis unavailable");
        metrics_add(m, "inboxd_items_failed_total", "reason", "unavailable", 1);
        break;
    case PIPELINE_ERROR:
        log_item_error(id, "not stored: internal error");
        metrics_add(m, "inboxd_items_failed_total", "reason", "error", 1);
        break;
    }
    metrics_observe(m, "inboxd_item_store_seconds",
        (double)(util_mono_us() - job->started_us) / 1e6);
    job->cb(res, job->it, stream_id, job->arg);
    item_free(job->it);
    config_unref(job->cfg);
    d->inflight--;
    xfree(job);
}

static int pipeline_send(struct pipeline_job *job, bool to_spool);

static void
pipeline_stored_cb(enum queue_status st, const char *queue,
    const char *stream_id, void *arg)
{
    struct pipeline_job *job = arg;

    switch (st) {
    case QUEUE_STORED:
        pipeline_finish(job, PIPELINE_STORED, stream_id);
        break;
    case QUEUE_UPDATED:
        pipeline_finish(job, PIPELINE_UPDATED, stream_id);
        break;
    case QUEUE_DUPLICATE:
        /* The first delivery decided the queue; report that one. */
        if (queue != NULL)
            item_set_queue(job->it, queue);
        pipeline_finish(job, PIPELINE_DUPLICATE, stream_id);
        break;
    case QUEUE_DELETED:
    case QUEUE_UNKNOWN:
        pipeline_finish(job, PIPELINE_IGNORED, NULL);
        break;
    case QUEUE_MISROUTED:
        /* Stored in another queue, where it stays: take that queue into
         * the item (its json says where it is) and send it again. Only
         * once: the stored queue of an item never changes. */
        if (job->rerouted || queue == NULL ||
            item_set_queue(job->it, queue) == -1) {
            log_item_error(item_id(job->it), "cannot take the stored "
                "queue %s", queue != NULL ? queue : "-");
            pipeline_finish(job, PIPELINE_ERROR, NULL);
            break;
        }
        job->rerouted = true;
        pipeline_set_stage(job, PIPELINE_ROUTED);
        (void)pipeline_send(job, false);
        break;
    case QUEUE_UNAVAILABLE:
        /* It may have run before the connection went: a replay of it is
         * then a duplicate, which changes nothing. */
        if (job->d->spool != NULL) {
            pipeline_set_stage(job, PIPELINE_ROUTED);
            (void)pipeline_send(job, true);
        } else {
            pipeline_finish(job, PIPELINE_UNAVAILABLE, NULL);
        }
        break;
    case QUEUE_ERROR:
        pipeline_finish(job, PIPELINE_ERROR, NULL);
        break;
    }
}

/*
 * Does the account's moderation policy act on this new item? Only
 * comments and replies of a configured account, decided into one of the
 * policy's categories (shadow decisions never act). by names the rules
 * that decided it, for the audit trail: "rules:<id>,<id>".
 */
static bool
pipeline_auto_action(const struct config *cfg, const struct item *it,
    struct queue_auto_action *act, char *by, size_t bylen)
{
    const struct config_account *a;
    const struct item_cls *cls = item_cls(it);
    const struct item_cls_score *sc;
    char *const *cats;
    const char *action, *cat;
    size_t n, nsc, o;
    bool dry, hit_any = false;

    if (item_kind(it) == ITEM_KIND_DM || (a = config_find_account(cfg,
        item_platform(it), item_account(it))) == NULL)
        return false;
    config_moderation(cfg, a, &cats, &n, &action, &dry);
    if (action == NULL)
        return false;
    sc = pipeline_scores(it, &nsc);
    for (size_t i = 0; i < nsc; i++) {
        for (size_t k = 0; sc[i].decided && k < n; k++)
            hit_any |= strcmp(cats[k], sc[i].category) == 0;
    }
    if (!hit_any)
        return false;
    o = (size_t)snprintf(by, bylen, "rules:");
    for (size_t i = 0; i < cls->nhits; i++) {
        cat = cls->hits[i].category;
        for (size_t k = 0; cat != NULL && k < n && o < bylen; k++) {
            if (strcmp(cats[k], cat) != 0)
                continue;
            o += (size_t)snprintf(by + o, bylen - o, "%s%s",
                by[o - 1] == ':' ? "" : ",", cls->hits[i].rule);
            break;
        }
    }
    act->type = action;
    act->by = by;
    act->dry_run = dry;
    act->dequeue = !cfg->moderation.keep_in_queue;
    act->platform = item_platform(it);
    act->account = item_account(it);
    return true;
}

/*
 * The desk's view of a new item, stored with it: its highest category
 * score and its conversation key (docs/redis.md, "The desk").
 */
static void
pipeline_store_opts(const struct item *it, struct queue_store_opts *o,
    char *conv, size_t convlen)
{
    size_t n;
    const struct item_cls_score *sc = pipeline_scores(it, &n);
    const char *c = item_conversation(it);

    memset(o, 0, sizeof(*o));
    for (size_t i = 0; i < n; i++) {
        if (sc[i].score > o->score)
            o->score = sc[i].score;
    }
    if (c != NULL && util_concat(conv, convlen, item_platform(it), ":",
        item_account(it), ":", c, NULL) == 0)
        o->conv = conv;
}

static void
pipeline_spooled_cb(enum spool_result res, void *arg)
{
    pipeline_finish(arg, res == SPOOL_DURABLE ? PIPELINE_SPOOLED :
        PIPELINE_UNAVAILABLE, NULL);
}

/* Hand the dumped item to the spool; its answer finishes the job. */
static void
pipeline_spool(struct pipeline_job *job, const char *json,
    const struct queue_store_opts *opts)
{
    static const enum spool_op ops[] = {
        [PIPELINE_OP_NEW] = SPOOL_OP_NEW,
        [PIPELINE_OP_EDIT] = SPOOL_OP_EDIT,
        [PIPELINE_OP_RESTORE] = SPOOL_OP_RESTORE,
    };
    struct spool_write w = {
        .op = ops[job->op],
        .at_ms = item_received_ms(job->it),
        .id = item_id(job->it),
        .queue = item_queue(job->it),
        .json = json,
        .jsonlen = strlen(json),
        .ttl_ms = job->cfg->queue.item_ttl_ms,
        .opts = opts,
    };

    pipeline_set_stage(job, PIPELINE_SPOOLING);
    spool_put(job->d->spool, &w, pipeline_spooled_cb, job);
}

/*
 * Dump the routed item and send it to Redis, or to the spool when
 * to_spool, when the spool is engaged, or when queue cannot send. On -1
 * the job is finished.
 */
static int
pipeline_send(struct pipeline_job *job, bool to_spool)
{
    struct daemon *d = job->d;
    struct item *it = job->it;
    struct queue_auto_action act;
    struct queue_store_opts opts, *o = NULL;
    char *json, by[256], conv[1024];
    int rc;

    if ((json = item_dump(it)) == NULL) {
        pipeline_finish(job, PIPELINE_ERROR, NULL);
        return -1;
    }
    if (job->op == PIPELINE_OP_NEW) {
        pipeline_store_opts(it, &opts, conv, sizeof(conv));
        if (pipeline_auto_action(job->cfg, it, &act, by, sizeof(by)))
            opts.act = &act;
        o = &opts;
    }
    if (to_spool || spool_is_engaged(d->spool))
        rc = -1;
    else if (job->op == PIPELINE_OP_NEW)
        rc = queue_store_with(d->queue, item_id(it), item_queue(it), json,
            strlen(json), job->cfg->queue.item_ttl_ms, o,
            pipeline_stored_cb, job);
    else
        rc = queue_update(d->queue, item_id(it), item_queue(it), json,
            strlen(json), job->cfg->queue.item_ttl_ms, 0,
            job->op == PIPELINE_OP_RESTORE, pipeline_stored_cb, job);
    if (rc == -1 && d->spool != NULL) {
        pipeline_spool(job, json, o);
        xfree(json);
        return 0;
    }
    xfree(json);
    if (rc == -1) {
        pipeline_finish(job, PIPELINE_UNAVAILABLE, NULL);
        return -1;
    }
    pipeline_set_stage(job, PIPELINE_STORING);
    return 0;
}

void
pipeline_submit_op(struct daemon *d, struct item *it, enum pipeline_op op,
    pipeline_done_cb *cb, void *arg)
{
    struct pipeline_job *job;

    if ((job = xcalloc(1, sizeof(*job))) == NULL) {
        cb(PIPELINE_ERROR, it, NULL, arg);
        item_free(it);
        return;
    }
    job->d = d;
    job->cfg = config_ref(d->cfg);
    job->it = it;
    job->op = op;
    job->cb = cb;
    job->arg = arg;
    job->started_us = util_mono_us();
    job->stage = PIPELINE_RECEIVED;
    d->inflight++;
    if (op == PIPELINE_OP_NEW)
        metrics_add(d->metrics, "inboxd_items_received_total", "platform",
            item_platform(it), 1);

    if (pipeline_classify(job->cfg, it) == -1) {
        pipeline_finish(job, PIPELINE_ERROR, NULL);
        return;
    }
    pipeline_set_stage(job, PIPELINE_CLASSIFIED);
    pipeline_set_stage(job, PIPELINE_ROUTED);
    (void)pipeline_send(job, false);
}

void
pipeline_submit(struct daemon *d, struct item *it, pipeline_done_cb *cb,
    void *arg)
{
    pipeline_submit_op(d, it, PIPELINE_OP_NEW, cb, arg);
}

/* ----------------------------------------------------------------- marks */

struct pipeline_mark_job {
    struct daemon *d;
    char *id;
    char *actor;                /* NULL: not known */
    enum queue_mark mark;
    pipeline_mark_cb *cb;
    void *arg;
};

static void
pipeline_mark_finish(struct pipeline_mark_job *job, enum pipeline_result res)
{
    job->cb(res, job->id, job->arg);
    job->d->inflight--;
    xfree(job->id);
    xfree(job->actor);
    xfree(job);
}

static void
pipeline_mark_spooled_cb(enum spool_result res, void *arg)
{
    struct pipeline_mark_job *job = arg;
    const char *what = pipeline_mark_names[job->mark];

    if (res == SPOOL_DURABLE) {
        log_item_info(job->id, "%s on the platform; spooled, redis gets it "
            "in order", what);
        pipeline_mark_finish(job, PIPELINE_SPOOLED);
        return;
    }
    log_item_debug("pipeline", job->id, "%s not recorded: redis "
        "unavailable and the spool refused it", what);
    metrics_add(job->d->metrics, "inboxd_items_failed_total", "reason",
        "unavailable", 1);
    pipeline_mark_finish(job, PIPELINE_UNAVAILABLE);
}

static void
pipeline_mark_spool(struct pipeline_mark_job *job)
{
    struct spool_write w = {
        .op = SPOOL_OP_MARK,
        .id = job->id,
        .ttl_ms = job->d->cfg->queue.item_ttl_ms,
        .mark = job->mark,
        .actor = job->actor,
    };

    spool_put(job->d->spool, &w, pipeline_mark_spooled_cb, job);
}

static void
pipeline_marked_cb(enum queue_status st, const char *queue,
    const char *stream_id, void *arg)
{
    struct pipeline_mark_job *job = arg;
    struct metrics *m = job->d->metrics;
    const char *what = pipeline_mark_names[job->mark];
    enum pipeline_result res = PIPELINE_ERROR;

    (void)stream_id;
    switch (st) {
    case QUEUE_UPDATED:
        res = PIPELINE_UPDATED;
        if (job->mark == QUEUE_MARK_DELETED && queue != NULL)
            log_item_info(job->id, "deleted on the platform; taken out of "
                "queue=%s", queue);
        else
            log_item_info(job->id, "%s on the platform", what);
        metrics_add(m, "inboxd_items_changed_total", "change", what, 1);
        break;
    case QUEUE_DUPLICATE:
        res = PIPELINE_IGNORED;
        log_item_debug("pipeline", job->id, "already %s", what);
        break;
    case QUEUE_UNKNOWN:
    case QUEUE_DELETED:
    case QUEUE_MISROUTED:
        res = PIPELINE_IGNORED;
        log_item_info(job->id, "%s on the platform, but never stored%s",
            what, job->mark == QUEUE_MARK_DELETED ?
            "; a tombstone keeps a late copy out" : "");
        break;
    case QUEUE_UNAVAILABLE:
        if (job->d->spool != NULL) {
            pipeline_mark_spool(job);
            return;
        }
        res = PIPELINE_UNAVAILABLE;
        log_item_warnx(job->id, "%s not recorded: redis unavailable", what);
        metrics_add(m, "inboxd_items_failed_total", "reason", "unavailable",
            1);
        break;
    case QUEUE_STORED:
    case QUEUE_ERROR:
        res = PIPELINE_ERROR;
        log_item_error(job->id, "%s not recorded: internal error", what);
        metrics_add(m, "inboxd_items_failed_total", "reason", "error", 1);
        break;
    }
    pipeline_mark_finish(job, res);
}

void
pipeline_mark(struct daemon *d, const char *id, enum queue_mark mark,
    const char *actor, pipeline_mark_cb *cb, void *arg)
{
    struct pipeline_mark_job *job;

    if ((job = xcalloc(1, sizeof(*job))) == NULL ||
        (job->id = xstrdup(id)) == NULL ||
        (actor != NULL && (job->actor = xstrdup(actor)) == NULL)) {
        if (job != NULL)
            xfree(job->id);
        xfree(job);
        cb(PIPELINE_ERROR, id, arg);
        return;
    }
    job->d = d;
    job->mark = mark;
    job->cb = cb;
    job->arg = arg;
    d->inflight++;
    if (spool_is_engaged(d->spool))
        pipeline_mark_spool(job);
    else if (queue_mark(d->queue, id, mark, actor, d->cfg->queue.item_ttl_ms,
        0, pipeline_marked_cb, job) == -1)
        pipeline_marked_cb(QUEUE_UNAVAILABLE, NULL, NULL, job);
}

/* ---------------------------------------------------------- dead letters */

/* A dead letter on its way; its fields are copies (the spool may need
 * them after the caller's buffers are gone). */
struct pipeline_dl_job {
    struct daemon *d;
    struct queue_deadletter dl;
    pipeline_deadletter_cb *cb;
    void *arg;
};

static void
pipeline_dl_finish(struct pipeline_dl_job *job, enum pipeline_result res,
    const char *stream_id)
{
    job->cb(res, stream_id, job->arg);
    job->d->inflight--;
    xfree((char *)(uintptr_t)job->dl.platform);
    xfree((char *)(uintptr_t)job->dl.account);
    xfree((char *)(uintptr_t)job->dl.delivery);
    xfree((char *)(uintptr_t)job->dl.reason);
    xfree((void *)(uintptr_t)job->dl.body);
    xfree(job);
}

static void
pipeline_dl_spooled_cb(enum spool_result res, void *arg)
{
    pipeline_dl_finish(arg, res == SPOOL_DURABLE ? PIPELINE_SPOOLED :
        PIPELINE_UNAVAILABLE, NULL);
}

static void
pipeline_dl_spool(struct pipeline_dl_job *job)
{
    struct spool_write w = {
        .op = SPOOL_OP_DEADLETTER,
        .dl = &job->dl,
        .maxlen = job->d->cfg->queue.deadletter_maxlen,
    };

    spool_put(job->d->spool, &w, pipeline_dl_spooled_cb, job);
}

static void
pipeline_dl_stored_cb(enum queue_status st, const char *queue,
    const char *stream_id, void *arg)
{
    struct pipeline_dl_job *job = arg;

    (void)queue;
    if (st == QUEUE_UNAVAILABLE && job->d->spool != NULL) {
        pipeline_dl_spool(job);
        return;
    }
    pipeline_dl_finish(job, st == QUEUE_STORED ? PIPELINE_STORED :
        st == QUEUE_UNAVAILABLE ? PIPELINE_UNAVAILABLE : PIPELINE_ERROR,
        stream_id);
}

/* A copy of s (NULL stays NULL); -1 when memory ran out. */
static int
pipeline_dup(const char *s, const char **out)
{
    *out = NULL;
    return s != NULL && (*out = xstrdup(s)) == NULL ? -1 : 0;
}

void
pipeline_deadletter(struct daemon *d, const struct queue_deadletter *dl,
    pipeline_deadletter_cb *cb, void *arg)
{
    struct pipeline_dl_job *job;
    void *body = NULL;

    if ((job = xcalloc(1, sizeof(*job))) == NULL) {
        cb(PIPELINE_ERROR, NULL, arg);
        return;
    }
    job->d = d;
    job->cb = cb;
    job->arg = arg;
    d->inflight++;
    if (pipeline_dup(dl->platform, &job->dl.platform) == -1 ||
        pipeline_dup(dl->account, &job->dl.account) == -1 ||
        pipeline_dup(dl->delivery, &job->dl.delivery) == -1 ||
        pipeline_dup(dl->reason, &job->dl.reason) == -1 ||
        (body = xmalloc(dl->len > 0 ? dl->len : 1)) == NULL) {
        pipeline_dl_finish(job, PIPELINE_ERROR, NULL);
        return;
    }
    if (dl->len > 0)
        memcpy(body, dl->body, dl->len);
    job->dl.body = body;
    job->dl.len = dl->len;
    job->dl.received_ms = dl->received_ms > 0 ? dl->received_ms :
        util_now_ms();
    if (spool_is_engaged(d->spool))
        pipeline_dl_spool(job);
    else if (queue_deadletter(d->queue, &job->dl,
        d->cfg->queue.deadletter_maxlen, pipeline_dl_stored_cb, job) == -1)
        pipeline_dl_stored_cb(QUEUE_UNAVAILABLE, NULL, NULL, job);
}

/* ------------------------------------------------------------ admission */

bool
pipeline_is_accepting(const struct daemon *d)
{
    if (d->spool == NULL)
        return queue_is_up(d->queue);
    return !spool_is_engaged(d->spool) || spool_is_accepting(d->spool);
}

int64_t
pipeline_retry_after_s(const struct daemon *d)
{
    return d->spool != NULL ? d->cfg->spool.retry_after_s :
        d->cfg->queue.retry_after_s;
}
