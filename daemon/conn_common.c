/*
 * conn_common: what the platform connectors share. The event list
 * (connector_events_free), error collection that keeps the first problem
 * with its JSON path, typed access to JSON members that checks every type
 * because webhook bodies are hostile, and the constant-time comparison of
 * configured secrets. The platform files (conn_meta.c, conn_vk.c,
 * conn_telegram.c, conn_youtube.c) build on it; see conn_internal.h.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "alloc.h"
#include "conn_internal.h"
#include "connector.h"
#include "crypto.h"
#include "item.h"

/* 9999-12-31T23:59:59Z, the last second an item time can hold. */
#define CONN_SECS_MAX 253402300799LL

static const char *const conn_event_names[CONNECTOR_EVENT_COUNT_] = {
    [CONNECTOR_EVENT_NEW] = "new",
    [CONNECTOR_EVENT_EDIT] = "edit",
    [CONNECTOR_EVENT_DELETE] = "delete",
    [CONNECTOR_EVENT_RESTORE] = "restore",
    [CONNECTOR_EVENT_HIDE] = "hide",
    [CONNECTOR_EVENT_UNHIDE] = "unhide",
    [CONNECTOR_EVENT_IGNORED] = "ignored",
};

/* ---------------------------------------------------------------------
 * Events
 * ------------------------------------------------------------------ */

void
connector_events_free(struct connector_events *ev)
{
    if (ev == NULL)
        return;
    for (size_t i = 0; i < ev->n; i++) {
        item_free(ev->v[i].item);
        xfree(ev->v[i].actor_id);
        json_decref(ev->v[i].raw);
    }
    xfree(ev->v);
    ev->v = NULL;
    ev->n = ev->cap = 0;
}

const char *
connector_event_type_name(enum connector_event_type type)
{
    if ((unsigned)type >= CONNECTOR_EVENT_COUNT_)
        return "unknown";
    return conn_event_names[type];
}

struct connector_event *
conn_event_add(struct connector_events *out, enum connector_event_type type,
    const struct connector_account *a, json_t *raw, struct conn_errs *e,
    const char *path)
{
    struct connector_event *ev;

    if (out->n >= CONNECTOR_EVENTS_MAX) {
        conn_fail(e, "%s: more than %d events in one payload", path,
            CONNECTOR_EVENTS_MAX);
        return NULL;
    }
    if (out->n == out->cap) {
        size_t cap = out->cap ? out->cap * 2 : 8;
        struct connector_event *v;

        if ((v = xrealloc(out->v, cap * sizeof(*v))) == NULL) {
            conn_fail(e, "%s: out of memory", path);
            return NULL;
        }
        out->v = v;
        out->cap = cap;
    }
    ev = &out->v[out->n++];
    memset(ev, 0, sizeof(*ev));
    ev->type = type;
    ev->account = a;
    ev->raw = json_incref(raw);
    return ev;
}

int
conn_ignore(struct connector_events *out, const struct connector_account *a,
    const char *id, const char *reason, json_t *raw, struct conn_errs *e,
    const char *path)
{
    struct connector_event *ev;

    if ((ev = conn_event_add(out, CONNECTOR_EVENT_IGNORED, a, raw, e,
        path)) == NULL)
        return -1;
    if (id != NULL)
        snprintf(ev->id, sizeof(ev->id), "%s", id);
    ev->reason = reason;
    return 0;
}

int
conn_event_item(struct connector_events *out, enum connector_event_type type,
    const struct connector_account *a, struct item *it, json_t *raw,
    int64_t time_ms, struct conn_errs *e, const char *path)
{
    struct connector_event *ev;

    if ((ev = conn_event_add(out, type, a, raw, e, path)) == NULL) {
        item_free(it);
        return -1;
    }
    snprintf(ev->id, sizeof(ev->id), "%s", item_id(it));
    item_set_raw(it, json_incref(raw));
    ev->item = it;
    ev->time_ms = time_ms;
    return 0;
}

/* ---------------------------------------------------------------------
 * Errors
 * ------------------------------------------------------------------ */

void
conn_errs_init(struct conn_errs *e, char *err, size_t errlen)
{
    e->err = err;
    e->errlen = errlen;
    e->count = 0;
    if (err != NULL && errlen > 0)
        err[0] = '\0';
}

