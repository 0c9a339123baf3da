/*
 * jsonread_check: for the tests and fuzz targets that compare readers
 * built on jsonread with jansson's. The one known difference:
 * json_loadb skips a NUL byte that follows a number or a literal
 * ("[1\0]" and "[null\0]" read as [1] and [null]); jsonread rejects
 * it, as every other NUL outside a string.
 */
#ifndef INBOXD_JSONREAD_CHECK_H
#define INBOXD_JSONREAD_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>

/* Whether s has such a NUL, so json_loadb may accept what jsonread does not. */
static inline bool
jsonread_check_nul_after_value(const void *text, size_t len)
{
    const unsigned char *s = text;

    for (size_t i = 1; i < len; i++) {
        if (s[i] == '\0' && ((s[i - 1] >= '0' && s[i - 1] <= '9') ||
            (i >= 4 && (memcmp(s + i - 4, "true", 4) == 0 ||
            memcmp(s + i - 4, "null", 4) == 0)) ||
            (i >= 5 && memcmp(s + i - 5, "false", 5) == 0)))
            return true;
    }
    return false;
}

/* Called with each mutated text; returns 0 when the readers agree. */
typedef int (*jsonread_check_fn)(void *arg, const char *s, size_t len);

/*
 * Mutations of t: each byte changed to each of bytes, dropped, and
 * doubled. Stops at the first disagreement; returns 0 or -1, and adds
 * the texts tried to *tried.
 */
static inline int
jsonread_check_mutations(const char *t, const unsigned char *bytes,
    size_t nbytes, jsonread_check_fn fn, void *arg, size_t *tried)
{
    size_t len = strlen(t);
    char buf[2048];
    int rc = 0;

    if (len + 1 > sizeof(buf))
        return 0;
    for (size_t at = 0; at < len && rc == 0; at++) {
        for (size_t b = 0; b < nbytes; b++) {
            memcpy(buf, t, len);
            buf[at] = (char)bytes[b];
            rc |= fn(arg, buf, len);
        }
        memcpy(buf, t, at);
        memcpy(buf + at, t + at + 1, len - at - 1);
        rc |= fn(arg, buf, len - 1);
        memcpy(buf, t, at + 1);
        memcpy(buf + at + 1, t + at, len - at);
        rc |= fn(arg, buf, len + 1);
        *tried += nbytes + 2;
    }
    return rc;
}

#endif
