/* SPDX-License-Identifier: MIT */
/*
 * A layer's tar stream without its file contents (docs/formats/tar-split.md):
 * the bytes that are not the contents of a stored file (headers, padding,
 * pax records, end blocks, what follows them) kept in order, with, where a
 * file's contents were, a reference to the object that holds them. With
 * the objects, it rebuilds the stream byte for byte.
 *
 * The builder (st_tar_split_*) is fed by the tar reader (tar-input.c); the
 * parser (st_tar_split_next) reads a record back as untrusted input.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/tree.h"

#define ST_TAR_SPLIT_MAGIC "sealtree-tar-split 1\n"
#define ST_TAR_SPLIT_MAGIC_LEN 21u
/* A record is at most this big (a layer's framing is ~1 KiB a member). */
#define ST_TAR_SPLIT_MAX (256u * 1024 * 1024)
#define ST_TAR_SPLIT_RAW_MAX (1024u * 1024)
#define ST_TAR_SPLIT_NAME_MAX 4096u
/* A stream may not be longer than this (lengths fit in signed 64 bits with room). */
#define ST_TAR_SPLIT_STREAM_MAX (UINT64_C(1) << 62)

enum st_tar_split_tag {
	ST_TAR_SPLIT_RAW = 'R',         /* u32 length (1..RAW_MAX), the bytes */
	ST_TAR_SPLIT_ZERO = 'Z',        /* u64 length (>= 1): that many zero bytes */
	ST_TAR_SPLIT_FILE = 'F',        /* u64 size (>= 1), 32-byte fs-verity digest, u16 name length (1..NAME_MAX), name */
	ST_TAR_SPLIT_END = 'E',         /* u64 length of the whole stream; the last thing in the record */
};

struct st_node;

/* A record being built (the tar reader's ST_TAR_READ option). */
struct st_tar_split {
	uint8_t *data;
	size_t len, cap;
	size_t max;                     /* 0 = ST_TAR_SPLIT_MAX */
	uint64_t stream_len;            /* stream bytes the record covers so far */
	size_t last_seg;                /* offset of the last segment (merging), SIZE_MAX if none */
	/* FILE segments whose digest is known only once the reader is done */
	struct st_tar_split_ref {
		size_t at;              /* offset of the digest in data */
		struct st_node *node;
	} *refs;
	size_t n_refs, cap_refs;
};

void st_tar_split_init(struct st_tar_split *s);
void st_tar_split_done(struct st_tar_split *s);
/* Stream bytes that are kept (runs of zeros kept as their length). */
int st_tar_split_add_bytes(struct st_tar_split *s, const uint8_t *p, size_t len);
/* size bytes of the stream are the contents of node's object (digest filled in by st_tar_split_resolve). */
int st_tar_split_add_file(struct st_tar_split *s, struct st_node *node, uint64_t size, const char *name);
/* Fill in the digests of the FILE segments (every node must have one and that size) and end the record. */
int st_tar_split_finish(struct st_tar_split *s);

/* One segment read back. */
struct st_tar_split_seg {
	enum st_tar_split_tag tag;
	uint64_t len;                   /* stream bytes it stands for (END: the stream's length) */
	const uint8_t *data;            /* RAW: the bytes */
	const uint8_t *digest;          /* FILE: the object */
	const char *name;               /* FILE: the member's name, name_len bytes, not NUL-terminated */
	size_t name_len;
};

struct st_tar_split_iter {
	const uint8_t *buf;
	size_t len, pos;
	uint64_t covered;               /* stream bytes of the segments so far */
	bool ended;
};

/* Start reading a record: -EUCLEAN (with a detail) if it does not start with the magic. */
int st_tar_split_iter_init(struct st_tar_split_iter *it, const void *buf, size_t len);
/*
 * The next segment: 1 and the segment, 0 after the END segment (which must
 * say exactly the bytes covered and be the last bytes of the record), or
 * -EUCLEAN with a detail naming the offset: a segment cut short, an
 * unknown tag, a length out of range, a name with a NUL byte.
 */
int st_tar_split_next(struct st_tar_split_iter *it, struct st_tar_split_seg *ret);
