/* SPDX-License-Identifier: MIT */
/* An object arriving from a remote, verified before it is named: object-sink.h. */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/io.h"
#include "fundamental/macro.h"
#include "object-sink.h"
#include "remote-internal.h"
#include "sealtree/repo-objects.h"

void object_dirs_init(struct object_dirs *d, struct st_repo *repo)
{
	d->repo = repo;
	for (size_t i = 0; i < ELEMENTSOF(d->fd); i++)
		atomic_init(&d->fd[i], -EBADF);
}

void object_dirs_done(struct object_dirs *d)
{
	for (size_t i = 0; i < ELEMENTSOF(d->fd); i++)
		atomic_store(&d->fd[i], safe_close(atomic_load(&d->fd[i])));
}

void object_sink_init(struct object_sink *s, struct st_repo *repo, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size)
{
	struct st_verity_hasher *keep = s->hasher;
	struct object_dirs *dirs = s->dirs;

	*s = (struct object_sink){ .repo = repo, .dirs = dirs && dirs->repo == repo ? dirs : NULL, .size = size,
				   .hasher = keep, .tmp.fd = -EBADF, .tmp.dir_fd = -EBADF, .partial_fd = -EBADF };
	memcpy(s->digest, digest, ST_DIGEST_SIZE);
	st_repo_object_relpath(digest, s->relpath);
}

int object_dirs_get(struct object_dirs *d, uint8_t first)
{
	char dir[11];
	int fd, none = -EBADF;

	fd = atomic_load(&d->fd[first]);
	if (fd >= 0)
		return fd;
	(void)snprintf(dir, sizeof(dir), "objects/%02x", first);
	fd = mkdirat_beneath(st_repo_dirfd(d->repo), dir, 0755, false);
	if (fd < 0)
		return fd;
	/* Another thread may have opened it meanwhile: its fd is kept, ours closed. */
	if (!atomic_compare_exchange_strong(&d->fd[first], &none, fd)) {
		safe_close(fd);
		return none;
	}
	return fd;
}

