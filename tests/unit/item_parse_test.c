/*
 * item_parse_test: item_parse (the ingest body straight to an item)
 * against the path it replaced, json_loadb(JSON_REJECT_DUPLICATES) and
 * then item_from_json, on item bodies and on many mutations of them:
 * both must refuse the same texts as not JSON, refuse the same items
 * with the same message, and build items whose stored JSON is the same
 * bytes. Then what only item_parse has: where its JSON errors point, and
 * failing every allocation in turn.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "item.h"
#include "jsonread.h"
#include "jsonread_check.h"

#define T_BASE_HEAD                                                      \
    "{\"platform\":\"facebook\",\"native_id\":\"1395_1400\","            \
    "\"kind\":\"comment\",\"account\":{\"id\":\"1375\"},"                \
    "\"author\":{\"id\":\"1440\",\"name\":\"Jane\"},"

#define T_BASE T_BASE_HEAD                                               \
    "\"text\":\"When will my order arrive?\","                           \
    "\"created_at\":\"2026-11-23T09:40:00Z\"}"

#define T_FULL                                                           \
    "{\"platform\": \"facebook\", \"native_id\": \"1395_1400\",\n"       \
    " \"id\": \"facebook:1395_1400\", \"kind\": \"reply\",\n"            \
    " \"account\": {\"id\": \"1375\", \"name\": \"Acme\"},\n"            \
    " \"conversation\": \"1375_1395\", \"parent\": \"1395_1399\",\n"     \
    " \"author\": {\"id\": \"1440\", \"name\": \"Jane \\\"J\\\" Doe\","  \
    " \"username\": \"jane\"},\n"                                        \
    " \"text\": \"Tracking: WWW.example.com \\u00e9\\ud83d\\ude0d\\n\"," \
    " \"lang\": \"EN\", \"created_at\": \"2026-11-23T12:40:00.250+03:00\","\
    " \"received_at\": \"2000-01-01T00:00:00Z\","                        \
    " \"permalink\": \"https://www.facebook.com/acme/posts/1?c=2\","     \
    " \"attachments\": [{\"type\": \"image\","                           \
    " \"url\": \"https://cdn.example.com/a.jpg\"}, {\"type\": \"link\"}],"\
    " \"raw\": {\"field\": \"feed\", \"value\": {\"verb\": \"add\","     \
    " \"t\": 1795426800, \"n\": 1.5, \"e\": -2.5e-3, \"z\": -0,"         \
    " \"list\": [1, null, true, false, \"\\u00e9\\/\", {}, []]}},"       \
    " \"meta\": {\"source\": \"test\", \"retries\": 0},"                 \
    " \"classification\": {\"categories\": [\"spam\"]},"                 \
    " \"queue\": \"support\"}"

/* Bodies: valid items, invalid ones, and texts that are not JSON. */
static const char *const item_parse_texts[] = {
    T_BASE,
    T_FULL,
    /* Members in another order, white space everywhere, escaped keys. */
    " {\"created_at\" : 1795426800 , \"text\":\"hi\", \"author\" :"
    " {\"name\":null,\"id\":\"7\"},\"kind\":\"dm\",\"account\":{\"id\":"
    "\"1\",\"name\":\"\"},\"native_id\":\"n\",\"platform\":\"vk\"}\r\n\t",
    T_BASE_HEAD "\"t\\u0065xt\":\"x\",\"created_at\":0}",
    T_BASE_HEAD "\"text\":\"\",\"attachments\":[{\"type\":\"sticker\"}],"
    "\"created_at\":0}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"raw\":\"just text\","
    "\"meta\":null,\"lang\":null,\"permalink\":null,\"id\":null}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"raw\":[1,2.0,1e300,"
    "\"\\ud834\\udd1e\",-9223372036854775808]}",
    /* Not valid items. */
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"colour\":1}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"b\":1,\"a\":2}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":1.5}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":-1}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":99999999999999999}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":\"never\"}",
    T_BASE_HEAD "\"text\":7,\"created_at\":0}",
    T_BASE_HEAD "\"text\":\"\",\"created_at\":0}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"meta\":[1]}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"attachments\":{}}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"attachments\":"
    "[{\"type\":\"gif\"}]}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"attachments\":"
    "[{\"type\":\"image\",\"size\":1}]}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"lang\":\"english\"}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"permalink\":\"ftp://x\"}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"id\":\"vk:1\"}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"conversation\":\"a b\"}",
    "{\"platform\":\"x\",\"native_id\":\"1\",\"kind\":\"comment\","
    "\"account\":[1],\"author\":{\"id\":\"1\"},\"text\":\"x\","
    "\"created_at\":0}",
    "{\"platform\":\"x\",\"native_id\":\"1\",\"kind\":\"comment\","
    "\"account\":{\"id\":\"1\",\"token\":{\"a\":1}},\"author\":{\"id\":"
    "\"1\",\"email\":\"e\"},\"text\":\"x\",\"created_at\":0}",
    "{\"platform\":\"x\",\"native_id\":\"1\",\"kind\":\"comment\","
    "\"account\":{\"id\":\"1\"},\"author\":{\"id\":\"1\",\"username\":5},"
    "\"text\":\"x\",\"created_at\":0}",
    "{\"platform\":\"x\",\"native_id\":\"1\",\"kind\":\"comment\","
    "\"account\":{\"id\":\"1\",\"username\":\"u\"},\"author\":{\"id\":"
    "\"1\"},\"text\":\"x\",\"created_at\":0}",
    "{\"platform\":null,\"native_id\":true,\"kind\":false}",
    "{}", "[]", "[1,{\"a\":2}]",
    /* Duplicate keys, known and unknown, at each level. */
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"text\":\"y\"}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"lang\":null,"
    "\"lang\":null}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"zz\":1,\"zz\":2}",
    T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"raw\":{\"a\":1,\"a\":2}}",
    "{\"account\":{\"id\":\"1\",\"id\":\"2\"}}",
    "{\"author\":{\"q\":1,\"q\":1}}",
    /* Not JSON at all. */
    "", " ", "\"item\"", "42", "null", "{", "{\"platform\"",
    "{\"platform\":}", "{\"a\":1,}", "{\"a\" 1}", "{\"a\":1}x",
    "{\"a\":\"\\ud800\"}", "{\"a\":\"\\u0000\"}", "{\"a\":\"\\x\"}",
    "{\"a\":\"\x01\"}", "{\"a\":\"\xc3\"}", "{\"a\":\"\xed\xa0\x80\"}",
    "{\"a\":01}", "{\"a\":1.}", "{\"a\":1e}", "{\"a\":-}",
    "{\"a\":99999999999999999999}", "{\"a\":1e999}", "{\"a\":tru}",
    "{\"a\":nul}", "{\"a\":[1,]}", "{'a':1}", "\xef\xbb\xbf{}",
};

