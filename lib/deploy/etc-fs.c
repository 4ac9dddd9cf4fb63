/* SPDX-License-Identifier: MIT */
/*
 * What the /etc merge compares and writes: a tree node (from usr/etc of a
 * commit) against another node or against a file of a real etc/ directory,
 * by type, permission bits, owner, xattrs, contents, symlink target and
 * device number (never times); and writing either kind into a new etc/
 * with all of its metadata.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/error.h"
#include "basic/io.h"
#include "etc-internal.h"
#include "sealtree/verity.h"

#define XATTR_LIST_MAX_ 65536
#define XATTR_VALUE_MAX 65536

void proc_path(int dirfd, const char *name, char buf[PROC_PATH_MAX])
{
	(void)snprintf(buf, PROC_PATH_MAX, "/proc/self/fd/%d/%s", dirfd, name);
}

static int node_content_digest(const struct st_entry *e, uint8_t out[ST_DIGEST_SIZE])
{
	if (e->has_digest) {
		memcpy(out, e->digest, ST_DIGEST_SIZE);
		return 0;
	}
	return st_verity_digest_buffer(e->content ? e->content : (const uint8_t *)"", e->size, out);
}

/* The value of xattr name of node, or NULL. */
static const uint8_t *node_xattr(const struct st_node *n, const char *name, size_t *ret_len)
{
	struct st_entry e;
	const char *xn;
	const uint8_t *v;
	size_t l;

	st_node_get_entry(n, &e);
	for (size_t i = 0; i < e.n_xattrs; i++)
		if (st_node_get_xattr(n, i, &xn, &v, &l) >= 0 && strcmp(xn, name) == 0) {
			*ret_len = l;
			return v;
		}
	return NULL;
}

static bool xattrs_equal_nodes(const struct st_node *a, const struct st_node *b)
{
	struct st_entry ea, eb;
	const char *name;
	const uint8_t *va, *vb;
	size_t la, lb;

	st_node_get_entry(a, &ea);
	st_node_get_entry(b, &eb);
	if (ea.n_xattrs != eb.n_xattrs)
		return false;
	for (size_t i = 0; i < ea.n_xattrs; i++) {
		if (st_node_get_xattr(a, i, &name, &va, &la) < 0)
			return false;
		vb = node_xattr(b, name, &lb);
		if (!vb || la != lb || memcmp(va, vb, la) != 0)
			return false;
	}
	return true;
}

int etc_node_equal(const struct st_node *a, const struct st_node *b)
{
	struct st_entry ea, eb;
	uint8_t da[ST_DIGEST_SIZE], db[ST_DIGEST_SIZE];
	int r;

	if (!a || !b)
		return !a && !b;
	st_node_get_entry(a, &ea);
	st_node_get_entry(b, &eb);
	if ((ea.mode & S_IFMT) != (eb.mode & S_IFMT))
		return 0;
	if ((ea.mode & 07777) != (eb.mode & 07777) || ea.uid != eb.uid || ea.gid != eb.gid)
		return 0;
	if (!xattrs_equal_nodes(a, b))
		return 0;
	switch (ea.mode & S_IFMT) {
	case S_IFREG:
		if (ea.size != eb.size)
			return 0;
		if (ea.content && eb.content)
			return memcmp(ea.content, eb.content, ea.size) == 0;
		r = node_content_digest(&ea, da);
		if (r >= 0)
			r = node_content_digest(&eb, db);
		return r < 0 ? r : memcmp(da, db, ST_DIGEST_SIZE) == 0;
	case S_IFLNK:
		return strcmp(ea.symlink_target ? ea.symlink_target : "", eb.symlink_target ? eb.symlink_target : "") == 0;
	case S_IFCHR:
	case S_IFBLK:
		return ea.rdev == eb.rdev;
	default:
		return 1;
	}
}

