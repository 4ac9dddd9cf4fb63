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
#include <sched.h>
#include <archive_entry.h>
#include <stdio.h>
#include <string.h>
#include <sys/sysmacros.h>
#include <time.h>

#include "basic/error.h"
#include "scan-internal.h"
#include "sealtree/verity.h"
#include "tar-store.h"
#include "tar.h"

#define TAR_BUF_SIZE (1024u * 1024u)
#define TAR_BLOCK_SIZE 10240
#define NODE_EXPLICIT 1u
/* Mode of directories no member describes (see the format doc). */
#define IMPLICIT_DIR_MODE (S_IFDIR | 0755)

struct tar_reader {
	struct archive *a;
	struct st_digest_store *store;
	struct tar_pool *pool;          /* with a store: publishes files up to TAR_BUF_SIZE */
	struct st_verity_hasher *hasher;
	uint8_t *buf;                   /* TAR_BUF_SIZE, ST_STORE_IO_ALIGN-aligned */
	struct st_node *root;
	uint64_t n_entries, max_entries;
	bool skip_xattrs;
	bool sparse;                    /* the current member is a sparse file */
	struct data_cursor {
		const uint8_t *blk;     /* libarchive's current block, valid until the next call */
		size_t blk_len;
		uint64_t blk_off;
		uint64_t pos;           /* bytes of the member read so far */
		bool eof;
	} cur;
	const struct st_tar_read_options *opts;
	struct timespec last_progress;
	struct st_tar_read_stats stats;
	char member[128];               /* current member name, printable, for errors */
};

/* Remember a printable form of a member name for error messages. */
static void set_member(struct tar_reader *t, const char *path)
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

#define member_err(t, r, fmt, ...) st_errf((r), "tar member '%s': " fmt, (t)->member, ##__VA_ARGS__)

static int archive_err(struct tar_reader *t, int r, const char *what)
{
	const char *msg = archive_error_string(t->a);

	if (t->member[0])
		return member_err(t, r, "%s: %s", what, msg ? msg : "libarchive failed");
	return st_errf(r, "tar: %s: %s", what, msg ? msg : "libarchive failed");
}

/* A failure of the digest store (whose detail names the object), attributed to the member. */
static int store_err(struct tar_reader *t, int r)
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
		const struct st_xattr *old;
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
		r = node_append_xattr(n, name, len, value, size);
		if (r == -ERANGE)
			return member_err(t, -EINVAL, "xattrs over the composefs limit of %d bytes per file",
					  ST_XATTR_BUDGET_MAX);
		if (r < 0)
			return member_err(t, r, "cannot keep xattr '%s'", name);
	}
	return 0;
}

/*
 * The member's data comes as libarchive's blocks, each at an offset: holes
 * of sparse files are the gaps between blocks (and after the last one), and
 * read as zeros. The cursor is where the member's data has been read to.
 */
static int next_block(struct tar_reader *t)
{
	const void *blk;
	size_t len;
	la_int64_t off;
	int r = archive_read_data_block(t->a, &blk, &len, &off);

	if (r == ARCHIVE_EOF) {
		t->cur.eof = true;
		return 0;
	}
	if (r != ARCHIVE_OK)
		return archive_err(t, -EUCLEAN, "cannot read the contents");
	if (off < 0 || (uint64_t)off < t->cur.pos)
		return member_err(t, -EUCLEAN, "data blocks out of order (at offset %" PRId64 ")", (int64_t)off);
	t->cur.blk = blk;
	t->cur.blk_len = len;
	t->cur.blk_off = (uint64_t)off;
	return 0;
}

/* Read exactly len bytes of the member's data into buf. */
static int read_data(struct tar_reader *t, uint8_t *buf, size_t len)
{
	struct data_cursor *c = &t->cur;
	size_t done = 0;
	int r;

	while (done < len) {
		size_t want = len - done, k;

		if (c->blk && c->pos >= c->blk_off && c->pos < c->blk_off + c->blk_len) {
			k = (size_t)MIN((uint64_t)want, c->blk_off + c->blk_len - c->pos);
			memcpy(buf + done, c->blk + (c->pos - c->blk_off), k);
		} else if (c->blk && c->pos < c->blk_off) {
			k = (size_t)MIN((uint64_t)want, c->blk_off - c->pos);        /* a hole */
			memset(buf + done, 0, k);
		} else if (c->eof) {
			if (!t->sparse)
				return member_err(t, -EUCLEAN,
						  "contents end %zu bytes short of the size its header promises", want);
			memset(buf + done, 0, want);  /* the hole at the end of a sparse file */
			k = want;
		} else {
			r = next_block(t);
			if (r < 0)
				return r;
			continue;
		}
		done += k;
		c->pos += k;
	}
	return 0;
}

