/*
 * metrics: counters, gauges and histograms kept in memory and rendered in
 * the Prometheus text exposition format for GET /metrics.
 *
 * A family is declared once (name, type, help). Each distinct label set of
 * a family is a series, found through a small open-addressing hash keyed
 * by the rendered "name{labels}" string, so the hot path is one hash and
 * one compare. Series are rendered in the order they first appeared.
 */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "log.h"
#include "metrics.h"

/* Upper bounds of histogram buckets, seconds; +Inf is implicit. */
static const double metrics_buckets[] = {
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
    5, 10,
};
#define METRICS_NBUCKETS (sizeof(metrics_buckets) / sizeof(metrics_buckets[0]))
/* Label sets per family are bounded so a hostile value cannot grow memory. */
#define METRICS_MAX_SERIES 4096

struct metrics_series {
    char *key;                  /* "name{k=\"v\"}" as rendered */
    struct metrics_family *fam;
    double value;               /* counter/gauge, or histogram sum */
    uint64_t count;             /* histogram observations */
    uint64_t *buckets;          /* histogram, cumulative at render time */
    struct metrics_series *next;    /* family order */
};

struct metrics_family {
    const char *name;
    const char *help;
    enum metrics_type type;
    size_t nseries;
    struct metrics_series *head;
    struct metrics_series **tail;
    struct metrics_family *next;
};

struct metrics {
    struct metrics_family *families;
    struct metrics_family **ftail;
    struct metrics_series **slots;  /* open addressing, power of two */
    size_t nslots;
    size_t nused;
};

static uint64_t
metrics_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;    /* FNV-1a */

    for (; *s; s++) {
        h ^= (unsigned char)*s;
        h *= 1099511628211ULL;
    }
    return h;
}

struct metrics *
metrics_new(void)
{
    struct metrics *m = xcalloc(1, sizeof(*m));

    if (m == NULL)
        return NULL;
    m->ftail = &m->families;
    m->nslots = 256;
    if ((m->slots = xcalloc(m->nslots, sizeof(*m->slots))) == NULL) {
        xfree(m);
        return NULL;
    }
    return m;
}

void
metrics_free(struct metrics *m)
{
    struct metrics_family *f, *fn;
    struct metrics_series *s, *sn;

    if (m == NULL)
        return;
    for (f = m->families; f; f = fn) {
        fn = f->next;
        for (s = f->head; s; s = sn) {
            sn = s->next;
            xfree(s->key);
            xfree(s->buckets);
            xfree(s);
        }
        xfree(f);
    }
    xfree(m->slots);
    xfree(m);
}

static struct metrics_family *
metrics_family(struct metrics *m, const char *name)
{
    for (struct metrics_family *f = m->families; f; f = f->next) {
        if (strcmp(f->name, name) == 0)
            return f;
    }
    return NULL;
}

void
metrics_declare(struct metrics *m, const char *name, enum metrics_type type,
    const char *help)
{
    struct metrics_family *f;

    if (m == NULL || metrics_family(m, name) != NULL)
        return;
    if ((f = xcalloc(1, sizeof(*f))) == NULL)
        return;
    f->name = name;
    f->help = help;
    f->type = type;
    f->tail = &f->head;
    *m->ftail = f;
    m->ftail = &f->next;
}

void
metrics_declare_all(struct metrics *m, const struct metrics_family_decl *decl,
    size_t n)
{
    for (size_t i = 0; i < n; i++)
        metrics_declare(m, decl[i].name, decl[i].type, decl[i].help);
}

/* Append v as a label value with Prometheus escaping. */
static size_t
metrics_escape(char *dst, size_t room, const char *v)
{
    size_t o = 0;

    for (; *v && o + 2 < room; v++) {
        if (*v == '\\' || *v == '"') {
            dst[o++] = '\\';
            dst[o++] = *v;
        } else if (*v == '\n') {
            dst[o++] = '\\';
            dst[o++] = 'n';
        } else {
            dst[o++] = *v;
        }
    }
    dst[o] = '\0';
    return o;
}

/* Append s at key + o, bounded by len (NUL kept); returns the new o. */
static size_t
metrics_put(char *key, size_t o, size_t len, const char *s)
{
    size_t n = strlen(s);

    if (o >= len)
        return o;
    if (n > len - 1 - o)
        n = len - 1 - o;
    memcpy(key + o, s, n);
    key[o + n] = '\0';
    return o + n;
}

/*
 * The series key: name{k1="v1",k2="v2"}. Built with memcpy rather than
 * snprintf: it runs for every counter bump, several times per item.
 */
static void
metrics_key(char *key, size_t len, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2)
{
    size_t o;

    key[0] = '\0';
    o = metrics_put(key, 0, len, name);
    if (k1 == NULL || o >= len - 8)
        return;
    o = metrics_put(key, o, len, "{");
    o = metrics_put(key, o, len, k1);
    o = metrics_put(key, o, len, "=\"");
    o += metrics_escape(key + o, len - o - 4, v1 ? v1 : "");
    if (k2 != NULL && o < len - 8) {
        o = metrics_put(key, o, len, "\",");
        o = metrics_put(key, o, len, k2);
        o = metrics_put(key, o, len, "=\"");
        o += metrics_escape(key + o, len - o - 4, v2 ? v2 : "");
    }
    metrics_put(key, o, len, "\"}");
}

