/*
 * normalize: text normalization for rule matching. The rules engine runs
 * its patterns over the folded text this module produces and uses the
 * offset maps to report each hit on the original text. Unicode tables
 * (NFKC, case folding, categories) come from utf8proc; the rest is ours:
 * invisible characters, stacked marks, spaced-out letters, look-alike
 * letters across Latin, Cyrillic and Greek, leet digits and symbols, and
 * stretched letters. docs/normalize.md explains each choice.
 *
 * The work is done on an array of units (one codepoint plus the original
 * byte span it came from), in passes: decode + NFKC (per run of a starter
 * and its combining marks, which is what makes per-character NFKC equal to
 * NFKC of the string), join, look-alikes and leet (per token), case
 * folding, collapsing, and finally encoding to UTF-8 with the two maps.
 * All buffers live in the caller's struct norm_text and are reused.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <utf8proc.h>

#include "alloc.h"
#include "normalize.h"

/* One codepoint of the text being normalized and where it came from. */
struct normalize_unit {
    int32_t cp;
    uint32_t s;         /* original byte span [s, e) */
    uint32_t e;
    uint32_t drop;      /* set by a pass that removes this unit */
};

struct norm_scratch {
    struct normalize_unit *u[2];    /* ping-pong unit arrays */
    size_t ucap[2];
    int32_t *run;                   /* codepoints of the current run */
    size_t run_cap;
    size_t text_cap;                /* bytes in text, NUL included */
    size_t map_cap;                 /* entries in map */
    size_t map_end_cap;             /* entries in map_end */
};

/* State of the decode pass. */
struct normalize_dec {
    struct norm_scratch *sc;
    unsigned flags;
    size_t n;                       /* units written to sc->u[0] */
    size_t run_n;                   /* codepoints in sc->run */
    uint32_t run_s, run_e;
    bool run_open;
};

/* Longest NFKC decomposition of one codepoint is 18 (U+FDFA). */
#define NORMALIZE_DECOMP_MAX 32

#define NORMALIZE_NFKC_OPTS \
    (UTF8PROC_COMPOSE | UTF8PROC_COMPAT | UTF8PROC_STABLE)

enum normalize_script {
    NORMALIZE_SCRIPT_NONE = 0,
    NORMALIZE_SCRIPT_LATIN,
    NORMALIZE_SCRIPT_CYRILLIC,
    NORMALIZE_SCRIPT_GREEK,
    NORMALIZE_SCRIPT_OTHER,
};

/* How much a letter looks like a letter of another script. */
enum normalize_look {
    NORMALIZE_LOOK_NONE = 0,    /* decisive: only its own script has it */
    NORMALIZE_LOOK_WEAK,        /* resembles one: к/k, m/м, n/п */
    NORMALIZE_LOOK_STRONG,      /* same glyph in common fonts: а/a, р/p */
    NORMALIZE_LOOK_FOREIGN,     /* strong, and not a Russian letter: ѕ ј */
};

struct normalize_look_entry {
    uint16_t to;
    uint8_t look;
};

/* ------------------------------------------------------------------ */
/* Look-alike and leet tables (docs/normalize.md mirrors these)        */
/* ------------------------------------------------------------------ */

#define S_ NORMALIZE_LOOK_STRONG
#define W_ NORMALIZE_LOOK_WEAK
#define F_ NORMALIZE_LOOK_FOREIGN

/* ASCII Latin letter -> Cyrillic, used in words that are mostly Cyrillic. */
static const struct normalize_look_entry normalize_lat2cyr[128] = {
    ['a'] = { 0x0430, S_ }, ['c'] = { 0x0441, S_ }, ['e'] = { 0x0435, S_ },
    ['o'] = { 0x043e, S_ }, ['p'] = { 0x0440, S_ }, ['x'] = { 0x0445, S_ },
    ['y'] = { 0x0443, S_ },
    ['k'] = { 0x043a, W_ }, ['m'] = { 0x043c, W_ }, ['n'] = { 0x043f, W_ },
    ['u'] = { 0x0438, W_ }, ['r'] = { 0x0433, W_ },
    ['A'] = { 0x0410, S_ }, ['B'] = { 0x0412, S_ }, ['C'] = { 0x0421, S_ },
    ['E'] = { 0x0415, S_ }, ['H'] = { 0x041d, S_ }, ['K'] = { 0x041a, S_ },
    ['M'] = { 0x041c, S_ }, ['O'] = { 0x041e, S_ }, ['P'] = { 0x0420, S_ },
    ['T'] = { 0x0422, S_ }, ['X'] = { 0x0425, S_ }, ['Y'] = { 0x0423, S_ },
};

/* Cyrillic U+0400..U+052F -> Latin, used in words that are mostly Latin. */
#define NORMALIZE_CYR_FIRST 0x0400
#define NORMALIZE_CYR_LAST  0x052f
static const struct normalize_look_entry normalize_cyr2lat[
    NORMALIZE_CYR_LAST - NORMALIZE_CYR_FIRST + 1] = {
#define C_(cp) [(cp) - NORMALIZE_CYR_FIRST]
    C_(0x0430) = { 'a', S_ }, C_(0x0441) = { 'c', S_ },
    C_(0x0435) = { 'e', S_ }, C_(0x043e) = { 'o', S_ },
    C_(0x0440) = { 'p', S_ }, C_(0x0445) = { 'x', S_ },
    C_(0x0443) = { 'y', S_ }, C_(0x0451) = { 0x00eb, S_ },
    C_(0x0455) = { 's', F_ }, C_(0x0456) = { 'i', S_ },
    C_(0x0458) = { 'j', F_ }, C_(0x0501) = { 'd', F_ },
    C_(0x04bb) = { 'h', F_ }, C_(0x04cf) = { 'l', F_ },
    C_(0x051b) = { 'q', F_ }, C_(0x051d) = { 'w', F_ },
    C_(0x043a) = { 'k', W_ }, C_(0x04af) = { 'y', W_ },
    C_(0x0475) = { 'v', W_ },
    C_(0x0410) = { 'A', S_ }, C_(0x0412) = { 'B', S_ },
    C_(0x0415) = { 'E', S_ }, C_(0x041a) = { 'K', S_ },
    C_(0x041c) = { 'M', S_ }, C_(0x041d) = { 'H', S_ },
    C_(0x041e) = { 'O', S_ }, C_(0x0420) = { 'P', S_ },
    C_(0x0421) = { 'C', S_ }, C_(0x0422) = { 'T', S_ },
    C_(0x0423) = { 'Y', S_ }, C_(0x0425) = { 'X', S_ },
    C_(0x0401) = { 0x00cb, S_ }, C_(0x0405) = { 'S', F_ },
    C_(0x0406) = { 'I', S_ }, C_(0x0408) = { 'J', F_ },
    C_(0x04ba) = { 'H', F_ }, C_(0x04c0) = { 'I', F_ },
    C_(0x051a) = { 'Q', F_ }, C_(0x051c) = { 'W', F_ },
    C_(0x04ae) = { 'Y', S_ },
#undef C_
};

