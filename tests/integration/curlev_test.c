/*
 * curlev against fake_platform on loopback, in-process on a libevent
 * loop: a GET with its status, body and Retry-After (seconds and an HTTP
 * date); a POST with headers and a body; error statuses as answers; the
 * response cap; the timeout; a refused connection; a URL of another
 * scheme; cancel of one request and curlev_free of several, each
 * callback exactly once; many requests at once.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <event2/event.h>

#include "alloc.h"
#include "check.h"
#include "curlev.h"
#include "fake_platform.h"

static struct fake_platform *fake;
static struct event_base *base;

/* What one request's callback saw. */
struct result {
    int calls;
    enum curlev_result res;
    long status;
    char body[512];
    size_t len;
    int64_t retry_after_ms;
    int64_t elapsed_ms;
};

static void
done_cb(const struct curlev_response *resp, void *arg)
{
    struct result *r = arg;

    r->calls++;
    r->res = resp->result;
    r->status = resp->status;
    r->len = resp->len;
    snprintf(r->body, sizeof(r->body), "%s", resp->body);
    r->retry_after_ms = resp->retry_after_ms;
    r->elapsed_ms = resp->elapsed_ms;
}

/* Run the loop until every result has a call, at most timeout_ms. */
static int
run(struct result *rs, size_t n, int timeout_ms)
{
    int64_t end = fake_platform_now_ms() + timeout_ms;
    bool all;

    for (;;) {
        all = true;
        for (size_t i = 0; i < n; i++)
            all = all && rs[i].calls > 0;
        if (all)
            return 0;
        if (fake_platform_now_ms() >= end)
            return -1;
        event_base_loop(base, EVLOOP_ONCE | EVLOOP_NONBLOCK);
        {
            struct timespec ts = { 0, 2 * 1000 * 1000 };

            nanosleep(&ts, NULL);
        }
    }
}

static struct curlev_req *
get(struct curlev *c, const char *path, int64_t timeout_ms, size_t cap,
    struct result *r)
{
    char url[256];
    struct curlev_request req = {
        .method = "GET", .url = url, .log_name = "test",
        .timeout_ms = timeout_ms, .max_response = cap,
    };

    snprintf(url, sizeof(url), "%s%s", fake_platform_url(fake), path);
    return curlev_start(c, &req, done_cb, r);
}

static int
test_get(void)
{
    struct curlev *c = NULL;
    struct result r = { 0 };
    char *ua = NULL;
    int rc = 0;

    CHECK((c = curlev_new(base)) != NULL);
    fake_platform_push(fake, "/x/get", 200, "{\"ok\":true}",
        "Retry-After: 3");
    CHECK(get(c, "/x/get?a=1", 2000, 0, &r) != NULL);
    CHECK(curlev_pending(c) == 1);
    CHECK(r.calls == 0);            /* never from inside curlev_start */
    CHECK(run(&r, 1, 3000) == 0);
    CHECK(r.calls == 1);
    CHECK(r.res == CURLEV_OK);
    CHECK(r.status == 200);
    CHECK_STR(r.body, "{\"ok\":true}");
    CHECK(r.len == 11);
    CHECK(r.retry_after_ms == 3000);
    CHECK(curlev_pending(c) == 0);
    CHECK((ua = fake_platform_header(fake, "/x/get", 0, "User-Agent")) !=
        NULL);
    CHECK(strncmp(ua, "inboxd/", 7) == 0);
out:
    xfree(ua);
    curlev_free(c);
    return rc;
}

static int
test_post(void)
{
    static const char *const headers[] = {
        "Content-Type: application/json", "X-Test: yes", NULL,
    };
    struct curlev *c = NULL;
    struct result r = { 0 };
    char url[256], *m = NULL, *b = NULL, *h = NULL, *ex = NULL;
    struct curlev_request req = {
        .method = "POST", .url = url, .log_name = "post",
        .headers = headers, .body = "{\"text\":\"hi\"}", .len = 13,
    };
    int rc = 0;

    snprintf(url, sizeof(url), "%s/x/post", fake_platform_url(fake));
    CHECK((c = curlev_new(base)) != NULL);
    fake_platform_push(fake, "/x/post", 201, "created", NULL);
    CHECK(curlev_start(c, &req, done_cb, &r) != NULL);
    CHECK(run(&r, 1, 3000) == 0);
    CHECK(r.res == CURLEV_OK && r.status == 201);
    CHECK(r.retry_after_ms == -1);
    CHECK((m = fake_platform_method(fake, "/x/post", 0)) != NULL);
    CHECK_STR(m, "POST");
    CHECK((b = fake_platform_body(fake, "/x/post", 0)) != NULL);
    CHECK_STR(b, "{\"text\":\"hi\"}");
    CHECK((h = fake_platform_header(fake, "/x/post", 0, "X-Test")) != NULL);
    CHECK_STR(h, "yes");
    /* No 100-continue round trip. */
    ex = fake_platform_header(fake, "/x/post", 0, "Expect");
    CHECK(ex == NULL);
out:
    xfree(m);
    xfree(b);
    xfree(h);
    xfree(ex);
    curlev_free(c);
    return rc;
}

