/*
 * Escalation end to end: a real redis-server, real inboxd processes, the
 * fake alert receivers (Slack, Telegram, PagerDuty, a webhook) and the
 * fake Telegram Bot API for out-of-hours replies. The escalation clock
 * is the file escalation.clock_file, which the test moves; after each
 * move it waits until a sweep has run at that time and every alert has
 * been sent, so a simulated week takes seconds.
 *
 *   week_berlin      Monday 2026-03-23 to Monday 03-30 in Europe/Berlin,
 *                    summer time starting on the Sunday: an SLA warning,
 *                    breach and the whole ladder (who, when, which
 *                    channel), an answer closing it, a business-hours
 *                    SLA running over the weekend into summer time, a
 *                    Sunday override paged for a threat and
 *                    acknowledged, and out-of-hours replies once per
 *                    conversation, night and language
 *   new_york         the 2026-11-01 fall-back: a handover at 01:30 that
 *                    happens twice, and an SLA over the weekend
 *   surge            200 abusive comments on one post, sent to two
 *                    inboxd processes: exactly one incident, one page per
 *                    channel; quiet after it is resolved
 *   restart          SIGKILL in the middle of a ladder: the next step
 *                    comes once, nothing is paged twice; inboxctl ack
 *                    stops the repeat
 *   receiver_429     a 429 with Retry-After and a 500 are retried
 */
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "crypto.h"
#include "fake_alerts.h"
#include "fake_platform.h"
#include "harness.h"
#include "sched.h"
#include "util.h"

#ifndef INBOXCTL_BIN
#error "INBOXCTL_BIN must be defined"
#endif

#define LEAD        "lena-token"
#define AGENT       "alice-token"
#define TG_BOT      "7012345678"
#define TG_TOKEN    TG_BOT ":AAescTOKEN"
#define ALERT_BOT   "999:alerts"
#define TG_ALERTS   "/bot" ALERT_BOT "/sendMessage"
#define HOOK_SECRET "hook-secret"
#define H           (3600 * 1000LL)
#define M           (60 * 1000LL)

static struct it_redis redis;
static struct it_daemon da, db;
static struct fake_alerts *alerts;
static struct fake_platform *fake;
static char clock_dir[64], clock_path[128];
static int native_seq;

static const char *config_fmt =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "  - {name: lena, role: lead, token: lena-token}\n"
    "queues:\n"
    "  names: [general, support, moderation, us]\n"
    "routes:\n"
    "  - {queue: moderation, category: [spam, abuse]}\n"
    "  - {queue: us, category: question, account: \"us-page\"}\n"
    "  - {queue: support, category: question}\n"
    "actions:\n"
    "  interval: 50ms\n"
    "platforms:\n"
    "  telegram: {api_base: \"@FAKE@\"}\n"
    "  facebook: {api_base: \"@FAKE@/v21.0\"}\n"
    "accounts:\n"
    "  - {platform: telegram, id: " TG_BOT ", bot_token: \"" TG_TOKEN
    "\", webhook_secret: tgs}\n"
    "escalation:\n"
    "  interval: 50ms\n"
    "  clock_file: @CLOCK@\n"
    "  teams:\n"
    "    support:\n"
    "      timezone: Europe/Berlin\n"
    "      hours: {weekdays: \"09:00-17:00\"}\n"
    "      rotation: {members: [alice, bob, carol], handover: daily,\n"
    "                 at: \"09:00\", start: 2026-03-23}\n"
    "      overrides: {2026-03-29: dave}\n"
    "      lead: erin\n"
    "    us:\n"
    "      timezone: America/New_York\n"
    "      hours: {weekdays: \"09:00-17:00\"}\n"
    "      rotation: {members: [xena, yuri], handover: weekly, day: sun,\n"
    "                 at: \"01:30\", start: 2026-10-04}\n"
    "      lead: zoe\n"
    "  people:\n"
    "    alice: {telegram: \"1001\", slack: U0ALICE}\n"
    "    bob: {telegram: \"1002\"}\n"
    "    carol: {telegram: \"1003\"}\n"
    "    dave: {telegram: \"1004\"}\n"
    "    erin: {telegram: \"1005\"}\n"
    "  channels:\n"
    "    slack: {type: slack, url: \"@ALERTS@/slack/T0/B0/x\"}\n"
    "    tg: {type: telegram, bot_token: \"" ALERT_BOT "\", chat_id: "
    "\"-100\",\n"
    "         api_base: \"@ALERTS@\"}\n"
    "    pd: {type: pagerduty, routing_key: rk-1,\n"
    "         url: \"@ALERTS@/v2/enqueue\"}\n"
    "    hook: {type: webhook, url: \"@ALERTS@/hook\", secret: "
    HOOK_SECRET "}\n"
    "  policies:\n"
    "    standard:\n"
    "      steps:\n"
    "        - {notify: oncall, via: [slack, tg]}\n"
    "        - {after: 15m, notify: backup, via: [tg]}\n"
    "        - {after: 15m, notify: lead, via: [pd, hook]}\n"
    "    urgent:\n"
    "      steps:\n"
    "        - {notify: oncall, via: [tg, pd]}\n"
    "        - {after: 5m, notify: lead, via: [tg]}\n"
    "      repeat: 10m\n"
    "      repeat_times: 1\n"
    "      quiet: 1h\n"
    "  sla:\n"
    "    - {name: support, queues: [support], kinds: [comment],\n"
    "       team: support, first_response: 1h, warn_before: 15m,\n"
    "       business_hours: true, policy: standard}\n"
    "    - {name: us, queues: [us], team: us, first_response: 2h,\n"
    "       warn_before: 15m, business_hours: true, policy: standard}\n"
    "  critical:\n"
    "    - {name: threats, rules: [en.abuse.threat], team: support,\n"
    "       policy: urgent}\n"
    "  surge:\n"
    "    - {name: pile-on, categories: [abuse, negative], count: 20,\n"
    "       window: 10m, per: conversation, team: support, policy: urgent}\n"
    "  out_of_hours:\n"
    "    - team: support\n"
    "      accounts: [\"telegram:" TG_BOT "\"]\n"
    "      text:\n"
    "        default: \"We are closed now and answer from 09:00.\"\n"
    "        ru: \"Мы сейчас закрыты, ответим с 09:00.\"\n"
    "  alerts: {timeout: 2s, backoff_min: 200ms, backoff_max: 1s}\n";

