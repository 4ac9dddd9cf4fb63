/* SPDX-License-Identifier: MIT */
/*
 * SHA-256 over OpenSSL, shaped for the fs-verity Merkle tree: millions of
 * independent 4096-byte messages, so the per-message overhead matters as much
 * as the compression function.
 *
 * Measured on the build machine (SHA-NI, OpenSSL 3.0, 400k x 4 KiB):
 *   EVP_Digest() with EVP_sha256()          ~1790 MB/s  (implicit fetch per call)
 *   SHA256() one-shot                      ~1750 MB/s  (same)
 *   EVP_Digest() with a pre-fetched EVP_MD  ~1940 MB/s
 *   EVP ctx copied from a template          ~1945 MB/s
 *   EVP ctx re-initialised in place         ~1950 MB/s
 *   low-level SHA256_Init/Update/Final      ~1975 MB/s  (deprecated in 3.0)
 *   `openssl speed -evp sha256 -bytes 4096` ~1930 MB/s
 * The in-place re-initialised EVP context is within noise of the deprecated
 * low-level API, so we use it and stay on the supported interface.
 *
 * On CPUs with the SHA extensions, sha256-ni.c is used instead: two
 * 4096-byte blocks hashed at once, interleaved, run at ~3160 MB/s on that
 * machine, one at a time ~2170 MB/s (docs/formats/fs-verity.md). The
 * environment variable SEALTREE_SHA256=openssl forces OpenSSL (read once,
 * at the first sha256_init()), so both paths can be tested on one machine.
 *
 * A struct sha256 is owned by one thread at a time.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define SHA256_DIGEST_SIZE 32

struct sha256 {
	void *ctx; /* EVP_MD_CTX, kept opaque so OpenSSL headers stay private */
};

int sha256_init(struct sha256 *s);
void sha256_release(struct sha256 *s);

/* out = SHA-256(data[0..len)). Returns 0 or -EIO if OpenSSL fails. */
int sha256_digest(struct sha256 *s, const void *data, size_t len, uint8_t out[SHA256_DIGEST_SIZE]);

/* out = SHA-256 of exactly 4096 bytes at block. */
int sha256_digest_block(struct sha256 *s, const void *block, uint8_t out[SHA256_DIGEST_SIZE]);

/*
 * The SHA-256 of two independent 4096-byte blocks; twice the work of
 * sha256_digest_block() in much less than twice the time on SHA-NI.
 */
int sha256_digest_block2(struct sha256 *s, const void *b0, const void *b1,
			 uint8_t out0[SHA256_DIGEST_SIZE], uint8_t out1[SHA256_DIGEST_SIZE]);

/* The implementation in use: "sha-ni" or "openssl". Valid after a sha256_init(). */
const char *sha256_backend(void);