/* Greek U+0370..U+03FF -> Latin, used in words that are mostly Latin. */
#define NORMALIZE_GRK_FIRST 0x0370
#define NORMALIZE_GRK_LAST  0x03ff
static const struct normalize_look_entry normalize_grk2lat[
    NORMALIZE_GRK_LAST - NORMALIZE_GRK_FIRST + 1] = {
#define G_(cp) [(cp) - NORMALIZE_GRK_FIRST]
    G_(0x03b1) = { 'a', S_ }, G_(0x03bf) = { 'o', S_ },
    G_(0x03b9) = { 'i', S_ }, G_(0x03ba) = { 'k', S_ },
    G_(0x03bd) = { 'v', S_ }, G_(0x03c1) = { 'p', S_ },
    G_(0x03c4) = { 't', W_ }, G_(0x03c5) = { 'u', S_ },
    G_(0x03c7) = { 'x', S_ }, G_(0x03c9) = { 'w', W_ },
    G_(0x0391) = { 'A', S_ }, G_(0x0392) = { 'B', S_ },
    G_(0x0395) = { 'E', S_ }, G_(0x0396) = { 'Z', S_ },
    G_(0x0397) = { 'H', S_ }, G_(0x0399) = { 'I', S_ },
    G_(0x039a) = { 'K', S_ }, G_(0x039c) = { 'M', S_ },
    G_(0x039d) = { 'N', S_ }, G_(0x039f) = { 'O', S_ },
    G_(0x03a1) = { 'P', S_ }, G_(0x03a4) = { 'T', S_ },
    G_(0x03a5) = { 'Y', S_ }, G_(0x03a7) = { 'X', S_ },
#undef G_
};

#undef S_
#undef W_
#undef F_

/* Leet: ASCII digit or symbol -> letter, per target script. */
static const uint16_t normalize_leet_lat[128] = {
    ['0'] = 'o', ['1'] = 'i', ['3'] = 'e', ['4'] = 'a', ['5'] = 's',
    ['7'] = 't', ['8'] = 'b', ['9'] = 'g',
    ['@'] = 'a', ['$'] = 's', ['!'] = 'i',
};

static const uint16_t normalize_leet_cyr[128] = {
    ['0'] = 0x043e, ['3'] = 0x0437, ['4'] = 0x0447, ['6'] = 0x0431,
    ['@'] = 0x0430,
};

/* ------------------------------------------------------------------ */
/* Character classes                                                   */
/* ------------------------------------------------------------------ */

static int
normalize_category(int32_t c)
{
    return utf8proc_get_property(c)->category;
}

static bool
normalize_is_letter(int32_t c)
{
    int cat;

    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    cat = normalize_category(c);
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO;
}

static bool
normalize_is_mark(int32_t c)
{
    int cat;

    if (c < 0x300)
        return false;
    cat = normalize_category(c);
    return cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
        cat == UTF8PROC_CATEGORY_ME;
}

static bool
normalize_is_digit(int32_t c)
{
    if (c < 0x80)
        return c >= '0' && c <= '9';
    return normalize_category(c) == UTF8PROC_CATEGORY_ND;
}

/* Letters, marks and digits. */
static bool
normalize_is_alnum(int32_t c)
{
    int cat;

    if (c < 0x80)
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9');
    cat = normalize_category(c);
    /* L*, M* and Nd are contiguous in the category enum. */
    return cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_ND;
}

/* Characters a word is made of, leet symbols included. */
static bool
normalize_is_word(int32_t c)
{
    return normalize_is_alnum(c) || c == '@' || c == '$' || c == '!';
}

static bool
normalize_is_space(int32_t c)
{
    int cat;

    if (c < 0x80)
        return c == ' ' || (c >= '\t' && c <= '\r');
    if (c == 0x85 || c == 0x2800)       /* NEL; braille blank as filler */
        return true;
    cat = normalize_category(c);
    return cat == UTF8PROC_CATEGORY_ZS || cat == UTF8PROC_CATEGORY_ZL ||
        cat == UTF8PROC_CATEGORY_ZP;
}

/*
 * The invisible characters the Rules issue names, plus the Hangul fillers
 * used as blank names. utf8proc's Default_Ignorable flag covers them all
 * today; the list keeps the promise if its table ever shrinks.
 */
static bool
normalize_is_invisible(int32_t c, const utf8proc_property_t *p)
{
    if (p->ignorable)
        return true;
    return c == 0x00ad || c == 0x034f || c == 0x180e ||
        (c >= 0x200b && c <= 0x200f) || (c >= 0x202a && c <= 0x202e) ||
        (c >= 0x2060 && c <= 0x2064) || (c >= 0x2066 && c <= 0x2069) ||
        (c >= 0xfe00 && c <= 0xfe0f) || c == 0xfeff ||
        (c >= 0xe0000 && c <= 0xe007f) || (c >= 0xe0100 && c <= 0xe01ef) ||
        c == 0x115f || c == 0x1160 || c == 0x3164 || c == 0xffa0;
}

