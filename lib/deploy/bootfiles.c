/* SPDX-License-Identifier: MIT */
/*
 * Boot files: the kernel, initramfs and devicetree (if any) of a committed
 * tree (usr/lib/modules/KVER/{vmlinuz,initramfs.img,devicetree}), out of the
 * repository's objects into boot/sealtree/OS-BOOTDIGEST/, a directory
 * shared by every deployment whose boot files have the same bytes.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "deploy-internal.h"
#include "sealtree/verity.h"

static bool is_regular(const struct st_node *n)
{
	struct st_entry e;

	st_node_get_entry(n, &e);
	return S_ISREG(e.mode);
}

static int file_digest(const struct st_node *n, uint8_t out[ST_DIGEST_SIZE])
{
	struct st_entry e;

	st_node_get_entry(n, &e);
	if (e.has_digest) {
		memcpy(out, e.digest, ST_DIGEST_SIZE);
		return 0;
	}
	return st_verity_digest_buffer(e.content ? e.content : (const uint8_t *)"", e.size, out);
}

int boot_files_find(struct st_node *root, const char *os, struct boot_files *bf)
{
	struct st_node *mods = NULL, *found = NULL, *child, *k, *ir = NULL, *dt = NULL;
	const char *first = NULL;
	uint8_t buf[3 * (16 + ST_DIGEST_SIZE)], md[32];
	size_t o = 0;
	struct st_entry e;
	char hex[65];
	int r;

	r = st_tree_lookup(root, "usr/lib/modules", &mods);
	st_error_clear();
	st_node_get_entry(mods ? mods : root, &e);
	if (r < 0 || !S_ISDIR(e.mode))
		return st_errf(-ENOENT, "no kernel: the tree has no usr/lib/modules/KVER/vmlinuz");
	for (size_t i = 0; (child = st_node_get_child(mods, i)); i++) {
		struct st_entry ce;

		st_node_get_entry(child, &ce);
		if (!S_ISDIR(ce.mode) || st_tree_lookup(child, "vmlinuz", &k) < 0 || !is_regular(k)) {
			st_error_clear();
			continue;
		}
		if (found)
			return st_errf(-ENOTUNIQ, "two kernels: usr/lib/modules/%s/vmlinuz and usr/lib/modules/%s/vmlinuz",
				       first, ce.name);
		found = child;
		first = ce.name;
		bf->vmlinuz = k;
	}
	if (!found)
		return st_errf(-ENOENT, "no kernel: the tree has no usr/lib/modules/KVER/vmlinuz");
	if (strlen(first) >= sizeof(bf->kver))
		return st_errf(-ENAMETOOLONG, "kernel version '%s' is too long", first);
	if (st_tree_lookup(found, "initramfs.img", &ir) < 0 || !is_regular(ir)) {
		st_error_clear();
		return st_errf(-ENOENT, "kernel %s has no initramfs: usr/lib/modules/%s/initramfs.img is missing",
			       first, first);
	}
	bf->initramfs = ir;
	/*
	 * The devicetree: KVER/devicetree, else KVER/dtb, when it is a regular
	 * file. A dtb/ directory (one blob per board) is not installed: a BLS
	 * entry names one file, and which board this is only the machine knows.
	 */
	bf->devicetree = NULL;
	if (st_tree_lookup(found, "devicetree", &dt) >= 0 && is_regular(dt))
		bf->devicetree = dt;
	else if (st_tree_lookup(found, "dtb", &dt) >= 0 && is_regular(dt))
		bf->devicetree = dt;
	st_error_clear();
	(void)snprintf(bf->kver, sizeof(bf->kver), "%s", first);
	memcpy(buf + o, "vmlinuz", 8);
	o += 8;
	r = file_digest(bf->vmlinuz, buf + o);
	o += ST_DIGEST_SIZE;
	memcpy(buf + o, "initramfs.img", 14);
	o += 14;
	if (r >= 0)
		r = file_digest(bf->initramfs, buf + o);
	o += ST_DIGEST_SIZE;
	/* Without a devicetree the digest is what it always was. */
	if (r >= 0 && bf->devicetree) {
		memcpy(buf + o, "devicetree", 11);
		o += 11;
		r = file_digest(bf->devicetree, buf + o);
		o += ST_DIGEST_SIZE;
	}
	if (r < 0)
		return r;
	if (!EVP_Digest(buf, o, md, NULL, EVP_sha256(), NULL))
		return -EIO;
	st_hex_encode(md, 32, hex);
	(void)snprintf(bf->dir, sizeof(bf->dir), "%s-%s", os, hex);
	return 0;
}

