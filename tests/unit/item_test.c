/*
 * item_test: the wire model (valid and invalid items and their error
 * messages), round trips through JSON, ownership of raw/meta, setters,
 * link detection, and an allocation-failure torture run.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "item.h"
#include "util.h"

/* 2026-11-23T09:40:00Z */
#define ITEM_TEST_T0 1795426800000LL

#define ITEM_TEST_BASE                                                   \
    "{\"platform\": \"facebook\","                                       \
    " \"native_id\": \"139560936755999_140077616693321\","               \
    " \"kind\": \"comment\","                                            \
    " \"account\": {\"id\": \"137542570280222\"},"                       \
    " \"author\": {\"id\": \"1440971912666228\"},"                       \
    " \"text\": \"When will my order arrive?\","                         \
    " \"created_at\": \"2026-11-23T09:40:00Z\"}"

#define ITEM_TEST_ID "facebook:139560936755999_140077616693321"

#define ITEM_TEST_FULL                                                   \
    "{\"platform\": \"facebook\","                                       \
    " \"native_id\": \"139560936755999_140077616693321\","               \
    " \"id\": \"facebook:139560936755999_140077616693321\","             \
    " \"kind\": \"reply\","                                              \
    " \"account\": {\"id\": \"137542570280222\", \"name\": \"Acme\"},"   \
    " \"conversation\": \"137542570280222_139560936744456\","            \
    " \"parent\": \"139560936755999_140077616690000\","                  \
    " \"author\": {\"id\": \"1440971912666228\", \"name\": \"Jane Doe\","\
    " \"username\": \"jane\"},"                                          \
    " \"text\": \"When will my order arrive? Tracking: WWW.example.com\","\
    " \"lang\": \"EN\","                                                 \
    " \"created_at\": \"2026-11-23T12:40:00.250+03:00\","                \
    " \"received_at\": \"2000-01-01T00:00:00Z\","                        \
    " \"permalink\": \"https://www.facebook.com/acme/posts/1?c=2\","     \
    " \"attachments\": [{\"type\": \"image\","                           \
    " \"url\": \"https://cdn.example.com/a.jpg\"}, {\"type\": \"sticker\"}],"\
    " \"raw\": {\"field\": \"feed\", \"value\": {\"verb\": \"add\","     \
    " \"created_time\": 1795426800, \"n\": 1.5,"                         \
    " \"list\": [1, null, true, \"\\u00e9\"]}},"                         \
    " \"meta\": {\"source\": \"test\", \"retries\": 0}}"

/* Parse a JSON literal that must be valid. */
static json_t *
item_test_load(const char *text)
{
    json_error_t jerr;
    json_t *j = json_loads(text, 0, &jerr);

    if (j == NULL)
        fprintf(stderr, "  bad test JSON: %s: %s\n", jerr.text, text);
    return j;
}

/* The base item with patch merged over it and del removed. */
static json_t *
item_test_obj(const char *patch, const char *del)
{
    json_t *obj = item_test_load(ITEM_TEST_BASE), *p;

    if (obj == NULL)
        return NULL;
    if (patch != NULL) {
        if ((p = item_test_load(patch)) == NULL ||
            json_object_update(obj, p) == -1) {
            json_decref(p);
            json_decref(obj);
            return NULL;
        }
        json_decref(p);
    }
    if (del != NULL)
        json_object_del(obj, del);
    return obj;
}

/* ---------------------------------------------------------------------
 * Valid items
 * ------------------------------------------------------------------ */

static const struct {
    const char *name;
    const char *patch;
    const char *text;           /* expected text; NULL: the base text */
    int64_t created_ms;
    const char *created_at;     /* as emitted */
    const char *lang;
    int kind;
} item_valid[] = {
    {"minimal", NULL, NULL, ITEM_TEST_T0, "2026-11-23T09:40:00.000Z",
        NULL, ITEM_KIND_COMMENT},
    {"unix seconds", "{\"created_at\": 1795426800}", NULL, ITEM_TEST_T0,
        "2026-11-23T09:40:00.000Z", NULL, ITEM_KIND_COMMENT},
    {"offset zone", "{\"created_at\": \"2026-11-23T12:40:00+03:00\"}", NULL,
        ITEM_TEST_T0, "2026-11-23T09:40:00.000Z", NULL, ITEM_KIND_COMMENT},
    {"negative offset",
        "{\"created_at\": \"2026-11-23T04:10:00.5-05:30\"}", NULL,
        ITEM_TEST_T0 + 500, "2026-11-23T09:40:00.500Z", NULL,
        ITEM_KIND_COMMENT},
    {"cyrillic",
        "{\"text\": \"Когда будет доставка? Жду уже неделю.\","
        " \"lang\": \"RU\", \"kind\": \"dm\"}",
        "Когда будет доставка? Жду уже неделю.", ITEM_TEST_T0,
        "2026-11-23T09:40:00.000Z", "ru", ITEM_KIND_DM},
    {"emoji", "{\"text\": \"Love it \\ud83d\\ude0d\\ud83d\\udd25 \xf0\x9f\x91"
        "\x8d\xf0\x9f\x8f\xbd\", \"kind\": \"mention\", \"lang\": \"en\"}",
        "Love it \xf0\x9f\x98\x8d\xf0\x9f\x94\xa5 \xf0\x9f\x91\x8d\xf0\x9f"
        "\x8f\xbd", ITEM_TEST_T0, "2026-11-23T09:40:00.000Z", "en",
        ITEM_KIND_MENTION},
    {"empty text with attachment",
        "{\"text\": \"\", \"attachments\": [{\"type\": \"sticker\"}]}", "",
        ITEM_TEST_T0, "2026-11-23T09:40:00.000Z", NULL, ITEM_KIND_COMMENT},
    {"nulls are absent",
        "{\"lang\": null, \"conversation\": null, \"raw\": null,"
        " \"meta\": null, \"permalink\": null, \"id\": null}", NULL,
        ITEM_TEST_T0, "2026-11-23T09:40:00.000Z", NULL, ITEM_KIND_COMMENT},
    {"matching id and output keys",
        "{\"id\": \"" ITEM_TEST_ID "\", \"kind\": \"reply\","
        " \"queue\": \"ignored\", \"classification\": {\"x\": 1},"
        " \"received_at\": \"nonsense\"}", NULL, ITEM_TEST_T0,
        "2026-11-23T09:40:00.000Z", NULL, ITEM_KIND_REPLY},
    {"three-letter lang and epoch", "{\"lang\": \"fil\", \"created_at\": 0}",
        NULL, 0, "1970-01-01T00:00:00.000Z", "fil", ITEM_KIND_COMMENT},
};

