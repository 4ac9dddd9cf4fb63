/* SPDX-License-Identifier: MIT */
/* Writing a file into a repository directory and naming it atomically: see publish.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include "error.h"
#include "io.h"
#include "macro.h"
#include "publish.h"

static atomic_bool no_tmpfile;
static atomic_uint counter;

void publish_force_named_tmp(bool on)
{
	atomic_store(&no_tmpfile, on);
}

static void tmp_name(char buf[40])
{
	uint32_t rnd = 0;

	if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) != sizeof(rnd))
		rnd = (uint32_t)(uintptr_t)buf;
	(void)snprintf(buf, 40, ".pub-%ld-%u-%08x", (long)getpid(), atomic_fetch_add(&counter, 1), rnd);
}

int publish_begin(int dir_fd, mode_t mode, const char *display, struct publish_tmp *ret)
{
	struct publish_tmp t = { .dir_fd = dir_fd, .fd = -EBADF };

	if (!atomic_load_explicit(&no_tmpfile, memory_order_relaxed)) {
		t.fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
		if (t.fd >= 0)
			t.is_tmpfile = true;
		else if (errno == EOPNOTSUPP || errno == EISDIR || errno == EINVAL)
			atomic_store(&no_tmpfile, true);
		else
			return st_errf(negative_errno(), "cannot create a temporary file for '%s'", display);
	}
	for (unsigned attempt = 0; t.fd < 0; attempt++) {
		tmp_name(t.tmp_name);
		t.fd = openat(dir_fd, t.tmp_name, O_RDWR | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
		if (t.fd < 0 && (errno != EEXIST || attempt >= 16))
			return st_errf(negative_errno(), "cannot create a temporary file for '%s'", display);
	}
	/* The umask may have narrowed mode; a repository file's mode is part of the format. */
	if (fchmod(t.fd, mode) < 0) {
		int r = negative_errno();
		publish_abort(&t);
		return st_errf(r, "cannot set the mode of '%s'", display);
	}
	*ret = t;
	return 0;
}

void publish_abort(struct publish_tmp *t)
{
	t->fd = safe_close(t->fd);
	if (!t->is_tmpfile && t->tmp_name[0])
		(void)unlinkat(t->dir_fd, t->tmp_name, 0);
	t->tmp_name[0] = '\0';
}

void publish_adopt(int dir_fd, int fd, struct publish_tmp *ret)
{
	/* Linked like an O_TMPFILE: through its fd, so the file keeps its other name. */
	*ret = (struct publish_tmp){ .dir_fd = dir_fd, .fd = fd, .is_tmpfile = true };
}

/*
 * Link the unnamed file fd at dir_fd/name (never replacing). By the fd
 * itself (AT_EMPTY_PATH) where the kernel lets this process (Linux 6.10+
 * for a file it opened, CAP_DAC_READ_SEARCH before): a pull of 58k objects
 * spent a quarter of its system time resolving /proc/self/fd/N instead.
 * Else through /proc. Either refusal reads as ENOENT (EPERM on some kernels).
 */
static atomic_bool no_flink;

void publish_force_proc_link(bool on)
{
	atomic_store(&no_flink, on);
}

static int link_tmpfile(int fd, int dir_fd, const char *name)
{
	char proc[64];

	if (!atomic_load_explicit(&no_flink, memory_order_relaxed)) {
		if (linkat(fd, "", dir_fd, name, AT_EMPTY_PATH) == 0)
			return 0;
		if (errno != ENOENT && errno != EPERM)
			return negative_errno();
	}
	(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, proc, dir_fd, name, AT_SYMLINK_FOLLOW) == 0) {
		atomic_store_explicit(&no_flink, true, memory_order_relaxed);      /* /proc can, the fd could not */
		return 0;
	}
	return negative_errno();
}

