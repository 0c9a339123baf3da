/*
 * escalate: the escalation: config section (loaded through config_load,
 * so key paths come back as file:line:col) and the pure decisions made
 * for each new item: SLA due times in business hours, critical and
 * surge triggers, the out-of-hours reply, and who is on call. No
 * sockets, no Redis.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "alert.h"
#include "alloc.h"
#include "check.h"
#include "config.h"
#include "crypto.h"
#include "ctl.h"
#include "escalate.h"
#include "sched.h"

#define H (3600 * 1000LL)
#define M (60 * 1000LL)

static const char base_yaml[] =
    "rules:\n"
    "  dirs: [" TEST_DATA_DIR "/rules/empty]\n"
    "queues:\n"
    "  names: [support, moderation]\n";

static const char good_yaml[] =
    "escalation:\n"
    "  interval: 200ms\n"
    "  teams:\n"
    "    support:\n"
    "      timezone: Europe/Berlin\n"
    "      hours: {weekdays: \"09:00-17:00\"}\n"
    "      holidays: [2026-03-27]\n"
    "      rotation: {members: [alice, bob, carol], handover: weekly,\n"
    "                 day: mon, at: \"09:00\", start: 2026-03-02}\n"
    "      lead: erin\n"
    "  people:\n"
    "    alice: {telegram: \"1001\", slack: U0ALICE}\n"
    "  channels:\n"
    "    slack: {type: slack, url_env: ESC_TEST_SLACK}\n"
    "    tg: {type: telegram, bot_token: \"123:abc\", chat_id: \"-100\",\n"
    "         api_base: \"http://127.0.0.1:9\"}\n"
    "    pd: {type: pagerduty, routing_key: rk,\n"
    "         url: \"http://127.0.0.1:9/v2/enqueue\"}\n"
    "    hook: {type: webhook, url: \"http://127.0.0.1:9/hook\",\n"
    "           secret: s3cret}\n"
    "  policies:\n"
    "    standard:\n"
    "      steps:\n"
    "        - {notify: oncall, via: [slack, tg]}\n"
    "        - {after: 15m, notify: backup, via: [tg]}\n"
    "        - {after: 15m, notify: lead, via: [pd, hook]}\n"
    "      repeat: 30m\n"
    "      repeat_times: 2\n"
    "      quiet: 1h\n"
    "  sla:\n"
    "    - name: support\n"
    "      queues: [support]\n"
    "      first_response: 1h\n"
    "      resolution: 8h\n"
    "      warn_before: 15m\n"
    "      business_hours: true\n"
    "      policy: standard\n"
    "  critical:\n"
    "    - name: threats\n"
    "      categories: [threat]\n"
    "      policy: standard\n"
    "  surge:\n"
    "    - name: pile-on\n"
    "      categories: [negative]\n"
    "      count: 3\n"
    "      window: 10m\n"
    "      policy: standard\n"
    "  out_of_hours:\n"
    "    - accounts: [\"telegram:7012345678\"]\n"
    "      text: {default: \"We are closed\", ru: \"Мы закрыты\"}\n";

/* An instant: a UTC date and time, in ms. */
static int64_t
utc(int y, int mo, int d, int h, int mi)
{
    return (int64_t)sched_days_from_civil(y, mo, d) * 86400000LL +
        (int64_t)h * H + (int64_t)mi * M;
}

/* Write base + yaml to a temp file and load it; errors into *errs. */
static struct config *
load(const char *yaml, char **errs)
{
    char path[] = "/tmp/inboxd-esc-test-XXXXXX";
    struct config *cfg;
    struct buf errors;
    int fd;

    if ((fd = mkstemp(path)) == -1)
        return NULL;
    if (write(fd, base_yaml, strlen(base_yaml)) < 0 ||
        write(fd, yaml, strlen(yaml)) < 0) {
        close(fd);
        unlink(path);
        return NULL;
    }
    close(fd);
    buf_init(&errors, 64 * 1024);
    cfg = config_load(path, &errors);
    unlink(path);
    if (errs != NULL)
        *errs = buf_steal(&errors);
    else if (cfg == NULL)
        fprintf(stderr, "  %s", errors.data ? errors.data : "?\n");
    buf_free(&errors);
    return cfg;
}