/*
 * Marks from the script-neutral combining blocks, the ones zalgo
 * generators stack. Hebrew points, Arabic harakat, Indic and Thai vowel
 * signs are not counted, so pointed text in those scripts is left alone.
 */
static bool
normalize_is_generic_mark(int32_t c)
{
    return (c >= 0x0300 && c <= 0x036f) || (c >= 0x0483 && c <= 0x0489) ||
        (c >= 0x1ab0 && c <= 0x1aff) || (c >= 0x1dc0 && c <= 0x1dff) ||
        (c >= 0x20d0 && c <= 0x20ff) || (c >= 0xfe20 && c <= 0xfe2f);
}

/*
 * True when c (the first codepoint of a decomposition) attaches to the
 * run before it: a non-starter, any mark (some spacing marks compose with
 * combining class 0), or a Hangul medial or final jamo.
 */
static bool
normalize_is_continuation(int32_t c)
{
    const utf8proc_property_t *p;

    if (c < 0x300)
        return false;
    if ((c >= 0x1161 && c <= 0x1175) || (c >= 0x11a8 && c <= 0x11c2))
        return true;
    p = utf8proc_get_property(c);
    return p->combining_class != 0 || p->category == UTF8PROC_CATEGORY_MN ||
        p->category == UTF8PROC_CATEGORY_MC ||
        p->category == UTF8PROC_CATEGORY_ME;
}

static enum normalize_script
normalize_script_of(int32_t c)
{
    if (c < 0x80 || (c >= 0x00c0 && c <= 0x02af) ||
        (c >= 0x1d00 && c <= 0x1dbf) || (c >= 0x1e00 && c <= 0x1eff) ||
        (c >= 0x2c60 && c <= 0x2c7f) || (c >= 0xa720 && c <= 0xa7ff) ||
        (c >= 0xab30 && c <= 0xab6f))
        return NORMALIZE_SCRIPT_LATIN;
    if ((c >= 0x0400 && c <= 0x052f) || (c >= 0x1c80 && c <= 0x1c8f) ||
        (c >= 0x2de0 && c <= 0x2dff) || (c >= 0xa640 && c <= 0xa69f))
        return NORMALIZE_SCRIPT_CYRILLIC;
    if ((c >= 0x0370 && c <= 0x03ff) || (c >= 0x1f00 && c <= 0x1fff))
        return NORMALIZE_SCRIPT_GREEK;
    return NORMALIZE_SCRIPT_OTHER;
}

/* The look-alike of letter c in the other script, or NULL. */
static const struct normalize_look_entry *
normalize_look_of(int32_t c, enum normalize_script sc)
{
    const struct normalize_look_entry *e = NULL;

    switch (sc) {
    case NORMALIZE_SCRIPT_LATIN:
        if (c < 0x80)
            e = &normalize_lat2cyr[c];
        break;
    case NORMALIZE_SCRIPT_CYRILLIC:
        if (c >= NORMALIZE_CYR_FIRST && c <= NORMALIZE_CYR_LAST)
            e = &normalize_cyr2lat[c - NORMALIZE_CYR_FIRST];
        break;
    case NORMALIZE_SCRIPT_GREEK:
        if (c >= NORMALIZE_GRK_FIRST && c <= NORMALIZE_GRK_LAST)
            e = &normalize_grk2lat[c - NORMALIZE_GRK_FIRST];
        break;
    default:
        break;
    }
    return e != NULL && e->to != 0 ? e : NULL;
}

/* Latin ë/Ë and Cyrillic ё/Ё are the one non-ASCII look-alike pair. */
static int32_t
normalize_lat2cyr_of(int32_t c)
{
    const struct normalize_look_entry *e;

    if (c == 0x00eb)
        return 0x0451;
    if (c == 0x00cb)
        return 0x0401;
    e = normalize_look_of(c, NORMALIZE_SCRIPT_LATIN);
    return e != NULL ? e->to : 0;
}

/* ------------------------------------------------------------------ */
/* Buffers                                                             */
/* ------------------------------------------------------------------ */

/*
 * Return p grown to hold need elements of size es (doubling, never
 * shrinking) and update *cap, or NULL with p and *cap untouched.
 */
static void *
normalize_grow(void *p, size_t *cap, size_t need, size_t es)
{
    size_t ncap;
    void *np;

    if (need <= *cap)
        return p;
    ncap = *cap ? *cap : 64;
    while (ncap < need) {
        if (ncap > SIZE_MAX / 2)
            return NULL;
        ncap *= 2;
    }
    if (ncap > SIZE_MAX / es || (np = xrealloc(p, ncap * es)) == NULL)
        return NULL;
    *cap = ncap;
    return np;
}

static struct normalize_unit *
normalize_unit_push(struct norm_scratch *sc, int which, size_t *n)
{
    struct normalize_unit *u;

    u = normalize_grow(sc->u[which], &sc->ucap[which], *n + 1, sizeof(*u));
    if (u == NULL)
        return NULL;
    sc->u[which] = u;
    return &u[(*n)++];
}

/* ------------------------------------------------------------------ */
/* Pass 1: decode, invisible characters, NFKC per run, stacked marks   */
/* ------------------------------------------------------------------ */

/* Canonical ordering: stable sort each stretch of non-starters by class. */
static void
normalize_reorder(int32_t *cp, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        int32_t c = cp[i];
        int cc = utf8proc_get_property(c)->combining_class;
        size_t j = i;

        if (cc == 0)
            continue;
        while (j > 0) {
            int pc = utf8proc_get_property(cp[j - 1])->combining_class;

            if (pc <= cc)
                break;
            cp[j] = cp[j - 1];
            j--;
        }
        cp[j] = c;
    }
}

