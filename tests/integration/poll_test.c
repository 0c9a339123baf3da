/*
 * Polling end to end: a real redis-server, a real inboxd, and the
 * platforms played by fake_platform on loopback. Telegram: getUpdates
 * batches become items; the offset is stored in Redis only after them and
 * sent with the next call; a restarted inboxd resumes at the stored offset
 * (no duplicate, no gap); 429 waits retry_after; 409 backs off; 401 stops;
 * two inboxd on one Redis poll a bot once (the lease). YouTube: two pages
 * of threads become items; the cursor is stored; a restart lists again
 * without storing anything twice; quotaExceeded and the daily budget stop
 * the calls. A reload stops a removed account and starts a new one.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "fake_platform.h"
#include "harness.h"
#include "poller.h"
#include "util.h"

#define SAMPLES     PROJECT_DIR "/tests/data/platforms/"
#define TG_BOT      "123456789"
#define TG_TOKEN    TG_BOT ":AAtestTOKEN_abc-123"
#define TG_UPD      "/bot" TG_TOKEN "/getUpdates"
#define TG_CURSOR   "inboxd:cursor:telegram:" TG_BOT
#define TG_LEASE    "inboxd:lease:telegram:" TG_BOT
#define YT_CHANNEL  "UCk1SpWNzOs4MYmr0uICEntg"
#define YT_LIST     "/youtube/v3/commentThreads"
#define YT_CURSOR   "inboxd:cursor:youtube:" YT_CHANNEL
#define YT_TOKEN1   "Z2V0X25ld2VzdF9maXJzdC0tQ2dnSWdBUVZGN2ZST0JJRkNJa2dHQUFT" \
    "QlFpSUlCZ0FFZ1VJaHlBWUFCSUZDS2dnR0FBU0JRaWRJQmdCR0FBaURnb01DUFRYOGJVR0VN" \
    "ajE3Y0FE"
#define YT_REPLY    "UgxD7msptSaPXG9Xqt14AaABAg.A6xbNg2l3pKA6xbP1H8eQz"

static struct it_redis redis;
static struct it_daemon daemon_;
static struct fake_platform *fake;
static redisContext *rc_;

/* The config; %s: the fake's URL (twice), poll_interval, daily_quota,
 * the accounts. */
#define CONFIG_FMT \
    "listen: 127.0.0.1:{{port}}\n" \
    "redis:\n" \
    "  address: {{redis}}\n" \
    "  reconnect_min: 50ms\n" \
    "  reconnect_max: 300ms\n" \
    "rules:\n" \
    "  dirs: [{{rules}}]\n" \
    "queues:\n" \
    "  names: [general, moderation, sales, support]\n" \
    "routes:\n" \
    "  - queue: moderation\n" \
    "    category: [spam, abuse]\n" \
    "platforms:\n" \
    "  telegram:\n" \
    "    api_base: %s\n" \
    "    poll_timeout: 1s\n" \
    "  youtube:\n" \
    "    api_base: %s/youtube/v3\n" \
    "    poll_interval: %s\n" \
    "    daily_quota: %s\n" \
    "polling:\n" \
    "  backoff_min: 200ms\n" \
    "  backoff_max: 1s\n" \
    "  lease_ttl: 3s\n" \
    "  request_timeout: 3s\n" \
    "log:\n" \
    "  debug: poller\n" \
    "accounts:\n" \
    "%s"

static const char *const tg_account =
    "  - platform: telegram\n"
    "    id: " TG_BOT "\n"
    "    bot_token: " TG_TOKEN "\n";

static const char *const yt_account =
    "  - platform: youtube\n"
    "    id: " YT_CHANNEL "\n"
    "    api_key: test-api-key\n";

