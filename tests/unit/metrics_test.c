/* metrics: counters, gauges, histograms and the Prometheus rendering. */
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "metrics.h"

static int
test_counter_and_labels(void)
{
    struct metrics *m = metrics_new();
    struct buf b;
    int rc = 0;

    buf_init(&b, 1 << 20);
    CHECK(m != NULL);
    metrics_declare(m, "x_total", METRICS_COUNTER, "Things.");
    metrics_add(m, "x_total", "platform", "facebook", 1);
    metrics_add(m, "x_total", "platform", "facebook", 2);
    metrics_add(m, "x_total", "platform", "vk", 1);
    CHECK(metrics_get(m, "x_total", "platform", "facebook") == 3);
    CHECK(metrics_get(m, "x_total", "platform", "vk") == 1);
    CHECK(metrics_get(m, "x_total", "platform", "none") == 0);
    CHECK(metrics_render(m, &b) == 0);
    CHECK_CONTAINS(b.data, "# HELP x_total Things.\n# TYPE x_total counter\n");
    CHECK_CONTAINS(b.data, "x_total{platform=\"facebook\"} 3\n");
    CHECK_CONTAINS(b.data, "x_total{platform=\"vk\"} 1\n");
    /* First-seen order is kept. */
    CHECK(strstr(b.data, "facebook") < strstr(b.data, "vk"));
out:
    buf_free(&b);
    metrics_free(m);
    return rc;
}

static int
test_label_escaping(void)
{
    struct metrics *m = metrics_new();
    struct buf b;
    int rc = 0;

    buf_init(&b, 1 << 20);
    metrics_declare(m, "r_total", METRICS_COUNTER, "Rules.");
    metrics_add2(m, "r_total", "rule", "a\"b\\c\nd", "k", "v", 1);
    CHECK(metrics_render(m, &b) == 0);
    CHECK_CONTAINS(b.data, "r_total{rule=\"a\\\"b\\\\c\\nd\",k=\"v\"} 1\n");
out:
    buf_free(&b);
    metrics_free(m);
    return rc;
}

static int
test_gauge_and_fraction(void)
{
    struct metrics *m = metrics_new();
    struct buf b;
    int rc = 0;

    buf_init(&b, 1 << 20);
    metrics_declare(m, "g", METRICS_GAUGE, "A gauge.");
    metrics_set(m, "g", NULL, NULL, 5);
    metrics_set(m, "g", NULL, NULL, 2.5);
    CHECK(metrics_get(m, "g", NULL, NULL) == 2.5);
    CHECK(metrics_render(m, &b) == 0);
    CHECK_CONTAINS(b.data, "# TYPE g gauge\ng 2.5\n");
out:
    buf_free(&b);
    metrics_free(m);
    return rc;
}

static int
test_histogram(void)
{
    struct metrics *m = metrics_new();
    struct buf b;
    int rc = 0;

    buf_init(&b, 1 << 20);
    metrics_declare(m, "lat_seconds", METRICS_HISTOGRAM, "Latency.");
    metrics_observe(m, "lat_seconds", 0.0003);
    metrics_observe(m, "lat_seconds", 0.003);
    metrics_observe(m, "lat_seconds", 30);
    CHECK(metrics_get(m, "lat_seconds", NULL, NULL) == 3);
    CHECK(metrics_render(m, &b) == 0);
    CHECK_CONTAINS(b.data, "lat_seconds_bucket{le=\"0.0005\"} 1\n");
    CHECK_CONTAINS(b.data, "lat_seconds_bucket{le=\"0.005\"} 2\n");
    CHECK_CONTAINS(b.data, "lat_seconds_bucket{le=\"10\"} 2\n");
    CHECK_CONTAINS(b.data, "lat_seconds_bucket{le=\"+Inf\"} 3\n");
    CHECK_CONTAINS(b.data, "lat_seconds_count 3\n");
    CHECK_CONTAINS(b.data, "lat_seconds_sum 30.003300\n");
out:
    buf_free(&b);
    metrics_free(m);
    return rc;
}

static int
test_many_series_and_cap(void)
{
    struct metrics *m = metrics_new();
    char v[32];
    int rc = 0;

    metrics_declare(m, "c_total", METRICS_COUNTER, "Many.");
    for (int i = 0; i < 5000; i++) {
        snprintf(v, sizeof(v), "v%d", i);
        metrics_add(m, "c_total", "k", v, 1);
    }
    /* Rehashing kept every early series; the cap stopped the rest. */
    CHECK(metrics_get(m, "c_total", "k", "v0") == 1);
    CHECK(metrics_get(m, "c_total", "k", "v4095") == 1);
    CHECK(metrics_get(m, "c_total", "k", "v4096") == 0);
    /* Undeclared names are ignored, not crashed on. */
    metrics_add(m, "undeclared", NULL, NULL, 1);
    CHECK(metrics_get(m, "undeclared", NULL, NULL) == 0);
out:
    metrics_free(m);
    return rc;
}

static const struct check_case cases[] = {
    {"counter_and_labels", test_counter_and_labels},
    {"label_escaping", test_label_escaping},
    {"gauge_and_fraction", test_gauge_and_fraction},
    {"histogram", test_histogram},
    {"many_series_and_cap", test_many_series_and_cap},
};

CHECK_MAIN(cases)
