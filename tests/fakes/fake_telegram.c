/*
 * fake_telegram: the Bot API methods inboxd calls besides getUpdates (the
 * long poll stays in fake_platform.c): sendMessage and deleteMessage,
 * with the parameters in the query, a form or a JSON body. Answers are
 * the Bot API envelope: {"ok":true,"result":...}, or {"ok":false,
 * "error_code","description"} with the HTTP status equal to error_code
 * and the reference server's texts. A message deleted here stays
 * deleted: a second delete is "message to delete not found".
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <jansson.h>

#include "alloc.h"
#include "fake_internal.h"
#include "util.h"

#define FAKE_TG_BOT_ID  7000000001LL

struct fake_tg_method {
    const char *name;
    void (*serve)(struct fake_call *);
};

static void
fake_tg_error(struct fake_call *c, int code, const char *description)
{
    fake_answer_json(c, code, json_pack("{sbsiss}", "ok", 0, "error_code",
        code, "description", description), false);
}

/* The bot's id: the digits before ':' in /bot<id>:<secret>/. */
static long long
fake_tg_bot_id(const char *path)
{
    char id[32];
    long long v;
    size_t n = strcspn(path + 4, ":/");

    if (n == 0 || n >= sizeof(id))
        return FAKE_TG_BOT_ID;
    memcpy(id, path + 4, n);
    id[n] = '\0';
    return fake_parse_ll(id, &v) && v > 0 ? v : FAKE_TG_BOT_ID;
}

/* The Chat object for chat_id, or NULL for an unknown chat. */
static json_t *
fake_tg_chat(const char *chat_id, long long *id)
{
    if (chat_id[0] == '@' && chat_id[1] != '\0') {
        *id = -1001000000001LL;
        return json_pack("{sIssssss}", "id", (json_int_t)*id, "title",
            chat_id + 1, "username", chat_id + 1, "type", "channel");
    }
    if (!fake_parse_ll(chat_id, id) || *id == 0)
        return NULL;
    if (*id > 0)
        return json_pack("{sIssss}", "id", (json_int_t)*id, "first_name",
            "Fake", "type", "private");
    if (*id <= -1000000000000LL)
        return json_pack("{sIssss}", "id", (json_int_t)*id, "title",
            "Fake supergroup", "type", "supergroup");
    return json_pack("{sIssss}", "id", (json_int_t)*id, "title",
        "Fake group", "type", "group");
}

/* The message replied to: reply_parameters.message_id (a JSON object,
 * or a JSON string in a form), else reply_to_message_id; 0 for none. */
static long long
fake_tg_reply_to(struct fake_call *c)
{
    const char *s = fake_param(c, "reply_parameters");
    long long id = 0;
    json_t *v;

    if (s != NULL && (v = json_loads(s, 0, NULL)) != NULL) {
        if (json_is_integer(json_object_get(v, "message_id")))
            id = json_integer_value(json_object_get(v, "message_id"));
        json_decref(v);
        return id;
    }
    if (fake_parse_ll(fake_param(c, "reply_to_message_id"), &id))
        return id;
    return 0;
}

static void
fake_tg_send(struct fake_call *c)
{
    const char *chat_id = fake_param(c, "chat_id");
    const char *text = fake_param(c, "text");
    long long chat, reply_to, id;
    json_t *chat_obj, *msg;
    json_int_t now = (json_int_t)time(NULL);
    char target[96];

    if (chat_id == NULL || *chat_id == '\0') {
        fake_tg_error(c, 400, "Bad Request: chat_id is empty");
        return;
    }
    if (text == NULL || *text == '\0') {
        fake_tg_error(c, 400, "Bad Request: message text is empty");
        return;
    }
    if ((chat_obj = fake_tg_chat(chat_id, &chat)) == NULL) {
        fake_tg_error(c, 400, "Bad Request: chat not found");
        return;
    }
    id = 1000 + (long long)fake_next_id(c->f);
    reply_to = fake_tg_reply_to(c);
    msg = json_pack("{sIs{sIsbssss}sOsIss}", "message_id", (json_int_t)id,
        "from", "id", (json_int_t)fake_tg_bot_id(c->path), "is_bot", 1,
        "first_name", "Inbox", "username", "inbox_test_bot",
        "chat", chat_obj, "date", now, "text", text);
    if (reply_to != 0) {
        json_object_set_new(msg, "reply_to_message", json_pack("{sIsOsI}",
            "message_id", (json_int_t)reply_to, "chat", chat_obj, "date",
            now));
        snprintf(target, sizeof(target), "%lld_%lld", chat, reply_to);
    } else {
        snprintf(target, sizeof(target), "%lld", chat);
    }
    json_decref(chat_obj);
    fake_effect_add(c->f, "telegram", reply_to ? "reply" : "dm", target,
        text);
    fake_answer_json(c, 200, json_pack("{sbso}", "ok", 1, "result", msg),
        false);
}

static void
fake_tg_delete(struct fake_call *c)
{
    const char *chat_id = fake_param(c, "chat_id");
    long long chat, msg;
    char target[96], key[128];

    if (chat_id == NULL || *chat_id == '\0') {
        fake_tg_error(c, 400, "Bad Request: chat_id is empty");
        return;
    }
    if (!fake_parse_ll(fake_param(c, "message_id"), &msg)) {
        fake_tg_error(c, 400, "Bad Request: message identifier is not "
            "specified");
        return;
    }
    if (!fake_parse_ll(chat_id, &chat)) {
        fake_tg_error(c, 400, "Bad Request: chat not found");
        return;
    }
    snprintf(target, sizeof(target), "%lld_%lld", chat, msg);
    snprintf(key, sizeof(key), "telegram %s", target);
    if (fake_map_get(&c->f->gone, key) != NULL) {
        fake_tg_error(c, 400, "Bad Request: message to delete not found");
        return;
    }
    fake_map_put(&c->f->gone, key, "");
    fake_effect_add(c->f, "telegram", "delete", target, NULL);
    fake_answer_json(c, 200, json_pack("{sbsb}", "ok", 1, "result", 1),
        false);
}

static const struct fake_tg_method fake_tg_methods[] = {
    { "sendMessage", fake_tg_send },
    { "deleteMessage", fake_tg_delete },
};

void
fake_telegram_serve(struct fake_call *c, const char *method)
{
    /* Method names are case-insensitive in the Bot API. */
    for (size_t i = 0; i < nitems(fake_tg_methods); i++) {
        if (strcasecmp(fake_tg_methods[i].name, method) == 0) {
            fake_tg_methods[i].serve(c);
            return;
        }
    }
    fake_tg_error(c, 404, "Not Found");
}

char *
fake_telegram_throttle(int retry_after, int *status, char **header)
{
    char body[160], h[48];

    *status = 429;
    snprintf(body, sizeof(body), "{\"ok\":false,\"error_code\":429,"
        "\"description\":\"Too Many Requests: retry after %d\","
        "\"parameters\":{\"retry_after\":%d}}", retry_after, retry_after);
    snprintf(h, sizeof(h), "Retry-After: %d", retry_after);
    *header = xstrdup(h);
    return xstrdup(body);
}
