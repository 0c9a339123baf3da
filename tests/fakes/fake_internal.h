/*
 * fake_internal: what the files of the fake platform server share. The
 * server's layout, one parsed request (struct fake_call) with the answer
 * its handler fills in, and the helpers the per-platform files use
 * (fake_graph.c, fake_vk.c, fake_telegram.c, fake_youtube.c). Everything
 * here runs on the server thread with the mutex held, unless it says
 * otherwise. The tests use fake_platform.h and fake_webhook.h only.
 */
#ifndef INBOXD_FAKE_INTERNAL_H
#define INBOXD_FAKE_INTERNAL_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "fake_platform.h"

#define FAKE_BODY_MAX       (8u << 20)

/* A response queued by the test. */
struct fake_resp {
    TAILQ_ENTRY(fake_resp) entry;
    char *prefix;
    int status;
    char *body;
    char *header;
};

/* A long poll held until something is queued or it times out. */
struct fake_held {
    TAILQ_ENTRY(fake_held) entry;
    struct evhttp_request *req;
    char *path;
    int64_t deadline_ms;
};

struct fake_rec {
    char *method;
    char *path;
    char *uri;
    char *body;
    char *headers;              /* "name: value\n" lines */
    int64_t at_ms;
};

/* A delay or a drop for the next request under prefix. */
struct fake_rule {
    TAILQ_ENTRY(fake_rule) entry;
    char *prefix;
    bool drop;
    int delay_ms;
};

/* An answer (or a drop) waiting for its timer. */
struct fake_later {
    TAILQ_ENTRY(fake_later) entry;
    struct fake_platform *f;
    struct evhttp_request *req;
    struct event *ev;
    bool drop;
    int status;
    char *body;
    char *header;
};

struct fake_effect {
    char *platform;
    char *kind;
    char *target;
    char *text;                 /* NULL: none */
};

/* A small string map: deduplication keys and deleted targets. */
struct fake_kv {
    char *key;
    char *val;
};

struct fake_map {
    struct fake_kv *v;
    size_t n, cap;
};

struct fake_platform {
    pthread_t thread;
    pthread_mutex_t mu;
    bool thread_started;
    struct event_base *base;
    struct evhttp *http;
    struct event *tick;
    char url[64];

    /* Shared with the test thread, under mu. */
    bool stop;
    char **tokens;
    size_t ntokens;
    char **graph_tokens;
    size_t ngraph_tokens;
    TAILQ_HEAD(, fake_resp) resps;
    TAILQ_HEAD(, fake_held) held;
    TAILQ_HEAD(, fake_rule) rules;
    TAILQ_HEAD(, fake_later) laters;
    struct fake_rec *recs;
    size_t nrecs, caprecs;
    struct fake_effect *effects;
    size_t neffects, capeffects;

    /* The platforms' own state. */
    struct fake_map gone;       /* "<platform> <target>": deleted here */
    struct fake_map vk_sent;    /* "<peer> <random_id>" -> message id */
    struct fake_map vk_guid;    /* "<owner>_<post> <guid>" -> comment id */
    uint64_t next_id;
};

/* One request being served, and its answer. */
struct fake_call {
    struct fake_platform *f;
    struct evhttp_request *req;
    enum evhttp_cmd_type cmd;
    const char *path;           /* without the query */
    struct evkeyvalq query;
    struct evkeyvalq form;      /* x-www-form-urlencoded body */
    struct evkeyvalq jkv;       /* top-level JSON members, as strings */
    json_t *json;               /* the body when it is a JSON object */
    char *bearer;               /* Authorization: Bearer <token> */

    bool answered;
    int status;
    char *body;
    char *header;               /* "Name: value" lines, '\n' between */
};

/* Does s start with prefix (NULL: anything)? */
bool fake_has_prefix(const char *s, const char *prefix);

/* Parse the request (query is after '?', body NUL-terminated, both may
 * be NULL) into c; fake_call_free releases it and the answer. */
void fake_call_init(struct fake_call *c, struct fake_platform *f,
    struct evhttp_request *req, const char *path, const char *query,
    const char *body);
void fake_call_free(struct fake_call *c);

/*
 * The named parameter from the form body, the JSON body or the query, in
 * that order; JSON numbers and booleans come as their text, objects and
 * arrays as compact JSON (as Telegram reads form fields). Borrowed from c.
 */
const char *fake_param(struct fake_call *c, const char *name);

/* Parse s as a whole decimal integer. */
bool fake_parse_ll(const char *s, long long *out);

/* Answer c: status, a copy of body, header lines (NULL: none). */
void fake_answer(struct fake_call *c, int status, const char *body,
    const char *header);

/* Answer with v (stolen) dumped compact; meta: escaped as Graph does. */
void fake_answer_json(struct fake_call *c, int status, json_t *v,
    bool meta);

/* Record an effect; text may be NULL. */
void fake_effect_add(struct fake_platform *f, const char *platform,
    const char *kind, const char *target, const char *text);

/* The value of key, borrowed, or NULL; put copies both (replacing). */
const char *fake_map_get(const struct fake_map *m, const char *key);
void fake_map_put(struct fake_map *m, const char *key, const char *val);
void fake_map_free(struct fake_map *m);

/* A fresh number, unique in this fake, for generated ids. */
uint64_t fake_next_id(struct fake_platform *f);

/* n characters of alphabet, different for every call, and a NUL (out
 * holds n + 1): the opaque ids platforms make. */
#define FAKE_ALNUM \
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
#define FAKE_B64URL FAKE_ALNUM "-_"
void fake_chars(struct fake_platform *f, const char *alphabet, char *out,
    size_t n);

/*
 * The platforms. Each serve function answers c (c->answered) or, for
 * YouTube, returns false when the path is not one of its write calls.
 */
bool fake_graph_path(const char *path);
void fake_graph_serve(struct fake_call *c);
void fake_vk_serve(struct fake_call *c);
void fake_telegram_serve(struct fake_call *c, const char *method);
bool fake_youtube_serve(struct fake_call *c);

/* Throttling bodies for fake_platform_push_throttle: a new string and the
 * HTTP status; header may be set to a new string. */
char *fake_graph_throttle(int *status);
char *fake_vk_throttle(const char *method, int *status);
char *fake_telegram_throttle(int retry_after, int *status, char **header);
char *fake_youtube_throttle(int *status);

#endif
