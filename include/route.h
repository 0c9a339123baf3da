/*
 * route: decide which responder queue an item goes to. A table of rules,
 * first match wins, then the default queue. Pure: no I/O, no allocation on
 * the hot path.
 */
#ifndef INBOXD_ROUTE_H
#define INBOXD_ROUTE_H

#include <stddef.h>

struct item;

/* One routing rule; every non-empty condition must hold. */
struct route_rule {
    char **categories;      /* item decided any of these categories */
    size_t ncategories;
    char **platforms;
    size_t nplatforms;
    char **accounts;
    size_t naccounts;
    char **langs;
    size_t nlangs;
    unsigned kinds;         /* bit (1u << enum item_kind); 0: any kind */
    double min_score;       /* highest category score at least this */
    char *queue;
};

struct route_table {
    struct route_rule *rules;
    size_t nrules;
    char *default_queue;
};

/*
 * Pick the queue for a classified item (borrowed). Returns a queue name
 * borrowed from the table, never NULL.
 */
const char *route_pick(const struct route_table *t, const struct item *it);

/* Free the table's contents (not the table itself). */
void route_table_clear(struct route_table *t);

#endif
