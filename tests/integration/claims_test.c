/*
 * The responders' desk end to end: a real redis-server, three inboxd
 * processes sharing it (two with a 30 s lease, one with 1 s), items
 * posted over HTTP and worked through /v1 and through inboxctl run as a
 * subprocess. Each test routes its items to a queue of its own (by the
 * account id) and uses agents of its own where figures are counted, so
 * the tests do not see each other's items.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/wait.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "harness.h"
#include "util.h"

#ifndef INBOXCTL_BIN
#error "INBOXCTL_BIN must be defined"
#endif

static struct it_redis redis;
static struct it_daemon da;     /* lease 30s */
static struct it_daemon db;     /* lease 30s, the second process */
static struct it_daemon dshort; /* lease 1s */

#define ALICE   "alice-token"
#define BOB     "bob-token"
#define CAROL   "carol-token"
#define DAVE    "dave-token"
#define SAM     "sam-token"
#define WALT    "walt-token"
#define LENA    "lena-token"        /* lead */
#define INGEST  "test-token"

/* {{lease}} is ours: the harness leaves unknown braces alone. */
static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "  - {name: bob, role: agent, token: bob-token}\n"
    "  - {name: carol, role: agent, token: carol-token}\n"
    "  - {name: dave, role: agent, token: dave-token}\n"
    "  - {name: sam, role: agent, token: sam-token}\n"
    "  - {name: walt, role: agent, token: walt-token}\n"
    "  - {name: lena, role: lead, token: lena-token}\n"
    "queues:\n"
    "  names: [general, prio, conc, lease, away, sticky, hist, stats,\n"
    "    roles, ctl]\n"
    "  lease: LEASE\n"
    "canned:\n"
    "  thanks: \"Thanks {author_name}! {agent} from {{the}} team.\"\n"
    "routes:\n"
    "  - {queue: prio, account: \"1001\"}\n"
    "  - {queue: conc, account: \"1002\"}\n"
    "  - {queue: lease, account: \"1003\"}\n"
    "  - {queue: away, account: \"1004\"}\n"
    "  - {queue: sticky, account: \"1005\"}\n"
    "  - {queue: hist, account: \"1006\"}\n"
    "  - {queue: stats, account: \"1007\"}\n"
    "  - {queue: roles, account: \"1008\"}\n"
    "  - {queue: ctl, account: \"1009\"}\n";

/* ------------------------------------------------------------- helpers */

static void
sleep_ms(int ms)
{
    struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

/* POST one item to daemon d; returns the HTTP status. */
static long
post_item(const struct it_daemon *d, const char *native_id,
    const char *account, const char *conversation, const char *text)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s},s:s?,s:{s:s,s:s},s:s,s:s}",
        "platform", "facebook", "native_id", native_id, "kind", "comment",
        "account", "id", account, "conversation", conversation,
        "author", "id", "42", "name", "Jane", "text", text,
        "created_at", "2026-11-23T09:40:00Z");
    char *body = json_dumps(o, JSON_COMPACT);
    long status = -1;

    if (it_http(d, "POST", "/v1/items", INGEST, body, &status, NULL,
        NULL) == -1)
        status = -1;
    json_decref(o);
    xfree(body);
    return status;
}

/* One desk request; *resp gets the parsed body (NULL when none). */
static long
desk(const struct it_daemon *d, const char *method, const char *path,
    const char *token, const char *body, json_t **resp)
{
    char *raw = NULL;
    long status = -1;

    if (resp != NULL)
        *resp = NULL;
    if (it_http(d, method, path, token, body, &status, &raw, NULL) == -1)
        return -1;
    if (resp != NULL && raw != NULL && raw[0] != '\0')
        *resp = json_loads(raw, 0, NULL);
    xfree(raw);
    return status;
}

/* Claim from one queue through d; *id (may be NULL) gets a copy. */
static long
claim(const struct it_daemon *d, const char *token, const char *queue,
    char **id)
{
    char body[128];
    json_t *resp = NULL;
    long st;

    snprintf(body, sizeof(body), "{\"queues\":[\"%s\"]}", queue);
    st = desk(d, "POST", "/v1/claims", token, body, &resp);
    if (id != NULL)
        *id = st == 200 ? xstrdup(json_string_value(json_object_get(resp,
            "id"))) : NULL;
    json_decref(resp);
    return st;
}

/* POST /v1/items/<id>/<action> with body; the status. */
static long
act(const struct it_daemon *d, const char *token, const char *id,
    const char *action, const char *body, json_t **resp)
{
    char path[512];

    snprintf(path, sizeof(path), "/v1/items/%s/%s", id, action);
    return desk(d, "POST", path, token, body != NULL ? body : "{}", resp);
}

/*
 * The desk's own entries of an item's history (a new array): without the
 * outcomes of outbound actions, which the executor records whenever the
 * platform answers (here: at once, as failed, for want of an account).
 */
