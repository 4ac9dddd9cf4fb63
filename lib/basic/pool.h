/* SPDX-License-Identifier: MIT */
/*
 * The one worker pool of the library. The calling thread is always one of
 * the workers, and a thread that cannot be started only costs parallelism
 * (the others take its share). Each thread has a state of its own (a hasher,
 * a read buffer...) made by ops->worker_init before it starts; the caller
 * passes its own state in.
 *
 * Two ways to hand out work:
 *  - pool_for_each(): items 0..n-1, each thread taking the next index from
 *    one atomic counter, so a few large items do not leave threads idle the
 *    way a static split would;
 *  - pool_new()/pool_submit()/pool_drain(): a producer queues jobs (copied
 *    into a bounded ring) while it goes on producing; when the ring is full
 *    it either waits for room or runs the job itself; pool_drain() has it
 *    help until every job is done.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>

struct pool_ops {
	/* Make a thread's state (*ret_state may be left NULL). A failure leaves that thread out. May be NULL. */
	int (*worker_init)(void *userdata, void **ret_state);
	/* Release a state made by worker_init. May be NULL. */
	void (*worker_done)(void *userdata, void *state);
	/* Queue mode: run one job (job_size bytes, a copy of what was submitted). */
	void (*run)(void *userdata, void *state, void *job);
	/* Queue mode: a job still queued when the pool is freed (release what it holds). May be NULL. */
	void (*discard)(void *userdata, void *job);
	size_t job_size;        /* queue mode */
	size_t queue_cap;       /* queue mode: jobs the ring holds */
};

/* More threads than this only add contention. */
#define POOL_THREADS_MAX 256u

/*
 * Run fn(userdata, state, i) for every i in 0..n-1 on up to threads
 * threads (at most n and POOL_THREADS_MAX; the caller's thread, with
 * caller_state, is one of them). Only ops->worker_init and worker_done are
 * used; ops may be NULL. Returns 0 once every item ran, or -ENOMEM if the
 * threads' bookkeeping could not be allocated (then no item ran).
 */
int pool_for_each(unsigned threads, size_t n, const struct pool_ops *ops, void *userdata, void *caller_state,
		  void (*fn)(void *userdata, void *state, size_t i));

struct pool;

/*
 * Start threads - 1 workers (threads is clamped to 1..POOL_THREADS_MAX; the
 * producer is the last one) running ops->run on queued jobs. Returns 0 or
 * -ENOMEM; -EINVAL for a zero job_size or queue_cap.
 */
int pool_new(const struct pool_ops *ops, void *userdata, unsigned threads, struct pool **ret);

/* Workers that started (0: every job runs on the producer's thread). */
unsigned pool_n_workers(const struct pool *p);

/*
 * Queue a copy of job. If the ring is full: with wait, block until a
 * worker takes a job; without, run it now on the producer's thread with
 * caller_state. With no worker at all the job always runs now.
 */
void pool_submit(struct pool *p, void *caller_state, const void *job, bool wait);

/*
 * Help with queued jobs (with caller_state) until every job submitted so far
 * is done. If tick is not NULL it is called on the producer's thread about
 * every tick_ns nanoseconds while waiting for workers, and once at the end.
 */
void pool_drain(struct pool *p, void *caller_state, void (*tick)(void *userdata), void *tick_userdata,
		long tick_ns);

/* Stop the workers (jobs still queued go to ops->discard, not run) and free. Accepts NULL; returns NULL. */
struct pool *pool_free(struct pool *p);
