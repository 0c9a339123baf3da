/*
 * ctl: the pure part of inboxctl, the responders' command-line client
 * (docs/inboxctl.md): its arguments into one HTTP request against the
 * /v1 desk API, and the JSON answer into text for people. No sockets
 * here; daemon/inboxctl.c sends the request with libcurl.
 */
#ifndef INBOXD_CTL_H
#define INBOXD_CTL_H

#include <stdbool.h>
#include <stddef.h>

#include <jansson.h>

#include "buf.h"

#define CTL_DEFAULT_URL "http://127.0.0.1:8080"

enum ctl_cmd {
    CTL_NONE = 0,               /* -h or -V: nothing to send */
    CTL_NEXT,
    CTL_MINE,
    CTL_SHOW,
    CTL_REPLY,
    CTL_NOTE,
    CTL_LABEL,
    CTL_ASSIGN,
    CTL_ESCALATE,
    CTL_HIDE,
    CTL_UNHIDE,
    CTL_RESOLVE,
    CTL_REOPEN,
    CTL_RELEASE,
    CTL_AWAY,
    CTL_QUEUES,
    CTL_STATS,
    CTL_RULES,                  /* rules stats: per-rule counters */
    CTL_TAIL,                   /* the live event stream, followed */
    CTL_DELETE,                 /* delete on the platform (leads) */
    CTL_ACTION,                 /* an outbound action's state */
    CTL_UNDO,                   /* ask for an action's inverse */
    CTL_RETRY,                  /* send a failed action again (leads) */
    /* Escalation (ctl_escalate.c renders them). */
    CTL_ONCALL,
    CTL_INCIDENTS,
    CTL_INCIDENT,
    CTL_ACK,
    CTL_RESOLVE_INCIDENT,
};

/* Exit statuses (docs/inboxctl.md). */
enum ctl_exit {
    CTL_EXIT_OK = 0,
    CTL_EXIT_ERROR = 1,         /* no answer, or a 400, 500 or 503 */
    CTL_EXIT_USAGE = 2,         /* bad arguments: nothing was sent */
    CTL_EXIT_EMPTY = 3,         /* next: nothing waiting */
    CTL_EXIT_CONFLICT = 4,      /* 409: someone else holds it, its state */
    CTL_EXIT_DENIED = 5,        /* 401 or 403 */
    CTL_EXIT_NOT_FOUND = 6,     /* 404: no such item */
};

/* One parsed command line. */
struct ctl_invocation {
    const char *url;            /* the server, without a trailing slash
                                   when it came from argv or env: borrowed */
    const char *token;          /* borrowed; never NULL when cmd is set */
    bool json;                  /* --json: print the answer as it is */
    bool help;                  /* -h */
    bool version;               /* -V */
    enum ctl_cmd cmd;
    const char *method;         /* "GET", "POST" or "DELETE" */
    char *path;                 /* owned: "/v1/items/<escaped id>/reply" */
    json_t *body;               /* owned; NULL: send no body */
    const char *stdin_key;      /* TEXT was "-": read it from stdin into
                                   body[stdin_key]; NULL otherwise */
    const char *url_from;       /* where url came from, for messages */
};

/* ---------------------------------------------------------------------
 * The config file (docs/inboxctl.md, "FILES"): "key = value" lines with
 * url, and token or token_file.
 * ------------------------------------------------------------------ */

#define CTL_CONFIG_MAX      (64u << 10)     /* bytes of the file */
#define CTL_TOKEN_MAX       4096            /* bytes of a token */

struct ctl_config {
    char *path;                 /* the file read; NULL: there was none */
    char *url;                  /* NULL when not given */
    char *token;                /* a secret; NULL when not given */
    char *token_file;           /* as written; NULL when not given */
};

/*
 * The file to read: env_config ($INBOXCTL_CONFIG) when set and not
 * empty, else <xdg>/inboxctl/config ($XDG_CONFIG_HOME), else
 * <home>/.config/inboxctl/config; NULL or "" means unset. *named is set
 * when it came from env_config: then it must exist. -1 when there is no
 * place to look (no home) or it does not fit in out.
 */
int ctl_config_path(const char *env_config, const char *xdg,
    const char *home, char *out, size_t outlen, bool *named);

