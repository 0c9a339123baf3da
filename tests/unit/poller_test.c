/*
 * poller_test: the pollers' pure parts, no sockets. The backoff's growth
 * and jitter; the Pacific day YouTube's quota is counted in, across both
 * daylight-saving changes; the YouTube cursor's JSON; URL escaping; and
 * the config keys that decide what is polled (accounts' mode,
 * channel_threads, video_ids; platforms.* and polling.*).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "buf.h"
#include "check.h"
#include "config.h"
#include "poller.h"
#include "util.h"

#define RULES TEST_DATA_DIR "/rules/empty"

/* RFC 3339 to ms; the tests below only use valid times. */
static int64_t
ms(const char *s)
{
    int64_t v = -1;

    if (util_parse_time(s, &v) == -1)
        fprintf(stderr, "  bad time %s\n", s);
    return v;
}

static int
test_backoff(void)
{
    uint64_t rng = 42;
    int64_t cur = 0, d;
    static const int64_t want[] = { 100, 200, 400, 800, 1000, 1000 };
    int rc = 0;

    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        d = poller_backoff(&cur, 100, 1000, &rng);
        CHECK(cur == want[i]);
        CHECK(d >= cur / 2 && d <= cur);
    }
    /* Jitter: not always the same delay. */
    {
        int64_t first = -1;
        bool differs = false;

        for (int i = 0; i < 50; i++) {
            cur = 1000;
            d = poller_backoff(&cur, 100, 1000, &rng);
            if (first == -1)
                first = d;
            else if (d != first)
                differs = true;
        }
        CHECK(differs);
    }
    /* A reset starts again from the minimum. */
    cur = 0;
    d = poller_backoff(&cur, 100, 1000, &rng);
    CHECK(cur == 100);
out:
    return rc;
}

/* Pacific date at `at` and the next Pacific midnight. */
static int
check_day(const char *at, const char *day, const char *reset)
{
    char got[11], r[32];
    int64_t next = 0;
    int rc = 0;

    poller_pacific_day(ms(at), got, &next);
    util_format_time(next, r);
    CHECK_STR(got, day);
    CHECK_STR(r, reset);
out:
    if (rc != 0)
        fprintf(stderr, "  at %s\n", at);
    return rc;
}

static int
test_pacific_day(void)
{
    int rc = 0;

    /* Winter: UTC-8. */
    CHECK(check_day("2026-11-23T12:00:00Z", "2026-11-23",
        "2026-11-24T08:00:00.000Z") == 0);
    CHECK(check_day("2026-11-23T07:59:59Z", "2026-11-22",
        "2026-11-23T08:00:00.000Z") == 0);
    CHECK(check_day("2026-11-23T08:00:00Z", "2026-11-23",
        "2026-11-24T08:00:00.000Z") == 0);
    /* Summer: UTC-7. */
    CHECK(check_day("2026-07-01T06:59:59Z", "2026-06-30",
        "2026-07-01T07:00:00.000Z") == 0);
    CHECK(check_day("2026-07-01T07:00:00Z", "2026-07-01",
        "2026-07-02T07:00:00.000Z") == 0);
    /* DST starts Sunday 2026-03-08 at 2:00 PST (10:00 UTC). */
    CHECK(check_day("2026-03-08T07:59:59Z", "2026-03-07",
        "2026-03-08T08:00:00.000Z") == 0);
    CHECK(check_day("2026-03-08T09:59:59Z", "2026-03-08",
        "2026-03-09T07:00:00.000Z") == 0);
    CHECK(check_day("2026-03-08T10:00:00Z", "2026-03-08",
        "2026-03-09T07:00:00.000Z") == 0);
    /* DST ends Sunday 2026-11-01 at 2:00 PDT (9:00 UTC). */
    CHECK(check_day("2026-11-01T06:59:59Z", "2026-10-31",
        "2026-11-01T07:00:00.000Z") == 0);
    CHECK(check_day("2026-11-01T08:30:00Z", "2026-11-01",
        "2026-11-02T08:00:00.000Z") == 0);
    CHECK(check_day("2026-11-01T09:30:00Z", "2026-11-01",
        "2026-11-02T08:00:00.000Z") == 0);
    /* Other years: 2024 (leap) changed on March 10 and November 3. */
    CHECK(check_day("2024-03-10T09:59:59Z", "2024-03-10",
        "2024-03-11T07:00:00.000Z") == 0);
    CHECK(check_day("2024-02-29T20:00:00Z", "2024-02-29",
        "2024-03-01T08:00:00.000Z") == 0);
    CHECK(check_day("2024-11-03T07:30:00Z", "2024-11-03",
        "2024-11-04T08:00:00.000Z") == 0);
out:
    return rc;
}

