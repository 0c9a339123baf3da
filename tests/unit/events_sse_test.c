/*
 * events: the pure parts of the live event stream. Entry ids and the
 * one order of the two streams, where a Last-Event-ID resumes, the
 * query-string filters, and the SSE frames. The hub with real
 * connections and Redis is tests/integration/events_test.c.
 */
#include <stdint.h>
#include <string.h>

#include <jansson.h>

#include "alloc.h"
#include "check.h"
#include "config.h"
#include "events.h"
#include "util.h"

static int
test_ids(void)
{
    struct events_id a, b;
    char s[48];
    int rc = 0;

    CHECK(events_id_parse("1795427639171-0", &a) == 0);
    CHECK(a.ms == 1795427639171ULL && a.seq == 0);
    CHECK(events_id_parse("1795427639171-12", &b) == 0);
    CHECK(events_id_cmp(&a, &b) < 0 && events_id_cmp(&b, &a) > 0);
    CHECK(events_id_cmp(&a, &a) == 0);
    CHECK(events_id_parse("2-0", &b) == 0 && events_id_cmp(&b, &a) < 0);
    events_id_format(&a, s, sizeof(s));
    CHECK_STR(s, "1795427639171-0");
    CHECK(events_id_parse("0-18446744073709551615", &a) == 0);
    CHECK(a.seq == UINT64_MAX);
    CHECK(events_id_parse("0-18446744073709551616", &a) == -1);
    CHECK(events_id_parse("", &a) == -1);
    CHECK(events_id_parse("12", &a) == -1);
    CHECK(events_id_parse("-1-2", &a) == -1);
    CHECK(events_id_parse("1--2", &a) == -1);
    CHECK(events_id_parse("1-2x", &a) == -1);
    CHECK(events_id_parse(" 1-2", &a) == -1);
    CHECK(events_id_parse(NULL, &a) == -1);
out:
    return rc;
}

static int
test_resume_from(void)
{
    struct events_id after[EVENTS_NSTREAMS];
    char s[48];
    int rc = 0;

    /* The last event was an item: every audit entry before it was sent,
     * and an audit entry with the very same id comes after it. */
    CHECK(events_resume_from("ingest:100-3", after) == 0);
    events_id_format(&after[EVENTS_INGEST], s, sizeof(s));
    CHECK_STR(s, "100-3");
    events_id_format(&after[EVENTS_AUDIT], s, sizeof(s));
    CHECK_STR(s, "100-2");
    CHECK(events_resume_from("ingest:100-0", after) == 0);
    events_id_format(&after[EVENTS_AUDIT], s, sizeof(s));
    CHECK_STR(s, "99-18446744073709551615");
    /* A desk event: every item up to its id was sent before it. */
    CHECK(events_resume_from("audit:100-0", after) == 0);
    events_id_format(&after[EVENTS_INGEST], s, sizeof(s));
    CHECK_STR(s, "100-0");
    events_id_format(&after[EVENTS_AUDIT], s, sizeof(s));
    CHECK_STR(s, "100-0");
    CHECK(events_resume_from("ingest:0-0", after) == 0);
    events_id_format(&after[EVENTS_AUDIT], s, sizeof(s));
    CHECK_STR(s, "0-0");

    CHECK(events_resume_from("deadletter:1-0", after) == -1);
    CHECK(events_resume_from("ingest", after) == -1);
    CHECK(events_resume_from("ingest:", after) == -1);
    CHECK(events_resume_from("ingestx:1-0", after) == -1);
    CHECK(events_resume_from("audi:1-0", after) == -1);
    CHECK(events_resume_from("1795427639171-0", after) == -1);
    CHECK(events_resume_from(NULL, after) == -1);
out:
    return rc;
}

