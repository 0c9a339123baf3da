/*
 * actions: the executor of outbound actions (hide, unhide, delete,
 * restore, reply) on the platforms. Requests are written to Redis
 * before anything is sent (by the desk, by auto-moderation with a new
 * item, by an undo); every inboxd process sharing the Redis takes due
 * ones in turns through the queue module's actions script, sends each
 * through curlev on the loop, and records the platform's answer there:
 * done, retried later with backoff (honouring Retry-After and the
 * platforms' rate-limit signals), failed for good, or uncertain (a
 * reply whose answer never came is never re-sent by itself).
 * docs/connectors.md, "Outbound actions"; docs/redis.md has the keys.
 */
#ifndef INBOXD_ACTIONS_H
#define INBOXD_ACTIONS_H

#include <stdbool.h>

struct daemon;
struct actions;
struct metrics;

/* Declare the executor's metric families. */
void actions_declare_metrics(struct metrics *m);

/*
 * The executor of daemon d, which it reads at each round (queue, curlev,
 * metrics, cfg). NULL when memory runs out. Takes nothing before
 * actions_start.
 */
struct actions *actions_new(struct daemon *d);
void actions_start(struct actions *a);

/* New requests were written: look for due actions now. */
void actions_kick(struct actions *a);

/* Take no more; requests in flight still finish and are recorded. */
void actions_stop(struct actions *a);

/* Requests in flight plus outcomes not yet recorded. */
unsigned actions_busy(const struct actions *a);

/* Cancel what is in flight (its actions are taken over later) and free. */
void actions_free(struct actions *a);

#endif