/* ------------------------------------------------------------- helpers */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int64_t
utc(int y, int mo, int d, int h, int mi)
{
    return (int64_t)sched_days_from_civil(y, mo, d) * 86400000LL +
        (int64_t)h * H + (int64_t)mi * M;
}

static int
start_daemon(struct it_daemon *d)
{
    struct {
        const char *name;
        const char *value;
    } vars[] = {
        { "@FAKE@", fake_platform_url(fake) },
        { "@ALERTS@", fake_alerts_url(alerts) },
        { "@CLOCK@", clock_path },
    };
    const char *p = config_fmt;
    struct buf yaml;
    int rc = 0;

    buf_init(&yaml, 1u << 16);
    while (*p != '\0') {
        size_t i;

        for (i = 0; i < nitems(vars); i++) {
            if (strncmp(p, vars[i].name, strlen(vars[i].name)) == 0)
                break;
        }
        if (i < nitems(vars)) {
            buf_puts(&yaml, vars[i].value);
            p += strlen(vars[i].name);
        } else {
            buf_append(&yaml, p++, 1);
        }
    }
    memset(d, 0, sizeof(*d));
    if (yaml.failed || it_daemon_start(d, yaml.data, &redis) == -1 ||
        it_daemon_wait_healthy(d, 10000) == -1 ||
        it_log_wait(d, "escalation: taking in new items", 5000) == -1)
        rc = -1;
    buf_free(&yaml);
    return rc;
}

static redisReply *
rcmd(const char *fmt, const char *arg)
{
    redisContext *c = it_redis_connect(&redis);
    redisReply *r;

    if (c == NULL)
        return NULL;
    r = redisCommand(c, fmt, arg);
    redisFree(c);
    return r;
}

static long long
rnum(const char *fmt, const char *arg)
{
    redisReply *r = rcmd(fmt, arg);
    long long v = -1;

    if (r != NULL && r->type == REDIS_REPLY_INTEGER)
        v = r->integer;
    else if (r != NULL && r->type == REDIS_REPLY_STRING)
        v = strtoll(r->str, NULL, 10);
    if (r != NULL)
        freeReplyObject(r);
    return v;
}

/* Every new item armed: the group has read the newest entry, none left
 * pending. */
static int
wait_armed(void)
{
    for (int waited = 0; waited < 5000; waited += 20) {
        redisReply *g = rcmd("XINFO GROUPS %s", "inboxd:ingest");
        redisReply *last = rcmd("XREVRANGE %s + - COUNT 1", "inboxd:ingest");
        bool done = false;

        for (size_t i = 0; g != NULL && g->type == REDIS_REPLY_ARRAY &&
            i < g->elements; i++) {
            redisReply *f = g->element[i];
            const char *name = NULL, *lastid = NULL;
            long long pending = -1;

            for (size_t k = 0; k + 1 < f->elements; k += 2) {
                const char *key = f->element[k]->str;

                if (strcmp(key, "name") == 0)
                    name = f->element[k + 1]->str;
                else if (strcmp(key, "pending") == 0)
                    pending = f->element[k + 1]->integer;
                else if (strcmp(key, "last-delivered-id") == 0)
                    lastid = f->element[k + 1]->str;
            }
            done = name != NULL && strcmp(name, "inboxd:escalate") == 0 &&
                pending == 0 && last != NULL && last->elements > 0 &&
                lastid != NULL &&
                strcmp(lastid, last->element[0]->element[0]->str) == 0;
            if (done)
                break;
        }
        if (g != NULL)
            freeReplyObject(g);
        if (last != NULL)
            freeReplyObject(last);
        if (done)
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "  items not armed in 5 s\n");
    return -1;
}

/* Every alert written so far sent (or failed for good). */
static int
wait_alerts_sent(int ms)
{
    for (int waited = 0; waited < ms; waited += 20) {
        if (rnum("ZCARD %s", "inboxd:alerts:due") == 0)
            return 0;
        sleep_ms(20);
    }
    fprintf(stderr, "  alerts still due after %d ms\n", ms);
    return -1;
}

/* Move the escalation clock; wait for a sweep at that time and for its
 * alerts to be sent. */
static int
set_clock(int64_t ms)
{
    char tmp[160], val[32];
    FILE *fp;

    snprintf(tmp, sizeof(tmp), "%s.tmp", clock_path);
    snprintf(val, sizeof(val), "%lld\n", (long long)ms);
    if ((fp = fopen(tmp, "w")) == NULL || fputs(val, fp) == EOF ||
        fclose(fp) != 0 || rename(tmp, clock_path) == -1)
        return -1;
    for (int waited = 0; waited < 5000; waited += 10) {
        if (rnum("GET %s", "inboxd:esc:swept") >= ms)
            return wait_alerts_sent(5000);
        sleep_ms(10);
    }
    fprintf(stderr, "  no sweep at %lld in 5 s\n", (long long)ms);
    return -1;
}

