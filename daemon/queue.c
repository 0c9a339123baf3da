/*
 * queue: the Redis side of inboxd, over hiredis async on the daemon's
 * libevent loop. It owns the one connection to Redis, the store script
 * and every key and stream name (docs/redis.md).
 *
 * Storing an item is one EVALSHA of a Lua script that deduplicates by item
 * id, stores the item hash once, appends the id to the destination queue's
 * stream (creating the responders' consumer group with it) and appends to
 * the all-items stream, atomically on the server. Two more scripts change
 * stored items: update (an edit or a restore) and mark (delete, hide,
 * unhide); a dead letter is a plain XADD. Three small scripts keep the
 * pollers' state: a lease, a cursor written only under that lease, and a
 * daily quota counter. The desk's script (queue_desk.c) and the events
 * reader's (queue_events.c) answer JSON. A reply of NOSCRIPT (Redis
 * restarted with an empty script cache) resends the same command as EVAL,
 * unseen by the caller.
 *
 * Connection life: connect, AUTH, SELECT, one SCRIPT LOAD per script; only
 * the last SCRIPT LOAD reply makes the module "up". Any failure drops the connection and
 * an evtimer reconnects with exponential backoff, forever. hiredis 0.14
 * has no command timeouts, so every command sent is kept on a FIFO with
 * its send time (Redis answers in order on one connection) and a watchdog
 * timer drops the connection when the oldest is older than timeout_ms;
 * redisAsyncFree then fires every pending callback with a NULL reply,
 * which the store callback reports as QUEUE_UNAVAILABLE.
 *
 * hiredis frees a context by itself after a failed connect or a lost
 * connection, and must not be freed from inside its own callbacks: drops
 * decided in a callback are deferred to a zero-timeout event, and q->ac
 * is cleared before any free so late callbacks can tell a dead context
 * from the live one.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>

#include <event2/event.h>
#include <hiredis/hiredis.h>
#include <hiredis/async.h>
#include <hiredis/adapters/libevent.h>

#include "alloc.h"
#include "config.h"
#include "log.h"
#include "metrics.h"
#include "queue.h"
#include "queue_internal.h"
#include "util.h"

#define QUEUE_DEFAULT_PREFIX    "inboxd:"
#define QUEUE_DEFAULT_GROUP     "responders"
#define QUEUE_DEFAULT_TIMEOUT   2000
#define QUEUE_DEFAULT_RMIN      100
#define QUEUE_DEFAULT_RMAX      5000
#define QUEUE_DEFAULT_LEASE     (15 * 60 * 1000)
#define QUEUE_DEFAULT_AUDIT     100000
#define QUEUE_SHA_LEN           40
/* Commands buffered before a write of its own (queue_flush_maybe). */
#define QUEUE_FLUSH_EVERY       8
/* Error text from Redis is cut to this many bytes in log lines. */
#define QUEUE_ERR_MAX           200

/*
 * The scripts (docs/redis.md has them in prose). Each returns {code,
 * queue, stream id}; the codes are shared so that one table maps them:
 */
enum queue_code {
    QUEUE_CODE_DUPLICATE = 0,   /* already so; nothing written */
    QUEUE_CODE_STORED = 1,      /* new: stored and queued */
    QUEUE_CODE_UPDATED = 2,     /* an existing item changed */
    QUEUE_CODE_MISROUTED = 3,   /* stored in another queue; nothing written */
    QUEUE_CODE_DELETED = 4,     /* the item is deleted; nothing written */
    QUEUE_CODE_UNKNOWN = 5,     /* no such item */
    QUEUE_CODE_COUNT_
};

/*
 * Store. KEYS: item hash, destination stream, all-items stream. ARGV:
 * json, queue, ttl seconds ("0" = none), received-at ms, group, item id,
 * ingest maxlen ("0" = uncapped); the desk's view of the new item,
 * worked out by the caller so that no script decodes the JSON: its
 * ready-queue score (prio; "" for none) and its conversation key ("" for
 * none); the key prefix, queues.lease (ms) and queues.audit_maxlen, for
 * the desk; then, optionally, an automatic action's type, by, dry run
 * (1/0), platform, account, the actions stream and whether it takes the
 * item from its queue once done: its request is appended there with the
 * new item, in the same step. A deleted item (or the tombstone of a
 * delete that came first) is not stored again.
 *
 * With the desk's view the item is taken into the desk here as well
 * (docs/redis.md, "The desk"): into ready:<queue>, its stream entry
 * marked "taken" so that the desk's intake only moves it into the
 * group's pending list; or, when an agent holds its conversation, to
 * that agent through the intake itself (QUEUE_LUA_INTAKE), answering
 * the number so assigned as a fourth element. Numbers are passed on as
 * the strings they came as: a Lua number given to redis.call is
 * formatted with "%.17g", which costs more than some commands.
 */
static const char queue_store_lua[] =
    "local P, G = ARGV[10], ARGV[5]\n"
    "local id, q, ttl, rcv, prio, conv = ARGV[6], ARGV[2], ARGV[3], ARGV[4],\n"
    "  ARGV[8], ARGV[9]\n"
    /*
     * Is the item known, and may someone hold part of its conversation
     * (the desk keeps that hash only while someone does)? One EXISTS of
     * both answers the usual case, neither.
     */
    "local ckey = prio ~= '' and conv ~= '' and P .. 'conv:' .. conv\n"
    "local n = ckey and redis.call('EXISTS', KEYS[1], ckey) or\n"
    "  redis.call('EXISTS', KEYS[1])\n"
    "if n > 0 and (not ckey or n == 2 or\n"
    "  redis.call('EXISTS', KEYS[1]) == 1) then\n"
    "  local v = redis.call('HMGET', KEYS[1], 'queue', 'stream_id', 'state')\n"
    "  return {v[3] == 'deleted' and 4 or 0, v[1] or '', v[2] or ''}\n"
    "end\n"
    "local held = ckey and n > 0\n"
    /*
     * The desk's intake, defined only when it runs: making its closures
     * costs more than most of the commands below.
     */
    "local function desk(own)\n"
    "  local BATCH, NOW = '64', nil\n"
    "  local LEASE, AUDIT = tonumber(ARGV[11]), tonumber(ARGV[12])\n"
    "  local N = {assigned = 0}\n"
    QUEUE_LUA_COMMON
    QUEUE_LUA_INTAKE
    "  local _, met = intake(q, own)\n"
    "  return met, N.assigned\n"
    "end\n"
    "local entry = {'id', id}\n"
    "if prio ~= '' and not held then entry = {'id', id, 'taken', '1'} end\n"
    /*
     * A stream made here gets its group first. NOMKSTREAM answers nil
     * when there is no stream, and an error before Redis 6.2.
     */
    "local sid = redis.pcall('XADD', KEYS[2], 'NOMKSTREAM', '*',\n"
    "  unpack(entry))\n"
    "if type(sid) ~= 'string' then\n"
    "  if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "    redis.call('XGROUP', 'CREATE', KEYS[2], G, '0', 'MKSTREAM')\n"
    "  end\n"
    "  sid = redis.call('XADD', KEYS[2], '*', unpack(entry))\n"
    "end\n"
    "if prio ~= '' then\n"
    "  redis.call('HSET', KEYS[1], 'json', ARGV[1], 'queue', q,\n"
    "    'stream_id', sid, 'state', 'queued', 'received_at', rcv,\n"
    "    'prio', prio, 'conv', conv)\n"
    "else\n"
    "  redis.call('HSET', KEYS[1], 'json', ARGV[1], 'queue', q,\n"
    "    'stream_id', sid, 'state', 'queued', 'received_at', rcv)\n"
    "end\n"
    "if ttl ~= '0' then redis.call('EXPIRE', KEYS[1], ttl) end\n"
    /* The set outlives its newest item by up to a minute, so that it is
     * extended once a minute rather than at every store. */
    "if prio ~= '' and conv ~= '' then\n"
    "  local k = P .. 'convitems:' .. conv\n"
    "  redis.call('ZADD', k, rcv, id)\n"
    "  local t = tonumber(ttl)\n"
    "  if t > 0 and redis.call('PTTL', k) < t * 1000 then\n"
    "    redis.call('EXPIRE', k, t + 60)\n"
    "  end\n"
    "end\n"
    "if ARGV[7] ~= '0' then\n"
    "  redis.call('XADD', KEYS[3], 'MAXLEN', '~', ARGV[7], '*',\n"
    "    'id', id, 'queue', q)\n"
    "else\n"
    "  redis.call('XADD', KEYS[3], '*', 'id', id, 'queue', q)\n"
    "end\n"
    "if ARGV[13] then\n"
    "  redis.call('XADD', ARGV[18], '*', 'type', ARGV[13], 'item', id,\n"
    "    'platform', ARGV[16], 'account', ARGV[17], 'by', ARGV[14],\n"
    "    'requested_at', rcv, 'dry_run', ARGV[15], 'dequeue', ARGV[19])\n"
    "end\n"
    "local assigned = 0\n"
    "if held then\n"
    "  local met\n"
    "  met, assigned = desk({id = id, stream_id = sid, queue = q,\n"
    "    state = 'queued', prio = prio, conv = conv, received_at = rcv})\n"
    "  if not met then redis.call('HSET', KEYS[1], 'fresh', '1') end\n"
    "elseif prio ~= '' then\n"
    "  redis.call('ZADD', P .. 'ready:' .. q, prio, id)\n"
    "end\n"
    "if assigned > 0 then return {1, q, sid, assigned} end\n"
    "return {1, q, sid}\n";

