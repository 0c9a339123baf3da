/*
 * rules: load rule files (YAML) from the rules directories, compile every
 * pattern once with pcre2 (UTF, UCP, JIT), and evaluate an item against
 * them. The only module that sees pcre2.
 *
 * A struct rules is built once per config snapshot and never changes
 * shape afterwards; only its per-rule counters move. Match scratch space
 * (pcre2 match data, JIT stack) lives in it too: the daemon is one thread.
 */
#ifndef INBOXD_RULES_H
#define INBOXD_RULES_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct item;
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
 * defaults. On success returns a new rule set. On failure returns NULL and
 * appends one line per problem to errors, each starting "file:line:col: ".
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
 *              "start": byte offset, "end": byte offset, "match": text}]}
 * Returns NULL only when memory runs out. A rule that hits its match limit
 * counts as no match, is counted, and is logged once per snapshot.
 */
json_t *rules_eval(struct rules *r, const struct item *it);

/* Visit per-rule counters, e.g. for /metrics. */
typedef void rules_stat_fn(const char *rule_id, const char *category,
    uint64_t hits, uint64_t limit_errors, uint64_t match_ns, void *arg);
void rules_foreach_stat(const struct rules *r, rules_stat_fn *fn, void *arg);

#endif
