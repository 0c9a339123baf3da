/*
 * conn_telegram: the inbound side of the Telegram Bot API. Webhook
 * requests carry one Update and, when the webhook was set with a
 * secret_token, the header X-Telegram-Bot-Api-Secret-Token, compared here
 * in constant time. Long polling gets {"ok": true, "result": [Update...]}
 * from getUpdates; telegram_parse_updates also computes the next offset.
 *
 * Messages in groups and supergroups are public comments (replies when
 * they answer another message); messages in a private chat are DMs.
 * Channel posts are the channel's own (ours) and are ignored; comments on
 * them arrive from the linked discussion group as group messages.
 * Deleted messages produce no update for bots.
 */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "connector.h"
#include "item.h"

int
telegram_verify_secret(const char *secret, const char *header)
{
    if (secret == NULL)
        return 0;
    return conn_secret_equal(secret, header) ? 0 : -1;
}

/* ---------------------------------------------------------------------
 * Messages
 * ------------------------------------------------------------------ */

/* Media members and the attachment type each becomes. */
static const struct {
    const char *key, *type;
} telegram_media[] = {
    { "photo", "image" }, { "video", "video" }, { "animation", "video" },
    { "video_note", "video" }, { "voice", "audio" }, { "audio", "audio" },
    { "document", "file" }, { "sticker", "sticker" },
    { "location", "other" }, { "venue", "other" }, { "contact", "other" },
    { "poll", "other" }, { "dice", "other" }, { "game", "other" },
    { "story", "other" }, { "paid_media", "other" },
};

/*
 * Native id of a message. message_id is unique only inside a chat. In a
 * private chat the chat id is the user's id, the same for every bot that
 * user talks to, so the bot's id is put in front; group and supergroup
 * ids name one chat for everyone.
 */
static void
telegram_message_id(char *dst, size_t size, const struct connector_account *a,
    bool private_chat, json_int_t chat, json_int_t msg)
{
    if (private_chat)
        snprintf(dst, size, "%s_%" JSON_INTEGER_FORMAT "_%"
            JSON_INTEGER_FORMAT, a->id, chat, msg);
    else
        snprintf(dst, size, "%" JSON_INTEGER_FORMAT "_%" JSON_INTEGER_FORMAT,
            chat, msg);
}

/* "First Last", or whichever part exists. */
static void
telegram_set_user_name(struct item *it, const json_t *user)
{
    const char *first = conn_str(user, "first_name");
    const char *last = conn_str(user, "last_name");
    char name[1024];

    if (first == NULL && last == NULL)
        return;
    snprintf(name, sizeof(name), "%s%s%s", first ? first : "",
        first && last ? " " : "", last ? last : "");
    conn_set_name(it, name);
}

/*
 * t.me links exist for supergroups only: by username when public, else
 * the private form t.me/c/<id without -100>/<message>.
 */
static void
telegram_set_permalink(struct item *it, const json_t *chat,
    json_int_t chat_id, json_int_t msg_id)
{
    const char *username = conn_str(chat, "username");
    char url[512], id[32];

    if (username != NULL && username[0] != '\0')
        snprintf(url, sizeof(url), "https://t.me/%s/%" JSON_INTEGER_FORMAT,
            username, msg_id);
    else {
        snprintf(id, sizeof(id), "%" JSON_INTEGER_FORMAT, chat_id);
        if (strncmp(id, "-100", 4) != 0 || id[4] == '\0')
            return;
        snprintf(url, sizeof(url), "https://t.me/c/%s/%" JSON_INTEGER_FORMAT,
            id + 4, msg_id);
    }
    (void)item_set_permalink(it, url);
}

/*
 * The message this one answers, or 0. In forum supergroups every message
 * of a topic carries the topic's opening message as reply_to_message;
 * that is a thread, not a reply.
 */
static int
telegram_reply_to(const json_t *msg, json_int_t *reply_id,
    struct conn_errs *e, const char *path)
{
    json_t *reply = conn_get(msg, "reply_to_message");
    json_int_t thread = 0;
    char rpath[CONN_PATH_MAX];

