/* SPDX-License-Identifier: MIT */
/* Paths that stay below a directory fd, and the capped small-file reader: see beneath.h. */
#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "beneath.h"
#include "error.h"
#include "macro.h"

#define COMPONENT_MAX 4096
#define EAGAIN_RETRIES 16

static atomic_bool no_openat2, force_fallback;

void beneath_force_fallback(bool on)
{
	atomic_store(&force_fallback, on);
}

const char *file_type_name(mode_t mode)
{
	switch (mode & S_IFMT) {
	case S_IFREG:
		return "regular file";
	case S_IFDIR:
		return "directory";
	case S_IFLNK:
		return "symbolic link";
	case S_IFIFO:
		return "FIFO";
	case S_IFSOCK:
		return "socket";
	case S_IFCHR:
		return "character device";
	case S_IFBLK:
		return "block device";
	default:
		return "file of unknown type";
	}
}

/* The next component of *p (skipping '/' and "."): its start and length; 0 length at the end. */
static const char *next_component(const char **p, size_t *ret_len)
{
	for (;;) {
		const char *s = *p, *e;

		while (*s == '/')
			s++;
		e = strchrnul(s, '/');
		*p = e;
		if (e - s == 1 && s[0] == '.')
			continue;
		*ret_len = (size_t)(e - s);
		return s;
	}
}

