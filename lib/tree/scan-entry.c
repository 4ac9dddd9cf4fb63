/* SPDX-License-Identifier: MIT */
/*
 * One file of a directory scan: its metadata as the reference's
 * lcfs_load_node_from_file() records it, its xattrs, and (for regular files)
 * its digest, inline content and digest-store copy, with a check that the
 * file did not change while it was read.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/hex.h"
#include "scan-internal.h"
#include "sealtree/verity.h"

struct scan_dir *scan_dir_ref(struct scan_dir *d)
{
	atomic_fetch_add_explicit(&d->refs, 1, memory_order_relaxed);
	return d;
}

void scan_dir_unref(struct scan_dir *d)
{
	if (d && atomic_fetch_sub_explicit(&d->refs, 1, memory_order_acq_rel) == 1) {
		safe_close(d->fd);
		free(d);
	}
}

void scan_identity_from_stat(struct scan_identity *id, const struct stat *st)
{
	*id = (struct scan_identity){
		.dev = st->st_dev,
		.ino = st->st_ino,
		.size = (uint64_t)st->st_size,
		.mtime = st->st_mtim,
		.ctime = st->st_ctim,
	};
}

bool scan_identity_equal(const struct scan_identity *a, const struct scan_identity *b)
{
	return a->dev == b->dev && a->ino == b->ino && a->size == b->size &&
	       a->mtime.tv_sec == b->mtime.tv_sec && a->mtime.tv_nsec == b->mtime.tv_nsec &&
	       a->ctime.tv_sec == b->ctime.tv_sec && a->ctime.tv_nsec == b->ctime.tv_nsec;
}

void scan_digest_to_payload(const uint8_t digest[ST_DIGEST_SIZE], char out[SCAN_PAYLOAD_LEN + 1])
{
	st_hex_encode(digest, 1, out);
	out[2] = '/';
	st_hex_encode(digest + 1, ST_DIGEST_SIZE - 1, out + 3);
}

int scan_worker_init(struct scan_worker *w)
{
	int r;

	*w = (struct scan_worker){ 0 };
	/* Aligned so that digest-store copies can be written with O_DIRECT. */
	if (posix_memalign((void **)&w->buf, ST_STORE_IO_ALIGN, SCAN_WHOLE_READ_MAX) != 0)
		w->buf = NULL;
	w->xattr_list_cap = 4096;
	w->xattr_list = malloc(w->xattr_list_cap);
	w->xattr_value = malloc(SCAN_XATTR_VALUE_BUF);
	if (!w->buf || !w->xattr_list || !w->xattr_value) {
		scan_worker_done(w);
		return -ENOMEM;
	}
	r = st_verity_hasher_new(&w->hasher);
	if (r < 0) {
		scan_worker_done(w);
		return r;
	}
	return 0;
}

void scan_worker_done(struct scan_worker *w)
{
	free(w->buf);
	free(w->xattr_list);
	free(w->xattr_value);
	st_verity_hasher_free(w->hasher);
	*w = (struct scan_worker){ 0 };
}

int scan_fail(struct scan_ctx *ctx, const struct st_node *node, const char *name, int r, const char *fmt, ...)
{
	_cleanup_free_ char *rel = NULL, *what = NULL;
	char *msg = NULL;
	va_list ap;
	size_t root_len;
	int expected = 0;

	if (scan_failed(ctx))
		return r;       /* the first failure is the one reported */

	if (node && node->parent && node_get_path(node, &rel) < 0)
		rel = NULL;
	va_start(ap, fmt);
	if (vasprintf(&what, fmt, ap) < 0)
		what = NULL;
	va_end(ap);
	root_len = strlen(ctx->root_path);
	while (root_len > 1 && ctx->root_path[root_len - 1] == '/')
		root_len--;
	if (asprintf(&msg, "'%.*s%s%s%s': %s", (int)root_len, ctx->root_path, rel ? rel : "", name ? "/" : "",
		     name ? name : "", what ? what : "failed") < 0)
		msg = NULL;

	pthread_mutex_lock(&ctx->err_lock);
	if (atomic_compare_exchange_strong(&ctx->error, &expected, r)) {
		ctx->error_msg = msg;
		msg = NULL;
	}
	pthread_mutex_unlock(&ctx->err_lock);
	free(msg);
	return r;
}

void scan_node_from_stat(struct scan_ctx *ctx, struct st_node *node, const struct stat *st)
{
	/* nlink stays 1: the reference does not track links (see scan-links.c). */
	node->mode = st->st_mode;
	node->uid = st->st_uid;
	node->gid = st->st_gid;
	node->rdev = st->st_rdev;
	node->size = (uint64_t)st->st_size;
	if (ctx->flags & ST_SCAN_USE_EPOCH) {
		node->mtime_sec = 0;
		node->mtime_nsec = 0;
	} else {
		node->mtime_sec = st->st_mtim.tv_sec;
		node->mtime_nsec = (uint32_t)st->st_mtim.tv_nsec;
	}
}

