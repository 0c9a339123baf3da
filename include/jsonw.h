/*
 * jsonw: compact JSON written straight into a buf. The bytes are exactly
 * those of jansson's json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY), which
 * tests/unit/jsonw_test.c checks on every run; jansson's dumper is kept
 * for everything off the hot path. What it saves: json_dumps guards
 * against reference cycles with a hash table keyed by printf'd pointers,
 * validates strings through a per-character callback, and formats every
 * real with printf; on the ingest path that was a fifth of the daemon's
 * instructions (docs/performance.md).
 *
 * Trees deeper than JSONW_MAX_DEPTH are refused rather than walked, so a
 * cycle cannot recurse without bound; every input inboxd accepts is
 * capped well below that at parse time.
 */
#ifndef INBOXD_JSONW_H
#define INBOXD_JSONW_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "buf.h"

#define JSONW_MAX_DEPTH 256

/*
 * Append v. -1 when a string is not valid UTF-8, a real is not finite,
 * the tree is deeper than JSONW_MAX_DEPTH, or the buf refuses (b->failed);
 * what was appended before the failure stays.
 */
int jsonw_value(struct buf *b, const json_t *v);

/* Append s[0..len) as a JSON string, quotes included; -1 as above. */
int jsonw_string(struct buf *b, const char *s, size_t len);

/* Append a NUL-terminated string; NULL appends null. */
int jsonw_str(struct buf *b, const char *s);

/* Append "key": (comma first unless first is set), for hand-built objects. */
int jsonw_key(struct buf *b, const char *key, int first);

int jsonw_int(struct buf *b, int64_t v);
int jsonw_real(struct buf *b, double v);

#endif