static json_t *
api(const struct it_daemon *d, const char *method, const char *path,
    const char *token, const char *body, long *status)
{
    char *resp = NULL;
    json_t *j = NULL;

    *status = 0;
    if (it_http(d, method, path, token, body, status, &resp, NULL) == 0) {
        j = json_loads(resp, 0, NULL);
        xfree(resp);
    }
    return j;
}

static json_t *
incident(int id)
{
    char path[64];
    long st;

    snprintf(path, sizeof(path), "/v1/incidents/%d", id);
    return api(&da, "GET", path, LEAD, NULL, &st);
}

static size_t
open_incidents(void)
{
    long st;
    json_t *j = api(&da, "GET", "/v1/incidents", LEAD, NULL, &st);
    size_t n = json_array_size(json_object_get(j, "incidents"));

    json_decref(j);
    return n;
}

/* POST an item; its id into id (when not NULL). */
static long
post(const struct it_daemon *d, const char *platform, const char *account,
    const char *kind, const char *conv, const char *lang, const char *text,
    char *id, size_t idlen)
{
    char native[64], *body, *resp = NULL;
    long st = 0;
    json_t *j;

    snprintf(native, sizeof(native), "%s_%d", conv, ++native_seq);
    j = json_pack("{s:s,s:s,s:s,s:{s:s},s:s,s:{s:s},s:s,s:s,s:i}",
        "platform", platform, "native_id", native, "kind", kind, "account",
        "id", account, "conversation", conv, "author", "id", "77", "text",
        text, "lang", lang, "created_at", 1774526400);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    if (it_http(d, "POST", "/v1/items", "test-token", body, &st, &resp,
        NULL) == 0)
        xfree(resp);
    xfree(body);
    if (id != NULL)
        snprintf(id, idlen, "%s:%s", platform, native);
    return st;
}

/* The n-th timeline event of event kind ev (0-based), borrowed. */
static json_t *
event(json_t *inc, const char *ev, size_t n)
{
    json_t *e;
    size_t i;

    json_array_foreach(json_object_get(inc, "timeline"), i, e) {
        const char *k = json_string_value(json_object_get(e, "event"));

        if (k != NULL && strcmp(k, ev) == 0 && n-- == 0)
            return e;
    }
    return NULL;
}

/* "who via a,b at T" of a page event, for comparing in one string. */
static char *
page_str(json_t *e)
{
    json_t *v;
    struct buf b;
    size_t i;

    if (e == NULL)
        return xstrdup("(none)");
    buf_init(&b, 1024);
    buf_printf(&b, "step %lld: %s via ", (long long)json_integer_value(
        json_object_get(e, "step")), json_string_value(json_object_get(e,
        "to")));
    json_array_foreach(json_object_get(e, "via"), i, v)
        buf_printf(&b, "%s%s", i ? "," : "", json_string_value(v));
    buf_printf(&b, " at %s", json_string_value(json_object_get(e, "at")));
    return buf_steal(&b);
}

#define CHECK_PAGE(inc, n, want) do {                                    \
        char *p_ = page_str(event((inc), "page", (n)));                  \
        int ok_ = strcmp(p_, (want)) == 0;                               \
        if (!ok_)                                                        \
            fprintf(stderr, "  %s:%d: page %d: \"%s\", want \"%s\"\n",   \
                __FILE__, __LINE__, (n), p_, (want));                    \
        xfree(p_);                                                       \
        CHECK(ok_);                                                      \
    } while (0)

/* A field of the JSON body of the i-th call under prefix, new. */
static char *
call_field(const char *prefix, size_t i, const char *key)
{
    char *body = fake_alerts_body(alerts, prefix, i), *v = NULL;
    json_t *j = body ? json_loads(body, 0, NULL) : NULL;
    json_t *f = json_object_get(j, key);

    if (json_is_string(f))
        v = xstrdup(json_string_value(f));
    xfree(body);
    json_decref(j);
    return v;
}

#define CHECK_FIELD(prefix, i, key, want) do {                           \
        char *v_ = call_field((prefix), (i), (key));                     \
        int ok_ = v_ != NULL && strcmp(v_, (want)) == 0;                 \
        if (!ok_)                                                        \
            fprintf(stderr, "  %s:%d: %s[%zu].%s = %s, want %s\n",        \
                __FILE__, __LINE__, (prefix), (size_t)(i), (key),        \
                v_ ? v_ : "(none)", (want));                             \
        xfree(v_);                                                       \
        CHECK(ok_);                                                      \
    } while (0)

