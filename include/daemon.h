/*
 * daemon: the one runtime context, built in main and passed explicitly
 * to every callback that needs it. No module reaches it through a global.
 */
#ifndef INBOXD_DAEMON_H
#define INBOXD_DAEMON_H

#include <stdbool.h>
#include <stdint.h>

struct event;
struct event_base;
struct actions;
struct config;
struct curlev;
struct desk;
struct events;
struct escalate;
struct http;
struct metrics;
struct poller;
struct queue;
struct spool;

struct daemon {
    struct event_base *base;
    char *config_path;
    struct config *cfg;         /* current snapshot; the daemon's reference */
    struct http *http;
    struct queue *queue;
    struct spool *spool;        /* writes while Redis is away; NULL: none */
    struct metrics *metrics;
    struct desk *desk;          /* the responders' API (desk.h) */
    struct events *events;      /* GET /v1/events, the live stream */
    struct curlev *curlev;      /* outbound HTTP (pollers, actions) */
    struct actions *actions;    /* outbound actions' executor */
    struct poller *poller;      /* Telegram getUpdates, YouTube lists */
    struct escalate *escalate;  /* SLA timers, incidents, alerts */

    unsigned inflight;          /* items submitted and not yet answered */
    bool draining;              /* SIGTERM seen: no new intake */
    int64_t drain_deadline_ms;
    int64_t drain_flush_ms;     /* when inflight reached 0; 0: not yet */
    int64_t started_ms;

    struct event *ev_term;
    struct event *ev_int;
    struct event *ev_hup;
    struct event *ev_drain;     /* polls inflight while draining */
};

/* Reload the config from d->config_path; keeps the old one on failure. */
int daemon_reload(struct daemon *d);

/* Stop intake and exit the loop once in-flight work is done or late. */
void daemon_shutdown(struct daemon *d);

#endif
