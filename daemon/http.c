/*
 * http: the evhttp server on the daemon's loop. It owns the listening
 * socket, request limits (body, headers, timeouts), bearer-token auth and
 * the JSON error shape, and dispatches:
 *
 *   POST /v1/items                 ingest one normalized item (role
 *                                  ingest or admin)
 *   GET  /webhooks/meta            Meta's subscription handshake
 *   POST /webhooks/meta            Facebook and Instagram deliveries
 *   POST /webhooks/vk              VK Callback API deliveries
 *   POST /webhooks/telegram/<id>   Telegram updates for bot <id>
 *   GET  /healthz                  ok only when Redis is up and rules are
 *                                  loaded
 *   GET  /metrics                  Prometheus text format
 *   /v1/claims, /v1/items/<id>[/<action>], /v1/agents/<name>/away,
 *   /v1/queues, /v1/stats          the responders' desk (role agent,
 *                                  lead or admin), handed to desk.c
 *   GET  /v1/events                the live event stream (role agent,
 *                                  lead or admin): a chunked reply that
 *                                  stays open, fed by events.c
 *   /v1/oncall, /v1/incidents[/<id>[/ack|/resolve]]
 *                                  escalation (same roles), escalate.c
 *
 * Before any of that, http_guard admits each connection and each request
 * (caps and rates per source, the request deadline); a request over its
 * source's rate is answered 429 with Retry-After.
 *
 * An ingest request is answered only after the pipeline reports Redis's
 * answer: 202 for a new item (or one kept in the local spool while Redis
 * is away), 200 for a duplicate, 503 + Retry-After when Redis is
 * unreachable and no spool takes it, or the daemon is shutting down. The
 * webhook routes authenticate by the platform's signature or secret
 * instead of a token, and the webhook module decides their answers.
 */
#include <string.h>
#include <strings.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "config.h"
#include "daemon.h"
#include "desk.h"
#include "events.h"
#include "escalate.h"
#include "http.h"
#include "http_guard.h"
#include "item.h"
#include "jsonread.h"
#include "jsonw.h"
#include "log.h"
#include "metrics.h"
#include "pipeline.h"
#include "queue.h"
#include "rules.h"
#include "spool.h"
#include "util.h"
#include "webhook.h"

/* The Telegram route: the account id follows this prefix. */
/* A reader's arena past this (a large body) is not kept for the next. */
#define HTTP_READER_KEEP (64u << 10)
/* A JSON reply is never near this; past it the body is left empty. */
#define HTTP_REPLY_MAX (256u << 20)
#define HTTP_TELEGRAM_PREFIX "/webhooks/telegram/"

struct http {
    struct daemon *d;
    struct evhttp *srv;
    struct evhttp_bound_socket *sock;
    int port;
    unsigned unsent;        /* replies handed to evhttp, not yet written */
    /* The token of the request being dispatched; valid during the
     * handler's call only. */
    const struct config_token *token;
    struct http_also *also;     /* a second address (http_listen_also) */
    struct http_guard *guard;   /* admission on both addresses */
    struct jsonread jr;         /* the ingest bodies' reader (its arena) */
};

/* What a request needs: the token's role, or none for open routes. */
enum http_auth {
    HTTP_AUTH_NONE,
    HTTP_AUTH_INGEST,
    HTTP_AUTH_ADMIN,
    HTTP_AUTH_METRICS,      /* open unless http.metrics_public is false */
    HTTP_AUTH_DESK,         /* agent, lead or admin (desk.c) */
};

struct http_route {
    enum evhttp_cmd_type method;
    const char *path;
    bool prefix;            /* path is a prefix; the rest is the handler's */
    enum http_auth auth;
    void (*handler)(struct http *h, struct evhttp_request *req,
        const char *rest);
};

static void http_items_post(struct http *, struct evhttp_request *,
    const char *);
static void http_rules_get(struct http *, struct evhttp_request *,
    const char *);
static void http_meta_get(struct http *, struct evhttp_request *,
    const char *);
static void http_meta_post(struct http *, struct evhttp_request *,
    const char *);
static void http_vk_post(struct http *, struct evhttp_request *,
    const char *);
static void http_telegram_post(struct http *, struct evhttp_request *,
    const char *);
static void http_healthz(struct http *, struct evhttp_request *,
    const char *);
static void http_metrics(struct http *, struct evhttp_request *,
    const char *);
static void http_desk(struct http *, struct evhttp_request *,
    const char *);
static void http_events(struct http *, struct evhttp_request *,
    const char *);
static void http_escalate(struct http *, struct evhttp_request *,
    const char *);

static const struct http_route http_routes[] = {
    {EVHTTP_REQ_POST, "/v1/items", false, HTTP_AUTH_INGEST, http_items_post},
    {EVHTTP_REQ_GET, "/webhooks/meta", false, HTTP_AUTH_NONE, http_meta_get},
    {EVHTTP_REQ_POST, "/webhooks/meta", false, HTTP_AUTH_NONE,
        http_meta_post},
    {EVHTTP_REQ_POST, "/webhooks/vk", false, HTTP_AUTH_NONE, http_vk_post},
    {EVHTTP_REQ_POST, HTTP_TELEGRAM_PREFIX, true, HTTP_AUTH_NONE,
        http_telegram_post},
    {EVHTTP_REQ_GET, "/healthz", false, HTTP_AUTH_NONE, http_healthz},
    {EVHTTP_REQ_GET, "/metrics", false, HTTP_AUTH_METRICS, http_metrics},
    /* The responders' desk: desk.c routes within these. */
    {EVHTTP_REQ_POST, "/v1/claims", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/claims", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/items/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_POST, "/v1/items/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_POST, "/v1/agents/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_DELETE, "/v1/agents/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/actions/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_POST, "/v1/actions/", true, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/me", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/canned", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/queues", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/stats", false, HTTP_AUTH_DESK, http_desk},
    {EVHTTP_REQ_GET, "/v1/rules", false, HTTP_AUTH_DESK, http_rules_get},
    {EVHTTP_REQ_GET, "/v1/events", false, HTTP_AUTH_DESK, http_events},
    /* Escalation (docs/escalation.md): escalate.c routes within these. */
    {EVHTTP_REQ_GET, "/v1/oncall", false, HTTP_AUTH_DESK, http_escalate},
    {EVHTTP_REQ_GET, "/v1/incidents", false, HTTP_AUTH_DESK, http_escalate},
    {EVHTTP_REQ_GET, "/v1/incidents/", true, HTTP_AUTH_DESK, http_escalate},
    {EVHTTP_REQ_POST, "/v1/incidents/", true, HTTP_AUTH_DESK, http_escalate},
};

