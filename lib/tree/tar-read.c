/* SPDX-License-Identifier: MIT */
/*
 * st_tar_read_fd(): a tar stream into a tree, file contents into a digest
 * store. The rules are in docs/formats/tar-import.md; the goal is the tree
 * st_scan_directory(ST_SCAN_HARDLINKS) builds from the extracted archive.
 *
 * libarchive decodes the headers and decompresses; everything it hands us is
 * still untrusted: names are split and checked here, sizes are checked
 * against the bytes actually delivered, and no member may replace another.
 *
 * While the tree is built, node->scratch holds NODE_EXPLICIT for a directory
 * a member described (as opposed to a parent created for a deeper name).
 */
#include <archive.h>
#include <archive_entry.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "basic/error.h"
#include "fundamental/cpus.h"
#include "scan-internal.h"
#include "sealtree/verity.h"
#include "tar-headers.h"
#include "tar-reader-internal.h"
#include "tar-split.h"
#include "tar-store.h"

/* Remember a printable form of a member name for error messages. */
void tar_set_member(struct tar_reader *t, const char *path)
{
	size_t o = 0;

	if (!path)
		path = "";
	for (const char *p = path; *p && o + 4 < sizeof(t->member); p++)
		t->member[o++] = (unsigned char)*p < 0x20 || *p == 0x7f ? '?' : *p;
	if (strlen(path) >= sizeof(t->member) - 4 && o + 4 >= sizeof(t->member)) {
		memcpy(t->member + o, "...", 3);
		o += 3;
	}
	t->member[o] = '\0';
}

int tar_archive_err(struct tar_reader *t, int r, const char *what)
{
	const char *msg = archive_error_string(t->a);

	if (t->in.error)
		return tar_input_err(t, r);
	if (t->in.eof && t->member[0])
		return member_err(t, -EUCLEAN, "%s: the archive ends inside this member (cut short)", what);

	if (t->member[0])
		return member_err(t, r, "%s: %s", what, msg ? msg : "libarchive failed");
	return st_errf(r, "tar: %s: %s", what, msg ? msg : "libarchive failed");
}

/* A failure of the digest store (whose detail names the object), attributed to the member. */
int tar_store_err(struct tar_reader *t, int r)
{
	char why[512];

	snprintf(why, sizeof(why), "%s", st_error_detail() ?: "digest store failed");
	return member_err(t, r, "%s", why);
}

/* A libarchive result: WARN is only accepted for names it could not convert (the raw bytes are kept). */
static bool warning_acceptable(struct tar_reader *t)
{
	const char *msg = archive_error_string(t->a);

	return msg && strstr(msg, "can't be converted");
}

static int new_node(struct tar_reader *t, struct st_node *parent, const char *name, size_t len,
		    struct st_node **ret)
{
	struct st_node *n;
	int r;

	if (t->n_entries >= t->max_entries)
		return member_err(t, -EINVAL, "more than %" PRIu64 " entries in the archive", t->max_entries);
	r = st_node_new(&n);
	if (r < 0)
		return r;
	r = node_add_child(parent, n, name, len);
	if (r < 0) {
		st_node_free(n);
		return member_err(t, r, "cannot add '%.*s' to the tree", (int)len, name);
	}
	t->n_entries++;
	*ret = n;
	return 0;
}

/*
 * Split a member or link name. Returns in *ret_parent the directory that
 * holds its last component (*ret_name, *ret_len), or *ret_name == NULL for the
 * root ("." or "./"). With create, missing parents become implicit
 * directories; without, a missing parent is -ENOENT.
 */
static int walk_path(struct tar_reader *t, const char *path, const char *what, bool create,
		     struct st_node **ret_parent, const char **ret_name, size_t *ret_len)
{
	struct st_node *dir = t->root;
	const char *pending = NULL, *p = path;
	size_t pending_len = 0;
	unsigned depth = 0;
	int r;

	if (!path || !*path)
		return member_err(t, -EINVAL, "empty %s", what);
	if (*path == '/')
		return member_err(t, -EINVAL, "absolute %s '%s' (members must be relative to the root)", what, path);

