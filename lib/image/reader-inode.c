/* SPDX-License-Identifier: MIT */
/*
 * One inode: decode the compact or extended form into struct rd_inode, and
 * check every range it owns (xattr body, inline tail, chunk index, data
 * blocks) before anyone looks at them, so later code only indexes ranges
 * that are known to be inside the image.
 */
#include <inttypes.h>
#include <sys/stat.h>

#include "reader-internal.h"

#define RD_INODES_START ((uint64_t)EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block))

static void decode_compact(const struct rd_image *img, const struct erofs_inode_compact *c, struct rd_inode *ino)
{
	ino->isize = sizeof(*c);
	ino->mode = le16_get(c->i_mode);
	ino->nlink = le16_get(c->i_nlink);
	ino->size = le32_get(c->i_size);
	ino->uid = le16_get(c->i_uid);
	ino->gid = le16_get(c->i_gid);
	ino->mtime_sec = img->build_time;
	ino->mtime_nsec = img->build_time_nsec;
	ino->raw_blkaddr = le32_get(c->i_u.raw_blkaddr);
	ino->chunk_format = le16_get(c->i_u.c.format);
}

static void decode_extended(const struct erofs_inode_extended *e, struct rd_inode *ino)
{
	ino->isize = sizeof(*e);
	ino->mode = le16_get(e->i_mode);
	ino->nlink = le32_get(e->i_nlink);
	ino->size = le64_get(e->i_size);
	ino->uid = le32_get(e->i_uid);
	ino->gid = le32_get(e->i_gid);
	ino->mtime_sec = (int64_t)le64_get(e->i_mtime);
	ino->mtime_nsec = le32_get(e->i_mtime_nsec);
	ino->raw_blkaddr = le32_get(e->i_u.raw_blkaddr);
	ino->chunk_format = le16_get(e->i_u.c.format);
}

/* Which layouts each file type may use, and the size rules that go with them. */
static int check_type_and_layout(const struct rd_inode *ino)
{
	uint32_t type = ino->mode & S_IFMT;
	bool flat = ino->layout == EROFS_INODE_FLAT_PLAIN || ino->layout == EROFS_INODE_FLAT_INLINE;

	if (erofs_ftype_from_mode(ino->mode) == EROFS_FT_UNKNOWN)
		return RD_CORRUPT("nid %" PRIu64 ": invalid file type in mode 0%o", ino->nid, ino->mode);
	switch (type) {
	case S_IFDIR:
		if (!flat)
			return RD_CORRUPT("nid %" PRIu64 ": directory with data layout %u", ino->nid, ino->layout);
		break;
	case S_IFLNK:
		if (!flat)
			return RD_CORRUPT("nid %" PRIu64 ": symlink with data layout %u", ino->nid, ino->layout);
		if (ino->size == 0 || ino->size > ST_SYMLINK_MAX)
			return RD_CORRUPT("nid %" PRIu64 ": symlink target of %" PRIu64 " bytes (1..%u allowed)",
					  ino->nid, ino->size, ST_SYMLINK_MAX);
		break;
	case S_IFREG:
		if (flat && ino->size > ST_INLINE_CONTENT_MAX)
			return RD_CORRUPT("nid %" PRIu64 ": %" PRIu64 " bytes of content stored in the image (at most %u)",
					  ino->nid, ino->size, ST_INLINE_CONTENT_MAX);
		break;
	default:
		if (ino->size != 0)
			return RD_CORRUPT("nid %" PRIu64 ": special file (mode 0%o) with size %" PRIu64, ino->nid,
					  ino->mode, ino->size);
		break;
	}
	return 0;
}

static int check_flat_data(const struct rd_image *img, struct rd_inode *ino)
{
	if (ino->layout == EROFS_INODE_FLAT_PLAIN) {
		ino->n_disk_blocks = rd_inode_n_blocks(ino);
	} else {
		ino->n_disk_blocks = ino->size / EROFS_BLKSIZ;
		ino->tail_len = (uint32_t)(ino->size % EROFS_BLKSIZ);
		/* A whole block can never sit inline after an inode. */
		if (ino->size > 0 && ino->tail_len == 0)
			return RD_CORRUPT("nid %" PRIu64 ": inline layout with size %" PRIu64 " has no tail", ino->nid,
					  ino->size);
		if (!rd_range_ok(img, ino->inline_off, ino->tail_len))
			return RD_CORRUPT("nid %" PRIu64 ": inline tail of %u bytes at offset %" PRIu64
					  " runs past the image end",
					  ino->nid, ino->tail_len, ino->inline_off);
		/* The kernel maps the tail through one metadata block. */
		if (ino->inline_off % EROFS_BLKSIZ + ino->tail_len > EROFS_BLKSIZ)
			return RD_CORRUPT("nid %" PRIu64 ": inline tail of %u bytes at offset %" PRIu64
					  " crosses a block boundary",
					  ino->nid, ino->tail_len, ino->inline_off);
	}
	/* n_disk_blocks < 2^52 and raw_blkaddr < 2^32: the sum cannot overflow. */
	if (ino->n_disk_blocks > 0 && (uint64_t)ino->raw_blkaddr + ino->n_disk_blocks > img->n_blocks)
		return RD_CORRUPT("nid %" PRIu64 ": %" PRIu64 " data blocks at block %u run past the last block %" PRIu64,
				  ino->nid, ino->n_disk_blocks, ino->raw_blkaddr, img->n_blocks - 1);
	return 0;
}

