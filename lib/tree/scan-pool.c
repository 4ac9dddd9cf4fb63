/* SPDX-License-Identifier: MIT */
/*
 * The scan's worker pool: the walker queues regular files while it keeps
 * walking, threads - 1 workers hash (and copy) them.
 *
 * The queue is bounded because every queued job pins its directory's fd.
 * When it is full the walker runs the job itself instead of waiting, so all
 * threads stay busy whichever side is the bottleneck, and once the walk is
 * over the walker drains the queue alongside the workers.
 */
#include <errno.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "scan-internal.h"

#define QUEUE_CAP 256
#define THREADS_MAX 256
#define PROGRESS_INTERVAL_NS 100000000L

struct pool_thread {
	struct scan_pool *pool;
	struct scan_worker w;
	pthread_t thread;
	bool started;
};

struct scan_pool {
	struct scan_ctx *ctx;
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a job was queued, or closing */
	pthread_cond_t progress;        /* a job finished */
	struct scan_job ring[QUEUE_CAP];
	size_t head, count;
	unsigned busy;                  /* jobs being run by workers or the walker */
	bool closing;
	struct pool_thread *threads;
	unsigned n_threads;
};

static bool pop_locked(struct scan_pool *p, struct scan_job *ret)
{
	if (p->count == 0)
		return false;
	*ret = p->ring[p->head];
	p->head = (p->head + 1) % QUEUE_CAP;
	p->count--;
	p->busy++;
	return true;
}

static void run_and_finish(struct scan_pool *p, struct scan_worker *w, struct scan_job *job)
{
	(void)scan_run_job(p->ctx, w, job);
	pthread_mutex_lock(&p->lock);
	p->busy--;
	pthread_cond_signal(&p->progress);
	pthread_mutex_unlock(&p->lock);
}

static void *worker_main(void *userdata)
{
	struct pool_thread *t = userdata;
	struct scan_pool *p = t->pool;
	struct scan_job job;

	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !p->closing)
			pthread_cond_wait(&p->work, &p->lock);
		if (!pop_locked(p, &job)) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		pthread_mutex_unlock(&p->lock);
		run_and_finish(p, &t->w, &job);
	}
}

int scan_pool_new(struct scan_ctx *ctx, unsigned threads, struct scan_pool **ret)
{
	struct scan_pool *p;
	int r;

	p = new0(struct scan_pool, 1);
	if (!p)
		return -ENOMEM;
	p->ctx = ctx;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->progress, NULL);

	/* The walker is one of the threads. */
	threads = MIN(MAX(threads, 1u), (unsigned)THREADS_MAX);
	if (threads > 1) {
		p->threads = new0(struct pool_thread, threads - 1);
		if (!p->threads) {
			scan_pool_free(p);
			return -ENOMEM;
		}
	}
	for (unsigned i = 0; i + 1 < threads; i++) {
		struct pool_thread *t = &p->threads[i];

		t->pool = p;
		r = scan_worker_init(&t->w);
		if (r < 0) {
			scan_pool_free(p);
			return r;
		}
		p->n_threads++;
		/* A thread that cannot start only costs parallelism: the walker runs its share. */
		t->started = pthread_create(&t->thread, NULL, worker_main, t) == 0;
	}
	*ret = p;
	return 0;
}

int scan_pool_submit(struct scan_pool *p, struct scan_worker *self, const struct scan_job *job)
{
	struct scan_job local = *job;

	if (p->n_threads > 0) {
		pthread_mutex_lock(&p->lock);
		if (p->count < QUEUE_CAP) {
			p->ring[(p->head + p->count) % QUEUE_CAP] = *job;
			p->count++;
			pthread_cond_signal(&p->work);
			pthread_mutex_unlock(&p->lock);
			return 0;
		}
		pthread_mutex_unlock(&p->lock);
	}
	return scan_run_job(p->ctx, self, &local);
}

static void report(struct scan_ctx *ctx, st_scan_progress_fn progress, void *userdata)
{
	if (progress)
		progress(userdata, atomic_load(&ctx->files_done), atomic_load(&ctx->files_total),
			 atomic_load(&ctx->bytes_done), atomic_load(&ctx->bytes_total));
}

int scan_pool_drain(struct scan_pool *p, struct scan_worker *self, st_scan_progress_fn progress, void *userdata)
{
	struct scan_job job;

	for (;;) {
		struct timespec deadline;

		pthread_mutex_lock(&p->lock);
		if (pop_locked(p, &job)) {
			pthread_mutex_unlock(&p->lock);
			run_and_finish(p, self, &job);
			continue;
		}
		if (p->busy == 0) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		clock_gettime(CLOCK_REALTIME, &deadline);
		deadline.tv_nsec += PROGRESS_INTERVAL_NS;
		if (deadline.tv_nsec >= 1000000000L) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000L;
		}
		(void)pthread_cond_timedwait(&p->progress, &p->lock, &deadline);
		pthread_mutex_unlock(&p->lock);
		report(p->ctx, progress, userdata);
	}
	report(p->ctx, progress, userdata);
	return atomic_load(&p->ctx->error);
}

struct scan_pool *scan_pool_free(struct scan_pool *p)
{
	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	for (unsigned i = 0; i < p->n_threads; i++) {
		if (p->threads[i].started)
			(void)pthread_join(p->threads[i].thread, NULL);
		scan_worker_done(&p->threads[i].w);
	}
	/* Workers exit only on an empty queue, but the walker may have stopped early. */
	for (; p->count > 0; p->count--, p->head = (p->head + 1) % QUEUE_CAP)
		scan_dir_unref(p->ring[p->head].dir);
	free(p->threads);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->progress);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}
