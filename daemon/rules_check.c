/*
 * rules_check: the rule linter behind inboxd -n. A loaded set has already
 * passed every hard check (syntax, compile, examples); this looks for
 * what loads fine but is wrong in practice: patterns that can never
 * match the normalized text, patterns longer than their max_length, meta
 * rules over disabled or shadow rules, and patterns that are slow or hit
 * a pcre2 limit on hostile input. It also notes which patterns the
 * prefilter cannot skip. Findings are warnings and notes; -n prints them
 * and still succeeds (docs/rules.md, "Checking rules").
 */
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "alloc.h"
#include "buf.h"
#include "log.h"
#include "normalize.h"
#include "rules.h"
#include "rules_internal.h"
#include "util.h"

#define RULES_CHECK_SLOW_NS (5u * 1000 * 1000)  /* 5 ms */
#define RULES_CHECK_STRESS_LEN (64u * 1024)

/* A hostile text: unit repeated to 64 KiB, then tail. */
struct rules_stress {
    const char *name;
    const char *unit;
    const char *tail;
};

static const struct rules_stress rules_stress_texts[] = {
    { "64 KiB of 'a'", "a", "" },
    { "64 KiB of 'a' and a '!'", "a", "!" },
    { "'aaaaaaaaaaaaaaa!' repeated", "aaaaaaaaaaaaaaa!", "" },
    { "'ab' repeated", "ab", "" },
    { "'a ' repeated", "a ", "b" },
    { "'you ' repeated", "you ", "" },
    { "64 KiB of digits", "1", "x" },
    { "64 KiB of Cyrillic 'а'", "\xd0\xb0", "" },
    { "'? ' repeated", "? ", "" },
    { "64 KiB of blanks", " ", "x" },
    { "64 KiB of newlines", "\n", "x" },
    { "a URL of 64 KiB", "/a", "" },
    { "64 KiB of '$'", "$", "" },
    { "64 KiB of emoji", "\xf0\x9f\x9a\x80", "" },
    { "'x.' repeated", "x.", "" },
};

struct rules_checker {
    struct rules *r;
    struct buf *report;
    int warnings;
    bool oom;
};

static void rules_check_line(struct rules_checker *, const struct rules_rule *,
    const char *, const char *, ...) __attribute__((format(printf, 4, 5)));

/* One finding: kind is "warning" or "note". */
static void
rules_check_line(struct rules_checker *ck, const struct rules_rule *rule,
    const char *kind, const char *fmt, ...)
{
    va_list ap;

    if (strcmp(kind, "warning") == 0)
        ck->warnings++;
    if (buf_printf(ck->report, "%s:%d:%d: %s: rule '%s': ",
        ck->r->files[rule->file].path, rule->line, rule->col, kind,
        rule->id) == -1)
        ck->oom = true;
    va_start(ap, fmt);
    if (buf_vprintf(ck->report, fmt, ap) == -1)
        ck->oom = true;
    va_end(ap);
    if (buf_puts(ck->report, "\n") == -1)
        ck->oom = true;
}

/* ------------------------------------------------------------------ */
/* Literals the normalized text never holds                            */
/* ------------------------------------------------------------------ */

struct rules_check_atom {
    struct norm_text nt;
    char bad[64];           /* the first impossible atom seen */
    const char *why;
    char whybuf[96];        /* scratch for the reason */
    char whysave[96];       /* the first reason, kept */
    bool oom;
};