/* The member's data must end exactly where its size says (size bytes read). */
static int check_data_end(struct tar_reader *t)
{
	struct data_cursor *c = &t->cur;
	int r;

	for (;;) {
		if (c->blk && c->blk_off + c->blk_len > c->pos)
			return member_err(t, -EUCLEAN, "more contents than its size says");
		if (c->eof)
			return 0;
		r = next_block(t);
		if (r < 0)
			return r;
	}
}

static int store_object(struct tar_reader *t, struct st_store_object *obj)
{
	int r = st_digest_store_commit(t->store, obj);

	if (r < 0)
		return r;
	if (r > 0)
		t->stats.objects_written++;
	return 0;
}

/* A regular file's contents: digest, inline content or an object. */
static int read_file(struct tar_reader *t, struct st_node *n, uint64_t size)
{
	char payload[SCAN_PAYLOAD_LEN + 1];
	struct st_store_object obj;
	bool have_obj = false;
	uint64_t done = 0;
	int r;

	n->size = size;
	if (size == 0)
		return check_data_end(t);
	if (t->pool && size > ST_INLINE_RECOMMENDED_MAX && size <= TAR_BUF_SIZE) {
		uint8_t *data = NULL;

		/* Read and checked here, hashed and published by the pool (tar-store.c). */
		if (posix_memalign((void **)&data, ST_STORE_IO_ALIGN, ALIGN_UP((size_t)size, ST_STORE_IO_ALIGN)) != 0)
			return -ENOMEM;
		r = read_data(t, data, (size_t)size);
		if (r >= 0)
			r = check_data_end(t);
		if (r < 0) {
			free(data);
			return r;
		}
		t->stats.files++;
		t->stats.bytes += size;
		return tar_pool_submit(t->pool, n, data, (size_t)size, t->member);
	}

	st_verity_hasher_reset(t->hasher);
	if (size <= TAR_BUF_SIZE) {
		/* Hashed first: an object that is already stored is not written again. */
		r = read_data(t, t->buf, (size_t)size);
		if (r >= 0)
			r = st_verity_hasher_update(t->hasher, t->buf, (size_t)size);
		if (r >= 0)
			r = st_verity_hasher_final(t->hasher, n->digest);
		if (r < 0)
			return r;
		if (size <= ST_INLINE_RECOMMENDED_MAX) {
			r = node_set_content(n, t->buf, (size_t)size);
			if (r < 0)
				return r;
		} else if (t->store) {
			r = st_digest_store_has(t->store, n->digest);
			if (r < 0)
				return store_err(t, r);
			if (r == 0) {
				r = st_digest_store_begin(t->store, n->digest, &obj);
				if (r < 0)
					return store_err(t, r);
				r = st_digest_store_write(&obj, t->buf, (size_t)size);
				if (r < 0) {
					st_digest_store_abort(&obj);
					return member_err(t, r, "cannot write its object");
				}
				have_obj = true;
			}
		}
	} else {
		/* Streamed: hashed and written as it comes, named at the end. */
		if (t->store) {
			r = st_digest_store_begin_unnamed(t->store, &obj);
			if (r < 0)
				return store_err(t, r);
			have_obj = true;
		}
		while (done < size) {
			size_t chunk = (size_t)MIN((uint64_t)TAR_BUF_SIZE, size - done);

			r = read_data(t, t->buf, chunk);
			if (r >= 0)
				r = st_verity_hasher_update(t->hasher, t->buf, chunk);
			if (r >= 0 && have_obj) {
				r = st_digest_store_write(&obj, t->buf, chunk);
				if (r < 0)
					r = member_err(t, r, "cannot write its object");
			}
			if (r < 0)
				goto fail;
			done += chunk;
		}
		r = st_verity_hasher_final(t->hasher, n->digest);
		if (r >= 0 && have_obj)
			r = st_digest_store_set_digest(&obj, n->digest);
		if (r < 0)
			goto fail;
	}
	/* Nothing is published before the member is known to end where it should. */
	r = check_data_end(t);
	if (r < 0)
		goto fail;
	if (have_obj) {
		have_obj = false;
		r = store_object(t, &obj);
		if (r < 0)
			return store_err(t, r);
	}
	n->has_digest = true;
	scan_digest_to_payload(n->digest, payload);
	r = node_set_payload(n, payload, SCAN_PAYLOAD_LEN);
	if (r < 0)
		return r;
	t->stats.files++;
	t->stats.bytes += size;
	return 0;
fail:
	if (have_obj)
		st_digest_store_abort(&obj);
	return r;
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

static int add_hardlink(struct tar_reader *t, struct st_node *parent, const char *name, size_t len,
			const char *link)
{
	struct st_node *tparent, *target, *alias;
	const char *tname;
	size_t tlen;
	int r;

	r = walk_path(t, link, "hardlink target", false, &tparent, &tname, &tlen);
	if (r == -ENOENT)
		return member_err(t, -EINVAL, "hardlink to '%s', which no earlier member is", link);
	if (r < 0)
		return r;
	target = tname ? node_lookup_child(tparent, tname, tlen) : t->root;
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

static int read_member(struct tar_reader *t, struct archive_entry *e)
{
	const char *path = archive_entry_pathname(e), *link = archive_entry_hardlink(e);
	mode_t type = archive_entry_filetype(e);
	struct st_node *parent, *n;
	const char *name;
	size_t len;
	int r;

	set_member(t, path);
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
	n->scratch |= NODE_EXPLICIT;
	switch (type) {
	case AE_IFREG:
		if (!archive_entry_size_is_set(e) || archive_entry_size(e) < 0)
			return member_err(t, -EUCLEAN, "no valid size");
		t->sparse = archive_entry_sparse_count(e) > 0;
		t->cur = (struct data_cursor){ 0 };
		r = read_file(t, n, (uint64_t)archive_entry_size(e));
		break;
	case AE_IFLNK:
		r = read_symlink(t, n, e);
		break;
	case AE_IFCHR:
	case AE_IFBLK:
		n->rdev = makedev(archive_entry_rdevmajor(e), archive_entry_rdevminor(e));
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

/* Hardlink groups: (re)name the inode after its first name in sorted depth-first order. */
static void canon_links_visit(struct st_node *n, bool fix)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i];

		if (node_is_dir(c) && !c->link_target) {
			canon_links_visit(c, fix);
			continue;
		}
		if (!fix) {
			struct st_node *t = node_resolve(c);
			if (t->nlink > 1 && !t->scratch)
				t->scratch = (uintptr_t)c;
		} else if (c->link_target && c->link_target->link_target)
			c->link_target = c->link_target->link_target;
	}
}

static void swap_inode(struct st_node *a, struct st_node *b)
{
#define SWAP(f)                              \
	do {                                 \
		__typeof__(a->f) tmp_ = a->f; \
		a->f = b->f;                 \
		b->f = tmp_;                 \
	} while (0)
	SWAP(mode);
	SWAP(nlink);
	SWAP(uid);
	SWAP(gid);
	SWAP(rdev);
	SWAP(mtime_sec);
	SWAP(mtime_nsec);
	SWAP(size);
	SWAP(payload);
	SWAP(content);
	SWAP(has_digest);
	SWAP(xattrs);
	SWAP(n_xattrs);
	SWAP(cap_xattrs);
	SWAP(xattr_budget);
	for (size_t i = 0; i < ST_DIGEST_SIZE; i++)
		SWAP(digest[i]);
#undef SWAP
}

static void clear_scratch(struct st_node *n)
{
	n->scratch = 0;
	for (size_t i = 0; i < n->n_children; i++)
		clear_scratch(n->children[i]);
}

static void swap_visit(struct st_node *n)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i], *first;

		if (node_is_dir(c) && !c->link_target) {
			swap_visit(c);
			continue;
		}
		if (c->link_target || c->nlink <= 1 || !c->scratch)
			continue;
		first = (struct st_node *)(uintptr_t)c->scratch;
		if (first == c)
			continue;
		/* first is an alias of c: it becomes the inode, c its alias. */
		swap_inode(c, first);
		first->link_target = NULL;
		c->link_target = first;
	}
}

