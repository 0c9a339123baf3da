/*
 * outbound: each platform's request for each action, built from items
 * that the inbound parsers made out of the sample payloads, and the
 * verdicts on the platforms' real answers and error bodies.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "conn_check.h"
#include "connector.h"
#include "item.h"
#include "outbound.h"
#include "util.h"

static const struct connector_account accts[] = {
    { .platform = CONNECTOR_FACEBOOK, .id = "137542570280222",
      .app_secret = "x" },
    { .platform = CONNECTOR_FACEBOOK, .id = "404217156637689",
      .app_secret = "x" },
    { .platform = CONNECTOR_INSTAGRAM, .id = "17841405309211844",
      .app_secret = "x" },
};
static const struct connector_account vk_acct = {
    .platform = CONNECTOR_VK, .id = "192764727" };
static const struct connector_account vk_acct2 = {
    .platform = CONNECTOR_VK, .id = "202308925" };
static const struct connector_account tg_acct = {
    .platform = CONNECTOR_TELEGRAM, .id = "123456789" };
static const struct connector_account yt_acct = {
    .platform = CONNECTOR_YOUTUBE, .id = "UCk1SpWNzOs4MYmr0uICEntg" };

/* The first item the parser made of a sample file, as stored JSON. */
static json_t *
sample_item(const char *platform, const char *file)
{
    struct connector_events ev = { 0 };
    char err[256], eid[VK_EVENT_ID_MAX + 1];
    struct youtube_page page;
    json_t *item = NULL;
    int64_t uid;
    size_t len;
    char *body = conn_check_load(file, &len), *s;

    if (body == NULL)
        return NULL;
    memset(&page, 0, sizeof(page));
    if (strcmp(platform, "meta") == 0)
        meta_parse(accts, nitems(accts), body, len, &ev, err, sizeof(err));
    else if (strcmp(platform, "vk") == 0)
        vk_parse(&vk_acct, body, len, eid, &ev, err, sizeof(err));
    else if (strcmp(platform, "vk2") == 0)
        vk_parse(&vk_acct2, body, len, eid, &ev, err, sizeof(err));
    else if (strcmp(platform, "telegram") == 0)
        telegram_parse_update(&tg_acct, body, len, &uid, &ev, err,
            sizeof(err));
    else
        youtube_parse_threads(&yt_acct, body, len, &page, &ev, err,
            sizeof(err));
    for (size_t i = 0; i < ev.n && item == NULL; i++) {
        if (ev.v[i].item != NULL && (s = item_dump(ev.v[i].item)) != NULL) {
            item = json_loads(s, 0, NULL);
            xfree(s);
        }
    }
    connector_events_free(&ev);
    xfree(body);
    return item;
}

struct want {
    enum outbound_type type;
    const char *method;
    const char *url;            /* exact */
    const char *body;           /* exact; "" for none */
    bool idempotent;
};

static int
build_all(const char *platform, const char *file, const char *token,
    const char *user_token, const struct want *w, size_t n)
{
    struct outbound_action a = { .id = "1795438724024-0",
        .text = "Thanks, on it!", .api_base = "http://api",
        .token = token, .user_token = user_token, .api_version = "5.199" };
    struct outbound_request r;
    char err[256];
    int rc = 0;

    CHECK((a.item = sample_item(platform, file)) != NULL);
    for (size_t i = 0; i < n; i++) {
        a.type = w[i].type;
        outbound_request_init(&r);
        if (w[i].method == NULL) {
            if (outbound_build(&a, &r, err, sizeof(err)) != -1) {
                printf("  %s: built, want unsupported\n",
                    outbound_type_name(w[i].type));
                rc = -1;
            }
            outbound_request_clear(&r);
            continue;
        }
        if (outbound_build(&a, &r, err, sizeof(err)) == -1) {
            printf("  %s: %s\n", outbound_type_name(w[i].type), err);
            rc = -1;
        } else {
            if (strcmp(r.method, w[i].method) != 0 ||
                strcmp(r.url.data, w[i].url) != 0 ||
                strcmp(r.body.data ? r.body.data : "", w[i].body) != 0 ||
                r.idempotent != w[i].idempotent) {
                printf("  %s: got %s %s [%s] idem=%d\n",
                    outbound_type_name(w[i].type), r.method, r.url.data,
                    r.body.data ? r.body.data : "", r.idempotent);
                rc = -1;
            }
            /* The audit's view of the request never holds a token. */
            if (strstr(r.show.data, token) != NULL ||
                (user_token && strstr(r.show.data, user_token) != NULL)) {
                printf("  %s: token in \"%s\"\n",
                    outbound_type_name(w[i].type), r.show.data);
                rc = -1;
            }
        }
        outbound_request_clear(&r);
    }
out:
    json_decref(a.item);
    return rc;
}

