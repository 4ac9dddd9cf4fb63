/* SPDX-License-Identifier: MIT */
/* The tree node: allocation, children, xattrs, payloads. */
#include <string.h>

#include "basic/error.h"
#include "tree-internal.h"

int st_node_new(struct st_node **ret)
{
	struct st_node *n = new0(struct st_node, 1);

	if (!n)
		return -ENOMEM;
	n->nlink = 1;
	*ret = n;
	return 0;
}

/*
 * An xattr's name and value live in one reference-counted block, so that
 * nodes may share them (node_append_xattr_shared()): an archive of many
 * files carrying one large xattr then holds it once.
 */
struct xattr_blob {
	unsigned refs;          /* atomic: trees may be handed between threads */
	char data[];            /* name, NUL, value */
};

static struct xattr_blob *xattr_blob_of(const struct st_xattr *x)
{
	return (struct xattr_blob *)(void *)(x->name - offsetof(struct xattr_blob, data));
}

static void xattr_release(struct st_xattr *x)
{
	struct xattr_blob *b;

	if (!x->name)
		return;
	b = xattr_blob_of(x);
	if (__atomic_sub_fetch(&b->refs, 1, __ATOMIC_ACQ_REL) == 0)
		free(b);
	*x = (struct st_xattr){ 0 };
}

int node_xattr_new(const char *name, size_t name_len, const void *value, size_t value_len, struct st_xattr *ret)
{
	struct xattr_blob *b;

	if (name_len == 0 || name_len > ST_XATTR_NAME_MAX || memchr(name, '\0', name_len))
		return -EINVAL;
	if (value_len > ST_XATTR_VALUE_MAX)
		return -ERANGE;
	b = malloc(sizeof(*b) + name_len + 1 + value_len);
	if (!b)
		return -ENOMEM;
	b->refs = 1;
	memcpy(b->data, name, name_len);
	b->data[name_len] = '\0';
	if (value_len)
		memcpy(b->data + name_len + 1, value, value_len);
	*ret = (struct st_xattr){
		.name = b->data,
		.value = (uint8_t *)b->data + name_len + 1,
		.value_len = (uint32_t)value_len,
	};
	return 0;
}

void node_xattr_unref(struct st_xattr *x)
{
	xattr_release(x);
}

struct st_node *st_node_free(struct st_node *node)
{
	/* Iterative over the spine of the deepest chain is not needed: depth is
	 * bounded by PATH_MAX-ish producers, and the reader caps nesting. */
	if (!node)
		return NULL;
	for (size_t i = 0; i < node->n_children; i++)
		st_node_free(node->children[i]);
	free(node->children);
	for (size_t i = 0; i < node->n_xattrs; i++)
		xattr_release(&node->xattrs[i]);
	free(node->xattrs);
	free(node->name);
	free(node->payload);
	free(node->content);
	free(node);
	return NULL;
}

int node_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ST_NAME_MAX)
		return -EINVAL;
	if (memchr(name, '/', len) || memchr(name, '\0', len))
		return -EINVAL;
	if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
		return -EINVAL;
	return 0;
}

/* strcmp() order on (name, len) pairs without NUL in them. */
static int name_cmp(const char *a, size_t alen, const char *b)
{
	size_t blen = strlen(b);
	int c = memcmp(a, b, MIN(alen, blen));

	if (c)
		return c;
	return alen < blen ? -1 : alen > blen ? 1 : 0;
}

