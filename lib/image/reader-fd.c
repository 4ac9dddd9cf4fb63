/* SPDX-License-Identifier: MIT */
/*
 * st_image_read_tree_fd(): the whole image read into memory, then parsed.
 *
 * read() rather than mmap(): a mapped file that someone truncates while we
 * parse it would turn our bounds-checked reads into SIGBUS, and copying even
 * a large image from the page cache costs little next to building its tree.
 */
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/io.h"
#include "reader-internal.h"

static int read_regular(int fd, size_t size, uint8_t **ret, size_t *ret_len)
{
	_cleanup_free_ uint8_t *buf = malloc(size ? size : 1);
	size_t done = 0;

	if (!buf)
		return -ENOMEM;
	while (done < size) {
		ssize_t n = pread(fd, buf + done, size - done, (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			break;          /* truncated meanwhile: the size check will say so */
		done += (size_t)n;
	}
	*ret = TAKE_PTR(buf);
	*ret_len = done;
	return 0;
}

int st_image_read_tree_fd(int fd, const struct st_image_read_options *opts, struct st_node **ret_root,
			  uint32_t *ret_version)
{
	_cleanup_free_ uint8_t *buf = NULL;
	size_t len = 0;
	struct stat st;
	int r;

	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISREG(st.st_mode)) {
		if ((uint64_t)st.st_size > SIZE_MAX)
			return st_errf(-EFBIG, "image of %jd bytes does not fit in memory", (intmax_t)st.st_size);
		r = read_regular(fd, (size_t)st.st_size, &buf, &len);
	} else {
		r = read_fd_all(fd, &buf, &len);
	}
	if (r < 0)
		return st_errf(r, "cannot read the image");
	return st_image_read_tree(buf, len, opts, ret_root, ret_version);
}