static int
test_cursor(void)
{
    struct poller_cursor c = { 0 }, d = { 0 };
    char *s = NULL, id[32];
    int rc = 0;

    c.ms = ms("2024-08-14T20:02:11Z");
    CHECK(poller_cursor_add(&c, "UgxD7msptSaPXG9Xqt14AaABAg") == 0);
    CHECK(poller_cursor_add(&c, "Ugx.reply") == 0);
    CHECK(poller_cursor_add(&c, "Ugx.reply") == 0);     /* no twice */
    CHECK(c.nids == 2);
    CHECK((s = poller_cursor_format(&c)) != NULL);
    CHECK_STR(s, "{\"published_at\":\"2024-08-14T20:02:11.000Z\","
        "\"ids\":[\"UgxD7msptSaPXG9Xqt14AaABAg\",\"Ugx.reply\"]}");
    CHECK(poller_cursor_parse(s, &d) == 0);
    CHECK(d.ms == c.ms);
    CHECK(d.nids == 2);
    CHECK(poller_cursor_has(&d, "Ugx.reply"));
    CHECK(!poller_cursor_has(&d, "Ugx"));

    /* Not cursors: d is left empty. */
    CHECK(poller_cursor_parse("not json", &d) == -1);
    CHECK(d.ms == 0 && d.nids == 0);
    CHECK(poller_cursor_parse("{\"published_at\":\"yesterday\"}", &d) ==
        -1);
    CHECK(poller_cursor_parse("{\"published_at\":\"2024-08-14T20:02:11Z\","
        "\"ids\":\"x\"}", &d) == -1);
    CHECK(poller_cursor_parse("{\"published_at\":\"2024-08-14T20:02:11Z\","
        "\"ids\":[1]}", &d) == -1);
    CHECK(poller_cursor_parse("{\"ids\":[]}", &d) == -1);
    /* ids are optional. */
    CHECK(poller_cursor_parse("{\"published_at\":\"2024-08-14T20:02:11Z\"}",
        &d) == 0);
    CHECK(d.ms == c.ms && d.nids == 0);

    /* At most POLLER_CURSOR_IDS_MAX ids are kept. */
    for (int i = 0; i < POLLER_CURSOR_IDS_MAX + 10; i++) {
        snprintf(id, sizeof(id), "id%d", i);
        CHECK(poller_cursor_add(&d, id) == 0);
    }
    CHECK(d.nids == POLLER_CURSOR_IDS_MAX);
out:
    xfree(s);
    poller_cursor_clear(&c);
    poller_cursor_clear(&d);
    return rc;
}

/* ---------------------------------------------------------------------
 * Config keys
 * ------------------------------------------------------------------ */

/* Load yaml from a temp file; NULL with the errors in *errs (xfree). */
static struct config *
load_yaml(const char *yaml, char **errs)
{
    char path[] = "/tmp/poller_test_XXXXXX";
    struct config *cfg = NULL;
    struct buf errors;
    FILE *fp;
    int fd;

    *errs = NULL;
    if ((fd = mkstemp(path)) == -1 || (fp = fdopen(fd, "w")) == NULL)
        return NULL;
    fprintf(fp, "rules:\n  dirs: [%s]\n%s", RULES, yaml);
    fclose(fp);
    buf_init(&errors, 64 * 1024);
    cfg = config_load(path, &errors);
    *errs = buf_steal(&errors);
    unlink(path);
    return cfg;
}

