/* SPDX-License-Identifier: MIT */
/*
 * Digests of many files over the worker pool (basic/pool.h).
 *
 * Workers take the next file from one atomic index, so a few huge files do
 * not leave other threads idle the way a static split would. Each worker
 * owns a hasher and a read buffer for its whole life: per file the cost is
 * openat, fstat, pread(s), close and the hashing itself. The calling thread
 * is one of the workers.
 */
#include <fcntl.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "basic/pool.h"
#include "fundamental/cpus.h"
#include "verity/verity-internal.h"

void verity_worker_done(void *userdata, void *state)
{
	struct verity_worker *w = state;

	(void)userdata;
	if (!w)
		return;
	st_verity_hasher_free(w->hasher);
	free(w->buf);
	free(w);
}

int verity_worker_init(void *userdata, void **ret_state)
{
	struct verity_worker *w = new0(struct verity_worker, 1);

	if (!w)
		return -ENOMEM;
	w->buf = verity_read_buffer_new(VERITY_READ_BUFFER_SIZE);
	if (!w->buf || st_verity_hasher_new(&w->hasher) < 0) {
		verity_worker_done(userdata, w);
		return -ENOMEM;
	}
	*ret_state = w;
	return 0;
}

static void digest_job(void *userdata, void *state, size_t i)
{
	struct st_verity_job *job = (struct st_verity_job *)userdata + i;
	struct verity_worker *w = state;
	_cleanup_close_ int fd = -EBADF;

	/* O_NONBLOCK: a FIFO among the jobs must fail (-EINVAL), not hang. */
	fd = openat(job->dirfd, job->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		job->result = negative_errno();
		return;
	}
	job->result = st_verity_hasher_digest_fd(w->hasher, fd, w->buf, VERITY_READ_BUFFER_SIZE, job->digest);
}

const struct pool_ops verity_worker_ops = {
	.worker_init = verity_worker_init,
	.worker_done = verity_worker_done,
};

int st_verity_digest_many(struct st_verity_job *jobs, size_t n_jobs, unsigned threads)
{
	void *self = NULL;
	int r;

	if (n_jobs == 0)
		return 0;
	if (!jobs)
		return -EINVAL;

	r = verity_worker_init(NULL, &self);
	if (r < 0)
		return r;
	r = pool_for_each(threads ? MIN(threads, VERITY_MAX_THREADS) : cpus_available(VERITY_MAX_THREADS), n_jobs,
			  &verity_worker_ops, jobs, self, digest_job);
	verity_worker_done(NULL, self);
	return r;
}
