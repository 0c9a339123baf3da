/*
 * fake_webhook: the platforms' webhook deliveries, sent from the test
 * thread the way each platform sends them, to a URL on loopback (inboxd's
 * webhook routes, or a fake). Blocking libcurl easy calls, 5 s timeout,
 * no proxy, no redirects; a URL whose host is not 127.x.x.x, localhost or
 * [::1] is refused before anything is sent.
 *
 * Each returns 0 when an HTTP answer arrived, with *status its code and
 * *resp (may be NULL) a new string holding its body (xfree it); -1
 * otherwise (refused URL, JSON that does not parse, no answer), with
 * nothing allocated.
 */
#ifndef INBOXD_FAKE_WEBHOOK_H
#define INBOXD_FAKE_WEBHOOK_H

/*
 * json re-encoded the way Meta sends it: compact, key order and numbers
 * kept, every string written anew with every non-ASCII character as a
 * lowercase \uXXXX escape (a surrogate pair above U+FFFF) and '/' as
 * "\/". A new string, or NULL when json does not parse.
 */
char *fake_meta_encode(const char *json);

/*
 * Meta (Facebook Pages, Messenger, Instagram): POST fake_meta_encode(json)
 * with Content-Type: application/json, X-Hub-Signature-256: sha256=<hex>
 * and X-Hub-Signature: sha1=<hex>, HMACs of exactly those bytes under
 * app_secret.
 */
int fake_webhook_meta(const char *url, const char *app_secret,
    const char *json, long *status, char **resp);

/*
 * VK Callback API: POST json compact (UTF-8 kept as is), Content-Type:
 * application/json; retry_counter > 0 adds X-Retry-Counter: <n>, as VK
 * does on a redelivery. The secret travels in the body (its "secret").
 */
int fake_webhook_vk(const char *url, const char *json, int retry_counter,
    long *status, char **resp);

/*
 * Telegram: POST json compact (UTF-8 kept as is), Content-Type:
 * application/json, and X-Telegram-Bot-Api-Secret-Token: <secret_token>
 * unless secret_token is NULL.
 */
int fake_webhook_telegram(const char *url, const char *secret_token,
    const char *json, long *status, char **resp);

#endif