static void canonicalize_links(struct st_node *root)
{
	clear_scratch(root);
	canon_links_visit(root, false);
	swap_visit(root);
	canon_links_visit(root, true);
	clear_scratch(root);
}

static int setup(struct tar_reader *t, const struct st_tar_read_options *opts)
{
	static int (*const filters[])(struct archive *) = {
		archive_read_support_filter_gzip, archive_read_support_filter_bzip2, archive_read_support_filter_xz,
		archive_read_support_filter_lzma, archive_read_support_filter_zstd,
	};
	int r;

	*t = (struct tar_reader){ .store = opts ? opts->store : NULL };
	t->max_entries = opts && opts->max_entries ? opts->max_entries : ST_TAR_ENTRIES_MAX;
	t->skip_xattrs = opts && opts->skip_xattrs;
	t->opts = opts;
	t->a = archive_read_new();
	if (!t->a)
		return -ENOMEM;
	/* Only filters built into libarchive: never an external program. */
	for (size_t i = 0; i < ELEMENTSOF(filters); i++)
		if (filters[i](t->a) != ARCHIVE_OK)
			return archive_err(t, -EOPNOTSUPP, "libarchive lacks a built-in decompressor");
	if (archive_read_support_format_tar(t->a) != ARCHIVE_OK)
		return archive_err(t, -EOPNOTSUPP, "libarchive cannot read tar");
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
		cpu_set_t set;
		unsigned cpus = sched_getaffinity(0, sizeof(set), &set) == 0 ? (unsigned)CPU_COUNT(&set) : 1;

		r = tar_pool_new(t->store, MIN(MAX(cpus, 1u) * 4, 16u), &t->pool);
		if (r < 0)
			return r;
	}
	return 0;
}

