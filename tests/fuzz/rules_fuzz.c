/*
 * rules_fuzz: the rule file loader (rules_load.c, rules_rule.c,
 * rules_req.c, rules_prefilter.c). The input is written as the one rule
 * file of a scratch directory and loaded from there: YAML, the rule
 * language, pcre2 compilation, the in-file examples, the prefilter
 * build. A set that loads is then run over a few fixed items and its
 * answers checked (fuzz_rules.h); one that does not must say why.
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

#define RULES_FUZZ_NITEMS 3

static struct item *rules_fuzz_items[RULES_FUZZ_NITEMS];
static char rules_fuzz_file[128];

static void
rules_fuzz_free(void)
{
    for (size_t i = 0; i < RULES_FUZZ_NITEMS; i++)
        item_free(rules_fuzz_items[i]);
}

static struct item *
rules_fuzz_item(const char *platform, enum item_kind kind, const char *text,
    const char *author_name)
{
    struct item *it;
    char err[256];

    if ((it = item_new(platform, "fuzz-1", kind, "acct-1", "author-1", text,
        err, sizeof(err))) == NULL ||
        (author_name != NULL && item_set_author_name(it, author_name) == -1)) {
        fprintf(stderr, "rules_fuzz: item: %s\n", err);
        exit(1);
    }
    return it;
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    snprintf(rules_fuzz_file, sizeof(rules_fuzz_file), "%s/fuzz.yml",
        fuzz_tmpdir());
    rules_fuzz_items[0] = rules_fuzz_item(CONNECTOR_FACEBOOK,
        ITEM_KIND_COMMENT, "FREE bitcoin giveaway!!! claim now at "
        "https://bit.ly/x and earn $500 a day", "Crypto Deals");
    rules_fuzz_items[1] = rules_fuzz_item(CONNECTOR_VK, ITEM_KIND_DM,
        "Здравствуйте! Где мой заказ? Жду уже неделю, верните деньги",
        "Ольга");
    rules_fuzz_items[2] = rules_fuzz_item(CONNECTOR_TELEGRAM,
        ITEM_KIND_REPLY, "fr\xe2\x80\x8b" "ee m0ney \xf0\x9d\x90\x9f "
        "\xd1\x95\xd1\x80\xd0\xb0m?? how do I reset my password", NULL);
    atexit(rules_fuzz_free);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *dir = fuzz_tmpdir();
    struct buf errors;
    struct rules *r;

    if (fuzz_write_file(rules_fuzz_file, data, size) == -1) {
        perror(rules_fuzz_file);
        abort();
    }
    buf_init(&errors, 1 << 20);
    r = rules_load(&dir, 1, NULL, &errors);
    if (r == NULL) {
        /* Every problem is reported with its place in the file. */
        FUZZ_CHECK(errors.len > 0);
        FUZZ_CHECK(strncmp(errors.data, rules_fuzz_file,
            strlen(rules_fuzz_file)) == 0);
    } else {
        for (size_t i = 0; i < RULES_FUZZ_NITEMS; i++)
            fuzz_rules_eval(r, rules_fuzz_items[i]);
        rules_free(r);
    }
    buf_free(&errors);
    return 0;
}
