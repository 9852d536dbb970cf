/*
 * sha256.h - SHA-256, incremental.
 *
 * Backed by OpenSSL's libcrypto, which uses the CPU's SHA extensions: hashing a
 * 3 MB page costs 2 ms there against 9.5 ms with libsodium's portable code, and
 * every page is hashed on the scan path (see kiosk/README.md).
 */
#ifndef SCANKIOSK_SHA256_H
#define SCANKIOSK_SHA256_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define SHA256_BYTES     32
#define SHA256_HEX_BYTES (SHA256_BYTES * 2 + 1)

struct sha256;

/* Returns NULL when out of memory. */
struct sha256 *sha256_create(void);
/* Returns false when the library fails; the digest is then unusable. */
__attribute__((warn_unused_result)) bool sha256_update(struct sha256 *ctx, const void *data,
                                                       size_t len);
/* Writes the digest and resets the context for reuse. Returns false when the
 * library fails (the context is reset all the same). */
__attribute__((warn_unused_result)) bool sha256_final(struct sha256 *ctx,
                                                      uint8_t out[SHA256_BYTES]);
void sha256_destroy(struct sha256 *ctx);

/* One-shot. Returns false when the library fails (out of memory). */
__attribute__((warn_unused_result)) bool sha256_digest(const void *data, size_t len,
                                                       uint8_t out[SHA256_BYTES]);

/* Lower-case hex with a terminating NUL. */
void sha256_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_BYTES]);

#endif