static json_t *
desk_history(json_t *item)
{
    json_t *out = json_array(), *e;
    const char *a;
    size_t i;

    json_array_foreach(json_object_get(item, "history"), i, e) {
        a = json_string_value(json_object_get(e, "action"));
        if (a != NULL && strncmp(a, "action_", 7) != 0)
            json_array_append(out, e);
    }
    return out;
}

static const char *
err_code(json_t *resp)
{
    return json_string_value(json_object_get(json_object_get(resp,
        "error"), "code"));
}

/* HGET of an item hash field, as a new string (NULL when absent). */
static char *
hget(const char *id, const char *field)
{
    char key[512];

    snprintf(key, sizeof(key), "inboxd:item:%s", id);
    return it_redis_hget(&redis, key, field);
}

/*
 * Run inboxctl against d with token and args (NULL-terminated); *out
 * gets stdout (new string), *code the exit status. Stdin is /dev/null
 * unless input is given. -1 when it could not run or took over 10 s.
 */
static int
run_ctl(const struct it_daemon *d, const char *token,
    const char *const *args, const char *input, char **out, int *code)
{
    int opipe[2], ipipe[2], status;
    const char *argv[32];
    char url[64], chunk[4096];
    struct buf b;
    pid_t pid;
    size_t n = 0;
    ssize_t r;
    struct pollfd pfd;
    int waited = 0;

    *out = NULL;
    argv[n++] = INBOXCTL_BIN;
    for (size_t i = 0; args[i] != NULL && n < 31; i++)
        argv[n++] = args[i];
    argv[n] = NULL;
    snprintf(url, sizeof(url), "http://127.0.0.1:%d", d->port);
    if (pipe(opipe) == -1 || pipe(ipipe) == -1)
        return -1;
    if ((pid = fork()) == -1)
        return -1;
    if (pid == 0) {
        dup2(opipe[1], STDOUT_FILENO);
        dup2(ipipe[0], STDIN_FILENO);
        close(opipe[0]);
        close(opipe[1]);
        close(ipipe[0]);
        close(ipipe[1]);
        setenv("INBOXCTL_URL", url, 1);
        if (token != NULL)
            setenv("INBOXCTL_TOKEN", token, 1);
        else
            unsetenv("INBOXCTL_TOKEN");
        execv(argv[0], (char *const *)(uintptr_t)argv);
        _exit(127);
    }
    close(opipe[1]);
    close(ipipe[0]);
    if (input != NULL && write(ipipe[1], input, strlen(input)) < 0)
        perror("write");
    close(ipipe[1]);
    buf_init(&b, 1u << 20);
    pfd.fd = opipe[0];
    pfd.events = POLLIN;
    for (;;) {
        if (poll(&pfd, 1, 100) > 0) {
            if ((r = read(opipe[0], chunk, sizeof(chunk))) <= 0)
                break;
            buf_append(&b, chunk, (size_t)r);
        } else if ((waited += 100) > 10000) {
            kill(pid, SIGKILL);
            break;
        }
    }
    close(opipe[0]);
    waitpid(pid, &status, 0);
    *code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (b.data == NULL)
        buf_puts(&b, "");
    *out = buf_steal(&b);
    return waited > 10000 ? -1 : 0;
}

/* ---------------------------------------------------------------- tests */

static int
test_priority_then_age(void)
{
    char *first = NULL, *second = NULL, *third = NULL;
    json_t *resp = NULL;
    int rc = 0;

    /* Oldest first among equals; a higher score jumps the line. */
    CHECK(post_item(&da, "p_1", "1001", NULL, "hello there") == 202);
    CHECK(post_item(&da, "p_2", "1001", NULL, "good morning") == 202);
    CHECK(post_item(&da, "p_3", "1001", NULL,
        "FREE bitcoin giveaway!!! claim now at https://bit.ly/abc") == 202);
    CHECK(claim(&da, ALICE, "prio", &first) == 200);
    CHECK(claim(&da, ALICE, "prio", &second) == 200);
    CHECK(claim(&da, ALICE, "prio", &third) == 200);
    CHECK_STR(first, "facebook:p_3");
    CHECK_STR(second, "facebook:p_1");
    CHECK_STR(third, "facebook:p_2");
    CHECK(claim(&da, ALICE, "prio", NULL) == 204);

    /* The claim answers with the item and its classification. */
    CHECK(desk(&da, "GET", "/v1/items/facebook:p_3", ALICE, NULL,
        &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "holder")), "alice");
    CHECK_STR(json_string_value(json_object_get(resp, "state")), "claimed");
    CHECK(json_object_get(json_object_get(json_object_get(resp, "item"),
        "classification"), "hits") != NULL);
    CHECK(json_string_value(json_object_get(resp, "lease_until")) != NULL);
