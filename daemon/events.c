/*
 * events: the hub of the live event stream, GET /v1/events
 * (docs/api.md, "Events (SSE)"). It sits beside the pipeline, not in
 * it: items and desk actions reach it only through the ingest and audit
 * streams in Redis, which every inboxd process writes, so nothing on the
 * ingest path knows it exists, and with no client connected it sends
 * nothing and runs no timer.
 *
 * Where the hub and each client are in the two streams:
 *
 *   - The hub's place (cur) is where its next read starts. It is learnt
 *     from the streams' ends when the first client arrives, moved by
 *     each read, and forgotten when the last client leaves.
 *   - A client is placed by a read of its own: the streams' ends for a
 *     new one, or the entries it missed (the newest EVENTS_RESUME_MAX)
 *     and the ends for one that resumes with Last-Event-ID. Until that
 *     read has answered it gets nothing from the hub's reads; after, it
 *     takes from them only entries past its own place (pos).
 *
 * This holds together because Redis answers the commands of one
 * connection in order, and a client's read is sent only after the hub's
 * first: a hub read answered before the client's ran before it (the
 * client's read covers those entries), one answered after finds the
 * client placed. While Redis is away nothing moves; clients keep their
 * connections and places, and reads resume from the same ids.
 *
 * The hub decides the one order of the stream (events_order): by entry
 * id, ingest before audit on a tie, and a read that came back full for
 * one stream holds back the other stream's later entries until the next.
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "desk.h"
#include "events.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "util.h"

/* A frame is an entry's fields and a little more: cap it well above. */
#define EVENTS_FRAME_MAX    (16u << 20)
#define EVENTS_PARAM_MAX    1024    /* bytes of one decoded query value */

static const char *const events_stream_names[EVENTS_NSTREAMS] = {
    [EVENTS_INGEST] = "ingest",
    [EVENTS_AUDIT] = "audit",
};

enum events_state {
    EVENTS_WAITING = 0,         /* its placing read is still to be sent */
    EVENTS_PLACING,             /* sent, not answered */
    EVENTS_LIVE,                /* placed: takes the hub's reads */
};

struct events_read;

struct events_client {
    TAILQ_ENTRY(events_client) entry;
    struct events *ev;
    const struct events_sink *sink;
    void *arg;
    struct events_filter filter;
    enum events_state state;
    bool resume;                /* came with Last-Event-ID */
    struct events_id pos[EVENTS_NSTREAMS]; /* seen each stream up to */
    struct events_read *read;   /* its placing read, while in flight */
    unsigned batch;             /* the hub's read it was last checked in */
};

TAILQ_HEAD(events_clients, events_client);

/* One read in flight; answered exactly once by the queue. */
struct events_read {
    struct events *ev;
    bool hub;                   /* the hub's read, else a client's */
    struct events_client *client;   /* a client's; NULL once it left */
    bool placing;               /* the hub's: learning the streams' ends */
    unsigned gen;               /* the hub's: ev->gen when sent */
};

struct events {
    struct daemon *d;
    struct events_clients clients;
    unsigned nclients;
    bool stopped;               /* draining: no clients, no reads */
    bool placed;                /* cur is known */
    bool reading;               /* the hub's read is in flight */
    bool placing;               /* and it learns the place, this gen */
    unsigned gen;               /* bumped when the hub forgets its place */
    unsigned batch;             /* counts the hub's reads with entries */
    struct events_id cur[EVENTS_NSTREAMS];
    struct event *ev_poll;      /* every EVENTS_POLL_MS while clients */
    struct event *ev_more;      /* at once, after a full read */
    struct event *ev_keepalive; /* every EVENTS_KEEPALIVE_MS */
};

static const struct metrics_family_decl events_metric_families[] = {
    {"inboxd_events_clients", METRICS_GAUGE,
        "Clients connected to GET /v1/events."},
    {"inboxd_events_sent_total", METRICS_COUNTER,
        "Events written to clients of GET /v1/events."},
    {"inboxd_events_dropped_total", METRICS_COUNTER,
        "Event stream clients ended by inboxd, by reason (slow: too much "
        "unsent; shutdown: a drain)."},
};

