/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/verity: the pieces the fd reader, the thread pool and the
 * test helper share.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <sys/stat.h>

#include "basic/pool.h"
#include "sealtree/verity.h"

/* Read buffer for files: large preads amortise syscalls, see digest-fd.c. */
#define VERITY_READ_BUFFER_SIZE ((size_t)2 << 20)

/* More threads than this only add contention on the page cache. */
#define VERITY_MAX_THREADS 256u

/*
 * One file is hashed on several threads in subtrees of 128^2 data blocks
 * (64 MiB): such a run fills exactly one block at the second hash level, so
 * its root is one hash there, and the subtrees' roots, in order, continue the
 * tree as if one thread had done all the work.
 */
#define VERITY_SUBTREE_LEVEL 2
#define VERITY_SUBTREE_BYTES ((uint64_t)ST_VERITY_BLOCK_SIZE * 128 * 128)

/* After feeding exactly VERITY_SUBTREE_BYTES: the subtree's root; resets h. */
int verity_hasher_subtree_root(struct st_verity_hasher *h, uint8_t root[32]);

/*
 * Start a freshly reset hasher with n subtree roots, as if n *
 * VERITY_SUBTREE_BYTES of data had been fed; feed the rest of the file after.
 */
int verity_hasher_inject_subtrees(struct st_verity_hasher *h, const uint8_t *roots, size_t n);

/*
 * Hash [start, end) of fd into h (end must be within the file size as seen by
 * fstat). With sparse, holes are found with SEEK_DATA/SEEK_HOLE and fed as
 * zeros. -ENODATA if the file turns out shorter than end.
 */
int verity_hash_extent(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
		       uint64_t start, uint64_t end, bool sparse);

/* Whether walking fd with SEEK_DATA/SEEK_HOLE is worth it (it has holes). */
bool verity_file_is_sparse(const struct stat *st, size_t buf_size);

/*
 * A page-aligned read buffer of size bytes, or NULL. Free with free().
 */
void *verity_read_buffer_new(size_t size);

/* What each hashing thread keeps for its whole life (pool.c). */
struct verity_worker {
	struct st_verity_hasher *hasher;
	void *buf;                      /* VERITY_READ_BUFFER_SIZE bytes */
};
int verity_worker_init(void *userdata, void **ret_state);
void verity_worker_done(void *userdata, void *state);
/* For pool_for_each() (basic/pool.h): a verity_worker per thread. */
extern const struct pool_ops verity_worker_ops;

