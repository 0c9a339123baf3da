/*
 * conn_youtube_test: YouTube commentThreads.list and comments.list
 * responses. Every shared sample parsed to its exact items, the channel's
 * own comments ignored, replies inside threads, the page token and the
 * publishedAt cursor, Google error bodies, hostile bodies, and an
 * allocation-failure run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "conn_check.h"
#include "connector.h"
#include "item.h"
#include "util.h"

#define YT_CHANNEL "UCk1SpWNzOs4MYmr0uICEntg"

static const struct connector_account yt_test_channel = {
    .platform = CONNECTOR_YOUTUBE, .id = YT_CHANNEL,
};

static int
yt_test_file(const char *rel, bool threads, struct youtube_page *page,
    struct connector_events *ev, json_t **doc, char *err, size_t errlen)
{
    size_t len;
    char *body = conn_check_load(rel, &len);
    int rc;

    if (body == NULL)
        return -2;
    if (threads)
        rc = youtube_parse_threads(&yt_test_channel, body, len, page, ev, err,
            errlen);
    else
        rc = youtube_parse_comments(&yt_test_channel, body, len, page, ev,
            err, errlen);
    if (doc != NULL)
        *doc = json_loadb(body, len, 0, NULL);
    xfree(body);
    return rc;
}

static int64_t
yt_test_time(const char *s)
{
    int64_t ms = -1;

    (void)util_parse_time(s, &ms);
    return ms;
}

/* items[i].snippet.topLevelComment of a parsed response. */
static json_t *
yt_test_top(json_t *doc, size_t i)
{
    return json_object_get(json_object_get(json_array_get(json_object_get(
        doc, "items"), i), "snippet"), "topLevelComment");
}

static int
test_threads_response(void)
{
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 0 };
    json_t *doc = NULL;
    char err[256];
    int rc = 0;

    CHECK(yt_test_file("youtube/commentThreads_list_response.json", true,
        &page, &ev, &doc, err, sizeof(err)) == 0);
    CHECK_STR(page.next_page_token, "Z2V0X25ld2VzdF9maXJzdC0tQ2dnSWdBUVZGN2"
        "ZST0JJRkNJa2dHQUFTQlFpSUlCZ0FFZ1VJaHlBWUFCSUZDS2dnR0FBU0JRaWRJQmdC"
        "R0FBaURnb01DUFRYOGJVR0VNajE3Y0FE");
    CHECK(page.newest_ms == yt_test_time("2024-08-14T20:02:11Z"));
    CHECK(!page.reached_cursor);
    CHECK(page.error_code == 0 && page.error_reason[0] == '\0');
    CHECK(ev.n == 3);

    CHECK(ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(ev.v[0].account == &yt_test_channel);
    CHECK(ev.v[0].time_ms == yt_test_time("2024-08-14T19:51:36Z"));
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"youtube:UgxD7msptSaPXG9Xqt14AaABAg\","
        " \"platform\": \"youtube\","
        " \"native_id\": \"UgxD7msptSaPXG9Xqt14AaABAg\", \"kind\": \"comment\","
        " \"account\": {\"id\": \"" YT_CHANNEL "\"},"
        " \"conversation\": \"dQw4w9WgXcQ\","
        " \"author\": {\"id\": \"UCzAn-hBNSTjX-QMnHASZFfA\","
        " \"name\": \"@sampleviewer1\"},"
        " \"text\": \"Great explanation, thanks!\","
        " \"created_at\": \"2024-08-14T19:51:36.000Z\","
        " \"permalink\": \"https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        "&lc=UgxD7msptSaPXG9Xqt14AaABAg\"}", yt_test_top(doc, 0)) == 0);

    /* The channel's own reply. */
    CHECK(ev.v[1].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[1].reason, "our own comment");
    CHECK_STR(ev.v[1].id,
        "youtube:UgxD7msptSaPXG9Xqt14AaABAg.A6xbNg2l3pKA6xbP1H8eQz");

    /* textOriginal, never the HTML of textDisplay. */
    CHECK(conn_check_item(ev.v[2].item,
        "{\"id\": \"youtube:UgxENxr12AabiFXmLox4AaABAg\","
        " \"platform\": \"youtube\","
        " \"native_id\": \"UgxENxr12AabiFXmLox4AaABAg\", \"kind\": \"comment\","
        " \"account\": {\"id\": \"" YT_CHANNEL "\"},"
        " \"conversation\": \"dQw4w9WgXcQ\","
        " \"author\": {\"id\": \"UCIx4__tGYsCja3-FY0ND5Pg\","
        " \"name\": \"@spammer9000\"},"
        " \"text\": \"Check my channel for free gift cards!!! #free\","
        " \"created_at\": \"2024-08-14T18:13:52.000Z\","
        " \"permalink\": \"https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        "&lc=UgxENxr12AabiFXmLox4AaABAg\"}", yt_test_top(doc, 1)) == 0);
