/* SPDX-License-Identifier: MIT */
/*
 * sealtree tree: the in-memory filesystem tree that every other layer
 * produces or consumes (directory scan, dumpfile, image reader, writer).
 *
 * A tree is a root node that owns its children recursively. A hardlink is an
 * "alias" node: a named entry whose st_node_get_link_target() is the node it
 * stands for; aliases do not own their target and are never serialized as
 * inodes of their own.
 *
 * Functions return 0 (or a non-negative value) on success and a negative
 * errno on failure; st_error_message() gives the detail. Not thread-safe:
 * one tree is built by one thread.
 */
#ifndef SEALTREE_TREE_H
#define SEALTREE_TREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

struct st_node;

/* Limits shared by every producer of trees. */
#define ST_NAME_MAX 255                 /* one path component */
#define ST_SYMLINK_MAX 4095             /* PATH_MAX - 1 */
#define ST_XATTR_NAME_MAX 255
#define ST_XATTR_VALUE_MAX 65535
#define ST_XATTR_BUDGET_MAX 32767       /* per node: sum over xattrs of 7 + name + value, first +12 */
#define ST_INLINE_CONTENT_MAX 5000      /* inline content stored in the image */
#define ST_INLINE_RECOMMENDED_MAX 64    /* directory scans inline files up to this size */
#define ST_DIGEST_SIZE 32               /* fs-verity SHA-256 */

/* Allocate an empty node (mode 0, nlink 1). */
ST_EXPORT int st_node_new(struct st_node **ret);

/* Free a node and, recursively, the children it owns. Accepts NULL. Returns NULL. */
ST_EXPORT struct st_node *st_node_free(struct st_node *node);

#ifdef __cplusplus
}
#endif
#endif
