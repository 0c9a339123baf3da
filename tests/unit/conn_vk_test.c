/*
 * conn_vk_test: the VK Callback API. Envelope verification (group, secret,
 * confirmation), every shared sample parsed to its exact item, wall
 * comment replies with attachments, edits, restores, deletes, our own
 * comments and messages, chat messages, the pre-5.103 message layout,
 * hostile bodies, and an allocation-failure run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "conn_check.h"
#include "connector.h"
#include "item.h"

#define VK_TEST_SECRET "s3cr3tFromCommunitySettings"

static const struct connector_account vk_test_accounts[] = {
    { .platform = CONNECTOR_FACEBOOK, .id = "192764727" },
    { .platform = CONNECTOR_VK, .id = "192764727",
      .vk_secret = VK_TEST_SECRET, .vk_confirmation = "693d0ba9" },
    { .platform = CONNECTOR_VK, .id = "202308925",
      .vk_secret = VK_TEST_SECRET },
    { .platform = CONNECTOR_VK, .id = "1" },
};
#define VK_TEST_NACCOUNTS \
    (sizeof(vk_test_accounts) / sizeof(vk_test_accounts[0]))
#define VK_GROUP (&vk_test_accounts[1])
#define VK_GROUP2 (&vk_test_accounts[2])

#define VK_MSG(type, obj) "{\"group_id\": 192764727, \"type\": \"" type \
    "\", \"object\": " obj "}"
#define VK_WALL(extra) VK_MSG("wall_reply_new", "{\"id\": 9, \"post_id\": 1," \
    " \"owner_id\": -192764727" extra "}")

static int
vk_test_str(const struct connector_account *a, const char *body,
    struct connector_events *ev, char *err, size_t errlen)
{
    return vk_parse(a, body, strlen(body), NULL, ev, err, errlen);
}

static int
vk_test_verify_str(const char *body, struct vk_callback *cb, char *err,
    size_t errlen)
{
    return vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, body,
        strlen(body), cb, err, errlen);
}

/* Verify, then parse for the account verification found. */
static int
vk_test_run(const char *body, size_t len, struct vk_callback *cb,
    struct connector_events *ev, char *err, size_t errlen)
{
    char event_id[VK_EVENT_ID_MAX + 1];

    if (vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, body, len, cb, err,
        errlen) == -1)
        return -2;
    if (vk_parse(cb->account, body, len, event_id, ev, err, errlen) == -1)
        return -1;
    if (strcmp(event_id, cb->event_id) != 0)
        return -3;
    return 0;
}

static int
vk_test_file(const char *rel, struct vk_callback *cb,
    struct connector_events *ev, json_t **object, char *err, size_t errlen)
{
    size_t len;
    char *body = conn_check_load(rel, &len);
    json_t *doc;
    int rc;

    if (body == NULL)
        return -4;
    rc = vk_test_run(body, len, cb, ev, err, errlen);
    if (object != NULL) {
        doc = json_loadb(body, len, 0, NULL);
        *object = json_incref(json_object_get(doc, "object"));
        json_decref(doc);
    }
    xfree(body);
    return rc;
}

/* ---------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------ */

