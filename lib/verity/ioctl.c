/* SPDX-License-Identifier: MIT */
/*
 * The kernel side of fs-verity: FS_IOC_ENABLE_VERITY and
 * FS_IOC_MEASURE_VERITY (Linux Documentation/filesystems/fsverity.rst).
 */
#include <linux/fsverity.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "verity/verity-internal.h"

/* Room for any digest the kernel may hand back (SHA-512 is the largest). */
#define MAX_KERNEL_DIGEST 64

static bool is_unsupported(int r)
{
	/* ENOTTY: the filesystem has no such ioctl; EOPNOTSUPP: no fs-verity
	 * in the kernel or not enabled on this filesystem. */
	return r == -ENOTTY || r == -EOPNOTSUPP;
}

int st_verity_measure_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	union {
		struct fsverity_digest d;
		uint8_t raw[sizeof(struct fsverity_digest) + MAX_KERNEL_DIGEST];
	} m;
	int r;

	memset(&m, 0, sizeof(m));
	m.d.digest_size = MAX_KERNEL_DIGEST;
	r = RET_NERRNO(ioctl(fd, FS_IOC_MEASURE_VERITY, &m));
	if (r == -ENODATA)
		return st_errf(r, "fs-verity is not enabled on this file");
	if (is_unsupported(r))
		return st_errf(r, "the kernel or filesystem does not support fs-verity");
	if (r < 0)
		return st_errf(r, "FS_IOC_MEASURE_VERITY failed");
	if (m.d.digest_algorithm != FS_VERITY_HASH_ALG_SHA256 ||
	    m.d.digest_size != ST_VERITY_DIGEST_SIZE)
		return st_errf(-EUCLEAN, "fs-verity digest uses algorithm %u (%u bytes), not SHA-256",
			       m.d.digest_algorithm, m.d.digest_size);
	memcpy(digest, m.d.digest, ST_VERITY_DIGEST_SIZE);
	return 0;
}

int st_verity_measure_or_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	int r;

	r = st_verity_measure_fd(fd, digest);
	/* -EUCLEAN: verity with another algorithm; SHA-256 is still computable. */
	if (r == -ENODATA || r == -EUCLEAN || is_unsupported(r)) {
		st_error_clear();
		return st_verity_digest_fd(fd, digest);
	}
	return r;
}

int st_verity_enable_fd(int fd)
{
	struct fsverity_enable_arg arg = {
		.version = 1,
		.hash_algorithm = FS_VERITY_HASH_ALG_SHA256,
		.block_size = ST_VERITY_BLOCK_SIZE,
	};
	int r;

	r = RET_NERRNO(ioctl(fd, FS_IOC_ENABLE_VERITY, &arg));
	if (r == -EEXIST)
		return st_errf(r, "fs-verity is already enabled on this file");
	if (is_unsupported(r))
		return st_errf(r, "the kernel or filesystem does not support fs-verity");
	if (r == -ETXTBSY)
		return st_errf(r, "cannot enable fs-verity: the file is open for writing");
	if (r < 0)
		return st_errf(r, "FS_IOC_ENABLE_VERITY failed");
	return 0;
}
