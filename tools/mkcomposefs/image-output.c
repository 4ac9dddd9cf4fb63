/* SPDX-License-Identifier: MIT */
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "write-full.h"
#include "image-output.h"
#include "tool-util.h"

#define OUTPUT_BUF_SIZE (1024u * 1024u)
#define IO_ALIGN 4096u

static int split_path(const char *path, char **ret_dir, char **ret_base)
{
	_cleanup_free_ char *d = strdup(path), *b = strdup(path);
	char *dir, *base;

	if (!d || !b)
		return -ENOMEM;
	dir = strdup(dirname(d));
	base = strdup(basename(b));
	if (!dir || !base) {
		free(dir);
		free(base);
		return -ENOMEM;
	}
	*ret_dir = dir;
	*ret_base = base;
	return 0;
}

static int open_atomic(struct image_output *o, const char *path, const struct stat *existing)
{
	_cleanup_free_ char *dir = NULL;
	mode_t mask;
	int r;

	r = split_path(path, &dir, &o->name);
	if (r < 0)
		return log_error_errno(r, "cannot use output path '%s'", path);
	if (strcmp(o->name, "/") == 0 || strcmp(o->name, ".") == 0 || strcmp(o->name, "..") == 0)
		return log_error_errno(-EISDIR, "cannot write the image to '%s'", path);
	o->dir_fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (o->dir_fd < 0)
		return log_error_errno(negative_errno(), "failed to open output directory '%s'", dir);

	/* Like fopen("w"): an existing file keeps its mode, a new one gets 0666 & ~umask. */
	mask = umask(0);
	umask(mask);
	o->mode = existing ? existing->st_mode & 07777 : 0666 & ~mask;

	o->fd = openat(o->dir_fd, ".", O_TMPFILE | O_WRONLY | O_CLOEXEC, 0600);
	if (o->fd < 0 && (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)) {
		/* No O_TMPFILE: a hidden name next to the target, renamed at the end. */
		for (unsigned i = 0; i < 100 && o->fd < 0; i++) {
			free(o->tmp_name);
			o->tmp_name = NULL;
			if (asprintf(&o->tmp_name, ".%s.%d.%u.tmp", o->name, (int)getpid(), i) < 0) {
				o->tmp_name = NULL;
				return log_error_errno(-ENOMEM, "cannot create output file");
			}
			o->fd = openat(o->dir_fd, o->tmp_name, O_CREAT | O_EXCL | O_WRONLY | O_NOFOLLOW | O_CLOEXEC, 0600);
			if (o->fd < 0 && errno != EEXIST)
				break;
		}
		if (o->fd < 0) {
			free(o->tmp_name);
			o->tmp_name = NULL;
		}
	}
	if (o->fd < 0)
		return log_error_errno(negative_errno(), "failed to open output file '%s'", path);
	o->atomic = true;
	o->try_direct = true;
	return 0;
}

int image_output_open(struct image_output *o, const char *path)
{
	char resolved[PATH_MAX];
	struct stat st;

	*o = (struct image_output){ .fd = -EBADF, .dir_fd = -EBADF, .path = path };
	if (posix_memalign((void **)&o->buf, IO_ALIGN, OUTPUT_BUF_SIZE) != 0)
		o->buf = NULL;
	if (!o->buf)
		return log_error_errno(-ENOMEM, "cannot allocate the output buffer");

	if (strcmp(path, "-") == 0) {
		if (isatty(STDOUT_FILENO))
			return log_error("stdout is a tty. Refusing to use it");
		o->fd = STDOUT_FILENO;
		o->to_stdout = true;
		return 0;
	}

	if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode) && realpath(path, resolved)) {
		/* Replace the file the link points to, not the link. */
		if (stat(resolved, &st) < 0)
			return log_error_errno(negative_errno(), "cannot stat '%s'", resolved);
		path = resolved;
	}
	if (lstat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode))
			return log_error_errno(-EISDIR, "failed to open output file '%s'", path);
		if (!S_ISREG(st.st_mode)) {
			/* A device or FIFO (/dev/null...): write into it, never replace it. */
			o->fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
			if (o->fd < 0)
				return log_error_errno(negative_errno(), "failed to open output file '%s'", path);
			return 0;
		}
		return open_atomic(o, path, &st);
	}
	if (errno != ENOENT)
		return log_error_errno(negative_errno(), "cannot stat '%s'", path);
	return open_atomic(o, path, NULL);
}