static void events_pump(struct events *ev);

/* -------------------------------------------------------------- ids */

int
events_id_parse(const char *s, struct events_id *id)
{
    const char *dash;
    char *end;

    if (s == NULL || (dash = strchr(s, '-')) == NULL || dash == s ||
        s[0] < '0' || s[0] > '9' || dash[1] < '0' || dash[1] > '9')
        return -1;
    errno = 0;
    id->ms = strtoull(s, &end, 10);
    if (errno != 0 || end != dash)
        return -1;
    id->seq = strtoull(dash + 1, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    return 0;
}

int
events_id_cmp(const struct events_id *a, const struct events_id *b)
{
    if (a->ms != b->ms)
        return a->ms < b->ms ? -1 : 1;
    if (a->seq != b->seq)
        return a->seq < b->seq ? -1 : 1;
    return 0;
}

void
events_id_format(const struct events_id *id, char *out, size_t len)
{
    snprintf(out, len, "%" PRIu64 "-%" PRIu64, id->ms, id->seq);
}

/* The id just before id (none before 0-0: 0-0 itself). */
static struct events_id
events_id_pred(struct events_id id)
{
    if (id.seq > 0) {
        id.seq--;
    } else if (id.ms > 0) {
        id.ms--;
        id.seq = UINT64_MAX;
    }
    return id;
}

/*
 * An entry of stream s with id x went out after every entry of a stream
 * ranked before s with an id up to x, and before those of a stream
 * ranked after s with the same id (the ingest entry of a tie first).
 */
int
events_resume_from(const char *last_id,
    struct events_id after[EVENTS_NSTREAMS])
{
    struct events_id x;
    const char *colon;
    int s, t;

    if (last_id == NULL || (colon = strchr(last_id, ':')) == NULL)
        return -1;
    for (s = 0; s < EVENTS_NSTREAMS; s++) {
        if (strlen(events_stream_names[s]) == (size_t)(colon - last_id) &&
            strncmp(last_id, events_stream_names[s],
            (size_t)(colon - last_id)) == 0)
            break;
    }
    if (s == EVENTS_NSTREAMS || events_id_parse(colon + 1, &x) == -1)
        return -1;
    for (t = 0; t < EVENTS_NSTREAMS; t++)
        after[t] = t > s ? events_id_pred(x) : x;
    return 0;
}

/* ----------------------------------------------------------- filters */

void
events_filter_clear(struct events_filter *f)
{
    for (size_t i = 0; i < f->nqueues; i++)
        xfree(f->queues[i]);
    for (size_t i = 0; i < f->ntypes; i++)
        xfree(f->types[i]);
    XFREE(&f->queues);
    XFREE(&f->types);
    f->nqueues = f->ntypes = 0;
}

static bool
events_has_queue(const struct config *cfg, const char *name)
{
    for (size_t i = 0; i < cfg->queue.nnames; i++)
        if (strcmp(cfg->queue.names[i], name) == 0)
            return true;
    return false;
}

/* An event type as a client may name it: the characters of an action. */
static bool
events_name_ok(const char *s, size_t len)
{
    if (len == 0 || len > EVENTS_NAME_MAX)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            return false;
    }
    return true;
}

/* Append a copy of s[0..len) to *list; -1 when memory runs out. */
static int
events_list_add(char ***list, size_t *n, const char *s, size_t len)
{
    char **v;

    if ((v = xrealloc(*list, (*n + 1) * sizeof(*v))) == NULL)
        return -1;
    *list = v;
    if ((v[*n] = xstrndup(s, len)) == NULL)
        return -1;
    (*n)++;
    return 0;
}

