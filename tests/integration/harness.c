/*
 * harness: child processes (redis-server, inboxd), their temp dirs and
 * logs, and a libcurl client for the integration tests. See harness.h.
 *
 * Children are started with fork/exec, never system(), and recorded in a
 * small table so an atexit hook can kill whatever a failed test left
 * running; PR_SET_PDEATHSIG covers the test itself dying.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>

#include <curl/curl.h>
#include <hiredis/hiredis.h>

#include "alloc.h"
#include "buf.h"
#include "harness.h"

#ifndef REDIS_SERVER_BIN
#error "REDIS_SERVER_BIN must be defined"
#endif
#ifndef INBOXD_BIN
#error "INBOXD_BIN must be defined"
#endif
#ifndef PROJECT_DIR
#error "PROJECT_DIR must be defined"
#endif

#define IT_MAX_CHILDREN     32
#define IT_LOG_MAX          (64u << 20)
#define IT_HTTP_MAX         (64u << 20)

/* Test-process state: the children still to reap at exit. */
static pid_t it_children[IT_MAX_CHILDREN];
static bool it_hooked;
static bool it_curl_ready;

/* ---------------------------------------------------------------------
 * Children
 * ------------------------------------------------------------------ */

static void
it_kill_children(void)
{
    for (size_t i = 0; i < IT_MAX_CHILDREN; i++) {
        if (it_children[i] > 0) {
            kill(it_children[i], SIGKILL);
            waitpid(it_children[i], NULL, 0);
            it_children[i] = 0;
        }
    }
}

static void
it_child_add(pid_t pid)
{
    for (size_t i = 0; i < IT_MAX_CHILDREN; i++) {
        if (it_children[i] == 0) {
            it_children[i] = pid;
            return;
        }
    }
}

static void
it_child_forget(pid_t pid)
{
    for (size_t i = 0; i < IT_MAX_CHILDREN; i++) {
        if (it_children[i] == pid)
            it_children[i] = 0;
    }
}

void
it_sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

long long
it_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * fork + exec argv[0] (NULL-terminated, at most 31 entries) with stdin
 * from /dev/null and stdout and stderr appended to out. env_name, when
 * not NULL, is set to env_value in the child's environment.
 */
