/*
 * config: read the YAML config file (libfyaml) into a struct config
 * snapshot. Loading goes in four steps: defaults from the option table; a
 * walk over the document that sets every key it finds (scalars through the
 * table, lists and secrets through small dedicated parsers); checks across
 * keys; and the build of what the config names (the rule set and the
 * routing table). Each problem becomes one line, "file:line:col: key.path:
 * message", and the walk goes on so that one run shows them all; any
 * problem means no snapshot at all.
 *
 * Snapshots are refcounted and never change once config_load returns.
 * Secrets: tokens are kept only as SHA-256 hashes, every copy of the
 * plaintext we made wiped right after hashing; the Redis password is kept
 * (Redis wants it) and wiped on free. No message ever quotes a secret.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>
#include <libfyaml.h>

#include "alloc.h"
#include "config.h"
#include "desk.h"
#include "escalate.h"
#include "item.h"
#include "util.h"

#ifndef INBOXD_RULES_DIR
#error "INBOXD_RULES_DIR must name the shipped rules directory"
#endif
#ifndef INBOXD_WEB_DIR
#error "INBOXD_WEB_DIR must name the shipped web inbox directory"
#endif

#define CONFIG_MAX_ERRORS   20
#define CONFIG_PATH_MAX     160     /* a key path in a message */
#define CONFIG_SECRET_MAX   4096    /* bytes of one token or password */
#define CONFIG_MAX_FILE     (4u << 20)  /* bytes of the config file */
#define CONFIG_NAME_MAX     64
#define CONFIG_MAX_NETWORKS 4096    /* entries of one list of networks */

#define KIB     1024ULL
#define MIB     (1024ULL * KIB)
#define GIB     (1024ULL * MIB)
#define SEC     1000ULL             /* durations are in ms */
#define MIN     (60ULL * SEC)
#define HOUR    (3600ULL * SEC)
#define DAY     (24ULL * HOUR)

/* ----------------------------------------------------------- option table */

enum config_type {
    CONFIG_T_STRING,
    CONFIG_T_BOOL,
    CONFIG_T_INT,           /* whole number in [min, max] */
    CONFIG_T_SIZE,          /* "64KiB": bytes in [min, max], / unit */
    CONFIG_T_DURATION,      /* "30s": ms in [min, max], / unit */
    CONFIG_T_ADDR,          /* host:port, [v6]:port, maybe unix:/path */
    CONFIG_T_LEVEL,         /* log level name */
};

/* What a value of the wrong shape gets told, by type. */
static const char *const config_expect[] = {
    [CONFIG_T_STRING] = "expected a string",
    [CONFIG_T_BOOL] = "expected true or false",
    [CONFIG_T_INT] = "expected a whole number",
    [CONFIG_T_SIZE] = "expected a size like 1MiB",
    [CONFIG_T_DURATION] = "expected a duration like 30s",
    [CONFIG_T_ADDR] = "expected host:port or [v6]:port",
    [CONFIG_T_LEVEL] = "expected one of debug, info, warn, error",
};

/* A validator for strings: NULL when fine, else the complaint. */
typedef const char *config_check_fn(const char *s);

struct config_option {
    const char *path;           /* full key path */
    enum config_type type;
    const char *def;            /* default, as written in a file; NULL: none */
    uint64_t min, max;          /* range in bytes, ms or units; ports too */
    uint64_t unit;              /* stored = value / unit (KiB, s); 0: as is */
    config_check_fn *check;     /* strings only */
    bool reload;                /* may a SIGHUP change it? */
    size_t off, size;           /* the field in struct config */
    size_t off_port, off_unix;  /* CONFIG_T_ADDR; off_unix 0: no unix: */
};

#define RELOAD  true
#define RESTART false

#define FIELD(f) .off = offsetof(struct config, f),                       \
    .size = sizeof(((struct config *)0)->f)

#define OPT(p, t, d, lo, hi, rl, f)                                      \
    { .path = (p), .type = (t), .def = (d), .min = (lo), .max = (hi),    \
      .reload = (rl), FIELD(f) }
#define OPT_UNIT(p, t, d, lo, hi, u, rl, f)                              \
    { .path = (p), .type = (t), .def = (d), .min = (lo), .max = (hi),    \
      .unit = (u), .reload = (rl), FIELD(f) }
#define OPT_STR(p, d, chk, rl, f)                                        \
    { .path = (p), .type = CONFIG_T_STRING, .def = (d), .check = (chk),  \
      .reload = (rl), FIELD(f) }

static config_check_fn config_check_prefix;
static config_check_fn config_check_name;
static config_check_fn config_check_queue;
static config_check_fn config_check_debug;
static config_check_fn config_check_api_base;
static config_check_fn config_check_vk_version;
static config_check_fn config_check_mod_action;
static config_check_fn config_check_forwarded;
static config_check_fn config_check_nonempty;

/*
 * Every scalar option. Lists (rules.dirs, queues.names, tokens, routes) and
 * the Redis password keys have dedicated parsers below (config_specials).
 * docs/config.md mirrors this table; keep them in step.
 */
static const struct config_option config_options[] = {
    { .path = "listen", .type = CONFIG_T_ADDR, .def = "127.0.0.1:8080",
      .min = 0, .max = 65535, .reload = RESTART, FIELD(http.host),
      .off_port = offsetof(struct config, http.port) },

    OPT("http.max_body", CONFIG_T_SIZE, "1MiB", KIB, 64 * MIB,
        RELOAD, http.max_body),
    OPT("http.max_headers", CONFIG_T_SIZE, "16KiB", KIB, MIB,
        RELOAD, http.max_headers),
    OPT("http.timeout", CONFIG_T_DURATION, "30s", 100, HOUR,
        RELOAD, http.timeout_ms),
    OPT("http.metrics_public", CONFIG_T_BOOL, "true", 0, 0,
        RELOAD, http.metrics_public),
    OPT_STR("http.forwarded_header", "x-forwarded-for",
        config_check_forwarded, RELOAD, http.forwarded_header),
    /* Connections and sources (http_guard.c, docs/security.md). */
    OPT("http.request_timeout", CONFIG_T_DURATION, "30s", 100, HOUR,
        RELOAD, http.request_timeout_ms),
    OPT("http.max_connections", CONFIG_T_INT, "4096", 1, 1000000,
        RELOAD, http.max_connections),
    OPT("http.sources.connections", CONFIG_T_INT, "64", 0, 1000000,
        RELOAD, http.sources.limits.connections),
    OPT("http.sources.rate", CONFIG_T_INT, "200", 0, 1000000,
        RELOAD, http.sources.limits.rate),
    OPT("http.sources.burst", CONFIG_T_INT, "2000", 1, 10000000,
        RELOAD, http.sources.limits.burst),
    OPT("http.sources.streams", CONFIG_T_INT, "16", 0, 100000,
        RELOAD, http.sources.streams),
    OPT("http.sources.ipv6_prefix", CONFIG_T_INT, "64", 32, 128,
        RELOAD, http.sources.ipv6_prefix),
    OPT("http.sources.max_tracked", CONFIG_T_INT, "16384", 64, 1 << 24,
        RESTART, http.sources.max_tracked),
    OPT("http.sources.log_interval", CONFIG_T_DURATION, "1m", SEC, DAY,
        RELOAD, http.sources.log_interval_ms),

    { .path = "redis.address", .type = CONFIG_T_ADDR,
      .def = "127.0.0.1:6379", .min = 1, .max = 65535, .reload = RESTART,
      FIELD(redis.host), .off_port = offsetof(struct config, redis.port),
      .off_unix = offsetof(struct config, redis.unix_path) },
    OPT("redis.db", CONFIG_T_INT, "0", 0, 15, RESTART, redis.db),
    OPT_STR("redis.prefix", "inboxd:", config_check_prefix, RESTART,
        redis.prefix),
    OPT("redis.timeout", CONFIG_T_DURATION, "2s", 10, HOUR,
        RESTART, redis.timeout_ms),
    OPT("redis.reconnect_min", CONFIG_T_DURATION, "100ms", 1, HOUR,
        RESTART, redis.reconnect_min_ms),
    OPT("redis.reconnect_max", CONFIG_T_DURATION, "5s", 1, DAY,
        RESTART, redis.reconnect_max_ms),

    OPT("rules.match_limit", CONFIG_T_INT, "100000", 1, UINT32_MAX,
        RELOAD, rules.limits.match_limit),
    OPT("rules.depth_limit", CONFIG_T_INT, "10000", 1, UINT32_MAX,
        RELOAD, rules.limits.depth_limit),
    OPT_UNIT("rules.heap_limit", CONFIG_T_SIZE, "20MiB", KIB, GIB, KIB,
        RELOAD, rules.limits.heap_limit_kib),

    /* NULL default: the first of queues.names (config_finish). */
    OPT_STR("queues.default", NULL, config_check_queue, RELOAD,
        routes.default_queue),
    OPT_STR("queues.group", "responders", config_check_name, RELOAD,
        queue.group),
    OPT("queues.item_ttl", CONFIG_T_DURATION, "30d", 0, 3650 * DAY,
        RELOAD, queue.item_ttl_ms),
    OPT("queues.ingest_maxlen", CONFIG_T_INT, "100000", 1, 1000000000,
        RELOAD, queue.ingest_maxlen),
    OPT_UNIT("queues.retry_after", CONFIG_T_DURATION, "5s", SEC, HOUR, SEC,
        RELOAD, queue.retry_after_s),
    OPT("queues.deadletter_maxlen", CONFIG_T_INT, "1000", 1, 1000000,
        RELOAD, queue.deadletter_maxlen),
    /* The responders' desk (desk.c). */
    OPT("queues.lease", CONFIG_T_DURATION, "15m", SEC, 7 * DAY,
        RELOAD, queue.lease_ms),
    OPT("queues.audit_maxlen", CONFIG_T_INT, "100000", 1, 1000000000,
        RELOAD, queue.audit_maxlen),

    /* The live event stream (events.c, docs/api.md "Events"). */
    OPT("events.max_clients", CONFIG_T_INT, "256", 0, 100000,
        RELOAD, events.max_clients),
    OPT("events.max_buffer", CONFIG_T_SIZE, "1MiB", 4 * KIB, 64 * MIB,
        RELOAD, events.max_buffer),

    OPT("limits.max_text", CONFIG_T_SIZE, "64KiB", 1, 64 * MIB,
        RELOAD, limits.max_text),
    OPT("limits.max_attachments", CONFIG_T_INT, "32", 0, 1000,
        RELOAD, limits.max_attachments),

    OPT("shutdown.drain_timeout", CONFIG_T_DURATION, "10s", 0, HOUR,
        RELOAD, shutdown.drain_timeout_ms),

    /* The local spool (spool.c, docs/operations.md): off unless spool.dir
     * is set; spool.dir is resolved in config_finish_spool. */
    OPT_STR("spool.dir", NULL, config_check_nonempty, RESTART, spool.dir),
    OPT("spool.max_bytes", CONFIG_T_SIZE, "256MiB", 64 * KIB, 1024 * GIB,
        RELOAD, spool.max_bytes),
    OPT("spool.segment_bytes", CONFIG_T_SIZE, "4MiB", 4 * KIB, GIB,
        RELOAD, spool.segment_bytes),
    OPT_UNIT("spool.retry_after", CONFIG_T_DURATION, "30s", SEC, HOUR, SEC,
        RELOAD, spool.retry_after_s),

    /* The platforms' APIs (actions.c, poller.c; docs/connectors.md). */
    OPT_STR("platforms.facebook.api_base",
        "https://graph.facebook.com/v21.0", config_check_api_base, RELOAD,
        platforms.facebook.api_base),
    OPT_STR("platforms.instagram.api_base",
        "https://graph.facebook.com/v21.0", config_check_api_base, RELOAD,
        platforms.instagram.api_base),
    OPT_STR("platforms.vk.api_base", "https://api.vk.com/method",
        config_check_api_base, RELOAD, platforms.vk.api_base),
    OPT_STR("platforms.vk.version", "5.199", config_check_vk_version,
        RELOAD, platforms.vk.version),

    /* Outbound actions (actions.c). */
    OPT("actions.concurrency", CONFIG_T_INT, "16", 1, 1024, RELOAD,
        actions.concurrency),
    OPT("actions.interval", CONFIG_T_DURATION, "250ms", 10, MIN, RELOAD,
        actions.interval_ms),
    OPT("actions.timeout", CONFIG_T_DURATION, "10s", 100, 5 * MIN, RELOAD,
        actions.timeout_ms),
    OPT("actions.backoff_min", CONFIG_T_DURATION, "1s", 10, HOUR, RELOAD,
        actions.backoff_min_ms),
    OPT("actions.backoff_max", CONFIG_T_DURATION, "5m", 10, DAY, RELOAD,
        actions.backoff_max_ms),
    OPT("actions.max_attempts", CONFIG_T_INT, "8", 1, 1000, RELOAD,
        actions.max_attempts),

    /* Automatic moderation (moderation.categories: config_specials). */
    OPT_STR("moderation.action", "hide", config_check_mod_action, RELOAD,
        moderation.action),
    OPT("moderation.dry_run", CONFIG_T_BOOL, "false", 0, 0, RELOAD,
        moderation.dry_run),
    OPT("moderation.keep_in_queue", CONFIG_T_BOOL, "false", 0, 0, RELOAD,
        moderation.keep_in_queue),

    /* Polling (poller.c, docs/connectors.md "Polling"). */
    OPT_STR("platforms.telegram.api_base", "https://api.telegram.org",
        config_check_api_base, RELOAD, platforms.telegram.api_base),
    OPT_UNIT("platforms.telegram.poll_timeout", CONFIG_T_DURATION, "30s",
        SEC, 600 * SEC, SEC, RELOAD, platforms.telegram.poll_timeout_s),
    OPT_STR("platforms.youtube.api_base",
        "https://www.googleapis.com/youtube/v3", config_check_api_base,
        RELOAD, platforms.youtube.api_base),
    OPT("platforms.youtube.poll_interval", CONFIG_T_DURATION, "5m", 100,
        DAY, RELOAD, platforms.youtube.poll_interval_ms),
    OPT("platforms.youtube.daily_quota", CONFIG_T_INT, "10000", 1,
        1000000000, RELOAD, platforms.youtube.daily_quota),
    OPT("platforms.youtube.max_pages", CONFIG_T_INT, "5", 1, 1000,
        RELOAD, platforms.youtube.max_pages),
    OPT("polling.backoff_min", CONFIG_T_DURATION, "1s", 10, HOUR,
        RELOAD, polling.backoff_min_ms),
    OPT("polling.backoff_max", CONFIG_T_DURATION, "5m", 10, DAY,
        RELOAD, polling.backoff_max_ms),
    OPT("polling.lease_ttl", CONFIG_T_DURATION, "60s", 1 * SEC, HOUR,
        RELOAD, polling.lease_ttl_ms),
    OPT("polling.request_timeout", CONFIG_T_DURATION, "30s", 100,
        600 * SEC, RELOAD, polling.request_timeout_ms),
    OPT("polling.max_response", CONFIG_T_SIZE, "8MiB", KIB, 256 * MIB,
        RELOAD, polling.max_response),

    OPT("log.level", CONFIG_T_LEVEL, "info", 0, 0, RELOAD, log.level),
    OPT_STR("log.debug", NULL, config_check_debug, RELOAD, log.debug),

    OPT_STR("user", NULL, config_check_nonempty, RESTART, user),

    /* The web inbox (web.c, docs/web.md): off unless web.listen is set;
     * web.root is resolved and checked in config_finish_web. */
    { .path = "web.listen", .type = CONFIG_T_ADDR, .def = NULL,
      .min = 0, .max = 65535, .reload = RESTART, FIELD(web.host),
      .off_port = offsetof(struct config, web.port) },
    OPT_STR("web.root", INBOXD_WEB_DIR, config_check_nonempty, RELOAD,
        web.root),
    OPT("web.sources.connections", CONFIG_T_INT, "128", 0, 1000000,
        RELOAD, web.sources.connections),
    OPT("web.sources.rate", CONFIG_T_INT, "50", 0, 1000000,
        RELOAD, web.sources.rate),
    OPT("web.sources.burst", CONFIG_T_INT, "500", 1, 10000000,
        RELOAD, web.sources.burst),
};