/*
 * Update (an edit or a restore). KEYS and ARGV[1..7] as for the store,
 * ARGV[4] being the time of the update; ARGV[8] "edit" or "restore".
 * A live item gets the new json and edited_at, and keeps its queue entry;
 * an item stored in another queue than ARGV[2] is not touched (the
 * caller re-dumps the item with that queue and sends again); a deleted
 * item, or the tombstone of a delete that came first, stays deleted on an
 * edit and is queued again on a restore; an unknown item is stored as
 * new.
 */
static const char queue_update_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'queue', 'stream_id', 'state',\n"
    "  'received_at')\n"
    "local q, sid, state, rcv = v[1], v[2], v[3], v[4]\n"
    "if q and q ~= ARGV[2] then return {3, q, sid or ''} end\n"
    "if state == 'deleted' and ARGV[8] ~= 'restore' then\n"
    "  return {4, q or '', sid or ''}\n"
    "end\n"
    "if state and state ~= 'deleted' then\n"
    "  redis.call('HSET', KEYS[1], 'json', ARGV[1])\n"
    "  if ARGV[8] == 'edit' then\n"
    "    redis.call('HSET', KEYS[1], 'edited_at', ARGV[4])\n"
    "  end\n"
    "  return {2, q or '', sid or ''}\n"
    "end\n"
    "if redis.call('EXISTS', KEYS[2]) == 0 then\n"
    "  redis.call('XGROUP', 'CREATE', KEYS[2], ARGV[5], '0', 'MKSTREAM')\n"
    "end\n"
    "sid = redis.call('XADD', KEYS[2], '*', 'id', ARGV[6])\n"
    "redis.call('HSET', KEYS[1], 'json', ARGV[1], 'queue', ARGV[2],\n"
    "  'stream_id', sid, 'state', 'queued')\n"
    "if ARGV[8] == 'edit' then\n"
    "  redis.call('HSET', KEYS[1], 'edited_at', ARGV[4])\n"
    "elseif state == 'deleted' then\n"
    "  redis.call('HSET', KEYS[1], 'restored_at', ARGV[4])\n"
    "end\n"
    "if not rcv then\n"
    "  redis.call('HSET', KEYS[1], 'received_at', ARGV[4])\n"
    "  local ttl = tonumber(ARGV[3])\n"
    "  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end\n"
    "  local cap = tonumber(ARGV[7])\n"
    "  if cap > 0 then\n"
    "    redis.call('XADD', KEYS[3], 'MAXLEN', '~', cap, '*',\n"
    "      'id', ARGV[6], 'queue', ARGV[2])\n"
    "  else\n"
    "    redis.call('XADD', KEYS[3], '*', 'id', ARGV[6], 'queue', ARGV[2])\n"
    "  end\n"
    "end\n"
    "return {1, ARGV[2], sid}\n";

/*
 * Mark. KEYS: item hash. ARGV: "deleted", "hidden" or "unhidden", time
 * ms, actor ("" unknown), ttl seconds, group, key prefix. A delete takes
 * the item's entry out of its queue stream (XACK, then XDEL) and leaves
 * the hash with state deleted; a delete of an unknown id leaves a
 * tombstone so that a late copy of the item is not stored. The stream key
 * is built here from the stored queue name: the caller does not know it.
 */
static const char queue_mark_lua[] =
    "local v = redis.call('HMGET', KEYS[1], 'queue', 'stream_id', 'state',\n"
    "  'hidden')\n"
    "local q, sid, state, hidden = v[1], v[2], v[3], v[4]\n"
    "if not state then\n"
    "  if ARGV[1] ~= 'deleted' then return {5, '', ''} end\n"
    "  redis.call('HSET', KEYS[1], 'state', 'deleted', 'deleted_at', ARGV[2])\n"
    "  if ARGV[3] ~= '' then\n"
    "    redis.call('HSET', KEYS[1], 'deleted_by', ARGV[3])\n"
    "  end\n"
    "  local ttl = tonumber(ARGV[4])\n"
    "  if ttl > 0 then redis.call('EXPIRE', KEYS[1], ttl) end\n"
    "  return {5, '', ''}\n"
    "end\n"
    "if ARGV[1] == 'deleted' then\n"
    "  if state == 'deleted' then return {0, q or '', sid or ''} end\n"
    "  if q and sid then\n"
    "    local s = ARGV[6] .. 'q:' .. q\n"
    "    redis.call('XACK', s, ARGV[5], sid)\n"
    "    redis.call('XDEL', s, sid)\n"
    "  end\n"
    "  redis.call('HSET', KEYS[1], 'state', 'deleted', 'deleted_at', ARGV[2])\n"
    "  if ARGV[3] ~= '' then\n"
    "    redis.call('HSET', KEYS[1], 'deleted_by', ARGV[3])\n"
    "  end\n"
    "  return {2, q or '', sid or ''}\n"
    "end\n"
    "local h = ARGV[1] == 'hidden' and '1' or '0'\n"
    "if (hidden or '0') == h then return {0, q or '', sid or ''} end\n"
    "redis.call('HSET', KEYS[1], 'hidden', h, ARGV[1] .. '_at', ARGV[2])\n"
    "return {2, q or '', sid or ''}\n";

/*
 * Pollers' lease (docs/redis.md, "Pollers"). KEYS: lease key. ARGV:
 * owner, ttl ms; ttl 0 releases. Answers {code, holder}: 1 taken, 2
 * renewed (or released), 0 held by another, 5 not ours to release.
 */
static const char queue_lease_lua[] =
    "local h = redis.call('GET', KEYS[1])\n"
    "local ttl = tonumber(ARGV[2])\n"
    "if ttl == 0 then\n"
    "  if h == ARGV[1] then redis.call('DEL', KEYS[1]); return {2, h} end\n"
    "  return {5, h or ''}\n"
    "end\n"
    "if h == ARGV[1] then\n"
    "  redis.call('PEXPIRE', KEYS[1], ttl)\n"
    "  return {2, h}\n"
    "end\n"
    "if h then return {0, h} end\n"
    "redis.call('SET', KEYS[1], ARGV[1], 'PX', ttl)\n"
    "return {1, ARGV[1]}\n";

/*
 * Pollers' cursor. KEYS: cursor key, lease key. ARGV: owner ("" reads),
 * value. A write happens only while the lease is the writer's, so a
 * process that lost its lease cannot move the cursor back. {code,
 * value}: 1 read, 5 none, 2 written, 0 lease not ours (holder).
 */
static const char queue_cursor_lua[] =
    "if ARGV[1] == '' then\n"
    "  local v = redis.call('GET', KEYS[1])\n"
    "  if v then return {1, v} end\n"
    "  return {5, ''}\n"
    "end\n"
    "local h = redis.call('GET', KEYS[2])\n"
    "if h ~= ARGV[1] then return {0, h or ''} end\n"
    "redis.call('SET', KEYS[1], ARGV[2])\n"
    "return {2, ARGV[2]}\n";

/*
 * A daily budget. KEYS: counter. ARGV: units (-1: spend it all), limit,
 * ttl ms. {code, used}: 1 taken, 0 the budget does not allow it.
 */
static const char queue_quota_lua[] =
    "local used = tonumber(redis.call('GET', KEYS[1]) or '0')\n"
    "local n, lim = tonumber(ARGV[1]), tonumber(ARGV[2])\n"
    "if n < 0 then\n"
    "  if used < lim then redis.call('SET', KEYS[1], lim, 'PX', ARGV[3]) end\n"
    "  return {0, tostring(math.max(used, lim))}\n"
    "end\n"
    "if used + n > lim then return {0, tostring(used)} end\n"
    "used = redis.call('INCRBY', KEYS[1], n)\n"
    "redis.call('PEXPIRE', KEYS[1], ARGV[3])\n"
    "return {1, tostring(used)}\n";

enum queue_script {
    QUEUE_SCRIPT_STORE = 0,
    QUEUE_SCRIPT_UPDATE,
    QUEUE_SCRIPT_MARK,
    QUEUE_SCRIPT_LEASE,
    QUEUE_SCRIPT_CURSOR,
    QUEUE_SCRIPT_QUOTA,
    QUEUE_SCRIPT_EVENTS,        /* queue_events.c; answers one JSON string */
    QUEUE_SCRIPT_DESK,          /* queue_desk.c; answers one JSON string */
    QUEUE_SCRIPT_ACTIONS,       /* queue_actions.c; likewise */
    QUEUE_SCRIPT_ESCALATE,      /* queue_escalate.c; likewise */
    QUEUE_SCRIPT_COUNT_
};

/*
 * late: too large to send before AUTH has been answered (Redis drops an
 * unauthenticated client that sends a bulk over 16 KiB, which would hide
 * a wrong password behind a reset). With a password it is loaded once
 * the others have answered, and its reply makes the module up.
 */
static const struct {
    const char *name;           /* for log lines */
    const char *text;
    bool late;
} queue_scripts[QUEUE_SCRIPT_COUNT_] = {
    [QUEUE_SCRIPT_STORE] = { .name = "store", .text = queue_store_lua },
    [QUEUE_SCRIPT_UPDATE] = { .name = "update", .text = queue_update_lua },
    [QUEUE_SCRIPT_MARK] = { .name = "mark", .text = queue_mark_lua },
    [QUEUE_SCRIPT_LEASE] = { .name = "lease", .text = queue_lease_lua },
    [QUEUE_SCRIPT_CURSOR] = { .name = "cursor", .text = queue_cursor_lua },
    [QUEUE_SCRIPT_QUOTA] = { .name = "quota", .text = queue_quota_lua },
    [QUEUE_SCRIPT_EVENTS] = { .name = "events", .text = queue_events_lua },
    [QUEUE_SCRIPT_DESK] = { .name = "desk", .text = queue_desk_lua,
        .late = true },
    [QUEUE_SCRIPT_ACTIONS] = { .name = "actions",
        .text = queue_actions_lua },
    [QUEUE_SCRIPT_ESCALATE] = { .name = "escalate",
        .text = queue_escalate_lua, .late = true },
};

