/*
 * normalize: fold comment text into the form rules are matched against, so
 * that evasive spellings ("fr\u200bee m0ney", "ѕраm" in Cyrillic, "𝐟𝐫𝐞𝐞",
 * "f r e e") look like the plain word, while every byte of the folded text
 * remembers where it came from in the original, so a match can be shown
 * and reported on the text the author wrote. docs/normalize.md has the
 * steps, their order, the look-alike and leet tables and what rule
 * authors must know (write lowercase; "fu+ck" for stretched letters).
 *
 * Pure: no I/O, no global state. A struct norm_text is both the result
 * and the scratch space; reuse one across calls (the rules engine can keep
 * one beside its match scratch) and normalize_text allocates only when an
 * item is bigger than any before it. One struct per thread.
 */
#ifndef INBOXD_NORMALIZE_H
#define INBOXD_NORMALIZE_H

#include <stddef.h>
#include <stdint.h>

/* Steps, in the order they run; NORM_ALL is what the rules engine uses. */
#define NORM_INVISIBLE   0x001u /* drop zero-width, bidi, tag, soft hyphen */
#define NORM_NFKC        0x002u /* Unicode NFKC (fullwidth, math letters) */
#define NORM_MARKS       0x004u /* drop stacked "zalgo" combining marks */
#define NORM_JOIN        0x008u /* "f r e e", "х.у.й": join single letters */
#define NORM_CONFUSABLES 0x010u /* Latin/Cyrillic/Greek look-alikes */
#define NORM_LEET        0x020u /* digits/symbols used as letters: m0ney */
#define NORM_CASEFOLD    0x040u /* Unicode full case folding */
#define NORM_COLLAPSE    0x080u /* spaces to one ' '; 3+ same letters to 2 */
#define NORM_ALL         0x0ffu

/* Longest input accepted, in bytes; offsets are kept in 32 bits. */
#define NORM_MAX_INPUT   (16u * 1024 * 1024)

struct norm_scratch;

/*
 * The result of normalize_text. text, map and map_end are owned by the
 * struct and valid until the next normalize_text or norm_text_free on it.
 * Zero-initialize before first use: struct norm_text nt = {0};
 *
 *   text     normalized UTF-8, NUL-terminated, never NULL after success;
 *            always valid UTF-8 and free of NUL bytes
 *   len      bytes of text, not counting the NUL
 *   map      len + 1 entries: map[i] is the offset in the original input
 *            of the first byte of the character(s) normalized byte i came
 *            from; map[len] is the original length
 *   map_end  len + 1 entries: map_end[i] is the offset just past those
 *            original characters; map_end[len] is the original length
 *
 * Both maps are non-decreasing, and every byte of one normalized character
 * carries the same pair, so any normalized span maps to whole original
 * characters (use normalize_span).
 */
struct norm_text {
    char *text;
    size_t len;
    uint32_t *map;
    uint32_t *map_end;
    struct norm_scratch *scratch;   /* private */
};

/*
 * Normalize len bytes at s (borrowed; need not be NUL-terminated; NULL is
 * allowed when len is 0) with the steps in flags into out, replacing what
 * out held. Invalid UTF-8 is dropped byte by byte, the way invisible
 * characters are, and C0/C1 control characters other than whitespace are
 * always dropped. Returns 0, or -1 when memory runs out or len exceeds
 * NORM_MAX_INPUT (errno EOVERFLOW); after -1, out holds no result but may
 * still be reused or freed.
 */
int normalize_text(const char *s, size_t len, unsigned flags,
    struct norm_text *out);

/*
 * Map the normalized span [s, e) of nt back to the original span
 * [*os, *oe): from the start of the original character that produced byte
 * s to the end of the one that produced byte e - 1. Characters removed
 * between them (zero-width, joined separators) fall inside; removed ones at
 * either edge do not. s and e are clamped to nt->len; an empty span maps to
 * an empty span at map[s]. nt must hold a successful result.
 */
void normalize_span(const struct norm_text *nt, size_t s, size_t e,
    size_t *os, size_t *oe);

/* Release everything nt holds and zero it; NULL and {0} are fine. */
void norm_text_free(struct norm_text *nt);

#endif
