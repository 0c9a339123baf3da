/*
 * rules: the rule sets that classify items. rules_load reads every YAML
 * rule file under the configured directories (shipped first, then the
 * site's), checks each key, compiles each pattern once with pcre2 (UTF,
 * UCP, JIT where the CPU has it) and yields a finished, immutable struct
 * rules for the config snapshot, or NULL and a list of "file:line:col:"
 * errors. rules_eval runs one item's text through every applicable rule
 * and returns the classification JSON that classify and route read.
 *
 * This is the only module that sees pcre2 or the rule files' YAML. The
 * snapshot owns the compiled patterns, the match context with its limits,
 * one JIT stack, one match data block and the per-eval scratch arrays: the
 * daemon has one thread, so they are reused for every item.
 */
#define PCRE2_CODE_UNIT_WIDTH 8

#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include <libfyaml.h>
#include <pcre2.h>

#include "alloc.h"
#include "item.h"
#include "lang.h"
#include "log.h"
#include "rules.h"

#define RULES_MAX_ERRORS 50
#define RULES_MAX_FILE (4u << 20)       /* bytes of one rule file */
#define RULES_MAX_DEPTH 8               /* subdirectory nesting */
#define RULES_ID_MAX 96
#define RULES_CATEGORY_MAX 32
#define RULES_SET_MAX 96
#define RULES_MATCH_MAX 100             /* bytes of matched text in a hit */
#define RULES_WORDS_MAX (1u << 20)      /* bytes of a words regex */
#define RULES_JIT_STACK_MIN (32 * 1024)
#define RULES_JIT_STACK_MAX (1024 * 1024)
#define RULES_DEFAULT_THRESHOLD 1.0
/* Sums of scores like 0.1 + 0.2 must still reach a threshold of 0.3. */
#define RULES_EPSILON 1e-9

#define RULES_DEFAULT_MATCH_LIMIT 100000
#define RULES_DEFAULT_DEPTH_LIMIT 10000
#define RULES_DEFAULT_HEAP_LIMIT_KIB 20480

struct rules_file {
    char *path;
    char *set;
    char *lang;         /* NULL: its rules apply to every language */
};

struct rules_category {
    char *name;
    double threshold;
    const char *set_in; /* file that set the threshold, NULL: default */
    size_t set_dir;     /* and its directory */
};

struct rules_rule {
    char *id;
    pcre2_code *code;   /* NULL only for a disabled stub never matched */
    size_t file;        /* index into rules->files */
    size_t category;    /* index into rules->cats */
    size_t dir;         /* which of the given directories defined it */
    int line;           /* 1-based line of the rule in its file */
    double score;
    bool jit;
    bool disabled;
    bool limit_logged;  /* a limit error was logged for this snapshot */
    uint64_t hits;
    uint64_t limit_errors;
    uint64_t match_ns;
};

struct rules {
    struct rules_rule *rules;
    size_t nrules;
    size_t rules_cap;
    struct rules_file *files;
    size_t nfiles;
    size_t files_cap;
    struct rules_category *cats;
    size_t ncats;
    size_t cats_cap;
    size_t nenabled;
    size_t nojit;       /* patterns that run in the interpreter */

    pcre2_general_context *gctx;
    pcre2_compile_context *cctx;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    pcre2_match_data *md;

    /* Per-eval scratch, sized once the set is complete. */
    double *sums;
    unsigned char *seen;
    unsigned char *file_ok;
    size_t *order;
};

/* State while loading; errors go to errors, capped. */
struct rules_loader {
    struct rules *r;
    struct buf *errors;
    size_t nerrors;
    bool failed;
    size_t dir;             /* index of the directory being read */
    const char *path;       /* file being read */
    const char *src;        /* its text */
    size_t srclen;
    size_t file;            /* its index in r->files */
};

/* The keys a rule mapping may hold. */
struct rules_spec {
    struct fy_node *id;
    struct fy_node *category;
    struct fy_node *score;
    struct fy_node *description;
    struct fy_node *pattern;
    struct fy_node *words;
    struct fy_node *case_sensitive;
    struct fy_node *disabled;
};

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

static void rules_verr(struct rules_loader *, const char *, int, int,
    const char *, va_list) __attribute__((format(printf, 5, 0)));

static void
rules_verr(struct rules_loader *ld, const char *path, int line, int col,
    const char *fmt, va_list ap)
{
    ld->failed = true;
    if (ld->errors == NULL || ld->nerrors > RULES_MAX_ERRORS)
        return;
    if (++ld->nerrors > RULES_MAX_ERRORS) {
        buf_printf(ld->errors, "%s:%d:%d: too many errors; the rest are "
            "not shown\n", path, line, col);
        return;
    }
    buf_printf(ld->errors, "%s:%d:%d: ", path, line, col);
    buf_vprintf(ld->errors, fmt, ap);
    buf_puts(ld->errors, "\n");
}

