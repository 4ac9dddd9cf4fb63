/* SPDX-License-Identifier: MIT */
/*
 * The on-disk layout of a composefs image: the composefs header followed by
 * an EROFS filesystem (see docs/formats/composefs-image.md and
 * ../shared/spec/composefs-format.md).
 *
 * Only packed structs with little-endian wrapper types live here. The
 * wrappers are single-member structs, so raw and native values cannot be
 * mixed by accident: every read goes through le16/32/64_get() and every
 * write through le16/32/64_put(). Sizes are pinned with static_assert.
 */
#pragma once

#include <assert.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/stat.h>

typedef struct { uint8_t b[2]; } st_le16;
typedef struct { uint8_t b[4]; } st_le32;
typedef struct { uint8_t b[8]; } st_le64;

static inline uint16_t le16_get(st_le16 v)
{
	return (uint16_t)(v.b[0] | v.b[1] << 8);
}
static inline uint32_t le32_get(st_le32 v)
{
	return (uint32_t)v.b[0] | (uint32_t)v.b[1] << 8 | (uint32_t)v.b[2] << 16 | (uint32_t)v.b[3] << 24;
}
static inline uint64_t le64_get(st_le64 v)
{
	uint64_t r = 0;
	for (int i = 7; i >= 0; i--)
		r = r << 8 | v.b[i];
	return r;
}
static inline st_le16 le16_put(uint16_t x)
{
	return (st_le16){ { (uint8_t)x, (uint8_t)(x >> 8) } };
}
static inline st_le32 le32_put(uint32_t x)
{
	return (st_le32){ { (uint8_t)x, (uint8_t)(x >> 8), (uint8_t)(x >> 16), (uint8_t)(x >> 24) } };
}
static inline st_le64 le64_put(uint64_t x)
{
	st_le64 v;
	for (int i = 0; i < 8; i++)
		v.b[i] = (uint8_t)(x >> (8 * i));
	return v;
}

/* ---- composefs header, at offset 0 ---------------------------------- */

#define CFS_MAGIC 0xd078629aU
#define CFS_HEADER_VERSION 1U          /* version of this header structure */
#define CFS_FLAGS_HAS_ACL (1U << 0)
#define CFS_FORMAT_VERSION_MAX 1U      /* composefs_version: 0 or 1 */

struct cfs_header {
	st_le32 magic;
	st_le32 version;
	st_le32 flags;
	st_le32 composefs_version;
	st_le32 unused[4];
};
static_assert(sizeof(struct cfs_header) == 32, "composefs header");

/* ---- EROFS ------------------------------------------------------------ */

#define EROFS_BLKSIZ 4096U
#define EROFS_BLKSIZ_BITS 12U
#define EROFS_ISLOTBITS 5U
#define EROFS_ISLOT 32U
#define EROFS_SUPER_OFFSET 1024U
#define EROFS_SUPER_MAGIC 0xE0F5E1E2U
#define EROFS_NULL_ADDR 0xFFFFFFFFU

#define EROFS_FEATURE_COMPAT_SB_CHKSUM 0x00000001U
#define EROFS_FEATURE_COMPAT_MTIME 0x00000002U
#define EROFS_FEATURE_COMPAT_XATTR_FILTER 0x00000004U
/* composefs writes no INCOMPAT features; a reader supports exactly none. */
#define EROFS_FEATURE_INCOMPAT_SUPPORTED 0x00000000U

struct erofs_super_block {
	st_le32 magic;
	st_le32 checksum;
	st_le32 feature_compat;
	uint8_t blkszbits;
	uint8_t sb_extslots;
	st_le16 root_nid;
	st_le64 inos;
	st_le64 build_time;
	st_le32 build_time_nsec;
	st_le32 blocks;
	st_le32 meta_blkaddr;
	st_le32 xattr_blkaddr;
	uint8_t uuid[16];
	uint8_t volume_name[16];
	st_le32 feature_incompat;
	st_le16 u1;                     /* available_compr_algs / lz4_max_distance */
	st_le16 extra_devices;
	st_le16 devt_slotoff;
	uint8_t dirblkbits;
	uint8_t xattr_prefix_count;
	st_le32 xattr_prefix_start;
	st_le64 packed_nid;
	uint8_t xattr_filter_reserved;
	uint8_t reserved2[23];
};
static_assert(sizeof(struct erofs_super_block) == 128, "erofs superblock");
static_assert(offsetof(struct erofs_super_block, root_nid) == 14, "root_nid");
static_assert(offsetof(struct erofs_super_block, blocks) == 36, "blocks");
static_assert(offsetof(struct erofs_super_block, feature_incompat) == 80, "feature_incompat");
static_assert(offsetof(struct erofs_super_block, packed_nid) == 96, "packed_nid");

/* i_format: bit 0 = version (0 compact, 1 extended), bits 1-3 = data layout. */
#define EROFS_INODE_LAYOUT_COMPACT 0U
#define EROFS_INODE_LAYOUT_EXTENDED 1U
#define EROFS_I_VERSION_MASK 0x01U
#define EROFS_I_DATALAYOUT_BIT 1U
#define EROFS_I_DATALAYOUT_MASK 0x07U
#define EROFS_I_ALL_BITS 0x0fU          /* no other i_format bit may be set */

