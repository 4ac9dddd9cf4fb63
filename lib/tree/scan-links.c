/* SPDX-License-Identifier: MIT */
/*
 * Hardlinks found by a scan with ST_SCAN_HARDLINKS: (st_dev, st_ino) -> the
 * first node met in sorted depth-first order, which becomes the inode; later
 * names become aliases of it.
 *
 * The reference's lcfs_build() does not look at st_ino at all: every name is
 * a separate inode with nlink 1 (spec 1.10). With the flag we keep the links
 * and give the inode nlink = the number of its names inside the tree (links
 * from outside the scanned tree do not exist in the image).
 *
 * An open-addressing table with linear probing: lookups happen for every
 * multiply-linked file of the walk, so no allocation per entry.
 */
#include <string.h>

#include "scan-internal.h"

struct link_entry {
	dev_t dev;
	ino_t ino;
	struct st_node *node;   /* NULL = empty slot */
	uint32_t names;
};

struct scan_links {
	struct link_entry *slots;
	size_t cap, used;       /* cap is a power of two */
};

int scan_links_new(struct scan_links **ret)
{
	struct scan_links *l = new0(struct scan_links, 1);

	if (!l)
		return -ENOMEM;
	l->cap = 1024;
	l->slots = new0(struct link_entry, l->cap);
	if (!l->slots) {
		free(l);
		return -ENOMEM;
	}
	*ret = l;
	return 0;
}

struct scan_links *scan_links_free(struct scan_links *l)
{
	if (l) {
		free(l->slots);
		free(l);
	}
	return NULL;
}

static size_t slot_of(const struct scan_links *l, dev_t dev, ino_t ino)
{
	uint64_t h = (uint64_t)ino * 0x9e3779b97f4a7c15ull ^ (uint64_t)dev * 0xc2b2ae3d27d4eb4full;

	return (size_t)(h ^ (h >> 29)) & (l->cap - 1);
}

static struct link_entry *find(struct scan_links *l, dev_t dev, ino_t ino)
{
	for (size_t i = slot_of(l, dev, ino);; i = (i + 1) & (l->cap - 1)) {
		struct link_entry *e = &l->slots[i];
		if (!e->node || (e->dev == dev && e->ino == ino))
			return e;
	}
}

static int grow(struct scan_links *l)
{
	struct scan_links bigger = { .cap = l->cap * 2 };

	if (bigger.cap < l->cap)
		return -ENOMEM;
	bigger.slots = new0(struct link_entry, bigger.cap);
	if (!bigger.slots)
		return -ENOMEM;
	for (size_t i = 0; i < l->cap; i++)
		if (l->slots[i].node)
			*find(&bigger, l->slots[i].dev, l->slots[i].ino) = l->slots[i];
	free(l->slots);
	l->slots = bigger.slots;
	l->cap = bigger.cap;
	return 0;
}

int scan_links_lookup_or_add(struct scan_links *l, dev_t dev, ino_t ino, struct st_node *node, struct st_node **ret_existing)
{
	struct link_entry *e;
	int r;

	/* Keep the load at most one half so probes stay short. */
	if ((l->used + 1) * 2 > l->cap) {
		r = grow(l);
		if (r < 0)
			return r;
	}
	e = find(l, dev, ino);
	if (e->node) {
		if (e->names < UINT32_MAX)
			e->names++;
		*ret_existing = e->node;
		return 0;
	}
	*e = (struct link_entry){ .dev = dev, .ino = ino, .node = node, .names = 1 };
	l->used++;
	*ret_existing = NULL;
	return 0;
}

void scan_links_apply_nlink(struct scan_links *l)
{
	for (size_t i = 0; i < l->cap; i++)
		if (l->slots[i].node)
			l->slots[i].node->nlink = l->slots[i].names;
}