out:
    json_decref(doc);
    connector_events_free(&ev);
    return rc;
}

static int
test_held_for_review_and_replies(void)
{
    const char *reply = "{\"items\": [{\"id\": \"P.x\", \"snippet\":"
        " {\"parentId\": \"P\", \"textOriginal\": \"hi\","
        " \"authorChannelId\": {\"value\": \"UCx\"}}}]}";
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 0 };
    json_t *doc = NULL;
    char err[256];
    int rc = 0;

    CHECK(yt_test_file("youtube/commentThreads_list_heldForReview_response"
        ".json", true, &page, &ev, &doc, err, sizeof(err)) == 0);
    CHECK_STR(page.next_page_token, "");
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_NEW);
    CHECK(conn_check_item(ev.v[0].item,
        "{\"id\": \"youtube:UgzJ0E3Fo_VmA8Ju5Z54AaABAg\","
        " \"platform\": \"youtube\","
        " \"native_id\": \"UgzJ0E3Fo_VmA8Ju5Z54AaABAg\", \"kind\": \"comment\","
        " \"account\": {\"id\": \"" YT_CHANNEL "\"},"
        " \"conversation\": \"dQw4w9WgXcQ\","
        " \"author\": {\"id\": \"UCrJ92Nc0oIvYInGJzeCSOyg\","
        " \"name\": \"@deals4u\"},"
        " \"text\": \"visit cheap-pills dot example for deals\","
        " \"created_at\": \"2024-08-15T08:00:00.000Z\","
        " \"permalink\": \"https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        "&lc=UgzJ0E3Fo_VmA8Ju5Z54AaABAg\"}", yt_test_top(doc, 0)) == 0);
    /* moderationStatus stays in raw. */
    CHECK_STR(json_string_value(json_object_get(json_object_get(
        ev.v[0].raw, "snippet"), "moderationStatus")), "heldForReview");
    connector_events_free(&ev);

    /* comments.list: the one reply is the channel's own. */
    CHECK(yt_test_file("youtube/comments_list_replies_response.json", false,
        &page, &ev, NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK(page.newest_ms == yt_test_time("2024-08-15T08:00:00Z"));
    connector_events_free(&ev);

    /* Someone else's reply through comments.list is a reply. */
    CHECK(youtube_parse_comments(&yt_test_channel, reply, strlen(reply),
        &page, &ev, err, sizeof(err)) == 0);
    CHECK(ev.n == 1 && item_kind(ev.v[0].item) == ITEM_KIND_REPLY);
    CHECK(item_conversation(ev.v[0].item) == NULL);
out:
    json_decref(doc);
    connector_events_free(&ev);
    return rc;
}

static int
test_mixed_threads(void)
{
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 0 };
    char err[256];
    int rc = 0;

    CHECK(yt_test_file("youtube/commentThreads_list_mixed.json", true, &page,
        &ev, NULL, err, sizeof(err)) == 0);
    CHECK(ev.n == 3);
    CHECK(ev.v[0].type == CONNECTOR_EVENT_IGNORED);
    CHECK_STR(ev.v[0].id, "youtube:UgyOwnTopLevel0000000000");
    /* A reply without videoId takes the thread's. */
    CHECK(conn_check_item(ev.v[1].item,
        "{\"id\": \"youtube:UgyOwnTopLevel0000000000.A1\","
        " \"platform\": \"youtube\","
        " \"native_id\": \"UgyOwnTopLevel0000000000.A1\", \"kind\": \"reply\","
        " \"account\": {\"id\": \"" YT_CHANNEL "\"},"
        " \"conversation\": \"dQw4w9WgXcQ\","
        " \"parent\": \"UgyOwnTopLevel0000000000\","
        " \"author\": {\"id\": \"UCfan00000000000000000000\","
        " \"name\": \"@fan\"}, \"text\": \"can't wait\","
        " \"created_at\": \"2024-08-16T11:30:00.000Z\","
        " \"permalink\": \"https://www.youtube.com/watch?v=dQw4w9WgXcQ"
        "&lc=UgyOwnTopLevel0000000000.A1\"}", NULL) == 0);
    /* No textOriginal: textDisplay stands in; offsets are normalized. */
    CHECK_STR(item_text(ev.v[2].item), "<b>html</b> only");
    CHECK(item_created_ms(ev.v[2].item) ==
        yt_test_time("2024-08-16T10:00:00.500Z"));
    CHECK(page.newest_ms == yt_test_time("2024-08-16T11:30:00Z"));
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_cursor(void)
{
    struct connector_events ev = { 0 };
    struct youtube_page page;
    char err[256];
    int rc = 0;

    page.newest_ms = yt_test_time("2024-08-14T19:00:00Z");
    CHECK(yt_test_file("youtube/commentThreads_list_response.json", true,
        &page, &ev, NULL, err, sizeof(err)) == 0);
    CHECK(page.reached_cursor);
    CHECK(page.newest_ms == yt_test_time("2024-08-14T20:02:11Z"));
    connector_events_free(&ev);

    /* A cursor past everything stays, and the page is all old. */
    page.newest_ms = yt_test_time("2025-01-01T00:00:00Z");
    CHECK(yt_test_file("youtube/commentThreads_list_response.json", true,
        &page, &ev, NULL, err, sizeof(err)) == 0);
    CHECK(page.reached_cursor);
    CHECK(page.newest_ms == yt_test_time("2025-01-01T00:00:00Z"));
    /* Old comments are still reported; the queue drops duplicates. */
    CHECK(ev.n == 3);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_errors(void)
{
    const char *backend = "{\"error\": {\"code\": \"x\", \"message\":"
        " \"Backend \\u003cb\\u003eError\\u003c/b\\u003e\"}}";
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 5 };
    char err[256];
    int rc = 0;

    CHECK(yt_test_file("youtube/error_quotaExceeded.json", true, &page, &ev,
        NULL, err, sizeof(err)) == -1);
    CHECK(page.error_code == 403);
    CHECK_STR(page.error_reason, "quotaExceeded");
    CHECK_STR(err, "youtube: 403 quotaExceeded");
    CHECK(page.newest_ms == 5 && ev.n == 0);

    CHECK(yt_test_file("youtube/error_commentsDisabled.json", true, &page,
        &ev, NULL, err, sizeof(err)) == -1);
    CHECK(page.error_code == 403);
    CHECK_STR(page.error_reason, "commentsDisabled");

    /* A success after an error clears the error fields. */
    CHECK(yt_test_file("youtube/commentThreads_list_heldForReview_response"
        ".json", true, &page, &ev, NULL, err, sizeof(err)) == 0);
    CHECK(page.error_code == 0 && page.error_reason[0] == '\0');

    CHECK(youtube_parse_threads(&yt_test_channel, backend, strlen(backend),
        &page, &ev, err, sizeof(err)) == -1);
    CHECK(page.error_code == 0);
    CHECK_STR(err, "youtube: 0 Backend <b>Error</b>");
out:
    connector_events_free(&ev);
    return rc;
}

#define YT_THREAD(top) "{\"kind\": \"youtube#commentThreadListResponse\"," \
    " \"items\": [{\"id\": \"T\", \"snippet\": {\"videoId\": \"V\"," \
    " \"topLevelComment\": " top "}}]}"
#define YT_COMMENT(snip) YT_THREAD("{\"id\": \"T\", \"snippet\": {" snip "}}")
#define YT_GOOD_AUTHOR "\"authorChannelId\": {\"value\": \"UCa\"}"

static int
test_malformed(void)
{
    static const struct {
        const char *body;
        const char *err;
    } cases[] = {
        { "", "body: not JSON" },
        { "[]", "body: expected a JSON object" },
        { "{\"kind\": \"youtube#commentListResponse\"}",
            "body.kind: expected youtube#commentThreadListResponse" },
        { "{\"kind\": 7}", "body.kind: expected a string" },
        { "{\"items\": {}}", "body.items: expected an array" },
        { "{\"nextPageToken\": \"a b\"}",
            "body.nextPageToken: not a page token" },
        { "{\"nextPageToken\": 5}", "body.nextPageToken: expected a string" },
        { "{\"items\": [5]}", "items[0]: expected an object" },
        { "{\"items\": [{}]}", "items[0].snippet: missing" },
        { "{\"items\": [{\"snippet\": []}]}",
            "items[0].snippet: expected an object" },
        { YT_THREAD("null"), "items[0].snippet.topLevelComment: missing" },
        { YT_THREAD("{\"snippet\": {}}"),
            "items[0].snippet.topLevelComment.id: missing" },
        { YT_THREAD("{\"id\": \"T\"}"),
            "items[0].snippet.topLevelComment.snippet: missing" },
        { YT_COMMENT("\"textOriginal\": \"x\""),
            "items[0].snippet.topLevelComment.snippet.authorChannelId: "
            "missing" },
        { YT_COMMENT("\"authorChannelId\": {}"),
            "items[0].snippet.topLevelComment.snippet.authorChannelId.value: "
            "missing" },
        { YT_COMMENT("\"authorChannelId\": {\"value\": [1]}"),
            "authorChannelId.value: expected a string or an integer" },
        { YT_COMMENT(YT_GOOD_AUTHOR ", \"textOriginal\": 3"),
            "snippet.textOriginal: expected a string" },
        { YT_COMMENT(YT_GOOD_AUTHOR ", \"publishedAt\": \"yesterday\""),
            "snippet.publishedAt: not an RFC 3339 time" },
        { YT_COMMENT(YT_GOOD_AUTHOR ", \"publishedAt\": 1723665096"),
            "snippet.publishedAt: expected a string" },
        { YT_COMMENT(YT_GOOD_AUTHOR ", \"publishedAt\":"
            " \"2024-02-30T00:00:00Z\""),
            "snippet.publishedAt: not an RFC 3339 time" },
        { YT_COMMENT(YT_GOOD_AUTHOR ", \"parentId\": \"has space\""),
            "snippet.parentId: not an id" },
    };
    struct connector_events ev = { 0 };
    struct youtube_page page;
    char err[256], *deep = NULL, *token = NULL;
    int rc = 0, r;

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        page.newest_ms = 0;
        r = youtube_parse_threads(&yt_test_channel, cases[i].body,
            strlen(cases[i].body), &page, &ev, err, sizeof(err));
        if (r != -1 || ev.n != 0 || strstr(err, cases[i].err) == NULL)
            fprintf(stderr, "  case %zu: rc %d, %zu events, err \"%s\"\n",
                i, r, ev.n, err);
        CHECK(r == -1);
        CHECK(ev.n == 0);
        CHECK_CONTAINS(err, cases[i].err);
    }
    CHECK((deep = conn_check_deep(10000)) != NULL);
    CHECK(youtube_parse_threads(&yt_test_channel, deep, 20000, &page, &ev,
        err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "maximum parsing depth");
    CHECK(youtube_parse_threads(NULL, "{}", 2, &page, &ev, err,
        sizeof(err)) == -1);
    CHECK_STR(err, "account: no channel id configured");

    /* A page token longer than the buffer is refused, not cut. */
    CHECK((token = xmalloc(YOUTUBE_PAGE_TOKEN_MAX + 64)) != NULL);
    memcpy(token, "{\"nextPageToken\": \"", 19);
    memset(token + 19, 'A', YOUTUBE_PAGE_TOKEN_MAX + 1);
    memcpy(token + 19 + YOUTUBE_PAGE_TOKEN_MAX + 1, "\"}", 3);
    CHECK(youtube_parse_threads(&yt_test_channel, token, strlen(token),
        &page, &ev, err, sizeof(err)) == -1);
    CHECK_STR(err, "body.nextPageToken: not a page token");
    CHECK_STR(page.next_page_token, "");
    CHECK(ev.n == 0);
out:
    xfree(token);
    xfree(deep);
    connector_events_free(&ev);
    return rc;
}

/* A broken top-level comment does not lose its replies. */
static int
test_partial(void)
{
    const char *body = "{\"items\": [{\"id\": \"T\", \"snippet\": {\"videoId\":"
        " \"V\", \"topLevelComment\": {\"id\": \"T\", \"snippet\": {}}},"
        " \"replies\": {\"comments\": [{\"id\": \"T.1\", \"snippet\":"
        " {\"parentId\": \"T\", \"textOriginal\": \"ok\", " YT_GOOD_AUTHOR
        ", \"publishedAt\": \"2024-08-14T20:02:11Z\"}}, 5]}},"
        " {\"id\": \"U\", \"snippet\": {\"topLevelComment\": {\"id\": \"U\","
        " \"snippet\": {\"textOriginal\": \"\", " YT_GOOD_AUTHOR "}}}}]}";
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 0 };
    char err[256];
    int rc = 0;

    CHECK(youtube_parse_threads(&yt_test_channel, body, strlen(body), &page,
        &ev, err, sizeof(err)) == -1);
    CHECK_STR(err, "items[0].snippet.topLevelComment.snippet.authorChannelId:"
        " missing (+1 more)");
    CHECK(ev.n == 2);
    CHECK_STR(ev.v[0].id, "youtube:T.1");
    CHECK(item_kind(ev.v[0].item) == ITEM_KIND_REPLY);
    CHECK(page.newest_ms == yt_test_time("2024-08-14T20:02:11Z"));
    /* An empty comment without a video: no conversation, no link. */
    CHECK_STR(ev.v[1].id, "youtube:U");
    CHECK(item_conversation(ev.v[1].item) == NULL);
out:
    connector_events_free(&ev);
    return rc;
}

static int
test_alloc_torture(void)
{
    struct connector_events ev = { 0 };
    struct youtube_page page;
    char *body = NULL, err[256];
    size_t len;
    unsigned long n;
    int rc = 0, r;

    CHECK((body = conn_check_load("youtube/commentThreads_list_mixed.json",
        &len)));
    for (n = 1; n < 100000; n++) {
        page.newest_ms = 0;
        alloc_fail_after(n);
        r = youtube_parse_threads(&yt_test_channel, body, len, &page, &ev,
            err, sizeof(err));
        alloc_fail_after(0);
        if (r == 0) {
            CHECK(ev.n == 3);
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
    { "threads_response", test_threads_response },
    { "held_for_review_and_replies", test_held_for_review_and_replies },
    { "mixed_threads", test_mixed_threads },
    { "cursor", test_cursor },
    { "errors", test_errors },
    { "malformed", test_malformed },
    { "partial", test_partial },
    { "alloc_torture", test_alloc_torture },
};

CHECK_MAIN(cases)
