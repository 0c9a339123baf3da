/*
 * fake_platform: the platforms' APIs as one small scripted HTTP server for
 * the integration tests: the Telegram Bot API, the YouTube Data API, the
 * Graph API (Facebook and Instagram) and the VK API. One libevent evhttp
 * server on 127.0.0.1, port 0 (the real port read back), running its own
 * event loop in a thread of the test; the test scripts it and reads back
 * what it was asked, under a mutex. tests/fakes/README.md tells what each
 * platform's part serves.
 *
 * Scripting: responses are queued per path prefix and served in order.
 * With nothing queued it answers as the platform would: Telegram
 * getUpdates holds the request up to its timeout parameter (a long poll;
 * a response queued meanwhile is served at once) and then answers
 * {"ok":true,"result":[]}; YouTube commentThreads answers an empty list;
 * the write calls (hide, delete, reply, send) are carried out and
 * answered in each platform's wire format, errors included. A Telegram
 * token not registered gets the Bot API's 401, an unknown path its 404.
 * A queued response stands in for the platform's work: the request it
 * answers has no effect. Bodies are the platforms' exact wire format: the
 * tests queue the samples of tests/data/platforms/.
 *
 * Every request is recorded (method, URI, headers, body, arrival time),
 * and so is every effect a write call had on the platform (below).
 * Loopback only; fake_platform_stop ends the thread. The fake ignores
 * SIGPIPE in the whole process (a client that hung up must not kill the
 * test when its delayed answer is written).
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
 * JSON body, and extra header lines such as "Retry-After: 2" (several
 * separated by '\n'; NULL for none). Everything is copied. Status 204
 * sends no body.
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

/* ---------------------------------------------------------------------
 * Write APIs, effects and failures
 * ------------------------------------------------------------------ */

/*
 * A Graph API access token the fake accepts (query or form access_token,
 * or Authorization: Bearer); copied. While none is registered any
 * non-empty token is accepted. A request without an accepted token gets
 * Graph's OAuthException (code 190) with HTTP 400.
 */
void fake_platform_graph_token(struct fake_platform *f, const char *token);

/*
 * Effects: what the platform carried out for a write call, after its own
 * deduplication (VK random_id and guid) and refusals (a second delete of
 * the same message or comment), one string per effect:
 *
 *   "<platform> <kind> <target>[ <text>]"
 *
 *   facebook hide|unhide|delete <comment-id>
 *   facebook reply <comment-id> <message>
 *   facebook dm <psid> <text>              (messaging_type present)
 *   facebook dm comment:<comment-id> <text> (private reply)
 *   instagram hide|unhide|delete|reply|dm  (the same targets)
 *   vk delete|restore <owner_id>_<comment_id>
 *   vk reply <owner_id>_<reply_to_comment> <message>
 *   vk reply wall<owner_id>_<post_id> <message>   (top-level comment)
 *   vk dm <peer_id> <message>
 *   telegram reply <chat_id>_<reply-to message_id> <text>
 *   telegram dm <chat_id> <text>           (sendMessage, not a reply)
 *   telegram delete <chat_id>_<message_id>
 *   youtube moderate <comment-id>:<status>[ banAuthor]
 *   youtube reply <parent-id> <textOriginal>
 *   youtube delete <comment-id>
 *
 * Kinds: hide, unhide, delete, restore, reply, dm, moderate. Graph calls
 * carry no platform: a hide is Facebook's with is_hidden and Instagram's
 * with hide; /comments replies are Facebook's when the id holds a '_'
 * (Facebook comment ids do, Instagram's do not), /replies Instagram's;
 * a DELETE goes by the same '_' rule; a send is Facebook's when its body
 * has messaging_type (Messenger requires it), Instagram's otherwise.
 * Numbers are written as the fake parsed them (VK "-218837455", not
 * "-0218837455"). Texts are the UTF-8 sent, unchanged.
 */

/* Effects of kind recorded so far (NULL: every kind). */
size_t fake_platform_effects(struct fake_platform *f, const char *kind);

/* The i-th (0-based) effect of kind (NULL: any), a new string, or NULL. */
char *fake_platform_effect(struct fake_platform *f, const char *kind,
    size_t i);

/* Wait at most timeout_ms until fake_platform_effects(kind) >= n. 0 when
 * it did, -1 on timeout. */
int fake_platform_wait_effects(struct fake_platform *f, const char *kind,
    size_t n, int timeout_ms);

/*
 * The next request whose path starts with prefix is carried out at once
 * (its effect recorded, a queued response taken) but answered only ms
 * later, so a client with a shorter timeout sees a timeout. Other
 * requests are served meanwhile. A long poll held by the fake does not
 * take the delay; the next immediate answer does. Delays and drops apply
 * in the order they were set, each to one request.
 */
void fake_platform_delay(struct fake_platform *f, const char *prefix,
    int ms);

/* The next request whose path starts with prefix is recorded and its
 * connection closed with no answer and no effect. */
void fake_platform_drop(struct fake_platform *f, const char *prefix);

/*
 * Queue the platform's throttling answer for the next request under
 * prefix, chosen by the path: Telegram 429 "Too Many Requests: retry
 * after N" with retry_after and a Retry-After header; Graph HTTP 400
 * with error code 4 (no Retry-After: Graph has none); VK HTTP 200 with
 * error 6 echoing the method; YouTube 403 rateLimitExceeded.
 */
void fake_platform_push_throttle(struct fake_platform *f,
    const char *prefix, int retry_after);

/* Monotonic ms, the clock of the arrival times. */
int64_t fake_platform_now_ms(void);

/* Answer what is held, stop the thread, free everything. NULL is fine. */
void fake_platform_stop(struct fake_platform *f);

#endif
