/*
 * sched: a team's business hours, holidays and on-call rotation, and the
 * time zone arithmetic under them (sched.h; docs/escalation.md). No I/O:
 * the caller reads the zone's TZif file and hands its bytes over.
 *
 * A zone is its list of transitions (instant, offset, DST flag) plus the
 * POSIX TZ rule the file ends with, which governs every instant after
 * the last transition. Business time is a list of intervals per local
 * day, each end turned into an instant on that day with the day's own
 * offsets, so a day that is 23 or 25 hours long counts as such.
 * Questions about an instant walk those intervals from the day before
 * it, merged where they touch, for at most SCHED_LOOKAHEAD_DAYS days.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "sched.h"

#define SCHED_RANGES_MAX        8       /* business ranges per weekday */
#define SCHED_LOOKAHEAD_DAYS    731     /* two years */
#define SCHED_TRANS_MAX         20000   /* transitions in one TZif file */
#define SCHED_NAME_MAX          64
#define SCHED_MEMBERS_MAX       256
#define SCHED_DAY_MS            86400000LL

struct sched_ztype {
    int32_t off;                /* seconds east of UTC */
    bool dst;
};

/* One end of a POSIX TZ rule: a day form and the local time it strikes. */
struct sched_rday {
    char kind;                  /* 'M' (Mm.w.d), 'J' (Jn), 'N' (n) */
    int m, w, d;                /* M: month, week 1..5, weekday; J, N: d */
    int32_t secs;               /* local seconds into that day */
};

struct sched_zone {
    char *name;
    int64_t *trans;             /* transition instants, seconds */
    uint8_t *idx;               /* the type each transition starts */
    size_t ntrans;
    struct sched_ztype *types;
    size_t ntypes;
    bool has_rule;              /* the POSIX TZ rule after the last one */
    int32_t std_off, dst_off;
    bool rule_dst;              /* the rule has daylight saving */
    struct sched_rday start, end;
};

struct sched_range {
    int start, end;             /* minutes of the local day, end <= 1440 */
};

struct sched_override {
    int32_t day;
    char *who;
};

struct sched {
    char *name;
    struct sched_zone *zone;
    struct sched_range hours[7][SCHED_RANGES_MAX];  /* 0: Sunday */
    int nhours[7];
    int32_t *holidays;          /* sorted days */
    size_t nholidays;
    struct sched_override *overrides;   /* sorted by day */
    size_t noverrides;
    char **members;             /* the rotation; none when nmembers is 0 */
    size_t nmembers;
    bool weekly;
    int handover_wday;
    int handover_min;           /* minute of the local day */
    int32_t start_day;          /* a handover day; the first member's */
    char *backup;
    char *lead;
};

static const char *const sched_wdays[7] = {
    "sun", "mon", "tue", "wed", "thu", "fri", "sat",
};

/* --------------------------------------------------------------- math */