static pid_t
it_spawn(const char *const argv[], const char *out, const char *env_name,
    const char *env_value)
{
    pid_t parent = getpid(), pid;
    char *cargv[32];
    size_t i;
    int fd;

    if (!it_hooked) {
        it_hooked = true;
        atexit(it_kill_children);
        signal(SIGPIPE, SIG_IGN);
    }
    if ((pid = fork()) == -1) {
        perror("fork");
        return -1;
    }
    if (pid > 0) {
        it_child_add(pid);
        return pid;
    }

    /* Child: die with the test; exec or _exit, never return. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    signal(SIGPIPE, SIG_DFL);
    if ((fd = open("/dev/null", O_RDONLY)) != -1) {
        dup2(fd, STDIN_FILENO);
        close(fd);
    }
    if ((fd = open(out, O_WRONLY | O_CREAT | O_APPEND, 0600)) != -1) {
        dup2(fd, STDOUT_FILENO);
        dup2(fd, STDERR_FILENO);
        close(fd);
    }
    if (env_name != NULL && setenv(env_name, env_value, 1) != 0)
        _exit(127);
    /* execv wants char *const[]: copies, since our strings are const. */
    for (i = 0; argv[i] != NULL && i < 31; i++) {
        if ((cargv[i] = xstrdup(argv[i])) == NULL)
            _exit(127);
    }
    cargv[i] = NULL;
    execv(cargv[0], cargv);
    fprintf(stderr, "exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

/*
 * Reap pid within timeout_ms. 0 and *status when it exited, -1 when it is
 * still running.
 */
static int
it_reap(pid_t pid, int timeout_ms, int *status)
{
    long long deadline = it_now_ms() + timeout_ms;
    pid_t rc;

    for (;;) {
        rc = waitpid(pid, status, WNOHANG);
        if (rc == pid || (rc == -1 && errno == ECHILD)) {
            it_child_forget(pid);
            return 0;
        }
        if (it_now_ms() >= deadline)
            return -1;
        it_sleep_ms(10);
    }
}

/* SIGTERM, wait up to grace_ms, then SIGKILL. Returns the wait status. */
static int
it_terminate(pid_t pid, int grace_ms)
{
    int status = 0;

    kill(pid, SIGTERM);
    if (it_reap(pid, grace_ms, &status) == 0)
        return status;
    fprintf(stderr, "harness: pid %d ignored SIGTERM, killing\n", (int)pid);
    kill(pid, SIGKILL);
    it_reap(pid, 5000, &status);
    return status;
}

/* Remove path and, for a directory, what it holds (depth-limited). */
static void
it_rm(const char *path, int depth)
{
    struct dirent *de;
    struct stat st;
    char sub[1024];
    DIR *dp;

    if (lstat(path, &st) == -1)
        return;
    if (S_ISDIR(st.st_mode) && depth > 0 && (dp = opendir(path)) != NULL) {
        while ((de = readdir(dp)) != NULL) {
            if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
                continue;
            if ((size_t)snprintf(sub, sizeof(sub), "%s/%s", path,
                de->d_name) < sizeof(sub))
                it_rm(sub, depth - 1);
        }
        closedir(dp);
    }
    if (remove(path) == -1 && errno != ENOENT)
        fprintf(stderr, "harness: remove %s: %s\n", path, strerror(errno));
}

static void
it_rmtree(char *dir)
{
    if (dir[0] == '\0')
        return;
    it_rm(dir, 8);
    dir[0] = '\0';
}

static int
it_mkdtemp(char *dir, size_t len, const char *tag)
{
    if ((size_t)snprintf(dir, len, "/tmp/inboxd-%s-XXXXXX", tag) >= len ||
        mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        dir[0] = '\0';
        return -1;
    }
    return 0;
}

/* ---------------------------------------------------------------------
 * redis-server
 * ------------------------------------------------------------------ */

redisContext *
it_redis_connect(const struct it_redis *r)
{
    struct timeval tv = { 2, 0 };
    redisContext *c;

    if ((c = redisConnectUnixWithTimeout(r->sock, tv)) == NULL)
        return NULL;
    if (c->err || redisSetTimeout(c, tv) != REDIS_OK) {
        redisFree(c);
        return NULL;
    }
    return c;
}

char *
it_subst(const char *tmpl, const char *name, const char *value)
{
    const char *p = tmpl, *at;
    struct buf b;

    buf_init(&b, 1u << 20);
    while ((at = strstr(p, name)) != NULL) {
        buf_append(&b, p, (size_t)(at - p));
        buf_puts(&b, value);
        p = at + strlen(name);
    }
    buf_puts(&b, p);
    if (b.failed) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

char *
it_redis_hget(const struct it_redis *r, const char *key, const char *field)
{
    redisContext *c = it_redis_connect(r);
    redisReply *rep;
    char *v = NULL;

    if (c == NULL)
        return NULL;
    rep = redisCommand(c, "HGET %s %s", key, field);
    if (rep != NULL && rep->type == REDIS_REPLY_STRING)
        v = xstrdup(rep->str);
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return v;
}

long long
it_redis_xlen(const struct it_redis *r, const char *key)
{
    redisContext *c = it_redis_connect(r);
    redisReply *rep;
    long long n = -1;

    if (c == NULL)
        return -1;
    rep = redisCommand(c, "XLEN %s", key);
    if (rep != NULL && rep->type == REDIS_REPLY_INTEGER)
        n = rep->integer;
    if (rep != NULL)
        freeReplyObject(rep);
    redisFree(c);
    return n;
}

char *
it_redis_addr(const struct it_redis *r)
{
    static char addr[400];

    snprintf(addr, sizeof(addr), "unix:%s", r->sock);
    return addr;
}

static bool
it_redis_pong(const struct it_redis *r)
{
    redisContext *c;
    redisReply *reply;
    bool ok = false;

    if ((c = it_redis_connect(r)) == NULL)
        return false;
    if ((reply = redisCommand(c, "PING")) != NULL) {
        ok = reply->type == REDIS_REPLY_STATUS &&
            strcmp(reply->str, "PONG") == 0;
        freeReplyObject(reply);
    }
    redisFree(c);
    return ok;
}

int
it_redis_start(struct it_redis *r)
{
    char out[400], logf[400];
    long long deadline;
    int status;
    const char *const argv[] = {
        REDIS_SERVER_BIN,
        "--port", "0",
        "--unixsocket", r->sock,
        "--unixsocketperm", "700",
        "--dir", r->dir,
        "--appendonly", "yes",
        "--appendfsync", "everysec",
        "--save", "",
        "--daemonize", "no",
        "--logfile", logf,
        NULL,
    };

    if (r->pid > 0)
        return 0;
    if (r->dir[0] == '\0') {
        if (it_mkdtemp(r->dir, sizeof(r->dir), "redis") == -1)
            return -1;
        snprintf(r->sock, sizeof(r->sock), "%s/redis.sock", r->dir);
    }
    snprintf(logf, sizeof(logf), "%s/redis.log", r->dir);
    snprintf(out, sizeof(out), "%s/redis.out", r->dir);
    if ((r->pid = it_spawn(argv, out, NULL, NULL)) == -1) {
        r->pid = 0;
        return -1;
    }

    deadline = it_now_ms() + 10000;
    while (it_now_ms() < deadline) {
        if (it_reap(r->pid, 0, &status) == 0) {
            fprintf(stderr, "harness: redis-server exited (status %d), "
                "see %s\n", status, logf);
            r->pid = 0;
            return -1;
        }
        if (it_redis_pong(r))
            return 0;
        it_sleep_ms(20);
    }
    fprintf(stderr, "harness: redis-server did not answer PING in 10 s\n");
    it_terminate(r->pid, 1000);
    r->pid = 0;
    return -1;
}

int
it_redis_stop(struct it_redis *r)
{
    if (r->pid <= 0)
        return -1;
    it_terminate(r->pid, 5000);
    r->pid = 0;
    return 0;
}

int
it_redis_restart(struct it_redis *r)
{
    if (r->dir[0] == '\0')
        return -1;
    if (r->pid > 0)
        it_redis_stop(r);
    return it_redis_start(r);
}

void
it_redis_cleanup(struct it_redis *r)
{
    if (r->pid > 0)
        it_redis_stop(r);
    it_rmtree(r->dir);
    r->sock[0] = '\0';
}

/* ---------------------------------------------------------------------
 * HTTP client
 * ------------------------------------------------------------------ */

static size_t
it_http_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;

    if (buf_append(b, ptr, n) == -1)
        return 0;           /* aborts the transfer */
    return n;
}

int
it_http_ex(const struct it_daemon *d, const char *method, const char *path,
    const char *const *headers, const char *body, size_t len, long *status,
    char **resp_body, char **resp_headers)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct buf bb, hb;
    char url[512];
    CURL *curl = NULL;
    CURLcode cc;
    int rc = -1;

    buf_init(&bb, IT_HTTP_MAX);
    buf_init(&hb, IT_HTTP_MAX);
    if (!it_curl_ready) {
        if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
            goto out;
        it_curl_ready = true;
    }
    if ((curl = curl_easy_init()) == NULL)
        goto out;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d%s", d->port, path);
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, 5000L);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, it_http_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &bb);
    curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, it_http_write_cb);
    curl_easy_setopt(curl, CURLOPT_HEADERDATA, &hb);
    for (size_t i = 0; headers != NULL && headers[i] != NULL; i++) {
        if ((tmp = curl_slist_append(hdrs, headers[i])) == NULL)
            goto out;
        hdrs = tmp;
    }
    if (body != NULL) {
        /* No "Expect: 100-continue" round trip. */
        if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
            goto out;
        hdrs = tmp;
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)len);
    }
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    if (strcmp(method, "HEAD") == 0)
        curl_easy_setopt(curl, CURLOPT_NOBODY, 1L);
    else if (strcmp(method, "GET") != 0 || body != NULL)
        curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, method);

    if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
        if (cc != CURLE_COULDNT_CONNECT)
            fprintf(stderr, "harness: %s %s: %s\n", method, url,
                curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (resp_body != NULL && (*resp_body = buf_steal(&bb)) == NULL)
        goto out;
    if (resp_headers != NULL &&
        (*resp_headers = buf_steal(&hb)) == NULL) {
        if (resp_body != NULL)
            XFREE(resp_body);
        goto out;
    }
    rc = 0;
out:
    curl_slist_free_all(hdrs);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    buf_free(&bb);
    buf_free(&hb);
    return rc;
}

