/* SPDX-License-Identifier: MIT */
/* The --digest-store object store: see digest-store.h. */
#include <fcntl.h>
#include <linux/falloc.h>
#include <linux/fs.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "digest-store.h"
#include "sealtree/verity.h"

#define OBJECT_MODE 0644
#define DIR_MODE 0755
#define COPY_BUF_SIZE (256u * 1024u)

struct st_digest_store {
	int root_fd;
	char *path;
	pthread_mutex_t lock;           /* creating fan-out directories */
	atomic_int sub_fd[256];         /* -1 until created/opened */
	/* Capabilities found missing once, not retried for every object. */
	atomic_bool no_tmpfile, no_reflink, no_copy_range, no_verity, no_direct;
	bool require_verity;
	atomic_ulong tmp_counter;
};

static int mkdir_parents(const char *path, mode_t mode)
{
	_cleanup_free_ char *p = strdup(path);

	if (!p)
		return -ENOMEM;
	/* Create each prefix ending before a '/', then the whole path. */
	for (char *s = p + 1;; s++) {
		bool end = *s == '\0';
		if (!end && *s != '/')
			continue;
		if (s[-1] != '/') {
			*s = '\0';
			if (mkdir(p, mode) < 0 && errno != EEXIST)
				return negative_errno();
			*s = end ? '\0' : '/';
		}
		if (end)
			return 0;
	}
}

int st_digest_store_open(const char *path, struct st_digest_store **ret)
{
	int fd, r;

	if (!path || !*path)
		return -EINVAL;
	r = mkdir_parents(path, DIR_MODE);
	if (r < 0)
		return st_errf(r, "cannot create digest store '%s'", path);
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open digest store '%s'", path);
	r = st_digest_store_open_fd(fd, path, ret);
	safe_close(fd);
	return r;
}

int st_digest_store_open_fd(int dir_fd, const char *path, struct st_digest_store **ret)
{
	struct st_digest_store *s;
	int fd;

	fd = fcntl(dir_fd, F_DUPFD_CLOEXEC, 3);
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open digest store '%s'", path);
	s = new0(struct st_digest_store, 1);
	if (!s) {
		safe_close(fd);
		return -ENOMEM;
	}
	s->root_fd = fd;
	s->path = strdup(path);
	if (!s->path) {
		st_digest_store_free(s);
		return -ENOMEM;
	}
	pthread_mutex_init(&s->lock, NULL);
	for (size_t i = 0; i < ELEMENTSOF(s->sub_fd); i++)
		atomic_init(&s->sub_fd[i], -1);
	*ret = s;
	return 0;
}

struct st_digest_store *st_digest_store_free(struct st_digest_store *s)
{
	if (!s)
		return NULL;
	for (size_t i = 0; i < ELEMENTSOF(s->sub_fd); i++)
		safe_close(atomic_load(&s->sub_fd[i]));
	safe_close(s->root_fd);
	pthread_mutex_destroy(&s->lock);
	free(s->path);
	free(s);
	return NULL;
}

/* "xx/yyyy..." and its parts. */
static void object_names(const uint8_t digest[ST_DIGEST_SIZE], char path[2 + 1 + 62 + 1])
{
	st_hex_encode(digest, 1, path);
	path[2] = '/';
	st_hex_encode(digest + 1, ST_DIGEST_SIZE - 1, path + 3);
}

