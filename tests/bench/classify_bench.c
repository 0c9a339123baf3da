/*
 * classify_bench: how fast rules_eval classifies, at about 1,000 rules,
 * with the prefilter and with the plain loop (every pattern on every
 * item) in the same run, and how long a load of those rules takes (what a
 * SIGHUP reload costs). The rules are the shipped sets plus generated
 * ones and the comments are generated (tests/unit/rules_gen.h), as in
 * tests/unit/rules_diff_test.c. One thread: items/s is per core.
 *
 *   classify_bench [-P] [-n items] [-f files] [-p rules_per_file]
 *                  [-s seed] [-t seconds] [-j corpus.jsonl] [-d dir]
 *
 * -P skips the plain loop (for profiling the prefiltered path); -v lists
 * the rules that took the most pcre2 time.
 * -j writes the corpus as JSON Lines items for `inboxd classify`; -d
 * keeps the generated rules in that directory (else a temporary one).
 * tests/bench/classify_bench.sh builds it (CMake target classify_bench)
 * and runs it beside `inboxd classify`; docs/performance.md has figures.
 */
#include <sys/stat.h>

#include <dirent.h>
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "item.h"
#include "lang.h"
#include "normalize.h"
#include "rules.h"
#include "rules_gen.h"
#include "util.h"

static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
bench_rmdir(const char *dir)
{
    DIR *d = opendir(dir);
    struct dirent *de;
    char path[1024];

    while (d != NULL && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
        unlink(path);
    }
    if (d != NULL)
        closedir(d);
    rmdir(dir);
}

/* Classify every item, again and again for at least secs; items/s. */
static double
bench_run(struct rules *r, struct item **items, size_t n, double secs,
    size_t *hits)
{
    double t0 = bench_now(), t;
    size_t done = 0;

    *hits = 0;
    do {
        for (size_t i = 0; i < n; i++) {
            json_t *cls = rules_eval(r, items[i]);

            if (cls == NULL) {
                fprintf(stderr, "classify_bench: out of memory\n");
                exit(1);
            }
            *hits += json_array_size(json_object_get(cls, "hits"));
            json_decref(cls);
        }
        done += n;
        t = bench_now() - t0;
    } while (t < secs);
    *hits /= done / n;
    return (double)done / t;
}

/* The costs every item pays whatever the rules: us per item. */
static void
bench_fixed(struct item **items, size_t n)
{
    struct norm_text nt = { 0 };
    double t0 = bench_now(), tn, tl;
    size_t sink = 0;

    for (size_t i = 0; i < n; i++) {
        if (normalize_text(item_text(items[i]), item_text_len(items[i]),
            NORM_ALL, &nt) == 0)
            sink += nt.len;
    }
    tn = bench_now() - t0;
    t0 = bench_now();
    for (size_t i = 0; i < n; i++)
        sink += lang_detect(item_text(items[i]),
            item_text_len(items[i])) != NULL;
    tl = bench_now() - t0;
    norm_text_free(&nt);
    printf("fixed costs: normalize_text %.2f us, lang_detect %.2f us per "
        "item (%zu)\n", tn / (double)n * 1e6, tl / (double)n * 1e6,
        sink % 2);
}

/* The rules that took the most pcre2 time (-v). */
struct bench_top {
    struct rules_stat st[10];
    char ids[10][100];
    size_t n;
};

static void
bench_top_cb(const struct rules_stat *st, void *arg)
{
    struct bench_top *t = arg;
    size_t i = t->n < 10 ? t->n++ : 9;

    if (t->n == 10 && i == 9 && st->match_ns <= t->st[9].match_ns)
        return;
    for (; i > 0 && t->st[i - 1].match_ns < st->match_ns; i--) {
        t->st[i] = t->st[i - 1];
        memcpy(t->ids[i], t->ids[i - 1], sizeof(t->ids[i]));
    }
    t->st[i] = *st;
    snprintf(t->ids[i], sizeof(t->ids[i]), "%s", st->id);
}

