/*
 * harness: what every integration test needs. A private redis-server on a
 * Unix socket in a temp directory, a real inboxd started from a config
 * template on a free loopback port, its log file, and a small HTTP client.
 *
 * Every wait has a time limit. Children never outlive the test: each is
 * started with PR_SET_PDEATHSIG (SIGKILL) and an atexit hook kills any
 * still running. The first child started also makes the test process
 * ignore SIGPIPE (a peer that dies mid-write must not kill the test).
 * Temp directories go away only through the _cleanup calls, so a failed
 * test can print the logs first.
 *
 * Build macros (tests/CMakeLists.txt): REDIS_SERVER_BIN, INBOXD_BIN,
 * PROJECT_DIR.
 */
#ifndef INBOXD_HARNESS_H
#define INBOXD_HARNESS_H

#include <stdbool.h>
#include <sys/types.h>

#include <hiredis/hiredis.h>

/* Sleep ms (through signals); the monotonic clock in ms. */
void it_sleep_ms(int ms);
long long it_now_ms(void);

/* ---------------------------------------------------------------------
 * redis-server
 * ------------------------------------------------------------------ */

struct it_redis {
    char dir[256];              /* temp dir: socket, AOF, redis.log */
    char sock[320];             /* <dir>/redis.sock */
    pid_t pid;                  /* 0 while not running */
};

/*
 * Start redis-server (REDIS_SERVER_BIN). Zero *r first: the temp dir is
 * made under /tmp on the first start and kept by it_redis_stop. The server
 * listens on the Unix socket only (port 0), with appendonly yes,
 * appendfsync everysec, no RDB saves, and logs to <dir>/redis.log.
 * Returns once PING answers PONG (at most 10 s); -1 on failure, with the
 * server killed.
 */
int it_redis_start(struct it_redis *r);

/* SIGTERM (Redis fsyncs its AOF), wait up to 5 s, then SIGKILL. Keeps
 * the dir, so it_redis_restart reloads the data. 0 when it was running. */
int it_redis_stop(struct it_redis *r);

/* Start again on the same socket and dir (the AOF is reloaded). */
int it_redis_restart(struct it_redis *r);

/* Stop if running and remove the temp dir. Safe on a zeroed struct. */
void it_redis_cleanup(struct it_redis *r);

/* A sync hiredis connection over the socket, 2 s connect and command
 * timeouts. NULL on failure. The caller redisFree()s it. */
redisContext *it_redis_connect(const struct it_redis *r);

/*
 * HGET key field over a fresh connection: a new string (xfree it), or
 * NULL when the field is absent or Redis cannot be reached.
 */
char *it_redis_hget(const struct it_redis *r, const char *key,
    const char *field);

/* XLEN key over a fresh connection; -1 when Redis cannot be reached. */
long long it_redis_xlen(const struct it_redis *r, const char *key);

/*
 * tmpl with every occurrence of name replaced by value, as a new string
 * (xfree it): a config template's own placeholders, besides the {{...}}
 * ones it_daemon_start fills in. NULL when memory runs out.
 */
char *it_subst(const char *tmpl, const char *name, const char *value);

/* "unix:<sock>", as the config's redis.address wants it. Static buffer:
 * valid until the next call. */
char *it_redis_addr(const struct it_redis *r);

/* ---------------------------------------------------------------------
 * inboxd
 * ------------------------------------------------------------------ */

struct it_daemon {
    char dir[256];              /* temp dir: config and log */
    char cfg[320];              /* <dir>/inboxd.yml */
    char log[320];              /* <dir>/inboxd.log: stdout and stderr */
    int port;                   /* the loopback port it listens on */
    pid_t pid;                  /* 0 while not running */
};

/*
 * Write yaml to <dir>/inboxd.yml after replacing {{port}} (a free loopback
 * port, found by binding port 0 and closing), {{redis}} (it_redis_addr(r);
 * r may be NULL for a daemon without Redis: then an address nobody
 * listens on), {{rules}} (PROJECT_DIR "/rules") and {{dir}} (the daemon's
 * temp dir). Start INBOXD_BIN -c <cfg> with INBOXD_TOKEN=test-token in the
 * environment, and wait (at most 10 s) until GET /healthz answers with any
 * HTTP status. Zero *d first. -1 when it did not come up; the log is kept
 * for it_log_dump, and it_daemon_cleanup is still the caller's to call.
 */
