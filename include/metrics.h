/*
 * metrics: named counters, gauges and histograms, rendered in the
 * Prometheus text format by http. Labels are passed as one pair so that
 * escaping happens here, once.
 */
#ifndef INBOXD_METRICS_H
#define INBOXD_METRICS_H

#include <stddef.h>

#include "buf.h"

struct metrics;

enum metrics_type {
    METRICS_COUNTER,
    METRICS_GAUGE,
    METRICS_HISTOGRAM,
};

struct metrics *metrics_new(void);
void metrics_free(struct metrics *m);

/*
 * Declare a family before use: name, type, help text (static strings,
 * borrowed forever). Using an undeclared name is a bug.
 */
void metrics_declare(struct metrics *m, const char *name,
    enum metrics_type type, const char *help);

/* A module's families as one static table, declared at once. */
struct metrics_family_decl {
    const char *name;
    enum metrics_type type;
    const char *help;
};
void metrics_declare_all(struct metrics *m,
    const struct metrics_family_decl *decl, size_t n);

/* Counter += v. label_key may be NULL for no label; the value is escaped. */
void metrics_add(struct metrics *m, const char *name, const char *label_key,
    const char *label_value, double v);
/* Two labels. */
void metrics_add2(struct metrics *m, const char *name, const char *k1,
    const char *v1, const char *k2, const char *v2, double v);
void metrics_set(struct metrics *m, const char *name, const char *label_key,
    const char *label_value, double v);
/* Histogram observation in seconds (fixed buckets 0.5ms .. 10s). */
void metrics_observe(struct metrics *m, const char *name, double seconds);

/* Current value of a counter or gauge; 0 when never set (tests). */
double metrics_get(struct metrics *m, const char *name,
    const char *label_key, const char *label_value);

int metrics_render(struct metrics *m, struct buf *out);

#endif
