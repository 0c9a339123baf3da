/*
 * Lifecycle end to end: Redis going away and coming back, SIGHUP reload
 * with good and broken rules, SIGTERM draining in-flight items, and the
 * -n check. A real redis-server and a real inboxd on loopback.
 */
#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <hiredis/hiredis.h>
#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "harness.h"

#define TOKEN "test-token"

static struct it_redis redis;
static char site_dir[256];

static const char *config_tmpl =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "  timeout: 10s\n"
    "  reconnect_min: 50ms\n"
    "  reconnect_max: 300ms\n"
    "rules:\n"
    "  dirs: [{{rules}}, @SITE@]\n"
    "tokens:\n"
    "  - name: ingest\n"
    "    role: ingest\n"
    "    token_env: INBOXD_TOKEN\n"
    "queues:\n"
    "  names: [general, vip]\n"
    "  retry_after: 7s\n"
    "routes:\n"
    "  - queue: vip\n"
    "    category: vip\n"
    "shutdown:\n"
    "  drain_timeout: 10s\n";

static char *
make_config(void)
{
    const char *at = strstr(config_tmpl, "@SITE@");
    size_t n = strlen(config_tmpl) + strlen(site_dir) + 1;
    char *s = xmalloc(n);

    snprintf(s, n, "%.*s%s%s", (int)(at - config_tmpl), config_tmpl,
        site_dir, at + 6);
    return s;
}

static int
write_file(const char *dir, const char *name, const char *text)
{
    char path[512];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, name);
    if ((f = fopen(path, "w")) == NULL)
        return -1;
    fputs(text, f);
    return fclose(f);
}

static const char *site_rules_v1 =
    "set: site.vip\n"
    "rules:\n"
    "  - id: site.vip.platinum\n"
    "    category: vip\n"
    "    score: 5\n"
    "    words: [platinum card]\n";

static const char *site_rules_v2 =
    "set: site.vip\n"
    "rules:\n"
    "  - id: site.vip.golden\n"
    "    category: vip\n"
    "    score: 5\n"
    "    words: [golden ticket]\n";

static const char *site_rules_broken =
    "set: site.vip\n"
    "rules:\n"
    "  - id: site.vip.golden\n"
    "    category: vip\n"
    "    score: 5\n"
    "    pattern: '(unclosed'\n";

/* Loads as YAML and as regex; its own example contradicts it. */
static const char *site_rules_bad_example =
    "set: site.vip\n"
    "rules:\n"
    "  - id: site.vip.golden\n"
    "    category: vip\n"
    "    score: 5\n"
    "    words: [golden ticket]\n"
    "    examples:\n"
    "      match: ['a golden ticket']\n"
    "      no_match: ['my golden ticket is here']\n";

static long
post_item(struct it_daemon *d, const char *native_id, const char *text,
    char **queue, char **headers)
{
    json_t *o = json_pack("{s:s,s:s,s:s,s:{s:s},s:{s:s},s:s,s:s}",
        "platform", "vk", "native_id", native_id, "kind", "dm",
        "account", "id", "club1", "author", "id", "7", "text", text,
        "created_at", "2026-11-23T03:00:00+03:00");
    char *body = json_dumps(o, JSON_COMPACT), *raw = NULL;
    long status = -1;

    json_decref(o);
    if (it_http(d, "POST", "/v1/items", TOKEN, body, &status, &raw,
        headers) == -1)
        status = -1;
    if (queue != NULL) {
        json_t *r = raw ? json_loads(raw, 0, NULL) : NULL;
        const char *q = json_string_value(json_object_get(r, "queue"));

        *queue = q ? xstrdup(q) : NULL;
        json_decref(r);
    }
    xfree(raw);
    xfree(body);
    return status;
}

static long
health(struct it_daemon *d)
{
    char *raw = NULL;
    long status = -1;

    if (it_http(d, "GET", "/healthz", NULL, NULL, &status, &raw, NULL) == -1)
        status = -1;
    xfree(raw);
    return status;
}

/* Poll /healthz until it answers want, for at most ms. */
static int
wait_health(struct it_daemon *d, long want, int ms)
{
    for (int waited = 0; waited < ms; waited += 50) {
        if (health(d) == want)
            return 0;
        usleep(50 * 1000);
    }
    return -1;
}