static int
test_valid(void)
{
    int rc = 0;
    size_t i = 0;
    json_t *obj = NULL, *out = NULL;
    struct item *it = NULL;
    char err[256];
    int64_t before, after;

    for (i = 0; i < sizeof(item_valid) / sizeof(item_valid[0]); i++) {
        const char *want_text = item_valid[i].text ? item_valid[i].text :
            "When will my order arrive?";

        CHECK((obj = item_test_obj(item_valid[i].patch, NULL)) != NULL);
        err[0] = '\0';
        before = util_now_ms();
        it = item_from_json(obj, NULL, err, sizeof(err));
        after = util_now_ms();
        if (it == NULL)
            fprintf(stderr, "  %s: %s\n", item_valid[i].name, err);
        CHECK(it != NULL);
        CHECK_STR(item_id(it), ITEM_TEST_ID);
        CHECK_STR(item_platform(it), "facebook");
        CHECK_STR(item_native_id(it), "139560936755999_140077616693321");
        CHECK_STR(item_account(it), "137542570280222");
        CHECK_STR(item_author_id(it), "1440971912666228");
        CHECK_STR(item_text(it), want_text);
        CHECK(item_text_len(it) == strlen(want_text));
        CHECK(item_created_ms(it) == item_valid[i].created_ms);
        CHECK(item_received_ms(it) >= before && item_received_ms(it) <= after);
        CHECK((int)item_kind(it) == item_valid[i].kind);
        if (item_valid[i].lang == NULL)
            CHECK(item_lang(it) == NULL);
        else
            CHECK_STR(item_lang(it), item_valid[i].lang);
        CHECK(item_conversation(it) == NULL);
        CHECK(item_author_name(it) == NULL);
        /* Output-only keys given on input are ignored. */
        CHECK(item_queue(it) == NULL);
        CHECK(item_cls(it) == NULL);

        CHECK((out = item_to_json(it)) != NULL);
        CHECK_STR(json_string_value(json_object_get(out, "created_at")),
            item_valid[i].created_at);
        CHECK_STR(json_string_value(json_object_get(out, "text")), want_text);
        CHECK_STR(json_string_value(json_object_get(out, "id")), ITEM_TEST_ID);
        CHECK(json_object_get(out, "queue") == NULL);
        CHECK(json_object_get(out, "classification") == NULL);
        json_decref(out);
        out = NULL;
        json_decref(obj);
        obj = NULL;
        item_free(it);
        it = NULL;
    }
out:
    if (rc != 0 && i < sizeof(item_valid) / sizeof(item_valid[0]))
        fprintf(stderr, "  in case \"%s\"\n", item_valid[i].name);
    json_decref(out);
    json_decref(obj);
    item_free(it);
    return rc;
}

/* ---------------------------------------------------------------------
 * Invalid items
 * ------------------------------------------------------------------ */

