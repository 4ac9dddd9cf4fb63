/* SPDX-License-Identifier: MIT */
/*
 * st_mount_image(): check the options, the image's fs-verity digest and
 * header on one fd, mount its EROFS on a private directory, put the overlay
 * on top, then let go of the EROFS mount and the directory (the overlay
 * keeps the superblock alive). Every failure undoes what was done before.
 */
#include <assert.h>
#include <fcntl.h>
#include <limits.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "mount/mount-internal.h"

/* Where the EROFS waits for the overlay: the place the reference uses,
 * then /run for early boot, where /tmp may be missing or read-only. */
static const char *const tmp_templates[] = { "/tmp/.composefs.XXXXXX", "/run/.composefs.XXXXXX" };
#define TMP_TEMPLATE_SIZE sizeof("/tmp/.composefs.XXXXXX")
static_assert(sizeof("/run/.composefs.XXXXXX") == TMP_TEMPLATE_SIZE, "templates of one size");

static int make_tmp_dir(char buf[TMP_TEMPLATE_SIZE])
{
	int r = -ENOENT;

	for (size_t i = 0; i < ELEMENTSOF(tmp_templates); i++) {
		memcpy(buf, tmp_templates[i], TMP_TEMPLATE_SIZE);
		if (mkdtemp(buf))
			return 0;
		r = negative_errno();
	}
	return st_errf(r, "cannot create a temporary directory in /tmp or /run for the EROFS mount");
}

/* Undo the EROFS mount and the temp dir, keeping the caller's error detail. */
static void erofs_release(const char *mnt, bool mounted, bool created_dir)
{
	int saved = errno;

	if (mounted)
		(void)umount2(mnt, MNT_DETACH);
	if (created_dir)
		(void)rmdir(mnt);
	errno = saved;
}

int st_mount_image_fd(int image_fd, const char *target, const struct st_mount_options *opts)
{
	char tmp[TMP_TEMPLATE_SIZE];
	const char *mnt;
	bool created_dir = false;
	uint32_t header_flags;
	int r;

	r = mount_validate_options(opts);
	if (r < 0)
		return r;
	if (!target || !target[0])
		return st_errf(-EINVAL, "no mount target given");
	if (image_fd < 0)
		return st_errf(-EBADF, "invalid image fd");

	if (opts->expected_digest) {
		r = mount_check_digest(image_fd, opts->expected_digest);
		if (r < 0)
			return r;
	}
	r = mount_read_header(image_fd, &header_flags);
	if (r < 0)
		return r;

	if (opts->image_mountdir) {
		mnt = opts->image_mountdir;
	} else {
		r = make_tmp_dir(tmp);
		if (r < 0)
			return r;
		mnt = tmp;
		created_dir = true;
	}

	r = mount_erofs(image_fd, header_flags, mnt, opts);
	if (r < 0) {
		erofs_release(mnt, false, created_dir);
		return r;
	}
	r = mount_overlay(mnt, target, opts);
	/* Success or not, the EROFS mount point is no longer needed. */
	erofs_release(mnt, true, created_dir);
	if (r < 0)
		return r;
	return 0;
}

int st_mount_image(const char *image_path, const char *target, const struct st_mount_options *opts)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	int r;

	r = mount_validate_options(opts);
	if (r < 0)
		return r;
	if (!image_path)
		return st_errf(-EINVAL, "no image path given");
	fd = open(image_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open image '%s'", image_path);
	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "cannot stat image '%s'", image_path);
	if (S_ISDIR(st.st_mode))
		return st_errf(-EISDIR, "image '%s' is a directory", image_path);
	return st_mount_image_fd(fd, target, opts);
}
