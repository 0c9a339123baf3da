/*
 * conn_vk: the inbound side of the VK Callback API. VK posts one event per
 * request, {"type", "event_id", "v", "object", "group_id", "secret"};
 * there is no signature, only the configured secret copied into the body.
 * vk_verify reads the envelope, matches group_id to a configured community
 * and checks the secret in constant time, and tells the caller what to
 * answer (the confirmation string or "ok"). vk_parse turns wall comments
 * (new, edited, restored, deleted) and community messages into events.
 *
 * VK ids are integers. Comment ids are unique only within one wall and
 * message counters only within one dialog of one community, so native ids
 * carry their container (docs/connectors.md).
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "conn_internal.h"
#include "connector.h"
#include "item.h"

/* peer_id of a group chat is 2000000000 + chat id. */
#define VK_CHAT_PEER_BASE 2000000000LL

/* ---------------------------------------------------------------------
 * Envelope
 * ------------------------------------------------------------------ */

/* Copy event_id when it is a plain token, else leave "". */
static void
vk_event_id(const json_t *root, char *dst)
{
    const char *s = conn_str(root, "event_id");
    size_t n;

    dst[0] = '\0';
    if (s == NULL)
        return;
    n = strlen(s);
    if (n == 0 || n > VK_EVENT_ID_MAX ||
        strspn(s, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != n)
        return;
    memcpy(dst, s, n + 1);
}

/* group_id as decimal text; it must be a positive integer. */
static int
vk_group_id(const json_t *root, char *buf, size_t size, struct conn_errs *e)
{
    json_int_t gid;

    if (conn_req_int(root, "group_id", &gid, e, "body") == -1)
        return -1;
    if (gid <= 0) {
        conn_fail(e, "body.group_id: must be positive");
        return -1;
    }
    snprintf(buf, size, "%" JSON_INTEGER_FORMAT, gid);
    return 0;
}

int
vk_verify(const struct connector_account *accounts, size_t naccounts,
    const char *body, size_t len, struct vk_callback *cb, char *err,
    size_t errlen)
{
    const struct connector_account *a = NULL;
    struct conn_errs e;
    const char *type;
    json_t *root;
    char gid[32];

    memset(cb, 0, sizeof(*cb));
    conn_errs_init(&e, err, errlen);
    if ((root = conn_load(body, len, "body", &e)) == NULL)
        goto out;
    if (!json_is_object(root)) {
        conn_fail(&e, "body: expected a JSON object");
        goto out;
    }
    if (vk_group_id(root, gid, sizeof(gid), &e) == -1)
        goto out;
    for (size_t i = 0; i < naccounts && a == NULL; i++)
        if (accounts[i].platform != NULL && accounts[i].id != NULL &&
            strcmp(accounts[i].platform, CONNECTOR_VK) == 0 &&
            strcmp(accounts[i].id, gid) == 0)
            a = &accounts[i];
    if (a == NULL) {
        conn_fail(&e, "body.group_id: community %s is not configured", gid);
        goto out;
    }
    /* Nothing else of the body is looked at before the secret matches. */
    if (a->vk_secret != NULL &&
        !conn_secret_equal(a->vk_secret, conn_str(root, "secret"))) {
        conn_fail(&e, "body.secret: missing or wrong");
        goto out;
    }
    if (conn_opt_str(root, "type", &type, &e, "body") == -1)
        goto out;
    if (type == NULL) {
        conn_fail(&e, "body.type: missing");
        goto out;
    }
    (void)conn_quote(cb->type, sizeof(cb->type), type);
    vk_event_id(root, cb->event_id);
    if (strcmp(type, "confirmation") == 0) {
        if (a->vk_confirmation == NULL || a->vk_confirmation[0] == '\0') {
            conn_fail(&e, "body: confirmation requested for community %s, "
                "which has no confirmation string configured", gid);
            goto out;
        }
        cb->confirmation = true;
        cb->reply = a->vk_confirmation;
    } else
        cb->reply = "ok";
    cb->account = a;
out:
    json_decref(root);
    if (conn_errs_finish(&e) == -1) {
        memset(cb, 0, sizeof(*cb));
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------ */

/*
 * Is a VK author (from_id) us? The community writes as -group_id; other
 * self_ids are given in from_id form (users positive, communities
 * negative). a->id itself is not compared: a user may have that number.
 */
static bool
vk_is_self(const struct connector_account *a, json_int_t from_id)
{
    char s[32];

    snprintf(s, sizeof(s), "%" JSON_INTEGER_FORMAT, from_id);
    if (from_id < 0 && a->id != NULL && strcmp(s + 1, a->id) == 0)
        return true;
    for (size_t i = 0; i < a->nself_ids; i++)
        if (a->self_ids[i] != NULL && strcmp(a->self_ids[i], s) == 0)
            return true;
    return false;
}

static struct item *
vk_item_new(const char *native_id, enum item_kind kind,
    const struct connector_account *a, json_int_t from_id, const char *text,
    struct conn_errs *e, const char *path)
{
    struct item *it;
    char author[32], ierr[160];

    snprintf(author, sizeof(author), "%" JSON_INTEGER_FORMAT, from_id);
    if ((it = item_new(CONNECTOR_VK, native_id, kind, a->id, author, text,
        ierr, sizeof(ierr))) == NULL)
        conn_fail(e, "%s: %s", path, ierr);
    return it;
}

/* The largest of a list of {url, width, height} sizes. */
static const char *
vk_largest_url(const json_t *sizes)
{
    const char *best = NULL;
    json_int_t best_area = -1;
    json_t *s;
    size_t i;

    json_array_foreach(sizes, i, s) {
        json_int_t w = json_integer_value(conn_get(s, "width"));
        json_int_t h = json_integer_value(conn_get(s, "height"));
        const char *url = conn_str(s, "url");
        json_int_t area;

        if (url == NULL)
            continue;
        /* Guard the product against hostile dimensions. */
        area = (w > 0 && h > 0 && w < 1000000 && h < 1000000) ? w * h : 0;
        if (area > best_area) {
            best = url;
            best_area = area;
        }
    }
    return best;
}

/*
 * VK attachments: [{"type": "photo", "photo": {...}}, ...]. File ids and
 * access keys stay in raw; only a public URL is taken when there is one.
 */
static void
vk_attachments(struct item *it, const json_t *obj)
{
    json_t *arr = conn_get(obj, "attachments"), *att;
    size_t i;

    json_array_foreach(arr, i, att) {
        const char *type = conn_str(att, "type");
        json_t *body;
        json_int_t owner, id;
        char url[128];

        /*
         * One without a type still counts as shown, or an item with no
         * text would end up with nothing at all (the callers add "other"
         * only for an empty list), which item_from_json refuses.
         */
        if (type == NULL) {
            (void)conn_attach(it, "other", NULL);
            continue;
        }
        body = conn_get(att, type);
        if (strcmp(type, "photo") == 0) {
            const char *u = vk_largest_url(conn_get(body, "sizes"));

            if (u == NULL)
                u = conn_str(conn_get(body, "orig_photo"), "url");
            (void)conn_attach(it, "image", u);
        } else if (strcmp(type, "sticker") == 0) {
            (void)conn_attach(it, "sticker",
                vk_largest_url(conn_get(body, "images")));
        } else if (strcmp(type, "video") == 0) {
            owner = json_integer_value(conn_get(body, "owner_id"));
            id = json_integer_value(conn_get(body, "id"));
            snprintf(url, sizeof(url), "https://vk.com/video%"
                JSON_INTEGER_FORMAT "_%" JSON_INTEGER_FORMAT, owner, id);
            (void)conn_attach(it, "video", id != 0 ? url : NULL);
        } else if (strcmp(type, "doc") == 0) {
            (void)conn_attach(it, "file", conn_str(body, "url"));
        } else if (strcmp(type, "link") == 0) {
            (void)conn_attach(it, "link", conn_str(body, "url"));
        } else if (strcmp(type, "audio") == 0 ||
            strcmp(type, "audio_message") == 0) {
            (void)conn_attach(it, "audio", NULL);
        } else
            (void)conn_attach(it, "other", NULL);
    }
}

static int
vk_created(struct item *it, const json_t *obj, int64_t *ms,
    struct conn_errs *e, const char *path)
{
    json_int_t date;

    *ms = 0;
    if (conn_get(obj, "date") == NULL)
        return 0;
    if (conn_req_int(obj, "date", &date, e, path) == -1)
        return -1;
    if (conn_secs_to_ms(date, ms) == -1 ||
        item_set_created_ms(it, *ms) == -1) {
        conn_fail(e, "%s.date: time out of range", path);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Wall comments
 * ------------------------------------------------------------------ */

static int
vk_wall_comment(const struct connector_account *a, json_t *obj,
    enum connector_event_type type, struct connector_events *out,
    struct conn_errs *e, const char *path)
{
    json_int_t id, owner, post, from, reply_to = 0, top = 0, last = 0;
    char native[64], conv[64], parent[64], id_str[ITEM_ID_MAX + 1];
    char url[160];
    const char *text;
    json_t *stack, *v;
    struct item *it;
    int64_t ms;
    size_t i;

    if (!json_is_object(obj)) {
        conn_fail(e, "%s: %s", path,
            obj == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_int(obj, "id", &id, e, path) == -1 ||
        conn_req_int(obj, "owner_id", &owner, e, path) == -1 ||
        conn_req_int(obj, "post_id", &post, e, path) == -1 ||
        conn_req_int(obj, "from_id", &from, e, path) == -1 ||
        conn_opt_int(obj, "reply_to_comment", &reply_to, e, path) == -1 ||
        conn_opt_str(obj, "text", &text, e, path) == -1)
        return -1;
    stack = conn_get(obj, "parents_stack");
    if (stack != NULL && !json_is_array(stack)) {
        conn_fail(e, "%s.parents_stack: expected an array", path);
        return -1;
    }
    json_array_foreach(stack, i, v) {
        if (!json_is_integer(v)) {
            conn_fail(e, "%s.parents_stack[%zu]: expected an integer", path,
                i);
            return -1;
        }
        if (i == 0)
            top = json_integer_value(v);
        last = json_integer_value(v);
    }
    snprintf(native, sizeof(native), "%" JSON_INTEGER_FORMAT "_%"
        JSON_INTEGER_FORMAT, owner, id);
    conn_make_id(id_str, CONNECTOR_VK, native);
    if (vk_is_self(a, from))
        return conn_ignore(out, a, id_str, "our own comment", obj, e, path);

    if ((it = vk_item_new(native, reply_to != 0 || last != 0 ?
        ITEM_KIND_REPLY : ITEM_KIND_COMMENT, a, from, text, e,
        path)) == NULL)
        return -1;
    snprintf(conv, sizeof(conv), "%" JSON_INTEGER_FORMAT "_%"
        JSON_INTEGER_FORMAT, owner, post);
    snprintf(parent, sizeof(parent), "%" JSON_INTEGER_FORMAT "_%"
        JSON_INTEGER_FORMAT, owner, reply_to != 0 ? reply_to : last);
    if (top != 0)
        snprintf(url, sizeof(url), "https://vk.com/wall%s?reply=%"
            JSON_INTEGER_FORMAT "&thread=%" JSON_INTEGER_FORMAT, conv, id,
            top);
    else
        snprintf(url, sizeof(url), "https://vk.com/wall%s?reply=%"
            JSON_INTEGER_FORMAT, conv, id);
    if (item_set_conversation(it, conv) == -1 ||
        ((reply_to != 0 || last != 0) && item_set_parent(it, parent) == -1) ||
        item_set_permalink(it, url) == -1) {
        conn_fail(e, "%s: out of memory", path);
        item_free(it);
        return -1;
    }
    if (vk_created(it, obj, &ms, e, path) == -1) {
        item_free(it);
        return -1;
    }
    vk_attachments(it, obj);
    if (item_text_len(it) == 0 &&
        json_array_size(conn_get(obj, "attachments")) == 0)
        (void)conn_attach(it, "other", NULL);
    return conn_event_item(out, type, a, it, obj, ms, e, path);
}

static int
vk_wall_delete(const struct connector_account *a, json_t *obj,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    struct connector_event *ev;
    json_int_t id, owner, deleter = 0;
    char native[64], actor[32];

    if (!json_is_object(obj)) {
        conn_fail(e, "%s: %s", path,
            obj == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_int(obj, "id", &id, e, path) == -1 ||
        conn_req_int(obj, "owner_id", &owner, e, path) == -1 ||
        conn_opt_int(obj, "deleter_id", &deleter, e, path) == -1)
        return -1;
    snprintf(native, sizeof(native), "%" JSON_INTEGER_FORMAT "_%"
        JSON_INTEGER_FORMAT, owner, id);
    if ((ev = conn_event_add(out, CONNECTOR_EVENT_DELETE, a, obj, e,
        path)) == NULL)
        return -1;
    conn_make_id(ev->id, CONNECTOR_VK, native);
    if (deleter != 0) {
        snprintf(actor, sizeof(actor), "%" JSON_INTEGER_FORMAT, deleter);
        /* Out of memory here only loses who deleted it. */
        ev->actor_id = xstrdup(actor);
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------ */

/*
 * Native id of a community message: conversation_message_id counts within
 * one dialog, and peer ids (user ids, 2000000000 + chat id) are the same
 * for every community, so the group id comes first.
 */
static void
vk_message_id(char *dst, size_t size, const struct connector_account *a,
    json_int_t peer, json_int_t cmid)
{
    snprintf(dst, size, "%s_%" JSON_INTEGER_FORMAT "_%" JSON_INTEGER_FORMAT,
        a->id, peer, cmid);
}

static int
vk_message(const struct connector_account *a, json_t *msg,
    enum connector_event_type type, json_t *raw,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    json_int_t peer, from, cmid, outgoing = 0, reply_cmid = 0;
    char native[ITEM_NATIVE_ID_MAX + 1], parent[ITEM_NATIVE_ID_MAX + 1];
    char conv[32], id_str[ITEM_ID_MAX + 1], rpath[CONN_PATH_MAX];
    const char *text;
    json_t *reply;
    struct item *it;
    enum item_kind kind;
    int64_t ms;

    if (!json_is_object(msg)) {
        conn_fail(e, "%s: %s", path,
            msg == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_int(msg, "peer_id", &peer, e, path) == -1 ||
        conn_req_int(msg, "from_id", &from, e, path) == -1 ||
        conn_req_int(msg, "conversation_message_id", &cmid, e, path) == -1 ||
        conn_opt_int(msg, "out", &outgoing, e, path) == -1 ||
        conn_opt_str(msg, "text", &text, e, path) == -1)
        return -1;
    reply = conn_get(msg, "reply_message");
    conn_path(rpath, "%s.reply_message", path);
    if (json_is_object(reply) && conn_req_int(reply,
        "conversation_message_id", &reply_cmid, e, rpath) == -1)
        return -1;
    vk_message_id(native, sizeof(native), a, peer, cmid);
    conn_make_id(id_str, CONNECTOR_VK, native);
    if (outgoing != 0 || vk_is_self(a, from))
        return conn_ignore(out, a, id_str, "our own message", raw, e, path);
    /* Joins, kicks, title changes, pins: chat bookkeeping, not text. */
    if (conn_get(msg, "action") != NULL)
        return conn_ignore(out, a, id_str, "service message", raw, e, path);

    if (peer < VK_CHAT_PEER_BASE)
        kind = ITEM_KIND_DM;
    else
        kind = reply_cmid != 0 ? ITEM_KIND_REPLY : ITEM_KIND_COMMENT;
    if ((it = vk_item_new(native, kind, a, from, text, e, path)) == NULL)
        return -1;
    snprintf(conv, sizeof(conv), "%" JSON_INTEGER_FORMAT, peer);
    vk_message_id(parent, sizeof(parent), a, peer, reply_cmid);
    if (item_set_conversation(it, conv) == -1 ||
        (reply_cmid != 0 && item_set_parent(it, parent) == -1)) {
        conn_fail(e, "%s: out of memory", path);
        item_free(it);
        return -1;
    }
    if (vk_created(it, msg, &ms, e, path) == -1) {
        item_free(it);
        return -1;
    }
    vk_attachments(it, msg);
    /* Forwarded messages only, or a geo point: show that it exists. */
    if (item_text_len(it) == 0 &&
        json_array_size(conn_get(msg, "attachments")) == 0)
        (void)conn_attach(it, "other", NULL);
    return conn_event_item(out, type, a, it, raw, ms, e, path);
}

/* ---------------------------------------------------------------------
 * Parse
 * ------------------------------------------------------------------ */

int
vk_parse(const struct connector_account *a, const char *body, size_t len,
    char event_id[VK_EVENT_ID_MAX + 1], struct connector_events *out,
    char *err, size_t errlen)
{
    struct conn_errs e;
    const char *type;
    json_t *root, *obj, *msg;
    char gid[32];

    conn_errs_init(&e, err, errlen);
    if (event_id != NULL)
        event_id[0] = '\0';
    if ((root = conn_load(body, len, "body", &e)) == NULL)
        goto out;
    if (!json_is_object(root)) {
        conn_fail(&e, "body: expected a JSON object");
        goto out;
    }
    if (event_id != NULL)
        vk_event_id(root, event_id);
    if (vk_group_id(root, gid, sizeof(gid), &e) == -1)
        goto out;
    if (a == NULL || a->id == NULL || strcmp(a->id, gid) != 0) {
        conn_fail(&e, "body.group_id: %s is not this community", gid);
        goto out;
    }
    if (conn_opt_str(root, "type", &type, &e, "body") == -1)
        goto out;
    if (type == NULL) {
        conn_fail(&e, "body.type: missing");
        goto out;
    }
    obj = conn_get(root, "object");

    if (strcmp(type, "wall_reply_new") == 0)
        (void)vk_wall_comment(a, obj, CONNECTOR_EVENT_NEW, out, &e,
            "object");
    else if (strcmp(type, "wall_reply_edit") == 0)
        (void)vk_wall_comment(a, obj, CONNECTOR_EVENT_EDIT, out, &e,
            "object");
    else if (strcmp(type, "wall_reply_restore") == 0)
        (void)vk_wall_comment(a, obj, CONNECTOR_EVENT_RESTORE, out, &e,
            "object");
    else if (strcmp(type, "wall_reply_delete") == 0)
        (void)vk_wall_delete(a, obj, out, &e, "object");
    else if (strcmp(type, "message_new") == 0) {
        /*
         * API >= 5.103 wraps the message with client_info; older
         * versions send the message itself as the object.
         */
        msg = conn_get(obj, "message");
        if (msg != NULL)
            (void)vk_message(a, msg, CONNECTOR_EVENT_NEW, obj, out, &e,
                "object.message");
        else
            (void)vk_message(a, obj, CONNECTOR_EVENT_NEW, obj, out, &e,
                "object");
    } else if (strcmp(type, "message_edit") == 0)
        (void)vk_message(a, obj, CONNECTOR_EVENT_EDIT, obj, out, &e,
            "object");
    else if (strcmp(type, "message_reply") == 0)
        (void)conn_ignore(out, a, NULL, "our own message", obj, &e,
            "object");
    else if (strcmp(type, "confirmation") == 0)
        (void)conn_ignore(out, a, NULL, "confirmation request", NULL, &e,
            "body");
    else
        (void)conn_ignore(out, a, NULL, "event type not handled", obj, &e,
            "object");
out:
    json_decref(root);
    return conn_errs_finish(&e);
}

/* ---------------------------------------------------------------------
 * Outbound: the VK API calls of an action (outbound.h)
 * ------------------------------------------------------------------ */

/* Error codes (vk/README.md): slow down, and faults worth a retry. */
#define VK_ERR_UNKNOWN      1
#define VK_ERR_TOO_MANY     6
#define VK_ERR_FLOOD        9
#define VK_ERR_INTERNAL     10
#define VK_ERR_CAPTCHA      14
#define VK_ERR_DAILY        29

/* How long each "slow down" waits when VK gives no time. */
static const struct {
    json_int_t code;
    int64_t wait_ms;
} vk_rate_waits[] = {
    { VK_ERR_TOO_MANY, 1000 },
    { VK_ERR_FLOOD, 60 * 1000 },
    { VK_ERR_CAPTCHA, 10 * 60 * 1000 },
    { VK_ERR_DAILY, 60 * 60 * 1000 },
};

/*
 * messages.send's random_id, an int32 that VK uses to drop a second
 * send of the same message: derived from the action id, so every retry
 * of one action carries the same value (FNV-1a, 31 bits, never 0).
 */
static unsigned long
vk_random_id(const char *action_id)
{
    uint32_t h = 2166136261u;

    for (const unsigned char *p = (const unsigned char *)action_id;
        *p != '\0'; p++) {
        h ^= *p;
        h *= 16777619u;
    }
    h &= 0x7fffffffu;
    return h != 0 ? h : 1;
}

/* "<owner>_<id>" into its two numbers' texts. */
static int
vk_split_pair(const char *s, char *owner, char *id, size_t size)
{
    const char *us = s != NULL ? strrchr(s, '_') : NULL;

    if (us == NULL || us == s || (size_t)(us - s) >= size ||
        strlen(us + 1) >= size || us[1] == '\0')
        return -1;
    memcpy(owner, s, (size_t)(us - s));
    owner[us - s] = '\0';
    strcpy(id, us + 1);
    return 0;
}

int
vk_out_build(const struct outbound_action *a, struct outbound_request *r,
    char *err, size_t errlen)
{
    static const char *const methods[OUTBOUND_TYPE_COUNT_] = {
        [OUTBOUND_HIDE] = "wall.deleteComment",
        [OUTBOUND_UNHIDE] = "wall.restoreComment",
        [OUTBOUND_DELETE] = "wall.deleteComment",
        [OUTBOUND_RESTORE] = "wall.restoreComment",
    };
    const char *kind = outbound_item_str(a->item, "kind");
    const char *group = outbound_item_str(a->item, "account.id");
    const char *native = outbound_item_str(a->item, "native_id");
    const char *token = a->token, *method;
    char owner[32], cid[32], powner[32], post[32], rnd[16];
    bool dm = kind != NULL && strcmp(kind, "dm") == 0;

    r->idempotent = true;
    r->method = "POST";
    if (a->type == OUTBOUND_REPLY && dm) {
        const char *peer = outbound_item_str(a->item, "conversation");

        if (peer == NULL) {
            snprintf(err, errlen, "item: conversation (peer_id) missing");
            return -1;
        }
        method = "messages.send";
        snprintf(rnd, sizeof(rnd), "%lu", vk_random_id(a->id));
        outbound_form(&r->body, "peer_id", peer);
        outbound_form(&r->body, "random_id", rnd);
        outbound_form(&r->body, "message", a->text);
        buf_printf(&r->show, "POST /method/messages.send peer_id=%s "
            "random_id=%s", peer, rnd);
    } else if (dm) {
        snprintf(err, errlen, "unsupported: a private message cannot be "
            "hidden or deleted");
        return -1;
    } else if (vk_split_pair(native, owner, cid, sizeof(cid)) == -1) {
        snprintf(err, errlen, "item: native_id is not <owner>_<comment>");
        return -1;
    } else if (a->type == OUTBOUND_REPLY) {
        if (vk_split_pair(outbound_item_str(a->item, "conversation"),
            powner, post, sizeof(post)) == -1 || group == NULL) {
            snprintf(err, errlen, "item: conversation is not "
                "<owner>_<post>");
            return -1;
        }
        method = "wall.createComment";
        outbound_form(&r->body, "owner_id", owner);
        outbound_form(&r->body, "post_id", post);
        outbound_form(&r->body, "from_group", group);
        outbound_form(&r->body, "reply_to_comment", cid);
        outbound_form(&r->body, "message", a->text);
        outbound_form(&r->body, "guid", a->id);
        buf_printf(&r->show, "POST /method/wall.createComment owner_id=%s "
            "post_id=%s reply_to_comment=%s guid=%s", owner, post, cid,
            a->id);
    } else {
        /* VK gives these to a moderator's user token only. */
        method = methods[a->type];
        if ((token = a->user_token) == NULL) {
            snprintf(err, errlen, "account: %s needs user_token "
                "(docs/config.md, accounts)", method);
            return -1;
        }
        outbound_form(&r->body, "owner_id", owner);
        outbound_form(&r->body, "comment_id", cid);
        buf_printf(&r->show, "POST /method/%s owner_id=%s comment_id=%s",
            method, owner, cid);
    }
    buf_printf(&r->url, "%s/%s", a->api_base, method);
    outbound_form(&r->body, "v", a->api_version != NULL ?
        a->api_version : "5.199");
    outbound_form(&r->body, "access_token", token);
    r->headers[0] = "Content-Type: application/x-www-form-urlencoded";
    return 0;
}

void
vk_out_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res)
{
    json_t *error = json_object_get(body, "error"), *resp;
    json_int_t code = json_integer_value(json_object_get(error,
        "error_code"));
    const char *msg = json_string_value(json_object_get(error,
        "error_msg"));

    (void)type;
    if (status >= 200 && status < 300 && error == NULL &&
        (resp = json_object_get(body, "response")) != NULL) {
        res->verdict = OUTBOUND_DONE;
        if (json_is_integer(resp))
            outbound_detail(res, "%lld", (long long)json_integer_value(resp));
        else if (json_is_integer(json_object_get(resp, "comment_id")))
            outbound_detail(res, "%lld", (long long)json_integer_value(
                json_object_get(resp, "comment_id")));
        else
            outbound_detail(res, "ok");
        return;
    }
    if (error == NULL) {
        res->verdict = status >= 500 || status == 429 ? OUTBOUND_RETRY :
            OUTBOUND_FAILED;
        outbound_detail(res, "HTTP %ld: no VK answer", status);
        return;
    }
    outbound_detail(res, "%lld: %s", (long long)code,
        msg != NULL ? msg : "-");
    res->verdict = OUTBOUND_FAILED;
    for (size_t i = 0; i < nitems(vk_rate_waits); i++) {
        if (vk_rate_waits[i].code == code) {
            res->verdict = OUTBOUND_RETRY;
            res->rate_limited = true;
            res->retry_after_ms = vk_rate_waits[i].wait_ms;
        }
    }
    if (code == VK_ERR_UNKNOWN || code == VK_ERR_INTERNAL)
        res->verdict = OUTBOUND_RETRY;
}