#define CONFIG_NOPTIONS nitems(config_options)

/* A place in the file, 1-based; line 0: none (a default). */
struct config_pos {
    int line;
    int col;
};

enum config_pw {
    CONFIG_PW_VALUE,
    CONFIG_PW_FILE,
    CONFIG_PW_ENV,
    CONFIG_PW_COUNT_,
};

/* One load in progress. */
struct config_ctx {
    struct config *cfg;
    const char *file;           /* the path as given, for messages */
    char *dir;                  /* its directory, absolute */
    char *src;                  /* its text; the document points into it */
    struct buf *errors;
    int nerrors;
    struct config_pos set_at[CONFIG_NOPTIONS];
    bool dirs_given;            /* rules.dirs was in the file */
    struct config_pos dirs_at;
    struct fy_node *pw_key[CONFIG_PW_COUNT_];
    struct fy_node *pw_val[CONFIG_PW_COUNT_];
    struct fy_node *routes_key;
    struct fy_node *routes_val;
};

typedef void config_special_fn(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val);

static config_special_fn config_parse_password;
static config_special_fn config_parse_dirs;
static config_special_fn config_parse_tokens;
static config_special_fn config_parse_names;
static config_special_fn config_parse_routes;
static config_special_fn config_parse_accounts;
static config_special_fn config_parse_canned;
static config_special_fn config_parse_moderation;
static config_special_fn config_parse_escalation;
static config_special_fn config_parse_networks;

/* Keys that are not plain scalars. All of them may change on reload except
 * the redis.password ones. */
static const struct {
    const char *path;
    config_special_fn *fn;
} config_specials[] = {
    { "redis.password", config_parse_password },
    { "redis.password_file", config_parse_password },
    { "redis.password_env", config_parse_password },
    { "rules.dirs", config_parse_dirs },
    { "tokens", config_parse_tokens },
    { "queues.names", config_parse_names },
    { "routes", config_parse_routes },
    { "accounts", config_parse_accounts },
    { "canned", config_parse_canned },
    { "moderation.categories", config_parse_moderation },
    { "escalation", config_parse_escalation },
    { "http.trusted_proxies", config_parse_networks },
    { "http.sources.exempt", config_parse_networks },
};

static const char *const config_pw_keys[CONFIG_PW_COUNT_] = {
    "password", "password_file", "password_env",
};

static const char *const config_role_names[] = {
    [CONFIG_ROLE_INGEST] = "ingest",
    [CONFIG_ROLE_AGENT] = "agent",
    [CONFIG_ROLE_LEAD] = "lead",
    [CONFIG_ROLE_ADMIN] = "admin",
};

static const struct {
    const char *name;
    enum item_kind kind;
} config_kinds[] = {
    { "comment", ITEM_KIND_COMMENT },
    { "reply", ITEM_KIND_REPLY },
    { "dm", ITEM_KIND_DM },
    { "mention", ITEM_KIND_MENTION },
};

/* --------------------------------------------------------------- messages */

static void __attribute__((format(printf, 4, 5)))
config_error(struct config_ctx *ctx, struct config_pos at, const char *path,
    const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (++ctx->nerrors > CONFIG_MAX_ERRORS) {
        if (ctx->nerrors == CONFIG_MAX_ERRORS + 1)
            buf_printf(ctx->errors, "%s: too many errors, giving up\n",
                ctx->file);
        return;
    }
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (at.line > 0)
        buf_printf(ctx->errors, "%s:%d:%d: ", ctx->file, at.line, at.col);
    else
        buf_printf(ctx->errors, "%s: ", ctx->file);
    if (path != NULL && *path != '\0')
        buf_printf(ctx->errors, "%s: ", path);
    buf_printf(ctx->errors, "%s\n", msg);
}

static void
config_oom(struct config_ctx *ctx, struct config_pos at, const char *path)
{
    config_error(ctx, at, path, "out of memory");
}

/* "64MiB", "1KiB" or plain bytes, for range messages. */
static void
config_fmt_size(uint64_t v, char *out, size_t outlen)
{
    if (v >= GIB && v % GIB == 0)
        snprintf(out, outlen, "%lluGiB", (unsigned long long)(v / GIB));
    else if (v >= MIB && v % MIB == 0)
        snprintf(out, outlen, "%lluMiB", (unsigned long long)(v / MIB));
    else if (v >= KIB && v % KIB == 0)
        snprintf(out, outlen, "%lluKiB", (unsigned long long)(v / KIB));
    else
        snprintf(out, outlen, "%llu", (unsigned long long)v);
}

static void
config_fmt_duration(uint64_t ms, char *out, size_t outlen)
{
    if (ms >= DAY && ms % DAY == 0)
        snprintf(out, outlen, "%llud", (unsigned long long)(ms / DAY));
    else if (ms >= HOUR && ms % HOUR == 0)
        snprintf(out, outlen, "%lluh", (unsigned long long)(ms / HOUR));
    else if (ms >= 60 * SEC && ms % (60 * SEC) == 0)
        snprintf(out, outlen, "%llum", (unsigned long long)(ms / 60 / SEC));
    else if (ms >= SEC && ms % SEC == 0)
        snprintf(out, outlen, "%llus", (unsigned long long)(ms / SEC));
    else
        snprintf(out, outlen, "%llums", (unsigned long long)ms);
}

static void
config_fmt_value(enum config_type type, uint64_t v, char *out, size_t outlen)
{
    if (type == CONFIG_T_SIZE)
        config_fmt_size(v, out, outlen);
    else if (type == CONFIG_T_DURATION)
        config_fmt_duration(v, out, outlen);
    else
        snprintf(out, outlen, "%llu", (unsigned long long)v);
}

/* ------------------------------------------------------------ YAML nodes */

/* Where a node starts; a collection points at its first scalar. */
static struct config_pos
config_pos_of(struct fy_node *n)
{
    struct config_pos pos = { 0, 0 };
    const struct fy_mark *m;
    struct fy_node_pair *p;
    struct fy_token *t;
    void *iter;

    while (n != NULL) {
        iter = NULL;
        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR:
            t = fy_node_get_scalar_token(n);
            if (t != NULL && (m = fy_token_start_mark(t)) != NULL) {
                pos.line = m->line + 1;
                pos.col = m->column + 1;
            }
            return pos;
        case FYNT_SEQUENCE:
            n = fy_node_sequence_iterate(n, &iter);
            break;
        case FYNT_MAPPING:
            p = fy_node_mapping_iterate(n, &iter);
            n = p != NULL ? fy_node_pair_key(p) : NULL;
            break;
        default:
            return pos;
        }
    }
    return pos;
}

/* Where to point for a value: at it, else (empty, null) at its key. */
static struct config_pos
config_at(struct fy_node *val, struct fy_node *key)
{
    struct config_pos pos = config_pos_of(val);

    if (pos.line == 0)
        pos = config_pos_of(key);
    return pos;
}

/* An absent value, or a plain "", "~" or "null". Quoted "" is a string. */
static bool
config_is_null(struct fy_node *n)
{
    const char *s;
    size_t len = 0;

    if (n == NULL)
        return true;
    if (fy_node_get_type(n) != FYNT_SCALAR ||
        fy_node_get_style(n) != FYNS_PLAIN)
        return false;
    if ((s = fy_node_get_scalar(n, &len)) == NULL || len == 0)
        return true;
    return (len == 1 && s[0] == '~') ||
        (len == 4 && (memcmp(s, "null", 4) == 0 ||
        memcmp(s, "Null", 4) == 0 || memcmp(s, "NULL", 4) == 0));
}

/*
 * The NUL-terminated text of a non-null scalar, owned by the document.
 * NULL for anything else, and for text holding a NUL byte.
 */
static const char *
config_text(struct fy_node *n)
{
    const char *s;
    size_t len = 0;

    if (n == NULL || fy_node_get_type(n) != FYNT_SCALAR ||
        fy_node_get_style(n) == FYNS_ALIAS || config_is_null(n))
        return NULL;
    if ((s = fy_node_get_scalar0(n)) == NULL)
        return NULL;
    fy_node_get_scalar(n, &len);
    return strlen(s) == len ? s : NULL;
}

static bool
config_is_type(struct fy_node *n, enum fy_node_type type)
{
    return n != NULL && fy_node_get_type(n) == type;
}

/* "prefix.key", the key made printable; "key" at the top. */
static void
config_join(char *out, size_t outlen, const char *prefix, const char *key)
{
    char q[CONFIG_PATH_MAX];
    int n;

    log_quote(q, sizeof(q), key);
    if (*prefix == '\0')
        n = snprintf(out, outlen, "%s", q);
    else
        n = snprintf(out, outlen, "%s.%s", prefix, q);
    /* A path this long is truncated; the message still names its start. */
    if (n < 0 || (size_t)n >= outlen)
        out[outlen - 1] = '\0';
}

static void
config_index(char *out, size_t outlen, const char *prefix, size_t i)
{
    int n = snprintf(out, outlen, "%s[%zu]", prefix, i);

    if (n < 0 || (size_t)n >= outlen)
        out[outlen - 1] = '\0';
}

static bool
config_key_seen(struct fy_node *map, struct fy_node_pair *until,
    const char *k)
{
    struct fy_node_pair *p;
    void *iter = NULL;
    const char *prev;

    while ((p = fy_node_mapping_iterate(map, &iter)) != NULL && p != until) {
        prev = config_text(fy_node_pair_key(p));
        if (prev != NULL && strcmp(prev, k) == 0)
            return true;
    }
    return false;
}

/*
 * The next pair of a mapping, returning its key text, or NULL at the end.
 * Keys that are not strings, and keys repeating an earlier one, are
 * reported here and skipped.
 */
static const char *
config_map_next(struct config_ctx *ctx, const char *path, struct fy_node *map,
    void **iter, struct fy_node **key, struct fy_node **val)
{
    char sub[CONFIG_PATH_MAX];
    struct fy_node_pair *p;
    const char *k;

    while ((p = fy_node_mapping_iterate(map, iter)) != NULL) {
        *key = fy_node_pair_key(p);
        *val = fy_node_pair_value(p);
        if ((k = config_text(*key)) == NULL) {
            config_error(ctx, config_at(*key, *val), path,
                "keys must be strings");
            continue;
        }
        config_join(sub, sizeof(sub), path, k);
        if (config_key_seen(map, p, k)) {
            config_error(ctx, config_pos_of(*key), sub, "duplicate key");
            continue;
        }
        if (*val != NULL && fy_node_is_alias(*val)) {
            config_error(ctx, config_pos_of(*val), sub,
                "YAML aliases are not supported here");
            continue;
        }
        return k;
    }
    return NULL;
}

/*
 * Collect a mapping's values by key: names is NULL-terminated, keys[i] and
 * vals[i] are set for each name present. Unknown keys are reported.
 */
static void
config_fields(struct config_ctx *ctx, const char *path, struct fy_node *map,
    const char *const *names, struct fy_node **keys, struct fy_node **vals)
{
    char sub[CONFIG_PATH_MAX];
    struct fy_node *key, *val;
    void *iter = NULL;
    const char *k;
    size_t i;

    while ((k = config_map_next(ctx, path, map, &iter, &key, &val)) != NULL) {
        for (i = 0; names[i] != NULL && strcmp(names[i], k) != 0; i++)
            ;
        if (names[i] == NULL) {
            config_join(sub, sizeof(sub), path, k);
            config_error(ctx, config_pos_of(key), sub, "unknown key");
            continue;
        }
        keys[i] = key;
        vals[i] = val;
    }
}

/* ------------------------------------------------------------ validators */