/* Run inboxctl with token and args; *out its stdout, *code its status. */
static int
run_ctl(const struct it_daemon *d, const char *token,
    const char *const *args, char **out, int *code)
{
    int opipe[2], status, waited = 0;
    const char *argv[32];
    char url[64], chunk[4096];
    struct pollfd pfd;
    struct buf b;
    size_t n = 0;
    ssize_t r;
    pid_t pid;

    *out = NULL;
    argv[n++] = INBOXCTL_BIN;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d->port);
    if (pipe(opipe) == -1 || (pid = fork()) == -1)
        return -1;
    if (pid == 0) {
        dup2(opipe[1], STDOUT_FILENO);
        close(opipe[0]);
        close(opipe[1]);
        setenv("INBOXCTL_URL", url, 1);
        setenv("INBOXCTL_TOKEN", token, 1);
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(opipe[1]);
    buf_init(&b, 1u << 20);
    pfd.fd = opipe[0];
    pfd.events = POLLIN;
    for (;;) {
        if (poll(&pfd, 1, 100) > 0) {
            if ((r = read(opipe[0], chunk, sizeof(chunk))) <= 0)
                break;
            buf_append(&b, chunk, (size_t)r);
        } else if ((waited += 100) > 10000) {
            kill(pid, SIGKILL);
            break;
        }
    }
    close(opipe[0]);
    waitpid(pid, &status, 0);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (b.data == NULL)
        buf_puts(&b, "");
    *out = buf_steal(&b);
    return waited > 10000 ? -1 : 0;
}

/* A sanitizer build's daemon reports leaks and UB in its log at exit. */
static bool
sanitizer_clean(struct it_daemon *d)
{
    it_daemon_stop(d);
    if (it_log_contains(d, "Sanitizer") ||
        it_log_contains(d, "runtime error")) {
        fprintf(stderr, "  the daemon's sanitizer report:\n");
        it_log_dump(d);
        return false;
    }
    return true;
}

/* ---------------------------------------------------------------- tests */

/*
 * A week in Berlin. The rotation hands over daily at 09:00: Monday
 * alice, Tuesday bob, ..., Saturday carol, Sunday alice, but dave
 * covers Sunday 2026-03-29 (an override, midnight to midnight), and
 * from Monday 09:00 summer time (07:00 UTC) it is bob's turn.
 */
