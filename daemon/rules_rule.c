/*
 * rules_rule: one rule mapping of a rule file, checked key by key and
 * compiled into a struct rules_rule: its pattern or words (pcre2, UTF,
 * UCP, JIT), exceptions, conditions, examples and meta references, every
 * problem reported at its file:line:col. rules_load.c reads the files and
 * calls rules_load_rule for each entry of their "rules" list.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "alloc.h"
#include "item.h"
#include "log.h"
#include "normalize.h"
#include "rules.h"
#include "rules_internal.h"

#define RULES_WORDS_MAX (1u << 20)      /* bytes of a words regex */
#define RULES_LIST_MAX 1000             /* entries of a condition list */
#define RULES_REFS_MAX 64               /* rules named by all:/any: */
#define RULES_EXAMPLES_MAX 100          /* per list */
#define RULES_EXAMPLE_MAX (64u << 10)   /* bytes of one example */
#define RULES_VALUE_MAX 300             /* bytes of a platform, account.. */

#define RULES_KNOWN_KEYS "id, category, score, description, pattern, " \
    "words, words_match, all, any, field, case_sensitive, unless, when, " \
    "examples, shadow, disabled"
#define RULES_KNOWN_WHEN "platform, kind, lang, account, author_id, " \
    "author_name, min_length, max_length, has_link"

/* The keys a rule mapping may hold. */
struct rules_spec {
    struct fy_node *id;
    struct fy_node *category;
    struct fy_node *score;
    struct fy_node *description;
    struct fy_node *pattern;
    struct fy_node *words;
    struct fy_node *words_match;
    struct fy_node *all;
    struct fy_node *any;
    struct fy_node *field;
    struct fy_node *case_sensitive;
    struct fy_node *unless;
    struct fy_node *when;
    struct fy_node *examples;
    struct fy_node *shadow;
    struct fy_node *disabled;
};

bool
rules_valid_chars(const char *s, size_t len, size_t max, const char *extra)
{
    if (len == 0 || len > max)
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
            (c != '\0' && strchr(extra, c) != NULL)))
            return false;
    }
    return true;
}

static void
rules_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(v[i]);
    xfree(v);
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

/*
 * The text of a scalar value, or NULL (reported) when v is not one.
 * Anchors and aliases are refused: rule files have no use for them and
 * they are how YAML bombs are made.
 */
const char *
rules_scalar(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, size_t *len)
{
    const char *s;

    if (v != NULL && fy_node_is_alias(v)) {
        rules_err(ld, v, key, "%s: anchors and aliases are not supported",
            what);
        return NULL;
    }
    if (v == NULL || !fy_node_is_scalar(v) ||
        fy_node_get_scalar_token(v) == NULL ||
        (s = fy_node_get_scalar(v, len)) == NULL) {
        rules_err(ld, v, key, "%s: must be a string", what);
        return NULL;
    }
    return s;
}

/* A plain scalar that is a finite number. */
int
rules_scalar_number(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, double *out)
{
    char tmp[64], *end;
    const char *s;
    size_t len;
    double d;

    if (v == NULL || fy_node_is_alias(v) || !fy_node_is_scalar(v) ||
        fy_node_get_style(v) != FYNS_PLAIN ||
        (s = fy_node_get_scalar(v, &len)) == NULL || len == 0 ||
        len >= sizeof(tmp))
        goto bad;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    errno = 0;
    d = strtod(tmp, &end);
    if (errno != 0 || *end != '\0' || !isfinite(d) ||
        !((tmp[0] >= '0' && tmp[0] <= '9') || tmp[0] == '-' ||
        tmp[0] == '+' || tmp[0] == '.'))
        goto bad;
    *out = d;
    return 0;
bad:
    rules_err(ld, v, key, "%s: must be a number", what);
    return -1;
}

/* A plain scalar that is a whole number from 0 to max. */
static int
rules_scalar_count(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, size_t max, size_t *out)
{
    const char *s;
    size_t len, n = 0;

    if (v == NULL || fy_node_is_alias(v) || !fy_node_is_scalar(v) ||
        fy_node_get_style(v) != FYNS_PLAIN ||
        (s = fy_node_get_scalar(v, &len)) == NULL || len == 0 || len > 9)
        goto bad;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            goto bad;
        n = n * 10 + (size_t)(s[i] - '0');
    }
    if (n > max)
        goto bad;
    *out = n;
    return 0;
bad:
    rules_err(ld, v, key, "%s: must be a whole number from 0 to %zu", what,
        max);
    return -1;
}

/* A plain true/false (YAML 1.2 core schema spellings). */
int
rules_scalar_bool(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, bool *out)
{
    const char *s;
    size_t len;

    if (v == NULL || fy_node_is_alias(v) || !fy_node_is_scalar(v) ||
        fy_node_get_style(v) != FYNS_PLAIN ||
        (s = fy_node_get_scalar(v, &len)) == NULL)
        goto bad;
    if (len == 4 && (strncmp(s, "true", 4) == 0 ||
        strncmp(s, "True", 4) == 0 || strncmp(s, "TRUE", 4) == 0)) {
        *out = true;
        return 0;
    }
    if (len == 5 && (strncmp(s, "false", 5) == 0 ||
        strncmp(s, "False", 5) == 0 || strncmp(s, "FALSE", 5) == 0)) {
        *out = false;
        return 0;
    }
bad:
    rules_err(ld, v, key, "%s: must be true or false", what);
    return -1;
}

/* The key of a mapping pair as text; NULL (reported) if not a scalar. */
const char *
rules_key(struct rules_loader *ld, struct fy_node *k, struct fy_node *map,
    size_t *len)
{
    const char *s;

    if (k == NULL || fy_node_is_alias(k) || !fy_node_is_scalar(k) ||
        (s = fy_node_get_scalar(k, len)) == NULL) {
        rules_err(ld, k, map, "keys must be strings");
        return NULL;
    }
    return s;
}

