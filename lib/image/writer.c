/* SPDX-License-Identifier: MIT */
/*
 * st_image_write(): number the inodes, rewrite xattrs virtually, lay the
 * image out, then write it in one pass (docs/formats/composefs-image.md).
 */
#include <string.h>

#include <inttypes.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "shape-internal.h"
#include "writer-internal.h"

static void wctx_release(struct wctx *w)
{
	free(w->inodes);
	xent_free_all(w);
	free(w->buf);
	st_verity_hasher_free(w->hasher);
}

/* What the reader will charge for one inode of the tree (an upper bound). */
static uint64_t read_cost(const struct wctx *w, const struct winode *wi)
{
	const struct st_node *n = wi->node;
	uint64_t cost = shape_cost_node(n->name ? strlen(n->name) : 0);

	(void)w;
	if (node_is_reg(n) && n->content)
		cost += n->size;
	if ((node_is_lnk(n) || w_is_chunked(wi)) && n->payload)
		cost += strlen(n->payload) + 1;        /* target, or the redirect "/" + payload */
	for (size_t i = 0; i < n->n_xattrs; i++)
		cost += shape_cost_xattr(strlen(n->xattrs[i].name), n->xattrs[i].value_len);
	/* The opaque markers of a directory with whiteouts read back as xattrs. */
	if (wi->has_whiteout_child)
		cost += 2 * shape_cost_xattr(strlen("trusted.overlay.opaque"), 1);
	for (size_t k = 0; k < n->n_children; k++)
		if (n->children[k]->link_target)
			cost += shape_cost_node(strlen(n->children[k]->name));
	return cost;
}

/*
 * Refuse, before writing anything, a tree whose image the reader would
 * refuse as too expensive to read (shape-internal.h, the read budget): in
 * practice many files sharing a large xattr, which the image stores once.
 */
static int check_read_budget(const struct wctx *w)
{
	uint64_t image_len = w->data_start + w->n_data_blocks * EROFS_BLKSIZ, budget = shape_read_budget(image_len);
	uint64_t cost = 256 * (uint64_t)SHAPE_COST_SKIPPED, worst = 0;
	const struct xent *top = NULL;
	char name[ST_XATTR_NAME_MAX + 32];

	for (size_t i = 0; i < w->n_inodes; i++)
		if (w->inodes[i].node)
			cost += read_cost(w, &w->inodes[i]);
	if (cost <= budget)
		return 0;
	for (size_t i = 0; i < w->n_xents; i++) {
		uint64_t c = (uint64_t)w->xents[i].count * xent_value_len(&w->xents[i]);
		if (c > worst) {
			worst = c;
			top = &w->xents[i];
		}
	}
	if (!top)
		return st_errf(-EFBIG, "the tree would take %" PRIu64 " bytes when read back, more than the %" PRIu64
			       " allowed for an image of %" PRIu64 " bytes",
			       cost, budget, image_len);
	(void)xent_full_name(top, name);
	return st_errf(-EFBIG, "the tree would take %" PRIu64 " bytes when read back, more than the %" PRIu64
		       " allowed for an image of %" PRIu64 " bytes: the xattr '%s' (%" PRIu32
		       " bytes) is stored once but copied into each of the %" PRIu32 " files that carry it",
		       cost, budget, image_len, name, xent_value_len(top), top->count);
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
	if (r >= 0)
		r = check_read_budget(&w);
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
