/* SPDX-License-Identifier: MIT */
/*
 * Digests of many files over a small thread pool.
 *
 * Workers take the next job from one atomic index, so a few huge files do
 * not leave other threads idle the way a static split would. Each worker
 * owns a hasher and a read buffer for its whole life: per file the cost is
 * openat, fstat, pread(s), close and the hashing itself. The calling thread
 * is one of the workers.
 */
#include <fcntl.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "verity/verity-internal.h"

struct pool {
	struct st_verity_job *jobs;
	size_t n_jobs;
	atomic_size_t next;
};

struct worker {
	struct pool *pool;
	struct st_verity_hasher *hasher;
	void *buf;
	pthread_t thread;
	bool started;
};

static int digest_job(struct worker *w, struct st_verity_job *job)
{
	_cleanup_close_ int fd = -EBADF;

	/* O_NONBLOCK: a FIFO among the jobs must fail (-EINVAL), not hang. */
	fd = openat(job->dirfd, job->path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return negative_errno();
	return st_verity_hasher_digest_fd(w->hasher, fd, w->buf, VERITY_READ_BUFFER_SIZE, job->digest);
}

static void *worker_run(void *userdata)
{
	struct worker *w = userdata;
	struct pool *p = w->pool;

	for (;;) {
		size_t i = atomic_fetch_add_explicit(&p->next, 1, memory_order_relaxed);

		if (i >= p->n_jobs)
			break;
		p->jobs[i].result = digest_job(w, &p->jobs[i]);
	}
	return NULL;
}

unsigned verity_available_cpus(void)
{
	cpu_set_t set;
	int n;

	if (sched_getaffinity(0, sizeof(set), &set) < 0)
		return 1;
	n = CPU_COUNT(&set);
	return n > 0 ? (unsigned)n : 1;
}

static void workers_free(struct worker *w, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		st_verity_hasher_free(w[i].hasher);
		free(w[i].buf);
	}
	free(w);
}

int st_verity_digest_many(struct st_verity_job *jobs, size_t n_jobs, unsigned threads)
{
	struct pool pool = { .jobs = jobs, .n_jobs = n_jobs };
	struct worker *workers;
	size_t n_workers;
	int r = 0;

	if (n_jobs == 0)
		return 0;
	if (!jobs)
		return -EINVAL;

	if (threads == 0)
		threads = verity_available_cpus();
	n_workers = MIN(MIN((size_t)threads, n_jobs), (size_t)VERITY_MAX_THREADS);

	workers = new0(struct worker, n_workers);
	if (!workers)
		return -ENOMEM;
	for (size_t i = 0; i < n_workers; i++) {
		workers[i].pool = &pool;
		workers[i].buf = verity_read_buffer_new(VERITY_READ_BUFFER_SIZE);
		if (!workers[i].buf) {
			r = -ENOMEM;
			goto finish;
		}
		r = st_verity_hasher_new(&workers[i].hasher);
		if (r < 0)
			goto finish;
	}

	/* If a thread cannot start, the others (and we) take its share. */
	for (size_t i = 1; i < n_workers; i++)
		workers[i].started = pthread_create(&workers[i].thread, NULL, worker_run, &workers[i]) == 0;
	worker_run(&workers[0]);
	for (size_t i = 1; i < n_workers; i++)
		if (workers[i].started)
			(void)pthread_join(workers[i].thread, NULL);

finish:
	workers_free(workers, n_workers);
	return r;
}