/* One source of xattrs: an open fd, or a path not to follow. */
struct xattr_src {
	int fd;
	const char *path;
};

static ssize_t src_list(const struct xattr_src *s, char *buf, size_t len)
{
	return s->path ? llistxattr(s->path, buf, len) : flistxattr(s->fd, buf, len);
}

static ssize_t src_get(const struct xattr_src *s, const char *name, void *buf, size_t len)
{
	return s->path ? lgetxattr(s->path, name, buf, len) : fgetxattr(s->fd, name, buf, len);
}

static int read_xattrs(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node,
		       const struct xattr_src *src, const char *name)
{
	ssize_t n;
	int r;

	for (;;) {
		n = src_list(src, w->xattr_list, w->xattr_list_cap);
		if (n >= 0)
			break;
		if (errno == ENOTSUP)
			return 0;       /* a filesystem without xattrs: none to record */
		if (errno != ERANGE)
			return scan_fail(ctx, node, name, negative_errno(), "cannot list xattrs");
		/* The list grew since we sized the buffer: ask again. */
		n = src_list(src, NULL, 0);
		if (n < 0)
			return scan_fail(ctx, node, name, negative_errno(), "cannot list xattrs");
		r = GROW(w->xattr_list, w->xattr_list_cap, (size_t)n + 1);
		if (r < 0)
			return scan_fail(ctx, node, name, r, "cannot list xattrs");
	}

	for (const char *x = w->xattr_list; x < w->xattr_list + n;) {
		size_t len = strnlen(x, (size_t)(w->xattr_list + n - x));
		ssize_t v;

		if (len == 0 || x + len >= w->xattr_list + n)
			return scan_fail(ctx, node, name, -EIO, "malformed xattr list from the kernel");
		if ((ctx->flags & ST_SCAN_USER_XATTRS) && strncmp(x, "user.", 5) != 0) {
			x += len + 1;
			continue;
		}
		v = src_get(src, x, w->xattr_value, SCAN_XATTR_VALUE_BUF);
		if (v < 0) {
			if (errno == ENODATA)
				return scan_fail(ctx, node, name, -EAGAIN, "xattr '%s' vanished during the scan", x);
			return scan_fail(ctx, node, name, negative_errno(), "cannot read xattr '%s'", x);
		}
		r = node_set_xattr(node, x, len, w->xattr_value, (size_t)v);
		if (r < 0)
			return scan_fail(ctx, node, name, r, "cannot store xattr '%s' (%zd bytes)%s", x, v,
					 r == -ERANGE ? ": over the composefs xattr size limit" : "");
		x += len + 1;
	}
	return 0;
}

int scan_read_xattrs_fd(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int fd)
{
	struct xattr_src src = { .fd = fd };

	return read_xattrs(ctx, w, node, &src, NULL);
}

int scan_read_xattrs_at(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int dirfd, const char *name)
{
	/* No *xattrat() in our libc and O_PATH fds refuse f*xattr(): go through /proc. */
	char path[64 + ST_NAME_MAX];
	struct xattr_src src = { .fd = -EBADF, .path = path };

	snprintf(path, sizeof(path), "/proc/self/fd/%d/%s", dirfd, name);
	return read_xattrs(ctx, w, node, &src, NULL);
}

/* Read exactly len bytes from the start of fd. -ENODATA if the file is shorter. */
static int read_exact(int fd, uint8_t *buf, size_t len)
{
	size_t done = 0;

	while (done < len) {
		ssize_t n = pread(fd, buf + done, len - done, (off_t)done);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return negative_errno();
		}
		if (n == 0)
			return -ENODATA;
		done += (size_t)n;
	}
	return 0;
}

static int open_job_file(struct scan_ctx *ctx, struct scan_job *job, int *ret_fd)
{
	struct st_node *node = job->node;
	int fd;

	/* O_NONBLOCK: if a FIFO took the file's place, do not hang on it. */
	fd = openat(job->dir->fd, node->name, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY | O_CLOEXEC);
	scan_dir_unref(job->dir);
	job->dir = NULL;
	if (fd < 0) {
		if (errno == ENOENT)
			return scan_fail(ctx, node, NULL, -EAGAIN, "vanished during the scan");
		if (errno == ELOOP)
			return scan_fail(ctx, node, NULL, -EAGAIN, "replaced by a symlink during the scan");
		return scan_fail(ctx, node, NULL, negative_errno(), "cannot open");
	}
	*ret_fd = fd;
	return 0;
}

