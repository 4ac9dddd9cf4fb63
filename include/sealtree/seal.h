/* SPDX-License-Identifier: MIT */
/*
 * sealtree seal: the trust chain as one call. From a commit id to a sealed
 * mount, each link is checked in order and reported:
 *
 *   commit     the commit's bytes hash to its id (st_repo_read_commit)
 *   signature  a valid signature by a trusted, unrevoked key that the ref's
 *              policy allows (st_repo_trust_check)
 *   rollback   the commit is not older than the last one accepted for the
 *              ref (REPO/state/accepted) nor than the caller's floor
 *   image      the image's fs-verity digest, measured on the fd that will
 *              be mounted, is the commit's (st_repo_open_image_checked)
 *   mount      that fd mounted read-only with verity=require, so the kernel
 *              checks every file's contents (st_repo_mount_image_fd); an
 *              image with a verity policy that it keeps (verity-policy.h)
 *              with verity=on: the files under the policy's prefixes
 *   record     the commit recorded as the last accepted for the ref
 *
 * A link that fails stops the chain: the later ones are reported skipped.
 * Used by `sealtree mount --require-signature`, `sealtree verify` and
 * prepare-root in the initramfs (with a store loaded from the initramfs and a
 * floor of its own). Reads and writes the repository only through the
 * repository layer. Links no libarchive (the lib/trust meson check).
 */
#ifndef SEALTREE_SEAL_H
#define SEALTREE_SEAL_H

#include <stdbool.h>
#include <stdint.h>

#include "sealtree/repo-read.h"
#include "sealtree/repo.h"
#include "sealtree/trust.h"
#include "sealtree/verity-policy.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

enum st_seal_link {
	ST_SEAL_LINK_COMMIT = 0,
	ST_SEAL_LINK_SIGNATURE,
	ST_SEAL_LINK_ROLLBACK,
	ST_SEAL_LINK_IMAGE,
	ST_SEAL_LINK_MOUNT,
	ST_SEAL_LINK_RECORD,
	ST_SEAL_LINK_COUNT,
};
/* "commit", "signature", "rollback", "image", "mount", "record". */
ST_EXPORT const char *st_seal_link_to_string(enum st_seal_link link);

enum st_seal_state {
	ST_SEAL_SKIPPED = 0,    /* not checked: not asked for, or an earlier link failed */
	ST_SEAL_OK = 1,
	ST_SEAL_FAILED = 2,
	ST_SEAL_STATE_COUNT,
};
/* "skipped", "ok", "failed". */
ST_EXPORT const char *st_seal_state_to_string(enum st_seal_state state);

#define ST_SEAL_REASON_MAX 512

struct st_seal_verdict {
	enum st_seal_state state;
	int error;                              /* FAILED: the negative errno */
	char reason[ST_SEAL_REASON_MAX];        /* plain words: what was checked, why it failed or was skipped */
};

enum st_seal_flags {
	ST_SEAL_REQUIRE_SIGNATURE = 1u << 0,    /* a policy of "none" still needs a valid signature */
	ST_SEAL_NO_DOWNGRADE = 1u << 1,         /* check the rollback link (needs ref or floor) */
	ST_SEAL_RECORD_ACCEPTED = 1u << 2,      /* on success, record the commit as accepted for ref */
	ST_SEAL_ALLOW_UNVERIFIED = 1u << 3,     /* mount on a repository without fs-verity (contents not checked) */
	ST_SEAL_CHECK_IMAGE = 1u << 4,          /* check the image link without mounting (verify) */
	/*
	 * Do not check signatures at all (prepare-root below its signed mode,
	 * whose policy is the initramfs's, not the repository's): the link is
	 * reported skipped. Excludes REQUIRE_SIGNATURE.
	 */
	ST_SEAL_SKIP_SIGNATURE = 1u << 6,
	ST_SEAL_NO_PIN = 1u << 5,               /* the mount writes no pin (prepare-root: see ST_REPO_MOUNT_NO_PIN) */
};

struct st_seal_options {
	const struct st_trust_store *store;     /* required: keys and policy */
	/*
	 * The ref the commit was named by (its policy rule and anti-rollback
	 * record), or NULL for a commit named by id: the default policy, and no
	 * record. The caller passes the name the repository layer resolved.
	 */
	const char *ref;
	/*
	 * A rollback floor of the caller's own (prepare-root: from the
	 * initramfs or the boot loader), checked in addition to the ref's
	 * record; NULL for none.
	 */
	const struct st_accepted *floor;
	/* An absolute, canonical directory to mount on; NULL to stop before the mount link. */
	const char *mount_target;
	unsigned flags;                         /* enum st_seal_flags */
	uint64_t reserved[4];                   /* zero */
};

struct st_seal_result {
	uint8_t commit_id[ST_COMMIT_ID_SIZE];
	struct st_seal_verdict links[ST_SEAL_LINK_COUNT];
	bool ok;                                /* no link failed */
	enum st_seal_link failed_link;          /* with !ok: the first that failed */
	struct st_commit *commit;               /* the commit, once its link passed (owned) */
	struct st_trust_result *trust;          /* the signature verdict in detail, once checked (owned) */
	bool has_signer;                        /* a signature satisfied the policy ... */
	uint8_t signer_key_id[ST_KEY_ID_SIZE];  /* ... made with this key */
	bool mounted;                           /* the mount link made a mount (still there) */
	bool verity;                            /* ... with verity=require, or verity=on under: */
	struct st_verity_policy *verity_policy; /* the image's verity policy, when it has one (owned) */
	bool recorded;                          /* the record link wrote a newer record */
	char rollback[ST_SEAL_REASON_MAX];      /* with NO_DOWNGRADE refused: why, else "" */
};

/*
 * Walk the chain for commit_id. Returns 0 with the verdict in *ret, whatever
 * it is (ret->ok tells); a negative errno only for a bad call (-EINVAL: no
 * store, NO_DOWNGRADE or RECORD_ACCEPTED without what they need, nonzero
 * reserved fields) or -ENOMEM. If the record link fails after a mount, the
 * mount is undone.
 */
ST_EXPORT int st_seal_chain(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
			    const struct st_seal_options *opts, struct st_seal_result **ret);
/* Accepts NULL; returns NULL. Does not unmount. */
ST_EXPORT struct st_seal_result *st_seal_result_free(struct st_seal_result *res);

#ifdef __cplusplus
}
#endif
#endif
