/* SPDX-License-Identifier: MIT */
/* Read-only views of tree nodes for code outside lib/ (include/sealtree/tree.h). */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "basic/error.h"
#include "sealtree/tree.h"
#include "tree-internal.h"

void st_node_get_entry(const struct st_node *node, struct st_entry *ret)
{
	const struct st_node *n = node->link_target ? node->link_target : node;

	memset(ret, 0, sizeof(*ret));
	ret->name = node->name;
	ret->is_hardlink = node->link_target != NULL;
	ret->mode = n->mode;
	ret->nlink = n->nlink;
	ret->uid = n->uid;
	ret->gid = n->gid;
	ret->rdev = n->rdev;
	ret->size = n->size;
	ret->mtime_sec = n->mtime_sec;
	ret->mtime_nsec = n->mtime_nsec;
	if (S_ISLNK(n->mode))
		ret->symlink_target = n->payload;
	if (S_ISREG(n->mode))
		ret->payload = n->payload;
	if (S_ISREG(n->mode))
		ret->content = n->content;
	ret->has_digest = n->has_digest;
	if (n->has_digest)
		memcpy(ret->digest, n->digest, ST_DIGEST_SIZE);
	ret->n_xattrs = n->n_xattrs;
	ret->n_children = S_ISDIR(n->mode) ? n->n_children : 0;
}

struct st_node *st_node_get_child(const struct st_node *node, size_t i)
{
	if (!S_ISDIR(node->mode) || node->link_target || i >= node->n_children)
		return NULL;
	return node->children[i];
}

int st_node_get_xattr(const struct st_node *node, size_t i, const char **ret_name, const uint8_t **ret_value,
		      size_t *ret_len)
{
	const struct st_node *n = node->link_target ? node->link_target : node;

	if (i >= n->n_xattrs)
		return -ERANGE;
	*ret_name = n->xattrs[i].name;
	*ret_value = n->xattrs[i].value;
	*ret_len = n->xattrs[i].value_len;
	return 0;
}

int st_node_path(const struct st_node *node, char **ret)
{
	return node_get_path(node, ret);
}

int st_node_link_path(const struct st_node *node, char **ret)
{
	if (!node->link_target)
		return st_errf(-EINVAL, "'%s' is not a hardlink", node->name ? node->name : "/");
	return node_get_path(node->link_target, ret);
}

int st_tree_lookup(struct st_node *root, const char *path, struct st_node **ret)
{
	struct st_node *n = root;
	const char *p = path;

	if (!root || !path || !ret)
		return -EINVAL;
	for (;;) {
		const char *end;
		size_t len;

		while (*p == '/')
			p++;
		if (!*p)
			break;
		end = strchrnul(p, '/');
		len = (size_t)(end - p);
		if (!node_is_dir(node_resolve(n)))
			return st_errf(-ENOTDIR, "'%.*s' is not a directory", (int)(p - path), path);
		if (len == 1 && p[0] == '.') {
			p = end;
			continue;
		}
		n = node_lookup_child(node_resolve(n), p, len);
		if (!n)
			return st_errf(-ENOENT, "'%.*s' not found in the tree", (int)(end - path), path);
		p = end;
	}
	*ret = n;
	return 0;
}
