/*
 * fuzz: what the fuzz targets in tests/fuzz share (docs/fuzzing.md).
 *
 * A target is one <name>_fuzz.c with the two libFuzzer entry points:
 * LLVMFuzzerInitialize sets up once what every input needs (accounts, a
 * rule set, a scratch directory), LLVMFuzzerTestOneInput runs one input
 * and keeps nothing from it. A target links either with libFuzzer (the
 * INBOXD_FUZZ=ON build, clang) or with replay.c, a plain main() that
 * runs saved inputs through it for the regression tests of every build.
 *
 * Besides crashes and leaks, a target checks what the headers promise
 * about the answer (an error message is printable ASCII, a hit lies
 * inside the text); FUZZ_CHECK aborts when a promise is broken, so
 * libFuzzer keeps the input like any other crash.
 */
#ifndef INBOXD_FUZZ_H
#define INBOXD_FUZZ_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "item.h"
#include "log.h"

#ifndef FUZZ_SOURCE_DIR
#define FUZZ_SOURCE_DIR "."
#endif

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_CHECK(cond) do {                                            \
        if (!(cond))                                                     \
            fuzz_fail(__FILE__, __LINE__, #cond);                        \
    } while (0)

static inline _Noreturn void
fuzz_fail(const char *file, int line, const char *what)
{
    fprintf(stderr, "%s:%d: broken promise: %s\n", file, line, what);
    abort();
}

/*
 * Every target starts here: jansson allocates through alloc.h, and every
 * log line, debug ones included, is formatted (quoting hostile text is
 * code too) and thrown away.
 */
static inline void
fuzz_setup(void)
{
    FILE *null = fopen("/dev/null", "w");

    alloc_init();
    if (null == NULL) {
        perror("fuzz: /dev/null");
        exit(1);
    }
    log_set_stream(null);
    log_set_debug("all");
}

/* The input as a NUL-terminated string (xfree it); NULL when out of memory. */
static inline char *
fuzz_str(const uint8_t *data, size_t size)
{
    char *s = xmalloc(size + 1);

    if (s != NULL) {
        if (size > 0)
            memcpy(s, data, size);
        s[size] = '\0';
    }
    return s;
}

/* Length of the first line of the input, without its '\n'. */
static inline size_t
fuzz_line_len(const uint8_t *data, size_t size)
{
    const uint8_t *nl = size > 0 ? memchr(data, '\n', size) : NULL;

    return nl != NULL ? (size_t)(nl - data) : size;
}

/* What follows the first line; *len receives its length. */
static inline const uint8_t *
fuzz_after_line(const uint8_t *data, size_t size, size_t *len)
{
    size_t n = fuzz_line_len(data, size);

    if (n == size) {
        *len = 0;
        return data + size;
    }
    *len = size - n - 1;
    return data + n + 1;
}

static inline bool
fuzz_printable(const char *s)
{
    for (; *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e)
            return false;
    return true;
}

/* Strict UTF-8: no overlong forms, no surrogates, nothing past U+10FFFF. */
static inline bool
fuzz_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str;
    size_t i = 0, n;

    while (i < len) {
        unsigned char c = s[i];
        unsigned lo = 0x80, hi = 0xbf;

        if (c < 0x80) {
            i++;
            continue;
        }
        if (c >= 0xc2 && c <= 0xdf)
            n = 1;
        else if (c >= 0xe0 && c <= 0xef)
            n = 2;
        else if (c >= 0xf0 && c <= 0xf4)
            n = 3;
        else
            return false;
        if (len - i <= n)
            return false;
        if (c == 0xe0)
            lo = 0xa0;
        else if (c == 0xed)
            hi = 0x9f;
        else if (c == 0xf0)
            lo = 0x90;
        else if (c == 0xf4)
            hi = 0x8f;
        if (s[i + 1] < lo || s[i + 1] > hi)
            return false;
        for (size_t k = 2; k <= n; k++)
            if ((s[i + k] & 0xc0) != 0x80)
                return false;
        i += n + 1;
    }
    return true;
}

/*
 * A stored item parses again (item.h): the JSON of it must be accepted
 * by item_from_json under lim and give the same JSON back.
 */
static inline void
fuzz_check_item_roundtrip(const struct item *it,
    const struct item_limits *lim)
{
    char *dump = item_dump(it), *again = NULL, err[256];
    struct item *back = NULL;
    json_t *obj;

    if (dump == NULL)
        return;         /* out of memory */
    obj = json_loads(dump, JSON_REJECT_DUPLICATES, NULL);
    FUZZ_CHECK(obj != NULL);
    back = item_from_json(obj, lim, err, sizeof(err));
    if (back == NULL)
        fprintf(stderr, "item_from_json: %s\n%s\n", err, dump);
    FUZZ_CHECK(back != NULL);
    item_set_received_ms(back, item_received_ms(it));
    if ((again = item_dump(back)) != NULL)
        FUZZ_CHECK(strcmp(dump, again) == 0);
    xfree(again);
    item_free(back);
    json_decref(obj);
    xfree(dump);
}

/* Replace the file at path with the input; -1 on failure. */
static inline int
fuzz_write_file(const char *path, const uint8_t *data, size_t size)
{
    FILE *fp = fopen(path, "wb");
    int rc = 0;

    if (fp == NULL)
        return -1;
    if (size > 0 && fwrite(data, 1, size, fp) != size)
        rc = -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

/*
 * A scratch directory for the targets that must hand a file path to the
 * code under test (config, rules), in $TMPDIR (run.sh points it into the
 * build directory). It is made once and removed at exit, with what lies
 * directly in it (files and symlinks only), by the process that made it:
 * replay.c runs each input in a child that exits too. libFuzzer leaves
 * it behind when it stops on a finding.
 */
struct fuzz_tmp {
    char path[256];
    pid_t owner;
};

static inline struct fuzz_tmp *
fuzz_tmp_state(void)
{
    static struct fuzz_tmp st;

    return &st;
}

static inline void
fuzz_tmpdir_remove(void)
{
    struct fuzz_tmp *t = fuzz_tmp_state();
    char path[sizeof(t->path) + 256 + 2];
    struct dirent *de;
    DIR *dir;

    if (t->path[0] == '\0' || getpid() != t->owner)
        return;
    if ((dir = opendir(t->path)) != NULL) {
        while ((de = readdir(dir)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if (snprintf(path, sizeof(path), "%s/%s", t->path,
                de->d_name) < (int)sizeof(path))
                unlink(path);
        }
        closedir(dir);
    }
    rmdir(t->path);
}

/* Make the scratch directory (once); its path, or exit on failure. */
static inline const char *
fuzz_tmpdir(void)
{
    struct fuzz_tmp *t = fuzz_tmp_state();
    const char *base = getenv("TMPDIR");

    if (t->path[0] != '\0')
        return t->path;
    if (base == NULL || *base == '\0')
        base = "/tmp";
    if (snprintf(t->path, sizeof(t->path), "%s/inboxd-fuzz-XXXXXX", base) >=
        (int)sizeof(t->path)) {
        fprintf(stderr, "fuzz: TMPDIR too long\n");
        exit(1);
    }
    if (mkdtemp(t->path) == NULL) {
        perror("fuzz: mkdtemp");
        exit(1);
    }
    t->owner = getpid();
    atexit(fuzz_tmpdir_remove);
    return t->path;
}

#endif
