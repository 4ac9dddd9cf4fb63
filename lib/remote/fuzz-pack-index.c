/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: decode an untrusted pack index (network data). Whatever
 * decodes must encode back to exactly the input bytes (one canonical form),
 * every entry must be found by its digest, and every frame must lie inside
 * the pack body the header announces.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct pack_index *idx = NULL;
	void *out = NULL;
	size_t len = 0;

	if (pack_index_parse(data, size, &idx) < 0)
		return 0;
	CHECK(pack_index_serialize(idx, &out, &len) == 0);
	CHECK(len == size && memcmp(out, data, size) == 0);
	for (size_t i = 0; i < idx->n_entries; i++) {
		const struct pack_entry *e = &idx->entries[i];

		CHECK(pack_index_find(idx, e->digest) == e);
		CHECK(e->csize > 0 && e->offset <= idx->pack_size && e->csize <= idx->pack_size - e->offset);
	}
	free(out);
	pack_index_free(idx);
	return 0;
}
