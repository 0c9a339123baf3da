/*
 * rules_prefilter: choose, for each item, the few patterns that can match
 * it, so that pcre2 runs on those only. The hits must be exactly the ones
 * of running every pattern (tests/unit/rules_diff_test.c checks that), so
 * everything here errs on the side of "may match".
 *
 * At load, each enabled pattern rule gets its requirement from
 * rules_req.c: a formula over literals ("atoms") a match must contain.
 * Rules without one are "always run". The atoms of the rules reading the
 * normalized text go into one vectorscan literal database, those of
 * field: raw rules into another (hs_compile_lit_multi).
 *
 * Per item, one literal scan over the case-folded normalized text (and
 * one over the folded raw text when raw rules exist) reports which atoms
 * occur; the rules keyed by those atoms have their requirement evaluated,
 * and the rules whose requirement holds, with the always-run ones, are
 * the candidates, in rule order.
 *
 * Why literals and not vectorscan's own regex prefilter mode
 * (HS_FLAG_PREFILTER): compiling the 191 shipped patterns that way took
 * 250 s with HS_FLAG_UCP (31 s for one of them) and 20 s without, far
 * over a reload's budget; the literal databases for 1,000 rules compile
 * in well under a second (docs/performance.md).
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#ifdef INBOXD_HAVE_HS
#include <hs.h>
#endif

#include "alloc.h"
#include "log.h"
#include "rules_internal.h"
#include "util.h"

/* ------------------------------------------------------------------ */
/* The prefilter                                                       */
/* ------------------------------------------------------------------ */

#ifdef INBOXD_HAVE_HS

/* The atoms of one field's rules and their literal database. */
struct rules_pf_side {
    char **atoms;
    size_t *alens;
    size_t natoms;
    size_t acap;
    uint32_t *hash;             /* open addressing: atom id + 1, 0 empty */
    size_t hcap;
    uint32_t *arule_off;        /* atom -> rules using it (CSR) */
    uint32_t *arules;
    uint32_t *arule_node;       /* and the part of the rule's program to
                                 * evaluate when the atom is seen */
    uint32_t *atom_gen;         /* atom seen in scan number gen */
    uint32_t *hits;             /* atoms seen in this scan */
    size_t nhits;
    unsigned char *edges;       /* per atom: 1 left, 2 right edge mark */
    uint32_t *corelen;          /* per atom: bytes of its literal */
};

/*
 * What the scan callback needs. One scan covers both texts: the folded
 * normalized text, then (when raw rules exist and it differs) a 0xff
 * byte, which no literal holds, and the folded raw text.
 */
struct rules_pf_scan {
    struct rules_prefilter *pf;
    const char *text;           /* text[0, norm_len): normalized */
    size_t norm_len;
    size_t raw_off;             /* text[raw_off, raw_off + raw_len): raw */
    size_t raw_len;
    uint32_t gen;
};

/*
 * A rule's requirement in the prefilter: prefix form, each node two
 * words, (arg << 2 | op) and the size of its subtree in nodes, so that an
 * AND can stop at its first false term and an OR at its first true one.
 */
struct rules_pf_rule {
    uint32_t gen;               /* a candidate of scan number gen */
    uint32_t off;               /* first node in prog (in words) */
    uint32_t koff;              /* its key atoms in keys */
    uint32_t nkeys;
    bool any;                   /* an atom or an OR of atoms: any hit */
};

struct rules_prefilter {
    struct rules_pf_side side[2];   /* by enum rules_field */
    /*
     * The literals scanned for: each distinct one once, whatever the
     * side and edge marks of the atoms that have it ("is", "\xffis\xff"
     * and a raw rule's "is" are one literal, reported once per place).
     * lit_var lists a literal's atoms (text atoms by id, raw atoms by
     * id plus the number of text atoms), CSR by lit_off.
     */
    hs_database_t *db;
    uint32_t *lit_off;
    uint32_t *lit_var;
    size_t nlits;
    struct rules_pf_rule *rinfo;    /* by rule index */
    uint32_t *prog;
    size_t nprog;
    size_t progcap;
    uint32_t *keys;             /* every rule's key atoms */
    uint32_t *keynode;          /* each key's disjunct (offset in prog) */
    size_t nkeys;
    size_t keycap;
    hs_scratch_t *scratch;
    char *fold;                 /* folded text */
    size_t foldcap;
    size_t *tmp;                /* candidates before the merge */
    uint32_t gen;
    uint32_t fold_table[RULES_FOLD_TABLE];
};