static int64_t
sched_floordiv(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
sched_floormod(int64_t a, int64_t b)
{
    return a - sched_floordiv(a, b) * b;
}

/* H. Hinnant's days_from_civil and civil_from_days. */
int32_t
sched_days_from_civil(int y, int m, int d)
{
    int era, yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = y - era * 400;
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void
sched_civil_from_days(int32_t days, int *y, int *m, int *d)
{
    int32_t z = days + 719468;
    int era = (z >= 0 ? z : z - 146096) / 146097;
    int doe = z - era * 146097;
    int yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp + (mp < 10 ? 3 : -9);
    *y = yoe + era * 400 + (*m <= 2);
}

int
sched_weekday(int32_t days)
{
    return (int)sched_floormod((int64_t)days + 4, 7);
}

static bool
sched_is_leap(int y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
sched_month_days(int y, int m)
{
    static const int len[12] = {
        31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31,
    };

    return m == 2 && sched_is_leap(y) ? 29 : len[m - 1];
}

/* n digits exactly; -1 otherwise. */
static int
sched_digits(const char *s, int n)
{
    int v = 0;

    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    return v;
}

int
sched_parse_date(const char *s, int32_t *days)
{
    int y, m, d;

    if (s == NULL || strlen(s) != 10 || s[4] != '-' || s[7] != '-' ||
        (y = sched_digits(s, 4)) < 1970 || (m = sched_digits(s + 5, 2)) < 1 ||
        m > 12 || (d = sched_digits(s + 8, 2)) < 1 ||
        d > sched_month_days(y, m))
        return -1;
    *days = sched_days_from_civil(y, m, d);
    return 0;
}

/* "HH:MM" (24:00 allowed when end) into minutes; -1 when not. */
static int
sched_parse_hhmm(const char *s, size_t len, bool end)
{
    int h, m;

    if (len != 5 || s[2] != ':' || (h = sched_digits(s, 2)) < 0 ||
        (m = sched_digits(s + 3, 2)) < 0 || m > 59)
        return -1;
    if (h == 24 && m == 0 && end)
        return 1440;
    return h > 23 ? -1 : h * 60 + m;
}

/* -------------------------------------------------------------- zones */

static uint32_t
sched_be32(const unsigned char *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 |
        p[3];
}

static int64_t
sched_be64(const unsigned char *p)
{
    return (int64_t)((uint64_t)sched_be32(p) << 32 | sched_be32(p + 4));
}

void
sched_zone_free(struct sched_zone *z)
{
    if (z == NULL)
        return;
    xfree(z->name);
    xfree(z->trans);
    xfree(z->idx);
    xfree(z->types);
    xfree(z);
}

const char *
sched_zone_name(const struct sched_zone *z)
{
    return z->name;
}

bool
sched_zone_name_ok(const char *name)
{
    size_t n = name != NULL ? strlen(name) : 0;

    if (n == 0 || n > 128 || name[0] == '/' || strstr(name, "..") != NULL)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = name[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("/_+-", c) != NULL))
            return false;
    }
    return true;
}

/* A POSIX TZ name: <...> or three or more letters. */
static const char *
sched_tz_name(const char *p)
{
    const char *s = p;

    if (*p == '<') {
        while (*p != '\0' && *p != '>')
            p++;
        return *p == '>' ? p + 1 : NULL;
    }
    while ((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z'))
        p++;
    return p - s >= 3 ? p : NULL;
}

/* [+-]h[h][:mm[:ss]] into seconds; hours up to max. NULL when not. */
static const char *
sched_tz_time(const char *p, int max, int32_t *secs)
{
    int sign = 1, part[3] = { 0, 0, 0 }, n = 0;

    if (*p == '+' || *p == '-')
        sign = *p++ == '-' ? -1 : 1;
    while (n < 3) {
        int v = 0, digits = 0;

        while (*p >= '0' && *p <= '9' && digits < 3) {
            v = v * 10 + (*p++ - '0');
            digits++;
        }
        if (digits == 0)
            return NULL;
        part[n++] = v;
        if (*p != ':')
            break;
        p++;
    }
    if (part[0] > max || part[1] > 59 || part[2] > 59)
        return NULL;
    *secs = sign * (part[0] * 3600 + part[1] * 60 + part[2]);
    return p;
}

static const char *
sched_tz_num(const char *p, int *v)
{
    int digits = 0;

    *v = 0;
    while (*p >= '0' && *p <= '9' && digits < 4) {
        *v = *v * 10 + (*p++ - '0');
        digits++;
    }
    return digits > 0 ? p : NULL;
}

/* ",Mm.w.d[/time]" or ",Jn[/time]" or ",n[/time]". */
static const char *
sched_tz_rday(const char *p, struct sched_rday *r)
{
    if (*p++ != ',')
        return NULL;
    r->secs = 7200;
    if (*p == 'M') {
        r->kind = 'M';
        if ((p = sched_tz_num(p + 1, &r->m)) == NULL || *p++ != '.' ||
            (p = sched_tz_num(p, &r->w)) == NULL || *p++ != '.' ||
            (p = sched_tz_num(p, &r->d)) == NULL || r->m < 1 || r->m > 12 ||
            r->w < 1 || r->w > 5 || r->d > 6)
            return NULL;
    } else if (*p == 'J') {
        r->kind = 'J';
        if ((p = sched_tz_num(p + 1, &r->d)) == NULL || r->d < 1 ||
            r->d > 365)
            return NULL;
    } else {
        r->kind = 'N';
        if ((p = sched_tz_num(p, &r->d)) == NULL || r->d > 365)
            return NULL;
    }
    if (*p == '/')
        p = sched_tz_time(p + 1, 167, &r->secs);
    return p;
}

/* Parse a POSIX TZ string into z's rule. -1 when it does not parse. */
static int
sched_tz_rule(struct sched_zone *z, const char *tz)
{
    const char *p = tz;
    int32_t off;

    if ((p = sched_tz_name(p)) == NULL ||
        (p = sched_tz_time(p, 24, &off)) == NULL)
        return -1;
    z->std_off = -off;          /* POSIX counts west of Greenwich */
    z->dst_off = z->std_off + 3600;
    z->rule_dst = false;
    if (*p != '\0') {
        if ((p = sched_tz_name(p)) == NULL)
            return -1;
        z->rule_dst = true;
        if (*p != ',' && *p != '\0') {
            if ((p = sched_tz_time(p, 24, &off)) == NULL)
                return -1;
            z->dst_off = -off;
        }
        if (*p == '\0') {
            /* No rule given: the US rules, as POSIX leaves it to us. */
            z->start = (struct sched_rday){ 'M', 3, 2, 0, 7200 };
            z->end = (struct sched_rday){ 'M', 11, 1, 0, 7200 };
        } else if ((p = sched_tz_rday(p, &z->start)) == NULL ||
            (p = sched_tz_rday(p, &z->end)) == NULL || *p != '\0') {
            return -1;
        }
    }
    z->has_rule = true;
    return 0;
}

/* The local day (days since the epoch) a rule end falls on in year y. */
static int32_t
sched_rday_day(const struct sched_rday *r, int y)
{
    int32_t jan1 = sched_days_from_civil(y, 1, 1), first, day;

    switch (r->kind) {
    case 'J':
        return jan1 + r->d - 1 + (sched_is_leap(y) && r->d >= 60);
    case 'N':
        return jan1 + r->d;
    default:
        first = sched_days_from_civil(y, r->m, 1);
        day = first + (r->d - sched_weekday(first) + 7) % 7 + (r->w - 1) * 7;
        while (day >= first + sched_month_days(y, r->m))
            day -= 7;
        return day;
    }
}

/* The rule's offset at instant ts (seconds). */
static int32_t
sched_rule_offset(const struct sched_zone *z, int64_t ts, bool *dst)
{
    int y, m, d;
    int64_t s, e;
    bool in;

    *dst = false;
    if (!z->rule_dst)
        return z->std_off;
    sched_civil_from_days((int32_t)sched_floordiv(ts + z->std_off, 86400),
        &y, &m, &d);
    /* A start is struck in standard time, an end in daylight time. */
    s = (int64_t)sched_rday_day(&z->start, y) * 86400 + z->start.secs -
        z->std_off;
    e = (int64_t)sched_rday_day(&z->end, y) * 86400 + z->end.secs -
        z->dst_off;
    in = s < e ? (ts >= s && ts < e) : !(ts >= e && ts < s);
    *dst = in;
    return in ? z->dst_off : z->std_off;
}

static struct sched_zone *
sched_zone_new(const char *name)
{
    struct sched_zone *z;

    if ((z = xcalloc(1, sizeof(*z))) == NULL)
        return NULL;
    if ((z->name = xstrdup(name)) == NULL) {
        xfree(z);
        return NULL;
    }
    return z;
}

struct sched_zone *
sched_zone_posix(const char *name, const char *tz, char *err, size_t errlen)
{
    struct sched_zone *z;

    if ((z = sched_zone_new(name)) == NULL) {
        snprintf(err, errlen, "out of memory");
        return NULL;
    }
    if (sched_tz_rule(z, tz) == -1) {
        snprintf(err, errlen, "not a POSIX TZ string");
        sched_zone_free(z);
        return NULL;
    }
    return z;
}

/* The counts of a TZif header at p. */
struct sched_tzif_hdr {
    uint32_t isut, isstd, leap, time, type, chars;
};

static size_t
sched_tzif_block(const struct sched_tzif_hdr *h, size_t tsize)
{
    return (size_t)h->time * tsize + h->time + (size_t)h->type * 6 +
        h->chars + (size_t)h->leap * (tsize + 4) + h->isstd + h->isut;
}

static void
sched_tzif_read_hdr(const unsigned char *p, struct sched_tzif_hdr *h)
{
    h->isut = sched_be32(p + 20);
    h->isstd = sched_be32(p + 24);
    h->leap = sched_be32(p + 28);
    h->time = sched_be32(p + 32);
    h->type = sched_be32(p + 36);
    h->chars = sched_be32(p + 40);
}

struct sched_zone *
sched_zone_parse(const char *name, const void *data, size_t len, char *err,
    size_t errlen)
{
    const unsigned char *p = data, *b, *end = p + len;
    struct sched_tzif_hdr h;
    struct sched_zone *z = NULL;
    size_t tsize = 4, off;
    char footer[128];

    if (len < 44 || memcmp(p, "TZif", 4) != 0) {
        snprintf(err, errlen, "not a TZif file");
        return NULL;
    }
    sched_tzif_read_hdr(p, &h);
    off = 44;
    if (p[4] >= '2') {
        /* Skip the 32-bit block: the 64-bit one after it is complete. */
        if (h.time > SCHED_TRANS_MAX || h.type > 256 || h.leap > 1000 ||
            off + sched_tzif_block(&h, 4) + 44 > len)
            goto bad;
        b = p + off + sched_tzif_block(&h, 4);
        if (memcmp(b, "TZif", 4) != 0)
            goto bad;
        sched_tzif_read_hdr(b, &h);
        off = (size_t)(b - p) + 44;
        tsize = 8;
    }
    if (h.time > SCHED_TRANS_MAX || h.type == 0 || h.type > 256 ||
        h.leap > 1000 || h.chars > 4096 ||
        off + sched_tzif_block(&h, tsize) > len)
        goto bad;
    if ((z = sched_zone_new(name)) == NULL)
        goto oom;
    b = p + off;
    z->ntrans = h.time;
    z->ntypes = h.type;
    if ((z->ntrans > 0 && ((z->trans = xcalloc(z->ntrans,
        sizeof(*z->trans))) == NULL || (z->idx = xcalloc(z->ntrans, 1)) ==
        NULL)) || (z->types = xcalloc(z->ntypes, sizeof(*z->types))) ==
        NULL)
        goto oom;
    for (size_t i = 0; i < z->ntrans; i++) {
        z->trans[i] = tsize == 8 ? sched_be64(b + i * 8) :
            (int64_t)(int32_t)sched_be32(b + i * 4);
        if (i > 0 && z->trans[i] <= z->trans[i - 1])
            goto bad;
    }
    b += z->ntrans * tsize;
    for (size_t i = 0; i < z->ntrans; i++) {
        if ((z->idx[i] = b[i]) >= z->ntypes)
            goto bad;
    }
    b += z->ntrans;
    for (size_t i = 0; i < z->ntypes; i++) {
        int32_t o = (int32_t)sched_be32(b + i * 6);

        if (o < -25 * 3600 || o > 26 * 3600)
            goto bad;
        z->types[i].off = o;
        z->types[i].dst = b[i * 6 + 4] != 0;
    }
    b = p + off + sched_tzif_block(&h, tsize);
    /* v2+: "\n<POSIX TZ>\n" for the instants after the last transition. */
    if (tsize == 8 && b < end && *b == '\n') {
        const unsigned char *nl = memchr(b + 1, '\n', (size_t)(end - b - 1));
        size_t n = nl != NULL ? (size_t)(nl - b - 1) : 0;

        if (nl != NULL && n > 0 && n < sizeof(footer)) {
            memcpy(footer, b + 1, n);
            footer[n] = '\0';
            if (sched_tz_rule(z, footer) == -1)
                goto bad;
        }
    }
    return z;

bad:
    snprintf(err, errlen, "a damaged or unsupported TZif file");
    sched_zone_free(z);
    return NULL;
oom:
    snprintf(err, errlen, "out of memory");
    sched_zone_free(z);
    return NULL;
}

static int32_t
sched_zone_offset_s(const struct sched_zone *z, int64_t ts)
{
    size_t lo, hi;
    bool dst;

    if (z->ntrans == 0 || ts < z->trans[0]) {
        if (z->ntrans == 0 && z->has_rule)
            return sched_rule_offset(z, ts, &dst);
        return z->types != NULL ? z->types[0].off : 0;
    }
    if (ts >= z->trans[z->ntrans - 1] && z->has_rule)
        return sched_rule_offset(z, ts, &dst);
    /* The last transition at or before ts. */
    lo = 0;
    hi = z->ntrans;
    while (hi - lo > 1) {
        size_t mid = lo + (hi - lo) / 2;

        if (z->trans[mid] <= ts)
            lo = mid;
        else
            hi = mid;
    }
    return z->types[z->idx[lo]].off;
}

int32_t
sched_zone_offset(const struct sched_zone *z, int64_t t_ms)
{
    return sched_zone_offset_s(z, sched_floordiv(t_ms, 1000));
}

int64_t
sched_zone_from_local(const struct sched_zone *z, int64_t local_ms)
{
    int64_t l = sched_floordiv(local_ms, 1000), frac = local_ms - l * 1000;
    int32_t before = sched_zone_offset_s(z, l - 86400);
    int32_t after = sched_zone_offset_s(z, l + 86400);
    bool ok1 = sched_zone_offset_s(z, l - before) == before;
    bool ok2 = sched_zone_offset_s(z, l - after) == after;
    int64_t t;

    if (ok1 && ok2)
        t = (l - before) < (l - after) ? l - before : l - after;
    else if (ok1)
        t = l - before;
    else if (ok2)
        t = l - after;
    else
        t = l - before;     /* in a gap: the offset before it */
    return t * 1000 + frac;
}

/* ----------------------------------------------------------- schedules */

const char *
sched_name(const struct sched *s)
{
    return s->name;
}

const struct sched_zone *
sched_zone(const struct sched *s)
{
    return s->zone;
}

static int32_t
sched_local_day(const struct sched *s, int64_t t)
{
    return (int32_t)sched_floordiv(t + (int64_t)sched_zone_offset(s->zone,
        t) * 1000, SCHED_DAY_MS);
}

/* The instant of minute min of local day day. */
static int64_t
sched_at(const struct sched *s, int32_t day, int min)
{
    return sched_zone_from_local(s->zone, (int64_t)day * SCHED_DAY_MS +
        (int64_t)min * 60000);
}

static bool
sched_is_holiday(const struct sched *s, int32_t day)
{
    size_t lo = 0, hi = s->nholidays;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->holidays[mid] == day)
            return true;
        if (s->holidays[mid] < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return false;
}

/* Business intervals in order, merged where they touch. */
struct sched_iter {
    const struct sched *s;
    int32_t day, last;
    int64_t raw[SCHED_RANGES_MAX][2];
    int nraw, iraw;
    bool have;
    int64_t pa, pb;
};

static void
sched_iter_init(struct sched_iter *it, const struct sched *s, int64_t t)
{
    memset(it, 0, sizeof(*it));
    it->s = s;
    it->day = sched_local_day(s, t) - 1;
    it->last = it->day + SCHED_LOOKAHEAD_DAYS;
}

static bool
sched_iter_raw(struct sched_iter *it, int64_t *a, int64_t *b)
{
    const struct sched *s = it->s;

    while (it->iraw >= it->nraw) {
        int w;

        if (it->day > it->last)
            return false;
        it->nraw = it->iraw = 0;
        w = sched_weekday(it->day);
        if (!sched_is_holiday(s, it->day)) {
            for (int i = 0; i < s->nhours[w]; i++) {
                int64_t x = sched_at(s, it->day, s->hours[w][i].start);
                int64_t y = sched_at(s, it->day, s->hours[w][i].end);

                if (y > x) {
                    it->raw[it->nraw][0] = x;
                    it->raw[it->nraw][1] = y;
                    it->nraw++;
                }
            }
        }
        it->day++;
    }
    *a = it->raw[it->iraw][0];
    *b = it->raw[it->iraw][1];
    it->iraw++;
    return true;
}

static bool
sched_iter_next(struct sched_iter *it, int64_t *a, int64_t *b)
{
    int64_t na, nb;

    if (!it->have && !sched_iter_raw(it, &it->pa, &it->pb))
        return false;
    *a = it->pa;
    *b = it->pb;
    it->have = false;
    while (sched_iter_raw(it, &na, &nb)) {
        if (na <= *b) {
            if (nb > *b)
                *b = nb;
            continue;
        }
        it->pa = na;
        it->pb = nb;
        it->have = true;
        return true;
    }
    /* Business time up to the horizon is business time without end. */
    if (*b >= sched_at(it->s, it->last, 0))
        *b = SCHED_NEVER;
    return true;
}

bool
sched_is_business(const struct sched *s, int64_t t)
{
    struct sched_iter it;
    int64_t a, b;

    sched_iter_init(&it, s, t);
    while (sched_iter_next(&it, &a, &b) && a <= t) {
        if (t < b)
            return true;
    }
    return false;
}

int64_t
sched_next_business_change(const struct sched *s, int64_t t)
{
    struct sched_iter it;
    int64_t a, b;

    sched_iter_init(&it, s, t);
    while (sched_iter_next(&it, &a, &b)) {
        if (b <= t)
            continue;
        return a > t ? a : b;
    }
    return SCHED_NEVER;
}

int64_t
sched_business_ms_between(const struct sched *s, int64_t a, int64_t b)
{
    struct sched_iter it;
    int64_t x, y, sum = 0;

    if (b <= a)
        return 0;
    sched_iter_init(&it, s, a);
    while (sched_iter_next(&it, &x, &y) && x < b) {
        if (y <= a)
            continue;
        sum += (y < b ? y : b) - (x > a ? x : a);
    }
    return sum;
}

int64_t
sched_business_add(const struct sched *s, int64_t a, int64_t ms)
{
    struct sched_iter it;
    int64_t x, y;

    sched_iter_init(&it, s, a);
    while (sched_iter_next(&it, &x, &y)) {
        int64_t from = x > a ? x : a;

        if (y <= a)
            continue;
        if (ms <= y - from)
            return from + ms;
        ms -= y - from;
    }
    return SCHED_NEVER;
}

/* ------------------------------------------------------------ on call */

/*
 * The rotation's shift covering t: its number since start_day, and the
 * local day it began on.
 */
static int64_t
sched_shift(const struct sched *s, int64_t t, int32_t *begin)
{
    int period = s->weekly ? 7 : 1;
    int32_t d = sched_local_day(s, t);

    if (s->weekly)
        d -= (sched_weekday(d) - s->handover_wday + 7) % 7;
    if (t < sched_at(s, d, s->handover_min))
        d -= period;
    *begin = d;
    return sched_floordiv((int64_t)d - s->start_day, period);
}

static const char *
sched_override(const struct sched *s, int32_t day)
{
    size_t lo = 0, hi = s->noverrides;

    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;

        if (s->overrides[mid].day == day)
            return s->overrides[mid].who;
        if (s->overrides[mid].day < day)
            lo = mid + 1;
        else
            hi = mid;
    }
    return NULL;
}

static const char *
sched_who(const struct sched *s, int64_t t)
{
    const char *o;
    int32_t begin;
    int64_t k;

    if ((o = sched_override(s, sched_local_day(s, t))) != NULL)
        return o;
    if (s->nmembers == 0)
        return NULL;
    k = sched_shift(s, t, &begin);
    return s->members[sched_floormod(k, (int64_t)s->nmembers)];
}

int64_t
sched_next_handover(const struct sched *s, int64_t t)
{
    int32_t begin;

    if (s->nmembers == 0)
        return SCHED_NEVER;
    sched_shift(s, t, &begin);
    return sched_at(s, begin + (s->weekly ? 7 : 1), s->handover_min);
}

static bool
sched_same(const char *a, const char *b)
{
    return a == b || (a != NULL && b != NULL && strcmp(a, b) == 0);
}

void
sched_oncall_at(const struct sched *s, int64_t t, struct sched_oncall *out)
{
    int64_t tt = t, c, k;
    int32_t begin;
    const char *w;

    memset(out, 0, sizeof(*out));
    out->oncall = sched_who(s, t);
    out->lead = s->lead;
    out->next_at = SCHED_NEVER;
    if (s->backup != NULL) {
        out->backup = s->backup;
    } else if (s->nmembers > 1) {
        /* The member after the shift's own, skipping whoever covers. */
        k = sched_shift(s, t, &begin);
        for (int64_t i = 1; i < (int64_t)s->nmembers; i++) {
            w = s->members[sched_floormod(k + i, (int64_t)s->nmembers)];
            if (!sched_same(w, out->oncall)) {
                out->backup = w;
                break;
            }
        }
    }
    if (sched_same(out->backup, out->oncall))
        out->backup = NULL;
    /* Walk handovers and, with overrides, midnights, to the next change. */
    for (int i = 0; i < 400; i++) {
        c = sched_next_handover(s, tt);
        if (s->noverrides > 0) {
            int64_t mid = sched_at(s, sched_local_day(s, tt) + 1, 0);

            if (mid < c)
                c = mid;
        }
        if (c == SCHED_NEVER || c <= tt)
            break;
        w = sched_who(s, c);
        if (!sched_same(w, out->oncall)) {
            out->next_at = c;
            out->next = w;
            break;
        }
        tt = c;
    }
}

bool
sched_names(const struct sched *s, const char *person)
{
    for (size_t i = 0; i < s->nmembers; i++) {
        if (strcmp(s->members[i], person) == 0)
            return true;
    }
    for (size_t i = 0; i < s->noverrides; i++) {
        if (strcmp(s->overrides[i].who, person) == 0)
            return true;
    }
    return sched_same(s->backup, person) || sched_same(s->lead, person);
}

/* ------------------------------------------------------------- parsing */

struct sched_pctx {
    sched_err_fn *err;
    void *arg;
    int nerr;
};

static void __attribute__((format(printf, 4, 5)))
sched_err(struct sched_pctx *p, const char *path, const char *key,
    const char *fmt, ...)
{
    char full[256], msg[256];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (key != NULL)
        snprintf(full, sizeof(full), "%s.%s", path, key);
    else
        snprintf(full, sizeof(full), "%s", path);
    p->nerr++;
    p->err(p->arg, full, msg);
}

static bool
sched_person_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > SCHED_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("_.-@", c) != NULL))
            return false;
    }
    return true;
}

