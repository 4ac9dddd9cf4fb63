/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io.h"
#include "macro.h"

int pwrite_full(int fd, const void *buf, size_t len, uint64_t off)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = pwrite(fd, p, len, (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -ENOSPC;
		p += n;
		off += (uint64_t)n;
		len -= (size_t)n;
	}
	return 0;
}

int read_fd_all(int fd, uint8_t **ret_buf, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0, cap = 0;
	struct stat st;
	int r;

	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0 && (uint64_t)st.st_size < SIZE_MAX - 1) {
		r = GROW(buf, cap, (size_t)st.st_size + 1);
		if (r < 0)
			return r;
	}
	for (;;) {
		ssize_t n;

		if (len + 1 >= cap) {
			r = GROW(buf, cap, len + 65536);
			if (r < 0)
				return r;
		}
		n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	if (!buf) {
		r = GROW(buf, cap, 1);
		if (r < 0)
			return r;
	}
	*ret_buf = TAKE_PTR(buf);
	*ret_len = len;
	return 0;
}
