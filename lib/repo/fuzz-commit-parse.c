/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted commit record. Whatever parses must
 * serialize back to exactly the input bytes (one commit, one byte string).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/repo.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_commit *c = NULL;
	char *out = NULL;
	size_t len = 0;

	if (st_commit_parse(data, size, &c) < 0)
		return 0;
	CHECK(st_commit_serialize(c, &out, &len) == 0);
	CHECK(len == size && memcmp(out, data, size) == 0);
	free(out);
	st_commit_free(c);
	return 0;
}
