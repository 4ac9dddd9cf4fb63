/* SPDX-License-Identifier: MIT */
/* The set of objects an image names: object-set.h. */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "object-set.h"
#include "sealtree/repo-objects.h"

static int collect(const struct st_node *node, struct want_list *l, unsigned depth)
{
	struct st_entry e;

	if (depth > 4096)
		return -ELOOP;
	st_node_get_entry(node, &e);
	if (e.is_hardlink)
		return 0;
	if (e.has_digest) {
		if (l->n == l->cap) {
			size_t ncap = l->cap ? l->cap * 2 : 1024;
			struct want *n = reallocarray(l->v, ncap, sizeof(*n));

			if (!n)
				return -ENOMEM;
			l->v = n;
			l->cap = ncap;
		}
		memcpy(l->v[l->n].digest, e.digest, ST_DIGEST_SIZE);
		l->v[l->n].size = e.size;
		l->n++;
	}
	for (size_t i = 0; i < e.n_children; i++) {
		int r = collect(st_node_get_child(node, i), l, depth + 1);

		if (r < 0)
			return r;
	}
	return 0;
}

static int cmp_want(const void *a, const void *b)
{
	return memcmp(((const struct want *)a)->digest, ((const struct want *)b)->digest, ST_DIGEST_SIZE);
}

int object_set_of_tree(const struct st_node *root, struct want_list *ret)
{
	struct want_list l = {};
	size_t n = 0;
	int r;

	r = collect(root, &l, 0);
	if (r < 0) {
		free(l.v);
		return r;
	}
	if (l.n > 1)
		qsort(l.v, l.n, sizeof(*l.v), cmp_want);
	for (size_t i = 0; i < l.n; i++)
		if (n == 0 || memcmp(l.v[n - 1].digest, l.v[i].digest, ST_DIGEST_SIZE) != 0)
			l.v[n++] = l.v[i];
	l.n = n;
	*ret = l;
	return 0;
}

int object_set_of_commit(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct want_list *ret)
{
	struct st_commit *c = NULL;
	struct st_node *root = NULL;
	int r;

	r = st_repo_read_commit(repo, id, &c);
	if (r < 0)
		return r;
	r = st_repo_read_image_tree(repo, c->image_digest, &root);
	st_commit_free(c);
	if (r < 0)
		return r;
	r = object_set_of_tree(root, ret);
	st_node_free(root);
	return r;
}

bool object_set_has(const struct want_list *l, const uint8_t digest[ST_DIGEST_SIZE])
{
	size_t lo = 0, hi = l ? l->n : 0;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = memcmp(l->v[mid].digest, digest, ST_DIGEST_SIZE);

		if (c == 0)
			return true;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return false;
}

uint64_t object_set_bytes(const struct want_list *l)
{
	uint64_t bytes = 0;

	for (size_t i = 0; l && i < l->n; i++)
		bytes += l->v[i].size;
	return bytes;
}

void object_set_subtract(struct want_list *l, const struct want_list *minus)
{
	size_t n = 0, j = 0;

	for (size_t i = 0; i < l->n; i++) {
		int c = 1;

		while (j < minus->n && (c = memcmp(minus->v[j].digest, l->v[i].digest, ST_DIGEST_SIZE)) < 0)
			j++;
		if (j < minus->n && c == 0)
			continue;
		l->v[n++] = l->v[i];
	}
	l->n = n;
}

int object_set_merge(struct want_list *into, const struct want_list *add)
{
	struct want *v;
	size_t i = 0, j = 0, n = 0;

	if (add->n == 0)
		return 0;
	if (into->n > SIZE_MAX / sizeof(*v) - add->n)
		return -ENOMEM;
	v = reallocarray(NULL, into->n + add->n, sizeof(*v));
	if (!v)
		return -ENOMEM;
	while (i < into->n || j < add->n) {
		int c = i == into->n ? 1 : j == add->n ? -1 : memcmp(into->v[i].digest, add->v[j].digest, ST_DIGEST_SIZE);

		if (c <= 0)
			v[n++] = into->v[i++];
		else
			v[n++] = add->v[j++];
		if (c == 0)
			j++;
	}
	free(into->v);
	into->cap = into->n + add->n;
	into->v = v;
	into->n = n;
	return 0;
}
