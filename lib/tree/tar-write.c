/* SPDX-License-Identifier: MIT */
/*
 * st_tar_write_fd(): a tree as a pax archive (libarchive's writer), made so
 * that st_tar_read_fd() of the result gives the same tree back, and the same
 * tree always gives the same bytes:
 *  - members in sorted depth-first order, the root first as "./";
 *  - names and link targets as the bytes the tree holds: UTF-8 as pax
 *    records need it, and if any name is not UTF-8, the whole archive in pax
 *    binary mode (hdrcharset=BINARY), whatever the locale;
 *  - only what the tree holds: numeric uid/gid (no user or group names), the
 *    mtime with nanoseconds, no atime/ctime, xattrs sorted by name as
 *    SCHILY.xattr records (LIBARCHIVE.xattr records in a tree where a name
 *    would need encoding, see xattr_names_plain());
 *  - a hardlink group's first name (in that order) carries the inode, every
 *    other name is a tar hardlink to it.
 * While the write runs, node->scratch of a hardlinked inode holds 1 + the
 * index of its first name in the writer's list.
 */
#include <archive.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "basic/error.h"
#include "sealtree/verity.h"
#include "tar.h"
#include "tar-write-internal.h"

#define COPY_BUF_SIZE (1024u * 1024u)

struct tar_writer {
	struct archive *a;
	struct tar_out out;
	struct archive_entry *e;
	st_tar_open_content_fn open_content;
	void *userdata;
	struct st_verity_hasher *hasher;
	uint8_t *buf;
	char *path;                     /* the current member's name */
	size_t path_len, path_cap;
	char **names;                   /* first names of hardlinked inodes */
	size_t n_names, cap_names;
};

static int write_err(struct tar_writer *w, const char *what)
{
	const char *msg = archive_error_string(w->a);

	return st_errf(-EIO, "cannot write '%s' to the archive: %s: %s", w->path, what, msg ? msg : "failed");
}

static int xattr_cmp(const void *a, const void *b)
{
	const struct st_xattr *const *x = a, *const *y = b;

	return strcmp((*x)->name, (*y)->name);
}

static int add_xattrs(struct tar_writer *w, const struct st_node *n)
{
	_cleanup_free_ const struct st_xattr **sorted = NULL;

	if (n->n_xattrs == 0)
		return 0;
	sorted = new(const struct st_xattr *, n->n_xattrs);
	if (!sorted)
		return -ENOMEM;
	for (size_t i = 0; i < n->n_xattrs; i++)
		sorted[i] = &n->xattrs[i];
	qsort(sorted, n->n_xattrs, sizeof(*sorted), xattr_cmp);
	for (size_t i = 0; i < n->n_xattrs; i++)
		archive_entry_xattr_add_entry(w->e, sorted[i]->name, sorted[i]->value, sorted[i]->value_len);
	return 0;
}

/* Copy a file's object into the archive, checking its size and digest. */
static int copy_contents(struct tar_writer *w, const struct st_node *n)
{
	_cleanup_close_ int fd = -EBADF;
	uint8_t digest[ST_DIGEST_SIZE];
	uint64_t done = 0;
	ssize_t k;
	int r;

	fd = w->open_content(w->userdata, n);
	if (fd < 0)
		return st_errf(fd, "'%s': cannot open its contents: %s", w->path, st_error_message(fd));
	st_verity_hasher_reset(w->hasher);
	while (done < n->size) {
		size_t want = (size_t)MIN((uint64_t)COPY_BUF_SIZE, n->size - done);

		k = pread(fd, w->buf, want, (off_t)done);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return st_errf(negative_errno(), "'%s': cannot read its contents", w->path);
		if (k == 0)
			return st_errf(-EUCLEAN, "'%s': its object holds %" PRIu64 " bytes, not %" PRIu64, w->path,
				       done, n->size);
		r = st_verity_hasher_update(w->hasher, w->buf, (size_t)k);
		if (r < 0)
			return r;
		if (archive_write_data(w->a, w->buf, (size_t)k) != k)
			return write_err(w, "contents");
		done += (size_t)k;
	}
	do
		k = pread(fd, w->buf, 1, (off_t)done);
	while (k < 0 && errno == EINTR);
	if (k != 0)
		return st_errf(k < 0 ? negative_errno() : -EUCLEAN, "'%s': its object is larger than %" PRIu64 " bytes",
			       w->path, n->size);
	r = st_verity_hasher_final(w->hasher, digest);
	if (r < 0)
		return r;
	if (n->has_digest && memcmp(digest, n->digest, ST_DIGEST_SIZE) != 0)
		return st_errf(-EBADMSG, "'%s': its object does not match its digest", w->path);
	return 0;
}

