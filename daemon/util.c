/*
 * util: clocks, RFC 3339 times, config durations and sizes, checked
 * number parsing, address parsing, UTF-8 checking, reading a whole file.
 * Pure functions but the last, tested in util_test.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "util.h"

int64_t
util_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int64_t
util_mono_us(void)
{
    return (int64_t)(util_mono_ns() / 1000);
}

uint64_t
util_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

char *
util_utoa(char *end, uint64_t u)
{
    do {
        *--end = (char)('0' + u % 10);
        u /= 10;
    } while (u != 0);
    return end;
}

/* n as exactly width digits, zero-padded. */
static char *
util_put_digits(char *p, unsigned n, int width)
{
    for (int i = width - 1; i >= 0; i--) {
        p[i] = (char)('0' + n % 10);
        n /= 10;
    }
    return p + width;
}

/*
 * The proleptic Gregorian date of days since 1970-01-01 (days >= 0), by
 * eras of 400 years (H. Hinnant's civil_from_days): gmtime_r and
 * strftime cost more than the rest of an item's dump together.
 */
static void
util_civil(int64_t days, unsigned *y, unsigned *m, unsigned *d)
{
    int64_t z = days + 719468;
    int64_t era = z / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (unsigned)(yoe + era * 400) + (*m <= 2);
}

void
util_format_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    size_t n;
    int frac = (int)(ms % 1000);
    unsigned y, mo, d, sod;
    struct tm tm;
    char *p;

    if (frac < 0) {
        frac += 1000;
        secs--;
    }
    /* 1970 to 9999, the years RFC 3339 writes in four digits; the rest
     * (never an item's) the long way. */
    if (secs >= 0 && secs <= 253402300799LL) {
        util_civil(secs / 86400, &y, &mo, &d);
        sod = (unsigned)(secs % 86400);
        p = util_put_digits(out, y, 4);
        *p++ = '-';
        p = util_put_digits(p, mo, 2);
        *p++ = '-';
        p = util_put_digits(p, d, 2);
        *p++ = 'T';
        p = util_put_digits(p, sod / 3600, 2);
        *p++ = ':';
        p = util_put_digits(p, sod / 60 % 60, 2);
        *p++ = ':';
        p = util_put_digits(p, sod % 60, 2);
        *p++ = '.';
        p = util_put_digits(p, (unsigned)frac, 3);
        memcpy(p, "Z", 2);
        return;
    }
    if (gmtime_r(&secs, &tm) == NULL) {
        snprintf(out, 32, "1970-01-01T00:00:00.000Z");
        return;
    }
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", frac);
}

int
util_concat(char *dst, size_t dstlen, ...)
{
    const char *s;
    size_t o = 0, n;
    va_list ap;
    int rc = 0;

    va_start(ap, dstlen);
    while ((s = va_arg(ap, const char *)) != NULL) {
        n = strlen(s);
        if (n >= dstlen - o) {
            rc = -1;
            break;
        }
        memcpy(dst + o, s, n);
        o += n;
    }
    va_end(ap);
    if (dstlen > 0)
        dst[o] = '\0';
    return rc;
}

static int
util_digits(const char **p, int n, int *out)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)**p))
            return -1;
        v = v * 10 + (**p - '0');
        (*p)++;
    }
    *out = v;
    return 0;
}

/*
 * Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
 * (H. Hinnant's days_from_civil). Used instead of timegm(3), whose -1
 * error return is also the valid time 1969-12-31T23:59:59Z.
 */