int
it_http(const struct it_daemon *d, const char *method, const char *path,
    const char *token, const char *body, long *status, char **resp_body,
    char **resp_headers)
{
    const char *headers[3];
    char auth[1024];
    size_t n = 0;

    if (token != NULL) {
        snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
        headers[n++] = auth;
    }
    if (body != NULL)
        headers[n++] = "Content-Type: application/json";
    headers[n] = NULL;
    return it_http_ex(d, method, path, headers, body,
        body != NULL ? strlen(body) : 0, status, resp_body, resp_headers);
}

/* ---------------------------------------------------------------------
 * inboxd
 * ------------------------------------------------------------------ */

static int
it_free_port(void)
{
    struct sockaddr_in sin;
    socklen_t len = sizeof(sin);
    int fd, port = -1;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return -1;
    memset(&sin, 0, sizeof(sin));
    sin.sin_family = AF_INET;
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == 0 &&
        getsockname(fd, (struct sockaddr *)&sin, &len) == 0)
        port = ntohs(sin.sin_port);
    close(fd);
    return port;
}

/* yaml with the {{...}} placeholders replaced, into out. */
static int
it_expand(struct buf *out, const char *yaml, const struct it_daemon *d,
    const char *redis)
{
    char port[16];
    const struct {
        const char *name;
        const char *value;
    } vars[] = {
        { "{{port}}", port },
        { "{{redis}}", redis },
        { "{{rules}}", PROJECT_DIR "/rules" },
        { "{{dir}}", d->dir },
    };
    const char *p = yaml, *q;
    size_t i;

    snprintf(port, sizeof(port), "%d", d->port);
    while ((q = strstr(p, "{{")) != NULL) {
        if (buf_append(out, p, (size_t)(q - p)) == -1)
            return -1;
        for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++) {
            if (strncmp(q, vars[i].name, strlen(vars[i].name)) == 0)
                break;
        }
        if (i == sizeof(vars) / sizeof(vars[0])) {
            /* Not ours: copy the braces through untouched. */
            if (buf_append(out, q, 2) == -1)
                return -1;
            p = q + 2;
            continue;
        }
        if (buf_puts(out, vars[i].value) == -1)
            return -1;
        p = q + strlen(vars[i].name);
    }
    return buf_puts(out, p);
}

