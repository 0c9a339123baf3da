/*
 * desk: the responders' API over the queue module's desk script. It
 * turns one /v1 request (claim, act, view, away, summaries) into one or
 * two desk operations in Redis, and the script's answer into the JSON
 * the API documents (docs/api.md, "Responders"). It owns no state of its
 * own beyond a sweep timer: who holds what, leases, history and the
 * per-agent figures live in Redis (docs/redis.md, "The desk"), where
 * every decision is one atomic script run.
 *
 * The module checks what a request may ask before Redis sees it: the
 * role (stats and other agents' away flags are for leads), that named
 * queues, agents and canned replies exist in the config, the shape and
 * size of the body. Whether the agent may act on the item (nobody else
 * holds it, its state allows it) is the script's decision.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "actions.h"
#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "desk.h"
#include "item.h"
#include "log.h"
#include "metrics.h"
#include "outbound.h"
#include "queue.h"
#include "util.h"

#define DESK_SWEEP_MAX_MS   1000    /* sweep at least this often */
#define DESK_SWEEP_MIN_MS   100
#define DESK_SWEEP_MORE_MS  5       /* pause between intake slices */
#define DESK_LABEL_MAX      64
#define DESK_REASON_MAX     1024
#define DESK_ARGS_MAX       12
#define DESK_QUEUES_MAX     (64u << 10) /* bytes of the joined queue list */

struct desk {
    struct daemon *d;
    struct event *ev_sweep;
    struct event *ev_more;      /* the next slice of a large intake */
    bool sweeping;              /* a sweep is waiting for Redis */
};

enum desk_op {
    DESK_OP_CLAIM = 0,          /* POST /v1/claims */
    DESK_OP_MINE,               /* GET /v1/claims */
    DESK_OP_SHOW,               /* GET /v1/items/<id> */
    DESK_OP_ACT,                /* POST /v1/items/<id>/<action> */
    DESK_OP_AWAY,               /* POST, DELETE /v1/agents/<name>/away */
    DESK_OP_QUEUES,             /* GET /v1/queues */
    DESK_OP_STATS,              /* GET /v1/stats */
    DESK_OP_ME,                 /* GET /v1/me: who the token is */
    DESK_OP_CANNED,             /* GET /v1/canned: the canned replies */
    DESK_OP_ACTION,             /* GET /v1/actions/<id> */
    DESK_OP_UNDO,               /* POST /v1/actions/<id>/undo */
    DESK_OP_RETRY,              /* POST /v1/actions/<id>/retry */
};

/* The actions of POST /v1/items/<id>/<action>. */
static const char *const desk_actions[] = {
    "reply", "note", "label", "reassign", "escalate", "hide", "unhide",
    "delete", "resolve", "reopen", "release",
};

/* One request from desk_handle to its callback. */
struct desk_job {
    struct desk *k;
    struct config *cfg;         /* a reference, taken at the start */
    enum desk_op op;
    char *actor;
    enum config_role role;
    char *id;                   /* the item, decoded */
    const char *action;         /* one of desk_actions */
    char *agent;                /* away: whose flag */
    bool away;
    json_t *body;               /* the request body; NULL: none */
    const char *canned;         /* reply: the canned reply's name */
    const char *tmpl;           /* and its template (cfg's) */
    char *text;                 /* reply: the text to send */
    desk_reply_cb *cb;
    void *arg;
};

static const struct metrics_family_decl desk_metric_families[] = {
    {"inboxd_claims_total", METRICS_COUNTER,
        "Items handed to agents by POST /v1/claims, by how (queue: taken "
        "from a queue; assigned: given to them earlier)."},
    {"inboxd_claims_empty_total", METRICS_COUNTER,
        "Claims that found nothing waiting."},
    {"inboxd_desk_actions_total", METRICS_COUNTER,
        "Actions on items that succeeded, by action."},
    {"inboxd_resolutions_total", METRICS_COUNTER,
        "Items resolved, by queue."},
    {"inboxd_desk_conflicts_total", METRICS_COUNTER,
        "Desk requests refused with 409, by code."},
    {"inboxd_leases_expired_total", METRICS_COUNTER,
        "Claims whose lease ran out; the item went back to its queue."},
    {"inboxd_sticky_assignments_total", METRICS_COUNTER,
        "New items given to the agent holding their conversation."},
};

/* ------------------------------------------------------------- helpers */

static void
desk_job_free(struct desk_job *job)
{
    if (job == NULL)
        return;
    config_unref(job->cfg);
    xfree(job->actor);
    xfree(job->id);
    xfree(job->agent);
    xfree(job->text);
    json_decref(job->body);
    xfree(job);
}

/* Answer and free the job. */
static void
desk_finish(struct desk_job *job, const struct desk_reply *r)
{
    struct daemon *d = job->k->d;

    if (d->inflight > 0)
        d->inflight--;
    job->cb(r, job->arg);
    desk_job_free(job);
}

static void __attribute__((format(printf, 4, 5)))
desk_fail(struct desk_job *job, int status, const char *code,
    const char *fmt, ...)
{
    struct desk_reply r = { .status = status, .code = code };
    char msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    /* It may quote the client, cut anywhere: keep it fit for JSON. */
    util_utf8_scrub(msg);
    r.message = msg;
    if (status == 409)
        metrics_add(job->k->d->metrics, "inboxd_desk_conflicts_total",
            "code", code, 1);
    desk_finish(job, &r);
}

/* Answer 200 with body (taken), or 500 when it is NULL (out of memory). */
static void
desk_ok(struct desk_job *job, json_t *body)
{
    struct desk_reply r = { .status = 200, .body = body };

    if (body == NULL) {
        desk_fail(job, 500, "internal", "out of memory");
        return;
    }
    desk_finish(job, &r);
    json_decref(body);
}

