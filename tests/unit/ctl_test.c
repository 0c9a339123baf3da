/*
 * ctl: inboxctl's arguments into requests, answers into text, and its
 * exit statuses. No sockets: the HTTP part lives in inboxctl.c.
 */
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "ctl.h"
#include "util.h"

/* Parse a NULL-terminated argument list (without the program name). */
static int
parse(const char *const *args, const char *env_url, const char *env_token,
    struct ctl_invocation *inv, char *err, size_t errlen)
{
    char *argv[32];
    int argc = 0;

    argv[argc++] = (char *)(uintptr_t)"inboxctl";
    for (size_t i = 0; args[i] != NULL && argc < 31; i++)
        argv[argc++] = (char *)(uintptr_t)args[i];
    argv[argc] = NULL;
    return ctl_parse(argc, argv, env_url, env_token, inv, err, errlen);
}

/* The body as compact JSON, or "-" for none (static buffer). */
static const char *
body_of(const struct ctl_invocation *inv)
{
    static char out[512];
    char *s;

    if (inv->body == NULL)
        return "-";
    s = json_dumps(inv->body, JSON_COMPACT | JSON_SORT_KEYS);
    snprintf(out, sizeof(out), "%s", s ? s : "?");
    xfree(s);
    return out;
}

static int
test_parse_requests(void)
{
    static const struct {
        const char *args[8];
        const char *method, *path, *body;
    } cases[] = {
        { { "next", NULL }, "POST", "/v1/claims", "-" },
        { { "next", "support", "sales", NULL }, "POST", "/v1/claims",
          "{\"queues\":[\"support\",\"sales\"]}" },
        { { "mine", NULL }, "GET", "/v1/claims", "-" },
        { { "rules", "stats", NULL }, "GET", "/v1/rules", "-" },
        { { "show", "facebook:1_2", NULL }, "GET", "/v1/items/facebook:1_2",
          "-" },
        { { "show", "fb:a/b c", NULL }, "GET", "/v1/items/fb:a%2Fb%20c",
          "-" },
        { { "reply", "vk:1", "Thanks,", "we", "are", "on", "it", NULL },
          "POST", "/v1/items/vk:1/reply",
          "{\"text\":\"Thanks, we are on it\"}" },
        { { "reply", "vk:1", "--canned", "thanks", NULL }, "POST",
          "/v1/items/vk:1/reply", "{\"canned\":\"thanks\"}" },
        { { "note", "vk:1", "call", "back", NULL }, "POST",
          "/v1/items/vk:1/note", "{\"text\":\"call back\"}" },
        { { "label", "vk:1", "vip", NULL }, "POST", "/v1/items/vk:1/label",
          "{\"label\":\"vip\"}" },
        { { "label", "vk:1", "--remove", "vip", NULL }, "POST",
          "/v1/items/vk:1/label", "{\"label\":\"vip\",\"remove\":true}" },
        { { "assign", "vk:1", "bob", NULL }, "POST",
          "/v1/items/vk:1/reassign", "{\"agent\":\"bob\"}" },
        { { "assign", "vk:1", "--queue", "sales", NULL }, "POST",
          "/v1/items/vk:1/reassign", "{\"queue\":\"sales\"}" },
        { { "escalate", "vk:1", "legal", "threat", NULL }, "POST",
          "/v1/items/vk:1/escalate", "{\"reason\":\"legal threat\"}" },
        { { "hide", "vk:1", NULL }, "POST", "/v1/items/vk:1/hide", "-" },
        { { "unhide", "vk:1", NULL }, "POST", "/v1/items/vk:1/unhide", "-" },
        { { "resolve", "vk:1", NULL }, "POST", "/v1/items/vk:1/resolve",
          "-" },
        { { "reopen", "vk:1", NULL }, "POST", "/v1/items/vk:1/reopen", "-" },
        { { "release", "vk:1", NULL }, "POST", "/v1/items/vk:1/release",
          "-" },
        { { "away", "on", NULL }, "POST", "/v1/agents/me/away",
          "{\"away\":true}" },
        { { "away", "off", NULL }, "POST", "/v1/agents/me/away",
          "{\"away\":false}" },
        { { "queues", NULL }, "GET", "/v1/queues", "-" },
        { { "stats", NULL }, "GET", "/v1/stats", "-" },
    };
    struct ctl_invocation inv;
    char err[256];
    int rc = 0;

    memset(&inv, 0, sizeof(inv));
    for (size_t i = 0; i < nitems(cases); i++) {
        CHECK(parse(cases[i].args, NULL, "tok", &inv, err, sizeof(err)) ==
            0);
        CHECK_STR(inv.method, cases[i].method);
        CHECK_STR(inv.path, cases[i].path);
        CHECK_STR(body_of(&inv), cases[i].body);
        CHECK_STR(inv.token, "tok");
        CHECK(inv.stdin_key == NULL);
        ctl_invocation_clear(&inv);
    }
out:
    ctl_invocation_clear(&inv);
    return rc;
}

