/*
 * pipeline: the item stage machine and the only code that moves an item
 * between stages. Ingest (the HTTP API and the webhooks) hands over a
 * validated item; the pipeline classifies it with the current rules,
 * routes it, stores it through queue, and reports back once Redis has
 * answered. Edits and restores of stored items take the same way;
 * deletes and hides of stored items (no item, only its id) go straight
 * to Redis through pipeline_mark, and bodies not understood through
 * pipeline_deadletter.
 *
 * With a spool configured (spool.h), a write goes to the spool instead
 * while Redis is unreachable or the spool still holds older writes, and
 * when Redis drops a write in flight; it is reported once it is synced
 * to disk (PIPELINE_SPOOLED), and Redis gets it when the spool is
 * replayed.
 */
#ifndef INBOXD_PIPELINE_H
#define INBOXD_PIPELINE_H

#include "queue.h"

struct daemon;
struct item;

/* The stages, in order. */
enum pipeline_stage {
    PIPELINE_RECEIVED = 0,  /* parsed and validated */
    PIPELINE_CLASSIFIED,    /* rules ran; categories and hits attached */
    PIPELINE_ROUTED,        /* destination queue chosen */
    PIPELINE_STORING,       /* sent to Redis, waiting for its answer */
    PIPELINE_SPOOLING,      /* in the spool, waiting for its fsync */
    PIPELINE_DONE,          /* stored, spooled, or found a duplicate */
    PIPELINE_FAILED,        /* not stored; the sender must retry */
};

const char *pipeline_stage_name(enum pipeline_stage st);

enum pipeline_result {
    PIPELINE_STORED = 0,    /* new item, durable in Redis */
    PIPELINE_DUPLICATE,     /* same id stored before; nothing new */
    PIPELINE_UNAVAILABLE,   /* Redis unreachable: answer 503, retry later */
    PIPELINE_ERROR,         /* internal error: answer 500 */
    PIPELINE_UPDATED,       /* an existing item changed (edit, restore,
                               delete, hide) */
    PIPELINE_IGNORED,       /* nothing to change: the item is deleted (an
                               edit or a late copy of it), is already so,
                               or was never stored (hide) */
    PIPELINE_SPOOLED,       /* durable in the local spool, not yet in
                               Redis (it gets it in order once back):
                               answer success; what Redis will say of it
                               (stored, duplicate...) is not known yet */
};

/*
 * Called once when the item is done or failed. The item is borrowed for
 * the call only; the pipeline frees it afterwards. stream_id is the entry
 * in the destination queue's stream (the first one, for a duplicate), or
 * NULL when not stored; borrowed for the call.
 */
typedef void pipeline_done_cb(enum pipeline_result res,
    const struct item *it, const char *stream_id, void *arg);

/*
 * Submit an item; takes ownership of it. cb fires exactly once, possibly
 * before this returns (Redis down). d->inflight counts the item until
 * then.
 */
void pipeline_submit(struct daemon *d, struct item *it,
    pipeline_done_cb *cb, void *arg);

/* What a submitted item is to the store. */
enum pipeline_op {
    PIPELINE_OP_NEW = 0,    /* a new item: pipeline_submit */
    PIPELINE_OP_EDIT,       /* new content for an id: re-classified; a
                               stored item keeps its queue and stream
                               entry, an unknown one is stored as new */
    PIPELINE_OP_RESTORE,    /* as EDIT, and a deleted item is queued again */
};

/*
 * pipeline_submit for any op. Results: NEW gives STORED, DUPLICATE or
 * IGNORED (deleted); EDIT and RESTORE give UPDATED, STORED (was unknown,
 * or restored into its queue) or IGNORED (an edit of a deleted item);
 * any of them SPOOLED, UNAVAILABLE (Redis away and no spool, or the spool
 * refused) or ERROR.
 */
void pipeline_submit_op(struct daemon *d, struct item *it,
    enum pipeline_op op, pipeline_done_cb *cb, void *arg);

/* Called once when a mark is done or failed; id borrowed for the call. */
typedef void pipeline_mark_cb(enum pipeline_result res, const char *id,
    void *arg);

/*
 * Record a delete, hide or unhide of item id (copied; actor too, may be
 * NULL) with queue_mark. cb fires exactly once, possibly before this
 * returns: UPDATED, IGNORED (already so, or unknown: a delete of an
 * unknown id leaves a tombstone), SPOOLED, UNAVAILABLE or ERROR.
 * d->inflight counts it until then.
 */
void pipeline_mark(struct daemon *d, const char *id, enum queue_mark mark,
    const char *actor, pipeline_mark_cb *cb, void *arg);

/*
 * Called once when a dead letter is kept or failed: STORED (stream_id:
 * its entry, borrowed for the call), SPOOLED, UNAVAILABLE or ERROR.
 */
typedef void pipeline_deadletter_cb(enum pipeline_result res,
    const char *stream_id, void *arg);

/*
 * Keep dl (every field copied) in the dead-letter stream, trimmed to
 * queues.deadletter_maxlen, or in the spool. cb fires exactly once,
 * possibly before this returns. d->inflight counts it until then.
 */
void pipeline_deadletter(struct daemon *d, const struct queue_deadletter *dl,
    pipeline_deadletter_cb *cb, void *arg);

/*
 * Can a write be taken now: Redis is up, or the spool takes writes.
 * Ingest answers 503 at once when not, without classifying.
 */
bool pipeline_is_accepting(const struct daemon *d);

/* The Retry-After, in seconds, of a 503 for an UNAVAILABLE write:
 * spool.retry_after with a spool (it refused), else queues.retry_after. */
int64_t pipeline_retry_after_s(const struct daemon *d);

/*
 * Classify and route without storing (inboxd classify, tests): attaches
 * classification, detected language and queue to the item using cfg's
 * rules and routes. Returns -1 when memory runs out.
 */
struct config;
int pipeline_classify(struct config *cfg, struct item *it);

/* Declare the pipeline's metric families (main, tests). */
struct metrics;
void pipeline_declare_metrics(struct metrics *m);

#endif
