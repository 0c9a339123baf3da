/*
 * ratelimit: addresses and networks, the token bucket's arithmetic, the
 * connection and stream counts, and the table staying within its size
 * while sources come and go by the thousand (pinned ones are never
 * evicted, idle ones oldest first). No sockets.
 */
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "alloc.h"
#include "check.h"
#include "ratelimit.h"

static const unsigned char seed[16] = "0123456789abcdef";

/* The source of text s cut to a /64; aborts the check on junk. */
static int
key_of(const char *s, struct ratelimit_key *k)
{
    if (ratelimit_key_parse(s, strlen(s), k) == -1)
        return -1;
    ratelimit_key_cut(k, 64);
    return 0;
}

static bool
key_eq(const char *a, const char *b)
{
    struct ratelimit_key ka, kb;

    return key_of(a, &ka) == 0 && key_of(b, &kb) == 0 &&
        memcmp(&ka, &kb, sizeof(ka)) == 0;
}

/* An IPv4 source 10.x.y.z numbered by i. */
static void
key_n(uint32_t i, struct ratelimit_key *k)
{
    char s[32];

    snprintf(s, sizeof(s), "10.%u.%u.%u", (i >> 16) & 255, (i >> 8) & 255,
        i & 255);
    key_of(s, k);
}

/* --------------------------------------------------------- addresses */

static int
test_parse(void)
{
    struct ratelimit_key k;
    char out[RATELIMIT_ADDRSTRLEN];
    int rc = 0;

    CHECK(key_of("192.0.2.1", &k) == 0);
    CHECK(ratelimit_key_is_v4(&k));
    ratelimit_key_format(&k, 64, out, sizeof(out));
    CHECK_STR(out, "192.0.2.1");
    /* Ports, brackets and blanks as X-Forwarded-For writes them. */
    CHECK(key_eq(" 192.0.2.1:8443 ", "192.0.2.1"));
    CHECK(key_eq("[2001:db8::1]:443", "2001:db8::1"));
    CHECK(key_eq("[2001:db8::1]", "2001:db8::1"));
    CHECK(key_eq("\t2001:db8::1 ", "2001:db8::1"));
    /* A dual-stack socket's IPv4 peer is that IPv4 address, not cut. */
    CHECK(key_eq("::ffff:192.0.2.1", "192.0.2.1"));
    CHECK(!key_eq("::ffff:192.0.2.1", "::ffff:192.0.2.2"));
    /* One /64 is one source; the next /64 is another. */
    CHECK(key_eq("2001:db8:1:2::1", "2001:db8:1:2:ffff:ffff:ffff:ffff"));
    CHECK(!key_eq("2001:db8:1:2::1", "2001:db8:1:3::1"));
    CHECK(key_of("2001:db8:1:2:3:4:5:6", &k) == 0);
    ratelimit_key_format(&k, 64, out, sizeof(out));
    CHECK_STR(out, "2001:db8:1:2::/64");
    /* Junk, names and half addresses are not sources. */
    CHECK(key_of("", &k) == -1);
    CHECK(key_of("unknown", &k) == -1);
    CHECK(key_of("example.com", &k) == -1);
    CHECK(key_of("192.0.2", &k) == -1);
    CHECK(key_of("[2001:db8::1", &k) == -1);
    CHECK(key_of("[2001:db8::1]x", &k) == -1);
    CHECK(key_of("192.0.2.1:80:90", &k) == -1);
    CHECK(ratelimit_key_parse("192.0.2.1", 4, &k) == -1);
out:
    return rc;
}

static int
test_cut(void)
{
    struct ratelimit_key a, b;
    int rc = 0;

    CHECK(ratelimit_key_parse("2001:db8:1:2:3:4:5:6", 20, &a) == 0);
    b = a;
    ratelimit_key_cut(&a, 128);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    ratelimit_key_cut(&a, 48);
    CHECK(ratelimit_key_parse("2001:db8:1::", 12, &b) == 0);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
    /* Not on a byte boundary. */
    CHECK(ratelimit_key_parse("2001:db8:ffff::", 15, &a) == 0);
    ratelimit_key_cut(&a, 36);
    CHECK(ratelimit_key_parse("2001:db8:f000::", 15, &b) == 0);
    CHECK(memcmp(&a, &b, sizeof(a)) == 0);
out:
    return rc;
}

