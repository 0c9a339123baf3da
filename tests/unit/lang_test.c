/*
 * lang_test: lang_detect on short sentences in the six languages it
 * knows, on text too short or in another script (NULL), and on malformed
 * UTF-8. Inputs are copied into heap buffers of their exact length, with
 * no terminating NUL, so AddressSanitizer catches any read past the end.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "alloc.h"
#include "check.h"
#include "lang.h"

/* lang_detect on an exact-length heap copy of len bytes of s. */
static const char *
lang_test_detect(const char *s, size_t len)
{
    char *copy = xmalloc(len > 0 ? len : 1);
    const char *l;

    if (copy == NULL)
        return "(out of memory)";
    memcpy(copy, s, len);
    l = lang_detect(copy, len);
    xfree(copy);
    return l;
}

static const char *
lang_test_str(const char *s)
{
    return lang_test_detect(s, strlen(s));
}

/* NULL-safe equality; want NULL means "no answer". */
static bool
lang_test_is(const char *got, const char *want)
{
    if (got == NULL || want == NULL)
        return got == want;
    return strcmp(got, want) == 0;
}

struct lang_test_case {
    const char *text;
    const char *want;
};

static int
lang_test_table(const struct lang_test_case *c, size_t n)
{
    int rc = 0;

    for (size_t i = 0; i < n; i++) {
        const char *got = lang_test_str(c[i].text);

        if (!lang_test_is(got, c[i].want)) {
            fprintf(stderr, "  \"%s\": got %s, want %s\n", c[i].text,
                got ? got : "NULL", c[i].want ? c[i].want : "NULL");
            rc = -1;
        }
    }
    return rc;
}

#define LANG_TEST_TABLE(t) lang_test_table((t), sizeof(t) / sizeof((t)[0]))

static int
test_known_languages(void)
{
    static const struct lang_test_case c[] = {
        { "Where is my order? I have been waiting for a week.", "en" },
        { "Thanks, the lamp looks great", "en" },
        { "Thanks!", "en" },
        { "Здравствуйте, когда будет доставка моего заказа?", "ru" },
        { "Спасибо, всё пришло", "ru" },
        { "ЗДРАВСТВУЙТЕ, ГДЕ МОЙ ЗАКАЗ?", "ru" },
        { "Привіт, коли буде доставка мого замовлення?", "uk" },
        { "Є питання щодо оплати", "uk" },
        { "ПРИВІТ, ЇЖАК", "uk" },
        { "Dzień dobry, kiedy będzie dostawa mojego zamówienia?", "pl" },
        { "Gdzie jest moje zamówienie", "pl" },
        { "DZIĘKUJĘ BARDZO", "pl" },
        { "Hei, milloin tilaukseni toimitetaan? Odotan vielä.", "fi" },
        { "Missä tilaukseni on", "fi" },
        { "KIITOS, HYVÄÄ PÄIVÄÄ", "fi" },
        { "Bonjour, quand est-ce que ma commande sera livrée ?", "fr" },
        { "Où est ma commande", "fr" },
        { "MERCI, TRÈS BIEN", "fr" },
    };

    return LANG_TEST_TABLE(c);
}

static int
test_no_answer(void)
{
    static const struct lang_test_case c[] = {
        { "", NULL },
        { "ok", NULL },
        { "hi", NULL },
        { "да", NULL },
        { "?!", NULL },
        { "12345 678", NULL },
        { "👍👍👍", NULL },
        { "https://", "en" },       /* five letters: enough, no evidence */
        { "你好，我的订单在哪里？", NULL },
        { "Γεια σας, πού είναι η παραγγελία μου;", NULL },
        { "مرحبا، أين طلبي؟", NULL },
        { "שלום, איפה ההזמנה שלי?", NULL },
        { "こんにちは、注文はどこですか", NULL },
        { "안녕하세요 주문 어디 있어요", NULL },
        /* Mostly another script with a few Latin letters: still NULL. */
        { "你好你好你好你好 ok", NULL },
    };
    int rc = 0;

    CHECK(lang_detect(NULL, 10) == NULL);
    CHECK(lang_detect("hello there", 0) == NULL);
    CHECK(LANG_TEST_TABLE(c) == 0);
out:
    return rc;
}