static const enum queue_status queue_code_status[QUEUE_CODE_COUNT_] = {
    [QUEUE_CODE_DUPLICATE] = QUEUE_DUPLICATE,
    [QUEUE_CODE_STORED] = QUEUE_STORED,
    [QUEUE_CODE_UPDATED] = QUEUE_UPDATED,
    [QUEUE_CODE_MISROUTED] = QUEUE_MISROUTED,
    [QUEUE_CODE_DELETED] = QUEUE_DELETED,
    [QUEUE_CODE_UNKNOWN] = QUEUE_UNKNOWN,
};

/* Most keys plus arguments a script or XADD command carries. */
#define QUEUE_ARGS_MAX 24

enum queue_cmd_kind {
    QUEUE_CMD_AUTH,
    QUEUE_CMD_SELECT,
    QUEUE_CMD_SCRIPT_LOAD,
    QUEUE_CMD_GROUP,
    QUEUE_CMD_SCRIPT,           /* EVALSHA of one of queue_scripts */
    QUEUE_CMD_XADD,             /* a dead letter */
};

/* One command sent and not yet answered; lives on q->pending. */
struct queue_cmd {
    TAILQ_ENTRY(queue_cmd) entry;
    struct queue *q;
    enum queue_cmd_kind kind;
    enum queue_script script;   /* QUEUE_CMD_SCRIPT, QUEUE_CMD_SCRIPT_LOAD */
    int64_t sent_us;            /* last send: the watchdog's clock */
    int64_t first_us;           /* first send: the latency histogram's */
    bool eval;                  /* resent as EVAL after NOSCRIPT */

    /* For log lines: the item id (or the platform of a dead letter) and
     * the queue; name is also the queue for QUEUE_CMD_GROUP. */
    char *id;
    char *name;
    /*
     * QUEUE_CMD_SCRIPT: the script's keys (the first nkeys) then its
     * arguments; QUEUE_CMD_XADD: the whole command. Owned copies, back to
     * back in one buffer, each followed by a NUL: argument i starts at
     * abuf + offs[i]. One allocation per command, not one per argument.
     */
    char *abuf;
    size_t alen;
    size_t acap;
    size_t offs[QUEUE_ARGS_MAX];
    size_t lens[QUEUE_ARGS_MAX];
    int nargs;
    int nkeys;
    queue_store_cb *cb;
    queue_value_cb *vcb;        /* instead of cb: the pollers' scripts */
    queue_desk_cb *desk_cb;     /* instead of cb: the desk and events
                                   scripts, which answer JSON */
    void *arg;
};

TAILQ_HEAD(queue_cmd_list, queue_cmd);

struct queue {
    struct event_base *base;
    struct metrics *metrics;

    /* Copied from the config at queue_new. */
    char *host;
    int port;
    char *unix_path;
    char *password;             /* wiped on free, never logged */
    int db;
    char *prefix;
    size_t prefix_len;
    char *group;
    char addr[300];             /* for log lines: "unix:/p" or "host:port" */
    int64_t timeout_ms;
    int64_t reconnect_min_ms;
    int64_t reconnect_max_ms;
    /* From the config, replaced by queue_apply_config; as the decimal
     * strings every store sends. */
    char ingest_maxlen[24];
    char lease_ms[24];
    char audit_maxlen[24];

    redisAsyncContext *ac;      /* live context; NULL while down */
    bool connected;             /* TCP/unix connect done */
    bool up;                    /* script loaded: stores may be sent */
    bool started;
    bool freeing;
    int64_t connect_us;         /* when the live connect began */
    char sha[QUEUE_SCRIPT_COUNT_][QUEUE_SHA_LEN + 1];

    struct queue_cmd_list pending;
    unsigned npending;
    unsigned unflushed;         /* commands since queue_flush_maybe wrote */

    int64_t backoff_ms;         /* next reconnect delay */
    int64_t outage_start_ms;    /* 0 while not in an outage */
    unsigned attempts;          /* connect attempts in this outage */

    /* Queues whose groups are (re)created on every connect. */
    char **names;
    size_t nnames;
    char *names_group;

    struct event *ev_reconnect;
    struct event *ev_watchdog;  /* timeouts, every tick_ms while busy */
    struct event *ev_drop;      /* deferred drop, out of hiredis callbacks */
    redisAsyncContext *drop_ac; /* the context ev_drop is meant for */
    char drop_reason[160];
    int64_t tick_ms;
};

static void queue_connect(struct queue *q);
static void queue_ensure_send(struct queue *q);

const char *
queue_strstatus(enum queue_status st)
{
    switch (st) {
    case QUEUE_STORED:
        return "stored";
    case QUEUE_DUPLICATE:
        return "duplicate";
    case QUEUE_UNAVAILABLE:
        return "unavailable";
    case QUEUE_ERROR:
        return "error";
    case QUEUE_UPDATED:
        return "updated";
    case QUEUE_MISROUTED:
        return "misrouted";
    case QUEUE_DELETED:
        return "deleted";
    case QUEUE_UNKNOWN:
        return "unknown";
    }
    return "?";
}

/* ---------------------------------------------------------------------
 * Commands and the pending FIFO
 * ------------------------------------------------------------------ */

static void
queue_cmd_free(struct queue_cmd *cmd)
{
    if (cmd == NULL)
        return;
    xfree(cmd->id);
    xfree(cmd->name);
    xfree(cmd->abuf);
    xfree(cmd);
}

static struct queue_cmd *
queue_cmd_new(struct queue *q, enum queue_cmd_kind kind)
{
    struct queue_cmd *cmd;

    if ((cmd = xcalloc(1, sizeof(*cmd))) == NULL)
        return NULL;
    cmd->q = q;
    cmd->kind = kind;
    return cmd;
}

static void
queue_watchdog_arm(struct queue *q)
{
    struct timeval tv;

    if (evtimer_pending(q->ev_watchdog, NULL))
        return;
    tv.tv_sec = q->tick_ms / 1000;
    tv.tv_usec = (q->tick_ms % 1000) * 1000;
    evtimer_add(q->ev_watchdog, &tv);
}

static void queue_reply_cb(redisAsyncContext *ac, void *r, void *privdata);

/*
 * hiredis only writes from its write event, that is after everything else
 * ready in this loop turn has run. With many requests arriving together
 * the commands for all of them would reach Redis at once, and Redis and
 * the daemon would take turns instead of working side by side. So write
 * at once when Redis has nothing else to do (its first command of a
 * burst), and then every QUEUE_FLUSH_EVERY commands; the write event
 * sends the rest. docs/performance.md has the measurements.
 */
static void
queue_flush_maybe(struct queue *q)
{
    if (!q->connected)
        return;
    if (q->npending == 1 || ++q->unflushed >= QUEUE_FLUSH_EVERY) {
        int done;

        q->unflushed = 0;
        /*
         * redisBufferWrite rather than redisAsyncHandleWrite: on a write
         * error it only marks the context, and the write event hiredis
         * keeps armed then reports it from the loop. Callbacks never run
         * from inside queue_send, where the caller still holds its cmd.
         */
        (void)redisBufferWrite(&q->ac->c, &done);
    }
}

/* Append "<c><n>\r\n" at d; returns the end. */
static char *
queue_resp_head(char *d, char c, size_t n)
{
    char num[24], *p = util_utoa(num + sizeof(num), n);
    size_t l = (size_t)(num + sizeof(num) - p);

    *d++ = c;
    memcpy(d, p, l);
    d += l;
    *d++ = '\r';
    *d++ = '\n';
    return d;
}

/*
 * Send argv on the live connection with cmd as the callback's data and
 * put cmd on the pending FIFO. -1 when hiredis refuses (the context is
 * disconnecting or out of memory); cmd is then still the caller's. The
 * command is put in Redis's protocol here, in one buffer: hiredis's own
 * formatting (a printf-like call per argument) cost more than all of
 * the store's argument building.
 */
static int
queue_send(struct queue *q, struct queue_cmd *cmd, int argc,
    const char **argv, const size_t *lens)
{
    size_t len = 32;
    char *buf, *d;
    int rc;

    if (q->ac == NULL)
        return -1;
    for (int i = 0; i < argc; i++)
        len += lens[i] + 32;
    if ((buf = xmalloc(len)) == NULL)
        return -1;
    d = queue_resp_head(buf, '*', (size_t)argc);
    for (int i = 0; i < argc; i++) {
        d = queue_resp_head(d, '$', lens[i]);
        memcpy(d, argv[i], lens[i]);
        d += lens[i];
        *d++ = '\r';
        *d++ = '\n';
    }
    rc = redisAsyncFormattedCommand(q->ac, queue_reply_cb, cmd, buf,
        (size_t)(d - buf));
    xfree(buf);
    if (rc != REDIS_OK)
        return -1;
    cmd->sent_us = util_mono_us();
    if (cmd->first_us == 0)
        cmd->first_us = cmd->sent_us;
    TAILQ_INSERT_TAIL(&q->pending, cmd, entry);
    q->npending++;
    queue_watchdog_arm(q);
    queue_flush_maybe(q);
    return 0;
}