/*
 * evhttp writes a reply after evhttp_send_reply returns. A drain must not
 * end the loop before the last answer has left, or a sender whose item is
 * safe in Redis would see the connection drop and retry for nothing.
 */
static void
http_reply_done_cb(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;

    if (h->unsent > 0)
        h->unsent--;
    http_guard_reply_done(h->guard, req);
}

static void
http_send(struct http *h, struct evhttp_request *req, int code,
    const char *reason, struct evbuffer *body)
{
    h->unsent++;
    evhttp_request_set_on_complete_cb(req, http_reply_done_cb, h);
    evhttp_send_reply(req, code, reason, body);
}

static void
http_count(struct http *h, int code)
{
    char c[4];

    /* Always three digits: evhttp sends no other status. */
    c[0] = (char)('0' + code / 100 % 10);
    c[1] = (char)('0' + code / 10 % 10);
    c[2] = (char)('0' + code % 10);
    c[3] = '\0';
    metrics_add(h->d->metrics, "inboxd_http_requests_total", "code", c, 1);
}

/* The reason phrase of the error statuses the handlers answer with. */
static const char *
http_reason(int status)
{
    switch (status) {
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 403: return "Forbidden";
    case 404: return "Not Found";
    case 409: return "Conflict";
    case 429: return "Too Many Requests";
    case 503: return "Service Unavailable";
    default: return "Internal Server Error";
    }
}

/*
 * Send the JSON text in s (a line, written and checked by the caller) as
 * the answer; a failed s sends an empty body. s is borrowed.
 */
static void
http_reply_text_json(struct http *h, struct evhttp_request *req, int code,
    const char *reason, const struct buf *s)
{
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evbuffer *buf = evbuffer_new();

    evhttp_add_header(out, "Content-Type", "application/json");
    evhttp_add_header(out, "Cache-Control", "no-store");
    if (buf != NULL && !s->failed && s->len > 0)
        evbuffer_add(buf, s->data, s->len);
    http_send(h, req, code, reason, buf);
    http_count(h, code);
    if (buf != NULL)
        evbuffer_free(buf);
}

/* Send body as the JSON answer; takes the reference to body. */
static void
http_reply_json(struct http *h, struct evhttp_request *req, int code,
    const char *reason, json_t *body)
{
    struct buf s;

    buf_init(&s, HTTP_REPLY_MAX);
    if (body == NULL || jsonw_value(&s, body) == -1 ||
        buf_append(&s, "\n", 1) == -1)
        s.failed = true;
    http_reply_text_json(h, req, code, reason, &s);
    buf_free(&s);
    json_decref(body);
}

/*
 * Error replies share one shape: {"error": {"code": stable_code,
 * "message": human text}}. code is what clients branch on.
 */
static void
http_error(struct http *h, struct evhttp_request *req, int status,
    const char *reason, const char *code, const char *message)
{
    json_t *body = json_pack("{s:{s:s,s:s}}", "error", "code", code,
        "message", message);

    http_reply_json(h, req, status, reason, body);
}

static void
http_unavailable_after(struct http *h, struct evhttp_request *req,
    int64_t secs, const char *code, const char *message)
{
    char ra[24];

    snprintf(ra, sizeof(ra), "%lld", (long long)(secs > 0 ? secs : 1));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
        ra);
    http_error(h, req, 503, "Service Unavailable", code, message);
}

/* 429, with the seconds to wait. */
static void
http_too_many(struct http *h, struct evhttp_request *req, int64_t secs,
    const char *code, const char *message)
{
    char ra[24];

    snprintf(ra, sizeof(ra), "%lld", (long long)(secs > 0 ? secs : 1));
    evhttp_add_header(evhttp_request_get_output_headers(req), "Retry-After",
        ra);
    http_error(h, req, 429, "Too Many Requests", code, message);
}

bool
http_admit(struct http *h, struct evhttp_request *req)
{
    int64_t wait_ms = 0;

    if (http_guard_request(h->guard, req, &wait_ms) == HTTP_GUARD_OK)
        return true;
    http_too_many(h, req, (wait_ms + 999) / 1000, "rate_limited",
        "too many requests from this address; retry after Retry-After "
        "seconds");
    return false;
}

static void
http_unavailable(struct http *h, struct evhttp_request *req,
    const char *code, const char *message)
{
    http_unavailable_after(h, req, h->d->cfg->queue.retry_after_s, code,
        message);
}

/* A write neither Redis nor the spool took. */
static void
http_store_unavailable(struct http *h, struct evhttp_request *req)
{
    http_unavailable_after(h, req, pipeline_retry_after_s(h->d),
        "store_unavailable", h->d->spool != NULL ? "the item store (Redis) "
        "is unreachable and the local spool is full; retry later" :
        "the item store (Redis) is unreachable; retry later");
}

