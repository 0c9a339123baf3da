/*
 * ctl: what inboxctl does besides talking HTTP. ctl_parse turns the
 * command line into one request of the desk API (method, path, JSON
 * body); ctl_render turns the JSON answer into a few lines for people.
 * The table below is the whole command set: a name, how many arguments
 * it takes, and the request it becomes. docs/inboxctl.md is the manual.
 * Beside them: the config file (url and token), and tail's reading of
 * the event stream (an SSE parser, one line per event).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "ctl.h"
#include "util.h"

/* How a command builds its request. */
enum ctl_shape {
    CTL_SHAPE_PLAIN,            /* no item id, no body */
    CTL_SHAPE_ID,               /* ID, no body */
    CTL_SHAPE_ID_TEXT,          /* ID TEXT...: body {key: text} */
    CTL_SHAPE_ACTION,           /* ACTION_ID: /v1/actions/<id>[/action] */
    CTL_SHAPE_INCIDENT,         /* an incident's ID, no body */
};

static const struct ctl_command {
    const char *name;
    enum ctl_cmd cmd;
    enum ctl_shape shape;
    const char *method;
    const char *action;         /* the path after the id, or the path */
    const char *key;            /* CTL_SHAPE_ID_TEXT: the body's key */
} ctl_commands[] = {
    { "next", CTL_NEXT, CTL_SHAPE_PLAIN, "POST", "/v1/claims", NULL },
    { "mine", CTL_MINE, CTL_SHAPE_PLAIN, "GET", "/v1/claims", NULL },
    { "show", CTL_SHOW, CTL_SHAPE_ID, "GET", NULL, NULL },
    { "reply", CTL_REPLY, CTL_SHAPE_ID_TEXT, "POST", "reply", "text" },
    { "note", CTL_NOTE, CTL_SHAPE_ID_TEXT, "POST", "note", "text" },
    { "label", CTL_LABEL, CTL_SHAPE_ID_TEXT, "POST", "label", "label" },
    { "assign", CTL_ASSIGN, CTL_SHAPE_ID_TEXT, "POST", "reassign",
      "agent" },
    { "escalate", CTL_ESCALATE, CTL_SHAPE_ID_TEXT, "POST", "escalate",
      "reason" },
    { "hide", CTL_HIDE, CTL_SHAPE_ID, "POST", "hide", NULL },
    { "unhide", CTL_UNHIDE, CTL_SHAPE_ID, "POST", "unhide", NULL },
    { "delete", CTL_DELETE, CTL_SHAPE_ID, "POST", "delete", NULL },
    { "action", CTL_ACTION, CTL_SHAPE_ACTION, "GET", NULL, NULL },
    { "undo", CTL_UNDO, CTL_SHAPE_ACTION, "POST", "undo", NULL },
    { "retry", CTL_RETRY, CTL_SHAPE_ACTION, "POST", "retry", NULL },
    { "resolve", CTL_RESOLVE, CTL_SHAPE_ID, "POST", "resolve", NULL },
    { "reopen", CTL_REOPEN, CTL_SHAPE_ID, "POST", "reopen", NULL },
    { "release", CTL_RELEASE, CTL_SHAPE_ID, "POST", "release", NULL },
    { "away", CTL_AWAY, CTL_SHAPE_PLAIN, "POST", "/v1/agents/me/away",
      NULL },
    { "queues", CTL_QUEUES, CTL_SHAPE_PLAIN, "GET", "/v1/queues", NULL },
    { "stats", CTL_STATS, CTL_SHAPE_PLAIN, "GET", "/v1/stats", NULL },
    { "rules", CTL_RULES, CTL_SHAPE_PLAIN, "GET", "/v1/rules", NULL },
    { "tail", CTL_TAIL, CTL_SHAPE_PLAIN, "GET", "/v1/events", NULL },
    /* Escalation (docs/escalation.md). */
    { "oncall", CTL_ONCALL, CTL_SHAPE_PLAIN, "GET", "/v1/oncall", NULL },
    { "incidents", CTL_INCIDENTS, CTL_SHAPE_PLAIN, "GET", "/v1/incidents",
      NULL },
    { "incident", CTL_INCIDENT, CTL_SHAPE_INCIDENT, "GET", NULL, NULL },
    { "ack", CTL_ACK, CTL_SHAPE_INCIDENT, "POST", "ack", NULL },
    { "resolve-incident", CTL_RESOLVE_INCIDENT, CTL_SHAPE_INCIDENT, "POST",
      "resolve", NULL },
};

