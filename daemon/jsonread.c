/*
 * jsonread: a strict JSON reader that builds jansson values
 * (include/jsonread.h). One pass, recursive descent, no lexer state:
 * json_loadb reads a character at a time through a stream with UTF-8
 * decoding and a growing buffer for every token, which for a short item
 * line costs more than classifying it.
 *
 * It accepts exactly RFC 8259 JSON as jansson does by default: an object
 * or an array at the top; strings of valid UTF-8 without raw control
 * characters; \u escapes with surrogate pairs, but not \u0000; numbers
 * without leading zeros, integers within json_int_t, reals that do not
 * overflow; no duplicate keys; nesting to jansson's 2048 levels.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <utf8proc.h>

#include "alloc.h"
#include "jsonread.h"
#include "util.h"

#define JSONREAD_DEPTH_MAX 2048
#define JSONREAD_NUM_MAX 400        /* bytes of a number we convert */

struct jsonread_ctx {
    struct jsonread *jr;
    const unsigned char *start;
    const unsigned char *p;
    const unsigned char *end;
    int depth;
    char *err;
    size_t errlen;
    bool failed;
};

static json_t *jsonread_value(struct jsonread_ctx *c);

/* The first error wins; a NULL return carries it up. */
static json_t *
jsonread_fail(struct jsonread_ctx *c, const char *what)
{
    if (!c->failed) {
        snprintf(c->err, c->errlen, "%s at byte %zu", what,
            (size_t)(c->p - c->start));
        c->failed = true;
    }
    return NULL;
}

static void
jsonread_blank(struct jsonread_ctx *c)
{
    while (c->p < c->end && (*c->p == ' ' || *c->p == '\n' ||
        *c->p == '\r' || *c->p == '\t'))
        c->p++;
}

/* Room for n more bytes of decoded string at buf + used. */
static bool
jsonread_room(struct jsonread_ctx *c, size_t used, size_t n)
{
    struct jsonread *jr = c->jr;
    size_t cap = jr->cap ? jr->cap : 256;
    char *b;

    if (used + n <= jr->cap)
        return true;
    while (cap < used + n)
        cap *= 2;
    if ((b = xrealloc(jr->buf, cap)) == NULL)
        return false;
    jr->buf = b;
    jr->cap = cap;
    return true;
}

/* Four hex digits at c->p; -1 if not. */
static int32_t
jsonread_hex4(struct jsonread_ctx *c)
{
    int32_t v = 0;

    if (c->end - c->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char h = c->p[i];

        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= h - '0';
        else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
            v |= (h | 0x20) - 'a' + 10;
        else
            return -1;
    }
    c->p += 4;
    return v;
}

/* After \u: one code point (a surrogate pair is one), UTF-8 into d. */
static size_t
jsonread_unicode(struct jsonread_ctx *c, char *d)
{
    int32_t cp = jsonread_hex4(c), lo;

    if (cp < 0)
        return 0;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (c->end - c->p < 2 || c->p[0] != '\\' || c->p[1] != 'u')
            return 0;
        c->p += 2;
        if ((lo = jsonread_hex4(c)) < 0xdc00 || lo > 0xdfff)
            return 0;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0)
        return 0;
    return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)d);
}

/*
 * A string, from after its '"', decoded into jr->buf (NUL-terminated);
 * its length in *len. Returns false on an error (reported).
 */