	for (;;) {
		const char *slash;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		slash = strchr(p, '/');
		len = slash ? (size_t)(slash - p) : strlen(p);
		if (len == 1 && p[0] == '.') {
			p += len;
			continue;
		}
		if (len == 2 && p[0] == '.' && p[1] == '.')
			return member_err(t, -EINVAL, "'..' in the %s", what);
		if (len > ST_NAME_MAX)
			return member_err(t, -EINVAL, "a component of the %s is longer than %d bytes", what, ST_NAME_MAX);
		if (++depth > ST_TAR_DEPTH_MAX)
			return member_err(t, -EINVAL, "more than %d components in the %s", ST_TAR_DEPTH_MAX, what);

		if (pending) {
			struct st_node *c = node_lookup_child(dir, pending, pending_len);

			if (!c) {
				if (!create)
					return member_err(t, -ENOENT, "no directory '%.*s' before it",
							  (int)pending_len, pending);
				r = new_node(t, dir, pending, pending_len, &c);
				if (r < 0)
					return r;
				c->mode = IMPLICIT_DIR_MODE;
			} else if (c->link_target || !node_is_dir(c))
				return member_err(t, -EINVAL, "'%.*s' in the %s is not a directory",
						  (int)pending_len, pending, what);
			dir = c;
		}
		pending = p;
		pending_len = len;
		p += len;
	}
	*ret_parent = dir;
	*ret_name = pending;
	*ret_len = pending_len;
	return 0;
}

static int set_metadata(struct tar_reader *t, struct st_node *n, struct archive_entry *e)
{
	la_int64_t uid = archive_entry_uid(e), gid = archive_entry_gid(e);
	long nsec = archive_entry_mtime_is_set(e) ? archive_entry_mtime_nsec(e) : 0;

	if (uid < 0 || uid > UINT32_MAX || gid < 0 || gid > UINT32_MAX)
		return member_err(t, -EINVAL, "owner %" PRId64 ":%" PRId64 " out of range", (int64_t)uid, (int64_t)gid);
	if (nsec < 0 || nsec >= 1000000000L)
		return member_err(t, -EUCLEAN, "bad mtime nanoseconds %ld", nsec);
	n->mode = (uint32_t)archive_entry_filetype(e) | ((uint32_t)archive_entry_perm(e) & 07777);
	n->uid = (uint32_t)uid;
	n->gid = (uint32_t)gid;
	n->mtime_sec = archive_entry_mtime_is_set(e) ? (int64_t)archive_entry_mtime(e) : 0;
	n->mtime_nsec = (uint32_t)nsec;
	return 0;
}

static int set_xattrs(struct tar_reader *t, struct st_node *n, struct archive_entry *e)
{
	const char *name;
	const void *value;
	size_t size;
	int r;

	if (t->skip_xattrs || archive_entry_xattr_reset(e) == 0)
		return 0;
	while (archive_entry_xattr_next(e, &name, &value, &size) == ARCHIVE_OK) {
		const struct st_xattr *old, *shared;
		size_t len = name ? strlen(name) : 0;

		if (len == 0 || len > ST_XATTR_NAME_MAX)
			return member_err(t, -EINVAL, "xattr name of %zu bytes (1..%d allowed)", len, ST_XATTR_NAME_MAX);
		if (size > ST_XATTR_VALUE_MAX)
			return member_err(t, -EINVAL, "xattr '%s' of %zu bytes (at most %d)", name, size,
					  ST_XATTR_VALUE_MAX);
		if (!value)
			value = "";
		old = node_get_xattr(n, name);
		if (old) {
			/* libarchive's own writer records each xattr twice (SCHILY and LIBARCHIVE). */
			if (old->value_len == size && memcmp(old->value, value, size) == 0)
				continue;
			return member_err(t, -EINVAL, "xattr '%s' given twice with different values", name);
		}
		r = tar_xattrs_intern(&t->xattrs, name, len, value, size, &shared);
		if (r == -EFBIG)
			return tar_input_err(t, r);
		if (r >= 0)
			r = node_append_xattr_shared(n, shared);
		if (r == -ERANGE)
			return member_err(t, -EINVAL, "xattrs over the composefs limit of %d bytes per file",
					  ST_XATTR_BUDGET_MAX);
		if (r < 0)
			return member_err(t, r, "cannot keep xattr '%s'", name);
	}
	return 0;
}

static int read_symlink(struct tar_reader *t, struct st_node *n, struct archive_entry *e)
{
	const char *target = archive_entry_symlink(e);
	size_t len = target ? strlen(target) : 0;
	int r;

	if (len == 0 || len > ST_SYMLINK_MAX)
		return member_err(t, -EINVAL, "symlink target of %zu bytes (1..%d allowed)", len, ST_SYMLINK_MAX);
	r = node_set_payload(n, target, len);
	if (r < 0)
		return r;
	n->size = len;
	return 0;
}