static bool
rules_check_is_blank(uint32_t cp)
{
    return (cp >= 0x09 && cp <= 0x0d) || cp == 0x85 || cp == 0xa0 ||
        cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
        cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

static size_t
rules_check_decode(const unsigned char *u, size_t n, uint32_t *cp)
{
    size_t k = u[0] < 0x80 ? 1 : u[0] < 0xe0 ? 2 : u[0] < 0xf0 ? 3 : 4;

    if (k > n)
        k = n;
    *cp = k == 1 ? u[0] : k == 2 ? (uint32_t)(u[0] & 0x1f) << 6 |
        (u[1] & 0x3f) : k == 3 ? (uint32_t)(u[0] & 0x0f) << 12 |
        (uint32_t)(u[1] & 0x3f) << 6 | (u[2] & 0x3f) :
        (uint32_t)(u[0] & 0x07) << 18 | (uint32_t)(u[1] & 0x3f) << 12 |
        (uint32_t)(u[2] & 0x3f) << 6 | (u[3] & 0x3f);
    return k;
}

/* Why the folded atom can never be in a normalized text, or NULL. */
static const char *
rules_check_atom_why(struct rules_check_atom *ca, const char *atom,
    size_t len)
{
    const unsigned char *u = (const unsigned char *)atom;
    uint32_t prev = 0, prev2 = 0, cp;
    size_t k;

    for (size_t i = 0; i < len; i += k) {
        k = rules_check_decode(u + i, len - i, &cp);
        if (rules_check_is_blank(cp))
            return "every blank becomes a plain space";
        if (cp < 0x20 || (cp >= 0x7f && cp <= 0x9f))
            return "control characters are removed";
        if (cp == ' ' && prev == ' ')
            return "runs of blanks become one space";
        if (cp == prev && cp == prev2 && ((cp >= 'a' && cp <= 'z') ||
            cp >= 0x80))
            return "three or more of one letter become two";
        if (cp >= 0x80) {
            if (normalize_text(atom + i, k, NORM_INVISIBLE | NORM_NFKC |
                NORM_CASEFOLD, &ca->nt) == -1) {
                ca->oom = true;
                return NULL;
            }
            if (ca->nt.len == 0)
                return "invisible characters are removed";
            if (ca->nt.len != k || memcmp(ca->nt.text, atom + i, k) != 0) {
                snprintf(ca->whybuf, sizeof(ca->whybuf), "normalization "
                    "turns '%.*s' into '%.*s'", (int)k, atom + i,
                    (int)(ca->nt.len > 16 ? 16 : ca->nt.len), ca->nt.text);
                return ca->whybuf;
            }
        }
        prev2 = prev;
        prev = cp;
    }
    return NULL;
}

static bool
rules_check_atom_cb(const char *atom, size_t len, void *arg)
{
    struct rules_check_atom *ca = arg;
    const char *core;
    bool left, right;
    size_t n = rules_atom_core(atom, len, &core, &left, &right);
    const char *why = rules_check_atom_why(ca, core, n);

    if (why != NULL && ca->why == NULL) {
        char lit[sizeof(ca->bad)];

        snprintf(ca->whysave, sizeof(ca->whysave), "%s", why);
        ca->why = ca->whysave;
        snprintf(lit, sizeof(lit), "%.*s", (int)n, core);
        log_quote(ca->bad, sizeof(ca->bad), lit);
    }
    return why == NULL;
}

/* A pattern over the normalized text that needs what it never holds. */
static void
rules_check_impossible(struct rules_checker *ck, struct rules_rule *rule,
    struct rules_check_atom *ca)
{
    struct rules_req q;
    uint32_t ncap = 0;
    const char *why;

    if (rule->field != RULES_FIELD_TEXT)
        return;
    pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if (rules_req_build(rule->src, rule->srclen, ncap, &q, &why) == -1) {
        ck->oom = true;
        return;
    }
    ca->why = NULL;
    if (q.nops > 0 && !rules_req_eval(&q, rules_check_atom_cb, ca))
        rules_check_line(ck, rule, "warning", "can never match the "
            "normalized text: it needs \"%s\", and %s (write the pattern "
            "for the normalized text, or use 'field: raw')", ca->bad,
            ca->why);
    if (ca->oom)
        ck->oom = true;
    rules_req_free(&q);
}

/* A pattern written for URLs, addresses or codes on the normalized text. */
static void
rules_check_url(struct rules_checker *ck, const struct rules_rule *rule)
{
    static const char *const marks[] = {
        "http", "www", "://", "\\.com", "\\.net", "\\.org", "\\.ru",
        "\\.ly", "\\.me", "\\.io", "\\.co", "t\\.me",
    };

    if (rule->field != RULES_FIELD_TEXT || rule->src == NULL)
        return;
    for (size_t i = 0; i < sizeof(marks) / sizeof(marks[0]); i++) {
        size_t n = strlen(marks[i]);

        for (size_t j = 0; j + n <= rule->srclen; j++) {
            if (strncasecmp(rule->src + j, marks[i], n) == 0) {
                rules_check_line(ck, rule, "note", "looks like it matches "
                    "URLs or addresses (\"%s\"), which normalization "
                    "changes (www becomes ww, digits in words letters); "
                    "consider 'field: raw'", marks[i]);
                return;
            }
        }
    }
}

/* ------------------------------------------------------------------ */
/* Shapes                                                              */
/* ------------------------------------------------------------------ */

static void
rules_check_length(struct rules_checker *ck, const struct rules_rule *rule)
{
    uint32_t minlen = 0;

    if (rule->cond == NULL || rule->cond->max_length == 0 ||
        pcre2_pattern_info(rule->code, PCRE2_INFO_MINLENGTH, &minlen) != 0)
        return;
    if (minlen > rule->cond->max_length)
        rules_check_line(ck, rule, "warning", "can never match: its "
            "pattern needs at least %u characters but when.max_length is "
            "%zu", minlen, rule->cond->max_length);
}

static void
rules_check_meta(struct rules_checker *ck, const struct rules_rule *rule)
{
    size_t dead = 0;

    for (size_t i = 0; i < rule->nrefs; i++) {
        const struct rules_rule *t = &ck->r->rules[rule->refs[i].idx];
        const char *why = t->disabled ? "disabled" :
            t->shadow && !rule->shadow ? "in shadow mode (a counted rule "
            "does not see shadow hits)" : NULL;

        if (why == NULL)
            continue;
        dead++;
        if (rule->kind == RULES_KIND_ALL)
            rules_check_line(ck, rule, "warning", "can never match: all: "
                "names '%s', which is %s", t->id, why);
        else
            rules_check_line(ck, rule, "note", "any: names '%s', which is "
                "%s", t->id, why);
    }
    if (rule->kind == RULES_KIND_ANY && dead == rule->nrefs)
        rules_check_line(ck, rule, "warning", "can never match: every rule "
            "any: names is disabled or in shadow mode");
}

/* ------------------------------------------------------------------ */
/* Hostile texts                                                       */
/* ------------------------------------------------------------------ */

/* The stress texts, raw and normalized. */
struct rules_check_texts {
    char *raw[sizeof(rules_stress_texts) / sizeof(rules_stress_texts[0])];
    size_t rawlen[sizeof(rules_stress_texts) /
        sizeof(rules_stress_texts[0])];
    char *norm[sizeof(rules_stress_texts) / sizeof(rules_stress_texts[0])];
    size_t normlen[sizeof(rules_stress_texts) /
        sizeof(rules_stress_texts[0])];
};

#define RULES_NSTRESS (sizeof(rules_stress_texts) / \
    sizeof(rules_stress_texts[0]))

