/* SPDX-License-Identifier: MIT */
/*
 * sealtree tree: the in-memory filesystem tree that every other layer
 * produces or consumes (directory scan, dumpfile, image reader, writer).
 *
 * A tree is a root node that owns its children recursively. A hardlink is an
 * "alias" node: a named entry standing for another node (st_node_link_path()
 * names it); aliases do not own their target and are never serialized as
 * inodes of their own. Trees come from a dumpfile (dump.h), a directory scan
 * (scan.h), an image (image.h) or a repository (repo.h); code outside the
 * library looks at them through st_node_get_entry() and friends below.
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

/* ---- Looking at nodes (read-only views; nothing below modifies a tree) ---- */

/*
 * What a node says about its inode. For a hardlink alias the fields are
 * the target's (is_hardlink is set and st_node_link_path() names the
 * target). Pointers borrow from the tree.
 */
struct st_entry {
	const char *name;               /* NULL for the root */
	uint32_t mode;                  /* st_mode, type included */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;                  /* glibc dev_t encoding */
	uint64_t size;
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	const char *symlink_target;     /* symlinks only, else NULL */
	const char *payload;            /* regular files: the backing file's path in the object
					 * directories ("xx/yyy..."), else NULL */
	const uint8_t *content;         /* inline content (size bytes), else NULL */
	bool has_digest;                /* regular files stored as objects */
	uint8_t digest[ST_DIGEST_SIZE];
	bool is_hardlink;               /* this name is an alias of another node */
	size_t n_xattrs;
	size_t n_children;              /* directories */
};

/* Fill *ret for node (never fails). */
ST_EXPORT void st_node_get_entry(const struct st_node *node, struct st_entry *ret);

/* The i-th child in name order (NULL past the end). Aliases are returned as themselves. */
ST_EXPORT struct st_node *st_node_get_child(const struct st_node *node, size_t i);

/* The i-th xattr of the node (of the alias target): name, value, length. -ERANGE past the end. */
ST_EXPORT int st_node_get_xattr(const struct st_node *node, size_t i, const char **ret_name,
				const uint8_t **ret_value, size_t *ret_len);

/* The node's path from the root ("/" for the root), malloc'ed. */
ST_EXPORT int st_node_path(const struct st_node *node, char **ret);

/* For an alias: the path of the node it stands for. -EINVAL for other nodes. */
ST_EXPORT int st_node_link_path(const struct st_node *node, char **ret);

/*
 * Find a path ("/" or "/a/b" or "a/b") in a tree without following symlinks
 * (a hardlink alias is returned as itself). -ENOENT names the missing component.
 */
ST_EXPORT int st_tree_lookup(struct st_node *root, const char *path, struct st_node **ret);

#ifdef __cplusplus
}
#endif
#endif
