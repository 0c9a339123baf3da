/*
 * Webhooks end to end: a real redis-server and a real inboxd on loopback.
 * Post the platforms' sample payloads (tests/data/platforms/) to the
 * webhook routes, Meta bodies signed over their exact bytes, and read
 * back from Redis what they did: items with the right ids, kinds and
 * queues; edits, deletes, hides and restores of stored items; refusals
 * that store nothing; dead letters for bodies not understood; and 503
 * while Redis is away.
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
#include "crypto.h"
#include "harness.h"

#define APP_SECRET  "test-app-secret-0123456789abcdef"
#define OTHER_APP   "another-app-secret"
#define VK_SECRET   "s3cr3tFromCommunitySettings"
#define TG_BOT      "123456789"
#define TG_SECRET   "tg-secret_ABC-123"
#define TG_PATH     "/webhooks/telegram/" TG_BOT
#define SAMPLES     PROJECT_DIR "/tests/data/platforms/"

static struct it_redis redis;
static struct it_daemon daemon_;
static redisContext *rc_;

static const char *config_yaml =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "  timeout: 10s\n"
    "  reconnect_min: 50ms\n"
    "  reconnect_max: 300ms\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "queues:\n"
    "  names: [general, moderation, sales, support]\n"
    "  retry_after: 3s\n"
    "  deadletter_maxlen: 100\n"
    "routes:\n"
    "  - queue: moderation\n"
    "    category: [spam, abuse]\n"
    "  - queue: sales\n"
    "    category: lead\n"
    "  - queue: support\n"
    "    category: question\n"
    "accounts:\n"
    "  - platform: facebook\n"
    "    id: 137542570280222\n"
    "    name: acme-page\n"
    "    app_secret: " APP_SECRET "\n"
    "    verify_token: meatyhamhock\n"
    "  - platform: facebook\n"
    "    id: 222222222222222\n"
    "    app_secret: " APP_SECRET "\n"
    "  - platform: facebook\n"
    "    id: 999999999999999\n"
    "    app_secret: " OTHER_APP "\n"
    "  - platform: instagram\n"
    "    id: 17841405309211844\n"
    "    app_secret: " APP_SECRET "\n"
    "  - platform: vk\n"
    "    id: 192764727\n"
    "    confirmation: 693d0ba9\n"
    "    secret: " VK_SECRET "\n"
    "  - platform: vk\n"
    "    id: 202308925\n"
    "    confirmation: 11112222\n"
    "  - platform: telegram\n"
    "    id: " TG_BOT "\n"
    "    webhook_secret: " TG_SECRET "\n"
    "  - platform: telegram\n"
    "    id: 555\n";

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------ */

/* A sample file's bytes, NUL-terminated; xfree it. */
static char *
load(const char *rel)
{
    char path[512];
    struct buf b;
    char chunk[4096];
    size_t n;
    FILE *fp;

    snprintf(path, sizeof(path), "%s%s", SAMPLES, rel);
    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "  cannot open %s\n", path);
        return NULL;
    }
    buf_init(&b, 1u << 20);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0)
        buf_append(&b, chunk, n);
    fclose(fp);
    return buf_steal(&b);
}

/* A sample as JSON, to change before posting; NULL on error. */
static json_t *
load_json(const char *rel)
{
    char *s = load(rel);
    json_t *j = s ? json_loads(s, 0, NULL) : NULL;

    xfree(s);
    return j;
}

/* Compact JSON; jansson allocates through alloc.h, so xfree it. */
static char *
dump(const json_t *j)
{
    return json_dumps(j, JSON_COMPACT);
}

/* "X-Hub-Signature-256: sha256=<hex>" of body under secret. */
static void
sign(const char *body, const char *secret, char out[128])
{
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1];

    crypto_hmac_sha256(secret, strlen(secret), body, strlen(body), mac);
    crypto_hex(mac, sizeof(mac), hex);
    snprintf(out, 128, "X-Hub-Signature-256: sha256=%s", hex);
}

