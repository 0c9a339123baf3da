/*
 * queue_test: the queue module against a real redis-server on a private
 * Unix socket, driven by a real libevent loop. Checks what lands in Redis
 * through a second, synchronous connection: the item hash, the stream
 * entries, the consumer groups, TTLs; and the failure paths: NOSCRIPT,
 * Redis stopped and restarted, a connection lost with commands pending,
 * a command timeout, queue_free with commands pending, AUTH and SELECT;
 * and the update and mark scripts and the dead-letter stream.
 */
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "config.h"
#include "harness.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "util.h"

/* One store's outcome, filled by qt_store_cb. */
struct qt_result {
    int calls;
    enum queue_status st;
    char queue[64];
    char sid[64];
};

struct qt {
    struct it_redis redis;
    struct event_base *base;
    struct event *tick;         /* keeps EVLOOP_ONCE from blocking long */
    struct metrics *metrics;
    struct config cfg;
    struct queue *q;
    redisContext *sync;
};

/* Run the loop until cond holds or ms pass; then check cond yourself. */
#define QT_WAIT(t, cond, ms) do {                                        \
        int64_t dl_ = util_mono_us() + (int64_t)(ms) * 1000;             \
        while (!(cond) && util_mono_us() < dl_)                          \
            event_base_loop((t)->base, EVLOOP_ONCE);                     \
    } while (0)

static void
qt_store_cb(enum queue_status st, const char *queue, const char *stream_id,
    void *arg)
{
    struct qt_result *res = arg;

    res->calls++;
    res->st = st;
    snprintf(res->queue, sizeof(res->queue), "%s", queue ? queue : "");
    snprintf(res->sid, sizeof(res->sid), "%s", stream_id ? stream_id : "");
}

static void
qt_tick_cb(evutil_socket_t fd, short what, void *arg)
{
    (void)fd;
    (void)what;
    (void)arg;
}

static void
qt_declare(struct metrics *m)
{
    metrics_declare(m, "inboxd_redis_up", METRICS_GAUGE, "Redis is up");
    metrics_declare(m, "inboxd_redis_latency_seconds", METRICS_HISTOGRAM,
        "Store round trip");
    metrics_declare(m, "inboxd_redis_errors_total", METRICS_COUNTER,
        "Redis errors by kind");
    metrics_declare(m, "inboxd_redis_reconnects_total", METRICS_COUNTER,
        "Reconnect attempts");
    metrics_declare(m, "inboxd_sticky_assignments_total", METRICS_COUNTER,
        "Items given to their conversation's holder");
}

/* Start Redis, a loop and a queue, without starting the queue yet. */
static int
qt_init(struct qt *t, int64_t timeout_ms)
{
    struct timeval tv = { 0, 10000 };

    memset(t, 0, sizeof(*t));
    if (getenv("QT_DEBUG") != NULL)
        log_set_debug("queue");
    if (it_redis_start(&t->redis) == -1)
        return -1;
    if ((t->sync = it_redis_connect(&t->redis)) == NULL)
        return -1;
    if ((t->base = event_base_new()) == NULL)
        return -1;
    if ((t->tick = event_new(t->base, -1, EV_PERSIST, qt_tick_cb, t)) ==
        NULL || event_add(t->tick, &tv) == -1)
        return -1;
    if ((t->metrics = metrics_new()) == NULL)
        return -1;
    qt_declare(t->metrics);
    t->cfg.redis.unix_path = t->redis.sock;
    t->cfg.redis.prefix = (char *)(uintptr_t)"test:";
    t->cfg.redis.timeout_ms = timeout_ms;
    t->cfg.redis.reconnect_min_ms = 50;
    t->cfg.redis.reconnect_max_ms = 200;
    t->cfg.queue.group = (char *)(uintptr_t)"responders";
    t->cfg.queue.ingest_maxlen = 100000;
    return 0;
}

static int
qt_start(struct qt *t)
{
    if ((t->q = queue_new(t->base, &t->cfg, t->metrics)) == NULL ||
        queue_start(t->q) == -1)
        return -1;
    QT_WAIT(t, queue_is_up(t->q), 5000);
    return queue_is_up(t->q) ? 0 : -1;
}

static int
qt_setup(struct qt *t, int64_t timeout_ms)
{
    if (qt_init(t, timeout_ms) == -1)
        return -1;
    return qt_start(t);
}

static void
qt_teardown(struct qt *t)
{
    queue_free(t->q);
    if (t->sync != NULL)
        redisFree(t->sync);
    if (t->tick != NULL)
        event_free(t->tick);
    if (t->base != NULL)
        event_base_free(t->base);
    metrics_free(t->metrics);
    it_redis_cleanup(&t->redis);
}

/* Store and wait for the callback. */
static int
qt_store(struct qt *t, const char *id, const char *queue, const char *json,
    int64_t ttl_ms, struct qt_result *res)
{
    memset(res, 0, sizeof(*res));
    if (queue_store(t->q, id, queue, json, strlen(json), ttl_ms,
        qt_store_cb, res) == -1)
        return -1;
    QT_WAIT(t, res->calls > 0, 5000);
    return res->calls == 1 ? 0 : -1;
}

static int
qt_update(struct qt *t, const char *id, const char *queue, const char *json,
    bool restore, struct qt_result *res)
{
    memset(res, 0, sizeof(*res));
    if (queue_update(t->q, id, queue, json, strlen(json), 3600000, 0,
        restore, qt_store_cb, res) == -1)
        return -1;
    QT_WAIT(t, res->calls > 0, 5000);
    return res->calls == 1 ? 0 : -1;
}

static int
qt_mark(struct qt *t, const char *id, enum queue_mark mark,
    const char *actor, struct qt_result *res)
{
    memset(res, 0, sizeof(*res));
    if (queue_mark(t->q, id, mark, actor, 3600000, 0, qt_store_cb, res) ==
        -1)
        return -1;
    QT_WAIT(t, res->calls > 0, 5000);
    return res->calls == 1 ? 0 : -1;
}