static int check_unchanged(struct scan_ctx *ctx, struct st_node *node, int fd, const struct scan_identity *before)
{
	struct scan_identity after;
	struct stat st;

	if (fstat(fd, &st) < 0)
		return scan_fail(ctx, node, NULL, negative_errno(), "cannot stat");
	scan_identity_from_stat(&after, &st);
	if (!S_ISREG(st.st_mode) || !scan_identity_equal(before, &after))
		return scan_fail(ctx, node, NULL, -EAGAIN, "changed during the scan");
	return 0;
}

/*
 * Copy the file into the store unless the object is there; publish only if
 * the source held still. The bytes published under a name must be the bytes
 * that were hashed: a file read whole is written from the very buffer that
 * was hashed; a streamed one is hashed again as it is copied (or from the
 * copy), and if a writer changed it in between (through a shared mapping,
 * which leaves size and times alone) the node takes the digest of what was
 * stored, so that the image references exactly the published bytes.
 */
static int store_file(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int fd, bool in_buf,
		      const struct scan_identity *id)
{
	struct st_store_object obj;
	uint8_t stored[ST_DIGEST_SIZE];
	int r;

	r = st_digest_store_has(ctx->store, node->digest, node->size);
	if (r != 0)
		return r < 0 ? scan_fail(ctx, node, NULL, r, "%s", st_error_detail() ?: "digest store failed") : 0;
	if (in_buf)
		r = st_digest_store_begin(ctx->store, node->digest, &obj);
	else
		r = st_digest_store_begin_unnamed(ctx->store, &obj);
	if (r < 0)
		return scan_fail(ctx, node, NULL, r, "%s", st_error_detail() ?: "digest store failed");
	if (in_buf)
		r = st_digest_store_write(&obj, w->buf, (size_t)id->size);
	else
		r = st_digest_store_copy_fd_hashed(ctx->store, &obj, fd, id->size, w->buf, SCAN_WHOLE_READ_MAX,
						   w->hasher, stored);
	if (r < 0) {
		st_digest_store_abort(&obj);
		if (r == -ENODATA)
			return scan_fail(ctx, node, NULL, -EAGAIN, "changed during the scan");
		return scan_fail(ctx, node, NULL, r, "cannot copy into the digest store");
	}
	r = check_unchanged(ctx, node, fd, id);
	if (r < 0) {
		st_digest_store_abort(&obj);
		return r;
	}
	if (!in_buf) {
		if (memcmp(stored, node->digest, ST_DIGEST_SIZE) != 0) {
			char payload[SCAN_PAYLOAD_LEN + 1];

			memcpy(node->digest, stored, ST_DIGEST_SIZE);
			scan_digest_to_payload(node->digest, payload);
			r = node_set_payload(node, payload, SCAN_PAYLOAD_LEN);
			if (r < 0) {
				st_digest_store_abort(&obj);
				return scan_fail(ctx, node, NULL, r, "cannot set its payload");
			}
		}
		r = st_digest_store_set_digest(&obj, node->digest);
		if (r < 0) {
			st_digest_store_abort(&obj);
			return scan_fail(ctx, node, NULL, r, "%s", st_error_detail() ?: "digest store failed");
		}
	}
	r = st_digest_store_commit(ctx->store, &obj);
	if (r < 0)
		return scan_fail(ctx, node, NULL, r, "%s", st_error_detail() ?: "digest store failed");
	if (r > 0)
		atomic_fetch_add_explicit(&ctx->objects_written, 1, memory_order_relaxed);
	return 0;
}

static void key_from_identity(struct st_scan_file_key *key, const struct scan_identity *id)
{
	*key = (struct st_scan_file_key){
		.dev = (uint64_t)id->dev,
		.ino = (uint64_t)id->ino,
		.size = id->size,
		.mtime_sec = id->mtime.tv_sec,
		.mtime_nsec = (uint32_t)id->mtime.tv_nsec,
		.ctime_sec = id->ctime.tv_sec,
		.ctime_nsec = (uint32_t)id->ctime.tv_nsec,
	};
}

/*
 * A digest from the cache, trusted only if its object is in the store (a
 * cache entry outlives a gc that deleted the object). 1 on a hit, 0 on a miss.
 */
static int cache_lookup(struct scan_ctx *ctx, struct st_node *node, const struct scan_identity *id)
{
	struct st_scan_file_key key;
	uint8_t digest[ST_DIGEST_SIZE];
	int r;

	key_from_identity(&key, id);
	if (ctx->cache->lookup(ctx->cache_userdata, &key, digest) <= 0)
		return 0;
	if (ctx->store) {
		r = st_digest_store_has(ctx->store, digest, id->size);
		if (r < 0)
			return scan_fail(ctx, node, NULL, r, "%s", st_error_detail() ?: "digest store failed");
		if (r == 0)
			return 0;
	}
	memcpy(node->digest, digest, ST_DIGEST_SIZE);
	return 1;
}