/*
 * What composition left over on a Latin, Cyrillic or Greek letter is
 * decoration (strike-through, stress marks): every letter of those
 * alphabets that a language needs is precomposed by now, so only the
 * extras go. Returns the new count.
 */
static size_t
normalize_strip_extras(int32_t *cp, size_t n)
{
    size_t w = 1;

    if (n < 2 || !normalize_is_letter(cp[0]) ||
        normalize_script_of(cp[0]) >= NORMALIZE_SCRIPT_OTHER)
        return n;
    for (size_t i = 1; i < n; i++)
        if (!normalize_is_generic_mark(cp[i]))
            cp[w++] = cp[i];
    return w;
}

static int
normalize_emit(struct normalize_dec *d, int32_t cp, uint32_t s, uint32_t e)
{
    struct normalize_unit *u;

    if ((u = normalize_unit_push(d->sc, 0, &d->n)) == NULL)
        return -1;
    u->cp = cp;
    u->s = s;
    u->e = e;
    u->drop = 0;
    return 0;
}

/* Compose the pending run and emit it; every unit gets the run's span. */
static int
normalize_run_flush(struct normalize_dec *d)
{
    int32_t *run = d->sc->run;
    size_t n = d->run_n;

    if (!d->run_open)
        return 0;
    d->run_open = false;
    /*
     * Zalgo: more than two generic marks on one base (counted decomposed,
     * so "ä" and "a" + U+0308 count alike) are all dropped, before they
     * can compose into some other letter.
     */
    if ((d->flags & NORM_MARKS) && n > 2) {
        size_t marks = 0, w = 0;

        for (size_t i = 0; i < n; i++)
            marks += normalize_is_generic_mark(run[i]);
        if (marks > 2) {
            for (size_t i = 0; i < n; i++)
                if (!normalize_is_generic_mark(run[i]))
                    run[w++] = run[i];
            n = w;
        }
    }
    if (n > 1 && (d->flags & NORM_NFKC)) {
        utf8proc_ssize_t r;

        normalize_reorder(run, n);
        r = utf8proc_normalize_utf32(run, (utf8proc_ssize_t)n,
            UTF8PROC_COMPOSE | UTF8PROC_STABLE);
        if (r >= 0)
            n = (size_t)r;
    }
    if (d->flags & NORM_MARKS)
        n = normalize_strip_extras(run, n);
    for (size_t i = 0; i < n; i++)
        if (normalize_emit(d, run[i], d->run_s, d->run_e) == -1)
            return -1;
    return 0;
}

static int
normalize_run_add(struct normalize_dec *d, const int32_t *cp, size_t n)
{
    struct norm_scratch *sc = d->sc;
    int32_t *run;

    run = normalize_grow(sc->run, &sc->run_cap, d->run_n + n, sizeof(*run));
    if (run == NULL)
        return -1;
    sc->run = run;
    memcpy(run + d->run_n, cp, n * sizeof(*run));
    d->run_n += n;
    return 0;
}

static int
normalize_space(struct normalize_dec *d, uint32_t s, uint32_t e)
{
    if (normalize_run_flush(d) == -1)
        return -1;
    if (d->n > 0 && d->sc->u[0][d->n - 1].cp == ' ') {
        d->sc->u[0][d->n - 1].e = e;
        return 0;
    }
    return normalize_emit(d, ' ', s, e);
}

/* One decoded codepoint cp from original bytes [s, e). */
static int
normalize_decode_cp(struct normalize_dec *d, int32_t cp, uint32_t s,
    uint32_t e)
{
    int32_t dec[NORMALIZE_DECOMP_MAX];
    size_t n = 1;
    bool cont;

    dec[0] = cp;
    if (cp < 0xa0 && (cp < 0x20 || cp >= 0x7f)) {
        if ((d->flags & NORM_COLLAPSE) && normalize_is_space(cp))
            return normalize_space(d, s, e);
        if (!normalize_is_space(cp))
            return 0;               /* NUL and other controls go */
    } else if (cp >= 0x80) {
        const utf8proc_property_t *p = utf8proc_get_property(cp);

        if ((d->flags & NORM_INVISIBLE) && normalize_is_invisible(cp, p))
            return 0;
        if ((d->flags & NORM_COLLAPSE) && normalize_is_space(cp))
            return normalize_space(d, s, e);
        if (d->flags & NORM_NFKC) {
            utf8proc_ssize_t r = utf8proc_decompose_char(cp, dec,
                NORMALIZE_DECOMP_MAX, NORMALIZE_NFKC_OPTS, NULL);

            if (r < 1 || r > NORMALIZE_DECOMP_MAX) {
                dec[0] = cp;
                r = 1;
            }
            n = (size_t)r;
        }
    } else if (cp == ' ' && (d->flags & NORM_COLLAPSE)) {
        return normalize_space(d, s, e);
    }

    cont = d->run_open && normalize_is_continuation(dec[0]);
    if (!cont) {
        if (normalize_run_flush(d) == -1)
            return -1;
        d->run_open = true;
        d->run_n = 0;
        d->run_s = s;
    }
    d->run_e = e;
    return normalize_run_add(d, dec, n);
}

static int
normalize_decode(struct normalize_dec *d, const unsigned char *s,
    size_t len)
{
    size_t pos = 0;

    while (pos < len) {
        int32_t cp;
        size_t start = pos;

        if (s[pos] < 0x80) {
            cp = s[pos++];
            /*
             * Fast path: printable ASCII followed by ASCII is a run of its
             * own; nothing after it can attach.
             */
            if (cp > ' ' && cp < 0x7f && (pos == len || s[pos] < 0x80)) {
                if (normalize_run_flush(d) == -1 ||
                    normalize_emit(d, cp, (uint32_t)start,
                    (uint32_t)pos) == -1)
                    return -1;
                continue;
            }
        } else {
            utf8proc_ssize_t r = utf8proc_iterate(s + pos,
                (utf8proc_ssize_t)(len - pos), &cp);

            if (r < 1) {
                pos++;              /* invalid byte: dropped */
                continue;
            }
            pos += (size_t)r;
        }
        if (normalize_decode_cp(d, cp, (uint32_t)start,
            (uint32_t)pos) == -1)
            return -1;
    }
    return normalize_run_flush(d);
}

