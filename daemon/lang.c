/*
 * lang: guess the language of a short message when the platform does not
 * say. rules uses the guess to pick language-scoped rule files. One pass
 * over at most LANG_SCAN_MAX bytes, no allocation: letters are counted by
 * script (Latin, Cyrillic, other), characteristic letters are counted per
 * language, and each word is lowercased into a small stack buffer and
 * looked up in a short list of very common words. The answer is one of
 * "en", "fr", "pl", "fi", "ru", "uk", or NULL when there is too little to
 * go on or the text is in another script. docs/rules.md lists the limits.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "lang.h"

/* Only the head of a long text is looked at; a few sentences suffice. */
#define LANG_SCAN_MAX 4096
/* Fewer letters than this and the answer is NULL. */
#define LANG_MIN_LETTERS 3
/* A lowercased word longer than this (bytes) is no common short word. */
#define LANG_WORD_MAX 24

struct lang_counts {
    unsigned latin;
    unsigned cyrillic;
    unsigned other;         /* letters of other scripts (Greek, CJK...) */
    unsigned ru_letters;    /* ы э ъ ё */
    unsigned uk_letters;    /* і ї є ґ */
    unsigned pl_letters;    /* ą ć ę ł ń ś ź ż */
    unsigned pl_weak;       /* ó (also Spanish, Czech...) and short words */
    unsigned fi_letters;    /* ä ö */
    unsigned fi_weak;       /* double vowels, "on" */
    unsigned fr_letters;    /* é è à ç ê ë î ï ô ù û â œ */
    unsigned en_words;
    unsigned fr_words;
    unsigned pl_words;
    unsigned fi_words;
};

/*
 * Common words that are rare in the other four languages. Words that
 * several of them share ("on", "to", "a", "i", "en", "do", "ma", "me") are
 * left out or only weakly counted.
 */
static const char *const lang_en_words[] = {
    "the", "is", "you", "and", "are", "this", "that", "my", "your", "what",
    "with", "was", "have", "not", "can", "how", "will", "for", "we",
    "they", "it", "of", "in", "be", "please", "thanks", "why", "where",
    "when", "there", "here", "just", "get", "but", "from", "been", "would",
    "don", "very", "love", "who", "any", "our", "has",
};

static const char *const lang_fr_words[] = {
    "le", "la", "les", "est", "pas", "je", "vous", "tu", "une", "des",
    "du", "et", "que", "qui", "ne", "ce", "avec", "pour", "mais", "dans",
    "il", "elle", "nous", "au", "aux", "très", "merci", "bonjour", "sur",
    "mon", "mes", "ton", "sont", "suis", "plus", "rien",
    "chez", "été", "fait", "j", "qu", "c", "ça", "cette", "aussi", "oui",
};

static const char *const lang_pl_words[] = {
    "nie", "jest", "się", "sie", "że", "ze", "jak", "co", "ale", "tak",
    "czy", "mam", "już", "juz", "dla", "przez", "jestem", "bardzo",
    "dzięki", "dzieki", "proszę", "prosze", "mnie", "tylko", "jeszcze",
    "gdzie", "kiedy", "dlaczego", "był", "była", "są", "ja",
    "jego", "mój", "moj", "twój", "ktoś", "coś", "tego", "tym", "być",
};

static const char *const lang_pl_weak_words[] = {
    "w", "z", "na", "po", "od",
};

static const char *const lang_fi_words[] = {
    "ja", "ei", "että", "ole", "olen", "olet", "mutta", "kun", "se",
    "niin", "tämä", "minä", "sinä", "hän", "mitä", "miksi", "kiitos",
    "joo", "nyt", "vain", "myös", "ovat", "oli", "jos", "sitten", "kuin",
    "mikä", "tai", "vielä", "voi", "siis", "mä", "sä", "onko", "kanssa",
    "tää", "tuo", "olla", "missä", "milloin",
};

static bool
lang_in(const char *const *list, size_t n, const char *w)
{
    for (size_t i = 0; i < n; i++) {
        if (strcmp(list[i], w) == 0)
            return true;
    }
    return false;
}

#define LANG_IN(list, w) lang_in((list), sizeof(list) / sizeof((list)[0]), (w))

