/*
 * log: levelled, one-line logging to stderr.
 *
 * Every line is "TIME LEVEL func: message". The level test happens in the
 * macro, before any argument is formatted. Lines about one item carry
 * "item=<id>" right after the function name (log_item_*). Debug output is
 * switched on per subsystem ("queue,http"), not by one global flag.
 * errno is preserved across every call.
 */
#ifndef INBOXD_LOG_H
#define INBOXD_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>

enum log_level {
    LOG_LEVEL_DEBUG = 0,
    LOG_LEVEL_INFO = 1,
    LOG_LEVEL_WARN = 2,
    LOG_LEVEL_ERROR = 3,
};

/* Longest line written, newline included; longer lines are cut. */
#define LOG_MAX_LEN 1024
/* Quoted user text (log_quote) is cut to this many bytes. */
#define LOG_QUOTE_MAX 120

/* The one piece of process-wide state here: the threshold the macros test. */
extern enum log_level log_threshold;

/* Set the threshold. Returns -1 on an unknown level name. */
int log_set_level_name(const char *name);
void log_set_level(enum log_level level);
const char *log_level_name(enum log_level level);

/*
 * Enable debug lines for a comma-separated list of subsystems ("queue,http"),
 * or "all". NULL or "" switches them all off. Enabling any subsystem also
 * lowers the threshold to debug.
 */
void log_set_debug(const char *subsystems);
bool log_debug_enabled(const char *subsystem);

/* Redirect output (tests); NULL restores stderr. Borrowed, not closed. */
void log_set_stream(FILE *fp);

void log_emit(enum log_level level, const char *func, const char *item_id,
    int errnum, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

/*
 * Copy user text into dst for logging: control characters escaped, cut to
 * LOG_QUOTE_MAX bytes on a UTF-8 boundary with "..." appended. Returns dst.
 */
char *log_quote(char *dst, unsigned long dstlen, const char *text);

/* Would a line at lvl be written? For work done only to log. */
#define log_enabled(lvl) ((lvl) >= log_threshold)

#define LOG_AT_(lvl, id, en, ...) do {                                   \
        if ((lvl) >= log_threshold)                                      \
            log_emit((lvl), __func__, (id), (en), __VA_ARGS__);          \
    } while (0)

#define log_debug(sub, ...) do {                                         \
        if (log_threshold == LOG_LEVEL_DEBUG && log_debug_enabled(sub))  \
            log_emit(LOG_LEVEL_DEBUG, __func__, NULL, 0, __VA_ARGS__);   \
    } while (0)
#define log_info(...)  LOG_AT_(LOG_LEVEL_INFO, NULL, 0, __VA_ARGS__)
/* log_warn appends strerror(errno); log_warnx does not. */
#define log_warn(...)  LOG_AT_(LOG_LEVEL_WARN, NULL, errno, __VA_ARGS__)
#define log_warnx(...) LOG_AT_(LOG_LEVEL_WARN, NULL, 0, __VA_ARGS__)
#define log_error(...) LOG_AT_(LOG_LEVEL_ERROR, NULL, 0, __VA_ARGS__)

/* Lines about one item: the id string goes on the line. */
#define log_item_debug(sub, id, ...) do {                                \
        if (log_threshold == LOG_LEVEL_DEBUG && log_debug_enabled(sub))  \
            log_emit(LOG_LEVEL_DEBUG, __func__, (id), 0, __VA_ARGS__);   \
    } while (0)
#define log_item_info(id, ...)  LOG_AT_(LOG_LEVEL_INFO, (id), 0, __VA_ARGS__)
#define log_item_warnx(id, ...) LOG_AT_(LOG_LEVEL_WARN, (id), 0, __VA_ARGS__)
#define log_item_error(id, ...) LOG_AT_(LOG_LEVEL_ERROR, (id), 0, __VA_ARGS__)

/* Startup only: log and exit(1). Never called once the loop runs. */
void fatalx(const char *fmt, ...)
    __attribute__((format(printf, 1, 2), noreturn));

#endif