out:
    json_decref(resp);
    xfree(first);
    xfree(second);
    xfree(third);
    return rc;
}

/*
 * Four agents claim at once from two inboxd processes until the queue is
 * empty: every item is handed out exactly once.
 */
static int
test_concurrent_claims_never_share(void)
{
    static const char *const tokens[] = { ALICE, BOB, CAROL, DAVE };
    const struct it_daemon *via[] = { &da, &da, &db, &db };
    enum { NITEMS = 40, NCHILD = 4 };
    char native[32], path[320], line[512], *id;
    int seen[NITEMS] = { 0 }, status, total = 0, idx;
    pid_t pids[NCHILD];
    FILE *fp;
    int rc = 0;

    for (int i = 0; i < NITEMS; i++) {
        snprintf(native, sizeof(native), "c_%d", i);
        CHECK(post_item(&da, native, "1002", NULL, "a question") == 202);
    }
    for (int c = 0; c < NCHILD; c++) {
        snprintf(path, sizeof(path), "%s/claims.%d", da.dir, c);
        if ((pids[c] = fork()) == 0) {
            /* _exit: the harness's atexit hook would kill the daemons. */
            if ((fp = fopen(path, "w")) == NULL)
                _exit(2);
            for (;;) {
                long st = claim(via[c], tokens[c], "conc", &id);

                if (st == 204)
                    break;
                if (st != 200)
                    _exit(3);
                fprintf(fp, "%s\n", id);
                xfree(id);
            }
            fclose(fp);
            _exit(0);
        }
        CHECK(pids[c] > 0);
    }
    for (int c = 0; c < NCHILD; c++) {
        CHECK(waitpid(pids[c], &status, 0) == pids[c]);
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    for (int c = 0; c < NCHILD; c++) {
        snprintf(path, sizeof(path), "%s/claims.%d", da.dir, c);
        CHECK((fp = fopen(path, "r")) != NULL);
        while (fgets(line, sizeof(line), fp) != NULL) {
            CHECK(sscanf(line, "facebook:c_%d", &idx) == 1);
            CHECK(idx >= 0 && idx < NITEMS);
            seen[idx]++;
            total++;
        }
        fclose(fp);
    }
    CHECK(total == NITEMS);
    for (int i = 0; i < NITEMS; i++)
        CHECK(seen[i] == 1);
out:
    return rc;
}

static int
test_lease_expiry_returns_item(void)
{
    char *id = NULL, *again = NULL;
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post_item(&dshort, "l_1", "1003", NULL, "where is my order")
        == 202);
    CHECK(claim(&dshort, CAROL, "lease", &id) == 200);
    CHECK_STR(id, "facebook:l_1");
    /* Held: nobody else gets it. */
    CHECK(claim(&da, DAVE, "lease", NULL) == 204);
    sleep_ms(1600);
    /* The lease ran out: the item is back and goes to the next agent. */
    CHECK(claim(&da, DAVE, "lease", &again) == 200);
    CHECK_STR(again, "facebook:l_1");
    CHECK(act(&da, CAROL, id, "resolve", NULL, &resp) == 409);
    CHECK_STR(err_code(resp), "not_holder");
    json_decref(resp);
    CHECK(desk(&da, "GET", "/v1/items/facebook:l_1", DAVE, NULL,
        &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "holder")), "dave");
    {
        json_t *h = json_object_get(resp, "history");
        size_t i;
        json_t *e;
        bool expired = false;

        json_array_foreach(h, i, e) {
            if (strcmp(json_string_value(json_object_get(e, "action")),
                "expired") == 0 &&
                strcmp(json_string_value(json_object_get(e, "holder")),
                "carol") == 0)
                expired = true;
        }
        CHECK(expired);
    }
    CHECK(act(&da, DAVE, id, "release", NULL, NULL) == 200);
out:
    json_decref(resp);
    xfree(id);
    xfree(again);
    return rc;
}

