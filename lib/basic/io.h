/* SPDX-License-Identifier: MIT */
/* Whole-buffer I/O: loop over short writes and EINTR so callers need not. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "fundamental/write-full.h"

/*
 * Read fd from its current position to end of file into a new buffer with
 * one spare byte after the data (callers may NUL-terminate). A regular file
 * is read into a buffer of its size at once. *ret_buf is freed by the caller.
 */
int read_fd_all(int fd, uint8_t **ret_buf, size_t *ret_len);

/* Write all len bytes at offset off. 0, or a negative errno (-ENOSPC if pwrite returns 0). */
int pwrite_full(int fd, const void *buf, size_t len, uint64_t off);
