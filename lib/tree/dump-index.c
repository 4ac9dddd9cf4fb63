/* SPDX-License-Identifier: MIT */
/* Hash indexes for the dumpfile parser; see dump-index.h. */
#include <string.h>

#include "dump-index.h"
#include "tree-internal.h"

/* FNV-1a, seeded with the parent so equal names in different directories
 * spread, then a final avalanche for the low bits used as the slot. */
static uint64_t hash_name(uint64_t seed, const char *name, size_t len)
{
	uint64_t h = UINT64_C(0xcbf29ce484222325) ^ (seed * UINT64_C(0x9e3779b97f4a7c15));

	for (size_t i = 0; i < len; i++) {
		h ^= (unsigned char)name[i];
		h *= UINT64_C(0x100000001b3);
	}
	h ^= h >> 33;
	h *= UINT64_C(0xff51afd7ed558ccd);
	h ^= h >> 33;
	return h;
}

/* name has len bytes and no NUL; stored is NUL-terminated and may be shorter. */
static bool name_is(const char *stored, const char *name, size_t len)
{
	return strncmp(stored, name, len) == 0 && stored[len] == '\0';
}

void dump_child_index_release(struct dump_child_index *ix)
{
	free(ix->slots);
	*ix = (struct dump_child_index){ 0 };
}

static uint64_t child_hash(const struct st_node *parent, const char *name, size_t len)
{
	return hash_name((uintptr_t)parent, name, len);
}

struct st_node *dump_child_index_lookup(const struct dump_child_index *ix, const struct st_node *parent,
					const char *name, size_t len)
{
	uint64_t h;

	if (!ix->slots)
		return NULL;
	h = child_hash(parent, name, len);
	for (size_t i = h & ix->mask; ix->slots[i].node; i = (i + 1) & ix->mask) {
		struct st_node *c = ix->slots[i].node;
		if (ix->slots[i].hash == h && c->parent == parent && name_is(c->name, name, len))
			return c;
	}
	return NULL;
}

static void child_index_put(struct dump_child_slot *slots, size_t mask, struct dump_child_slot s)
{
	size_t i = s.hash & mask;

	while (slots[i].node)
		i = (i + 1) & mask;
	slots[i] = s;
}

int dump_child_index_add(struct dump_child_index *ix, struct st_node *child, size_t name_len)
{
	/* Keep the load at most 1/2 so probes stay short. */
	if (2 * (ix->used + 1) > (ix->slots ? ix->mask + 1 : 0)) {
		size_t cap = ix->slots ? 2 * (ix->mask + 1) : 1024;
		struct dump_child_slot *slots = new0(struct dump_child_slot, cap);

		if (!slots)
			return -ENOMEM;
		for (size_t i = 0; ix->slots && i <= ix->mask; i++)
			if (ix->slots[i].node)
				child_index_put(slots, cap - 1, ix->slots[i]);
		free(ix->slots);
		ix->slots = slots;
		ix->mask = cap - 1;
	}
	child_index_put(ix->slots, ix->mask,
			(struct dump_child_slot){ child_hash(child->parent, child->name, name_len), child });
	ix->used++;
	return 0;
}

void dump_name_set_release(struct dump_name_set *s)
{
	free(s->slots);
	*s = (struct dump_name_set){ 0 };
}

void dump_name_set_reset(struct dump_name_set *s)
{
	if (s->used)
		memset(s->slots, 0, (s->mask + 1) * sizeof(s->slots[0]));
	s->used = 0;
}

/* Make the table hold exactly the node's xattrs, with room for need names. */
static int name_set_rebuild(struct dump_name_set *s, const struct st_node *node, size_t need)
{
	size_t cap = s->slots ? s->mask + 1 : 64;

	while (2 * need > cap)
		cap *= 2;
	if (!s->slots || cap != s->mask + 1) {
		uint32_t *slots = new0(uint32_t, cap);
		if (!slots)
			return -ENOMEM;
		free(s->slots);
		s->slots = slots;
		s->mask = cap - 1;
	} else {
		memset(s->slots, 0, cap * sizeof(s->slots[0]));
	}
	for (size_t k = 0; k < node->n_xattrs; k++) {
		const char *n = node->xattrs[k].name;
		size_t i = hash_name(0, n, strlen(n)) & s->mask;
		while (s->slots[i])
			i = (i + 1) & s->mask;
		s->slots[i] = (uint32_t)k + 1;
	}
	s->used = node->n_xattrs;
	return 0;
}

int dump_name_set_add(struct dump_name_set *s, const struct st_node *node, const char *name, size_t len)
{
	size_t i;

	/* Few xattrs (the usual case): a scan beats hashing. */
	if (node->n_xattrs < 8 && s->used == 0) {
		for (size_t k = 0; k < node->n_xattrs; k++)
			if (name_is(node->xattrs[k].name, name, len))
				return 1;
		return 0;
	}
	if ((s->used != node->n_xattrs || 2 * (node->n_xattrs + 1) > (s->slots ? s->mask + 1 : 0)) &&
	    name_set_rebuild(s, node, node->n_xattrs + 1) < 0)
		return -ENOMEM;
	for (i = hash_name(0, name, len) & s->mask; s->slots[i]; i = (i + 1) & s->mask)
		if (name_is(node->xattrs[s->slots[i] - 1].name, name, len))
			return 1;
	s->slots[i] = (uint32_t)node->n_xattrs + 1;
	s->used++;
	return 0;
}