static int
test_redis_down_and_back(void)
{
    struct it_daemon d = {0};
    char *cfg = make_config(), *headers = NULL;
    redisContext *c = NULL;
    redisReply *r = NULL;
    int rc = 0;

    CHECK(it_daemon_start(&d, cfg, &redis) == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK(post_item(&d, "before_outage", "hello", NULL, NULL) == 202);

    CHECK(it_redis_stop(&redis) == 0);
    CHECK(wait_health(&d, 503, 5000) == 0);
    /* Not stored, so not acknowledged: 503 with Retry-After. */
    CHECK(post_item(&d, "during_outage", "hello", NULL, &headers) == 503);
    CHECK_CONTAINS(headers, "Retry-After: 7");
    CHECK(it_log_contains(&d, "item=vk:during_outage not stored"));

    CHECK(it_redis_restart(&redis) == 0);
    CHECK(wait_health(&d, 200, 10000) == 0);
    CHECK(post_item(&d, "during_outage", "hello", NULL, NULL) == 202);
    /* The AOF kept what was acknowledged before the outage. */
    CHECK((c = it_redis_connect(&redis)) != NULL);
    r = redisCommand(c, "EXISTS inboxd:item:vk:before_outage");
    CHECK(r != NULL && r->integer == 1);
    CHECK(it_daemon_signal(&d, SIGTERM) == 0);
out:
    if (rc != 0)
        it_log_dump(&d);
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    it_daemon_cleanup(&d);
    xfree(headers);
    xfree(cfg);
    return rc;
}

static int
test_reload(void)
{
    struct it_daemon d = {0};
    char *cfg = make_config(), *q = NULL;
    int rc = 0;

    CHECK(write_file(site_dir, "vip.yml", site_rules_v1) == 0);
    CHECK(it_daemon_start(&d, cfg, &redis) == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK(post_item(&d, "r1", "I have a golden ticket", &q, NULL) == 202);
    CHECK_STR(q, "general");
    XFREE(&q);

    /* A good change takes effect on SIGHUP. */
    CHECK(write_file(site_dir, "vip.yml", site_rules_v2) == 0);
    CHECK(it_daemon_signal(&d, SIGHUP) == 0);
    CHECK(it_log_wait(&d, "reloaded", 5000) == 0);
    CHECK(post_item(&d, "r2", "I have a golden ticket", &q, NULL) == 202);
    CHECK_STR(q, "vip");
    XFREE(&q);

    /* A broken file is reported with its position; the old rules stay. */
    CHECK(write_file(site_dir, "vip.yml", site_rules_broken) == 0);
    CHECK(it_daemon_signal(&d, SIGHUP) == 0);
    CHECK(it_log_wait(&d, "reload failed", 5000) == 0);
    CHECK(it_log_contains(&d, "vip.yml:6:"));
    CHECK(post_item(&d, "r3", "another golden ticket here", &q, NULL) == 202);
    CHECK_STR(q, "vip");
    XFREE(&q);
    CHECK(health(&d) == 200);

    /* A rule whose own example fails is refused too; the old rules stay. */
    CHECK(write_file(site_dir, "vip.yml", site_rules_bad_example) == 0);
    CHECK(it_daemon_signal(&d, SIGHUP) == 0);
    CHECK(it_log_wait(&d, "example should not match but does", 5000) == 0);
    CHECK(it_log_contains(&d, "vip.yml:9:"));
    CHECK(post_item(&d, "r4", "golden ticket again", &q, NULL) == 202);
    CHECK_STR(q, "vip");
    CHECK(health(&d) == 200);
    CHECK(it_daemon_signal(&d, SIGTERM) == 0);
out:
    if (rc != 0)
        it_log_dump(&d);
    write_file(site_dir, "vip.yml", site_rules_v1);
    it_daemon_cleanup(&d);
    xfree(q);
    xfree(cfg);
    return rc;
}

/* Post one item from a child process; exit status: 0 on 202. */
static pid_t
post_in_child(struct it_daemon *d, const char *native_id)
{
    pid_t pid = fork();

    if (pid == 0) {
        long st = post_item(d, native_id, "please answer", NULL, NULL);

        _exit(st == 202 ? 0 : 1);
    }
    return pid;
}

static int
test_sigterm_drains(void)
{
    struct it_daemon d = {0};
    char *cfg = make_config(), *raw = NULL;
    redisContext *c = NULL;
    redisReply *r = NULL;
    pid_t kids[3] = {0};
    int rc = 0, status = -1;
    char id[32];

    CHECK(it_daemon_start(&d, cfg, &redis) == 0);
    CHECK(it_daemon_wait_healthy(&d, 10000) == 0);
    CHECK((c = it_redis_connect(&redis)) != NULL);
    /*
     * Hold Redis's writes so the items are still in flight at SIGTERM.
     * The pause is long enough for three posts from forked children to
     * arrive on a loaded machine (under a sanitizer), and shorter than
     * the drain deadline (10 s), which it must not outlast.
     */
    r = redisCommand(c, "CLIENT PAUSE 4000 WRITE");
    CHECK(r != NULL && r->type == REDIS_REPLY_STATUS);
    freeReplyObject(r);
    r = NULL;
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "drain_%d", i);
        CHECK((kids[i] = post_in_child(&d, id)) > 0);
    }
    for (int waited = 0; waited < 3000; waited += 20) {
        long st = -1;

        xfree(raw);
        raw = NULL;
        if (it_http(&d, "GET", "/metrics", NULL, NULL, &st, &raw, NULL) == 0
            && raw && strstr(raw, "inboxd_inflight_items 3"))
            break;
        usleep(20 * 1000);
    }
    CHECK_CONTAINS(raw, "inboxd_inflight_items 3");
    CHECK(it_daemon_signal(&d, SIGTERM) == 0);
    CHECK(it_log_wait(&d, "stopped accepting", 2000) == 0);
    /* Intake is closed: a new connection is refused. */
    CHECK(health(&d) == -1);
    /* Every in-flight item is answered 202 once Redis resumes. */
    for (int i = 0; i < 3; i++) {
        int st;

        CHECK(waitpid(kids[i], &st, 0) == kids[i]);
        kids[i] = 0;
        CHECK(WIFEXITED(st) && WEXITSTATUS(st) == 0);
    }
    CHECK(it_daemon_wait(&d, 10000, &status) == 0);
    CHECK(status == 0);
    CHECK(it_log_contains(&d, "drained"));
    for (int i = 0; i < 3; i++) {
        snprintf(id, sizeof(id), "EXISTS inboxd:item:vk:drain_%d", i);
        r = redisCommand(c, id);
        CHECK(r != NULL && r->integer == 1);
        freeReplyObject(r);
        r = NULL;
    }
out:
    if (rc != 0)
        it_log_dump(&d);
    for (int i = 0; i < 3; i++) {
        if (kids[i] > 0) {
            kill(kids[i], SIGKILL);
            waitpid(kids[i], NULL, 0);
        }
    }
    if (r)
        freeReplyObject(r);
    if (c)
        redisFree(c);
    it_daemon_cleanup(&d);
    xfree(raw);
    xfree(cfg);
    return rc;
}

