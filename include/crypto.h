/*
 * crypto: the only module that sees libcrypto (OpenSSL). Digests for
 * hashed tokens and webhook signatures, constant-time comparison, and
 * wiping secrets before their memory is freed.
 */
#ifndef INBOXD_CRYPTO_H
#define INBOXD_CRYPTO_H

#include <stdbool.h>
#include <stddef.h>

#define CRYPTO_SHA256_LEN 32
#define CRYPTO_SHA1_LEN 20

void crypto_sha256(const void *data, size_t len,
    unsigned char out[CRYPTO_SHA256_LEN]);
int crypto_hmac_sha256(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA256_LEN]);
/* HMAC-SHA1: only for Meta's legacy X-Hub-Signature (the test fakes send
 * it beside the SHA-256 one); never for verifying anything. */
int crypto_hmac_sha1(const void *key, size_t keylen, const void *data,
    size_t len, unsigned char out[CRYPTO_SHA1_LEN]);
/* Constant time in n: true when the n bytes are equal. */
bool crypto_equal(const void *a, const void *b, size_t n);
/* Overwrite n bytes with zeros in a way the compiler keeps. */
void crypto_wipe(void *p, size_t n);
/* Wipe and free a NUL-terminated secret string; NULL is fine. */
void crypto_free_secret(char *s);
/* Lowercase hex of n bytes into out (2n+1 bytes). */
void crypto_hex(const unsigned char *in, size_t n, char *out);
/* Parse 2n hex digits into n bytes; -1 on a bad digit or length. */
int crypto_unhex(const char *hex, unsigned char *out, size_t n);

#endif
