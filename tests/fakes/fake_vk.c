/*
 * fake_vk: the VK API methods inboxd calls, as the fake serves them:
 * wall.deleteComment, wall.restoreComment, wall.createComment and
 * messages.send, GET or POST /method/<name> with the parameters in the
 * query or a form body. Success is {"response": ...}; every error is HTTP
 * 200 with VK's {"error": {error_code, error_msg, request_params}}.
 * VK's own deduplication is kept: messages.send with a random_id already
 * used for the peer, and wall.createComment with a guid already used on
 * the post, answer what the first call answered and do nothing more.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "alloc.h"
#include "fake_internal.h"
#include "util.h"

struct fake_vk_method {
    const char *name;
    void (*serve)(struct fake_call *, const char *);
};

/* The token from the parameters or the bearer header, or NULL. */
static const char *
fake_vk_token(struct fake_call *c)
{
    const char *tok = fake_param(c, "access_token");

    if (tok != NULL && *tok != '\0')
        return tok;
    return c->bearer;
}

static void
fake_vk_echo(json_t *params, const struct evkeyvalq *q)
{
    const struct evkeyval *kv;

    TAILQ_FOREACH(kv, q, next) {
        if (strcmp(kv->key, "access_token") != 0)
            json_array_append_new(params, json_pack("{ssss}", "key",
                kv->key, "value", kv->value));
    }
}

/* VK's error: HTTP 200, the call's parameters echoed but the token. */
static void
fake_vk_error(struct fake_call *c, const char *method, int code,
    const char *msg)
{
    json_t *params = json_array();

    json_array_append_new(params, json_pack("{ssss}", "key", "method",
        "value", method));
    if (fake_vk_token(c) != NULL)
        json_array_append_new(params, json_pack("{ssss}", "key", "oauth",
            "value", "1"));
    fake_vk_echo(params, &c->query);
    fake_vk_echo(params, &c->form);
    fake_answer_json(c, 200, json_pack("{s{sissso}}", "error",
        "error_code", code, "error_msg", msg, "request_params", params),
        false);
}

static void
fake_vk_invalid(struct fake_call *c, const char *method, const char *what)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "One of the parameters specified was "
        "missing or invalid: %s", what);
    fake_vk_error(c, method, 100, msg);
}

/*
 * An integer parameter: 1 and *out when present, 0 when absent and not
 * required, -1 when the error has been answered.
 */
static int
fake_vk_int(struct fake_call *c, const char *method, const char *name,
    bool required, long long *out)
{
    const char *v = fake_param(c, name);
    char what[96];

    if (v == NULL || *v == '\0') {
        if (!required)
            return 0;
        snprintf(what, sizeof(what), "%s is undefined", name);
        fake_vk_invalid(c, method, what);
        return -1;
    }
    if (!fake_parse_ll(v, out)) {
        snprintf(what, sizeof(what), "%s not integer", name);
        fake_vk_invalid(c, method, what);
        return -1;
    }
    return 1;
}

static void
fake_vk_one(struct fake_call *c)
{
    fake_answer_json(c, 200, json_pack("{si}", "response", 1), false);
}

/* wall.deleteComment and wall.restoreComment: owner_id, comment_id. */
static void
fake_vk_comment_state(struct fake_call *c, const char *method)
{
    long long owner = 0, comment;
    char target[64];

    if (fake_vk_int(c, method, "owner_id", false, &owner) == -1 ||
        fake_vk_int(c, method, "comment_id", true, &comment) == -1)
        return;
    snprintf(target, sizeof(target), "%lld_%lld", owner, comment);
    fake_effect_add(c->f, "vk", strcmp(method, "wall.deleteComment") == 0 ?
        "delete" : "restore", target, NULL);
    fake_vk_one(c);
}