/* Return the matched token, or NULL after answering 401. */
static const struct config_token *
http_authenticate(struct http *h, struct evhttp_request *req)
{
    const char *auth = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Authorization");
    const struct config_token *tok = NULL;

    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0) {
        const char *t = auth + 7;

        while (*t == ' ')
            t++;
        tok = config_find_token(h->d->cfg, t, strlen(t));
    }
    if (tok == NULL) {
        metrics_add(h->d->metrics, "inboxd_http_auth_failures_total",
            "reason", auth == NULL ? "missing" : "invalid", 1);
        evhttp_add_header(evhttp_request_get_output_headers(req),
            "WWW-Authenticate", "Bearer realm=\"inboxd\"");
        http_error(h, req, 401, "Unauthorized", "unauthorized",
            auth == NULL ? "missing bearer token" : "invalid bearer token");
    }
    return tok;
}

static bool
http_authorize(struct http *h, struct evhttp_request *req, enum http_auth need)
{
    const struct config_token *tok;
    bool ok;

    h->token = NULL;
    if (need == HTTP_AUTH_NONE ||
        (need == HTTP_AUTH_METRICS && h->d->cfg->http.metrics_public))
        return true;
    if ((tok = http_authenticate(h, req)) == NULL)
        return false;
    h->token = tok;
    if (need == HTTP_AUTH_INGEST)
        ok = tok->role == CONFIG_ROLE_INGEST || tok->role == CONFIG_ROLE_ADMIN;
    else if (need == HTTP_AUTH_DESK)
        ok = tok->role != CONFIG_ROLE_INGEST;
    else
        ok = tok->role == CONFIG_ROLE_ADMIN;
    if (!ok) {
        metrics_add(h->d->metrics, "inboxd_http_auth_failures_total",
            "reason", "forbidden", 1);
        http_error(h, req, 403, "Forbidden", "forbidden",
            "this token's role may not do that");
    }
    return ok;
}

/* ---------------------------------------------------------------- ingest */

/* One ingest request waiting for the pipeline. */
struct http_pending {
    struct http *h;
    struct evhttp_request *req;
};

/* "key":"value", NULL value writing nothing, for hand-written objects. */
static void
http_put_str(struct buf *b, const char *key, const char *value, int first)
{
    if (value != NULL && (jsonw_key(b, key, first) == -1 ||
        jsonw_str(b, value) == -1))
        b->failed = true;
}

/*
 * The ingest answer, written straight into its line rather than packed
 * into a jansson object and dumped (the bytes json_pack and jsonw gave):
 * {"id","status"[,"queue"][,"stream_id"][,"categories"]}, queue and
 * stream_id when known, the decided categories when asked for and the
 * item has a classification.
 */
static void
http_reply_item(struct http *h, struct evhttp_request *req, int code,
    const char *reason, const struct item *it, const char *status,
    const char *stream_id, bool categories)
{
    const struct item_cls *cls = categories ? item_cls(it) : NULL;
    struct buf b;
    int first = 1;

    buf_init(&b, HTTP_REPLY_MAX);
    buf_reserve(&b, 256);
    buf_append(&b, "{", 1);
    http_put_str(&b, "id", item_id(it), 1);
    http_put_str(&b, "status", status, 0);
    http_put_str(&b, "queue", item_queue(it), 0);
    http_put_str(&b, "stream_id", stream_id, 0);
    if (cls != NULL) {
        if (jsonw_key(&b, "categories", 0) == -1)
            b.failed = true;
        buf_append(&b, "[", 1);
        for (size_t i = 0; i < cls->nscores; i++) {
            if (!cls->scores[i].decided)
                continue;
            if ((!first && buf_append(&b, ",", 1) == -1) ||
                jsonw_str(&b, cls->scores[i].category) == -1)
                b.failed = true;
            first = 0;
        }
        buf_append(&b, "]", 1);
    }
    buf_append(&b, "}\n", 2);
    http_reply_text_json(h, req, code, reason, &b);
    buf_free(&b);
}

static void
http_items_done_cb(enum pipeline_result res, const struct item *it,
    const char *stream_id, void *arg)
{
    struct http_pending *p = arg;
    struct http *h = p->h;
    struct evhttp_request *req = p->req;
    json_t *body;

    xfree(p);
    switch (res) {
    case PIPELINE_STORED:
        http_reply_item(h, req, 202, "Accepted", it, "queued", stream_id,
            true);
        break;
    case PIPELINE_DUPLICATE:
    case PIPELINE_UPDATED:
        http_reply_item(h, req, 200, "OK", it, "duplicate", stream_id,
            false);
        break;
    case PIPELINE_SPOOLED:
        /* On disk here; Redis gets it once back (spool.h). */
        http_reply_item(h, req, 202, "Accepted", it, "spooled", NULL, true);
        break;
    case PIPELINE_IGNORED:
        /* Deleted on its platform before this copy came: not stored. */
        body = json_pack("{s:s,s:s}", "id", item_id(it), "status",
            "deleted");
        http_reply_json(h, req, 200, "OK", body);
        break;
    case PIPELINE_UNAVAILABLE:
        http_store_unavailable(h, req);
        break;
    case PIPELINE_ERROR:
        http_error(h, req, 500, "Internal Server Error", "internal",
            "the item could not be stored; retry later");
        break;
    }
}