/* The second page: one thread, older than the first page's. */
static const char *const yt_page2 =
    "{\"kind\":\"youtube#commentThreadListResponse\",\"etag\":\"p2\","
    "\"pageInfo\":{\"totalResults\":1,\"resultsPerPage\":1},\"items\":["
    "{\"kind\":\"youtube#commentThread\",\"etag\":\"t3\","
    "\"id\":\"UgzOlderThread000000000\",\"snippet\":{\"channelId\":\""
    YT_CHANNEL "\",\"videoId\":\"dQw4w9WgXcQ\",\"topLevelComment\":{"
    "\"kind\":\"youtube#comment\",\"etag\":\"c3\","
    "\"id\":\"UgzOlderThread000000000\",\"snippet\":{\"channelId\":\""
    YT_CHANNEL "\",\"videoId\":\"dQw4w9WgXcQ\",\"textDisplay\":\"First!\","
    "\"textOriginal\":\"First!\",\"authorDisplayName\":\"@early\","
    "\"authorChannelId\":{\"value\":\"UCearlyViewer0000000000\"},"
    "\"canRate\":true,\"viewerRating\":\"none\",\"likeCount\":0,"
    "\"publishedAt\":\"2024-08-13T08:00:00Z\","
    "\"updatedAt\":\"2024-08-13T08:00:00Z\"}},\"canReply\":true,"
    "\"totalReplyCount\":0,\"isPublic\":true}}]}";

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------ */

static int
start_daemon(struct it_daemon *d, const char *accounts,
    const char *interval, const char *quota)
{
    char yaml[4096];
    const char *url = fake_platform_url(fake);

    snprintf(yaml, sizeof(yaml), CONFIG_FMT, url, url, interval, quota,
        accounts);
    memset(d, 0, sizeof(*d));
    if (it_daemon_start(d, yaml, &redis) == -1 ||
        it_daemon_wait_healthy(d, 10000) == -1) {
        it_log_dump(d);
        return -1;
    }
    return 0;
}

/* Stop the daemon (it drains) and check its exit and sanitizer report. */
static int
stop_daemon(struct it_daemon *d)
{
    int status = -1, rc = 0;

    CHECK(it_daemon_signal(d, SIGTERM) == 0);
    CHECK(it_daemon_wait(d, 10000, &status) == 0);
    CHECK(status == 0);
    CHECK(!it_log_contains(d, "Sanitizer"));
    CHECK(!it_log_contains(d, "runtime error"));
out:
    if (rc != 0)
        it_log_dump(d);
    return rc;
}

static char *
rget(const char *key)
{
    redisReply *r = redisCommand(rc_, "GET %s", key);
    char *s = NULL;

    if (r != NULL && r->type == REDIS_REPLY_STRING)
        s = xstrdup(r->str);
    if (r != NULL)
        freeReplyObject(r);
    return s;
}

static bool
exists(const char *id)
{
    redisReply *r = redisCommand(rc_, "EXISTS inboxd:item:%s", id);
    bool e = r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer == 1;

    if (r != NULL)
        freeReplyObject(r);
    return e;
}

static long long
xlen(const char *key)
{
    redisReply *r = redisCommand(rc_, "XLEN %s", key);
    long long n = r && r->type == REDIS_REPLY_INTEGER ? r->integer : -1;

    if (r != NULL)
        freeReplyObject(r);
    return n;
}

static void
flushall(void)
{
    redisReply *r = redisCommand(rc_, "FLUSHALL");

    if (r != NULL)
        freeReplyObject(r);
}

/* Wait until item id exists: 0, or -1 after timeout_ms. */
static int
wait_item(const char *id, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 20) {
        if (exists(id))
            return 0;
        usleep(20000);
    }
    fprintf(stderr, "  item %s never stored\n", id);
    return -1;
}

/* Wait until GET key equals value. */
static int
wait_value(const char *key, const char *value, int timeout_ms)
{
    char *v = NULL;

    for (int t = 0; t < timeout_ms; t += 20) {
        v = rget(key);
        if (v != NULL && strcmp(v, value) == 0) {
            xfree(v);
            return 0;
        }
        xfree(v);
        usleep(20000);
    }
    v = rget(key);
    fprintf(stderr, "  %s is \"%s\", not \"%s\"\n", key, v ? v : "(nil)",
        value);
    xfree(v);
    return -1;
}

/* Wait until the fake served everything queued for prefix; now in ms. */
static int64_t
wait_served(const char *prefix, int timeout_ms)
{
    for (int t = 0; t < timeout_ms; t += 5) {
        if (fake_platform_queued(fake, prefix) == 0)
            return fake_platform_now_ms();
        usleep(5000);
    }
    return -1;
}