/* Compare the local file's xattrs with the node's. */
static int xattrs_equal_local(const struct st_node *n, int dirfd, const char *name)
{
	char path[PROC_PATH_MAX];
	_cleanup_free_ char *list = NULL;
	_cleanup_free_ uint8_t *val = NULL;
	struct st_entry e;
	ssize_t ll;
	size_t count = 0;

	proc_path(dirfd, name, path);
	list = malloc(XATTR_LIST_MAX_);
	val = malloc(XATTR_VALUE_MAX);
	if (!list || !val)
		return -ENOMEM;
	ll = llistxattr(path, list, XATTR_LIST_MAX_);
	if (ll < 0)
		return errno == ENOTSUP ? 1 : st_errf(negative_errno(), "cannot list the xattrs of '%s'", name);
	for (ssize_t i = 0; i < ll; i += (ssize_t)strlen(list + i) + 1) {
		const uint8_t *nv;
		size_t nl;
		ssize_t vl;

		count++;
		nv = node_xattr(n, list + i, &nl);
		if (!nv)
			return 0;
		vl = lgetxattr(path, list + i, val, XATTR_VALUE_MAX);
		if (vl < 0)
			return st_errf(negative_errno(), "cannot read xattr '%s' of '%s'", list + i, name);
		if ((size_t)vl != nl || memcmp(val, nv, nl) != 0)
			return 0;
	}
	st_node_get_entry(n, &e);
	return count == e.n_xattrs;
}

static int content_equal_local(const struct st_entry *e, int dirfd, const char *name)
{
	_cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	uint8_t dl[ST_DIGEST_SIZE], dn[ST_DIGEST_SIZE];
	int r;

	if (fd < 0)
		return st_errf(negative_errno(), "cannot open '%s'", name);
	if (e->content && !e->has_digest) {
		_cleanup_free_ uint8_t *buf = NULL;
		size_t len;

		r = read_fd_all(fd, &buf, &len);
		if (r < 0)
			return st_errf(r, "cannot read '%s'", name);
		return len == e->size && memcmp(buf, e->content, len) == 0;
	}
	r = st_verity_digest_fd(fd, dl);
	if (r < 0)
		return st_errf(r, "cannot read '%s'", name);
	r = node_content_digest(e, dn);
	return r < 0 ? r : memcmp(dl, dn, ST_DIGEST_SIZE) == 0;
}

int etc_local_equal(const struct st_node *n, int dirfd, const char *name, const struct stat *st)
{
	struct st_entry e;
	int r;

	if (!n || !st)
		return !n && !st;
	st_node_get_entry(n, &e);
	if ((e.mode & S_IFMT) != (st->st_mode & S_IFMT))
		return 0;
	if ((e.mode & 07777) != (st->st_mode & 07777) && !S_ISLNK(e.mode))
		return 0;
	if (e.uid != st->st_uid || e.gid != st->st_gid)
		return 0;
	switch (e.mode & S_IFMT) {
	case S_IFREG:
		if (e.size != (uint64_t)st->st_size)
			return 0;
		r = content_equal_local(&e, dirfd, name);
		if (r <= 0)
			return r;
		break;
	case S_IFLNK: {
		char buf[4097];
		ssize_t l = readlinkat(dirfd, name, buf, sizeof(buf) - 1);

		if (l < 0)
			return st_errf(negative_errno(), "cannot read symlink '%s'", name);
		buf[l] = '\0';
		if (strcmp(buf, e.symlink_target ? e.symlink_target : "") != 0)
			return 0;
		break;
	}
	case S_IFCHR:
	case S_IFBLK:
		if (e.rdev != (uint64_t)st->st_rdev)
			return 0;
		break;
	default:
		break;
	}
	return xattrs_equal_local(n, dirfd, name);
}