static int
test_filter_parse(void)
{
    char n1[] = "support", n2[] = "sales", n3[] = "support-ru";
    char *names[] = { n1, n2, n3 };
    struct config cfg;
    struct events_filter f;
    char err[256];
    int rc = 0;

    memset(&cfg, 0, sizeof(cfg));
    memset(&f, 0, sizeof(f));
    cfg.queue.names = names;
    cfg.queue.nnames = nitems(names);

    CHECK(events_filter_parse(NULL, &cfg, &f, err, sizeof(err)) ==
        EVENTS_JOINED);
    CHECK(f.nqueues == 0 && f.ntypes == 0);
    events_filter_clear(&f);
    CHECK(events_filter_parse("", &cfg, &f, err, sizeof(err)) ==
        EVENTS_JOINED);
    events_filter_clear(&f);

    CHECK(events_filter_parse("queue=support&queue=sales&types=item,"
        "claimed&types=action_done", &cfg, &f, err, sizeof(err)) ==
        EVENTS_JOINED);
    CHECK(f.nqueues == 2 && f.ntypes == 3);
    CHECK_STR(f.queues[0], "support");
    CHECK_STR(f.queues[1], "sales");
    CHECK_STR(f.types[0], "item");
    CHECK_STR(f.types[1], "claimed");
    CHECK_STR(f.types[2], "action_done");
    events_filter_clear(&f);

    /* Percent-encoding, commas in queue too, stray '&'. */
    CHECK(events_filter_parse("&queue=support%2Dru%2Csales&&types=%69tem",
        &cfg, &f, err, sizeof(err)) == EVENTS_JOINED);
    CHECK(f.nqueues == 2 && f.ntypes == 1);
    CHECK_STR(f.queues[0], "support-ru");
    CHECK_STR(f.queues[1], "sales");
    CHECK_STR(f.types[0], "item");
    events_filter_clear(&f);

    CHECK(events_filter_parse("queue=nope", &cfg, &f, err, sizeof(err)) ==
        EVENTS_UNKNOWN_QUEUE);
    CHECK_CONTAINS(err, "no such queue: nope");
    events_filter_clear(&f);
    {
        static const char *const bad[] = {
            "queues=support", "queue", "queue=", "types=", "types=a,,b",
            "types=a b", "types=a%0Ab", "types=%zz", "queue=sup%00port",
            "Queue=support", "types=" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaa",
        };

        for (size_t i = 0; i < nitems(bad); i++) {
            if (events_filter_parse(bad[i], &cfg, &f, err, sizeof(err)) !=
                EVENTS_BAD_REQUEST) {
                fprintf(stderr, "  accepted %s\n", bad[i]);
                CHECK(0);
            }
            events_filter_clear(&f);
        }
    }
    {
        /* At most EVENTS_FILTER_MAX names per list. */
        struct buf q;

        buf_init(&q, 1u << 16);
        CHECK(buf_puts(&q, "types=t0") == 0);
        for (int i = 1; i <= EVENTS_FILTER_MAX; i++)
            CHECK(buf_printf(&q, ",t%d", i) == 0);
        CHECK(events_filter_parse(q.data, &cfg, &f, err, sizeof(err)) ==
            EVENTS_BAD_REQUEST);
        CHECK_CONTAINS(err, "at most");
        buf_free(&q);
    }
out:
    events_filter_clear(&f);
    return rc;
}

static int
test_filter_match(void)
{
    char q1[] = "support", t1[] = "item", t2[] = "reassign";
    char *queues[] = { q1 }, *types[] = { t1, t2 };
    struct events_filter all = { 0 }, f = { 0 };
    int rc = 0;

    CHECK(events_filter_match(&all, "item", NULL, NULL));
    CHECK(events_filter_match(&all, "whatever", "x", NULL));
    f.queues = queues;
    f.nqueues = 1;
    CHECK(events_filter_match(&f, "item", "support", NULL));
    CHECK(!events_filter_match(&f, "item", "sales", NULL));
    CHECK(!events_filter_match(&f, "note", NULL, NULL));
    /* A move out of a watched queue is seen there too. */
    CHECK(events_filter_match(&f, "reassign", "sales", "support"));
    f.types = types;
    f.ntypes = 2;
    CHECK(events_filter_match(&f, "item", "support", NULL));
    CHECK(!events_filter_match(&f, "claimed", "support", NULL));
    CHECK(events_filter_match(&f, "reassign", "sales", "support"));
    f.nqueues = 0;
    CHECK(events_filter_match(&f, "item", "sales", NULL));
    CHECK(!events_filter_match(&f, "resolve", "sales", NULL));
out:
    return rc;
}

