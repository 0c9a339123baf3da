/*
 * conn_telegram_test: Telegram Bot API updates. The webhook secret header,
 * every shared sample (webhook updates, getUpdates responses, errors)
 * parsed to its exact items, replies, edits, media captions, forum
 * topics, service messages and other ignored updates, the getUpdates
 * offset with a poisoned update, hostile bodies, and an allocation-failure
 * run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "conn_check.h"
#include "connector.h"
#include "item.h"

#define TG_BOT "123456789"
#define TG_SECRET "tg-secret_ABC-123"

static const struct connector_account tg_test_bot = {
    .platform = CONNECTOR_TELEGRAM, .id = TG_BOT,
    .telegram_secret = TG_SECRET,
};

static int
tg_test_file(const char *rel, int64_t *update_id,
    struct connector_events *ev, json_t **message, char *err, size_t errlen)
{
    size_t len;
    char *body = conn_check_load(rel, &len);
    json_t *doc;
    int rc;

    if (body == NULL)
        return -2;
    rc = telegram_parse_update(&tg_test_bot, body, len, update_id, ev, err,
        errlen);
    if (message != NULL) {
        doc = json_loadb(body, len, 0, NULL);
        *message = json_incref(json_object_get(doc, "message"));
        json_decref(doc);
    }
    xfree(body);
    return rc;
}

static int
tg_test_str(const char *body, int64_t *update_id,
    struct connector_events *ev, char *err, size_t errlen)
{
    return telegram_parse_update(&tg_test_bot, body, strlen(body), update_id,
        ev, err, errlen);
}

static int
tg_test_poll_file(const char *rel, struct telegram_poll *poll,
    struct connector_events *ev, char *err, size_t errlen)
{
    size_t len;
    char *body = conn_check_load(rel, &len);
    int rc;

    if (body == NULL)
        return -2;
    rc = telegram_parse_updates(&tg_test_bot, body, len, poll, ev, err,
        errlen);
    xfree(body);
    return rc;
}

static int
test_verify_secret(void)
{
    int rc = 0;

    CHECK(telegram_verify_secret(TG_SECRET, "tg-secret_ABC-123") == 0);
    CHECK(telegram_verify_secret(TG_SECRET, "tg-secret_ABC-124") == -1);
    CHECK(telegram_verify_secret(TG_SECRET, "tg-secret_ABC-12") == -1);
    CHECK(telegram_verify_secret(TG_SECRET, "tg-secret_ABC-1234") == -1);
    CHECK(telegram_verify_secret(TG_SECRET, "") == -1);
    CHECK(telegram_verify_secret(TG_SECRET, NULL) == -1);
    /* No secret configured: every request passes (config decides). */
    CHECK(telegram_verify_secret(NULL, NULL) == 0);
    CHECK(telegram_verify_secret(NULL, "anything") == 0);
out:
    return rc;
}

/* ---------------------------------------------------------------------
 * Shared samples
 * ------------------------------------------------------------------ */

static int
test_update_message_text(void)
{
    struct connector_events ev = { 0 };
    json_t *msg = NULL;
    int64_t uid = 0;
    char err[256];
    int rc = 0;

    CHECK(tg_test_file("telegram/update_message_text.json", &uid, &ev, &msg,
        err, sizeof(err)) == 0);
    CHECK(uid == 10000);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].account == &tg_test_bot);
    CHECK(ev.v[0].time_ms == 1441645532000LL);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:" TG_BOT "_1111111_1365\","
        " \"platform\": \"telegram\","
        " \"native_id\": \"" TG_BOT "_1111111_1365\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"1111111\","
        " \"author\": {\"id\": \"1111111\","
        " \"name\": \"Test Firstname Test Lastname\"},"
        " \"text\": \"/start\", \"created_at\": \"2015-09-07T17:05:32.000Z\"}",
        msg) == 0);
out:
    json_decref(msg);
    connector_events_free(&ev);
    return rc;
}

