/*
 * desk_fuzz: the responders' API requests (desk.c), as http.c hands
 * them over. The first line of the input is "METHOD PATH [ROLE]"
 * (GET, POST or DELETE; agent, lead, admin or ingest, default agent),
 * the rest is the JSON body. desk_handle routes it, decodes the item id,
 * checks the role and the body of each action against tests/fuzz/desk.yml
 * (agents, queues, canned replies). Redis is never connected, so what
 * passes every check is answered 503: each request must be answered
 * exactly once before desk_handle returns, never with a success or a
 * 500, and with a code and a message fit for the JSON error answer.
 *
 * The body is also tried as a canned reply template: desk_expand must
 * expand exactly the templates desk_template_check accepts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "desk.h"
#include "fuzz.h"
#include "metrics.h"
#include "queue.h"

#define DESK_FUZZ_CONFIG FUZZ_SOURCE_DIR "/tests/fuzz/desk.yml"

static struct daemon desk_fuzz_d;
static json_t *desk_fuzz_item;

static const struct {
    const char *name;
    enum config_role role;
    const char *actor;
} desk_fuzz_roles[] = {
    { "agent", CONFIG_ROLE_AGENT, "anna" },
    { "lead", CONFIG_ROLE_LEAD, "lena" },
    { "admin", CONFIG_ROLE_ADMIN, "root" },
    { "ingest", CONFIG_ROLE_INGEST, "ingest-bot" },
};

struct desk_fuzz_answer {
    int calls;
    int status;
};

static void
desk_fuzz_free(void)
{
    struct daemon *d = &desk_fuzz_d;

    desk_free(d->desk);
    queue_free(d->queue);
    metrics_free(d->metrics);
    config_unref(d->cfg);
    event_base_free(d->base);
    json_decref(desk_fuzz_item);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    struct daemon *d = &desk_fuzz_d;
    struct buf errors;

    (void)argc;
    (void)argv;
    fuzz_setup();
    buf_init(&errors, 1 << 20);
    if ((d->cfg = config_load(DESK_FUZZ_CONFIG, &errors)) == NULL) {
        fprintf(stderr, "desk_fuzz: %s", errors.data ? errors.data : "");
        exit(1);
    }
    buf_free(&errors);
    if ((d->base = event_base_new()) == NULL ||
        (d->metrics = metrics_new()) == NULL ||
        (d->queue = queue_new(d->base, d->cfg, d->metrics)) == NULL ||
        (d->desk = desk_new(d)) == NULL) {
        fprintf(stderr, "desk_fuzz: cannot set up the desk\n");
        exit(1);
    }
    desk_fuzz_item = json_pack("{s:s,s:s,s:s,s:{s:s,s:s,s:s}}", "id",
        "vk:-1_2", "platform", "vk", "queue", "support", "author", "id", "7",
        "name", "Ольга", "username", "olga_s");
    atexit(desk_fuzz_free);
    return 0;
}

static void
desk_fuzz_cb(const struct desk_reply *r, void *arg)
{
    struct desk_fuzz_answer *a = arg;

    a->calls++;
    a->status = r->status;
    /* Without Redis only what the config alone answers can succeed:
     * GET /v1/me and GET /v1/canned. */
    if (r->status == 200) {
        FUZZ_CHECK(json_is_object(r->body));
        FUZZ_CHECK(json_object_get(r->body, "name") != NULL ||
            json_is_array(json_object_get(r->body, "canned")));
        return;
    }
    FUZZ_CHECK(r->status == 400 || r->status == 403 || r->status == 404 ||
        r->status == 503);
    FUZZ_CHECK(r->body == NULL);
    FUZZ_CHECK(r->code != NULL && r->message != NULL);
    FUZZ_CHECK(fuzz_printable(r->code));
    /* The message goes into a JSON string: it must be UTF-8. */
    FUZZ_CHECK(fuzz_utf8_valid(r->message, strlen(r->message)));
}

static void
desk_fuzz_template(const char *tmpl)
{
    const char *problem = desk_template_check(tmpl);
    char *s = desk_expand(tmpl, desk_fuzz_item, "anna", NULL);

    FUZZ_CHECK((problem == NULL) == (s != NULL));
    xfree(s);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct desk_fuzz_answer answer = { 0, 0 };
    struct desk_request req = { .method = DESK_GET };
    char *line, *path, *role, *body;
    const uint8_t *rest;
    size_t restlen, i;

    if ((line = fuzz_str(data, fuzz_line_len(data, size))) == NULL)
        return 0;
    rest = fuzz_after_line(data, size, &restlen);
    if ((path = strchr(line, ' ')) == NULL)
        goto out;
    *path++ = '\0';
    if (strcmp(line, "POST") == 0)
        req.method = DESK_POST;
    else if (strcmp(line, "DELETE") == 0)
        req.method = DESK_DELETE;
    req.path = path;
    req.actor = desk_fuzz_roles[0].actor;
    req.role = desk_fuzz_roles[0].role;
    if ((role = strchr(path, ' ')) != NULL) {
        *role++ = '\0';
        for (i = 0; i < sizeof(desk_fuzz_roles) /
            sizeof(desk_fuzz_roles[0]); i++) {
            if (strcmp(role, desk_fuzz_roles[i].name) == 0) {
                req.actor = desk_fuzz_roles[i].actor;
                req.role = desk_fuzz_roles[i].role;
            }
        }
    }
    req.body = restlen > 0 ? (const char *)rest : NULL;
    req.len = restlen;
    desk_handle(desk_fuzz_d.desk, &req, desk_fuzz_cb, &answer);
    FUZZ_CHECK(answer.calls == 1);
    FUZZ_CHECK(desk_fuzz_d.inflight == 0);

    if ((body = fuzz_str(rest, restlen)) != NULL)
        desk_fuzz_template(body);
    xfree(body);
out:
    xfree(line);
    return 0;
}