static void
rules_check_texts_free(struct rules_check_texts *t)
{
    for (size_t i = 0; i < RULES_NSTRESS; i++) {
        xfree(t->raw[i]);
        xfree(t->norm[i]);
    }
}

static int
rules_check_texts_make(struct rules_check_texts *t)
{
    struct norm_text nt = {0};
    int rc = -1;

    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < RULES_NSTRESS; i++) {
        const struct rules_stress *st = &rules_stress_texts[i];
        size_t ul = strlen(st->unit), tl = strlen(st->tail), n = 0;

        if ((t->raw[i] = xmalloc(RULES_CHECK_STRESS_LEN + tl + 1)) == NULL)
            goto out;
        if (i == 11) {
            memcpy(t->raw[i], "http://x", 8);
            n = 8;
        }
        while (n + ul <= RULES_CHECK_STRESS_LEN) {
            memcpy(t->raw[i] + n, st->unit, ul);
            n += ul;
        }
        memcpy(t->raw[i] + n, st->tail, tl);
        n += tl;
        t->raw[i][n] = '\0';
        t->rawlen[i] = n;
        if (normalize_text(t->raw[i], n, NORM_ALL, &nt) == -1 ||
            (t->norm[i] = xmalloc(nt.len + 1)) == NULL)
            goto out;
        memcpy(t->norm[i], nt.text, nt.len + 1);
        t->normlen[i] = nt.len;
    }
    rc = 0;
