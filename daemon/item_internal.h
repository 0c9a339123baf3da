/*
 * item's private face to item_parse.c: the members of the wire model as
 * they were found, whichever reader found them, and the one function
 * that validates them and builds the item. item_from_json fills them
 * from a jansson object, item_parse straight from the text; both then
 * give the same item or the same error.
 */
#ifndef INBOXD_ITEM_INTERNAL_H
#define INBOXD_ITEM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "item.h"

/* The top-level keys of the wire model (docs/item.md), in its order. */
enum item_key {
    ITEM_K_PLATFORM,
    ITEM_K_NATIVE_ID,
    ITEM_K_ID,
    ITEM_K_KIND,
    ITEM_K_ACCOUNT,
    ITEM_K_CONVERSATION,
    ITEM_K_PARENT,
    ITEM_K_AUTHOR,
    ITEM_K_TEXT,
    ITEM_K_LANG,
    ITEM_K_CREATED_AT,
    ITEM_K_RECEIVED_AT,
    ITEM_K_PERMALINK,
    ITEM_K_ATTACHMENTS,
    ITEM_K_RAW,
    ITEM_K_META,
    ITEM_K_CLASSIFICATION,
    ITEM_K_QUEUE,
    ITEM_K_COUNT_
};

/* The keys of account (id, name) and author (id, name, username). */
enum item_sub {
    ITEM_SUB_ID,
    ITEM_SUB_NAME,
    ITEM_SUB_USERNAME,
    ITEM_SUB_COUNT_
};

/* One member as found. */
struct item_field {
    int type;           /* its json_type; -1 when absent or null */
    const char *s;      /* a string: NUL-terminated, len bytes */
    size_t len;
    json_int_t num;     /* an integer */
    json_t *json;       /* attachments, raw, meta: the value itself */
};

struct item_fields {
    struct item_field top[ITEM_K_COUNT_];
    struct item_field account[ITEM_SUB_COUNT_];
    struct item_field author[ITEM_SUB_COUNT_];
    /* The first key in each object that is not in the model, or NULL. */
    const char *unknown;
    const char *account_unknown;
    const char *author_unknown;
    /* The json values are borrowed: the item deep-copies raw and meta
     * rather than take a reference to them. */
    bool borrowed;
};

/* Every member absent, nothing borrowed. */
void item_fields_init(struct item_fields *f);

/*
 * Where key (len bytes) is in the top-level keys (ITEM_K_*), or in
 * account's (author false) or author's keys (ITEM_SUB_*); -1 if absent.
 */
int item_key_top(const char *key, size_t len);
int item_key_sub(const char *key, size_t len, bool author);

/*
 * Validate f as item_from_json always has (the same checks in the same
 * order, so the same message for the same input) and build the item.
 * f is borrowed. *nomem tells an allocation failure from invalid input.
 */
struct item *item_build(const struct item_fields *f,
    const struct item_limits *lim, bool *nomem, char *err, size_t errlen);

#endif
