/* SPDX-License-Identifier: MIT */
/*
 * Placing parsed nodes in the tree: path checks, parent lookup through the
 * cached directory chain, duplicate detection, child order, and hardlink
 * resolution after the last line.
 */
#include <string.h>

#include "dump-parse-internal.h"
#include "tree-internal.h"

#define snippet dump_snippet

/*
 * Check an unescaped absolute path: "/" or "/name[/name...]", each name
 * valid for a directory entry. Returns the number of components.
 */
int dump_check_path(struct parser *p, const char *path, size_t len, const char *what)
{
	char buf[72];
	size_t depth = 0;

	if (len == 0)
		return parse_error(p, -EINVAL, "empty %s", what);
	if (path[0] != '/')
		return parse_error(p, -EINVAL, "%s '%s' is not absolute", what, snippet(path, len, buf));
	if (memchr(path, '\0', len))
		return parse_error(p, -EINVAL, "%s '%s' contains a NUL byte", what, snippet(path, len, buf));
	if (len == 1)
		return 0;
	for (size_t i = 1; i <= len;) {
		const char *slash = memchr(path + i, '/', len - i);
		size_t end = slash ? (size_t)(slash - path) : len;
		size_t n = end - i;

		if (n == 0)
			return parse_error(p, -EINVAL, "%s '%s' has an empty component", what,
					   snippet(path, len, buf));
		if (n > ST_NAME_MAX)
			return parse_error(p, -ERANGE, "%s '%s' has a component longer than %d bytes", what,
					   snippet(path, len, buf), ST_NAME_MAX);
		if (node_name_valid(path + i, n) < 0)
			return parse_error(p, -EINVAL, "%s '%s' has a '.' or '..' component", what,
					   snippet(path, len, buf));
		if (++depth > DUMP_DEPTH_MAX)
			return parse_error(p, -ERANGE, "%s is nested deeper than %d levels", what, DUMP_DEPTH_MAX);
		i = end + 1;
		if (!slash)
			break;
		if (i == len)
			return parse_error(p, -EINVAL, "%s '%s' ends with '/'", what, snippet(path, len, buf));
	}
	return (int)depth;
}

/* strcmp() order of (name, len) against a stored name. */
static int name_cmp(const char *name, size_t len, const char *stored)
{
	size_t slen = strlen(stored);
	int c = memcmp(name, stored, MIN(len, slen));

	return c ? c : len < slen ? -1 : len > slen ? 1 : 0;
}

/*
 * A directory keeps its children sorted as long as input comes in order
 * (lookups: binary search). The first child out of order makes it
 * "unsorted" (scratch = 1): from then on its children are appended, found
 * through the hash index, and sorted once when parsing ends.
 */
static struct st_node *find_child(struct parser *p, struct st_node *parent, const char *name, size_t len)
{
	if (parent->scratch)
		return dump_child_index_lookup(&p->index, parent, name, len);
	return node_lookup_child(parent, name, len);
}

static int mark_unsorted(struct parser *p, struct st_node *parent)
{
	if (GROW(p->unsorted, p->cap_unsorted, p->n_unsorted + 1) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < parent->n_children; i++) {
		struct st_node *c = parent->children[i];
		if (dump_child_index_add(&p->index, c, strlen(c->name)) < 0)
			return -ENOMEM;
	}
	p->unsorted[p->n_unsorted++] = parent;
	parent->scratch = 1;
	return 0;
}

static int append_child(struct parser *p, struct st_node *parent, struct st_node *child, const char *name,
			size_t name_len)
{
	if (!parent->scratch && parent->n_children > 0 &&
	    name_cmp(name, name_len, parent->children[parent->n_children - 1]->name) < 0 &&
	    mark_unsorted(p, parent) < 0)
		return -ENOMEM;
	if (GROW(parent->children, parent->cap_children, parent->n_children + 1) < 0)
		return -ENOMEM;
	child->name = strndup(name, name_len);
	if (!child->name)
		return -ENOMEM;
	child->parent = parent;
	if (parent->scratch && dump_child_index_add(&p->index, child, name_len) < 0) {
		free(child->name);
		child->name = NULL;
		child->parent = NULL;
		return -ENOMEM;
	}
	parent->children[parent->n_children++] = child;
	return 0;
}

static int chain_push(struct parser *p, struct st_node *dir, const char *name, size_t name_len)
{
	size_t need;

	if (GROW(p->chain, p->chain_cap, p->chain_len + 1) < 0 ||
	    GROW(p->chain_end, p->chain_end_cap, p->chain_len + 1) < 0)
		return -ENOMEM;
	if (name_len > 0) {
		if (ADD_OVERFLOW(p->dir_len, name_len + 1, &need) || GROW(p->dir_path, p->dir_cap, need) < 0)
			return -ENOMEM;
		p->dir_path[p->dir_len] = '/';
		memcpy(p->dir_path + p->dir_len + 1, name, name_len);
		p->dir_len = need;
	}
	p->chain[p->chain_len] = dir;
	p->chain_end[p->chain_len] = p->dir_len;
	p->chain_len++;
	return 0;
}

/*
 * Find the directory holding path (validated, not "/"), starting from the
 * deepest cached directory that is an ancestor of it.
 */
