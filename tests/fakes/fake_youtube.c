/*
 * fake_youtube: the YouTube Data API write calls inboxd makes, as the fake
 * serves them: comments.setModerationStatus (204), comments.insert for a
 * reply (200, the new comment resource) and comments.delete (204). The
 * reads (commentThreads.list) stay in fake_platform.c. Errors are the
 * standard Google error JSON with the HTTP status equal to error.code. A
 * comment deleted here stays gone (404 commentNotFound).
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "fake_internal.h"

#define FAKE_YT_V3          "/youtube/v3/"
/* The channel the fake's replies are written as (the samples' owner). */
#define FAKE_YT_CHANNEL     "UCk1SpWNzOs4MYmr0uICEntg"

static const char fake_yt_ban_without_reject[] =
    "{\"error\":{\"code\":400,\"message\":\"The banAuthor parameter can "
    "only be used if the moderationStatus parameter value is rejected.\","
    "\"errors\":[{\"message\":\"The banAuthor parameter can only be used "
    "if the moderationStatus parameter value is rejected.\",\"domain\":"
    "\"youtube.comment\",\"reason\":\"banWithoutReject\"}]}}";

static const char fake_yt_401[] =
    "{\"error\":{\"code\":401,\"message\":\"Request is missing required "
    "authentication credential. Expected OAuth 2 access token, login "
    "cookie or other valid authentication credential. See "
    "https://developers.google.com/identity/sign-in/web/devconsole-project."
    "\",\"errors\":[{\"message\":\"Login Required.\",\"domain\":\"global\","
    "\"reason\":\"required\",\"location\":\"Authorization\","
    "\"locationType\":\"header\"}],\"status\":\"UNAUTHENTICATED\"}}";

static const char *const fake_yt_statuses[] = {
    "heldForReview", "published", "rejected",
};

/* Google's error; location (a parameter name) may be NULL. */
static void
fake_yt_error(struct fake_call *c, int code, const char *domain,
    const char *reason, const char *message, const char *location)
{
    json_t *e = json_pack("{ssssss}", "message", message, "domain", domain,
        "reason", reason);

    if (location != NULL) {
        json_object_set_new(e, "location", json_string(location));
        json_object_set_new(e, "locationType", json_string("parameter"));
    }
    fake_answer_json(c, code, json_pack("{s{sisss[o]}}", "error", "code",
        code, "message", message, "errors", e), false);
}

static void
fake_yt_required(struct fake_call *c, const char *name)
{
    char msg[96];

    snprintf(msg, sizeof(msg), "Required parameter: %s", name);
    fake_yt_error(c, 400, "global", "required", msg, name);
}

static void
fake_yt_not_found(struct fake_call *c)
{
    fake_yt_error(c, 404, "youtube.comment", "commentNotFound", "The comment "
        "identified by the <code>id</code> parameter could not be found.",
        "id");
}

static bool
fake_yt_gone(struct fake_call *c, const char *id)
{
    char key[320];

    snprintf(key, sizeof(key), "youtube %s", id);
    return fake_map_get(&c->f->gone, key) != NULL;
}

/* Every id of a comma-separated list, or false for an empty one. */
static bool
fake_yt_next_id(const char **pp, char *id, size_t n)
{
    const char *p = *pp;
    size_t len;

    while (*p == ',')
        p++;
    if ((len = strcspn(p, ",")) == 0 || len >= n)
        return false;
    memcpy(id, p, len);
    id[len] = '\0';
    *pp = p + len;
    return true;
}

static void
fake_yt_moderate(struct fake_call *c)
{
    const char *ids = fake_param(c, "id"), *p;
    const char *status = fake_param(c, "moderationStatus");
    const char *ban = fake_param(c, "banAuthor");
    bool banning = ban != NULL && strcmp(ban, "true") == 0, known = false;
    char id[256], target[300], msg[200];

    if (ids == NULL || *ids == '\0') {
        fake_yt_required(c, "id");
        return;
    }
    if (status == NULL || *status == '\0') {
        fake_yt_required(c, "moderationStatus");
        return;
    }
    for (size_t i = 0; i < sizeof(fake_yt_statuses) /
        sizeof(fake_yt_statuses[0]); i++)
        known |= strcmp(status, fake_yt_statuses[i]) == 0;
    if (!known) {
        snprintf(msg, sizeof(msg), "Invalid value '%s'. Values must match "
            "the following regular expression: "
            "'(?i)(heldForReview|published|rejected)'", status);
        fake_yt_error(c, 400, "global", "invalidParameter", msg,
            "moderationStatus");
        return;
    }
    if (banning && strcmp(status, "rejected") != 0) {
        fake_answer(c, 400, fake_yt_ban_without_reject, NULL);
        return;
    }
    for (p = ids; fake_yt_next_id(&p, id, sizeof(id));) {
        if (fake_yt_gone(c, id)) {
            fake_yt_not_found(c);
            return;
        }
    }
    for (p = ids; fake_yt_next_id(&p, id, sizeof(id));) {
        snprintf(target, sizeof(target), "%s:%s", id, status);
        fake_effect_add(c->f, "youtube", "moderate", target,
            banning ? "banAuthor" : NULL);
    }
    fake_answer(c, 204, "", NULL);
}

