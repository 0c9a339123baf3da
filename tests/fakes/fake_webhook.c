/*
 * fake_webhook: webhook deliveries as the platforms make them, for the
 * tests (fake_webhook.h), and the JSON encoders they need: Meta's
 * escaped-unicode form, which its signatures cover, and the plain compact
 * form of VK and Telegram. The encoders rewrite the text of the JSON, not
 * a parsed tree, so key order and number spellings stay as written.
 */
#include <arpa/inet.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "alloc.h"
#include "buf.h"
#include "crypto.h"
#include "fake_webhook.h"

#define FAKE_WEBHOOK_MAX        (16u << 20)
#define FAKE_WEBHOOK_TIMEOUT_MS 5000L

enum fake_enc {
    FAKE_ENC_UTF8,              /* VK, Telegram: UTF-8 as is */
    FAKE_ENC_META               /* Meta: \uXXXX and \/ */
};

/* ---------------------------------------------------------------------
 * Encoding
 * ------------------------------------------------------------------ */

static int
fake_hex4(const char *p, uint32_t *out)
{
    uint32_t v = 0;

    for (int i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (uint32_t)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (uint32_t)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (uint32_t)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* One UTF-8 sequence (jansson has validated it) as a code point. */
static uint32_t
fake_utf8_next(const unsigned char **pp)
{
    const unsigned char *p = *pp;
    uint32_t cp;
    int more;

    if (p[0] < 0x80) {
        *pp = p + 1;
        return p[0];
    }
    if ((p[0] & 0xe0) == 0xc0) {
        cp = p[0] & 0x1f;
        more = 1;
    } else if ((p[0] & 0xf0) == 0xe0) {
        cp = p[0] & 0x0f;
        more = 2;
    } else {
        cp = p[0] & 0x07;
        more = 3;
    }
    p++;
    while (more-- > 0 && (*p & 0xc0) == 0x80)
        cp = cp << 6 | (*p++ & 0x3f);
    *pp = p;
    return cp;
}

static void
fake_put_utf8(struct buf *b, uint32_t cp)
{
    unsigned char s[4];
    size_t n;

    if (cp < 0x80) {
        s[0] = (unsigned char)cp;
        n = 1;
    } else if (cp < 0x800) {
        s[0] = (unsigned char)(0xc0 | cp >> 6);
        s[1] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 2;
    } else if (cp < 0x10000) {
        s[0] = (unsigned char)(0xe0 | cp >> 12);
        s[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        s[2] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 3;
    } else {
        s[0] = (unsigned char)(0xf0 | cp >> 18);
        s[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
        s[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        s[3] = (unsigned char)(0x80 | (cp & 0x3f));
        n = 4;
    }
    buf_append(b, s, n);
}

/* One character of a string, escaped as enc wants it. */
static void
fake_put_char(struct buf *b, uint32_t cp, enum fake_enc enc)
{
    static const char short_esc[] = "\b\f\n\r\t\"\\";
    static const char short_chr[] = "bfnrt\"\\";
    const char *e;

    if (cp != 0 && cp < 0x80 && (e = strchr(short_esc, (int)cp)) != NULL)
        buf_printf(b, "\\%c", short_chr[e - short_esc]);
    else if (cp < 0x20)
        buf_printf(b, "\\u%04x", (unsigned)cp);
    else if (cp == '/' && enc == FAKE_ENC_META)
        buf_puts(b, "\\/");
    else if (cp < 0x80 || enc == FAKE_ENC_UTF8)
        fake_put_utf8(b, cp);
    else if (cp < 0x10000)
        buf_printf(b, "\\u%04x", (unsigned)cp);
    else
        buf_printf(b, "\\u%04x\\u%04x",
            (unsigned)(0xd800 + ((cp - 0x10000) >> 10)),
            (unsigned)(0xdc00 + ((cp - 0x10000) & 0x3ff)));
}

/*
 * The string starting after its opening quote at p, decoded and written
 * anew; the position after its closing quote.
 */
static const char *
fake_put_string(struct buf *b, const char *p, enum fake_enc enc)
{
    static const char esc_in[] = "bfnrt\"\\/";
    static const char esc_out[] = "\b\f\n\r\t\"\\/";
    const unsigned char *u;
    const char *e;
    uint32_t cp, lo;

    buf_puts(b, "\"");
    while (*p != '"' && *p != '\0') {
        if (*p != '\\') {
            u = (const unsigned char *)p;
            cp = fake_utf8_next(&u);
            p = (const char *)u;
        } else if (p[1] == 'u' && fake_hex4(p + 2, &cp) == 0) {
            p += 6;
            if (cp >= 0xd800 && cp < 0xdc00 && p[0] == '\\' &&
                p[1] == 'u' && fake_hex4(p + 2, &lo) == 0 &&
                lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                p += 6;
            }
        } else if (p[1] != '\0' && (e = strchr(esc_in, p[1])) != NULL) {
            cp = (unsigned char)esc_out[e - esc_in];
            p += 2;
        } else {
            cp = (unsigned char)p[1];
            p += p[1] != '\0' ? 2 : 1;
        }
        fake_put_char(b, cp, enc);
    }
    buf_puts(b, "\"");
    return *p == '"' ? p + 1 : p;
}

/* json compact, strings re-encoded; NULL when it does not parse. */
static char *
fake_json_encode(const char *json, enum fake_enc enc)
{
    json_t *v;
    struct buf b;
    const char *p;

    if ((v = json_loads(json, JSON_DECODE_ANY, NULL)) == NULL)
        return NULL;
    json_decref(v);
    buf_init(&b, FAKE_WEBHOOK_MAX);
    for (p = json; *p != '\0';) {
        if (*p == '"')
            p = fake_put_string(&b, p + 1, enc);
        else if (strchr(" \t\r\n", *p) != NULL)
            p++;
        else
            buf_append(&b, p++, 1);
    }
    return buf_steal(&b);
}

char *
fake_meta_encode(const char *json)
{
    return fake_json_encode(json, FAKE_ENC_META);
}

/* ---------------------------------------------------------------------
 * Sending
 * ------------------------------------------------------------------ */

/* Is url plain http to a loopback host? Nothing else is ever sent to. */
static bool
fake_webhook_loopback(const char *url)
{
    const char *host, *end;
    char h[64];
    struct in_addr a;
    size_t n;

    if (strncmp(url, "http://", 7) != 0)
        return false;
    host = url + 7;
    if (strncmp(host, "[::1]", 5) == 0)
        return host[5] == ':' || host[5] == '/' || host[5] == '\0';
    end = host + strcspn(host, ":/?#");
    if ((n = (size_t)(end - host)) == 0 || n >= sizeof(h))
        return false;
    memcpy(h, host, n);
    h[n] = '\0';
    if (strcmp(h, "localhost") == 0)
        return true;
    return inet_pton(AF_INET, h, &a) == 1 &&
        (ntohl(a.s_addr) >> 24) == 127;
}

static size_t
fake_webhook_write_cb(char *p, size_t size, size_t n, void *arg)
{
    struct buf *b = arg;

    if (buf_append(b, p, size * n) == -1)
        return 0;
    return size * n;
}

/* POST body with the header lines (NULL-terminated list). */
static int
fake_webhook_post(const char *url, const char *const *headers,
    const char *body, long *status, char **resp)
{
    struct curl_slist *hdrs = NULL, *h;
    CURL *curl = NULL;
    CURLcode cc;
    struct buf b;
    int rc = -1;

    buf_init(&b, FAKE_WEBHOOK_MAX);
    if (!fake_webhook_loopback(url)) {
        fprintf(stderr, "  fake_webhook: not a loopback URL: %s\n", url);
        return -1;
    }
    for (size_t i = 0; headers[i] != NULL; i++) {
        if ((h = curl_slist_append(hdrs, headers[i])) == NULL)
            goto out;
        hdrs = h;
    }
    /* libcurl would send Expect: 100-continue on a large body. */
    if ((h = curl_slist_append(hdrs, "Expect:")) == NULL ||
        (curl = curl_easy_init()) == NULL)
        goto out;
    hdrs = h;
    curl_easy_setopt(curl, CURLOPT_URL, url);
    curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http");
    curl_easy_setopt(curl, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, FAKE_WEBHOOK_TIMEOUT_MS);
    curl_easy_setopt(curl, CURLOPT_HTTPHEADER, hdrs);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
    curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, fake_webhook_write_cb);
    curl_easy_setopt(curl, CURLOPT_WRITEDATA, &b);
    if ((cc = curl_easy_perform(curl)) != CURLE_OK) {
        fprintf(stderr, "  fake_webhook: %s: %s\n", url,
            curl_easy_strerror(cc));
        goto out;
    }
    curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status);
    if (resp != NULL) {
        if (b.data == NULL)
            buf_puts(&b, "");
        if ((*resp = buf_steal(&b)) == NULL)
            goto out;
    }
    rc = 0;
out:
    if (curl != NULL)
        curl_easy_cleanup(curl);
    curl_slist_free_all(hdrs);
    buf_free(&b);
    return rc;
}

int
fake_webhook_meta(const char *url, const char *app_secret, const char *json,
    long *status, char **resp)
{
    unsigned char mac256[CRYPTO_SHA256_LEN], mac1[CRYPTO_SHA1_LEN];
    char hex256[2 * CRYPTO_SHA256_LEN + 1], hex1[2 * CRYPTO_SHA1_LEN + 1];
    char sig256[128], sig1[96];
    const char *headers[5];
    char *body;
    int rc = -1;

    if ((body = fake_meta_encode(json)) == NULL)
        return -1;
    if (crypto_hmac_sha256(app_secret, strlen(app_secret), body,
        strlen(body), mac256) == -1 ||
        crypto_hmac_sha1(app_secret, strlen(app_secret), body, strlen(body),
        mac1) == -1)
        goto out;
    crypto_hex(mac256, sizeof(mac256), hex256);
    crypto_hex(mac1, sizeof(mac1), hex1);
    snprintf(sig256, sizeof(sig256), "X-Hub-Signature-256: sha256=%s",
        hex256);
    snprintf(sig1, sizeof(sig1), "X-Hub-Signature: sha1=%s", hex1);
    headers[0] = "Content-Type: application/json";
    headers[1] = "User-Agent: facebookexternalua";
    headers[2] = sig256;
    headers[3] = sig1;
    headers[4] = NULL;
    rc = fake_webhook_post(url, headers, body, status, resp);
out:
    xfree(body);
    return rc;
}

int
fake_webhook_vk(const char *url, const char *json, int retry_counter,
    long *status, char **resp)
{
    const char *headers[3] = { "Content-Type: application/json", NULL,
        NULL };
    char retry[48];
    char *body;
    int rc;

    if ((body = fake_json_encode(json, FAKE_ENC_UTF8)) == NULL)
        return -1;
    if (retry_counter > 0) {
        snprintf(retry, sizeof(retry), "X-Retry-Counter: %d",
            retry_counter);
        headers[1] = retry;
    }
    rc = fake_webhook_post(url, headers, body, status, resp);
    xfree(body);
    return rc;
}

int
fake_webhook_telegram(const char *url, const char *secret_token,
    const char *json, long *status, char **resp)
{
    const char *headers[3] = { "Content-Type: application/json", NULL,
        NULL };
    struct buf h;
    char *body;
    int rc = -1;

    buf_init(&h, 1024);
    if ((body = fake_json_encode(json, FAKE_ENC_UTF8)) == NULL)
        return -1;
    if (secret_token != NULL) {
        if (buf_printf(&h, "X-Telegram-Bot-Api-Secret-Token: %s",
            secret_token) == -1)
            goto out;
        headers[1] = h.data;
    }
    rc = fake_webhook_post(url, headers, body, status, resp);
out:
    buf_free(&h);
    xfree(body);
    return rc;
}