static void
http_items_post(struct http *h, struct evhttp_request *req,
    const char *rest)
{
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Content-Type");
    struct item_limits lim = {
        .max_text = h->d->cfg->limits.max_text,
        .max_attachments = h->d->cfg->limits.max_attachments,
    };
    struct http_pending *p;
    size_t len = evbuffer_get_length(in);
    enum item_parse_result why;
    const char *body;
    char err[256];
    struct item *it;

    (void)rest;
    if (ctype != NULL && strncasecmp(ctype, "application/json", 16) != 0) {
        http_error(h, req, 415, "Unsupported Media Type",
            "unsupported_media_type", "send Content-Type: application/json");
        return;
    }
    if (len == 0) {
        http_error(h, req, 400, "Bad Request", "invalid_json",
            "empty body: expected a JSON object");
        return;
    }
    if ((body = (const char *)evbuffer_pullup(in, -1)) == NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    it = item_parse(&h->jr, body, len, &lim, &why, err, sizeof(err));
    if (h->jr.cap > HTTP_READER_KEEP)
        jsonread_free(&h->jr);
    switch (why) {
    case ITEM_PARSE_OK:
        break;
    case ITEM_PARSE_NOMEM:
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    case ITEM_PARSE_BAD_JSON:
        metrics_add(h->d->metrics, "inboxd_ingest_rejected_total", "reason",
            "invalid_json", 1);
        http_error(h, req, 400, "Bad Request", "invalid_json", err);
        return;
    case ITEM_PARSE_BAD_ITEM:
        metrics_add(h->d->metrics, "inboxd_ingest_rejected_total", "reason",
            "invalid_item", 1);
        log_debug("http", "rejected item: %s", err);
        http_error(h, req, 400, "Bad Request", "invalid_item", err);
        return;
    }
    if (!pipeline_is_accepting(h->d)) {
        /* A refusing spool has logged its episode once already. */
        if (h->d->spool != NULL)
            log_item_debug("http", item_id(it), "not stored: redis "
                "unavailable and the spool full");
        else
            log_item_warnx(item_id(it), "not stored: redis unavailable");
        metrics_add(h->d->metrics, "inboxd_items_failed_total", "reason",
            "unavailable", 1);
        item_free(it);
        http_store_unavailable(h, req);
        return;
    }
    if ((p = xmalloc(sizeof(*p))) == NULL) {
        item_free(it);
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    p->h = h;
    p->req = req;
    pipeline_submit(h->d, it, http_items_done_cb, p);
}

/* -------------------------------------------------------------- webhooks */

static void
http_reply_text(struct http *h, struct evhttp_request *req, const char *text)
{
    struct evbuffer *buf = evbuffer_new();

    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
        "text/plain; charset=utf-8");
    if (buf != NULL)
        evbuffer_add(buf, text, strlen(text));
    http_send(h, req, 200, "OK", buf);
    http_count(h, 200);
    if (buf != NULL)
        evbuffer_free(buf);
}

static void
http_webhook_reply_cb(const struct webhook_reply *r, void *arg)
{
    struct http_pending *p = arg;
    struct http *h = p->h;
    struct evhttp_request *req = p->req;

    xfree(p);
    switch (r->status) {
    case 200:
        http_reply_text(h, req, r->text != NULL ? r->text : "");
        break;
    case 503:
        http_unavailable_after(h, req, pipeline_retry_after_s(h->d), r->code,
            r->message);
        break;
    default:
        http_error(h, req, r->status, http_reason(r->status), r->code,
            r->message);
        break;
    }
}

/* Hand the request to the webhook module; it answers through the cb. */
static void
http_webhook(struct http *h, struct evhttp_request *req,
    enum webhook_source src, const char *account)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    struct evbuffer *body = evhttp_request_get_input_buffer(req);
    size_t len = evbuffer_get_length(body);
    struct webhook_request wr = {
        .source = src,
        .body = len > 0 ? (const char *)evbuffer_pullup(body, -1) : "",
        .len = len,
        .signature = evhttp_find_header(in, "X-Hub-Signature-256"),
        .secret_token = evhttp_find_header(in,
            "X-Telegram-Bot-Api-Secret-Token"),
        .account = account,
        .retry = evhttp_find_header(in, "X-Retry-Counter"),
    };
    struct http_pending *p;

    if (wr.body == NULL || (p = xmalloc(sizeof(*p))) == NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    p->h = h;
    p->req = req;
    webhook_deliver(h->d, &wr, http_webhook_reply_cb, p);
}

static void
http_meta_get(struct http *h, struct evhttp_request *req, const char *rest)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *query = uri ? evhttp_uri_get_query(uri) : NULL;
    const char *challenge;
    struct evkeyvalq params;

    (void)rest;
    if (query == NULL || evhttp_parse_query_str(query, &params) == -1) {
        (void)webhook_meta_handshake(h->d, NULL, NULL, NULL);
        http_error(h, req, 403, "Forbidden", "forbidden",
            "hub.verify_token does not match");
        return;
    }
    /* The challenge lives in params: answer before they are cleared. */
    challenge = webhook_meta_handshake(h->d,
        evhttp_find_header(&params, "hub.mode"),
        evhttp_find_header(&params, "hub.verify_token"),
        evhttp_find_header(&params, "hub.challenge"));
    if (challenge != NULL)
        http_reply_text(h, req, challenge);
    else
        http_error(h, req, 403, "Forbidden", "forbidden",
            "hub.verify_token does not match");
    evhttp_clear_headers(&params);
}

static void
http_meta_post(struct http *h, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    http_webhook(h, req, WEBHOOK_META, NULL);
}

static void
http_vk_post(struct http *h, struct evhttp_request *req, const char *rest)
{
    (void)rest;
    http_webhook(h, req, WEBHOOK_VK, NULL);
}

static void
http_telegram_post(struct http *h, struct evhttp_request *req,
    const char *rest)
{
    http_webhook(h, req, WEBHOOK_TELEGRAM, rest);
}

/* ------------------------------------------------------------ ops routes */

/*
 * Healthy while writes are taken: Redis up, or the spool taking them
 * ("degraded": the instance still accepts, so a load balancer keeps it).
 */