static json_t *
item(const char *id, const char *queue, const char *kind,
    const char *platform, const char *account, const char *conv,
    const char *lang, const char *category)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:{s:s},s:s?,s:s?,s:{s:s},"
        "s:{s:[s?],s:[]}}", "id", id, "queue", queue, "kind", kind,
        "platform", platform, "account", "id", account, "conversation", conv,
        "lang", lang, "author", "id", "42", "classification", "categories",
        category, "hits");
}

static int
test_config_good(void)
{
    const struct escalate_config *ec;
    struct config *cfg;
    json_t *ladder = NULL;
    int rc = 0;

    setenv("ESC_TEST_SLACK", "https://hooks.slack.example/T0/B0/x", 1);
    CHECK((cfg = load(good_yaml, NULL)) != NULL);
    CHECK((ec = cfg->escalation) != NULL);
    CHECK(ec->interval_ms == 200);
    CHECK(ec->nteams == 1 && ec->npeople == 1 && ec->nchannels == 4);
    CHECK_STR(ec->channels[0].url, "https://hooks.slack.example/T0/B0/x");
    CHECK(ec->channels[1].type == ESCALATE_CH_TELEGRAM);
    CHECK_STR(ec->channels[1].secret, "123:abc");
    CHECK_STR(ec->channels[1].chat_id, "-100");
    CHECK_STR(ec->channels[2].url, "http://127.0.0.1:9/v2/enqueue");
    CHECK_STR(ec->channels[3].secret, "s3cret");
    CHECK(escalate_config_channel(ec, "pd") == &ec->channels[2]);
    CHECK_STR(escalate_config_person(ec, "alice")->slack, "U0ALICE");
    CHECK(escalate_config_team(ec, "support") == ec->teams[0]);
    CHECK(ec->npolicies == 1 && ec->policies[0].nsteps == 3);
    CHECK((ladder = json_loads(ec->policies[0].ladder, 0, NULL)) != NULL);
    CHECK(json_integer_value(json_object_get(ladder, "repeat")) == 30 * M);
    CHECK(json_integer_value(json_object_get(ladder, "times")) == 2);
    CHECK(json_integer_value(json_object_get(ladder, "quiet")) == H);
    CHECK_STR(json_string_value(json_object_get(json_array_get(json_object_get(
        json_array_get(json_object_get(ladder, "steps"), 2), "via"), 0),
        "type")), "pagerduty");
    CHECK(ec->nsla == 1 && ec->sla[0].business_hours &&
        ec->sla[0].first_response_ms == H && ec->sla[0].warn_ms == 15 * M);
    CHECK(ec->ncritical == 1 && ec->nsurge == 1 && ec->nooh == 1);
    CHECK(ec->surge[0].count == 3 && ec->surge[0].window_ms == 10 * M);
    /* Out-of-hours replies answer DMs unless told otherwise. */
    CHECK(ec->ooh[0].match.nkinds == 1);
    CHECK_STR(ec->ooh[0].match.kinds[0], "dm");
    CHECK(ec->ooh[0].ntexts == 2);
out:
    json_decref(ladder);
    config_unref(cfg);
    return rc;
}

