/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/verity: the pieces the fd reader, the thread pool and the
 * test helper share.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "sealtree/verity.h"

/* Read buffer for files: large preads amortise syscalls, see digest-fd.c. */
#define VERITY_READ_BUFFER_SIZE ((size_t)2 << 20)

/*
 * A page-aligned read buffer of size bytes, or NULL. Free with free().
 */
void *verity_read_buffer_new(size_t size);

/*
 * Digest the whole regular file fd using the caller's hasher (reset first)
 * and read buffer, so a worker hashing many files allocates nothing per file.
 */
int verity_digest_fd_with(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
			  uint8_t digest[ST_VERITY_DIGEST_SIZE]);
