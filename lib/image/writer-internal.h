/* SPDX-License-Identifier: MIT */
/*
 * The composefs image writer's private state (see docs/formats/composefs-image.md).
 *
 * The reference writer clones the tree and rewrites the clone (overlay
 * xattrs, whiteouts turned into regular files, "." and "..", 256 root
 * whiteout stubs). We produce the same bytes without touching or copying the
 * caller's tree: every serialized inode gets one small `struct winode` in BFS
 * order (node->scratch holds its index), the rewritten xattrs are references
 * into a deduplication table, and "."/".."/stubs are merged into directory
 * listings on the fly.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sealtree/image.h"
#include "sealtree/verity.h"
#include "tree/tree-internal.h"

#define W_NO_INDEX UINT32_MAX
#define W_MAX_SHARED_PER_INODE 128      /* EROFS_XATTR_LONG_PREFIX: the reference's cap */
#define W_MAX_CHUNKS 1024
#define W_OUT_BUF_SIZE (1u << 20)

/* One serialized inode. Stubs (the root's 00..ff whiteouts) have node == NULL. */
struct winode {
	struct st_node *node;
	uint64_t pos;                   /* byte offset of the inode; nid = pos / 32 */
	uint32_t xref_start;            /* first entry in wctx.xrefs */
	uint32_t xattr_size;            /* xattr ibody bytes (0: none) */
	uint32_t n_blocks;              /* full data blocks */
	uint32_t nlink;
	uint16_t n_xrefs;
	uint16_t tail;                  /* inline tail bytes (<= 4096) */
	uint8_t compact : 1;
	uint8_t has_whiteout_child : 1;
	uint8_t stub_name;              /* stub: the byte its hex name encodes */
	uint8_t ftype;                  /* EROFS_FT_* of the effective mode, for dirents */
};

/* Effective xattr names are (prefix, tail); values are (prefix, data). */
enum {
	XN_PLAIN = 0,                   /* tail is the whole name */
	XN_ESCAPED = 1,                 /* "trusted.overlay.overlay." + tail */
};
enum {
	XV_PLAIN = 0,
	XV_SLASH = 1,                   /* "/" + data (overlay redirect) */
	XV_METACOPY = 2,                /* {0, 36, 0, 1} + 32-byte digest */
};

/* A distinct (name, value) pair over all serialized inodes. */
struct xent {
	const char *name;               /* tail, NUL-terminated; points into the tree or static */
	const uint8_t *value;           /* data part; points into the tree or static */
	uint32_t value_len;             /* data part length */
	uint32_t count;                 /* number of inodes carrying it */
	uint32_t hash;
	uint32_t shared_off;            /* byte offset in the shared table, W_NO_INDEX if inline */
	uint16_t name_len;              /* tail length */
	uint8_t name_kind, value_kind;
	uint8_t index;                  /* EROFS name prefix index */
	uint8_t skip;                   /* bytes of the effective name the index stands for */
	uint8_t filter_bit;             /* xxh32(suffix, seed + index) & 31 */
};

struct xslot {
	uint32_t hash;
	uint32_t idx1;                  /* xent index + 1; 0 = empty */
};

struct wctx {
	struct st_node *root;
	uint32_t version;

	struct winode *inodes;
	size_t n_inodes, cap_inodes;
	uint32_t stub_idx[256];

	struct xent *xents;
	size_t n_xents, cap_xents;
	struct xslot *xhash;            /* open addressing, linear probing */
	size_t xhash_mask;
	uint32_t *xrefs;                /* per-inode name-sorted xent indexes */
	size_t n_xrefs, cap_xrefs;
	uint32_t *shared;               /* shared xents in table order */
	size_t n_shared;

	int64_t min_sec;
	uint32_t min_nsec;
	bool has_acl;
	uint64_t inodes_end, shared_size, n_data_blocks, data_start;

	/* output */
	st_image_write_fn write;
	void *userdata;
	struct st_verity_hasher *hasher;
	uint8_t *buf;
	size_t buf_len;
	uint64_t written;
	uint64_t current_end;           /* next data block address, in bytes */
};

/* Directory listing with "." / ".." (and the root's stubs) merged in strcmp order. */
struct dent {
	const char *name;
	uint32_t len;
	uint32_t target;                /* winode index */
};
struct dent_iter {
	const struct wctx *w;
	uint32_t dir;                   /* winode index of the directory */
	size_t ci;                      /* next real child */
	unsigned dot;                   /* 0 ".", 1 "..", 2 done */
	unsigned stub;                  /* next stub candidate, 256 done; root only */
	bool with_dots;                 /* false: BFS walk (no dots, aliases unresolved) */
};
void dent_iter_init(struct dent_iter *it, const struct wctx *w, uint32_t dir, bool with_dots);
/* Next entry: *real is the child node, or *stub (< 256) the stub. False at the end. */
bool dent_iter_next(struct dent_iter *it, struct dent *d, const struct st_node **real, unsigned *stub);

/* writer-tree.c: effective inode properties after the reference's rewrite. */
uint32_t w_mode(const struct wctx *w, const struct winode *wi);
const struct st_node *w_meta(const struct wctx *w, const struct winode *wi); /* uid/gid/mtime source */
uint64_t w_stat_size(const struct wctx *w, const struct winode *wi);
bool w_is_chunked(const struct winode *wi);
uint32_t w_chunk_bits(uint64_t size);
uint64_t w_chunk_count(uint64_t size);
struct st_node *w_resolve(struct st_node *n);
/* Number the inodes (BFS, stubs included), validate, pick the format version. */
int w_collect(struct wctx *w, const struct st_image_write_options *opts);

/* writer-layout.c: data layout, compact/extended, padding and positions. */
int w_layout(struct wctx *w);

/* writer-xattr.c: per-inode name-sorted xattrs, then the shared table and
 * each inode's xattr body size. */
int w_collect_xattrs(struct wctx *w);
int w_share_xattrs(struct wctx *w);
/* The effective full name of an xent into buf (>= 264 bytes); returns its length. */
size_t xent_full_name(const struct xent *x, char *buf);
uint32_t xent_value_len(const struct xent *x);
uint32_t xent_entry_size(const struct xent *x);
void xent_free_all(struct wctx *w);

/* writer-emit.c: the one sequential pass. */
int w_emit(struct wctx *w);