/* A person's name at path.key, copied into *out; complains otherwise. */
static void
sched_person(struct sched_pctx *p, const char *path, const char *key,
    json_t *v, char **out)
{
    const char *s = json_string_value(v);

    if (!sched_person_ok(s)) {
        sched_err(p, path, key, "expected a person's name "
            "([A-Za-z0-9_.@-]{1,64})");
        return;
    }
    if ((*out = xstrdup(s)) == NULL)
        sched_err(p, path, key, "out of memory");
}

static int
sched_wday_from(const char *s)
{
    for (int i = 0; i < 7; i++) {
        if (strcmp(s, sched_wdays[i]) == 0)
            return i;
    }
    return -1;
}

/* "09:00-12:00,13:00-17:00" or "closed" into day w's ranges. */
static void
sched_parse_ranges(struct sched_pctx *p, struct sched *s, const char *path,
    const char *key, const char *v, int w)
{
    const char *q = v;

    s->nhours[w] = 0;
    if (v == NULL) {
        sched_err(p, path, key, "expected \"HH:MM-HH:MM\" ranges or closed");
        return;
    }
    if (strcmp(v, "closed") == 0 || *v == '\0')
        return;
    while (*q != '\0') {
        const char *comma = strchr(q, ','), *dash;
        size_t n = comma != NULL ? (size_t)(comma - q) : strlen(q);
        int a, b;

        while (n > 0 && *q == ' ') {
            q++;
            n--;
        }
        while (n > 0 && q[n - 1] == ' ')
            n--;
        dash = memchr(q, '-', n);
        if (dash == NULL ||
            (a = sched_parse_hhmm(q, (size_t)(dash - q), false)) < 0 ||
            (b = sched_parse_hhmm(dash + 1, n - (size_t)(dash - q) - 1,
            true)) < 0) {
            sched_err(p, path, key, "expected \"HH:MM-HH:MM\" ranges "
                "(comma separated) or closed");
            return;
        }
        if (b <= a) {
            sched_err(p, path, key, "a range must end after it starts "
                "(a night shift is two ranges: \"22:00-24:00\" and the next "
                "day's \"00:00-06:00\")");
            return;
        }
        if (s->nhours[w] > 0 && a < s->hours[w][s->nhours[w] - 1].end) {
            sched_err(p, path, key, "ranges must be in order and must not "
                "overlap");
            return;
        }
        if (s->nhours[w] == SCHED_RANGES_MAX) {
            sched_err(p, path, key, "at most %d ranges a day",
                SCHED_RANGES_MAX);
            return;
        }
        s->hours[w][s->nhours[w]].start = a;
        s->hours[w][s->nhours[w]].end = b;
        s->nhours[w]++;
        q = comma != NULL ? comma + 1 : q + n;
        if (comma == NULL)
            break;
    }
}

