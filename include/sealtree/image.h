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
 * symlink target not 1..4095 bytes, inline content over 5000 bytes, a payload
 * of an external file that is not a relative path of non-empty components
 * other than "." and "..", a regular file carrying trusted.overlay.whiteout, a hardlink
 * to a directory or to a node outside the tree, or a version above
 * ST_IMAGE_VERSION_MAX; -ELOOP for a hardlink cycle; -EFBIG for a file needing
 * more than 1024 chunks, an image too large for EROFS, or a tree that would
 * take more memory when read back than the reader allows for the image's
 * size (many files sharing a large xattr); -ERANGE when the
 * overlay xattrs push a node over its xattr budget; -ENOTDIR if root is not a
 * directory; -ENOMEM.
 */
ST_EXPORT int st_image_write(struct st_node *root, const struct st_image_write_options *opts,
			     st_image_write_fn write, void *userdata,
			     uint8_t ret_digest[32], uint32_t *ret_version);

enum st_image_read_flags {
	/*
	 * Make each hardlinked inode's real node the occurrence that comes
	 * first in breadth-first order (the order the writer numbers inodes
	 * in), instead of the first in depth-first order as the reference
	 * reader does. Writing such a tree gives back the same image bytes;
	 * the reference's choice is what `composefs-info dump` prints.
	 */
	ST_IMAGE_READ_HARDLINKS_BFS = 1u << 0,
	/*
	 * A regular file whose metacopy carries no digest but whose redirect
	 * is an object path "xx/" + 62 lowercase hex digits gets that path's
	 * digest as has_digest/digest. For repository images, whose objects
	 * are named by their fs-verity digest: an image made under a verity
	 * policy leaves the digest out of files outside the policy's prefixes
	 * (verity-policy.h), and every reader of the repository (checkout,
	 * diff, gc, pull) still needs to know which object holds the bytes.
	 * Do not use it to decide what the kernel verifies.
	 */
	ST_IMAGE_READ_DIGEST_FROM_REDIRECT = 1u << 1,
	/*
	 * The filters are paths of the subtrees to load, not top-level names:
	 * "usr/etc" loads usr/etc whole and, of its ancestors, only the
	 * directories themselves (metadata and xattrs) with the children on
	 * the way to a filter. A component that is one asterisk matches any
	 * name (each kernel's vmlinuz: usr, lib, modules, asterisk, vmlinuz
	 * joined by slashes). 1 to 64 filters of 1 to 32 components, each a
	 * name (not empty, "." or ".."); -EINVAL otherwise. Only the inodes on those paths are read,
	 * so the cost follows the subtrees, not the image; every inode read is
	 * checked as in a full read, the others are not looked at.
	 */
	ST_IMAGE_READ_FILTER_PATHS = 1u << 2,
};

struct st_image_read_options {
	const char *const *filters;     /* top-level names to keep (or paths, see above); NULL = all */
	size_t n_filters;
	uint32_t flags;                 /* enum st_image_read_flags */
	uint32_t reserved[5];
};

/*
 * Parse an image held in memory (untrusted) into a tree, as the reference
 * reader does (spec 1.15): real whiteouts (chardev 0/0, e.g. the 00..ff
 * stubs) are skipped, the escaped whiteout becomes a chardev 0/0 node,
 * trusted.overlay.redirect becomes the payload (one leading '/' stripped),
 * a 36-byte trusted.overlay.metacopy the digest, trusted.overlay.overlay.X
 * is unescaped to trusted.overlay.X and the other overlay xattrs the writer
 * adds are dropped. Xattrs keep their on-disk order (inline, then shared).
 * An inode reached again becomes a hardlink alias of its first occurrence
 * (depth-first, dirents in order; see ST_IMAGE_READ_HARDLINKS_BFS). With
 * filters, only the named top-level entries are loaded. opts may be NULL.
 *
 * Every offset, size and count is checked before use. Fails with -EUCLEAN
 * on corruption (including directory cycles or hardlinks, unsorted or
 * duplicate names, nesting deeper than 2048 levels, a tree that would be
 * far larger than the image, or an inode the kernel would serve other bytes
 * for: data in the image and a metacopy, a redirect without a metacopy, an
 * unescaped overlay xattr the writer never writes there; see
 * docs/formats/composefs-image.md), -EOPNOTSUPP on unknown features (header
 * version, format version > 1, EROFS incompat bits, other block sizes,
 * compressed inodes), -ENOMEM; st_error_detail() says what is wrong and
 * where (nid, byte offset, field). The data is not modified and may be
 * freed once this returns. ret_root and ret_version (optional, the header's
 * composefs format version) are written only on success.
 */
ST_EXPORT int st_image_read_tree(const void *data, size_t len, const struct st_image_read_options *opts,
				 struct st_node **ret_root, uint32_t *ret_version);

/*
 * Read a whole image (fd: a file, read from offset 0, or a pipe) into memory
 * and parse it as st_image_read_tree() does. Read errors are negative errno.
 */
ST_EXPORT int st_image_read_tree_fd(int fd, const struct st_image_read_options *opts,
				    struct st_node **ret_root, uint32_t *ret_version);

/*
 * The root directory of the image in the regular file fd alone: its
 * metadata and xattrs (mapped as st_image_read_tree() maps them), no
 * children. Only the blocks that hold the header, the superblock, the root
 * inode and its xattrs are read (pread, never past one read of each block),
 * so the cost does not grow with the image: for a question about the root,
 * such as whether the image carries a verity policy, on a boot's critical
 * path. Everything read is checked as in a full read; the rest of the image
 * is not looked at, so a success says nothing about it. Fails as
 * st_image_read_tree() does, and with -ENODATA if the file shrank.
 */
ST_EXPORT int st_image_read_root_fd(int fd, struct st_node **ret_root, uint32_t *ret_version);

#ifdef __cplusplus
}
#endif
#endif