int it_daemon_start(struct it_daemon *d, const char *yaml,
    const struct it_redis *r);

/*
 * Stop the daemon if it runs, then start it again on the same config
 * file and port (clients can reconnect to the same address), waiting as
 * it_daemon_start does. -1 when it did not come up.
 */
int it_daemon_restart(struct it_daemon *d);

/*
 * Wait (at most ms) until GET /healthz answers 200: Redis connected with
 * every script loaded and rules in place. -1 on timeout.
 */
int it_daemon_wait_healthy(struct it_daemon *d, int ms);

/* Send sig to the daemon. -1 when it is not running. */
int it_daemon_signal(struct it_daemon *d, int sig);

/*
 * Wait at most timeout_ms for the daemon to exit. 0 when it did, with
 * *exit_status (may be NULL) its exit code, or 128 + signal number when
 * it was killed; -1 on timeout (still running).
 */
int it_daemon_wait(struct it_daemon *d, int timeout_ms, int *exit_status);

/* SIGTERM, wait up to 10 s (the daemon drains), then SIGKILL. Keeps the
 * dir and the log. */
void it_daemon_stop(struct it_daemon *d);

/*
 * The end of a test's run: stop the daemon, fail (rc 1) if its log holds
 * a sanitizer report, and dump the log when the run failed. Returns the
 * run's final rc.
 */
int it_daemon_finish(struct it_daemon *d, int rc);

/* Stop and remove the dir. On failure, it_log_dump before this. */
void it_daemon_cleanup(struct it_daemon *d);

/* Does the daemon's log hold needle now? */
bool it_log_contains(const struct it_daemon *d, const char *needle);

/* Poll the log until it holds needle: 0, or -1 after timeout_ms. */
int it_log_wait(const struct it_daemon *d, const char *needle,
    int timeout_ms);

/* How many times the daemon's log holds needle now. */
int it_log_count(const struct it_daemon *d, const char *needle);

/*
 * The port in the daemon's last log line holding needle, read from just
 * after it (needle ends where the port starts, e.g. "web inbox on
 * http://127.0.0.1:"), waiting at most timeout_ms for the line. -1 when
 * it did not come.
 */
int it_log_port(const struct it_daemon *d, const char *needle,
    int timeout_ms);

/* Print the daemon's log to stderr, framed, for a failed test. */
void it_log_dump(const struct it_daemon *d);

/* ---------------------------------------------------------------------
 * HTTP client
 * ------------------------------------------------------------------ */

/*
 * A TCP connection to 127.0.0.1:port from the loopback address src (any
 * of 127.0.0.0/8 on Linux: a second client source without a second
 * host; NULL: the kernel's choice), with SO_RCVBUF set first when rcvbuf
 * > 0 (a client that reads slowly). The fd, or -1.
 */
int it_connect_from(const char *src, int port, int rcvbuf);

/*
 * One request to http://127.0.0.1:<d->port><path> with libcurl, 5 s
 * timeout, no proxy. token, when not NULL, goes in "Authorization: Bearer
 * <token>". body, when not NULL, is sent with "Content-Type:
 * application/json" (and no "Expect: 100-continue"). On 0, *status holds
 * the HTTP status, *resp_body (may be NULL to ignore) a new NUL-terminated
 * string the caller xfrees, and *resp_headers likewise (may be NULL) the
 * raw response header block. -1 when no HTTP response came back
 * (connection refused, timeout); nothing is allocated then.
 */
int it_http(const struct it_daemon *d, const char *method, const char *path,
    const char *token, const char *body, long *status, char **resp_body,
    char **resp_headers);

/*
 * The same with the request headers given whole ("Name: value", the list
 * NULL-terminated; may be NULL) and a body of len bytes sent exactly as
 * they are (webhook signatures are over the raw bytes). No Content-Type
 * is added.
 */
int it_http_ex(const struct it_daemon *d, const char *method,
    const char *path, const char *const *headers, const char *body,
    size_t len, long *status, char **resp_body, char **resp_headers);

#endif
