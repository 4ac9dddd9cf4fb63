/* SPDX-License-Identifier: MIT */
/*
 * Unit tests for the mount layer's checks (no root needed) and, as root, the
 * caller-supplied image_mountdir, which mount.composefs never uses.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/test.h"
#include "format/erofs-format.h"
#include "mount/mount-internal.h"
#include "sealtree/mount.h"

static const char *const one_dir[] = { "/objects" };

static struct st_mount_options good_options(void)
{
	return (struct st_mount_options){ .basedirs = one_dir, .n_basedirs = 1, .idmap_fd = -1 };
}

/* A temporary file holding len bytes of buf; returns an fd open for reading. */
static int temp_file(const void *buf, size_t len)
{
	char path[] = "/tmp/test-mount.XXXXXX";
	int fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	(void)unlink(path);
	if (write(fd, buf, len) != (ssize_t)len) {
		close(fd);
		return -EIO;
	}
	return fd;
}

static struct cfs_header make_header(uint32_t magic, uint32_t version, uint32_t flags)
{
	struct cfs_header h;
	memset(&h, 0, sizeof(h));
	h.magic = le32_put(magic);
	h.version = le32_put(version);
	h.flags = le32_put(flags);
	return h;
}

TEST(validate_accepts_minimal)
{
	struct st_mount_options o = good_options();
	ASSERT_OK(mount_validate_options(&o));
	o.flags = ST_MOUNT_READONLY | ST_MOUNT_REQUIRE_VERITY;
	o.upperdir = "/u";
	o.workdir = "/w";
	ASSERT_OK(mount_validate_options(&o));
}

TEST(validate_rejects_bad_options)
{
	static const char *const empty_dir[] = { "" };
	struct st_mount_options o;

	ASSERT_ERR(mount_validate_options(NULL), -EINVAL);

	o = good_options();
	o.n_basedirs = 0;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);
	ASSERT_TRUE(strstr(st_error_detail(), "basedir") != NULL);

	o = good_options();
	o.basedirs = empty_dir;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);

	o = good_options();
	o.upperdir = "/u";
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);
	ASSERT_TRUE(strstr(st_error_detail(), "upperdir and workdir") != NULL);
	o.upperdir = NULL;
	o.workdir = "/w";
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);

	o = good_options();
	o.flags = ST_MOUNT_IDMAP;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);
	ASSERT_TRUE(strstr(st_error_detail(), "user namespace") != NULL);
	o.idmap_fd = 0;
	ASSERT_OK(mount_validate_options(&o));
	o.flags |= ST_MOUNT_FORCE_LEGACY_EROFS;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);

	o = good_options();
	o.flags = 1u << 30;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);

	o = good_options();
	o.reserved[5] = 1;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);
}

TEST(idmap_fd_ignored_without_flag)
{
	struct st_mount_options o = good_options();
	o.idmap_fd = -1; /* zero-initialised callers leave 0 or -1 here */
	ASSERT_OK(mount_validate_options(&o));
}

TEST(mount_image_validates_before_opening)
{
	struct st_mount_options o = good_options();
	o.n_basedirs = 0;
	/* The image does not exist: options are checked first, so EINVAL. */
	ASSERT_ERR(st_mount_image("/nonexistent/image.cfs", "/nonexistent", &o), -EINVAL);
	o = good_options();
	ASSERT_ERR(st_mount_image("/nonexistent/image.cfs", "/nonexistent", &o), -ENOENT);
	ASSERT_TRUE(strstr(st_error_detail(), "/nonexistent/image.cfs") != NULL);
	ASSERT_ERR(st_mount_image("/", "/nonexistent", &o), -EISDIR);
	ASSERT_ERR(st_mount_image_fd(-1, "/nonexistent", &o), -EBADF);
}

