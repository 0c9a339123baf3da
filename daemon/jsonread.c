/*
 * jsonread: a strict JSON reader (include/jsonread.h). One pass,
 * recursive descent, no lexer state: json_loadb reads a character at a
 * time through a stream with UTF-8 decoding and a growing buffer for
 * every token, which for a short item costs more than classifying it.
 *
 * It accepts exactly RFC 8259 JSON as jansson does by default: an object
 * or an array at the top; strings of valid UTF-8 without raw control
 * characters; \u escapes with surrogate pairs, but not \u0000; numbers
 * without leading zeros, integers within json_int_t, reals that do not
 * overflow; no duplicate keys; nesting to jansson's 2048 levels.
 *
 * Decoded strings go to one arena as long as the text plus one byte. A
 * string never decodes to more bytes than it takes in the text (its
 * quotes pay for the NUL; an escape is never shorter than what it
 * stands for), so as long as the arena holds only strings from before
 * the read position, the next one fits: no string needs a room check.
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
#define JSONREAD_OOM "out of memory"

static json_t *jsonread_value(struct jsonread *jr);

static void
jsonread_fail_at(struct jsonread *jr, const char *what, size_t pos)
{
    if (jr->what == NULL) {
        jr->what = what;
        jr->errpos = pos;
    }
}

void
jsonread_fail(struct jsonread *jr, const char *what)
{
    jsonread_fail_at(jr, what, (size_t)(jr->p - jr->start));
}

void
jsonread_fail_key(struct jsonread *jr, const char *what)
{
    jsonread_fail_at(jr, what, jr->keypos);
}

/* jsonread_fail for the functions that return a value. */
static json_t *
jsonread_null(struct jsonread *jr, const char *what)
{
    jsonread_fail(jr, what);
    return NULL;
}

bool
jsonread_failed(const struct jsonread *jr)
{
    return jr->what != NULL;
}

bool
jsonread_nomem(const struct jsonread *jr)
{
    return jr->what != NULL && strcmp(jr->what, JSONREAD_OOM) == 0;
}

static void
jsonread_blank(struct jsonread *jr)
{
    while (jr->p < jr->end && (*jr->p == ' ' || *jr->p == '\n' ||
        *jr->p == '\r' || *jr->p == '\t'))
        jr->p++;
}

/* Four hex digits at jr->p; -1 if not. */
static int32_t
jsonread_hex4(struct jsonread *jr)
{
    int32_t v = 0;

    if (jr->end - jr->p < 4)
        return -1;
    for (int i = 0; i < 4; i++) {
        unsigned char h = jr->p[i];

        v <<= 4;
        if (h >= '0' && h <= '9')
            v |= h - '0';
        else if ((h | 0x20) >= 'a' && (h | 0x20) <= 'f')
            v |= (h | 0x20) - 'a' + 10;
        else
            return -1;
    }
    jr->p += 4;
    return v;
}

/* After \u: one code point (a surrogate pair is one), UTF-8 into d. */
static size_t
jsonread_unicode(struct jsonread *jr, char *d)
{
    int32_t cp = jsonread_hex4(jr), lo;

    if (cp < 0)
        return 0;
    if (cp >= 0xdc00 && cp <= 0xdfff)
        return 0;
    if (cp >= 0xd800 && cp <= 0xdbff) {
        if (jr->end - jr->p < 2 || jr->p[0] != '\\' || jr->p[1] != 'u')
            return 0;
        jr->p += 2;
        if ((lo = jsonread_hex4(jr)) < 0xdc00 || lo > 0xdfff)
            return 0;
        cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
    }
    if (cp == 0)
        return 0;
    return (size_t)utf8proc_encode_char(cp, (utf8proc_uint8_t *)d);
}

/*
 * A string, from after its '"', decoded to the arena's top and
 * NUL-terminated; the top does not move. Returns the string, its length
 * in *len, or NULL on an error (reported).
 */
