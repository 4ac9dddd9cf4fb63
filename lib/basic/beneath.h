/* SPDX-License-Identifier: MIT */
/*
 * Paths below a directory fd that never leave it: no symlink is followed at
 * any component (the last one included), no "..", no absolute path, no magic
 * link. The repository uses these for every path inside it, so that a
 * symlink planted where one of its directories or files belongs makes the
 * operation fail instead of acting outside (see docs/formats/repository.md).
 *
 * openat2(RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS)
 * where the kernel has it, else (ENOSYS, or EPERM from a seccomp filter) a
 * walk that opens one component at a time with O_NOFOLLOW.
 *
 * A symlink anywhere on the path fails with -ELOOP, "..", or an absolute
 * path with -EXDEV.
 */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <sys/stat.h>
#include <sys/types.h>

/* openat(dirfd, path, flags | O_NOFOLLOW, mode) beneath dirfd. Returns the fd or a negative errno. */
int openat_beneath(int dirfd, const char *path, int flags, mode_t mode);

/*
 * Open the directory holding path's last component (dirfd itself for a
 * single component) beneath dirfd; *ret_base points at that component in
 * path. For the *at() calls that do not follow a last symlink anyway
 * (unlinkat, renameat, mkdirat, linkat, fstatat with AT_SYMLINK_NOFOLLOW).
 */
int openat_beneath_parent(int dirfd, const char *path, const char **ret_base);

/* fstatat() of path beneath dirfd, the last component not followed either. */
int fstatat_beneath(int dirfd, const char *path, struct stat *ret);

/*
 * mkdir -p of path beneath dirfd (mode for what is created; every existing
 * component must be a directory, not a symlink to one). With sync, a new
 * directory's parent is fsync'ed so that its name is durable. Returns an fd of
 * the directory path (O_RDONLY | O_DIRECTORY).
 */
int mkdirat_beneath(int dirfd, const char *path, mode_t mode, bool sync);

/* "regular file", "directory", "symbolic link", "FIFO", "socket", "character device", "block device". */
const char *file_type_name(mode_t mode);

/* Test hook: force the O_NOFOLLOW walk, as on a kernel without openat2. */
void beneath_force_fallback(bool on);

enum read_file_flags {
	READ_FILE_BENEATH = 1u << 0,    /* path through openat_beneath(), else openat() following symlinks */
};

/*
 * Read the small regular file dirfd/path whole into a new NUL-terminated
 * buffer: opened O_NONBLOCK (a FIFO never blocks) and O_NOFOLLOW, checked to
 * be a regular file (-EUCLEAN otherwise, the detail naming path and what it
 * is), at most max bytes (-EFBIG). -ENOENT is returned without a detail. Every
 * other failure records a detail naming path.
 */
int read_file_capped(int dirfd, const char *path, size_t max, unsigned flags, char **ret, size_t *ret_len);

/*
 * The error for opening the file dirfd/path (beneath: with openat_beneath())
 * that failed with r (not -ENOENT): -EUCLEAN naming a symlink, or what is
 * there if it is not a regular file (a socket, a device); else r, naming path.
 */
int open_file_failed(int r, int dirfd, const char *path, bool beneath);

/*
 * The checks of read_file_capped() on an fd opened by the caller with
 * O_NONBLOCK: a regular file (-EUCLEAN naming what), O_NONBLOCK cleared.
 */
int fd_check_regular(int fd, const char *what);
