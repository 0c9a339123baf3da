/*
 * classify: the offline classification tool, `inboxd classify -c FILE`.
 * JSON Lines items (docs/item.md) in, one result line per item out,
 * classified and routed as the daemon would (docs/rules.md, "Trying
 * rules"). Built for throughput: the result is written straight from the
 * rules' verdict into a large output buffer, without a JSON tree.
 */
#ifndef INBOXD_CLASSIFY_H
#define INBOXD_CLASSIFY_H

#include <stdio.h>

struct config;

/*
 * Classify every line of in, writing one line per item to out:
 *   {"id","lang","categories","scores","hits","queue"}
 * or {"line": N, "error": "..."} for a line that is not a valid item.
 * Blank lines are skipped. Returns 0 when every line was an item, 1 when
 * some were not (counted on err), -1 when writing out failed.
 */
int classify_stream(struct config *cfg, FILE *in, FILE *out, FILE *err);

#endif
