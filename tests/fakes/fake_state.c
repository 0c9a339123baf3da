/*
 * fake_state: the fake server's state apart from its loop. What the
 * platforms' handlers share (the parsed request with parameters from the
 * query, a form or a JSON body; the answer; small string maps for the
 * platforms' own deduplication; generated ids; fake_internal.h), and what
 * the tests read back: the effects and the recorded requests.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "fake_internal.h"
#include "fake_platform.h"
#include "fake_webhook.h"

/* ---------------------------------------------------------------------
 * One request: its parameters, and the answer its handler fills in
 * ------------------------------------------------------------------ */

const char *
fake_param(struct fake_call *c, const char *name)
{
    const char *v;

    if ((v = evhttp_find_header(&c->form, name)) != NULL ||
        (v = evhttp_find_header(&c->jkv, name)) != NULL)
        return v;
    return evhttp_find_header(&c->query, name);
}

bool
fake_parse_ll(const char *s, long long *out)
{
    char *end;

    if (s == NULL || *s == '\0')
        return false;
    errno = 0;
    *out = strtoll(s, &end, 10);
    return errno == 0 && *end == '\0';
}

void
fake_answer(struct fake_call *c, int status, const char *body,
    const char *header)
{
    XFREE(&c->body);
    XFREE(&c->header);
    c->status = status;
    c->body = xstrdup(body ? body : "");
    c->header = header ? xstrdup(header) : NULL;
    c->answered = true;
}

void
fake_answer_json(struct fake_call *c, int status, json_t *v, bool meta)
{
    char *s = v ? json_dumps(v, JSON_COMPACT) : NULL, *e = NULL;

    if (s != NULL && meta)
        e = fake_meta_encode(s);
    fake_answer(c, s ? status : 500, e ? e : s ? s : "", NULL);
    xfree(e);
    xfree(s);
    json_decref(v);
}

/* Top-level JSON members as strings, the way fake_param serves them. */
static void
fake_call_json(struct fake_call *c)
{
    const char *key;
    json_t *v;
    char num[32], *s;

    json_object_foreach(c->json, key, v) {
        s = NULL;
        if (json_is_string(v)) {
            evhttp_add_header(&c->jkv, key, json_string_value(v));
            continue;
        }
        if (json_is_integer(v))
            snprintf(num, sizeof(num), "%" JSON_INTEGER_FORMAT,
                json_integer_value(v));
        else if (json_is_true(v) || json_is_false(v))
            snprintf(num, sizeof(num), "%s", json_is_true(v) ? "true" :
                "false");
        else if (json_is_real(v))
            snprintf(num, sizeof(num), "%.17g", json_real_value(v));
        else if ((s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY)) ==
            NULL)
            continue;
        evhttp_add_header(&c->jkv, key, s ? s : num);
        xfree(s);
    }
}

void
fake_call_init(struct fake_call *c, struct fake_platform *f,
    struct evhttp_request *req, const char *path, const char *query,
    const char *body)
{
    struct evkeyvalq *in = evhttp_request_get_input_headers(req);
    const char *ct = evhttp_find_header(in, "Content-Type");
    const char *auth = evhttp_find_header(in, "Authorization");

    memset(c, 0, sizeof(*c));
    c->f = f;
    c->req = req;
    c->cmd = evhttp_request_get_command(req);
    c->path = path;
    TAILQ_INIT(&c->query);
    TAILQ_INIT(&c->form);
    TAILQ_INIT(&c->jkv);
    if (query != NULL && evhttp_parse_query_str(query, &c->query) != 0)
        evhttp_clear_headers(&c->query);
    /* curl's default POST type is the form one; JSON says so. */
    if (body != NULL && *body != '\0') {
        if ((ct != NULL && strncasecmp(ct, "application/json", 16) == 0) ||
            *body == '{') {
            c->json = json_loads(body, 0, NULL);
            if (c->json != NULL && json_is_object(c->json))
                fake_call_json(c);
        } else if (ct == NULL || strncasecmp(ct,
            "application/x-www-form-urlencoded", 33) == 0) {
            if (evhttp_parse_query_str(body, &c->form) != 0)
                evhttp_clear_headers(&c->form);
        }
    }
    if (auth != NULL && strncasecmp(auth, "Bearer ", 7) == 0 &&
        auth[7] != '\0')
        c->bearer = xstrdup(auth + 7);
}

