/*
 * escalate: business hours, SLA timers, incidents and their escalation
 * ladders, out-of-hours replies (docs/escalation.md). The config section
 * escalation: becomes a struct escalate_config inside the snapshot; the
 * runtime (struct escalate) runs on the daemon's loop:
 *
 *   every escalation.interval:
 *     intake  new items from the all-items stream (a consumer group of
 *             its own), each decided here against the config: which SLA
 *             timers, which critical trigger, which surge counter, which
 *             out-of-hours reply
 *     arm     those decisions, each item once, in one script run
 *     sweep   due timers: SLA warnings and breaches open incidents,
 *             ladder steps page whoever the schedules say is on call
 *
 * Every decision that must be made once (is this item armed? is this
 * timer due? is there an incident for this cause already?) is made in
 * Redis by the queue module's escalation script, so restarts and several
 * inboxd processes neither lose nor repeat a page. Pages are written as
 * durable alert records in the same step; the alert module (alert.h)
 * sends them.
 *
 * The escalation clock is the wall clock, or, for tests only, the number
 * of milliseconds written in escalation.clock_file.
 */
#ifndef INBOXD_ESCALATE_H
#define INBOXD_ESCALATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "desk.h"

struct daemon;
struct escalate;
struct metrics;
struct sched;

enum escalate_channel_type {
    ESCALATE_CH_SLACK = 0,      /* incoming webhook: {"text": ...} */
    ESCALATE_CH_TELEGRAM,       /* Bot API sendMessage to a chat */
    ESCALATE_CH_PAGERDUTY,      /* Events API v2 */
    ESCALATE_CH_WEBHOOK,        /* JSON, X-Inboxd-Signature HMAC-SHA256 */
};

/* "slack", "telegram", "pagerduty", "webhook". */
const char *escalate_channel_type_name(enum escalate_channel_type t);

struct escalate_channel {
    char *name;
    enum escalate_channel_type type;
    char *url;          /* slack: the webhook URL (a secret); pagerduty:
                           the events endpoint; webhook: where to POST;
                           telegram: the Bot API base */
    char *secret;       /* telegram: bot token; pagerduty: routing key;
                           webhook: the HMAC key. Wiped on free */
    char *chat_id;      /* telegram: the chat when a person has none */
};

struct escalate_person {
    char *name;
    char *telegram;     /* chat id for the telegram channels; may be NULL */
    char *slack;        /* member id mentioned in Slack texts; may be NULL */
};

struct escalate_step {
    int64_t after_ms;   /* after the previous step, unacknowledged */
    char *notify;       /* oncall, backup, lead, or a person */
    size_t *via;        /* indexes into channels */
    size_t nvia;
};

struct escalate_policy {
    char *name;
    struct escalate_step *steps;
    size_t nsteps;
    int64_t repeat_ms;  /* then the last step again every repeat_ms */
    int64_t repeat_times;
    int64_t quiet_ms;   /* a resolved cause opens nothing for this long */
    char *ladder;       /* the whole policy as JSON, for the script */
};

/* Which items a trigger covers: every list given must match (any of). */
struct escalate_match {
    char **queues;
    size_t nqueues;
    char **categories;
    size_t ncategories;
    char **rules;       /* rule ids among the item's hits */
    size_t nrules;
    char **kinds;       /* comment, reply, dm, mention */
    size_t nkinds;
    char **accounts;    /* "platform:account id" */
    size_t naccounts;
};

struct escalate_sla {
    char *name;
    struct escalate_match match;
    int64_t first_response_ms;  /* 0: none */
    int64_t resolution_ms;      /* 0: none */
    int64_t warn_ms;            /* "about to breach": this long before */
    bool business_hours;        /* count the team's business hours only */
    size_t team, policy;
};

struct escalate_critical {
    char *name;
    struct escalate_match match;
    size_t team, policy;
};

enum escalate_per {
    ESCALATE_PER_CONVERSATION = 0,  /* one post, video or chat */
    ESCALATE_PER_ACCOUNT,
};

struct escalate_surge {
    char *name;
    struct escalate_match match;
    int64_t count;
    int64_t window_ms;
    enum escalate_per per;
    size_t team, policy;
};

struct escalate_text {
    char *lang;         /* "en"; "default" for the fallback */
    char *text;
};