static bool
item_parse_test_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s >= 0x7f)
            return false;
    return true;
}

static size_t item_parse_tried, item_parse_items, item_parse_invalid;

/* 0 when both paths agree on s; prints the text otherwise. */
static int
item_parse_test_one(struct jsonread *jr, const char *s, size_t len,
    const struct item_limits *lim)
{
    json_t *obj = json_loadb(s, len, JSON_REJECT_DUPLICATES, NULL);
    struct item *want = NULL, *got;
    enum item_parse_result why;
    char want_err[256] = "", got_err[256] = "";
    char *dw = NULL, *dg = NULL;
    const char *problem = NULL;

    item_parse_tried++;
    if (obj != NULL)
        want = item_from_json(obj, lim, want_err, sizeof(want_err));
    got = item_parse(jr, s, len, lim, &why, got_err, sizeof(got_err));
    if (got == NULL && !item_parse_test_printable(got_err))
        problem = "reason not printable";
    else if (obj == NULL && why != ITEM_PARSE_BAD_JSON)
        problem = "not JSON, but not refused as such";
    else if (why == ITEM_PARSE_BAD_JSON &&
        strncmp(got_err, "line ", 5) != 0)
        problem = "a JSON error without its line";
    else if (obj != NULL && why == ITEM_PARSE_BAD_JSON &&
        !jsonread_check_nul_after_value(s, len))
        problem = "JSON, but refused as not JSON";
    else if (obj != NULL && why == ITEM_PARSE_BAD_ITEM &&
        (want != NULL || strcmp(want_err, got_err) != 0))
        problem = "refused the item differently";
    else if (why == ITEM_PARSE_OK && want == NULL)
        problem = "accepted an invalid item";
    else if (why == ITEM_PARSE_NOMEM)
        problem = "out of memory";
    else if (want != NULL && why == ITEM_PARSE_OK) {
        item_set_received_ms(got, item_received_ms(want));
        dw = item_dump(want);
        dg = item_dump(got);
        /* Both dumps refuse a raw payload nested past JSONW_MAX_DEPTH. */
        if ((dw == NULL) != (dg == NULL) ||
            (dw != NULL && strcmp(dw, dg) != 0))
            problem = "stored JSON differs";
    }
    if (why == ITEM_PARSE_OK)
        item_parse_items++;
    else if (why == ITEM_PARSE_BAD_ITEM)
        item_parse_invalid++;
    if (problem != NULL) {
        fprintf(stderr, "  %s: %.*s\n    old: %s\n    new: %s\n", problem,
            (int)(len > 300 ? 300 : len), s,
            obj == NULL ? "not JSON" : want ? (dw ? dw : "item") : want_err,
            got ? (dg ? dg : "item") : got_err);
    }
    xfree(dw);
    xfree(dg);
    item_free(want);
    item_free(got);
    json_decref(obj);
    return problem == NULL ? 0 : -1;
}

