/* SPDX-License-Identifier: MIT */
/*
 * Partial pack entries: REPO/tmp/pull/<64 hex digest>.zst, the compressed
 * bytes received so far of a large object's frame, kept when a pull is
 * killed or its connection drops, so that the next attempt or the next pull
 * replays them through the decompressor (no network) and asks the server
 * only for the rest of the frame. Never content: the object is verified as
 * a whole when its frame ends. Locked (flock) by the one fetch that writes
 * it, swept with the other partial files (partial.c) by a pull that
 * completes, removed by gc with tmp/.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/hex.h"
#include "fundamental/macro.h"
#include "pack.h"

#define PACK_PARTIAL_DIR "tmp/pull"

static void partial_name(const uint8_t digest[32], char name[2 * 32 + 5])
{
	st_hex_encode(digest, 32, name);
	memcpy(name + 64, ".zst", 5);
}

uint64_t pack_partial_length(struct st_repo *repo, const uint8_t digest[32], uint64_t csize)
{
	char path[sizeof(PACK_PARTIAL_DIR) + 2 * 32 + 5];
	struct stat st;

	memcpy(path, PACK_PARTIAL_DIR "/", sizeof(PACK_PARTIAL_DIR));
	partial_name(digest, path + sizeof(PACK_PARTIAL_DIR));
	if (fstatat(st_repo_dirfd(repo), path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size >= csize)
		return 0;       /* none, not ours, or not shorter than the frame: from its first byte */
	return (uint64_t)st.st_size;
}

int pack_partial_open(struct st_repo *repo, const uint8_t digest[32], uint64_t len, int *ret_fd)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char name[2 * 32 + 5];
	struct stat st, st2;

	dfd = mkdirat_beneath(st_repo_dirfd(repo), PACK_PARTIAL_DIR, 0755, false);
	if (dfd < 0)
		return dfd;
	partial_name(digest, name);
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : -errno;
	if (fstat(fd, &st) < 0 || fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -EBUSY : -errno;
	if (st.st_ino != st2.st_ino || st.st_dev != st2.st_dev)
		return -EBUSY;          /* swept and made again meanwhile */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return -EUCLEAN;
	if ((uint64_t)st.st_size < len)
		return -ESTALE;
	if (ftruncate(fd, (off_t)len) < 0)
		return -errno;
	*ret_fd = TAKE_FD(fd);
	return 0;
}

void pack_partial_remove(struct st_repo *repo, const uint8_t digest[32])
{
	_cleanup_close_ int dfd = -EBADF;
	char name[2 * 32 + 5];

	dfd = openat_beneath(st_repo_dirfd(repo), PACK_PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return;
	partial_name(digest, name);
	(void)unlinkat(dfd, name, 0);
}
