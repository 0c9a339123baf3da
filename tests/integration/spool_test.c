/*
 * The spool end to end: a real redis-server, a real inboxd with spool.dir
 * set, items posted through POST /v1/items and Meta webhooks (signed over
 * their exact bytes) while Redis is stopped. Every write answered with
 * success must reach Redis exactly once, in the order it came, once Redis
 * is back: after a plain outage; with edits, deletes and dead letters
 * among the writes, and one Redis refuses; with the spool full (503 and
 * Retry-After, nothing acknowledged lost); and with the disk under the
 * spool full for real (a 256 KiB tmpfs, where mount is permitted). A
 * second inboxd on the same spool directory refuses to start. Killing
 * inboxd while it spools and while it replays, under load, is in
 * faults_test.c.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "fake_webhook.h"
#include "harness.h"
#include "util.h"

#define APP_SECRET  "spool-test-app-secret-0123456789"
#define PAGE        "137542570280222"

static struct it_redis redis;

/* {{dir}} is the daemon's own temp dir; {{spool}} the spool's place. */
static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "  reconnect_min: 20ms\n"
    "  reconnect_max: 100ms\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "queues:\n"
    "  names: [general, moderation]\n"
    "  retry_after: 2s\n"
    "routes:\n"
    "  - queue: moderation\n"
    "    category: [spam]\n"
    "accounts:\n"
    "  - platform: facebook\n"
    "    id: " PAGE "\n"
    "    app_secret: " APP_SECRET "\n"
    "spool:\n"
    "  dir: {{spool}}\n"
    "  retry_after: 7s\n"
    "{{extra}}";

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Start a daemon with the template, its spool at spool (NULL: in its own
 * dir) and extra spool keys (indented two spaces; may be ""). */
static int
start_daemon(struct it_daemon *d, const char *spool, const char *extra)
{
    char *a = NULL, *b = NULL;
    int rc = -1;

    if ((a = it_subst(config_tmpl, "{{spool}}", spool != NULL ? spool :
        "spool")) == NULL || (b = it_subst(a, "{{extra}}", extra)) == NULL)
        goto out;
    rc = it_daemon_start(d, b, &redis);
out:
    xfree(a);
    xfree(b);
    return rc;
}

/* ---------------------------------------------------------------------
 * Writers
 * ------------------------------------------------------------------ */