out:
    norm_text_free(&nt);
    return rc;
}

/* Time one regex of rule over every stress text; report the worst. */
static void
rules_check_stress_re(struct rules_checker *ck, struct rules_rule *rule,
    const struct rules_re *re, bool text, const char *what,
    const struct rules_check_texts *t)
{
    uint64_t worst = 0;
    size_t worst_i = 0, limit_i = SIZE_MAX, s, e;

    for (size_t i = 0; i < RULES_NSTRESS; i++) {
        uint64_t t0 = util_mono_ns(), dt;
        int rc = rules_match_re(ck->r, rule, re, text ? t->norm[i] :
            t->raw[i], text ? t->normlen[i] : t->rawlen[i], &s, &e, NULL);

        dt = util_mono_ns() - t0;
        if (rc == -1 && limit_i == SIZE_MAX)
            limit_i = i;
        if (dt > worst) {
            worst = dt;
            worst_i = i;
        }
    }
    if (limit_i != SIZE_MAX)
        rules_check_line(ck, rule, "warning", "%s is stopped by a match "
            "limit on %s (it would count as no match)", what,
            rules_stress_texts[limit_i].name);
    else if (worst > RULES_CHECK_SLOW_NS)
        rules_check_line(ck, rule, "warning", "%s takes %.1f ms on %s "
            "(limit for this check: %.0f ms)", what, (double)worst / 1e6,
            rules_stress_texts[worst_i].name,
            (double)RULES_CHECK_SLOW_NS / 1e6);
}

static void
rules_check_stress(struct rules_checker *ck, struct rules_rule *rule,
    const struct rules_check_texts *t)
{
    const struct rules_re re = { rule->code, rule->jit };
    bool text = rule->field == RULES_FIELD_TEXT;

    rules_check_stress_re(ck, rule, &re, text, "its pattern", t);
    for (size_t i = 0; i < rule->nunless; i++)
        rules_check_stress_re(ck, rule, &rule->unless[i], text,
            "an unless pattern", t);
    if (rule->cond != NULL && rule->cond->author_name.code != NULL)
        rules_check_stress_re(ck, rule, &rule->cond->author_name, false,
            "its when.author_name pattern", t);
}

/* ------------------------------------------------------------------ */
/* Public                                                              */
/* ------------------------------------------------------------------ */

int
rules_check(struct rules *r, struct buf *report)
{
    struct rules_checker ck = { r, report, 0, false };
    struct rules_check_atom ca;
    struct rules_check_texts t;

    memset(&ca, 0, sizeof(ca));
    if (rules_check_texts_make(&t) == -1) {
        rules_check_texts_free(&t);
        return -1;
    }
    if (!rules_prefilter_available() && buf_puts(report, "rules: note: "
        "built without vectorscan: every pattern runs on every item\n") ==
        -1)
        ck.oom = true;
    for (size_t i = 0; i < r->nrules && !ck.oom; i++) {
        struct rules_rule *rule = &r->rules[i];
        bool logged = rule->limit_logged;
        uint64_t le = rule->limit_errors, ns = rule->match_ns;

        if (rule->disabled)
            continue;
        if (rule->kind != RULES_KIND_PATTERN) {
            rules_check_meta(&ck, rule);
            continue;
        }
        rules_check_impossible(&ck, rule, &ca);
        rules_check_length(&ck, rule);
        rules_check_url(&ck, rule);
        if (r->pf != NULL && rule->always)
            rules_check_line(&ck, rule, "note", "runs on every item: the "
                "prefilter found %s", rule->pf_reason ? rule->pf_reason :
                "nothing to look for");
        /* The report says it; the log need not. */
        rule->limit_logged = true;
        rules_check_stress(&ck, rule, &t);
        rule->limit_logged = logged;
        rule->limit_errors = le;
        rule->match_ns = ns;
    }
    norm_text_free(&ca.nt);
    rules_check_texts_free(&t);
    return ck.oom ? -1 : ck.warnings;
}