static int
test_away_releases_and_blocks(void)
{
    char *a = NULL, *b = NULL;
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post_item(&da, "a_1", "1004", NULL, "first") == 202);
    CHECK(post_item(&da, "a_2", "1004", NULL, "second") == 202);
    CHECK(claim(&da, WALT, "away", NULL) == 200);
    CHECK(claim(&da, WALT, "away", NULL) == 200);
    CHECK(desk(&da, "POST", "/v1/agents/me/away", WALT, NULL, &resp) ==
        200);
    CHECK(json_is_true(json_object_get(resp, "away")));
    CHECK(json_integer_value(json_object_get(resp, "released")) == 2);
    json_decref(resp);
    resp = NULL;
    /* Away: no new claims, holds nothing. */
    CHECK(claim(&da, WALT, "away", NULL) == 409);
    CHECK(desk(&da, "GET", "/v1/claims", WALT, NULL, &resp) == 200);
    CHECK(json_array_size(json_object_get(resp, "items")) == 0);
    json_decref(resp);
    resp = NULL;
    /* Both went back to the queue, in their old order. */
    CHECK(claim(&db, BOB, "away", &a) == 200);
    CHECK(claim(&db, BOB, "away", &b) == 200);
    CHECK_STR(a, "facebook:a_1");
    CHECK_STR(b, "facebook:a_2");
    /* Nobody can hand an item to an away agent. */
    CHECK(act(&da, BOB, a, "reassign", "{\"agent\":\"walt\"}", &resp) ==
        409);
    CHECK_STR(err_code(resp), "agent_away");
    json_decref(resp);
    resp = NULL;
    /* Back again. */
    CHECK(desk(&da, "DELETE", "/v1/agents/me/away", WALT, NULL, &resp) ==
        200);
    CHECK(json_is_false(json_object_get(resp, "away")));
    CHECK(act(&da, BOB, a, "release", NULL, NULL) == 200);
    CHECK(claim(&da, WALT, "away", NULL) == 200);
out:
    json_decref(resp);
    xfree(a);
    xfree(b);
    return rc;
}

static int
test_conversation_stickiness(void)
{
    char *id = NULL;
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post_item(&da, "s_1", "1005", "post_7", "is this in stock?") ==
        202);
    CHECK(claim(&da, ALICE, "sticky", &id) == 200);
    CHECK_STR(id, "facebook:s_1");
    XFREE(&id);
    /* A follow-up in the same conversation, and an unrelated item. */
    CHECK(post_item(&da, "s_2", "1005", "post_7", "hello? anyone?") == 202);
    CHECK(post_item(&da, "s_3", "1005", "post_8", "other thread") == 202);
    /* Bob gets the unrelated one only; the follow-up went to alice. */
    CHECK(claim(&db, BOB, "sticky", &id) == 200);
    CHECK_STR(id, "facebook:s_3");
    XFREE(&id);
    CHECK(claim(&db, BOB, "sticky", NULL) == 204);
    CHECK(desk(&da, "POST", "/v1/claims", ALICE,
        "{\"queues\":[\"sticky\"]}", &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "id")),
        "facebook:s_2");
    CHECK_STR(json_string_value(json_object_get(resp, "via")), "assigned");
    json_decref(resp);
    resp = NULL;
    /* Once alice lets go of the conversation, follow-ups queue again. */
    CHECK(act(&da, ALICE, "facebook:s_1", "resolve", NULL, NULL) == 200);
    CHECK(act(&da, ALICE, "facebook:s_2", "resolve", NULL, NULL) == 200);
    CHECK(post_item(&da, "s_4", "1005", "post_7", "thanks!") == 202);
    CHECK(claim(&db, BOB, "sticky", &id) == 200);
    CHECK_STR(id, "facebook:s_4");
out:
    json_decref(resp);
    xfree(id);
    return rc;
}