static bool
config_all_in(const char *s, const char *extra, bool upper)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if (!(islower(c) || isdigit(c) || (upper && isupper(c)) ||
            strchr(extra, c) != NULL))
            return false;
    }
    return true;
}

static const char *
config_check_prefix(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > CONFIG_NAME_MAX)
        return "must be 1 to 64 characters";
    for (; *s != '\0'; s++) {
        if (isspace((unsigned char)*s) || iscntrl((unsigned char)*s))
            return "must not contain spaces";
    }
    return NULL;
}

/* Token names, the consumer group: [A-Za-z0-9_.-]{1,64}. */
static const char *
config_check_name(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > CONFIG_NAME_MAX || !config_all_in(s, "_.-", true))
        return "must be 1 to 64 of A-Z a-z 0-9 _ . -";
    return NULL;
}

/* Queue names: [a-z0-9_-]{1,64}. */
static const char *
config_check_queue(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > CONFIG_NAME_MAX || !config_all_in(s, "_-", false))
        return "a queue name must be 1 to 64 of a-z 0-9 _ -";
    return NULL;
}

static const char *
config_check_debug(const char *s)
{
    if (!config_all_in(s, "_,", false))
        return "expected subsystem names like queue,http";
    return NULL;
}

/* An API base URL: http(s)://host[:port][/path], no query, no spaces. */
static const char *
config_check_api_base(const char *s)
{
    const char *host;
    size_t len = strlen(s);

    if (strncmp(s, "https://", 8) == 0)
        host = s + 8;
    else if (strncmp(s, "http://", 7) == 0)
        host = s + 7;
    else
        return "expected an http:// or https:// URL";
    if (len > 512 || *host == '\0' || *host == '/')
        return "expected an http:// or https:// URL with a host";
    for (; *s != '\0'; s++) {
        if (*s <= ' ' || *s > '~' || *s == '?' || *s == '#')
            return "must be a plain URL: no spaces, query or fragment";
    }
    return NULL;
}

static const char *
config_check_vk_version(const char *s)
{
    if (strlen(s) > 16 || !config_all_in(s, ".", false) ||
        strchr("0123456789", s[0]) == NULL)
        return "expected a VK API version such as 5.199";
    return NULL;
}

static const char *
config_check_mod_action(const char *s)
{
    if (strcmp(s, "hide") != 0 && strcmp(s, "delete") != 0)
        return "expected hide or delete";
    return NULL;
}

static const char *
config_check_forwarded(const char *s)
{
    if (strcmp(s, "x-forwarded-for") != 0 && strcmp(s, "forwarded") != 0)
        return "expected x-forwarded-for or forwarded";
    return NULL;
}

static const char *
config_check_nonempty(const char *s)
{
    return *s == '\0' ? "must not be empty" : NULL;
}

static const char *
config_check_kind(const char *s)
{
    for (size_t i = 0; i < nitems(config_kinds); i++) {
        if (strcmp(config_kinds[i].name, s) == 0)
            return NULL;
    }
    return "unknown kind; expected comment, reply, dm or mention";
}

/* --------------------------------------------------------------- scalars */

static const struct config_option *
config_option_find(const char *path)
{
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        if (strcmp(config_options[i].path, path) == 0)
            return &config_options[i];
    }
    return NULL;
}

static void *
config_field(struct config *cfg, size_t off)
{
    return (char *)cfg + off;
}

static const void *
config_cfield(const struct config *cfg, size_t off)
{
    return (const char *)cfg + off;
}

static void
config_store_num(void *dst, size_t size, uint64_t v)
{
    if (size == sizeof(uint64_t)) {
        memcpy(dst, &v, sizeof(v));
    } else {
        uint32_t v32 = (uint32_t)v;

        memcpy(dst, &v32, sizeof(v32));
    }
}

static const char *
config_addr_expect(const struct config_option *o)
{
    return o->off_unix ? "expected host:port, [v6]:port or unix:/path" :
        config_expect[CONFIG_T_ADDR];
}

static bool
config_host_ok(const char *host, bool bracketed)
{
    if (*host == '\0')
        return false;
    for (; *host != '\0'; host++) {
        unsigned char c = (unsigned char)*host;

        if (!(isalnum(c) || strchr(".-_%", c) != NULL ||
            (bracketed && c == ':')))
            return false;
    }
    return true;
}

static int
config_set_addr(struct config_ctx *ctx, const struct config_option *o,
    const char *text, struct config_pos at, const char *path)
{
    char *host = NULL, *unix_path = NULL, **dst;
    int port;

    if (util_parse_addr(text, &host, &port, &unix_path) == -1 ||
        (unix_path != NULL && (o->off_unix == 0 || unix_path[1] == '\0')) ||
        (host != NULL && !config_host_ok(host, text[0] == '['))) {
        config_error(ctx, at, path, "%s", config_addr_expect(o));
        goto fail;
    }
    if (host != NULL && ((uint64_t)port < o->min || (uint64_t)port > o->max)) {
        config_error(ctx, at, path, "port must be between %llu and %llu",
            (unsigned long long)o->min, (unsigned long long)o->max);
        goto fail;
    }
    dst = config_field(ctx->cfg, o->off);
    xfree(*dst);
    *dst = host;
    *(int *)config_field(ctx->cfg, o->off_port) = port;
    if (o->off_unix != 0) {
        dst = config_field(ctx->cfg, o->off_unix);
        xfree(*dst);
        *dst = unix_path;
    }
    return 0;

fail:
    xfree(host);
    xfree(unix_path);
    return -1;
}

static int
config_set_string(struct config_ctx *ctx, const struct config_option *o,
    const char *text, struct config_pos at, const char *path)
{
    const char *why;
    char **dst, *s;

    if (o->check != NULL && (why = o->check(text)) != NULL) {
        config_error(ctx, at, path, "%s", why);
        return -1;
    }
    if ((s = xstrdup(text)) == NULL) {
        config_oom(ctx, at, path);
        return -1;
    }
    dst = config_field(ctx->cfg, o->off);
    xfree(*dst);
    *dst = s;
    return 0;
}

/* Parse text as option o and store it; reports and returns -1 if bad. */
static int
config_apply(struct config_ctx *ctx, const struct config_option *o,
    const char *text, struct config_pos at, const char *path)
{
    void *dst = config_field(ctx->cfg, o->off);
    char lo[32], hi[32];
    uint64_t v = 0;
    long l;

    switch (o->type) {
    case CONFIG_T_STRING:
        return config_set_string(ctx, o, text, at, path);
    case CONFIG_T_ADDR:
        return config_set_addr(ctx, o, text, at, path);
    case CONFIG_T_BOOL:
        if (strcmp(text, "true") == 0 || strcmp(text, "True") == 0 ||
            strcmp(text, "TRUE") == 0) {
            *(bool *)dst = true;
        } else if (strcmp(text, "false") == 0 || strcmp(text, "False") == 0 ||
            strcmp(text, "FALSE") == 0) {
            *(bool *)dst = false;
        } else {
            goto expect;
        }
        return 0;
    case CONFIG_T_LEVEL:
        for (int i = LOG_LEVEL_DEBUG; i <= LOG_LEVEL_ERROR; i++) {
            if (strcmp(text, log_level_name((enum log_level)i)) == 0) {
                *(enum log_level *)dst = (enum log_level)i;
                return 0;
            }
        }
        goto expect;
    case CONFIG_T_INT:
        if (util_parse_long(text, LONG_MIN, LONG_MAX, &l) == -1)
            goto expect;
        if (l < 0)
            goto range;
        v = (uint64_t)l;
        break;
    case CONFIG_T_SIZE:
        if (util_parse_size(text, &v) == -1)
            goto expect;
        break;
    case CONFIG_T_DURATION: {
        int64_t ms;

        if (util_parse_duration_ms(text, &ms) == -1)
            goto expect;
        v = (uint64_t)ms;
        break;
    }
    }
    if (v < o->min || v > o->max)
        goto range;
    if (o->unit != 0 && v % o->unit != 0) {
        config_fmt_value(o->type, o->unit, lo, sizeof(lo));
        config_error(ctx, at, path, "must be a multiple of %s", lo);
        return -1;
    }
    config_store_num(dst, o->size, o->unit != 0 ? v / o->unit : v);
    return 0;

expect:
    config_error(ctx, at, path, "%s", config_expect[o->type]);
    return -1;
range:
    config_fmt_value(o->type, o->min, lo, sizeof(lo));
    config_fmt_value(o->type, o->max, hi, sizeof(hi));
    config_error(ctx, at, path, "must be between %s and %s", lo, hi);
    return -1;
}

static void
config_set(struct config_ctx *ctx, const struct config_option *o,
    struct fy_node *key, struct fy_node *val, const char *path)
{
    struct config_pos at = config_at(val, key);
    const char *text = config_text(val);

    if (text == NULL) {
        config_error(ctx, at, path, "%s", o->type == CONFIG_T_ADDR ?
            config_addr_expect(o) : config_expect[o->type]);
        return;
    }
    ctx->set_at[o - config_options] = at;
    config_apply(ctx, o, text, at, path);
}

/* ---------------------------------------------------------- string lists */

static void
config_strv_free(char **v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        xfree(v[i]);
    xfree(v);
}

/* Item i of a list given as a sequence, or the scalar itself (i == 0). */
static struct fy_node *
config_list_item(struct fy_node *val, size_t i)
{
    if (config_is_type(val, FYNT_SEQUENCE))
        return fy_node_sequence_get_by_index(val, (int)i);
    return val;
}

/*
 * A non-empty list of strings: a sequence of scalars or, when one_ok, a
 * single scalar. Each element must pass check (when given). On success
 * *out holds new copies. On failure reports and returns -1.
 */
static int
config_strlist(struct config_ctx *ctx, const char *path, struct fy_node *key,
    struct fy_node *val, bool one_ok, config_check_fn *check,
    const char *expect, char ***out, size_t *nout)
{
    char sub[CONFIG_PATH_MAX], **v = NULL;
    struct config_pos at;
    struct fy_node *item;
    const char *text, *why;
    size_t count, n = 0;
    int before = ctx->nerrors;

    *out = NULL;
    *nout = 0;
    if (config_is_type(val, FYNT_SEQUENCE)) {
        count = (size_t)fy_node_sequence_item_count(val);
    } else if (one_ok && config_is_type(val, FYNT_SCALAR) &&
        !config_is_null(val)) {
        count = 1;
    } else {
        config_error(ctx, config_at(val, key), path, "%s", expect);
        return -1;
    }
    if (count == 0) {
        config_error(ctx, config_at(val, key), path, "must not be empty");
        return -1;
    }
    if ((v = xcalloc(count, sizeof(*v))) == NULL) {
        config_oom(ctx, config_at(val, key), path);
        return -1;
    }
    for (size_t i = 0; i < count; i++) {
        item = config_list_item(val, i);
        at = config_at(item, key);
        if (config_is_type(val, FYNT_SEQUENCE))
            config_index(sub, sizeof(sub), path, i);
        else
            snprintf(sub, sizeof(sub), "%s", path);
        if ((text = config_text(item)) == NULL)
            config_error(ctx, at, sub, "expected a string");
        else if (check != NULL && (why = check(text)) != NULL)
            config_error(ctx, at, sub, "%s", why);
        else if ((v[n++] = xstrdup(text)) == NULL)
            config_oom(ctx, at, sub);
    }
    if (ctx->nerrors != before) {
        config_strv_free(v, n);
        return -1;
    }
    *out = v;
    *nout = n;
    return 0;
}

