/*
 * log: one line per event on stderr: "TIME LEVEL func: [item=ID ]message".
 * The macros in log.h test the level before anything is formatted; here we
 * format once into a fixed buffer, cut at LOG_MAX_LEN, and write it with a
 * single write(2) so lines from several processes do not interleave.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "util.h"

enum log_level log_threshold = LOG_LEVEL_INFO;

static FILE *log_stream;
/* Debug subsystems, ",queue,http," form so a strstr finds ",queue,". */
static char log_debug_list[256];
static int log_debug_all;

static const char *const log_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

const char *
log_level_name(enum log_level level)
{
    if ((unsigned)level > LOG_LEVEL_ERROR)
        return "?";
    return log_names[level];
}

void
log_set_level(enum log_level level)
{
    log_threshold = level;
}

int
log_set_level_name(const char *name)
{
    for (unsigned i = 0; i <= LOG_LEVEL_ERROR; i++) {
        if (strcasecmp(name, log_names[i]) == 0) {
            log_threshold = (enum log_level)i;
            return 0;
        }
    }
    return -1;
}

void
log_set_debug(const char *subsystems)
{
    log_debug_all = 0;
    log_debug_list[0] = '\0';
    if (subsystems == NULL || *subsystems == '\0')
        return;
    if (strcmp(subsystems, "all") == 0)
        log_debug_all = 1;
    snprintf(log_debug_list, sizeof(log_debug_list), ",%s,", subsystems);
    log_threshold = LOG_LEVEL_DEBUG;
}

bool
log_debug_enabled(const char *subsystem)
{
    char key[64];

    if (log_debug_all)
        return true;
    if (log_debug_list[0] == '\0')
        return false;
    snprintf(key, sizeof(key), ",%s,", subsystem);
    return strstr(log_debug_list, key) != NULL;
}

void
log_set_stream(FILE *fp)
{
    log_stream = fp;
}

static void
log_write(const char *line, size_t len)
{
    FILE *fp = log_stream ? log_stream : stderr;
    ssize_t n;

    if (fp == stderr) {
        /* One write per line: atomic for lines under PIPE_BUF. */
        do {
            n = write(STDERR_FILENO, line, len);
        } while (n == -1 && errno == EINTR);
        return;
    }
    fwrite(line, 1, len, fp);
    fflush(fp);
}

void
log_emit(enum log_level level, const char *func, const char *item_id,
    int errnum, const char *fmt, ...)
{
    char line[LOG_MAX_LEN];
    char ts[32];
    int saved = errno;
    size_t len;
    va_list ap;
    int n;

    util_format_time(util_now_ms(), ts);
    n = snprintf(line, sizeof(line), "%s %s %s: ", ts, log_level_name(level),
        func);
    len = n > 0 ? (size_t)n : 0;
    if (item_id != NULL && len < sizeof(line)) {
        n = snprintf(line + len, sizeof(line) - len, "item=%s ", item_id);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len < sizeof(line)) {
        va_start(ap, fmt);
        n = vsnprintf(line + len, sizeof(line) - len, fmt, ap);
        va_end(ap);
        len += n > 0 ? (size_t)n : 0;
    }
    if (errnum != 0 && len < sizeof(line)) {
        n = snprintf(line + len, sizeof(line) - len, ": %s",
            strerror(errnum));
        len += n > 0 ? (size_t)n : 0;
    }
    if (len > sizeof(line) - 2)
        len = sizeof(line) - 2;     /* cut, keep room for the newline */
    /* A line is one line: fold any newline a message carried. */
    for (size_t i = 0; i < len; i++) {
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    }
    line[len++] = '\n';
    log_write(line, len);
    errno = saved;
}

char *
log_quote(char *dst, unsigned long dstlen, const char *text)
{
    size_t o = 0, max = dstlen < LOG_QUOTE_MAX + 4 ? dstlen - 4 : LOG_QUOTE_MAX;
    const unsigned char *s = (const unsigned char *)text;

    if (dstlen < 8) {
        if (dstlen)
            dst[0] = '\0';
        return dst;
    }
    for (; *s != '\0'; s++) {
        if (o + 4 >= max) {
            /* Cut mid-character? Drop the partial UTF-8 sequence. */
            if ((*s & 0xc0) == 0x80) {
                while (o > 0 && ((unsigned char)dst[o - 1] & 0xc0) == 0x80)
                    o--;
                if (o > 0)
                    o--;
            }
            memcpy(dst + o, "...", 4);
            return dst;
        }
        if (*s < 0x20 || *s == 0x7f) {
            o += (size_t)snprintf(dst + o, dstlen - o, "\\x%02x", *s);
        } else {
            dst[o++] = (char)*s;
        }
    }
    dst[o] = '\0';
    return dst;
}

void
fatalx(const char *fmt, ...)
{
    char msg[LOG_MAX_LEN];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    log_emit(LOG_LEVEL_ERROR, "fatal", NULL, 0, "%s", msg);
    exit(1);
}