/* Send a command whose arguments are all C strings. */
static int
queue_send_strs(struct queue *q, struct queue_cmd *cmd, int argc,
    const char **argv)
{
    size_t lens[8];

    for (int i = 0; i < argc; i++)
        lens[i] = strlen(argv[i]);
    return queue_send(q, cmd, argc, argv, lens);
}

/* ---------------------------------------------------------------------
 * Connection state
 * ------------------------------------------------------------------ */

static void
queue_schedule_reconnect(struct queue *q)
{
    struct timeval tv;
    int64_t ms = q->backoff_ms;

    if (q->freeing || evtimer_pending(q->ev_reconnect, NULL))
        return;
    tv.tv_sec = ms / 1000;
    tv.tv_usec = (ms % 1000) * 1000;
    evtimer_add(q->ev_reconnect, &tv);
    log_debug("queue", "next connect to %s in %lld ms", q->addr,
        (long long)ms);
    q->backoff_ms = ms * 2 > q->reconnect_max_ms ? q->reconnect_max_ms :
        ms * 2;
}

/*
 * The connection is gone or abandoned (q->ac already cleared by the
 * caller). Warn once per outage, debug on every later failure, and
 * schedule the next attempt.
 */
static void
queue_mark_down(struct queue *q, const char *why, const char *kind)
{
    /* up may already be false (a dying context's callbacks clear it). */
    bool was_up = q->up || q->connected;

    q->up = false;
    q->connected = false;
    if (q->freeing)
        return;
    metrics_set(q->metrics, "inboxd_redis_up", NULL, NULL, 0);
    if (kind != NULL)
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind", kind,
            1);
    if (q->outage_start_ms == 0) {
        q->outage_start_ms = util_now_ms();
        q->attempts = 0;
        log_warnx("redis at %s %s: %s; reconnecting", q->addr,
            was_up ? "lost" : "unavailable", why);
    } else {
        log_debug("queue", "redis at %s: %s", q->addr, why);
    }
    queue_schedule_reconnect(q);
}

/*
 * Forget the live context because it is being freed, by us or by hiredis,
 * and any drop still planned for it. Returns it.
 */
static redisAsyncContext *
queue_detach(struct queue *q)
{
    redisAsyncContext *ac = q->ac;

    q->ac = NULL;
    q->drop_ac = NULL;
    if (q->ev_drop != NULL)
        evtimer_del(q->ev_drop);
    return ac;
}

/*
 * Drop the live connection now. Not from inside a hiredis callback
 * (queue_drop_later is for that). Every pending callback fires with a
 * NULL reply before this returns.
 */
static void
queue_drop(struct queue *q, const char *why, const char *kind)
{
    redisAsyncContext *ac;

    if ((ac = queue_detach(q)) == NULL)
        return;
    queue_mark_down(q, why, kind);
    redisAsyncFree(ac);
    if (TAILQ_EMPTY(&q->pending))
        evtimer_del(q->ev_watchdog);
}

static void
queue_drop_cb(evutil_socket_t fd, short what, void *arg)
{
    struct queue *q = arg;
    redisAsyncContext *ac = q->drop_ac;

    (void)fd;
    (void)what;
    q->drop_ac = NULL;
    if (ac != NULL && ac == q->ac)
        queue_drop(q, q->drop_reason, NULL);
}

/* Ask for a drop of the live connection once the current callback ends. */
static void
queue_drop_later(struct queue *q, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
queue_drop_later(struct queue *q, const char *fmt, ...)
{
    struct timeval zero = { 0, 0 };
    va_list ap;

    if (q->ac == NULL || q->drop_ac == q->ac)
        return;
    q->up = false;
    q->drop_ac = q->ac;
    va_start(ap, fmt);
    vsnprintf(q->drop_reason, sizeof(q->drop_reason), fmt, ap);
    va_end(ap);
    evtimer_add(q->ev_drop, &zero);
}

/* A late script while AUTH is part of the handshake: loaded after it. */
static bool
queue_script_deferred(const struct queue *q, int i)
{
    return queue_scripts[i].late && q->password != NULL;
}

/* Is script the last one loaded in its round (deferred or not)? */
static bool
queue_script_is_last(const struct queue *q, enum queue_script script,
    bool deferred)
{
    for (int i = QUEUE_SCRIPT_COUNT_ - 1; i >= 0; i--) {
        if (queue_script_deferred(q, i) == deferred)
            return (int)script == i;
    }
    return false;
}

/*
 * SCRIPT LOAD the deferred scripts. Returns how many were sent; -1
 * (after asking for a drop) when one could not be.
 */
static int
queue_load_late(struct queue *q)
{
    struct queue_cmd *cmd;
    const char *argv[3];
    int n = 0;

    for (int i = 0; i < QUEUE_SCRIPT_COUNT_; i++) {
        if (!queue_script_deferred(q, i))
            continue;
        if ((cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT_LOAD)) == NULL)
            goto fail;
        cmd->script = (enum queue_script)i;
        argv[0] = "SCRIPT";
        argv[1] = "LOAD";
        argv[2] = queue_scripts[i].text;
        if (queue_send_strs(q, cmd, 3, argv) == -1) {
            queue_cmd_free(cmd);
            goto fail;
        }
        n++;
    }
    return n;
fail:
    queue_drop_later(q, "cannot send the handshake");
    return -1;
}

static void
queue_set_up(struct queue *q)
{
    q->up = true;
    q->backoff_ms = q->reconnect_min_ms;
    metrics_set(q->metrics, "inboxd_redis_up", NULL, NULL, 1);
    if (q->outage_start_ms != 0) {
        log_info("connected to redis at %s (back after %.1f s outage)",
            q->addr, (double)(util_now_ms() - q->outage_start_ms) / 1000.0);
        q->outage_start_ms = 0;
    } else {
        log_info("connected to redis at %s", q->addr);
    }
    queue_ensure_send(q);
}

static void
queue_connect_cb(const redisAsyncContext *cac, int status)
{
    struct queue *q = cac->data;
    struct queue_cmd *cmd;
    const char *argv[3];
    char dbstr[16];

    if (q == NULL || q->ac != cac)
        return;
    if (status != REDIS_OK) {
        /* hiredis frees the context when this returns. */
        queue_detach(q);
        queue_mark_down(q, cac->errstr[0] ? cac->errstr : "connect failed",
            NULL);
        return;
    }
    q->connected = true;
    log_debug("queue", "connected to %s, handshake", q->addr);

    /* AUTH, SELECT and the SCRIPT LOADs are pipelined; replies come in
     * order, and the last script's makes the module up. */
    if (q->password != NULL) {
        if ((cmd = queue_cmd_new(q, QUEUE_CMD_AUTH)) == NULL)
            goto fail;
        argv[0] = "AUTH";
        argv[1] = q->password;
        if (queue_send_strs(q, cmd, 2, argv) == -1) {
            queue_cmd_free(cmd);
            goto fail;
        }
    }
    if (q->db != 0) {
        if ((cmd = queue_cmd_new(q, QUEUE_CMD_SELECT)) == NULL)
            goto fail;
        snprintf(dbstr, sizeof(dbstr), "%d", q->db);
        argv[0] = "SELECT";
        argv[1] = dbstr;
        if (queue_send_strs(q, cmd, 2, argv) == -1) {
            queue_cmd_free(cmd);
            goto fail;
        }
    }
    for (int i = 0; i < QUEUE_SCRIPT_COUNT_; i++) {
        if (queue_script_deferred(q, i))
            continue;
        if ((cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT_LOAD)) == NULL)
            goto fail;
        cmd->script = (enum queue_script)i;
        argv[0] = "SCRIPT";
        argv[1] = "LOAD";
        argv[2] = queue_scripts[i].text;
        if (queue_send_strs(q, cmd, 3, argv) == -1) {
            queue_cmd_free(cmd);
            goto fail;
        }
    }
    return;
fail:
    queue_drop_later(q, "cannot send the handshake");
}

static void
queue_disconnect_cb(const redisAsyncContext *cac, int status)
{
    struct queue *q = cac->data;

    /* A context we dropped ourselves was already accounted for. */
    if (q == NULL || q->ac != cac)
        return;
    queue_detach(q);
    queue_mark_down(q, status == REDIS_OK || cac->errstr[0] == '\0' ?
        "disconnected" : cac->errstr, "disconnect");
    if (TAILQ_EMPTY(&q->pending))
        evtimer_del(q->ev_watchdog);
}

static void
queue_connect(struct queue *q)
{
    redisAsyncContext *ac;
    char why[160];

    q->attempts++;
    log_debug("queue", "connecting to redis at %s (attempt %u)", q->addr,
        q->attempts);
    if (q->unix_path != NULL)
        ac = redisAsyncConnectUnix(q->unix_path);
    else
        ac = redisAsyncConnect(q->host, q->port);
    if (ac == NULL) {
        queue_mark_down(q, "out of memory", NULL);
        return;
    }
    if (ac->err) {
        snprintf(why, sizeof(why), "%s", ac->errstr);
        redisAsyncFree(ac);
        queue_mark_down(q, why, NULL);
        return;
    }
    ac->data = q;
    if (redisLibeventAttach(ac, q->base) != REDIS_OK) {
        redisAsyncFree(ac);
        queue_mark_down(q, "cannot attach to the event loop", NULL);
        return;
    }
    redisAsyncSetConnectCallback(ac, queue_connect_cb);
    redisAsyncSetDisconnectCallback(ac, queue_disconnect_cb);
    q->ac = ac;
    q->connected = false;
    q->connect_us = util_mono_us();
    queue_watchdog_arm(q);
}