/* POST body to path with the given headers; the status, or -1. */
static long
post(const char *path, const char *h1, const char *h2, const char *body,
    char **resp, char **headers)
{
    const char *hdrs[4] = { "Content-Type: application/json", NULL, NULL,
        NULL };
    char *raw = NULL;
    long status = -1;
    size_t n = 1;

    if (h1 != NULL)
        hdrs[n++] = h1;
    if (h2 != NULL)
        hdrs[n++] = h2;
    if (it_http_ex(&daemon_, "POST", path, hdrs, body, strlen(body),
        &status, &raw, headers) == -1)
        return -1;
    if (resp != NULL)
        *resp = raw;
    else
        xfree(raw);
    return status;
}

/* POST a Meta body signed with secret. */
static long
post_meta(const char *body, const char *secret, char **resp)
{
    char sig[128];

    sign(body, secret, sig);
    return post("/webhooks/meta", sig, NULL, body, resp, NULL);
}

static long
post_tg(const char *body, const char *secret, char **resp)
{
    char hdr[128];

    if (secret == NULL)
        return post(TG_PATH, NULL, NULL, body, resp, NULL);
    snprintf(hdr, sizeof(hdr), "X-Telegram-Bot-Api-Secret-Token: %s",
        secret);
    return post(TG_PATH, hdr, NULL, body, resp, NULL);
}

/* HGET inboxd:item:<id> field as a new string, or NULL. */
static char *
hget(const char *id, const char *field)
{
    redisReply *r = redisCommand(rc_, "HGET inboxd:item:%s %s", id, field);
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

/* A string member of the stored item's json, as a new string. */
static char *
item_field(const char *id, const char *key)
{
    char *js = hget(id, "json"), *s = NULL;
    json_t *j = js ? json_loads(js, 0, NULL) : NULL;
    const char *v = json_string_value(json_object_get(j, key));

    if (v != NULL)
        s = xstrdup(v);
    json_decref(j);
    xfree(js);
    return s;
}

/* Does the stored item's classification decide category? */
static bool
item_has_category(const char *id, const char *category)
{
    char *js = hget(id, "json");
    json_t *j = js ? json_loads(js, 0, NULL) : NULL;
    json_t *cats = json_object_get(json_object_get(j, "classification"),
        "categories"), *c;
    bool found = false;
    size_t i;

    json_array_foreach(cats, i, c) {
        if (strcmp(json_string_value(c), category) == 0)
            found = true;
    }
    json_decref(j);
    xfree(js);
    return found;
}

/* How many entries of stream key carry field value (id or whatever). */
static long
stream_count(const char *key, const char *field, const char *value)
{
    redisReply *r = redisCommand(rc_, "XRANGE %s - +", key);
    long n = -1;

    if (r == NULL || r->type != REDIS_REPLY_ARRAY)
        goto out;
    n = 0;
    for (size_t i = 0; i < r->elements; i++) {
        redisReply *f = r->element[i]->element[1];

        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, field) == 0 &&
                strcmp(f->element[k + 1]->str, value) == 0)
                n++;
        }
    }
out:
    if (r != NULL)
        freeReplyObject(r);
    return n;
}