/* One decoded value of queue= or types=, split on commas. */
static enum events_refusal
events_filter_add(struct events_filter *f, const struct config *cfg,
    bool queue, const char *value, char *err, size_t errlen)
{
    const char *p = value, *comma;
    size_t len;

    do {
        comma = strchr(p, ',');
        len = comma != NULL ? (size_t)(comma - p) : strlen(p);
        if ((queue ? f->nqueues : f->ntypes) >= EVENTS_FILTER_MAX) {
            snprintf(err, errlen, "%s: at most %d names", queue ? "queue" :
                "types", EVENTS_FILTER_MAX);
            return EVENTS_BAD_REQUEST;
        }
        if (!events_name_ok(p, len)) {
            snprintf(err, errlen, "%s: expected names of letters, digits, "
                "'_', '-' or '.' (1 to %d)", queue ? "queue" : "types",
                EVENTS_NAME_MAX);
            return EVENTS_BAD_REQUEST;
        }
        if (queue) {
            char name[EVENTS_NAME_MAX + 1];

            memcpy(name, p, len);
            name[len] = '\0';
            if (!events_has_queue(cfg, name)) {
                snprintf(err, errlen, "no such queue: %s", name);
                return EVENTS_UNKNOWN_QUEUE;
            }
        }
        if (events_list_add(queue ? &f->queues : &f->types,
            queue ? &f->nqueues : &f->ntypes, p, len) == -1) {
            snprintf(err, errlen, "out of memory");
            return EVENTS_NOMEM;
        }
        p = comma != NULL ? comma + 1 : NULL;
    } while (p != NULL);
    return EVENTS_JOINED;
}

enum events_refusal
events_filter_parse(const char *query, const struct config *cfg,
    struct events_filter *f, char *err, size_t errlen)
{
    char key[16], value[EVENTS_PARAM_MAX];
    const char *p = query, *amp, *eq;
    enum events_refusal r;
    size_t len;

    memset(f, 0, sizeof(*f));
    while (p != NULL && *p != '\0') {
        amp = strchr(p, '&');
        len = amp != NULL ? (size_t)(amp - p) : strlen(p);
        if (len > 0) {
            eq = memchr(p, '=', len);
            if (eq == NULL || desk_unescape(p, (size_t)(eq - p), key,
                sizeof(key)) == -1 || desk_unescape(eq + 1,
                len - (size_t)(eq - p) - 1, value, sizeof(value)) == -1 ||
                (strcmp(key, "queue") != 0 && strcmp(key, "types") != 0)) {
                snprintf(err, errlen, "unknown or malformed parameter "
                    "%.*s: expected queue=<name> or types=<name>,...",
                    (int)(eq != NULL ? (size_t)(eq - p) : (len > 40 ? 40 :
                    len)), p);
                return EVENTS_BAD_REQUEST;
            }
            r = events_filter_add(f, cfg, key[0] == 'q', value, err,
                errlen);
            if (r != EVENTS_JOINED)
                return r;
        }
        p = amp != NULL ? amp + 1 : NULL;
    }
    return EVENTS_JOINED;
}

static bool
events_in(char *const *list, size_t n, const char *s)
{
    for (size_t i = 0; s != NULL && i < n; i++)
        if (strcmp(list[i], s) == 0)
            return true;
    return false;
}

bool
events_filter_match(const struct events_filter *f, const char *name,
    const char *queue, const char *from_queue)
{
    if (f->ntypes > 0 && !events_in(f->types, f->ntypes, name))
        return false;
    return f->nqueues == 0 || events_in(f->queues, f->nqueues, queue) ||
        events_in(f->queues, f->nqueues, from_queue);
}

/* ---------------------------------------------------------- ordering */

/* Entry a goes out before entry b. */
static int
events_entry_cmp(const void *pa, const void *pb)
{
    const struct events_entry *a = pa, *b = pb;
    int c = events_id_cmp(&a->id, &b->id);

    if (c != 0)
        return c;
    return a->stream < b->stream ? -1 : a->stream > b->stream;
}