static int
test_parse_options(void)
{
    struct ctl_invocation inv;
    char err[256];
    int rc = 0;

    memset(&inv, 0, sizeof(inv));
    {
        const char *const a[] = { "-j", "-s", "https://desk.example",
            "-t", "mine", "stats", NULL };

        CHECK(parse(a, "http://env", "envtok", &inv, err, sizeof(err)) ==
            0);
        CHECK(inv.json);
        CHECK_STR(inv.url, "https://desk.example");
        CHECK_STR(inv.token, "mine");
        CHECK(inv.cmd == CTL_STATS);
        ctl_invocation_clear(&inv);
    }
    {
        const char *const a[] = { "--json", "queues", NULL };

        CHECK(parse(a, "http://env:1", "envtok", &inv, err, sizeof(err)) ==
            0);
        CHECK_STR(inv.url, "http://env:1");
        CHECK_STR(inv.token, "envtok");
        ctl_invocation_clear(&inv);
        CHECK(parse(a + 1, NULL, "t", &inv, err, sizeof(err)) == 0);
        CHECK_STR(inv.url, CTL_DEFAULT_URL);
        CHECK(!inv.json);
        ctl_invocation_clear(&inv);
    }
    {
        const char *const a[] = { "reply", "vk:1", "-", NULL };

        CHECK(parse(a, NULL, "t", &inv, err, sizeof(err)) == 0);
        CHECK_STR(inv.stdin_key, "text");
        CHECK_STR(body_of(&inv), "{}");
        ctl_invocation_clear(&inv);
    }
    {
        const char *const a[] = { "-h", "whatever", NULL };

        CHECK(parse(a, NULL, NULL, &inv, err, sizeof(err)) == 0);
        CHECK(inv.help && inv.cmd == CTL_NONE);
        ctl_invocation_clear(&inv);
    }
out:
    ctl_invocation_clear(&inv);
    return rc;
}

