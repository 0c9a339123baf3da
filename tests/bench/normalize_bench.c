/*
 * normalize_bench: throughput of normalize_text (NORM_ALL) on a generated
 * corpus of short comments, mixed English and Russian with the usual
 * evasions sprinkled in, beside a baseline of memcpy + ASCII tolower over
 * the same bytes in the same run. Prints MB/s and items/s for each. Not
 * part of the CMake build and not a test: nothing here is timed against a
 * threshold. Build and run from the repository root:
 *
 *   cc -std=c17 -O2 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE -Iinclude \
 *       daemon/alloc.c daemon/normalize.c tests/bench/normalize_bench.c \
 *       $(pkg-config --cflags --libs jansson libutf8proc) \
 *       -o /tmp/normalize_bench && /tmp/normalize_bench [seconds]
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "normalize.h"

#define BENCH_ITEMS 20000
#define BENCH_ITEM_MAX 256

static const char *const bench_words[] = {
    "great", "video", "thanks", "for", "the", "stream", "when", "is",
    "next", "part", "love", "this", "channel", "lol", "so", "cool",
    "check", "my", "profile", "free", "money", "click", "link", "bio",
    "\u043f\u0440\u0438\u0432\u0435\u0442",                 /* привет */
    "\u0441\u043f\u0430\u0441\u0438\u0431\u043e",           /* спасибо */
    "\u043a\u043b\u0430\u0441\u0441",                       /* класс */
    "\u043a\u043e\u0433\u0434\u0430",                       /* когда */
    "\u0432\u0438\u0434\u0435\u043e",                       /* видео */
    "\u043e\u0442\u043b\u0438\u0447\u043d\u043e",           /* отлично */
    "\u0441\u0442\u0440\u0438\u043c",                       /* стрим */
    "\u0434\u0435\u043d\u044c\u0433\u0438",                 /* деньги */
    "fr\u200bee", "m0ney", "\u0455\u0440\u0430m", "\u043fp\u0438\u0432e\u0442",
    "\uff46\uff52\uff45\uff45", "freeeeee", "f r e e", "$pam", "2024",
    "10%", "\xf0\x9f\x94\xa5", "\xf0\x9f\x98\x82", "!!!", "?",
};

static uint32_t
bench_rand(uint32_t *seed)
{
    *seed = *seed * 1103515245u + 12345u;
    return *seed >> 16;
}

static double
bench_now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Fill items with comments of about 60-140 bytes; returns total bytes. */
static size_t
bench_corpus(char (*items)[BENCH_ITEM_MAX], size_t *lens, size_t n)
{
    const size_t nwords = sizeof(bench_words) / sizeof(bench_words[0]);
    uint32_t seed = 42;
    size_t total = 0;

    for (size_t i = 0; i < n; i++) {
        size_t want = 60 + bench_rand(&seed) % 80, len = 0;

        while (len < want) {
            const char *w = bench_words[bench_rand(&seed) % nwords];
            size_t wl = strlen(w);

            if (len + wl + 1 >= BENCH_ITEM_MAX)
                break;
            memcpy(items[i] + len, w, wl);
            len += wl;
            items[i][len++] = ' ';
        }
        if (bench_rand(&seed) % 3 == 0)
            items[i][0] = (char)(items[i][0] & ~0x20);  /* some capitals */
        items[i][len] = '\0';
        lens[i] = len;
        total += len;
    }
    return total;
}

static void
bench_report(const char *name, double secs, size_t bytes, size_t items)
{
    printf("%-22s %9.1f MB/s %12.0f items/s\n", name,
        (double)bytes / secs / 1e6, (double)items / secs);
}

int
main(int argc, char **argv)
{
    char (*items)[BENCH_ITEM_MAX] = NULL;
    size_t *lens = NULL, total, bytes, done;
    struct norm_text nt = {0};
    double secs = 2.0, t0, t;
    char out[BENCH_ITEM_MAX];
    unsigned long sink = 0;
    int rc = 1;

    alloc_init();
    if (argc > 1) {
        char *end;

        errno = 0;
        secs = strtod(argv[1], &end);
        if (errno != 0 || *end != '\0' || secs <= 0) {
            fprintf(stderr, "usage: normalize_bench [seconds]\n");
            return 2;
        }
    }
    items = xcalloc(BENCH_ITEMS, sizeof(*items));
    lens = xcalloc(BENCH_ITEMS, sizeof(*lens));
    if (items == NULL || lens == NULL)
        goto out;
    total = bench_corpus(items, lens, BENCH_ITEMS);
    printf("corpus: %d items, %.1f bytes each on average\n", BENCH_ITEMS,
        (double)total / BENCH_ITEMS);

    /* Baseline: copy and lowercase ASCII, what a naive matcher would do. */
    bytes = done = 0;
    t0 = bench_now();
    do {
        for (size_t i = 0; i < BENCH_ITEMS; i++) {
            memcpy(out, items[i], lens[i]);
            for (size_t k = 0; k < lens[i]; k++)
                if (out[k] >= 'A' && out[k] <= 'Z')
                    out[k] = (char)(out[k] + ('a' - 'A'));
            sink += (unsigned char)out[lens[i] / 2];
        }
        bytes += total;
        done += BENCH_ITEMS;
    } while ((t = bench_now() - t0) < secs);
    bench_report("memcpy+ascii tolower", t, bytes, done);

    bytes = done = 0;
    t0 = bench_now();
    do {
        for (size_t i = 0; i < BENCH_ITEMS; i++) {
            if (normalize_text(items[i], lens[i], NORM_ALL, &nt) == -1) {
                fprintf(stderr, "normalize_text failed\n");
                goto out;
            }
            sink += nt.len;
        }
        bytes += total;
        done += BENCH_ITEMS;
    } while ((t = bench_now() - t0) < secs);
    bench_report("normalize_text ALL", t, bytes, done);

    printf("(checksum %lu)\n", sink);
    rc = 0;
out:
    norm_text_free(&nt);
    xfree(lens);
    xfree(items);
    return rc;
}
