/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted signature file. What parses must
 * serialize back to exactly the input (one encoding per file), and judging
 * it against a store that trusts its first key only lets that key validate.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "sealtree/trust.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_signature_set *set = NULL;
	struct st_trust_store *store = NULL;
	struct st_trust_result *res = NULL;
	char *out = NULL;
	size_t len = 0;

	if (st_signature_set_parse(data, size, &set) < 0)
		return 0;
	CHECK(set->n_sigs >= 1 && set->n_sigs <= ST_SIGNATURES_MAX);
	CHECK(st_signature_set_serialize(set, &out, &len) == 0);
	CHECK(len == size && memcmp(out, data, size) == 0);
	free(out);

	CHECK(st_trust_store_new(&store) == 0);
	CHECK(st_trust_store_add_key(store, set->sigs[0].public_key, false) == 0);
	CHECK(st_trust_check(store, "main", set->commit_id, set, 0, 0, &res) == 0);
	CHECK(res->n_sigs == set->n_sigs);
	CHECK(res->accepted == (res->verdict == ST_TRUST_VALID));
	/* Only the first key is trusted: it alone can make the verdict valid. */
	CHECK(res->verdict != ST_TRUST_VALID || res->valid_index == 0);
	st_trust_result_free(res);
	st_trust_store_free(store);
	st_signature_set_free(set);
	return 0;
}