static void
fake_vk_create_comment(struct fake_call *c, const char *method)
{
    long long owner = 0, post, reply_to = 0, id;
    const char *text = fake_param(c, "message"), *guid, *seen;
    char key[320], target[96], idbuf[32];
    int has_reply;
    json_t *stack;

    if (fake_vk_int(c, method, "owner_id", false, &owner) == -1 ||
        fake_vk_int(c, method, "post_id", true, &post) == -1 ||
        (has_reply = fake_vk_int(c, method, "reply_to_comment", false,
        &reply_to)) == -1)
        return;
    if ((text == NULL || *text == '\0') &&
        fake_param(c, "attachments") == NULL &&
        fake_param(c, "sticker_id") == NULL) {
        fake_vk_invalid(c, method, "message is empty");
        return;
    }
    stack = json_array();
    if (has_reply)
        json_array_append_new(stack, json_integer(reply_to));
    guid = fake_param(c, "guid");
    snprintf(key, sizeof(key), "%lld_%lld %s", owner, post,
        guid ? guid : "");
    if (guid != NULL && *guid != '\0' &&
        (seen = fake_map_get(&c->f->vk_guid, key)) != NULL &&
        fake_parse_ll(seen, &id)) {
        fake_answer_json(c, 200, json_pack("{s{sIso}}", "response",
            "comment_id", (json_int_t)id, "parents_stack", stack), false);
        return;
    }
    id = 5000 + (long long)fake_next_id(c->f);
    if (guid != NULL && *guid != '\0') {
        snprintf(idbuf, sizeof(idbuf), "%lld", id);
        fake_map_put(&c->f->vk_guid, key, idbuf);
    }
    if (has_reply)
        snprintf(target, sizeof(target), "%lld_%lld", owner, reply_to);
    else
        snprintf(target, sizeof(target), "wall%lld_%lld", owner, post);
    fake_effect_add(c->f, "vk", "reply", target, text);
    fake_answer_json(c, 200, json_pack("{s{sIso}}", "response",
        "comment_id", (json_int_t)id, "parents_stack", stack), false);
}

static void
fake_vk_send(struct fake_call *c, const char *method)
{
    long long peer, random_id, id;
    const char *text = fake_param(c, "message"), *seen;
    char key[96], peerbuf[32], idbuf[32];
    int has;

    if ((has = fake_vk_int(c, method, "peer_id", false, &peer)) == -1 ||
        (has == 0 && (has = fake_vk_int(c, method, "user_id", false,
        &peer)) == -1))
        return;
    if (has == 0) {
        fake_vk_invalid(c, method, "you should specify peer_id, user_id, "
            "domain, chat_id or user_ids param");
        return;
    }
    if ((has = fake_vk_int(c, method, "random_id", false, &random_id)) ==
        -1)
        return;
    if (has == 0) {
        fake_vk_invalid(c, method, "random_id is a required parameter");
        return;
    }
    if ((text == NULL || *text == '\0') &&
        fake_param(c, "attachment") == NULL) {
        fake_vk_invalid(c, method, "message is empty or invalid");
        return;
    }
    /* random_id: VK drops a second send to the peer and answers with the
     * message the first one made. */
    snprintf(key, sizeof(key), "%lld %lld", peer, random_id);
    if ((seen = fake_map_get(&c->f->vk_sent, key)) == NULL ||
        !fake_parse_ll(seen, &id)) {
        id = 300 + (long long)fake_next_id(c->f);
        snprintf(idbuf, sizeof(idbuf), "%lld", id);
        fake_map_put(&c->f->vk_sent, key, idbuf);
        snprintf(peerbuf, sizeof(peerbuf), "%lld", peer);
        fake_effect_add(c->f, "vk", "dm", peerbuf, text);
    }
    fake_answer_json(c, 200, json_pack("{sI}", "response", (json_int_t)id),
        false);
}

static const struct fake_vk_method fake_vk_methods[] = {
    { "wall.deleteComment", fake_vk_comment_state },
    { "wall.restoreComment", fake_vk_comment_state },
    { "wall.createComment", fake_vk_create_comment },
    { "messages.send", fake_vk_send },
};

void
fake_vk_serve(struct fake_call *c)
{
    const char *method = c->path + strlen("/method/"), *v;

    if (fake_vk_token(c) == NULL) {
        fake_vk_error(c, method, 5, "User authorization failed: no "
            "access_token passed.");
        return;
    }
    if ((v = fake_param(c, "v")) == NULL || *v == '\0') {
        fake_vk_invalid(c, method, "v is required");
        return;
    }
    for (size_t i = 0; i < nitems(fake_vk_methods); i++) {
        if (strcmp(fake_vk_methods[i].name, method) == 0) {
            fake_vk_methods[i].serve(c, method);
            return;
        }
    }
    fake_vk_error(c, method, 3, "Unknown method passed");
}

char *
fake_vk_throttle(const char *method, int *status)
{
    json_t *v;
    char *s;
    size_t n = strcspn(method, "?/");

    *status = 200;
    v = json_pack("{s{sisss[{ssss%}{ssss}{ssss}]}}", "error", "error_code", 6,
        "error_msg", "Too many requests per second", "request_params",
        "key", "method", "value", method, n, "key", "oauth", "value", "1",
        "key", "v", "value", "5.199");
    s = v ? json_dumps(v, JSON_COMPACT) : NULL;
    json_decref(v);
    return s;
}