/* The value of one series in /metrics ("name{labels}"), -1 if absent. */
static double
metric(const struct it_daemon *d, const char *series)
{
    char *body = NULL, *p;
    size_t n = strlen(series);
    long status = 0;
    double v = -1;

    if (it_http(d, "GET", "/metrics", NULL, NULL, &status, &body, NULL) ==
        -1 || status != 200)
        goto out;
    for (p = body; p != NULL && *p != '\0'; p = strchr(p, '\n')) {
        if (*p == '\n')
            p++;
        if (strncmp(p, series, n) == 0 && p[n] == ' ') {
            v = strtod(p + n + 1, NULL);
            break;
        }
    }
out:
    xfree(body);
    return v;
}

/* A request parameter compared with want (NULL: must be absent). */
static int
check_param(const char *prefix, size_t i, const char *name,
    const char *want)
{
    char *v = fake_platform_param(fake, prefix, i, name);
    int rc = 0;

    if (want == NULL) {
        if (v != NULL)
            fprintf(stderr, "  request %zu: %s=%s, expected none\n", i,
                name, v);
        CHECK(v == NULL);
    } else {
        CHECK_STR(v, want);
    }
out:
    xfree(v);
    return rc;
}

/* ---------------------------------------------------------------------
 * Telegram
 * ------------------------------------------------------------------ */

static int
test_tg_batch(void)
{
    char *lease = NULL;
    int rc = 0;

    CHECK(fake_platform_push_file(fake, TG_UPD, 200,
        SAMPLES "telegram/getUpdates_response.json", NULL) == 0);
    CHECK(start_daemon(&daemon_, tg_account, "5m", "10000") == 0);
    CHECK(wait_item("telegram:" TG_BOT "_336435018_19", 5000) == 0);
    CHECK(wait_item("telegram:-1001234567890_20", 5000) == 0);
    CHECK(wait_value(TG_CURSOR, "544181549", 5000) == 0);
    /* The next call asks past the batch, as a long poll. */
    CHECK(fake_platform_wait(fake, TG_UPD, 2, 5000) == 0);
    CHECK(check_param(TG_UPD, 0, "offset", NULL) == 0);
    CHECK(check_param(TG_UPD, 0, "timeout", "1") == 0);
    CHECK(check_param(TG_UPD, 0, "allowed_updates",
        "[\"message\",\"edited_message\"]") == 0);
    CHECK(check_param(TG_UPD, 1, "offset", "544181549") == 0);
    CHECK(xlen("inboxd:ingest") == 2);
    CHECK((lease = rget(TG_LEASE)) != NULL);
    CHECK(metric(&daemon_, "inboxd_poll_requests_total{platform=\"telegram\""
        ",result=\"ok\"}") >= 1);
    CHECK(metric(&daemon_, "inboxd_poll_events_total{platform=\"telegram\""
        ",type=\"new\"}") == 2);
    CHECK(metric(&daemon_, "inboxd_poll_lease_held{account=\"telegram:"
        TG_BOT "\"}") == 1);
    /* The token is in every URL; it must never reach the log. */
    CHECK(!it_log_contains(&daemon_, "AAtestTOKEN"));
out:
    xfree(lease);
    return rc;
}

static int
test_tg_restart(void)
{
    static const char batch[] =
        "{\"ok\":true,\"result\":[{\"update_id\":544181549,\"message\":{"
        "\"message_id\":21,\"from\":{\"id\":336435018,\"is_bot\":false,"
        "\"first_name\":\"ray\"},\"chat\":{\"id\":336435018,\"first_name\":"
        "\"ray\",\"type\":\"private\"},\"date\":1498049900,"
        "\"text\":\"still there?\"}}]}";
    char *lease = NULL;
    size_t n0;
    int rc = 0;

    CHECK(stop_daemon(&daemon_) == 0);
    CHECK(it_log_contains(&daemon_, "lease released"));
    it_daemon_cleanup(&daemon_);
    /* A clean stop gives the lease back and keeps the offset. */
    lease = rget(TG_LEASE);
    CHECK(lease == NULL);
    CHECK(wait_value(TG_CURSOR, "544181549", 100) == 0);

    n0 = fake_platform_count(fake, TG_UPD);
    fake_platform_push(fake, TG_UPD, 200, batch, NULL);
    CHECK(start_daemon(&daemon_, tg_account, "5m", "10000") == 0);
    CHECK(fake_platform_wait(fake, TG_UPD, n0 + 1, 5000) == 0);
    CHECK(check_param(TG_UPD, n0, "offset", "544181549") == 0);
    CHECK(wait_item("telegram:" TG_BOT "_336435018_21", 5000) == 0);
    CHECK(wait_value(TG_CURSOR, "544181550", 5000) == 0);
    CHECK(xlen("inboxd:ingest") == 3);
    CHECK(it_log_contains(&daemon_, "resuming at offset 544181549"));
out:
    xfree(lease);
    return rc;
}

