/* SPDX-License-Identifier: MIT */
/*
 * The on-disk layout of a pack index (docs/formats/remote.md, "Packs"):
 * a header, then one entry per object sorted by fs-verity digest. The pack
 * body is the entries' zstd frames back to back in index order. Packed
 * structs of little-endian wrappers only (erofs-format.h owns the wrapper
 * types); pack-index.c is the one decoder and the one encoder.
 */
#pragma once

#include <assert.h>
#include <stddef.h>
#include <stdint.h>

#include "format/erofs-format.h"

#define PACK_INDEX_MAGIC "STPACKIX"
#define PACK_INDEX_VERSION 1U
#define PACK_COMPRESSION_ZSTD 1U
#define PACK_INDEX_FLAGS_SUPPORTED 0U   /* no incompatible feature yet: any bit set is EOPNOTSUPP */

struct pack_index_header {
	uint8_t magic[8];               /* PACK_INDEX_MAGIC, no NUL */
	st_le32 version;                /* PACK_INDEX_VERSION */
	st_le32 compression;            /* PACK_COMPRESSION_ZSTD */
	st_le32 flags;                  /* incompatible features: none defined */
	st_le32 reserved0;              /* 0 */
	st_le64 n_entries;
	st_le64 pack_size;              /* bytes of the pack body: the sum of every entry's csize */
	uint8_t commit[32];             /* the commit whose objects the pack brings */
	uint8_t from[32];               /* relative to this commit, or all zero: a full pack */
	uint8_t reserved[24];           /* 0 */
};
static_assert(sizeof(struct pack_index_header) == 128, "pack index header is 128 bytes");
static_assert(offsetof(struct pack_index_header, n_entries) == 24, "pack index header layout");
static_assert(offsetof(struct pack_index_header, commit) == 40, "pack index header layout");

struct pack_index_entry {
	uint8_t digest[32];             /* the object's fs-verity SHA-256 digest */
	st_le64 offset;                 /* of its zstd frame in the pack body */
	st_le64 csize;                  /* bytes of the frame */
	st_le64 size;                   /* bytes of the object */
};
static_assert(sizeof(struct pack_index_entry) == 56, "pack index entry is 56 bytes");
static_assert(offsetof(struct pack_index_entry, offset) == 32, "pack index entry layout");