static const char ctl_usage_text[] =
    "usage: inboxctl [-j] [-s URL] [-t TOKEN] COMMAND [ARG...]\n"
    "  -s URL     the inboxd server (INBOXCTL_URL, url; default "
    CTL_DEFAULT_URL ")\n"
    "  -t TOKEN   an agent, lead or admin token (INBOXCTL_TOKEN, token)\n"
    "  -j, --json print the server's JSON answer as it is\n"
    "commands:\n"
    "  next [QUEUE...]               claim the next item (exit 3: none)\n"
    "  mine                          the items you hold\n"
    "  show ID                       an item, its history, its "
    "conversation\n"
    "  reply ID TEXT...|-            reply (- reads the text from stdin)\n"
    "  reply ID --canned NAME        reply with a canned reply\n"
    "  note ID TEXT...|-             add an internal note\n"
    "  label ID [--remove] LABEL     add or remove a label\n"
    "  assign ID AGENT               hand the item to an agent\n"
    "  assign ID --queue QUEUE       move the item to a queue\n"
    "  escalate ID REASON...         mark the item escalated\n"
    "  hide ID | unhide ID           ask the platform to hide or show it\n"
    "  delete ID                     ask the platform to delete it (leads)\n"
    "  action ACTION_ID              an outbound action: state, answer\n"
    "  undo ACTION_ID                undo a done action (unhide a hide)\n"
    "  retry ACTION_ID               send a failed action again (leads)\n"
    "  resolve ID | reopen ID        close it, or put it back in its "
    "queue\n"
    "  release ID                    give it back to its queue\n"
    "  away on|off                   stop or start taking items\n"
    "  queues                        queue depths\n"
    "  stats                         queues and agents (leads)\n"
    "  tail [--queue Q]... [--types T,...] [--json]\n"
    "                                follow events live until interrupted\n"
    "config: $INBOXCTL_CONFIG, else ~/.config/inboxctl/config: url = ...,\n"
    "        token = ... or token_file = ... (the environment wins, then "
    "-s, -t)\n"
    "  oncall                        who is on call now and next\n"
    "  incidents | incident ID       open incidents, or one in full\n"
    "  ack ID | resolve-incident ID  stop an incident's ladder, or close "
    "it\n"
    "exit: 0 ok, 1 error, 2 usage, 3 nothing to claim, 4 conflict, "
    "5 denied, 6 not found\n";

const char *
ctl_usage(void)
{
    return ctl_usage_text;
}

void
ctl_invocation_clear(struct ctl_invocation *inv)
{
    XFREE(&inv->path);
    json_decref(inv->body);
    inv->body = NULL;
}

char *
ctl_escape(const char *s)
{
    static const char hex[] = "0123456789ABCDEF";
    struct buf b;

    buf_init(&b, 3 * strlen(s) + 1);
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;

        if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
            (c >= '0' && c <= '9') || strchr("-._~:", c) != NULL) {
            if (buf_append(&b, s, 1) == -1)
                goto fail;
        } else if (buf_printf(&b, "%%%c%c", hex[c >> 4], hex[c & 15]) ==
            -1) {
            goto fail;
        }
    }
    if (b.data == NULL && buf_puts(&b, "") == -1)
        goto fail;
    return buf_steal(&b);
fail:
    buf_free(&b);
    return NULL;
}

/* argv[from..argc) joined by single spaces; NULL when none or no memory. */
static char *
ctl_join(int argc, char *const *argv, int from)
{
    struct buf b;

    if (from >= argc)
        return NULL;
    buf_init(&b, 1u << 20);
    for (int i = from; i < argc; i++) {
        if (buf_printf(&b, "%s%s", i > from ? " " : "", argv[i]) == -1) {
            buf_free(&b);
            return NULL;
        }
    }
    if (b.data == NULL && buf_puts(&b, "") == -1) {
        buf_free(&b);
        return NULL;
    }
    return buf_steal(&b);
}

static int
ctl_set_path(struct ctl_invocation *inv, const char *base, const char *id,
    const char *tail)
{
    char *esc = NULL;
    struct buf b;
    int rc = -1;

    buf_init(&b, 1u << 16);
    if (id == NULL) {
        rc = buf_puts(&b, tail);
    } else if ((esc = ctl_escape(id)) != NULL) {
        rc = buf_printf(&b, "%s%s%s%s", base ? base : "/v1/items/", esc,
            tail ? "/" : "", tail ? tail : "");
    }
    xfree(esc);
    if (rc == -1 || (inv->path = buf_steal(&b)) == NULL) {
        buf_free(&b);
        return -1;
    }
    return 0;
}

/* Set body[key] to a string (taking s, which may be NULL: no memory). */
static int
ctl_body_str(struct ctl_invocation *inv, const char *key, char *s)
{
    int rc = -1;

    if (s != NULL && (inv->body != NULL ||
        (inv->body = json_object()) != NULL))
        rc = json_object_set_new(inv->body, key, json_string(s));
    xfree(s);
    return rc;
}

/*
 * tail [--queue Q]... [--types T,...] [--json]: the path with its query.
 * 0, or -1 with a reason in err.
 */
static int
ctl_parse_tail(int argc, char *const *argv, struct ctl_invocation *inv,
    char *err, size_t errlen)
{
    char *esc = NULL;
    struct buf b;
    int i;

    buf_init(&b, 1u << 16);
    if (buf_puts(&b, "/v1/events") == -1)
        goto oom;
    for (i = 1; i < argc; i++) {
        const char *a = argv[i], *key = NULL;

        if (strcmp(a, "--json") == 0 || strcmp(a, "-j") == 0) {
            inv->json = true;
            continue;
        }
        if (strcmp(a, "--queue") == 0 || strcmp(a, "-q") == 0)
            key = "queue";
        else if (strcmp(a, "--types") == 0)
            key = "types";
        if (key == NULL || i + 1 >= argc || argv[i + 1][0] == '\0') {
            snprintf(err, errlen, key == NULL ? "tail: unknown argument "
                "%.40s" : "tail: %.40s needs a value", a);
            buf_free(&b);
            return -1;
        }
        if ((esc = ctl_escape(argv[++i])) == NULL ||
            buf_printf(&b, "%s%s=%s", strchr(b.data, '?') ? "&" : "?", key,
            esc) == -1)
            goto oom;
        XFREE(&esc);
    }
    if ((inv->path = buf_steal(&b)) == NULL)
        goto oom;
    return 0;
oom:
    xfree(esc);
    buf_free(&b);
    snprintf(err, errlen, "out of memory");
    return -1;
}

/*
 * The command's own arguments (argv[0] is the command's name). 0, or -1
 * with a reason in err.
 */
static int
ctl_parse_cmd(const struct ctl_command *c, int argc, char *const *argv,
    struct ctl_invocation *inv, char *err, size_t errlen)
{
    const char *key = c->key;
    bool incident;
    json_t *list;
    int i = 1;

