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
 * normalized text can never hold. The syntax itself is read in
 * rules_req_parse.c; rules_req_internal.h is what the two share.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "alloc.h"
#include "rules_internal.h"
#include "rules_req_internal.h"


/* ------------------------------------------------------------------ */
/* Case folding                                                        */
/* ------------------------------------------------------------------ */

/*
 * The fold of one code point: the lowercase of its uppercase. Letters
 * pcre2 matches caselessly (k, K and the Kelvin sign; s, S and long s;
 * σ, ς and Σ) all fold to one code point, so a caseless match of a
 * literal in a text implies the folded literal occurs in the folded text.
 */
uint32_t
rules_rq_fold_cp(uint32_t cp)
{
    if (cp < 0x80)
        return cp >= 'A' && cp <= 'Z' ? cp + 32 : cp;
    return (uint32_t)utf8proc_tolower(utf8proc_toupper((int32_t)cp));
}

/* Decode one valid UTF-8 character; 0 when the bytes are not one. */
size_t
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

size_t
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

#define RULES_RQ_HDR ((sizeof(struct rules_rq_chunk) + 15) & ~(size_t)15)

void *
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

struct rules_rq_node rules_rq_true_node = {
    RULES_RQ_TRUE, { NULL, 0 }, NULL, 0
};

struct rules_rq_info
rules_rq_any(void)
{
    return (struct rules_rq_info){ .exact = false,
        .match = &rules_rq_true_node };
}

struct rules_rq_info
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

struct rules_rq_info
rules_rq_empty(struct rules_rq_arena *a)
{
    struct rules_rq_info r = rules_rq_exact1(a, "", 0);

    r.nws = r.nwe = RULES_RQ_NW_PASS;
    return r;
}

/* A zero-width assertion: nothing to match, flags as given. */
struct rules_rq_info
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
bool
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
struct rules_rq_node *
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

struct rules_rq_node *
rules_rq_match(struct rules_rq_arena *a, const struct rules_rq_info *x)
{
    return x->exact ? rules_rq_set_match(a, x->set, x->n) : x->match;
}

/* Add s to set (of *n, room for RULES_RQ_EXACT_MAX) unless it is there. */
void
rules_rq_set_add(struct rules_rq_str *set, size_t *n, struct rules_rq_str s)
{
    for (size_t i = 0; i < *n; i++) {
        if (set[i].len == s.len && memcmp(set[i].s, s.s, s.len) == 0)
            return;
    }
    set[(*n)++] = s;
}

struct rules_rq_info
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
struct rules_rq_info
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
struct rules_rq_info
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
    struct rules_rq_info x;
    struct rules_rq_node *f;
    size_t nops = 0, natoms = 0;
    int rc = 0;

    memset(out, 0, sizeof(*out));
    *why = NULL;
    x = rules_rq_parse(&a, src, len, capture_count, why);
    if (a.oom) {
        rc = -1;
        goto out;
    }
    if (*why != NULL)
        goto out;
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