/* Open one component name (len bytes at s) in dirfd with O_NOFOLLOW; -ELOOP for a symlink. */
static int open_component(int dirfd, const char *s, size_t len, int flags, mode_t mode)
{
	char name[COMPONENT_MAX];
	struct stat st;
	int fd;

	if (len >= sizeof(name))
		return -ENAMETOOLONG;
	if (len == 2 && s[0] == '.' && s[1] == '.')
		return -EXDEV;
	memcpy(name, s, len);
	name[len] = '\0';
	fd = openat(dirfd, name, flags | O_NOFOLLOW | O_CLOEXEC, mode);
	if (fd >= 0)
		return fd;
	/* O_DIRECTORY on a symlink may say ENOTDIR: say what it is. */
	if (errno == ENOTDIR && fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
		return -ELOOP;
	return negative_errno();
}

static int walk_open(int dirfd, const char *path, int flags, mode_t mode)
{
	_cleanup_close_ int cur = -EBADF;
	const char *p = path, *s;
	size_t len;

	if (path[0] == '/')
		return -EXDEV;
	s = next_component(&p, &len);
	if (len == 0)
		return RET_NERRNO(openat(dirfd, ".", flags | O_CLOEXEC, mode));
	for (;;) {
		const char *ns;
		size_t nlen;
		const char *q = p;
		int fd;

		ns = next_component(&q, &nlen);
		if (nlen == 0) /* s is the last component */
			return open_component(cur >= 0 ? cur : dirfd, s, len, flags, mode);
		fd = open_component(cur >= 0 ? cur : dirfd, s, len, O_PATH | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		safe_close(cur);
		cur = fd;
		s = ns;
		len = nlen;
		p = q;
	}
}

int openat_beneath(int dirfd, const char *path, int flags, mode_t mode)
{
	if (!path || !*path)
		return -ENOENT;
	if (!atomic_load(&no_openat2) && !atomic_load(&force_fallback)) {
		struct open_how how = {
			.flags = (uint64_t)(unsigned)(flags | O_NOFOLLOW | O_CLOEXEC),
			.mode = (flags & (O_CREAT | __O_TMPFILE)) ? mode : 0,
			.resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS,
		};

		for (unsigned i = 0; i < EAGAIN_RETRIES; i++) {
			long fd = syscall(SYS_openat2, dirfd, path, &how, sizeof(how));

			if (fd >= 0)
				return (int)fd;
			if (errno == EAGAIN || errno == EINTR)
				continue;
			if (errno == ENOTDIR)
				break;  /* a symlink where a directory belongs says ENOTDIR: the walk tells -ELOOP */
			if (errno != ENOSYS && errno != EPERM)
				return negative_errno();
			/* No openat2 here, or a seccomp filter refusing it: the walk, from now on. */
			if (errno == ENOSYS)
				atomic_store(&no_openat2, true);
			break;
		}
	}
	return walk_open(dirfd, path, flags, mode);
}

int openat_beneath_parent(int dirfd, const char *path, const char **ret_base)
{
	const char *slash, *base;
	char *dir;
	int fd;

	if (!path || !*path)
		return -ENOENT;
	if (path[0] == '/')
		return -EXDEV;
	slash = strrchr(path, '/');
	base = slash ? slash + 1 : path;
	if (!*base || strcmp(base, ".") == 0)
		return -EINVAL;
	if (strcmp(base, "..") == 0)
		return -EXDEV;
	if (!slash)
		fd = RET_NERRNO(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	else {
		dir = strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		fd = openat_beneath(dirfd, *dir ? dir : ".", O_RDONLY | O_DIRECTORY, 0);
		free(dir);
	}
	if (fd >= 0)
		*ret_base = base;
	return fd;
}

int fstatat_beneath(int dirfd, const char *path, struct stat *ret)
{
	_cleanup_close_ int fd = -EBADF;
	const char *base;

	fd = openat_beneath_parent(dirfd, path, &base);
	if (fd < 0)
		return fd;
	return RET_NERRNO(fstatat(fd, base, ret, AT_SYMLINK_NOFOLLOW));
}

int mkdirat_beneath(int dirfd, const char *path, mode_t mode, bool sync)
{
	_cleanup_close_ int cur = -EBADF;
	const char *p = path, *s;
	size_t len;

	if (!path || !*path)
		return -ENOENT;
	if (path[0] == '/')
		return -EXDEV;
	cur = RET_NERRNO(openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
	if (cur < 0)
		return cur;
	while ((s = next_component(&p, &len)), len > 0) {
		char name[COMPONENT_MAX];
		bool created = false;
		int fd;

		if (len >= sizeof(name))
			return -ENAMETOOLONG;
		if (len == 2 && s[0] == '.' && s[1] == '.')
			return -EXDEV;
		memcpy(name, s, len);
		name[len] = '\0';
		if (mkdirat(cur, name, mode) == 0)
			created = true;
		else if (errno != EEXIST)
			return negative_errno();
		fd = open_component(cur, s, len, O_RDONLY | O_DIRECTORY, 0);
		if (fd < 0)
			return fd;
		if (created && sync && fsync(cur) < 0) {
			int r = negative_errno();
			safe_close(fd);
			return r;
		}
		safe_close(cur);
		cur = fd;
	}
	return TAKE_FD(cur);
}

int fd_check_regular(int fd, const char *what)
{
	struct stat st;
	int fl;

	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "cannot stat '%s'", what);
	if (!S_ISREG(st.st_mode))
		return st_errf(-EUCLEAN, "'%s' is not a regular file but a %s", what, file_type_name(st.st_mode));
	fl = fcntl(fd, F_GETFL);
	if (fl >= 0 && (fl & O_NONBLOCK))
		(void)fcntl(fd, F_SETFL, fl & ~O_NONBLOCK);
	return 0;
}

int open_file_failed(int r, int dirfd, const char *path, bool beneath)
{
	struct stat st;

	if (r == -ELOOP && beneath)
		return st_errf(-EUCLEAN, "'%s' is a symbolic link or lies under one", path);
	if (r == -EXDEV)
		return st_errf(-EUCLEAN, "'%s' leads outside its directory", path);
	/* A socket (ENXIO), a device without a driver (ENODEV), a directory opened for writing (EISDIR). */
	if ((r == -ENXIO || r == -ENODEV || r == -EISDIR || r == -ENOTDIR) &&
	    (beneath ? fstatat_beneath(dirfd, path, &st) : RET_NERRNO(fstatat(dirfd, path, &st, 0))) == 0 &&
	    !S_ISREG(st.st_mode))
		return st_errf(-EUCLEAN, "'%s' is not a regular file but a %s", path, file_type_name(st.st_mode));
	return st_errf(r, "cannot open '%s'", path);
}

int read_file_capped(int dirfd, const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len)
{
	const int oflags = O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK | O_NOFOLLOW;
	_cleanup_close_ int fd = -EBADF;
	_cleanup_free_ char *buf = NULL;
	size_t len = 0, cap;
	struct stat st;
	int r;

	if (flags & READ_FILE_BENEATH)
		fd = openat_beneath(dirfd, path, oflags, 0);
	else
		fd = RET_NERRNO(openat(dirfd, path, oflags & ~O_NOFOLLOW));
	if (fd == -ENOENT)
		return fd;
	if (fd < 0)
		return open_file_failed(fd, dirfd, path, flags & READ_FILE_BENEATH);
	r = fd_check_regular(fd, path);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "cannot stat '%s'", path);
	if ((uint64_t)st.st_size > max)
		return st_errf(-EFBIG, "'%s' is larger than %zu bytes", path, max);
	/* Read until end of file, never more than max + 1 bytes: a file that grew is refused too. */
	cap = (size_t)st.st_size + 2;
	buf = malloc(cap);
	if (!buf)
		return -ENOMEM;
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			size_t want = cap > max / 2 ? max + 2 : cap * 2;
			char *b;

			if (want <= cap)
				break;
			b = realloc(buf, want);
			if (!b)
				return -ENOMEM;
			buf = b;
			cap = want;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_errf(negative_errno(), "cannot read '%s'", path);
		if (n == 0)
			break;
		len += (size_t)n;
		if (len > max)
			return st_errf(-EFBIG, "'%s' is larger than %zu bytes", path, max);
	}
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}