    inv->cmd = c->cmd;
    inv->method = c->method;
    if (c->shape == CTL_SHAPE_PLAIN) {
        if (c->cmd == CTL_NEXT && argc > 1) {
            if ((inv->body = json_object()) == NULL ||
                (list = json_array()) == NULL ||
                json_object_set_new(inv->body, "queues", list) == -1)
                goto oom;
            for (i = 1; i < argc; i++) {
                if (json_array_append_new(list, json_string(argv[i])) ==
                    -1)
                    goto oom;
            }
        } else if (c->cmd == CTL_TAIL) {
            return ctl_parse_tail(argc, argv, inv, err, errlen);
        } else if (c->cmd == CTL_RULES) {
            if (argc != 2 || strcmp(argv[1], "stats") != 0) {
                snprintf(err, errlen, "rules: expected stats");
                return -1;
            }
        } else if (c->cmd == CTL_AWAY) {
            if (argc != 2 || (strcmp(argv[1], "on") != 0 &&
                strcmp(argv[1], "off") != 0)) {
                snprintf(err, errlen, "away: expected on or off");
                return -1;
            }
            if ((inv->body = json_pack("{s:b}", "away",
                strcmp(argv[1], "on") == 0)) == NULL)
                goto oom;
        } else if (c->cmd != CTL_NEXT && argc > 1) {
            snprintf(err, errlen, "%s: takes no arguments", c->name);
            return -1;
        }
        return ctl_set_path(inv, NULL, NULL, c->action) == -1 ? -1 : 0;
    }

    if (c->shape == CTL_SHAPE_ACTION) {
        if (argc != 2 || argv[1][0] == '\0' ||
            strspn(argv[1], "0123456789-") != strlen(argv[1])) {
            snprintf(err, errlen, "%s: expected one action id "
                "(<ms>-<seq>)", c->name);
            return -1;
        }
        return ctl_set_path(inv, "/v1/actions/", argv[1], c->action);
    }
    incident = c->shape == CTL_SHAPE_INCIDENT;
    if (argc < 2 || argv[1][0] == '\0') {
        snprintf(err, errlen, "%s: expected an %s id", c->name,
            incident ? "incident" : "item");
        return -1;
    }
    if (ctl_set_path(inv, incident ? "/v1/incidents/" : NULL, argv[1],
        c->action) == -1)
        goto oom;
    if (c->shape == CTL_SHAPE_ID || incident) {
        if (argc > 2) {
            snprintf(err, errlen, "%s: expected only an %s id", c->name,
                incident ? "incident" : "item");
            return -1;
        }
        return 0;
    }

    i = 2;
    if (c->cmd == CTL_REPLY && argc > i && strcmp(argv[i], "--canned") == 0)
        key = "canned";
    else if (c->cmd == CTL_ASSIGN && argc > i &&
        strcmp(argv[i], "--queue") == 0)
        key = "queue";
    else if (c->cmd == CTL_LABEL && argc > i &&
        strcmp(argv[i], "--remove") == 0)
        key = NULL;
    if (key != c->key)
        i++;
    if (key == NULL) {
        if ((inv->body = json_pack("{s:b}", "remove", 1)) == NULL)
            goto oom;
        key = "label";
    }
    if (i >= argc) {
        snprintf(err, errlen, "%s: expected %s after the item id", c->name,
            key);
        return -1;
    }
    /* Names are one word; texts take the rest of the line. */
    if ((strcmp(key, "text") != 0 && strcmp(key, "reason") != 0) &&
        argc > i + 1) {
        snprintf(err, errlen, "%s: %s is one word", c->name, key);
        return -1;
    }
    if (strcmp(argv[i], "-") == 0 && argc == i + 1 &&
        (strcmp(key, "text") == 0 || strcmp(key, "reason") == 0)) {
        inv->stdin_key = key;
        if (inv->body == NULL && (inv->body = json_object()) == NULL)
            goto oom;
        return 0;
    }
    if (ctl_body_str(inv, key, ctl_join(argc, argv, i)) == -1)
        goto oom;
    return 0;
oom:
    snprintf(err, errlen, "out of memory");
    return -1;
}

int
ctl_parse(int argc, char *const *argv, const char *env_url,
    const char *env_token, const struct ctl_config *file,
    struct ctl_invocation *inv, char *err, size_t errlen)
{
    const char *a;
    int i;

    memset(inv, 0, sizeof(*inv));
    inv->url = CTL_DEFAULT_URL;
    inv->url_from = "the default URL";
    if (file != NULL && file->url != NULL) {
        inv->url = file->url;
        inv->url_from = file->path;
    }
    if (env_url != NULL && *env_url != '\0') {
        inv->url = env_url;
        inv->url_from = "INBOXCTL_URL";
    }
    if (file != NULL && file->token != NULL)
        inv->token = file->token;
    if (env_token != NULL && *env_token != '\0')
        inv->token = env_token;
    for (i = 1; i < argc && argv[i][0] == '-'; i++) {
        a = argv[i];
        if (strcmp(a, "-j") == 0 || strcmp(a, "--json") == 0) {
            inv->json = true;
        } else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            inv->help = true;
            return 0;
        } else if (strcmp(a, "-V") == 0 || strcmp(a, "--version") == 0) {
            inv->version = true;
            return 0;
        } else if ((strcmp(a, "-s") == 0 || strcmp(a, "-t") == 0) &&
            i + 1 < argc) {
            if (a[1] == 's') {
                inv->url = argv[++i];
                inv->url_from = "-s";
            } else {
                inv->token = argv[++i];
            }
        } else {
            snprintf(err, errlen, "unknown option %.40s", a);
            return -1;
        }
    }
    if (i >= argc) {
        snprintf(err, errlen, "expected a command");
        return -1;
    }
    if (strncmp(inv->url, "http://", 7) != 0 &&
        strncmp(inv->url, "https://", 8) != 0) {
        snprintf(err, errlen, "%s: expected an http:// or https:// URL",
            inv->url_from);
        return -1;
    }
    for (size_t c = 0; c < nitems(ctl_commands); c++) {
        if (strcmp(ctl_commands[c].name, argv[i]) != 0)
            continue;
        if (inv->token == NULL) {
            snprintf(err, errlen, "no token: give -t, set INBOXCTL_TOKEN, "
                "or put token or token_file in the config file");
            return -1;
        }
        return ctl_parse_cmd(&ctl_commands[c], argc - i, argv + i, inv,
            err, errlen);
    }
    snprintf(err, errlen, "unknown command %.40s", argv[i]);
    return -1;
}

