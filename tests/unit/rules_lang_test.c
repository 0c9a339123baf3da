/*
 * rules_lang_test: the rule language beyond plain patterns, against the
 * files under tests/data/rules/ (lang/, bad_lang/, bad_meta/,
 * bad_example/, check/) and the shipped sets: matching the normalized
 * text and mapping hits back to the original, field: raw, conditions,
 * exceptions, words_match, shadow rules and files, meta rules, in-file
 * examples (a failing one rejects the load), every new error with its
 * file:line:col, per-rule statistics, and rules_check. No sockets.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "item.h"
#include "log.h"
#include "rules.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "/work/main/tests/data"
#endif

#define DATA TEST_DATA_DIR "/rules/"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

static struct rules *
lang_load(const char *dir)
{
    struct rules *r;
    struct buf errors;

    buf_init(&errors, 64 * 1024);
    if ((r = rules_load(&dir, 1, NULL, &errors)) == NULL)
        fprintf(stderr, "  rules_load failed:\n%s",
            errors.data ? errors.data : "(no errors)\n");
    buf_free(&errors);
    return r;
}

/* Load a directory expected to fail; its error text (xfree it). */
static char *
lang_errors(const char *dir)
{
    struct rules *r;
    struct buf errors;

    buf_init(&errors, 64 * 1024);
    if ((r = rules_load(&dir, 1, NULL, &errors)) != NULL) {
        fprintf(stderr, "  %s: loaded, expected errors\n", dir);
        rules_free(r);
        buf_free(&errors);
        return NULL;
    }
    return buf_steal(&errors);
}

/* The item a test classifies; NULL fields take defaults. */
struct lang_item {
    const char *text;
    const char *lang;
    enum item_kind kind;
    const char *platform;
    const char *account;
    const char *author_id;
    const char *author_name;
};

static json_t *
lang_eval(struct rules *r, const struct lang_item *li)
{
    char err[128];
    struct item *it;
    json_t *cls;

    it = item_new(li->platform ? li->platform : "test", "n1", li->kind,
        li->account ? li->account : "acct", li->author_id ?
        li->author_id : "author", li->text, err, sizeof(err));
    if (it == NULL) {
        fprintf(stderr, "  item_new: %s\n", err);
        return NULL;
    }
    if ((li->lang != NULL && item_set_lang(it, li->lang) == -1) ||
        (li->author_name != NULL &&
        item_set_author_name(it, li->author_name) == -1)) {
        item_free(it);
        return NULL;
    }
    cls = rules_eval(r, it);
    item_free(it);
    return cls;
}

static json_t *
lang_eval_text(struct rules *r, const char *text, const char *lang)
{
    struct lang_item li = { .text = text, .lang = lang };

    return lang_eval(r, &li);
}

/* The hit of rule id, or NULL. Borrowed. */
static json_t *
lang_hit(json_t *cls, const char *id)
{
    size_t i;
    json_t *h;

    json_array_foreach(json_object_get(cls, "hits"), i, h) {
        if (strcmp(json_string_value(json_object_get(h, "rule")), id) == 0)
            return h;
    }
    return NULL;
}

static bool
lang_decided(json_t *cls, const char *category)
{
    size_t i;
    json_t *v;

    json_array_foreach(json_object_get(cls, "categories"), i, v) {
        if (strcmp(json_string_value(v), category) == 0)
            return true;
    }
    return false;
}

static double
lang_score(json_t *cls, const char *category)
{
    return json_real_value(json_object_get(json_object_get(cls, "scores"),
        category));
}

/* Does rule id hit li? Prints the classification when not as wanted. */
static bool
lang_hits(struct rules *r, const struct lang_item *li, const char *id)
{
    json_t *cls = lang_eval(r, li);
    bool hit = cls != NULL && lang_hit(cls, id) != NULL;

    json_decref(cls);
    return hit;
}

/* ------------------------------------------------------------------ */
/* Normalization                                                       */
/* ------------------------------------------------------------------ */