static const char *
desk_str(json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

/* A whole number kept as a string in a hash; -1 when absent or junk. */
static long long
desk_num(json_t *obj, const char *key)
{
    const char *s = desk_str(obj, key);
    long v;

    return util_parse_long(s, LONG_MIN, LONG_MAX, &v) == 0 ? v : -1;
}

/* Set key to the RFC 3339 form of the ms number src[key], when there. */
static void
desk_set_time(json_t *dst, const char *key, json_t *src, const char *from)
{
    long long ms = desk_num(src, from);
    char t[32];

    if (ms < 0)
        return;
    util_format_time((int64_t)ms, t);
    json_object_set_new(dst, key, json_string(t));
}

static void
desk_set_str(json_t *dst, const char *key, const char *s)
{
    if (s != NULL)
        json_object_set_new(dst, key, json_string(s));
}

/* The configured token called name, when its role may use the desk. */
static const struct config_token *
desk_find_agent(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->ntokens; i++) {
        if (strcmp(cfg->tokens[i].name, name) == 0)
            return cfg->tokens[i].role == CONFIG_ROLE_INGEST ? NULL :
                &cfg->tokens[i];
    }
    return NULL;
}

static bool
desk_has_queue(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->queue.nnames; i++) {
        if (strcmp(cfg->queue.names[i], name) == 0)
            return true;
    }
    return false;
}

/* Labels: [A-Za-z0-9_.:-]{1,64}. */
static bool
desk_label_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > DESK_LABEL_MAX)
        return false;
    for (; *s != '\0'; s++) {
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
            (*s >= '0' && *s <= '9') || strchr("_.:-", *s) != NULL))
            return false;
    }
    return true;
}

/* ---------------------------------------------------------------- views */

/*
 * An item as the API shows it, from the desk script's copy of its hash
 * (an object of strings, borrowed). NULL when memory runs out.
 */
static json_t *
desk_view(json_t *h)
{
    json_t *v = json_object(), *item = NULL, *labels = NULL, *esc;
    const char *s;
    long long n;

    if (v == NULL)
        return NULL;
    desk_set_str(v, "id", desk_str(h, "id"));
    desk_set_str(v, "queue", desk_str(h, "queue"));
    desk_set_str(v, "state", desk_str(h, "state"));
    desk_set_str(v, "holder", desk_str(h, "holder"));
    desk_set_time(v, "lease_until", h, "lease_until");
    desk_set_time(v, "claimed_at", h, "claimed_at");
    desk_set_time(v, "received_at", h, "received_at");
    if ((s = desk_str(h, "labels")) != NULL)
        labels = json_loads(s, 0, NULL);
    if (!json_is_array(labels)) {
        json_decref(labels);
        labels = json_array();
    }
    json_object_set_new(v, "labels", labels);
    if ((s = desk_str(h, "escalated")) != NULL && strcmp(s, "1") == 0 &&
        (esc = json_object()) != NULL) {
        desk_set_str(esc, "reason", desk_str(h, "escalation_reason"));
        desk_set_str(esc, "by", desk_str(h, "escalated_by"));
        desk_set_time(esc, "at", h, "escalated_at");
        json_object_set_new(v, "escalation", esc);
    }
    if ((s = desk_str(h, "hide_requested")) != NULL)
        json_object_set_new(v, "hide_requested",
            json_boolean(strcmp(s, "1") == 0));
    if ((s = desk_str(h, "hidden")) != NULL)
        json_object_set_new(v, "hidden", json_boolean(strcmp(s, "1") == 0));
    /* The newest outbound action on it, and how many went wrong. */
    desk_set_str(v, "last_action", desk_str(h, "last_action"));
    desk_set_str(v, "last_action_state", desk_str(h, "last_action_state"));
    if ((n = desk_num(h, "actions_failed")) > 0)
        json_object_set_new(v, "actions_failed", json_integer(n));
    desk_set_time(v, "answered_at", h, "answered_at");
    desk_set_time(v, "first_response_at", h, "first_response_at");
    if ((n = desk_num(h, "first_response_ms")) >= 0)
        json_object_set_new(v, "first_response_ms", json_integer(n));
    desk_set_str(v, "first_response_by", desk_str(h, "first_response_by"));
    desk_set_time(v, "resolved_at", h, "resolved_at");
    desk_set_str(v, "resolved_by", desk_str(h, "resolved_by"));
    if ((n = desk_num(h, "resolution_ms")) >= 0)
        json_object_set_new(v, "resolution_ms", json_integer(n));
    desk_set_time(v, "reopened_at", h, "reopened_at");
    desk_set_time(v, "deleted_at", h, "deleted_at");
    if ((s = desk_str(h, "json")) != NULL &&
        (item = json_loads(s, 0, NULL)) != NULL) {
        /* A move to another queue changes the hash, not the JSON. */
        if (desk_str(h, "queue") != NULL)
            json_object_set_new(item, "queue",
                json_string(desk_str(h, "queue")));
        json_object_set_new(v, "item", item);
    }
    return v;
}

/* The views of an array of hashes; NULL when memory runs out. */
static json_t *
desk_views(json_t *list)
{
    json_t *out = json_array(), *v;
    size_t i;

    /* cjson writes an empty list as {}: json_array_foreach skips it. */
    json_array_foreach(list, i, v) {
        if (json_array_append_new(out, desk_view(v)) == -1) {
            json_decref(out);
            return NULL;
        }
    }
    return out;
}

/* History entries: "at" as a time, the other fields as they are. */
static json_t *
desk_history(json_t *list)
{
    json_t *out = json_array(), *e, *x, *val;
    const char *key;
    size_t i;

    json_array_foreach(list, i, e) {
        if ((x = json_object()) == NULL)
            break;
        desk_set_time(x, "at", e, "at");
        desk_set_str(x, "action", desk_str(e, "action"));
        desk_set_str(x, "by", desk_str(e, "by"));
        json_object_foreach(e, key, val) {
            if (strcmp(key, "at") != 0 && strcmp(key, "action") != 0 &&
                strcmp(key, "by") != 0)
                json_object_set(x, key, val);
        }
        json_array_append_new(out, x);
    }
    return out;
}

/* ------------------------------------------------------ Redis answers */

/* Count what the script did on the side (every op reports it). */
static void
desk_side_effects(struct desk *k, json_t *reply)
{
    json_int_t n;

    if ((n = json_integer_value(json_object_get(reply, "expired"))) > 0)
        metrics_add(k->d->metrics, "inboxd_leases_expired_total", NULL,
            NULL, (double)n);
    if ((n = json_integer_value(json_object_get(reply, "assigned"))) > 0)
        metrics_add(k->d->metrics, "inboxd_sticky_assignments_total", NULL,
            NULL, (double)n);
}

