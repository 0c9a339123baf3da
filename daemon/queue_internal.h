/*
 * queue_internal: what the files of the queue module share (queue.c and
 * queue_desk.c). Not for other modules: include/queue.h is the module's
 * face.
 */
#ifndef INBOXD_QUEUE_INTERNAL_H
#define INBOXD_QUEUE_INTERNAL_H

/* The desk script (queue_desk.c), loaded and run by queue.c. */
extern const char queue_desk_lua[];

#endif
