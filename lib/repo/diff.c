/* SPDX-License-Identifier: MIT */
/*
 * Tree comparison: one merged walk over two trees whose children are both
 * sorted by name, reporting each difference to a callback.
 */
#include <errno.h>
#include <string.h>

#include "basic/error.h"
#include "basic/macro.h"
#include "sealtree/repo-read.h"
#include "sealtree/verity.h"
#include "tree/tree-internal.h"

struct diff_ctx {
	unsigned flags;
	st_diff_fn fn;
	void *userdata;
	char *path;             /* "" for the root, else "/a/b"; NUL-terminated */
	size_t len, cap;
};

static int path_push(struct diff_ctx *c, const char *name, size_t *ret_saved)
{
	size_t l = strlen(name), need;

	if (ADD_OVERFLOW(c->len, l + 2, &need))
		return -ENOMEM;
	if (GROW(c->path, c->cap, need) < 0)
		return -ENOMEM;
	*ret_saved = c->len;
	c->path[c->len++] = '/';
	memcpy(c->path + c->len, name, l);
	c->len += l;
	c->path[c->len] = '\0';
	return 0;
}

static void path_pop(struct diff_ctx *c, size_t saved)
{
	c->len = saved;
	c->path[c->len] = '\0';
}

static int report(struct diff_ctx *c, enum st_diff_status status, unsigned changes, const struct st_node *old_node,
		  const struct st_node *new_node)
{
	struct st_diff_entry e = {
		.path = c->len ? c->path : "/",
		.status = status,
		.changes = changes,
		.old_node = old_node,
		.new_node = new_node,
	};
	return c->fn(c->userdata, &e);
}

/* Report node (and, unless told not to, everything below it) as added or removed. */
static int report_subtree(struct diff_ctx *c, enum st_diff_status status, const struct st_node *node)
{
	const struct st_node *n = node->link_target ? node->link_target : node;
	int r;

	r = report(c, status, 0, status == ST_DIFF_REMOVED ? n : NULL, status == ST_DIFF_ADDED ? n : NULL);
	if (r < 0)
		return r;
	if (!S_ISDIR(n->mode) || (c->flags & ST_DIFF_NO_RECURSE))
		return 0;
	for (size_t i = 0; i < n->n_children; i++) {
		size_t saved;

		r = path_push(c, n->children[i]->name, &saved);
		if (r < 0)
			return r;
		r = report_subtree(c, status, n->children[i]);
		path_pop(c, saved);
		if (r < 0)
			return r;
	}
	return 0;
}

static bool xattrs_equal(const struct st_node *a, const struct st_node *b)
{
	if (a->n_xattrs != b->n_xattrs)
		return false;
	for (size_t i = 0; i < a->n_xattrs; i++) {
		const struct st_xattr *x = &a->xattrs[i];
		const struct st_xattr *y = node_get_xattr(b, x->name);

		if (!y || y->value_len != x->value_len || memcmp(x->value, y->value, x->value_len) != 0)
			return false;
	}
	return true;
}

/* 1 if the regular files a and b hold different bytes, 0 if not, or a negative errno. */
static int content_differs(const struct st_node *a, const struct st_node *b)
{
	uint8_t d[ST_DIGEST_SIZE];
	int r;

	if (a->size != b->size)
		return 1;
	if (a->size == 0)
		return 0;
	if (a->has_digest && b->has_digest)
		return memcmp(a->digest, b->digest, ST_DIGEST_SIZE) != 0;
	if (a->content && b->content)
		return memcmp(a->content, b->content, a->size) != 0;
	if ((a->content && b->has_digest) || (a->has_digest && b->content)) {
		const struct st_node *inl = a->content ? a : b, *obj = a->content ? b : a;

		r = st_verity_digest_buffer(inl->content, inl->size, d);
		if (r < 0)
			return r;
		return memcmp(d, obj->digest, ST_DIGEST_SIZE) != 0;
	}
	/* No digest on either side (a tree scanned without digests): the payloads. */
	if (!a->payload || !b->payload)
		return a->payload != b->payload || a->content != b->content;
	return strcmp(a->payload, b->payload) != 0;
}

static int diff_dir(struct diff_ctx *c, const struct st_node *a, const struct st_node *b);