static int
test_tg_429(void)
{
    static const char body[] =
        "{\"ok\":false,\"error_code\":429,\"description\":\"Too Many "
        "Requests: retry after 2\",\"parameters\":{\"retry_after\":2}}";
    int64_t served, next_at = 0;
    size_t n1;
    char *uri = NULL;
    int rc = 0;

    fake_platform_push(fake, TG_UPD, 429, body, "Retry-After: 2");
    CHECK((served = wait_served(TG_UPD, 5000)) > 0);
    n1 = fake_platform_count(fake, TG_UPD);
    CHECK(fake_platform_wait(fake, TG_UPD, n1 + 1, 5000) == 0);
    CHECK((uri = fake_platform_uri(fake, TG_UPD, n1, &next_at)) != NULL);
    fprintf(stderr, "  next call %lld ms after the 429\n",
        (long long)(next_at - served));
    CHECK(next_at - served >= 1900);
    CHECK(next_at - served < 4000);
    CHECK(it_log_contains(&daemon_, "rate limited by Telegram (429); "
        "waiting 2 s"));
    CHECK(metric(&daemon_, "inboxd_poll_requests_total{platform=\"telegram\""
        ",result=\"rate_limited\"}") == 1);
out:
    xfree(uri);
    return rc;
}

static int
test_tg_409(void)
{
    int64_t served, next_at = 0;
    size_t n1;
    char *uri = NULL;
    int rc = 0;

    CHECK(fake_platform_push_file(fake, TG_UPD, 409,
        SAMPLES "telegram/error_409_conflict_webhook.json", NULL) == 0);
    CHECK((served = wait_served(TG_UPD, 5000)) > 0);
    n1 = fake_platform_count(fake, TG_UPD);
    CHECK(it_log_wait(&daemon_, "getUpdates refused with 409 Conflict",
        3000) == 0);
    CHECK(it_log_contains(&daemon_, "deleteWebhook"));
    /* Backed off (200 ms at first, with jitter), then polling again. */
    CHECK(fake_platform_wait(fake, TG_UPD, n1 + 1, 5000) == 0);
    CHECK((uri = fake_platform_uri(fake, TG_UPD, n1, &next_at)) != NULL);
    CHECK(next_at - served >= 90);
    CHECK(metric(&daemon_, "inboxd_poll_requests_total{platform=\"telegram\""
        ",result=\"conflict\"}") == 1);
    CHECK(it_log_wait(&daemon_, "getUpdates works again", 5000) == 0);
out:
    xfree(uri);
    return rc;
}

static int
test_tg_401(void)
{
    static const char body[] =
        "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}";
    char *lease = NULL;
    size_t n1;
    int rc = 0;

    fake_platform_push(fake, TG_UPD, 401, body, NULL);
    CHECK(wait_served(TG_UPD, 5000) > 0);
    CHECK(it_log_wait(&daemon_, "the Bot API refused the bot_token", 3000)
        == 0);
    n1 = fake_platform_count(fake, TG_UPD);
    usleep(1500 * 1000);
    CHECK(fake_platform_count(fake, TG_UPD) == n1);
    CHECK(metric(&daemon_, "inboxd_poll_stopped_total{platform=\"telegram\""
        ",reason=\"unauthorized\"}") == 1);
    CHECK(metric(&daemon_, "inboxd_poll_lease_held{account=\"telegram:"
        TG_BOT "\"}") == 0);
    usleep(200 * 1000);
    lease = rget(TG_LEASE);
    CHECK(lease == NULL);
    CHECK(stop_daemon(&daemon_) == 0);
out:
    xfree(lease);
    if (rc != 0)
        it_log_dump(&daemon_);
    it_daemon_cleanup(&daemon_);
    return rc;
}

