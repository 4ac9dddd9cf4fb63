/* SPDX-License-Identifier: MIT */
/*
 * Digest of a file read through its fd.
 *
 * A file that shrinks while it is read fails with -ENODATA; one that grows
 * is hashed as far as it could be read.
 *
 * Files are read with large preads into one reused buffer: per-syscall and
 * per-page-cache-lookup costs then vanish next to hashing. A small file
 * costs one fstat and one pread: a short read that reaches the size fstat
 * reported is taken as end of file, which saves the extra read() that would
 * return 0 (the file growing meanwhile is still caught, since we only stop
 * early when the size was reached).
 *
 * Sparse files (fewer allocated blocks than the size needs) are walked with
 * SEEK_DATA/SEEK_HOLE; holes go to st_verity_hasher_update_zeros(), which
 * does not hash them byte by byte.
 */
#include <fcntl.h>
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "verity/verity-internal.h"

void *verity_read_buffer_new(size_t size)
{
	void *p = NULL;

	if (posix_memalign(&p, 4096, size) != 0)
		return NULL;
	return p;
}

static ssize_t pread_retry(int fd, void *buf, size_t len, uint64_t off)
{
	for (;;) {
		ssize_t n = pread(fd, buf, len, (off_t)off);

		if (n >= 0)
			return n;
		if (errno != EINTR)
			return negative_errno();
	}
}

/*
 * Hash [off, end) from the file. Stops early, without error, at end of file.
 * With end == UINT64_MAX reads to end of file; expect is the size fstat
 * reported, used to recognise end of file on a short read.
 */
static int hash_range(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
		      uint64_t off, uint64_t end, uint64_t expect, uint64_t *ret_off)
{
	while (off < end) {
		size_t want = (size_t)MIN((uint64_t)buf_size, end - off);
		ssize_t n;
		int r;

		n = pread_retry(fd, buf, want, off);
		if (n < 0)
			return st_errf((int)n, "failed to read at offset %" PRIu64, off);
		if (n == 0)
			break;
		r = st_verity_hasher_update(h, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
		if ((size_t)n < want && off >= expect)
			break;
	}
	*ret_off = off;
	return 0;
}

/* Walk [off, end) by data extents; holes become zeros without reading. */
static int hash_sparse(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
		       uint64_t off, uint64_t end)
{
	int r;

	while (off < end) {
		off_t data, hole;
		uint64_t reached;

		data = lseek(fd, (off_t)off, SEEK_DATA);
		if (data < 0) {
			if (errno != ENXIO)
				return st_errf(negative_errno(), "SEEK_DATA at offset %" PRIu64 " failed", off);
			data = (off_t)end; /* only a hole remains */
		}
		if ((uint64_t)data > end)
			data = (off_t)end;
		if ((uint64_t)data > off) {
			r = st_verity_hasher_update_zeros(h, (uint64_t)data - off);
			if (r < 0)
				return r;
			off = (uint64_t)data;
		}
		if (off >= end)
			break;

		hole = lseek(fd, (off_t)off, SEEK_HOLE);
		if (hole < 0)
			return st_errf(negative_errno(), "SEEK_HOLE at offset %" PRIu64 " failed", off);
		if ((uint64_t)hole <= off || (uint64_t)hole > end)
			hole = (off_t)end;

		r = hash_range(h, fd, buf, buf_size, off, (uint64_t)hole, (uint64_t)hole, &reached);
		if (r < 0)
			return r;
		if (reached < (uint64_t)hole)
			return st_errf(-ENODATA, "file shrank to %" PRIu64 " bytes while hashing", reached);
		off = reached;
	}
	return 0;
}

bool verity_file_is_sparse(const struct stat *st, size_t buf_size)
{
	/* Fewer allocated bytes than the size: there are holes worth skipping.
	 * Small files are cheaper to read whole than to seek through. */
	return (uint64_t)st->st_size > buf_size && (uint64_t)st->st_blocks * 512 < (uint64_t)st->st_size;
}

int verity_hash_extent(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
		       uint64_t start, uint64_t end, bool sparse)
{
	uint64_t reached;
	int r;

	if (sparse)
		return hash_sparse(h, fd, buf, buf_size, start, end);
	r = hash_range(h, fd, buf, buf_size, start, end, end, &reached);
	if (r < 0)
		return r;
	if (reached < end)
		return st_errf(-ENODATA, "file shrank to %" PRIu64 " bytes while hashing", reached);
	return 0;
}

int st_verity_hasher_digest_fd(struct st_verity_hasher *h, int fd, void *buf, size_t buf_size,
			  uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct stat st;
	uint64_t size, off;
	int r;

	st_verity_hasher_reset(h);
	if (!buf || buf_size == 0)
		return -EINVAL;

	if (fstat(fd, &st) < 0)
		return st_errf(negative_errno(), "fstat failed");
	if (S_ISDIR(st.st_mode))
		return st_errf(-EISDIR, "cannot take the fs-verity digest of a directory");
	if (!S_ISREG(st.st_mode))
		return st_errf(-EINVAL, "fs-verity digests exist only for regular files");
	size = (uint64_t)st.st_size;

	if (size > buf_size)
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL); /* advisory only */

	if (verity_file_is_sparse(&st, buf_size))
		r = hash_sparse(h, fd, buf, buf_size, 0, size);
	else {
		r = hash_range(h, fd, buf, buf_size, 0, UINT64_MAX, size, &off);
		if (r >= 0 && off < size)
			r = st_errf(-ENODATA, "file shrank to %" PRIu64 " bytes while hashing", off);
	}
	if (r < 0)
		return r;
	return st_verity_hasher_final(h, digest);
}

int st_verity_digest_fd(int fd, uint8_t digest[ST_VERITY_DIGEST_SIZE])
{
	struct st_verity_hasher *h = NULL;
	_cleanup_free_ void *buf = NULL;
	size_t buf_size = VERITY_READ_BUFFER_SIZE;
	struct stat st;
	int r;

	/*
	 * A small file gets a small buffer: a fresh 2 MiB one is mmapped and
	 * faulted in on every call, which halved the speed of hashing many
	 * small files one call at a time. One byte more than the size lets the
	 * first read come back short, so no second read is needed to see EOF.
	 */
	if (fstat(fd, &st) >= 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size < buf_size)
		buf_size = ALIGN_UP((size_t)st.st_size + 1, (size_t)4096);

	buf = verity_read_buffer_new(buf_size);
	if (!buf)
		return -ENOMEM;
	r = st_verity_hasher_new(&h);
	if (r < 0)
		return r;
	r = st_verity_hasher_digest_fd(h, fd, buf, buf_size, digest);
	st_verity_hasher_free(h);
	return r;
}