/* vectorscan allocates through our wrappers too (tests fail them). */
static void *
rules_pf_hs_malloc(size_t n)
{
    return xmalloc(n);
}

static void
rules_pf_hs_free(void *p)
{
    xfree(p);
}

bool
rules_prefilter_available(void)
{
    return true;
}

static uint32_t
rules_pf_hash(const char *s, size_t len)
{
    uint32_t h = 2166136261u;

    for (size_t i = 0; i < len; i++)
        h = (h ^ (unsigned char)s[i]) * 16777619u;
    return h;
}

/* The id of an atom on a side, added if new; -1 when memory runs out. */
static int64_t
rules_pf_intern(struct rules_pf_side *sd, const char *s, size_t len)
{
    size_t i;

    if (sd->natoms * 2 >= sd->hcap) {
        size_t cap = sd->hcap ? sd->hcap * 2 : 1024;
        uint32_t *h = xcalloc(cap, sizeof(*h));

        if (h == NULL)
            return -1;
        for (size_t k = 0; k < sd->natoms; k++) {
            i = rules_pf_hash(sd->atoms[k], sd->alens[k]) & (cap - 1);
            while (h[i] != 0)
                i = (i + 1) & (cap - 1);
            h[i] = (uint32_t)k + 1;
        }
        xfree(sd->hash);
        sd->hash = h;
        sd->hcap = cap;
    }
    i = rules_pf_hash(s, len) & (sd->hcap - 1);
    while (sd->hash[i] != 0) {
        uint32_t id = sd->hash[i] - 1;

        if (sd->alens[id] == len && memcmp(sd->atoms[id], s, len) == 0)
            return id;
        i = (i + 1) & (sd->hcap - 1);
    }
    if (sd->natoms == sd->acap) {
        size_t cap = sd->acap ? sd->acap * 2 : 256;
        char **a = xrealloc(sd->atoms, cap * sizeof(*a));
        size_t *l;

        if (a == NULL)
            return -1;
        sd->atoms = a;
        if ((l = xrealloc(sd->alens, cap * sizeof(*l))) == NULL)
            return -1;
        sd->alens = l;
        sd->acap = cap;
    }
    if ((sd->atoms[sd->natoms] = xmalloc(len + 1)) == NULL)
        return -1;
    memcpy(sd->atoms[sd->natoms], s, len);
    sd->atoms[sd->natoms][len] = '\0';
    sd->alens[sd->natoms] = len;
    sd->hash[i] = (uint32_t)sd->natoms + 1;
    return (int64_t)sd->natoms++;
}

static void
rules_pf_side_free(struct rules_pf_side *sd)
{
    for (size_t i = 0; i < sd->natoms; i++)
        xfree(sd->atoms[i]);
    xfree(sd->atoms);
    xfree(sd->alens);
    xfree(sd->hash);
    xfree(sd->arule_off);
    xfree(sd->arules);
    xfree(sd->arule_node);
    xfree(sd->atom_gen);
    xfree(sd->hits);
    xfree(sd->edges);
    xfree(sd->corelen);
}

void
rules_prefilter_free(struct rules_prefilter *pf)
{
    if (pf == NULL)
        return;
    for (size_t s = 0; s < 2; s++)
        rules_pf_side_free(&pf->side[s]);
    if (pf->db != NULL)
        hs_free_database(pf->db);
    xfree(pf->lit_off);
    xfree(pf->lit_var);
    xfree(pf->prog);
    xfree(pf->keys);
    xfree(pf->keynode);
    xfree(pf->rinfo);
    if (pf->scratch != NULL)
        hs_free_scratch(pf->scratch);
    xfree(pf->fold);
    xfree(pf->tmp);
    xfree(pf);
}

size_t
rules_prefilter_atoms(const struct rules_prefilter *pf)
{
    return pf ? pf->nlits : 0;
}

/* Does the folded text (arg) hold the atom? For the self-check. */
static bool
rules_pf_atom_in_cb(const char *atom, size_t len, void *arg)
{
    const struct buf *b = arg;

    return rules_atom_in(b->data, b->len, atom, len);
}

/*
 * A requirement must let every "match" example through: those matched
 * at load. One that does not is a bug in the analysis; the rule then
 * runs always rather than miss. Returns -1 when memory runs out.
 */
