/* SPDX-License-Identifier: MIT */
/* Capped reads and atomic publication of the small files lib/trust owns. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "trust-internal.h"

int trust_read_fd(int fd, const char *what, size_t max, char **ret, size_t *ret_len)
{
	_cleanup_free_ char *buf = NULL;
	size_t len = 0;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "cannot stat '%s'", what);
	if (!S_ISREG(st.st_mode))
		return st_errf(-EINVAL, "'%s' is not a regular file", what);
	if ((uint64_t)st.st_size > max)
		return st_errf(-EFBIG, "'%s' is larger than %zu bytes", what, max);
	buf = malloc(max + 2);
	if (!buf)
		return -ENOMEM;
	/* Read up to max + 1 bytes from 0: a file that grew since fstat is refused too. */
	while (len <= max) {
		ssize_t n = pread(fd, buf + len, max + 1 - len, (off_t)len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return st_errf(negative_errno(), "cannot read '%s'", what);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (len > max)
		return st_errf(-EFBIG, "'%s' is larger than %zu bytes", what, max);
	buf[len] = '\0';
	*ret = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}

int trust_read_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len)
{
	int r = read_file_capped(dirfd, path, max, 0, ret, ret_len);

	return r == -ENOENT ? st_errf(r, "cannot open '%s'", path) : r;
}

/* Split path into its directory fd (opened) and base name. */
static int open_parent(int dirfd, const char *path, int *ret_fd, const char **ret_base)
{
	const char *slash = strrchr(path, '/');
	_cleanup_free_ char *dir = NULL;
	int fd;

	if (!slash) {
		fd = openat(dirfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*ret_base = path;
	} else {
		dir = slash == path ? strdup("/") : strndup(path, (size_t)(slash - path));
		if (!dir)
			return -ENOMEM;
		fd = openat(dirfd, dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		*ret_base = slash + 1;
	}
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open the directory of '%s'", path);
	if (!**ret_base) {
		safe_close(fd);
		return st_errf(-EINVAL, "'%s' names no file", path);
	}
	*ret_fd = fd;
	return 0;
}

int trust_write_file_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
			    int tmp_dirfd)
{
	_cleanup_close_ int parent_fd = -EBADF, fd = -EBADF;
	const char *base;
	char tmp[64];
	int tdir, r;

	r = open_parent(dirfd, path, &parent_fd, &base);
	if (r < 0)
		return r;
	tdir = tmp_dirfd >= 0 ? tmp_dirfd : parent_fd;
	for (int attempt = 0; fd < 0; attempt++) {
		uint8_t rnd[8];
		char hex[17];

		if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
			return st_errf(-EIO, "getrandom failed");
		st_hex_encode(rnd, sizeof(rnd), hex);
		(void)snprintf(tmp, sizeof(tmp), ".tmp-trust-%s", hex);
		fd = openat(tdir, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, mode);
		if (fd < 0 && (errno != EEXIST || attempt > 16))
			return st_errf(negative_errno(), "cannot create a temporary file for '%s'", path);
	}
	/* The umask may have narrowed mode; a key file's mode is part of its contract. */
	r = RET_NERRNO(fchmod(fd, mode));
	if (r >= 0)
		r = write_full(fd, data, len);
	if (r >= 0)
		r = RET_NERRNO(fsync(fd));
	if (r >= 0)
		r = RET_NERRNO(renameat(tdir, tmp, parent_fd, base));
	if (r < 0) {
		(void)unlinkat(tdir, tmp, 0);
		return st_errf(r, "cannot write '%s'", path);
	}
	r = RET_NERRNO(fsync(parent_fd));
	if (r < 0)
		return st_errf(r, "cannot sync the directory of '%s'", path);
	return 0;
}

void sig_relpath(const uint8_t commit_id[ST_COMMIT_ID_SIZE], char buf[SIG_RELPATH_SIZE])
{
	char hex[2 * ST_COMMIT_ID_SIZE + 1];

	st_hex_encode(commit_id, ST_COMMIT_ID_SIZE, hex);
	(void)snprintf(buf, SIG_RELPATH_SIZE, "commits/%s.sig", hex);
}

void key_id_short(const uint8_t id[ST_KEY_ID_SIZE], char buf[ST_KEY_ID_SHORT_HEX + 1])
{
	st_hex_encode(id, ST_KEY_ID_SHORT_HEX / 2, buf);
}

int trust_errf_wrap(int r, const char *prefix, const char *fallback)
{
	char saved[512];
	const char *d = st_error_detail();

	(void)snprintf(saved, sizeof(saved), "%s", d ? d : fallback);
	return st_errf(r, "%s: %s", prefix, saved);
}
