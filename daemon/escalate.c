/*
 * escalate: the escalation runtime (escalate.h; docs/escalation.md). A
 * timer runs one round every escalation.interval:
 *
 *   intake -> decide (here, per item) -> arm -> sweep -> (alerts kicked)
 *
 * each step one run of the queue module's escalation script. The
 * decisions are pure functions of the config snapshot and the item
 * (escalate_decide); everything that must happen once happens in the
 * script. This file also answers the /v1/oncall and /v1/incidents
 * routes, and owns the alert sender (alert.c).
 *
 * Clocks: the escalation clock (escalate_now) decides SLAs, schedules
 * and ladders; the wall clock leases, retries and Redis expiry. They are
 * the same in production. An item's clocks start when it was received,
 * carried over to the escalation clock as "now minus its age", so a
 * test clock set to another week still sees items as just arrived.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "actions.h"
#include "alert.h"
#include "alloc.h"
#include "config.h"
#include "daemon.h"
#include "escalate.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "sched.h"
#include "util.h"

#define ESC_INTAKE_MAX      64      /* items per intake */
#define ESC_CLAIM_IDLE_MS   30000   /* pending this long: its taker died */
#define ESC_SWEEP_MAX       500     /* timers fired per sweep */
#define ESC_MORE_MS         5       /* pause before the next slice */
#define ESC_ID_MAX          20

struct escalate {
    struct daemon *d;
    struct event *ev_tick;
    struct alert *alert;        /* sends the alert records */
    char owner[128];
    bool busy;                  /* a round is waiting for Redis */
    bool started;
    bool intake_seen;           /* the first intake answered */
    bool clock_warned;
    unsigned requests;          /* API requests waiting for Redis */
};

/* One round: the snapshot and the clocks it runs with. */
struct escalate_round {
    struct escalate *e;
    struct config *cfg;
    int64_t now, real;
    bool more;
};

static const struct metrics_family_decl escalate_metrics[] = {
    {"inboxd_escalation_items_total", METRICS_COUNTER,
        "New items escalation took in and armed (SLA timers, triggers)."},
    {"inboxd_incidents_opened_total", METRICS_COUNTER,
        "Incidents opened by critical items and surges when armed."},
    {"inboxd_escalation_timers_total", METRICS_COUNTER,
        "SLA and ladder timers fired by the sweep."},
    {"inboxd_ooh_replies_total", METRICS_COUNTER,
        "Out-of-hours replies asked for."},
};

/* --------------------------------------------------------- decisions */

static bool
escalate_in(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s != NULL && i < n; i++) {
        if (strcmp(list[i], s) == 0)
            return true;
    }
    return false;
}

/* Any string of the JSON array arr (or of key in its objects) in list. */
static bool
escalate_any(char *const *list, size_t n, json_t *arr, const char *key)
{
    json_t *v;
    size_t i;

    json_array_foreach(arr, i, v) {
        if (escalate_in(list, n, json_string_value(key != NULL ?
            json_object_get(v, key) : v)))
            return true;
    }
    return false;
}

static const char *
escalate_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* The parts of an item the triggers look at. */
struct escalate_item {
    const char *id, *queue, *kind, *platform, *account, *conversation;
    const char *lang, *author;
    json_t *categories, *hits;
    char acct[300];             /* "platform:account" */
};

static void
escalate_item_read(json_t *item, struct escalate_item *it)
{
    json_t *cls = json_object_get(item, "classification");

    memset(it, 0, sizeof(*it));
    it->id = escalate_str(item, "id");
    it->queue = escalate_str(item, "queue");
    it->kind = escalate_str(item, "kind");
    it->platform = escalate_str(item, "platform");
    it->account = escalate_str(json_object_get(item, "account"), "id");
    it->conversation = escalate_str(item, "conversation");
    it->author = escalate_str(json_object_get(item, "author"), "id");
    it->lang = escalate_str(item, "lang");
    if (it->lang == NULL)
        it->lang = escalate_str(cls, "lang");
    it->categories = json_object_get(cls, "categories");
    it->hits = json_object_get(cls, "hits");
    snprintf(it->acct, sizeof(it->acct), "%s:%s",
        it->platform ? it->platform : "", it->account ? it->account : "");
}