/*
 * When /boot is the repository's filesystem, the boot file is a hardlink
 * of its object (as ostree does): no bytes written, nothing to flush. The
 * object is checked first: the kernel's fs-verity measurement when it has
 * one (which then also guards every later read of the boot file), else its
 * digest computed. 1 if linked, 0 if the caller must copy (another
 * filesystem, or one without hardlinks such as vfat), negative errno.
 */
static int link_one(struct st_repo *repo, int dirfd, const char *name, const struct st_node *n)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t want[ST_DIGEST_SIZE], got[ST_DIGEST_SIZE];
	char path[64];
	struct st_entry e;
	struct stat ost, dst;
	int r;

	st_node_get_entry(n, &e);
	if (!e.has_digest || e.content)
		return 0;       /* inline contents: no object */
	memcpy(want, e.digest, sizeof(want));
	fd = st_repo_open_object(repo, want);
	if (fd < 0)
		return fd;
	if (fstat(fd, &ost) < 0 || fstat(dirfd, &dst) < 0)
		return negative_errno();
	if (ost.st_dev != dst.st_dev)
		return 0;
	if ((uint64_t)ost.st_size != e.size)
		return st_errf(-EBADMSG, "object of %s is corrupt: %jd bytes, not %" PRIu64, name,
			       (intmax_t)ost.st_size, e.size);
	r = st_verity_measure_or_digest_fd(fd, got);
	if (r < 0)
		return st_errf(r, "cannot read the object of %s", name);
	if (memcmp(got, want, sizeof(got)) != 0)
		return st_errf(-EBADMSG, "object of %s is corrupt: its contents do not match its digest", name);
	(void)snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, path, dirfd, name, AT_SYMLINK_FOLLOW) == 0)
		return 1;
	if (errno == EXDEV || errno == EPERM || errno == EMLINK || errno == EOPNOTSUPP || errno == ENOSYS ||
	    errno == ENOENT)
		return 0;       /* no hardlinks here (or no /proc): copy */
	return negative_errno();
}

static int copy_one(struct st_repo *repo, int dirfd, const char *name, const struct st_node *n)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	r = link_one(repo, dirfd, name, n);
	if (r != 0)
		return r < 0 ? r : 0;
	fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	r = st_repo_write_file_contents(repo, n, fd);
	if (r >= 0)
		r = RET_NERRNO(fsync(fd));
	return r;
}

int boot_files_install(struct st_sysroot *s, const struct boot_files *bf, bool *ret_new)
{
	_cleanup_close_ int bfd = -EBADF, tfd = -EBADF;
	char tmp[sizeof(bf->dir) + 16];
	struct stat st;
	int r;

	bfd = openat(s->boot_fd, "sealtree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (bfd < 0)
		return st_errf(negative_errno(), "cannot open boot/sealtree");
	if (fstatat(bfd, bf->dir, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode)) {
		*ret_new = false;
		return 0;
	}
	tmp_name(bf->dir, tmp, sizeof(tmp));
	if (mkdirat(bfd, tmp, 0755) < 0)
		return st_errf(negative_errno(), "cannot create boot/sealtree/%s", tmp);
	tfd = openat(bfd, tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = tfd < 0 ? negative_errno() : 0;
	if (r >= 0)
		r = copy_one(s->repo, tfd, "vmlinuz", bf->vmlinuz);
	if (r >= 0)
		r = copy_one(s->repo, tfd, "initramfs.img", bf->initramfs);
	if (r >= 0 && bf->devicetree)
		r = copy_one(s->repo, tfd, "devicetree", bf->devicetree);
	if (r >= 0)
		r = RET_NERRNO(fsync(tfd));
	if (r >= 0)
		r = RET_NERRNO(renameat(bfd, tmp, bfd, bf->dir));
	if (r < 0) {
		(void)rm_rf_at(bfd, tmp);
		if (r == -ENOSPC || r == -EDQUOT)
			return st_errf(r, "no space left on /boot for the kernel and initramfs of %s (boot/sealtree/%s)",
				       bf->kver, bf->dir);
		return st_errf(r, "cannot install the boot files of %s in boot/sealtree/%s: %s", bf->kver, bf->dir,
			       st_error_detail() ? st_error_detail() : "write failed");
	}
	(void)fsync(bfd);
	*ret_new = true;
	return 0;
}