/*
 * A failed run, or the script's refusal: answer it and return true.
 * false: reply is an answer to use.
 */
static bool
desk_refused(struct desk_job *job, enum queue_status st, json_t *reply)
{
    const char *code, *holder, *state;

    if (st == QUEUE_UNAVAILABLE) {
        desk_fail(job, 503, "store_unavailable",
            "the item store (Redis) is unreachable; retry later");
        return true;
    }
    if (st != QUEUE_UPDATED || reply == NULL) {
        desk_fail(job, 500, "internal", "the desk script failed; see the "
            "inboxd log");
        return true;
    }
    desk_side_effects(job->k, reply);
    if ((code = desk_str(reply, "error")) == NULL)
        return false;
    holder = desk_str(reply, "holder");
    state = desk_str(reply, "state");
    if (strcmp(code, "not_found") == 0)
        desk_fail(job, 404, "not_found", "no such item: %s", job->id);
    else if (strcmp(code, "not_holder") == 0)
        desk_fail(job, 409, "not_holder", "%s holds this item",
            holder ? holder : "another agent");
    else if (strcmp(code, "not_held") == 0)
        desk_fail(job, 409, "not_held", "nobody holds this item");
    else if (strcmp(code, "invalid_state") == 0)
        desk_fail(job, 409, "invalid_state", "cannot %s an item that is "
            "%s", job->action ? job->action : "do that",
            state ? state : "in this state");
    else if (strcmp(code, "agent_away") == 0)
        desk_fail(job, 409, "agent_away", "%s is away",
            job->op == DESK_OP_ACT && job->agent ? job->agent :
            job->actor);
    else
        desk_fail(job, 500, "internal", "unexpected desk answer %.40s",
            code);
    return true;
}

static void
desk_claim_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    struct desk_reply r = { .status = 204 };
    const char *via;
    json_t *v;

    if (desk_refused(job, st, reply))
        return;
    if (json_is_true(json_object_get(reply, "empty"))) {
        metrics_add(job->k->d->metrics, "inboxd_claims_empty_total", NULL,
            NULL, 1);
        desk_finish(job, &r);
        return;
    }
    via = desk_str(reply, "via");
    metrics_add(job->k->d->metrics, "inboxd_claims_total", "via",
        via ? via : "queue", 1);
    v = desk_view(json_object_get(reply, "item"));
    if (v != NULL)
        json_object_set_new(v, "via", json_string(via ? via : "queue"));
    log_item_info(desk_str(v, "id"), "claimed by %s (%s)", job->actor,
        via ? via : "queue");
    desk_ok(job, v);
}

static void
desk_mine_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_t *items;

    if (desk_refused(job, st, reply))
        return;
    items = desk_views(json_object_get(reply, "items"));
    desk_ok(job, items ? json_pack("{s:o}", "items", items) : NULL);
}

static void
desk_show_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_t *v;

    if (desk_refused(job, st, reply))
        return;
    if ((v = desk_view(json_object_get(reply, "item"))) != NULL) {
        json_object_set_new(v, "history",
            desk_history(json_object_get(reply, "history")));
        json_object_set_new(v, "conversation",
            desk_views(json_object_get(reply, "conversation")));
    }
    desk_ok(job, v);
}

static void
desk_act_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    const char *aid;
    json_t *v;

    if (desk_refused(job, st, reply))
        return;
    v = desk_view(json_object_get(reply, "item"));
    if ((aid = desk_str(reply, "action_id")) != NULL) {
        if (v != NULL)
            json_object_set_new(v, "action_id", json_string(aid));
        actions_kick(job->k->d->actions);
    }
    metrics_add(job->k->d->metrics, "inboxd_desk_actions_total", "action",
        job->action, 1);
    if (strcmp(job->action, "resolve") == 0)
        metrics_add(job->k->d->metrics, "inboxd_resolutions_total",
            "queue", desk_str(v, "queue") ? desk_str(v, "queue") : "-", 1);
    log_item_info(job->id, "%s by %s", job->action, job->actor);
    desk_ok(job, v);
}

static void
desk_away_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_int_t n;

    if (desk_refused(job, st, reply))
        return;
    n = json_integer_value(json_object_get(reply, "released"));
    log_info("agent %s is %s (%lld items released) by %s", job->agent,
        job->away ? "away" : "back", (long long)n, job->actor);
    desk_ok(job, json_pack("{s:s,s:b,s:I}", "agent", job->agent, "away",
        job->away, "released", n));
}

/* Add every desk token of the config that Redis has not heard of yet. */
static json_t *
desk_agents(const struct config *cfg, json_t *seen)
{
    json_t *out = json_array(), *a, *x;
    size_t i;
    bool found;

    json_array_foreach(seen, i, a) {
        if ((x = json_deep_copy(a)) != NULL)
            json_array_append_new(out, x);
    }
    for (size_t t = 0; t < cfg->ntokens; t++) {
        if (cfg->tokens[t].role == CONFIG_ROLE_INGEST)
            continue;
        found = false;
        json_array_foreach(seen, i, a) {
            if (desk_str(a, "name") != NULL &&
                strcmp(desk_str(a, "name"), cfg->tokens[t].name) == 0)
                found = true;
        }
        if (!found)
            json_array_append_new(out, json_pack("{s:s,s:b,s:i,s:i,s:i,"
                "s:i,s:i}", "name", cfg->tokens[t].name, "away", 0,
                "holding", 0, "claims", 0, "answered", 0, "replies", 0,
                "resolved", 0));
    }
    return out;
}

