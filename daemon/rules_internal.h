/*
 * rules_internal: the layout of a rule set, shared by the files of the
 * rules module and by nothing else (as libevent's *-internal.h files):
 *
 *   rules_load.c       rule files and directories -> struct rules
 *   rules_rule.c       one rule mapping -> struct rules_rule
 *   rules.c            matching, rules_eval, examples, stats
 *   rules_req.c        what each pattern needs the text to contain
 *   rules_req_parse.c  the pcre2 syntax, read for rules_req.c
 *   rules_prefilter.c  the vectorscan literal scan that picks candidates
 *   rules_check.c      rules_check: impossible and slow rules for -n
 *
 * pcre2 and vectorscan are seen by these files only.
 */
#ifndef INBOXD_RULES_INTERNAL_H
#define INBOXD_RULES_INTERNAL_H

#ifndef PCRE2_CODE_UNIT_WIDTH
#define PCRE2_CODE_UNIT_WIDTH 8
#endif

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <pcre2.h>

#include "buf.h"
#include "normalize.h"
#include "rules.h"

struct item;

#define RULES_MAX_ERRORS 50
#define RULES_ID_MAX 96
#define RULES_CATEGORY_MAX 32
#define RULES_MATCH_MAX 100             /* bytes of matched text in a hit */
#define RULES_DEFAULT_THRESHOLD 1.0
/* Sums of scores like 0.1 + 0.2 must still reach a threshold of 0.3. */
#define RULES_EPSILON 1e-9
/* Match time is measured on one eval in this many (rules_match_re). */
#define RULES_TIME_EVERY 16
/* Languages whose rule files are remembered (rules_classify). */
#define RULES_LANG_CACHE 8

/* Which text a rule reads. */
enum rules_field {
    RULES_FIELD_TEXT = 0,   /* normalize_text(NORM_ALL) of the item text */
    RULES_FIELD_RAW,        /* the item text as written */
};

enum rules_kind {
    RULES_KIND_PATTERN = 0, /* pattern or words */
    RULES_KIND_ALL,         /* meta: every listed rule hit */
    RULES_KIND_ANY,         /* meta: at least one listed rule hit */
};

struct rules_file {
    char *path;
    char *set;
    char *lang;         /* NULL: its rules apply to every language */
    bool shadow;        /* every rule of the file is in shadow mode */
};

struct rules_category {
    char *name;
    double threshold;
    const char *set_in; /* file that set the threshold, NULL: default */
    size_t set_dir;     /* and its directory */
};

/* One compiled regex (an exception or the author-name condition). */
struct rules_re {
    pcre2_code *code;
    bool jit;
};

/* An in-file example: the rule must (or must not) match text. */
struct rules_example {
    char *text;
    size_t len;
    int line;           /* of the example in its file, 1-based */
    int col;
    bool match;
};

/* A meta rule's reference to another rule. */
struct rules_ref {
    char *id;
    size_t idx;         /* resolved index into rules->rules */
    int line;           /* where the id is written */
    int col;
};

/* Error lines of a load, "file:line:col: message", capped. */
struct rules_errs {
    struct buf *buf;    /* may be NULL: count only */
    size_t n;
    bool failed;
};

/* Conditions on the item; a rule runs only when all of them hold. */
struct rules_cond {
    char **platforms;   /* any of; NULL: any platform */
    size_t nplatforms;
    char **accounts;
    size_t naccounts;
    char **author_ids;
    size_t nauthor_ids;
    char **langs;
    size_t nlangs;
    struct rules_re author_name;    /* code NULL: no condition */
    unsigned kinds;     /* bit (1 << enum item_kind); 0: any kind */
    size_t min_length;  /* characters of the original text */
    size_t max_length;  /* 0: no maximum */
    int has_link;       /* -1: either; 0 or 1 */
};