static void teardown(struct tar_reader *t)
{
	/* The workers are done with the tree before it is freed. */
	tar_pool_free(t->pool);
	if (t->a)
		archive_read_free(t->a);
	free(t->buf);
	st_verity_hasher_free(t->hasher);
	st_node_free(t->root);
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

static int run(struct tar_reader *t, struct st_tar_read_stats *ret_stats, struct st_node **ret_root)
{
	struct archive_entry *e;
	int r;

	t->member[0] = '\0';
	for (;;) {
		r = archive_read_next_header(t->a, &e);
		if (r == ARCHIVE_EOF)
			break;
		if (r == ARCHIVE_WARN && !warning_acceptable(t)) {
			set_member(t, archive_entry_pathname(e));
			return archive_err(t, -EUCLEAN, "bad header");
		}
		if (r != ARCHIVE_OK && r != ARCHIVE_WARN) {
			const char *msg = archive_error_string(t->a);

			/* t->member still names the previous member, whose size may be the lie. */
			if (t->member[0])
				return st_errf(-EUCLEAN, "tar: bad header after member '%s' (damaged, or that member's "
					       "size is not its data's): %s", t->member, msg ? msg : "unreadable");
			return archive_err(t, -EUCLEAN, "not a tar archive");
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
	/* Only now: the pool no longer touches any node. */
	canonicalize_links(t->root);
	if (ret_stats)
		*ret_stats = t->stats;
	*ret_root = TAKE_PTR(t->root);
	return 0;
}

void st_tar_locale_enter(struct st_tar_locale *l)
{
	l->utf8 = newlocale(LC_ALL_MASK, "C.UTF-8", (locale_t)0);
	l->old = l->utf8 ? uselocale(l->utf8) : (locale_t)0;
}

void st_tar_locale_leave(struct st_tar_locale *l)
{
	if (l->utf8) {
		uselocale(l->old);
		freelocale(l->utf8);
		l->utf8 = (locale_t)0;
	}
}

bool st_tar_utf8_valid(const char *str, size_t len)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + len;

	while (s < end) {
		uint32_t cp;
		size_t n;

		if (*s < 0x80) {
			s++;
			continue;
		}
		if (*s >= 0xc2 && *s <= 0xdf)
			n = 1, cp = *s & 0x1f;
		else if (*s >= 0xe0 && *s <= 0xef)
			n = 2, cp = *s & 0x0f;
		else if (*s >= 0xf0 && *s <= 0xf4)
			n = 3, cp = *s & 0x07;
		else
			return false;
		if ((size_t)(end - s) <= n)
			return false;
		for (size_t i = 1; i <= n; i++) {
			if ((s[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (s[i] & 0x3f);
		}
		if ((n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return false;
		s += n + 1;
	}
	return true;
}

int st_tar_read_fd(int fd, const struct st_tar_read_options *opts, struct st_tar_read_stats *ret_stats,
		   struct st_node **ret_root)
{
	struct tar_reader t;
	int r;

	struct st_tar_locale loc;

	if (fd < 0 || !ret_root)
		return -EINVAL;
	st_tar_locale_enter(&loc);
	r = setup(&t, opts);
	if (r >= 0 && archive_read_open_fd(t.a, fd, TAR_BLOCK_SIZE) != ARCHIVE_OK)
		r = archive_err(&t, -EUCLEAN, "not a tar archive");
	if (r >= 0)
		r = run(&t, ret_stats, ret_root);
	teardown(&t);
	st_tar_locale_leave(&loc);
	return r;
}

int st_tar_read_buffer(const void *data, size_t len, const struct st_tar_read_options *opts,
		       struct st_tar_read_stats *ret_stats, struct st_node **ret_root)
{
	struct tar_reader t;
	int r;

	struct st_tar_locale loc;

	if ((!data && len) || !ret_root)
		return -EINVAL;
	st_tar_locale_enter(&loc);
	r = setup(&t, opts);
	if (r >= 0 && archive_read_open_memory(t.a, data, len) != ARCHIVE_OK)
		r = archive_err(&t, -EUCLEAN, "not a tar archive");
	if (r >= 0)
		r = run(&t, ret_stats, ret_root);
	teardown(&t);
	st_tar_locale_leave(&loc);
	return r;
}
