/* SPDX-License-Identifier: MIT */
/*
 * sealtree verity policy: fs-verity on only some folders. A policy lists
 * absolute path prefixes ("/usr/bin", "/usr/lib"); an image made under it
 * carries the fs-verity digest of exactly the regular files under those
 * prefixes (files elsewhere have none), and records the policy itself in an
 * xattr of its root directory, ST_VERITY_POLICY_XATTR, so that the image's
 * digest, and a signature over a commit naming it, cover the policy. Such an
 * image is mounted with overlay verity=on instead of verity=require, after
 * st_verity_policy_check_tree() has shown that every regular file under a
 * prefix carries its digest. docs/formats/repository.md ("Verity policy")
 * specifies the file syntax and the stored form.
 */
#ifndef SEALTREE_VERITY_POLICY_H
#define SEALTREE_VERITY_POLICY_H

#include <stdbool.h>
#include <stddef.h>

#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* The root directory's xattr that holds the stored form. */
#define ST_VERITY_POLICY_XATTR "trusted.sealtree.verity-policy"
#define ST_VERITY_POLICY_PREFIXES_MAX 1024
#define ST_VERITY_POLICY_FILE_MAX 65536         /* bytes of a policy file */

struct st_verity_policy;

enum st_verity_policy_parse_flags {
	/*
	 * Parse the stored form (the xattr's value): the header line
	 * "sealtree-verity-policy 1", then the prefixes sorted, one per line,
	 * nothing else. Without it: the file a user writes (comments and empty
	 * lines allowed, any order).
	 */
	ST_VERITY_POLICY_STORED = 1u << 0,
};

/*
 * Parse a policy (untrusted bytes). Strict: a path that is not absolute
 * and canonical (no empty, "." or ".." component, no trailing '/'), a
 * control byte, a duplicate, a prefix inside another one, no prefix at all,
 * more than ST_VERITY_POLICY_PREFIXES_MAX prefixes, or a file over
 * ST_VERITY_POLICY_FILE_MAX bytes are -EINVAL (-EUCLEAN for the stored
 * form), with a detail naming the line.
 */
ST_EXPORT int st_verity_policy_parse(const void *data, size_t len, unsigned flags, struct st_verity_policy **ret);
/*
 * Read the policy file at path (a regular file of at most
 * ST_VERITY_POLICY_FILE_MAX bytes; a symlink to one is followed) and parse
 * it as a user's file; every refusal's detail names path.
 */
ST_EXPORT int st_verity_policy_load(const char *path, struct st_verity_policy **ret);
/* Accepts NULL; returns NULL. */
ST_EXPORT struct st_verity_policy *st_verity_policy_free(struct st_verity_policy *p);

/* The number of prefixes and the i-th one, sorted by byte value (NULL past the end). */
ST_EXPORT size_t st_verity_policy_count(const struct st_verity_policy *p);
ST_EXPORT const char *st_verity_policy_prefix(const struct st_verity_policy *p, size_t i);

/* true if the absolute path ("/a/b") is one of the prefixes or lies below one ("/usr/lib" covers "/usr/lib/x", not "/usr/lib64"). */
ST_EXPORT bool st_verity_policy_covers(const struct st_verity_policy *p, const char *path);

/* The stored form, malloc'ed in *ret (not NUL-terminated), *ret_len bytes. */
ST_EXPORT int st_verity_policy_serialize(const struct st_verity_policy *p, char **ret, size_t *ret_len);

/*
 * Make root's tree follow p before it is written: regular files stored as
 * objects keep their digest only if one of their names lies under a prefix
 * (a hardlinked inode keeps it if any of its names does), and the root gets
 * the xattr with p's stored form. p == NULL removes the xattr and changes
 * nothing else (a tree may not claim a policy it was not committed with).
 * Nodes' scratch fields are used.
 */
ST_EXPORT int st_verity_policy_apply(struct st_node *root, const struct st_verity_policy *p);

/*
 * The check before trusting an image's policy: read root's xattr; none
 * gives *ret = NULL (no policy: every digest is required). Otherwise its
 * value must be a valid stored form (-EUCLEAN), and every regular file
 * stored as an object whose path lies under a prefix must carry a digest
 * (-EUCLEAN naming the first file that does not, and the prefix). *ret is
 * written only on success.
 */
ST_EXPORT int st_verity_policy_check_tree(const struct st_node *root, struct st_verity_policy **ret);

#ifdef __cplusplus
}
#endif
#endif