static int
rules_pf_selfcheck(struct rules *r, struct rules_rule *rule,
    const struct rules_req *q, bool *ok)
{
    struct rules_subject sj;
    struct buf b;
    int rc = 0;

    *ok = true;
    buf_init(&b, 4 * RULES_MATCH_MAX + (256u << 10));
    for (size_t i = 0; i < rule->nexamples && *ok; i++) {
        const struct rules_example *ex = &rule->examples[i];

        if (!ex->match)
            continue;
        if (rules_subject_text(r, &sj, ex->text, ex->len) == -1) {
            rc = -1;
            break;
        }
        buf_reset(&b);
        if (rules_fold(rule->field == RULES_FIELD_TEXT ? sj.norm : sj.text,
            rule->field == RULES_FIELD_TEXT ? sj.norm_len : sj.len,
            &b) == -1) {
            rc = -1;
            break;
        }
        *ok = rules_req_eval(q, rules_pf_atom_in_cb, &b);
    }
    buf_free(&b);
    return rc;
}

/*
 * Emit the postfix subtree rooted at root in prefix form at out + *o,
 * atoms renumbered to the side's ids. size[] holds postfix subtree
 * sizes. Terms come out in reverse order, which AND and OR do not mind.
 */
static int
rules_pf_prefix(struct rules_pf_side *sd, const struct rules_req *q,
    const uint32_t *size, size_t root, uint32_t *out, size_t *o)
{
    uint32_t op = q->ops[root];
    size_t at = *o, kid = root;

    *o += 2;
    if ((op & 3) == RULES_REQ_ATOM) {
        int64_t id = rules_pf_intern(sd, q->atoms[op >> 2],
            q->alens[op >> 2]);

        if (id < 0)
            return -1;
        op = (uint32_t)id << 2 | RULES_REQ_ATOM;
    } else {
        for (uint32_t k = 0; k < op >> 2; k++) {
            kid--;
            if (rules_pf_prefix(sd, q, size, kid, out, o) == -1)
                return -1;
            kid -= size[kid] - 1;
        }
    }
    out[at] = op;
    out[at + 1] = size[root];
    return 0;
}

/*
 * Key atoms. Evaluating every requirement that mentions an atom seen in
 * the text costs too much when common atoms ("the", "you") appear in
 * hundreds of them. So each rule is listed under its key atoms only: its
 * requirement with every AND reduced to the one term whose atoms are
 * longest (likely the rarest). A requirement holds only if one of its
 * keys occurs, so a rule none of whose keys occur is skipped unseen; the
 * full requirement is then evaluated for the few that remain.
 */
static void
rules_pf_key_score(const struct rules_pf_side *sd, const uint32_t *p,
    size_t *minlen, size_t *count)
{
    uint32_t op = p[0], n = op >> 2;

    if ((op & 3) == RULES_REQ_ATOM) {
        *minlen = sd->alens[n];
        *count = 1;
        return;
    }
    *minlen = (op & 3) == RULES_REQ_AND ? 0 : SIZE_MAX;
    *count = 0;
    p += 2;
    for (uint32_t k = 0; k < n; k++, p += 2 * p[1]) {
        size_t ml, c;

        rules_pf_key_score(sd, p, &ml, &c);
        if ((op & 3) == RULES_REQ_OR) {
            *minlen = ml < *minlen ? ml : *minlen;
            *count += c;
        } else if (ml > *minlen || (ml == *minlen && c < *count)) {
            *minlen = ml;
            *count = c;
        }
    }
}

/*
 * Key atoms of the subformula at p, each with dnode: the disjunct of the
 * rule's requirement it belongs to, which is all that needs evaluating
 * when the key is seen (the requirement holds only if one of its
 * disjuncts does, and a true disjunct has a key in the text).
 */
static int
rules_pf_key_emit(struct rules_prefilter *pf, const struct rules_pf_side *sd,
    const uint32_t *p, uint32_t dnode)
{
    uint32_t op = p[0], n = op >> 2;
    const uint32_t *best = NULL;
    size_t bml = 0, bc = 0;

    if ((op & 3) == RULES_REQ_ATOM) {
        if (pf->nkeys == pf->keycap) {
            size_t cap = pf->keycap ? pf->keycap * 2 : 1024;
            uint32_t *k = xrealloc(pf->keys, cap * sizeof(*k)), *d;

            if (k == NULL)
                return -1;
            pf->keys = k;
            if ((d = xrealloc(pf->keynode, cap * sizeof(*d))) == NULL)
                return -1;
            pf->keynode = d;
            pf->keycap = cap;
        }
        pf->keynode[pf->nkeys] = dnode;
        pf->keys[pf->nkeys++] = n;
        return 0;
    }
    p += 2;
    for (uint32_t k = 0; k < n; k++, p += 2 * p[1]) {
        size_t ml, c;

        if ((op & 3) == RULES_REQ_OR) {
            if (rules_pf_key_emit(pf, sd, p, dnode) == -1)
                return -1;
            continue;
        }
        rules_pf_key_score(sd, p, &ml, &c);
        if (best == NULL || ml > bml || (ml == bml && c < bc)) {
            best = p;
            bml = ml;
            bc = c;
        }
    }
    return best != NULL ? rules_pf_key_emit(pf, sd, best, dnode) : 0;
}

