/*
 * Outbound actions end to end, against a real redis-server, real inboxd
 * processes and the fake platforms of tests/fakes/: a signed Meta webhook
 * with spam in it is stored, decided, hidden on the fake and audited; a
 * reply reaches the fake exactly once even when its first attempt timed
 * out (VK, idempotent) and is left uncertain, not re-sent, where the
 * platform cannot deduplicate (Telegram); 429 with Retry-After is
 * honoured; a permanent error shows on the item; undo and dry run; and a
 * daemon killed with a request in flight has its actions taken over.
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "fake_platform.h"
#include "fake_webhook.h"
#include "harness.h"
#include "util.h"

#define SAMPLES     PROJECT_DIR "/tests/data/platforms/"
#define PAGE        "137542570280222"
#define PAGE_DRY    "137542570280333"
#define META_SECRET "meta-app-secret"
#define VK_GROUP    "192764727"
#define TG_BOT      "123456789"
#define TG_TOKEN    TG_BOT ":AAactionsTOKEN"
#define IG_ACCOUNT  "17841405309211844"
#define YT_CHANNEL  "UCk1SpWNzOs4MYmr0uICEntg"
#define SPAM        "FREE MONEY!!! click here http://bit.ly/xyz crypto " \
    "giveaway, earn $5000 per day working from home"
#define LEAD        "lena-token"
#define AGENT       "alice-token"

static struct it_redis redis;
static struct it_daemon da;
static struct fake_platform *fake;
static atomic_int live_port;        /* da.port, for the agents' threads */

static const char *config_fmt =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "  - {name: bob, role: agent, token: bob-token}\n"
    "  - {name: lena, role: lead, token: lena-token}\n"
    "queues:\n"
    "  names: [general, moderation, desk]\n"
    "routes:\n"
    "  - {queue: moderation, category: [spam, abuse]}\n"
    "  - {queue: desk, platform: vk, kind: comment}\n"
    "moderation:\n"
    "  categories: [spam]\n"
    "actions:\n"
    "  interval: 50ms\n"
    "  timeout: 1s\n"
    "  backoff_min: 100ms\n"
    "  backoff_max: 400ms\n"
    "  max_attempts: 4\n"
    "platforms:\n"
    "  facebook: {api_base: \"@FAKE@/v21.0\"}\n"
    "  vk: {api_base: \"@FAKE@/method\"}\n"
    "  telegram: {api_base: \"@FAKE@\"}\n"
    "  instagram: {api_base: \"@FAKE@/v21.0\"}\n"
    "  youtube: {api_base: \"@FAKE@/youtube/v3\", poll_interval: 200ms}\n"
    "accounts:\n"
    "  - {platform: facebook, id: \"" PAGE "\", app_secret: " META_SECRET
    ", access_token: PAGE-TOK}\n"
    "  - {platform: facebook, id: \"" PAGE_DRY "\", app_secret: " META_SECRET
    ", access_token: PAGE-TOK, dry_run: true}\n"
    "  - {platform: vk, id: " VK_GROUP ", secret: vks, access_token: "
    "GROUP-TOK, user_token: USER-TOK}\n"
    "  - {platform: telegram, id: " TG_BOT ", bot_token: \"" TG_TOKEN
    "\", webhook_secret: tgs, moderate_action: delete}\n"
    "  - {platform: instagram, id: \"" IG_ACCOUNT "\", app_secret: "
    META_SECRET ", access_token: IG-TOK}\n"
    "  - {platform: youtube, id: " YT_CHANNEL ", oauth_token: YT-TOK}\n";

/* ------------------------------------------------------------- helpers */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    nanosleep(&ts, NULL);
}

static int
start_daemon(struct it_daemon *d)
{
    char *yaml = it_subst(config_fmt, "@FAKE@", fake_platform_url(fake));
    int rc = 0;

    memset(d, 0, sizeof(*d));
    if (yaml == NULL || it_daemon_start(d, yaml, &redis) == -1 ||
        it_daemon_wait_healthy(d, 10000) == -1)
        rc = -1;
    xfree(yaml);
    atomic_store(&live_port, d->port);
    return rc;
}

static json_t *
get_json(const char *method, const char *path, const char *token,
    const char *body, long *status)
{
    char *resp = NULL;
    json_t *j = NULL;

    if (it_http(&da, method, path, token, body, status, &resp, NULL) == 0) {
        j = json_loads(resp, 0, NULL);
        xfree(resp);
    }
    return j;
}

