/*
 * inboxctl: the responders' command-line client (docs/inboxctl.md). It
 * reads its config file, parses its arguments with ctl_parse, sends the
 * one request they make to inboxd's desk API with the libcurl easy
 * interface, and prints the answer: as text for people, or as the
 * server's JSON with --json. The exit status tells scripts what happened
 * (ctl.h, enum ctl_exit). tail is the exception: it follows the event
 * stream, reconnecting where it left off, until interrupted.
 *
 *   inboxctl next support
 *   inboxctl reply facebook:1_2 Thanks, we are on it
 *   inboxctl --json stats | jq .agents
 *   inboxctl tail --queue support
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "ctl.h"

#define INBOXCTL_MAX_BODY   (64u << 20)     /* bytes of an answer */
#define INBOXCTL_MAX_STDIN  (1u << 20)      /* bytes of a text from stdin */
#define INBOXCTL_TIMEOUT_MS 30000L
/* tail: a stream silent this long (keepalives come every 15 s) is dead. */
#define INBOXCTL_TAIL_SILENT_S  45L
#define INBOXCTL_TAIL_RETRY_MS  2000L   /* until the server says */

static size_t
inboxctl_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct buf *b = arg;
    size_t n = size * nmemb;

    return buf_append(b, ptr, n) == -1 ? 0 : n;
}

/* The whole of stdin, one trailing newline dropped; NULL on failure. */
static char *
inboxctl_read_stdin(void)
{
    struct buf b;
    char chunk[4096];
    size_t n;

    buf_init(&b, INBOXCTL_MAX_STDIN);
    while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0) {
        if (buf_append(&b, chunk, n) == -1) {
            buf_free(&b);
            return NULL;
        }
    }
    if (ferror(stdin) || b.len == 0) {
        buf_free(&b);
        return NULL;
    }
    if (b.data[b.len - 1] == '\n')
        b.data[--b.len] = '\0';
    return buf_steal(&b);
}

/*
 * Send inv's request. 0 with *status and the answer in body; -1 when no
 * HTTP answer came (the reason is printed).
 */
static int
inboxctl_send(const struct ctl_invocation *inv, long *status,
    struct buf *body)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct buf url, auth;
    char *payload = NULL;
    size_t ulen;
    CURLcode cc;
    CURL *curl;
    int rc = -1;

    buf_init(&url, 1u << 16);
    buf_init(&auth, 1u << 16);
    ulen = strlen(inv->url);
    while (ulen > 0 && inv->url[ulen - 1] == '/')
        ulen--;
    if ((curl = curl_easy_init()) == NULL ||
        buf_printf(&url, "%.*s%s", (int)ulen, inv->url, inv->path) == -1 ||
        buf_printf(&auth, "Authorization: Bearer %s", inv->token) == -1 ||
        (hdrs = curl_slist_append(NULL, auth.data)) == NULL) {
        fprintf(stderr, "inboxctl: out of memory\n");
        goto out;
    }
    if (inv->body != NULL) {
        if ((payload = json_dumps(inv->body, JSON_COMPACT)) == NULL ||
            (tmp = curl_slist_append(hdrs,
            "Content-Type: application/json")) == NULL) {
            fprintf(stderr, "inboxctl: out of memory\n");
            goto out;
        }
        hdrs = tmp;
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, payload);
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(payload));
    } else if (strcmp(inv->method, "POST") == 0) {
        curl_easy_setopt(curl, CURLOPT_POSTFIELDS, "");
        curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, 0L);
    }
    if ((tmp = curl_slist_append(hdrs, "Expect:")) == NULL)
        goto out;
    hdrs = tmp;
    curl_easy_setopt(curl, CURLOPT_URL, url.data);
    curl_easy_setopt(curl, CURLOPT_CUSTOMREQUEST, inv->method);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, INBOXCTL_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, inboxctl_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, body);
    curl_easy_setopt(curl, CURLOPT_USERAGENT, "inboxctl/" INBOXD_VERSION);
    if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
        fprintf(stderr, "inboxctl: %.*s: %s\n", (int)ulen, inv->url,
            curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    rc = 0;
out:
    xfree(payload);         /* json_dumps: through alloc_init's hooks */
    curl_slist_free_all(hdrs);
    if (curl != NULL)
        curl_easy_cleanup(curl);
    if (auth.data != NULL)
        explicit_bzero(auth.data, auth.len);
    buf_free(&auth);
    buf_free(&url);
    return rc;
}

