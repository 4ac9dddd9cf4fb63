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
 * Parse a whole dumpfile held in memory (untrusted) into a new tree, with the
 * reference mkcomposefs's rules (docs/formats/dumpfile.md); flags is a set of
 * enum st_dump_parse_flags. On success *ret_root owns the tree (free it with
 * st_node_free()). On failure *ret_root is untouched and a negative errno is
 * returned: -EINVAL malformed line, -ERANGE value over a limit, -EEXIST
 * duplicate path, -ENOENT missing parent or hardlink target, -ENOTDIR parent
 * not a directory, -EFBIG file too large, -ELOOP hardlink cycle, -ENOMEM;
 * st_error_detail() then starts with "line N:" and names the problem.
 * Linear in the input whatever the line order. Thread-safe (no shared state).
 */
ST_EXPORT int st_dump_parse_buffer(const char *buf, size_t len, unsigned flags, struct st_node **ret_root);

/*
 * Read fd (file or pipe) to its end and parse it as st_dump_parse_buffer()
 * does. Read errors return the read's negative errno. The fd is not closed.
 */
ST_EXPORT int st_dump_parse_fd(int fd, unsigned flags, struct st_node **ret_root);

/*
 * Print the tree as a dumpfile, byte-identical to `composefs-info dump`:
 * depth-first pre-order in stored (sorted) child order, the reference's
 * escaping, xattrs in stored order, hardlink aliases as '@' lines carrying
 * the target's fields and the target's path as PAYLOAD. The output always
 * parses in strict mode and prints back identically. Returns 0, -ENOMEM, or
 * -EIO if writing to out fails (out is flushed, not closed).
 */
ST_EXPORT int st_dump_print(FILE *out, const struct st_node *root);

#ifdef __cplusplus
}
#endif
#endif