static int check_chunk_index(const struct rd_image *img, const struct rd_inode *ino, uint16_t format)
{
	unsigned chunkbits = EROFS_BLKSIZ_BITS + (format & EROFS_CHUNK_FORMAT_BLKBITS_MASK);
	uint64_t unit = format & EROFS_CHUNK_FORMAT_INDEXES ? 8 : 4;
	uint64_t idx_off = ino->inline_off, count;

	if (format & ~(EROFS_CHUNK_FORMAT_BLKBITS_MASK | EROFS_CHUNK_FORMAT_INDEXES))
		return RD_CORRUPT("nid %" PRIu64 ": unknown chunk format bits 0x%04x", ino->nid, format);
	if (unit == 8)
		idx_off = ALIGN_UP(idx_off, (uint64_t)8);
	count = ino->size == 0 ? 0 : ((ino->size - 1) >> chunkbits) + 1;
	/* count < 2^52, so count * unit < 2^55. */
	if (!rd_range_ok(img, idx_off, count * unit))
		return RD_CORRUPT("nid %" PRIu64 ": chunk index of %" PRIu64 " entries at offset %" PRIu64
				  " runs past the image end",
				  ino->nid, count, idx_off);
	return 0;
}

int rd_inode_read(const struct rd_image *img, uint64_t nid, struct rd_inode *ret)
{
	struct rd_inode ino = { .nid = nid };
	const uint8_t *p;
	uint16_t format, icount;
	int r;

	if (nid >= img->nid_end)
		return RD_CORRUPT("nid %" PRIu64 " is past the end of the image (%" PRIu64 " slots)", nid, img->nid_end);
	/* nid < nid_end <= len / 32: no overflow. */
	ino.off = img->meta_off + nid * EROFS_ISLOT;
	if (ino.off < RD_INODES_START)
		return RD_CORRUPT("nid %" PRIu64 " points into the superblock", nid);
	if (!rd_range_ok(img, ino.off, sizeof(struct erofs_inode_compact)))
		return RD_CORRUPT("nid %" PRIu64 ": inode at offset %" PRIu64 " runs past the image end", nid, ino.off);
	p = rd_ptr(img, ino.off);

	format = le16_get(((const struct erofs_inode_compact *)p)->i_format);
	if (format & ~EROFS_I_ALL_BITS)
		return RD_CORRUPT("nid %" PRIu64 ": unknown i_format bits 0x%04x", nid, format);
	ino.layout = (format >> EROFS_I_DATALAYOUT_BIT) & EROFS_I_DATALAYOUT_MASK;
	if (ino.layout == EROFS_INODE_FLAT_COMPRESSION_LEGACY || ino.layout == EROFS_INODE_FLAT_COMPRESSION)
		return RD_UNSUPPORTED("nid %" PRIu64 ": compressed data layout %u", nid, ino.layout);
	if (ino.layout != EROFS_INODE_FLAT_PLAIN && ino.layout != EROFS_INODE_FLAT_INLINE &&
	    ino.layout != EROFS_INODE_CHUNK_BASED)
		return RD_CORRUPT("nid %" PRIu64 ": unknown data layout %u", nid, ino.layout);

	if ((format & EROFS_I_VERSION_MASK) == EROFS_INODE_LAYOUT_EXTENDED) {
		if (!rd_range_ok(img, ino.off, sizeof(struct erofs_inode_extended)))
			return RD_CORRUPT("nid %" PRIu64 ": extended inode at offset %" PRIu64 " runs past the image end",
					  nid, ino.off);
		decode_extended((const struct erofs_inode_extended *)p, &ino);
		icount = le16_get(((const struct erofs_inode_extended *)p)->i_xattr_icount);
	} else {
		decode_compact(img, (const struct erofs_inode_compact *)p, &ino);
		icount = le16_get(((const struct erofs_inode_compact *)p)->i_xattr_icount);
	}
	if (S_ISCHR(ino.mode) || S_ISBLK(ino.mode))
		ino.rdev = ino.raw_blkaddr;     /* i_u.rdev: the same word */

	r = check_type_and_layout(&ino);
	if (r < 0)
		return r;

	/* off + 64 <= len, and the body is below 2^18 bytes: no overflow. */
	ino.xattr_body_off = ino.off + ino.isize;
	ino.xattr_body_size = erofs_xattr_ibody_size(icount);
	if (!rd_range_ok(img, ino.xattr_body_off, ino.xattr_body_size))
		return RD_CORRUPT("nid %" PRIu64 ": xattr body of %u bytes (icount %u) at offset %" PRIu64
				  " runs past the image end",
				  nid, ino.xattr_body_size, icount, ino.xattr_body_off);
	ino.inline_off = ino.xattr_body_off + ino.xattr_body_size;

	if (ino.layout == EROFS_INODE_CHUNK_BASED) {
		if (!S_ISREG(ino.mode))
			return RD_CORRUPT("nid %" PRIu64 ": chunk-based layout on a non-regular file", nid);
		r = check_chunk_index(img, &ino, ino.chunk_format);
	} else {
		r = check_flat_data(img, &ino);
	}
	if (r < 0)
		return r;
	*ret = ino;
	return 0;
}

void rd_inode_block(const struct rd_image *img, const struct rd_inode *ino, uint64_t index,
		    const uint8_t **ret_data, uint32_t *ret_len)
{
	uint64_t n = rd_inode_n_blocks(ino);

	if (index < ino->n_disk_blocks) {
		*ret_data = rd_ptr(img, ((uint64_t)ino->raw_blkaddr + index) * EROFS_BLKSIZ);
		*ret_len = index + 1 == n ? (uint32_t)(ino->size - index * EROFS_BLKSIZ) : EROFS_BLKSIZ;
	} else {
		*ret_data = rd_ptr(img, ino->inline_off);
		*ret_len = ino->tail_len;
	}
}