/* A queue_events answer from JSON text. */
static json_t *
reply(const char *text)
{
    json_error_t jerr;
    json_t *r = json_loads(text, 0, &jerr);

    if (r == NULL)
        fprintf(stderr, "  bad test JSON: %s\n", jerr.text);
    return r;
}

/* The ids of entries e[0..n) as "i:1-0 a:1-0 ..." into out. */
static const char *
ids_of(const struct events_entry *e, long n)
{
    static char out[1024];
    size_t len = 0;
    char id[48];

    out[0] = '\0';
    for (long i = 0; i < n && len < sizeof(out) - 64; i++) {
        events_id_format(&e[i].id, id, sizeof(id));
        len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%c:%s",
            i > 0 ? " " : "", e[i].stream == EVENTS_INGEST ? 'i' : 'a', id);
    }
    return out;
}

static int
test_order(void)
{
    struct events_entry *e = NULL;
    json_t *r = NULL;
    long n;
    int rc = 0;

    /* By id, ingest first on a tie; bad ids skipped. */
    r = reply("{\"ingest\": [[\"5-0\", {}], [\"7-1\", {}], [\"x\", {}]],"
        " \"audit\": [[\"5-0\", {}, \"q\"], [\"6-0\", {}, \"\"],"
        " [\"7-0\", {}, \"q\"]]}");
    CHECK(r != NULL);
    n = events_order(r, 10, &e);
    CHECK(n == 5);
    CHECK_STR(ids_of(e, n), "i:5-0 a:5-0 a:6-0 a:7-0 i:7-1");
    CHECK_STR(e[1].queue, "q");
    XFREE(&e);
    json_decref(r);

    /* Empty lists come from cjson as {}. */
    r = reply("{\"ingest\": {}, \"audit\": {}}");
    CHECK(events_order(r, 10, &e) == 0 && e == NULL);
    json_decref(r);

    /* A full ingest read holds back the audit entries after its last
     * one: they may have items before them still unread. */
    r = reply("{\"ingest\": [[\"1-0\", {}], [\"3-0\", {}]],"
        " \"audit\": [[\"2-0\", {}, \"\"], [\"4-0\", {}, \"\"],"
        " [\"9-0\", {}, \"\"]]}");
    n = events_order(r, 2, &e);
    CHECK(n == 3);
    CHECK_STR(ids_of(e, n), "i:1-0 a:2-0 i:3-0");
    XFREE(&e);
    /* Only the audit read full: nothing of it waits past its last. */
    n = events_order(r, 3, &e);
    CHECK_STR(ids_of(e, n), "i:1-0 a:2-0 i:3-0 a:4-0 a:9-0");
    XFREE(&e);
    json_decref(r);
    r = reply("{\"ingest\": [[\"1-0\", {}], [\"3-0\", {}]],"
        " \"audit\": [[\"2-0\", {}, \"\"], [\"3-0\", {}, \"\"]]}");
    n = events_order(r, 2, &e);
    CHECK_STR(ids_of(e, n), "i:1-0 a:2-0 i:3-0");
    XFREE(&e);
    json_decref(r);

    /* Resuming: only the newest N of both. */
    r = reply("{\"ingest\": [[\"1-0\", {}], [\"4-0\", {}]],"
        " \"audit\": [[\"2-0\", {}, \"\"], [\"3-0\", {}, \"\"]],"
        " \"ends\": [\"4-0\", \"3-0\"]}");
    n = events_order(r, -3, &e);
    CHECK_STR(ids_of(e, n), "a:2-0 a:3-0 i:4-0");
    XFREE(&e);
    n = events_order(r, -10, &e);
    CHECK(n == 4);
    XFREE(&e);
out:
    xfree(e);
    json_decref(r);
    return rc;
}

