/* SPDX-License-Identifier: MIT */
/* Small filesystem helpers of the deploy layer, all dirfd-relative. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>

#include "basic/dirent-util.h"
#include "basic/error.h"
#include "basic/io.h"
#include "deploy-internal.h"

int fsync_at(int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0)
		return negative_errno();
	return RET_NERRNO(fsync(fd));
}

void tmp_name(const char *prefix, char *buf, size_t size)
{
	static const char chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";
	uint8_t rnd[6] = {};
	char suffix[7];

	if (getrandom(rnd, sizeof(rnd), GRND_NONBLOCK) != (ssize_t)sizeof(rnd)) {
		uint64_t x = (uint64_t)getpid() ^ (uint64_t)(uintptr_t)buf;
		memcpy(rnd, &x, sizeof(rnd));
	}
	for (size_t i = 0; i < 6; i++)
		suffix[i] = chars[rnd[i] % (sizeof(chars) - 1)];
	suffix[6] = '\0';
	(void)snprintf(buf, size, "%s.tmp-%s", prefix, suffix);
}

static int rm_rf_children(int fd)
{
	_cleanup_closedir_ DIR *d = NULL;
	struct dirent *de;
	int r;

	r = opendir_fd(fd, &d);
	while (r >= 0 && (r = readdir_next(d, &de)) > 0)
		r = rm_rf_at(fd, de->d_name);
	return r;
}

int rm_rf_at(int dirfd, const char *name)
{
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
		return 0;
	if (errno != EISDIR && errno != EPERM)
		return st_errf(negative_errno(), "cannot remove '%s'", name);
	fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : st_errf(negative_errno(), "cannot open '%s'", name);
	r = rm_rf_children(fd);
	if (r < 0)
		return r;
	if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT)
		return st_errf(negative_errno(), "cannot remove '%s'", name);
	return 0;
}

int mkdir_p_at(int dirfd, const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	for (char *s = p + 1; *s; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
			return st_errf(negative_errno(), "cannot create '%s'", p);
		*s = '/';
	}
	if (mkdirat(dirfd, p, mode) < 0 && errno != EEXIST)
		return st_errf(negative_errno(), "cannot create '%s'", p);
	return 0;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode)
{
	char tmp[300];
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (strlen(name) > 250)
		return -ENAMETOOLONG;
	tmp_name(name, tmp, sizeof(tmp));
	fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot create '%s'", tmp);
	r = write_full(fd, data, len);
	if (r >= 0)
		r = RET_NERRNO(fsync(fd));
	if (r >= 0)
		r = RET_NERRNO(renameat(dirfd, tmp, dirfd, name));
	if (r < 0) {
		(void)unlinkat(dirfd, tmp, 0);
		return st_errf(r, "cannot write '%s'", name);
	}
	return RET_NERRNO(fsync(dirfd));
}
