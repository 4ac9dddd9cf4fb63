/* SPDX-License-Identifier: MIT */
/*
 * Hash indexes used while parsing a dumpfile, so that no input order makes
 * parsing quadratic:
 *  - the child index maps (parent, name) to the child, which lets the parser
 *    append children in input order and sort each directory once at the end
 *    instead of inserting in the middle of a sorted array for every line;
 *  - the name set finds a duplicate xattr name on one line in O(1).
 * Both hold borrowed pointers; releasing them frees only the tables.
 */
#pragma once

#include <stddef.h>
#include <stdint.h>

struct st_node;

struct dump_child_slot {
	uint64_t hash;          /* compared first: probes rarely touch the nodes */
	struct st_node *node;   /* NULL = empty */
};

struct dump_child_index {
	struct dump_child_slot *slots;
	size_t mask;    /* capacity - 1; capacity is a power of two (or 0) */
	size_t used;
};

void dump_child_index_release(struct dump_child_index *ix);

/* The child of parent called name (len bytes), or NULL. */
struct st_node *dump_child_index_lookup(const struct dump_child_index *ix, const struct st_node *parent,
					const char *name, size_t len);

/* Add child (its parent and name set, not indexed yet). Returns 0 or -ENOMEM. */
int dump_child_index_add(struct dump_child_index *ix, struct st_node *child, size_t name_len);

/* Duplicate detection for the xattrs of one node, indexed by position. */
struct dump_name_set {
	uint32_t *slots; /* xattr index + 1; 0 = empty */
	size_t mask;
	size_t used;
};

void dump_name_set_release(struct dump_name_set *s);

/*
 * Check whether node's xattrs[0..node->n_xattrs) hold name; if not, record
 * that it will be at index node->n_xattrs. Returns 1 if it is a duplicate,
 * 0 if new, -ENOMEM. Call dump_name_set_reset() before each new node.
 */
int dump_name_set_add(struct dump_name_set *s, const struct st_node *node, const char *name, size_t len);

void dump_name_set_reset(struct dump_name_set *s);
