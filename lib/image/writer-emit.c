/* SPDX-License-Identifier: MIT */
/*
 * Serialization: header, superblock, inodes with their xattrs and inline
 * tails, the shared xattr table, then the data blocks, in one sequential
 * pass through a buffer that feeds both the caller's sink and the fs-verity
 * hasher.
 */
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "writer-internal.h"

/* ---- output ----------------------------------------------------------- */

static int out_flush(struct wctx *w)
{
	int r;

	if (w->buf_len == 0)
		return 0;
	if (w->hasher) {
		r = st_verity_hasher_update(w->hasher, w->buf, w->buf_len);
		if (r < 0)
			return r;
	}
	if (w->write) {
		r = w->write(w->userdata, w->buf, w->buf_len);
		if (r < 0)
			return r;
	}
	w->buf_len = 0;
	return 0;
}

static int out_write(struct wctx *w, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len > 0) {
		size_t k = MIN(len, W_OUT_BUF_SIZE - w->buf_len);
		memcpy(w->buf + w->buf_len, p, k);
		w->buf_len += k;
		w->written += k;
		p += k;
		len -= k;
		if (w->buf_len == W_OUT_BUF_SIZE) {
			int r = out_flush(w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int out_fill(struct wctx *w, uint8_t byte, uint64_t len)
{
	while (len > 0) {
		size_t k = (size_t)MIN(len, (uint64_t)(W_OUT_BUF_SIZE - w->buf_len));
		memset(w->buf + w->buf_len, byte, k);
		w->buf_len += k;
		w->written += k;
		len -= k;
		if (w->buf_len == W_OUT_BUF_SIZE) {
			int r = out_flush(w);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

static int out_align(struct wctx *w, uint64_t align)
{
	return out_fill(w, 0, ALIGN_UP(w->written, align) - w->written);
}

/* ---- directories ------------------------------------------------------ */

struct listing {
	struct dent *v;
	size_t n, cap;
};

static int list_dir(const struct wctx *w, uint32_t idx, struct listing *l)
{
	struct dent_iter it;
	struct dent d;
	const struct st_node *real;
	unsigned stub;

	l->n = 0;
	dent_iter_init(&it, w, idx, true);
	while (dent_iter_next(&it, &d, &real, &stub)) {
		int r = GROW(l->v, l->cap, l->n + 1);
		if (r < 0)
			return r;
		l->v[l->n++] = d;
	}
	return 0;
}

static int write_dir_chunk(struct wctx *w, const struct listing *l, size_t first, size_t end, uint64_t align)
{
	uint32_t nameoff = (uint32_t)((end - first) * sizeof(struct erofs_dirent));
	int r;

	for (size_t i = first; i < end; i++) {
		const struct winode *t = &w->inodes[l->v[i].target];
		struct erofs_dirent de = {
			.nid = le64_put(t->pos / EROFS_ISLOT),
			.nameoff = le16_put((uint16_t)nameoff),
			.file_type = t->ftype,
		};
		nameoff += l->v[i].len;
		r = out_write(w, &de, sizeof(de));
		if (r < 0)
			return r;
	}
	for (size_t i = first; i < end; i++) {
		r = out_write(w, l->v[i].name, l->v[i].len);
		if (r < 0)
			return r;
	}
	return out_align(w, align);
}

/* Full blocks go to the data area, the tail inline after the inode. */
static int write_dir(struct wctx *w, uint32_t idx, struct listing *l, bool blocks, bool tail)
{
	const struct winode *wi = &w->inodes[idx];
	size_t first = 0, written = 0;
	uint32_t used = 0;
	int r = list_dir(w, idx, l);

	if (r < 0)
		return r;
	for (size_t i = 0; i < l->n; i++) {
		uint32_t len = (uint32_t)sizeof(struct erofs_dirent) + l->v[i].len;
		if (used + len > EROFS_BLKSIZ) {
			if (blocks) {
				r = write_dir_chunk(w, l, first, i, EROFS_BLKSIZ);
				if (r < 0)
					return r;
			}
			written++;
			used = 0;
			first = i;
		}
		used += len;
	}
	if (written < wi->n_blocks) {
		if (blocks)
			return write_dir_chunk(w, l, first, l->n, EROFS_BLKSIZ);
		return 0;
	}
	if (tail && used > 0)
		return write_dir_chunk(w, l, first, l->n, 1);
	return 0;
}

/* ---- inodes ----------------------------------------------------------- */

static int write_xattr_entry(struct wctx *w, const struct xent *x)
{
	char full[32 + ST_XATTR_NAME_MAX + 1];
	size_t len = xent_full_name(x, full);
	struct erofs_xattr_entry e = {
		.e_name_len = (uint8_t)(len - x->skip),
		.e_name_index = x->index,
		.e_value_size = le16_put((uint16_t)xent_value_len(x)),
	};
	static const uint8_t metacopy_hdr[4] = { 0, CFS_METACOPY_SIZE, 0, FS_VERITY_HASH_ALG_SHA256 };
	int r;

	r = out_write(w, &e, sizeof(e));
	if (r >= 0)
		r = out_write(w, full + x->skip, len - x->skip);
	if (r >= 0 && x->value_kind == XV_METACOPY)
		r = out_write(w, metacopy_hdr, sizeof(metacopy_hdr));
	if (r >= 0 && x->value_kind == XV_SLASH)
		r = out_write(w, "/", 1);
	if (r >= 0)
		r = out_write(w, x->value, x->value_len);
	if (r >= 0)
		r = out_align(w, 4);
	return r;
}

static int write_xattrs(struct wctx *w, const struct winode *wi)
{
	const uint32_t *refs = w->xrefs + wi->xref_start;
	uint32_t filter = 0;
	unsigned n_shared = 0;
	int r;

	if (wi->xattr_size == 0)
		return 0;
	for (size_t k = 0; k < wi->n_xrefs; k++) {
		const struct xent *x = &w->xents[refs[k]];
		filter |= UINT32_C(1) << x->filter_bit;
		if (x->count > 1 && n_shared < W_MAX_SHARED_PER_INODE)
			n_shared++;
	}
	struct erofs_xattr_ibody_header h = {
		.h_name_filter = le32_put(EROFS_XATTR_FILTER_DEFAULT & ~filter),
		.h_shared_count = (uint8_t)n_shared,
	};
	r = out_write(w, &h, sizeof(h));
	if (r < 0)
		return r;
	n_shared = 0;
	for (size_t k = 0; k < wi->n_xrefs; k++) {
		const struct xent *x = &w->xents[refs[k]];
		if (x->count > 1 && n_shared < W_MAX_SHARED_PER_INODE) {
			st_le32 id = le32_put((uint32_t)((w->inodes_end % EROFS_BLKSIZ + x->shared_off) / 4));
			n_shared++;
			r = out_write(w, &id, sizeof(id));
			if (r < 0)
				return r;
		}
	}
	n_shared = 0;
	for (size_t k = 0; k < wi->n_xrefs; k++) {
		const struct xent *x = &w->xents[refs[k]];
		if (x->count > 1 && n_shared < W_MAX_SHARED_PER_INODE) {
			n_shared++;
			continue;
		}
		r = write_xattr_entry(w, x);
		if (r < 0)
			return r;
	}
	return 0;
}

static int write_inode(struct wctx *w, uint32_t idx, struct listing *l)
{
	const struct winode *wi = &w->inodes[idx];
	const struct st_node *n = wi->node, *m = w_meta(w, wi);
	uint32_t mode = w_mode(w, wi);
	uint64_t size = 0;
	uint16_t layout = wi->tail > 0 ? EROFS_INODE_FLAT_INLINE : EROFS_INODE_FLAT_PLAIN;
	union erofs_inode_i_u iu = {};
	int r;

	r = out_fill(w, 0, wi->pos - w->written);
	if (r < 0)
		return r;

	if (S_ISDIR(mode) || S_ISLNK(mode) || S_ISREG(mode)) {
		if (wi->n_blocks > 0) {
			iu.raw_blkaddr = le32_put((uint32_t)(w->current_end / EROFS_BLKSIZ));
			w->current_end += (uint64_t)wi->n_blocks * EROFS_BLKSIZ;
		}
	} else if (S_ISCHR(mode) || S_ISBLK(mode)) {
		iu.rdev = le32_put(n ? (uint32_t)n->rdev : 0);
	}
	if (S_ISDIR(mode)) {
		size = (uint64_t)wi->n_blocks * EROFS_BLKSIZ + wi->tail;
	} else if (S_ISLNK(mode)) {
		size = w_stat_size(w, wi);
	} else if (S_ISREG(mode)) {
		size = w_stat_size(w, wi);
		if (w_is_chunked(wi)) {
			layout = EROFS_INODE_CHUNK_BASED;
			/* The chunk format shares the union with raw_blkaddr: only
			 * its low 16 bits are replaced, as the reference does. */
			iu.c.format = le16_put((uint16_t)(w_chunk_bits(size) - EROFS_BLKSIZ_BITS));
		}
	}

	uint16_t format = (uint16_t)(layout << EROFS_I_DATALAYOUT_BIT | (wi->compact ? 0 : 1));
	uint16_t icount = wi->xattr_size ? (uint16_t)((wi->xattr_size - 12) / 4 + 1) : 0;

	if (wi->compact) {
		struct erofs_inode_compact c = {
			.i_format = le16_put(format),
			.i_xattr_icount = le16_put(icount),
			.i_mode = le16_put((uint16_t)mode),
			.i_nlink = le16_put((uint16_t)wi->nlink),
			.i_size = le32_put((uint32_t)size),
			.i_u = iu,
			.i_ino = le32_put(idx),
			.i_uid = le16_put((uint16_t)m->uid),
			.i_gid = le16_put((uint16_t)m->gid),
		};
		r = out_write(w, &c, sizeof(c));
	} else {
		struct erofs_inode_extended e = {
			.i_format = le16_put(format),
			.i_xattr_icount = le16_put(icount),
			.i_mode = le16_put((uint16_t)mode),
			.i_size = le64_put(size),
			.i_u = iu,
			.i_ino = le32_put(idx),
			.i_uid = le32_put(m->uid),
			.i_gid = le32_put(m->gid),
			.i_mtime = le64_put((uint64_t)m->mtime_sec),
			.i_mtime_nsec = le32_put(m->mtime_nsec),
			.i_nlink = le32_put(wi->nlink),
		};
		r = out_write(w, &e, sizeof(e));
	}
	if (r < 0)
		return r;
	r = write_xattrs(w, wi);
	if (r < 0)
		return r;

	if (S_ISDIR(mode))
		return write_dir(w, idx, l, false, true);
	if (wi->tail == 0)
		return 0;
	if (S_ISLNK(mode))
		return out_write(w, n->payload, wi->tail);
	if (S_ISREG(mode) && n->content)
		return out_write(w, n->content + size - wi->tail, wi->tail);
	if (S_ISREG(mode))
		return out_fill(w, 0xFF, wi->tail);
	return 0;
}

static int write_data(struct wctx *w, uint32_t idx, struct listing *l)
{
	const struct winode *wi = &w->inodes[idx];
	const struct st_node *n = wi->node;
	uint32_t mode = w_mode(w, wi);
	int r;

	if (wi->n_blocks == 0)
		return 0;
	if (S_ISDIR(mode))
		return write_dir(w, idx, l, true, false);
	if (S_ISLNK(mode)) {
		r = out_write(w, n->payload, strlen(n->payload));
		return r < 0 ? r : out_align(w, EROFS_BLKSIZ);
	}
	if (S_ISREG(mode) && n->content) {
		for (uint64_t b = 0; b < wi->n_blocks; b++) {
			uint64_t off = b * EROFS_BLKSIZ;
			r = out_write(w, n->content + off, (size_t)MIN(n->size - off, (uint64_t)EROFS_BLKSIZ));
			if (r < 0)
				return r;
		}
		return out_align(w, EROFS_BLKSIZ);
	}
	if (S_ISREG(mode))
		/* A chunk index that did not fit inline: a whole block of null chunks. */
		return out_fill(w, 0xFF, W_MAX_CHUNKS * 4);
	return 0;
}

static int write_header(struct wctx *w)
{
	struct cfs_header h = {
		.magic = le32_put(CFS_MAGIC),
		.version = le32_put(CFS_HEADER_VERSION),
		.flags = le32_put(w->has_acl ? CFS_FLAGS_HAS_ACL : 0),
		.composefs_version = le32_put(w->version),
	};
	struct erofs_super_block sb = {
		.magic = le32_put(EROFS_SUPER_MAGIC),
		.feature_compat = le32_put(EROFS_FEATURE_COMPAT_MTIME | EROFS_FEATURE_COMPAT_XATTR_FILTER),
		.blkszbits = EROFS_BLKSIZ_BITS,
		.root_nid = le16_put((uint16_t)(w->inodes[0].pos / EROFS_ISLOT)),
		.inos = le64_put(w->n_inodes),
		.build_time = le64_put((uint64_t)w->min_sec),
		.build_time_nsec = le32_put(w->min_nsec),
		.blocks = le32_put((uint32_t)(w->data_start / EROFS_BLKSIZ + w->n_data_blocks)),
		.meta_blkaddr = le32_put((EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block)) / EROFS_BLKSIZ),
		.xattr_blkaddr = le32_put((uint32_t)(w->inodes_end / EROFS_BLKSIZ)),
	};
	int r = out_write(w, &h, sizeof(h));

	if (r >= 0)
		r = out_fill(w, 0, EROFS_SUPER_OFFSET - sizeof(h));
	if (r >= 0)
		r = out_write(w, &sb, sizeof(sb));
	return r;
}

int w_emit(struct wctx *w)
{
	struct listing l = {};
	int r;

	w->current_end = w->data_start;
	r = write_header(w);
	for (size_t i = 0; r >= 0 && i < w->n_inodes; i++)
		r = write_inode(w, (uint32_t)i, &l);
	if (r >= 0)
		r = out_align(w, EROFS_ISLOT);
	for (size_t i = 0; r >= 0 && i < w->n_shared; i++)
		r = write_xattr_entry(w, &w->xents[w->shared[i]]);
	if (r >= 0)
		r = out_align(w, EROFS_BLKSIZ);
	for (size_t i = 0; r >= 0 && i < w->n_inodes; i++)
		r = write_data(w, (uint32_t)i, &l);
	if (r >= 0)
		r = out_flush(w);
	free(l.v);
	if (r >= 0 && (w->written != w->data_start + w->n_data_blocks * EROFS_BLKSIZ ||
		       w->current_end != w->written))
		r = st_errf(-EIO, "internal error: image layout mismatch (%ju != %ju)", (uintmax_t)w->written,
			    (uintmax_t)(w->data_start + w->n_data_blocks * EROFS_BLKSIZ));
	return r;
}
