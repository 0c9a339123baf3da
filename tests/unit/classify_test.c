/*
 * classify_test: `inboxd classify` (classify_stream) against the shipped
 * rules, the generated ~1,000-rule set and a small set of awkward rules
 * (shadow, negative and fractional scores, long matches). Each result
 * line it writes is parsed back and must equal what rules_eval and
 * route_pick say of the same item, the way the daemon's pipeline would
 * store it; lines that are not items give {"line", "error"}; reals come
 * out short when that reads back the same.
 */
#include <sys/stat.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "classify.h"
#include "config.h"
#include "item.h"
#include "route.h"
#include "rules.h"
#include "rules_gen.h"

#ifndef INBOXD_RULES_DIR
#define INBOXD_RULES_DIR "rules"
#endif

static char classify_test_dir[] = "/tmp/inboxd-classify-test.XXXXXX";

/* Rules whose scores and spans are the awkward ones for the writer. */
static const char classify_test_rules[] =
    "rules:\n"
    "  - id: t.tenth\n"
    "    category: gen_tenth\n"
    "    score: 0.1\n"
    "    pattern: 'tenth'\n"
    "  - id: t.fifth\n"
    "    category: gen_tenth\n"
    "    score: 0.2\n"
    "    pattern: 'tenth'\n"
    "  - id: t.minus\n"
    "    category: gen_minus\n"
    "    score: -1.25\n"
    "    pattern: 'minus'\n"
    "  - id: t.third\n"
    "    category: gen_third\n"
    "    score: 0.3333333\n"
    "    pattern: 'third'\n"
    "  - id: t.shadow\n"
    "    category: spam\n"
    "    score: 3\n"
    "    shadow: true\n"
    "    pattern: 'shadowy'\n"
    "  - id: t.long\n"
    "    category: gen_long\n"
    "    score: 1\n"
    "    field: raw\n"
    "    pattern: 'LONG.{0,200}END'\n";

static int
classify_test_write(const char *path, const char *s)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL)
        return -1;
    fputs(s, fp);
    return fclose(fp);
}

static struct config *
classify_test_config(bool routes)
{
    char path[256], yml[1024];
    struct config *cfg;
    struct buf errors;

    snprintf(path, sizeof(path), "%s/own/t.yml", classify_test_dir);
    if (classify_test_write(path, classify_test_rules) == -1)
        return NULL;
    snprintf(yml, sizeof(yml),
        "rules:\n"
        "  dirs: [%s, %s/gen, %s/own]\n"
        "log:\n"
        "  level: error\n"
        "%s", INBOXD_RULES_DIR, classify_test_dir, classify_test_dir,
        routes ?
        "queues:\n  names: [general, moderation, care, support-ru]\n"
        "routes:\n"
        "  - queue: moderation\n"
        "    category: [spam, abuse]\n"
        "  - queue: care\n"
        "    category: negative\n"
        "    min_score: 2\n"
        "  - queue: support-ru\n"
        "    lang: ru\n" : "");
    snprintf(path, sizeof(path), "%s/inboxd.yml", classify_test_dir);
    if (classify_test_write(path, yml) == -1)
        return NULL;
    buf_init(&errors, 1 << 20);
    if ((cfg = config_load(path, &errors)) == NULL)
        fprintf(stderr, "  config_load failed:\n%s",
            errors.data ? errors.data : "");
    buf_free(&errors);
    return cfg;
}

/* An item line of the wire model. */
static char *
classify_test_line(size_t i, const char *platform, const char *kind,
    const char *lang, const char *text)
{
    char native[32];
    json_t *o;
    char *s;

    snprintf(native, sizeof(native), "t%zu", i);
    o = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s}, s:s, s:I}",
        "platform", platform, "native_id", native, "kind", kind, "account",
        "id", "acct", "author", "id", "author1", "text", text, "created_at",
        (json_int_t)1795426800);
    if (o != NULL && lang != NULL)
        json_object_set_new(o, "lang", json_string(lang));
    s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* What the daemon would have said of the line: rules_eval, routed. */