struct rules_rule {
    char *id;
    enum rules_kind kind;
    enum rules_field field;
    pcre2_code *code;   /* pattern rules; NULL for meta rules */
    bool jit;
    char *src;          /* the regex as compiled (words: generated) */
    size_t srclen;
    struct rules_re *unless;        /* exceptions: any match vetoes */
    size_t nunless;
    struct rules_cond *cond;        /* NULL: no conditions */
    struct rules_ref *refs;         /* meta rules */
    size_t nrefs;
    struct rules_example *examples;
    size_t nexamples;
    size_t file;        /* index into rules->files */
    size_t category;    /* index into rules->cats */
    size_t dir;         /* which of the given directories defined it */
    int line;           /* 1-based line of the rule in its file */
    int col;
    double score;
    bool case_sensitive;
    bool disabled;
    bool shadow;
    bool limit_logged;  /* a limit error was logged for this snapshot */
    uint64_t hits;
    uint64_t shadow_hits;
    uint64_t limit_errors;
    uint64_t match_ns;

    /* Prefilter (rules_prefilter.c): always is set when the pattern
     * must run for every item. */
    bool always;
    const char *pf_reason;          /* why always; static string */

    /* Per-eval scratch: matched in eval number hit_gen at [start, end)
     * of the original text. */
    uint32_t hit_gen;
    size_t start;
    size_t end;
};

struct rules_prefilter;

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
    size_t nmeta;
    size_t nshadow;
    size_t nexamples;
    size_t ntext;       /* enabled rules reading the normalized text */

    pcre2_general_context *gctx;
    pcre2_compile_context *cctx;
    pcre2_match_context *mctx;
    pcre2_jit_stack *jstack;
    pcre2_match_data *md;

    struct rules_prefilter *pf;     /* NULL: none built (or no vectorscan) */
    bool use_prefilter;
    uint64_t load_ns;
    uint64_t pf_build_ns;
    uint64_t pf_scan_ns;            /* total time in the literal scan */
    uint64_t pf_scans;
    uint64_t pf_cands;

    /* Per-eval scratch, sized once the set is complete. */
    struct norm_text nt;
    uint32_t gen;       /* eval counter for the *_gen stamps */
    double *sums;
    unsigned char *seen;
    unsigned char *file_ok;         /* files applying to this item */
    /* file_ok for the last RULES_LANG_CACHE languages seen ("" for
     * none): items come in a few languages, often interleaved. */
    unsigned char *file_ok_rows;    /* RULES_LANG_CACHE rows of nfiles */
    char file_ok_lang[RULES_LANG_CACHE][16];
    size_t file_ok_used;            /* rows filled */
    size_t file_ok_next;            /* row to replace next */
    size_t *order;
    size_t *hitlist;    /* pattern rules that hit, in order */
    size_t *cand;       /* prefilter candidates */
    size_t ncand;
    size_t *always_list;            /* enabled pattern rules with always */
    size_t nalways;
    size_t *metas;      /* enabled meta rules, in order */
    struct rules_hit *vhits;        /* rules_classify's answer */
    struct rules_score *vscores;    /* counted, then with shadow hits */
};

/* One eval's view of an item (or of an example text). */
struct rules_subject {
    const char *text;   /* original */
    size_t len;
    const char *norm;   /* normalized; == text when identity */
    size_t norm_len;
    const struct norm_text *nt;     /* NULL: identity mapping */
    const struct item *it;          /* NULL for examples */
    const char *lang;
    size_t nchars;      /* characters of text; SIZE_MAX: not counted */
};

/* The state of one rules_load, shared by rules_load.c and rules_rule.c. */
struct fy_node;
struct fy_mark;

struct rules_loader {
    struct rules *r;
    struct rules_errs errs;
    size_t dir;             /* index of the directory being read */
    const char *path;       /* file being read */
    const char *src;        /* its text */
    size_t srclen;
    size_t file;            /* its index in r->files */
    struct norm_text nt;    /* for normalizing words entries */
};