int object_dirs_have(struct object_dirs *d, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size)
{
	char rel[74];
	struct stat st;
	int dfd, none = -EBADF;

	st_repo_object_relpath(digest, rel);
	dfd = atomic_load(&d->fd[digest[0]]);
	if (dfd < 0) {
		/* Opened, not made (a dry run makes nothing): no objects/XX/, no object. */
		rel[10] = '\0';
		dfd = openat_beneath(st_repo_dirfd(d->repo), rel, O_RDONLY | O_DIRECTORY | O_CLOEXEC, 0);
		rel[10] = '/';
		if (dfd == -ENOENT)
			return 0;
		if (dfd < 0)
			return st_errf(dfd, "cannot open '%s/%.10s'", st_repo_path(d->repo), rel);
		if (!atomic_compare_exchange_strong(&d->fd[digest[0]], &none, dfd)) {
			safe_close(dfd);
			dfd = none;
		}
	}
	if (fstatat(dfd, rel + 11, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : st_errf(-errno, "object %s", rel + 8);
	return S_ISREG(st.st_mode) && (uint64_t)st.st_size == size;
}

/* objects/XX/ of the object, made if need be: an fd of the caller's (sink_dir_close()) or borrowed from s->dirs. */
static int sink_dir(struct object_sink *s)
{
	char dir[11];

	if (s->dirs)
		return object_dirs_get(s->dirs, s->digest[0]);
	memcpy(dir, s->relpath, 10);
	dir[10] = '\0';
	return mkdirat_beneath(st_repo_dirfd(s->repo), dir, 0755, false);
}

static void sink_dir_close(struct object_sink *s, int fd)
{
	if (!s->dirs)
		safe_close(fd);
}

static int sink_open(struct object_sink *s)
{
	_cleanup_close_ int dfd = -EBADF;
	int r;

	dfd = sink_dir(s);
	if (dfd < 0)
		return dfd;
	r = publish_begin(dfd, 0644, s->relpath, &s->tmp);
	if (r < 0) {
		if (s->dirs)
			dfd = -EBADF;   /* borrowed */
		return r;
	}
	s->tmp.dir_fd = TAKE_FD(dfd);
	s->open = true;
	if (!s->hasher) {
		r = st_verity_hasher_new(&s->hasher);
		if (r < 0)
			return r;
	}
	return 0;
}

int object_sink_write(struct object_sink *s, const void *buf, size_t len)
{
	int r;

	if (len > s->size - s->got)
		return -EFBIG;
	if (s->partial_fd >= 0) {
		r = pwrite_full(s->partial_fd, buf, len, s->got);
		if (r < 0)
			return r;
		r = st_verity_hasher_update(s->hasher, buf, len);
		if (r < 0)
			return r;
		s->got += len;
		return 0;
	}
	if (!s->open) {
		r = sink_open(s);
		if (r < 0)
			return r;
	}
	r = write_full(s->tmp.fd, buf, len);
	if (r < 0)
		return r;
	r = st_verity_hasher_update(s->hasher, buf, len);
	if (r < 0)
		return r;
	s->got += len;
	return 0;
}

void object_sink_attach_partial(struct object_sink *s, int fd, uint64_t len)
{
	/* Nothing was written yet (no temporary file); the hasher holds the len bytes. */
	s->partial_fd = fd;
	s->got = len;
}

void object_sink_reset(struct object_sink *s)
{
	if (s->partial_fd >= 0 && s->got > 0) {
		/* Its bytes are not wanted (the server sends the whole file, or they were wrong). */
		(void)ftruncate(s->partial_fd, 0);
	}
	if (s->open) {
		int dfd = s->tmp.dir_fd;

		publish_abort(&s->tmp);
		sink_dir_close(s, dfd);
		s->open = false;
	}
	if (s->hasher)
		st_verity_hasher_reset(s->hasher);
	s->got = 0;
}

void object_sink_release(struct object_sink *s)
{
	s->partial_fd = safe_close(s->partial_fd);     /* its bytes stay for the next attempt */
	object_sink_reset(s);
	s->hasher = st_verity_hasher_free(s->hasher);
}

int object_has_digest(int fd, const char *display, void *userdata)
{
	uint8_t digest[ST_DIGEST_SIZE];
	int r = st_verity_measure_or_digest_fd(fd, digest);

	(void)display;
	if (r < 0)
		return 0;
	return memcmp(digest, userdata, ST_DIGEST_SIZE) == 0;
}

int object_enable_verity(int fd, const char *display, void *userdata)
{
	int r = st_verity_enable_fd(fd);

	(void)userdata;
	if (r == -EEXIST)
		return 0;
	return r < 0 ? st_errf(r, "cannot enable fs-verity on '%s'", display) : 0;
}

/* The verified partial file is linked into objects/ (not copied), then its tmp/pull name goes. */
static int sink_finish_partial(struct object_sink *s, const struct publish_ops *ops)
{
	struct publish_tmp tmp;
	struct stat st;
	int dfd, r;

	if (fstat(s->partial_fd, &st) < 0 || (uint64_t)st.st_size != s->size) {
		object_sink_reset(s);
		return st_errf(-EUCLEAN, "object %s: its partial download in tmp/pull is not %llu bytes long", s->relpath + 8,
			       (unsigned long long)s->size);
	}
	dfd = sink_dir(s);
	if (dfd < 0) {
		object_sink_reset(s);
		return st_errf(dfd, "cannot create the directory of '%s'", s->relpath);
	}
	publish_adopt(dfd, TAKE_FD(s->partial_fd), &tmp);
	s->got = 0;
	r = publish_finish(&tmp, s->relpath + 11, s->relpath, 0, ops);
	sink_dir_close(s, dfd);
	if (r < 0)
		return r;
	return partial_remove(s->repo, s->digest);
}

int object_sink_finish(struct object_sink *s)
{
	/*
	 * A file already at the name is kept only if it has the digest: a pull
	 * that a crash cut short before its syncfs can leave named objects
	 * whose bytes never reached the disk (short, or empty).
	 */
	struct publish_ops ops = { .prepare = st_repo_has_verity(s->repo) ? object_enable_verity : NULL,
				   .check_existing = object_has_digest, .userdata = s->digest };
	uint8_t digest[ST_DIGEST_SIZE];
	int dfd, r;

	if (s->got != s->size) {
		r = st_errf(-EUCLEAN, "object %s: the server sent %llu bytes, not %llu", s->relpath + 8,
			    (unsigned long long)s->got, (unsigned long long)s->size);
		object_sink_reset(s);
		return r;
	}
	if (!s->open && s->partial_fd < 0) {
		/* An empty object: a file of no bytes, still verified below. */
		r = sink_open(s);
		if (r < 0) {
			object_sink_reset(s);
			return r;
		}
	}
	r = st_verity_hasher_final(s->hasher, digest);
	if (r < 0) {
		object_sink_reset(s);
		return r;
	}
	if (memcmp(digest, s->digest, sizeof(digest)) != 0) {
		object_sink_reset(s);
		return st_errf(-EUCLEAN, "object %s: the bytes received do not have its fs-verity digest (wrong bytes from the server)",
			       s->relpath + 8);
	}
	if (s->partial_fd >= 0)
		return sink_finish_partial(s, &ops);
	/* Verified: named at once, so an interrupted pull never fetches it again. */
	dfd = s->tmp.dir_fd;
	s->open = false;
	r = publish_finish(&s->tmp, s->relpath + 11, s->relpath, 0, &ops);
	sink_dir_close(s, dfd);
	s->got = 0;
	return r < 0 ? r : 0;
}