/* textDisplay: the text as YouTube renders it, HTML-escaped. */
static char *
fake_yt_display(const char *s)
{
    struct buf b;

    buf_init(&b, FAKE_BODY_MAX);
    for (; *s != '\0'; s++) {
        switch (*s) {
        case '&':
            buf_puts(&b, "&amp;");
            break;
        case '<':
            buf_puts(&b, "&lt;");
            break;
        case '>':
            buf_puts(&b, "&gt;");
            break;
        case '"':
            buf_puts(&b, "&quot;");
            break;
        case '\'':
            buf_puts(&b, "&#39;");
            break;
        case '\n':
            buf_puts(&b, "<br>");
            break;
        default:
            buf_append(&b, s, 1);
        }
    }
    return buf_steal(&b);
}

static void
fake_yt_insert(struct fake_call *c)
{
    json_t *snippet = c->json ? json_object_get(c->json, "snippet") : NULL;
    const char *parent, *text;
    char id[320], suffix[23], etag[28], when[32], *display;
    time_t now = time(NULL);
    struct tm tm;

    if (fake_param(c, "part") == NULL) {
        fake_yt_required(c, "part");
        return;
    }
    parent = json_string_value(json_object_get(snippet, "parentId"));
    text = json_string_value(json_object_get(snippet, "textOriginal"));
    if (parent == NULL || *parent == '\0') {
        fake_yt_error(c, 400, "youtube.comment", "parentIdMissing", "The "
            "comment that is being created must be linked to a parent "
            "comment. However, the comment resource in your API request "
            "did not specify a value for the snippet.parentId property.",
            NULL);
        return;
    }
    if (text == NULL || *text == '\0') {
        fake_yt_error(c, 400, "youtube.comment", "commentTextRequired",
            "The comment resource that is being inserted must specify a "
            "value for the snippet.textOriginal property. Comments cannot "
            "be empty.", NULL);
        return;
    }
    if (fake_yt_gone(c, parent)) {
        fake_yt_not_found(c);
        return;
    }
    fake_chars(c->f, FAKE_B64URL, suffix, sizeof(suffix) - 1);
    fake_chars(c->f, FAKE_B64URL, etag, sizeof(etag) - 1);
    snprintf(id, sizeof(id), "%s.%s", parent, suffix);
    gmtime_r(&now, &tm);
    strftime(when, sizeof(when), "%Y-%m-%dT%H:%M:%SZ", &tm);
    if ((display = fake_yt_display(text)) == NULL) {
        fake_answer(c, 500, "", NULL);
        return;
    }
    fake_effect_add(c->f, "youtube", "reply", parent, text);
    fake_answer_json(c, 200, json_pack("{sssssss{sssssssssssssss{ss}sbsssiss"
        "ss}}", "kind", "youtube#comment", "etag", etag, "id", id,
        "snippet", "channelId", FAKE_YT_CHANNEL, "textDisplay", display,
        "textOriginal", text, "parentId", parent,
        "authorDisplayName", "@channelowner",
        "authorProfileImageUrl", "https://yt3.ggpht.com/ytc/fake=s48-c-k",
        "authorChannelUrl", "http://www.youtube.com/@channelowner",
        "authorChannelId", "value", FAKE_YT_CHANNEL, "canRate", 1,
        "viewerRating", "none", "likeCount", 0, "publishedAt", when,
        "updatedAt", when), false);
    xfree(display);
}

static void
fake_yt_delete(struct fake_call *c)
{
    const char *id = fake_param(c, "id");
    char key[320];

    if (id == NULL || *id == '\0') {
        fake_yt_required(c, "id");
        return;
    }
    if (fake_yt_gone(c, id)) {
        fake_yt_not_found(c);
        return;
    }
    snprintf(key, sizeof(key), "youtube %s", id);
    fake_map_put(&c->f->gone, key, "");
    fake_effect_add(c->f, "youtube", "delete", id, NULL);
    fake_answer(c, 204, "", NULL);
}

bool
fake_youtube_serve(struct fake_call *c)
{
    const char *key = fake_param(c, "key");
    void (*serve)(struct fake_call *) = NULL;

    if (strcmp(c->path, FAKE_YT_V3 "comments/setModerationStatus") == 0 &&
        c->cmd == EVHTTP_REQ_POST)
        serve = fake_yt_moderate;
    else if (strcmp(c->path, FAKE_YT_V3 "comments") == 0 &&
        c->cmd == EVHTTP_REQ_POST)
        serve = fake_yt_insert;
    else if (strcmp(c->path, FAKE_YT_V3 "comments") == 0 &&
        c->cmd == EVHTTP_REQ_DELETE)
        serve = fake_yt_delete;
    if (serve == NULL)
        return false;
    if (c->bearer == NULL && (key == NULL || *key == '\0'))
        fake_answer(c, 401, fake_yt_401, "WWW-Authenticate: Bearer "
            "realm=\"https://accounts.google.com/\"");
    else
        serve(c);
    return true;
}

char *
fake_youtube_throttle(int *status)
{
    *status = 403;
    return xstrdup("{\"error\":{\"code\":403,\"message\":\"Rate limit "
        "exceeded.\",\"errors\":[{\"message\":\"Rate limit exceeded.\","
        "\"domain\":\"usageLimits\",\"reason\":\"rateLimitExceeded\"}]}}");
}
