/* SPDX-License-Identifier: MIT */
/*
 * The scan's jobs on the worker pool (basic/pool.h): the walker queues
 * regular files while it keeps walking, threads - 1 workers hash (and copy)
 * them.
 *
 * The queue is bounded because every queued job pins its directory's fd.
 * When it is full the walker runs the job itself instead of waiting, so all
 * threads stay busy whichever side is the bottleneck, and once the walk is
 * over the walker drains the queue alongside the workers.
 */
#include <errno.h>

#include "basic/pool.h"
#include "scan-internal.h"

#define QUEUE_CAP 256
#define PROGRESS_INTERVAL_NS 100000000L

struct scan_pool {
	struct pool *pool;
	struct scan_ctx *ctx;
	st_scan_progress_fn progress;   /* while draining */
	void *progress_userdata;
};

static int worker_init(void *userdata, void **ret_state)
{
	struct scan_worker *w = new0(struct scan_worker, 1);
	int r;

	(void)userdata;
	if (!w)
		return -ENOMEM;
	r = scan_worker_init(w);
	if (r < 0) {
		free(w);
		return r;
	}
	*ret_state = w;
	return 0;
}

static void worker_done(void *userdata, void *state)
{
	(void)userdata;
	if (!state)
		return;
	scan_worker_done(state);
	free(state);
}

static void run(void *userdata, void *state, void *job)
{
	(void)scan_run_job(userdata, state, job);       /* a failure is recorded in the ctx */
}

static void discard(void *userdata, void *job)
{
	(void)userdata;
	scan_dir_unref(((struct scan_job *)job)->dir);
}

static const struct pool_ops scan_ops = {
	.worker_init = worker_init,
	.worker_done = worker_done,
	.run = run,
	.discard = discard,
	.job_size = sizeof(struct scan_job),
	.queue_cap = QUEUE_CAP,
};

int scan_pool_new(struct scan_ctx *ctx, unsigned threads, struct scan_pool **ret)
{
	struct scan_pool *p = new0(struct scan_pool, 1);
	int r;

	if (!p)
		return -ENOMEM;
	p->ctx = ctx;
	/* The walker is one of the threads. */
	r = pool_new(&scan_ops, ctx, threads, &p->pool);
	if (r < 0) {
		free(p);
		return r;
	}
	*ret = p;
	return 0;
}

int scan_pool_submit(struct scan_pool *p, struct scan_worker *self, const struct scan_job *job)
{
	pool_submit(p->pool, self, job, false);
	return atomic_load_explicit(&p->ctx->error, memory_order_relaxed);
}

static void report(void *userdata)
{
	struct scan_pool *p = userdata;
	struct scan_ctx *ctx = p->ctx;

	if (p->progress)
		p->progress(p->progress_userdata, atomic_load(&ctx->files_done), atomic_load(&ctx->files_total),
			    atomic_load(&ctx->bytes_done), atomic_load(&ctx->bytes_total));
}

int scan_pool_drain(struct scan_pool *p, struct scan_worker *self, st_scan_progress_fn progress, void *userdata)
{
	p->progress = progress;
	p->progress_userdata = userdata;
	pool_drain(p->pool, self, report, p, PROGRESS_INTERVAL_NS);
	return atomic_load(&p->ctx->error);
}

struct scan_pool *scan_pool_free(struct scan_pool *p)
{
	if (!p)
		return NULL;
	pool_free(p->pool);
	free(p);
	return NULL;
}