int
ctl_exit_code(enum ctl_cmd cmd, long status)
{
    if (status == 204 && cmd == CTL_NEXT)
        return CTL_EXIT_EMPTY;
    if (status >= 200 && status < 300)
        return CTL_EXIT_OK;
    switch (status) {
    case 401:
    case 403:
        return CTL_EXIT_DENIED;
    case 404:
        return CTL_EXIT_NOT_FOUND;
    case 409:
        return CTL_EXIT_CONFLICT;
    default:
        return CTL_EXIT_ERROR;
    }
}

/* ------------------------------------------------------------- render */

void
ctl_format_ms(long long ms, char *out, size_t outlen)
{
    if (ms < 0)
        snprintf(out, outlen, "-");
    else if (ms < 1000)
        snprintf(out, outlen, "%lldms", ms);
    else if (ms < 60 * 1000)
        snprintf(out, outlen, "%.1fs", (double)ms / 1000.0);
    else if (ms < 3600 * 1000LL)
        snprintf(out, outlen, "%lldm%02llds", ms / 60000,
            ms / 1000 % 60);
    else if (ms < 86400 * 1000LL)
        snprintf(out, outlen, "%lldh%02lldm", ms / 3600000,
            ms / 60000 % 60);
    else
        snprintf(out, outlen, "%lldd%02lldh", ms / 86400000,
            ms / 3600000 % 24);
}

static const char *
ctl_str(json_t *o, const char *key)
{
    return json_string_value(json_object_get(o, key));
}

/* User text, at most max bytes of it, control characters as '?'. */
static int
ctl_put_text(struct buf *out, const char *s, size_t max, bool newlines)
{
    size_t n = 0;
    char c;

    for (; s != NULL && *s != '\0' && n < max; s++, n++) {
        c = *s;
        if (c == '\n' && newlines) {
            if (buf_puts(out, "\n  > ") == -1)
                return -1;
            continue;
        }
        if ((unsigned char)c < 0x20 || c == 0x7f)
            c = '?';
        if (buf_append(out, &c, 1) == -1)
            return -1;
    }
    if (s != NULL && *s != '\0')
        return buf_puts(out, "...");
    return 0;
}

/* A list of strings as "a,b,c"; "-" when empty. */
static int
ctl_put_list(struct buf *out, json_t *list)
{
    json_t *v;
    size_t i;

    if (json_array_size(list) == 0)
        return buf_puts(out, "-");
    json_array_foreach(list, i, v) {
        if ((i > 0 && buf_puts(out, ",") == -1) ||
            ctl_put_text(out, json_string_value(v), 64, false) == -1)
            return -1;
    }
    return 0;
}

/* One line about an item: id, queue, state, who holds it. */
static int
ctl_put_head(struct buf *out, json_t *v)
{
    const char *holder = ctl_str(v, "holder");

    if (ctl_put_text(out, ctl_str(v, "id"), 300, false) == -1 ||
        buf_printf(out, "  %s  %s", ctl_str(v, "queue") ?
        ctl_str(v, "queue") : "-", ctl_str(v, "state") ?
        ctl_str(v, "state") : "-") == -1)
        return -1;
    if (holder != NULL && buf_printf(out, " (held by %s until %s)", holder,
        ctl_str(v, "lease_until") ? ctl_str(v, "lease_until") : "?") == -1)
        return -1;
    return buf_puts(out, "\n");
}

/* An item in full: who wrote what, its classification and figures. */
static int
ctl_put_item(struct buf *out, json_t *v)
{
    json_t *it = json_object_get(v, "item"), *author, *esc, *cls;
    char d[32];

    author = json_object_get(it, "author");
    cls = json_object_get(it, "classification");
    if (ctl_put_head(out, v) == -1 || buf_puts(out, "  from: ") == -1 ||
        ctl_put_text(out, ctl_str(author, "name") ? ctl_str(author, "name") :
        ctl_str(author, "username"), 80, false) == -1 ||
        buf_puts(out, " (") == -1 ||
        ctl_put_text(out, ctl_str(author, "id"), 80, false) == -1 ||
        buf_printf(out, ") on %s, %s, %s\n", ctl_str(it, "platform") ?
        ctl_str(it, "platform") : "?", ctl_str(it, "kind") ?
        ctl_str(it, "kind") : "?", ctl_str(it, "created_at") ?
        ctl_str(it, "created_at") : "?") == -1 ||
        buf_puts(out, "  categories: ") == -1 ||
        ctl_put_list(out, json_object_get(cls, "categories")) == -1 ||
        buf_puts(out, "  labels: ") == -1 ||
        ctl_put_list(out, json_object_get(v, "labels")) == -1 ||
        buf_puts(out, "\n") == -1)
        return -1;
    if ((esc = json_object_get(v, "escalation")) != NULL &&
        (buf_puts(out, "  escalated: ") == -1 ||
        ctl_put_text(out, ctl_str(esc, "reason"), 200, false) == -1 ||
        buf_printf(out, " (by %s)\n", ctl_str(esc, "by") ?
        ctl_str(esc, "by") : "?") == -1))
        return -1;
    if (json_object_get(v, "first_response_ms") != NULL) {
        ctl_format_ms(json_integer_value(json_object_get(v,
            "first_response_ms")), d, sizeof(d));
        if (buf_printf(out, "  first response: %s by %s\n", d,
            ctl_str(v, "first_response_by") ?
            ctl_str(v, "first_response_by") : "?") == -1)
            return -1;
    }
    if (json_object_get(v, "resolution_ms") != NULL) {
        ctl_format_ms(json_integer_value(json_object_get(v,
            "resolution_ms")), d, sizeof(d));
        if (buf_printf(out, "  resolved in: %s\n", d) == -1)
            return -1;
    }
    if (buf_puts(out, "  > ") == -1 ||
        ctl_put_text(out, ctl_str(it, "text"), 4000, true) == -1 ||
        buf_puts(out, "\n") == -1)
        return -1;
    return 0;
}

