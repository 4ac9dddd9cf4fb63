/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/dirent-util.h"

static int stream_on(int fd, DIR **ret)
{
	DIR *d = fdopendir(fd);

	if (!d) {
		int r = negative_errno();
		safe_close(fd);
		return r;
	}
	*ret = d;
	return 0;
}

int opendir_fd(int dirfd, DIR **ret)
{
	int fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
	int r;

	if (fd < 0)
		return negative_errno();
	r = stream_on(fd, ret);
	if (r < 0)
		return r;
	/* The duplicate shares dirfd's position, which an earlier reader may have moved. */
	rewinddir(*ret);
	return 0;
}

int opendir_beneath(int dirfd, const char *path, DIR **ret)
{
	int fd = openat_beneath(dirfd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);

	if (fd < 0)
		return fd;
	return stream_on(fd, ret);
}

int readdir_next(DIR *d, struct dirent **ret)
{
	for (;;) {
		struct dirent *de;

		errno = 0;
		de = readdir(d);
		if (!de)
			return errno ? -errno : 0;
		if (!dot_or_dot_dot(de->d_name)) {
			*ret = de;
			return 1;
		}
	}
}
