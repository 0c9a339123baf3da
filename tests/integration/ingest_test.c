/*
 * Ingest end to end: a real redis-server and a real inboxd on loopback.
 * Post items over HTTP, read them back from Redis with hiredis, and check
 * every refusal the API documents.
 */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "harness.h"

static struct it_redis redis;
static struct it_daemon daemon_;

static const char *config_yaml =
    "listen: 127.0.0.1:{{port}}\n"
    "http:\n"
    "  max_body: 64KiB\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - name: ingest\n"
    "    role: ingest\n"
    "    token_env: INBOXD_TOKEN\n"
    "  - name: alice\n"
    "    role: agent\n"
    "    token: agent-token\n"
    "queues:\n"
    "  names: [general, moderation, sales, support]\n"
    "routes:\n"
    "  - queue: moderation\n"
    "    category: [spam, abuse]\n"
    "  - queue: sales\n"
    "    category: lead\n"
    "  - queue: support\n"
    "    category: question\n";

#define TOKEN "test-token"

static char *
item_body(const char *native_id, const char *text)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s},s:s,s:{s:s,s:s},s:s,s:s}",
        "platform", "facebook", "native_id", native_id, "kind", "comment",
        "account", "id", "1234567890", "conversation", "1234567890_1",
        "author", "id", "42", "name", "Jane", "text", text,
        "created_at", "2026-11-23T09:40:00Z");
    char *s = json_dumps(o, JSON_COMPACT);

    json_decref(o);
    return s;
}

/* POST an item; returns the HTTP status and fills *resp (parsed JSON). */
static long
post(const char *token, const char *body, json_t **resp, char **headers)
{
    char *raw = NULL;
    long status = 0;

    if (it_http(&daemon_, "POST", "/v1/items", token, body, &status, &raw,
        headers) == -1)
        return -1;
    if (resp != NULL)
        *resp = raw ? json_loads(raw, 0, NULL) : NULL;
    xfree(raw);
    return status;
}

static int
test_store_and_read_back(void)
{
    redisContext *c = it_redis_connect(&redis);
    char *body = item_body("100_200", "Thanks, the package arrived today");
    json_t *resp = NULL, *stored = NULL;
    redisReply *r = NULL;
    int rc = 0;

    CHECK(c != NULL);
    CHECK(post(TOKEN, body, &resp, NULL) == 202);
    CHECK_STR(json_string_value(json_object_get(resp, "id")),
        "facebook:100_200");
    CHECK_STR(json_string_value(json_object_get(resp, "status")), "queued");
    CHECK_STR(json_string_value(json_object_get(resp, "queue")), "general");
    CHECK(json_string_value(json_object_get(resp, "stream_id")) != NULL);

    /* The item is stored once, as JSON, in its hash. */
    r = redisCommand(c, "HGET inboxd:item:facebook:100_200 json");
    CHECK(r != NULL && r->type == REDIS_REPLY_STRING);
    stored = json_loads(r->str, 0, NULL);
    CHECK(stored != NULL);
    CHECK_STR(json_string_value(json_object_get(stored, "text")),
        "Thanks, the package arrived today");
    CHECK_STR(json_string_value(json_object_get(stored, "queue")), "general");
    CHECK(json_object_get(stored, "classification") != NULL);
    CHECK(json_object_get(stored, "received_at") != NULL);
    freeReplyObject(r);

    /* Its id is in the destination stream, with a responders group. */
    r = redisCommand(c, "XRANGE inboxd:q:general - +");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
    CHECK_STR(r->element[0]->element[1]->element[1]->str,
        "facebook:100_200");
    freeReplyObject(r);
    r = redisCommand(c, "XINFO GROUPS inboxd:q:general");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1);
out:
    if (r)
        freeReplyObject(r);
    json_decref(resp);
    json_decref(stored);
    xfree(body);
    if (c)
        redisFree(c);
    return rc;
}

