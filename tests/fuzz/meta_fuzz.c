/*
 * meta_fuzz: the Facebook/Instagram webhook (conn_meta.c). The whole
 * input is a webhook body for meta_parse, with Pages and an Instagram
 * account configured. Its first line also feeds the two checks made
 * before any parsing: as the X-Hub-Signature-256 header over the rest of
 * the input (meta_verify_signature), and split at '&' into hub.mode,
 * hub.verify_token and hub.challenge (meta_verify_handshake).
 */
#include <string.h>

#include "alloc.h"
#include "connector.h"
#include "fuzz.h"
#include "fuzz_conn.h"

/* The secret and Page of facebook/signature_test_vector in tests/data. */
#define META_FUZZ_SECRET "test-app-secret-0123456789abcdef"
#define META_FUZZ_TOKEN  "meatyhamhock"

static const char *const meta_fuzz_self[] = { "1440971912666228" };

static const struct connector_account meta_fuzz_accounts[] = {
    { .platform = CONNECTOR_FACEBOOK, .id = "137542570280222",
      .app_secret = META_FUZZ_SECRET, .verify_token = META_FUZZ_TOKEN,
      .self_ids = meta_fuzz_self, .nself_ids = 1 },
    { .platform = CONNECTOR_FACEBOOK, .id = "404217156637689" },
    { .platform = CONNECTOR_INSTAGRAM, .id = "17841405309211844" },
};
#define META_FUZZ_NACCOUNTS \
    (sizeof(meta_fuzz_accounts) / sizeof(meta_fuzz_accounts[0]))

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    fuzz_setup();
    return 0;
}

static void
meta_fuzz_handshake(char *line)
{
    char *mode = line, *token, *challenge;
    size_t n;

    if ((token = strchr(mode, '&')) == NULL)
        return;
    *token++ = '\0';
    if ((challenge = strchr(token, '&')) == NULL)
        return;
    *challenge++ = '\0';
    if (meta_verify_handshake(META_FUZZ_TOKEN, mode, token, challenge) != 0)
        return;
    /* The challenge is echoed as the answer: it must be a plain token. */
    n = strlen(challenge);
    FUZZ_CHECK(n >= 1 && n <= 128);
    FUZZ_CHECK(strspn(challenge, "abcdefghijklmnopqrstuvwxyz"
        "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-") == n);
    FUZZ_CHECK(strcmp(mode, "subscribe") == 0);
    FUZZ_CHECK(strcmp(token, META_FUZZ_TOKEN) == 0);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct connector_events ev = { 0 };
    const uint8_t *rest;
    size_t restlen;
    char err[256], *line;
    int rc;

    if ((line = fuzz_str(data, fuzz_line_len(data, size))) == NULL)
        return 0;
    rest = fuzz_after_line(data, size, &restlen);
    (void)meta_verify_signature(META_FUZZ_SECRET, rest, restlen, line);
    meta_fuzz_handshake(line);
    xfree(line);

    rc = meta_parse(meta_fuzz_accounts, META_FUZZ_NACCOUNTS,
        (const char *)data, size, &ev, err, sizeof(err));
    fuzz_check_events(meta_fuzz_accounts, META_FUZZ_NACCOUNTS, &ev, rc, err);
    connector_events_free(&ev);
    return 0;
}
