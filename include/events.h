/*
 * events: the live event stream for UIs, GET /v1/events as Server-Sent
 * Events (docs/api.md, "Events (SSE)"). One hub per process. While at
 * least one client is connected it reads the new entries of the ingest
 * and audit streams every 200 ms through the queue module (queue_events:
 * never a blocking read, the connection is shared), so its clients see
 * the items and desk actions of every inboxd process sharing the Redis,
 * and writes each entry, framed as an event, to the clients whose filter
 * it passes. With no client connected it costs nothing: no timer runs
 * and no command is sent.
 *
 * The stream is one order for everybody: entries of both streams by
 * entry id (Redis's clock, so every process sees the same order), an
 * ingest entry before an audit entry with the same id. An event's SSE id
 * is "<stream>:<entry id>"; a client that reconnects with it as
 * Last-Event-ID gets what it missed, the last 1000 entries at most.
 *
 * http.c owns the connections (evhttp chunked replies) and hands each
 * accepted stream to the hub with a sink: how to write to it, how many
 * bytes are still unsent, how to end it.
 */
#ifndef INBOXD_EVENTS_H
#define INBOXD_EVENTS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

struct config;
struct daemon;
struct events;
struct events_client;

/* The SSE "retry:" a stream starts with, and the keepalive period. */
#define EVENTS_RETRY_MS         2000
#define EVENTS_KEEPALIVE_MS     15000
/* How often the hub reads while clients are connected. */
#define EVENTS_POLL_MS          200
/* Entries per stream and read; a full read is followed by another. */
#define EVENTS_BATCH            500
/* What a client resuming with Last-Event-ID may get back at most. */
#define EVENTS_RESUME_MAX       1000
/* Filter bounds: queue names and event types per client. */
#define EVENTS_FILTER_MAX       64
#define EVENTS_NAME_MAX         64

/* The two streams, in the order their entries go out on a tie. */
enum events_stream {
    EVENTS_INGEST = 0,          /* <prefix>ingest: event "item" */
    EVENTS_AUDIT,               /* <prefix>audit: event = its action */
    EVENTS_NSTREAMS,
};

/*
 * How the hub writes to one client; every arg is the sink's own. The
 * hub calls none of these from inside events_join or events_leave.
 */
struct events_sink {
    /* Append len bytes to the stream. */
    void (*write)(void *arg, const char *data, size_t len);
    /* Bytes written to the stream and not yet sent to the client. */
    size_t (*unsent)(void *arg);
    /*
     * End the stream: finish the reply (abort false) or close the
     * connection now (true). The hub has already forgotten the client,
     * so the sink must not call events_leave for it afterwards.
     */
    void (*end)(void *arg, bool abort);
};

/* Why events_join refused a client. */
enum events_refusal {
    EVENTS_JOINED = 0,
    EVENTS_BAD_REQUEST,         /* 400 invalid_request: the message says */
    EVENTS_UNKNOWN_QUEUE,       /* 400 unknown_queue */
    EVENTS_FULL,                /* 503 too_many_clients */
    EVENTS_STOPPED,             /* 503 shutting_down */
    EVENTS_NOMEM,               /* 500 internal */
};

/*
 * The hub of daemon d (borrowed; its config, queue and metrics are used
 * as they are at each step, so a reload applies at once). Declares the
 * events metric families. NULL when memory runs out.
 */
struct events *events_new(struct daemon *d);

/*
 * A new client. query: the request's query string (may be NULL), with
 * queue=<name> (repeatable) and types=<name>,...; last_id: its
 * Last-Event-ID header (may be NULL). sink and arg are borrowed until the
 * client ends. On EVENTS_JOINED *out is the client, and the hub writes
 * "retry:" once it knows where in the streams the client starts, then
 * the events; otherwise err holds a message for people and nothing was
 * written.
 */