TEST(header_checks)
{
	struct cfs_header h;
	uint32_t flags = 0;
	int fd;

	h = make_header(CFS_MAGIC, CFS_HEADER_VERSION, CFS_FLAGS_HAS_ACL);
	fd = temp_file(&h, sizeof(h));
	ASSERT_TRUE(fd >= 0);
	ASSERT_OK(mount_read_header(fd, &flags));
	ASSERT_EQ(flags, CFS_FLAGS_HAS_ACL);
	close(fd);

	h = make_header(0x12345678, CFS_HEADER_VERSION, 0);
	fd = temp_file(&h, sizeof(h));
	ASSERT_ERR(mount_read_header(fd, &flags), -EUCLEAN);
	ASSERT_TRUE(strstr(st_error_detail(), "magic") != NULL);
	close(fd);

	h = make_header(CFS_MAGIC, 2, 0);
	fd = temp_file(&h, sizeof(h));
	ASSERT_ERR(mount_read_header(fd, &flags), -EOPNOTSUPP);
	close(fd);

	h = make_header(CFS_MAGIC, CFS_HEADER_VERSION, 0);
	fd = temp_file(&h, 31); /* one byte short */
	ASSERT_ERR(mount_read_header(fd, &flags), -EUCLEAN);
	close(fd);

	fd = temp_file("", 0);
	ASSERT_ERR(mount_read_header(fd, &flags), -EUCLEAN);
	close(fd);
}

TEST(not_composefs_is_euclean)
{
	struct st_mount_options o = good_options();
	char junk[4096];
	int fd;

	memset(junk, 'x', sizeof(junk));
	fd = temp_file(junk, sizeof(junk));
	ASSERT_TRUE(fd >= 0);
	ASSERT_ERR(st_mount_image_fd(fd, "/nonexistent", &o), -EUCLEAN);
	close(fd);
}

TEST(digest_checked_first_and_fails_without_verity)
{
	struct st_mount_options o = good_options();
	uint8_t digest[32];
	char junk[4096];
	long r;
	int fd;

	/* Junk content: if the digest were checked after the header, this
	 * would be EUCLEAN. A temp file never has fs-verity enabled. */
	memset(junk, 'x', sizeof(junk));
	memset(digest, 0xab, sizeof(digest));
	fd = temp_file(junk, sizeof(junk));
	ASSERT_TRUE(fd >= 0);
	o.expected_digest = digest;
	r = st_mount_image_fd(fd, "/nonexistent", &o);
	close(fd);
	ASSERT_TRUE(r == -ENOTTY || r == -EOPNOTSUPP || r == -ENODATA);
	ASSERT_TRUE(strstr(st_error_detail(), "no fs-verity") != NULL);

	fd = temp_file(junk, sizeof(junk));
	r = mount_check_digest(fd, digest);
	close(fd);
	ASSERT_TRUE(r == -ENOTTY || r == -EOPNOTSUPP || r == -ENODATA);
}

TEST(legacy_options_escape)
{
	static const char *const dirs[] = { "/obj,1", "/obj:2", "/back\\slash" };
	struct st_mount_options o = good_options();
	char *s = NULL;

	o.basedirs = dirs;
	o.n_basedirs = 3;
	ASSERT_OK(mount_legacy_overlay_options("/tmp/.composefs.X", &o, true, NULL, &s));
	ASSERT_STREQ(s, "metacopy=on,redirect_dir=on,lowerdir=/tmp/.composefs.X::/obj\\,1::/obj\\:2::/back\\\\slash");
	free(s);

	o.n_basedirs = 1;
	o.upperdir = "/up,per";
	o.workdir = "/work:dir";
	ASSERT_OK(mount_legacy_overlay_options("/m", &o, false, "require", &s));
	ASSERT_STREQ(s, "metacopy=on,redirect_dir=on,lowerdir=/m:/obj\\,1,upperdir=/up\\,per,workdir=/work\\:dir,verity=require");
	free(s);
	ASSERT_OK(mount_legacy_overlay_options("/m", &o, true, mount_verity_value(ST_MOUNT_VERITY_ON), &s));
	ASSERT_TRUE(strstr(s, ",verity=on") != NULL);
	free(s);
	o.flags |= ST_MOUNT_VERITY_ON | ST_MOUNT_REQUIRE_VERITY;
	ASSERT_ERR(mount_validate_options(&o), -EINVAL);
}