    *reply_id = 0;
    if (reply == NULL)
        return 0;
    conn_path(rpath, "%s.reply_to_message", path);
    if (!json_is_object(reply)) {
        conn_fail(e, "%s: expected an object", rpath);
        return -1;
    }
    if (conn_req_int(reply, "message_id", reply_id, e, rpath) == -1 ||
        conn_opt_int(msg, "message_thread_id", &thread, e, path) == -1)
        return -1;
    if (json_is_true(conn_get(msg, "is_topic_message")) &&
        thread == *reply_id)
        *reply_id = 0;
    if (conn_get(reply, "forum_topic_created") != NULL)
        *reply_id = 0;
    return 0;
}

static int
telegram_message(const struct connector_account *a, json_t *msg,
    enum connector_event_type type, struct connector_events *out,
    struct conn_errs *e, const char *path)
{
    json_int_t msg_id, chat_id, reply_id, date = 0;
    char native[ITEM_NATIVE_ID_MAX + 1], parent[ITEM_NATIVE_ID_MAX + 1];
    char id_str[ITEM_ID_MAX + 1], author[ITEM_NATIVE_ID_MAX + 1];
    char cpath[CONN_PATH_MAX], conv[32], ierr[160];
    const char *chat_type, *text, *caption;
    json_t *chat, *from, *sender_chat;
    struct item *it;
    enum item_kind kind;
    bool private_chat, media = false;
    int64_t ms = 0;

