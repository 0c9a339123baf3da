/*
 * rules_req_parse: the pcre2 syntax, read for the requirement analysis
 * of rules_req.c. Every item of a pattern becomes what it can match (an
 * exact set of strings, or a formula over the literals it needs), with
 * the word edges around it; sequences, alternatives, groups and repeats
 * combine them. What the analysis does not follow ((*ACCEPT),
 * conditionals, branch reset, counts newer pcre2 versions read
 * differently) makes it give up, with the reason: a rule without a
 * requirement runs on every item, which is always correct.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "rules_internal.h"
#include "rules_req_internal.h"

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

/* A named capture group, from after its opening '<' or '\''. */
static struct rules_rq_info
rules_rq_named_group(struct rules_rq_parser *ps, unsigned char close,
    unsigned flags)
{
    while (ps->p < ps->end && *ps->p != close)
        ps->p++;
    if (ps->p < ps->end)
        ps->p++;
    ps->ncap++;
    return rules_rq_group_body(ps, flags);
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
        return rules_rq_named_group(ps, '>', *flags);
    case '\'':
        ps->p++;
        return rules_rq_named_group(ps, '\'', *flags);
    case 'P':
        if (e - ps->p >= 2 && ps->p[1] == '<') {
            ps->p += 2;
            return rules_rq_named_group(ps, '>', *flags);
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


struct rules_rq_info
rules_rq_parse(struct rules_rq_arena *a, const char *src, size_t len,
    uint32_t capture_count, const char **why)
{
    struct rules_rq_parser ps;
    struct rules_rq_info x;

    memset(&ps, 0, sizeof(ps));
    ps.p = (const unsigned char *)src;
    ps.end = ps.p + len;
    ps.a = a;
    x = rules_rq_parse_alt(&ps, 0);
    if (ps.why == NULL && ps.p != ps.end)
        rules_rq_bail(&ps, "an unmatched ')'");
    if (ps.why == NULL && ps.ncap != capture_count)
        rules_rq_bail(&ps, "its groups were counted differently than pcre2 "
            "does");
    *why = ps.why;
    return x;
}
