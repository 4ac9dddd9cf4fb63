/* SPDX-License-Identifier: MIT */
/* The distinct xattrs of one tar import, shared by the nodes that carry them (tar-xattrs.c). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "tree-internal.h"
#include "verity/sha256.h"

/* At most this many bytes (names and values) of distinct xattrs in one archive. */
#define TAR_XATTR_BYTES_MAX (128ull * 1024 * 1024)

struct tar_xattr_slot {
	uint64_t hash;
	struct st_xattr x;              /* name == NULL: empty */
};

struct tar_xattr_table {
	struct tar_xattr_slot *slots;   /* open addressing, power-of-two size */
	size_t cap, n;
	uint64_t bytes, max_bytes;      /* max_bytes 0 = TAR_XATTR_BYTES_MAX */
	struct sha256 sha;
	bool sha_ready;
	uint8_t *key;
	size_t key_cap;
};

/*
 * The table's copy of (name, value), added if new: the caller shares it with
 * node_append_xattr_shared(). -EFBIG with a detail once the distinct bytes
 * would pass the limit; -EINVAL/-ERANGE as node_xattr_new().
 */
int tar_xattrs_intern(struct tar_xattr_table *t, const char *name, size_t name_len, const void *value,
		      size_t value_len, const struct st_xattr **ret);
void tar_xattrs_free(struct tar_xattr_table *t);
