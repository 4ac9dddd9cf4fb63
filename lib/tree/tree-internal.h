/* SPDX-License-Identifier: MIT */
/*
 * The tree node, shared by the library layers that build, transform and
 * serialize trees. Code outside lib/ uses include/sealtree/tree.h only.
 *
 * Invariants:
 *  - children[] is sorted by strcmp() of the names, and names are unique;
 *  - a child's name is 1..ST_NAME_MAX bytes, never "." or "..", never
 *    contains '/' or NUL;
 *  - a node with link_target != NULL is an alias (hardlink): only its name
 *    and parent are meaningful, the target must not be a directory and must
 *    not itself be an alias, and the alias does not own the target;
 *  - content, when non-NULL, holds exactly `size` bytes (inline data);
 *  - xattrs[] are unique by name, in insertion order (the writer sorts).
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/stat.h>

#include "sealtree/tree.h"
#include "basic/macro.h"

/* name and value are one block, possibly shared between nodes: only node.c allocates or frees them. */
struct st_xattr {
	char *name;             /* NUL-terminated, 1..ST_XATTR_NAME_MAX bytes */
	uint8_t *value;         /* value_len bytes (may contain NULs); never NULL */
	uint32_t value_len;     /* <= ST_XATTR_VALUE_MAX */
};

struct st_node {
	struct st_node *parent;         /* not owned; NULL for the root */
	char *name;                     /* NULL for the root */

	uint32_t mode;                  /* full st_mode, type included */
	uint32_t nlink;
	uint32_t uid, gid;
	uint64_t rdev;                  /* glibc dev_t encoding */
	int64_t mtime_sec;
	uint32_t mtime_nsec;
	uint64_t size;

	char *payload;                  /* symlink target, or object path "xx/yyy..."; NULL if none */
	uint8_t *content;               /* inline content, exactly `size` bytes; NULL if none */
	bool has_digest;
	uint8_t digest[ST_DIGEST_SIZE]; /* fs-verity digest of the content */

	struct st_node *link_target;    /* set for hardlink aliases; not owned */

	struct st_node **children;      /* owned; sorted by name */
	size_t n_children, cap_children;

	struct st_xattr *xattrs;        /* owned */
	size_t n_xattrs, cap_xattrs;
	uint32_t xattr_budget;          /* see ST_XATTR_BUDGET_MAX */

	/* Scratch space for one algorithm at a time (e.g. the writer's inode
	 * index, the scanner's inode map). Not preserved by anyone. */
	uint64_t scratch;
};

static inline bool node_is_dir(const struct st_node *n)
{
	return S_ISDIR(n->mode);
}
static inline bool node_is_reg(const struct st_node *n)
{
	return S_ISREG(n->mode);
}
static inline bool node_is_lnk(const struct st_node *n)
{
	return S_ISLNK(n->mode);
}
/* An overlayfs whiteout: a character device 0/0. */
static inline bool node_is_whiteout(const struct st_node *n)
{
	return S_ISCHR(n->mode) && n->rdev == 0;
}
/* Follow a hardlink alias to the node it stands for. */
static inline struct st_node *node_resolve(struct st_node *n)
{
	return n->link_target ? n->link_target : n;
}

/*
 * Check a single path component: 1..ST_NAME_MAX bytes, no '/', not "." or "..".
 * Returns 0 or -EINVAL.
 */
int node_name_valid(const char *name, size_t len);

/*
 * Insert child under parent with the given name (copied), keeping children
 * sorted. Returns -EEXIST if the name is taken, -ENOTDIR if parent is not a
 * directory, -EINVAL for a bad name. On success parent owns child.
 */
int node_add_child(struct st_node *parent, struct st_node *child, const char *name, size_t name_len);

/* Find a child by name; NULL if absent. O(log n). */
struct st_node *node_lookup_child(const struct st_node *parent, const char *name, size_t name_len);

/* Index where a child of that name is or would be inserted; *found says which. */
size_t node_child_index(const struct st_node *parent, const char *name, size_t name_len, bool *found);

/*
 * Set (add or replace) an xattr. The name must be 1..ST_XATTR_NAME_MAX bytes,
 * the value at most ST_XATTR_VALUE_MAX; the node's budget (each xattr 7 +
 * name + value bytes, plus 12 for the first one) may not exceed
 * ST_XATTR_BUDGET_MAX. Returns 0, -EINVAL (bad name), -ERANGE (too large) or
 * -ENOMEM.
 */
int node_set_xattr(struct st_node *node, const char *name, size_t name_len, const void *value, size_t value_len);

/*
 * Append an xattr the caller knows the node does not have yet (e.g. a parser
 * that already refused duplicate names): the checks and budget of
 * node_set_xattr() without its linear search, so adding n xattrs is O(n).
 */
int node_append_xattr(struct st_node *node, const char *name, size_t name_len, const void *value, size_t value_len);

/*
 * A free-standing xattr (one reference, dropped with node_xattr_unref()),
 * to be shared by many nodes with node_append_xattr_shared(): each node
 * takes a reference, and the name and value are kept once. Same checks as
 * node_set_xattr(). Nodes never change a shared value in place.
 */
int node_xattr_new(const char *name, size_t name_len, const void *value, size_t value_len, struct st_xattr *ret);
void node_xattr_unref(struct st_xattr *x);
/* node_append_xattr() of x, sharing its name and value. */
int node_append_xattr_shared(struct st_node *node, const struct st_xattr *x);

/* Find an xattr by name; NULL if absent. */
const struct st_xattr *node_get_xattr(const struct st_node *node, const char *name);

/* Remove an xattr by name; returns 0 or -ENOENT. */
int node_remove_xattr(struct st_node *node, const char *name);

/* Replace the payload (copied; NULL clears). */
int node_set_payload(struct st_node *node, const char *payload, size_t len);

/* Replace the inline content (copied; len becomes node->size; NULL clears). */
int node_set_content(struct st_node *node, const void *data, size_t len);

/*
 * Exchange everything that belongs to the inode (type and mode, owner,
 * times, size, rdev, nlink, contents, digest, xattrs) between two nodes;
 * names, parents, children and link targets stay. How a hardlink group's
 * inode moves to another of its names.
 */
void node_swap_inode(struct st_node *a, struct st_node *b);

/* Make alias a hardlink to target (target must not be a dir or an alias). */
int node_set_link_target(struct st_node *alias, struct st_node *target);

/* Path of node from the root ("/" for the root), malloc'ed into *ret. */
int node_get_path(const struct st_node *node, char **ret);
