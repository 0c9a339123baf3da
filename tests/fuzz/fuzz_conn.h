/*
 * fuzz_conn: the checks the connector targets (meta, vk, telegram,
 * youtube) make on every parse, from what include/connector.h promises:
 * 0 or -1, a printable one-line err on -1, events that point at one of
 * the accounts given (or none, when ignored), ids of the form
 * "platform:native_id", an item exactly for the types that carry one,
 * and items whose stored JSON parses again as an item (item.h).
 */
#ifndef INBOXD_FUZZ_CONN_H
#define INBOXD_FUZZ_CONN_H

#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "connector.h"
#include "fuzz.h"
#include "item.h"

static inline void
fuzz_check_events(const struct connector_account *accounts, size_t naccounts,
    const struct connector_events *ev, int rc, const char *err)
{
    /* Connectors apply no size limits: the check is about the form. */
    static const struct item_limits nolimit = { SIZE_MAX, SIZE_MAX };

    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(fuzz_printable(err));
    FUZZ_CHECK(rc == 0 || err[0] != '\0');
    FUZZ_CHECK(ev->n <= ev->cap && ev->n <= CONNECTOR_EVENTS_MAX);
    for (size_t i = 0; i < ev->n; i++) {
        const struct connector_event *e = &ev->v[i];
        bool has_item = e->type == CONNECTOR_EVENT_NEW ||
            e->type == CONNECTOR_EVENT_EDIT ||
            e->type == CONNECTOR_EVENT_RESTORE;
        size_t plen;

        FUZZ_CHECK((unsigned)e->type < CONNECTOR_EVENT_COUNT_);
        FUZZ_CHECK(e->account == NULL || (e->account >= accounts &&
            e->account < accounts + naccounts));
        FUZZ_CHECK(memchr(e->id, '\0', sizeof(e->id)) != NULL);
        if (e->type == CONNECTOR_EVENT_IGNORED) {
            FUZZ_CHECK(e->reason != NULL && e->item == NULL);
            continue;
        }
        FUZZ_CHECK(e->account != NULL);
        plen = strlen(e->account->platform);
        FUZZ_CHECK(strncmp(e->id, e->account->platform, plen) == 0 &&
            e->id[plen] == ':' && e->id[plen + 1] != '\0');
        FUZZ_CHECK(has_item == (e->item != NULL));
        if (e->item != NULL) {
            FUZZ_CHECK(strcmp(e->id, item_id(e->item)) == 0);
            FUZZ_CHECK(strcmp(item_account(e->item), e->account->id) == 0);
            fuzz_check_item_roundtrip(e->item, &nolimit);
        }
    }
}

#endif