static int
test_config_errors(void)
{
    char *errs = NULL;
    int rc = 0;

    /* Lines count from 1 with the base's four lines first. */
    CHECK(load("escalation:\n"                          /* 5 */
        "  teams:\n"                                      /* 6 */
        "    support:\n"                                  /* 7 */
        "      timezone: Europe/Nowhere\n"                /* 8 */
        "  channels:\n"                                   /* 9 */
        "    pd: {type: pagerduty}\n"                     /* 10 */
        "    x: {type: carrier-pigeon}\n"                 /* 11 */
        "  policies:\n"                                   /* 12 */
        "    p:\n"                                        /* 13 */
        "      steps:\n"                                  /* 14 */
        "        - {notify: oncall, via: [pd, nope]}\n"   /* 15 */
        "  sla:\n"                                        /* 16 */
        "    - queues: [support, sales]\n"                /* 17 */
        "      team: ops\n"                               /* 18 */
        "      first_response: soon\n"                    /* 19 */
        "      policy: p\n"                               /* 20 */
        "  colour: red\n", &errs) == NULL);               /* 21 */
    CHECK_CONTAINS(errs, ":8:17: escalation.teams.support.timezone: no "
        "such time zone");
    CHECK_CONTAINS(errs, ":10:10: escalation.channels.pd.routing_key: "
        "missing");
    CHECK_CONTAINS(errs, ":11:15: escalation.channels.x.type: expected "
        "slack, telegram, pagerduty or webhook");
    CHECK_CONTAINS(errs, ":15:34: escalation.policies.p.steps[0].via: no "
        "channel named nope");
    CHECK_CONTAINS(errs, ":18:13: escalation.sla[0].team: no team named "
        "ops");
    CHECK_CONTAINS(errs, ":19:23: escalation.sla[0].first_response: "
        "expected a duration");
    CHECK_CONTAINS(errs, ":21:11: escalation.colour: unknown key");
    XFREE(&errs);

    /* A queue no route can name: checked once the whole file is read. */
    CHECK(load("escalation:\n"
        "  teams: {t: {timezone: UTC}}\n"
        "  channels: {s: {type: slack, url: \"http://127.0.0.1:9/\"}}\n"
        "  policies: {p: {steps: [{notify: lead, via: [s]}]}}\n"
        "  sla: [{queues: [sales], resolution: 1h, policy: p}]\n",
        &errs) == NULL);
    CHECK_CONTAINS(errs, "escalation.sla[0].queues[0]: queue \"sales\" is "
        "not in queues.names");
out:
    xfree(errs);
    return rc;
}

/* Out-of-hours replies alone need no channels and no policies. */
static int
test_config_minimal(void)
{
    struct config *cfg;
    int rc = 0;

    CHECK((cfg = load("escalation:\n"
        "  teams: {t: {timezone: UTC, hours: {weekdays: \"09:00-17:00\"}}}\n"
        "  out_of_hours: [{text: closed}]\n", NULL)) != NULL);
    CHECK(cfg->escalation->nchannels == 0 && cfg->escalation->nooh == 1);
    CHECK(cfg->escalation->interval_ms == 1000);
    CHECK(cfg->escalation->alerts.max_attempts == 10);
out:
    config_unref(cfg);
    return rc;
}

/*
 * SLA clocks counted in business hours: an item arriving Thursday
 * 16:30 in Berlin, with Friday a holiday and summer time starting on
 * the Sunday, is due Monday 09:30 summer time.
 */
static int
test_decide_sla(void)
{
    struct config *cfg;
    json_t *it = NULL, *d = NULL, *sla;
    int rc = 0;

    CHECK((cfg = load(good_yaml, NULL)) != NULL);
    it = item("facebook:1_2", "support", "comment", "facebook", "1", "1_0",
        "en", "question");
    d = escalate_decide(cfg->escalation, it, utc(2026, 3, 26, 15, 30),
        utc(2026, 3, 26, 15, 30));
    CHECK(d != NULL);
    CHECK_STR(json_string_value(json_object_get(d, "item")),
        "facebook:1_2");
    CHECK((sla = json_object_get(d, "sla")) != NULL);
    CHECK_STR(json_string_value(json_object_get(sla, "team")), "support");
    CHECK(json_integer_value(json_object_get(sla, "frt_due")) ==
        utc(2026, 3, 30, 7, 30));
    CHECK(json_integer_value(json_object_get(sla, "frt_warn")) ==
        utc(2026, 3, 30, 7, 15));
    CHECK(json_integer_value(json_object_get(sla, "res_due")) ==
        utc(2026, 3, 30, 14, 30));
    CHECK(json_integer_value(json_object_get(sla, "res_warn")) ==
        utc(2026, 3, 30, 14, 15));
    CHECK(json_object_get(d, "critical") == NULL);
    CHECK(json_object_get(d, "ooh") == NULL);
    json_decref(d);
    json_decref(it);
    /* Another queue: nothing at all. */
    it = item("facebook:1_3", "moderation", "comment", "facebook", "1",
        "1_0", "en", "spam");
    CHECK((d = escalate_decide(cfg->escalation, it, 0, 0)) == NULL);
out:
    json_decref(d);
    json_decref(it);
    config_unref(cfg);
    return rc;
}

