/*
 * buf: growable byte buffer with a fixed ceiling; used for rendering
 * metrics, log lines and error lists.
 */
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

void
buf_init(struct buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
    b->failed = false;
}

static int
buf_grow(struct buf *b, size_t need)
{
    size_t cap;
    char *p;

    if (need + 1 <= b->cap)
        return 0;
    if (need > b->max) {
        b->failed = true;
        return -1;
    }
    cap = b->cap ? b->cap : 64;
    while (cap < need + 1)
        cap *= 2;
    if (cap > b->max + 1)
        cap = b->max + 1;
    if ((p = xrealloc(b->data, cap)) == NULL) {
        b->failed = true;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

int
buf_reserve(struct buf *b, size_t n)
{
    if (n > b->max - b->len) {
        b->failed = true;
        return -1;
    }
    return buf_grow(b, b->len + n);
}

int
buf_append(struct buf *b, const void *p, size_t n)
{
    if (n > b->max - b->len) {
        b->failed = true;
        return -1;
    }
    if (buf_grow(b, b->len + n) == -1)
        return -1;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
    return 0;
}

int
buf_puts(struct buf *b, const char *s)
{
    return buf_append(b, s, strlen(s));
}

int
buf_vprintf(struct buf *b, const char *fmt, va_list ap)
{
    va_list ap2;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    if (n < 0 || (size_t)n > b->max - b->len) {
        b->failed = true;
        return -1;
    }
    if (buf_grow(b, b->len + (size_t)n) == -1)
        return -1;
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    b->len += (size_t)n;
    return 0;
}

int
buf_printf(struct buf *b, const char *fmt, ...)
{
    va_list ap;
    int rc;

    va_start(ap, fmt);
    rc = buf_vprintf(b, fmt, ap);
    va_end(ap);
    return rc;
}

void
buf_reset(struct buf *b)
{
    b->len = 0;
    b->failed = false;
    if (b->data)
        b->data[0] = '\0';
}

char *
buf_steal(struct buf *b)
{
    char *p = b->data;

    if (p == NULL)
        p = xstrdup("");
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}

void
buf_free(struct buf *b)
{
    XFREE(&b->data);
    b->len = b->cap = 0;
}

/* Append s percent-encoded (RFC 3986 unreserved characters kept). */
int
buf_urlencode(struct buf *b, const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    char enc[3];

    for (; *s != '\0'; s++) {
        unsigned char ch = (unsigned char)*s;

        if ((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
            (ch >= '0' && ch <= '9') || ch == '-' || ch == '_' ||
            ch == '.' || ch == '~') {
            if (buf_append(b, s, 1) == -1)
                return -1;
            continue;
        }
        enc[0] = '%';
        enc[1] = hex[ch >> 4];
        enc[2] = hex[ch & 15];
        if (buf_append(b, enc, 3) == -1)
            return -1;
    }
    return 0;
}