static json_t *
classify_test_expect(struct config *cfg, const char *line)
{
    json_t *obj = json_loads(line, 0, NULL), *cls, *want = NULL;
    struct item *it;
    char err[256];

    it = obj ? item_from_json(obj, NULL, err, sizeof(err)) : NULL;
    json_decref(obj);
    if (it == NULL || (cls = rules_eval(cfg->ruleset, it)) == NULL) {
        item_free(it);
        return NULL;
    }
    /* The item keeps a copy; cls stays ours. */
    item_set_classification(it, json_incref(cls));
    if (item_lang(it) == NULL && json_is_string(json_object_get(cls,
        "lang")))
        item_set_lang(it, json_string_value(json_object_get(cls, "lang")));
    want = json_pack("{s:s, s:O, s:O, s:O, s:O, s:s}", "id", item_id(it),
        "lang", json_object_get(cls, "lang"), "categories",
        json_object_get(cls, "categories"), "scores",
        json_object_get(cls, "scores"), "hits", json_object_get(cls, "hits"),
        "queue", route_pick(&cfg->routes, it));
    json_decref(cls);
    item_free(it);
    return want;
}

/* Run classify_stream over in; its output and its return value. */
static int
classify_test_run(struct config *cfg, const char *in, size_t inlen,
    char **out, size_t *outlen)
{
    FILE *fin = fmemopen((void *)(uintptr_t)in, inlen, "r");
    FILE *fout = open_memstream(out, outlen);
    FILE *ferr = fopen("/dev/null", "w");
    int rc;

    if (fin == NULL || fout == NULL || ferr == NULL)
        return -2;
    rc = classify_stream(cfg, fin, fout, ferr);
    fclose(fin);
    fclose(fout);
    fclose(ferr);
    return rc;
}

/* Every line's result equals the daemon's view of the item. */
static int
classify_test_same(bool routes, size_t nitems)
{
    static const char *const extra[] = {
        "a tenth and a tenth", "minus one, shadowy offer, third time",
        "LONG ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż "
        "ąęłóż ąęłóż ąęłóż ąęłóż ąęłóż END",
        "quote \" backslash \\ tab\t nl\n ctl \x01\x1f del \x7f tenth",
        "Buy cheap followers now!!! http://spam.example idiot",
        "Ты дурак? Сколько стоит доставка?",
        "Czy ty jesteś głupi? Ile kosztuje?",
    };
    struct config *cfg = classify_test_config(routes);
    struct rules_gen_item *gen = xcalloc(nitems, sizeof(*gen));
    struct buf in;
    char *out = NULL, *p, *nl;
    size_t outlen = 0, n = 0, total = nitems + nitems / 4;
    int rc = 0;

    buf_init(&in, 64u << 20);
    CHECK(cfg != NULL && gen != NULL);
    rules_gen_corpus(20261124, gen, nitems);
    for (size_t i = 0; i < total; i++) {
        const struct rules_gen_item *g = &gen[i % nitems];
        const char *text = i >= nitems ? extra[i % 7] : g->text[0] ?
            g->text : ".";
        char *line = classify_test_line(i, i >= nitems ? "vk" : g->platform,
            i >= nitems ? "comment" : g->kind, i >= nitems ? NULL : g->lang,
            text);

        CHECK(line != NULL);
        buf_puts(&in, line);
        buf_puts(&in, "\n");
        free(line);     /* json_dumps uses jansson's allocator: malloc */
    }
    CHECK(!in.failed);
    CHECK(classify_test_run(cfg, in.data, in.len, &out, &outlen) == 0);
    for (p = out; p < out + outlen; p = nl + 1, n++) {
        char *line = NULL;
        json_t *got, *want;
        size_t k;

        CHECK((nl = memchr(p, '\n', (size_t)(out + outlen - p))) != NULL);
        *nl = '\0';
        got = json_loads(p, 0, NULL);
        /* The input line n, again. */
        for (k = 0, line = in.data; k < n; k++)
            line = strchr(line, '\n') + 1;
        *strchr(line, '\n') = '\0';
        want = classify_test_expect(cfg, line);
        line[strlen(line)] = '\n';
        if (!json_equal(got, want)) {
            char *w = want ? json_dumps(want, JSON_COMPACT) : NULL;

            fprintf(stderr, "  line %zu:\n  got  %s\n  want %s\n", n + 1,
                p, w ? w : "(null)");
            free(w);
            rc = -1;
        }
        json_decref(got);
        json_decref(want);
        CHECK(rc == 0);
    }
    CHECK(n == total);
out:
    free(out);
    buf_free(&in);
    if (gen != NULL)
        rules_gen_corpus_free(gen, nitems);
    xfree(gen);
    config_unref(cfg);
    return rc;
}