static int
test_decide_triggers(void)
{
    struct config *cfg;
    json_t *it = NULL, *d = NULL, *c, *s;
    int rc = 0;

    CHECK((cfg = load(good_yaml, NULL)) != NULL);
    it = item("vk:-1_5", "moderation", "comment", "vk", "1", "-1_4", "ru",
        "threat");
    CHECK((d = escalate_decide(cfg->escalation, it, 0, 0)) != NULL);
    CHECK(json_array_size(json_object_get(d, "critical")) == 1);
    c = json_array_get(json_object_get(d, "critical"), 0);
    CHECK_STR(json_string_value(json_object_get(c, "cause")),
        "critical:threats:vk:-1_5");
    CHECK_STR(json_string_value(json_object_get(c, "kind")), "critical");
    CHECK_STR(json_string_value(json_object_get(c, "item")), "vk:-1_5");
    CHECK_STR(json_string_value(json_object_get(c, "ladder")),
        cfg->escalation->policies[0].ladder);
    json_decref(d);
    json_decref(it);

    it = item("vk:-1_6", "moderation", "comment", "vk", "1", "-1_4", "ru",
        "negative");
    CHECK((d = escalate_decide(cfg->escalation, it, 0, 0)) != NULL);
    s = json_array_get(json_object_get(d, "surge"), 0);
    CHECK_STR(json_string_value(json_object_get(s, "key")),
        "pile-on:vk:1:-1_4");
    CHECK(json_integer_value(json_object_get(s, "count")) == 3);
    CHECK(json_integer_value(json_object_get(s, "window")) == 10 * M);
    CHECK_STR(json_string_value(json_object_get(json_object_get(s,
        "incident"), "cause")), "surge:pile-on:vk:1:-1_4");
    /* A surge is about many items: it names none. */
    CHECK(json_string_value(json_object_get(json_object_get(s, "incident"),
        "item")) == NULL);
out:
    json_decref(d);
    json_decref(it);
    config_unref(cfg);
    return rc;
}

static int
test_decide_ooh(void)
{
    struct config *cfg;
    json_t *it = NULL, *d = NULL, *o;
    int64_t sat = utc(2026, 3, 28, 12, 0), night_end = utc(2026, 3, 30, 7, 0);
    char key[128];
    int rc = 0;

    CHECK((cfg = load(good_yaml, NULL)) != NULL);
    it = item("telegram:7012345678_55_9", "moderation", "dm", "telegram",
        "7012345678", "55", "ru", NULL);
    CHECK((d = escalate_decide(cfg->escalation, it, sat, sat)) != NULL);
    CHECK((o = json_object_get(d, "ooh")) != NULL);
    CHECK_STR(json_string_value(json_object_get(o, "text")), "Мы закрыты");
    CHECK_STR(json_string_value(json_object_get(o, "by")), "ooh:support");
    snprintf(key, sizeof(key), "telegram:7012345678:55:ru:%lld",
        (long long)night_end);
    CHECK_STR(json_string_value(json_object_get(o, "key")), key);
    CHECK(json_integer_value(json_object_get(o, "ttl")) ==
        night_end - sat + H);
    json_decref(d);
    /* In business hours: none. */
    d = escalate_decide(cfg->escalation, it, utc(2026, 3, 25, 12, 0),
        utc(2026, 3, 25, 12, 0));
    CHECK(d == NULL);
    json_decref(it);
    /* Another language gets the default text, under its own key. */
    it = item("telegram:7012345678_55_10", "moderation", "dm", "telegram",
        "7012345678", "55", "fr", NULL);
    CHECK((d = escalate_decide(cfg->escalation, it, sat, sat)) != NULL);
    CHECK_STR(json_string_value(json_object_get(json_object_get(d, "ooh"),
        "text")), "We are closed");
    CHECK_CONTAINS(json_string_value(json_object_get(json_object_get(d,
        "ooh"), "key")), ":55:default:");
    json_decref(d);
    json_decref(it);
    /* Comments, and other accounts, are not answered. */
    it = item("telegram:7012345678_55_11", "moderation", "comment",
        "telegram", "7012345678", "55", "ru", NULL);
    CHECK((d = escalate_decide(cfg->escalation, it, sat, sat)) == NULL);
    json_decref(it);
    it = item("telegram:1_55_12", "moderation", "dm", "telegram", "1", "55",
        "ru", NULL);
    CHECK((d = escalate_decide(cfg->escalation, it, sat, sat)) == NULL);
out:
    json_decref(d);
    json_decref(it);
    config_unref(cfg);
    return rc;
}