bool
rules_key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/*
 * A value that is one scalar or a list of them, as a vector of n nodes
 * (xfree it). NULL with *n 0 is an empty list; NULL with *n 1 an error
 * (reported).
 */
static struct fy_node **
rules_scalar_list(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, size_t max, size_t *n)
{
    struct fy_node **out, *item;
    void *iter = NULL;
    size_t cnt;

    *n = 1;
    if (v != NULL && fy_node_is_alias(v)) {
        rules_err(ld, v, key, "%s: anchors and aliases are not supported",
            what);
        return NULL;
    }
    if (v != NULL && fy_node_is_scalar(v)) {
        if ((out = xmalloc(sizeof(*out))) == NULL) {
            rules_oom(ld);
            return NULL;
        }
        out[0] = v;
        return out;
    }
    if (v == NULL || !fy_node_is_sequence(v)) {
        rules_err(ld, v, key, "%s: must be a string or a list of strings",
            what);
        return NULL;
    }
    cnt = (size_t)fy_node_sequence_item_count(v);
    if (cnt == 0) {
        *n = 0;
        return NULL;
    }
    if (cnt > max) {
        rules_err(ld, v, key, "%s: more than %zu entries", what, max);
        return NULL;
    }
    if ((out = xcalloc(cnt, sizeof(*out))) == NULL) {
        rules_oom(ld);
        return NULL;
    }
    *n = 0;
    while ((item = fy_node_sequence_iterate(v, &iter)) != NULL &&
        *n < cnt)
        out[(*n)++] = item;
    return out;
}

/* ------------------------------------------------------------------ */
/* Building the set                                                    */
/* ------------------------------------------------------------------ */

struct rules_rule *
rules_find(struct rules *r, const char *id)
{
    for (size_t i = 0; i < r->nrules; i++) {
        if (strcmp(r->rules[i].id, id) == 0)
            return &r->rules[i];
    }
    return NULL;
}

/* Index of a category, added with the default threshold if new; -1 OOM. */
int
rules_category(struct rules *r, const char *name, size_t len, size_t *idx)
{
    struct rules_category *c;

    for (size_t i = 0; i < r->ncats; i++) {
        if (strlen(r->cats[i].name) == len &&
            memcmp(r->cats[i].name, name, len) == 0) {
            *idx = i;
            return 0;
        }
    }
    if (r->ncats == r->cats_cap) {
        size_t cap = r->cats_cap ? r->cats_cap * 2 : 8;

        if ((c = xrealloc(r->cats, cap * sizeof(*c))) == NULL)
            return -1;
        r->cats = c;
        r->cats_cap = cap;
    }
    c = &r->cats[r->ncats];
    if ((c->name = xstrndup(name, len)) == NULL)
        return -1;
    c->threshold = RULES_DEFAULT_THRESHOLD;
    c->set_in = NULL;
    c->set_dir = 0;
    *idx = r->ncats++;
    return 0;
}

static void
rules_cond_free(struct rules_cond *c)
{
    if (c == NULL)
        return;
    rules_strv_free(c->platforms, c->nplatforms);
    rules_strv_free(c->accounts, c->naccounts);
    rules_strv_free(c->author_ids, c->nauthor_ids);
    rules_strv_free(c->langs, c->nlangs);
    pcre2_code_free(c->author_name.code);
    xfree(c);
}

void
rules_rule_clear(struct rules_rule *rule)
{
    XFREE(&rule->id);
    pcre2_code_free(rule->code);
    rule->code = NULL;
    XFREE(&rule->src);
    for (size_t i = 0; i < rule->nunless; i++)
        pcre2_code_free(rule->unless[i].code);
    XFREE(&rule->unless);
    rule->nunless = 0;
    rules_cond_free(rule->cond);
    rule->cond = NULL;
    for (size_t i = 0; i < rule->nrefs; i++)
        xfree(rule->refs[i].id);
    XFREE(&rule->refs);
    rule->nrefs = 0;
    for (size_t i = 0; i < rule->nexamples; i++)
        xfree(rule->examples[i].text);
    XFREE(&rule->examples);
    rule->nexamples = 0;
}

/*
 * Add a compiled rule (its contents are taken in every case). A rule with
 * the id of one from an earlier directory replaces it in place; within one
 * directory a repeated id is an error.
 */
static void
rules_add(struct rules_loader *ld, struct rules_rule *nr,
    struct fy_node *idnode)
{
    struct rules *r = ld->r;
    struct rules_rule *old, *grown;

    if ((old = rules_find(r, nr->id)) != NULL) {
        if (old->dir == nr->dir) {
            rules_err(ld, idnode, NULL, "duplicate rule id '%s' (first "
                "defined at %s:%d)", nr->id, r->files[old->file].path,
                old->line);
            rules_rule_clear(nr);
            return;
        }
        log_debug("rules", "%s:%d: rule %s overrides %s:%d", ld->path,
            nr->line, nr->id, r->files[old->file].path, old->line);
        rules_rule_clear(old);
        *old = *nr;
        return;
    }
    if (r->nrules == r->rules_cap) {
        size_t cap = r->rules_cap ? r->rules_cap * 2 : 64;

        if ((grown = xrealloc(r->rules, cap * sizeof(*grown))) == NULL) {
            rules_oom(ld);
            rules_rule_clear(nr);
            return;
        }
        r->rules = grown;
        r->rules_cap = cap;
    }
    r->rules[r->nrules++] = *nr;
}

/* ------------------------------------------------------------------ */
/* Patterns                                                            */
/* ------------------------------------------------------------------ */

/*
 * A double-quoted escape at s (s[0] is the backslash, n bytes left): returns
 * how many source characters it spans and sets *bytes to how many bytes it
 * stands for once decoded (\u00e9 is six characters but two bytes).
 */