void
fake_call_free(struct fake_call *c)
{
    evhttp_clear_headers(&c->query);
    evhttp_clear_headers(&c->form);
    evhttp_clear_headers(&c->jkv);
    json_decref(c->json);
    xfree(c->bearer);
    xfree(c->body);
    xfree(c->header);
}

/* ---------------------------------------------------------------------
 * Effects and the platforms' state
 * ------------------------------------------------------------------ */

void
fake_effect_add(struct fake_platform *f, const char *platform,
    const char *kind, const char *target, const char *text)
{
    struct fake_effect *v, *e;

    if (f->neffects == f->capeffects) {
        size_t cap = f->capeffects ? f->capeffects * 2 : 32;

        if ((v = xrealloc(f->effects, cap * sizeof(*v))) == NULL)
            return;
        f->effects = v;
        f->capeffects = cap;
    }
    e = &f->effects[f->neffects];
    e->platform = xstrdup(platform);
    e->kind = xstrdup(kind);
    e->target = xstrdup(target);
    e->text = text ? xstrdup(text) : NULL;
    if (e->platform == NULL || e->kind == NULL || e->target == NULL ||
        (text != NULL && e->text == NULL)) {
        xfree(e->platform);
        xfree(e->kind);
        xfree(e->target);
        xfree(e->text);
        return;
    }
    f->neffects++;
}

static bool
fake_effect_is(const struct fake_effect *e, const char *kind)
{
    return kind == NULL || strcmp(e->kind, kind) == 0;
}

size_t
fake_platform_effects(struct fake_platform *f, const char *kind)
{
    size_t n = 0;

    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->neffects; i++)
        n += fake_effect_is(&f->effects[i], kind);
    pthread_mutex_unlock(&f->mu);
    return n;
}

char *
fake_platform_effect(struct fake_platform *f, const char *kind, size_t i)
{
    const struct fake_effect *e;
    char *s = NULL;
    struct buf b;

    pthread_mutex_lock(&f->mu);
    for (size_t k = 0; k < f->neffects; k++) {
        e = &f->effects[k];
        if (!fake_effect_is(e, kind) || i-- > 0)
            continue;
        buf_init(&b, FAKE_BODY_MAX);
        buf_printf(&b, "%s %s %s", e->platform, e->kind, e->target);
        if (e->text != NULL)
            buf_printf(&b, " %s", e->text);
        s = buf_steal(&b);
        break;
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

int
fake_platform_wait_effects(struct fake_platform *f, const char *kind,
    size_t n, int timeout_ms)
{
    int64_t end = fake_platform_now_ms() + timeout_ms;

    for (;;) {
        if (fake_platform_effects(f, kind) >= n)
            return 0;
        if (fake_platform_now_ms() >= end)
            return -1;
        usleep(10 * 1000);
    }
}

const char *
fake_map_get(const struct fake_map *m, const char *key)
{
    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].key, key) == 0)
            return m->v[i].val;
    }
    return NULL;
}

void
fake_map_put(struct fake_map *m, const char *key, const char *val)
{
    struct fake_kv *v;
    char *nv;

    for (size_t i = 0; i < m->n; i++) {
        if (strcmp(m->v[i].key, key) == 0) {
            if ((nv = xstrdup(val)) != NULL) {
                xfree(m->v[i].val);
                m->v[i].val = nv;
            }
            return;
        }
    }
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;

        if ((v = xrealloc(m->v, cap * sizeof(*v))) == NULL)
            return;
        m->v = v;
        m->cap = cap;
    }
    m->v[m->n].key = xstrdup(key);
    m->v[m->n].val = xstrdup(val);
    if (m->v[m->n].key == NULL || m->v[m->n].val == NULL) {
        xfree(m->v[m->n].key);
        xfree(m->v[m->n].val);
        return;
    }
    m->n++;
}

void
fake_map_free(struct fake_map *m)
{
    for (size_t i = 0; i < m->n; i++) {
        xfree(m->v[i].key);
        xfree(m->v[i].val);
    }
    xfree(m->v);
    memset(m, 0, sizeof(*m));
}

uint64_t
fake_next_id(struct fake_platform *f)
{
    return ++f->next_id;
}

void
fake_chars(struct fake_platform *f, const char *alphabet, char *out,
    size_t n)
{
    uint64_t x = fake_next_id(f) * UINT64_C(0x9e3779b97f4a7c15);
    size_t k = strlen(alphabet);

    for (size_t i = 0; i < n; i++) {
        out[i] = alphabet[(x >> 33) % k];
        x = x * UINT64_C(6364136223846793005) + 1;
    }
    out[n] = '\0';
}

