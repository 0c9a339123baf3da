/*
 * util: small pure helpers shared by several modules: clocks, RFC 3339
 * times, human durations and sizes as written in the config, checked
 * number parsing (no atoi), UTF-8 checking and whole-file reading.
 */
#ifndef INBOXD_UTIL_H
#define INBOXD_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>
#include <stdint.h>

/* Number of elements of an array (not a pointer). */
#ifndef nitems
#define nitems(a) (sizeof(a) / sizeof((a)[0]))
#endif

/* Wall clock in milliseconds since the epoch. */
int64_t util_now_ms(void);
/* Monotonic clock in microseconds, and in nanoseconds. */
int64_t util_mono_us(void);
uint64_t util_mono_ns(void);

/*
 * Format ms since the epoch as RFC 3339 UTC with milliseconds
 * ("2026-11-23T09:40:00.123Z"). out needs 25 bytes.
 */
void util_format_time(int64_t ms, char out[32]);
/* Parse RFC 3339 ("...Z" or "+hh:mm", optional fraction). -1 on error. */
int util_parse_time(const char *s, int64_t *ms);

/* "250ms", "10s", "5m", "2h", "30d"; bare numbers are seconds. */
int util_parse_duration_ms(const char *s, int64_t *ms);
/* "512", "64KiB", "1MiB", "1GiB" (also KB/MB/GB as powers of 1000). */
int util_parse_size(const char *s, uint64_t *bytes);
/*
 * The decimal digits of u written backwards so that they end at end (no
 * NUL); returns where they start. 20 bytes before end are enough.
 */
char *util_utoa(char *end, uint64_t u);
/* Whole decimal number with range check; -1 on junk or overflow. */
int util_parse_long(const char *s, long min, long max, long *out);

/* "host:port", "[v6]:port" or "unix:/path". host may come back NULL. */
int util_parse_addr(const char *s, char **host, int *port, char **unix_path);

bool util_str_has_prefix(const char *s, const char *prefix);

/*
 * Join the strings that follow dstlen, up to a NULL, into dst (always
 * NUL-terminated when dstlen > 0): snprintf("%s%s%s") without parsing a
 * format, for keys built on every item. -1 when they did not fit (dst
 * then holds what did).
 */
int util_concat(char *dst, size_t dstlen, ...)
    __attribute__((sentinel));

/*
 * This process among those sharing one Redis: "<host>:<pid>:<random>",
 * the owner of leases and the consumer of streams.
 */
void util_instance_name(char *out, size_t len);

/*
 * Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF
 * (NUL is valid). Returns true when all len bytes are valid; otherwise
 * false, with the offset of the first bad byte in *bad (when not NULL).
 */
bool util_utf8_valid(const char *s, size_t len, size_t *bad);
/*
 * Length of the valid UTF-8 sequence starting at s[i] (i < len; 1 for
 * ASCII), or 0 when it is not one: overlong forms, surrogates, past
 * U+10FFFF, cut.
 */
size_t util_utf8_seq(const unsigned char *s, size_t len, size_t i);
/*
 * Make the string s valid UTF-8 in place: every byte that does not start
 * a valid sequence becomes '?'. For text bound for a JSON string that may
 * quote client bytes or be cut mid-character (jansson refuses the rest).
 */
void util_utf8_scrub(char *s);
/* The 1-based line and column (in bytes) of offset off in s. */
void util_text_pos(const char *s, size_t off, int *line, int *col);

/*
 * Read the whole regular file at path, at most max bytes, into a new
 * buffer with a NUL after the data (xfree it); *len receives the length
 * without the NUL, and *mode (when not NULL) the file's mode, from the
 * same open file. NULL on failure with errno set: EFBIG when it holds
 * more than max bytes, EISDIR for a directory, EINVAL for anything else
 * that is not a regular file, ENOMEM, or what open or read said; a
 * partly read buffer is wiped first.
 */
char *util_read_file(const char *path, size_t max, size_t *len,
    mode_t *mode);

#endif
