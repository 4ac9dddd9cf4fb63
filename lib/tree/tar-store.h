/* SPDX-License-Identifier: MIT */
/* The object writers of a tar import (tar-store.c): files hashed and published in parallel. */
#pragma once

#include <stdint.h>
#include <stddef.h>

#include "digest-store.h"
#include "tree-internal.h"

struct tar_pool;

/* Start threads workers publishing into store. */
int tar_pool_new(struct st_digest_store *store, unsigned threads, struct tar_pool **ret);

/* Report each stored file's SHA-256 and digest to fn (st_tar_read_options.file_sha256). */
void tar_pool_set_sha256(struct tar_pool *p, void (*fn)(void *userdata, const uint8_t sha256[32],
							 const uint8_t digest[32]), void *userdata);

/*
 * Queue a regular file whose size bytes are in data (malloc'ed with
 * ST_STORE_IO_ALIGN alignment; taken over in every case). Waits while the
 * queue is full. A worker hashes it, sets node's digest and payload and
 * publishes the object. If a worker failed already, returns that failure
 * (as tar_pool_finish() does) and queues nothing.
 */
int tar_pool_submit(struct tar_pool *p, struct st_node *node, uint8_t *data, size_t size, const char *member);

/*
 * Wait until every queued file is done and stop the workers. Returns 0 (and
 * the number of objects published) or the first failure, with a detail
 * naming its member.
 */
int tar_pool_finish(struct tar_pool *p, uint64_t *ret_objects_written);

/* Stop the workers (dropping queued files, recording nothing) and free. Accepts NULL. */
struct tar_pool *tar_pool_free(struct tar_pool *p);
