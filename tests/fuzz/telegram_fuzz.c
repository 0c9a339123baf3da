/*
 * telegram_fuzz: the Telegram Bot API (conn_telegram.c). The whole input
 * is parsed twice, as one webhook Update (telegram_parse_update) and as
 * a getUpdates response (telegram_parse_updates); its first line is also
 * the X-Telegram-Bot-Api-Secret-Token header for telegram_verify_secret.
 */
#include <string.h>

#include "alloc.h"
#include "connector.h"
#include "fuzz.h"
#include "fuzz_conn.h"

/* The bot of the samples in tests/data/platforms/telegram. */
#define TG_FUZZ_SECRET "tg-secret_ABC-123"
#define TG_FUZZ_OFFSET 100

static const struct connector_account tg_fuzz_bot = {
    .platform = CONNECTOR_TELEGRAM, .id = "123456789",
    .telegram_secret = TG_FUZZ_SECRET,
};

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct connector_events ev = { 0 };
    struct telegram_poll poll = { .next_offset = TG_FUZZ_OFFSET };
    const char *body = (const char *)data;
    int64_t update_id = 0;
    char err[256], *line;
    int rc;

    if ((line = fuzz_str(data, fuzz_line_len(data, size))) == NULL)
        return 0;
    rc = telegram_verify_secret(TG_FUZZ_SECRET, line);
    FUZZ_CHECK((rc == 0) == (strcmp(line, TG_FUZZ_SECRET) == 0));
    FUZZ_CHECK(telegram_verify_secret(NULL, line) == 0);
    xfree(line);

    rc = telegram_parse_update(&tg_fuzz_bot, body, size, &update_id, &ev,
        err, sizeof(err));
    fuzz_check_events(&tg_fuzz_bot, 1, &ev, rc, err);
    FUZZ_CHECK(update_id >= -1);
    FUZZ_CHECK(ev.n <= 1);
    connector_events_free(&ev);

    rc = telegram_parse_updates(&tg_fuzz_bot, body, size, &poll, &ev, err,
        sizeof(err));
    fuzz_check_events(&tg_fuzz_bot, 1, &ev, rc, err);
    /* The offset only moves forward, and not at all on {"ok": false}. */
    FUZZ_CHECK(poll.next_offset >= TG_FUZZ_OFFSET);
    FUZZ_CHECK(poll.error_code == 0 || poll.next_offset == TG_FUZZ_OFFSET);
    FUZZ_CHECK(poll.error_code >= 0 && poll.error_code < 1000);
    FUZZ_CHECK(poll.retry_after >= 0 && poll.retry_after < 86400);
    connector_events_free(&ev);
    return 0;
}