static int
test_texts(void)
{
    static const struct item_limits tight = { 16, 1 };
    struct jsonread jr = { 0 };
    int rc = 0;

    for (size_t i = 0; i < sizeof(item_parse_texts) /
        sizeof(item_parse_texts[0]); i++) {
        const char *t = item_parse_texts[i];

        rc |= item_parse_test_one(&jr, t, strlen(t), NULL);
        rc |= item_parse_test_one(&jr, t, strlen(t), &tight);
    }
    /* NULs: inside a string (refused by both), after a value. */
    rc |= item_parse_test_one(&jr, "{\"a\":\"x\0\"}", 10, NULL);
    rc |= item_parse_test_one(&jr, "{\"a\":1}\0", 8, NULL);
    rc |= item_parse_test_one(&jr, "{\"a\":1\0}", 8, NULL);
    jsonread_free(&jr);
    return rc;
}

/* A stored item is accepted again, the same. */
static int
test_stored_again(void)
{
    struct jsonread jr = { 0 };
    struct item *it = NULL;
    enum item_parse_result why;
    char err[256], *s = NULL;
    int rc = 0;

    CHECK((it = item_parse(&jr, T_FULL, strlen(T_FULL), NULL, &why, err,
        sizeof(err))) != NULL);
    CHECK(why == ITEM_PARSE_OK);
    CHECK((s = item_dump(it)) != NULL);
    CHECK(item_parse_test_one(&jr, s, strlen(s), NULL) == 0);
out:
    xfree(s);
    item_free(it);
    jsonread_free(&jr);
    return rc;
}

/* Raw payloads nested at and past jansson's depth limit. */
static int
test_depth(void)
{
    struct jsonread jr = { 0 };
    const char *head = T_BASE_HEAD "\"text\":\"x\",\"created_at\":0,\"raw\":";
    size_t hl = strlen(head);
    int rc = 0;

    for (size_t depth = 2045; depth <= 2049; depth++) {
        size_t len = hl + 2 * depth + 1;
        char *s = xmalloc(len);

        CHECK(s != NULL);
        memcpy(s, head, hl);
        memset(s + hl, '[', depth);
        memset(s + hl + depth, ']', depth);
        s[len - 1] = '}';
        rc |= item_parse_test_one(&jr, s, len, NULL);
        xfree(s);
    }
out:
    jsonread_free(&jr);
    return rc;
}

static int
item_parse_test_cb(void *arg, const char *s, size_t len)
{
    return item_parse_test_one(arg, s, len, NULL);
}

/* Change, drop or double one byte at a time, everywhere. */
static int
test_mutations(void)
{
    static const unsigned char bytes[] = {
        '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', 'e', '.',
        'u', 'n', 'x', 0x00, 0x0a, 0x1f, 0x7f, 0x80, 0xc3, 0xff,
    };
    struct jsonread jr = { 0 };
    size_t tried = 0;
    int rc = 0;

    for (size_t i = 0; i < sizeof(item_parse_texts) /
        sizeof(item_parse_texts[0]) && rc == 0; i++)
        rc |= jsonread_check_mutations(item_parse_texts[i], bytes,
            sizeof(bytes), item_parse_test_cb, &jr, &tried);
    printf("  %zu mutated texts\n", tried);
    jsonread_free(&jr);
    return rc;
}