static bool
jsonread_string(struct jsonread_ctx *c, size_t *len)
{
    size_t n = 0, k;

    for (;;) {
        const unsigned char *run = c->p;

        /* Plain bytes go in runs. */
        while (c->p < c->end && *c->p >= 0x20 && *c->p < 0x80 &&
            *c->p != '"' && *c->p != '\\')
            c->p++;
        if (c->p > run) {
            if (!jsonread_room(c, n, (size_t)(c->p - run) + 1)) {
                jsonread_fail(c, "out of memory");
                return false;
            }
            memcpy(c->jr->buf + n, run, (size_t)(c->p - run));
            n += (size_t)(c->p - run);
        }
        if (c->p >= c->end) {
            jsonread_fail(c, "unterminated string");
            return false;
        }
        if (!jsonread_room(c, n, 5)) {
            jsonread_fail(c, "out of memory");
            return false;
        }
        if (*c->p == '"') {
            c->p++;
            c->jr->buf[n] = '\0';
            *len = n;
            return true;
        }
        if (*c->p < 0x20) {
            jsonread_fail(c, "control character in a string");
            return false;
        }
        if (*c->p >= 0x80) {
            if ((k = util_utf8_seq(c->p, (size_t)(c->end - c->p), 0)) == 0) {
                jsonread_fail(c, "invalid UTF-8");
                return false;
            }
            memcpy(c->jr->buf + n, c->p, k);
            n += k;
            c->p += k;
            continue;
        }
        /* A backslash. */
        if (c->end - c->p < 2) {
            jsonread_fail(c, "unterminated string");
            return false;
        }
        c->p += 2;
        switch (c->p[-1]) {
        case '"': c->jr->buf[n++] = '"'; break;
        case '\\': c->jr->buf[n++] = '\\'; break;
        case '/': c->jr->buf[n++] = '/'; break;
        case 'b': c->jr->buf[n++] = '\b'; break;
        case 'f': c->jr->buf[n++] = '\f'; break;
        case 'n': c->jr->buf[n++] = '\n'; break;
        case 'r': c->jr->buf[n++] = '\r'; break;
        case 't': c->jr->buf[n++] = '\t'; break;
        case 'u':
            if ((k = jsonread_unicode(c, c->jr->buf + n)) == 0) {
                jsonread_fail(c, "invalid \\u escape");
                return false;
            }
            n += k;
            break;
        default:
            c->p--;
            jsonread_fail(c, "invalid escape");
            return false;
        }
    }
}

