/*
 * rules_diff_test: the prefilter must not change a single hit. About
 * 1,000 rules (the shipped sets and generated word-list and regex rules,
 * tests/unit/rules_gen.h, fixed seed) classify a few thousand generated
 * comments twice, with the prefilter and with the plain loop that runs
 * every pattern on every item; the two classifications must be equal:
 * the same hits (rule ids, spans, shadow flags), scores and decisions.
 * On the same verdicts, the classification the item keeps
 * (rules_verdict_cls) must be byte for byte jsonw's dump of rules_eval's
 * object, with the same scores and hits.
 * Also white-box checks of the pieces the prefilter rests on: the case
 * fold against pcre2's caseless matching, and the required-literal
 * analysis against pcre2 on tricky syntax. No sockets.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <sys/stat.h>

#include <dirent.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>
#include <pcre2.h>
#include <utf8proc.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "item.h"
#include "jsonw.h"
#include "rules.h"
#include "rules_gen.h"
#include "../../daemon/rules_internal.h"

#define DIFF_SEED 20261123u
#define DIFF_FILES 16
#define DIFF_PER_FILE 51
#define DIFF_ITEMS 3000

/* Remove the generated files and their directory. */
static void
diff_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[1024];

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

static struct item *
diff_item(const struct rules_gen_item *gi, size_t n)
{
    char native[32], err[128];
    struct item *it;

    snprintf(native, sizeof(native), "n%zu", n);
    it = item_new(gi->platform, native, item_kind_from_name(gi->kind),
        "acct", "author1", gi->text, err, sizeof(err));
    if (it == NULL) {
        fprintf(stderr, "  item_new: %s\n", err);
        return NULL;
    }
    if ((gi->lang != NULL && item_set_lang(it, gi->lang) == -1) ||
        item_set_author_name(it, gi->author) == -1) {
        item_free(it);
        return NULL;
    }
    return it;
}

/* ------------------------------------------------------------------ */
/* Prefilter against the plain loop                                    */
/* ------------------------------------------------------------------ */