/* The shipped sets see through the evasions docs/normalize.md folds. */
static int
test_shipped_evasions(void)
{
    static const struct {
        const char *text;
        const char *lang;
        const char *rule;
    } cases[] = {
        /* zero-width space, leet */
        { "fr\xe2\x80\x8b" "ee m0ney for everyone", "en",
            "en.spam.easy_money" },
        /* Cyrillic look-alikes: ѕ р а m, ѕ р а m ... */
        { "\u0455\u0440\u0430m? no, just \u0441h\u0435\u0441k my "
            "\u0440r\u043ef\u0456le", "en", "en.spam.my_profile" },
        /* fullwidth, mathematical bold */
        { "\xef\xbd\x86\xef\xbd\x92\xef\xbd\x85\xef\xbd\x85 bitcoin", "en",
            "en.spam.crypto_giveaway" },
        { "\xf0\x9d\x90\x9b\xf0\x9d\x90\xae\xf0\x9d\x90\xb2 cheap "
            "followers", "en", "en.spam.followers" },
        /* zalgo: three or more stacked marks per letter */
        { "f\u0337\u0322\u0301r\u0334\u0321\u0300e\u0335\u0323\u0302"
            "e\u0336\u0324\u0303 m\u0338\u0301\u0300oney for all", "en",
            "en.spam.easy_money" },
        /* spaced out, stretched, upper case */
        { "you are an i d i o t", "en", "en.abuse.insult_you" },
        { "YOU IDIOOOOOOTS", "en", "en.abuse.insult_you" },
        { "f u c k you", "en", "en.abuse.fuck_off" },
        /* Russian: Latin look-alikes, leet, spacing */
        { "ты xуйло", "ru", "ru.abuse.mat" },
        { "е6ать ты тупой", "ru", "ru.abuse.mat" },
        { "с у к а", "ru", "ru.abuse.rude" },
        { "Заработ0к без вл0жений", "ru", "ru.spam.easy_money" },
    };
    const char *dir = INBOXD_RULES_DIR;
    struct rules *r = lang_load(dir);
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lang_item li = { .text = cases[i].text,
            .lang = cases[i].lang };

        if (!lang_hits(r, &li, cases[i].rule)) {
            json_t *cls = lang_eval(r, &li);
            char *s = json_dumps(cls, JSON_COMPACT);

            fprintf(stderr, "  \"%s\": %s missed: %s\n", cases[i].text,
                cases[i].rule, s);
            xfree(s);
            json_decref(cls);
            rc = -1;
        }
    }
out:
    rules_free(r);
    return rc;
}

/* A hit on the normalized text is reported on the original. */
static int
test_spans_on_original(void)
{
    static const char text[] = "Hey! FR\xe2\x80\x8b" "EE   M0NEYYYY now";
    struct rules *r = lang_load(DATA "lang");
    const char *from = strstr(text, "FR");
    json_t *cls = NULL, *h;
    int rc = 0;

    CHECK(r != NULL);
    cls = lang_eval_text(r, text, "en");
    CHECK((h = lang_hit(cls, "t.text.free_money")) != NULL);
    CHECK(json_integer_value(json_object_get(h, "start")) == from - text);
    CHECK(json_integer_value(json_object_get(h, "end")) ==
        (json_int_t)(strstr(text, " now") - text));
    CHECK_STR(json_string_value(json_object_get(h, "match")),
        "FR\xe2\x80\x8b" "EE   M0NEYYYY");
    json_decref(cls);
    /* The raw field sees the text as written: case and digits stay. */
    cls = lang_eval_text(r, "LOOK: https://bit.ly/Ab12 and STOP SHOUTING",
        "en");
    CHECK((h = lang_hit(cls, "t.raw.url")) != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "match")),
        "https://bit.ly/Ab12");
    CHECK(json_integer_value(json_object_get(h, "start")) == 6);
    CHECK((h = lang_hit(cls, "t.raw.caps")) != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "match")), "SHOUTING");
    json_decref(cls);
    cls = lang_eval_text(r, "Stop Shouting", "en");
    CHECK(lang_hit(cls, "t.raw.caps") == NULL);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Conditions, exceptions, words_match                                 */
/* ------------------------------------------------------------------ */

