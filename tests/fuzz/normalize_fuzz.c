/*
 * normalize_fuzz: text normalization (normalize.c) on any bytes, invalid
 * UTF-8 included. The first byte of the input picks the steps (its bits
 * are the NORM_* flags), the rest is the text; it is normalized with
 * those steps and then with NORM_ALL, the rules engine's setting, in the
 * same struct (reuse is how the engine calls it). Each result is checked
 * against normalize.h: valid UTF-8 without NUL, maps of len + 1 entries
 * that never go back and end at the input's length, one pair per
 * normalized character, and spans that stay inside the input.
 */
#include <string.h>

#include "fuzz.h"
#include "normalize.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

static void
norm_fuzz_check(const struct norm_text *nt, size_t inlen, const uint8_t *in)
{
    size_t os, oe, s, e;

    FUZZ_CHECK(nt->text != NULL && nt->text[nt->len] == '\0');
    FUZZ_CHECK(strlen(nt->text) == nt->len);
    FUZZ_CHECK(fuzz_utf8_valid(nt->text, nt->len));
    FUZZ_CHECK(nt->map[nt->len] == inlen && nt->map_end[nt->len] == inlen);
    for (size_t i = 0; i < nt->len; i++) {
        FUZZ_CHECK(nt->map[i] <= nt->map[i + 1]);
        FUZZ_CHECK(nt->map_end[i] <= nt->map_end[i + 1]);
        FUZZ_CHECK(nt->map[i] <= nt->map_end[i]);
        /* Every byte of one character carries the same pair. */
        if (((unsigned char)nt->text[i] & 0xc0) == 0x80) {
            FUZZ_CHECK(i > 0);
            FUZZ_CHECK(nt->map[i] == nt->map[i - 1]);
            FUZZ_CHECK(nt->map_end[i] == nt->map_end[i - 1]);
        }
    }
    /* A span picked by the input itself, possibly out of range. */
    s = inlen > 0 ? in[0] : 0;
    e = inlen > 1 ? in[1] : nt->len;
    normalize_span(nt, s, e, &os, &oe);
    FUZZ_CHECK(os <= oe && oe <= inlen);
    normalize_span(nt, 0, nt->len, &os, &oe);
    FUZZ_CHECK(os <= oe && oe <= inlen);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct norm_text nt = { 0 };
    const char *text;
    unsigned flags;
    size_t len;

    if (size == 0)
        return 0;
    flags = data[0];
    text = (const char *)data + 1;
    len = size - 1;
    /* Inputs are far below NORM_MAX_INPUT: only memory could fail. */
    FUZZ_CHECK(normalize_text(text, len, flags, &nt) == 0);
    norm_fuzz_check(&nt, len, data + 1);
    FUZZ_CHECK(normalize_text(text, len, NORM_ALL, &nt) == 0);
    norm_fuzz_check(&nt, len, data + 1);
    norm_text_free(&nt);
    return 0;
}