static void
http_healthz(struct http *h, struct evhttp_request *req, const char *rest)
{
    bool up = queue_is_up(h->d->queue);
    size_t nrules = rules_count(h->d->cfg->ruleset);
    bool ok = pipeline_is_accepting(h->d) && nrules > 0 && !h->d->draining;
    bool degraded = ok && spool_is_engaged(h->d->spool);
    json_t *body = json_pack("{s:s,s:s,s:I,s:b,s:o?}", "status", !ok ?
        "unavailable" : degraded ? "degraded" : "ok", "redis", up ? "up" :
        "down", "rules", (json_int_t)nrules, "draining", h->d->draining,
        "spool", spool_status(h->d->spool));

    (void)rest;
    if (ok)
        http_reply_json(h, req, 200, "OK", body);
    else
        http_reply_json(h, req, 503, "Service Unavailable", body);
}

static void
http_rule_stat_cb(const struct rules_stat *st, void *arg)
{
    struct metrics *m = arg;

    metrics_set(m, "inboxd_rule_hits_total", "rule", st->id,
        (double)st->hits);
    if (st->shadow || st->shadow_hits)
        metrics_set(m, "inboxd_rule_shadow_hits_total", "rule", st->id,
            (double)st->shadow_hits);
    if (st->limit_errors)
        metrics_set(m, "inboxd_rule_limit_errors_total", "rule", st->id,
            (double)st->limit_errors);
    metrics_set(m, "inboxd_rule_match_seconds_total", "rule", st->id,
        (double)st->match_ns / 1e9);
}

static void
http_metrics(struct http *h, struct evhttp_request *req, const char *rest)
{
    struct daemon *d = h->d;
    struct evbuffer *out;
    struct buf b;

    (void)rest;
    metrics_set(d->metrics, "inboxd_inflight_items", NULL, NULL,
        d->inflight);
    metrics_set(d->metrics, "inboxd_rules_loaded", NULL, NULL,
        (double)rules_count(d->cfg->ruleset));
    metrics_set(d->metrics, "inboxd_uptime_seconds", NULL, NULL,
        (double)(util_now_ms() - d->started_ms) / 1000.0);
    metrics_set(d->metrics, "inboxd_redis_pending_commands", NULL, NULL,
        queue_pending(d->queue));
    rules_foreach_stat2(d->cfg->ruleset, http_rule_stat_cb, d->metrics);
    http_guard_update_metrics(h->guard);

    buf_init(&b, 64u << 20);
    if (metrics_render(d->metrics, &b) == -1 ||
        (out = evbuffer_new()) == NULL) {
        buf_free(&b);
        http_error(h, req, 500, "Internal Server Error", "internal",
            "metrics too large");
        return;
    }
    evbuffer_add(out, b.data ? b.data : "", b.len);
    evhttp_add_header(evhttp_request_get_output_headers(req), "Content-Type",
        "text/plain; version=0.0.4");
    http_send(h, req, 200, "OK", out);
    http_count(h, 200);
    evbuffer_free(out);
    buf_free(&b);
}

/* ------------------------------------------------------------ rule stats */

static void
http_rules_stat_cb(const struct rules_stat *st, void *arg)
{
    json_t *list = arg;

    json_array_append_new(list, json_pack("{s:s,s:s,s:s,s:i,s:b,s:b,s:I,"
        "s:I,s:I,s:f}", "id", st->id, "category", st->category,
        "file", st->file ? st->file : "", "line", st->line,
        "shadow", st->shadow, "prefiltered", st->prefiltered,
        "hits", (json_int_t)st->hits,
        "shadow_hits", (json_int_t)st->shadow_hits,
        "limit_errors", (json_int_t)st->limit_errors,
        "match_ms", (double)st->match_ns / 1e6));
}

static int
http_rules_cmp(const void *a, const void *b)
{
    json_t *x = *(json_t *const *)a, *y = *(json_t *const *)b;
    json_int_t hx = json_integer_value(json_object_get(x, "hits")) +
        json_integer_value(json_object_get(x, "shadow_hits"));
    json_int_t hy = json_integer_value(json_object_get(y, "hits")) +
        json_integer_value(json_object_get(y, "shadow_hits"));

    if (hx != hy)
        return hx < hy ? 1 : -1;
    return strcmp(json_string_value(json_object_get(x, "id")),
        json_string_value(json_object_get(y, "id")));
}

/*
 * GET /v1/rules: every enabled rule's counters since the rules were
 * loaded, busiest first, for the moderator who owns them.
 */
static void
http_rules_get(struct http *h, struct evhttp_request *req, const char *rest)
{
    json_t *list = json_array(), *sorted = json_array(), *body = NULL;
    json_t **v = NULL;
    size_t n, i;

    (void)rest;
    if (list == NULL || sorted == NULL)
        goto fail;
    rules_foreach_stat2(h->d->cfg->ruleset, http_rules_stat_cb, list);
    n = json_array_size(list);
    if (n > 0 && (v = xcalloc(n, sizeof(*v))) == NULL)
        goto fail;
    for (i = 0; i < n; i++)
        v[i] = json_array_get(list, i);
    if (n > 1)
        qsort(v, n, sizeof(*v), http_rules_cmp);
    for (i = 0; i < n; i++)
        if (json_array_append(sorted, v[i]) == -1)
            goto fail;
    if ((body = json_pack("{s:I,s:O}", "count", (json_int_t)n, "rules",
        sorted)) == NULL)
        goto fail;
    http_reply_json(h, req, 200, "OK", body);      /* takes body */
    xfree(v);
    json_decref(list);
    json_decref(sorted);
    return;
fail:
    xfree(v);
    json_decref(list);
    json_decref(sorted);
    http_error(h, req, 500, "Internal Server Error", "internal",
        "out of memory");
}

/* ---------------------------------------------------- responders' desk */