static int
test_parse_errors(void)
{
    static const struct {
        const char *args[6];
        const char *token;
        const char *err;
    } cases[] = {
        { { NULL }, "t", "expected a command" },
        { { "frob", NULL }, "t", "unknown command frob" },
        { { "-x", "next", NULL }, "t", "unknown option -x" },
        { { "next", NULL }, NULL, "no token" },
        { { "show", NULL }, "t", "show: expected an item id" },
        { { "show", "a:1", "b", NULL }, "t", "expected only an item id" },
        { { "reply", "a:1", NULL }, "t", "reply: expected text" },
        { { "reply", "a:1", "--canned", NULL }, "t", "expected canned" },
        { { "reply", "a:1", "--canned", "a", "b", NULL }, "t",
          "canned is one word" },
        { { "assign", "a:1", "bob", "carol", NULL }, "t",
          "agent is one word" },
        { { "away", "maybe", NULL }, "t", "expected on or off" },
        { { "rules", NULL }, "t", "rules: expected stats" },
        { { "rules", "list", NULL }, "t", "rules: expected stats" },
        { { "stats", "now", NULL }, "t", "takes no arguments" },
        { { "-s", "ftp://x", "next", NULL }, "t", "http:// or https://" },
        { { "-t", NULL }, "t", "unknown option -t" },
    };
    struct ctl_invocation inv;
    char err[256];
    int rc = 0;

    memset(&inv, 0, sizeof(inv));
    for (size_t i = 0; i < nitems(cases); i++) {
        err[0] = '\0';
        CHECK(parse(cases[i].args, NULL, cases[i].token, &inv, err,
            sizeof(err)) == -1);
        CHECK_CONTAINS(err, cases[i].err);
        ctl_invocation_clear(&inv);
    }
out:
    ctl_invocation_clear(&inv);
    return rc;
}

static int
test_exit_codes(void)
{
    int rc = 0;

    CHECK(ctl_exit_code(CTL_NEXT, 200) == CTL_EXIT_OK);
    CHECK(ctl_exit_code(CTL_NEXT, 204) == CTL_EXIT_EMPTY);
    CHECK(ctl_exit_code(CTL_SHOW, 204) == CTL_EXIT_OK);
    CHECK(ctl_exit_code(CTL_REPLY, 409) == CTL_EXIT_CONFLICT);
    CHECK(ctl_exit_code(CTL_STATS, 403) == CTL_EXIT_DENIED);
    CHECK(ctl_exit_code(CTL_STATS, 401) == CTL_EXIT_DENIED);
    CHECK(ctl_exit_code(CTL_SHOW, 404) == CTL_EXIT_NOT_FOUND);
    CHECK(ctl_exit_code(CTL_SHOW, 400) == CTL_EXIT_ERROR);
    CHECK(ctl_exit_code(CTL_SHOW, 503) == CTL_EXIT_ERROR);
    CHECK(ctl_exit_code(CTL_SHOW, 0) == CTL_EXIT_ERROR);
    CHECK(CTL_EXIT_USAGE == 2);
out:
    return rc;
}

static int
test_escape_and_durations(void)
{
    char *s = ctl_escape("fb:1_2-x.y~z/%?#é");
    char d[32];
    int rc = 0;

    CHECK_STR(s, "fb:1_2-x.y~z%2F%25%3F%23%C3%A9");
    ctl_format_ms(850, d, sizeof(d));
    CHECK_STR(d, "850ms");
    ctl_format_ms(12345, d, sizeof(d));
    CHECK_STR(d, "12.3s");
    ctl_format_ms(192000, d, sizeof(d));
    CHECK_STR(d, "3m12s");
    ctl_format_ms(7500000, d, sizeof(d));
    CHECK_STR(d, "2h05m");
    ctl_format_ms(273600000, d, sizeof(d));
    CHECK_STR(d, "3d04h");
    ctl_format_ms(-1, d, sizeof(d));
    CHECK_STR(d, "-");
out:
    xfree(s);
    return rc;
}

static int
test_render_rules(void)
{
    json_t *resp = json_loads("{\"count\":2,\"rules\":["
        "{\"id\":\"en.spam.crypto\",\"category\":\"spam\",\"hits\":12,"
        "\"shadow_hits\":0,\"limit_errors\":1,\"match_ms\":3.25,"
        "\"shadow\":false,\"prefiltered\":true},"
        "{\"id\":\"site.vip.new\",\"category\":\"vip\",\"hits\":0,"
        "\"shadow_hits\":4,\"limit_errors\":0,\"match_ms\":0.5,"
        "\"shadow\":true,\"prefiltered\":false}]}", 0, NULL);
    struct buf b;
    int rc = 0;

    buf_init(&b, 1u << 16);
    CHECK(resp != NULL);
    CHECK(ctl_render(CTL_RULES, 200, resp, &b) == 0);
    CHECK_CONTAINS(b.data, "RULE");
    CHECK_CONTAINS(b.data, "en.spam.crypto");
    CHECK_CONTAINS(b.data, "        12        0       1       3.2");
    CHECK_CONTAINS(b.data, "site.vip.new");
    CHECK_CONTAINS(b.data, "shadow,always\n");
out:
    json_decref(resp);
    buf_free(&b);
    return rc;
}