static int
metrics_rehash(struct metrics *m)
{
    size_t n = m->nslots * 2;
    struct metrics_series **slots = xcalloc(n, sizeof(*slots));

    if (slots == NULL)
        return -1;
    for (size_t i = 0; i < m->nslots; i++) {
        struct metrics_series *s = m->slots[i];
        size_t j;

        if (s == NULL)
            continue;
        j = metrics_hash(s->key) & (n - 1);
        while (slots[j] != NULL)
            j = (j + 1) & (n - 1);
        slots[j] = s;
    }
    xfree(m->slots);
    m->slots = slots;
    m->nslots = n;
    return 0;
}

/* Find or create the series for a key; NULL on OOM or too many series. */
static struct metrics_series *
metrics_series(struct metrics *m, const char *name, const char *key,
    bool create)
{
    struct metrics_family *f;
    struct metrics_series *s;
    size_t i;

    for (i = metrics_hash(key) & (m->nslots - 1); (s = m->slots[i]) != NULL;
        i = (i + 1) & (m->nslots - 1)) {
        if (strcmp(s->key, key) == 0)
            return s;
    }
    if (!create)
        return NULL;
    if ((f = metrics_family(m, name)) == NULL) {
        log_warnx("metric %s used before it was declared", name);
        return NULL;
    }
    if (f->nseries >= METRICS_MAX_SERIES)
        return NULL;
    if ((s = xcalloc(1, sizeof(*s))) == NULL)
        return NULL;
    if ((s->key = xstrdup(key)) == NULL)
        goto fail;
    if (f->type == METRICS_HISTOGRAM &&
        (s->buckets = xcalloc(METRICS_NBUCKETS, sizeof(uint64_t))) == NULL)
        goto fail;
    s->fam = f;
    m->slots[i] = s;
    *f->tail = s;
    f->tail = &s->next;
    f->nseries++;
    if (++m->nused * 2 > m->nslots)
        metrics_rehash(m);
    return s;
fail:
    xfree(s->key);
    xfree(s);
    return NULL;
}

void
metrics_add2(struct metrics *m, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, double v)
{
    struct metrics_series *s;
    char key[512];

    if (m == NULL)
        return;
    metrics_key(key, sizeof(key), name, k1, v1, k2, v2);
    if ((s = metrics_series(m, name, key, true)) != NULL)
        s->value += v;
}

void
metrics_add(struct metrics *m, const char *name, const char *label_key,
    const char *label_value, double v)
{
    metrics_add2(m, name, label_key, label_value, NULL, NULL, v);
}

void
metrics_set(struct metrics *m, const char *name, const char *label_key,
    const char *label_value, double v)
{
    struct metrics_series *s;
    char key[512];

    if (m == NULL)
        return;
    metrics_key(key, sizeof(key), name, label_key, label_value, NULL, NULL);
    if ((s = metrics_series(m, name, key, true)) != NULL)
        s->value = v;
}

void
metrics_observe(struct metrics *m, const char *name, double seconds)
{
    struct metrics_series *s;

    if (m == NULL || (s = metrics_series(m, name, name, true)) == NULL ||
        s->buckets == NULL)
        return;
    s->value += seconds;
    s->count++;
    for (size_t i = 0; i < METRICS_NBUCKETS; i++) {
        if (seconds <= metrics_buckets[i]) {
            s->buckets[i]++;
            break;
        }
    }
}

double
metrics_get(struct metrics *m, const char *name, const char *label_key,
    const char *label_value)
{
    struct metrics_series *s;
    char key[512];

    if (m == NULL)
        return 0;
    metrics_key(key, sizeof(key), name, label_key, label_value, NULL, NULL);
    s = metrics_series(m, name, key, false);
    if (s == NULL)
        return 0;
    return s->fam->type == METRICS_HISTOGRAM ? (double)s->count : s->value;
}

static const char *
metrics_type_name(enum metrics_type t)
{
    switch (t) {
    case METRICS_COUNTER:
        return "counter";
    case METRICS_GAUGE:
        return "gauge";
    case METRICS_HISTOGRAM:
        return "histogram";
    }
    return "untyped";
}

static int
metrics_render_histogram(struct buf *out, const struct metrics_series *s)
{
    uint64_t cum = 0;

    for (size_t i = 0; i < METRICS_NBUCKETS; i++) {
        cum += s->buckets[i];
        if (buf_printf(out, "%s_bucket{le=\"%g\"} %llu\n", s->fam->name,
            metrics_buckets[i], (unsigned long long)cum) == -1)
            return -1;
    }
    return buf_printf(out, "%s_bucket{le=\"+Inf\"} %llu\n%s_sum %.6f\n"
        "%s_count %llu\n", s->fam->name, (unsigned long long)s->count,
        s->fam->name, s->value, s->fam->name, (unsigned long long)s->count);
}

int
metrics_render(struct metrics *m, struct buf *out)
{
    for (struct metrics_family *f = m->families; f; f = f->next) {
        if (buf_printf(out, "# HELP %s %s\n# TYPE %s %s\n", f->name, f->help,
            f->name, metrics_type_name(f->type)) == -1)
            return -1;
        for (struct metrics_series *s = f->head; s; s = s->next) {
            int rc;

            if (f->type == METRICS_HISTOGRAM)
                rc = metrics_render_histogram(out, s);
            else if (isfinite(s->value) &&
                s->value == (double)(int64_t)s->value)
                rc = buf_printf(out, "%s %lld\n", s->key,
                    (long long)s->value);
            else
                rc = buf_printf(out, "%s %g\n", s->key, s->value);
            if (rc == -1)
                return -1;
        }
    }
    return 0;
}