static int
ctl_render_history(struct buf *out, json_t *v)
{
    json_t *e, *conv;
    const char *t;
    size_t i;

    if (json_array_size(json_object_get(v, "history")) > 0 &&
        buf_puts(out, "history:\n") == -1)
        return -1;
    json_array_foreach(json_object_get(v, "history"), i, e) {
        if (buf_printf(out, "  %s  %-12s %s", ctl_str(e, "at") ?
            ctl_str(e, "at") : "?", ctl_str(e, "by") ? ctl_str(e, "by") :
            "?", ctl_str(e, "action") ? ctl_str(e, "action") : "?") == -1)
            return -1;
        t = ctl_str(e, "text") ? ctl_str(e, "text") : ctl_str(e, "reason") ?
            ctl_str(e, "reason") : ctl_str(e, "label") ? ctl_str(e,
            "label") : ctl_str(e, "to") ? ctl_str(e, "to") : ctl_str(e,
            "queue");
        if (t != NULL && (buf_puts(out, ": ") == -1 ||
            ctl_put_text(out, t, 70, false) == -1))
            return -1;
        if (buf_puts(out, "\n") == -1)
            return -1;
    }
    conv = json_object_get(v, "conversation");
    if (json_array_size(conv) > 0 && buf_puts(out, "conversation:\n") == -1)
        return -1;
    json_array_foreach(conv, i, e) {
        if (buf_puts(out, "  ") == -1 || ctl_put_head(out, e) == -1 ||
            buf_puts(out, "    > ") == -1 ||
            ctl_put_text(out, ctl_str(json_object_get(e, "item"), "text"),
            70, false) == -1 || buf_puts(out, "\n") == -1)
            return -1;
    }
    return 0;
}

static int
ctl_render_queues(struct buf *out, json_t *resp)
{
    json_t *q;
    char d[32];
    size_t i;

    if (buf_printf(out, "%-20s %7s %9s %8s\n", "QUEUE", "DEPTH", "OLDEST",
        "CLAIMED") == -1)
        return -1;
    json_array_foreach(json_object_get(resp, "queues"), i, q) {
        ctl_format_ms(json_object_get(q, "oldest_waiting_ms") ?
            json_integer_value(json_object_get(q, "oldest_waiting_ms")) :
            -1, d, sizeof(d));
        if (buf_printf(out, "%-20s %7lld %9s %8lld\n", ctl_str(q, "name") ?
            ctl_str(q, "name") : "?",
            (long long)json_integer_value(json_object_get(q, "depth")), d,
            (long long)json_integer_value(json_object_get(q, "claimed"))) ==
            -1)
            return -1;
    }
    return 0;
}

static int
ctl_render_agents(struct buf *out, json_t *resp)
{
    json_t *a;
    char d[32];
    size_t i;

    if (buf_printf(out, "\n%-20s %4s %7s %6s %8s %8s %10s\n", "AGENT",
        "AWAY", "HOLDING", "CLAIMS", "ANSWERED", "RESOLVED", "MEDIAN_FRT") ==
        -1)
        return -1;
    json_array_foreach(json_object_get(resp, "agents"), i, a) {
        ctl_format_ms(json_object_get(a, "median_first_response_ms") ?
            json_integer_value(json_object_get(a,
            "median_first_response_ms")) : -1, d, sizeof(d));
        if (buf_printf(out, "%-20s %4s %7lld %6lld %8lld %8lld %10s\n",
            ctl_str(a, "name") ? ctl_str(a, "name") : "?",
            json_is_true(json_object_get(a, "away")) ? "yes" : "no",
            (long long)json_integer_value(json_object_get(a, "holding")),
            (long long)json_integer_value(json_object_get(a, "claims")),
            (long long)json_integer_value(json_object_get(a, "answered")),
            (long long)json_integer_value(json_object_get(a, "resolved")),
            d) == -1)
            return -1;
    }
    return 0;
}

/*
 * One line per rule, busiest first as the server sent them: hits, shadow
 * hits, limit errors, time in pcre2, and flags (shadow; always: no
 * literal to prefilter on, so it runs on every item).
 */