static int64_t
util_days_from_civil(int y, int m, int d)
{
    int64_t era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int
util_days_in_month(int y, int m)
{
    static const int days[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    };

    if (m == 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
        return 29;
    return days[m - 1];
}

int
util_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac_ms = 0, off = 0;
    const char *p = s;
    int64_t t;

    if (util_digits(&p, 4, &y) || *p++ != '-' || util_digits(&p, 2, &mo) ||
        *p++ != '-' || util_digits(&p, 2, &d) ||
        (*p != 'T' && *p != 't' && *p != ' '))
        return -1;
    p++;
    if (util_digits(&p, 2, &h) || *p++ != ':' || util_digits(&p, 2, &mi) ||
        *p++ != ':' || util_digits(&p, 2, &sec))
        return -1;
    if (*p == '.') {
        int scale = 100;

        p++;
        if (!isdigit((unsigned char)*p))
            return -1;
        while (isdigit((unsigned char)*p)) {
            frac_ms += (*p - '0') * scale;
            scale /= 10;
            p++;
        }
    }
    if (*p == 'Z' || *p == 'z') {
        p++;
    } else if (*p == '+' || *p == '-') {
        int sign = *p == '-' ? -1 : 1, oh, om;

        p++;
        if (util_digits(&p, 2, &oh) || *p++ != ':' || util_digits(&p, 2, &om)
            || oh > 23 || om > 59)
            return -1;
        off = sign * (oh * 60 + om);
    } else {
        return -1;
    }
    /* A day past the end of its month is refused, not rolled over. */
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 ||
        d > util_days_in_month(y, mo) || h > 23 || mi > 59 || sec > 60)
        return -1;
    t = util_days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    *ms = (t - (int64_t)off * 60) * 1000 + frac_ms;
    return 0;
}

int
util_parse_long(const char *s, long min, long max, long *out)
{
    char *end;
    long v;

    if (s == NULL || *s == '\0' || isspace((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0' || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int
util_parse_duration_ms(const char *s, int64_t *ms)
{
    static const struct {
        const char *suffix;
        int64_t mult;
    } units[] = {
        {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000},
        {"d", 86400000},
    };
    const char *unit;
    char *end;
    double v, mult = 0;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    /*
     * strtod also takes hex ("0x10") and exponents ("1e3"); a duration
     * is digits with an optional fraction, so it must stop where they do.
     */
    if (errno != 0 || v < 0 || end != s + strspn(s, "0123456789."))
        return -1;
    unit = *end == '\0' ? "s" : end;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(unit, units[i].suffix) == 0)
            mult = (double)units[i].mult;
    /*
     * Round to the nearest ms: 4.1 * 60000 is 245999.99999999997 in
     * binary floating point. 2^63 is exact as a double; anything at or
     * past it does not fit.
     */
    if (mult == 0 || v * mult + 0.5 >= 9223372036854775808.0)
        return -1;
    *ms = (int64_t)(v * mult + 0.5);
    return 0;
}

int
util_parse_size(const char *s, uint64_t *bytes)
{
    static const struct {
        const char *suffix;
        uint64_t mult;
    } units[] = {
        {"", 1}, {"B", 1},
        {"KiB", 1024ULL}, {"MiB", 1024ULL * 1024}, {"GiB", 1024ULL << 20},
        {"KB", 1000ULL}, {"MB", 1000000ULL}, {"GB", 1000000000ULL},
        {"k", 1024ULL}, {"K", 1024ULL}, {"M", 1024ULL * 1024},
    };
    unsigned long long v;
    char *end;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno != 0)
        return -1;
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > UINT64_MAX / units[i].mult)
                return -1;
            *bytes = v * units[i].mult;
            return 0;
        }
    }
    return -1;
}

/* A port is 1..5 plain digits, 0..65535: no sign, no spaces. */
static int
util_parse_port(const char *s, long *port)
{
    size_t n = strspn(s, "0123456789");

    if (n == 0 || n > 5 || s[n] != '\0')
        return -1;
    return util_parse_long(s, 0, 65535, port);
}

int
util_parse_addr(const char *s, char **host, int *port, char **unix_path)
{
    const char *colon;
    long p;

    *host = NULL;
    *unix_path = NULL;
    *port = 0;
    if (util_str_has_prefix(s, "unix:")) {
        if (s[5] != '/')
            return -1;
        return (*unix_path = xstrdup(s + 5)) ? 0 : -1;
    }
    if (*s == '[') {
        const char *close = strchr(s, ']');

        if (close == NULL || close == s + 1 || close[1] != ':')
            return -1;
        if (util_parse_port(close + 2, &p) == -1)
            return -1;
        if ((*host = xstrndup(s + 1, (size_t)(close - s - 1))) == NULL)
            return -1;
        *port = (int)p;
        return 0;
    }
    /* A second colon means a bare IPv6 address: the port is ambiguous. */
    colon = strchr(s, ':');
    if (colon == NULL || colon == s || strchr(colon + 1, ':') != NULL ||
        util_parse_port(colon + 1, &p) == -1)
        return -1;
    if ((*host = xstrndup(s, (size_t)(colon - s))) == NULL)
        return -1;
    *port = (int)p;
    return 0;
}