/* Owner (ignored without the right to chown), mode, times of dirfd/name. */
static int set_meta(int dirfd, const char *name, uint32_t mode, uint32_t uid, uint32_t gid, int64_t sec, uint32_t nsec)
{
	struct timespec ts[2] = { { .tv_sec = sec, .tv_nsec = nsec }, { .tv_sec = sec, .tv_nsec = nsec } };

	if (fchownat(dirfd, name, uid, gid, AT_SYMLINK_NOFOLLOW) < 0 && errno != EPERM)
		return st_errf(negative_errno(), "cannot chown '%s'", name);
	if (!S_ISLNK(mode) && fchmodat(dirfd, name, mode & 07777, 0) < 0)
		return st_errf(negative_errno(), "cannot chmod '%s'", name);
	if (utimensat(dirfd, name, ts, AT_SYMLINK_NOFOLLOW) < 0)
		return st_errf(negative_errno(), "cannot set the times of '%s'", name);
	return 0;
}

static int set_node_xattrs(const struct st_node *n, int dirfd, const char *name)
{
	char path[PROC_PATH_MAX];
	struct st_entry e;

	st_node_get_entry(n, &e);
	proc_path(dirfd, name, path);
	for (size_t i = 0; i < e.n_xattrs; i++) {
		const char *xn;
		const uint8_t *v;
		size_t l;

		if (st_node_get_xattr(n, i, &xn, &v, &l) < 0)
			continue;
		if (lsetxattr(path, xn, v, l, 0) < 0 && errno != EPERM && errno != ENOTSUP)
			return st_errf(negative_errno(), "cannot set xattr '%s' of '%s'", xn, name);
	}
	return 0;
}

int etc_write_node(struct st_repo *repo, const struct st_node *n, int dirfd, const char *name)
{
	struct st_entry e;
	int r;

	st_node_get_entry(n, &e);
	switch (e.mode & S_IFMT) {
	case S_IFREG: {
		_cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0)
			return st_errf(negative_errno(), "cannot create '%s'", name);
		r = st_repo_write_file_contents(repo, n, fd);
		if (r < 0)
			return r;
		break;
	}
	case S_IFDIR: {
		_cleanup_close_ int fd = -EBADF;
		struct st_node *c;

		if (mkdirat(dirfd, name, 0700) < 0)
			return st_errf(negative_errno(), "cannot create '%s'", name);
		fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (fd < 0)
			return negative_errno();
		for (size_t i = 0; (c = st_node_get_child(n, i)); i++) {
			struct st_entry ce;

			st_node_get_entry(c, &ce);
			r = etc_write_node(repo, c, fd, ce.name);
			if (r < 0)
				return r;
		}
		break;
	}
	case S_IFLNK:
		if (symlinkat(e.symlink_target ? e.symlink_target : "", dirfd, name) < 0)
			return st_errf(negative_errno(), "cannot create symlink '%s'", name);
		break;
	default:
		if (mknodat(dirfd, name, (mode_t)(e.mode & (S_IFMT | 0600)), (dev_t)e.rdev) < 0) {
			if (errno == EPERM)
				return 0;       /* a device node without CAP_MKNOD: skipped, as checkout does */
			return st_errf(negative_errno(), "cannot create '%s'", name);
		}
		break;
	}
	return etc_node_meta(n, dirfd, name);
}

int etc_node_meta(const struct st_node *n, int dirfd, const char *name)
{
	struct st_entry e;
	int r;

	st_node_get_entry(n, &e);
	r = set_node_xattrs(n, dirfd, name);
	if (r < 0)
		return r;
	return set_meta(dirfd, name, e.mode, e.uid, e.gid, e.mtime_sec, e.mtime_nsec);
}

