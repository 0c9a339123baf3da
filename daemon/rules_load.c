/*
 * rules_load: build a struct rules from the YAML rule files under the
 * configured directories (shipped first, then the site's): read every
 * file, parse it with libfyaml, take its top-level keys (set, lang,
 * shadow, thresholds) and hand each rule to rules_rule.c; then resolve
 * meta rules, prepare the match machinery, run every in-file example and
 * build the prefilter. The result is a finished, immutable set for the
 * config snapshot, or NULL and a list of "file:line:col:" errors.
 *
 * Matching lives in rules.c and the prefilter in rules_prefilter.c; the
 * layout they share is rules_internal.h.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libfyaml.h>

#include "alloc.h"
#include "log.h"
#include "normalize.h"
#include "rules.h"
#include "rules_internal.h"
#include "util.h"

#define RULES_MAX_FILE (4u << 20)       /* bytes of one rule file */
#define RULES_MAX_DEPTH 8               /* subdirectory nesting */
#define RULES_SET_MAX 96
#define RULES_JIT_STACK_MIN (32 * 1024)
#define RULES_JIT_STACK_MAX (1024 * 1024)

#define RULES_DEFAULT_MATCH_LIMIT 100000
#define RULES_DEFAULT_DEPTH_LIMIT 10000
#define RULES_DEFAULT_HEAP_LIMIT_KIB 20480

/* ------------------------------------------------------------------ */
/* Errors                                                              */
/* ------------------------------------------------------------------ */

void
rules_errs_vadd(struct rules_errs *e, const char *path, int line, int col,
    const char *fmt, va_list ap)
{
    e->failed = true;
    if (e->buf == NULL || e->n > RULES_MAX_ERRORS)
        return;
    if (++e->n > RULES_MAX_ERRORS) {
        buf_printf(e->buf, "%s:%d:%d: too many errors; the rest are not "
            "shown\n", path, line, col);
        return;
    }
    buf_printf(e->buf, "%s:%d:%d: ", path, line, col);
    buf_vprintf(e->buf, fmt, ap);
    buf_puts(e->buf, "\n");
}

void
rules_errs_add(struct rules_errs *e, const char *path, int line, int col,
    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rules_errs_vadd(e, path, line, col, fmt, ap);
    va_end(ap);
}

void
rules_err_at(struct rules_loader *ld, const char *path, int line, int col,
    const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    rules_errs_vadd(&ld->errs, path, line, col, fmt, ap);
    va_end(ap);
}

/*
 * Position of a node: its own token for a scalar, else that of its first
 * key or item. Mappings and sequences carry no mark of their own in
 * libfyaml 0.7, so this is the closest place a reader will recognise.
 */
const struct fy_mark *
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

/* Line and column (1-based) of a node, or of fallback, or 1:1. */
void
rules_node_pos(struct fy_node *fyn, struct fy_node *fallback, int *line,
    int *col)
{
    const struct fy_mark *m = rules_node_mark(fyn);

    if (m == NULL)
        m = rules_node_mark(fallback);
    *line = m ? m->line + 1 : 1;
    *col = m ? m->column + 1 : 1;
}

/*
 * Report a problem in the current file at node fyn, or at fallback (the
 * key of the value, say) when fyn has no position, or at 1:1.
 */
void
rules_err(struct rules_loader *ld, struct fy_node *fyn,
    struct fy_node *fallback, const char *fmt, ...)
{
    va_list ap;
    int line, col;

    rules_node_pos(fyn, fallback, &line, &col);
    va_start(ap, fmt);
    rules_errs_vadd(&ld->errs, ld->path, line, col, fmt, ap);
    va_end(ap);
}

void
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
            "'rules' (and optionally 'set', 'lang', 'shadow', "
            "'thresholds')");
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
            if (!rules_ok_lang(s, len)) {
                rules_err(ld, v, k, "lang: must be a lowercase ISO 639 "
                    "code such as 'en'");
                continue;
            }
            if ((f->lang = xstrndup(s, len)) == NULL)
                rules_oom(ld);
        } else if (rules_key_is(ks, klen, "shadow")) {
            rules_scalar_bool(ld, k, v, "shadow", &f->shadow);
        } else if (rules_key_is(ks, klen, "thresholds")) {
            rules_load_thresholds(ld, k, v);
        } else if (rules_key_is(ks, klen, "rules")) {
            rules = v;
            rules_key_node = k;
        } else {
            rules_err(ld, k, root, "unknown key '%.*s' (known: set, lang, "
                "shadow, thresholds, rules)", (int)(klen > 64 ? 64 : klen),
                ks);
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

/*
 * Read a whole file, at most RULES_MAX_FILE bytes, and check that it is
 * UTF-8, as YAML must be: libfyaml 0.7 can loop forever on a directive
 * line holding invalid bytes, so it never sees any. Reports errors.
 */
static char *
rules_read_file(struct rules_loader *ld, const char *path, size_t *lenp)
{
    char *data;
    size_t bad;
    int line, col;

    if ((data = util_read_file(path, RULES_MAX_FILE, lenp, NULL)) == NULL) {
        if (errno == EFBIG)
            rules_err_at(ld, path, 1, 1, "file too large (limit %u bytes)",
                RULES_MAX_FILE);
        else if (errno == ENOMEM)
            rules_oom(ld);
        else
            rules_err_at(ld, path, 1, 1, "cannot read: %s",
                strerror(errno));
        return NULL;
    }
    if (!util_utf8_valid(data, *lenp, &bad)) {
        util_text_pos(data, bad, &line, &col);
        rules_err_at(ld, path, line, col, "not valid UTF-8 (byte 0x%02x)",
            (unsigned char)data[bad]);
        xfree(data);
        return NULL;
    }
    return data;
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
/* Finishing the set                                                   */
/* ------------------------------------------------------------------ */

/*
 * Point every meta rule's references at their rules. A meta rule may
 * name any pattern rule of the set, from any file or directory, but not
 * another meta rule: that keeps evaluation to one pass and cycles out.
 */
static void
rules_resolve_refs(struct rules_loader *ld)
{
    struct rules *r = ld->r;

    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];
        const char *path = r->files[rule->file].path;

        for (size_t j = 0; j < rule->nrefs; j++) {
            struct rules_ref *ref = &rule->refs[j];
            struct rules_rule *t = rules_find(r, ref->id);

            if (t == NULL)
                rules_err_at(ld, path, ref->line, ref->col, "rule '%s': "
                    "no rule '%s' to refer to", rule->id, ref->id);
            else if (t == rule)
                rules_err_at(ld, path, ref->line, ref->col, "rule '%s': "
                    "refers to itself", rule->id);
            else if (t->kind != RULES_KIND_PATTERN)
                rules_err_at(ld, path, ref->line, ref->col, "rule '%s': "
                    "'%s' is a meta rule too; all/any may only name "
                    "pattern and words rules", rule->id, ref->id);
            else
                ref->idx = (size_t)(t - r->rules);
        }
    }
}