static int
test_config_defaults(void)
{
    struct config *cfg;
    char *errs = NULL;
    int rc = 0;

    CHECK((cfg = load_yaml("", &errs)) != NULL);
    CHECK_STR(cfg->platforms.telegram.api_base, "https://api.telegram.org");
    CHECK(cfg->platforms.telegram.poll_timeout_s == 30);
    CHECK_STR(cfg->platforms.youtube.api_base,
        "https://www.googleapis.com/youtube/v3");
    CHECK(cfg->platforms.youtube.poll_interval_ms == 300000);
    CHECK(cfg->platforms.youtube.daily_quota == 10000);
    CHECK(cfg->platforms.youtube.max_pages == 5);
    CHECK(cfg->polling.backoff_min_ms == 1000);
    CHECK(cfg->polling.backoff_max_ms == 300000);
    CHECK(cfg->polling.lease_ttl_ms == 60000);
    CHECK(cfg->polling.request_timeout_ms == 30000);
    CHECK(cfg->polling.max_response == 8u << 20);
out:
    config_unref(cfg);
    xfree(errs);
    return rc;
}

static int
test_config_accounts(void)
{
    struct config *cfg;
    char *errs = NULL;
    int rc = 0;

    cfg = load_yaml(
        "platforms:\n"
        "  telegram: {api_base: \"http://127.0.0.1:9/\", poll_timeout: 5s}\n"
        "  youtube: {poll_interval: 90s, daily_quota: 500, max_pages: 2}\n"
        "polling: {backoff_min: 50ms, backoff_max: 2s, lease_ttl: 10s}\n"
        "accounts:\n"
        "  - {platform: telegram, id: 1, bot_token: \"1:abc\"}\n"
        "  - {platform: telegram, id: 2, bot_token: \"2:abc\",\n"
        "     webhook_secret: s}\n"
        "  - {platform: telegram, id: 3, bot_token: \"3:abc\",\n"
        "     webhook_secret: s, mode: poll}\n"
        "  - {platform: telegram, id: 4, webhook_secret: s}\n"
        "  - {platform: youtube, id: UCa, api_key: k}\n"
        "  - {platform: youtube, id: UCb, oauth_token: t,\n"
        "     channel_threads: false, video_ids: [dQw4w9WgXcQ, abc_-1]}\n"
        "  - {platform: youtube, id: UCc}\n", &errs);
    if (cfg == NULL)
        fprintf(stderr, "  %s", errs ? errs : "?\n");
    CHECK(cfg != NULL);
    CHECK(cfg->platforms.telegram.poll_timeout_s == 5);
    CHECK(cfg->platforms.youtube.poll_interval_ms == 90000);
    CHECK(cfg->platforms.youtube.daily_quota == 500);
    CHECK(cfg->polling.lease_ttl_ms == 10000);
    CHECK(cfg->naccounts == 7);
    CHECK(cfg->accounts[0].poll);           /* no webhook_secret */
    CHECK(!cfg->accounts[1].poll);          /* webhook by default */
    CHECK(cfg->accounts[2].poll);           /* mode: poll */
    CHECK(!cfg->accounts[3].poll);          /* no bot_token */
    CHECK(cfg->accounts[4].poll && cfg->accounts[4].poll_channel);
    CHECK(cfg->accounts[4].nvideo_ids == 0);
    CHECK(cfg->accounts[5].poll && !cfg->accounts[5].poll_channel);
    CHECK(cfg->accounts[5].nvideo_ids == 2);
    CHECK_STR(cfg->accounts[5].video_ids[1], "abc_-1");
    CHECK(!cfg->accounts[6].poll);          /* no key, no token */
out:
    config_unref(cfg);
    xfree(errs);
    return rc;
}