/* The keys of a whole requirement (at prog + off), by disjunct. */
static int
rules_pf_keys(struct rules_prefilter *pf, const struct rules_pf_side *sd,
    uint32_t off)
{
    const uint32_t *p = pf->prog + off;
    uint32_t op = p[0];

    if ((op & 3) != RULES_REQ_OR)
        return rules_pf_key_emit(pf, sd, p, off);
    off += 2;
    for (uint32_t k = 0; k < op >> 2; k++, off += 2 * pf->prog[off + 1]) {
        if (rules_pf_key_emit(pf, sd, pf->prog + off, off) == -1)
            return -1;
    }
    return 0;
}

/* One rule: analyse, check, and append its program. */
static int
rules_pf_add_rule(struct rules *r, struct rules_prefilter *pf,
    struct rules_rule *rule)
{
    struct rules_pf_side *sd = &pf->side[rule->field];
    struct rules_pf_rule *ri = &pf->rinfo[rule - r->rules];
    struct rules_req q;
    uint32_t ncap = 0, *size = NULL, *stack = NULL;
    size_t sp = 0, o;
    const char *why;
    bool ok;
    int rc = -1;

    rule->always = true;
    pcre2_pattern_info(rule->code, PCRE2_INFO_CAPTURECOUNT, &ncap);
    if (rules_req_build(rule->src, rule->srclen, ncap, &q, &why) == -1)
        return -1;
    if (q.nops == 0) {
        rule->pf_reason = why;
        return 0;
    }
    if (rules_pf_selfcheck(r, rule, &q, &ok) == -1)
        goto out;
    if (!ok) {
        log_warnx("rule %s (%s:%d): the prefilter's analysis of its "
            "pattern rejects one of its match examples; the rule runs on "
            "every item (please report this)", rule->id,
            r->files[rule->file].path, rule->line);
        rule->pf_reason = "the prefilter's analysis failed its self-check";
        rc = 0;
        goto out;
    }
    if (pf->nprog + 2 * q.nops > pf->progcap) {
        size_t cap = pf->progcap ? pf->progcap : 4096;
        uint32_t *p;

        while (cap < pf->nprog + 2 * q.nops)
            cap *= 2;
        if ((p = xrealloc(pf->prog, cap * sizeof(*p))) == NULL)
            goto out;
        pf->prog = p;
        pf->progcap = cap;
    }
    /* Subtree sizes of the postfix program, then the prefix form. */
    if ((size = xcalloc(q.nops, sizeof(*size))) == NULL ||
        (stack = xcalloc(q.nops, sizeof(*stack))) == NULL)
        goto out;
    for (size_t i = 0; i < q.nops; i++) {
        size[i] = 1;
        for (uint32_t k = 0; (q.ops[i] & 3) != RULES_REQ_ATOM &&
            k < q.ops[i] >> 2; k++)
            size[i] += size[stack[--sp]];
        stack[sp++] = (uint32_t)i;
    }
    o = pf->nprog;
    if (rules_pf_prefix(sd, &q, size, q.nops - 1, pf->prog, &o) == -1)
        goto out;
    ri->off = (uint32_t)pf->nprog;
    ri->any = (q.ops[q.nops - 1] & 3) == RULES_REQ_ATOM ||
        ((q.ops[q.nops - 1] & 3) == RULES_REQ_OR &&
        (q.ops[q.nops - 1] >> 2) + 1 == q.nops);
    pf->nprog = o;
    ri->koff = (uint32_t)pf->nkeys;
    if (rules_pf_keys(pf, sd, ri->off) == -1)
        goto out;
    ri->nkeys = (uint32_t)(pf->nkeys - ri->koff);
    rule->always = false;
    rule->pf_reason = NULL;
    rc = 0;
out:
    xfree(size);
    xfree(stack);
    rules_req_free(&q);
    return rc;
}