static int
test_week_berlin(void)
{
    char q1[128], q2[128], t1[128], path[256], *out = NULL, *v = NULL;
    json_t *inc = NULL;
    size_t tg0, pd0, slack0, hook0, dm0;
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1], want[128], *body = NULL;
    const char *const ctl_resolve[] = { "resolve-incident", "3", NULL };
    int rc = 0, code;
    long st;

    fake_alerts_clear(alerts);
    CHECK(set_clock(utc(2026, 3, 23, 8, 0)) == 0);

    /* Monday 13:00 Berlin: a question, first response due in an hour. */
    CHECK(set_clock(utc(2026, 3, 23, 12, 0)) == 0);
    CHECK(post(&da, "facebook", "1", "comment", "1_100", "en",
        "How do I reset my password? Where is the settings page?", q1,
        sizeof(q1)) == 202);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(utc(2026, 3, 23, 12, 44)) == 0);
    CHECK(open_incidents() == 0);
    CHECK(fake_alerts_count(alerts, NULL) == 0);
    /* 15 minutes before the breach: alice (on call) by Slack and
     * Telegram. */
    CHECK(set_clock(utc(2026, 3, 23, 12, 45)) == 0);
    CHECK(open_incidents() == 1);
    CHECK((inc = incident(1)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "kind")), "sla");
    CHECK_STR(json_string_value(json_object_get(inc, "severity")),
        "warning");
    CHECK_STR(json_string_value(json_object_get(inc, "item")), q1);
    CHECK_PAGE(inc, 0, "step 1: alice via slack,tg at "
        "2026-03-23T12:45:00.000Z");
    CHECK(fake_alerts_count(alerts, "/slack/") == 1);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == 1);
    CHECK_FIELD(TG_ALERTS, 0, "chat_id", "1001");
    CHECK((v = call_field("/slack/", 0, "text")) != NULL);
    CHECK_CONTAINS(v, "paging alice (step 1) <@U0ALICE>");
    XFREE(&v);
    json_decref(inc);
    /* Unanswered at 13:00: breached, and bob, the backup, by Telegram. */
    CHECK(set_clock(utc(2026, 3, 23, 12, 59)) == 0);
    CHECK(fake_alerts_count(alerts, NULL) == 2);
    CHECK(set_clock(utc(2026, 3, 23, 13, 0)) == 0);
    CHECK((inc = incident(1)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "severity")),
        "breached");
    CHECK(event(inc, "breached", 0) != NULL);
    CHECK_PAGE(inc, 1, "step 2: bob via tg at 2026-03-23T13:00:00.000Z");
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == 2);
    CHECK_FIELD(TG_ALERTS, 1, "chat_id", "1002");
    json_decref(inc);
    /* 13:15: the lead, erin, by PagerDuty and the signed webhook. */
    CHECK(set_clock(utc(2026, 3, 23, 13, 15)) == 0);
    CHECK((inc = incident(1)) != NULL);
    CHECK_PAGE(inc, 2, "step 3: erin via pd,hook at "
        "2026-03-23T13:15:00.000Z");
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == 1);
    CHECK_FIELD("/v2/enqueue", 0, "event_action", "trigger");
    CHECK_FIELD("/v2/enqueue", 0, "routing_key", "rk-1");
    CHECK_FIELD("/v2/enqueue", 0, "dedup_key", "inboxd-incident-1");
    CHECK(fake_alerts_count(alerts, "/hook") == 1);
    CHECK((body = fake_alerts_body(alerts, "/hook", 0)) != NULL);
    CHECK(crypto_hmac_sha256(HOOK_SECRET, strlen(HOOK_SECRET), body,
        strlen(body), mac) == 0);
    crypto_hex(mac, sizeof(mac), hex);
    snprintf(want, sizeof(want), "sha256=%s", hex);
    CHECK((v = fake_alerts_header(alerts, "/hook", 0,
        "X-Inboxd-Signature")) != NULL);
    CHECK_STR(v, want);
    XFREE(&v);
    XFREE(&body);
    json_decref(inc);
    inc = NULL;
    /* The ladder is done: nothing more at 14:00. */
    CHECK(set_clock(utc(2026, 3, 23, 14, 0)) == 0);
    CHECK(fake_alerts_count(alerts, NULL) == 5);

    /* alice answers: the incident closes by itself, and everyone paged
     * hears so (PagerDuty resolves its incident). */
    json_decref(api(&da, "POST", "/v1/claims", AGENT, "{}", &st));
    CHECK(st == 200);
    snprintf(path, sizeof(path), "/v1/items/%s/reply", q1);
    json_decref(api(&da, "POST", path, AGENT, "{\"text\":\"Settings, top "
        "right.\"}", &st));
    CHECK(st == 200);
    CHECK(set_clock(utc(2026, 3, 23, 14, 1)) == 0);
    CHECK(open_incidents() == 0);
    CHECK((inc = incident(1)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "state")),
        "resolved");
    CHECK_STR(json_string_value(json_object_get(inc, "resolved_by")),
        "inboxd");
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == 2);
    CHECK_FIELD("/v2/enqueue", 1, "event_action", "resolve");
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == 4);     /* alice, bob */
    CHECK(fake_alerts_count(alerts, "/slack/") == 2);
    CHECK(fake_alerts_count(alerts, "/hook") == 2);
    json_decref(inc);
    inc = NULL;

    /*
     * Friday 16:30 Berlin: half an hour of business time is left; the
     * rest runs on Monday, which starts at 09:00 summer time, 07:00 UTC:
     * the warning is due at 07:15 UTC, not 08:15.
     */
    CHECK(set_clock(utc(2026, 3, 27, 15, 30)) == 0);
    CHECK(post(&da, "facebook", "1", "comment", "1_200", "en",
        "Where can I find my invoice? How do I download it?", q2,
        sizeof(q2)) == 202);
    CHECK(wait_armed() == 0);

    /* Saturday 21:00 Berlin, closed: a DM gets the out-of-hours reply;
     * the same chat an hour later does not; in Russian it does, once. */
    dm0 = fake_platform_effects(fake, "reply");
    CHECK(set_clock(utc(2026, 3, 28, 20, 0)) == 0);
    CHECK(post(&da, "telegram", TG_BOT, "dm", "55", "en", "hello", NULL,
        0) == 202);
    CHECK(wait_armed() == 0);
    CHECK(fake_platform_wait_effects(fake, "reply", dm0 + 1, 5000) == 0);
    CHECK((v = fake_platform_effect(fake, "reply", dm0)) != NULL);
    CHECK_CONTAINS(v, "telegram reply 55_");
    CHECK_CONTAINS(v, "We are closed now and answer from 09:00.");
    XFREE(&v);
    CHECK(set_clock(utc(2026, 3, 28, 21, 0)) == 0);
    CHECK(post(&da, "telegram", TG_BOT, "dm", "55", "en", "anyone there",
        NULL, 0) == 202);
    CHECK(post(&da, "telegram", TG_BOT, "dm", "55", "ru", "Здравствуйте",
        NULL, 0) == 202);
    CHECK(post(&da, "telegram", TG_BOT, "dm", "55", "ru", "Алло", NULL,
        0) == 202);
    CHECK(wait_armed() == 0);
    CHECK(fake_platform_wait_effects(fake, "reply", dm0 + 2, 5000) == 0);
    sleep_ms(300);
    CHECK(fake_platform_effects(fake, "reply") == dm0 + 2);
    CHECK((v = fake_platform_effect(fake, "reply", dm0 + 1)) != NULL);
    CHECK_CONTAINS(v, "Мы сейчас закрыты");
    XFREE(&v);

    /* Sunday noon: a threat. dave covers the day: urgent policy, by
     * Telegram and PagerDuty; he acknowledges and the lead is spared. */
    CHECK(set_clock(utc(2026, 3, 29, 10, 0)) == 0);
    tg0 = fake_alerts_count(alerts, TG_ALERTS);
    pd0 = fake_alerts_count(alerts, "/v2/enqueue");
    CHECK(post(&da, "facebook", "1", "comment", "1_300", "en",
        "I know where you live, watch your back", t1, sizeof(t1)) == 202);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(utc(2026, 3, 29, 10, 1)) == 0);
    CHECK((inc = incident(2)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "kind")), "critical");
    CHECK_STR(json_string_value(json_object_get(inc, "item")), t1);
    CHECK_PAGE(inc, 0, "step 1: dave via tg,pd at "
        "2026-03-29T10:00:00.000Z");
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 1);
    CHECK_FIELD(TG_ALERTS, tg0, "chat_id", "1004");
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 1);
    json_decref(inc);
    inc = NULL;
    json_decref(api(&da, "POST", "/v1/incidents/2/ack", LEAD, NULL, &st));
    CHECK(st == 200);
    CHECK(wait_alerts_sent(5000) == 0);
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 2);
    CHECK_FIELD("/v2/enqueue", pd0 + 1, "event_action", "acknowledge");
    CHECK(set_clock(utc(2026, 3, 29, 10, 30)) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 2);  /* the ack */
    CHECK((inc = incident(2)) != NULL);
    CHECK(event(inc, "page", 1) == NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "acked_by")), "lena");
    json_decref(inc);
    inc = NULL;

    /* Monday 09:14 summer time: not yet; 09:15: the warning, to bob. */
    slack0 = fake_alerts_count(alerts, "/slack/");
    hook0 = fake_alerts_count(alerts, "/hook");
    CHECK(set_clock(utc(2026, 3, 30, 7, 14)) == 0);
    CHECK(open_incidents() == 1);         /* the acknowledged threat */
    CHECK(set_clock(utc(2026, 3, 30, 7, 15)) == 0);
    CHECK((inc = incident(3)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "item")), q2);
    /* Due 09:30 summer time, less the few ms the item was old. */
    CHECK_CONTAINS(json_string_value(json_object_get(inc, "due")),
        "2026-03-30T07:29:59.");
    CHECK_PAGE(inc, 0, "step 1: bob via slack,tg at "
        "2026-03-30T07:15:00.000Z");
    CHECK(fake_alerts_count(alerts, "/slack/") == slack0 + 1);
    CHECK_FIELD(TG_ALERTS, fake_alerts_count(alerts, TG_ALERTS) - 1,
        "chat_id", "1002");
    CHECK(run_ctl(&da, LEAD, ctl_resolve, &out, &code) == 0);
    CHECK(code == 0);
    CHECK_STR(out, "incident 3 resolved by lena\n");
    CHECK(wait_alerts_sent(5000) == 0);
    CHECK(fake_alerts_count(alerts, "/hook") == hook0);

    /* Monday night is another night: the same chat is answered again. */
    CHECK(set_clock(utc(2026, 3, 30, 20, 0)) == 0);
    CHECK(post(&da, "telegram", TG_BOT, "dm", "55", "en", "still there",
        NULL, 0) == 202);
    CHECK(wait_armed() == 0);
    CHECK(fake_platform_wait_effects(fake, "reply", dm0 + 3, 5000) == 0);
