/*
 * ratelimit_bench: the per-request work of the source table, in three
 * shapes, each in its own function so that callgrind gives its cost
 * (tests/bench/guard_cost.sh divides by the operations):
 *
 *   bench_take     one source, its entry known: the bucket only (a
 *                  direct connection's request)
 *   bench_lookup   10,000 sources in turn, all in the table: hash lookup
 *                  and bucket (a request behind a trusted proxy)
 *   bench_churn    a new source every time through a full table: miss,
 *                  reuse of the oldest idle entry, bucket (a flood from
 *                  many addresses)
 *
 *   ratelimit_bench [operations]      default 1,000,000 per shape
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "ratelimit.h"

#define BENCH_TABLE     16384
#define BENCH_SOURCES   10000

/* Keep the compiler from dropping the work. */
static volatile int64_t bench_sink;

static void
bench_key(uint32_t i, struct ratelimit_key *k)
{
    /* 2001:db8:<i>::/64, as a cut IPv6 source. */
    memset(k, 0, sizeof(*k));
    k->b[0] = 0x20;
    k->b[1] = 0x01;
    k->b[2] = 0x0d;
    k->b[3] = 0xb8;
    memcpy(k->b + 4, &i, sizeof(i));
}

/* Not inlined: callgrind reports each shape by its name. */
static void __attribute__((noinline))
bench_take(struct ratelimit *rl, uint32_t id, long ops)
{
    int64_t sum = 0;

    for (long n = 0; n < ops; n++)
        sum += ratelimit_take(rl, id, RATELIMIT_API, 1000000, 10000000,
            1000 + n / 1000);
    bench_sink = sum;
}

static void __attribute__((noinline))
bench_lookup(struct ratelimit *rl, const struct ratelimit_key *keys,
    long ops)
{
    int64_t sum = 0;

    for (long n = 0; n < ops; n++) {
        int64_t now = 1000 + n / 1000;
        uint32_t id = ratelimit_get(rl, &keys[n % BENCH_SOURCES], now);

        sum += ratelimit_take(rl, id, RATELIMIT_API, 200, 2000, now);
    }
    bench_sink = sum;
}

static void __attribute__((noinline))
bench_churn(struct ratelimit *rl, long ops)
{
    struct ratelimit_key k;
    int64_t sum = 0;

    for (long n = 0; n < ops; n++) {
        int64_t now = 2000 + n / 1000;
        uint32_t id;

        bench_key((uint32_t)(1000000 + n), &k);
        id = ratelimit_get(rl, &k, now);
        sum += ratelimit_take(rl, id, RATELIMIT_API, 200, 2000, now);
    }
    bench_sink = sum;
}

int
main(int argc, char **argv)
{
    static const unsigned char seed[16] = "bench-seed-0123";
    long ops = argc > 1 ? strtol(argv[1], NULL, 10) : 1000000;
    struct ratelimit_key *keys;
    struct ratelimit_stats st;
    struct ratelimit *rl;
    uint32_t id;

    alloc_init();
    if (ops <= 0 || (rl = ratelimit_new(BENCH_TABLE, seed)) == NULL ||
        (keys = calloc(BENCH_SOURCES, sizeof(*keys))) == NULL)
        return 1;
    for (uint32_t i = 0; i < BENCH_SOURCES; i++)
        bench_key(i, &keys[i]);
    id = ratelimit_get(rl, &keys[0], 1000);
    bench_take(rl, id, ops);
    bench_lookup(rl, keys, ops);
    bench_churn(rl, ops);
    ratelimit_stats(rl, &st);
    printf("ops=%ld used=%u evicted=%llu\n", ops, st.used,
        (unsigned long long)st.evicted);
    free(keys);
    ratelimit_free(rl);
    return 0;
}
