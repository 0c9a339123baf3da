/*
 * queue: Redis Streams over hiredis async, on the daemon's libevent loop.
 * The only module that sees hiredis, and the only one that knows key and
 * stream names (docs/redis.md).
 *
 * Storing an item is one atomic server-side script: it deduplicates by
 * item id, stores the item once, appends its id to the destination
 * queue's stream (creating the responders' consumer group with it), and
 * appends to the all-items stream. Edits, restores, deletes and hides of
 * stored items are two more scripts, and webhook bodies that were not
 * understood go to a dead-letter stream. The caller's callback fires only
 * after Redis has answered.
 *
 * While Redis is unreachable queue_store fails at once, and the module
 * reconnects with exponential backoff. A command unanswered for
 * redis.timeout_ms drops the connection, failing every pending command.
 */
#ifndef INBOXD_QUEUE_H
#define INBOXD_QUEUE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

struct event_base;
struct config;
struct metrics;
struct queue;

enum queue_status {
    QUEUE_STORED = 0,       /* new item stored and queued */
    QUEUE_DUPLICATE,        /* an item with this id was already stored */
    QUEUE_UNAVAILABLE,      /* Redis down or connection lost: retry later */
    QUEUE_ERROR,            /* Redis answered with an error */
    QUEUE_UPDATED,          /* an existing item was changed */
    QUEUE_MISROUTED,        /* update: the item is stored in another queue
                               (named in the callback); nothing written */
    QUEUE_DELETED,          /* the item is deleted; nothing written */
    QUEUE_UNKNOWN,          /* mark: no such item (a delete leaves a
                               tombstone) */
};

const char *queue_strstatus(enum queue_status st);

/*
 * Called once per queue_store, queue_update, queue_mark or
 * queue_deadletter that returned 0, from the loop. stream_id is the entry
 * id in the item's queue stream (for duplicates: the one stored first; for
 * a dead letter: its entry in the dead-letter stream), queue the item's
 * queue; both borrowed for the call only, and NULL when there is none (a
 * failure, an unknown item, a tombstone, a dead letter's queue).
 */
typedef void queue_store_cb(enum queue_status st, const char *queue,
    const char *stream_id, void *arg);

/*
 * New queue module bound to base; cfg is borrowed for the Redis address
 * and prefix, which are copied (they cannot change on reload). metrics is
 * borrowed and may be NULL. Does not connect yet.
 */
struct queue *queue_new(struct event_base *base, const struct config *cfg,
    struct metrics *metrics);

/* Start connecting; keeps reconnecting until queue_free. */
int queue_start(struct queue *q);

/*
 * Store an item. id, queue name and json are copied. ttl_ms <= 0 keeps the
 * item forever. Returns 0 when the command was sent (cb will fire once),
 * -1 when Redis is not connected (cb will not fire).
 */
int queue_store(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms, queue_store_cb *cb,
    void *arg);

/* An outbound action asked for together with a new item (auto-moderation). */
struct queue_auto_action {
    const char *type;           /* "hide", "delete" */
    const char *by;             /* who asks: "rules:<category>,..." */
    bool dry_run;               /* record what would be done, do nothing */
    const char *platform;
    const char *account;
    /* Once done, take the item out of its responder queue (resolved by
     * "rules"), unless someone holds it by then. */
    bool dequeue;
};

/* What the store may also do with a new item (queue_store_with). */
struct queue_store_opts {
    /* The desk's view, so its script need not decode the item: the
     * highest category score (the priority) and the conversation key,
     * "<platform>:<account>:<conversation>" (NULL: none). */
    double score;
    const char *conv;
    /* An outbound action asked for with the item; NULL: none. */
    const struct queue_auto_action *act;
    /* When inboxd received the item, in ms (0: now): a store replayed
     * from the spool keeps its intake time, which the desk and the
     * escalation timers count from. */
    int64_t received_ms;
};

/*
 * queue_store with opts (may be NULL): the desk's view of the item is
 * stored with it and a new item is taken into the desk in the same
 * script (waiting in its queue's ready set, or given to the agent who
 * holds its conversation); when opts->act is set and the item is new,
 * the action's request is appended to the actions stream as well
 * (docs/redis.md, "The store script").
 */
int queue_store_with(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms,
    const struct queue_store_opts *opts, queue_store_cb *cb, void *arg);

