/* SPDX-License-Identifier: MIT */
/*
 * One large file hashed on several threads.
 *
 * The file is cut into subtrees of VERITY_SUBTREE_BYTES (64 MiB) taken by
 * the workers from an atomic index; each subtree reduces to one hash at the
 * second tree level. The caller's thread then starts a hasher with those
 * roots in order and hashes the tail (< 64 MiB) itself. Memory: one hasher
 * and one read buffer per worker plus 32 bytes per 64 MiB of file.
 */
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "basic/pool.h"
#include "fundamental/cpus.h"
#include "verity/verity-internal.h"

struct job {
	int fd;
	bool sparse;
	uint8_t *roots;     /* n_units * 32 */
	atomic_int error;   /* first failure, 0 if none */
};

/* Hash subtree i into its root. */
static void hash_unit(void *userdata, void *state, size_t i)
{
	struct job *j = userdata;
	struct verity_worker *w = state;
	uint64_t start = (uint64_t)i * VERITY_SUBTREE_BYTES;
	int r, expected = 0;

	if (atomic_load_explicit(&j->error, memory_order_relaxed) != 0)
		return;
	st_verity_hasher_reset(w->hasher);
	r = verity_hash_extent(w->hasher, j->fd, w->buf, VERITY_READ_BUFFER_SIZE, start, start + VERITY_SUBTREE_BYTES,
			       j->sparse);
	if (r >= 0)
		r = verity_hasher_subtree_root(w->hasher, j->roots + i * ST_VERITY_DIGEST_SIZE);
	if (r < 0)
		atomic_compare_exchange_strong(&j->error, &expected, r);
}

int st_verity_digest_fd_threads(int fd, unsigned threads, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct job job = { .fd = fd };
	_cleanup_free_ uint8_t *roots = NULL;
	struct verity_worker *self = NULL;
	size_t n_units;
	struct stat st;
	uint64_t size;
	int r;

	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "fstat failed");
	if (!S_ISREG(st.st_mode))
		return st_verity_digest_fd(fd, digest); /* reports the error */
	size = (uint64_t)st.st_size;
	n_units = (size_t)(size / VERITY_SUBTREE_BYTES);
	threads = threads ? MIN(threads, VERITY_MAX_THREADS) : cpus_available(VERITY_MAX_THREADS);
	if (threads < 2 || n_units < 2)
		return st_verity_digest_fd(fd, digest);

	job.sparse = verity_file_is_sparse(&st, VERITY_READ_BUFFER_SIZE);
	job.roots = roots = new(uint8_t, n_units * ST_VERITY_DIGEST_SIZE);
	if (!roots)
		return -ENOMEM;
	r = verity_worker_init(NULL, (void **)&self);
	if (r < 0)
		return r;
	r = pool_for_each(threads, n_units, &verity_worker_ops, &job, self, hash_unit);
	if (r >= 0)
		r = atomic_load(&job.error);
	if (r < 0) {
		/* The detail was recorded on the worker's thread; say where here. */
		st_errf(r, "hashing a 64 MiB part of the file on a worker thread failed");
		goto finish;
	}

	/* The roots in order, then the tail (< 64 MiB) on this thread. */
	st_verity_hasher_reset(self->hasher);
	r = verity_hasher_inject_subtrees(self->hasher, roots, n_units);
	if (r >= 0)
		r = verity_hash_extent(self->hasher, fd, self->buf, VERITY_READ_BUFFER_SIZE,
				       (uint64_t)n_units * VERITY_SUBTREE_BYTES, size, job.sparse);
	if (r >= 0)
		r = st_verity_hasher_final(self->hasher, digest);

finish:
	verity_worker_done(NULL, self);
	return r;
}
