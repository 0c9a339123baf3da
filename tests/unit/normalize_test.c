/*
 * normalize_test: every evasion the Rules issue lists (zero-width and
 * invisible characters, fullwidth and mathematical letters, look-alikes
 * both ways between Latin and Cyrillic, leet, stretched and spaced-out
 * letters, zalgo), what must survive (numbers, Polish/Finnish/French and
 * Russian letters, pointed Hebrew), case folding, hostile bytes, and the
 * offset maps that carry a match back to the original text.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <utf8proc.h>

#include "alloc.h"
#include "check.h"
#include "normalize.h"

/* Normalize NUL-terminated in; the normalized text, or NULL on failure. */
static const char *
norm(struct norm_text *nt, const char *in, unsigned flags)
{
    if (normalize_text(in, strlen(in), flags, nt) == -1)
        return NULL;
    return nt->text;
}

/*
 * Find the first occurrence of needle in the normalized text, map it back
 * and check that the original bytes there are want.
 */
static bool
span_is(const struct norm_text *nt, const char *orig, const char *needle,
    const char *want)
{
    const char *hit = strstr(nt->text, needle);
    size_t s, e, os, oe;

    if (hit == NULL) {
        fprintf(stderr, "  \"%s\" not in \"%s\"\n", needle, nt->text);
        return false;
    }
    s = (size_t)(hit - nt->text);
    e = s + strlen(needle);
    normalize_span(nt, s, e, &os, &oe);
    if (oe - os != strlen(want) || memcmp(orig + os, want, oe - os) != 0) {
        fprintf(stderr, "  span of \"%s\" is \"%.*s\" [%zu,%zu), want "
            "\"%s\"\n", needle, (int)(oe - os), orig + os, os, oe, want);
        return false;
    }
    return true;
}

/*
 * The invariants every result must keep, whatever the input: valid UTF-8
 * with no NUL, maps within the original and non-decreasing, and one map
 * pair for all bytes of one normalized character.
 */
static bool
result_is_sane(const struct norm_text *nt, size_t orig_len)
{
    size_t i = 0;

    if (nt->text[nt->len] != '\0' || nt->map[nt->len] != orig_len ||
        nt->map_end[nt->len] != orig_len)
        return false;
    while (i < nt->len) {
        utf8proc_int32_t cp;
        utf8proc_ssize_t r = utf8proc_iterate(
            (const utf8proc_uint8_t *)nt->text + i,
            (utf8proc_ssize_t)(nt->len - i), &cp);

        if (r < 1 || cp == 0)
            return false;
        for (size_t k = i; k < i + (size_t)r; k++) {
            if (nt->map[k] != nt->map[i] || nt->map_end[k] != nt->map_end[i])
                return false;
            if (nt->map[k] >= nt->map_end[k] || nt->map_end[k] > orig_len)
                return false;
            if (k > 0 && (nt->map[k] < nt->map[k - 1] ||
                nt->map_end[k] < nt->map_end[k - 1]))
                return false;
        }
        i += (size_t)r;
    }
    return true;
}

/* ------------------------------------------------------------------ */

