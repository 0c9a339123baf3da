/*
 * config: parse and validate the YAML config (libfyaml) into an immutable,
 * refcounted snapshot, and build what it names: the compiled rule set and
 * the routing table. Nothing half-built is ever returned. docs/config.md
 * documents every key.
 *
 * A snapshot is shared: the daemon holds one reference, every item in
 * flight holds another. SIGHUP builds a new snapshot; the old one dies
 * with its last reference.
 */
#ifndef INBOXD_CONFIG_H
#define INBOXD_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "buf.h"
#include "connector.h"
#include "crypto.h"
#include "log.h"
#include "ratelimit.h"
#include "route.h"
#include "rules.h"

struct escalate_config;

enum config_role {
    CONFIG_ROLE_INGEST = 0, /* may POST /v1/items */
    CONFIG_ROLE_AGENT,
    CONFIG_ROLE_LEAD,
    CONFIG_ROLE_ADMIN,      /* everything, including /metrics when guarded */
};

struct config_token {
    char *name;                             /* shown in logs, never the token */
    enum config_role role;
    unsigned char sha256[CRYPTO_SHA256_LEN]; /* only the hash is kept */
};

/*
 * One entry of accounts: a Facebook Page, Instagram account, VK community,
 * Telegram bot or YouTube channel of ours. Secrets are NULL when not
 * given; they are wiped on free and never logged. docs/config.md.
 */
struct config_account {
    const char *platform;       /* a CONNECTOR_* name (static) */
    char *id;                   /* our id on the platform */
    char *name;                 /* for logs; NULL when not given */
    char **self_ids;            /* more author ids that are "us" */
    size_t nself_ids;
    char *app_secret;           /* facebook, instagram: HMAC key */
    char *verify_token;         /* facebook, instagram: GET handshake */
    char *vk_confirmation;      /* vk: confirmation */
    char *vk_secret;            /* vk: secret */
    char *webhook_secret;       /* telegram: the webhook's secret_token */
    char *bot_token;            /* telegram: for the Bot API */
    char *api_key;              /* youtube: Data API key */
    char *oauth_token;          /* youtube: OAuth token */
    char *access_token;         /* facebook, instagram, vk: for actions */
    char *user_token;           /* vk: a moderator's token (wall.*Comment) */
    /*
     * Auto-moderation overrides (docs/config.md, "moderation"): given
     * when moderate_set / action / dry_run_set say so, else moderation.*
     * applies; config_moderation() gives the result.
     */
    bool moderate_set;
    char **moderate;            /* categories; may be empty: none */
    size_t nmoderate;
    char *moderate_action;      /* "hide", "delete"; NULL: not given */
    bool dry_run_set;
    bool dry_run;
    /*
     * Polling (docs/connectors.md, "Polling"), resolved at load. poll:
     * a telegram bot in mode poll (the default without webhook_secret
     * when bot_token is given), or a youtube channel with api_key or
     * oauth_token. poll_channel: youtube, list the channel's threads
     * (allThreadsRelatedToChannelId); video_ids: youtube, videos listed
     * one by one.
     */
    bool poll;
    bool poll_channel;
    char **video_ids;
    size_t nvideo_ids;
};

/* One canned reply: a name and its template text. */
struct config_canned {
    char *name;                 /* [a-z0-9_-]{1,64} */
    char *text;                 /* valid for desk_template_check */
};

struct config_redis {
    char *host;             /* NULL when unix_path is set */
    int port;
    char *unix_path;
    char *password;         /* secret; NULL when none; wiped on free */
    int db;
    char *prefix;           /* key prefix, default "inboxd:" */
    int64_t timeout_ms;     /* a command unanswered this long: reconnect */
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
};

/* What one listener allows a source (http.sources, web.sources). */
struct config_source_limits {
    int64_t connections;    /* open at once; 0: no cap */
    int64_t rate;           /* requests a second; 0: no limit */
    int64_t burst;          /* requests banked above the rate */
};

struct config {
    int refcnt;
    char *path;

    struct {
        char *host;
        int port;
        uint64_t max_body;      /* bytes; larger requests get 413 */
        uint64_t max_headers;
        int64_t timeout_ms;     /* idle/read timeout per connection */
        bool metrics_public;    /* /metrics without a token */
        int64_t request_timeout_ms; /* one whole request must arrive */
        int64_t max_connections;    /* open at once, every listener */
        /* Peers whose X-Forwarded-For names the source (http_guard.h). */
        struct ratelimit_cidr *trusted_proxies;
        size_t ntrusted_proxies;
        char *forwarded_header; /* "x-forwarded-for" or "forwarded" */
        struct {
            struct config_source_limits limits;    /* the listen address */
            int64_t streams;        /* event streams open; 0: no cap */
            struct ratelimit_cidr *exempt;  /* no per-source limits */
            size_t nexempt;
            int64_t ipv6_prefix;    /* an IPv6 source is this prefix */
            int64_t max_tracked;    /* the source table's size */
            int64_t log_interval_ms;    /* one line per source per this */
        } sources;
    } http;

    struct config_redis redis;

    struct {
        char **dirs;
        size_t ndirs;
        struct rules_limits limits;
    } rules;

    struct config_token *tokens;
    size_t ntokens;

