/* SPDX-License-Identifier: MIT */
/*
 * write_full(), header-only so that tools/ can use the one loop too
 * (lib/ reaches it through basic/io.h).
 */
#pragma once

#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "macro.h"

/* Write all len bytes at the file position. 0, or a negative errno (-ENOSPC if write returns 0). */
static inline int write_full(int fd, const void *buf, size_t len)
{
	const uint8_t *p = buf;

	while (len > 0) {
		ssize_t n = write(fd, p, len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -ENOSPC;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}