static int
test_sockaddr(void)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    struct sockaddr_in6 sin6 = { .sin6_family = AF_INET6 };
    struct sockaddr sa = { .sa_family = AF_UNIX };
    struct ratelimit_key k, want;
    int rc = 0;

    inet_pton(AF_INET, "127.0.0.2", &sin.sin_addr);
    CHECK(ratelimit_key_from_sockaddr((struct sockaddr *)&sin, &k) == 0);
    CHECK(key_of("127.0.0.2", &want) == 0);
    CHECK(memcmp(&k, &want, sizeof(k)) == 0);
    inet_pton(AF_INET6, "::ffff:127.0.0.2", &sin6.sin6_addr);
    CHECK(ratelimit_key_from_sockaddr((struct sockaddr *)&sin6, &k) == 0);
    ratelimit_key_cut(&k, 64);
    CHECK(memcmp(&k, &want, sizeof(k)) == 0);
    CHECK(ratelimit_key_from_sockaddr(&sa, &k) == -1);
    CHECK(ratelimit_key_from_sockaddr(NULL, &k) == -1);
out:
    return rc;
}

static int
test_cidr(void)
{
    struct ratelimit_cidr v[4];
    struct ratelimit_key k;
    int rc = 0;

    CHECK(ratelimit_cidr_parse("10.0.0.0/8", &v[0]) == 0);
    CHECK(v[0].bits == 104);
    CHECK(ratelimit_cidr_parse("2001:db8::/32", &v[1]) == 0);
    CHECK(ratelimit_cidr_parse("::1", &v[2]) == 0);
    CHECK(v[2].bits == 128);
    CHECK(ratelimit_cidr_parse("192.0.2.7", &v[3]) == 0);
    CHECK(v[3].bits == 128);
    CHECK(ratelimit_key_parse("10.200.3.4", 10, &k) == 0);
    CHECK(ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("11.0.0.1", 8, &k) == 0);
    CHECK(!ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("2001:db8:ffff::1", 16, &k) == 0);
    CHECK(ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("2001:db9::1", 11, &k) == 0);
    CHECK(!ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("::1", 3, &k) == 0);
    CHECK(ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("::2", 3, &k) == 0);
    CHECK(!ratelimit_cidr_match(v, 4, &k));
    CHECK(ratelimit_key_parse("192.0.2.7", 9, &k) == 0);
    CHECK(ratelimit_cidr_match(&v[3], 1, &k));
    CHECK(ratelimit_key_parse("192.0.2.8", 9, &k) == 0);
    CHECK(!ratelimit_cidr_match(&v[3], 1, &k));
    /* A prefix that is not on a byte boundary. */
    CHECK(ratelimit_cidr_parse("149.154.160.0/20", &v[0]) == 0);
    CHECK(ratelimit_key_parse("149.154.175.255", 15, &k) == 0);
    CHECK(ratelimit_cidr_match(v, 1, &k));
    CHECK(ratelimit_key_parse("149.154.176.0", 13, &k) == 0);
    CHECK(!ratelimit_cidr_match(v, 1, &k));
    /* /0 matches its whole family's form. */
    CHECK(ratelimit_cidr_parse("0.0.0.0/0", &v[0]) == 0);
    CHECK(ratelimit_key_parse("8.8.8.8", 7, &k) == 0);
    CHECK(ratelimit_cidr_match(v, 1, &k));
    CHECK(ratelimit_key_parse("2001:db8::1", 11, &k) == 0);
    CHECK(!ratelimit_cidr_match(v, 1, &k));
    /* Malformed. */
    CHECK(ratelimit_cidr_parse("10.0.0.1/8", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("10.0.0.0/33", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("10.0.0.0/", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("10.0.0.0/-1", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("10.0.0.0/8x", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("2001:db8::/129", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("[::1]", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("10.0.0.1:80", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("/8", &v[0]) == -1);
    CHECK(ratelimit_cidr_parse("localhost", &v[0]) == -1);
out:
    return rc;
}

/* -------------------------------------------------------------- bucket */

static int
test_bucket(void)
{
    struct ratelimit *rl = ratelimit_new(64, seed);
    struct ratelimit_key k;
    int64_t now = 1000;
    uint32_t id;
    int rc = 0;

    CHECK(rl != NULL);
    key_n(1, &k);
    id = ratelimit_get(rl, &k, now);
    CHECK(id != RATELIMIT_NONE);
    /* A new source has its whole burst: 5 at 2 a second. */
    for (int i = 0; i < 5; i++)
        CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now) == 0);
    /* Then one token every 500 ms. */
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now) == 500);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now + 499) == 1);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now + 500) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now + 500) == 500);
    /* The other listener's bucket is its own. */
    CHECK(ratelimit_take(rl, id, RATELIMIT_WEB, 2, 5, now + 500) == 0);
    /* A long pause refills no more than the burst. */
    now += 100000;
    for (int i = 0; i < 5; i++)
        CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 2, 5, now) > 0);
    /* Rate 0: no limit. */
    for (int i = 0; i < 1000; i++)
        CHECK(ratelimit_take(rl, id, RATELIMIT_API, 0, 1, now) == 0);
    /* A high rate with burst 1: a token every 1/1000 ms rounds up to 1. */
    key_n(2, &k);
    id = ratelimit_get(rl, &k, now);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1000000, 1, now) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1000000, 1, now) == 1);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1000000, 1, now + 1) == 0);
    /* A reload that lowers the burst caps what was banked. */
    key_n(3, &k);
    id = ratelimit_get(rl, &k, now);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 100, now) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 2, now) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 2, now) == 0);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 2, now) == 1000);
