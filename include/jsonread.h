/*
 * jsonread: read one JSON text (a line of JSON Lines) into jansson
 * values, several times faster than json_loadb, for inboxd classify
 * where parsing the items cost more than classifying them. It accepts
 * what json_loadb(JSON_REJECT_DUPLICATES) accepts and builds the same
 * values (tests/unit/jsonread_test.c compares the two); the error texts
 * differ, and a NUL byte right after a number, true, false or null,
 * which json_loadb skips, is an error like any other NUL outside a
 * string.
 */
#ifndef INBOXD_JSONREAD_H
#define INBOXD_JSONREAD_H

#include <stddef.h>

#include <jansson.h>

/* Reusable scratch for decoding strings; zero it before the first use. */
struct jsonread {
    char *buf;
    size_t cap;
};

/*
 * Parse len bytes: an object or an array, with only white space after
 * it. Returns a new value, or NULL with a reason in err ("duplicate key
 * \"a\" at byte 12", "out of memory").
 */
json_t *jsonread_parse(struct jsonread *jr, const char *s, size_t len,
    char *err, size_t errlen);

void jsonread_free(struct jsonread *jr);

#endif
