/*
 * alloc: the one allocation family. Every heap allocation in inboxd goes
 * through these, so a test can make the N-th allocation fail and watch the
 * caller cope. They return NULL on failure like malloc; callers check.
 * jansson is pointed at them too (alloc_init).
 */
#ifndef INBOXD_ALLOC_H
#define INBOXD_ALLOC_H

#include <stddef.h>

void alloc_init(void);
void *xmalloc(size_t n);
void *xcalloc(size_t nmemb, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void xfree(void *p);

/* Free *pp and clear it. */
#define XFREE(pp) do { xfree(*(pp)); *(pp) = NULL; } while (0)

/*
 * Test hook: the n-th allocation from now (1-based) and every one after it
 * fails; 0 turns failures off. Returns how many allocations were made since
 * the last call, so a torture loop knows when it has covered them all.
 */
unsigned long alloc_fail_after(unsigned long n);

#endif
