/* SPDX-License-Identifier: MIT */
/*
 * Object deltas of a pack from F (pack.h): which changed objects of C
 * travel compressed against the object F had at the same path. Writer and
 * client compute the pairs alike from the two images, walking both trees
 * at once by name (children are in name order), so nothing in the pack
 * says which base an entry needs: the client, which has F's objects
 * whenever it has F's image, decodes against its own copy of the base and
 * checks the object's digest.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fundamental/macro.h"
#include "object-set.h"
#include "pack.h"
#include "sealtree/image.h"
#include "sealtree/repo-objects.h"
#include "sealtree/tree.h"

static const char key_domain[] = "sealtree object delta 1";

void pack_object_delta_key(const uint8_t base[32], const uint8_t object[32], uint8_t ret[32])
{
	pack_entry_key(key_domain, sizeof(key_domain), base, object, ret);
}

static int cmp_pair(const void *a, const void *b)
{
	return memcmp(((const struct pack_delta_pair *)a)->object, ((const struct pack_delta_pair *)b)->object, 32);
}

static int cmp_pair_then_walk_order(const void *a, const void *b)
{
	const struct pack_delta_pair *x = a, *y = b;
	int r = cmp_pair(x, y);

	if (r != 0)
		return r;
	return (x->walk_order > y->walk_order) - (x->walk_order < y->walk_order);
}

const struct pack_delta_pair *pack_delta_pair_find(const struct pack_delta_pair *pairs, size_t n, const uint8_t object[32])
{
	struct pack_delta_pair key;

	if (n == 0)
		return NULL;
	memcpy(key.object, object, 32);
	return bsearch(&key, pairs, n, sizeof(*pairs), cmp_pair);
}

struct pairs {
	struct pack_delta_pair *v;
	size_t n, cap;
	const struct want_list *wanted;
};

static bool is_object(const struct st_entry *e)
{
	return S_ISREG(e->mode) && e->has_digest && !e->is_hardlink;
}

static int walk(struct pairs *p, const struct st_node *c, const struct st_node *f, unsigned depth)
{
	struct st_entry ce, fe;
	size_t i = 0, j = 0;

	if (depth > 4096)
		return -ELOOP;
	st_node_get_entry(c, &ce);
	st_node_get_entry(f, &fe);
	while (i < ce.n_children && j < fe.n_children) {
		const struct st_node *cc = st_node_get_child(c, i), *fc = st_node_get_child(f, j);
		struct st_entry a, b;
		int cmp;

		st_node_get_entry(cc, &a);
		st_node_get_entry(fc, &b);
		cmp = strcmp(a.name, b.name);
		if (cmp < 0) {
			i++;
			continue;
		}
		if (cmp > 0) {
			j++;
			continue;
		}
		i++;
		j++;
		if (S_ISDIR(a.mode) && S_ISDIR(b.mode) && !a.is_hardlink && !b.is_hardlink) {
			int r = walk(p, cc, fc, depth + 1);

			if (r < 0)
				return r;
			continue;
		}
		if (!is_object(&a) || !is_object(&b) || memcmp(a.digest, b.digest, 32) == 0 ||
		    a.size < PACK_DELTA_MIN || a.size > PACK_DELTA_MAX || b.size == 0 || b.size > PACK_DELTA_MAX ||
		    !object_set_has(p->wanted, a.digest))
			continue;
		if (GROW(p->v, p->cap, p->n + 1) < 0)
			return -ENOMEM;
		memcpy(p->v[p->n].object, a.digest, 32);
		memcpy(p->v[p->n].base, b.digest, 32);
		p->v[p->n].size = a.size;
		p->v[p->n].base_size = b.size;
		p->v[p->n].walk_order = p->n;
		pack_object_delta_key(b.digest, a.digest, p->v[p->n].key);
		p->n++;
	}
	return 0;
}

int pack_object_delta_pairs(const void *image, size_t len, const void *from_image, size_t from_len,
			    const struct want_list *wanted, struct pack_delta_pair **ret, size_t *ret_n)
{
	/* Both sides read the images alike, so that they name the same pairs. */
	const struct st_image_read_options ro = { .flags = ST_IMAGE_READ_HARDLINKS_BFS | ST_IMAGE_READ_DIGEST_FROM_REDIRECT };
	struct pairs p = { .wanted = wanted };
	struct st_node *root = NULL, *from_root = NULL;
	size_t n = 0;
	int r;

	r = st_image_read_tree(image, len, &ro, &root, NULL);
	if (r >= 0)
		r = st_image_read_tree(from_image, from_len, &ro, &from_root, NULL);
	if (r >= 0)
		r = walk(&p, root, from_root, 0);
	st_node_free(root);
	st_node_free(from_root);
	if (r < 0) {
		free(p.v);
		return r;
	}
	/* Each object once: its first path in the walk. An update that changes
	 * thousands of large files must not pay a quadratic sort. */
	if (p.n > 1)
		qsort(p.v, p.n, sizeof(*p.v), cmp_pair_then_walk_order);
	for (size_t i = 0; i < p.n; i++)
		if (n == 0 || cmp_pair(&p.v[n - 1], &p.v[i]) != 0)
			p.v[n++] = p.v[i];
	*ret = p.v;
	*ret_n = n;
	return 0;
}

int pack_object_map(struct st_repo *repo, const uint8_t digest[32], uint64_t size, const void **ret)
{
	_cleanup_close_ int fd = -EBADF;
	struct stat st;
	void *m;

	fd = st_repo_open_object(repo, digest);
	if (fd < 0)
		return fd;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (!S_ISREG(st.st_mode) || (uint64_t)st.st_size != size || size > SIZE_MAX / 2)
		return -EUCLEAN;
	if (size == 0) {
		*ret = NULL;
		return 0;
	}
	m = mmap(NULL, (size_t)size, PROT_READ, MAP_PRIVATE, fd, 0);
	if (m == MAP_FAILED)
		return -errno;
	*ret = m;
	return 0;
}