long
events_order(json_t *reply, long count, struct events_entry **out)
{
    struct events_entry *v = NULL, limit = { 0 };
    bool limited = false;
    size_t n = 0, total = 0, i;
    json_t *list, *e;
    long keep;

    *out = NULL;
    for (int s = 0; s < EVENTS_NSTREAMS; s++)
        total += json_array_size(json_object_get(reply,
            events_stream_names[s]));
    if (total == 0)
        return 0;
    if ((v = xcalloc(total, sizeof(*v))) == NULL)
        return -1;
    for (int s = 0; s < EVENTS_NSTREAMS; s++) {
        size_t first = n;

        list = json_object_get(reply, events_stream_names[s]);
        json_array_foreach(list, i, e) {
            struct events_entry *x = &v[n];

            x->stream = (enum events_stream)s;
            x->fields = json_array_get(e, 1);
            x->queue = json_string_value(json_array_get(e, 2));
            if (events_id_parse(json_string_value(json_array_get(e, 0)),
                &x->id) == -1 || !json_is_object(x->fields))
                continue;
            n++;
        }
        /* A full stream: what comes after its last entry waits. */
        if (count > 0 && json_array_size(list) >= (size_t)count &&
            n > first && (!limited ||
            events_entry_cmp(&v[n - 1], &limit) < 0)) {
            limit = v[n - 1];
            limited = true;
        }
    }
    qsort(v, n, sizeof(*v), events_entry_cmp);
    if (limited) {
        while (n > 0 && events_entry_cmp(&v[n - 1], &limit) > 0)
            n--;
    }
    if (count < 0 && n > (size_t)-count) {
        keep = -count;
        memmove(v, v + (n - (size_t)keep), (size_t)keep * sizeof(*v));
        n = (size_t)keep;
    }
    if (n == 0)
        XFREE(&v);
    *out = v;
    return (long)n;
}

/* ----------------------------------------------------------- framing */

static const char *
events_field(json_t *fields, const char *key)
{
    return json_string_value(json_object_get(fields, key));
}

/* "at": a time in ms as a string, else the entry id's time. */
static void
events_set_at(json_t *data, const char *ms, const struct events_id *id)
{
    long v;
    char t[32];

    if (ms == NULL || util_parse_long(ms, 0, LONG_MAX, &v) == -1)
        v = (long)id->ms;
    util_format_time((int64_t)v, t);
    json_object_set_new(data, "at", json_string(t));
}

/* An audit entry's data: the history entry's fields, id and queue. */
static json_t *
events_audit_data(const struct events_entry *e, struct events_event *ev)
{
    const char *action = events_field(e->fields, "action");
    const char *item = events_field(e->fields, "item");
    const char *queue = events_field(e->fields, "queue");
    const char *key;
    json_t *data, *val;

    if (action == NULL || item == NULL ||
        !events_name_ok(action, strlen(action)))
        return NULL;
    snprintf(ev->name, sizeof(ev->name), "%s", action);
    /* The entry's own queue (a claim's, a move's destination) first. */
    if (queue == NULL && e->queue != NULL && e->queue[0] != '\0')
        queue = e->queue;
    ev->queue = queue;
    ev->from_queue = events_field(e->fields, "from_queue");
    if ((data = json_object()) == NULL)
        return NULL;
    json_object_set_new(data, "event", json_string(action));
    json_object_set_new(data, "id", json_string(item));
    if (queue != NULL)
        json_object_set_new(data, "queue", json_string(queue));
    if (events_field(e->fields, "by") != NULL)
        json_object_set_new(data, "by",
            json_string(events_field(e->fields, "by")));
    events_set_at(data, events_field(e->fields, "at"), &e->id);
    json_object_foreach(e->fields, key, val) {
        if (json_object_get(data, key) == NULL &&
            strcmp(key, "item") != 0 && strcmp(key, "action") != 0)
            json_object_set(data, key, val);
    }
    return data;
}