/*
 * Decode one code point at s[*i] (len bytes in all) and advance *i.
 * Malformed input yields U+FFFD and advances one byte.
 */
static uint32_t
lang_next(const unsigned char *s, size_t len, size_t *i)
{
    size_t p = *i, n;
    uint32_t c = s[p], min;

    if (c < 0x80) {
        *i = p + 1;
        return c;
    }
    if (c >= 0xc2 && c <= 0xdf) {
        n = 1;
        c &= 0x1f;
        min = 0x80;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 2;
        c &= 0x0f;
        min = 0x800;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 3;
        c &= 0x07;
        min = 0x10000;
    } else {
        goto bad;
    }
    if (len - p - 1 < n)
        goto bad;
    for (size_t k = 1; k <= n; k++) {
        if ((s[p + k] & 0xc0) != 0x80)
            goto bad;
        c = (c << 6) | (s[p + k] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        goto bad;
    *i = p + 1 + n;
    return c;
bad:
    *i = p + 1;
    return 0xfffd;
}

/* Lowercase the letters we care about: ASCII, Latin-1, Latin Extended-A,
 * Cyrillic. Others are returned unchanged. */
static uint32_t
lang_lower(uint32_t c)
{
    if (c >= 'A' && c <= 'Z')
        return c + 32;
    if (c < 0xc0)
        return c;
    if (c <= 0xde)
        return c == 0xd7 ? c : c + 32;
    if (c >= 0x100 && c <= 0x17f) {
        /* Case pairs alternate; the parity flips at the ranges below. */
        if ((c <= 0x137 || (c >= 0x14a && c <= 0x177)) && c % 2 == 0)
            return c + 1;
        if (((c >= 0x139 && c <= 0x148) || (c >= 0x179 && c <= 0x17e)) &&
            c % 2 == 1)
            return c + 1;
        if (c == 0x178)
            return 0xff;
        return c;
    }
    if (c >= 0x410 && c <= 0x42f)
        return c + 0x20;
    if (c >= 0x400 && c <= 0x40f)
        return c + 0x50;
    if (c == 0x490)
        return 0x491;
    return c;
}

static bool
lang_is_latin(uint32_t c)
{
    return (c >= 'a' && c <= 'z') || (c >= 0xdf && c <= 0x24f &&
        c != 0xf7) || (c >= 0x1e00 && c <= 0x1eff);
}

static bool
lang_is_cyrillic(uint32_t c)
{
    return c >= 0x400 && c <= 0x52f && !(c >= 0x482 && c <= 0x489);
}

/* Letters of other scripts, roughly: enough to step aside for them. */
static bool
lang_is_other(uint32_t c)
{
    return (c >= 0x370 && c <= 0x3ff) || (c >= 0x530 && c <= 0x1dff) ||
        (c >= 0x3040 && c <= 0x30ff) || (c >= 0x3400 && c <= 0x9fff) ||
        (c >= 0xac00 && c <= 0xd7af);
}

static void
lang_letter(struct lang_counts *n, uint32_t c, uint32_t prev)
{
    switch (c) {
    case 0x44b: case 0x44d: case 0x44a: case 0x451:     /* ы э ъ ё */
        n->ru_letters++;
        break;
    case 0x456: case 0x457: case 0x454: case 0x491:     /* і ї є ґ */
        n->uk_letters++;
        break;
    case 0x105: case 0x107: case 0x119: case 0x142:     /* ą ć ę ł */
    case 0x144: case 0x15b: case 0x17a: case 0x17c:     /* ń ś ź ż */
        n->pl_letters++;
        break;
    case 0xf3:                                          /* ó */
        n->pl_weak++;
        break;
    case 0xe4: case 0xf6:                               /* ä ö */
        n->fi_letters++;
        break;
    case 0xe9: case 0xe8: case 0xe0: case 0xe7: case 0xea:
    case 0xeb: case 0xee: case 0xef: case 0xf4: case 0xf9:
    case 0xfb: case 0xe2: case 0x153:
        n->fr_letters++;
        break;
    default:
        break;
    }
    /* "aa", "ii", "uu", "yy", "ää", "öö" are everywhere in Finnish; "ee"
     * and "oo" are left out, English has too many of them. */
    if (c == prev && (c == 'a' || c == 'i' || c == 'u' || c == 'y' ||
        c == 0xe4 || c == 0xf6))
        n->fi_weak++;
}

static void
lang_word(struct lang_counts *n, const char *w)
{
    if (LANG_IN(lang_en_words, w))
        n->en_words++;
    if (LANG_IN(lang_fr_words, w))
        n->fr_words++;
    if (LANG_IN(lang_pl_words, w))
        n->pl_words++;
    if (LANG_IN(lang_pl_weak_words, w))
        n->pl_weak++;
    if (LANG_IN(lang_fi_words, w))
        n->fi_words++;
    if (strcmp(w, "on") == 0)
        n->fi_weak++;
}

/* Append code point c to the word buffer; false when it does not fit. */
static bool
lang_word_put(char *w, size_t *wl, uint32_t c)
{
    size_t l = *wl;

    if (c < 0x80) {
        if (l + 1 >= LANG_WORD_MAX)
            return false;
        w[l++] = (char)c;
    } else if (c < 0x800) {
        if (l + 2 >= LANG_WORD_MAX)
            return false;
        w[l++] = (char)(0xc0 | (c >> 6));
        w[l++] = (char)(0x80 | (c & 0x3f));
    } else {
        /* No listed word has a letter past U+07FF. */
        return false;
    }
    *wl = l;
    return true;
}

static void
lang_count(struct lang_counts *n, const unsigned char *s, size_t len)
{
    char word[LANG_WORD_MAX];
    size_t i = 0, wl = 0;
    bool in_word = false, word_ok = false;
    uint32_t prev = 0;

    while (i < len) {
        uint32_t c = lang_lower(lang_next(s, len, &i));
        bool latin = lang_is_latin(c), cyr = !latin && lang_is_cyrillic(c);

        if (latin || cyr) {
            if (latin)
                n->latin++;
            else
                n->cyrillic++;
            lang_letter(n, c, prev);
            if (!in_word) {
                in_word = word_ok = true;
                wl = 0;
            }
            if (word_ok)
                word_ok = lang_word_put(word, &wl, c);
            prev = c;
            continue;
        }
        if (lang_is_other(c))
            n->other++;
        if (in_word && word_ok) {
            word[wl] = '\0';
            lang_word(n, word);
        }
        in_word = false;
        prev = 0;
    }
    if (in_word && word_ok) {
        word[wl] = '\0';
        lang_word(n, word);
    }
}

const char *
lang_detect(const char *text, size_t len)
{
    struct lang_counts n;
    unsigned en, fr, pl, fi, best;
    const char *lang;

    if (text == NULL)
        return NULL;
    if (len > LANG_SCAN_MAX) {
        /* Stop at a character boundary so the cut adds no bogus letter. */
        len = LANG_SCAN_MAX;
        while (len > 0 && ((unsigned char)text[len] & 0xc0) == 0x80)
            len--;
    }
    memset(&n, 0, sizeof(n));
    lang_count(&n, (const unsigned char *)text, len);

    if (n.latin + n.cyrillic + n.other < LANG_MIN_LETTERS)
        return NULL;
    if (n.other > n.latin + n.cyrillic)
        return NULL;
    if (n.cyrillic > n.latin) {
        if (n.cyrillic < LANG_MIN_LETTERS)
            return NULL;
        return n.uk_letters > n.ru_letters ? "uk" : "ru";
    }
    if (n.latin < LANG_MIN_LETTERS)
        return NULL;

    /* Distinctive letters weigh most, common words next, weak hints 1. */
    en = 2 * n.en_words;
    fr = 3 * n.fr_letters + 2 * n.fr_words;
    pl = 3 * n.pl_letters + 2 * n.pl_words + n.pl_weak;
    fi = 3 * n.fi_letters + 2 * n.fi_words + n.fi_weak;

    /* Ties go to the first in this order; no evidence at all means en. */
    lang = "en";
    best = en;
    if (fr > best) {
        lang = "fr";
        best = fr;
    }
    if (pl > best) {
        lang = "pl";
        best = pl;
    }
    if (fi > best)
        lang = "fi";
    return lang;
}