static long
queue_count(const char *queue, const char *id)
{
    char key[128];

    snprintf(key, sizeof(key), "inboxd:q:%s", queue);
    return stream_count(key, "id", id);
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

/* Field of the newest dead letter, as a new string. */
static char *
deadletter_field(const char *field)
{
    redisReply *r = redisCommand(rc_,
        "XREVRANGE inboxd:deadletter + - COUNT 1");
    char *s = NULL;

    if (r != NULL && r->type == REDIS_REPLY_ARRAY && r->elements == 1) {
        redisReply *f = r->element[0]->element[1];

        for (size_t k = 0; k + 1 < f->elements; k += 2) {
            if (strcmp(f->element[k]->str, field) == 0)
                s = xstrdup(f->element[k + 1]->str);
        }
    }
    if (r != NULL)
        freeReplyObject(r);
    return s;
}

/* The stored item is in the queue its hash and its json name. */
static int
check_queued(const char *id, const char *queue)
{
    char *q = hget(id, "queue"), *jq = item_field(id, "queue");
    char *state = hget(id, "state");
    int rc = 0;

    CHECK_STR(q, queue);
    CHECK_STR(jq, queue);
    CHECK_STR(state, "queued");
    CHECK(queue_count(queue, id) == 1);
out:
    xfree(q);
    xfree(jq);
    xfree(state);
    return rc;
}

/* ---------------------------------------------------------------------
 * Meta
 * ------------------------------------------------------------------ */

static int
test_meta_handshake(void)
{
    char *raw = NULL;
    long status = 0;
    int rc = 0;

    CHECK(it_http(&daemon_, "GET", "/webhooks/meta?hub.mode=subscribe&"
        "hub.challenge=1158201444&hub.verify_token=meatyhamhock", NULL,
        NULL, &status, &raw, NULL) == 0);
    CHECK(status == 200);
    CHECK_STR(raw, "1158201444");
    XFREE(&raw);
    CHECK(it_http(&daemon_, "GET", "/webhooks/meta?hub.mode=subscribe&"
        "hub.challenge=1158201444&hub.verify_token=wrong", NULL, NULL,
        &status, &raw, NULL) == 0);
    CHECK(status == 403);
    XFREE(&raw);
    CHECK(it_http(&daemon_, "GET", "/webhooks/meta", NULL, NULL, &status,
        &raw, NULL) == 0);
    CHECK(status == 403);
out:
    xfree(raw);
    return rc;
}

/* The self-made test vector: its body and signature exactly as given. */
static int
test_meta_signature_vector(void)
{
    json_t *vec = load_json("facebook/signature_test_vector.json");
    const char *body = json_string_value(json_object_get(vec, "body"));
    const char *sig = json_string_value(json_object_get(vec,
        "X-Hub-Signature-256"));
    const char *id = "facebook:139560936744456_139620233405726";
    char hdr[128], *resp = NULL, *text = NULL, *kind = NULL;
    int rc = 0;

    CHECK(body != NULL && sig != NULL);
    snprintf(hdr, sizeof(hdr), "X-Hub-Signature-256: %s", sig);
    CHECK(post("/webhooks/meta", hdr, NULL, body, &resp, NULL) == 200);
    CHECK_STR(resp, "EVENT_RECEIVED");
    text = item_field(id, "text");
    CHECK_STR(text, "Caf\xc3\xa9 \xf0\x9f\x98\x80");
    kind = item_field(id, "kind");
    CHECK_STR(kind, "comment");
    CHECK(check_queued(id, "general") == 0);
out:
    json_decref(vec);
    xfree(resp);
    xfree(text);
    xfree(kind);
    return rc;
}

static int
test_meta_bad_signature(void)
{
    char *body = load("facebook/feed_comment_add.json"), *resp = NULL;
    const char *id = "facebook:139560936755999_140077616693321";
    char sig[128];
    long long before = xlen("inboxd:ingest");
    int rc = 0;

    CHECK(body != NULL);
    /* Signed with another secret, or with one byte changed after. */
    CHECK(post_meta(body, "not-the-secret", &resp) == 401);
    CHECK_CONTAINS(resp, "\"code\":\"unauthorized\"");
    XFREE(&resp);
    sign(body, APP_SECRET, sig);
    body[strlen(body) - 3] ^= 1;
    CHECK(post("/webhooks/meta", sig, NULL, body, &resp, NULL) == 401);
    XFREE(&resp);
    CHECK(post("/webhooks/meta", NULL, NULL, body, &resp, NULL) == 401);
    CHECK(!exists(id));
    CHECK(xlen("inboxd:ingest") == before);
out:
    xfree(body);
    xfree(resp);
    return rc;
}

/*
 * A batch: new comments and a reply, an edit of one of them in the same
 * delivery, a delete and a hide of comments never seen, a reaction, our
 * own reply, and entries for a second page of the same app (stored) and
 * for a page of another app (ignored: that app did not sign it).
 */
static int
test_meta_feed_batch(void)
{
    char *body = load("facebook/feed_batch.json"), *resp = NULL;
    char *s = NULL;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post_meta(body, APP_SECRET, &resp) == 200);
    CHECK_STR(resp, "EVENT_RECEIVED");

    /* Added, then edited in the same delivery: the edit wins. */
    s = item_field("facebook:139560936744456_1001", "text");
    CHECK_STR(s, "Where is my order #123?");
    XFREE(&s);
    s = hget("facebook:139560936744456_1001", "edited_at");
    CHECK(s != NULL);
    XFREE(&s);
    CHECK(check_queued("facebook:139560936744456_1001", "support") == 0);

    s = item_field("facebook:139560936744456_1002", "kind");
    CHECK_STR(s, "reply");
    XFREE(&s);
    s = item_field("facebook:139560936744456_1002", "parent");
    CHECK_STR(s, "139560936744456_1001");
    XFREE(&s);
    CHECK(exists("facebook:139560936744456_1005"));
    CHECK(exists("facebook:333_444"));

    /* A delete of a comment never stored leaves a tombstone... */
    s = hget("facebook:139560936744456_1003", "state");
    CHECK_STR(s, "deleted");
    XFREE(&s);
    s = hget("facebook:139560936744456_1003", "json");
    CHECK(s == NULL);
    /* ...a hide of one does not; our own reply and the other app's page
     * are not stored. */
    CHECK(!exists("facebook:139560936744456_1004"));
    CHECK(!exists("facebook:139560936744456_1006"));
    CHECK(!exists("facebook:1_2"));
out:
    xfree(body);
    xfree(resp);
    xfree(s);
    return rc;
}

