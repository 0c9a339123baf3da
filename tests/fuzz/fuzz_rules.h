/*
 * fuzz_rules: evaluating an item and checking the answer against what
 * rules.h promises, for the classify and rules targets. Every hit lies
 * inside the item's text, on character boundaries; every decided
 * category has a score; and the answer is the same with the vectorscan
 * prefilter off (the plain loop it must agree with) as with it on.
 */
#ifndef INBOXD_FUZZ_RULES_H
#define INBOXD_FUZZ_RULES_H

#include <stdbool.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "item.h"
#include "rules.h"

static inline bool
fuzz_rules_boundary(const char *text, size_t len, json_int_t off)
{
    return off == (json_int_t)len ||
        ((unsigned char)text[off] & 0xc0) != 0x80;
}

static inline void
fuzz_rules_check_result(const json_t *res, const struct item *it)
{
    const char *text = item_text(it);
    size_t len = item_text_len(it), i;
    json_t *hits, *cats, *scores, *h, *v;

    FUZZ_CHECK(json_is_object(res));
    hits = json_object_get(res, "hits");
    cats = json_object_get(res, "categories");
    scores = json_object_get(res, "scores");
    FUZZ_CHECK(json_is_array(hits) && json_is_array(cats) &&
        json_is_object(scores));
    v = json_object_get(res, "lang");
    FUZZ_CHECK(json_is_null(v) || json_is_string(v));
    json_array_foreach(cats, i, v) {
        FUZZ_CHECK(json_is_string(v));
        FUZZ_CHECK(json_is_number(json_object_get(scores,
            json_string_value(v))));
    }
    json_array_foreach(hits, i, h) {
        json_int_t start = json_integer_value(json_object_get(h, "start"));
        json_int_t end = json_integer_value(json_object_get(h, "end"));

        FUZZ_CHECK(json_is_string(json_object_get(h, "rule")));
        FUZZ_CHECK(json_is_string(json_object_get(h, "match")));
        FUZZ_CHECK(json_is_number(json_object_get(scores,
            json_string_value(json_object_get(h, "category")))) ||
            json_is_true(json_object_get(h, "shadow")));
        FUZZ_CHECK(start >= 0 && start <= end && end <= (json_int_t)len);
        FUZZ_CHECK(fuzz_rules_boundary(text, len, start));
        FUZZ_CHECK(fuzz_rules_boundary(text, len, end));
    }
}

/* Evaluate it with r, check, and compare with the prefilter off. */
static inline void
fuzz_rules_eval(struct rules *r, const struct item *it)
{
    struct rules_info info;
    json_t *on, *off;

    rules_get_info(r, &info);
    if ((on = rules_eval(r, it)) == NULL)
        return;             /* out of memory */
    fuzz_rules_check_result(on, it);
    if (info.prefilter) {
        FUZZ_CHECK(rules_set_prefilter(r, false) == 0);
        off = rules_eval(r, it);
        FUZZ_CHECK(rules_set_prefilter(r, true) == 0);
        if (off != NULL) {
            if (!json_equal(on, off)) {
                char *a = json_dumps(on, JSON_COMPACT | JSON_SORT_KEYS);
                char *b = json_dumps(off, JSON_COMPACT | JSON_SORT_KEYS);

                fprintf(stderr, "prefilter on:  %s\nprefilter off: %s\n",
                    a ? a : "?", b ? b : "?");
                xfree(a);
                xfree(b);
            }
            FUZZ_CHECK(json_equal(on, off));
        }
        json_decref(off);
    }
    json_decref(on);
}

#endif
