/*
 * spool: keeps intake going while Redis is unreachable. The writes the
 * pipeline would send to Redis (new items, edits, restores, deletes and
 * hides, dead letters) are appended to a local journal instead
 * (journal.h), made durable with one fdatasync per loop iteration (a
 * group commit), and only then reported to their writers, who answer the
 * platform with success. Once Redis is back the records are replayed in
 * order through queue, a bounded window of them in flight, and the
 * journal forgets them as Redis answers.
 *
 * A record holds what the pipeline decided at intake: the routed,
 * classified item JSON, its queue, TTL and store options (the desk's
 * score, an automatic action), or a mark with its actor, or a dead letter
 * with its raw body. Replay sends exactly that; nothing is classified
 * again, so a rules change during an outage does not touch what was
 * accepted before it.
 *
 * While anything is in the spool every new write goes there too, not
 * straight to Redis, so that Redis sees the writes in the order they came.
 * Every write is idempotent in Redis (the item id deduplicates), so a
 * record sent twice (a crash before the position was saved, a store that
 * ran just before the connection dropped) changes nothing twice.
 */
#ifndef INBOXD_SPOOL_H
#define INBOXD_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "queue.h"

struct config;
struct daemon;
struct metrics;
struct spool;

enum spool_op {
    SPOOL_OP_NEW = 0,           /* queue_store_with */
    SPOOL_OP_EDIT,              /* queue_update */
    SPOOL_OP_RESTORE,           /* queue_update, restore */
    SPOOL_OP_MARK,              /* queue_mark */
    SPOOL_OP_DEADLETTER,        /* queue_deadletter */
};

/*
 * One write as the pipeline would send it to queue; every pointer is
 * borrowed for the spool_put call only (the record is a copy).
 */
struct spool_write {
    enum spool_op op;
    int64_t at_ms;              /* when it was received; 0: now */
    const char *id;             /* the item id; not for a dead letter */
    const char *queue;          /* NEW, EDIT, RESTORE: the routed queue */
    const char *json;           /* NEW, EDIT, RESTORE: the dumped item */
    size_t jsonlen;
    int64_t ttl_ms;             /* NEW, EDIT, RESTORE, MARK */
    const struct queue_store_opts *opts;    /* NEW; may be NULL */
    enum queue_mark mark;       /* MARK */
    const char *actor;          /* MARK; may be NULL */
    const struct queue_deadletter *dl;      /* DEADLETTER */
    int64_t maxlen;             /* DEADLETTER: the stream's cap */
};

enum spool_result {
    SPOOL_DURABLE = 0,          /* synced to disk: answer success */
    SPOOL_REFUSED,              /* full, disk full or an I/O error: not
                                   kept; answer 503 so the sender retries */
};

/* Called once per spool_put, possibly before it returns (refused). */
typedef void spool_done_cb(enum spool_result res, void *arg);

/*
 * Open the spool in d->cfg->spool.dir (which must be set): lock the
 * directory, check the journal, and schedule the replay of whatever a
 * previous run left. d is borrowed for the spool's life: it uses its
 * base, queue, metrics and current config. NULL with the reason in err.
 */
struct spool *spool_new(struct daemon *d, char *err, size_t errlen);

/*
 * Sync the appends still pending and answer their writers; from then on
 * spool_put refuses, and the replay stops. Call once the loop has ended,
 * before queue_free: those writers may still talk to Redis from their
 * callbacks (a poller's cursor). NULL is fine.
 */
void spool_stop(struct spool *s);

/*
 * Close (spool_stop first if it did not run). Call after queue_free,
 * whose pending callbacks still reach the replays in flight. NULL is
 * fine.
 */
void spool_free(struct spool *s);

/*
 * Should the next write go to the spool rather than to Redis? True while
 * Redis is not up, or while the spool holds records not yet replayed
 * (arrival order). False for NULL (no spool configured).
 */
bool spool_is_engaged(const struct spool *s);

/*
 * Is the spool taking writes: false for NULL, and for spool.retry_after
 * after it refused one (full, disk full, I/O error).
 */
bool spool_is_accepting(const struct spool *s);

/* Append w; cb fires once, after the fsync of its loop iteration. */
void spool_put(struct spool *s, const struct spool_write *w,
    spool_done_cb *cb, void *arg);

/* Take the current config's limits (a reload). */
void spool_apply_config(struct spool *s);

/*
 * For GET /healthz: {"state": "idle" | "spooling" | "replaying" |
 * "full", "records": N, "bytes": N} (new), or NULL for NULL.
 */
json_t *spool_status(const struct spool *s);

/*
 * For inboxd -n, without opening or creating anything: can the user
 * inboxd will run as (cfg->user, else this process) use cfg->spool.dir?
 * It must be a directory that user may write and search, or not exist
 * yet below one that user may write in (the spool makes its directory,
 * one level). Returns -1 with the reason in msg; 1 with a note in msg
 * when the filesystem has less room than spool.max_bytes; 0 when fine
 * or no spool is configured.
 */
int spool_check(const struct config *cfg, char *msg, size_t msglen);

/* Declare the spool's metric families (main, tests). */
void spool_declare_metrics(struct metrics *m);

#endif