static int
ctl_render_rules(struct buf *out, json_t *resp)
{
    json_t *r;
    size_t i;

    if (buf_printf(out, "%-40s %-10s %10s %8s %7s %9s  %s\n", "RULE",
        "CATEGORY", "HITS", "SHADOW", "LIMIT", "MATCH_MS", "FLAGS") == -1)
        return -1;
    json_array_foreach(json_object_get(resp, "rules"), i, r) {
        const char *id = ctl_str(r, "id"), *cat = ctl_str(r, "category");
        bool shadow = json_is_true(json_object_get(r, "shadow"));
        bool always = json_is_false(json_object_get(r, "prefiltered"));

        if (buf_printf(out, "%-40s %-10s %10lld %8lld %7lld %9.1f  %s%s%s\n",
            id ? id : "?", cat ? cat : "?",
            (long long)json_integer_value(json_object_get(r, "hits")),
            (long long)json_integer_value(json_object_get(r, "shadow_hits")),
            (long long)json_integer_value(json_object_get(r,
            "limit_errors")),
            json_number_value(json_object_get(r, "match_ms")),
            shadow ? "shadow" : "", shadow && always ? "," : "",
            always ? "always" : "") == -1)
            return -1;
    }
    return 0;
}

/* An outbound action: what, on what, by whom, and how it ended. */
static int
ctl_render_action(struct buf *out, json_t *a)
{
    static const char *const keys[] = { "type", "item", "by", "state",
        "detail", "request" };
    json_t *n;

    for (size_t i = 0; i < nitems(keys); i++) {
        if (ctl_str(a, keys[i]) != NULL &&
            buf_printf(out, "%-9s %s\n", keys[i], ctl_str(a, keys[i])) == -1)
            return -1;
    }
    if ((n = json_object_get(a, "attempts")) != NULL &&
        buf_printf(out, "%-9s %lld\n", "attempts",
        (long long)json_integer_value(n)) == -1)
        return -1;
    if (ctl_str(a, "undo") != NULL)
        return buf_printf(out, "%-9s inboxctl undo %s (%s)\n", "undo",
            ctl_str(a, "id") ? ctl_str(a, "id") : "?", ctl_str(a, "undo"));
    if (ctl_str(a, "undo_impossible") != NULL)
        return buf_printf(out, "%-9s none: %s\n", "undo",
            ctl_str(a, "undo_impossible"));
    return 0;
}

int
ctl_render(enum ctl_cmd cmd, long status, json_t *resp, struct buf *out)
{
    json_t *v;
    size_t i;

    switch (cmd) {
    case CTL_NONE:
        return 0;
    case CTL_NEXT:
        if (status == 204 || resp == NULL)
            return buf_puts(out, "nothing waiting\n");
        if (buf_puts(out, json_is_string(json_object_get(resp, "via")) &&
            strcmp(ctl_str(resp, "via"), "assigned") == 0 ?
            "assigned to you: " : "claimed: ") == -1)
            return -1;
        return ctl_put_item(out, resp);
    case CTL_SHOW:
        if (ctl_put_item(out, resp) == -1)
            return -1;
        return ctl_render_history(out, resp);
    case CTL_MINE:
        if (json_array_size(json_object_get(resp, "items")) == 0)
            return buf_puts(out, "you hold nothing\n");
        json_array_foreach(json_object_get(resp, "items"), i, v) {
            if (ctl_put_head(out, v) == -1 || buf_puts(out, "  > ") == -1 ||
                ctl_put_text(out, ctl_str(json_object_get(v, "item"),
                "text"), 70, false) == -1 || buf_puts(out, "\n") == -1)
                return -1;
        }
        return 0;
    case CTL_AWAY:
        return buf_printf(out, "away: %s (%lld item%s released)\n",
            json_is_true(json_object_get(resp, "away")) ? "on" : "off",
            (long long)json_integer_value(json_object_get(resp,
            "released")), json_integer_value(json_object_get(resp,
            "released")) == 1 ? "" : "s");
    case CTL_QUEUES:
        return ctl_render_queues(out, resp);
    case CTL_STATS:
        if (ctl_render_queues(out, resp) == -1)
            return -1;
        return ctl_render_agents(out, resp);
    case CTL_RULES:
        return ctl_render_rules(out, resp);
    case CTL_TAIL:
        return 0;               /* one line per event: ctl_render_event */
    case CTL_ACTION:
        return ctl_render_action(out, resp);
    case CTL_UNDO:
    case CTL_RETRY:
        return buf_printf(out, "outbound action %s: pending (%s %s)\n",
            ctl_str(resp, "action_id") ? ctl_str(resp, "action_id") : "?",
            cmd == CTL_UNDO ? "undoes" : "retries",
            ctl_str(resp, cmd == CTL_UNDO ? "undo_of" : "retry_of") ?
            ctl_str(resp, cmd == CTL_UNDO ? "undo_of" : "retry_of") : "?");
    case CTL_ONCALL:
    case CTL_INCIDENTS:
    case CTL_INCIDENT:
    case CTL_ACK:
    case CTL_RESOLVE_INCIDENT:
        return ctl_render_escalation(cmd, resp, out);
    default:
        /* An action: the item as it is now. */
        if (ctl_put_head(out, resp) == -1)
            return -1;
        if (ctl_str(resp, "action_id") != NULL)
            return buf_printf(out, "  outbound action %s: pending\n",
                ctl_str(resp, "action_id"));
        return 0;
    }
}

/* --------------------------------------------------------- config file */

void
ctl_config_clear(struct ctl_config *cfg)
{
    if (cfg->token != NULL)
        explicit_bzero(cfg->token, strlen(cfg->token));
    XFREE(&cfg->token);
    XFREE(&cfg->path);
    XFREE(&cfg->url);
    XFREE(&cfg->token_file);
}

