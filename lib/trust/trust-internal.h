/* SPDX-License-Identifier: MIT */
/* Helpers shared by the files of lib/trust; outside it use sealtree/trust.h. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "basic/base64.h"
#include "sealtree/trust.h"

/*
 * Read a whole file (dirfd + path, following symlinks) of at most max bytes:
 * -EFBIG names a larger one. *ret gets one spare byte after the data, set to NUL.
 */
int trust_read_file(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
/* Files of a repository are read and written only through st_repo_read_file() and friends (repo.h). */
/* The same from an open fd (read from offset 0). */
int trust_read_fd(int fd, const char *what, size_t max, char **ret, size_t *ret_len);

/*
 * Publish a file atomically: a temporary file in tmp_dirfd (AT_FDCWD-relative
 * paths: the target's own directory when tmp_dirfd < 0), mode, data, fsync,
 * rename to dirfd/path, fsync of the target directory.
 */
int trust_write_file_atomic(int dirfd, const char *path, const void *data, size_t len, mode_t mode,
			    int tmp_dirfd);

/* "commits/<hex>.sig" into buf. */
#define SIG_RELPATH_SIZE (sizeof("commits/") - 1 + 64 + sizeof(".sig"))
void sig_relpath(const uint8_t commit_id[ST_COMMIT_ID_SIZE], char buf[SIG_RELPATH_SIZE]);

/* Short display form of a key id (first ST_KEY_ID_SHORT_HEX hex digits) into buf. */
void key_id_short(const uint8_t id[ST_KEY_ID_SIZE], char buf[ST_KEY_ID_SHORT_HEX + 1]);

/*
 * Record "<prefix>: <the current detail>" (or prefix and fallback when there
 * is none) for r, and return r. st_errf() cannot take st_error_detail() as an
 * argument: it formats into the buffer it would read from.
 */
int trust_errf_wrap(int r, const char *prefix, const char *fallback);
