/* SPDX-License-Identifier: MIT */
/*
 * The repository's small files for the layers above it (trust: signature
 * files, anti-rollback records and their lock), by a path relative to REPO,
 * each component opened beneath the repository fd (basic/beneath.h): no
 * symlink is ever followed, so nothing a repository holds leads outside it.
 * The layers above never open a path of the repository themselves.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "repo-internal.h"

int st_repo_read_file(struct st_repo *repo, const char *relpath, size_t max, char **ret, size_t *ret_len)
{
	/* A symlink, "..", a FIFO or a device is -EUCLEAN naming it; -ENOENT comes without a detail. */
	return read_file_capped(st_repo_dirfd(repo), relpath, max, READ_FILE_BENEATH, ret, ret_len);
}

int st_repo_write_file(struct st_repo *repo, const char *relpath, const void *data, size_t len)
{
	_cleanup_close_ int dir_fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(relpath, '/'), *base = slash ? slash + 1 : relpath;
	int r;

	if (!*base || relpath[0] == '/')
		return st_errf(-EINVAL, "'%s' is not a path inside the repository", relpath);
	if (slash) {
		dir = strndup(relpath, (size_t)(slash - relpath));
		if (!dir)
			return -ENOMEM;
		dir_fd = mkdirat_beneath(st_repo_dirfd(repo), dir, 0755, true);
	} else
		dir_fd = fcntl(st_repo_dirfd(repo), F_DUPFD_CLOEXEC, 3);
	if (dir_fd == -ELOOP)
		return st_errf(-EUCLEAN, "the directory of '%s' is a symbolic link or lies under one", relpath);
	if (dir_fd == -EXDEV)
		return st_errf(-EINVAL, "'%s' is not a path inside the repository", relpath);
	if (dir_fd < 0)
		return st_errf(dir_fd, "cannot open the directory of '%s'", relpath);
	/* The one publish path: a temporary file, fsync, rename over, fsync of the directory. */
	r = repo_publish_file(repo, dir_fd, base, relpath, data, len, REPO_PUBLISH_FSYNC);
	return r < 0 ? r : 0;
}

int st_repo_lock_file(struct st_repo *repo, const char *relpath, bool create)
{
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *dir = NULL;
	const char *slash = strrchr(relpath, '/');
	int r;

	if (create && slash) {
		int dir_fd;

		dir = strndup(relpath, (size_t)(slash - relpath));
		if (!dir)
			return -ENOMEM;
		dir_fd = mkdirat_beneath(st_repo_dirfd(repo), dir, 0755, false);
		if (dir_fd < 0 && dir_fd != -ELOOP)
			return st_errf(dir_fd, "cannot create the directory of '%s'", relpath);
		if (dir_fd >= 0)
			safe_close(dir_fd);
	}
	fd = openat_beneath(st_repo_dirfd(repo), relpath, O_RDONLY | O_NOCTTY | O_NONBLOCK | (create ? O_CREAT : 0),
			    0644);
	if (fd < 0)
		return open_file_failed(fd, st_repo_dirfd(repo), relpath, true);
	r = fd_check_regular(fd, relpath);
	if (r < 0)
		return r;
	while (flock(fd, LOCK_EX) < 0)
		if (errno != EINTR)
			return st_errf(negative_errno(), "cannot lock '%s'", relpath);
	return TAKE_FD(fd);
}