/*
 * Update a stored item with new content (an edit) or bring it back (a
 * restore), as one script (docs/redis.md): a live item gets the new json
 * and keeps its queue entry (QUEUE_UPDATED); a deleted one stays deleted
 * on an edit (QUEUE_DELETED) and is queued again in queue on a restore
 * (QUEUE_STORED); an unknown one is stored as new (QUEUE_STORED). When the
 * item is stored in another queue than queue, nothing is written and cb
 * gets QUEUE_MISROUTED with that queue: dump the item again with it and
 * call again. at_ms is when the platform's change came (edited_at,
 * restored_at), 0 for now: a spool replays a change with its own time.
 * Other arguments and return value as for queue_store.
 */
int queue_update(struct queue *q, const char *item_id, const char *queue,
    const char *json, size_t jsonlen, int64_t ttl_ms, int64_t at_ms,
    bool restore, queue_store_cb *cb, void *arg);

enum queue_mark {
    QUEUE_MARK_DELETED = 0,     /* state deleted, out of its queue stream */
    QUEUE_MARK_HIDDEN,          /* hidden 1 */
    QUEUE_MARK_UNHIDDEN,        /* hidden 0 */
};

/*
 * Record what the platform did to an item. DELETED takes its entry out of
 * its queue stream (XACK and XDEL, so no responder gets it); for an id
 * never stored it writes a tombstone (state deleted, living ttl_ms) so a
 * late copy is not stored. actor (who deleted it; may be NULL) and the id
 * are copied; at_ms is when it happened (deleted_at, hidden_at), 0 for
 * now. cb: QUEUE_UPDATED, QUEUE_DUPLICATE (already so),
 * QUEUE_UNKNOWN, or a failure. Return value as for queue_store.
 */
int queue_mark(struct queue *q, const char *item_id, enum queue_mark mark,
    const char *actor, int64_t ttl_ms, int64_t at_ms, queue_store_cb *cb,
    void *arg);

/* A webhook body that was not (fully) understood, kept for a person. */
struct queue_deadletter {
    const char *platform;       /* "meta", "vk", "telegram" */
    const char *account;        /* may be NULL */
    const char *delivery;       /* the platform's delivery id; may be NULL */
    const char *reason;         /* the parser's error line */
    const void *body;           /* the raw bytes as received */
    size_t len;
    int64_t received_ms;        /* when, in ms; 0: now */
};

/*
 * XADD the dead letter (every field copied) to the dead-letter stream,
 * trimmed to about maxlen entries (0: not trimmed). cb gets QUEUE_STORED
 * with the entry id, or a failure. Return value as for queue_store.
 */
int queue_deadletter(struct queue *q, const struct queue_deadletter *dl,
    int64_t maxlen, queue_store_cb *cb, void *arg);

/* ---------------------------------------------------------------------
 * Poller state (docs/redis.md, "Pollers"). name is "<platform>:<id>"
 * ("telegram:123456789", "youtube:UC..."); the keys are
 * <prefix>lease:<name>, <prefix>cursor:<name> and <prefix>quota:<name>.
 * Every string is copied. Return value as for queue_store.
 * ------------------------------------------------------------------ */

/* value: borrowed for the call; NULL when there is none. */
typedef void queue_value_cb(enum queue_status st, const char *value,
    void *arg);

/*
 * Take or renew the lease name for owner for ttl_ms (SET NX PX, or
 * PEXPIRE when owner already holds it); ttl_ms <= 0 releases it when
 * owner holds it. cb: QUEUE_STORED (taken), QUEUE_UPDATED (renewed, or
 * released), QUEUE_DUPLICATE (another holds it: value is its owner),
 * QUEUE_UNKNOWN (release of a lease not held), or a failure.
 */
int queue_lease(struct queue *q, const char *name, const char *owner,
    int64_t ttl_ms, queue_value_cb *cb, void *arg);

/* Read cursor name. cb: QUEUE_STORED with the value, QUEUE_UNKNOWN. */
int queue_cursor_get(struct queue *q, const char *name, queue_value_cb *cb,
    void *arg);

/*
 * Write cursor name, only while owner holds lease name (one script).
 * cb: QUEUE_UPDATED, or QUEUE_DUPLICATE with the lease's holder (NULL when
 * expired) and nothing written, or a failure.
 */