/* A hardlink to a name not in the archive: an empty file the caller resolves (opts->outside_link). */
static int add_outside_link(struct tar_reader *t, struct st_node *parent, const char *name, size_t len,
			    const char *link)
{
	struct st_node *n;
	int r;

	st_error_clear();
	/* The whole target checked as a name (walk_path stopped at the first missing component). */
	for (const char *p = link; *p;) {
		size_t k = strcspn(p, "/");

		if (k == 2 && p[0] == '.' && p[1] == '.')
			return member_err(t, -EINVAL, "'..' in the hardlink target '%s'", link);
		if (k > ST_NAME_MAX)
			return member_err(t, -EINVAL, "a component of the hardlink target is longer than %d bytes",
					  ST_NAME_MAX);
		p += k;
		while (*p == '/')
			p++;
	}
	r = new_node(t, parent, name, len, &n);
	if (r < 0)
		return r;
	n->mode = S_IFREG | 0644;
	n->nlink = 1;
	r = t->opts->outside_link(t->opts->outside_link_userdata, n, link);
	if (r < 0)
		return member_err(t, r, "cannot keep its hardlink to '%s'", link);
	return 0;
}

static int add_hardlink(struct tar_reader *t, struct st_node *parent, const char *name, size_t len,
			const char *link)
{
	struct st_node *tparent, *target, *alias;
	const char *tname;
	size_t tlen;
	int r;

	r = walk_path(t, link, "hardlink target", false, &tparent, &tname, &tlen);
	if (r < 0 && r != -ENOENT)
		return r;
	target = r < 0 ? NULL : tname ? node_lookup_child(tparent, tname, tlen) : t->root;
	if (!target && t->opts && t->opts->outside_link)
		return add_outside_link(t, parent, name, len, link);
	if (!target)
		return member_err(t, -EINVAL, "hardlink to '%s', which no earlier member is", link);
	target = node_resolve(target);
	if (node_is_dir(target))
		return member_err(t, -EINVAL, "hardlink to the directory '%s'", link);
	if (target->nlink == UINT32_MAX)
		return member_err(t, -EINVAL, "too many hardlinks to '%s'", link);
	r = new_node(t, parent, name, len, &alias);
	if (r < 0)
		return r;
	r = node_set_link_target(alias, target);
	if (r < 0)
		return member_err(t, r, "cannot link to '%s'", link);
	target->nlink++;
	return 0;
}

/* Device numbers as the image stores them (12 bits of major, 20 of minor): never truncated. */
static int set_rdev(struct tar_reader *t, struct st_node *n, struct archive_entry *e)
{
	uint64_t maj = (uint64_t)archive_entry_rdevmajor(e), min = (uint64_t)archive_entry_rdevminor(e);

	if (maj > 0xfff || min > 0xfffff)
		return member_err(t, -EINVAL, "device number %" PRIu64 ":%" PRIu64 " does not fit (major at most "
				  "4095, minor at most 1048575)", maj, min);
	n->rdev = makedev((unsigned)maj, (unsigned)min);
	return 0;
}

/*
 * Before a byte of a file is written: its declared size (holes of a sparse
 * file included, as they are hashed) within --max-size and within what the
 * store's filesystem has free. A 10 KiB archive may declare a terabyte.
 */
static int check_size_budget(struct tar_reader *t, uint64_t size)
{
	uint64_t free_bytes;
	int r;

	if (t->opts && t->opts->max_file_size && size > t->opts->max_file_size)
		return member_err(t, -EFBIG, "declares %" PRIu64 " bytes, over the limit of %" PRIu64 " bytes per file",
				  size, t->opts->max_file_size);
	if (!t->store || size <= TAR_BUF_SIZE)
		return 0;
	r = st_digest_store_free_bytes(t->store, &free_bytes);
	if (r < 0)
		return member_err(t, r, "cannot tell how much space the repository has left");
	if (size > free_bytes)
		return member_err(t, -ENOSPC, "declares %" PRIu64 " bytes, more than the %" PRIu64 " bytes free in the "
				  "repository's filesystem (nothing was written for it)", size, free_bytes);
	return 0;
}

