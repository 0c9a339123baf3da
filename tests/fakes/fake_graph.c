/*
 * fake_graph: the Graph API calls of Facebook Pages, Messenger and
 * Instagram as the fake serves them: hide and unhide a comment, delete
 * it, reply to it, send a message (also a private reply to a comment).
 * Paths with or without a /vNN.0 prefix; the token as access_token or a
 * bearer header; answers and errors in Graph's shape, escaped as Graph
 * escapes them. A comment deleted here stays gone: anything asked of it
 * afterwards gets Graph's "does not exist" error (code 100, subcode 33).
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "fake_internal.h"
#include "util.h"

#define GRAPH_TOKEN_MSG "Invalid OAuth access token - Cannot parse access token"

struct fake_graph_route {
    enum evhttp_cmd_type cmd;
    const char *edge;           /* "" for the node itself */
    const char *platform;       /* NULL: decided by the call */
    void (*serve)(struct fake_call *, const char *node, const char *);
};

static void
fake_graph_error(struct fake_call *c, int code, int subcode,
    const char *message)
{
    char trace[12];
    json_t *e;

    fake_chars(c->f, FAKE_ALNUM, trace, sizeof(trace) - 1);
    e = json_object();
    json_object_set_new(e, "message", json_string(message));
    json_object_set_new(e, "type", json_string(subcode == 33 ?
        "GraphMethodException" : "OAuthException"));
    json_object_set_new(e, "code", json_integer(code));
    if (subcode != 0)
        json_object_set_new(e, "error_subcode", json_integer(subcode));
    json_object_set_new(e, "fbtrace_id", json_string(trace));
    fake_answer_json(c, 400, json_pack("{so}", "error", e), true);
}

/* Code 100 subcode 33: the object is not there (or the call is not). */
static void
fake_graph_unsupported(struct fake_call *c, const char *node)
{
    char msg[512];

    snprintf(msg, sizeof(msg), "Unsupported %s request. Object with ID "
        "'%s' does not exist, cannot be loaded due to missing permissions, "
        "or does not support this operation. Please read the Graph API "
        "documentation at https://developers.facebook.com/docs/graph-api",
        c->cmd == EVHTTP_REQ_DELETE ? "delete" : c->cmd == EVHTTP_REQ_GET ?
        "get" : "post", node);
    fake_graph_error(c, 100, 33, msg);
}

/* "/v21.0/123_456/comments" -> "123_456", "comments"; false when the
 * path has more segments. */
static bool
fake_graph_split(const char *path, char *node, size_t nn, char *edge,
    size_t en)
{
    const char *p = path, *slash;
    size_t n;

    if (p[0] == '/' && p[1] == 'v' && p[2] >= '0' && p[2] <= '9') {
        p += 2 + strspn(p + 2, "0123456789");
        if (*p == '.')
            p += 1 + strspn(p + 1, "0123456789");
        if (*p != '/')
            return false;
    }
    if (*p++ != '/')
        return false;
    slash = strchr(p, '/');
    n = slash ? (size_t)(slash - p) : strlen(p);
    if (n == 0 || n >= nn)
        return false;
    memcpy(node, p, n);
    node[n] = '\0';
    p = slash ? slash + 1 : p + n;
    if (strchr(p, '/') != NULL || strlen(p) >= en)
        return false;
    snprintf(edge, en, "%s", p);
    return true;
}

bool
fake_graph_path(const char *path)
{
    char node[256], edge[64];

    if (!fake_graph_split(path, node, sizeof(node), edge, sizeof(edge)))
        return false;
    return strcmp(node, "me") == 0 ||
        strspn(node, "0123456789_") == strlen(node);
}

static bool
fake_graph_token_ok(struct fake_call *c)
{
    const char *tok = fake_param(c, "access_token");
    struct fake_platform *f = c->f;

    if (tok == NULL || *tok == '\0')
        tok = c->bearer;
    if (tok == NULL || *tok == '\0')
        return false;
    if (f->ngraph_tokens == 0)
        return true;
    for (size_t i = 0; i < f->ngraph_tokens; i++) {
        if (strcmp(f->graph_tokens[i], tok) == 0)
            return true;
    }
    return false;
}