/* ------------------------------------------------------------------ */
/* Pass 2: join single letters spelled apart                           */
/* ------------------------------------------------------------------ */

/* Separators between spelled-out letters: spaces and . - _ * */
static bool
normalize_is_join_sep(int32_t c)
{
    return c == '.' || c == '-' || c == '_' || c == '*' ||
        normalize_is_space(c);
}

/* One-letter words; three of them in a row are a sentence, not a word. */
static bool
normalize_is_letter_word(int32_t c)
{
    switch (c) {
    case 'a': case 'A': case 'i': case 'I': case 'o': case 'O':
    case 0x0430: case 0x0410: case 0x0431: case 0x0411:     /* а б */
    case 0x0432: case 0x0412: case 0x0436: case 0x0416:     /* в ж */
    case 0x0438: case 0x0418: case 0x043a: case 0x041a:     /* и к */
    case 0x043e: case 0x041e: case 0x0441: case 0x0421:     /* о с */
    case 0x0443: case 0x0423: case 0x044f: case 0x042f:     /* у я */
        return true;
    default:
        return false;
    }
}

/*
 * If a one-letter word (a letter plus its marks, with no letter or digit
 * on either side) starts at i, return the index just past it; else 0.
 */
static size_t
normalize_single_at(const struct normalize_unit *u, size_t n, size_t i)
{
    size_t j;

    if (i >= n || !normalize_is_letter(u[i].cp))
        return 0;
    if (i > 0 && normalize_is_alnum(u[i - 1].cp))
        return 0;
    for (j = i + 1; j < n && normalize_is_mark(u[j].cp); j++)
        ;
    if (j < n && normalize_is_alnum(u[j].cp))
        return 0;
    return j;
}

static void
normalize_join(struct normalize_unit *u, size_t *np)
{
    size_t n = *np, i = 0, w = 0;

    while (i < n) {
        size_t first = i, end, count = 1;
        bool all_words;

        if ((end = normalize_single_at(u, n, i)) == 0) {
            i++;
            continue;
        }
        all_words = normalize_is_letter_word(u[i].cp);
        for (;;) {
            size_t g = end, next;

            while (g < n && g - end < 4 && normalize_is_join_sep(u[g].cp))
                g++;
            if (g == end || g - end > 3 ||
                (next = normalize_single_at(u, n, g)) == 0)
                break;
            all_words = all_words && normalize_is_letter_word(u[g].cp);
            count++;
            end = next;
        }
        if (count >= 4 || (count == 3 && !all_words)) {
            for (size_t k = first; k < end; k++)
                if (normalize_is_join_sep(u[k].cp))
                    u[k].drop = 1;
        }
        i = end;
    }
    for (i = 0; i < n; i++)
        if (!u[i].drop)
            u[w++] = u[i];
    *np = w;
}

/* ------------------------------------------------------------------ */
/* Pass 3: look-alike letters and leet, one token at a time            */
/* ------------------------------------------------------------------ */

struct normalize_votes {
    unsigned dec[NORMALIZE_SCRIPT_OTHER + 1];       /* no look-alike */
    unsigned weak[NORMALIZE_SCRIPT_OTHER + 1];
    unsigned strong[NORMALIZE_SCRIPT_OTHER + 1];    /* foreign included */
    unsigned foreign;                               /* ѕ ј ԁ һ ... */
    unsigned letters;
};

static void
normalize_vote(struct normalize_votes *v, int32_t c)
{
    enum normalize_script sc = normalize_script_of(c);
    const struct normalize_look_entry *e = normalize_look_of(c, sc);

    v->letters++;
    if (c == 0x00eb || c == 0x00cb)
        v->strong[sc]++;
    else if (e == NULL)
        v->dec[sc]++;
    else if (e->look == NORMALIZE_LOOK_WEAK)
        v->weak[sc]++;
    else {
        v->strong[sc]++;
        if (e->look == NORMALIZE_LOOK_FOREIGN)
            v->foreign++;
    }
}

/*
 * Which script the word is written in: NONE leaves its letters alone.
 * Decisive letters (no look-alike) outvote weak look-alikes, which outvote
 * strong ones; a tie between Latin and Cyrillic decisive letters is left
 * alone; a word made only of strong look-alikes keeps its script unless it
 * mixes scripts or uses a Cyrillic letter Russian does not have (ѕех).
 */
