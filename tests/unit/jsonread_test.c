/*
 * jsonread_test: jsonread_parse against json_loadb(JSON_REJECT_DUPLICATES)
 * on item lines, on texts that probe every rule of the grammar, and on
 * many mutations of them (bytes changed, cut, doubled): both must accept
 * the same texts and give equal values (json_equal, and the same key
 * order). One known difference is allowed: see
 * jsonread_check.h.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "jsonread.h"
#include "jsonread_check.h"

/* json_equal does not look at key order; the dumps do. */
static bool
jsonread_test_same(const json_t *a, const json_t *b)
{
    char *da, *db;
    bool same;

    if (!json_equal(a, b))
        return false;
    da = json_dumps(a, JSON_COMPACT);
    db = json_dumps(b, JSON_COMPACT);
    same = da != NULL && db != NULL && strcmp(da, db) == 0;
    free(da);
    free(db);
    return same;
}

/* 0 when both readers agree on s; prints the text otherwise. */
static int
jsonread_test_one(struct jsonread *jr, const char *s, size_t len)
{
    json_error_t jerr;
    json_t *want = json_loadb(s, len, JSON_REJECT_DUPLICATES, &jerr);
    char err[128];
    json_t *got = jsonread_parse(jr, s, len, err, sizeof(err));
    int rc = 0;

    if (want != NULL && got == NULL && jsonread_check_nul_after_value(s,
        len)) {
        json_decref(want);
        return 0;
    }
    if ((want == NULL) != (got == NULL) ||
        (want != NULL && !jsonread_test_same(want, got))) {
        fprintf(stderr, "  %.*s\n    jansson: %s; jsonread: %s\n",
            (int)(len > 200 ? 200 : len), s, want ? "accepts" : jerr.text,
            got ? "accepts" : err);
        rc = -1;
    }
    json_decref(want);
    json_decref(got);
    return rc;
}

static const char *const jsonread_texts[] = {
    "{\"platform\":\"vk\",\"native_id\":\"1\",\"kind\":\"comment\","
    "\"account\":{\"id\":\"a\"},\"author\":{\"id\":\"u\",\"name\":\"Иван\"},"
    "\"text\":\"Ты дурак? \\\"да\\\" \\\\ \\/ \\b\\f\\n\\r\\t\","
    "\"created_at\":1795426800,\"lang\":\"ru\"}\n",
    "{}", "[]", " [ ] ", "{\"a\":[1,2,[3,{\"b\":null}]],\"c\":true,\"d\":false}",
    "[0,-0,1,-1,9223372036854775807,-9223372036854775808]",
    "[9223372036854775808]", "[-9223372036854775809]",
    "[1.5,-0.0,1e3,1E+3,1e-3,2.5e-400,1e400,-1e400,0.1e1]",
    "[01]", "[1.]", "[.1]", "[1e]", "[1e+]", "[-]", "[+1]", "[0x1]",
    "[\"\\u00e9\\u20ac\\ud83d\\ude00\"]", "[\"\\ud83d\"]", "[\"\\ude00\"]",
    "[\"\\ud83d\\u0041\"]", "[\"\\u0000\"]", "[\"\\u12\"]", "[\"\\x\"]",
    "[\"a\tb\"]", "[\"\xc3\xa9\"]", "[\"\xc3\"]", "[\"\xed\xa0\x80\"]",
    "[\"\xf4\x90\x80\x80\"]", "[\"\xc0\xaf\"]", "[\"\xff\"]",
    "{\"a\":1,\"a\":2}", "{\"a\":1,}", "{\"a\" 1}", "{a:1}", "[1,]",
    "[1 2]", "[true false]", "[tru]", "[nul]", "[null", "{\"a\":1",
    "\"str\"", "1", "true", "", " ", "[1] x", "[1]\n\n", "\xef\xbb\xbf[]",
    "{\"k\\u00e9y\":1,\"k\xc3\xa9y\":2}", "{\"\":0}", "[\"\"]",
    "{\"a\":{\"a\":{\"a\":{}}}}", "[\"\\\"\"]", "[1.0000000000000002]",
    "[123456789012345678901234567890.5]", "[1e-7]", "[\"\x7f\"]",
};

static int
test_texts(void)
{
    struct jsonread jr = { 0 };
    int rc = 0;

    for (size_t i = 0; i < sizeof(jsonread_texts) /
        sizeof(jsonread_texts[0]); i++) {
        if (jsonread_test_one(&jr, jsonread_texts[i],
            strlen(jsonread_texts[i])) == -1)
            rc = -1;
    }
    /* An embedded NUL, and nesting at and past jansson's limit. */
    if (jsonread_test_one(&jr, "[\"a\0b\"]", 7) == -1 ||
        jsonread_test_one(&jr, "[1]\0", 4) == -1 ||
        jsonread_test_one(&jr, "[null\0]", 7) == -1 ||
        jsonread_test_one(&jr, "[\"a\"\0]", 6) == -1)
        rc = -1;
    for (size_t depth = 2047; depth <= 2049; depth++) {
        char *s = xmalloc(2 * depth);

        CHECK(s != NULL);
        memset(s, '[', depth);
        memset(s + depth, ']', depth);
        if (jsonread_test_one(&jr, s, 2 * depth) == -1)
            rc = -1;
        xfree(s);
    }
out:
    jsonread_free(&jr);
    return rc;
}

static int
jsonread_test_cb(void *arg, const char *s, size_t len)
{
    return jsonread_test_one(arg, s, len);
}

/* Mutations of the texts: change, drop or double one byte at a time. */
static int
test_mutations(void)
{
    static const unsigned char bytes[] = {
        '"', '\\', '{', '}', '[', ']', ',', ':', ' ', '0', '-', 'e', '.',
        'u', 0x00, 0x1f, 0x7f, 0x80, 0xc3, 0xff,
    };
    struct jsonread jr = { 0 };
    size_t tried = 0;
    int rc = 0;

    for (size_t i = 0; i < sizeof(jsonread_texts) /
        sizeof(jsonread_texts[0]); i++)
        rc |= jsonread_check_mutations(jsonread_texts[i], bytes,
            sizeof(bytes), jsonread_test_cb, &jr, &tried);
    printf("  %zu mutated texts\n", tried);
    jsonread_free(&jr);
    return rc;
}

static const struct check_case cases[] = {
    { "texts", test_texts },
    { "mutations", test_mutations },
};

int
main(void)
{
    alloc_init();
    return check_run(cases, sizeof(cases) / sizeof(cases[0]));
}
