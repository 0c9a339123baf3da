/*
 * poller: the platforms that are pulled rather than pushed. Telegram bots
 * in mode poll (getUpdates long polling) and YouTube channels
 * (commentThreads.list) are asked for news over curlev, and what comes
 * back goes through the same event path as a webhook delivery
 * (webhook_apply_batch). docs/connectors.md, "Polling".
 *
 * Each polled account has one poller. A Redis lease keeps one inboxd
 * process per account polling; the position reached (the Telegram
 * offset, the newest YouTube comment) is a cursor in Redis, moved only
 * once every event before it is stored, and only under the lease, so a
 * restart neither loses nor repeats anything. YouTube calls are counted
 * against a daily budget kept in Redis. docs/redis.md, "Pollers".
 */
#ifndef INBOXD_POLLER_H
#define INBOXD_POLLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct buf;
struct daemon;
struct metrics;
struct poller;

/*
 * A poller set for d, which must already have its queue and curlev.
 * Nothing is polled until poller_start. NULL when out of memory.
 */
struct poller *poller_new(struct daemon *d);

/* Start a poller for every polled account of d->cfg. */
void poller_start(struct poller *p);

/*
 * d->cfg was replaced: start pollers for new accounts, stop those of
 * accounts removed or changed (credentials, targets), and let the others
 * take the new snapshot at their next round.
 */
void poller_reload(struct poller *p);

/*
 * Stop polling (drain): cancel the requests in flight; batches already
 * handed to the pipeline finish and move their cursors; then the leases
 * are released. Those Redis writes count in d->inflight, so a drain waits
 * for them. Idempotent.
 */
void poller_stop(struct poller *p);

/* Pollers alive (running, waiting, or finishing after a stop). */
unsigned poller_count(const struct poller *p);

/*
 * Free everything. Call after poller_stop and after queue_free (which
 * answers the pollers' Redis commands), before curlev_free. NULL is fine.
 */
void poller_free(struct poller *p);

/* Declare the poller metric families (main). */
void poller_declare_metrics(struct metrics *m);

/* ---------------------------------------------------------------------
 * Helpers shared by poller*.c, pure, exported for tests
 * ------------------------------------------------------------------ */

/*
 * The next delay after a failure: *cur_ms (0 at first) grows from min_ms,
 * doubling up to max_ms; the delay returned is drawn from [cur/2, cur]
 * ("equal jitter") with the xorshift state *rng (not 0).
 */
int64_t poller_backoff(int64_t *cur_ms, int64_t min_ms, int64_t max_ms,
    uint64_t *rng);

/*
 * The day YouTube's quota is counted in: the date in US Pacific time
 * ("2026-11-23", 11 bytes with the NUL) at now_ms, and when the next
 * Pacific midnight falls (ms since the epoch). US daylight saving rules
 * since 2007 (second Sunday of March to first Sunday of November, at
 * 2:00 local).
 */
void poller_pacific_day(int64_t now_ms, char day[11],
    int64_t *next_reset_ms);

/* Most ids a YouTube cursor remembers at its timestamp. */
#define POLLER_CURSOR_IDS_MAX 100

/*
 * A YouTube cursor: the newest publishedAt handled, and the comment ids
 * published at that very second (YouTube times have second precision,
 * so a later comment may share it). Stored as JSON:
 * {"published_at":"2024-08-14T20:02:11.000Z","ids":["Ugx...", ...]}.
 */
struct poller_cursor {
    int64_t ms;                 /* 0: none */
    char **ids;
    size_t nids;
};

/* Parse s into c (cleared first). -1 when s is not such a cursor. */
int poller_cursor_parse(const char *s, struct poller_cursor *c);
/* The JSON of c, new (xfree it); NULL when out of memory. */
char *poller_cursor_format(const struct poller_cursor *c);
/* Is id one of c's ids? */
bool poller_cursor_has(const struct poller_cursor *c, const char *id);
/* Add a copy of id unless present or full. -1 when out of memory. */
int poller_cursor_add(struct poller_cursor *c, const char *id);
void poller_cursor_clear(struct poller_cursor *c);

#endif
