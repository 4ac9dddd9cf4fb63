/* SPDX-License-Identifier: MIT */
/*
 * Internals of the dumpfile parser shared by its two halves: dump-parse.c
 * reads lines and fields, dump-parse-tree.c places nodes in the tree
 * (paths, parents, duplicates, child order) and resolves hardlinks.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/error.h"
#include "dump-index.h"

struct st_node;

/* Deeper trees are refused: printing and freeing recurse once per level,
 * and the image reader refuses the same depth (RD_DEPTH_MAX). */
#define DUMP_DEPTH_MAX 2048
/* The reference caps the (escaped) xattr part of a line at this many bytes. */
#define DUMP_XATTR_BYTES_MAX 65535
/* An external file may need at most 1024 chunks of 2^43 bytes (EFBIG above). */
#define DUMP_EXTERNAL_SIZE_MAX (UINT64_C(1024) << 43)

enum {
	F_PATH,
	F_SIZE,
	F_MODE,
	F_NLINK,
	F_UID,
	F_GID,
	F_RDEV,
	F_MTIME,
	F_PAYLOAD,
	F_CONTENT,
	F_DIGEST,
	F_COUNT,
};

struct field {
	const char *p;
	size_t len;
};

struct hardlink {
	struct st_node *alias;
	char *target_path;              /* unescaped, validated absolute path */
	struct st_node *target;         /* what target_path names */
	struct st_node *final;          /* the non-alias node at the end of the chain */
	size_t line;
};

struct parser {
	unsigned flags;
	size_t line;
	struct st_node *root;

	char *scratch;                  /* unescaped fields, at their offsets in the line */
	size_t scratch_cap;

	/* The directory chain of the last parent: chain[0] is the root and
	 * chain[i] the directory whose path is dir_path[0..chain_end[i]). */
	struct st_node **chain;
	size_t *chain_end;
	size_t chain_len, chain_cap, chain_end_cap;
	char *dir_path;
	size_t dir_len, dir_cap;

	struct hardlink *links;
	size_t n_links, cap_links;

	/* Directories whose children came out of order: indexed by name
	 * and sorted at the end (see find_child()). */
	struct dump_child_index index;
	struct st_node **unsorted;
	size_t n_unsorted, cap_unsorted;
	struct dump_name_set xattr_names;
};

#define parse_error(p, r, fmt, ...) st_errf((r), "line %zu: " fmt, (p)->line, ##__VA_ARGS__)

/* A printable, bounded copy of untrusted bytes for an error message. */
const char *dump_snippet(const char *s, size_t len, char buf[static 72]);

/* Check an absolute path ("/" or "/a/b"); returns its depth or an error. */
int dump_check_path(struct parser *p, const char *path, size_t len, const char *what);

/* Put *node at path (validated): the root, or a new child of its parent.
 * On success *node is NULL (the tree owns it). */
int dump_add_to_tree(struct parser *p, struct st_node **node, const char *path, size_t len);

/* Sort the directories whose children came out of order. */
void dump_sort_children(struct parser *p);

/* Resolve the recorded hardlinks once every line is in. */
int dump_resolve_hardlinks(struct parser *p);