static int
test_prefilter_same_hits(void)
{
    struct rules_gen_item *items = xcalloc(DIFF_ITEMS, sizeof(*items));
    char dir[] = "/tmp/inboxd-rules-diff.XXXXXX";
    const char *dirs[2] = { INBOXD_RULES_DIR, dir };
    struct rules *r = NULL;
    struct rules_info info;
    struct item *it = NULL;
    json_t *a = NULL, *b = NULL;
    struct item_cls *cls = NULL;
    struct buf errors, w;
    size_t hits = 0, differ = 0, shadow = 0, decided = 0, cls_differ = 0;
    int nrules, rc = 0;

    buf_init(&errors, 1u << 20);
    buf_init(&w, 1u << 20);
    CHECK(items != NULL && mkdtemp(dir) != NULL);
    nrules = rules_gen_write(dir, DIFF_SEED, DIFF_FILES, DIFF_PER_FILE);
    CHECK(nrules == DIFF_FILES * DIFF_PER_FILE);
    r = rules_load(dirs, 2, NULL, &errors);
    if (r == NULL)
        fprintf(stderr, "%s", errors.data ? errors.data : "");
    CHECK(r != NULL);
    rules_get_info(r, &info);
    fprintf(stderr, "  %zu rules (%zu meta, %zu shadow), %zu prefiltered, "
        "%zu always run, %zu atoms, loaded in %.0f ms\n", info.rules,
        info.meta, info.shadow, info.prefiltered, info.always_run,
        info.atoms, (double)info.load_ns / 1e6);
    CHECK(info.rules >= 950);
    if (!info.prefilter) {
        fprintf(stderr, "  skipped: built without vectorscan\n");
        goto out;
    }
    /* Most patterns must be skippable, or the test proves little. */
    CHECK(info.prefiltered > 2 * info.always_run);

    rules_gen_corpus(DIFF_SEED, items, DIFF_ITEMS);
    for (size_t i = 0; i < DIFF_ITEMS; i++) {
        struct rules_verdict v;

        CHECK((it = diff_item(&items[i], i)) != NULL);
        CHECK(rules_set_prefilter(r, true) == 0);
        CHECK((a = rules_eval(r, it)) != NULL);
        CHECK(rules_set_prefilter(r, false) == 0);
        CHECK((b = rules_eval(r, it)) != NULL);
        if (!json_equal(a, b)) {
            if (differ++ < 5) {
                char *sa = json_dumps(a, JSON_COMPACT);
                char *sb = json_dumps(b, JSON_COMPACT);

                fprintf(stderr, "  item %zu \"%s\":\n    prefilter %s\n"
                    "    plain     %s\n", i, items[i].text, sa, sb);
                xfree(sa);
                xfree(sb);
            }
        }
        /* The same verdict again, as the item keeps it. */
        CHECK(rules_classify(r, it, &v) == 0);
        CHECK((cls = rules_verdict_cls(&v, item_text(it))) != NULL);
        buf_reset(&w);
        CHECK(jsonw_value(&w, b) == 0);
        if (w.len != cls->json_len || memcmp(w.data, cls->json,
            w.len) != 0 || cls->nscores != json_object_size(
            json_object_get(b, "scores")) || cls->nhits !=
            json_array_size(json_object_get(b, "hits"))) {
            if (cls_differ++ < 5)
                fprintf(stderr, "  item %zu: rules_eval %s\n"
                    "    rules_verdict_cls %s\n", i, w.data, cls->json);
        }
        XFREE(&cls);
        hits += json_array_size(json_object_get(b, "hits"));
        shadow += json_object_get(b, "shadow") != NULL;
        decided += json_array_size(json_object_get(b, "categories")) > 0;
        json_decref(a);
        json_decref(b);
        a = b = NULL;
        item_free(it);
        it = NULL;
    }
    fprintf(stderr, "  %d items: %zu hits, %zu decided, %zu with shadow "
        "hits, %zu differ\n", DIFF_ITEMS, hits, decided, shadow, differ);
    CHECK(differ == 0);
    CHECK(cls_differ == 0);
    /* The corpus must exercise the rules. */
    CHECK(hits > DIFF_ITEMS);
    CHECK(decided > DIFF_ITEMS / 4);
    CHECK(shadow > 0);
out:
    json_decref(a);
    json_decref(b);
    xfree(cls);
    item_free(it);
    rules_free(r);
    buf_free(&errors);
    buf_free(&w);
    if (items != NULL)
        rules_gen_corpus_free(items, DIFF_ITEMS);
    xfree(items);
    diff_rmdir(dir);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The fold against pcre2                                              */
/* ------------------------------------------------------------------ */

/*
 * Every code point with a case mapping, caselessly matched by pcre2
 * against all of them: whatever pcre2 calls equal must fold alike,
 * or a caseless literal could be missed by the prefilter.
 */
static int
test_fold_matches_pcre2_caseless(void)
{
    struct buf text, fa, fb;
    pcre2_match_data *md = NULL;
    size_t ncased = 0, bad = 0;
    char pat[32];
    int rc = 0;

    buf_init(&text, 1u << 20);
    buf_init(&fa, 64);
    buf_init(&fb, 64);
    for (int32_t cp = 0x41; cp < 0x20000; cp++) {
        utf8proc_uint8_t enc[4];
        utf8proc_ssize_t n;

        if (cp >= 0xd800 && cp <= 0xdfff)
            continue;
        if (utf8proc_toupper(cp) == cp && utf8proc_tolower(cp) == cp)
            continue;
        n = utf8proc_encode_char(cp, enc);
        CHECK(buf_append(&text, enc, (size_t)n) == 0);
        ncased++;
    }
    CHECK(ncased > 2000);
    CHECK((md = pcre2_match_data_create(1, NULL)) != NULL);
    for (const char *p = text.data; *p != '\0';) {
        size_t clen = 1;
        pcre2_code *code;
        PCRE2_SIZE eo, off = 0, *ov;
        int ec;

        while (((unsigned char)p[clen] & 0xc0) == 0x80)
            clen++;
        snprintf(pat, sizeof(pat), "%.*s", (int)clen, p);
        code = pcre2_compile((PCRE2_SPTR)pat, clen, PCRE2_UTF | PCRE2_UCP |
            PCRE2_CASELESS, &ec, &eo, NULL);
        CHECK(code != NULL);
        buf_reset(&fa);
        CHECK(rules_fold(pat, clen, &fa) == 0);
        while (pcre2_match(code, (PCRE2_SPTR)text.data, text.len, off, 0,
            md, NULL) > 0) {
            ov = pcre2_get_ovector_pointer(md);
            buf_reset(&fb);
            CHECK(rules_fold(text.data + ov[0], ov[1] - ov[0], &fb) == 0);
            if (fa.len != fb.len || memcmp(fa.data, fb.data, fa.len) != 0) {
                if (bad++ < 5)
                    fprintf(stderr, "  '%s' matches '%.*s' caselessly but "
                        "they fold to '%s' and '%s'\n", pat,
                        (int)(ov[1] - ov[0]), text.data + ov[0], fa.data,
                        fb.data);
            }
            off = ov[1];
        }
        pcre2_code_free(code);
        p += clen;
    }
    CHECK(bad == 0);
out:
    pcre2_match_data_free(md);
    buf_free(&text);
    buf_free(&fa);
    buf_free(&fb);
    return rc;
}

/* ------------------------------------------------------------------ */
/* The literal analysis against pcre2                                  */
/* ------------------------------------------------------------------ */

/* pcre2's own \w, to check edge marks independently of rules_req.c. */
static pcre2_code *diff_word_re;

static bool
diff_is_word_at(const struct buf *b, size_t at)
{
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    int m;

    if (diff_word_re == NULL)
        diff_word_re = pcre2_compile((PCRE2_SPTR)"\\w",
            PCRE2_ZERO_TERMINATED, PCRE2_UTF | PCRE2_UCP | PCRE2_ANCHORED,
            &m, &(PCRE2_SIZE){ 0 }, NULL);
    m = pcre2_match(diff_word_re, (PCRE2_SPTR)b->data, b->len, at, 0, md,
        NULL);
    pcre2_match_data_free(md);
    return m >= 0;
}

/*
 * Does the folded text hold the atom? An atom may start and end with an
 * edge mark (RULES_REQ_EDGE): the character beyond it must not be a
 * word character.
 */
static bool
diff_atom_in_cb(const char *atom, size_t len, void *arg)
{
    const struct buf *b = arg;
    bool left = len > 0 && (unsigned char)atom[0] == RULES_REQ_EDGE;
    bool right = len > 1 && (unsigned char)atom[len - 1] == RULES_REQ_EDGE;

    atom += left;
    len -= left + right;
    for (size_t i = 0; len <= b->len && i + len <= b->len; i++) {
        size_t p = i;

        if (memcmp(b->data + i, atom, len) != 0)
            continue;
        while (p > 0 && ((unsigned char)b->data[p - 1] & 0xc0) == 0x80)
            p--;
        if (left && i > 0 && diff_is_word_at(b, p > 0 ? p - 1 : 0))
            continue;
        if (right && i + len < b->len && diff_is_word_at(b, i + len))
            continue;
        return true;
    }
    return false;
}

/*
 * Patterns whose syntax is easy to misread, each with a text pcre2
 * matches: the requirement must hold for that text. And patterns the
 * analysis should give a requirement (not "always run").
 */
static int
test_required_literals(void)
{
    static const struct {
        const char *pattern;
        const char *text;
        bool want_req;      /* a requirement is expected */
    } cases[] = {
        { "\\bnot\\s+working\\b", "It is NOT   working", true },
        { "colou?r", "nice COLOR", true },
        { "[]a]bc|xyz", "]bc", true },
        { "[^]a]bcd", "xbcd", true },
        { "[\\]]bcd", "]bcd", true },
        { "a[[:alpha:]]bcd", "azbcd", true },
        { "[[:<:]]abcde", "abcde", true },
        { "\\Qa.b\\E{0}cde", "a.cde", true },
        { "\\Qa.b\\E+cde", "a.bbbcde", true },
        { "abc{,3}def", "abc{,3}def", false },
        { "abc{2}def", "abccdef", true },
        { "abc{x}def", "abc{x}def", true },
        { "(?x) a b c # comment ) |\n d e f", "abcdef", true },
        { "(?x) a\\ b c", "a bc", true },
        { "(?x)[ ]abc", " abc", true },
        { "(?x)abc(?-x) d", "abc d", true },
        { "(?x:a b c) d e", "abc d e", true },
        { "(?i)HELLO wOrLd", "hello world", true },
        { "(?<=abc)def", "abcdef", true },
        { "(?<!abc)def", "xxxdef", true },
        { "(?<name>abc)\\k<name>", "abcabc", true },
        { "(abc)\\1def", "abcabcdef", true },
        { "(?|(abc)|(xyz))def", "xyzdef", false },
        { "\\x{41}\\x42C\\o{104}", "abcd", true },
        { "\\105bc", "ebc", false },
        { "\\N{U+0444}ыва", "фыва", true },
        { "\\cAabc", "\001abc", true },
        { "abc\\Kdef", "abcdef", true },
        { "(?#comment)abcdef", "abcdef", true },
        { "a(?=bcd)bcde", "abcde", true },
        { "(?>abc|abd)e", "abde", true },
        { "\\p{Lu}bcd\\P{L}", "Xbcd!", true },
        { "[a-c]xyz", "bxyz", true },
        { "[a-z]xyz", "qxyz", true },
        { "[\\x{430}-\\x{433}]ксус", "гксус", true },
        { "ab+cd", "abbbcd", false },
        { "(?:ab)+cde", "ababcde", true },
        { "(?:abc)*def", "def", true },
        { "x{0}abcdef", "abcdef", true },
        { "(*UTF)(*UCP)abcdef", "abcdef", true },
        { "(*ACCEPT)abc", "", false },
        { "(a)?b(?(1)c|d)ef", "bdef", false },
        { "\\bKelvin\\b", "\xe2\x84\xaa" "elvin", true },
        { "\\bstraße\\b", "STRASSE straẞe", true },
        { "\\bσας\\b", "ΣΑΣ", true },
        { "\\bİstanbul", "İSTANBUL", true },
        { "aaa|bbb|ccc|ddd|eee|fff|ggg|hhh|iii|jjj|kkk|lll|mmm|nnn|ooo|ppp|"
            "qqq|rrr", "rrr", true },
        { "(?n)(abc)(?<n>def)", "abcdef", true },
        { "a\\Q)(\\E+b", "a)(((b", true },
        { "abc\\\\def", "abc\\def", true },
        { "abc(?=\\))", "abc)", true },
        { "^abc$", "abc", true },
        { "a.c", "abc", false },
        { "\\d+ dollars", "100 dollars", true },
        { "(?s:.)abc\\R", "xabc\n", true },
        { "[😀-😃]abc", "😁abc", true },
        { "abc++def", "abccdef", true },
        { "abc?+def", "abdef", true },
        { "(?:abc){2,3}x", "abcabcx", true },
        { "a{1}bcd", "abcd", true },
        /* Short words need their word edges to be worth looking for. */
        { "\\b(?:ok|no|ya|да)\\b", "Да!", true },
        { "\\bok\\b", "(OK)", true },
        { "ok", "ok", false },
        { "(?:^|\\s)tu\\b", "tu", true },
        { "(?:^|\\s)tu\\b", "x tu.", true },
        { "po\\s+co\\b", "po  co?", true },
        { "\\bu\\b", "U", true },
        { "\\bé\\b", "É!", true },
        { "\\bд\\b", "Д", true },
        { "\\bab", "xy ab", true },
        { "a\\b", "a", false },
        { "[.!?]\\s*co\\b", "ok. co", true },
        { "\\W\\wok\\b", "!xok", true },
        { "(?<=\\s)ok\\b", " ok", true },
        { "ok(?=\\s)", "ok ", false },
        { "\\b(?:a|b)c\\b", "ac", true },
        { "(?m)^ok$", "x\nok\ny", true },
        { "\\bok$", "ok\n", true },
        { "\\Aok\\z", "ok", true },
        { "x\\s*\\bno\\b", "x no", true },
        { "(?:\\s|-)+no\\b", "-no", true },
        { "[\\s,.]no\\b", ",no", true },
        { "[^a-z]no\\b", "0no", true },
        { "[^a-z]no\\b", "éno", true },
        { "(?:\\bok)\\b", "ok", true },
        { "\\b(?:(?:ok))\\b", "ok", true },
        { "_ok\\b", "_ok", true },
        { "\\b(?:d|do)\\s", "d ", true },
        { "(?:do\\s|is\\s)+you\\b", "do is you", true },
        { "\\bok\\b.*", "ok", true },
        { "(?:^|[.!?]\\s*)(?:co|jak)\\s", "Co ", true },
        { "(?:^|[.!?]\\s*)(?:co|jak)\\s", "x. jak ", true },
    };
    pcre2_match_data *md = pcre2_match_data_create(1, NULL);
    struct rules_req q = { 0 };
    struct buf folded;
    int rc = 0;

    buf_init(&folded, 4096);
    CHECK(md != NULL);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *pat = cases[i].pattern, *why;
        uint32_t ncap = 0;
        pcre2_code *code;
        PCRE2_SIZE eo;
        int ec, m;

        code = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED,
            PCRE2_UTF | PCRE2_UCP | PCRE2_CASELESS, &ec, &eo, NULL);
        if (code == NULL) {
            fprintf(stderr, "  /%s/: does not compile\n", pat);
            rc = -1;
            continue;
        }
        pcre2_pattern_info(code, PCRE2_INFO_CAPTURECOUNT, &ncap);
        m = pcre2_match(code, (PCRE2_SPTR)cases[i].text,
            PCRE2_ZERO_TERMINATED, 0, 0, md, NULL);
        pcre2_code_free(code);
        CHECK(rules_req_build(pat, strlen(pat), ncap, &q, &why) == 0);
        buf_reset(&folded);
        CHECK(rules_fold(cases[i].text, strlen(cases[i].text),
            &folded) == 0);
        /* 0: a match, with more groups than the match data holds. */
        if (m >= 0 && !rules_req_eval(&q, diff_atom_in_cb, &folded)) {
            fprintf(stderr, "  /%s/ matches \"%s\" but its requirement "
                "says no\n", pat, cases[i].text);
            rc = -1;
        }
        if (m < 0 && cases[i].text[0] != '\0') {
            fprintf(stderr, "  /%s/ does not match \"%s\" (bad case)\n",
                pat, cases[i].text);
            rc = -1;
        }
        if ((q.nops > 0) != cases[i].want_req) {
            fprintf(stderr, "  /%s/: %s (%s)\n", pat, q.nops > 0 ?
                "has a requirement" : "has none", why ? why : "-");
            rc = -1;
        }
        rules_req_free(&q);
    }
