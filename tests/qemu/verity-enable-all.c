/* SPDX-License-Identifier: MIT */
/* verity-enable-all DIR...: enable fs-verity (SHA-256, 4096-byte blocks, no
 * salt, as the repository's digests are) on every regular file under each
 * DIR that does not have it yet. One process for thousands of files: the
 * boot test's guest runs under TCG, where a fork+exec per file costs
 * minutes. Test helper only, built statically by tests/qemu/boot-image.sh. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <linux/fsverity.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

static unsigned long enabled, had;

static int visit(const char *path, const struct stat *st, int type, struct FTW *ftw) {
	(void) st;
	(void) ftw;
	if (type != FTW_F)
		return 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		fprintf(stderr, "verity-enable-all: open %s: %s\n", path, strerror(errno));
		return 1;
	}
	struct fsverity_enable_arg arg = {
		.version = 1,
		.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		.block_size = 4096,
	};
	int r = ioctl(fd, FS_IOC_ENABLE_VERITY, &arg);
	int e = errno;
	close(fd);
	if (r == 0)
		enabled++;
	else if (e == EEXIST)
		had++;
	else {
		fprintf(stderr, "verity-enable-all: enable %s: %s\n", path, strerror(e));
		return 1;
	}
	return 0;
}

int main(int argc, char **argv) {
	for (int i = 1; i < argc; i++)
		if (nftw(argv[i], visit, 16, FTW_PHYS) != 0)
			return 1;
	printf("fs-verity enabled on %lu files (%lu had it)\n", enabled, had);
	return 0;
}