out:
    xfree(out);
    xfree(v);
    xfree(body);
    json_decref(inc);
    return rc;
}

/* The newest incident's id (they are numbered in order); -1: none. */
static int
newest_incident(void)
{
    long st;
    json_t *j = api(&da, "GET", "/v1/incidents", LEAD, NULL, &st), *v;
    size_t i;
    long best = -1, n;

    json_array_foreach(json_object_get(j, "incidents"), i, v) {
        if (util_parse_long(json_string_value(json_object_get(v, "id")), 0,
            1000000, &n) == 0 && n > best)
            best = n;
    }
    json_decref(j);
    return (int)best;
}

static long
resolve(int id)
{
    char path[64];
    long st;

    snprintf(path, sizeof(path), "/v1/incidents/%d/resolve", id);
    json_decref(api(&da, "POST", path, LEAD, NULL, &st));
    return st;
}

/* The on-call of team us, and its next, from GET /v1/oncall. */
static char *
us_oncall(void)
{
    long st;
    json_t *j = api(&da, "GET", "/v1/oncall", AGENT, NULL, &st), *t, *nx;
    struct buf b;
    size_t i;

    buf_init(&b, 1024);
    json_array_foreach(json_object_get(j, "teams"), i, t) {
        if (strcmp(json_string_value(json_object_get(t, "team")), "us") != 0)
            continue;
        nx = json_object_get(t, "next");
        buf_printf(&b, "%s until %s (%s), then %s",
            json_string_value(json_object_get(t, "oncall")),
            json_string_value(json_object_get(nx, "at")),
            json_string_value(json_object_get(nx, "local_time")),
            json_string_value(json_object_get(nx, "oncall")));
    }
    json_decref(j);
    if (b.data == NULL)
        buf_puts(&b, "(none)");
    return buf_steal(&b);
}

/*
 * New York falls back on Sunday 2026-11-01: 01:30 happens twice and the
 * weekly handover takes the first. An SLA of two business hours from
 * Friday 16:00 EDT runs out Monday 10:00 EST, 15:00 UTC (an hour later
 * in UTC than the same wall-clock time the Friday before).
 */
static int
test_new_york(void)
{
    char *s = NULL, q[128];
    json_t *inc = NULL;
    size_t tg0;
    int rc = 0, id;

    /* Friday 16:00 EDT: one business hour left today. */
    CHECK(set_clock(utc(2026, 10, 30, 20, 0)) == 0);
    CHECK(post(&da, "facebook", "us-page", "comment", "9_1", "en",
        "How do I change my shipping address? Can you help?", q,
        sizeof(q)) == 202);
    CHECK(wait_armed() == 0);
    tg0 = fake_alerts_count(alerts, TG_ALERTS);

    CHECK(set_clock(utc(2026, 11, 1, 5, 29)) == 0);
    CHECK((s = us_oncall()) != NULL);
    CHECK_STR(s, "yuri until 2026-11-01T05:30:00.000Z "
        "(2026-11-01T01:30:00-04:00), then xena");
    XFREE(&s);
    CHECK(set_clock(utc(2026, 11, 1, 5, 30)) == 0);
    CHECK((s = us_oncall()) != NULL);
    CHECK_STR(s, "xena until 2026-11-08T06:30:00.000Z "
        "(2026-11-08T01:30:00-05:00), then yuri");
    XFREE(&s);

    /* Monday 09:44 EST (14:44 UTC): not yet; 09:45: xena is paged. */
    CHECK(set_clock(utc(2026, 11, 2, 14, 44)) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0);
    CHECK(set_clock(utc(2026, 11, 2, 14, 45)) == 0);
    CHECK((id = newest_incident()) > 0);
    CHECK((inc = incident(id)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "team")), "us");
    CHECK_STR(json_string_value(json_object_get(inc, "item")), q);
    CHECK_PAGE(inc, 0, "step 1: xena via slack,tg at "
        "2026-11-02T14:45:00.000Z");
    CHECK_CONTAINS(json_string_value(json_object_get(inc, "due")),
        "2026-11-02T14:59:59.");
    /* xena has no chat of her own: the channel's chat. */
    CHECK_FIELD(TG_ALERTS, tg0, "chat_id", "-100");
    CHECK(resolve(id) == 200);
    CHECK(wait_alerts_sent(5000) == 0);