static int
test_confirmation(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    char err[256];
    int rc = 0;

    CHECK(vk_test_file("vk/confirmation.json", &cb, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(cb.confirmation);
    CHECK(cb.account == VK_GROUP);
    CHECK_STR(cb.reply, "693d0ba9");
    CHECK_STR(cb.type, "confirmation");
    CHECK_STR(cb.event_id, "2f1c6d1b7c5a4e0f9b3e8a7d6c5b4a3f2e1d0c9b");
    /* Parsing a confirmation anyway yields nothing to act on. */
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].reason, "confirmation request");

    /* No confirmation string configured: refuse, do not answer "ok". */
    CHECK(vk_test_verify_str("{\"type\": \"confirmation\", \"group_id\":"
        " 202308925, \"secret\": \"" VK_TEST_SECRET "\"}", &cb, err,
        sizeof(err)) == -1);
    CHECK_CONTAINS(err, "no confirmation string configured");
    CHECK(cb.account == NULL && cb.reply == NULL);
    /* The old form without event_id and v. */
    CHECK(vk_test_verify_str("{\"type\": \"confirmation\", \"group_id\":"
        " 192764727, \"secret\": \"" VK_TEST_SECRET "\"}", &cb, err,
        sizeof(err)) == 0);
    CHECK_STR(cb.reply, "693d0ba9");
    CHECK_STR(cb.event_id, "");
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_verify(void)
{
    static const struct {
        const char *body;
        const char *err;
    } bad[] = {
        { "", "body: not JSON" },
        { "[]", "body: expected a JSON object" },
        { "{\"type\": \"wall_reply_new\"}", "body.group_id: missing" },
        { "{\"group_id\": \"192764727\"}",
            "body.group_id: expected an integer" },
        { "{\"group_id\": -192764727}", "body.group_id: must be positive" },
        { "{\"group_id\": 5}", "body.group_id: community 5 is not "
            "configured" },
        { "{\"group_id\": 192764727, \"type\": \"message_new\"}",
            "body.secret: missing or wrong" },
        { "{\"group_id\": 192764727, \"type\": \"message_new\","
            " \"secret\": \"s3cr3tFromCommunitySettingz\"}",
            "body.secret: missing or wrong" },
        { "{\"group_id\": 192764727, \"type\": \"message_new\","
            " \"secret\": \"s3cr3t\"}", "body.secret: missing or wrong" },
        { "{\"group_id\": 192764727, \"type\": \"message_new\","
            " \"secret\": \"" VK_TEST_SECRET "x\"}",
            "body.secret: missing or wrong" },
        { "{\"group_id\": 192764727, \"type\": \"message_new\","
            " \"secret\": 12}", "body.secret: missing or wrong" },
        { "{\"group_id\": 192764727, \"secret\": \"" VK_TEST_SECRET "\"}",
            "body.type: missing" },
        { "{\"group_id\": 192764727, \"type\": [], \"secret\": \""
            VK_TEST_SECRET "\"}", "body.type: expected a string" },
    };
    struct vk_callback cb;
    char err[256], *body = NULL;
    size_t len;
    int rc = 0;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        memset(&cb, 0x5a, sizeof(cb));
        CHECK(vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, bad[i].body,
            strlen(bad[i].body), &cb, err, sizeof(err)) == -1);
        CHECK_CONTAINS(err, bad[i].err);
        CHECK(cb.account == NULL && !cb.confirmation && cb.reply == NULL);
        /* The configured secret never shows up in an error. */
        CHECK(strstr(err, VK_TEST_SECRET) == NULL);
    }

    CHECK((body = conn_check_load("vk/wall_reply_new.json", &len)));
    CHECK(vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, body, len, &cb, err,
        sizeof(err)) == 0);
    CHECK(cb.account == VK_GROUP && !cb.confirmation);
    CHECK_STR(cb.reply, "ok");
    CHECK_STR(cb.type, "wall_reply_new");
    CHECK_STR(cb.event_id, "9a7f3c1e5b2d4f6a8c0e1b3d5f7a9c2e4b6d8f0a");
    /* The same body with one secret byte changed. */
    {
        char *p = strstr(body, VK_TEST_SECRET);

        CHECK(p != NULL);
        p[3] = 'X';
        CHECK(vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, body, len, &cb,
            err, sizeof(err)) == -1);
        CHECK_STR(err, "body.secret: missing or wrong");
    }

    /* No secret configured: nothing to compare, the body is accepted. */
    CHECK(vk_test_verify_str("{\"group_id\": 1, \"type\": \"wall_reply_new\","
        " \"event_id\": \"has space\"}", &cb, err, sizeof(err)) == 0);
    CHECK(cb.account == &vk_test_accounts[3]);
    CHECK_STR(cb.event_id, "");
    /* A hostile type is cut and made printable. */
    CHECK(vk_test_verify_str("{\"group_id\": 1, \"type\": \"a\\nb\\u00e9"
        "cccccccccccccccccccccccccccccccccccccccccccccccc\"}", &cb, err,
        sizeof(err)) == 0);
    CHECK_STR(cb.type, "a?b??ccccccccccccccccccccccccccccccccccc");
out:
    xfree(body);
    return rc;
}

/* ---------------------------------------------------------------------
 * Wall comments
 * ------------------------------------------------------------------ */