static void
sched_parse_hours(struct sched_pctx *p, struct sched *s, const char *path,
    json_t *hours)
{
    char sub[256];
    const char *k;
    json_t *v;
    bool given[7] = { false };

    snprintf(sub, sizeof(sub), "%s.hours", path);
    if (!json_is_object(hours)) {
        sched_err(p, sub, NULL, "expected a mapping of weekdays (mon..sun, "
            "weekdays, weekend) to hours");
        return;
    }
    /* Single days first, so they win over weekdays and weekend. */
    json_object_foreach(hours, k, v) {
        int w = sched_wday_from(k);

        if (w >= 0) {
            sched_parse_ranges(p, s, sub, k, json_string_value(v), w);
            given[w] = true;
        } else if (strcmp(k, "weekdays") != 0 && strcmp(k, "weekend") != 0) {
            sched_err(p, sub, k, "unknown key (mon..sun, weekdays, weekend)");
        }
    }
    json_object_foreach(hours, k, v) {
        bool wk = strcmp(k, "weekdays") == 0;

        if (!wk && strcmp(k, "weekend") != 0)
            continue;
        for (int w = 0; w < 7; w++) {
            bool in = wk ? (w >= 1 && w <= 5) : (w == 0 || w == 6);

            if (in && !given[w])
                sched_parse_ranges(p, s, sub, k, json_string_value(v), w);
        }
    }
}