static char *
item_body(const char *native_id)
{
    char *s = NULL;
    json_t *j = json_pack("{s:s,s:s,s:s,s:{s:s},s:{s:s},s:s,s:i}",
        "platform", "facebook", "native_id", native_id, "kind", "comment",
        "account", "id", PAGE, "author", "id", "u1", "text",
        "the parcel arrived broken, where is my refund?", "created_at",
        1795426800);

    if (j != NULL)
        s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

#define MEETS_NO_RULE   "how much is the blue one?"
#define SPAM            "Free bitcoin giveaway!!! click https://bit.ly/x " \
    "to claim now"

/*
 * A Meta feed delivery of one change to a comment: verb "add", "edited",
 * "remove"..., or NULL for one the parser does not understand (a dead
 * letter).
 */
static char *
meta_change(const char *comment_id, const char *verb, const char *message)
{
    char *s = NULL;
    json_t *j = json_pack("{s:s,s:[{s:s,s:i,s:[{s:s,s:{s:{s:s,s:s},s:s,"
        "s:s,s:s,s:s,s:s?,s:s?,s:i}}]}]}",
        "object", "page", "entry", "id", PAGE, "time", 1795426800,
        "changes", "field", "feed", "value", "from", "id", "1440971912666228",
        "name", "Jane Roe", "item", "comment", "comment_id", comment_id,
        "post_id", PAGE "_139560936744456", "parent_id",
        PAGE "_139560936744456", "message", message, "verb", verb,
        "created_time", 1795426800);

    if (j != NULL)
        s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/*
 * Post item native_id through the API: the status, and the answer's
 * "status" field into st (may be NULL). -1 when no answer came.
 */
static int
post_item(const struct it_daemon *d, const char *native_id, long *status,
    char *st, size_t stlen, char **headers)
{
    char *body = item_body(native_id), *resp = NULL;
    json_t *j;
    int rc;

    rc = body != NULL ? it_http(d, "POST", "/v1/items", "test-token", body,
        status, &resp, headers) : -1;
    if (rc == 0 && st != NULL) {
        j = json_loads(resp, 0, NULL);
        snprintf(st, stlen, "%s", json_string_value(json_object_get(j,
            "status")) ? json_string_value(json_object_get(j, "status")) :
            "");
        json_decref(j);
    }
    xfree(body);
    xfree(resp);
    return rc;
}

static int
post_change(const struct it_daemon *d, const char *comment_id,
    const char *verb, const char *message, long *status)
{
    char url[128], *body = meta_change(comment_id, verb, message);
    char *resp = NULL;
    int rc;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/meta", d->port);
    rc = body != NULL ? fake_webhook_meta(url, APP_SECRET, body, status,
        &resp) : -1;
    xfree(body);
    xfree(resp);
    return rc;
}

/* A new comment by Meta webhook. */
static int
post_meta(const struct it_daemon *d, const char *comment_id, long *status)
{
    return post_change(d, comment_id, "add", MEETS_NO_RULE, status);
}

/* ---------------------------------------------------------------------
 * Reading Redis and the daemon
 * ------------------------------------------------------------------ */

/* The ids of the ingest stream, in order: a JSON array (new), or NULL. */
static json_t *
ingest_ids(void)
{
    redisContext *c = it_redis_connect(&redis);
    redisReply *r = NULL;
    json_t *ids = NULL;

    if (c == NULL)
        return NULL;
    r = redisCommand(c, "XRANGE inboxd:ingest - +");
    if (r != NULL && r->type == REDIS_REPLY_ARRAY) {
        ids = json_array();
        for (size_t i = 0; i < r->elements; i++) {
            redisReply *f = r->element[i]->element[1];

            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                if (strcmp(f->element[k]->str, "id") == 0)
                    json_array_append_new(ids,
                        json_string(f->element[k + 1]->str));
            }
        }
    }
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return ids;
}

/* Wait until the ingest stream holds n entries; -1 after ms. */
static int
wait_ingest(long long n, int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (it_redis_xlen(&redis, "inboxd:ingest") >= n)
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "  ingest stream: %lld entries, wanted %lld\n",
        it_redis_xlen(&redis, "inboxd:ingest"), n);
    return -1;
}

/* GET /healthz: the status and the spool's state and records. */
static int
health(const struct it_daemon *d, long *status, char *state, size_t len,
    long long *records)
{
    char *resp = NULL;
    json_t *j, *sp;

    if (it_http(d, "GET", "/healthz", NULL, NULL, status, &resp, NULL) ==
        -1)
        return -1;
    j = json_loads(resp, 0, NULL);
    sp = json_object_get(j, "spool");
    snprintf(state, len, "%s", json_string_value(json_object_get(sp,
        "state")) ? json_string_value(json_object_get(sp, "state")) : "");
    *records = json_integer_value(json_object_get(sp, "records"));
    json_decref(j);
    xfree(resp);
    return 0;
}

/* Wait until the spool says it is idle (replayed, Redis up). */
static int
wait_idle(const struct it_daemon *d, int ms)
{
    char state[32] = "";
    long long recs = -1;
    long st = 0;

    for (int waited = 0; waited < ms; waited += 20) {
        if (health(d, &st, state, sizeof(state), &recs) == 0 &&
            st == 200 && strcmp(state, "idle") == 0 && recs == 0)
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "  spool not idle: %ld %s, %lld records\n", st, state,
        recs);
    return -1;
}

static bool
header_has(const char *headers, const char *line)
{
    return headers != NULL && strstr(headers, line) != NULL;
}

