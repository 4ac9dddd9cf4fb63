/* SPDX-License-Identifier: MIT */
/*
 * Private to lib/mount: the steps of st_mount_image_fd() (see mount.c for
 * the order) and the pure helpers the unit tests reach directly.
 */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "sealtree/mount.h"

/* The overlay's "source": shows up in /proc/mounts, names who made the mount. */
#define ST_MOUNT_SOURCE "composefs"

/* Everything a public caller may set in st_mount_options.flags. */
#define ST_MOUNT_FLAGS_KNOWN                                                          \
	(ST_MOUNT_REQUIRE_VERITY | ST_MOUNT_TRY_VERITY | ST_MOUNT_READONLY | ST_MOUNT_IDMAP | ST_MOUNT_VERITY_ON | \
	 ST_MOUNT_FORCE_LOOP | ST_MOUNT_FORCE_LEGACY_EROFS | ST_MOUNT_FORCE_LEGACY_OVERLAY)

/* Check the options before anything touches the kernel (-EINVAL + detail). */
int mount_validate_options(const struct st_mount_options *opts);

/*
 * Read and check the 32-byte composefs header through pread (offset 0, the
 * file offset is left alone). -EUCLEAN: short file or wrong magic;
 * -EOPNOTSUPP: unknown header version. *ret_flags: the header's flags.
 */
int mount_read_header(int image_fd, uint32_t *ret_flags);

/*
 * Compare the kernel's fs-verity measurement of image_fd with expected:
 * -ENOTTY/-EOPNOTSUPP/-ENODATA when the image has no fs-verity, -EBADMSG
 * when it differs.
 */
int mount_check_digest(int image_fd, const uint8_t expected[32]);

/*
 * Append s to the legacy mount(2) option string *buf (of *len bytes, heap,
 * NUL-terminated), with '\\', ',' and ':' backslash-escaped: overlayfs splits
 * its options at unescaped commas and lowerdir at unescaped colons, and
 * unescapes every path it is given.
 */
int mount_append_escaped(char **buf, size_t *len, const char *s);
int mount_append(char **buf, size_t *len, const char *s);

/*
 * The legacy overlay option string:
 * "metacopy=on,redirect_dir=on,lowerdir=IMG::OBJ1::OBJ2[,upperdir=U,workdir=W][,verity=V]"
 * with ':' instead of '::' when data_only is false; verity is NULL (no
 * option), "on" or "require".
 */
int mount_legacy_overlay_options(const char *image_mnt, const struct st_mount_options *opts,
				 bool data_only, const char *verity, char **ret);

/* The overlay's verity= value the flags ask for: "require", "on", or NULL. */
const char *mount_verity_value(unsigned flags);

/*
 * Mount the EROFS of image_fd read-only on mnt: new mount API on
 * /proc/self/fd/N (file-backed), loop device on -ENOTBLK, mount(2) on
 * -ENOSYS. Leaves nothing behind on failure.
 */
int mount_erofs(int image_fd, uint32_t header_flags, const char *mnt, const struct st_mount_options *opts);

/* Mount the overlay on target: new API, legacy mount(2) when the kernel lacks it. */
int mount_overlay(const char *image_mnt, const char *target, const struct st_mount_options *opts);

/* Raw syscalls: the glibc wrappers are recent (2.36) and not everywhere. */
int sys_fsopen(const char *fsname, unsigned flags);
int sys_fsconfig(int fd, unsigned cmd, const char *key, const void *value, int aux);
int sys_fsmount(int fd, unsigned flags, unsigned attr_flags);
int sys_move_mount(int from_dfd, const char *from_path, int to_dfd, const char *to_path, unsigned flags);
int sys_mount_setattr(int dfd, const char *path, unsigned flags, void *attr, size_t size);

/*
 * The last message the kernel logged on an fs context fd (fsopen), without
 * the "e " prefix, into buf; "" when there is none. For error details.
 */
const char *fs_context_message(int fs_fd, char *buf, size_t size);
