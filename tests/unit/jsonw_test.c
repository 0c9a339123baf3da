/*
 * jsonw against jansson: for hand-picked values and for thousands of
 * random trees, jsonw_value must give exactly the bytes of
 * json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), and fail exactly where
 * it fails (invalid UTF-8, NaN). Random trees come from a fixed seed so a
 * failure replays.
 */
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "jsonw.h"

#define DUMP_FLAGS (JSON_COMPACT | JSON_ENCODE_ANY)

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint64_t
rng(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * 2685821657736338717ULL;
}

/* 0 when jsonw and json_dumps agree on v (both fail, or same bytes). */
static int
same_as_jansson(const json_t *v)
{
    struct buf b;
    char *want = json_dumps(v, DUMP_FLAGS);
    int got, rc = 0;

    buf_init(&b, 1 << 24);
    got = jsonw_value(&b, v);
    if (want == NULL && got == -1)
        goto out;
    if (want == NULL || got == -1 || b.len != strlen(want) ||
        memcmp(b.data, want, b.len) != 0) {
        fprintf(stderr, "  jansson: %s\n  jsonw:   %s (rc %d)\n",
            want ? want : "(fails)", got == -1 ? "(fails)" : b.data, got);
        rc = -1;
    }
out:
    xfree(want);
    buf_free(&b);
    return rc;
}

static int
test_scalars(void)
{
    static const double reals[] = {
        0.0, 1.0, -1.0, 2.5, -2.5, 0.1, 0.75, 1e-5, 1.5e-5, 123456.5,
        999999.9990234375, 1e6, 1e16, 1e17, 1e21, 1e300, -1e-300, 5e-324,
        DBL_MAX, DBL_MIN, 3.14159265358979, 1.0 / 3.0, 0.0009765625, 1e-4,
        100.0, 12345678901234567890.0, 0.30000000000000004,
        123456789.0009765625, 99999.0009765625, 999999.0009765625,
    };
    static const json_int_t ints[] = {
        0, 1, -1, 9, 10, -10, 1234567890, INT64_MAX, INT64_MIN,
        INT64_MIN + 1, 4294967296LL,
    };
    json_t *v = NULL;
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(reals) / sizeof(reals[0]); i++) {
        v = json_real(reals[i]);
        CHECK(same_as_jansson(v) == 0);
        json_decref(v);
        v = json_real(-reals[i]);
        CHECK(same_as_jansson(v) == 0);
        json_decref(v);
    }
    for (i = 0; i < sizeof(ints) / sizeof(ints[0]); i++) {
        v = json_integer(ints[i]);
        CHECK(same_as_jansson(v) == 0);
        json_decref(v);
    }
    v = json_null();
    CHECK(same_as_jansson(v) == 0);
    v = json_true();
    CHECK(same_as_jansson(v) == 0);
    v = json_false();
    CHECK(same_as_jansson(v) == 0);
    v = NULL;
out:
    json_decref(v);
    return rc;
}

static int
test_strings(void)
{
    static const struct {
        const char *s;
        size_t len;
    } cases[] = {
#define S(x) { x, sizeof(x) - 1 }
        S(""), S("plain"), S("quote \" and \\ backslash"), S("slash /"),
        S("\b\f\n\r\t"), S("\x01\x1f\x7f"), S("nul \0 inside"),
        S("Привет, мир"), S("zero\xe2\x80\x8bwidth"), S("emoji \xf0\x9f\x98\x80"),
        S("\xef\xbf\xbf"), S("\xf4\x8f\xbf\xbf"),
        /* invalid: both must refuse */
        S("\x80"), S("\xc0\xaf"), S("\xc1\xbf"), S("\xe0\x80\xaf"),
        S("\xed\xa0\x80"), S("\xf4\x90\x80\x80"), S("\xf5\x80\x80\x80"),
        S("cut \xe2\x82"), S("\xff"), S("\xf0\x8f\xbf\xbf"),
#undef S
    };
    json_t *v = NULL;
    size_t i;
    int rc = 0;

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        v = json_stringn_nocheck(cases[i].s, cases[i].len);
        CHECK(v != NULL);
        if (same_as_jansson(v) != 0) {
            fprintf(stderr, "  case %zu\n", i);
            CHECK(0);
        }
        json_decref(v);
        v = NULL;
    }
out:
    json_decref(v);
    return rc;
}

/* A random string: mostly text, sometimes escapes, UTF-8, or garbage. */
static json_t *
random_string(void)
{
    static const char *const parts[] = {
        "a", "hello", " ", "\"", "\\", "/", "\n", "\t", "\x01", "\x1f",
        "\x7f", "é", "Ж", "ѕраm", "€", "😀", "\xe2\x80\x8b", "ok!",
        "\xc3", "\x80", "\xed\xa0\x80",
    };
    char s[128];
    size_t len = 0, n = rng() % 12, i;
    /* One string in eight may carry invalid bytes. */
    size_t nparts = rng() % 8 == 0 ? 21 : 18;

    for (i = 0; i < n; i++) {
        const char *p = parts[rng() % nparts];
        size_t pl = strlen(p);

        if (len + pl >= sizeof(s))
            break;
        memcpy(s + len, p, pl);
        len += pl;
    }
    return json_stringn_nocheck(s, len);
}