static void
queue_reconnect_cb(evutil_socket_t fd, short what, void *arg)
{
    struct queue *q = arg;

    (void)fd;
    (void)what;
    if (q->ac != NULL)
        return;
    metrics_add(q->metrics, "inboxd_redis_reconnects_total", NULL, NULL, 1);
    queue_connect(q);
}

/*
 * Runs every tick_ms while a connect or a command is outstanding. The
 * head of the FIFO is the oldest command unanswered, since Redis answers
 * in order on one connection.
 */
static void
queue_watchdog_cb(evutil_socket_t fd, short what, void *arg)
{
    struct queue *q = arg;
    struct queue_cmd *head = TAILQ_FIRST(&q->pending);
    int64_t now = util_mono_us(), age_ms;
    char why[128];

    (void)fd;
    (void)what;
    if (q->ac != NULL && !q->connected) {
        age_ms = (now - q->connect_us) / 1000;
        if (age_ms >= q->timeout_ms) {
            snprintf(why, sizeof(why), "connect timed out after %lld ms",
                (long long)age_ms);
            queue_drop(q, why, "timeout");
            return;
        }
    } else if (head != NULL && q->ac != NULL) {
        age_ms = (now - head->sent_us) / 1000;
        if (age_ms >= q->timeout_ms) {
            snprintf(why, sizeof(why), "no reply for %lld ms with %u "
                "pending, dropping the connection", (long long)age_ms,
                q->npending);
            queue_drop(q, why, "timeout");
            return;
        }
    }
    if (q->ac == NULL || (q->connected && TAILQ_EMPTY(&q->pending)))
        return;
    queue_watchdog_arm(q);
}

/* ---------------------------------------------------------------------
 * Replies
 * ------------------------------------------------------------------ */

static bool
queue_reply_is_error(const redisReply *r, const char *prefix)
{
    size_t n = strlen(prefix);

    return r->type == REDIS_REPLY_ERROR && r->len >= n &&
        memcmp(r->str, prefix, n) == 0;
}

static int
queue_err_len(const redisReply *r)
{
    return r->len > QUEUE_ERR_MAX ? QUEUE_ERR_MAX : (int)r->len;
}

static int queue_script_send(struct queue *q, struct queue_cmd *cmd);

/*
 * The reply of a script that answers JSON, the desk's or the events'
 * (r not NULL): one JSON object. An error is the script's own failure (a
 * bug, or a key of the wrong type), logged here.
 */
static void
queue_desk_reply(struct queue *q, struct queue_cmd *cmd, redisReply *r)
{
    const char *what = queue_scripts[cmd->script].name;
    enum queue_status st = QUEUE_ERROR;
    json_t *reply = NULL;
    json_error_t jerr;

    if (r->type == REDIS_REPLY_ERROR) {
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind",
            "error", 1);
        log_warnx("redis %s %s failed: %.*s", what, cmd->name,
            queue_err_len(r), r->str);
    } else if (r->type != REDIS_REPLY_STRING ||
        (reply = json_loadb(r->str, r->len, 0, &jerr)) == NULL ||
        !json_is_object(reply)) {
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind",
            "error", 1);
        log_warnx("redis %s %s: unexpected reply type %d", what, cmd->name,
            r->type);
    } else {
        st = QUEUE_UPDATED;
    }
    cmd->desk_cb(st, st == QUEUE_UPDATED ? reply : NULL, cmd->arg);
    json_decref(reply);
    queue_cmd_free(cmd);
}

/* The reply to a script or a dead letter; fires the caller's callback. */
static void
queue_script_reply(struct queue *q, struct queue_cmd *cmd, redisReply *r)
{
    enum queue_status st = QUEUE_ERROR;
    const char *qname = NULL, *sid = NULL;
    size_t want = cmd->vcb != NULL ? 2 : 3;
    const char *what = cmd->kind == QUEUE_CMD_XADD ? "dead letter" :
        queue_scripts[cmd->script].name;
    redisReply **e;

    if (r == NULL) {
        st = QUEUE_UNAVAILABLE;
        goto done;
    }
    if (cmd->kind == QUEUE_CMD_SCRIPT && !cmd->eval &&
        queue_reply_is_error(r, "NOSCRIPT")) {
        /* Script cache emptied (restart, SCRIPT FLUSH): EVAL caches it. */
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind",
            "noscript", 1);
        log_item_debug("queue", cmd->id, "NOSCRIPT, resending %s as EVAL",
            what);
        cmd->eval = true;
        if (queue_script_send(q, cmd) == 0)
            return;
        st = QUEUE_UNAVAILABLE;
        goto done;
    }
    metrics_observe(q->metrics, "inboxd_redis_latency_seconds",
        (double)(util_mono_us() - cmd->first_us) / 1e6);
    if (cmd->desk_cb != NULL) {
        queue_desk_reply(q, cmd, r);
        return;
    }
    if (r->type == REDIS_REPLY_ERROR) {
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind",
            "error", 1);
        log_item_warnx(cmd->id, "redis %s into %s failed: %.*s", what,
            cmd->name, queue_err_len(r), r->str);
        goto done;
    }
    if (cmd->kind == QUEUE_CMD_XADD && r->type == REDIS_REPLY_STRING) {
        st = QUEUE_STORED;
        sid = r->str;
        goto done;
    }
    e = r->element;
    /* A store that gave the item to its conversation's holder says so. */
    if (cmd->kind == QUEUE_CMD_SCRIPT && cmd->script == QUEUE_SCRIPT_STORE &&
        r->type == REDIS_REPLY_ARRAY && r->elements == 4 &&
        e[3]->type == REDIS_REPLY_INTEGER && e[3]->integer > 0) {
        metrics_add(q->metrics, "inboxd_sticky_assignments_total", NULL,
            NULL, (double)e[3]->integer);
        want = 4;
    }
    if (cmd->kind != QUEUE_CMD_SCRIPT || r->type != REDIS_REPLY_ARRAY ||
        r->elements != want || e[0]->type != REDIS_REPLY_INTEGER ||
        e[0]->integer < 0 || e[0]->integer >= QUEUE_CODE_COUNT_ ||
        e[1]->type != REDIS_REPLY_STRING ||
        (want >= 3 && e[2]->type != REDIS_REPLY_STRING)) {
        metrics_add(q->metrics, "inboxd_redis_errors_total", "kind",
            "error", 1);
        log_item_warnx(cmd->id, "redis %s: unexpected reply type %d", what,
            r->type);
        goto done;
    }
    st = queue_code_status[e[0]->integer];
    /* "" is a tombstone's: it has no queue and no stream entry. */
    qname = e[1]->len > 0 ? e[1]->str : NULL;
    sid = want >= 3 && e[2]->len > 0 ? e[2]->str : NULL;
    log_item_debug("queue", cmd->id, "%s: %s in %s as %s", what,
        queue_strstatus(st), qname ? qname : "-", sid ? sid : "-");
done:
    if (cmd->desk_cb != NULL)
        cmd->desk_cb(st, NULL, cmd->arg);
    else if (cmd->vcb != NULL)
        cmd->vcb(st, qname, cmd->arg);    /* the value, for these */
    else
        cmd->cb(st, qname, sid, cmd->arg);
    queue_cmd_free(cmd);
}

static void
queue_handshake_reply(struct queue *q, struct queue_cmd *cmd, redisReply *r)
{
    static const char *const what[] = {
        [QUEUE_CMD_AUTH] = "AUTH",
        [QUEUE_CMD_SELECT] = "SELECT",
        [QUEUE_CMD_SCRIPT_LOAD] = "SCRIPT LOAD",
    };

    if (r == NULL)
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        /* Only the first failure is logged; the rest follow from it. */
        if (q->drop_ac == NULL)
            log_debug("queue", "%s: %.*s", what[cmd->kind],
                queue_err_len(r), r->str);
        queue_drop_later(q, "%s failed: %.*s", what[cmd->kind],
            queue_err_len(r), r->str);
        return;
    }
    if (cmd->kind != QUEUE_CMD_SCRIPT_LOAD)
        return;
    if (r->type != REDIS_REPLY_STRING || r->len != QUEUE_SHA_LEN) {
        queue_drop_later(q, "SCRIPT LOAD: unexpected reply type %d",
            r->type);
        return;
    }
    memcpy(q->sha[cmd->script], r->str, QUEUE_SHA_LEN);
    q->sha[cmd->script][QUEUE_SHA_LEN] = '\0';
    if (q->drop_ac != NULL || !q->connected)
        return;
    if (queue_script_is_last(q, cmd->script, false) &&
        queue_load_late(q) == 0)
        queue_set_up(q);
    else if (queue_script_is_last(q, cmd->script, true))
        queue_set_up(q);
}

/*
 * The group last given to queue_ensure_groups (a reload may change it),
 * so a stream a script creates gets the same group.
 */
static const char *
queue_group(const struct queue *q)
{
    return q->names_group ? q->names_group : q->group;
}

static void
queue_group_reply(struct queue *q, struct queue_cmd *cmd, redisReply *r)
{
    if (r == NULL || queue_reply_is_error(r, "BUSYGROUP"))
        return;
    if (r->type == REDIS_REPLY_ERROR) {
        log_warnx("redis at %s: XGROUP CREATE for queue %s: %.*s", q->addr,
            cmd->name, queue_err_len(r), r->str);
        return;
    }
    log_debug("queue", "group %s created for queue %s", queue_group(q),
        cmd->name);
}

