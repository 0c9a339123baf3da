/*
 * queue: Redis Streams over hiredis async, on the daemon's libevent loop.
 * The only module that sees hiredis, and the only one that knows key and
 * stream names (docs/redis.md).
 *
 * Storing an item is one atomic server-side script: it deduplicates by
 * item id, stores the item once, appends its id to the destination
 * queue's stream (creating the responders' consumer group with it), and
 * appends to the all-items stream. The caller's callback fires only after
 * Redis has answered.
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

struct event_base;
struct config;
struct metrics;
struct queue;

enum queue_status {
    QUEUE_STORED = 0,       /* new item stored and queued */
    QUEUE_DUPLICATE,        /* an item with this id was already stored */
    QUEUE_UNAVAILABLE,      /* Redis down or connection lost: retry later */
    QUEUE_ERROR,            /* Redis answered with an error */
};

const char *queue_strstatus(enum queue_status st);

/*
 * Called once per queue_store that returned 0, from the loop.
 * stream_id is the entry id in the destination stream (for duplicates: the
 * one stored first), queue the destination queue; both borrowed for the
 * call only, and NULL unless st is STORED or DUPLICATE.
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