static int copy_xattrs(int sfd, const char *sname, int dfd, const char *dname)
{
	char sp[PROC_PATH_MAX], dp[PROC_PATH_MAX];
	_cleanup_free_ char *list = malloc(XATTR_LIST_MAX_);
	_cleanup_free_ uint8_t *val = malloc(XATTR_VALUE_MAX);
	ssize_t ll;

	if (!list || !val)
		return -ENOMEM;
	proc_path(sfd, sname, sp);
	proc_path(dfd, dname, dp);
	ll = llistxattr(sp, list, XATTR_LIST_MAX_);
	if (ll < 0)
		return errno == ENOTSUP ? 0 : st_errf(negative_errno(), "cannot list the xattrs of '%s'", sname);
	for (ssize_t i = 0; i < ll; i += (ssize_t)strlen(list + i) + 1) {
		ssize_t vl = lgetxattr(sp, list + i, val, XATTR_VALUE_MAX);

		if (vl < 0)
			return st_errf(negative_errno(), "cannot read xattr '%s' of '%s'", list + i, sname);
		if (lsetxattr(dp, list + i, val, (size_t)vl, 0) < 0 && errno != EPERM && errno != ENOTSUP)
			return st_errf(negative_errno(), "cannot set xattr '%s' of '%s'", list + i, dname);
	}
	return 0;
}

static int copy_data(int sfd, const char *name, int dfd, const char *dname)
{
	_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY | O_NONBLOCK);
	_cleanup_close_ int out = -EBADF;
	char buf[65536];

	if (in < 0)
		return st_errf(negative_errno(), "cannot open '%s'", name);
	out = openat(dfd, dname, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (out < 0)
		return st_errf(negative_errno(), "cannot create '%s'", dname);
	for (;;) {
		ssize_t n = read(in, buf, sizeof(buf));
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return st_errf(negative_errno(), "cannot read '%s'", name);
		if (n == 0)
			return 0;
		r = write_full(out, buf, (size_t)n);
		if (r < 0)
			return st_errf(r, "cannot write '%s'", dname);
	}
}

int etc_copy_local(int sfd, const char *name, const struct stat *st, int dfd, const char *dname)
{
	int r;

	switch (st->st_mode & S_IFMT) {
	case S_IFREG:
		r = copy_data(sfd, name, dfd, dname);
		break;
	case S_IFDIR: {
		_cleanup_close_ int in = openat(sfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		_cleanup_close_ int out = -EBADF;
		struct etc_names names = {};

		if (in < 0)
			return st_errf(negative_errno(), "cannot open '%s'", name);
		if (mkdirat(dfd, dname, 0700) < 0)
			return st_errf(negative_errno(), "cannot create '%s'", dname);
		out = openat(dfd, dname, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOFOLLOW);
		if (out < 0)
			return negative_errno();
		r = etc_names_add_dir(&names, in);
		for (size_t i = 0; r >= 0 && i < names.n; i++) {
			struct stat cst;

			if (fstatat(in, names.v[i], &cst, AT_SYMLINK_NOFOLLOW) < 0) {
				r = st_errf(negative_errno(), "cannot stat '%s'", names.v[i]);
				break;
			}
			r = etc_copy_local(in, names.v[i], &cst, out, names.v[i]);
		}
		etc_names_release(&names);
		break;
	}
	case S_IFLNK: {
		char buf[4097];
		ssize_t l = readlinkat(sfd, name, buf, sizeof(buf) - 1);

		if (l < 0)
			return st_errf(negative_errno(), "cannot read symlink '%s'", name);
		buf[l] = '\0';
		r = symlinkat(buf, dfd, dname) < 0 ? st_errf(negative_errno(), "cannot create '%s'", dname) : 0;
		break;
	}
	default:
		if (mknodat(dfd, dname, st->st_mode & (S_IFMT | 0600), st->st_rdev) < 0)
			return errno == EPERM ? 0 : st_errf(negative_errno(), "cannot create '%s'", dname);
		r = 0;
		break;
	}
	if (r < 0)
		return r;
	return etc_local_meta(sfd, name, st, dfd, dname);
}

int etc_local_meta(int sfd, const char *name, const struct stat *st, int dfd, const char *dname)
{
	int r = copy_xattrs(sfd, name, dfd, dname);

	if (r < 0)
		return r;
	return set_meta(dfd, dname, st->st_mode, st->st_uid, st->st_gid, st->st_mtim.tv_sec,
			(uint32_t)st->st_mtim.tv_nsec);
}
