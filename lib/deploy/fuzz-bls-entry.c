/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: parse an untrusted Boot Loader Specification entry (or an
 * origin: the same syntax). What parses has at most the capped number of
 * pairs, keys of [a-z0-9_-] and values without newlines; the options line
 * splits into kargs and a sealtree= value, or is refused.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "deploy-internal.h"

#define CHECK(x)                    \
	do {                        \
		if (!(x))           \
			abort();    \
	} while (0)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kv_file f = {};
	const char *options;

	if (kv_parse(data, size, &f) < 0)
		return 0;
	CHECK(f.n <= KV_LINES_MAX);
	for (size_t i = 0; i < f.n; i++) {
		CHECK(f.pairs[i].key[0] != '\0');
		CHECK(!strchr(f.pairs[i].value, '\n'));
	}
	options = kv_get(&f, "options");
	if (options) {
		char *kargs = NULL, *value = NULL, *os = NULL, *id = NULL;

		if (kargs_split_options(options, &kargs, &value) >= 0) {
			CHECK(strlen(kargs) <= strlen(options));
			if (deploy_ref_parse(value, &os, &id) >= 0)
				CHECK(st_os_name_valid(os));
		}
		free(kargs);
		free(value);
		free(os);
		free(id);
		(void)st_kargs_check(options);
	}
	kv_file_release(&f);
	return 0;
}
