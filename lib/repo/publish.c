/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers of the repository: temporary names in tmp/, atomic
 * publication (temporary file, optional fs-verity and fsync, rename),
 * reading small files, parsing ids.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "repo-internal.h"
#include "sealtree/verity.h"

void repo_tmp_name(const char *prefix, char buf[64])
{
	static atomic_uint counter;
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)(uintptr_t)buf;
	snprintf(buf, 64, "%.16s.%ld.%u.%08x", prefix, (long)getpid(), atomic_fetch_add(&counter, 1), rnd);
}

int repo_parse_id(const char *s, size_t len, uint8_t ret[32])
{
	return hex_decode_lower(s, len, ret, 32);
}

int repo_read_small_file(int dir_fd, const char *name, size_t max, char **ret, size_t *ret_len)
{
	return read_file_capped(dir_fd, name, max, READ_FILE_BENEATH, ret, ret_len);
}

static int fsync_dir(int dir_fd)
{
	return fsync(dir_fd) < 0 ? negative_errno() : 0;
}

int repo_publish_tmp(struct st_repo *repo, const char *tmp_name, int dir_fd, const char *name, unsigned flags)
{
	int r;

	if (flags & REPO_PUBLISH_VERITY) {
		_cleanup_close_ int fd = openat(repo->tmp_fd, tmp_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0)
			r = negative_errno();
		else {
			r = st_verity_enable_fd(fd);
			if (r == -EEXIST)
				r = 0;
		}
		if (r < 0) {
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return st_errf(r, "cannot enable fs-verity on '%s'", name);
		}
	}
	if (flags & REPO_PUBLISH_FSYNC) {
		_cleanup_close_ int fd = openat(repo->tmp_fd, tmp_name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

		if (fd < 0 || fsync(fd) < 0) {
			r = negative_errno();
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return st_errf(r, "cannot sync '%s'", name);
		}
	}
	if (flags & REPO_PUBLISH_NOREPLACE) {
		r = renameat2(repo->tmp_fd, tmp_name, dir_fd, name, RENAME_NOREPLACE);
		if (r < 0 && errno == EINVAL) {
			/* No RENAME_NOREPLACE here: link() never replaces either. */
			r = linkat(repo->tmp_fd, tmp_name, dir_fd, name, 0);
			if (r == 0 || errno == EEXIST) {
				int saved = errno;
				(void)unlinkat(repo->tmp_fd, tmp_name, 0);
				errno = saved;
			}
		}
		if (r < 0 && errno == EEXIST) {
			(void)unlinkat(repo->tmp_fd, tmp_name, 0);
			return 0;
		}
	} else
		r = renameat(repo->tmp_fd, tmp_name, dir_fd, name);
	if (r < 0) {
		r = negative_errno();
		(void)unlinkat(repo->tmp_fd, tmp_name, 0);
		return st_errf(r, "cannot publish '%s'", name);
	}
	if (flags & REPO_PUBLISH_FSYNC) {
		r = fsync_dir(dir_fd);
		if (r < 0)
			return st_errf(r, "cannot sync the directory of '%s'", name);
	}
	return 1;
}

int repo_publish_file(struct st_repo *repo, int dir_fd, const char *name, const void *data, size_t len,
		      unsigned flags)
{
	char tmp[64];
	int fd, r;

	repo_tmp_name("file", tmp);
	fd = openat(repo->tmp_fd, tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot create a temporary file in '%s/%s'", repo->path,
			       REPO_TMP_DIR);
	r = write_full(fd, data, len);
	safe_close(fd);
	if (r < 0) {
		(void)unlinkat(repo->tmp_fd, tmp, 0);
		return st_errf(r, "cannot write '%s'", name);
	}
	return repo_publish_tmp(repo, tmp, dir_fd, name, flags);
}
