/*
 * rules: evaluate an item against a loaded rule set (rules_load.c builds
 * it). The item's text is normalized once (include/normalize.h); each
 * applicable rule whose conditions hold runs its pattern over the
 * normalized text or, for field: raw rules, the text as written; an
 * exception (unless) that matches vetoes the hit; meta rules combine the
 * hits of others. Hits are reported on the original text, shadow hits
 * are recorded but add nothing, and the category sums against their
 * thresholds give the decided categories: the classification JSON that
 * classify and route read (docs/rules.md).
 *
 * With the prefilter on (the default when vectorscan is there), only the
 * patterns whose required literals occur in the text run; the rest are
 * known not to match (rules_prefilter.c). The hits are the same either
 * way, which tests/unit/rules_diff_test.c checks.
 *
 * The snapshot owns the compiled patterns, the match context with its
 * limits, one JIT stack, one match data block and the per-eval scratch:
 * the daemon has one thread, so they are reused for every item.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "alloc.h"
#include "item.h"
#include "jsonw.h"
#include "lang.h"
#include "log.h"
#include "normalize.h"
#include "rules.h"
#include "rules_internal.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* Helpers                                                             */
/* ------------------------------------------------------------------ */

/* Does a lang ("en") cover the item's ("en", "EN", "en-GB")? */
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
    size_t i = 0, o = 0, k;

    while (i < n) {
        if ((k = util_utf8_seq(u, n, i)) == 0) {
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

/* Characters (UTF-8 lead bytes) in s. */
static size_t
rules_nchars(const char *s, size_t len)
{
    size_t n = 0;

    for (size_t i = 0; i < len; i++)
        n += ((unsigned char)s[i] & 0xc0) != 0x80;
    return n;
}

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

/* A match error other than "no match": count, log once, carry on. */
static void
rules_match_error(struct rules *r, struct rules_rule *rule, int rc,
    const char *item_id)
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
    log_item_warnx(item_id, "rule %s (%s:%d): %s; treated as no match "
        "(logged once per rule until the next reload)", rule->id,
        r->files[rule->file].path, rule->line, (char *)msg);
}

/*
 * Run one of rule's regexes (its pattern, an exception, its author-name
 * condition) over s. Returns 1 with the span, 0 for no match, -1 when a
 * limit or another error stopped it (counted and logged on the rule).
 *
 * Reading the clock twice costs as much as a short match, so match time
 * is measured on one eval in RULES_TIME_EVERY and counted that many
 * times: an estimate, good for finding the slow rules.
 */
int
rules_match_re(struct rules *r, struct rules_rule *rule,
    const struct rules_re *re, const char *s, size_t len, size_t *start,
    size_t *end, const char *item_id)
{
    bool timed = r->gen % RULES_TIME_EVERY == 0;
    uint64_t t0 = timed ? util_mono_ns() : 0;
    PCRE2_SIZE *ov;
    int rc;

    if (re->jit)
        rc = pcre2_jit_match(re->code, (PCRE2_SPTR)s, len, 0, 0, r->md,
            r->mctx);
    else
        rc = pcre2_match(re->code, (PCRE2_SPTR)s, len, 0, 0, r->md,
            r->mctx);
    if (timed)
        rule->match_ns += (util_mono_ns() - t0) * RULES_TIME_EVERY;
    if (rc == PCRE2_ERROR_NOMATCH)
        return 0;
    if (rc < 0) {
        rules_match_error(r, rule, rc, item_id);
        return -1;
    }
    ov = pcre2_get_ovector_pointer(r->md);
    *start = ov[0];
    /* \K in a lookahead can report end before start. */
    *end = ov[1] < ov[0] ? ov[0] : ov[1];
    return 1;
}

/*
 * A pattern rule against a subject, conditions aside: its pattern over
 * its field, then its exceptions over the same text. An exception that
 * matches, or that a limit stops, vetoes the hit: a hit may lead to an
 * action, so doubt means no hit. Returns 1 with the span in the original
 * text, 0, or -1 when the pattern itself was stopped by a limit.
 */
int
rules_match_rule(struct rules *r, struct rules_rule *rule,
    const struct rules_subject *sj, size_t *start, size_t *end,
    const char *item_id)
{
    const struct rules_re re = { rule->code, rule->jit };
    bool text = rule->field == RULES_FIELD_TEXT;
    const char *s = text ? sj->norm : sj->text;
    size_t len = text ? sj->norm_len : sj->len, ms, me, us, ue;
    int rc;

    if ((rc = rules_match_re(r, rule, &re, s, len, &ms, &me,
        item_id)) != 1)
        return rc;
    for (size_t i = 0; i < rule->nunless; i++) {
        if (rules_match_re(r, rule, &rule->unless[i], s, len, &us, &ue,
            item_id) != 0)
            return 0;
    }
    if (text && sj->nt != NULL) {
        normalize_span(sj->nt, ms, me, start, end);
    } else {
        *start = ms;
        *end = me;
    }
    return 1;
}

/*
 * Prepare a subject for text: the normalized form in r->nt when
 * normalize is set. A text too long to normalize (16 MiB) is matched as
 * it is. Returns -1 only when memory runs out.
 */
static int
rules_subject_init(struct rules *r, struct rules_subject *sj,
    const char *text, size_t len, bool normalize)
{
    memset(sj, 0, sizeof(*sj));
    sj->text = text;
    sj->len = len;
    sj->norm = text;
    sj->norm_len = len;
    sj->nchars = SIZE_MAX;
    if (!normalize)
        return 0;
    if (normalize_text(text, len, NORM_ALL, &r->nt) == -1) {
        if (errno == EOVERFLOW)
            return 0;
        return -1;
    }
    sj->norm = r->nt.text;
    sj->norm_len = r->nt.len;
    sj->nt = &r->nt;
    return 0;
}

int
rules_subject_text(struct rules *r, struct rules_subject *sj,
    const char *text, size_t len)
{
    return rules_subject_init(r, sj, text, len, true);
}

static bool
rules_in_list(char *const *v, size_t n, const char *s)
{
    if (s == NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        if (strcmp(v[i], s) == 0)
            return true;
    }
    return false;
}

/* Do the rule's conditions hold for the subject's item? */
static bool
rules_cond_ok(struct rules *r, struct rules_rule *rule,
    struct rules_subject *sj, const char *item_id)
{
    const struct rules_cond *c = rule->cond;
    const struct item *it = sj->it;
    const char *name;
    size_t s, e;
    bool ok;

    if (c == NULL || it == NULL)
        return true;
    if (c->kinds != 0 && (c->kinds & (1u << item_kind(it))) == 0)
        return false;
    if (c->nplatforms > 0 && !rules_in_list(c->platforms, c->nplatforms,
        item_platform(it)))
        return false;
    if (c->naccounts > 0 && !rules_in_list(c->accounts, c->naccounts,
        item_account(it)))
        return false;
    if (c->nauthor_ids > 0 && !rules_in_list(c->author_ids, c->nauthor_ids,
        item_author_id(it)))
        return false;
    if (c->has_link >= 0 && item_has_link(it) != (c->has_link == 1))
        return false;
    /* An unknown language passes, as it does for a file's lang. */
    if (c->nlangs > 0 && sj->lang != NULL) {
        ok = false;
        for (size_t i = 0; i < c->nlangs && !ok; i++)
            ok = rules_lang_covers(c->langs[i], sj->lang);
        if (!ok)
            return false;
    }
    if (c->min_length > 0 || c->max_length > 0) {
        if (sj->nchars == SIZE_MAX)
            sj->nchars = rules_nchars(sj->text, sj->len);
        if (sj->nchars < c->min_length ||
            (c->max_length > 0 && sj->nchars > c->max_length))
            return false;
    }
    if (c->author_name.code != NULL) {
        if ((name = item_author_name(it)) == NULL)
            return false;
        if (rules_match_re(r, rule, &c->author_name, name, strlen(name),
            &s, &e, item_id) != 1)
            return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* Examples                                                            */
/* ------------------------------------------------------------------ */

/* A meta rule over one text: its references, combined. */
static int
rules_match_meta(struct rules *r, struct rules_rule *rule,
    const struct rules_subject *sj)
{
    size_t n = 0, s, e;

    for (size_t i = 0; i < rule->nrefs; i++) {
        struct rules_rule *t = &r->rules[rule->refs[i].idx];

        if (!t->disabled && rules_match_rule(r, t, sj, &s, &e, NULL) == 1)
            n++;
    }
    return rule->kind == RULES_KIND_ALL ? n == rule->nrefs : n > 0;
}

/*
 * Run every rule's examples (disabled rules' too: the file is wrong either
 * way); each that fails is an error at the example. Conditions (when)
 * are not applied: an example is text only. Counters the runs moved are
 * reset. Returns -1 when memory runs out.
 */
int
rules_check_examples(struct rules *r, struct rules_errs *errs, bool metas)
{
    struct rules_subject sj;
    char q[80], mq[80];
    size_t s = 0, e = 0;

    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];
        bool meta = rule->kind != RULES_KIND_PATTERN;

        if (meta && !metas)
            continue;
        for (size_t j = 0; j < rule->nexamples; j++) {
            const struct rules_example *ex = &rule->examples[j];
            int m;

            if (rules_subject_text(r, &sj, ex->text, ex->len) == -1)
                return -1;
            m = meta ? rules_match_meta(r, rule, &sj) :
                rules_match_rule(r, rule, &sj, &s, &e, NULL);
            if ((m == 1) == ex->match)
                continue;
            log_quote(q, sizeof(q), ex->text);
            if (ex->match) {
                rules_errs_add(errs, r->files[rule->file].path, ex->line,
                    ex->col, "rule '%s': example should match but does "
                    "not%s: \"%s\"", rule->id, m == -1 ? " (stopped by a "
                    "match limit)" : "", q);
            } else {
                char part[80];
                size_t n = meta ? 0 : rules_utf8_cut(ex->text + s, e - s,
                    sizeof(part) - 1);

                memcpy(part, ex->text + s, n);
                part[n] = '\0';
                log_quote(mq, sizeof(mq), part);
                rules_errs_add(errs, r->files[rule->file].path, ex->line,
                    ex->col, "rule '%s': example should not match but "
                    "does%s%s%s: \"%s\"", rule->id, meta ? "" : " (on \"",
                    meta ? "" : mq, meta ? "" : "\")", q);
            }
        }
    }
    for (size_t i = 0; i < r->nrules; i++) {
        r->rules[i].limit_errors = 0;
        r->rules[i].limit_logged = false;
        r->rules[i].match_ns = 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Evaluation                                                          */
/* ------------------------------------------------------------------ */

/* Categories with a hit in seen, highest sum first, then by name. */
static size_t
rules_sorted_categories(struct rules *r, const double *sums,
    const unsigned char *seen)
{
    size_t n = 0;

    for (size_t c = 0; c < r->ncats; c++) {
        size_t j;

        if (!seen[c])
            continue;
        for (j = n; j > 0; j--) {
            size_t o = r->order[j - 1];

            if (sums[o] > sums[c] || (sums[o] == sums[c] &&
                strcmp(r->cats[o].name, r->cats[c].name) < 0))
                break;
            r->order[j] = o;
        }
        r->order[j] = c;
        n++;
    }
    return n;
}

/* The scores of one set of sums, sorted, into out; how many. */
static size_t
rules_decide(struct rules *r, const double *sums, const unsigned char *seen,
    struct rules_score *out)
{
    size_t n = rules_sorted_categories(r, sums, seen);

    for (size_t i = 0; i < n; i++) {
        const struct rules_category *c = &r->cats[r->order[i]];

        out[i].category = c->name;
        out[i].score = sums[r->order[i]];
        out[i].decided = out[i].score + RULES_EPSILON >= c->threshold;
    }
    return n;
}

/*
 * Point r->file_ok at the files that apply to an item in lang (NULL:
 * unknown, every file applies). Items come in a few languages, often
 * interleaved, so the answers for the last RULES_LANG_CACHE are kept.
 */
static void
rules_files_for(struct rules *r, const char *lang)
{
    const char *key = lang != NULL ? lang : "";
    size_t row, stride = r->nfiles + 1;

    for (row = 0; row < r->file_ok_used; row++) {
        if (strcmp(r->file_ok_lang[row], key) == 0) {
            r->file_ok = r->file_ok_rows + row * stride;
            return;
        }
    }
    row = r->file_ok_next;
    r->file_ok_next = (row + 1) % RULES_LANG_CACHE;
    if (r->file_ok_used < RULES_LANG_CACHE)
        r->file_ok_used++;
    r->file_ok = r->file_ok_rows + row * stride;
    for (size_t f = 0; f < r->nfiles; f++) {
        r->file_ok[f] = lang == NULL || r->files[f].lang == NULL ||
            rules_lang_covers(r->files[f].lang, lang);
    }
    /* A key too long to keep is never found again: computed each time. */
    if (strlen(key) < sizeof(r->file_ok_lang[row]))
        memcpy(r->file_ok_lang[row], key, strlen(key) + 1);
    else
        r->file_ok_lang[row][0] = '\x01';
}

/* One pattern rule on the item; a hit goes on the hit list. */
static void
rules_eval_rule(struct rules *r, size_t idx, struct rules_subject *sj,
    const char *item_id, size_t *nhits)
{
    struct rules_rule *rule = &r->rules[idx];

    if (rule->disabled || rule->kind != RULES_KIND_PATTERN ||
        !r->file_ok[rule->file] || !rules_cond_ok(r, rule, sj, item_id))
        return;
    if (rules_match_rule(r, rule, sj, &rule->start, &rule->end,
        item_id) != 1)
        return;
    rule->hit_gen = r->gen;
    r->hitlist[(*nhits)++] = idx;
}

/*
 * A meta rule after the pattern rules: it hits when all (or any) of the
 * rules it names hit. A shadow hit counts only for a shadow meta rule, so
 * a rule in shadow mode cannot decide anything through another. The span
 * runs from the first to the last named hit (any: the first one's).
 */
static bool
rules_eval_meta(struct rules *r, struct rules_rule *rule,
    struct rules_subject *sj, const char *item_id)
{
    size_t n = 0, start = SIZE_MAX, end = 0;

    if (!r->file_ok[rule->file] || !rules_cond_ok(r, rule, sj, item_id))
        return false;
    for (size_t i = 0; i < rule->nrefs; i++) {
        const struct rules_rule *t = &r->rules[rule->refs[i].idx];

        if (t->hit_gen != r->gen || (t->shadow && !rule->shadow))
            continue;
        if (n++ == 0 || rule->kind == RULES_KIND_ALL) {
            start = t->start < start ? t->start : start;
            end = t->end > end ? t->end : end;
        }
    }
    if (rule->kind == RULES_KIND_ALL ? n != rule->nrefs : n == 0)
        return false;
    rule->start = start;
    rule->end = end;
    rule->hit_gen = r->gen;
    return true;
}

int
rules_classify(struct rules *r, const struct item *it,
    struct rules_verdict *v)
{
    const char *text = item_text(it), *lang = item_lang(it);
    const char *id = item_id(it);
    size_t len = item_text_len(it), nhits = 0, nmeta = 0, p, m;
    double *sums, *ssums;
    unsigned char *seen, *sseen;
    struct rules_subject sj;

    memset(v, 0, sizeof(*v));
    if (lang == NULL || *lang == '\0')
        lang = lang_detect(text, len);
    rules_files_for(r, lang);
    if (rules_subject_init(r, &sj, text, len, r->ntext > 0) == -1)
        return -1;
    sj.it = it;
    sj.lang = lang;
    if (++r->gen == 0) {
        /* After 2^32 items the stamps could lie; start them over. */
        for (size_t i = 0; i < r->nrules; i++)
            r->rules[i].hit_gen = 0;
        r->gen = 1;
    }

    if (r->use_prefilter && r->pf != NULL &&
        rules_prefilter_scan(r, &sj) == 0) {
        for (size_t k = 0; k < r->ncand; k++)
            rules_eval_rule(r, r->cand[k], &sj, id, &nhits);
    } else {
        for (size_t i = 0; i < r->nrules; i++)
            rules_eval_rule(r, i, &sj, id, &nhits);
    }
    /* Meta rules reuse cand for their hits: the candidates are done. */
    for (size_t k = 0; k < r->nmeta; k++) {
        if (rules_eval_meta(r, &r->rules[r->metas[k]], &sj, id))
            r->cand[nmeta++] = r->metas[k];
    }

    sums = r->sums;
    ssums = r->sums + r->ncats;
    seen = r->seen;
    sseen = r->seen + r->ncats;
    memset(r->sums, 0, 2 * r->ncats * sizeof(*r->sums));
    memset(r->seen, 0, 2 * r->ncats);
    /* Both lists are in rule order; merge them so hits are too. */
    for (p = m = 0; p < nhits || m < nmeta;) {
        size_t idx = m == nmeta || (p < nhits && r->hitlist[p] <
            r->cand[m]) ? r->hitlist[p++] : r->cand[m++];
        struct rules_rule *rule = &r->rules[idx];
        struct rules_hit *h = &r->vhits[v->nhits++];

        if (rule->shadow) {
            rule->shadow_hits++;
            v->shadow = true;
        } else {
            rule->hits++;
            sums[rule->category] += rule->score;
            seen[rule->category] = 1;
        }
        ssums[rule->category] += rule->score;
        sseen[rule->category] = 1;
        h->rule = rule->id;
        h->category = r->cats[rule->category].name;
        h->score = rule->score;
        h->start = rule->start;
        h->end = rule->end;
        h->shadow = rule->shadow;
    }
    v->lang = lang;
    v->hits = r->vhits;
    v->scores = r->vscores;
    v->nscores = rules_decide(r, sums, seen, r->vscores);
    if (v->shadow) {
        v->shadow_scores = r->vscores + r->ncats;
        v->nshadow_scores = rules_decide(r, ssums, sseen,
            r->vscores + r->ncats);
    }
    return 0;
}

size_t
rules_hit_match_len(const struct rules_hit *h, const char *text)
{
    return rules_utf8_cut(text + h->start, h->end - h->start,
        RULES_MATCH_MAX);
}

/*
 * One hit as JSON. Built member by member with jansson's _nocheck calls:
 * ids and categories were checked at load and the match is cleaned, so
 * json_pack's format parsing and UTF-8 checks would only cost time.
 */
static json_t *
rules_hit_json(const struct rules_hit *hit, const char *text)
{
    char clean[RULES_MATCH_MAX * 3 + 1];
    size_t n = rules_utf8_clean(clean, text + hit->start,
        rules_hit_match_len(hit, text));
    json_t *h = json_object();

    if (h == NULL ||
        json_object_set_new_nocheck(h, "rule",
        json_string_nocheck(hit->rule)) == -1 ||
        json_object_set_new_nocheck(h, "category",
        json_string_nocheck(hit->category)) == -1 ||
        json_object_set_new_nocheck(h, "score", json_real(hit->score)) == -1 ||
        json_object_set_new_nocheck(h, "start",
        json_integer((json_int_t)hit->start)) == -1 ||
        json_object_set_new_nocheck(h, "end",
        json_integer((json_int_t)hit->end)) == -1 ||
        json_object_set_new_nocheck(h, "match",
        json_stringn_nocheck(clean, n)) == -1 ||
        (hit->shadow && json_object_set_new_nocheck(h, "shadow",
        json_true()) == -1)) {
        json_decref(h);
        return NULL;
    }
    return h;
}

/* {"categories": [...], "scores": {...}} parts for one set of scores. */
static int
rules_scores_json(const struct rules_score *sc, size_t n, json_t **catsp,
    json_t **scoresp)
{
    json_t *cats = json_array(), *scores = json_object();

    if (cats == NULL || scores == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if (json_object_set_new_nocheck(scores, sc[i].category,
            json_real(sc[i].score)) == -1)
            goto fail;
        if (sc[i].decided && json_array_append_new(cats,
            json_string_nocheck(sc[i].category)) == -1)
            goto fail;
    }
    *catsp = cats;
    *scoresp = scores;
    return 0;
fail:
    json_decref(cats);
    json_decref(scores);
    return -1;
}

json_t *
rules_verdict_json(const struct rules_verdict *v, const char *text)
{
    json_t *res = NULL, *hits = NULL, *cats = NULL, *scores = NULL;
    json_t *scats = NULL, *sscores = NULL, *sh;

    if ((hits = json_array()) == NULL)
        goto fail;
    for (size_t i = 0; i < v->nhits; i++) {
        if (json_array_append_new(hits, rules_hit_json(&v->hits[i],
            text)) == -1)
            goto fail;
    }
    if (rules_scores_json(v->scores, v->nscores, &cats, &scores) == -1)
        goto fail;
    /* json_object_set_new steals its value even when it fails. */
    if ((res = json_object()) == NULL ||
        json_object_set_new_nocheck(res, "lang", v->lang ?
        json_string(v->lang) : json_null()) == -1)
        goto fail;
    /* Each keeps our reference until it is in res: fail drops ours. */
    if (json_object_set_new_nocheck(res, "categories",
        json_incref(cats)) == -1 ||
        json_object_set_new_nocheck(res, "scores", json_incref(scores)) == -1 ||
        json_object_set_new_nocheck(res, "hits", json_incref(hits)) == -1)
        goto fail;
    json_decref(cats);
    json_decref(scores);
    json_decref(hits);
    cats = scores = hits = NULL;
    if (v->shadow) {
        if (rules_scores_json(v->shadow_scores, v->nshadow_scores, &scats,
            &sscores) == -1 || (sh = json_object()) == NULL ||
            json_object_set_new_nocheck(res, "shadow", sh) == -1)
            goto fail;
        if (json_object_set_new_nocheck(sh, "categories",
            json_incref(scats)) == -1 ||
            json_object_set_new_nocheck(sh, "scores",
            json_incref(sscores)) == -1)
            goto fail;
        json_decref(scats);
        json_decref(sscores);
        scats = sscores = NULL;
    }
    return res;
fail:
    json_decref(res);
    json_decref(hits);
    json_decref(cats);
    json_decref(scores);
    json_decref(scats);
    json_decref(sscores);
    return NULL;
}

/*
 * The "categories" and "scores" members for one set of scores, as jsonw
 * writes rules_scores_json's (insertion order, jansson's reals).
 */
static void
rules_scores_write(struct buf *b, const struct rules_score *sc, size_t n)
{
    bool first = true;

    buf_puts(b, "\"categories\":[");
    for (size_t i = 0; i < n; i++) {
        if (!sc[i].decided)
            continue;
        if ((!first && buf_append(b, ",", 1) == -1) ||
            jsonw_str(b, sc[i].category) == -1)
            b->failed = true;
        first = false;
    }
    buf_puts(b, "],\"scores\":{");
    for (size_t i = 0; i < n; i++) {
        if (jsonw_key(b, sc[i].category, i == 0) == -1 ||
            jsonw_real(b, sc[i].score) == -1)
            b->failed = true;
    }
    buf_append(b, "}", 1);
}

/* One hit, as jsonw writes rules_hit_json's object. */
static void
rules_hit_write(struct buf *b, const struct rules_hit *hit, const char *text)
{
    char clean[RULES_MATCH_MAX * 3 + 1];
    size_t n = rules_utf8_clean(clean, text + hit->start,
        rules_hit_match_len(hit, text));

    if (buf_puts(b, "{\"rule\":") == -1 || jsonw_str(b, hit->rule) == -1 ||
        buf_puts(b, ",\"category\":") == -1 ||
        jsonw_str(b, hit->category) == -1 ||
        buf_puts(b, ",\"score\":") == -1 || jsonw_real(b, hit->score) == -1 ||
        buf_puts(b, ",\"start\":") == -1 ||
        jsonw_int(b, (int64_t)hit->start) == -1 ||
        buf_puts(b, ",\"end\":") == -1 ||
        jsonw_int(b, (int64_t)hit->end) == -1 ||
        buf_puts(b, ",\"match\":") == -1 || jsonw_string(b, clean, n) == -1 ||
        (hit->shadow && buf_puts(b, ",\"shadow\":true") == -1) ||
        buf_append(b, "}", 1) == -1)
        b->failed = true;
}

/* rules_verdict_json's object written as jsonw would write it. */
static void
rules_verdict_write(struct buf *b, const struct rules_verdict *v,
    const char *text)
{
    buf_puts(b, "{\"lang\":");
    if (jsonw_str(b, v->lang) == -1 || buf_append(b, ",", 1) == -1)
        b->failed = true;
    rules_scores_write(b, v->scores, v->nscores);
    buf_puts(b, ",\"hits\":[");
    for (size_t i = 0; i < v->nhits; i++) {
        if (i > 0)
            buf_append(b, ",", 1);
        rules_hit_write(b, &v->hits[i], text);
    }
    buf_append(b, "]", 1);
    if (v->shadow) {
        buf_puts(b, ",\"shadow\":{");
        rules_scores_write(b, v->shadow_scores, v->nshadow_scores);
        buf_append(b, "}", 1);
    }
    buf_append(b, "}", 1);
}

struct item_cls *
rules_verdict_cls(const struct rules_verdict *v, const char *text)
{
    struct item_cls_score *sc;
    struct item_cls_hit *h;
    struct item_cls *c = NULL;
    struct buf b;

    buf_init(&b, SIZE_MAX / 2);
    /* Room for the usual verdict at once. */
    buf_reserve(&b, 256 + 64 * v->nscores + 256 * v->nhits);
    rules_verdict_write(&b, v, text);
    if (b.failed || (sc = xmalloc(v->nscores * sizeof(*sc) +
        v->nhits * sizeof(*h) + 1)) == NULL)
        goto out;
    h = (struct item_cls_hit *)(sc + v->nscores);
    for (size_t i = 0; i < v->nscores; i++) {
        sc[i].category = v->scores[i].category;
        sc[i].score = v->scores[i].score;
        sc[i].decided = v->scores[i].decided;
    }
    for (size_t i = 0; i < v->nhits; i++) {
        h[i].rule = v->hits[i].rule;
        h[i].category = v->hits[i].category;
    }
    c = item_cls_new(v->lang, sc, v->nscores, h, v->nhits, b.data, b.len);
    xfree(sc);
out:
    buf_free(&b);
    return c;
}

json_t *
rules_eval(struct rules *r, const struct item *it)
{
    struct rules_verdict v;

    if (rules_classify(r, it, &v) == -1)
        return NULL;
    return rules_verdict_json(&v, item_text(it));
}

/* ------------------------------------------------------------------ */
/* Counters and figures                                                */
/* ------------------------------------------------------------------ */

size_t
rules_count(const struct rules *r)
{
    return r ? r->nenabled : 0;
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
        fn(rule->id, r->cats[rule->category].name, rule->hits +
            rule->shadow_hits, rule->limit_errors, rule->match_ns, arg);
    }
}

void
rules_foreach_stat2(const struct rules *r, rules_stat2_fn *fn, void *arg)
{
    struct rules_stat st;

    if (r == NULL)
        return;
    for (size_t i = 0; i < r->nrules; i++) {
        const struct rules_rule *rule = &r->rules[i];

        if (rule->disabled)
            continue;
        st.id = rule->id;
        st.category = r->cats[rule->category].name;
        st.file = r->files[rule->file].path;
        st.line = rule->line;
        st.shadow = rule->shadow;
        st.prefiltered = rule->kind == RULES_KIND_PATTERN &&
            r->pf != NULL && !rule->always;
        st.hits = rule->hits;
        st.shadow_hits = rule->shadow_hits;
        st.limit_errors = rule->limit_errors;
        st.match_ns = rule->match_ns;
        fn(&st, arg);
    }
}

void
rules_get_info(const struct rules *r, struct rules_info *info)
{
    memset(info, 0, sizeof(*info));
    if (r == NULL)
        return;
    info->rules = r->nenabled;
    info->meta = r->nmeta;
    info->shadow = r->nshadow;
    info->examples = r->nexamples;
    info->nojit = r->nojit;
    info->prefilter = r->use_prefilter && r->pf != NULL;
    info->always_run = r->pf != NULL ? r->nalways :
        r->nenabled - r->nmeta;
    info->prefiltered = r->nenabled - r->nmeta - info->always_run;
    info->atoms = rules_prefilter_atoms(r->pf);
    info->load_ns = r->load_ns;
    info->prefilter_build_ns = r->pf_build_ns;
    info->prefilter_scan_ns = r->pf_scan_ns;
    info->prefilter_scans = r->pf_scans;
    info->candidates = r->pf_cands;
}

int
rules_set_prefilter(struct rules *r, bool on)
{
    if (on && r->pf == NULL)
        return -1;
    r->use_prefilter = on;
    return 0;
}