void
fake_platform_push_throttle(struct fake_platform *f, const char *prefix,
    int retry_after)
{
    char *body = NULL, *header = NULL;
    int status = 500;

    if (strncmp(prefix, "/bot", 4) == 0)
        body = fake_telegram_throttle(retry_after, &status, &header);
    else if (strncmp(prefix, "/method/", 8) == 0)
        body = fake_vk_throttle(prefix + 8, &status);
    else if (strncmp(prefix, "/youtube/", 9) == 0)
        body = fake_youtube_throttle(&status);
    else
        body = fake_graph_throttle(&status);
    if (body != NULL)
        fake_platform_push(f, prefix, status, body, header);
    xfree(body);
    xfree(header);
}

/* ---------------------------------------------------------------------
 * Recorded requests
 * ------------------------------------------------------------------ */

size_t
fake_platform_count(struct fake_platform *f, const char *prefix)
{
    size_t n = 0;

    pthread_mutex_lock(&f->mu);
    for (size_t i = 0; i < f->nrecs; i++) {
        if (f->recs[i].path != NULL && fake_has_prefix(f->recs[i].path,
            prefix))
            n++;
    }
    pthread_mutex_unlock(&f->mu);
    return n;
}

int
fake_platform_wait(struct fake_platform *f, const char *prefix, size_t n,
    int timeout_ms)
{
    int64_t end = fake_platform_now_ms() + timeout_ms;

    for (;;) {
        if (fake_platform_count(f, prefix) >= n)
            return 0;
        if (fake_platform_now_ms() >= end)
            return -1;
        usleep(10 * 1000);
    }
}

/* The i-th record for prefix; mu held. */
static const struct fake_rec *
fake_rec_find(struct fake_platform *f, const char *prefix, size_t i)
{
    for (size_t k = 0; k < f->nrecs; k++) {
        if (f->recs[k].path == NULL ||
            !fake_has_prefix(f->recs[k].path, prefix))
            continue;
        if (i-- == 0)
            return &f->recs[k];
    }
    return NULL;
}

char *
fake_platform_uri(struct fake_platform *f, const char *prefix, size_t i,
    int64_t *at_ms)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL) {
        s = rec->uri ? xstrdup(rec->uri) : NULL;
        if (at_ms != NULL)
            *at_ms = rec->at_ms;
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_method(struct fake_platform *f, const char *prefix, size_t i)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL && rec->method != NULL)
        s = xstrdup(rec->method);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_body(struct fake_platform *f, const char *prefix, size_t i)
{
    const struct fake_rec *rec;
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    if ((rec = fake_rec_find(f, prefix, i)) != NULL && rec->body != NULL)
        s = xstrdup(rec->body);
    pthread_mutex_unlock(&f->mu);
    return s;
}

char *
fake_platform_param(struct fake_platform *f, const char *prefix, size_t i,
    const char *name)
{
    struct evkeyvalq params;
    const char *q, *v;
    char *uri, *s = NULL;

    if ((uri = fake_platform_uri(f, prefix, i, NULL)) == NULL)
        return NULL;
    TAILQ_INIT(&params);
    if ((q = strchr(uri, '?')) != NULL &&
        evhttp_parse_query_str(q + 1, &params) == 0 &&
        (v = evhttp_find_header(&params, name)) != NULL)
        s = xstrdup(v);
    evhttp_clear_headers(&params);
    xfree(uri);
    return s;
}

char *
fake_platform_header(struct fake_platform *f, const char *prefix, size_t i,
    const char *name)
{
    const struct fake_rec *rec;
    const char *p, *nl;
    size_t n = strlen(name);
    char *s = NULL;

    pthread_mutex_lock(&f->mu);
    rec = fake_rec_find(f, prefix, i);
    for (p = rec ? rec->headers : NULL; p != NULL && *p != '\0';
        p = nl + 1) {
        if ((nl = strchr(p, '\n')) == NULL)
            break;
        if (strncasecmp(p, name, n) == 0 && p[n] == ':') {
            p += n + 1;
            while (*p == ' ')
                p++;
            s = xstrndup(p, (size_t)(nl - p));
            break;
        }
    }
    pthread_mutex_unlock(&f->mu);
    return s;
}