bool
util_str_has_prefix(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

void
util_instance_name(char *out, size_t len)
{
    uint64_t x = (uint64_t)util_mono_us() ^ ((uint64_t)getpid() << 32) ^
        (uint64_t)util_now_ms();
    char host[64];

    if (gethostname(host, sizeof(host)) == -1)
        snprintf(host, sizeof(host), "localhost");
    host[sizeof(host) - 1] = '\0';
    /* splitmix64's finalizer: the low bits of the clocks mixed in. */
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
    x ^= x >> 31;
    snprintf(out, len, "%s:%ld:%08llx", host, (long)getpid(),
        (unsigned long long)(x & 0xffffffffULL));
}

size_t
util_utf8_seq(const unsigned char *s, size_t len, size_t i)
{
    unsigned char c = s[i];
    unsigned lo = 0x80, hi = 0xbf;
    size_t n;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf)
        n = 1;
    else if (c >= 0xe0 && c <= 0xef)
        n = 2;
    else if (c >= 0xf0 && c <= 0xf4)
        n = 3;
    else
        return 0;
    if (len - i <= n)
        return 0;
    /* The second byte carries the overlong/surrogate/range limits. */
    if (c == 0xe0)
        lo = 0xa0;
    else if (c == 0xed)
        hi = 0x9f;
    else if (c == 0xf0)
        lo = 0x90;
    else if (c == 0xf4)
        hi = 0x8f;
    if (s[i + 1] < lo || s[i + 1] > hi)
        return 0;
    for (size_t k = 2; k <= n; k++)
        if ((s[i + k] & 0xc0) != 0x80)
            return 0;
    return n + 1;
}

bool
util_utf8_valid(const char *str, size_t len, size_t *bad)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, n;

    while (i < len) {
        if ((n = util_utf8_seq(s, len, i)) == 0) {
            if (bad != NULL)
                *bad = i;
            return false;
        }
        i += n;
    }
    return true;
}

void
util_utf8_scrub(char *str)
{
    unsigned char *s = (unsigned char *)str;
    size_t len = strlen(str), i = 0, n;

    while (i < len) {
        if ((n = util_utf8_seq(s, len, i)) == 0) {
            s[i] = '?';
            n = 1;
        }
        i += n;
    }
}

void
util_text_pos(const char *s, size_t off, int *line, int *col)
{
    const char *nl;
    size_t start = 0;

    *line = 1;
    while ((nl = memchr(s + start, '\n', off - start)) != NULL) {
        start = (size_t)(nl - s) + 1;
        if (*line < INT_MAX)
            (*line)++;
    }
    *col = off - start < INT_MAX ? (int)(off - start) + 1 : INT_MAX;
}

char *
util_read_file(const char *path, size_t max, size_t *len, mode_t *mode)
{
    struct stat st;
    char *data = NULL;
    size_t n = 0;
    ssize_t r;
    int fd, saved;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) == -1)
        return NULL;
    if (fstat(fd, &st) == -1)
        goto fail;
    if (S_ISDIR(st.st_mode) || !S_ISREG(st.st_mode)) {
        errno = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
        goto fail;
    }
    if (st.st_size < 0 || (uint64_t)st.st_size > max) {
        errno = EFBIG;
        goto fail;
    }
    if ((data = xmalloc((size_t)st.st_size + 1)) == NULL) {
        errno = ENOMEM;
        goto fail;
    }
    /* Up to the size fstat gave: a file growing meanwhile is cut there. */
    while (n < (size_t)st.st_size) {
        if ((r = read(fd, data + n, (size_t)st.st_size - n)) == -1) {
            if (errno == EINTR)
                continue;
            goto fail;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    data[n] = '\0';
    *len = n;
    if (mode != NULL)
        *mode = st.st_mode;
    return data;
fail:
    saved = errno;
    close(fd);
    /* It may have held a secret (inboxctl's token file). */
    if (data != NULL)
        explicit_bzero(data, (size_t)st.st_size + 1);
    xfree(data);
    errno = saved;
    return NULL;
}