static bool
escalate_match(const struct escalate_match *m, const struct escalate_item *it)
{
    if (m->nqueues > 0 && !escalate_in(m->queues, m->nqueues, it->queue))
        return false;
    if (m->nkinds > 0 && !escalate_in(m->kinds, m->nkinds, it->kind))
        return false;
    if (m->naccounts > 0 && !escalate_in(m->accounts, m->naccounts,
        it->acct))
        return false;
    /* Categories and rules: either one matching is enough. */
    if (m->ncategories > 0 || m->nrules > 0)
        return escalate_any(m->categories, m->ncategories, it->categories,
            NULL) || escalate_any(m->rules, m->nrules, it->hits, "rule");
    return true;
}

static json_t *
escalate_incident_spec(const char *cause, const char *kind, const char *team,
    const struct escalate_policy *p, const char *item, const char *title)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s?,s:s,s:s}", "cause", cause,
        "kind", kind, "team", team, "ladder", p->ladder, "item", item,
        "title", title, "severity", "critical");
}

/* The SLA part: when the clocks of the first matching policy run out. */
static json_t *
escalate_decide_sla(const struct escalate_config *ec,
    const struct escalate_item *it, int64_t start)
{
    const struct escalate_sla *s = NULL;
    const struct sched *team;
    json_t *o;

    for (size_t i = 0; i < ec->nsla && s == NULL; i++) {
        if (escalate_match(&ec->sla[i].match, it))
            s = &ec->sla[i];
    }
    if (s == NULL)
        return NULL;
    team = ec->teams[s->team];
    if ((o = json_pack("{s:s,s:s,s:s,s:I}", "name", s->name, "team",
        sched_name(team), "ladder", ec->policies[s->policy].ladder,
        "start", (json_int_t)start)) == NULL)
        return NULL;
    for (int w = 0; w < 2; w++) {
        int64_t target = w == 0 ? s->first_response_ms : s->resolution_ms;
        int64_t due, warn = SCHED_NEVER;

        if (target <= 0)
            continue;
        if (s->business_hours) {
            due = sched_business_add(team, start, target);
            if (s->warn_ms > 0 && s->warn_ms < target)
                warn = sched_business_add(team, start, target - s->warn_ms);
        } else {
            due = start + target;
            if (s->warn_ms > 0 && s->warn_ms < target)
                warn = due - s->warn_ms;
        }
        if (due == SCHED_NEVER)
            continue;
        json_object_set_new(o, w == 0 ? "frt_due" : "res_due",
            json_integer(due));
        if (warn != SCHED_NEVER)
            json_object_set_new(o, w == 0 ? "frt_warn" : "res_warn",
                json_integer(warn));
    }
    return o;
}

static json_t *
escalate_decide_critical(const struct escalate_config *ec,
    const struct escalate_item *it)
{
    json_t *list = NULL;
    char cause[600], title[300];

    for (size_t i = 0; i < ec->ncritical; i++) {
        const struct escalate_critical *k = &ec->critical[i];

        if (!escalate_match(&k->match, it))
            continue;
        if (list == NULL && (list = json_array()) == NULL)
            return NULL;
        snprintf(cause, sizeof(cause), "critical:%s:%s", k->name, it->id);
        snprintf(title, sizeof(title), "%s: critical item %s in %s",
            k->name, it->id, it->queue ? it->queue : "?");
        json_array_append_new(list, escalate_incident_spec(cause,
            "critical", sched_name(ec->teams[k->team]),
            &ec->policies[k->policy], it->id, title));
    }
    return list;
}

