/*
 * util_test: RFC 3339 parsing and formatting, config durations and sizes,
 * checked integer parsing, listen-address parsing, UTF-8 checking and
 * whole-file reading.
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "check.h"
#include "util.h"

/* 2026-11-23T09:40:00Z */
#define UTIL_TEST_T0 1795426800000LL

static int
test_parse_time_utc(void)
{
    int rc = 0;
    int64_t ms = -1;

    CHECK(util_parse_time("2026-11-23T09:40:00Z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("2026-11-23t09:40:00z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("2026-11-23 09:40:00Z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("1970-01-01T00:00:00Z", &ms) == 0);
    CHECK(ms == 0);
    CHECK(util_parse_time("2024-02-29T12:00:00Z", &ms) == 0);
    CHECK(ms == 1709208000000LL);
    CHECK(util_parse_time("2000-03-01T00:00:00Z", &ms) == 0);
    CHECK(ms == 951868800000LL);
    CHECK(util_parse_time("9999-12-31T23:59:59Z", &ms) == 0);
    CHECK(ms == 253402300799000LL);
    /* One second before the epoch is a real time, not an error (-1). */
    CHECK(util_parse_time("1969-12-31T23:59:59Z", &ms) == 0);
    CHECK(ms == -1000);
out:
    return rc;
}

static int
test_parse_time_offsets(void)
{
    int rc = 0;
    int64_t ms = -1;

    CHECK(util_parse_time("2026-11-23T12:40:00+03:00", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("2026-11-23T04:10:00-05:30", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("2026-11-23T09:40:00+00:00", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    CHECK(util_parse_time("2026-11-23T09:40:00-00:00", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0);
    /* Crossing a day and a year boundary. */
    CHECK(util_parse_time("2027-01-01T02:00:00+03:00", &ms) == 0);
    CHECK(ms == 1798758000000LL);
out:
    return rc;
}

static int
test_parse_time_fraction(void)
{
    int rc = 0;
    int64_t ms = -1;

    CHECK(util_parse_time("2026-11-23T09:40:00.1Z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0 + 100);
    CHECK(util_parse_time("2026-11-23T09:40:00.123Z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0 + 123);
    /* Sub-millisecond digits are cut, not rounded. */
    CHECK(util_parse_time("2026-11-23T09:40:00.123999999Z", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0 + 123);
    CHECK(util_parse_time("2026-11-23T12:40:00.500+03:00", &ms) == 0);
    CHECK(ms == UTIL_TEST_T0 + 500);
out:
    return rc;
}

static int
test_parse_time_bad(void)
{
    static const char *const bad[] = {
        "", "2026", "2026-11-23", "2026-11-23T09:40Z",
        "2026-11-23T09:40:00", "2026-11-23T09:40:00+0300",
        "2026-11-23T09:40:00+03", "2026-11-23T09:40:00.Z",
        "2026-11-23T09:40:00ZZ", "2026-11-23T09:40:00Z ",
        " 2026-11-23T09:40:00Z", "2026-13-01T00:00:00Z",
        "2026-00-01T00:00:00Z", "2026-11-00T00:00:00Z",
        "2026-11-32T00:00:00Z", "2026-11-23T24:00:00Z",
        "2026-11-23T09:60:00Z", "2026-11-23T09:40:61Z",
        "2026-11-23T09:40:00+24:00", "2026-11-23T09:40:00+03:60",
        "2026/11/23T09:40:00Z", "2026-11-23X09:40:00Z",
        "yesterday", "1795426800",
        /* Days past the end of their month must not roll over. */
        "2026-02-29T00:00:00Z", "2024-02-30T00:00:00Z",
        "2026-04-31T00:00:00Z", "1900-02-29T00:00:00Z",
    };
    int rc = 0;
    int64_t ms;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        ms = 42;
        if (util_parse_time(bad[i], &ms) != -1) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
out:
    return rc;
}

static int
test_format_time(void)
{
    static const int64_t times[] = {
        0, 1, 999, 1000, UTIL_TEST_T0, UTIL_TEST_T0 + 123,
        1709208000000LL, 253402300799999LL, -1, -1000, -1500,
    };
    int rc = 0;
    char buf[32];
    int64_t back;

    util_format_time(UTIL_TEST_T0 + 7, buf);
    CHECK_STR(buf, "2026-11-23T09:40:00.007Z");
    util_format_time(0, buf);
    CHECK_STR(buf, "1970-01-01T00:00:00.000Z");
    util_format_time(-1, buf);
    CHECK_STR(buf, "1969-12-31T23:59:59.999Z");
    CHECK(strlen(buf) == 24);
    for (size_t i = 0; i < sizeof(times) / sizeof(times[0]); i++) {
        util_format_time(times[i], buf);
        CHECK(util_parse_time(buf, &back) == 0);
        CHECK(back == times[i]);
    }
out:
    return rc;
}

/* What util_format_time wrote before its fast path: gmtime and strftime. */
static void
util_test_format_libc(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    int frac = (int)(ms % 1000);
    struct tm tm;
    size_t n;

    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    gmtime_r(&secs, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", frac);
}

/* The fast path against the C library, at edges and over 400 years. */
static int
test_format_time_libc(void)
{
    static const int64_t edges[] = {
        0, 86399999, 86400000, 951782400000LL, 951868800000LL,
        4107542400000LL, 4107628800000LL, 253402300799999LL,
        253402300800000LL, 253402300800001LL, -86400000, -62135596800000LL,
    };
    char got[32], want[32];
    uint64_t x = 88172645463325252ULL;
    int rc = 0;

    for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
        util_format_time(edges[i], got);
        util_test_format_libc(edges[i], want);
        CHECK_STR(got, want);
    }
    for (int i = 0; i < 200000; i++) {
        int64_t ms;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        ms = (int64_t)(x % 253402300800000ULL);
        util_format_time(ms, got);
        util_test_format_libc(ms, want);
        CHECK_STR(got, want);
    }
out:
    return rc;
}

static int
test_concat(void)
{
    char buf[8];
    int rc = 0;

    CHECK(util_concat(buf, sizeof(buf), "vk", ":", "1_2", NULL) == 0);
    CHECK_STR(buf, "vk:1_2");
    CHECK(util_concat(buf, sizeof(buf), NULL) == 0);
    CHECK_STR(buf, "");
    /* Seven bytes fit with the NUL; eight do not. */
    CHECK(util_concat(buf, sizeof(buf), "abc", "defg", NULL) == 0);
    CHECK_STR(buf, "abcdefg");
    CHECK(util_concat(buf, sizeof(buf), "abc", "defgh", NULL) == -1);
    CHECK_STR(buf, "abc");
    CHECK(util_concat(buf, 0, "a", NULL) == -1);
out:
    return rc;
}

static int
test_parse_duration(void)
{
    static const struct {
        const char *s;
        int64_t ms;
    } good[] = {
        {"250ms", 250}, {"10s", 10000}, {"5m", 300000}, {"2h", 7200000},
        {"30d", 2592000000LL}, {"10", 10000}, {"0", 0}, {"0s", 0},
        {"1.5s", 1500}, {"0.5", 500}, {"1.5h", 5400000},
        /* Not exact in binary; must not truncate to one ms less. */
        {"1.001s", 1001}, {"4.1m", 246000}, {"2.3h", 8280000},
        {"1.001", 1001}, {"9223372036854775000ms", 9223372036854774784LL},
    };
    static const char *const bad[] = {
        "", "s", "-5s", "+5s", " 5s", "5 s", "5sec", "5S", "5y", "ms",
        "1e3", "1e3s", "0x10", "0x10s", "1.2.3s", ".5s", "nan", "inf",
        "1e400", "99999999999999999999d", "9223372036854775807",
        "9223372036854775807ms", "1e18d",
    };
    int rc = 0;
    int64_t ms;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = -1;
        if (util_parse_duration_ms(good[i].s, &ms) != 0 ||
            ms != good[i].ms) {
            fprintf(stderr, "  \"%s\" -> %lld\n", good[i].s, (long long)ms);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (util_parse_duration_ms(bad[i], &ms) != -1) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(util_parse_duration_ms(NULL, &ms) == -1);
out:
    return rc;
}

static int
test_parse_size(void)
{
    static const struct {
        const char *s;
        uint64_t bytes;
    } good[] = {
        {"512", 512}, {"0", 0}, {"512B", 512}, {"64KiB", 65536},
        {"1MiB", 1048576}, {"1GiB", 1073741824}, {"2KB", 2000},
        {"3MB", 3000000}, {"1GB", 1000000000}, {"4k", 4096},
        {"4K", 4096}, {"2M", 2097152},
        {"18446744073709551615", UINT64_MAX},
        {"17179869183GiB", 17179869183ULL << 30},
    };
    static const char *const bad[] = {
        "", "KiB", "-1", "+1", " 1", "1 KiB", "1kib", "1TiB", "1.5MiB",
        "0x10", "1KiBs", "18446744073709551616", "17179869184GiB",
        "18446744073709552KB",
    };
    int rc = 0;
    uint64_t b;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        b = 1;
        if (util_parse_size(good[i].s, &b) != 0 || b != good[i].bytes) {
            fprintf(stderr, "  \"%s\" -> %llu\n", good[i].s,
                (unsigned long long)b);
            CHECK(0);
        }
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (util_parse_size(bad[i], &b) != -1) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
    }
    CHECK(util_parse_size(NULL, &b) == -1);
out:
    return rc;
}

static int
test_parse_long(void)
{
    int rc = 0;
    long v = 0;

    CHECK(util_parse_long("42", 0, 100, &v) == 0);
    CHECK(v == 42);
    CHECK(util_parse_long("-7", -10, 10, &v) == 0);
    CHECK(v == -7);
    CHECK(util_parse_long("0", 0, 0, &v) == 0);
    CHECK(v == 0);
    CHECK(util_parse_long("100", 0, 100, &v) == 0);
    CHECK(v == 100);
    CHECK(util_parse_long("9223372036854775807", 0, LONG_MAX, &v) == 0);
    CHECK(v == LONG_MAX);

    v = 5;
    /* Junk. */
    CHECK(util_parse_long("", 0, 100, &v) == -1);
    CHECK(util_parse_long(NULL, 0, 100, &v) == -1);
    CHECK(util_parse_long("abc", 0, 100, &v) == -1);
    CHECK(util_parse_long("12abc", 0, 100, &v) == -1);
    CHECK(util_parse_long("12 ", 0, 100, &v) == -1);
    CHECK(util_parse_long(" 12", 0, 100, &v) == -1);
    CHECK(util_parse_long("1.5", 0, 100, &v) == -1);
    CHECK(util_parse_long("-", 0, 100, &v) == -1);
    /* Overflow. */
    CHECK(util_parse_long("9223372036854775808", LONG_MIN, LONG_MAX,
        &v) == -1);
    CHECK(util_parse_long("-9223372036854775809", LONG_MIN, LONG_MAX,
        &v) == -1);
    CHECK(util_parse_long("99999999999999999999999", LONG_MIN, LONG_MAX,
        &v) == -1);
    /* Range. */
    CHECK(util_parse_long("101", 0, 100, &v) == -1);
    CHECK(util_parse_long("-1", 0, 100, &v) == -1);
    /* A failure leaves the output alone. */
    CHECK(v == 5);
out:
    return rc;
}

static int
test_parse_addr_good(void)
{
    int rc = 0, port = -1;
    char *host = NULL, *path = NULL;

    CHECK(util_parse_addr("127.0.0.1:8080", &host, &port, &path) == 0);
    CHECK_STR(host, "127.0.0.1");
    CHECK(port == 8080);
    CHECK(path == NULL);
    XFREE(&host);

    CHECK(util_parse_addr("localhost:0", &host, &port, &path) == 0);
    CHECK_STR(host, "localhost");
    CHECK(port == 0);
    XFREE(&host);

    CHECK(util_parse_addr("[::1]:80", &host, &port, &path) == 0);
    CHECK_STR(host, "::1");
    CHECK(port == 80);
    CHECK(path == NULL);
    XFREE(&host);

    CHECK(util_parse_addr("[2001:db8::1]:65535", &host, &port, &path) == 0);
    CHECK_STR(host, "2001:db8::1");
    CHECK(port == 65535);
    XFREE(&host);

    CHECK(util_parse_addr("unix:/run/inboxd/redis.sock", &host, &port,
        &path) == 0);
    CHECK(host == NULL);
    CHECK(port == 0);
    CHECK_STR(path, "/run/inboxd/redis.sock");
    XFREE(&path);
out:
    xfree(host);
    xfree(path);
    return rc;
}

static int
test_parse_addr_bad(void)
{
    static const char *const bad[] = {
        "", "localhost", "localhost:", ":80", "host:http", "host:65536",
        "host:-1", "host:+80", "host: 80", "host:80 ", "[::1]", "[::1]80",
        "[::1:80", "[]:80", "::1:80", "unix:", "unix:relative.sock",
        "127.0.0.1:99999999999999999999",
    };
    int rc = 0, port;
    char *host = NULL, *path = NULL;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (util_parse_addr(bad[i], &host, &port, &path) != -1) {
            fprintf(stderr, "  accepted \"%s\"\n", bad[i]);
            CHECK(0);
        }
        CHECK(host == NULL);
        CHECK(path == NULL);
    }
out:
    xfree(host);
    xfree(path);
    return rc;
}

static int
test_parse_addr_oom(void)
{
    int rc = 0, port, r;
    char *host = NULL, *path = NULL;

    alloc_fail_after(1);
    r = util_parse_addr("[::1]:80", &host, &port, &path);
    alloc_fail_after(0);
    CHECK(r == -1);
    CHECK(host == NULL);
    alloc_fail_after(1);
    r = util_parse_addr("unix:/tmp/x", &host, &port, &path);
    alloc_fail_after(0);
    CHECK(r == -1);
    CHECK(path == NULL);
out:
    alloc_fail_after(0);
    xfree(host);
    xfree(path);
    return rc;
}

static int
test_clocks_and_prefix(void)
{
    int rc = 0;
    int64_t a, b;

    /* After 2020 and monotonic. */
    CHECK(util_now_ms() > 1577836800000LL);
    a = util_mono_us();
    b = util_mono_us();
    CHECK(b >= a);
    CHECK(util_str_has_prefix("unix:/x", "unix:"));
    CHECK(util_str_has_prefix("abc", ""));
    CHECK(!util_str_has_prefix("uni", "unix:"));
    CHECK(!util_str_has_prefix("Unix:/x", "unix:"));
out:
    return rc;
}

static int
test_utf8_valid(void)
{
    static const struct {
        const char *s;
        size_t len, bad;        /* bad == len: valid */
    } t[] = {
        { "", 0, 0 },
        { "plain ascii", 11, 11 },
        { "caf\xc3\xa9 \xd0\x9f \xe2\x82\xac \xf0\x9f\x98\x80", 17, 17 },
        { "a\0b", 3, 3 },                    /* NUL is a character */
        { "ab\xff", 3, 2 },                   /* never in UTF-8 */
        { "a\x80", 2, 1 },                    /* lone continuation */
        { "\xc0\xaf", 2, 0 },                 /* overlong '/' */
        { "x\xe0\x80\xaf", 4, 1 },            /* overlong, 3 bytes */
        { "\xed\xa0\x80", 3, 0 },             /* a surrogate */
        { "\xf4\x90\x80\x80", 4, 0 },         /* past U+10FFFF */
        { "ok\xe2\x82", 4, 2 },               /* cut short */
        { "\xe2\x28\xa1", 3, 0 },             /* bad second byte */
        { "\xf0\x9f\x98\x28", 4, 0 },         /* bad fourth byte */
    };
    size_t bad;
    int rc = 0;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        bad = 12345;
        CHECK(util_utf8_valid(t[i].s, t[i].len, &bad) ==
            (t[i].bad == t[i].len));
        if (t[i].bad != t[i].len)
            CHECK(bad == t[i].bad);
        else
            CHECK(bad == 12345);
    }
    CHECK(!util_utf8_valid("\xff", 1, NULL));
out:
    return rc;
}

static int
test_utf8_scrub(void)
{
    static const struct {
        const char *in, *out;
    } t[] = {
        { "", "" },
        { "caf\xc3\xa9 \xf0\x9f\x98\x80", "caf\xc3\xa9 \xf0\x9f\x98\x80" },
        { "near '\"\\ud80\xcf'", "near '\"\\ud80?'" },   /* cut char */
        { "\xff\xfe", "??" },
        { "\xc0\xaf.", "??." },                         /* overlong */
        { "\xed\xa0\x80.", "???." },                    /* surrogate */
        { "\xe2\x82\xe2\x82\xac", "??\xe2\x82\xac" },    /* cut, whole */
    };
    char buf[64];
    int rc = 0;

    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
        snprintf(buf, sizeof(buf), "%s", t[i].in);
        util_utf8_scrub(buf);
        CHECK_STR(buf, t[i].out);
        CHECK(util_utf8_valid(buf, strlen(buf), NULL));
    }
out:
    return rc;
}

static int
test_text_pos(void)
{
    const char *s = "ab\ncd\n\nefg";
    int line, col, rc = 0;

    util_text_pos(s, 0, &line, &col);
    CHECK(line == 1 && col == 1);
    util_text_pos(s, 2, &line, &col);       /* the first '\n' */
    CHECK(line == 1 && col == 3);
    util_text_pos(s, 3, &line, &col);
    CHECK(line == 2 && col == 1);
    util_text_pos(s, 6, &line, &col);       /* the empty line */
    CHECK(line == 3 && col == 1);
    util_text_pos(s, 9, &line, &col);
    CHECK(line == 4 && col == 3);
out:
    return rc;
}

static int
test_read_file(void)
{
    char path[] = "/tmp/util-test-XXXXXX", *data = NULL;
    size_t len = 0;
    int fd, rc = 0;

    CHECK((fd = mkstemp(path)) != -1);
    CHECK(write(fd, "hello\0world", 11) == 11);
    close(fd);
    CHECK((data = util_read_file(path, 11, &len, NULL)) != NULL);
    CHECK(len == 11 && memcmp(data, "hello\0world", 12) == 0);
    XFREE(&data);
    /* One byte over the limit. */
    CHECK(util_read_file(path, 10, &len, NULL) == NULL && errno == EFBIG);
    CHECK(util_read_file("/tmp", 1 << 20, &len, NULL) == NULL && errno == EISDIR);
    CHECK(util_read_file("/nonexistent/x", 1 << 20, &len, NULL) == NULL &&
        errno == ENOENT);
    alloc_fail_after(1);
    data = util_read_file(path, 11, &len, NULL);
    alloc_fail_after(0);
    CHECK(data == NULL && errno == ENOMEM);
out:
    xfree(data);
    unlink(path);
    return rc;
}

static const struct check_case cases[] = {
    {"parse_time_utc", test_parse_time_utc},
    {"parse_time_offsets", test_parse_time_offsets},
    {"parse_time_fraction", test_parse_time_fraction},
    {"parse_time_bad", test_parse_time_bad},
    {"format_time", test_format_time},
    {"format_time_libc", test_format_time_libc},
    {"concat", test_concat},
    {"parse_duration", test_parse_duration},
    {"parse_size", test_parse_size},
    {"parse_long", test_parse_long},
    {"parse_addr_good", test_parse_addr_good},
    {"parse_addr_bad", test_parse_addr_bad},
    {"parse_addr_oom", test_parse_addr_oom},
    {"clocks_and_prefix", test_clocks_and_prefix},
    {"utf8_valid", test_utf8_valid},
    {"utf8_scrub", test_utf8_scrub},
    {"text_pos", test_text_pos},
    {"read_file", test_read_file},
};

CHECK_MAIN(cases)