int
events_event_build(const struct events_entry *e, struct events_event *ev)
{
    char id[48];
    json_t *data = NULL;
    char *s = NULL;
    int rc = -1;

    ev->name[0] = '\0';
    ev->queue = ev->from_queue = NULL;
    if (e->stream == EVENTS_INGEST) {
        const char *item = events_field(e->fields, "id");

        if (item == NULL)
            return -1;
        snprintf(ev->name, sizeof(ev->name), "item");
        ev->queue = events_field(e->fields, "queue");
        data = json_pack("{s:s,s:s,s:s?}", "event", "item", "id", item,
            "queue", ev->queue);
        if (data != NULL)
            events_set_at(data, NULL, &e->id);
    } else {
        data = events_audit_data(e, ev);
    }
    if (data == NULL || (s = json_dumps(data, JSON_COMPACT)) == NULL)
        goto out;
    events_id_format(&e->id, id, sizeof(id));
    buf_reset(&ev->frame);
    if (buf_printf(&ev->frame, "id: %s:%s\nevent: %s\ndata: %s\n\n",
        events_stream_names[e->stream], id, ev->name, s) == -1)
        goto out;
    rc = 0;
out:
    xfree(s);
    json_decref(data);
    return rc;
}

/* ----------------------------------------------------------- clients */

static void
events_client_free(struct events_client *c)
{
    if (c == NULL)
        return;
    /* A read in flight answers into nothing. */
    if (c->read != NULL)
        c->read->client = NULL;
    events_filter_clear(&c->filter);
    xfree(c);
}

static void
events_gauge(struct events *ev)
{
    metrics_set(ev->d->metrics, "inboxd_events_clients", NULL, NULL,
        ev->nclients);
}

/*
 * Take c off the list. The last client out makes the hub forget its
 * place and stop its timers: nothing runs while nobody listens.
 */
static void
events_unlink(struct events_client *c)
{
    struct events *ev = c->ev;

    TAILQ_REMOVE(&ev->clients, c, entry);
    ev->nclients--;
    events_gauge(ev);
    log_debug("events", "client left (%u connected)", ev->nclients);
    if (ev->nclients == 0) {
        ev->placed = false;
        ev->placing = false;
        ev->gen++;
        evtimer_del(ev->ev_poll);
        evtimer_del(ev->ev_more);
        evtimer_del(ev->ev_keepalive);
    }
}

/* End c's stream ourselves (abort: close at once), counting why. */
static void
events_drop(struct events_client *c, bool abort, const char *reason)
{
    const struct events_sink *sink = c->sink;
    void *arg = c->arg;
    struct events *ev = c->ev;

    events_unlink(c);
    events_client_free(c);
    metrics_add(ev->d->metrics, "inboxd_events_dropped_total", "reason",
        reason, 1);
    sink->end(arg, abort);
}

/*
 * Checked when there is more to write to a client (its first event of a
 * read, a keepalive): one that still has more than events.max_buffer
 * unsent is not keeping up, and is dropped. One read's events
 * (EVENTS_BATCH per stream) may go past the cap, so a client holds at
 * most about the cap and one read.
 */
static bool
events_check_slow(struct events_client *c)
{
    size_t unsent = c->sink->unsent(c->arg);

    if (unsent <= c->ev->d->cfg->events.max_buffer)
        return false;
    log_info("dropping an event stream client with %zu bytes unsent",
        unsent);
    events_drop(c, true, "slow");
    return true;
}

static void
events_write(struct events_client *c, const char *s, size_t len)
{
    c->sink->write(c->arg, s, len);
}

/* Write entries e[0..n) that pass c's filter. */
static void
events_send(struct events_client *c, const struct events_entry *e, size_t n,
    struct events_event *scratch)
{
    struct metrics *m = c->ev->d->metrics;