static char *
jsonread_string(struct jsonread *jr, size_t *len)
{
    char *d = jr->buf + jr->top, *w = d;
    const unsigned char *esc;
    const char *what = "unterminated string";
    size_t k;

    for (;;) {
        const unsigned char *run = jr->p;

        /* Plain bytes go in runs. */
        while (jr->p < jr->end && *jr->p >= 0x20 && *jr->p < 0x80 &&
            *jr->p != '"' && *jr->p != '\\')
            jr->p++;
        memcpy(w, run, (size_t)(jr->p - run));
        w += jr->p - run;
        if (jr->p >= jr->end)
            goto fail;
        if (*jr->p == '"') {
            jr->p++;
            *w = '\0';
            *len = (size_t)(w - d);
            return d;
        }
        if (*jr->p < 0x20) {
            what = "control character in a string";
            goto fail;
        }
        if (*jr->p >= 0x80) {
            if ((k = util_utf8_seq(jr->p, (size_t)(jr->end - jr->p),
                0)) == 0) {
                what = "invalid UTF-8";
                goto fail;
            }
            memcpy(w, jr->p, k);
            w += k;
            jr->p += k;
            continue;
        }
        /* A backslash: an error points at it. */
        esc = jr->p;
        if (jr->end - jr->p < 2)
            goto fail;
        jr->p += 2;
        switch (jr->p[-1]) {
        case '"': *w++ = '"'; break;
        case '\\': *w++ = '\\'; break;
        case '/': *w++ = '/'; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u':
            if ((k = jsonread_unicode(jr, w)) == 0) {
                jr->p = esc;
                what = "invalid \\u escape";
                goto fail;
            }
            w += k;
            break;
        default:
            jr->p = esc;
            what = "invalid escape";
            goto fail;
        }
    }

fail:
    jsonread_fail(jr, what);
    return NULL;
}

/* A number: the JSON grammar, then strtoll or strtod. */
static json_t *
jsonread_number(struct jsonread *jr)
{
    const unsigned char *s = jr->p;
    char tmp[JSONREAD_NUM_MAX + 1], *endp;
    bool real = false;
    size_t n;

    if (jr->p < jr->end && *jr->p == '-')
        jr->p++;
    if (jr->p < jr->end && *jr->p == '0')
        jr->p++;
    else if (jr->p < jr->end && *jr->p >= '1' && *jr->p <= '9') {
        while (jr->p < jr->end && *jr->p >= '0' && *jr->p <= '9')
            jr->p++;
    } else
        return jsonread_null(jr, "invalid number");
    if (jr->p < jr->end && *jr->p == '.') {
        real = true;
        jr->p++;
        if (jr->p >= jr->end || *jr->p < '0' || *jr->p > '9')
            return jsonread_null(jr, "invalid number");
        while (jr->p < jr->end && *jr->p >= '0' && *jr->p <= '9')
            jr->p++;
    }
    if (jr->p < jr->end && (*jr->p == 'e' || *jr->p == 'E')) {
        real = true;
        jr->p++;
        if (jr->p < jr->end && (*jr->p == '+' || *jr->p == '-'))
            jr->p++;
        if (jr->p >= jr->end || *jr->p < '0' || *jr->p > '9')
            return jsonread_null(jr, "invalid number");
        while (jr->p < jr->end && *jr->p >= '0' && *jr->p <= '9')
            jr->p++;
    }
    if ((n = (size_t)(jr->p - s)) > JSONREAD_NUM_MAX)
        return jsonread_null(jr, "number too long");
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    errno = 0;
    if (!real) {
        long long v = strtoll(tmp, &endp, 10);

        if (errno == ERANGE)
            return jsonread_null(jr, "integer too big");
        return json_integer((json_int_t)v);
    }
    {
        double v = strtod(tmp, &endp);

        if (errno == ERANGE && isinf(v))
            return jsonread_null(jr, "real number overflow");
        return json_real(v);
    }
}

/* An object, once entered. */
static json_t *
jsonread_object(struct jsonread *jr)
{
    json_t *o = json_object(), *v;
    const char *key;
    size_t klen, n;
    int more;

    if (o == NULL)
        return jsonread_null(jr, JSONREAD_OOM);
    for (n = 0; (more = jsonread_member(jr, n, &key, &klen)) == 1; n++) {
        size_t keypos = jr->keypos;

        /* The key stays in the arena while its value is read. */
        if ((v = jsonread_value(jr)) == NULL ||
            json_object_set_new_nocheck(o, key, v) == -1) {
            json_decref(o);
            return jsonread_null(jr, JSONREAD_OOM);
        }
        jr->top = (size_t)(key - jr->buf);
        /* A key seen before replaced its value instead of adding one:
         * cheaper to find out after than to look it up before. */
        if (json_object_size(o) == n) {
            json_decref(o);
            jsonread_fail_at(jr, "duplicate object key", keypos);
            return NULL;
        }
    }
    if (more == -1) {
        json_decref(o);
        return NULL;
    }
    return o;
}

