/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted key file as a public and as a private
 * key, and the same bytes as a policy.conf. A key that parses must encode
 * in both formats to text that parses to the same key; the ostree form of
 * a key read in ostree form is the input itself (up to the final newline).
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

static void roundtrip(const struct st_key *key, bool private)
{
	for (int f = 0; f < ST_KEY_FORMAT_COUNT; f++) {
		struct st_key *again = NULL;
		char *out = NULL;
		size_t len = 0;

		if (private)
			CHECK(st_key_format_private(key, f, &out, &len) == 0);
		else
			CHECK(st_key_format_public(key, f, &out, &len) == 0);
		CHECK((private ? st_key_parse_private : st_key_parse_public)(out, len, &again, NULL) == 0);
		CHECK(memcmp(st_key_public_raw(again), st_key_public_raw(key), ST_ED25519_PUBLIC_SIZE) == 0);
		CHECK(memcmp(st_key_id(again), st_key_id(key), ST_KEY_ID_SIZE) == 0);
		st_key_free(again);
		free(out);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_trust_store *store = NULL;
	struct st_key *key = NULL;
	enum st_key_format format;

	if (st_key_parse_public(data, size, &key, &format) == 0) {
		CHECK(!st_key_has_private(key));
		roundtrip(key, false);
		if (format == ST_KEY_FORMAT_OSTREE) {
			char *out = NULL;
			size_t len = 0;
			CHECK(st_key_format_public(key, ST_KEY_FORMAT_OSTREE, &out, &len) == 0);
			CHECK(len >= 1 && (size == len || size == len - 1) && memcmp(out, data, len - 1) == 0);
			free(out);
		}
		st_key_free(key);
	}
	if (st_key_parse_private(data, size, &key, &format) == 0) {
		uint8_t sig[ST_ED25519_SIGNATURE_SIZE], id[ST_COMMIT_ID_SIZE] = { 1 };
		CHECK(st_key_has_private(key));
		roundtrip(key, true);
		CHECK(st_key_sign_commit(key, id, sig) == 0);
		CHECK(st_key_verify_commit(key, id, sig) == 0);
		st_key_free(key);
	}
	CHECK(st_trust_store_new(&store) == 0);
	if (st_trust_store_set_policy(store, data, size) == 0) {
		struct st_policy_rule rule;
		st_trust_store_policy_for(store, "os/x86_64/stable", &rule);
		CHECK(rule.kind < ST_POLICY_KIND_COUNT);
		CHECK(rule.kind != ST_POLICY_KEYS || rule.n_key_ids > 0);
	}
	st_trust_store_free(store);
	return 0;
}
