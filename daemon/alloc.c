/*
 * alloc: the allocation wrappers every module uses, and the hook that lets
 * a test fail the N-th allocation. jansson allocates through them too.
 */
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"

/* Test hook state; never touched outside tests. */
static unsigned long alloc_count;
static unsigned long alloc_fail_at;

static int
alloc_should_fail(void)
{
    alloc_count++;
    return alloc_fail_at != 0 && alloc_count >= alloc_fail_at;
}

void *
xmalloc(size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return malloc(n ? n : 1);
}

void *
xcalloc(size_t nmemb, size_t size)
{
    if (alloc_should_fail())
        return NULL;
    return calloc(nmemb ? nmemb : 1, size ? size : 1);
}

void *
xrealloc(void *p, size_t n)
{
    if (alloc_should_fail())
        return NULL;
    return realloc(p, n ? n : 1);
}

char *
xstrndup(const char *s, size_t n)
{
    size_t len = strnlen(s, n);
    char *d = xmalloc(len + 1);

    if (d == NULL)
        return NULL;
    memcpy(d, s, len);
    d[len] = '\0';
    return d;
}

char *
xstrdup(const char *s)
{
    return xstrndup(s, strlen(s));
}

void
xfree(void *p)
{
    free(p);
}

unsigned long
alloc_fail_after(unsigned long n)
{
    unsigned long made = alloc_count;

    alloc_count = 0;
    alloc_fail_at = n;
    return made;
}

void
alloc_init(void)
{
    json_set_alloc_funcs(xmalloc, xfree);
}
