/* SPDX-License-Identifier: MIT */
/*
 * sealtree read side: a file's contents from the repository, comparing two
 * trees, writing a tree out as a real directory, and mounting a commit with
 * the kernel. Looking at nodes (entries, children, xattrs) is in
 * sealtree/tree.h.
 *
 * Every function returns 0 (or a non-negative value) on success and a
 * negative errno on failure, with st_error_message() naming the path, object
 * or mount concerned. Trees are read-only here: nothing below modifies one.
 */
#ifndef SEALTREE_REPO_READ_H
#define SEALTREE_REPO_READ_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"
#include "sealtree/tree.h"

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

/* ---- File contents ---------------------------------------------------- */

/*
 * Write a regular file's contents to out_fd: its inline contents, or its
 * object, whose fs-verity digest is computed as it is copied. -EBADMSG names
 * an object whose bytes do not match (they have been written by then),
 * -ENOENT a missing one; -EISDIR/-EINVAL for a node that is not a regular file.
 */
ST_EXPORT int st_repo_write_file_contents(struct st_repo *repo, const struct st_node *node, int out_fd);

/* ---- Comparing trees ------------------------------------------------------- */

enum st_diff_status {
	ST_DIFF_ADDED = 'A',            /* only in the new tree */
	ST_DIFF_REMOVED = 'D',          /* only in the old tree */
	ST_DIFF_MODIFIED = 'M',         /* regular file whose content differs (metadata may differ too) */
	ST_DIFF_METADATA = 'P',         /* same type and content, other properties differ */
	ST_DIFF_TYPE = 'T',             /* the file type changed (e.g. file -> directory) */
};

/* What differs for MODIFIED/METADATA entries (a set of bits). */
enum st_diff_changes {
	ST_DIFF_CONTENT = 1u << 0,      /* regular file bytes */
	ST_DIFF_MODE = 1u << 1,         /* permission bits (incl. setuid/setgid/sticky) */
	ST_DIFF_OWNER = 1u << 2,        /* uid or gid */
	ST_DIFF_MTIME = 1u << 3,        /* mtime, seconds or nanoseconds */
	ST_DIFF_XATTRS = 1u << 4,       /* the set of xattr names and values */
	ST_DIFF_TARGET = 1u << 5,       /* symlink target */
	ST_DIFF_RDEV = 1u << 6,         /* device number */
};

struct st_diff_entry {
	const char *path;               /* "/a/b"; valid during the callback only */
	enum st_diff_status status;
	unsigned changes;               /* enum st_diff_changes, for M and P */
	const struct st_node *old_node; /* NULL when ADDED; hardlink aliases resolved */
	const struct st_node *new_node; /* NULL when REMOVED; hardlink aliases resolved */
};

enum st_diff_flags {
	ST_DIFF_IGNORE_MTIME = 1u << 0, /* do not report mtime-only differences */
	ST_DIFF_NO_RECURSE = 1u << 1,   /* report an added/removed directory, not what is below it */
};

/*
 * Called once per difference; a negative return stops the walk and is
 * returned by st_tree_diff().
 */
typedef int (*st_diff_fn)(void *userdata, const struct st_diff_entry *e);

/*
 * Compare two trees in one merged walk (both are sorted by name): depth
 * first, parents before children, children in strcmp() name order, so the
 * order is stable. An added (removed) directory is reported, then
 * everything below it as added (removed) too, unless ST_DIFF_NO_RECURSE. A
 * type change is reported as TYPE; what a new directory holds then follows
 * as ADDED, what an old one held as REMOVED. Hardlinks are compared as the
 * nodes they resolve to: turning a file into a hardlink of an identical one
 * is no difference. Contents compare by fs-verity digest (computed for
 * inline contents when the other side is an object), else by bytes.
 */
ST_EXPORT int st_tree_diff(struct st_node *old_root, struct st_node *new_root, unsigned flags,
			   st_diff_fn fn, void *userdata);

/* ---- Checking out ----------------------------------------------------------- */

enum st_checkout_flags {
	ST_CHECKOUT_NO_REFLINK = 1u << 0,       /* copy bytes even where FICLONE would work */
	ST_CHECKOUT_NO_OWNERSHIP = 1u << 1,     /* never chown (as if not root) */
	ST_CHECKOUT_ALLOW_EMPTY = 1u << 2,      /* dest may be an existing empty directory (it is replaced) */
	ST_CHECKOUT_NO_VERIFY = 1u << 3,        /* do not check objects against the digests the tree names */
};

struct st_checkout_options {
	unsigned flags;                         /* enum st_checkout_flags */
	/* Filled on return: what was done and what could not be. */
	uint64_t files, dirs, symlinks, hardlinks, specials;
	uint64_t bytes;                         /* regular file bytes written or cloned */
	uint64_t reflinked;                     /* files cloned with FICLONE */
	uint64_t xattrs_skipped;                /* xattrs not restored (not allowed to this user) */
	uint64_t owners_skipped;                /* inodes whose uid/gid could not be restored */
	uint64_t devices_skipped;               /* device nodes not created (need root) */
	uint32_t reserved[8];
};