static size_t
rules_dq_escape(const char *s, size_t n, size_t *bytes)
{
    size_t digits = s[1] == 'x' ? 2 : s[1] == 'u' ? 4 : s[1] == 'U' ? 8 : 0;
    unsigned long cp = 0;

    if (digits == 0 || n < 2 + digits) {
        /* \N and \_ (U+0085, U+00A0) take two bytes, \L and \P three. */
        *bytes = s[1] == 'N' || s[1] == '_' ? 2 :
            s[1] == 'L' || s[1] == 'P' ? 3 : 1;
        return 2;
    }
    for (size_t j = 0; j < digits; j++) {
        char c = s[2 + j];

        cp = cp * 16 + (unsigned long)(c >= '0' && c <= '9' ? c - '0' :
            c >= 'a' && c <= 'f' ? c - 'a' + 10 :
            c >= 'A' && c <= 'F' ? c - 'A' + 10 : 0);
    }
    /* \xNN is one code point in libfyaml too, not one raw byte. */
    *bytes = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
    return 2 + digits;
}

/*
 * Where in the file is byte off of the scalar v's value? Walks the source
 * from the token's mark, undoing quoting and block indentation, so that a
 * pcre2 error offset lands on the character it names.
 */
static void
rules_scalar_pos(const struct rules_loader *ld, struct fy_node *v,
    size_t off, int *line, int *col)
{
    struct fy_token *t = fy_node_get_scalar_token(v);
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    enum fy_node_style style = fy_node_get_style(v);
    const char *s = ld->src;
    size_t p, i = 0, n = ld->srclen, indent = 0;
    bool block = style == FYNS_LITERAL || style == FYNS_FOLDED;
    int ln, cl;

    if (m == NULL || m->input_pos > n) {
        *line = 1;
        *col = 1;
        return;
    }
    p = m->input_pos;
    ln = m->line;
    cl = m->column;
    /* libfyaml 0.7 marks a quoted scalar at its first content character;
     * step over the opening quote only if a version marks the quote. */
    if ((style == FYNS_SINGLE_QUOTED || style == FYNS_DOUBLE_QUOTED) &&
        !(p > 0 && s[p - 1] == (style == FYNS_SINGLE_QUOTED ? '\'' : '"')) &&
        p < n && s[p] == (style == FYNS_SINGLE_QUOTED ? '\'' : '"')) {
        p++;
        cl++;
    }
    if (block) {
        /* The mark is the start of the first content line. */
        while (p + indent < n && s[p + indent] == ' ')
            indent++;
        p += indent;
        cl += (int)indent;
    }
    while (i < off && p < n) {
        unsigned char c = (unsigned char)s[p];

        if (c == '\n') {
            /* A line break: one content byte, then the next line's
             * indentation, which is not content. */
            p++;
            ln++;
            cl = 0;
            for (size_t k = 0; p < n && (s[p] == ' ' || s[p] == '\t') &&
                (!block || k < indent); k++) {
                p++;
                cl++;
            }
            i++;
            continue;
        }
        if (style == FYNS_SINGLE_QUOTED && c == '\'' && p + 1 < n &&
            s[p + 1] == '\'') {
            p += 2;
            cl += 2;
            i++;
            continue;
        }
        if (style == FYNS_DOUBLE_QUOTED && c == '\\' && p + 1 < n) {
            size_t k, bytes;

            if (s[p + 1] == '\n') {
                /* An escaped line break adds nothing; the next line's
                 * indentation is not content either. */
                p += 2;
                ln++;
                cl = 0;
                while (p < n && (s[p] == ' ' || s[p] == '\t')) {
                    p++;
                    cl++;
                }
                continue;
            }
            k = rules_dq_escape(s + p, n - p, &bytes);
            p += k;
            cl += (int)k;
            i += bytes;
            continue;
        }
        p++;
        i++;
        if ((c & 0xc0) != 0x80)
            cl++;
    }
    *line = ln + 1;
    *col = cl + 1;
}

/* How a words entry must sit in the text (words_match). */
enum rules_words_mode {
    RULES_WORDS_WORD = 0,   /* a whole word: nothing \w either side */
    RULES_WORDS_PREFIX,     /* starts a word */
    RULES_WORDS_SUFFIX,     /* ends a word */
    RULES_WORDS_SUBSTRING,  /* anywhere */
    RULES_WORDS_FULL,       /* the whole text, blanks around aside */
};