/* A path from the file, relative ones against the file's directory. */
static char *
config_resolve(struct config_ctx *ctx, const char *p)
{
    struct buf b;

    if (p[0] == '/')
        return xstrdup(p);
    buf_init(&b, PATH_MAX);
    if (buf_printf(&b, "%s/%s", ctx->dir, p) == -1) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static int
config_check_dir(struct config_ctx *ctx, struct config_pos at,
    const char *path, const char *dir)
{
    char q[LOG_QUOTE_MAX + 8];
    struct stat st;

    if (stat(dir, &st) == -1) {
        config_error(ctx, at, path, "%s: %s", log_quote(q, sizeof(q), dir),
            strerror(errno));
        return -1;
    }
    if (!S_ISDIR(st.st_mode)) {
        config_error(ctx, at, path, "%s: not a directory",
            log_quote(q, sizeof(q), dir));
        return -1;
    }
    return 0;
}

static void
config_parse_dirs(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    char sub[CONFIG_PATH_MAX], **dirs, *abs;
    struct config_pos at;
    size_t n;

    ctx->dirs_given = true;
    ctx->dirs_at = config_at(val, key);
    if (config_strlist(ctx, path, key, val, true, config_check_nonempty,
        "expected a list of directories", &dirs, &n) == -1)
        return;
    for (size_t i = 0; i < n; i++) {
        at = config_at(config_list_item(val, i), key);
        if (config_is_type(val, FYNT_SEQUENCE))
            config_index(sub, sizeof(sub), path, i);
        else
            snprintf(sub, sizeof(sub), "%s", path);
        if ((abs = config_resolve(ctx, dirs[i])) == NULL) {
            config_oom(ctx, at, sub);
            continue;
        }
        xfree(dirs[i]);
        dirs[i] = abs;
        config_check_dir(ctx, at, sub, abs);
    }
    config_strv_free(ctx->cfg->rules.dirs, ctx->cfg->rules.ndirs);
    ctx->cfg->rules.dirs = dirs;
    ctx->cfg->rules.ndirs = n;
}

static void
config_parse_names(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    char sub[CONFIG_PATH_MAX], **names;
    size_t n;

    if (config_strlist(ctx, path, key, val, true, config_check_queue,
        "expected a list of queue names", &names, &n) == -1)
        return;
    for (size_t j = 1; j < n; j++) {
        for (size_t i = 0; i < j; i++) {
            if (strcmp(names[i], names[j]) == 0) {
                config_index(sub, sizeof(sub), path, j);
                config_error(ctx, config_at(config_list_item(val, j), key),
                    sub, "duplicate queue name \"%s\"", names[j]);
                break;
            }
        }
    }
    config_strv_free(ctx->cfg->queue.names, ctx->cfg->queue.nnames);
    ctx->cfg->queue.names = names;
    ctx->cfg->queue.nnames = n;
}

/*
 * http.trusted_proxies, http.sources.exempt: lists of networks
 * ("192.0.2.0/24", "2001:db8::/32", or one address), possibly empty.
 */
static void
config_parse_networks(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    bool proxies = strcmp(path, "http.trusted_proxies") == 0;
    struct ratelimit_cidr **dst = proxies ? &ctx->cfg->http.trusted_proxies :
        &ctx->cfg->http.sources.exempt;
    size_t *ndst = proxies ? &ctx->cfg->http.ntrusted_proxies :
        &ctx->cfg->http.sources.nexempt;
    struct ratelimit_cidr *v = NULL;
    char sub[CONFIG_PATH_MAX], q[LOG_QUOTE_MAX + 8];
    struct fy_node *item;
    const char *text;
    size_t count;

    if (!config_is_type(val, FYNT_SEQUENCE)) {
        config_error(ctx, config_at(val, key), path,
            "expected a list of networks like [192.0.2.0/24]");
        return;
    }
    count = (size_t)fy_node_sequence_item_count(val);
    if (count > CONFIG_MAX_NETWORKS) {
        config_error(ctx, config_at(val, key), path,
            "at most %d networks", CONFIG_MAX_NETWORKS);
        return;
    }
    if (count > 0 && (v = xcalloc(count, sizeof(*v))) == NULL) {
        config_oom(ctx, config_at(val, key), path);
        return;
    }
    for (size_t i = 0; i < count; i++) {
        item = config_list_item(val, i);
        config_index(sub, sizeof(sub), path, i);
        if ((text = config_text(item)) == NULL)
            config_error(ctx, config_at(item, key), sub,
                "expected an address or a network");
        else if (ratelimit_cidr_parse(text, &v[i]) == -1)
            config_error(ctx, config_at(item, key), sub, "\"%s\" is not "
                "an address or a network like 192.0.2.0/24 or "
                "2001:db8::/32", log_quote(q, sizeof(q), text));
    }
    xfree(*dst);
    *dst = v;
    *ndst = count;
}

/* ---------------------------------------------------------------- canned */

#define CONFIG_CANNED_MAX   8192    /* bytes of one canned reply */

/* canned: a mapping of reply names to templates (desk.h). */
static void
config_parse_canned(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    struct config *cfg = ctx->cfg;
    char sub[CONFIG_PATH_MAX];
    const char *name, *text, *why;
    struct fy_node *k, *v;
    struct config_canned *c;
    void *iter = NULL;
    int count;

    if (config_is_null(val))
        return;
    if (!config_is_type(val, FYNT_MAPPING)) {
        config_error(ctx, config_at(val, key), path,
            "expected a mapping of names to reply texts");
        return;
    }
    if ((count = fy_node_mapping_item_count(val)) <= 0)
        return;
    if ((cfg->canned = xcalloc((size_t)count, sizeof(*c))) == NULL) {
        config_oom(ctx, config_at(val, key), path);
        return;
    }
    while ((name = config_map_next(ctx, path, val, &iter, &k, &v)) !=
        NULL) {
        config_join(sub, sizeof(sub), path, name);
        if (strlen(name) > CONFIG_NAME_MAX || *name == '\0' ||
            !config_all_in(name, "_-", false)) {
            config_error(ctx, config_pos_of(k), sub,
                "a canned reply name must be 1 to 64 of a-z 0-9 _ -");
        } else if ((text = config_text(v)) == NULL || *text == '\0') {
            config_error(ctx, config_at(v, k), sub,
                "expected the reply text");
        } else if (strlen(text) > CONFIG_CANNED_MAX) {
            config_error(ctx, config_at(v, k), sub,
                "longer than %d bytes", CONFIG_CANNED_MAX);
        } else if ((why = desk_template_check(text)) != NULL) {
            config_error(ctx, config_at(v, k), sub, "%s", why);
        } else {
            c = &cfg->canned[cfg->ncanned];
            if ((c->name = xstrdup(name)) == NULL ||
                (c->text = xstrdup(text)) == NULL) {
                xfree(c->name);
                config_oom(ctx, config_at(v, k), sub);
                continue;
            }
            cfg->ncanned++;
        }
    }
}

/* --------------------------------------------------------------- secrets */

enum config_secret_kind {
    CONFIG_SECRET_VALUE,    /* the value itself */
    CONFIG_SECRET_FILE,     /* a file's content, one newline stripped */
    CONFIG_SECRET_ENV,      /* an environment variable */
};

static int
config_read_secret_file(const char *file, char *out, size_t *outlen,
    const char **why)
{
    size_t n = 0;
    ssize_t r;
    int fd;

    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) == -1) {
        *why = strerror(errno);
        return -1;
    }
    while (n <= CONFIG_SECRET_MAX) {
        r = read(fd, out + n, CONFIG_SECRET_MAX + 1 - n);
        if (r == -1 && errno == EINTR)
            continue;
        if (r == -1) {
            *why = strerror(errno);
            close(fd);
            return -1;
        }
        if (r == 0)
            break;
        n += (size_t)r;
    }
    close(fd);
    if (n > CONFIG_SECRET_MAX) {
        *why = "longer than 4096 bytes";
        return -1;
    }
    if (n > 0 && out[n - 1] == '\n')
        n--;
    if (n > 0 && out[n - 1] == '\r')
        n--;
    *outlen = n;
    return 0;
}

/*
 * Fetch one secret, as its key says, into out (CONFIG_SECRET_MAX + 1
 * bytes); out is NUL-terminated. The caller wipes out. Messages name the
 * file or variable, never the secret.
 */
static int
config_secret_get(struct config_ctx *ctx, const char *path,
    enum config_secret_kind kind, struct fy_node *key, struct fy_node *val,
    char *out, size_t *outlen)
{
    struct config_pos at = config_at(val, key);
    char q[LOG_QUOTE_MAX + 8];
    const char *s, *why;
    char *file;
    size_t len = 0;

    switch (kind) {
    case CONFIG_SECRET_VALUE:
        if (!config_is_type(val, FYNT_SCALAR) || config_is_null(val) ||
            (s = fy_node_get_scalar(val, &len)) == NULL) {
            config_error(ctx, at, path, "expected a string");
            return -1;
        }
        if (len > CONFIG_SECRET_MAX) {
            config_error(ctx, at, path, "longer than 4096 bytes");
            return -1;
        }
        memcpy(out, s, len);
        break;
    case CONFIG_SECRET_FILE:
        if ((s = config_text(val)) == NULL || *s == '\0') {
            config_error(ctx, at, path, "expected a file name");
            return -1;
        }
        if ((file = config_resolve(ctx, s)) == NULL) {
            config_oom(ctx, at, path);
            return -1;
        }
        log_quote(q, sizeof(q), file);
        if (config_read_secret_file(file, out, &len, &why) == -1) {
            xfree(file);
            crypto_wipe(out, CONFIG_SECRET_MAX + 1);
            config_error(ctx, at, path, "%s: %s", q, why);
            return -1;
        }
        xfree(file);
        break;
    case CONFIG_SECRET_ENV:
        if ((s = config_text(val)) == NULL || *s == '\0') {
            config_error(ctx, at, path, "expected a variable name");
            return -1;
        }
        log_quote(q, sizeof(q), s);
        if ((s = getenv(s)) == NULL) {
            config_error(ctx, at, path, "variable %s is not set", q);
            return -1;
        }
        if ((len = strlen(s)) > CONFIG_SECRET_MAX) {
            config_error(ctx, at, path, "variable %s is longer than 4096 "
                "bytes", q);
            return -1;
        }
        memcpy(out, s, len);
        break;
    }
    out[len] = '\0';
    if (len == 0 || memchr(out, '\0', len) != NULL) {
        crypto_wipe(out, CONFIG_SECRET_MAX + 1);
        config_error(ctx, at, path, len == 0 ? "is empty" :
            "contains a NUL byte");
        return -1;
    }
    *outlen = len;
    return 0;
}

/* redis.password*: stashed during the walk, read in config_finish. */
static void
config_parse_password(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    const char *k = strrchr(path, '.') + 1;

    for (int i = 0; i < CONFIG_PW_COUNT_; i++) {
        if (strcmp(k, config_pw_keys[i]) == 0) {
            ctx->pw_key[i] = key;
            ctx->pw_val[i] = val;
        }
    }
}

static void
config_finish_password(struct config_ctx *ctx)
{
    static const enum config_secret_kind kinds[CONFIG_PW_COUNT_] = {
        CONFIG_SECRET_VALUE, CONFIG_SECRET_FILE, CONFIG_SECRET_ENV,
    };
    char sub[CONFIG_PATH_MAX], secret[CONFIG_SECRET_MAX + 1];
    int given = -1;
    size_t len;

    for (int i = 0; i < CONFIG_PW_COUNT_; i++) {
        if (ctx->pw_key[i] == NULL)
            continue;
        config_join(sub, sizeof(sub), "redis", config_pw_keys[i]);
        if (given != -1) {
            config_error(ctx, config_pos_of(ctx->pw_key[i]), sub,
                "give only one of password, password_file, password_env");
            return;
        }
        given = i;
    }
    if (given == -1)
        return;
    config_join(sub, sizeof(sub), "redis", config_pw_keys[given]);
    if (config_secret_get(ctx, sub, kinds[given], ctx->pw_key[given],
        ctx->pw_val[given], secret, &len) == 0) {
        crypto_free_secret(ctx->cfg->redis.password);
        if ((ctx->cfg->redis.password = xstrndup(secret, len)) == NULL)
            config_oom(ctx, config_pos_of(ctx->pw_key[given]), sub);
    }
    crypto_wipe(secret, sizeof(secret));
}

/* ---------------------------------------------------------------- tokens */

enum {
    CONFIG_TOK_NAME,
    CONFIG_TOK_ROLE,
    CONFIG_TOK_TOKEN,
    CONFIG_TOK_FILE,
    CONFIG_TOK_ENV,
    CONFIG_TOK_SHA256,
    CONFIG_TOK_COUNT_,
};

static const char *const config_token_keys[CONFIG_TOK_COUNT_ + 1] = {
    "name", "role", "token", "token_file", "token_env", "token_sha256", NULL,
};

static int
config_role_from_name(const char *s)
{
    for (size_t i = 0; i < nitems(config_role_names); i++) {
        if (strcmp(config_role_names[i], s) == 0)
            return (int)i;
    }
    return -1;
}

/* Hash the one secret a token entry gives into t->sha256. */
static void
config_token_secret(struct config_ctx *ctx, const char *path,
    struct fy_node **keys, struct fy_node **vals, struct config_token *t)
{
    char sub[CONFIG_PATH_MAX], secret[CONFIG_SECRET_MAX + 1];
    int given = -1;
    const char *hex;
    size_t len;

    for (int i = CONFIG_TOK_TOKEN; i <= CONFIG_TOK_SHA256; i++) {
        if (keys[i] == NULL)
            continue;
        if (given != -1) {
            config_join(sub, sizeof(sub), path, config_token_keys[i]);
            config_error(ctx, config_pos_of(keys[i]), sub, "give only one "
                "of token, token_file, token_env, token_sha256");
            return;
        }
        given = i;
    }
    if (given == -1) {
        config_error(ctx, config_pos_of(keys[CONFIG_TOK_NAME] ?
            keys[CONFIG_TOK_NAME] : keys[CONFIG_TOK_ROLE]), path,
            "one of token, token_file, token_env, token_sha256 is required");
        return;
    }
    config_join(sub, sizeof(sub), path, config_token_keys[given]);
    if (given == CONFIG_TOK_SHA256) {
        hex = config_text(vals[given]);
        if (hex == NULL || crypto_unhex(hex, t->sha256, CRYPTO_SHA256_LEN)
            == -1)
            config_error(ctx, config_at(vals[given], keys[given]), sub,
                "expected 64 hex digits");
        return;
    }
    if (config_secret_get(ctx, sub, given == CONFIG_TOK_TOKEN ?
        CONFIG_SECRET_VALUE : given == CONFIG_TOK_FILE ? CONFIG_SECRET_FILE :
        CONFIG_SECRET_ENV, keys[given], vals[given], secret, &len) == 0)
        crypto_sha256(secret, len, t->sha256);
    crypto_wipe(secret, sizeof(secret));
}

/* One tokens[] entry into t; -1 (and t untouched) when it is bad. */
static int
config_parse_token(struct config_ctx *ctx, const char *path,
    struct fy_node *item, struct config_token *t)
{
    struct fy_node *keys[CONFIG_TOK_COUNT_] = { 0 };
    struct fy_node *vals[CONFIG_TOK_COUNT_] = { 0 };
    struct config_token tok;
    char sub[CONFIG_PATH_MAX], q[LOG_QUOTE_MAX + 8];
    const char *name = NULL, *role, *why;
    int before = ctx->nerrors, r = -1;

    memset(&tok, 0, sizeof(tok));
    if (!config_is_type(item, FYNT_MAPPING)) {
        config_error(ctx, config_pos_of(item), path,
            "expected a mapping with name, role and token");
        return -1;
    }
    config_fields(ctx, path, item, config_token_keys, keys, vals);

    config_join(sub, sizeof(sub), path, "name");
    if (keys[CONFIG_TOK_NAME] == NULL)
        config_error(ctx, config_pos_of(item), sub, "missing");
    else if ((name = config_text(vals[CONFIG_TOK_NAME])) == NULL)
        config_error(ctx, config_at(vals[CONFIG_TOK_NAME],
            keys[CONFIG_TOK_NAME]), sub, "expected a string");
    else if ((why = config_check_name(name)) != NULL)
        config_error(ctx, config_at(vals[CONFIG_TOK_NAME],
            keys[CONFIG_TOK_NAME]), sub, "%s", why);