int
ctl_config_path(const char *env_config, const char *xdg, const char *home,
    char *out, size_t outlen, bool *named)
{
    int n;

    *named = false;
    if (env_config != NULL && *env_config != '\0') {
        *named = true;
        n = snprintf(out, outlen, "%s", env_config);
    } else if (xdg != NULL && *xdg != '\0') {
        n = snprintf(out, outlen, "%s/inboxctl/config", xdg);
    } else if (home != NULL && *home != '\0') {
        n = snprintf(out, outlen, "%s/.config/inboxctl/config", home);
    } else {
        return -1;
    }
    return n < 0 || (size_t)n >= outlen ? -1 : 0;
}

static bool
ctl_blank(char c)
{
    return c == ' ' || c == '\t' || c == '\r';
}

int
ctl_config_parse(const char *text, size_t len, const char *path,
    struct ctl_config *cfg, char *err, size_t errlen)
{
    static const char *const keys[] = { "url", "token", "token_file" };
    const char *p = text, *end = text + len, *nl, *a, *b, *k;
    char **slot;
    size_t klen, i;
    int line = 0;

    if (memchr(text, '\0', len) != NULL) {
        snprintf(err, errlen, "%s: not a text file", path);
        return -1;
    }
    for (; p < end; p = nl != NULL ? nl + 1 : end) {
        nl = memchr(p, '\n', (size_t)(end - p));
        a = p;
        b = nl != NULL ? nl : end;
        line++;
        while (a < b && ctl_blank(*a))
            a++;
        while (b > a && ctl_blank(b[-1]))
            b--;
        if (a == b || *a == '#')
            continue;
        for (k = a; a < b && ((*a >= 'a' && *a <= 'z') || *a == '_'); a++)
            ;
        klen = (size_t)(a - k);
        while (a < b && ctl_blank(*a))
            a++;
        if (klen == 0 || a == b || *a != '=') {
            snprintf(err, errlen, "%s:%d: expected key = value", path,
                line);
            return -1;
        }
        for (a++; a < b && ctl_blank(*a); a++)
            ;
        for (i = 0; i < nitems(keys); i++) {
            if (strlen(keys[i]) == klen && strncmp(keys[i], k, klen) == 0)
                break;
        }
        if (i == nitems(keys)) {
            snprintf(err, errlen, "%s:%d: unknown key %.*s (expected url, "
                "token or token_file)", path, line, (int)(klen > 40 ? 40 :
                klen), k);
            return -1;
        }
        slot = i == 0 ? &cfg->url : i == 1 ? &cfg->token : &cfg->token_file;
        if (a == b || *slot != NULL) {
            snprintf(err, errlen, "%s:%d: %s: %s", path, line, keys[i],
                a == b ? "no value" : "given twice");
            return -1;
        }
        if (i == 1 && (size_t)(b - a) > CTL_TOKEN_MAX) {
            snprintf(err, errlen, "%s:%d: token: too long", path, line);
            return -1;
        }
        if ((*slot = xstrndup(a, (size_t)(b - a))) == NULL) {
            snprintf(err, errlen, "out of memory");
            return -1;
        }
    }
    if (cfg->token != NULL && cfg->token_file != NULL) {
        snprintf(err, errlen, "%s: token and token_file: give one of them",
            path);
        return -1;
    }
    return 0;
}

static void
ctl_wipe_free(char *s, size_t len)
{
    if (s != NULL)
        explicit_bzero(s, len);
    xfree(s);
}

/* Refuse a file holding a secret that group or others may read. */
static int
ctl_check_private(const char *path, mode_t mode, char *err, size_t errlen)
{
    if ((mode & (S_IRGRP | S_IROTH)) == 0)
        return 0;
    snprintf(err, errlen, "%s: holds a token but group or others may read "
        "it (mode %04o); chmod 600 %s", path, (unsigned)(mode & 07777),
        path);
    return -1;
}

