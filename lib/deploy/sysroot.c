/* SPDX-License-Identifier: MIT */
/*
 * Creating, opening and locking a sysroot, and removing what an interrupted
 * command left behind (docs/formats/sysroot.md, "Lock").
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "deploy-internal.h"

static void st_repo_freep_(struct st_repo **r)
{
	st_repo_free(*r);
}

int st_sysroot_init_fs(const char *path, enum st_repo_verity_mode mode)
{
	static const char *const dirs[] = { "sealtree", "sealtree/deploy", "boot", "boot/loader",
					    "boot/loader/entries", "boot/sealtree" };
	_cleanup_(st_repo_freep_) struct st_repo *repo = NULL;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *repo_path = NULL;
	struct stat st;
	int r;

	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return st_errf(negative_errno(), "cannot create '%s'", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open '%s'", path);
	if (fstatat(fd, "sealtree/repo", &st, AT_SYMLINK_NOFOLLOW) == 0)
		return st_errf(-EEXIST, "'%s' holds a sysroot already", path);
	for (size_t i = 0; i < ELEMENTSOF(dirs); i++)
		if (mkdirat(fd, dirs[i], 0755) < 0 && errno != EEXIST)
			return st_errf(negative_errno(), "cannot create '%s/%s'", path, dirs[i]);
	if (asprintf(&repo_path, "%s/sealtree/repo", path) < 0)
		return -ENOMEM;
	r = st_repo_init(repo_path, mode, &repo);
	if (r < 0)
		return r;
	return RET_NERRNO(syncfs(fd));
}

int st_sysroot_open(const char *path, struct st_sysroot **ret)
{
	_cleanup_(st_sysroot_freep) struct st_sysroot *s = NULL;
	_cleanup_free_ char *repo_path = NULL;
	struct stat a, b;
	int r;

	s = new0(struct st_sysroot, 1);
	if (!s)
		return -ENOMEM;
	s->fd = s->deploy_fd = s->boot_fd = s->lock_fd = -EBADF;
	s->path = strdup(path);
	if (!s->path)
		return -ENOMEM;
	s->fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->fd < 0)
		return st_errf(negative_errno(), "cannot open sysroot '%s'", path);
	s->deploy_fd = openat(s->fd, "sealtree/deploy", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->deploy_fd < 0)
		return st_errf(negative_errno(), "'%s' is not a sysroot (no sealtree/deploy; see 'admin init-fs')",
			       path);
	s->boot_fd = openat(s->fd, "boot", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (s->boot_fd < 0)
		return st_errf(negative_errno(), "cannot open '%s/boot'", path);
	if (mkdirat(s->boot_fd, "sealtree", 0755) < 0 && errno != EEXIST)
		return st_errf(negative_errno(), "cannot create '%s/boot/sealtree'", path);
	if (mkdirat(s->boot_fd, "loader", 0755) < 0 && errno != EEXIST)
		return st_errf(negative_errno(), "cannot create '%s/boot/loader'", path);
	if (fstat(s->fd, &a) < 0 || fstat(s->boot_fd, &b) < 0)
		return negative_errno();
	s->boot_separate = a.st_dev != b.st_dev;
	if (asprintf(&repo_path, "%s/sealtree/repo", path) < 0)
		return -ENOMEM;
	r = st_repo_open(repo_path, &s->repo);
	if (r < 0)
		return r;
	*ret = TAKE_PTR(s);
	return 0;
}

struct st_sysroot *st_sysroot_free(struct st_sysroot *s)
{
	if (!s)
		return NULL;
	st_repo_free(s->repo);
	safe_close(s->fd);
	safe_close(s->deploy_fd);
	safe_close(s->boot_fd);
	safe_close(s->lock_fd);
	free(s->path);
	free(s);
	return NULL;
}

struct st_repo *st_sysroot_repo(struct st_sysroot *s)
{
	return s->repo;
}

int sysroot_require_exclusive(struct st_sysroot *s)
{
	if (!s->exclusive)
		return st_errf(-ENOLCK, "the sysroot lock is not held exclusive");
	return 0;
}

/* Remove NAME.tmp-* entries in dirfd, and with all, every ".tmp-" name in it. */
static int remove_tmp_in(int dirfd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_fd(dirfd, &d);
	if (r < 0)
		return r;
	while ((r = readdir_next(d, &de)) > 0)
		if (strstr(de->d_name, ".tmp-")) {
			r = rm_rf_at(dirfd, de->d_name);
			if (r < 0)
				break;
		}
	return r;
}

