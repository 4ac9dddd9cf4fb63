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
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "verity/verity-internal.h"

struct job {
	int fd;
	bool sparse;
	size_t n_units;
	uint8_t *roots;     /* n_units * 32 */
	atomic_size_t next;
	atomic_int error;   /* first failure, 0 if none */
};

struct worker {
	struct job *job;
	struct st_verity_hasher *hasher;
	void *buf;
	pthread_t thread;
	bool started;
};

static void *worker_run(void *userdata)
{
	struct worker *w = userdata;
	struct job *j = w->job;

	for (;;) {
		size_t i = atomic_fetch_add_explicit(&j->next, 1, memory_order_relaxed);
		uint64_t start = (uint64_t)i * VERITY_SUBTREE_BYTES;
		int r;

		if (i >= j->n_units || atomic_load_explicit(&j->error, memory_order_relaxed) != 0)
			break;
		st_verity_hasher_reset(w->hasher);
		r = verity_hash_extent(w->hasher, j->fd, w->buf, VERITY_READ_BUFFER_SIZE, start,
				       start + VERITY_SUBTREE_BYTES, j->sparse);
		if (r >= 0)
			r = verity_hasher_subtree_root(w->hasher, j->roots + i * ST_VERITY_DIGEST_SIZE);
		if (r < 0) {
			int expected = 0;

			atomic_compare_exchange_strong(&j->error, &expected, r);
			break;
		}
	}
	return NULL;
}

int st_verity_digest_fd_threads(int fd, unsigned threads, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct job job = { .fd = fd };
	_cleanup_free_ struct worker *workers = NULL;
	_cleanup_free_ uint8_t *roots = NULL;
	size_t n_workers = 0;
	struct stat st;
	uint64_t size;
	int r;

	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "fstat failed");
	if (!S_ISREG(st.st_mode))
		return st_verity_digest_fd(fd, digest); /* reports the error */
	size = (uint64_t)st.st_size;
	job.n_units = (size_t)(size / VERITY_SUBTREE_BYTES);
	if (threads == 0)
		threads = verity_available_cpus();
	threads = MIN(threads, VERITY_MAX_THREADS);
	if (threads < 2 || job.n_units < 2)
		return st_verity_digest_fd(fd, digest);

	job.sparse = verity_file_is_sparse(&st, VERITY_READ_BUFFER_SIZE);
	job.roots = roots = new(uint8_t, job.n_units * ST_VERITY_DIGEST_SIZE);
	workers = new0(struct worker, MIN((size_t)threads, job.n_units));
	if (!roots || !workers)
		return -ENOMEM;
	for (; n_workers < MIN((size_t)threads, job.n_units); n_workers++) {
		struct worker *w = &workers[n_workers];

		w->job = &job;
		w->buf = verity_read_buffer_new(VERITY_READ_BUFFER_SIZE);
		r = w->buf ? st_verity_hasher_new(&w->hasher) : -ENOMEM;
		if (r < 0) {
			free(w->buf);
			goto finish;
		}
	}

	for (size_t i = 1; i < n_workers; i++)
		workers[i].started = pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) == 0;
	worker_run(&workers[0]);
	for (size_t i = 1; i < n_workers; i++)
		if (workers[i].started)
			(void)pthread_join(workers[i].thread, NULL);

	r = atomic_load(&job.error);
	if (r < 0) {
		/* The detail was recorded on the worker's thread; say where here. */
		st_errf(r, "hashing a 64 MiB part of the file on a worker thread failed");
		goto finish;
	}

	struct st_verity_hasher *h = workers[0].hasher;
	uint64_t tail = (uint64_t)job.n_units * VERITY_SUBTREE_BYTES;

	st_verity_hasher_reset(h);
	r = verity_hasher_inject_subtrees(h, roots, job.n_units);
	if (r >= 0)
		r = verity_hash_extent(h, fd, workers[0].buf, VERITY_READ_BUFFER_SIZE, tail, size, job.sparse);
	if (r >= 0)
		r = st_verity_hasher_final(h, digest);

finish:
	for (size_t i = 0; i < n_workers; i++) {
		st_verity_hasher_free(workers[i].hasher);
		free(workers[i].buf);
	}
	return r;
}
