/* SPDX-License-Identifier: MIT */
/*
 * The image delta of a pack from F (pack.h, docs/formats/remote.md "The
 * image delta"): C's image travels as its dumpfile text compressed against
 * F's dumpfile text, which the client prints from the F image it has. A
 * changed file changes one line of the dump, where it moves inode offsets
 * all over the image, so the delta is a fraction of the image's own delta.
 * The client rebuilds the image with the writer and accepts it only if its
 * fs-verity digest is the one the signed commit names.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "basic/error.h"
#include "fundamental/macro.h"
#include "pack.h"
#include "sealtree/dump.h"
#include "sealtree/image.h"
#include "sealtree/tree.h"

static const char key_domain[] = "sealtree image dump delta 1";

void pack_entry_key(const char *domain, size_t domain_len, const uint8_t a[32], const uint8_t *b, uint8_t ret[32])
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned len = 32;

	/* A SHA-256, never an fs-verity digest: no object's name. Allocation failure leaves an unused key. */
	memset(ret, 0, 32);
	if (!ctx)
		return;
	if (EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1 || EVP_DigestUpdate(ctx, domain, domain_len) != 1 ||
	    EVP_DigestUpdate(ctx, a, 32) != 1 || (b && EVP_DigestUpdate(ctx, b, 32) != 1) ||
	    EVP_DigestFinal_ex(ctx, ret, &len) != 1)
		memset(ret, 0, 32);
	EVP_MD_CTX_free(ctx);
}

void pack_image_delta_key(const uint8_t image_digest[32], uint8_t ret[32])
{
	pack_entry_key(key_domain, sizeof(key_domain), image_digest, NULL, ret);
}

int pack_image_dump(const void *image, size_t len, char **ret, size_t *ret_len)
{
	struct st_image_read_options ro = { .flags = ST_IMAGE_READ_HARDLINKS_BFS };
	struct st_node *root = NULL;
	char *text = NULL;
	size_t text_len = 0;
	FILE *f;
	int r;

	r = st_image_read_tree(image, len, &ro, &root, NULL);
	if (r < 0)
		return r;
	f = open_memstream(&text, &text_len);
	if (!f) {
		st_node_free(root);
		return -ENOMEM;
	}
	r = st_dump_print(f, root);
	st_node_free(root);
	if (fclose(f) != 0 && r >= 0)
		r = -ENOMEM;
	if (r < 0) {
		free(text);
		return r;
	}
	*ret = text;
	*ret_len = text_len;
	return 0;
}

struct membuf {
	uint8_t *buf;
	size_t len, cap, max;
};

static int membuf_write(void *userdata, const void *buf, size_t len)
{
	struct membuf *m = userdata;

	if (len > m->max - m->len)
		return -EFBIG;
	if (len > m->cap - m->len) {
		size_t cap = MAX(m->cap * 2, m->len + len);
		uint8_t *n;

		cap = MIN(cap, m->max);
		n = realloc(m->buf, cap);
		if (!n)
			return -ENOMEM;
		m->buf = n;
		m->cap = cap;
	}
	memcpy(m->buf + m->len, buf, len);
	m->len += len;
	return 0;
}

int pack_image_from_dump(const char *dump, size_t len, uint32_t version, size_t max, void **ret, size_t *ret_len,
			 uint8_t ret_digest[32])
{
	struct st_image_write_options wo = { .min_version = version, .max_version = version };
	struct membuf m = { .max = max };
	struct st_node *root = NULL;
	uint8_t digest[32];
	int r;

	if (version > ST_IMAGE_VERSION_MAX)
		return -EOPNOTSUPP;
	r = st_dump_parse_buffer(dump, len, ST_DUMP_PARSE_STRICT, &root);
	if (r < 0)
		return r;
	r = st_image_write(root, &wo, membuf_write, &m, digest, NULL);
	st_node_free(root);
	if (r < 0) {
		free(m.buf);
		return r;
	}
	*ret = m.buf;
	*ret_len = m.len;
	memcpy(ret_digest, digest, 32);
	return 0;
}

int pack_image_delta_make(const struct pack_image *img, uint32_t version, int level, void **ret, size_t *ret_len,
			  size_t *ret_dump_len)
{
	_cleanup_free_ char *old = NULL, *new = NULL;
	_cleanup_free_ void *rebuilt = NULL, *out = NULL;
	size_t old_len, new_len, rebuilt_len, bound, n;
	uint8_t digest[32];
	ZSTD_CCtx *cctx;
	int r;

	if (!img->prefix)
		return -EINVAL;
	r = pack_image_dump(img->prefix, img->prefix_len, &old, &old_len);
	if (r < 0)
		return r;
	r = pack_image_dump(img->data, img->len, &new, &new_len);
	if (r < 0)
		return r;
	/* Offered only if the dump gives back the very image: a client would rebuild it for nothing otherwise. */
	r = pack_image_from_dump(new, new_len, version, img->len, &rebuilt, &rebuilt_len, digest);
	if (r < 0)
		return r;
	if (rebuilt_len != img->len || memcmp(digest, img->digest, 32) != 0)
		return -EUCLEAN;
	bound = ZSTD_compressBound(new_len);
	out = malloc(bound);
	cctx = ZSTD_createCCtx();
	if (!out || !cctx) {
		ZSTD_freeCCtx(cctx);
		return -ENOMEM;
	}
	if (ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_compressionLevel, level)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_windowLog, pack_image_window_log(old_len, new_len))) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_enableLongDistanceMatching, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_setParameter(cctx, ZSTD_c_checksumFlag, 1)) ||
	    ZSTD_isError(ZSTD_CCtx_refPrefix(cctx, old, old_len))) {
		ZSTD_freeCCtx(cctx);
		return -EIO;
	}
	n = ZSTD_compress2(cctx, out, bound, new, new_len);
	ZSTD_freeCCtx(cctx);
	if (ZSTD_isError(n) || n > pack_csize_max(new_len))
		return -EIO;
	*ret = TAKE_PTR(out);
	*ret_len = n;
	*ret_dump_len = new_len;
	return 0;
}