static int get_subdir(struct st_digest_store *s, uint8_t byte)
{
	char name[3];
	int fd;

	fd = atomic_load_explicit(&s->sub_fd[byte], memory_order_acquire);
	if (fd >= 0)
		return fd;

	pthread_mutex_lock(&s->lock);
	fd = atomic_load_explicit(&s->sub_fd[byte], memory_order_acquire);
	if (fd < 0) {
		st_hex_encode(&byte, 1, name);
		if (mkdirat(s->root_fd, name, DIR_MODE) < 0 && errno != EEXIST)
			fd = st_errf(negative_errno(), "cannot create '%s/%s'", s->path, name);
		else {
			fd = openat(s->root_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (fd < 0)
				fd = st_errf(negative_errno(), "cannot open '%s/%s'", s->path, name);
			else
				atomic_store_explicit(&s->sub_fd[byte], fd, memory_order_release);
		}
	}
	pthread_mutex_unlock(&s->lock);
	return fd;
}

int st_digest_store_has(struct st_digest_store *s, const uint8_t digest[ST_DIGEST_SIZE], uint64_t size)
{
	char path[2 + 1 + 62 + 1];
	struct stat st;
	int r;

	object_names(digest, path);
	r = fstatat_beneath(s->root_fd, path, &st);
	if (r == 0)
		/* Not a whole object (truncated, or not a file): write a new copy, which replaces it. */
		return S_ISREG(st.st_mode) && (size == ST_DIGEST_STORE_ANY_SIZE || (uint64_t)st.st_size == size);
	if (r == -ENOENT)
		return 0;
	return st_errf(r, "cannot check '%s/%s'", s->path, path);
}

/* Create the writable file in dir_fd: O_TMPFILE, else a hidden temporary name. */
static int begin_in(struct st_digest_store *s, int dir_fd, struct st_store_object *obj)
{
	int fd;

	*obj = (struct st_store_object){ .store = s, .fd = -EBADF, .dir_fd = dir_fd, .tmp_dir_fd = dir_fd };

	if (!atomic_load_explicit(&s->no_tmpfile, memory_order_relaxed)) {
		fd = openat(dir_fd, ".", O_TMPFILE | O_RDWR | O_CLOEXEC, OBJECT_MODE);
		if (fd >= 0) {
			obj->fd = fd;
			obj->is_tmpfile = true;
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
			return st_errf(negative_errno(), "cannot create a file in '%s'", s->path);
		atomic_store(&s->no_tmpfile, true);
	}

	/* No O_TMPFILE here: a hidden name, renamed later. */
	for (unsigned attempt = 0; attempt < 100; attempt++) {
		unsigned long n = atomic_fetch_add(&s->tmp_counter, 1);
		snprintf(obj->tmp_name, sizeof(obj->tmp_name), ".tmp-%d-%lu", (int)getpid(), n);
		fd = openat(dir_fd, obj->tmp_name, O_CREAT | O_EXCL | O_RDWR | O_NOFOLLOW | O_CLOEXEC, OBJECT_MODE);
		if (fd >= 0) {
			obj->fd = fd;
			return 0;
		}
		if (errno != EEXIST)
			break;
	}
	obj->tmp_name[0] = '\0';
	return st_errf(negative_errno(), "cannot create a temporary file in '%s'", s->path);
}

int st_digest_store_begin(struct st_digest_store *s, const uint8_t digest[ST_DIGEST_SIZE], struct st_store_object *obj)
{
	int dir_fd, r;

	dir_fd = get_subdir(s, digest[0]);
	if (dir_fd < 0)
		return dir_fd;
	r = begin_in(s, dir_fd, obj);
	if (r < 0)
		return r;
	memcpy(obj->digest, digest, ST_DIGEST_SIZE);
	return 0;
}

int st_digest_store_begin_unnamed(struct st_digest_store *s, struct st_store_object *obj)
{
	/* dir_fd is only a placeholder until st_digest_store_set_digest(). */
	return begin_in(s, s->root_fd, obj);
}

int st_digest_store_set_digest(struct st_store_object *obj, const uint8_t digest[ST_DIGEST_SIZE])
{
	int dir_fd = get_subdir(obj->store, digest[0]);

	if (dir_fd < 0)
		return dir_fd;
	obj->dir_fd = dir_fd;
	memcpy(obj->digest, digest, ST_DIGEST_SIZE);
	return 0;
}

void st_digest_store_require_verity(struct st_digest_store *s, bool on)
{
	s->require_verity = on;
}

void st_digest_store_skip_verity(struct st_digest_store *s)
{
	s->require_verity = false;
	atomic_store(&s->no_verity, true);
}

static int set_direct(struct st_store_object *obj, bool on)
{
	int fl = fcntl(obj->fd, F_GETFL);

	if (fl < 0 || fcntl(obj->fd, F_SETFL, on ? fl | O_DIRECT : fl & ~O_DIRECT) < 0)
		return negative_errno();
	obj->direct = on;
	return 0;
}

int st_digest_store_write(struct st_store_object *obj, const void *data, size_t len)
{
	struct st_digest_store *s = obj->store;
	const uint8_t *p = data;
	size_t aligned = 0;
	int r;

	if (((uintptr_t)p | obj->offset) % ST_STORE_IO_ALIGN == 0 &&
	    !atomic_load_explicit(&s->no_direct, memory_order_relaxed))
		aligned = ALIGN_DOWN(len, (size_t)ST_STORE_IO_ALIGN);
	if (aligned > 0) {
		r = obj->direct ? 0 : set_direct(obj, true);
		if (r >= 0)
			r = pwrite_full(obj->fd, p, aligned, obj->offset);
		if (r == -EINVAL && obj->offset == 0) {
			/* No direct I/O here (tmpfs, FUSE, odd alignment): stay buffered. */
			atomic_store(&s->no_direct, true);
			aligned = 0;
		} else if (r < 0)
			return r;
		p += aligned;
		len -= aligned;
		obj->offset += aligned;
	}
	if (len == 0)
		return 0;
	if (obj->direct) {
		r = set_direct(obj, false);
		if (r < 0)
			return r;
	}
	r = pwrite_full(obj->fd, p, len, obj->offset);
	if (r < 0)
		return r;
	obj->offset += len;
	return 0;
}

void st_digest_store_reserve(struct st_store_object *obj, uint64_t size)
{
	if (size <= ST_STORE_RESERVE_MIN || size > (uint64_t)INT64_MAX)
		return;
	/* KEEP_SIZE: the object's size still follows what was written; an aborted object frees all. */
	(void)fallocate(obj->fd, FALLOC_FL_KEEP_SIZE, 0, (off_t)size);
}

int st_digest_store_write_hole(struct st_store_object *obj, uint64_t len)
{
	uint64_t end;

	if (ADD_OVERFLOW(obj->offset, len, &end) || end > (uint64_t)INT64_MAX)
		return -EFBIG;
	if (ftruncate(obj->fd, (off_t)end) < 0)
		return negative_errno();
	obj->offset = end;
	return 0;
}

int st_digest_store_free_bytes(struct st_digest_store *s, uint64_t *ret)
{
	struct statvfs sv;

	if (fstatvfs(s->root_fd, &sv) < 0)
		return negative_errno();
	*ret = (uint64_t)sv.f_bavail * (uint64_t)sv.f_frsize;
	return 0;
}

static int copy_range(struct st_digest_store *s, int src_fd, int dst_fd, uint64_t size, uint64_t *done)
{
	loff_t in = 0, out = 0;

	while (*done < size) {
		ssize_t n = copy_file_range(src_fd, &in, dst_fd, &out, MIN(size - *done, (uint64_t)1 << 30), 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			/* Nothing copied for these: not supported between these files. */
			if (errno == ENOSYS || errno == EXDEV)
				atomic_store(&s->no_copy_range, true);
			return negative_errno();
		}
		if (n == 0)
			return -ENODATA;        /* source shorter than expected, or a kernel quirk */
		*done += (uint64_t)n;
	}
	return 0;
}

/*
 * Through the caller's buffer; direct writes when the filesystem takes them.
 * With a hasher, each buffer is hashed as it is written: the digest is that
 * of exactly the bytes in the object, whatever the source does meanwhile.
 */
static int copy_buffered(struct st_store_object *obj, int src_fd, uint64_t size, uint8_t *buf, size_t buf_size,
			 struct st_verity_hasher *hasher)
{
	uint64_t off = 0;
	int r;

	while (off < size) {
		ssize_t n = pread(src_fd, buf, (size_t)MIN(size - off, (uint64_t)buf_size), (off_t)off);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -ENODATA;
		if (hasher) {
			r = st_verity_hasher_update(hasher, buf, (size_t)n);
			if (r < 0)
				return r;
		}
		r = st_digest_store_write(obj, buf, (size_t)n);
		if (r < 0)
			return r;
		off += (uint64_t)n;
	}
	return 0;
}

static int restart(struct st_store_object *obj)
{
	if (obj->offset > 0 && ftruncate(obj->fd, 0) < 0)
		return negative_errno();
	obj->offset = 0;
	return 0;
}

/*
 * Copy, and with a hasher leave in it the digest of exactly the bytes the
 * object holds. Returns 1 when the hasher still has to be fed from the
 * object itself (a reflink or copy_file_range copied without our buffer), 0
 * when the hasher has seen every byte (or there is none).
 */
static int copy_fd(struct st_digest_store *s, struct st_store_object *obj, int src_fd, uint64_t size, void *buf,
		   size_t buf_size, struct st_verity_hasher *hasher)
{
	uint64_t done = 0;
	int r;

	if (!atomic_load_explicit(&s->no_reflink, memory_order_relaxed)) {
		if (ioctl(obj->fd, FICLONE, src_fd) == 0) {
			obj->offset = size;
			return hasher ? 1 : 0;
		}
		if (errno == EOPNOTSUPP || errno == ENOTTY || errno == EINVAL || errno == EXDEV)
			atomic_store(&s->no_reflink, true);
	}
	st_digest_store_reserve(obj, size);
	/*
	 * Measured on ext4: reading into our buffer and writing it with O_DIRECT
	 * beats copy_file_range (a page-cache copy, then slow writeback) by far.
	 */
	if (buf && buf_size >= ST_STORE_IO_ALIGN && (uintptr_t)buf % ST_STORE_IO_ALIGN == 0 &&
	    !atomic_load_explicit(&s->no_direct, memory_order_relaxed))
		return copy_buffered(obj, src_fd, size, buf, ALIGN_DOWN(buf_size, (size_t)ST_STORE_IO_ALIGN), hasher);
	if (!atomic_load_explicit(&s->no_copy_range, memory_order_relaxed)) {
		r = copy_range(s, src_fd, obj->fd, size, &done);
		if (r >= 0) {
			obj->offset = size;
			return hasher ? 1 : 0;
		}
		if (r != -EOPNOTSUPP && r != -EINVAL && r != -EPERM && r != -EBADF && r != -ENOSYS &&
		    r != -EXDEV && r != -ENODATA)
			return r;
		/* Start again from scratch: a failed splice may have left a partial tail. */
		obj->offset = done;
		r = restart(obj);
		if (r < 0)
			return r;
	}
	if (buf && buf_size > 0)
		return copy_buffered(obj, src_fd, size, buf, buf_size, hasher);

	_cleanup_free_ uint8_t *tmp = malloc(COPY_BUF_SIZE);
	if (!tmp)
		return -ENOMEM;
	return copy_buffered(obj, src_fd, size, tmp, COPY_BUF_SIZE, hasher);
}

int st_digest_store_copy_fd(struct st_digest_store *s, struct st_store_object *obj, int src_fd, uint64_t size,
			    void *buf, size_t buf_size)
{
	int r = copy_fd(s, obj, src_fd, size, buf, buf_size, NULL);

	return r < 0 ? r : 0;
}

int st_digest_store_copy_fd_hashed(struct st_digest_store *s, struct st_store_object *obj, int src_fd, uint64_t size,
				   void *buf, size_t buf_size, struct st_verity_hasher *hasher,
				   uint8_t ret_digest[ST_DIGEST_SIZE])
{
	_cleanup_free_ uint8_t *tmp = NULL;
	uint8_t digest[ST_DIGEST_SIZE];
	int r;

	st_verity_hasher_reset(hasher);
	r = copy_fd(s, obj, src_fd, size, buf, buf_size, hasher);
	if (r < 0)
		return r;
	if (r > 0) {
		/* Copied by the kernel: hash the copy, which no one else can change. */
		if (obj->direct) {
			r = set_direct(obj, false);
			if (r < 0)
				return r;
		}
		if (!buf || buf_size == 0) {
			tmp = malloc(COPY_BUF_SIZE);
			if (!tmp)
				return -ENOMEM;
			buf = tmp;
			buf_size = COPY_BUF_SIZE;
		}
		r = st_verity_hasher_digest_fd(hasher, obj->fd, buf, buf_size, digest);
	} else {
		r = st_verity_hasher_final(hasher, digest);
	}
	if (r < 0)
		return r;
	memcpy(ret_digest, digest, ST_DIGEST_SIZE);
	return 0;
}

static int try_enable_verity(struct st_digest_store *s, int fd)
{
	int r = st_verity_enable_fd(fd);

	if (r >= 0 || r == -EEXIST)
		return 0;
	if (s->require_verity)
		return r;
	/* Errors are ignored, as the reference does; remember a missing feature. */
	if (r == -EOPNOTSUPP || r == -ENOTTY || r == -ENOSYS)
		atomic_store(&s->no_verity, true);
	return 0;
}

static int link_new_object(struct st_store_object *obj, int fd, const char *name);

/*
 * Is the object already under name what ours is? A regular file of our
 * size, and where it carries fs-verity, our digest (the kernel's
 * measurement costs one ioctl). Same-size damage without fs-verity is left
 * to fsck: finding it here would mean hashing every deduplicated object.
 */
static bool existing_sound(struct st_store_object *obj, int fd, const char *name)
{
	_cleanup_close_ int old = openat_beneath(obj->dir_fd, name, O_RDONLY | O_NONBLOCK, 0);
	uint8_t measured[ST_DIGEST_SIZE];
	struct stat a, b;

	if (old < 0 || fstat(old, &a) < 0 || fstat(fd, &b) < 0)
		return false;
	if (!S_ISREG(a.st_mode) || a.st_size != b.st_size)
		return false;
	if (st_verity_measure_fd(old, measured) >= 0 && memcmp(measured, obj->digest, ST_DIGEST_SIZE) != 0)
		return false;
	return true;
}

/* Put our copy over a damaged one under name, atomically. */
static int replace_object(struct st_store_object *obj, int fd, const char *name)
{
	char proc[64], tmp[64];

	if (!obj->is_tmpfile)
		return renameat(obj->tmp_dir_fd, obj->tmp_name, obj->dir_fd, name) == 0
			       ? (obj->tmp_name[0] = '\0', 1)
			       : negative_errno();
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
	snprintf(tmp, sizeof(tmp), ".tmp-replace-%d-%lu", (int)getpid(),
		 atomic_fetch_add(&obj->store->tmp_counter, 1));
	if (linkat(AT_FDCWD, proc, obj->dir_fd, tmp, AT_SYMLINK_FOLLOW) < 0)
		return negative_errno();
	if (renameat(obj->dir_fd, tmp, obj->dir_fd, name) < 0) {
		int r = negative_errno();

		(void)unlinkat(obj->dir_fd, tmp, 0);
		return r;
	}
	return 1;
}

/* Give the object its name without replacing a sound copy. 1 = linked, 0 = existed. */
static int link_object(struct st_store_object *obj, int fd, const char *name)
{
	int r = link_new_object(obj, fd, name);

	if (r == 0 && !existing_sound(obj, fd, name))
		r = replace_object(obj, fd, name);
	return r;
}

static int link_new_object(struct st_store_object *obj, int fd, const char *name)
{
	char proc[64];

	if (obj->is_tmpfile) {
		snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
		if (linkat(AT_FDCWD, proc, obj->dir_fd, name, AT_SYMLINK_FOLLOW) == 0)
			return 1;
		if (errno == ENOENT && linkat(fd, "", obj->dir_fd, name, AT_EMPTY_PATH) == 0)
			return 1; /* no /proc, but CAP_DAC_READ_SEARCH */
		return errno == EEXIST ? 0 : negative_errno();
	}
	if (renameat2(obj->tmp_dir_fd, obj->tmp_name, obj->dir_fd, name, RENAME_NOREPLACE) == 0) {
		obj->tmp_name[0] = '\0';
		return 1;
	}
	if (errno == EEXIST)
		return 0;
	if (errno != EINVAL && errno != ENOSYS)
		return negative_errno();
	/* No RENAME_NOREPLACE on this filesystem: link, which never replaces. */
	if (linkat(obj->tmp_dir_fd, obj->tmp_name, obj->dir_fd, name, 0) == 0)
		return 1;
	return errno == EEXIST ? 0 : negative_errno();
}

int st_digest_store_commit(struct st_digest_store *s, struct st_store_object *obj)
{
	char path[2 + 1 + 62 + 1];
	int fd = obj->fd, r;

	object_names(obj->digest, path);
	if (fchmod(fd, OBJECT_MODE) < 0) {
		r = st_errf(negative_errno(), "cannot chmod object '%s/%s'", s->path, path);
		goto out;
	}

	/* fs-verity needs a file nobody has open for writing: reopen read-only. */
	if (s->require_verity || !atomic_load_explicit(&s->no_verity, memory_order_relaxed)) {
		char proc[64];
		int ro;

		if (obj->is_tmpfile) {
			snprintf(proc, sizeof(proc), "/proc/self/fd/%d", fd);
			ro = open(proc, O_RDONLY | O_CLOEXEC);
		} else
			ro = openat(obj->tmp_dir_fd, obj->tmp_name, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (ro < 0 && s->require_verity) {
			r = st_errf(negative_errno(), "cannot reopen object '%s/%s' to enable fs-verity", s->path, path);
			goto out;
		}
		if (ro >= 0) {
			safe_close(fd);
			obj->fd = fd = ro;
			r = try_enable_verity(s, fd);
			if (r < 0) {
				r = st_errf(r, "cannot enable fs-verity on object '%s/%s'", s->path, path);
				goto out;
			}
		}
	}

	r = link_object(obj, fd, path + 3);
	if (r < 0)
		r = st_errf(r, "cannot publish object '%s/%s'", s->path, path);
out:
	st_digest_store_abort(obj);
	return r;
}

void st_digest_store_abort(struct st_store_object *obj)
{
	obj->fd = safe_close(obj->fd);
	if (!obj->is_tmpfile && obj->tmp_name[0]) {
		(void)unlinkat(obj->tmp_dir_fd, obj->tmp_name, 0);
		obj->tmp_name[0] = '\0';
	}
}

int st_digest_store_sync(struct st_digest_store *s)
{
	if (syncfs(s->root_fd) < 0)
		return st_errf(negative_errno(), "cannot sync digest store '%s'", s->path);
	return 0;
}