void
conn_fail(struct conn_errs *e, const char *fmt, ...)
{
    va_list ap;

    if (e->count++ > 0 || e->err == NULL || e->errlen == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(e->err, e->errlen, fmt, ap);
    va_end(ap);
}

int
conn_errs_finish(struct conn_errs *e)
{
    size_t n;

    if (e->count == 0)
        return 0;
    if (e->count > 1 && e->err != NULL && e->errlen > 0) {
        n = strlen(e->err);
        snprintf(e->err + n, e->errlen - n, " (+%u more)", e->count - 1);
    }
    return -1;
}

void
conn_path(char *dst, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(dst, CONN_PATH_MAX, fmt, ap);
    va_end(ap);
}

const char *
conn_quote(char *dst, size_t dstlen, const char *s)
{
    size_t i;

    if (dstlen == 0)
        return dst;
    for (i = 0; i + 1 < dstlen && i < 40 && s[i] != '\0'; i++)
        dst[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
    dst[i] = '\0';
    return dst;
}

json_t *
conn_load(const char *body, size_t len, const char *what, struct conn_errs *e)
{
    json_error_t jerr;
    json_t *root;
    char q[48];

    if (body == NULL) {
        conn_fail(e, "%s: no body", what);
        return NULL;
    }
    /*
     * Defaults on purpose: invalid UTF-8, \u0000, numbers beyond 64 bits
     * and nesting past jansson's depth limit (2048) are all refused here,
     * and so is trailing garbage after the value.
     */
    if ((root = json_loadb(body, len, 0, &jerr)) == NULL)
        conn_fail(e, "%s: not JSON (%s at byte %d)", what,
            conn_quote(q, sizeof(q), jerr.text), jerr.position);
    return root;
}

bool
conn_secret_equal(const char *a, const char *b)
{
    unsigned char da[CRYPTO_SHA256_LEN], db[CRYPTO_SHA256_LEN];

    if (a == NULL || b == NULL)
        return false;
    /*
     * Hashing first makes the comparison independent of both lengths;
     * comparing the raw strings would leak the configured length.
     */
    crypto_sha256(a, strlen(a), da);
    crypto_sha256(b, strlen(b), db);
    return crypto_equal(da, db, sizeof(da));
}

/* ---------------------------------------------------------------------
 * JSON members
 * ------------------------------------------------------------------ */

json_t *
conn_get(const json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);

    return json_is_null(v) ? NULL : v;
}

const char *
conn_str(const json_t *obj, const char *key)
{
    return json_string_value(json_object_get(obj, key));
}

int
conn_opt_str(const json_t *obj, const char *key, const char **out,
    struct conn_errs *e, const char *path)
{
    json_t *v = json_object_get(obj, key);

    *out = NULL;
    if (v == NULL || json_is_null(v))
        return 0;
    if (!json_is_string(v)) {
        conn_fail(e, "%s.%s: expected a string", path, key);
        return -1;
    }
    *out = json_string_value(v);
    return 0;
}

static bool
conn_valid_ident(const char *s)
{
    size_t n;

    for (n = 0; s[n] != '\0'; n++)
        if ((unsigned char)s[n] <= 0x20 || (unsigned char)s[n] >= 0x7f)
            return false;
    return n >= 1 && n <= ITEM_NATIVE_ID_MAX;
}

static int
conn_id(const json_t *obj, const char *key, bool required, char *buf,
    size_t size, struct conn_errs *e, const char *path)
{
    json_t *v = json_object_get(obj, key);
    int n;

    buf[0] = '\0';
    if (v == NULL || json_is_null(v)) {
        if (!required)
            return 0;
        conn_fail(e, "%s.%s: missing", path, key);
        return -1;
    }
    if (json_is_string(v))
        n = snprintf(buf, size, "%s", json_string_value(v));
    else if (json_is_integer(v))
        n = snprintf(buf, size, "%" JSON_INTEGER_FORMAT,
            json_integer_value(v));
    else {
        conn_fail(e, "%s.%s: expected a string or an integer", path, key);
        return -1;
    }
    if (n < 0 || (size_t)n >= size || !conn_valid_ident(buf)) {
        buf[0] = '\0';
        conn_fail(e, "%s.%s: not an id (1..%d printable ASCII characters "
            "without spaces)", path, key, ITEM_NATIVE_ID_MAX);
        return -1;
    }
    return 0;
}

int
conn_req_id(const json_t *obj, const char *key, char *buf, size_t size,
    struct conn_errs *e, const char *path)
{
    return conn_id(obj, key, true, buf, size, e, path);
}

int
conn_opt_id(const json_t *obj, const char *key, char *buf, size_t size,
    struct conn_errs *e, const char *path)
{
    return conn_id(obj, key, false, buf, size, e, path);
}

static int
conn_int(const json_t *obj, const char *key, bool required, json_int_t *v,
    struct conn_errs *e, const char *path)
{
    json_t *j = json_object_get(obj, key);

    if (j == NULL || json_is_null(j)) {
        if (!required)
            return 0;
        conn_fail(e, "%s.%s: missing", path, key);
        return -1;
    }
    if (!json_is_integer(j)) {
        conn_fail(e, "%s.%s: expected an integer", path, key);
        return -1;
    }
    *v = json_integer_value(j);
    return 0;
}

int
conn_req_int(const json_t *obj, const char *key, json_int_t *v,
    struct conn_errs *e, const char *path)
{
    return conn_int(obj, key, true, v, e, path);
}

int
conn_opt_int(const json_t *obj, const char *key, json_int_t *v,
    struct conn_errs *e, const char *path)
{
    return conn_int(obj, key, false, v, e, path);
}

int
conn_secs_to_ms(json_int_t secs, int64_t *ms)
{
    if (secs < 0 || secs > CONN_SECS_MAX)
        return -1;
    *ms = (int64_t)secs * 1000;
    return 0;
}

/* ---------------------------------------------------------------------
 * Items
 * ------------------------------------------------------------------ */

bool
conn_is_self(const struct connector_account *a, const char *author_id)
{
    if (a == NULL || author_id == NULL)
        return false;
    if (a->id != NULL && strcmp(a->id, author_id) == 0)
        return true;
    for (size_t i = 0; i < a->nself_ids; i++)
        if (a->self_ids[i] != NULL && strcmp(a->self_ids[i], author_id) == 0)
            return true;
    return false;
}

void
conn_make_id(char *dst, const char *platform, const char *native_id)
{
    snprintf(dst, ITEM_ID_MAX + 1, "%s:%s", platform, native_id);
}

int
conn_attach(struct item *it, const char *type, const char *url)
{
    if (url != NULL && item_add_attachment(it, type, url) == 0)
        return 0;
    return item_add_attachment(it, type, NULL);
}

void
conn_set_name(struct item *it, const char *name)
{
    if (name != NULL && name[0] != '\0')
        (void)item_set_author_name(it, name);
}