static void
desk_stats_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_t *out, *queues = json_array(), *q, *x, *n;
    char t[32];
    size_t i;

    if (desk_refused(job, st, reply)) {
        json_decref(queues);
        return;
    }
    json_array_foreach(json_object_get(reply, "queues"), i, q) {
        x = json_pack("{s:O?,s:O?,s:O?}", "name", json_object_get(q, "name"),
            "depth", json_object_get(q, "depth"), "claimed",
            json_object_get(q, "claimed"));
        if (x != NULL && (n = json_object_get(q, "oldest_ms")) != NULL)
            json_object_set(x, "oldest_waiting_ms", n);
        json_array_append_new(queues, x);
    }
    util_format_time(json_integer_value(json_object_get(reply, "now")), t);
    out = json_pack("{s:s,s:o}", "at", t, "queues", queues);
    if (out != NULL && job->op == DESK_OP_STATS)
        json_object_set_new(out, "agents", desk_agents(job->cfg,
            json_object_get(reply, "agents")));
    desk_ok(job, out);
}

/* ------------------------------------------------------- sending ops */

/* The arguments every op starts with: lease ms, audit stream cap. */
struct desk_args {
    const char *v[DESK_ARGS_MAX];
    size_t n;
    char lease[24];
    char audit[24];
    struct buf queues;
};

static void
desk_args_init(struct desk_args *a, const struct config *cfg)
{
    memset(a, 0, sizeof(*a));
    snprintf(a->lease, sizeof(a->lease), "%lld",
        (long long)(cfg->queue.lease_ms > 0 ? cfg->queue.lease_ms :
        15 * 60 * 1000));
    snprintf(a->audit, sizeof(a->audit), "%lld",
        (long long)(cfg->queue.audit_maxlen > 0 ? cfg->queue.audit_maxlen :
        100000));
    a->v[a->n++] = a->lease;
    a->v[a->n++] = a->audit;
    buf_init(&a->queues, DESK_QUEUES_MAX);
}

static void
desk_args_add(struct desk_args *a, const char *s)
{
    if (a->n < DESK_ARGS_MAX)
        a->v[a->n++] = s;
}

/* Join names (queue names have no comma) and add them as one argument. */
static int
desk_args_queues(struct desk_args *a, char *const *names, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (buf_printf(&a->queues, "%s%s", i ? "," : "", names[i]) == -1)
            return -1;
    }
    desk_args_add(a, a->queues.data != NULL ? a->queues.data : "");
    return 0;
}

static void
desk_send(struct desk_job *job, const char *op, struct desk_args *a,
    queue_desk_cb *cb)
{
    if (queue_desk(job->k->d->queue, op, a->v, a->n, cb, job) == -1) {
        buf_free(&a->queues);
        if (!queue_is_up(job->k->d->queue))
            desk_fail(job, 503, "store_unavailable",
                "the item store (Redis) is unreachable; retry later");
        else
            desk_fail(job, 500, "internal", "cannot send to Redis");
        return;
    }
    buf_free(&a->queues);
}

/* Claim from the body's queues (every configured queue when none). */
static void
desk_claim(struct desk_job *job)
{
    json_t *list = json_object_get(job->body, "queues"), *v;
    struct desk_args a;
    const char *q;
    size_t i;

    if (list != NULL && !json_is_array(list)) {
        desk_fail(job, 400, "invalid_request",
            "queues: expected a list of queue names");
        return;
    }
    json_array_foreach(list, i, v) {
        if ((q = json_string_value(v)) == NULL ||
            !desk_has_queue(job->cfg, q)) {
            desk_fail(job, 400, "unknown_queue", "queues[%zu]: not a "
                "configured queue", i);
            return;
        }
    }
    desk_args_init(&a, job->cfg);
    desk_args_add(&a, job->actor);
    if (json_array_size(list) == 0) {
        if (desk_args_queues(&a, job->cfg->queue.names,
            job->cfg->queue.nnames) == -1)
            goto toomany;
    } else {
        json_array_foreach(list, i, v) {
            if (buf_printf(&a.queues, "%s%s", i ? "," : "",
                json_string_value(v)) == -1)
                goto toomany;
        }
        desk_args_add(&a, a.queues.data);
    }
    desk_send(job, "claim", &a, desk_claim_done_cb);
    return;
toomany:
    buf_free(&a.queues);
    desk_fail(job, 400, "invalid_request", "too many queues");
}

static void
desk_act_send(struct desk_job *job, const char *p1, const char *p2)
{
    static const char *const roles[] = {
        [CONFIG_ROLE_INGEST] = "ingest",
        [CONFIG_ROLE_AGENT] = "agent",
        [CONFIG_ROLE_LEAD] = "lead",
        [CONFIG_ROLE_ADMIN] = "admin",
    };
    struct desk_args a;

    desk_args_init(&a, job->cfg);
    desk_args_add(&a, job->actor);
    desk_args_add(&a, roles[job->role]);
    desk_args_add(&a, job->id);
    desk_args_add(&a, job->action);
    desk_args_add(&a, p1 != NULL ? p1 : "");
    desk_args_add(&a, p2 != NULL ? p2 : "");
    desk_send(job, "act", &a, desk_act_done_cb);
}

/* Canned reply: the item came back; expand the template and send. */
static void
desk_canned_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_t *h, *item;

    if (desk_refused(job, st, reply))
        return;
    h = json_object_get(reply, "item");
    item = desk_str(h, "json") ? json_loads(desk_str(h, "json"), 0, NULL) :
        NULL;
    job->text = desk_expand(job->tmpl, item, job->actor,
        desk_str(h, "queue"));
    json_decref(item);
    if (job->text == NULL) {
        desk_fail(job, 500, "internal", "cannot expand canned reply %s",
            job->canned);
        return;
    }
    desk_act_send(job, job->text, job->canned);
}

/* A required non-empty string field of the body, at most max bytes. */
static const char *
desk_body_str(struct desk_job *job, const char *key, size_t max)
{
    json_t *v = json_object_get(job->body, key);

    if (v == NULL)
        return NULL;
    if (!json_is_string(v) || json_string_length(v) == 0 ||
        json_string_length(v) > max ||
        strlen(json_string_value(v)) != json_string_length(v))
        return NULL;
    return json_string_value(v);
}

