/* SPDX-License-Identifier: MIT */
/* The one worker pool (pool.h): an index loop and a bounded job queue. */
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "macro.h"
#include "pool.h"

struct thread {
	pthread_t thread;
	void *state;
	bool started;
	void *owner;            /* struct for_each or struct pool */
};

/* Make up to n - 1 thread states; returns how many threads may start. */
static size_t threads_init(const struct pool_ops *ops, void *userdata, struct thread *t, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i + 1 < n; i++) {
		void *state = NULL;

		if (ops && ops->worker_init && ops->worker_init(userdata, &state) < 0)
			continue;       /* that thread is left out */
		t[k++].state = state;
	}
	return k;
}

static void threads_join(const struct pool_ops *ops, void *userdata, struct thread *t, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (t[i].started)
			(void)pthread_join(t[i].thread, NULL);
		if (ops && ops->worker_done)
			ops->worker_done(userdata, t[i].state);
	}
}

/* ---- pool_for_each ----------------------------------------------------------- */

struct for_each {
	size_t n;
	atomic_size_t next;
	void *userdata;
	void (*fn)(void *userdata, void *state, size_t i);
};

static void for_each_loop(struct for_each *fe, void *state)
{
	for (;;) {
		size_t i = atomic_fetch_add_explicit(&fe->next, 1, memory_order_relaxed);

		if (i >= fe->n)
			break;
		fe->fn(fe->userdata, state, i);
	}
}

static void *for_each_thread(void *userdata)
{
	struct thread *t = userdata;

	for_each_loop(t->owner, t->state);
	return NULL;
}

int pool_for_each(unsigned threads, size_t n, const struct pool_ops *ops, void *userdata, void *caller_state,
		  void (*fn)(void *userdata, void *state, size_t i))
{
	struct for_each fe = { .n = n, .userdata = userdata, .fn = fn };
	_cleanup_free_ struct thread *t = NULL;
	size_t n_threads = MIN(MIN((size_t)MAX(threads, 1u), n), (size_t)POOL_THREADS_MAX), k;

	if (n == 0)
		return 0;
	if (n_threads > 1) {
		t = new0(struct thread, n_threads - 1);
		if (!t)
			return -ENOMEM;
	}
	k = threads_init(ops, userdata, t, n_threads);
	for (size_t i = 0; i < k; i++) {
		t[i].owner = &fe;
		t[i].started = pthread_create(&t[i].thread, NULL, for_each_thread, &t[i]) == 0;
	}
	for_each_loop(&fe, caller_state);
	threads_join(ops, userdata, t, k);
	return 0;
}

/* ---- the job queue ------------------------------------------------------------ */

struct pool {
	struct pool_ops ops;
	void *userdata;
	pthread_mutex_t lock;
	pthread_cond_t work;            /* a job was queued, or closing */
	pthread_cond_t progress;        /* a job was taken or finished */
	uint8_t *ring;                  /* queue_cap jobs of job_size bytes */
	size_t head, count;
	unsigned busy;                  /* jobs being run */
	bool closing;
	struct thread *threads;
	size_t n_threads;               /* with a state; started or not */
	unsigned n_started;
};

static void *slot(struct pool *p, size_t i)
{
	return p->ring + ((p->head + i) % p->ops.queue_cap) * p->ops.job_size;
}

/* Take the oldest job into buf (locked). */
static bool pop_locked(struct pool *p, void *buf)
{
	if (p->count == 0)
		return false;
	memcpy(buf, slot(p, 0), p->ops.job_size);
	p->head = (p->head + 1) % p->ops.queue_cap;
	p->count--;
	p->busy++;
	pthread_cond_broadcast(&p->progress);   /* room for a waiting producer */
	return true;
}

static void run_and_finish(struct pool *p, void *state, void *job)
{
	p->ops.run(p->userdata, state, job);
	pthread_mutex_lock(&p->lock);
	p->busy--;
	pthread_cond_broadcast(&p->progress);
	pthread_mutex_unlock(&p->lock);
}

static void *queue_thread(void *userdata)
{
	struct thread *t = userdata;
	struct pool *p = t->owner;
	_cleanup_free_ void *job = malloc(p->ops.job_size);

	if (!job)
		return NULL;    /* the others take this thread's share */
	for (;;) {
		pthread_mutex_lock(&p->lock);
		while (p->count == 0 && !p->closing)
			pthread_cond_wait(&p->work, &p->lock);
		if (p->closing || !pop_locked(p, job)) {
			pthread_mutex_unlock(&p->lock);
			return NULL;
		}
		pthread_mutex_unlock(&p->lock);
		run_and_finish(p, t->state, job);
	}
}

