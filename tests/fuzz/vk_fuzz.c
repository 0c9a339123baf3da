/*
 * vk_fuzz: the VK Callback API (conn_vk.c). The whole input is a
 * callback body. vk_verify reads the envelope (group_id, secret, type)
 * of any bytes; a body it accepts goes on to vk_parse for the community
 * it names, as the webhook does. One community has a secret and a
 * confirmation string, the other checks no secret, so mutated bodies
 * get past verification too.
 */
#include <string.h>

#include "connector.h"
#include "fuzz.h"
#include "fuzz_conn.h"

/* The community and secret of the samples in tests/data/platforms/vk. */
#define VK_FUZZ_SECRET "s3cr3tFromCommunitySettings"

static const char *const vk_fuzz_self[] = { "-192764727", "499047616" };

static const struct connector_account vk_fuzz_accounts[] = {
    { .platform = CONNECTOR_FACEBOOK, .id = "192764727" },
    { .platform = CONNECTOR_VK, .id = "192764727",
      .vk_secret = VK_FUZZ_SECRET, .vk_confirmation = "693d0ba9",
      .self_ids = vk_fuzz_self, .nself_ids = 2 },
    { .platform = CONNECTOR_VK, .id = "202308925" },
};
#define VK_FUZZ_NACCOUNTS \
    (sizeof(vk_fuzz_accounts) / sizeof(vk_fuzz_accounts[0]))

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
    char err[256], event_id[VK_EVENT_ID_MAX + 1];
    struct vk_callback cb;
    int rc;

    rc = vk_verify(vk_fuzz_accounts, VK_FUZZ_NACCOUNTS, (const char *)data,
        size, &cb, err, sizeof(err));
    FUZZ_CHECK(rc == 0 || rc == -1);
    FUZZ_CHECK(fuzz_printable(err));
    if (rc == -1) {
        FUZZ_CHECK(err[0] != '\0' && cb.account == NULL);
        return 0;
    }
    FUZZ_CHECK(cb.account != NULL && cb.reply != NULL);
    FUZZ_CHECK(strcmp(cb.account->platform, CONNECTOR_VK) == 0);
    FUZZ_CHECK(fuzz_printable(cb.type) && fuzz_printable(cb.event_id));
    FUZZ_CHECK(cb.confirmation ? strcmp(cb.reply, "693d0ba9") == 0 :
        strcmp(cb.reply, "ok") == 0);
    if (cb.confirmation)
        return 0;

    rc = vk_parse(cb.account, (const char *)data, size, event_id, &ev, err,
        sizeof(err));
    fuzz_check_events(vk_fuzz_accounts, VK_FUZZ_NACCOUNTS, &ev, rc, err);
    FUZZ_CHECK(ev.n <= 1);
    FUZZ_CHECK(strcmp(event_id, cb.event_id) == 0);
    connector_events_free(&ev);
    return 0;
}