static void
http_desk_reply_cb(const struct desk_reply *r, void *arg)
{
    struct http_pending *p = arg;
    struct http *h = p->h;
    struct evhttp_request *req = p->req;

    xfree(p);
    switch (r->status) {
    case 200:
        http_reply_json(h, req, 200, "OK", json_incref(r->body));
        return;
    case 204:
        evhttp_add_header(evhttp_request_get_output_headers(req),
            "Cache-Control", "no-store");
        http_send(h, req, 204, "No Content", NULL);
        http_count(h, 204);
        return;
    case 503:
        http_unavailable(h, req, r->code, r->message);
        return;
    }
    http_error(h, req, r->status, http_reason(r->status), r->code,
        r->message);
}

/* Hand an authenticated responder request to the desk. */
static void
http_desk(struct http *h, struct evhttp_request *req, const char *rest)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct evbuffer *in = evhttp_request_get_input_buffer(req);
    const char *ctype = evhttp_find_header(
        evhttp_request_get_input_headers(req), "Content-Type");
    enum evhttp_cmd_type m = evhttp_request_get_command(req);
    size_t len = evbuffer_get_length(in);
    struct desk_request dr = {
        .method = m == EVHTTP_REQ_POST ? DESK_POST : m == EVHTTP_REQ_DELETE ?
            DESK_DELETE : DESK_GET,
        .path = uri != NULL ? evhttp_uri_get_path(uri) : NULL,
        .actor = h->token->name,
        .role = h->token->role,
        .len = len,
    };
    struct http_pending *p;

    (void)rest;
    if (len > 0 && ctype != NULL &&
        strncasecmp(ctype, "application/json", 16) != 0) {
        http_error(h, req, 415, "Unsupported Media Type",
            "unsupported_media_type", "send Content-Type: application/json");
        return;
    }
    if (len > 0 && (dr.body = (const char *)evbuffer_pullup(in, -1)) ==
        NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    if (h->d->desk == NULL || dr.path == NULL ||
        (p = xmalloc(sizeof(*p))) == NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    p->h = h;
    p->req = req;
    desk_handle(h->d->desk, &dr, http_desk_reply_cb, p);
}

/* ------------------------------------------------------ the event stream */

/*
 * One open event stream: a chunked reply that the events hub writes to
 * through the sink below, until the client goes away (the connection's
 * close callback), the hub drops it (too slow) or a drain ends it.
 */
struct http_stream {
    struct http *h;
    struct evhttp_request *req;
    struct evhttp_connection *evcon;
    struct events_client *client;
};

static void
http_stream_write(void *arg, const char *data, size_t len)
{
    struct http_stream *s = arg;
    struct evbuffer *b;

    if ((b = evbuffer_new()) == NULL)
        return;
    if (evbuffer_add(b, data, len) == 0)
        evhttp_send_reply_chunk(s->req, b);
    evbuffer_free(b);
}

static size_t
http_stream_unsent(void *arg)
{
    struct http_stream *s = arg;
    struct bufferevent *bev = evhttp_connection_get_bufferevent(s->evcon);

    return bev != NULL ? evbuffer_get_length(bufferevent_get_output(bev)) :
        0;
}

/* The hub is done with the stream: finish the reply or close at once. */
static void
http_stream_end(void *arg, bool abort)
{
    struct http_stream *s = arg;
    struct http *h = s->h;

    http_guard_set_closecb(h->guard, s->evcon, NULL, NULL);
    if (abort) {
        /* Frees the request with the connection. */
        evhttp_connection_free(s->evcon);
    } else {
        /* The last chunk is a reply like any other: a drain waits for
         * it to be written (http_unsent). */
        h->unsent++;
        evhttp_request_set_on_complete_cb(s->req, http_reply_done_cb, h);
        evhttp_send_reply_end(s->req);
    }
    xfree(s);
}

static const struct events_sink http_stream_sink = {
    .write = http_stream_write,
    .unsent = http_stream_unsent,
    .end = http_stream_end,
};

/*
 * The client went away, a write timed out, or the server is being freed.
 * In the first two cases evhttp has let go of the request and it is ours
 * to free; when the server is freed it frees the request itself.
 */
static void
http_stream_close_cb(struct evhttp_connection *evcon, void *arg)
{
    struct http_stream *s = arg;

    (void)evcon;
    events_leave(s->client);
    if (evhttp_request_get_connection(s->req) == NULL)
        evhttp_request_free(s->req);
    xfree(s);
}

/*
 * GET /v1/events: hand the request to the hub, then start a chunked
 * reply that stays open. The client never sends anything more, so the
 * connection has no read timeout; http.timeout still bounds a write.
 */
static void
http_events(struct http *h, struct evhttp_request *req, const char *rest)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct evkeyvalq *out = evhttp_request_get_output_headers(req);
    struct evhttp_connection *evcon = evhttp_request_get_connection(req);
    struct bufferevent *bev;
    struct timeval wtv;
    struct http_stream *s;
    char err[256];

    (void)rest;
    if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD) {
        evhttp_add_header(out, "Content-Type", "text/event-stream");
        http_send(h, req, 200, "OK", NULL);
        http_count(h, 200);
        return;
    }
    if (evcon == NULL || (s = xcalloc(1, sizeof(*s))) == NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    s->h = h;
    s->req = req;
    s->evcon = evcon;
    if (!http_guard_stream_allowed(h->guard, req)) {
        xfree(s);
        http_too_many(h, req, h->d->cfg->queue.retry_after_s,
            "too_many_streams",
            "this address has as many event streams open as allowed");
        return;
    }
    switch (events_join(h->d->events, uri != NULL ?
        evhttp_uri_get_query(uri) : NULL, evhttp_find_header(
        evhttp_request_get_input_headers(req), "Last-Event-ID"),
        &http_stream_sink, s, &s->client, err, sizeof(err))) {
    case EVENTS_JOINED:
        break;
    case EVENTS_BAD_REQUEST:
        xfree(s);
        http_error(h, req, 400, "Bad Request", "invalid_request", err);
        return;
    case EVENTS_UNKNOWN_QUEUE:
        xfree(s);
        http_error(h, req, 400, "Bad Request", "unknown_queue", err);
        return;
    case EVENTS_FULL:
        xfree(s);
        http_unavailable(h, req, "too_many_clients", err);
        return;
    case EVENTS_STOPPED:
        xfree(s);
        http_unavailable(h, req, "shutting_down", err);
        return;
    case EVENTS_NOMEM:
    default:
        xfree(s);
        http_error(h, req, 500, "Internal Server Error", "internal", err);
        return;
    }
    http_guard_stream_begin(h->guard, req, http_stream_close_cb, s);
    if ((bev = evhttp_connection_get_bufferevent(evcon)) != NULL) {
        wtv.tv_sec = (time_t)(h->d->cfg->http.timeout_ms / 1000);
        wtv.tv_usec = (suseconds_t)(h->d->cfg->http.timeout_ms % 1000) *
            1000;
        bufferevent_set_timeouts(bev, NULL, &wtv);
    }
    evhttp_add_header(out, "Content-Type", "text/event-stream");
    evhttp_add_header(out, "Cache-Control", "no-store");
    /* A reverse proxy must not hold events back to fill a buffer. */
    evhttp_add_header(out, "X-Accel-Buffering", "no");
    /* Once it ends, the connection is not kept for another request. */
    evhttp_add_header(out, "Connection", "close");
    evhttp_send_reply_start(req, 200, "OK");
    http_count(h, 200);
}

