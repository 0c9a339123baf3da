/*
 * jsonw: compact JSON into a buf, byte for byte what json_dumps gives
 * (include/jsonw.h). A string takes two passes (jsonw_string): the
 * first validates its UTF-8 with util_utf8_seq, which refuses what
 * jansson refuses (overlong forms, surrogates, anything past U+10FFFF),
 * and counts what the escapes add; the second writes into room reserved
 * once.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "jsonw.h"
#include "util.h"

/* 1 for the ASCII bytes that may be copied as they are. */
static const unsigned char jsonw_plain[128] = {
    [0x20] = 1, [0x21] = 1, /* 0x22 '"' */ [0x23] = 1, [0x24] = 1,
    [0x25] = 1, [0x26] = 1, [0x27] = 1, [0x28] = 1, [0x29] = 1, [0x2a] = 1,
    [0x2b] = 1, [0x2c] = 1, [0x2d] = 1, [0x2e] = 1, [0x2f] = 1, [0x30] = 1,
    [0x31] = 1, [0x32] = 1, [0x33] = 1, [0x34] = 1, [0x35] = 1, [0x36] = 1,
    [0x37] = 1, [0x38] = 1, [0x39] = 1, [0x3a] = 1, [0x3b] = 1, [0x3c] = 1,
    [0x3d] = 1, [0x3e] = 1, [0x3f] = 1, [0x40] = 1, [0x41] = 1, [0x42] = 1,
    [0x43] = 1, [0x44] = 1, [0x45] = 1, [0x46] = 1, [0x47] = 1, [0x48] = 1,
    [0x49] = 1, [0x4a] = 1, [0x4b] = 1, [0x4c] = 1, [0x4d] = 1, [0x4e] = 1,
    [0x4f] = 1, [0x50] = 1, [0x51] = 1, [0x52] = 1, [0x53] = 1, [0x54] = 1,
    [0x55] = 1, [0x56] = 1, [0x57] = 1, [0x58] = 1, [0x59] = 1, [0x5a] = 1,
    [0x5b] = 1, /* 0x5c '\\' */ [0x5d] = 1, [0x5e] = 1, [0x5f] = 1,
    [0x60] = 1, [0x61] = 1, [0x62] = 1, [0x63] = 1, [0x64] = 1, [0x65] = 1,
    [0x66] = 1, [0x67] = 1, [0x68] = 1, [0x69] = 1, [0x6a] = 1, [0x6b] = 1,
    [0x6c] = 1, [0x6d] = 1, [0x6e] = 1, [0x6f] = 1, [0x70] = 1, [0x71] = 1,
    [0x72] = 1, [0x73] = 1, [0x74] = 1, [0x75] = 1, [0x76] = 1, [0x77] = 1,
    [0x78] = 1, [0x79] = 1, [0x7a] = 1, [0x7b] = 1, [0x7c] = 1, [0x7d] = 1,
    [0x7e] = 1, [0x7f] = 1,
};

/* What a byte below 0x80 that is not plain becomes: its escape letter,
 * or 0 for the \u00XX form. */
static char
jsonw_escape_letter(unsigned char c)
{
    switch (c) {
    case '"':  return '"';
    case '\\': return '\\';
    case '\b': return 'b';
    case '\f': return 'f';
    case '\n': return 'n';
    case '\r': return 'r';
    case '\t': return 't';
    default:   return 0;
    }
}

/*
 * Two passes: the first validates and counts what the escapes add, so
 * that the second writes into room reserved once, and a string with
 * nothing to escape (nearly all of them) is one memcpy.
 */
int
jsonw_string(struct buf *b, const char *str, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    size_t extra = 0;
    char *p;

    while (s < end) {
        if (*s < 0x80) {
            if (!jsonw_plain[*s])
                extra += jsonw_escape_letter(*s) != 0 ? 1 : 5;
            s++;
        } else {
            size_t n = util_utf8_seq(s, (size_t)(end - s), 0);

            if (n == 0)
                return -1;
            s += n;
        }
    }
    if (buf_reserve(b, len + extra + 2) == -1)
        return -1;
    p = b->data + b->len;
    *p++ = '"';
    if (extra == 0) {
        if (len > 0)
            memcpy(p, str, len);
        p += len;
    } else {
        for (s = (const unsigned char *)str; s < end; s++) {
            char letter;

            if (*s >= 0x80 || jsonw_plain[*s]) {
                *p++ = (char)*s;
                continue;
            }
            *p++ = '\\';
            if ((letter = jsonw_escape_letter(*s)) != 0) {
                *p++ = letter;
            } else {
                *p++ = 'u';
                *p++ = '0';
                *p++ = '0';
                *p++ = hex[*s >> 4];
                *p++ = hex[*s & 0xf];
            }
        }
    }
    *p++ = '"';
    b->len = (size_t)(p - b->data);
    b->data[b->len] = '\0';
    return 0;
}

