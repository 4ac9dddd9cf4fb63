/* SPDX-License-Identifier: MIT */
/*
 * The writer's view of the tree: BFS numbering, validation, and the
 * effective (rewritten) properties of each inode, all computed without
 * modifying the caller's tree.
 */
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "format/erofs-format.h"
#include "shape-internal.h"
#include "writer-internal.h"

/* Names of the root's whiteout stubs, "00".."ff", two bytes each, stable storage. */
static const char stub_names[] =
	"000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
	"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
	"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
	"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
	"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
	"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
	"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
	"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

struct st_node *w_resolve(struct st_node *n)
{
	/* Chains were checked for cycles by w_collect(). */
	while (n->link_target)
		n = n->link_target;
	return n;
}

uint32_t w_mode(const struct wctx *w, const struct winode *wi)
{
	(void)w;
	if (!wi->node)
		return S_IFCHR | 0644;
	if (node_is_whiteout(wi->node))
		return S_IFREG | (wi->node->mode & ~(uint32_t)S_IFMT);
	return wi->node->mode;
}

const struct st_node *w_meta(const struct wctx *w, const struct winode *wi)
{
	return wi->node ? wi->node : w->root;
}

/* The size the reference's node holds after the rewrite (st_size). */
uint64_t w_stat_size(const struct wctx *w, const struct winode *wi)
{
	const struct st_node *n = wi->node;

	(void)w;
	if (!n || node_is_whiteout(n))
		return 0;
	if (node_is_lnk(n))
		return n->payload ? strlen(n->payload) : 0;
	return n->size;
}

bool w_is_chunked(const struct winode *wi)
{
	const struct st_node *n = wi->node;

	return n && node_is_reg(n) && n->size > 0 && !n->content;
}

uint32_t w_chunk_bits(uint64_t size)
{
	uint32_t bits = size > 1 ? 64 - (uint32_t)__builtin_clzll(size - 1) : 0;

	if (bits < EROFS_BLKSIZ_BITS)
		bits = EROFS_BLKSIZ_BITS;
	if (bits - EROFS_BLKSIZ_BITS > EROFS_CHUNK_FORMAT_BLKBITS_MASK)
		bits = EROFS_CHUNK_FORMAT_BLKBITS_MASK + EROFS_BLKSIZ_BITS;
	return bits;
}

uint64_t w_chunk_count(uint64_t size)
{
	uint32_t bits = w_chunk_bits(size);

	return (size >> bits) + ((size & ((UINT64_C(1) << bits) - 1)) != 0);
}

/* ---- merged directory listing ---------------------------------------- */

void dent_iter_init(struct dent_iter *it, const struct wctx *w, uint32_t dir, bool with_dots)
{
	*it = (struct dent_iter){
		.w = w,
		.dir = dir,
		.dot = with_dots ? 0 : 2,
		.stub = dir == 0 ? 0 : 256,
		.with_dots = with_dots,
	};
}