static int
test_render(void)
{
    json_t *item = json_loads("{\"id\":\"vk:1\",\"queue\":\"support\","
        "\"state\":\"claimed\",\"holder\":\"alice\",\"lease_until\":"
        "\"2026-11-23T10:00:00.000Z\",\"labels\":[\"vip\"],\"via\":"
        "\"assigned\",\"first_response_ms\":65000,\"first_response_by\":"
        "\"alice\",\"item\":{\"platform\":\"vk\",\"kind\":\"dm\","
        "\"created_at\":\"2026-11-23T09:40:00.000Z\",\"author\":{\"id\":"
        "\"7\",\"name\":\"Olga\"},\"text\":\"line one\\nline\\u001btwo\","
        "\"classification\":{\"categories\":[\"question\"]}},\"history\":"
        "[{\"at\":\"2026-11-23T09:41:00.000Z\",\"by\":\"alice\",\"action\":"
        "\"reply\",\"text\":\"hello\"}]}", 0, NULL);
    json_t *stats = json_loads("{\"queues\":[{\"name\":\"support\","
        "\"depth\":3,\"claimed\":1,\"oldest_waiting_ms\":192000}],"
        "\"agents\":[{\"name\":\"alice\",\"away\":false,\"holding\":1,"
        "\"claims\":4,\"answered\":2,\"resolved\":1,"
        "\"median_first_response_ms\":850}]}", 0, NULL);
    struct buf b;
    int rc = 0;

    buf_init(&b, 1u << 16);
    CHECK(item != NULL && stats != NULL);
    CHECK(ctl_render(CTL_NEXT, 200, item, &b) == 0);
    CHECK_CONTAINS(b.data, "assigned to you: vk:1  support  claimed (held "
        "by alice until 2026-11-23T10:00:00.000Z)\n");
    CHECK_CONTAINS(b.data, "from: Olga (7) on vk, dm, ");
    CHECK_CONTAINS(b.data, "categories: question  labels: vip\n");
    CHECK_CONTAINS(b.data, "first response: 1m05s by alice\n");
    /* Newlines indented, control characters shown as '?'. */
    CHECK_CONTAINS(b.data, "  > line one\n  > line?two\n");
    buf_reset(&b);
    CHECK(ctl_render(CTL_SHOW, 200, item, &b) == 0);
    CHECK_CONTAINS(b.data, "history:\n  2026-11-23T09:41:00.000Z  alice"
        "        reply: hello\n");
    buf_reset(&b);
    CHECK(ctl_render(CTL_NEXT, 204, NULL, &b) == 0);
    CHECK_STR(b.data, "nothing waiting\n");
    buf_reset(&b);
    CHECK(ctl_render(CTL_STATS, 200, stats, &b) == 0);
    CHECK_CONTAINS(b.data, "support                    3     3m12s        "
        "1\n");
    CHECK_CONTAINS(b.data, "alice                  no       1      4        "
        "2        1      850ms\n");
out:
    buf_free(&b);
    json_decref(item);
    json_decref(stats);
    return rc;
}

static const struct check_case cases[] = {
    {"parse_requests", test_parse_requests},
    {"parse_options", test_parse_options},
    {"parse_errors", test_parse_errors},
    {"exit_codes", test_exit_codes},
    {"escape_and_durations", test_escape_and_durations},
    {"render", test_render},
    {"render_rules", test_render_rules},
};

CHECK_MAIN(cases)
