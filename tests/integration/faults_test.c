/*
 * Faults under load: four senders post items as a platform would (retrying
 * on 503 and on a dead connection until an item is acknowledged) while
 * redis-server is killed with SIGKILL and restarted, and then inboxd is
 * killed with SIGKILL and started again. Afterwards every acknowledged
 * item must be in Redis exactly once: zero lost, zero duplicated (one
 * hash per id, one entry per id in the ingest stream).
 *
 * Twice: without a spool the senders see 503s while Redis is away; with
 * one (spool.dir) they see no answer but 2xx, and the inboxd killed is
 * started again on the same spool. Then, with the spool, Redis is
 * stopped outright: inboxd is killed while spooling, and again in the
 * middle of the replay once Redis is back.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>

#include "alloc.h"
#include "check.h"
#include "harness.h"
#include "util.h"

#define SENDERS         4
#define PER_SENDER      1000
#define TOTAL           (SENDERS * PER_SENDER)

static struct it_redis redis;
static struct it_daemon da;
static const char *prefix;          /* the run's native id prefix */
static atomic_int port;             /* the live daemon's; changes on restart */
static atomic_int acked;            /* items answered 202 or 200 */
static atomic_int refused;          /* 503 answers seen (then retried) */
static atomic_int dead;             /* no answer at all (then retried) */
static atomic_int other;            /* any other answer: a failure */
static atomic_bool give_up;         /* the test failed: senders stop */

#define CONFIG_BASE                                                      \
    "listen: 127.0.0.1:{{port}}\n"                                       \
    "redis:\n"                                                           \
    "  address: {{redis}}\n"                                             \
    "  reconnect_min: 20ms\n"                                            \
    "  reconnect_max: 200ms\n"                                           \
    "rules:\n"                                                           \
    "  dirs: [{{rules}}]\n"                                              \
    "tokens:\n"                                                          \
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"        \
    "queues:\n"                                                          \
    "  retry_after: 1s\n"

static const char *config = CONFIG_BASE;
static const char *config_spool = CONFIG_BASE
    "spool:\n"
    "  dir: {{dir}}/spool\n";

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

/* Post item n until inboxd acknowledges it, as a platform retries. */
static void
send_one(int n)
{
    struct it_daemon d;
    char body[512];
    long st;

    snprintf(body, sizeof(body), "{\"platform\":\"facebook\",\"native_id\":"
        "\"%s_%d\",\"kind\":\"comment\",\"account\":{\"id\":\"1\"},"
        "\"author\":{\"id\":\"u%d\"},\"text\":\"order %d arrived broken, "
        "where is my refund?\",\"created_at\":1795426800}", prefix, n, n,
        n);
    while (!atomic_load(&give_up)) {
        memset(&d, 0, sizeof(d));
        d.port = atomic_load(&port);
        if (it_http(&d, "POST", "/v1/items", "test-token", body, &st, NULL,
            NULL) == -1) {
            atomic_fetch_add(&dead, 1);
        } else if (st == 202 || st == 200) {
            atomic_fetch_add(&acked, 1);
            return;
        } else if (st == 503) {
            atomic_fetch_add(&refused, 1);
        } else {
            atomic_fetch_add(&other, 1);
            fprintf(stderr, "  item %d: HTTP %ld\n", n, st);
        }
        sleep_ms(20);
    }
}

static void *
sender(void *arg)
{
    int first = (int)(intptr_t)arg * PER_SENDER;

    for (int i = 0; i < PER_SENDER; i++)
        send_one(first + i);
    return NULL;
}

static int
wait_acked(int n, int ms)
{
    for (int waited = 0; waited < ms; waited += 10) {
        if (atomic_load(&acked) >= n)
            return 0;
        sleep_ms(10);
    }
    return -1;
}

