/* SPDX-License-Identifier: MIT */
/*
 * ST_IMAGE_READ_HARDLINKS_BFS: move each hardlinked inode's real node to the
 * occurrence the writer must have numbered it at.
 *
 * The reader walks depth first and makes the first occurrence of an inode
 * the node, later ones aliases, as the reference reader does. The writer
 * numbers real nodes breadth first, skipping aliases, and lays inodes out in
 * that order, so the image's nids increase along the breadth-first order of
 * the original tree's real nodes. The original target of a hardlink is
 * therefore the occurrence whose nid fits between the nids of the
 * surrounding non-hardlinked entries; choosing it makes image -> tree ->
 * image reproduce the bytes. Where no occurrence fits (a foreign image) the
 * depth-first choice stays.
 *
 * The move swaps the node with one of its aliases (names, parents and
 * slots); the node object stays the same, so every other alias stays valid.
 * load_node() left each real node's nid in node->scratch; it is reset here.
 */
#include <string.h>

#include "reader-internal.h"

#define HAS_ALIAS (UINT64_C(1) << 63)
#define PLACED (UINT64_C(1) << 62)
#define NID_MASK (PLACED - 1)

static int swap_with_alias(struct st_node *alias, struct st_node *node)
{
	struct st_node *pa = alias->parent, *pn = node->parent;
	size_t ia, in;
	bool found_a, found_n;
	char *name;

	ia = node_child_index(pa, alias->name, strlen(alias->name), &found_a);
	in = node_child_index(pn, node->name, strlen(node->name), &found_n);
	if (!found_a || !found_n)
		return -EINVAL;         /* a broken tree, not bad input */
	pa->children[ia] = node;
	pn->children[in] = alias;
	name = alias->name;
	alias->name = node->name;
	node->name = name;
	alias->parent = pn;
	node->parent = pa;
	return 0;
}

/* Every entry below the root in breadth-first order, children in stored order. */
static int collect_bfs(struct st_node *root, struct st_node ***ret, size_t *ret_n)
{
	_cleanup_free_ struct st_node **v = NULL;
	size_t n = 0, cap = 0;

	for (size_t head = 0; head <= n; head++) {
		struct st_node *dir = head == 0 ? root : v[head - 1];

		if (dir->link_target || !node_is_dir(dir) || dir->n_children == 0)
			continue;
		if (GROW(v, cap, n + dir->n_children) < 0)
			return -ENOMEM;
		memcpy(v + n, dir->children, dir->n_children * sizeof(*v));
		n += dir->n_children;
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static struct st_node *real(struct st_node *n)
{
	return n->link_target ? n->link_target : n;
}

int rd_hardlinks_bfs(struct st_node *root)
{
	_cleanup_free_ struct st_node **occ = NULL;
	_cleanup_free_ uint64_t *next = NULL;
	uint64_t prev;
	size_t n;
	int r;

	r = collect_bfs(root, &occ, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (occ[i]->link_target)
			occ[i]->link_target->scratch |= HAS_ALIAS;

	/* next[i]: nid of the first non-hardlinked entry after i (they increase). */
	next = new(uint64_t, n + 1);
	if (!next)
		return -ENOMEM;
	next[n] = UINT64_MAX;
	for (size_t i = n; i-- > 0;)
		next[i] = real(occ[i])->scratch & HAS_ALIAS ? next[i + 1] : real(occ[i])->scratch & NID_MASK;

	prev = root->scratch & NID_MASK;
	for (size_t i = 0; i < n && r >= 0; i++) {
		struct st_node *t = real(occ[i]);
		uint64_t nid = t->scratch & NID_MASK;

		if (!(t->scratch & HAS_ALIAS)) {
			prev = nid;
			continue;
		}
		if ((t->scratch & PLACED) || nid <= prev || nid >= next[i + 1])
			continue;
		t->scratch |= PLACED;
		if (occ[i] != t)
			r = swap_with_alias(occ[i], t);
	}

	root->scratch = 0;
	for (size_t i = 0; i < n; i++)
		real(occ[i])->scratch = 0;
	return r;
}