static json_t *
escalate_decide_surge(const struct escalate_config *ec,
    const struct escalate_item *it)
{
    json_t *list = NULL, *inc;
    char scope[600], key[700], cause[800], title[900], win[32];

    for (size_t i = 0; i < ec->nsurge; i++) {
        const struct escalate_surge *s = &ec->surge[i];

        if (!escalate_match(&s->match, it))
            continue;
        if (list == NULL && (list = json_array()) == NULL)
            return NULL;
        if (s->per == ESCALATE_PER_CONVERSATION && it->conversation != NULL)
            snprintf(scope, sizeof(scope), "%s:%s", it->acct,
                it->conversation);
        else
            snprintf(scope, sizeof(scope), "%s", it->acct);
        snprintf(key, sizeof(key), "%s:%s", s->name, scope);
        snprintf(cause, sizeof(cause), "surge:%s", key);
        if (s->window_ms % 60000 == 0)
            snprintf(win, sizeof(win), "%" PRId64 "m", s->window_ms / 60000);
        else
            snprintf(win, sizeof(win), "%" PRId64 "s", s->window_ms / 1000);
        snprintf(title, sizeof(title), "%s: %" PRId64 " or more items "
            "within %s on %s", s->name, s->count, win, scope);
        inc = escalate_incident_spec(cause, "surge",
            sched_name(ec->teams[s->team]), &ec->policies[s->policy], NULL,
            title);
        json_array_append_new(list, json_pack("{s:s,s:I,s:I,s:o*}", "key",
            key, "count", (json_int_t)s->count, "window",
            (json_int_t)s->window_ms, "incident", inc));
    }
    return list;
}

/* The out-of-hours reply: once per conversation, night, account, lang. */
static json_t *
escalate_decide_ooh(const struct escalate_config *ec,
    const struct escalate_item *it, int64_t now)
{
    char key[900];

    for (size_t i = 0; i < ec->nooh; i++) {
        const struct escalate_ooh *o = &ec->ooh[i];
        const struct sched *team = ec->teams[o->team];
        const char *text = NULL, *lang = it->lang ? it->lang : "";
        const char *conv = it->conversation ? it->conversation : it->author;
        int64_t night_end;

        if (!escalate_match(&o->match, it) || sched_is_business(team, now))
            continue;
        /* A team without business hours has no nights to speak of. */
        if ((night_end = sched_next_business_change(team, now)) ==
            SCHED_NEVER)
            continue;
        for (size_t j = 0; j < o->ntexts && text == NULL; j++) {
            if (strcmp(o->texts[j].lang, lang) == 0)
                text = o->texts[j].text;
        }
        for (size_t j = 0; j < o->ntexts && text == NULL; j++) {
            if (strcmp(o->texts[j].lang, "default") == 0) {
                text = o->texts[j].text;
                lang = "default";
            }
        }
        if (text == NULL || conv == NULL)
            continue;
        /* The night is named by when it ends: the next opening. */
        snprintf(key, sizeof(key), "%s:%s:%s:%" PRId64, it->acct, conv,
            lang, night_end);
        return json_pack("{s:s,s:I,s:s,s:s,s:s+,s:s}", "key", key, "ttl",
            (json_int_t)(night_end - now + 3600000), "platform",
            it->platform ? it->platform : "", "account",
            it->account ? it->account : "", "by", "ooh:", sched_name(team),
            "text", text);
    }
    return NULL;
}

json_t *
escalate_decide(const struct escalate_config *ec, json_t *item,
    int64_t start, int64_t now)
{
    struct escalate_item it;
    json_t *d, *v;

    escalate_item_read(item, &it);
    if (it.id == NULL || (d = json_object()) == NULL)
        return NULL;
    json_object_set_new(d, "item", json_string(it.id));
    if ((v = escalate_decide_sla(ec, &it, start)) != NULL)
        json_object_set_new(d, "sla", v);
    if ((v = escalate_decide_critical(ec, &it)) != NULL)
        json_object_set_new(d, "critical", v);
    if ((v = escalate_decide_surge(ec, &it)) != NULL)
        json_object_set_new(d, "surge", v);
    if ((v = escalate_decide_ooh(ec, &it, now)) != NULL)
        json_object_set_new(d, "ooh", v);
    if (json_object_size(d) == 1) {
        json_decref(d);
        return NULL;
    }
    return d;
}

json_t *
escalate_oncall_map(const struct escalate_config *ec, int64_t now)
{
    struct sched_oncall oc;
    json_t *m = json_object();

    for (size_t i = 0; m != NULL && i < ec->nteams; i++) {
        sched_oncall_at(ec->teams[i], now, &oc);
        json_object_set_new(m, sched_name(ec->teams[i]), json_pack(
            "{s:s?,s:s?,s:s?}", "oncall", oc.oncall, "backup", oc.backup,
            "lead", oc.lead));
    }
    return m;
}

