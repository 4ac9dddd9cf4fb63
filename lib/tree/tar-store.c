/* SPDX-License-Identifier: MIT */
/*
 * The object writers of a tar import. A tar stream is read by one thread,
 * but publishing an object is a direct write plus a handful of metadata
 * calls that wait for the disk (about 1.5 ms here): one file after the other
 * that bounded /usr/include (8000 files) at 9.5 s. So the reader hands each
 * file it has read completely (and checked to end where its header says) to
 * this pool, whose threads hash it, name the node after its digest and
 * publish the object, while the reader goes on with the next members.
 *
 * A queued node belongs to the pool until tar_pool_finish(): the workers
 * write only its digest, has_digest and payload; the reader may still add
 * xattrs or count links on it (other fields) but reads none of those three.
 * The first failure wins; its message names the member.
 */
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "basic/error.h"
#include "basic/pool.h"
#include "scan-internal.h"
#include "sealtree/verity.h"
#include "tar-store.h"

#define QUEUE_CAP 64

struct pool_job {
	struct st_node *node;
	uint8_t *data;                  /* owned; ST_STORE_IO_ALIGN-aligned */
	size_t size;
	char member[128];
};

struct tar_pool {
	struct st_digest_store *store;
	struct pool *pool;
	struct st_verity_hasher *self;  /* the reader's, for jobs it runs itself */
	pthread_mutex_t lock;           /* guards what follows */
	int error;                      /* first failure, 0 if none */
	char *error_msg;
	uint64_t objects_written;
	void (*file_sha256)(void *userdata, const uint8_t sha256[32], const uint8_t digest[32]);
	void *file_sha256_userdata;
};

static void fail_locked(struct tar_pool *p, int r, const struct pool_job *job, const char *fmt, ...)
	_printf_(4, 5);

static void fail_locked(struct tar_pool *p, int r, const struct pool_job *job, const char *fmt, ...)
{
	char what[512];
	va_list ap;

	if (p->error)
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	p->error = r;
	if (asprintf(&p->error_msg, "tar member '%s': %s", job->member, what) < 0)
		p->error_msg = NULL;
}

/* Hash, name and publish one file. Returns 1 if this call published the object. */
static int run_job(struct tar_pool *p, struct st_verity_hasher *h, struct pool_job *job, char *why, size_t why_len)
{
	char payload[SCAN_PAYLOAD_LEN + 1];
	struct st_node *n = job->node;
	struct st_store_object obj;
	int r, published = 0;

	r = st_verity_hasher_update(h, job->data, job->size);
	if (r >= 0)
		r = st_verity_hasher_final(h, n->digest);
	if (r < 0) {
		st_verity_hasher_reset(h);
		snprintf(why, why_len, "cannot hash its contents");
		return r;
	}
	r = st_digest_store_has(p->store, n->digest, n->size);
	if (r == 0) {
		r = st_digest_store_begin(p->store, n->digest, &obj);
		if (r >= 0) {
			r = st_digest_store_write(&obj, job->data, job->size);
			if (r < 0)
				st_digest_store_abort(&obj);
			else
				r = published = st_digest_store_commit(p->store, &obj);
		}
	}
	if (r < 0) {
		snprintf(why, why_len, "%s", st_error_detail() ?: "cannot store its object");
		return r;
	}
	n->has_digest = true;
	scan_digest_to_payload(n->digest, payload);
	r = node_set_payload(n, payload, SCAN_PAYLOAD_LEN);
	if (r < 0) {
		snprintf(why, why_len, "out of memory");
		return r;
	}
	if (p->file_sha256) {
		uint8_t sha[32];
		unsigned len = sizeof(sha);

		if (EVP_Digest(job->data, job->size, sha, &len, EVP_sha256(), NULL) == 1)
			p->file_sha256(p->file_sha256_userdata, sha, n->digest);
	}
	return published;
}

static int worker_init(void *userdata, void **ret_state)
{
	struct st_verity_hasher *h = NULL;
	int r = st_verity_hasher_new(&h);

	(void)userdata;
	if (r < 0)
		return r;
	*ret_state = h;
	return 0;
}

static void worker_done(void *userdata, void *state)
{
	(void)userdata;
	st_verity_hasher_free(state);
}

static void run(void *userdata, void *state, void *j)
{
	struct tar_pool *p = userdata;
	struct pool_job *job = j;
	bool failed;
	char why[512];
	int r;

	pthread_mutex_lock(&p->lock);
	failed = p->error != 0;
	pthread_mutex_unlock(&p->lock);
	if (!failed) {
		/* Jobs after the first failure are dropped. */
		st_error_clear();
		r = run_job(p, state, job, why, sizeof(why));
		pthread_mutex_lock(&p->lock);
		if (r < 0)
			fail_locked(p, r, job, "%s", why);
		else
			p->objects_written += (uint64_t)r;
		pthread_mutex_unlock(&p->lock);
	}
	free(job->data);
}

static void discard(void *userdata, void *job)
{
	(void)userdata;
	free(((struct pool_job *)job)->data);
}

static const struct pool_ops tar_ops = {
	.worker_init = worker_init,
	.worker_done = worker_done,
	.run = run,
	.discard = discard,
	.job_size = sizeof(struct pool_job),
	.queue_cap = QUEUE_CAP,
};

int tar_pool_new(struct st_digest_store *store, unsigned threads, struct tar_pool **ret)
{
	struct tar_pool *p = new0(struct tar_pool, 1);
	int r;

	if (!p)
		return -ENOMEM;
	p->store = store;
	pthread_mutex_init(&p->lock, NULL);
	r = st_verity_hasher_new(&p->self);
	/* threads workers besides the reader, which waits while the queue is full. */
	if (r >= 0)
		r = pool_new(&tar_ops, p, threads + 1, &p->pool);
	if (r < 0) {
		tar_pool_free(p);
		return r;
	}
	*ret = p;
	return 0;
}

void tar_pool_set_sha256(struct tar_pool *p, void (*fn)(void *userdata, const uint8_t sha256[32],
							 const uint8_t digest[32]), void *userdata)
{
	p->file_sha256 = fn;
	p->file_sha256_userdata = userdata;
}

int tar_pool_submit(struct tar_pool *p, struct st_node *node, uint8_t *data, size_t size, const char *member)
{
	struct pool_job job = { .node = node, .data = data, .size = size };
	int r;

	pthread_mutex_lock(&p->lock);
	r = p->error;
	pthread_mutex_unlock(&p->lock);
	if (r < 0) {
		free(data);
		return tar_pool_finish(p, NULL);
	}
	snprintf(job.member, sizeof(job.member), "%s", member);
	pool_submit(p->pool, p->self, &job, true);
	return 0;
}

int tar_pool_finish(struct tar_pool *p, uint64_t *ret_objects_written)
{
	int r;

	pool_drain(p->pool, p->self, NULL, NULL, 0);
	r = p->error;
	if (r < 0)
		return st_errf(r, "%s", p->error_msg ? p->error_msg : "tar: storing an object failed");
	if (ret_objects_written)
		*ret_objects_written = p->objects_written;
	return 0;
}

struct tar_pool *tar_pool_free(struct tar_pool *p)
{
	if (!p)
		return NULL;
	pool_free(p->pool);     /* queued files are dropped */
	st_verity_hasher_free(p->self);
	free(p->error_msg);
	pthread_mutex_destroy(&p->lock);
	free(p);
	return NULL;
}