out:
    ratelimit_free(rl);
    return rc;
}

/* ----------------------------------------------------------- the table */

static int
test_counts(void)
{
    struct ratelimit *rl = ratelimit_new(16, seed);
    struct ratelimit_stats st;
    struct ratelimit_key k;
    uint32_t id;
    int rc = 0;

    CHECK(rl != NULL);
    key_n(7, &k);
    id = ratelimit_get(rl, &k, 1);
    CHECK(ratelimit_conn_open(rl, id, RATELIMIT_API, 2));
    CHECK(ratelimit_conn_open(rl, id, RATELIMIT_API, 2));
    CHECK(!ratelimit_conn_open(rl, id, RATELIMIT_API, 2));
    /* Per listener. */
    CHECK(ratelimit_conn_open(rl, id, RATELIMIT_WEB, 1));
    CHECK(!ratelimit_conn_open(rl, id, RATELIMIT_WEB, 1));
    CHECK(ratelimit_stream_open(rl, id, 1));
    CHECK(!ratelimit_stream_open(rl, id, 1));
    ratelimit_stats(rl, &st);
    CHECK(st.used == 1 && st.pinned == 1);
    ratelimit_conn_close(rl, id, RATELIMIT_API, 2);
    CHECK(ratelimit_conn_open(rl, id, RATELIMIT_API, 2));
    /* Max 0: no cap. */
    for (int i = 0; i < 100; i++)
        CHECK(ratelimit_conn_open(rl, id, RATELIMIT_API, 0));
    for (int i = 0; i < 102; i++)
        ratelimit_conn_close(rl, id, RATELIMIT_API, 3);
    ratelimit_conn_close(rl, id, RATELIMIT_WEB, 3);
    ratelimit_stats(rl, &st);
    CHECK(st.pinned == 1);          /* the stream */
    ratelimit_stream_close(rl, id, 4);
    ratelimit_stats(rl, &st);
    CHECK(st.pinned == 0 && st.used == 1);
    /* Closing what is not open changes nothing. */
    ratelimit_conn_close(rl, id, RATELIMIT_API, 5);
    ratelimit_stream_close(rl, id, 5);
    ratelimit_stats(rl, &st);
    CHECK(st.pinned == 0 && st.used == 1);
    /* The same source finds the same entry. */
    CHECK(ratelimit_get(rl, &k, 6) == id);
out:
    ratelimit_free(rl);
    return rc;
}

/*
 * Thousands of sources through a table of 256: it never holds more,
 * the pinned ones stay with their counts, and the idle ones go oldest
 * first. No allocation after ratelimit_new.
 */