static void
desk_act(struct desk_job *job)
{
    const struct config *cfg = job->cfg;
    size_t max_text = cfg->limits.max_text > 0 ? cfg->limits.max_text :
        65536;
    const char *a = job->action, *s, *t;
    struct desk_args g;
    json_t *rm;

    if (strcmp(a, "reply") == 0) {
        s = desk_str(job->body, "canned");
        t = desk_body_str(job, "text", max_text);
        if ((s == NULL) == (t == NULL)) {
            desk_fail(job, 400, "invalid_request", "give either text (1 to "
                "%zu bytes) or canned", max_text);
            return;
        }
        if (t != NULL) {
            desk_act_send(job, t, NULL);
            return;
        }
        for (size_t i = 0; i < cfg->ncanned; i++) {
            if (strcmp(cfg->canned[i].name, s) == 0) {
                job->canned = cfg->canned[i].name;
                job->tmpl = cfg->canned[i].text;
            }
        }
        if (job->tmpl == NULL) {
            desk_fail(job, 400, "unknown_canned", "no canned reply called "
                "\"%.64s\"", s);
            return;
        }
        desk_args_init(&g, cfg);
        desk_args_add(&g, job->id);
        desk_args_add(&g, "0");
        desk_send(job, "get", &g, desk_canned_cb);
    } else if (strcmp(a, "note") == 0) {
        if ((t = desk_body_str(job, "text", max_text)) == NULL) {
            desk_fail(job, 400, "invalid_request", "text: expected 1 to %zu "
                "bytes", max_text);
            return;
        }
        desk_act_send(job, t, NULL);
    } else if (strcmp(a, "label") == 0) {
        s = desk_str(job->body, "label");
        rm = json_object_get(job->body, "remove");
        if (s == NULL || !desk_label_ok(s) ||
            (rm != NULL && !json_is_boolean(rm))) {
            desk_fail(job, 400, "invalid_request", "label: expected 1 to "
                "64 of A-Z a-z 0-9 _ . : - (and remove: true or false)");
            return;
        }
        desk_act_send(job, s, json_is_true(rm) ? "remove" : "add");
    } else if (strcmp(a, "reassign") == 0) {
        s = desk_str(job->body, "agent");
        t = desk_str(job->body, "queue");
        if ((s == NULL) == (t == NULL)) {
            desk_fail(job, 400, "invalid_request",
                "give either agent or queue");
        } else if (s != NULL && desk_find_agent(cfg, s) == NULL) {
            desk_fail(job, 400, "unknown_agent", "no agent called "
                "\"%.64s\"", s);
        } else if (t != NULL && !desk_has_queue(cfg, t)) {
            desk_fail(job, 400, "unknown_queue", "no queue called "
                "\"%.64s\"", t);
        } else {
            if (s != NULL && (job->agent = xstrdup(s)) == NULL) {
                desk_fail(job, 500, "internal", "out of memory");
                return;
            }
            desk_act_send(job, s ? "agent" : "queue", s ? s : t);
        }
    } else if (strcmp(a, "escalate") == 0) {
        if ((t = desk_body_str(job, "reason", DESK_REASON_MAX)) == NULL) {
            desk_fail(job, 400, "invalid_request", "reason: expected 1 to "
                "%d bytes", DESK_REASON_MAX);
            return;
        }
        desk_act_send(job, t, NULL);
    } else if (strcmp(a, "delete") == 0 && job->role != CONFIG_ROLE_LEAD &&
        job->role != CONFIG_ROLE_ADMIN) {
        desk_fail(job, 403, "forbidden", "deleting on the platform is for "
            "leads");
    } else {
        /* hide, unhide, delete, resolve, reopen, release: no arguments. */
        desk_act_send(job, NULL, NULL);
    }
}

/* The canned replies agents may send, in config order (no Redis). */
static void
desk_canned_list(struct desk_job *job)
{
    json_t *list = json_array();

    for (size_t i = 0; list != NULL && i < job->cfg->ncanned; i++)
        json_array_append_new(list, json_pack("{s:s,s:s}", "name",
            job->cfg->canned[i].name, "text", job->cfg->canned[i].text));
    desk_ok(job, list != NULL ? json_pack("{s:o}", "canned", list) : NULL);
}

/* ------------------------------------------------------ outbound actions */

/* Send op of the actions script: the audit cap and TTL, then args. */
static void
desk_actions_send(struct desk_job *job, const char *op, const char *a1,
    const char *a2, const char *a3, queue_desk_cb *cb)
{
    char audit[24], ttl[24];
    const char *args[5] = { audit, ttl, a1, a2, a3 };
    size_t n = a3 != NULL ? 5 : a2 != NULL ? 4 : 3;

    snprintf(audit, sizeof(audit), "%lld",
        (long long)job->cfg->queue.audit_maxlen);
    snprintf(ttl, sizeof(ttl), "%lld", (long long)job->cfg->queue.item_ttl_ms);
    if (queue_actions(job->k->d->queue, op, args, n, cb, job) == -1)
        desk_fail(job, 503, "store_unavailable",
            "the item store (Redis) is unreachable; retry later");
}

/* The script's refusals of an action request; true when answered. */
static bool
desk_action_refused(struct desk_job *job, enum queue_status st,
    json_t *reply)
{
    const char *code = desk_str(reply, "error"), *state, *by;

    if (st != QUEUE_UPDATED || code == NULL)
        return desk_refused(job, st, reply);
    state = desk_str(reply, "state");
    by = desk_str(reply, "action_id");
    if (strcmp(code, "not_found") == 0)
        desk_fail(job, 404, "not_found", "no such action: %s", job->id);
    else if (strcmp(code, "already_undone") == 0)
        desk_fail(job, 409, "already_undone", "already undone by action %s",
            by ? by : "-");
    else if (strcmp(code, "invalid_state") == 0)
        desk_fail(job, 409, "invalid_state", "the action is %s",
            state ? state : "in another state");
    else
        desk_fail(job, 500, "internal", "unexpected answer %.40s", code);
    return true;
}

