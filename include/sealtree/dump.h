/* SPDX-License-Identifier: MIT */
/*
 * sealtree dump: the composefs dumpfile text format (composefs-dump(5)):
 * parse into a tree, print a tree.
 */
#ifndef SEALTREE_DUMP_H
#define SEALTREE_DUMP_H

#include <stddef.h>
#include <stdio.h>

#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

enum st_dump_parse_flags {
	ST_DUMP_PARSE_STRICT = 1u << 0, /* the reference's CFS_PARSE_STRICT checks */
};

/*
 * Parse a whole dumpfile held in memory (untrusted). On failure returns a
 * negative errno (-EINVAL for a malformed line, -ERANGE for an over-limit
 * value, ...) and st_error_detail() names the line number and the problem.
 */
ST_EXPORT int st_dump_parse_buffer(const char *buf, size_t len, unsigned flags, struct st_node **ret_root);

/* Read all of fd (file or pipe) and parse it. */
ST_EXPORT int st_dump_parse_fd(int fd, unsigned flags, struct st_node **ret_root);

/*
 * Print the tree as a dumpfile, in the reference's order and escaping
 * (depth-first pre-order, children sorted, hardlinks as '@' lines).
 * Returns 0 or a negative errno from the stream.
 */
ST_EXPORT int st_dump_print(FILE *out, const struct st_node *root);

#ifdef __cplusplus
}
#endif
#endif