/* queue_store_with and wait for the callback. */
static int
qt_store_with(struct qt *t, const char *id, const char *json,
    const struct queue_store_opts *o, struct qt_result *res)
{
    memset(res, 0, sizeof(*res));
    if (queue_store_with(t->q, id, "support", json, strlen(json), 3600000,
        o, qt_store_cb, res) == -1)
        return -1;
    QT_WAIT(t, res->calls > 0, 5000);
    return res->calls == 1 ? 0 : -1;
}

static void
qt_desk_cb(enum queue_status st, json_t *reply, void *arg)
{
    int *done = arg;

    (void)reply;
    *done = st == QUEUE_UPDATED ? 1 : -1;
}

/* One desk sweep of the support queue (docs/redis.md, "The desk"). */
static int
qt_sweep(struct qt *t)
{
    const char *args[] = { "900000", "1000", "support" };
    int done = 0;

    if (queue_desk(t->q, "sweep", args, 3, qt_desk_cb, &done) == -1)
        return -1;
    QT_WAIT(t, done != 0, 5000);
    return done == 1 ? 0 : -1;
}

/* Who holds stream entry sid in the support queue's group ("" none). */
static char *
qt_pending_owner(redisContext *c, const char *sid, char *out, size_t len)
{
    redisReply *r = redisCommand(c,
        "XPENDING test:q:support responders %s %s 1", sid, sid);

    out[0] = '\0';
    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1 &&
        r->element[0]->elements >= 2)
        snprintf(out, len, "%s", r->element[0]->element[1]->str);
    if (r != NULL)
        freeReplyObject(r);
    return out;
}

/* A sync command's integer reply, or -999 on anything else. */
static long long
qt_int(redisContext *c, const char *fmt, const char *arg)
{
    redisReply *r = redisCommand(c, fmt, arg);
    long long v = -999;

    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    if (r != NULL)
        freeReplyObject(r);
    return v;
}

/* HGET key field into out; "" when missing. */
static char *
qt_hget(redisContext *c, const char *key, const char *field, char *out,
    size_t len)
{
    redisReply *r = redisCommand(c, "HGET %s %s", key, field);

    out[0] = '\0';
    if (r != NULL && r->type == REDIS_REPLY_STRING)
        snprintf(out, len, "%s", r->str);
    if (r != NULL)
        freeReplyObject(r);
    return out;
}

static bool
qt_is_stream_id(const char *s)
{
    const char *dash = strchr(s, '-');

    return dash != NULL && dash > s && dash[1] != '\0' &&
        strspn(s, "0123456789") == (size_t)(dash - s) &&
        strspn(dash + 1, "0123456789") == strlen(dash + 1);
}

/* How many groups a stream has, and whether one is called name. */
static int
qt_groups(redisContext *c, const char *key, const char *name, bool *found)
{
    redisReply *r = redisCommand(c, "XINFO GROUPS %s", key), *g;
    int n = -1;

    *found = false;
    if (r == NULL)
        return -1;
    if (r->type == REDIS_REPLY_ARRAY) {
        n = (int)r->elements;
        for (size_t i = 0; i < r->elements; i++) {
            g = r->element[i];
            for (size_t j = 0; g->type == REDIS_REPLY_ARRAY &&
                j + 1 < g->elements; j += 2) {
                if (strcmp(g->element[j]->str, "name") == 0 &&
                    strcmp(g->element[j + 1]->str, name) == 0)
                    *found = true;
            }
        }
    }
    freeReplyObject(r);
    return n;
}

/* ---------------------------------------------------------------------
 * Cases
 * ------------------------------------------------------------------ */