enum events_refusal events_join(struct events *ev, const char *query,
    const char *last_id, const struct events_sink *sink, void *arg,
    struct events_client **out, char *err, size_t errlen);

/* The client's connection is gone: forget it (its sink is not called). */
void events_leave(struct events_client *c);

/* Connected clients. */
unsigned events_clients(const struct events *ev);

/*
 * Draining: end every stream cleanly (so a drain does not wait for
 * them), refuse new ones and stop reading.
 */
void events_stop(struct events *ev);

/*
 * Free the hub. Reads still waiting for Redis are answered when the
 * queue is freed, and http's connections leave when it is freed: free
 * both first. A client still here is forgotten, its sink not called.
 * NULL is fine.
 */
void events_free(struct events *ev);

/* ---------------------------------------------------------------------
 * The pure parts, for the tests: ids, filters, ordering, framing.
 * ------------------------------------------------------------------ */

/* A stream entry id, "<ms>-<seq>". */
struct events_id {
    uint64_t ms;
    uint64_t seq;
};

/* Parse "<ms>-<seq>". -1 on anything else. */
int events_id_parse(const char *s, struct events_id *id);

/* <0, 0, >0 as a is before, equal to or after b. */
int events_id_cmp(const struct events_id *a, const struct events_id *b);

/* "<ms>-<seq>" into out (at least 42 bytes). */
void events_id_format(const struct events_id *id, char *out, size_t len);

/*
 * Where a client that saw the event with SSE id last_id ("ingest:<id>"
 * or "audit:<id>") resumes: after[s] is the entry of stream s it has
 * seen the stream up to, inclusive, by the one order of the stream. -1
 * when last_id is not such an id.
 */
int events_resume_from(const char *last_id,
    struct events_id after[EVENTS_NSTREAMS]);

/* A client's filter; an empty list lets everything through. */
struct events_filter {
    char **queues;
    size_t nqueues;
    char **types;
    size_t ntypes;
};

/*
 * Parse the query string (may be NULL or "") into f against cfg's
 * queues. EVENTS_JOINED, or a refusal with a message in err; clear f
 * with events_filter_clear either way.
 */
enum events_refusal events_filter_parse(const char *query,
    const struct config *cfg, struct events_filter *f, char *err,
    size_t errlen);

void events_filter_clear(struct events_filter *f);

/*
 * Does an event pass f? name: its type; queue: the item's queue (may be
 * NULL); from_queue: the queue a move took it out of (may be NULL).
 */
bool events_filter_match(const struct events_filter *f, const char *name,
    const char *queue, const char *from_queue);

/* One entry of a read, in the stream's order. */
struct events_entry {
    enum events_stream stream;
    struct events_id id;
    json_t *fields;             /* the entry's fields, borrowed */
    const char *queue;          /* audit: the item's queue when read */
};

/*
 * The entries of a queue_events answer (borrowed) in the one order, into
 * *out (new array, xfree; NULL when there are none). count > 0 (a "next"
 * read of count per stream): when a stream came back full, entries past
 * its last one are left for the next read, which brings the rest of that
 * stream first. count < 0: keep only the newest -count. Entries with a
 * malformed id are skipped. Returns how many, or -1 when memory ran out.
 * The next read starts after the last entry of each stream returned.
 */
long events_order(json_t *reply, long count, struct events_entry **out);

/* One event as the clients get it. */
struct events_event {
    char name[EVENTS_NAME_MAX + 1]; /* "item", or the audit action */
    const char *queue;          /* borrowed from the entry; may be NULL */
    const char *from_queue;     /* a move: the queue it left; may be NULL */
    struct buf frame;           /* "id: ...\nevent: ...\ndata: ...\n\n" */
};

/*
 * Frame entry e into ev (whose frame buffer the caller set up with
 * buf_init and frees). -1 when the entry is not an event (an audit entry
 * without a well-formed action or item) or memory ran out.
 */
int events_event_build(const struct events_entry *e,
    struct events_event *ev);

#endif