static long
post_item(const char *json)
{
    long st = 0;
    char *resp = NULL;

    if (it_http(&da, "POST", "/v1/items", "test-token", json, &st, &resp,
        NULL) == 0)
        xfree(resp);
    return st;
}

/* POST /v1/items/<id>/<action>; the action id it answers, new, or NULL. */
static char *
desk_act(const char *id, const char *action, const char *body,
    const char *token)
{
    char path[256];
    long st = 0;
    json_t *j;
    char *aid = NULL;

    snprintf(path, sizeof(path), "/v1/items/%s/%s", id, action);
    if ((j = get_json("POST", path, token, body ? body : "{}", &st)) !=
        NULL && st == 200 && json_string_value(json_object_get(j,
        "action_id")) != NULL)
        aid = xstrdup(json_string_value(json_object_get(j, "action_id")));
    json_decref(j);
    return aid;
}

/* Wait until the action's state is one of states ("done|failed"). */
static json_t *
wait_action(const char *aid, const char *states, int ms)
{
    char path[128], want[64], all[128];
    const char *st;
    json_t *j = NULL;
    long status;

    snprintf(path, sizeof(path), "/v1/actions/%s", aid);
    for (int waited = 0; waited <= ms; waited += 25) {
        json_decref(j);
        if ((j = get_json("GET", path, AGENT, NULL, &status)) != NULL &&
            (st = json_string_value(json_object_get(j, "state"))) != NULL) {
            snprintf(want, sizeof(want), "|%s|", st);
            snprintf(all, sizeof(all), "|%s|", states);
            if (strstr(all, want) != NULL)
                return j;
        }
        sleep_ms(25);
    }
    fprintf(stderr, "  action %s: state %s, wanted %s\n", aid,
        j ? json_string_value(json_object_get(j, "state")) : "?", states);
    return j;
}

static char *
hget(const char *key, const char *field)
{
    return it_redis_hget(&redis, key, field);
}

/* The newest audit entry for item with action name, as "k=v " text. */
static char *
audit_find(const char *item, const char *action)
{
    redisContext *c = it_redis_connect(&redis);
    redisReply *r;
    struct buf b;
    char *out = NULL;

    if (c == NULL)
        return NULL;
    r = redisCommand(c, "XREVRANGE inboxd:audit + - COUNT 1000");
    for (size_t i = 0; r != NULL && r->type == REDIS_REPLY_ARRAY &&
        i < r->elements && out == NULL; i++) {
        redisReply *f = r->element[i]->element[1];
        bool it = false, ac = false;

        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            it |= strcmp(f->element[k]->str, "item") == 0 &&
                strcmp(f->element[k + 1]->str, item) == 0;
            ac |= strcmp(f->element[k]->str, "action") == 0 &&
                strcmp(f->element[k + 1]->str, action) == 0;
        }
        if (!it || !ac)
            continue;
        buf_init(&b, 8192);
        for (size_t k = 0; k + 1 < f->elements; k += 2)
            buf_printf(&b, "%s=%s ", f->element[k]->str,
                f->element[k + 1]->str);
        out = buf_steal(&b);
    }
    if (r != NULL)
        freeReplyObject(r);
    redisFree(c);
    return out;
}

static char *
item_json(const char *platform, const char *native, const char *kind,
    const char *account, const char *conv, const char *text)
{
    json_t *j = json_pack("{s:s,s:s,s:s,s:{s:s},s:{s:s,s:s},s:s,s:i}",
        "platform", platform, "native_id", native, "kind", kind,
        "account", "id", account, "author", "id", "77", "name", "Jane",
        "text", text, "created_at", 1795426800);
    char *s;

    if (conv != NULL)
        json_object_set_new(j, "conversation", json_string(conv));
    s = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    return s;
}

/* A Meta feed webhook with one comment on page, written by a customer. */
static char *
feed_webhook(const char *page, const char *comment_id, const char *text)
{
    json_t *j = json_pack("{s:s,s:[{s:s,s:i,s:[{s:s,s:{s:{s:s,s:s},s:s,"
        "s:s,s:s,s:s,s:s,s:s,s:i}}]}]}",
        "object", "page", "entry", "id", page, "time", 1795426800,
        "changes", "field", "feed", "value", "from", "id", "1440971912666228",
        "name", "Jane Roe", "item", "comment", "comment_id", comment_id,
        "post_id", "137542570280222_139560936744456", "parent_id",
        "137542570280222_139560936744456", "verb", "add", "message", text,
        "created_time", 1795426800);
    char *s = json_dumps(j, JSON_COMPACT);

    json_decref(j);
    return s;
}

/* ---------------------------------------------------------------- tests */