static void rules_err_at(struct rules_loader *, const char *, int, int,
    const char *, ...) __attribute__((format(printf, 5, 6)));

static void
rules_err_at(struct rules_loader *ld, const char *path, int line, int col,
    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rules_verr(ld, path, line, col, fmt, ap);
    va_end(ap);
}

/*
 * Position of a node: its own token for a scalar, else that of its first
 * key or item. Mappings and sequences carry no mark of their own in
 * libfyaml 0.7, so this is the closest place a reader will recognise.
 */
static const struct fy_mark *
rules_node_mark(struct fy_node *fyn)
{
    void *iter = NULL;
    struct fy_node_pair *p;
    struct fy_node *item;
    struct fy_token *t;

    if (fyn == NULL)
        return NULL;
    switch (fy_node_get_type(fyn)) {
    case FYNT_SCALAR:
        t = fy_node_get_scalar_token(fyn);
        return t ? fy_token_start_mark(t) : NULL;
    case FYNT_MAPPING:
        if ((p = fy_node_mapping_iterate(fyn, &iter)) == NULL)
            return NULL;
        return rules_node_mark(fy_node_pair_key(p));
    case FYNT_SEQUENCE:
        if ((item = fy_node_sequence_iterate(fyn, &iter)) == NULL)
            return NULL;
        return rules_node_mark(item);
    default:
        return NULL;
    }
}

static void rules_err(struct rules_loader *, struct fy_node *,
    struct fy_node *, const char *, ...)
    __attribute__((format(printf, 4, 5)));

/*
 * Report a problem in the current file at node fyn, or at fallback (the
 * key of the value, say) when fyn has no position, or at 1:1.
 */
static void
rules_err(struct rules_loader *ld, struct fy_node *fyn,
    struct fy_node *fallback, const char *fmt, ...)
{
    const struct fy_mark *m = rules_node_mark(fyn);
    va_list ap;

    if (m == NULL)
        m = rules_node_mark(fallback);
    va_start(ap, fmt);
    if (m != NULL)
        rules_verr(ld, ld->path, m->line + 1, m->column + 1, fmt, ap);
    else
        rules_verr(ld, ld->path, 1, 1, fmt, ap);
    va_end(ap);
}

static void
rules_oom(struct rules_loader *ld)
{
    rules_err_at(ld, ld->path ? ld->path : "rules", 1, 1, "out of memory");
}

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static void *
rules_pcre2_malloc(PCRE2_SIZE n, void *arg)
{
    (void)arg;
    return xmalloc(n);
}

static void
rules_pcre2_free(void *p, void *arg)
{
    (void)arg;
    xfree(p);
}

static bool
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

/* Does a rule file's lang ("en") cover the item's ("en", "EN", "en-GB")? */
static bool
rules_lang_covers(const char *want, const char *have)
{
    size_t n = strlen(want);

    return strncasecmp(want, have, n) == 0 &&
        (have[n] == '\0' || have[n] == '-' || have[n] == '_');
}

/* Longest prefix of s (at most max bytes) that ends on a UTF-8 boundary. */
static size_t
rules_utf8_cut(const char *s, size_t len, size_t max)
{
    if (len <= max)
        return len;
    while (max > 0 && ((unsigned char)s[max] & 0xc0) == 0x80)
        max--;
    return max;
}

/*
 * Copy s into dst (at least 3 * n + 1 bytes) with every malformed UTF-8
 * byte replaced by U+FFFD, so the text is safe to put in JSON. Returns the
 * bytes written.
 */
static size_t
rules_utf8_clean(char *dst, const char *s, size_t n)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0, o = 0;

    while (i < n) {
        unsigned char c = u[i];
        size_t k = 0;
        unsigned char lo = 0x80, hi = 0xbf;

        if (c < 0x80)
            k = 1;
        else if (c >= 0xc2 && c <= 0xdf)
            k = 2;
        else if (c >= 0xe0 && c <= 0xef) {
            k = 3;
            lo = c == 0xe0 ? 0xa0 : 0x80;
            hi = c == 0xed ? 0x9f : 0xbf;
        } else if (c >= 0xf0 && c <= 0xf4) {
            k = 4;
            lo = c == 0xf0 ? 0x90 : 0x80;
            hi = c == 0xf4 ? 0x8f : 0xbf;
        }
        if (k == 0 || k > n - i || (k > 1 && (u[i + 1] < lo ||
            u[i + 1] > hi))) {
            k = 0;
        } else {
            for (size_t j = 2; j < k; j++) {
                if ((u[i + j] & 0xc0) != 0x80)
                    k = 0;
            }
        }
        if (k == 0) {
            memcpy(dst + o, "\xef\xbf\xbd", 3);
            o += 3;
            i++;
            continue;
        }
        memcpy(dst + o, s + i, k);
        o += k;
        i += k;
    }
    dst[o] = '\0';
    return o;
}

