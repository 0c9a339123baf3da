/*
 * lang: a fast language guess from script and common words. Used when the
 * platform does not say the language of an item. Pure; no allocation.
 */
#ifndef INBOXD_LANG_H
#define INBOXD_LANG_H

#include <stdbool.h>
#include <stddef.h>

/*
 * Guess the language of UTF-8 text. Returns a static ISO 639-1 code
 * ("en", "ru", ...) or NULL when the text gives too little to go on.
 */
const char *lang_detect(const char *text, size_t len);

/* Is the common-word table in the byte order its binary search needs?
 * (for tests/unit/lang_test.c) */
bool lang_words_sorted(void);

#endif
