/*
 * conn_meta_test: Facebook Pages, Messenger and Instagram webhooks. The
 * signature test vector, the hub handshake, every shared sample parsed
 * to its exact item, batches, echoes and our own comments, edits,
 * deletes and hides, hostile bodies, and an allocation-failure run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "conn_check.h"
#include "connector.h"
#include "item.h"

#define FB_PAGE     "137542570280222"
#define FB_PAGE_B   "222222222222222"
#define FB_PAGE_BOT "137542570280111"
#define MSG_PAGE    "404217156637689"
#define IG_ACCOUNT  "17841405309211844"

static const struct connector_account meta_test_accounts[] = {
    { .platform = CONNECTOR_FACEBOOK, .id = FB_PAGE },
    { .platform = CONNECTOR_FACEBOOK, .id = FB_PAGE_B },
    { .platform = CONNECTOR_FACEBOOK, .id = FB_PAGE_BOT },
    { .platform = CONNECTOR_FACEBOOK, .id = MSG_PAGE },
    { .platform = CONNECTOR_INSTAGRAM, .id = IG_ACCOUNT },
};
#define META_TEST_NACCOUNTS \
    (sizeof(meta_test_accounts) / sizeof(meta_test_accounts[0]))

/* Parse a sample file; the parsed copy comes back in *doc for raw checks. */
static int
meta_test_parse_file(const char *rel, struct connector_events *ev,
    json_t **doc, char *err, size_t errlen)
{
    size_t len;
    char *body = conn_check_load(rel, &len);
    int rc;

    if (body == NULL)
        return -2;
    rc = meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, body, len, ev,
        err, errlen);
    if (doc != NULL)
        *doc = json_loadb(body, len, 0, NULL);
    xfree(body);
    return rc;
}

static int
meta_test_parse_str(const char *body, struct connector_events *ev, char *err,
    size_t errlen)
{
    return meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, body,
        strlen(body), ev, err, errlen);
}

/* entry[e].changes[c].value or entry[e].messaging[c] of a parsed sample. */
static json_t *
meta_test_piece(json_t *doc, size_t e, const char *list, size_t c)
{
    json_t *v = json_array_get(json_object_get(json_array_get(
        json_object_get(doc, "entry"), e), list), c);

    if (strcmp(list, "changes") == 0)
        v = json_object_get(v, "value");
    return v;
}

/* ---------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------ */

static int
test_signature_vector(void)
{
    json_t *vec = NULL;
    char *body = NULL, *copy = NULL;
    const char *secret, *header, *jbody;
    size_t len;
    int rc = 0;

    vec = conn_check_json("facebook/signature_test_vector.json");
    body = conn_check_load("facebook/signature_test_vector_body.json", &len);
    CHECK(vec != NULL && body != NULL);
    secret = json_string_value(json_object_get(vec, "app_secret"));
    header = json_string_value(json_object_get(vec, "X-Hub-Signature-256"));
    jbody = json_string_value(json_object_get(vec, "body"));
    CHECK(secret != NULL && header != NULL && jbody != NULL);
    /* The raw file is the exact wire body of the vector. */
    CHECK(len == 426 && strlen(jbody) == len && memcmp(jbody, body,
        len) == 0);

    CHECK(meta_verify_signature(secret, body, len, header) == 0);
    CHECK(meta_verify_signature(secret, jbody, strlen(jbody), header) == 0);

    /* Any one-byte change anywhere breaks it. */
    CHECK((copy = xmalloc(len)) != NULL);
    for (size_t i = 0; i < len; i++) {
        memcpy(copy, body, len);
        copy[i] ^= 0x01;
        CHECK(meta_verify_signature(secret, copy, len, header) == -1);
    }
    CHECK(meta_verify_signature(secret, body, len - 1, header) == -1);

    /* A re-serialized body (unescaped UTF-8) is not what Meta signed. */
    {
        json_t *j = json_loadb(body, len, 0, NULL);
        char *re = j != NULL ? json_dumps(j, JSON_COMPACT |
            JSON_PRESERVE_ORDER) : NULL;
        int r = re != NULL ? meta_verify_signature(secret, re, strlen(re),
            header) : 0;

        xfree(re);
        json_decref(j);
        CHECK(r == -1);
    }

    CHECK(meta_verify_signature("test-app-secret-0123456789abcdeX", body,
        len, header) == -1);
    CHECK(meta_verify_signature(secret, body, len, NULL) == -1);
    CHECK(meta_verify_signature(NULL, body, len, header) == -1);
    CHECK(meta_verify_signature("", body, len, header) == -1);
    CHECK(meta_verify_signature(secret, body, len, header + 7) == -1);
    CHECK(meta_verify_signature(secret, body, len,
        "sha1=d145aa8bca4cc4a1bb74229361e648e5fbcff7af") == -1);
    CHECK(meta_verify_signature(secret, body, len, "sha256=") == -1);
    CHECK(meta_verify_signature(secret, body, len, "sha256=0f576dd8") == -1);
    CHECK(meta_verify_signature(secret, body, len, "sha256=0f576dd8185c5690"
        "bce320071de9f4dcacfe4b02c404e183a3295a3a600366e6 ") == -1);
    CHECK(meta_verify_signature(secret, body, len, "sha256=zz576dd8185c5690"
        "bce320071de9f4dcacfe4b02c404e183a3295a3a600366e6") == -1);
    CHECK(meta_verify_signature(secret, body, len, "SHA256=0f576dd8185c5690"
        "bce320071de9f4dcacfe4b02c404e183a3295a3a600366e6") == -1);
    /* Hex case is not part of the MAC. */
    CHECK(meta_verify_signature(secret, body, len, "sha256=0F576DD8185C5690"
        "BCE320071DE9F4DCACFE4B02C404E183A3295A3A600366E6") == 0);
    CHECK(meta_verify_signature(secret, NULL, 5, header) == -1);
out:
    xfree(copy);
    xfree(body);
    json_decref(vec);
    return rc;
}