/* ---------------------------------------------------------------------
 * Tests
 * ------------------------------------------------------------------ */

#define OUTAGE_N 60

/*
 * Redis stopped: API items and Meta webhooks, alternating, are all
 * answered with success and kept in the spool; Redis started: each is
 * stored once, in the order posted, keeping the time it came in.
 */
static int
test_outage_then_replay(void)
{
    struct it_daemon d;
    json_t *ids = NULL, *want = NULL;
    char id[64], st[32], state[32];
    long status = 0;
    long long base, recs = 0;
    int64_t t_restart;
    char *rcv = NULL;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    CHECK(start_daemon(&d, NULL, "") == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK((base = it_redis_xlen(&redis, "inboxd:ingest")) >= 0);
    CHECK((want = json_array()) != NULL);
    CHECK(it_redis_stop(&redis) == 0);
    for (int i = 0; i < OUTAGE_N; i++) {
        if (i % 2 == 0) {
            snprintf(id, sizeof(id), "out_%d", i);
            CHECK(post_item(&d, id, &status, st, sizeof(st), NULL) == 0);
            CHECK(status == 202);
            CHECK_STR(st, "spooled");
            snprintf(id, sizeof(id), "facebook:out_%d", i);
        } else {
            snprintf(id, sizeof(id), "139560936755999_%d", 5000 + i);
            CHECK(post_meta(&d, id, &status) == 0);
            CHECK(status == 200);
            snprintf(id, sizeof(id), "facebook:139560936755999_%d",
                5000 + i);
        }
        json_array_append_new(want, json_string(id));
    }
    /* Degraded, not down: a load balancer keeps sending. */
    CHECK(health(&d, &status, state, sizeof(state), &recs) == 0);
    CHECK(status == 200);
    CHECK_STR(state, "spooling");
    CHECK(recs == OUTAGE_N);
    sleep_ms(50);
    t_restart = util_now_ms();
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_ingest(base + OUTAGE_N, 10000) == 0);
    CHECK(wait_idle(&d, 10000) == 0);
    CHECK((ids = ingest_ids()) != NULL);
    CHECK(json_array_size(ids) == (size_t)(base + OUTAGE_N));
    for (size_t i = 0; i < OUTAGE_N; i++)
        CHECK_STR(json_string_value(json_array_get(ids, (size_t)base + i)),
            json_string_value(json_array_get(want, i)));
    /* Stored with the time it came in, not the time of the replay. */
    CHECK((rcv = it_redis_hget(&redis, "inboxd:item:facebook:out_0",
        "received_at")) != NULL);
    CHECK(strtoll(rcv, NULL, 10) < t_restart);
    CHECK(it_log_contains(&d, "replayed 60 records"));
    /* Back to the direct way. */
    CHECK(post_item(&d, "after_outage", &status, st, sizeof(st), NULL) ==
        0);
    CHECK(status == 202);
    CHECK_STR(st, "queued");
out:
    if (rc != 0)
        it_log_dump(&d);
    xfree(rcv);
    json_decref(ids);
    json_decref(want);
    it_daemon_cleanup(&d);
    if (redis.pid == 0)
        (void)it_redis_restart(&redis);
    return rc;
}

/* The dead-letter entry whose field key has value; its reason. */
static char *
deadletter_reason(const char *key, const char *value)
{
    redisContext *c = it_redis_connect(&redis);
    redisReply *r = NULL, *f;
    char *reason = NULL, *match;

    if (c == NULL)
        return NULL;
    r = redisCommand(c, "XRANGE inboxd:deadletter - +");
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
        i < r->elements && reason == NULL; i++) {
        f = r->element[i]->element[1];
        match = NULL;
        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, key) == 0 &&
                strstr(f->element[k + 1]->str, value) != NULL)
                match = f->element[k + 1]->str;
        }
        for (size_t k = 0; match != NULL && k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, "reason") == 0)
                reason = xstrdup(f->element[k + 1]->str);
        }
    }
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return reason;
}