static int
test_issue_examples(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "fr\u200bee m0ney", NORM_ALL), "free money");
    /* Cyrillic ѕ р а, Latin m */
    CHECK_STR(norm(&nt, "\u0455\u0440\u0430m", NORM_ALL), "spam");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_invisible(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    static const char *const inv[] = {
        "\u200b", "\u200c", "\u200d", "\u200e", "\u200f", "\u2060",
        "\u2061", "\u2062", "\u2063", "\u2064", "\ufeff", "\u00ad",
        "\u034f", "\ufe00", "\ufe0f", "\u180e", "\U000E0041", "\U000E007F",
        "\u202a", "\u202b", "\u202c", "\u202d", "\u202e", "\u2066",
        "\u2067", "\u2068", "\u2069",
    };
    char in[64];

    for (size_t i = 0; i < sizeof(inv) / sizeof(inv[0]); i++) {
        int n = snprintf(in, sizeof(in), "fr%see", inv[i]);

        CHECK(n > 0 && (size_t)n < sizeof(in));
        CHECK_STR(norm(&nt, in, NORM_ALL), "free");
    }
    /* Soft hyphen inside a word, several kinds in a row, at the edges. */
    CHECK_STR(norm(&nt, "sp\u00adam", NORM_ALL), "spam");
    CHECK_STR(norm(&nt, "\ufeffs\u200b\u200d\u2060p\u202ea\u2066m\u200b",
        NORM_ALL), "spam");
    /* Without the step they stay. */
    CHECK_STR(norm(&nt, "fr\u200bee", NORM_NFKC), "fr\u200bee");
    /* Controls other than whitespace always go, NUL included. */
    CHECK(normalize_text("a\0b\x01" "c\x7f", 6, 0, &nt) == 0);
    CHECK(nt.len == 3 && memcmp(nt.text, "abc", 4) == 0);
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_fullwidth_and_math(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "\uff46\uff52\uff45\uff45", NORM_ALL), "free");
    /* ＦＲＥＥ Ｍ０ＮＥＹ */
    CHECK_STR(norm(&nt, "\uff26\uff32\uff25\uff25 "
        "\uff2d\uff10\uff2e\uff25\uff39", NORM_ALL), "free money");
    /* 𝐟𝐫𝐞𝐞 (mathematical bold), 𝓯𝓻𝓮𝓮 (bold script), 𝕗𝕣𝕖𝕖 */
    CHECK_STR(norm(&nt, "\U0001D41F\U0001D42B\U0001D41E\U0001D41E", NORM_ALL),
        "free");
    CHECK_STR(norm(&nt, "\U0001D4EF\U0001D4FB\U0001D4EE\U0001D4EE", NORM_ALL),
        "free");
    CHECK_STR(norm(&nt, "\U0001D557\U0001D563\U0001D556\U0001D556", NORM_ALL),
        "free");
    /* Ligatures, circled and superscript letters, NBSP. */
    CHECK_STR(norm(&nt, "\ufb01ne \u24e2\u24df\u24d0\u24dc x\u00a0y", NORM_ALL),
        "fine spam x y");
    /* NFKC without case folding keeps case. */
    CHECK_STR(norm(&nt, "\uff26\uff32\uff25\uff25", NORM_NFKC), "FREE");
out:
    norm_text_free(&nt);
    return rc;
}