static int
test_meta_hide_unhide(void)
{
    json_t *j = load_json("facebook/feed_comment_add.json"), *value;
    const char *id = "facebook:139560936755999_140077616693321";
    char *body = NULL, *resp = NULL, *s = NULL;
    int rc = 0;

    CHECK(j != NULL);
    body = dump(j);
    CHECK(post_meta(body, APP_SECRET, &resp) == 200);
    CHECK(check_queued(id, "general") == 0);
    value = json_object_get(json_array_get(json_object_get(json_array_get(
        json_object_get(j, "entry"), 0), "changes"), 0), "value");
    json_object_set_new(value, "verb", json_string("hide"));
    XFREE(&body);
    XFREE(&resp);
    body = dump(j);
    CHECK(post_meta(body, APP_SECRET, &resp) == 200);
    s = hget(id, "hidden");
    CHECK_STR(s, "1");
    XFREE(&s);
    json_object_set_new(value, "verb", json_string("unhide"));
    XFREE(&body);
    XFREE(&resp);
    body = dump(j);
    CHECK(post_meta(body, APP_SECRET, &resp) == 200);
    s = hget(id, "hidden");
    CHECK_STR(s, "0");
    /* Hidden or not, it stays in its queue. */
    CHECK(check_queued(id, "general") == 0);
out:
    json_decref(j);
    xfree(body);
    xfree(resp);
    xfree(s);
    return rc;
}

static int
test_instagram_comment(void)
{
    char *body = load("instagram/comments_webhook.json"), *resp = NULL;
    const char *id = "instagram:18034567890123456";
    char *s = NULL, *q = NULL;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post_meta(body, APP_SECRET, &resp) == 200);
    CHECK_STR(resp, "EVENT_RECEIVED");
    s = item_field(id, "kind");
    CHECK_STR(s, "comment");
    q = hget(id, "queue");
    CHECK(q != NULL);
    CHECK(check_queued(id, q) == 0);
out:
    xfree(body);
    xfree(resp);
    xfree(s);
    xfree(q);
    return rc;
}

/* ---------------------------------------------------------------------
 * VK
 * ------------------------------------------------------------------ */

static int
test_vk_confirmation(void)
{
    char *body = load("vk/confirmation.json"), *resp = NULL;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    CHECK_STR(resp, "693d0ba9");
    XFREE(&resp);
    /* A community without a secret is refused, confirmation included. */
    CHECK(post("/webhooks/vk", NULL, NULL, "{\"type\":\"confirmation\","
        "\"group_id\":202308925}", &resp, NULL) == 403);
out:
    xfree(body);
    xfree(resp);
    return rc;
}

static int
test_vk_bad_secret(void)
{
    json_t *j = load_json("vk/wall_reply_new.json");
    char *body = NULL, *resp = NULL;
    int rc = 0;

    CHECK(j != NULL);
    json_object_set_new(j, "secret", json_string("guess"));
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 403);
    CHECK_CONTAINS(resp, "\"code\":\"forbidden\"");
    XFREE(&resp);
    XFREE(&body);
    json_object_del(j, "secret");
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 403);
    XFREE(&resp);
    XFREE(&body);
    json_object_set_new(j, "group_id", json_integer(1));
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 403);
    CHECK(!exists("vk:-192764727_312"));