/*
 * Everything a delivery can write, spooled and replayed: an edit whose
 * new routing names another queue than the stored one (misrouted: it
 * stays where it is, as without a spool), a delete, a body not
 * understood (a dead letter), and a record Redis refuses (a wrong-type
 * key in the way), which goes to the dead-letter stream while the replay
 * goes on past it.
 */
static int
test_replay_every_write(void)
{
    struct it_daemon d;
    redisContext *c = NULL;
    redisReply *r = NULL;
    char st[32], *v = NULL, *reason = NULL;
    long long spooled_by = 0;
    long status = 0;
    int rc = 0;

    memset(&d, 0, sizeof(d));
    CHECK(start_daemon(&d, NULL, "") == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK((c = it_redis_connect(&redis)) != NULL);
    CHECK((r = redisCommand(c, "SET inboxd:item:facebook:in_the_way x")) !=
        NULL);
    CHECK(post_change(&d, "1000_1", "add", MEETS_NO_RULE, &status) == 0);
    CHECK(status == 200);
    CHECK(post_change(&d, "1000_2", "add", MEETS_NO_RULE, &status) == 0);
    CHECK(status == 200);
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_1",
        "queue")) != NULL);
    CHECK_STR(v, "general");
    XFREE(&v);

    CHECK(it_redis_stop(&redis) == 0);
    CHECK(post_change(&d, "1000_1", "edited", SPAM, &status) == 0);
    CHECK(status == 200);
    CHECK(post_change(&d, "1000_2", "remove", NULL, &status) == 0);
    CHECK(status == 200);
    CHECK(post_change(&d, "1000_3", NULL, MEETS_NO_RULE, &status) == 0);
    CHECK(status == 200);
    CHECK(post_item(&d, "in_the_way", &status, st, sizeof(st), NULL) == 0);
    CHECK(status == 202);
    CHECK_STR(st, "spooled");
    CHECK(post_item(&d, "after_refused", &status, st, sizeof(st), NULL) ==
        0);
    CHECK(status == 202);
    /* Replayed well after they came, the edit and the delete keep their
     * own times, not the replay's. */
    spooled_by = util_now_ms();
    it_sleep_ms(1500);
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_idle(&d, 10000) == 0);

    /* The edit: new text, kept in its queue. */
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_1",
        "queue")) != NULL);
    CHECK_STR(v, "general");
    XFREE(&v);
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_1",
        "json")) != NULL);
    CHECK_CONTAINS(v, "bitcoin");
    XFREE(&v);
    CHECK(it_log_contains(&d, "edited (spooled), kept in queue=general"));
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_1",
        "edited_at")) != NULL);
    CHECK(strtoll(v, NULL, 10) > 0 && strtoll(v, NULL, 10) <= spooled_by);
    XFREE(&v);
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_2",
        "deleted_at")) != NULL);
    CHECK(strtoll(v, NULL, 10) > 0 && strtoll(v, NULL, 10) <= spooled_by);
    XFREE(&v);
    /* The delete. */
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:1000_2",
        "state")) != NULL);
    CHECK_STR(v, "deleted");
    XFREE(&v);
    /* The body not understood, kept as it came. */
    CHECK((reason = deadletter_reason("body", "1000_3")) != NULL);
    CHECK_CONTAINS(reason, "verb: missing");
    XFREE(&reason);
    /* The record Redis refused: a dead letter, and the replay went on. */
    CHECK((reason = deadletter_reason("delivery", "facebook:in_the_way")) !=
        NULL);
    CHECK_CONTAINS(reason, "spool replay: refused by redis");
    CHECK((v = it_redis_hget(&redis, "inboxd:item:facebook:after_refused",
        "queue")) != NULL);
    CHECK(it_log_contains(&d, "moved to the dead-letter stream"));
out:
    if (rc != 0)
        it_log_dump(&d);
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    xfree(v);
    xfree(reason);
    it_daemon_cleanup(&d);
    if (redis.pid == 0)
        (void)it_redis_restart(&redis);
    return rc;
}

