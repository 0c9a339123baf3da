/*
 * buf: a growable byte buffer with a ceiling fixed at init. Appends past
 * the ceiling fail (-1) and leave the buffer as it was, but set failed, so
 * a run of appends can be checked once at the end. The data is always
 * NUL-terminated for convenience; len does not count the NUL.
 */
#ifndef INBOXD_BUF_H
#define INBOXD_BUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

struct buf {
    char *data;
    size_t len;
    size_t cap;
    size_t max;
    bool failed;        /* an append failed since init or reset */
};

void buf_init(struct buf *b, size_t max);
int buf_append(struct buf *b, const void *p, size_t n);
/*
 * Make room for n more bytes (and the NUL) without appending, so that a
 * writer may fill data + len directly and then advance len itself.
 */
int buf_reserve(struct buf *b, size_t n);
int buf_puts(struct buf *b, const char *s);
int buf_printf(struct buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
int buf_vprintf(struct buf *b, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));
void buf_reset(struct buf *b);
/* Hand the data to the caller (xfree it); the buffer is left empty. */
char *buf_steal(struct buf *b);
void buf_free(struct buf *b);
/* Append s percent-encoded for a URL or a form: all but A-Z a-z 0-9 -._~ */
int buf_urlencode(struct buf *b, const char *s);

#endif
