/*
 * classify: `inboxd classify`, JSON Lines items in, one classification
 * per line out (include/classify.h). The rules run as in the daemon's
 * pipeline (rules_classify, the language guess kept on the item, then
 * route_pick); what differs is the output, which is written straight
 * from the verdict into one output buffer that goes out in large writes:
 * building a jansson tree per item and dumping it cost more than the
 * rules themselves (docs/performance.md, "Classification"). Lines are
 * read straight into items with item_parse for the same reason:
 * json_loadb and then item_from_json cost as much again.
 *
 * The text is what jansson's compact dump of the same object would be,
 * with one exception: a real that an integer and up to four decimals
 * represent exactly is written in that short form ("6.3", not
 * "6.2999999999999998"); a reader gets the same double either way.
 */
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "classify.h"
#include "config.h"
#include "item.h"
#include "jsonread.h"
#include "route.h"
#include "rules.h"
#include "util.h"

/* Output is handed to stdio in pieces of about this size. */
#define CLASSIFY_FLUSH_AT (64u * 1024)

struct classify_out {
    char *p;
    size_t len;
    size_t cap;
    FILE *fp;
    bool failed;        /* out of memory or a write error */
};

/* Room for n more bytes; false (and failed) when there is none. */
static bool
classify_reserve(struct classify_out *o, size_t n)
{
    size_t cap;
    char *p;

    if (o->failed)
        return false;
    if (n <= o->cap - o->len)
        return true;
    for (cap = o->cap ? o->cap : 2 * CLASSIFY_FLUSH_AT; cap - o->len < n;)
        cap *= 2;
    if ((p = xrealloc(o->p, cap)) == NULL) {
        o->failed = true;
        return false;
    }
    o->p = p;
    o->cap = cap;
    return true;
}

static void
classify_put(struct classify_out *o, const char *s, size_t n)
{
    if (classify_reserve(o, n)) {
        memcpy(o->p + o->len, s, n);
        o->len += n;
    }
}

#define CLASSIFY_PUT_LIT(o, lit) classify_put((o), (lit), sizeof(lit) - 1)

static void
classify_flush(struct classify_out *o)
{
    if (o->len > 0 && !o->failed &&
        fwrite(o->p, 1, o->len, o->fp) != o->len)
        o->failed = true;
    o->len = 0;
}

/*
 * A JSON string as jansson writes it: '"' and '\' escaped, control
 * characters as \b \f \n \r \t or \u00XX, everything else as it is. A
 * byte that is not UTF-8 becomes U+FFFD (rules_eval does the same to a
 * match, so that jansson takes it).
 */
static void
classify_put_str(struct classify_out *o, const char *s, size_t n)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *u = (const unsigned char *)s;
    char *d;

    /* Worst case: every byte a \u00XX, or a U+FFFD (3 bytes). */
    if (!classify_reserve(o, 6 * n + 2))
        return;
    d = o->p + o->len;
    *d++ = '"';
    for (size_t i = 0; i < n;) {
        unsigned char c = u[i];
        size_t k;

        if (c >= 0x20 && c < 0x80 && c != '"' && c != '\\') {
            *d++ = (char)c;
            i++;
            continue;
        }
        if (c >= 0x80) {
            if ((k = util_utf8_seq(u, n, i)) == 0) {
                memcpy(d, "\xef\xbf\xbd", 3);
                d += 3;
                i++;
            } else {
                memcpy(d, u + i, k);
                d += k;
                i += k;
            }
            continue;
        }
        *d++ = '\\';
        switch (c) {
        case '"': *d++ = '"'; break;
        case '\\': *d++ = '\\'; break;
        case '\b': *d++ = 'b'; break;
        case '\f': *d++ = 'f'; break;
        case '\n': *d++ = 'n'; break;
        case '\r': *d++ = 'r'; break;
        case '\t': *d++ = 't'; break;
        default:
            memcpy(d, "u00", 3);
            d[3] = hex[c >> 4];
            d[4] = hex[c & 15];
            d += 5;
            break;
        }
        i++;
    }
    *d++ = '"';
    o->len = (size_t)(d - o->p);
}

