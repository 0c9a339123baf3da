/*
 * item: the normalized model of one comment, reply, DM or mention. Items
 * come in through the ingest API (item_from_json, which validates the wire
 * model of docs/item.md and names the offending field on error) or from a
 * connector (item_new plus the setters). Classify and route annotate them;
 * item_to_json / item_dump give the form queue stores and http serves.
 *
 * An item owns every byte it points to: strings are copied in, raw and
 * meta are deep copies of the caller's JSON, and item_to_json hands out
 * deep copies, so nothing outside can change an item behind its back.
 */
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "item.h"
#include "item_internal.h"
#include "jsonw.h"
#include "util.h"

#define ITEM_MAX_TEXT_DEFAULT           65536
#define ITEM_MAX_ATTACHMENTS_DEFAULT    32
#define ITEM_NAME_MAX                   1024    /* account/author names */
#define ITEM_URL_MAX                    2048
#define ITEM_QUEUE_MAX                  128
/* 9999-12-31T23:59:59.999Z: the last instant RFC 3339 can write. */
#define ITEM_TIME_MAX_MS                253402300799999LL
#define ITEM_ERR_OOM                    "item: out of memory"

struct item {
    char id[ITEM_ID_MAX + 1];
    char platform[ITEM_PLATFORM_MAX + 1];
    char native_id[ITEM_NATIVE_ID_MAX + 1];
    enum item_kind kind;
    char *account_id;
    char *account_name;
    char *conversation;
    char *parent;
    char *author_id;
    char *author_name;
    char *author_username;
    char *text;
    size_t text_len;
    char lang[4];                   /* "" when unknown */
    char *permalink;
    char *queue;
    int64_t created_ms;
    int64_t received_ms;
    bool has_link;
    size_t max_attachments;
    json_t *attachments;            /* array; NULL until the first */
    json_t *raw;                    /* may be NULL */
    json_t *meta;                   /* object or NULL */
    struct item_cls *cls;           /* may be NULL */
};

static const char *const item_kind_names[ITEM_KIND_COUNT_] = {
    [ITEM_KIND_COMMENT] = "comment",
    [ITEM_KIND_REPLY] = "reply",
    [ITEM_KIND_DM] = "dm",
    [ITEM_KIND_MENTION] = "mention",
};

static const char *const item_attachment_types[] = {
    "image", "video", "audio", "file", "sticker", "link", "other",
};

/* ---------------------------------------------------------------------
 * Validation helpers
 * ------------------------------------------------------------------ */