/* Atom -> rules lists of one side, and its atoms' literals and edges.
 * Returns -1 when memory runs out. */
static int
rules_pf_side_build(struct rules *r, struct rules_prefilter *pf,
    enum rules_field field)
{
    struct rules_pf_side *sd = &pf->side[field];
    uint32_t *fill = NULL;
    int rc = -1;

    if (sd->natoms == 0)
        return 0;
    if ((sd->arule_off = xcalloc(sd->natoms + 1, sizeof(uint32_t))) ==
        NULL || (sd->atom_gen = xcalloc(sd->natoms, sizeof(uint32_t))) ==
        NULL || (sd->hits = xcalloc(sd->natoms, sizeof(uint32_t))) == NULL ||
        (sd->edges = xcalloc(sd->natoms, 1)) == NULL ||
        (sd->corelen = xcalloc(sd->natoms, sizeof(uint32_t))) == NULL ||
        (fill = xcalloc(sd->natoms + 1, sizeof(uint32_t))) == NULL)
        goto out;
    /* Two passes over the key atoms: count, then fill. An atom that is
     * a key twice in one rule is listed twice, once per disjunct. */
    for (int pass = 0; pass < 2; pass++) {
        for (size_t i = 0; i < r->nrules; i++) {
            const struct rules_rule *rule = &r->rules[i];

            const struct rules_pf_rule *ri = &pf->rinfo[i];

            if (rule->disabled || rule->kind != RULES_KIND_PATTERN ||
                rule->always || rule->field != field)
                continue;
            for (uint32_t k = 0; k < ri->nkeys; k++) {
                uint32_t a = pf->keys[ri->koff + k];

                if (pass == 0) {
                    sd->arule_off[a + 1]++;
                    continue;
                }
                sd->arule_node[sd->arule_off[a] + fill[a]] =
                    pf->keynode[ri->koff + k];
                sd->arules[sd->arule_off[a] + fill[a]++] = (uint32_t)i;
            }
        }
        if (pass == 0) {
            for (size_t a = 0; a < sd->natoms; a++)
                sd->arule_off[a + 1] += sd->arule_off[a];
            if ((sd->arules = xcalloc(sd->arule_off[sd->natoms] + 1,
                sizeof(uint32_t))) == NULL ||
                (sd->arule_node = xcalloc(sd->arule_off[sd->natoms] + 1,
                sizeof(uint32_t))) == NULL)
                goto out;
        }
    }
    for (size_t a = 0; a < sd->natoms; a++) {
        const char *core;
        bool left, right;

        sd->corelen[a] = (uint32_t)rules_atom_core(sd->atoms[a],
            sd->alens[a], &core, &left, &right);
        sd->edges[a] = (unsigned char)(left | right << 1);
    }
    rc = 0;
out:
    xfree(fill);
    return rc;
}

/*
 * The literal database of both sides' atoms, each distinct literal once.
 * Returns 0, -1 when memory runs out, 1 when vectorscan refused the
 * literals.
 */