static int
test_wall_reply_new(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    json_t *obj = NULL;
    char err[256];
    int rc = 0;

    CHECK(vk_test_file("vk/wall_reply_new.json", &cb, &ev, &obj, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].account == VK_GROUP);
    CHECK_STR(ev.v[0].id, "vk:-192764727_312");
    CHECK(ev.v[0].time_ms == 1614250994000LL);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"vk:-192764727_312\", \"platform\": \"vk\","
        " \"native_id\": \"-192764727_312\", \"kind\": \"comment\","
        " \"account\": {\"id\": \"192764727\"},"
        " \"conversation\": \"-192764727_310\","
        " \"author\": {\"id\": \"499047616\"}, \"text\": \"123\","
        " \"created_at\": \"2021-02-25T11:03:14.000Z\","
        " \"permalink\": \"https://vk.com/wall-192764727_310?reply=312\"}",
        obj) == 0);
out:
    json_decref(obj);
    connector_events_free(&ev);
    return rc;
}

static int
test_wall_reply_reply(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    json_t *obj = NULL;
    char err[256], buf[256];
    int rc = 0;

    CHECK(vk_test_file("vk/wall_reply_reply.json", &cb, &ev, &obj, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"vk:-192764727_315\", \"platform\": \"vk\","
        " \"native_id\": \"-192764727_315\", \"kind\": \"reply\","
        " \"account\": {\"id\": \"192764727\"},"
        " \"conversation\": \"-192764727_310\","
        " \"parent\": \"-192764727_314\","
        " \"author\": {\"id\": \"512093847\"}, \"text\": \"\","
        " \"created_at\": \"2021-02-25T11:05:00.000Z\","
        " \"permalink\": \"https://vk.com/wall-192764727_310?reply=315"
        "&thread=312\","
        " \"attachments\": ["
        " {\"type\": \"image\","
        " \"url\": \"https://sun9-1.userapi.com/s/v1/big.jpg\"},"
        " {\"type\": \"sticker\", \"url\": \"https://vk.com/sticker/1-9-512\"},"
        " {\"type\": \"video\","
        " \"url\": \"https://vk.com/video-192764727_456239018\"},"
        " {\"type\": \"other\"}]}", obj) == 0);
    /* A reply without reply_to_comment answers the last of the stack. */
    connector_events_free(&ev);
    CHECK(vk_test_str(VK_GROUP, "{\"group_id\": 192764727, \"type\":"
        " \"wall_reply_new\", \"object\": {\"id\": 9, \"from_id\": 5,"
        " \"post_id\": 1, \"owner_id\": -192764727, \"parents_stack\":"
        " [3, 7], \"text\": \"x\"}}", &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1);
    CHECK(item_kind(ev.v[0].item) == ITEM_KIND_REPLY);
    CHECK_STR(conn_check_field(ev.v[0].item, "parent", buf, sizeof(buf)),
        "-192764727_7");
    CHECK_STR(conn_check_field(ev.v[0].item, "permalink", buf, sizeof(buf)),
        "https://vk.com/wall-192764727_1?reply=9&thread=3");
out:
    json_decref(obj);
    connector_events_free(&ev);
    return rc;
}

static int
test_wall_edit_restore_delete(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    json_t *obj = NULL;
    char err[256];
    int rc = 0;

    CHECK(vk_test_file("vk/wall_reply_edit.json", &cb, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(vk_test_file("vk/wall_reply_restore.json", &cb, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(vk_test_file("vk/wall_reply_delete.json", &cb, &ev, &obj, err,
        sizeof(err)) == 0);
    CHECK(vk_test_file("vk/wall_reply_by_group.json", &cb, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 4);

    CHECK(ev.v[0].type == CONNECTOR_EVENT_EDIT);
    CHECK_STR(ev.v[0].id, "vk:-192764727_312");
    CHECK_STR(item_text(ev.v[0].item), "123 (edited)");
    CHECK(item_created_ms(ev.v[0].item) == 1614250994000LL);

    CHECK(ev.v[1].type == CONNECTOR_EVENT_RESTORE);
    CHECK_STR(ev.v[1].id, "vk:-192764727_313");
    CHECK_STR(item_text(ev.v[1].item), "back again");

    CHECK(ev.v[2].type == CONNECTOR_EVENT_DELETE);
    CHECK_STR(ev.v[2].id, "vk:-192764727_313");
    CHECK(ev.v[2].item == NULL);
    CHECK_STR(ev.v[2].actor_id, "499047616");
    CHECK(json_equal(ev.v[2].raw, obj));

    /* The community answering as itself (from_id = -group_id). */
    CHECK(ev.v[3].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[3].reason, "our own comment");
    CHECK_STR(ev.v[3].id, "vk:-192764727_316");
out:
    json_decref(obj);
    connector_events_free(&ev);
    return rc;
}

/* A user whose id equals the group's number is not us. */
static int
test_self_ids(void)
{
    static const char *const selves[] = { "77" };
    const struct connector_account acct = {
        .platform = CONNECTOR_VK, .id = "192764727",
        .self_ids = selves, .nself_ids = 1,
    };
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    CHECK(vk_test_str(&acct, VK_WALL(", \"from_id\": 192764727,"
        " \"text\": \"x\""), &ev, err, sizeof(err)) == 0);
    CHECK(vk_test_str(&acct, VK_WALL(", \"from_id\": 77, \"text\": \"x\""),
        &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 2);
    CHECK(ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK_STR(item_author_id(ev.v[0].item), "192764727");
    CHECK(ev.v[1].type == CONNECTOR_EVENT_IGNORED);
out:
    connector_events_free(&ev);
    return rc;
}

/*
 * An attachment without a type still shows: a comment with no text must
 * not become an item with nothing in it, which item_from_json (and so a
 * stored item read back) refuses. Found by tests/fuzz (vk).
 */
static int
test_untyped_attachment(void)
{
    struct connector_events ev = { 0 };
    json_t *j = NULL, *att;
    struct item *back = NULL;
    char err[256];
    int rc = 0;

    CHECK(vk_test_str(VK_GROUP, VK_WALL(", \"from_id\": 5, \"text\": \"\","
        " \"attachments\": [{\"photo\": {}}, 7]"), &ev, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK((j = item_to_json(ev.v[0].item)) != NULL);
    att = json_object_get(j, "attachments");
    CHECK(json_array_size(att) == 2);
    CHECK_STR(json_string_value(json_object_get(json_array_get(att, 0),
        "type")), "other");
    CHECK((back = item_from_json(j, NULL, err, sizeof(err))) != NULL);
out:
    item_free(back);
    json_decref(j);
    connector_events_free(&ev);
    return rc;
}

/* ---------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------ */

static int
test_message_new(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    json_t *obj = NULL;
    char err[256];
    int rc = 0;

    CHECK(vk_test_file("vk/message_new.json", &cb, &ev, &obj, err,
        sizeof(err)) == 0);
    CHECK(cb.account == VK_GROUP2);
    CHECK_STR(cb.event_id, "5d0f2b9a1c3e4d7f8a6b0c2e4f6a8b1d3e5f7a9c");
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"vk:202308925_326596496_295\", \"platform\": \"vk\","
        " \"native_id\": \"202308925_326596496_295\", \"kind\": \"dm\","
        " \"account\": {\"id\": \"202308925\"},"
        " \"conversation\": \"326596496\","
        " \"author\": {\"id\": \"326596496\"}, \"text\": \"Wwww\","
        " \"created_at\": \"2021-02-18T17:48:29.000Z\"}", obj) == 0);
out:
    json_decref(obj);
    connector_events_free(&ev);
    return rc;
}

static int
test_message_chat_and_legacy(void)
{
    struct connector_events ev = { 0 };
    struct vk_callback cb;
    char err[256];
    int rc = 0;

    CHECK(vk_test_file("vk/message_new_chat_reply.json", &cb, &ev, NULL,
        err, sizeof(err)) == 0);
    CHECK(vk_test_file("vk/message_new_legacy.json", &cb, &ev, NULL, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 2);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"vk:192764727_2000000003_57\", \"platform\": \"vk\","
        " \"native_id\": \"192764727_2000000003_57\", \"kind\": \"reply\","
        " \"account\": {\"id\": \"192764727\"},"
        " \"conversation\": \"2000000003\","
        " \"parent\": \"192764727_2000000003_55\","
        " \"author\": {\"id\": \"512093847\"},"
        " \"text\": \"\xd0\x9a\xd0\xbe\xd0\xb3\xd0\xb4\xd0\xb0 \xd0\xb1\xd1\x83"
        "\xd0\xb4\xd0\xb5\xd1\x82 \xd0\xb4\xd0\xbe\xd1\x81\xd1\x82\xd0\xb0\xd0"
        "\xb2\xd0\xba\xd0\xb0?\","
        " \"created_at\": \"2021-02-18T17:50:00.000Z\"}", NULL) == 0);
    CHECK(conn_check_item(ev.v[1].item,
        "{\"id\": \"vk:192764727_326596496_295\", \"platform\": \"vk\","
        " \"native_id\": \"192764727_326596496_295\", \"kind\": \"dm\","
        " \"account\": {\"id\": \"192764727\"},"
        " \"conversation\": \"326596496\","
        " \"author\": {\"id\": \"326596496\"}, \"text\": \"legacy\","
        " \"created_at\": \"2021-02-18T17:48:29.000Z\"}", NULL) == 0);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_ignored(void)
{
    static const struct {
        const char *body;
        const char *reason;
        const char *id;
    } cases[] = {
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 5, \"from_id\": 5,"
            " \"conversation_message_id\": 3, \"out\": 1, \"text\": \"x\"}}"),
            "our own message", "vk:192764727_5_3" },
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 2000000001,"
            " \"from_id\": -192764727, \"conversation_message_id\": 4,"
            " \"text\": \"x\"}}"), "our own message",
            "vk:192764727_2000000001_4" },
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 2000000001,"
            " \"from_id\": 5, \"conversation_message_id\": 4, \"text\": \"\","
            " \"action\": {\"type\": \"chat_invite_user\","
            " \"member_id\": 6}}}"),
            "service message", "vk:192764727_2000000001_4" },
        { VK_MSG("message_reply", "{\"peer_id\": 5, \"from_id\": -192764727,"
            " \"conversation_message_id\": 3, \"out\": 1, \"text\": \"x\"}"),
            "our own message", "" },
        { VK_MSG("message_edit", "{\"peer_id\": 5, \"from_id\": -192764727,"
            " \"conversation_message_id\": 3, \"out\": 1, \"text\": \"x\"}"),
            "our own message", "vk:192764727_5_3" },
        { VK_MSG("group_join", "{\"user_id\": 5, \"join_type\": \"join\"}"),
            "event type not handled", "" },
        { VK_MSG("message_typing_state", "{}"), "event type not handled", "" },
    };
    struct connector_events ev = { 0 };
    char err[256];
    int rc = 0;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(vk_test_str(VK_GROUP, cases[i].body, &ev, err, sizeof(err)) == 0);
        CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
        CHECK_STR(ev.v[0].reason, cases[i].reason);
        CHECK_STR(ev.v[0].id, cases[i].id);
        connector_events_free(&ev);
    }
    /* An incoming edit is an EDIT. */
    CHECK(vk_test_str(VK_GROUP, VK_MSG("message_edit", "{\"peer_id\": 5,"
        " \"from_id\": 5, \"conversation_message_id\": 3, \"out\": 0,"
        " \"text\": \"fixed\", \"date\": 1613670509}"), &ev, err,
        sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_EDIT);
    CHECK_STR(ev.v[0].id, "vk:192764727_5_3");
    CHECK_STR(item_text(ev.v[0].item), "fixed");
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
    } cases[] = {
        { "{", "body: not JSON" },
        { "7", "body: not JSON" },
        { "{\"group_id\": 202308925, \"type\": \"x\"}",
            "body.group_id: 202308925 is not this community" },
        { "{\"group_id\": 192764727}", "body.type: missing" },
        { VK_MSG("wall_reply_new", "null"), "object: missing" },
        { "{\"group_id\": 192764727, \"type\": \"wall_reply_new\"}",
            "object: missing" },
        { VK_MSG("wall_reply_new", "[]"), "object: expected an object" },
        { VK_WALL(""), "object.from_id: missing" },
        { VK_WALL(", \"from_id\": \"5\""),
            "object.from_id: expected an integer" },
        { VK_MSG("wall_reply_new", "{\"id\": \"9\"}"),
            "object.id: expected an integer" },
        { VK_WALL(", \"from_id\": 5, \"text\": 12"),
            "object.text: expected a string" },
        { VK_WALL(", \"from_id\": 5, \"parents_stack\": {}"),
            "object.parents_stack: expected an array" },
        { VK_WALL(", \"from_id\": 5, \"parents_stack\": [1, \"2\"]"),
            "object.parents_stack[1]: expected an integer" },
        { VK_WALL(", \"from_id\": 5, \"reply_to_comment\": 1.5"),
            "object.reply_to_comment: expected an integer" },
        { VK_WALL(", \"from_id\": 5, \"date\": \"today\""),
            "object.date: expected an integer" },
        { VK_WALL(", \"from_id\": 5, \"date\": 9223372036854775807"),
            "object.date: time out of range" },
        { VK_WALL(", \"from_id\": 5, \"text\": \"bad \\ud800 surrogate\""),
            "body: not JSON" },
        { VK_MSG("wall_reply_delete", "{\"id\": 1}"),
            "object.owner_id: missing" },
        { VK_MSG("wall_reply_delete", "{\"id\": 1, \"owner_id\": 2,"
            " \"deleter_id\": \"3\"}"),
            "object.deleter_id: expected an integer" },
        { VK_MSG("message_new", "{\"message\": 5}"),
            "object.message: expected an object" },
        { VK_MSG("message_new", "{\"message\": {\"from_id\": 5}}"),
            "object.message.peer_id: missing" },
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 5,"
            " \"from_id\": 5}}"),
            "object.message.conversation_message_id: missing" },
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 5,"
            " \"from_id\": 5, \"conversation_message_id\": 1,"
            " \"reply_message\": {\"text\": \"x\"}}}"),
            "object.message.reply_message.conversation_message_id: missing" },
        { VK_MSG("message_new", "{\"message\": {\"peer_id\": 5,"
            " \"from_id\": 5, \"conversation_message_id\": 1,"
            " \"out\": false}}"), "object.message.out: expected an integer" },
        { VK_MSG("message_new", "{\"client_info\": {}}"),
            "object.peer_id: missing" },
    };
    struct connector_events ev = { 0 };
    char err[256], *deep = NULL;
    int rc = 0, r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        r = vk_test_str(VK_GROUP, cases[i].body, &ev, err, sizeof(err));
        if (r != -1 || ev.n != 0 || strstr(err, cases[i].err) == NULL)
            fprintf(stderr, "  case %zu: rc %d, %zu events, err \"%s\"\n",
                i, r, ev.n, err);
        CHECK(r == -1);
        CHECK(ev.n == 0);
        CHECK_CONTAINS(err, cases[i].err);
    }
    CHECK(vk_test_str(NULL, "{\"group_id\": 1, \"type\": \"x\"}", &ev, err,
        sizeof(err)) == -1);
    CHECK(vk_parse(VK_GROUP, NULL, 0, NULL, &ev, err, sizeof(err)) == -1);
    CHECK((deep = conn_check_deep(10000)) != NULL);
    CHECK(vk_parse(VK_GROUP, deep, 20000, NULL, &ev, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "maximum parsing depth");
    {
        struct vk_callback cb;

        CHECK(vk_verify(vk_test_accounts, VK_TEST_NACCOUNTS, deep, 20000,
            &cb, err, sizeof(err)) == -1);
    }
    CHECK(ev.n == 0);
out:
    xfree(deep);
    connector_events_free(&ev);
    return rc;
}

static int
test_alloc_torture(void)
{
    struct connector_events ev = { 0 };
    char *body = NULL, err[256];
    size_t len;
    unsigned long n;
    int rc = 0, r;

    CHECK((body = conn_check_load("vk/wall_reply_reply.json", &len)));
    for (n = 1; n < 100000; n++) {
        alloc_fail_after(n);
        r = vk_parse(VK_GROUP, body, len, NULL, &ev, err, sizeof(err));
        alloc_fail_after(0);
        if (r == 0) {
            CHECK(ev.n == 1);
            break;
        }
        CHECK(ev.n == 0);
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
    { "confirmation", test_confirmation },
    { "verify", test_verify },
    { "wall_reply_new", test_wall_reply_new },
    { "wall_reply_reply", test_wall_reply_reply },
    { "wall_edit_restore_delete", test_wall_edit_restore_delete },
    { "self_ids", test_self_ids },
    { "untyped_attachment", test_untyped_attachment },
    { "message_new", test_message_new },
    { "message_chat_and_legacy", test_message_chat_and_legacy },
    { "ignored", test_ignored },
    { "malformed", test_malformed },
    { "alloc_torture", test_alloc_torture },
};

CHECK_MAIN(cases)