/* The signed body is a normal feed comment with escaped non-ASCII text. */
static int
test_signature_vector_parses(void)
{
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/signature_test_vector_body.json",
        &ev, NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK_STR(item_text(ev.v[0].item), "Caf\xc3\xa9 \xf0\x9f\x98\x80");
    CHECK_STR(item_author_name(ev.v[0].item),
        "Jos\xc3\xa9 \xd0\x9f\xd1\x80\xd0\xb8\xd0\xb2\xd0\xb5\xd1\x82");
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_handshake(void)
{
    json_t *doc = NULL;
    const char *q, *body;
    char challenge[64], token[64];
    int rc = 0;

    /* Take the values from the shared sample's query string. */
    CHECK((doc = conn_check_json("facebook/webhook_verification.json")));
    q = json_string_value(json_object_get(json_object_get(doc, "request"),
        "path_and_query"));
    body = json_string_value(json_object_get(json_object_get(doc,
        "response_ok"), "body"));
    CHECK(q != NULL && body != NULL);
    CHECK(strstr(q, "hub.mode=subscribe") != NULL);
    CHECK(sscanf(strstr(q, "hub.challenge="), "hub.challenge=%63[^&]",
        challenge) == 1);
    CHECK(sscanf(strstr(q, "hub.verify_token="), "hub.verify_token=%63[^&]",
        token) == 1);
    CHECK_STR(challenge, body);

    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", token,
        challenge) == 0);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", "meatyhamhocK",
        challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", "meatyham",
        challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe",
        "meatyhamhockx", challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "unsubscribe", token,
        challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", NULL, token,
        challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", NULL,
        challenge) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", token,
        NULL) == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", token,
        "") == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", token,
        "<script>alert(1)</script>") == -1);
    CHECK(meta_verify_handshake("meatyhamhock", "subscribe", token,
        "123\r\nX: y") == -1);
    CHECK(meta_verify_handshake(NULL, "subscribe", token, challenge) == -1);
    CHECK(meta_verify_handshake("", "subscribe", "", challenge) == -1);
out:
    json_decref(doc);
    return rc;
}

/* ---------------------------------------------------------------------
 * Shared samples
 * ------------------------------------------------------------------ */

static int
test_feed_comment_add(void)
{
    struct connector_events ev = { 0 };
    json_t *doc = NULL;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/feed_comment_add.json", &ev, &doc,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK(ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].account == &meta_test_accounts[0]);
    CHECK_STR(ev.v[0].id, "facebook:139560936755999_140077616693321");
    CHECK(ev.v[0].time_ms == 1545829217000LL);
    CHECK(ev.v[0].raw == meta_test_piece(doc, 0, "changes", 0) ||
        json_equal(ev.v[0].raw, meta_test_piece(doc, 0, "changes", 0)));
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"facebook:139560936755999_140077616693321\","
        " \"platform\": \"facebook\","
        " \"native_id\": \"139560936755999_140077616693321\","
        " \"kind\": \"comment\", \"account\": {\"id\": \"" FB_PAGE "\"},"
        " \"conversation\": \"137542570280222_139560936744456\","
        " \"author\": {\"id\": \"1440971912666228\","
        " \"name\": \"Hsuan-Yih Shawn Chu\"},"
        " \"text\": \"100\", \"created_at\": \"2018-12-26T13:00:17.000Z\"}",
        meta_test_piece(doc, 0, "changes", 0)) == 0);