static int
test_statuses(void)
{
    struct curlev *c = NULL;
    struct result r[2] = { { 0 } };
    char date[64];
    time_t later = time(NULL) + 20;
    struct tm tm;
    char hdr[96];
    int rc = 0;

    CHECK((c = curlev_new(base)) != NULL);
    gmtime_r(&later, &tm);
    strftime(date, sizeof(date), "%a, %d %b %Y %H:%M:%S GMT", &tm);
    snprintf(hdr, sizeof(hdr), "Retry-After: %s", date);
    fake_platform_push(fake, "/x/busy", 503, "{\"busy\":1}", hdr);
    /* Unknown paths: the fake's 404, still an answer. */
    CHECK(get(c, "/nowhere", 2000, 0, &r[0]) != NULL);
    CHECK(get(c, "/x/busy", 2000, 0, &r[1]) != NULL);
    CHECK(run(r, 2, 3000) == 0);
    CHECK(r[0].res == CURLEV_OK && r[0].status == 404);
    CHECK(strstr(r[0].body, "notFound") != NULL);
    CHECK(r[1].res == CURLEV_OK && r[1].status == 503);
    CHECK(r[1].retry_after_ms >= 15000 && r[1].retry_after_ms <= 21000);
out:
    curlev_free(c);
    return rc;
}

static int
test_cap(void)
{
    struct curlev *c = NULL;
    struct result r = { 0 };
    char big[2048];
    int rc = 0;

    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    CHECK((c = curlev_new(base)) != NULL);
    fake_platform_push(fake, "/x/big", 200, big, NULL);
    CHECK(get(c, "/x/big", 2000, 100, &r) != NULL);
    CHECK(run(&r, 1, 3000) == 0);
    CHECK(r.res == CURLEV_TOO_LARGE);
    CHECK(r.status == 0);
    CHECK(r.len <= 100);
out:
    curlev_free(c);
    return rc;
}

static int
test_timeout_and_refused(void)
{
    struct curlev *c = NULL;
    struct result r[3] = { { 0 } };
    struct curlev_request req = {
        .method = "GET", .url = "http://127.0.0.1:1/x", .log_name = "r",
        .timeout_ms = 2000,
    };
    struct curlev_request ftp = {
        .method = "GET", .url = "ftp://127.0.0.1/x", .log_name = "ftp",
    };
    int rc = 0;

    CHECK((c = curlev_new(base)) != NULL);
    /* getUpdates with a timeout is held by the fake (a long poll). */
    CHECK(get(c, "/botT/getUpdates?timeout=5", 300, 0, &r[0]) != NULL);
    CHECK(curlev_start(c, &req, done_cb, &r[1]) != NULL);
    CHECK(curlev_start(c, &ftp, done_cb, &r[2]) != NULL);
    CHECK(run(r, 3, 4000) == 0);
    CHECK(r[0].res == CURLEV_TIMEOUT);
    CHECK(r[0].elapsed_ms >= 250 && r[0].elapsed_ms < 2000);
    CHECK(r[1].res == CURLEV_CONNECT);
    CHECK(r[2].res == CURLEV_FAILED);
    for (int i = 0; i < 3; i++)
        CHECK(r[i].calls == 1);
out:
    curlev_free(c);
    return rc;
}

static int
test_cancel_and_free(void)
{
    struct curlev *c = NULL;
    struct curlev_req *one;
    struct result r[4] = { { 0 } };
    int rc = 0;

    CHECK((c = curlev_new(base)) != NULL);
    CHECK((one = get(c, "/botT/getUpdates?timeout=5", 10000, 0, &r[0])) !=
        NULL);
    for (int i = 1; i < 4; i++)
        CHECK(get(c, "/botT/getUpdates?timeout=5", 10000, 0, &r[i]) !=
            NULL);
    /* Let the transfers start, then cancel one: its callback at once. */
    (void)run(r, 4, 200);
    CHECK(curlev_pending(c) == 4);
    curlev_cancel(c, one);
    CHECK(r[0].calls == 1 && r[0].res == CURLEV_CANCELLED);
    CHECK(curlev_pending(c) == 3);
    curlev_free(c);
    c = NULL;
    for (int i = 0; i < 4; i++)
        CHECK(r[i].calls == 1 && r[i].res == CURLEV_CANCELLED);
out:
    curlev_free(c);
    return rc;
}

static int
test_many(void)
{
    enum { N = 40 };
    struct curlev *c = NULL;
    struct result r[N];
    char path[64];
    int rc = 0;

    memset(r, 0, sizeof(r));
    CHECK((c = curlev_new(base)) != NULL);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "/many/%d/", i);
        fake_platform_push(fake, path, 200, path, NULL);
        CHECK(get(c, path, 5000, 0, &r[i]) != NULL);
    }
    CHECK(run(r, N, 8000) == 0);
    for (int i = 0; i < N; i++) {
        snprintf(path, sizeof(path), "/many/%d/", i);
        CHECK(r[i].calls == 1 && r[i].res == CURLEV_OK);
        CHECK_STR(r[i].body, path);
    }
out:
    curlev_free(c);
    return rc;
}

static const struct check_case cases[] = {
    {"get", test_get},
    {"post", test_post},
    {"statuses", test_statuses},
    {"cap", test_cap},
    {"timeout_and_refused", test_timeout_and_refused},
    {"cancel_and_free", test_cancel_and_free},
    {"many", test_many},
};

int
main(void)
{
    int rc;

    alloc_init();
    if ((fake = fake_platform_start()) == NULL ||
        (base = event_base_new()) == NULL) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    event_base_free(base);
    fake_platform_stop(fake);
    libevent_global_shutdown();
    return rc;
}