static int
sched_day_cmp(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;

    return x < y ? -1 : x > y;
}

static int
sched_override_cmp(const void *a, const void *b)
{
    return sched_day_cmp(&((const struct sched_override *)a)->day,
        &((const struct sched_override *)b)->day);
}

static void
sched_parse_holidays(struct sched_pctx *p, struct sched *s, const char *path,
    json_t *list)
{
    char sub[256];
    json_t *v;
    size_t i;

    snprintf(sub, sizeof(sub), "%s.holidays", path);
    if (!json_is_array(list)) {
        sched_err(p, sub, NULL, "expected a list of dates (YYYY-MM-DD)");
        return;
    }
    if (json_array_size(list) == 0)
        return;
    if ((s->holidays = xcalloc(json_array_size(list),
        sizeof(*s->holidays))) == NULL) {
        sched_err(p, sub, NULL, "out of memory");
        return;
    }
    json_array_foreach(list, i, v) {
        char at[32];

        snprintf(at, sizeof(at), "[%zu]", i);
        if (sched_parse_date(json_string_value(v),
            &s->holidays[s->nholidays]) == -1) {
            sched_err(p, sub, NULL, "%s: expected a date (YYYY-MM-DD)", at);
            continue;
        }
        s->nholidays++;
    }
    qsort(s->holidays, s->nholidays, sizeof(*s->holidays), sched_day_cmp);
}