/*
 * Every command's reply, or NULL when its connection is being freed
 * (lost, dropped, or queue_free). Exactly one call per command sent.
 */
static void
queue_reply_cb(redisAsyncContext *ac, void *r, void *privdata)
{
    struct queue_cmd *cmd = privdata;
    struct queue *q = cmd->q;
    redisReply *reply = r;

    TAILQ_REMOVE(&q->pending, cmd, entry);
    q->npending--;
    /* The context is dying: refuse stores from the callbacks below. */
    if (reply == NULL && q->ac == ac)
        q->up = false;

    switch (cmd->kind) {
    case QUEUE_CMD_SCRIPT:
    case QUEUE_CMD_XADD:
        queue_script_reply(q, cmd, reply);
        return;             /* it frees or resends cmd */
    case QUEUE_CMD_GROUP:
        queue_group_reply(q, cmd, reply);
        break;
    default:
        queue_handshake_reply(q, cmd, reply);
        break;
    }
    queue_cmd_free(cmd);
}

/* ---------------------------------------------------------------------
 * Public interface
 * ------------------------------------------------------------------ */

void
queue_apply_config(struct queue *q, const struct config *cfg)
{
    int64_t cap = cfg->queue.ingest_maxlen;
    int64_t lease = cfg->queue.lease_ms;
    int64_t audit = cfg->queue.audit_maxlen;

    snprintf(q->ingest_maxlen, sizeof(q->ingest_maxlen), "%lld",
        (long long)(cap > 0 ? cap : 0));
    snprintf(q->lease_ms, sizeof(q->lease_ms), "%lld",
        (long long)(lease > 0 ? lease : QUEUE_DEFAULT_LEASE));
    snprintf(q->audit_maxlen, sizeof(q->audit_maxlen), "%lld",
        (long long)(audit > 0 ? audit : QUEUE_DEFAULT_AUDIT));
}

struct queue *
queue_new(struct event_base *base, const struct config *cfg,
    struct metrics *metrics)
{
    const struct config_redis *rc = &cfg->redis;
    struct queue *q;

    if ((q = xcalloc(1, sizeof(*q))) == NULL)
        return NULL;
    q->base = base;
    q->metrics = metrics;
    TAILQ_INIT(&q->pending);
    q->port = rc->port;
    q->db = rc->db;
    if (rc->unix_path != NULL) {
        if ((q->unix_path = xstrdup(rc->unix_path)) == NULL)
            goto fail;
        snprintf(q->addr, sizeof(q->addr), "unix:%s", q->unix_path);
    } else {
        if ((q->host = xstrdup(rc->host ? rc->host : "127.0.0.1")) == NULL)
            goto fail;
        if (q->port <= 0)
            q->port = 6379;
        snprintf(q->addr, sizeof(q->addr), "%s%s%s:%d",
            strchr(q->host, ':') ? "[" : "", q->host,
            strchr(q->host, ':') ? "]" : "", q->port);
    }
    if (rc->password != NULL && (q->password = xstrdup(rc->password)) ==
        NULL)
        goto fail;
    if ((q->prefix = xstrdup(rc->prefix ? rc->prefix :
        QUEUE_DEFAULT_PREFIX)) == NULL)
        goto fail;
    q->prefix_len = strlen(q->prefix);
    if ((q->group = xstrdup(cfg->queue.group ? cfg->queue.group :
        QUEUE_DEFAULT_GROUP)) == NULL)
        goto fail;
    q->timeout_ms = rc->timeout_ms > 0 ? rc->timeout_ms :
        QUEUE_DEFAULT_TIMEOUT;
    q->reconnect_min_ms = rc->reconnect_min_ms > 0 ? rc->reconnect_min_ms :
        QUEUE_DEFAULT_RMIN;
    q->reconnect_max_ms = rc->reconnect_max_ms >= q->reconnect_min_ms ?
        rc->reconnect_max_ms : (q->reconnect_min_ms > QUEUE_DEFAULT_RMAX ?
        q->reconnect_min_ms : QUEUE_DEFAULT_RMAX);
    q->backoff_ms = q->reconnect_min_ms;
    queue_apply_config(q, cfg);
    /* Check often enough to notice a timeout within about a quarter. */
    q->tick_ms = q->timeout_ms / 4;
    if (q->tick_ms > 100)
        q->tick_ms = 100;
    if (q->tick_ms < 10)
        q->tick_ms = 10;

    if ((q->ev_reconnect = evtimer_new(base, queue_reconnect_cb, q)) ==
        NULL || (q->ev_watchdog = evtimer_new(base, queue_watchdog_cb,
        q)) == NULL || (q->ev_drop = evtimer_new(base, queue_drop_cb,
        q)) == NULL)
        goto fail;
    return q;
fail:
    log_warnx("out of memory");
    queue_free(q);
    return NULL;
}

int
queue_start(struct queue *q)
{
    if (q->started)
        return 0;
    q->started = true;
    metrics_set(q->metrics, "inboxd_redis_up", NULL, NULL, 0);
    queue_connect(q);
    return 0;
}

/* Build the key "<prefix><mid><name>". */
static char *
queue_key(const struct queue *q, const char *mid, const char *name)
{
    size_t n = strlen(q->prefix) + strlen(mid) + strlen(name) + 1;
    char *k;

    if ((k = xmalloc(n)) == NULL)
        return NULL;
    snprintf(k, n, "%s%s%s", q->prefix, mid, name);
    return k;
}

/* Send cmd: EVALSHA (or EVAL) of its script, or its XADD as it is. */
static int
queue_script_send(struct queue *q, struct queue_cmd *cmd)
{
    const char *argv[QUEUE_ARGS_MAX + 3];
    size_t lens[QUEUE_ARGS_MAX + 3];
    char nbuf[24];
    int n = 0;

    if (cmd->kind == QUEUE_CMD_SCRIPT) {
        const char *nkeys;

        nbuf[sizeof(nbuf) - 1] = '\0';
        nkeys = util_utoa(nbuf + sizeof(nbuf) - 1,
            (unsigned long long)cmd->nkeys);
        argv[0] = cmd->eval ? "EVAL" : "EVALSHA";
        argv[1] = cmd->eval ? queue_scripts[cmd->script].text :
            q->sha[cmd->script];
        argv[2] = nkeys;
        for (n = 0; n < 3; n++)
            lens[n] = strlen(argv[n]);
    }
    for (int i = 0; i < cmd->nargs; i++, n++) {
        argv[n] = cmd->abuf + cmd->offs[i];
        lens[n] = cmd->lens[i];
    }
    return queue_send(q, cmd, n, argv, lens);
}

/* Make room for len more bytes of arguments; the buffer may move. */
static int
queue_cmd_reserve(struct queue_cmd *cmd, size_t len)
{
    size_t cap = cmd->acap > 0 ? cmd->acap : 256;
    char *b;

    if (cmd->alen + len <= cmd->acap)
        return 0;
    while (cap < cmd->alen + len)
        cap *= 2;
    if ((b = xrealloc(cmd->abuf, cap)) == NULL)
        return -1;
    cmd->abuf = b;
    cmd->acap = cap;
    return 0;
}

/* Append one argument made of n pieces, copied (an empty piece may be
 * NULL). */
static int
queue_cmd_cat(struct queue_cmd *cmd, const char *const *p, const size_t *l,
    int n)
{
    size_t len = 0;
    char *d;

    for (int i = 0; i < n; i++)
        len += l[i];
    if (cmd->nargs == QUEUE_ARGS_MAX || queue_cmd_reserve(cmd, len + 1) == -1)
        return -1;
    d = cmd->abuf + cmd->alen;
    cmd->offs[cmd->nargs] = cmd->alen;
    cmd->lens[cmd->nargs++] = len;
    for (int i = 0; i < n; i++) {
        if (l[i] > 0)
            memcpy(d, p[i], l[i]);
        d += l[i];
    }
    *d = '\0';
    cmd->alen += len + 1;
    return 0;
}

/* Append a copy of len bytes to cmd's arguments. */
static int
queue_cmd_arg(struct queue_cmd *cmd, const void *p, size_t len)
{
    const char *s = p;

    return queue_cmd_cat(cmd, &s, &len, 1);
}

static int
queue_cmd_str(struct queue_cmd *cmd, const char *s)
{
    return queue_cmd_arg(cmd, s, strlen(s));
}

/* Argument i, NUL-terminated; valid until the next argument is added. */
static const char *
queue_cmd_argv(const struct queue_cmd *cmd, int i)
{
    return cmd->abuf + cmd->offs[i];
}

static int
queue_cmd_num(struct queue_cmd *cmd, long long v)
{
    char s[24], *e = s + sizeof(s), *d;

    /* Per store, so not snprintf. */
    d = util_utoa(e, v < 0 ? 0ULL - (unsigned long long)v :
        (unsigned long long)v);
    if (v < 0)
        *--d = '-';
    return queue_cmd_arg(cmd, d, (size_t)(e - d));
}

/* Append the key "<prefix><mid><name>". */
static int
queue_cmd_key(struct queue *q, struct queue_cmd *cmd, const char *mid,
    const char *name)
{
    const char *p[] = { q->prefix, mid, name };
    size_t l[] = { q->prefix_len, strlen(mid), strlen(name) };

    return queue_cmd_cat(cmd, p, l, 3);
}