static int
test_duplicate_delivery(void)
{
    redisContext *c = it_redis_connect(&redis);
    char *body = item_body("dup_1", "Where can I buy this?");
    json_t *a = NULL, *b = NULL;
    redisReply *r = NULL;
    long long before;
    int rc = 0;

    CHECK(c != NULL);
    CHECK(post(TOKEN, body, &a, NULL) == 202);
    r = redisCommand(c, "XLEN inboxd:ingest");
    before = r->integer;
    freeReplyObject(r);
    r = NULL;
    /* The platform retries the same webhook: no second item. */
    CHECK(post(TOKEN, body, &b, NULL) == 200);
    CHECK_STR(json_string_value(json_object_get(b, "status")), "duplicate");
    CHECK_STR(json_string_value(json_object_get(b, "stream_id")),
        json_string_value(json_object_get(a, "stream_id")));
    CHECK_STR(json_string_value(json_object_get(b, "queue")),
        json_string_value(json_object_get(a, "queue")));
    r = redisCommand(c, "XLEN inboxd:ingest");
    CHECK(r->integer == before);
out:
    if (r)
        freeReplyObject(r);
    json_decref(a);
    json_decref(b);
    xfree(body);
    if (c)
        redisFree(c);
    return rc;
}

static int
test_classified_and_routed(void)
{
    char *spam = item_body("spam_1",
        "FREE bitcoin giveaway!!! claim now at https://bit.ly/abc");
    char *lead = item_body("lead_1",
        "How much is it? I want to order two for my shop");
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post(TOKEN, spam, &resp, NULL) == 202);
    CHECK_STR(json_string_value(json_object_get(resp, "queue")), "moderation");
    CHECK_STR(json_string_value(json_array_get(json_object_get(resp,
        "categories"), 0)), "spam");
    json_decref(resp);
    resp = NULL;
    CHECK(post(TOKEN, lead, &resp, NULL) == 202);
    CHECK_STR(json_string_value(json_object_get(resp, "queue")), "sales");
out:
    json_decref(resp);
    xfree(spam);
    xfree(lead);
    return rc;
}

static int
test_bad_input(void)
{
    json_t *resp = NULL;
    char *huge = NULL, *headers = NULL, *raw = NULL;
    long status = 0;
    int rc = 0;

    CHECK(post(TOKEN, "{\"platform\": ", &resp, NULL) == 400);
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "invalid_json");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(resp,
        "error"), "message")), "line 1");
    json_decref(resp);

    /* A broken escape before half a character: what and where. */
    CHECK(post(TOKEN, "{\"a\": \"\\ud80\xcf\xa8\"}", &resp, NULL) == 400);
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "invalid_json");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(resp,
        "error"), "message")), "line 1 column 8: invalid \\u escape");
    json_decref(resp);

    /* Duplicate keys are still refused, as not JSON. */
    CHECK(post(TOKEN, "{\"platform\":\"vk\",\"platform\":\"vk\"}", &resp,
        NULL) == 400);
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "invalid_json");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(resp,
        "error"), "message")), "duplicate object key");
    json_decref(resp);

    CHECK(post(TOKEN, "{\"platform\":\"facebook\",\"native_id\":\"x\","
        "\"kind\":\"comment\",\"account\":{\"id\":\"1\"},\"text\":\"hi\","
        "\"created_at\":\"2026-11-23T09:40:00Z\"}", &resp, NULL) == 400);
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "invalid_item");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(resp,
        "error"), "message")), "author");
    json_decref(resp);

    CHECK(post(TOKEN, "[1,2,3]", &resp, NULL) == 400);
    json_decref(resp);
    resp = NULL;

    /* A body over http.max_body (64 KiB here) is refused whole. */
    huge = xmalloc(200 * 1024);
    memset(huge, 'a', 200 * 1024 - 1);
    huge[200 * 1024 - 1] = '\0';
    CHECK(post(TOKEN, huge, NULL, NULL) == 413);

    CHECK(it_http(&daemon_, "POST", "/v1/items", TOKEN, "{}", &status, &raw,
        NULL) == 0 && status == 400);
    xfree(raw);
    raw = NULL;
    CHECK(it_http(&daemon_, "GET", "/nope", NULL, NULL, &status, &raw,
        NULL) == 0 && status == 404);
    xfree(raw);
    raw = NULL;
    CHECK(it_http(&daemon_, "GET", "/v1/items", TOKEN, NULL, &status, &raw,
        NULL) == 0 && status == 405);
