/*
 * ctl: inboxctl's arguments into requests, answers into text, and its
 * exit statuses. No sockets: the HTTP part lives in inboxctl.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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
    return ctl_parse(argc, argv, env_url, env_token, NULL, inv, err,
        errlen);
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
        { { "delete", "vk:1", NULL }, "POST", "/v1/items/vk:1/delete", "-" },
        { { "action", "1795438724024-0", NULL }, "GET",
          "/v1/actions/1795438724024-0", "-" },
        { { "undo", "1795438724024-0", NULL }, "POST",
          "/v1/actions/1795438724024-0/undo", "-" },
        { { "retry", "1795438724024-0", NULL }, "POST",
          "/v1/actions/1795438724024-0/retry", "-" },
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
        { { "-s", "ftp://x", "next", NULL }, "t", "-s: expected an http" },
        { { "show", NULL }, "t", "show: expected an item id" },
        { { "undo", "facebook:1", NULL }, "t",
          "undo: expected one action id (<ms>-<seq>)" },
        { { "action", NULL }, "t", "action: expected one action id" },
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

static int
test_parse_tail(void)
{
    static const struct {
        const char *args[10];
        const char *path;
        bool json;
    } cases[] = {
        { { "tail", NULL }, "/v1/events", false },
        { { "tail", "--json", NULL }, "/v1/events", true },
        { { "-j", "tail", NULL }, "/v1/events", true },
        { { "tail", "--queue", "support", "-q", "sales", NULL },
          "/v1/events?queue=support&queue=sales", false },
        { { "tail", "--types", "item,claimed", "--queue", "a b", "--json",
            NULL }, "/v1/events?types=item%2Cclaimed&queue=a%20b", true },
    };
    static const struct {
        const char *args[6];
        const char *err;
    } bad[] = {
        { { "tail", "--queue", NULL }, "tail: --queue needs a value" },
        { { "tail", "--types", "", NULL }, "tail: --types needs a value" },
        { { "tail", "support", NULL }, "tail: unknown argument support" },
        { { "tail", "--follow", NULL }, "tail: unknown argument --follow" },
    };
    struct ctl_invocation inv;
    char err[256];
    int rc = 0;

    memset(&inv, 0, sizeof(inv));
    for (size_t i = 0; i < nitems(cases); i++) {
        CHECK(parse(cases[i].args, NULL, "tok", &inv, err, sizeof(err)) ==
            0);
        CHECK(inv.cmd == CTL_TAIL);
        CHECK_STR(inv.method, "GET");
        CHECK_STR(inv.path, cases[i].path);
        CHECK(inv.json == cases[i].json);
        CHECK(inv.body == NULL);
        ctl_invocation_clear(&inv);
    }
    for (size_t i = 0; i < nitems(bad); i++) {
        CHECK(parse(bad[i].args, NULL, "tok", &inv, err, sizeof(err)) ==
            -1);
        CHECK_CONTAINS(err, bad[i].err);
        ctl_invocation_clear(&inv);
    }
    CHECK(ctl_exit_code(CTL_TAIL, 200) == CTL_EXIT_OK);
    CHECK(ctl_exit_code(CTL_TAIL, 403) == CTL_EXIT_DENIED);
out:
    ctl_invocation_clear(&inv);
    return rc;
}

static int
test_config_path(void)
{
    char out[256];
    bool named;
    int rc = 0;

    CHECK(ctl_config_path("/etc/x.conf", "/xdg", "/home/a", out,
        sizeof(out), &named) == 0);
    CHECK_STR(out, "/etc/x.conf");
    CHECK(named);
    CHECK(ctl_config_path("", "/xdg", "/home/a", out, sizeof(out),
        &named) == 0);
    CHECK_STR(out, "/xdg/inboxctl/config");
    CHECK(!named);
    CHECK(ctl_config_path(NULL, "", "/home/a", out, sizeof(out), &named) ==
        0);
    CHECK_STR(out, "/home/a/.config/inboxctl/config");
    CHECK(!named);
    CHECK(ctl_config_path(NULL, NULL, NULL, out, sizeof(out), &named) ==
        -1);
    CHECK(ctl_config_path(NULL, NULL, "/home/a", out, 10, &named) == -1);
out:
    return rc;
}

static int
test_config_parse(void)
{
    static const char good[] =
        "# inboxctl\n"
        "\n"
        "url = https://desk.example:8443\n"
        "   token=s3cr=t \t\r\n"
        "  # indented comment\n";
    static const struct {
        const char *text;
        const char *err;
    } bad[] = {
        { "url https://x\n", "c:1: expected key = value" },
        { "\n\nname = x\n", "c:3: unknown key name (expected url, token or "
          "token_file)" },
        { "url =\n", "c:1: url: no value" },
        { "token = a\ntoken = b\n", "c:2: token: given twice" },
        { "token = a\ntoken_file = b\n", "c: token and token_file: give one"
          " of them" },
        { "= x\n", "c:1: expected key = value" },
        { "URL = x\n", "c:1: expected key = value" },
    };
    struct ctl_config cfg;
    struct ctl_invocation inv;
    char err[256];
    int rc = 0;

    memset(&cfg, 0, sizeof(cfg));
    memset(&inv, 0, sizeof(inv));
    CHECK(ctl_config_parse(good, strlen(good), "c", &cfg, err,
        sizeof(err)) == 0);
    CHECK_STR(cfg.url, "https://desk.example:8443");
    CHECK_STR(cfg.token, "s3cr=t");
    CHECK(cfg.token_file == NULL);
    cfg.path = xstrdup("/home/a/.config/inboxctl/config");

    /* The file under the environment, both under the flags. */
    {
        const char *const a[] = { "queues", NULL };
        const char *const f[] = { "-s", "http://flag", "-t", "flagtok",
            "queues", NULL };
        const char *argv[8];
        int argc = 0;

        argv[argc++] = "inboxctl";
        for (size_t i = 0; a[i] != NULL; i++)
            argv[argc++] = a[i];
        argv[argc] = NULL;
        CHECK(ctl_parse(argc, (char *const *)(uintptr_t)argv, NULL, NULL,
            &cfg, &inv, err, sizeof(err)) == 0);
        CHECK_STR(inv.url, "https://desk.example:8443");
        CHECK_STR(inv.token, "s3cr=t");
        ctl_invocation_clear(&inv);
        CHECK(ctl_parse(argc, (char *const *)(uintptr_t)argv, "http://env",
            "envtok", &cfg, &inv, err, sizeof(err)) == 0);
        CHECK_STR(inv.url, "http://env");
        CHECK_STR(inv.token, "envtok");
        ctl_invocation_clear(&inv);
        argc = 0;
        argv[argc++] = "inboxctl";
        for (size_t i = 0; f[i] != NULL; i++)
            argv[argc++] = f[i];
        argv[argc] = NULL;
        CHECK(ctl_parse(argc, (char *const *)(uintptr_t)argv, "http://env",
            "envtok", &cfg, &inv, err, sizeof(err)) == 0);
        CHECK_STR(inv.url, "http://flag");
        CHECK_STR(inv.token, "flagtok");
        ctl_invocation_clear(&inv);
    }
    /* A bad URL in the file is named as the file's. */
    XFREE(&cfg.url);
    cfg.url = xstrdup("desk.example");
    {
        const char *argv[] = { "inboxctl", "queues", NULL };

        CHECK(ctl_parse(2, (char *const *)(uintptr_t)argv, NULL, NULL, &cfg,
            &inv, err, sizeof(err)) == -1);
        CHECK_STR(err, "/home/a/.config/inboxctl/config: expected an "
            "http:// or https:// URL");
        ctl_invocation_clear(&inv);
    }
    ctl_config_clear(&cfg);
    CHECK(cfg.token == NULL && cfg.url == NULL && cfg.path == NULL);

    for (size_t i = 0; i < nitems(bad); i++) {
        memset(&cfg, 0, sizeof(cfg));
        err[0] = '\0';
        CHECK(ctl_config_parse(bad[i].text, strlen(bad[i].text), "c", &cfg,
            err, sizeof(err)) == -1);
        CHECK_STR(err, bad[i].err);
        ctl_config_clear(&cfg);
    }
    CHECK(ctl_config_parse("url = x\0", 8, "c", &cfg, err, sizeof(err)) ==
        -1);
    CHECK_CONTAINS(err, "not a text file");
    ctl_config_clear(&cfg);
    /* Nothing in it is fine; messages never quote a token. */
    CHECK(ctl_config_parse("", 0, "c", &cfg, err, sizeof(err)) == 0);
    CHECK(cfg.url == NULL && cfg.token == NULL);
    CHECK(ctl_config_parse("token = hunter2\ntoken = hunter3\n", 32, "c",
        &cfg, err, sizeof(err)) == -1);
    CHECK(strstr(err, "hunter") == NULL);