TEST(fs_context_message_without_fd)
{
	char buf[16] = "stale";
	ASSERT_STREQ(fs_context_message(-1, buf, sizeof(buf)), "");
}

static bool is_mountpoint(const char *path)
{
	struct stat a, b;
	char parent[4096];

	if (snprintf(parent, sizeof(parent), "%s/..", path) >= (int)sizeof(parent))
		return false;
	return stat(path, &a) == 0 && stat(parent, &b) == 0 && (a.st_dev != b.st_dev || a.st_ino == b.st_ino);
}

/* The reference image of gentree seed 1, unpacked to a temp file; -errno if unavailable. */
static int reference_image(char *path)
{
	const char *assets = getenv("ASSETS_DIR");
	char cmd[8192];
	int fd;

	if (!assets || geteuid() != 0)
		return -EPERM;
	fd = mkostemp(path, O_CLOEXEC);
	if (fd < 0)
		return -errno;
	close(fd);
	if (snprintf(cmd, sizeof(cmd), "bash '%s/reference-image.sh' 1 > '%s'", assets, path) >= (int)sizeof(cmd) ||
	    system(cmd) != 0) {
		unlink(path);
		return -ENOENT;
	}
	return 0;
}

TEST(caller_image_mountdir_kept_and_unmounted)
{
	char img[] = "/tmp/test-mount-img.XXXXXX";
	char dir[] = "/tmp/test-mount-dir.XXXXXX";
	char mnt[sizeof(dir) + 8], obj[sizeof(dir) + 8], tgt[sizeof(dir) + 8];
	const char *dirs[1] = { obj };
	struct st_mount_options o = good_options();
	long r;

	if (reference_image(img) < 0)
		TEST_SKIP("needs root and ASSETS_DIR with the reference images");
	if (!mkdtemp(dir)) {
		unlink(img);
		TEST_FAIL_("mkdtemp: %s", strerror(errno));
	}
	snprintf(mnt, sizeof(mnt), "%s/erofs", dir);
	snprintf(obj, sizeof(obj), "%s/obj", dir);
	snprintf(tgt, sizeof(tgt), "%s/tgt", dir);
	(void)mkdir(mnt, 0700);
	(void)mkdir(obj, 0700);
	(void)mkdir(tgt, 0700);
	o.basedirs = dirs;
	o.image_mountdir = mnt;
	r = st_mount_image(img, tgt, &o);
	if (r == -ENODEV || r == -EPERM) {
		unlink(img);
		TEST_SKIP("kernel cannot mount EROFS/overlay here");
	}
	ASSERT_OK(r);
	ASSERT_TRUE(is_mountpoint(tgt));
	/* The caller's directory stays, without the EROFS on it. */
	ASSERT_TRUE(access(mnt, F_OK) == 0);
	ASSERT_TRUE(!is_mountpoint(mnt));
	ASSERT_OK(RET_NERRNO(umount2(tgt, 0)));

	/* A failure in the overlay step (no such target) keeps it too. */
	ASSERT_ERR(st_mount_image(img, "/nonexistent/target", &o), -ENOENT);
	ASSERT_TRUE(strstr(st_error_detail(), "overlay") != NULL);
	ASSERT_TRUE(access(mnt, F_OK) == 0);
	ASSERT_TRUE(!is_mountpoint(mnt));

	unlink(img);
	rmdir(mnt);
	rmdir(obj);
	rmdir(tgt);
	rmdir(dir);
}

TEST_MAIN()