/* Read cfg->token_file (relative to the config file's directory). */
static int
ctl_config_token_file(const char *path, struct ctl_config *cfg, char *err,
    size_t errlen)
{
    const char *slash = strrchr(path, '/');
    char file[4096], *data = NULL;
    size_t len = 0, size = 0;
    mode_t mode = 0;
    int n, rc = -1;

    if (cfg->token_file[0] == '/' || slash == NULL)
        n = snprintf(file, sizeof(file), "%s", cfg->token_file);
    else
        n = snprintf(file, sizeof(file), "%.*s/%s", (int)(slash - path),
            path, cfg->token_file);
    if (n < 0 || (size_t)n >= sizeof(file)) {
        snprintf(err, errlen, "%s: token_file: path too long", path);
        return -1;
    }
    if ((data = util_read_file(file, CTL_TOKEN_MAX + 2, &len, &mode)) ==
        NULL) {
        snprintf(err, errlen, "%s: token_file %s: %s", path, file,
            errno == EFBIG ? "too large for a token" : strerror(errno));
        return -1;
    }
    size = len + 1;
    if (ctl_check_private(file, mode, err, errlen) == -1)
        goto out;
    /* One line; one trailing newline (or CRLF) dropped. */
    if (len > 0 && data[len - 1] == '\n')
        data[--len] = '\0';
    if (len > 0 && data[len - 1] == '\r')
        data[--len] = '\0';
    if (len == 0 || len > CTL_TOKEN_MAX || strpbrk(data, "\r\n") != NULL) {
        snprintf(err, errlen, "%s: expected the token alone on one line",
            file);
        goto out;
    }
    if ((cfg->token = xstrdup(data)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    ctl_wipe_free(data, size);
    return rc;
}

int
ctl_config_load(const char *path, bool named, struct ctl_config *cfg,
    char *err, size_t errlen)
{
    char *text = NULL;
    size_t len = 0;
    mode_t mode = 0;
    int rc = -1;

    if ((text = util_read_file(path, CTL_CONFIG_MAX, &len, &mode)) == NULL) {
        if (errno == ENOENT && !named)
            return 0;
        snprintf(err, errlen, "%s: %s", path, errno == EFBIG ?
            "too large for a config file" : strerror(errno));
        return -1;
    }
    if (ctl_config_parse(text, len, path, cfg, err, errlen) == -1)
        goto out;
    if (cfg->token != NULL &&
        ctl_check_private(path, mode, err, errlen) == -1)
        goto out;
    if (cfg->token_file != NULL &&
        ctl_config_token_file(path, cfg, err, errlen) == -1)
        goto out;
    if ((cfg->path = xstrdup(path)) == NULL) {
        snprintf(err, errlen, "out of memory");
        goto out;
    }
    rc = 0;
out:
    ctl_wipe_free(text, len + 1);
    return rc;
}

/* ------------------------------------------------------ the event stream */

void
ctl_sse_init(struct ctl_sse *p)
{
    memset(p, 0, sizeof(*p));
    buf_init(&p->line, CTL_SSE_MAX);
    buf_init(&p->data, CTL_SSE_MAX);
}

void
ctl_sse_free(struct ctl_sse *p)
{
    buf_free(&p->line);
    buf_free(&p->data);
}

void
ctl_sse_reset(struct ctl_sse *p)
{
    buf_reset(&p->line);
    buf_reset(&p->data);
    p->event[0] = '\0';
    p->cr = false;
}

/* One whole line (p->line) of the stream. */
static int
ctl_sse_line(struct ctl_sse *p, ctl_sse_cb *cb, void *arg)
{
    const char *line = p->line.data != NULL ? p->line.data : "";
    const char *value;
    struct ctl_sse_event ev;
    size_t flen;
    char *end;
    long v;

    if (p->line.len == 0) {
        /* A blank line ends an event; one without data is none. */
        if (p->data.len > 0) {
            p->data.data[--p->data.len] = '\0';     /* the last '\n' */
            ev.event = p->event[0] != '\0' ? p->event : "message";
            ev.id = p->last_id;
            ev.data = p->data.data;
            ev.len = p->data.len;
            cb(&ev, arg);
        }
        buf_reset(&p->data);
        p->event[0] = '\0';
        return 0;
    }
    if (line[0] == ':')
        return 0;                   /* a comment: the keepalive */
    if ((value = strchr(line, ':')) != NULL) {
        flen = (size_t)(value - line);
        value += value[1] == ' ' ? 2 : 1;
    } else {
        flen = p->line.len;
        value = "";
    }
    if (flen == 5 && strncmp(line, "event", 5) == 0) {
        snprintf(p->event, sizeof(p->event), "%s", value);
    } else if (flen == 4 && strncmp(line, "data", 4) == 0) {
        if (buf_puts(&p->data, value) == -1 ||
            buf_puts(&p->data, "\n") == -1)
            return -1;
    } else if (flen == 2 && strncmp(line, "id", 2) == 0) {
        if (strlen(value) < sizeof(p->last_id))
            snprintf(p->last_id, sizeof(p->last_id), "%s", value);
    } else if (flen == 5 && strncmp(line, "retry", 5) == 0) {
        errno = 0;
        v = strtol(value, &end, 10);
        if (*value >= '0' && *value <= '9' && *end == '\0' && errno == 0) {
            p->retry_ms = v;
            p->retried = true;
        }
    }
    return 0;
}

int
ctl_sse_feed(struct ctl_sse *p, const char *data, size_t len,
    ctl_sse_cb *cb, void *arg)
{
    const char *end = data + len, *q;

    while (data < end) {
        if (p->cr && *data == '\n') {
            /* The LF of a CRLF: the line already ended at the CR. */
            p->cr = false;
            data++;
            continue;
        }
        p->cr = false;
        for (q = data; q < end && *q != '\n' && *q != '\r'; q++)
            ;
        if (q > data && buf_append(&p->line, data, (size_t)(q - data)) ==
            -1)
            return -1;
        if (q == end)
            break;
        p->cr = *q == '\r';
        if (ctl_sse_line(p, cb, arg) == -1)
            return -1;
        buf_reset(&p->line);
        data = q + 1;
    }
    return 0;
}

int
ctl_render_event(const char *name, json_t *data, struct buf *out)
{
    const char *queue = ctl_str(data, "queue"), *by = ctl_str(data, "by");
    const char *t = ctl_str(data, "text");

    if (t == NULL)
        t = ctl_str(data, "reason");
    if (t == NULL)
        t = ctl_str(data, "label");
    if (t == NULL)
        t = ctl_str(data, "to");
    if (t == NULL)
        t = ctl_str(data, "error");
    if (ctl_put_text(out, ctl_str(data, "at") ? ctl_str(data, "at") : "-",
        40, false) == -1 || buf_puts(out, "  ") == -1)
        return -1;
    if (ctl_put_text(out, name, 64, false) == -1 ||
        buf_printf(out, "%*s  ", (int)(strlen(name) < 10 ? 10 -
        strlen(name) : 0), "") == -1 ||
        ctl_put_text(out, ctl_str(data, "id") ? ctl_str(data, "id") : "-",
        300, false) == -1 || buf_puts(out, "  ") == -1 ||
        ctl_put_text(out, queue != NULL ? queue : "-", 64, false) == -1)
        return -1;
    if (by != NULL && (buf_puts(out, "  ") == -1 ||
        ctl_put_text(out, by, 64, false) == -1))
        return -1;
    if (t != NULL && (buf_puts(out, ": ") == -1 ||
        ctl_put_text(out, t, 70, false) == -1))
        return -1;
    return buf_puts(out, "\n");
}