out:
    json_decref(j);
    xfree(body);
    xfree(resp);
    return rc;
}

/*
 * One comment's life: new, a VK retry of the same event, an edit, an
 * edit that routing would send elsewhere, taken by a responder, deleted,
 * delivered late once more, restored.
 */
static int
test_vk_comment_life(void)
{
    const char *id = "vk:-192764727_312";
    json_t *j = NULL, *obj;
    char *body = load("vk/wall_reply_new.json"), *resp = NULL;
    char *sid = NULL, *s = NULL, *sid2 = NULL;
    redisReply *r = NULL;
    long long before;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    CHECK_STR(resp, "ok");
    XFREE(&resp);
    CHECK(check_queued(id, "general") == 0);
    sid = hget(id, "stream_id");
    before = xlen("inboxd:ingest");

    /* VK retries the same event: still one item, one queue entry. */
    CHECK(post("/webhooks/vk", "X-Retry-Counter: 1", NULL, body, &resp,
        NULL) == 200);
    CHECK_STR(resp, "ok");
    XFREE(&resp);
    CHECK(check_queued(id, "general") == 0);
    CHECK(xlen("inboxd:ingest") == before);

    /* An edit: new text, same queue entry, edited_at. */
    XFREE(&body);
    body = load("vk/wall_reply_edit.json");
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    CHECK_STR(resp, "ok");
    XFREE(&resp);
    s = item_field(id, "text");
    CHECK_STR(s, "123 (edited)");
    XFREE(&s);
    s = hget(id, "stream_id");
    CHECK_STR(s, sid);
    XFREE(&s);
    s = hget(id, "edited_at");
    CHECK(s != NULL);
    XFREE(&s);
    CHECK(check_queued(id, "general") == 0);

    /* Edited into spam: re-classified, but it stays where it is. */
    j = load_json("vk/wall_reply_edit.json");
    obj = json_object_get(j, "object");
    json_object_set_new(obj, "text", json_string("FREE bitcoin giveaway!!! "
        "claim now at https://bit.ly/abc"));
    XFREE(&body);
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    XFREE(&resp);
    CHECK(item_has_category(id, "spam"));
    CHECK(check_queued(id, "general") == 0);
    CHECK(queue_count("moderation", id) == 0);

    /* A responder takes it; then the author deletes it on VK. */
    r = redisCommand(rc_, "XREADGROUP GROUP responders agent1 COUNT 100 "
        "STREAMS inboxd:q:general >");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY);
    freeReplyObject(r);
    r = NULL;
    json_object_clear(obj);
    json_object_set_new(j, "type", json_string("wall_reply_delete"));
    json_object_set_new(obj, "owner_id", json_integer(-192764727));
    json_object_set_new(obj, "id", json_integer(312));
    json_object_set_new(obj, "deleter_id", json_integer(499047616));
    json_object_set_new(obj, "post_id", json_integer(310));
    XFREE(&body);
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    CHECK_STR(resp, "ok");
    XFREE(&resp);
    s = hget(id, "state");
    CHECK_STR(s, "deleted");
    XFREE(&s);
    s = hget(id, "deleted_by");
    CHECK_STR(s, "499047616");
    XFREE(&s);
    CHECK(queue_count("general", id) == 0);
    /* Acknowledged too: nothing left pending for it. */
    r = redisCommand(rc_, "XPENDING inboxd:q:general responders - + 100");
    CHECK(r != NULL && r->type == REDIS_REPLY_ARRAY);
    for (size_t i = 0; i < r->elements; i++)
        CHECK(strcmp(r->element[i]->element[0]->str, sid) != 0);
    freeReplyObject(r);
    r = NULL;

    /* A late copy of the new comment is not stored again. */
    XFREE(&body);
    body = load("vk/wall_reply_new.json");
    CHECK(post("/webhooks/vk", "X-Retry-Counter: 2", NULL, body, &resp,
        NULL) == 200);
    XFREE(&resp);
    s = hget(id, "state");
    CHECK_STR(s, "deleted");
    XFREE(&s);
    CHECK(queue_count("general", id) == 0);

    /* Restored on VK: queued again, under a new entry. */
    json_decref(j);
    j = load_json("vk/wall_reply_restore.json");
    json_object_set_new(json_object_get(j, "object"), "id",
        json_integer(312));
    XFREE(&body);
    body = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    XFREE(&resp);
    CHECK(check_queued(id, "general") == 0);
    sid2 = hget(id, "stream_id");
    CHECK(sid2 != NULL && strcmp(sid2, sid) != 0);
    s = hget(id, "restored_at");
    CHECK(s != NULL);
    XFREE(&s);
    s = item_field(id, "text");
    CHECK_STR(s, "back again");