/* yaml must fail with a message containing want. */
static int
check_bad(const char *yaml, const char *want)
{
    struct config *cfg;
    char *errs = NULL;
    int rc = 0;

    cfg = load_yaml(yaml, &errs);
    CHECK(cfg == NULL);
    CHECK_CONTAINS(errs, want);
out:
    config_unref(cfg);
    xfree(errs);
    return rc;
}

static int
test_config_errors(void)
{
    int rc = 0;

    CHECK(check_bad("accounts:\n  - {platform: telegram, id: 1, "
        "mode: poll}\n", "accounts[0].mode: poll needs bot_token") == 0);
    CHECK(check_bad("accounts:\n  - {platform: telegram, id: 1, "
        "bot_token: \"1:a\", mode: webhook}\n",
        "accounts[0].mode: webhook needs webhook_secret") == 0);
    CHECK(check_bad("accounts:\n  - {platform: telegram, id: 1, "
        "mode: pull}\n", "accounts[0].mode: expected webhook or poll") ==
        0);
    CHECK(check_bad("accounts:\n  - {platform: youtube, id: UCa, "
        "mode: poll}\n", "accounts[0].mode: only for telegram accounts") ==
        0);
    CHECK(check_bad("accounts:\n  - {platform: vk, id: 1, "
        "video_ids: [a]}\n", "accounts[0].video_ids: only for youtube "
        "accounts") == 0);
    CHECK(check_bad("accounts:\n  - {platform: youtube, id: UCa, "
        "api_key: k, channel_threads: false}\n",
        "leaves nothing to poll") == 0);
    CHECK(check_bad("accounts:\n  - {platform: youtube, id: UCa, "
        "video_ids: [\"a b\"]}\n", "accounts[0].video_ids[0]: must be a "
        "video id") == 0);
    CHECK(check_bad("accounts:\n  - {platform: youtube, id: UCa, "
        "channel_threads: maybe}\n",
        "accounts[0].channel_threads: expected true or false") == 0);
    CHECK(check_bad("platforms:\n  telegram:\n    api_base: ftp://x\n",
        "platforms.telegram.api_base: expected an http:// or https:// URL")
        == 0);
    CHECK(check_bad("platforms:\n  youtube:\n    api_base: "
        "\"http://h/v3?key=1\"\n", "no spaces, query or fragment") == 0);
    CHECK(check_bad("platforms:\n  telegram:\n    poll_timeout: 11m\n",
        "platforms.telegram.poll_timeout: must be between") == 0);
    CHECK(check_bad("platforms:\n  youtube:\n    daily_quota: 0\n",
        "platforms.youtube.daily_quota: must be between") == 0);
    CHECK(check_bad("polling:\n  backoff_min: 10s\n  backoff_max: 1s\n",
        "polling.backoff_max: must be at least polling.backoff_min") == 0);
    CHECK(check_bad("platforms:\n  telegram:\n    base: x\n",
        "platforms.telegram.base: unknown key") == 0);
out:
    return rc;
}

static int
test_url_escape(void)
{
    struct buf b;
    int rc = 0;

    buf_init(&b, 256);
    CHECK(buf_urlencode(&b, "[\"message\",\"edited_message\"]") == 0);
    CHECK_STR(b.data,
        "%5B%22message%22%2C%22edited_message%22%5D");
    buf_reset(&b);
    CHECK(buf_urlencode(&b, "AZaz09-_.~ +/=") == 0);
    CHECK_STR(b.data, "AZaz09-_.~%20%2B%2F%3D");
    buf_free(&b);
    buf_init(&b, 4);
    CHECK(buf_urlencode(&b, "[[") == -1);
out:
    buf_free(&b);
    return rc;
}

static const struct check_case cases[] = {
    {"backoff", test_backoff},
    {"pacific_day", test_pacific_day},
    {"cursor", test_cursor},
    {"config_defaults", test_config_defaults},
    {"config_accounts", test_config_accounts},
    {"config_errors", test_config_errors},
    {"url_escape", test_url_escape},
};

CHECK_MAIN(cases)
