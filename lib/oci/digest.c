/* SPDX-License-Identifier: MIT */
/* OCI digests: the "sha256:<hex>" spelling and SHA-256 over buffers and streams. */
#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "oci-internal.h"

int oci_digest_parse(const char *s, uint8_t ret[OCI_DIGEST_SIZE])
{
	const char *colon;

	if (!s)
		return -EINVAL;
	colon = strchr(s, ':');
	if (!colon || colon == s)
		return -EINVAL;
	if ((size_t)(colon - s) != 6 || memcmp(s, "sha256", 6) != 0)
		return -EOPNOTSUPP;
	if (strlen(colon + 1) != 2 * OCI_DIGEST_SIZE)
		return -EINVAL;
	return hex_decode_lower(colon + 1, 2 * OCI_DIGEST_SIZE, ret, OCI_DIGEST_SIZE) < 0 ? -EINVAL : 0;
}

void oci_digest_format(const uint8_t d[OCI_DIGEST_SIZE], char ret[ST_OCI_DIGEST_STRING_SIZE])
{
	memcpy(ret, "sha256:", 7);
	st_hex_encode(d, OCI_DIGEST_SIZE, ret + 7);
	ret[7 + 2 * OCI_DIGEST_SIZE] = '\0';
}

int oci_hash_init(struct oci_hash *h)
{
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (!c)
		return -ENOMEM;
	if (EVP_DigestInit_ex(c, EVP_sha256(), NULL) != 1) {
		EVP_MD_CTX_free(c);
		return -ENOMEM;
	}
	h->ctx = c;
	return 0;
}

void oci_hash_update(struct oci_hash *h, const void *data, size_t len)
{
	(void)EVP_DigestUpdate(h->ctx, data, len);
}

void oci_hash_final(struct oci_hash *h, uint8_t ret[OCI_DIGEST_SIZE])
{
	unsigned n = OCI_DIGEST_SIZE;

	(void)EVP_DigestFinal_ex(h->ctx, ret, &n);
}

void oci_hash_done(struct oci_hash *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void oci_sha256(const void *data, size_t len, uint8_t ret[OCI_DIGEST_SIZE])
{
	unsigned n = OCI_DIGEST_SIZE;

	(void)EVP_Digest(data, len, ret, &n, EVP_sha256(), NULL);
}

bool oci_sha256_matches(const void *data, size_t len, const char *digest)
{
	uint8_t want[OCI_DIGEST_SIZE], got[OCI_DIGEST_SIZE];

	if (oci_digest_parse(digest, want) < 0)
		return false;
	oci_sha256(data, len, got);
	return memcmp(want, got, sizeof(got)) == 0;
}