static int
test_conditions(void)
{
    static const struct {
        struct lang_item li;
        const char *rule;
        bool want;
    } cases[] = {
        /* kind and has_link */
        { { .text = "check this https://x.example", .kind = ITEM_KIND_DM },
            "t.when.dm_link", true },
        { { .text = "check this https://x.example",
            .kind = ITEM_KIND_COMMENT }, "t.when.dm_link", false },
        { { .text = "check this out", .kind = ITEM_KIND_DM },
            "t.when.dm_link", false },
        /* platform and account */
        { { .text = "price?", .platform = "vk", .account = "acct1" },
            "t.when.platform", true },
        { { .text = "price?", .platform = "telegram", .account = "acct1" },
            "t.when.platform", true },
        { { .text = "price?", .platform = "youtube", .account = "acct1" },
            "t.when.platform", false },
        { { .text = "price?", .platform = "vk", .account = "acct2" },
            "t.when.platform", false },
        /* author name pattern and author id */
        { { .text = "promo inside", .author_id = "bot1",
            .author_name = "Best Deals" }, "t.when.author", true },
        { { .text = "promo inside", .author_id = "bot1",
            .author_name = "Jane" }, "t.when.author", false },
        { { .text = "promo inside", .author_id = "bot1" },
            "t.when.author", false },
        { { .text = "promo inside", .author_id = "human",
            .author_name = "Promo" }, "t.when.author", false },
        /* length in characters of the original text */
        { { .text = "ok" }, "t.when.length", true },
        { { .text = "ok, ok, ok" }, "t.when.length", true },
        { { .text = "ok, that is fine" }, "t.when.length", false },
        { { .text = "ок ok ёё" }, "t.when.length", true },
        /* lang: the item's, or none known */
        { { .text = "hello", .lang = "en" }, "t.when.lang", true },
        { { .text = "hello", .lang = "fr" }, "t.when.lang", true },
        { { .text = "hello", .lang = "ru" }, "t.when.lang", false },
    };
    struct rules *r = lang_load(DATA "lang");
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        if (lang_hits(r, &cases[i].li, cases[i].rule) != cases[i].want) {
            fprintf(stderr, "  case %zu \"%s\": %s %s\n", i,
                cases[i].li.text, cases[i].rule, cases[i].want ? "missed" :
                "hit");
            rc = -1;
        }
    }
out:
    rules_free(r);
    return rc;
}

