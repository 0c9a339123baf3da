/*
 * rules_req_internal: what the two halves of the requirement analysis
 * share (rules_req.c: the sets and formulas, the requirements built from
 * them; rules_req_parse.c: reading the pcre2 syntax into them). Seen by
 * those two files only.
 */
#ifndef INBOXD_RULES_REQ_INTERNAL_H
#define INBOXD_RULES_REQ_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RULES_RQ_EXACT_MAX 16         /* strings in an exact set */
#define RULES_RQ_ATOM_MIN 3           /* bytes of the shortest useful atom */
#define RULES_RQ_AND_MAX 16           /* kept terms of one AND */
#define RULES_RQ_OR_MAX 8192          /* terms of one OR before giving up */
#define RULES_RQ_DEPTH_MAX 200        /* group nesting analysed */

/* Everything of one analysis is allocated here and freed at once. */
struct rules_rq_chunk;
struct rules_rq_arena {
    struct rules_rq_chunk *head;
    bool oom;
};

struct rules_rq_str {
    const char *s;
    size_t len;
};

enum rules_rq_op {
    RULES_RQ_TRUE,
    RULES_RQ_ATOM,
    RULES_RQ_AND,
    RULES_RQ_OR,
};

struct rules_rq_node {
    enum rules_rq_op op;
    struct rules_rq_str atom;
    struct rules_rq_node **kids;
    size_t nkids;
};

/*
 * Word edges. A byte RULES_REQ_EDGE in an exact string marks a place
 * where the text, on the side away from the letter next to it, holds no
 * word character (or ends): a \b, or the edge of a \s, ^ or $. Only a
 * mark at either end of an atom, next to a word character, is kept
 * (rules_rq_atom): it lets short words ("ok", "tu", "да") filter as
 * whole words, which they would never do as bare substrings.
 *
 * For that, each subexpression also says whether its matches start and
 * end next to a non-word character: nws, "the character a match starts
 * with is not a word character, or there is none"; nwe, "the character
 * before the end of a match is not a word character, or there is none".
 * RULES_RQ_NW_PASS: as the text around it has it (zero width: \b,
 * lookarounds, or a repeat that may match nothing).
 */
#define RULES_RQ_NW_NO 0
#define RULES_RQ_NW_YES 1
#define RULES_RQ_NW_PASS 2

/* What a subexpression can match: an exact set, or a formula. */
struct rules_rq_info {
    bool exact;
    struct rules_rq_str *set;
    size_t n;
    struct rules_rq_node *match;
    unsigned char nws;
    unsigned char nwe;
};

extern struct rules_rq_node rules_rq_true_node;

/* Case folding and UTF-8 (rules_req.c). */
uint32_t rules_rq_fold_cp(uint32_t cp);
size_t rules_rq_utf8_decode(const unsigned char *u, size_t n, uint32_t *cp);
size_t rules_rq_utf8_encode(uint32_t cp, char *out);
bool rules_rq_word_cp(uint32_t cp);

/* Sets and formulas (rules_req.c). */
void *rules_rq_alloc(struct rules_rq_arena *a, size_t n);
struct rules_rq_info rules_rq_any(void);
struct rules_rq_info rules_rq_exact1(struct rules_rq_arena *a, const char *s,
    size_t len);
struct rules_rq_info rules_rq_empty(struct rules_rq_arena *a);
struct rules_rq_info rules_rq_assert(struct rules_rq_arena *a,
    unsigned char nws, unsigned char nwe);
struct rules_rq_node *rules_rq_and(struct rules_rq_arena *a,
    struct rules_rq_node *x, struct rules_rq_node *y);
struct rules_rq_node *rules_rq_match(struct rules_rq_arena *a,
    const struct rules_rq_info *x);
void rules_rq_set_add(struct rules_rq_str *set, size_t *n,
    struct rules_rq_str s);
struct rules_rq_info rules_rq_concat(struct rules_rq_arena *a,
    const struct rules_rq_info *x, const struct rules_rq_info *y);
struct rules_rq_info rules_rq_alt(struct rules_rq_arena *a,
    const struct rules_rq_info *v, size_t n);
struct rules_rq_info rules_rq_repeat(struct rules_rq_arena *a,
    const struct rules_rq_info *x, uint32_t min, uint32_t max);

/*
 * The pcre2 syntax (rules_req_parse.c): what a whole pattern can match.
 * *why is set when the analysis gave up (then the result means nothing),
 * including when its count of capture groups is not pcre2's.
 */
struct rules_rq_info rules_rq_parse(struct rules_rq_arena *a,
    const char *src, size_t len, uint32_t capture_count, const char **why);

#endif