/* An action hash as the API shows it: numbers as numbers, plus undo. */
static json_t *
desk_action_view(json_t *h)
{
    static const char *const nums[] = { "attempts", "http_status",
        "requested_at", "started_at", "lease_until", "next_at", "done_at",
        "undone_at", "retried_at" };
    const char *why = NULL, *s;
    json_t *v = json_deep_copy(h);
    int t, u;

    if (v == NULL)
        return NULL;
    json_object_del(v, "owner");
    for (size_t i = 0; i < nitems(nums); i++) {
        if ((s = desk_str(v, nums[i])) != NULL)
            json_object_set_new(v, nums[i], json_integer(strtoll(s, NULL,
                10)));
    }
    json_object_set_new(v, "dry_run", json_boolean(desk_str(v, "dry_run") &&
        strcmp(desk_str(v, "dry_run"), "1") == 0));
    t = outbound_type_from_name(desk_str(v, "type"));
    u = t == -1 ? -1 : outbound_undo(desk_str(v, "platform"),
        (enum outbound_type)t, &why);
    json_object_set_new(v, "undo", u == -1 ? json_null() :
        json_string(outbound_type_name((enum outbound_type)u)));
    if (u == -1 && why != NULL)
        json_object_set_new(v, "undo_impossible", json_string(why));
    return v;
}

static void
desk_action_get_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;

    if (desk_action_refused(job, st, reply))
        return;
    desk_ok(job, desk_action_view(json_object_get(reply, "action")));
}

static void
desk_action_requested_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    const char *aid;

    if (desk_action_refused(job, st, reply))
        return;
    aid = desk_str(reply, "action_id");
    log_info("action %s: %s by %s", job->id, job->op == DESK_OP_UNDO ?
        "undo requested" : "retry requested", job->actor);
    actions_kick(job->k->d->actions);
    desk_ok(job, json_pack("{s:s,s:s}", "action_id", aid ? aid : "",
        job->op == DESK_OP_UNDO ? "undo_of" : "retry_of", job->id));
}

/* Undo: read the action, then ask for its inverse, if it has one. */
static void
desk_undo_get_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk_job *job = arg;
    json_t *h = json_object_get(reply, "action");
    const char *why = NULL, *state;
    int t, u;

    if (desk_action_refused(job, st, reply))
        return;
    t = outbound_type_from_name(desk_str(h, "type"));
    u = t == -1 ? -1 : outbound_undo(desk_str(h, "platform"),
        (enum outbound_type)t, &why);
    state = desk_str(h, "state");
    if (u == -1) {
        desk_fail(job, 409, "no_undo", "%s", why ? why : "no undo");
    } else if (state == NULL || strcmp(state, "done") != 0) {
        desk_fail(job, 409, "invalid_state", "only a done action can be "
            "undone; this one is %s", state ? state : "unknown");
    } else {
        desk_actions_send(job, "undo", job->actor, job->id,
            outbound_type_name((enum outbound_type)u),
            desk_action_requested_cb);
    }
}

static void
desk_dispatch(struct desk_job *job)
{
    const struct config *cfg = job->cfg;
    struct desk_args a;

    switch (job->op) {
    case DESK_OP_CLAIM:
        desk_claim(job);
        return;
    case DESK_OP_MINE:
        desk_args_init(&a, cfg);
        desk_args_add(&a, job->actor);
        desk_send(job, "mine", &a, desk_mine_done_cb);
        return;
    case DESK_OP_SHOW:
        desk_args_init(&a, cfg);
        desk_args_add(&a, job->id);
        desk_args_add(&a, "1");
        desk_send(job, "get", &a, desk_show_done_cb);
        return;
    case DESK_OP_ACT:
        desk_act(job);
        return;
    case DESK_OP_AWAY:
        desk_args_init(&a, cfg);
        desk_args_add(&a, job->agent);
        desk_args_add(&a, job->away ? "1" : "0");
        desk_send(job, "away", &a, desk_away_done_cb);
        return;
    case DESK_OP_QUEUES:
    case DESK_OP_STATS:
        desk_args_init(&a, cfg);
        if (desk_args_queues(&a, cfg->queue.names, cfg->queue.nnames) ==
            -1) {
            buf_free(&a.queues);
            desk_fail(job, 500, "internal", "too many queues");
            return;
        }
        desk_args_add(&a, job->op == DESK_OP_STATS ? "1" : "0");
        desk_send(job, "stats", &a, desk_stats_done_cb);
        return;
    case DESK_OP_ME:
        desk_ok(job, json_pack("{s:s,s:s}", "name", job->actor, "role",
            config_role_name(job->role)));
        return;
    case DESK_OP_CANNED:
        desk_canned_list(job);
        return;
    case DESK_OP_ACTION:
        desk_actions_send(job, "get", job->id, NULL, NULL,
            desk_action_get_cb);
        return;
    case DESK_OP_UNDO:
        desk_actions_send(job, "get", job->id, NULL, NULL, desk_undo_get_cb);
        return;
    case DESK_OP_RETRY:
        desk_actions_send(job, "retry", job->actor, job->id, NULL,
            desk_action_requested_cb);
        return;
    }
}

/* ------------------------------------------------------------- routing */

/* Decode and check an item id from the path; 0, or -1 after answering. */
static int
desk_route_id(struct desk_job *job, const char *s, size_t len)
{
    char id[ITEM_ID_MAX + 1];

    if (desk_unescape(s, len, id, sizeof(id)) == -1 || id[0] == '\0' ||
        strchr(id, ':') == NULL) {
        desk_fail(job, 400, "invalid_request", "expected an item id "
            "(platform:native_id, percent-encoded) in the path");
        return -1;
    }
    for (const char *p = id; *p != '\0'; p++) {
        if (*p <= ' ' || *p > '~') {
            desk_fail(job, 400, "invalid_request", "an item id is "
                "printable ASCII without spaces");
            return -1;
        }
    }
    if ((job->id = xstrdup(id)) == NULL) {
        desk_fail(job, 500, "internal", "out of memory");
        return -1;
    }
    return 0;
}

/*
 * /v1/actions/<id>[/undo|/retry]: an action id is a stream entry id,
 * "<ms>-<seq>". 0, or -1 after answering.
 */
static int
desk_route_action(struct desk_job *job, const char *rest,
    enum desk_method m, bool lead)
{
    const char *slash = strchr(rest, '/');
    size_t len = slash != NULL ? (size_t)(slash - rest) : strlen(rest);