/*
 * Parse the file's text (len bytes) into cfg, which must be zeroed. path
 * is for messages only. 0, or -1 with "<path>:<line>: reason" in err
 * (never quoting a token). Clear cfg with ctl_config_clear either way.
 */
int ctl_config_parse(const char *text, size_t len, const char *path,
    struct ctl_config *cfg, char *err, size_t errlen);

/*
 * Read and parse the file at path into cfg (zeroed). A missing file is
 * 0 with nothing set, unless named (then -1). A file that holds a token,
 * or the token_file it names (read here into cfg->token, relative to
 * the config file's directory unless absolute), is refused when group
 * or others may read it, as ssh refuses a private key. -1 with a reason
 * in err.
 */
int ctl_config_load(const char *path, bool named, struct ctl_config *cfg,
    char *err, size_t errlen);

/* Free cfg's strings, wiping the token. */
void ctl_config_clear(struct ctl_config *cfg);

/*
 * Parse argv (argv[0] is the program) into inv. env_url and env_token
 * are INBOXCTL_URL and INBOXCTL_TOKEN (NULL when unset), file the config
 * file's (may be NULL): the environment wins over the file, -s and -t
 * over both. inv borrows their strings. 0 on success; -1 on a usage
 * error, with a one-line reason in err. Clear inv with
 * ctl_invocation_clear either way.
 */
int ctl_parse(int argc, char *const *argv, const char *env_url,
    const char *env_token, const struct ctl_config *file,
    struct ctl_invocation *inv, char *err, size_t errlen);

void ctl_invocation_clear(struct ctl_invocation *inv);

/* The usage text, ending in a newline. */
const char *ctl_usage(void);

/* The exit status for an HTTP answer (status 0: no answer at all). */
int ctl_exit_code(enum ctl_cmd cmd, long status);

/*
 * Text for people from a 2xx answer of cmd (resp: the parsed body, or
 * NULL for 204). Control characters of user text are shown as '?'. -1
 * when out grows past its ceiling.
 */
int ctl_render(enum ctl_cmd cmd, long status, json_t *resp, struct buf *out);

/*
 * Percent-encode s for one path segment (everything but A-Z a-z 0-9 - .
 * _ ~ :). Returns new text (xfree), NULL when memory runs out.
 */
char *ctl_escape(const char *s);

/* Text for the escalation commands' answers (ctl_escalate.c). */
int ctl_render_escalation(enum ctl_cmd cmd, json_t *resp, struct buf *out);

/* "850ms", "12.3s", "3m12s", "2h05m", "3d04h" into out. */
void ctl_format_ms(long long ms, char *out, size_t outlen);

/* ---------------------------------------------------------------------
 * tail: reading the Server-Sent Events of GET /v1/events.
 * ------------------------------------------------------------------ */

#define CTL_SSE_MAX         (16u << 20)     /* bytes of one event */

/* One event; every field borrowed for the callback. */
struct ctl_sse_event {
    const char *event;          /* "message" when the server named none */
    const char *id;             /* the last id seen; "" when none */
    const char *data;           /* the data lines joined by '\n' */
    size_t len;
};

typedef void ctl_sse_cb(const struct ctl_sse_event *ev, void *arg);

/* An SSE parser; zero it, then ctl_sse_init. */
struct ctl_sse {
    struct buf line;            /* the line being read */
    struct buf data;            /* the event's data so far */
    char event[80];             /* the event's type so far */
    char last_id[256];          /* the last id: Last-Event-ID */
    long retry_ms;              /* the last retry: field; 0 when none */
    bool retried;               /* a retry: field came (cleared by us) */
    bool cr;                    /* the last byte was a CR */
};

void ctl_sse_init(struct ctl_sse *p);
void ctl_sse_free(struct ctl_sse *p);

/* Start a new connection: what was half read is dropped, the id kept. */
void ctl_sse_reset(struct ctl_sse *p);

/*
 * Feed len bytes of the stream; cb fires for each complete event. -1
 * when a line or an event passes CTL_SSE_MAX.
 */
int ctl_sse_feed(struct ctl_sse *p, const char *data, size_t len,
    ctl_sse_cb *cb, void *arg);

/*
 * One line for people about an event of GET /v1/events (name and its
 * data, parsed): time, event, item id, queue, who. -1 when out is full.
 */
int ctl_render_event(const char *name, json_t *data, struct buf *out);

#endif