static void
sched_parse_overrides(struct sched_pctx *p, struct sched *s,
    const char *path, json_t *map)
{
    char sub[256];
    const char *k;
    json_t *v;

    snprintf(sub, sizeof(sub), "%s.overrides", path);
    if (!json_is_object(map)) {
        sched_err(p, sub, NULL, "expected a mapping of dates to people");
        return;
    }
    if (json_object_size(map) == 0)
        return;
    if ((s->overrides = xcalloc(json_object_size(map),
        sizeof(*s->overrides))) == NULL) {
        sched_err(p, sub, NULL, "out of memory");
        return;
    }
    json_object_foreach(map, k, v) {
        struct sched_override *o = &s->overrides[s->noverrides];

        if (sched_parse_date(k, &o->day) == -1) {
            sched_err(p, sub, k, "expected a date (YYYY-MM-DD) as the key");
            continue;
        }
        sched_person(p, sub, k, v, &o->who);
        if (o->who != NULL)
            s->noverrides++;
    }
    qsort(s->overrides, s->noverrides, sizeof(*s->overrides),
        sched_override_cmp);
}

static void
sched_parse_rotation(struct sched_pctx *p, struct sched *s, const char *path,
    json_t *rot)
{
    static const char *const keys[] = {
        "members", "handover", "day", "at", "start", NULL,
    };
    char sub[256];
    json_t *members, *v;
    const char *k, *hv;
    size_t i;
    int32_t start = -1;

    snprintf(sub, sizeof(sub), "%s.rotation", path);
    if (!json_is_object(rot)) {
        sched_err(p, sub, NULL, "expected a mapping (members, handover, "
            "day, at, start)");
        return;
    }
    json_object_foreach(rot, k, v) {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
            ;
        if (keys[i] == NULL)
            sched_err(p, sub, k, "unknown key");
    }
    members = json_object_get(rot, "members");
    if (!json_is_array(members) || json_array_size(members) == 0 ||
        json_array_size(members) > SCHED_MEMBERS_MAX) {
        sched_err(p, sub, "members", "expected a list of 1 to %d people",
            SCHED_MEMBERS_MAX);
        return;
    }
    if ((s->members = xcalloc(json_array_size(members),
        sizeof(*s->members))) == NULL) {
        sched_err(p, sub, "members", "out of memory");
        return;
    }
    json_array_foreach(members, i, v) {
        sched_person(p, sub, "members", v, &s->members[s->nmembers]);
        if (s->members[s->nmembers] != NULL)
            s->nmembers++;
    }
    hv = json_string_value(json_object_get(rot, "handover"));
    s->weekly = hv == NULL || strcmp(hv, "weekly") == 0;
    if (hv != NULL && !s->weekly && strcmp(hv, "daily") != 0)
        sched_err(p, sub, "handover", "expected weekly or daily");
    s->handover_wday = 1;
    if ((v = json_object_get(rot, "day")) != NULL) {
        if (!s->weekly)
            sched_err(p, sub, "day", "only a weekly handover has a day");
        else if ((s->handover_wday = sched_wday_from(json_string_value(v) ?
            json_string_value(v) : "")) < 0)
            sched_err(p, sub, "day", "expected mon, tue, ... or sun");
    }
    s->handover_min = 9 * 60;
    if ((v = json_object_get(rot, "at")) != NULL &&
        (!json_is_string(v) || (s->handover_min = sched_parse_hhmm(
        json_string_value(v), strlen(json_string_value(v)), false)) < 0))
        sched_err(p, sub, "at", "expected a local time HH:MM");
    if ((v = json_object_get(rot, "start")) != NULL &&
        sched_parse_date(json_string_value(v), &start) == -1)
        sched_err(p, sub, "start", "expected a date (YYYY-MM-DD)");
    if (start < 0) {
        /* The first handover day on or after 1970-01-01. */
        start = s->weekly ? (s->handover_wday - sched_weekday(0) + 7) % 7 : 0;
    } else if (s->weekly && s->handover_wday >= 0 &&
        sched_weekday(start) != s->handover_wday) {
        sched_err(p, sub, "start", "must be a %s, the handover day",
            sched_wdays[s->handover_wday]);
    }
    s->start_day = start;
}

