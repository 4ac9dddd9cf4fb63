/* SPDX-License-Identifier: MIT */
/*
 * The physical floor of a composefs root for bench/bench-prepare-root.sh:
 * only what the kernel must do, with nothing of sealtree's. Opens the image,
 * mounts its EROFS (file-backed, new mount API, read-only, noacl) on a
 * detached mount, puts the overlay (lowerdir+ the EROFS, datadir+ the
 * objects, metacopy and redirect_dir on, read-only) on TARGET, and exits.
 * Links libc only; no digest, no parsing, no trust chain.
 *
 *   composefs-floor IMAGE OBJECTS_DIR TARGET
 *
 * Built by the benchmark with cc; not part of the project's build.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <linux/mount.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

static int fsconfig_str(int fd, const char *key, const char *value)
{
	return (int)syscall(SYS_fsconfig, fd, value ? FSCONFIG_SET_STRING : FSCONFIG_SET_FLAG, key, value, 0);
}

static int die(const char *what)
{
	fprintf(stderr, "composefs-floor: %s: %s\n", what, strerror(errno));
	return 1;
}

int main(int argc, char **argv)
{
	char src[64], lower[64];
	int img, fs, mnt, ov, omnt;

	if (argc != 4) {
		fprintf(stderr, "usage: composefs-floor IMAGE OBJECTS_DIR TARGET\n");
		return 2;
	}
	img = open(argv[1], O_RDONLY | O_CLOEXEC);
	if (img < 0)
		return die("open image");
	snprintf(src, sizeof(src), "/proc/self/fd/%d", img);
	fs = (int)syscall(SYS_fsopen, "erofs", FSOPEN_CLOEXEC);
	if (fs < 0 || fsconfig_str(fs, "source", src) < 0 || fsconfig_str(fs, "ro", NULL) < 0 ||
	    fsconfig_str(fs, "noacl", NULL) < 0 || syscall(SYS_fsconfig, fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return die("erofs superblock");
	mnt = (int)syscall(SYS_fsmount, fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (mnt < 0)
		return die("erofs fsmount");
	/* The overlay names its lower layer by path: the detached mount's fd. */
	snprintf(lower, sizeof(lower), "/proc/self/fd/%d", mnt);
	ov = (int)syscall(SYS_fsopen, "overlay", FSOPEN_CLOEXEC);
	if (ov < 0 || fsconfig_str(ov, "source", "composefs") < 0 || fsconfig_str(ov, "metacopy", "on") < 0 ||
	    fsconfig_str(ov, "redirect_dir", "on") < 0 || fsconfig_str(ov, "lowerdir+", lower) < 0 ||
	    fsconfig_str(ov, "datadir+", argv[2]) < 0 || syscall(SYS_fsconfig, ov, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0)
		return die("overlay superblock");
	omnt = (int)syscall(SYS_fsmount, ov, FSMOUNT_CLOEXEC, MOUNT_ATTR_RDONLY);
	if (omnt < 0)
		return die("overlay fsmount");
	if (syscall(SYS_move_mount, omnt, "", AT_FDCWD, argv[3], MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return die("move_mount");
	return 0;
}
