/* SPDX-License-Identifier: MIT */
/*
 * Pack frames into objects, on the receiving thread or a worker pool:
 * pack-frames.h. Why a pool: a pull from packs spends its CPU on zstd,
 * SHA-256 and creating files, all once per object, while the network
 * thread only copies bytes; done inline, the three wait for each other and
 * for the next range's bytes. Batches (not one job per frame) keep the
 * pool's hand-over, a lock and a wake-up, off the per-object cost of
 * 58k-file trees whose median object is a few KB.
 */
#include <assert.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <zstd.h>
#include <zstd_errors.h>

#include "basic/error.h"
#include "basic/pool.h"
#include "fundamental/cpus.h"
#include "fundamental/macro.h"
#include "pack-frames.h"

/* A batch goes to the pool once it holds this many compressed bytes (or its range ends). */
#define BATCH_BYTES (256u * 1024u)
/* Batches queued at most: with frames below FRAME_POOL_CSIZE_MAX, a bound of ~20 MiB of compressed bytes. */
#define QUEUE_CAP 16u
/* Decoding threads at most, the network's included. */
#define WORKERS_MAX 8u
/* A whole frame of an object up to this size is decoded in one call, straight into a buffer of its size. */
#define ONESHOT_MAX (4u * 1024u * 1024u)
/* A large frame is read back from its partial file this many bytes at a time. */
#define FILE_READ (256u * 1024u)

int frame_dec_begin(struct frame_dec *d, struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *e)
{
	if (!d->dctx) {
		d->dctx = ZSTD_createDCtx();
		d->out_size = ZSTD_DStreamOutSize();
		d->out = malloc(d->out_size);
		if (!d->dctx || !d->out)
			return -ENOMEM;
	}
	(void)ZSTD_DCtx_reset(d->dctx, ZSTD_reset_session_only);
	/*
	 * An object delta: decoded against its base, with no larger window than
	 * the writer's (base and object, at most 2^27 for PACK_DELTA_MAX each):
	 * a frame asking for more is refused, not given its allocation.
	 * Else zstd's default limit.
	 */
	if (ZSTD_isError(ZSTD_DCtx_setParameter(d->dctx, ZSTD_d_windowLogMax,
						e->prefix ? pack_image_window_log(e->prefix_len, (size_t)e->size) : 0)) ||
	    (e->prefix && ZSTD_isError(ZSTD_DCtx_refPrefix(d->dctx, e->prefix, e->prefix_len))))
		return -ENOMEM;
	d->sink.dirs = dirs;
	object_sink_init(&d->sink, repo, e->digest, e->size);
	d->ended = false;
	return 0;
}

int frame_dec_bytes(struct frame_dec *d, const void *buf, size_t len)
{
	ZSTD_inBuffer in = { buf, len, 0 };
	int r;

	for (;;) {
		ZSTD_outBuffer out = { d->out, d->out_size, 0 };
		size_t ret;

		if (d->ended) {
			if (in.pos < in.size)
				return st_errf(-EUCLEAN, "object %s: its frame ends before the compressed size the index gives",
					       d->sink.relpath + 8);
			return 0;
		}
		ret = ZSTD_decompressStream(d->dctx, &out, &in);
		if (ZSTD_isError(ret))
			return st_errf(-EUCLEAN, "object %s: not a valid zstd frame (%s)", d->sink.relpath + 8,
				       ZSTD_getErrorName(ret));
		if (out.pos > 0) {
			r = object_sink_write(&d->sink, out.dst, out.pos);
			if (r == -EFBIG)
				return st_errf(-EUCLEAN, "object %s: decompresses to more than its %llu bytes",
					       d->sink.relpath + 8, (unsigned long long)d->sink.size);
			if (r < 0)
				return r;
		}
		if (ret == 0)
			d->ended = true;
		if (in.pos == in.size && out.pos < out.size)
			return 0;       /* all input taken, nothing more pending */
	}
}

int frame_dec_finish(struct frame_dec *d)
{
	int r;

	if (!d->ended) {
		r = frame_dec_bytes(d, NULL, 0);        /* output still pending in the decompressor */
		if (r < 0)
			return r;
		if (!d->ended)
			return st_errf(-EUCLEAN, "object %s: its frame does not end at the compressed size the index gives",
				       d->sink.relpath + 8);
	}
	return object_sink_finish(&d->sink);
}

void frame_dec_free(struct frame_dec *d)
{
	if (d->sink.repo)       /* else never begun: its fds are zeros, not fds */
		object_sink_release(&d->sink);
	ZSTD_freeDCtx(d->dctx);
	d->dctx = NULL;
	free(d->out);
	d->out = NULL;
	free(d->whole);
	d->whole = NULL;
	d->whole_size = 0;
}

