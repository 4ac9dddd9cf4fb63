/* SPDX-License-Identifier: MIT */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "verity/sha256-ni.h"
#include "verity/sha256.h"

/* Fetched once: an implicit fetch per digest costs ~8% at 4 KiB. */
static EVP_MD *sha256_md;
static bool use_ni;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_setup(void)
{
	const char *force = secure_getenv("SEALTREE_SHA256");

	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
	use_ni = !(force && strcmp(force, "openssl") == 0) && sha256_ni_usable();
}

const char *sha256_backend(void)
{
	(void)pthread_once(&sha256_once, sha256_setup);
	return use_ni ? "sha-ni" : "openssl";
}

int sha256_init(struct sha256 *s)
{
	EVP_MD_CTX *ctx;

	/* The OpenSSL context is made on SHA-NI too: it is small, and cheap next to a hasher. */
	if (pthread_once(&sha256_once, sha256_setup) != 0 || !sha256_md)
		return st_errf(-EIO, "OpenSSL has no SHA-256 implementation");
	ctx = EVP_MD_CTX_new();
	if (!ctx)
		return -ENOMEM;
	if (!EVP_DigestInit_ex(ctx, sha256_md, NULL)) {
		EVP_MD_CTX_free(ctx);
		return st_errf(-EIO, "OpenSSL failed to initialise SHA-256");
	}
	s->ctx = ctx;
	return 0;
}

void sha256_release(struct sha256 *s)
{
	EVP_MD_CTX_free(s->ctx);
	s->ctx = NULL;
}

static int openssl_digest(struct sha256 *s, const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	/* Re-initialising with the same EVP_MD reuses the provider context. */
	if (_unlikely_(!EVP_DigestInit_ex(s->ctx, sha256_md, NULL) ||
		       !EVP_DigestUpdate(s->ctx, data, len) ||
		       !EVP_DigestFinal_ex(s->ctx, out, NULL)))
		return st_errf(-EIO, "OpenSSL SHA-256 failed");
	return 0;
}

int sha256_digest(struct sha256 *s, const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE])
{
	if (use_ni) {
		sha256_ni_digest(data, len, out);
		return 0;
	}
	return openssl_digest(s, data, len, out);
}

int sha256_digest_block(struct sha256 *s, const void *block, uint8_t out[SHA256_DIGEST_SIZE])
{
	if (use_ni) {
		sha256_ni_block(block, out);
		return 0;
	}
	return openssl_digest(s, block, 4096, out);
}

int sha256_digest_block2(struct sha256 *s, const void *b0, const void *b1,
			 uint8_t out0[SHA256_DIGEST_SIZE], uint8_t out1[SHA256_DIGEST_SIZE])
{
	int r;

	if (use_ni) {
		sha256_ni_block2(b0, b1, out0, out1);
		return 0;
	}
	r = openssl_digest(s, b0, 4096, out0);
	if (r < 0)
		return r;
	return openssl_digest(s, b1, 4096, out1);
}
