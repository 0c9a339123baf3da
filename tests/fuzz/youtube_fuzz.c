/*
 * youtube_fuzz: the YouTube Data API responses (conn_youtube.c). The
 * whole input is parsed as a commentThreads.list response with no cursor
 * and as a comments.list response with a cursor, for one channel.
 */
#include <string.h>

#include "connector.h"
#include "fuzz.h"
#include "fuzz_conn.h"

/* The channel of the samples in tests/data/platforms/youtube. */
static const struct connector_account yt_fuzz_channel = {
    .platform = CONNECTOR_YOUTUBE, .id = "UCk1SpWNzOs4MYmr0uICEntg",
};

#define YT_FUZZ_CURSOR 1577836800000LL     /* 2020-01-01 */

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

static void
yt_fuzz_check_page(const struct youtube_page *page, int64_t cursor)
{
    size_t n = strlen(page->next_page_token);

    FUZZ_CHECK(page->newest_ms >= cursor);
    FUZZ_CHECK(n <= YOUTUBE_PAGE_TOKEN_MAX);
    FUZZ_CHECK(fuzz_printable(page->next_page_token));
    FUZZ_CHECK(fuzz_printable(page->error_reason));
    FUZZ_CHECK(page->error_code >= 0 && page->error_code < 1000);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct connector_events ev = { 0 };
    struct youtube_page page = { .newest_ms = 0 };
    const char *body = (const char *)data;
    char err[256];
    int rc;

    rc = youtube_parse_threads(&yt_fuzz_channel, body, size, &page, &ev, err,
        sizeof(err));
    fuzz_check_events(&yt_fuzz_channel, 1, &ev, rc, err);
    yt_fuzz_check_page(&page, 0);
    connector_events_free(&ev);

    memset(&page, 0, sizeof(page));
    page.newest_ms = YT_FUZZ_CURSOR;
    rc = youtube_parse_comments(&yt_fuzz_channel, body, size, &page, &ev,
        err, sizeof(err));
    fuzz_check_events(&yt_fuzz_channel, 1, &ev, rc, err);
    yt_fuzz_check_page(&page, YT_FUZZ_CURSOR);
    connector_events_free(&ev);
    return 0;
}