static enum normalize_script
normalize_target(const struct normalize_votes *v)
{
    const enum normalize_script lat_sc = NORMALIZE_SCRIPT_LATIN;
    const enum normalize_script cyr_sc = NORMALIZE_SCRIPT_CYRILLIC;
    const enum normalize_script grk_sc = NORMALIZE_SCRIPT_GREEK;
    unsigned lat = v->dec[lat_sc] + v->weak[lat_sc] + v->strong[lat_sc];
    unsigned cyr = v->dec[cyr_sc] + v->weak[cyr_sc] + v->strong[cyr_sc];
    unsigned grk = v->dec[grk_sc] + v->weak[grk_sc] + v->strong[grk_sc];
    unsigned other = v->dec[NORMALIZE_SCRIPT_OTHER] + grk;

    if (lat + cyr == 0 || other >= lat + cyr) {
        /* Greek look-alikes beside Latin letters still go to Latin. */
        if (v->dec[grk_sc] == 0 && lat > 0 &&
            v->dec[NORMALIZE_SCRIPT_OTHER] == 0)
            return lat_sc;
        return NORMALIZE_SCRIPT_NONE;
    }
    if (v->dec[lat_sc] || v->dec[cyr_sc]) {
        unsigned ls = 2 * v->dec[lat_sc] + v->weak[lat_sc];
        unsigned cs = 2 * v->dec[cyr_sc] + v->weak[cyr_sc];

        if (v->dec[cyr_sc] == 0)
            return lat_sc;
        if (v->dec[lat_sc] == 0)
            return cyr_sc;
        return ls > cs ? lat_sc : cs > ls ? cyr_sc : NORMALIZE_SCRIPT_NONE;
    }
    if (v->weak[lat_sc] || v->weak[cyr_sc])
        return v->weak[cyr_sc] > v->weak[lat_sc] ? cyr_sc : lat_sc;
    if (v->strong[lat_sc] && v->strong[cyr_sc])
        return v->strong[cyr_sc] > v->strong[lat_sc] ? cyr_sc : lat_sc;
    if (v->strong[cyr_sc])
        return v->foreign ? lat_sc : cyr_sc;
    return lat_sc;
}

static void
normalize_map_letters(struct normalize_unit *u, size_t ts, size_t te,
    enum normalize_script target)
{
    for (size_t i = ts; i < te; i++) {
        int32_t c = u[i].cp, to = 0;
        enum normalize_script sc;
        const struct normalize_look_entry *e;

        if (!normalize_is_letter(c))
            continue;
        sc = normalize_script_of(c);
        if (sc == target)
            continue;
        if (target == NORMALIZE_SCRIPT_CYRILLIC &&
            sc == NORMALIZE_SCRIPT_LATIN) {
            to = normalize_lat2cyr_of(c);
        } else if (target == NORMALIZE_SCRIPT_LATIN &&
            (sc == NORMALIZE_SCRIPT_CYRILLIC || sc == NORMALIZE_SCRIPT_GREEK)) {
            if ((e = normalize_look_of(c, sc)) != NULL)
                to = e->to;
        }
        if (to != 0)
            u[i].cp = to;
    }
}

static bool
normalize_is_ordinal(const struct normalize_unit *u, size_t i, size_t te)
{
    int32_t a, b;

    if (te - i != 2)
        return false;
    a = u[i].cp | 0x20;
    b = u[i + 1].cp | 0x20;
    return (a == 's' && b == 't') || (a == 'n' && b == 'd') ||
        (a == 'r' && b == 'd') || (a == 't' && b == 'h');
}

/*
 * Digits inside a word become letters, but numbers stay numbers: a
 * leading run of two or more digits ("10min", "24h"), an ordinal ("2nd"),
 * a trailing run of two or more different digits ("win10", "covid19"),
 * and any run holding a digit the table lacks ("b2b") are kept.
 */
static void
normalize_leet_digits(struct normalize_unit *u, size_t ts, size_t te,
    const uint16_t *table)
{
    size_t i = ts;

    while (i < te) {
        size_t j = i;
        bool known = true, same = true;

        if (!normalize_is_digit(u[i].cp)) {
            i++;
            continue;
        }
        for (; j < te && normalize_is_digit(u[j].cp); j++) {
            if (u[j].cp >= 0x80 || table[u[j].cp] == 0)
                known = false;
            if (u[j].cp != u[i].cp)
                same = false;
        }
        if (known && i == ts && (j - i >= 2 || normalize_is_ordinal(u, j, te)))
            known = false;
        if (known && j == te && i > ts && j - i >= 2 && !same)
            known = false;
        if (known)
            for (size_t k = i; k < j; k++)
                u[k].cp = table[u[k].cp];
        i = j;
    }
}

/*
 * '$' becomes a letter anywhere but at the end of a word ("$pam",
 * "a$$hole"); '@' and '!' only between two word characters that are not
 * symbols ("sp@m", "sh!t"), so "@user" and "wow!!!so" stay as they are.
 */
static void
normalize_leet_symbols(struct normalize_unit *u, size_t ts, size_t te,
    const uint16_t *table)
{
    for (size_t i = ts; i < te; i++) {
        int32_t c = u[i].cp;

        if (c != '$' && c != '@' && c != '!')
            continue;
        if (table[c] == 0)
            continue;
        if (c == '$') {
            size_t j = i;

            while (j < te && u[j].cp == '$')
                j++;
            if (j < te)
                u[i].cp = table[c];
            continue;
        }
        if (i > ts && i + 1 < te && u[i - 1].cp != c && u[i + 1].cp != c &&
            u[i - 1].cp != '$' && u[i + 1].cp != '$')
            u[i].cp = table[c];
    }
}