/* Webhook in -> stored -> decided spam -> hide at the fake -> audited. */
static int
test_auto_hide_from_webhook(void)
{
    char url[256], *body = NULL, *resp = NULL, *audit = NULL, *v = NULL;
    char *e = NULL;
    long st = 0;
    int rc = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/meta", da.port);
    body = feed_webhook(PAGE, "139560936755999_1001", SPAM);
    CHECK(fake_webhook_meta(url, META_SECRET, body, &st, &resp) == 0);
    CHECK(st == 200);
    CHECK(fake_platform_wait_effects(fake, "hide", 1, 5000) == 0);
    CHECK((e = fake_platform_effect(fake, "hide", 0)) != NULL);
    CHECK_STR(e, "facebook hide 139560936755999_1001");
    /* The Page token went as a bearer token, never in the URL. */
    CHECK((v = fake_platform_header(fake, "/v21.0/139560936755999_1001", 0,
        "Authorization")) != NULL);
    CHECK_STR(v, "Bearer PAGE-TOK");
    for (int i = 0; i < 100 && audit == NULL; i++) {
        audit = audit_find("facebook:139560936755999_1001", "action_done");
        if (audit == NULL)
            sleep_ms(20);
    }
    CHECK(audit != NULL);
    CHECK_CONTAINS(audit, "by=rules:en.spam.");
    CHECK_CONTAINS(audit, "type=hide");
    CHECK_CONTAINS(audit, "status=200");
    CHECK_CONTAINS(audit, "request=POST /139560936755999_1001 is_hidden=true");
    CHECK_CONTAINS(audit, "undo=unhide");
    XFREE(&v);
    CHECK((v = hget("inboxd:item:facebook:139560936755999_1001", "hidden"))
        != NULL);
    CHECK_STR(v, "1");
    /* Hidden by the rules: out of the responders' queue, reopenable. */
    XFREE(&v);
    CHECK((v = hget("inboxd:item:facebook:139560936755999_1001", "state"))
        != NULL);
    CHECK_STR(v, "resolved");
    XFREE(&v);
    CHECK((v = hget("inboxd:item:facebook:139560936755999_1001",
        "resolved_by")) != NULL);
    CHECK_STR(v, "rules");
out:
    xfree(body);
    xfree(resp);
    xfree(audit);
    xfree(v);
    xfree(e);
    return rc;
}

/*
 * Every connector end to end: its own way in (a signed webhook, or a
 * poll), the rules decide spam, and the fake receives the account's
 * moderation call: VK deletes (it has no hidden state), Telegram deletes
 * (moderate_action: delete), Instagram hides, YouTube holds for review.
 */