/* Two inboxd on one Redis: one polls; when it stops, the other takes over. */
static int
test_tg_lease(void)
{
    static const char batch[] =
        "{\"ok\":true,\"result\":[{\"update_id\":544181550,\"message\":{"
        "\"message_id\":22,\"from\":{\"id\":336435018,\"is_bot\":false,"
        "\"first_name\":\"ray\"},\"chat\":{\"id\":336435018,\"first_name\":"
        "\"ray\",\"type\":\"private\"},\"date\":1498049950,"
        "\"text\":\"hello again\"}}]}";
    struct it_daemon other;
    struct it_daemon *holder, *standby;
    bool a, b;
    int rc = 0;

    memset(&other, 0, sizeof(other));
    CHECK(start_daemon(&daemon_, tg_account, "5m", "10000") == 0);
    CHECK(start_daemon(&other, tg_account, "5m", "10000") == 0);
    /*
     * One of the two takes the lease, the other stands by. Under a
     * sanitizer on a loaded machine either may take seconds to get
     * there, so wait for both states rather than for a fixed time.
     */
    for (int i = 0; i < 500; i++) {
        a = it_log_contains(&daemon_, "polling (lease taken)");
        b = it_log_contains(&other, "polling (lease taken)");
        if ((a && it_log_contains(&other, "standing by")) ||
            (b && it_log_contains(&daemon_, "standing by")))
            break;
        it_sleep_ms(20);
    }
    CHECK(a != b);
    holder = a ? &daemon_ : &other;
    standby = a ? &other : &daemon_;
    CHECK(it_log_contains(standby, "standing by"));
    CHECK(stop_daemon(holder) == 0);
    CHECK(it_log_wait(standby, "polling (lease taken)", 5000) == 0);
    CHECK(it_log_contains(standby, "resuming at offset 544181550"));
    fake_platform_push(fake, TG_UPD, 200, batch, NULL);
    CHECK(wait_item("telegram:" TG_BOT "_336435018_22", 5000) == 0);
    CHECK(wait_value(TG_CURSOR, "544181551", 5000) == 0);
    CHECK(stop_daemon(standby) == 0);
out:
    if (rc != 0) {
        it_log_dump(&daemon_);
        it_log_dump(&other);
    }
    it_daemon_cleanup(&other);
    it_daemon_cleanup(&daemon_);
    return rc;
}

/* ---------------------------------------------------------------------
 * YouTube
 * ------------------------------------------------------------------ */

static int
test_yt_paging(void)
{
    char *cur = NULL, *used = NULL, key[64], day[11];
    json_t *j = NULL;
    int rc = 0;

    flushall();
    CHECK(fake_platform_push_file(fake, YT_LIST, 200,
        SAMPLES "youtube/commentThreads_list_response.json", NULL) == 0);
    fake_platform_push(fake, YT_LIST, 200, yt_page2, NULL);
    CHECK(start_daemon(&daemon_, yt_account, "500ms", "10000") == 0);
    CHECK(wait_item("youtube:UgxD7msptSaPXG9Xqt14AaABAg", 5000) == 0);
    CHECK(wait_item("youtube:UgxENxr12AabiFXmLox4AaABAg", 5000) == 0);
    CHECK(wait_item("youtube:UgzOlderThread000000000", 5000) == 0);
    /* The channel's own reply is ignored, not stored. */
    CHECK(!exists("youtube:" YT_REPLY));
    CHECK(check_param(YT_LIST, 0, "allThreadsRelatedToChannelId",
        YT_CHANNEL) == 0);
    CHECK(check_param(YT_LIST, 0, "part", "snippet,replies") == 0);
    CHECK(check_param(YT_LIST, 0, "key", "test-api-key") == 0);
    CHECK(check_param(YT_LIST, 0, "pageToken", NULL) == 0);
    CHECK(check_param(YT_LIST, 1, "pageToken", YT_TOKEN1) == 0);

    /* The cursor: the newest publishedAt (the reply) and its id. */
    for (int t = 0; t < 5000 && cur == NULL; t += 20) {
        if ((cur = rget(YT_CURSOR)) == NULL)
            usleep(20000);
    }
    CHECK(cur != NULL);
    CHECK((j = json_loads(cur, 0, NULL)) != NULL);
    CHECK_STR(json_string_value(json_object_get(j, "published_at")),
        "2024-08-14T20:02:11.000Z");
    CHECK(json_is_array(json_object_get(j, "ids")));
    CHECK(xlen("inboxd:ingest") == 3);

    /* One unit per call, counted per Pacific day. */
    poller_pacific_day(util_now_ms(), day, NULL);
    snprintf(key, sizeof(key), "inboxd:quota:youtube:%s", day);
    CHECK((used = rget(key)) != NULL);
    CHECK(strtol(used, NULL, 10) >= 2);
    CHECK(metric(&daemon_, "inboxd_youtube_quota_used") >= 2);
    CHECK(!it_log_contains(&daemon_, "test-api-key"));
out:
    json_decref(j);
    xfree(cur);
    xfree(used);
    return rc;
}

