/* SPDX-License-Identifier: MIT */
/*
 * A pack entry's zstd frame turned into its object (pack-frames.c):
 * decompressed as its bytes come, written and hashed by an object sink,
 * published once its size and fs-verity digest are the index's.
 *
 * The frames of small entries are not decoded on the thread that receives
 * them: a range's complete frames are gathered in a batch (their compressed
 * bytes back to back) and handed to a worker pool, so that decompression,
 * the digest and the file system work of one batch overlap the network and
 * the next batch, on every core.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "object-sink.h"
#include "pack.h"

struct ZSTD_DCtx_s;

/* One frame in progress: frame_dec_begin(), frame_dec_bytes()..., frame_dec_finish(). */
struct frame_dec {
	struct ZSTD_DCtx_s *dctx;       /* kept across frames */
	void *out;
	size_t out_size;
	bool ended;                     /* the zstd frame ended */
	struct object_sink sink;        /* its hasher and dirs kept across frames */
	void *whole;                    /* a small object decoded in one call (the pool's) */
	size_t whole_size;
};

/* Start entry e of repo (dirs: its objects/XX/ fds, may be NULL). -ENOMEM only. */
int frame_dec_begin(struct frame_dec *d, struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *e);
/* Compressed bytes of the frame: -EUCLEAN (with a detail naming the object) for bytes that are not the object's. */
int frame_dec_bytes(struct frame_dec *d, const void *buf, size_t len);
/* All the frame's bytes were given: the frame must have ended; the object is verified and published. */
int frame_dec_finish(struct frame_dec *d);
/* Drop the object in progress (its temporary file) and free everything. */
void frame_dec_free(struct frame_dec *d);

/*
 * Frames of at most this many compressed bytes are decoded by the pool from
 * a batch; larger ones from their partial file (frame_pool_submit_file()),
 * or, without one, stream on the thread that receives them.
 */
#define FRAME_POOL_CSIZE_MAX PACK_PARTIAL_MIN

/*
 * The result of entry i (an index into the entries given to
 * frame_pool_new()), on a worker's thread: 0, published; or a negative
 * errno, with st_error_detail() set on that thread.
 */
typedef void (*frame_result_fn)(void *userdata, size_t i, int r);

struct frame_pool;

/* A pool for frames of entries[] into repo; result() is called once per frame submitted. */
int frame_pool_new(struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *const *entries,
		   frame_result_fn result, void *userdata, struct frame_pool **ret);
/*
 * Entry i's whole frame is the first csize bytes of fd, its partial file in
 * tmp/pull (pack-partial.c, locked): decoded by the pool like a batch, but
 * streaming, with a decoder made for it alone. The pool owns fd; the
 * partial file is removed once the object is published or its bytes are
 * found wrong, kept if the frame is dropped unread. Large frames go this
 * way so that their decoding (a fifth of a /usr/share pull's bytes) leaves
 * the network thread.
 */
void frame_pool_submit_file(struct frame_pool *fp, size_t i, int fd);
/* Wait (and help) until every frame submitted so far has its result. */
void frame_pool_drain(struct frame_pool *fp);
/* Frames still queued are dropped without a result. Accepts NULL; returns NULL. */
struct frame_pool *frame_pool_free(struct frame_pool *fp);

/*
 * Complete frames gathered by one range: entries first..first+n-1, their
 * compressed bytes back to back in buf[0..len), then the bytes of entry
 * first+n's frame received so far, up to fill.
 */
struct frame_batch {
	uint8_t *buf;
	size_t len, fill, cap;
	size_t first, n;
};

/* Bytes of entry i's frame (i: the entry after the batch's complete ones). -ENOMEM only. */
int frame_batch_add(struct frame_batch *b, size_t i, const void *data, size_t len);
/* Entry i's frame is complete; the batch goes to the pool once it is large enough. */
void frame_batch_frame_end(struct frame_pool *fp, struct frame_batch *b);
/* Hand the complete frames to the pool now; the bytes of a frame in progress are dropped. */
void frame_batch_flush(struct frame_pool *fp, struct frame_batch *b);
/* Drop everything gathered, and the buffer. */
void frame_batch_free(struct frame_batch *b);