static int
rules_pf_db_build(struct rules_prefilter *pf)
{
    size_t n0 = pf->side[0].natoms, n = n0 + pf->side[1].natoms;
    size_t hcap = 16, nl = 0;
    hs_compile_error_t *err = NULL;
    unsigned *flags = NULL, *ids = NULL;
    const char **cores = NULL;
    size_t *clens = NULL;
    uint32_t *lit_of = NULL, *hash = NULL, *fill = NULL;
    int rc = -1;

    if (n == 0)
        return 0;
    while (hcap < 2 * n)
        hcap *= 2;
    if ((flags = xcalloc(n, sizeof(*flags))) == NULL ||
        (ids = xcalloc(n, sizeof(*ids))) == NULL ||
        (cores = xcalloc(n, sizeof(*cores))) == NULL ||
        (clens = xcalloc(n, sizeof(*clens))) == NULL ||
        (lit_of = xcalloc(n, sizeof(*lit_of))) == NULL ||
        (hash = xcalloc(hcap, sizeof(*hash))) == NULL ||
        (fill = xcalloc(n + 1, sizeof(*fill))) == NULL ||
        (pf->lit_off = xcalloc(n + 1, sizeof(*pf->lit_off))) == NULL ||
        (pf->lit_var = xcalloc(n, sizeof(*pf->lit_var))) == NULL)
        goto out;
    /*
     * A literal is reported once per scan (HS_FLAG_SINGLEMATCH) when
     * that is enough for all its atoms: text atoms without edge marks.
     * One with edge marks is reported at every place it occurs, until
     * one has the edges it needs; so is a raw rule's, whose first place
     * may be in the normalized text, before the raw one in the buffer.
     */
    for (size_t i = 0; i < n; i++) {
        const struct rules_pf_side *sd = &pf->side[i >= n0];
        size_t a = i >= n0 ? i - n0 : i, h;
        const char *core;
        bool left, right;
        size_t len = rules_atom_core(sd->atoms[a], sd->alens[a], &core,
            &left, &right);

        for (h = rules_pf_hash(core, len) & (hcap - 1); hash[h] != 0;
            h = (h + 1) & (hcap - 1)) {
            uint32_t l = hash[h] - 1;

            if (clens[l] == len && memcmp(cores[l], core, len) == 0)
                break;
        }
        if (hash[h] == 0) {
            cores[nl] = core;
            clens[nl] = len;
            flags[nl] = HS_FLAG_SINGLEMATCH;
            ids[nl] = (unsigned)nl;
            hash[h] = (uint32_t)++nl;
        }
        lit_of[i] = hash[h] - 1;
        if (sd->edges[a] || i >= n0)
            flags[lit_of[i]] = 0;
        pf->lit_off[lit_of[i] + 1]++;
    }
    for (size_t l = 0; l < nl; l++)
        pf->lit_off[l + 1] += pf->lit_off[l];
    for (size_t i = 0; i < n; i++)
        pf->lit_var[pf->lit_off[lit_of[i]] + fill[lit_of[i]]++] =
            (uint32_t)i;
    pf->nlits = nl;
    if (hs_compile_lit_multi(cores, flags, ids, clens, (unsigned)nl,
        HS_MODE_BLOCK, NULL, &pf->db, &err) != HS_SUCCESS) {
        log_warnx("vectorscan: %s; classifying without the prefilter",
            err && err->message ? err->message : "compile failed");
        hs_free_compile_error(err);
        pf->db = NULL;
        rc = 1;
        goto out;
    }
    if (hs_alloc_scratch(pf->db, &pf->scratch) != HS_SUCCESS)
        goto out;
    rc = 0;
out:
    xfree(flags);
    xfree(ids);
    xfree(cores);
    xfree(clens);
    xfree(lit_of);
    xfree(hash);
    xfree(fill);
    return rc;
}

/*
 * Analyse every enabled pattern rule and build the databases. Without a
 * prefilter (vectorscan refused the literals) every pattern runs; -1
 * only when memory runs out.
 */
int
rules_prefilter_build(struct rules *r)
{
    struct rules_prefilter *pf;
    uint64_t t0 = util_mono_ns();
    int rc = -1, d;

    hs_set_allocator(rules_pf_hs_malloc, rules_pf_hs_free);
    r->nalways = 0;
    if ((pf = xcalloc(1, sizeof(*pf))) == NULL ||
        (pf->rinfo = xcalloc(r->nrules + 1, sizeof(*pf->rinfo))) == NULL) {
        xfree(pf);
        return -1;
    }
    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];

        if (rule->disabled || rule->kind != RULES_KIND_PATTERN)
            continue;
        if (rules_pf_add_rule(r, pf, rule) == -1)
            goto fail;
        if (rule->always)
            r->always_list[r->nalways++] = i;
    }
    if (rules_pf_side_build(r, pf, RULES_FIELD_TEXT) == -1 ||
        rules_pf_side_build(r, pf, RULES_FIELD_RAW) == -1 ||
        (d = rules_pf_db_build(pf)) == -1)
        goto fail;
    if (d == 1) {
        rc = 0;
        goto fail;
    }
    if ((pf->tmp = xcalloc(r->nrules + 1, sizeof(*pf->tmp))) == NULL)
        goto fail;
    rules_fold_table(pf->fold_table);
    r->pf = pf;
    r->use_prefilter = true;
    r->pf_build_ns = util_mono_ns() - t0;
    return 0;
fail:
    rules_prefilter_free(pf);
    /* A vectorscan failure is not the end: run every pattern. */
    r->nalways = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];

        rule->always = true;
        rule->pf_reason = "vectorscan refused the literals";
        if (!rule->disabled && rule->kind == RULES_KIND_PATTERN)
            r->always_list[r->nalways++] = i;
    }
    return rc;
}

