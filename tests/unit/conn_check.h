/*
 * conn_check: helpers shared by the connector unit tests (conn_*_test.c):
 * loading sample payloads from tests/data/platforms, comparing an item
 * with the expected wire JSON, and building hostile inputs.
 */
#ifndef INBOXD_CONN_CHECK_H
#define INBOXD_CONN_CHECK_H

#include <stdio.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "connector.h"
#include "item.h"

#ifndef TEST_DATA_DIR
#define TEST_DATA_DIR "tests/data"
#endif
#define CONN_CHECK_DIR TEST_DATA_DIR "/platforms/"

/* The bytes of a sample file, NUL-terminated; xfree it. NULL on error. */
static inline char *
conn_check_load(const char *rel, size_t *len)
{
    char path[512], *buf = NULL;
    size_t n = 0, cap = 0, got;
    FILE *fp;

    snprintf(path, sizeof(path), "%s%s", CONN_CHECK_DIR, rel);
    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "  cannot open %s\n", path);
        return NULL;
    }
    do {
        if (n + 4096 + 1 > cap) {
            char *nb;

            cap = cap ? cap * 2 : 8192;
            if ((nb = xrealloc(buf, cap)) == NULL) {
                xfree(buf);
                fclose(fp);
                return NULL;
            }
            buf = nb;
        }
        got = fread(buf + n, 1, 4096, fp);
        n += got;
    } while (got > 0);
    fclose(fp);
    buf[n] = '\0';
    if (len != NULL)
        *len = n;
    return buf;
}

/* A sample file parsed as JSON (new reference), or NULL. */
static inline json_t *
conn_check_json(const char *rel)
{
    json_error_t jerr;
    json_t *j;
    size_t len;
    char *s = conn_check_load(rel, &len);

    if (s == NULL)
        return NULL;
    if ((j = json_loadb(s, len, 0, &jerr)) == NULL)
        fprintf(stderr, "  %s: %s\n", rel, jerr.text);
    xfree(s);
    return j;
}

static inline void
conn_check_print(const char *label, const json_t *j)
{
    char *s = json_dumps(j, JSON_COMPACT | JSON_SORT_KEYS);
    json_malloc_t malloc_fn;
    json_free_t free_fn;

    fprintf(stderr, "  %s: %s\n", label, s != NULL ? s : "(null)");
    json_get_alloc_funcs(&malloc_fn, &free_fn);
    free_fn(s);
}

/*
 * 0 when it, in the wire model without received_at and raw, equals
 * want_json, and its raw equals want_raw (skipped when want_raw is NULL).
 */
static inline int
conn_check_item(const struct item *it, const char *want_json,
    const json_t *want_raw)
{
    json_error_t jerr;
    json_t *got = NULL, *want = NULL;
    int rc = -1;

    if (it == NULL) {
        fprintf(stderr, "  no item\n");
        return -1;
    }
    if ((want = json_loads(want_json, 0, &jerr)) == NULL) {
        fprintf(stderr, "  bad expected JSON: %s\n", jerr.text);
        goto out;
    }
    if ((got = item_to_json(it)) == NULL)
        goto out;
    if (want_raw != NULL && !json_equal(json_object_get(got, "raw"),
        want_raw)) {
        conn_check_print("raw", json_object_get(got, "raw"));
        conn_check_print("want raw", want_raw);
        goto out;
    }
    json_object_del(got, "raw");
    json_object_del(got, "received_at");
    if (!json_equal(got, want)) {
        conn_check_print("got ", got);
        conn_check_print("want", want);
        goto out;
    }
    rc = 0;
out:
    json_decref(got);
    json_decref(want);
    return rc;
}

/*
 * A top-level string field of the item's wire JSON ("parent",
 * "permalink") copied into buf; "" when absent. Returns buf.
 */
static inline const char *
conn_check_field(const struct item *it, const char *key, char *buf,
    size_t size)
{
    json_t *j = item_to_json(it);
    const char *s = json_string_value(json_object_get(j, key));

    snprintf(buf, size, "%s", s != NULL ? s : "");
    json_decref(j);
    return buf;
}

/* n opening brackets and n closing ones; xfree it. */
static inline char *
conn_check_deep(size_t n)
{
    char *s = xmalloc(2 * n + 1);

    if (s == NULL)
        return NULL;
    memset(s, '[', n);
    memset(s + n, ']', n);
    s[2 * n] = '\0';
    return s;
}

#endif