out:
    if (r != NULL)
        freeReplyObject(r);
    json_decref(j);
    xfree(body);
    xfree(resp);
    xfree(sid);
    xfree(sid2);
    xfree(s);
    return rc;
}

/* A delete that comes before the comment, then its restore. */
static int
test_vk_delete_first(void)
{
    const char *id = "vk:-192764727_313";
    char *body = load("vk/wall_reply_delete.json"), *resp = NULL, *s = NULL;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    XFREE(&resp);
    s = hget(id, "state");
    CHECK_STR(s, "deleted");
    XFREE(&s);
    XFREE(&body);
    body = load("vk/wall_reply_restore.json");
    CHECK(post("/webhooks/vk", NULL, NULL, body, &resp, NULL) == 200);
    CHECK(check_queued(id, "general") == 0);
    s = item_field(id, "text");
    CHECK_STR(s, "back again");
out:
    xfree(body);
    xfree(resp);
    xfree(s);
    return rc;
}

/* ---------------------------------------------------------------------
 * Telegram
 * ------------------------------------------------------------------ */

static int
test_telegram(void)
{
    char *body = load("telegram/update_message_text.json"), *resp = NULL;
    const char *id = "telegram:" TG_BOT "_1111111_1365";
    char *s = NULL;
    int rc = 0;

    CHECK(body != NULL);
    CHECK(post_tg(body, "wrong", &resp) == 403);
    XFREE(&resp);
    CHECK(post_tg(body, NULL, &resp) == 403);
    XFREE(&resp);
    CHECK(post("/webhooks/telegram/987", NULL, NULL, body, &resp, NULL) ==
        404);
    XFREE(&resp);
    /* A bot without webhook_secret has no webhook. */
    CHECK(post("/webhooks/telegram/555", NULL, NULL, body, &resp, NULL) ==
        403);
    XFREE(&resp);
    CHECK(!exists(id));

    CHECK(post_tg(body, TG_SECRET, &resp) == 200);
    CHECK_STR(resp, "");
    s = item_field(id, "kind");
    CHECK_STR(s, "dm");
    CHECK(check_queued(id, "general") == 0);
    XFREE(&s);

    /* An edit: group message, re-classified as spam, stays put. */
    XFREE(&body);
    XFREE(&resp);
    body = load("telegram/update_edited_message.json");
    CHECK(post_tg(body, TG_SECRET, &resp) == 200);
    /* Never seen before the edit: stored as new, routed by the rules. */
    CHECK(check_queued("telegram:-1001234567890_20", "moderation") == 0);
    s = hget("telegram:-1001234567890_20", "edited_at");
    CHECK(s != NULL);
out:
    xfree(body);
    xfree(resp);
    xfree(s);
    return rc;
}

/* ---------------------------------------------------------------------
 * Dead letters
 * ------------------------------------------------------------------ */

