/* SPDX-License-Identifier: MIT */
/*
 * The merged tree of an image: each layer's tree (read by layer.c) applied
 * over the layers below, as the OCI image spec's changesets say
 * (docs/formats/oci.md, "Layers"):
 *
 *  - ".wh..wh..opq" in a directory hides everything the layers below had
 *    in it; ".wh.NAME" removes NAME of the layers below. Whiteouts apply
 *    before the layer's own entries, so a layer may remove and re-create
 *    a name. A whiteout naming nothing ("", ".", ".."), one that is a
 *    directory, and any other ".wh." name are refused: a layer could
 *    otherwise hide entries where no runtime would.
 *  - A directory over a directory merges (the upper one's metadata counts
 *    if a member of its layer described it); anything else replaces what
 *    was there, whole.
 *  - Device nodes are refused (oci_check_no_devices(), which oci push uses too).
 *
 * Nodes a later layer removes may still be the inode of a hardlink that
 * stays (a layer adds /b as a link to /a, a later one removes /a). They
 * are therefore never freed during the merge but kept, with the layers'
 * leftover trees, until oci_merge_finish() has re-formed such groups: the
 * first surviving name takes the inode over.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "oci-internal.h"
#include "tree/tar.h"
#include "tree/tree-internal.h"

#define WH_PREFIX ".wh."
#define WH_OPAQUE ".wh..wh..opq"
#define LIVE_MARK 0x4c495645u   /* odd: never a node pointer */

struct oci_merge {
	struct st_node *root;
	struct st_node **dead;          /* removed nodes and the layers' leftovers, freed at the end */
	size_t n_dead, cap_dead;
};

int oci_merge_new(struct oci_merge **ret)
{
	struct oci_merge *mg = calloc(1, sizeof(*mg));
	int r;

	if (!mg)
		return -ENOMEM;
	r = st_node_new(&mg->root);
	if (r < 0) {
		free(mg);
		return r;
	}
	mg->root->mode = S_IFDIR | 0755;
	*ret = mg;
	return 0;
}

struct oci_merge *oci_merge_free(struct oci_merge *mg)
{
	if (!mg)
		return NULL;
	st_node_free(mg->root);
	for (size_t i = 0; i < mg->n_dead; i++)
		st_node_free(mg->dead[i]);
	free(mg->dead);
	free(mg);
	return NULL;
}

static int bury(struct oci_merge *mg, struct st_node *n)
{
	if (GROW(mg->dead, mg->cap_dead, mg->n_dead + 1) < 0)
		return -ENOMEM;
	mg->dead[mg->n_dead++] = n;
	return 0;
}

/* Take child i out of its parent (the node keeps its name; node_add_child() replaces it). */
static struct st_node *detach(struct st_node *parent, size_t i)
{
	struct st_node *c = parent->children[i];

	memmove(&parent->children[i], &parent->children[i + 1], (parent->n_children - i - 1) * sizeof(c));
	parent->n_children--;
	c->parent = NULL;
	return c;
}

static int remove_child(struct oci_merge *mg, struct st_node *dir, const char *name, size_t len)
{
	bool found;
	size_t i = node_child_index(dir, name, len, &found);

	if (!found)
		return 0;
	return bury(mg, detach(dir, i));
}

/* An explicit upper directory's metadata onto the merged one (xattrs swapped: the layer's copy dies). */
static void take_dir_metadata(struct st_node *m, struct st_node *c)
{
#define SWAP(f)                              \
	do {                                 \
		__typeof__(m->f) tmp_ = m->f; \
		m->f = c->f;                 \
		c->f = tmp_;                 \
	} while (0)
	m->mode = c->mode;
	m->uid = c->uid;
	m->gid = c->gid;
	m->mtime_sec = c->mtime_sec;
	m->mtime_nsec = c->mtime_nsec;
	SWAP(xattrs);
	SWAP(n_xattrs);
	SWAP(cap_xattrs);
	SWAP(xattr_budget);
#undef SWAP
}

static int whiteout_err(const char *what, const struct st_node *dir, const char *name, const char *why)
{
	_cleanup_free_ char *path = NULL;

	(void)node_get_path(dir, &path);
	return st_errf(-EINVAL, "%s: entry '%s%s%s': %s", what, path && strcmp(path, "/") != 0 ? path : "",
		       "/", name, why);
}

/*
 * The layer's whiteouts, all of them before any of its entries: ".wh.NAME"
 * removes NAME of the layers below, ".wh..wh..opq" empties the directory
 * of them. Descends where a directory of the layer meets one of the
 * layers below (elsewhere there is nothing below to hide).
 */