/* "inboxctl: <code>: <message>" of an error answer, on stderr. */
static void
inboxctl_print_error(json_t *resp, const char *more)
{
    json_t *e = json_object_get(resp, "error");

    fprintf(stderr, "inboxctl: %s: %s%s\n", json_is_string(
        json_object_get(e, "code")) ? json_string_value(
        json_object_get(e, "code")) : "error", json_is_string(
        json_object_get(e, "message")) ? json_string_value(
        json_object_get(e, "message")) : "unexpected answer", more);
}

/* Print the answer; returns the exit status. */
static int
inboxctl_print(const struct ctl_invocation *inv, long status,
    const struct buf *body)
{
    json_t *resp = NULL;
    struct buf out;
    int rc = ctl_exit_code(inv->cmd, status);

    if (body->len > 0)
        resp = json_loadb(body->data, body->len, 0, NULL);
    if (status >= 300 || status < 200) {
        inboxctl_print_error(resp, "");
        if (inv->json && body->len > 0)
            fwrite(body->data, 1, body->len, stdout);
        json_decref(resp);
        return rc;
    }
    if (inv->json) {
        if (body->len > 0)
            fwrite(body->data, 1, body->len, stdout);
        json_decref(resp);
        return rc;
    }
    if (status != 204 && resp == NULL) {
        fprintf(stderr, "inboxctl: the answer is not JSON\n");
        return CTL_EXIT_ERROR;
    }
    buf_init(&out, INBOXCTL_MAX_BODY);
    if (ctl_render(inv->cmd, status, resp, &out) == -1) {
        fprintf(stderr, "inboxctl: answer too large to show\n");
        rc = CTL_EXIT_ERROR;
    } else if (out.len > 0) {
        fwrite(out.data, 1, out.len, stdout);
    }
    buf_free(&out);
    json_decref(resp);
    return rc;
}

/* ---------------------------------------------------------------- tail */

/* Set by SIGINT and SIGTERM: tail stops and exits 0. */
static volatile sig_atomic_t inboxctl_stopped;

static void
inboxctl_stop_handler(int sig)
{
    (void)sig;
    inboxctl_stopped = 1;
}

/* One tail session, across its connections. */
struct inboxctl_tail {
    const struct ctl_invocation *inv;
    struct ctl_sse sse;         /* keeps the last id between connections */
    CURL *curl;
    long status;                /* of this connection's answer; 0: none */
    struct buf err;             /* the body of an answer other than 200 */
    bool live;                  /* this connection's stream has begun */
};

static void
inboxctl_tail_event_cb(const struct ctl_sse_event *ev, void *arg)
{
    struct inboxctl_tail *t = arg;
    json_t *data;
    struct buf line;

    if (t->inv->json) {
        fwrite(ev->data, 1, ev->len, stdout);
        fputc('\n', stdout);
    } else if ((data = json_loadb(ev->data, ev->len, 0, NULL)) != NULL) {
        buf_init(&line, 64u << 10);
        if (ctl_render_event(ev->event, data, &line) == 0)
            fwrite(line.data, 1, line.len, stdout);
        buf_free(&line);
        json_decref(data);
    }
    fflush(stdout);
}

static size_t
inboxctl_tail_write_cb(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct inboxctl_tail *t = arg;
    size_t n = size * nmemb;

    if (t->status == 0)
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    if (t->status != 200) {
        (void)buf_append(&t->err, ptr, n);      /* the start is enough */
        return n;
    }
    if (ctl_sse_feed(&t->sse, ptr, n, inboxctl_tail_event_cb, t) == -1)
        return 0;               /* an event too large: drop, reconnect */
    if (t->sse.retried && !t->live) {
        /* retry: opens the stream; from here nothing is missed. */
        fprintf(stderr, "inboxctl: tail: following %s\n", t->inv->url);
        t->live = true;
    }
    return n;
}

/*
 * Run the transfer until it ends or a signal stops tail. The multi
 * interface, polled every 100 ms, so SIGINT is seen at once: an easy
 * transfer would look at it only in its progress callback, about once
 * a second while the stream is quiet. -1 when curl fails us.
 */
