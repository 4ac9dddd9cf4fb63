/* SPDX-License-Identifier: MIT */
/*
 * Mounting commits: the image is opened once, its digest checked against
 * the commit on that fd, and that fd mounted (lib/mount); a ref under
 * refs/mounts/ pins the commit so gc keeps what the mount reads.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "mount/mount-internal.h"
#include "repo-internal.h"
#include "sealtree/mount.h"
#include "sealtree/repo-read.h"
#include "sealtree/image.h"
#include "sealtree/verity.h"
#include "sealtree/verity-policy.h"

static void policy_freep(struct st_verity_policy **p)
{
	st_verity_policy_free(*p);
}

/* 1 if path is a mount point, 0 if not, or a negative errno. */
static int is_mount_point(const char *path)
{
	struct statx sx;

	if (statx(AT_FDCWD, path, AT_SYMLINK_NOFOLLOW, STATX_BASIC_STATS, &sx) < 0)
		return negative_errno();
	if (!(sx.stx_attributes_mask & STATX_ATTR_MOUNT_ROOT))
		return -EOPNOTSUPP;
	return !!(sx.stx_attributes & STATX_ATTR_MOUNT_ROOT);
}

/*
 * Serialize mounts on one target: an exclusive flock on the target directory
 * itself, held from the pin check until the mount is made (or has failed).
 * A process that opened the directory before another mounted on it finds,
 * once it has the lock, a different inode at the path than the one it
 * locked: it refuses then. One that opens it after finds the mount and its
 * pin. Returns the locked fd.
 */
static int lock_target(const char *target)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat locked, now;

	fd = open(target, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_errf(negative_errno(), "mount point '%s'", target);
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return st_errf(negative_errno(), "cannot lock mount point '%s'", target);
	if (fstat(fd, &locked) < 0 || stat(target, &now) < 0)
		return st_errf(negative_errno(), "mount point '%s'", target);
	if (locked.st_dev != now.st_dev || locked.st_ino != now.st_ino)
		return st_errf(-EBUSY, "'%s' was mounted by another process meanwhile; run 'sealtree umount' first",
			       target);
	return TAKE_FD(fd);
}

int st_repo_open_image_checked(struct st_repo *repo, const struct st_commit *c, int *ret_fd)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t got[ST_DIGEST_SIZE];
	char hw[2 * ST_DIGEST_SIZE + 1], hg[2 * ST_DIGEST_SIZE + 1];
	int r;

	st_hex_encode(c->image_digest, ST_DIGEST_SIZE, hw);
	fd = st_repo_open_image(repo, c->image_digest);
	if (fd < 0)
		return fd;
	if (st_repo_has_verity(repo)) {
		/* The kernel's measurement: what it will check the image against (digest=). */
		r = st_verity_measure_fd(fd, got);
		if (r == -ENODATA || r == -ENOTTY || r == -EOPNOTSUPP)
			return st_errf(-ENODATA, "image %s has no fs-verity, so the kernel cannot check it", hw);
		if (r < 0)
			return st_errf(r, "cannot measure image %s", hw);
	} else {
		/* Without fs-verity, the userspace digest of the very fd to be mounted. */
		r = st_verity_digest_fd(fd, got);
		if (r < 0)
			return st_errf(r, "cannot read image %s", hw);
	}
	if (memcmp(got, c->image_digest, ST_DIGEST_SIZE) != 0) {
		st_hex_encode(got, ST_DIGEST_SIZE, hg);
		return st_errf(-EBADMSG, "image %s is corrupt: its fs-verity digest is %s", hw, hg);
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int st_repo_mount(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE], const char *target,
		  unsigned flags)
{
	struct st_commit *c = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (flags & ~(unsigned)(ST_REPO_MOUNT_VERITY | ST_REPO_MOUNT_NO_VERITY) ||
	    (flags & ST_REPO_MOUNT_VERITY && flags & ST_REPO_MOUNT_NO_VERITY))
		return -EINVAL;
	r = st_repo_read_commit(repo, commit_id, &c);
	if (r < 0)
		return r;
	r = st_repo_open_image_checked(repo, c, &fd);
	if (r >= 0)
		r = st_repo_mount_image_fd(repo, commit_id, c, fd, target, flags);
	st_commit_free(c);
	return r;
}

/* 1 if the image's root carries a verity policy, 0 if not. */
static int root_has_policy(int fd)
{
	struct st_node *root = NULL;
	const uint8_t *value;
	const char *name;
	bool found = false;
	size_t len;
	int r;

	r = st_image_read_root_fd(fd, &root, NULL);
	if (r < 0)
		return r;
	for (size_t i = 0; !found && st_node_get_xattr(root, i, &name, &value, &len) >= 0; i++)
		found = strcmp(name, ST_VERITY_POLICY_XATTR) == 0;
	st_node_free(root);
	return found;
}