static int
test_history_and_outbound_actions(void)
{
    static const char *const want[] = {
        "claimed", "note", "label", "reply", "escalate", "hide", "resolve",
        "reopen",
    };
    const char *id = "facebook:h_1";
    redisContext *c = NULL;
    redisReply *r = NULL;
    json_t *resp = NULL, *hist = NULL, *e;
    size_t i;
    int rc = 0;

    CHECK(post_item(&da, "h_1", "1006", NULL, "my parcel is late") == 202);
    CHECK(claim(&da, CAROL, "hist", NULL) == 200);
    CHECK(act(&da, CAROL, id, "note", "{\"text\":\"checking with UPS\"}",
        NULL) == 200);
    CHECK(act(&da, CAROL, id, "label", "{\"label\":\"shipping\"}", NULL) ==
        200);
    CHECK(act(&da, CAROL, id, "reply", "{\"canned\":\"thanks\"}", &resp) ==
        200);
    CHECK_STR(json_string_value(json_object_get(resp, "state")),
        "answered");
    CHECK(json_string_value(json_object_get(resp, "action_id")) != NULL);
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, CAROL, id, "escalate", "{\"reason\":\"angry\"}", NULL) ==
        200);
    CHECK(act(&da, CAROL, id, "hide", NULL, NULL) == 200);
    CHECK(act(&da, CAROL, id, "resolve", NULL, &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "state")),
        "resolved");
    CHECK(json_object_get(resp, "holder") == NULL);
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, CAROL, id, "reopen", NULL, NULL) == 200);

    CHECK(desk(&da, "GET", "/v1/items/facebook%3Ah_1", CAROL, NULL,
        &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "state")), "queued");
    CHECK_STR(json_string_value(json_array_get(json_object_get(resp,
        "labels"), 0)), "shipping");
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "escalation"), "reason")), "angry");
    CHECK(json_is_true(json_object_get(resp, "hide_requested")));
    CHECK(json_integer_value(json_object_get(resp, "first_response_ms")) >=
        0);
    CHECK(json_object_get(resp, "resolution_ms") != NULL);
    hist = desk_history(resp);
    CHECK(json_array_size(hist) == nitems(want));
    json_array_foreach(hist, i, e) {
        CHECK_STR(json_string_value(json_object_get(e, "action")), want[i]);
        CHECK_STR(json_string_value(json_object_get(e, "by")), "carol");
        CHECK(json_string_value(json_object_get(e, "at")) != NULL);
    }
    CHECK_STR(json_string_value(json_object_get(json_array_get(hist, 3),
        "text")), "Thanks Jane! carol from {the} team.");
    CHECK_STR(json_string_value(json_object_get(json_array_get(hist, 3),
        "canned")), "thanks");

    /*
     * The reply and the hide became outbound actions; with no account
     * configured for the page they fail for good, and say why.
     */
    {
        bool reply = false, hide = false;

        json_array_foreach(hist, i, e) {
            const char *a = json_string_value(json_object_get(e, "action"));
            const char *aid = json_string_value(json_object_get(e,
                "action_id"));
            char path[128];
            json_t *ac = NULL;

            if (aid == NULL)
                continue;
            snprintf(path, sizeof(path), "/v1/actions/%s", aid);
            for (int tries = 0; tries < 100; tries++) {
                json_decref(ac);
                ac = NULL;
                CHECK(desk(&da, "GET", path, CAROL, NULL, &ac) == 200);
                if (strcmp(json_string_value(json_object_get(ac, "state")),
                    "failed") == 0)
                    break;
                sleep_ms(50);
            }
            CHECK_STR(json_string_value(json_object_get(ac, "type")), a);
            CHECK_STR(json_string_value(json_object_get(ac, "item")), id);
            CHECK_STR(json_string_value(json_object_get(ac, "state")),
                "failed");
            CHECK(strstr(json_string_value(json_object_get(ac, "detail")),
                "no API credentials") != NULL);
            if (strcmp(a, "reply") == 0) {
                CHECK_STR(json_string_value(json_object_get(ac, "text")),
                    "Thanks Jane! carol from {the} team.");
                reply = true;
            }
            hide |= strcmp(a, "hide") == 0;
            json_decref(ac);
        }
        CHECK(reply && hide);
    }
    json_decref(hist);
    hist = NULL;
    CHECK((c = it_redis_connect(&redis)) != NULL);
    r = redisCommand(c, "XLEN inboxd:audit");
    CHECK(r != NULL && r->type == REDIS_REPLY_INTEGER && r->integer >= 8);
out:
    if (r != NULL)
        freeReplyObject(r);
    if (c != NULL)
        redisFree(c);
    json_decref(hist);
    json_decref(resp);
    return rc;
}

static int
test_non_holder_gets_409(void)
{
    static const char *const actions[] = {
        "reply", "label", "escalate", "hide", "unhide", "resolve",
        "release", "reassign",
    };
    static const char *const bodies[] = {
        "{\"text\":\"hi\"}", "{\"label\":\"x\"}", "{\"reason\":\"r\"}",
        NULL, NULL, NULL, NULL, "{\"queue\":\"general\"}",
    };
    char *id = NULL, *holder = NULL;
    json_t *resp = NULL;
    int rc = 0;

    CHECK(post_item(&da, "r_1", "1008", NULL, "please help") == 202);
    CHECK(claim(&da, ALICE, "roles", &id) == 200);
    for (size_t i = 0; i < nitems(actions); i++) {
        CHECK(act(&db, BOB, id, actions[i], bodies[i], &resp) == 409);
        CHECK_STR(err_code(resp), "not_holder");
        CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(
            resp, "error"), "message")), "alice");
        json_decref(resp);
        resp = NULL;
    }
    /* A note is not a state change: anyone may leave one. */
    CHECK(act(&db, BOB, id, "note", "{\"text\":\"fyi\"}", NULL) == 200);
    holder = hget(id, "holder");
    CHECK_STR(holder, "alice");
    /* Releasing what nobody holds, reopening what is open: 409 too. */
    CHECK(act(&da, ALICE, id, "reopen", NULL, &resp) == 409);
    CHECK_STR(err_code(resp), "invalid_state");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, id, "release", NULL, NULL) == 200);
    CHECK(act(&da, ALICE, id, "release", NULL, &resp) == 409);
    CHECK_STR(err_code(resp), "not_held");
    /* Nobody holds it: anyone may resolve it straight from the queue. */
    CHECK(act(&da, ALICE, id, "resolve", NULL, NULL) == 200);
out:
    json_decref(resp);
    xfree(id);
    xfree(holder);
    return rc;
}