static const struct {
    const char *patch;
    const char *del;
    const char *want;
    size_t max_text;
    size_t max_attachments;
} item_invalid[] = {
    {"{\"colour\": \"red\"}", NULL, "colour: unknown field", 0, 0},
    {"{\"\\u0001bad\\nkey\": 1}", NULL, "?bad?key: unknown field", 0, 0},
    {NULL, "platform", "platform: missing", 0, 0},
    {"{\"platform\": null}", NULL, "platform: missing", 0, 0},
    {"{\"platform\": 7}", NULL, "platform: expected a string", 0, 0},
    {"{\"platform\": \"Face Book\"}", NULL,
        "platform: must match [a-z0-9_-]{1,32}", 0, 0},
    {"{\"platform\": \"\"}", NULL, "platform: must match [a-z0-9_-]{1,32}",
        0, 0},
    {"{\"platform\": \"abcdefghijklmnopqrstuvwxyz0123456\"}", NULL,
        "platform: must match [a-z0-9_-]{1,32}", 0, 0},
    {NULL, "native_id", "native_id: missing", 0, 0},
    {"{\"native_id\": \"\"}", NULL, "native_id: must be 1..256", 0, 0},
    {"{\"native_id\": \"has space\"}", NULL, "native_id: must be 1..256",
        0, 0},
    {"{\"native_id\": \"tab\\there\"}", NULL, "native_id: must be 1..256",
        0, 0},
    {"{\"native_id\": \"caf\\u00e9\"}", NULL, "native_id: must be 1..256",
        0, 0},
    {"{\"native_id\": 140077616693321}", NULL,
        "native_id: expected a string", 0, 0},
    {"{\"id\": \"facebook:other\"}", NULL,
        "id: must equal platform:native_id (" ITEM_TEST_ID ")", 0, 0},
    {"{\"id\": \"instagram:139560936755999_140077616693321\"}", NULL,
        "id: must equal platform:native_id", 0, 0},
    {NULL, "kind", "kind: missing", 0, 0},
    {"{\"kind\": \"post\"}", NULL,
        "kind: must be one of comment, reply, dm, mention", 0, 0},
    {"{\"kind\": \"Comment\"}", NULL,
        "kind: must be one of comment, reply, dm, mention", 0, 0},
    {NULL, "account", "account: missing", 0, 0},
    {"{\"account\": \"137542570280222\"}", NULL,
        "account: expected an object", 0, 0},
    {"{\"account\": {}}", NULL, "account.id: missing", 0, 0},
    {"{\"account\": {\"id\": \"1\", \"token\": \"x\"}}", NULL,
        "account.token: unknown field", 0, 0},
    {"{\"account\": {\"id\": \"a b\"}}", NULL, "account.id: must be 1..256",
        0, 0},
    {"{\"account\": {\"id\": \"1\", \"name\": 5}}", NULL,
        "account.name: expected a string", 0, 0},
    {NULL, "author", "author: missing", 0, 0},
    {"{\"author\": {\"name\": \"Jane\"}}", NULL, "author.id: missing", 0, 0},
    {"{\"author\": {\"id\": 1440971912666228}}", NULL,
        "author.id: expected a string", 0, 0},
    {"{\"author\": {\"id\": \"1\", \"name\": 123}}", NULL,
        "author.name: expected a string", 0, 0},
    {"{\"author\": {\"id\": \"1\", \"email\": \"a@b\"}}", NULL,
        "author.email: unknown field", 0, 0},
    {"{\"conversation\": \"\"}", NULL, "conversation: must be 1..256", 0, 0},
    {"{\"parent\": 12}", NULL, "parent: expected a string", 0, 0},
    {NULL, "text", "text: missing", 0, 0},
    {"{\"text\": 42}", NULL, "text: expected a string", 0, 0},
    {"{\"text\": \"\"}", NULL, "text: empty and no attachments", 0, 0},
    {"{\"text\": \"\", \"attachments\": []}", NULL,
        "text: empty and no attachments", 0, 0},
    {"{\"text\": \"seventeen bytes!!\"}", NULL, "text: longer than 16 bytes",
        16, 0},
    {"{\"lang\": \"english\"}", NULL, "lang: must be an ISO 639 code", 0, 0},
    {"{\"lang\": \"e\"}", NULL, "lang: must be an ISO 639 code", 0, 0},
    {"{\"lang\": \"en-US\"}", NULL, "lang: must be an ISO 639 code", 0, 0},
    {NULL, "created_at", "created_at: missing", 0, 0},
    {"{\"created_at\": \"yesterday\"}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"created_at\": \"2026-02-30T10:00:00Z\"}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"created_at\": 1795426800.5}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"created_at\": -5}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"created_at\": 1795426800000000}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"created_at\": \"1795426800\"}", NULL,
        "created_at: not an RFC 3339 time or unix seconds", 0, 0},
    {"{\"permalink\": \"ftp://example.com/x\"}", NULL,
        "permalink: must be an http or https URL", 0, 0},
    {"{\"permalink\": \"javascript:alert(1)\"}", NULL,
        "permalink: must be an http or https URL", 0, 0},
    {"{\"permalink\": \"https://\"}", NULL,
        "permalink: must be an http or https URL", 0, 0},
    {"{\"permalink\": \"https://example.com/a b\"}", NULL,
        "permalink: must not contain spaces", 0, 0},
    {"{\"attachments\": {\"type\": \"image\"}}", NULL,
        "attachments: expected an array", 0, 0},
    {"{\"attachments\": [\"image\"]}", NULL,
        "attachments[0]: expected an object", 0, 0},
    {"{\"attachments\": [{\"url\": \"https://x.example\"}]}", NULL,
        "attachments[0].type: missing", 0, 0},
    {"{\"attachments\": [{\"type\": \"image\"}, {\"type\": \"link\"},"
        " {\"type\": \"gif\"}]}", NULL,
        "attachments[2].type: unknown type 'gif'", 0, 0},
    {"{\"attachments\": [{\"type\": \"image\", \"url\": \"ftp://x\"}]}",
        NULL, "attachments[0].url: must be an http or https URL", 0, 0},
    {"{\"attachments\": [{\"type\": \"image\", \"size\": 5}]}", NULL,
        "attachments[0].size: unknown field", 0, 0},
    {"{\"attachments\": [{\"type\": \"image\"}, {\"type\": \"image\"},"
        " {\"type\": \"image\"}]}", NULL, "attachments: more than 2 entries",
        0, 2},
    {"{\"meta\": [1, 2]}", NULL, "meta: expected an object", 0, 0},
};

