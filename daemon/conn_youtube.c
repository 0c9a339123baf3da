/*
 * conn_youtube: the inbound side of YouTube, which has no comment
 * webhooks: the poller fetches commentThreads.list (and comments.list for
 * more replies) and hands each response here. Top-level comments become
 * comments, replies become replies, comments by the channel itself are
 * ignored. The page state carries nextPageToken and the newest
 * publishedAt seen, the poller's cursor; Google error bodies come back
 * as error_code and reason so the poller can tell quota from a disabled
 * video.
 *
 * Text is textOriginal, as typed; textDisplay is HTML and is used only
 * when textOriginal is absent. Edits are not reported: a poll cannot tell
 * an edited comment from one seen before except by updatedAt, and the
 * item id is the same either way.
 */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "connector.h"
#include "item.h"
#include "util.h"

/* What one poll response shares while its comments are parsed. */
struct youtube_ctx {
    const struct connector_account *account;
    struct youtube_page *page;
    int64_t cursor;     /* newest_ms as given in */
    struct connector_events *out;
    struct conn_errs *e;
};

static int
youtube_comment(struct youtube_ctx *c, json_t *res, const char *thread_id,
    const char *thread_video, const char *path)
{
    const struct connector_account *a = c->account;
    char cid[ITEM_NATIVE_ID_MAX + 1], author[ITEM_NATIVE_ID_MAX + 1];
    char parent[ITEM_NATIVE_ID_MAX + 1], video[ITEM_NATIVE_ID_MAX + 1];
    char id_str[ITEM_ID_MAX + 1], spath[CONN_PATH_MAX], ierr[160];
    char apath[CONN_PATH_MAX], url[640];
    const char *orig, *display, *published;
    json_t *snip, *acid;
    struct item *it;
    int64_t ms = 0;

    if (!json_is_object(res)) {
        conn_fail(c->e, "%s: %s", path,
            res == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_id(res, "id", cid, sizeof(cid), c->e, path) == -1)
        return -1;
    conn_make_id(id_str, CONNECTOR_YOUTUBE, cid);
    snip = conn_get(res, "snippet");
    conn_path(spath, "%s.snippet", path);
    if (!json_is_object(snip)) {
        conn_fail(c->e, "%s: %s", spath,
            snip == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_opt_str(snip, "textOriginal", &orig, c->e, spath) == -1 ||
        conn_opt_str(snip, "textDisplay", &display, c->e, spath) == -1 ||
        conn_opt_str(snip, "publishedAt", &published, c->e, spath) == -1 ||
        conn_opt_id(snip, "parentId", parent, sizeof(parent), c->e,
        spath) == -1 ||
        conn_opt_id(snip, "videoId", video, sizeof(video), c->e,
        spath) == -1)
        return -1;
    if (published != NULL && util_parse_time(published, &ms) == -1) {
        conn_fail(c->e, "%s.publishedAt: not an RFC 3339 time", spath);
        return -1;
    }
    /* Every comment moves the cursor, our own and broken ones included. */
    if (ms > c->page->newest_ms)
        c->page->newest_ms = ms;
    if (c->cursor > 0 && published != NULL && ms <= c->cursor)
        c->page->reached_cursor = true;

    acid = conn_get(snip, "authorChannelId");
    conn_path(apath, "%s.authorChannelId", spath);
    if (json_is_object(acid)) {
        if (conn_req_id(acid, "value", author, sizeof(author), c->e,
            apath) == -1)
            return -1;
    } else if (conn_req_id(snip, "authorChannelId", author, sizeof(author),
        c->e, spath) == -1)
        return -1;
    if (conn_is_self(a, author))
        return conn_ignore(c->out, a, id_str, "our own comment", res, c->e,
            path);

    /* A reply inside a thread may lack parentId in older versions. */
    if (parent[0] == '\0' && thread_id != NULL)
        snprintf(parent, sizeof(parent), "%s", thread_id);
    if (video[0] == '\0' && thread_video != NULL)
        snprintf(video, sizeof(video), "%s", thread_video);
    if ((it = item_new(CONNECTOR_YOUTUBE, cid, parent[0] != '\0' ?
        ITEM_KIND_REPLY : ITEM_KIND_COMMENT, a->id, author,
        orig != NULL ? orig : display, ierr, sizeof(ierr))) == NULL) {
        conn_fail(c->e, "%s: %s", path, ierr);
        return -1;
    }
    if ((video[0] != '\0' && item_set_conversation(it, video) == -1) ||
        (parent[0] != '\0' && item_set_parent(it, parent) == -1) ||
        (published != NULL && item_set_created_ms(it, ms) == -1)) {
        conn_fail(c->e, "%s: out of memory", path);
        item_free(it);
        return -1;
    }
    conn_set_name(it, conn_str(snip, "authorDisplayName"));
    if (video[0] != '\0') {
        snprintf(url, sizeof(url), "https://www.youtube.com/watch?v=%s&lc=%s",
            video, cid);
        (void)item_set_permalink(it, url);
    }
    if (item_text_len(it) == 0)
        (void)conn_attach(it, "other", NULL);
    return conn_event_item(c->out, CONNECTOR_EVENT_NEW, a, it, res,
        published != NULL ? ms : 0, c->e, path);
}

static void
youtube_thread(struct youtube_ctx *c, json_t *thread, const char *path)
{
    char tid[ITEM_NATIVE_ID_MAX + 1], spath[CONN_PATH_MAX];
    char cpath[CONN_PATH_MAX];
    const char *video;
    json_t *snip, *replies, *list, *r;
    size_t i;

    if (!json_is_object(thread)) {
        conn_fail(c->e, "%s: expected an object", path);
        return;
    }
    snip = conn_get(thread, "snippet");
    conn_path(spath, "%s.snippet", path);
    if (!json_is_object(snip)) {
        conn_fail(c->e, "%s: %s", spath,
            snip == NULL ? "missing" : "expected an object");
        return;
    }
    if (conn_opt_str(snip, "videoId", &video, c->e, spath) == -1)
        return;
    conn_path(cpath, "%s.topLevelComment", spath);
    /* A broken top-level comment does not lose its replies. */
    (void)youtube_comment(c, conn_get(snip, "topLevelComment"), NULL,
        video, cpath);
    /* The thread id is the top-level comment's id, the replies' parent. */
    if (conn_opt_id(thread, "id", tid, sizeof(tid), c->e, path) == -1)
        return;
    replies = conn_get(thread, "replies");
    if (replies == NULL)
        return;
    list = conn_get(replies, "comments");
    if (!json_is_array(list)) {
        conn_fail(c->e, "%s.replies.comments: expected an array", path);
        return;
    }
    json_array_foreach(list, i, r) {
        conn_path(cpath, "%s.replies.comments[%zu]", path, i);
        (void)youtube_comment(c, r, tid[0] != '\0' ? tid : NULL, video,
            cpath);
    }
}

/* A Google error body: {"error": {"code", "message", "errors": [...]}}. */
static void
youtube_error(struct youtube_page *page, const json_t *error,
    struct conn_errs *e)
{
    json_int_t code = json_integer_value(conn_get(error, "code"));
    json_t *first = json_array_get(conn_get(error, "errors"), 0);
    const char *reason = conn_str(first, "reason");
    const char *message = conn_str(error, "message");
    char q[48];

    page->error_code = code > 0 && code < 1000 ? (int)code : 0;
    if (reason != NULL)
        (void)conn_quote(page->error_reason, sizeof(page->error_reason),
            reason);
    conn_fail(e, "youtube: %d %s", page->error_code,
        reason != NULL ? page->error_reason :
        message != NULL ? conn_quote(q, sizeof(q), message) : "error");
}

static int
youtube_parse(const struct connector_account *a, const char *body,
    size_t len, struct youtube_page *page, bool threads,
    struct connector_events *out, char *err, size_t errlen)
{
    const char *want = threads ? "youtube#commentThreadListResponse" :
        "youtube#commentListResponse";
    struct youtube_ctx c;
    struct conn_errs e;
    const char *kind, *token;
    json_t *root = NULL, *items, *v;
    char path[CONN_PATH_MAX];
    size_t i, n;

    page->next_page_token[0] = '\0';
    page->reached_cursor = false;
    page->error_code = 0;
    page->error_reason[0] = '\0';
    conn_errs_init(&e, err, errlen);
    if (a == NULL || a->id == NULL) {
        conn_fail(&e, "account: no channel id configured");
        goto out;
    }
    if ((root = conn_load(body, len, "body", &e)) == NULL)
        goto out;
    if (!json_is_object(root)) {
        conn_fail(&e, "body: expected a JSON object");
        goto out;
    }
    if ((v = conn_get(root, "error")) != NULL) {
        youtube_error(page, v, &e);
        goto out;
    }
    if (conn_opt_str(root, "kind", &kind, &e, "body") == -1 ||
        conn_opt_str(root, "nextPageToken", &token, &e, "body") == -1)
        goto out;
    if (kind != NULL && strcmp(kind, want) != 0) {
        conn_fail(&e, "body.kind: expected %s", want);
        goto out;
    }
    if (token != NULL) {
        n = strlen(token);
        if (n > YOUTUBE_PAGE_TOKEN_MAX ||
            strspn(token, "abcdefghijklmnopqrstuvwxyz"
            "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=.~") != n) {
            conn_fail(&e, "body.nextPageToken: not a page token");
            goto out;
        }
        memcpy(page->next_page_token, token, n + 1);
    }
    items = conn_get(root, "items");
    if (items != NULL && !json_is_array(items)) {
        conn_fail(&e, "body.items: expected an array");
        goto out;
    }
    c.account = a;
    c.page = page;
    c.cursor = page->newest_ms;
    c.out = out;
    c.e = &e;
    json_array_foreach(items, i, v) {
        conn_path(path, "items[%zu]", i);
        if (threads)
            youtube_thread(&c, v, path);
        else
            (void)youtube_comment(&c, v, NULL, NULL, path);
    }
out:
    json_decref(root);
    return conn_errs_finish(&e);
}

int
youtube_parse_threads(const struct connector_account *a, const char *body,
    size_t len, struct youtube_page *page, struct connector_events *out,
    char *err, size_t errlen)
{
    return youtube_parse(a, body, len, page, true, out, err, errlen);
}

int
youtube_parse_comments(const struct connector_account *a, const char *body,
    size_t len, struct youtube_page *page, struct connector_events *out,
    char *err, size_t errlen)
{
    return youtube_parse(a, body, len, page, false, out, err, errlen);
}

/* ---------------------------------------------------------------------
 * Outbound: the Data API calls of an action (outbound.h)
 * ------------------------------------------------------------------ */

/* Google error reasons that mean "later" (youtube/README.md). */
static const struct {
    const char *reason;
    bool rate;                  /* a limit, not a fault */
    int64_t wait_ms;            /* -1: the executor's backoff */
} youtube_retry_reasons[] = {
    { "quotaExceeded", true, 60 * 60 * 1000 },
    { "rateLimitExceeded", true, 60 * 1000 },
    { "userRateLimitExceeded", true, 60 * 1000 },
    { "backendError", false, -1 },
};

int
youtube_out_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen)
{
    static const char *const status[OUTBOUND_TYPE_COUNT_] = {
        [OUTBOUND_HIDE] = "heldForReview",
        [OUTBOUND_UNHIDE] = "published",
        [OUTBOUND_DELETE] = "rejected",
        [OUTBOUND_RESTORE] = "published",
    };
    const char *id = outbound_item_str(a->item, "native_id");
    const char *kind = outbound_item_str(a->item, "kind");
    const char *parent = outbound_item_str(a->item, "parent");
    json_t *body;

    if (id == NULL) {
        snprintf(err, errlen, "item: native_id missing");
        return -1;
    }
    r->method = "POST";
    if (a->type != OUTBOUND_REPLY) {
        r->idempotent = true;
        buf_printf(&r->url, "%s/comments/setModerationStatus?id=",
            a->api_base);
        buf_urlencode(&r->url, id);
        buf_printf(&r->url, "&moderationStatus=%s", status[a->type]);
        buf_printf(&r->show, "POST /comments/setModerationStatus id=%s "
            "moderationStatus=%s", id, status[a->type]);
    } else {
        /* Replies go under the thread's top comment. */
        if (kind != NULL && strcmp(kind, "reply") == 0 && parent != NULL)
            id = parent;
        body = json_pack("{s:{s:s,s:s}}", "snippet", "parentId", id,
            "textOriginal", a->text);
        if (outbound_json_body(r, body, err, errlen) == -1)
            return -1;
        r->idempotent = false;
        buf_printf(&r->url, "%s/comments?part=snippet", a->api_base);
        buf_printf(&r->show, "POST /comments parentId=%s", id);
    }
    outbound_bearer(r, a->token);
    return 0;
}

void
youtube_out_judge(long status, json_t *body, struct outbound_result *res)
{
    json_t *error = json_object_get(body, "error");
    json_t *first = json_array_get(json_object_get(error, "errors"), 0);
    const char *reason = json_string_value(json_object_get(first,
        "reason"));
    const char *msg = json_string_value(json_object_get(error, "message"));
    const char *id;

    if (status >= 200 && status < 300) {
        res->verdict = OUTBOUND_DONE;
        id = json_string_value(json_object_get(body, "id"));
        outbound_detail(res, "%s", id != NULL ? id : "ok");
        return;
    }
    outbound_detail(res, "%ld %s: %s", status, reason != NULL ? reason :
        "-", msg != NULL ? msg : "no error object");
    res->verdict = status >= 500 || status == 429 ? OUTBOUND_RETRY :
        OUTBOUND_FAILED;
    for (size_t i = 0; reason != NULL && i < nitems(youtube_retry_reasons);
        i++) {
        if (strcmp(youtube_retry_reasons[i].reason, reason) != 0)
            continue;
        res->verdict = OUTBOUND_RETRY;
        res->rate_limited = youtube_retry_reasons[i].rate;
        res->retry_after_ms = youtube_retry_reasons[i].wait_ms;
    }
}