    if (len == 0 || len > 48 || strspn(rest, "0123456789-") < len) {
        desk_fail(job, 400, "invalid_request", "expected an action id "
            "(<ms>-<seq>) in the path");
        return -1;
    }
    if (m == DESK_GET && slash == NULL)
        job->op = DESK_OP_ACTION;
    else if (m == DESK_POST && slash != NULL && strcmp(slash, "/undo") == 0)
        job->op = DESK_OP_UNDO;
    else if (m == DESK_POST && slash != NULL &&
        strcmp(slash, "/retry") == 0)
        job->op = DESK_OP_RETRY;
    else {
        desk_fail(job, 404, "not_found", "no such endpoint");
        return -1;
    }
    if (job->op == DESK_OP_RETRY && !lead) {
        desk_fail(job, 403, "forbidden", "retrying an action is for leads");
        return -1;
    }
    if ((job->id = xstrndup(rest, len)) == NULL) {
        desk_fail(job, 500, "internal", "out of memory");
        return -1;
    }
    return 0;
}

/* Set job->op (and what the path names); 0, or -1 after answering. */
static int
desk_route(struct desk_job *job, const struct desk_request *req)
{
    const char *p = req->path, *rest, *slash;
    enum desk_method m = req->method;
    bool lead = job->role == CONFIG_ROLE_LEAD ||
        job->role == CONFIG_ROLE_ADMIN;
    json_t *v;

    if (strcmp(p, "/v1/me") == 0 && m == DESK_GET) {
        job->op = DESK_OP_ME;
    } else if (strcmp(p, "/v1/canned") == 0 && m == DESK_GET) {
        job->op = DESK_OP_CANNED;
    } else if (strcmp(p, "/v1/claims") == 0 && m != DESK_DELETE) {
        job->op = m == DESK_POST ? DESK_OP_CLAIM : DESK_OP_MINE;
    } else if (strcmp(p, "/v1/queues") == 0 && m == DESK_GET) {
        job->op = DESK_OP_QUEUES;
    } else if (strcmp(p, "/v1/stats") == 0 && m == DESK_GET) {
        if (!lead) {
            desk_fail(job, 403, "forbidden", "stats are for leads");
            return -1;
        }
        job->op = DESK_OP_STATS;
    } else if (util_str_has_prefix(p, "/v1/items/") && m == DESK_GET) {
        job->op = DESK_OP_SHOW;
        rest = p + strlen("/v1/items/");
        return desk_route_id(job, rest, strlen(rest));
    } else if (util_str_has_prefix(p, "/v1/items/") && m == DESK_POST &&
        (slash = strrchr(p, '/')) > p + strlen("/v1/items/")) {
        rest = p + strlen("/v1/items/");
        for (size_t i = 0; i < nitems(desk_actions); i++) {
            if (strcmp(slash + 1, desk_actions[i]) == 0)
                job->action = desk_actions[i];
        }
        if (job->action == NULL) {
            desk_fail(job, 404, "not_found", "no such action");
            return -1;
        }
        job->op = DESK_OP_ACT;
        return desk_route_id(job, rest, (size_t)(slash - rest));
    } else if (util_str_has_prefix(p, "/v1/actions/")) {
        return desk_route_action(job, p + strlen("/v1/actions/"), m, lead);
    } else if (util_str_has_prefix(p, "/v1/agents/") && m != DESK_GET &&
        (slash = strchr(p + strlen("/v1/agents/"), '/')) != NULL &&
        strcmp(slash, "/away") == 0) {
        rest = p + strlen("/v1/agents/");
        job->op = DESK_OP_AWAY;
        if (slash - rest == 2 && strncmp(rest, "me", 2) == 0)
            job->agent = xstrdup(job->actor);
        else
            job->agent = xstrndup(rest, (size_t)(slash - rest));
        if (job->agent == NULL) {
            desk_fail(job, 500, "internal", "out of memory");
            return -1;
        }
        if (strcmp(job->agent, job->actor) != 0 && !lead) {
            desk_fail(job, 403, "forbidden", "only a lead may set another "
                "agent's away flag");
            return -1;
        }
        if (desk_find_agent(job->cfg, job->agent) == NULL) {
            desk_fail(job, 404, "not_found", "no such agent");
            return -1;
        }
        job->away = m == DESK_POST;
        if ((v = json_object_get(job->body, "away")) != NULL) {
            if (!json_is_boolean(v) || m != DESK_POST) {
                desk_fail(job, 400, "invalid_request",
                    "away: expected true or false");
                return -1;
            }
            job->away = json_is_true(v);
        }
    } else {
        desk_fail(job, 404, "not_found", "no such endpoint");
        return -1;
    }
    return 0;
}

void
desk_handle(struct desk *k, const struct desk_request *req,
    desk_reply_cb *cb, void *arg)
{
    struct desk_reply oom = { .status = 500, .code = "internal",
        .message = "out of memory" };
    struct desk_job *job;
    json_error_t jerr;

    if ((job = xcalloc(1, sizeof(*job))) == NULL) {
        cb(&oom, arg);
        return;
    }
    job->k = k;
    job->cb = cb;
    job->arg = arg;
    job->cfg = config_ref(k->d->cfg);
    job->role = req->role;
    k->d->inflight++;
    if ((job->actor = xstrdup(req->actor)) == NULL) {
        desk_fail(job, 500, "internal", "out of memory");
        return;
    }
    if (req->role == CONFIG_ROLE_INGEST) {
        desk_fail(job, 403, "forbidden", "this token's role may not do "
            "that");
        return;
    }
    if (req->body != NULL && req->len > 0) {
        job->body = json_loadb(req->body, req->len, JSON_REJECT_DUPLICATES,
            &jerr);
        if (job->body == NULL) {
            desk_fail(job, 400, "invalid_json", "line %d column %d: %s",
                jerr.line, jerr.column, jerr.text);
            return;
        }
        if (!json_is_object(job->body)) {
            desk_fail(job, 400, "invalid_json", "expected a JSON object");
            return;
        }
    }
    if (desk_route(job, req) == -1)
        return;
    desk_dispatch(job);
}