/* EXPIRE takes whole seconds: round up so an item never dies early. */
static long long
queue_ttl_s(int64_t ttl_ms)
{
    return ttl_ms <= 0 ? 0 : (long long)((ttl_ms + 999) / 1000);
}

/* A script command for item_id, with the id and queue for log lines. */
static struct queue_cmd *
queue_script_new(struct queue *q, enum queue_script script,
    const char *item_id, const char *queue, queue_store_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    if ((cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT)) == NULL)
        return NULL;
    cmd->script = script;
    cmd->cb = cb;
    cmd->arg = arg;
    if ((cmd->id = xstrdup(item_id)) == NULL ||
        (queue != NULL && (cmd->name = xstrdup(queue)) == NULL)) {
        queue_cmd_free(cmd);
        return NULL;
    }
    return cmd;
}

/*
 * Store and update share their keys and first seven arguments; at_ms is
 * the time they record (0: now).
 */
static int
queue_item_args(struct queue *q, struct queue_cmd *cmd, const char *item_id,
    const char *queue, const char *json, size_t jsonlen, int64_t ttl_ms,
    int64_t at_ms)
{
    size_t idlen = strlen(item_id), qlen = strlen(queue);

    cmd->nkeys = 3;
    /* All of a store's arguments in one allocation, as a rule. */
    if (queue_cmd_reserve(cmd, jsonlen + 3 * q->prefix_len +
        2 * (idlen + qlen) + 512) == -1 ||
        queue_cmd_key(q, cmd, "item:", item_id) == -1 ||
        queue_cmd_key(q, cmd, "q:", queue) == -1 ||
        queue_cmd_key(q, cmd, "ingest", "") == -1 ||
        queue_cmd_arg(cmd, json, jsonlen) == -1 ||
        queue_cmd_arg(cmd, queue, qlen) == -1 ||
        queue_cmd_num(cmd, queue_ttl_s(ttl_ms)) == -1 ||
        queue_cmd_num(cmd, (long long)(at_ms > 0 ? at_ms : util_now_ms())) ==
        -1 ||
        queue_cmd_str(cmd, queue_group(q)) == -1 ||
        queue_cmd_arg(cmd, item_id, idlen) == -1 ||
        queue_cmd_str(cmd, q->ingest_maxlen) == -1)
        return -1;
    return 0;
}

/* Send a built command, or free it: -1 then, and cb will not fire. */
static int
queue_submit(struct queue *q, struct queue_cmd *cmd, const char *id)
{
    if (cmd != NULL && queue_script_send(q, cmd) == 0)
        return 0;
    log_item_warnx(id, "cannot send the command to redis");
    queue_cmd_free(cmd);
    return -1;
}

int
queue_store(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms, queue_store_cb *cb,
    void *arg)
{
    return queue_store_with(q, item_id, queue, json, jsonlen, ttl_ms, NULL,
        cb, arg);
}

/* The ready-queue score the desk gives an item (docs/redis.md). */
static long long
queue_prio(int64_t received_ms, double score)
{
    long long b = score > 0 ? (long long)(score * 10 + 1e-6) : 0;

    if (b > 2000)
        b = 2000;
    return (long long)received_ms - b * 4398046511104LL;     /* 2^42 */
}

int
queue_store_with(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms,
    const struct queue_store_opts *o, queue_store_cb *cb, void *arg)
{
    const struct queue_auto_action *act = o != NULL ? o->act : NULL;
    const char *conv = o != NULL && o->conv != NULL ? o->conv : "";
    struct queue_cmd *cmd;
    bool ok;

    if (!q->up || q->ac == NULL)
        return -1;
    if ((cmd = queue_script_new(q, QUEUE_SCRIPT_STORE, item_id, queue, cb,
        arg)) == NULL)
        return queue_submit(q, NULL, item_id);
    ok = queue_item_args(q, cmd, item_id, queue, json, jsonlen, ttl_ms,
        o != NULL ? o->received_ms : 0) == 0;
    /* ARGV[4] is the received-at time queue_item_args just wrote. */
    if (ok)
        ok = (o != NULL ? queue_cmd_num(cmd, queue_prio(strtoll(
            queue_cmd_argv(cmd, cmd->nkeys + 3), NULL, 10), o->score)) :
            queue_cmd_str(cmd, "")) == 0 &&
            queue_cmd_str(cmd, conv) == 0 &&
            queue_cmd_str(cmd, q->prefix) == 0 &&
            queue_cmd_str(cmd, q->lease_ms) == 0 &&
            queue_cmd_str(cmd, q->audit_maxlen) == 0;
    if (ok && act != NULL)
        ok = queue_cmd_str(cmd, act->type) == 0 &&
            queue_cmd_str(cmd, act->by) == 0 &&
            queue_cmd_str(cmd, act->dry_run ? "1" : "0") == 0 &&
            queue_cmd_str(cmd, act->platform) == 0 &&
            queue_cmd_str(cmd, act->account) == 0 &&
            queue_cmd_key(q, cmd, "actions", "") == 0 &&
            queue_cmd_str(cmd, act->dequeue ? "1" : "0") == 0;
    if (!ok) {
        queue_cmd_free(cmd);
        cmd = NULL;
    }
    return queue_submit(q, cmd, item_id);
}

int
queue_update(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms, int64_t at_ms,
    bool restore, queue_store_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    if (!q->up || q->ac == NULL)
        return -1;
    if ((cmd = queue_script_new(q, QUEUE_SCRIPT_UPDATE, item_id, queue, cb,
        arg)) != NULL && (queue_item_args(q, cmd, item_id, queue, json,
        jsonlen, ttl_ms, at_ms) == -1 ||
        queue_cmd_str(cmd, restore ? "restore" : "edit") == -1)) {
        queue_cmd_free(cmd);
        cmd = NULL;
    }
    return queue_submit(q, cmd, item_id);
}

int
queue_mark(struct queue *q, const char *item_id, enum queue_mark mark,
    const char *actor, int64_t ttl_ms, int64_t at_ms, queue_store_cb *cb,
    void *arg)
{
    static const char *const names[] = {
        [QUEUE_MARK_DELETED] = "deleted",
        [QUEUE_MARK_HIDDEN] = "hidden",
        [QUEUE_MARK_UNHIDDEN] = "unhidden",
    };
    struct queue_cmd *cmd;

    if (!q->up || q->ac == NULL)
        return -1;
    if ((cmd = queue_script_new(q, QUEUE_SCRIPT_MARK, item_id, NULL, cb,
        arg)) == NULL)
        return queue_submit(q, NULL, item_id);
    cmd->nkeys = 1;
    if (queue_cmd_key(q, cmd, "item:", item_id) == -1 ||
        queue_cmd_str(cmd, names[mark]) == -1 ||
        queue_cmd_num(cmd, (long long)(at_ms > 0 ? at_ms : util_now_ms())) ==
        -1 || queue_cmd_str(cmd, actor != NULL ? actor : "") == -1 ||
        queue_cmd_num(cmd, queue_ttl_s(ttl_ms)) == -1 ||
        queue_cmd_str(cmd, queue_group(q)) == -1 ||
        queue_cmd_str(cmd, q->prefix) == -1) {
        queue_cmd_free(cmd);
        cmd = NULL;
    }
    return queue_submit(q, cmd, item_id);
}

int
queue_deadletter(struct queue *q, const struct queue_deadletter *dl,
    int64_t maxlen, queue_store_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    if (!q->up || q->ac == NULL)
        return -1;
    if ((cmd = queue_cmd_new(q, QUEUE_CMD_XADD)) == NULL)
        return queue_submit(q, NULL, NULL);
    cmd->cb = cb;
    cmd->arg = arg;
    if ((cmd->name = xstrdup("deadletter")) == NULL ||
        queue_cmd_str(cmd, "XADD") == -1 ||
        queue_cmd_key(q, cmd, "deadletter", "") == -1 ||
        (maxlen > 0 && (queue_cmd_str(cmd, "MAXLEN") == -1 ||
        queue_cmd_str(cmd, "~") == -1 ||
        queue_cmd_num(cmd, (long long)maxlen) == -1)) ||
        queue_cmd_str(cmd, "*") == -1 ||
        queue_cmd_str(cmd, "platform") == -1 ||
        queue_cmd_str(cmd, dl->platform) == -1 ||
        queue_cmd_str(cmd, "reason") == -1 ||
        queue_cmd_str(cmd, dl->reason) == -1 ||
        queue_cmd_str(cmd, "received_at") == -1 ||
        queue_cmd_num(cmd, (long long)(dl->received_ms > 0 ?
        dl->received_ms : util_now_ms())) == -1 ||
        (dl->account != NULL && (queue_cmd_str(cmd, "account") == -1 ||
        queue_cmd_str(cmd, dl->account) == -1)) ||
        (dl->delivery != NULL && (queue_cmd_str(cmd, "delivery") == -1 ||
        queue_cmd_str(cmd, dl->delivery) == -1)) ||
        queue_cmd_str(cmd, "body") == -1 ||
        queue_cmd_arg(cmd, dl->body, dl->len) == -1) {
        queue_cmd_free(cmd);
        cmd = NULL;
    }
    return queue_submit(q, cmd, NULL);
}

/* ---------------------------------------------------------------------
 * Poller state: leases, cursors, quota (docs/redis.md, "Pollers")
 * ------------------------------------------------------------------ */