static int
test_invalid(void)
{
    int rc = 0;
    size_t i = 0;
    json_t *obj = NULL;
    struct item *it = NULL;
    char err[256];

    for (i = 0; i < sizeof(item_invalid) / sizeof(item_invalid[0]); i++) {
        struct item_limits lim = {
            .max_text = item_invalid[i].max_text,
            .max_attachments = item_invalid[i].max_attachments,
        };

        CHECK((obj = item_test_obj(item_invalid[i].patch,
            item_invalid[i].del)) != NULL);
        err[0] = '\0';
        it = item_from_json(obj, &lim, err, sizeof(err));
        CHECK(it == NULL);
        CHECK_CONTAINS(err, item_invalid[i].want);
        /* One line, printable ASCII: safe to log and to echo back. */
        for (const char *p = err; *p != '\0'; p++)
            CHECK(*p >= 0x20 && *p < 0x7f);
        json_decref(obj);
        obj = NULL;
    }
out:
    if (rc != 0 && i < sizeof(item_invalid) / sizeof(item_invalid[0]))
        fprintf(stderr, "  in case %zu (%s)\n", i, item_invalid[i].want);
    json_decref(obj);
    item_free(it);
    return rc;
}

static int
test_not_object(void)
{
    int rc = 0;
    json_t *arr = NULL;
    char err[128];

    CHECK((arr = json_array()) != NULL);
    CHECK(item_from_json(arr, NULL, err, sizeof(err)) == NULL);
    CHECK_STR(err, "item: expected a JSON object");
    err[0] = '\0';
    CHECK(item_from_json(NULL, NULL, err, sizeof(err)) == NULL);
    CHECK_STR(err, "item: expected a JSON object");
    /* No error buffer at all is allowed. */
    CHECK(item_from_json(arr, NULL, NULL, 0) == NULL);
out:
    json_decref(arr);
    return rc;
}

