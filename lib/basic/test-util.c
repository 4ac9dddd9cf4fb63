/* SPDX-License-Identifier: MIT */
#include "basic/test-util.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmpdir[256];

static int rm_one(const char *path, const struct stat *st, int type, struct FTW *ftw)
{
	(void)st, (void)type, (void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	(void)nftw(tmpdir, rm_one, 32, FTW_DEPTH | FTW_PHYS);
}

const char *test_tmpdir(void)
{
	if (tmpdir[0])
		return tmpdir;
	(void)snprintf(tmpdir, sizeof(tmpdir), "/tmp/sealtree-%s.XXXXXX", program_invocation_short_name);
	if (!mkdtemp(tmpdir)) {
		perror(tmpdir);
		exit(1);
	}
	atexit(rm_tmpdir);
	return tmpdir;
}

char *test_join(const char *dir, const char *name)
{
	char *p = NULL;

	if (asprintf(&p, "%s/%s", dir, name) < 0) {
		perror(name);
		exit(1);
	}
	return p;
}

void test_write_file(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	bool ok = fd >= 0 && write(fd, data, len) == (ssize_t)len;

	if (fd >= 0 && close(fd) < 0)
		ok = false;
	if (!ok) {
		perror(path);
		exit(1);
	}
}