static int
test_dead_letters(void)
{
    const char *meta = "{\"object\":\"page\",\"entry\":[{\"id\":"
        "\"137542570280222\",\"time\":1545829218,\"changes\":["
        "{\"field\":\"feed\",\"value\":{\"item\":\"comment\",\"verb\":\"add\","
        "\"comment_id\":\"777_1\",\"post_id\":\"137542570280222_777\","
        "\"from\":{\"id\":\"42\",\"name\":\"A\"},\"message\":\"kept\","
        "\"created_time\":1545829217}},"
        "{\"field\":\"feed\",\"value\":{\"item\":\"comment\",\"verb\":\"add\","
        "\"comment_id\":\"777_2\",\"post_id\":\"137542570280222_777\","
        "\"from\":{\"id\":{\"no\":1}},\"message\":\"broken\","
        "\"created_time\":1545829217}}]}]}";
    const char *tg = "{\"update_id\": 31, \"message\": \"not an object\"}";
    long long before = xlen("inboxd:deadletter");
    char *resp = NULL, *s = NULL, *vk = NULL;
    json_t *j = NULL;
    int rc = 0;

    /* Meta: the understood change is stored, the body kept whole. */
    CHECK(post_meta(meta, APP_SECRET, &resp) == 200);
    CHECK_STR(resp, "EVENT_RECEIVED");
    XFREE(&resp);
    CHECK(exists("facebook:777_1"));
    CHECK(!exists("facebook:777_2"));
    CHECK(xlen("inboxd:deadletter") == before + 1);
    s = deadletter_field("platform");
    CHECK_STR(s, "meta");
    XFREE(&s);
    s = deadletter_field("reason");
    CHECK_CONTAINS(s, "from.id");
    XFREE(&s);
    s = deadletter_field("body");
    CHECK_STR(s, meta);
    XFREE(&s);

    /* VK: still "ok", so VK keeps the server; account and event kept. */
    j = load_json("vk/wall_reply_new.json");
    CHECK(j != NULL);
    json_object_set_new(json_object_get(j, "object"), "text",
        json_integer(5));
    vk = dump(j);
    CHECK(post("/webhooks/vk", NULL, NULL, vk, &resp, NULL) == 200);
    CHECK_STR(resp, "ok");
    XFREE(&resp);
    CHECK(xlen("inboxd:deadletter") == before + 2);
    s = deadletter_field("account");
    CHECK_STR(s, "192764727");
    XFREE(&s);
    s = deadletter_field("delivery");
    CHECK_STR(s, "9a7f3c1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a");
    XFREE(&s);

    /* Telegram: 200, the update id kept. */
    CHECK(post_tg(tg, TG_SECRET, &resp) == 200);
    CHECK(xlen("inboxd:deadletter") == before + 3);
    s = deadletter_field("delivery");
    CHECK_STR(s, "31");
out:
    json_decref(j);
    xfree(vk);
    xfree(resp);
    xfree(s);
    return rc;
}

static int
test_metrics_and_log(void)
{
    char *raw = NULL;
    long status = 0;
    int rc = 0;

    CHECK(it_http(&daemon_, "GET", "/metrics", NULL, NULL, &status, &raw,
        NULL) == 0 && status == 200);
    CHECK_CONTAINS(raw, "inboxd_webhook_rejected_total{platform=\"meta\","
        "reason=\"bad_signature\"} ");
    CHECK_CONTAINS(raw, "inboxd_webhook_rejected_total{platform=\"meta\","
        "reason=\"missing_signature\"} ");
    CHECK_CONTAINS(raw, "inboxd_webhook_rejected_total{platform=\"vk\","
        "reason=\"bad_secret\"} ");
    CHECK_CONTAINS(raw, "inboxd_webhook_rejected_total{platform="
        "\"telegram\",reason=\"bad_secret\"} ");
    CHECK_CONTAINS(raw, "inboxd_webhook_ignored_total{platform=\"meta\","
        "reason=\"our own comment\"} ");
    CHECK_CONTAINS(raw, "inboxd_webhook_deadletters_total{platform="
        "\"vk\"} 1");
    CHECK_CONTAINS(raw, "inboxd_webhook_deliveries_total{platform=\"meta\","
        "result=\"ok\"} ");
    CHECK_CONTAINS(raw, "inboxd_items_changed_total{change=\"deleted\"} ");
    CHECK_CONTAINS(raw, "inboxd_items_changed_total{change=\"edited\"} ");
    /* No secret reaches the log. */
    CHECK(!it_log_contains(&daemon_, APP_SECRET));
    CHECK(!it_log_contains(&daemon_, VK_SECRET));
    CHECK(!it_log_contains(&daemon_, TG_SECRET));
    CHECK(!it_log_contains(&daemon_, "meatyhamhock"));
    CHECK(it_log_contains(&daemon_, "item=vk:-192764727_312 deleted on the "
        "platform"));
out:
    xfree(raw);
    return rc;
}

