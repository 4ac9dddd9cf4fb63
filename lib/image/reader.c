/* SPDX-License-Identifier: MIT */
/*
 * The reader's walk: from the root directory, depth first in dirent order,
 * each inode decoded and checked (reader-inode.c), its xattrs mapped
 * (reader-xattr.c) and, for directories, its entries walked (reader-dir.c).
 *
 * An inode reached a second time becomes a hardlink alias of the node made
 * at its first occurrence, which is what the reference reader does; for a
 * directory that would be a cycle or a directory hardlink, so it is an
 * error. Whiteouts stored as real chardev 0/0 inodes (the 00..ff stubs) are
 * skipped. Nesting is capped at RD_DEPTH_MAX, and the tree may not grow to
 * more than a fixed multiple of the image size (shared xattrs and hardlinks
 * could otherwise turn a small image into gigabytes of nodes).
 */
#include <inttypes.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/hex.h"
#include "reader-internal.h"
#include "shape-internal.h"

static_assert(sizeof(struct rd_skipped) <= SHAPE_COST_SKIPPED, "the writer counts skipped whiteouts at this cost");

/* One ST_IMAGE_READ_FILTER_PATHS pattern, split into components. */
struct pattern {
	struct { const char *s; size_t len; } comp[RD_PATTERN_COMPONENTS_MAX];
	unsigned n;
};

struct walk {
	const struct rd_image *img;
	const struct st_image_read_options *opts;
	struct pattern *patterns;       /* with ST_IMAGE_READ_FILTER_PATHS only */
	struct st_node **by_nid;        /* first node made for each nid; not owned */
	uint64_t budget;                /* bytes the tree may still grow by */
	struct rd_skipped *skipped;     /* with ST_IMAGE_READ_HARDLINKS_BFS only */
	size_t n_skipped, cap_skipped;
};

/*
 * Which of the directory's children a path-filtered walk keeps: those that
 * match component `depth` of a pattern in `active` (bit i: patterns[i]).
 * A directory that a whole pattern matched is loaded in full (active 0).
 */
struct dir_ctx {
	struct walk *w;
	struct st_node *dir;
	uint64_t dir_nid;
	unsigned depth;                 /* of the directory; the root is 0 */
	uint64_t active;
};

static int load_node(struct walk *w, const struct rd_inode *ino, uint64_t parent_nid, unsigned depth,
		     uint64_t active, struct st_node **ret);

static int charge(struct walk *w, uint64_t n, uint64_t nid)
{
	if (w->budget < n)
		return RD_CORRUPT("nid %" PRIu64 ": the tree grows far larger than the image (%" PRIu64 " bytes)", nid,
				  w->img->len);
	w->budget -= n;
	return 0;
}

static bool filter_keeps(const struct st_image_read_options *opts, const struct rd_dirent *de)
{
	if (!opts || !opts->filters)
		return true;
	for (size_t i = 0; i < opts->n_filters; i++) {
		const char *f = opts->filters[i];
		if (f && strlen(f) == de->name_len && memcmp(f, de->name, de->name_len) == 0)
			return true;
	}
	return false;
}

/* The patterns of ctx->active whose next component matches the dirent's name. */
static uint64_t patterns_matching(const struct dir_ctx *ctx, const struct rd_dirent *de, bool *ret_whole)
{
	uint64_t m = 0;

	*ret_whole = false;
	for (unsigned i = 0; i < ctx->w->opts->n_filters; i++) {
		const struct pattern *p = &ctx->w->patterns[i];

		if (!(ctx->active & (UINT64_C(1) << i)) || ctx->depth >= p->n)
			continue;
		if (!(p->comp[ctx->depth].len == 1 && p->comp[ctx->depth].s[0] == '*') &&
		    (p->comp[ctx->depth].len != de->name_len || memcmp(p->comp[ctx->depth].s, de->name, de->name_len) != 0))
			continue;
		m |= UINT64_C(1) << i;
		if (ctx->depth + 1 == p->n)
			*ret_whole = true;
	}
	return m;
}

static int add_alias(struct dir_ctx *ctx, const struct rd_dirent *de, struct st_node *target)
{
	struct st_node *alias = NULL;
	int r;

	r = charge(ctx->w, shape_cost_node(de->name_len), de->nid);
	if (r < 0)
		return r;
	r = st_node_new(&alias);
	if (r < 0)
		return r;
	/* Like the dump parser's aliases: the target's type, for code that looks at it. */
	alias->mode = target->mode;
	r = node_set_link_target(alias, target);
	if (r >= 0)
		r = node_add_child(ctx->dir, alias, de->name, de->name_len);
	if (r < 0) {
		st_node_free(alias);
		return r == -ENOMEM ? r : RD_CORRUPT("directory nid %" PRIu64 ": cannot add a hardlink to nid %" PRIu64,
						     ctx->dir_nid, de->nid);
	}
	return 0;
}