/* *ret_hashed: the digest was computed from the contents (not a cache hit, not inline). */
static int read_content(struct scan_ctx *ctx, struct scan_worker *w, struct st_node *node, int fd,
			const struct scan_identity *id, bool *ret_hashed)
{
	bool want_digest = !(ctx->flags & ST_SCAN_NO_DIGESTS);
	bool inline_ = id->size <= ST_INLINE_RECOMMENDED_MAX;
	bool in_buf = id->size <= SCAN_WHOLE_READ_MAX;
	char payload[SCAN_PAYLOAD_LEN + 1];
	int r;

	if (!want_digest && !inline_)
		return 0;

	if (ctx->cache && !inline_) {
		r = cache_lookup(ctx, node, id);
		if (r < 0)
			return r;
		if (r > 0) {
			atomic_fetch_add_explicit(&ctx->files_cached, 1, memory_order_relaxed);
			node->has_digest = true;
			scan_digest_to_payload(node->digest, payload);
			r = node_set_payload(node, payload, SCAN_PAYLOAD_LEN);
			if (r < 0)
				return scan_fail(ctx, node, NULL, r, "cannot set its payload");
			return 0;
		}
	}

	if (in_buf) {
		r = read_exact(fd, w->buf, (size_t)id->size);
		if (r >= 0 && want_digest) {
			st_verity_hasher_reset(w->hasher);
			r = st_verity_hasher_update(w->hasher, w->buf, (size_t)id->size);
			if (r >= 0)
				r = st_verity_hasher_final(w->hasher, node->digest);
		}
	} else {
		/* Streamed through our buffer; holes of sparse files are skipped. A
		 * file that shrank or grew meanwhile is caught by check_unchanged(). */
		(void)posix_fadvise(fd, 0, 0, POSIX_FADV_SEQUENTIAL);
		r = st_verity_hasher_digest_fd(w->hasher, fd, w->buf, SCAN_WHOLE_READ_MAX, node->digest);
	}
	if (r == -ENODATA)
		return scan_fail(ctx, node, NULL, -EAGAIN, "shrank during the scan");
	if (r < 0)
		return scan_fail(ctx, node, NULL, r, "cannot read");

	/* Like the reference: files of 1..64 bytes get content and digest and payload. */
	if (inline_) {
		r = node_set_content(node, w->buf, (size_t)id->size);
		if (r < 0)
			return scan_fail(ctx, node, NULL, r, "cannot keep its content");
	}
	if (!want_digest)
		return 0;
	if (!inline_) {
		atomic_fetch_add_explicit(&ctx->files_hashed, 1, memory_order_relaxed);
		*ret_hashed = true;
	}
	node->has_digest = true;
	scan_digest_to_payload(node->digest, payload);
	r = node_set_payload(node, payload, SCAN_PAYLOAD_LEN);
	if (r < 0)
		return scan_fail(ctx, node, NULL, r, "cannot set its payload");
	if (ctx->store && !inline_)
		return store_file(ctx, w, node, fd, in_buf, id);
	return 0;
}

int scan_run_job(struct scan_ctx *ctx, struct scan_worker *w, struct scan_job *job)
{
	_cleanup_close_ int fd = -EBADF;
	struct st_node *node = job->node;
	struct scan_identity id;
	bool hashed = false;
	struct stat st;
	int r;

	if (scan_failed(ctx)) {
		scan_dir_unref(job->dir);
		job->dir = NULL;
		return 0;
	}

	r = open_job_file(ctx, job, &fd);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return scan_fail(ctx, node, NULL, negative_errno(), "cannot stat");
	scan_identity_from_stat(&id, &st);
	if (!S_ISREG(st.st_mode) || (job->have_stat && !scan_identity_equal(&id, &job->identity)))
		return scan_fail(ctx, node, NULL, -EAGAIN, "changed during the scan");
	if (!job->have_stat) {
		scan_node_from_stat(ctx, node, &st);
		atomic_fetch_add_explicit(&ctx->bytes_total, id.size, memory_order_relaxed);
	}

	if (!(ctx->flags & ST_SCAN_SKIP_XATTRS)) {
		r = scan_read_xattrs_fd(ctx, w, node, fd);
		if (r < 0)
			return r;
	}
	if (id.size > 0) {
		r = read_content(ctx, w, node, fd, &id, &hashed);
		if (r < 0)
			return r;
	}
	r = check_unchanged(ctx, node, fd, &id);
	if (r < 0)
		return r;
	if (hashed && ctx->cache) {
		struct st_scan_file_key key;

		key_from_identity(&key, &id);
		ctx->cache->store(ctx->cache_userdata, &key, node->digest);
	}

	atomic_fetch_add_explicit(&ctx->files_done, 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&ctx->bytes_done, id.size, memory_order_relaxed);
	return 0;
}