/* ------------------------------------------------------- full spools */

/*
 * Post items while Redis is stopped until one is refused: every refusal
 * must be a 503 with Retry-After: 7 (spool.retry_after). The acked ids go
 * to acked. Returns how many were acknowledged, -1 on a failure.
 */
static int
fill_spool(struct it_daemon *d, const char *prefix, json_t *acked,
    int max)
{
    char id[64], *headers = NULL;
    long status = 0;
    int n = 0;

    for (int i = 0; i < max; i++) {
        snprintf(id, sizeof(id), "%s_%d", prefix, i);
        if (post_item(d, id, &status, NULL, 0, &headers) == -1)
            return -1;
        if (status == 503) {
            bool ok = header_has(headers, "Retry-After: 7");

            if (!ok)
                fprintf(stderr, "  503 without Retry-After: 7:\n%s\n",
                    headers);
            xfree(headers);
            return ok ? n : -1;
        }
        xfree(headers);
        headers = NULL;
        if (status != 202) {
            fprintf(stderr, "  %s: HTTP %ld\n", id, status);
            return -1;
        }
        snprintf(id, sizeof(id), "facebook:%s_%d", prefix, i);
        json_array_append_new(acked, json_string(id));
        n++;
    }
    fprintf(stderr, "  %d items and still no 503\n", max);
    return -1;
}

/* Every acked id is in Redis, each once in the ingest stream. */
static int
check_all_stored(json_t *acked)
{
    json_t *ids = ingest_ids(), *v, *w;
    size_t i, k;
    int rc = 0, seen;
    char key[128], *q;

    CHECK(ids != NULL);
    json_array_foreach(acked, i, v) {
        seen = 0;
        json_array_foreach(ids, k, w)
            seen += strcmp(json_string_value(w), json_string_value(v)) == 0;
        if (seen != 1)
            fprintf(stderr, "  %s: %d ingest entries\n",
                json_string_value(v), seen);
        CHECK(seen == 1);
        snprintf(key, sizeof(key), "inboxd:item:%s", json_string_value(v));
        CHECK((q = it_redis_hget(&redis, key, "queue")) != NULL);
        xfree(q);
    }
out:
    json_decref(ids);
    return rc;
}

/* spool.max_bytes reached: 503 with Retry-After, nothing acked lost. */
static int
test_spool_full(void)
{
    struct it_daemon d;
    json_t *acked = NULL;
    char state[32], st[32], *headers = NULL;
    long status = 0;
    long long recs = 0;
    int rc = 0, n;

    memset(&d, 0, sizeof(d));
    CHECK(start_daemon(&d, NULL, "  max_bytes: 64KiB\n"
        "  segment_bytes: 8KiB\n") == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK((acked = json_array()) != NULL);
    CHECK(it_redis_stop(&redis) == 0);
    CHECK((n = fill_spool(&d, "full", acked, 1000)) > 10);
    printf("  %d items acknowledged before the spool was full\n", n);
    /* Refused at once now, webhooks too, and the instance is down. */
    CHECK(post_item(&d, "full_more", &status, NULL, 0, &headers) == 0);
    CHECK(status == 503 && header_has(headers, "Retry-After: 7"));
    XFREE(&headers);
    CHECK(post_meta(&d, "139560936755999_9999", &status) == 0);
    CHECK(status == 503);
    CHECK(health(&d, &status, state, sizeof(state), &recs) == 0);
    CHECK(status == 503);
    CHECK_STR(state, "full");
    CHECK(recs == n);
    CHECK(it_log_contains(&d, "is full ("));
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_idle(&d, 10000) == 0);
    CHECK(check_all_stored(acked) == 0);
    /* Writes go straight to Redis again, refusal window or not. */
    CHECK(post_item(&d, "full_after", &status, st, sizeof(st), NULL) == 0);
    CHECK(status == 202);
    CHECK_STR(st, "queued");
out:
    if (rc != 0)
        it_log_dump(&d);
    xfree(headers);
    json_decref(acked);
    it_daemon_cleanup(&d);
    if (redis.pid == 0)
        (void)it_redis_restart(&redis);
    return rc;
}