static int
test_not_started(void)
{
    struct qt t;
    struct qt_result res = { 0 };
    int rc = 0;

    CHECK(qt_init(&t, 1000) == 0);
    CHECK((t.q = queue_new(t.base, &t.cfg, NULL)) != NULL);
    CHECK(!queue_is_up(t.q));
    CHECK(queue_store(t.q, "x:1", "support", "{}", 2, 0, qt_store_cb,
        &res) == -1);
    CHECK(res.calls == 0);
    CHECK(queue_pending(t.q) == 0);
    CHECK_STR(queue_strstatus(QUEUE_STORED), "stored");
    CHECK_STR(queue_strstatus(QUEUE_DUPLICATE), "duplicate");
    CHECK_STR(queue_strstatus(QUEUE_UNAVAILABLE), "unavailable");
    CHECK_STR(queue_strstatus(QUEUE_ERROR), "error");
    CHECK_STR(queue_strstatus(QUEUE_UPDATED), "updated");
    CHECK_STR(queue_strstatus(QUEUE_MISROUTED), "misrouted");
    CHECK_STR(queue_strstatus(QUEUE_DELETED), "deleted");
    CHECK_STR(queue_strstatus(QUEUE_UNKNOWN), "unknown");
    queue_free(NULL);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_store_and_duplicate(void)
{
    const char *json = "{\"id\":\"yt:c1\",\"text\":\"h\\u00e9llo\"}";
    struct qt t;
    struct qt_result res, dup;
    redisReply *r = NULL;
    char buf[256];
    bool found;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(metrics_get(t.metrics, "inboxd_redis_up", NULL, NULL) == 1);
    CHECK(qt_store(&t, "yt:c1", "support", json, 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK_STR(res.queue, "support");
    CHECK(qt_is_stream_id(res.sid));
    CHECK(queue_pending(t.q) == 0);

    /* The hash holds the item once, with its bookkeeping. */
    CHECK_STR(qt_hget(t.sync, "test:item:yt:c1", "json", buf, sizeof(buf)),
        json);
    CHECK_STR(qt_hget(t.sync, "test:item:yt:c1", "queue", buf, sizeof(buf)),
        "support");
    CHECK_STR(qt_hget(t.sync, "test:item:yt:c1", "stream_id", buf,
        sizeof(buf)), res.sid);
    CHECK_STR(qt_hget(t.sync, "test:item:yt:c1", "state", buf, sizeof(buf)),
        "queued");
    qt_hget(t.sync, "test:item:yt:c1", "received_at", buf, sizeof(buf));
    CHECK(strlen(buf) >= 13 && strspn(buf, "0123456789") == strlen(buf));
    CHECK(qt_int(t.sync, "TTL %s", "test:item:yt:c1") == -1);

    /* The queue's stream entry holds only the id. */
    r = redisCommand(t.sync, "XRANGE test:q:support - +");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    CHECK_STR(r->element[0]->element[0]->str, res.sid);
    CHECK(r->element[0]->element[1]->elements == 2);
    CHECK_STR(r->element[0]->element[1]->element[0]->str, "id");
    CHECK_STR(r->element[0]->element[1]->element[1]->str, "yt:c1");
    freeReplyObject(r);
    r = NULL;
    CHECK(qt_groups(t.sync, "test:q:support", "responders", &found) == 1);
    CHECK(found);

    /* The all-items stream. */
    r = redisCommand(t.sync, "XRANGE test:ingest - +");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    CHECK(r->element[0]->element[1]->elements == 4);
    CHECK_STR(r->element[0]->element[1]->element[1]->str, "yt:c1");
    CHECK_STR(r->element[0]->element[1]->element[3]->str, "support");
    freeReplyObject(r);
    r = NULL;

    /* Same id again, even routed elsewhere: the first store wins. */
    CHECK(qt_store(&t, "yt:c1", "escalations", "{\"other\":1}", 0,
        &dup) == 0);
    CHECK(dup.st == QUEUE_DUPLICATE);
    CHECK_STR(dup.queue, "support");
    CHECK_STR(dup.sid, res.sid);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 1);
    CHECK(qt_int(t.sync, "XLEN %s", "test:ingest") == 1);
    CHECK(qt_int(t.sync, "EXISTS %s", "test:q:escalations") == 0);
    CHECK_STR(qt_hget(t.sync, "test:item:yt:c1", "json", buf, sizeof(buf)),
        json);
    CHECK(metrics_get(t.metrics, "inboxd_redis_latency_seconds", NULL,
        NULL) == 2);
out:
    if (r != NULL)
        freeReplyObject(r);
    qt_teardown(&t);
    return rc;
}

static int
test_ttl(void)
{
    struct qt t;
    struct qt_result res;
    long long ttl;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    /* 1.5 s rounds up to 2 s, never down. */
    CHECK(qt_store(&t, "ttl:1", "support", "{}", 1500, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    ttl = qt_int(t.sync, "TTL %s", "test:item:ttl:1");
    CHECK(ttl > 0 && ttl <= 2);
    CHECK(qt_store(&t, "ttl:2", "support", "{}", 3600000, &res) == 0);
    ttl = qt_int(t.sync, "TTL %s", "test:item:ttl:2");
    CHECK(ttl > 3590 && ttl <= 3600);
    CHECK(qt_store(&t, "ttl:3", "support", "{}", 0, &res) == 0);
    CHECK(qt_int(t.sync, "TTL %s", "test:item:ttl:3") == -1);
    CHECK(qt_store(&t, "ttl:4", "support", "{}", -5, &res) == 0);
    CHECK(qt_int(t.sync, "TTL %s", "test:item:ttl:4") == -1);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_ensure_groups(void)
{
    char *names[] = { (char *)(uintptr_t)"billing",
        (char *)(uintptr_t)"abuse" };
    struct qt t;
    redisReply *r;
    bool found;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    queue_ensure_groups(t.q, names, 2, "responders");
    QT_WAIT(&t, queue_pending(t.q) == 0, 2000);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:billing") == 0);
    CHECK(qt_groups(t.sync, "test:q:billing", "responders", &found) == 1);
    CHECK(found);
    CHECK(qt_groups(t.sync, "test:q:abuse", "responders", &found) == 1);
    CHECK(found);

    /* Again: BUSYGROUP is not an error, nothing doubles. */
    queue_ensure_groups(t.q, names, 2, "responders");
    QT_WAIT(&t, queue_pending(t.q) == 0, 2000);
    CHECK(qt_groups(t.sync, "test:q:abuse", "responders", &found) == 1);

    /* The names are remembered: a reconnect recreates what went away. */
    CHECK(qt_int(t.sync, "DEL %s", "test:q:billing") == 1);
    r = redisCommand(t.sync, "CLIENT KILL TYPE normal SKIPME yes");
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1);
    freeReplyObject(r);
    QT_WAIT(&t, !queue_is_up(t.q), 2000);
    CHECK(!queue_is_up(t.q));
    QT_WAIT(&t, queue_is_up(t.q), 5000);
    CHECK(queue_is_up(t.q));
    QT_WAIT(&t, queue_pending(t.q) == 0, 2000);
    CHECK(qt_groups(t.sync, "test:q:billing", "responders", &found) == 1);
    CHECK(found);
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "disconnect") == 1);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_noscript(void)
{
    struct qt t;
    struct qt_result res;
    redisReply *r;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    r = redisCommand(t.sync, "SCRIPT FLUSH");
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    CHECK(qt_store(&t, "ns:1", "support", "{\"n\":1}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_is_stream_id(res.sid));
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "noscript") == 1);
    /* EVAL cached it again: the next store goes through EVALSHA. */
    CHECK(qt_store(&t, "ns:2", "support", "{\"n\":2}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "noscript") == 1);
    /* A duplicate after a flush is still a duplicate. */
    r = redisCommand(t.sync, "SCRIPT FLUSH");
    CHECK(r != NULL);
    freeReplyObject(r);
    CHECK(qt_store(&t, "ns:1", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_DUPLICATE);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 2);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_error_reply(void)
{
    struct qt t;
    struct qt_result res;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    /* The destination key is not a stream: Redis answers with an error. */
    CHECK(qt_int(t.sync, "LPUSH %s x", "test:q:broken") == 1);
    CHECK(qt_store(&t, "err:1", "broken", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_ERROR);
    CHECK(res.queue[0] == '\0' && res.sid[0] == '\0');
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "error") == 1);
    CHECK(qt_int(t.sync, "EXISTS %s", "test:item:err:1") == 0);
    /* The connection survives an error reply. */
    CHECK(queue_is_up(t.q));
    CHECK(qt_store(&t, "err:2", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_down_and_back(void)
{
    struct qt t;
    struct qt_result res, none = { 0 };
    char buf[64];
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_store(&t, "keep:1", "support", "{\"keep\":1}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    redisFree(t.sync);
    t.sync = NULL;

    CHECK(it_redis_stop(&t.redis) == 0);
    QT_WAIT(&t, !queue_is_up(t.q), 5000);
    CHECK(!queue_is_up(t.q));
    CHECK(queue_store(t.q, "keep:2", "support", "{}", 2, 0, qt_store_cb,
        &none) == -1);
    CHECK(metrics_get(t.metrics, "inboxd_redis_up", NULL, NULL) == 0);
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "disconnect") == 1);
    /* A few failed attempts while it is down. */
    QT_WAIT(&t, metrics_get(t.metrics, "inboxd_redis_reconnects_total",
        NULL, NULL) >= 3, 5000);
    CHECK(metrics_get(t.metrics, "inboxd_redis_reconnects_total", NULL,
        NULL) >= 3);
    CHECK(!queue_is_up(t.q));

    CHECK(it_redis_restart(&t.redis) == 0);
    QT_WAIT(&t, queue_is_up(t.q), 5000);
    CHECK(queue_is_up(t.q));
    CHECK(metrics_get(t.metrics, "inboxd_redis_up", NULL, NULL) == 1);
    CHECK(none.calls == 0);

    /* The AOF kept what was stored before the restart. */
    CHECK((t.sync = it_redis_connect(&t.redis)) != NULL);
    CHECK_STR(qt_hget(t.sync, "test:item:keep:1", "json", buf, sizeof(buf)),
        "{\"keep\":1}");
    CHECK(qt_store(&t, "keep:1", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_DUPLICATE);
    CHECK(qt_store(&t, "keep:3", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 2);
out:
    qt_teardown(&t);
    return rc;
}

#define QT_INFLIGHT 50

/*
 * Freeze the server (SIGSTOP), then send QT_INFLIGHT stores named
 * "<prefix>:<i>": they stay pending until the test decides their fate.
 */
static int
qt_store_frozen(struct qt *t, const char *prefix, struct qt_result *res)
{
    char id[32];
    int rc = 0;

    memset(res, 0, QT_INFLIGHT * sizeof(*res));
    CHECK(qt_setup(t, 10000) == 0);
    CHECK(kill(t->redis.pid, SIGSTOP) == 0);
    for (int i = 0; i < QT_INFLIGHT; i++) {
        snprintf(id, sizeof(id), "%s:%d", prefix, i);
        CHECK(queue_store(t->q, id, "support", "{}", 2, 0, qt_store_cb,
            &res[i]) == 0);
    }
out:
    return rc;
}

/* Commands sent, then the server dies: each fails exactly once. */
static int
test_pending_on_drop(void)
{
    static struct qt_result res[QT_INFLIGHT];
    struct qt t;
    int rc = 0;

    CHECK(qt_store_frozen(&t, "drop", res) == 0);
    CHECK(queue_pending(t.q) == QT_INFLIGHT);
    /* Let the commands reach the (frozen) server. */
    QT_WAIT(&t, false, 200);
    CHECK(queue_pending(t.q) == QT_INFLIGHT);
    CHECK(res[0].calls == 0);

    CHECK(kill(t.redis.pid, SIGKILL) == 0);
    QT_WAIT(&t, !queue_is_up(t.q), 5000);
    CHECK(!queue_is_up(t.q));
    CHECK(queue_pending(t.q) == 0);
    QT_WAIT(&t, false, 200);
    for (int i = 0; i < QT_INFLIGHT; i++) {
        CHECK(res[i].calls == 1);
        CHECK(res[i].st == QUEUE_UNAVAILABLE);
        CHECK(res[i].sid[0] == '\0');
    }
out:
    qt_teardown(&t);
    return rc;
}

/* queue_free with commands pending: every callback before it returns. */
static int
test_free_with_pending(void)
{
    static struct qt_result res[QT_INFLIGHT];
    struct qt t;
    int rc = 0;

    CHECK(qt_store_frozen(&t, "free", res) == 0);
    QT_WAIT(&t, false, 100);
    queue_free(t.q);
    t.q = NULL;
    for (int i = 0; i < QT_INFLIGHT; i++) {
        CHECK(res[i].calls == 1);
        CHECK(res[i].st == QUEUE_UNAVAILABLE);
    }
    /* Nothing of the queue is left on the loop to fire later. */
    QT_WAIT(&t, false, 300);
    for (int i = 0; i < QT_INFLIGHT; i++)
        CHECK(res[i].calls == 1);
out:
    if (t.redis.pid > 0)
        kill(t.redis.pid, SIGCONT);
    qt_teardown(&t);
    return rc;
}

/* Redis paused longer than timeout_ms: the store fails, then recovers. */
static int
test_timeout(void)
{
    struct qt t;
    struct qt_result res = { 0 };
    redisReply *r;
    int64_t t0, elapsed_ms;
    int rc = 0;

    CHECK(qt_setup(&t, 300) == 0);
    r = redisCommand(t.sync, "CLIENT PAUSE 3000 ALL");
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    t0 = util_mono_us();
    CHECK(queue_store(t.q, "slow:1", "support", "{}", 2, 0, qt_store_cb,
        &res) == 0);
    QT_WAIT(&t, res.calls > 0, 5000);
    elapsed_ms = (util_mono_us() - t0) / 1000;
    CHECK(res.calls == 1);
    CHECK(res.st == QUEUE_UNAVAILABLE);
    CHECK(elapsed_ms >= 250 && elapsed_ms < 2500);
    CHECK(!queue_is_up(t.q));
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "timeout") >= 1);

    /* After the pause it comes back on its own. */
    QT_WAIT(&t, queue_is_up(t.q), 8000);
    CHECK(queue_is_up(t.q));
    CHECK(qt_store(&t, "slow:2", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
out:
    qt_teardown(&t);
    return rc;
}

#define QT_BULK 1000

static int
test_pipelining(void)
{
    static struct qt_result res[QT_BULK];
    static char ids[QT_BULK][16];
    static char keys[QT_BULK][32];
    const char *argv[QT_BULK + 1];
    struct qt t;
    redisReply *r = NULL;
    int rc = 0, done;

    memset(res, 0, sizeof(res));
    CHECK(qt_setup(&t, 5000) == 0);
    for (int i = 0; i < QT_BULK; i++) {
        snprintf(ids[i], sizeof(ids[i]), "p:%d", i);
        CHECK(queue_store(t.q, ids[i], i % 2 ? "odd" : "even",
            "{\"bulk\":true}", 13, 0, qt_store_cb, &res[i]) == 0);
    }
    CHECK(queue_pending(t.q) == QT_BULK);
    done = 0;
    QT_WAIT(&t, (done = QT_BULK - (int)queue_pending(t.q)) == QT_BULK,
        10000);
    CHECK(done == QT_BULK);
    for (int i = 0; i < QT_BULK; i++) {
        CHECK(res[i].calls == 1);
        CHECK(res[i].st == QUEUE_STORED);
        CHECK_STR(res[i].queue, i % 2 ? "odd" : "even");
    }
    argv[0] = "EXISTS";
    for (int i = 0; i < QT_BULK; i++) {
        snprintf(keys[i], sizeof(keys[i]), "test:item:%s", ids[i]);
        argv[i + 1] = keys[i];
    }
    r = redisCommandArgv(t.sync, QT_BULK + 1, argv, NULL);
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER &&
        r->integer == QT_BULK);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:odd") == QT_BULK / 2);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:even") == QT_BULK / 2);
    CHECK(qt_int(t.sync, "XLEN %s", "test:ingest") == QT_BULK);
    CHECK(metrics_get(t.metrics, "inboxd_redis_latency_seconds", NULL,
        NULL) == QT_BULK);
out:
    if (r != NULL)
        freeReplyObject(r);
    qt_teardown(&t);
    return rc;
}

static int
test_ingest_cap(void)
{
    struct qt t;
    struct qt_result res;
    char id[32];
    long long n;
    int rc = 0;

    CHECK(qt_init(&t, 2000) == 0);
    t.cfg.queue.ingest_maxlen = 10;
    CHECK(qt_start(&t) == 0);
    for (int i = 0; i < 400; i++) {
        snprintf(id, sizeof(id), "cap:%d", i);
        CHECK(qt_store(&t, id, "support", "{}", 0, &res) == 0);
        CHECK(res.st == QUEUE_STORED);
    }
    /* MAXLEN ~ trims whole stream nodes: near the cap, never below. */
    n = qt_int(t.sync, "XLEN %s", "test:ingest");
    CHECK(n >= 10 && n < 400);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 400);
out:
    qt_teardown(&t);
    return rc;
}

/* AUTH and SELECT; a wrong password warns once and never shows it. */
static int
test_auth_select(void)
{
    struct qt t;
    struct qt_result res;
    redisReply *r;
    char *logtext = NULL, chunk[4096];
    struct buf logbuf;
    FILE *logfp = NULL;
    size_t n;
    const char *p;
    int rc = 0, warns = 0;

    buf_init(&logbuf, 1u << 20);
    CHECK(qt_init(&t, 2000) == 0);
    r = redisCommand(t.sync, "CONFIG SET requirepass s3cret-pw");
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = redisCommand(t.sync, "AUTH s3cret-pw");
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);

    CHECK((logfp = tmpfile()) != NULL);
    log_set_stream(logfp);
    t.cfg.redis.password = (char *)(uintptr_t)"wrong-pw";
    CHECK((t.q = queue_new(t.base, &t.cfg, t.metrics)) != NULL);
    CHECK(queue_start(t.q) == 0);
    QT_WAIT(&t, metrics_get(t.metrics, "inboxd_redis_reconnects_total",
        NULL, NULL) >= 3, 5000);
    CHECK(!queue_is_up(t.q));
    queue_free(t.q);
    t.q = NULL;
    log_set_stream(NULL);
    rewind(logfp);
    while ((n = fread(chunk, 1, sizeof(chunk), logfp)) > 0)
        CHECK(buf_append(&logbuf, chunk, n) == 0);
    CHECK((logtext = buf_steal(&logbuf)) != NULL);
    CHECK(strstr(logtext, "wrong-pw") == NULL);
    CHECK_CONTAINS(logtext, "AUTH failed");
    for (p = logtext; (p = strstr(p, " warn ")) != NULL; p++)
        warns++;
    CHECK(warns == 1);

    t.cfg.redis.password = (char *)(uintptr_t)"s3cret-pw";
    t.cfg.redis.db = 3;
    CHECK(qt_start(&t) == 0);
    CHECK(qt_store(&t, "db:1", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_int(t.sync, "EXISTS %s", "test:item:db:1") == 0);
    r = redisCommand(t.sync, "SELECT 3");
    CHECK(r != NULL);
    freeReplyObject(r);
    CHECK(qt_int(t.sync, "EXISTS %s", "test:item:db:1") == 1);
out:
    log_set_stream(NULL);
    if (logfp != NULL)
        fclose(logfp);
    xfree(logtext);
    buf_free(&logbuf);
    qt_teardown(&t);
    return rc;
}

/* Edits, restores, deletes and hides of one item, script by script. */
static int
test_update_and_mark(void)
{
    struct qt t;
    struct qt_result res, first;
    char buf[256];
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_store(&t, "u:1", "support", "{\"v\":1}", 0, &first) == 0);
    CHECK(first.st == QUEUE_STORED);

    /* An edit: new json, same entry, edited_at; TTL not touched. */
    CHECK(qt_update(&t, "u:1", "support", "{\"v\":2}", false, &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK_STR(res.queue, "support");
    CHECK_STR(res.sid, first.sid);
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "json", buf, sizeof(buf)),
        "{\"v\":2}");
    CHECK(qt_hget(t.sync, "test:item:u:1", "edited_at", buf,
        sizeof(buf))[0] != '\0');
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 1);
    CHECK(qt_int(t.sync, "XLEN %s", "test:ingest") == 1);
    CHECK(qt_int(t.sync, "TTL %s", "test:item:u:1") == -1);

    /* Routed elsewhere now: nothing written, the stored queue named. */
    CHECK(qt_update(&t, "u:1", "moderation", "{\"v\":3}", false,
        &res) == 0);
    CHECK(res.st == QUEUE_MISROUTED);
    CHECK_STR(res.queue, "support");
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "json", buf, sizeof(buf)),
        "{\"v\":2}");
    CHECK(qt_int(t.sync, "EXISTS %s", "test:q:moderation") == 0);

    /* Hide, hide again, unhide. */
    CHECK(qt_mark(&t, "u:1", QUEUE_MARK_HIDDEN, NULL, &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "hidden", buf, sizeof(buf)),
        "1");
    CHECK(qt_mark(&t, "u:1", QUEUE_MARK_HIDDEN, NULL, &res) == 0);
    CHECK(res.st == QUEUE_DUPLICATE);
    CHECK(qt_mark(&t, "u:1", QUEUE_MARK_UNHIDDEN, NULL, &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "hidden", buf, sizeof(buf)),
        "0");

    /* Delete: out of the stream, state deleted, who did it. */
    CHECK(qt_mark(&t, "u:1", QUEUE_MARK_DELETED, "77", &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK_STR(res.sid, first.sid);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 0);
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "state", buf, sizeof(buf)),
        "deleted");
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "deleted_by", buf,
        sizeof(buf)), "77");
    CHECK(qt_mark(&t, "u:1", QUEUE_MARK_DELETED, NULL, &res) == 0);
    CHECK(res.st == QUEUE_DUPLICATE);
    /* Neither a late copy nor an edit brings it back... */
    CHECK(qt_store(&t, "u:1", "support", "{\"v\":1}", 0, &res) == 0);
    CHECK(res.st == QUEUE_DELETED);
    CHECK(qt_update(&t, "u:1", "support", "{\"v\":4}", false, &res) == 0);
    CHECK(res.st == QUEUE_DELETED);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 0);
    /* ...a restore does, under a new entry. */
    CHECK(qt_update(&t, "u:1", "support", "{\"v\":5}", true, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_is_stream_id(res.sid) && strcmp(res.sid, first.sid) != 0);
    CHECK_STR(qt_hget(t.sync, "test:item:u:1", "state", buf, sizeof(buf)),
        "queued");
    CHECK(qt_hget(t.sync, "test:item:u:1", "restored_at", buf,
        sizeof(buf))[0] != '\0');
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 1);
    CHECK(qt_int(t.sync, "XLEN %s", "test:ingest") == 1);

    /* Unknown ids: a hide writes nothing, a delete a tombstone with the
     * item's TTL, an edit stores it as new. */
    CHECK(qt_mark(&t, "u:2", QUEUE_MARK_HIDDEN, NULL, &res) == 0);
    CHECK(res.st == QUEUE_UNKNOWN);
    CHECK(qt_int(t.sync, "EXISTS %s", "test:item:u:2") == 0);
    CHECK(qt_mark(&t, "u:3", QUEUE_MARK_DELETED, NULL, &res) == 0);
    CHECK(res.st == QUEUE_UNKNOWN);
    CHECK(res.queue[0] == '\0' && res.sid[0] == '\0');
    CHECK_STR(qt_hget(t.sync, "test:item:u:3", "state", buf, sizeof(buf)),
        "deleted");
    CHECK(qt_int(t.sync, "TTL %s", "test:item:u:3") > 3500);
    CHECK(qt_store(&t, "u:3", "support", "{}", 0, &res) == 0);
    CHECK(res.st == QUEUE_DELETED);
    CHECK(qt_update(&t, "u:4", "support", "{\"v\":1}", false, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_hget(t.sync, "test:item:u:4", "edited_at", buf,
        sizeof(buf))[0] != '\0');
    CHECK(qt_int(t.sync, "TTL %s", "test:item:u:4") > 3500);
    CHECK(qt_int(t.sync, "XLEN %s", "test:ingest") == 2);
out:
    qt_teardown(&t);
    return rc;
}

