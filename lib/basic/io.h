/* SPDX-License-Identifier: MIT */
/* Whole-buffer I/O: loop over short writes and EINTR so callers need not. */
#pragma once

#include <stddef.h>
#include <stdint.h>

/* Write all len bytes at the file position. 0, or a negative errno (-ENOSPC if write returns 0). */
int write_full(int fd, const void *buf, size_t len);

/* Write all len bytes at offset off. 0, or a negative errno (-ENOSPC if pwrite returns 0). */
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