static void
fake_graph_success(struct fake_call *c)
{
    fake_answer_json(c, 200, json_pack("{sb}", "success", 1), true);
}

/* Facebook comment ids are <object>_<number>; Instagram's are digits. */
static const char *
fake_graph_platform(const char *node)
{
    return strchr(node, '_') != NULL ? "facebook" : "instagram";
}

/* POST /{comment-id} is_hidden= (Facebook) or hide= (Instagram). */
static void
fake_graph_hide(struct fake_call *c, const char *node, const char *unused)
{
    const char *name = "is_hidden", *platform = "facebook", *v;
    char msg[128];
    bool hide;

    (void)unused;
    if ((v = fake_param(c, name)) == NULL &&
        (v = fake_param(c, "hide")) != NULL) {
        name = "hide";
        platform = "instagram";
    }
    if (v == NULL) {
        if (strchr(node, '_') == NULL)
            name = "hide";
        snprintf(msg, sizeof(msg), "(#100) The parameter %s is required",
            name);
        fake_graph_error(c, 100, 0, msg);
        return;
    }
    if (strcmp(v, "true") == 0 || strcmp(v, "1") == 0) {
        hide = true;
    } else if (strcmp(v, "false") == 0 || strcmp(v, "0") == 0) {
        hide = false;
    } else {
        snprintf(msg, sizeof(msg), "(#100) Param %s must be a boolean",
            name);
        fake_graph_error(c, 100, 0, msg);
        return;
    }
    fake_effect_add(c->f, platform, hide ? "hide" : "unhide", node, NULL);
    fake_graph_success(c);
}

static void
fake_graph_delete(struct fake_call *c, const char *node, const char *unused)
{
    char key[320];

    (void)unused;
    snprintf(key, sizeof(key), "graph %s", node);
    fake_map_put(&c->f->gone, key, "");
    fake_effect_add(c->f, fake_graph_platform(node), "delete", node, NULL);
    fake_graph_success(c);
}

/* POST /{id}/comments (Facebook) or /{id}/replies (Instagram). */
static void
fake_graph_reply(struct fake_call *c, const char *node, const char *platform)
{
    const char *text = fake_param(c, "message");
    char id[320];
    size_t n;

    if (platform == NULL)
        platform = fake_graph_platform(node);
    if (text == NULL || *text == '\0') {
        fake_graph_error(c, 100, 0, "(#100) Missing message or attachment");
        return;
    }
    /* A reply's id is <post-object>_<number> on Facebook, digits on
     * Instagram. */
    n = strcspn(node, "_");
    if (strcmp(platform, "facebook") == 0)
        snprintf(id, sizeof(id), "%.*s_%" PRIu64, (int)n, node,
            UINT64_C(139620233400000) + fake_next_id(c->f));
    else
        snprintf(id, sizeof(id), "%" PRIu64,
            UINT64_C(17873440459100000) + fake_next_id(c->f));
    fake_effect_add(c->f, platform, "reply", node, text);
    fake_answer_json(c, 200, json_pack("{ss}", "id", id), true);
}

/* A JSON body's object member, or a form field holding JSON; new. */
static json_t *
fake_graph_object(struct fake_call *c, const char *name)
{
    const char *s;
    json_t *v;

    if (c->json != NULL && json_is_object(v = json_object_get(c->json,
        name)))
        return json_incref(v);
    if ((s = fake_param(c, name)) == NULL ||
        (v = json_loads(s, 0, NULL)) == NULL)
        return NULL;
    if (!json_is_object(v)) {
        json_decref(v);
        return NULL;
    }
    return v;
}