#define EROFS_INODE_FLAT_PLAIN 0U
#define EROFS_INODE_FLAT_COMPRESSION_LEGACY 1U
#define EROFS_INODE_FLAT_INLINE 2U
#define EROFS_INODE_FLAT_COMPRESSION 3U
#define EROFS_INODE_CHUNK_BASED 4U

/* i_u.c.format of a chunk-based inode. */
#define EROFS_CHUNK_FORMAT_BLKBITS_MASK 0x001FU
#define EROFS_CHUNK_FORMAT_INDEXES 0x0020U

union erofs_inode_i_u {
	st_le32 compressed_blocks;
	st_le32 raw_blkaddr;
	st_le32 rdev;
	struct {
		st_le16 format;
		st_le16 reserved;
	} c;
};

struct erofs_inode_compact {
	st_le16 i_format;
	st_le16 i_xattr_icount;
	st_le16 i_mode;
	st_le16 i_nlink;
	st_le32 i_size;
	st_le32 i_reserved;
	union erofs_inode_i_u i_u;
	st_le32 i_ino;
	st_le16 i_uid;
	st_le16 i_gid;
	st_le32 i_reserved2;
};
static_assert(sizeof(struct erofs_inode_compact) == 32, "compact inode");

struct erofs_inode_extended {
	st_le16 i_format;
	st_le16 i_xattr_icount;
	st_le16 i_mode;
	st_le16 i_reserved;
	st_le64 i_size;
	union erofs_inode_i_u i_u;
	st_le32 i_ino;
	st_le32 i_uid;
	st_le32 i_gid;
	st_le64 i_mtime;
	st_le32 i_mtime_nsec;
	st_le32 i_nlink;
	uint8_t i_reserved2[16];
};
static_assert(sizeof(struct erofs_inode_extended) == 64, "extended inode");
static_assert(offsetof(struct erofs_inode_extended, i_mtime) == 32, "i_mtime");

/* Xattr body: header, then h_shared_count le32 ids, then entries. */
struct erofs_xattr_ibody_header {
	st_le32 h_name_filter;          /* bit set = name definitely absent */
	uint8_t h_shared_count;
	uint8_t h_reserved2[7];
};
static_assert(sizeof(struct erofs_xattr_ibody_header) == 12, "xattr ibody header");

struct erofs_xattr_entry {
	uint8_t e_name_len;
	uint8_t e_name_index;
	st_le16 e_value_size;
	/* followed by e_name_len name bytes, then e_value_size value bytes, padded to 4 */
};
static_assert(sizeof(struct erofs_xattr_entry) == 4, "xattr entry");

#define EROFS_XATTR_INDEX_USER 1U
#define EROFS_XATTR_INDEX_POSIX_ACL_ACCESS 2U
#define EROFS_XATTR_INDEX_POSIX_ACL_DEFAULT 3U
#define EROFS_XATTR_INDEX_TRUSTED 4U
#define EROFS_XATTR_INDEX_LUSTRE 5U
#define EROFS_XATTR_INDEX_SECURITY 6U

#define EROFS_XATTR_FILTER_BITS 32U
#define EROFS_XATTR_FILTER_DEFAULT 0xFFFFFFFFU
#define EROFS_XATTR_FILTER_SEED 0x25BBE08FU

/* i_xattr_icount -> body size in bytes (0 when there is no body). */
static inline uint32_t erofs_xattr_ibody_size(uint16_t icount)
{
	return icount == 0 ? 0 : (uint32_t)sizeof(struct erofs_xattr_ibody_header) + (uint32_t)(icount - 1) * 4U;
}

struct erofs_dirent {
	st_le64 nid;
	st_le16 nameoff;
	uint8_t file_type;
	uint8_t reserved;
};
static_assert(sizeof(struct erofs_dirent) == 12, "dirent");

#define EROFS_FT_UNKNOWN 0U
#define EROFS_FT_REG_FILE 1U
#define EROFS_FT_DIR 2U
#define EROFS_FT_CHRDEV 3U
#define EROFS_FT_BLKDEV 4U
#define EROFS_FT_FIFO 5U
#define EROFS_FT_SOCK 6U
#define EROFS_FT_SYMLINK 7U
#define EROFS_FT_MAX 8U

/* The dirent file type of an st_mode; EROFS_FT_UNKNOWN for anything else. */
static inline uint8_t erofs_ftype_from_mode(uint32_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return EROFS_FT_REG_FILE;
	case S_IFDIR:
		return EROFS_FT_DIR;
	case S_IFCHR:
		return EROFS_FT_CHRDEV;
	case S_IFBLK:
		return EROFS_FT_BLKDEV;
	case S_IFIFO:
		return EROFS_FT_FIFO;
	case S_IFSOCK:
		return EROFS_FT_SOCK;
	case S_IFLNK:
		return EROFS_FT_SYMLINK;
	default:
		return EROFS_FT_UNKNOWN;
	}
}

/* overlayfs metacopy xattr value: version 0, length, flags 0, hash alg. */
#define CFS_METACOPY_SIZE 36U
#define FS_VERITY_HASH_ALG_SHA256 1U
