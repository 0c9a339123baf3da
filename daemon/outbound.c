/*
 * outbound: the table of platform families for actions, the rules every
 * family shares (what a missing answer or a 5xx means), and what undoes
 * what. The families' own calls live with their inbound parsers.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "connector.h"
#include "outbound.h"
#include "util.h"

/* Most bytes of a request body or URL (a reply is at most 64 KiB). */
#define OUTBOUND_MAX    (256 * 1024)

static const char *const outbound_type_names[OUTBOUND_TYPE_COUNT_] = {
    [OUTBOUND_HIDE] = "hide",
    [OUTBOUND_UNHIDE] = "unhide",
    [OUTBOUND_DELETE] = "delete",
    [OUTBOUND_RESTORE] = "restore",
    [OUTBOUND_REPLY] = "reply",
};

/* Replies, except VK's, which carry random_id or guid. */
const char outbound_nonidempotent[] =
    "facebook:reply,instagram:reply,telegram:reply,youtube:reply";

static const char *const outbound_verdict_names[] = {
    [OUTBOUND_DONE] = "done",
    [OUTBOUND_RETRY] = "retry",
    [OUTBOUND_FAILED] = "failed",
    [OUTBOUND_UNCERTAIN] = "uncertain",
};

const char *
outbound_type_name(enum outbound_type t)
{
    return (unsigned)t < OUTBOUND_TYPE_COUNT_ ? outbound_type_names[t] : NULL;
}

int
outbound_type_from_name(const char *name)
{
    for (size_t i = 0; name != NULL && i < OUTBOUND_TYPE_COUNT_; i++) {
        if (strcmp(outbound_type_names[i], name) == 0)
            return (int)i;
    }
    return -1;
}

const char *
outbound_verdict_name(enum outbound_verdict v)
{
    return (unsigned)v < nitems(outbound_verdict_names) ?
        outbound_verdict_names[v] : "?";
}

void
outbound_request_init(struct outbound_request *r)
{
    memset(r, 0, sizeof(*r));
    buf_init(&r->url, OUTBOUND_MAX);
    buf_init(&r->body, OUTBOUND_MAX);
    buf_init(&r->show, 1024);
}

void
outbound_request_clear(struct outbound_request *r)
{
    /* The URL and a header may hold a token. */
    if (r->url.data != NULL)
        explicit_bzero(r->url.data, r->url.len);
    explicit_bzero(r->hdr, sizeof(r->hdr));
    buf_free(&r->url);
    buf_free(&r->body);
    buf_free(&r->show);
}

/* ---------------------------------------------------------------- helpers */

/* A string field of the item by a dotted path ("author.id"), or NULL. */
const char *
outbound_item_str(json_t *item, const char *path)
{
    char key[64];
    const char *dot;
    json_t *v = item;

    while (v != NULL && (dot = strchr(path, '.')) != NULL) {
        if ((size_t)(dot - path) >= sizeof(key))
            return NULL;
        memcpy(key, path, (size_t)(dot - path));
        key[dot - path] = '\0';
        v = json_object_get(v, key);
        path = dot + 1;
    }
    v = json_object_get(v, path);
    return json_is_string(v) && json_string_length(v) > 0 ?
        json_string_value(v) : NULL;
}

/* Append "name=value" (form-encoded) to b, with '&' when not first. */
int
outbound_form(struct buf *b, const char *name, const char *value)
{
    if ((b->len > 0 && buf_puts(b, "&") == -1) ||
        buf_urlencode(b, name) == -1 || buf_puts(b, "=") == -1)
        return -1;
    return buf_urlencode(b, value);
}

void
outbound_detail(struct outbound_result *res, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(res->detail, sizeof(res->detail), fmt, ap);
    va_end(ap);
    /* Platform text goes to logs and Redis: printable ASCII only. */
    for (char *p = res->detail; *p != '\0'; p++) {
        if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e)
            *p = '?';
    }
}

int
outbound_json_body(struct outbound_request *r, json_t *body, char *err,
    size_t errlen)
{
    char *s = body != NULL ? json_dumps(body, JSON_COMPACT) : NULL;

    json_decref(body);
    if (s == NULL) {
        snprintf(err, errlen, "out of memory");
        return -1;
    }
    buf_puts(&r->body, s);
    xfree(s);
    r->headers[0] = "Content-Type: application/json";
    return 0;
}

void
outbound_bearer(struct outbound_request *r, const char *token)
{
    size_t i = 0;

    while (r->headers[i] != NULL)
        i++;
    snprintf(r->hdr[i], sizeof(r->hdr[i]), "Authorization: Bearer %s",
        token);
    r->headers[i] = r->hdr[i];
}

/* ---------------------------------------------------------------- table */

static int
outbound_meta_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen)
{
    return meta_out_build(a, false, r, err, errlen);
}

static int
outbound_ig_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen)
{
    return meta_out_build(a, true, r, err, errlen);
}

static void
outbound_meta_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res)
{
    (void)type;
    meta_out_judge(status, body, res);
}

static void
outbound_youtube_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res)
{
    (void)type;
    youtube_out_judge(status, body, res);
}

typedef int outbound_build_fn(const struct outbound_action *,
    struct outbound_request *, char *, size_t);
typedef void outbound_judge_fn(long, json_t *, enum outbound_type,
    struct outbound_result *);