/* t as RFC 3339 in zone z, with its offset: "2026-03-30T09:00:00+02:00". */
static json_t *
escalate_local_time(const struct sched_zone *z, int64_t t)
{
    int32_t off = sched_zone_offset(z, t);
    int64_t l = t + (int64_t)off * 1000, days = l / 86400000;
    int64_t ms = l % 86400000;
    int y, mo, d, a = off < 0 ? -off : off;
    char s[48];

    if (ms < 0) {
        ms += 86400000;
        days--;
    }
    sched_civil_from_days((int32_t)days, &y, &mo, &d);
    snprintf(s, sizeof(s), "%04d-%02d-%02dT%02d:%02d:%02d%c%02d:%02d", y, mo,
        d, (int)(ms / 3600000), (int)(ms / 60000 % 60),
        (int)(ms / 1000 % 60), off < 0 ? '-' : '+', a / 3600, a / 60 % 60);
    return json_string(s);
}

static json_t *
escalate_time(int64_t ms)
{
    char t[32];

    util_format_time(ms, t);
    return json_string(t);
}

json_t *
escalate_oncall_json(const struct escalate_config *ec, int64_t now)
{
    json_t *teams = json_array(), *o;

    if (teams == NULL)
        return NULL;
    for (size_t i = 0; i < ec->nteams; i++) {
        const struct sched *s = ec->teams[i];
        const struct sched_zone *z = sched_zone(s);
        struct sched_oncall oc;
        int64_t change = sched_next_business_change(s, now);

        sched_oncall_at(s, now, &oc);
        o = json_pack("{s:s,s:s,s:o,s:b,s:s?,s:s?,s:s?}", "team",
            sched_name(s), "timezone", sched_zone_name(z), "local_time",
            escalate_local_time(z, now), "business_hours",
            sched_is_business(s, now), "oncall", oc.oncall, "backup",
            oc.backup, "lead", oc.lead);
        if (o == NULL)
            continue;
        if (change != SCHED_NEVER)
            json_object_set_new(o, "business_change_at",
                escalate_time(change));
        if (oc.next_at != SCHED_NEVER)
            json_object_set_new(o, "next", json_pack("{s:s?,s:o,s:o}",
                "oncall", oc.next, "at", escalate_time(oc.next_at),
                "local_time", escalate_local_time(z, oc.next_at)));
        json_array_append_new(teams, o);
    }
    return json_pack("{s:o,s:o}", "now", escalate_time(now), "teams", teams);
}

/* ------------------------------------------------------------ clocks */

int64_t
escalate_now(struct escalate *e)
{
    const struct escalate_config *ec = e->d->cfg->escalation;
    char buf[64];
    size_t n;
    FILE *fp;
    long long v;
    char *end;

    if (ec == NULL || ec->clock_file == NULL)
        return util_now_ms();
    if ((fp = fopen(ec->clock_file, "r")) != NULL) {
        n = fread(buf, 1, sizeof(buf) - 1, fp);
        fclose(fp);
        buf[n] = '\0';
        errno = 0;
        v = strtoll(buf, &end, 10);
        if (errno == 0 && end != buf && v > 0 && (*end == '\0' ||
            *end == '\n')) {
            e->clock_warned = false;
            return (int64_t)v;
        }
    }
    if (!e->clock_warned)
        log_warnx("escalation: clock_file %s holds no time in ms; using "
            "the wall clock", ec->clock_file);
    e->clock_warned = true;
    return util_now_ms();
}

/* ------------------------------------------------------------ rounds */

static void escalate_schedule(struct escalate *e, int64_t ms);

static void
escalate_round_free(struct escalate_round *r)
{
    config_unref(r->cfg);
    xfree(r);
}

/* The script's arguments before the op's own: caps and clocks. */
struct escalate_head {
    char audit[24], ttl[24], now[24], real[24];
};