/* Splice pieces of the bodies together at random: new shapes. */
static int
test_random(void)
{
    struct jsonread jr = { 0 };
    size_t ntexts = sizeof(item_parse_texts) / sizeof(item_parse_texts[0]);
    size_t before = item_parse_tried;
    uint32_t seed = 20261123;
    char buf[4096];
    int rc = 0;

    for (int n = 0; n < 30000 && rc == 0; n++) {
        size_t len = 0;
        int pieces = 1 + (int)(seed % 4);

        for (int k = 0; k < pieces; k++) {
            const char *t;
            size_t tl, from, cut;

            seed = seed * 1103515245u + 12345u;
            t = item_parse_texts[(seed >> 8) % ntexts];
            if ((tl = strlen(t)) == 0)
                continue;
            seed = seed * 1103515245u + 12345u;
            from = k == 0 ? 0 : (seed >> 4) % tl;
            seed = seed * 1103515245u + 12345u;
            cut = k == pieces - 1 ? tl - from : (seed >> 4) % (tl - from + 1);
            if (len + cut > sizeof(buf))
                break;
            memcpy(buf + len, t + from, cut);
            len += cut;
        }
        rc |= item_parse_test_one(&jr, buf, len, NULL);
    }
    printf("  %zu spliced texts; over all tests %zu items, %zu invalid "
        "items\n", item_parse_tried - before, item_parse_items,
        item_parse_invalid);
    jsonread_free(&jr);
    return rc;
}

/* A JSON error names its line and column (in characters) and the fault. */
static int
test_where(void)
{
    static const struct {
        const char *text;
        const char *want;
    } cases[] = {
        { "{\"platform\": ", "line 1 column 14: value expected" },
        { "{\n  \"a\": tru\n}", "line 2 column 8: invalid token" },
        { "{\"a\":\"\xd0\xb6\xd0\xb6\",\n\"b\" 1}",
            "line 2 column 5: ':' expected" },
        { "{\"\xd0\xb6\":1, \"b\":\"\xd0\"}",
            "line 1 column 14: invalid UTF-8" },
        { "{\"a\":1,\"a\":2}", "line 1 column 8: duplicate object key" },
        { "{\"text\":\"\",\n \"text\":1}",
            "line 2 column 2: duplicate object key" },
        { "{\"a\": \"\\ud80\xcf\xa8\"}", "invalid \\u escape" },
        { "[1] [2]", "line 1 column 5: end of text expected" },
        { "\"x\"", "line 1 column 1: '[' or '{' expected" },
    };
    struct jsonread jr = { 0 };
    enum item_parse_result why;
    char err[256];
    size_t i = 0;
    int rc = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(item_parse(&jr, cases[i].text, strlen(cases[i].text), NULL,
            &why, err, sizeof(err)) == NULL);
        CHECK(why == ITEM_PARSE_BAD_JSON);
        CHECK_CONTAINS(err, cases[i].want);
    }
    /* JSON errors come first, whatever is wrong with the item. */
    CHECK(item_parse(&jr, "{\"colour\":1,\"x\":}", 17, NULL, &why, err,
        sizeof(err)) == NULL);
    CHECK(why == ITEM_PARSE_BAD_JSON);
    CHECK(item_parse(&jr, "[1]", 3, NULL, &why, err, sizeof(err)) == NULL);
    CHECK(why == ITEM_PARSE_BAD_ITEM);
    CHECK_STR(err, "item: expected a JSON object");
out:
    if (rc != 0 && i < sizeof(cases) / sizeof(cases[0]))
        fprintf(stderr, "  in case %zu: %s\n", i, err);
    jsonread_free(&jr);
    return rc;
}

/* Fail every allocation in turn: an item, or out of memory, cleanly. */
static int
test_alloc_torture(void)
{
    struct jsonread jr = { 0 };
    enum item_parse_result why;
    struct item *it = NULL;
    unsigned long n, made;
    size_t failed = 0;
    char err[256];
    int rc = 0;

    for (n = 1; n < 100000; n++) {
        jsonread_free(&jr);
        alloc_fail_after(n);
        it = item_parse(&jr, T_FULL, strlen(T_FULL), NULL, &why, err,
            sizeof(err));
        made = alloc_fail_after(0);
        if (it == NULL) {
            CHECK(why == ITEM_PARSE_NOMEM);
            CHECK_CONTAINS(err, "out of memory");
            failed++;
        } else
            CHECK(why == ITEM_PARSE_OK);
        item_free(it);
        it = NULL;
        if (made < n)
            break;
    }
    CHECK(n < 100000);
    CHECK(failed > 10);
out:
    alloc_fail_after(0);
    item_free(it);
    jsonread_free(&jr);
    return rc;
}

static const struct check_case cases[] = {
    {"texts", test_texts},
    {"stored_again", test_stored_again},
    {"depth", test_depth},
    {"mutations", test_mutations},
    {"random", test_random},
    {"where", test_where},
    {"alloc_torture", test_alloc_torture},
};

CHECK_MAIN(cases)
