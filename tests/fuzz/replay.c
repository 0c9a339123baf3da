/*
 * replay: run saved inputs through one fuzz target without libFuzzer, so
 * that every build (gcc, the sanitizer one) replays the seed corpus and
 * the inputs that once crashed (tests/fuzz/regressions) as a ctest test.
 * Linked with one <name>_fuzz.c, which brings both entry points.
 *
 * Arguments are files or directories (their regular files, in name
 * order, dotfiles skipped). Each input runs in a child process, so a
 * crash is reported with the input's name and the other inputs still
 * run. Ends with "N passed, N failed"; exits 1 when any failed or an
 * argument cannot be read.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "fuzz.h"

#define REPLAY_MAX_INPUT (64u << 20)

struct replay {
    size_t passed, failed;
};

/* Run one file in a child; 0 when it came back cleanly. */
static int
replay_file(const char *path)
{
    struct buf in;
    char chunk[8192];
    size_t n;
    pid_t pid;
    FILE *fp;
    int st;

    if ((fp = fopen(path, "rb")) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
        return -1;
    }
    buf_init(&in, REPLAY_MAX_INPUT);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (buf_append(&in, chunk, n) == -1) {
            fprintf(stderr, "replay: %s: too large\n", path);
            fclose(fp);
            buf_free(&in);
            return -1;
        }
    }
    fclose(fp);
    fflush(NULL);
    if ((pid = fork()) == -1) {
        fprintf(stderr, "replay: fork: %s\n", strerror(errno));
        buf_free(&in);
        return -1;
    }
    if (pid == 0) {
        LLVMFuzzerTestOneInput((const uint8_t *)(in.data ? in.data : ""),
            in.len);
        buf_free(&in);
        exit(0);        /* exit, not _exit: LeakSanitizer checks here */
    }
    buf_free(&in);
    while (waitpid(pid, &st, 0) == -1) {
        if (errno != EINTR)
            return -1;
    }
    if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
        return 0;
    if (WIFSIGNALED(st))
        fprintf(stderr, "replay: %s: killed by signal %d\n", path,
            WTERMSIG(st));
    else
        fprintf(stderr, "replay: %s: exit status %d\n", path,
            WEXITSTATUS(st));
    return -1;
}

static void
replay_count(struct replay *r, const char *path)
{
    if (replay_file(path) == 0) {
        r->passed++;
        printf("ok   %s\n", path);
    } else {
        r->failed++;
        printf("FAIL %s\n", path);
    }
}

static int
replay_name_cmp(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Every regular file directly in dir, in name order; -1 when unreadable. */
static int
replay_dir(struct replay *r, const char *dir)
{
    char **names = NULL, path[4096];
    size_t n = 0, cap = 0;
    struct dirent *de;
    struct stat sb;
    DIR *d;

    if ((d = opendir(dir)) == NULL) {
        fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.')
            continue;
        if (n == cap) {
            char **v;

            cap = cap ? cap * 2 : 64;
            if ((v = xrealloc(names, cap * sizeof(*v))) == NULL)
                break;
            names = v;
        }
        if ((names[n] = xstrdup(de->d_name)) == NULL)
            break;
        n++;
    }
    closedir(d);
    if (n > 0)
        qsort(names, n, sizeof(*names), replay_name_cmp);
    for (size_t i = 0; i < n; i++) {
        snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
        if (stat(path, &sb) == 0 && S_ISREG(sb.st_mode))
            replay_count(r, path);
        xfree(names[i]);
    }
    xfree(names);
    return 0;
}

int
main(int argc, char **argv)
{
    struct replay r = { 0, 0 };
    struct stat sb;
    int bad = 0;

    LLVMFuzzerInitialize(&argc, &argv);
    for (int i = 1; i < argc; i++) {
        if (stat(argv[i], &sb) == -1) {
            fprintf(stderr, "replay: %s: %s\n", argv[i], strerror(errno));
            bad = 1;
        } else if (S_ISDIR(sb.st_mode)) {
            if (replay_dir(&r, argv[i]) == -1)
                bad = 1;
        } else {
            replay_count(&r, argv[i]);
        }
    }
    printf("%zu passed, %zu failed\n", r.passed, r.failed);
    return r.failed == 0 && !bad ? 0 : 1;
}
