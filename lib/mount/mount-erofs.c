/* SPDX-License-Identifier: MIT */
/*
 * Step 1 of a composefs mount: the image's EROFS, read-only, somewhere the
 * overlay can name it as its lower layer. Kernels >= 6.12 mount the image
 * file itself (file-backed EROFS); older ones answer ENOTBLK and need a loop
 * device; kernels without the new mount API (< 5.2) answer ENOSYS and get
 * mount(2).
 */
#include <fcntl.h>
#include <linux/loop.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "format/erofs-format.h"
#include "mount/mount-internal.h"

/* Tries of LOOP_CTL_GET_FREE + LOOP_CONFIGURE when another process takes the device first. */
#define LOOP_ATTEMPTS 8

static int fail_ctx(int r, int fs_fd, const char *what, const char *source)
{
	char msg[512];

	fs_context_message(fs_fd, msg, sizeof(msg));
	return st_errf(r, "mounting the EROFS image (%s): %s failed%s%s", source, what,
		       msg[0] ? ", kernel says: " : "", msg);
}

static int erofs_new_api(const char *source, bool acl, const char *mnt, const struct st_mount_options *opts)
{
	_cleanup_close_ int fs_fd = -EBADF, mnt_fd = -EBADF;

	fs_fd = sys_fsopen("erofs", FSOPEN_CLOEXEC);
	if (fs_fd < 0) {
		int r = negative_errno();
		if (r == -ENOSYS)
			return r; /* caller falls back to mount(2) */
		if (r == -ENODEV)
			return st_errf(r, "the kernel has no EROFS filesystem (modprobe erofs?)");
		return st_errf(r, "fsopen(\"erofs\") failed");
	}
	if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "source", source, 0) < 0)
		return fail_ctx(negative_errno(), fs_fd, "setting source", source);
	if (sys_fsconfig(fs_fd, FSCONFIG_SET_FLAG, "ro", NULL, 0) < 0)
		return fail_ctx(negative_errno(), fs_fd, "setting ro", source);
	/* Without ACLs in the image, the kernel need not look for them. */
	if (!acl && sys_fsconfig(fs_fd, FSCONFIG_SET_FLAG, "noacl", NULL, 0) < 0)
		return fail_ctx(negative_errno(), fs_fd, "setting noacl", source);
	if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		int r = negative_errno();
		if (r == -ENOTBLK)
			return r; /* no file-backed EROFS: caller uses a loop device */
		return fail_ctx(r, fs_fd, "creating the superblock", source);
	}
	mnt_fd = sys_fsmount(fs_fd, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt_fd < 0)
		return fail_ctx(negative_errno(), fs_fd, "fsmount", source);
	if (opts->flags & ST_MOUNT_IDMAP) {
		struct mount_attr attr = {
			.attr_set = MOUNT_ATTR_IDMAP,
			.userns_fd = (uint64_t)opts->idmap_fd,
		};
		if (sys_mount_setattr(mnt_fd, "", AT_EMPTY_PATH, &attr, sizeof(attr)) < 0)
			return st_errf(negative_errno(), "idmapping the EROFS mount (mount_setattr) failed");
	}
	if (sys_move_mount(mnt_fd, "", AT_FDCWD, mnt, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return st_errf(negative_errno(), "attaching the EROFS mount on '%s' failed", mnt);
	return 0;
}

static int erofs_legacy(const char *source, bool acl, const char *mnt, const struct st_mount_options *opts)
{
	if (opts->flags & ST_MOUNT_IDMAP)
		return st_errf(-EOPNOTSUPP, "an idmapped mount needs the new mount API, which this kernel lacks");
	if (mount(source, mnt, "erofs", MS_RDONLY, acl ? NULL : "noacl") < 0) {
		int r = negative_errno();
		if (r == -ENOTBLK)
			return r;
		return st_errf(r, "mounting the EROFS image (%s) with mount(2) failed", source);
	}
	return 0;
}

static int erofs_mount_source(const char *source, bool acl, const char *mnt, const struct st_mount_options *opts)
{
	int r;

	if (opts->flags & ST_MOUNT_FORCE_LEGACY_EROFS)
		return erofs_legacy(source, acl, mnt, opts);
	r = erofs_new_api(source, acl, mnt, opts);
	if (r == -ENOSYS)
		r = erofs_legacy(source, acl, mnt, opts);
	return r;
}

/* A read-only loop device over image_fd; returns its open fd, name in name. */
static int loop_attach(int image_fd, char *name, size_t name_size)
{
	_cleanup_close_ int ctl = -EBADF;
	int r = -EBUSY;

	ctl = open("/dev/loop-control", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return st_errf(negative_errno(), "no file-backed EROFS here and cannot open /dev/loop-control");
	for (int attempt = 0; attempt < LOOP_ATTEMPTS; attempt++) {
		_cleanup_close_ int loop_fd = -EBADF;
		struct loop_config cfg;
		long nr;

		nr = ioctl(ctl, LOOP_CTL_GET_FREE);
		if (nr < 0)
			return st_errf(negative_errno(), "cannot get a free loop device");
		if (snprintf(name, name_size, "/dev/loop%ld", nr) >= (int)name_size)
			return st_errf(-ENAMETOOLONG, "loop device name too long");
		loop_fd = open(name, O_RDWR | O_CLOEXEC);
		if (loop_fd < 0)
			return st_errf(negative_errno(), "cannot open '%s'", name);
		memset(&cfg, 0, sizeof(cfg));
		cfg.fd = (uint32_t)image_fd;
		cfg.block_size = EROFS_BLKSIZ; /* the image's own block size */
		/* AUTOCLEAR: the device goes away with its last user, the EROFS
		 * mount, or when loop_fd is closed if the mount fails. */
		cfg.info.lo_flags = LO_FLAGS_READ_ONLY | LO_FLAGS_DIRECT_IO | LO_FLAGS_AUTOCLEAR;
		if (ioctl(loop_fd, LOOP_CONFIGURE, &cfg) == 0)
			return TAKE_FD(loop_fd);
		r = negative_errno();
		if (r != -EBUSY) /* EBUSY: someone else configured it meanwhile */
			break;
	}
	return st_errf(r, "cannot set up loop device '%s' for the image", name);
}

int mount_erofs(int image_fd, uint32_t header_flags, const char *mnt, const struct st_mount_options *opts)
{
	bool acl = header_flags & CFS_FLAGS_HAS_ACL;
	char source[64], loop_name[64] = "";
	_cleanup_close_ int loop_fd = -EBADF;
	int r = -ENOTBLK;

	/* Mounting through /proc/self/fd keeps it the very file (and fd) whose
	 * digest was checked, not whatever the path names now. */
	if (snprintf(source, sizeof(source), "/proc/self/fd/%d", image_fd) >= (int)sizeof(source))
		return -EINVAL;
	if (!(opts->flags & ST_MOUNT_FORCE_LOOP))
		r = erofs_mount_source(source, acl, mnt, opts);
	if (r != -ENOTBLK)
		return r;

	loop_fd = loop_attach(image_fd, loop_name, sizeof(loop_name));
	if (loop_fd < 0)
		return loop_fd;
	r = erofs_mount_source(loop_name, acl, mnt, opts);
	if (r == -ENOTBLK)
		r = st_errf(r, "mounting the EROFS image on '%s' failed: not a block device", loop_name);
	return r;
}
