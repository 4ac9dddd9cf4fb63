/* SPDX-License-Identifier: MIT */
/*
 * Reading directories by fd. A DIR stream owns the descriptor it reads, so
 * listing a directory the caller keeps open (or one opened beneath a root)
 * needs a second descriptor, a rewind and care to close it on every path;
 * these helpers do that once.
 */
#pragma once

#include <dirent.h>
#include <stdbool.h>

#include "fundamental/macro.h"

static inline void closedirp(DIR **d)
{
	if (*d)
		(void)closedir(*d);
}
#define _cleanup_closedir_ _cleanup_(closedirp)

/* A stream over the directory dirfd from its first entry; dirfd stays the caller's. */
int opendir_fd(int dirfd, DIR **ret);

/*
 * A stream over dirfd/path opened beneath dirfd (openat_beneath: no symlink
 * followed, no escape). -ENOENT when it does not exist, -ENOTDIR when it is
 * not a directory; no detail is recorded.
 */
int opendir_beneath(int dirfd, const char *path, DIR **ret);

/* "." and "..". */
static inline bool dot_or_dot_dot(const char *name)
{
	return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

/*
 * The next entry other than "." and "..": 1 with *ret set, 0 at the end, a
 * negative errno when reading the directory failed (readdir()'s errors are
 * otherwise indistinguishable from the end).
 */
int readdir_next(DIR *d, struct dirent **ret);