out:
    xfree(s);
    json_decref(inc);
    return rc;
}

/* The one open incident of kind, or -1. */
static int
open_of_kind(const char *kind, int *count)
{
    long st, n;
    json_t *j = api(&da, "GET", "/v1/incidents", LEAD, NULL, &st), *v;
    int id = -1;
    size_t i;

    *count = 0;
    json_array_foreach(json_object_get(j, "incidents"), i, v) {
        if (strcmp(json_string_value(json_object_get(v, "kind")), kind) != 0)
            continue;
        (*count)++;
        if (util_parse_long(json_string_value(json_object_get(v, "id")), 0,
            1000000, &n) == 0)
            id = (int)n;
    }
    json_decref(j);
    return id;
}

static int
pile_on(int n, int64_t *posted)
{
    const char *text = "You are idiots and morons, stupid scam";

    for (int i = 0; i < n; i++) {
        if (post(i % 2 ? &db : &da, "facebook", "1", "comment", "1_400",
            "en", text, NULL, 0) != 202)
            return -1;
        (*posted)++;
    }
    return 0;
}

/*
 * 200 abusive comments on one post, half to each of two inboxd
 * processes: one incident, one page per channel, the rest counted on
 * it. Once resolved, the same cause stays quiet for its hour.
 */
static int
test_surge(void)
{
    int64_t t = utc(2026, 11, 10, 10, 0), posted = 0;
    json_t *inc = NULL;
    size_t tg0, pd0;
    int rc = 0, id, count, id2;

    CHECK(start_daemon(&db) == 0);
    CHECK(set_clock(t) == 0);
    tg0 = fake_alerts_count(alerts, TG_ALERTS);
    pd0 = fake_alerts_count(alerts, "/v2/enqueue");
    CHECK(pile_on(200, &posted) == 0);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(t + M) == 0);
    CHECK((id = open_of_kind("surge", &count)) > 0);
    CHECK(count == 1);
    CHECK((inc = incident(id)) != NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "cause")),
        "surge:pile-on:facebook:1:1_400");
    CHECK(json_integer_value(json_object_get(inc, "triggers")) == 181);
    CHECK(event(inc, "page", 0) != NULL && event(inc, "page", 1) == NULL);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 1);
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 1);
    json_decref(inc);
    inc = NULL;
    CHECK(resolve(id) == 200);

    /* Quiet for an hour: 25 more open nothing. */
    CHECK(set_clock(t + 2 * M) == 0);
    CHECK(pile_on(25, &posted) == 0);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(t + 3 * M) == 0);
    CHECK(open_of_kind("surge", &count) == -1 && count == 0);
    CHECK((inc = incident(id)) != NULL);
    CHECK(json_integer_value(json_object_get(inc, "suppressed")) >= 1);
    json_decref(inc);
    inc = NULL;
    /* Two hours on, a new pile-on is a new incident. */
    CHECK(set_clock(t + 2 * H) == 0);
    CHECK(pile_on(20, &posted) == 0);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(t + 2 * H + M) == 0);
    CHECK((id2 = open_of_kind("surge", &count)) > id && count == 1);
    CHECK(resolve(id2) == 200);
    CHECK(wait_alerts_sent(5000) == 0);
    CHECK(sanitizer_clean(&db));
out:
    json_decref(inc);
    it_daemon_cleanup(&db);
    return rc;
}

/*
 * SIGKILL with a ladder half way: the new process pages step 2 once,
 * at its time, and never step 1 again; inboxctl ack stops the repeat.
 */
static int
test_restart(void)
{
    int64_t t = utc(2026, 11, 11, 10, 0);
    const char *ack[] = { "ack", NULL, NULL };
    char t1[128], ids[16], *out = NULL;
    json_t *inc = NULL;
    size_t tg0, pd0, all0;
    int rc = 0, id, code;

    CHECK(set_clock(t) == 0);
    all0 = fake_alerts_count(alerts, NULL);
    tg0 = fake_alerts_count(alerts, TG_ALERTS);
    pd0 = fake_alerts_count(alerts, "/v2/enqueue");
    CHECK(post(&da, "facebook", "1", "comment", "1_500", "en",
        "we will burn down your store", t1, sizeof(t1)) == 202);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(t + M) == 0);
    CHECK((id = newest_incident()) > 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 1);
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 1);

    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    it_daemon_cleanup(&da);
    CHECK(start_daemon(&da) == 0);
    CHECK(set_clock(t + 4 * M) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 1);
    CHECK(set_clock(t + 5 * M) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 2);
    CHECK_FIELD(TG_ALERTS, tg0 + 1, "chat_id", "1005");    /* erin */
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 1);
    /* Three calls in all: step 1 twice (Telegram, PagerDuty), step 2. */
    CHECK(set_clock(t + 6 * M) == 0);
    CHECK(fake_alerts_count(alerts, NULL) == all0 + 3);
    CHECK((inc = incident(id)) != NULL);
    CHECK(event(inc, "page", 1) != NULL && event(inc, "page", 2) == NULL);
    json_decref(inc);
    inc = NULL;

    snprintf(ids, sizeof(ids), "%d", id);
    ack[1] = ids;
    CHECK(run_ctl(&da, AGENT, ack, &out, &code) == 0);
    CHECK(code == 0);
    CHECK_CONTAINS(out, "acknowledged by alice");
    CHECK(wait_alerts_sent(5000) == 0);
    /* The acknowledgement reaches both people paged, and PagerDuty. */
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 4);
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 2);
    CHECK_FIELD("/v2/enqueue", pd0 + 1, "event_action", "acknowledge");
    /* The repeat was due at +15m: acknowledged, nothing comes. */
    CHECK(set_clock(t + 20 * M) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 4);
    CHECK((inc = incident(id)) != NULL);
    CHECK(event(inc, "page", 2) == NULL);
    CHECK_STR(json_string_value(json_object_get(inc, "state")), "acked");
    CHECK(resolve(id) == 200);
    CHECK(wait_alerts_sent(5000) == 0);