    struct {
        char **names;           /* every queue a route can name */
        size_t nnames;
        char *group;            /* consumer group for responders */
        int64_t item_ttl_ms;    /* how long an item (and its dedup) lives */
        int64_t ingest_maxlen;  /* cap of the all-items stream */
        int64_t retry_after_s;  /* Retry-After sent with 503 */
        int64_t deadletter_maxlen; /* cap of the dead-letter stream */
        int64_t lease_ms;       /* desk: how long a claim lasts */
        int64_t audit_maxlen;   /* desk: cap of the audit stream */
    } queue;

    /* GET /v1/events (events.h). */
    struct {
        int64_t max_clients;    /* streams open at once; more get 503 */
        uint64_t max_buffer;    /* bytes unsent to one client: dropped */
    } events;

    struct route_table routes;

    /* canned: replies agents send by name (desk.h has the placeholders). */
    struct config_canned *canned;
    size_t ncanned;

    /*
     * accounts: in file order. conn_accounts[i] is accounts[i] as the
     * connectors take it (connector.h), one array so that a parser can be
     * given all of them; its strings are borrowed from accounts[i].
     */
    struct config_account *accounts;
    struct connector_account *conn_accounts;
    size_t naccounts;

    struct {
        uint64_t max_text;
        uint64_t max_attachments;
    } limits;

    /* The platforms' API endpoints and polling rhythm (docs/config.md). */
    struct {
        struct {
            char *api_base;         /* Graph API root with its version */
        } facebook, instagram;
        struct {
            char *api_base;         /* "https://api.vk.com/method" */
            char *version;          /* the "v" parameter */
        } vk;
        struct {
            char *api_base;         /* "https://api.telegram.org" */
            int64_t poll_timeout_s; /* getUpdates long-poll timeout */
        } telegram;
        struct {
            char *api_base;         /* ".../youtube/v3" */
            int64_t poll_interval_ms;
            int64_t daily_quota;    /* units per Pacific day */
            int64_t max_pages;      /* per list and round */
        } youtube;
    } platforms;

    struct {
        int64_t backoff_min_ms;     /* after a failed poll, doubling */
        int64_t backoff_max_ms;
        int64_t lease_ttl_ms;       /* one poller per account */
        int64_t request_timeout_ms; /* plus the long poll for getUpdates */
        uint64_t max_response;      /* bytes of one API response */
    } polling;

    /* Outbound actions (actions.c; docs/config.md, "actions"). */
    struct {
        int64_t concurrency;        /* requests in flight per process */
        int64_t interval_ms;        /* how often due actions are taken */
        int64_t timeout_ms;         /* one request */
        int64_t backoff_min_ms;     /* after a failure, doubling */
        int64_t backoff_max_ms;
        int64_t max_attempts;       /* then failed */
    } actions;

    /* Automatic moderation by the rules' decisions. */
    struct {
        char **categories;          /* decided into any: act */
        size_t ncategories;
        char *action;               /* "hide" or "delete" */
        bool dry_run;               /* record only, everywhere */
        bool keep_in_queue;         /* hidden items stay for responders */
    } moderation;

    struct {
        int64_t drain_timeout_ms;
    } shutdown;

    /* The local spool while Redis is away (spool.h): off without dir. */
    struct {
        char *dir;              /* absolute; NULL: no spool */
        uint64_t max_bytes;     /* every segment together */
        uint64_t segment_bytes; /* where a new segment file starts */
        int64_t retry_after_s;  /* Retry-After of a 503 when it refuses */
    } spool;

    char *user;                 /* run as this user once bound; NULL: stay */

    /* The web inbox (web.h): served when web.listen is set. */
    struct {
        char *host;             /* NULL: off */
        int port;
        char *root;             /* absolute: the page's static files */
        struct config_source_limits sources;
    } web;

    struct {
        enum log_level level;
        char *debug;            /* subsystems list, may be NULL */
    } log;

    /* Built from the above. */
    struct rules *ruleset;     /* compiled from rules.dirs */

    /* escalation: (escalate.h, docs/escalation.md); NULL when absent. */
    struct escalate_config *escalation;
};

/*
 * Load, validate and build a snapshot from the file at path. On success
 * returns a new snapshot with one reference. On failure returns NULL and
 * appends one line per problem to errors, each "file:line:col: key.path:
 * message" (rule file errors name the rule file).
 */
struct config *config_load(const char *path, struct buf *errors);

struct config *config_ref(struct config *cfg);
void config_unref(struct config *cfg);

/*
 * Keys a reload cannot change (listen address, Redis address): return a
 * comma-separated list of those that differ, in out; empty when none.
 */
void config_diff_immutable(const struct config *oldc,
    const struct config *newc, char *out, size_t outlen);

/* Find the token a presented bearer string matches; NULL if none. */
const struct config_token *config_find_token(const struct config *cfg,
    const char *presented, size_t len);

const char *config_role_name(enum config_role role);

/* The account platform:id of the snapshot, or NULL. */
const struct config_account *config_find_account(const struct config *cfg,
    const char *platform, const char *id);

/*
 * What the rules' decisions do on account a (docs/config.md,
 * "moderation"): the categories that trigger an action, the action
 * ("hide", "delete"), and whether it is only recorded. *action is NULL
 * when nothing is done automatically on the account.
 */
void config_moderation(const struct config *cfg,
    const struct config_account *a, char *const **categories, size_t *n,
    const char **action, bool *dry_run);

#endif