/* Per-run NFKC must equal utf8proc's NFKC_Casefold of the whole string. */
static int
test_nfkc_equals_whole_string(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    static const char *const in[] = {
        "e\u0301", "e\u0323\u0302",  "e\u0302\u0323", "A\u030a\u0301",
        "\u1100\u1161\u11a8", "\uac00\u11a8", "\uff76\uff9e",
        "\u212b", "\u1e9b\u0323", "\u0958", "o\u0328\u0304",
        "\U0001D400\u0301", "\u00c5\u0327", "Ǆ", "\u2126", "\u0340a",
        "q\u0307\u0323", "\u0b47\u0b3e", "\u0d46\u0d3e", "\u1026\u102e",
        "\u3131\u314f", "\u01c4\u030c", "x\u0344",
    };
    utf8proc_int32_t buf[64];

    for (size_t i = 0; i < sizeof(in) / sizeof(in[0]); i++) {
        utf8proc_option_t o = UTF8PROC_STABLE | UTF8PROC_COMPOSE |
            UTF8PROC_COMPAT | UTF8PROC_CASEFOLD;
        utf8proc_ssize_t n;

        n = utf8proc_decompose((const utf8proc_uint8_t *)in[i],
            (utf8proc_ssize_t)strlen(in[i]), buf, 60, o);
        CHECK(n > 0 && n < 60);
        CHECK(utf8proc_reencode(buf, n, o) > 0);
        CHECK_STR(norm(&nt, in[i], NORM_NFKC | NORM_CASEFOLD),
            (const char *)buf);
    }
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_cyrillic_in_latin(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    /* ѕраm: Cyrillic dze, er, a + Latin m */
    CHECK_STR(norm(&nt, "\u0455\u0440\u0430m", NORM_ALL), "spam");
    /* One Cyrillic о in "mоney", Cyrillic е and х in "sех". */
    CHECK_STR(norm(&nt, "m\u043eney", NORM_ALL), "money");
    /* All-Cyrillic but with ѕ, which Russian does not have: Latin. */
    CHECK_STR(norm(&nt, "\u0455\u0435\u0445", NORM_ALL), "sex");
    /* Uppercase look-alikes are mapped before folding: Н is H, not н. */
    CHECK_STR(norm(&nt, "\u041d\u0415LLO", NORM_ALL), "hello");
    /* Greek omicron and alpha in a Latin word. */
    CHECK_STR(norm(&nt, "c\u03bfin b\u03b1nk", NORM_ALL), "coin bank");
    /* Without the step, only case is folded. */
    CHECK_STR(norm(&nt, "\u0455\u0440\u0430m", NORM_CASEFOLD),
        "\u0455\u0440\u0430m");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_latin_in_cyrillic(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    /* пpивeт with Latin p and e */
    CHECK_STR(norm(&nt, "\u043fpи\u0432e\u0442", NORM_ALL),
        "\u043f\u0440\u0438\u0432\u0435\u0442");
    /* xyйня with Latin x, y; cука with Latin c. */
    CHECK_STR(norm(&nt, "xy\u0439\u043d\u044f", NORM_ALL),
        "\u0445\u0443\u0439\u043d\u044f");
    CHECK_STR(norm(&nt, "c\u0443\u043a\u0430", NORM_ALL),
        "\u0441\u0443\u043a\u0430");
    /* Weak look-alikes go to Cyrillic only in a Cyrillic word: mама. */
    CHECK_STR(norm(&nt, "m\u0430\u043c\u0430", NORM_ALL),
        "\u043c\u0430\u043c\u0430");
    /* Real Russian words made of look-alike letters stay Cyrillic. */
    CHECK_STR(norm(&nt, "\u0441\u043e\u0440 \u0440\u0430\u043a",
        NORM_ALL), "\u0441\u043e\u0440 \u0440\u0430\u043a");
    /* Real Greek stays Greek. */
    CHECK_STR(norm(&nt, "\u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1",
        NORM_ALL), "\u03ba\u03b1\u03bb\u03b7\u03bc\u03ad\u03c1\u03b1");
    /* A word split evenly between decisive letters is left alone. */
    CHECK_STR(norm(&nt, "\u0431d", NORM_ALL), "\u0431d");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_leet(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "m0ney", NORM_ALL), "money");
    CHECK_STR(norm(&nt, "fr33", NORM_ALL), "free");
    CHECK_STR(norm(&nt, "$pam", NORM_ALL), "spam");
    CHECK_STR(norm(&nt, "sh!t sp@m a$$hole h4x0r n00b hell0 l33t 5ex",
        NORM_ALL), "shit spam asshole haxor noob hello leet sex");
    CHECK_STR(norm(&nt, "M0NEY", NORM_ALL), "money");
    /* Russian: 3 is з, 0 is о, 4 is ч, 6 is б, @ is а. */
    CHECK_STR(norm(&nt, "3\u043b\u043e \u04453 0\u043a 4\u0442\u043e "
        "\u0440\u0430\u0431\u043e\u0442@", NORM_ALL),
        "\u0437\u043b\u043e \u0445\u0437 \u043e\u043a \u0447\u0442\u043e "
        "\u0440\u0430\u0431\u043e\u0442@");
    CHECK_STR(norm(&nt, "\u0441\u043f@\u043c \u0440\u044b6\u0430",
        NORM_ALL), "\u0441\u043f\u0430\u043c \u0440\u044b\u0431\u0430");
    /* Leet alone, without look-alikes or folding. */
    CHECK_STR(norm(&nt, "M0NEY", NORM_LEET), "MoNEY");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_numbers_kept(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "2024", NORM_ALL), "2024");
    CHECK_STR(norm(&nt, "10%", NORM_ALL), "10%");
    CHECK_STR(norm(&nt, "+7 999 123-45-67", NORM_ALL), "+7 999 123-45-67");
    CHECK_STR(norm(&nt, "$100 $5.99 100$", NORM_ALL), "$100 $5.99 100$");
    CHECK_STR(norm(&nt, "covid19 win10 10min 24h 2nd 1st b2b", NORM_ALL),
        "covid19 win10 10min 24h 2nd 1st b2b");
    CHECK_STR(norm(&nt, "3.14 1,000,000 0.5", NORM_ALL),
        "3.14 1,000,000 0.5");
    /* Handles, exclamations and stretched punctuation are not letters. */
    CHECK_STR(norm(&nt, "@user hello! wow!!!so !!! @@ $$", NORM_ALL),
        "@user hello! wow!!!so !!! @@ $$");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_repeated_letters(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "freeeeee", NORM_ALL), "free");
    CHECK_STR(norm(&nt, "FREEEE sooooo", NORM_ALL), "free soo");
    /* Two stays two, so "ass" never becomes "as". */
    CHECK_STR(norm(&nt, "asssss ass as", NORM_ALL), "ass ass as");
    CHECK_STR(norm(&nt, "fuuuuuck", NORM_ALL), "fuuck");
    CHECK_STR(norm(&nt, "\u0430\u0430\u0430\u0430\u0430!", NORM_ALL),
        "\u0430\u0430!");
    /* After leet: fr333 is freee, then free. */
    CHECK_STR(norm(&nt, "fr333", NORM_ALL), "free");
    /* Digits and punctuation are not letters. */
    CHECK_STR(norm(&nt, "1000000 !!!!! ...", NORM_ALL),
        "1000000 !!!!! ...");
    CHECK_STR(norm(&nt, "freeeee", NORM_ALL & ~NORM_COLLAPSE), "freeeee");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_spaced_letters(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "f r e e money", NORM_ALL), "free money");
    CHECK_STR(norm(&nt, "get f.r.e.e stuff", NORM_ALL), "get free stuff");
    CHECK_STR(norm(&nt, "F - R - E - E", NORM_ALL), "free");
    /* х.у.й and с у к а */
    CHECK_STR(norm(&nt, "\u0445.\u0443.\u0439", NORM_ALL),
        "\u0445\u0443\u0439");
    CHECK_STR(norm(&nt, "\u0441 \u0443 \u043a \u0430", NORM_ALL),
        "\u0441\u0443\u043a\u0430");
    /* Spaced and disguised at once: ѕ р а m */
    CHECK_STR(norm(&nt, "\u0455 \u0440 \u0430 m", NORM_ALL), "spam");
    /* Two letters are not joined. */
    CHECK_STR(norm(&nt, "a b", NORM_ALL), "a b");
    CHECK_STR(norm(&nt, "plan b a", NORM_ALL), "plan b a");
    /* Three one-letter words (и я в) are a sentence, not a word. */
    CHECK_STR(norm(&nt, "\u0438 \u044f \u0432 \u0448\u043e\u043a\u0435",
        NORM_ALL), "\u0438 \u044f \u0432 \u0448\u043e\u043a\u0435");
    /* Too wide a gap breaks the chain. */
    CHECK_STR(norm(&nt, "f....r....e....e", NORM_ALL), "f....r....e....e");
    CHECK_STR(norm(&nt, "f r e e", NORM_ALL & ~NORM_JOIN), "f r e e");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_casefold(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "\u03a3\u0391\u03a3", NORM_ALL),
        "\u03c3\u03b1\u03c3");
    CHECK_STR(norm(&nt, "\u03c3\u03bf\u03c6\u03cc\u03c2", NORM_ALL),
        "\u03c3\u03bf\u03c6\u03cc\u03c3");
    CHECK_STR(norm(&nt, "Stra\u00dfe", NORM_ALL), "strasse");
    CHECK_STR(norm(&nt, "\u041f\u0420\u0418\u0412\u0415\u0422", NORM_ALL),
        "\u043f\u0440\u0438\u0432\u0435\u0442");
    CHECK_STR(norm(&nt, "\u00c9T\u00c9 \u017b\u00d3\u0141\u0106", NORM_ALL),
        "\u00e9t\u00e9 \u017c\u00f3\u0142\u0107");
    CHECK_STR(norm(&nt, "HeLLo", NORM_CASEFOLD), "hello");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_letters_kept(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "\u017c\u00f3\u0142\u0107 hyv\u00e4\u00e4 "
        "fran\u00e7ais \u0105\u0119 \u00f1", NORM_ALL),
        "\u017c\u00f3\u0142\u0107 hyv\u00e4\u00e4 fran\u00e7ais "
        "\u0105\u0119 \u00f1");
    /* Decomposed input composes to the same letters. */
    CHECK_STR(norm(&nt, "franc\u0327ais hyva\u0308a\u0308", NORM_ALL),
        "fran\u00e7ais hyv\u00e4\u00e4");
    /* Vietnamese: two marks on one base are a letter, not zalgo. */
    CHECK_STR(norm(&nt, "Ti\u1ebfng Vi\u1ec7t e\u0323\u0302", NORM_ALL),
        "ti\u1ebfng vi\u1ec7t \u1ec7");
    /* ё and й are Russian letters, not decorated е and и. */
    CHECK_STR(norm(&nt, "\u0451\u0436 \u0438\u0306", NORM_ALL),
        "\u0451\u0436 \u0439");
    /* Pointed Hebrew and Thai keep their script's marks. */
    CHECK_STR(norm(&nt, "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd",
        NORM_ALL), "\u05e9\u05b8\u05c1\u05dc\u05d5\u05b9\u05dd");
    CHECK_STR(norm(&nt, "\u0e17\u0e35\u0e48", NORM_ALL),
        "\u0e17\u0e35\u0e48");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_zalgo(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "f\u0338\u0322\u031br\u0334\u0328e\u0335\u031ce"
        "\u0336\u0339", NORM_ALL), "free");
    CHECK_STR(norm(&nt, "Z\u0337\u0322\u031b\u0316a\u0334l\u0335g\u0336o"
        "\u0338", NORM_ALL), "zalgo");
    /* Stacked marks are dropped before they compose into another letter. */
    CHECK_STR(norm(&nt, "a\u0308\u0301\u0303\u0304\u0306", NORM_ALL), "a");
    /* Marks with no base at all. */
    CHECK_STR(norm(&nt, "\u0301\u0302\u0303\u0304x", NORM_ALL), "x");
    /* Stress marks and strike-through on Cyrillic go too. */
    CHECK_STR(norm(&nt, "\u043f\u0440\u0438\u0432\u0435\u0301\u0442",
        NORM_ALL), "\u043f\u0440\u0438\u0432\u0435\u0442");
    /* Without the step the marks are kept (NFKC only). */
    CHECK_STR(norm(&nt, "a\u0334", NORM_NFKC), "a\u0334");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_whitespace(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    CHECK_STR(norm(&nt, "  one \t\r\n two\u00a0\u3000\u2003three\u2028four  ",
        NORM_ALL), "one two three four");
    CHECK_STR(norm(&nt, " \u200b ", NORM_ALL), "");
    /* Without collapsing, whitespace characters are NFKC'd, not merged. */
    CHECK_STR(norm(&nt, "a\t b\u00a0c", NORM_NFKC), "a\t b c");
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_invalid_utf8(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    static const struct {
        const char *in;
        size_t len;
        const char *want;
    } cases[] = {
        { "a\xff" "b", 3, "ab" },
        { "fr\x80\x80" "ee", 6, "free" },                /* continuations */
        { "\xc0\xaf" "x", 3, "x" },                      /* overlong / */
        { "\xe0\x80\xaf" "x", 4, "x" },                  /* overlong */
        { "\xed\xa0\x80" "x", 4, "x" },                  /* surrogate */
        { "\xf4\x90\x80\x80" "x", 5, "x" },              /* > U+10FFFF */
        { "x\xd0", 2, "x" },                             /* cut at end */
        { "x\xe2\x80", 3, "x" },
        { "x\xf0\x9f\x98", 4, "x" },
        { "\xd0\xbf\xd0", 3, "\u043f" },
        { "\xfe\xfe\xff\xff", 4, "" },
    };

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        CHECK(normalize_text(cases[i].in, cases[i].len, NORM_ALL, &nt) == 0);
        CHECK_STR(nt.text, cases[i].want);
        CHECK(result_is_sane(&nt, cases[i].len));
    }
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_empty(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    size_t os = 1, oe = 1;

    CHECK(normalize_text(NULL, 0, NORM_ALL, &nt) == 0);
    CHECK(nt.len == 0 && nt.text != NULL && nt.text[0] == '\0');
    CHECK(nt.map[0] == 0 && nt.map_end[0] == 0);
    normalize_span(&nt, 0, 0, &os, &oe);
    CHECK(os == 0 && oe == 0);
    CHECK_STR(norm(&nt, "", NORM_ALL), "");
    /* Nothing left: the end of the original is the one map entry. */
    CHECK_STR(norm(&nt, "\u200b\u200b", NORM_ALL), "");
    CHECK(nt.map[0] == 6 && nt.map_end[0] == 6);
    /* Freeing twice and freeing a zeroed struct are fine. */
    norm_text_free(&nt);
    norm_text_free(&nt);
    norm_text_free(NULL);
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_offsets(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    const char *in;
    size_t os, oe;

    /* Across a removed zero-width space, and a leet digit. */
    in = "Get fr\u200bee m0ney!";
    CHECK_STR(norm(&nt, in, NORM_ALL), "get free money!");
    CHECK(result_is_sane(&nt, strlen(in)));
    CHECK(span_is(&nt, in, "free", "fr\u200bee"));
    CHECK(span_is(&nt, in, "money", "m0ney"));
    CHECK(span_is(&nt, in, "ee", "ee"));
    CHECK(span_is(&nt, in, "free money", "fr\u200bee m0ney"));
    /* Removed characters at the edge of a span stay outside it. */
    in = "\u200bspam\u200b now";
    CHECK_STR(norm(&nt, in, NORM_ALL), "spam now");
    CHECK(span_is(&nt, in, "spam", "spam"));
    /* Four-byte letters become one-byte letters. */
    in = "\U0001D41F\U0001D42B\U0001D41E\U0001D41E money";
    CHECK_STR(norm(&nt, in, NORM_ALL), "free money");
    CHECK(span_is(&nt, in, "re", "\U0001D42B\U0001D41E"));
    CHECK(span_is(&nt, in, "free", "\U0001D41F\U0001D42B\U0001D41E"
        "\U0001D41E"));
    /* Mixed one- and two-byte letters: пpивeт, a piece of the middle. */
    in = "\u043fp\u0438\u0432e\u0442!";
    CHECK_STR(norm(&nt, in, NORM_ALL),
        "\u043f\u0440\u0438\u0432\u0435\u0442!");
    CHECK(span_is(&nt, in, "\u0440\u0438\u0432", "p\u0438\u0432"));
    CHECK(span_is(&nt, in, "\u0435\u0442", "e\u0442"));
    /* A stretch maps back whole; joined letters include their gaps. */
    in = "so freeeeee, f r e e!";
    CHECK_STR(norm(&nt, in, NORM_ALL), "so free, free!");
    CHECK(span_is(&nt, in, "free,", "freeeeee,"));
    CHECK(span_is(&nt, in, "free!", "f r e e!"));
    /* One original character that became two (ß -> ss, ﬁ -> fi). */
    in = "Stra\u00dfe \ufb01ne";
    CHECK_STR(norm(&nt, in, NORM_ALL), "strasse fine");
    CHECK(span_is(&nt, in, "s", "S"));
    CHECK(span_is(&nt, in, "ass", "a\u00df"));
    CHECK(span_is(&nt, in, "i", "\ufb01"));
    /* A base and its combining marks are one character. */
    in = "cafe\u0301!";
    CHECK_STR(norm(&nt, in, NORM_ALL), "caf\u00e9!");
    CHECK(span_is(&nt, in, "\u00e9", "e\u0301"));
    CHECK(result_is_sane(&nt, strlen(in)));
    /* Clamping and empty spans. */
    normalize_span(&nt, 3, 3, &os, &oe);
    CHECK(os == 3 && oe == 3);
    normalize_span(&nt, 0, 1000, &os, &oe);
    CHECK(os == 0 && oe == strlen(in));
    normalize_span(&nt, 1000, 2000, &os, &oe);
    CHECK(os == strlen(in) && oe == strlen(in));
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_reuse(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    char big[4096];

    for (size_t i = 0; i < sizeof(big) - 1; i++)
        big[i] = "Spam M0NEY \xd0\xbf"[i % 13];
    big[sizeof(big) - 1] = '\0';
    big[sizeof(big) - 2] = ' ';
    CHECK(norm(&nt, big, NORM_ALL) != NULL);
    CHECK(result_is_sane(&nt, strlen(big)));
    CHECK(strncmp(nt.text, "spam money \u043f", 12) == 0);
    CHECK_STR(norm(&nt, "Hi", NORM_ALL), "hi");
    CHECK(nt.len == 2 && nt.map[2] == 2);
    CHECK(norm(&nt, big, NORM_ALL) != NULL);
    CHECK(result_is_sane(&nt, strlen(big)));
out:
    norm_text_free(&nt);
    return rc;
}

static int
test_too_long(void)
{
    int rc = 0;
    struct norm_text nt = {0};

    errno = 0;
    /* The length is refused before a byte is read. */
    CHECK(normalize_text("x", (size_t)NORM_MAX_INPUT + 1, NORM_ALL,
        &nt) == -1);
    CHECK(errno == EOVERFLOW);
    CHECK_STR(norm(&nt, "ok", NORM_ALL), "ok");
out:
    norm_text_free(&nt);
    return rc;
}

/* Pseudo-random mixes of the pieces above must keep every invariant. */
static int
test_random_mixes(void)
{
    int rc = 0;
    struct norm_text nt = {0};
    static const char *const piece[] = {
        "a", "Z", "0", "3", "@", "$", "!", " ", ".", "-", "\t",
        "\u200b", "\u00ad", "\u0301", "\u0308", "\u0334", "\u05b8",
        "\u0440", "\u0430", "\u0439", "\u00df", "\ufb01", "\ufdfa",
        "\uff46", "\U0001D41F", "\u1100", "\u1161", "\u11a8", "\uac00",
        "\xff", "\xd0", "\xe2\x80", "\xf0\x9f\x98", "\x80", "\0",
        "\U000E0041", "\u03a3", "\u0130", "\u0e48", "\u3000",
    };
    const size_t npiece = sizeof(piece) / sizeof(piece[0]);
    uint32_t seed = 12345;
    char buf[512];

    for (int iter = 0; iter < 3000; iter++) {
        size_t len = 0;
        int count;

        seed = seed * 1103515245u + 12345u;
        count = (int)((seed >> 16) % 40);
        for (int k = 0; k < count; k++) {
            const char *p;
            size_t pl;

            seed = seed * 1103515245u + 12345u;
            p = piece[(seed >> 16) % npiece];
            pl = p[0] == '\0' ? 1 : strlen(p);
            if (len + pl > sizeof(buf))
                break;
            memcpy(buf + len, p, pl);
            len += pl;
        }
        CHECK(normalize_text(buf, len, NORM_ALL, &nt) == 0);
        CHECK(result_is_sane(&nt, len));
        CHECK(normalize_text(buf, len, iter % (NORM_ALL + 1), &nt) == 0);
        CHECK(result_is_sane(&nt, len));
    }
out:
    norm_text_free(&nt);
    return rc;
}

/* Fail each allocation in turn: -1 and no leak, then success once. */
static int
test_alloc_failure(void)
{
    int rc = 0;
    const char *in = "\u0455\u0440\u0430m fr\u200bee m0ney Stra\u00dfe "
        "f r e e \U0001D41F\U0001D42B";
    bool done = false;

    for (unsigned long n = 1; n < 100 && !done; n++) {
        struct norm_text nt = {0};
        int r;

        alloc_fail_after(n);
        r = normalize_text(in, strlen(in), NORM_ALL, &nt);
        alloc_fail_after(0);
        if (r == 0) {
            done = true;
            if (strcmp(nt.text, "spam free money strasse free fr") != 0)
                rc = -1;
        }
        /* A failed call leaves a struct that can be reused or freed. */
        if (r == -1 && normalize_text("ok", 2, NORM_ALL, &nt) != 0)
            rc = -1;
        norm_text_free(&nt);
        CHECK(rc == 0);
    }
    CHECK(done);
out:
    alloc_fail_after(0);
    return rc;
}

/*
 * Plain ASCII takes a short path under NORM_ALL. Its answer must be the
 * full path's: NORM_ALL without NORM_MARKS (which only touches combining
 * marks, so it changes nothing in ASCII) takes the full path. Texts of
 * letters, spaces and the characters each step looks at, at random.
 */
static int
test_ascii_path(void)
{
    static const char alphabet[] =
        "aaaaeeeiioouunnssttrrlldcmhAEISTx      ...,,--__**''?!@$019";
    struct norm_text fast = { 0 }, full = { 0 };
    char text[48];
    uint32_t x = 88172645u;
    size_t same = 0;
    int rc = 0;

    for (int round = 0; round < 200000; round++) {
        size_t len = (size_t)round % sizeof(text);

        for (size_t i = 0; i < len; i++) {
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            text[i] = alphabet[x % (sizeof(alphabet) - 1)];
        }
        CHECK(normalize_text(text, len, NORM_ALL, &fast) == 0);
        CHECK(normalize_text(text, len, NORM_ALL & ~NORM_MARKS,
            &full) == 0);
        if (fast.len != full.len || memcmp(fast.text, full.text,
            fast.len) != 0 || memcmp(fast.map, full.map, (fast.len + 1) *
            sizeof(*fast.map)) != 0 || memcmp(fast.map_end, full.map_end,
            (fast.len + 1) * sizeof(*fast.map_end)) != 0) {
            fprintf(stderr, "  \"%.*s\": \"%s\" != \"%s\"\n", (int)len, text,
                fast.text, full.text);
            rc = -1;
            break;
        }
        same += len > 0 && fast.len == len;
    }
    /* Enough of them were plain for the short path to be tried. */
    CHECK(same > 1000);
out:
    norm_text_free(&fast);
    norm_text_free(&full);
    return rc;
}

static const struct check_case cases[] = {
    { "issue_examples", test_issue_examples },
    { "ascii_path", test_ascii_path },
    { "invisible", test_invisible },
    { "fullwidth_and_math", test_fullwidth_and_math },
    { "nfkc_equals_whole_string", test_nfkc_equals_whole_string },
    { "cyrillic_in_latin", test_cyrillic_in_latin },
    { "latin_in_cyrillic", test_latin_in_cyrillic },
    { "leet", test_leet },
    { "numbers_kept", test_numbers_kept },
    { "repeated_letters", test_repeated_letters },
    { "spaced_letters", test_spaced_letters },
    { "casefold", test_casefold },
    { "letters_kept", test_letters_kept },
    { "zalgo", test_zalgo },
    { "whitespace", test_whitespace },
    { "invalid_utf8", test_invalid_utf8 },
    { "empty", test_empty },
    { "offsets", test_offsets },
    { "reuse", test_reuse },
    { "too_long", test_too_long },
    { "random_mixes", test_random_mixes },
    { "alloc_failure", test_alloc_failure },
};

CHECK_MAIN(cases)