static int
test_same_as_rules_eval(void)
{
    return classify_test_same(false, 400);
}

static int
test_same_with_routes(void)
{
    return classify_test_same(true, 200);
}

/* Lines that are no item, blank lines, and the short reals. */
static int
test_errors_and_reals(void)
{
    static const char in[] =
        "{not json\n"
        "\n"
        "{\"platform\":\"x\"}\n"
        "{\"a\":1,\"a\":2}\n"
        "{\"platform\":\"x\",\"native_id\":\"n1\",\"kind\":\"comment\","
        "\"account\":{\"id\":\"a\"},\"author\":{\"id\":\"u\"},"
        "\"created_at\":1795426800,\"text\":\"tenth tenth minus third\"}\n";
    struct config *cfg = classify_test_config(false);
    char *out = NULL;
    size_t outlen = 0;
    int rc = 0;

    CHECK(cfg != NULL);
    CHECK(classify_test_run(cfg, in, sizeof(in) - 1, &out, &outlen) == 1);
    CHECK_CONTAINS(out, "{\"line\":1,\"error\":\"invalid JSON: ");
    CHECK(strstr(out, "\"line\":2") == NULL);
    CHECK_CONTAINS(out, "{\"line\":3,\"error\":\"native_id: missing\"}\n");
    CHECK_CONTAINS(out, "{\"line\":4,\"error\":\"invalid JSON: line 1 "
        "column 8: duplicate object key\"}");
    /* 0.1 + 0.2 is not 0.3: written the long way, and still exact. */
    CHECK_CONTAINS(out, "\"gen_tenth\":0.30000000000000004");
    CHECK_CONTAINS(out, "\"score\":0.1,");
    CHECK_CONTAINS(out, "\"gen_minus\":-1.25");
    CHECK_CONTAINS(out, "\"gen_third\":0.3333333,");
out:
    free(out);
    config_unref(cfg);
    return rc;
}

static int
classify_test_setup(void)
{
    char path[256];

    if (mkdtemp(classify_test_dir) == NULL)
        return -1;
    snprintf(path, sizeof(path), "%s/own", classify_test_dir);
    if (mkdir(path, 0755) == -1)
        return -1;
    snprintf(path, sizeof(path), "%s/gen", classify_test_dir);
    if (mkdir(path, 0755) == -1)
        return -1;
    return rules_gen_write(path, 20261123, 16, 51) < 0 ? -1 : 0;
}

static void
classify_test_cleanup(void)
{
    char cmd[300];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", classify_test_dir);
    if (system(cmd) != 0)
        fprintf(stderr, "classify_test: could not remove %s\n",
            classify_test_dir);
}

static const struct check_case cases[] = {
    { "same_as_rules_eval", test_same_as_rules_eval },
    { "same_with_routes", test_same_with_routes },
    { "errors_and_reals", test_errors_and_reals },
};

int
main(void)
{
    int rc;

    alloc_init();
    if (classify_test_setup() == -1) {
        fprintf(stderr, "classify_test: cannot write the test rules\n");
        return 1;
    }
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    classify_test_cleanup();
    return rc;
}
