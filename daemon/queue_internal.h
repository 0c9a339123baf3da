/*
 * queue_internal: what the files of the queue module share (queue.c,
 * queue_desk.c and queue_events.c). Not for other modules:
 * include/queue.h is the module's face.
 */
#ifndef INBOXD_QUEUE_INTERNAL_H
#define INBOXD_QUEUE_INTERNAL_H

/* The desk script (queue_desk.c), loaded and run by queue.c. */
extern const char queue_desk_lua[];

/* The events script (queue_events.c): new entries of ingest and audit. */
extern const char queue_events_lua[];

#endif