static int read_member(struct tar_reader *t, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e), *link = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	struct tar_headers_info info;
	struct st_node *parent, *n;
	const char *name;
	size_t len;
	int r;

	tar_set_member(t, path);
	r = tar_input_check_member(t, &info);
	if (r < 0)
		return r;
	if (info.socket && type == AE_IFIFO)
		type = AE_IFSOCK;
	r = walk_path(t, path, "name", true, &parent, &name, &len);
	if (r < 0)
		return r;

	if (!name) {
		/* The root: "." or "./". */
		if (link || type != AE_IFDIR)
			return member_err(t, -EINVAL, "the root must be a directory");
		if (t->root->scratch & NODE_EXPLICIT)
			return member_err(t, -EINVAL, "duplicate member (the root)");
		n = t->root;
	} else {
		n = node_lookup_child(parent, name, len);
		if (n && node_is_dir(n) && !n->link_target && !(n->scratch & NODE_EXPLICIT)) {
			/* A directory first created as the parent of an earlier member. */
			if (link || type != AE_IFDIR)
				return member_err(t, -EINVAL, "replaces a directory of earlier members");
		} else if (n)
			return member_err(t, -EINVAL, "duplicate member");
		else if (link)
			return add_hardlink(t, parent, name, len, link);
		else {
			r = new_node(t, parent, name, len, &n);
			if (r < 0)
				return r;
		}
	}

	r = set_metadata(t, n, e);
	if (r < 0)
		return r;
	n->mode = (uint32_t)type | (n->mode & 07777);
	n->scratch |= NODE_EXPLICIT;
	switch (type) {
	case AE_IFREG:
		if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
			return member_err(t, -EUCLEAN, "no valid size");
		r = check_size_budget(t, (uint64_t)archive_entry_size(e));
		if (r < 0)
			return r;
		t->sparse = archive_entry_sparse_count(e) > 0;
		t->cur = (struct data_cursor){ 0 };
		/* The tar-split record refers to the contents of a plain file by its object. */
		if (!t->sparse && archive_entry_size(e) > ST_INLINE_RECOMMENDED_MAX) {
			r = tar_input_split_file(t, n, t->in.member_start + info.headers_len,
						 (uint64_t)archive_entry_size(e), path);
			if (r < 0)
				return r;
		}
		r = tar_read_file(t, n, (uint64_t)archive_entry_size(e));
		break;
	case AE_IFLNK:
		r = read_symlink(t, n, e);
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		r = set_rdev(t, n, e);
		break;
	case AE_IFDIR:
	case AE_IFIFO:
	case AE_IFSOCK:
		break;
	default:
		return member_err(t, -EOPNOTSUPP, "unsupported member type 0%o", (unsigned)type);
	}
	if (r < 0)
		return r;
	return set_xattrs(t, n, e);
}

static int setup(struct tar_reader *t, const struct st_tar_read_options *opts)
{
	int r;

	*t = (struct tar_reader){ .store = opts ? opts->store : NULL };
	t->max_entries = opts && opts->max_entries ? opts->max_entries : ST_TAR_ENTRIES_MAX;
	t->skip_xattrs = opts && opts->skip_xattrs;
	t->xattrs.max_bytes = opts ? opts->max_xattr_bytes : 0;
	t->opts = opts;
	if (opts && opts->split && opts->store)
		t->in.split = opts->split;
	t->a = archive_read_new();
	if (!t->a)
		return -ENOMEM;
	if (posix_memalign((void **)&t->buf, ST_STORE_IO_ALIGN, TAR_BUF_SIZE) != 0) {
		t->buf = NULL;
		return -ENOMEM;
	}
	r = st_verity_hasher_new(&t->hasher);
	if (r < 0)
		return r;
	r = st_node_new(&t->root);
	if (r < 0)
		return r;
	t->root->mode = IMPLICIT_DIR_MODE;
	if (t->store) {
		/* Publishing waits on the disk: more writers than CPUs (as the scan does). */
		r = tar_pool_new(t->store, MIN(cpus_available(0) * 4, 16u), &t->pool);
		if (r < 0)
			return r;
		if (opts->file_sha256) {
			tar_pool_set_sha256(t->pool, opts->file_sha256, opts->file_sha256_userdata);
			t->sha_ctx = EVP_MD_CTX_new();
			if (!t->sha_ctx)
				return -ENOMEM;
		}
	}
	return 0;
}

static void teardown(struct tar_reader *t)
{
	/* The workers are done with the tree before it is freed. */
	tar_pool_free(t->pool);
	if (t->a)
		archive_read_free(t->a);
	tar_input_close(&t->in);
	free(t->buf);
	st_verity_hasher_free(t->hasher);
	EVP_MD_CTX_free(t->sha_ctx);
	st_node_free(t->root);
	tar_xattrs_free(&t->xattrs);
}

