/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted summary (network data). Whatever parses
 * must serialize back to exactly the input bytes (one canonical form), and
 * verifying its signatures against an empty store must refuse, never crash.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/remote.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_summary *s = NULL;
	struct st_trust_store *store = NULL;
	char *out = NULL;
	size_t len = 0;

	CHECK(st_trust_store_new(&store) == 0);
	/* The bytes as a signature file of themselves: parsed, never accepted. */
	CHECK(st_summary_verify(data, size, data, size, store) < 0);
	st_trust_store_free(store);
	if (st_summary_parse(data, size, &s) < 0)
		return 0;
	CHECK(st_summary_serialize(s, &out, &len) == 0);
	CHECK(len == size && memcmp(out, data, size) == 0);
	for (size_t i = 0; i < s->n_refs; i++)
		CHECK(st_summary_find(s, s->refs[i].name) == &s->refs[i]);
	free(out);
	st_summary_free(s);
	return 0;
}
