/*
 * jsonread: read one JSON text (a line of JSON Lines, an ingest body)
 * several times faster than json_loadb. It accepts what
 * json_loadb(JSON_REJECT_DUPLICATES) accepts (tests/unit/jsonread_test.c
 * compares the two); the error texts differ, and a NUL byte right after
 * a number, true, false or null, which json_loadb skips, is an error like
 * any other NUL outside a string.
 *
 * Two ways to use it: jsonread_parse builds the whole text as jansson
 * values (inboxd classify's lines); or a caller that knows the shape it
 * wants walks the text itself (item_parse) with jsonread_start,
 * jsonread_member, jsonread_str and jsonread_json, taking strings
 * straight from the text and jansson values only where it keeps them.
 */
#ifndef INBOXD_JSONREAD_H
#define INBOXD_JSONREAD_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

/*
 * The reader's state and the arena its decoded strings live in, reusable
 * from one text to the next; zero it before the first use. The fields
 * are jsonread.c's own.
 */
struct jsonread {
    char *buf;                  /* arena: as long as the text, plus one */
    size_t cap;
    size_t top;                 /* arena bytes in use */
    const unsigned char *start; /* the text */
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    const char *what;           /* the first error, NULL while none */
    size_t errpos;              /* its byte offset */
    size_t keypos;              /* where the last member's key began */
};

/*
 * Parse len bytes: an object or an array, with only white space after
 * it. Returns a new value, or NULL with a reason in err ("duplicate
 * object key at byte 12", "out of memory at byte 0").
 */
json_t *jsonread_parse(struct jsonread *jr, const char *s, size_t len,
    char *err, size_t errlen);

/* ---------------------------------------------------------------------
 * Walking a text. Every call after an error returns its failure value
 * again, so a walk may check jsonread_failed once at the end; the first
 * error is the one reported.
 * ------------------------------------------------------------------ */

/* Begin reading s[0..len) (borrowed until the next start). -1: no memory. */
int jsonread_start(struct jsonread *jr, const char *s, size_t len);

/*
 * The type of the next value (JSON_OBJECT, JSON_ARRAY, JSON_STRING,
 * JSON_INTEGER for any number, JSON_TRUE, JSON_FALSE, JSON_NULL) without
 * reading it; -1 when no value can start there (reported).
 */
int jsonread_peek(struct jsonread *jr);

/* Step into the object that comes next. -1 if it is not one. */
int jsonread_enter(struct jsonread *jr);

/*
 * The next member of the object entered: 1 with its key, NUL-terminated
 * in the arena (valid until the next start), once the ':' is read; 0 at
 * the end of the object, which is then left; -1 on an error. n counts
 * the members read before this call. The caller reads the value (or
 * jsonread_skip) before the next call, and finds duplicate keys itself.
 */
int jsonread_member(struct jsonread *jr, size_t n, const char **key,
    size_t *klen);

/* A string value, decoded into the arena (valid until the next start). */
const char *jsonread_str(struct jsonread *jr, size_t *len);

/* Any value, as a new jansson value; NULL on an error. */
json_t *jsonread_json(struct jsonread *jr);

/* Read past any value, checking it as jsonread_json does. */
int jsonread_skip(struct jsonread *jr);

/* Only white space may follow. -1 otherwise. */
int jsonread_finish(struct jsonread *jr);

/* Report an error found by the caller, where the text is read up to. */
void jsonread_fail(struct jsonread *jr, const char *what);
/* The same at the key of the member last read ("duplicate object key"). */
void jsonread_fail_key(struct jsonread *jr, const char *what);

bool jsonread_failed(const struct jsonread *jr);
/* The first error was an allocation that failed. */
bool jsonread_nomem(const struct jsonread *jr);

/*
 * "line L column C: what", the first error and where it is, columns
 * counted in characters from 1, for people reading a multi-line text.
 */
void jsonread_strerror(const struct jsonread *jr, char *err, size_t errlen);

void jsonread_free(struct jsonread *jr);

#endif
