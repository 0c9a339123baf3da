/*
 * check: the tiny unit-test harness. A test is a function returning 0 on
 * success; CHECK jumps to its "out:" label on the first failure, after
 * printing file:line and the failed expression. main() runs a table of
 * tests and closes with "N passed, N failed".
 */
#ifndef INBOXD_CHECK_H
#define INBOXD_CHECK_H

#include <stdio.h>
#include <string.h>

#define CHECK(cond) do {                                                 \
        if (!(cond)) {                                                   \
            fprintf(stderr, "  %s:%d: check failed: %s\n",               \
                __FILE__, __LINE__, #cond);                              \
            rc = -1;                                                     \
            goto out;                                                    \
        }                                                                \
    } while (0)

#define CHECK_STR(a, b) do {                                             \
        const char *a_ = (a), *b_ = (b);                                 \
        if (a_ == NULL || b_ == NULL || strcmp(a_, b_) != 0) {           \
            fprintf(stderr, "  %s:%d: \"%s\" != \"%s\" (%s vs %s)\n",    \
                __FILE__, __LINE__, a_ ? a_ : "(null)",                  \
                b_ ? b_ : "(null)", #a, #b);                             \
            rc = -1;                                                     \
            goto out;                                                    \
        }                                                                \
    } while (0)

/* Substring check, for error messages. */
#define CHECK_CONTAINS(hay, needle) do {                                 \
        const char *h_ = (hay), *n_ = (needle);                          \
        if (h_ == NULL || strstr(h_, n_) == NULL) {                      \
            fprintf(stderr, "  %s:%d: \"%s\" does not contain \"%s\"\n", \
                __FILE__, __LINE__, h_ ? h_ : "(null)", n_);             \
            rc = -1;                                                     \
            goto out;                                                    \
        }                                                                \
    } while (0)

struct check_case {
    const char *name;
    int (*fn)(void);
};

static inline int
check_run(const struct check_case *cases, size_t n)
{
    size_t passed = 0, failed = 0;

    for (size_t i = 0; i < n; i++) {
        if (cases[i].fn() == 0) {
            passed++;
            printf("ok   %s\n", cases[i].name);
        } else {
            failed++;
            printf("FAIL %s\n", cases[i].name);
        }
    }
    printf("%zu passed, %zu failed\n", passed, failed);
    return failed == 0 ? 0 : 1;
}

#define CHECK_MAIN(cases)                                                \
    int main(void)                                                       \
    {                                                                    \
        alloc_init();                                                    \
        return check_run(cases, sizeof(cases) / sizeof(cases[0]));       \
    }

#endif