/* One atom (a variant of the literal found) at end in the scanned text. */
static void
rules_pf_match_atom(struct rules_pf_scan *sc, uint32_t var, size_t end)
{
    size_t n0 = sc->pf->side[0].natoms;
    struct rules_pf_side *sd = &sc->pf->side[var >= n0];
    uint32_t id = var >= n0 ? var - (uint32_t)n0 : var;
    const char *text = sc->text;
    size_t len = sc->norm_len, start;

    if (sd->atom_gen[id] == sc->gen)
        return;
    if (var >= n0) {
        if (end < sc->raw_off + sd->corelen[id])
            return;         /* in the normalized text */
        text += sc->raw_off;
        len = sc->raw_len;
        end -= sc->raw_off;
    } else if (end > len) {
        return;             /* in the raw text */
    }
    start = end - sd->corelen[id];
    if (sd->edges[id] && !rules_atom_edges_ok(text, len, start, end,
        sd->edges[id] & 1, sd->edges[id] & 2))
        return;
    sd->atom_gen[id] = sc->gen;
    sd->hits[sd->nhits++] = id;
}

static int
rules_pf_match_cb(unsigned id, unsigned long long from,
    unsigned long long to, unsigned flags, void *arg)
{
    struct rules_pf_scan *sc = arg;
    const struct rules_prefilter *pf = sc->pf;

    (void)from;     /* not reported without HS_FLAG_SOM_LEFTMOST */
    (void)flags;
    for (uint32_t k = pf->lit_off[id]; k < pf->lit_off[id + 1]; k++)
        rules_pf_match_atom(sc, pf->lit_var[k], (size_t)to);
    return 0;
}

/* Does the requirement at node p hold, given the atoms of this scan? */
static bool
rules_pf_eval(const uint32_t *p, const struct rules_pf_side *sd,
    uint32_t gen)
{
    uint32_t op = p[0], n = op >> 2;
    bool is_and;

    if ((op & 3) == RULES_REQ_ATOM)
        return sd->atom_gen[n] == gen;
    is_and = (op & 3) == RULES_REQ_AND;
    p += 2;
    for (uint32_t k = 0; k < n; k++) {
        /* Atoms inline: most terms are atoms. */
        bool v = (p[0] & 3) == RULES_REQ_ATOM ?
            sd->atom_gen[p[0] >> 2] == gen : rules_pf_eval(p, sd, gen);

        if (v != is_and)
            return !is_and;
        p += 2 * p[1];
    }
    return is_and;
}

static int
rules_pf_cmp(const void *a, const void *b)
{
    size_t x = *(const size_t *)a, y = *(const size_t *)b;

    return x < y ? -1 : x > y;
}

/* One side's candidates, from the atoms the scan found, to pf->tmp. */
static void
rules_pf_side_cands(struct rules_prefilter *pf, enum rules_field field,
    size_t *ntmp)
{
    struct rules_pf_side *sd = &pf->side[field];

    for (size_t h = 0; h < sd->nhits; h++) {
        uint32_t a = sd->hits[h];

        for (uint32_t k = sd->arule_off[a]; k < sd->arule_off[a + 1]; k++) {
            struct rules_pf_rule *ri = &pf->rinfo[sd->arules[k]];

            /* gen: already a candidate. Else only the key's disjunct. */
            if (ri->gen == pf->gen)
                continue;
            if (ri->any || rules_pf_eval(pf->prog + sd->arule_node[k], sd,
                pf->gen)) {
                ri->gen = pf->gen;
                pf->tmp[(*ntmp)++] = sd->arules[k];
            }
        }
    }
}

/*
 * Fold the subject's texts into one buffer and scan it once. The raw
 * text is only needed for raw rules, and only once when its fold is the
 * normalized text's (a text normalization leaves as it is). Returns -1
 * when memory runs out or the scan fails.
 */