size_t node_child_index(const struct st_node *parent, const char *name, size_t name_len, bool *found)
{
	size_t lo = 0, hi = parent->n_children;

	*found = false;
	/* Producers mostly append in sorted order: check the end first. */
	if (hi > 0) {
		int c = name_cmp(name, name_len, parent->children[hi - 1]->name);
		if (c > 0)
			return hi;
		if (c == 0) {
			*found = true;
			return hi - 1;
		}
	}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = name_cmp(name, name_len, parent->children[mid]->name);
		if (c == 0) {
			*found = true;
			return mid;
		}
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

struct st_node *node_lookup_child(const struct st_node *parent, const char *name, size_t name_len)
{
	bool found;
	size_t i = node_child_index(parent, name, name_len, &found);

	return found ? parent->children[i] : NULL;
}

int node_add_child(struct st_node *parent, struct st_node *child, const char *name, size_t name_len)
{
	bool found;
	size_t i;
	char *copy;
	int r;

	if (!node_is_dir(parent))
		return -ENOTDIR;
	if (node_name_valid(name, name_len) < 0)
		return -EINVAL;
	i = node_child_index(parent, name, name_len, &found);
	if (found)
		return -EEXIST;
	r = GROW(parent->children, parent->cap_children, parent->n_children + 1);
	if (r < 0)
		return r;
	copy = strndup(name, name_len);
	if (!copy)
		return -ENOMEM;
	memmove(&parent->children[i + 1], &parent->children[i],
		(parent->n_children - i) * sizeof(parent->children[0]));
	parent->children[i] = child;
	parent->n_children++;
	free(child->name);
	child->name = copy;
	child->parent = parent;
	return 0;
}

static uint32_t xattr_cost(size_t name_len, size_t value_len)
{
	return (uint32_t)(7 + name_len + value_len);
}

const struct st_xattr *node_get_xattr(const struct st_node *node, const char *name)
{
	for (size_t i = 0; i < node->n_xattrs; i++)
		if (strcmp(node->xattrs[i].name, name) == 0)
			return &node->xattrs[i];
	return NULL;
}

int node_set_xattr(struct st_node *node, const char *name, size_t name_len, const void *value, size_t value_len)
{
	uint64_t budget = node->xattr_budget;
	struct st_xattr *old = NULL, x;
	int r;

	if (name_len == 0 || name_len > ST_XATTR_NAME_MAX || memchr(name, '\0', name_len))
		return -EINVAL;
	if (value_len > ST_XATTR_VALUE_MAX)
		return -ERANGE;
	for (size_t i = 0; i < node->n_xattrs; i++)
		if (strlen(node->xattrs[i].name) == name_len && memcmp(node->xattrs[i].name, name, name_len) == 0)
			old = &node->xattrs[i];

	if (old)
		budget -= xattr_cost(name_len, old->value_len);
	else if (node->n_xattrs == 0)
		budget += 12;
	budget += xattr_cost(name_len, value_len);
	if (budget > ST_XATTR_BUDGET_MAX)
		return -ERANGE;
	if (!old) {
		r = GROW(node->xattrs, node->cap_xattrs, node->n_xattrs + 1);
		if (r < 0)
			return r;
	}
	r = node_xattr_new(name, name_len, value, value_len, &x);
	if (r < 0)
		return r;
	if (old)
		xattr_release(old);
	else
		old = &node->xattrs[node->n_xattrs++];
	*old = x;
	node->xattr_budget = (uint32_t)budget;
	return 0;
}

/* Add x (a reference is taken) after the budget check; the caller knows the name is new. */
static int append_checked(struct st_node *node, const struct st_xattr *x, size_t name_len, bool take_ref)
{
	uint64_t budget = node->xattr_budget + (node->n_xattrs == 0 ? 12 : 0);

	budget += xattr_cost(name_len, x->value_len);
	if (budget > ST_XATTR_BUDGET_MAX)
		return -ERANGE;
	if (GROW(node->xattrs, node->cap_xattrs, node->n_xattrs + 1) < 0)
		return -ENOMEM;
	if (take_ref)
		__atomic_add_fetch(&xattr_blob_of(x)->refs, 1, __ATOMIC_RELAXED);
	node->xattrs[node->n_xattrs++] = *x;
	node->xattr_budget = (uint32_t)budget;
	return 0;
}

int node_append_xattr(struct st_node *node, const char *name, size_t name_len, const void *value, size_t value_len)
{
	struct st_xattr x;
	uint64_t budget = node->xattr_budget + (node->n_xattrs == 0 ? 12 : 0);
	int r;

	if (name_len == 0 || name_len > ST_XATTR_NAME_MAX || memchr(name, '\0', name_len))
		return -EINVAL;
	if (value_len > ST_XATTR_VALUE_MAX)
		return -ERANGE;
	if (budget + xattr_cost(name_len, value_len) > ST_XATTR_BUDGET_MAX)
		return -ERANGE;
	r = node_xattr_new(name, name_len, value, value_len, &x);
	if (r < 0)
		return r;
	r = append_checked(node, &x, name_len, false);
	if (r < 0)
		xattr_release(&x);
	return r;
}

int node_append_xattr_shared(struct st_node *node, const struct st_xattr *x)
{
	return append_checked(node, x, strlen(x->name), true);
}

int node_remove_xattr(struct st_node *node, const char *name)
{
	for (size_t i = 0; i < node->n_xattrs; i++) {
		struct st_xattr *x = &node->xattrs[i];
		if (strcmp(x->name, name) != 0)
			continue;
		node->xattr_budget -= xattr_cost(strlen(x->name), x->value_len);
		xattr_release(x);
		memmove(x, x + 1, (node->n_xattrs - i - 1) * sizeof(*x));
		node->n_xattrs--;
		if (node->n_xattrs == 0)
			node->xattr_budget = 0;
		return 0;
	}
	return -ENOENT;
}

int node_set_payload(struct st_node *node, const char *payload, size_t len)
{
	char *copy = NULL;

	if (payload) {
		copy = strndup(payload, len);
		if (!copy)
			return -ENOMEM;
	}
	free(node->payload);
	node->payload = copy;
	return 0;
}

int node_set_content(struct st_node *node, const void *data, size_t len)
{
	uint8_t *copy = NULL;

	if (data) {
		copy = malloc(len ? len : 1);
		if (!copy)
			return -ENOMEM;
		memcpy(copy, data, len);
		node->size = len;
	}
	free(node->content);
	node->content = copy;
	return 0;
}

int node_set_link_target(struct st_node *alias, struct st_node *target)
{
	if (target == alias || target->link_target || node_is_dir(target))
		return -EINVAL;
	alias->link_target = target;
	return 0;
}

int node_get_path(const struct st_node *node, char **ret)
{
	size_t len = 0;
	char *buf, *p;

	if (!node->parent) {
		buf = strdup("/");
		if (!buf)
			return -ENOMEM;
		*ret = buf;
		return 0;
	}
	for (const struct st_node *n = node; n->parent; n = n->parent)
		len += 1 + strlen(n->name);
	buf = malloc(len + 1);
	if (!buf)
		return -ENOMEM;
	p = buf + len;
	*p = '\0';
	for (const struct st_node *n = node; n->parent; n = n->parent) {
		size_t l = strlen(n->name);
		p -= l;
		memcpy(p, n->name, l);
		*--p = '/';
	}
	*ret = buf;
	return 0;
}

void node_swap_inode(struct st_node *a, struct st_node *b)
{
#define SWAP(f)                              \
	do {                                 \
		__typeof__(a->f) tmp_ = a->f; \
		a->f = b->f;                 \
		b->f = tmp_;                 \
	} while (0)
	SWAP(mode);
	SWAP(nlink);
	SWAP(uid);
	SWAP(gid);
	SWAP(rdev);
	SWAP(mtime_sec);
	SWAP(mtime_nsec);
	SWAP(size);
	SWAP(payload);
	SWAP(content);
	SWAP(has_digest);
	SWAP(xattrs);
	SWAP(n_xattrs);
	SWAP(cap_xattrs);
	SWAP(xattr_budget);
	for (size_t i = 0; i < ST_DIGEST_SIZE; i++)
		SWAP(digest[i]);
#undef SWAP
}