/* Match machinery and scratch, once the rules are all in. */
static int
rules_prepare(struct rules *r, const struct rules_limits *lim)
{
    uint32_t match = RULES_DEFAULT_MATCH_LIMIT;
    uint32_t depth = RULES_DEFAULT_DEPTH_LIMIT;
    uint32_t heap = RULES_DEFAULT_HEAP_LIMIT_KIB;
    size_t nmeta = 0;

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
    r->nenabled = r->nmeta = r->nshadow = r->nexamples = r->ntext = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct rules_rule *rule = &r->rules[i];

        r->nexamples += rule->nexamples;
        if (rule->kind != RULES_KIND_PATTERN)
            nmeta++;
        if (rule->disabled)
            continue;
        r->nenabled++;
        if (rule->kind != RULES_KIND_PATTERN)
            r->nmeta++;
        else if (rule->field == RULES_FIELD_TEXT)
            r->ntext++;
        if (rule->shadow)
            r->nshadow++;
    }
    /* sums and seen: the counted ones, then with shadow hits too. */
    if ((r->sums = xcalloc(2 * r->ncats + 1, sizeof(*r->sums))) == NULL ||
        (r->seen = xcalloc(2 * r->ncats + 1, 1)) == NULL ||
        (r->order = xcalloc(r->ncats + 1, sizeof(*r->order))) == NULL ||
        (r->file_ok_rows = xcalloc(RULES_LANG_CACHE * (r->nfiles + 1),
        1)) == NULL ||
        (r->hitlist = xcalloc(r->nrules + 1, sizeof(size_t))) == NULL ||
        (r->cand = xcalloc(r->nrules + 1, sizeof(size_t))) == NULL ||
        (r->always_list = xcalloc(r->nrules + 1, sizeof(size_t))) == NULL ||
        (r->metas = xcalloc(nmeta + 1, sizeof(size_t))) == NULL ||
        (r->vhits = xcalloc(r->nrules + 1, sizeof(*r->vhits))) == NULL ||
        (r->vscores = xcalloc(2 * r->ncats + 1, sizeof(*r->vscores))) ==
        NULL)
        return -1;
    r->nmeta = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        if (r->rules[i].kind != RULES_KIND_PATTERN && !r->rules[i].disabled)
            r->metas[r->nmeta++] = i;
    }
    return 0;
}

struct rules *
rules_load(const char *const *dirs, size_t ndirs,
    const struct rules_limits *lim, struct buf *errors)
{
    struct rules_loader ld;
    struct rules *r;
    uint64_t t0 = util_mono_ns();

    memset(&ld, 0, sizeof(ld));
    ld.errs.buf = errors;
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
    /* A reference to a rule that failed to load would only add noise. */
    if (!ld.errs.failed)
        rules_resolve_refs(&ld);
    if (rules_prepare(r, lim) == -1)
        goto oom;
    /* Examples run even when something else failed, so one load shows
     * every problem; meta examples need resolved references. */
    if (rules_check_examples(r, &ld.errs, !ld.errs.failed) == -1)
        goto oom;
    if (ld.errs.failed)
        goto fail;
    if (rules_prefilter_build(r) == -1)
        goto oom;
    r->load_ns = util_mono_ns() - t0;
    log_debug("rules", "%zu rules (%zu enabled, %zu without JIT, %zu "
        "always run) from %zu files in %.1f ms", r->nrules, r->nenabled,
        r->nojit, r->nalways, r->nfiles, (double)r->load_ns / 1e6);
    norm_text_free(&ld.nt);
    return r;
oom:
    rules_err_at(&ld, "rules", 1, 1, "out of memory");
fail:
    norm_text_free(&ld.nt);
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
    rules_prefilter_free(r->pf);
    pcre2_match_data_free(r->md);
    pcre2_jit_stack_free(r->jstack);
    pcre2_match_context_free(r->mctx);
    pcre2_compile_context_free(r->cctx);
    pcre2_general_context_free(r->gctx);
    norm_text_free(&r->nt);
    xfree(r->sums);
    xfree(r->seen);
    xfree(r->order);
    xfree(r->file_ok_rows);
    xfree(r->hitlist);
    xfree(r->cand);
    xfree(r->always_list);
    xfree(r->metas);
    xfree(r->vhits);
    xfree(r->vscores);
    xfree(r);
}
