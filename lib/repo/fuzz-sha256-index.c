/* SPDX-License-Identifier: MIT */
/* Fuzz target: an untrusted REPO/cache/sha256 (sha256-index.c). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "basic/error.h"
#include "sha256-index.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sha256_index ix = {};
	uint8_t v[32];

	if (sha256_index_parse(data, size, &ix) >= 0) {
		if (size != SHA256_INDEX_HEADER + ix.n * SHA256_INDEX_RECORD)
			abort();
		for (size_t i = 0; i < ix.n; i++) {
			if (i > 0 && memcmp(ix.pairs[i - 1].sha256, ix.pairs[i].sha256, 32) >= 0)
				abort();
			if (!sha256_index_lookup(&ix, ix.pairs[i].sha256, v) || memcmp(v, ix.pairs[i].verity, 32) != 0)
				abort();
		}
		sha256_index_done(&ix);
	}
	st_error_clear();
	return 0;
}