/* The corpus as items of the wire model, for inboxd classify. */
static int
bench_write_jsonl(const char *path, const struct rules_gen_item *g,
    size_t n)
{
    FILE *fp = fopen(path, "w");

    if (fp == NULL) {
        fprintf(stderr, "classify_bench: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (size_t i = 0; i < n; i++) {
        char native[32];
        json_t *o;

        snprintf(native, sizeof(native), "bench%zu", i);
        o = json_pack("{s:s, s:s, s:s, s:{s:s}, s:{s:s, s:s}, s:s, s:I}",
            "platform", g[i].platform, "native_id", native, "kind",
            g[i].kind, "account", "id", "acct", "author", "id", "author1",
            "name", g[i].author, "text", g[i].text[0] ? g[i].text : ".",
            "created_at", (json_int_t)1795426800);
        if (o != NULL && g[i].lang != NULL)
            json_object_set_new(o, "lang", json_string(g[i].lang));
        if (o == NULL || json_dumpf(o, fp, JSON_COMPACT) == -1) {
            json_decref(o);
            fclose(fp);
            return -1;
        }
        fputc('\n', fp);
        json_decref(o);
    }
    return fclose(fp) == 0 ? 0 : -1;
}

int
main(int argc, char *argv[])
{
    long nitems = 20000, nfiles = 16, per_file = 51, seed = 20261123;
    double secs = 3.0, load_min = 1e9, load_sum = 0, plain, pre;
    const char *jsonl = NULL, *keep = NULL;
    char tmpdir[] = "/tmp/inboxd-bench.XXXXXX";
    const char *dirs[2] = { INBOXD_RULES_DIR, NULL };
    struct rules_gen_item *gen;
    struct item **items;
    struct rules *r = NULL;
    struct rules_info info;
    struct buf errors;
    size_t hplain, hpre;
    int ch, loads = 5;
    bool skip_plain = false, verbose = false;

    alloc_init();
    while ((ch = getopt(argc, argv, "Pvn:f:p:s:t:j:d:")) != -1) {
        switch (ch) {
        case 'v':
            verbose = true;
            break;
        case 'P':
            skip_plain = true;
            break;
        case 'n':
            if (util_parse_long(optarg, 1, 10000000, &nitems) == -1)
                goto usage;
            break;
        case 'f':
            if (util_parse_long(optarg, 0, 1000, &nfiles) == -1)
                goto usage;
            break;
        case 'p':
            if (util_parse_long(optarg, 1, 250, &per_file) == -1)
                goto usage;
            break;
        case 's':
            if (util_parse_long(optarg, 1, 1L << 30, &seed) == -1)
                goto usage;
            break;
        case 't':
            secs = strtod(optarg, NULL);
            break;
        case 'j':
            jsonl = optarg;
            break;
        case 'd':
            keep = optarg;
            break;
        default:
            goto usage;
        }
    }
    if (keep != NULL) {
        if (mkdir(keep, 0755) == -1 && errno != EEXIST) {
            fprintf(stderr, "classify_bench: %s: %s\n", keep,
                strerror(errno));
            return 1;
        }
        dirs[1] = keep;
    } else if ((dirs[1] = mkdtemp(tmpdir)) == NULL) {
        fprintf(stderr, "classify_bench: mkdtemp: %s\n", strerror(errno));
        return 1;
    }
    if (rules_gen_write(dirs[1], (uint64_t)seed, (size_t)nfiles,
        (size_t)per_file) < 0) {
        fprintf(stderr, "classify_bench: cannot write rules\n");
        return 1;
    }

    /* Load (= reload) time: the best and the mean of a few. */
    buf_init(&errors, 1u << 20);
    for (int i = 0; i < loads; i++) {
        double t0 = bench_now(), dt;

        rules_free(r);
        if ((r = rules_load(dirs, 2, NULL, &errors)) == NULL) {
            fprintf(stderr, "%s", errors.data ? errors.data : "");
            return 1;
        }
        dt = bench_now() - t0;
        load_sum += dt;
        load_min = dt < load_min ? dt : load_min;
    }
    buf_free(&errors);
    rules_get_info(r, &info);

    gen = xcalloc((size_t)nitems, sizeof(*gen));
    items = xcalloc((size_t)nitems, sizeof(*items));
    if (gen == NULL || items == NULL)
        return 1;
    rules_gen_corpus((uint64_t)seed + 1, gen, (size_t)nitems);
    for (long i = 0; i < nitems; i++) {
        char native[32], err[128];

        snprintf(native, sizeof(native), "bench%ld", i);
        items[i] = item_new(gen[i].platform, native,
            item_kind_from_name(gen[i].kind), "acct", "author1",
            gen[i].text, err, sizeof(err));
        if (items[i] == NULL || (gen[i].lang != NULL &&
            item_set_lang(items[i], gen[i].lang) == -1) ||
            item_set_author_name(items[i], gen[i].author) == -1) {
            fprintf(stderr, "classify_bench: item %ld: %s\n", i, err);
            return 1;
        }
    }
    if (jsonl != NULL && bench_write_jsonl(jsonl, gen, (size_t)nitems) ==
        -1)
        return 1;

    printf("rules: %zu (%zu meta, %zu shadow); prefilter: %zu patterns "
        "skippable, %zu always run, %zu literals\n", info.rules, info.meta,
        info.shadow, info.prefiltered, info.always_run, info.atoms);
    printf("load: %.0f ms best, %.0f ms mean of %d (prefilter build %.0f "
        "ms)\n", load_min * 1e3, load_sum / loads * 1e3, loads,
        (double)info.prefilter_build_ns / 1e6);

    bench_fixed(items, (size_t)nitems);

    /* Warm both paths (JIT stacks, scratch), then measure. */
    rules_set_prefilter(r, false);
    if (!skip_plain)
        bench_run(r, items, (size_t)(nitems < 200 ? nitems : 200), 0,
            &hplain);
    plain = skip_plain ? 1 : bench_run(r, items, (size_t)nitems, secs,
        &hplain);
    if (rules_set_prefilter(r, true) == -1) {
        printf("plain loop: %.0f items/s; no prefilter in this build\n",
            plain);
        return 0;
    }
    bench_run(r, items, (size_t)(nitems < 200 ? nitems : 200), 0, &hpre);
    pre = bench_run(r, items, (size_t)nitems, secs, &hpre);
    rules_get_info(r, &info);
    printf("corpus: %ld items, %.1f hits per item; prefilter: %.1f "
        "patterns run per item, %.2f us per item in the literal scan\n",
        nitems, (double)hpre / (double)nitems, (double)info.candidates /
        (double)info.prefilter_scans, (double)info.prefilter_scan_ns /
        (double)info.prefilter_scans / 1e3);
    if (!skip_plain) {
        printf("plain loop: %.0f items/s per core (%.1f us per item)\n",
            plain, 1e6 / plain);
        printf("prefilter:  %.0f items/s per core (%.1f us per item), "
            "%.1fx the plain loop\n", pre, 1e6 / pre, pre / plain);
    } else {
        printf("prefilter:  %.0f items/s per core (%.1f us per item)\n",
            pre, 1e6 / pre);
    }
    if (verbose) {
        struct bench_top top = { .n = 0 };

        rules_foreach_stat2(r, bench_top_cb, &top);
        for (size_t i = 0; i < top.n; i++)
            printf("  %-24s %8.1f ms in pcre2, %s\n", top.ids[i],
                (double)top.st[i].match_ns / 1e6, top.st[i].prefiltered ?
                "prefiltered" : "always run");
    }
    if (!skip_plain && hplain != hpre) {
        printf("MISMATCH: %zu hits with the plain loop, %zu with the "
            "prefilter\n", hplain, hpre);
        return 1;
    }

    for (long i = 0; i < nitems; i++)
        item_free(items[i]);
    xfree(items);
    rules_gen_corpus_free(gen, (size_t)nitems);
    xfree(gen);
    rules_free(r);
    if (keep == NULL)
        bench_rmdir(dirs[1]);
    return 0;
usage:
    fprintf(stderr, "usage: classify_bench [-Pv] [-n items] [-f files] [-p "
        "rules_per_file] [-s seed] [-t seconds] [-j corpus.jsonl] "
        "[-d rules_dir]\n");
    return 2;
}
