/*
 * crypto: the thin wrapper over libcrypto. Kept to the few primitives
 * inboxd needs so that nothing else includes OpenSSL headers.
 */
#include <string.h>

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include "alloc.h"
#include "crypto.h"

void
crypto_sha256(const void *data, size_t len,
    unsigned char out[CRYPTO_SHA256_LEN])
{
    unsigned int n = CRYPTO_SHA256_LEN;

    EVP_Digest(data, len, out, &n, EVP_sha256(), NULL);
}

int
crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN])
{
    unsigned int n = CRYPTO_SHA256_LEN;

    if (HMAC(EVP_sha256(), key, (int)keylen, data, len, out, &n) == NULL)
        return -1;
    return 0;
}

int
crypto_hmac_sha1(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA1_LEN])
{
    unsigned int n = CRYPTO_SHA1_LEN;

    if (HMAC(EVP_sha1(), key, (int)keylen, data, len, out, &n) == NULL)
        return -1;
    return 0;
}

bool
crypto_equal(const void *a, const void *b, size_t n)
{
    return CRYPTO_memcmp(a, b, n) == 0;
}

void
crypto_wipe(void *p, size_t n)
{
    if (p != NULL)
        OPENSSL_cleanse(p, n);
}

void
crypto_free_secret(char *s)
{
    if (s == NULL)
        return;
    crypto_wipe(s, strlen(s));
    xfree(s);
}

void
crypto_hex(const unsigned char *in, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";

    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 0x0f];
    }
    out[2 * n] = '\0';
}

static int
crypto_nibble(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int
crypto_unhex(const char *hex, unsigned char *out, size_t n)
{
    if (strlen(hex) != 2 * n)
        return -1;
    for (size_t i = 0; i < n; i++) {
        int hi = crypto_nibble(hex[2 * i]), lo = crypto_nibble(hex[2 * i + 1]);

        if (hi < 0 || lo < 0)
            return -1;
        out[i] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}