/* The new scripts are reloaded after a flush like the store script. */
static int
test_noscript_update_mark(void)
{
    struct qt t;
    struct qt_result res;
    redisReply *r;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_store(&t, "nu:1", "support", "{}", 0, &res) == 0);
    r = redisCommand(t.sync, "SCRIPT FLUSH");
    CHECK(r != NULL);
    freeReplyObject(r);
    CHECK(qt_update(&t, "nu:1", "support", "{\"e\":1}", false, &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK(qt_mark(&t, "nu:1", QUEUE_MARK_DELETED, NULL, &res) == 0);
    CHECK(res.st == QUEUE_UPDATED);
    CHECK(metrics_get(t.metrics, "inboxd_redis_errors_total", "kind",
        "noscript") == 2);
out:
    qt_teardown(&t);
    return rc;
}

static int
test_deadletter(void)
{
    static const char body[] = "{\"broken\": \0 bytes}";
    struct queue_deadletter dl = {
        .platform = "vk", .account = "42", .delivery = "ev1",
        .reason = "object.text: expected a string",
        .body = body, .len = sizeof(body) - 1,
    };
    struct qt t;
    struct qt_result res;
    redisReply *r = NULL, *f;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    for (int i = 0; i < 250; i++) {
        memset(&res, 0, sizeof(res));
        CHECK(queue_deadletter(t.q, &dl, 5, qt_store_cb, &res) == 0);
        QT_WAIT(&t, res.calls > 0, 5000);
        CHECK(res.calls == 1 && res.st == QUEUE_STORED);
        CHECK(qt_is_stream_id(res.sid) && res.queue[0] == '\0');
    }
    /* Trimmed near the cap (MAXLEN ~ trims whole stream nodes). */
    CHECK(qt_int(t.sync, "XLEN %s", "test:deadletter") >= 5);
    CHECK(qt_int(t.sync, "XLEN %s", "test:deadletter") < 250);
    r = redisCommand(t.sync, "XREVRANGE test:deadletter + - COUNT 1");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    f = r->element[0]->element[1];
    CHECK(f->elements == 12);
    CHECK_STR(f->element[1]->str, "vk");
    CHECK_STR(f->element[3]->str, dl.reason);
    CHECK_STR(f->element[7]->str, "42");
    CHECK_STR(f->element[9]->str, "ev1");
    CHECK_STR(f->element[10]->str, "body");
    /* The body byte for byte, a NUL included. */
    CHECK(f->element[11]->len == sizeof(body) - 1);
    CHECK(memcmp(f->element[11]->str, body, sizeof(body) - 1) == 0);
out:
    if (r != NULL)
        freeReplyObject(r);
    qt_teardown(&t);
    return rc;
}

/*
 * A store with the desk's view takes the item into the desk itself: it
 * waits in ready:<queue> at once, and the desk's intake only moves its
 * entry into the group's pending list. An item whose conversation an
 * agent (not away) holds goes straight to that agent.
 */
static int
test_store_takes_in(void)
{
    struct queue_store_opts o = { .score = 1.5, .conv = "fb:1:c1" };
    struct qt t;
    struct qt_result res, held, away, dup;
    redisReply *r = NULL;
    char buf[256], prio[32];
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_store_with(&t, "fb:1", "{}", &o, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    qt_hget(t.sync, "test:item:fb:1", "prio", prio, sizeof(prio));
    qt_hget(t.sync, "test:item:fb:1", "received_at", buf, sizeof(buf));
    CHECK(strtoll(prio, NULL, 10) ==
        strtoll(buf, NULL, 10) - 15 * 4398046511104LL);
    r = redisCommand(t.sync, "ZSCORE test:ready:support fb:1");
    CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
    CHECK(strtoll(r->str, NULL, 10) == strtoll(prio, NULL, 10));
    freeReplyObject(r);
    r = NULL;
    CHECK_STR(qt_hget(t.sync, "test:item:fb:1", "conv", buf, sizeof(buf)),
        "fb:1:c1");
    CHECK(qt_int(t.sync, "HEXISTS %s fresh", "test:item:fb:1") == 0);
    CHECK(qt_int(t.sync, "ZRANK %s fb:1", "test:convitems:fb:1:c1") == 0);
    /* The conversation's set outlives the item, by a minute at most. */
    CHECK(qt_int(t.sync, "TTL %s", "test:convitems:fb:1:c1") >= 3600);
    CHECK(qt_int(t.sync, "TTL %s", "test:convitems:fb:1:c1") <= 3660);
    CHECK_STR(qt_pending_owner(t.sync, res.sid, buf, sizeof(buf)), "");
    CHECK(qt_store_with(&t, "fb:1", "{}", &o, &dup) == 0);
    CHECK(dup.st == QUEUE_DUPLICATE);
    CHECK_STR(dup.sid, res.sid);
    CHECK(qt_sweep(&t) == 0);
    CHECK_STR(qt_pending_owner(t.sync, res.sid, buf, sizeof(buf)),
        "inboxd:waiting");
    CHECK(qt_int(t.sync, "ZCARD %s", "test:ready:support") == 1);
    CHECK_STR(qt_hget(t.sync, "test:item:fb:1", "state", buf, sizeof(buf)),
        "queued");

    /* alice holds part of the conversation: the next item is hers. */
    CHECK(qt_int(t.sync, "HSET %s alice 1", "test:conv:fb:1:c1") == 1);
    CHECK(qt_store_with(&t, "fb:2", "{}", &o, &held) == 0);
    CHECK(held.st == QUEUE_STORED);
    CHECK_STR(qt_hget(t.sync, "test:item:fb:2", "holder", buf, sizeof(buf)),
        "alice");
    CHECK_STR(qt_hget(t.sync, "test:item:fb:2", "state", buf, sizeof(buf)),
        "claimed");
    CHECK_STR(qt_hget(t.sync, "test:item:fb:2", "seen", buf, sizeof(buf)),
        "0");
    CHECK_STR(qt_pending_owner(t.sync, held.sid, buf, sizeof(buf)),
        "alice");
    CHECK(qt_int(t.sync, "ZRANK %s fb:2", "test:ready:support") == -999);
    CHECK(qt_int(t.sync, "ZRANK %s fb:2", "test:held:alice") == 0);
    CHECK(qt_int(t.sync, "ZRANK %s fb:2", "test:leases") == 0);
    CHECK_STR(qt_hget(t.sync, "test:conv:fb:1:c1", "alice", buf,
        sizeof(buf)), "2");
    CHECK(qt_int(t.sync, "XLEN %s", "test:history:fb:2") == 1);
    r = redisCommand(t.sync, "XRANGE test:history:fb:2 - +");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    CHECK_STR(r->element[0]->element[1]->element[1]->str, "assigned");
    freeReplyObject(r);
    r = NULL;
    CHECK(metrics_get(t.metrics, "inboxd_sticky_assignments_total", NULL,
        NULL) == 1);
    /* A copy is a duplicate, the conversation being held or not. */
    CHECK(qt_store_with(&t, "fb:2", "{}", &o, &dup) == 0);
    CHECK(dup.st == QUEUE_DUPLICATE);
    CHECK_STR(dup.sid, held.sid);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 2);
    /* The sweep leaves it with her. */
    CHECK(qt_sweep(&t) == 0);
    CHECK_STR(qt_pending_owner(t.sync, held.sid, buf, sizeof(buf)),
        "alice");

    /* Away, she gets nothing new: it waits for anyone. */
    CHECK(qt_int(t.sync, "HSET %s away 1", "test:agent:alice") == 1);
    CHECK(qt_store_with(&t, "fb:3", "{}", &o, &away) == 0);
    CHECK_STR(qt_hget(t.sync, "test:item:fb:3", "holder", buf, sizeof(buf)),
        "");
    CHECK(qt_int(t.sync, "ZCARD %s", "test:ready:support") == 2);
    CHECK(metrics_get(t.metrics, "inboxd_sticky_assignments_total", NULL,
        NULL) == 1);
out:
    if (r != NULL)
        freeReplyObject(r);
    qt_teardown(&t);
    return rc;
}

/* XADD key * id <id>; the new entry's id into sid. */
static int
qt_xadd(redisContext *c, const char *key, const char *id, char *sid,
    size_t len)
{
    redisReply *r = redisCommand(c, "XADD %s * id %s", key, id);
    int rc = -1;

    if (r != NULL && r->type == REDIS_REPLY_STRING) {
        snprintf(sid, len, "%s", r->str);
        rc = 0;
    }
    if (r != NULL)
        freeReplyObject(r);
    return rc;
}

/*
 * Items written the way earlier versions stored them (the desk's view
 * with "fresh", or no view at all; the entry not taken in) are taken in
 * by the desk's intake, the store of a newer item included.
 */
static int
test_store_two_step(void)
{
    struct queue_store_opts o = { .score = 0, .conv = "fb:1:c9" };
    struct qt t;
    struct qt_result res;
    redisReply *r = NULL;
    char sid1[64], sid2[64], buf[256];
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_int(t.sync, "HSET %s bob 1", "test:conv:fb:1:c9") == 1);
    CHECK(qt_xadd(t.sync, "test:q:support", "fb:old1", sid1,
        sizeof(sid1)) == 0);
    r = redisCommand(t.sync, "HSET test:item:fb:old1 json {} queue support "
        "stream_id %s state queued received_at 1000 prio 1000 "
        "conv fb:1:c9 fresh 1", sid1);
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    CHECK(qt_xadd(t.sync, "test:q:support", "fb:old2", sid2,
        sizeof(sid2)) == 0);
    r = redisCommand(t.sync, "HSET test:item:fb:old2 json %s queue support "
        "stream_id %s state queued received_at 2000",
        "{\"platform\":\"fb\",\"account\":{\"id\":\"1\"},"
        "\"conversation\":\"c8\",\"classification\":{\"scores\":"
        "{\"spam\":0.5}}}", sid2);
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    r = NULL;

    /* A newer item's store reads the older ones in with it. */
    CHECK(qt_store_with(&t, "fb:new", "{}", &o, &res) == 0);
    CHECK_STR(qt_hget(t.sync, "test:item:fb:new", "holder", buf,
        sizeof(buf)), "bob");
    CHECK_STR(qt_hget(t.sync, "test:item:fb:old1", "holder", buf,
        sizeof(buf)), "bob");
    CHECK(qt_int(t.sync, "HEXISTS %s fresh", "test:item:fb:old1") == 0);
    CHECK_STR(qt_pending_owner(t.sync, sid1, buf, sizeof(buf)), "bob");
    CHECK_STR(qt_hget(t.sync, "test:item:fb:old2", "conv", buf,
        sizeof(buf)), "fb:1:c8");
    CHECK_STR(qt_hget(t.sync, "test:item:fb:old2", "prio", buf,
        sizeof(buf)), "-21990232553520");
    r = redisCommand(t.sync, "ZSCORE test:ready:support fb:old2");
    CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
    CHECK_STR(r->str, "-21990232553520");
    freeReplyObject(r);
    r = NULL;
    CHECK_STR(qt_pending_owner(t.sync, sid2, buf, sizeof(buf)),
        "inboxd:waiting");
    CHECK(metrics_get(t.metrics, "inboxd_sticky_assignments_total", NULL,
        NULL) == 2);

    /* And the desk's own intake, with no store to bring them in. */
    CHECK(qt_xadd(t.sync, "test:q:support", "fb:old3", sid1,
        sizeof(sid1)) == 0);
    r = redisCommand(t.sync, "HSET test:item:fb:old3 json {} queue support "
        "stream_id %s state queued received_at 3000 prio 3000 "
        "conv fb:1:c9 fresh 1", sid1);
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER);
    freeReplyObject(r);
    r = NULL;
    CHECK(qt_sweep(&t) == 0);
    CHECK_STR(qt_hget(t.sync, "test:item:fb:old3", "holder", buf,
        sizeof(buf)), "bob");
    CHECK_STR(qt_pending_owner(t.sync, sid1, buf, sizeof(buf)), "bob");