static int
test_yt_restart(void)
{
    long long before;
    size_t n0, n;
    int rc = 0;

    CHECK(stop_daemon(&daemon_) == 0);
    it_daemon_cleanup(&daemon_);
    before = xlen("inboxd:ingest");
    n0 = fake_platform_count(fake, YT_LIST);
    /* The same first page again, as YouTube would list it. */
    CHECK(fake_platform_push_file(fake, YT_LIST, 200,
        SAMPLES "youtube/commentThreads_list_response.json", NULL) == 0);
    CHECK(start_daemon(&daemon_, yt_account, "300ms", "10000") == 0);
    CHECK(fake_platform_wait(fake, YT_LIST, n0 + 2, 5000) == 0);
    CHECK(it_log_contains(&daemon_, "resuming after "
        "2024-08-14T20:02:11.000Z"));
    /* The page reached the cursor: no second page was asked for. */
    n = fake_platform_count(fake, YT_LIST);
    for (size_t i = n0; i < n; i++)
        CHECK(check_param(YT_LIST, i, "pageToken", NULL) == 0);
    CHECK(xlen("inboxd:ingest") == before);
    CHECK(metric(&daemon_, "inboxd_poll_events_total{platform=\"youtube\""
        ",type=\"new\"}") < 0);
out:
    return rc;
}

static int
test_yt_quota_exceeded(void)
{
    char *used = NULL, key[64], day[11];
    size_t n1;
    int rc = 0;

    CHECK(fake_platform_push_file(fake, YT_LIST, 403,
        SAMPLES "youtube/error_quotaExceeded.json", NULL) == 0);
    CHECK(wait_served(YT_LIST, 5000) > 0);
    CHECK(it_log_wait(&daemon_, "the API quota is exceeded", 3000) == 0);
    n1 = fake_platform_count(fake, YT_LIST);
    usleep(1500 * 1000);
    CHECK(fake_platform_count(fake, YT_LIST) == n1);
    poller_pacific_day(util_now_ms(), day, NULL);
    snprintf(key, sizeof(key), "inboxd:quota:youtube:%s", day);
    CHECK((used = rget(key)) != NULL);
    CHECK_STR(used, "10000");
    CHECK(metric(&daemon_, "inboxd_youtube_quota_used") == 10000);
    CHECK(metric(&daemon_, "inboxd_poll_requests_total{platform=\"youtube\""
        ",result=\"quota_exceeded\"}") == 1);
    CHECK(stop_daemon(&daemon_) == 0);
out:
    xfree(used);
    if (rc != 0)
        it_log_dump(&daemon_);
    it_daemon_cleanup(&daemon_);
    return rc;
}

static int
test_yt_budget(void)
{
    char key[64], day[11];
    redisReply *r;
    size_t n0;
    int rc = 0;

    poller_pacific_day(util_now_ms(), day, NULL);
    snprintf(key, sizeof(key), "inboxd:quota:youtube:%s", day);
    r = redisCommand(rc_, "DEL %s", key);
    if (r != NULL)
        freeReplyObject(r);
    n0 = fake_platform_count(fake, YT_LIST);
    CHECK(start_daemon(&daemon_, yt_account, "100ms", "2") == 0);
    CHECK(it_log_wait(&daemon_, "the daily YouTube quota budget (2 units",
        5000) == 0);
    usleep(800 * 1000);
    fprintf(stderr, "  %zu calls\n", fake_platform_count(fake, YT_LIST) -
        n0);
    CHECK(fake_platform_count(fake, YT_LIST) == n0 + 2);
    CHECK(wait_value(key, "2", 100) == 0);
    CHECK(stop_daemon(&daemon_) == 0);
out:
    if (rc != 0)
        it_log_dump(&daemon_);
    it_daemon_cleanup(&daemon_);
    return rc;
}