static void
classify_put_cstr(struct classify_out *o, const char *s)
{
    if (s == NULL)
        CLASSIFY_PUT_LIT(o, "null");
    else
        classify_put_str(o, s, strlen(s));
}

static void
classify_put_uint(struct classify_out *o, uint64_t v)
{
    char tmp[24], *p = util_utoa(tmp + sizeof(tmp), v);

    classify_put(o, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * A real. When k / 10^d is exactly v for an integer k and d <= 4, the
 * decimal k * 10^-d reads back as v (both are v correctly rounded), so
 * it is written so; else as jansson does: %.17g, with ".0" when that
 * looks like an integer, and the exponent without '+' or leading zeros.
 */
static void
classify_put_real(struct classify_out *o, double v)
{
    static const double p10[] = { 1, 10, 100, 1000, 10000 };
    char tmp[40], *e;
    int n;

    for (int d = 0; d < 5 && isfinite(v) && fabs(v) < 1e10; d++) {
        double s = fabs(v) * p10[d];
        /* The integer nearest s (|s| < 1e14, so exact in a double). */
        uint64_t m = (uint64_t)(s + 0.5);
        char *q = tmp + sizeof(tmp);

        if ((double)m / p10[d] != fabs(v))
            continue;
        /* m's digits from the right, the point before the last d. */
        for (int i = 0; i < d || m > 0 || i == d; i++) {
            if (i == d && d > 0)
                *--q = '.';
            *--q = (char)('0' + m % 10);
            m /= 10;
        }
        if (signbit(v))
            *--q = '-';
        classify_put(o, q, (size_t)(tmp + sizeof(tmp) - q));
        if (d == 0)
            CLASSIFY_PUT_LIT(o, ".0");
        return;
    }
    n = snprintf(tmp, sizeof(tmp), "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(tmp) - 2)
        n = 0;
    if (strchr(tmp, '.') == NULL && strchr(tmp, 'e') == NULL) {
        memcpy(tmp + n, ".0", 3);
        n += 2;
    }
    if ((e = strchr(tmp, 'e')) != NULL) {
        char *from = e + 1, *to = e + 1;

        if (*from == '+')
            from++;
        else if (*from == '-')
            from = ++to;
        while (*from == '0' && from[1] != '\0')
            from++;
        memmove(to, from, strlen(from) + 1);
        n = (int)strlen(tmp);
    }
    classify_put(o, tmp, (size_t)n);
}

/* The result line of one classified item. */
static void
classify_put_result(struct classify_out *o, const struct item *it,
    const struct rules_verdict *v, const char *queue)
{
    const char *text = item_text(it);
    bool first = true;

    CLASSIFY_PUT_LIT(o, "{\"id\":");
    classify_put_cstr(o, item_id(it));
    CLASSIFY_PUT_LIT(o, ",\"lang\":");
    classify_put_cstr(o, v->lang);
    CLASSIFY_PUT_LIT(o, ",\"categories\":[");
    for (size_t i = 0; i < v->nscores; i++) {
        if (!v->scores[i].decided)
            continue;
        if (!first)
            CLASSIFY_PUT_LIT(o, ",");
        first = false;
        classify_put_cstr(o, v->scores[i].category);
    }
    CLASSIFY_PUT_LIT(o, "],\"scores\":{");
    for (size_t i = 0; i < v->nscores; i++) {
        if (i > 0)
            CLASSIFY_PUT_LIT(o, ",");
        classify_put_cstr(o, v->scores[i].category);
        CLASSIFY_PUT_LIT(o, ":");
        classify_put_real(o, v->scores[i].score);
    }
    CLASSIFY_PUT_LIT(o, "},\"hits\":[");
    for (size_t i = 0; i < v->nhits; i++) {
        const struct rules_hit *h = &v->hits[i];

        if (i > 0)
            CLASSIFY_PUT_LIT(o, ",");
        CLASSIFY_PUT_LIT(o, "{\"rule\":");
        classify_put_cstr(o, h->rule);
        CLASSIFY_PUT_LIT(o, ",\"category\":");
        classify_put_cstr(o, h->category);
        CLASSIFY_PUT_LIT(o, ",\"score\":");
        classify_put_real(o, h->score);
        CLASSIFY_PUT_LIT(o, ",\"start\":");
        classify_put_uint(o, h->start);
        CLASSIFY_PUT_LIT(o, ",\"end\":");
        classify_put_uint(o, h->end);
        CLASSIFY_PUT_LIT(o, ",\"match\":");
        classify_put_str(o, text + h->start, rules_hit_match_len(h, text));
        if (h->shadow)
            CLASSIFY_PUT_LIT(o, ",\"shadow\":true}");
        else
            CLASSIFY_PUT_LIT(o, "}");
    }
    CLASSIFY_PUT_LIT(o, "],\"queue\":");
    classify_put_cstr(o, queue);
    CLASSIFY_PUT_LIT(o, "}\n");
}

static void
classify_put_error(struct classify_out *o, long lineno, const char *err)
{
    CLASSIFY_PUT_LIT(o, "{\"line\":");
    classify_put_uint(o, (uint64_t)lineno);
    CLASSIFY_PUT_LIT(o, ",\"error\":");
    classify_put_cstr(o, err);
    CLASSIFY_PUT_LIT(o, "}\n");
}

/* Do the routes read the classification's categories or scores? */
static bool
classify_routes_need_scores(const struct route_table *t)
{
    for (size_t i = 0; i < t->nrules; i++) {
        if (t->rules[i].ncategories > 0 || t->rules[i].min_score > 0)
            return true;
    }
    return false;
}

/*
 * Classify and route one item, as pipeline_classify does; the verdict
 * stays in the rule set's scratch until the next item. Returns the
 * queue, or NULL when memory ran out.
 */
static const char *
classify_item(struct config *cfg, struct item *it, bool need_scores,
    struct rules_verdict *v)
{
    struct item_cls *cls;

    if (rules_classify(cfg->ruleset, it, v) == -1)
        return NULL;
    if (item_lang(it) == NULL && v->lang != NULL &&
        item_set_lang(it, v->lang) == -1)
        return NULL;
    if (need_scores) {
        if ((cls = rules_verdict_cls(v, item_text(it))) == NULL)
            return NULL;
        item_set_cls(it, cls);
    }
    return route_pick(&cfg->routes, it);
}

int
classify_stream(struct config *cfg, FILE *in, FILE *out, FILE *err)
{
    struct item_limits lim = {
        .max_text = cfg->limits.max_text,
        .max_attachments = cfg->limits.max_attachments,
    };
    struct classify_out o = { .fp = out };
    struct jsonread jr = { 0 };
    bool need_scores = classify_routes_need_scores(&cfg->routes);
    char *line = NULL, reason[256], msg[300];
    size_t cap = 0;
    long lineno = 0, bad = 0;
    ssize_t n;

    while ((n = getline(&line, &cap, in)) != -1) {
        enum item_parse_result why;
        struct rules_verdict v;
        const char *queue = NULL;
        struct item *it;

        lineno++;
        if (n <= 1)
            continue;
        it = item_parse(&jr, line, (size_t)n, &lim, &why, reason,
            sizeof(reason));
        if (it != NULL && (queue = classify_item(cfg, it, need_scores,
            &v)) != NULL) {
            classify_put_result(&o, it, &v, queue);
        } else {
            if (why == ITEM_PARSE_BAD_JSON)
                snprintf(msg, sizeof(msg), "invalid JSON: %s", reason);
            else
                snprintf(msg, sizeof(msg), "%s", it != NULL ||
                    why == ITEM_PARSE_NOMEM ? "out of memory" : reason);
            classify_put_error(&o, lineno, msg);
            bad++;
        }
        item_free(it);
        if (o.len >= CLASSIFY_FLUSH_AT)
            classify_flush(&o);
        if (o.failed)
            break;
    }
    free(line);     /* allocated by getline, not by xmalloc */
    jsonread_free(&jr);
    classify_flush(&o);
    xfree(o.p);
    if (o.failed || fflush(out) == EOF) {
        fprintf(err, "inboxd: classify: cannot write the results\n");
        return -1;
    }
    if (bad)
        fprintf(err, "inboxd: classify: %ld of %ld lines were not valid "
            "items\n", bad, lineno);
    return bad ? 1 : 0;
}