out:
    if (r != NULL)
        freeReplyObject(r);
    qt_teardown(&t);
    return rc;
}

/*
 * A queue stream that is gone (deleted under a running inboxd) comes
 * back with its group from the next store; an entry the store took in
 * whose item expired before the desk read it is cleared by the read.
 */
static int
test_store_recreates_group(void)
{
    struct queue_store_opts o = { .score = 0 };
    struct qt t;
    struct qt_result res;
    char buf[64];
    bool found;
    int rc = 0;

    CHECK(qt_setup(&t, 2000) == 0);
    CHECK(qt_int(t.sync, "DEL %s", "test:q:support") >= 0);
    CHECK(qt_store_with(&t, "fb:g1", "{}", &o, &res) == 0);
    CHECK(res.st == QUEUE_STORED);
    CHECK(qt_groups(t.sync, "test:q:support", "responders", &found) == 1);
    CHECK(found);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 1);
    CHECK(qt_int(t.sync, "DEL %s", "test:item:fb:g1") == 1);
    CHECK(qt_sweep(&t) == 0);
    CHECK(qt_int(t.sync, "XLEN %s", "test:q:support") == 0);
    CHECK_STR(qt_pending_owner(t.sync, res.sid, buf, sizeof(buf)), "");
out:
    qt_teardown(&t);
    return rc;
}

static const struct check_case cases[] = {
    { "not_started", test_not_started },
    { "store_and_duplicate", test_store_and_duplicate },
    { "ttl", test_ttl },
    { "ensure_groups", test_ensure_groups },
    { "noscript", test_noscript },
    { "error_reply", test_error_reply },
    { "down_and_back", test_down_and_back },
    { "pending_on_drop", test_pending_on_drop },
    { "free_with_pending", test_free_with_pending },
    { "timeout", test_timeout },
    { "pipelining", test_pipelining },
    { "ingest_cap", test_ingest_cap },
    { "auth_select", test_auth_select },
    { "update_and_mark", test_update_and_mark },
    { "noscript_update_mark", test_noscript_update_mark },
    { "deadletter", test_deadletter },
    { "store_takes_in", test_store_takes_in },
    { "store_two_step", test_store_two_step },
    { "store_recreates_group", test_store_recreates_group },
};

CHECK_MAIN(cases)
