/*
 * conn_meta: the inbound side of Facebook Pages, Messenger and Instagram,
 * which share one webhook transport. Verifies X-Hub-Signature-256 over the
 * raw body and answers the hub.challenge handshake; parses the envelope
 * {"object", "entry": [{"id", "time", "changes" | "messaging"}]} into one
 * event per feed/comments change and per messaging item: new comments,
 * replies and DMs as items, comment edits, deletes and hides, and IGNORED
 * events for echoes, our own comments, receipts and unhandled types.
 *
 * Times: changes carry unix seconds (value.created_time, entry.time),
 * messaging items milliseconds (timestamp, entry.time).
 */
#include <stdio.h>
#include <string.h>

#include "conn_internal.h"
#include "connector.h"
#include "crypto.h"
#include "item.h"

#define META_SIG_PREFIX     "sha256="
#define META_CHALLENGE_MAX  128

/* ---------------------------------------------------------------------
 * Verification
 * ------------------------------------------------------------------ */

int
meta_verify_signature(const char *app_secret, const void *body, size_t len,
    const char *header)
{
    unsigned char want[CRYPTO_SHA256_LEN], got[CRYPTO_SHA256_LEN];
    size_t plen = strlen(META_SIG_PREFIX);
    int rc = -1;

    if (app_secret == NULL || app_secret[0] == '\0' || header == NULL)
        return -1;
    if (body == NULL) {
        if (len != 0)
            return -1;
        body = "";
    }
    if (strncmp(header, META_SIG_PREFIX, plen) != 0 ||
        crypto_unhex(header + plen, got, sizeof(got)) == -1)
        return -1;
    if (crypto_hmac_sha256(app_secret, strlen(app_secret), body, len,
        want) == -1)
        goto out;
    rc = crypto_equal(want, got, sizeof(want)) ? 0 : -1;
out:
    crypto_wipe(want, sizeof(want));
    return rc;
}