/*
 * The verity policy of the image on fd, checked: NULL if it has none. An
 * image that claims one must keep it (every file under a prefix carries its
 * digest) before verity=on can stand in for verity=require. Only the root
 * says whether there is one: an image without (the usual case, and the
 * boot's critical path in prepare-root) is not read further here; parsing
 * a /usr-sized image whole cost 130-500 ms, more than the rest of the
 * mount. The kernel checks the image against its fs-verity digest as it
 * reads it.
 */
static int image_policy(int fd, const struct st_commit *c, struct st_verity_policy **ret)
{
	struct st_node *root = NULL;
	char hex[2 * ST_DIGEST_SIZE + 1];
	int r;

	st_hex_encode(c->image_digest, ST_DIGEST_SIZE, hex);
	st_error_clear();
	r = root_has_policy(fd);
	if (r == 0) {
		*ret = NULL;
		return 0;
	}
	if (r > 0)
		r = st_image_read_tree_fd(fd, NULL, &root, NULL);
	if (r >= 0) {
		st_error_clear();
		r = st_verity_policy_check_tree(root, ret);
		st_node_free(root);
		if (r == -EUCLEAN)
			return st_errf(r, "image %s claims a verity policy it does not keep, not mounting it: %s", hex,
				       st_error_detail() ? st_error_detail() : "bad policy");
	}
	if (r < 0 && st_error_detail())
		return st_errf(r, "image %s: %s", hex, st_error_detail());
	return r;
}

int st_repo_mount_image_fd(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
			   const struct st_commit *c, int fd, const char *target, unsigned flags)
{
	return st_repo_mount_image_fd_policy(repo, commit_id, c, fd, target, flags, NULL);
}

int st_repo_mount_image_fd_policy(struct st_repo *repo, const uint8_t commit_id[ST_COMMIT_ID_SIZE],
				  const struct st_commit *c, int fd, const char *target, unsigned flags,
				  struct st_verity_policy **ret_policy)
{
	_cleanup_(policy_freep) struct st_verity_policy *policy = NULL;
	_cleanup_free_ char *pin = NULL, *objects = NULL;
	_cleanup_close_ int lock_fd = -EBADF;
	const char *basedirs[1];
	struct st_mount_options mo = {};
	uint8_t old[ST_COMMIT_ID_SIZE];
	bool verity = st_repo_has_verity(repo), require;
	int r;

	if (flags & ~(unsigned)(ST_REPO_MOUNT_VERITY | ST_REPO_MOUNT_NO_VERITY | ST_REPO_MOUNT_NO_PIN) ||
	    (flags & ST_REPO_MOUNT_VERITY && flags & ST_REPO_MOUNT_NO_VERITY))
		return -EINVAL;
	if ((flags & ST_REPO_MOUNT_VERITY) && !verity)
		return st_errf(-EOPNOTSUPP, "repository '%s' has no fs-verity on its objects: cannot require it",
			       st_repo_path(repo));
	require = verity && !(flags & ST_REPO_MOUNT_NO_VERITY);
	if (require) {
		r = image_policy(fd, c, &policy);
		if (r < 0)
			return r;
	}

	r = st_mount_pin_name(target, &pin);
	if (r < 0)
		return r;
	/* Absolute: overlayfs shows it in mountinfo, where umount finds the repository again. */
	r = repo_objects_abspath(repo, &objects);
	if (r < 0)
		return r;

	/* One mount on target at a time; a pin of a live mount on target belongs to that mount: refuse to stack. */
	lock_fd = lock_target(target);
	if (lock_fd < 0)
		return lock_fd;
	if (flags & ST_REPO_MOUNT_NO_PIN) {
		free(pin);
		pin = NULL;
	} else {
		r = st_repo_read_ref(repo, pin, old);
		if (r >= 0 && is_mount_point(target) > 0)
			return st_errf(-EBUSY, "'%s' is mounted already (pinned by %s); run 'sealtree umount' first",
				       target, pin);
		r = st_repo_write_ref(repo, pin, commit_id, NULL);
		if (r < 0)
			return r;
	}