/* Run inboxd -n on a config text; returns its exit status, output in out. */
static int
check_config(const char *yaml, char *out, size_t outlen)
{
    char path[512], cmd[1200];
    size_t n = 0;
    FILE *p;
    int st;

    snprintf(path, sizeof(path), "%s/check.yml", site_dir);
    if (write_file(site_dir, "check.yml", yaml) == -1)
        return -1;
    snprintf(cmd, sizeof(cmd), "INBOXD_TOKEN=x %s -n -c %s 2>&1",
        INBOXD_BIN, path);
    if ((p = popen(cmd, "r")) == NULL)
        return -1;
    n = fread(out, 1, outlen - 1, p);
    out[n] = '\0';
    st = pclose(p);
    unlink(path);
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int
test_check_mode(void)
{
    char out[4096], yaml[1024];
    int rc = 0;

    snprintf(yaml, sizeof(yaml), "rules:\n  dirs: [%s/rules]\n", PROJECT_DIR);
    CHECK(check_config(yaml, out, sizeof(out)) == 0);
    CHECK_CONTAINS(out, "ok");
    snprintf(yaml, sizeof(yaml), "rules:\n  dirs: [%s/rules]\nredis:\n"
        "  adress: 127.0.0.1:6379\n", PROJECT_DIR);
    CHECK(check_config(yaml, out, sizeof(out)) == 1);
    CHECK_CONTAINS(out, "check.yml:4:");
    CHECK_CONTAINS(out, "redis.adress");
out:
    return rc;
}

/* -n with a spool: spool.dir must be usable by the user inboxd runs as. */
static int
test_check_spool(void)
{
    static char out[256 * 1024];    /* rule warnings on a loaded machine */
    char yaml[1024], dir[600], path[640];
    int rc = 0;

#define SPOOL_YAML(d, extra) snprintf(yaml, sizeof(yaml), \
    "rules:\n  dirs: [%s/rules]\nspool:\n  dir: %s\n%s", PROJECT_DIR, (d), \
    (extra))
    snprintf(dir, sizeof(dir), "%s/spool", site_dir);
    /* Not there yet, in a directory it may write in: fine. */
    SPOOL_YAML(dir, "");
    CHECK(check_config(yaml, out, sizeof(out)) == 0);
    CHECK(access(dir, F_OK) == -1);     /* -n created nothing */
    /* Its parent does not exist: the spool makes one level only. */
    snprintf(path, sizeof(path), "%s/no/such/spool", site_dir);
    SPOOL_YAML(path, "");
    CHECK(check_config(yaml, out, sizeof(out)) == 1);
    CHECK_CONTAINS(out, "nor does its parent directory");
    /* A file, not a directory. */
    CHECK(write_file(site_dir, "spoolfile", "x") == 0);
    snprintf(path, sizeof(path), "%s/spoolfile", site_dir);
    SPOOL_YAML(path, "");
    CHECK(check_config(yaml, out, sizeof(out)) == 1);
    CHECK_CONTAINS(out, "is not a directory");
    unlink(path);
    /* A user that does not exist cannot be run as. */
    SPOOL_YAML(dir, "user: inboxd-no-such-user\n");
    CHECK(check_config(yaml, out, sizeof(out)) == 1);
    CHECK_CONTAINS(out, "inboxd-no-such-user: no such user");
    /* As root, checked for the user inboxd drops to: a directory only
     * root may write in is refused for nobody. */
    if (geteuid() == 0 && getpwnam("nobody") != NULL) {
        CHECK(mkdir(dir, 0700) == 0);
        SPOOL_YAML(dir, "user: nobody\n");
        CHECK(check_config(yaml, out, sizeof(out)) == 1);
        CHECK_CONTAINS(out, "nobody may not write in it");
        CHECK(chmod(dir, 0777) == 0);
        /* Writable, but under a directory only root may search. */
        CHECK(chmod(site_dir, 0700) == 0);
        CHECK(check_config(yaml, out, sizeof(out)) == 1);
        CHECK_CONTAINS(out, "nobody may not reach it");
        CHECK(chmod(site_dir, 0711) == 0);
        CHECK(check_config(yaml, out, sizeof(out)) == 0);
        CHECK(chmod(site_dir, 0700) == 0);
    }
#undef SPOOL_YAML
out:
    rmdir(dir);
    return rc;
}

static const struct check_case cases[] = {
    {"check_mode", test_check_mode},
    {"check_spool", test_check_spool},
    {"redis_down_and_back", test_redis_down_and_back},
    {"reload", test_reload},
    {"sigterm_drains", test_sigterm_drains},
};

int
main(void)
{
    int rc;

    alloc_init();
    snprintf(site_dir, sizeof(site_dir), "/tmp/inboxd-site.XXXXXX");
    if (mkdtemp(site_dir) == NULL ||
        write_file(site_dir, "vip.yml", site_rules_v1) == -1 ||
        it_redis_start(&redis) == -1) {
        printf("0 passed, 1 failed\n");
        return 1;
    }
    rc = check_run(cases, sizeof(cases) / sizeof(cases[0]));
    it_redis_cleanup(&redis);
    {
        char path[512];

        snprintf(path, sizeof(path), "%s/vip.yml", site_dir);
        unlink(path);
        rmdir(site_dir);
    }
    return rc;
}