/* A member as text: strings as they are, integers written out. */
static const char *
fake_graph_str(json_t *o, const char *name, char *tmp, size_t n)
{
    json_t *v = json_object_get(o, name);

    if (json_is_string(v))
        return json_string_value(v);
    if (json_is_integer(v)) {
        snprintf(tmp, n, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return tmp;
    }
    return NULL;
}

/* POST /me/messages or /{page-or-ig-id}/messages. */
static void
fake_graph_send(struct fake_call *c, const char *node, const char *unused)
{
    json_t *rcpt = fake_graph_object(c, "recipient"), *msg = NULL;
    const char *id, *cid, *text = NULL;
    char idtmp[32], cidtmp[32], target[320], mid[64], psid[32];

    (void)node;
    (void)unused;
    id = rcpt ? fake_graph_str(rcpt, "id", idtmp, sizeof(idtmp)) : NULL;
    cid = rcpt ? fake_graph_str(rcpt, "comment_id", cidtmp, sizeof(cidtmp)) :
        NULL;
    if (id == NULL && cid == NULL) {
        fake_graph_error(c, 100, 0, "(#100) The parameter recipient is "
            "required");
        goto out;
    }
    if ((msg = fake_graph_object(c, "message")) != NULL)
        text = json_string_value(json_object_get(msg, "text"));
    if (msg == NULL || (text == NULL &&
        json_object_get(msg, "attachment") == NULL)) {
        fake_graph_error(c, 100, 0, "(#100) The parameter message is "
            "required");
        goto out;
    }
    memcpy(mid, "m_", 2);
    fake_chars(c->f, FAKE_B64URL, mid + 2, sizeof(mid) - 3);
    if (id != NULL) {
        snprintf(target, sizeof(target), "%s", id);
    } else {
        /* A private reply: Graph answers with the commenter's id. */
        snprintf(target, sizeof(target), "comment:%s", cid);
        snprintf(psid, sizeof(psid), "%" PRIu64,
            UINT64_C(7100000000000000) + fake_next_id(c->f));
        id = psid;
    }
    fake_effect_add(c->f, fake_param(c, "messaging_type") != NULL ?
        "facebook" : "instagram", "dm", target, text);
    fake_answer_json(c, 200, json_pack("{ssss}", "recipient_id", id,
        "message_id", mid), true);
out:
    json_decref(rcpt);
    json_decref(msg);
}

static const struct fake_graph_route fake_graph_routes[] = {
    { EVHTTP_REQ_POST, "", NULL, fake_graph_hide },
    { EVHTTP_REQ_DELETE, "", NULL, fake_graph_delete },
    { EVHTTP_REQ_POST, "comments", NULL, fake_graph_reply },
    { EVHTTP_REQ_POST, "replies", "instagram", fake_graph_reply },
    { EVHTTP_REQ_POST, "messages", NULL, fake_graph_send },
};

void
fake_graph_serve(struct fake_call *c)
{
    const struct fake_graph_route *r;
    char node[256], edge[64], key[320];

    if (!fake_graph_split(c->path, node, sizeof(node), edge, sizeof(edge))) {
        fake_graph_error(c, 2500, 0, "Unknown path components");
        return;
    }
    if (!fake_graph_token_ok(c)) {
        fake_graph_error(c, 190, 0, GRAPH_TOKEN_MSG);
        xfree(c->header);
        c->header = xstrdup("WWW-Authenticate: OAuth \"Facebook Platform\" "
            "\"invalid_token\" \"" GRAPH_TOKEN_MSG "\"");
        return;
    }
    snprintf(key, sizeof(key), "graph %s", node);
    if (fake_map_get(&c->f->gone, key) != NULL) {
        fake_graph_unsupported(c, node);
        return;
    }
    for (size_t i = 0; i < nitems(fake_graph_routes); i++) {
        r = &fake_graph_routes[i];
        if (r->cmd == c->cmd && strcmp(r->edge, edge) == 0 &&
            (strcmp(node, "me") != 0 || strcmp(edge, "messages") == 0)) {
            r->serve(c, node, r->platform);
            return;
        }
    }
    fake_graph_unsupported(c, node);
}

char *
fake_graph_throttle(int *status)
{
    *status = 400;
    return xstrdup("{\"error\":{\"message\":\"(#4) Application request "
        "limit reached\",\"type\":\"OAuthException\",\"is_transient\":true,"
        "\"code\":4,\"fbtrace_id\":\"GoyjxuQpQMG\"}}");
}
