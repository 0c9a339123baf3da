/*
 * rules_req: what a pattern needs the text to contain. At load, each rule
 * pattern is analysed for the literals a match must contain, the way
 * RE2's FilteredRE2 does it: the parse gives every subexpression either
 * the exact, small set of strings it can match or a formula over
 * required literals ("atoms"), combined through concatenation (cross
 * products, then AND), alternation (unions, then OR) and repeats (x+
 * needs x; x? and x* need nothing; a short bounded repeat like u{1,2}
 * stays exact). "\bhow\s+much\b" needs "how" AND "much"; a words list
 * needs one of its words. Atoms are case-folded with rules_fold, and so
 * is the text they are looked for in, which covers pcre2's caseless
 * matching. A pattern that needs no atom of RULES_RQ_ATOM_MIN bytes or
 * more (or of punctuation: "?"), or uses syntax the analysis does not
 * follow (conditionals, (*ACCEPT), branch reset), has no requirement.
 *
 * Everything here errs towards "may match": a requirement must hold for
 * every text pcre2 matches, or the prefilter (rules_prefilter.c) would
 * lose hits. rules_check.c uses the same analysis to find literals the
 * normalized text can never hold.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "alloc.h"
#include "rules_internal.h"

#define RULES_RQ_EXACT_MAX 16         /* strings in an exact set */
#define RULES_RQ_ATOM_MIN 3           /* bytes of the shortest useful atom */
#define RULES_RQ_AND_MAX 16           /* kept terms of one AND */
#define RULES_RQ_OR_MAX 8192          /* terms of one OR before giving up */
#define RULES_RQ_DEPTH_MAX 200        /* group nesting analysed */

/* ------------------------------------------------------------------ */
/* Case folding                                                        */
/* ------------------------------------------------------------------ */

/*
 * The fold of one code point: the lowercase of its uppercase. Letters
 * pcre2 matches caselessly (k, K and the Kelvin sign; s, S and long s;
 * σ, ς and Σ) all fold to one code point, so a caseless match of a
 * literal in a text implies the folded literal occurs in the folded text.
 */
static uint32_t
rules_rq_fold_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    return (uint32_t)utf8proc_tolower(utf8proc_toupper((int32_t)cp));
}

