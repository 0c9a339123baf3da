/*
 * conn_internal: helpers shared by the conn_*.c connector files and by
 * nothing else: error collection with JSON paths, typed JSON member
 * access that never trusts the input's types, and event construction.
 * Defined in conn_common.c.
 */
#ifndef INBOXD_CONN_INTERNAL_H
#define INBOXD_CONN_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "connector.h"
#include "item.h"
#include "outbound.h"
#include "util.h"

/* Room for a JSON path such as "entry[12].changes[999].value.from". */
#define CONN_PATH_MAX 128

/* Format a JSON path into dst (CONN_PATH_MAX bytes), cut when too long. */
void conn_path(char *dst, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * The caller's err buffer plus a count: the first problem is kept, later
 * ones only counted, and conn_errs_finish appends " (+N more)".
 */
struct conn_errs {
    char *err;
    size_t errlen;
    unsigned count;
};

void conn_errs_init(struct conn_errs *e, char *err, size_t errlen);
void conn_fail(struct conn_errs *e, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* 0 when nothing failed, else -1 (and the count is appended to err). */
int conn_errs_finish(struct conn_errs *e);

/*
 * Copy untrusted text for an error message: at most 40 bytes, anything
 * outside printable ASCII as '?'. Returns dst.
 */
const char *conn_quote(char *dst, size_t dstlen, const char *s);

/* Parse body as one JSON value; NULL with "<what>: not JSON (...)". */
json_t *conn_load(const char *body, size_t len, const char *what,
    struct conn_errs *e);

/* Constant-time string equality (SHA-256 of both, then compared). */
bool conn_secret_equal(const char *a, const char *b);

/* Member key of obj, with JSON null treated as absent (NULL). */
json_t *conn_get(const json_t *obj, const char *key);

/* Member key of obj when it is a string, else NULL. No errors. */
const char *conn_str(const json_t *obj, const char *key);

/*
 * Optional string member: 0 with *out NULL when absent or null, 0 with
 * *out set for a string, -1 (reported as "<path>.<key>: expected a
 * string") for any other type.
 */
int conn_opt_str(const json_t *obj, const char *key, const char **out,
    struct conn_errs *e, const char *path);

/*
 * An id member, given as a string or an integer (written in decimal),
 * copied into buf as text. conn_req_id reports a missing member; both
 * report a wrong type, and an id that is not 1..256 printable ASCII
 * characters without spaces. conn_opt_id returns 0 with buf "" when the
 * member is absent. 0 ok, -1 reported.
 */
int conn_req_id(const json_t *obj, const char *key, char *buf, size_t size,
    struct conn_errs *e, const char *path);
int conn_opt_id(const json_t *obj, const char *key, char *buf, size_t size,
    struct conn_errs *e, const char *path);

/*
 * Integer members. conn_req_int reports a missing one; conn_opt_int
 * returns 0 and leaves *v alone when absent. Both report other types.
 */
int conn_req_int(const json_t *obj, const char *key, json_int_t *v,
    struct conn_errs *e, const char *path);
int conn_opt_int(const json_t *obj, const char *key, json_int_t *v,
    struct conn_errs *e, const char *path);

/* Unix seconds to ms, -1 when out of the item's time range. */
int conn_secs_to_ms(json_int_t secs, int64_t *ms);

/* Is author_id the account itself or one of its self_ids? */
bool conn_is_self(const struct connector_account *a, const char *author_id);

/* Write "platform:native_id" into an ITEM_ID_MAX + 1 buffer. */
void conn_make_id(char *dst, const char *platform, const char *native_id);

/*
 * Append an event of type for account a, raw taken as a new reference
 * (json_incref'd here; NULL is fine). Returns the zero-filled event, or
 * NULL when out of memory or past CONNECTOR_EVENTS_MAX (reported).
 */
struct connector_event *conn_event_add(struct connector_events *out,
    enum connector_event_type type, const struct connector_account *a,
    json_t *raw, struct conn_errs *e, const char *path);

/*
 * Append an IGNORED event with a static reason; id may be NULL or "".
 * -1 when it could not be added (reported).
 */
int conn_ignore(struct connector_events *out, const struct connector_account *a,
    const char *id, const char *reason, json_t *raw, struct conn_errs *e,
    const char *path);

/*
 * Append an event carrying it (NEW, EDIT, RESTORE). Takes it in every
 * case: on failure it is freed. raw becomes the item's raw and the
 * event's (one reference each). -1 reported.
 */
int conn_event_item(struct connector_events *out,
    enum connector_event_type type, const struct connector_account *a,
    struct item *it, json_t *raw, int64_t time_ms, struct conn_errs *e,
    const char *path);

/*
 * Add an attachment; a url the item refuses (not http/https, too long) is
 * dropped and the attachment kept without it. -1 only when even that
 * fails (too many attachments, out of memory); not reported.
 */
int conn_attach(struct item *it, const char *type, const char *url);

/* Set an optional field; a value the item refuses is dropped silently. */
void conn_set_name(struct item *it, const char *name);

#endif
