/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: canonicalise an untrusted ref name (typed by a user, or a
 * path found under refs/). Whatever is accepted must be a fixed point (the
 * canonical name canonicalises to itself), fit ST_REF_NAME_MAX, never be
 * 64 hex digits, and have exactly one spelling besides itself: a branch
 * NAME is also refs/heads/NAME, an image refs/oci/NAME/+TAG is also
 * oci/NAME:TAG, and nothing else maps to either.
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

static bool all_hex(const char *s)
{
	for (; *s; s++)
		if (!strchr("0123456789abcdefABCDEF", *s))
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char name[1024], canon[ST_REF_NAME_MAX + 1], again[ST_REF_NAME_MAX + 1], full[ST_REF_NAME_MAX + 16];
	size_t len;
	bool head;

	if (size >= sizeof(name))
		return 0;
	memcpy(name, data, size);
	name[size] = '\0';
	if (st_ref_canonicalize(name, canon) < 0) {
		CHECK(!st_ref_name_valid(name));
		return 0;
	}
	CHECK(st_ref_name_valid(name));
	len = strlen(canon);
	CHECK(len > 0 && len <= ST_REF_NAME_MAX);
	CHECK(!(len == 64 && all_hex(canon)));
	CHECK(st_ref_canonicalize(canon, again) == 0 && strcmp(again, canon) == 0);
	head = strncmp(canon, "refs/", 5) != 0;
	/*
	 * The input is the canonical name, or for a branch refs/heads/ + it, or
	 * for an OCI image its user spelling oci/NAME:TAG (refs/oci/NAME/+TAG).
	 */
	CHECK(strcmp(name, canon) == 0 || (head && strncmp(name, "refs/heads/", 11) == 0 && strcmp(name + 11, canon) == 0) ||
	      (strncmp(name, "oci/", 4) == 0 && strchr(name, ':') && strncmp(canon, "refs/oci/", 9) == 0));
	if (head) {
		memcpy(full, "refs/heads/", 11);
		memcpy(full + 11, canon, len + 1);
		CHECK(st_ref_canonicalize(full, again) == 0 && strcmp(again, canon) == 0);
	}
	return 0;
}