out:
    connector_events_free(&ev);
    json_decref(doc);
    return rc;
}

static int
test_feed_comment_by_page(void)
{
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/feed_comment_add_by_page.json",
        &ev, NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK(ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK(ev.v[0].item == NULL);
    CHECK(ev.v[0].account == &meta_test_accounts[2]);
    CHECK_STR(ev.v[0].reason, "our own comment");
    CHECK_STR(ev.v[0].id, "facebook:139560936755999_140077616693321");
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_messenger_text(void)
{
    struct connector_events ev = { 0 };
    json_t *doc = NULL;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/messenger_message_text.json", &ev,
        &doc, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].time_ms == 1491796363181LL);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"facebook:mid.$cAAE1UUyiiwthh0NPrVbVf4HFNDGl\","
        " \"platform\": \"facebook\","
        " \"native_id\": \"mid.$cAAE1UUyiiwthh0NPrVbVf4HFNDGl\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" MSG_PAGE "\"},"
        " \"conversation\": \"1423587017700273\","
        " \"author\": {\"id\": \"1423587017700273\"},"
        " \"text\": \"Sharp tools make good work.\","
        " \"created_at\": \"2017-04-10T03:52:43.181Z\"}",
        meta_test_piece(doc, 0, "messaging", 0)) == 0);
out:
    connector_events_free(&ev);
    json_decref(doc);
    return rc;
}

static int
test_instagram_samples(void)
{
    struct connector_events ev = { 0 };
    json_t *doc = NULL;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("instagram/comments_webhook.json", &ev, &doc,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].account == &meta_test_accounts[4]);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"instagram:18034567890123456\","
        " \"platform\": \"instagram\", \"native_id\": \"18034567890123456\","
        " \"kind\": \"comment\", \"account\": {\"id\": \"" IG_ACCOUNT "\"},"
        " \"conversation\": \"17999888777666555\","
        " \"author\": {\"id\": \"7012345678901234\","
        " \"name\": \"sample_commenter\"},"
        " \"text\": \"Where can I buy this?\","
        " \"created_at\": \"2024-08-19T09:17:01.000Z\"}",
        meta_test_piece(doc, 0, "changes", 0)) == 0);
    connector_events_free(&ev);
    json_decref(doc);
    doc = NULL;

    CHECK(meta_test_parse_file("instagram/messaging_text.json", &ev, &doc,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"instagram:aWdfZAG1faXRlbToxOklHTWVzc2FnZAUlEOjE3ODQxND"
        "A1MzA5MjExODQ0OjM0MDI4MjM2Njg0MTcxMDMwMTI0NDI1OTk1OTAyODA2NjQxMzQ5"
        "MzozMTgwMjk2NTYwNjgwMzY1MzI0NzgzNjU0NjU0NjU1NTAwOAZDZD\","
        " \"platform\": \"instagram\", \"native_id\": \"aWdfZAG1faXRlbToxOkl"
        "HTWVzc2FnZAUlEOjE3ODQxNDA1MzA5MjExODQ0OjM0MDI4MjM2Njg0MTcxMDMwMTI0"
        "NDI1OTk1OTAyODA2NjQxMzQ5MzozMTgwMjk2NTYwNjgwMzY1MzI0NzgzNjU0NjU0Nj"
        "U1NTAwOAZDZD\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" IG_ACCOUNT "\"},"
        " \"conversation\": \"6972135936180127\","
        " \"author\": {\"id\": \"6972135936180127\"},"
        " \"text\": \"Hi! Is the blue one still available?\","
        " \"created_at\": \"2024-08-19T09:18:19.874Z\"}",
        meta_test_piece(doc, 0, "messaging", 0)) == 0);
    connector_events_free(&ev);

    CHECK(meta_test_parse_file("instagram/messaging_echo.json", &ev, NULL,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].reason, "echo of our own message");
    CHECK(strncmp(ev.v[0].id, "instagram:aWdfZAG1", 18) == 0);
    CHECK(ev.v[0].item == NULL && ev.v[0].raw != NULL);
out:
    connector_events_free(&ev);
    json_decref(doc);
    return rc;
}

/* ---------------------------------------------------------------------
 * Batches, edits, deletes, hides
 * ------------------------------------------------------------------ */