	/* overlayfs opens objects/ by its path: it must be the directory the repository opened, no symlink. */
	{
		struct stat a, b;

		if (lstat(objects, &a) < 0 || fstat(repo->objects_fd, &b) < 0 || !S_ISDIR(a.st_mode) ||
		    a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
			if (pin)
				(void)st_repo_delete_ref(repo, pin);
			return st_errf(-EUCLEAN, "'%s' is not the repository's objects directory (replaced by a symlink?)",
				       objects);
		}
	}
	basedirs[0] = objects;
	mo.basedirs = basedirs;
	mo.n_basedirs = 1;
	mo.flags = ST_MOUNT_READONLY | (!require ? 0 : policy ? ST_MOUNT_VERITY_ON : ST_MOUNT_REQUIRE_VERITY);
	mo.expected_digest = verity ? c->image_digest : NULL;
	mo.idmap_fd = -EBADF;
	r = st_mount_image_fd(fd, target, &mo);
	if (r < 0) {
		int saved = r;
		char *detail = st_error_detail() ? strdup(st_error_detail()) : NULL;

		if (pin)
			(void)st_repo_delete_ref(repo, pin);
		r = detail ? st_errf(saved, "%s", detail) : saved;
		free(detail);
		return r;
	}
	if (ret_policy)
		*ret_policy = TAKE_PTR(policy);
	return r;
}

/*
 * Is the mount m one 'sealtree mount' made from repo: the composefs overlay
 * source, and its data layer this repository's objects/ (the same inode)?
 * 1 yes, 0 no (why, in *ret_why).
 */
static int mount_is_ours(struct st_repo *repo, const struct repo_mountinfo *m, const char **ret_why)
{
	_cleanup_free_ char *datadir = NULL;
	struct stat a, b;
	int r;

	if (strcmp(m->fstype, "overlay") != 0 || strcmp(m->source, ST_MOUNT_SOURCE) != 0) {
		*ret_why = "not a composefs mount";
		return 0;
	}
	r = repo_mountinfo_option(m, "datadir+=", &datadir);
	if (r == -ENOENT) {
		*ret_why = "a composefs mount with no data layer";
		return 0;
	}
	if (r < 0)
		return r;
	if (stat(datadir, &a) < 0 || fstat(repo->objects_fd, &b) < 0 || a.st_dev != b.st_dev || a.st_ino != b.st_ino) {
		*ret_why = "a composefs mount of another repository's objects";
		return 0;
	}
	return 1;
}

int repo_objects_abspath(struct st_repo *repo, char **ret)
{
	_cleanup_free_ char *abs = realpath(repo->path, NULL);

	if (!abs)
		return st_errf(negative_errno(), "repository '%s'", repo->path);
	if (asprintf(ret, "%s/%s", abs, REPO_OBJECTS_DIR) < 0)
		return -ENOMEM;
	return 0;
}

int st_repo_umount(struct st_repo *repo, const char *target, bool detach, bool *ret_removed_pin)
{
	_cleanup_free_ char *pin = NULL;
	struct repo_mountinfo m = {};
	const char *why = NULL;
	bool removed = false;
	int r, ru;

	r = st_mount_pin_name(target, &pin);
	if (r < 0)
		return r;
	/* Only what sealtree mounted from this repository is unmounted: never another mount on target. */
	r = repo_mountinfo_at(target, &m);
	if (r == -ENOENT)
		ru = -EINVAL;
	else if (r < 0)
		return r;
	else {
		r = mount_is_ours(repo, &m, &why);
		if (r == 0)
			r = st_errf(-EPERM, "'%s' holds a %s mount of '%s' (%s), not what 'sealtree mount' mounted from "
				    "repository '%s': not unmounting it", target, m.fstype, m.source, why, repo->path);
		repo_mountinfo_release(&m);
		if (r < 0)
			return r;
		/*
		 * A composefs of this repository's objects that has no pin was not
		 * made by 'sealtree mount' (mount.composefs by hand, another tool):
		 * not ours to remove.
		 */
		{
			uint8_t pinned[ST_COMMIT_ID_SIZE];

			r = st_repo_read_ref(repo, pin, pinned);
			if (r == -ENOENT)
				return st_errf(-EPERM, "'%s' holds a composefs mount of repository '%s' that 'sealtree "
					       "mount' did not make (no pin %s): not unmounting it; use umount(8)",
					       target, repo->path, pin);
			if (r < 0)
				return r;
		}
		ru = umount2(target, detach ? MNT_DETACH : 0) < 0 ? negative_errno() : 0;
	}
	if (ru < 0 && ru != -EINVAL)
		return st_errf(ru, "cannot unmount '%s'", target);
	r = st_repo_delete_ref(repo, pin);
	if (r < 0 && r != -ENOENT)
		return r;
	removed = r >= 0;
	if (ret_removed_pin)
		*ret_removed_pin = removed;
	if (ru < 0)
		return st_errf(ru, "'%s' is not a mount point%s", target, removed ? " (its stale pin was removed)" : "");
	return 0;
}
