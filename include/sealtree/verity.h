/* SPDX-License-Identifier: MIT */
/*
 * sealtree fs-verity: the fs-verity file digest (SHA-256, 4096-byte blocks,
 * no salt) computed in userspace, equal to the kernel's measurement, plus
 * the kernel ioctls where the filesystem supports them.
 *
 * All functions return 0 on success or a negative errno.
 */
#ifndef SEALTREE_VERITY_H
#define SEALTREE_VERITY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#ifndef ST_EXPORT
#define ST_EXPORT __attribute__((visibility("default")))
#endif

#define ST_VERITY_DIGEST_SIZE 32
#define ST_VERITY_BLOCK_SIZE 4096

/* Streaming digest: feed the file's bytes in order, any chunk sizes. */
struct st_verity_hasher;
ST_EXPORT int st_verity_hasher_new(struct st_verity_hasher **ret);
ST_EXPORT int st_verity_hasher_update(struct st_verity_hasher *h, const void *data, size_t len);
/* Finish: write the digest. The hasher may then be reset and reused. */
ST_EXPORT int st_verity_hasher_final(struct st_verity_hasher *h, uint8_t digest[ST_VERITY_DIGEST_SIZE]);
ST_EXPORT void st_verity_hasher_reset(struct st_verity_hasher *h);
ST_EXPORT struct st_verity_hasher *st_verity_hasher_free(struct st_verity_hasher *h);

/* Digest of a memory buffer. */
ST_EXPORT int st_verity_digest_buffer(const void *data, size_t len, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/* Digest of a whole file, read from offset 0 in large chunks (userspace only). */
ST_EXPORT int st_verity_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * The kernel's measurement (FS_IOC_MEASURE_VERITY). Returns -ENODATA when the
 * file has no fs-verity, -EOPNOTSUPP/-ENOTTY when the filesystem or kernel
 * has no fs-verity, and -EUCLEAN if the kernel reports a non-SHA-256 digest.
 */
ST_EXPORT int st_verity_measure_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/* The kernel measurement when available, otherwise the userspace digest. */
ST_EXPORT int st_verity_measure_or_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/* Enable fs-verity (FS_IOC_ENABLE_VERITY, SHA-256, 4096, no salt). */
ST_EXPORT int st_verity_enable_fd(int fd);

/*
 * Digest many files in parallel over `threads` worker threads (0 = number of
 * CPUs available to the process). Each job names a file relative to dirfd;
 * on return each job's `result` is 0 with `digest` filled, or a negative
 * errno. Returns 0 if every job was attempted (check each result), or a
 * negative errno if the pool itself failed.
 */
struct st_verity_job {
	int dirfd;
	const char *path;
	int result;
	uint8_t digest[ST_VERITY_DIGEST_SIZE];
	void *userdata;
};
ST_EXPORT int st_verity_digest_many(struct st_verity_job *jobs, size_t n_jobs, unsigned threads);

#ifdef __cplusplus
}
#endif
#endif