static int
test_roles(void)
{
    char *id = NULL, *holder = NULL;
    json_t *resp = NULL;
    long status;
    int rc = 0;

    /* Who a token is, and the canned replies, for the web inbox. */
    CHECK(desk(&da, "GET", "/v1/me", LENA, NULL, &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "name")), "lena");
    CHECK_STR(json_string_value(json_object_get(resp, "role")), "lead");
    json_decref(resp);
    resp = NULL;
    CHECK(desk(&da, "GET", "/v1/canned", ALICE, NULL, &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(json_array_get(
        json_object_get(resp, "canned"), 0), "name")), "thanks");
    json_decref(resp);
    resp = NULL;
    CHECK(post_item(&da, "r_2", "1008", NULL, "reassign me") == 202);
    CHECK(claim(&da, ALICE, "roles", &id) == 200);
    CHECK_STR(id, "facebook:r_2");
    /* An agent cannot take another agent's item away. */
    CHECK(act(&da, BOB, id, "reassign", "{\"agent\":\"bob\"}", &resp) ==
        409);
    CHECK_STR(err_code(resp), "not_holder");
    json_decref(resp);
    resp = NULL;
    /* A lead can. */
    CHECK(act(&da, LENA, id, "reassign", "{\"agent\":\"bob\"}", &resp) ==
        200);
    CHECK_STR(json_string_value(json_object_get(resp, "holder")), "bob");
    json_decref(resp);
    resp = NULL;
    holder = hget(id, "holder");
    CHECK_STR(holder, "bob");
    /* Bob finds it handed to him. */
    CHECK(desk(&da, "POST", "/v1/claims", BOB, "{\"queues\":[\"roles\"]}",
        &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "via")), "assigned");
    json_decref(resp);
    resp = NULL;
    /* The holder moves it to another queue. */
    CHECK(act(&da, BOB, id, "reassign", "{\"queue\":\"general\"}", &resp) ==
        200);
    CHECK_STR(json_string_value(json_object_get(resp, "queue")), "general");
    CHECK_STR(json_string_value(json_object_get(json_object_get(resp,
        "item"), "queue")), "general");
    CHECK(json_object_get(resp, "holder") == NULL);
    json_decref(resp);
    resp = NULL;

    /* Stats are for leads; an ingest token gets nothing here. */
    CHECK(desk(&da, "GET", "/v1/stats", ALICE, NULL, &resp) == 403);
    CHECK_STR(err_code(resp), "forbidden");
    json_decref(resp);
    resp = NULL;
    CHECK(desk(&da, "GET", "/v1/stats", LENA, NULL, NULL) == 200);
    CHECK(desk(&da, "POST", "/v1/claims", INGEST, "{}", &resp) == 403);
    CHECK_STR(err_code(resp), "forbidden");
    json_decref(resp);
    resp = NULL;
    CHECK(desk(&da, "GET", "/v1/items/facebook:r_2", INGEST, NULL, NULL) ==
        403);
    CHECK(desk(&da, "GET", "/v1/queues", INGEST, NULL, NULL) == 403);
    CHECK(desk(&da, "GET", "/v1/claims", NULL, NULL, &resp) == 401);
    CHECK_STR(err_code(resp), "unauthorized");
    json_decref(resp);
    resp = NULL;
    CHECK(desk(&da, "POST", "/v1/agents/bob/away", ALICE, NULL, NULL) ==
        403);
    CHECK(desk(&da, "POST", "/v1/agents/nobody/away", LENA, NULL, NULL) ==
        404);

    /* Bad requests. */
    status = desk(&da, "POST", "/v1/claims", ALICE,
        "{\"queues\":[\"nope\"]}", &resp);
    CHECK(status == 400);
    CHECK_STR(err_code(resp), "unknown_queue");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, id, "reply", "{\"canned\":\"nope\"}", &resp) ==
        400);
    CHECK_STR(err_code(resp), "unknown_canned");
    json_decref(resp);
    resp = NULL;
    /* The name quoted in the message is cut mid-character: still JSON. */
    CHECK(act(&da, ALICE, id, "reply", "{\"canned\":\"a"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
        "\xc3\xa9\xc3\xa9\"}", &resp) == 400);
    CHECK_STR(err_code(resp), "unknown_canned");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, id, "reassign", "{\"agent\":\"ingest\"}", &resp) ==
        400);
    CHECK_STR(err_code(resp), "unknown_agent");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, id, "reply", "{\"text\":", &resp) == 400);
    CHECK_STR(err_code(resp), "invalid_json");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, "facebook:none", "resolve", NULL, &resp) == 404);
    CHECK_STR(err_code(resp), "not_found");
    json_decref(resp);
    resp = NULL;
    CHECK(act(&da, ALICE, id, "frobnicate", NULL, NULL) == 404);
out:
    json_decref(resp);
    xfree(id);
    xfree(holder);
    return rc;
}