static void
normalize_token(struct normalize_unit *u, size_t ts, size_t te,
    unsigned flags)
{
    struct normalize_votes v;
    enum normalize_script target, leet;
    bool ascii = true, has_leet = false;

    /* Symbols at the edges are punctuation or handles, not letters. */
    while (ts < te && (u[ts].cp == '@' || u[ts].cp == '!'))
        ts++;
    while (te > ts && (u[te - 1].cp == '@' || u[te - 1].cp == '!' ||
        u[te - 1].cp == '$'))
        te--;
    if (ts == te)
        return;

    memset(&v, 0, sizeof(v));
    for (size_t i = ts; i < te; i++) {
        int32_t c = u[i].cp;

        if (c >= 0x80)
            ascii = false;
        if (normalize_is_letter(c))
            normalize_vote(&v, c);
        else if (c < 0x80)
            has_leet = true;        /* an ASCII digit, '@', '$' or '!' */
    }
    if (v.letters == 0)
        return;                     /* "2024", "$100": numbers */

    target = ascii ? NORMALIZE_SCRIPT_LATIN : normalize_target(&v);
    if ((flags & NORM_CONFUSABLES) && !ascii &&
        target != NORMALIZE_SCRIPT_NONE)
        normalize_map_letters(u, ts, te, target);

    if (!(flags & NORM_LEET) || !has_leet)
        return;
    leet = target;
    if (leet == NORMALIZE_SCRIPT_NONE) {
        /* Letters left alone still say which leet table applies. */
        const enum normalize_script lat_sc = NORMALIZE_SCRIPT_LATIN;
        const enum normalize_script cyr_sc = NORMALIZE_SCRIPT_CYRILLIC;
        unsigned lat = v.dec[lat_sc] + v.weak[lat_sc] + v.strong[lat_sc];
        unsigned cyr = v.dec[cyr_sc] + v.weak[cyr_sc] + v.strong[cyr_sc];

        if (lat + cyr == 0)
            return;
        leet = cyr > lat ? NORMALIZE_SCRIPT_CYRILLIC : NORMALIZE_SCRIPT_LATIN;
    }
    if (leet != NORMALIZE_SCRIPT_LATIN && leet != NORMALIZE_SCRIPT_CYRILLIC)
        return;
    normalize_leet_digits(u, ts, te, leet == NORMALIZE_SCRIPT_LATIN ?
        normalize_leet_lat : normalize_leet_cyr);
    normalize_leet_symbols(u, ts, te, leet == NORMALIZE_SCRIPT_LATIN ?
        normalize_leet_lat : normalize_leet_cyr);
}

static void
normalize_tokens(struct normalize_unit *u, size_t n, unsigned flags)
{
    size_t i = 0;

    while (i < n) {
        size_t j;

        if (!normalize_is_word(u[i].cp)) {
            i++;
            continue;
        }
        for (j = i; j < n && normalize_is_word(u[j].cp); j++)
            ;
        normalize_token(u, i, j, flags);
        i = j;
    }
}

/* ------------------------------------------------------------------ */
/* Pass 4: case folding (may grow: ß -> ss), into the second array     */
/* ------------------------------------------------------------------ */

static int
normalize_casefold(struct norm_scratch *sc, size_t n, size_t *nout,
    unsigned flags)
{
    utf8proc_option_t opts = UTF8PROC_CASEFOLD;
    size_t w = 0;

    if (flags & NORM_NFKC)
        opts |= NORMALIZE_NFKC_OPTS;
    for (size_t i = 0; i < n; i++) {
        struct normalize_unit in = sc->u[0][i], *o;
        int32_t dec[NORMALIZE_DECOMP_MAX];
        utf8proc_ssize_t r = 1;

        dec[0] = in.cp;
        if (in.cp < 0x80) {
            if (in.cp >= 'A' && in.cp <= 'Z')
                dec[0] = in.cp + ('a' - 'A');
        } else if (utf8proc_get_property(in.cp)->casefold_seqindex !=
            UINT16_MAX) {
            r = utf8proc_decompose_char(in.cp, dec, NORMALIZE_DECOMP_MAX,
                opts, NULL);
            if (r < 1 || r > NORMALIZE_DECOMP_MAX) {
                dec[0] = in.cp;
                r = 1;
            } else if (r > 1 && (flags & NORM_NFKC)) {
                normalize_reorder(dec, (size_t)r);
                r = utf8proc_normalize_utf32(dec, r,
                    UTF8PROC_COMPOSE | UTF8PROC_STABLE);
                if (r < 1)
                    r = 1;
            }
            if (flags & NORM_MARKS)
                r = (utf8proc_ssize_t)normalize_strip_extras(dec, (size_t)r);
        }
        for (utf8proc_ssize_t k = 0; k < r; k++) {
            if ((o = normalize_unit_push(sc, 1, &w)) == NULL)
                return -1;
            *o = in;
            o->cp = dec[k];
        }
    }
    *nout = w;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Pass 5: collapse stretched letters and spaces                       */
/* ------------------------------------------------------------------ */

/*
 * A run of three or more of the same letter keeps two: "freeeee" is
 * "free", "asssss" is "ass" (not "as"), "fuuuck" is "fuuck" (rules say
 * "fu+ck"). The second kept letter's span covers the whole stretch.
 */
static void
normalize_collapse(struct normalize_unit *u, size_t *np)
{
    size_t n = *np, w = 0;

    for (size_t i = 0; i < n; i++) {
        if (u[i].cp == ' ') {
            if (w == 0)
                continue;           /* leading space */
            if (u[w - 1].cp == ' ') {
                u[w - 1].e = u[i].e;
                continue;
            }
        } else if (w >= 2 && u[w - 1].cp == u[i].cp &&
            u[w - 2].cp == u[i].cp && normalize_is_letter(u[i].cp)) {
            u[w - 1].e = u[i].e;
            continue;
        }
        u[w++] = u[i];
    }
    if (w > 0 && u[w - 1].cp == ' ')
        w--;                        /* trailing space */
    *np = w;
}

/* ------------------------------------------------------------------ */
/* Pass 6: encode, with the maps                                       */
/* ------------------------------------------------------------------ */

/* Room in out for a text of n bytes and its maps. */
static int
normalize_out_room(struct norm_text *out, size_t n)
{
    struct norm_scratch *sc = out->scratch;
    void *p;

    if ((p = normalize_grow(out->text, &sc->text_cap, n + 1, 1)) == NULL)
        return -1;
    out->text = p;
    if ((p = normalize_grow(out->map, &sc->map_cap, n + 1,
        sizeof(uint32_t))) == NULL)
        return -1;
    out->map = p;
    if ((p = normalize_grow(out->map_end, &sc->map_end_cap, n + 1,
        sizeof(uint32_t))) == NULL)
        return -1;
    out->map_end = p;
    return 0;
}

static int
normalize_encode(struct norm_text *out, const struct normalize_unit *u,
    size_t n, uint32_t orig_len)
{
    size_t bytes = 0, pos = 0;

    for (size_t i = 0; i < n; i++) {
        int32_t c = u[i].cp;

        bytes += c < 0x80 ? 1 : c < 0x800 ? 2 : c < 0x10000 ? 3 : 4;
    }
    if (normalize_out_room(out, bytes) == -1)
        return -1;
    for (size_t i = 0; i < n; i++) {
        utf8proc_ssize_t k = utf8proc_encode_char(u[i].cp,
            (utf8proc_uint8_t *)out->text + pos);

        for (utf8proc_ssize_t b = 0; b < k; b++) {
            out->map[pos] = u[i].s;
            out->map_end[pos] = u[i].e;
            pos++;
        }
    }
    out->text[pos] = '\0';
    out->map[pos] = orig_len;
    out->map_end[pos] = orig_len;
    out->len = pos;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Plain ASCII                                                         */
/* ------------------------------------------------------------------ */

static bool
normalize_ascii_letter(unsigned char c)
{
    return (c | 0x20) >= 'a' && (c | 0x20) <= 'z';
}

/*
 * Would every step but case folding leave this text as it is? True only
 * for printable ASCII with single spaces inside, no digit or '@', '$',
 * '!' (which leet may read as letters), no three of a letter in a row,
 * and no two one-letter words with only separators (. - _ * and spaces)
 * between them, which is where joining could start. Anything else takes
 * the full path; normalize_test compares the two.
 */
static bool
normalize_ascii_plain(const unsigned char *s, size_t len)
{
    size_t last_single_end = 0;     /* 0: no one-letter word yet */

    if (len == 0 || s[0] == ' ' || s[len - 1] == ' ')
        return false;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = s[i];

        if (c < 0x20 || c > 0x7e || (c >= '0' && c <= '9') || c == '@' ||
            c == '$' || c == '!')
            return false;
        if (c == ' ' && s[i + 1] == ' ')
            return false;           /* i + 1 < len: no space ends s */
        if (!normalize_ascii_letter(c))
            continue;
        if (i >= 2 && (c | 0x20) == (s[i - 1] | 0x20) &&
            (c | 0x20) == (s[i - 2] | 0x20))
            return false;
        /* A one-letter word: no letter (digits are excluded) beside it. */
        if ((i == 0 || !normalize_ascii_letter(s[i - 1])) &&
            (i + 1 == len || !normalize_ascii_letter(s[i + 1]))) {
            if (last_single_end > 0) {
                size_t k = last_single_end;

                while (k < i && normalize_is_join_sep(s[k]))
                    k++;
                if (k == i && i - last_single_end <= 3)
                    return false;
            }
            last_single_end = i + 1;
        }
    }
    return true;
}

/* The text lowercased, each byte mapped to itself. */
static int
normalize_ascii(const char *s, size_t len, struct norm_text *out)
{
    if (normalize_out_room(out, len) == -1)
        return -1;
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];

        out->text[i] = (char)(c >= 'A' && c <= 'Z' ? c + 32 : c);
        out->map[i] = (uint32_t)i;
        out->map_end[i] = (uint32_t)i + 1;
    }
    out->text[len] = '\0';
    out->map[len] = (uint32_t)len;
    out->map_end[len] = (uint32_t)len;
    out->len = len;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