    if (!json_is_object(msg)) {
        conn_fail(e, "%s: expected an object", path);
        return -1;
    }
    chat = conn_get(msg, "chat");
    conn_path(cpath, "%s.chat", path);
    if (!json_is_object(chat)) {
        conn_fail(e, "%s: %s", cpath,
            chat == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_int(msg, "message_id", &msg_id, e, path) == -1 ||
        conn_req_int(chat, "id", &chat_id, e, cpath) == -1 ||
        conn_opt_str(chat, "type", &chat_type, e, cpath) == -1 ||
        conn_opt_int(msg, "date", &date, e, path) == -1 ||
        conn_opt_str(msg, "text", &text, e, path) == -1 ||
        conn_opt_str(msg, "caption", &caption, e, path) == -1 ||
        telegram_reply_to(msg, &reply_id, e, path) == -1)
        return -1;
    if (chat_type == NULL) {
        conn_fail(e, "%s.type: missing", cpath);
        return -1;
    }
    if (strcmp(chat_type, "channel") == 0)
        return conn_ignore(out, a, NULL, "channel post (our own)", msg, e,
            path);
    private_chat = strcmp(chat_type, "private") == 0;
    if (!private_chat && strcmp(chat_type, "group") != 0 &&
        strcmp(chat_type, "supergroup") != 0)
        return conn_ignore(out, a, NULL, "chat type not handled", msg, e,
            path);
    telegram_message_id(native, sizeof(native), a, private_chat, chat_id,
        msg_id);
    conn_make_id(id_str, CONNECTOR_TELEGRAM, native);

    /* Anonymous admins and linked channels post as a chat. */
    sender_chat = conn_get(msg, "sender_chat");
    from = conn_get(msg, "from");
    if (json_is_object(sender_chat)) {
        conn_path(cpath, "%s.sender_chat", path);
        if (conn_req_id(sender_chat, "id", author, sizeof(author), e,
            cpath) == -1)
            return -1;
    } else if (json_is_object(from)) {
        conn_path(cpath, "%s.from", path);
        if (conn_req_id(from, "id", author, sizeof(author), e, cpath) == -1)
            return -1;
    } else {
        conn_fail(e, "%s.from: missing", path);
        return -1;
    }
    if (conn_is_self(a, author))
        return conn_ignore(out, a, id_str, "our own message", msg, e, path);
    /* The channel's own post copied into its discussion group. */
    if (json_is_true(conn_get(msg, "is_automatic_forward")))
        return conn_ignore(out, a, id_str, "automatic forward of a channel "
            "post", msg, e, path);
    for (size_t i = 0; i < sizeof(telegram_media) /
        sizeof(telegram_media[0]); i++)
        if (conn_get(msg, telegram_media[i].key) != NULL)
            media = true;
    if (text == NULL && caption == NULL && !media)
        return conn_ignore(out, a, id_str, "service message", msg, e, path);

    if (private_chat)
        kind = ITEM_KIND_DM;
    else
        kind = reply_id != 0 ? ITEM_KIND_REPLY : ITEM_KIND_COMMENT;
    if ((it = item_new(CONNECTOR_TELEGRAM, native, kind, a->id, author,
        text != NULL ? text : caption, ierr, sizeof(ierr))) == NULL) {
        conn_fail(e, "%s: %s", path, ierr);
        return -1;
    }
    snprintf(conv, sizeof(conv), "%" JSON_INTEGER_FORMAT, chat_id);
    telegram_message_id(parent, sizeof(parent), a, private_chat, chat_id,
        reply_id);
    if (item_set_conversation(it, conv) == -1 ||
        (reply_id != 0 && item_set_parent(it, parent) == -1)) {
        conn_fail(e, "%s: out of memory", path);
        goto fail;
    }
    if (date != 0 && (conn_secs_to_ms(date, &ms) == -1 ||
        item_set_created_ms(it, ms) == -1)) {
        conn_fail(e, "%s.date: time out of range", path);
        goto fail;
    }
    if (json_is_object(sender_chat))
        conn_set_name(it, conn_str(sender_chat, "title"));
    else
        telegram_set_user_name(it, from);
    if (strcmp(chat_type, "supergroup") == 0)
        telegram_set_permalink(it, chat, chat_id, msg_id);
    /* File ids stay in raw: a URL would need getFile and the bot token. */
    for (size_t i = 0; i < sizeof(telegram_media) /
        sizeof(telegram_media[0]); i++) {
        /* An animation also sends "document" for old clients. */
        if (strcmp(telegram_media[i].key, "document") == 0 &&
            conn_get(msg, "animation") != NULL)
            continue;
        if (conn_get(msg, telegram_media[i].key) != NULL)
            (void)conn_attach(it, telegram_media[i].type, NULL);
    }
    return conn_event_item(out, type, a, it, msg, ms, e, path);

fail:
    item_free(it);
    return -1;
}

/* ---------------------------------------------------------------------
 * Updates
 * ------------------------------------------------------------------ */

/* Update fields that are not messages to moderate, and why. */
static const struct {
    const char *key;
    const char *reason;
} telegram_ignored[] = {
    { "channel_post", "channel post (our own)" },
    { "edited_channel_post", "channel post (our own)" },
    { "callback_query", "callback query (button press)" },
    { "inline_query", "inline query" },
    { "chosen_inline_result", "inline query" },
    { "my_chat_member", "membership change" },
    { "chat_member", "membership change" },
    { "chat_join_request", "membership change" },
    { "message_reaction", "reaction" },
    { "message_reaction_count", "reaction" },
    { "business_message", "business message (not handled)" },
    { "edited_business_message", "business message (not handled)" },
};

static int
telegram_update(const struct connector_account *a, json_t *upd,
    json_int_t *update_id, struct connector_events *out, struct conn_errs *e,
    const char *path)
{
    char mpath[CONN_PATH_MAX];
    json_t *msg;

    *update_id = -1;
    if (!json_is_object(upd)) {
        conn_fail(e, "%s: expected an object", path);
        return -1;
    }
    if (conn_req_int(upd, "update_id", update_id, e, path) == -1) {
        *update_id = -1;
        return -1;
    }
    /* Telegram numbers updates from 1 up; -1 is ours for "none". */
    if (*update_id < 0) {
        conn_fail(e, "%s.update_id: must not be negative", path);
        *update_id = -1;
        return -1;
    }
    if ((msg = conn_get(upd, "message")) != NULL) {
        conn_path(mpath, "%s.message", path);
        return telegram_message(a, msg, CONNECTOR_EVENT_NEW, out, e, mpath);
    }
    if ((msg = conn_get(upd, "edited_message")) != NULL) {
        conn_path(mpath, "%s.edited_message", path);
        return telegram_message(a, msg, CONNECTOR_EVENT_EDIT, out, e, mpath);
    }
    for (size_t i = 0; i < sizeof(telegram_ignored) /
        sizeof(telegram_ignored[0]); i++)
        if (conn_get(upd, telegram_ignored[i].key) != NULL)
            return conn_ignore(out, a, NULL, telegram_ignored[i].reason, upd,
                e, path);
    return conn_ignore(out, a, NULL, "update type not handled", upd, e, path);
}

int
telegram_parse_update(const struct connector_account *a, const char *body,
    size_t len, int64_t *update_id, struct connector_events *out, char *err,
    size_t errlen)
{
    struct conn_errs e;
    json_int_t uid = -1;
    json_t *root = NULL;

    conn_errs_init(&e, err, errlen);
    if (a == NULL || a->id == NULL)
        conn_fail(&e, "account: no bot id configured");
    else if ((root = conn_load(body, len, "update", &e)) != NULL)
        (void)telegram_update(a, root, &uid, out, &e, "update");
    if (update_id != NULL)
        *update_id = uid;
    json_decref(root);
    return conn_errs_finish(&e);
}

int
telegram_parse_updates(const struct connector_account *a, const char *body,
    size_t len, struct telegram_poll *poll, struct connector_events *out,
    char *err, size_t errlen)
{
    struct conn_errs e;
    json_int_t code = 0, retry = 0, uid;
    json_t *root, *ok, *result, *params, *upd;
    const char *desc;
    char path[CONN_PATH_MAX], q[48];
    size_t i;

    poll->error_code = 0;
    poll->retry_after = 0;
    conn_errs_init(&e, err, errlen);
    root = NULL;
    if (a == NULL || a->id == NULL) {
        conn_fail(&e, "account: no bot id configured");
        goto out;
    }
    if ((root = conn_load(body, len, "body", &e)) == NULL)
        goto out;
    if (!json_is_object(root)) {
        conn_fail(&e, "body: expected a JSON object");
        goto out;
    }
    ok = conn_get(root, "ok");
    if (!json_is_boolean(ok)) {
        conn_fail(&e, "body.ok: %s",
            ok == NULL ? "missing" : "expected a boolean");
        goto out;
    }
    if (!json_is_true(ok)) {
        desc = conn_str(root, "description");
        (void)conn_opt_int(root, "error_code", &code, &e, "body");
        params = conn_get(root, "parameters");
        if (json_is_object(params))
            (void)conn_opt_int(params, "retry_after", &retry, &e,
                "body.parameters");
        poll->error_code = code > 0 && code < 1000 ? (int)code : 0;
        poll->retry_after = retry > 0 && retry < 86400 ? (int)retry : 0;
        conn_fail(&e, "getUpdates: %d %s", poll->error_code,
            desc != NULL ? conn_quote(q, sizeof(q), desc) : "(no description)");
        goto out;
    }
    result = conn_get(root, "result");
    if (!json_is_array(result)) {
        conn_fail(&e, "body.result: %s",
            result == NULL ? "missing" : "expected an array");
        goto out;
    }
    json_array_foreach(result, i, upd) {
        conn_path(path, "result[%zu]", i);
        (void)telegram_update(a, upd, &uid, out, &e, path);
        /* Past every id seen, parsed or not: a bad update must not loop. */
        if (uid >= 0 && uid < INT64_MAX && uid + 1 > poll->next_offset)
            poll->next_offset = uid + 1;
    }
out:
    json_decref(root);
    return conn_errs_finish(&e);
}

/* ---------------------------------------------------------------------
 * Outbound: the Bot API calls of an action (outbound.h)
 * ------------------------------------------------------------------ */

/* The chat and message numbers of an item, from conversation and id. */
static int
telegram_out_target(json_t *item, long long *chat, long long *msg)
{
    const char *conv = outbound_item_str(item, "conversation");
    const char *native = outbound_item_str(item, "native_id");
    const char *us = native != NULL ? strrchr(native, '_') : NULL;
    long lc, lm;

    if (conv == NULL || us == NULL ||
        util_parse_long(conv, LONG_MIN, LONG_MAX, &lc) == -1 ||
        util_parse_long(us + 1, 1, LONG_MAX, &lm) == -1)
        return -1;
    *chat = lc;
    *msg = lm;
    return 0;
}

int
telegram_out_build(const struct outbound_action *a,
    struct outbound_request *r, char *err, size_t errlen)
{
    long long chat, msg;
    const char *method;
    json_t *body;

