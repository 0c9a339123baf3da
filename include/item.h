/*
 * item: the one normalized model of a comment, reply, DM or mention from
 * any platform (docs/item.md). Connectors and the ingest API build items;
 * classify and route annotate them; queue stores their JSON.
 *
 * An item owns all of its memory; item_free releases everything.
 */
#ifndef INBOXD_ITEM_H
#define INBOXD_ITEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct item;

enum item_kind {
    ITEM_KIND_COMMENT = 0,  /* top-level public comment on a post/video */
    ITEM_KIND_REPLY,        /* public reply to a comment */
    ITEM_KIND_DM,           /* private message */
    ITEM_KIND_MENTION,      /* public post mentioning the account */
    ITEM_KIND_COUNT_
};

/* Limits applied while validating; zero fields take the defaults. */
struct item_limits {
    size_t max_text;        /* bytes of text; default 65536 */
    size_t max_attachments; /* default 32 */
};

#define ITEM_ID_MAX 300         /* "platform:native_id" */
#define ITEM_PLATFORM_MAX 32
#define ITEM_NATIVE_ID_MAX 256

/*
 * Build an item from a JSON object in the wire model (docs/item.md).
 * obj is borrowed. On success returns a new item; its received time is set
 * to now. On failure returns NULL and writes a one-line reason naming the
 * offending field into err (e.g. "author.id: missing", "kind: must be one
 * of comment, reply, dm, mention").
 */
struct item *item_from_json(json_t *obj, const struct item_limits *lim,
    char *err, size_t errlen);

struct jsonread;

enum item_parse_result {
    ITEM_PARSE_OK,
    ITEM_PARSE_BAD_JSON,    /* the text is not JSON */
    ITEM_PARSE_BAD_ITEM,    /* JSON, but not a valid item */
    ITEM_PARSE_NOMEM,
};

/*
 * Build an item straight from the JSON text of the wire model (an ingest
 * body, a line of JSON Lines), without a jansson tree of it: the same
 * item, or the same refusal, as json_loadb(JSON_REJECT_DUPLICATES) and
 * then item_from_json. s is borrowed; jr is the reader's scratch, kept
 * from one call to the next (include/jsonread.h). On failure returns
 * NULL with the cause in *why and a one-line reason in err: for a text
 * that is not JSON "line L column C: what is wrong", for an invalid item
 * the same reason as item_from_json's.
 */
struct item *item_parse(struct jsonread *jr, const char *s, size_t len,
    const struct item_limits *lim, enum item_parse_result *why, char *err,
    size_t errlen);

/*
 * Build an item straight from fields, for connectors. platform, native_id,
 * account_id, author_id are required; others may be NULL. text is copied.
 * Returns NULL on invalid input with the reason in err.
 */
struct item *item_new(const char *platform, const char *native_id,
    enum item_kind kind, const char *account_id, const char *author_id,
    const char *text, char *err, size_t errlen);

void item_free(struct item *it);

/* Accessors; strings are borrowed and live as long as the item. */
const char *item_id(const struct item *it);
const char *item_platform(const struct item *it);
const char *item_native_id(const struct item *it);
const char *item_account(const struct item *it);
enum item_kind item_kind(const struct item *it);
const char *item_conversation(const struct item *it);   /* may be NULL */
const char *item_author_id(const struct item *it);
const char *item_author_name(const struct item *it);    /* may be NULL */
const char *item_text(const struct item *it);           /* never NULL */
size_t item_text_len(const struct item *it);
const char *item_lang(const struct item *it);           /* may be NULL */
bool item_has_link(const struct item *it);
int64_t item_created_ms(const struct item *it);
int64_t item_received_ms(const struct item *it);

const char *item_kind_name(enum item_kind kind);
/* -1 when the name is not a kind. */
int item_kind_from_name(const char *name);

/* Setters used by later stages. Strings are copied. */
int item_set_lang(struct item *it, const char *lang);
int item_set_conversation(struct item *it, const char *conv);
int item_set_parent(struct item *it, const char *parent);
int item_set_author_name(struct item *it, const char *name);
int item_set_permalink(struct item *it, const char *url);
int item_set_created_ms(struct item *it, int64_t ms);
void item_set_received_ms(struct item *it, int64_t ms);
/* Takes a reference: the item owns raw afterwards. */
void item_set_raw(struct item *it, json_t *raw);
/* Attach {"type": ..., "url": ...}; copies. */
int item_add_attachment(struct item *it, const char *type, const char *url);

/*
 * The classification as the item keeps it (docs/item.md §6), made by
 * rules from its verdict (rules_verdict_cls): what the routes, the
 * pipeline and the replies read, and the JSON stored as the item's
 * "classification", written once. One allocation holds all of it,
 * strings included; xfree (or the item owning it) frees it.
 */
struct item_cls_score {
    const char *category;
    double score;
    bool decided;           /* listed in "categories" */
};

struct item_cls_hit {
    const char *rule;
    const char *category;
};

struct item_cls {
    const char *lang;                       /* NULL: unknown */
    const struct item_cls_score *scores;    /* the order of "scores" */
    size_t nscores;
    const struct item_cls_hit *hits;        /* the order of "hits" */
    size_t nhits;
    const char *json;                       /* the object, compact */
    size_t json_len;
};

/*
 * Copy the parts into one new item_cls; json must be the compact JSON of
 * the same classification. NULL when memory runs out.
 */
struct item_cls *item_cls_new(const char *lang,
    const struct item_cls_score *scores, size_t nscores,
    const struct item_cls_hit *hits, size_t nhits, const char *json,
    size_t json_len);

/* Takes cls; NULL clears. */
void item_set_cls(struct item *it, struct item_cls *cls);
const struct item_cls *item_cls(const struct item *it);    /* may be NULL */

/*
 * The same from a classification object in rules_eval's shape ("lang",
 * "categories", "scores", "hits"); takes the reference, NULL clears.
 * -1 when memory runs out or the object cannot be written as JSON (the
 * item is then left without one).
 */
int item_set_classification(struct item *it, json_t *cls);
int item_set_queue(struct item *it, const char *queue);
const char *item_queue(const struct item *it);          /* may be NULL */

/* The full JSON of the item as stored and served. Returns a new ref. */
json_t *item_to_json(const struct item *it);
/* Compact serialization of item_to_json; caller frees with xfree. */
char *item_dump(const struct item *it);

#endif
