/*
 * fake_platform: the Telegram Bot API and the YouTube Data API as small
 * scripted HTTP servers for the integration tests. One libevent evhttp
 * server on 127.0.0.1, port 0 (the real port read back), running its own
 * event loop in a thread of the test; the test scripts it and reads back
 * what it was asked, under a mutex.
 *
 * Scripting: responses are queued per path prefix and served in order.
 * With nothing queued it answers as the platform would when there is
 * nothing new: Telegram getUpdates holds the request up to its timeout
 * parameter (a long poll; a response queued meanwhile is served at once)
 * and then answers {"ok":true,"result":[]}; YouTube commentThreads
 * answers an empty list. A Telegram token not registered gets the Bot
 * API's 401, an unknown path its 404. Bodies are the platforms' exact
 * wire format: the tests queue the samples of tests/data/platforms/.
 *
 * Every request is recorded (method, URI, headers, body, arrival time).
 * Loopback only; fake_platform_stop ends the thread.
 */
#ifndef INBOXD_FAKE_PLATFORM_H
#define INBOXD_FAKE_PLATFORM_H

#include <stddef.h>
#include <stdint.h>

struct fake_platform;

/* Start the server and its thread. NULL on failure. */
struct fake_platform *fake_platform_start(void);

/* "http://127.0.0.1:<port>", valid until fake_platform_stop. */
const char *fake_platform_url(const struct fake_platform *f);

/* A Telegram bot token the fake accepts in /bot<token>/...; copied. */
void fake_platform_telegram_token(struct fake_platform *f,
    const char *token);

/*
 * Queue a response for the next request whose path starts with prefix
 * ("/bot<token>/getUpdates", "/youtube/v3/commentThreads"): HTTP status,
 * JSON body, and an extra header line such as "Retry-After: 2" (NULL for
 * none). Everything is copied.
 */
void fake_platform_push(struct fake_platform *f, const char *prefix,
    int status, const char *body, const char *header);

/* The same with the body read from a file; -1 when it cannot be read. */
int fake_platform_push_file(struct fake_platform *f, const char *prefix,
    int status, const char *path, const char *header);

/* Responses queued for prefix and not served yet. */
size_t fake_platform_queued(struct fake_platform *f, const char *prefix);

/* Requests recorded whose path starts with prefix (NULL: all). */
size_t fake_platform_count(struct fake_platform *f, const char *prefix);

/*
 * Wait at most timeout_ms until fake_platform_count(prefix) >= n. 0 when
 * it did, -1 on timeout.
 */
int fake_platform_wait(struct fake_platform *f, const char *prefix,
    size_t n, int timeout_ms);

/*
 * The i-th request (0-based) whose path starts with prefix: its URI (path
 * and query) as a new string (xfree it), and when it arrived (monotonic
 * ms; at_ms may be NULL). NULL when there is no such request.
 */
char *fake_platform_uri(struct fake_platform *f, const char *prefix,
    size_t i, int64_t *at_ms);

/* That request's method ("GET", ...) and body, new strings, or NULL. */
char *fake_platform_method(struct fake_platform *f, const char *prefix,
    size_t i);
char *fake_platform_body(struct fake_platform *f, const char *prefix,
    size_t i);

/*
 * The decoded query parameter name of that request, a new string (xfree
 * it), or NULL when the request or the parameter is missing.
 */
char *fake_platform_param(struct fake_platform *f, const char *prefix,
    size_t i, const char *name);

/* A request header's value (name case-insensitive), new, or NULL. */
char *fake_platform_header(struct fake_platform *f, const char *prefix,
    size_t i, const char *name);

/* Monotonic ms, the clock of the arrival times. */
int64_t fake_platform_now_ms(void);

/* Answer what is held, stop the thread, free everything. NULL is fine. */
void fake_platform_stop(struct fake_platform *f);

#endif
