/* SPDX-License-Identifier: MIT */
/*
 * st_image_write(): number the inodes, rewrite xattrs virtually, lay the
 * image out, then write it in one pass (docs/formats/composefs-image.md).
 */
#include <string.h>

#include "basic/error.h"
#include "writer-internal.h"

static void wctx_release(struct wctx *w)
{
	free(w->inodes);
	xent_free_all(w);
	free(w->buf);
	st_verity_hasher_free(w->hasher);
}

int st_image_write(struct st_node *root, const struct st_image_write_options *opts, st_image_write_fn write,
		   void *userdata, uint8_t ret_digest[32], uint32_t *ret_version)
{
	struct wctx w = { .root = root, .write = write, .userdata = userdata };
	uint8_t digest[ST_VERITY_DIGEST_SIZE];
	int r;

	if (!root)
		return -EINVAL;
	r = w_collect(&w, opts);
	if (r >= 0)
		r = w_collect_xattrs(&w);
	if (r >= 0)
		r = w_share_xattrs(&w);
	if (r >= 0)
		r = w_layout(&w);
	if (r >= 0 && ret_digest)
		r = st_verity_hasher_new(&w.hasher);
	if (r >= 0) {
		w.buf = malloc(W_OUT_BUF_SIZE);
		if (!w.buf)
			r = -ENOMEM;
	}
	if (r >= 0)
		r = w_emit(&w);
	if (r >= 0 && ret_digest)
		r = st_verity_hasher_final(w.hasher, digest);
	if (r >= 0) {
		if (ret_digest)
			memcpy(ret_digest, digest, sizeof(digest));
		if (ret_version)
			*ret_version = w.version;
	}
	wctx_release(&w);
	return r < 0 ? r : 0;
}