static int
test_oncall(void)
{
    struct config *cfg;
    json_t *o = NULL, *t, *m = NULL;
    int rc = 0;

    CHECK((cfg = load(good_yaml, NULL)) != NULL);
    o = escalate_oncall_json(cfg->escalation, utc(2026, 3, 25, 12, 0));
    CHECK(o != NULL);
    CHECK_STR(json_string_value(json_object_get(o, "now")),
        "2026-03-25T12:00:00.000Z");
    t = json_array_get(json_object_get(o, "teams"), 0);
    CHECK_STR(json_string_value(json_object_get(t, "team")), "support");
    CHECK_STR(json_string_value(json_object_get(t, "timezone")),
        "Europe/Berlin");
    CHECK_STR(json_string_value(json_object_get(t, "local_time")),
        "2026-03-25T13:00:00+01:00");
    CHECK(json_is_true(json_object_get(t, "business_hours")));
    CHECK_STR(json_string_value(json_object_get(t, "oncall")), "alice");
    CHECK_STR(json_string_value(json_object_get(t, "backup")), "bob");
    CHECK_STR(json_string_value(json_object_get(t, "lead")), "erin");
    CHECK_STR(json_string_value(json_object_get(t, "business_change_at")),
        "2026-03-25T16:00:00.000Z");
    CHECK_STR(json_string_value(json_object_get(json_object_get(t, "next"),
        "oncall")), "bob");
    CHECK_STR(json_string_value(json_object_get(json_object_get(t, "next"),
        "at")), "2026-03-30T07:00:00.000Z");
    CHECK_STR(json_string_value(json_object_get(json_object_get(t, "next"),
        "local_time")), "2026-03-30T09:00:00+02:00");
    m = escalate_oncall_map(cfg->escalation, utc(2026, 3, 25, 12, 0));
    CHECK_STR(json_string_value(json_object_get(json_object_get(m,
        "support"), "oncall")), "alice");
out:
    json_decref(o);
    json_decref(m);
    config_unref(cfg);
    return rc;
}

static json_t *
alert_rec(const char *channel, const char *type, const char *to,
    const char *event, const char *severity)
{
    return json_pack("{s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,s:s,"
        "s:s}", "id", "3", "incident", "7", "cause", "critical:threats:vk:1",
        "kind", "critical", "title", "threats: critical item vk:1",
        "team", "support", "severity", severity, "item", "vk:1", "channel",
        channel, "type", type, "to", to, "event", event, "step", "1");
}

static json_t *
body_of(const struct alert_request *r)
{
    return json_loadb(r->body.data, r->body.len, 0, NULL);
}

