/* SPDX-License-Identifier: MIT */
/*
 * Shared by gc.c, prune.c and the fsck-*.c files: a set of 32-byte digests,
 * the strict parsing of names found in objects/, images/ and commits/, and
 * the walk over the objects an image's tree references.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "basic/hex.h"
#include "basic/macro.h"
#include "sealtree/repo-maint.h"
#include "repo/repo-internal.h"

#define HEX64_LEN 64                    /* a digest or commit id in hex */
#define OBJECT_NAME_LEN 62              /* objects/XX/<62 hex> */
#define PIN_PREFIX "refs/mounts/"

/*
 * An open-addressing hash set of 32-byte keys (digests and commit ids,
 * uniformly distributed already). Memory: about 48 bytes per key. A zeroed
 * struct is an empty set; digest_set_release() frees it.
 */
struct digest_set {
	uint8_t (*keys)[32];
	uint8_t *used;                  /* one bit per slot */
	size_t cap;                     /* a power of two, or 0 */
	size_t n;
};

/* 1 if added, 0 if it was there already, -ENOMEM. */
int digest_set_add(struct digest_set *s, const uint8_t key[32]);
bool digest_set_contains(const struct digest_set *s, const uint8_t key[32]);
/* 1 if removed, 0 if absent. */
int digest_set_remove(struct digest_set *s, const uint8_t key[32]);
void digest_set_release(struct digest_set *s);

/*
 * Names are lowercase hex, the only spelling sealtree writes: parse them with
 * hex_decode_lower() (basic/hex.h), which reads only the characters it is
 * given; callers that need exactly that many check strlen().
 */

/* "XX" and "<62 hex>" as found in objects/: 0 and the digest, or -EINVAL. */
int parse_object_name(const char *fanout, const char *name, uint8_t ret[32]);

/* A redirect payload "XX/<62 hex>" (as the writer stores it): 0 and the digest, or -EINVAL. */
int parse_object_payload(const char *payload, uint8_t ret[32]);

/* A name starting with '.': a temporary file of a writer (".tmp-*") or left by a crash. */
static inline bool is_temp_name(const char *name)
{
	return name[0] == '.';
}

/*
 * Call fn for every regular file of the tree that is not a hardlink alias
 * and whose contents live outside the image (size > 0, no inline content;
 * normally with a payload and a digest naming its object), with the node; fn returns 0 to go on, or a negative errno to stop (returned).
 * Iterative: no recursion however deep the tree.
 */
typedef int (*tree_file_fn)(void *userdata, struct st_node *node);
int tree_for_each_object_file(struct st_node *root, tree_file_fn fn, void *userdata);

/*
 * Record a detail "<context>: <the detail recorded so far>" for r and return
 * r: context for an error a callee described already.
 */
int errf_wrap(int r, const char *fmt, ...) _printf_(2, 3);

/* The hex of a 32-byte key into buf (65 bytes). Returns buf. */
const char *hex32(const uint8_t key[32], char buf[65]);

/*
 * Read all entry names of the directory dirfd/path (not "." and "..") into a
 * NULL-terminated array with their d_type; free with name_list_free().
 * Entries are in directory order.
 */
struct name_entry {
	char *name;
	unsigned char type;             /* DT_* (DT_UNKNOWN where the fs does not say) */
};
int list_dir(int dirfd, const char *path, struct name_entry **ret, size_t *ret_n);
void name_list_free(struct name_entry *list, size_t n);

/* Whether the caller holds repo's lock in exclusive mode: 0, or -ENOLCK. */
int repo_check_exclusive(struct st_repo *repo);

/*
 * Add the commit head and, unless pin, its parent chain to commits (and
 * their images to images, if not NULL). The chain ends at a root commit, a
 * missing parent (pruned history), a commit in stop (NULL: none), or one in
 * commits already. A missing or unreadable head, or an unreadable commit on
 * the way, is an error naming ref_name.
 */
int mark_chain(struct st_repo *repo, const char *ref_name, const uint8_t head[ST_COMMIT_ID_SIZE], bool pin,
	       const struct digest_set *stop, struct digest_set *commits, struct digest_set *images);

/*
 * mark_chain() for every ref but the one listed as skip (NULL: none):
 * branches first, pins after, since a pin marks one commit and a commit
 * found marked is taken to have its history marked already.
 */
int mark_refs(struct st_repo *repo, const char *skip, const struct digest_set *stop, struct digest_set *commits,
	      struct digest_set *images);

/*
 * The marking half of gc, shared with prune: every commit, image and object
 * the roots reach. Commits in `stop` (may be NULL) are treated as missing:
 * walking a chain stops there. Errors name the ref, commit or image.
 */
struct reach {
	struct digest_set commits, images, objects;
	struct digest_set oci_splits;   /* tar-split records image refs name (gc-oci.c) */
	struct digest_set oci_pairs;    /* cached TOC pairs their manifests name (gc-oci.c) */
};
int reach_mark(struct st_repo *repo, const struct digest_set *stop, struct reach *ret);
void reach_release(struct reach *r);

/*
 * What image refs keep besides their trees (gc-oci.c): the tar-split records
 * and the objects they need, and the cached TOC pairs of their layers; then
 * the records and pairs no image names.
 */
int mark_oci(struct st_repo *repo, struct digest_set *objects, struct digest_set *splits, struct digest_set *pairs);
int sweep_oci(struct st_repo *repo, const struct digest_set *splits, const struct digest_set *pairs, bool dry_run);

/* gc's sweep given what to keep. */
int gc_sweep(struct st_repo *repo, const struct reach *keep, unsigned flags, struct st_gc_stats *stats);