/* A read-only fd of the written file (the writable one is closed: fs-verity needs no writer). */
static int reopen_read_only(struct publish_tmp *t)
{
	char proc[64];
	int fd;

	if (t->is_tmpfile) {
		(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d", t->fd);
		fd = open(proc, O_RDONLY | O_CLOEXEC);
	} else
		fd = openat(t->dir_fd, t->tmp_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
	if (fd < 0)
		return negative_errno();
	safe_close(t->fd);
	t->fd = fd;
	return 0;
}

/* Give the file a temporary name (an O_TMPFILE has none): what rename needs. */
static int ensure_named(struct publish_tmp *t)
{
	int r;

	if (!t->is_tmpfile)
		return 0;
	for (unsigned attempt = 0;; attempt++) {
		tmp_name(t->tmp_name);
		r = link_tmpfile(t->fd, t->dir_fd, t->tmp_name);
		if (r != -EEXIST || attempt >= 16)
			break;
	}
	if (r < 0) {
		t->tmp_name[0] = '\0';
		return r;
	}
	t->is_tmpfile = false;
	return 0;
}

static int rename_over(struct publish_tmp *t, const char *name)
{
	int r = ensure_named(t);

	if (r >= 0)
		r = RET_NERRNO(renameat(t->dir_fd, t->tmp_name, t->dir_fd, name));
	if (r >= 0)
		t->tmp_name[0] = '\0';
	return r;
}

static int link_noreplace(struct publish_tmp *t, const char *name)
{
	int r;

	if (t->is_tmpfile)
		return link_tmpfile(t->fd, t->dir_fd, name);
	r = RET_NERRNO(renameat2(t->dir_fd, t->tmp_name, t->dir_fd, name, RENAME_NOREPLACE));
	if (r == -EINVAL) {
		/* No RENAME_NOREPLACE on this filesystem: link() never replaces either. */
		r = RET_NERRNO(linkat(t->dir_fd, t->tmp_name, t->dir_fd, name, 0));
		if (r < 0)
			return r;
		(void)unlinkat(t->dir_fd, t->tmp_name, 0);
	}
	if (r >= 0)
		t->tmp_name[0] = '\0';
	return r;
}

/* 1 if the file at name is good (ops->check_existing), 0 if it must be replaced, or a negative errno. */
static int existing_is_good(int dir_fd, const char *name, const char *display, const struct publish_ops *ops)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;

	if (!ops || !ops->check_existing)
		return 1;
	fd = openat(dir_fd, name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	if (fd < 0 && errno == ENOENT)
		return 0;       /* gone meanwhile (gc): ours takes its place */
	if (fd < 0 && errno != ELOOP && errno != ENXIO)
		return negative_errno();
	if (fd < 0)
		return 0;       /* a symlink or a socket: never a good file */
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if (S_ISDIR(st.st_mode))
		return -EISDIR; /* rename cannot replace it: fsck's to judge */
	if (!S_ISREG(st.st_mode))
		return 0;
	return ops->check_existing(fd, display, ops->userdata);
}

int publish_finish(struct publish_tmp *t, const char *name, const char *display, unsigned flags,
		   const struct publish_ops *ops)
{
	int r;

	if ((flags & PUBLISH_SYNC) && fsync(t->fd) < 0) {
		r = st_errf(negative_errno(), "cannot sync '%s'", display);
		goto fail;
	}
	if (ops && ops->prepare) {
		r = reopen_read_only(t);
		if (r < 0) {
			r = st_errf(r, "cannot reopen '%s'", display);
			goto fail;
		}
		r = ops->prepare(t->fd, display, ops->userdata);
		if (r < 0)
			goto fail;
	}
	if (flags & PUBLISH_REPLACE)
		r = rename_over(t, name);
	else {
		r = link_noreplace(t, name);
		if (r == -EEXIST) {
			r = existing_is_good(t->dir_fd, name, display, ops);
			if (r > 0) {
				publish_abort(t);
				return 0;
			}
			if (r < 0) {
				r = st_errf(r, "cannot check the existing '%s'", display);
				goto fail;
			}
			/* Corrupt, truncated or not a file: the good one takes its place, atomically. */
			r = rename_over(t, name);
		}
	}
	if (r < 0) {
		r = st_errf(r, "cannot publish '%s'", display);
		goto fail;
	}
	publish_abort(t);       /* closes the fd; the name is taken */
	if ((flags & PUBLISH_SYNC) && fsync(t->dir_fd) < 0)
		return st_errf(negative_errno(), "cannot sync the directory of '%s'", display);
	return 1;
fail:
	publish_abort(t);
	return r;
}

int publish_data(int dir_fd, const char *name, const char *display, const void *data, size_t len, mode_t mode,
		 unsigned flags, const struct publish_ops *ops)
{
	struct publish_tmp t;
	int r;

	r = publish_begin(dir_fd, mode, display, &t);
	if (r < 0)
		return r;
	r = write_full(t.fd, data, len);
	if (r < 0) {
		publish_abort(&t);
		return st_errf(r, "cannot write '%s'", display);
	}
	return publish_finish(&t, name, display, flags, ops);
}

int publish_same_bytes(int fd, const char *display, void *userdata)
{
	const struct publish_bytes *b = userdata;
	_cleanup_free_ uint8_t *buf = NULL;
	struct stat st;
	size_t len;
	int r;

	(void)display;
	if (fstat(fd, &st) < 0)
		return negative_errno();
	if ((uint64_t)st.st_size != b->len)
		return 0;
	r = read_fd_all(fd, &buf, &len);
	if (r < 0)
		return r;
	return len == b->len && memcmp(buf, b->data, len) == 0;
}
