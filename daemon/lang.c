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
 * Common words that are rare in the other four languages, with the
 * languages they count for. Words that several of them share ("on", "to",
 * "a", "i", "en", "do", "ma", "me") are left out or only weakly counted.
 * Kept in byte order (strcmp) for the binary search of lang_word;
 * tests/unit/lang_test.c checks the order.
 */
enum {
    LANG_W_EN = 1 << 0,
    LANG_W_FR = 1 << 1,
    LANG_W_PL = 1 << 2,
    LANG_W_PL_WEAK = 1 << 3,    /* w z na po od: weak Polish hints */
    LANG_W_FI = 1 << 4,
    LANG_W_FI_WEAK = 1 << 5,    /* "on" */
};

static const struct lang_word_entry {
    const char *word;
    unsigned langs;
} lang_words[] = {
    { "ale", LANG_W_PL },
    { "and", LANG_W_EN },
    { "any", LANG_W_EN },
    { "are", LANG_W_EN },
    { "au", LANG_W_FR },
    { "aussi", LANG_W_FR },
    { "aux", LANG_W_FR },
    { "avec", LANG_W_FR },
    { "bardzo", LANG_W_PL },
    { "be", LANG_W_EN },
    { "been", LANG_W_EN },
    { "bonjour", LANG_W_FR },
    { "but", LANG_W_EN },
    { "być", LANG_W_PL },
    { "był", LANG_W_PL },
    { "była", LANG_W_PL },
    { "c", LANG_W_FR },
    { "can", LANG_W_EN },
    { "ce", LANG_W_FR },
    { "cette", LANG_W_FR },
    { "chez", LANG_W_FR },
    { "co", LANG_W_PL },
    { "coś", LANG_W_PL },
    { "czy", LANG_W_PL },
    { "dans", LANG_W_FR },
    { "des", LANG_W_FR },
    { "dla", LANG_W_PL },
    { "dlaczego", LANG_W_PL },
    { "don", LANG_W_EN },
    { "du", LANG_W_FR },
    { "dzieki", LANG_W_PL },
    { "dzięki", LANG_W_PL },
    { "ei", LANG_W_FI },
    { "elle", LANG_W_FR },
    { "est", LANG_W_FR },
    { "et", LANG_W_FR },
    { "että", LANG_W_FI },
    { "fait", LANG_W_FR },
    { "for", LANG_W_EN },
    { "from", LANG_W_EN },
    { "gdzie", LANG_W_PL },
    { "get", LANG_W_EN },
    { "has", LANG_W_EN },
    { "have", LANG_W_EN },
    { "here", LANG_W_EN },
    { "how", LANG_W_EN },
    { "hän", LANG_W_FI },
    { "il", LANG_W_FR },
    { "in", LANG_W_EN },
    { "is", LANG_W_EN },
    { "it", LANG_W_EN },
    { "j", LANG_W_FR },
    { "ja", LANG_W_PL | LANG_W_FI },
    { "jak", LANG_W_PL },
    { "je", LANG_W_FR },
    { "jego", LANG_W_PL },
    { "jest", LANG_W_PL },
    { "jestem", LANG_W_PL },
    { "jeszcze", LANG_W_PL },
    { "joo", LANG_W_FI },
    { "jos", LANG_W_FI },
    { "just", LANG_W_EN },
    { "juz", LANG_W_PL },
    { "już", LANG_W_PL },
    { "kanssa", LANG_W_FI },
    { "kiedy", LANG_W_PL },
    { "kiitos", LANG_W_FI },
    { "ktoś", LANG_W_PL },
    { "kuin", LANG_W_FI },
    { "kun", LANG_W_FI },
    { "la", LANG_W_FR },
    { "le", LANG_W_FR },
    { "les", LANG_W_FR },
    { "love", LANG_W_EN },
    { "mais", LANG_W_FR },
    { "mam", LANG_W_PL },
    { "merci", LANG_W_FR },
    { "mes", LANG_W_FR },
    { "miksi", LANG_W_FI },
    { "mikä", LANG_W_FI },
    { "milloin", LANG_W_FI },
    { "minä", LANG_W_FI },
    { "missä", LANG_W_FI },
    { "mitä", LANG_W_FI },
    { "mnie", LANG_W_PL },
    { "moj", LANG_W_PL },
    { "mon", LANG_W_FR },
    { "mutta", LANG_W_FI },
    { "my", LANG_W_EN },
    { "myös", LANG_W_FI },
    { "mä", LANG_W_FI },
    { "mój", LANG_W_PL },
    { "na", LANG_W_PL_WEAK },
    { "ne", LANG_W_FR },
    { "nie", LANG_W_PL },
    { "niin", LANG_W_FI },
    { "not", LANG_W_EN },
    { "nous", LANG_W_FR },
    { "nyt", LANG_W_FI },
    { "od", LANG_W_PL_WEAK },
    { "of", LANG_W_EN },
    { "ole", LANG_W_FI },
    { "olen", LANG_W_FI },
    { "olet", LANG_W_FI },
    { "oli", LANG_W_FI },
    { "olla", LANG_W_FI },
    { "on", LANG_W_FI_WEAK },
    { "onko", LANG_W_FI },
    { "oui", LANG_W_FR },
    { "our", LANG_W_EN },
    { "ovat", LANG_W_FI },
    { "pas", LANG_W_FR },
    { "please", LANG_W_EN },
    { "plus", LANG_W_FR },
    { "po", LANG_W_PL_WEAK },
    { "pour", LANG_W_FR },
    { "prosze", LANG_W_PL },
    { "proszę", LANG_W_PL },
    { "przez", LANG_W_PL },
    { "qu", LANG_W_FR },
    { "que", LANG_W_FR },
    { "qui", LANG_W_FR },
    { "rien", LANG_W_FR },
    { "se", LANG_W_FI },
    { "sie", LANG_W_PL },
    { "siis", LANG_W_FI },
    { "sinä", LANG_W_FI },
    { "sitten", LANG_W_FI },
    { "się", LANG_W_PL },
    { "sont", LANG_W_FR },
    { "suis", LANG_W_FR },
    { "sur", LANG_W_FR },
    { "sä", LANG_W_FI },
    { "są", LANG_W_PL },
    { "tai", LANG_W_FI },
    { "tak", LANG_W_PL },
    { "tego", LANG_W_PL },
    { "thanks", LANG_W_EN },
    { "that", LANG_W_EN },
    { "the", LANG_W_EN },
    { "there", LANG_W_EN },
    { "they", LANG_W_EN },
    { "this", LANG_W_EN },
    { "ton", LANG_W_FR },
    { "très", LANG_W_FR },
    { "tu", LANG_W_FR },
    { "tuo", LANG_W_FI },
    { "twój", LANG_W_PL },
    { "tylko", LANG_W_PL },
    { "tym", LANG_W_PL },
    { "tämä", LANG_W_FI },
    { "tää", LANG_W_FI },
    { "une", LANG_W_FR },
    { "vain", LANG_W_FI },
    { "very", LANG_W_EN },
    { "vielä", LANG_W_FI },
    { "voi", LANG_W_FI },
    { "vous", LANG_W_FR },
    { "w", LANG_W_PL_WEAK },
    { "was", LANG_W_EN },
    { "we", LANG_W_EN },
    { "what", LANG_W_EN },
    { "when", LANG_W_EN },
    { "where", LANG_W_EN },
    { "who", LANG_W_EN },
    { "why", LANG_W_EN },
    { "will", LANG_W_EN },
    { "with", LANG_W_EN },
    { "would", LANG_W_EN },
    { "you", LANG_W_EN },
    { "your", LANG_W_EN },
    { "z", LANG_W_PL_WEAK },
    { "ze", LANG_W_PL },
    { "ça", LANG_W_FR },
    { "été", LANG_W_FR },
    { "że", LANG_W_PL },
};

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

#define LANG_NWORDS (sizeof(lang_words) / sizeof(lang_words[0]))

static void
lang_word(struct lang_counts *n, const char *w)
{
    size_t lo = 0, hi = LANG_NWORDS;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(w, lang_words[mid].word);
        unsigned f = lang_words[mid].langs;

        if (c < 0) {
            hi = mid;
        } else if (c > 0) {
            lo = mid + 1;
        } else {
            n->en_words += (f & LANG_W_EN) != 0;
            n->fr_words += (f & LANG_W_FR) != 0;
            n->pl_words += (f & LANG_W_PL) != 0;
            n->pl_weak += (f & LANG_W_PL_WEAK) != 0;
            n->fi_words += (f & LANG_W_FI) != 0;
            n->fi_weak += (f & LANG_W_FI_WEAK) != 0;
            return;
        }
    }
}

bool
lang_words_sorted(void)
{
    for (size_t i = 1; i < LANG_NWORDS; i++) {
        if (strcmp(lang_words[i - 1].word, lang_words[i].word) >= 0)
            return false;
    }
    return true;
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
