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
 * surrounding non-hardlinked entries, counting the entries the reader leaves
 * out of the tree (the 00..ff root stubs: without them a link at the end of
 * the root and its target at the start of the next level both "fit"); choosing it makes image -> tree ->
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

/* One entry in breadth-first order: a tree node, or (node NULL) a skipped entry. */
struct occ {
	struct st_node *node;
	uint64_t nid;           /* for skipped entries */
};

static int cmp_skipped(const void *a, const void *b)
{
	const struct rd_skipped *x = a, *y = b;
	uintptr_t dx = (uintptr_t)x->dir, dy = (uintptr_t)y->dir;

	if (dx != dy)
		return dx < dy ? -1 : 1;
	if (x->index != y->index)
		return x->index < y->index ? -1 : 1;
	return x->nid < y->nid ? -1 : x->nid > y->nid;
}

/* First skipped entry of dir (the array is sorted by cmp_skipped), or n. */
static size_t first_skipped(const struct rd_skipped *sk, size_t n, const struct st_node *dir)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uintptr_t)sk[mid].dir < (uintptr_t)dir)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/*
 * Every entry below the root in breadth-first order, children in stored
 * order, with the skipped entries put back where they stood: the writer gave
 * them inodes in that order too, so they bound where a hardlink can sit.
 */
static int collect_bfs(struct st_node *root, const struct rd_skipped *sk, size_t n_sk, struct occ **ret,
		       size_t *ret_n)
{
	_cleanup_free_ struct occ *v = NULL;
	size_t n = 0, cap = 0;

	for (size_t head = 0; head <= n; head++) {
		struct st_node *dir = head == 0 ? root : v[head - 1].node;
		size_t s;

		if (!dir || dir->link_target || !node_is_dir(dir))
			continue;
		s = first_skipped(sk, n_sk, dir);
		for (size_t i = 0; i <= dir->n_children; i++) {
			for (; s < n_sk && sk[s].dir == dir && sk[s].index == i; s++) {
				if (GROW(v, cap, n + 1) < 0)
					return -ENOMEM;
				v[n++] = (struct occ){ .node = NULL, .nid = sk[s].nid };
			}
			if (i == dir->n_children)
				break;
			if (GROW(v, cap, n + 1) < 0)
				return -ENOMEM;
			v[n++] = (struct occ){ .node = dir->children[i] };
		}
	}
	*ret = TAKE_PTR(v);
	*ret_n = n;
	return 0;
}

static struct st_node *real(struct st_node *n)
{
	return n->link_target ? n->link_target : n;
}

/* nid of an entry that is not hardlinked (an anchor), or UINT64_MAX for a hardlinked one. */
static uint64_t anchor_nid(const struct occ *o)
{
	const struct st_node *t;

	if (!o->node)
		return o->nid;
	t = real(o->node);
	return t->scratch & HAS_ALIAS ? UINT64_MAX : t->scratch & NID_MASK;
}

int rd_hardlinks_bfs(struct st_node *root, struct rd_skipped *skipped, size_t n_skipped)
{
	_cleanup_free_ struct occ *occ = NULL;
	_cleanup_free_ uint64_t *next = NULL;
	uint64_t prev;
	size_t n;
	int r;

	if (n_skipped > 0)
		qsort(skipped, n_skipped, sizeof(*skipped), cmp_skipped);
	r = collect_bfs(root, skipped, n_skipped, &occ, &n);
	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++)
		if (occ[i].node && occ[i].node->link_target)
			occ[i].node->link_target->scratch |= HAS_ALIAS;

	/* next[i]: nid of the first anchor at or after i (they increase). */
	next = new(uint64_t, n + 1);
	if (!next)
		return -ENOMEM;
	next[n] = UINT64_MAX;
	for (size_t i = n; i-- > 0;) {
		uint64_t a = anchor_nid(&occ[i]);
		next[i] = a == UINT64_MAX ? next[i + 1] : a;
	}

	prev = root->scratch & NID_MASK;
	for (size_t i = 0; i < n && r >= 0; i++) {
		uint64_t a = anchor_nid(&occ[i]), nid;
		struct st_node *t;

		if (a != UINT64_MAX) {
			prev = a;
			continue;
		}
		t = real(occ[i].node);
		nid = t->scratch & NID_MASK;
		if ((t->scratch & PLACED) || nid <= prev || nid >= next[i + 1])
			continue;
		t->scratch |= PLACED;
		if (occ[i].node != t)
			r = swap_with_alias(occ[i].node, t);
	}

	root->scratch = 0;
	for (size_t i = 0; i < n; i++)
		if (occ[i].node)
			real(occ[i].node)->scratch = 0;
	return r;
}