/* A poller script on <prefix><mid><name> (and the lease key when two). */
static struct queue_cmd *
queue_state_new(struct queue *q, enum queue_script script, const char *mid,
    const char *name, bool with_lease, queue_value_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    if (!q->up || q->ac == NULL)
        return NULL;
    if ((cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT)) == NULL)
        return NULL;
    cmd->script = script;
    cmd->vcb = cb;
    cmd->arg = arg;
    cmd->nkeys = with_lease ? 2 : 1;
    if ((cmd->id = xstrdup(name)) == NULL ||
        (cmd->name = xstrdup(mid)) == NULL ||
        queue_cmd_key(q, cmd, mid, name) == -1 ||
        (with_lease && queue_cmd_key(q, cmd, "lease:", name) == -1)) {
        queue_cmd_free(cmd);
        return NULL;
    }
    return cmd;
}

/* Send a built poller command, or free it: -1 then, cb will not fire. */
static int
queue_state_send(struct queue *q, struct queue_cmd *cmd, bool ok)
{
    if (cmd != NULL && ok && queue_script_send(q, cmd) == 0)
        return 0;
    queue_cmd_free(cmd);
    return -1;
}

int
queue_lease(struct queue *q, const char *name, const char *owner,
    int64_t ttl_ms, queue_value_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    cmd = queue_state_new(q, QUEUE_SCRIPT_LEASE, "lease:", name, false, cb,
        arg);
    return queue_state_send(q, cmd, cmd != NULL &&
        queue_cmd_str(cmd, owner) == 0 &&
        queue_cmd_num(cmd, ttl_ms > 0 ? (long long)ttl_ms : 0) == 0);
}

int
queue_cursor_get(struct queue *q, const char *name, queue_value_cb *cb,
    void *arg)
{
    struct queue_cmd *cmd;

    cmd = queue_state_new(q, QUEUE_SCRIPT_CURSOR, "cursor:", name, true,
        cb, arg);
    return queue_state_send(q, cmd, cmd != NULL &&
        queue_cmd_str(cmd, "") == 0 && queue_cmd_str(cmd, "") == 0);
}

int
queue_cursor_set(struct queue *q, const char *name, const char *value,
    const char *owner, queue_value_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    if (owner == NULL || owner[0] == '\0')
        return -1;
    cmd = queue_state_new(q, QUEUE_SCRIPT_CURSOR, "cursor:", name, true,
        cb, arg);
    return queue_state_send(q, cmd, cmd != NULL &&
        queue_cmd_str(cmd, owner) == 0 && queue_cmd_str(cmd, value) == 0);
}

int
queue_quota_take(struct queue *q, const char *name, int64_t units,
    int64_t limit, int64_t ttl_ms, queue_value_cb *cb, void *arg)
{
    struct queue_cmd *cmd;

    cmd = queue_state_new(q, QUEUE_SCRIPT_QUOTA, "quota:", name, false, cb,
        arg);
    return queue_state_send(q, cmd, cmd != NULL &&
        queue_cmd_num(cmd, units < 0 ? -1 : (long long)units) == 0 &&
        queue_cmd_num(cmd, (long long)limit) == 0 &&
        queue_cmd_num(cmd, ttl_ms > 0 ? (long long)ttl_ms : 1) == 0);
}

/* ---------------------------------------------------------------------
 * The responders' desk (queue_desk.c; docs/redis.md, "The desk")
 * ------------------------------------------------------------------ */

/* A script that answers JSON (the desk, the actions): op and its args. */
static int
queue_json_script(struct queue *q, enum queue_script script, const char *op,
    const char *const *args, size_t nargs, queue_desk_cb *cb, void *arg)
{
    struct queue_cmd *cmd;
    bool ok;

    if (!q->up || q->ac == NULL || nargs + 3 > QUEUE_ARGS_MAX ||
        (cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT)) == NULL)
        return -1;
    cmd->script = script;
    cmd->desk_cb = cb;
    cmd->arg = arg;
    ok = (cmd->name = xstrdup(op)) != NULL &&
        queue_cmd_str(cmd, q->prefix) == 0 &&
        queue_cmd_str(cmd, queue_group(q)) == 0 &&
        queue_cmd_str(cmd, op) == 0;
    for (size_t i = 0; ok && i < nargs; i++)
        ok = queue_cmd_str(cmd, args[i]) == 0;
    if (ok && queue_script_send(q, cmd) == 0)
        return 0;
    log_warnx("cannot send the %s %s command to redis",
        queue_scripts[script].name, op);
    queue_cmd_free(cmd);
    return -1;
}

int
queue_desk(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg)
{
    return queue_json_script(q, QUEUE_SCRIPT_DESK, op, args, nargs, cb, arg);
}

int
queue_actions(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg)
{
    return queue_json_script(q, QUEUE_SCRIPT_ACTIONS, op, args, nargs, cb,
        arg);
}

/* ---------------------------------------------------------------------
 * Events (queue_events.c; docs/redis.md, "Events")
 * ------------------------------------------------------------------ */

int
queue_events(struct queue *q, bool last, long count, const char *after_ingest,
    const char *after_audit, queue_desk_cb *cb, void *arg)
{
    struct queue_cmd *cmd;
    bool ok;

    if (!q->up || q->ac == NULL ||
        (cmd = queue_cmd_new(q, QUEUE_CMD_SCRIPT)) == NULL)
        return -1;
    cmd->script = QUEUE_SCRIPT_EVENTS;
    cmd->desk_cb = cb;
    cmd->arg = arg;
    cmd->nkeys = 2;
    ok = (cmd->name = xstrdup(last ? "last" : "next")) != NULL &&
        queue_cmd_key(q, cmd, "ingest", "") == 0 &&
        queue_cmd_key(q, cmd, "audit", "") == 0 &&
        queue_cmd_str(cmd, q->prefix) == 0 &&
        queue_cmd_str(cmd, cmd->name) == 0 &&
        queue_cmd_num(cmd, count > 0 ? count : 0) == 0 &&
        queue_cmd_str(cmd, after_ingest) == 0 &&
        queue_cmd_str(cmd, after_audit) == 0;
    if (ok && queue_script_send(q, cmd) == 0)
        return 0;
    log_warnx("cannot send the events %s command to redis", last ? "last" :
        "next");
    queue_cmd_free(cmd);
    return -1;
}

int
queue_escalate(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg)
{
    return queue_json_script(q, QUEUE_SCRIPT_ESCALATE, op, args, nargs, cb,
        arg);
}

/* XGROUP CREATE for every remembered queue name. */
static void
queue_ensure_send(struct queue *q)
{
    struct queue_cmd *cmd;
    const char *argv[6];
    char *key;

    for (size_t i = 0; i < q->nnames && q->up; i++) {
        if ((cmd = queue_cmd_new(q, QUEUE_CMD_GROUP)) == NULL ||
            (cmd->name = xstrdup(q->names[i])) == NULL ||
            (key = queue_key(q, "q:", q->names[i])) == NULL) {
            queue_cmd_free(cmd);
            log_warnx("out of memory");
            return;
        }
        argv[0] = "XGROUP";
        argv[1] = "CREATE";
        argv[2] = key;
        argv[3] = queue_group(q);
        argv[4] = "0";
        argv[5] = "MKSTREAM";
        if (queue_send_strs(q, cmd, 6, argv) == -1) {
            queue_cmd_free(cmd);
            xfree(key);
            return;
        }
        xfree(key);
    }
}

static void
queue_names_clear(struct queue *q)
{
    for (size_t i = 0; i < q->nnames; i++)
        xfree(q->names[i]);
    XFREE(&q->names);
    q->nnames = 0;
    XFREE(&q->names_group);
}

/*
 * The names (and group; NULL means the configured queue.group) are kept
 * and replayed on every (re)connect, so groups exist before any item.
 */
void
queue_ensure_groups(struct queue *q, char *const *names, size_t n,
    const char *group)
{
    queue_names_clear(q);
    if (n > 0 && (q->names = xcalloc(n, sizeof(*q->names))) == NULL)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        if ((q->names[i] = xstrdup(names[i])) == NULL)
            goto fail;
        q->nnames++;
    }
    if (group != NULL && (q->names_group = xstrdup(group)) == NULL)
        goto fail;
    if (q->up)
        queue_ensure_send(q);
    return;
fail:
    log_warnx("out of memory");
    queue_names_clear(q);
}

bool
queue_is_up(const struct queue *q)
{
    return q != NULL && q->up;
}

unsigned
queue_pending(const struct queue *q)
{
    return q != NULL ? q->npending : 0;
}

/*
 * Safe with commands pending: hiredis fires their callbacks (NULL reply,
 * so QUEUE_UNAVAILABLE) inside redisAsyncFree. Not safe from inside one of
 * this queue's own store callbacks: the caller must defer that.
 */
void
queue_free(struct queue *q)
{
    redisAsyncContext *ac;

    if (q == NULL)
        return;
    q->freeing = true;
    q->up = false;
    if ((ac = queue_detach(q)) != NULL)
        redisAsyncFree(ac);     /* pending callbacks: QUEUE_UNAVAILABLE */
    if (q->ev_reconnect != NULL)
        event_free(q->ev_reconnect);
    if (q->ev_watchdog != NULL)
        event_free(q->ev_watchdog);
    if (q->ev_drop != NULL)
        event_free(q->ev_drop);
    queue_names_clear(q);
    if (q->password != NULL) {
        explicit_bzero(q->password, strlen(q->password));
        xfree(q->password);
    }
    xfree(q->host);
    xfree(q->unix_path);
    xfree(q->prefix);
    xfree(q->group);
    xfree(q);
}