int
normalize_text(const char *s, size_t len, unsigned flags,
    struct norm_text *out)
{
    struct normalize_dec d;
    struct norm_scratch *sc;
    struct normalize_unit *u;
    size_t n;

    out->len = 0;
    if (out->text != NULL)
        out->text[0] = '\0';
    if (len > NORM_MAX_INPUT) {
        errno = EOVERFLOW;
        goto fail;
    }
    if (out->scratch == NULL &&
        (out->scratch = xcalloc(1, sizeof(*out->scratch))) == NULL)
        goto fail;
    sc = out->scratch;

    /* Most comments in Latin script are plain ASCII that only folding
     * changes: the passes below would cost 300 instructions a byte. */
    if (flags == NORM_ALL &&
        normalize_ascii_plain((const unsigned char *)s, len)) {
        if (normalize_ascii(s, len, out) == -1)
            goto fail;
        return 0;
    }

    memset(&d, 0, sizeof(d));
    d.sc = sc;
    d.flags = flags;
    if (normalize_decode(&d, (const unsigned char *)s, len) == -1)
        goto fail;
    n = d.n;
    u = sc->u[0];

    if ((flags & NORM_JOIN) && n > 0)
        normalize_join(u, &n);
    if ((flags & (NORM_CONFUSABLES | NORM_LEET)) && n > 0)
        normalize_tokens(u, n, flags);
    if ((flags & NORM_CASEFOLD) && n > 0) {
        if (normalize_casefold(sc, n, &n, flags) == -1)
            goto fail;
        u = sc->u[1];
    }
    if ((flags & NORM_COLLAPSE) && n > 0)
        normalize_collapse(u, &n);
    if (normalize_encode(out, u, n, (uint32_t)len) == -1)
        goto fail;
    return 0;

fail:
    /* Nothing to release: every buffer stays with out for the next call. */
    out->len = 0;
    if (out->text != NULL)
        out->text[0] = '\0';
    return -1;
}

void
normalize_span(const struct norm_text *nt, size_t s, size_t e, size_t *os,
    size_t *oe)
{
    if (e > nt->len)
        e = nt->len;
    if (s > e)
        s = e;
    *os = nt->map[s];
    *oe = s < e ? nt->map_end[e - 1] : *os;
    if (*oe < *os)
        *oe = *os;
}

void
norm_text_free(struct norm_text *nt)
{
    if (nt == NULL)
        return;
    if (nt->scratch != NULL) {
        xfree(nt->scratch->u[0]);
        xfree(nt->scratch->u[1]);
        xfree(nt->scratch->run);
        XFREE(&nt->scratch);
    }
    XFREE(&nt->text);
    XFREE(&nt->map);
    XFREE(&nt->map_end);
    nt->len = 0;
}