out:
    xfree(out);
    json_decref(inc);
    return rc;
}

/* A 429 with Retry-After waits that long; a 500 is retried; a 400 fails
 * for good and says so on the incident. */
static int
test_receiver_429(void)
{
    int64_t t = utc(2026, 11, 12, 10, 0);
    json_t *inc = NULL, *e;
    size_t tg0, pd0;
    int rc = 0, id;
    long st;
    char path[64];

    CHECK(set_clock(t) == 0);
    tg0 = fake_alerts_count(alerts, TG_ALERTS);
    pd0 = fake_alerts_count(alerts, "/v2/enqueue");
    fake_alerts_push(alerts, TG_ALERTS, 429, "{\"ok\":false,\"error_code\":"
        "429,\"description\":\"Too Many Requests: retry after 1\","
        "\"parameters\":{\"retry_after\":1}}", "Retry-After: 1");
    fake_alerts_push(alerts, "/v2/enqueue", 500, "{}", NULL);
    CHECK(post(&da, "facebook", "1", "comment", "1_600", "en",
        "i am going to hurt you", NULL, 0) == 202);
    CHECK(wait_armed() == 0);
    CHECK(set_clock(t + M) == 0);
    CHECK(fake_alerts_count(alerts, TG_ALERTS) == tg0 + 2);
    CHECK(fake_alerts_at(alerts, TG_ALERTS, tg0 + 1) -
        fake_alerts_at(alerts, TG_ALERTS, tg0) >= 950);
    CHECK(fake_alerts_count(alerts, "/v2/enqueue") == pd0 + 2);
    CHECK((id = newest_incident()) > 0);
    CHECK((inc = incident(id)) != NULL);
    CHECK(json_integer_value(json_object_get(inc, "alerts_sent")) == 2);
    CHECK(event(inc, "alert_failed", 0) == NULL);
    json_decref(inc);
    inc = NULL;

    fake_alerts_push(alerts, "/v2/enqueue", 400, "{\"status\":\"invalid "
        "event\"}", NULL);
    snprintf(path, sizeof(path), "/v1/incidents/%d/ack", id);
    json_decref(api(&da, "POST", path, LEAD, NULL, &st));
    CHECK(st == 200);
    CHECK(wait_alerts_sent(5000) == 0);
    CHECK((inc = incident(id)) != NULL);
    CHECK((e = event(inc, "alert_failed", 0)) != NULL);
    CHECK_STR(json_string_value(json_object_get(e, "channel")), "pd");
    CHECK_CONTAINS(json_string_value(json_object_get(e, "detail")),
        "HTTP 400");
    CHECK(resolve(id) == 200);
out:
    json_decref(inc);
    return rc;
}

static const struct check_case cases[] = {
    { "week_berlin", test_week_berlin },
    { "new_york", test_new_york },
    { "surge", test_surge },
    { "restart", test_restart },
    { "receiver_429", test_receiver_429 },
};

int
main(void)
{
    FILE *fp;
    int rc;

    alloc_init();
    snprintf(clock_dir, sizeof(clock_dir), "/tmp/inboxd-clock-XXXXXX");
    if (mkdtemp(clock_dir) == NULL)
        return 1;
    snprintf(clock_path, sizeof(clock_path), "%s/clock", clock_dir);
    if ((fp = fopen(clock_path, "w")) == NULL)
        return 1;
    fprintf(fp, "%lld\n", (long long)utc(2026, 3, 23, 8, 0));
    fclose(fp);
    if (it_redis_start(&redis) == -1 ||
        (fake = fake_platform_start()) == NULL ||
        (alerts = fake_alerts_start()) == NULL) {
        fprintf(stderr, "cannot start redis or the fakes\n");
        return 1;
    }
    fake_platform_telegram_token(fake, TG_TOKEN);
    if (start_daemon(&da) == -1) {
        it_log_dump(&da);
        return 1;
    }
    rc = check_run(cases, nitems(cases));
    if (!sanitizer_clean(&da)) {
        printf("FAIL the daemon's sanitizer report\n");
        rc = 1;
    }
    if (rc != 0)
        it_log_dump(&da);
    it_daemon_cleanup(&da);
    fake_alerts_stop(alerts);
    fake_platform_stop(fake);
    it_redis_cleanup(&redis);
    unlink(clock_path);
    rmdir(clock_dir);
    return rc;
}