/* Decode one valid UTF-8 character; 0 when the bytes are not one. */
static size_t
rules_rq_utf8_decode(const unsigned char *u, size_t n, uint32_t *cp)
{
    unsigned char c = u[0], lo = 0x80, hi = 0xbf;
    size_t k;

    if (c < 0x80) {
        *cp = c;
        return 1;
    }
    if (c >= 0xc2 && c <= 0xdf)
        k = 2;
    else if (c >= 0xe0 && c <= 0xef) {
        k = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80;
        hi = c == 0xed ? 0x9f : 0xbf;
    } else if (c >= 0xf0 && c <= 0xf4) {
        k = 4;
        lo = c == 0xf0 ? 0x90 : 0x80;
        hi = c == 0xf4 ? 0x8f : 0xbf;
    } else
        return 0;
    if (k > n || u[1] < lo || u[1] > hi)
        return 0;
    for (size_t j = 2; j < k; j++) {
        if ((u[j] & 0xc0) != 0x80)
            return 0;
    }
    *cp = k == 2 ? (uint32_t)(c & 0x1f) << 6 | (u[1] & 0x3f) :
        k == 3 ? (uint32_t)(c & 0x0f) << 12 | (uint32_t)(u[1] & 0x3f) << 6 |
        (u[2] & 0x3f) :
        (uint32_t)(c & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
        (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
    return k;
}

static size_t
rules_rq_utf8_encode(uint32_t cp, char *out)
{
    if (cp < 0x80) {
        out[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (char)(0xc0 | cp >> 6);
        out[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (char)(0xe0 | cp >> 12);
        out[1] = (char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | cp >> 18);
    out[1] = (char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

static bool
rules_rq_isalnum_cp(uint32_t c)
{
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z');
}

void
rules_fold_table(uint32_t *t)
{
    for (uint32_t cp = 0; cp < RULES_FOLD_TABLE; cp++)
        t[cp] = rules_rq_fold_cp(cp);
}

/*
 * Fold len bytes of s into dst, which has room for 2 * len bytes (a fold
 * may grow a character from two bytes to three, never more). Bytes that
 * are not UTF-8 are copied as they are: pcre2 never matches across them.
 * table (may be NULL) holds the folds of the two-byte range.
 */
size_t
rules_fold_into(char *dst, const char *s, size_t len, const uint32_t *table)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0, k;
    uint32_t cp;

    while (i < len) {
        if (u[i] < 0x80) {
            dst[o++] = (char)(u[i] >= 'A' && u[i] <= 'Z' ? u[i] + 32 : u[i]);
            i++;
            continue;
        }
        if ((k = rules_rq_utf8_decode(u + i, len - i, &cp)) == 0) {
            dst[o++] = (char)u[i++];
            continue;
        }
        cp = table != NULL && cp < RULES_FOLD_TABLE ? table[cp] :
            rules_rq_fold_cp(cp);
        o += rules_rq_utf8_encode(cp, dst + o);
        i += k;
    }
    return o;
}

int
rules_fold(const char *s, size_t len, struct buf *out)
{
    char *tmp;
    size_t n;
    int rc;

    if ((tmp = xmalloc(2 * len + 1)) == NULL)
        return -1;
    n = rules_fold_into(tmp, s, len, NULL);
    rc = buf_append(out, tmp, n);
    xfree(tmp);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Analysis: an arena, sets and formulas                               */
/* ------------------------------------------------------------------ */

struct rules_rq_chunk {
    struct rules_rq_chunk *next;
    size_t used;
    size_t cap;
};

struct rules_rq_arena {
    struct rules_rq_chunk *head;
    bool oom;
};

#define RULES_RQ_HDR ((sizeof(struct rules_rq_chunk) + 15) & ~(size_t)15)

static void *
rules_rq_alloc(struct rules_rq_arena *a, size_t n)
{
    struct rules_rq_chunk *c = a->head;
    void *p;

    n = (n + 15) & ~(size_t)15;
    if (c == NULL || c->cap - c->used < n) {
        size_t cap = n > 65536 ? n : 65536;

        if ((c = xmalloc(RULES_RQ_HDR + cap)) == NULL) {
            a->oom = true;
            return NULL;
        }
        c->next = a->head;
        c->used = 0;
        c->cap = cap;
        a->head = c;
    }
    p = (char *)c + RULES_RQ_HDR + c->used;
    c->used += n;
    return p;
}

static void
rules_rq_arena_free(struct rules_rq_arena *a)
{
    while (a->head != NULL) {
        struct rules_rq_chunk *next = a->head->next;

        xfree(a->head);
        a->head = next;
    }
}

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

static struct rules_rq_node rules_rq_true_node = {
    RULES_RQ_TRUE, { NULL, 0 }, NULL, 0
};

static struct rules_rq_info
rules_rq_any(void)
{
    return (struct rules_rq_info){ .exact = false,
        .match = &rules_rq_true_node };
}

static struct rules_rq_info
rules_rq_exact1(struct rules_rq_arena *a, const char *s, size_t len)
{
    struct rules_rq_str *set = rules_rq_alloc(a, sizeof(*set));
    char *copy = rules_rq_alloc(a, len + 1);

    if (set == NULL || copy == NULL)
        return rules_rq_any();
    memcpy(copy, s, len);
    set->s = copy;
    set->len = len;
    return (struct rules_rq_info){ .exact = true, .set = set, .n = 1 };
}

static struct rules_rq_info
rules_rq_empty(struct rules_rq_arena *a)
{
    struct rules_rq_info r = rules_rq_exact1(a, "", 0);

    r.nws = r.nwe = RULES_RQ_NW_PASS;
    return r;
}

/* A zero-width assertion: nothing to match, flags as given. */
static struct rules_rq_info
rules_rq_assert(struct rules_rq_arena *a, unsigned char nws,
    unsigned char nwe)
{
    struct rules_rq_info r = rules_rq_empty(a);

    r.nws = nws;
    r.nwe = nwe;
    return r;
}

/* Two subexpressions' flags, either of which may be the one that matched. */
static unsigned char
rules_rq_nw_either(unsigned char x, unsigned char y)
{
    if (x == RULES_RQ_NW_NO || y == RULES_RQ_NW_NO)
        return RULES_RQ_NW_NO;
    return x == RULES_RQ_NW_PASS || y == RULES_RQ_NW_PASS ?
        RULES_RQ_NW_PASS : RULES_RQ_NW_YES;
}

/* Is a code point a word character for pcre2 (UCP) in every version:
 * a letter, a digit or number, or '_'? */
static bool
rules_rq_word_cp(uint32_t cp)
{
    utf8proc_category_t c;

    if (cp < 0x80)
        return (cp >= '0' && cp <= '9') || (cp >= 'a' && cp <= 'z') ||
            (cp >= 'A' && cp <= 'Z') || cp == '_';
    c = utf8proc_category((int32_t)cp);
    return (c >= UTF8PROC_CATEGORY_LU && c <= UTF8PROC_CATEGORY_LO) ||
        (c >= UTF8PROC_CATEGORY_ND && c <= UTF8PROC_CATEGORY_NO);
}

/* An AND of x and y, flattened; extra terms dropped (that only weakens
 * the requirement, which is always safe). */
static struct rules_rq_node *
rules_rq_and(struct rules_rq_arena *a, struct rules_rq_node *x,
    struct rules_rq_node *y)
{
    struct rules_rq_node *both[2] = { x, y }, *n;
    size_t cnt = 0;

    if (x->op == RULES_RQ_TRUE)
        return y;
    if (y->op == RULES_RQ_TRUE)
        return x;
    if ((n = rules_rq_alloc(a, sizeof(*n))) == NULL ||
        (n->kids = rules_rq_alloc(a, RULES_RQ_AND_MAX *
        sizeof(*n->kids))) == NULL)
        return &rules_rq_true_node;
    n->op = RULES_RQ_AND;
    for (size_t i = 0; i < 2; i++) {
        struct rules_rq_node *t = both[i];
        size_t k = t->op == RULES_RQ_AND ? t->nkids : 1;

        for (size_t j = 0; j < k && cnt < RULES_RQ_AND_MAX; j++)
            n->kids[cnt++] = t->op == RULES_RQ_AND ? t->kids[j] : t;
    }
    n->nkids = cnt;
    return n;
}

/* An OR of n nodes, flattened; TRUE if any is, or if it grows huge. */
static struct rules_rq_node *
rules_rq_or(struct rules_rq_arena *a, struct rules_rq_node **v, size_t n)
{
    struct rules_rq_node *o;
    size_t total = 0, k = 0;

    for (size_t i = 0; i < n; i++) {
        if (v[i]->op == RULES_RQ_TRUE)
            return &rules_rq_true_node;
        total += v[i]->op == RULES_RQ_OR ? v[i]->nkids : 1;
    }
    if (total == 1)
        return v[0];
    if (total == 0 || total > RULES_RQ_OR_MAX ||
        (o = rules_rq_alloc(a, sizeof(*o))) == NULL ||
        (o->kids = rules_rq_alloc(a, total * sizeof(*o->kids))) == NULL)
        return &rules_rq_true_node;
    o->op = RULES_RQ_OR;
    for (size_t i = 0; i < n; i++) {
        if (v[i]->op == RULES_RQ_OR) {
            memcpy(o->kids + k, v[i]->kids, v[i]->nkids * sizeof(*o->kids));
            k += v[i]->nkids;
        } else {
            o->kids[k++] = v[i];
        }
    }
    o->nkids = k;
    return o;
}

/* Only punctuation and symbols ("?", "$$", "？", "€")? */
static bool
rules_rq_punct(const unsigned char *u, size_t len)
{
    uint32_t cp;
    size_t k;

    if (len == 0)
        return false;
    for (size_t i = 0; i < len; i += k) {
        if ((k = rules_rq_utf8_decode(u + i, len - i, &cp)) == 0)
            return false;
        if (cp < 0x80 ? !(cp > 0x20 && cp < 0x7f && !rules_rq_isalnum_cp(cp)) :
            utf8proc_category((int32_t)cp) < UTF8PROC_CATEGORY_PC ||
            utf8proc_category((int32_t)cp) > UTF8PROC_CATEGORY_SO)
            return false;
    }
    return true;
}

/*
 * The atom to look for when a match holds the exact string s, or one of
 * length 0 when none is worth looking for. Marks inside s are dropped,
 * and so are marks at its ends unless the letter next to them is a word
 * character. What is worth it: three characters or more; a word of one
 * or two characters marked at both ends (or, two, at one), as in
 * \b(?:ok|no)\b, which the scan then checks (rules_atom_edges_ok); three
 * bytes or more (two Cyrillic letters); punctuation and symbols, rare
 * enough in comments ("?", "€").
 */
static struct rules_rq_str
rules_rq_atom(struct rules_rq_arena *a, const struct rules_rq_str *s)
{
    const unsigned char *u = (const unsigned char *)s->s;
    struct rules_rq_str none = { "", 0 };
    size_t n = 0, chars = 0, k;
    uint32_t first = 0, last = 0;
    bool left, right;
    char *out;

    if (s->len == 0 || (out = rules_rq_alloc(a, s->len + 1)) == NULL)
        return none;
    left = u[0] == RULES_REQ_EDGE;
    right = u[s->len - 1] == RULES_REQ_EDGE;
    out[n++] = (char)RULES_REQ_EDGE;
    for (size_t i = 0; i < s->len; i += k) {
        k = 1;
        if (u[i] == RULES_REQ_EDGE)
            continue;
        if ((k = rules_rq_utf8_decode(u + i, s->len - i, &last)) == 0)
            return none;
        if (chars++ == 0)
            first = last;
        memcpy(out + n, u + i, k);
        n += k;
    }
    left = left && chars > 0 && rules_rq_word_cp(first);
    right = right && chars > 0 && rules_rq_word_cp(last);
    if (chars >= 3 || (!left && !right && n - 1 >= RULES_RQ_ATOM_MIN) ||
        (!left && !right && rules_rq_punct((const unsigned char *)out + 1,
        n - 1)))
        return (struct rules_rq_str){ out + 1, n - 1 };
    if (chars == 0 || (chars == 1 && !(left && right)) ||
        (chars == 2 && !left && !right))
        return none;
    if (right)
        out[n++] = (char)RULES_REQ_EDGE;
    return left ? (struct rules_rq_str){ out, n } :
        (struct rules_rq_str){ out + 1, n - 1 };
}

static bool
rules_rq_contains(const struct rules_rq_str *hay,
    const struct rules_rq_str *needle)
{
    if (needle->len > hay->len)
        return false;
    for (size_t i = 0; i + needle->len <= hay->len; i++) {
        if (memcmp(hay->s + i, needle->s, needle->len) == 0)
            return true;
    }
    return false;
}

/*
 * An exact set as a formula: one of its strings must occur. A string too
 * short to look for makes it TRUE; a string holding another of the set is
 * implied by it and dropped.
 */
static struct rules_rq_node *
rules_rq_set_match(struct rules_rq_arena *a, const struct rules_rq_str *set,
    size_t n)
{
    struct rules_rq_node **v;
    struct rules_rq_str *atoms;
    size_t k = 0;

    if ((atoms = rules_rq_alloc(a, n * sizeof(*atoms))) == NULL)
        return &rules_rq_true_node;
    for (size_t i = 0; i < n; i++) {
        if ((atoms[i] = rules_rq_atom(a, &set[i])).len == 0)
            return &rules_rq_true_node;
    }
    set = atoms;
    if ((v = rules_rq_alloc(a, n * sizeof(*v))) == NULL)
        return &rules_rq_true_node;
    for (size_t i = 0; i < n; i++) {
        bool implied = false;

        for (size_t j = 0; j < n && !implied; j++) {
            if (j != i && (set[j].len < set[i].len ||
                (set[j].len == set[i].len && j < i)) &&
                rules_rq_contains(&set[i], &set[j]))
                implied = true;
        }
        if (implied)
            continue;
        if ((v[k] = rules_rq_alloc(a, sizeof(*v[k]))) == NULL)
            return &rules_rq_true_node;
        v[k]->op = RULES_RQ_ATOM;
        v[k]->atom = set[i];
        v[k]->kids = NULL;
        v[k]->nkids = 0;
        k++;
    }
    return rules_rq_or(a, v, k);
}

static struct rules_rq_node *
rules_rq_match(struct rules_rq_arena *a, const struct rules_rq_info *x)
{
    return x->exact ? rules_rq_set_match(a, x->set, x->n) : x->match;
}

/* Add s to set (of *n, room for RULES_RQ_EXACT_MAX) unless it is there. */
static void
rules_rq_set_add(struct rules_rq_str *set, size_t *n, struct rules_rq_str s)
{
    for (size_t i = 0; i < *n; i++) {
        if (set[i].len == s.len && memcmp(set[i].s, s.s, s.len) == 0)
            return;
    }
    set[(*n)++] = s;
}

static struct rules_rq_info
rules_rq_concat(struct rules_rq_arena *a, const struct rules_rq_info *x,
    const struct rules_rq_info *y)
{
    struct rules_rq_info r = { .exact = true };

    if (x->exact && y->exact && x->n * y->n <= RULES_RQ_EXACT_MAX) {
        if ((r.set = rules_rq_alloc(a, RULES_RQ_EXACT_MAX *
            sizeof(*r.set))) == NULL)
            return rules_rq_any();
        for (size_t i = 0; i < x->n; i++) {
            for (size_t j = 0; j < y->n; j++) {
                size_t len = x->set[i].len + y->set[j].len;
                char *s = rules_rq_alloc(a, len + 1);

                if (s == NULL)
                    return rules_rq_any();
                memcpy(s, x->set[i].s, x->set[i].len);
                memcpy(s + x->set[i].len, y->set[j].s, y->set[j].len);
                rules_rq_set_add(r.set, &r.n, (struct rules_rq_str){ s, len });
            }
        }
        return r;
    }
    r.exact = false;
    r.match = rules_rq_and(a, rules_rq_match(a, x), rules_rq_match(a, y));
    return r;
}

/* Alternatives: the union of exact sets while small, else an OR. */
static struct rules_rq_info
rules_rq_alt(struct rules_rq_arena *a, const struct rules_rq_info *v, size_t n)
{
    struct rules_rq_info r = { .exact = true };
    struct rules_rq_node **nodes;
    size_t total = 0;
    bool exact = true;

    r.nws = r.nwe = n > 0 ? RULES_RQ_NW_YES : RULES_RQ_NW_NO;
    for (size_t i = 0; i < n; i++) {
        exact = exact && v[i].exact;
        total += v[i].exact ? v[i].n : 0;
        r.nws = rules_rq_nw_either(r.nws, v[i].nws);
        r.nwe = rules_rq_nw_either(r.nwe, v[i].nwe);
    }
    if (n == 1)
        return v[0];
    if (exact && total <= RULES_RQ_EXACT_MAX) {
        if ((r.set = rules_rq_alloc(a, RULES_RQ_EXACT_MAX *
            sizeof(*r.set))) == NULL)
            return rules_rq_any();
        for (size_t i = 0; i < n; i++) {
            for (size_t j = 0; j < v[i].n; j++)
                rules_rq_set_add(r.set, &r.n, v[i].set[j]);
        }
        return r;
    }
    if ((nodes = rules_rq_alloc(a, n * sizeof(*nodes))) == NULL)
        return rules_rq_any();
    for (size_t i = 0; i < n; i++)
        nodes[i] = rules_rq_match(a, &v[i]);
    r.exact = false;
    r.set = NULL;
    r.n = 0;
    r.match = rules_rq_or(a, nodes, n);
    return r;
}

/* x{min,max}; max UINT32_MAX is unbounded. */
static struct rules_rq_info
rules_rq_repeat(struct rules_rq_arena *a, const struct rules_rq_info *x,
    uint32_t min,
    uint32_t max)
{
    struct rules_rq_info r, pow, alts[RULES_RQ_EXACT_MAX];
    size_t n = 0, total = 0, size = 1;

    if (max == 0)
        return rules_rq_empty(a);
    if (min == 1 && max == 1)
        return *x;
    /* A short bounded repeat of a small set stays exact: u{1,2} is
     * {u, uu}, which is what the normalized text (3+ letters become 2)
     * makes of a stretched letter. */
    if (x->exact && max <= 4) {
        for (uint32_t k = 0; k <= max && total <= RULES_RQ_EXACT_MAX; k++) {
            if (k >= min)
                total += size;
            size *= x->n;
        }
        if (total <= RULES_RQ_EXACT_MAX) {
            pow = rules_rq_empty(a);
            for (uint32_t k = 0; k <= max; k++) {
                if (k >= min)
                    alts[n++] = pow;
                pow = rules_rq_concat(a, &pow, x);
            }
            return rules_rq_alt(a, alts, n);
        }
    }
    if (min == 0)
        return rules_rq_any();
    r.exact = false;
    r.match = rules_rq_match(a, x);
    return r;
}

/* ------------------------------------------------------------------ */
/* Analysis: the pcre2 syntax                                          */
/* ------------------------------------------------------------------ */

#define RULES_RQ_FLAG_X 1u    /* (?x): blanks and # comments ignored */
#define RULES_RQ_FLAG_N 2u    /* (?n): plain parentheses do not capture */

struct rules_rq_parser {
    const unsigned char *p;
    const unsigned char *end;
    struct rules_rq_arena *a;
    uint32_t ncap;
    int depth;
    const char *why;    /* set: the analysis gave up */
    bool lead;          /* for the group about to be parsed: see
                         * struct rules_rq_seq */
};

static struct rules_rq_info rules_rq_parse_alt(struct rules_rq_parser *ps,
    unsigned flags);

static void
rules_rq_bail(struct rules_rq_parser *ps, const char *why)
{
    if (ps->why == NULL)
        ps->why = why;
}

static bool
rules_rq_isdigit(unsigned char c)
{
    return c >= '0' && c <= '9';
}

static bool
rules_rq_isxdigit(unsigned char c)
{
    return rules_rq_isdigit(c) || (c >= 'a' && c <= 'f') ||
        (c >= 'A' && c <= 'F');
}

static bool
rules_rq_isalnum(unsigned char c)
{
    return rules_rq_isdigit(c) || (c >= 'a' && c <= 'z') ||
        (c >= 'A' && c <= 'Z');
}

static uint32_t
rules_rq_hexval(unsigned char c)
{
    return rules_rq_isdigit(c) ? (uint32_t)(c - '0') :
        (uint32_t)((c | 0x20) - 'a' + 10);
}

/*
 * In (?x) mode, skip what pcre2 skips: its white space (ASCII 9-13 and
 * 32, and U+0085, U+200E, U+200F, U+2028, U+2029) and # comments to the
 * end of the line. A comment holding another line ending pcre2 might
 * stop at is not guessed about.
 */
static void
rules_rq_skip_blank(struct rules_rq_parser *ps, unsigned flags)
{
    const unsigned char *p = ps->p, *e = ps->end;

    if (!(flags & RULES_RQ_FLAG_X))
        return;
    while (p < e) {
        if ((*p >= 9 && *p <= 13) || *p == ' ') {
            p++;
        } else if (e - p >= 2 && p[0] == 0xc2 && p[1] == 0x85) {
            p += 2;
        } else if (e - p >= 3 && p[0] == 0xe2 && p[1] == 0x80 &&
            (p[2] == 0x8e || p[2] == 0x8f || p[2] == 0xa8 ||
            p[2] == 0xa9)) {
            p += 3;
        } else if (*p == '#') {
            while (p < e && *p != '\n') {
                if (*p == '\r' || *p == '\v' || *p == '\f' || (e - p >= 2 &&
                    p[0] == 0xc2 && p[1] == 0x85) || (e - p >= 3 &&
                    p[0] == 0xe2 && p[1] == 0x80 && (p[2] == 0xa8 ||
                    p[2] == 0xa9))) {
                    rules_rq_bail(ps, "a # comment with an unusual line end");
                    break;
                }
                p++;
            }
        } else {
            break;
        }
    }
    ps->p = p;
}

/* A literal code point as an exact set of its fold. */
static struct rules_rq_info
rules_rq_literal(struct rules_rq_parser *ps, uint32_t cp)
{
    char buf[4];
    struct rules_rq_info r = rules_rq_exact1(ps->a, buf,
        rules_rq_utf8_encode(rules_rq_fold_cp(cp), buf));

    r.nws = r.nwe = rules_rq_word_cp(cp) ? RULES_RQ_NW_NO : RULES_RQ_NW_YES;
    return r;
}

/* The next pattern character as a code point (the pattern is UTF-8). */
static uint32_t
rules_rq_next_cp(struct rules_rq_parser *ps)
{
    uint32_t cp;
    size_t k = rules_rq_utf8_decode(ps->p, (size_t)(ps->end - ps->p), &cp);

    if (k == 0) {
        rules_rq_bail(ps, "invalid UTF-8 in the pattern");
        ps->p = ps->end;
        return 0;
    }
    ps->p += k;
    return cp;
}

/* Skip a {...} (or <...>, '...') argument of an escape; false if none. */
static bool
rules_rq_skip_delimited(struct rules_rq_parser *ps, unsigned char open)
{
    unsigned char close = open == '{' ? '}' : open == '<' ? '>' : '\'';

    if (ps->p >= ps->end || *ps->p != open)
        return false;
    while (ps->p < ps->end && *ps->p != close)
        ps->p++;
    if (ps->p < ps->end)
        ps->p++;
    return true;
}

/*
 * The escapes that stand for one literal character, after the backslash
 * and the letter c: \a \e \f \n \r \t, \xhh, \x{h..}, \o{o..}, \0oo,
 * \cX, \N{U+h..}. Returns false (nothing consumed) for the others.
 */
static bool
rules_rq_escape_char(struct rules_rq_parser *ps, unsigned char c, uint32_t *cp)
{
    const unsigned char *p = ps->p, *e = ps->end;
    uint32_t v = 0;
    int n;

    switch (c) {
    case 'a': *cp = 7; return true;
    case 'e': *cp = 0x1b; return true;
    case 'f': *cp = 0x0c; return true;
    case 'n': *cp = 0x0a; return true;
    case 'r': *cp = 0x0d; return true;
    case 't': *cp = 0x09; return true;
    case 'x':
        if (p < e && *p == '{') {
            for (p++; p < e && rules_rq_isxdigit(*p); p++)
                v = v * 16 + rules_rq_hexval(*p);
            if (p >= e || *p != '}')
                return false;
            p++;
        } else {
            for (n = 0; n < 2 && p < e && rules_rq_isxdigit(*p); n++, p++)
                v = v * 16 + rules_rq_hexval(*p);
        }
        break;
    case 'o':
        if (p >= e || *p != '{')
            return false;
        for (p++; p < e && *p >= '0' && *p <= '7'; p++)
            v = v * 8 + (uint32_t)(*p - '0');
        if (p >= e || *p != '}')
            return false;
        p++;
        break;
    case '0':
        for (n = 0; n < 2 && p < e && *p >= '0' && *p <= '7'; n++, p++)
            v = v * 8 + (uint32_t)(*p - '0');
        break;
    case 'c':
        if (p >= e || *p >= 0x80)
            return false;
        v = (uint32_t)((*p >= 'a' && *p <= 'z' ? *p - 32 : *p) ^ 0x40);
        p++;
        break;
    case 'N':
        if (e - p < 3 || p[0] != '{' || p[1] != 'U' || p[2] != '+')
            return false;
        for (p += 3; p < e && rules_rq_isxdigit(*p); p++)
            v = v * 16 + rules_rq_hexval(*p);
        if (p >= e || *p != '}')
            return false;
        p++;
        break;
    default:
        return false;
    }
    if (v > 0x10ffff)
        return false;
    ps->p = p;
    *cp = v;
    return true;
}

/* After a backslash outside a class. */
static struct rules_rq_info
rules_rq_parse_escape(struct rules_rq_parser *ps)
{
    unsigned char c;
    uint32_t cp;

    if (ps->p >= ps->end) {
        rules_rq_bail(ps, "a backslash at the end");
        return rules_rq_any();
    }
    c = *ps->p++;
    if (rules_rq_escape_char(ps, c, &cp))
        return rules_rq_literal(ps, cp);
    switch (c) {
    case 'b': {
        static const char edge[1] = { (char)RULES_REQ_EDGE };
        struct rules_rq_info r = rules_rq_exact1(ps->a, edge, 1);

        r.nws = r.nwe = RULES_RQ_NW_PASS;
        return r;
    }
    case 'A':
        return rules_rq_assert(ps->a, RULES_RQ_NW_PASS, RULES_RQ_NW_YES);
    case 'Z': case 'z':
        return rules_rq_assert(ps->a, RULES_RQ_NW_YES, RULES_RQ_NW_PASS);
    case 'B': case 'G': case 'K': case 'E':
        return rules_rq_empty(ps->a);
    case 's': case 'W': case 'h': case 'v': case 'R': {
        /* One or more characters, none of them a word character. */
        struct rules_rq_info r = rules_rq_any();

        r.nws = r.nwe = RULES_RQ_NW_YES;
        return r;
    }
    case 'd': case 'D': case 'S': case 'w': case 'H': case 'V': case 'X':
    case 'N':
        return rules_rq_any();
    case 'p': case 'P':
        if (!rules_rq_skip_delimited(ps, '{') && ps->p < ps->end)
            ps->p++;
        return rules_rq_any();
    case 'g':
        if (!rules_rq_skip_delimited(ps, '{') &&
            !rules_rq_skip_delimited(ps, '<') &&
            !rules_rq_skip_delimited(ps, '\'')) {
            if (ps->p < ps->end && (*ps->p == '-' || *ps->p == '+'))
                ps->p++;
            while (ps->p < ps->end && rules_rq_isdigit(*ps->p))
                ps->p++;
        }
        return rules_rq_any();
    case 'k':
        if (!rules_rq_skip_delimited(ps, '{') &&
            !rules_rq_skip_delimited(ps, '<') &&
            !rules_rq_skip_delimited(ps, '\''))
            rules_rq_bail(ps, "an unknown \\k form");
        return rules_rq_any();
    default:
        break;
    }
    if (rules_rq_isdigit(c)) {
        /* A back reference or an octal character: either way something
         * not known here; swallowing every digit only loses literals. */
        while (ps->p < ps->end && rules_rq_isdigit(*ps->p))
            ps->p++;
        return rules_rq_any();
    }
    if (rules_rq_isalnum(c)) {
        rules_rq_bail(ps, "an escape the analysis does not know");
        return rules_rq_any();
    }
    ps->p--;
    return rules_rq_literal(ps, rules_rq_next_cp(ps));
}

/* pcre2's check_posix_syntax, from the ':' after '['. */
static bool
rules_rq_posix_class(const unsigned char *p, const unsigned char *e,
    const unsigned char **endp)
{
    unsigned char term = *p++;

    for (; e - p >= 2; p++) {
        if (*p == '\\' && (p[1] == ']' || p[1] == '\\'))
            p++;
        else if ((*p == '[' && p[1] == term) || *p == ']')
            return false;
        else if (*p == term && p[1] == ']') {
            *endp = p;
            return true;
        }
    }
    return false;
}

/*
 * A character class, from after '['. Small classes of plain characters
 * and short ranges become exact sets of their folds; anything else
 * (negation, \d, [:alpha:], long ranges, blanks under (?x)) is one
 * unknown character. What matters most is finding the right ']'.
 */
static struct rules_rq_info
rules_rq_parse_class(struct rules_rq_parser *ps, unsigned flags)
{
    struct rules_rq_str set[RULES_RQ_EXACT_MAX];
    const unsigned char *e = ps->end, *endp;
    bool enumerable = true, first = true, quoted = false;
    bool nonword = true;    /* no member is a word character */
    size_t n = 0;
    struct rules_rq_info r;

    if (ps->p < e && *ps->p == '^') {
        enumerable = nonword = false;
        ps->p++;
    }
    for (;;) {
        uint32_t lo, hi;
        bool have = false;

        if (ps->p >= e || ps->why != NULL) {
            rules_rq_bail(ps, "an unterminated class");
            return rules_rq_any();
        }
        if (quoted) {
            if (e - ps->p >= 2 && ps->p[0] == '\\' && ps->p[1] == 'E') {
                ps->p += 2;
                quoted = false;
                continue;
            }
            lo = rules_rq_next_cp(ps);
            have = true;
        } else if (*ps->p == ']' && !first) {
            ps->p++;
            break;
        } else if (*ps->p == '[' && e - ps->p >= 3 && (ps->p[1] == ':' ||
            ps->p[1] == '.' || ps->p[1] == '=') &&
            rules_rq_posix_class(ps->p + 1, e, &endp)) {
            ps->p = endp + 2;
            enumerable = nonword = false;
        } else if (*ps->p == '\\') {
            unsigned char c;

            if (e - ps->p < 2) {
                rules_rq_bail(ps, "a backslash at the end");
                return rules_rq_any();
            }
            c = ps->p[1];
            ps->p += 2;
            if (c == 'Q') {
                quoted = true;
            } else if (c == 'E') {
                /* nothing */
            } else if (c == 'b') {
                lo = 8;
                have = true;
            } else if (rules_rq_escape_char(ps, c, &lo)) {
                have = true;
            } else if (c == 'p' || c == 'P') {
                if (!rules_rq_skip_delimited(ps, '{') && ps->p < e)
                    ps->p++;
                enumerable = nonword = false;
            } else if (rules_rq_isdigit(c) || (c != '\0' &&
                strchr("dDsSwWhHvV", c) != NULL)) {
                enumerable = false;
                nonword = nonword && strchr("sWhv", c) != NULL;
            } else if (rules_rq_isalnum(c)) {
                rules_rq_bail(ps, "an escape the analysis does not know");
                return rules_rq_any();
            } else {
                ps->p--;
                lo = rules_rq_next_cp(ps);
                have = true;
            }
        } else {
            if ((*ps->p == ' ' || *ps->p == '\t') && (flags & RULES_RQ_FLAG_X))
                enumerable = false;
            lo = rules_rq_next_cp(ps);
            have = true;
        }
        first = false;
        if (!have)
            continue;
        hi = lo;
        /* A range: '-' then a character, not the closing bracket. */
        if (!quoted && e - ps->p >= 2 && ps->p[0] == '-' &&
            ps->p[1] != ']') {
            ps->p++;
            if (*ps->p == '\\' && e - ps->p >= 2) {
                unsigned char c = ps->p[1];

                ps->p += 2;
                if (c == 'b')
                    hi = 8;
                else if (!rules_rq_escape_char(ps, c, &hi)) {
                    if (rules_rq_isalnum(c)) {
                        rules_rq_bail(ps, "a class range the analysis does not "
                            "follow");
                        return rules_rq_any();
                    }
                    ps->p--;
                    hi = rules_rq_next_cp(ps);
                }
            } else if (*ps->p == '[') {
                rules_rq_bail(ps, "a class range the analysis does not follow");
                return rules_rq_any();
            } else {
                hi = rules_rq_next_cp(ps);
            }
        }
        for (uint32_t cp = lo; nonword && cp <= hi; cp++)
            nonword = hi - lo < 128 && !rules_rq_word_cp(cp);
        if (hi < lo || hi - lo >= RULES_RQ_EXACT_MAX) {
            enumerable = false;
            continue;
        }
        for (uint32_t cp = lo; enumerable && cp <= hi; cp++) {
            char buf[4], *s;
            size_t len = rules_rq_utf8_encode(rules_rq_fold_cp(cp), buf);

            if (n == RULES_RQ_EXACT_MAX) {
                enumerable = false;
                break;
            }
            if ((s = rules_rq_alloc(ps->a, len)) == NULL)
                return rules_rq_any();
            memcpy(s, buf, len);
            rules_rq_set_add(set, &n, (struct rules_rq_str){ s, len });
        }
    }
    r = rules_rq_any();
    if (enumerable && n > 0 &&
        (r.set = rules_rq_alloc(ps->a, n * sizeof(*r.set))) != NULL) {
        memcpy(r.set, set, n * sizeof(*r.set));
        r.exact = true;
        r.n = n;
    }
    if (nonword)
        r.nws = r.nwe = RULES_RQ_NW_YES;
    return r;
}

/*
 * A repeat count at p ("{2}", "{2,}", "{2,5}") the way pcre2 10.42 reads
 * it; anything else makes '{' a literal. A form later pcre2 versions
 * also accept ("{,5}", "{ 2 }") is not guessed about.
 */
static int
rules_rq_repeat_count(struct rules_rq_parser *ps, uint32_t *min, uint32_t *max)
{
    const unsigned char *p = ps->p + 1, *e = ps->end;
    uint32_t v = 0;
    bool digits = false, loose = false;

    for (; p < e && rules_rq_isdigit(*p); p++, digits = true)
        v = v * 10 + (*p - '0') > 65535 ? 65535 : v * 10 + (*p - '0');
    *min = v;
    if (digits && p < e && *p == '}') {
        *max = v;
        ps->p = p + 1;
        return 1;
    }
    if (digits && p < e && *p == ',') {
        bool d2 = false;

        v = 0;
        for (p++; p < e && rules_rq_isdigit(*p); p++, d2 = true)
            v = v * 10 + (*p - '0') > 65535 ? 65535 : v * 10 + (*p - '0');
        if (p < e && *p == '}') {
            *max = d2 ? v : UINT32_MAX;
            ps->p = p + 1;
            return 1;
        }
    }
    /* Something like a count written another way? */
    for (p = ps->p + 1; p < e && (rules_rq_isdigit(*p) || *p == ',' ||
        *p == ' ' || *p == '\t'); p++)
        loose = loose || rules_rq_isdigit(*p);
    if (loose && p < e && *p == '}') {
        rules_rq_bail(ps, "a repeat count written as only newer pcre2 "
            "reads it");
        return -1;
    }
    return 0;
}

/* Quantifiers after an item (blanks between them under (?x)). */
static struct rules_rq_info
rules_rq_parse_quant(struct rules_rq_parser *ps, unsigned flags,
    struct rules_rq_info x)
{
    for (;;) {
        const unsigned char *save = ps->p;
        uint32_t min, max;
        unsigned char nws, nwe;
        int rc;

        rules_rq_skip_blank(ps, flags);
        if (ps->p >= ps->end) {
            ps->p = save;
            return x;
        }
        switch (*ps->p) {
        case '*':
            min = 0;
            max = UINT32_MAX;
            ps->p++;
            break;
        case '+':
            min = 1;
            max = UINT32_MAX;
            ps->p++;
            break;
        case '?':
            min = 0;
            max = 1;
            ps->p++;
            break;
        case '{':
            if ((rc = rules_rq_repeat_count(ps, &min, &max)) == 1)
                break;
            if (rc == -1)
                return rules_rq_any();
            /* FALLTHROUGH */
        default:
            ps->p = save;
            return x;
        }
        /* A lazy or possessive mark right after is not a repeat. */
        if (ps->p < ps->end && (*ps->p == '?' || *ps->p == '+'))
            ps->p++;
        nws = x.nws;
        nwe = x.nwe;
        if (max == 0)
            nws = nwe = RULES_RQ_NW_PASS;
        else if (min == 0) {
            /* Nothing matched leaves the text around as it is. */
            nws = nws == RULES_RQ_NW_YES ? RULES_RQ_NW_PASS : nws;
            nwe = nwe == RULES_RQ_NW_YES ? RULES_RQ_NW_PASS : nwe;
        }
        x = rules_rq_repeat(ps->a, &x, min, max);
        x.nws = nws;
        x.nwe = nwe;
    }
}

/* Skip to the ')' closing a construct whose body is not a pattern. */
static void
rules_rq_skip_to_paren(struct rules_rq_parser *ps)
{
    while (ps->p < ps->end && *ps->p != ')')
        ps->p++;
    if (ps->p >= ps->end)
        rules_rq_bail(ps, "an unterminated group");
    else
        ps->p++;
}

/* The body of a group and its ')'. */
static struct rules_rq_info
rules_rq_group_body(struct rules_rq_parser *ps, unsigned flags)
{
    struct rules_rq_info x;

    if (++ps->depth > RULES_RQ_DEPTH_MAX) {
        rules_rq_bail(ps, "groups nested too deep");
        return rules_rq_any();
    }
    x = rules_rq_parse_alt(ps, flags);
    ps->depth--;
    if (ps->p >= ps->end || *ps->p != ')') {
        rules_rq_bail(ps, "an unterminated group");
        return rules_rq_any();
    }
    ps->p++;
    return x;
}

/* Option letters of (?imnsxJU-^...); returns the new flags. */
static bool
rules_rq_options(struct rules_rq_parser *ps, unsigned *flags)
{
    bool unset = false;

    if (ps->p < ps->end && *ps->p == '^') {
        *flags &= ~(RULES_RQ_FLAG_X | RULES_RQ_FLAG_N);
        ps->p++;
    }
    for (; ps->p < ps->end && *ps->p != ')' && *ps->p != ':'; ps->p++) {
        switch (*ps->p) {
        case '-':
            unset = true;
            break;
        case 'x':
            *flags = unset ? *flags & ~RULES_RQ_FLAG_X :
                *flags | RULES_RQ_FLAG_X;
            break;
        case 'n':
            *flags = unset ? *flags & ~RULES_RQ_FLAG_N :
                *flags | RULES_RQ_FLAG_N;
            break;
        case 'i': case 'm': case 's': case 'J': case 'U':
            break;
        default:
            return false;
        }
    }
    return ps->p < ps->end;
}

/* The leading (*UTF)-style settings that change no literal. */
static bool
rules_rq_start_verb(const unsigned char *p, const unsigned char *e)
{
    static const char *const ok[] = {
        "UTF)", "UCP)", "NO_AUTO_POSSESS)", "NO_START_OPT)",
        "NO_DOTSTAR_ANCHOR)", "NO_JIT)", "NOTEMPTY)", "NOTEMPTY_ATSTART)",
        "LIMIT_MATCH=", "LIMIT_DEPTH=", "LIMIT_HEAP=", "LIMIT_RECURSION=",
    };

    for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
        size_t n = strlen(ok[i]);

        if ((size_t)(e - p) >= n && memcmp(p, ok[i], n) == 0)
            return true;
    }
    return false;
}

/* A group, from after '('. *item false: an option setting, no item. */
static struct rules_rq_info
rules_rq_parse_group(struct rules_rq_parser *ps, unsigned *flags, bool *item)
{
    const unsigned char *e = ps->end;
    unsigned inner;

    *item = true;
    if (ps->p < e && *ps->p == '*') {
        if (!rules_rq_start_verb(ps->p + 1, e)) {
            rules_rq_bail(ps, "a (*VERB) the analysis does not follow");
            return rules_rq_any();
        }
        rules_rq_skip_to_paren(ps);
        *item = false;
        return rules_rq_any();
    }
    if (ps->p >= e || *ps->p != '?') {
        if (!(*flags & RULES_RQ_FLAG_N))
            ps->ncap++;
        return rules_rq_group_body(ps, *flags);
    }
    ps->p++;
    if (ps->p >= e) {
        rules_rq_bail(ps, "an unterminated group");
        return rules_rq_any();
    }
    switch (*ps->p) {
    case ':': case '>':
        ps->p++;
        return rules_rq_group_body(ps, *flags);
    case '=': case '!': case '*':
        /* Lookahead: parsed for its captures and its ')'; zero-width. */
        ps->p++;
        rules_rq_group_body(ps, *flags);
        return rules_rq_empty(ps->a);
    case '<':
        if (e - ps->p >= 2 && (ps->p[1] == '=' || ps->p[1] == '!' ||
            ps->p[1] == '*')) {
            ps->p += 2;
            rules_rq_group_body(ps, *flags);
            return rules_rq_empty(ps->a);
        }
        ps->p++;
        while (ps->p < e && *ps->p != '>')
            ps->p++;
        if (ps->p < e)
            ps->p++;
        ps->ncap++;
        return rules_rq_group_body(ps, *flags);
    case '\'':
        ps->p++;
        while (ps->p < e && *ps->p != '\'')
            ps->p++;
        if (ps->p < e)
            ps->p++;
        ps->ncap++;
        return rules_rq_group_body(ps, *flags);
    case 'P':
        if (e - ps->p >= 2 && ps->p[1] == '<') {
            ps->p += 2;
            while (ps->p < e && *ps->p != '>')
                ps->p++;
            if (ps->p < e)
                ps->p++;
            ps->ncap++;
            return rules_rq_group_body(ps, *flags);
        }
        /* (?P=name) back reference, (?P>name) subroutine call. */
        rules_rq_skip_to_paren(ps);
        return rules_rq_any();
    case '#':
        rules_rq_skip_to_paren(ps);
        *item = false;
        return rules_rq_any();
    case 'R': case '&': case '+':
        rules_rq_skip_to_paren(ps);
        return rules_rq_any();
    default:
        break;
    }
    if (rules_rq_isdigit(*ps->p) || (*ps->p == '-' && e - ps->p >= 2 &&
        rules_rq_isdigit(ps->p[1]))) {
        rules_rq_skip_to_paren(ps);
        return rules_rq_any();
    }
    inner = *flags;
    if (!rules_rq_options(ps, &inner)) {
        rules_rq_bail(ps, "a (? group the analysis does not follow");
        return rules_rq_any();
    }
    if (*ps->p == ')') {
        /* (?x): for the rest of the enclosing group. */
        ps->p++;
        *flags = inner;
        *item = false;
        return rules_rq_any();
    }
    ps->p++;
    return rules_rq_group_body(ps, inner);
}

/*
 * The strings of an exact set cut to their last k characters, for the
 * largest k that leaves at most max distinct ones (a tail of a string a
 * match holds is held too). The empty set {""} when none fits.
 */
static struct rules_rq_info
rules_rq_tails(struct rules_rq_arena *a, const struct rules_rq_info *x,
    size_t max)
{
    struct rules_rq_info r = { .exact = true };
    struct rules_rq_str set[RULES_RQ_EXACT_MAX];
    size_t longest = 0;

    if (max == 0)
        return rules_rq_empty(a);
    for (size_t i = 0; i < x->n; i++) {
        size_t n = 0;

        for (size_t b = 0; b < x->set[i].len; b++)
            n += ((unsigned char)x->set[i].s[b] & 0xc0) != 0x80;
        longest = n > longest ? n : longest;
    }
    for (size_t k = longest; k > 0; k--) {
        size_t n = 0;

        for (size_t i = 0; i < x->n && n <= max; i++) {
            const char *s = x->set[i].s, *e = s + x->set[i].len, *t = e;
            size_t c = 0;

            while (t > s && c < k) {
                t--;
                if (((unsigned char)*t & 0xc0) != 0x80)
                    c++;
            }
            if (n < RULES_RQ_EXACT_MAX)
                rules_rq_set_add(set, &n, (struct rules_rq_str){ t,
                    (size_t)(e - t) });
            else
                n++;
        }
        if (n <= max) {
            if ((r.set = rules_rq_alloc(a, n * sizeof(*r.set))) == NULL)
                return rules_rq_empty(a);
            memcpy(r.set, set, n * sizeof(*set));
            r.n = n;
            return r;
        }
    }
    return rules_rq_empty(a);
}

/*
 * A sequence under construction: the exact run of the items since the
 * last one that was not exact, and the formula of everything before it.
 * Keeping the run apart is what lets "not\s+working" need "not" and
 * "working" rather than lose each letter after the first gap.
 */
struct rules_rq_seq {
    struct rules_rq_info run;     /* exact */
    struct rules_rq_node *before; /* TRUE while nothing was flushed */
    bool exact;             /* no item so far was inexact */
    bool lead;              /* what comes before the sequence is no word
                             * character (or nothing) */
    unsigned char nws;      /* of the items so far (PASS: none said) */
    unsigned char nwe;      /* at the end of the items so far */
};

/* The run as it is, or started afresh: every string empty? */
static bool
rules_rq_seq_fresh(const struct rules_rq_seq *sq)
{
    return sq->run.n == 1 && sq->run.set[0].len == 0;
}

/* Is the text before the next item no word character (or nothing)? */
static bool
rules_rq_seq_nw_here(const struct rules_rq_seq *sq)
{
    return sq->nwe == RULES_RQ_NW_YES ||
        (sq->nwe == RULES_RQ_NW_PASS && sq->lead);
}

/* Does every string of the run end with an edge mark? */
static bool
rules_rq_seq_edge_here(const struct rules_rq_seq *sq)
{
    for (size_t i = 0; i < sq->run.n; i++) {
        const struct rules_rq_str *x = &sq->run.set[i];

        if (x->len == 0 || (unsigned char)x->s[x->len - 1] != RULES_REQ_EDGE)
            return false;
    }
    return sq->run.n > 0;
}

static void
rules_rq_seq_flush(struct rules_rq_parser *ps, struct rules_rq_seq *sq)
{
    sq->before = rules_rq_and(ps->a, sq->before,
        rules_rq_match(ps->a, &sq->run));
    sq->run = rules_rq_empty(ps->a);
    sq->exact = false;
}

static void rules_rq_seq_add_sets(struct rules_rq_parser *ps,
    struct rules_rq_seq *sq, const struct rules_rq_info *x);

/*
 * Add an item, with the edge marks its neighbours allow: one where the
 * run meets an item starting with a non-word character, one where a
 * fresh run follows a non-word character.
 */
static void
rules_rq_seq_add(struct rules_rq_parser *ps, struct rules_rq_seq *sq,
    const struct rules_rq_info *x)
{
    static const char edge[1] = { (char)RULES_REQ_EDGE };
    struct rules_rq_info mark;

    if ((x->nws == RULES_RQ_NW_YES && !rules_rq_seq_fresh(sq)) ||
        (x->exact && rules_rq_seq_fresh(sq) && rules_rq_seq_nw_here(sq))) {
        mark = rules_rq_exact1(ps->a, edge, 1);
        if (mark.exact)
            rules_rq_seq_add_sets(ps, sq, &mark);
    }
    if (sq->nws == RULES_RQ_NW_PASS)
        sq->nws = x->nws;
    if (x->nwe != RULES_RQ_NW_PASS)
        sq->nwe = x->nwe;
    rules_rq_seq_add_sets(ps, sq, x);
}

static void
rules_rq_seq_add_sets(struct rules_rq_parser *ps, struct rules_rq_seq *sq,
    const struct rules_rq_info *x)
{
    if (!x->exact) {
        rules_rq_seq_flush(ps, sq);
        sq->before = rules_rq_and(ps->a, sq->before, x->match);
        return;
    }
    if (sq->run.n * x->n > RULES_RQ_EXACT_MAX) {
        struct rules_rq_info tail;

        /* Too many strings to go on. What the run needs is kept (AND),
         * and the run goes on from the longest common tails that fit:
         * "(?:на|по|...)?ху" needs "ху" whatever came before it. */
        tail = rules_rq_tails(ps->a, &sq->run, RULES_RQ_EXACT_MAX / x->n);
        rules_rq_seq_flush(ps, sq);
        sq->run = tail;
    }
    sq->run = rules_rq_concat(ps->a, &sq->run, x);
}

static struct rules_rq_info
rules_rq_seq_done(struct rules_rq_parser *ps, struct rules_rq_seq *sq)
{
    struct rules_rq_info r;

    if (sq->exact) {
        r = sq->run;
    } else {
        r.exact = false;
        r.set = NULL;
        r.n = 0;
        r.match = rules_rq_and(ps->a, sq->before,
            rules_rq_match(ps->a, &sq->run));
    }
    r.nws = sq->nws;
    r.nwe = sq->nwe;
    return r;
}

/* One concatenation, up to '|', ')' or the end; lead as in the seq. */
static struct rules_rq_info
rules_rq_parse_seq(struct rules_rq_parser *ps, unsigned *flags, bool lead)
{
    struct rules_rq_seq sq = { rules_rq_empty(ps->a), &rules_rq_true_node,
        true, lead, RULES_RQ_NW_PASS, RULES_RQ_NW_PASS };
    struct rules_rq_info x;

    for (;;) {
        bool item = true;

        rules_rq_skip_blank(ps, *flags);
        if (ps->why != NULL || ps->p >= ps->end || *ps->p == '|' ||
            *ps->p == ')')
            return rules_rq_seq_done(ps, &sq);
        switch (*ps->p) {
        case '^':
            ps->p++;
            x = rules_rq_assert(ps->a, RULES_RQ_NW_PASS, RULES_RQ_NW_YES);
            break;
        case '$':
            ps->p++;
            x = rules_rq_assert(ps->a, RULES_RQ_NW_YES, RULES_RQ_NW_PASS);
            break;
        case '.':
            ps->p++;
            x = rules_rq_any();
            break;
        case '[':
            ps->p++;
            x = rules_rq_parse_class(ps, *flags);
            break;
        case '(':
            ps->p++;
            /* The group's branches start where the run stands. */
            ps->lead = rules_rq_seq_nw_here(&sq) ||
                rules_rq_seq_edge_here(&sq);
            x = rules_rq_parse_group(ps, flags, &item);
            break;
        case '*': case '+': case '?':
            rules_rq_bail(ps, "a repeat with nothing to repeat");
            return rules_rq_any();
        case '{': {
            uint32_t min, max;
            int rc = rules_rq_repeat_count(ps, &min, &max);

            if (rc != 0) {
                rules_rq_bail(ps, "a repeat with nothing to repeat");
                return rules_rq_any();
            }
            ps->p++;
            x = rules_rq_literal(ps, '{');
            break;
        }
        case '\\':
            if (ps->end - ps->p >= 2 && ps->p[1] == 'Q') {
                /* \Q...\E: literal characters; all but the last join the
                 * sequence now, the last is what a repeat applies to. */
                uint32_t cp = 0;
                bool have = false;

                ps->p += 2;
                x = rules_rq_empty(ps->a);
                while (ps->p < ps->end && !(ps->end - ps->p >= 2 &&
                    ps->p[0] == '\\' && ps->p[1] == 'E')) {
                    struct rules_rq_info lit;

                    if (have) {
                        lit = rules_rq_literal(ps, cp);
                        rules_rq_seq_add(ps, &sq, &lit);
                    }
                    cp = rules_rq_next_cp(ps);
                    have = true;
                }
                if (ps->p < ps->end)
                    ps->p += 2;
                if (have)
                    x = rules_rq_literal(ps, cp);
                break;
            }
            ps->p++;
            x = rules_rq_parse_escape(ps);
            break;
        default:
            x = rules_rq_literal(ps, rules_rq_next_cp(ps));
            break;
        }
        if (!item || ps->why != NULL)
            continue;
        x = rules_rq_parse_quant(ps, *flags, x);
        rules_rq_seq_add(ps, &sq, &x);
    }
}

static struct rules_rq_info
rules_rq_parse_alt(struct rules_rq_parser *ps, unsigned flags)
{
    struct rules_rq_info *v = NULL, *grown, x;
    size_t n = 0, cap = 0;
    bool lead = ps->lead;

    for (;;) {
        x = rules_rq_parse_seq(ps, &flags, lead);
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            if ((grown = rules_rq_alloc(ps->a, cap * sizeof(*grown))) == NULL)
                return rules_rq_any();
            if (n > 0)
                memcpy(grown, v, n * sizeof(*v));
            v = grown;
        }
        v[n++] = x;
        if (ps->why != NULL || ps->p >= ps->end || *ps->p != '|')
            break;
        ps->p++;
    }
    return rules_rq_alt(ps->a, v, n);
}

/* ------------------------------------------------------------------ */
/* Requirements                                                        */
/* ------------------------------------------------------------------ */

void
rules_req_free(struct rules_req *q)
{
    for (size_t i = 0; i < q->natoms; i++)
        xfree(q->atoms[i]);
    xfree(q->atoms);
    xfree(q->alens);
    xfree(q->ops);
    memset(q, 0, sizeof(*q));
}

/* Does a formula use an atom with edge marks? */
static bool
rules_rq_has_edges(const struct rules_rq_node *n)
{
    if (n->op == RULES_RQ_ATOM) {
        const char *core;
        bool left, right;
        size_t len = rules_atom_core(n->atom.s, n->atom.len, &core, &left,
            &right), chars = 0;

        for (size_t i = 0; i < len; i++)
            chars += ((unsigned char)core[i] & 0xc0) != 0x80;
        return (left || right) && chars < 2;
    }
    for (size_t i = 0; i < n->nkids; i++) {
        if (rules_rq_has_edges(n->kids[i]))
            return true;
    }
    return false;
}

/*
 * Atoms with edge marks cost the scan more (every place the short word
 * occurs is reported and checked), so an AND keeps its terms that need
 * them only when it has no other: "\bhow\s+to\b" needs "how", and
 * "to" as a word adds little. Dropping a term of an AND is always safe.
 */
static void
rules_rq_prune(struct rules_rq_node *n)
{
    size_t k = 0;
    bool plain = false;

    for (size_t i = 0; i < n->nkids; i++) {
        rules_rq_prune(n->kids[i]);
        plain = plain || !rules_rq_has_edges(n->kids[i]);
    }
    if (n->op != RULES_RQ_AND || !plain)
        return;
    for (size_t i = 0; i < n->nkids; i++) {
        if (!rules_rq_has_edges(n->kids[i]))
            n->kids[k++] = n->kids[i];
    }
    n->nkids = k;
}

/* Count ops and atoms of a formula (for sizing). */
static void
rules_rq_count(const struct rules_rq_node *n, size_t *ops, size_t *atoms)
{
    (*ops)++;
    if (n->op == RULES_RQ_ATOM)
        (*atoms)++;
    for (size_t i = 0; i < n->nkids; i++)
        rules_rq_count(n->kids[i], ops, atoms);
}

/* Emit a formula in postfix; atoms are copied (duplicates shared). */
static int
rules_rq_emit(struct rules_req *q, const struct rules_rq_node *n)
{
    size_t i;

    if (n->op == RULES_RQ_ATOM) {
        for (i = 0; i < q->natoms; i++) {
            if (q->alens[i] == n->atom.len &&
                memcmp(q->atoms[i], n->atom.s, n->atom.len) == 0)
                break;
        }
        if (i == q->natoms) {
            if ((q->atoms[i] = xmalloc(n->atom.len + 1)) == NULL)
                return -1;
            memcpy(q->atoms[i], n->atom.s, n->atom.len);
            q->atoms[i][n->atom.len] = '\0';
            q->alens[i] = n->atom.len;
            q->natoms++;
        }
        q->ops[q->nops++] = (uint32_t)i << 2 | RULES_REQ_ATOM;
        return 0;
    }
    for (i = 0; i < n->nkids; i++) {
        if (rules_rq_emit(q, n->kids[i]) == -1)
            return -1;
    }
    q->ops[q->nops++] = (uint32_t)n->nkids << 2 |
        (n->op == RULES_RQ_AND ? RULES_REQ_AND : RULES_REQ_OR);
    return 0;
}

/*
 * Analyse a pattern (len bytes, valid UTF-8, compiled by pcre2 with
 * capture_count groups). Fills out with the requirement; no ops and *why
 * set when there is none. Returns -1 when memory runs out.
 */
int
rules_req_build(const char *src, size_t len, uint32_t capture_count,
    struct rules_req *out, const char **why)
{
    struct rules_rq_arena a = { NULL, false };
    struct rules_rq_parser ps;
    struct rules_rq_info x;
    struct rules_rq_node *f;
    size_t nops = 0, natoms = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    memset(&ps, 0, sizeof(ps));
    ps.p = (const unsigned char *)src;
    ps.end = ps.p + len;
    ps.a = &a;
    x = rules_rq_parse_alt(&ps, 0);
    if (a.oom) {
        rc = -1;
        goto out;
    }
    if (ps.why == NULL && ps.p != ps.end)
        rules_rq_bail(&ps, "an unmatched ')'");
    if (ps.why == NULL && ps.ncap != capture_count)
        rules_rq_bail(&ps, "its groups were counted differently than pcre2 "
            "does");
    if (ps.why != NULL) {
        *why = ps.why;
        goto out;
    }
    f = rules_rq_match(&a, &x);
    if (a.oom) {
        rc = -1;
        goto out;
    }
    if (f->op == RULES_RQ_TRUE) {
        *why = "no literal that every match contains (3 or more bytes, "
            "a short word between word edges, or punctuation)";
        goto out;
    }
    if (f != &rules_rq_true_node)
        rules_rq_prune(f);
    rules_rq_count(f, &nops, &natoms);
    if ((out->ops = xcalloc(nops, sizeof(*out->ops))) == NULL ||
        (out->atoms = xcalloc(natoms, sizeof(*out->atoms))) == NULL ||
        (out->alens = xcalloc(natoms, sizeof(*out->alens))) == NULL ||
        rules_rq_emit(out, f) == -1) {
        rules_req_free(out);
        rc = -1;
    }
out:
    rules_rq_arena_free(&a);
    return rc;
}

size_t
rules_atom_core(const char *atom, size_t len, const char **core, bool *left,
    bool *right)
{
    *left = len > 0 && (unsigned char)atom[0] == RULES_REQ_EDGE;
    *right = len > *left && (unsigned char)atom[len - 1] == RULES_REQ_EDGE;
    *core = atom + *left;
    return len - *left - *right;
}

/* Is the character that starts at u (n bytes) a word character? Bytes
 * that are not UTF-8 are not (pcre2 does not match across them). */
static bool
rules_rq_word_at(const unsigned char *u, size_t n)
{
    uint32_t cp;

    return rules_rq_utf8_decode(u, n, &cp) > 0 && rules_rq_word_cp(cp);
}

bool
rules_atom_edges_ok(const char *text, size_t len, size_t from, size_t to,
    bool left, bool right)
{
    const unsigned char *u = (const unsigned char *)text;

    if (left && from > 0) {
        size_t p = from - 1;

        /* Back to the lead byte of the character before. */
        while (p > 0 && from - p < 4 && (u[p] & 0xc0) == 0x80)
            p--;
        if (rules_rq_word_at(u + p, from - p))
            return false;
    }
    return !(right && to < len && rules_rq_word_at(u + to, len - to));
}

bool
rules_atom_in(const char *text, size_t len, const char *atom, size_t alen)
{
    const char *core;
    bool left, right;
    size_t n = rules_atom_core(atom, alen, &core, &left, &right);

    for (size_t i = 0; n <= len && i <= len - n; i++) {
        if (memcmp(text + i, core, n) == 0 &&
            rules_atom_edges_ok(text, len, i, i + n, left, right))
            return true;
    }
    return false;
}

/* Evaluate a requirement with fn telling which atoms hold. */
bool
rules_req_eval(const struct rules_req *q, rules_atom_fn *fn, void *arg)
{
    bool stackbuf[64], *stack = stackbuf, v;
    size_t sp = 0;

    if (q->nops == 0)
        return true;
    if (q->nops > 64 && (stack = xcalloc(q->nops, sizeof(*stack))) == NULL)
        return true;    /* cannot tell: "may match" */
    for (size_t i = 0; i < q->nops; i++) {
        uint32_t op = q->ops[i] & 3, arg2 = q->ops[i] >> 2;

        if (op == RULES_REQ_ATOM) {
            stack[sp++] = fn(q->atoms[arg2], q->alens[arg2], arg);
            continue;
        }
        v = op == RULES_REQ_AND;
        for (uint32_t k = 0; k < arg2; k++) {
            bool t = stack[--sp];

            v = op == RULES_REQ_AND ? v && t : v || t;
        }
        stack[sp++] = v;
    }
    v = stack[0];
    if (stack != stackbuf)
        xfree(stack);
    return v;
}