    for (size_t i = 0; i < n; i++) {
        if (events_event_build(&e[i], scratch) == 0 &&
            events_filter_match(&c->filter, scratch->name, scratch->queue,
            scratch->from_queue)) {
            events_write(c, scratch->frame.data, scratch->frame.len);
            metrics_add(m, "inboxd_events_sent_total", NULL, NULL, 1);
        }
    }
}

/* ------------------------------------------------------------- reads */

static void
events_read_done_cb(enum queue_status st, json_t *reply, void *arg);

static int
events_read_send(struct events *ev, struct events_read *r, bool last,
    long count, const struct events_id *after)
{
    char a[EVENTS_NSTREAMS][48];

    for (int s = 0; s < EVENTS_NSTREAMS; s++)
        events_id_format(&after[s], a[s], sizeof(a[s]));
    return queue_events(ev->d->queue, last, count, a[EVENTS_INGEST],
        a[EVENTS_AUDIT], events_read_done_cb, r);
}

/* Send the hub's read: where the streams end, or what is new. */
static void
events_read_hub(struct events *ev)
{
    static const struct events_id zero[EVENTS_NSTREAMS];
    struct events_read *r;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;
    r->ev = ev;
    r->hub = true;
    r->placing = !ev->placed;
    r->gen = ev->gen;
    if (events_read_send(ev, r, r->placing, r->placing ? 0 : EVENTS_BATCH,
        r->placing ? zero : ev->cur) == -1) {
        xfree(r);
        return;
    }
    ev->reading = true;
    ev->placing = r->placing;
}

/* Send c's placing read: the streams' ends, and what it missed. */
static void
events_read_client(struct events *ev, struct events_client *c)
{
    struct events_read *r;

    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        return;
    r->ev = ev;
    r->client = c;
    if (events_read_send(ev, r, true, c->resume ? EVENTS_RESUME_MAX : 0,
        c->pos) == -1) {
        xfree(r);
        return;
    }
    c->read = r;
    c->state = EVENTS_PLACING;
}

/* The streams' ends of a "last" answer; -1 when it has none. */
static int
events_ends(json_t *reply, struct events_id ends[EVENTS_NSTREAMS])
{
    json_t *v = json_object_get(reply, "ends");

    for (int s = 0; s < EVENTS_NSTREAMS; s++) {
        if (events_id_parse(json_string_value(json_array_get(v,
            (size_t)s)), &ends[s]) == -1)
            return -1;
    }
    return 0;
}

/* A client's placing read answered: catch up, then live. */
static void
events_placed(struct events_client *c, json_t *reply)
{
    struct events_id ends[EVENTS_NSTREAMS];
    char retry[32];
    struct events_entry *e = NULL;
    struct events_event scratch;
    long n = 0;

    if (events_ends(reply, ends) == -1 ||
        (c->resume && (n = events_order(reply, -EVENTS_RESUME_MAX,
        &e)) == -1)) {
        log_warnx("unexpected answer placing an event stream client");
        c->state = EVENTS_WAITING;
        return;
    }
    buf_init(&scratch.frame, EVENTS_FRAME_MAX);
    snprintf(retry, sizeof(retry), "retry: %d\n\n", EVENTS_RETRY_MS);
    events_write(c, retry, strlen(retry));
    events_send(c, e, (size_t)n, &scratch);
    buf_free(&scratch.frame);
    xfree(e);
    memcpy(c->pos, ends, sizeof(c->pos));
    c->resume = false;
    c->state = EVENTS_LIVE;
}

