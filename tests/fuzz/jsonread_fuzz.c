/*
 * jsonread_fuzz: inboxd classify's JSON reader (daemon/jsonread.c)
 * against json_loadb(JSON_REJECT_DUPLICATES) on any bytes: both accept
 * the same texts and build equal values, with the key order kept; a
 * refusal has a printable reason. The one allowed difference: a NUL
 * byte right after a number, true, false or null, which json_loadb
 * skips.
 */
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "fuzz.h"
#include "jsonread.h"
#include "../unit/jsonread_check.h"

static struct jsonread jsonread_fuzz_jr;

static void
jsonread_fuzz_free(void)
{
    jsonread_free(&jsonread_fuzz_jr);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    atexit(jsonread_fuzz_free);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    json_t *want = json_loadb(s, size, JSON_REJECT_DUPLICATES, NULL);
    char err[128];
    json_t *got = jsonread_parse(&jsonread_fuzz_jr, s, size, err,
        sizeof(err));
    if (got == NULL)
        FUZZ_CHECK(err[0] != '\0' && fuzz_printable(err));
    if (want != NULL && got == NULL)
        FUZZ_CHECK(jsonread_check_nul_after_value(data, size));
    FUZZ_CHECK(want != NULL || got == NULL);
    if (want != NULL && got != NULL) {
        char *dw = json_dumps(want, JSON_COMPACT | JSON_ENCODE_ANY);
        char *dg = json_dumps(got, JSON_COMPACT | JSON_ENCODE_ANY);

        FUZZ_CHECK(json_equal(want, got));
        FUZZ_CHECK(dw != NULL && dg != NULL && strcmp(dw, dg) == 0);
        free(dw);
        free(dg);
    }
    json_decref(want);
    json_decref(got);
    return 0;
}