static json_t *
random_value(int depth)
{
    unsigned k = (unsigned)(rng() % (depth > 4 ? 6 : 8));
    json_t *v;
    size_t i, n;

    switch (k) {
    case 0: return json_null();
    case 1: return rng() % 2 ? json_true() : json_false();
    case 2: return json_integer((json_int_t)(rng() >> (rng() % 64)) *
        (rng() % 2 ? 1 : -1));
    case 3: {
        double d;
        uint64_t bits = rng();

        switch (rng() % 3) {
        case 0:     /* a score-like value */
            d = (double)(int64_t)(rng() % 20000 - 10000) / 8.0;
            break;
        case 1:     /* any finite double */
            memcpy(&d, &bits, sizeof(d));
            if (!isfinite(d))
                d = 0.5;
            break;
        default:
            d = (double)(rng() % 1000000) / 1000.0;
            break;
        }
        return json_real(d);
    }
    case 4:
    case 5: return random_string();
    case 6:
        v = json_array();
        n = rng() % 5;
        for (i = 0; i < n; i++)
            json_array_append_new(v, random_value(depth + 1));
        return v;
    default:
        v = json_object();
        n = rng() % 6;
        for (i = 0; i < n; i++) {
            char key[16];

            snprintf(key, sizeof(key), "k%u%s", (unsigned)(rng() % 50),
                rng() % 10 == 0 ? "\"\n" : "");
            json_object_set_new(v, key, random_value(depth + 1));
        }
        return v;
    }
}

static int
test_random_trees(void)
{
    json_t *v = NULL;
    int i, rc = 0;

    for (i = 0; i < 20000; i++) {
        v = random_value(0);
        CHECK(v != NULL);
        if (same_as_jansson(v) != 0) {
            fprintf(stderr, "  tree %d\n", i);
            CHECK(0);
        }
        json_decref(v);
        v = NULL;
    }
out:
    json_decref(v);
    return rc;
}

/* A cycle, or a tree past the depth cap, fails instead of recursing on. */
static int
test_depth(void)
{
    json_t *root = json_array(), *cur = root, *next;
    struct buf b;
    int i, rc = 0;

    buf_init(&b, 1 << 20);
    for (i = 0; i < JSONW_MAX_DEPTH + 10; i++) {
        next = json_array();
        json_array_append_new(cur, next);
        cur = next;
    }
    CHECK(jsonw_value(&b, root) == -1);
    buf_reset(&b);
    next = json_object();
    json_object_set_new(next, "self", json_array());
    json_array_append(json_object_get(next, "self"), next);   /* a cycle */
    CHECK(jsonw_value(&b, next) == -1);
    json_array_clear(json_object_get(next, "self"));
    json_decref(next);
out:
    buf_free(&b);
    json_decref(root);
    return rc;
}

/* A buf that refuses part way: -1, and failed is set. */
static int
test_ceiling(void)
{
    json_t *v = json_pack("{s:s,s:[i,i,i]}", "text", "a fairly long string",
        "n", 1, 2, 3);
    struct buf b;
    int rc = 0;

    buf_init(&b, 10);
    CHECK(jsonw_value(&b, v) == -1);
    CHECK(b.failed);
out:
    buf_free(&b);
    json_decref(v);
    return rc;
}

/* Hand-built objects with jsonw_key agree with jansson too. */
static int
test_keys(void)
{
    json_t *v = json_pack("{s:s,s:I,s:f,s:n}", "id", "facebook:1",
        "n", (json_int_t)42, "score", 2.5, "none");
    char *want = json_dumps(v, DUMP_FLAGS);
    struct buf b;
    int rc = 0;

    buf_init(&b, 1024);
    CHECK(buf_append(&b, "{", 1) == 0);
    CHECK(jsonw_key(&b, "id", 1) == 0 && jsonw_str(&b, "facebook:1") == 0);
    CHECK(jsonw_key(&b, "n", 0) == 0 && jsonw_int(&b, 42) == 0);
    CHECK(jsonw_key(&b, "score", 0) == 0 && jsonw_real(&b, 2.5) == 0);
    CHECK(jsonw_key(&b, "none", 0) == 0 && jsonw_str(&b, NULL) == 0);
    CHECK(buf_append(&b, "}", 1) == 0);
    CHECK_STR(b.data, want);
out:
    xfree(want);
    buf_free(&b);
    json_decref(v);
    return rc;
}

int
main(void)
{
    static const struct check_case cases[] = {
        { "scalars", test_scalars },
        { "strings", test_strings },
        { "random trees", test_random_trees },
        { "depth and cycles", test_depth },
        { "buffer ceiling", test_ceiling },
        { "hand-built objects", test_keys },
    };

    alloc_init();
    return check_run(cases, sizeof(cases) / sizeof(cases[0]));
}