static int
it_write_file(const char *path, const char *data, size_t len)
{
    FILE *fp;
    int rc = 0;

    if ((fp = fopen(path, "w")) == NULL) {
        perror(path);
        return -1;
    }
    if (fwrite(data, 1, len, fp) != len)
        rc = -1;
    if (fclose(fp) != 0)
        rc = -1;
    return rc;
}

/* Start INBOXD_BIN on d's config and wait until /healthz answers. */
static int
it_daemon_spawn(struct it_daemon *d)
{
    char vlog[400];
    const char *const plain[] = { INBOXD_BIN, "-c", d->cfg, NULL };
    /*
     * IT_VALGRIND_DIR (tests/valgrind.sh): the daemon under memcheck, one
     * log per process in that directory. Not the uninitialised-value
     * checks: pcre2's JIT and vectorscan's SIMD code read whole vectors
     * past a string's end by design, which memcheck cannot tell apart.
     */
    const char *const vg[] = { "/usr/bin/valgrind", "-q",
        "--undef-value-errors=no", "--leak-check=full",
        "--show-leak-kinds=definite", "--errors-for-leak-kinds=definite",
        "--error-exitcode=99", vlog, INBOXD_BIN, "-c", d->cfg, NULL };
    const char *vdir = getenv("IT_VALGRIND_DIR");
    bool valgrind = vdir != NULL && vdir[0] != '\0';
    long long deadline;
    long status;
    int wstatus;

    snprintf(vlog, sizeof(vlog), "--log-file=%s/inboxd.%%p.log",
        valgrind ? vdir : d->dir);
    if ((d->pid = it_spawn(valgrind ? vg : plain, d->log, "INBOXD_TOKEN",
        "test-token")) == -1) {
        d->pid = 0;
        return -1;
    }
    deadline = it_now_ms() + (valgrind ? 60000 : 10000);
    while (it_now_ms() < deadline) {
        if (it_reap(d->pid, 0, &wstatus) == 0) {
            fprintf(stderr, "harness: inboxd exited during startup "
                "(status %d)\n", wstatus);
            d->pid = 0;
            return -1;
        }
        if (it_http(d, "GET", "/healthz", NULL, NULL, &status, NULL,
            NULL) == 0)
            return 0;
        it_sleep_ms(20);
    }
    fprintf(stderr, "harness: inboxd did not answer /healthz in 10 s\n");
    it_daemon_stop(d);
    return -1;
}