out:
    ctl_invocation_clear(&inv);
    ctl_config_clear(&cfg);
    return rc;
}

/* Write text to dir/name with mode; the path into out. */
static int
write_file(const char *dir, const char *name, const char *text, mode_t mode,
    char *out, size_t outlen)
{
    FILE *fp;

    snprintf(out, outlen, "%s/%s", dir, name);
    if ((fp = fopen(out, "w")) == NULL)
        return -1;
    fputs(text, fp);
    if (fclose(fp) != 0)
        return -1;
    return chmod(out, mode);
}

static int
test_config_load(void)
{
    char dir[] = "/tmp/inboxctl-test-XXXXXX", path[512], tf[512];
    char err[512];
    struct ctl_config cfg;
    int rc = 0;

    memset(&cfg, 0, sizeof(cfg));
    CHECK(mkdtemp(dir) != NULL);

    /* No file: nothing, unless it was named. */
    snprintf(path, sizeof(path), "%s/none", dir);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == 0);
    CHECK(cfg.path == NULL && cfg.url == NULL);
    CHECK(ctl_config_load(path, true, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "none: No such file or directory");
    ctl_config_clear(&cfg);

    /* A URL alone may be read by anyone. */
    CHECK(write_file(dir, "url", "url = http://a:1\n", 0644, path,
        sizeof(path)) == 0);
    CHECK(ctl_config_load(path, true, &cfg, err, sizeof(err)) == 0);
    CHECK_STR(cfg.url, "http://a:1");
    CHECK_STR(cfg.path, path);
    ctl_config_clear(&cfg);

    /* A token: only when group and others cannot read it, like ssh. */
    CHECK(write_file(dir, "tok", "token = t0k\n", 0640, path,
        sizeof(path)) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "holds a token but group or others may read it "
        "(mode 0640); chmod 600 ");
    CHECK(strstr(err, "t0k") == NULL);
    ctl_config_clear(&cfg);
    CHECK(chmod(path, 0604) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    ctl_config_clear(&cfg);
    CHECK(chmod(path, 0600) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == 0);
    CHECK_STR(cfg.token, "t0k");
    ctl_config_clear(&cfg);

    /* token_file, relative to the config file; the same rule. */
    CHECK(write_file(dir, "secret", "file-t0k\n", 0644, tf,
        sizeof(tf)) == 0);
    CHECK(write_file(dir, "tf", "token_file = secret\nurl = http://b\n",
        0644, path, sizeof(path)) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "/secret: holds a token but group or others may "
        "read it");
    ctl_config_clear(&cfg);
    CHECK(chmod(tf, 0400) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == 0);
    CHECK_STR(cfg.token, "file-t0k");
    CHECK_STR(cfg.url, "http://b");
    ctl_config_clear(&cfg);
    CHECK(write_file(dir, "tfabs", "token_file = /nonexistent/x\n", 0600,
        path, sizeof(path)) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "token_file /nonexistent/x: No such file");
    ctl_config_clear(&cfg);
    CHECK(write_file(dir, "secret2", "a\nb\n", 0600, tf, sizeof(tf)) == 0);
    CHECK(write_file(dir, "tf2", "token_file = secret2\n", 0600, path,
        sizeof(path)) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "expected the token alone on one line");
    ctl_config_clear(&cfg);

    /* A syntax error names file and line. */
    CHECK(write_file(dir, "bad", "url = x\nbogus\n", 0600, path,
        sizeof(path)) == 0);
    CHECK(ctl_config_load(path, false, &cfg, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "/bad:2: expected key = value");
    ctl_config_clear(&cfg);
    /* A directory is not a config file. */
    CHECK(ctl_config_load(dir, false, &cfg, err, sizeof(err)) == -1);
out:
    ctl_config_clear(&cfg);
    {
        static const char *const names[] = { "url", "tok", "secret", "tf",
            "tfabs", "secret2", "tf2", "bad" };

        for (size_t i = 0; i < nitems(names); i++) {
            snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
            unlink(path);
        }
        rmdir(dir);
    }
    return rc;
}

/* Collects parsed events as "event|id|data;" lines. */
static void
sse_collect_cb(const struct ctl_sse_event *ev, void *arg)
{
    struct buf *b = arg;

    buf_printf(b, "%s|%s|%.*s;", ev->event, ev->id, (int)ev->len, ev->data);
}

static int
test_sse_parser(void)
{
    static const char stream[] =
        "retry: 2000\n\n"
        ": keepalive\n\n"
        "id: ingest:1-0\nevent: item\ndata: {\"id\":\"a\"}\n\n"
        "id: audit:2-0\r\nevent: claimed\r\ndata: {\"id\":\"a\"}\r\n\r\n"
        "data:two\ndata: lines\n\n"
        "event: x\nid: audit:3-0\n\n"
        "id: audit:4-0\revent: reply\rdata: r\r\r";
    struct ctl_sse p;
    struct buf got;
    int rc = 0;

    ctl_sse_init(&p);
    buf_init(&got, 1u << 16);
    /* Whole, then a byte at a time: the same events. */
    CHECK(ctl_sse_feed(&p, stream, sizeof(stream) - 1, sse_collect_cb,
        &got) == 0);
    CHECK_STR(got.data, "item|ingest:1-0|{\"id\":\"a\"};"
        "claimed|audit:2-0|{\"id\":\"a\"};"
        "message|audit:2-0|two\nlines;"
        "reply|audit:4-0|r;");
    CHECK(p.retry_ms == 2000 && p.retried);
    CHECK_STR(p.last_id, "audit:4-0");
    ctl_sse_free(&p);
    ctl_sse_init(&p);
    buf_reset(&got);
    for (size_t i = 0; i < sizeof(stream) - 1; i++)
        CHECK(ctl_sse_feed(&p, stream + i, 1, sse_collect_cb, &got) == 0);
    CHECK_STR(got.data, "item|ingest:1-0|{\"id\":\"a\"};"
        "claimed|audit:2-0|{\"id\":\"a\"};"
        "message|audit:2-0|two\nlines;"
        "reply|audit:4-0|r;");

    /* A new connection drops a half-read event, keeps the last id. */
    buf_reset(&got);
    CHECK(ctl_sse_feed(&p, "event: item\ndata: {}", 20, sse_collect_cb,
        &got) == 0);
    ctl_sse_reset(&p);
    CHECK(ctl_sse_feed(&p, "\n\n", 2, sse_collect_cb, &got) == 0);
    CHECK(got.len == 0);
    CHECK_STR(p.last_id, "audit:4-0");
    /* retry: must be a number. */
    p.retry_ms = 0;
    CHECK(ctl_sse_feed(&p, "retry: soon\n\n", 13, sse_collect_cb, &got) ==
        0);
    CHECK(p.retry_ms == 0);
out:
    ctl_sse_free(&p);
    buf_free(&got);
    return rc;
}

static int
test_render_event(void)
{
    json_t *item = json_loads("{\"event\":\"item\",\"id\":\"facebook:1_2\","
        "\"queue\":\"support\",\"at\":\"2026-11-23T09:53:59.171Z\"}", 0,
        NULL);
    json_t *reply = json_loads("{\"event\":\"reply\",\"id\":\"vk:1\","
        "\"queue\":\"sales\",\"by\":\"alice\",\"at\":"
        "\"2026-11-23T09:55:02.113Z\",\"text\":\"Hi\\nthere\"}", 0, NULL);
    json_t *odd = json_loads("{\"id\":\"x\\u001b1\"}", 0, NULL);
    struct buf b;
    int rc = 0;

    buf_init(&b, 1u << 16);
    CHECK(item != NULL && reply != NULL && odd != NULL);
    CHECK(ctl_render_event("item", item, &b) == 0);
    CHECK_STR(b.data, "2026-11-23T09:53:59.171Z  item        facebook:1_2  "
        "support\n");
    buf_reset(&b);
    CHECK(ctl_render_event("reply", reply, &b) == 0);
    CHECK_STR(b.data, "2026-11-23T09:55:02.113Z  reply       vk:1  sales  "
        "alice: Hi?there\n");
    buf_reset(&b);
    CHECK(ctl_render_event("action_failed", odd, &b) == 0);
    CHECK_STR(b.data, "-  action_failed  x?1  -\n");
out:
    buf_free(&b);
    json_decref(item);
    json_decref(reply);
    json_decref(odd);
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
    {"parse_tail", test_parse_tail},
    {"config_path", test_config_path},
    {"config_parse", test_config_parse},
    {"config_load", test_config_load},
    {"sse_parser", test_sse_parser},
    {"render_event", test_render_event},
};

CHECK_MAIN(cases)
