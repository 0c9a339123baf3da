/*
 * item_fuzz: the ingest body (POST /v1/items), read as http.c reads it:
 * json_loadb refusing duplicate keys, then item_from_json with the
 * default limits. An item it accepts must keep them, and its stored JSON
 * must be accepted again and give the same JSON (fuzz.h); a refusal
 * names the field in one printable line.
 */
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "item.h"

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct item_limits lim = { 0, 0 };
    struct item *it;
    char err[256];
    json_t *obj;

    if ((obj = json_loadb((const char *)data, size, JSON_REJECT_DUPLICATES,
        NULL)) == NULL)
        return 0;
    err[0] = '\0';
    it = item_from_json(obj, &lim, err, sizeof(err));
    json_decref(obj);
    if (it == NULL) {
        FUZZ_CHECK(err[0] != '\0' && fuzz_printable(err));
        return 0;
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