/* The hub's read answered: fan each new entry out to the live clients. */
static void
events_fan_out(struct events *ev, json_t *reply)
{
    struct events_client *c, *next;
    struct events_entry *e = NULL;
    struct events_event scratch;
    bool full = false;
    long n;

    if ((n = events_order(reply, EVENTS_BATCH, &e)) == -1)
        return;
    ev->batch++;
    for (int s = 0; s < EVENTS_NSTREAMS; s++)
        if (json_array_size(json_object_get(reply,
            events_stream_names[s])) >= EVENTS_BATCH)
            full = true;
    buf_init(&scratch.frame, EVENTS_FRAME_MAX);
    for (long i = 0; i < n; i++) {
        bool built = false, ok = false;

        for (c = TAILQ_FIRST(&ev->clients); c != NULL; c = next) {
            next = TAILQ_NEXT(c, entry);
            if (c->state != EVENTS_LIVE ||
                events_id_cmp(&e[i].id, &c->pos[e[i].stream]) <= 0)
                continue;
            c->pos[e[i].stream] = e[i].id;
            if (!built) {
                ok = events_event_build(&e[i], &scratch) == 0;
                built = true;
            }
            if (!ok || !events_filter_match(&c->filter, scratch.name,
                scratch.queue, scratch.from_queue))
                continue;
            /* Its first event of this read: has it taken the last? */
            if (c->batch != ev->batch) {
                c->batch = ev->batch;
                if (events_check_slow(c))
                    continue;
            }
            events_write(c, scratch.frame.data, scratch.frame.len);
            metrics_add(ev->d->metrics, "inboxd_events_sent_total", NULL,
                NULL, 1);
        }
        ev->cur[e[i].stream] = e[i].id;
    }
    buf_free(&scratch.frame);
    xfree(e);
    if (full && ev->nclients > 0) {
        struct timeval now = { 0, 0 };

        evtimer_add(ev->ev_more, &now);
    }
}

static void
events_read_done_cb(enum queue_status st, json_t *reply, void *arg)
{
    struct events_read *r = arg;
    struct events *ev = r->ev;
    struct events_client *c = r->client;
    bool hub = r->hub, placing = r->placing;
    unsigned gen = r->gen;

    xfree(r);
    if (!hub) {
        if (c == NULL)
            return;         /* it left meanwhile */
        c->read = NULL;
        if (st != QUEUE_UPDATED || reply == NULL)
            c->state = EVENTS_WAITING;      /* again on the next tick */
        else
            events_placed(c, reply);
        return;
    }
    ev->reading = false;
    /* Stale (the hub forgot its place since), or failed: the next tick
     * reads again from the same place. */
    if (gen != ev->gen || ev->stopped)
        return;
    ev->placing = false;
    if (st != QUEUE_UPDATED || reply == NULL)
        return;
    if (placing) {
        if (events_ends(reply, ev->cur) == -1) {
            log_warnx("unexpected answer reading the streams' ends");
            return;
        }
        ev->placed = true;
        events_pump(ev);    /* the clients that waited for it */
        return;
    }
    events_fan_out(ev, reply);
}

/*
 * Send what is due: the hub's read (its place first), then the placing
 * reads of the clients that wait, which must follow the hub's first.
 */
static void
events_pump(struct events *ev)
{
    struct events_client *c;

    if (ev->stopped || ev->nclients == 0 || !queue_is_up(ev->d->queue))
        return;
    if (!ev->reading)
        events_read_hub(ev);
    /* A stale read in flight is no place: the clients wait for one. */
    if (!ev->placed && !ev->placing)
        return;
    TAILQ_FOREACH(c, &ev->clients, entry) {
        if (c->state == EVENTS_WAITING)
            events_read_client(ev, c);
    }
}

/* ------------------------------------------------------------ timers */

static void
events_poll_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    events_pump(arg);
}

static void
events_keepalive_cb(evutil_socket_t fd, short what, void *arg)
{
    static const char ka[] = ": keepalive\n\n";
    struct events *ev = arg;
    struct events_client *c, *next;

    (void)fd;
    (void)what;
    for (c = TAILQ_FIRST(&ev->clients); c != NULL; c = next) {
        next = TAILQ_NEXT(c, entry);
        if (!events_check_slow(c))
            events_write(c, ka, sizeof(ka) - 1);
    }
}