static int
test_feed_batch(void)
{
    struct connector_events ev = { 0 };
    json_t *doc = NULL;
    struct connector_event *v;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/feed_batch.json", &ev, &doc, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 11);
    v = ev.v;

    CHECK(v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(item_kind(v[0].item) == ITEM_KIND_COMMENT);
    CHECK(item_conversation(v[0].item) != NULL);

    /* A reply names its parent comment; non-ASCII survives. */
    CHECK(v[1].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(v[1].item,
        "{\"id\": \"facebook:139560936744456_1002\","
        " \"platform\": \"facebook\", \"native_id\": \"139560936744456_1002\","
        " \"kind\": \"reply\", \"account\": {\"id\": \"" FB_PAGE "\"},"
        " \"conversation\": \"137542570280222_139560936744456\","
        " \"parent\": \"139560936744456_1001\","
        " \"author\": {\"id\": \"1550000000000001\","
        " \"name\": \"\xd0\x9e\xd0\xbb\xd0\xb5\xd0\xb3 \xd0\x9f\xd0\xb5\xd1\x82"
        "\xd1\x80\xd0\xbe\xd0\xb2\"},"
        " \"text\": \"Same question \xf0\x9f\x99\x82\","
        " \"created_at\": \"2018-12-26T13:01:50.000Z\"}",
        meta_test_piece(doc, 0, "changes", 1)) == 0);

    CHECK(v[2].type == CONNECTOR_EVENT_EDIT);
    CHECK_STR(v[2].id, "facebook:139560936744456_1001");
    CHECK_STR(item_id(v[2].item), "facebook:139560936744456_1001");
    CHECK_STR(item_text(v[2].item), "Where is my order #123?");

    CHECK(v[3].type == CONNECTOR_EVENT_DELETE);
    CHECK_STR(v[3].id, "facebook:139560936744456_1003");
    CHECK(v[3].item == NULL && v[3].actor_id == NULL);
    CHECK(v[3].time_ms == 1545829320000LL);
    CHECK(json_equal(v[3].raw, meta_test_piece(doc, 0, "changes", 3)));

    CHECK(v[4].type == CONNECTOR_EVENT_HIDE);
    CHECK_STR(v[4].id, "facebook:139560936744456_1004");
    CHECK(v[5].type == CONNECTOR_EVENT_UNHIDE);
    CHECK_STR(v[5].id, "facebook:139560936744456_1004");

    CHECK(v[6].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[6].reason, "feed item other than a comment");
    CHECK_STR(v[6].id, "");

    /* A photo-only comment: empty text and an image. */
    CHECK(v[7].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(v[7].item,
        "{\"id\": \"facebook:139560936744456_1005\","
        " \"platform\": \"facebook\", \"native_id\": \"139560936744456_1005\","
        " \"kind\": \"comment\", \"account\": {\"id\": \"" FB_PAGE "\"},"
        " \"conversation\": \"137542570280222_139560936744456\","
        " \"author\": {\"id\": \"1440971912666228\", \"name\": \"Jane Doe\"},"
        " \"text\": \"\", \"created_at\": \"2018-12-26T13:02:40.000Z\","
        " \"attachments\": [{\"type\": \"image\", \"url\":"
        " \"https://scontent.xx.fbcdn.net/v/t1.0-9/photo.jpg\"}]}",
        NULL) == 0);

    CHECK(v[8].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[8].reason, "our own comment");
    CHECK_STR(v[8].id, "facebook:139560936744456_1006");

    /* An entry for a page we do not serve. */
    CHECK(v[9].type == CONNECTOR_EVENT_IGNORED);
    CHECK(v[9].account == NULL);
    CHECK_STR(v[9].reason, "account not configured");

    /* A second configured page in the same batch. */
    CHECK(v[10].type == CONNECTOR_EVENT_NEW);
    CHECK(v[10].account == &meta_test_accounts[1]);
    CHECK_STR(item_account(v[10].item), FB_PAGE_B);
    CHECK_STR(item_id(v[10].item), "facebook:333_444");
out:
    connector_events_free(&ev);
    json_decref(doc);
    return rc;
}

static int
test_messenger_batch(void)
{
    struct connector_events ev = { 0 };
    json_t *doc = NULL;
    struct connector_event *v;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("facebook/messenger_batch.json", &ev, &doc,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 7);
    v = ev.v;
    CHECK(v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(v[0].item,
        "{\"id\": \"facebook:m_AAA1\", \"platform\": \"facebook\","
        " \"native_id\": \"m_AAA1\", \"kind\": \"dm\","
        " \"account\": {\"id\": \"" MSG_PAGE "\"},"
        " \"conversation\": \"1423587017700273\", \"parent\": \"m_AAA0\","
        " \"author\": {\"id\": \"1423587017700273\"},"
        " \"text\": \"See the photo\","
        " \"created_at\": \"2017-04-10T03:52:43.181Z\","
        " \"attachments\": ["
        " {\"type\": \"image\","
        " \"url\": \"https://scontent.xx.fbcdn.net/v/a.jpg\"},"
        " {\"type\": \"sticker\","
        " \"url\": \"https://scontent.xx.fbcdn.net/v/sticker.png\"},"
        " {\"type\": \"link\", \"url\": \"https://example.com/article\"},"
        " {\"type\": \"other\"}]}",
        meta_test_piece(doc, 0, "messaging", 0)) == 0);
    CHECK(item_has_link(v[0].item));

    CHECK(v[1].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[1].reason, "echo of our own message");
    CHECK_STR(v[1].id, "facebook:m_AAA2");
    CHECK(v[2].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[2].reason, "delivery receipt");
    CHECK(v[3].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[3].reason, "read receipt");

    CHECK(v[4].type == CONNECTOR_EVENT_EDIT);
    CHECK_STR(v[4].id, "facebook:m_AAA1");
    CHECK_STR(item_text(v[4].item), "See the photo, please");
    CHECK(item_kind(v[4].item) == ITEM_KIND_DM);
    CHECK(item_created_ms(v[4].item) == 1491796367000LL);

    CHECK(v[5].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[5].reason, "postback (button press)");

    CHECK(v[6].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(v[6].item,
        "{\"id\": \"facebook:m_AAA3\", \"platform\": \"facebook\","
        " \"native_id\": \"m_AAA3\", \"kind\": \"dm\","
        " \"account\": {\"id\": \"" MSG_PAGE "\"},"
        " \"conversation\": \"1423587017700273\","
        " \"author\": {\"id\": \"1423587017700273\"}, \"text\": \"\","
        " \"created_at\": \"2017-04-10T03:52:49.000Z\","
        " \"attachments\": [{\"type\": \"file\","
        " \"url\": \"https://cdn.fbsbx.com/v/invoice.pdf\"}]}", NULL) == 0);
out:
    connector_events_free(&ev);
    json_decref(doc);
    return rc;
}

static int
test_instagram_batch(void)
{
    struct connector_events ev = { 0 };
    struct connector_event *v;
    json_t *j = NULL;
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_file("instagram/instagram_batch.json", &ev, NULL,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 5);
    v = ev.v;
    CHECK(v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(v[0].item,
        "{\"id\": \"instagram:18034567890123457\","
        " \"platform\": \"instagram\", \"native_id\": \"18034567890123457\","
        " \"kind\": \"reply\", \"account\": {\"id\": \"" IG_ACCOUNT "\"},"
        " \"conversation\": \"17999888777666555\","
        " \"parent\": \"18034567890123456\","
        " \"author\": {\"id\": \"7012345678901235\","
        " \"name\": \"second_user\"},"
        " \"text\": \"Me too!\", \"created_at\": \"2024-08-19T09:17:01.000Z\"}",
        NULL) == 0);
    CHECK(v[1].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[1].reason, "our own comment");
    CHECK_STR(v[1].id, "instagram:18034567890123458");
    CHECK(v[2].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(v[2].reason, "webhook field not handled");
    /* The user unsent a DM. */
    CHECK(v[3].type == CONNECTOR_EVENT_DELETE);
    CHECK(strncmp(v[3].id, "instagram:aWdfZAG1", 18) == 0);
    CHECK(v[3].time_ms == 1724059199000LL);
    /* A reply to a story has no message parent. */
    CHECK(v[4].type == CONNECTOR_EVENT_NEW);
    CHECK(item_kind(v[4].item) == ITEM_KIND_DM);
    CHECK_STR(item_text(v[4].item), "Love this story");
    CHECK((j = item_to_json(v[4].item)) != NULL);
    CHECK(json_object_get(j, "parent") == NULL);
out:
    json_decref(j);
    connector_events_free(&ev);
    return rc;
}

static int
test_self_ids(void)
{
    static const char *const selves[] = { "1440971912666228" };
    const struct connector_account acct = {
        .platform = CONNECTOR_FACEBOOK, .id = FB_PAGE,
        .self_ids = selves, .nself_ids = 1,
    };
    const char *ig = "{\"object\": \"instagram\", \"entry\": [{"
        "\"id\": \"" FB_PAGE "\", \"changes\": []}]}";
    struct connector_events ev = { 0 };
    char *body = NULL, err[256];
    size_t len;
    int rc = 0;

    CHECK((body = conn_check_load("facebook/feed_comment_add.json", &len)));
    CHECK(meta_parse(&acct, 1, body, len, &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].reason, "our own comment");
    connector_events_free(&ev);
    /* Same page id on Instagram is a different account. */
    CHECK(meta_parse(&acct, 1, ig, strlen(ig), &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].reason, "account not configured");
out:
    connector_events_free(&ev);
    xfree(body);
    return rc;
}

/* ---------------------------------------------------------------------
 * Hostile input
 * ------------------------------------------------------------------ */

#define META_CHANGE(value) "{\"object\": \"page\", \"entry\": [{\"id\": \"" \
    FB_PAGE "\", \"time\": 1545829400, \"changes\": [{\"field\": \"feed\", " \
    "\"value\": " value "}]}]}"
#define META_FEED(extra) META_CHANGE("{\"item\": \"comment\", \"verb\": " \
    "\"add\", \"comment_id\": \"1_2\", \"post_id\": \"" FB_PAGE "_1\", " \
    "\"from\": {\"id\": \"42\"}" extra "}")
#define META_MSG(item) "{\"object\": \"page\", \"entry\": [{\"id\": \"" \
    MSG_PAGE "\", \"messaging\": [" item "]}]}"

static int
test_malformed(void)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        { "", "body: not JSON" },
        { "not json", "body: not JSON" },
        { "{\"object\": \"page\", \"entry\": []} trailing", "body: not JSON" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": 1}]", "not JSON" },
        { "{\"a\": 99999999999999999999999}", "too big integer" },
        { "{\"a\": \"\xff\xfe\"}", "unable to decode byte 0xff" },
        { "{\"a\": \"\\u0000\"}", "not JSON" },
        { "{\"a\": \"\\ud83d\"}", "invalid Unicode" },
        { "[1, 2]", "body: expected a JSON object" },
        { "\"page\"", "body: not JSON" },
        { "{}", "body.object: missing" },
        { "{\"object\": 1}", "body.object: expected a string" },
        { "{\"object\": \"page\"}", "body.entry: missing" },
        { "{\"object\": \"page\", \"entry\": {}}",
            "body.entry: expected an array" },
        { "{\"object\": \"page\", \"entry\": [1]}",
            "entry[0]: expected an object" },
        { "{\"object\": \"page\", \"entry\": [{}]}", "entry[0].id: missing" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": {}}]}",
            "entry[0].id: expected a string or an integer" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": 1.5}]}",
            "entry[0].id: expected a string or an integer" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"a b\"}]}",
            "entry[0].id: not an id" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"\"}]}",
            "entry[0].id: not an id" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"" FB_PAGE "\","
            " \"time\": \"now\"}]}", "entry[0].time: expected an integer" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"" FB_PAGE "\","
            " \"changes\": {}}]}", "entry[0].changes: expected an array" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"" FB_PAGE "\","
            " \"changes\": [7]}]}", "entry[0].changes[0]: expected an object" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"" FB_PAGE "\","
            " \"changes\": [{\"value\": {}}]}]}",
            "entry[0].changes[0].field: missing" },
        { "{\"object\": \"page\", \"entry\": [{\"id\": \"" FB_PAGE "\","
            " \"changes\": [{\"field\": \"feed\", \"value\": []}]}]}",
            "entry[0].changes[0].value: expected an object" },
        { META_CHANGE("{\"verb\": \"add\"}"),
            "entry[0].changes[0].value.item: missing" },
        { META_CHANGE("{\"item\": \"comment\"}"),
            "entry[0].changes[0].value.verb: missing" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": 3}"),
            "entry[0].changes[0].value.verb: expected a string" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\"}"),
            "entry[0].changes[0].value.comment_id: missing" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\","
            " \"comment_id\": \"1_2\"}"),
            "entry[0].changes[0].value.from: missing" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\","
            " \"comment_id\": \"1_2\", \"from\": \"42\"}"),
            "entry[0].changes[0].value.from: expected an object" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\","
            " \"comment_id\": \"1_2\", \"from\": {\"id\": true}}"),
            "entry[0].changes[0].value.from.id: expected a string or an "
            "integer" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\","
            " \"comment_id\": \"1_2\", \"from\": {\"id\": \"42\"}}"),
            "entry[0].changes[0].value.post_id: missing" },
        { META_CHANGE("{\"item\": \"comment\", \"verb\": \"add\","
            " \"comment_id\": \"1_2\", \"from\": {\"id\": \"42\"},"
            " \"post_id\": null}"),
            "entry[0].changes[0].value.post_id: missing" },
        { META_FEED(", \"message\": 5"),
            "entry[0].changes[0].value.message: expected a string" },
        { META_FEED(", \"message\": [\"x\"]"),
            "entry[0].changes[0].value.message: expected a string" },
        { META_FEED(", \"parent_id\": {\"id\": 1}"),
            "entry[0].changes[0].value.parent_id: expected a string" },
        { META_FEED(", \"created_time\": \"2018\""),
            "entry[0].changes[0].value.created_time: expected an integer" },
        { META_FEED(", \"created_time\": 1e10"),
            "entry[0].changes[0].value.created_time: expected an integer" },
        { META_FEED(", \"created_time\": 9223372036854775807"),
            "entry[0].changes[0].value.created_time: time out of range" },
        { META_FEED(", \"created_time\": -1"),
            "entry[0].changes[0].value.created_time: time out of range" },
        { META_MSG("{\"message\": {\"mid\": \"m_1\", \"text\": \"x\"}}"),
            "entry[0].messaging[0].sender: missing" },
        { META_MSG("{\"sender\": {}, \"message\": {\"mid\": \"m_1\"}}"),
            "entry[0].messaging[0].sender.id: missing" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"message\": {}}"),
            "entry[0].messaging[0].message.mid: missing" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"message\": \"hi\"}"),
            "entry[0].messaging[0].message: expected an object" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"timestamp\": \"1\","
            " \"message\": {\"mid\": \"m_1\"}}"),
            "entry[0].messaging[0].timestamp: expected an integer" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"timestamp\": -5,"
            " \"message\": {\"mid\": \"m_1\"}}"),
            "entry[0].messaging[0].timestamp: time out of range" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"message\":"
            " {\"mid\": \"m_1\", \"attachments\": {}}}"),
            "entry[0].messaging[0].message.attachments: expected an array" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"message\":"
            " {\"mid\": \"m_1\", \"attachments\": [3]}}"),
            "entry[0].messaging[0].message.attachments[0]: expected an "
            "object" },
        { META_MSG("{\"sender\": {\"id\": \"7\"}, \"message\":"
            " {\"mid\": \"m_1\", \"text\": {}}}"),
            "entry[0].messaging[0].message.text: expected a string" },
        { META_MSG("7"), "entry[0].messaging[0]: expected an object" },
    };
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        int r = meta_test_parse_str(cases[i].body, &ev, err, sizeof(err));

        if (r != -1 || ev.n != 0 || strstr(err, cases[i].err) == NULL)
            fprintf(stderr, "  case %zu: rc %d, %zu events, err \"%s\""
                " for %s\n", i, r, ev.n, err, cases[i].body);
        CHECK(r == -1);
        CHECK(ev.n == 0);
        CHECK_CONTAINS(err, cases[i].err);
        /* err is one printable ASCII line. */
        for (const char *p = err; *p != '\0'; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
    }
    /* NULL body, tiny err buffer, no err buffer. */
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, NULL, 0, &ev,
        err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "body: no body");
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, "[", 1, &ev,
        err, 5) == -1);
    CHECK(strlen(err) == 4);
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, "[", 1, &ev,
        NULL, 0) == -1);
    CHECK(ev.n == 0);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_hostile_sizes(void)
{
    struct connector_events ev = { 0 };
    char *deep = NULL, *body = NULL, *big = NULL, err[256];
    size_t len;
    int rc = 0;

    /* 10,000 levels of nesting stop at jansson's depth limit. */
    CHECK((deep = conn_check_deep(10000)) != NULL);
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, deep, 20000,
        &ev, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "maximum parsing depth");
    CHECK(ev.n == 0);

    /* A truncated body (the file ends in "}\n"). */
    CHECK((body = conn_check_load("facebook/feed_comment_add.json", &len)));
    for (size_t cut = 2; cut < len; cut += 37) {
        CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, body,
            len - cut, &ev, err, sizeof(err)) == -1);
        CHECK(ev.n == 0);
    }

    /* 70,000 bytes of text: the item refuses it, with the path. */
    CHECK((big = xmalloc(80000)) != NULL);
    len = (size_t)snprintf(big, 80000, "%s", META_FEED(", \"message\": \""));
    len -= strlen("}}]}]}");
    memset(big + len, 'a', 70000);
    len += 70000;
    memcpy(big + len, "\"}}]}]}", 8);
    len += 7;
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, big, len, &ev,
        err, sizeof(err)) == -1);
    CHECK_STR(err, "entry[0].changes[0].value: text: longer than 65536 "
        "bytes");
    CHECK(ev.n == 0);