out:
    rules_req_free(&q);
    pcre2_match_data_free(md);
    buf_free(&folded);
    return rc;
}

/* The switch: off runs the plain loop, on needs a prefilter. */
static int
test_prefilter_switch(void)
{
    const char *dir = INBOXD_RULES_DIR;
    struct rules *r = rules_load(&dir, 1, NULL, NULL);
    struct rules_info info;
    int rc = 0;

    CHECK(r != NULL);
    rules_get_info(r, &info);
    if (!info.prefilter) {
        /* Built without vectorscan: every pattern always runs. */
        CHECK(info.always_run + info.meta == info.rules);
        CHECK(rules_set_prefilter(r, true) == -1);
        goto out;
    }
    CHECK(info.prefiltered + info.always_run + info.meta == info.rules);
    CHECK(info.atoms > 0);
    CHECK(rules_set_prefilter(r, false) == 0);
    rules_get_info(r, &info);
    CHECK(!info.prefilter);
    CHECK(rules_set_prefilter(r, true) == 0);
out:
    rules_free(r);
    return rc;
}

static const struct check_case cases[] = {
    { "required_literals", test_required_literals },
    { "fold_matches_pcre2_caseless", test_fold_matches_pcre2_caseless },
    { "prefilter_switch", test_prefilter_switch },
    { "prefilter_same_hits", test_prefilter_same_hits },
};

CHECK_MAIN(cases)