int sysroot_recover(struct st_sysroot *s)
{
	_cleanup_close_ int loader_fd = -EBADF;
	struct stat st;
	int r;

	loader_fd = openat(s->boot_fd, "loader", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (loader_fd < 0)
		return st_errf(negative_errno(), "cannot open boot/loader");
	/* A crash between the two renames of the fallback switch: put the old set back. */
	if (fstatat(loader_fd, "entries", &st, AT_SYMLINK_NOFOLLOW) < 0 && errno == ENOENT &&
	    fstatat(loader_fd, "entries.prev", &st, AT_SYMLINK_NOFOLLOW) == 0) {
		if (renameat(loader_fd, "entries.prev", loader_fd, "entries") < 0)
			return st_errf(negative_errno(), "cannot restore boot/loader/entries.prev");
		(void)fsync(loader_fd);
	}
	r = rm_rf_at(loader_fd, "entries.staging");
	if (r >= 0)
		r = rm_rf_at(loader_fd, "entries.prev");
	if (r >= 0 && mkdirat(loader_fd, "entries", 0755) < 0 && errno != EEXIST)
		r = st_errf(negative_errno(), "cannot create boot/loader/entries");
	if (r < 0)
		return r;
	(void)remove_tmp_in(loader_fd);
	{
		/* Entry files the in-place switch was writing (".NAME.tmp-switch"). */
		_cleanup_close_ int efd = openat(loader_fd, "entries", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (efd >= 0)
			(void)remove_tmp_in(efd);
	}
	{
		_cleanup_close_ int bfd = openat(s->boot_fd, "sealtree", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (bfd >= 0)
			(void)remove_tmp_in(bfd);
	}
	/* deploy/OS/.tmp-* of every stateroot. */
	{
		_cleanup_closedir_ DIR *d = NULL;
		struct dirent *de;

		r = opendir_fd(s->deploy_fd, &d);
		if (r < 0)
			return r;
		while ((r = readdir_next(d, &de)) > 0) {
			_cleanup_close_ int osfd = -EBADF;

			if (!st_os_name_valid(de->d_name))
				continue;
			osfd = openat(s->deploy_fd, de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (osfd >= 0)
				(void)remove_tmp_in(osfd);
		}
		if (r < 0)
			return r;
	}
	return 0;
}

int st_sysroot_lock(struct st_sysroot *s, bool exclusive, bool wait)
{
	_cleanup_close_ int fd = -EBADF;

	if (s->lock_fd >= 0)
		return st_errf(-EBUSY, "the sysroot lock is held already");
	fd = openat(s->fd, "sealtree/lock", O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open '%s/sealtree/lock'", s->path);
	if (flock(fd, (exclusive ? LOCK_EX : LOCK_SH) | (wait ? 0 : LOCK_NB)) < 0)
		return errno == EWOULDBLOCK ? -EWOULDBLOCK
					    : st_errf(negative_errno(), "cannot lock '%s/sealtree/lock'", s->path);
	s->lock_fd = TAKE_FD(fd);
	s->exclusive = exclusive;
	if (exclusive)
		return sysroot_recover(s);
	return 0;
}

int st_sysroot_os_init(struct st_sysroot *s, const char *os)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (!st_os_name_valid(os))
		return st_errf(-EINVAL, "'%s' is not a valid OS name (1 to %d bytes of [A-Za-z0-9._+-], "
					"not starting with '.' or '-')", os, ST_OS_NAME_MAX);
	r = sysroot_require_exclusive(s);
	if (r < 0)
		return r;
	if (mkdirat(s->deploy_fd, os, 0755) < 0)
		return st_errf(negative_errno(), "cannot create stateroot '%s'", os);
	fd = openat(s->deploy_fd, os, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (mkdirat(fd, "var", 0755) < 0)
		return st_errf(negative_errno(), "cannot create '%s/var'", os);
	(void)fsync(fd);
	return RET_NERRNO(fsync(s->deploy_fd));
}