struct escalate_ooh {
    size_t team;
    struct escalate_match match;    /* kinds default to [dm] */
    struct escalate_text *texts;
    size_t ntexts;
};

struct escalate_config {
    int64_t interval_ms;
    char *clock_file;           /* tests only; NULL: the wall clock */
    char *zoneinfo;             /* the TZif directory */
    struct {
        int64_t timeout_ms;
        int64_t backoff_min_ms;
        int64_t backoff_max_ms;
        int64_t max_attempts;
        int64_t concurrency;
    } alerts;
    struct sched **teams;
    size_t nteams;
    struct escalate_person *people;
    size_t npeople;
    struct escalate_channel *channels;
    size_t nchannels;
    struct escalate_policy *policies;
    size_t npolicies;
    struct escalate_sla *sla;
    size_t nsla;
    struct escalate_critical *critical;
    size_t ncritical;
    struct escalate_surge *surge;
    size_t nsurge;
    struct escalate_ooh *ooh;
    size_t nooh;
};

/* ---------------------------------------------------------------------
 * Config (escalate_config.c)
 * ------------------------------------------------------------------ */

/* One problem: the key path ("escalation.sla[0].team") and what. */
typedef void escalate_err_fn(void *arg, const char *path, const char *msg);

/*
 * The escalation: section as the config hands it over (def: the YAML
 * mapping as JSON, every scalar a string; borrowed). dir is the config
 * file's directory, for relative *_file paths. Returns the parsed
 * section, or NULL after reporting every problem through err.
 */
struct escalate_config *escalate_config_parse(json_t *def, const char *dir,
    escalate_err_fn *err, void *arg);

/*
 * Checks against the rest of the config: every queue an SLA names must
 * be one of queue_names. Reports through err; returns the number of
 * problems.
 */
int escalate_config_check(const struct escalate_config *ec,
    char *const *queue_names, size_t nqueues, escalate_err_fn *err,
    void *arg);

void escalate_config_free(struct escalate_config *ec);

/* Lookups; NULL when there is no such thing. */
const struct escalate_channel *escalate_config_channel(
    const struct escalate_config *ec, const char *name);
const struct escalate_person *escalate_config_person(
    const struct escalate_config *ec, const char *name);
struct sched *escalate_config_team(const struct escalate_config *ec,
    const char *name);

/* ---------------------------------------------------------------------
 * Decisions (pure; escalate.c)
 * ------------------------------------------------------------------ */

/*
 * What arming item (the stored wire-model JSON, borrowed) means under
 * ec: an object for the escalation script's arm op with "sla",
 * "critical", "surge" and "ooh" as they apply (docs/escalation.md), or
 * NULL when nothing does. start is when its clocks start (ms, the
 * escalation clock), now the escalation clock. Returns new JSON.
 */
json_t *escalate_decide(const struct escalate_config *ec, json_t *item,
    int64_t start, int64_t now);

/*
 * Who is on call at now in every team, as the sweep hands it to the
 * script: {"<team>": {"oncall": ..., "backup": ..., "lead": ...}}.
 */
json_t *escalate_oncall_map(const struct escalate_config *ec, int64_t now);

/* The GET /v1/oncall answer at now. */
json_t *escalate_oncall_json(const struct escalate_config *ec, int64_t now);

/* ---------------------------------------------------------------------
 * Runtime (escalate.c)
 * ------------------------------------------------------------------ */

/* The escalation of daemon d; it starts its own alert sender. NULL when
 * memory runs out. */
struct escalate *escalate_new(struct daemon *d);
void escalate_start(struct escalate *e);

/*
 * The escalation clock now (ms): the wall clock, or the content of
 * escalation.clock_file when the config sets one.
 */
int64_t escalate_now(struct escalate *e);

/*
 * Handle one /v1 request (GET /v1/oncall, GET /v1/incidents[/<id>],
 * POST /v1/incidents/<id>/ack|resolve); req is borrowed, cb fires once,
 * possibly before this returns. docs/api.md.
 */
void escalate_handle(struct escalate *e, const struct desk_request *req,
    desk_reply_cb *cb, void *arg);

/* Requests in flight (alerts being sent, replies not recorded). */
unsigned escalate_busy(const struct escalate *e);

/* Stop the timers and the sender, free; NULL is fine. After queue_free
 * and curlev_free, whose callbacks may still come here. */
void escalate_free(struct escalate *e);

#endif
