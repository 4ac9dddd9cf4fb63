/* SPDX-License-Identifier: MIT */
/*
 * The verity policy parser: any bytes give a policy or a refusal, never a
 * crash; a policy parsed in either form serializes to a stored form that
 * parses back to the same bytes.
 */
#include <stdlib.h>
#include <string.h>

#include "sealtree/verity-policy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	for (unsigned flags = 0; flags <= ST_VERITY_POLICY_STORED; flags += ST_VERITY_POLICY_STORED) {
		struct st_verity_policy *p = NULL, *q = NULL;
		char *a = NULL, *b = NULL;
		size_t alen = 0, blen = 0;

		if (st_verity_policy_parse(data, size, flags, &p) < 0)
			continue;
		if (st_verity_policy_serialize(p, &a, &alen) < 0 ||
		    st_verity_policy_parse(a, alen, ST_VERITY_POLICY_STORED, &q) < 0 ||
		    st_verity_policy_serialize(q, &b, &blen) < 0 || alen != blen || memcmp(a, b, alen) != 0)
			abort();
		if (flags && (alen != size || memcmp(a, data, size) != 0))
			abort();        /* the stored form is canonical: one policy, one byte string */
		for (size_t i = 0; i < st_verity_policy_count(p); i++)
			if (!st_verity_policy_covers(p, st_verity_policy_prefix(p, i)))
				abort();
		free(a);
		free(b);
		st_verity_policy_free(p);
		st_verity_policy_free(q);
	}
	return 0;
}
