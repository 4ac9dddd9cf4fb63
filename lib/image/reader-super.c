/* SPDX-License-Identifier: MIT */
/*
 * Image geometry, checked before the first lookup: the composefs header, the
 * EROFS superblock and the file size must agree, so that every later range
 * check can rely on img->len == blocks * 4096 and on the region bases.
 */
#include <inttypes.h>
#include <string.h>

#include "reader-internal.h"

/* The first byte an inode may occupy: right after the superblock. */
#define RD_INODES_START ((uint64_t)EROFS_SUPER_OFFSET + sizeof(struct erofs_super_block))

static int check_header(const struct cfs_header *h, struct rd_image *img)
{
	uint32_t v;

	if (le32_get(h->magic) != CFS_MAGIC)
		return RD_CORRUPT("bad composefs magic 0x%08x at offset 0 (expected 0x%08x)",
				  le32_get(h->magic), CFS_MAGIC);
	v = le32_get(h->version);
	if (v != CFS_HEADER_VERSION)
		return RD_UNSUPPORTED("composefs header version %u (only %u is known)", v, CFS_HEADER_VERSION);
	v = le32_get(h->composefs_version);
	if (v > CFS_FORMAT_VERSION_MAX)
		return RD_UNSUPPORTED("composefs format version %u (at most %u is known)", v,
				      CFS_FORMAT_VERSION_MAX);
	img->version = v;
	img->flags = le32_get(h->flags);
	return 0;
}

static int check_super(const struct erofs_super_block *sb, struct rd_image *img)
{
	uint32_t incompat = le32_get(sb->feature_incompat);
	uint64_t meta_blkaddr = le32_get(sb->meta_blkaddr);
	uint64_t xattr_blkaddr = le32_get(sb->xattr_blkaddr);
	uint64_t blocks = le32_get(sb->blocks);

	if (le32_get(sb->magic) != EROFS_SUPER_MAGIC)
		return RD_CORRUPT("bad EROFS magic 0x%08x at offset %u (expected 0x%08x)",
				  le32_get(sb->magic), EROFS_SUPER_OFFSET, EROFS_SUPER_MAGIC);
	if (sb->blkszbits != EROFS_BLKSIZ_BITS)
		return RD_UNSUPPORTED("EROFS block size 2^%u (only 2^%u is supported)", sb->blkszbits,
				      EROFS_BLKSIZ_BITS);
	if (incompat & ~EROFS_FEATURE_INCOMPAT_SUPPORTED)
		return RD_UNSUPPORTED("EROFS incompatible features 0x%08x",
				      incompat & ~EROFS_FEATURE_INCOMPAT_SUPPORTED);
	if (sb->dirblkbits != 0)
		return RD_UNSUPPORTED("EROFS directory block bits %u (only 0 is supported)", sb->dirblkbits);
	if (blocks * EROFS_BLKSIZ != img->len)
		return RD_CORRUPT("superblock says %" PRIu64 " blocks (%" PRIu64 " bytes) but the image has %" PRIu64
				  " bytes",
				  blocks, blocks * EROFS_BLKSIZ, img->len);
	img->n_blocks = blocks;

	/* Both products fit: blkaddr < 2^32, so the result < 2^44. */
	img->meta_off = meta_blkaddr * EROFS_BLKSIZ;
	img->xattr_off = xattr_blkaddr * EROFS_BLKSIZ;
	if (img->meta_off >= img->len)
		return RD_CORRUPT("meta_blkaddr %" PRIu64 " is past the last block %" PRIu64, meta_blkaddr,
				  blocks - 1);
	if (img->xattr_off >= img->len)
		return RD_CORRUPT("xattr_blkaddr %" PRIu64 " is past the last block %" PRIu64, xattr_blkaddr,
				  blocks - 1);
	img->nid_end = (img->len - img->meta_off) / EROFS_ISLOT;

	img->root_nid = le16_get(sb->root_nid);
	if (img->root_nid >= img->nid_end ||
	    img->meta_off + img->root_nid * EROFS_ISLOT < RD_INODES_START)
		return RD_CORRUPT("root nid %" PRIu64 " is outside the inode area", img->root_nid);

	/* Every inode takes at least one 32-byte slot after the superblock. */
	if (le64_get(sb->inos) > (img->len - RD_INODES_START) / EROFS_ISLOT)
		return RD_CORRUPT("superblock claims %" PRIu64 " inodes, more than %" PRIu64 " bytes can hold",
				  le64_get(sb->inos), img->len);

	img->build_time = (int64_t)le64_get(sb->build_time);
	img->build_time_nsec = le32_get(sb->build_time_nsec);
	return 0;
}

int rd_image_init(struct rd_image *img, const void *data, size_t len)
{
	int r;

	*img = (struct rd_image){ .data = data, .len = len };
	if (len < EROFS_BLKSIZ)
		return RD_CORRUPT("image is %zu bytes, smaller than one %u-byte block", len, EROFS_BLKSIZ);
	if (len % EROFS_BLKSIZ != 0)
		return RD_CORRUPT("image size %zu is not a multiple of %u", len, EROFS_BLKSIZ);

	/* len >= 4096 covers both structures. */
	r = check_header((const struct cfs_header *)img->data, img);
	if (r < 0)
		return r;
	return check_super((const struct erofs_super_block *)(img->data + EROFS_SUPER_OFFSET), img);
}