static int
test_each_platform_moderates(void)
{
    char url[256], *body = NULL, *resp = NULL, *e = NULL;
    long st = 0;
    json_t *j = NULL;
    int rc = 0;

    /* VK Callback API: wall_reply_new with the community's secret. */
    j = json_pack("{s:i,s:s,s:s,s:s,s:{s:i,s:i,s:i,s:i,s:[],s:i,s:s},s:s}",
        "group_id", 192764727, "type", "wall_reply_new", "event_id",
        "5e7f3c1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f01", "v", "5.199", "object",
        "id", 9312, "from_id", 499047616, "post_id", 310, "owner_id",
        -192764727, "parents_stack", "date", 1795426800, "text", SPAM,
        "secret", "vks");
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/vk", da.port);
    CHECK(fake_webhook_vk(url, body, 0, &st, &resp) == 0);
    CHECK(st == 200);
    CHECK_STR(resp, "ok");
    XFREE(&body);
    XFREE(&resp);

    /* Telegram webhook: a supergroup message, with the secret token. */
    j = json_pack("{s:i,s:{s:i,s:{s:i,s:b,s:s},s:{s:I,s:s,s:s},s:i,s:s}}",
        "update_id", 700001, "message", "message_id", 91, "from", "id", 555,
        "is_bot", 0, "first_name", "Promo", "chat", "id",
        (json_int_t)-1009999, "type", "supergroup", "title", "Fans", "date",
        1795426800, "text", SPAM);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/telegram/"
        TG_BOT, da.port);
    CHECK(fake_webhook_telegram(url, "tgs", body, &st, &resp) == 0);
    CHECK(st == 200);
    XFREE(&body);
    XFREE(&resp);

    /* Instagram comments webhook, signed like Meta's. */
    j = json_pack("{s:s,s:[{s:s,s:i,s:[{s:s,s:{s:{s:s,s:s},s:{s:s,s:s},"
        "s:s,s:s}}]}]}", "object", "instagram", "entry", "id", IG_ACCOUNT,
        "time", 1795426800, "changes", "field", "comments", "value", "from",
        "id", "7012345678909999", "username", "promo_acc", "media", "id",
        "17999888777666555", "media_product_type", "FEED", "id",
        "18034567890129999", "text", SPAM);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/meta", da.port);
    CHECK(fake_webhook_meta(url, META_SECRET, body, &st, &resp) == 0);
    CHECK(st == 200);
    XFREE(&body);
    XFREE(&resp);

    /* YouTube: the channel's next poll lists a new comment. */
    j = json_pack("{s:s,s:[{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s,s:{s:s,s:s,s:s,"
        "s:s,s:s,s:{s:s},s:s,s:s}},s:i}}]}", "kind",
        "youtube#commentThreadListResponse", "items", "kind",
        "youtube#commentThread", "id", "UgySpamThread01", "snippet",
        "channelId", YT_CHANNEL, "videoId", "dQw4w9WgXcQ", "topLevelComment",
        "kind", "youtube#comment", "id", "UgySpamThread01", "snippet",
        "channelId", YT_CHANNEL, "videoId", "dQw4w9WgXcQ", "textDisplay", SPAM,
        "textOriginal", SPAM, "authorDisplayName", "@promo",
        "authorChannelId", "value", "UCpromo0000000000000000", "publishedAt",
        "2026-11-23T10:00:00Z", "updatedAt", "2026-11-23T10:00:00Z",
        "totalReplyCount", 0);
    body = json_dumps(j, JSON_COMPACT);
    json_decref(j);
    fake_platform_push(fake, "/youtube/v3/commentThreads", 200, body, NULL);
    XFREE(&body);

    CHECK(fake_platform_wait_effects(fake, "moderate", 1, 8000) == 0);
    CHECK((e = fake_platform_effect(fake, "moderate", 0)) != NULL);
    CHECK_STR(e, "youtube moderate UgySpamThread01:heldForReview");
    XFREE(&e);
    CHECK(fake_platform_wait_effects(fake, "delete", 2, 5000) == 0);
    for (size_t i = 0; i < fake_platform_effects(fake, "delete"); i++) {
        CHECK((e = fake_platform_effect(fake, "delete", i)) != NULL);
        CHECK(strcmp(e, "vk delete -192764727_9312") == 0 ||
            strcmp(e, "telegram delete -1009999_91") == 0);
        XFREE(&e);
    }
    CHECK(fake_platform_wait_effects(fake, "hide", 2, 5000) == 0);
    CHECK((e = fake_platform_effect(fake, "hide", 1)) != NULL);
    CHECK_STR(e, "instagram hide 18034567890129999");
    XFREE(&e);
    /* VK's moderation calls take the moderator's user token. */
    CHECK((e = fake_platform_body(fake, "/method/wall.deleteComment", 0)) !=
        NULL);
    CHECK_CONTAINS(e, "access_token=USER-TOK");
out:
    xfree(body);
    xfree(resp);
    xfree(e);
    return rc;
}