/* Every id stored once: its hash, and one ingest entry per id. */
static int
count_stored(int *hashes, long long *entries, int *distinct)
{
    redisContext *c = it_redis_connect(&redis);
    redisReply *r;
    char *seen, pre[64];

    if (c == NULL || (seen = xcalloc(TOTAL, 1)) == NULL)
        return -1;
    *hashes = 0;
    for (int i = 0; i < TOTAL; i++)
        redisAppendCommand(c, "EXISTS inboxd:item:facebook:%s_%d", prefix,
            i);
    for (int i = 0; i < TOTAL; i++) {
        if (redisGetReply(c, (void **)&r) != REDIS_OK)
            break;
        *hashes += r->type == REDIS_REPLY_INTEGER && r->integer == 1;
        freeReplyObject(r);
    }
    r = redisCommand(c, "XRANGE inboxd:ingest - +");
    *distinct = 0;
    *entries = 0;
    snprintf(pre, sizeof(pre), "facebook:%s_", prefix);
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
        i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];
        int n;

        /* Only this run's ids: the other run used the same Redis. */
        if (f->elements < 2 || strncmp(f->element[1]->str, pre,
            strlen(pre)) != 0 ||
            sscanf(f->element[1]->str + strlen(pre), "%d", &n) != 1)
            continue;
        (*entries)++;
        if (n >= 0 && n < TOTAL && !seen[n]) {
            seen[n] = 1;
            (*distinct)++;
        }
    }
    if (r != NULL)
        freeReplyObject(r);
    xfree(seen);
    redisFree(c);
    return 0;
}

/* Wait (at most ms) until /healthz says the spool is replayed. */
static int
wait_spool_idle(int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        char *b = NULL;
        long st;
        bool idle = it_http(&da, "GET", "/healthz", NULL, NULL, &st, &b,
            NULL) == 0 && strstr(b, "\"state\":\"idle\"") != NULL;

        xfree(b);
        if (idle)
            return 0;
        sleep_ms(20);
    }
    return -1;
}

/* A run's start: counters zeroed, inboxd up, the senders sending. */
static int
faults_begin(const char *yaml, const char *run, pthread_t *th,
    int *started)
{
    int rc = 0;

    prefix = run;
    atomic_store(&acked, 0);
    atomic_store(&refused, 0);
    atomic_store(&dead, 0);
    atomic_store(&other, 0);
    atomic_store(&give_up, false);
    memset(&da, 0, sizeof(da));
    CHECK(it_daemon_start(&da, yaml, &redis) == 0);
    CHECK(it_daemon_wait_healthy(&da, 10000) == 0);
    atomic_store(&port, da.port);
    for (int i = 0; i < SENDERS; i++) {
        CHECK(pthread_create(&th[i], NULL, sender, (void *)(intptr_t)i) ==
            0);
        (*started)++;
    }
out:
    return rc;
}

/*
 * A run's end: the senders stopped (at once when the run failed), then
 * every acknowledged item in Redis exactly once. With a spool, not one
 * 503 was seen.
 */
static int
faults_end(int rc, bool spool, pthread_t *th, int started)
{
    int hashes = 0, distinct = 0;
    long long entries = 0;

    if (rc != 0)
        atomic_store(&give_up, true);
    for (int i = 0; i < started; i++)
        pthread_join(th[i], NULL);
    if (rc == 0) {
        CHECK(count_stored(&hashes, &entries, &distinct) == 0);
        printf("  sent %d, acknowledged %d, stored %d, ingest entries %lld "
            "(%d distinct); 503s %d, no answer %d, other %d\n", TOTAL,
            atomic_load(&acked), hashes, entries, distinct,
            atomic_load(&refused), atomic_load(&dead), atomic_load(&other));
        CHECK(hashes == TOTAL);             /* none lost */
        CHECK(entries == TOTAL);            /* none stored twice */
        CHECK(distinct == TOTAL);
        CHECK(atomic_load(&other) == 0);
        /* The faults were really felt by the senders. */
        CHECK(atomic_load(&refused) + atomic_load(&dead) > 0);
        /* A spool leaves the senders nothing to retry but a dead
         * connection: not one 503. */
        CHECK(!spool || atomic_load(&refused) == 0);
    }
out:
    if (rc != 0)
        it_log_dump(&da);
    it_daemon_cleanup(&da);
    return rc;
}