static int name_cmp(const char *a, size_t alen, const char *b, size_t blen)
{
	int c = memcmp(a, b, MIN(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen;
}

bool dent_iter_next(struct dent_iter *it, struct dent *d, const struct st_node **real, unsigned *stub)
{
	const struct wctx *w = it->w;
	const struct winode *dir = &w->inodes[it->dir];
	const struct st_node *dn = dir->node;
	const char *rname = NULL, *dname = NULL;
	size_t rlen = 0, dlen = 0;
	const char *sname = NULL;
	enum { NONE, REAL, DOT, STUB } pick = NONE;
	const char *best = NULL;
	size_t best_len = 0;

	*real = NULL;
	*stub = 256;
	if (it->ci < dn->n_children) {
		rname = dn->children[it->ci]->name;
		rlen = strlen(rname);
	}
	/* A stub is only added where the root has no entry of that name. */
	while (it->stub < 256) {
		sname = &stub_names[2 * it->stub];
		if (rname && name_cmp(sname, 2, rname, rlen) == 0) {
			it->stub++;
			continue;
		}
		break;
	}
	if (it->dot < 2) {
		dname = it->dot == 0 ? "." : "..";
		dlen = it->dot + 1;
	}
	if (rname) {
		pick = REAL;
		best = rname;
		best_len = rlen;
	}
	if (dname && (!best || name_cmp(dname, dlen, best, best_len) < 0)) {
		pick = DOT;
		best = dname;
		best_len = dlen;
	}
	if (it->stub < 256 && (!best || name_cmp(sname, 2, best, best_len) < 0))
		pick = STUB;

	switch (pick) {
	case NONE:
		return false;
	case REAL: {
		struct st_node *c = dn->children[it->ci++];
		*real = c;
		d->name = c->name;
		d->len = (uint32_t)rlen;
		/* During the BFS walk aliases are not validated yet: don't follow them. */
		d->target = it->with_dots ? (uint32_t)w_resolve(c)->scratch : W_NO_INDEX;
		return true;
	}
	case DOT:
		d->name = dname;
		d->len = (uint32_t)dlen;
		if (it->dot == 0)
			d->target = it->dir;
		else
			d->target = dn->parent ? (uint32_t)dn->parent->scratch : it->dir;
		it->dot++;
		return true;
	case STUB:
		*stub = it->stub;
		d->name = sname;
		d->len = 2;
		d->target = w->stub_idx[it->stub];
		it->stub++;
		return true;
	}
	return false;
}

/* ---- BFS and validation ----------------------------------------------- */

static int path_err(int r, const struct st_node *n, const char *what)
{
	_cleanup_free_ char *path = NULL;

	if (node_get_path(n, &path) < 0)
		return st_errf(r, "%s", what);
	return st_errf(r, "'%s': %s", path, what);
}

static int validate_node(const struct st_node *n)
{
	switch (n->mode & S_IFMT) {
	case S_IFREG:
		if (n->content && n->size > ST_INLINE_CONTENT_MAX)
			return path_err(-EINVAL, n, "inline content larger than 5000 bytes");
		if (n->size > 0 && !n->content && w_chunk_count(n->size) > W_MAX_CHUNKS)
			return path_err(-EFBIG, n, "file too large (more than 1024 chunks)");
		/* Written as the redirect "/" + payload, which the kernel must follow. */
		if (n->size > 0 && !n->content && n->payload && n->payload[0] &&
		    !shape_payload_ok(n->payload, strlen(n->payload)))
			return path_err(-EINVAL, n,
					"payload is not a relative path of non-empty components other than '.' and '..'");
		/* Escaped, it is the marker the reader turns into a whiteout. */
		if (node_get_xattr(n, "trusted.overlay.whiteout"))
			return path_err(-EINVAL, n,
					"a regular file with the xattr trusted.overlay.whiteout would read back as a whiteout");
		break;
	case S_IFLNK: {
		size_t len = n->payload ? strlen(n->payload) : 0;
		if (len == 0 || len > ST_SYMLINK_MAX)
			return path_err(-EINVAL, n, "symlink target must be 1..4095 bytes");
		break;
	}
	case S_IFDIR:
	case S_IFBLK:
	case S_IFCHR:
	case S_IFSOCK:
	case S_IFIFO:
		break;
	default:
		return path_err(-EINVAL, n, "invalid file type in mode");
	}
	if (!node_is_dir(n) && n->n_children > 0)
		return path_err(-EINVAL, n, "only directories can have children");
	return 0;
}

static int push_inode(struct wctx *w, struct st_node *n, unsigned stub)
{
	struct winode *wi;
	int r;

	if (w->n_inodes >= UINT32_MAX - 1)
		return st_errf(-E2BIG, "too many inodes");
	r = GROW(w->inodes, w->cap_inodes, w->n_inodes + 1);
	if (r < 0)
		return r;
	wi = &w->inodes[w->n_inodes];
	*wi = (struct winode){ .node = n, .nlink = 1 };
	if (n) {
		n->scratch = w->n_inodes;
		wi->nlink = n->nlink;
	} else {
		wi->stub_name = (uint8_t)stub;
		w->stub_idx[stub] = (uint32_t)w->n_inodes;
	}
	w->n_inodes++;
	return 0;
}

/* The alias chain must end, in this tree, at a non-directory. */
static int check_alias(const struct wctx *w, const struct st_node *alias)
{
	const struct st_node *t = alias, *slow = alias;
	size_t steps = 0;

	while (t->link_target) {
		t = t->link_target;
		if (++steps % 2 == 0)
			slow = slow->link_target;
		if (t == slow || t == alias)
			return path_err(-ELOOP, alias, "hardlink cycle");
	}
	if (t->scratch >= w->n_inodes || w->inodes[t->scratch].node != t)
		return path_err(-EINVAL, alias, "hardlink to a node outside the tree");
	if (node_is_dir(t))
		return path_err(-EINVAL, alias, "hardlink to a directory");
	return 0;
}

int w_collect(struct wctx *w, const struct st_image_write_options *opts)
{
	uint32_t min = opts ? opts->min_version : 0, max = opts ? opts->max_version : 1;
	bool any_whiteout = false;
	int r;

	if (min > ST_IMAGE_VERSION_MAX || max > ST_IMAGE_VERSION_MAX)
		return st_errf(-EINVAL, "unsupported format version (max %d)", ST_IMAGE_VERSION_MAX);
	if (max < min)
		max = min;
	if (!node_is_dir(w->root))
		return st_errf(-ENOTDIR, "the root of an image must be a directory");
	if (w->root->link_target)
		return st_errf(-EINVAL, "the root cannot be a hardlink");

	for (size_t i = 0; i < 256; i++)
		w->stub_idx[i] = W_NO_INDEX;
	r = push_inode(w, w->root, 0);
	if (r < 0)
		return r;
	for (size_t i = 0; i < w->n_inodes; i++) {
		struct st_node *n = w->inodes[i].node;
		struct dent_iter it;
		struct dent d;
		const struct st_node *real;
		unsigned stub;
		uint32_t subdirs = 0;
		bool wh = false;

		if (!n)
			continue;
		r = validate_node(n);
		if (r < 0)
			return r;
		if (node_is_whiteout(n))
			any_whiteout = true;
		if (!node_is_dir(n))
			continue;
		dent_iter_init(&it, w, (uint32_t)i, false);
		for (;;) {
			struct st_node *c;

			if (!dent_iter_next(&it, &d, &real, &stub))
				break;
			if (stub < 256) {
				r = push_inode(w, NULL, stub);
				if (r < 0)
					return r;
				continue;
			}
			c = (struct st_node *)real;
			if (c->link_target)
				continue;
			if (node_is_dir(c))
				subdirs++;
			if (node_is_whiteout(c))
				wh = true;
			r = push_inode(w, c, 256);
			if (r < 0)
				return r;
		}
		w->inodes[i].nlink = 2 + subdirs;
		w->inodes[i].has_whiteout_child = wh;
	}

	/* All inodes are numbered: now aliases can be checked. */
	for (size_t i = 0; i < w->n_inodes; i++) {
		struct st_node *n = w->inodes[i].node;

		if (!n)
			continue;
		for (size_t k = 0; k < n->n_children; k++) {
			if (n->children[k]->link_target) {
				r = check_alias(w, n->children[k]);
				if (r < 0)
					return r;
			}
		}
	}

	w->version = min;
	if (min < 1 && max >= 1 && any_whiteout)
		w->version = 1;
	return 0;
}