static int
test_stats_numbers(void)
{
    json_t *resp = NULL, *q, *a, *v;
    bool found_q = false, found_a = false;
    char *id = NULL;
    size_t i;
    int rc = 0;

    for (int n = 1; n <= 4; n++) {
        char native[16];

        snprintf(native, sizeof(native), "st_%d", n);
        CHECK(post_item(&da, native, "1007", NULL, "stats item") == 202);
    }
    /* sam claims two, answers one of them and resolves it. */
    CHECK(claim(&da, SAM, "stats", &id) == 200);
    CHECK(act(&da, SAM, id, "reply", "{\"text\":\"done\"}", NULL) == 200);
    CHECK(act(&da, SAM, id, "resolve", NULL, &resp) == 200);
    CHECK(json_integer_value(json_object_get(resp, "resolution_ms")) >=
        json_integer_value(json_object_get(resp, "first_response_ms")));
    json_decref(resp);
    resp = NULL;
    CHECK(claim(&da, SAM, "stats", NULL) == 200);
    sleep_ms(50);

    CHECK(desk(&db, "GET", "/v1/stats", LENA, NULL, &resp) == 200);
    json_array_foreach(json_object_get(resp, "queues"), i, q) {
        if (strcmp(json_string_value(json_object_get(q, "name")), "stats"))
            continue;
        found_q = true;
        CHECK(json_integer_value(json_object_get(q, "depth")) == 2);
        CHECK(json_integer_value(json_object_get(q, "claimed")) == 1);
        CHECK(json_integer_value(json_object_get(q, "oldest_waiting_ms")) >=
            50);
    }
    json_array_foreach(json_object_get(resp, "agents"), i, a) {
        if (strcmp(json_string_value(json_object_get(a, "name")), "sam"))
            continue;
        found_a = true;
        CHECK(json_integer_value(json_object_get(a, "holding")) == 1);
        CHECK(json_integer_value(json_object_get(a, "claims")) == 2);
        CHECK(json_integer_value(json_object_get(a, "answered")) == 1);
        CHECK(json_integer_value(json_object_get(a, "resolved")) == 1);
        v = json_object_get(a, "median_first_response_ms");
        CHECK(json_is_integer(v) && json_integer_value(v) >= 0);
    }
    CHECK(found_q && found_a);
    json_decref(resp);
    resp = NULL;
    /* Agents see the queues, not the team. */
    CHECK(desk(&da, "GET", "/v1/queues", SAM, NULL, &resp) == 200);
    CHECK(json_object_get(resp, "agents") == NULL);
    CHECK(json_array_size(json_object_get(resp, "queues")) == 10);
    json_decref(resp);
    resp = NULL;
    /* The metrics count claims and resolutions. */
    {
        char *raw = NULL;
        long st = 0;

        CHECK(it_http(&da, "GET", "/metrics", NULL, NULL, &st, &raw,
            NULL) == 0);
        CHECK_CONTAINS(raw, "inboxd_claims_total{via=\"queue\"}");
        CHECK_CONTAINS(raw, "inboxd_resolutions_total{queue=\"stats\"} 1");
        CHECK_CONTAINS(raw, "inboxd_desk_actions_total{action=\"reply\"}");
        xfree(raw);
    }
out:
    json_decref(resp);
    xfree(id);
    return rc;
}

static int
test_percent_encoded_ids(void)
{
    json_t *resp = NULL;
    int rc = 0;

    /* A native id may hold '/': clients percent-encode it. */
    CHECK(post_item(&da, "x/1", "1000", NULL, "slashes") == 202);
    CHECK(desk(&da, "GET", "/v1/items/facebook%3Ax%2F1", ALICE, NULL,
        &resp) == 200);
    CHECK_STR(json_string_value(json_object_get(resp, "id")),
        "facebook:x/1");
    json_decref(resp);
    resp = NULL;
    CHECK(desk(&da, "POST", "/v1/items/facebook:x%2F1/note", ALICE,
        "{\"text\":\"ok\"}", NULL) == 200);
    CHECK(desk(&da, "GET", "/v1/items/facebook:x%2", ALICE, NULL, &resp) ==
        400);
out:
    json_decref(resp);
    return rc;
}