static int
test_bounded(void)
{
    const uint32_t cap = 256, npinned = 200, nsources = 50000;
    struct ratelimit *rl = ratelimit_new(cap, seed);
    struct ratelimit_stats st;
    struct ratelimit_key k;
    uint32_t ids[200], id;
    unsigned long allocs;
    int64_t now = 1000;
    int rc = 0;

    CHECK(rl != NULL);
    for (uint32_t i = 0; i < npinned; i++) {
        key_n(i, &k);
        ids[i] = ratelimit_get(rl, &k, now);
        CHECK(ids[i] != RATELIMIT_NONE);
        CHECK(ratelimit_conn_open(rl, ids[i], RATELIMIT_API, 1));
        ratelimit_note(rl, ids[i])->unlogged = i + 1;
    }
    (void)alloc_fail_after(0);
    for (uint32_t i = npinned; i < nsources; i++) {
        key_n(i, &k);
        id = ratelimit_get(rl, &k, ++now);
        CHECK(id != RATELIMIT_NONE);
        CHECK(ratelimit_note(rl, id)->unlogged == 0);
        (void)ratelimit_take(rl, id, RATELIMIT_API, 1, 1, now);
        ratelimit_stats(rl, &st);
        CHECK(st.used <= cap);
    }
    allocs = alloc_fail_after(0);
    CHECK(allocs == 0);
    ratelimit_stats(rl, &st);
    CHECK(st.used == cap);
    CHECK(st.pinned == npinned);
    CHECK(st.evicted == nsources - cap);
    /* Every pinned source kept its entry and its count. */
    for (uint32_t i = 0; i < npinned; i++) {
        key_n(i, &k);
        CHECK(ratelimit_get(rl, &k, now) == ids[i]);
        CHECK(ratelimit_note(rl, ids[i])->unlogged == i + 1);
        CHECK(!ratelimit_conn_open(rl, ids[i], RATELIMIT_API, 1));
    }
    /* The youngest idle sources are still there with their buckets
     * spent; the oldest are gone (a fresh bucket). */
    key_n(nsources - 1, &k);
    id = ratelimit_get(rl, &k, now);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 1, now) > 0);
    key_n(npinned, &k);
    id = ratelimit_get(rl, &k, now);
    CHECK(ratelimit_take(rl, id, RATELIMIT_API, 1, 1, now) == 0);
out:
    ratelimit_free(rl);
    return rc;
}

/* Full of pinned sources: no entry, and the rest keep working. */
static int
test_full(void)
{
    struct ratelimit *rl = ratelimit_new(16, seed);
    struct ratelimit_key k;
    uint32_t id, first = RATELIMIT_NONE;
    int rc = 0;

    CHECK(rl != NULL);
    for (uint32_t i = 0; i < 16; i++) {
        key_n(i, &k);
        id = ratelimit_get(rl, &k, 1);
        CHECK(id != RATELIMIT_NONE);
        CHECK(ratelimit_stream_open(rl, id, 0));
        if (i == 0)
            first = id;
    }
    key_n(100, &k);
    CHECK(ratelimit_get(rl, &k, 2) == RATELIMIT_NONE);
    ratelimit_stream_close(rl, first, 3);
    CHECK(ratelimit_get(rl, &k, 4) == first);
out:
    ratelimit_free(rl);
    return rc;
}

/* Idle entries expire after RATELIMIT_IDLE_MS, a few per lookup. */
static int
test_expiry(void)
{
    struct ratelimit *rl = ratelimit_new(64, seed);
    struct ratelimit_stats st;
    struct ratelimit_key k;
    int64_t now = 1000;
    int rc = 0;

    CHECK(rl != NULL);
    for (uint32_t i = 0; i < 10; i++) {
        key_n(i, &k);
        CHECK(ratelimit_get(rl, &k, now) != RATELIMIT_NONE);
    }
    now += RATELIMIT_IDLE_MS + 1;
    for (uint32_t i = 100; i < 105; i++) {
        key_n(i, &k);
        CHECK(ratelimit_get(rl, &k, now) != RATELIMIT_NONE);
    }
    ratelimit_stats(rl, &st);
    CHECK(st.expired == 10);
    CHECK(st.used == 5);
    CHECK(st.evicted == 0);
out:
    ratelimit_free(rl);
    return rc;
}

/* The sizes it takes: at least 16, whatever is asked. */
static int
test_sizes(void)
{
    struct ratelimit *rl = ratelimit_new(0, seed);
    struct ratelimit_stats st;
    int rc = 0;

    CHECK(rl != NULL);
    ratelimit_stats(rl, &st);
    CHECK(st.capacity == 16 && st.used == 0);
    ratelimit_free(rl);
    rl = ratelimit_new(1000, seed);
    CHECK(rl != NULL);
    ratelimit_stats(rl, &st);
    CHECK(st.capacity == 1000);
    ratelimit_free(NULL);
    /* Out of memory: NULL, nothing leaked (ASan checks). */
    for (unsigned long n = 1; n <= 4; n++) {
        ratelimit_free(rl);
        (void)alloc_fail_after(n);
        rl = ratelimit_new(64, seed);
        (void)alloc_fail_after(0);
        CHECK(n == 4 ? rl != NULL : rl == NULL);
    }
out:
    (void)alloc_fail_after(0);
    ratelimit_free(rl);
    return rc;
}