/* A number: the JSON grammar, then strtoll or strtod. */
static json_t *
jsonread_number(struct jsonread_ctx *c)
{
    const unsigned char *s = c->p;
    char tmp[JSONREAD_NUM_MAX + 1], *endp;
    bool real = false;
    size_t n;

    if (c->p < c->end && *c->p == '-')
        c->p++;
    if (c->p < c->end && *c->p == '0')
        c->p++;
    else if (c->p < c->end && *c->p >= '1' && *c->p <= '9') {
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    } else
        return jsonread_fail(c, "invalid number");
    if (c->p < c->end && *c->p == '.') {
        real = true;
        c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return jsonread_fail(c, "invalid number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if (c->p < c->end && (*c->p == 'e' || *c->p == 'E')) {
        real = true;
        c->p++;
        if (c->p < c->end && (*c->p == '+' || *c->p == '-'))
            c->p++;
        if (c->p >= c->end || *c->p < '0' || *c->p > '9')
            return jsonread_fail(c, "invalid number");
        while (c->p < c->end && *c->p >= '0' && *c->p <= '9')
            c->p++;
    }
    if ((n = (size_t)(c->p - s)) > JSONREAD_NUM_MAX)
        return jsonread_fail(c, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    if (!real) {
        long long v = strtoll(tmp, &endp, 10);

        if (errno == ERANGE)
            return jsonread_fail(c, "integer too big");
        return json_integer((json_int_t)v);
    }
    {
        double v = strtod(tmp, &endp);

        if (errno == ERANGE && isinf(v))
            return jsonread_fail(c, "real number overflow");
        return json_real(v);
    }
}

/* An object, from after its '{'. */
static json_t *
jsonread_object(struct jsonread_ctx *c)
{
    json_t *o = json_object(), *v;
    size_t len, n;

    if (o == NULL)
        return jsonread_fail(c, "out of memory");
    jsonread_blank(c);
    if (c->p < c->end && *c->p == '}') {
        c->p++;
        return o;
    }
    for (;;) {
        char kbuf[64], *key;

        jsonread_blank(c);
        if (c->p >= c->end || *c->p != '"') {
            json_decref(o);
            return jsonread_fail(c, "string or '}' expected");
        }
        c->p++;
        if (!jsonread_string(c, &len)) {
            json_decref(o);
            return NULL;
        }
        /* The value's strings reuse the buffer: keep the key apart. */
        if ((key = len < sizeof(kbuf) ? kbuf : xmalloc(len + 1)) == NULL) {
            json_decref(o);
            return jsonread_fail(c, "out of memory");
        }
        memcpy(key, c->jr->buf, len + 1);
        jsonread_blank(c);
        if (c->p >= c->end || *c->p != ':') {
            if (key != kbuf)
                xfree(key);
            json_decref(o);
            return jsonread_fail(c, "':' expected");
        }
        c->p++;
        n = json_object_size(o);
        if ((v = jsonread_value(c)) == NULL ||
            json_object_set_new_nocheck(o, key, v) == -1) {
            if (key != kbuf)
                xfree(key);
            json_decref(o);
            return jsonread_fail(c, "out of memory");
        }
        if (key != kbuf)
            xfree(key);
        /* A key seen before replaced its value instead of adding one:
         * cheaper to find out after than to look it up before. */
        if (json_object_size(o) == n) {
            json_decref(o);
            return jsonread_fail(c, "duplicate object key");
        }
        jsonread_blank(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == '}') {
            c->p++;
            return o;
        }
        json_decref(o);
        return jsonread_fail(c, "',' or '}' expected");
    }
}

/* An array, from after its '['. */
static json_t *
jsonread_array(struct jsonread_ctx *c)
{
    json_t *a = json_array(), *v;

    if (a == NULL)
        return jsonread_fail(c, "out of memory");
    jsonread_blank(c);
    if (c->p < c->end && *c->p == ']') {
        c->p++;
        return a;
    }
    for (;;) {
        if ((v = jsonread_value(c)) == NULL ||
            json_array_append_new(a, v) == -1) {
            json_decref(a);
            return jsonread_fail(c, "out of memory");
        }
        jsonread_blank(c);
        if (c->p < c->end && *c->p == ',') {
            c->p++;
            continue;
        }
        if (c->p < c->end && *c->p == ']') {
            c->p++;
            return a;
        }
        json_decref(a);
        return jsonread_fail(c, "',' or ']' expected");
    }
}

static bool
jsonread_word(struct jsonread_ctx *c, const char *w, size_t n)
{
    if ((size_t)(c->end - c->p) < n || memcmp(c->p, w, n) != 0)
        return false;
    c->p += n;
    return true;
}

static json_t *
jsonread_value(struct jsonread_ctx *c)
{
    json_t *v;
    size_t len;

    jsonread_blank(c);
    if (c->p >= c->end)
        return jsonread_fail(c, "value expected");
    switch (*c->p) {
    case '{':
    case '[':
        if (++c->depth > JSONREAD_DEPTH_MAX)
            return jsonread_fail(c, "nested too deep");
        c->p++;
        v = c->p[-1] == '{' ? jsonread_object(c) : jsonread_array(c);
        c->depth--;
        return v;
    case '"':
        c->p++;
        if (!jsonread_string(c, &len))
            return NULL;
        if ((v = json_stringn_nocheck(c->jr->buf, len)) == NULL)
            return jsonread_fail(c, "out of memory");
        return v;
    case 't':
        if (jsonread_word(c, "true", 4))
            return json_true();
        break;
    case 'f':
        if (jsonread_word(c, "false", 5))
            return json_false();
        break;
    case 'n':
        if (jsonread_word(c, "null", 4))
            return json_null();
        break;
    default:
        if (*c->p == '-' || (*c->p >= '0' && *c->p <= '9'))
            return jsonread_number(c);
        break;
    }
    return jsonread_fail(c, "invalid token");
}

json_t *
jsonread_parse(struct jsonread *jr, const char *s, size_t len, char *err,
    size_t errlen)
{
    struct jsonread_ctx c = {
        .jr = jr,
        .start = (const unsigned char *)s,
        .p = (const unsigned char *)s,
        .end = (const unsigned char *)s + len,
        .err = err,
        .errlen = errlen,
    };
    json_t *v;

    jsonread_blank(&c);
    if (c.p >= c.end || (*c.p != '{' && *c.p != '['))
        return jsonread_fail(&c, "'[' or '{' expected");
    if ((v = jsonread_value(&c)) == NULL)
        return NULL;
    jsonread_blank(&c);
    if (c.p != c.end) {
        json_decref(v);
        return jsonread_fail(&c, "end of text expected");
    }
    return v;
}

void
jsonread_free(struct jsonread *jr)
{
    xfree(jr->buf);
    jr->buf = NULL;
    jr->cap = 0;
}