/* libarchive's pax writer refuses sockets: a socket is written as a fifo, its pax header says socket. */
static mode_t archive_mode(const struct st_node *n)
{
	return S_ISSOCK(n->mode) ? S_IFIFO | (n->mode & 07777) : n->mode;
}

static int write_inode(struct tar_writer *w, const struct st_node *n)
{
	struct archive_entry *e = w->e;
	bool sock = S_ISSOCK(n->mode);
	int r;

	archive_entry_set_mode(e, archive_mode(n));
	archive_entry_set_uid(e, n->uid);
	archive_entry_set_gid(e, n->gid);
	archive_entry_set_mtime(e, n->mtime_sec, n->mtime_nsec);
	archive_entry_set_size(e, node_is_reg(n) ? (la_int64_t)n->size : 0);
	if (node_is_lnk(n)) {
		if (!n->payload || !*n->payload)
			return st_errf(-EINVAL, "'%s': symlink without a target", w->path);
		archive_entry_copy_symlink(e, n->payload);
	}
	if (S_ISCHR(n->mode) || S_ISBLK(n->mode)) {
		archive_entry_set_rdevmajor(e, major(n->rdev));
		archive_entry_set_rdevminor(e, minor(n->rdev));
	}
	r = add_xattrs(w, n);
	if (r < 0)
		return r;
	if (sock) {
		/* The previous member's padding goes out first: only this member's headers are captured. */
		if (archive_write_finish_entry(w->a) != ARCHIVE_OK)
			return write_err(w, "header");
		tar_out_capture(&w->out);
	}
	if (archive_write_header(w->a, e) != ARCHIVE_OK)
		return write_err(w, "header");
	if (sock) {
		r = tar_out_release_socket(&w->out);
		if (r < 0)
			return st_errf(r, "cannot write '%s' to the archive: %s", w->path,
				       st_error_detail() ?: st_error_message(r));
	}
	if (!node_is_reg(n) || n->size == 0)
		return 0;
	if (n->content) {
		if (archive_write_data(w->a, n->content, (size_t)n->size) != (la_ssize_t)n->size)
			return write_err(w, "contents");
		return 0;
	}
	return copy_contents(w, n);
}

static int write_member(struct tar_writer *w, struct st_node *c)
{
	struct st_node *real = node_resolve(c);
	char *name;
	int r;

	archive_entry_clear(w->e);
	archive_entry_copy_pathname(w->e, w->path);
	if (real->scratch) {
		/* The inode's metadata again, so that listings show it (readers ignore it). */
		archive_entry_set_mode(w->e, archive_mode(real));
		archive_entry_set_uid(w->e, real->uid);
		archive_entry_set_gid(w->e, real->gid);
		archive_entry_set_mtime(w->e, real->mtime_sec, real->mtime_nsec);
		archive_entry_set_size(w->e, 0);
		archive_entry_copy_hardlink(w->e, w->names[real->scratch - 1]);
		if (archive_write_header(w->a, w->e) != ARCHIVE_OK)
			return write_err(w, "hardlink");
		return 0;
	}
	if (c->link_target || real->nlink > 1) {
		r = GROW(w->names, w->cap_names, w->n_names + 1);
		if (r < 0)
			return r;
		name = strdup(w->path);
		if (!name)
			return -ENOMEM;
		w->names[w->n_names++] = name;
		real->scratch = w->n_names;
	}
	return write_inode(w, real);
}

static int write_dir(struct tar_writer *w, struct st_node *dir, unsigned depth)
{
	size_t base = w->path_len;
	int r;

	if (depth > ST_TAR_DEPTH_MAX)
		return st_errf(-ELOOP, "'%s': directories nested deeper than %d", w->path, ST_TAR_DEPTH_MAX);
	for (size_t i = 0; i < dir->n_children; i++) {
		struct st_node *c = dir->children[i];
		size_t len = strlen(c->name);

		/* The root's children are "name", deeper ones "dir/name". */
		r = GROW(w->path, w->path_cap, base + 1 + len + 1);
		if (r < 0)
			return r;
		w->path_len = base;
		if (base > 0)
			w->path[w->path_len++] = '/';
		memcpy(w->path + w->path_len, c->name, len + 1);
		w->path_len += len;

		r = write_member(w, c);
		if (r >= 0 && node_is_dir(c) && !c->link_target)
			r = write_dir(w, c, depth + 1);
		if (r < 0)
			return r;
	}
	w->path_len = base;
	if (w->path)
		w->path[base] = '\0';
	return 0;
}