int pool_new(const struct pool_ops *ops, void *userdata, unsigned threads, struct pool **ret)
{
	struct pool *p;

	if (!ops || !ops->run || ops->job_size == 0 || ops->queue_cap == 0)
		return -EINVAL;
	p = new0(struct pool, 1);
	if (!p)
		return -ENOMEM;
	p->ops = *ops;
	p->userdata = userdata;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->work, NULL);
	pthread_cond_init(&p->progress, NULL);
	p->ring = malloc_array(ops->queue_cap, ops->job_size);
	threads = MIN(MAX(threads, 1u), POOL_THREADS_MAX);
	if (threads > 1)
		p->threads = new0(struct thread, threads - 1);
	if (!p->ring || (threads > 1 && !p->threads)) {
		pool_free(p);
		return -ENOMEM;
	}
	p->n_threads = threads_init(ops, userdata, p->threads, threads);
	for (size_t i = 0; i < p->n_threads; i++) {
		struct thread *t = &p->threads[i];

		t->owner = p;
		t->started = pthread_create(&t->thread, NULL, queue_thread, t) == 0;
		p->n_started += t->started;
	}
	*ret = p;
	return 0;
}

unsigned pool_n_workers(const struct pool *p)
{
	return p->n_started;
}

void pool_submit(struct pool *p, void *caller_state, const void *job, bool wait)
{
	_cleanup_free_ void *local = NULL;

	if (p->n_started > 0) {
		pthread_mutex_lock(&p->lock);
		while (wait && p->count == p->ops.queue_cap)
			pthread_cond_wait(&p->progress, &p->lock);
		if (p->count < p->ops.queue_cap) {
			memcpy(slot(p, p->count), job, p->ops.job_size);
			p->count++;
			pthread_cond_signal(&p->work);
			pthread_mutex_unlock(&p->lock);
			return;
		}
		pthread_mutex_unlock(&p->lock);
	}
	/* run() may change its job: give it a copy, as a worker gets. */
	local = malloc(p->ops.job_size);
	if (local) {
		memcpy(local, job, p->ops.job_size);
		p->ops.run(p->userdata, caller_state, local);
	} else {
		p->ops.run(p->userdata, caller_state, (void *)job);
	}
}

void pool_drain(struct pool *p, void *caller_state, void (*tick)(void *userdata), void *tick_userdata,
		long tick_ns)
{
	_cleanup_free_ void *job = malloc(p->ops.job_size);

	for (;;) {
		struct timespec deadline;

		pthread_mutex_lock(&p->lock);
		if (job && pop_locked(p, job)) {
			pthread_mutex_unlock(&p->lock);
			run_and_finish(p, caller_state, job);
			continue;
		}
		if (p->count == 0 && p->busy == 0) {
			pthread_mutex_unlock(&p->lock);
			break;
		}
		if (tick) {
			clock_gettime(CLOCK_REALTIME, &deadline);
			deadline.tv_nsec += tick_ns;
			while (deadline.tv_nsec >= 1000000000L) {
				deadline.tv_sec++;
				deadline.tv_nsec -= 1000000000L;
			}
			(void)pthread_cond_timedwait(&p->progress, &p->lock, &deadline);
		} else {
			pthread_cond_wait(&p->progress, &p->lock);
		}
		pthread_mutex_unlock(&p->lock);
		if (tick)
			tick(tick_userdata);
	}
	if (tick)
		tick(tick_userdata);
}

struct pool *pool_free(struct pool *p)
{
	if (!p)
		return NULL;
	pthread_mutex_lock(&p->lock);
	p->closing = true;
	pthread_cond_broadcast(&p->work);
	pthread_mutex_unlock(&p->lock);
	if (p->threads)
		threads_join(&p->ops, p->userdata, p->threads, p->n_threads);
	for (; p->count > 0; p->count--, p->head = (p->head + 1) % p->ops.queue_cap)
		if (p->ops.discard)
			p->ops.discard(p->userdata, slot(p, 0));
	free(p->threads);
	free(p->ring);
	pthread_cond_destroy(&p->work);
	pthread_cond_destroy(&p->progress);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}