int
it_daemon_start(struct it_daemon *d, const char *yaml,
    const struct it_redis *r)
{
    struct buf cfg;
    int rc = -1;

    buf_init(&cfg, 1u << 20);
    if (d->dir[0] == '\0' && it_mkdtemp(d->dir, sizeof(d->dir),
        "daemon") == -1)
        goto out;
    snprintf(d->cfg, sizeof(d->cfg), "%s/inboxd.yml", d->dir);
    snprintf(d->log, sizeof(d->log), "%s/inboxd.log", d->dir);
    if ((d->port = it_free_port()) <= 0) {
        fprintf(stderr, "harness: no free port\n");
        goto out;
    }
    if (it_expand(&cfg, yaml, d, r != NULL ? it_redis_addr(r) :
        "unix:/nonexistent/redis.sock") == -1 ||
        it_write_file(d->cfg, cfg.data, cfg.len) == -1)
        goto out;
    rc = it_daemon_spawn(d);
out:
    buf_free(&cfg);
    return rc;
}

int
it_daemon_restart(struct it_daemon *d)
{
    if (d->cfg[0] == '\0')
        return -1;
    it_daemon_stop(d);
    return it_daemon_spawn(d);
}

int
it_daemon_signal(struct it_daemon *d, int sig)
{
    if (d->pid <= 0)
        return -1;
    return kill(d->pid, sig);
}

int
it_daemon_wait(struct it_daemon *d, int timeout_ms, int *exit_status)
{
    int status = 0;

    if (d->pid <= 0)
        return -1;
    if (it_reap(d->pid, timeout_ms, &status) == -1)
        return -1;
    d->pid = 0;
    if (exit_status != NULL) {
        if (WIFEXITED(status))
            *exit_status = WEXITSTATUS(status);
        else if (WIFSIGNALED(status))
            *exit_status = 128 + WTERMSIG(status);
        else
            *exit_status = -1;
    }
    return 0;
}

void
it_daemon_stop(struct it_daemon *d)
{
    if (d->pid <= 0)
        return;
    it_terminate(d->pid, 10000);
    d->pid = 0;
}

