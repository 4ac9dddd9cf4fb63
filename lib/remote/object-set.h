/* SPDX-License-Identifier: MIT */
/* The objects an image names: each once, sorted by digest (pull's missing set, a pack's contents). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "sealtree/repo.h"
#include "sealtree/tree.h"

struct want {
	uint8_t digest[ST_DIGEST_SIZE];
	uint64_t size;
};

struct want_list {
	struct want *v;                 /* sorted by digest, unique */
	size_t n, cap;
};

/* Every object root names (hardlinks once), sorted, unique. */
int object_set_of_tree(const struct st_node *root, struct want_list *ret);
/* Every object of the image of commit id in repo. */
int object_set_of_commit(struct st_repo *repo, const uint8_t id[ST_COMMIT_ID_SIZE], struct want_list *ret);
/* Whether l (may be NULL) holds digest (binary search). */
bool object_set_has(const struct want_list *l, const uint8_t digest[ST_DIGEST_SIZE]);
/* The bytes of the objects of l (may be NULL). */
uint64_t object_set_bytes(const struct want_list *l);
/* Remove from l (in place) the objects that are also in minus. */
void object_set_subtract(struct want_list *l, const struct want_list *minus);
/* Add to into the objects of add it lacks (both sorted and unique, and into stays so). */
int object_set_merge(struct want_list *into, const struct want_list *add);