    config_join(sub, sizeof(sub), path, "role");
    if (keys[CONFIG_TOK_ROLE] == NULL) {
        config_error(ctx, config_pos_of(item), sub, "missing");
    } else if ((role = config_text(vals[CONFIG_TOK_ROLE])) == NULL ||
        (r = config_role_from_name(role)) == -1) {
        config_error(ctx, config_at(vals[CONFIG_TOK_ROLE],
            keys[CONFIG_TOK_ROLE]), sub, "unknown role \"%s\"; expected "
            "ingest, agent, lead or admin",
            log_quote(q, sizeof(q), role ? role : ""));
    }

    config_token_secret(ctx, path, keys, vals, &tok);
    if (ctx->nerrors != before)
        goto fail;
    tok.role = (enum config_role)r;
    if ((tok.name = xstrdup(name)) == NULL) {
        config_oom(ctx, config_pos_of(item), path);
        goto fail;
    }
    *t = tok;
    return 0;

fail:
    crypto_wipe(&tok, sizeof(tok));
    return -1;
}

static void
config_parse_tokens(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    struct config *cfg = ctx->cfg;
    struct config_token *t;
    struct fy_node **items = NULL;
    char sub[CONFIG_PATH_MAX], field[CONFIG_PATH_MAX];
    size_t count;

    if (config_is_null(val))
        return;
    if (!config_is_type(val, FYNT_SEQUENCE)) {
        config_error(ctx, config_at(val, key), path,
            "expected a list of tokens");
        return;
    }
    if ((count = (size_t)fy_node_sequence_item_count(val)) == 0)
        return;
    if ((cfg->tokens = xcalloc(count, sizeof(*cfg->tokens))) == NULL ||
        (items = xcalloc(count, sizeof(*items))) == NULL) {
        config_oom(ctx, config_at(val, key), path);
        goto out;
    }
    for (size_t i = 0; i < count; i++) {
        struct fy_node *item = fy_node_sequence_get_by_index(val, (int)i);

        config_index(sub, sizeof(sub), path, i);
        t = &cfg->tokens[cfg->ntokens];
        if (config_parse_token(ctx, sub, item, t) == -1)
            continue;
        items[cfg->ntokens++] = item;
        for (size_t j = 0; j + 1 < cfg->ntokens; j++) {
            if (strcmp(cfg->tokens[j].name, t->name) == 0) {
                config_join(field, sizeof(field), sub, "name");
                config_error(ctx, config_pos_of(item), field,
                    "duplicate token name \"%s\"", t->name);
                break;
            }
            if (crypto_equal(cfg->tokens[j].sha256, t->sha256,
                CRYPTO_SHA256_LEN)) {
                config_error(ctx, config_pos_of(item), sub,
                    "same token as \"%s\"", cfg->tokens[j].name);
                break;
            }
        }
    }

out:
    xfree(items);
}

/* ---------------------------------------------------------------- routes */

enum {
    CONFIG_ROUTE_QUEUE,
    CONFIG_ROUTE_CATEGORY,
    CONFIG_ROUTE_PLATFORM,
    CONFIG_ROUTE_ACCOUNT,
    CONFIG_ROUTE_LANG,
    CONFIG_ROUTE_KIND,
    CONFIG_ROUTE_MIN_SCORE,
    CONFIG_ROUTE_COUNT_,
};

static const char *const config_route_keys[CONFIG_ROUTE_COUNT_ + 1] = {
    "queue", "category", "platform", "account", "lang", "kind", "min_score",
    NULL,
};

static bool
config_has_queue(const struct config *cfg, const char *q)
{
    for (size_t i = 0; i < cfg->queue.nnames; i++) {
        if (strcmp(cfg->queue.names[i], q) == 0)
            return true;
    }
    return false;
}

static void
config_route_kinds(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val, struct route_rule *r)
{
    char **names;
    size_t n;

    if (config_strlist(ctx, path, key, val, true, config_check_kind,
        "expected a kind or a list of kinds", &names, &n) == -1)
        return;
    for (size_t i = 0; i < n; i++) {
        for (size_t k = 0; k < nitems(config_kinds); k++) {
            if (strcmp(config_kinds[k].name, names[i]) == 0)
                r->kinds |= 1u << config_kinds[k].kind;
        }
    }
    config_strv_free(names, n);
}

static void
config_route_score(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val, struct route_rule *r)
{
    const char *text = config_text(val);
    char *end;
    double d;

    if (text == NULL || *text == '\0' || isspace((unsigned char)*text))
        goto bad;
    errno = 0;
    d = strtod(text, &end);
    if (errno != 0 || *end != '\0' || !isfinite(d) || d < 0)
        goto bad;
    r->min_score = d;
    return;

bad:
    config_error(ctx, config_at(val, key), path,
        "expected a number, 0 or more");
}

/* One routes[] entry into r (already zeroed and owned by the table). */
static void
config_parse_route(struct config_ctx *ctx, const char *path,
    struct fy_node *item, struct route_rule *r)
{
    struct fy_node *keys[CONFIG_ROUTE_COUNT_] = { 0 };
    struct fy_node *vals[CONFIG_ROUTE_COUNT_] = { 0 };
    char sub[CONFIG_PATH_MAX], q[LOG_QUOTE_MAX + 8];
    struct {
        int idx;
        char ***list;
        size_t *n;
    } lists[] = {
        { CONFIG_ROUTE_CATEGORY, &r->categories, &r->ncategories },
        { CONFIG_ROUTE_PLATFORM, &r->platforms, &r->nplatforms },
        { CONFIG_ROUTE_ACCOUNT, &r->accounts, &r->naccounts },
        { CONFIG_ROUTE_LANG, &r->langs, &r->nlangs },
    };
    const char *queue;
    int i;

    if (!config_is_type(item, FYNT_MAPPING)) {
        config_error(ctx, config_pos_of(item), path,
            "expected a mapping with queue and conditions");
        return;
    }
    config_fields(ctx, path, item, config_route_keys, keys, vals);

    i = CONFIG_ROUTE_QUEUE;
    config_join(sub, sizeof(sub), path, "queue");
    if (keys[i] == NULL) {
        config_error(ctx, config_pos_of(item), sub, "missing");
    } else if ((queue = config_text(vals[i])) == NULL) {
        config_error(ctx, config_at(vals[i], keys[i]), sub,
            "expected a queue name");
    } else if (!config_has_queue(ctx->cfg, queue)) {
        config_error(ctx, config_at(vals[i], keys[i]), sub,
            "queue \"%s\" is not in queues.names",
            log_quote(q, sizeof(q), queue));
    } else if ((r->queue = xstrdup(queue)) == NULL) {
        config_oom(ctx, config_at(vals[i], keys[i]), sub);
    }

    for (size_t l = 0; l < nitems(lists); l++) {
        i = lists[l].idx;
        if (keys[i] == NULL)
            continue;
        config_join(sub, sizeof(sub), path, config_route_keys[i]);
        config_strlist(ctx, sub, keys[i], vals[i], true,
            config_check_nonempty, "expected a string or a list of strings",
            lists[l].list, lists[l].n);
    }
    i = CONFIG_ROUTE_KIND;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "kind");
        config_route_kinds(ctx, sub, keys[i], vals[i], r);
    }
    i = CONFIG_ROUTE_MIN_SCORE;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "min_score");
        config_route_score(ctx, sub, keys[i], vals[i], r);
    }
}

/* Stashed: routes name queues, which may come later in the file. */
static void
config_parse_routes(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    (void)path;
    ctx->routes_key = key;
    ctx->routes_val = val;
}

static void
config_finish_routes(struct config_ctx *ctx)
{
    struct route_table *t = &ctx->cfg->routes;
    struct fy_node *val = ctx->routes_val;
    char sub[CONFIG_PATH_MAX];
    size_t count;

    if (config_is_null(val))
        return;
    if (!config_is_type(val, FYNT_SEQUENCE)) {
        config_error(ctx, config_at(val, ctx->routes_key), "routes",
            "expected a list of routes");
        return;
    }
    if ((count = (size_t)fy_node_sequence_item_count(val)) == 0)
        return;
    if ((t->rules = xcalloc(count, sizeof(*t->rules))) == NULL) {
        config_oom(ctx, config_at(val, ctx->routes_key), "routes");
        return;
    }
    /* Counted before filling, so route_table_clear frees partial rules. */
    for (size_t i = 0; i < count; i++) {
        config_index(sub, sizeof(sub), "routes", i);
        config_parse_route(ctx, sub, fy_node_sequence_get_by_index(val,
            (int)i), &t->rules[t->nrules++]);
    }
}

/* -------------------------------------------------------------- accounts */

#define CONFIG_P_FACEBOOK   (1u << 0)
#define CONFIG_P_INSTAGRAM  (1u << 1)
#define CONFIG_P_VK         (1u << 2)
#define CONFIG_P_TELEGRAM   (1u << 3)
#define CONFIG_P_YOUTUBE    (1u << 4)
#define CONFIG_P_META       (CONFIG_P_FACEBOOK | CONFIG_P_INSTAGRAM)

/* Longest id, and the Telegram limit on a webhook's secret_token. */
#define CONFIG_ACCOUNT_ID_MAX   64
#define CONFIG_TG_SECRET_MAX    256

static const struct {
    const char *name;           /* a CONNECTOR_* name */
    unsigned bit;
} config_platforms[] = {
    { CONNECTOR_FACEBOOK, CONFIG_P_FACEBOOK },
    { CONNECTOR_INSTAGRAM, CONFIG_P_INSTAGRAM },
    { CONNECTOR_VK, CONFIG_P_VK },
    { CONNECTOR_TELEGRAM, CONFIG_P_TELEGRAM },
    { CONNECTOR_YOUTUBE, CONFIG_P_YOUTUBE },
};

static config_check_fn config_check_tg_secret;
static config_check_fn config_check_bot_token;

/*
 * The secrets an account may give, each as <key>, <key>_file or
 * <key>_env (exactly as the tokens are given), and the platforms that use
 * it. A key of another platform is an error, not silently ignored: a
 * secret that is never checked would look like protection.
 */
static const struct config_acct_secret {
    const char *key;
    unsigned platforms;
    bool required;
    size_t off;                 /* the char * in struct config_account */
    config_check_fn *check;     /* never quotes the value */
} config_acct_secrets[] = {
    { "app_secret", CONFIG_P_META, true,
      offsetof(struct config_account, app_secret), NULL },
    { "verify_token", CONFIG_P_META, false,
      offsetof(struct config_account, verify_token), NULL },
    { "confirmation", CONFIG_P_VK, false,
      offsetof(struct config_account, vk_confirmation), NULL },
    { "secret", CONFIG_P_VK, false,
      offsetof(struct config_account, vk_secret), NULL },
    { "webhook_secret", CONFIG_P_TELEGRAM, false,
      offsetof(struct config_account, webhook_secret),
      config_check_tg_secret },
    { "bot_token", CONFIG_P_TELEGRAM, false,
      offsetof(struct config_account, bot_token), config_check_bot_token },
    { "api_key", CONFIG_P_YOUTUBE, false,
      offsetof(struct config_account, api_key), NULL },
    { "oauth_token", CONFIG_P_YOUTUBE, false,
      offsetof(struct config_account, oauth_token), NULL },
    { "access_token", CONFIG_P_META | CONFIG_P_VK, false,
      offsetof(struct config_account, access_token), NULL },
    { "user_token", CONFIG_P_VK, false,
      offsetof(struct config_account, user_token), NULL },
};

#define CONFIG_ACCT_NSECRETS nitems(config_acct_secrets)

/* Key indexes: the plain keys, then three per secret. */
enum {
    CONFIG_ACCT_PLATFORM,
    CONFIG_ACCT_ID,
    CONFIG_ACCT_NAME,
    CONFIG_ACCT_SELF_IDS,
    CONFIG_ACCT_MODE,           /* telegram: webhook or poll */
    CONFIG_ACCT_CHANNEL,        /* youtube: channel_threads */
    CONFIG_ACCT_VIDEOS,         /* youtube: video_ids */
    CONFIG_ACCT_MODERATE,       /* categories that trigger moderation */
    CONFIG_ACCT_MOD_ACTION,     /* moderate_action */
    CONFIG_ACCT_DRY_RUN,
    CONFIG_ACCT_SECRET0,
};

#define CONFIG_ACCT_NKEYS (CONFIG_ACCT_SECRET0 + 3 * CONFIG_ACCT_NSECRETS)

static const char *const config_acct_plain[CONFIG_ACCT_SECRET0] = {
    "platform", "id", "name", "self_ids", "mode", "channel_threads",
    "video_ids", "moderate", "moderate_action", "dry_run",
};
static const char *const config_acct_forms[3] = { "", "_file", "_env" };
static const enum config_secret_kind config_acct_kinds[3] = {
    CONFIG_SECRET_VALUE, CONFIG_SECRET_FILE, CONFIG_SECRET_ENV,
};

/* Telegram allows 1-256 of A-Z a-z 0-9 _ - in setWebhook's secret_token. */
static const char *
config_check_tg_secret(const char *s)
{
    size_t len = strlen(s);

    if (len > CONFIG_TG_SECRET_MAX || !config_all_in(s, "_-", true))
        return "must be 1 to 256 of A-Z a-z 0-9 _ - (Telegram's rule)";
    return NULL;
}

/* "<bot id>:<key>", as BotFather gives it. */
static const char *
config_check_bot_token(const char *s)
{
    const char *colon = strchr(s, ':');

    if (colon == NULL || colon == s || colon[1] == '\0' ||
        strspn(s, "0123456789") != (size_t)(colon - s) ||
        strspn(colon + 1, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
        "wxyz0123456789_-") != strlen(colon + 1))
        return "expected <bot id>:<key>, as BotFather gives it";
    return NULL;
}

