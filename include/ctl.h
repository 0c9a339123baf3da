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
};

/*
 * Parse argv (argv[0] is the program) into inv. env_url and env_token
 * are INBOXCTL_URL and INBOXCTL_TOKEN (NULL when unset); -s and -t win.
 * 0 on success; -1 on a usage error, with a one-line reason in err.
 * Clear inv with ctl_invocation_clear either way.
 */
int ctl_parse(int argc, char *const *argv, const char *env_url,
    const char *env_token, struct ctl_invocation *inv, char *err,
    size_t errlen);

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

#endif
