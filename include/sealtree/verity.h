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

/*
 * Streaming digest: feed the file's bytes in order, in any chunk sizes.
 * Memory is fixed (about 45 KiB) whatever the size; whole 4096-byte blocks
 * are hashed straight from the caller's buffer. A hasher is used by one
 * thread at a time; different hashers are independent.
 * Errors: -ENOMEM, -EFBIG (more than 2^64 bytes; the hasher is unchanged),
 * -EIO (OpenSSL failed; reset the hasher before using it again).
 */
struct st_verity_hasher;
ST_EXPORT int st_verity_hasher_new(struct st_verity_hasher **ret);
ST_EXPORT int st_verity_hasher_update(struct st_verity_hasher *h, const void *data, size_t len);
/*
 * Feed len zero bytes without hashing them one block at a time (holes of
 * sparse files): same result as st_verity_hasher_update() with zeros.
 */
ST_EXPORT int st_verity_hasher_update_zeros(struct st_verity_hasher *h, uint64_t len);
/*
 * Finish: write the digest, then reset the hasher (success or not), so it can
 * be reused for the next file at once. st_verity_hasher_reset() drops any
 * input fed so far.
 */
ST_EXPORT int st_verity_hasher_final(struct st_verity_hasher *h, uint8_t digest[ST_VERITY_DIGEST_SIZE]);
ST_EXPORT void st_verity_hasher_reset(struct st_verity_hasher *h);
/* Accepts NULL; returns NULL. */
ST_EXPORT struct st_verity_hasher *st_verity_hasher_free(struct st_verity_hasher *h);

/* Digest of a memory buffer. */
ST_EXPORT int st_verity_digest_buffer(const void *data, size_t len, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * Digest of a whole regular file, read from offset 0 with large preads
 * (userspace only; the file offset is not used or changed). Holes of sparse
 * files are skipped with SEEK_DATA/SEEK_HOLE. -EISDIR for a directory,
 * -EINVAL for other non-regular files, read errors as returned by pread.
 */
ST_EXPORT int st_verity_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * st_verity_digest_fd() with the caller's hasher and read buffer (buf_size
 * bytes; 1-4 MiB reads well; any size works), so a worker hashing many files
 * allocates nothing per file. The hasher is reset before and after.
 */
ST_EXPORT int st_verity_hasher_digest_fd(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
					 uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * Same digest, computed on `threads` threads (0 = CPUs available to the
 * process) for files of at least 128 MiB, in 64 MiB parts; smaller files,
 * and threads == 1, go to st_verity_digest_fd(). For one large file when
 * cores are idle; st_verity_digest_many() already keeps them busy.
 */
ST_EXPORT int st_verity_digest_fd_threads(int fd, unsigned threads, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * The kernel's measurement (FS_IOC_MEASURE_VERITY). Returns -ENODATA when the
 * file has no fs-verity, -EOPNOTSUPP/-ENOTTY when the filesystem or kernel
 * has no fs-verity, and -EUCLEAN if the kernel reports a non-SHA-256 digest.
 */
ST_EXPORT int st_verity_measure_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * The kernel measurement when available, otherwise the userspace digest
 * (also when the file has fs-verity with an algorithm other than SHA-256).
 */
ST_EXPORT int st_verity_measure_or_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE]);

/*
 * Enable fs-verity (FS_IOC_ENABLE_VERITY: version 1, SHA-256, 4096-byte
 * blocks, no salt, no signature). fd must be open read-only and the file must
 * have no writable fds (-ETXTBSY otherwise). -EEXIST if fs-verity is already
 * enabled (callers usually measure then), -ENOTTY/-EOPNOTSUPP where the
 * kernel or filesystem has no fs-verity.
 */
ST_EXPORT int st_verity_enable_fd(int fd);

/*
 * Digest many files in parallel over `threads` worker threads (0 = number of
 * CPUs available to the process, from sched_getaffinity; the calling thread
 * is one of them). Each job names a file relative to dirfd (AT_FDCWD or a
 * directory fd), opened O_RDONLY|O_CLOEXEC|O_NOFOLLOW|O_NONBLOCK, so a symlink
 * fails with -ELOOP and a FIFO with -EINVAL instead of blocking. On return each job's `result` is 0 with `digest` filled, or a
 * negative errno (no detail message: st_errf() details stay in the worker).
 * Returns 0 if every job was attempted (check each result), or a negative
 * errno (-ENOMEM) if the pool itself failed; then no result is meaningful.
 * Jobs are independent; `userdata` is never touched.
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