static void
escalate_head(struct escalate_head *h, const struct config *cfg,
    int64_t now, int64_t real)
{
    snprintf(h->audit, sizeof(h->audit), "%lld",
        (long long)cfg->queue.audit_maxlen);
    snprintf(h->ttl, sizeof(h->ttl), "%lld",
        (long long)cfg->queue.item_ttl_ms);
    snprintf(h->now, sizeof(h->now), "%lld", (long long)now);
    snprintf(h->real, sizeof(h->real), "%lld", (long long)real);
}

static void
escalate_round_end(struct escalate_round *r)
{
    struct escalate *e = r->e;
    int64_t next = r->more ? ESC_MORE_MS :
        r->cfg->escalation != NULL ? r->cfg->escalation->interval_ms : 1000;

    e->busy = false;
    escalate_round_free(r);
    escalate_schedule(e, next);
}

static void
escalate_sweep_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct escalate_round *r = arg;
    struct escalate *e = r->e;
    json_int_t fired = json_integer_value(json_object_get(reply, "fired"));

    if (st == QUEUE_UPDATED) {
        if (fired > 0) {
            metrics_add(e->d->metrics, "inboxd_escalation_timers_total",
                NULL, NULL, (double)fired);
            log_debug("escalate", "sweep fired %lld timers, closed %lld",
                (long long)fired, (long long)json_integer_value(
                json_object_get(reply, "closed")));
        }
        if (json_is_true(json_object_get(reply, "more")))
            r->more = true;
        alert_kick(e->alert);
    }
    escalate_round_end(r);
}

static void
escalate_sweep(struct escalate_round *r)
{
    const struct escalate_config *ec = r->cfg->escalation;
    struct escalate *e = r->e;
    struct escalate_head h;
    char lease[24], max[24], *oncall = NULL;
    json_t *map = escalate_oncall_map(ec, r->now);

    escalate_head(&h, r->cfg, r->now, r->real);
    snprintf(lease, sizeof(lease), "%lld", (long long)(3 *
        ec->interval_ms + 1000));
    snprintf(max, sizeof(max), "%d", ESC_SWEEP_MAX);
    if (map != NULL)
        oncall = json_dumps(map, JSON_COMPACT);
    json_decref(map);
    if (oncall == NULL) {
        escalate_round_end(r);
        return;
    }
    {
        const char *args[] = { h.audit, h.ttl, h.now, h.real, e->owner,
            lease, oncall, max };

        if (queue_escalate(e->d->queue, "sweep", args, nitems(args),
            escalate_sweep_cb, r) == -1)
            escalate_round_end(r);
    }
    xfree(oncall);
}

static void
escalate_arm_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct escalate_round *r = arg;
    struct escalate *e = r->e;
    json_int_t armed, opened, replies;

    if (st != QUEUE_UPDATED) {
        escalate_round_end(r);
        return;
    }
    armed = json_integer_value(json_object_get(reply, "armed"));
    opened = json_integer_value(json_object_get(reply, "opened"));
    replies = json_integer_value(json_object_get(reply, "replies"));
    metrics_add(e->d->metrics, "inboxd_escalation_items_total", NULL, NULL,
        (double)armed);
    if (opened > 0) {
        metrics_add(e->d->metrics, "inboxd_incidents_opened_total", NULL,
            NULL, (double)opened);
        log_info("escalation: %lld incident%s opened by new items",
            (long long)opened, opened == 1 ? "" : "s");
    }
    if (replies > 0) {
        metrics_add(e->d->metrics, "inboxd_ooh_replies_total", NULL, NULL,
            (double)replies);
        log_info("escalation: %lld out-of-hours repl%s asked for",
            (long long)replies, replies == 1 ? "y" : "ies");
        actions_kick(e->d->actions);
    }
    escalate_sweep(r);
}