void
sched_free(struct sched *s)
{
    if (s == NULL)
        return;
    xfree(s->name);
    sched_zone_free(s->zone);
    xfree(s->holidays);
    for (size_t i = 0; i < s->noverrides; i++)
        xfree(s->overrides[i].who);
    xfree(s->overrides);
    for (size_t i = 0; i < s->nmembers; i++)
        xfree(s->members[i]);
    xfree(s->members);
    xfree(s->backup);
    xfree(s->lead);
    xfree(s);
}

struct sched *
sched_parse(const char *name, json_t *def, const char *path,
    sched_zone_fn *zone_fn, void *zone_arg, sched_err_fn *err,
    void *err_arg)
{
    static const char *const keys[] = {
        "timezone", "hours", "holidays", "rotation", "overrides", "backup",
        "lead", NULL,
    };
    struct sched_pctx p = { err, err_arg, 0 };
    struct sched *s;
    char why[160];
    const char *k, *tz;
    json_t *v;
    size_t i;

    if (!json_is_object(def)) {
        sched_err(&p, path, NULL, "expected a mapping (timezone, hours, "
            "holidays, rotation, overrides, backup, lead)");
        return NULL;
    }
    if ((s = xcalloc(1, sizeof(*s))) == NULL ||
        (s->name = xstrdup(name)) == NULL) {
        sched_err(&p, path, NULL, "out of memory");
        sched_free(s);
        return NULL;
    }
    json_object_foreach(def, k, v) {
        for (i = 0; keys[i] != NULL && strcmp(keys[i], k) != 0; i++)
            ;
        if (keys[i] == NULL)
            sched_err(&p, path, k, "unknown key");
    }
    tz = json_string_value(json_object_get(def, "timezone"));
    if (tz == NULL || !sched_zone_name_ok(tz))
        sched_err(&p, path, "timezone", "expected an IANA time zone name "
            "(Europe/Berlin, America/New_York, UTC)");
    else if ((s->zone = zone_fn(zone_arg, tz, why, sizeof(why))) == NULL)
        sched_err(&p, path, "timezone", "%s", why);
    if ((v = json_object_get(def, "hours")) != NULL)
        sched_parse_hours(&p, s, path, v);
    if ((v = json_object_get(def, "holidays")) != NULL)
        sched_parse_holidays(&p, s, path, v);
    if ((v = json_object_get(def, "rotation")) != NULL)
        sched_parse_rotation(&p, s, path, v);
    if ((v = json_object_get(def, "overrides")) != NULL)
        sched_parse_overrides(&p, s, path, v);
    if ((v = json_object_get(def, "backup")) != NULL)
        sched_person(&p, path, "backup", v, &s->backup);
    if ((v = json_object_get(def, "lead")) != NULL)
        sched_person(&p, path, "lead", v, &s->lead);
    if (p.nerr > 0) {
        sched_free(s);
        return NULL;
    }
    return s;
}