int
meta_verify_handshake(const char *verify_token, const char *mode,
    const char *token, const char *challenge)
{
    size_t n;

    if (verify_token == NULL || verify_token[0] == '\0' || mode == NULL ||
        token == NULL || challenge == NULL)
        return -1;
    if (strcmp(mode, "subscribe") != 0)
        return -1;
    /*
     * The challenge goes back verbatim as the response body; a plain
     * token keeps anything else (markup, header tricks) out of it.
     */
    n = strlen(challenge);
    if (n == 0 || n > META_CHALLENGE_MAX ||
        strspn(challenge, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") != n)
        return -1;
    return conn_secret_equal(verify_token, token) ? 0 : -1;
}

/* ---------------------------------------------------------------------
 * Helpers
 * ------------------------------------------------------------------ */

/*
 * What the changes and messaging items of one entry share: the platform
 * ("page" is facebook), the matched account, and entry.time, the fallback
 * when an event has no time of its own.
 */
struct meta_entry {
    const char *platform;
    const struct connector_account *account;
    json_int_t time;
    bool has_time;
};

static const struct connector_account *
meta_find_account(const struct connector_account *accounts, size_t n,
    const char *platform, const char *id)
{
    for (size_t i = 0; i < n; i++)
        if (accounts[i].platform != NULL && accounts[i].id != NULL &&
            strcmp(accounts[i].platform, platform) == 0 &&
            strcmp(accounts[i].id, id) == 0)
            return &accounts[i];
    return NULL;
}

/* Build the item or report item_new's reason under path. */
static struct item *
meta_item_new(const char *platform, const char *native_id,
    enum item_kind kind, const char *account_id, const char *author_id,
    const char *text, struct conn_errs *e, const char *path)
{
    struct item *it;
    char ierr[160];

    if ((it = item_new(platform, native_id, kind, account_id, author_id,
        text, ierr, sizeof(ierr))) == NULL)
        conn_fail(e, "%s: %s", path, ierr);
    return it;
}

/*
 * Created time from a seconds field of a change value, else from the
 * entry. A value present but out of range is an error.
 */
static int
meta_change_time(const json_t *value, const char *key,
    const struct meta_entry *ent, int64_t *ms, struct conn_errs *e,
    const char *path)
{
    json_int_t secs;
    bool have = false;

    *ms = 0;
    if (conn_get(value, key) != NULL) {
        if (conn_req_int(value, key, &secs, e, path) == -1)
            return -1;
        have = true;
    } else if (ent->has_time) {
        secs = ent->time;
        have = true;
    }
    if (have && conn_secs_to_ms(secs, ms) == -1) {
        conn_fail(e, "%s.%s: time out of range", path, key);
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * Facebook feed changes
 * ------------------------------------------------------------------ */

static int
meta_feed_comment(const struct meta_entry *ent, json_t *value,
    enum connector_event_type type, const char *comment_id,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    const struct connector_account *a = ent->account;
    char from_id[ITEM_NATIVE_ID_MAX + 1], post_id[ITEM_NATIVE_ID_MAX + 1];
    char parent_id[ITEM_NATIVE_ID_MAX + 1], fpath[CONN_PATH_MAX];
    char id[ITEM_ID_MAX + 1];
    const char *message, *photo, *video;
    json_t *from;
    struct item *it;
    enum item_kind kind;
    int64_t ms;

    conn_make_id(id, CONNECTOR_FACEBOOK, comment_id);
    from = conn_get(value, "from");
    conn_path(fpath, "%s.from", path);
    if (!json_is_object(from)) {
        conn_fail(e, "%s: %s", fpath,
            from == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_id(from, "id", from_id, sizeof(from_id), e, fpath) == -1)
        return -1;
    if (conn_is_self(a, from_id))
        return conn_ignore(out, a, id, "our own comment", value, e, path);
    if (conn_req_id(value, "post_id", post_id, sizeof(post_id), e,
        path) == -1 ||
        conn_opt_id(value, "parent_id", parent_id, sizeof(parent_id), e,
        path) == -1 ||
        conn_opt_str(value, "message", &message, e, path) == -1 ||
        meta_change_time(value, "created_time", ent, &ms, e, path) == -1)
        return -1;
    /* A top-level comment names the post as its parent. */
    kind = parent_id[0] != '\0' && strcmp(parent_id, post_id) != 0 ?
        ITEM_KIND_REPLY : ITEM_KIND_COMMENT;
    if ((it = meta_item_new(CONNECTOR_FACEBOOK, comment_id, kind, a->id,
        from_id, message, e, path)) == NULL)
        return -1;
    if (item_set_conversation(it, post_id) == -1 ||
        (kind == ITEM_KIND_REPLY && item_set_parent(it, parent_id) == -1) ||
        (ms != 0 && item_set_created_ms(it, ms) == -1)) {
        conn_fail(e, "%s: out of memory", path);
        item_free(it);
        return -1;
    }
    conn_set_name(it, conn_str(from, "name"));
    /* Photo, video and sticker comments carry a URL and maybe no text. */
    photo = conn_str(value, "photo");
    video = conn_str(value, "video");
    if (photo != NULL)
        (void)conn_attach(it, "image", photo);
    if (video != NULL)
        (void)conn_attach(it, "video", video);
    if (item_text_len(it) == 0 && photo == NULL && video == NULL)
        (void)conn_attach(it, "other", NULL);
    return conn_event_item(out, type, a, it, value, ms, e, path);
}

static int
meta_feed(const struct meta_entry *ent, json_t *value,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    const struct connector_account *a = ent->account;
    const char *item, *verb;
    char comment_id[ITEM_NATIVE_ID_MAX + 1], id[ITEM_ID_MAX + 1];
    struct connector_event *ev;
    enum connector_event_type type;
    int64_t ms;

    if (conn_opt_str(value, "item", &item, e, path) == -1)
        return -1;
    if (item == NULL) {
        conn_fail(e, "%s.item: missing", path);
        return -1;
    }
    /* Posts, statuses, reactions, likes, shares: not inbox items (yet). */
    if (strcmp(item, "comment") != 0)
        return conn_ignore(out, a, NULL, "feed item other than a comment",
            value, e, path);
    if (conn_opt_str(value, "verb", &verb, e, path) == -1)
        return -1;
    if (verb == NULL) {
        conn_fail(e, "%s.verb: missing", path);
        return -1;
    }
    if (conn_req_id(value, "comment_id", comment_id, sizeof(comment_id), e,
        path) == -1)
        return -1;
    conn_make_id(id, CONNECTOR_FACEBOOK, comment_id);

    if (strcmp(verb, "add") == 0)
        return meta_feed_comment(ent, value, CONNECTOR_EVENT_NEW,
            comment_id, out, e, path);
    /* "edited" is documented for comments; reactions use "edit". */
    if (strcmp(verb, "edited") == 0 || strcmp(verb, "edit") == 0)
        return meta_feed_comment(ent, value, CONNECTOR_EVENT_EDIT,
            comment_id, out, e, path);
    if (strcmp(verb, "remove") == 0)
        type = CONNECTOR_EVENT_DELETE;
    else if (strcmp(verb, "hide") == 0)
        type = CONNECTOR_EVENT_HIDE;
    else if (strcmp(verb, "unhide") == 0)
        type = CONNECTOR_EVENT_UNHIDE;
    else
        return conn_ignore(out, a, id, "feed verb not handled", value, e,
            path);
    if (meta_change_time(value, "created_time", ent, &ms, e, path) == -1 ||
        (ev = conn_event_add(out, type, a, value, e, path)) == NULL)
        return -1;
    memcpy(ev->id, id, sizeof(ev->id));
    ev->time_ms = ms;
    return 0;
}

/* ---------------------------------------------------------------------
 * Instagram comments changes
 * ------------------------------------------------------------------ */

static int
meta_ig_comment(const struct meta_entry *ent, json_t *value,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    const struct connector_account *a = ent->account;
    char cid[ITEM_NATIVE_ID_MAX + 1], from_id[ITEM_NATIVE_ID_MAX + 1];
    char parent_id[ITEM_NATIVE_ID_MAX + 1], media_id[ITEM_NATIVE_ID_MAX + 1];
    char id[ITEM_ID_MAX + 1], fpath[CONN_PATH_MAX];
    const char *text;
    json_t *from, *media;
    struct item *it;
    int64_t ms;

    if (conn_req_id(value, "id", cid, sizeof(cid), e, path) == -1)
        return -1;
    conn_make_id(id, CONNECTOR_INSTAGRAM, cid);
    from = conn_get(value, "from");
    conn_path(fpath, "%s.from", path);
    if (!json_is_object(from)) {
        conn_fail(e, "%s: %s", fpath,
            from == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_id(from, "id", from_id, sizeof(from_id), e, fpath) == -1)
        return -1;
    if (conn_is_self(a, from_id))
        return conn_ignore(out, a, id, "our own comment", value, e, path);

    media_id[0] = '\0';
    media = conn_get(value, "media");
    conn_path(fpath, "%s.media", path);
    if (media != NULL && !json_is_object(media)) {
        conn_fail(e, "%s: expected an object", fpath);
        return -1;
    }
    if ((media != NULL && conn_opt_id(media, "id", media_id,
        sizeof(media_id), e, fpath) == -1) ||
        conn_opt_id(value, "parent_id", parent_id, sizeof(parent_id), e,
        path) == -1 ||
        conn_opt_str(value, "text", &text, e, path) == -1)
        return -1;
    /* The value has no time of its own; entry.time is in seconds here. */
    ms = 0;
    if (ent->has_time && conn_secs_to_ms(ent->time, &ms) == -1) {
        conn_fail(e, "%s: entry time out of range", path);
        return -1;
    }
    if ((it = meta_item_new(CONNECTOR_INSTAGRAM, cid,
        parent_id[0] != '\0' ? ITEM_KIND_REPLY : ITEM_KIND_COMMENT, a->id,
        from_id, text, e, path)) == NULL)
        return -1;
    if ((media_id[0] != '\0' && item_set_conversation(it, media_id) == -1) ||
        (parent_id[0] != '\0' && item_set_parent(it, parent_id) == -1) ||
        (ms != 0 && item_set_created_ms(it, ms) == -1)) {
        conn_fail(e, "%s: out of memory", path);
        item_free(it);
        return -1;
    }
    /* The item model has no setter for author.username yet. */
    conn_set_name(it, conn_str(from, "username"));
    if (item_text_len(it) == 0)
        (void)conn_attach(it, "other", NULL);
    return conn_event_item(out, CONNECTOR_EVENT_NEW, a, it, value, ms, e,
        path);
}

/* ---------------------------------------------------------------------
 * Messaging (Messenger and Instagram DMs)
 * ------------------------------------------------------------------ */

/* Messaging item types that are not messages, and why we drop them. */
static const struct {
    const char *key;
    const char *reason;
} meta_messaging_ignored[] = {
    { "read", "read receipt" },
    { "delivery", "delivery receipt" },
    { "reaction", "reaction" },
    { "postback", "postback (button press)" },
    { "optin", "opt-in" },
    { "referral", "referral" },
    { "account_linking", "account linking" },
    { "policy_enforcement", "policy enforcement notice" },
    { "pass_thread_control", "handover" },
    { "take_thread_control", "handover" },
    { "request_thread_control", "handover" },
    { "app_roles", "handover" },
};

static const char *
meta_attachment_type(const char *type, const json_t *payload)
{
    static const struct {
        const char *meta, *item;
    } map[] = {
        { "image", "image" }, { "video", "video" }, { "audio", "audio" },
        { "file", "file" }, { "fallback", "link" }, { "share", "link" },
        { "ig_reel", "link" }, { "reel", "link" },
    };

    if (type == NULL)
        return "other";
    /* Messenger stickers arrive as images with a sticker_id. */
    if (strcmp(type, "image") == 0 &&
        conn_get(payload, "sticker_id") != NULL)
        return "sticker";
    for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
        if (strcmp(type, map[i].meta) == 0)
            return map[i].item;
    return "other";
}

static int
meta_message_attachments(struct item *it, json_t *msg, struct conn_errs *e,
    const char *path)
{
    json_t *arr = conn_get(msg, "attachments"), *att;
    size_t i;

    if (arr == NULL)
        return 0;
    if (!json_is_array(arr)) {
        conn_fail(e, "%s.attachments: expected an array", path);
        return -1;
    }
    json_array_foreach(arr, i, att) {
        json_t *payload = conn_get(att, "payload");

        if (!json_is_object(att)) {
            conn_fail(e, "%s.attachments[%zu]: expected an object", path, i);
            return -1;
        }
        (void)conn_attach(it, meta_attachment_type(conn_str(att, "type"),
            payload), conn_str(payload, "url"));
    }
    return 0;
}

/* Build the DM item of a "message" or "message_edit" object. */
static struct item *
meta_dm_item(const struct meta_entry *ent, json_t *msg, const char *mid,
    const char *sender, int64_t ms, struct conn_errs *e, const char *path)
{
    char parent[ITEM_NATIVE_ID_MAX + 1], rpath[CONN_PATH_MAX];
    const char *text;
    json_t *reply_to;
    struct item *it;

    parent[0] = '\0';
    reply_to = conn_get(msg, "reply_to");
    conn_path(rpath, "%s.reply_to", path);
    /* A reply to a story has reply_to.story instead of reply_to.mid. */
    if (conn_opt_str(msg, "text", &text, e, path) == -1 ||
        (json_is_object(reply_to) && conn_opt_id(reply_to, "mid", parent,
        sizeof(parent), e, rpath) == -1))
        return NULL;
    if ((it = meta_item_new(ent->platform, mid, ITEM_KIND_DM,
        ent->account->id, sender, text, e, path)) == NULL)
        return NULL;
    if (item_set_conversation(it, sender) == -1 ||
        (parent[0] != '\0' && item_set_parent(it, parent) == -1) ||
        (ms != 0 && item_set_created_ms(it, ms) == -1)) {
        conn_fail(e, "%s: out of memory", path);
        goto fail;
    }
    if (meta_message_attachments(it, msg, e, path) == -1)
        goto fail;
    if (item_text_len(it) == 0 &&
        json_array_size(conn_get(msg, "attachments")) == 0)
        (void)conn_attach(it, "other", NULL);
    return it;

fail:
    item_free(it);
    return NULL;
}

static int
meta_messaging(const struct meta_entry *ent, json_t *m,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    const struct connector_account *a = ent->account;
    char sender[ITEM_NATIVE_ID_MAX + 1], mid[ITEM_NATIVE_ID_MAX + 1];
    char id[ITEM_ID_MAX + 1], spath[CONN_PATH_MAX], mpath[CONN_PATH_MAX];
    struct connector_event *ev;
    json_t *snd, *msg;
    json_int_t ts;
    struct item *it;
    int64_t ms = 0;
    bool edit;

    if (!json_is_object(m)) {
        conn_fail(e, "%s: expected an object", path);
        return -1;
    }
    for (size_t i = 0; i < sizeof(meta_messaging_ignored) /
        sizeof(meta_messaging_ignored[0]); i++)
        if (conn_get(m, meta_messaging_ignored[i].key) != NULL)
            return conn_ignore(out, a, NULL,
                meta_messaging_ignored[i].reason, m, e, path);

    msg = conn_get(m, "message");
    edit = msg == NULL && (msg = conn_get(m, "message_edit")) != NULL;
    if (msg == NULL)
        return conn_ignore(out, a, NULL, "messaging event not handled", m,
            e, path);
    conn_path(mpath, "%s.%s", path,
        edit ? "message_edit" : "message");
    if (!json_is_object(msg)) {
        conn_fail(e, "%s: expected an object", mpath);
        return -1;
    }
    snd = conn_get(m, "sender");
    conn_path(spath, "%s.sender", path);
    if (!json_is_object(snd)) {
        conn_fail(e, "%s: %s", spath,
            snd == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (conn_req_id(snd, "id", sender, sizeof(sender), e, spath) == -1 ||
        conn_req_id(msg, "mid", mid, sizeof(mid), e, mpath) == -1)
        return -1;
    conn_make_id(id, ent->platform, mid);

    /* Messaging times are milliseconds, unlike every other Meta time. */
    if (conn_get(m, "timestamp") != NULL) {
        if (conn_req_int(m, "timestamp", &ts, e, path) == -1)
            return -1;
    } else
        ts = ent->has_time ? ent->time : 0;
    if (ts < 0 || ts > 253402300799999LL) {
        conn_fail(e, "%s.timestamp: time out of range", path);
        return -1;
    }
    ms = (int64_t)ts;

    /*
     * The page's own sends come back as echoes, sender and recipient
     * swapped; an echo is never inbound whatever the sender says.
     */
    if (json_is_true(conn_get(msg, "is_echo")))
        return conn_ignore(out, a, id, "echo of our own message", m, e,
            path);
    if (conn_is_self(a, sender))
        return conn_ignore(out, a, id, "our own message", m, e, path);
    /* Instagram: the user unsent the message. */
    if (json_is_true(conn_get(msg, "is_deleted"))) {
        if ((ev = conn_event_add(out, CONNECTOR_EVENT_DELETE, a, m, e,
            path)) == NULL)
            return -1;
        memcpy(ev->id, id, sizeof(ev->id));
        ev->time_ms = ms;
        return 0;
    }
    if ((it = meta_dm_item(ent, msg, mid, sender, ms, e, mpath)) == NULL)
        return -1;
    return conn_event_item(out, edit ? CONNECTOR_EVENT_EDIT :
        CONNECTOR_EVENT_NEW, a, it, m, ms, e, path);
}

/* ---------------------------------------------------------------------
 * Envelope
 * ------------------------------------------------------------------ */

static int
meta_change(const struct meta_entry *ent, json_t *change,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    char vpath[CONN_PATH_MAX];
    const char *field;
    json_t *value;

    if (!json_is_object(change)) {
        conn_fail(e, "%s: expected an object", path);
        return -1;
    }
    if (conn_opt_str(change, "field", &field, e, path) == -1)
        return -1;
    if (field == NULL) {
        conn_fail(e, "%s.field: missing", path);
        return -1;
    }
    value = conn_get(change, "value");
    conn_path(vpath, "%s.value", path);
    if (!json_is_object(value)) {
        conn_fail(e, "%s: %s", vpath,
            value == NULL ? "missing" : "expected an object");
        return -1;
    }
    if (strcmp(ent->platform, CONNECTOR_FACEBOOK) == 0 &&
        strcmp(field, "feed") == 0)
        return meta_feed(ent, value, out, e, vpath);
    if (strcmp(ent->platform, CONNECTOR_INSTAGRAM) == 0 &&
        (strcmp(field, "comments") == 0 ||
        strcmp(field, "live_comments") == 0))
        return meta_ig_comment(ent, value, out, e, vpath);
    return conn_ignore(out, ent->account, NULL, "webhook field not handled",
        change, e, path);
}

/* Run fn over entry[key][], if the entry has that list. */
static void
meta_each(const struct meta_entry *ent, json_t *entry, const char *key,
    int (*fn)(const struct meta_entry *, json_t *, struct connector_events *,
    struct conn_errs *, const char *), struct connector_events *out,
    struct conn_errs *e, const char *path)
{
    json_t *list = conn_get(entry, key), *v;
    char vpath[CONN_PATH_MAX];
    size_t i;

    if (list == NULL)
        return;
    if (!json_is_array(list)) {
        conn_fail(e, "%s.%s: expected an array", path, key);
        return;
    }
    json_array_foreach(list, i, v) {
        conn_path(vpath, "%s.%s[%zu]", path, key, i);
        (void)fn(ent, v, out, e, vpath);
    }
}

/* Secondary receivers of the handover protocol get "standby" items. */
static int
meta_standby(const struct meta_entry *ent, json_t *v,
    struct connector_events *out, struct conn_errs *e, const char *path)
{
    return conn_ignore(out, ent->account, NULL,
        "standby event (another app owns the thread)", v, e, path);
}

static void
meta_entry(const char *platform, const struct connector_account *accounts,
    size_t naccounts, json_t *entry, struct connector_events *out,
    struct conn_errs *e, const char *path)
{
    struct meta_entry ent;
    char id[ITEM_NATIVE_ID_MAX + 1];

    if (!json_is_object(entry)) {
        conn_fail(e, "%s: expected an object", path);
        return;
    }
    if (conn_req_id(entry, "id", id, sizeof(id), e, path) == -1)
        return;
    memset(&ent, 0, sizeof(ent));
    ent.platform = platform;
    if (conn_get(entry, "time") != NULL) {
        if (conn_req_int(entry, "time", &ent.time, e, path) == -1)
            return;
        ent.has_time = true;
    }
    if ((ent.account = meta_find_account(accounts, naccounts, platform,
        id)) == NULL) {
        (void)conn_ignore(out, NULL, NULL, "account not configured", entry,
            e, path);
        return;
    }
    meta_each(&ent, entry, "changes", meta_change, out, e, path);
    meta_each(&ent, entry, "messaging", meta_messaging, out, e, path);
    meta_each(&ent, entry, "standby", meta_standby, out, e, path);
}

int
meta_parse(const struct connector_account *accounts, size_t naccounts,
    const char *body, size_t len, struct connector_events *out, char *err,
    size_t errlen)
{
    struct conn_errs e;
    const char *object, *platform;
    json_t *root, *entries, *entry;
    char path[CONN_PATH_MAX];
    size_t i;

    conn_errs_init(&e, err, errlen);
    if ((root = conn_load(body, len, "body", &e)) == NULL)
        goto out;
    if (!json_is_object(root)) {
        conn_fail(&e, "body: expected a JSON object");
        goto out;
    }
    if (conn_opt_str(root, "object", &object, &e, "body") == -1)
        goto out;
    if (object == NULL) {
        conn_fail(&e, "body.object: missing");
        goto out;
    }
    if (strcmp(object, "page") == 0)
        platform = CONNECTOR_FACEBOOK;
    else if (strcmp(object, "instagram") == 0)
        platform = CONNECTOR_INSTAGRAM;
    else {
        /* user, permissions, whatsapp_business_account, ...: not ours. */
        (void)conn_ignore(out, NULL, NULL, "webhook object not handled",
            root, &e, "body");
        goto out;
    }
    entries = conn_get(root, "entry");
    if (!json_is_array(entries)) {
        conn_fail(&e, "body.entry: %s",
            entries == NULL ? "missing" : "expected an array");
        goto out;
    }
    json_array_foreach(entries, i, entry) {
        conn_path(path, "entry[%zu]", i);
        meta_entry(platform, accounts, naccounts, entry, out, &e, path);
    }
out:
    json_decref(root);
    return conn_errs_finish(&e);
}

/* ---------------------------------------------------------------------
 * Outbound: the Graph API calls of an action (outbound.h)
 * ------------------------------------------------------------------ */

/*
 * Graph error codes that mean "slow down" (facebook/README.md §5):
 * app, user and Page limits, the per-call limit and the Business Use
 * Case limits of Pages, Instagram and Messenger.
 */
static const json_int_t meta_rate_codes[] = { 4, 17, 32, 613, 80001, 80002,
    80006 };
/* Transient: unknown error, service unavailable. */
static const json_int_t meta_transient_codes[] = { 1, 2 };

static bool
meta_code_in(json_int_t code, const json_int_t *set, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (set[i] == code)
            return true;
    }
    return false;
}

/* The comment a public reply goes under: the thread's top comment. */
static const char *
meta_reply_target(json_t *item)
{
    const char *kind = outbound_item_str(item, "kind");
    const char *parent = outbound_item_str(item, "parent");

    if (kind != NULL && strcmp(kind, "reply") == 0 && parent != NULL)
        return parent;
    return outbound_item_str(item, "native_id");
}

static int
meta_out_dm(const struct outbound_action *a, bool instagram,
    struct outbound_request *r, char *err, size_t errlen)
{
    const char *to = outbound_item_str(a->item, "conversation");
    json_t *body;

    if (to == NULL)
        to = outbound_item_str(a->item, "author.id");
    if (to == NULL) {
        snprintf(err, errlen, "item: no conversation to answer");
        return -1;
    }
    body = instagram ?
        json_pack("{s:{s:s},s:{s:s}}", "recipient", "id", to,
            "message", "text", a->text) :
        json_pack("{s:{s:s},s:s,s:{s:s}}", "recipient", "id", to,
            "messaging_type", "RESPONSE", "message", "text", a->text);
    if (outbound_json_body(r, body, err, errlen) == -1)
        return -1;
    r->method = "POST";
    buf_printf(&r->url, "%s/me/messages", a->api_base);
    outbound_bearer(r, a->token);
    buf_printf(&r->show, "POST /me/messages recipient=%s", to);
    return 0;
}

int
meta_out_build(const struct outbound_action *a, bool instagram,
    struct outbound_request *r, char *err, size_t errlen)
{
    const char *id = outbound_item_str(a->item, "native_id");
    const char *kind = outbound_item_str(a->item, "kind");
    const char *hide_key = instagram ? "hide" : "is_hidden";
    bool dm = kind != NULL && strcmp(kind, "dm") == 0;

    if (id == NULL) {
        snprintf(err, errlen, "item: native_id missing");
        return -1;
    }
    r->idempotent = true;
    if (dm && a->type != OUTBOUND_REPLY) {
        snprintf(err, errlen, "unsupported: a private message cannot be "
            "hidden or deleted");
        return -1;
    }
    switch (a->type) {
    case OUTBOUND_HIDE:
    case OUTBOUND_UNHIDE:
        r->method = "POST";
        buf_printf(&r->url, "%s/", a->api_base);
        buf_urlencode(&r->url, id);
        outbound_form(&r->body, hide_key,
            a->type == OUTBOUND_HIDE ? "true" : "false");
        buf_printf(&r->show, "POST /%s %s", id, r->body.data);
        break;
    case OUTBOUND_DELETE:
        r->method = "DELETE";
        buf_printf(&r->url, "%s/", a->api_base);
        buf_urlencode(&r->url, id);
        buf_printf(&r->show, "DELETE /%s", id);
        break;
    case OUTBOUND_REPLY:
        r->idempotent = false;
        if (dm)
            return meta_out_dm(a, instagram, r, err, errlen);
        id = meta_reply_target(a->item);
        r->method = "POST";
        buf_printf(&r->url, "%s/", a->api_base);
        buf_urlencode(&r->url, id);
        buf_puts(&r->url, instagram ? "/replies" : "/comments");
        outbound_form(&r->body, "message", a->text);
        buf_printf(&r->show, "POST /%s/%s", id,
            instagram ? "replies" : "comments");
        break;
    default:
        snprintf(err, errlen, "unsupported: %s on %s",
            outbound_type_name(a->type), instagram ? "instagram" :
            "facebook");
        return -1;
    }
    if (r->body.len > 0)
        r->headers[0] = "Content-Type: application/x-www-form-urlencoded";
    outbound_bearer(r, a->token);
    return 0;
}

void
meta_out_judge(long status, json_t *body, struct outbound_result *res)
{
    json_t *error = json_object_get(body, "error");
    json_int_t code;
    const char *id;

    if (status >= 200 && status < 300 && error == NULL) {
        res->verdict = OUTBOUND_DONE;
        if ((id = json_string_value(json_object_get(body, "id"))) == NULL)
            id = json_string_value(json_object_get(body, "message_id"));
        outbound_detail(res, "%s", id != NULL ? id : "ok");
        return;
    }
    code = json_integer_value(json_object_get(error, "code"));
    outbound_detail(res, "%lld: %s", (long long)code,
        json_is_string(json_object_get(error, "message")) ?
        json_string_value(json_object_get(error, "message")) :
        "no error object");
    if (meta_code_in(code, meta_rate_codes, nitems(meta_rate_codes))) {
        res->verdict = OUTBOUND_RETRY;
        res->rate_limited = true;
    } else if (status >= 500 || status == 429 ||
        meta_code_in(code, meta_transient_codes,
        nitems(meta_transient_codes))) {
        res->verdict = OUTBOUND_RETRY;
    } else {
        res->verdict = OUTBOUND_FAILED;
    }
}