static void clear_scratch(struct st_node *n)
{
	n->scratch = 0;
	for (size_t i = 0; i < n->n_children; i++)
		clear_scratch(n->children[i]);
}

/* Whether every name and symlink target is UTF-8 (else the archive is written in binary mode). */
static bool names_utf8(const struct st_node *n)
{
	if (n->name && !st_tar_utf8_valid(n->name, strlen(n->name)))
		return false;
	if (node_is_lnk(n) && !n->link_target && n->payload && !st_tar_utf8_valid(n->payload, strlen(n->payload)))
		return false;
	for (size_t i = 0; i < n->n_children; i++)
		if (!names_utf8(n->children[i]))
			return false;
	return true;
}

/*
 * libarchive's pax writer URL-encodes xattr names (bytes up to ' ', from
 * 0x7f, '%' and '=') in SCHILY.xattr keys too, where readers, libarchive
 * included, take the key literally. Trees with such a name get
 * LIBARCHIVE.xattr records instead, whose names are decoded on reading.
 */
static bool xattr_names_plain(const struct st_node *n)
{
	for (size_t i = 0; i < n->n_xattrs; i++)
		for (const unsigned char *p = (const unsigned char *)n->xattrs[i].name; *p; p++)
			if (*p <= 0x20 || *p >= 0x7f || *p == '%' || *p == '=')
				return false;
	for (size_t i = 0; i < n->n_children; i++)
		if (!xattr_names_plain(n->children[i]))
			return false;
	return true;
}

static int setup(struct tar_writer *w, int fd, bool binary, bool schily)
{
	int r;

	w->a = archive_write_new();
	w->e = archive_entry_new();
	if (!w->a || !w->e)
		return -ENOMEM;
	if (archive_write_set_format_pax(w->a) != ARCHIVE_OK ||
	    archive_write_set_format_option(w->a, "pax", "xattrheader", schily ? "SCHILY" : "LIBARCHIVE") != ARCHIVE_OK ||
	    (binary && archive_write_set_format_option(w->a, "pax", "hdrcharset", "BINARY") != ARCHIVE_OK))
		return st_errf(-EOPNOTSUPP, "libarchive cannot write pax archives: %s", archive_error_string(w->a));
	/* Through our stream: whole 10 KiB records like GNU tar, and sockets (tar-write-out.c). */
	r = tar_out_open(&w->out, w->a, fd);
	if (r < 0)
		return r;
	w->buf = malloc(COPY_BUF_SIZE);
	w->path_cap = 256;
	w->path = malloc(w->path_cap);
	if (!w->buf || !w->path)
		return -ENOMEM;
	return st_verity_hasher_new(&w->hasher);
}

int st_tar_write_fd(int fd, struct st_node *root, st_tar_open_content_fn open_content, void *userdata)
{
	struct tar_writer w = { .open_content = open_content, .userdata = userdata };
	struct st_tar_locale loc;
	int r;

	if (fd < 0 || !root || !open_content)
		return -EINVAL;
	if (!node_is_dir(root) || root->link_target)
		return st_errf(-ENOTDIR, "the root of a tree must be a directory");
	clear_scratch(root);
	st_tar_locale_enter(&loc);
	r = setup(&w, fd, !loc.utf8 || !names_utf8(root), xattr_names_plain(root));
	if (r >= 0) {
		/* The root: its own member, so that its metadata travels too. */
		memcpy(w.path, "./", 3);
		w.path_len = 2;
		archive_entry_clear(w.e);
		archive_entry_copy_pathname(w.e, "./");
		r = write_inode(&w, root);
		w.path_len = 0;
		w.path[0] = '\0';
	}
	if (r >= 0)
		r = write_dir(&w, root, 1);
	if (r >= 0 && archive_write_close(w.a) != ARCHIVE_OK)
		r = st_errf(-EIO, "cannot finish the archive: %s", archive_error_string(w.a));
	if (r >= 0) {
		r = tar_out_finish(&w.out);
		if (r < 0)
			r = st_errf(r, "cannot write the archive");
	}
	clear_scratch(root);
	if (w.a)
		archive_write_free(w.a);
	archive_entry_free(w.e);
	st_verity_hasher_free(w.hasher);
	tar_out_free(&w.out);
	free(w.buf);
	free(w.path);
	for (size_t i = 0; i < w.n_names; i++)
		free(w.names[i]);
	free(w.names);
	st_tar_locale_leave(&loc);
	return r;
}