int queue_cursor_set(struct queue *q, const char *name, const char *value,
    const char *owner, queue_value_cb *cb, void *arg);

/*
 * Spend units of the budget limit kept in counter name, which expires
 * ttl_ms after its last change (name a period, "youtube:2026-11-23").
 * units < 0 spends what is left (the platform said the quota is gone).
 * cb: QUEUE_STORED with the units used so far, including these, or
 * QUEUE_DUPLICATE with the units used when they do not fit.
 */
int queue_quota_take(struct queue *q, const char *name, int64_t units,
    int64_t limit, int64_t ttl_ms, queue_value_cb *cb, void *arg);

/* ---------------------------------------------------------------------
 * The responders' desk (docs/redis.md, "The desk"): claims, leases,
 * actions, history and summaries, all in one script that owns their
 * keys. The desk module (desk.h) is its only caller and knows its ops.
 * ------------------------------------------------------------------ */

/*
 * reply: the script's JSON answer (an object), borrowed for the call;
 * NULL unless st is QUEUE_UPDATED. The events reader's callback too.
 */
typedef void queue_desk_cb(enum queue_status st, json_t *reply, void *arg);

/*
 * Run desk operation op ("claim", "act", ...) with its arguments (every
 * string copied; the script's ARGV after the key prefix, the group and
 * op). cb: QUEUE_UPDATED with the answer, QUEUE_ERROR when the script
 * failed, QUEUE_UNAVAILABLE. Return value as for queue_store.
 */
int queue_desk(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg);

/*
 * The outbound actions (docs/redis.md, "Outbound actions"): run op
 * ("take", "finish", "get", "undo", "retry") of the actions script with
 * its arguments (ARGV after the prefix, the group and op: the audit cap,
 * the action TTL, then the op's own). The actions module (actions.h) is
 * its only caller. cb and return value as for queue_desk.
 */
int queue_actions(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg);

/* ---------------------------------------------------------------------
 * Events (docs/redis.md, "Events"): what the events hub (events.h) reads
 * of the ingest and audit streams, every inboxd process's writes.
 * ------------------------------------------------------------------ */

/*
 * Read the ingest and audit streams after the entry ids after_ingest and
 * after_audit ("<ms>-<seq>", copied), in one script that never blocks.
 * !last: the first count new entries of each (XREAD). last: the newest
 * count entries of each after its id, and "ends", each stream's last
 * entry id ("0-0" when empty); count 0 asks for the ends only. cb:
 * QUEUE_UPDATED with {"ingest": [[id, {fields}]...], "audit": [[id,
 * {fields}, queue]...], "ends": [ingest, audit]} (queue: the audit
 * entry's item's queue now, "" when gone; an empty list may come as {}),
 * QUEUE_ERROR, QUEUE_UNAVAILABLE. Return value as for queue_store.
 */
int queue_events(struct queue *q, bool last, long count,
    const char *after_ingest, const char *after_audit, queue_desk_cb *cb,
    void *arg);

/*
 * Escalation (docs/escalation.md, "In Redis"): run op ("intake", "arm",
 * "sweep", "list", "get", "ack", "resolve", "atake", "afinish") of the
 * escalation script with its arguments (ARGV after the prefix, the group
 * and op: the audit cap, the TTL, the escalation clock, the wall clock,
 * then the op's own). The escalate and alert modules are its only
 * callers. cb and return value as for queue_desk.
 */
int queue_escalate(struct queue *q, const char *op, const char *const *args,
    size_t nargs, queue_desk_cb *cb, void *arg);

/*
 * Take the settings a reload may change that every store sends
 * (queues.ingest_maxlen, queues.lease, queues.audit_maxlen) from cfg,
 * which is only read.
 */
void queue_apply_config(struct queue *q, const struct config *cfg);

/* Make sure each named queue's stream and consumer group exist. */
void queue_ensure_groups(struct queue *q, char *const *names, size_t n,
    const char *group);

/* Connected and the script loaded. */
bool queue_is_up(const struct queue *q);
/* Commands sent and not yet answered. */
unsigned queue_pending(const struct queue *q);

/*
 * Disconnect and free. Pending callbacks fire with QUEUE_UNAVAILABLE
 * before this returns. NULL is fine. Do not call it from inside a
 * queue_store_cb of the same queue: defer it to the loop.
 */
void queue_free(struct queue *q);

#endif