static void item_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
item_err(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;

    if (err == NULL || errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
}

/*
 * Copy untrusted text into an error message: at most 40 bytes, anything
 * outside printable ASCII becomes '?', so the message stays one line of
 * valid UTF-8 whatever the client sent.
 */
static const char *
item_err_quote(char *dst, size_t dstlen, const char *s)
{
    size_t i;

    for (i = 0; i + 1 < dstlen && i < 40 && s[i] != '\0'; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[i] = '\0';
    return dst;
}

static bool
item_valid_platform(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > ITEM_PLATFORM_MAX)
        return false;
    return strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789_-") == n;
}

/* Native ids, account and author ids, conversation, parent. */
static bool
item_valid_ident(const char *s)
{
    size_t n;

    for (n = 0; s[n] != '\0'; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return false;
    return n >= 1 && n <= ITEM_NATIVE_ID_MAX;
}

/* Free-form names: valid UTF-8 without NUL, at most ITEM_NAME_MAX bytes. */
static bool
item_valid_name(const char *s)
{
    size_t n = strlen(s);

    return n <= ITEM_NAME_MAX && util_utf8_valid(s, n, NULL);
}

/* Returns NULL when url is fine, else what is wrong with it. */
static const char *
item_url_problem(const char *url)
{
    size_t n = strlen(url);
    size_t skip;

    if (n > ITEM_URL_MAX)
        return "longer than 2048 bytes";
    if (strncasecmp(url, "http://", 7) == 0)
        skip = 7;
    else if (strncasecmp(url, "https://", 8) == 0)
        skip = 8;
    else
        return "must be an http or https URL";
    if (n == skip)
        return "must be an http or https URL";
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return "must not contain spaces or control characters";
    if (!util_utf8_valid(url, n, NULL))
        return "not valid UTF-8";
    return NULL;
}

/* [a-zA-Z]{2,3}, written lowercased into out[4]. */
static bool
item_norm_lang(const char *s, char out[4])
{
    size_t n = strlen(s);

    if (n < 2 || n > 3)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (c >= 'A' && c <= 'Z')
            c = (char)(c - 'A' + 'a');
        if (c < 'a' || c > 'z')
            return false;
        out[i] = c;
    }
    out[n] = '\0';
    return true;
}

static bool
item_valid_attachment_type(const char *type)
{
    size_t n = sizeof(item_attachment_types) /
        sizeof(item_attachment_types[0]);

    for (size_t i = 0; i < n; i++)
        if (strcmp(type, item_attachment_types[i]) == 0)
            return true;
    return false;
}

static bool
item_text_has_link(const char *s, size_t len)
{
    static const char *const marks[] = { "http://", "https://", "www." };

    for (size_t i = 0; i < len; i++) {
        if (s[i] != 'h' && s[i] != 'H' && s[i] != 'w' && s[i] != 'W')
            continue;
        for (size_t m = 0; m < sizeof(marks) / sizeof(marks[0]); m++) {
            size_t mlen = strlen(marks[m]);

            if (len - i >= mlen && strncasecmp(s + i, marks[m], mlen) == 0)
                return true;
        }
    }
    return false;
}

/* Replace *dst with a copy of s (NULL clears). -1 only on out of memory. */
static int
item_set_str(char **dst, const char *s)
{
    char *copy = NULL;

    if (s != NULL && (copy = xstrdup(s)) == NULL)
        return -1;
    xfree(*dst);
    *dst = copy;
    return 0;
}

/* ---------------------------------------------------------------------
 * Construction and release
 * ------------------------------------------------------------------ */

/*
 * The common constructor: validates the required fields and copies them.
 * text may be empty here; item_from_json enforces "empty only with
 * attachments" because only it sees both at once.
 */
static struct item *
item_create(const char *platform, const char *native_id, enum item_kind kind,
    const char *account_id, const char *author_id, const char *text,
    size_t text_len, size_t max_text, char *err, size_t errlen)
{
    struct item *it = NULL;

    if (platform == NULL) {
        item_err(err, errlen, "platform: missing");
        goto fail;
    }
    if (!item_valid_platform(platform)) {
        item_err(err, errlen, "platform: must match [a-z0-9_-]{1,32}");
        goto fail;
    }
    if (native_id == NULL) {
        item_err(err, errlen, "native_id: missing");
        goto fail;
    }
    if (!item_valid_ident(native_id)) {
        item_err(err, errlen, "native_id: must be 1..256 printable ASCII "
            "characters without spaces");
        goto fail;
    }
    if ((unsigned)kind >= ITEM_KIND_COUNT_) {
        item_err(err, errlen,
            "kind: must be one of comment, reply, dm, mention");
        goto fail;
    }
    if (account_id == NULL) {
        item_err(err, errlen, "account.id: missing");
        goto fail;
    }
    if (!item_valid_ident(account_id)) {
        item_err(err, errlen, "account.id: must be 1..256 printable ASCII "
            "characters without spaces");
        goto fail;
    }
    if (author_id == NULL) {
        item_err(err, errlen, "author.id: missing");
        goto fail;
    }
    if (!item_valid_ident(author_id)) {
        item_err(err, errlen, "author.id: must be 1..256 printable ASCII "
            "characters without spaces");
        goto fail;
    }
    if (text_len > max_text) {
        item_err(err, errlen, "text: longer than %zu bytes", max_text);
        goto fail;
    }
    if (memchr(text, '\0', text_len) != NULL) {
        item_err(err, errlen, "text: contains a NUL character");
        goto fail;
    }
    if (!util_utf8_valid(text, text_len, NULL)) {
        item_err(err, errlen, "text: not valid UTF-8");
        goto fail;
    }

    if ((it = xcalloc(1, sizeof(*it))) == NULL)
        goto oom;
    /* Lengths were checked above, so no copy can truncate. */
    memcpy(it->platform, platform, strlen(platform) + 1);
    memcpy(it->native_id, native_id, strlen(native_id) + 1);
    util_concat(it->id, sizeof(it->id), platform, ":", native_id, NULL);
    it->kind = kind;
    it->max_attachments = ITEM_MAX_ATTACHMENTS_DEFAULT;
    if ((it->account_id = xstrdup(account_id)) == NULL ||
        (it->author_id = xstrdup(author_id)) == NULL ||
        (it->text = xstrndup(text, text_len)) == NULL)
        goto oom;
    it->text_len = text_len;
    it->has_link = item_text_has_link(text, text_len);
    it->received_ms = util_now_ms();
    it->created_ms = it->received_ms;
    return it;

oom:
    item_err(err, errlen, ITEM_ERR_OOM);
fail:
    item_free(it);
    return NULL;
}

struct item *
item_new(const char *platform, const char *native_id, enum item_kind kind,
    const char *account_id, const char *author_id, const char *text,
    char *err, size_t errlen)
{
    if (text == NULL)
        text = "";
    return item_create(platform, native_id, kind, account_id, author_id,
        text, strlen(text), ITEM_MAX_TEXT_DEFAULT, err, errlen);
}

void
item_free(struct item *it)
{
    if (it == NULL)
        return;
    xfree(it->account_id);
    xfree(it->account_name);
    xfree(it->conversation);
    xfree(it->parent);
    xfree(it->author_id);
    xfree(it->author_name);
    xfree(it->author_username);
    xfree(it->text);
    xfree(it->permalink);
    xfree(it->queue);
    json_decref(it->attachments);
    json_decref(it->raw);
    json_decref(it->meta);
    xfree(it->cls);
    xfree(it);
}

/* ---------------------------------------------------------------------
 * The wire model (item_from_json)
 * ------------------------------------------------------------------ */

/*
 * The keys of the wire model, with their lengths for a quick compare.
 * received_at, classification and queue are written by inboxd; they are
 * accepted on input (so a stored item parses again) and ignored.
 */
struct item_key_name {
    const char *name;
    size_t len;
};

#define ITEM_KEY(s) { s, sizeof(s) - 1 }

static const struct item_key_name item_top_keys[ITEM_K_COUNT_] = {
    [ITEM_K_PLATFORM] = ITEM_KEY("platform"),
    [ITEM_K_NATIVE_ID] = ITEM_KEY("native_id"),
    [ITEM_K_ID] = ITEM_KEY("id"),
    [ITEM_K_KIND] = ITEM_KEY("kind"),
    [ITEM_K_ACCOUNT] = ITEM_KEY("account"),
    [ITEM_K_CONVERSATION] = ITEM_KEY("conversation"),
    [ITEM_K_PARENT] = ITEM_KEY("parent"),
    [ITEM_K_AUTHOR] = ITEM_KEY("author"),
    [ITEM_K_TEXT] = ITEM_KEY("text"),
    [ITEM_K_LANG] = ITEM_KEY("lang"),
    [ITEM_K_CREATED_AT] = ITEM_KEY("created_at"),
    [ITEM_K_RECEIVED_AT] = ITEM_KEY("received_at"),
    [ITEM_K_PERMALINK] = ITEM_KEY("permalink"),
    [ITEM_K_ATTACHMENTS] = ITEM_KEY("attachments"),
    [ITEM_K_RAW] = ITEM_KEY("raw"),
    [ITEM_K_META] = ITEM_KEY("meta"),
    [ITEM_K_CLASSIFICATION] = ITEM_KEY("classification"),
    [ITEM_K_QUEUE] = ITEM_KEY("queue"),
};

static const struct item_key_name item_sub_keys[ITEM_SUB_COUNT_] = {
    [ITEM_SUB_ID] = ITEM_KEY("id"),
    [ITEM_SUB_NAME] = ITEM_KEY("name"),
    [ITEM_SUB_USERNAME] = ITEM_KEY("username"),
};

static int
item_key_find(const struct item_key_name *keys, int n, const char *key,
    size_t len)
{
    for (int i = 0; i < n; i++)
        if (keys[i].len == len && memcmp(keys[i].name, key, len) == 0)
            return i;
    return -1;
}

int
item_key_top(const char *key, size_t len)
{
    return item_key_find(item_top_keys, ITEM_K_COUNT_, key, len);
}

int
item_key_sub(const char *key, size_t len, bool author)
{
    /* account has no username. */
    return item_key_find(item_sub_keys,
        author ? ITEM_SUB_COUNT_ : ITEM_SUB_USERNAME, key, len);
}

void
item_fields_init(struct item_fields *f)
{
    memset(f, 0, sizeof(*f));
    for (size_t i = 0; i < ITEM_K_COUNT_; i++)
        f->top[i].type = -1;
    for (size_t i = 0; i < ITEM_SUB_COUNT_; i++)
        f->account[i].type = f->author[i].type = -1;
}

/* A member from jansson, with JSON null treated as absent. */
static void
item_field_set(struct item_field *f, json_t *v)
{
    memset(f, 0, sizeof(*f));
    f->type = -1;
    if (v == NULL || json_is_null(v))
        return;
    f->type = json_typeof(v);
    f->json = v;
    if (json_is_string(v)) {
        f->s = json_string_value(v);
        f->len = json_string_length(v);
    } else if (json_is_integer(v))
        f->num = json_integer_value(v);
}

/*
 * A string member named prefix+key. *out is NULL when the member is
 * absent (an error when required). Strings with an embedded NUL are
 * refused: every consumer treats them as C strings.
 */
static int
item_field_str(const struct item_field *f, const char *prefix,
    const char *key, bool required, const char **out, char *err,
    size_t errlen)
{
    *out = NULL;
    if (f->type == -1) {
        if (!required)
            return 0;
        item_err(err, errlen, "%s%s: missing", prefix, key);
        return -1;
    }
    if (f->type != JSON_STRING) {
        item_err(err, errlen, "%s%s: expected a string", prefix, key);
        return -1;
    }
    if (strlen(f->s) != f->len) {
        item_err(err, errlen, "%s%s: contains a NUL character", prefix, key);
        return -1;
    }
    *out = f->s;
    return 0;
}

/* item_field_str on a member of a jansson object (attachments). */
static int
item_json_str(const json_t *obj, const char *prefix, const char *key,
    bool required, const char **out, char *err, size_t errlen)
{
    struct item_field f;

    item_field_set(&f, json_object_get(obj, key));
    return item_field_str(&f, prefix, key, required, out, err, errlen);
}

/* An optional free-form name (account.name, author.name, ...). */
static int
item_field_name(const struct item_field *f, const char *prefix,
    const char *key, const char **out, char *err, size_t errlen)
{
    if (item_field_str(f, prefix, key, false, out, err, errlen) == -1)
        return -1;
    if (*out != NULL && f->len > ITEM_NAME_MAX) {
        item_err(err, errlen, "%s%s: longer than %d bytes", prefix, key,
            ITEM_NAME_MAX);
        return -1;
    }
    return 0;
}

/* An optional identifier (conversation, parent). */
static int
item_field_ident(const struct item_field *f, const char *key,
    const char **out, char *err, size_t errlen)
{
    if (item_field_str(f, "", key, false, out, err, errlen) == -1)
        return -1;
    if (*out != NULL && !item_valid_ident(*out)) {
        item_err(err, errlen, "%s: must be 1..256 printable ASCII "
            "characters without spaces", key);
        return -1;
    }
    return 0;
}

/* A required sub-object (account, author) and its first unknown key. */
static int
item_field_sub(const struct item_field *f, const char *key,
    const char *unknown, char *err, size_t errlen)
{
    char q[48];

    if (f->type == -1) {
        item_err(err, errlen, "%s: missing", key);
        return -1;
    }
    if (f->type != JSON_OBJECT) {
        item_err(err, errlen, "%s: expected an object", key);
        return -1;
    }
    if (unknown != NULL) {
        item_err(err, errlen, "%s.%s: unknown field", key,
            item_err_quote(q, sizeof(q), unknown));
        return -1;
    }
    return 0;
}

static int
item_field_time(const struct item_field *f, int64_t *ms, char *err,
    size_t errlen)
{
    if (f->type == -1) {
        item_err(err, errlen, "created_at: missing");
        return -1;
    }
    if (f->type == JSON_STRING && util_parse_time(f->s, ms) == 0 &&
        *ms >= 0 && *ms <= ITEM_TIME_MAX_MS)
        return 0;
    if (f->type == JSON_INTEGER && f->num >= 0 &&
        f->num <= ITEM_TIME_MAX_MS / 1000) {
        *ms = (int64_t)f->num * 1000;
        return 0;
    }
    item_err(err, errlen, "created_at: not an RFC 3339 time or unix seconds");
    return -1;
}

/* Check the attachments array; the item copies it later. */
static int
item_json_attachments(const json_t *arr, size_t max, char *err,
    size_t errlen)
{
    size_t i;
    json_t *a;

    if (!json_is_array(arr)) {
        item_err(err, errlen, "attachments: expected an array");
        return -1;
    }
    if (json_array_size(arr) > max) {
        item_err(err, errlen, "attachments: more than %zu entries", max);
        return -1;
    }
    json_array_foreach(arr, i, a) {
        const char *key, *type, *url, *problem;
        char prefix[40], q[48];
        json_t *v;

        snprintf(prefix, sizeof(prefix), "attachments[%zu].", i);
        if (!json_is_object(a)) {
            item_err(err, errlen, "attachments[%zu]: expected an object", i);
            return -1;
        }
        json_object_foreach(a, key, v) {
            if (strcmp(key, "type") != 0 && strcmp(key, "url") != 0) {
                item_err(err, errlen, "%s%s: unknown field", prefix,
                    item_err_quote(q, sizeof(q), key));
                return -1;
            }
        }
        if (item_json_str(a, prefix, "type", true, &type, err,
            errlen) == -1 ||
            item_json_str(a, prefix, "url", false, &url, err, errlen) == -1)
            return -1;
        if (!item_valid_attachment_type(type)) {
            item_err(err, errlen, "%stype: unknown type '%s'", prefix,
                item_err_quote(q, sizeof(q), type));
            return -1;
        }
        if (url != NULL && (problem = item_url_problem(url)) != NULL) {
            item_err(err, errlen, "%surl: %s", prefix, problem);
            return -1;
        }
    }
    return 0;
}

/* The members of account or author, from jansson. */
static void
item_fields_sub(json_t *obj, struct item_field *sub, const char **unknown,
    bool author)
{
    const char *key;
    json_t *v;
    int k;

    json_object_foreach(obj, key, v) {
        if ((k = item_key_sub(key, strlen(key), author)) != -1)
            item_field_set(&sub[k], v);
        else if (*unknown == NULL)
            *unknown = key;
    }
}

static void
item_fields_from_json(json_t *obj, struct item_fields *f)
{
    const char *key;
    json_t *v;
    int k;

    item_fields_init(f);
    f->borrowed = true;
    json_object_foreach(obj, key, v) {
        if ((k = item_key_top(key, strlen(key))) == -1) {
            if (f->unknown == NULL)
                f->unknown = key;
            continue;
        }
        item_field_set(&f->top[k], v);
        if (k == ITEM_K_ACCOUNT && json_is_object(v))
            item_fields_sub(v, f->account, &f->account_unknown, false);
        else if (k == ITEM_K_AUTHOR && json_is_object(v))
            item_fields_sub(v, f->author, &f->author_unknown, true);
    }
}

/* The item's own reference to a kept value: a copy when borrowed. */
static json_t *
item_keep_json(const struct item_fields *f, json_t *v)
{
    return f->borrowed ? json_deep_copy(v) : json_incref(v);
}

struct item *
item_build(const struct item_fields *f, const struct item_limits *lim,
    bool *nomem, char *err, size_t errlen)
{
    const struct item_field *top = f->top;
    const char *platform, *native_id, *id, *kind_name, *account_id;
    const char *account_name, *conversation, *parent, *author_id;
    const char *author_name, *author_username, *text, *lang, *permalink;
    const char *problem;
    json_t *attachments, *raw, *meta, *a;
    size_t max_text = ITEM_MAX_TEXT_DEFAULT;
    size_t max_att = ITEM_MAX_ATTACHMENTS_DEFAULT;
    size_t i;
    struct item *it = NULL;
    int64_t created_ms;
    int kind;
    char lang_buf[4], want_id[ITEM_ID_MAX + 1], q[48];

    *nomem = false;
    if (lim != NULL && lim->max_text != 0)
        max_text = lim->max_text;
    if (lim != NULL && lim->max_attachments != 0)
        max_att = lim->max_attachments;

    if (f->unknown != NULL) {
        item_err(err, errlen, "%s: unknown field",
            item_err_quote(q, sizeof(q), f->unknown));
        goto fail;
    }
    if (item_field_str(&top[ITEM_K_PLATFORM], "", "platform", true,
        &platform, err, errlen) == -1 ||
        item_field_str(&top[ITEM_K_NATIVE_ID], "", "native_id", true,
        &native_id, err, errlen) == -1 ||
        item_field_str(&top[ITEM_K_ID], "", "id", false, &id, err,
        errlen) == -1 ||
        item_field_str(&top[ITEM_K_KIND], "", "kind", true, &kind_name, err,
        errlen) == -1)
        goto fail;
    /* The required fields proper are checked again by item_create. */
    if (!item_valid_platform(platform)) {
        item_err(err, errlen, "platform: must match [a-z0-9_-]{1,32}");
        goto fail;
    }
    if (!item_valid_ident(native_id)) {
        item_err(err, errlen, "native_id: must be 1..256 printable ASCII "
            "characters without spaces");
        goto fail;
    }
    util_concat(want_id, sizeof(want_id), platform, ":", native_id, NULL);
    if (id != NULL && strcmp(id, want_id) != 0) {
        item_err(err, errlen, "id: must equal platform:native_id (%s)",
            want_id);
        goto fail;
    }
    if ((kind = item_kind_from_name(kind_name)) == -1) {
        item_err(err, errlen,
            "kind: must be one of comment, reply, dm, mention");
        goto fail;
    }

    if (item_field_sub(&top[ITEM_K_ACCOUNT], "account", f->account_unknown,
        err, errlen) == -1 ||
        item_field_str(&f->account[ITEM_SUB_ID], "account.", "id", true,
        &account_id, err, errlen) == -1 ||
        item_field_name(&f->account[ITEM_SUB_NAME], "account.", "name",
        &account_name, err, errlen) == -1)
        goto fail;
    if (item_field_ident(&top[ITEM_K_CONVERSATION], "conversation",
        &conversation, err, errlen) == -1 ||
        item_field_ident(&top[ITEM_K_PARENT], "parent", &parent, err,
        errlen) == -1)
        goto fail;
    if (item_field_sub(&top[ITEM_K_AUTHOR], "author", f->author_unknown,
        err, errlen) == -1 ||
        item_field_str(&f->author[ITEM_SUB_ID], "author.", "id", true,
        &author_id, err, errlen) == -1 ||
        item_field_name(&f->author[ITEM_SUB_NAME], "author.", "name",
        &author_name, err, errlen) == -1 ||
        item_field_name(&f->author[ITEM_SUB_USERNAME], "author.",
        "username", &author_username, err, errlen) == -1)
        goto fail;

    attachments = top[ITEM_K_ATTACHMENTS].json;
    if (attachments != NULL &&
        item_json_attachments(attachments, max_att, err, errlen) == -1)
        goto fail;
    if (item_field_str(&top[ITEM_K_TEXT], "", "text", true, &text, err,
        errlen) == -1)
        goto fail;
    if (top[ITEM_K_TEXT].len == 0 &&
        (attachments == NULL || json_array_size(attachments) == 0)) {
        item_err(err, errlen, "text: empty and no attachments");
        goto fail;
    }

    if (item_field_str(&top[ITEM_K_LANG], "", "lang", false, &lang, err,
        errlen) == -1)
        goto fail;
    if (lang != NULL && !item_norm_lang(lang, lang_buf)) {
        item_err(err, errlen, "lang: must be an ISO 639 code ([a-z]{2,3})");
        goto fail;
    }
    if (item_field_time(&top[ITEM_K_CREATED_AT], &created_ms, err,
        errlen) == -1)
        goto fail;
    if (item_field_str(&top[ITEM_K_PERMALINK], "", "permalink", false,
        &permalink, err, errlen) == -1)
        goto fail;
    if (permalink != NULL && (problem = item_url_problem(permalink)) != NULL) {
        item_err(err, errlen, "permalink: %s", problem);
        goto fail;
    }
    raw = top[ITEM_K_RAW].json;
    meta = top[ITEM_K_META].json;
    if (meta != NULL && !json_is_object(meta)) {
        item_err(err, errlen, "meta: expected an object");
        goto fail;
    }

    if ((it = item_create(platform, native_id, (enum item_kind)kind,
        account_id, author_id, text, top[ITEM_K_TEXT].len, max_text,
        err, errlen)) == NULL) {
        *nomem = strcmp(err, ITEM_ERR_OOM) == 0;
        goto fail;
    }
    it->max_attachments = max_att;
    it->created_ms = created_ms;
    if (lang != NULL)
        memcpy(it->lang, lang_buf, sizeof(it->lang));
    /* Everything is valid now; the rest can only run out of memory. */
    if (item_set_str(&it->account_name, account_name) == -1 ||
        item_set_str(&it->conversation, conversation) == -1 ||
        item_set_str(&it->parent, parent) == -1 ||
        item_set_str(&it->author_name, author_name) == -1 ||
        item_set_str(&it->author_username, author_username) == -1 ||
        item_set_str(&it->permalink, permalink) == -1)
        goto oom;
    if (attachments != NULL) {
        json_array_foreach(attachments, i, a) {
            const char *url;

            item_json_str(a, "", "url", false, &url, NULL, 0);
            if (item_add_attachment(it, json_string_value(json_object_get(a,
                "type")), url) == -1)
                goto oom;
        }
    }
    if (raw != NULL && (it->raw = item_keep_json(f, raw)) == NULL)
        goto oom;
    if (meta != NULL && (it->meta = item_keep_json(f, meta)) == NULL)
        goto oom;
    return it;

oom:
    *nomem = true;
    item_err(err, errlen, ITEM_ERR_OOM);
fail:
    item_free(it);
    return NULL;
}

struct item *
item_from_json(json_t *obj, const struct item_limits *lim, char *err,
    size_t errlen)
{
    struct item_fields f;
    bool nomem;

    if (!json_is_object(obj)) {
        item_err(err, errlen, "item: expected a JSON object");
        return NULL;
    }
    item_fields_from_json(obj, &f);
    return item_build(&f, lim, &nomem, err, errlen);
}

/* ---------------------------------------------------------------------
 * Accessors and setters
 * ------------------------------------------------------------------ */

const char *
item_id(const struct item *it)
{
    return it->id;
}

const char *
item_platform(const struct item *it)
{
    return it->platform;
}

const char *
item_native_id(const struct item *it)
{
    return it->native_id;
}

const char *
item_account(const struct item *it)
{
    return it->account_id;
}

enum item_kind
item_kind(const struct item *it)
{
    return it->kind;
}

const char *
item_conversation(const struct item *it)
{
    return it->conversation;
}

const char *
item_author_id(const struct item *it)
{
    return it->author_id;
}

const char *
item_author_name(const struct item *it)
{
    return it->author_name;
}

const char *
item_text(const struct item *it)
{
    return it->text;
}

size_t
item_text_len(const struct item *it)
{
    return it->text_len;
}

const char *
item_lang(const struct item *it)
{
    return it->lang[0] != '\0' ? it->lang : NULL;
}

bool
item_has_link(const struct item *it)
{
    return it->has_link;
}

int64_t
item_created_ms(const struct item *it)
{
    return it->created_ms;
}

int64_t
item_received_ms(const struct item *it)
{
    return it->received_ms;
}

const char *
item_kind_name(enum item_kind kind)
{
    if ((unsigned)kind >= ITEM_KIND_COUNT_)
        return "unknown";
    return item_kind_names[kind];
}

int
item_kind_from_name(const char *name)
{
    if (name == NULL)
        return -1;
    for (int k = 0; k < ITEM_KIND_COUNT_; k++)
        if (strcmp(name, item_kind_names[k]) == 0)
            return k;
    return -1;
}

/* NULL clears the language; otherwise [a-zA-Z]{2,3}, stored lowercased. */
int
item_set_lang(struct item *it, const char *lang)
{
    char buf[4];

    if (lang == NULL) {
        it->lang[0] = '\0';
        return 0;
    }
    if (!item_norm_lang(lang, buf))
        return -1;
    memcpy(it->lang, buf, sizeof(it->lang));
    return 0;
}

int
item_set_conversation(struct item *it, const char *conv)
{
    if (conv != NULL && !item_valid_ident(conv))
        return -1;
    return item_set_str(&it->conversation, conv);
}

int
item_set_parent(struct item *it, const char *parent)
{
    if (parent != NULL && !item_valid_ident(parent))
        return -1;
    return item_set_str(&it->parent, parent);
}

int
item_set_author_name(struct item *it, const char *name)
{
    if (name != NULL && !item_valid_name(name))
        return -1;
    return item_set_str(&it->author_name, name);
}

int
item_set_permalink(struct item *it, const char *url)
{
    if (url != NULL && item_url_problem(url) != NULL)
        return -1;
    return item_set_str(&it->permalink, url);
}

int
item_set_created_ms(struct item *it, int64_t ms)
{
    if (ms < 0 || ms > ITEM_TIME_MAX_MS)
        return -1;
    it->created_ms = ms;
    return 0;
}

void
item_set_received_ms(struct item *it, int64_t ms)
{
    it->received_ms = ms;
}

void
item_set_raw(struct item *it, json_t *raw)
{
    json_decref(it->raw);
    it->raw = raw;
}

int
item_add_attachment(struct item *it, const char *type, const char *url)
{
    json_t *a;

    if (type == NULL || !item_valid_attachment_type(type) ||
        (url != NULL && item_url_problem(url) != NULL) ||
        json_array_size(it->attachments) >= it->max_attachments)
        return -1;
    if (it->attachments == NULL && (it->attachments = json_array()) == NULL)
        return -1;
    if ((a = json_object()) == NULL)
        return -1;
    if (json_object_set_new(a, "type", json_string(type)) == -1 ||
        (url != NULL &&
        json_object_set_new(a, "url", json_string(url)) == -1)) {
        json_decref(a);
        return -1;
    }
    /* append_new drops a itself when it fails. */
    if (json_array_append_new(it->attachments, a) == -1)
        return -1;
    if (strcmp(type, "link") == 0)
        it->has_link = true;
    return 0;
}

/* Room for a string copied into an item_cls; a NULL takes none. */
static size_t
item_cls_strsize(const char *s)
{
    return s != NULL ? strlen(s) + 1 : 0;
}

static char *
item_cls_put(char **at, const char *s)
{
    size_t n = item_cls_strsize(s);
    char *d = *at;

    if (s == NULL)
        return NULL;
    memcpy(d, s, n);
    *at += n;
    return d;
}

struct item_cls *
item_cls_new(const char *lang, const struct item_cls_score *scores,
    size_t nscores, const struct item_cls_hit *hits, size_t nhits,
    const char *json, size_t json_len)
{
    struct item_cls *c;
    struct item_cls_score *sc;
    struct item_cls_hit *h;
    size_t size = sizeof(*c) + nscores * sizeof(*sc) + nhits * sizeof(*h) +
        item_cls_strsize(lang) + json_len + 1;
    char *at;

    for (size_t i = 0; i < nscores; i++)
        size += item_cls_strsize(scores[i].category);
    for (size_t i = 0; i < nhits; i++)
        size += item_cls_strsize(hits[i].rule) +
            item_cls_strsize(hits[i].category);
    if ((c = xmalloc(size)) == NULL)
        return NULL;
    /* The arrays first, for their alignment; the bytes after them. */
    sc = (struct item_cls_score *)(c + 1);
    h = (struct item_cls_hit *)(sc + nscores);
    at = (char *)(h + nhits);
    for (size_t i = 0; i < nscores; i++) {
        sc[i] = scores[i];
        sc[i].category = item_cls_put(&at, scores[i].category);
    }
    for (size_t i = 0; i < nhits; i++) {
        h[i].rule = item_cls_put(&at, hits[i].rule);
        h[i].category = item_cls_put(&at, hits[i].category);
    }
    c->lang = item_cls_put(&at, lang);
    c->scores = sc;
    c->nscores = nscores;
    c->hits = h;
    c->nhits = nhits;
    memcpy(at, json, json_len);
    at[json_len] = '\0';
    c->json = at;
    c->json_len = json_len;
    return c;
}

void
item_set_cls(struct item *it, struct item_cls *cls)
{
    xfree(it->cls);
    it->cls = cls;
}

const struct item_cls *
item_cls(const struct item *it)
{
    return it->cls;
}

/* Is s one of the strings of the array cats? */
static bool
item_cls_listed(const json_t *cats, const char *s)
{
    size_t i;
    json_t *c;

    json_array_foreach(cats, i, c) {
        if (json_is_string(c) && strcmp(json_string_value(c), s) == 0)
            return true;
    }
    return false;
}

/* item_cls_new's parts from a classification object, then the item_cls. */
static struct item_cls *
item_cls_from_json(json_t *obj, const char *json, size_t json_len)
{
    json_t *scores = json_object_get(obj, "scores");
    json_t *hits = json_object_get(obj, "hits");
    json_t *cats = json_object_get(obj, "categories");
    size_t nsc = json_object_size(scores), nh = json_array_size(hits), i = 0;
    struct item_cls_score *sc = xcalloc(nsc, sizeof(*sc));
    struct item_cls_hit *h = xcalloc(nh, sizeof(*h));
    struct item_cls *c = NULL;
    const char *k;
    json_t *v;

    if (sc == NULL || h == NULL)
        goto out;
    json_object_foreach(scores, k, v) {
        sc[i].category = k;
        sc[i].score = json_number_value(v);
        sc[i++].decided = item_cls_listed(cats, k);
    }
    json_array_foreach(hits, i, v) {
        h[i].rule = json_string_value(json_object_get(v, "rule"));
        h[i].category = json_string_value(json_object_get(v, "category"));
    }
    c = item_cls_new(json_string_value(json_object_get(obj, "lang")), sc,
        nsc, h, nh, json, json_len);
out:
    xfree(sc);
    xfree(h);
    return c;
}

int
item_set_classification(struct item *it, json_t *cls)
{
    struct item_cls *c = NULL;
    struct buf b;
    int rc = 0;

    item_set_cls(it, NULL);
    if (cls == NULL)
        return 0;
    buf_init(&b, SIZE_MAX / 2);
    if (jsonw_value(&b, cls) == -1 ||
        (c = item_cls_from_json(cls, b.data, b.len)) == NULL)
        rc = -1;
    item_set_cls(it, c);
    buf_free(&b);
    json_decref(cls);
    return rc;
}

int
item_set_queue(struct item *it, const char *queue)
{
    if (queue != NULL &&
        (!item_valid_ident(queue) || strlen(queue) > ITEM_QUEUE_MAX))
        return -1;
    return item_set_str(&it->queue, queue);
}

const char *
item_queue(const struct item *it)
{
    return it->queue;
}

/* ---------------------------------------------------------------------
 * Output
 * ------------------------------------------------------------------ */

/* Set key to a copy of s; NULL s sets nothing. */
static int
item_json_put_str(json_t *obj, const char *key, const char *s)
{
    if (s == NULL)
        return 0;
    return json_object_set_new(obj, key, json_string(s));
}

static int
item_json_put_time(json_t *obj, const char *key, int64_t ms)
{
    char ts[32];

    util_format_time(ms, ts);
    return json_object_set_new(obj, key, json_string(ts));
}

/* Set key to a deep copy of v; NULL v sets nothing. */
static int
item_json_put_copy(json_t *obj, const char *key, const json_t *v)
{
    if (v == NULL)
        return 0;
    return json_object_set_new(obj, key, json_deep_copy(v));
}

json_t *
item_to_json(const struct item *it)
{
    json_t *o, *account = NULL, *author = NULL;

    if ((o = json_object()) == NULL)
        goto fail;
    if (item_json_put_str(o, "id", it->id) == -1 ||
        item_json_put_str(o, "platform", it->platform) == -1 ||
        item_json_put_str(o, "native_id", it->native_id) == -1 ||
        item_json_put_str(o, "kind", item_kind_name(it->kind)) == -1)
        goto fail;

    if ((account = json_object()) == NULL ||
        item_json_put_str(account, "id", it->account_id) == -1 ||
        item_json_put_str(account, "name", it->account_name) == -1)
        goto fail;
    /* set_new steals account even when it fails. */
    if (json_object_set_new(o, "account", account) == -1) {
        account = NULL;
        goto fail;
    }
    account = NULL;
    if (item_json_put_str(o, "conversation", it->conversation) == -1 ||
        item_json_put_str(o, "parent", it->parent) == -1)
        goto fail;

    if ((author = json_object()) == NULL ||
        item_json_put_str(author, "id", it->author_id) == -1 ||
        item_json_put_str(author, "name", it->author_name) == -1 ||
        item_json_put_str(author, "username", it->author_username) == -1)
        goto fail;
    if (json_object_set_new(o, "author", author) == -1) {
        author = NULL;
        goto fail;
    }
    author = NULL;

    if (json_object_set_new(o, "text",
        json_stringn(it->text, it->text_len)) == -1 ||
        item_json_put_str(o, "lang", item_lang(it)) == -1 ||
        item_json_put_time(o, "created_at", it->created_ms) == -1 ||
        item_json_put_time(o, "received_at", it->received_ms) == -1 ||
        item_json_put_str(o, "permalink", it->permalink) == -1)
        goto fail;
    if (json_array_size(it->attachments) > 0 &&
        item_json_put_copy(o, "attachments", it->attachments) == -1)
        goto fail;
    if (item_json_put_copy(o, "raw", it->raw) == -1 ||
        item_json_put_copy(o, "meta", it->meta) == -1 ||
        (it->cls != NULL && json_object_set_new(o, "classification",
        json_loadb(it->cls->json, it->cls->json_len, 0, NULL)) == -1) ||
        item_json_put_str(o, "queue", it->queue) == -1)
        goto fail;
    return o;

fail:
    json_decref(author);
    json_decref(account);
    json_decref(o);
    return NULL;
}

/*
 * item_dump writes the same bytes as json_dumps(item_to_json(it),
 * JSON_COMPACT), straight into one buffer: no intermediate tree, no deep
 * copies of raw and meta; the classification's JSON is copied as rules
 * wrote it (tests/unit/item_test.c checks the bytes). It is on the ingest
 * path once per item.
 */
/*
 * The keys are the model's own, with nothing to escape: each goes in as
 * one literal, comma and colon included, rather than through
 * jsonw_key's escaping pass.
 */
#define ITEM_DUMP_KEY(k) ",\"" k "\":", sizeof(",\"" k "\":") - 1

static void
item_dump_str(struct buf *b, const char *key, size_t klen, const char *s)
{
    if (s == NULL)
        return;
    if (buf_append(b, key, klen) == -1 || jsonw_str(b, s) == -1)
        b->failed = true;
}

static void
item_dump_time(struct buf *b, const char *key, size_t klen, int64_t ms)
{
    char ts[32];

    util_format_time(ms, ts);
    item_dump_str(b, key, klen, ts);
}

static void
item_dump_json(struct buf *b, const char *key, size_t klen, const json_t *v)
{
    if (v == NULL)
        return;
    if (buf_append(b, key, klen) == -1 || jsonw_value(b, v) == -1)
        b->failed = true;
}

/*
 * A nested object of an id and up to two more string fields, NULLs left
 * out; the id is always there (item_create requires it).
 */
static void
item_dump_obj(struct buf *b, const char *key, size_t klen, const char *id,
    const char *name, const char *username)
{
    if (buf_append(b, key, klen) == -1 || buf_append(b, "{\"id\":", 6) == -1 ||
        jsonw_str(b, id) == -1)
        goto fail;
    item_dump_str(b, ITEM_DUMP_KEY("name"), name);
    item_dump_str(b, ITEM_DUMP_KEY("username"), username);
    if (buf_append(b, "}", 1) == 0)
        return;
fail:
    b->failed = true;
}

char *
item_dump(const struct item *it)
{
    struct buf b;

    buf_init(&b, SIZE_MAX / 2);
    /* Room for a typical item at once: the dump grows by doubling. */
    buf_reserve(&b, 1024 + 2 * it->text_len);
    if (buf_append(&b, "{\"id\":", 6) == -1 || jsonw_str(&b, it->id) == -1)
        b.failed = true;
    item_dump_str(&b, ITEM_DUMP_KEY("platform"), it->platform);
    item_dump_str(&b, ITEM_DUMP_KEY("native_id"), it->native_id);
    item_dump_str(&b, ITEM_DUMP_KEY("kind"), item_kind_name(it->kind));
    item_dump_obj(&b, ITEM_DUMP_KEY("account"), it->account_id,
        it->account_name, NULL);
    item_dump_str(&b, ITEM_DUMP_KEY("conversation"), it->conversation);
    item_dump_str(&b, ITEM_DUMP_KEY("parent"), it->parent);
    item_dump_obj(&b, ITEM_DUMP_KEY("author"), it->author_id,
        it->author_name, it->author_username);
    if (it->text == NULL || buf_append(&b, ITEM_DUMP_KEY("text")) == -1 ||
        jsonw_string(&b, it->text, it->text_len) == -1)
        b.failed = true;
    item_dump_str(&b, ITEM_DUMP_KEY("lang"), item_lang(it));
    item_dump_time(&b, ITEM_DUMP_KEY("created_at"), it->created_ms);
    item_dump_time(&b, ITEM_DUMP_KEY("received_at"), it->received_ms);
    item_dump_str(&b, ITEM_DUMP_KEY("permalink"), it->permalink);
    if (json_array_size(it->attachments) > 0)
        item_dump_json(&b, ITEM_DUMP_KEY("attachments"), it->attachments);
    item_dump_json(&b, ITEM_DUMP_KEY("raw"), it->raw);
    item_dump_json(&b, ITEM_DUMP_KEY("meta"), it->meta);
    if (it->cls != NULL && (buf_append(&b,
        ITEM_DUMP_KEY("classification")) == -1 ||
        buf_append(&b, it->cls->json, it->cls->json_len) == -1))
        b.failed = true;
    item_dump_str(&b, ITEM_DUMP_KEY("queue"), it->queue);
    buf_append(&b, "}", 1);
    if (b.failed) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}
