/* SPDX-License-Identifier: MIT */
/*
 * Small file helpers of the repository: temporary names in tmp/, atomic
 * publication (through basic/publish.h: a temporary file in the target
 * directory, optional fs-verity and fsync, a link or rename), reading small
 * files, parsing ids.
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
#include "basic/publish.h"
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

static int enable_verity(int fd, const char *display, void *userdata)
{
	int r = st_verity_enable_fd(fd);

	(void)userdata;
	if (r == -EEXIST)
		return 0;
	return r < 0 ? st_errf(r, "cannot enable fs-verity on '%s'", display) : 0;
}

int repo_publish_file(struct st_repo *repo, int dir_fd, const char *name, const char *display, const void *data,
		      size_t len, unsigned flags)
{
	struct publish_bytes bytes = { .data = data, .len = len };
	struct publish_ops ops = {
		.prepare = (flags & REPO_PUBLISH_VERITY) ? enable_verity : NULL,
		.check_existing = (flags & REPO_PUBLISH_NOREPLACE) ? publish_same_bytes : NULL,
		.userdata = &bytes,
	};
	_cleanup_free_ char *full = NULL;

	if (asprintf(&full, "%s/%s", repo->path, display) < 0)
		return -ENOMEM;
	return publish_data(dir_fd, name, full, data, len, 0644,
			    ((flags & REPO_PUBLISH_NOREPLACE) ? 0 : PUBLISH_REPLACE) |
				    ((flags & REPO_PUBLISH_FSYNC) ? PUBLISH_SYNC : 0),
			    &ops);
}
