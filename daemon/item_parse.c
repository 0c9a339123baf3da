/*
 * item_parse: the wire model (docs/item.md) read straight from its JSON
 * text into an item, for POST /v1/items and inboxd classify. Reading the
 * body into a jansson tree only to copy a dozen strings out of it and
 * free it again was a third of the daemon's work per ingested item:
 * about 150 allocations for a short comment. Here the members are found
 * with jsonread's walk, their strings decoded into its arena, and only
 * what the item keeps as JSON (attachments, raw, meta) becomes jansson
 * values; item_build (item.c) then validates and builds exactly as
 * item_from_json does.
 *
 * What the text must be is what json_loadb(JSON_REJECT_DUPLICATES)
 * requires, checked in full before the item is (a text that is not JSON
 * is always reported as such, whatever else is wrong with it):
 * tests/unit/item_parse_test.c compares the two paths on many mutated
 * bodies.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "item.h"
#include "item_internal.h"
#include "jsonread.h"

#define ITEM_PARSE_DUPLICATE "duplicate object key"

/* The keys seen in one object, to refuse duplicates as jansson does. */
struct item_parse_seen {
    uint32_t known;     /* bit per ITEM_K_* or ITEM_SUB_* */
    json_t *unknown;    /* other keys, rare: any JSON object will do */
};

/* Note key as seen; a duplicate fails the read. */
static void
item_parse_see(struct jsonread *jr, struct item_parse_seen *seen, int k,
    const char *key)
{
    if (k != -1) {
        if (seen->known & (UINT32_C(1) << k))
            jsonread_fail_key(jr, ITEM_PARSE_DUPLICATE);
        seen->known |= UINT32_C(1) << k;
        return;
    }
    if (seen->unknown == NULL && (seen->unknown = json_object()) == NULL) {
        jsonread_fail(jr, "out of memory");
        return;
    }
    if (json_object_get(seen->unknown, key) != NULL)
        jsonread_fail_key(jr, ITEM_PARSE_DUPLICATE);
    else if (json_object_set_new_nocheck(seen->unknown, key,
        json_null()) == -1)
        jsonread_fail(jr, "out of memory");
}

/*
 * One member's value into f. Strings stay in the reader's arena; other
 * values are read whole for their type (and an integer's value), and
 * kept as jansson values only when keep is set.
 */
static void
item_parse_value(struct jsonread *jr, struct item_field *f, bool keep)
{
    json_t *v;

    if (!keep && jsonread_peek(jr) == JSON_STRING) {
        if ((f->s = jsonread_str(jr, &f->len)) != NULL)
            f->type = JSON_STRING;
        return;
    }
    if ((v = jsonread_json(jr)) == NULL || json_is_null(v)) {
        json_decref(v);
        return;
    }
    f->type = json_typeof(v);
    if (json_is_string(v)) {
        f->s = json_string_value(v);
        f->len = json_string_length(v);
    } else if (json_is_integer(v))
        f->num = json_integer_value(v);
    if (keep)
        f->json = v;
    else
        json_decref(v);
}

/* The members of account or author, once that object is entered. */
static void
item_parse_sub(struct jsonread *jr, struct item_field *sub,
    const char **unknown, bool author)
{
    struct item_parse_seen seen = { 0, NULL };
    const char *key;
    size_t klen;
    int k;

    for (size_t n = 0; jsonread_member(jr, n, &key, &klen) == 1; n++) {
        k = item_key_sub(key, klen, author);
        item_parse_see(jr, &seen, k, key);
        if (k != -1)
            item_parse_value(jr, &sub[k], false);
        else {
            if (*unknown == NULL)
                *unknown = key;
            jsonread_skip(jr);
        }
    }
    json_decref(seen.unknown);
}

/* The top-level object, once entered. */
static void
item_parse_top(struct jsonread *jr, struct item_fields *f)
{
    struct item_parse_seen seen = { 0, NULL };
    const char *key;
    size_t klen;
    int k;

    for (size_t n = 0; jsonread_member(jr, n, &key, &klen) == 1; n++) {
        k = item_key_top(key, klen);
        item_parse_see(jr, &seen, k, key);
        if (k == -1) {
            if (f->unknown == NULL)
                f->unknown = key;
            jsonread_skip(jr);
        } else if ((k == ITEM_K_ACCOUNT || k == ITEM_K_AUTHOR) &&
            jsonread_peek(jr) == JSON_OBJECT) {
            f->top[k].type = JSON_OBJECT;
            if (jsonread_enter(jr) == 0)
                item_parse_sub(jr, k == ITEM_K_ACCOUNT ? f->account :
                    f->author, k == ITEM_K_ACCOUNT ? &f->account_unknown :
                    &f->author_unknown, k == ITEM_K_AUTHOR);
        } else
            item_parse_value(jr, &f->top[k], k == ITEM_K_ATTACHMENTS ||
                k == ITEM_K_RAW || k == ITEM_K_META);
    }
    json_decref(seen.unknown);
}

struct item *
item_parse(struct jsonread *jr, const char *s, size_t len,
    const struct item_limits *lim, enum item_parse_result *why, char *err,
    size_t errlen)
{
    struct item_fields f;
    struct item *it = NULL;
    bool nomem = false;
    int type;

    item_fields_init(&f);
    *why = ITEM_PARSE_BAD_JSON;
    if (jsonread_start(jr, s, len) == -1)
        goto bad_json;
    /* Anything but an object is still read: JSON errors come first. */
    if ((type = jsonread_peek(jr)) == JSON_OBJECT) {
        if (jsonread_enter(jr) == 0)
            item_parse_top(jr, &f);
    } else if (type == JSON_ARRAY)
        jsonread_skip(jr);
    else if (type != -1)
        jsonread_fail(jr, "'[' or '{' expected");
    if (jsonread_finish(jr) == -1)
        goto bad_json;
    if (type != JSON_OBJECT) {
        *why = ITEM_PARSE_BAD_ITEM;
        snprintf(err, errlen, "item: expected a JSON object");
        goto out;
    }
    if ((it = item_build(&f, lim, &nomem, err, errlen)) != NULL)
        *why = ITEM_PARSE_OK;
    else
        *why = nomem ? ITEM_PARSE_NOMEM : ITEM_PARSE_BAD_ITEM;
    goto out;

bad_json:
    if (jsonread_nomem(jr))
        *why = ITEM_PARSE_NOMEM;
    jsonread_strerror(jr, err, errlen);
out:
    json_decref(f.top[ITEM_K_ATTACHMENTS].json);
    json_decref(f.top[ITEM_K_RAW].json);
    json_decref(f.top[ITEM_K_META].json);
    return it;
}