/*
 * Write the tree as a real directory tree at dest, taking regular file
 * contents from objects_dirfd (an objects/ directory: "XX/Y{62}" by digest,
 * else the node's payload path). Regular files are cloned (FICLONE), else
 * copied with copy_file_range(), else read and written; inline contents are
 * written; hardlinks become hardlinks; symlinks, fifos, sockets and (as
 * root) device nodes are created. Then owner, mode (after chown, so setuid
 * survives), xattrs and mtimes are restored, directories last and bottom
 * up. Without CAP_CHOWN/CAP_MKNOD/privileged xattrs, what cannot be
 * restored is counted in opts (and skipped) instead of failing.
 *
 * The tree is built under a temporary name beside dest and renamed to dest
 * at the end: on failure nothing is left. dest must not exist (-EEXIST), or
 * with ST_CHECKOUT_ALLOW_EMPTY be an empty directory (-ENOTEMPTY otherwise).
 * A missing object fails with -ENOENT naming it. Unless ST_CHECKOUT_NO_VERIFY,
 * every object named by digest is checked against it: the bytes written are
 * hashed as they are copied, and before a clone or copy_file_range() the
 * object itself is measured (by the kernel where it has fs-verity, else in
 * userspace); a mismatch fails with -EBADMSG naming the path and the object.
 * The walk holds one fd per
 * directory level it is in (trees read from images nest up to 2048): raise
 * RLIMIT_NOFILE for deep trees, or get -EMFILE (and, as always, nothing left).
 */
ST_EXPORT int st_tree_checkout(struct st_node *root, int objects_dirfd, const char *dest,
			       struct st_checkout_options *opts);

/* st_tree_checkout() from the repository's objects/. */
ST_EXPORT int st_repo_checkout(struct st_repo *repo, struct st_node *root, const char *dest,
			       struct st_checkout_options *opts);

/* ---- Mounting ------------------------------------------------------------- */

#define ST_MOUNT_PIN_PREFIX "refs/mounts/"

/*
 * The ref that pins a mount on the absolute, canonical path target:
 * "refs/mounts/" + the path's components, each byte outside [A-Za-z0-9._-]
 * (and a leading '.') written as "+XX" in hex; "/" itself is "refs/mounts/+2f".
 * A name longer than ST_REF_NAME_MAX, or deeper than ST_REF_DEPTH_MAX
 * components, becomes "refs/mounts/+sha256-<hex of the path's SHA-256>", so
 * every pin is a valid ref name. -EINVAL if target is not absolute.
 */
ST_EXPORT int st_mount_pin_name(const char *target, char **ret);

enum st_repo_mount_flags {
	ST_REPO_MOUNT_VERITY = 1u << 0,         /* require fs-verity on every object (overlay verity=require) */
	ST_REPO_MOUNT_NO_VERITY = 1u << 1,      /* do not, even on a verity repository */
	/*
	 * Write no pin: for prepare-root, whose repository may be read-only at
	 * boot and whose commit is pinned by its deployment already.
	 */
	ST_REPO_MOUNT_NO_PIN = 1u << 2,
};

/*
 * Mount the commit id's image on target (an absolute, canonical directory
 * path): the image is opened once; its fs-verity digest is checked against
 * the commit's image digest on that fd (the kernel's measurement on a
 * verity repository, else computed in userspace) before that same fd is
 * mounted, with basedir REPO/objects. On a verity repository verity is
 * required by default. The pin ref (st_mount_pin_name()) is written before
 * the mount, so gc keeps what the mount reads, and removed again if the
 * mount fails. -EBADMSG if the image's digest is not the commit's,
 * -EOPNOTSUPP for ST_REPO_MOUNT_VERITY on a repository without fs-verity.
 */
ST_EXPORT int st_repo_mount(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE], const char *target,
			    unsigned flags);

/*
 * The two halves of st_repo_mount(), for callers that report each link of
 * the trust chain (st_seal_chain()). open_image_checked opens commit c's
 * image and checks its fs-verity digest against c on that fd: the kernel's
 * measurement on a repository with fs-verity (-ENODATA if the image file has
 * none), the userspace digest otherwise; -ENOENT if the image is missing,
 * -EBADMSG if its digest is not the commit's. mount_image_fd mounts that fd
 * (the kernel checks the digest again on a verity repository), pinned as
 * st_repo_mount() does; it does not close fd.
 */
ST_EXPORT int st_repo_open_image_checked(struct st_repo *repo, const struct st_commit *c, int *ret_fd);
ST_EXPORT int st_repo_mount_image_fd(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				     const struct st_commit *c, int image_fd, const char *target, unsigned flags);
/*
 * st_repo_mount_image_fd(), which also reads the image on that fd when it
 * mounts with verity: an image carrying a verity policy (verity-policy.h)
 * that every file under its prefixes keeps (-EUCLEAN naming a file that does
 * not, before anything is mounted) is mounted with overlay verity=on instead
 * of verity=require, and its policy returned in *ret_policy (may be NULL);
 * otherwise *ret_policy is NULL. Written only on success.
 */
struct st_verity_policy;
ST_EXPORT int st_repo_mount_image_fd_policy(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
					    const struct st_commit *c, int image_fd, const char *target,
					    unsigned flags, struct st_verity_policy **ret_policy);

/*
 * Unmount target (umount2 without MNT_DETACH unless detach) and delete its
 * pin. A target without a pin is still unmounted. Returns 0 if something
 * was unmounted; -EINVAL (not a mount point) after removing a stale pin if
 * there was one, with *ret_removed_pin telling (may be NULL).
 */
ST_EXPORT int st_repo_umount(struct st_repo *repo, const char *target, bool detach, bool *ret_removed_pin);

#ifdef __cplusplus
}
#endif
#endif