/* Only the head of a long text is read. */
static int
test_long_text(void)
{
    static const char ru[] = "здравствуйте ";
    size_t n = 0, max = 3 * 4096, rl = sizeof(ru) - 1;
    char *s = xmalloc(max);
    int rc = 0;

    CHECK(s != NULL);
    while (n + 4 <= 4400) {
        memcpy(s + n, "the ", 4);
        n += 4;
    }
    while (n + rl <= max) {
        memcpy(s + n, ru, rl);
        n += rl;
    }
    /* 4400 bytes of English, then far more Russian. */
    CHECK(lang_test_is(lang_test_detect(s, n), "en"));
    /* The cut at 4096 bytes falls inside a two-byte letter. */
    memset(s, 'x', 4095);
    memcpy(s + 4095, "жжжж", 8);
    CHECK(lang_test_is(lang_test_detect(s, 4103), "en"));
    /* Nothing but continuation bytes around the cut. */
    memset(s, 0x80, 5000);
    CHECK(lang_test_detect(s, 5000) == NULL);
out:
    xfree(s);
    return rc;
}

/* Malformed UTF-8 is skipped, never read past, and never crashes. */
static int
test_invalid_utf8(void)
{
    static const struct {
        const char *s;
        size_t len;
        const char *want;
    } c[] = {
        /* Bad bytes in the middle do not hide the language. */
        { "Здравствуйте\xff, когда будет доставка?", 0, "ru" },
        { "The order\xc0 is late \x80\x80 and you are slow", 0, "en" },
        { "\xed\xa0\x80 where is my order", 0, "en" },
        /* Nothing but garbage. */
        { "\xff\xfe\xfd\xfc", 0, NULL },
        { "\x80\x80\x80\x80\x80\x80", 0, NULL },
        { "\xc0\xaf\xc1\xbf\xe0\x80\xaf", 0, NULL },        /* overlong */
        { "\xed\xa0\x80\xed\xbf\xbf", 0, NULL },            /* surrogates */
        { "\xf4\x90\x80\x80\xf5\x80\x80\x80", 0, NULL },    /* > U+10FFFF */
        /* Sequences cut short by the end of the text. */
        { "Привет\xd0", 0, "ru" },
        { "hello wor\xe2\x82", 0, "en" },
        { "where is \xf0\x9f\x98", 0, "en" },
        { "\xd0", 0, NULL },
        { "\xe2\x82", 0, NULL },
        { "\xf0\x9f\x98", 0, NULL },
        /* An embedded NUL is just a separator. */
        { "hello\0where are you", 19, "en" },
    };
    int rc = 0;

    for (size_t i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
        size_t len = c[i].len ? c[i].len : strlen(c[i].s);
        const char *got = lang_test_detect(c[i].s, len);

        if (!lang_test_is(got, c[i].want)) {
            fprintf(stderr, "  case %zu: got %s, want %s\n", i,
                got ? got : "NULL", c[i].want ? c[i].want : "NULL");
            rc = -1;
        }
    }
    return rc;
}

/* Every short byte string, and pseudo-random ones: no crash, and only
 * the documented answers. */
static int
test_fuzz(void)
{
    static const char *const ok[] = { "en", "fr", "pl", "fi", "ru", "uk" };
    unsigned char buf[512];
    uint32_t x = 2463534242u;
    int rc = 0;

    for (unsigned a = 0; a < 256; a++) {
        for (unsigned b = 0; b < 256; b += 3) {
            buf[0] = (unsigned char)a;
            buf[1] = (unsigned char)b;
            buf[2] = (unsigned char)(a ^ b);
            for (size_t len = 1; len <= 3; len++)
                (void)lang_test_detect((const char *)buf, len);
        }
    }
    for (int round = 0; round < 2000; round++) {
        size_t len = (size_t)round % sizeof(buf);
        const char *got;
        bool known = false;

        for (size_t i = 0; i < len; i++) {
            /* xorshift32, biased towards UTF-8 lead and Cyrillic bytes */
            x ^= x << 13;
            x ^= x >> 17;
            x ^= x << 5;
            buf[i] = (unsigned char)(x % 3 == 0 ? 0xd0 + x % 2 : x >> 8);
        }
        got = lang_test_detect((const char *)buf, len);
        for (size_t k = 0; k < sizeof(ok) / sizeof(ok[0]); k++)
            known = known || lang_test_is(got, ok[k]);
        CHECK(got == NULL || known);
    }
out:
    return rc;
}

/* The common-word table is searched by halves; words found only when
 * the order is right, so check it and a few words from either end. */
static int
test_word_table(void)
{
    int rc = 0;

    static const char *const texts[][2] = {
        { "ale że już", "pl" }, { "ça été aussi", "fr" },
        { "you and your", "en" },
    };

    CHECK(lang_words_sorted());
    for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++)
        CHECK(lang_test_is(lang_test_detect(texts[i][0],
            strlen(texts[i][0])), texts[i][1]));
out:
    return rc;
}

static const struct check_case cases[] = {
    { "known_languages", test_known_languages },
    { "word_table", test_word_table },
    { "no_answer", test_no_answer },
    { "long_text", test_long_text },
    { "invalid_utf8", test_invalid_utf8 },
    { "fuzz", test_fuzz },
};

CHECK_MAIN(cases)