static int
test_update_message_reply(void)
{
    struct connector_events ev = { 0 };
    json_t *msg = NULL;
    char err[256];
    int rc = 0;

    CHECK(tg_test_file("telegram/update_message_reply.json", NULL, &ev, &msg,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    /* A reply in a private chat is still a DM, with its parent. */
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:" TG_BOT "_1111111_1365\","
        " \"platform\": \"telegram\","
        " \"native_id\": \"" TG_BOT "_1111111_1365\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"1111111\","
        " \"parent\": \"" TG_BOT "_1111111_1334\","
        " \"author\": {\"id\": \"1111111\","
        " \"name\": \"Test Firstname Test Lastname\"},"
        " \"text\": \"/start\", \"created_at\": \"2015-09-07T17:05:32.000Z\"}",
        msg) == 0);
out:
    json_decref(msg);
    connector_events_free(&ev);
    return rc;
}

static int
test_get_updates(void)
{
    struct connector_events ev = { 0 };
    struct telegram_poll poll = { .next_offset = 544181547 };
    char err[256];
    int rc = 0;

    CHECK(tg_test_poll_file("telegram/getUpdates_response.json", &poll, &ev,
        err, sizeof(err)) == 0);
    CHECK(poll.next_offset == 544181549);
    CHECK(poll.error_code == 0 && poll.retry_after == 0);
    CHECK(ev.n == 2);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:" TG_BOT "_336435018_19\","
        " \"platform\": \"telegram\","
        " \"native_id\": \"" TG_BOT "_336435018_19\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"336435018\","
        " \"author\": {\"id\": \"336435018\", \"name\": \"ray\"},"
        " \"text\": \"hello\", \"created_at\": \"2017-06-21T12:55:44.000Z\"}",
        NULL) == 0);
    CHECK(conn_check_item(ev.v[1].item,
        "{\"id\": \"telegram:-1001234567890_20\","
        " \"platform\": \"telegram\", \"native_id\": \"-1001234567890_20\","
        " \"kind\": \"comment\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"-1001234567890\","
        " \"author\": {\"id\": \"336435018\", \"name\": \"ray\"},"
        " \"text\": \"buy cheap followers at example dot com\","
        " \"created_at\": \"2017-06-21T12:56:41.000Z\","
        " \"permalink\": \"https://t.me/c/1234567890/20\"}", NULL) == 0);
    connector_events_free(&ev);

    CHECK(tg_test_poll_file("telegram/getUpdates_empty_response.json", &poll,
        &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 0 && poll.next_offset == 544181549);

    /* Offsets only move forward. */
    poll.next_offset = 600000000;
    CHECK(tg_test_poll_file("telegram/getUpdates_response.json", &poll, &ev,
        err, sizeof(err)) == 0);
    CHECK(poll.next_offset == 600000000);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_get_updates_errors(void)
{
    struct connector_events ev = { 0 };
    struct telegram_poll poll = { .next_offset = 77 };
    char err[256];
    int rc = 0;

    CHECK(tg_test_poll_file("telegram/error_429_flood.json", &poll, &ev, err,
        sizeof(err)) == -1);
    CHECK(poll.error_code == 429 && poll.retry_after == 35);
    CHECK(poll.next_offset == 77);
    CHECK_STR(err, "getUpdates: 429 Too Many Requests: retry after 35");
    CHECK(ev.n == 0);

    CHECK(tg_test_poll_file("telegram/error_409_conflict_webhook.json", &poll,
        &ev, err, sizeof(err)) == -1);
    CHECK(poll.error_code == 409 && poll.retry_after == 0);
    CHECK_CONTAINS(err, "getUpdates: 409 Conflict: can't use getUpdates");
    CHECK(ev.n == 0 && poll.next_offset == 77);
out:
    connector_events_free(&ev);
    return rc;
}

/* ---------------------------------------------------------------------
 * Message shapes
 * ------------------------------------------------------------------ */

static int
test_group_shapes(void)
{
    struct connector_events ev = { 0 };
    char err[256], buf[256];
    int rc = 0;

    CHECK(tg_test_file("telegram/update_supergroup_reply.json", NULL, &ev,
        NULL, err, sizeof(err)) == 0);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:-1001876543210_48213\","
        " \"platform\": \"telegram\", \"native_id\": \"-1001876543210_48213\","
        " \"kind\": \"reply\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"-1001876543210\","
        " \"parent\": \"-1001876543210_48200\","
        " \"author\": {\"id\": \"512093847\","
        " \"name\": \"\xd0\x9e\xd0\xbb\xd1\x8c\xd0\xb3\xd0\xb0 \xd0\xa1\xd0\xbc"
        "\xd0\xb8\xd1\x80\xd0\xbd\xd0\xbe\xd0\xb2\xd0\xb0\"},"
        " \"text\": \"@acme_bot when does it ship?\","
        " \"created_at\": \"2017-06-21T12:58:20.000Z\","
        " \"permalink\": \"https://t.me/c/1876543210/48213\"}", NULL) == 0);
    connector_events_free(&ev);

    CHECK(tg_test_file("telegram/update_edited_message.json", NULL, &ev,
        NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_EDIT);
    CHECK_STR(ev.v[0].id, "telegram:-1001234567890_20");
    CHECK_STR(item_text(ev.v[0].item), "buy followers (edited)");
    /* The original time, not edit_date. */
    CHECK(item_created_ms(ev.v[0].item) == 1498049801000LL);
    CHECK_STR(conn_check_field(ev.v[0].item, "permalink", buf, sizeof(buf)),
        "https://t.me/acme_support/20");
    connector_events_free(&ev);

    CHECK(tg_test_file("telegram/update_photo_caption.json", NULL, &ev, NULL,
        err, sizeof(err)) == 0);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:" TG_BOT "_336435018_21\","
        " \"platform\": \"telegram\","
        " \"native_id\": \"" TG_BOT "_336435018_21\","
        " \"kind\": \"dm\", \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"336435018\","
        " \"author\": {\"id\": \"336435018\", \"name\": \"ray\"},"
        " \"text\": \"broken on arrival\","
        " \"created_at\": \"2017-06-21T12:57:30.000Z\","
        " \"attachments\": [{\"type\": \"image\"}]}", NULL) == 0);
    connector_events_free(&ev);

    /* In a forum, the topic's opening message is a thread, not a parent. */
    CHECK(tg_test_file("telegram/update_forum_topic.json", NULL, &ev, NULL,
        err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(item_kind(ev.v[0].item) == ITEM_KIND_COMMENT);
    CHECK_STR(conn_check_field(ev.v[0].item, "parent", buf, sizeof(buf)),
        "");
out:
    connector_events_free(&ev);
    return rc;
}

#define TG_MSG(extra) "{\"update_id\": 7, \"message\": {\"message_id\": 5," \
    " \"date\": 1498049744, \"chat\": {\"id\": -1001234567890," \
    " \"type\": \"supergroup\"}" extra "}}"

static int
test_ignored(void)
{
    static const struct {
        const char *body;
        const char *reason;
        const char *id;
    } cases[] = {
        { TG_MSG(", \"from\": {\"id\": 336435018}, \"new_chat_members\": []"),
            "service message", "telegram:-1001234567890_5" },
        { TG_MSG(", \"from\": {\"id\": 336435018}, \"pinned_message\": {}"),
            "service message", "telegram:-1001234567890_5" },
        { TG_MSG(", \"from\": {\"id\": " TG_BOT "}, \"text\": \"hi\""),
            "our own message", "telegram:-1001234567890_5" },
        { TG_MSG(", \"from\": {\"id\": 777000}, \"sender_chat\": {\"id\":"
            " -1009, \"type\": \"channel\"}, \"is_automatic_forward\": true,"
            " \"text\": \"new post\""),
            "automatic forward of a channel post",
            "telegram:-1001234567890_5" },
        { "{\"update_id\": 7, \"channel_post\": {\"message_id\": 1}}",
            "channel post (our own)", "" },
        { "{\"update_id\": 7, \"message\": {\"message_id\": 5, \"chat\":"
            " {\"id\": -1009, \"type\": \"channel\"}, \"text\": \"x\"}}",
            "channel post (our own)", "" },
        { "{\"update_id\": 7, \"message_reaction\": {}}", "reaction", "" },
        { "{\"update_id\": 7, \"my_chat_member\": {}}", "membership change",
            "" },
        { "{\"update_id\": 7, \"purchased_paid_media\": {}}",
            "update type not handled", "" },
        { "{\"update_id\": 7}", "update type not handled", "" },
    };
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(tg_test_str(cases[i].body, NULL, &ev, err, sizeof(err)) == 0);
        CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
        CHECK_STR(ev.v[0].reason, cases[i].reason);
        CHECK_STR(ev.v[0].id, cases[i].id);
        connector_events_free(&ev);
    }
    CHECK(tg_test_file("telegram/update_service.json", NULL, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(tg_test_file("telegram/update_callback_query.json", NULL, &ev,
        NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 2);
    CHECK_STR(ev.v[0].reason, "service message");
    CHECK_STR(ev.v[1].reason, "callback query (button press)");
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_sender_chat_and_media(void)
{
    struct connector_events ev = { 0 };
    char err[256], buf[256];
    int rc = 0;

    /* An anonymous admin writes as the group itself. */
    CHECK(tg_test_str(TG_MSG(", \"from\": {\"id\": 1087968824,"
        " \"first_name\": \"Group\"}, \"sender_chat\": {\"id\": -1001234567890,"
        " \"title\": \"Support group\", \"type\": \"supergroup\"},"
        " \"text\": \"rules updated\""), NULL, &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK_STR(item_author_id(ev.v[0].item), "-1001234567890");
    CHECK_STR(item_author_name(ev.v[0].item), "Support group");
    connector_events_free(&ev);

    /* Media without text; an animation's "document" twin is skipped. */
    CHECK(tg_test_str(TG_MSG(", \"from\": {\"id\": 1, \"last_name\": \"Li\"},"
        " \"animation\": {\"file_id\": \"a\"}, \"document\": {\"file_id\":"
        " \"a\"}, \"sticker\": {\"file_id\": \"s\"}, \"voice\": {}"), NULL,
        &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"telegram:-1001234567890_5\", \"platform\": \"telegram\","
        " \"native_id\": \"-1001234567890_5\", \"kind\": \"comment\","
        " \"account\": {\"id\": \"" TG_BOT "\"},"
        " \"conversation\": \"-1001234567890\","
        " \"author\": {\"id\": \"1\", \"name\": \"Li\"}, \"text\": \"\","
        " \"created_at\": \"2017-06-21T12:55:44.000Z\","
        " \"permalink\": \"https://t.me/c/1234567890/5\","
        " \"attachments\": [{\"type\": \"video\"}, {\"type\": \"audio\"},"
        " {\"type\": \"sticker\"}]}", NULL) == 0);
    connector_events_free(&ev);

    /* A basic group has no t.me link. */
    CHECK(tg_test_str("{\"update_id\": 1, \"message\": {\"message_id\": 2,"
        " \"chat\": {\"id\": -4001, \"type\": \"group\"}, \"from\":"
        " {\"id\": 3}, \"text\": \"x\", \"reply_to_message\": {\"message_id\":"
        " 1, \"chat\": {\"id\": -4001}}}}", NULL, &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK_STR(ev.v[0].id, "telegram:-4001_2");
    CHECK(item_kind(ev.v[0].item) == ITEM_KIND_REPLY);
    CHECK_STR(conn_check_field(ev.v[0].item, "parent", buf, sizeof(buf)),
        "-4001_1");
    CHECK_STR(conn_check_field(ev.v[0].item, "permalink", buf, sizeof(buf)),
        "");
    /* No date: the created time is the receive time. */
    CHECK(item_created_ms(ev.v[0].item) == item_received_ms(ev.v[0].item));
    CHECK(json_object_get(ev.v[0].raw, "reply_to_message") != NULL);
out:
    connector_events_free(&ev);
    return rc;
}

/* ---------------------------------------------------------------------
 * Hostile input
 * ------------------------------------------------------------------ */

static int
test_malformed(void)
{
    static const struct {
        const char *body;
        const char *err;
        int64_t uid;
    } cases[] = {
        { "", "update: not JSON", -1 },
        { "[]", "update: expected an object", -1 },
        { "{}", "update.update_id: missing", -1 },
        { "{\"update_id\": \"7\"}", "update.update_id: expected an integer",
            -1 },
        { "{\"update_id\": 7, \"message\": 5}",
            "update.message: expected an object", 7 },
        { "{\"update_id\": 7, \"message\": {\"message_id\": 5}}",
            "update.message.chat: missing", 7 },
        { "{\"update_id\": 7, \"message\": {\"message_id\": 5,"
            " \"chat\": {\"type\": \"private\"}}}",
            "update.message.chat.id: missing", 7 },
        { "{\"update_id\": 7, \"message\": {\"message_id\": 5,"
            " \"chat\": {\"id\": \"-100\", \"type\": \"private\"}}}",
            "update.message.chat.id: expected an integer", 7 },
        { "{\"update_id\": 7, \"message\": {\"message_id\": 5,"
            " \"chat\": {\"id\": 1}}}", "update.message.chat.type: missing",
            7 },
        { "{\"update_id\": 7, \"message\": {\"chat\": {\"id\": 1,"
            " \"type\": \"private\"}}}", "update.message.message_id: missing",
            7 },
        { TG_MSG(", \"text\": \"x\""), "update.message.from: missing", 7 },
        { TG_MSG(", \"from\": {\"id\": 1.5}, \"text\": \"x\""),
            "update.message.from.id: expected a string or an integer", 7 },
        { TG_MSG(", \"from\": {\"id\": 1}, \"text\": 5"),
            "update.message.text: expected a string", 7 },
        { TG_MSG(", \"from\": {\"id\": 1}, \"caption\": []"),
            "update.message.caption: expected a string", 7 },
        { TG_MSG(", \"from\": {\"id\": 1}, \"reply_to_message\": 3"),
            "update.message.reply_to_message: expected an object", 7 },
        { TG_MSG(", \"from\": {\"id\": 1}, \"reply_to_message\": {}"),
            "update.message.reply_to_message.message_id: missing", 7 },
        { TG_MSG(", \"from\": {\"id\": 1}, \"text\": \"x\","
            " \"message_thread_id\": \"t\", \"reply_to_message\":"
            " {\"message_id\": 3}"),
            "update.message.message_thread_id: expected an integer", 7 },
        { "{\"update_id\": 7, \"edited_message\": {\"message_id\": 5,"
            " \"date\": -1, \"chat\": {\"id\": 1, \"type\": \"private\"},"
            " \"from\": {\"id\": 1}, \"text\": \"x\"}}",
            "update.edited_message.date: time out of range", 7 },
    };
    struct connector_events ev = { 0 };
    char err[256], *deep = NULL;
    int64_t uid;
    int rc = 0, r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        uid = 12345;
        r = tg_test_str(cases[i].body, &uid, &ev, err, sizeof(err));
        if (r != -1 || ev.n != 0 || strstr(err, cases[i].err) == NULL ||
            uid != cases[i].uid)
            fprintf(stderr, "  case %zu: rc %d, %zu events, uid %lld,"
                " err \"%s\"\n", i, r, ev.n, (long long)uid, err);
        CHECK(r == -1);
        CHECK(ev.n == 0);
        CHECK(uid == cases[i].uid);
        CHECK_CONTAINS(err, cases[i].err);
    }
    CHECK((deep = conn_check_deep(10000)) != NULL);
    CHECK(telegram_parse_update(&tg_test_bot, deep, 20000, &uid, &ev, err,
        sizeof(err)) == -1);
    CHECK_CONTAINS(err, "maximum parsing depth");
    CHECK(telegram_parse_update(NULL, "{}", 2, &uid, &ev, err,
        sizeof(err)) == -1);
    CHECK_STR(err, "account: no bot id configured");
    CHECK(ev.n == 0);
out:
    xfree(deep);
    connector_events_free(&ev);
    return rc;
}

static int
test_get_updates_hostile(void)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        { "{\"result\": []}", "body.ok: missing" },
        { "{\"ok\": \"true\", \"result\": []}", "body.ok: expected a boolean" },
        { "{\"ok\": true}", "body.result: missing" },
        { "{\"ok\": true, \"result\": {}}", "body.result: expected an array" },
        { "{\"ok\": false}", "getUpdates: 0 (no description)" },
        { "{\"ok\": false, \"error_code\": 99999999, \"description\":"
            " \"\\u001b[31mred\", \"parameters\": {\"retry_after\": -4}}",
            "getUpdates: 0 ?[31mred" },
        { "[{\"update_id\": 1}]", "body: expected a JSON object" },
    };
    /* A good update, a broken one, one without id, and a later one. */
    const char *poison = "{\"ok\": true, \"result\": ["
        "{\"update_id\": 5, \"message\": {\"message_id\": 1, \"date\": 1,"
        " \"chat\": {\"id\": 9, \"type\": \"private\"}, \"from\": {\"id\": 9},"
        " \"text\": \"fine\"}},"
        "{\"update_id\": 8, \"message\": {\"message_id\": 2}},"
        "{\"message\": {}},"
        "{\"update_id\": 6, \"callback_query\": {}}]}";
    struct connector_events ev = { 0 };
    struct telegram_poll poll;
    char err[256];
    int rc = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        poll.next_offset = 3;
        CHECK(telegram_parse_updates(&tg_test_bot, cases[i].body,
            strlen(cases[i].body), &poll, &ev, err, sizeof(err)) == -1);
        CHECK_CONTAINS(err, cases[i].err);
        CHECK(ev.n == 0 && poll.next_offset == 3);
        CHECK(poll.retry_after == 0);
    }
    poll.next_offset = 3;
    CHECK(telegram_parse_updates(&tg_test_bot, poison, strlen(poison), &poll,
        &ev, err, sizeof(err)) == -1);
    CHECK_STR(err, "result[1].message.chat: missing (+1 more)");
    CHECK(ev.n == 2);
    CHECK_STR(item_text(ev.v[0].item), "fine");
    CHECK(ev.v[1].type == CONNECTOR_EVENT_IGNORED);
    /* Past the broken update 8 too. */
    CHECK(poll.next_offset == 9);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_alloc_torture(void)
{
    struct connector_events ev = { 0 };
    struct telegram_poll poll;
    char *body = NULL, err[256];
    size_t len;
    unsigned long n;
    int rc = 0, r;

    CHECK((body = conn_check_load("telegram/getUpdates_response.json",
        &len)));
    for (n = 1; n < 100000; n++) {
        poll.next_offset = 0;
        alloc_fail_after(n);
        r = telegram_parse_updates(&tg_test_bot, body, len, &poll, &ev, err,
            sizeof(err));
        alloc_fail_after(0);
        if (r == 0) {
            CHECK(ev.n == 2 && poll.next_offset == 544181549);
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
    { "verify_secret", test_verify_secret },
    { "update_message_text", test_update_message_text },
    { "update_message_reply", test_update_message_reply },
    { "get_updates", test_get_updates },
    { "get_updates_errors", test_get_updates_errors },
    { "group_shapes", test_group_shapes },
    { "ignored", test_ignored },
    { "sender_chat_and_media", test_sender_chat_and_media },
    { "malformed", test_malformed },
    { "get_updates_hostile", test_get_updates_hostile },
    { "alloc_torture", test_alloc_torture },
};

CHECK_MAIN(cases)