/* An item's decision, or just its entry to acknowledge. */
static json_t *
escalate_one(struct escalate_round *r, json_t *entry)
{
    const struct escalate_config *ec = r->cfg->escalation;
    const char *js = escalate_str(entry, "json");
    const char *ra = escalate_str(entry, "received_at");
    json_t *item = js != NULL ? json_loads(js, 0, NULL) : NULL, *d = NULL;
    long received;
    int64_t age = 0;

    if (ra != NULL && util_parse_long(ra, 0, LONG_MAX, &received) == 0 &&
        r->real > received)
        age = r->real - received;
    if (item != NULL)
        d = escalate_decide(ec, item, r->now - age, r->now);
    json_decref(item);
    if (d == NULL)
        d = json_pack("{s:s?}", "item", escalate_str(entry, "id"));
    if (d != NULL)
        json_object_set(d, "entry", json_object_get(entry, "entry"));
    return d;
}

static void
escalate_intake_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct escalate_round *r = arg;
    struct escalate *e = r->e;
    json_t *items = json_object_get(reply, "items"), *v, *all;
    struct escalate_head h;
    char *s = NULL;
    size_t i;

    if (st != QUEUE_UPDATED) {
        escalate_round_end(r);
        return;
    }
    if (!e->intake_seen) {
        e->intake_seen = true;
        log_info("escalation: taking in new items (owner %s)", e->owner);
    }
    if (json_array_size(items) == 0) {
        escalate_sweep(r);
        return;
    }
    r->more = json_array_size(items) >= ESC_INTAKE_MAX;
    if ((all = json_array()) == NULL) {
        escalate_round_end(r);
        return;
    }
    json_array_foreach(items, i, v)
        json_array_append_new(all, escalate_one(r, v));
    s = json_dumps(all, JSON_COMPACT);
    json_decref(all);
    escalate_head(&h, r->cfg, r->now, r->real);
    {
        const char *args[] = { h.audit, h.ttl, h.now, h.real, s };

        /* Not armed: the entries stay pending and are claimed again. */
        if (s == NULL || queue_escalate(e->d->queue, "arm", args,
            nitems(args), escalate_arm_cb, r) == -1)
            escalate_round_end(r);
    }
    xfree(s);
}

static void
escalate_round(struct escalate *e)
{
    struct daemon *d = e->d;
    struct escalate_round *r;
    struct escalate_head h;
    char n[24], idle[24];

    if (e->busy || d->draining || d->cfg->escalation == NULL ||
        !queue_is_up(d->queue)) {
        escalate_schedule(e, d->cfg->escalation != NULL ?
            d->cfg->escalation->interval_ms : 1000);
        return;
    }
    if ((r = xcalloc(1, sizeof(*r))) == NULL) {
        escalate_schedule(e, 1000);
        return;
    }
    r->e = e;
    r->cfg = config_ref(d->cfg);
    r->now = escalate_now(e);
    r->real = util_now_ms();
    escalate_head(&h, r->cfg, r->now, r->real);
    snprintf(n, sizeof(n), "%d", ESC_INTAKE_MAX);
    snprintf(idle, sizeof(idle), "%d", ESC_CLAIM_IDLE_MS);
    {
        const char *args[] = { h.audit, h.ttl, h.now, h.real, e->owner, n,
            idle };

        e->busy = true;
        if (queue_escalate(d->queue, "intake", args, nitems(args),
            escalate_intake_cb, r) == -1) {
            e->busy = false;
            escalate_round_free(r);
            escalate_schedule(e, 1000);
        }
    }
}

static void
escalate_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    escalate_round(arg);
}

static void
escalate_schedule(struct escalate *e, int64_t ms)
{
    struct timeval tv = { (time_t)(ms / 1000), (suseconds_t)(ms % 1000) *
        1000 };

    if (!e->started || e->d->draining)
        return;
    evtimer_add(e->ev_tick, &tv);
}

/* --------------------------------------------------------------- API */

struct escalate_job {
    struct escalate *e;
    desk_reply_cb *cb;
    void *arg;
};

static void
escalate_reply(struct escalate *e, desk_reply_cb *cb, void *arg, int status,
    json_t *body, const char *code, const char *message)
{
    struct desk_reply r = { .status = status, .body = body, .code = code,
        .message = message };

    if (status == 200 && body == NULL) {
        r.status = 500;
        r.code = "internal";
        r.message = "out of memory";
    }
    if (e->d->inflight > 0)
        e->d->inflight--;
    cb(&r, arg);
    json_decref(body);
}