/* An account in dry run: the action is recorded with its request; no call. */
static int
test_dry_run(void)
{
    char url[256], *body = NULL, *resp = NULL, *aid = NULL;
    json_t *a = NULL;
    long st = 0;
    int rc = 0;

    snprintf(url, sizeof(url), "http://127.0.0.1:%d/webhooks/meta", da.port);
    body = feed_webhook(PAGE_DRY, "139560936755999_2002", SPAM);
    CHECK(fake_webhook_meta(url, META_SECRET, body, &st, &resp) == 0);
    CHECK(st == 200);
    for (int i = 0; i < 200 && aid == NULL; i++) {
        aid = hget("inboxd:item:facebook:139560936755999_2002",
            "last_action");
        if (aid == NULL)
            sleep_ms(20);
    }
    CHECK(aid != NULL);
    CHECK((a = wait_action(aid, "dry_run", 3000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "dry_run");
    CHECK(json_is_true(json_object_get(a, "dry_run")));
    CHECK_STR(json_string_value(json_object_get(a, "request")),
        "POST /139560936755999_2002 is_hidden=true");
    CHECK(fake_platform_count(fake, "/v21.0/139560936755999_2002") == 0);
    /* Nothing was done, so it stays for the responders. */
    xfree(aid);
    CHECK((aid = hget("inboxd:item:facebook:139560936755999_2002", "state"))
        != NULL);
    CHECK_STR(aid, "queued");
out:
    json_decref(a);
    xfree(body);
    xfree(resp);
    xfree(aid);
    return rc;
}

/*
 * A VK DM reply whose first attempt times out (the fake sends it, then
 * answers too late): retried with the same random_id, and VK (the fake)
 * sends one message.
 */
static int
test_vk_reply_exactly_once(void)
{
    const char *id = "vk:" VK_GROUP "_326596496_5";
    char *item = item_json("vk", VK_GROUP "_326596496_5", "dm", VK_GROUP,
        "326596496", "Where is my parcel?");
    char *aid = NULL, *b0 = NULL, *b1 = NULL, *e = NULL;
    json_t *a = NULL;
    int rc = 0;

    CHECK(post_item(item) == 202);
    fake_platform_delay(fake, "/method/messages.send", 1600);
    CHECK((aid = desk_act(id, "reply", "{\"text\":\"On its way!\"}", AGENT))
        != NULL);
    CHECK((a = wait_action(aid, "done|failed|uncertain", 8000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "done");
    CHECK(json_integer_value(json_object_get(a, "attempts")) == 2);
    CHECK(fake_platform_count(fake, "/method/messages.send") == 2);
    CHECK(fake_platform_effects(fake, "dm") == 1);
    CHECK((e = fake_platform_effect(fake, "dm", 0)) != NULL);
    CHECK_CONTAINS(e, "On its way!");
    /* Both attempts carried the same random_id. */
    CHECK((b0 = fake_platform_body(fake, "/method/messages.send", 0)) !=
        NULL);
    CHECK((b1 = fake_platform_body(fake, "/method/messages.send", 1)) !=
        NULL);
    CHECK_STR(b0, b1);
    CHECK_CONTAINS(b0, "random_id=");
out:
    json_decref(a);
    xfree(item);
    xfree(aid);
    xfree(b0);
    xfree(b1);
    xfree(e);
    return rc;
}

/*
 * Telegram cannot deduplicate a send: a reply whose answer never came is
 * uncertain, shown on the item, and not sent again until a lead says so.
 */
static int
test_telegram_reply_uncertain(void)
{
    const char *id = "telegram:-1001234_77";
    const char *send = "/bot" TG_TOKEN "/sendMessage";
    char *item = item_json("telegram", "-1001234_77", "comment", TG_BOT,
        "-1001234", "Is the shop open today?");
    char *aid = NULL, *v = NULL, path[128];
    json_t *a = NULL, *r = NULL;
    long st;
    int rc = 0;

    CHECK(post_item(item) == 202);
    fake_platform_delay(fake, send, 1600);
    CHECK((aid = desk_act(id, "reply", "{\"text\":\"Yes, until 8pm\"}",
        AGENT)) != NULL);
    CHECK((a = wait_action(aid, "done|failed|uncertain", 6000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "uncertain");
    CHECK_CONTAINS(json_string_value(json_object_get(a, "detail")),
        "no answer");
    sleep_ms(1500);
    CHECK(fake_platform_count(fake, send) == 1);
    CHECK(fake_platform_effects(fake, "reply") == 1);
    CHECK((v = hget("inboxd:item:telegram:-1001234_77", "actions_failed")) !=
        NULL);
    CHECK_STR(v, "1");
    /* Agents may not force it; a lead who checked the chat may. */
    snprintf(path, sizeof(path), "/v1/actions/%s/retry", aid);
    r = get_json("POST", path, AGENT, NULL, &st);
    CHECK(st == 403);
    json_decref(r);
    r = get_json("POST", path, LEAD, NULL, &st);
    CHECK(st == 200);
    json_decref(a);
    CHECK((a = wait_action(aid, "done", 4000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "done");
    CHECK(fake_platform_count(fake, send) == 2);
out:
    json_decref(a);
    json_decref(r);
    xfree(item);
    xfree(aid);
    xfree(v);
    return rc;
}

/* 429 with Retry-After: the next attempt waits at least that long. */
static int
test_rate_limit_retry_after(void)
{
    const char *native = "139560936755999_3003";
    const char *path = "/v21.0/139560936755999_3003";
    char *item = item_json("facebook", native, "comment", PAGE, NULL,
        "Nice post");
    char *aid = NULL;
    json_t *a = NULL;
    int64_t t0, t1;
    int rc = 0;

    CHECK(post_item(item) == 202);
    fake_platform_push(fake, path, 429, "{\"error\":{\"message\":\"(#613) "
        "Calls to this api have exceeded the rate limit.\",\"type\":"
        "\"OAuthException\",\"code\":613}}", "Retry-After: 1");
    CHECK((aid = desk_act("facebook:139560936755999_3003", "hide", NULL,
        AGENT)) != NULL);
    CHECK((a = wait_action(aid, "done|failed", 6000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "done");
    CHECK(json_integer_value(json_object_get(a, "attempts")) == 2);
    CHECK(fake_platform_count(fake, path) == 2);
    xfree(fake_platform_uri(fake, path, 0, &t0));
    xfree(fake_platform_uri(fake, path, 1, &t1));
    CHECK(t1 - t0 >= 950);
out:
    json_decref(a);
    xfree(item);
    xfree(aid);
    return rc;
}

/* A permanent error: failed at once, on the item and in /metrics. */
static int
test_permanent_failure(void)
{
    const char *path = "/v21.0/139560936755999_4004";
    char *item = item_json("facebook", "139560936755999_4004", "comment",
        PAGE, NULL, "Hello");
    char *aid = NULL, *v = NULL, *metrics = NULL;
    json_t *a = NULL;
    long st;
    int rc = 0;

    CHECK(post_item(item) == 202);
    fake_platform_push(fake, path, 400, "{\"error\":{\"message\":\"Invalid "
        "OAuth access token.\",\"type\":\"OAuthException\",\"code\":190}}",
        NULL);
    CHECK((aid = desk_act("facebook:139560936755999_4004", "hide", NULL,
        AGENT)) != NULL);
    CHECK((a = wait_action(aid, "done|failed", 4000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "failed");
    CHECK(json_integer_value(json_object_get(a, "attempts")) == 1);
    CHECK_CONTAINS(json_string_value(json_object_get(a, "detail")),
        "190: Invalid OAuth access token.");
    CHECK((v = hget("inboxd:item:facebook:139560936755999_4004",
        "last_action_state")) != NULL);
    CHECK_STR(v, "failed");
    CHECK(it_http(&da, "GET", "/metrics", NULL, NULL, &st, &metrics, NULL)
        == 0 && st == 200);
    CHECK_CONTAINS(metrics, "inboxd_actions_total{platform=\"facebook\","
        "result=\"failed\"}");
out:
    json_decref(a);
    xfree(item);
    xfree(aid);
    xfree(v);
    xfree(metrics);
    return rc;
}

/* inboxctl's output for args (after -s and -t), new, or NULL. */
static char *
ctl(const char *args)
{
    char cmd[512];
    struct buf out;
    size_t n;
    FILE *p;

    snprintf(cmd, sizeof(cmd), "%s -s http://127.0.0.1:%d -t %s %s 2>&1",
        INBOXCTL_BIN, da.port, AGENT, args);
    if ((p = popen(cmd, "r")) == NULL)
        return NULL;
    buf_init(&out, 1 << 16);
    buf_puts(&out, "");
    while ((n = fread(cmd, 1, sizeof(cmd), p)) > 0)
        buf_append(&out, cmd, n);
    pclose(p);
    return buf_steal(&out);
}

/* Undo of a done hide is one call, and unhides at the fake. */
static int
test_undo(void)
{
    char *item = item_json("facebook", "139560936755999_5005", "comment",
        PAGE, NULL, "Meh");
    char *aid = NULL, *e = NULL, *out = NULL, path[128];
    const char *uid;
    json_t *a = NULL, *u = NULL, *again = NULL;
    size_t before = fake_platform_effects(fake, "unhide");
    long st;
    int rc = 0;

    CHECK(post_item(item) == 202);
    CHECK((aid = desk_act("facebook:139560936755999_5005", "hide", NULL,
        AGENT)) != NULL);
    CHECK((a = wait_action(aid, "done", 4000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "undo")), "unhide");
    snprintf(path, sizeof(path), "action %s", aid);
    CHECK((out = ctl(path)) != NULL);
    CHECK_CONTAINS(out, "state     done\n");
    CHECK_CONTAINS(out, "request   POST /139560936755999_5005 is_hidden=true");
    CHECK_CONTAINS(out, "(unhide)");
    snprintf(path, sizeof(path), "/v1/actions/%s/undo", aid);
    CHECK((u = get_json("POST", path, AGENT, NULL, &st)) != NULL);
    CHECK(st == 200);
    CHECK((uid = json_string_value(json_object_get(u, "action_id"))) !=
        NULL);
    CHECK(fake_platform_wait_effects(fake, "unhide", before + 1, 4000) == 0);
    CHECK((e = fake_platform_effect(fake, "unhide", before)) != NULL);
    CHECK_STR(e, "facebook unhide 139560936755999_5005");
    again = get_json("POST", path, AGENT, NULL, &st);
    CHECK(st == 409);
    CHECK_STR(json_string_value(json_object_get(json_object_get(again,
        "error"), "code")), "already_undone");
out:
    json_decref(a);
    json_decref(u);
    json_decref(again);
    xfree(item);
    xfree(aid);
    xfree(e);
    xfree(out);
    return rc;
}

/*
 * SIGKILL with a hide and a reply in flight: a new process takes both
 * over once their leases end; the hide is sent again (harmless), the
 * reply is left uncertain, never sent twice.
 */
static int
test_killed_mid_request(void)
{
    const char *fb = "/v21.0/139560936755999_6006";
    const char *send = "/bot" TG_TOKEN "/sendMessage";
    char *i1 = item_json("facebook", "139560936755999_6006", "comment", PAGE,
        NULL, "Hmm");
    char *i2 = item_json("telegram", "-1001234_88", "comment", TG_BOT,
        "-1001234", "Hello?");
    char *hide = NULL, *reply = NULL;
    size_t sends = fake_platform_count(fake, send);
    json_t *a = NULL, *b = NULL;
    int rc = 0;

    CHECK(post_item(i1) == 202);
    CHECK(post_item(i2) == 202);
    fake_platform_delay(fake, fb, 5000);
    fake_platform_delay(fake, send, 5000);
    CHECK((hide = desk_act("facebook:139560936755999_6006", "hide", NULL,
        AGENT)) != NULL);
    CHECK((reply = desk_act("telegram:-1001234_88", "reply",
        "{\"text\":\"Hi!\"}", AGENT)) != NULL);
    CHECK(fake_platform_wait(fake, fb, 1, 3000) == 0);
    CHECK(fake_platform_wait(fake, send, sends + 1, 3000) == 0);
    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    it_daemon_cleanup(&da);
    CHECK(start_daemon(&da) == 0);
    CHECK((a = wait_action(hide, "done", 8000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(a, "state")), "done");
    CHECK(json_integer_value(json_object_get(a, "attempts")) == 2);
    CHECK((b = wait_action(reply, "uncertain", 8000)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "state")), "uncertain");
    CHECK_CONTAINS(json_string_value(json_object_get(b, "detail")),
        "stopped before the platform answered");
    CHECK(fake_platform_count(fake, send) == sends + 1);
out:
    json_decref(a);
    json_decref(b);
    xfree(i1);
    xfree(i2);
    xfree(hide);
    xfree(reply);
    return rc;
}

/* ------------------------------------------- two agents, one restart */

#define AGENTS_ITEMS    30

static atomic_int answered;         /* replies the desk accepted */

/* One request to the live daemon from an agent's thread. */
static json_t *
agent_call(const char *method, const char *path, const char *token,
    const char *body, long *st)
{
    struct it_daemon d;
    char *resp = NULL;
    json_t *j = NULL;

    memset(&d, 0, sizeof(d));
    d.port = atomic_load(&live_port);
    *st = 0;
    if (it_http(&d, method, path, token, body, st, &resp, NULL) == 0) {
        j = json_loads(resp != NULL ? resp : "", 0, NULL);
        xfree(resp);
    }
    return j;
}

/* Reply to id; 0 when the desk took it (or it is already answered). */
static int
agent_reply(const char *token, const char *id)
{
    char path[256], body[256];
    json_t *j;
    long st;

    snprintf(path, sizeof(path), "/v1/items/%s/reply", id);
    snprintf(body, sizeof(body), "{\"text\":\"Answer to %s\"}", id);
    j = agent_call("POST", path, token, body, &st);
    json_decref(j);
    if (st == 200)
        atomic_fetch_add(&answered, 1);
    return st == 200 ? 0 : -1;
}

/*
 * An agent: claim, answer, repeat, like a person at the desk. After any
 * failure (the daemon died under it) it looks at what it holds and
 * answers that first, as the CLI's "mine" would show it.
 */
static void *
agent(void *arg)
{
    const char *token = arg;
    json_t *j, *v;
    size_t i;
    long st;
    int idle = 0;

    while (idle < 3) {
        j = agent_call("GET", "/v1/claims", token, NULL, &st);
        json_array_foreach(json_object_get(j, "items"), i, v) {
            if (strcmp(json_string_value(json_object_get(v, "state")),
                "claimed") == 0)
                agent_reply(token, json_string_value(json_object_get(v,
                    "id")));
        }
        json_decref(j);
        j = agent_call("POST", "/v1/claims", token,
            "{\"queues\":[\"desk\"]}", &st);
        if (st == 200)
            agent_reply(token, json_string_value(json_object_get(j, "id")));
        idle = st == 204 ? idle + 1 : 0;
        if (st != 200)
            sleep_ms(50);
        json_decref(j);
    }
    return NULL;
}

/* Each of the items answered on the desk, and replied to once at the fake. */
static int
check_answered_once(size_t before)
{
    int per[AGENTS_ITEMS] = { 0 }, n, rc = 0;
    char key[128], *e = NULL, *st = NULL;

    CHECK(fake_platform_wait_effects(fake, "reply", before + AGENTS_ITEMS,
        8000) == 0);
    sleep_ms(500);
    CHECK(fake_platform_effects(fake, "reply") == before + AGENTS_ITEMS);
    for (size_t i = before; i < fake_platform_effects(fake, "reply"); i++) {
        CHECK((e = fake_platform_effect(fake, "reply", i)) != NULL);
        if (sscanf(e, "vk reply -" VK_GROUP "_%d", &n) == 1 && n >= 700 &&
            n < 700 + AGENTS_ITEMS)
            per[n - 700]++;
        XFREE(&e);
    }
    for (int i = 0; i < AGENTS_ITEMS; i++) {
        CHECK(per[i] == 1);
        /* A reply whose HTTP answer the kill cut off counts too. */
        snprintf(key, sizeof(key), "inboxd:item:vk:-" VK_GROUP "_%d",
            700 + i);
        CHECK((st = hget(key, "state")) != NULL);
        CHECK_STR(st, "answered");
        XFREE(&st);
    }
out:
    xfree(e);
    xfree(st);
    return rc;
}

/*
 * Two agents work one queue while inboxd is killed with SIGKILL and
 * restarted: every item is answered, and each reply reaches the platform
 * exactly once.
 */
static int
test_two_agents_and_a_restart(void)
{
    char native[64], *item;
    size_t before = fake_platform_effects(fake, "reply");
    pthread_t a, b;
    bool ta = false, tb = false;
    int rc = 0;

    for (int i = 0; i < AGENTS_ITEMS; i++) {
        snprintf(native, sizeof(native), "-" VK_GROUP "_%d", 700 + i);
        item = item_json("vk", native, "comment", VK_GROUP,
            "-" VK_GROUP "_500", "When does the shop open on Sunday?");
        CHECK(post_item(item) == 202);
        xfree(item);
    }
    CHECK(pthread_create(&a, NULL, agent, (void *)(uintptr_t)AGENT) == 0);
    ta = true;
    CHECK(pthread_create(&b, NULL, agent, (void *)(uintptr_t)"bob-token") ==
        0);
    tb = true;
    for (int i = 0; i < 500 && atomic_load(&answered) < AGENTS_ITEMS / 3;
        i++)
        sleep_ms(10);
    CHECK(it_daemon_signal(&da, SIGKILL) == 0);
    CHECK(it_daemon_wait(&da, 5000, NULL) == 0);
    it_daemon_cleanup(&da);
    CHECK(start_daemon(&da) == 0);
out:
    if (ta)
        pthread_join(a, NULL);
    if (tb)
        pthread_join(b, NULL);
    return rc == 0 ? check_answered_once(before) : rc;
}

static const struct check_case cases[] = {
    { "auto_hide_from_webhook", test_auto_hide_from_webhook },
    { "each_platform_moderates", test_each_platform_moderates },
    { "dry_run", test_dry_run },
    { "vk_reply_exactly_once", test_vk_reply_exactly_once },
    { "telegram_reply_uncertain", test_telegram_reply_uncertain },
    { "rate_limit_retry_after", test_rate_limit_retry_after },
    { "permanent_failure", test_permanent_failure },
    { "undo", test_undo },
    { "killed_mid_request", test_killed_mid_request },
    { "two_agents_and_a_restart", test_two_agents_and_a_restart },
};

int
main(void)
{
    int rc;

    alloc_init();
    if (it_redis_start(&redis) == -1 ||
        (fake = fake_platform_start()) == NULL) {
        fprintf(stderr, "cannot start redis or the fake platform\n");
        return 1;
    }
    fake_platform_telegram_token(fake, TG_TOKEN);
    if (start_daemon(&da) == -1) {
        it_log_dump(&da);
        return 1;
    }
    rc = check_run(cases, nitems(cases));
    if (rc != 0)
        it_log_dump(&da);
    it_daemon_cleanup(&da);
    fake_platform_stop(fake);
    it_redis_cleanup(&redis);
    return rc;
}
