/* SPDX-License-Identifier: MIT */
/*
 * Hardlink groups of a tree read from a tar stream, placed as the directory
 * scan places them: the archive's first member of a group carries the
 * inode, but st_scan_directory(ST_SCAN_HARDLINKS) gives it to the name that
 * comes first in sorted depth-first order, so the inode's data moves there
 * and every other name becomes an alias of it.
 *
 * node->scratch of non-directories is used for the walk (a pointer to the
 * group's first name, kept on the group's current inode) and left 0; that of
 * directories is not touched (the reader's marks, see keep_dir_marks).
 */
#include "tar.h"

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

static void clear_scratch(struct st_node *n)
{
	if (!node_is_dir(n) || n->link_target)
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
		node_swap_inode(c, first);
		first->link_target = NULL;
		c->link_target = first;
	}
}

void st_tar_canonicalize_links(struct st_node *root)
{
	clear_scratch(root);
	canon_links_visit(root, false);
	swap_visit(root);
	canon_links_visit(root, true);
	clear_scratch(root);
}