/* Hash fields that hold ms times, and those that hold counts. */
static const char *const escalate_time_fields[] = {
    "opened_at", "acked_at", "resolved_at", "breached_at", "paged_at", "due",
};
static const char *const escalate_int_fields[] = {
    "step", "repeats", "triggers", "suppressed", "alerts_sent",
    "alerts_failed", "quiet",
};

/* An incident hash (strings) as the API shows it. */
static json_t *
escalate_incident_json(json_t *h)
{
    json_t *o = json_object(), *t, *ev;
    const char *k;
    json_t *v;
    size_t i;

    if (o == NULL)
        return NULL;
    json_object_foreach(h, k, v) {
        bool done = false;
        long n;

        if (strcmp(k, "timeline") == 0)
            continue;
        for (i = 0; i < nitems(escalate_time_fields) && !done; i++) {
            if (strcmp(k, escalate_time_fields[i]) == 0) {
                done = true;
                if (util_parse_long(json_string_value(v), 0, LONG_MAX, &n)
                    == 0)
                    json_object_set_new(o, k, escalate_time(n));
            }
        }
        for (i = 0; i < nitems(escalate_int_fields) && !done; i++) {
            if (strcmp(k, escalate_int_fields[i]) == 0) {
                done = true;
                if (util_parse_long(json_string_value(v), LONG_MIN,
                    LONG_MAX, &n) == 0)
                    json_object_set_new(o, strcmp(k, "quiet") == 0 ?
                        "quiet_ms" : k, json_integer(n));
            }
        }
        if (!done && json_is_string(v) && json_string_length(v) > 0)
            json_object_set(o, k, v);
    }
    if ((t = json_object_get(h, "timeline")) != NULL) {
        json_t *tl = json_array();

        json_array_foreach(t, i, ev) {
            json_t *c = json_deep_copy(ev);
            long n;

            if (c == NULL)
                continue;
            if (util_parse_long(escalate_str(ev, "at"), 0, LONG_MAX, &n) ==
                0)
                json_object_set_new(c, "at", escalate_time(n));
            /* An empty Lua table comes back as {}: a list of none. */
            if (json_is_object(json_object_get(c, "via")))
                json_object_set_new(c, "via", json_array());
            json_array_append_new(tl, c);
        }
        json_object_set_new(o, "timeline", tl);
    }
    return o;
}

static void
escalate_api_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct escalate_job *job = arg;
    struct escalate *e = job->e;
    const char *err = escalate_str(reply, "error");
    json_t *body, *list, *v;
    char msg[128];
    size_t i;

    e->requests--;
    if (st != QUEUE_UPDATED) {
        escalate_reply(e, job->cb, job->arg, 503, NULL, "store_unavailable",
            "Redis is not reachable; try again");
    } else if (err != NULL && strcmp(err, "not_found") == 0) {
        escalate_reply(e, job->cb, job->arg, 404, NULL, "not_found",
            "no such incident");
    } else if (err != NULL) {
        snprintf(msg, sizeof(msg), "the incident is %.32s",
            escalate_str(reply, "state") ? escalate_str(reply, "state") :
            "not open");
        escalate_reply(e, job->cb, job->arg, 409, NULL, "invalid_state",
            msg);
    } else if ((list = json_object_get(reply, "incidents")) != NULL) {
        json_t *out = json_array();

        json_array_foreach(list, i, v)
            json_array_append_new(out, escalate_incident_json(v));
        body = json_pack("{s:o}", "incidents", out);
        escalate_reply(e, job->cb, job->arg, 200, body, NULL, NULL);
    } else {
        body = escalate_incident_json(json_object_get(reply, "incident"));
        escalate_reply(e, job->cb, job->arg, 200, body, NULL, NULL);
        /* An acknowledgement or resolution has notices to send. */
        alert_kick(e->alert);
    }
    xfree(job);
}

/* "/v1/incidents/<digits>[/<action>]": the id and the rest. */
static int
escalate_path_id(const char *path, char *id, size_t idlen,
    const char **rest)
{
    const char *p = path + strlen("/v1/incidents/");
    size_t n = strspn(p, "0123456789");

    if (n == 0 || n >= idlen || n > ESC_ID_MAX ||
        (p[n] != '\0' && p[n] != '/'))
        return -1;
    memcpy(id, p, n);
    id[n] = '\0';
    *rest = p + n;
    return 0;
}