/* ---------------------------------------------------------------- sweep */

static void
desk_sweep_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct desk *k = arg;

    k->sweeping = false;
    if (st == QUEUE_UPDATED && reply != NULL) {
        desk_side_effects(k, reply);
        /* A backlog is taken in by short slices with stores between. */
        if (json_is_true(json_object_get(reply, "more"))) {
            struct timeval tv = {0, DESK_SWEEP_MORE_MS * 1000};

            evtimer_add(k->ev_more, &tv);
        }
    }
}

/*
 * Return expired leases and take new items in, so that the queues'
 * figures and conversation stickiness do not wait for the next claim.
 */
static void
desk_sweep_cb(evutil_socket_t fd, short what, void *arg)
{
    struct desk *k = arg;
    struct daemon *d = k->d;
    struct desk_args a;

    (void)fd;
    (void)what;
    if (k->sweeping || d->draining || !queue_is_up(d->queue))
        return;
    desk_args_init(&a, d->cfg);
    if (desk_args_queues(&a, d->cfg->queue.names, d->cfg->queue.nnames) ==
        0 && queue_desk(d->queue, "sweep", a.v, a.n, desk_sweep_done_cb,
        k) == 0)
        k->sweeping = true;
    buf_free(&a.queues);
}

/* ------------------------------------------------------------ lifetime */

struct desk *
desk_new(struct daemon *d)
{
    struct desk *k;

    if ((k = xcalloc(1, sizeof(*k))) == NULL)
        return NULL;
    k->d = d;
    if ((k->ev_sweep = event_new(d->base, -1, EV_PERSIST, desk_sweep_cb,
        k)) == NULL ||
        (k->ev_more = evtimer_new(d->base, desk_sweep_cb, k)) == NULL) {
        if (k->ev_sweep != NULL)
            event_free(k->ev_sweep);
        xfree(k);
        return NULL;
    }
    metrics_declare_all(d->metrics, desk_metric_families,
        nitems(desk_metric_families));
    return k;
}

int
desk_start(struct desk *k)
{
    int64_t ms = k->d->cfg->queue.lease_ms / 4;
    struct timeval tv;

    if (ms > DESK_SWEEP_MAX_MS || ms <= 0)
        ms = DESK_SWEEP_MAX_MS;
    if (ms < DESK_SWEEP_MIN_MS)
        ms = DESK_SWEEP_MIN_MS;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    return event_add(k->ev_sweep, &tv) == 0 ? 0 : -1;
}

void
desk_free(struct desk *k)
{
    if (k == NULL)
        return;
    if (k->ev_sweep != NULL)
        event_free(k->ev_sweep);
    if (k->ev_more != NULL)
        event_free(k->ev_more);
    xfree(k);
}

/* ------------------------------------------------------- canned replies */

static const char *const desk_vars[] = {
    "author_name", "author_username", "agent", "platform", "queue", "id",
};

/* The placeholder at p ("{name}"): its index, or -1. *len: its length. */
static int
desk_var_at(const char *p, size_t *len)
{
    const char *end = strchr(p, '}');

    if (end == NULL)
        return -1;
    for (size_t i = 0; i < nitems(desk_vars); i++) {
        if ((size_t)(end - p - 1) == strlen(desk_vars[i]) &&
            strncmp(p + 1, desk_vars[i], strlen(desk_vars[i])) == 0) {
            *len = (size_t)(end - p) + 1;
            return (int)i;
        }
    }
    return -1;
}

const char *
desk_template_check(const char *tmpl)
{
    size_t len;

    for (const char *p = tmpl; *p != '\0'; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            p++;
        } else if (*p == '{') {
            if (desk_var_at(p, &len) == -1)
                return "unknown placeholder: use {author_name}, "
                    "{author_username}, {agent}, {platform}, {queue} or "
                    "{id}, and {{ for a literal {";
            p += len - 1;
        } else if (*p == '}') {
            return "a lone }: write }} for a literal }";
        }
    }
    return NULL;
}

char *
desk_expand(const char *tmpl, json_t *item, const char *agent,
    const char *queue)
{
    json_t *author = json_object_get(item, "author");
    const char *vals[nitems(desk_vars)];
    const char *name = desk_str(author, "name");
    struct buf b;
    size_t len;
    int v;

    if (desk_template_check(tmpl) != NULL)
        return NULL;
    vals[0] = name != NULL && *name != '\0' ? name :
        desk_str(author, "username");
    vals[1] = desk_str(author, "username");
    vals[2] = agent;
    vals[3] = desk_str(item, "platform");
    vals[4] = queue != NULL ? queue : desk_str(item, "queue");
    vals[5] = desk_str(item, "id");
    buf_init(&b, 1u << 20);
    for (const char *p = tmpl; *p != '\0'; p++) {
        if ((p[0] == '{' && p[1] == '{') || (p[0] == '}' && p[1] == '}')) {
            if (buf_append(&b, p, 1) == -1)
                goto fail;
            p++;
        } else if (*p == '{' && (v = desk_var_at(p, &len)) >= 0) {
            if (vals[v] != NULL && buf_puts(&b, vals[v]) == -1)
                goto fail;
            p += len - 1;
        } else if (buf_append(&b, p, 1) == -1) {
            goto fail;
        }
    }
    if (b.data == NULL && buf_puts(&b, "") == -1)
        goto fail;
    return buf_steal(&b);
fail:
    buf_free(&b);
    return NULL;
}

static int
desk_hex(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
desk_unescape(const char *in, size_t len, char *out, size_t outlen)
{
    size_t n = 0;
    int hi, lo;

    for (size_t i = 0; i < len; i++) {
        char c = in[i];

        if (c == '%') {
            if (i + 2 >= len)
                return -1;
            if ((hi = desk_hex(in[i + 1])) < 0 ||
                (lo = desk_hex(in[i + 2])) < 0 || (hi == 0 && lo == 0))
                return -1;
            c = (char)(hi << 4 | lo);
            i += 2;
        }
        if (n + 1 >= outlen)
            return -1;
        out[n++] = c;
    }
    if (outlen == 0)
        return -1;
    out[n] = '\0';
    return 0;
}
