/*
 * sha256.c - SHA-256 through libcrypto's EVP interface.
 */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdlib.h>

struct sha256 {
	EVP_MD_CTX *md;
};

struct sha256 *sha256_create(void)
{
	struct sha256 *ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return NULL;
	ctx->md = EVP_MD_CTX_new();
	if (!ctx->md || EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) != 1) {
		sha256_destroy(ctx);
		return NULL;
	}
	return ctx;
}

bool sha256_update(struct sha256 *ctx, const void *data, size_t len)
{
	return EVP_DigestUpdate(ctx->md, data, len) == 1;
}

bool sha256_final(struct sha256 *ctx, uint8_t out[SHA256_BYTES])
{
	unsigned int len = SHA256_BYTES;
	bool ok = EVP_DigestFinal_ex(ctx->md, out, &len) == 1 && len == SHA256_BYTES;
	return EVP_DigestInit_ex(ctx->md, EVP_sha256(), NULL) == 1 && ok;
}

void sha256_destroy(struct sha256 *ctx)
{
	if (!ctx)
		return;
	EVP_MD_CTX_free(ctx->md);
	free(ctx);
}

bool sha256_digest(const void *data, size_t len, uint8_t out[SHA256_BYTES])
{
	unsigned int olen = SHA256_BYTES;
	return EVP_Digest(data, len, out, &olen, EVP_sha256(), NULL) == 1 && olen == SHA256_BYTES;
}

void sha256_hex(const uint8_t digest[SHA256_BYTES], char out[SHA256_HEX_BYTES])
{
	static const char hex[] = "0123456789abcdef";
	for (size_t i = 0; i < SHA256_BYTES; i++) {
		out[2 * i] = hex[digest[i] >> 4];
		out[2 * i + 1] = hex[digest[i] & 15];
	}
	out[SHA256_BYTES * 2] = '\0';
}