/* Hand an authenticated escalation request (no body) to escalate.c. */
static void
http_escalate(struct http *h, struct evhttp_request *req, const char *rest)
{
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    struct desk_request dr = {
        .method = evhttp_request_get_command(req) == EVHTTP_REQ_POST ?
            DESK_POST : DESK_GET,
        .path = uri != NULL ? evhttp_uri_get_path(uri) : NULL,
        .actor = h->token->name,
        .role = h->token->role,
    };
    struct http_pending *p;

    (void)rest;
    if (h->d->escalate == NULL || dr.path == NULL ||
        (p = xmalloc(sizeof(*p))) == NULL) {
        http_error(h, req, 500, "Internal Server Error", "internal",
            "out of memory");
        return;
    }
    p->h = h;
    p->req = req;
    escalate_handle(h->d->escalate, &dr, http_desk_reply_cb, p);
}

/* -------------------------------------------------------------- dispatch */

static void
http_request_cb(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;
    const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
    const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
    enum evhttp_cmd_type method = evhttp_request_get_command(req);
    bool path_known = false;

    if (!http_admit(h, req))
        return;
    if (path == NULL || *path == '\0')
        path = "/";
    if (h->d->draining) {
        evhttp_add_header(evhttp_request_get_output_headers(req),
            "Connection", "close");
        http_unavailable(h, req, "shutting_down",
            "inboxd is shutting down; retry later");
        return;
    }
    for (size_t i = 0; i < sizeof(http_routes) / sizeof(http_routes[0]);
        i++) {
        const struct http_route *r = &http_routes[i];

        if (r->prefix ? !util_str_has_prefix(path, r->path) :
            strcmp(r->path, path) != 0)
            continue;
        path_known = true;
        if (r->method != method &&
            !(r->method == EVHTTP_REQ_GET && method == EVHTTP_REQ_HEAD))
            continue;
        if (http_authorize(h, req, r->auth))
            r->handler(h, req, path + strlen(r->path));
        return;
    }
    if (path_known) {
        http_error(h, req, 405, "Method Not Allowed", "method_not_allowed",
            "method not allowed on this path");
        return;
    }
    http_error(h, req, 404, "Not Found", "not_found", "no such endpoint");
}

/* ------------------------------------------------- a second address */

/*
 * http_listen_also: one more evhttp server on the same loop, with the
 * same limits, routes and auth (the web inbox's port, web.c). Its front
 * callback sees each request first; what it declines goes through
 * http_request_cb like a request on the main address.
 */
struct http_also {
    struct evhttp *srv;
    struct evhttp_bound_socket *sock;
    http_front_fn *front;
    void *arg;
};

static void
http_also_request_cb(struct evhttp_request *req, void *arg)
{
    struct http *h = arg;

    if (h->also->front != NULL && h->also->front(req, h->also->arg))
        return;
    http_request_cb(req, h);
}

static void
http_also_apply_config(struct http *h)
{
    const struct config *cfg = h->d->cfg;
    int secs = (int)((cfg->http.timeout_ms + 999) / 1000);

    if (h->also == NULL)
        return;
    evhttp_set_max_body_size(h->also->srv, (ev_ssize_t)cfg->http.max_body);
    evhttp_set_max_headers_size(h->also->srv,
        (ev_ssize_t)cfg->http.max_headers);
    evhttp_set_timeout(h->also->srv, secs > 0 ? secs : 1);
}

static void
http_also_stop_accepting(struct http *h)
{
    if (h->also == NULL || h->also->sock == NULL)
        return;
    evhttp_del_accept_socket(h->also->srv, h->also->sock);
    h->also->sock = NULL;
}

static void
http_also_free(struct http *h)
{
    if (h->also == NULL)
        return;
    evhttp_free(h->also->srv);
    XFREE(&h->also);
}