/* Each channel's request in the receiver's own format. */
static int
test_alert_build(void)
{
    struct alert_request r;
    struct config *cfg;
    json_t *h = NULL, *b = NULL;
    unsigned char mac[CRYPTO_SHA256_LEN];
    char hex[2 * CRYPTO_SHA256_LEN + 1], want[128], err[128];
    int rc = 0;

    alert_request_init(&r);
    setenv("ESC_TEST_SLACK", "https://hooks.slack.example/T0/B0/x", 1);
    CHECK((cfg = load(good_yaml, NULL)) != NULL);

    h = alert_rec("slack", "slack", "alice", "trigger", "critical");
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK_STR(r.url.data, "https://hooks.slack.example/T0/B0/x");
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "text")),
        "[inboxd] critical incident #7 (support team): threats: critical "
        "item vk:1 - paging alice (step 1) <@U0ALICE>");
    CHECK_STR(r.headers[0], "Content-Type: application/json");
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);

    /* Telegram: the person's own chat, else the channel's. */
    alert_request_init(&r);
    h = alert_rec("tg", "telegram", "alice", "trigger", "warning");
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK_STR(r.url.data, "http://127.0.0.1:9/bot123:abc/sendMessage");
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "chat_id")), "1001");
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);
    alert_request_init(&r);
    h = alert_rec("tg", "telegram", "bob", "ack", "warning");
    json_object_set_new(h, "by", json_string("bob"));
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "chat_id")), "-100");
    CHECK_STR(json_string_value(json_object_get(b, "text")),
        "[inboxd] incident #7 acknowledged by bob: threats: critical item "
        "vk:1");
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);

    /* PagerDuty: Events API v2 with the incident as the dedup key. */
    alert_request_init(&r);
    h = alert_rec("pd", "pagerduty", "erin", "trigger", "breached");
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK_STR(r.url.data, "http://127.0.0.1:9/v2/enqueue");
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "routing_key")), "rk");
    CHECK_STR(json_string_value(json_object_get(b, "event_action")),
        "trigger");
    CHECK_STR(json_string_value(json_object_get(b, "dedup_key")),
        "inboxd-incident-7");
    CHECK_STR(json_string_value(json_object_get(json_object_get(b,
        "payload"), "severity")), "error");
    CHECK_STR(json_string_value(json_object_get(json_object_get(b,
        "payload"), "source")), "inboxd");
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);
    alert_request_init(&r);
    h = alert_rec("pd", "pagerduty", "", "resolve", "breached");
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "event_action")),
        "resolve");
    CHECK(json_object_get(b, "payload") == NULL);
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);

    /* The webhook: signed with HMAC-SHA256 over the exact body. */
    alert_request_init(&r);
    h = alert_rec("hook", "webhook", "erin", "trigger", "critical");
    json_object_set_new(h, "at", json_string("1774526400000"));
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == 0);
    CHECK_STR(r.url.data, "http://127.0.0.1:9/hook");
    CHECK(crypto_hmac_sha256("s3cret", 6, r.body.data, r.body.len, mac) ==
        0);
    crypto_hex(mac, sizeof(mac), hex);
    snprintf(want, sizeof(want), "X-Inboxd-Signature: sha256=%s", hex);
    CHECK_STR(r.headers[1], want);
    CHECK((b = body_of(&r)) != NULL);
    CHECK_STR(json_string_value(json_object_get(b, "event")), "trigger");
    CHECK_STR(json_string_value(json_object_get(b, "at")),
        "2026-03-26T12:00:00.000Z");
    CHECK_STR(json_string_value(json_object_get(json_object_get(b,
        "incident"), "id")), "7");
    json_decref(b);
    b = NULL;
    json_decref(h);
    alert_request_clear(&r);

    /* A channel the config no longer has: the record fails. */
    alert_request_init(&r);
    h = alert_rec("gone", "slack", "alice", "trigger", "critical");
    CHECK(alert_build(cfg->escalation, h, &r, err, sizeof(err)) == -1);
    CHECK_CONTAINS(err, "no channel named gone");
out:
    json_decref(b);
    json_decref(h);
    alert_request_clear(&r);
    config_unref(cfg);
    return rc;
}

static int
test_alert_judge(void)
{
    int64_t ms;
    int rc = 0;

    CHECK(alert_judge(200, "ok", -1, &ms) == ALERT_DONE);
    CHECK(alert_judge(202, "{}", -1, &ms) == ALERT_DONE);
    CHECK(alert_judge(400, "{}", -1, &ms) == ALERT_FAILED);
    CHECK(alert_judge(404, "", -1, &ms) == ALERT_FAILED);
    CHECK(alert_judge(500, "", -1, &ms) == ALERT_RETRY && ms == -1);
    CHECK(alert_judge(429, "", 2000, &ms) == ALERT_RETRY && ms == 2000);
    CHECK(alert_judge(429, "{\"ok\":false,\"error_code\":429,"
        "\"parameters\":{\"retry_after\":3}}", -1, &ms) == ALERT_RETRY &&
        ms == 3000);
out:
    return rc;
}

/* ctl_parse on a NULL-terminated list after "inboxctl -t tok". */
static int
ctl_args(const char *const *args, struct ctl_invocation *inv, char *err,
    size_t errlen)
{
    char *argv[16];
    int argc = 0;

    argv[argc++] = (char *)(uintptr_t)"inboxctl";
    argv[argc++] = (char *)(uintptr_t)"-t";
    argv[argc++] = (char *)(uintptr_t)"tok";
    for (size_t i = 0; args[i] != NULL && argc < 15; i++)
        argv[argc++] = (char *)(uintptr_t)args[i];
    argv[argc] = NULL;
    return ctl_parse(argc, argv, NULL, NULL, NULL, inv, err, errlen);
}

