/*
 * e2e_env: what the web inbox's browser tests run against, started with
 * the integration harness: a private redis-server, the fake platforms
 * (tests/fakes/) and a real inboxd with the web inbox on, a Facebook
 * Page whose actions go to the fake. run.mjs starts this program and
 * reads its stdout:
 *
 *   ready {"api": URL, "web": URL, "fake": URL, "page": "<page id>"}
 *   effect <the fake's effect>        one line per effect, as they come
 *
 * It stops everything when its stdin closes (the test ended or died),
 * or after 10 minutes at most, and exits 1 when the daemon's log holds
 * a sanitizer report.
 */
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "fake_platform.h"
#include "harness.h"

#define PAGE        "612345098765432"
#define LIFETIME_MS (10 * 60 * 1000)

static const char *config_fmt =
    "listen: 127.0.0.1:{{port}}\n"
    "redis:\n"
    "  address: {{redis}}\n"
    "rules:\n"
    "  dirs: [{{rules}}]\n"
    "tokens:\n"
    "  - {name: ingest, role: ingest, token_env: INBOXD_TOKEN}\n"
    "  - {name: alice, role: agent, token: alice-token}\n"
    "  - {name: bob, role: agent, token: bob-token}\n"
    "  - {name: lena, role: lead, token: lena-token}\n"
    "queues:\n"
    "  names: [general, support, sales, moderation]\n"
    "routes:\n"
    "  - {queue: moderation, category: [spam, abuse]}\n"
    "  - {queue: sales, category: lead}\n"
    "  - {queue: support, category: question}\n"
    "canned:\n"
    "  thanks: \"Thanks {author_name}! We are on it. {agent}, Acme\"\n"
    "actions:\n"
    "  interval: 50ms\n"
    "  timeout: 2s\n"
    "platforms:\n"
    "  facebook: {api_base: \"@FAKE@/v21.0\"}\n"
    "accounts:\n"
    "  - {platform: facebook, id: \"" PAGE "\", name: Acme, "
    "app_secret: e2e-secret, access_token: PAGE-TOKEN}\n"
    "web:\n"
    "  listen: 127.0.0.1:0\n"
    "  root: " PROJECT_DIR "/contrib/web\n";

static int
web_port(const struct it_daemon *d)
{
    const char *needle = "web inbox on http://127.0.0.1:";
    char line[4096], *p;
    FILE *fp;
    int port = -1;

    if (it_log_wait(d, needle, 10000) == -1 || (fp = fopen(d->log, "r")) ==
        NULL)
        return -1;
    while (fgets(line, sizeof(line), fp) != NULL) {
        if ((p = strstr(line, needle)) != NULL)
            port = (int)strtol(p + strlen(needle), NULL, 10);
    }
    fclose(fp);
    return port;
}

int
main(void)
{
    struct it_redis redis;
    struct it_daemon d;
    struct fake_platform *fake = NULL;
    struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
    const char *p, *at;
    struct buf yaml;
    size_t seen = 0, n;
    char chunk[256], *e;
    int port, rc = 1, waited = 0;

    alloc_init();
    signal(SIGPIPE, SIG_IGN);
    memset(&redis, 0, sizeof(redis));
    memset(&d, 0, sizeof(d));
    buf_init(&yaml, 16384);
    if ((fake = fake_platform_start()) == NULL) {
        fprintf(stderr, "e2e_env: the fake platform did not start\n");
        goto out;
    }
    for (p = config_fmt; (at = strstr(p, "@FAKE@")) != NULL;
        p = at + strlen("@FAKE@")) {
        buf_append(&yaml, p, (size_t)(at - p));
        buf_puts(&yaml, fake_platform_url(fake));
    }
    buf_puts(&yaml, p);
    if (yaml.failed || it_redis_start(&redis) == -1 ||
        it_daemon_start(&d, yaml.data, &redis) == -1 ||
        it_daemon_wait_healthy(&d, 10000) == -1 ||
        (port = web_port(&d)) <= 0) {
        fprintf(stderr, "e2e_env: inboxd did not come up\n");
        it_log_dump(&d);
        goto out;
    }
    printf("ready {\"api\": \"http://127.0.0.1:%d\", \"web\": "
        "\"http://127.0.0.1:%d\", \"fake\": \"%s\", \"page\": \"" PAGE
        "\", \"log\": \"%s\"}\n", d.port, port, fake_platform_url(fake),
        d.log);
    fflush(stdout);
    while (waited < LIFETIME_MS) {
        if (poll(&pfd, 1, 100) > 0) {
            if (read(STDIN_FILENO, chunk, sizeof(chunk)) <= 0)
                break;
        }
        waited += 100;
        for (n = fake_platform_effects(fake, NULL); seen < n; seen++) {
            if ((e = fake_platform_effect(fake, NULL, seen)) == NULL)
                continue;
            printf("effect %s\n", e);
            xfree(e);
        }
        fflush(stdout);
    }
    it_daemon_stop(&d);
    rc = 0;
    if (it_log_contains(&d, "Sanitizer") ||
        it_log_contains(&d, "runtime error")) {
        fprintf(stderr, "e2e_env: the daemon's sanitizer reports:\n");
        it_log_dump(&d);
        rc = 1;
    }
out:
    it_daemon_cleanup(&d);
    it_redis_cleanup(&redis);
    fake_platform_stop(fake);
    buf_free(&yaml);
    return rc;
}
