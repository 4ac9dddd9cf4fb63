/* SPDX-License-Identifier: MIT */
/*
 * Checkout: write a tree out as a real directory tree.
 *
 * Three passes over a directory built under a temporary name beside dest:
 *  1. create every directory (0700 for now) and every other inode with its
 *     contents and metadata (owner, xattrs, then mode so that chown does not
 *     clear setuid, then mtime);
 *  2. link the hardlink aliases (their targets all exist by now);
 *  3. restore the directories' metadata bottom up, since creating entries
 *     changes a directory's mtime and a read-only directory takes no entries.
 * Then one rename publishes the whole tree; any failure removes it.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stddef.h>
#include <fcntl.h>
#include <linux/fs.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "basic/dirent-util.h"
#include "basic/beneath.h"
#include "basic/error.h"
#include "basic/hex.h"
#include "basic/io.h"
#include "basic/macro.h"
#include "repo-internal.h"
#include "sealtree/repo-read.h"
#include "sealtree/verity.h"
#include "tree/tree-internal.h"

enum copy_method { COPY_CLONE, COPY_RANGE, COPY_RW };

struct checkout {
	int objects_fd;
	int root_fd;                    /* the temporary top directory */
	bool privileged;                /* restore owners, devices and every xattr namespace */
	enum copy_method method;        /* the best one that has worked so far */
	struct st_checkout_options *o;
	struct st_node **aliases;       /* pass 2 */
	size_t n_aliases, cap_aliases;
	uint8_t *buf;                   /* read/write fallback, and userspace digests */
	struct st_verity_hasher *hasher;        /* unless ST_CHECKOUT_NO_VERIFY */
	bool no_measure;                /* the kernel has no fs-verity measurement here */
};

#define COPY_BUF_SIZE (1u << 20)

/* A path for messages; never fails (falls back to the name). */
static const char *where(const struct st_node *n, char **storage)
{
	if (node_get_path(n, storage) < 0)
		return n->name ? n->name : "/";
	return *storage;
}

