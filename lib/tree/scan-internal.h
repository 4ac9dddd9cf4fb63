/* SPDX-License-Identifier: MIT */
/*
 * Directory scan internals, shared by the walker (scan.c), the per-entry
 * metadata readers (scan-entry.c), the hashing pool (scan-pool.c) and the
 * hardlink map (scan-links.c).
 *
 * Threads: one scanning thread walks the tree, builds every node and hands
 * each regular file to the pool as a job. A job owns its node until the pool
 * is joined: the walker never touches a node after queueing it, and the
 * workers touch nothing but their job's node (and read the immutable names
 * and parent pointers of its ancestors to name it in an error).
 */
#pragma once

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sealtree/scan.h"
#include "digest-store.h"
#include "tree-internal.h"

/* Deeper trees are refused (each level holds a directory fd open). */
#define SCAN_DEPTH_MAX 1024
/* Files up to this size are read into memory in one go and hashed from there. */
#define SCAN_WHOLE_READ_MAX (1024u * 1024u)
/* Largest xattr value Linux supports (XATTR_SIZE_MAX). */
#define SCAN_XATTR_VALUE_BUF (64u * 1024u)

/* An open directory shared by the walker and the jobs that still need it. */
struct scan_dir {
	int fd;
	atomic_uint refs;
};

struct scan_dir *scan_dir_ref(struct scan_dir *d);
void scan_dir_unref(struct scan_dir *d);

/* What the walker saw of a file, to detect changes before/after reading it. */
struct scan_identity {
	dev_t dev;
	ino_t ino;
	uint64_t size;
	struct timespec mtime, ctime;
};

void scan_identity_from_stat(struct scan_identity *id, const struct stat *st);
bool scan_identity_equal(const struct scan_identity *a, const struct scan_identity *b);

/* Per-thread scratch space: read buffer, xattr buffers, digest state. */
struct scan_worker {
	uint8_t *buf;                   /* SCAN_WHOLE_READ_MAX bytes */
	char *xattr_list;               /* grown as needed */
	size_t xattr_list_cap;
	uint8_t *xattr_value;           /* SCAN_XATTR_VALUE_BUF bytes */
	struct st_verity_hasher *hasher;
};

int scan_worker_init(struct scan_worker *w);
void scan_worker_done(struct scan_worker *w);

struct scan_ctx;

/*
 * A regular file to finish: open it from its directory, take (or check) its
 * metadata, read its xattrs and, if it is not empty, its digest/content.
 */
struct scan_job {
	struct st_node *node;
	struct scan_dir *dir;           /* one reference, dropped once opened */
	bool have_stat;                 /* identity holds the walker's stat */
	struct scan_identity identity;
};

/* Everything one st_scan_directory() call shares between its threads. */
struct scan_ctx {
	unsigned flags;                 /* enum st_scan_flags */
	const char *root_path;          /* for error messages */
	struct st_digest_store *store;  /* NULL = no copies */
	const struct st_scan_cache_ops *cache;  /* NULL = no cache */
	void *cache_userdata;

	/* First failure wins; the others are dropped. */
	pthread_mutex_t err_lock;
	atomic_int error;               /* 0 or negative errno */
	char *error_msg;                /* detail for st_errf() on the caller's thread */

	atomic_uint_fast64_t files_done, bytes_done;
	atomic_uint_fast64_t files_total, bytes_total;
	atomic_uint_fast64_t files_hashed, files_cached, objects_written;
};

/*
 * Record a failure about node (may be NULL for the root) from any thread.
 * Returns r. The message is prefixed with the file's path.
 */
int scan_fail(struct scan_ctx *ctx, const struct st_node *node, const char *name, int r, const char *fmt, ...)
	_printf_(5, 6);

static inline bool scan_failed(struct scan_ctx *ctx)
{
	return atomic_load_explicit(&ctx->error, memory_order_relaxed) != 0;
}

/* Fill a node's metadata from a stat, as the reference's lcfs_build does. */
void scan_node_from_stat(struct scan_ctx *ctx, struct st_node *node, const struct stat *st);

/* Read all xattrs of an open file (not O_PATH) into node. */
int scan_read_xattrs_fd(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int fd);

/* Read all xattrs of dirfd/name without following a symlink (any file type). */
int scan_read_xattrs_at(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int dirfd, const char *name);

/* Run one job on the calling thread. Returns 0 or a recorded failure. */
int scan_run_job(struct scan_ctx *ctx, struct scan_worker *w, struct scan_job *job);

/* The worker pool: a bounded queue of jobs and threads - 1 workers. */
struct scan_pool;

int scan_pool_new(struct scan_ctx *ctx, unsigned threads, struct scan_pool **ret);
/*
 * Queue a job (takes over job->dir's reference). When the queue is full the
 * caller runs the job itself, so the walker helps rather than waits.
 */
int scan_pool_submit(struct scan_pool *pool, struct scan_worker *self, const struct scan_job *job);
/* Run queued jobs on the caller until the queue is empty and every worker idle. */
int scan_pool_drain(struct scan_pool *pool, struct scan_worker *self, st_scan_progress_fn progress, void *userdata);
/* Stop and join the workers; unfinished jobs are dropped. */
struct scan_pool *scan_pool_free(struct scan_pool *pool);

/* Hardlink map: (dev, ino) -> first node seen, with the number of links found. */
struct scan_links;

int scan_links_new(struct scan_links **ret);
/* Returns the node already registered for (dev, ino), or registers node and returns NULL. */
int scan_links_lookup_or_add(struct scan_links *l, dev_t dev, ino_t ino, struct st_node *node, struct st_node **ret_existing);
/* Set every registered node's nlink to the number of links met in the tree. */
void scan_links_apply_nlink(struct scan_links *l);
struct scan_links *scan_links_free(struct scan_links *l);

/* Payload for a digest: "xx/" + 62 hex digits. */
#define SCAN_PAYLOAD_LEN (2 + 1 + 62)
void scan_digest_to_payload(const uint8_t digest[ST_DIGEST_SIZE], char out[SCAN_PAYLOAD_LEN + 1]);