/* An author id as the platforms write them: printable, no spaces. */
static const char *
config_check_self_id(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > ITEM_NATIVE_ID_MAX)
        return "must be 1 to 256 printable characters without spaces";
    for (; *s != '\0'; s++) {
        if (*s <= ' ' || *s > '~')
            return "must be 1 to 256 printable characters without spaces";
    }
    return NULL;
}

/* Our own id: digits everywhere but YouTube, whose ids are "UC...". */
static const char *
config_check_account_id(unsigned platform, const char *s)
{
    size_t len = strlen(s);

    if (platform == CONFIG_P_YOUTUBE) {
        if (len == 0 || len > CONFIG_ACCOUNT_ID_MAX ||
            !config_all_in(s, "_-", true))
            return "must be 1 to 64 of A-Z a-z 0-9 _ - (the channel id)";
        return NULL;
    }
    if (len == 0 || len > 20 || strspn(s, "0123456789") != len ||
        s[0] == '0')
        return "must be a positive whole number of at most 20 digits";
    return NULL;
}

static int
config_acct_key_find(const char *k)
{
    size_t klen = strlen(k), n;

    for (int i = 0; i < CONFIG_ACCT_SECRET0; i++) {
        if (strcmp(k, config_acct_plain[i]) == 0)
            return i;
    }
    for (size_t i = 0; i < CONFIG_ACCT_NSECRETS; i++) {
        n = strlen(config_acct_secrets[i].key);
        if (klen < n || memcmp(k, config_acct_secrets[i].key, n) != 0)
            continue;
        for (int f = 0; f < 3; f++) {
            if (strcmp(k + n, config_acct_forms[f]) == 0)
                return CONFIG_ACCT_SECRET0 + 3 * (int)i + f;
        }
    }
    return -1;
}

static const char *
config_platform_names(unsigned mask, char *out, size_t outlen)
{
    size_t o = 0;

    out[0] = '\0';
    for (size_t i = 0; i < nitems(config_platforms); i++) {
        int n;

        if ((mask & config_platforms[i].bit) == 0)
            continue;
        n = snprintf(out + o, outlen - o, "%s%s", o ? " and " : "",
            config_platforms[i].name);
        if (n < 0 || (size_t)n >= outlen - o)
            break;
        o += (size_t)n;
    }
    return out;
}

/* One secret of an account: which form was given, fetched and checked. */
static void
config_account_secret(struct config_ctx *ctx, const char *path,
    struct fy_node *item, struct fy_node **keys, struct fy_node **vals,
    unsigned platform, size_t si, struct config_account *a)
{
    const struct config_acct_secret *s = &config_acct_secrets[si];
    char sub[CONFIG_PATH_MAX], k[64], names[96];
    char secret[CONFIG_SECRET_MAX + 1];
    int base = CONFIG_ACCT_SECRET0 + 3 * (int)si, given = -1;
    const char *why;
    char **dst;
    size_t len;

    for (int f = 0; f < 3; f++) {
        if (keys[base + f] == NULL)
            continue;
        snprintf(k, sizeof(k), "%s%s", s->key, config_acct_forms[f]);
        config_join(sub, sizeof(sub), path, k);
        if (platform != 0 && (s->platforms & platform) == 0) {
            config_error(ctx, config_pos_of(keys[base + f]), sub,
                "only for %s accounts",
                config_platform_names(s->platforms, names, sizeof(names)));
            return;
        }
        if (given != -1) {
            config_error(ctx, config_pos_of(keys[base + f]), sub,
                "give only one of %s, %s_file, %s_env", s->key, s->key,
                s->key);
            return;
        }
        given = f;
    }
    if (given == -1) {
        if (s->required && (s->platforms & platform) != 0) {
            config_join(sub, sizeof(sub), path, s->key);
            config_error(ctx, config_pos_of(item), sub, "missing (%s "
                "accounts need it)", config_platform_names(platform, names,
                sizeof(names)));
        }
        return;
    }
    snprintf(k, sizeof(k), "%s%s", s->key, config_acct_forms[given]);
    config_join(sub, sizeof(sub), path, k);
    if (config_secret_get(ctx, sub, config_acct_kinds[given],
        keys[base + given], vals[base + given], secret, &len) == -1)
        goto out;
    if (s->check != NULL && (why = s->check(secret)) != NULL) {
        config_error(ctx, config_at(vals[base + given], keys[base + given]),
            sub, "%s", why);
        goto out;
    }
    /* The number before ':' in a bot token is the bot's own id. */
    if (s->off == offsetof(struct config_account, bot_token) &&
        a->id != NULL && (strlen(a->id) != strcspn(secret, ":") ||
        strncmp(a->id, secret, strlen(a->id)) != 0)) {
        config_error(ctx, config_at(vals[base + given], keys[base + given]),
            sub, "is the token of another bot: the number before ':' must "
            "equal id");
        goto out;
    }
    dst = (char **)((char *)a + s->off);
    crypto_free_secret(*dst);
    if ((*dst = xstrndup(secret, len)) == NULL)
        config_oom(ctx, config_pos_of(keys[base + given]), sub);
out:
    crypto_wipe(secret, sizeof(secret));
}

/* A YouTube video id: 1 to 64 of A-Z a-z 0-9 _ - (they are 11 today). */
static const char *
config_check_video_id(const char *s)
{
    size_t len = strlen(s);

    if (len == 0 || len > CONFIG_ACCOUNT_ID_MAX ||
        !config_all_in(s, "_-", true))
        return "must be a video id: 1 to 64 of A-Z a-z 0-9 _ -";
    return NULL;
}

/*
 * mode, channel_threads, video_ids: which accounts are polled, and what.
 * Runs after the secrets, which decide the telegram default.
 */
static void
config_account_poll(struct config_ctx *ctx, const char *path,
    struct fy_node *item, struct fy_node **keys, struct fy_node **vals,
    unsigned platform, struct config_account *a)
{
    static const struct {
        int key;
        unsigned platforms;
    } only[] = {
        { CONFIG_ACCT_MODE, CONFIG_P_TELEGRAM },
        { CONFIG_ACCT_CHANNEL, CONFIG_P_YOUTUBE },
        { CONFIG_ACCT_VIDEOS, CONFIG_P_YOUTUBE },
    };
    char sub[CONFIG_PATH_MAX], names[96];
    const char *text;
    int i;

    for (size_t k = 0; k < nitems(only); k++) {
        i = only[k].key;
        if (keys[i] == NULL || platform == 0 ||
            (only[k].platforms & platform) != 0)
            continue;
        config_join(sub, sizeof(sub), path, config_acct_plain[i]);
        config_error(ctx, config_pos_of(keys[i]), sub, "only for %s "
            "accounts", config_platform_names(only[k].platforms, names,
            sizeof(names)));
        return;
    }
    if (platform == CONFIG_P_TELEGRAM) {
        i = CONFIG_ACCT_MODE;
        config_join(sub, sizeof(sub), path, "mode");
        if (keys[i] == NULL) {
            a->poll = a->webhook_secret == NULL && a->bot_token != NULL;
        } else if ((text = config_text(vals[i])) == NULL ||
            (strcmp(text, "poll") != 0 && strcmp(text, "webhook") != 0)) {
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "expected webhook or poll");
        } else if (strcmp(text, "poll") == 0) {
            a->poll = true;
            if (a->bot_token == NULL)
                config_error(ctx, config_at(vals[i], keys[i]), sub,
                    "poll needs bot_token");
        } else if (a->webhook_secret == NULL) {
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "webhook needs webhook_secret");
        }
    }
    if (platform != CONFIG_P_YOUTUBE)
        return;
    a->poll = a->api_key != NULL || a->oauth_token != NULL;
    a->poll_channel = true;
    i = CONFIG_ACCT_CHANNEL;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "channel_threads");
        text = config_text(vals[i]);
        if (text != NULL && strcmp(text, "true") == 0)
            a->poll_channel = true;
        else if (text != NULL && strcmp(text, "false") == 0)
            a->poll_channel = false;
        else
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "expected true or false");
    }
    i = CONFIG_ACCT_VIDEOS;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "video_ids");
        config_strlist(ctx, sub, keys[i], vals[i], true,
            config_check_video_id, "expected a video id or a list of them",
            &a->video_ids, &a->nvideo_ids);
    }
    if (!a->poll_channel && a->nvideo_ids == 0) {
        config_join(sub, sizeof(sub), path, "channel_threads");
        config_error(ctx, config_pos_of(keys[CONFIG_ACCT_CHANNEL] ?
            keys[CONFIG_ACCT_CHANNEL] : item), sub,
            "false with no video_ids leaves nothing to poll");
    }
}

/* A list of categories, or [] for none (a list config_strlist refuses). */
static void
config_categories(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val, char ***out, size_t *n)
{
    if (config_is_type(val, FYNT_SEQUENCE) &&
        fy_node_sequence_item_count(val) == 0)
        return;
    config_strlist(ctx, path, key, val, true, config_check_name,
        "expected a category or a list of them", out, n);
}

/* moderate, moderate_action, dry_run: this account's moderation. */
static void
config_account_moderation(struct config_ctx *ctx, const char *path,
    struct fy_node **keys, struct fy_node **vals, unsigned platform,
    struct config_account *a)
{
    char sub[CONFIG_PATH_MAX];
    const char *text, *why;
    int i;

    i = CONFIG_ACCT_MODERATE;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "moderate");
        a->moderate_set = true;
        config_categories(ctx, sub, keys[i], vals[i], &a->moderate,
            &a->nmoderate);
    }
    i = CONFIG_ACCT_MOD_ACTION;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "moderate_action");
        if ((text = config_text(vals[i])) == NULL ||
            (why = config_check_mod_action(text)) != NULL)
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "expected hide or delete");
        else if (platform == CONFIG_P_TELEGRAM && strcmp(text, "hide") == 0)
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "telegram messages cannot be hidden, only deleted");
        else if ((a->moderate_action = xstrdup(text)) == NULL)
            config_oom(ctx, config_at(vals[i], keys[i]), sub);
    }
    i = CONFIG_ACCT_DRY_RUN;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "dry_run");
        text = config_text(vals[i]);
        a->dry_run_set = true;
        if (text != NULL && strcmp(text, "true") == 0)
            a->dry_run = true;
        else if (text == NULL || strcmp(text, "false") != 0)
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "expected true or false");
    }
}

static void
config_parse_moderation(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    struct config *cfg = ctx->cfg;

    config_strv_free(cfg->moderation.categories, cfg->moderation.ncategories);
    cfg->moderation.categories = NULL;
    cfg->moderation.ncategories = 0;
    config_categories(ctx, path, key, val, &cfg->moderation.categories,
        &cfg->moderation.ncategories);
}

/* One accounts[] entry into a (zeroed, owned by the config). */
static void
config_parse_account(struct config_ctx *ctx, const char *path,
    struct fy_node *item, struct config_account *a)
{
    struct fy_node *keys[CONFIG_ACCT_NKEYS] = { 0 };
    struct fy_node *vals[CONFIG_ACCT_NKEYS] = { 0 };
    char sub[CONFIG_PATH_MAX], q[LOG_QUOTE_MAX + 8];
    struct fy_node *key, *val;
    const char *k, *text, *why;
    unsigned platform = 0;
    void *iter = NULL;
    int i;

    if (!config_is_type(item, FYNT_MAPPING)) {
        config_error(ctx, config_pos_of(item), path,
            "expected a mapping with platform and id");
        return;
    }
    while ((k = config_map_next(ctx, path, item, &iter, &key, &val)) !=
        NULL) {
        if ((i = config_acct_key_find(k)) == -1) {
            config_join(sub, sizeof(sub), path, k);
            config_error(ctx, config_pos_of(key), sub, "unknown key");
            continue;
        }
        keys[i] = key;
        vals[i] = val;
    }

    i = CONFIG_ACCT_PLATFORM;
    config_join(sub, sizeof(sub), path, "platform");
    if (keys[i] == NULL) {
        config_error(ctx, config_pos_of(item), sub, "missing");
    } else {
        text = config_text(vals[i]);
        for (size_t p = 0; text != NULL && p < nitems(config_platforms);
            p++) {
            if (strcmp(text, config_platforms[p].name) == 0) {
                a->platform = config_platforms[p].name;
                platform = config_platforms[p].bit;
            }
        }
        if (platform == 0)
            config_error(ctx, config_at(vals[i], keys[i]), sub,
                "unknown platform \"%s\"; expected facebook, instagram, "
                "vk, telegram or youtube",
                log_quote(q, sizeof(q), text ? text : ""));
    }

    i = CONFIG_ACCT_ID;
    config_join(sub, sizeof(sub), path, "id");
    if (keys[i] == NULL)
        config_error(ctx, config_pos_of(item), sub, "missing");
    else if ((text = config_text(vals[i])) == NULL)
        config_error(ctx, config_at(vals[i], keys[i]), sub,
            "expected a string or a number");
    else if (platform != 0 &&
        (why = config_check_account_id(platform, text)) != NULL)
        config_error(ctx, config_at(vals[i], keys[i]), sub, "%s", why);
    else if ((a->id = xstrdup(text)) == NULL)
        config_oom(ctx, config_at(vals[i], keys[i]), sub);

    i = CONFIG_ACCT_NAME;
    config_join(sub, sizeof(sub), path, "name");
    if (keys[i] == NULL)
        ;
    else if ((text = config_text(vals[i])) == NULL)
        config_error(ctx, config_at(vals[i], keys[i]), sub,
            "expected a string");
    else if ((why = config_check_name(text)) != NULL)
        config_error(ctx, config_at(vals[i], keys[i]), sub, "%s", why);
    else if ((a->name = xstrdup(text)) == NULL)
        config_oom(ctx, config_at(vals[i], keys[i]), sub);

    i = CONFIG_ACCT_SELF_IDS;
    if (keys[i] != NULL) {
        config_join(sub, sizeof(sub), path, "self_ids");
        config_strlist(ctx, sub, keys[i], vals[i], true, config_check_self_id,
            "expected an id or a list of ids", &a->self_ids, &a->nself_ids);
    }