static const struct {
    const char *platform;
    outbound_build_fn *build;
    outbound_judge_fn *judge;
} outbound_families[] = {
    { CONNECTOR_FACEBOOK, outbound_meta_build, outbound_meta_judge },
    { CONNECTOR_INSTAGRAM, outbound_ig_build, outbound_meta_judge },
    { CONNECTOR_VK, vk_out_build, vk_out_judge },
    { CONNECTOR_TELEGRAM, telegram_out_build, telegram_out_judge },
    { CONNECTOR_YOUTUBE, youtube_out_build, outbound_youtube_judge },
};

static int
outbound_family(json_t *item)
{
    const char *p = outbound_item_str(item, "platform");

    for (size_t i = 0; p != NULL && i < nitems(outbound_families); i++) {
        if (strcmp(outbound_families[i].platform, p) == 0)
            return (int)i;
    }
    return -1;
}

int
outbound_build(const struct outbound_action *a, struct outbound_request *r,
    char *err, size_t errlen)
{
    int f;

    if ((f = outbound_family(a->item)) == -1) {
        snprintf(err, errlen, "unsupported: no outbound connector for "
            "this platform");
        return -1;
    }
    if (a->type == OUTBOUND_REPLY && (a->text == NULL || *a->text == '\0')) {
        snprintf(err, errlen, "reply: no text");
        return -1;
    }
    if (a->api_base == NULL || a->token == NULL) {
        snprintf(err, errlen, "account: no API credentials for %s "
            "(docs/config.md, accounts)", outbound_families[f].platform);
        return -1;
    }
    if (outbound_families[f].build(a, r, err, errlen) == -1)
        return -1;
    if (r->url.failed || r->body.failed || r->show.failed ||
        r->url.data == NULL || r->show.data == NULL) {
        snprintf(err, errlen, "request too large or out of memory");
        return -1;
    }
    return 0;
}

void
outbound_judge(const struct outbound_action *a, bool idempotent,
    long status, const char *body, size_t len, int64_t retry_after_ms,
    struct outbound_result *res)
{
    json_t *doc;
    int f;

    memset(res, 0, sizeof(*res));
    res->retry_after_ms = -1;
    doc = len > 0 ? json_loadb(body, len, 0, NULL) : NULL;
    if ((f = outbound_family(a->item)) == -1) {
        res->verdict = OUTBOUND_FAILED;
        outbound_detail(res, "unsupported platform");
    } else {
        outbound_families[f].judge(status, doc, a->type, res);
    }
    json_decref(doc);
    if (res->retry_after_ms < 0 && retry_after_ms >= 0)
        res->retry_after_ms = retry_after_ms;
    if (status == 429)
        res->rate_limited = true;
    /*
     * A server fault after the request arrived: the platform may have
     * acted. Only 503 (and the platforms' rate limits) say it did not.
     */
    if (res->verdict == OUTBOUND_RETRY && !idempotent &&
        !res->rate_limited && status >= 500 && status != 503)
        res->verdict = OUTBOUND_UNCERTAIN;
}

void
outbound_judge_transport(bool connected, bool idempotent, const char *why,
    struct outbound_result *res)
{
    memset(res, 0, sizeof(*res));
    res->retry_after_ms = -1;
    res->verdict = !connected || idempotent ? OUTBOUND_RETRY :
        OUTBOUND_UNCERTAIN;
    outbound_detail(res, "%s: %s", connected ? "no answer" :
        "cannot connect", why != NULL && *why != '\0' ? why : "-");
}

/*
 * What undoes what, per platform. VK has no hidden state: its hide is a
 * delete that a moderator may restore, so both undo by a restore.
 */
static const struct {
    const char *platform;
    enum outbound_type type;
    int undo;                   /* an outbound_type, or -1 */
    const char *why;            /* when -1 */
} outbound_undos[] = {
    { NULL, OUTBOUND_HIDE, OUTBOUND_UNHIDE, NULL },
    { NULL, OUTBOUND_UNHIDE, OUTBOUND_HIDE, NULL },
    { CONNECTOR_VK, OUTBOUND_DELETE, OUTBOUND_RESTORE, NULL },
    { CONNECTOR_VK, OUTBOUND_RESTORE, OUTBOUND_DELETE, NULL },
    { CONNECTOR_YOUTUBE, OUTBOUND_DELETE, -1,
      "youtube: a rejected comment cannot be published again" },
    { CONNECTOR_TELEGRAM, OUTBOUND_DELETE, -1,
      "telegram: a deleted message is gone" },
    { NULL, OUTBOUND_DELETE, -1, "the platform cannot restore a deleted "
      "comment" },
    { NULL, OUTBOUND_REPLY, -1, "a sent reply is not taken back by inboxd; "
      "delete it on the platform" },
    { NULL, OUTBOUND_RESTORE, OUTBOUND_DELETE, NULL },
};

int
outbound_undo(const char *platform, enum outbound_type type, const char **why)
{
    for (size_t i = 0; i < nitems(outbound_undos); i++) {
        if (outbound_undos[i].type != type ||
            (outbound_undos[i].platform != NULL && (platform == NULL ||
            strcmp(outbound_undos[i].platform, platform) != 0)))
            continue;
        if (why != NULL)
            *why = outbound_undos[i].why;
        return outbound_undos[i].undo;
    }
    if (why != NULL)
        *why = "no undo for this action";
    return -1;
}
