/*
 * classify_fuzz: rule matching with the shipped rules/ on any text. The
 * first input byte picks the item's kind (bits 0-1), its language (bits
 * 2-4: en, ru, pl, fi, fr, or none so that lang_detect guesses) and
 * platform (bits 5-7); the rest is the text up to the first NUL, and
 * after it the author's display name. Texts that are not valid UTF-8 are
 * refused by item_new, as they are at ingest, and go no further. The
 * answer of rules_eval is checked by fuzz_rules.h.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "connector.h"
#include "fuzz.h"
#include "fuzz_rules.h"
#include "item.h"
#include "rules.h"

static struct rules *classify_fuzz_rules;

static const char *const classify_fuzz_langs[8] = {
    "en", "ru", "pl", "fi", "fr", NULL, NULL, NULL,
};
static const char *const classify_fuzz_platforms[8] = {
    CONNECTOR_FACEBOOK, CONNECTOR_INSTAGRAM, CONNECTOR_VK,
    CONNECTOR_TELEGRAM, CONNECTOR_YOUTUBE, "web", "email", "x",
};

static void
classify_fuzz_free(void)
{
    rules_free(classify_fuzz_rules);
    classify_fuzz_rules = NULL;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    const char *dir = FUZZ_SOURCE_DIR "/rules";
    struct buf errors;

    (void)argc;
    (void)argv;
    fuzz_setup();
    buf_init(&errors, 1 << 20);
    if ((classify_fuzz_rules = rules_load(&dir, 1, NULL, &errors)) == NULL) {
        fprintf(stderr, "classify_fuzz: %s: the rules did not load:\n%s",
            dir, errors.data ? errors.data : "");
        exit(1);
    }
    buf_free(&errors);
    atexit(classify_fuzz_free);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *lang, *name;
    struct item *it;
    char *in, err[256];
    size_t tlen;

    if (size == 0 || (in = fuzz_str(data + 1, size - 1)) == NULL)
        return 0;
    tlen = strlen(in);
    name = tlen < size - 1 ? in + tlen + 1 : NULL;
    lang = classify_fuzz_langs[(data[0] >> 2) & 7];
    it = item_new(classify_fuzz_platforms[data[0] >> 5], "fuzz-1",
        (enum item_kind)(data[0] & 3), "acct-1", "author-1", in, err,
        sizeof(err));
    FUZZ_CHECK((it != NULL) == fuzz_utf8_valid(in, tlen));
    if (it == NULL)
        goto out;
    if (lang != NULL)
        FUZZ_CHECK(item_set_lang(it, lang) == 0);
    if (name != NULL && item_set_author_name(it, name) == -1)
        goto out;   /* not a name an item takes */
    fuzz_rules_eval(classify_fuzz_rules, it);
out:
    item_free(it);
    xfree(in);
    return 0;
}