static int
test_inboxctl(void)
{
    char *out = NULL;
    json_t *j = NULL, *hist;
    int code = -1, rc = 0;

    CHECK(post_item(&da, "k_1", "1009", NULL, "ctl item\nsecond line") ==
        202);
    {
        const char *const args[] = { "next", "ctl", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 0);
        CHECK_CONTAINS(out, "claimed: facebook:k_1  ctl  claimed");
        CHECK_CONTAINS(out, "> ctl item\n  > second line");
        XFREE(&out);
    }
    {
        const char *const args[] = { "next", "ctl", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 3);
        XFREE(&out);
    }
    {
        const char *const args[] = { "reply", "facebook:k_1", "--canned",
            "thanks", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 0);
        CHECK_CONTAINS(out, "answered (held by alice");
        CHECK_CONTAINS(out, "outbound action ");
        XFREE(&out);
    }
    {
        /* Someone else's item: 409, exit 4. */
        const char *const args[] = { "resolve", "facebook:k_1", NULL };

        CHECK(run_ctl(&da, BOB, args, NULL, &out, &code) == 0);
        CHECK(code == 4);
        XFREE(&out);
    }
    {
        const char *const args[] = { "note", "facebook:k_1", "-", NULL };

        CHECK(run_ctl(&da, ALICE, args, "from stdin\n", &out, &code) == 0);
        CHECK(code == 0);
        XFREE(&out);
    }
    {
        const char *const args[] = { "--json", "show", "facebook:k_1",
            NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 0);
        CHECK((j = json_loads(out, 0, NULL)) != NULL);
        CHECK_STR(json_string_value(json_object_get(j, "state")),
            "answered");
        hist = desk_history(j);
        CHECK_STR(json_string_value(json_object_get(json_array_get(hist,
            2), "text")), "from stdin");
        json_decref(hist);
        XFREE(&out);
    }
    {
        const char *const args[] = { "resolve", "facebook:k_1", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 0);
        CHECK_CONTAINS(out, "facebook:k_1  ctl  resolved");
        XFREE(&out);
    }
    {
        const char *const args[] = { "show", "facebook:nope", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 6);
        XFREE(&out);
    }
    {
        const char *const args[] = { "stats", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 5);
        XFREE(&out);
        CHECK(run_ctl(&da, LENA, args, NULL, &out, &code) == 0);
        CHECK(code == 0);
        CHECK_CONTAINS(out, "QUEUE");
        CHECK_CONTAINS(out, "alice");
        XFREE(&out);
    }
    {
        const char *const args[] = { "reply", "facebook:k_1", NULL };

        CHECK(run_ctl(&da, ALICE, args, NULL, &out, &code) == 0);
        CHECK(code == 2);
        XFREE(&out);
        CHECK(run_ctl(&da, NULL, args, NULL, &out, &code) == 0);
        CHECK(code == 2);
    }
out:
    json_decref(j);
    xfree(out);
    return rc;
}

/* Last: Redis goes away; the desk answers 503 with Retry-After. */
static int
test_redis_down(void)
{
    char *raw = NULL, *headers = NULL;
    long status = 0;
    int rc = 0;

    CHECK(it_redis_stop(&redis) == 0);
    CHECK(it_http(&da, "POST", "/v1/claims", ALICE, "{}", &status, &raw,
        &headers) == 0);
    CHECK(status == 503);
    CHECK_CONTAINS(raw, "\"store_unavailable\"");
    CHECK_CONTAINS(headers, "Retry-After: ");
out:
    xfree(raw);
    xfree(headers);
    return rc;
}

static const struct check_case cases[] = {
    {"priority_then_age", test_priority_then_age},
    {"concurrent_claims_never_share", test_concurrent_claims_never_share},
    {"lease_expiry_returns_item", test_lease_expiry_returns_item},
    {"away_releases_and_blocks", test_away_releases_and_blocks},
    {"conversation_stickiness", test_conversation_stickiness},
    {"history_and_outbound_actions", test_history_and_outbound_actions},
    {"non_holder_gets_409", test_non_holder_gets_409},
    {"roles", test_roles},
    {"stats_numbers", test_stats_numbers},
    {"percent_encoded_ids", test_percent_encoded_ids},
    {"inboxctl", test_inboxctl},
    {"redis_down", test_redis_down},
};

int
main(void)
{
    char *long_cfg, *short_cfg;
    int rc = 1;

    alloc_init();
    long_cfg = it_subst(config_tmpl, "LEASE", "30s");
    short_cfg = it_subst(config_tmpl, "LEASE", "1s");
    if (it_redis_start(&redis) == -1 ||
        it_daemon_start(&da, long_cfg, &redis) == -1 ||
        it_daemon_start(&db, long_cfg, &redis) == -1 ||
        it_daemon_start(&dshort, short_cfg, &redis) == -1 ||
        it_daemon_wait_healthy(&da, 10000) == -1 ||
        it_daemon_wait_healthy(&db, 10000) == -1 ||
        it_daemon_wait_healthy(&dshort, 10000) == -1) {
        it_log_dump(&da);
        it_log_dump(&db);
        it_log_dump(&dshort);
        printf("0 passed, 1 failed\n");
        goto out;
    }
    rc = check_run(cases, nitems(cases));
    if (rc != 0) {
        it_log_dump(&da);
        it_log_dump(&db);
        it_log_dump(&dshort);
    }
out:
    it_daemon_cleanup(&da);
    it_daemon_cleanup(&db);
    it_daemon_cleanup(&dshort);
    it_redis_cleanup(&redis);
    xfree(long_cfg);
    xfree(short_cfg);
    return rc;
}