/* rules_load.c */
void rules_err_at(struct rules_loader *ld, const char *path, int line,
    int col, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void rules_err(struct rules_loader *ld, struct fy_node *fyn,
    struct fy_node *fallback, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
void rules_oom(struct rules_loader *ld);
const struct fy_mark *rules_node_mark(struct fy_node *fyn);
void rules_node_pos(struct fy_node *fyn, struct fy_node *fallback,
    int *line, int *col);
void rules_errs_add(struct rules_errs *e, const char *path, int line,
    int col, const char *fmt, ...) __attribute__((format(printf, 5, 6)));
void rules_errs_vadd(struct rules_errs *e, const char *path, int line,
    int col, const char *fmt, va_list ap)
    __attribute__((format(printf, 5, 0)));

/* rules_rule.c */
void rules_load_rule(struct rules_loader *ld, struct fy_node *map);
void rules_rule_clear(struct rules_rule *rule);
struct rules_rule *rules_find(struct rules *r, const char *id);
int rules_category(struct rules *r, const char *name, size_t len,
    size_t *idx);
const char *rules_scalar(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, size_t *len);
int rules_scalar_number(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, double *out);
int rules_scalar_bool(struct rules_loader *ld, struct fy_node *key,
    struct fy_node *v, const char *what, bool *out);
const char *rules_key(struct rules_loader *ld, struct fy_node *k,
    struct fy_node *map, size_t *len);
bool rules_key_is(const char *k, size_t klen, const char *name);
bool rules_valid_chars(const char *s, size_t len, size_t max,
    const char *extra);
bool rules_ok_lang(const char *s, size_t len);

int rules_match_re(struct rules *r, struct rules_rule *rule,
    const struct rules_re *re, const char *s, size_t len, size_t *start,
    size_t *end, const char *item_id);
int rules_match_rule(struct rules *r, struct rules_rule *rule,
    const struct rules_subject *sj, size_t *start, size_t *end,
    const char *item_id);
int rules_subject_text(struct rules *r, struct rules_subject *sj,
    const char *text, size_t len);
int rules_check_examples(struct rules *r, struct rules_errs *errs,
    bool metas);

/*
 * rules_req.c. A rule's requirement: a monotone formula over
 * literals ("atoms", case-folded by rules_fold) of which the text must
 * hold enough for the pattern to have any chance, as a postfix program:
 * each op is (arg << 2) | RULES_REQ_ATOM (push: atom arg occurs),
 * RULES_REQ_AND or RULES_REQ_OR (pop arg values, push all/any). No ops:
 * no requirement (the rule must always run).
 */
#define RULES_REQ_ATOM 0u
#define RULES_REQ_AND 1u
#define RULES_REQ_OR 2u

/*
 * An atom may begin and end with the byte RULES_REQ_EDGE, a word edge:
 * the character next to the atom on that side, if any, is not a word
 * character (so "\xffok\xff" is "ok" as a whole word). Only short atoms
 * carry them; rules_atom_edges_ok checks them where the literal was found.
 */
#define RULES_REQ_EDGE 0xffu

struct rules_req {
    uint32_t *ops;
    size_t nops;
    char **atoms;
    size_t *alens;
    size_t natoms;
};

int rules_req_build(const char *src, size_t len, uint32_t capture_count,
    struct rules_req *out, const char **why);
void rules_req_free(struct rules_req *q);
typedef bool rules_atom_fn(const char *atom, size_t len, void *arg);
/* An atom's literal (*core, returned length) and its edge marks. */
size_t rules_atom_core(const char *atom, size_t len, const char **core,
    bool *left, bool *right);
/* Do the characters around text[from, to) meet the edge marks? */
bool rules_atom_edges_ok(const char *text, size_t len, size_t from,
    size_t to, bool left, bool right);
/* Does the (folded) text hold the atom, edge marks met? */
bool rules_atom_in(const char *text, size_t len, const char *atom,
    size_t alen);
bool rules_req_eval(const struct rules_req *q, rules_atom_fn *fn,
    void *arg);
/*
 * The case fold the prefilter compares in (rules_req.c): every code point
 * to the lowercase of its uppercase, so what pcre2 matches caselessly
 * folds alike. rules_fold_into writes at most 2 * len bytes to dst;
 * table (may be NULL) holds rules_fold_table's folds of U+0000..U+07FF.
 */
#define RULES_FOLD_TABLE 0x800
int rules_fold(const char *s, size_t len, struct buf *out);
size_t rules_fold_into(char *dst, const char *s, size_t len,
    const uint32_t *table);
void rules_fold_table(uint32_t *t);

int rules_prefilter_build(struct rules *r);
void rules_prefilter_free(struct rules_prefilter *pf);
int rules_prefilter_scan(struct rules *r, const struct rules_subject *sj);
size_t rules_prefilter_atoms(const struct rules_prefilter *pf);
bool rules_prefilter_available(void);

#endif
