/* SPDX-License-Identifier: MIT */
/*
 * Inode placement: data layout per type, compact vs extended inodes, and the
 * reference's tail-packing padding rules (spec section 1.5 to 1.7).
 */
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "writer-internal.h"

/* Greedy split of the directory listing into 4096-byte blocks. */
static void dir_size(const struct wctx *w, uint32_t idx, uint32_t *ret_blocks, uint32_t *ret_tail)
{
	struct dent_iter it;
	struct dent d;
	const struct st_node *real;
	unsigned stub;
	uint32_t blocks = 0, used = 0;

	dent_iter_init(&it, w, idx, true);
	while (dent_iter_next(&it, &d, &real, &stub)) {
		uint32_t len = (uint32_t)sizeof(struct erofs_dirent) + d.len;
		if (used + len > EROFS_BLKSIZ) {
			blocks++;
			used = 0;
		}
		used += len;
	}
	/* Never inline more than half a block. */
	if (used > EROFS_BLKSIZ / 2) {
		blocks++;
		used = 0;
	}
	*ret_blocks = blocks;
	*ret_tail = used;
}

static bool fits_compact(const struct wctx *w, const struct winode *wi)
{
	const struct st_node *m = w_meta(w, wi);
	uint64_t size;

	if (m->mtime_sec != w->min_sec || m->mtime_nsec != w->min_nsec)
		return false;
	if (wi->nlink > UINT16_MAX || m->uid > UINT16_MAX || m->gid > UINT16_MAX)
		return false;
	if (S_ISDIR(w_mode(w, wi)))
		size = (uint64_t)wi->n_blocks * EROFS_BLKSIZ + wi->tail;
	else
		size = w_stat_size(w, wi);
	return size <= UINT32_MAX;
}

/* Extra padding before the inode so that its inline tail does not cross a block. */
static uint64_t tail_padding(struct winode *wi, uint32_t mode, uint64_t pos, uint64_t isize, uint64_t xsize)
{
	uint64_t nontail = isize + xsize, total = nontail + wi->tail, rem, pad;

	if (S_ISLNK(mode)) {
		/* Inode and target must share a block (old kernels); a target that
		 * cannot goes to a data block, but the move uses the full size. */
		if (total / EROFS_BLKSIZ > 0) {
			wi->n_blocks++;
			wi->tail = 0;
		}
		if (pos / EROFS_BLKSIZ != (pos + total - 1) / EROFS_BLKSIZ)
			return ALIGN_UP(pos, EROFS_BLKSIZ) - pos;
		return 0;
	}
	rem = EROFS_BLKSIZ - (pos + nontail) % EROFS_BLKSIZ;
	if (rem >= wi->tail)
		return 0;
	pad = ALIGN_UP(rem, EROFS_ISLOT);
	rem = EROFS_BLKSIZ - (pos + nontail + pad) % EROFS_BLKSIZ;
	if (wi->tail <= rem)
		return pad;
	wi->n_blocks++;
	wi->tail = 0;
	return ALIGN_UP(pos, EROFS_BLKSIZ) - pos;
}

int w_layout(struct wctx *w)
{
	uint64_t pos = EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block);

	for (size_t i = 0; i < w->n_inodes; i++) {
		struct winode *wi = &w->inodes[i];
		const struct st_node *n = wi->node;
		uint32_t mode = w_mode(w, wi);
		uint64_t isize, size = w_stat_size(w, wi);

		wi->n_blocks = 0;
		wi->tail = 0;
		wi->ftype = erofs_ftype_from_mode(mode);
		if (S_ISDIR(mode)) {
			uint32_t b, t;
			dir_size(w, (uint32_t)i, &b, &t);
			wi->n_blocks = b;
			wi->tail = (uint16_t)t;
		} else if (S_ISLNK(mode)) {
			wi->tail = (uint16_t)size;
		} else if (S_ISREG(mode) && size > 0) {
			if (n->content) {
				wi->n_blocks = (uint32_t)(size / EROFS_BLKSIZ);
				wi->tail = (uint16_t)(size % EROFS_BLKSIZ);
				if (wi->tail > EROFS_BLKSIZ / 2) {
					wi->n_blocks++;
					wi->tail = 0;
				}
			} else {
				wi->tail = (uint16_t)(w_chunk_count(size) * 4);
			}
		}
		wi->compact = fits_compact(w, wi);
		isize = wi->compact ? sizeof(struct erofs_inode_compact) : sizeof(struct erofs_inode_extended);

		pos = ALIGN_UP(pos, EROFS_ISLOT);
		pos += tail_padding(wi, mode, pos, isize, wi->xattr_size);
		wi->pos = pos;
		if (pos / EROFS_ISLOT > UINT32_MAX)
			return st_errf(-EFBIG, "image metadata too large");
		w->n_data_blocks += wi->n_blocks;
		pos += isize + wi->xattr_size + wi->tail;
	}
	w->inodes_end = ALIGN_UP(pos, EROFS_ISLOT);
	if (w->inodes[0].pos / EROFS_ISLOT >= UINT16_MAX)
		return st_errf(-EFBIG, "root inode number does not fit in 16 bits");
	w->data_start = ALIGN_UP(w->inodes_end + w->shared_size, EROFS_BLKSIZ);
	if (w->data_start / EROFS_BLKSIZ + w->n_data_blocks > UINT32_MAX ||
	    (w->inodes_end % EROFS_BLKSIZ + w->shared_size) / 4 > UINT32_MAX)
		return st_errf(-EFBIG, "image too large");
	return 0;
}