    for (size_t s = 0; s < CONFIG_ACCT_NSECRETS; s++)
        config_account_secret(ctx, path, item, keys, vals, platform, s, a);
    config_account_poll(ctx, path, item, keys, vals, platform, a);
    config_account_moderation(ctx, path, keys, vals, platform, a);
}

static void
config_parse_accounts(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    struct config *cfg = ctx->cfg;
    struct config_account *a, *b;
    char sub[CONFIG_PATH_MAX], field[CONFIG_PATH_MAX];
    struct fy_node *item;
    size_t count;

    if (config_is_null(val))
        return;
    if (!config_is_type(val, FYNT_SEQUENCE)) {
        config_error(ctx, config_at(val, key), path,
            "expected a list of accounts");
        return;
    }
    if ((count = (size_t)fy_node_sequence_item_count(val)) == 0)
        return;
    if ((cfg->accounts = xcalloc(count, sizeof(*cfg->accounts))) == NULL) {
        config_oom(ctx, config_at(val, key), path);
        return;
    }
    /* Counted before filling, so config_free frees a partial account. */
    for (size_t i = 0; i < count; i++) {
        item = fy_node_sequence_get_by_index(val, (int)i);
        config_index(sub, sizeof(sub), path, i);
        a = &cfg->accounts[cfg->naccounts++];
        config_parse_account(ctx, sub, item, a);
        for (size_t j = 0; j + 1 < cfg->naccounts; j++) {
            b = &cfg->accounts[j];
            if (a->platform != NULL && a->id != NULL &&
                b->platform == a->platform && b->id != NULL &&
                strcmp(a->id, b->id) == 0) {
                config_error(ctx, config_pos_of(item), sub,
                    "duplicate account %s:%s (as accounts[%zu])",
                    a->platform, a->id, j);
                break;
            }
            if (a->name != NULL && b->name != NULL &&
                strcmp(a->name, b->name) == 0) {
                config_join(field, sizeof(field), sub, "name");
                config_error(ctx, config_pos_of(item), field,
                    "duplicate account name \"%s\"", a->name);
                break;
            }
        }
    }
}

/* The connectors' view of the accounts, built once nothing can fail. */
static void
config_finish_accounts(struct config_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    struct connector_account *c;
    struct config_account *a;

    if (cfg->naccounts == 0 || ctx->nerrors != 0)
        return;
    if ((cfg->conn_accounts = xcalloc(cfg->naccounts,
        sizeof(*cfg->conn_accounts))) == NULL) {
        config_oom(ctx, (struct config_pos){ 0, 0 }, "accounts");
        return;
    }
    for (size_t i = 0; i < cfg->naccounts; i++) {
        a = &cfg->accounts[i];
        c = &cfg->conn_accounts[i];
        c->platform = a->platform;
        c->id = a->id;
        c->app_secret = a->app_secret;
        c->verify_token = a->verify_token;
        c->vk_confirmation = a->vk_confirmation;
        c->vk_secret = a->vk_secret;
        c->telegram_secret = a->webhook_secret;
        c->self_ids = (const char *const *)a->self_ids;
        c->nself_ids = a->nself_ids;
    }
}

static void
config_account_clear(struct config_account *a)
{
    xfree(a->id);
    xfree(a->name);
    config_strv_free(a->self_ids, a->nself_ids);
    config_strv_free(a->video_ids, a->nvideo_ids);
    config_strv_free(a->moderate, a->nmoderate);
    xfree(a->moderate_action);
    for (size_t s = 0; s < CONFIG_ACCT_NSECRETS; s++)
        crypto_free_secret(*(char **)((char *)a +
            config_acct_secrets[s].off));
}

/* ------------------------------------------------------------ escalation */

/*
 * The escalation: section is escalate_config.c's to understand: it gets
 * the YAML as JSON (mappings, sequences, every scalar a string) and
 * names problems by key path, which config_esc_node turns back into a
 * place in the file.
 */
static json_t *
config_to_json(struct config_ctx *ctx, const char *path, struct fy_node *n)
{
    char sub[CONFIG_PATH_MAX];
    struct fy_node *key, *val, *e;
    json_t *out, *v;
    void *iter = NULL;
    const char *k;
    size_t i = 0;

    if (n == NULL || config_is_null(n))
        return json_null();
    switch (fy_node_get_type(n)) {
    case FYNT_MAPPING:
        if ((out = json_object()) == NULL)
            goto oom;
        while ((k = config_map_next(ctx, path, n, &iter, &key, &val)) !=
            NULL) {
            config_join(sub, sizeof(sub), path, k);
            if ((v = config_to_json(ctx, sub, val)) == NULL ||
                json_object_set_new(out, k, v) == -1) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    case FYNT_SEQUENCE:
        if ((out = json_array()) == NULL)
            goto oom;
        while ((e = fy_node_sequence_iterate(n, &iter)) != NULL) {
            config_index(sub, sizeof(sub), path, i++);
            if ((v = config_to_json(ctx, sub, e)) == NULL ||
                json_array_append_new(out, v) == -1) {
                json_decref(out);
                return NULL;
            }
        }
        return out;
    default:
        if ((k = config_text(n)) == NULL) {
            config_error(ctx, config_pos_of(n), path, "expected a string");
            return NULL;
        }
        if ((out = json_string(k)) == NULL)
            config_error(ctx, config_pos_of(n), path, "not valid UTF-8");
        return out;
    }
oom:
    config_oom(ctx, config_pos_of(n), path);
    return NULL;
}

/* The node at a key path below escalation ("teams.x.hours", "sla[0]"). */
static struct fy_node *
config_esc_node(struct fy_node *root, const char *path)
{
    struct fy_node *n = root, *next;
    const char *p = path;
    size_t len;

    if (strncmp(p, "escalation", 10) != 0)
        return root;
    p += 10;
    while (*p != '\0' && n != NULL) {
        if (*p == '.') {
            p++;
            len = strcspn(p, ".[");
            if (!config_is_type(n, FYNT_MAPPING) ||
                (next = fy_node_mapping_lookup_by_string(n, p, len)) ==
                NULL)
                break;
            p += len;
        } else if (*p == '[') {
            char *end;
            long i = strtol(p + 1, &end, 10);

            if (*end != ']' || !config_is_type(n, FYNT_SEQUENCE) ||
                (next = fy_node_sequence_get_by_index(n, (int)i)) == NULL)
                break;
            p = end + 1;
        } else {
            break;
        }
        n = next;
    }
    return n;
}

struct config_esc {
    struct config_ctx *ctx;
    struct fy_node *root;       /* NULL: no place to point at */
};

static void
config_esc_err(void *arg, const char *path, const char *msg)
{
    struct config_esc *ce = arg;
    struct config_pos at = { 0, 0 };

    if (ce->root != NULL)
        at = config_pos_of(config_esc_node(ce->root, path));
    config_error(ce->ctx, at, path, "%s", msg);
}

static void
config_parse_escalation(struct config_ctx *ctx, const char *path,
    struct fy_node *key, struct fy_node *val)
{
    struct config_esc ce = { ctx, val };
    json_t *tree;

    if (config_is_null(val))
        return;
    if (!config_is_type(val, FYNT_MAPPING)) {
        config_error(ctx, config_at(val, key), path,
            "expected a mapping of keys");
        return;
    }
    if ((tree = config_to_json(ctx, path, val)) == NULL)
        return;
    ctx->cfg->escalation = escalate_config_parse(tree, ctx->dir,
        config_esc_err, &ce);
    json_decref(tree);
}

/* ------------------------------------------------------------------ walk */

static config_special_fn *
config_special_find(const char *path)
{
    for (size_t i = 0; i < nitems(config_specials); i++) {
        if (strcmp(config_specials[i].path, path) == 0)
            return config_specials[i].fn;
    }
    return NULL;
}

/* A section is any prefix of a known key path ("http" of "http.x"). */
static bool
config_is_section(const char *path)
{
    size_t len = strlen(path);

    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        if (strncmp(config_options[i].path, path, len) == 0 &&
            config_options[i].path[len] == '.')
            return true;
    }
    for (size_t i = 0; i < nitems(config_specials); i++) {
        if (strncmp(config_specials[i].path, path, len) == 0 &&
            config_specials[i].path[len] == '.')
            return true;
    }
    return false;
}

static void
config_walk(struct config_ctx *ctx, const char *path, struct fy_node *map)
{
    const struct config_option *o;
    char sub[CONFIG_PATH_MAX];
    struct fy_node *key, *val;
    config_special_fn *fn;
    void *iter = NULL;
    const char *k;

    while ((k = config_map_next(ctx, path, map, &iter, &key, &val)) != NULL) {
        config_join(sub, sizeof(sub), path, k);
        if ((o = config_option_find(sub)) != NULL) {
            config_set(ctx, o, key, val, sub);
        } else if ((fn = config_special_find(sub)) != NULL) {
            fn(ctx, sub, key, val);
        } else if (config_is_section(sub)) {
            if (config_is_type(val, FYNT_MAPPING))
                config_walk(ctx, sub, val);
            else if (!config_is_null(val))
                config_error(ctx, config_at(val, key), sub,
                    "expected a mapping of keys");
        } else {
            config_error(ctx, config_pos_of(key), sub, "unknown key");
        }
    }
}

/* ------------------------------------------------------------ load steps */

static int
config_defaults(struct config_ctx *ctx)
{
    struct config *cfg = ctx->cfg;
    struct config_pos none = { 0, 0 };

    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        const struct config_option *o = &config_options[i];

        if (o->def != NULL && config_apply(ctx, o, o->def, none, o->path)
            == -1)
            return -1;
    }
    if ((cfg->rules.dirs = xcalloc(1, sizeof(char *))) == NULL ||
        (cfg->rules.dirs[0] = xstrdup(INBOXD_RULES_DIR)) == NULL)
        goto oom;
    cfg->rules.ndirs = 1;
    if ((cfg->queue.names = xcalloc(1, sizeof(char *))) == NULL ||
        (cfg->queue.names[0] = xstrdup("general")) == NULL)
        goto oom;
    cfg->queue.nnames = 1;
    /* Loopback is exempt: local tools and a local proxy, see config.md. */
    if ((cfg->http.sources.exempt = xcalloc(2,
        sizeof(*cfg->http.sources.exempt))) == NULL)
        goto oom;
    if (ratelimit_cidr_parse("127.0.0.0/8", &cfg->http.sources.exempt[0])
        == -1 || ratelimit_cidr_parse("::1",
        &cfg->http.sources.exempt[1]) == -1)
        goto oom;
    cfg->http.sources.nexempt = 2;
    return 0;

oom:
    config_oom(ctx, none, NULL);
    return -1;
}

/* web.root: relative to the file; a directory when the inbox is on. */
static void
config_finish_web(struct config_ctx *ctx)
{
    const struct config_option *o = config_option_find("web.root");
    struct config_pos at = ctx->set_at[o - config_options];
    struct config *cfg = ctx->cfg;
    char *abs;

    if (cfg->web.root[0] != '/') {
        if ((abs = config_resolve(ctx, cfg->web.root)) == NULL) {
            config_oom(ctx, at, o->path);
            return;
        }
        xfree(cfg->web.root);
        cfg->web.root = abs;
    }
    if (cfg->web.host != NULL)
        config_check_dir(ctx, at, o->path, cfg->web.root);
}

/* spool.dir: relative to the file; no larger segments than the whole. */
static void
config_finish_spool(struct config_ctx *ctx)
{
    const struct config_option *o = config_option_find("spool.dir");
    struct config *cfg = ctx->cfg;
    char *abs;

    if (cfg->spool.dir != NULL && cfg->spool.dir[0] != '/') {
        if ((abs = config_resolve(ctx, cfg->spool.dir)) == NULL) {
            config_oom(ctx, ctx->set_at[o - config_options], o->path);
            return;
        }
        xfree(cfg->spool.dir);
        cfg->spool.dir = abs;
    }
    if (cfg->spool.segment_bytes > cfg->spool.max_bytes) {
        o = config_option_find("spool.segment_bytes");
        config_error(ctx, ctx->set_at[o - config_options], o->path,
            "must not be above spool.max_bytes");
    }
}

/* Checks across keys, and the keys parsed after the walk. */
static void
config_finish(struct config_ctx *ctx)
{
    const struct config_option *o;
    struct config *cfg = ctx->cfg;
    struct config_pos at;
    char q[LOG_QUOTE_MAX + 8], v[32];

    config_finish_password(ctx);
    config_finish_routes(ctx);

    o = config_option_find("queues.default");
    if (cfg->routes.default_queue == NULL) {
        if ((cfg->routes.default_queue = xstrdup(cfg->queue.names[0]))
            == NULL)
            config_oom(ctx, ctx->set_at[o - config_options], o->path);
    } else if (!config_has_queue(cfg, cfg->routes.default_queue)) {
        config_error(ctx, ctx->set_at[o - config_options], o->path,
            "queue \"%s\" is not in queues.names",
            log_quote(q, sizeof(q), cfg->routes.default_queue));
    }

    if (cfg->redis.reconnect_max_ms < cfg->redis.reconnect_min_ms) {
        o = config_option_find("redis.reconnect_max");
        at = ctx->set_at[o - config_options];
        if (at.line != 0) {
            config_fmt_duration((uint64_t)cfg->redis.reconnect_min_ms, v,
                sizeof(v));
            config_error(ctx, at, o->path,
                "must be at least redis.reconnect_min (%s)", v);
        } else {
            o = config_option_find("redis.reconnect_min");
            config_fmt_duration((uint64_t)cfg->redis.reconnect_max_ms, v,
                sizeof(v));
            config_error(ctx, ctx->set_at[o - config_options], o->path,
                "must not be above redis.reconnect_max (%s)", v);
        }
    }

    if (cfg->polling.backoff_max_ms < cfg->polling.backoff_min_ms) {
        o = config_option_find("polling.backoff_max");
        config_fmt_duration((uint64_t)cfg->polling.backoff_min_ms, v,
            sizeof(v));
        config_error(ctx, ctx->set_at[o - config_options], o->path,
            "must be at least polling.backoff_min (%s)", v);
    }

    if (cfg->http.sources.max_tracked <= cfg->http.max_connections) {
        /* Each open connection may pin a source: the table must hold
         * them all and still have room for one more. */
        o = config_option_find("http.sources.max_tracked");
        at = ctx->set_at[o - config_options];
        if (at.line == 0) {
            o = config_option_find("http.max_connections");
            at = ctx->set_at[o - config_options];
        }
        config_error(ctx, at, o->path, "http.sources.max_tracked (%lld) "
            "must be above http.max_connections (%lld)",
            (long long)cfg->http.sources.max_tracked,
            (long long)cfg->http.max_connections);
    }

    /* The shipped directory is checked only when the file did not say. */
    if (!ctx->dirs_given)
        config_check_dir(ctx, (struct config_pos){ 0, 0 }, "rules.dirs",
            cfg->rules.dirs[0]);

    if (cfg->log.debug != NULL && cfg->log.debug[0] == '\0')
        XFREE(&cfg->log.debug);
    config_finish_web(ctx);
    config_finish_spool(ctx);

    if (cfg->escalation != NULL) {
        struct config_esc ce = { ctx, NULL };

        escalate_config_check(cfg->escalation, cfg->queue.names,
            cfg->queue.nnames, config_esc_err, &ce);
    }

    /* Last: it builds only when nothing above failed. */
    config_finish_accounts(ctx);
}