static int on_dirent(void *userdata, const struct rd_dirent *de)
{
	struct dir_ctx *ctx = userdata;
	struct walk *w = ctx->w;
	struct st_node *child = NULL, *seen;
	uint64_t active = 0;
	struct rd_inode ino;
	int r;

	if (ctx->active) {
		bool whole;

		active = patterns_matching(ctx, de, &whole);
		if (!active)
			return 0;
		if (whole)
			active = 0;
		else if (de->file_type != EROFS_FT_DIR)
			return 0;       /* on the way to a path, only directories lead there */
	} else if (ctx->depth == 0 && !w->patterns && !filter_keeps(w->opts, de))
		return 0;
	r = rd_inode_read(w->img, de->nid, &ino);
	if (r < 0)
		return r;
	if (erofs_ftype_from_mode(ino.mode) != de->file_type)
		return RD_CORRUPT("directory nid %" PRIu64 ": dirent file type %u but nid %" PRIu64 " has mode 0%o",
				  ctx->dir_nid, de->file_type, de->nid, ino.mode);
	/* Real whiteouts (the 00..ff stubs, or any in a foreign image) are not part of the tree. */
	if (S_ISCHR(ino.mode) && ino.rdev == 0) {
		if (!w->opts || !(w->opts->flags & ST_IMAGE_READ_HARDLINKS_BFS))
			return 0;
		r = charge(w, SHAPE_COST_SKIPPED, de->nid);
		if (r >= 0)
			r = GROW(w->skipped, w->cap_skipped, w->n_skipped + 1);
		if (r < 0)
			return r;
		w->skipped[w->n_skipped++] = (struct rd_skipped){
			.dir = ctx->dir,
			.index = ctx->dir->n_children,
			.nid = de->nid,
		};
		return 0;
	}

	seen = w->by_nid[de->nid];
	if (seen) {
		if (node_is_dir(seen))
			return RD_CORRUPT("directory nid %" PRIu64 " is reached twice (directory hardlink or cycle)",
					  de->nid);
		return add_alias(ctx, de, seen);
	}
	if (ctx->depth + 1 > RD_DEPTH_MAX)
		return RD_CORRUPT("directory nid %" PRIu64 " is nested deeper than %u levels", ctx->dir_nid,
				  RD_DEPTH_MAX);

	r = load_node(w, &ino, ctx->dir_nid, ctx->depth + 1, active, &child);
	if (r < 0)
		return r;
	r = node_add_child(ctx->dir, child, de->name, de->name_len);
	if (r < 0) {
		st_node_free(child);
		return r;
	}
	return 0;
}

static int load_symlink(struct walk *w, const struct rd_inode *ino, struct st_node *node)
{
	const uint8_t *data;
	uint32_t len;

	/* 1..4095 bytes (checked in rd_inode_read), so one logical block. */
	rd_inode_block(w->img, ino, 0, &data, &len);
	if (len != ino->size || memchr(data, '\0', len))
		return RD_CORRUPT("nid %" PRIu64 ": symlink target contains a NUL byte", ino->nid);
	return node_set_payload(node, (const char *)data, len);
}

static int load_content(struct walk *w, const struct rd_inode *ino, struct st_node *node)
{
	uint64_t n = rd_inode_n_blocks(ino), done = 0;
	uint8_t *buf;

	/* At most ST_INLINE_CONTENT_MAX bytes (checked in rd_inode_read). */
	buf = malloc(ino->size);
	if (!buf)
		return -ENOMEM;
	for (uint64_t b = 0; b < n; b++) {
		const uint8_t *data;
		uint32_t len;

		rd_inode_block(w->img, ino, b, &data, &len);
		memcpy(buf + done, data, len);
		done += len;
	}
	free(node->content);
	node->content = buf;
	return 0;
}

/* ST_IMAGE_READ_DIGEST_FROM_REDIRECT: an object path "xx/yyyy..." names its digest. */
static void digest_from_redirect(struct st_node *node)
{
	const char *p = node->payload;

	if (!S_ISREG(node->mode) || node->has_digest || !p || strlen(p) != 2 * ST_DIGEST_SIZE + 1 || p[2] != '/')
		return;
	if (hex_decode_lower(p, 2, node->digest, 1) < 0 ||
	    hex_decode_lower(p + 3, 2 * ST_DIGEST_SIZE - 2, node->digest + 1, ST_DIGEST_SIZE - 1) < 0)
		return;
	node->has_digest = true;
}

void rd_node_set_inode(struct st_node *node, const struct rd_inode *ino)
{
	node->mode = ino->mode;
	node->nlink = ino->nlink;
	node->uid = ino->uid;
	node->gid = ino->gid;
	node->rdev = ino->rdev;
	node->mtime_sec = ino->mtime_sec;
	node->mtime_nsec = ino->mtime_nsec;
	node->size = ino->size;
}

