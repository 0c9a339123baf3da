/*
 * poller_internal: what poller.c shares with the platform files
 * poller_telegram.c and poller_youtube.c, and nothing else.
 *
 * One struct poller_acct per polled account runs rounds: poller.c wakes
 * it, makes sure it holds the account's lease, and calls the platform's
 * round; the platform does its requests, batches and cursor writes
 * through the wrappers below (one at a time) and ends every round with
 * exactly one poller_round_end, which schedules the next one. The
 * wrappers count what is outstanding, so an account that is stopped in
 * the middle is freed only once its last callback has run.
 */
#ifndef INBOXD_POLLER_INTERNAL_H
#define INBOXD_POLLER_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "config.h"
#include "connector.h"
#include "curlev.h"
#include "poller.h"
#include "queue.h"
#include "webhook.h"

struct event;
struct poller_acct;

/* How a round ended, and so when the next one starts. */
enum poller_next {
    POLLER_NEXT_AGAIN = 0,      /* fine: again after delay_ms; backoff reset */
    POLLER_NEXT_BACKOFF,        /* failed: after the growing backoff */
    POLLER_NEXT_WAIT,           /* told to wait delay_ms (429, quota) */
    POLLER_NEXT_STOP,           /* give up until the account's config changes */
    POLLER_NEXT_CANCELLED,      /* the poller is stopping */
};

struct poller_ops {
    const char *platform;       /* CONNECTOR_TELEGRAM, CONNECTOR_YOUTUBE */
    /* Set up pa->data for pa->acct; -1 when out of memory. */
    int (*init)(struct poller_acct *pa);
    /* Run one round; ends with exactly one poller_round_end. */
    void (*round)(struct poller_acct *pa);
    /* The lease was (re)taken: another process may have moved cursors. */
    void (*lease_taken)(struct poller_acct *pa);
    void (*free)(struct poller_acct *pa);
};

extern const struct poller_ops poller_telegram_ops;
extern const struct poller_ops poller_youtube_ops;

struct poller {
    struct daemon *d;
    char owner[96];             /* lease owner: host:pid:random */
    TAILQ_HEAD(, poller_acct) accts;
    unsigned naccts;
    uint64_t rng;
    bool stopping;
    bool freeing;               /* poller_free: no more Redis commands */
};

struct poller_acct {
    TAILQ_ENTRY(poller_acct) entry;
    struct poller *p;
    const struct poller_ops *ops;
    struct config *cfg;         /* a reference: the snapshot in use */
    struct config *next_cfg;    /* a reload's, taken at the next round */
    const struct config_account *acct;      /* in cfg */
    const struct connector_account *conn;   /* in cfg */
    char name[96];              /* "<platform>:<id>": lease, logs */
    void *data;                 /* the platform's state */

    bool in_round;              /* between the wake and poller_round_end */
    bool lease_held;
    bool renewing;              /* a renewal is in flight */
    bool retiring;              /* stopped or removed: finish and free */
    bool stopped;               /* POLLER_NEXT_STOP: idle until changed */
    unsigned busy;              /* callbacks still to come */
    int64_t backoff_ms;
    struct event *ev_wake;
    struct event *ev_renew;

    /* The one operation of the round in flight, and its callback. */
    struct curlev_req *req;
    curlev_done_cb *req_cb;
    queue_value_cb *val_cb;
    webhook_batch_cb *batch_cb;
};

/* Running: not stopping, not removed by a reload. */
bool poller_running(const struct poller_acct *pa);

/*
 * Start a request for the round; cb gets pa as its arg. -1 when it could
 * not start (stopping, out of memory): end the round.
 */
int poller_request(struct poller_acct *pa, const struct curlev_request *r,
    curlev_done_cb *cb);

/*
 * Redis for the round (queue.h): read or write a cursor (writes count in
 * d->inflight and happen only under pa's lease), spend quota. cb gets pa
 * as its arg. -1 when Redis is down (cb will not fire).
 */
int poller_cursor_get(struct poller_acct *pa, const char *name,
    queue_value_cb *cb);
int poller_cursor_set(struct poller_acct *pa, const char *name,
    const char *value, queue_value_cb *cb);
int poller_quota_take(struct poller_acct *pa, const char *name,
    int64_t units, int64_t limit, int64_t ttl_ms, queue_value_cb *cb);

/* webhook_apply_batch for the round; takes the events; cb gets pa. */
void poller_apply(struct poller_acct *pa, const struct webhook_batch *b,
    struct connector_events *events, webhook_batch_cb *cb);

/* The cursor write found another process holding the lease. */
void poller_lease_lost(struct poller_acct *pa, const char *holder);

/* End the round; the last thing a platform does with pa. */
void poller_round_end(struct poller_acct *pa, enum poller_next next,
    int64_t delay_ms);

/* Count a response in inboxd_poll_requests_total{platform,result}. */
void poller_count_request(struct poller_acct *pa, const char *result);
/* Count a give-up in inboxd_poll_stopped_total{platform,reason}. */
void poller_count_stop(struct poller_acct *pa, const char *reason);
/* Set inboxd_youtube_quota_used from the counter's answer (text). */
void poller_quota_used(struct poller_acct *pa, const char *used);

/* A random delay in [0, max_ms) for spreading wake-ups. */
int64_t poller_jitter(struct poller_acct *pa, int64_t max_ms);

#endif
