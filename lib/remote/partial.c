/* SPDX-License-Identifier: MIT */
/*
 * Partial downloads of large objects: REPO/tmp/pull/<64 hex digest>, the
 * first bytes the server sent for that object, kept when a pull is killed
 * or its connection drops so that the next attempt (or the next pull) asks
 * only for the rest with a Range request. Never content: an object is named
 * in objects/ only after its whole fs-verity digest matched, and the
 * partial file is what gets linked there (publish_adopt), so nothing is
 * copied. A file here is locked (flock) by the one fetch that writes it; a
 * pull that finds it locked downloads that object the ordinary way.
 *
 * Bounded: only objects of at least PARTIAL_MIN bytes get a partial file,
 * at most one per request in flight; a pull that completes removes every
 * unlocked one (they belong to no fetch any more), and gc removes tmp/.
 *
 * And the verified image of a commit whose objects are coming,
 * <hex digest>.image: checked again (size, fs-verity digest) before use.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "basic/publish.h"
#include "fundamental/macro.h"
#include "remote-internal.h"
#include "sealtree/verity.h"

#define PARTIAL_DIR "tmp/pull"

static int partial_dir(struct st_repo *repo)
{
	return mkdirat_beneath(st_repo_dirfd(repo), PARTIAL_DIR, 0755, false);
}

uint64_t partial_length(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size)
{
	char path[sizeof(PARTIAL_DIR) + 2 * ST_DIGEST_SIZE + 1];
	struct stat st;

	memcpy(path, PARTIAL_DIR "/", sizeof(PARTIAL_DIR));
	st_hex_encode(digest, ST_DIGEST_SIZE, path + sizeof(PARTIAL_DIR));
	if (fstatat(st_repo_dirfd(repo), path, &st, AT_SYMLINK_NOFOLLOW) < 0 || !S_ISREG(st.st_mode) ||
	    (uint64_t)st.st_size > size)
		return 0;       /* none, not ours, or longer than the object: from the first byte */
	if ((uint64_t)st.st_size == size && size > 0)
		return size - 1;        /* all of it, unverified: its last byte again makes a valid Range */
	return (uint64_t)st.st_size;
}

int partial_open(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], uint64_t len,
		 struct st_verity_hasher *hasher, int *ret_fd)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char name[2 * ST_DIGEST_SIZE + 1];
	uint8_t buf[65536];
	struct stat st, st2;

	dfd = partial_dir(repo);
	if (dfd < 0)
		return dfd;
	st_hex_encode(digest, ST_DIGEST_SIZE, name);
	fd = openat(dfd, name, O_RDWR | O_CREAT | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC, 0644);
	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return errno == EWOULDBLOCK ? -EBUSY : negative_errno();
	if (fstat(fd, &st) < 0 || fstatat(dfd, name, &st2, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? -EBUSY : negative_errno();
	if (st.st_ino != st2.st_ino || st.st_dev != st2.st_dev)
		return -EBUSY;          /* swept and made again meanwhile */
	if (!S_ISREG(st.st_mode) || st.st_nlink != 1)
		return -EUCLEAN;        /* not ours: left to gc */
	if ((uint64_t)st.st_size < len)
		return -ESTALE;         /* cut by another pull since its length was asked */
	if (ftruncate(fd, (off_t)len) < 0)
		return negative_errno();
	/* The kept bytes are hashed again from disk: the hasher's state died with the last attempt. */
	st_verity_hasher_reset(hasher);
	for (uint64_t off = 0; off < len;) {
		ssize_t n = pread(fd, buf, (size_t)MIN((uint64_t)sizeof(buf), len - off), (off_t)off);
		int r;

		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -ESTALE;
		r = st_verity_hasher_update(hasher, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	*ret_fd = TAKE_FD(fd);
	return 0;
}

int partial_remove(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	_cleanup_close_ int dfd = -EBADF;
	char name[2 * ST_DIGEST_SIZE + 1];

	dfd = openat_beneath(st_repo_dirfd(repo), PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	st_hex_encode(digest, ST_DIGEST_SIZE, name);
	if (unlinkat(dfd, name, 0) < 0 && errno != ENOENT)
		return negative_errno();
	return 0;
}

int partial_sweep(struct st_repo *repo)
{
	_cleanup_close_ int dfd = -EBADF;
	DIR *d;
	int r = 0;

	dfd = openat_beneath(st_repo_dirfd(repo), PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd == -ENOENT)
		return 0;
	if (dfd < 0)
		return dfd;
	d = fdopendir(dfd);
	if (!d)
		return negative_errno();
	TAKE_FD(dfd);
	for (struct dirent *de; (de = readdir(d));) {
		_cleanup_close_ int fd = -EBADF;

		if (de->d_name[0] == '.')
			continue;
		fd = openat(dirfd(d), de->d_name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
		if (fd < 0)
			continue;
		/* Locked: another pull is writing it. */
		if (flock(fd, LOCK_EX | LOCK_NB) < 0)
			continue;
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT) {
			r = negative_errno();
			break;
		}
	}
	closedir(d);
	return r;
}

static void image_name(const uint8_t digest[ST_DIGEST_SIZE], char name[2 * ST_DIGEST_SIZE + 7])
{
	st_hex_encode(digest, ST_DIGEST_SIZE, name);
	memcpy(name + 2 * ST_DIGEST_SIZE, ".image", 7);
}

int partial_image_keep(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], const void *data, size_t len)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	char name[2 * ST_DIGEST_SIZE + 7];
	int r;

	dfd = partial_dir(repo);
	if (dfd < 0)
		return dfd;
	image_name(digest, name);
	/* Not synced: lost in a crash, it is fetched again; whatever is there is checked before use. */
	r = publish_data(dfd, name, name, data, len, 0644, PUBLISH_REPLACE, NULL);
	if (r < 0)
		return r;
	/* Held while this pull runs, as the partial files are: fsck and sweeps leave it alone. */
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		return negative_errno();
	return TAKE_FD(fd);
}

int partial_image_read(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size, char **ret)
{
	_cleanup_close_ int dfd = -EBADF, fd = -EBADF;
	_cleanup_free_ uint8_t *data = NULL;
	char name[2 * ST_DIGEST_SIZE + 7];
	uint8_t got[ST_DIGEST_SIZE];
	struct stat st;
	size_t len;

	dfd = openat_beneath(st_repo_dirfd(repo), PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return -ENOENT;
	image_name(digest, name);
	fd = openat(dfd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0)
		return -ENOENT;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || (uint64_t)st.st_size != size)
		goto wrong;
	if (read_fd_all(fd, &data, &len) < 0 || len != size || st_verity_digest_buffer(data, len, got) < 0 ||
	    memcmp(got, digest, ST_DIGEST_SIZE) != 0)
		goto wrong;
	*ret = (char *)TAKE_PTR(data);
	return 0;
wrong:
	(void)unlinkat(dfd, name, 0);
	return -ENOENT;
}

void partial_image_remove(struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE])
{
	_cleanup_close_ int dfd = -EBADF;
	char name[2 * ST_DIGEST_SIZE + 7];

	dfd = openat_beneath(st_repo_dirfd(repo), PARTIAL_DIR, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
	if (dfd < 0)
		return;
	image_name(digest, name);
	(void)unlinkat(dfd, name, 0);
}