/* The client ratelimit_forwarded finds, formatted; "-" for none. */
static const char *
fwd(enum ratelimit_fwd kind, const char *a, const char *b)
{
    static char out[RATELIMIT_ADDRSTRLEN];
    static struct ratelimit_cidr proxies[2];
    const char *vals[2] = { a, b };
    struct ratelimit_key k;

    ratelimit_cidr_parse("10.0.0.0/8", &proxies[0]);
    ratelimit_cidr_parse("2001:db8:ff::/48", &proxies[1]);
    if (ratelimit_forwarded(kind, vals, b != NULL ? 2 : 1, proxies, 2, 4,
        &k) == -1)
        return "-";
    ratelimit_key_format(&k, 128, out, sizeof(out));
    return out;
}

static int
test_forwarded(void)
{
    enum ratelimit_fwd x = RATELIMIT_FWD_XFF, f = RATELIMIT_FWD_FORWARDED;
    int rc = 0;

    /* X-Forwarded-For: the right-most address that is not a proxy. */
    CHECK_STR(fwd(x, "192.0.2.1", NULL), "192.0.2.1");
    CHECK_STR(fwd(x, "198.51.100.9, 192.0.2.1, 10.0.0.5", NULL),
        "192.0.2.1");
    CHECK_STR(fwd(x, "198.51.100.9", "192.0.2.1 , 10.1.2.3"), "192.0.2.1");
    /* Junk on the left stops the walk at the last address seen. */
    CHECK_STR(fwd(x, "junk, 10.0.0.7, 10.0.0.5", NULL), "10.0.0.7");
    CHECK_STR(fwd(x, "unknown", NULL), "-");
    CHECK_STR(fwd(x, "192.0.2.1,", NULL), "-");
    /* A blank line names no one; the one before it counts. */
    CHECK_STR(fwd(x, "192.0.2.1", "  "), "192.0.2.1");
    /* No more than max_hops (4) elements are walked. */
    CHECK_STR(fwd(x, "192.0.2.1, 10.0.0.1, 10.0.0.2, 10.0.0.3, 10.0.0.4",
        NULL), "10.0.0.1");
    CHECK_STR(fwd(x, "192.0.2.1, 10.0.0.1, 10.0.0.2, 10.0.0.3",
        "10.0.0.4"), "10.0.0.1");

    /* Forwarded (RFC 7239): the for= of each element. */
    CHECK_STR(fwd(f, "for=192.0.2.43", NULL), "192.0.2.43");
    CHECK_STR(fwd(f, "for=192.0.2.43;proto=https;by=10.0.0.5", NULL),
        "192.0.2.43");
    CHECK_STR(fwd(f, "proto=http; For=\"192.0.2.43:4711\"", NULL),
        "192.0.2.43");
    CHECK_STR(fwd(f, "for=\"[2001:db8:cafe::17]:4711\"", NULL),
        "2001:db8:cafe::17");
    CHECK_STR(fwd(f, "for=198.51.100.1, for=192.0.2.60;proto=http, "
        "for=\"[2001:db8:ff::1]\"", NULL), "192.0.2.60");
    /* A comma inside quotes does not split an element. */
    CHECK_STR(fwd(f, "for=192.0.2.7;ext=\"a,b\"", NULL), "192.0.2.7");
    /* Obfuscated, unknown, missing or escaped: not an address. */
    CHECK_STR(fwd(f, "for=_hidden", NULL), "-");
    CHECK_STR(fwd(f, "for=unknown", NULL), "-");
    CHECK_STR(fwd(f, "proto=https", NULL), "-");
    CHECK_STR(fwd(f, "for=\"192.0.2.\\1\"", NULL), "-");
    CHECK_STR(fwd(f, "for=192.0.2.9, for=unknown;proto=http", NULL), "-");
    CHECK_STR(fwd(f, "for=192.0.2.9, for=_x, for=10.0.0.3", NULL),
        "10.0.0.3");
    /* An X-Forwarded-For list read as Forwarded names no one. */
    CHECK_STR(fwd(f, "192.0.2.1", NULL), "-");
    /* Across lines, from the last. */
    CHECK_STR(fwd(f, "for=198.51.100.2", "for=192.0.2.3, for=10.9.9.9"),
        "192.0.2.3");
out:
    return rc;
}

static const struct check_case cases[] = {
    { "parse", test_parse },
    { "cut", test_cut },
    { "sockaddr", test_sockaddr },
    { "cidr", test_cidr },
    { "forwarded", test_forwarded },
    { "bucket", test_bucket },
    { "counts", test_counts },
    { "bounded", test_bounded },
    { "full", test_full },
    { "expiry", test_expiry },
    { "sizes", test_sizes },
};

CHECK_MAIN(cases)