/* Last: Redis goes away, the platform gets 503 and sends again. */
static int
test_redis_down(void)
{
    char *body = load("telegram/update_supergroup_reply.json");
    char *resp = NULL, *headers = NULL, *meta = NULL;
    long status = 0;
    int rc = 0;

    CHECK(body != NULL);
    meta = load("facebook/messenger_message_text.json");
    CHECK(meta != NULL);
    CHECK(it_redis_stop(&redis) == 0);
    for (int i = 0; i < 100; i++) {
        if (it_http(&daemon_, "GET", "/healthz", NULL, NULL, &status, NULL,
            NULL) == 0 && status == 503)
            break;
        usleep(50000);
    }
    CHECK(status == 503);
    CHECK(post("/webhooks/telegram/" TG_BOT,
        "X-Telegram-Bot-Api-Secret-Token: " TG_SECRET, NULL, body, &resp,
        &headers) == 503);
    CHECK_CONTAINS(headers, "Retry-After: 3");
    CHECK_CONTAINS(resp, "store_unavailable");
    XFREE(&resp);
    /* Meta: the same; the page of this sample is not ours, so nothing to
     * write: answered 200 even without Redis. */
    CHECK(post_meta(meta, APP_SECRET, &resp) == 200);
    XFREE(&resp);
    /* VK's confirmation needs no Redis either. */
    XFREE(&meta);
    meta = load("vk/confirmation.json");
    CHECK(post("/webhooks/vk", NULL, NULL, meta, &resp, NULL) == 200);
    XFREE(&resp);

    CHECK(it_redis_restart(&redis) == 0);
    redisFree(rc_);
    CHECK((rc_ = it_redis_connect(&redis)) != NULL);
    for (int i = 0; i < 100; i++) {
        if (it_http(&daemon_, "GET", "/healthz", NULL, NULL, &status, NULL,
            NULL) == 0 && status == 200)
            break;
        usleep(50000);
    }
    CHECK(status == 200);
    CHECK(post_tg(body, TG_SECRET, &resp) == 200);
    CHECK(exists("telegram:-1001876543210_48213"));
out:
    xfree(body);
    xfree(meta);
    xfree(resp);
    xfree(headers);
    return rc;
}

static const struct check_case cases[] = {
    {"meta_handshake", test_meta_handshake},
    {"meta_signature_vector", test_meta_signature_vector},
    {"meta_bad_signature", test_meta_bad_signature},
    {"meta_feed_batch", test_meta_feed_batch},
    {"meta_hide_unhide", test_meta_hide_unhide},
    {"instagram_comment", test_instagram_comment},
    {"vk_confirmation", test_vk_confirmation},
    {"vk_bad_secret", test_vk_bad_secret},
    {"vk_comment_life", test_vk_comment_life},
    {"vk_delete_first", test_vk_delete_first},
    {"telegram", test_telegram},
    {"dead_letters", test_dead_letters},
    {"metrics_and_log", test_metrics_and_log},
    {"redis_down", test_redis_down},
};

int
main(void)
{
    int rc;

    alloc_init();
    if (it_redis_start(&redis) == -1 ||
        (rc_ = it_redis_connect(&redis)) == NULL ||
        it_daemon_start(&daemon_, config_yaml, &redis) == -1 ||
        it_daemon_wait_healthy(&daemon_, 10000) == -1) {
        it_log_dump(&daemon_);
        printf("0 passed, 1 failed\n");
        return 1;
    }
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    /* In a sanitizer build the daemon reports leaks and UB at exit. */
    it_daemon_stop(&daemon_);
    if (it_log_contains(&daemon_, "Sanitizer") ||
        it_log_contains(&daemon_, "runtime error")) {
        printf("FAIL the daemon's sanitizer report (log below)\n");
        rc = 1;
    }
    if (rc != 0)
        it_log_dump(&daemon_);
    if (rc_ != NULL)
        redisFree(rc_);
    it_daemon_cleanup(&daemon_);
    it_redis_cleanup(&redis);
    return rc;
}