static uint64_t
rules_now_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ------------------------------------------------------------------ */
/* Scalars                                                             */
/* ------------------------------------------------------------------ */

/*
 * The text of a scalar value, or NULL (reported) when v is not one.
 * Anchors and aliases are refused: rule files have no use for them and
 * they are how YAML bombs are made.
 */
static const char *
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
static int
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

/* A plain true/false (YAML 1.2 core schema spellings). */
static int
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
static const char *
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

static bool
rules_key_is(const char *k, size_t klen, const char *name)
{
    return strlen(name) == klen && memcmp(k, name, klen) == 0;
}

/* ------------------------------------------------------------------ */
/* Building the set                                                    */
/* ------------------------------------------------------------------ */

static struct rules_rule *
rules_find(struct rules *r, const char *id)
{
    for (size_t i = 0; i < r->nrules; i++) {
        if (strcmp(r->rules[i].id, id) == 0)
            return &r->rules[i];
    }
    return NULL;
}

/* Index of a category, added with the default threshold if new; -1 OOM. */
static int
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
rules_rule_clear(struct rules_rule *rule)
{
    XFREE(&rule->id);
    pcre2_code_free(rule->code);
    rule->code = NULL;
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

/*
 * The regex for a words list: each entry quoted, whitespace runs matching
 * \s+, all of them alternatives between word boundaries that UCP makes
 * Unicode-aware.
 */
static char *
rules_words_regex(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *words, const char *id, size_t *len)
{
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
    if (buf_puts(&b, "(?<!\\w)(?:") == -1)
        ok = false;
    while (ok && (w = fy_node_sequence_iterate(words, &iter)) != NULL) {
        const char *s;
        size_t wl, i = 0;
        bool space = false, any = false;

        if ((s = rules_scalar(ld, w, w, "words", &wl)) == NULL) {
            buf_free(&b);
            return NULL;
        }
        if (n++ > 0 && buf_puts(&b, "|") == -1)
            ok = false;
        for (; ok && i < wl; i++) {
            unsigned char c = (unsigned char)s[i];

            if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
                space = any;
                continue;
            }
            if (space && buf_puts(&b, "\\s+") == -1)
                ok = false;
            space = false;
            any = true;
            /* A backslash before ASCII punctuation always means the
             * character itself; letters, digits and UTF-8 go as-is. */
            if (c < 0x80 && !((c >= 'a' && c <= 'z') ||
                (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) &&
                buf_append(&b, "\\", 1) == -1)
                ok = false;
            if (c == '\0')
                ok = ok && buf_puts(&b, "x00") == 0;
            else if (ok && buf_append(&b, s + i, 1) == -1)
                ok = false;
        }
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
    if (!ok || buf_puts(&b, ")(?!\\w)") == -1) {
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
 * Compile the rule's pattern or words. Reports errors at the offending
 * character. Returns the code or NULL.
 */
static pcre2_code *
rules_compile(struct rules_loader *ld, const struct rules_spec *sp,
    struct fy_node *pkey, struct fy_node *wkey, const char *id,
    bool case_sensitive)
{
    struct rules *r = ld->r;
    pcre2_code *code = NULL;
    char *words = NULL;
    const char *pat;
    size_t len;
    PCRE2_SIZE erroff;
    uint32_t opts, minlen = 0;
    int errcode;

    if (sp->pattern != NULL) {
        if ((pat = rules_scalar(ld, pkey, sp->pattern, "pattern",
            &len)) == NULL)
            return NULL;
        if (len == 0) {
            rules_err(ld, sp->pattern, pkey, "rule '%s': pattern is empty",
                id);
            return NULL;
        }
    } else {
        if ((words = rules_words_regex(ld, wkey, sp->words, id,
            &len)) == NULL)
            return NULL;
        pat = words;
    }

    opts = PCRE2_UTF | PCRE2_UCP | PCRE2_MATCH_INVALID_UTF |
        PCRE2_NEVER_BACKSLASH_C;
    if (!case_sensitive)
        opts |= PCRE2_CASELESS;
    code = pcre2_compile((PCRE2_SPTR)pat, len, opts, &errcode, &erroff,
        r->cctx);
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
        } else if (sp->pattern != NULL) {
            rules_scalar_pos(ld, sp->pattern, erroff, &line, &col);
            rules_err_at(ld, ld->path, line, col, "rule '%s': bad pattern: "
                "%s (at offset %zu)", id, (char *)msg, (size_t)erroff);
        } else {
            rules_err(ld, sp->words, wkey, "rule '%s': bad words: %s", id,
                (char *)msg);
        }
        goto out;
    }
    /* A pattern that can match nothing at all would hit every item. */
    if (pcre2_pattern_info(code, PCRE2_INFO_MINLENGTH, &minlen) == 0 &&
        minlen == 0) {
        rules_err(ld, sp->pattern ? sp->pattern : sp->words,
            sp->pattern ? pkey : wkey, "rule '%s': pattern can match an "
            "empty string", id);
        pcre2_code_free(code);
        code = NULL;
    }
out:
    xfree(words);
    return code;
}

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
        { "case_sensitive", offsetof(struct rules_spec, case_sensitive) },
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
            rules_err(ld, k, map, "unknown key '%.*s' in rule (known: id, "
                "category, score, description, pattern, words, "
                "case_sensitive, disabled)", (int)(klen > 64 ? 64 : klen),
                ks);
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

static void
rules_load_rule(struct rules_loader *ld, struct fy_node *map)
{
    struct rules *r = ld->r;
    struct rules_spec sp, keys;
    struct rules_rule nr;
    const struct fy_mark *m;
    const char *s;
    char *id = NULL;
    size_t len;
    bool disabled = false, case_sensitive = false, bad = false;
    double score = 0;

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
    if (disabled && sp.pattern == NULL && sp.words == NULL) {
        if (!bad)
            rules_disable(ld, id, sp.id);
        goto out;
    }

    memset(&nr, 0, sizeof(nr));
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
    if (sp.pattern != NULL && sp.words != NULL) {
        rules_err(ld, keys.words, map, "rule '%s': 'pattern' and 'words' "
            "are exclusive; give one", id);
        bad = true;
    } else if (sp.pattern == NULL && sp.words == NULL) {
        rules_err(ld, map, NULL, "rule '%s': needs 'pattern' or 'words'",
            id);
        bad = true;
    }
    if (bad)
        goto out;

    nr.code = rules_compile(ld, &sp, keys.pattern, keys.words, id,
        case_sensitive);
    if (nr.code == NULL)
        goto out;
    nr.jit = pcre2_jit_compile(nr.code, PCRE2_JIT_COMPLETE) == 0;
    if (!nr.jit)
        r->nojit++;
    m = rules_node_mark(map);
    nr.id = id;
    id = NULL;
    nr.file = ld->file;
    nr.dir = ld->dir;
    nr.line = m ? m->line + 1 : 1;
    nr.score = score;
    nr.disabled = disabled;
    rules_add(ld, &nr, sp.id);
out:
    xfree(id);
}

static void
rules_load_thresholds(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *map)
{
    struct rules_category *c;
    struct fy_node_pair *p;
    void *iter = NULL;

    if (fy_node_is_alias(map) || !fy_node_is_mapping(map)) {
        rules_err(ld, map, key, "thresholds: must be a mapping of category "
            "to number");
        return;
    }
    while ((p = fy_node_mapping_iterate(map, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p);
        const char *ks;
        char what[64];
        size_t klen, idx;
        double t;

        if ((ks = rules_key(ld, k, map, &klen)) == NULL)
            continue;
        if (!rules_valid_chars(ks, klen, RULES_CATEGORY_MAX, "_-")) {
            rules_err(ld, k, map, "thresholds: bad category '%.*s' (want "
                "[a-z0-9_-]{1,32})", (int)(klen > 40 ? 40 : klen), ks);
            continue;
        }
        snprintf(what, sizeof(what), "thresholds.%.*s", (int)klen, ks);
        if (rules_scalar_number(ld, k, fy_node_pair_value(p), what,
            &t) == -1)
            continue;
        if (t <= 0) {
            rules_err(ld, fy_node_pair_value(p), k, "%s: must be greater "
                "than 0", what);
            continue;
        }
        if (rules_category(ld->r, ks, klen, &idx) == -1) {
            rules_oom(ld);
            return;
        }
        c = &ld->r->cats[idx];
        /* A threshold holds for the category in every file, so two files
         * of one directory that disagree are almost surely a mistake; a
         * later directory changing it is what site directories are for. */
        if (c->set_in != NULL && c->set_dir == ld->dir && c->threshold != t)
            log_warnx("%s: %s: %g replaces %g set in %s; a threshold "
                "applies to every file", ld->path, what, t, c->threshold,
                c->set_in);
        c->threshold = t;
        c->set_in = ld->path;
        c->set_dir = ld->dir;
    }
}

static void
rules_load_root(struct rules_loader *ld, struct fy_node *root)
{
    struct rules_file *f = &ld->r->files[ld->file];
    struct fy_node *rules = NULL, *rules_key_node = NULL;
    struct fy_node_pair *p;
    void *iter = NULL;

    if (fy_node_is_alias(root) || !fy_node_is_mapping(root)) {
        rules_err_at(ld, ld->path, 1, 1, "root must be a mapping with "
            "'rules' (and optionally 'set', 'lang', 'thresholds')");
        return;
    }
    while ((p = fy_node_mapping_iterate(root, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(p), *v = fy_node_pair_value(p);
        const char *ks, *s;
        size_t klen, len;

        if ((ks = rules_key(ld, k, root, &klen)) == NULL)
            continue;
        if (rules_key_is(ks, klen, "set")) {
            if ((s = rules_scalar(ld, k, v, "set", &len)) == NULL)
                continue;
            if (len == 0 || len > RULES_SET_MAX ||
                memchr(s, '\0', len) != NULL) {
                rules_err(ld, v, k, "set: must be 1 to %d characters",
                    RULES_SET_MAX);
                continue;
            }
            xfree(f->set);
            if ((f->set = xstrndup(s, len)) == NULL)
                rules_oom(ld);
        } else if (rules_key_is(ks, klen, "lang")) {
            if ((s = rules_scalar(ld, k, v, "lang", &len)) == NULL)
                continue;
            if (len < 2 || len > 3 ||
                !rules_valid_chars(s, len, 3, "")) {
                rules_err(ld, v, k, "lang: must be a lowercase ISO 639 "
                    "code such as 'en'");
                continue;
            }
            if ((f->lang = xstrndup(s, len)) == NULL)
                rules_oom(ld);
        } else if (rules_key_is(ks, klen, "thresholds")) {
            rules_load_thresholds(ld, k, v);
        } else if (rules_key_is(ks, klen, "rules")) {
            rules = v;
            rules_key_node = k;
        } else {
            rules_err(ld, k, root, "unknown key '%.*s' (known: set, lang, "
                "thresholds, rules)", (int)(klen > 64 ? 64 : klen), ks);
        }
    }
    if (rules == NULL)
        return;
    if (fy_node_is_alias(rules) || !fy_node_is_sequence(rules)) {
        /* "rules:" with nothing after it is an empty list, not a typo. */
        if (fy_node_is_scalar(rules) &&
            fy_node_get_scalar_token(rules) == NULL)
            return;
        rules_err(ld, rules, rules_key_node, "rules: must be a list");
        return;
    }
    iter = NULL;
    for (struct fy_node *item; (item = fy_node_sequence_iterate(rules,
        &iter)) != NULL;)
        rules_load_rule(ld, item);
}

/* ------------------------------------------------------------------ */
/* Files and directories                                               */
/* ------------------------------------------------------------------ */

static void
rules_diag_output_cb(struct fy_diag *diag, void *user, const char *buf,
    size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

/* Read a whole file, at most RULES_MAX_FILE bytes. Reports errors. */
static char *
rules_read_file(struct rules_loader *ld, const char *path, size_t *lenp)
{
    struct stat st;
    char *data = NULL;
    size_t len = 0;
    ssize_t n;
    int fd;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1 ||
        fstat(fd, &st) == -1) {
        rules_err_at(ld, path, 1, 1, "cannot read: %s", strerror(errno));
        goto fail;
    }
    if (st.st_size > (off_t)RULES_MAX_FILE) {
        rules_err_at(ld, path, 1, 1, "file too large (limit %u bytes)",
            RULES_MAX_FILE);
        goto fail;
    }
    if ((data = xmalloc((size_t)st.st_size + 1)) == NULL) {
        rules_oom(ld);
        goto fail;
    }
    while (len < (size_t)st.st_size) {
        n = read(fd, data + len, (size_t)st.st_size - len);
        if (n == -1 && errno == EINTR)
            continue;
        if (n == -1) {
            rules_err_at(ld, path, 1, 1, "cannot read: %s",
                strerror(errno));
            goto fail;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    data[len] = '\0';
    close(fd);
    *lenp = len;
    return data;
fail:
    if (fd != -1)
        close(fd);
    xfree(data);
    return NULL;
}

/* Record the file in r->files; its set defaults to the base name. */
static int
rules_add_file(struct rules_loader *ld, const char *path)
{
    struct rules *r = ld->r;
    struct rules_file *f;
    const char *base = strrchr(path, '/'), *dot;

    base = base ? base + 1 : path;
    dot = strrchr(base, '.');
    if (r->nfiles == r->files_cap) {
        size_t cap = r->files_cap ? r->files_cap * 2 : 16;

        if ((f = xrealloc(r->files, cap * sizeof(*f))) == NULL)
            return -1;
        r->files = f;
        r->files_cap = cap;
    }
    f = &r->files[r->nfiles];
    memset(f, 0, sizeof(*f));
    if ((f->path = xstrdup(path)) == NULL)
        return -1;
    if ((f->set = xstrndup(base, dot && dot != base ? (size_t)(dot - base) :
        strlen(base))) == NULL) {
        XFREE(&f->path);
        return -1;
    }
    ld->file = r->nfiles++;
    return 0;
}

static void
rules_load_file(struct rules_loader *ld, const char *path)
{
    struct fy_diag_cfg dcfg;
    struct fy_parse_cfg pcfg;
    struct fy_diag *diag = NULL;
    struct fy_parser *fyp = NULL;
    struct fy_document *fyd = NULL, *extra = NULL;
    struct fy_diag_error *e;
    void *iter = NULL;
    char *src;
    size_t len;

    if ((src = rules_read_file(ld, path, &len)) == NULL)
        return;
    if (rules_add_file(ld, path) == -1) {
        rules_oom(ld);
        goto out;
    }
    ld->path = ld->r->files[ld->file].path;
    ld->src = src;
    ld->srclen = len;

    /* Collect libfyaml's diagnostics instead of letting it print them. */
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = rules_diag_output_cb;
    dcfg.level = FYET_ERROR;
    dcfg.colorize = false;
    if ((diag = fy_diag_create(&dcfg)) == NULL) {
        rules_oom(ld);
        goto out;
    }
    fy_diag_set_collect_errors(diag, true);
    memset(&pcfg, 0, sizeof(pcfg));
    pcfg.flags = FYPCF_QUIET | FYPCF_DEFAULT_VERSION_1_2;
    pcfg.diag = diag;
    if ((fyp = fy_parser_create(&pcfg)) == NULL ||
        fy_parser_set_string(fyp, src, len) != 0) {
        rules_oom(ld);
        goto out;
    }
    fyd = fy_parse_load_document(fyp);
    if (fyd != NULL && (extra = fy_parse_load_document(fyp)) != NULL) {
        const struct fy_mark *m =
            fy_document_state_start_mark(fy_document_get_document_state(
            extra));

        rules_err_at(ld, ld->path, m ? m->line + 1 : 1,
            m ? m->column + 1 : 1, "only one YAML document per file");
        goto out;
    }
    if (fy_diag_got_error(diag)) {
        bool any = false;

        while ((e = fy_diag_errors_iterate(diag, &iter)) != NULL) {
            rules_err_at(ld, ld->path, e->line > 0 ? e->line : 1,
                e->column > 0 ? e->column : 1, "invalid YAML: %s",
                e->msg ? e->msg : "syntax error");
            any = true;
        }
        if (!any)
            rules_err_at(ld, ld->path, 1, 1, "invalid YAML");
        goto out;
    }
    /* An empty file (or only comments) holds no rules; that is fine. */
    if (fyd != NULL && fy_document_root(fyd) != NULL)
        rules_load_root(ld, fy_document_root(fyd));
out:
    if (extra != NULL)
        fy_parse_document_destroy(fyp, extra);
    if (fyd != NULL)
        fy_parse_document_destroy(fyp, fyd);
    if (fyp != NULL)
        fy_parser_destroy(fyp);
    if (diag != NULL)
        fy_diag_destroy(diag);
    ld->src = NULL;
    ld->srclen = 0;
    ld->path = NULL;
    xfree(src);
}

static bool
rules_is_rule_file(const char *name)
{
    size_t n = strlen(name);

    return (n > 4 && strcmp(name + n - 4, ".yml") == 0) ||
        (n > 5 && strcmp(name + n - 5, ".yaml") == 0);
}

static int
rules_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every rule file under dir, in name order, descending into subdirs. */
static void
rules_load_dir(struct rules_loader *ld, const char *dir, int depth)
{
    DIR *d;
    struct dirent *de;
    char **names = NULL, **grown;
    size_t n = 0, cap = 0, dlen = strlen(dir);
    const char *sep = dlen > 0 && dir[dlen - 1] == '/' ? "" : "/";

    if ((d = opendir(dir)) == NULL) {
        rules_err_at(ld, dir, 1, 1, "cannot open rules directory: %s",
            strerror(errno));
        return;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 32;
            if ((grown = xrealloc(names, cap * sizeof(*names))) == NULL)
                goto oom;
            names = grown;
        }
        if ((names[n] = xstrdup(de->d_name)) == NULL)
            goto oom;
        n++;
    }
    closedir(d);
    d = NULL;
    if (n > 0)
        qsort(names, n, sizeof(*names), rules_name_cmp);

    for (size_t i = 0; i < n; i++) {
        char path[PATH_MAX];
        struct stat st;
        int w = snprintf(path, sizeof(path), "%s%s%s", dir, sep, names[i]);

        if (w < 0 || (size_t)w >= sizeof(path)) {
            rules_err_at(ld, dir, 1, 1, "path too long: %s", names[i]);
            continue;
        }
        if (stat(path, &st) == -1) {
            /* A dangling symlink is worth a line; a race is not. */
            if (errno != ENOENT || lstat(path, &st) == 0)
                rules_err_at(ld, path, 1, 1, "cannot stat: %s",
                    strerror(errno));
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            if (depth >= RULES_MAX_DEPTH)
                rules_err_at(ld, path, 1, 1, "directories nested too "
                    "deep (limit %d)", RULES_MAX_DEPTH);
            else
                rules_load_dir(ld, path, depth + 1);
        } else if (S_ISREG(st.st_mode) && rules_is_rule_file(names[i])) {
            rules_load_file(ld, path);
        }
    }
    goto out;
oom:
    rules_err_at(ld, dir, 1, 1, "out of memory");
out:
    if (d != NULL)
        closedir(d);
    for (size_t i = 0; i < n; i++)
        xfree(names[i]);
    xfree(names);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

/* Match machinery and scratch, once the rules are all in. */
static int
rules_prepare(struct rules *r, const struct rules_limits *lim)
{
    uint32_t match = RULES_DEFAULT_MATCH_LIMIT;
    uint32_t depth = RULES_DEFAULT_DEPTH_LIMIT;
    uint32_t heap = RULES_DEFAULT_HEAP_LIMIT_KIB;

    if (lim != NULL) {
        if (lim->match_limit)
            match = lim->match_limit;
        if (lim->depth_limit)
            depth = lim->depth_limit;
        if (lim->heap_limit_kib)
            heap = lim->heap_limit_kib;
    }
    if ((r->mctx = pcre2_match_context_create(r->gctx)) == NULL)
        return -1;
    pcre2_set_match_limit(r->mctx, match);
    pcre2_set_depth_limit(r->mctx, depth);
    pcre2_set_heap_limit(r->mctx, heap);
    /* Without a JIT stack (no JIT on this CPU) the interpreter runs. */
    r->jstack = pcre2_jit_stack_create(RULES_JIT_STACK_MIN,
        RULES_JIT_STACK_MAX, r->gctx);
    if (r->jstack != NULL)
        pcre2_jit_stack_assign(r->mctx, NULL, r->jstack);
    /* Only the whole match's span is read, so one pair is enough. */
    if ((r->md = pcre2_match_data_create(1, r->gctx)) == NULL)
        return -1;
    if ((r->sums = xcalloc(r->ncats + 1, sizeof(*r->sums))) == NULL ||
        (r->seen = xcalloc(r->ncats + 1, 1)) == NULL ||
        (r->order = xcalloc(r->ncats + 1, sizeof(*r->order))) == NULL ||
        (r->file_ok = xcalloc(r->nfiles + 1, 1)) == NULL)
        return -1;
    r->nenabled = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        if (!r->rules[i].disabled)
            r->nenabled++;
    }
    return 0;
}

struct rules *
rules_load(const char *const *dirs, size_t ndirs,
    const struct rules_limits *lim, struct buf *errors)
{
    struct rules_loader ld;
    struct rules *r;

    memset(&ld, 0, sizeof(ld));
    ld.errors = errors;
    if ((r = xcalloc(1, sizeof(*r))) == NULL)
        goto oom;
    ld.r = r;
    r->gctx = pcre2_general_context_create(rules_pcre2_malloc,
        rules_pcre2_free, NULL);
    if (r->gctx == NULL ||
        (r->cctx = pcre2_compile_context_create(r->gctx)) == NULL)
        goto oom;
    for (size_t i = 0; i < ndirs; i++) {
        ld.dir = i;
        rules_load_dir(&ld, dirs[i], 0);
    }
    if (ld.failed)
        goto fail;
    if (rules_prepare(r, lim) == -1)
        goto oom;
    log_debug("rules", "%zu rules (%zu enabled, %zu without JIT) from %zu "
        "files", r->nrules, r->nenabled, r->nojit, r->nfiles);
    return r;
oom:
    rules_err_at(&ld, "rules", 1, 1, "out of memory");
fail:
    rules_free(r);
    return NULL;
}

void
rules_free(struct rules *r)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nrules; i++)
        rules_rule_clear(&r->rules[i]);
    xfree(r->rules);
    for (size_t i = 0; i < r->nfiles; i++) {
        xfree(r->files[i].path);
        xfree(r->files[i].set);
        xfree(r->files[i].lang);
    }
    xfree(r->files);
    for (size_t i = 0; i < r->ncats; i++)
        xfree(r->cats[i].name);
    xfree(r->cats);
    pcre2_match_data_free(r->md);
    pcre2_jit_stack_free(r->jstack);
    pcre2_match_context_free(r->mctx);
    pcre2_compile_context_free(r->cctx);
    pcre2_general_context_free(r->gctx);
    xfree(r->sums);
    xfree(r->seen);
    xfree(r->order);
    xfree(r->file_ok);
    xfree(r);
}

size_t
rules_count(const struct rules *r)
{
    return r ? r->nenabled : 0;
}

/* A match error other than "no match": count, log once, carry on. */
static void
rules_match_error(struct rules *r, struct rules_rule *rule, int rc,
    const struct item *it)
{
    PCRE2_UCHAR msg[128];

    if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
        rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT ||
        rc == PCRE2_ERROR_NOMEMORY)
        rule->limit_errors++;
    if (rule->limit_logged)
        return;
    rule->limit_logged = true;
    if (pcre2_get_error_message(rc, msg, sizeof(msg)) < 0)
        snprintf((char *)msg, sizeof(msg), "error %d", rc);
    log_item_warnx(item_id(it), "rule %s (%s:%d): %s; treated as no match "
        "(logged once per rule until the next reload)", rule->id,
        r->files[rule->file].path, rule->line, (char *)msg);
}

static json_t *
rules_hit_json(const struct rules *r, const struct rules_rule *rule,
    const char *text, size_t start, size_t end)
{
    char clean[RULES_MATCH_MAX * 3 + 1];
    size_t n = rules_utf8_cut(text + start, end - start, RULES_MATCH_MAX);

    n = rules_utf8_clean(clean, text + start, n);
    return json_pack("{s:s, s:s, s:f, s:I, s:I, s:s%}", "rule", rule->id,
        "category", r->cats[rule->category].name, "score", rule->score,
        "start", (json_int_t)start, "end", (json_int_t)end, "match", clean,
        n);
}

/* Categories with a hit, highest score first, then by name. */
static size_t
rules_sorted_categories(struct rules *r)
{
    size_t n = 0;

    for (size_t c = 0; c < r->ncats; c++) {
        size_t j;

        if (!r->seen[c])
            continue;
        for (j = n; j > 0; j--) {
            size_t o = r->order[j - 1];

            if (r->sums[o] > r->sums[c] || (r->sums[o] == r->sums[c] &&
                strcmp(r->cats[o].name, r->cats[c].name) < 0))
                break;
            r->order[j] = o;
        }
        r->order[j] = c;
        n++;
    }
    return n;
}

json_t *
rules_eval(struct rules *r, const struct item *it)
{
    const char *text = item_text(it), *lang = item_lang(it);
    size_t len = item_text_len(it), ncat;
    json_t *res = NULL, *hits = NULL, *cats = NULL, *scores = NULL;

    if (lang == NULL || *lang == '\0')
        lang = lang_detect(text, len);
    for (size_t f = 0; f < r->nfiles; f++) {
        r->file_ok[f] = lang == NULL || r->files[f].lang == NULL ||
            rules_lang_covers(r->files[f].lang, lang);
    }
    memset(r->sums, 0, r->ncats * sizeof(*r->sums));
    memset(r->seen, 0, r->ncats);
    if ((hits = json_array()) == NULL)
        goto fail;

    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];
        PCRE2_SIZE *ov, start, end;
        uint64_t t0;
        int rc;

        if (rule->disabled || !r->file_ok[rule->file])
            continue;
        t0 = rules_now_ns();
        if (rule->jit)
            rc = pcre2_jit_match(rule->code, (PCRE2_SPTR)text, len, 0, 0,
                r->md, r->mctx);
        else
            rc = pcre2_match(rule->code, (PCRE2_SPTR)text, len, 0, 0,
                r->md, r->mctx);
        rule->match_ns += rules_now_ns() - t0;
        if (rc == PCRE2_ERROR_NOMATCH)
            continue;
        if (rc < 0) {
            rules_match_error(r, rule, rc, it);
            continue;
        }
        ov = pcre2_get_ovector_pointer(r->md);
        start = ov[0];
        end = ov[1];
        /* \K in a lookahead can report end before start. */
        if (end < start)
            end = start;
        rule->hits++;
        r->sums[rule->category] += rule->score;
        r->seen[rule->category] = 1;
        if (json_array_append_new(hits, rules_hit_json(r, rule, text,
            start, end)) == -1)
            goto fail;
    }

    ncat = rules_sorted_categories(r);
    if ((cats = json_array()) == NULL || (scores = json_object()) == NULL)
        goto fail;
    for (size_t i = 0; i < ncat; i++) {
        const struct rules_category *c = &r->cats[r->order[i]];
        double sum = r->sums[r->order[i]];

        if (json_object_set_new(scores, c->name, json_real(sum)) == -1)
            goto fail;
        if (sum + RULES_EPSILON >= c->threshold &&
            json_array_append_new(cats, json_string(c->name)) == -1)
            goto fail;
    }
    res = json_pack("{s:o, s:o, s:o, s:o}", "lang", lang ?
        json_string(lang) : json_null(), "categories", cats, "scores",
        scores, "hits", hits);
    /* json_pack's "o" steals even on failure. */
    cats = scores = hits = NULL;
    if (res == NULL)
        goto fail;
    return res;
fail:
    json_decref(hits);
    json_decref(cats);
    json_decref(scores);
    return NULL;
}

void
rules_foreach_stat(const struct rules *r, rules_stat_fn *fn, void *arg)
{
    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct rules_rule *rule = &r->rules[i];

        if (rule->disabled)
            continue;
        fn(rule->id, r->cats[rule->category].name, rule->hits,
            rule->limit_errors, rule->match_ns, arg);
    }
}