static int
test_exceptions_and_words_match(void)
{
    static const struct {
        const char *text;
        const char *rule;
        bool want;
    } cases[] = {
        { "I want a refund now", "t.unless.refund", true },
        { "Is there a refund policy?", "t.unless.refund", false },
        { "No refund needed, it works", "t.unless.refund", false },
        /* An exception anywhere in the text vetoes. */
        { "refund! and read the REFUND POLICY", "t.unless.refund", false },
        { "вы идиоты", "t.words.prefix", true },
        { "идиотизм", "t.words.prefix", true },
        { "кретин-идиот", "t.words.prefix", true },
        { "sidiot", "t.words.prefix", false },
        { "what an a$$hole", "t.words.prefix", true },
    };
    struct rules *r = lang_load(DATA "lang");
    int rc = 0;

    CHECK(r != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        struct lang_item li = { .text = cases[i].text };

        if (lang_hits(r, &li, cases[i].rule) != cases[i].want) {
            fprintf(stderr, "  \"%s\": %s %s\n", cases[i].text,
                cases[i].rule, cases[i].want ? "missed" : "hit");
            rc = -1;
        }
    }
out:
    rules_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Shadow mode and meta rules                                          */
/* ------------------------------------------------------------------ */

struct lang_stat {
    const char *want;
    struct rules_stat st;
    bool seen;
    uint64_t old_hits;      /* from the old callback */
};

static void
lang_stat2_cb(const struct rules_stat *st, void *arg)
{
    struct lang_stat *ls = arg;

    if (strcmp(st->id, ls->want) == 0) {
        ls->st = *st;
        ls->seen = true;
    }
}

static void
lang_stat_cb(const char *rule_id, const char *category, uint64_t hits,
    uint64_t limit_errors, uint64_t match_ns, void *arg)
{
    struct lang_stat *ls = arg;

    (void)category;
    (void)limit_errors;
    (void)match_ns;
    if (strcmp(rule_id, ls->want) == 0)
        ls->old_hits = hits;
}

static int
test_shadow(void)
{
    struct rules *r = lang_load(DATA "lang");
    struct lang_stat ls = { .want = "t.shadow.crypto" };
    json_t *cls = NULL, *h, *sh;
    struct rules_info info;
    int rc = 0;

    CHECK(r != NULL);
    rules_get_info(r, &info);
    /* t.shadow.crypto, t.meta.shadow_sees_shadow, s.new_spam. */
    CHECK(info.shadow == 3);
    cls = lang_eval_text(r, "crypto airdrop for everyone, wholesale",
        "en");
    CHECK(cls != NULL);
    /* Recorded and flagged... */
    CHECK((h = lang_hit(cls, "t.shadow.crypto")) != NULL);
    CHECK(json_is_true(json_object_get(h, "shadow")));
    CHECK((h = lang_hit(cls, "s.new_spam")) != NULL);
    CHECK(json_is_true(json_object_get(h, "shadow")));
    /* ...but they add nothing: no spam score, nothing decided. */
    CHECK(json_object_get(json_object_get(cls, "scores"), "spam") == NULL);
    CHECK(!lang_decided(cls, "spam"));
    /* The file's other rule opted out and counts. */
    CHECK((h = lang_hit(cls, "s.counted")) != NULL);
    CHECK(json_object_get(h, "shadow") == NULL);
    CHECK(lang_decided(cls, "lead"));
    /* A counted meta rule does not see shadow hits; a shadow one does. */
    CHECK(lang_hit(cls, "t.meta.sees_shadow") == NULL);
    CHECK((h = lang_hit(cls, "t.meta.shadow_sees_shadow")) != NULL);
    CHECK(json_is_true(json_object_get(h, "shadow")));
    /* What the decision would have been with shadow rules counted. */
    CHECK((sh = json_object_get(cls, "shadow")) != NULL);
    CHECK(json_real_value(json_object_get(json_object_get(sh, "scores"),
        "spam")) == 11.0);
    CHECK(json_array_size(json_object_get(sh, "categories")) == 2);
    CHECK_STR(json_string_value(json_array_get(json_object_get(sh,
        "categories"), 0)), "spam");
    json_decref(cls);
    /* No shadow hit: no "shadow" key. */
    cls = lang_eval_text(r, "wholesale please", "en");
    CHECK(json_object_get(cls, "shadow") == NULL);

    rules_foreach_stat2(r, lang_stat2_cb, &ls);
    CHECK(ls.seen && ls.st.shadow);
    CHECK(ls.st.hits == 0 && ls.st.shadow_hits == 1);
    CHECK_STR(ls.st.category, "spam");
    CHECK_CONTAINS(ls.st.file, "lang/features.yml");
    /* The old visitor still works and counts every match. */
    rules_foreach_stat(r, lang_stat_cb, &ls);
    CHECK(ls.old_hits == 1);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

static int
test_meta(void)
{
    struct rules *r = lang_load(DATA "lang");
    json_t *cls = NULL, *h;
    int rc = 0;

    CHECK(r != NULL);
    cls = lang_eval_text(r, "You are our WINNER! Claim it today", "en");
    CHECK(lang_hit(cls, "t.meta.part_a") != NULL);
    CHECK(lang_hit(cls, "t.meta.part_b") != NULL);
    CHECK((h = lang_hit(cls, "t.meta.all")) != NULL);
    /* all: from the first named hit to the last. */
    CHECK_STR(json_string_value(json_object_get(h, "match")),
        "WINNER! Claim");
    CHECK(lang_decided(cls, "spam"));
    CHECK(lang_score(cls, "parts") == 0.0);
    json_decref(cls);
    cls = lang_eval_text(r, "winner, winner", "en");
    CHECK(lang_hit(cls, "t.meta.all") == NULL);
    json_decref(cls);
    /* any: one is enough, and hits keep rule order. */
    cls = lang_eval_text(r, "https://bit.ly/abc", "en");
    CHECK((h = lang_hit(cls, "t.meta.any")) != NULL);
    CHECK_STR(json_string_value(json_object_get(h, "match")),
        "https://bit.ly/abc");
    CHECK(strcmp(json_string_value(json_object_get(json_array_get(
        json_object_get(cls, "hits"), 0), "rule")), "t.raw.url") == 0);
out:
    json_decref(cls);
    rules_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

#define BADL DATA "bad_lang/"

static int
test_errors_new_keys(void)
{
    char *e = lang_errors(DATA "bad_lang");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_CONTAINS(e, BADL "when_key.yml:6:12: unknown key 'platfrom' in "
        "when (known: platform, kind, lang, account, author_id, "
        "author_name, min_length, max_length, has_link)\n");
    CHECK_CONTAINS(e, BADL "when_kind.yml:7:23: rule 'bad.when_kind': "
        "when.kind: bad value 'email' (want comment, reply, dm or "
        "mention)\n");
    CHECK_CONTAINS(e, BADL "when_range.yml:7:7: rule 'bad.when_range': "
        "when: min_length 50 is more than max_length 10\n");
    CHECK_CONTAINS(e, BADL "when_count.yml:7:19: when.min_length: must be "
        "a whole number from 0 to 16777216\n");
    CHECK_CONTAINS(e, BADL "when_type.yml:6:12: rule 'bad.when_type': "
        "when: must be a mapping\n");
    /* A pcre2 error in a condition or an exception lands on its
     * character, as for pattern. */
    CHECK_CONTAINS(e, BADL "when_author.yml:7:27: rule 'bad.when_author': "
        "bad when.author_name pattern: missing closing parenthesis (at "
        "offset 6)\n");
    CHECK_CONTAINS(e, BADL "when_lang.yml:6:18: rule 'bad.when_lang': "
        "when.lang: bad value 'English' (want a lowercase ISO 639 code "
        "such as 'en')\n");
    CHECK_CONTAINS(e, BADL "unless_regex.yml:6:24: rule 'bad.unless_regex': "
        "bad unless pattern: missing terminating ] for character class (at "
        "offset 3)\n");
    CHECK_CONTAINS(e, BADL "unless_empty.yml:6:14: rule "
        "'bad.unless_empty': unless pattern can match an empty string\n");
    CHECK_CONTAINS(e, BADL "field.yml:6:12: rule 'bad.field': field: must "
        "be 'text' (the normalized text) or 'raw'\n");
    CHECK_CONTAINS(e, BADL "case_text.yml:6:5: rule 'bad.case_text': "
        "case_sensitive needs 'field: raw' (the normalized text is "
        "lowercase)\n");
    CHECK_CONTAINS(e, BADL "words_match.yml:6:5: rule 'bad.words_match': "
        "words_match goes with 'words'\n");
    CHECK_CONTAINS(e, BADL "examples_key.yml:7:7: unknown key 'matches' in "
        "examples (known: match, no_match)\n");
    CHECK_CONTAINS(e, BADL "meta_field.yml:6:5: rule 'bad.meta_field': a "
        "meta rule (all/any) has no text of its own: drop 'field', "
        "'case_sensitive', 'unless' and 'words_match'\n");
    CHECK_CONTAINS(e, BADL "meta_both.yml:6:5: rule 'bad.meta_both': give "
        "only one of 'pattern', 'words', 'all' and 'any'\n");
    CHECK_CONTAINS(e, BADL "shadow.yml:1:9: shadow: must be true or "
        "false\n");
    CHECK_CONTAINS(e, BADL "words_mode.yml:6:18: rule 'bad.words_mode': "
        "words_match: must be word, prefix, suffix, substring or full\n");
    CHECK_CONTAINS(e, BADL "when_max.yml:6:24: rule 'bad.when_max': "
        "when.max_length: must be at least 1\n");
    CHECK_CONTAINS(e, BADL "when_max.yml:6:37: when.has_link: must be true "
        "or false\n");
    CHECK_CONTAINS(e, BADL "examples_list.yml:7:14: rule "
        "'bad.examples_list': examples.match: must be a list of strings\n");
    CHECK_CONTAINS(e, BADL "examples_list.yml:8:19: rule "
        "'bad.examples_list': examples.no_match: an example must be 1 to "
        "65536 bytes\n");
out:
    xfree(e);
    return rc;
}

static int
test_errors_meta(void)
{
    char *e = lang_errors(DATA "bad_meta");
    int rc = 0;

    CHECK(e != NULL);
    CHECK_STR(e, DATA "bad_meta/refs.yml:10:22: rule 'meta.missing': no "
        "rule 'meta.no_such' to refer to\n"
        DATA "bad_meta/refs.yml:14:22: rule 'meta.self': refers to itself\n"
        DATA "bad_meta/refs.yml:18:11: rule 'meta.of_meta': 'meta.missing' "
        "is a meta rule too; all/any may only name pattern and words "
        "rules\n");
out:
    xfree(e);
    return rc;
}

/*
 * A failing example rejects the whole load at the example's position, so
 * a SIGHUP with it keeps the rules that run.
 */
static int
test_failing_example(void)
{
    const char *dirs[] = { DATA "basic", DATA "bad_example" };
    struct rules *live = lang_load(DATA "basic"), *next = NULL;
    struct buf errors;
    json_t *cls = NULL;
    int rc = 0;

    buf_init(&errors, 64 * 1024);
    CHECK(live != NULL);
    next = rules_load(dirs, 2, NULL, &errors);
    CHECK(next == NULL);
    CHECK_STR(errors.data, DATA "bad_example/examples.yml:9:19: rule "
        "'bad.example.hello': example should not match but does (on "
        "\"hello\"): \"say hello\"\n"
        DATA "bad_example/examples.yml:18:12: rule 'bad.example.raw': "
        "example should match but does not: \"visit w\xe2\x80\x8bww."
        "example.com\"\n");
    /* The live set is untouched and still classifies. */
    cls = lang_eval_text(live, "hello", "en");
    CHECK(lang_hit(cls, "en.delta.hello") != NULL);
out:
    json_decref(cls);
    rules_free(next);
    rules_free(live);
    buf_free(&errors);
    return rc;
}

/* Every shipped rule's examples pass (the load checks them). */
static int
test_shipped_examples(void)
{
    struct rules *r = lang_load(INBOXD_RULES_DIR);
    struct rules_info info;
    int rc = 0;

    CHECK(r != NULL);
    rules_get_info(r, &info);
    CHECK(info.examples >= 100);
out:
    rules_free(r);
    return rc;
}

/* ------------------------------------------------------------------ */
/* rules_check                                                         */
/* ------------------------------------------------------------------ */

static int
test_check_warnings(void)
{
    struct rules *r = lang_load(DATA "check");
    struct rules_info info;
    struct buf report;
    FILE *logf = tmpfile();
    long logged;
    int n, rc = 0;

    buf_init(&report, 64 * 1024);
    CHECK(r != NULL && logf != NULL);
    log_set_stream(logf);
    n = rules_check(r, &report);
    log_set_stream(NULL);
    CHECK(n == 6);
#define CW DATA "check/warn.yml:"
    CHECK_CONTAINS(report.data, CW "3:5: warning: rule 'c.uppercase_eszett': "
        "can never match the normalized text: it needs \"straße\", and "
        "normalization turns 'ß' into 'ss'");
    CHECK_CONTAINS(report.data, CW "7:5: warning: rule 'c.tab': can never "
        "match the normalized text: it needs \"a\\x09b\", and every blank "
        "becomes a plain space");
    CHECK_CONTAINS(report.data, CW "11:5: warning: rule 'c.too_long': can "
        "never match: its pattern needs at least 20 characters but "
        "when.max_length is 10\n");
    CHECK_CONTAINS(report.data, CW "16:5: warning: rule 'c.catastrophic': "
        "its pattern is stopped by a match limit on 64 KiB of 'a'");
    rules_get_info(r, &info);
    if (info.prefilter)
        CHECK_CONTAINS(report.data, CW "16:5: note: rule 'c.catastrophic': "
            "runs on every item");
    else
        CHECK_CONTAINS(report.data, "rules: note: built without "
            "vectorscan");
    CHECK_CONTAINS(report.data, CW "30:5: warning: rule 'c.meta_dead': can "
        "never match: all: names 'c.off', which is disabled\n");
    CHECK_CONTAINS(report.data, CW "34:5: warning: rule 'c.url': can never "
        "match the normalized text: it needs \"www.example.com\", and "
        "three or more of one letter become two");
    CHECK_CONTAINS(report.data, CW "34:5: note: rule 'c.url': looks like it "
        "matches URLs");
    CHECK(strstr(report.data, "c.fine") == NULL);
    /* The report says it all; the limit hit is not logged as well. */
    CHECK((logged = ftell(logf)) == 0);
out:
    log_set_stream(NULL);
    if (logf != NULL)
        fclose(logf);
    buf_free(&report);
    rules_free(r);
    return rc;
}

/*
 * The shipped sets are clean: nothing that can never match, nothing a
 * match limit stops. (How long a pattern takes depends on the machine
 * and the build, so "takes N ms" warnings are not held against them.)
 */
static int
test_check_shipped(void)
{
    struct rules *r = lang_load(INBOXD_RULES_DIR);
    struct buf report;
    int n, rc = 0;

    buf_init(&report, 1024 * 1024);
    CHECK(r != NULL);
    CHECK((n = rules_check(r, &report)) >= 0);
    if (strstr(report.data ? report.data : "", "never match") != NULL ||
        strstr(report.data ? report.data : "", "match limit") != NULL) {
        fprintf(stderr, "%s", report.data);
        rc = -1;
    }
out:
    buf_free(&report);
    rules_free(r);
    return rc;
}

static const struct check_case cases[] = {
    { "shipped_evasions", test_shipped_evasions },
    { "spans_on_original", test_spans_on_original },
    { "conditions", test_conditions },
    { "exceptions_and_words_match", test_exceptions_and_words_match },
    { "shadow", test_shadow },
    { "meta", test_meta },
    { "errors_new_keys", test_errors_new_keys },
    { "errors_meta", test_errors_meta },
    { "failing_example", test_failing_example },
    { "shipped_examples", test_shipped_examples },
    { "check_warnings", test_check_warnings },
    { "check_shipped", test_check_shipped },
};

CHECK_MAIN(cases)