void
escalate_handle(struct escalate *e, const struct desk_request *req,
    desk_reply_cb *cb, void *arg)
{
    const struct config *cfg = e->d->cfg;
    const struct escalate_config *ec = cfg->escalation;
    struct escalate_job *job;
    struct escalate_head h;
    const char *op = NULL, *rest = "";
    const char *args[8];
    size_t nargs = 0;
    char id[ESC_ID_MAX + 2];
    int64_t now;

    e->d->inflight++;
    if (req->role == CONFIG_ROLE_INGEST) {
        escalate_reply(e, cb, arg, 403, NULL, "forbidden",
            "this token's role may not do that");
        return;
    }
    if (ec == NULL) {
        escalate_reply(e, cb, arg, 404, NULL, "not_configured",
            "escalation is not configured");
        return;
    }
    now = escalate_now(e);
    if (strcmp(req->path, "/v1/oncall") == 0 && req->method == DESK_GET) {
        escalate_reply(e, cb, arg, 200, escalate_oncall_json(ec, now), NULL,
            NULL);
        return;
    }
    if (strcmp(req->path, "/v1/incidents") == 0 && req->method == DESK_GET) {
        op = "list";
    } else if (util_str_has_prefix(req->path, "/v1/incidents/") &&
        escalate_path_id(req->path, id, sizeof(id), &rest) == 0) {
        args[4] = id;
        nargs = 5;
        if (*rest == '\0' && req->method == DESK_GET) {
            op = "get";
        } else if (strcmp(rest, "/ack") == 0 && req->method == DESK_POST) {
            op = "ack";
            args[nargs++] = req->actor;
        } else if (strcmp(rest, "/resolve") == 0 &&
            req->method == DESK_POST) {
            op = "resolve";
            args[nargs++] = req->actor;
            args[nargs++] = "by hand";
        }
    }
    if (op == NULL) {
        escalate_reply(e, cb, arg, 404, NULL, "not_found", "no such route");
        return;
    }
    if ((job = xcalloc(1, sizeof(*job))) == NULL) {
        escalate_reply(e, cb, arg, 500, NULL, "internal", "out of memory");
        return;
    }
    job->e = e;
    job->cb = cb;
    job->arg = arg;
    escalate_head(&h, cfg, now, util_now_ms());
    args[0] = h.audit;
    args[1] = h.ttl;
    args[2] = h.now;
    args[3] = h.real;
    if (nargs == 0)
        nargs = 4;
    e->requests++;
    if (queue_escalate(e->d->queue, op, args, nargs, escalate_api_cb, job)
        == -1) {
        e->requests--;
        xfree(job);
        escalate_reply(e, cb, arg, 503, NULL, "store_unavailable",
            "Redis is not reachable; try again");
        return;
    }
}

/* ------------------------------------------------------------ lifecycle */

struct escalate *
escalate_new(struct daemon *d)
{
    struct escalate *e;

    if ((e = xcalloc(1, sizeof(*e))) == NULL)
        return NULL;
    e->d = d;
    util_instance_name(e->owner, sizeof(e->owner));
    if ((e->ev_tick = evtimer_new(d->base, escalate_tick_cb, e)) == NULL ||
        (e->alert = alert_new(d)) == NULL) {
        if (e->ev_tick != NULL)
            event_free(e->ev_tick);
        xfree(e);
        return NULL;
    }
    metrics_declare_all(d->metrics, escalate_metrics,
        nitems(escalate_metrics));
    return e;
}

void
escalate_start(struct escalate *e)
{
    e->started = true;
    alert_start(e->alert);
    escalate_schedule(e, 0);
}

unsigned
escalate_busy(const struct escalate *e)
{
    return e != NULL ? e->requests + alert_busy(e->alert) : 0;
}

void
escalate_free(struct escalate *e)
{
    if (e == NULL)
        return;
    e->started = false;
    event_free(e->ev_tick);
    alert_free(e->alert);
    xfree(e);
}
