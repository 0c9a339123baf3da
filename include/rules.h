/*
 * rules: load rule files (YAML) from the rules directories, compile every
 * pattern once with pcre2 (UTF, UCP, JIT), check each rule's in-file
 * examples, and evaluate an item against them: on the normalized text
 * (include/normalize.h) or, per rule, the raw text, under per-rule
 * conditions and exceptions, with a vectorscan literal prefilter choosing
 * which patterns run. The only module that sees pcre2 and vectorscan.
 * The language is in docs/rules.md.
 *
 * A struct rules is built once per config snapshot and never changes
 * shape afterwards; only its per-rule counters move. Match scratch space
 * (pcre2 match data, JIT stack, normalization and prefilter scratch)
 * lives in it too: the daemon is one thread.
 */
#ifndef INBOXD_RULES_H
#define INBOXD_RULES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct item;
struct item_cls;
struct rules;

/* Resource limits applied to every match (pcre2 match context). */
struct rules_limits {
    uint32_t match_limit;     /* pcre2_set_match_limit; default 100000 */
    uint32_t depth_limit;     /* pcre2_set_depth_limit; default 10000 */
    uint32_t heap_limit_kib;  /* pcre2_set_heap_limit; default 20480 */
};

/*
 * Load every *.yml / *.yaml file of each directory, in name order,
 * directories in the order given (shipped first, then the site's own, which
 * may override or disable shipped rules by id). lim may be NULL for the
 * defaults. Every rule's examples are run; one that fails is an error.
 * On success returns a new rule set. On failure returns NULL and appends
 * one line per problem to errors, each starting "file:line:col: ".
 */
struct rules *rules_load(const char *const *dirs, size_t ndirs,
    const struct rules_limits *lim, struct buf *errors);

void rules_free(struct rules *r);

/* Number of rules loaded (enabled ones). */
size_t rules_count(const struct rules *r);

/*
 * Evaluate an item (borrowed). Returns a new JSON object (see docs/rules.md):
 *   {"lang": "en"|null,
 *    "categories": ["spam", ...],          decided: score >= threshold
 *    "scores": {"spam": 6.0, ...},          every category with a hit
 *    "hits": [{"rule": id, "category": c, "score": s,
 *              "start": byte offset, "end": byte offset, "match": text,
 *              "shadow": true (shadow rules only)}],
 *    "shadow": {"categories": [...], "scores": {...}}  (only when a shadow
 *              rule hit: the decision had shadow rules counted)}
 * Offsets and match are on the item's original text, also for rules that
 * matched the normalized text. Returns NULL only when memory runs out. A
 * rule that hits its match limit counts as no match, is counted, and is
 * logged once per snapshot.
 */
json_t *rules_eval(struct rules *r, const struct item *it);

/*
 * What rules_eval's object says, without building it: for a caller that
 * writes its own output (inboxd classify) or reads only a part. Strings
 * and arrays belong to the rule set and stay valid until its next
 * rules_classify or rules_eval.
 */
struct rules_hit {
    const char *rule;       /* id */
    const char *category;
    double score;
    size_t start;           /* byte offsets in the item's original text */
    size_t end;
    bool shadow;
};

struct rules_score {
    const char *category;
    double score;           /* the sum of the category's hits */
    bool decided;           /* it reached the category's threshold */
};

struct rules_verdict {
    const char *lang;       /* the item's, or the guess; NULL: unknown */
    const struct rules_hit *hits;       /* in rule order */
    size_t nhits;
    const struct rules_score *scores;   /* highest first, then by name */
    size_t nscores;
    bool shadow;            /* a shadow rule hit; then shadow_scores has */
    const struct rules_score *shadow_scores;    /* them counted too */
    size_t nshadow_scores;
};

/* Evaluate an item (borrowed) into v. -1 only when memory runs out. */
int rules_classify(struct rules *r, const struct item *it,
    struct rules_verdict *v);

/* rules_eval's object for a verdict on an item with this text. */
json_t *rules_verdict_json(const struct rules_verdict *v, const char *text);

/*
 * The same classification as the item keeps it (include/item.h): its
 * JSON is what jsonw writes of rules_verdict_json's object, written
 * straight from the verdict. Returns a new item_cls (the item takes
 * it), or NULL when memory runs out.
 */
struct item_cls *rules_verdict_cls(const struct rules_verdict *v,
    const char *text);

/* Bytes of text from h->start that a hit reports as its "match": the
 * span cut to 100 bytes at a character boundary. */
size_t rules_hit_match_len(const struct rules_hit *h, const char *text);

/*
 * Visit per-rule counters, e.g. for /metrics. hits counts every match,
 * shadow ones included (rules_foreach_stat2 tells them apart).
 */
typedef void rules_stat_fn(const char *rule_id, const char *category,
    uint64_t hits, uint64_t limit_errors, uint64_t match_ns, void *arg);
void rules_foreach_stat(const struct rules *r, rules_stat_fn *fn, void *arg);

/* One enabled rule's counters; strings borrowed for the visit only. */
struct rules_stat {
    const char *id;
    const char *category;
    const char *file;
    int line;
    bool shadow;            /* its hits add nothing to scores */
    bool prefiltered;       /* false: its pattern runs on every item */
    uint64_t hits;          /* matches that counted */
    uint64_t shadow_hits;   /* matches of a shadow rule */
    uint64_t limit_errors;  /* matches stopped by a pcre2 limit */
    uint64_t match_ns;      /* time in pcre2, sampled (1 item in 16) */
};
typedef void rules_stat2_fn(const struct rules_stat *st, void *arg);
void rules_foreach_stat2(const struct rules *r, rules_stat2_fn *fn,
    void *arg);

/* Figures about a loaded set, for -n, logs and the benchmark. */
struct rules_info {
    size_t rules;           /* enabled rules (rules_count) */
    size_t meta;            /* of them all:/any: rules */
    size_t shadow;          /* of them in shadow mode */
    size_t examples;        /* examples checked at load */
    size_t nojit;           /* patterns without JIT */
    bool prefilter;         /* a prefilter was built and is in use */
    size_t prefiltered;     /* pattern rules the prefilter can skip */
    size_t always_run;      /* pattern rules that run on every item */
    size_t atoms;           /* distinct literals scanned for */
    uint64_t load_ns;       /* the whole rules_load */
    uint64_t prefilter_build_ns;
    uint64_t prefilter_scan_ns; /* total so far (sampled, 1 in 16) */
    uint64_t prefilter_scans;   /* items the prefilter has seen */
    uint64_t candidates;        /* patterns it let run, in total */
};
void rules_get_info(const struct rules *r, struct rules_info *info);

/*
 * Switch the prefilter off (every pattern runs on every item: the plain
 * loop the prefilter must agree with) or back on. Hits are the same
 * either way. Returns -1 when on is asked and there is no prefilter
 * (built without vectorscan).
 */
int rules_set_prefilter(struct rules *r, bool on);

/*
 * Look for rules that can never match and rules that are slow, for
 * inboxd -n: patterns needing text the normalized form never holds (an
 * uppercase-only or 'ß' literal, a tab, three same letters in a row),
 * longer than their max_length condition, meta rules over disabled
 * rules, and every rule timed on built-in hostile texts (64 KiB of 'a'
 * and the like) reported when over 5 ms or stopped by a match limit.
 * Appends one line per finding to report, "file:line:col: warning: ..."
 * or "...: note: ..." (notes: patterns the prefilter cannot skip, URL
 * patterns on the normalized text). Returns the number of warnings, or
 * -1 when memory runs out. The rules' counters are left as they were.
 */
int rules_check(struct rules *r, struct buf *report);

#endif