static int load_node(struct walk *w, const struct rd_inode *ino, uint64_t parent_nid, unsigned depth,
		     uint64_t active, struct st_node **ret)
{
	struct st_node *node = NULL;
	int r;

	r = charge(w, shape_cost_node(0), ino->nid);
	if (r < 0)
		return r;
	r = st_node_new(&node);
	if (r < 0)
		return r;
	rd_node_set_inode(node, ino);
	/* Before the children: a descendant pointing back here is a cycle. */
	w->by_nid[ino->nid] = node;
	if (w->opts && (w->opts->flags & ST_IMAGE_READ_HARDLINKS_BFS))
		node->scratch = ino->nid;       /* for rd_hardlinks_bfs() */

	if (S_ISDIR(ino->mode)) {
		struct dir_ctx ctx = { .w = w, .dir = node, .dir_nid = ino->nid, .depth = depth, .active = active };

		r = rd_xattrs_load(w->img, ino, node, &w->budget);
		if (r >= 0)
			r = rd_dir_iterate(w->img, ino, parent_nid, on_dirent, &ctx);
	} else {
		bool content = S_ISREG(ino->mode) && ino->size > 0 && ino->layout != EROFS_INODE_CHUNK_BASED;

		if (S_ISLNK(ino->mode) || content) {
			r = charge(w, ino->size, ino->nid);
			if (r >= 0)
				r = content ? load_content(w, ino, node) : load_symlink(w, ino, node);
		}
		if (r >= 0)
			r = rd_xattrs_load(w->img, ino, node, &w->budget);
		if (r >= 0 && w->opts && (w->opts->flags & ST_IMAGE_READ_DIGEST_FROM_REDIRECT))
			digest_from_redirect(node);
	}
	if (r < 0) {
		st_node_free(node);
		return r;
	}
	*ret = node;
	return 0;
}

/* Split the filters into components (ST_IMAGE_READ_FILTER_PATHS); -EINVAL for a bad one. */
static int parse_patterns(const struct st_image_read_options *opts, struct pattern **ret)
{
	_cleanup_free_ struct pattern *v = NULL;

	if (opts->n_filters == 0 || opts->n_filters > RD_PATTERNS_MAX || !opts->filters)
		return st_errf(-EINVAL, "path filters: 1 to %u patterns, not %zu", RD_PATTERNS_MAX, opts->n_filters);
	v = new0(struct pattern, opts->n_filters);
	if (!v)
		return -ENOMEM;
	for (size_t i = 0; i < opts->n_filters; i++) {
		const char *f = opts->filters[i], *c = f;

		if (!f || !*f)
			return st_errf(-EINVAL, "path filter %zu is empty", i);
		for (;;) {
			size_t l = strcspn(c, "/");

			if (l == 0 || l > ST_NAME_MAX || (l == 1 && c[0] == '.') || (l == 2 && c[0] == '.' && c[1] == '.'))
				return st_errf(-EINVAL, "path filter '%s': components must be names (not empty, '.' or '..')", f);
			if (v[i].n == RD_PATTERN_COMPONENTS_MAX)
				return st_errf(-EINVAL, "path filter '%s': more than %u components", f,
					       RD_PATTERN_COMPONENTS_MAX);
			v[i].comp[v[i].n].s = c;
			v[i].comp[v[i].n].len = l;
			v[i].n++;
			if (!c[l])
				break;
			c += l + 1;
		}
	}
	*ret = TAKE_PTR(v);
	return 0;
}

int st_image_read_tree(const void *data, size_t len, const struct st_image_read_options *opts,
		       struct st_node **ret_root, uint32_t *ret_version)
{
	_cleanup_free_ struct st_node **by_nid = NULL;
	_cleanup_free_ struct pattern *patterns = NULL;
	uint64_t active = 0;
	struct st_node *root = NULL;
	struct rd_image img;
	struct rd_inode ino;
	struct walk w;
	int r;

	if (!data && len > 0)
		return -EINVAL;
	if (opts && (opts->flags & ST_IMAGE_READ_FILTER_PATHS)) {
		r = parse_patterns(opts, &patterns);
		if (r < 0)
			return r;
		active = opts->n_filters == 64 ? UINT64_MAX : (UINT64_C(1) << opts->n_filters) - 1;
	}
	r = rd_image_init(&img, data, len);
	if (r < 0)
		return r;
	r = rd_inode_read(&img, img.root_nid, &ino);
	if (r < 0)
		return r;
	if (!S_ISDIR(ino.mode))
		return RD_CORRUPT("root nid %" PRIu64 " is not a directory (mode 0%o)", img.root_nid, ino.mode);

	/* Lazily zeroed pages: only the slots of visited nids are touched. */
	by_nid = new0(struct st_node *, img.nid_end);
	if (!by_nid)
		return -ENOMEM;
	w = (struct walk){
		.img = &img,
		.opts = opts,
		.patterns = patterns,
		.by_nid = by_nid,
		.budget = shape_read_budget(img.len),
	};
	r = load_node(&w, &ino, img.root_nid, 0, active, &root);
	if (r >= 0 && opts && (opts->flags & ST_IMAGE_READ_HARDLINKS_BFS))
		r = rd_hardlinks_bfs(root, w.skipped, w.n_skipped);
	free(w.skipped);
	if (r < 0) {
		st_node_free(root);
		return r;
	}
	*ret_root = root;
	if (ret_version)
		*ret_version = img.version;
	return 0;
}
