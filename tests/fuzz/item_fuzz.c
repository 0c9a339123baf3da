/*
 * item_fuzz: the ingest body (POST /v1/items), read as http.c reads it,
 * with item_parse, and as it was read before, with json_loadb refusing
 * duplicate keys and then item_from_json, both with the default limits.
 * The two must agree: the same texts refused as not JSON (but for a NUL
 * byte right after a number or a literal, which only json_loadb skips),
 * the same items refused with the same reason, the same stored JSON for
 * an item both accept. An accepted item must keep the limits, and its
 * stored JSON must be accepted again and give the same JSON (fuzz.h); a
 * refusal names the field or the place in one printable line.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "item.h"
#include "jsonread.h"
#include "../unit/jsonread_check.h"

static struct jsonread item_fuzz_jr;

static void
item_fuzz_free(void)
{
    jsonread_free(&item_fuzz_jr);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    atexit(item_fuzz_free);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct item_limits lim = { 0, 0 };
    struct item *it, *want = NULL;
    enum item_parse_result why;
    char err[256], want_err[256];
    json_t *obj;

    err[0] = '\0';
    it = item_parse(&item_fuzz_jr, (const char *)data, size, &lim, &why,
        err, sizeof(err));
    obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
        NULL);
    FUZZ_CHECK(why != ITEM_PARSE_NOMEM);
    if (obj == NULL)
        FUZZ_CHECK(why == ITEM_PARSE_BAD_JSON);
    else if (why == ITEM_PARSE_BAD_JSON)
        FUZZ_CHECK(jsonread_check_nul_after_value(data, size));
    else {
        want_err[0] = '\0';
        want = item_from_json(obj, &lim, want_err, sizeof(want_err));
        FUZZ_CHECK((want == NULL) == (it == NULL));
        if (want == NULL)
            FUZZ_CHECK(strcmp(want_err, err) == 0);
    }
    json_decref(obj);
    if (it == NULL) {
        FUZZ_CHECK(err[0] != '\0' && fuzz_printable(err));
        item_free(want);
        return 0;
    }
    if (want != NULL) {
        char *dw, *dg;

        item_set_received_ms(it, item_received_ms(want));
        dw = item_dump(want);
        dg = item_dump(it);
        FUZZ_CHECK((dw == NULL) == (dg == NULL));
        FUZZ_CHECK(dw == NULL || strcmp(dw, dg) == 0);
        xfree(dw);
        xfree(dg);
        item_free(want);
    }
    FUZZ_CHECK(item_text_len(it) <= 65536);
    FUZZ_CHECK(strlen(item_text(it)) == item_text_len(it));
    FUZZ_CHECK(fuzz_utf8_valid(item_text(it), item_text_len(it)));
    FUZZ_CHECK(strlen(item_id(it)) == strlen(item_platform(it)) + 1 +
        strlen(item_native_id(it)));
    fuzz_check_item_roundtrip(it, &lim);
    item_free(it);
    return 0;
}