/* The default text limit is 65536 bytes, counted in bytes not chars. */
static int
test_text_limit(void)
{
    int rc = 0;
    json_t *obj = NULL;
    struct item *it = NULL;
    char *text = NULL, err[128];

    CHECK((text = xmalloc(65537)) != NULL);
    memset(text, 'a', 65537);
    CHECK((obj = item_test_obj(NULL, NULL)) != NULL);
    CHECK(json_object_set_new(obj, "text", json_stringn(text, 65536)) == 0);
    CHECK((it = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    CHECK(item_text_len(it) == 65536);
    item_free(it);
    it = NULL;
    CHECK(json_object_set_new(obj, "text", json_stringn(text, 65537)) == 0);
    CHECK(item_from_json(obj, NULL, err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: longer than 65536 bytes");
    /* 6 Cyrillic letters are 12 bytes. */
    CHECK(json_object_set_new(obj, "text", json_string("привет")) == 0);
    CHECK(item_from_json(obj, &(struct item_limits){ .max_text = 11 }, err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "text: longer than 11 bytes");
    CHECK((it = item_from_json(obj, &(struct item_limits){ .max_text = 12 },
        err, sizeof(err))) != NULL);
    /* A NUL inside the text is refused (jansson can hold one). */
    CHECK(json_object_set_new(obj, "text", json_stringn("a\0b", 3)) == 0);
    CHECK(item_from_json(obj, NULL, err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: contains a NUL character");
out:
    xfree(text);
    json_decref(obj);
    item_free(it);
    return rc;
}

/* ---------------------------------------------------------------------
 * Full items, round trips, ownership
 * ------------------------------------------------------------------ */

static int
test_full(void)
{
    int rc = 0;
    json_t *obj = NULL, *out = NULL, *v;
    struct item *it = NULL;
    char err[256];

    CHECK((obj = item_test_load(ITEM_TEST_FULL)) != NULL);
    it = item_from_json(obj, NULL, err, sizeof(err));
    if (it == NULL)
        fprintf(stderr, "  %s\n", err);
    CHECK(it != NULL);
    CHECK_STR(item_id(it), ITEM_TEST_ID);
    CHECK(item_kind(it) == ITEM_KIND_REPLY);
    CHECK_STR(item_conversation(it), "137542570280222_139560936744456");
    CHECK_STR(item_author_name(it), "Jane Doe");
    CHECK_STR(item_lang(it), "en");
    CHECK(item_created_ms(it) == ITEM_TEST_T0 + 250);
    /* received_at on input is ignored: inboxd sets it. */
    CHECK(item_received_ms(it) > ITEM_TEST_T0 - 365LL * 86400000 * 2);
    CHECK(item_has_link(it));

    CHECK((out = item_to_json(it)) != NULL);
    CHECK_STR(json_string_value(json_object_get(out, "kind")), "reply");
    CHECK_STR(json_string_value(json_object_get(out, "lang")), "en");
    CHECK_STR(json_string_value(json_object_get(out, "created_at")),
        "2026-11-23T09:40:00.250Z");
    CHECK(json_object_get(out, "received_at") != NULL);
    CHECK(strcmp(json_string_value(json_object_get(out, "received_at")),
        "2000-01-01T00:00:00.000Z") != 0);
    CHECK_STR(json_string_value(json_object_get(out, "parent")),
        "139560936755999_140077616690000");
    CHECK_STR(json_string_value(json_object_get(out, "permalink")),
        "https://www.facebook.com/acme/posts/1?c=2");
    v = json_object_get(out, "account");
    CHECK(json_equal(v, json_object_get(obj, "account")));
    v = json_object_get(out, "author");
    CHECK(json_equal(v, json_object_get(obj, "author")));
    CHECK(json_equal(json_object_get(out, "attachments"),
        json_object_get(obj, "attachments")));
    CHECK(json_array_size(json_object_get(out, "attachments")) == 2);
    CHECK(json_equal(json_object_get(out, "raw"),
        json_object_get(obj, "raw")));
    CHECK(json_equal(json_object_get(out, "meta"),
        json_object_get(obj, "meta")));
    /* The output is a copy, not the caller's objects. */
    CHECK(json_object_get(out, "raw") != json_object_get(obj, "raw"));
    CHECK(json_object_get(out, "classification") == NULL);
    CHECK(json_object_get(out, "queue") == NULL);
out:
    json_decref(out);
    json_decref(obj);
    item_free(it);
    return rc;
}

static int
test_round_trip(void)
{
    int rc = 0;
    json_t *obj = NULL, *out1 = NULL, *out2 = NULL, *cls = NULL;
    struct item *a = NULL, *b = NULL;
    char err[256];

    CHECK((obj = item_test_load(ITEM_TEST_FULL)) != NULL);
    CHECK((a = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    CHECK((cls = item_test_load("{\"lang\": \"en\", \"categories\": []}"))
        != NULL);
    item_set_classification(a, cls);
    cls = NULL;
    CHECK(item_set_queue(a, "support") == 0);
    CHECK((out1 = item_to_json(a)) != NULL);
    /* The stored form parses again; output-only keys are dropped. */
    b = item_from_json(out1, NULL, err, sizeof(err));
    if (b == NULL)
        fprintf(stderr, "  %s\n", err);
    CHECK(b != NULL);
    CHECK_STR(item_id(b), item_id(a));
    CHECK_STR(item_platform(b), item_platform(a));
    CHECK_STR(item_native_id(b), item_native_id(a));
    CHECK_STR(item_account(b), item_account(a));
    CHECK(item_kind(b) == item_kind(a));
    CHECK_STR(item_conversation(b), item_conversation(a));
    CHECK_STR(item_author_id(b), item_author_id(a));
    CHECK_STR(item_author_name(b), item_author_name(a));
    CHECK_STR(item_text(b), item_text(a));
    CHECK(item_text_len(b) == item_text_len(a));
    CHECK_STR(item_lang(b), item_lang(a));
    CHECK(item_created_ms(b) == item_created_ms(a));
    CHECK(item_has_link(b) == item_has_link(a));
    CHECK(item_queue(b) == NULL);
    CHECK(item_cls(b) == NULL);

    /* Whole documents agree once inboxd's own fields are set alike. */
    item_set_received_ms(a, ITEM_TEST_T0 + 1000);
    item_set_received_ms(b, ITEM_TEST_T0 + 1000);
    CHECK(item_set_queue(a, NULL) == 0);
    item_set_classification(a, NULL);
    json_decref(out1);
    CHECK((out1 = item_to_json(a)) != NULL);
    CHECK((out2 = item_to_json(b)) != NULL);
    CHECK(json_equal(out1, out2));
    CHECK(json_equal(json_object_get(out2, "raw"),
        json_object_get(obj, "raw")));
out:
    json_decref(cls);
    json_decref(out1);
    json_decref(out2);
    json_decref(obj);
    item_free(a);
    item_free(b);
    return rc;
}

/* The item keeps its own copy of raw and meta. */
static int
test_raw_owned(void)
{
    int rc = 0;
    json_t *obj = NULL, *want = NULL, *out = NULL;
    struct item *it = NULL;
    char err[256];

    CHECK((obj = item_test_load(ITEM_TEST_FULL)) != NULL);
    CHECK((want = json_deep_copy(json_object_get(obj, "raw"))) != NULL);
    CHECK((it = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    CHECK(json_object_set_new(json_object_get(obj, "raw"), "field",
        json_string("changed")) == 0);
    CHECK(json_object_set_new(json_object_get(obj, "meta"), "source",
        json_string("changed")) == 0);
    json_decref(obj);
    obj = NULL;
    CHECK((out = item_to_json(it)) != NULL);
    CHECK(json_equal(json_object_get(out, "raw"), want));
    CHECK_STR(json_string_value(json_object_get(json_object_get(out, "meta"),
        "source")), "test");

    /* item_set_raw takes the reference and replaces the old raw. */
    item_set_raw(it, json_pack("{s:i}", "update_id", 10000));
    json_decref(out);
    CHECK((out = item_to_json(it)) != NULL);
    CHECK(json_integer_value(json_object_get(json_object_get(out, "raw"),
        "update_id")) == 10000);
    item_set_raw(it, NULL);
    json_decref(out);
    CHECK((out = item_to_json(it)) != NULL);
    CHECK(json_object_get(out, "raw") == NULL);
out:
    json_decref(out);
    json_decref(want);
    json_decref(obj);
    item_free(it);
    return rc;
}

static int
test_classification_queue(void)
{
    int rc = 0;
    const struct item_cls *c;
    json_t *obj = NULL, *cls = NULL, *out = NULL;
    struct item *it = NULL;
    char err[256];

    CHECK((obj = item_test_obj(NULL, NULL)) != NULL);
    CHECK((it = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    CHECK((cls = item_test_load("{\"lang\": \"en\", \"categories\": "
        "[\"question\"], \"scores\": {\"question\": 3.0}, \"hits\": "
        "[{\"rule\": \"q.when\", \"category\": \"question\", \"score\": 3.0,"
        " \"start\": 0, \"end\": 4, \"match\": \"When\"}]}")) != NULL);
    CHECK(item_set_classification(it, json_incref(cls)) == 0);
    /* What the routes and the pipeline read of it. */
    CHECK((c = item_cls(it)) != NULL);
    CHECK_STR(c->lang, "en");
    CHECK(c->nscores == 1 && c->scores[0].decided &&
        c->scores[0].score == 3.0);
    CHECK_STR(c->scores[0].category, "question");
    CHECK(c->nhits == 1);
    CHECK_STR(c->hits[0].rule, "q.when");
    CHECK_STR(c->hits[0].category, "question");
    CHECK(item_set_queue(it, "support") == 0);
    CHECK_STR(item_queue(it), "support");
    CHECK(item_set_queue(it, "has space") == -1);
    CHECK(item_set_queue(it, "") == -1);
    CHECK_STR(item_queue(it), "support");

    CHECK((out = item_to_json(it)) != NULL);
    CHECK(json_equal(json_object_get(out, "classification"), cls));
    CHECK_STR(json_string_value(json_object_get(out, "queue")), "support");
    json_decref(out);

    /* Replacing drops the old reference (ASan would see a leak). */
    item_set_classification(it, json_object());
    CHECK(item_set_queue(it, NULL) == 0);
    CHECK(item_queue(it) == NULL);
    CHECK((out = item_to_json(it)) != NULL);
    CHECK(json_object_size(json_object_get(out, "classification")) == 0);
    CHECK(json_object_get(out, "queue") == NULL);
out:
    json_decref(out);
    json_decref(cls);
    json_decref(obj);
    item_free(it);
    return rc;
}

/* ---------------------------------------------------------------------
 * Links, item_new, setters, kinds, dump
 * ------------------------------------------------------------------ */

static int
test_has_link(void)
{
    static const struct {
        const char *text;
        bool link;
    } cases[] = {
        {"see http://example.com", true},
        {"see https://example.com", true},
        {"HTTPS://EXAMPLE.COM", true},
        {"visit www.example.com", true},
        {"visit WwW.example.com", true},
        {"Hxxp://example.com", false},
        {"no link here, only www", false},
        {"http:/broken", false},
        {"ends with http", false},
        {"ends with www", false},
        {"ends with www.", true},
        {"сайт: WWW.пример.рф", true},
        {"", false},
    };
    int rc = 0;
    size_t i = 0;
    struct item *it = NULL;
    char err[128];

    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        it = item_new("vk", "-192764727_312", ITEM_KIND_COMMENT, "192764727",
            "499047616", cases[i].text, err, sizeof(err));
        CHECK(it != NULL);
        CHECK(item_has_link(it) == cases[i].link);
        item_free(it);
        it = NULL;
    }
    /* A link attachment counts even when the text has none. */
    it = item_new("vk", "-192764727_312", ITEM_KIND_COMMENT, "192764727",
        "499047616", "look", err, sizeof(err));
    CHECK(it != NULL);
    CHECK(!item_has_link(it));
    CHECK(item_add_attachment(it, "image", "https://x.example/a.png") == 0);
    CHECK(!item_has_link(it));
    CHECK(item_add_attachment(it, "link", NULL) == 0);
    CHECK(item_has_link(it));
out:
    if (rc != 0 && i < sizeof(cases) / sizeof(cases[0]))
        fprintf(stderr, "  in \"%s\"\n", cases[i].text);
    item_free(it);
    return rc;
}

static int
test_item_new(void)
{
    int rc = 0;
    struct item *it = NULL;
    json_t *out = NULL, *att;
    char err[128];

    it = item_new("facebook", "mid.1", ITEM_KIND_DM, "404217156637689",
        "1423587017700273", NULL, err, sizeof(err));
    CHECK(it != NULL);
    CHECK_STR(item_text(it), "");
    CHECK(item_text_len(it) == 0);
    CHECK_STR(item_id(it), "facebook:mid.1");
    item_free(it);
    it = NULL;

    CHECK(item_new(NULL, "1", ITEM_KIND_DM, "1", "1", "x", err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "platform: missing");
    CHECK(item_new("Facebook", "1", ITEM_KIND_DM, "1", "1", "x", err,
        sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "platform: must match");
    CHECK(item_new("facebook", "1 2", ITEM_KIND_DM, "1", "1", "x", err,
        sizeof(err)) == NULL);
    CHECK_CONTAINS(err, "native_id: must be 1..256");
    CHECK(item_new("facebook", "1", ITEM_KIND_COUNT_, "1", "1", "x", err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "kind: must be one of comment, reply, dm, mention");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, NULL, "1", "x", err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "account.id: missing");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", NULL, "x", err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "author.id: missing");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "bad \xc3\x28",
        err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "\xed\xa0\x80",
        err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "\xc0\xaf", err,
        sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "\xe0\x80\xaf",
        err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "\xf4\x90\x80\x80",
        err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");
    CHECK(item_new("facebook", "1", ITEM_KIND_DM, "1", "1", "cut \xe2\x82",
        err, sizeof(err)) == NULL);
    CHECK_STR(err, "text: not valid UTF-8");

    it = item_new("telegram", "-1001234567890_1365", ITEM_KIND_REPLY,
        "7000000001", "1111111", "Когда будет доставка?", err, sizeof(err));
    CHECK(it != NULL);
    CHECK(item_set_lang(it, "RU") == 0);
    CHECK_STR(item_lang(it), "ru");
    CHECK(item_set_lang(it, "english") == -1);
    CHECK(item_set_lang(it, "r1") == -1);
    CHECK_STR(item_lang(it), "ru");
    CHECK(item_set_conversation(it, "-1001234567890") == 0);
    CHECK_STR(item_conversation(it), "-1001234567890");
    CHECK(item_set_conversation(it, "a b") == -1);
    CHECK_STR(item_conversation(it), "-1001234567890");
    CHECK(item_set_parent(it, "-1001234567890_1334") == 0);
    CHECK(item_set_parent(it, "") == -1);
    CHECK(item_set_author_name(it, "Иван Петров") == 0);
    CHECK_STR(item_author_name(it), "Иван Петров");
    CHECK(item_set_author_name(it, "bad \xff") == -1);
    CHECK_STR(item_author_name(it), "Иван Петров");
    CHECK(item_set_permalink(it, "ftp://t.me/x") == -1);
    CHECK(item_set_permalink(it, "javascript:alert(1)") == -1);
    CHECK(item_set_permalink(it, "https://t.me/c/1234567890/1365") == 0);
    CHECK(item_set_created_ms(it, -1) == -1);
    CHECK(item_set_created_ms(it, 253402300800000LL) == -1);
    CHECK(item_set_created_ms(it, ITEM_TEST_T0 + 42) == 0);
    CHECK(item_created_ms(it) == ITEM_TEST_T0 + 42);
    item_set_received_ms(it, ITEM_TEST_T0 + 1042);
    CHECK(item_received_ms(it) == ITEM_TEST_T0 + 1042);
    CHECK(item_add_attachment(it, "gif", NULL) == -1);
    CHECK(item_add_attachment(it, NULL, NULL) == -1);
    CHECK(item_add_attachment(it, "image", "file:///etc/passwd") == -1);
    CHECK(item_add_attachment(it, "video", NULL) == 0);

    CHECK((out = item_to_json(it)) != NULL);
    CHECK_STR(json_string_value(json_object_get(out, "kind")), "reply");
    CHECK_STR(json_string_value(json_object_get(out, "lang")), "ru");
    CHECK_STR(json_string_value(json_object_get(out, "parent")),
        "-1001234567890_1334");
    CHECK_STR(json_string_value(json_object_get(json_object_get(out,
        "author"), "name")), "Иван Петров");
    CHECK_STR(json_string_value(json_object_get(out, "permalink")),
        "https://t.me/c/1234567890/1365");
    CHECK_STR(json_string_value(json_object_get(out, "created_at")),
        "2026-11-23T09:40:00.042Z");
    CHECK_STR(json_string_value(json_object_get(out, "received_at")),
        "2026-11-23T09:40:01.042Z");
    att = json_object_get(out, "attachments");
    CHECK(json_array_size(att) == 1);
    CHECK_STR(json_string_value(json_object_get(json_array_get(att, 0),
        "type")), "video");
    CHECK(json_object_get(json_array_get(att, 0), "url") == NULL);

    /* NULL clears optional fields. */
    CHECK(item_set_lang(it, NULL) == 0);
    CHECK(item_lang(it) == NULL);
    CHECK(item_set_conversation(it, NULL) == 0);
    CHECK(item_conversation(it) == NULL);
    CHECK(item_set_author_name(it, NULL) == 0);
    CHECK(item_author_name(it) == NULL);
out:
    json_decref(out);
    item_free(it);
    return rc;
}

static int
test_attachment_cap(void)
{
    int rc = 0;
    struct item *it = NULL;
    char err[128];

    it = item_new("youtube", "UgxD7msptSaPXG9Xqt14AaABAg", ITEM_KIND_COMMENT,
        "UCk1SpWNzOs4MYmr0uICEntg", "UCzAn-hBNSTjX-QMnHASZFfA", "hi", err,
        sizeof(err));
    CHECK(it != NULL);
    for (int i = 0; i < 32; i++)
        CHECK(item_add_attachment(it, "other", NULL) == 0);
    CHECK(item_add_attachment(it, "other", NULL) == -1);
out:
    item_free(it);
    return rc;
}

static int
test_kind_names(void)
{
    int rc = 0;

    for (int k = 0; k < ITEM_KIND_COUNT_; k++)
        CHECK(item_kind_from_name(item_kind_name((enum item_kind)k)) == k);
    CHECK_STR(item_kind_name(ITEM_KIND_COMMENT), "comment");
    CHECK_STR(item_kind_name(ITEM_KIND_REPLY), "reply");
    CHECK_STR(item_kind_name(ITEM_KIND_DM), "dm");
    CHECK_STR(item_kind_name(ITEM_KIND_MENTION), "mention");
    CHECK_STR(item_kind_name(ITEM_KIND_COUNT_), "unknown");
    CHECK(item_kind_from_name("post") == -1);
    CHECK(item_kind_from_name("DM") == -1);
    CHECK(item_kind_from_name("") == -1);
    CHECK(item_kind_from_name(NULL) == -1);
out:
    return rc;
}

static int
test_dump(void)
{
    int rc = 0;
    json_t *obj = NULL, *back = NULL, *want = NULL;
    struct item *it = NULL;
    char *s = NULL, *dumped = NULL, err[256];

    CHECK((obj = item_test_obj("{\"text\": \"Привет, мир\"}", NULL)) != NULL);
    CHECK((it = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    CHECK((s = item_dump(it)) != NULL);
    CHECK(util_str_has_prefix(s, "{\"id\":\"" ITEM_TEST_ID "\","
        "\"platform\":\"facebook\","));
    /* Compact, and UTF-8 kept as is rather than \u-escaped. */
    CHECK(strchr(s, '\n') == NULL);
    CHECK(strstr(s, "\": ") == NULL);
    CHECK(strstr(s, "\"text\":\"Привет, мир\"") != NULL);
    CHECK((back = json_loads(s, 0, NULL)) != NULL);
    CHECK((want = item_to_json(it)) != NULL);
    CHECK(json_equal(back, want));
    /* Byte for byte what jansson writes for the same tree. */
    CHECK((dumped = json_dumps(want, JSON_COMPACT)) != NULL);
    CHECK_STR(s, dumped);
    xfree(s);
    xfree(dumped);
    s = dumped = NULL;
    json_decref(obj);
    item_free(it);
    it = NULL;
    /* And for the fullest item, with a classification and a queue. */
    CHECK((obj = item_test_load(ITEM_TEST_FULL)) != NULL);
    CHECK((it = item_from_json(obj, NULL, err, sizeof(err))) != NULL);
    item_set_classification(it, json_pack("{s:[s,s],s:f,s:[{s:s,s:[i,i]}]}",
        "categories", "question", "lead", "score", 3.25, "hits", "rule",
        "en.q\"1", "span", 0, 5));
    CHECK(item_set_queue(it, "support") == 0);
    CHECK((s = item_dump(it)) != NULL);
    json_decref(want);
    CHECK((want = item_to_json(it)) != NULL);
    CHECK((dumped = json_dumps(want, JSON_COMPACT)) != NULL);
    CHECK_STR(s, dumped);
out:
    xfree(s);
    xfree(dumped);
    json_decref(back);
    json_decref(want);
    json_decref(obj);
    item_free(it);
    return rc;
}

/*
 * Fail every allocation in turn while building, annotating and dumping a
 * full item. Each run must either succeed or fail cleanly (NULL / -1, the
 * out-of-memory message); ASan catches leaks and bad frees.
 */
static int
test_alloc_torture(void)
{
    int rc = 0;
    json_t *obj = NULL, *cls = NULL;
    struct item *it = NULL;
    char *s = NULL, err[256];
    unsigned long n, made = 0;
    size_t runs = 0, failed = 0;

    CHECK((obj = item_test_load(ITEM_TEST_FULL)) != NULL);
    for (n = 1; n < 100000; n++) {
        bool done;

        /* Built before failures start: the test's own allocations. */
        CHECK((cls = item_test_load("{\"categories\": [\"question\"]}"))
            != NULL);
        err[0] = '\0';
        alloc_fail_after(n);
        it = item_from_json(obj, NULL, err, sizeof(err));
        if (it != NULL) {
            item_set_classification(it, cls);
            cls = NULL;
            if (item_set_queue(it, "support") == 0)
                s = item_dump(it);
        }
        made = alloc_fail_after(0);
        runs++;
        /* A run that made fewer allocations than n met no failure. */
        done = made < n;
        if (it == NULL) {
            CHECK(!done);
            CHECK_STR(err, "item: out of memory");
            failed++;
        }
        if (done) {
            CHECK(it != NULL);
            CHECK(s != NULL);
            CHECK(strstr(s, "\"queue\":\"support\"") != NULL);
        }
        XFREE(&s);
        item_free(it);
        it = NULL;
        json_decref(cls);
        cls = NULL;
        if (done)
            break;
    }
    CHECK(n < 100000);
    /* The loop really did fail allocations inside item_from_json. */
    CHECK(failed > 10);
    CHECK(runs == n);
out:
    alloc_fail_after(0);
    xfree(s);
    json_decref(cls);
    json_decref(obj);
    item_free(it);
    return rc;
}

static const struct check_case cases[] = {
    {"valid", test_valid},
    {"invalid", test_invalid},
    {"not_object", test_not_object},
    {"text_limit", test_text_limit},
    {"full", test_full},
    {"round_trip", test_round_trip},
    {"raw_owned", test_raw_owned},
    {"classification_queue", test_classification_queue},
    {"has_link", test_has_link},
    {"item_new", test_item_new},
    {"attachment_cap", test_attachment_cap},
    {"kind_names", test_kind_names},
    {"dump", test_dump},
    {"alloc_torture", test_alloc_torture},
};

CHECK_MAIN(cases)