static int set_direct(struct image_output *o, bool on)
{
	int fl = fcntl(o->fd, F_GETFL);

	if (fl < 0 || fcntl(o->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0)
		return negative_errno();
	o->direct = on;
	return 0;
}

/*
 * Write the buffer out. A new image file gets its whole blocks with O_DIRECT:
 * filling fresh page-cache pages costs more than the disk write here, and
 * nothing reads the image back soon. Only the tail goes through the cache.
 */
static int flush(struct image_output *o)
{
	size_t direct = o->try_direct ? ALIGN_DOWN(o->buf_len, (size_t)IO_ALIGN) : 0;
	int r;

	if (direct > 0) {
		r = o->direct ? 0 : set_direct(o, true);
		if (r >= 0)
			r = write_full(o->fd, o->buf, direct);
		if (r == -EINVAL && !o->wrote_direct) {
			o->try_direct = false;  /* no direct I/O on this filesystem */
			direct = 0;
		} else if (r < 0)
			return r;
		else
			o->wrote_direct = true;
	}
	if (direct < o->buf_len) {
		if (o->direct) {
			r = set_direct(o, false);
			if (r < 0)
				return r;
		}
		r = write_full(o->fd, o->buf + direct, o->buf_len - direct);
		if (r < 0)
			return r;
		/* Offsets are no longer aligned: the rest is buffered. */
		o->try_direct = false;
	}
	o->buf_len = 0;
	return 0;
}

int image_output_write(void *userdata, const void *data, size_t len)
{
	struct image_output *o = userdata;
	const uint8_t *p = data;
	int r;

	while (len > 0) {
		size_t n = MIN(len, OUTPUT_BUF_SIZE - o->buf_len);

		memcpy(o->buf + o->buf_len, p, n);
		o->buf_len += n;
		p += n;
		len -= n;
		if (o->buf_len == OUTPUT_BUF_SIZE) {
			r = flush(o);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

int image_output_commit(struct image_output *o)
{
	char proc[64], *tmp = NULL;
	int r;

	r = flush(o);
	if (r < 0)
		return log_error_errno(r, "cannot write '%s'", o->path);
	if (!o->atomic)
		return 0;
	if (fchmod(o->fd, o->mode) < 0)
		return log_error_errno(negative_errno(), "cannot chmod '%s'", o->path);

	if (!o->tmp_name) {
		/* Link the unnamed file under a hidden name, then rename that over the target. */
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", o->fd);
		for (unsigned i = 0; i < 100; i++) {
			if (asprintf(&tmp, ".%s.%d.%u.tmp", o->name, (int)getpid(), i) < 0)
				return log_error_errno(-ENOMEM, "cannot name '%s'", o->path);
			if (linkat(AT_FDCWD, proc, o->dir_fd, tmp, AT_SYMLINK_FOLLOW) == 0 ||
			    (errno == ENOENT && linkat(o->fd, "", o->dir_fd, tmp, AT_EMPTY_PATH) == 0)) {
				o->tmp_name = tmp;
				break;
			}
			r = negative_errno();
			free(tmp);
			tmp = NULL;
			if (r != -EEXIST)
				return log_error_errno(r, "cannot create '%s'", o->path);
		}
		if (!o->tmp_name)
			return log_error_errno(-EEXIST, "cannot create '%s'", o->path);
	}
	if (renameat(o->dir_fd, o->tmp_name, o->dir_fd, o->name) < 0)
		return log_error_errno(negative_errno(), "cannot rename the image to '%s'", o->path);
	free(o->tmp_name);
	o->tmp_name = NULL;
	o->atomic = false;      /* committed: nothing left to clean up */
	return 0;
}

void image_output_done(struct image_output *o)
{
	if (o->tmp_name)
		(void)unlinkat(o->dir_fd, o->tmp_name, 0);
	if (!o->to_stdout)
		safe_close(o->fd);
	safe_close(o->dir_fd);
	free(o->tmp_name);
	free(o->name);
	free(o->buf);
	*o = (struct image_output){ .fd = -EBADF, .dir_fd = -EBADF };
}