static void maybe_progress(struct tar_reader *t)
{
	struct timespec now;

	if (!t->opts || !t->opts->progress)
		return;
	clock_gettime(CLOCK_MONOTONIC_COARSE, &now);
	if ((now.tv_sec - t->last_progress.tv_sec) * 1000000000L + (now.tv_nsec - t->last_progress.tv_nsec) <
	    100000000L)
		return;
	t->last_progress = now;
	t->opts->progress(t->opts->progress_userdata, t->stats.files, t->stats.files, t->stats.bytes,
			  t->stats.bytes);
}

static void clear_dir_marks(struct st_node *n)
{
	n->scratch = 0;
	for (size_t i = 0; i < n->n_children; i++)
		if (node_is_dir(n->children[i]) && !n->children[i]->link_target)
			clear_dir_marks(n->children[i]);
}

static int run(struct tar_reader *t, struct st_tar_read_stats *ret_stats, struct st_node **ret_root)
{
	struct archive_entry *e;
	int r;

	t->member[0] = '\0';
	for (;;) {
		r = archive_read_next_header(t->a, &e);
		if (r == ARCHIVE_EOF) {
			r = tar_input_check_end(t);
			if (r < 0)
				return r;
			break;
		}
		if (r == ARCHIVE_WARN && !warning_acceptable(t)) {
			tar_set_member(t, archive_entry_pathname(e));
			return tar_archive_err(t, -EUCLEAN, "bad header");
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			const char *msg = archive_error_string(t->a);

			if (t->in.error && t->member[0])
				return st_errf(t->in.error, "tar: after member '%s': %s", t->member, t->in.error_msg);
			if (t->in.error)
				return st_errf(t->in.error, "tar: %s", t->in.error_msg);
			if (t->in.eof && t->member[0])
				return st_errf(-EUCLEAN, "tar: the archive ends inside the headers of the member after '%s' "
					       "(cut short): %s", t->member, msg ? msg : "truncated");
			/* t->member still names the previous member, whose size may be the lie. */
			if (t->member[0])
				return st_errf(-EUCLEAN, "tar: bad header after member '%s' (damaged, or that member's "
					       "size is not its data's): %s", t->member, msg ? msg : "unreadable");
			return tar_archive_err(t, -EUCLEAN, "not a tar archive");
		}
		r = read_member(t, e);
		if (r < 0)
			return r;
		maybe_progress(t);
	}
	if (t->pool) {
		uint64_t written = 0;

		r = tar_pool_finish(t->pool, &written);
		if (r < 0)
			return r;
		t->stats.objects_written += written;
	}
	/* Only now are the digests of the pool's files known. */
	if (t->in.split) {
		r = st_tar_split_finish(t->in.split);
		if (r < 0)
			return r;
	}
	/* Only now: the pool no longer touches any node. */
	st_tar_canonicalize_links(t->root);
	if (!t->opts || !t->opts->keep_dir_marks)
		clear_dir_marks(t->root);
	if (ret_stats)
		*ret_stats = t->stats;
	*ret_root = TAKE_PTR(t->root);
	return 0;
}

/* Both entry points: an fd when fd >= 0, else the memory buffer. */
static int read_archive(int fd, const void *data, size_t len, const struct st_tar_read_options *opts,
			struct st_tar_read_stats *ret_stats, struct st_node **ret_root)
{
	struct st_tar_locale loc;
	struct tar_reader t;
	int r;

	st_tar_locale_enter(&loc);
	r = setup(&t, opts);
	if (r >= 0)
		r = tar_input_open(&t, fd, data, len);
	if (r >= 0)
		r = run(&t, ret_stats, ret_root);
	teardown(&t);
	st_tar_locale_leave(&loc);
	return r;
}

int st_tar_read_fd(int fd, const struct st_tar_read_options *opts, struct st_tar_read_stats *ret_stats,
		   struct st_node **ret_root)
{
	if (fd < 0 || !ret_root)
		return -EINVAL;
	return read_archive(fd, NULL, 0, opts, ret_stats, ret_root);
}

int st_tar_read_buffer(const void *data, size_t len, const struct st_tar_read_options *opts,
		       struct st_tar_read_stats *ret_stats, struct st_node **ret_root)
{
	if ((!data && len) || !ret_root)
		return -EINVAL;
	return read_archive(-EBADF, data, len, opts, ret_stats, ret_root);
}