/*
 * Redis is killed under load and restarted, then inboxd is killed and
 * started again: a new one without a spool, the same spool with one.
 */
static int
faults_kill_redis_then_inboxd(const char *yaml, bool spool, const char *run)
{
    pthread_t th[SENDERS];
    int rc = 0, started = 0;

    CHECK(faults_begin(yaml, run, th, &started) == 0);
    /* Redis dies with writes in flight, and comes back from its AOF. */
    CHECK(wait_acked(TOTAL / 4, 60000) == 0);
    CHECK(kill(redis.pid, SIGKILL) == 0);
    sleep_ms(500);
    CHECK(it_redis_restart(&redis) == 0);
    /* inboxd dies with requests in flight; a new one takes over. */
    CHECK(wait_acked(TOTAL / 2, 60000) == 0);
    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    if (spool) {
        /* Its spool holds what it acknowledged: the same dir again. */
        CHECK(it_daemon_restart(&da) == 0);
    } else {
        it_daemon_cleanup(&da);
        memset(&da, 0, sizeof(da));
        CHECK(it_daemon_start(&da, yaml, &redis) == 0);
    }
    atomic_store(&port, da.port);
    CHECK(wait_acked(TOTAL, 120000) == 0);
    /* With a spool, acknowledged may still mean "on its way". */
    CHECK(it_daemon_wait_healthy(&da, 10000) == 0);
    CHECK(!spool || wait_spool_idle(20000) == 0);
out:
    return faults_end(rc, spool, th, started);
}

static int
test_kill_redis_then_inboxd_under_load(void)
{
    return faults_kill_redis_then_inboxd(config, false, "f");
}

static int
test_kill_redis_then_inboxd_under_load_spooled(void)
{
    return faults_kill_redis_then_inboxd(config_spool, true, "s");
}

/*
 * Redis is stopped for good while the senders post: inboxd is killed
 * while spooling and started on its spool, then, once everything is
 * acknowledged, Redis comes back and inboxd is killed again in the
 * middle of the replay.
 */
static int
test_kill_inboxd_while_spooling_and_replaying(void)
{
    pthread_t th[SENDERS];
    int rc = 0, started = 0;
    long long base, at_kill = -1;

    /* The earlier runs' entries. */
    CHECK((base = it_redis_xlen(&redis, "inboxd:ingest")) >= 0);
    CHECK(faults_begin(config_spool, "k", th, &started) == 0);
    CHECK(it_redis_stop(&redis) == 0);
    /* Killed while spooling, with requests in flight. */
    CHECK(wait_acked(TOTAL / 3, 60000) == 0);
    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    CHECK(it_daemon_restart(&da) == 0);
    CHECK(it_log_wait(&da, "from before the last stop", 5000) == 0);
    CHECK(wait_acked(TOTAL, 120000) == 0);
    /* Killed in the middle of the replay. */
    CHECK(it_redis_restart(&redis) == 0);
    for (int waited = 0; waited < 10000 && at_kill <= base; waited += 2) {
        if ((at_kill = it_redis_xlen(&redis, "inboxd:ingest")) <= base)
            sleep_ms(2);
    }
    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    at_kill = it_redis_xlen(&redis, "inboxd:ingest") - base;
    printf("  killed mid-replay with %lld of %d stored\n", at_kill, TOTAL);
    CHECK(at_kill > 0 && at_kill < TOTAL);
    CHECK(it_daemon_restart(&da) == 0);
    CHECK(wait_spool_idle(60000) == 0);
out:
    return faults_end(rc, true, th, started);
}

static const struct check_case cases[] = {
    { "kill_redis_then_inboxd_under_load",
      test_kill_redis_then_inboxd_under_load },
    { "kill_redis_then_inboxd_under_load_spooled",
      test_kill_redis_then_inboxd_under_load_spooled },
    { "kill_inboxd_while_spooling_and_replaying",
      test_kill_inboxd_while_spooling_and_replaying },
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
