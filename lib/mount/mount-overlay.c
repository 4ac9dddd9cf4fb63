/* SPDX-License-Identifier: MIT */
/*
 * Step 2 of a composefs mount: the overlay whose lower layer is the EROFS
 * and whose data-only layers are the object directories. The new mount API
 * takes each path as its own fsconfig() value (lowerdir+/datadir+, kernel
 * >= 6.7), so no path needs escaping; older kernels get the legacy option
 * string.
 */
#include <string.h>
#include <sys/mount.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "mount/mount-internal.h"

/* The new API is not usable here: take the legacy path. */
#define FALLBACK (-ENOSYS)

static bool overlay_readonly(const struct st_mount_options *opts)
{
	return (opts->flags & ST_MOUNT_READONLY) || !opts->upperdir;
}

static int fail_ctx(int r, int fs_fd, const char *what)
{
	char msg[512];

	fs_context_message(fs_fd, msg, sizeof(msg));
	return st_errf(r, "mounting the overlay: %s failed%s%s", what, msg[0] ? ", kernel says: " : "", msg);
}

/* Set key=value; EINVAL means this kernel predates the key (or its
 * append form), so the legacy path gets a try. */
static int set_string(int fs_fd, const char *key, const char *value)
{
	if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, key, value, 0) == 0)
		return 0;
	int r = negative_errno();
	char msg[512];

	if (r == -EINVAL)
		return FALLBACK;
	fs_context_message(fs_fd, msg, sizeof(msg));
	return st_errf(r, "mounting the overlay: setting %s='%s' failed%s%s", key, value,
		       msg[0] ? ", kernel says: " : "", msg);
}

static int overlay_new_api(const char *image_mnt, const char *target, const struct st_mount_options *opts)
{
	_cleanup_close_ int fs_fd = -EBADF, mnt_fd = -EBADF;
	bool require = opts->flags & ST_MOUNT_REQUIRE_VERITY;
	const char *verity = mount_verity_value(opts->flags);
	int r;

	fs_fd = sys_fsopen("overlay", FSOPEN_CLOEXEC);
	if (fs_fd < 0) {
		r = negative_errno();
		if (r == -ENOSYS)
			return FALLBACK;
		if (r == -ENODEV)
			return st_errf(r, "the kernel has no overlay filesystem (modprobe overlay?)");
		return st_errf(r, "fsopen(\"overlay\") failed");
	}
	/* Before 6.5 overlayfs took new-API options through a generic shim
	 * that accepts any key and parses nothing until mount time; only a
	 * kernel that rejects a made-up key really parses lowerdir+. */
	if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "sealtree-probe-unknown-key", "1", 0) == 0)
		return FALLBACK;
	(void)fs_context_message(fs_fd, (char[8]){ 0 }, 8); /* drop the probe's message */

	r = set_string(fs_fd, "source", ST_MOUNT_SOURCE);
	if (r == 0)
		r = set_string(fs_fd, "metacopy", "on");
	if (r == 0)
		r = set_string(fs_fd, "redirect_dir", "on");
	if (r == 0 && verity && !require) {
		/* verity=on: what the caller asked for, never dropped. */
		if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "verity", verity, 0) < 0)
			return fail_ctx(negative_errno(), fs_fd, "verity=on");
	} else if (r == 0 && (require || (opts->flags & ST_MOUNT_TRY_VERITY))) {
		if (sys_fsconfig(fs_fd, FSCONFIG_SET_STRING, "verity", "require", 0) < 0) {
			if (require)
				return fail_ctx(negative_errno(), fs_fd, "verity=require");
			/* tryverity: mount without it on kernels that lack the option. */
			(void)fs_context_message(fs_fd, (char[8]){ 0 }, 8);
		}
	}
	if (r == 0)
		r = set_string(fs_fd, "lowerdir+", image_mnt);
	for (size_t i = 0; r == 0 && i < opts->n_basedirs; i++)
		r = set_string(fs_fd, "datadir+", opts->basedirs[i]);
	if (r == 0 && opts->upperdir)
		r = set_string(fs_fd, "upperdir", opts->upperdir);
	if (r == 0 && opts->workdir)
		r = set_string(fs_fd, "workdir", opts->workdir);
	if (r < 0)
		return r;
	if (sys_fsconfig(fs_fd, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
		r = negative_errno();
		return fail_ctx(r, fs_fd, "creating the superblock");
	}
	mnt_fd = sys_fsmount(fs_fd, FSMOUNT_CLOEXEC, overlay_readonly(opts) ? MOUNT_ATTR_RDONLY : 0);
	if (mnt_fd < 0)
		return fail_ctx(negative_errno(), fs_fd, "fsmount");
	if (sys_move_mount(mnt_fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
		return st_errf(negative_errno(), "attaching the overlay on '%s' failed", target);
	return 0;
}

static int overlay_legacy(const char *image_mnt, const char *target, const struct st_mount_options *opts)
{
	/* tryverity is not tried here: mount(2) gives no way to tell a
	 * rejected option from any other EINVAL. */
	const char *verity = mount_verity_value(opts->flags);
	unsigned long flags = overlay_readonly(opts) ? MS_RDONLY : 0;
	_cleanup_free_ char *data_only = NULL, *plain = NULL;
	int r;

	r = mount_legacy_overlay_options(image_mnt, opts, true, verity, &data_only);
	if (r < 0)
		return r;
	/* MS_SILENT: an EINVAL from a kernel without "::" is expected. */
	if (mount(ST_MOUNT_SOURCE, target, "overlay", flags | MS_SILENT, data_only) == 0)
		return 0;
	r = negative_errno();
	if (r != -EINVAL)
		return st_errf(r, "mounting the overlay on '%s' with mount(2) failed", target);

	/* Kernels before 6.5 have no data-only layers: the object directories
	 * become plain lower layers, hidden by the image root's opaque xattr
	 * and the 00..ff whiteouts the writer puts there. */
	r = mount_legacy_overlay_options(image_mnt, opts, false, verity, &plain);
	if (r < 0)
		return r;
	if (mount(ST_MOUNT_SOURCE, target, "overlay", flags, plain) < 0)
		return st_errf(negative_errno(), "mounting the overlay on '%s' with mount(2) failed (options '%s')",
			       target, plain);
	return 0;
}

int mount_overlay(const char *image_mnt, const char *target, const struct st_mount_options *opts)
{
	int r = FALLBACK;

	if (!(opts->flags & ST_MOUNT_FORCE_LEGACY_OVERLAY))
		r = overlay_new_api(image_mnt, target, opts);
	if (r == FALLBACK)
		r = overlay_legacy(image_mnt, target, opts);
	return r;
}