static int
rules_pf_scan_texts(struct rules_prefilter *pf, const struct rules_subject *sj)
{
    bool want_norm = pf->side[0].natoms > 0 && sj->norm_len > 0;
    bool want_raw = pf->side[1].natoms > 0 && sj->len > 0;
    size_t need = 2 * sj->norm_len + 2 * sj->len + 2, n = 0, raw;
    struct rules_pf_scan sc = { pf, NULL, 0, 0, 0, pf->gen };

    pf->side[0].nhits = pf->side[1].nhits = 0;
    if (!want_norm && !want_raw)
        return 0;
    if (need > pf->foldcap) {
        char *f = xrealloc(pf->fold, need);

        if (f == NULL)
            return -1;
        pf->fold = f;
        pf->foldcap = need;
    }
    if (want_norm)
        n = rules_fold_into(pf->fold, sj->norm, sj->norm_len,
            pf->fold_table);
    sc.norm_len = n;
    if (want_raw) {
        raw = n + (n > 0);
        sc.raw_len = rules_fold_into(pf->fold + raw, sj->text, sj->len,
            pf->fold_table);
        if (sc.raw_len == n && memcmp(pf->fold, pf->fold + raw, n) == 0) {
            sc.raw_off = 0;         /* the same text: scan it once */
        } else {
            if (n > 0)
                pf->fold[n] = (char)0xff;
            sc.raw_off = raw;
            n = raw + sc.raw_len;
        }
    }
    sc.text = pf->fold;
    if (n > UINT32_MAX || hs_scan(pf->db, pf->fold, (unsigned)n, 0,
        pf->scratch, rules_pf_match_cb, &sc) != HS_SUCCESS)
        return -1;
    return 0;
}

/*
 * The candidates for one subject, in rule order, into r->cand: the
 * always-run rules and those whose requirement the text meets. Returns
 * -1 when the scan failed; the caller then runs every rule.
 */
int
rules_prefilter_scan(struct rules *r, const struct rules_subject *sj)
{
    struct rules_prefilter *pf = r->pf;
    /* Timed like matches: one scan in RULES_TIME_EVERY, scaled. */
    bool timed = r->gen % RULES_TIME_EVERY == 0;
    uint64_t t0 = timed ? util_mono_ns() : 0;
    size_t ntmp = 0, a = 0, t = 0, k = 0;

    if (r->gen < pf->gen) {
        /* The eval counter wrapped: old stamps could look current. */
        for (size_t i = 0; i < r->nrules; i++)
            pf->rinfo[i].gen = 0;
        for (size_t s = 0; s < 2; s++) {
            if (pf->side[s].atom_gen != NULL)
                memset(pf->side[s].atom_gen, 0, pf->side[s].natoms *
                    sizeof(uint32_t));
        }
    }
    pf->gen = r->gen;
    if (rules_pf_scan_texts(pf, sj) == -1)
        return -1;
    rules_pf_side_cands(pf, RULES_FIELD_TEXT, &ntmp);
    rules_pf_side_cands(pf, RULES_FIELD_RAW, &ntmp);
    if (ntmp > 32) {
        qsort(pf->tmp, ntmp, sizeof(*pf->tmp), rules_pf_cmp);
    } else {
        for (size_t i = 1; i < ntmp; i++) {
            size_t v = pf->tmp[i], j = i;

            for (; j > 0 && pf->tmp[j - 1] > v; j--)
                pf->tmp[j] = pf->tmp[j - 1];
            pf->tmp[j] = v;
        }
    }
    while (a < r->nalways || t < ntmp) {
        if (t == ntmp || (a < r->nalways && r->always_list[a] < pf->tmp[t]))
            r->cand[k++] = r->always_list[a++];
        else
            r->cand[k++] = pf->tmp[t++];
    }
    r->ncand = k;
    r->pf_scans++;
    r->pf_cands += k;
    if (timed)
        r->pf_scan_ns += (util_mono_ns() - t0) * RULES_TIME_EVERY;
    return 0;
}

#else /* !INBOXD_HAVE_HS */

/* Built without vectorscan: every pattern runs on every item. */
struct rules_prefilter {
    int unused;
};

bool
rules_prefilter_available(void)
{
    return false;
}

int
rules_prefilter_build(struct rules *r)
{
    r->nalways = 0;
    for (size_t i = 0; i < r->nrules; i++) {
        struct rules_rule *rule = &r->rules[i];

        rule->always = true;
        rule->pf_reason = "built without vectorscan";
        if (!rule->disabled && rule->kind == RULES_KIND_PATTERN)
            r->always_list[r->nalways++] = i;
    }
    r->pf = NULL;
    r->use_prefilter = false;
    return 0;
}

void
rules_prefilter_free(struct rules_prefilter *pf)
{
    (void)pf;
}

size_t
rules_prefilter_atoms(const struct rules_prefilter *pf)
{
    (void)pf;
    return 0;
}

int
rules_prefilter_scan(struct rules *r, const struct rules_subject *sj)
{
    (void)r;
    (void)sj;
    return -1;
}

#endif /* INBOXD_HAVE_HS */