void
it_daemon_cleanup(struct it_daemon *d)
{
    it_daemon_stop(d);
    it_rmtree(d->dir);
}

/* The whole log as a new string, or NULL. */
static char *
it_log_read(const struct it_daemon *d)
{
    struct buf b;
    char chunk[8192];
    size_t n;
    FILE *fp;

    if ((fp = fopen(d->log, "r")) == NULL)
        return NULL;
    buf_init(&b, IT_LOG_MAX);
    while ((n = fread(chunk, 1, sizeof(chunk), fp)) > 0) {
        if (buf_append(&b, chunk, n) == -1)
            break;
    }
    fclose(fp);
    return buf_steal(&b);
}

bool
it_log_contains(const struct it_daemon *d, const char *needle)
{
    char *text;
    bool found;

    if ((text = it_log_read(d)) == NULL)
        return false;
    found = strstr(text, needle) != NULL;
    xfree(text);
    return found;
}

int
it_log_wait(const struct it_daemon *d, const char *needle, int timeout_ms)
{
    long long deadline = it_now_ms() + timeout_ms;

    for (;;) {
        if (it_log_contains(d, needle))
            return 0;
        if (it_now_ms() >= deadline)
            return -1;
        it_sleep_ms(20);
    }
}

int
it_log_count(const struct it_daemon *d, const char *needle)
{
    char *text = it_log_read(d);
    const char *p = text;
    int n = 0;

    while (p != NULL && (p = strstr(p, needle)) != NULL) {
        n++;
        p += strlen(needle);
    }
    xfree(text);
    return n;
}

int
it_log_port(const struct it_daemon *d, const char *needle, int timeout_ms)
{
    char *text, *p, *last = NULL;
    long port = -1;

    if (it_log_wait(d, needle, timeout_ms) == -1 ||
        (text = it_log_read(d)) == NULL)
        return -1;
    for (p = text; (p = strstr(p, needle)) != NULL; p += strlen(needle))
        last = p;
    if (last != NULL)
        port = strtol(last + strlen(needle), NULL, 10);
    xfree(text);
    return port > 0 && port < 65536 ? (int)port : -1;
}

int
it_connect_from(const char *src, int port, int rcvbuf)
{
    struct sockaddr_in sin = { .sin_family = AF_INET };
    int fd;

    if ((fd = socket(AF_INET, SOCK_STREAM, 0)) == -1)
        return -1;
    if (rcvbuf > 0)
        (void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf,
            sizeof(rcvbuf));
    if (src != NULL && (inet_pton(AF_INET, src, &sin.sin_addr) != 1 ||
        bind(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1))
        goto fail;
    sin.sin_port = htons((uint16_t)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&sin, sizeof(sin)) == -1)
        goto fail;
    return fd;
fail:
    close(fd);
    return -1;
}

int
it_daemon_finish(struct it_daemon *d, int rc)
{
    it_daemon_stop(d);
    if (it_log_contains(d, "Sanitizer") ||
        it_log_contains(d, "runtime error")) {
        printf("FAIL the daemon's sanitizer reports (log below)\n");
        rc = 1;
    }
    if (rc != 0)
        it_log_dump(d);
    return rc;
}

void
it_log_dump(const struct it_daemon *d)
{
    char *text = it_log_read(d);

    fprintf(stderr, "----- %s -----\n%s----- end of log -----\n", d->log,
        text != NULL ? text : "(no log)\n");
    xfree(text);
}

int
it_daemon_wait_healthy(struct it_daemon *d, int ms)
{
    long long deadline = it_now_ms() + ms;
    long status = 0;

    while (it_now_ms() < deadline) {
        if (it_http(d, "GET", "/healthz", NULL, NULL, &status, NULL,
            NULL) == 0 && status == 200)
            return 0;
        it_sleep_ms(20);
    }
    fprintf(stderr, "harness: /healthz did not answer 200 in %d ms "
        "(last status %ld)\n", ms, status);
    return -1;
}