out:
    json_decref(resp);
    xfree(huge);
    xfree(headers);
    xfree(raw);
    return rc;
}

static int
test_auth(void)
{
    char *body = item_body("auth_1", "hello");
    char *headers = NULL;
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post(NULL, body, &resp, &headers) == 401);
    CHECK_CONTAINS(headers, "WWW-Authenticate: Bearer");
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "unauthorized");
    json_decref(resp);
    resp = NULL;
    CHECK(post("wrong-token", body, NULL, NULL) == 401);
    CHECK(post("test-toke", body, NULL, NULL) == 401);
    /* An agent's token is valid but may not ingest. */
    CHECK(post("agent-token", body, &resp, NULL) == 403);
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "error"), "code")), "forbidden");
    /* Secrets never reach the log. */
    CHECK(!it_log_contains(&daemon_, "test-token"));
    CHECK(!it_log_contains(&daemon_, "agent-token"));
out:
    json_decref(resp);
    xfree(headers);
    xfree(body);
    return rc;
}

static int
test_health_and_metrics(void)
{
    char *raw = NULL;
    long status = 0;
    int rc = 0;

    CHECK(it_http(&daemon_, "GET", "/healthz", NULL, NULL, &status, &raw,
        NULL) == 0);
    CHECK(status == 200);
    CHECK_CONTAINS(raw, "\"redis\":\"up\"");
    xfree(raw);
    raw = NULL;
    CHECK(it_http(&daemon_, "GET", "/metrics", NULL, NULL, &status, &raw,
        NULL) == 0);
    CHECK(status == 200);
    CHECK_CONTAINS(raw, "inboxd_items_received_total{platform=\"facebook\"}");
    CHECK_CONTAINS(raw, "inboxd_items_stored_total{queue=\"moderation\"} ");
    CHECK_CONTAINS(raw, "inboxd_items_category_total{category=\"spam\"} ");
    CHECK_CONTAINS(raw, "inboxd_items_duplicate_total{platform=\"facebook\"} ");
    CHECK_CONTAINS(raw, "inboxd_redis_latency_seconds_count ");
    CHECK_CONTAINS(raw, "inboxd_rule_hits_total{rule=");
    CHECK_CONTAINS(raw, "inboxd_redis_up 1");
    CHECK_CONTAINS(raw, "inboxd_http_auth_failures_total{reason=\"invalid\"}");
out:
    xfree(raw);
    return rc;
}

static int
test_log_lines_carry_item_id(void)
{
    int rc = 0;

    CHECK(it_log_contains(&daemon_, "item=facebook:100_200 stored queue="));
    CHECK(it_log_contains(&daemon_, "item=facebook:dup_1 duplicate"));
out:
    return rc;
}

/* GET /v1/rules: per-rule counters for the desk roles, not for ingest. */
static int
test_rule_stats(void)
{
    char *raw = NULL;
    json_t *resp = NULL, *r;
    long status = 0;
    size_t i;
    int rc = 0, found = 0;

    CHECK(it_http(&daemon_, "GET", "/v1/rules", TOKEN, NULL, &status, &raw,
        NULL) == 0);
    CHECK(status == 403);
    xfree(raw);
    raw = NULL;
    CHECK(it_http(&daemon_, "GET", "/v1/rules", "agent-token", NULL, &status,
        &raw, NULL) == 0);
    CHECK(status == 200);
    CHECK((resp = json_loads(raw, 0, NULL)) != NULL);
    CHECK(json_integer_value(json_object_get(resp, "count")) > 50);
    /* The spam posted by classified_and_routed is counted, busiest first. */
    json_array_foreach(json_object_get(resp, "rules"), i, r) {
        if (strcmp(json_string_value(json_object_get(r, "id")),
            "en.spam.crypto_giveaway") == 0) {
            CHECK(json_integer_value(json_object_get(r, "hits")) >= 1);
            CHECK(i < 10);
            found = 1;
        }
    }
    CHECK(found);
out:
    json_decref(resp);
    xfree(raw);
    return rc;
}

