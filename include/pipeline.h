/*
 * pipeline: the item stage machine and the only code that moves an item
 * between stages. Ingest (the HTTP API and the webhooks) hands over a
 * validated item; the pipeline classifies it with the current rules,
 * routes it, stores it through queue, and reports back once Redis has
 * answered. Edits and restores of stored items take the same way;
 * deletes and hides of stored items (no item, only its id) go straight
 * to Redis through pipeline_mark.
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
    PIPELINE_DONE,          /* stored, or found to be a duplicate */
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
 * or restored into its queue) or IGNORED (an edit of a deleted item).
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
 * unknown id leaves a tombstone), UNAVAILABLE or ERROR. d->inflight
 * counts it until then.
 */
void pipeline_mark(struct daemon *d, const char *id, enum queue_mark mark,
    const char *actor, pipeline_mark_cb *cb, void *arg);

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