/* An array, from after its '['. */
static json_t *
jsonread_array(struct jsonread *jr)
{
    json_t *a = json_array(), *v;

    if (a == NULL)
        return jsonread_null(jr, JSONREAD_OOM);
    jsonread_blank(jr);
    if (jr->p < jr->end && *jr->p == ']') {
        jr->p++;
        return a;
    }
    for (;;) {
        if ((v = jsonread_value(jr)) == NULL ||
            json_array_append_new(a, v) == -1) {
            json_decref(a);
            return jsonread_null(jr, JSONREAD_OOM);
        }
        jsonread_blank(jr);
        if (jr->p < jr->end && *jr->p == ',') {
            jr->p++;
            continue;
        }
        if (jr->p < jr->end && *jr->p == ']') {
            jr->p++;
            return a;
        }
        json_decref(a);
        return jsonread_null(jr, "',' or ']' expected");
    }
}

static bool
jsonread_word(struct jsonread *jr, const char *w, size_t n)
{
    if ((size_t)(jr->end - jr->p) < n || memcmp(jr->p, w, n) != 0)
        return false;
    jr->p += n;
    return true;
}

static json_t *
jsonread_value(struct jsonread *jr)
{
    json_t *v;
    const char *s;
    size_t len;

    switch (jsonread_peek(jr)) {
    case JSON_OBJECT:
        if (jsonread_enter(jr) == -1)
            return NULL;
        return jsonread_object(jr);
    case JSON_ARRAY:
        if (++jr->depth > JSONREAD_DEPTH_MAX)
            return jsonread_null(jr, "nested too deep");
        jr->p++;
        v = jsonread_array(jr);
        jr->depth--;
        return v;
    case JSON_STRING:
        jr->p++;
        if ((s = jsonread_string(jr, &len)) == NULL)
            return NULL;
        if ((v = json_stringn_nocheck(s, len)) == NULL)
            return jsonread_null(jr, JSONREAD_OOM);
        return v;
    case JSON_TRUE:
        if (jsonread_word(jr, "true", 4))
            return json_true();
        break;
    case JSON_FALSE:
        if (jsonread_word(jr, "false", 5))
            return json_false();
        break;
    case JSON_NULL:
        if (jsonread_word(jr, "null", 4))
            return json_null();
        break;
    case JSON_INTEGER:
        return jsonread_number(jr);
    default:
        return NULL;
    }
    return jsonread_null(jr, "invalid token");
}

/* ---------------------------------------------------------------------
 * Walking a text
 * ------------------------------------------------------------------ */

int
jsonread_start(struct jsonread *jr, const char *s, size_t len)
{
    jr->start = jr->p = (const unsigned char *)s;
    jr->end = jr->start + len;
    jr->top = 0;
    jr->depth = 0;
    jr->what = NULL;
    jr->errpos = 0;
    if (len + 1 > jr->cap) {
        char *b = xrealloc(jr->buf, len + 1);

        if (b == NULL) {
            jsonread_fail(jr, JSONREAD_OOM);
            return -1;
        }
        jr->buf = b;
        jr->cap = len + 1;
    }
    return 0;
}

int
jsonread_peek(struct jsonread *jr)
{
    if (jr->what != NULL)
        return -1;
    jsonread_blank(jr);
    if (jr->p >= jr->end) {
        jsonread_fail(jr, "value expected");
        return -1;
    }
    switch (*jr->p) {
    case '{': return JSON_OBJECT;
    case '[': return JSON_ARRAY;
    case '"': return JSON_STRING;
    case 't': return JSON_TRUE;
    case 'f': return JSON_FALSE;
    case 'n': return JSON_NULL;
    default:
        if (*jr->p == '-' || (*jr->p >= '0' && *jr->p <= '9'))
            return JSON_INTEGER;
        jsonread_fail(jr, "invalid token");
        return -1;
    }
}

