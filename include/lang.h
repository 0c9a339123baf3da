/*
 * lang: a fast language guess from script and common words. Used when the
 * platform does not say the language of an item. Pure; no allocation.
 */
#ifndef INBOXD_LANG_H
#define INBOXD_LANG_H

#include <stddef.h>

/*
 * Guess the language of UTF-8 text. Returns a static ISO 639-1 code
 * ("en", "ru", ...) or NULL when the text gives too little to go on.
 */
const char *lang_detect(const char *text, size_t len);

#endif