/* Quote one words entry into b; runs of blanks match \s+. */
static int
rules_words_entry(struct buf *b, const char *s, size_t wl, bool *any)
{
    bool space = false;

    *any = false;
    for (size_t i = 0; i < wl; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = *any;
            continue;
        }
        if (space && buf_puts(b, "\\s+") == -1)
            return -1;
        space = false;
        *any = true;
        /* A backslash before ASCII punctuation always means the
         * character itself; letters, digits and UTF-8 go as-is. */
        if (c < 0x80 && !((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9')) && buf_append(b, "\\", 1) == -1)
            return -1;
        if (c == '\0' ? buf_puts(b, "x00") == -1 :
            buf_append(b, s + i, 1) == -1)
            return -1;
    }
    return 0;
}

/*
 * The regex for a words list: each entry quoted (and, for the normalized
 * field, normalized the way the text will be, so "a$$hole" is written as
 * the "asshole" it will meet), whitespace runs matching \s+, all of them
 * alternatives between the boundaries mode asks for.
 */
static char *
rules_words_regex(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *words, const char *id, enum rules_field field,
    enum rules_words_mode mode, size_t *len)
{
    static const char *const open[] = {
        "(?<!\\w)(?:", "(?<!\\w)(?:", "(?:", "(?:", "\\A\\s*(?:",
    };
    static const char *const close[] = {
        ")(?!\\w)", ")", ")(?!\\w)", ")", ")\\s*\\z",
    };
    struct buf b;
    struct fy_node *w;
    void *iter = NULL;
    size_t n = 0;
    bool ok = true;

    buf_init(&b, RULES_WORDS_MAX);
    if (fy_node_is_alias(words) || !fy_node_is_sequence(words)) {
        rules_err(ld, words, key, "rule '%s': words: must be a list", id);
        return NULL;
    }
    if (buf_puts(&b, open[mode]) == -1)
        ok = false;
    while (ok && (w = fy_node_sequence_iterate(words, &iter)) != NULL) {
        const char *s;
        size_t wl;
        bool any = false;

        if ((s = rules_scalar(ld, w, w, "words", &wl)) == NULL) {
            buf_free(&b);
            return NULL;
        }
        if (field == RULES_FIELD_TEXT && wl > 0) {
            if (normalize_text(s, wl, NORM_ALL, &ld->nt) == -1) {
                ok = false;
                break;
            }
            s = ld->nt.text;
            wl = ld->nt.len;
        }
        if (n++ > 0 && buf_puts(&b, "|") == -1)
            ok = false;
        if (ok && rules_words_entry(&b, s, wl, &any) == -1)
            ok = false;
        if (ok && !any) {
            rules_err(ld, w, key, "rule '%s': words: empty entry", id);
            buf_free(&b);
            return NULL;
        }
    }
    if (ok && n == 0) {
        rules_err(ld, words, key, "rule '%s': words: list is empty", id);
        buf_free(&b);
        return NULL;
    }
    if (!ok || buf_puts(&b, close[mode]) == -1) {
        /* buf refuses both past its cap and when memory runs out; no
         * single step adds more than a few bytes. */
        if (b.len + 16 < RULES_WORDS_MAX)
            rules_oom(ld);
        else
            rules_err(ld, words, key, "rule '%s': words: list too long",
                id);
        buf_free(&b);
        return NULL;
    }
    *len = b.len;
    return buf_steal(&b);
}

/*
 * Compile one regex. v is the scalar holding it, so that an error lands
 * on the character pcre2 names; for a generated regex (words) v is NULL
 * and the error goes to at. what names the key in messages ("pattern",
 * "unless pattern"). Returns the code or NULL (reported).
 */
static pcre2_code *
rules_compile_re(struct rules_loader *ld, struct fy_node *v,
    struct fy_node *at, const char *pat, size_t len, bool caseless,
    const char *id, const char *what)
{
    pcre2_code *code;
    PCRE2_SIZE erroff;
    uint32_t opts, minlen = 0;
    int errcode;

    opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
        PCRE2_NEVER_BACKSLASH_C;
    if (caseless)
        opts |= PCRE2_CASELESS;
    code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &errcode, &erroff,
        ld->r->cctx);
    if (code == NULL) {
        PCRE2_UCHAR msg[256];
        int line, col;

        if (pcre2_get_error_message(errcode, msg, sizeof(msg)) < 0)
            snprintf((char *)msg, sizeof(msg), "error %d", errcode);
        /* pcre2_compile reports its own allocation failures as
         * HEAP_FAILED; NOMEMORY is the match-time code. */
        if (errcode == PCRE2_ERROR_HEAP_FAILED ||
            errcode == PCRE2_ERROR_NOMEMORY) {
            rules_oom(ld);
        } else if (v != NULL) {
            rules_scalar_pos(ld, v, erroff, &line, &col);
            rules_err_at(ld, ld->path, line, col, "rule '%s': bad %s: %s "
                "(at offset %zu)", id, what, (char *)msg, (size_t)erroff);
        } else {
            rules_err(ld, at, NULL, "rule '%s': bad %s: %s", id, what,
                (char *)msg);
        }
        return NULL;
    }
    /* A pattern that can match nothing at all would hit every item. */
    if (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen) == 0 &&
        minlen == 0) {
        rules_err(ld, v ? v : at, at, "rule '%s': %s can match an empty "
            "string", id, what);
        pcre2_code_free(code);
        return NULL;
    }
    return code;
}

/* One regex from a scalar node; NULL (reported) on any problem. */
static pcre2_code *
rules_compile_node(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, bool caseless, const char *id, const char *what)
{
    const char *pat;
    size_t len;

    if ((pat = rules_scalar(ld, key, v, what, &len)) == NULL)
        return NULL;
    if (len == 0) {
        rules_err(ld, v, key, "rule '%s': %s is empty", id, what);
        return NULL;
    }
    return rules_compile_re(ld, v, key, pat, len, caseless, id, what);
}

/* ------------------------------------------------------------------ */
/* Rule keys                                                           */
/* ------------------------------------------------------------------ */

/* Collect the keys of one rule mapping; unknown keys are errors. */
static int
rules_spec_read(struct rules_loader *ld, struct fy_node *map,
    struct rules_spec *sp, struct rules_spec *keys)
{
    static const struct {
        const char *name;
        size_t off;
    } known[] = {
        { "id", offsetof(struct rules_spec, id) },
        { "category", offsetof(struct rules_spec, category) },
        { "score", offsetof(struct rules_spec, score) },
        { "description", offsetof(struct rules_spec, description) },
        { "pattern", offsetof(struct rules_spec, pattern) },
        { "words", offsetof(struct rules_spec, words) },
        { "words_match", offsetof(struct rules_spec, words_match) },
        { "all", offsetof(struct rules_spec, all) },
        { "any", offsetof(struct rules_spec, any) },
        { "field", offsetof(struct rules_spec, field) },
        { "case_sensitive", offsetof(struct rules_spec, case_sensitive) },
        { "unless", offsetof(struct rules_spec, unless) },
        { "when", offsetof(struct rules_spec, when) },
        { "examples", offsetof(struct rules_spec, examples) },
        { "shadow", offsetof(struct rules_spec, shadow) },
        { "disabled", offsetof(struct rules_spec, disabled) },
    };
    struct fy_node_pair *p;
    void *iter = NULL;
    int rc = 0;

