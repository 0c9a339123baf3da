/*
 * util: clocks, RFC 3339 times, config durations and sizes, checked
 * number parsing, address parsing. Pure functions, tested in util_test.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

void
util_format_time(int64_t ms, char out[32])
{
    time_t secs = (time_t)(ms / 1000);
    size_t n;
    int frac = (int)(ms % 1000);
    struct tm tm;

    if (frac < 0) {
        frac += 1000;
        secs--;
    }

    gmtime_r(&secs, &tm);
    n = strftime(out, 32, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(out + n, 32 - n, ".%03dZ", frac);
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

int
util_parse_time(const char *s, int64_t *ms)
{
    int y, mo, d, h, mi, sec, frac_ms = 0, off = 0;
    const char *p = s;
    struct tm tm;
    time_t t;

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
    if (*p != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
        mi > 59 || sec > 60)
        return -1;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    t = timegm(&tm);
    if (t == (time_t)-1)
        return -1;
    *ms = ((int64_t)t - (int64_t)off * 60) * 1000 + frac_ms;
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
    char *end;
    double v;

    if (s == NULL || !isdigit((unsigned char)*s))
        return -1;
    errno = 0;
    v = strtod(s, &end);
    if (errno != 0 || v < 0)
        return -1;
    if (*end == '\0') {
        *ms = (int64_t)(v * 1000.0);
        return 0;
    }
    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (strcmp(end, units[i].suffix) == 0) {
            if (v > (double)INT64_MAX / (double)units[i].mult)
                return -1;
            *ms = (int64_t)(v * (double)units[i].mult);
            return 0;
        }
    }
    return -1;
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

        if (close == NULL || close[1] != ':')
            return -1;
        if (util_parse_long(close + 2, 0, 65535, &p) == -1)
            return -1;
        if ((*host = xstrndup(s + 1, (size_t)(close - s - 1))) == NULL)
            return -1;
        *port = (int)p;
        return 0;
    }
    colon = strrchr(s, ':');
    if (colon == NULL || colon == s ||
        util_parse_long(colon + 1, 0, 65535, &p) == -1)
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
