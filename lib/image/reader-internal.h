/* SPDX-License-Identifier: MIT */
/*
 * The hardened composefs image reader, split by concern:
 *   reader-super.c  geometry: composefs header, EROFS superblock, image size;
 *   reader-inode.c  one inode decoded and every range it owns checked;
 *   reader-xattr.c  an inode's xattr body, and the overlay xattrs turned back
 *                   into payload, digest and whiteouts;
 *   reader-dir.c    directory blocks: dirent tables, names, order, '.'/'..';
 *   reader-links.c  ST_IMAGE_READ_HARDLINKS_BFS: hardlink targets moved;
 *   reader-root.c   st_image_read_root_fd(): the root's inode and xattrs
 *                   alone, only their blocks read from the file;
 *   reader.c        the walk from the root into a tree, and the public API.
 *
 * The image is untrusted. The rules every file follows:
 *  - raw fields are decoded once, into struct rd_image / struct rd_inode,
 *    and only through le*_get();
 *  - offsets are plain uint64_t into the image; a pointer is formed only
 *    after rd_range_ok() said the whole range lies inside the image, with
 *    overflow-checked arithmetic, so no out-of-range pointer ever exists;
 *  - every failure caused by the bytes is RD_CORRUPT() (-EUCLEAN) or
 *    RD_UNSUPPORTED() (-EOPNOTSUPP), with a detail naming what and where
 *    (nid, byte offset, field) and the source line that rejected it.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "sealtree/image.h"
#include "tree/tree-internal.h"

#ifdef __FILE_NAME__
#define RD_SOURCE_ __FILE_NAME__
#else
#define RD_SOURCE_ "reader"
#endif

/* The one way the reader reports corruption: -EUCLEAN plus where it was caught. */
#define RD_CORRUPT(fmt, ...) \
	st_errf(-EUCLEAN, "corrupt image: " fmt " (%s:%d)", ##__VA_ARGS__, RD_SOURCE_, __LINE__)
#define RD_UNSUPPORTED(fmt, ...) \
	st_errf(-EOPNOTSUPP, "unsupported image: " fmt " (%s:%d)", ##__VA_ARGS__, RD_SOURCE_, __LINE__)

/*
 * Nesting cap: a path of more than PATH_MAX/2 components cannot be named in
 * PATH_MAX bytes anyway, and it bounds the reader's recursion.
 */
#define RD_DEPTH_MAX 2048U

/* ST_IMAGE_READ_FILTER_PATHS: at most this many patterns, of at most this many components. */
#define RD_PATTERNS_MAX 64U
#define RD_PATTERN_COMPONENTS_MAX 32U

/* The image geometry, validated by rd_image_init(). */
struct rd_image {
	const uint8_t *data;
	uint64_t len;                   /* == n_blocks * EROFS_BLKSIZ */
	uint64_t n_blocks;
	uint64_t meta_off;              /* byte offset of nid 0 */
	uint64_t xattr_off;             /* byte offset shared xattr ids count from */
	uint64_t nid_end;               /* every valid nid is below this */
	uint64_t root_nid;
	int64_t build_time;             /* mtime of compact inodes */
	uint32_t build_time_nsec;
	uint32_t version;               /* composefs format version (0 or 1) */
	uint32_t flags;                 /* composefs header flags */
};

/* One inode, decoded; every range below was checked against the image. */
struct rd_inode {
	uint64_t nid;
	uint64_t off;                   /* byte offset of the inode */
	uint32_t isize;                 /* 32 (compact) or 64 (extended) */
	unsigned layout;                /* EROFS_INODE_FLAT_PLAIN/FLAT_INLINE/CHUNK_BASED */
	uint32_t mode, nlink, uid, gid;
	uint32_t rdev;                  /* CHR/BLK only, else 0 */
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint32_t raw_blkaddr;
	uint16_t chunk_format;          /* i_u.c.format, CHUNK_BASED only */
	uint64_t xattr_body_off;        /* off + isize */
	uint32_t xattr_body_size;       /* 0 when the inode has no xattrs */
	uint64_t inline_off;            /* after the xattr body: tail or chunk index */
	uint64_t n_disk_blocks;         /* full data blocks at raw_blkaddr */
	uint32_t tail_len;              /* FLAT_INLINE bytes at inline_off */
};

/* True when [off, off + n) lies inside the image. */
static inline bool rd_range_ok(const struct rd_image *img, uint64_t off, uint64_t n)
{
	return off <= img->len && n <= img->len - off;
}

/* Pointer to a range that rd_range_ok() accepted. */
static inline const uint8_t *rd_ptr(const struct rd_image *img, uint64_t off)
{
	return img->data + off;
}

/* reader-super.c: check the header, superblock and size; fill *img. */
int rd_image_init(struct rd_image *img, const void *data, size_t len);

/* reader.c: a node's metadata (mode, nlink, owner, rdev, mtime, size) from its inode. */
void rd_node_set_inode(struct st_node *node, const struct rd_inode *ino);

/* reader-inode.c: decode inode nid and check every range it refers to. */
int rd_inode_read(const struct rd_image *img, uint64_t nid, struct rd_inode *ret);

/*
 * reader-inode.c: the bytes of logical data block `index` of a FLAT inode
 * (a data block, or the inline tail for the last one), at most EROFS_BLKSIZ
 * bytes. index must be below ceil(size / EROFS_BLKSIZ).
 */
void rd_inode_block(const struct rd_image *img, const struct rd_inode *ino, uint64_t index,
		    const uint8_t **ret_data, uint32_t *ret_len);

/* Number of logical data blocks of a FLAT inode. */
static inline uint64_t rd_inode_n_blocks(const struct rd_inode *ino)
{
	return ino->size / EROFS_BLKSIZ + (ino->size % EROFS_BLKSIZ != 0);
}

/* EROFS_FT_* for a mode, or EROFS_FT_UNKNOWN for an invalid type. */

/*
 * reader-xattr.c: apply the inode's xattrs to node, inline entries first and
 * then shared ones (the on-disk order that `composefs-info dump` prints),
 * mapping the overlay xattrs as the reference reader does. *budget is the
 * number of bytes the tree may still grow by; it is decreased.
 */
int rd_xattrs_load(const struct rd_image *img, const struct rd_inode *ino, struct st_node *node, uint64_t *budget);

/* reader-dir.c: one validated directory entry other than '.' and '..'. */
struct rd_dirent {
	const char *name;               /* not NUL-terminated */
	size_t name_len;                /* 1..ST_NAME_MAX, no '/' or NUL */
	uint64_t nid;
	uint8_t file_type;              /* EROFS_FT_*, below EROFS_FT_MAX */
};
typedef int (*rd_dirent_fn)(void *userdata, const struct rd_dirent *de);

/*
 * Walk the directory's blocks in order, checking each dirent table, name
 * bounds, global strcmp() order without duplicates, and that '.' is the
 * directory itself and '..' is parent_nid. Calls fn for every other entry;
 * a negative return from fn stops the walk and is returned.
 */
int rd_dir_iterate(const struct rd_image *img, const struct rd_inode *dir, uint64_t parent_nid,
		   rd_dirent_fn fn, void *userdata);

/*
 * An entry the reader left out of the tree (a chardev 0/0 whiteout, such as
 * the writer's 00..ff root stubs): it sat in `dir` before the child at
 * `index`, and its inode is `nid`. rd_hardlinks_bfs() uses these as anchors.
 */
struct rd_skipped {
	struct st_node *dir;
	size_t index;
	uint64_t nid;
};

/* reader-links.c: make each hardlink's breadth-first occurrence the real node. */
int rd_hardlinks_bfs(struct st_node *root, struct rd_skipped *skipped, size_t n_skipped);