/* ---------------------------------------------------------------------
 * Reload
 * ------------------------------------------------------------------ */

/* Replace the accounts of the running daemon's config file. */
static int
rewrite_accounts(const char *accounts)
{
    char *text = NULL, *at, chunk[4096];
    struct buf b;
    FILE *fp;
    size_t n;
    int rc = -1;

    buf_init(&b, 1u << 20);
    if ((fp = fopen(daemon_.cfg, "rb")) == NULL)
        goto out;
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    if ((text = buf_steal(&b)) == NULL ||
        (at = strstr(text, "accounts:\n")) == NULL)
        goto out;
    at[strlen("accounts:\n")] = '\0';
    if ((fp = fopen(daemon_.cfg, "wb")) == NULL)
        goto out;
    fprintf(fp, "%s%s", text, accounts);
    rc = fclose(fp) == 0 ? 0 : -1;
out:
    xfree(text);
    buf_free(&b);
    return rc;
}

/* SIGHUP: a removed bot stops (lease released), an added channel starts. */
static int
test_reload(void)
{
    char *lease = NULL;
    int rc = 0;

    CHECK(start_daemon(&daemon_, tg_account, "5m", "10000") == 0);
    CHECK(it_log_wait(&daemon_, "telegram:" TG_BOT ": polling (lease "
        "taken)", 5000) == 0);
    CHECK(rewrite_accounts(yt_account) == 0);
    CHECK(it_daemon_signal(&daemon_, SIGHUP) == 0);
    CHECK(it_log_wait(&daemon_, "telegram:" TG_BOT ": account changed or "
        "removed; polling stops", 5000) == 0);
    CHECK(it_log_wait(&daemon_, "youtube:" YT_CHANNEL ": polling (lease "
        "taken)", 5000) == 0);
    CHECK(it_log_wait(&daemon_, "telegram:" TG_BOT ": lease released",
        5000) == 0);
    lease = rget(TG_LEASE);
    CHECK(lease == NULL);
    CHECK(stop_daemon(&daemon_) == 0);
out:
    xfree(lease);
    if (rc != 0)
        it_log_dump(&daemon_);
    it_daemon_cleanup(&daemon_);
    return rc;
}

/* Run one case; a failure shows the daemon's log. */
#define POLL_CASE(fn)                                                    \
    static int fn##_logged(void)                                         \
    {                                                                    \
        int r_ = fn();                                                   \
        if (r_ != 0 && daemon_.pid != 0)                                 \
            it_log_dump(&daemon_);                                       \
        return r_;                                                       \
    }

POLL_CASE(test_tg_batch)
POLL_CASE(test_tg_restart)
POLL_CASE(test_tg_429)
POLL_CASE(test_tg_409)
POLL_CASE(test_tg_401)
POLL_CASE(test_tg_lease)
POLL_CASE(test_yt_paging)
POLL_CASE(test_yt_restart)
POLL_CASE(test_yt_quota_exceeded)
POLL_CASE(test_yt_budget)
POLL_CASE(test_reload)

static const struct check_case cases[] = {
    {"tg_batch", test_tg_batch_logged},
    {"tg_restart", test_tg_restart_logged},
    {"tg_429", test_tg_429_logged},
    {"tg_409", test_tg_409_logged},
    {"tg_401", test_tg_401_logged},
    {"tg_lease", test_tg_lease_logged},
    {"yt_paging", test_yt_paging_logged},
    {"yt_restart", test_yt_restart_logged},
    {"yt_quota_exceeded", test_yt_quota_exceeded_logged},
    {"yt_budget", test_yt_budget_logged},
    {"reload", test_reload_logged},
};

int
main(void)
{
    int rc;

    alloc_init();
    if ((fake = fake_platform_start()) == NULL ||
        it_redis_start(&redis) == -1 ||
        (rc_ = it_redis_connect(&redis)) == NULL) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    fake_platform_telegram_token(fake, TG_TOKEN);
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    if (daemon_.pid != 0) {
        it_daemon_stop(&daemon_);
        if (rc != 0)
            it_log_dump(&daemon_);
    }
    it_daemon_cleanup(&daemon_);
    if (rc_ != NULL)
        redisFree(rc_);
    it_redis_cleanup(&redis);
    fake_platform_stop(fake);
    return rc;
}