int
jsonread_enter(struct jsonread *jr)
{
    if (jsonread_peek(jr) != JSON_OBJECT) {
        jsonread_fail(jr, "'{' expected");
        return -1;
    }
    if (++jr->depth > JSONREAD_DEPTH_MAX) {
        jsonread_fail(jr, "nested too deep");
        return -1;
    }
    jr->p++;
    return 0;
}

int
jsonread_member(struct jsonread *jr, size_t n, const char **key,
    size_t *klen)
{
    char *k;

    if (jr->what != NULL)
        return -1;
    jsonread_blank(jr);
    if (jr->p < jr->end && *jr->p == '}') {
        jr->p++;
        jr->depth--;
        return 0;
    }
    if (n > 0) {
        if (jr->p >= jr->end || *jr->p != ',') {
            jsonread_fail(jr, "',' or '}' expected");
            return -1;
        }
        jr->p++;
        jsonread_blank(jr);
    }
    if (jr->p >= jr->end || *jr->p != '"') {
        jsonread_fail(jr, "string or '}' expected");
        return -1;
    }
    jr->keypos = (size_t)(jr->p - jr->start);
    jr->p++;
    if ((k = jsonread_string(jr, klen)) == NULL)
        return -1;
    jsonread_blank(jr);
    if (jr->p >= jr->end || *jr->p != ':') {
        jsonread_fail(jr, "':' expected");
        return -1;
    }
    jr->p++;
    jr->top += *klen + 1;
    *key = k;
    return 1;
}

const char *
jsonread_str(struct jsonread *jr, size_t *len)
{
    char *s;

    if (jsonread_peek(jr) != JSON_STRING) {
        jsonread_fail(jr, "string expected");
        return NULL;
    }
    jr->p++;
    if ((s = jsonread_string(jr, len)) != NULL)
        jr->top += *len + 1;
    return s;
}

json_t *
jsonread_json(struct jsonread *jr)
{
    size_t top = jr->top;
    json_t *v;

    if (jr->what != NULL)
        return NULL;
    /* A number or a string alone reports no failed allocation itself. */
    if ((v = jsonread_value(jr)) == NULL)
        jsonread_fail(jr, JSONREAD_OOM);
    jr->top = top;
    return v;
}

int
jsonread_skip(struct jsonread *jr)
{
    json_t *v = jsonread_json(jr);

    if (v == NULL)
        return -1;
    json_decref(v);
    return 0;
}

int
jsonread_finish(struct jsonread *jr)
{
    if (jr->what != NULL)
        return -1;
    jsonread_blank(jr);
    if (jr->p != jr->end) {
        jsonread_fail(jr, "end of text expected");
        return -1;
    }
    return 0;
}

void
jsonread_strerror(const struct jsonread *jr, char *err, size_t errlen)
{
    const unsigned char *p, *at = jr->start + jr->errpos;
    unsigned line = 1, col = 1;

    for (p = jr->start; p < at; p++) {
        if (*p == '\n') {
            line++;
            col = 1;
        } else if ((*p & 0xc0) != 0x80)
            col++;
    }
    snprintf(err, errlen, "line %u column %u: %s", line, col,
        jr->what != NULL ? jr->what : "no error");
}

json_t *
jsonread_parse(struct jsonread *jr, const char *s, size_t len, char *err,
    size_t errlen)
{
    json_t *v = NULL;

    if (jsonread_start(jr, s, len) == 0) {
        jsonread_blank(jr);
        if (jr->p >= jr->end || (*jr->p != '{' && *jr->p != '['))
            jsonread_fail(jr, "'[' or '{' expected");
        else if ((v = jsonread_value(jr)) != NULL &&
            jsonread_finish(jr) == -1) {
            json_decref(v);
            v = NULL;
        }
    }
    if (v == NULL)
        snprintf(err, errlen, "%s at byte %zu", jr->what, jr->errpos);
    return v;
}

void
jsonread_free(struct jsonread *jr)
{
    xfree(jr->buf);
    jr->buf = NULL;
    jr->cap = 0;
}