    if (telegram_out_target(a->item, &chat, &msg) == -1) {
        snprintf(err, errlen, "item: no chat and message id");
        return -1;
    }
    switch (a->type) {
    case OUTBOUND_DELETE:
        method = "deleteMessage";
        r->idempotent = true;
        body = json_pack("{s:I,s:I}", "chat_id", (json_int_t)chat,
            "message_id", (json_int_t)msg);
        buf_printf(&r->show, "POST /bot<token>/deleteMessage chat_id=%lld "
            "message_id=%lld", chat, msg);
        break;
    case OUTBOUND_REPLY:
        method = "sendMessage";
        r->idempotent = false;
        body = json_pack("{s:I,s:s,s:{s:I,s:b}}", "chat_id",
            (json_int_t)chat, "text", a->text, "reply_parameters",
            "message_id", (json_int_t)msg, "allow_sending_without_reply", 1);
        buf_printf(&r->show, "POST /bot<token>/sendMessage chat_id=%lld "
            "reply_to=%lld", chat, msg);
        break;
    default:
        snprintf(err, errlen, "unsupported: telegram messages cannot be "
            "%s; only deleted", a->type == OUTBOUND_UNHIDE ? "unhidden" :
            a->type == OUTBOUND_RESTORE ? "restored" : "hidden");
        return -1;
    }
    if (outbound_json_body(r, body, err, errlen) == -1)
        return -1;
    r->method = "POST";
    buf_printf(&r->url, "%s/bot%s/%s", a->api_base, a->token, method);
    return 0;
}

void
telegram_out_judge(long status, json_t *body, enum outbound_type type,
    struct outbound_result *res)
{
    json_t *result = json_object_get(body, "result");
    json_t *params = json_object_get(body, "parameters");
    const char *desc = json_string_value(json_object_get(body,
        "description"));
    json_int_t after;

    if (json_is_true(json_object_get(body, "ok"))) {
        res->verdict = OUTBOUND_DONE;
        if (json_is_integer(json_object_get(result, "message_id")))
            outbound_detail(res, "%lld", (long long)json_integer_value(
                json_object_get(result, "message_id")));
        else
            outbound_detail(res, "ok");
        return;
    }
    outbound_detail(res, "%ld: %s", status, desc != NULL ? desc :
        "no Bot API answer");
    if ((after = json_integer_value(json_object_get(params,
        "retry_after"))) > 0) {
        res->verdict = OUTBOUND_RETRY;
        res->rate_limited = true;
        res->retry_after_ms = (int64_t)after * 1000;
    } else if (status >= 500 || status == 429) {
        res->verdict = OUTBOUND_RETRY;
    } else if (type == OUTBOUND_DELETE && desc != NULL &&
        strstr(desc, "message to delete not found") != NULL) {
        /* Gone already: what the delete wanted. */
        res->verdict = OUTBOUND_DONE;
        outbound_detail(res, "already deleted");
    } else {
        res->verdict = OUTBOUND_FAILED;
    }
}
