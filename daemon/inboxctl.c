/*
 * inboxctl: the responders' command-line client (docs/inboxctl.md). It
 * parses its arguments with ctl_parse, sends the one request they make
 * to inboxd's desk API with the libcurl easy interface, and prints the
 * answer: as text for people, or as the server's JSON with --json. The
 * exit status tells scripts what happened (ctl.h, enum ctl_exit).
 *
 *   inboxctl next support
 *   inboxctl reply facebook:1_2 Thanks, we are on it
 *   inboxctl --json stats | jq .agents
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "ctl.h"

#define INBOXCTL_MAX_BODY   (64u << 20)     /* bytes of an answer */
#define INBOXCTL_MAX_STDIN  (1u << 20)      /* bytes of a text from stdin */
#define INBOXCTL_TIMEOUT_MS 30000L

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

/* Print the answer; returns the exit status. */
static int
inboxctl_print(const struct ctl_invocation *inv, long status,
    const struct buf *body)
{
    json_t *resp = NULL, *e;
    struct buf out;
    int rc = ctl_exit_code(inv->cmd, status);

    if (body->len > 0)
        resp = json_loadb(body->data, body->len, 0, NULL);
    if (status >= 300 || status < 200) {
        e = json_object_get(resp, "error");
        fprintf(stderr, "inboxctl: %s: %s\n", json_is_string(
            json_object_get(e, "code")) ? json_string_value(
            json_object_get(e, "code")) : "error", json_is_string(
            json_object_get(e, "message")) ? json_string_value(
            json_object_get(e, "message")) : "unexpected answer");
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

int
main(int argc, char *argv[])
{
    struct ctl_invocation inv;
    struct buf body;
    char err[256], *text;
    long status = 0;
    int rc;

    alloc_init();
    if (ctl_parse(argc, argv, getenv("INBOXCTL_URL"),
        getenv("INBOXCTL_TOKEN"), &inv, err, sizeof(err)) == -1) {
        fprintf(stderr, "inboxctl: %s\n%s", err, ctl_usage());
        ctl_invocation_clear(&inv);
        return CTL_EXIT_USAGE;
    }
    if (inv.help || inv.version) {
        if (inv.help)
            fputs(ctl_usage(), stdout);
        else
            printf("inboxctl %s\n", INBOXD_VERSION);
        ctl_invocation_clear(&inv);
        return CTL_EXIT_OK;
    }
    if (inv.stdin_key != NULL) {
        if ((text = inboxctl_read_stdin()) == NULL) {
            fprintf(stderr, "inboxctl: cannot read the %s from stdin (empty,"
                " or over 1 MiB)\n", inv.stdin_key);
            ctl_invocation_clear(&inv);
            return CTL_EXIT_USAGE;
        }
        json_object_set_new(inv.body, inv.stdin_key, json_string(text));
        xfree(text);
    }
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
        fprintf(stderr, "inboxctl: cannot initialize libcurl\n");
        ctl_invocation_clear(&inv);
        return CTL_EXIT_ERROR;
    }
    buf_init(&body, INBOXCTL_MAX_BODY);
    if (inboxctl_send(&inv, &status, &body) == -1)
        rc = CTL_EXIT_ERROR;
    else
        rc = inboxctl_print(&inv, status, &body);
    buf_free(&body);
    ctl_invocation_clear(&inv);
    curl_global_cleanup();
    return rc;
}
