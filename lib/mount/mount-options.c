/* SPDX-License-Identifier: MIT */
/*
 * The checks that run before anything is mounted (options, composefs
 * header, the image's fs-verity digest) and the legacy overlay option string.
 * No mounting here, so the unit tests can reach all of it without root.
 */
#include <string.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "basic/macro.h"
#include "format/erofs-format.h"
#include "mount/mount-internal.h"
#include "sealtree/verity.h"

int mount_validate_options(const struct st_mount_options *opts)
{
	if (!opts)
		return st_errf(-EINVAL, "no mount options given");
	if (opts->flags & ~(unsigned)ST_MOUNT_FLAGS_KNOWN)
		return st_errf(-EINVAL, "unknown mount flags 0x%x", opts->flags & ~(unsigned)ST_MOUNT_FLAGS_KNOWN);
	for (size_t i = 0; i < ELEMENTSOF(opts->reserved); i++)
		if (opts->reserved[i] != 0)
			return st_errf(-EINVAL, "reserved mount option field %zu is not zero", i);
	if (opts->n_basedirs == 0 || !opts->basedirs)
		return st_errf(-EINVAL, "at least one basedir (object directory) is required");
	for (size_t i = 0; i < opts->n_basedirs; i++)
		if (!opts->basedirs[i] || !opts->basedirs[i][0])
			return st_errf(-EINVAL, "basedir %zu is empty", i + 1);
	if (!opts->upperdir != !opts->workdir)
		return st_errf(-EINVAL, "upperdir and workdir must be given together");
	if ((opts->upperdir && !opts->upperdir[0]) || (opts->workdir && !opts->workdir[0]))
		return st_errf(-EINVAL, "upperdir and workdir must not be empty");
	if ((opts->flags & ST_MOUNT_VERITY_ON) && (opts->flags & (ST_MOUNT_REQUIRE_VERITY | ST_MOUNT_TRY_VERITY)))
		return st_errf(-EINVAL, "verity=on excludes requiring (or trying) verity=require");
	if ((opts->flags & ST_MOUNT_IDMAP) && opts->idmap_fd < 0)
		return st_errf(-EINVAL, "an idmapped mount needs a user namespace fd");
	if ((opts->flags & ST_MOUNT_IDMAP) && (opts->flags & ST_MOUNT_FORCE_LEGACY_EROFS))
		return st_errf(-EINVAL, "an idmapped mount needs the new mount API, not mount(2)");
	if (opts->image_mountdir && !opts->image_mountdir[0])
		return st_errf(-EINVAL, "image_mountdir is empty");
	return 0;
}

int mount_read_header(int image_fd, uint32_t *ret_flags)
{
	struct cfs_header h;
	ssize_t n;
	uint32_t magic, version;

	do
		n = pread(image_fd, &h, sizeof(h), 0);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return st_errf(negative_errno(), "cannot read the composefs header");
	if ((size_t)n < sizeof(h))
		return st_errf(-EUCLEAN, "not a composefs image: file is only %zd bytes", n);
	magic = le32_get(h.magic);
	if (magic != CFS_MAGIC)
		return st_errf(-EUCLEAN, "not a composefs image: magic 0x%08x, expected 0x%08x", magic, CFS_MAGIC);
	version = le32_get(h.version);
	if (version != CFS_HEADER_VERSION)
		return st_errf(-EOPNOTSUPP, "composefs header version %u is not supported (only %u)",
			       version, CFS_HEADER_VERSION);
	*ret_flags = le32_get(h.flags);
	return 0;
}

int mount_check_digest(int image_fd, const uint8_t expected[32])
{
	uint8_t got[ST_VERITY_DIGEST_SIZE];
	char got_hex[2 * ST_VERITY_DIGEST_SIZE + 1], want_hex[2 * ST_VERITY_DIGEST_SIZE + 1];
	int r;

	r = st_verity_measure_fd(image_fd, got);
	if (r == -ENODATA)
		return st_errf(r, "image has no fs-verity (it is not enabled on the file), cannot check digest=");
	if (r == -ENOTTY || r == -EOPNOTSUPP)
		return st_errf(r, "image has no fs-verity (the kernel or filesystem lacks it), cannot check digest=");
	if (r < 0)
		return r; /* the detail from st_verity_measure_fd() says why */
	if (memcmp(got, expected, ST_VERITY_DIGEST_SIZE) != 0) {
		st_hex_encode(got, sizeof(got), got_hex);
		st_hex_encode(expected, ST_VERITY_DIGEST_SIZE, want_hex);
		return st_errf(-EBADMSG, "image has the wrong fs-verity digest %s, expected %s", got_hex, want_hex);
	}
	return 0;
}

const char *mount_verity_value(unsigned flags)
{
	if (flags & ST_MOUNT_REQUIRE_VERITY)
		return "require";
	if (flags & ST_MOUNT_VERITY_ON)
		return "on";
	return NULL;
}

int mount_append(char **buf, size_t *len, const char *s)
{
	size_t n = strlen(s), need;
	char *p;

	if (ADD_OVERFLOW(*len, n, &need) || ADD_OVERFLOW(need, (size_t)1, &need))
		return -ENOMEM;
	p = realloc(*buf, need);
	if (!p)
		return -ENOMEM;
	memcpy(p + *len, s, n + 1);
	*buf = p;
	*len += n;
	return 0;
}

int mount_append_escaped(char **buf, size_t *len, const char *s)
{
	_cleanup_free_ char *e = NULL;
	size_t n = strlen(s), cap, j = 0;

	/* At worst every character is escaped. */
	if (MUL_OVERFLOW(n, (size_t)2, &cap) || ADD_OVERFLOW(cap, (size_t)1, &cap))
		return -ENOMEM;
	e = malloc(cap);
	if (!e)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == '\\' || s[i] == ',' || s[i] == ':')
			e[j++] = '\\';
		e[j++] = s[i];
	}
	e[j] = '\0';
	return mount_append(buf, len, e);
}

int mount_legacy_overlay_options(const char *image_mnt, const struct st_mount_options *opts,
				 bool data_only, const char *verity, char **ret)
{
	_cleanup_free_ char *s = NULL;
	size_t len = 0;
	int r;

	r = mount_append(&s, &len, "metacopy=on,redirect_dir=on,lowerdir=");
	if (r >= 0)
		r = mount_append_escaped(&s, &len, image_mnt);
	for (size_t i = 0; r >= 0 && i < opts->n_basedirs; i++) {
		r = mount_append(&s, &len, data_only ? "::" : ":");
		if (r >= 0)
			r = mount_append_escaped(&s, &len, opts->basedirs[i]);
	}
	if (r >= 0 && opts->upperdir) {
		r = mount_append(&s, &len, ",upperdir=");
		if (r >= 0)
			r = mount_append_escaped(&s, &len, opts->upperdir);
		if (r >= 0)
			r = mount_append(&s, &len, ",workdir=");
		if (r >= 0)
			r = mount_append_escaped(&s, &len, opts->workdir);
	}
	if (r >= 0 && verity) {
		r = mount_append(&s, &len, ",verity=");
		if (r >= 0)
			r = mount_append(&s, &len, verity);
	}
	if (r < 0)
		return st_errf(r, "cannot build the overlay mount options");
	*ret = TAKE_PTR(s);
	return 0;
}