/*
 * The answers' exact bytes: compact JSON, one line, keys in the order
 * id, status, queue, stream_id, categories (what json_pack and jansson's
 * dump gave before the answer was written directly).
 */
static int
test_reply_bytes(void)
{
    char *body = item_body("bytes_1", "Free bitcoin giveaway!!! click "
        "https://bit.ly/x to claim now");
    char *raw = NULL, *want = NULL;
    json_t *resp = NULL;
    long status = 0;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(it_http(&daemon_, "POST", "/v1/items", TOKEN, body, &status, &raw,
        NULL) == 0 && status == 202);
    CHECK((resp = json_loads(raw, 0, NULL)) != NULL);
    CHECK(json_array_size(json_object_get(resp, "categories")) > 0);
    CHECK((want = json_dumps(resp, JSON_COMPACT)) != NULL);
    CHECK(strlen(raw) == strlen(want) + 1 && raw[strlen(want)] == '\n' &&
        strncmp(raw, want, strlen(want)) == 0);
    CHECK(strncmp(raw, "{\"id\":\"facebook:bytes_1\",\"status\":\"queued\","
        "\"queue\":", 51) == 0);
    CHECK(strstr(raw, "\",\"stream_id\":\"") != NULL);
    CHECK(strstr(raw, "\",\"categories\":[\"") != NULL);
    xfree(raw);
    raw = NULL;
    xfree(want);
    want = NULL;
    json_decref(resp);
    resp = NULL;

    /* Again: a duplicate, without categories. */
    CHECK(it_http(&daemon_, "POST", "/v1/items", TOKEN, body, &status, &raw,
        NULL) == 0 && status == 200);
    CHECK((resp = json_loads(raw, 0, NULL)) != NULL);
    CHECK((want = json_dumps(resp, JSON_COMPACT)) != NULL);
    CHECK(strlen(raw) == strlen(want) + 1 && strncmp(raw, want,
        strlen(want)) == 0);
    CHECK(strncmp(raw, "{\"id\":\"facebook:bytes_1\",\"status\":"
        "\"duplicate\",\"queue\":", 54) == 0);
    CHECK(strstr(raw, "categories") == NULL);
out:
    xfree(body);
    xfree(raw);
    xfree(want);
    json_decref(resp);
    return rc;
}

static const struct check_case cases[] = {
    {"store_and_read_back", test_store_and_read_back},
    {"duplicate_delivery", test_duplicate_delivery},
    {"reply_bytes", test_reply_bytes},
    {"classified_and_routed", test_classified_and_routed},
    {"bad_input", test_bad_input},
    {"auth", test_auth},
    {"health_and_metrics", test_health_and_metrics},
    {"rule_stats", test_rule_stats},
    {"log_lines_carry_item_id", test_log_lines_carry_item_id},
};

int
main(void)
{
    int rc;

    alloc_init();
    if (it_redis_start(&redis) == -1 ||
        it_daemon_start(&daemon_, config_yaml, &redis) == -1 ||
        it_daemon_wait_healthy(&daemon_, 10000) == -1) {
        it_log_dump(&daemon_);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    if (rc != 0)
        it_log_dump(&daemon_);
    it_daemon_cleanup(&daemon_);
    it_redis_cleanup(&redis);
    return rc;
}