/*
 * Entry e's whole frame, buf[0..e->csize). A small object is decoded in
 * one call into a buffer of its size (no stream window: less memory, and
 * zstd writes each byte once), then written in one write(); a large one
 * streams. The same checks either way: exactly one frame, exactly size bytes.
 */
static int frame_dec_whole(struct frame_dec *d, struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *e,
			   const uint8_t *buf)
{
	size_t n;
	int r;

	r = frame_dec_begin(d, repo, dirs, e);
	if (r < 0 || e->size > ONESHOT_MAX) {
		if (r >= 0)
			r = frame_dec_bytes(d, buf, (size_t)e->csize);
		return r < 0 ? r : frame_dec_finish(d);
	}
	if (d->whole_size < e->size) {
		void *w = realloc(d->whole, (size_t)e->size);

		if (!w)
			return -ENOMEM;
		d->whole = w;
		d->whole_size = (size_t)e->size;
	}
	n = ZSTD_findFrameCompressedSize(buf, (size_t)e->csize);
	if (ZSTD_isError(n))
		return st_errf(-EUCLEAN, "object %s: not a valid zstd frame (%s)", d->sink.relpath + 8, ZSTD_getErrorName(n));
	if (n != e->csize)
		return st_errf(-EUCLEAN, "object %s: its frame ends before the compressed size the index gives",
			       d->sink.relpath + 8);
	n = ZSTD_decompressDCtx(d->dctx, d->whole, (size_t)e->size, buf, (size_t)e->csize);
	if (ZSTD_isError(n) && ZSTD_getErrorCode(n) == ZSTD_error_dstSize_tooSmall)
		return st_errf(-EUCLEAN, "object %s: decompresses to more than its %llu bytes", d->sink.relpath + 8,
			       (unsigned long long)e->size);
	if (ZSTD_isError(n))
		return st_errf(-EUCLEAN, "object %s: not a valid zstd frame (%s)", d->sink.relpath + 8, ZSTD_getErrorName(n));
	r = object_sink_write(&d->sink, d->whole, n);
	if (r < 0)
		return r;
	d->ended = true;
	return object_sink_finish(&d->sink);
}

/*
 * Entry e's whole frame, the first e->csize bytes of fd (its partial file):
 * streamed through a decoder made for it alone (its window, up to 128 MiB
 * for a frame that asks, is not kept after), verified and published.
 */
static int frame_dec_file(struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *e, int fd)
{
	_cleanup_free_ uint8_t *buf = malloc(FILE_READ);
	struct frame_dec d = {};
	int r;

	if (!buf)
		return -ENOMEM;
	r = frame_dec_begin(&d, repo, dirs, e);
	for (uint64_t off = 0; r >= 0 && off < e->csize;) {
		ssize_t n = pread(fd, buf, (size_t)MIN((uint64_t)FILE_READ, e->csize - off), (off_t)off);

		if (n < 0)
			r = st_errf(negative_errno(), "object %s: cannot read its frame back from tmp/pull", d.sink.relpath + 8);
		else if (n == 0)
			r = st_errf(-ESTALE, "object %s: its frame in tmp/pull is shorter than the %llu bytes received",
				    d.sink.relpath + 8, (unsigned long long)e->csize);
		else {
			r = frame_dec_bytes(&d, buf, (size_t)n);
			off += (uint64_t)n;
		}
	}
	if (r >= 0)
		r = frame_dec_finish(&d);
	frame_dec_free(&d);     /* a temporary file of an object not published is dropped */
	return r;
}

/* ---- the pool ----------------------------------------------------------------- */

struct frame_pool {
	struct pool *pool;
	struct st_repo *repo;
	struct object_dirs *dirs;
	const struct pack_entry *const *entries;
	frame_result_fn result;
	void *userdata;
	struct frame_dec self;          /* the network thread's, when it helps */
};

/* A batch (buf: the frames of entries first..first+n-1), or entry first's frame in its partial file fd. */
struct frame_job {
	uint8_t *buf;
	size_t first, n;
	int fd;
};

static int worker_init(void *userdata, void **ret_state)
{
	(void)userdata;
	*ret_state = new0(struct frame_dec, 1);
	return *ret_state ? 0 : -ENOMEM;
}

static void worker_done(void *userdata, void *state)
{
	(void)userdata;
	frame_dec_free(state);
	free(state);
}