static int
test_facebook(void)
{
    static const struct want w[] = {
        { OUTBOUND_HIDE, "POST", "http://api/139560936755999_140077616693321",
          "is_hidden=true", true },
        { OUTBOUND_UNHIDE, "POST", "http://api/139560936755999_140077616693321",
          "is_hidden=false", true },
        { OUTBOUND_DELETE, "DELETE", "http://api/139560936755999_140077616693321", "",
          true },
        { OUTBOUND_REPLY, "POST", "http://api/139560936755999_140077616693321/comments",
          "message=Thanks%2C%20on%20it%21", false },
        { OUTBOUND_RESTORE, NULL, NULL, NULL, false },
    };
    int rc = 0;

    CHECK(build_all("meta", "facebook/feed_comment_add.json", "PAGE-TOK",
        NULL, w, nitems(w)) == 0);
out:
    return rc;
}

static int
test_messenger_dm(void)
{
    static const struct want w[] = {
        { OUTBOUND_REPLY, "POST", "http://api/me/messages",
          "{\"recipient\":{\"id\":\"1423587017700273\"},\"messaging_type\":"
          "\"RESPONSE\",\"message\":{\"text\":\"Thanks, on it!\"}}", false },
        { OUTBOUND_HIDE, NULL, NULL, NULL, false },
    };
    int rc = 0;

    CHECK(build_all("meta", "facebook/messenger_message_text.json",
        "PAGE-TOK", NULL, w, nitems(w)) == 0);
out:
    return rc;
}

static int
test_instagram(void)
{
    static const struct want w[] = {
        { OUTBOUND_HIDE, "POST", "http://api/18034567890123456",
          "hide=true", true },
        { OUTBOUND_REPLY, "POST", "http://api/18034567890123456/replies",
          "message=Thanks%2C%20on%20it%21", false },
    };
    int rc = 0;

    CHECK(build_all("meta", "instagram/comments_webhook.json", "IG-TOK",
        NULL, w, nitems(w)) == 0);
out:
    return rc;
}

static int
test_vk(void)
{
    static const struct want w[] = {
        { OUTBOUND_HIDE, "POST", "http://api/wall.deleteComment",
          "owner_id=-192764727&comment_id=312&v=5.199&access_token=USER-TOK",
          true },
        { OUTBOUND_RESTORE, "POST", "http://api/wall.restoreComment",
          "owner_id=-192764727&comment_id=312&v=5.199&access_token=USER-TOK",
          true },
        { OUTBOUND_REPLY, "POST", "http://api/wall.createComment",
          "owner_id=-192764727&post_id=310&from_group=192764727&"
          "reply_to_comment=312&message=Thanks%2C%20on%20it%21&"
          "guid=1795438724024-0&v=5.199&access_token=GROUP-TOK", true },
    };
    int rc = 0;

    CHECK(build_all("vk", "vk/wall_reply_new.json", "GROUP-TOK", "USER-TOK",
        w, nitems(w)) == 0);
out:
    return rc;
}