int
http_listen_also(struct http *h, const char *host, int port,
    http_front_fn *front, void *arg)
{
    struct http_also *a;
    struct sockaddr_storage ss;
    ev_socklen_t sslen = sizeof(ss);
    evutil_socket_t fd;

    if (h->also != NULL || (a = xcalloc(1, sizeof(*a))) == NULL)
        return -1;
    if ((a->srv = evhttp_new(h->d->base)) == NULL) {
        xfree(a);
        return -1;
    }
    a->front = front;
    a->arg = arg;
    h->also = a;
    evhttp_set_allowed_methods(a->srv, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
        EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
        EVHTTP_REQ_PATCH | EVHTTP_REQ_OPTIONS);
    evhttp_set_flags(a->srv, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(a->srv, http_also_request_cb, h);
    http_guard_attach(h->guard, a->srv, RATELIMIT_WEB);
    http_also_apply_config(h);
    if ((a->sock = evhttp_bind_socket_with_handle(a->srv, host,
        (ev_uint16_t)port)) == NULL) {
        log_error("cannot listen on %s:%d", host, port);
        http_also_free(h);
        return -1;
    }
    fd = evhttp_bound_socket_get_fd(a->sock);
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET)
            port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    return port;
}

static const struct metrics_family_decl http_metric_families[] = {
    {"inboxd_http_requests_total", METRICS_COUNTER,
        "HTTP responses by status code."},
    {"inboxd_http_auth_failures_total", METRICS_COUNTER,
        "Requests refused by authentication or authorization."},
    {"inboxd_ingest_rejected_total", METRICS_COUNTER,
        "Ingest requests rejected as malformed, by reason."},
    {"inboxd_inflight_items", METRICS_GAUGE,
        "Items accepted and not yet answered."},
    {"inboxd_rules_loaded", METRICS_GAUGE,
        "Rules in the current snapshot."},
    {"inboxd_uptime_seconds", METRICS_GAUGE,
        "Seconds since start."},
    {"inboxd_redis_pending_commands", METRICS_GAUGE,
        "Redis commands sent and not yet answered."},
    {"inboxd_rule_hits_total", METRICS_COUNTER,
        "Matches per rule since the rules were loaded."},
    {"inboxd_rule_shadow_hits_total", METRICS_COUNTER,
        "Matches per shadow rule: recorded on the item, deciding nothing."},
    {"inboxd_rule_limit_errors_total", METRICS_COUNTER,
        "Matches per rule stopped by a pcre2 resource limit."},
    {"inboxd_rule_match_seconds_total", METRICS_COUNTER,
        "Time spent matching per rule since the rules were loaded."},
};

static void
http_declare_metrics(struct metrics *m)
{
    metrics_declare_all(m, http_metric_families,
        nitems(http_metric_families));
}

void
http_apply_config(struct http *h)
{
    const struct config *cfg = h->d->cfg;
    int secs = (int)((cfg->http.timeout_ms + 999) / 1000);

    evhttp_set_max_body_size(h->srv, (ev_ssize_t)cfg->http.max_body);
    evhttp_set_max_headers_size(h->srv, (ev_ssize_t)cfg->http.max_headers);
    evhttp_set_timeout(h->srv, secs > 0 ? secs : 1);
    http_also_apply_config(h);
    http_guard_apply(h->guard, h->d->cfg);
}

struct http *
http_new(struct daemon *d)
{
    const struct config *cfg = d->cfg;
    struct http *h;
    evutil_socket_t fd;
    struct sockaddr_storage ss;
    ev_socklen_t sslen = sizeof(ss);

    if ((h = xcalloc(1, sizeof(*h))) == NULL)
        return NULL;
    h->d = d;
    if ((h->srv = evhttp_new(d->base)) == NULL ||
        (h->guard = http_guard_new(d->base, d->metrics, d->cfg)) == NULL)
        goto fail;
    http_declare_metrics(d->metrics);
    webhook_declare_metrics(d->metrics);
    evhttp_set_allowed_methods(h->srv, EVHTTP_REQ_GET | EVHTTP_REQ_POST |
        EVHTTP_REQ_HEAD | EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
        EVHTTP_REQ_PATCH);
    /* Let a client read our 413 before the connection closes. */
    evhttp_set_flags(h->srv, EVHTTP_SERVER_LINGERING_CLOSE);
    evhttp_set_gencb(h->srv, http_request_cb, h);
    http_guard_attach(h->guard, h->srv, RATELIMIT_API);
    http_apply_config(h);
    h->sock = evhttp_bind_socket_with_handle(h->srv, cfg->http.host,
        (ev_uint16_t)cfg->http.port);
    if (h->sock == NULL) {
        log_error("cannot listen on %s:%d", cfg->http.host, cfg->http.port);
        goto fail;
    }
    fd = evhttp_bound_socket_get_fd(h->sock);
    h->port = cfg->http.port;
    if (getsockname(fd, (struct sockaddr *)&ss, &sslen) == 0) {
        if (ss.ss_family == AF_INET)
            h->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
        else if (ss.ss_family == AF_INET6)
            h->port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    }
    log_info("listening on %s:%d", cfg->http.host, h->port);
    return h;
fail:
    if (h->srv != NULL)
        evhttp_free(h->srv);
    http_guard_free(h->guard);
    xfree(h);
    return NULL;
}

unsigned
http_unsent(const struct http *h)
{
    return h != NULL ? h->unsent : 0;
}

int
http_port(const struct http *h)
{
    return h->port;
}

void
http_stop_accepting(struct http *h)
{
    if (h == NULL || h->sock == NULL)
        return;
    evhttp_del_accept_socket(h->srv, h->sock);
    h->sock = NULL;
    http_also_stop_accepting(h);
    log_info("stopped accepting connections");
}

void
http_free(struct http *h)
{
    if (h == NULL)
        return;
    http_also_free(h);
    if (h->srv != NULL)
        evhttp_free(h->srv);
    /* After the servers: their connections close through the guard. */
    http_guard_free(h->guard);
    jsonread_free(&h->jr);
    xfree(h);
}
