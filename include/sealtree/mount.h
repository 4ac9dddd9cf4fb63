/* SPDX-License-Identifier: MIT */
/*
 * sealtree mount: mount a composefs image with the kernel: a read-only EROFS
 * of the image (file-backed, loop device on older kernels) under an
 * overlayfs whose data-only lower layers are the object directories.
 */
#ifndef SEALTREE_MOUNT_H
#define SEALTREE_MOUNT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

enum st_mount_flags {
	ST_MOUNT_REQUIRE_VERITY = 1u << 0, /* overlay verity=require */
	ST_MOUNT_TRY_VERITY = 1u << 1,     /* verity=require if the kernel accepts it */
	ST_MOUNT_READONLY = 1u << 2,
	ST_MOUNT_IDMAP = 1u << 3,          /* idmapped mount through idmap_fd */
	/*
	 * overlay verity=on: a file whose metacopy carries a digest is checked
	 * against it, a file without one is read unchecked. For images with a
	 * verity policy (verity-policy.h), whose caller has checked that every
	 * file under the policy's prefixes carries its digest. Excludes
	 * REQUIRE_VERITY and TRY_VERITY.
	 */
	ST_MOUNT_VERITY_ON = 1u << 4,
	/*
	 * For tests: skip the preferred way so that the fallbacks older kernels
	 * need can be exercised on a new one.
	 */
	ST_MOUNT_FORCE_LOOP = 1u << 8,            /* EROFS on a loop device, not file-backed */
	ST_MOUNT_FORCE_LEGACY_EROFS = 1u << 9,    /* EROFS with mount(2), not fsopen() */
	ST_MOUNT_FORCE_LEGACY_OVERLAY = 1u << 10, /* overlay with mount(2) and "lowerdir=A::B" */
};

struct st_mount_options {
	unsigned flags;                         /* enum st_mount_flags */
	const char *const *basedirs;            /* object directories, at least one */
	size_t n_basedirs;
	const char *upperdir, *workdir;         /* both or neither */
	const uint8_t *expected_digest;         /* 32 bytes: the image's fs-verity digest must match */
	int idmap_fd;                           /* a user namespace fd, with ST_MOUNT_IDMAP */
	const char *image_mountdir;             /* where to mount the EROFS meanwhile; NULL = private temp dir */
	uint32_t reserved[6];
};

/*
 * Mount the image at image_path (or the open image_fd) on target.
 *
 * Options: at least one basedir; upperdir and workdir both or neither;
 * ST_MOUNT_IDMAP needs idmap_fd >= 0 (otherwise idmap_fd is ignored);
 * unknown flags and non-zero reserved fields are -EINVAL. The overlay is
 * read-only unless an upperdir is given and ST_MOUNT_READONLY is not set.
 * ST_MOUNT_TRY_VERITY asks for verity=require but mounts without it if the
 * kernel rejects the option (the legacy mount(2) path ignores it).
 *
 * The expected digest, when given, is checked on the same fd that is then
 * mounted: -ENOTTY/-EOPNOTSUPP/-ENODATA if the image has no fs-verity,
 * -EBADMSG if it differs. -EUCLEAN if the file is not a composefs image,
 * -EOPNOTSUPP for an unknown header version. Kernel failures are returned
 * as the syscall's errno with a detail naming the step (and the kernel's
 * own message when it logged one).
 *
 * On failure nothing is left behind: no mount, loop device or temporary
 * directory. On success only the overlay remains; the EROFS is detached
 * (the overlay holds it) and the temporary directory removed.
 * Needs CAP_SYS_ADMIN. image_fd is neither closed nor moved.
 */
ST_EXPORT int st_mount_image(const char *image_path, const char *target, const struct st_mount_options *opts);
ST_EXPORT int st_mount_image_fd(int image_fd, const char *target, const struct st_mount_options *opts);

#ifdef __cplusplus
}
#endif
#endif