static int
test_vk_dm_random_id(void)
{
    struct outbound_action a = { .id = "1795438724024-0", .text = "hi",
        .api_base = "http://api", .token = "T", .type = OUTBOUND_REPLY };
    struct outbound_request r1, r2;
    char err[256];
    const char *p;
    int rc = 0;

    outbound_request_init(&r1);
    outbound_request_init(&r2);
    CHECK((a.item = sample_item("vk2", "vk/message_new.json")) != NULL);
    CHECK(outbound_build(&a, &r1, err, sizeof(err)) == 0);
    CHECK(outbound_build(&a, &r2, err, sizeof(err)) == 0);
    CHECK_STR(r1.url.data, "http://api/messages.send");
    CHECK(r1.idempotent);
    /* Every attempt of one action sends the same random_id. */
    CHECK((p = strstr(r1.body.data, "random_id=")) != NULL);
    CHECK(strtoul(p + 10, NULL, 10) > 0);
    CHECK_STR(r1.body.data, r2.body.data);
    a.id = "1795438724024-1";
    outbound_request_clear(&r2);
    outbound_request_init(&r2);
    CHECK(outbound_build(&a, &r2, err, sizeof(err)) == 0);
    CHECK(strcmp(r1.body.data, r2.body.data) != 0);
out:
    outbound_request_clear(&r1);
    outbound_request_clear(&r2);
    json_decref(a.item);
    return rc;
}

static int
test_telegram(void)
{
    static const struct want w[] = {
        { OUTBOUND_DELETE, "POST", "http://api/botBOT:TOK/deleteMessage",
          "{\"chat_id\":1111111,\"message_id\":1365}", true },
        { OUTBOUND_REPLY, "POST", "http://api/botBOT:TOK/sendMessage",
          "{\"chat_id\":1111111,\"text\":\"Thanks, on it!\","
          "\"reply_parameters\":{\"message_id\":1365,"
          "\"allow_sending_without_reply\":true}}", false },
        { OUTBOUND_HIDE, NULL, NULL, NULL, false },
        { OUTBOUND_UNHIDE, NULL, NULL, NULL, false },
    };
    int rc = 0;

    CHECK(build_all("telegram", "telegram/update_message_text.json",
        "BOT:TOK", NULL, w, nitems(w)) == 0);
out:
    return rc;
}

static int
test_youtube(void)
{
    struct outbound_action a = { .id = "1-0", .text = "Thanks!",
        .api_base = "http://api/youtube/v3", .token = "OAUTH" };
    struct outbound_request r;
    char err[256];
    int rc = 0;

    outbound_request_init(&r);
    CHECK((a.item = sample_item("youtube",
        "youtube/commentThreads_list_response.json")) != NULL);
    a.type = OUTBOUND_HIDE;
    CHECK(outbound_build(&a, &r, err, sizeof(err)) == 0);
    CHECK_CONTAINS(r.url.data, "/comments/setModerationStatus?id=");
    CHECK_CONTAINS(r.url.data, "&moderationStatus=heldForReview");
    CHECK_STR(r.hdr[0], "Authorization: Bearer OAUTH");
    CHECK(r.idempotent);
    outbound_request_clear(&r);
    outbound_request_init(&r);
    a.type = OUTBOUND_DELETE;
    CHECK(outbound_build(&a, &r, err, sizeof(err)) == 0);
    CHECK_CONTAINS(r.url.data, "&moderationStatus=rejected");
    outbound_request_clear(&r);
    outbound_request_init(&r);
    a.type = OUTBOUND_REPLY;
    CHECK(outbound_build(&a, &r, err, sizeof(err)) == 0);
    CHECK_STR(r.url.data, "http://api/youtube/v3/comments?part=snippet");
    CHECK_CONTAINS(r.body.data, "\"textOriginal\":\"Thanks!\"");
    CHECK(!r.idempotent);
out:
    outbound_request_clear(&r);
    json_decref(a.item);
    return rc;
}

/* Exactly the pairs outbound_nonidempotent lists build non-idempotent. */
static int
test_nonidempotent_list(void)
{
    int rc = 0;

    CHECK_CONTAINS(outbound_nonidempotent, "facebook:reply");
    CHECK_CONTAINS(outbound_nonidempotent, "telegram:reply");
    CHECK(strstr(outbound_nonidempotent, "vk:") == NULL);
    CHECK(strstr(outbound_nonidempotent, "hide") == NULL);
out:
    return rc;
}