static void run(void *userdata, void *state, void *j)
{
	struct frame_pool *fp = userdata;
	struct frame_dec *d = state;
	struct frame_job *job = j;
	const uint8_t *p = job->buf;

	if (job->fd >= 0) {
		const struct pack_entry *e = fp->entries[job->first];
		int r;

		st_error_clear();
		r = frame_dec_file(fp->repo, fp->dirs, e, job->fd);
		fp->result(fp->userdata, job->first, r < 0 ? r : 0);
		/* Published, or its bytes are not the object's: either way not kept (removed while still locked). */
		pack_partial_remove(fp->repo, e->digest);
		job->fd = safe_close(job->fd);
		return;
	}
	for (size_t k = 0; k < job->n; k++) {
		const struct pack_entry *e = fp->entries[job->first + k];
		int r;

		st_error_clear();
		r = frame_dec_whole(d, fp->repo, fp->dirs, e, p);
		if (r < 0)
			object_sink_reset(&d->sink);
		fp->result(fp->userdata, job->first + k, r < 0 ? r : 0);
		p += e->csize;
	}
	free(job->buf);
}

static void discard(void *userdata, void *j)
{
	struct frame_job *job = j;

	(void)userdata;
	free(job->buf);
	safe_close(job->fd);    /* a whole frame's bytes stay in tmp/pull for the next pull */
}

static const struct pool_ops frame_pool_ops = {
	.worker_init = worker_init,
	.worker_done = worker_done,
	.run = run,
	.discard = discard,
	.job_size = sizeof(struct frame_job),
	.queue_cap = QUEUE_CAP,
};

int frame_pool_new(struct st_repo *repo, struct object_dirs *dirs, const struct pack_entry *const *entries,
		   frame_result_fn result, void *userdata, struct frame_pool **ret)
{
	struct frame_pool *fp = new0(struct frame_pool, 1);
	int r;

	if (!fp)
		return -ENOMEM;
	*fp = (struct frame_pool){ .repo = repo, .dirs = dirs, .entries = entries, .result = result, .userdata = userdata };
	/*
	 * A worker per CPU but one; the network thread is the last decoder: it
	 * decodes a batch itself only when the queue is full, i.e. when the
	 * bytes come faster than the workers take them. More threads than CPUs
	 * only take CPU from the rest (on a loopback pull, from the server).
	 */
	r = pool_new(&frame_pool_ops, fp, cpus_available(WORKERS_MAX), &fp->pool);
	if (r < 0) {
		free(fp);
		return r;
	}
	*ret = fp;
	return 0;
}

static void submit(struct frame_pool *fp, struct frame_batch *b)
{
	struct frame_job job = { .buf = b->buf, .first = b->first, .n = b->n, .fd = -EBADF };

	/* Full queue: the network thread decodes this batch itself rather than wait. */
	pool_submit(fp->pool, &fp->self, &job, false);
	*b = (struct frame_batch){};
}

void frame_pool_submit_file(struct frame_pool *fp, size_t i, int fd)
{
	struct frame_job job = { .first = i, .n = 1, .fd = fd };

	pool_submit(fp->pool, &fp->self, &job, false);
}

void frame_pool_drain(struct frame_pool *fp)
{
	pool_drain(fp->pool, &fp->self, NULL, NULL, 0);
}

struct frame_pool *frame_pool_free(struct frame_pool *fp)
{
	if (!fp)
		return NULL;
	pool_free(fp->pool);
	frame_dec_free(&fp->self);
	free(fp);
	return NULL;
}

int frame_batch_add(struct frame_batch *b, size_t i, const void *data, size_t len)
{
	assert(b->n == 0 || i == b->first + b->n);
	if (b->n == 0)
		b->first = i;
	if (len > b->cap - b->fill) {
		size_t cap = MAX(b->cap * 2, (size_t)BATCH_BYTES + 65536);
		uint8_t *n;

		while (cap - b->fill < len)
			cap *= 2;
		n = realloc(b->buf, cap);
		if (!n)
			return -ENOMEM;
		b->buf = n;
		b->cap = cap;
	}
	memcpy(b->buf + b->fill, data, len);
	b->fill += len;
	return 0;
}

void frame_batch_frame_end(struct frame_pool *fp, struct frame_batch *b)
{
	b->len = b->fill;
	b->n++;
	if (b->len >= BATCH_BYTES)
		submit(fp, b);
}

void frame_batch_flush(struct frame_pool *fp, struct frame_batch *b)
{
	b->fill = b->len;
	if (b->n > 0)
		submit(fp, b);
}

void frame_batch_free(struct frame_batch *b)
{
	free(b->buf);
	*b = (struct frame_batch){};
}