static int find_parent(struct parser *p, const char *path, size_t len, struct st_node **ret_parent)
{
	const char *last = memrchr(path, '/', len);
	size_t parent_len = (size_t)(last - path), common = 0, k, pos;
	size_t limit = MIN(parent_len, p->dir_len);
	char buf[72];

	while (common < limit && path[common] == p->dir_path[common])
		common++;
	for (k = p->chain_len - 1; k > 0; k--) {
		size_t e = p->chain_end[k];
		if (e <= common && (e == parent_len || path[e] == '/'))
			break;
	}
	p->chain_len = k + 1;
	p->dir_len = p->chain_end[k];

	for (pos = p->dir_len; pos < parent_len;) {
		const char *name = path + pos + 1;
		const char *slash = memchr(name, '/', parent_len - pos - 1);
		size_t n = slash ? (size_t)(slash - name) : parent_len - pos - 1;
		struct st_node *child = find_child(p, p->chain[p->chain_len - 1], name, n);

		if (!child)
			return parse_error(p, -ENOENT, "parent directory '%s' of '%s' does not exist",
					   snippet(path, pos + 1 + n, buf), snippet(path, len, (char[72]){ 0 }));
		if (!node_is_dir(child) || child->link_target)
			return parse_error(p, -ENOTDIR, "parent '%s' of '%s' is not a directory",
					   snippet(path, pos + 1 + n, buf), snippet(path, len, (char[72]){ 0 }));
		if (chain_push(p, child, name, n) < 0)
			return -ENOMEM;
		pos += 1 + n;
	}
	*ret_parent = p->chain[p->chain_len - 1];
	return 0;
}

int dump_add_to_tree(struct parser *p, struct st_node **node, const char *path, size_t len)
{
	struct st_node *parent = NULL;
	const char *name;
	size_t name_len;
	char buf[72];
	int r;

	if (len == 1) {
		p->root = TAKE_PTR(*node);
		return chain_push(p, p->root, NULL, 0);
	}
	r = find_parent(p, path, len, &parent);
	if (r < 0)
		return r;
	name = (const char *)memrchr(path, '/', len) + 1;
	name_len = (size_t)(path + len - name);
	if (find_child(p, parent, name, name_len))
		return parse_error(p, -EEXIST, "duplicate path '%s'", snippet(path, len, buf));
	r = append_child(p, parent, *node, name, name_len);
	if (r < 0)
		return r;
	*node = NULL;
	return 0;
}

static int cmp_child(const void *a, const void *b)
{
	return strcmp((*(struct st_node *const *)a)->name, (*(struct st_node *const *)b)->name);
}

/* Restore the children-sorted invariant where input order broke it. */
void dump_sort_children(struct parser *p)
{
	for (size_t i = 0; i < p->n_unsorted; i++) {
		struct st_node *d = p->unsorted[i];
		qsort(d->children, d->n_children, sizeof(d->children[0]), cmp_child);
		d->scratch = 0;
	}
	p->n_unsorted = 0;
}

static struct st_node *lookup_path(struct parser *p, const char *path)
{
	struct st_node *n = p->root;

	if (strcmp(path, "/") == 0)
		return n;
	while (n && *path) {
		const char *name = path + 1;
		size_t len = strcspn(name, "/");

		n = node_lookup_child(n, name, len); /* every directory is sorted by now */
		path = name + len;
	}
	return n;
}

/*
 * Hardlinks are resolved once every line is in, so a target may come after
 * its alias (as in the reference). A chain of aliases is followed to the
 * real inode; cycles, self-links and directory targets are refused.
 */
int dump_resolve_hardlinks(struct parser *p)
{
	char buf[72];

	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];

		p->line = l->line;
		l->target = lookup_path(p, l->target_path);
		if (!l->target)
			return parse_error(p, -ENOENT, "hardlink target '%s' does not exist",
					   snippet(l->target_path, strlen(l->target_path), buf));
		if (l->target == l->alias)
			return parse_error(p, -EINVAL, "hardlink to itself");
	}
	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];
		struct st_node *t = l->target;
		size_t steps = 0;

		p->line = l->line;
		while (t->scratch) {
			struct hardlink *next = &p->links[t->scratch - 1];
			if (next->final) {
				t = next->final;
				break;
			}
			if (++steps > p->n_links)
				return parse_error(p, -ELOOP, "hardlink cycle through '%s'",
						   snippet(l->target_path, strlen(l->target_path), buf));
			t = next->target;
		}
		if (node_is_dir(t))
			return parse_error(p, -EINVAL, "hardlink to directory '%s'",
					   snippet(l->target_path, strlen(l->target_path), buf));
		/* Path compression keeps long alias chains linear. */
		l->final = t;
		for (struct st_node *u = l->target; u->scratch && !p->links[u->scratch - 1].final;) {
			struct hardlink *next = &p->links[u->scratch - 1];
			next->final = t;
			u = next->target;
		}
	}
	for (size_t i = 0; i < p->n_links; i++) {
		struct hardlink *l = &p->links[i];

		p->line = l->line;
		l->alias->scratch = 0;
		if (node_set_link_target(l->alias, l->final) < 0)
			return parse_error(p, -EINVAL, "invalid hardlink target");
	}
	return 0;
}