static int
inboxctl_perform(CURL *curl, CURLcode *cc)
{
    CURLM *m;
    CURLMsg *msg;
    int running = 1, left;

    *cc = CURLE_ABORTED_BY_CALLBACK;
    if ((m = curl_multi_init()) == NULL)
        return -1;
    if (curl_multi_add_handle(m, curl) != CURLM_OK) {
        curl_multi_cleanup(m);
        return -1;
    }
    while (running && !inboxctl_stopped) {
        if (curl_multi_perform(m, &running) != CURLM_OK ||
            (running && curl_multi_poll(m, NULL, 0, 100, NULL) !=
            CURLM_OK))
            break;
    }
    while ((msg = curl_multi_info_read(m, &left)) != NULL) {
        if (msg->msg == CURLMSG_DONE && msg->easy_handle == curl)
            *cc = msg->data.result;
    }
    curl_multi_remove_handle(m, curl);
    curl_multi_cleanup(m);
    return 0;
}

/* Sleep ms, or less when a signal stops tail. */
static void
inboxctl_nap(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

    while (!inboxctl_stopped && nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/*
 * One connection: follow the stream until it ends or breaks. 0 with
 * t->status the answer's (0: none came), and *cc curl's verdict.
 */
static int
inboxctl_tail_once(struct inboxctl_tail *t, const char *url,
    const char *auth, CURLcode *cc)
{
    struct curl_slist *hdrs = NULL, *tmp;
    struct buf last;
    int rc = -1;

    buf_init(&last, 1024);
    t->status = 0;
    t->live = false;
    buf_reset(&t->err);
    ctl_sse_reset(&t->sse);
    if ((t->curl = curl_easy_init()) == NULL ||
        (hdrs = curl_slist_append(NULL, auth)) == NULL ||
        (tmp = curl_slist_append(hdrs, "Accept: text/event-stream")) ==
        NULL)
        goto out;
    hdrs = tmp;
    /* Where the last connection left off: the server sends what it
     * missed (docs/api.md, "Events (SSE)"). */
    if (t->sse.last_id[0] != '\0') {
        if (buf_printf(&last, "Last-Event-ID: %s", t->sse.last_id) == -1 ||
            (tmp = curl_slist_append(hdrs, last.data)) == NULL)
            goto out;
        hdrs = tmp;
    }
    curl_easy_setopt(t->curl, CURLOPT_URL, url);
    curl_easy_setopt(t->curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(t->curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(t->curl, CURLOPT_CONNECTTIMEOUT_MS, 10000L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(t->curl, CURLOPT_LOW_SPEED_TIME, INBOXCTL_TAIL_SILENT_S);
    curl_easy_setopt(t->curl, CURLOPT_WRITEFUNCTION, inboxctl_tail_write_cb);
    curl_easy_setopt(t->curl, CURLOPT_WRITEDATA, t);
    curl_easy_setopt(t->curl, CURLOPT_USERAGENT, "inboxctl/" INBOXD_VERSION);
    if (inboxctl_perform(t->curl, cc) == -1)
        goto out;
    if (t->status == 0)
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &t->status);
    rc = 0;
out:
    curl_slist_free_all(hdrs);
    if (t->curl != NULL)
        curl_easy_cleanup(t->curl);
    t->curl = NULL;
    buf_free(&last);
    return rc;
}

/*
 * Follow GET /v1/events, printing each event, until SIGINT or SIGTERM
 * (exit 0). A stream that ends or breaks is opened again after the
 * server's retry time, with Last-Event-ID; 503 is retried too. A first
 * connection that gets no answer, or any other refusal, ends tail with
 * the exit status the other commands would have.
 */
static int
inboxctl_tail(const struct ctl_invocation *inv)
{
    struct inboxctl_tail t;
    struct sigaction sa;
    struct buf url, auth;
    bool answered = false;
    json_t *resp;
    CURLcode cc = CURLE_OK;
    size_t ulen;
    int rc = CTL_EXIT_ERROR;

    memset(&t, 0, sizeof(t));
    t.inv = inv;
    ctl_sse_init(&t.sse);
    buf_init(&t.err, 64u << 10);
    buf_init(&url, 1u << 16);
    buf_init(&auth, 1u << 16);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = inboxctl_stop_handler;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    ulen = strlen(inv->url);
    while (ulen > 0 && inv->url[ulen - 1] == '/')
        ulen--;
    if (buf_printf(&url, "%.*s%s", (int)ulen, inv->url, inv->path) == -1 ||
        buf_printf(&auth, "Authorization: Bearer %s", inv->token) == -1) {
        fprintf(stderr, "inboxctl: out of memory\n");
        goto out;
    }
    for (;;) {
        if (inboxctl_tail_once(&t, url.data, auth.data, &cc) == -1) {
            fprintf(stderr, "inboxctl: out of memory\n");
            goto out;
        }
        if (inboxctl_stopped)
            break;
        if (t.status == 200) {
            answered = true;
            fprintf(stderr, "inboxctl: tail: %s; reconnecting\n",
                cc == CURLE_OK ? "the stream ended" :
                curl_easy_strerror(cc));
        } else if (t.status == 0) {
            fprintf(stderr, "inboxctl: %.*s: %s%s\n", (int)ulen, inv->url,
                curl_easy_strerror(cc), answered ? "; reconnecting" : "");
            if (!answered)
                goto out;
        } else {
            resp = json_loadb(t.err.data != NULL ? t.err.data : "",
                t.err.len, 0, NULL);
            inboxctl_print_error(resp, t.status == 503 ? "; retrying" :
                "");
            json_decref(resp);
            if (t.status != 503) {
                rc = ctl_exit_code(inv->cmd, t.status);
                goto out;
            }
        }
        inboxctl_nap(t.sse.retry_ms > 0 ? t.sse.retry_ms :
            INBOXCTL_TAIL_RETRY_MS);
        if (inboxctl_stopped)
            break;
    }
    rc = CTL_EXIT_OK;
out:
    ctl_sse_free(&t.sse);
    buf_free(&t.err);
    if (auth.data != NULL)
        explicit_bzero(auth.data, auth.len);
    buf_free(&auth);
    buf_free(&url);
    return rc;
}

/*
 * The config file's url and token (docs/inboxctl.md, "FILES"). 0, or -1
 * after printing why.
 */
static int
inboxctl_config(struct ctl_config *cfg)
{
    char path[4096], err[512];
    bool named;

    if (ctl_config_path(getenv("INBOXCTL_CONFIG"), getenv("XDG_CONFIG_HOME"),
        getenv("HOME"), path, sizeof(path), &named) == -1)
        return 0;               /* nowhere to look: none */
    if (ctl_config_load(path, named, cfg, err, sizeof(err)) == -1) {
        fprintf(stderr, "inboxctl: %s\n", err);
        return -1;
    }
    return 0;
}

int
main(int argc, char *argv[])
{
    struct ctl_invocation inv;
    struct ctl_config file;
    struct buf body;
    char err[256], *text;
    long status = 0;
    int rc;

    alloc_init();
    memset(&file, 0, sizeof(file));
    memset(&inv, 0, sizeof(inv));
    if (inboxctl_config(&file) == -1) {
        rc = CTL_EXIT_USAGE;
        goto out;
    }
    if (ctl_parse(argc, argv, getenv("INBOXCTL_URL"),
        getenv("INBOXCTL_TOKEN"), &file, &inv, err, sizeof(err)) == -1) {
        fprintf(stderr, "inboxctl: %s\n%s", err, ctl_usage());
        rc = CTL_EXIT_USAGE;
        goto out;
    }
    if (inv.help || inv.version) {
        if (inv.help)
            fputs(ctl_usage(), stdout);
        else
            printf("inboxctl %s\n", INBOXD_VERSION);
        rc = CTL_EXIT_OK;
        goto out;
    }
    if (inv.stdin_key != NULL) {
        if ((text = inboxctl_read_stdin()) == NULL) {
            fprintf(stderr, "inboxctl: cannot read the %s from stdin (empty,"
                " or over 1 MiB)\n", inv.stdin_key);
            rc = CTL_EXIT_USAGE;
            goto out;
        }
        json_object_set_new(inv.body, inv.stdin_key, json_string(text));
        xfree(text);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "inboxctl: cannot initialize libcurl\n");
        rc = CTL_EXIT_ERROR;
        goto out;
    }
    if (inv.cmd == CTL_TAIL) {
        rc = inboxctl_tail(&inv);
    } else {
        buf_init(&body, INBOXCTL_MAX_BODY);
        if (inboxctl_send(&inv, &status, &body) == -1)
            rc = CTL_EXIT_ERROR;
        else
            rc = inboxctl_print(&inv, status, &body);
        buf_free(&body);
    }
    curl_global_cleanup();
out:
    ctl_invocation_clear(&inv);
    ctl_config_clear(&file);
    return rc;
}