static int open_object(struct checkout *c, const struct st_node *n, char **ret_rel)
{
	_cleanup_free_ char *rel = NULL, *p = NULL;
	char hex[2 * ST_DIGEST_SIZE + 1];
	int fd;

	if (n->has_digest) {
		st_hex_encode(n->digest, ST_DIGEST_SIZE, hex);
		if (asprintf(&rel, "%.2s/%s", hex, hex + 2) < 0)
			return -ENOMEM;
	} else if (n->payload && n->payload[0] != '/' && !strstr(n->payload, "..")) {
		rel = strdup(n->payload);
		if (!rel)
			return -ENOMEM;
	} else
		return st_errf(-EUCLEAN, "'%s': regular file with neither contents nor an object", where(n, &p));
	fd = openat_beneath(c->objects_fd, rel, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
	if (fd == -ENOENT)
		return st_errf(fd, "object %s (for '%s') is missing", rel, where(n, &p));
	if (fd < 0) {
		int r = open_file_failed(fd, c->objects_fd, rel, true);
		return st_errf(r, "object for '%s': %s", where(n, &p), st_error_detail());
	} else {
		int r = fd_check_regular(fd, rel);
		if (r < 0) {
			safe_close(fd);
			return st_errf(r, "object for '%s': %s", where(n, &p), st_error_detail());
		}
	}
	*ret_rel = TAKE_PTR(rel);
	return fd;
}

static int get_buf(struct checkout *c)
{
	if (!c->buf) {
		c->buf = malloc(COPY_BUF_SIZE);
		if (!c->buf)
			return -ENOMEM;
	}
	return 0;
}

/* The kernel's measurement of the object; -ENODATA where it has none. */
static int measure_by_kernel(struct checkout *c, int src, uint8_t got[ST_DIGEST_SIZE])
{
	int r;

	if (c->no_measure)
		return -ENODATA;
	r = st_verity_measure_fd(src, got);
	if (r >= 0)
		return 0;
	if (r == -EOPNOTSUPP || r == -ENOTTY)
		c->no_measure = true;
	else if (r != -ENODATA && r != -EUCLEAN)
		return r;
	return -ENODATA;
}

/* The object's digest: the kernel's measurement where it has one (free), else hashed in userspace. */
static int measure_object(struct checkout *c, int src, uint8_t got[ST_DIGEST_SIZE])
{
	int r = measure_by_kernel(c, src, got);

	if (r != -ENODATA)
		return r;
	r = get_buf(c);
	if (r < 0)
		return r;
	return st_verity_hasher_digest_fd(c->hasher, src, c->buf, COPY_BUF_SIZE, got);
}

/*
 * Copy size bytes from src to dst: clone, else copy_file_range, else
 * read/write. With want, the contents must have that fs-verity digest
 * (otherwise -EBADMSG, *ret_mismatch set and the digest found in got): src
 * is measured before a clone, and before a copy_file_range when the kernel
 * has its measurement; otherwise the bytes are read once, hashed on the way
 * through (hashing first and then copy_file_range would read them twice).
 */
static int copy_contents(struct checkout *c, int src, int dst, uint64_t size, const uint8_t *want,
			 uint8_t got[ST_DIGEST_SIZE], bool *ret_mismatch)
{
	enum copy_method method = c->method;
	uint64_t done = 0;
	bool hash_copy = want;
	int r;

	if (want && method != COPY_RW) {
		r = method == COPY_CLONE ? measure_object(c, src, got) : measure_by_kernel(c, src, got);
		if (r == -ENODATA)
			method = COPY_RW;       /* this file only: copy_file_range still serves measured ones */
		else if (r < 0)
			return r;
		else if (memcmp(got, want, ST_DIGEST_SIZE) != 0)
			return *ret_mismatch = true, -EBADMSG;
		else
			hash_copy = false;
	}
	if (method == COPY_CLONE) {
		if (ioctl(dst, FICLONE, src) == 0) {
			c->o->reflinked++;
			return 0;
		}
		if (errno != EOPNOTSUPP && errno != EXDEV && errno != EINVAL && errno != ENOTTY && errno != EPERM)
			return negative_errno();
		method = c->method = COPY_RANGE;
	}
	if (method == COPY_RANGE) {
		while (done < size) {
			ssize_t n = copy_file_range(src, NULL, dst, NULL, MIN(size - done, (uint64_t)1 << 30), 0);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0 && done == 0 &&
			    (errno == EXDEV || errno == EOPNOTSUPP || errno == ENOSYS || errno == EINVAL)) {
				method = c->method = COPY_RW;
				break;
			}
			if (n < 0)
				return negative_errno();
			if (n == 0)
				return -EUCLEAN;        /* shorter than it said */
			done += (uint64_t)n;
		}
		if (method == COPY_RANGE)
			return 0;
	}
	r = get_buf(c);
	if (r < 0)
		return r;
	if (hash_copy)
		st_verity_hasher_reset(c->hasher);
	while (done < size) {
		ssize_t n = pread(src, c->buf, MIN(size - done, (uint64_t)COPY_BUF_SIZE), (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return negative_errno();
		if (n == 0)
			return -EUCLEAN;
		if (hash_copy) {
			r = st_verity_hasher_update(c->hasher, c->buf, (size_t)n);
			if (r < 0)
				return r;
		}
		r = write_full(dst, c->buf, (size_t)n);
		if (r < 0)
			return r;
		done += (uint64_t)n;
	}
	if (hash_copy) {
		r = st_verity_hasher_final(c->hasher, got);
		if (r < 0)
			return r;
		if (memcmp(got, want, ST_DIGEST_SIZE) != 0)
			return *ret_mismatch = true, -EBADMSG;
	}
	return 0;
}

static int write_file(struct checkout *c, const struct st_node *n, int fd)
{
	_cleanup_free_ char *rel = NULL, *p = NULL;
	_cleanup_close_ int src = -EBADF;
	uint8_t got[ST_DIGEST_SIZE];
	bool mismatch = false;
	struct stat st;
	int r;

	if (n->size == 0)
		return 0;
	if (n->content) {
		r = write_full(fd, n->content, n->size);
		if (r < 0)
			return st_errf(r, "writing '%s'", where(n, &p));
		c->o->bytes += n->size;
		return 0;
	}
	src = open_object(c, n, &rel);
	if (src < 0)
		return src;
	if (fstat(src, &st) < 0)
		return negative_errno();
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != n->size)
		return st_errf(-EUCLEAN, "object %s (for '%s') has %jd bytes, the tree says %" PRIu64, rel,
			       where(n, &p), (intmax_t)st.st_size, n->size);
	r = copy_contents(c, src, fd, n->size, c->hasher && n->has_digest ? n->digest : NULL, got, &mismatch);
	if (mismatch) {
		char hex[2 * ST_DIGEST_SIZE + 1];

		st_hex_encode(got, ST_DIGEST_SIZE, hex);
		return st_errf(r, "object %s (for '%s') is corrupt: its fs-verity digest is %s", rel, where(n, &p), hex);
	}
	if (r < 0)
		return st_errf(r, "copying object %s to '%s'", rel, where(n, &p));
	c->o->bytes += n->size;
	return 0;
}

/*
 * Restore owner and xattrs on an inode: by fd when there is one, else by
 * name under dfd (through /proc, which also reaches symlinks and fifos).
 */
static int restore_owner_xattrs(struct checkout *c, const struct st_node *n, int fd, int dfd, const char *name)
{
	_cleanup_free_ char *p = NULL;
	char proc[64 + ST_NAME_MAX];
	int r;

	if (fd < 0)
		(void)snprintf(proc, sizeof(proc), "/proc/self/fd/%d/%s", dfd, name);
	if (c->privileged) {
		r = fd >= 0 ? fchown(fd, n->uid, n->gid) : fchownat(dfd, name, n->uid, n->gid, AT_SYMLINK_NOFOLLOW);
		if (r < 0)
			return st_errf(negative_errno(), "chown '%s'", where(n, &p));
	} else if (n->uid != geteuid() || n->gid != getegid())
		c->o->owners_skipped++;

	for (size_t i = 0; i < n->n_xattrs; i++) {
		const struct st_xattr *x = &n->xattrs[i];

		if (!c->privileged && strncmp(x->name, "user.", 5) != 0) {
			c->o->xattrs_skipped++;
			continue;
		}
		r = fd >= 0 ? fsetxattr(fd, x->name, x->value, x->value_len, 0)
			    : lsetxattr(proc, x->name, x->value, x->value_len, 0);
		if (r < 0) {
			r = negative_errno();
			/* user.* xattrs exist on files and directories only. */
			if (!c->privileged && (r == -EPERM || r == -EACCES)) {
				c->o->xattrs_skipped++;
				continue;
			}
			return st_errf(r, "setting xattr '%s' on '%s'", x->name, where(n, &p));
		}
	}
	return 0;
}

static int restore_mode_mtime(const struct st_node *n, int fd, int dfd, const char *name)
{
	_cleanup_free_ char *p = NULL;
	struct timespec ts[2] = {
		{ .tv_sec = n->mtime_sec, .tv_nsec = n->mtime_nsec },
		{ .tv_sec = n->mtime_sec, .tv_nsec = n->mtime_nsec },
	};

	if (!S_ISLNK(n->mode)) {
		int r = fd >= 0 ? fchmod(fd, n->mode & 07777) : fchmodat(dfd, name, n->mode & 07777, 0);
		if (r < 0)
			return st_errf(negative_errno(), "chmod '%s'", where(n, &p));
	}
	if ((fd >= 0 ? futimens(fd, ts) : utimensat(dfd, name, ts, AT_SYMLINK_NOFOLLOW)) < 0)
		return st_errf(negative_errno(), "setting the mtime of '%s'", where(n, &p));
	return 0;
}

static bool is_device(const struct st_node *n)
{
	return S_ISCHR(n->mode) || S_ISBLK(n->mode);
}

/* Pass 1 for one non-directory entry. */
static int create_leaf(struct checkout *c, const struct st_node *n, int dfd)
{
	_cleanup_free_ char *p = NULL;
	_cleanup_close_ int fd = -EBADF;
	int r;

	if (S_ISREG(n->mode)) {
		fd = openat(dfd, n->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
		if (fd < 0)
			return st_errf(negative_errno(), "creating '%s'", where(n, &p));
		r = write_file(c, n, fd);
		if (r < 0)
			return r;
		c->o->files++;
	} else if (S_ISLNK(n->mode)) {
		if (symlinkat(n->payload ? n->payload : "", dfd, n->name) < 0)
			return st_errf(negative_errno(), "creating symlink '%s'", where(n, &p));
		c->o->symlinks++;
	} else if (is_device(n) && !c->privileged) {
		c->o->devices_skipped++;
		return 0;
	} else if (S_ISFIFO(n->mode) || S_ISSOCK(n->mode) || is_device(n)) {
		if (mknodat(dfd, n->name, (n->mode & S_IFMT) | 0600, (dev_t)n->rdev) < 0)
			return st_errf(negative_errno(), "creating '%s'", where(n, &p));
		c->o->specials++;
	} else
		return st_errf(-EUCLEAN, "'%s': unknown file type %o", where(n, &p), n->mode & S_IFMT);

	r = restore_owner_xattrs(c, n, fd, dfd, n->name);
	if (r < 0)
		return r;
	return restore_mode_mtime(n, fd, dfd, n->name);
}

static int open_subdir(int dfd, const struct st_node *n)
{
	_cleanup_free_ char *p = NULL;
	int fd = openat(dfd, n->name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);

	if (fd < 0)
		return st_errf(negative_errno(), "opening directory '%s'", where(n, &p));
	return fd;
}

/* Pass 1: the contents of directory node d into dfd. */
static int create_children(struct checkout *c, const struct st_node *d, int dfd)
{
	int r;

	for (size_t i = 0; i < d->n_children; i++) {
		struct st_node *n = d->children[i];
		_cleanup_free_ char *p = NULL;
		_cleanup_close_ int sub = -EBADF;

		if (n->link_target) {
			if (GROW(c->aliases, c->cap_aliases, c->n_aliases + 1) < 0)
				return -ENOMEM;
			c->aliases[c->n_aliases++] = n;
			continue;
		}
		if (!S_ISDIR(n->mode)) {
			r = create_leaf(c, n, dfd);
			if (r < 0)
				return r;
			continue;
		}
		if (mkdirat(dfd, n->name, 0700) < 0)
			return st_errf(negative_errno(), "creating directory '%s'", where(n, &p));
		c->o->dirs++;
		sub = open_subdir(dfd, n);
		if (sub < 0)
			return sub;
		r = create_children(c, n, sub);
		if (r < 0)
			return r;
	}
	return 0;
}

/* Pass 2: hardlinks, relative to the top directory. */
static int create_aliases(struct checkout *c)
{
	for (size_t i = 0; i < c->n_aliases; i++) {
		const struct st_node *a = c->aliases[i], *t = a->link_target;
		_cleanup_free_ char *tp = NULL, *ap = NULL;
		int r;

		if (is_device(t) && !c->privileged) {
			c->o->devices_skipped++;
			continue;
		}
		r = node_get_path(t, &tp);
		if (r >= 0)
			r = node_get_path(a, &ap);
		if (r < 0)
			return r;
		if (linkat(c->root_fd, tp + 1, c->root_fd, ap + 1, 0) < 0)
			return st_errf(negative_errno(), "linking '%s' to '%s'", ap, tp);
		c->o->hardlinks++;
	}
	return 0;
}

/* Pass 3: directory metadata, children first. */
static int finish_dirs(struct checkout *c, const struct st_node *d, int dfd)
{
	int r;

	for (size_t i = 0; i < d->n_children; i++) {
		const struct st_node *n = d->children[i];
		_cleanup_close_ int sub = -EBADF;

		if (n->link_target || !S_ISDIR(n->mode))
			continue;
		sub = open_subdir(dfd, n);
		if (sub < 0)
			return sub;
		r = finish_dirs(c, n, sub);
		if (r < 0)
			return r;
	}
	r = restore_owner_xattrs(c, d, dfd, -EBADF, NULL);
	if (r < 0)
		return r;
	return restore_mode_mtime(d, dfd, -EBADF, NULL);
}

/*
 * Remove name under top_fd and everything below it, making directories
 * writable first. Holds at most three fds whatever the depth (it walks down
 * and back up through ".."), so it also cleans up after a checkout that ran
 * out of fds. Gives up quietly on the first directory it cannot remove.
 */
static void remove_tree(int top_fd, const char *top_name)
{
	char **stack = NULL;            /* names from top_name's children down to the current directory */
	size_t n = 0, cap = 0;
	int fd;

	if (unlinkat(top_fd, top_name, 0) == 0 || errno == ENOENT)
		return;
	(void)fchmodat(top_fd, top_name, 0700, 0);
	fd = openat(top_fd, top_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	while (fd >= 0) {
		char *sub = NULL;
		struct dirent *de;
		DIR *dir;

		if (opendir_fd(fd, &dir) < 0)
			break;
		/* Everything but directories goes now; remember one directory to descend into. */
		while (readdir_next(dir, &de) > 0)
			if (unlinkat(fd, de->d_name, 0) < 0 && errno == EISDIR && !sub)
				sub = strdup(de->d_name);
		closedir(dir);
		if (sub) {
			int sub_fd;

			(void)fchmodat(fd, sub, 0700, 0);
			sub_fd = openat(fd, sub, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
			if (sub_fd < 0 || GROW(stack, cap, n + 1) < 0) {
				safe_close(sub_fd);
				free(sub);
				break;
			}
			stack[n++] = sub;
			safe_close(fd);
			fd = sub_fd;
			continue;
		}
		/* Empty: remove it from its parent and go on there. */
		if (n == 0) {
			fd = safe_close(fd);
			(void)unlinkat(top_fd, top_name, AT_REMOVEDIR);
			break;
		}
		int up = openat(fd, "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		safe_close(fd);
		fd = up;
		if (fd < 0 || unlinkat(fd, stack[n - 1], AT_REMOVEDIR) < 0)
			break;
		free(stack[--n]);
	}
	safe_close(fd);
	while (n > 0)
		free(stack[--n]);
	free(stack);
}

/* dest's parent (opened) and last component. */
static int split_dest(const char *dest, int *ret_parent_fd, char **ret_base)
{
	_cleanup_free_ char *copy = strdup(dest);
	char *slash, *base;
	size_t l;
	int fd;

	if (!copy)
		return -ENOMEM;
	l = strlen(copy);
	while (l > 1 && copy[l - 1] == '/')
		copy[--l] = '\0';
	slash = strrchr(copy, '/');
	if (!slash) {
		base = copy;
		fd = open(".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	} else {
		base = slash + 1;
		*slash = '\0';
		fd = open(slash == copy ? "/" : copy, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (fd < 0)
		return st_errf(negative_errno(), "cannot open the parent directory of '%s'", dest);
	if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
		safe_close(fd);
		return st_errf(-EINVAL, "'%s' does not name a new directory", dest);
	}
	*ret_base = strdup(base);
	if (!*ret_base) {
		safe_close(fd);
		return -ENOMEM;
	}
	*ret_parent_fd = fd;
	return 0;
}

/* Refuse anything at dest but nothing or (if allowed) an empty directory. */
static int check_dest(int parent_fd, const char *base, const char *dest, bool allow_empty)
{
	_cleanup_closedir_ DIR *dir = NULL;
	struct stat st;
	struct dirent *de;
	int r;

	if (fstatat(parent_fd, base, &st, AT_SYMLINK_NOFOLLOW) < 0)
		return errno == ENOENT ? 0 : st_errf(negative_errno(), "'%s'", dest);
	if (!allow_empty || !S_ISDIR(st.st_mode))
		return st_errf(-EEXIST, "'%s' exists", dest);
	r = opendir_beneath(parent_fd, base, &dir);
	if (r >= 0)
		r = readdir_next(dir, &de);
	if (r < 0)
		return st_errf(r, "'%s'", dest);
	return r == 0 ? 0 : st_errf(-ENOTEMPTY, "'%s' is not empty", dest);
}

int st_tree_checkout(struct st_node *root, int objects_dirfd, const char *dest, struct st_checkout_options *opts)
{
	struct st_checkout_options local = {};
	struct checkout c = { .objects_fd = objects_dirfd, .root_fd = -EBADF };
	_cleanup_free_ char *base = NULL;
	_cleanup_close_ int parent_fd = -EBADF;
	char tmp[ST_NAME_MAX + 32];
	int r;

	if (!opts)
		opts = &local;
	if (!root || !S_ISDIR(root->mode) || !dest ||
	    (opts->flags & ~(unsigned)(ST_CHECKOUT_NO_REFLINK | ST_CHECKOUT_NO_OWNERSHIP | ST_CHECKOUT_ALLOW_EMPTY |
				     ST_CHECKOUT_NO_VERIFY)))
		return -EINVAL;
	for (size_t i = 0; i < ELEMENTSOF(opts->reserved); i++)
		if (opts->reserved[i])
			return -EINVAL;
	memset(&opts->files, 0, offsetof(struct st_checkout_options, reserved) - offsetof(struct st_checkout_options, files));
	c.o = opts;
	c.privileged = geteuid() == 0 && !(opts->flags & ST_CHECKOUT_NO_OWNERSHIP);
	c.method = (opts->flags & ST_CHECKOUT_NO_REFLINK) ? COPY_RANGE : COPY_CLONE;

	r = split_dest(dest, &parent_fd, &base);
	if (r < 0)
		return r;
	r = check_dest(parent_fd, base, dest, opts->flags & ST_CHECKOUT_ALLOW_EMPTY);
	if (r < 0)
		return r;
	for (unsigned attempt = 0;; attempt++) {
		(void)snprintf(tmp, sizeof(tmp), ".%.*s.checkout-%08x", (int)MIN(strlen(base), (size_t)200), base,
			       (unsigned)(random() ^ (unsigned)getpid()));
		if (mkdirat(parent_fd, tmp, 0700) == 0)
			break;
		if (errno != EEXIST || attempt > 100)
			return st_errf(negative_errno(), "cannot create a temporary directory beside '%s'", dest);
	}
	c.root_fd = openat(parent_fd, tmp, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (c.root_fd < 0) {
		r = negative_errno();
		goto fail;
	}
	if (!(opts->flags & ST_CHECKOUT_NO_VERIFY)) {
		r = st_verity_hasher_new(&c.hasher);
		if (r < 0)
			goto fail;
	}
	opts->dirs++;
	r = create_children(&c, root, c.root_fd);
	if (r >= 0)
		r = create_aliases(&c);
	if (r >= 0)
		r = finish_dirs(&c, root, c.root_fd);
	if (r < 0)
		goto fail;
	/* Over an empty directory, or to a name that must still be free. */
	if (renameat2(parent_fd, tmp, parent_fd, base, (opts->flags & ST_CHECKOUT_ALLOW_EMPTY) ? 0 : RENAME_NOREPLACE) < 0) {
		r = st_errf(negative_errno(), "cannot rename the checkout to '%s'", dest);
		goto fail;
	}
	safe_close(c.root_fd);
	free(c.aliases);
	free(c.buf);
	st_verity_hasher_free(c.hasher);
	return 0;

fail:
	safe_close(c.root_fd);
	remove_tree(parent_fd, tmp);
	free(c.aliases);
	free(c.buf);
	st_verity_hasher_free(c.hasher);
	return r;
}

int st_repo_checkout(struct st_repo *repo, struct st_node *root, const char *dest, struct st_checkout_options *opts)
{
	return st_tree_checkout(root, repo->objects_fd, dest, opts);
}