int
jsonw_str(struct buf *b, const char *s)
{
    if (s == NULL)
        return buf_append(b, "null", 4);
    return jsonw_string(b, s, strlen(s));
}

int
jsonw_key(struct buf *b, const char *key, int first)
{
    if (!first && buf_append(b, ",", 1) == -1)
        return -1;
    if (jsonw_string(b, key, strlen(key)) == -1)
        return -1;
    return buf_append(b, ":", 1);
}

int
jsonw_int(struct buf *b, int64_t v)
{
    char tmp[24], *p;
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;

    p = util_utoa(tmp + sizeof(tmp), u);
    if (v < 0)
        *--p = '-';
    return buf_append(b, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * As jansson without its dtoa: "%.17g", ".0" added when the result has
 * neither '.' nor 'e', the exponent without '+' or leading zeros. The
 * common case of a score (a small number of halves, quarters...) is
 * written without printf: a value whose every binary digit is at most
 * 2^-10 and whose magnitude is below 10^6 has at most 16 significant
 * decimal digits, all exact, which is what %.17g prints for it.
 */
int
jsonw_real(struct buf *b, double v)
{
    char tmp[40], *e, *p;
    int n;

    if (!isfinite(v))
        return -1;
    if (fabs(v) < 1e6 && v * 1024.0 == floor(v * 1024.0)) {
        double a = fabs(v);
        uint64_t ip = (uint64_t)a;
        unsigned frac = (unsigned)((a - (double)ip) * 1024.0);
        size_t len;

        char digits[8], *d;

        p = tmp;
        if (signbit(v))
            *p++ = '-';
        /* ip < 10^6: its digits, without printf. */
        d = util_utoa(digits + sizeof(digits), ip);
        memcpy(p, d, (size_t)(digits + sizeof(digits) - d));
        p += digits + sizeof(digits) - d;
        *p++ = '.';
        if (frac == 0) {
            *p++ = '0';
        } else {
            /* frac / 1024 in decimal: multiply by ten digit by digit. */
            while (frac != 0) {
                frac *= 10;
                *p++ = (char)('0' + frac / 1024);
                frac %= 1024;
            }
        }
        len = (size_t)(p - tmp);
        return buf_append(b, tmp, len);
    }
    n = snprintf(tmp, sizeof(tmp) - 3, "%.17g", v);
    if (n < 0 || (size_t)n >= sizeof(tmp) - 3)
        return -1;
    if (strchr(tmp, '.') == NULL && strchr(tmp, 'e') == NULL) {
        tmp[n++] = '.';
        tmp[n++] = '0';
        tmp[n] = '\0';
    }
    if ((e = strchr(tmp, 'e')) != NULL) {
        char *start = e + 1, *digits;

        if (*start == '-')
            start++;
        digits = start;
        if (*digits == '+')
            digits++;
        while (*digits == '0' && digits[1] != '\0')
            digits++;
        memmove(start, digits, strlen(digits) + 1);
        n = (int)strlen(tmp);
    }
    return buf_append(b, tmp, (size_t)n);
}

static int
jsonw_walk(struct buf *b, const json_t *v, int depth)
{
    if (v == NULL || depth > JSONW_MAX_DEPTH)
        return -1;
    switch (json_typeof(v)) {
    case JSON_NULL:
        return buf_append(b, "null", 4);
    case JSON_TRUE:
        return buf_append(b, "true", 4);
    case JSON_FALSE:
        return buf_append(b, "false", 5);
    case JSON_INTEGER:
        return jsonw_int(b, (int64_t)json_integer_value(v));
    case JSON_REAL:
        return jsonw_real(b, json_real_value(v));
    case JSON_STRING:
        return jsonw_string(b, json_string_value(v), json_string_length(v));
    case JSON_ARRAY: {
        size_t i, n = json_array_size(v);

        if (buf_append(b, "[", 1) == -1)
            return -1;
        for (i = 0; i < n; i++) {
            if ((i > 0 && buf_append(b, ",", 1) == -1) ||
                jsonw_walk(b, json_array_get(v, i), depth + 1) == -1)
                return -1;
        }
        return buf_append(b, "]", 1);
    }
    case JSON_OBJECT: {
        void *iter = json_object_iter((json_t *)(uintptr_t)v);
        int first = 1;

        if (buf_append(b, "{", 1) == -1)
            return -1;
        for (; iter != NULL;
            iter = json_object_iter_next((json_t *)(uintptr_t)v, iter)) {
            const char *key = json_object_iter_key(iter);

            if ((!first && buf_append(b, ",", 1) == -1) ||
                jsonw_string(b, key, json_object_iter_key_len(iter)) == -1 ||
                buf_append(b, ":", 1) == -1 ||
                jsonw_walk(b, json_object_iter_value(iter), depth + 1) == -1)
                return -1;
            first = 0;
        }
        return buf_append(b, "}", 1);
    }
    }
    return -1;
}

int
jsonw_value(struct buf *b, const json_t *v)
{
    return jsonw_walk(b, v, 0);
}