static int diff_node(struct diff_ctx *c, const struct st_node *a_name, const struct st_node *b_name)
{
	const struct st_node *a = node_resolve((struct st_node *)a_name);
	const struct st_node *b = node_resolve((struct st_node *)b_name);
	unsigned changes = 0;
	int r;

	if ((a->mode & S_IFMT) != (b->mode & S_IFMT)) {
		r = report(c, ST_DIFF_TYPE, 0, a, b);
		if (r < 0 || (c->flags & ST_DIFF_NO_RECURSE))
			return r;
		/* What the old directory held is gone, what the new one holds is new. */
		for (size_t i = 0; S_ISDIR(a->mode) && i < a->n_children; i++) {
			size_t saved;

			r = path_push(c, a->children[i]->name, &saved);
			if (r < 0)
				return r;
			r = report_subtree(c, ST_DIFF_REMOVED, a->children[i]);
			path_pop(c, saved);
			if (r < 0)
				return r;
		}
		for (size_t i = 0; S_ISDIR(b->mode) && i < b->n_children; i++) {
			size_t saved;

			r = path_push(c, b->children[i]->name, &saved);
			if (r < 0)
				return r;
			r = report_subtree(c, ST_DIFF_ADDED, b->children[i]);
			path_pop(c, saved);
			if (r < 0)
				return r;
		}
		return 0;
	}

	if ((a->mode & 07777) != (b->mode & 07777))
		changes |= ST_DIFF_MODE;
	if (a->uid != b->uid || a->gid != b->gid)
		changes |= ST_DIFF_OWNER;
	if (!(c->flags & ST_DIFF_IGNORE_MTIME) && (a->mtime_sec != b->mtime_sec || a->mtime_nsec != b->mtime_nsec))
		changes |= ST_DIFF_MTIME;
	if (!xattrs_equal(a, b))
		changes |= ST_DIFF_XATTRS;
	if (S_ISLNK(a->mode) && strcmp(a->payload ? a->payload : "", b->payload ? b->payload : "") != 0)
		changes |= ST_DIFF_TARGET;
	if ((S_ISCHR(a->mode) || S_ISBLK(a->mode)) && a->rdev != b->rdev)
		changes |= ST_DIFF_RDEV;
	if (S_ISREG(a->mode)) {
		r = content_differs(a, b);
		if (r < 0)
			return r;
		if (r > 0)
			changes |= ST_DIFF_CONTENT;
	}
	if (changes) {
		r = report(c, (changes & ST_DIFF_CONTENT) ? ST_DIFF_MODIFIED : ST_DIFF_METADATA, changes, a, b);
		if (r < 0)
			return r;
	}
	if (S_ISDIR(a->mode))
		return diff_dir(c, a, b);
	return 0;
}

static int diff_dir(struct diff_ctx *c, const struct st_node *a, const struct st_node *b)
{
	size_t i = 0, j = 0;
	int r;

	while (i < a->n_children || j < b->n_children) {
		const struct st_node *x = i < a->n_children ? a->children[i] : NULL;
		const struct st_node *y = j < b->n_children ? b->children[j] : NULL;
		int cmp = !x ? 1 : !y ? -1 : strcmp(x->name, y->name);
		size_t saved;

		r = path_push(c, cmp <= 0 ? x->name : y->name, &saved);
		if (r < 0)
			return r;
		if (cmp < 0) {
			r = report_subtree(c, ST_DIFF_REMOVED, x);
			i++;
		} else if (cmp > 0) {
			r = report_subtree(c, ST_DIFF_ADDED, y);
			j++;
		} else {
			r = diff_node(c, x, y);
			i++;
			j++;
		}
		path_pop(c, saved);
		if (r < 0)
			return r;
	}
	return 0;
}

int st_tree_diff(struct st_node *old_root, struct st_node *new_root, unsigned flags, st_diff_fn fn, void *userdata)
{
	struct diff_ctx c = { .flags = flags, .fn = fn, .userdata = userdata };
	int r;

	if (!old_root || !new_root || !fn || (flags & ~(unsigned)(ST_DIFF_IGNORE_MTIME | ST_DIFF_NO_RECURSE)))
		return -EINVAL;
	if (GROW(c.path, c.cap, 256) < 0)
		return -ENOMEM;
	c.path[0] = '\0';
	r = diff_node(&c, old_root, new_root);
	free(c.path);
	return r;
}