static int apply_whiteouts(struct oci_merge *mg, struct st_node *m, struct st_node *l, const char *what,
			   unsigned depth)
{
	int r;

	if (depth > ST_TAR_DEPTH_MAX)
		return st_errf(-EINVAL, "%s: nested too deep", what);
	for (size_t i = 0; i < l->n_children; i++) {
		struct st_node *c = l->children[i];
		const char *name = c->name, *target;

		if (strncmp(name, WH_PREFIX, strlen(WH_PREFIX)) != 0)
			continue;
		if (node_is_dir(c) && !c->link_target)
			return whiteout_err(what, l, name, "a whiteout that is a directory");
		if (strcmp(name, WH_OPAQUE) == 0) {
			while (m->n_children > 0) {
				r = bury(mg, detach(m, m->n_children - 1));
				if (r < 0)
					return r;
			}
			continue;
		}
		target = name + strlen(WH_PREFIX);
		if (!*target || strcmp(target, ".") == 0 || strcmp(target, "..") == 0)
			return whiteout_err(what, l, name, "a whiteout that names no entry (of the directory itself?)");
		if (strncmp(target, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			return whiteout_err(what, l, name, "a whiteout of a whiteout name");
		r = remove_child(mg, m, target, strlen(target));
		if (r < 0)
			return r;
	}
	for (size_t i = 0; i < l->n_children; i++) {
		struct st_node *c = l->children[i], *old;
		bool found;
		size_t j;

		if (!node_is_dir(c) || c->link_target || strncmp(c->name, WH_PREFIX, strlen(WH_PREFIX)) == 0)
			continue;
		j = node_child_index(m, c->name, strlen(c->name), &found);
		old = found ? m->children[j] : NULL;
		if (old && node_is_dir(old) && !old->link_target) {
			r = apply_whiteouts(mg, old, c, what, depth + 1);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* The layer's entries (its whiteouts applied already), each moved out of the layer's tree into the merged one. */
static int merge_dir(struct oci_merge *mg, struct st_node *m, struct st_node *l, const char *what, unsigned depth)
{
	int r;

	if (depth > ST_TAR_DEPTH_MAX)
		return st_errf(-EINVAL, "%s: nested too deep", what);
	for (size_t i = 0; i < l->n_children;) {
		struct st_node *c = l->children[i], *old;
		bool found;
		size_t j;

		if (strncmp(c->name, WH_PREFIX, strlen(WH_PREFIX)) == 0) {
			i++;
			continue;
		}
		j = node_child_index(m, c->name, strlen(c->name), &found);
		old = found ? m->children[j] : NULL;
		if (old && node_is_dir(old) && !old->link_target && node_is_dir(c) && !c->link_target) {
			if (c->scratch & ST_TAR_DIR_EXPLICIT)
				take_dir_metadata(old, c);
			r = merge_dir(mg, old, c, what, depth + 1);
			if (r < 0)
				return r;
			i++;
			continue;
		}
		if (old) {
			r = bury(mg, detach(m, j));
			if (r < 0)
				return r;
		}
		c = detach(l, i);
		r = node_add_child(m, c, c->name, strlen(c->name));
		if (r < 0) {
			(void)bury(mg, c);
			return st_errf(r, "%s: cannot add '%s' to the merged tree", what, c->name);
		}
	}
	return 0;
}

/*
 * A hardlink of the layer to a file of the layers below: its target, as
 * the merged tree stands once the layer's whiteouts are applied, must be
 * a regular file, reached through directories only (never a symlink: no
 * escape), with no "..". The link's node becomes an alias of that file,
 * and so do the layer's other links to it.
 */
static int link_err(const char *what, const struct st_node *node, const char *target, const char *why)
{
	_cleanup_free_ char *path = NULL;

	(void)node_get_path(node, &path);
	return st_errf(-EINVAL, "%s: entry '%s': hardlink to '%s', %s", what, path ? path + (path[0] == '/') : "?",
		       target, why);
}

static struct st_node *lookup_lower(struct st_node *root, const char *target, const char **ret_why)
{
	struct st_node *n = root;
	unsigned depth = 0;

	for (const char *p = target; *p;) {
		size_t k = strcspn(p, "/");
		bool found;
		size_t j;

		if (k == 0 || (k == 1 && p[0] == '.')) {
			p += k + (p[k] == '/');
			continue;
		}
		if ((k == 2 && p[0] == '.' && p[1] == '.') || ++depth > ST_TAR_DEPTH_MAX) {
			*ret_why = "a name with '..' or too deep";
			return NULL;
		}
		if (n->link_target || !node_is_dir(n)) {
			*ret_why = "a name through something that is not a directory of the layers below";
			return NULL;
		}
		j = node_child_index(n, p, k, &found);
		if (!found) {
			*ret_why = "which is not in the layers below (never there, or removed by a whiteout)";
			return NULL;
		}
		n = n->children[j];
		p += k + (p[k] == '/');
	}
	if (n == root) {
		*ret_why = "the root";
		return NULL;
	}
	return n;
}

static void repoint_links(struct st_node *n, const struct st_node *from, struct st_node *to)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i];

		if (c->link_target == from)
			c->link_target = to;
		else if (!c->link_target && node_is_dir(c))
			repoint_links(c, from, to);
	}
}

static int resolve_lower_links(struct oci_merge *mg, struct st_node *layer, const struct oci_lower_link *links,
			       size_t n_links, const char *what)
{
	for (size_t i = 0; i < n_links; i++) {
		struct st_node *p = node_resolve(links[i].node), *t;
		const char *why = NULL;

		t = lookup_lower(mg->root, links[i].target, &why);
		if (!t)
			return link_err(what, links[i].node, links[i].target, why);
		t = node_resolve(t);
		if (node_is_dir(t))
			return link_err(what, links[i].node, links[i].target, "a directory");
		if (!S_ISREG(t->mode))
			return link_err(what, links[i].node, links[i].target, "which is not a regular file");
		if (p->link_target)     /* resolved already through another link of the group */
			continue;
		repoint_links(layer, p, t);
		p->link_target = t;
	}
	return 0;
}

/*
 * Device nodes are refused: mounted without nodev, an image's /dev/sda
 * would open the host's disk; a runtime makes the devices a container
 * needs. (The tar reader keeps them for host trees; layers are not.)
 */
int oci_check_no_devices(const struct st_node *n, const char *what)
{
	for (size_t i = 0; i < n->n_children; i++) {
		const struct st_node *c = n->children[i];

		if (!c->link_target && (S_ISCHR(c->mode) || S_ISBLK(c->mode))) {
			_cleanup_free_ char *path = NULL;

			(void)node_get_path(c, &path);
			return st_errf(-EINVAL, "%s: entry '%s': a %s device node (layers may not carry devices)", what,
				       path ?: c->name, S_ISCHR(c->mode) ? "character" : "block");
		}
		if (node_is_dir(c) && !c->link_target) {
			int r = oci_check_no_devices(c, what);

			if (r < 0)
				return r;
		}
	}
	return 0;
}

int oci_merge_layer(struct oci_merge *mg, struct st_node *layer, const struct oci_lower_link *links, size_t n_links,
		    const char *what)
{
	int r;

	r = bury(mg, layer);
	if (r < 0) {
		st_node_free(layer);
		return r;
	}
	r = oci_check_no_devices(layer, what);
	if (r < 0)
		return r;
	if (layer->scratch & ST_TAR_DIR_EXPLICIT)
		take_dir_metadata(mg->root, layer);
	r = apply_whiteouts(mg, mg->root, layer, what, 0);
	if (r >= 0)
		r = resolve_lower_links(mg, layer, links, n_links, what);
	if (r >= 0)
		r = merge_dir(mg, mg->root, layer, what, 0);
	return r;
}

static void mark_live(struct st_node *n)
{
	n->scratch = LIVE_MARK;
	for (size_t i = 0; i < n->n_children; i++)
		mark_live(n->children[i]);
}

/* The inode of dead t moves to the alias a, which stops being an alias. */
static void take_inode(struct st_node *a, struct st_node *t)
{
	node_swap_inode(a, t);
	a->link_target = NULL;
	a->nlink = 1;
}

/* Aliases whose inode died get the first surviving one as their inode; nlink counts live names only. */
static void fix_links(struct st_node *n)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i], *t = c->link_target;

		if (!t) {
			if (node_is_dir(c))
				fix_links(c);
			else
				c->nlink = 1;
			continue;
		}
		if (t->scratch != LIVE_MARK) {
			if (t->scratch == 0) {
				take_inode(c, t);
				t->scratch = (uintptr_t)c;
				c->scratch = LIVE_MARK;
				continue;
			}
			c->link_target = (struct st_node *)(uintptr_t)t->scratch;
		}
	}
}

static void count_links(struct st_node *n)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i];

		if (c->link_target)
			c->link_target->nlink++;
		else if (node_is_dir(c))
			count_links(c);
	}
}

static void reset_nlink(struct st_node *n)
{
	for (size_t i = 0; i < n->n_children; i++) {
		struct st_node *c = n->children[i];

		if (c->link_target)
			continue;
		if (node_is_dir(c))
			reset_nlink(c);
		else
			c->nlink = 1;
	}
}

static void clear_scratch(struct st_node *n)
{
	n->scratch = 0;
	for (size_t i = 0; i < n->n_children; i++)
		clear_scratch(n->children[i]);
}

int oci_merge_finish(struct oci_merge *mg, struct st_node **ret_root)
{
	/* Dead nodes that are inodes have scratch 0 (the tar reader leaves files so); directories are never inodes. */
	for (size_t i = 0; i < mg->n_dead; i++)
		clear_scratch(mg->dead[i]);
	mark_live(mg->root);
	fix_links(mg->root);
	reset_nlink(mg->root);
	count_links(mg->root);
	clear_scratch(mg->root);
	st_tar_canonicalize_links(mg->root);
	*ret_root = TAKE_PTR(mg->root);
	oci_merge_free(mg);
	return 0;
}