static char mnt[256];

static void
unmount_at_exit(void)
{
    if (mnt[0] != '\0') {
        (void)umount2(mnt, MNT_DETACH);
        (void)rmdir(mnt);
        mnt[0] = '\0';
    }
}

/*
 * The disk under the spool is full for real: a 256 KiB tmpfs with
 * spool.max_bytes far above it. The write fails with ENOSPC, is undone,
 * answered 503; what was acknowledged reaches Redis.
 */
static int
test_disk_full(void)
{
    struct it_daemon d;
    json_t *acked = NULL;
    char spool[300], st[32];
    long status = 0;
    int rc = 0, n;

    memset(&d, 0, sizeof(d));
    snprintf(mnt, sizeof(mnt), "/tmp/inboxd-spoolfs-XXXXXX");
    CHECK(mkdtemp(mnt) != NULL);
    if (mount("tmpfs", mnt, "tmpfs", 0, "size=256k,mode=0700") == -1) {
        printf("  SKIP disk_full: mount -t tmpfs is not permitted here "
            "(%s; needs root or CAP_SYS_ADMIN)\n", strerror(errno));
        (void)rmdir(mnt);
        mnt[0] = '\0';
        return 0;
    }
    atexit(unmount_at_exit);
    snprintf(spool, sizeof(spool), "%s/spool", mnt);
    CHECK(start_daemon(&d, spool, "  max_bytes: 64MiB\n") == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK((acked = json_array()) != NULL);
    CHECK(it_redis_stop(&redis) == 0);
    CHECK((n = fill_spool(&d, "disk", acked, 5000)) > 10);
    printf("  %d items acknowledged before the disk was full\n", n);
    CHECK(it_log_contains(&d, "cannot write (no space: No space left on "
        "device)"));
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_idle(&d, 10000) == 0);
    CHECK(check_all_stored(acked) == 0);
    /* The segments are gone, and the disk takes writes again. */
    CHECK(it_redis_stop(&redis) == 0);
    CHECK(post_item(&d, "disk_again", &status, st, sizeof(st), NULL) == 0);
    CHECK(status == 202);
    CHECK_STR(st, "spooled");
    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_idle(&d, 10000) == 0);
out:
    if (rc != 0)
        it_log_dump(&d);
    json_decref(acked);
    it_daemon_cleanup(&d);
    if (redis.pid == 0)
        (void)it_redis_restart(&redis);
    unmount_at_exit();
    return rc;
}

/* Two processes never share a spool directory. */
static int
test_dir_locked(void)
{
    struct it_daemon a, b;
    char spool[320];
    int rc = 0;

    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    CHECK(start_daemon(&a, NULL, "") == 0);
    snprintf(spool, sizeof(spool), "%s/spool", a.dir);
    CHECK(start_daemon(&b, spool, "") == -1);
    CHECK(it_log_contains(&b, "is in use by another inboxd (pid "));
    CHECK(it_log_contains(&b, "each process needs its own spool.dir"));
out:
    if (rc != 0) {
        it_log_dump(&a);
        it_log_dump(&b);
    }
    it_daemon_cleanup(&a);
    it_daemon_cleanup(&b);
    return rc;
}

static const struct check_case cases[] = {
    { "outage_then_replay", test_outage_then_replay },
    { "replay_every_write", test_replay_every_write },
    { "spool_full", test_spool_full },
    { "disk_full", test_disk_full },
    { "dir_locked", test_dir_locked },
};

int
main(void)
{
    int rc;

    alloc_init();
    if (it_redis_start(&redis) == -1)
        return 1;
    rc = check_run(cases, nitems(cases));
    it_redis_cleanup(&redis);
    return rc;
}