/* inboxctl: the escalation commands' requests and their text. */
static int
test_ctl(void)
{
    struct ctl_invocation inv;
    char err[128];
    struct buf out;
    json_t *resp = NULL;
    int rc = 0;
    const char *const ack[] = { "ack", "12", NULL };
    const char *const res[] = { "resolve-incident", "7", NULL };
    const char *const show[] = { "incident", "7", NULL };
    const char *const oncall[] = { "oncall", NULL };
    const char *const bad[] = { "ack", NULL };

    buf_init(&out, 1u << 16);
    CHECK(ctl_args(ack, &inv, err, sizeof(err)) == 0);
    CHECK(inv.cmd == CTL_ACK);
    CHECK_STR(inv.method, "POST");
    CHECK_STR(inv.path, "/v1/incidents/12/ack");
    ctl_invocation_clear(&inv);
    CHECK(ctl_args(res, &inv, err, sizeof(err)) == 0);
    CHECK_STR(inv.path, "/v1/incidents/7/resolve");
    ctl_invocation_clear(&inv);
    CHECK(ctl_args(show, &inv, err, sizeof(err)) == 0);
    CHECK_STR(inv.method, "GET");
    CHECK_STR(inv.path, "/v1/incidents/7");
    ctl_invocation_clear(&inv);
    CHECK(ctl_args(oncall, &inv, err, sizeof(err)) == 0);
    CHECK_STR(inv.path, "/v1/oncall");
    ctl_invocation_clear(&inv);
    CHECK(ctl_args(bad, &inv, err, sizeof(err)) == -1);
    CHECK_STR(err, "ack: expected an incident id");
    ctl_invocation_clear(&inv);

    resp = json_loads("{\"now\":\"2026-03-25T12:00:00.000Z\",\"teams\":[{"
        "\"team\":\"support\",\"business_hours\":true,\"oncall\":"
        "\"alice\",\"backup\":\"bob\",\"lead\":\"erin\",\"next\":{"
        "\"oncall\":\"bob\",\"at\":\"2026-03-30T07:00:00.000Z\","
        "\"local_time\":\"2026-03-30T09:00:00+02:00\"}}]}", 0, NULL);
    CHECK(ctl_render(CTL_ONCALL, 200, resp, &out) == 0);
    CHECK_CONTAINS(out.data, "support          alice          bob            "
        "erin           open   bob from 2026-03-30T09:00:00+02:00\n");
    json_decref(resp);
    buf_reset(&out);
    resp = json_loads("{\"id\":\"7\",\"state\":\"open\",\"severity\":"
        "\"critical\",\"team\":\"support\",\"policy\":\"standard\","
        "\"title\":\"bad\\nthing\",\"cause\":\"surge:x\",\"opened_at\":"
        "\"2026-03-25T12:00:00.000Z\",\"timeline\":[{\"at\":"
        "\"2026-03-25T12:00:00.000Z\",\"event\":\"page\",\"step\":2,"
        "\"repeat\":0,\"to\":\"bob\",\"via\":[\"tg\",\"slack\"]},{\"at\":"
        "\"2026-03-25T12:05:00.000Z\",\"event\":\"acked\",\"by\":"
        "\"bob\"}]}", 0, NULL);
    CHECK(ctl_render(CTL_INCIDENT, 200, resp, &out) == 0);
    CHECK_CONTAINS(out.data, "incident 7  open  critical  (support team, "
        "policy standard)\n  bad?thing\n");
    CHECK_CONTAINS(out.data, "page step 2: bob via tg,slack\n");
    CHECK_CONTAINS(out.data, "acked by bob\n");
    buf_reset(&out);
    CHECK(ctl_render(CTL_INCIDENTS, 200, json_object_get(resp, "none"),
        &out) == 0);
    CHECK_STR(out.data, "no open incidents\n");
out:
    json_decref(resp);
    buf_free(&out);
    return rc;
}

static const struct check_case cases[] = {
    { "config_good", test_config_good },
    { "config_errors", test_config_errors },
    { "config_minimal", test_config_minimal },
    { "decide_sla", test_decide_sla },
    { "decide_triggers", test_decide_triggers },
    { "decide_ooh", test_decide_ooh },
    { "oncall", test_oncall },
    { "alert_build", test_alert_build },
    { "alert_judge", test_alert_judge },
    { "ctl", test_ctl },
};

CHECK_MAIN(cases)