static void
events_timers_start(struct events *ev)
{
    struct timeval poll = { 0, EVENTS_POLL_MS * 1000 };
    struct timeval ka = { EVENTS_KEEPALIVE_MS / 1000,
        (EVENTS_KEEPALIVE_MS % 1000) * 1000 };

    if (!evtimer_pending(ev->ev_poll, NULL))
        evtimer_add(ev->ev_poll, &poll);
    if (!evtimer_pending(ev->ev_keepalive, NULL))
        evtimer_add(ev->ev_keepalive, &ka);
}

/* ------------------------------------------------------------ public */

struct events *
events_new(struct daemon *d)
{
    struct events *ev;

    if ((ev = xcalloc(1, sizeof(*ev))) == NULL)
        return NULL;
    ev->d = d;
    TAILQ_INIT(&ev->clients);
    if ((ev->ev_poll = event_new(d->base, -1, EV_PERSIST, events_poll_cb,
        ev)) == NULL ||
        (ev->ev_more = evtimer_new(d->base, events_poll_cb, ev)) == NULL ||
        (ev->ev_keepalive = event_new(d->base, -1, EV_PERSIST,
        events_keepalive_cb, ev)) == NULL) {
        events_free(ev);
        return NULL;
    }
    metrics_declare_all(d->metrics, events_metric_families,
        nitems(events_metric_families));
    events_gauge(ev);
    return ev;
}

enum events_refusal
events_join(struct events *ev, const char *query, const char *last_id,
    const struct events_sink *sink, void *arg, struct events_client **out,
    char *err, size_t errlen)
{
    const struct config *cfg = ev->d->cfg;
    struct events_client *c;
    enum events_refusal r;

    *out = NULL;
    if (ev->stopped) {
        snprintf(err, errlen, "inboxd is shutting down; retry later");
        return EVENTS_STOPPED;
    }
    if (ev->nclients >= (uint64_t)cfg->events.max_clients) {
        snprintf(err, errlen, "this inboxd serves %u event streams, its "
            "most; retry later", ev->nclients);
        return EVENTS_FULL;
    }
    if ((c = xcalloc(1, sizeof(*c))) == NULL) {
        snprintf(err, errlen, "out of memory");
        return EVENTS_NOMEM;
    }
    if ((r = events_filter_parse(query, cfg, &c->filter, err, errlen)) !=
        EVENTS_JOINED) {
        events_client_free(c);
        return r;
    }
    /* An id we do not know is a new client, not an error: EventSource
     * sends whatever it last saw, and ids may come from another setup. */
    if (last_id != NULL && events_resume_from(last_id, c->pos) == 0)
        c->resume = true;
    c->ev = ev;
    c->sink = sink;
    c->arg = arg;
    TAILQ_INSERT_TAIL(&ev->clients, c, entry);
    ev->nclients++;
    events_gauge(ev);
    log_debug("events", "client joined (%u connected, %s)", ev->nclients,
        c->resume ? "resuming" : "new");
    events_timers_start(ev);
    *out = c;
    events_pump(ev);
    return EVENTS_JOINED;
}

void
events_leave(struct events_client *c)
{
    if (c == NULL)
        return;
    events_unlink(c);
    events_client_free(c);
}

unsigned
events_clients(const struct events *ev)
{
    return ev != NULL ? ev->nclients : 0;
}

void
events_stop(struct events *ev)
{
    struct events_client *c;

    if (ev == NULL || ev->stopped)
        return;
    ev->stopped = true;
    while ((c = TAILQ_FIRST(&ev->clients)) != NULL)
        events_drop(c, false, "shutdown");
}

void
events_free(struct events *ev)
{
    struct events_client *c;

    if (ev == NULL)
        return;
    /* http ends its connections first; anything left is forgotten. */
    while ((c = TAILQ_FIRST(&ev->clients)) != NULL)
        events_leave(c);
    if (ev->ev_poll != NULL)
        event_free(ev->ev_poll);
    if (ev->ev_more != NULL)
        event_free(ev->ev_more);
    if (ev->ev_keepalive != NULL)
        event_free(ev->ev_keepalive);
    xfree(ev);
}
