/* SPDX-License-Identifier: MIT */
/* Tree walks the repository needs: import transforms and sizes. */
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "repo-internal.h"
#include "tree/tree-internal.h"

/*
 * Visit every inode once (aliases skipped: their target is visited where it
 * lives). The trees' builders cap the depth (2048 levels), so recursion is bounded.
 */
static void for_each_inode(struct st_node *n, void (*fn)(struct st_node *, void *), void *userdata)
{
	if (n->link_target)
		return;
	fn(n, userdata);
	for (size_t i = 0; i < n->n_children; i++)
		for_each_inode(n->children[i], fn, userdata);
}

static void apply_one(struct st_node *n, void *userdata)
{
	const struct st_import_options *opts = userdata;

	if (opts->flags & ST_IMPORT_CANONICAL_PERMISSIONS) {
		uint32_t type = n->mode & S_IFMT;

		n->uid = 0;
		n->gid = 0;
		if (S_ISREG(n->mode))
			n->mode = type | ((n->mode & 0111) ? 0755 : 0644);
		else if (S_ISDIR(n->mode))
			n->mode = type | 0755;
		else if (!S_ISLNK(n->mode))
			n->mode = type | (n->mode & 0777);
	}
	if (opts->flags & (ST_IMPORT_SET_OWNER | ST_IMPORT_SET_UID))
		n->uid = opts->owner_uid;
	if (opts->flags & (ST_IMPORT_SET_OWNER | ST_IMPORT_SET_GID))
		n->gid = opts->owner_gid;
}

void repo_tree_apply_import_options(struct st_node *root, const struct st_import_options *opts)
{
	if (!root || !opts || !(opts->flags & (ST_IMPORT_CANONICAL_PERMISSIONS | ST_IMPORT_SET_OWNER | ST_IMPORT_SET_UID |
					    ST_IMPORT_SET_GID)))
		return;
	for_each_inode(root, apply_one, (void *)opts);
}

struct stats {
	uint64_t inodes, content;
};

static void count_one(struct st_node *n, void *userdata)
{
	struct stats *s = userdata;

	s->inodes++;
	if (S_ISREG(n->mode))
		s->content += n->size;
}

void repo_tree_stats(struct st_node *root, uint64_t *ret_inodes, uint64_t *ret_content_size)
{
	struct stats s = { 0 };

	for_each_inode(root, count_one, &s);
	*ret_inodes = s.inodes;
	*ret_content_size = s.content;
}