    memset(sp, 0, sizeof(*sp));
    memset(keys, 0, sizeof(*keys));
    while ((p = fy_node_mapping_iterate(map, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *ks;
        size_t klen, i;

        if ((ks = rules_key(ld, k, map, &klen)) == NULL) {
            rc = -1;
            continue;
        }
        for (i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
            if (rules_key_is(ks, klen, known[i].name)) {
                *(struct fy_node **)((char *)sp + known[i].off) =
                    fy_node_pair_value(p);
                *(struct fy_node **)((char *)keys + known[i].off) = k;
                break;
            }
        }
        if (i == sizeof(known) / sizeof(known[0])) {
            rules_err(ld, k, map, "unknown key '%.*s' in rule (known: "
                RULES_KNOWN_KEYS ")", (int)(klen > 64 ? 64 : klen), ks);
            rc = -1;
        }
    }
    return rc;
}

/* An entry {id: x, disabled: true} with no pattern: disable x. */
static void
rules_disable(struct rules_loader *ld, const char *id, struct fy_node *at)
{
    struct rules_rule *old = rules_find(ld->r, id);
    const struct fy_mark *m = rules_node_mark(at);

    if (old == NULL) {
        /* Not an error: the shipped rule may simply be gone. */
        log_warnx("%s:%d: rule '%s' to disable is not loaded", ld->path,
            m ? m->line + 1 : 1, id);
        return;
    }
    old->disabled = true;
}

/*
 * A list of strings for a condition (one string is a list of one):
 * copied into *out, each checked by ok (NULL: any non-empty text up to
 * RULES_VALUE_MAX bytes). Returns -1 when reported.
 */
static int
rules_cond_strings(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, const char *id,
    bool (*ok)(const char *, size_t), const char *want, char ***out,
    size_t *nout)
{
    struct fy_node **items;
    size_t n, i;
    int rc = -1;

    items = rules_scalar_list(ld, key, v, what, RULES_LIST_MAX, &n);
    if (items == NULL) {
        if (n == 0)
            rules_err(ld, v, key, "rule '%s': %s: list is empty", id, what);
        return -1;
    }
    if ((*out = xcalloc(n, sizeof(**out))) == NULL) {
        rules_oom(ld);
        goto out;
    }
    *nout = n;
    for (i = 0; i < n; i++) {
        const char *s;
        size_t len;

        if ((s = rules_scalar(ld, key, items[i], what, &len)) == NULL)
            goto out;
        if (len == 0 || len > RULES_VALUE_MAX ||
            memchr(s, '\0', len) != NULL || (ok != NULL && !ok(s, len))) {
            rules_err(ld, items[i], key, "rule '%s': %s: bad value "
                "'%.*s' (want %s)", id, what, (int)(len > 40 ? 40 : len), s,
                want);
            goto out;
        }
        if (((*out)[i] = xstrndup(s, len)) == NULL) {
            rules_oom(ld);
            goto out;
        }
    }
    rc = 0;
out:
    xfree(items);
    return rc;
}

static bool
rules_ok_name(const char *s, size_t len)
{
    return rules_valid_chars(s, len, RULES_CATEGORY_MAX, "_-");
}

bool
rules_ok_lang(const char *s, size_t len)
{
    return len >= 2 && len <= 3 && rules_valid_chars(s, len, 3, "");
}

static bool
rules_ok_kind(const char *s, size_t len)
{
    char tmp[16];

    if (len >= sizeof(tmp))
        return false;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    return item_kind_from_name(tmp) >= 0;
}

/*
 * when: {platform, kind, lang, account, author_id, author_name, ...}.
 * An empty mapping leaves *out NULL: no conditions.
 */
static int
rules_load_when(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *map, const char *id, struct rules_cond **out)
{
    struct rules_cond *c;
    struct fy_node_pair *p;
    void *iter = NULL;
    bool bad = false, any = false, have_max = false;
    char **kinds = NULL;
    size_t nkinds = 0;

    *out = NULL;
    if (fy_node_is_alias(map) || !fy_node_is_mapping(map)) {
        rules_err(ld, map, key, "rule '%s': when: must be a mapping", id);
        return -1;
    }
    if ((c = xcalloc(1, sizeof(*c))) == NULL) {
        rules_oom(ld);
        return -1;
    }
    c->has_link = -1;
    while ((p = fy_node_mapping_iterate(map, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *ks;
        size_t klen;
        bool b;
        int rc = 0;

        if ((ks = rules_key(ld, k, map, &klen)) == NULL) {
            bad = true;
            continue;
        }
        any = true;
        if (rules_key_is(ks, klen, "platform") && c->platforms == NULL)
            rc = rules_cond_strings(ld, k, v, "when.platform", id,
                rules_ok_name, "[a-z0-9_-]{1,32}", &c->platforms,
                &c->nplatforms);
        else if (rules_key_is(ks, klen, "account") && c->accounts == NULL)
            rc = rules_cond_strings(ld, k, v, "when.account", id, NULL,
                "1 to 300 bytes", &c->accounts, &c->naccounts);
        else if (rules_key_is(ks, klen, "author_id") &&
            c->author_ids == NULL)
            rc = rules_cond_strings(ld, k, v, "when.author_id", id, NULL,
                "1 to 300 bytes", &c->author_ids, &c->nauthor_ids);
        else if (rules_key_is(ks, klen, "lang") && c->langs == NULL)
            rc = rules_cond_strings(ld, k, v, "when.lang", id,
                rules_ok_lang, "a lowercase ISO 639 code such as 'en'",
                &c->langs, &c->nlangs);
        else if (rules_key_is(ks, klen, "kind") && kinds == NULL) {
            rc = rules_cond_strings(ld, k, v, "when.kind", id, rules_ok_kind,
                "comment, reply, dm or mention", &kinds, &nkinds);
            for (size_t i = 0; rc == 0 && i < nkinds; i++)
                c->kinds |= 1u << item_kind_from_name(kinds[i]);
        } else if (rules_key_is(ks, klen, "author_name") &&
            c->author_name.code == NULL) {
            c->author_name.code = rules_compile_node(ld, k, v, true, id,
                "when.author_name pattern");
            if (c->author_name.code == NULL)
                rc = -1;
            else
                c->author_name.jit = pcre2_jit_compile(c->author_name.code,
                    PCRE2_JIT_COMPLETE) == 0;
        } else if (rules_key_is(ks, klen, "min_length"))
            rc = rules_scalar_count(ld, k, v, "when.min_length",
                NORM_MAX_INPUT, &c->min_length);
        else if (rules_key_is(ks, klen, "max_length")) {
            rc = rules_scalar_count(ld, k, v, "when.max_length",
                NORM_MAX_INPUT, &c->max_length);
            have_max = rc == 0;
            if (have_max && c->max_length == 0) {
                rules_err(ld, v, k, "rule '%s': when.max_length: must be "
                    "at least 1", id);
                rc = -1;
            }
        } else if (rules_key_is(ks, klen, "has_link")) {
            if ((rc = rules_scalar_bool(ld, k, v, "when.has_link",
                &b)) == 0)
                c->has_link = b;
        } else {
            rules_err(ld, k, map, "unknown key '%.*s' in when (known: "
                RULES_KNOWN_WHEN ")", (int)(klen > 64 ? 64 : klen), ks);
            rc = -1;
        }
        if (rc == -1)
            bad = true;
    }
    if (!bad && have_max && c->min_length > c->max_length) {
        rules_err(ld, map, key, "rule '%s': when: min_length %zu is more "
            "than max_length %zu", id, c->min_length, c->max_length);
        bad = true;
    }
    rules_strv_free(kinds, nkinds);
    if (bad || !any) {
        rules_cond_free(c);
        return bad ? -1 : 0;
    }
    *out = c;
    return 0;
}

/* unless: one pattern or a list of them, compiled like the rule's. */
static int
rules_load_unless(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, struct rules_rule *nr, bool caseless)
{
    struct fy_node **items;
    size_t n;
    int rc = -1;

    items = rules_scalar_list(ld, key, v, "unless", RULES_LIST_MAX, &n);
    if (items == NULL) {
        if (n == 0)
            rules_err(ld, v, key, "rule '%s': unless: list is empty",
                nr->id);
        return -1;
    }
    if ((nr->unless = xcalloc(n, sizeof(*nr->unless))) == NULL) {
        rules_oom(ld);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct rules_re *re = &nr->unless[i];

        if ((re->code = rules_compile_node(ld, key, items[i], caseless,
            nr->id, "unless pattern")) == NULL)
            goto out;
        nr->nunless++;
        re->jit = pcre2_jit_compile(re->code, PCRE2_JIT_COMPLETE) == 0;
    }
    rc = 0;
out:
    xfree(items);
    return rc;
}

/* Append the strings of one examples list (match or no_match). */
static int
rules_load_example_list(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, struct rules_rule *nr, bool match, const char *what)
{
    struct rules_example *grown;
    struct fy_node *item;
    void *iter = NULL;
    size_t n;

    if (fy_node_is_alias(v) || !fy_node_is_sequence(v)) {
        rules_err(ld, v, key, "rule '%s': %s: must be a list of strings",
            nr->id, what);
        return -1;
    }
    n = (size_t)fy_node_sequence_item_count(v);
    if (n > RULES_EXAMPLES_MAX) {
        rules_err(ld, v, key, "rule '%s': %s: more than %d examples",
            nr->id, what, RULES_EXAMPLES_MAX);
        return -1;
    }
    if (n == 0)
        return 0;
    if ((grown = xrealloc(nr->examples, (nr->nexamples + n) *
        sizeof(*grown))) == NULL) {
        rules_oom(ld);
        return -1;
    }
    nr->examples = grown;
    while ((item = fy_node_sequence_iterate(v, &iter)) != NULL) {
        struct rules_example *ex = &nr->examples[nr->nexamples];
        const char *s;
        size_t len;

        if ((s = rules_scalar(ld, key, item, what, &len)) == NULL)
            return -1;
        if (len == 0 || len > RULES_EXAMPLE_MAX) {
            rules_err(ld, item, key, "rule '%s': %s: an example must be 1 "
                "to %u bytes", nr->id, what, RULES_EXAMPLE_MAX);
            return -1;
        }
        memset(ex, 0, sizeof(*ex));
        if ((ex->text = xmalloc(len + 1)) == NULL) {
            rules_oom(ld);
            return -1;
        }
        memcpy(ex->text, s, len);
        ex->text[len] = '\0';
        ex->len = len;
        ex->match = match;
        rules_node_pos(item, key, &ex->line, &ex->col);
        nr->nexamples++;
    }
    return 0;
}

/* examples: {match: [...], no_match: [...]} */
static int
rules_load_examples(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *map, struct rules_rule *nr)
{
    struct fy_node_pair *p;
    void *iter = NULL;
    int rc = 0;

    if (fy_node_is_alias(map) || !fy_node_is_mapping(map)) {
        rules_err(ld, map, key, "rule '%s': examples: must be a mapping "
            "with 'match' and/or 'no_match'", nr->id);
        return -1;
    }
    while ((p = fy_node_mapping_iterate(map, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *ks;
        size_t klen;

        if ((ks = rules_key(ld, k, map, &klen)) == NULL) {
            rc = -1;
        } else if (rules_key_is(ks, klen, "match")) {
            if (rules_load_example_list(ld, k, v, nr, true,
                "examples.match") == -1)
                rc = -1;
        } else if (rules_key_is(ks, klen, "no_match")) {
            if (rules_load_example_list(ld, k, v, nr, false,
                "examples.no_match") == -1)
                rc = -1;
        } else {
            rules_err(ld, k, map, "unknown key '%.*s' in examples (known: "
                "match, no_match)", (int)(klen > 64 ? 64 : klen), ks);
            rc = -1;
        }
    }
    return rc;
}

/* all: / any: the ids of the rules a meta rule combines. */
static int
rules_load_refs(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, struct rules_rule *nr, const char *what)
{
    struct fy_node **items;
    size_t n;
    int rc = -1;

    items = rules_scalar_list(ld, key, v, what, RULES_REFS_MAX, &n);
    if (items == NULL) {
        if (n == 0)
            rules_err(ld, v, key, "rule '%s': %s: list is empty", nr->id,
                what);
        return -1;
    }
    if ((nr->refs = xcalloc(n, sizeof(*nr->refs))) == NULL) {
        rules_oom(ld);
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        struct rules_ref *ref = &nr->refs[i];
        const char *s;
        size_t len;

        if ((s = rules_scalar(ld, key, items[i], what, &len)) == NULL)
            goto out;
        if (!rules_valid_chars(s, len, RULES_ID_MAX, "_.-")) {
            rules_err(ld, items[i], key, "rule '%s': %s: bad rule id "
                "'%.*s'", nr->id, what, (int)(len > 100 ? 100 : len), s);
            goto out;
        }
        if ((ref->id = xstrndup(s, len)) == NULL) {
            rules_oom(ld);
            goto out;
        }
        nr->nrefs++;
        rules_node_pos(items[i], key, &ref->line, &ref->col);
    }
    rc = 0;
out:
    xfree(items);
    return rc;
}

/* field: text | raw */
static int
rules_load_field(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *id, enum rules_field *field)
{
    const char *s;
    size_t len;

    if ((s = rules_scalar(ld, key, v, "field", &len)) == NULL)
        return -1;
    if (rules_key_is(s, len, "text"))
        *field = RULES_FIELD_TEXT;
    else if (rules_key_is(s, len, "raw"))
        *field = RULES_FIELD_RAW;
    else {
        rules_err(ld, v, key, "rule '%s': field: must be 'text' (the "
            "normalized text) or 'raw'", id);
        return -1;
    }
    return 0;
}

static int
rules_load_words_match(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *id, enum rules_words_mode *mode)
{
    static const char *const names[] = {
        "word", "prefix", "suffix", "substring", "full",
    };
    const char *s;
    size_t len;

    if ((s = rules_scalar(ld, key, v, "words_match", &len)) == NULL)
        return -1;
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (rules_key_is(s, len, names[i])) {
            *mode = (enum rules_words_mode)i;
            return 0;
        }
    }
    rules_err(ld, v, key, "rule '%s': words_match: must be word, prefix, "
        "suffix, substring or full", id);
    return -1;
}

/*
 * The keys that say what a rule matches: exactly one of pattern, words,
 * all, any; and the keys that only make sense with some of them.
 */
static int
rules_check_shape(struct rules_loader *ld, struct fy_node *map,
    const struct rules_spec *sp, const struct rules_spec *keys,
    const char *id)
{
    struct fy_node *kinds[] = { keys->pattern, keys->words, keys->all,
        keys->any };
    size_t n = 0, second = 0;

    for (size_t i = 0; i < 4; i++) {
        if (kinds[i] != NULL && n++ == 1)
            second = i;
    }
    if (n == 0) {
        rules_err(ld, map, NULL, "rule '%s': needs 'pattern', 'words', "
            "'all' or 'any'", id);
        return -1;
    }
    if (n > 1) {
        if (sp->pattern != NULL && sp->words != NULL && n == 2)
            rules_err(ld, keys->words, map, "rule '%s': 'pattern' and "
                "'words' are exclusive; give one", id);
        else
            rules_err(ld, kinds[second], map, "rule '%s': give only one "
                "of 'pattern', 'words', 'all' and 'any'", id);
        return -1;
    }
    if (sp->all != NULL || sp->any != NULL) {
        struct fy_node *k = keys->field ? keys->field :
            keys->case_sensitive ? keys->case_sensitive :
            keys->unless ? keys->unless : keys->words_match;

        if (k != NULL) {
            rules_err(ld, k, map, "rule '%s': a meta rule (all/any) has no "
                "text of its own: drop 'field', 'case_sensitive', "
                "'unless' and 'words_match'", id);
            return -1;
        }
    }
    if (sp->words_match != NULL && sp->words == NULL) {
        rules_err(ld, keys->words_match, map, "rule '%s': words_match goes "
            "with 'words'", id);
        return -1;
    }
    return 0;
}

/* pattern or words, unless, field: the text part of a pattern rule. */
static int
rules_load_matcher(struct rules_loader *ld, struct fy_node *map,
    const struct rules_spec *sp, const struct rules_spec *keys,
    struct rules_rule *nr)
{
    enum rules_words_mode mode = RULES_WORDS_WORD;
    const char *src;
    bool caseless;
    char *words;
    size_t len;

    if (sp->field != NULL && rules_load_field(ld, keys->field, sp->field,
        nr->id, &nr->field) == -1)
        return -1;
    if (nr->case_sensitive && nr->field != RULES_FIELD_RAW) {
        rules_err(ld, keys->case_sensitive, map, "rule '%s': "
            "case_sensitive needs 'field: raw' (the normalized text is "
            "lowercase)", nr->id);
        return -1;
    }
    caseless = !nr->case_sensitive;
    if (sp->pattern != NULL) {
        if ((nr->code = rules_compile_node(ld, keys->pattern, sp->pattern,
            caseless, nr->id, "pattern")) == NULL)
            return -1;
        /* Kept for the prefilter's analysis and rules_check. */
        src = fy_node_get_scalar(sp->pattern, &len);
        if ((nr->src = xmalloc(len + 1)) == NULL) {
            rules_oom(ld);
            return -1;
        }
        memcpy(nr->src, src, len);
        nr->src[len] = '\0';
        nr->srclen = len;
    } else {
        if (sp->words_match != NULL && rules_load_words_match(ld,
            keys->words_match, sp->words_match, nr->id, &mode) == -1)
            return -1;
        if ((words = rules_words_regex(ld, keys->words, sp->words, nr->id,
            nr->field, mode, &len)) == NULL)
            return -1;
        nr->code = rules_compile_re(ld, NULL, sp->words, words, len,
            caseless, nr->id, "words");
        nr->src = words;
        nr->srclen = len;
        if (nr->code == NULL)
            return -1;
    }
    nr->jit = pcre2_jit_compile(nr->code, PCRE2_JIT_COMPLETE) == 0;
    if (!nr->jit)
        ld->r->nojit++;
    if (sp->unless != NULL && rules_load_unless(ld, keys->unless,
        sp->unless, nr, caseless) == -1)
        return -1;
    return 0;
}

void
rules_load_rule(struct rules_loader *ld, struct fy_node *map)
{
    struct rules *r = ld->r;
    struct rules_spec sp, keys;
    struct rules_rule nr;
    const char *s;
    char *id = NULL;
    size_t len;
    bool disabled = false, case_sensitive = false, bad = false;
    bool shadow = r->files[ld->file].shadow;
    double score = 0;

    memset(&nr, 0, sizeof(nr));
    if (fy_node_is_alias(map) || !fy_node_is_mapping(map)) {
        rules_err(ld, map, NULL, "rule must be a mapping");
        return;
    }
    if (rules_spec_read(ld, map, &sp, &keys) == -1)
        bad = true;
    if (sp.id == NULL) {
        rules_err(ld, map, NULL, "rule: missing 'id'");
        return;
    }
    if ((s = rules_scalar(ld, keys.id, sp.id, "id", &len)) == NULL)
        return;
    if (!rules_valid_chars(s, len, RULES_ID_MAX, "_.-")) {
        rules_err(ld, sp.id, keys.id, "bad rule id '%.*s' (want "
            "[a-z0-9_.-]{1,96})", (int)(len > 100 ? 100 : len), s);
        return;
    }
    if ((id = xstrndup(s, len)) == NULL) {
        rules_oom(ld);
        return;
    }

    if (sp.disabled != NULL && rules_scalar_bool(ld, keys.disabled,
        sp.disabled, "disabled", &disabled) == -1)
        bad = true;
    if (sp.case_sensitive != NULL && rules_scalar_bool(ld,
        keys.case_sensitive, sp.case_sensitive, "case_sensitive",
        &case_sensitive) == -1)
        bad = true;
    if (sp.shadow != NULL && rules_scalar_bool(ld, keys.shadow, sp.shadow,
        "shadow", &shadow) == -1)
        bad = true;
    if (disabled && sp.pattern == NULL && sp.words == NULL &&
        sp.all == NULL && sp.any == NULL) {
        if (!bad)
            rules_disable(ld, id, sp.id);
        goto out;
    }

    if (sp.category == NULL) {
        rules_err(ld, map, NULL, "rule '%s': missing 'category'", id);
        bad = true;
    } else if ((s = rules_scalar(ld, keys.category, sp.category,
        "category", &len)) == NULL) {
        bad = true;
    } else if (!rules_valid_chars(s, len, RULES_CATEGORY_MAX, "_-")) {
        rules_err(ld, sp.category, keys.category, "rule '%s': bad category "
            "'%.*s' (want [a-z0-9_-]{1,32})", id,
            (int)(len > 40 ? 40 : len), s);
        bad = true;
    } else if (!bad && rules_category(r, s, len, &nr.category) == -1) {
        rules_oom(ld);
        bad = true;
    }
    if (sp.score == NULL) {
        rules_err(ld, map, NULL, "rule '%s': missing 'score'", id);
        bad = true;
    } else if (rules_scalar_number(ld, keys.score, sp.score, "score",
        &score) == -1) {
        bad = true;
    }
    if (sp.description != NULL && rules_scalar(ld, keys.description,
        sp.description, "description", &len) == NULL)
        bad = true;
    if (rules_check_shape(ld, map, &sp, &keys, id) == -1)
        bad = true;
    if (bad)
        goto out;

    nr.id = id;
    id = NULL;
    nr.file = ld->file;
    nr.dir = ld->dir;
    rules_node_pos(map, NULL, &nr.line, &nr.col);
    nr.score = score;
    nr.disabled = disabled;
    nr.shadow = shadow;
    nr.case_sensitive = case_sensitive;
    if (sp.all != NULL || sp.any != NULL) {
        nr.kind = sp.all ? RULES_KIND_ALL : RULES_KIND_ANY;
        if (rules_load_refs(ld, sp.all ? keys.all : keys.any,
            sp.all ? sp.all : sp.any, &nr, sp.all ? "all" : "any") == -1)
            goto fail;
    } else if (rules_load_matcher(ld, map, &sp, &keys, &nr) == -1) {
        goto fail;
    }
    if (sp.when != NULL && rules_load_when(ld, keys.when, sp.when, nr.id,
        &nr.cond) == -1)
        goto fail;
    if (sp.examples != NULL && rules_load_examples(ld, keys.examples,
        sp.examples, &nr) == -1)
        goto fail;
    rules_add(ld, &nr, sp.id);
    return;
fail:
    rules_rule_clear(&nr);
out:
    xfree(id);
}