static int
test_missing_credentials(void)
{
    struct outbound_action a = { .id = "1-0", .type = OUTBOUND_HIDE,
        .api_base = "http://api" };
    struct outbound_request r;
    char err[256];
    int rc = 0;

    outbound_request_init(&r);
    CHECK((a.item = sample_item("meta", "facebook/feed_comment_add.json")) !=
        NULL);
    CHECK(outbound_build(&a, &r, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "no API credentials");
    a.token = "GROUP";
    json_decref(a.item);
    CHECK((a.item = sample_item("vk", "vk/wall_reply_new.json")) != NULL);
    CHECK(outbound_build(&a, &r, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "user_token");
out:
    outbound_request_clear(&r);
    json_decref(a.item);
    return rc;
}

struct verdict_case {
    const char *platform;
    enum outbound_type type;
    bool idempotent;
    long status;
    const char *body;
    int64_t header_ms;
    enum outbound_verdict want;
    int64_t want_after;         /* -2: don't care */
    bool want_rate;
    const char *detail;         /* substring */
};

static const struct verdict_case verdicts[] = {
    { "facebook", OUTBOUND_HIDE, true, 200, "{\"success\":true}", -1,
      OUTBOUND_DONE, -2, false, "ok" },
    { "facebook", OUTBOUND_REPLY, false, 200, "{\"id\":\"1_2\"}", -1,
      OUTBOUND_DONE, -2, false, "1_2" },
    { "facebook", OUTBOUND_HIDE, true, 400, "{\"error\":{\"message\":\"(#32)"
      " Page request limit reached\",\"type\":\"OAuthException\",\"code\":32,"
      "\"fbtrace_id\":\"x\"}}", -1, OUTBOUND_RETRY, -1, true, "32: (#32)" },
    { "facebook", OUTBOUND_REPLY, false, 400, "{\"error\":{\"message\":"
      "\"Invalid OAuth access token.\",\"type\":\"OAuthException\","
      "\"code\":190}}", -1, OUTBOUND_FAILED, -2, false, "190" },
    { "facebook", OUTBOUND_REPLY, false, 500, "{\"error\":{\"message\":"
      "\"An unexpected error has occurred.\",\"code\":2}}", -1,
      OUTBOUND_UNCERTAIN, -2, false, "2:" },
    { "facebook", OUTBOUND_HIDE, true, 500, "{\"error\":{\"code\":2}}", -1,
      OUTBOUND_RETRY, -2, false, "2:" },
    { "vk", OUTBOUND_REPLY, true, 200, "{\"response\":4242}", -1,
      OUTBOUND_DONE, -2, false, "4242" },
    { "vk", OUTBOUND_HIDE, true, 200, "{\"error\":{\"error_code\":6,"
      "\"error_msg\":\"Too many requests per second\"}}", -1,
      OUTBOUND_RETRY, 1000, true, "6: Too many" },
    { "vk", OUTBOUND_HIDE, true, 200, "{\"error\":{\"error_code\":15,"
      "\"error_msg\":\"Access denied\"}}", -1, OUTBOUND_FAILED, -2, false,
      "15" },
    { "telegram", OUTBOUND_REPLY, false, 429, "{\"ok\":false,\"error_code\":"
      "429,\"description\":\"Too Many Requests: retry after 35\","
      "\"parameters\":{\"retry_after\":35}}", 35000, OUTBOUND_RETRY, 35000,
      true, "retry after 35" },
    { "telegram", OUTBOUND_DELETE, true, 400, "{\"ok\":false,\"error_code\":"
      "400,\"description\":\"Bad Request: message to delete not found\"}", -1,
      OUTBOUND_DONE, -2, false, "already deleted" },
    { "telegram", OUTBOUND_REPLY, false, 403, "{\"ok\":false,\"error_code\":"
      "403,\"description\":\"Forbidden: bot was blocked by the user\"}", -1,
      OUTBOUND_FAILED, -2, false, "blocked" },
    { "telegram", OUTBOUND_REPLY, false, 502, "<html>Bad Gateway</html>", -1,
      OUTBOUND_UNCERTAIN, -2, false, "502" },
    { "telegram", OUTBOUND_REPLY, false, 503, "", 2000, OUTBOUND_RETRY, 2000,
      false, "503" },
    { "youtube", OUTBOUND_HIDE, true, 204, "", -1, OUTBOUND_DONE, -2, false,
      "ok" },
    { "youtube", OUTBOUND_REPLY, false, 403, "{\"error\":{\"code\":403,"
      "\"message\":\"quota\",\"errors\":[{\"reason\":\"quotaExceeded\"}]}}",
      -1, OUTBOUND_RETRY, 3600000, true, "quotaExceeded" },
    { "youtube", OUTBOUND_DELETE, true, 404, "{\"error\":{\"code\":404,"
      "\"message\":\"gone\",\"errors\":[{\"reason\":\"commentNotFound\"}]}}",
      -1, OUTBOUND_FAILED, -2, false, "commentNotFound" },
};

static int
test_verdicts(void)
{
    struct outbound_result res;
    struct outbound_action a;
    char item[128];
    int rc = 0;

    for (size_t i = 0; i < nitems(verdicts); i++) {
        const struct verdict_case *v = &verdicts[i];

        memset(&a, 0, sizeof(a));
        a.type = v->type;
        snprintf(item, sizeof(item), "{\"platform\":\"%s\"}", v->platform);
        a.item = json_loads(item, 0, NULL);
        outbound_judge(&a, v->idempotent, v->status, v->body,
            strlen(v->body), v->header_ms, &res);
        json_decref(a.item);
        if (res.verdict != v->want || res.rate_limited != v->want_rate ||
            (v->want_after != -2 && res.retry_after_ms != v->want_after) ||
            strstr(res.detail, v->detail) == NULL) {
            printf("  case %zu (%s %ld): %s after=%lld rate=%d \"%s\"\n", i,
                v->platform, v->status, outbound_verdict_name(res.verdict),
                (long long)res.retry_after_ms, res.rate_limited, res.detail);
            rc = -1;
        }
    }
    return rc;
}

static int
test_transport(void)
{
    struct outbound_result res;
    int rc = 0;

    outbound_judge_transport(false, false, "refused", &res);
    CHECK(res.verdict == OUTBOUND_RETRY);
    outbound_judge_transport(true, false, "timed out", &res);
    CHECK(res.verdict == OUTBOUND_UNCERTAIN);
    CHECK_CONTAINS(res.detail, "no answer: timed out");
    outbound_judge_transport(true, true, "timed out", &res);
    CHECK(res.verdict == OUTBOUND_RETRY);
out:
    return rc;
}

static int
test_undo(void)
{
    int rc = 0;

    const char *why;

    CHECK(outbound_undo("facebook", OUTBOUND_HIDE, &why) ==
        (int)OUTBOUND_UNHIDE);
    CHECK(outbound_undo("vk", OUTBOUND_DELETE, &why) ==
        (int)OUTBOUND_RESTORE);
    CHECK(outbound_undo("vk", OUTBOUND_HIDE, &why) == (int)OUTBOUND_UNHIDE);
    CHECK(outbound_undo("youtube", OUTBOUND_DELETE, &why) == -1);
    CHECK_CONTAINS(why, "rejected comment");
    CHECK(outbound_undo("facebook", OUTBOUND_DELETE, &why) == -1);
    CHECK(outbound_undo("telegram", OUTBOUND_REPLY, &why) == -1);
out:
    return rc;
}

static const struct check_case cases[] = {
    { "facebook", test_facebook },
    { "messenger_dm", test_messenger_dm },
    { "instagram", test_instagram },
    { "vk", test_vk },
    { "vk_dm_random_id", test_vk_dm_random_id },
    { "telegram", test_telegram },
    { "youtube", test_youtube },
    { "nonidempotent_list", test_nonidempotent_list },
    { "missing_credentials", test_missing_credentials },
    { "verdicts", test_verdicts },
    { "transport", test_transport },
    { "undo", test_undo },
};

CHECK_MAIN(cases)