out:
    connector_events_free(&ev);
    xfree(big);
    xfree(body);
    xfree(deep);
    return rc;
}

/* Good events survive a broken neighbour; err names the first problem. */
static int
test_partial(void)
{
    const char *body = "{\"object\": \"page\", \"entry\": [{\"id\": \""
        FB_PAGE "\", \"time\": 1545829400, \"changes\": ["
        "{\"field\": \"feed\", \"value\": {\"item\": \"comment\","
        " \"verb\": \"add\", \"comment_id\": \"1_2\"}},"
        "{\"field\": \"feed\", \"value\": {\"item\": \"comment\","
        " \"verb\": \"add\", \"comment_id\": \"1_3\", \"post_id\": \"1\","
        " \"from\": {\"id\": \"42\"}, \"message\": \"fine\"}},"
        "{\"field\": \"feed\", \"value\": 5}]},"
        "{\"id\": \"" MSG_PAGE "\", \"messaging\": ["
        "{\"sender\": {\"id\": \"9\"}, \"timestamp\": 1491796363181,"
        " \"message\": {\"mid\": \"m_9\", \"text\": \"also fine\"}}]}]}";
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    CHECK(meta_test_parse_str(body, &ev, err, sizeof(err)) == -1);
    CHECK_STR(err, "entry[0].changes[0].value.from: missing (+1 more)");
    CHECK(ev.n == 2);
    CHECK_STR(ev.v[0].id, "facebook:1_3");
    CHECK_STR(item_text(ev.v[0].item), "fine");
    /* No created_time: entry.time (seconds) stands in. */
    CHECK(item_created_ms(ev.v[0].item) == 1545829400000LL);
    CHECK_STR(ev.v[1].id, "facebook:m_9");
    /* The caller may take an item; free leaves it alone then. */
    {
        struct item *it = ev.v[1].item;

        ev.v[1].item = NULL;
        connector_events_free(&ev);
        CHECK(ev.n == 0 && ev.v == NULL);
        CHECK_STR(item_text(it), "also fine");
        item_free(it);
    }
    /* Unknown objects and types are understood and ignored. */
    CHECK(meta_test_parse_str("{\"object\": \"user\", \"entry\": [1]}", &ev,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK(ev.v[0].account == NULL);
    CHECK_STR(ev.v[0].reason, "webhook object not handled");
    connector_events_free(&ev);
    CHECK(meta_test_parse_str(META_CHANGE("{\"item\": \"comment\", \"verb\":"
        " \"block\", \"comment_id\": \"1_2\"}"), &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].reason, "feed verb not handled");
    CHECK_STR(ev.v[0].id, "facebook:1_2");
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_events_misc(void)
{
    struct connector_events ev = { 0 };
    int rc = 0;

    connector_events_free(NULL);
    connector_events_free(&ev);
    CHECK_STR(connector_event_type_name(CONNECTOR_EVENT_NEW), "new");
    CHECK_STR(connector_event_type_name(CONNECTOR_EVENT_UNHIDE), "unhide");
    CHECK_STR(connector_event_type_name(CONNECTOR_EVENT_IGNORED), "ignored");
    CHECK_STR(connector_event_type_name(CONNECTOR_EVENT_COUNT_), "unknown");
out:
    return rc;
}

/* Fail every allocation in turn: no crash, no leak, never a wrong 0. */
static int
test_alloc_torture(void)
{
    struct connector_events ev = { 0 };
    char *body = NULL, err[256];
    size_t len, full;
    unsigned long n;
    int rc = 0, r;

    CHECK((body = conn_check_load("facebook/messenger_batch.json", &len)));
    alloc_fail_after(0);
    CHECK(meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, body, len,
        &ev, err, sizeof(err)) == 0);
    full = ev.n;
    connector_events_free(&ev);
    for (n = 1; n < 100000; n++) {
        alloc_fail_after(n);
        r = meta_parse(meta_test_accounts, META_TEST_NACCOUNTS, body, len,
            &ev, err, sizeof(err));
        alloc_fail_after(0);
        if (r == -1)
            CHECK(ev.n < full || strstr(err, "out of memory") != NULL ||
                strstr(err, "not JSON") != NULL);
        if (r == 0) {
            CHECK(ev.n == full);
            break;
        }
        connector_events_free(&ev);
    }
    CHECK(n > 1 && n < 100000);
out:
    alloc_fail_after(0);
    connector_events_free(&ev);
    xfree(body);
    return rc;
}

static const struct check_case cases[] = {
    { "signature_vector", test_signature_vector },
    { "signature_vector_parses", test_signature_vector_parses },
    { "handshake", test_handshake },
    { "feed_comment_add", test_feed_comment_add },
    { "feed_comment_by_page", test_feed_comment_by_page },
    { "messenger_text", test_messenger_text },
    { "instagram_samples", test_instagram_samples },
    { "feed_batch", test_feed_batch },
    { "messenger_batch", test_messenger_batch },
    { "instagram_batch", test_instagram_batch },
    { "self_ids", test_self_ids },
    { "malformed", test_malformed },
    { "hostile_sizes", test_hostile_sizes },
    { "partial", test_partial },
    { "events_misc", test_events_misc },
    { "alloc_torture", test_alloc_torture },
};

CHECK_MAIN(cases)