static int
test_frames(void)
{
    struct events_event ev;
    struct events_entry e;
    json_t *fields = NULL;
    int rc = 0;

    memset(&e, 0, sizeof(e));
    buf_init(&ev.frame, 1u << 20);
    e.stream = EVENTS_INGEST;
    CHECK(events_id_parse("1795427639171-1", &e.id) == 0);
    fields = json_pack("{s:s,s:s}", "id", "facebook:1_2", "queue",
        "support");
    e.fields = fields;
    CHECK(events_event_build(&e, &ev) == 0);
    CHECK_STR(ev.name, "item");
    CHECK_STR(ev.queue, "support");
    CHECK(ev.from_queue == NULL);
    CHECK_STR(ev.frame.data, "id: ingest:1795427639171-1\n"
        "event: item\n"
        "data: {\"event\":\"item\",\"id\":\"facebook:1_2\",\"queue\":"
        "\"support\",\"at\":\"2026-11-23T09:53:59.171Z\"}\n\n");
    json_decref(fields);

    /* A desk action: its own fields pass through, the queue looked up
     * when the entry has none, text stays on one data line. */
    e.stream = EVENTS_AUDIT;
    CHECK(events_id_parse("1795427702114-0", &e.id) == 0);
    fields = json_pack("{s:s,s:s,s:s,s:s,s:s}", "item", "facebook:1_2",
        "action", "reply", "by", "alice", "at", "1795427702113",
        "text", "Hi!\nSee you");
    e.fields = fields;
    e.queue = "support";
    CHECK(events_event_build(&e, &ev) == 0);
    CHECK_STR(ev.name, "reply");
    CHECK_STR(ev.frame.data, "id: audit:1795427702114-0\n"
        "event: reply\n"
        "data: {\"event\":\"reply\",\"id\":\"facebook:1_2\",\"queue\":"
        "\"support\",\"by\":\"alice\",\"at\":\"2026-11-23T09:55:02.113Z\","
        "\"text\":\"Hi!\\nSee you\"}\n\n");
    json_decref(fields);

    /* A move: the entry's queue is where it went, and where it left. */
    fields = json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "item", "vk:1",
        "action", "reassign", "by", "lena", "at", "1795427702113",
        "queue", "sales", "from_queue", "support");
    e.fields = fields;
    e.queue = "";
    CHECK(events_event_build(&e, &ev) == 0);
    CHECK_STR(ev.queue, "sales");
    CHECK_STR(ev.from_queue, "support");
    CHECK_CONTAINS(ev.frame.data, "\"queue\":\"sales\"");
    CHECK_CONTAINS(ev.frame.data, "\"from_queue\":\"support\"");
    json_decref(fields);

    /* A later kind of entry passes by its own name; a gone item has no
     * queue. */
    fields = json_pack("{s:s,s:s,s:s,s:s,s:s}", "item", "vk:2",
        "action", "action_failed", "by", "inboxd", "at", "junk",
        "error", "rate limited");
    e.fields = fields;
    e.queue = "";
    CHECK(events_event_build(&e, &ev) == 0);
    CHECK_STR(ev.name, "action_failed");
    CHECK(ev.queue == NULL);
    CHECK_STR(ev.frame.data, "id: audit:1795427702114-0\n"
        "event: action_failed\n"
        "data: {\"event\":\"action_failed\",\"id\":\"vk:2\",\"by\":"
        "\"inboxd\",\"at\":\"2026-11-23T09:55:02.114Z\",\"error\":"
        "\"rate limited\"}\n\n");
    json_decref(fields);

    /* Not events: no item, an action that would break the framing. */
    fields = json_pack("{s:s}", "action", "note");
    e.fields = fields;
    CHECK(events_event_build(&e, &ev) == -1);
    json_decref(fields);
    fields = json_pack("{s:s,s:s}", "item", "a:1", "action", "x\ndata: y");
    e.fields = fields;
    CHECK(events_event_build(&e, &ev) == -1);
    json_decref(fields);
    fields = json_pack("{s:s}", "queue", "support");
    e.fields = fields;
    e.stream = EVENTS_INGEST;
    CHECK(events_event_build(&e, &ev) == -1);
out:
    json_decref(fields);
    buf_free(&ev.frame);
    return rc;
}

static const struct check_case cases[] = {
    {"ids", test_ids},
    {"resume_from", test_resume_from},
    {"filter_parse", test_filter_parse},
    {"filter_match", test_filter_match},
    {"order", test_order},
    {"frames", test_frames},
};

CHECK_MAIN(cases)
