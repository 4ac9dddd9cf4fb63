/* SPDX-License-Identifier: MIT */
/*
 * sealtree image: the composefs image format (EROFS + overlayfs xattrs),
 * versions 0 and 1. The writer is bit-exact with composefs 1.0.x; the reader
 * validates everything it reads and turns an image back into a tree.
 */
#ifndef SEALTREE_IMAGE_H
#define SEALTREE_IMAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ST_IMAGE_VERSION_MAX 1

/* Output sink: write exactly len bytes; return 0 or a negative errno. */
typedef int (*st_image_write_fn)(void *userdata, const void *buf, size_t len);

struct st_image_write_options {
	uint32_t min_version;   /* format version to start from (0 or 1) */
	uint32_t max_version;   /* raised to min_version if lower */
	uint32_t reserved[6];
};

/*
 * Serialize the tree as a composefs image, byte-identical to composefs 1.0.x
 * (mkcomposefs) for the same tree and versions; the layout is described in
 * docs/formats/composefs-image.md.
 *
 * The tree is not modified and not copied: the reference's rewrite (escaped
 * overlay xattrs, metacopy/redirect, whiteouts, ".", "..", the root's 00..ff
 * whiteout stubs) is computed on the side. Only each node's `scratch` field
 * is overwritten, so one tree must not be written by two threads at once.
 *
 * opts may be NULL (min_version 0, max_version 1). The format version starts
 * at min_version and becomes 1 if max_version allows it and the tree holds a
 * whiteout (a character device 0/0).
 *
 * Bytes go to `write` strictly in order, in one pass, in chunks of up to
 * 1 MiB; a negative return from `write` aborts and is returned. `write` may be
 * NULL to only compute the digest. If ret_digest is not NULL it receives the
 * fs-verity digest of the image; if ret_version is not NULL it receives the
 * format version used. Both are written only on success.
 *
 * Errors (with st_error_detail() naming the path): -EINVAL for a bad mode, a
 * symlink target not 1..4095 bytes, inline content over 5000 bytes, a hardlink
 * to a directory or to a node outside the tree, or a version above
 * ST_IMAGE_VERSION_MAX; -ELOOP for a hardlink cycle; -EFBIG for a file needing
 * more than 1024 chunks or an image too large for EROFS; -ERANGE when the
 * overlay xattrs push a node over its xattr budget; -ENOTDIR if root is not a
 * directory; -ENOMEM.
 */
ST_EXPORT int st_image_write(struct st_node *root, const struct st_image_write_options *opts,
			     st_image_write_fn write, void *userdata,
			     uint8_t ret_digest[32], uint32_t *ret_version);

struct st_image_read_options {
	const char *const *filters;     /* top-level names to keep; NULL = all */
	size_t n_filters;
	uint32_t reserved[6];
};

/*
 * Parse an image held in memory (untrusted) into a tree, as the reference
 * reader does (overlay xattrs turned back into payload/digest/whiteouts).
 * Fails with -EUCLEAN on corruption, -EOPNOTSUPP on unknown features, with
 * st_error_detail() saying what is wrong and where.
 * ret_version (optional) receives the header's composefs format version.
 */
ST_EXPORT int st_image_read_tree(const void *data, size_t len, const struct st_image_read_options *opts,
				 struct st_node **ret_root, uint32_t *ret_version);

/* Read a whole image file (fd) and parse it as st_image_read_tree() does. */
ST_EXPORT int st_image_read_tree_fd(int fd, const struct st_image_read_options *opts,
				    struct st_node **ret_root, uint32_t *ret_version);

#ifdef __cplusplus
}
#endif
#endif