/* Swallows what the diagnostics print; errors are collected instead. */
static void
config_diag_cb(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

/*
 * Read the file into ctx->src and check that it is UTF-8, as YAML must
 * be: libfyaml 0.7 can loop forever on a directive line holding invalid
 * bytes, which would hang a reload, so it never sees any.
 */
static int
config_read_file(struct config_ctx *ctx, size_t *len)
{
    size_t bad;
    int line, col;

    if ((ctx->src = util_read_file(ctx->file, CONFIG_MAX_FILE, len, NULL)) ==
        NULL) {
        if (errno == EISDIR)
            config_error(ctx, (struct config_pos){ 0, 0 }, NULL,
                "is a directory");
        else if (errno == EFBIG)
            config_error(ctx, (struct config_pos){ 0, 0 }, NULL,
                "file too large (limit %u bytes)", CONFIG_MAX_FILE);
        else if (errno == ENOMEM)
            config_oom(ctx, (struct config_pos){ 0, 0 }, NULL);
        else
            config_error(ctx, (struct config_pos){ 0, 0 }, NULL,
                "cannot open: %s", strerror(errno));
        return -1;
    }
    if (!util_utf8_valid(ctx->src, *len, &bad)) {
        util_text_pos(ctx->src, bad, &line, &col);
        config_error(ctx, (struct config_pos){ line, col }, NULL,
            "not valid UTF-8 (byte 0x%02x)", (unsigned char)ctx->src[bad]);
        return -1;
    }
    return 0;
}

/*
 * Parse the file into a document, or report why not: the YAML errors with
 * their place, or "empty config" for a file with no document in it.
 */
static struct fy_document *
config_parse_file(struct config_ctx *ctx)
{
    struct config_pos start = { 1, 1 };
    struct fy_document *doc = NULL;
    struct fy_diag_error *e;
    struct fy_parse_cfg pcfg;
    struct fy_diag_cfg dcfg;
    struct fy_diag *diag;
    char q[LOG_QUOTE_MAX + 8];
    void *iter = NULL;
    size_t len;
    int n = 0;

    if (config_read_file(ctx, &len) == -1)
        return NULL;
    fy_diag_cfg_default(&dcfg);
    dcfg.fp = NULL;
    dcfg.output_fn = config_diag_cb;
    dcfg.colorize = false;
    if ((diag = fy_diag_create(&dcfg)) == NULL) {
        config_oom(ctx, (struct config_pos){ 0, 0 }, NULL);
        return NULL;
    }
    fy_diag_set_collect_errors(diag, true);
    memset(&pcfg, 0, sizeof(pcfg));
    /* Duplicate keys are ours to report, with their key path. */
    pcfg.flags = FYPCF_QUIET | FYPCF_ALLOW_DUPLICATE_KEYS;
    pcfg.diag = diag;
    doc = fy_document_build_from_string(&pcfg, ctx->src, len);
    if (doc == NULL || fy_diag_got_error(diag)) {
        while ((e = fy_diag_errors_iterate(diag, &iter)) != NULL) {
            if (e->type < FYET_ERROR)
                continue;
            config_error(ctx, (struct config_pos){ e->line, e->column },
                NULL, "YAML syntax: %s",
                log_quote(q, sizeof(q), e->msg ? e->msg : "error"));
            n++;
        }
        if (n == 0 && doc == NULL)
            config_error(ctx, start, NULL, "empty config");
        else if (n == 0)
            config_error(ctx, start, NULL, "YAML syntax: error");
        if (doc != NULL)
            fy_document_destroy(doc);
        doc = NULL;
    }
    fy_diag_destroy(diag);
    return doc;
}

/* The absolute directory of the config file, for relative paths in it. */
static char *
config_dirname(const char *path)
{
    char abs[PATH_MAX], *slash;

    if (realpath(path, abs) == NULL)
        return NULL;
    if ((slash = strrchr(abs, '/')) == abs)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
    return xstrdup(abs);
}

static void
config_free(struct config *cfg)
{
    if (cfg == NULL)
        return;
    xfree(cfg->path);
    xfree(cfg->http.host);
    xfree(cfg->http.trusted_proxies);
    xfree(cfg->http.forwarded_header);
    xfree(cfg->http.sources.exempt);
    xfree(cfg->redis.host);
    xfree(cfg->redis.unix_path);
    crypto_free_secret(cfg->redis.password);
    xfree(cfg->redis.prefix);
    config_strv_free(cfg->rules.dirs, cfg->rules.ndirs);
    for (size_t i = 0; i < cfg->ntokens; i++)
        xfree(cfg->tokens[i].name);
    if (cfg->tokens != NULL)
        crypto_wipe(cfg->tokens, cfg->ntokens * sizeof(*cfg->tokens));
    xfree(cfg->tokens);
    config_strv_free(cfg->queue.names, cfg->queue.nnames);
    xfree(cfg->queue.group);
    route_table_clear(&cfg->routes);
    for (size_t i = 0; i < cfg->naccounts; i++)
        config_account_clear(&cfg->accounts[i]);
    xfree(cfg->accounts);
    xfree(cfg->conn_accounts);
    xfree(cfg->log.debug);
    for (size_t i = 0; i < cfg->ncanned; i++) {
        xfree(cfg->canned[i].name);
        xfree(cfg->canned[i].text);
    }
    xfree(cfg->canned);
    xfree(cfg->user);
    xfree(cfg->web.host);
    xfree(cfg->web.root);
    xfree(cfg->spool.dir);
    xfree(cfg->platforms.facebook.api_base);
    xfree(cfg->platforms.instagram.api_base);
    xfree(cfg->platforms.vk.api_base);
    xfree(cfg->platforms.vk.version);
    xfree(cfg->moderation.action);
    config_strv_free(cfg->moderation.categories, cfg->moderation.ncategories);
    xfree(cfg->platforms.telegram.api_base);
    xfree(cfg->platforms.youtube.api_base);
    if (cfg->ruleset != NULL)
        rules_free(cfg->ruleset);
    escalate_config_free(cfg->escalation);
    xfree(cfg);
}

/* ------------------------------------------------------------------- API */

struct config *
config_load(const char *path, struct buf *errors)
{
    struct config_pos none = { 0, 0 };
    struct fy_document *doc = NULL;
    struct config_ctx ctx;
    struct fy_node *root;
    struct config *cfg;
    size_t before = errors->len;

    memset(&ctx, 0, sizeof(ctx));
    ctx.file = path;
    ctx.errors = errors;
    if ((cfg = xcalloc(1, sizeof(*cfg))) == NULL) {
        config_oom(&ctx, none, NULL);
        goto out;
    }
    ctx.cfg = cfg;
    cfg->refcnt = 1;
    if ((cfg->path = xstrdup(path)) == NULL) {
        config_oom(&ctx, none, NULL);
        goto out;
    }
    if (config_defaults(&ctx) == -1 ||
        (doc = config_parse_file(&ctx)) == NULL)
        goto out;
    if ((ctx.dir = config_dirname(path)) == NULL) {
        config_error(&ctx, none, NULL, "cannot resolve its directory: %s",
            strerror(errno));
        goto out;
    }

    root = fy_document_root(doc);
    if (root == NULL || config_is_null(root)) {
        config_error(&ctx, (struct config_pos){ 1, 1 }, NULL,
            "empty config");
        goto out;
    }
    if (!config_is_type(root, FYNT_MAPPING)) {
        config_error(&ctx, config_pos_of(root), NULL,
            "the top level must be a mapping of keys");
        goto out;
    }
    config_walk(&ctx, "", root);
    config_finish(&ctx);
    if (ctx.nerrors != 0)
        goto out;

    cfg->ruleset = rules_load((const char *const *)cfg->rules.dirs,
        cfg->rules.ndirs, &cfg->rules.limits, errors);
    if (cfg->ruleset == NULL)
        config_error(&ctx, ctx.dirs_at, "rules.dirs", "%s",
            errors->len == before ? "the rules did not load" :
            "the rules did not load (see above)");

out:
    if (doc != NULL)
        fy_document_destroy(doc);
    xfree(ctx.src);
    xfree(ctx.dir);
    if (ctx.nerrors != 0) {
        config_free(cfg);
        cfg = NULL;
    }
    return cfg;
}

struct config *
config_ref(struct config *cfg)
{
    if (cfg != NULL)
        cfg->refcnt++;
    return cfg;
}

void
config_unref(struct config *cfg)
{
    if (cfg == NULL || --cfg->refcnt > 0)
        return;
    config_free(cfg);
}

static bool
config_str_eq(const char *a, const char *b)
{
    if (a == NULL || b == NULL)
        return a == b;
    return strcmp(a, b) == 0;
}

static bool
config_option_eq(const struct config_option *o, const struct config *a,
    const struct config *b)
{
    const void *fa = config_cfield(a, o->off);
    const void *fb = config_cfield(b, o->off);

    switch (o->type) {
    case CONFIG_T_STRING:
        return config_str_eq(*(char *const *)fa, *(char *const *)fb);
    case CONFIG_T_ADDR:
        if (!config_str_eq(*(char *const *)fa, *(char *const *)fb) ||
            *(const int *)config_cfield(a, o->off_port) !=
            *(const int *)config_cfield(b, o->off_port))
            return false;
        return o->off_unix == 0 ||
            config_str_eq(*(char *const *)config_cfield(a, o->off_unix),
            *(char *const *)config_cfield(b, o->off_unix));
    default:
        return memcmp(fa, fb, o->size) == 0;
    }
}

static void
config_diff_add(char *out, size_t outlen, const char *name)
{
    size_t len = strlen(out), sep = len ? 2 : 0;

    /* Whole names only: a cut one would name a key that did not change. */
    if (len + sep + strlen(name) < outlen)
        snprintf(out + len, outlen - len, "%s%s", sep ? ", " : "", name);
}

void
config_diff_immutable(const struct config *oldc, const struct config *newc,
    char *out, size_t outlen)
{
    const char *pa = oldc->redis.password, *pb = newc->redis.password;

    if (outlen == 0)
        return;
    out[0] = '\0';
    for (size_t i = 0; i < CONFIG_NOPTIONS; i++) {
        if (!config_options[i].reload &&
            !config_option_eq(&config_options[i], oldc, newc))
            config_diff_add(out, outlen, config_options[i].path);
    }
    if ((pa == NULL) != (pb == NULL) || (pa != NULL &&
        (strlen(pa) != strlen(pb) || !crypto_equal(pa, pb, strlen(pa)))))
        config_diff_add(out, outlen, "redis.password");
}

const struct config_token *
config_find_token(const struct config *cfg, const char *presented,
    size_t len)
{
    const struct config_token *found = NULL;
    unsigned char h[CRYPTO_SHA256_LEN];

    if (cfg == NULL || presented == NULL)
        return NULL;
    crypto_sha256(presented, len, h);
    /* Visit every token with no early exit, so the time taken does not
     * tell which token (or how many) came before the match. */
    for (size_t i = 0; i < cfg->ntokens; i++) {
        bool eq = crypto_equal(h, cfg->tokens[i].sha256, sizeof(h));

        if (eq && found == NULL)
            found = &cfg->tokens[i];
    }
    crypto_wipe(h, sizeof(h));
    return found;
}

const char *
config_role_name(enum config_role role)
{
    if ((unsigned)role >= nitems(config_role_names))
        return "?";
    return config_role_names[role];
}

const struct config_account *
config_find_account(const struct config *cfg, const char *platform,
    const char *id)
{
    for (size_t i = 0; platform != NULL && id != NULL &&
        i < cfg->naccounts; i++) {
        if (strcmp(cfg->accounts[i].platform, platform) == 0 &&
            strcmp(cfg->accounts[i].id, id) == 0)
            return &cfg->accounts[i];
    }
    return NULL;
}

void
config_moderation(const struct config *cfg, const struct config_account *a,
    char *const **categories, size_t *n, const char **action, bool *dry_run)
{
    bool own = a != NULL && a->moderate_set;

    *categories = own ? a->moderate : cfg->moderation.categories;
    *n = own ? a->nmoderate : cfg->moderation.ncategories;
    *action = a != NULL && a->moderate_action != NULL ?
        a->moderate_action : cfg->moderation.action;
    *dry_run = cfg->moderation.dry_run ||
        (a != NULL && a->dry_run_set && a->dry_run);
    /* Telegram cannot hide: it deletes only when the account says so. */
    if (*n == 0 || (a != NULL && strcmp(a->platform, CONNECTOR_TELEGRAM) ==
        0 && strcmp(*action, "hide") == 0))
        *action = NULL;
}
